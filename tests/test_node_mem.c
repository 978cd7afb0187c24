/*  What an idle node costs (issue #12): the bytes chord_node_new allocates,
    counted by the allocator (glibc's mallinfo2, as tests/test_store_mem.c
    does), and the tables that grow as used instead of being allocated at
    their largest (protocol/node_owners.c, node_wire.c).

    chord_node_new allocated 265 KB before: the node, a 256-entry owner
    cache (78 KB) and two messages of 55 KB. Now a node takes its struct
    alone when the driver lends it the message it builds in (chordd's
    positions share one), one message more when it does not, and its first
    chord_node_receive allocates the message it decodes into. Under a
    sanitizer or valgrind the allocator is not glibc's and the counts mean
    something else: those checks are skipped then.

    Run alone: make build/t/test_node_mem.t && build/t/test_node_mem.t  */

#include <malloc.h>

#include "node_fixture.h"
#include "node_internal.h"

#define S_MALLOC_SLACK 1024   /* malloc's headers and rounding on the few blocks counted */
#define S_OWNER_CACHE  256    /* chordd's default --owner-cache */
#define S_POSITIONS    4      /* chordd's default --vnodes */

/* Heap bytes in use, headers and mmap'ed blocks included. */
static size_t s_heap_in_use (void)
{
    struct mallinfo2 info = mallinfo2 ();
    return info.uordblks + info.hblkhd;
}

static chord_node_t *s_node (const char *endpoint, chord_store_t *store, s_rng_t *rng, chord_msg_t *outgoing,
                             size_t owner_cache)
{
    chord_node_config_t config = {
        .endpoint = endpoint,
        .successors = S_SUCCESSORS,
        .stabilize_interval_ms = S_STABILIZE_MS,
        .rpc_timeout_ms = S_RPC_TIMEOUT_MS,
        .owner_cache_size = owner_cache,
    };
    chord_id_of_position (&config.id, endpoint, 0);
    chord_env_t env = {.store = store, .random_bytes = s_random_bytes, .random_arg = rng, .outgoing = outgoing};
    return chord_node_new (&config, &env);
}

/* Bytes chord_node_new allocates, or 0 when the allocator does not say. */
static size_t s_bytes_of_new (chord_store_t *store, s_rng_t *rng, chord_msg_t *outgoing, chord_node_t **node)
{
    size_t before = s_heap_in_use ();
    *node = s_node ("tcp://mem:1", store, rng, outgoing, S_OWNER_CACHE);
    size_t after = s_heap_in_use ();
    return after > before + sizeof (struct chord_node) / 2 ? after - before : 0;
}

static void s_test_new (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {7};
    chord_msg_t *outgoing = malloc (sizeof *outgoing);
    chord_node_t *node = NULL;
    size_t lent = s_bytes_of_new (store, &rng, outgoing, &node);
    tap_ok (node != NULL, "a node with a lent message is made");
    if (lent == 0)
        tap_ok (1, "# SKIP the allocator does not report its usage");
    else
        tap_ok (lent <= sizeof (struct chord_node) + S_MALLOC_SLACK,
                "with the message lent, chord_node_new allocates %zu bytes: its struct (%zu) alone, "
                "no owner cache (%d entries at most) nor message yet", lent, sizeof (struct chord_node),
                S_OWNER_CACHE);
    chord_node_destroy (&node);

    size_t own = s_bytes_of_new (store, &rng, NULL, &node);
    if (own == 0)
        tap_ok (1, "# SKIP the allocator does not report its usage");
    else
        tap_ok (own <= sizeof (struct chord_node) + sizeof (chord_msg_t) + S_MALLOC_SLACK,
                "without, %zu bytes: its struct and one message (%zu) to build in", own, sizeof (chord_msg_t));

    //  The message it decodes into comes with the first message received,
    //  garbage included: dropped and counted, as before.
    size_t before = s_heap_in_use ();
    static const uint8_t garbage[] = {0xc1, 0x00, 0xff};
    chord_node_receive (node, garbage, sizeof garbage, NULL, CHORD_ROLE_PEER, 0);
    size_t grown = s_heap_in_use () - before;
    tap_ok (chord_node_stats (node)->dropped_by_reason[CHORD_DROP_UNDECODABLE] == 1,
            "the first message, undecodable, is dropped and counted");
    if (own == 0)
        tap_ok (1, "# SKIP the allocator does not report its usage");
    else
        tap_ok (grown >= sizeof (chord_msg_t) && grown <= sizeof (chord_msg_t) + S_MALLOC_SLACK,
                "and allocated the message to decode into (%zu bytes)", grown);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
    free (outgoing);
}

/* Positions sharing one message each answer with their own identity. */
static void s_test_shared_outgoing (void)
{
    chord_store_t *stores[S_POSITIONS];
    chord_node_t *nodes[S_POSITIONS];
    s_rng_t rng = {11};
    chord_msg_t *outgoing = malloc (sizeof *outgoing);
    size_t before = s_heap_in_use ();
    for (size_t i = 0; i < S_POSITIONS; i++) {
        char endpoint[32];
        snprintf (endpoint, sizeof endpoint, "tcp://mem:%zu", i + 10);
        stores[i] = chord_store_mem_new ();
        nodes[i] = s_node (endpoint, stores[i], &rng, outgoing, S_OWNER_CACHE);
    }
    size_t used = s_heap_in_use () - before;
    if (used < S_POSITIONS * sizeof (struct chord_node))
        tap_ok (1, "# SKIP the allocator does not report its usage");
    else
        tap_ok (used <= S_POSITIONS * (sizeof (struct chord_node) + 2 * S_MALLOC_SLACK),
                "%d positions sharing one message take %zu bytes (265 KB each before)", S_POSITIONS, used);
    bool answered = true;
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < S_POSITIONS; i++) {
            chord_node_start (nodes[i], NULL, 0, 0);
            s_discard_outbox (nodes[i]);
            chord_origin_t origin = s_origin ("client");
            s_feed_client (nodes[i], CHORD_MSG_CLIENT_INFO, 100 + i, NULL, NULL, &origin, 10);
            s_sent_t *sent = s_pop (nodes[i]);
            answered = answered && s_is_reply (sent, CHORD_MSG_INFO_REPLY, 100 + i, &origin)
                       && strcmp (sent->msg.sender.endpoint, chord_node_self (nodes[i])->endpoint) == 0;
            s_sent_free (&sent);
        }
    tap_ok (answered, "each answers INFO as itself, through the one message");
    for (size_t i = 0; i < S_POSITIONS; i++) {
        chord_node_destroy (&nodes[i]);
        chord_store_destroy (&stores[i]);
    }
    free (outgoing);
}

/* The owner cache: allocated at the first owner, doubled up to its size,
   then the least recently used is replaced. */
static void s_test_owner_cache (void)
{
    enum { S_SIZE = 20 };
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {13};
    chord_node_t *node = s_node ("tcp://mem:2", store, &rng, NULL, S_SIZE);
    tap_ok (node && node->owners.entries == NULL && node->owners.alloc == 0, "a new cache holds nothing");
    chord_peer_t owners[S_SIZE + 5];
    for (size_t i = 0; i < S_SIZE + 5; i++) {
        char endpoint[32];
        snprintf (endpoint, sizeof endpoint, "tcp://owner:%zu", i);
        owners[i] = s_peer_named (endpoint);
    }
    chord_id_t lower = node->self.id;
    node_owner_cache_put (node, &lower, &owners[0]);
    node_owner_cache_put (node, &lower, &owners[1]);
    tap_ok (node->owners.count == 2 && node->owners.alloc == 8, "2 owners: 8 entries allocated, not %d", S_SIZE);
    node_owner_cache_put (node, &lower, &owners[1]);
    tap_ok (node->owners.count == 2, "an owner learnt again takes one entry");
    for (size_t i = 2; i < S_SIZE; i++)
        node_owner_cache_put (node, &lower, &owners[i]);
    tap_ok (node->owners.count == S_SIZE && node->owners.alloc == S_SIZE, "%d owners: %zu entries, the cap",
            S_SIZE, node->owners.alloc);
    //  Owner 0 is used (every owner's arc here is (lower, owner]: its own id finds it).
    tap_ok (node_owner_cache_find (node, &owners[0].id, 0) != NULL, "a remembered owner is found");
    node_owner_cache_put (node, &lower, &owners[S_SIZE]);
    bool found_new = false, found_zero = false, found_one = false;
    for (size_t i = 0; i < node->owners.count; i++) {
        found_new |= chord_id_equal (&node->owners.entries[i].owner.id, &owners[S_SIZE].id);
        found_zero |= chord_id_equal (&node->owners.entries[i].owner.id, &owners[0].id);
        found_one |= chord_id_equal (&node->owners.entries[i].owner.id, &owners[1].id);
    }
    tap_ok (node->owners.count == S_SIZE && node->owners.alloc == S_SIZE && found_new && found_zero && !found_one,
            "full: the newcomer replaces the least recently used (owner 1), not the one just used");
    chord_node_destroy (&node);

    node = s_node ("tcp://mem:3", store, &rng, NULL, 0);
    node_owner_cache_put (node, &lower, &owners[0]);
    tap_ok (node && node->owners.count == 0 && node->owners.entries == NULL, "--owner-cache 0 keeps none");
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_new ();
    s_test_shared_outgoing ();
    s_test_owner_cache ();
    return tap_done ();
}
