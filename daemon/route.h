/*  chordd routing: which of the process's ring positions handles a message.

    Pure (no sockets, no logging) so that it can be fuzzed apart from the
    daemon: tests/fuzz/fuzz_route.c.  */
#ifndef CHORDD_ROUTE_H
#define CHORDD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "id.h"
#include "message.h"

/*  The index of the position that handles msg, or count when none does.
    A request (it has an origin) goes to the position its target names,
    or to position 0 when it names none. A reply (no origin: it came back
    on a connection we sent from) goes to the position that asked, known
    by its request id: position i's ids are i << request_id_bits onwards.
    ids[i] is position i's id; count positions.  */
size_t chordd_route_position (const chord_msg_t *msg, bool has_origin, const chord_id_t *ids,
                              size_t count, unsigned request_id_bits);

#endif
