/*  A libFuzzer target for chordd's routing of a message to one of its ring
    positions (daemon/route.c), followed by what chordd then does: hand
    the message to that position's node.

    Input: one flags byte (how many positions, whether the message came
    with an origin, the sender's role), then the bytes of one message, as
    they would arrive on the socket. The positions are the virtual
    positions 0.. of one endpoint, each a node alone on its ring with the
    request id range chordd gives it, so a reply's id routes it.

    Replay under gcc (valgrind): build/replay/fuzz_route FILE...  */

#include "fuzz_input.h"
#include "id.h"
#include "message.h"
#include "node.h"
#include "route.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#define S_POSITIONS_MAX  4
#define S_REQUEST_ID_BITS 40                    /* as chordd's CHORDD_REQUEST_ID_BITS */
#define S_NOW_MS         1000000

static const char s_endpoint[] = "tcp://10.0.0.1:7000";

static void s_random_bytes (void *arg, void *buf, size_t len)
{
    uint64_t *state = arg;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        out[i] = (uint8_t) (*state >> 24);
    }
}

/* Checks the routing decision against what route.h promises. */
static void s_check_route (const chord_msg_t *msg, bool has_origin, const chord_id_t *ids, size_t count,
                           size_t index)
{
    if (index > count)
        abort ();
    if (!has_origin) {
        uint64_t owner = msg->request_id >> S_REQUEST_ID_BITS;
        if (index != (owner < count ? (size_t) owner : count))
            abort ();
    } else if (!msg->has_target) {
        if (index != 0)
            abort ();
    } else if (index < count) {
        if (!chord_id_equal (&ids[index], &msg->target))
            abort ();
    } else {
        for (size_t i = 0; i < count; i++)
            if (chord_id_equal (&ids[i], &msg->target))
                abort ();       /* a position holds the target, yet none was chosen */
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t count = 1 + flags % S_POSITIONS_MAX;
    bool has_origin = (flags & 4) == 0;
    chord_role_t role = (flags >> 3) % 8 <= CHORD_ROLE_PEER ? (chord_role_t) ((flags >> 3) % 8)
                                                            : CHORD_ROLE_PEER;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        abort ();
    if (chord_msg_decode (msg, data + 1, size - 1) != 0) {
        free (msg);
        return 0;
    }

    chord_id_t ids[S_POSITIONS_MAX];
    for (size_t i = 0; i < count; i++)
        chord_id_of_position (&ids[i], s_endpoint, (unsigned) i);
    size_t index = chordd_route_position (msg, has_origin, ids, count, S_REQUEST_ID_BITS);
    s_check_route (msg, has_origin, ids, count, index);

    if (index < count) {
        /* Only the chosen position is built: chordd's others would not see it. */
        uint64_t rng = 0x2545f4914f6cdd1dull;
        chord_store_t *store = chord_store_mem_new ();
        chord_node_config_t config = {
            .endpoint = s_endpoint,
            .id = ids[index],
            .successors = 3,
            .stabilize_interval_ms = 500,
            .rpc_timeout_ms = 1000,
            .owner_cache_size = 8,
            .request_id_base = (uint64_t) index << S_REQUEST_ID_BITS,
            .replicas = 3,
            .wall_offset_ms = 1700000000000LL,
        };
        chord_env_t env = { .store = store, .random_bytes = s_random_bytes, .random_arg = &rng };
        chord_node_t *node = store ? chord_node_new (&config, &env) : NULL;
        if (!node || chord_node_start (node, NULL, 0, S_NOW_MS) != 0)
            abort ();
        chord_origin_t origin = { .size = 5, .bytes = "peer1" };
        chord_node_handle (node, msg, has_origin ? &origin : NULL, role, S_NOW_MS);
        chord_outgoing_t out;
        chord_msg_t *sent = malloc (sizeof *sent);
        if (!sent)
            abort ();
        while (chord_node_pop_outgoing (node, &out)) {
            if (chord_msg_decode (sent, out.data, out.size) != 0)
                abort ();   /* the node sent what no peer would accept */
            chord_msg_clear (sent);
            free (out.data);
        }
        free (sent);
        chord_node_destroy (&node);
        chord_store_destroy (&store);
    }
    chord_msg_clear (msg);
    free (msg);
    return 0;
}
