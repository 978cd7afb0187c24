/*  Tests for tools/ring_map.c, the client's map of the ring: the owner of
    each key of tests/vectors/owners.tsv (computed by an independent
    BLAKE2b), the exact-hit and wrap-around edges, and the copy holders a
    client tries when the owner is silent.

    Run alone: make build/t/test_ring_map.t && build/t/test_ring_map.t  */

#include "ring_map.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LINE_FIELDS 3
#define S_PEERS_MAX 16

/* Splits line at tabs into fields (NUL-terminating each); returns how many. */
static size_t s_split (char *line, char *fields[S_LINE_FIELDS])
{
    line[strcspn (line, "\r\n")] = '\0';
    size_t count = 0;
    for (char *field = line; field && count < S_LINE_FIELDS; count++) {
        fields[count] = field;
        char *tab = strchr (field, '\t');
        if (tab)
            *tab++ = '\0';
        field = tab;
    }
    return count;
}

/* Decodes hex into bytes (room for strlen(hex)/2); returns the length, or -1. */
static long s_unhex (const char *hex, uint8_t *bytes)
{
    size_t len = strlen (hex);
    if (len % 2)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int high = chord_hex_digit (hex[2 * i]), low = chord_hex_digit (hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return -1;
        bytes[i] = (uint8_t) (high * 16 + low);
    }
    return (long) (len / 2);
}

static FILE *s_open_vectors (const char *name)
{
    const char *dir = getenv ("CHORD_VECTORS");
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/vectors", name);
    FILE *file = fopen (path, "r");
    tap_ok (file != NULL, "open %s", path);
    return file;
}

/* Every key row of owners.tsv: the map names the owner the vectors name. */
static void s_test_owners_tsv (void)
{
    FILE *file = s_open_vectors ("owners.tsv");
    if (!file)
        return;
    chord_peer_t peers[S_PEERS_MAX];
    size_t peer_count = 0, rows = 0, right = 0, bad = 0;
    ring_map_t map = {0};
    char *line = NULL;
    size_t line_size = 0;
    while (getline (&line, &line_size, file) != -1) {
        char *fields[S_LINE_FIELDS];
        if (strncmp (line, "# peer\t", 7) == 0) {
            if (s_split (line + 7, fields) != 2 || peer_count == S_PEERS_MAX ||
                strlen (fields[0]) > CHORD_ENDPOINT_MAX || chord_id_from_hex (&peers[peer_count].id, fields[1])) {
                bad++;
                continue;
            }
            snprintf (peers[peer_count++].endpoint, CHORD_ENDPOINT_MAX + 1, "%s", fields[0]);
            continue;
        }
        if (line[0] == '#' || line[strspn (line, "\r\n")] == '\0')
            continue;
        if (map.count == 0 && ring_map_set (&map, peers, peer_count, 1) != 0)
            break;
        uint8_t *key = malloc (strlen (line) / 2 + 1);
        long key_len = -1;
        chord_id_t key_id;
        if (key && s_split (line, fields) == 3)
            key_len = s_unhex (fields[0], key);
        if (key_len < 0) {
            bad++;
            free (key);
            continue;
        }
        rows++;
        chord_id_hash (&key_id, key, (size_t) key_len);
        free (key);
        const chord_peer_t *owner = &map.positions[ring_map_owner (&map, &key_id)];
        if (strcmp (owner->endpoint, fields[2]) == 0)
            right++;
        else
            tap_diag ("key %s: map says %s, vectors %s", fields[0], owner->endpoint, fields[2]);
    }
    free (line);
    fclose (file);
    tap_ok (bad == 0 && peer_count >= 3, "owners.tsv: %zu peers, every line well formed", peer_count);
    tap_ok (rows >= 20 && right == rows, "owners.tsv: the map names the owner of %zu of %zu keys", right, rows);
    ring_map_clear (&map);
    ring_map_clear (&map);
    tap_ok (map.positions == NULL && map.count == 0, "clear empties the map and is idempotent");
}

static chord_peer_t s_position (const char *endpoint, unsigned index)
{
    chord_peer_t peer;
    snprintf (peer.endpoint, sizeof peer.endpoint, "%s", endpoint);
    chord_id_of_position (&peer.id, endpoint, index);
    return peer;
}

/* A key whose id is exactly a position's belongs to it; above the largest wraps to the smallest. */
static void s_test_edges (void)
{
    chord_peer_t peers[3] = {s_position ("tcp://a:1", 0), s_position ("tcp://b:1", 0),
                             s_position ("tcp://c:1", 0)};
    ring_map_t map = {0};
    tap_ok (ring_map_set (&map, peers, 0, 3) == -1 && map.count == 0, "set refuses an empty ring");
    chord_peer_t twice[4] = {peers[2], peers[0], peers[1], peers[0]};
    tap_ok (ring_map_set (&map, twice, 4, 3) == 0 && map.count == 3, "set drops a position named twice");
    bool sorted = chord_id_cmp (&map.positions[0].id, &map.positions[1].id) < 0 &&
                  chord_id_cmp (&map.positions[1].id, &map.positions[2].id) < 0;
    tap_ok (sorted, "positions are in id order");
    bool exact = true;
    for (size_t i = 0; i < map.count; i++)
        exact = exact && ring_map_owner (&map, &map.positions[i].id) == i;
    tap_ok (exact, "a key id equal to a position's id belongs to that position");
    chord_id_t top;
    memset (top.bytes, 0xff, sizeof top.bytes);
    tap_ok (ring_map_owner (&map, &top) == 0, "above the largest id wraps to the smallest");
    chord_id_t just_above = map.positions[0].id;
    just_above.bytes[CHORD_ID_BYTES - 1]++;   /* ids of these endpoints do not end in 0xff */
    tap_ok (ring_map_owner (&map, &just_above) == 1, "just above a position belongs to the next");
    tap_ok (ring_map_set (&map, peers, 3, 0) == 0 && map.replicas == 1, "replicas 0 counts as 1");
    ring_map_clear (&map);
}

/* Three processes of four positions each, R = 3: the owner, then two other processes. */
static void s_test_holders (void)
{
    const char *endpoints[3] = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"};
    chord_peer_t peers[12];
    for (unsigned i = 0; i < 12; i++)
        peers[i] = s_position (endpoints[i % 3], i / 3);
    ring_map_t map = {0};
    tap_ok (ring_map_set (&map, peers, 12, 3) == 0 && map.count == 12, "12 positions of 3 processes");
    size_t good = 0, keys = 200;
    for (unsigned k = 0; k < keys; k++) {
        char key[32];
        int len = snprintf (key, sizeof key, "key-%u", k);
        chord_id_t key_id;
        chord_id_hash (&key_id, key, (size_t) len);
        chord_peer_t holders[RING_MAP_HOLDERS_MAX];
        size_t count = ring_map_holders (&map, &key_id, holders);
        size_t owner = ring_map_owner (&map, &key_id);
        bool distinct = count == 3 && strcmp (holders[0].endpoint, holders[1].endpoint) != 0 &&
                        strcmp (holders[0].endpoint, holders[2].endpoint) != 0 &&
                        strcmp (holders[1].endpoint, holders[2].endpoint) != 0;
        /* The first copy holder is the first position after the owner of another process. */
        size_t next = (owner + 1) % map.count;
        while (strcmp (map.positions[next].endpoint, holders[0].endpoint) == 0)
            next = (next + 1) % map.count;
        if (distinct && chord_id_equal (&holders[0].id, &map.positions[owner].id) &&
            chord_id_equal (&holders[1].id, &map.positions[next].id))
            good++;
    }
    tap_ok (good == keys, "%zu of %zu keys: owner first, then the next positions of other processes", good, keys);
    chord_id_t any = map.positions[0].id;
    chord_peer_t holders[RING_MAP_HOLDERS_MAX];
    tap_ok (ring_map_set (&map, peers, 12, 7) == 0 && ring_map_holders (&map, &any, holders) == 3,
            "R above the processes known: one holder per process");
    tap_ok (ring_map_set (&map, peers, 12, 1) == 0 && ring_map_holders (&map, &any, holders) == 1,
            "R 1: the owner alone");
    ring_map_clear (&map);
}

int main (void)
{
    s_test_owners_tsv ();
    s_test_edges ();
    s_test_holders ();
    return tap_done ();
}
