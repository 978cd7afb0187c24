/*  ring share: see ring_share.h.  */
#include "ring_share.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

double chord_share_arc (const chord_id_t *a, const chord_id_t *b)
{
    assert (a && b);
    chord_id_t distance;
    chord_id_distance (&distance, a, b);
    //  Most significant byte first; a double keeps the top 53 bits, which
    //  is all a fraction printed for people can use.
    double fraction = 0, unit = 1.0 / 256;
    for (size_t i = 0; i < CHORD_ID_BYTES; i++, unit /= 256)
        fraction += distance.bytes[i] * unit;
    return fraction;
}

static int s_check (const chord_share_position_t *positions, size_t count, size_t process_count)
{
    for (size_t i = 0; i < count; i++) {
        if (positions[i].process >= process_count)
            return -1;
        if (i > 0 && chord_id_cmp (&positions[i - 1].id, &positions[i].id) >= 0)
            return -1;
    }
    return 0;
}

int chord_share_compute (const chord_share_position_t *positions, size_t count, size_t process_count,
                         unsigned replicas, double *owns, double *effective)
{
    assert (positions && owns && effective);
    if (count == 0 || replicas == 0 || s_check (positions, count, process_count) != 0)
        return -1;
    //  stamp[p] == i + 1: process p already holds a copy of arc i.
    size_t *stamp = calloc (process_count, sizeof *stamp);
    if (!stamp)
        return -1;
    for (size_t i = 0; i < count; i++) {
        owns[i] = count == 1 ? 1.0 : chord_share_arc (&positions[(i + count - 1) % count].id, &positions[i].id);
        effective[i] = 0;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned holders = 0;
        //  From the owner on round the ring, once at most: the first
        //  position of each new process keeps a copy, until R do.
        for (size_t step = 0; step < count && holders < replicas; step++) {
            size_t at = (i + step) % count;
            size_t process = positions[at].process;
            if (stamp[process] == i + 1)
                continue;
            stamp[process] = i + 1;
            effective[at] += owns[i];
            holders++;
        }
    }
    free (stamp);
    return 0;
}
