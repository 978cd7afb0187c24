/*  Tests for many protocol nodes together on the simulator's network
    (tools/sim/simnet): sixteen joins one by one, a graceful leave, a
    newcomer taking its arc, a crash (test a to d, on one ring), then eight
    concurrent joins through a node that already holds data, and a deleted
    key that must stay deleted when its owner crashes (e). After each step
    the ring must be exact (simcheck's quiet level, every node ACTIVE),
    every key must read back, every lookup must name successor(hash(key))
    and every key must sit in its owner's store alone.

    simnet runs the real state machines on a virtual clock with a constant
    1 ms delivery delay, so nothing sleeps and every run is the same run.

    Run alone: make build/t/test_node_ring_sim.t && build/t/test_node_ring_sim.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node_ring_sim.t  */

#include "node_fixture.h"
#include "simcheck.h"
#include "simnet.h"

#define S_NET_DELAY_MS    1         /* delivery delay of every message */
#define S_KEYS            300       /* keys the ring scenarios store */
#define S_CLIENT_TMO_MS   3000      /* tmo a test client asks for */
#define S_CLIENT_WAIT_MS  4000      /* virtual time a test client waits for its answer */
#define S_START_MS        1000      /* the clock when a network starts */

/* A network and the test client's view of its one outstanding request. */
typedef struct {
    simnet_t *net;
    s_rng_t rng;                    /* the test's own choices */
    uint64_t client_token;          /* token of the latest request */
    bool client_replied;            /* its callback ran (answer or tmo) */
    bool client_done;               /* an answer arrived */
    chord_status_t client_status;
    chord_msg_type_t client_type;
    char client_value[S_TEXT_MAX];
    size_t client_value_len;
    bool client_has_value;
    bool client_has_peer;
    chord_peer_t client_peer;
    uint32_t client_hops;
    uint64_t client_strays;         /* replies nobody waited for */
} s_ring_t;

static void s_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply)
{
    (void) net;
    s_ring_t *ring = arg;
    if (reply->token != ring->client_token || ring->client_replied) {
        ring->client_strays++;
        return;
    }
    ring->client_replied = true;
    ring->client_done = reply->answered;
    ring->client_type = reply->type;
    ring->client_status = reply->status;
    ring->client_has_value = reply->value && reply->value_len < sizeof ring->client_value;
    ring->client_value_len = ring->client_has_value ? reply->value_len : 0;
    if (ring->client_value_len)
        memcpy (ring->client_value, reply->value, reply->value_len);
    ring->client_has_peer = reply->has_owner;
    ring->client_peer = reply->owner;
    ring->client_hops = reply->hops;
}

/* nodes named prefix N:7000 (N from 1), none started. */
static s_ring_t *s_ring_new (uint64_t seed, size_t nodes, const char *prefix)
{
    s_ring_t *ring = calloc (1, sizeof *ring);
    simnet_config_t config;
    simnet_config_defaults (&config);
    config.seed = seed;
    config.latency = SIMNET_LATENCY_CONSTANT;
    config.latency_mean_ms = S_NET_DELAY_MS;
    config.successors = S_SUCCESSORS;
    config.stabilize_interval_ms = S_STABILIZE_MS;
    config.rpc_timeout_ms = S_RPC_TIMEOUT_MS;
    config.start_ms = S_START_MS;
    ring->net = simnet_new (&config);
    ring->rng.state = seed;
    simnet_on_reply (ring->net, s_on_reply, ring);
    char endpoint[64];
    for (size_t i = 0; i < nodes; i++) {
        snprintf (endpoint, sizeof endpoint, "%s%zu:7000", prefix, i + 1);
        simnet_add_named (ring->net, endpoint);
    }
    return ring;
}

static void s_ring_destroy (s_ring_t **ring_p)
{
    if (!*ring_p)
        return;
    simnet_destroy (&(*ring_p)->net);
    free (*ring_p);
    *ring_p = NULL;
}

/* The node's store, or NULL when it is not up. */
static chord_store_t *s_store (const s_ring_t *ring, size_t node)
{
    return simnet_node_store (ring->net, node);
}

static uint64_t s_now (const s_ring_t *ring)
{
    return simnet_now (ring->net);
}

/*  The ring is exact: simcheck's quiet level (one ring through every
    member in id order, each predecessor and successor list right, no node
    stuck joining) and, beyond it, every node up ACTIVE, none LEAVING.  */
static bool s_ring_ok (s_ring_t *ring, char *why, size_t why_size)
{
    char scratch[8];
    if (!why) {
        why = scratch;
        why_size = sizeof scratch;
    }
    simcheck_report_t report;
    if (simcheck_ring (ring->net, SIMCHECK_QUIET, &report, why, why_size) != 0)
        return false;
    if (report.members == 0) {
        snprintf (why, why_size, "no live members");
        return false;
    }
    for (size_t i = 0; i < simnet_node_count (ring->net); i++) {
        chord_node_t *node = simnet_node (ring->net, i);
        if (node && chord_node_state (node) != CHORD_NODE_ACTIVE) {
            snprintf (why, why_size, "node %zu is %s", i, chord_node_state_name (chord_node_state (node)));
            return false;
        }
    }
    return true;
}

typedef bool (s_done_fn) (s_ring_t *ring, size_t node);

static bool s_ring_done (s_ring_t *ring, size_t node)
{
    (void) node;
    return s_ring_ok (ring, NULL, 0);
}

static bool s_active_done (s_ring_t *ring, size_t node)
{
    chord_node_t *state = simnet_node (ring->net, node);
    return state && chord_node_state (state) == CHORD_NODE_ACTIVE;
}

static bool s_left_done (s_ring_t *ring, size_t node)
{
    return simnet_node_status (ring->net, node) == SIMNET_NODE_GONE;
}

/*  Runs the network until done() holds, checked after every instant (all
    events due at one time), or until_ms passes. Returns whether it held.  */
static bool s_run_until (s_ring_t *ring, uint64_t until_ms, s_done_fn *done, size_t node)
{
    while (!done (ring, node)) {
        if (!simnet_step (ring->net, until_ms)) {
            simnet_run_until (ring->net, until_ms);
            return done (ring, node);
        }
        while (simnet_step (ring->net, s_now (ring)))
            ;
    }
    return true;
}

static void s_run (s_ring_t *ring, uint64_t duration_ms)
{
    simnet_run_until (ring->net, s_now (ring) + duration_ms);
}

/* Starts node, joining through seed (SIMNET_NONE: a ring of its own). */
static void s_start (s_ring_t *ring, size_t node, size_t seed)
{
    simnet_start (ring->net, node, &seed, seed == SIMNET_NONE ? 0 : 1);
}

/* Runs until the ring is right; returns whether it got there by limit_ms. */
static bool s_converge (s_ring_t *ring, uint64_t limit_ms, const char *what)
{
    uint64_t start = s_now (ring);
    bool ok = s_run_until (ring, start + limit_ms, s_ring_done, 0);
    char why[512] = "";
    if (!ok)
        s_ring_ok (ring, why, sizeof why);
    tap_ok (ok, "%s: ring converges within %llu ms (took %llu ms)%s%s", what, (unsigned long long) limit_ms,
            (unsigned long long) (s_now (ring) - start), ok ? "" : ": ", why);
    return ok;
}

/* After a quiet period the ring is still right. */
static bool s_quiet_check (s_ring_t *ring, const char *what)
{
    s_run (ring, 10 * S_STABILIZE_MS);
    char why[512] = "";
    bool ok = s_ring_ok (ring, why, sizeof why);
    tap_ok (ok, "%s: ring invariants hold after a quiet period%s%s", what, ok ? "" : ": ", why);
    return ok;
}

/*  Sends one client request to node `at` and runs the network until the
    answer comes back. Returns false when none came in S_CLIENT_WAIT_MS.  */
static bool s_client (s_ring_t *ring, size_t at, chord_msg_type_t type, const char *key, const char *value)
{
    ring->client_token++;
    ring->client_replied = false;
    ring->client_done = false;
    if (simnet_client (ring->net, at, type, key, strlen (key), value, value ? strlen (value) : 0, S_CLIENT_TMO_MS,
                       ring->client_token) != 0)
        return false;
    uint64_t until = s_now (ring) + S_CLIENT_WAIT_MS;
    while (!ring->client_replied && simnet_step (ring->net, until))
        ;
    return ring->client_done;
}

static void s_key_name (char *out, size_t i)
{
    snprintf (out, S_TEXT_MAX, "key-%03zu", i);
}

static void s_value_name (char *out, size_t i)
{
    snprintf (out, S_TEXT_MAX, "value-%03zu-%zu", i, i * 7919 % 1000);
}

static size_t s_key_owner (s_ring_t *ring, size_t i)
{
    char key[S_TEXT_MAX];
    s_key_name (key, i);
    chord_id_t key_id;
    chord_id_hash (&key_id, key, strlen (key));
    return simnet_owner (ring->net, &key_id);
}

/* Where node sits among the count sorted members. */
static size_t s_rank (const size_t *sorted, size_t count, size_t node)
{
    size_t k = 0;
    while (k < count && sorted[k] != node)
        k++;
    return k;
}

static size_t s_random_member (s_ring_t *ring)
{
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    return sorted[s_rng_next (&ring->rng) % count];
}

/* Puts the S_KEYS keys through random members; returns how many failed. */
static size_t s_put_all (s_ring_t *ring)
{
    size_t failed = 0;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        s_value_name (value, i);
        size_t at = s_random_member (ring);
        if (!s_client (ring, at, CHORD_MSG_CLIENT_PUT, key, value) || ring->client_status != CHORD_STATUS_OK) {
            if (failed++ < 3)
                tap_diag ("put %s at node %zu: %s", key, at,
                          ring->client_done ? chord_status_name (ring->client_status) : "no answer");
        }
    }
    return failed;
}

/*  Reads back every key through a random member; returns how many failed.
    Keys with skip[i] true are not expected back: when missing_wrong is
    given, each of them that does not answer NOT_FOUND is counted there.  */
static size_t s_get_all (s_ring_t *ring, const bool *skip, size_t *missing_wrong)
{
    size_t failed = 0;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        s_value_name (value, i);
        size_t at = s_random_member (ring);
        bool answered = s_client (ring, at, CHORD_MSG_CLIENT_GET, key, NULL);
        if (skip && skip[i]) {
            if (missing_wrong && (!answered || ring->client_status != CHORD_STATUS_NOT_FOUND))
                (*missing_wrong)++;
            continue;
        }
        if (!answered || ring->client_type != CHORD_MSG_CLIENT_REPLY || ring->client_status != CHORD_STATUS_OK ||
            !ring->client_has_value || ring->client_value_len != strlen (value) ||
            memcmp (ring->client_value, value, ring->client_value_len) != 0) {
            if (failed++ < 3)
                tap_diag ("get %s at node %zu: %s", key, at,
                          answered ? chord_status_name (ring->client_status) : "no answer");
        }
    }
    return failed;
}

/*  Looks every key up, key i from member i mod count so every member asks;
    checks the owner against the membership. Returns how many were wrong;
    sets *mean_hops and *askers.  */
static size_t s_lookup_all (s_ring_t *ring, double *mean_hops, size_t *askers)
{
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    size_t wrong = 0;
    uint64_t hops = 0, answered = 0;
    char key[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        size_t at = sorted[i % count];
        const chord_peer_t *owner = simnet_node_peer (ring->net, s_key_owner (ring, i));
        bool ok = s_client (ring, at, CHORD_MSG_CLIENT_LOOKUP, key, NULL);
        ok = ok && ring->client_type == CHORD_MSG_LOOKUP_REPLY && ring->client_status == CHORD_STATUS_OK &&
             ring->client_has_peer && chord_id_equal (&ring->client_peer.id, &owner->id) &&
             strcmp (ring->client_peer.endpoint, owner->endpoint) == 0;
        if (ok) {
            hops += ring->client_hops;
            answered++;
        } else if (wrong++ < 3)
            tap_diag ("lookup %s at node %zu: %s, owner %s, expected %s", key, at,
                      ring->client_done ? chord_status_name (ring->client_status) : "no answer",
                      ring->client_done && ring->client_has_peer ? ring->client_peer.endpoint : "-",
                      owner->endpoint);
    }
    *mean_hops = answered ? (double) hops / (double) answered : 0;
    *askers = count < S_KEYS ? count : S_KEYS;
    return wrong;
}

/*  Checks that each key lives in its owner's store and in no other
    member's store (skip[i] true: the key is not checked). Returns how many
    keys are misplaced.  */
static size_t s_placement (s_ring_t *ring, const bool *skip)
{
    size_t misplaced = 0;
    char key[S_TEXT_MAX];
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    for (size_t i = 0; i < S_KEYS; i++) {
        if (skip && skip[i])
            continue;
        s_key_name (key, i);
        size_t owner = s_key_owner (ring, i);
        bool bad = false;
        for (size_t k = 0; k < count; k++)
            if (s_store_has (s_store (ring, sorted[k]), key, strlen (key)) != (sorted[k] == owner))
                bad = true;
        if (bad && misplaced++ < 3)
            tap_diag ("%s is not (only) in its owner %s's store", key, simnet_node_peer (ring->net, owner)->endpoint);
    }
    return misplaced;
}

static void s_check_data (s_ring_t *ring, const char *what, const bool *lost)
{
    size_t missing_wrong = 0;
    size_t failed = s_get_all (ring, lost, lost ? &missing_wrong : NULL);
    tap_ok (failed == 0, "%s: every key reads back from a random node (%zu failed)", what, failed);
    if (lost)
        tap_ok (missing_wrong == 0, "%s: the crashed node's keys answer NOT_FOUND (%zu did not)", what,
                missing_wrong);
    double mean_hops = 0;
    size_t askers = 0;
    size_t wrong = s_lookup_all (ring, &mean_hops, &askers);
    tap_ok (wrong == 0, "%s: every lookup names successor(hash(key)) (%zu wrong, asked from %zu nodes)", what,
            wrong, askers);
    tap_diag ("%s: mean lookup hops %.2f", what, mean_hops);
    size_t misplaced = s_placement (ring, lost);
    tap_ok (misplaced == 0, "%s: every key is in its owner's store and no other's (%zu misplaced)", what,
            misplaced);
}

static void s_diag (const s_ring_t *ring, const char *what)
{
    uint64_t dropped = 0, timeouts = 0;
    for (size_t i = 0; i < simnet_node_count (ring->net); i++) {
        chord_node_t *node = simnet_node (ring->net, i);
        if (node) {
            dropped += chord_node_stats (node)->messages_dropped;
            timeouts += chord_node_stats (node)->rpc_timeouts;
        }
    }
    const simnet_stats_t *stats = simnet_stats (ring->net);
    tap_diag ("%s: virtual time %llu ms, %llu delivered, %llu lost, %llu dropped by nodes up, %llu rpc timeouts "
              "at nodes up, %llu stuck ticks, %llu stray client replies",
              what, (unsigned long long) s_now (ring), (unsigned long long) stats->delivered,
              (unsigned long long) stats->dropped_dead, (unsigned long long) dropped, (unsigned long long) timeouts,
              (unsigned long long) stats->stuck, (unsigned long long) ring->client_strays);
}

/* a. Joins one by one through node 0. Returns whether the ring converged. */
static bool s_ring_joins (s_ring_t *ring, size_t nodes)
{
    s_start (ring, 0, SIMNET_NONE);
    size_t slow = 0;
    for (size_t i = 1; i < nodes; i++) {
        s_start (ring, i, 0);
        if (!s_run_until (ring, s_now (ring) + 5000, s_active_done, i) && slow++ < 3)
            tap_diag ("node %zu did not become active within 5 s (%s)", i,
                      chord_node_state_name (chord_node_state (simnet_node (ring->net, i))));
    }
    tap_ok (slow == 0, "a: each of %zu joiners became active through node 0", nodes - 1);
    if (!s_converge (ring, 30000, "a: 16 joins"))
        return false;
    s_quiet_check (ring, "a");
    size_t failed = s_put_all (ring);
    tap_ok (failed == 0, "a: %d puts through random nodes all OK (%zu failed)", S_KEYS, failed);
    s_check_data (ring, "a", NULL);
    s_diag (ring, "a");
    return true;
}

/* b. A graceful leave. */
static void s_ring_leave (s_ring_t *ring, size_t leaver)
{
    size_t leaver_keys = chord_store_count (s_store (ring, leaver));
    simnet_leave (ring->net, leaver);
    tap_ok (s_run_until (ring, s_now (ring) + 5000, s_left_done, leaver), "b: node %zu (%zu keys) reached LEFT",
            leaver, leaver_keys);
    s_converge (ring, 5000, "b: after a leave");
    s_quiet_check (ring, "b");
    s_check_data (ring, "b", NULL);
    s_diag (ring, "b");
}

/* Keys a node at endpoint would own on the ring as it is. */
static size_t s_arc_keys (s_ring_t *ring, const char *endpoint)
{
    chord_id_t id;
    chord_id_of_position (&id, endpoint, 0);
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    size_t k = s_rank (sorted, count, simnet_owner (ring->net, &id));
    const chord_id_t *pred = &simnet_node_peer (ring->net, sorted[(k + count - 1) % count])->id;
    size_t keys = 0;
    char key[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        chord_id_t key_id;
        chord_id_hash (&key_id, key, strlen (key));
        keys += chord_id_in_half_open (&key_id, pred, &id);
    }
    return keys;
}

/* c. A new node joins: of a few candidate endpoints, the one whose arc holds the most keys. */
static void s_ring_newcomer (s_ring_t *ring)
{
    size_t best_keys = 0;
    char endpoint[64], best[64] = "tcp://10.0.1.1:7000";
    for (unsigned c = 1; c <= 40; c++) {
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.1.%u:7000", c);
        size_t keys = s_arc_keys (ring, endpoint);
        if (keys > best_keys) {
            best_keys = keys;
            snprintf (best, sizeof best, "%s", endpoint);
        }
    }
    size_t newcomer = simnet_add_named (ring->net, best);
    s_start (ring, newcomer, 3);
    tap_ok (s_run_until (ring, s_now (ring) + 5000, s_active_done, newcomer), "c: the new node became active");
    s_converge (ring, 5000, "c: after a join");
    s_quiet_check (ring, "c");

    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    size_t k = s_rank (sorted, count, newcomer);
    const chord_id_t *pred = &simnet_node_peer (ring->net, sorted[(k + count - 1) % count])->id;
    const chord_id_t *self = &simnet_node_peer (ring->net, newcomer)->id;
    chord_store_t *self_store = s_store (ring, newcomer);
    chord_store_t *succ_store = s_store (ring, sorted[(k + 1) % count]);
    size_t arc = 0, held = 0, still_at_succ = 0;
    char key[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        chord_id_t key_id;
        chord_id_hash (&key_id, key, strlen (key));
        if (!chord_id_in_half_open (&key_id, pred, self))
            continue;
        arc++;
        held += s_store_has (self_store, key, strlen (key));
        still_at_succ += s_store_has (succ_store, key, strlen (key));
    }
    tap_diag ("c: the new node's arc holds %zu of the %d keys", arc, S_KEYS);
    tap_ok (held == arc && chord_store_count (self_store) == arc,
            "c: the new node's store holds exactly its arc (%zu of %zu, count %zu)", held, arc,
            chord_store_count (self_store));
    tap_ok (still_at_succ == 0, "c: its successor no longer holds them (%zu remain)", still_at_succ);
    s_check_data (ring, "c", NULL);
    s_diag (ring, "c");
}

/* d. A crash of the member (other than node 0) holding the most keys. */
static void s_ring_crash (s_ring_t *ring)
{
    size_t victim = 1;
    for (size_t i = 1; i < simnet_node_count (ring->net); i++)
        if (s_store (ring, i) && (!s_store (ring, victim) ||
                                  chord_store_count (s_store (ring, i)) > chord_store_count (s_store (ring, victim))))
            victim = i;
    bool lost[S_KEYS];
    size_t lost_count = 0;
    for (size_t i = 0; i < S_KEYS; i++) {
        lost[i] = s_key_owner (ring, i) == victim;
        lost_count += lost[i];
    }
    simnet_crash (ring->net, victim);
    tap_diag ("d: node %zu crashes with %zu keys", victim, lost_count);
    s_converge (ring, 20 * S_STABILIZE_MS, "d: after a crash");
    s_quiet_check (ring, "d");
    s_check_data (ring, "d", lost);
    s_diag (ring, "d");
}

/* Scenarios a to d run on one ring, one after the other. */
static void s_test_ring (void)
{
    s_ring_t *ring = s_ring_new (0x5eed0001, 16, "tcp://10.0.0.");
    if (s_ring_joins (ring, 16)) {
        s_ring_leave (ring, 5);
        s_ring_newcomer (ring);
        s_ring_crash (ring);
    } else
        s_diag (ring, "a");
    s_ring_destroy (&ring);
}

/*  A key deleted at its owner must stay deleted when that owner crashes:
    its successor, the new owner, must not hold an old copy. Picks a key
    whose owner's successor holds a copy (if any does; the successor being
    node 0, the seed, or not as seed_heir says), deletes it, crashes the
    owner, lets the ring heal and reads the key.  */
static void s_resurrection (s_ring_t *ring, bool seed_heir)
{
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    char key[S_TEXT_MAX];
    size_t pick = SIZE_MAX, owner = 0, heir = 0;
    for (size_t i = 0; i < S_KEYS && pick == SIZE_MAX; i++) {
        s_key_name (key, i);
        owner = s_key_owner (ring, i);
        heir = sorted[(s_rank (sorted, count, owner) + 1) % count];
        if (owner != 0 && heir != owner && (heir == 0) == seed_heir &&
            s_store_has (s_store (ring, heir), key, strlen (key)))
            pick = i;
    }
    if (pick == SIZE_MAX) {
        tap_ok (true, "e: no owner's successor%s holds a stray copy: nothing to resurrect",
                seed_heir ? " (node 0)" : " (other than node 0)");
        return;
    }
    s_key_name (key, pick);
    bool deleted = s_client (ring, sorted[0], CHORD_MSG_CLIENT_DEL, key, NULL) && ring->client_status == CHORD_STATUS_OK;
    tap_ok (deleted && !s_store_has (s_store (ring, owner), key, strlen (key)),
            "e: %s deleted at its owner %zu (node %zu also holds a copy)", key, owner, heir);
    simnet_crash (ring->net, owner);
    s_converge (ring, 20 * S_STABILIZE_MS, "e: after the owner crashed");
    bool answered = s_client (ring, heir, CHORD_MSG_CLIENT_GET, key, NULL);
    /* Stray copies left by concurrent joins would bring the value back. */
    tap_ok (answered && ring->client_status == CHORD_STATUS_NOT_FOUND,
            "e: the deleted key stays deleted after its owner crashes (got %s%s)",
            answered ? chord_status_name (ring->client_status) : "no answer",
            answered && ring->client_status == CHORD_STATUS_OK ? ": the old value came back" : "");
}

/* e. Concurrent joins: eight nodes all join through node 0 at once. */
static void s_test_concurrent (void)
{
    const size_t nodes = 8;
    s_ring_t *ring = s_ring_new (0x5eed0002, nodes, "tcp://10.0.2.");
    s_start (ring, 0, SIMNET_NONE);
    /* Node 0 holds data before the others come. */
    size_t failed = s_put_all (ring);
    tap_ok (failed == 0, "e: %d puts into the lone node 0 (%zu failed)", S_KEYS, failed);
    for (size_t i = 1; i < nodes; i++)
        s_start (ring, i, 0);
    if (s_converge (ring, 20000, "e: 7 concurrent joins through node 0")) {
        s_quiet_check (ring, "e");
        s_check_data (ring, "e", NULL);
        s_resurrection (ring, true);
        s_resurrection (ring, false);
    }
    s_diag (ring, "e");
    s_ring_destroy (&ring);
}

int main (void)
{
    s_test_ring ();
    s_test_concurrent ();
    return tap_done ();
}
