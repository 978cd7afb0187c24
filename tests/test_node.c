/*  Tests for many protocol nodes together: joins, a leave, a newcomer and
    crashes on one ring, and concurrent joins (the one-node tests of the
    protocol/node*.c modules are in tests/test_node_<module>.c).

    The nodes run in one process over a tiny deterministic network: a FIFO
    of in-flight messages, each delivered 1 ms after it was sent, and
    a virtual clock that jumps from one event (a delivery or a node's
    deadline) to the next. Nothing sleeps; every run is the same run. The
    network mirrors chordd's transport: a message to an endpoint arrives
    with an origin naming the sender's connection, and a reply to that
    origin arrives back at the sender with origin NULL.

    Run alone: make build/t/test_node.t && build/t/test_node.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node.t  */

#include "node_fixture.h"

#define S_NET_NODES_MAX   32        /* nodes one network holds */
#define S_NET_DELAY_MS    1         /* delivery delay of every message */
#define S_KEYS            300       /* keys the ring scenarios store */
#define S_CLIENT_TMO_MS   3000      /* tmo a test client asks for */
#define S_CLIENT_WAIT_MS  4000      /* virtual time a test client waits for its answer */

/* ---------------------------------------------------------------------- */
/* Part 2: a deterministic in-process network. */

#define S_ORIGIN_PEER   0x50        /* origin byte 0: a node's connection; index follows */
#define S_ORIGIN_CLIENT 0x43        /* origin byte 0: the test client; request id follows */

typedef struct {
    chord_node_t *node;
    chord_store_t *store;
    char endpoint[64];              /* advertised endpoint */
    chord_id_t id;                  /* its ring position */
    s_rng_t rng;                    /* its random source */
    bool started;                   /* chord_node_start was called */
    bool crashed;                   /* silent: messages to and from it are lost */
    bool removed;                   /* it left the ring and the network */
} s_peer_t;

typedef struct {
    uint64_t deliver_ms;            /* when it arrives */
    size_t from;                    /* sending node */
    size_t to;                      /* receiving node */
    bool has_origin;                /* a request: origin names from's connection */
    uint8_t *data;
    size_t size;
} s_packet_t;

typedef struct {
    s_peer_t peers[S_NET_NODES_MAX];
    size_t peer_count;
    s_packet_t *queue;              /* FIFO ring of packets in flight */
    size_t queue_head;
    size_t queue_count;
    size_t queue_alloc;
    uint64_t now_ms;                /* the virtual clock */
    s_rng_t rng;                    /* the test's own choices */
    uint64_t delivered;             /* packets handed to a node */
    uint64_t lost;                  /* packets to or from a crashed or departed node */
    uint64_t stuck;                 /* instants where a node's deadline did not move past now */
    /* The test client. */
    chord_msg_t *decoded;           /* scratch for client replies */
    uint64_t client_next_rid;
    uint64_t client_awaited;        /* request id of the outstanding request */
    bool client_done;               /* its reply arrived */
    chord_status_t client_status;
    chord_msg_type_t client_type;
    char client_value[S_TEXT_MAX];
    size_t client_value_len;
    bool client_has_value;
    bool client_has_peer;
    chord_peer_t client_peer;
    uint32_t client_hops;
    uint64_t client_strays;         /* replies nobody waited for */
} s_net_t;

static s_net_t *s_net_new (uint64_t seed)
{
    s_net_t *net = calloc (1, sizeof *net);
    net->rng.state = seed;
    net->decoded = malloc (sizeof *net->decoded);
    net->now_ms = 1000;
    return net;
}

static void s_net_destroy (s_net_t **net_p)
{
    s_net_t *net = *net_p;
    if (!net)
        return;
    for (size_t i = 0; i < net->peer_count; i++) {
        chord_node_destroy (&net->peers[i].node);
        chord_store_destroy (&net->peers[i].store);
    }
    for (size_t i = 0; i < net->queue_count; i++)
        free (net->queue[(net->queue_head + i) % net->queue_alloc].data);
    free (net->queue);
    free (net->decoded);
    free (net);
    *net_p = NULL;
}

/* Adds an idle node; returns its index. */
static size_t s_net_add (s_net_t *net, const char *endpoint)
{
    size_t index = net->peer_count++;
    s_peer_t *peer = &net->peers[index];
    snprintf (peer->endpoint, sizeof peer->endpoint, "%s", endpoint);
    chord_id_of_position (&peer->id, endpoint, 0);
    peer->rng.state = 0x9e3779b97f4a7c15ull ^ (index * 0x100000001b3ull) ^ net->rng.state;
    if (!peer->rng.state)
        peer->rng.state = 1;
    peer->store = chord_store_mem_new ();
    peer->node = s_unit_node (endpoint, peer->store, &peer->rng, NULL);
    return index;
}

static bool s_net_live (const s_net_t *net, size_t i)
{
    const s_peer_t *peer = &net->peers[i];
    return peer->started && !peer->crashed && !peer->removed;
}

static int s_net_find (const s_net_t *net, const char *endpoint)
{
    for (size_t i = 0; i < net->peer_count; i++)
        if (!net->peers[i].removed && strcmp (net->peers[i].endpoint, endpoint) == 0)
            return (int) i;
    return -1;
}

static void s_net_push (s_net_t *net, size_t from, size_t to, bool has_origin, uint8_t *data, size_t size)
{
    if (net->queue_count == net->queue_alloc) {
        size_t alloc = net->queue_alloc ? net->queue_alloc * 2 : 256;
        s_packet_t *grown = malloc (alloc * sizeof *grown);
        for (size_t i = 0; i < net->queue_count; i++)
            grown[i] = net->queue[(net->queue_head + i) % net->queue_alloc];
        free (net->queue);
        net->queue = grown;
        net->queue_alloc = alloc;
        net->queue_head = 0;
    }
    s_packet_t *packet = &net->queue[(net->queue_head + net->queue_count) % net->queue_alloc];
    packet->deliver_ms = net->now_ms + S_NET_DELAY_MS;
    packet->from = from;
    packet->to = to;
    packet->has_origin = has_origin;
    packet->data = data;
    packet->size = size;
    net->queue_count++;
}

static void s_net_client_reply (s_net_t *net, const chord_outgoing_t *out)
{
    uint64_t rid = 0;
    memcpy (&rid, out->origin.bytes + 1, sizeof rid);
    if (rid != net->client_awaited || net->client_done
        || chord_msg_decode (net->decoded, out->data, out->size) != 0) {
        net->client_strays++;
        return;
    }
    chord_msg_t *msg = net->decoded;
    net->client_done = true;
    net->client_type = msg->type;
    net->client_status = msg->status;
    net->client_has_value = (msg->fields & CHORD_F_VALUE) && msg->value_len < sizeof net->client_value;
    net->client_value_len = net->client_has_value ? msg->value_len : 0;
    if (net->client_has_value && msg->value_len)
        memcpy (net->client_value, msg->value, msg->value_len);
    net->client_has_peer = (msg->fields & CHORD_F_PEER) != 0;
    net->client_peer = msg->peer;
    net->client_hops = msg->hops;
    chord_msg_clear (msg);
}

/* Sends on whatever node `from` has queued; notes when it has left. */
static void s_net_drain (s_net_t *net, size_t from)
{
    s_peer_t *peer = &net->peers[from];
    chord_outgoing_t out;
    while (chord_node_pop_outgoing (peer->node, &out)) {
        if (out.kind == CHORD_DEST_PEER) {
            int to = s_net_find (net, out.endpoint);
            if (to < 0 || net->peers[to].crashed || !net->peers[to].started) {
                net->lost++;
                free (out.data);
            }
            else
                s_net_push (net, from, (size_t) to, true, out.data, out.size);
        }
        else if (out.origin.size == 1 + sizeof (uint32_t) && out.origin.bytes[0] == S_ORIGIN_PEER) {
            uint32_t to = 0;
            memcpy (&to, out.origin.bytes + 1, sizeof to);
            if (to >= net->peer_count) {
                net->lost++;
                free (out.data);
            }
            else
                s_net_push (net, from, to, false, out.data, out.size);
        }
        else if (out.origin.size == 1 + sizeof (uint64_t) && out.origin.bytes[0] == S_ORIGIN_CLIENT) {
            s_net_client_reply (net, &out);
            free (out.data);
        }
        else {
            net->lost++;
            free (out.data);
        }
    }
    if (chord_node_state (peer->node) == CHORD_NODE_LEFT)
        peer->removed = true;
}

static void s_net_deliver (s_net_t *net, s_packet_t *packet)
{
    s_peer_t *to = &net->peers[packet->to];
    if (to->removed || to->crashed || net->peers[packet->from].crashed) {
        net->lost++;
        free (packet->data);
        return;
    }
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = 1 + sizeof (uint32_t);
    origin.bytes[0] = S_ORIGIN_PEER;
    uint32_t from = (uint32_t) packet->from;
    memcpy (origin.bytes + 1, &from, sizeof from);
    chord_node_receive (to->node, packet->data, packet->size, packet->has_origin ? &origin : NULL, CHORD_ROLE_PEER, net->now_ms);
    free (packet->data);
    net->delivered++;
    s_net_drain (net, packet->to);
}

/* Handles everything due at now_ms: deliveries, then ticks until quiet. */
static void s_net_instant (s_net_t *net)
{
    while (net->queue_count && net->queue[net->queue_head].deliver_ms <= net->now_ms) {
        s_packet_t packet = net->queue[net->queue_head];
        net->queue_head = (net->queue_head + 1) % net->queue_alloc;
        net->queue_count--;
        s_net_deliver (net, &packet);
    }
    for (int round = 0; round < 8; round++) {
        bool ticked = false;
        for (size_t i = 0; i < net->peer_count; i++) {
            if (!s_net_live (net, i) || chord_node_next_deadline_ms (net->peers[i].node) > net->now_ms)
                continue;
            chord_node_tick (net->peers[i].node, net->now_ms);
            s_net_drain (net, i);
            ticked = true;
        }
        if (!ticked)
            return;
    }
    net->stuck++;
}

/* Runs the network until done() holds (checked after every instant) or
   until_ms passes. Returns whether done() held. */
static bool s_net_run_until (s_net_t *net, uint64_t until_ms, bool (*done) (s_net_t *, void *), void *arg)
{
    while (true) {
        s_net_instant (net);
        if (done && done (net, arg))
            return true;
        if (net->now_ms >= until_ms)
            return false;
        uint64_t next = UINT64_MAX;
        if (net->queue_count)
            next = net->queue[net->queue_head].deliver_ms;
        for (size_t i = 0; i < net->peer_count; i++)
            if (s_net_live (net, i)) {
                uint64_t deadline = chord_node_next_deadline_ms (net->peers[i].node);
                if (deadline < next)
                    next = deadline;
            }
        if (next <= net->now_ms)
            next = net->now_ms + 1;
        net->now_ms = next < until_ms ? next : until_ms;
    }
}

static void s_net_run (s_net_t *net, uint64_t duration_ms)
{
    s_net_run_until (net, net->now_ms + duration_ms, NULL, NULL);
}

static void s_net_start (s_net_t *net, size_t index, const char *seed)
{
    s_peer_t *peer = &net->peers[index];
    const char *seeds[1] = {seed};
    chord_node_start (peer->node, seeds, seed ? 1 : 0, net->now_ms);
    peer->started = true;
    s_net_drain (net, index);
}

/* Live members sorted by id into out[]; returns how many. */
static size_t s_net_members (const s_net_t *net, size_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < net->peer_count; i++) {
        if (!s_net_live (net, i))
            continue;
        size_t j = count++;
        while (j > 0 && chord_id_cmp (&net->peers[out[j - 1]].id, &net->peers[i].id) > 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    return count;
}

/*  Checks the ring over the live members: all active; each successor the
    next member by id and each predecessor the previous one; following
    successors from any member is one cycle through all of them. On failure
    describes the first problem in why (when not NULL).  */
static bool s_net_ring_ok (const s_net_t *net, char *why, size_t why_size)
{
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    char scratch[8];
    if (!why) {
        why = scratch;
        why_size = sizeof scratch;
    }
    if (count == 0) {
        snprintf (why, why_size, "no live members");
        return false;
    }
    for (size_t k = 0; k < count; k++) {
        const s_peer_t *peer = &net->peers[order[k]];
        if (chord_node_state (peer->node) != CHORD_NODE_ACTIVE) {
            snprintf (why, why_size, "node %zu is %s", order[k], chord_node_state_name (chord_node_state (peer->node)));
            return false;
        }
        const s_peer_t *next = &net->peers[order[(k + 1) % count]];
        const s_peer_t *prev = &net->peers[order[(k + count - 1) % count]];
        const chord_peer_t *succ = chord_node_successor (peer->node);
        if (!chord_id_equal (&succ->id, &next->id) || strcmp (succ->endpoint, next->endpoint) != 0) {
            snprintf (why, why_size, "node %zu: successor %s, expected %s", order[k], succ->endpoint, next->endpoint);
            return false;
        }
        const chord_peer_t *pred = chord_node_predecessor (peer->node);
        if (count == 1) {
            if (pred && !chord_id_equal (&pred->id, &peer->id)) {
                snprintf (why, why_size, "lone node %zu: predecessor %s", order[k], pred->endpoint);
                return false;
            }
        }
        else if (!pred || !chord_id_equal (&pred->id, &prev->id)) {
            snprintf (why, why_size, "node %zu: predecessor %s, expected %s", order[k], pred ? pred->endpoint : "none",
                      prev->endpoint);
            return false;
        }
    }
    /* One cycle through successors, visiting every member once, in id order. */
    size_t at = order[0];
    bool visited[S_NET_NODES_MAX] = {false};
    for (size_t step = 0; step < count; step++) {
        if (visited[at]) {
            snprintf (why, why_size, "successor cycle closes after %zu of %zu", step, count);
            return false;
        }
        visited[at] = true;
        int next = s_net_find (net, chord_node_successor (net->peers[at].node)->endpoint);
        if (next < 0 || !s_net_live (net, (size_t) next)) {
            snprintf (why, why_size, "successor of node %zu is not a live member", at);
            return false;
        }
        at = (size_t) next;
    }
    if (at != order[0]) {
        snprintf (why, why_size, "successor walk does not return to its start");
        return false;
    }
    return true;
}

static bool s_ring_done (s_net_t *net, void *arg)
{
    (void) arg;
    return s_net_ring_ok (net, NULL, 0);
}

static bool s_active_done (s_net_t *net, void *arg)
{
    size_t index = *(size_t *) arg;
    return chord_node_state (net->peers[index].node) == CHORD_NODE_ACTIVE;
}

static bool s_left_done (s_net_t *net, void *arg)
{
    size_t index = *(size_t *) arg;
    return net->peers[index].removed;
}

static bool s_client_done (s_net_t *net, void *arg)
{
    (void) arg;
    return net->client_done;
}

/* Runs until the ring is right; returns whether it got there by limit_ms. */
static bool s_net_converge (s_net_t *net, uint64_t limit_ms, const char *what)
{
    uint64_t start = net->now_ms;
    bool ok = s_net_run_until (net, start + limit_ms, s_ring_done, NULL);
    char why[512] = "";
    if (!ok)
        s_net_ring_ok (net, why, sizeof why);
    tap_ok (ok, "%s: ring converges within %llu ms (took %llu ms)%s%s", what, (unsigned long long) limit_ms,
            (unsigned long long) (net->now_ms - start), ok ? "" : ": ", why);
    return ok;
}

/* After a quiet period the ring is still right. */
static bool s_net_quiet_check (s_net_t *net, const char *what)
{
    s_net_run (net, 10 * S_STABILIZE_MS);
    char why[512] = "";
    bool ok = s_net_ring_ok (net, why, sizeof why);
    tap_ok (ok, "%s: ring invariants hold after a quiet period%s%s", what, ok ? "" : ": ", why);
    return ok;
}

/*  Sends one client request to node `at` and runs the network until the
    answer comes back. Returns false when none came in S_CLIENT_WAIT_MS.  */
static bool s_client (s_net_t *net, size_t at, chord_msg_type_t type, const char *key, const char *value)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    uint64_t rid = ++net->client_next_rid;
    chord_msg_init (msg, type, rid);
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
    msg->key = (const uint8_t *) key;
    msg->key_len = strlen (key);
    msg->timeout_ms = S_CLIENT_TMO_MS;
    if (value) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = (const uint8_t *) value;
        msg->value_len = strlen (value);
    }
    uint8_t *data = NULL;
    size_t size = 0;
    chord_msg_encode (msg, &data, &size);
    free (msg);
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = 1 + sizeof rid;
    origin.bytes[0] = S_ORIGIN_CLIENT;
    memcpy (origin.bytes + 1, &rid, sizeof rid);
    net->client_awaited = rid;
    net->client_done = false;
    chord_node_receive (net->peers[at].node, data, size, &origin, CHORD_ROLE_PEER, net->now_ms);
    free (data);
    s_net_drain (net, at);
    if (net->client_done)
        return true;
    return s_net_run_until (net, net->now_ms + S_CLIENT_WAIT_MS, s_client_done, NULL);
}

static void s_key_name (char *out, size_t i)
{
    snprintf (out, S_TEXT_MAX, "key-%03zu", i);
}

static void s_value_name (char *out, size_t i)
{
    snprintf (out, S_TEXT_MAX, "value-%03zu-%zu", i, i * 7919 % 1000);
}

/* The live member that owns key id, by brute force: the first at or after it. */
static size_t s_net_owner (const s_net_t *net, const chord_id_t *key_id)
{
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    for (size_t k = 0; k < count; k++)
        if (chord_id_cmp (&net->peers[order[k]].id, key_id) >= 0)
            return order[k];
    return order[0];
}

static size_t s_net_random_member (s_net_t *net, size_t other_than)
{
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    for (int tries = 0; tries < 100; tries++) {
        size_t pick = order[s_rng_next (&net->rng) % count];
        if (pick != other_than || count == 1)
            return pick;
    }
    return order[0];
}

/* Puts the S_KEYS keys through random members; returns how many failed. */
static size_t s_net_put_all (s_net_t *net)
{
    size_t failed = 0;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        s_value_name (value, i);
        size_t at = s_net_random_member (net, SIZE_MAX);
        if (!s_client (net, at, CHORD_MSG_CLIENT_PUT, key, value) || net->client_status != CHORD_STATUS_OK) {
            if (failed++ < 3)
                tap_diag ("put %s at node %zu: %s", key, at,
                          net->client_done ? chord_status_name (net->client_status) : "no answer");
        }
    }
    return failed;
}

/*  Reads back every key through a random member; returns how many failed.
    Keys with skip[i] true are not expected back: when missing_wrong is
    given, each of them that does not answer NOT_FOUND is counted there.  */
static size_t s_net_get_all (s_net_t *net, const bool *skip, size_t *missing_wrong)
{
    size_t failed = 0;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        s_value_name (value, i);
        size_t at = s_net_random_member (net, SIZE_MAX);
        bool answered = s_client (net, at, CHORD_MSG_CLIENT_GET, key, NULL);
        if (skip && skip[i]) {
            if (missing_wrong && (!answered || net->client_status != CHORD_STATUS_NOT_FOUND))
                (*missing_wrong)++;
            continue;
        }
        if (!answered || net->client_status != CHORD_STATUS_OK || !net->client_has_value
            || net->client_value_len != strlen (value) || memcmp (net->client_value, value, net->client_value_len) != 0) {
            if (failed++ < 3)
                tap_diag ("get %s at node %zu: %s", key, at,
                          answered ? chord_status_name (net->client_status) : "no answer");
        }
    }
    return failed;
}

/*  Looks every key up, key i from member i mod count so every member asks;
    checks the owner against brute force. Returns how many were wrong;
    sets *mean_hops.  */
static size_t s_net_lookup_all (s_net_t *net, double *mean_hops, size_t *askers)
{
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    size_t wrong = 0;
    uint64_t hops = 0, answered = 0;
    char key[S_TEXT_MAX];
    bool asked[S_NET_NODES_MAX] = {false};
    for (size_t i = 0; i < S_KEYS; i++) {
        s_key_name (key, i);
        size_t at = order[i % count];
        asked[at] = true;
        chord_id_t key_id;
        chord_id_hash (&key_id, key, strlen (key));
        size_t owner = s_net_owner (net, &key_id);
        bool ok = s_client (net, at, CHORD_MSG_CLIENT_LOOKUP, key, NULL);
        ok = ok && net->client_type == CHORD_MSG_LOOKUP_REPLY && net->client_status == CHORD_STATUS_OK
             && net->client_has_peer && chord_id_equal (&net->client_peer.id, &net->peers[owner].id)
             && strcmp (net->client_peer.endpoint, net->peers[owner].endpoint) == 0;
        if (ok) {
            hops += net->client_hops;
            answered++;
        }
        else if (wrong++ < 3)
            tap_diag ("lookup %s at node %zu: %s, owner %s, expected %s", key, at,
                      net->client_done ? chord_status_name (net->client_status) : "no answer",
                      net->client_done && net->client_has_peer ? net->client_peer.endpoint : "-",
                      net->peers[owner].endpoint);
    }
    *mean_hops = answered ? (double) hops / (double) answered : 0;
    *askers = 0;
    for (size_t i = 0; i < S_NET_NODES_MAX; i++)
        *askers += asked[i];
    return wrong;
}

/*  Checks that each key lives in its owner's store and in no other live
    member's store (skip[i] true: the key is not checked). Returns how many
    keys are misplaced.  */
static size_t s_net_placement (const s_net_t *net, const bool *skip)
{
    size_t misplaced = 0;
    char key[S_TEXT_MAX];
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    for (size_t i = 0; i < S_KEYS; i++) {
        if (skip && skip[i])
            continue;
        s_key_name (key, i);
        chord_id_t key_id;
        chord_id_hash (&key_id, key, strlen (key));
        size_t owner = s_net_owner (net, &key_id);
        bool bad = false;
        for (size_t k = 0; k < count; k++) {
            bool has = s_store_has (net->peers[order[k]].store, key, strlen (key));
            if (has != (order[k] == owner))
                bad = true;
        }
        if (bad && misplaced++ < 3)
            tap_diag ("%s is not (only) in its owner %s's store", key, net->peers[owner].endpoint);
    }
    return misplaced;
}

static void s_net_check_data (s_net_t *net, const char *what, const bool *lost)
{
    size_t missing_wrong = 0;
    size_t failed = s_net_get_all (net, lost, lost ? &missing_wrong : NULL);
    tap_ok (failed == 0, "%s: every key reads back from a random node (%zu failed)", what, failed);
    if (lost)
        tap_ok (missing_wrong == 0, "%s: the crashed node's keys answer NOT_FOUND (%zu did not)", what,
                missing_wrong);
    double mean_hops = 0;
    size_t askers = 0;
    size_t wrong = s_net_lookup_all (net, &mean_hops, &askers);
    tap_ok (wrong == 0, "%s: every lookup names successor(hash(key)) (%zu wrong, asked from %zu nodes)", what,
            wrong, askers);
    tap_diag ("%s: mean lookup hops %.2f", what, mean_hops);
    size_t misplaced = s_net_placement (net, lost);
    tap_ok (misplaced == 0, "%s: every key is in its owner's store and no other's (%zu misplaced)", what,
            misplaced);
}

static void s_net_diag (const s_net_t *net, const char *what)
{
    uint64_t dropped = 0, timeouts = 0;
    for (size_t i = 0; i < net->peer_count; i++) {
        dropped += chord_node_stats (net->peers[i].node)->messages_dropped;
        timeouts += chord_node_stats (net->peers[i].node)->rpc_timeouts;
    }
    tap_diag ("%s: virtual time %llu ms, %llu delivered, %llu lost, %llu dropped by nodes, %llu rpc timeouts, "
              "%llu stuck instants, %llu stray client replies",
              what, (unsigned long long) net->now_ms, (unsigned long long) net->delivered,
              (unsigned long long) net->lost, (unsigned long long) dropped, (unsigned long long) timeouts,
              (unsigned long long) net->stuck, (unsigned long long) net->client_strays);
}

/* Scenarios a to d run on one ring, one after the other. */
static void s_test_ring (void)
{
    s_net_t *net = s_net_new (0x5eed0001);
    const size_t nodes = 16;
    char endpoint[64];
    for (size_t i = 0; i < nodes; i++) {
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.0.%zu:7000", i + 1);
        s_net_add (net, endpoint);
    }
    /* a. Joins one by one through node 0. */
    s_net_start (net, 0, NULL);
    size_t slow = 0;
    for (size_t i = 1; i < nodes; i++) {
        s_net_start (net, i, net->peers[0].endpoint);
        if (!s_net_run_until (net, net->now_ms + 5000, s_active_done, &i) && slow++ < 3)
            tap_diag ("node %zu did not become active within 5 s (%s)", i,
                      chord_node_state_name (chord_node_state (net->peers[i].node)));
    }
    tap_ok (slow == 0, "a: each of %zu joiners became active through node 0", nodes - 1);
    if (!s_net_converge (net, 30000, "a: 16 joins")) {
        s_net_diag (net, "a");
        s_net_destroy (&net);
        return;
    }
    s_net_quiet_check (net, "a");
    size_t failed = s_net_put_all (net);
    tap_ok (failed == 0, "a: %d puts through random nodes all OK (%zu failed)", S_KEYS, failed);
    s_net_check_data (net, "a", NULL);
    s_net_diag (net, "a");

    /* b. A graceful leave. */
    size_t leaver = 5;
    size_t leaver_keys = chord_store_count (net->peers[leaver].store);
    chord_node_leave (net->peers[leaver].node, net->now_ms);
    s_net_drain (net, leaver);
    tap_ok (s_net_run_until (net, net->now_ms + 5000, s_left_done, &leaver), "b: node %zu (%zu keys) reached LEFT",
            leaver, leaver_keys);
    s_net_converge (net, 5000, "b: after a leave");
    s_net_quiet_check (net, "b");
    s_net_check_data (net, "b", NULL);
    s_net_diag (net, "b");

    /* c. A new node joins. */
    /* Of a few candidate endpoints, the one whose arc holds the most keys. */
    size_t best_keys = 0;
    char best[64] = "tcp://10.0.1.1:7000";
    for (unsigned c = 1; c <= 40; c++) {
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.1.%u:7000", c);
        chord_id_t id;
        chord_id_of_position (&id, endpoint, 0);
        size_t owner = s_net_owner (net, &id);
        size_t order[S_NET_NODES_MAX];
        size_t count = s_net_members (net, order), k = 0;
        while (order[k] != owner)
            k++;
        const chord_id_t *pred = &net->peers[order[(k + count - 1) % count]].id;
        size_t keys = 0;
        char key[S_TEXT_MAX];
        for (size_t i = 0; i < S_KEYS; i++) {
            s_key_name (key, i);
            chord_id_t key_id;
            chord_id_hash (&key_id, key, strlen (key));
            keys += chord_id_in_half_open (&key_id, pred, &id);
        }
        if (keys > best_keys) {
            best_keys = keys;
            snprintf (best, sizeof best, "%s", endpoint);
        }
    }
    size_t newcomer = s_net_add (net, best);
    s_net_start (net, newcomer, net->peers[3].endpoint);
    tap_ok (s_net_run_until (net, net->now_ms + 5000, s_active_done, &newcomer), "c: the new node became active");
    s_net_converge (net, 5000, "c: after a join");
    s_net_quiet_check (net, "c");
    {
        size_t order[S_NET_NODES_MAX];
        size_t count = s_net_members (net, order);
        size_t k = 0;
        while (order[k] != newcomer)
            k++;
        const s_peer_t *pred = &net->peers[order[(k + count - 1) % count]];
        const s_peer_t *succ = &net->peers[order[(k + 1) % count]];
        const s_peer_t *self = &net->peers[newcomer];
        size_t arc = 0, held = 0, still_at_succ = 0;
        char key[S_TEXT_MAX];
        for (size_t i = 0; i < S_KEYS; i++) {
            s_key_name (key, i);
            chord_id_t key_id;
            chord_id_hash (&key_id, key, strlen (key));
            if (!chord_id_in_half_open (&key_id, &pred->id, &self->id))
                continue;
            arc++;
            held += s_store_has (self->store, key, strlen (key));
            still_at_succ += s_store_has (succ->store, key, strlen (key));
        }
        tap_diag ("c: the new node's arc holds %zu of the %d keys", arc, S_KEYS);
        tap_ok (held == arc && chord_store_count (self->store) == arc,
                "c: the new node's store holds exactly its arc (%zu of %zu, count %zu)", held, arc,
                chord_store_count (self->store));
        tap_ok (still_at_succ == 0, "c: its successor no longer holds them (%zu remain)", still_at_succ);
    }
    s_net_check_data (net, "c", NULL);
    s_net_diag (net, "c");

    /* d. A crash. */
    size_t victim = 1;
    for (size_t i = 1; i < net->peer_count; i++)
        if (s_net_live (net, i) && chord_store_count (net->peers[i].store) > chord_store_count (net->peers[victim].store))
            victim = i;
    bool lost[S_KEYS];
    size_t lost_count = 0;
    {
        char key[S_TEXT_MAX];
        for (size_t i = 0; i < S_KEYS; i++) {
            s_key_name (key, i);
            chord_id_t key_id;
            chord_id_hash (&key_id, key, strlen (key));
            lost[i] = s_net_owner (net, &key_id) == victim;
            lost_count += lost[i];
        }
    }
    net->peers[victim].crashed = true;
    tap_diag ("d: node %zu crashes with %zu keys", victim, lost_count);
    s_net_converge (net, 20 * S_STABILIZE_MS, "d: after a crash");
    s_net_quiet_check (net, "d");
    s_net_check_data (net, "d", lost);
    s_net_diag (net, "d");
    s_net_destroy (&net);
}

/*  A key deleted at its owner must stay deleted when that owner crashes:
    its successor, the new owner, must not hold an old copy. Picks a key
    whose owner's successor holds a copy (if any does; the successor being
    node 0, the seed, or not as seed_heir says), deletes it, crashes the
    owner, lets the ring heal and reads the key.  */
static void s_net_resurrection (s_net_t *net, bool seed_heir)
{
    size_t order[S_NET_NODES_MAX];
    size_t count = s_net_members (net, order);
    char key[S_TEXT_MAX];
    size_t pick = SIZE_MAX, owner = 0, heir = 0;
    for (size_t i = 0; i < S_KEYS && pick == SIZE_MAX; i++) {
        s_key_name (key, i);
        chord_id_t key_id;
        chord_id_hash (&key_id, key, strlen (key));
        owner = s_net_owner (net, &key_id);
        size_t k = 0;
        while (order[k] != owner)
            k++;
        heir = order[(k + 1) % count];
        if (owner != 0 && heir != owner && (heir == 0) == seed_heir
            && s_store_has (net->peers[heir].store, key, strlen (key)))
            pick = i;
    }
    if (pick == SIZE_MAX) {
        tap_ok (true, "e: no owner's successor%s holds a stray copy: nothing to resurrect",
                seed_heir ? " (node 0)" : " (other than node 0)");
        return;
    }
    s_key_name (key, pick);
    bool deleted = s_client (net, order[0], CHORD_MSG_CLIENT_DEL, key, NULL) && net->client_status == CHORD_STATUS_OK;
    tap_ok (deleted && !s_store_has (net->peers[owner].store, key, strlen (key)),
            "e: %s deleted at its owner %zu (node %zu also holds a copy)", key, owner, heir);
    net->peers[owner].crashed = true;
    s_net_converge (net, 20 * S_STABILIZE_MS, "e: after the owner crashed");
    bool answered = s_client (net, heir, CHORD_MSG_CLIENT_GET, key, NULL);
    /* Stray copies left by concurrent joins would bring the value back. */
    tap_ok (answered && net->client_status == CHORD_STATUS_NOT_FOUND,
            "e: the deleted key stays deleted after its owner crashes (got %s%s)",
            answered ? chord_status_name (net->client_status) : "no answer",
            answered && net->client_status == CHORD_STATUS_OK ? ": the old value came back" : "");
}

/* e. Concurrent joins: eight nodes all join through node 0 at once. */
static void s_test_concurrent (void)
{
    s_net_t *net = s_net_new (0x5eed0002);
    const size_t nodes = 8;
    char endpoint[64];
    for (size_t i = 0; i < nodes; i++) {
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.2.%zu:7000", i + 1);
        s_net_add (net, endpoint);
    }
    s_net_start (net, 0, NULL);
    /* Node 0 holds data before the others come. */
    size_t failed = s_net_put_all (net);
    tap_ok (failed == 0, "e: %d puts into the lone node 0 (%zu failed)", S_KEYS, failed);
    for (size_t i = 1; i < nodes; i++)
        s_net_start (net, i, net->peers[0].endpoint);
    if (s_net_converge (net, 20000, "e: 7 concurrent joins through node 0")) {
        s_net_quiet_check (net, "e");
        s_net_check_data (net, "e", NULL);
        s_net_resurrection (net, true);
        s_net_resurrection (net, false);
    }
    s_net_diag (net, "e");
    s_net_destroy (&net);
}

int main (void)
{
    s_test_ring ();
    s_test_concurrent ();
    return tap_done ();
}
