/*  chordd routing: see route.h.  */
#include "route.h"

size_t chordd_route_position (const chord_msg_t *msg, bool has_origin, const chord_id_t *ids,
                              size_t count, unsigned request_id_bits)
{
    if (!has_origin) {
        /* A shift by 64 or more is undefined: no position has such ids. */
        uint64_t index = request_id_bits < 64 ? msg->request_id >> request_id_bits : 0;
        return index < count ? (size_t) index : count;
    }
    if (!msg->has_target)
        return 0;                   /* position 0; with no positions, 0 is count: none */
    for (size_t i = 0; i < count; i++)
        if (chord_id_equal (&ids[i], &msg->target))
            return i;
    return count;
}
