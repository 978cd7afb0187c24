/*  ring map: see ring_map.h.  */
#include "ring_map.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int s_compare_positions (const void *a, const void *b)
{
    return chord_id_cmp (&((const chord_peer_t *) a)->id, &((const chord_peer_t *) b)->id);
}

int ring_map_set (ring_map_t *map, const chord_peer_t *positions, size_t count, unsigned replicas)
{
    assert (map);
    if (!positions || count == 0 || count > RING_MAP_POSITIONS_MAX) {
        errno = EINVAL;
        return -1;
    }
    chord_peer_t *sorted = malloc (count * sizeof *sorted);
    if (!sorted) {
        errno = ENOMEM;
        return -1;
    }
    memcpy (sorted, positions, count * sizeof *sorted);
    qsort (sorted, count, sizeof *sorted, s_compare_positions);
    size_t kept = 1;
    for (size_t i = 1; i < count; i++)
        if (!chord_id_equal (&sorted[i].id, &sorted[kept - 1].id))
            sorted[kept++] = sorted[i];
    free (map->positions);
    map->positions = sorted;
    map->count = kept;
    map->replicas = replicas == 0 ? 1 : replicas > RING_MAP_HOLDERS_MAX ? RING_MAP_HOLDERS_MAX : replicas;
    return 0;
}

void ring_map_clear (ring_map_t *map)
{
    assert (map);
    free (map->positions);
    *map = (ring_map_t) {0};
}

size_t ring_map_owner (const ring_map_t *map, const chord_id_t *key_id)
{
    assert (map && map->count > 0);
    assert (key_id);
    /* The first id at or above the key's; none: wrap to the smallest. */
    size_t low = 0, high = map->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (chord_id_cmp (&map->positions[middle].id, key_id) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low == map->count ? 0 : low;
}

size_t ring_map_holders (const ring_map_t *map, const chord_id_t *key_id, chord_peer_t *out)
{
    assert (map && map->count > 0);
    assert (out);
    size_t owner = ring_map_owner (map, key_id);
    out[0] = map->positions[owner];
    if (map->replicas <= 1)
        return 1;
    /* The owner's successor list as the map sees it: the positions after it. */
    chord_peer_t successors[CHORD_PEER_LIST_MAX];
    size_t succ_count = 0;
    for (size_t step = 1; step < map->count && succ_count < CHORD_PEER_LIST_MAX; step++)
        successors[succ_count++] = map->positions[(owner + step) % map->count];
    chord_replica_view_t view = {.self_endpoint = out[0].endpoint, .succ = successors, .succ_count = succ_count};
    return 1 + chord_replica_set (&view, map->replicas - 1, out + 1);
}
