/*  Tests for protocol/node.c, the Chord state machine.

    Part 1 drives one node by hand: it encodes each request itself, feeds it
    to chord_node_receive with a made-up origin, and decodes what the node
    queued in its outbox.

    Part 2 runs many nodes in one process over a tiny deterministic network:
    a FIFO of in-flight messages, each delivered 1 ms after it was sent, and
    a virtual clock that jumps from one event (a delivery or a node's
    deadline) to the next. Nothing sleeps; every run is the same run. The
    network mirrors chordd's transport: a message to an endpoint arrives
    with an origin naming the sender's connection, and a reply to that
    origin arrives back at the sender with origin NULL.

    Run alone: make build/t/test_node.t && build/t/test_node.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node.t  */

#include "id.h"
#include "message.h"
#include "node.h"
#include "record.h"
#include "store.h"
#include "tap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STABILIZE_MS    100       /* stabilize_interval_ms in every test */
#define S_RPC_TIMEOUT_MS  300       /* rpc_timeout_ms */
#define S_SUCCESSORS      3         /* successor list length */
#define S_NET_NODES_MAX   32        /* nodes one network holds */
#define S_NET_DELAY_MS    1         /* delivery delay of every message */
#define S_KEYS            300       /* keys the ring scenarios store */
#define S_CLIENT_TMO_MS   3000      /* tmo a test client asks for */
#define S_CLIENT_WAIT_MS  4000      /* virtual time a test client waits for its answer */
#define S_TEXT_MAX        64        /* bytes of a test key or value */

/* ---------------------------------------------------------------------- */
/* Deterministic randomness and a log sink. */

typedef struct {
    uint64_t state;                 /* xorshift64 state, never 0 */
} s_rng_t;

static uint64_t s_rng_next (s_rng_t *rng)
{
    rng->state ^= rng->state << 13;
    rng->state ^= rng->state >> 7;
    rng->state ^= rng->state << 17;
    return rng->state;
}

static void s_random_bytes (void *arg, void *buf, size_t len)
{
    s_rng_t *rng = arg;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t) (s_rng_next (rng) >> 24);
}

typedef struct {
    size_t lines;                   /* lines received */
    size_t by_level[4];             /* lines per chord_log_level_t */
    char last[256];                 /* the latest line */
} s_log_t;

static void s_log_line (void *arg, chord_log_level_t level, const char *line)
{
    s_log_t *log = arg;
    log->lines++;
    if ((unsigned) level < 4)
        log->by_level[level]++;
    snprintf (log->last, sizeof log->last, "%s", line);
}

/* ---------------------------------------------------------------------- */
/* Helpers for driving one node by hand. */

typedef struct {
    chord_outgoing_t out;           /* as popped; out.data is ours */
    chord_msg_t msg;                /* decoded from out.data */
    bool decoded;                   /* msg holds a decoded message */
} s_sent_t;

/* Pops and decodes the node's oldest outgoing message, or NULL when none. */
static s_sent_t *s_pop (chord_node_t *node)
{
    s_sent_t *sent = calloc (1, sizeof *sent);
    if (!sent)
        return NULL;
    if (!chord_node_pop_outgoing (node, &sent->out)) {
        free (sent);
        return NULL;
    }
    sent->decoded = chord_msg_decode (&sent->msg, sent->out.data, sent->out.size) == 0;
    return sent;
}

static void s_sent_free (s_sent_t **sent_p)
{
    if (!*sent_p)
        return;
    if ((*sent_p)->decoded)
        chord_msg_clear (&(*sent_p)->msg);
    free ((*sent_p)->out.data);
    free (*sent_p);
    *sent_p = NULL;
}

/* Drops whatever the node has queued; returns how many. */
static size_t s_discard_outbox (chord_node_t *node)
{
    size_t count = 0;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        count++;
        s_sent_free (&sent);
    }
    return count;
}

static chord_origin_t s_origin (const char *name)
{
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = (uint8_t) strlen (name);
    memcpy (origin.bytes, name, origin.size);
    return origin;
}

static bool s_origin_equal (const chord_origin_t *a, const chord_origin_t *b)
{
    return a->size == b->size && memcmp (a->bytes, b->bytes, a->size) == 0;
}

static chord_peer_t s_peer_named (const char *endpoint)
{
    chord_peer_t peer;
    memset (&peer, 0, sizeof peer);
    snprintf (peer.endpoint, sizeof peer.endpoint, "%s", endpoint);
    chord_id_of_position (&peer.id, endpoint, 0);
    return peer;
}

/*  A peer named prefix:N whose id lies in (from + 2^k, from + 2^k + 2^width):
    a peer's id must be its endpoint's, so tests that want a peer at some
    distance look for an endpoint that hashes there (each try succeeds
    with probability about 2^(width-160)).  */
static chord_peer_t s_peer_after (const char *prefix, const chord_id_t *from, unsigned k, unsigned width)
{
    chord_id_t low, high;
    chord_id_add_pow2 (&low, from, k);
    chord_id_add_pow2 (&high, &low, width);
    char endpoint[CHORD_ENDPOINT_MAX + 1];
    for (unsigned n = 1; n < 100000; n++) {
        snprintf (endpoint, sizeof endpoint, "%s:%u", prefix, n);
        chord_peer_t peer = s_peer_named (endpoint);
        if (chord_id_in_open (&peer.id, &low, &high))
            return peer;
    }
    return s_peer_named (prefix);
}

/* Encodes msg (from `from` when not NULL) and hands it to the node. */
static void s_feed (chord_node_t *node, chord_msg_t *msg, const chord_peer_t *from,
                    const chord_origin_t *origin, uint64_t now_ms)
{
    if (from) {
        msg->has_sender = true;
        msg->sender = *from;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0) {
        tap_diag ("cannot encode a %s", chord_msg_type_name (msg->type));
        return;
    }
    chord_node_receive (node, data, size, origin, CHORD_ROLE_PEER, now_ms);
    free (data);
}

/* A client request with a key (and a value for a put). */
static void s_feed_client (chord_node_t *node, chord_msg_type_t type, uint64_t request_id, const char *key,
                           const char *value, const chord_origin_t *origin, uint64_t now_ms)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, type, request_id);
    if (key) {
        msg->fields |= CHORD_F_KEY;
        msg->key = (const uint8_t *) key;
        msg->key_len = strlen (key);
    }
    if (value) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = (const uint8_t *) value;
        msg->value_len = strlen (value);
    }
    s_feed (node, msg, NULL, origin, now_ms);
    free (msg);
}

/* True when sent is a decoded reply of type to origin with request_id. */
static bool s_is_reply (const s_sent_t *sent, chord_msg_type_t type, uint64_t request_id,
                        const chord_origin_t *origin)
{
    if (!sent) {
        tap_diag ("nothing was sent");
        return false;
    }
    if (!sent->decoded) {
        tap_diag ("the node sent something it cannot decode itself");
        return false;
    }
    if (sent->msg.type != type || sent->msg.request_id != request_id) {
        tap_diag ("got %s #%llu, expected %s #%llu", chord_msg_type_name (sent->msg.type),
                  (unsigned long long) sent->msg.request_id, chord_msg_type_name (type),
                  (unsigned long long) request_id);
        return false;
    }
    if (origin && (sent->out.kind != CHORD_DEST_ORIGIN || !s_origin_equal (&sent->out.origin, origin))) {
        tap_diag ("reply not addressed to the request's origin");
        return false;
    }
    return true;
}

static bool s_value_is (const chord_msg_t *msg, const char *value)
{
    size_t len = strlen (value);
    return (msg->fields & CHORD_F_VALUE) && msg->value_len == len && (len == 0 || memcmp (msg->value, value, len) == 0);
}

/* True when the store holds a live (not deleted) record at key. */
static bool s_store_has (chord_store_t *store, const void *key, size_t key_len)
{
    chord_record_t rec;
    return chord_record_get (store, key, key_len, &rec) == 0 && !rec.tombstone;
}

/* Stores value at key as a record of version 1, as a peer's write would. */
static void s_store_record (chord_store_t *store, const char *key, const char *value)
{
    chord_record_t rec = {.version = {.hlc = 1, .writer = 1}, .value = (const uint8_t *) value,
                          .value_len = strlen (value)};
    uint8_t data[CHORD_RECORD_HEADER + 64];
    assert (chord_record_size (&rec) <= sizeof data);
    chord_record_encode (&rec, data);
    chord_store_put (store, (const uint8_t *) key, strlen (key), data, chord_record_size (&rec));
}

static chord_node_t *s_unit_node (const char *endpoint, chord_store_t *store, s_rng_t *rng, s_log_t *log)
{
    chord_node_config_t config = {
        .endpoint = endpoint,
        .successors = S_SUCCESSORS,
        .stabilize_interval_ms = S_STABILIZE_MS,
        .rpc_timeout_ms = S_RPC_TIMEOUT_MS,
    };
    chord_id_of_position (&config.id, endpoint, 0);
    chord_env_t env = {
        .store = store,
        .random_bytes = s_random_bytes,
        .random_arg = rng,
        .log = log ? s_log_line : NULL,
        .log_arg = log,
    };
    return chord_node_new (&config, &env);
}

/* ---------------------------------------------------------------------- */
/* Part 1: one node, by hand. */

static void s_test_config (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {1};
    chord_node_config_t config = {
        .endpoint = "tcp://a:1", .successors = 3, .stabilize_interval_ms = 100, .rpc_timeout_ms = 300,
    };
    chord_env_t env = {.store = store, .random_bytes = s_random_bytes, .random_arg = &rng};
    chord_node_config_t bad = config;
    bad.successors = 0;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses successors 0");
    bad.successors = CHORD_SUCCESSORS_MAX + 1;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses successors over the cap");
    bad = config;
    bad.stabilize_interval_ms = 0;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses a zero stabilize interval");
    bad = config;
    bad.endpoint = "";
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses an empty endpoint");
    chord_env_t bad_env = env;
    bad_env.random_bytes = NULL;
    tap_ok (chord_node_new (&config, &bad_env) == NULL, "new refuses a missing random source");

    chord_node_t *node = chord_node_new (&config, &env);
    tap_ok (node && chord_node_state (node) == CHORD_NODE_IDLE, "new node is idle");
    tap_ok (chord_node_next_deadline_ms (node) == UINT64_MAX, "an idle node has no deadline");
    tap_ok (chord_node_start (node, NULL, 0, 0) == 0 && chord_node_start (node, NULL, 0, 0) == -1,
            "start once, not twice");
    chord_node_destroy (&node);
    chord_node_destroy (&node);
    tap_ok (node == NULL, "destroy sets NULL and is idempotent");
    chord_store_destroy (&store);
}

/* A lone node answers every kind of request from its own store. */
static void s_test_alone (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x1234};
    s_log_t log = {0};
    chord_node_t *node = s_unit_node ("tcp://alone:1", store, &rng, &log);
    chord_peer_t me = s_peer_named ("tcp://alone:1");
    chord_origin_t client = s_origin ("client-1");
    uint64_t now = 1000;
    s_sent_t *sent;

    tap_ok (chord_node_start (node, NULL, 0, now) == 0, "start with no seeds");
    tap_ok (chord_node_state (node) == CHORD_NODE_ACTIVE, "alone: state active (%s)",
            chord_node_state_name (chord_node_state (node)));
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &me.id), "alone: successor is self");
    tap_ok (chord_node_predecessor (node) == NULL, "alone: no predecessor");
    tap_ok (chord_id_equal (&chord_node_self (node)->id, &me.id)
            && strcmp (chord_node_self (node)->endpoint, me.endpoint) == 0, "self is id and endpoint");
    tap_ok (log.by_level[CHORD_LOG_INFO] >= 1, "start logged a line (\"%s\")", log.last);
    uint64_t deadline = chord_node_next_deadline_ms (node);
    tap_ok (deadline >= now && deadline <= now + S_STABILIZE_MS + S_STABILIZE_MS / 10,
            "started node has a deadline within a stabilize interval (%llu)", (unsigned long long) (deadline - now));

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 11, "apple", "red", &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 11, &client) && sent->msg.status == CHORD_STATUS_OK,
            "put: CLIENT_REPLY OK to the origin, request id echoed");
    s_sent_free (&sent);
    tap_ok (s_pop (node) == NULL, "put: exactly one message queued");
    tap_ok (s_store_has (store, "apple", 5), "put: key is in the store");

    s_feed_client (node, CHORD_MSG_CLIENT_GET, 12, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 12, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, "red"), "get: OK with the value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 13, "apple", "green", &client, now);
    s_discard_outbox (node);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 14, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 14, &client) && s_value_is (&sent->msg, "green"),
            "get after overwrite: the new value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_GET, 15, "pear", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 15, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND
                && !(sent->msg.fields & CHORD_F_VALUE), "get of a missing key: NOT_FOUND, no value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 16, "empty", "", &client, now);
    s_discard_outbox (node);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 17, "empty", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 17, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, ""), "an empty value reads back as present and empty");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_DEL, 18, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 18, &client) && sent->msg.status == CHORD_STATUS_OK,
            "del: OK");
    s_sent_free (&sent);
    s_feed_client (node, CHORD_MSG_CLIENT_DEL, 19, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 19, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND,
            "del again: NOT_FOUND");
    s_sent_free (&sent);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 20, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 20, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND,
            "get after del: NOT_FOUND");
    s_sent_free (&sent);

    chord_id_t key_id;
    chord_id_hash (&key_id, "apple", 5);
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 21, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 21, &client) && sent->msg.status == CHORD_STATUS_OK
                && (sent->msg.fields & CHORD_F_PEER) && chord_id_equal (&sent->msg.peer.id, &me.id)
                && strcmp (sent->msg.peer.endpoint, me.endpoint) == 0 && sent->msg.hops == 0
                && chord_id_equal (&sent->msg.id, &key_id), "lookup: owner self, hops 0, the key's id");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 22, NULL, NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_INFO_REPLY, 22, &client) && chord_id_equal (&sent->msg.peer.id, &me.id)
                && sent->msg.state == CHORD_NODE_ACTIVE && !sent->msg.has_pred && sent->msg.peer_count == 1
                && chord_id_equal (&sent->msg.peers[0].id, &me.id) && sent->msg.finger_count == 0
                && sent->msg.count == chord_store_count (store) && sent->msg.count == 2,
            "info: self, active, no pred, succ [self], no fingers, 2 records (a key and a tombstone)");
    s_sent_free (&sent);

    /* Peer requests, from a fake peer. */
    chord_peer_t fake = s_peer_named ("tcp://fake:1");
    chord_origin_t fake_origin = s_origin ("conn-fake");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 31);
    msg->fields = CHORD_F_ID;
    msg->id = key_id;
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 31, &fake_origin) && sent->msg.done
                && chord_id_equal (&sent->msg.peer.id, &me.id) && sent->msg.has_sender
                && chord_id_equal (&sent->msg.sender.id, &me.id), "find_succ: done, self, sender stamped");
    s_sent_free (&sent);

    chord_msg_init (msg, CHORD_MSG_GET_STATE, 32);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STATE, 32, &fake_origin) && !sent->msg.has_pred
                && sent->msg.peer_count == 1 && chord_id_equal (&sent->msg.peers[0].id, &me.id),
            "get_state: no pred, succ [self]");
    s_sent_free (&sent);

    chord_msg_init (msg, CHORD_MSG_PING, 33);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_PONG, 33, &fake_origin), "ping: pong");
    s_sent_free (&sent);

    /* Requests that need an origin are dropped without one. */
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 34, "apple", NULL, NULL, now);
    chord_msg_init (msg, CHORD_MSG_PING, 35);
    s_feed (node, msg, &fake, NULL, now);
    tap_ok (s_pop (node) == NULL && chord_node_stats (node)->messages_dropped == dropped + 2,
            "client op and ping without an origin are dropped");
    /* A reply nobody asked for is dropped. */
    chord_msg_init (msg, CHORD_MSG_STATE, 999);
    msg->fields = CHORD_F_PRED | CHORD_F_SUCC;
    msg->has_pred = false;
    msg->peer_count = 1;
    msg->peers[0] = fake;
    s_feed (node, msg, &fake, NULL, now);
    chord_msg_init (msg, CHORD_MSG_CLIENT_REPLY, 998);
    msg->fields = CHORD_F_STATUS;
    s_feed (node, msg, &fake, &fake_origin, now);
    tap_ok (s_pop (node) == NULL && chord_node_stats (node)->messages_dropped == dropped + 4
                && chord_id_equal (&chord_node_successor (node)->id, &me.id),
            "an unsolicited STATE and a CLIENT_REPLY are dropped and change nothing");

    /* Garbage and truncations. */
    dropped = chord_node_stats (node)->messages_dropped;
    uint64_t received = chord_node_stats (node)->messages_received;
    uint8_t junk[64];
    s_rng_t junk_rng = {77};
    size_t garbage_fed = 0;
    for (int round = 0; round < 50; round++) {
        s_random_bytes (&junk_rng, junk, sizeof junk);
        chord_node_receive (node, junk, 1 + (size_t) round % sizeof junk, &fake_origin, CHORD_ROLE_PEER, now);
        garbage_fed++;
    }
    chord_node_receive (node, junk, 0, &fake_origin, CHORD_ROLE_PEER, now);
    garbage_fed++;
    chord_msg_init (msg, CHORD_MSG_CLIENT_PUT, 36);
    msg->fields = CHORD_F_KEY | CHORD_F_VALUE;
    msg->key = (const uint8_t *) "banana";
    msg->key_len = 6;
    msg->value = (const uint8_t *) "yellow";
    msg->value_len = 6;
    uint8_t *data = NULL;
    size_t size = 0;
    chord_msg_encode (msg, &data, &size);
    for (size_t cut = 0; cut < size; cut++) {
        chord_node_receive (node, data, cut, &client, CHORD_ROLE_PEER, now);
        garbage_fed++;
    }
    uint8_t *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer[size] = 0xc0;
    chord_node_receive (node, longer, size + 1, &client, CHORD_ROLE_PEER, now);
    garbage_fed++;
    free (longer);
    free (data);
    uint64_t junk_decoded = chord_node_stats (node)->messages_received - received;
    size_t queued = s_discard_outbox (node);
    tap_ok (chord_node_stats (node)->messages_dropped >= dropped + garbage_fed - junk_decoded,
            "garbage, truncated and over-long messages are dropped (%llu of %zu, %llu decoded as something)",
            (unsigned long long) (chord_node_stats (node)->messages_dropped - dropped), garbage_fed,
            (unsigned long long) junk_decoded);
    tap_ok (junk_decoded == 0 && queued == 0, "none of it decoded or drew an answer");
    tap_ok (!s_store_has (store, "banana", 6), "no truncated put reached the store");
    chord_msg_init (msg, CHORD_MSG_PING, 37);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_PONG, 37, &fake_origin), "still answers after the garbage");
    s_sent_free (&sent);

    /* A lone node with no seeds leaves at once. */
    chord_origin_t leaver = s_origin ("client-leave");
    chord_msg_init (msg, CHORD_MSG_CLIENT_LEAVE, 38);
    s_feed (node, msg, NULL, &leaver, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 38, &leaver) && sent->msg.status == CHORD_STATUS_OK
                && chord_node_state (node) == CHORD_NODE_LEFT, "client leave of a lone node: OK and LEFT");
    s_sent_free (&sent);
    tap_ok (chord_node_next_deadline_ms (node) == UINT64_MAX, "a node that left has no deadline");

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

typedef struct {
    const chord_id_t *from;         /* the arc (from, to] */
    const chord_id_t *to;
    size_t count;                   /* keys in the arc */
} s_arc_count_t;

/*  A node joins through a lone node: the lone node answers JOIN_REPLY OK
    with itself as the joiner's predecessor, sends the joiner's arc in
    HANDOFF batches back on the request's connection, deletes the arc when
    the joiner acknowledges, then refuses stores for the arc. Afterwards an
    unanswered GET_STATE to the joiner drops it as successor.  */
static void s_test_join (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0xabcdef};
    chord_node_t *node = s_unit_node ("tcp://host:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://host:1");
    uint64_t now = 5000;
    chord_node_start (node, NULL, 0, now);

    /* Enough keys that the arc needs more than one batch. */
    const size_t key_count = 2 * CHORD_ITEMS_MAX + 500;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        snprintf (value, sizeof value, "v%zu", i);
        s_store_record (store, key, value);
    }
    /* The joiner sits half a ring or more after us, so more than half the keys are its. */
    chord_peer_t joiner = s_peer_after ("tcp://joiner", &me.id, CHORD_ID_BITS - 1, CHORD_ID_BITS - 2);
    size_t arc_count = 0;
    uint8_t *in_arc = calloc (key_count, 1);
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        if (chord_id_in_half_open (&id, &me.id, &joiner.id)) {
            in_arc[i] = 1;
            arc_count++;
        }
    }
    tap_diag ("%zu keys, %zu in the joiner's arc", key_count, arc_count);

    chord_origin_t conn = s_origin ("conn-joiner");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_JOIN, 77);
    s_feed (node, msg, &joiner, &conn, now);

    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_JOIN_REPLY, 77, &conn) && sent->msg.status == CHORD_STATUS_OK,
            "join: JOIN_REPLY OK to the joiner's connection");
    tap_ok (sent && sent->decoded && (sent->msg.fields & CHORD_F_PRED) && sent->msg.has_pred
                && chord_id_equal (&sent->msg.pred.id, &me.id) && (sent->msg.fields & CHORD_F_SUCC)
                && sent->msg.peer_count >= 1 && chord_id_equal (&sent->msg.peers[0].id, &me.id),
            "join reply: pred is us, succ list starts with us");
    s_sent_free (&sent);

    /* The HANDOFF batches. */
    size_t batches = 0, finals = 0, items = 0, wrong = 0, dup = 0, misaddressed = 0;
    uint64_t final_count = 0;
    bool final_last = true;
    uint8_t *seen = calloc (key_count, 1);
    while ((sent = s_pop (node))) {
        if (!sent->decoded || sent->msg.type != CHORD_MSG_HANDOFF) {
            tap_diag ("unexpected %s after the join reply",
                      sent->decoded ? chord_msg_type_name (sent->msg.type) : "undecodable message");
            s_sent_free (&sent);
            continue;
        }
        batches++;
        if (finals)
            final_last = false;
        if (sent->out.kind != CHORD_DEST_ORIGIN || !s_origin_equal (&sent->out.origin, &conn)
            || sent->msg.transfer_id != 77)
            misaddressed++;
        if (sent->msg.final) {
            finals++;
            final_count = (sent->msg.fields & CHORD_F_COUNT) ? sent->msg.count : UINT64_MAX;
        }
        for (size_t i = 0; i < sent->msg.item_count; i++) {
            items++;
            const chord_item_t *item = &sent->msg.items[i];
            size_t index;
            char text[S_TEXT_MAX] = "";
            if (item->key_len < sizeof text)
                memcpy (text, item->key, item->key_len);
            if (sscanf (text, "k%zu", &index) != 1 || index >= key_count || !in_arc[index]) {
                wrong++;
                continue;
            }
            snprintf (value, sizeof value, "v%zu", index);
            chord_record_t rec;
            if (chord_record_decode (&rec, item->value, item->value_len) != 0 || rec.tombstone ||
                rec.value_len != strlen (value) || memcmp (rec.value, value, rec.value_len) != 0)
                wrong++;
            if (seen[index]++)
                dup++;
        }
        s_sent_free (&sent);
    }
    tap_ok (batches >= 2 && finals == 1 && final_last, "handoff: %zu batches, exactly one final, last", batches);
    tap_ok (misaddressed == 0, "handoff: every batch goes back on the joiner's connection with xfer = join id");
    tap_ok (items == arc_count && wrong == 0 && dup == 0,
            "handoff carries exactly the keys in (self, joiner] with their values (%zu items, %zu wrong, %zu dup)",
            items, wrong, dup);
    tap_ok (final_count == arc_count, "final batch count is the total (%llu)", (unsigned long long) final_count);
    tap_ok (chord_store_count (store) == key_count, "keys stay until the ack");
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &joiner.id), "the joiner is now our successor");
    const chord_peer_t *pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &joiner.id), "and our predecessor");

    /* A wrong ack is dropped; the right one completes the transfer. */
    chord_peer_t stranger = s_peer_named ("tcp://stranger:1");
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    chord_msg_init (msg, CHORD_MSG_HANDOFF_ACK, 77);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    msg->transfer_id = 77;
    msg->count = arc_count;
    msg->status = CHORD_STATUS_OK;
    s_feed (node, msg, &stranger, &conn, now + 5);
    tap_ok (chord_node_stats (node)->messages_dropped == dropped + 1 && chord_store_count (store) == key_count,
            "an ack from another peer is dropped");
    /* The joiner sends its ack from its own connection to us. */
    chord_origin_t joiner_conn = s_origin ("conn-joiner-out");
    s_feed (node, msg, &joiner, &joiner_conn, now + 5);
    tap_ok (chord_store_count (store) == key_count - arc_count, "after the ack the arc is deleted (%zu left)",
            chord_store_count (store));
    size_t misplaced = 0;
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        if (s_store_has (store, key, strlen (key)) == (bool) in_arc[i])
            misplaced++;
    }
    tap_ok (misplaced == 0, "exactly the keys outside the arc remain");
    tap_ok (chord_node_stats (node)->keys_handed_off == arc_count, "stats: keys_handed_off %llu",
            (unsigned long long) chord_node_stats (node)->keys_handed_off);
    s_discard_outbox (node);

    /* STORE for the joiner's key: wrong owner; for ours: served. */
    size_t theirs = 0, ours = 0;
    while (!in_arc[theirs])
        theirs++;
    while (in_arc[ours])
        ours++;
    char their_key[S_TEXT_MAX], our_key[S_TEXT_MAX];
    snprintf (their_key, sizeof their_key, "k%zu", theirs);
    snprintf (our_key, sizeof our_key, "k%zu", ours);
    chord_msg_init (msg, CHORD_MSG_STORE, 80);
    msg->fields = CHORD_F_OP | CHORD_F_KEY;
    msg->op = CHORD_STORE_OP_GET;
    msg->key = (const uint8_t *) their_key;
    msg->key_len = strlen (their_key);
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 80, &conn) && sent->msg.status == CHORD_STATUS_WRONG_OWNER,
            "store get of a key in the joiner's arc: WRONG_OWNER");
    s_sent_free (&sent);
    msg->request_id = 81;
    msg->op = CHORD_STORE_OP_PUT;
    msg->fields |= CHORD_F_VALUE;
    msg->value = (const uint8_t *) "x";
    msg->value_len = 1;
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 81, &conn) && sent->msg.status == CHORD_STATUS_WRONG_OWNER
                && !s_store_has (store, their_key, strlen (their_key)),
            "store put of a key in the joiner's arc: WRONG_OWNER, not stored");
    s_sent_free (&sent);
    msg->request_id = 82;
    msg->op = CHORD_STORE_OP_GET;
    msg->fields &= ~(uint32_t) CHORD_F_VALUE;
    msg->key = (const uint8_t *) our_key;
    msg->key_len = strlen (our_key);
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    snprintf (value, sizeof value, "v%zu", ours);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 82, &conn) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, value), "store get of one of our keys: OK with its value");
    s_sent_free (&sent);

    /* A client lookup for the joiner's key is answered from our tables:
       the joiner is our successor and owns (us, joiner]. It is named once
       it has answered. */
    chord_origin_t client = s_origin ("client-2");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 83, their_key, NULL, &client, now + 7);
    sent = s_pop (node);
    s_sent_t *extra = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_FIND_SUCC && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, joiner.endpoint) == 0 && !extra,
            "lookup of a key in the joiner's arc asks the joiner, and nothing else");
    uint64_t confirm_rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    s_sent_free (&extra);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, confirm_rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = joiner;
    s_feed (node, msg, &joiner, NULL, now + 7);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 83, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &joiner.id),
            "once it answers, the lookup names the joiner");
    s_sent_free (&sent);
    /* A client get for it goes to the joiner as a STORE. */
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 84, their_key, NULL, &client, now + 7);
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_STORE && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, joiner.endpoint) == 0 && sent->msg.op == CHORD_STORE_OP_GET
                && sent->msg.has_target && chord_id_equal (&sent->msg.target, &joiner.id),
            "client get of the joiner's key: STORE get sent to the joiner");
    uint64_t store_rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_STORE_REPLY, store_rid);
    msg->fields = CHORD_F_STATUS | CHORD_F_VALUE;
    msg->status = CHORD_STATUS_OK;
    msg->value = (const uint8_t *) "from-joiner";
    msg->value_len = 11;
    s_feed (node, msg, &joiner, NULL, now + 8);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 84, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, "from-joiner"), "the joiner's answer is relayed to the client");
    s_sent_free (&sent);

    /* NOTIFY from the joiner keeps it as predecessor. */
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 85);
    s_feed (node, msg, &joiner, &conn, now + 9);
    pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &joiner.id) && s_pop (node) == NULL,
            "notify from the predecessor: no change, no answer");

    /* Time: the joiner never answers. Stabilize sends GET_STATE to it; once
       that is rpc_timeout old, the successor is dropped. */
    uint64_t t = now + 9;
    uint64_t get_state_at = 0;
    uint64_t dropped_at = 0;
    bool deadline_ok = true;
    for (int step = 0; step < 200 && !dropped_at; step++) {
        uint64_t next = chord_node_next_deadline_ms (node);
        if (next == UINT64_MAX || next > t + 10 * S_STABILIZE_MS) {
            deadline_ok = false;
            break;
        }
        if (next > t)
            t = next;
        chord_node_tick (node, t);
        while ((sent = s_pop (node))) {
            if (sent->decoded && sent->msg.type == CHORD_MSG_GET_STATE && !get_state_at) {
                get_state_at = t;
                if (strcmp (sent->out.endpoint, joiner.endpoint) != 0 || sent->out.kind != CHORD_DEST_PEER)
                    deadline_ok = false;
                if (chord_node_next_deadline_ms (node) > t + S_RPC_TIMEOUT_MS)
                    deadline_ok = false;
            }
            s_sent_free (&sent);
        }
        if (!chord_id_equal (&chord_node_successor (node)->id, &joiner.id))
            dropped_at = t;
    }
    tap_ok (get_state_at > 0 && get_state_at <= now + 9 + S_STABILIZE_MS + S_STABILIZE_MS / 10,
            "stabilize sent GET_STATE to the successor within an interval (+%llu ms)",
            (unsigned long long) (get_state_at - now - 9));
    tap_ok (deadline_ok, "next_deadline never lets the rpc timeout pass unnoticed");
    tap_ok (dropped_at >= get_state_at + S_RPC_TIMEOUT_MS && dropped_at <= get_state_at + S_RPC_TIMEOUT_MS + 1,
            "the silent successor is dropped at rpc_timeout (%llu ms after the GET_STATE)",
            (unsigned long long) (dropped_at - get_state_at));
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &me.id), "alone again: successor is self");
    tap_ok (chord_node_stats (node)->rpc_timeouts >= 1, "stats: rpc_timeouts %llu",
            (unsigned long long) chord_node_stats (node)->rpc_timeouts);

    free (seen);
    free (in_arc);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  Two peers JOIN the same node at once, and (as happens: every joiner
    numbers its requests from 1) their JOINs carry the same request id.
    Each must get only its own arc, and each ack must be matched to its
    own transfer, so that the node ends holding only what it keeps.  */
static void s_test_join_twice (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x77};
    chord_node_t *node = s_unit_node ("tcp://host2:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://host2:1");
    uint64_t now = 100;
    chord_node_start (node, NULL, 0, now);
    const size_t key_count = 400;
    char key[S_TEXT_MAX];
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "j%zu", i);
        s_store_record (store, key, "v");
    }
    /* first a half to three quarters of a ring after us, second an eighth
       to three sixteenths after first (so before us again) */
    chord_peer_t first = s_peer_after ("tcp://first", &me.id, CHORD_ID_BITS - 1, CHORD_ID_BITS - 2);
    chord_peer_t second = s_peer_after ("tcp://second", &first.id, CHORD_ID_BITS - 3, CHORD_ID_BITS - 4);
    size_t arc_first = 0, arc_second = 0, kept = 0;
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "j%zu", i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        if (chord_id_in_half_open (&id, &me.id, &first.id))
            arc_first++;
        else if (chord_id_in_half_open (&id, &first.id, &second.id))
            arc_second++;
        else
            kept++;
    }
    tap_diag ("arcs: first %zu, second %zu, kept %zu", arc_first, arc_second, kept);

    chord_origin_t conn_first = s_origin ("conn-first");
    chord_origin_t conn_second = s_origin ("conn-second");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_JOIN, 2);
    s_feed (node, msg, &first, &conn_first, now);
    chord_msg_init (msg, CHORD_MSG_JOIN, 2);
    s_feed (node, msg, &second, &conn_second, now);

    uint64_t got_first = 0, got_second = 0, final_first = 0, final_second = 0;
    size_t foreign_to_second = 0;
    bool second_ok = false;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        bool to_second = sent->out.kind == CHORD_DEST_ORIGIN && s_origin_equal (&sent->out.origin, &conn_second);
        if (sent->decoded && sent->msg.type == CHORD_MSG_JOIN_REPLY && to_second)
            second_ok = sent->msg.status == CHORD_STATUS_OK && sent->msg.has_pred
                        && chord_id_equal (&sent->msg.pred.id, &first.id);
        if (sent->decoded && sent->msg.type == CHORD_MSG_HANDOFF) {
            for (size_t i = 0; i < sent->msg.item_count; i++) {
                chord_id_t id;
                chord_id_hash (&id, sent->msg.items[i].key, sent->msg.items[i].key_len);
                if (to_second && !chord_id_in_half_open (&id, &first.id, &second.id))
                    foreign_to_second++;
            }
            *(to_second ? &got_second : &got_first) += sent->msg.item_count;
            if (sent->msg.final)
                *(to_second ? &final_second : &final_first) = sent->msg.count;
        }
        s_sent_free (&sent);
    }
    tap_ok (second_ok, "second JOIN: OK, with the first joiner as its predecessor");
    tap_ok (got_first == arc_first, "the first joiner gets its arc (%llu of %zu)", (unsigned long long) got_first,
            arc_first);
    /* The second joiner sits inside the first one's arc: it must get only
       (first, second], not the first joiner's keys still awaiting their ack. */
    tap_ok (got_second == arc_second && foreign_to_second == 0,
            "the second joiner gets only its own arc (%llu sent, %zu of them the first joiner's, arc %zu)",
            (unsigned long long) got_second, foreign_to_second, arc_second);

    /* The acks, second first. Each comes from its joiner's own connection. */
    chord_origin_t from_first = s_origin ("conn-first-out");
    chord_origin_t from_second = s_origin ("conn-second-out");
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    chord_msg_init (msg, CHORD_MSG_HANDOFF_ACK, 2);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    msg->transfer_id = 2;
    msg->status = CHORD_STATUS_OK;
    msg->count = final_second;
    s_feed (node, msg, &second, &from_second, now + 2);
    /* Both transfers carry id 2: only the pair (id, receiver) tells them apart. */
    tap_ok (chord_node_stats (node)->messages_dropped == dropped,
            "the second joiner's ack is accepted, though both transfers carry id 2");
    msg->count = final_first;
    dropped = chord_node_stats (node)->messages_dropped;
    s_feed (node, msg, &first, &from_first, now + 2);
    tap_ok (chord_node_stats (node)->messages_dropped == dropped, "the first joiner's ack is accepted");
    tap_ok (chord_store_count (store) == kept,
            "after both acks the node holds only the keys it kept (%zu, expected %zu)",
            chord_store_count (store), kept);
    s_discard_outbox (node);

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  A joining node: sends FIND_SUCC to its seed, then JOIN to the owner
    named, takes the HANDOFF, acks it by PEER, and becomes active.  */
static void s_test_joiner_side (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {99};
    chord_node_t *node = s_unit_node ("tcp://new:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://new:1");
    chord_peer_t seed = s_peer_named ("tcp://seed:1");
    uint64_t now = 100;
    const char *seeds[] = {"tcp://new:1", "tcp://seed:1"};
    chord_node_start (node, seeds, 2, now);
    tap_ok (chord_node_state (node) == CHORD_NODE_JOINING, "started with seeds: joining");

    s_sent_t *sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_FIND_SUCC && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, seed.endpoint) == 0 && chord_id_equal (&sent->msg.id, &me.id),
            "asks the seed (not itself) for the successor of its own id");
    uint64_t rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);

    chord_origin_t client = s_origin ("client-3");
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 5, "x", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 5, &client) && sent->msg.status == CHORD_STATUS_NOT_READY,
            "a joining node answers clients NOT_READY");
    s_sent_free (&sent);

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = seed;
    s_feed (node, msg, &seed, NULL, now + 1);
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_JOIN && strcmp (sent->out.endpoint, seed.endpoint) == 0,
            "then JOINs the owner");
    rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);

    chord_peer_t other = s_peer_named ("tcp://other:1");
    chord_msg_init (msg, CHORD_MSG_JOIN_REPLY, rid);
    msg->fields = CHORD_F_STATUS | CHORD_F_PRED | CHORD_F_SUCC;
    msg->status = CHORD_STATUS_OK;
    msg->has_pred = true;
    msg->pred = other;
    msg->peer_count = 2;
    msg->peers[0] = other;
    msg->peers[1] = seed;
    s_feed (node, msg, &seed, NULL, now + 2);
    tap_ok (chord_node_state (node) == CHORD_NODE_JOINING, "accepted but still joining until the arc arrives");

    uint8_t record_1[CHORD_RECORD_HEADER + 1], record_2[CHORD_RECORD_HEADER + 1];
    chord_record_t rec = {.version = {.hlc = 7, .writer = 3}, .value = (const uint8_t *) "1", .value_len = 1};
    chord_record_encode (&rec, record_1);
    rec.value = (const uint8_t *) "2";
    chord_record_encode (&rec, record_2);
    chord_item_t items[2] = {
        {(const uint8_t *) "a", 1, record_1, sizeof record_1},
        {(const uint8_t *) "b", 1, record_2, sizeof record_2},
    };
    chord_msg_init (msg, CHORD_MSG_HANDOFF, rid);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL | CHORD_F_COUNT;
    msg->transfer_id = rid;
    msg->items = items;
    msg->item_count = 2;
    msg->final = true;
    msg->count = 2;
    s_feed (node, msg, &seed, NULL, now + 3);
    msg->items = NULL;
    tap_ok (chord_node_state (node) == CHORD_NODE_ACTIVE, "active once the arc arrived");
    tap_ok (chord_store_count (store) == 2 && s_store_has (store, "a", 1) && s_store_has (store, "b", 1),
            "the arc is in our store");
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &seed.id), "successor: the peer that took us in");
    const chord_peer_t *pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &other.id), "predecessor: the one it named");
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_HANDOFF_ACK && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, seed.endpoint) == 0 && sent->msg.transfer_id == rid
                && sent->msg.count == 2 && sent->msg.status == CHORD_STATUS_OK,
            "HANDOFF_ACK (xfer, cnt 2, OK) goes to the sender's endpoint");
    s_sent_free (&sent);
    tap_ok (chord_node_stats (node)->keys_taken_over == 2, "stats: keys_taken_over 2");
    s_discard_outbox (node);

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

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

/*  Pops messages until a FIND_SUCC to endpoint (returned), dropping the
    rest (maintenance); NULL when none is queued.  */
static s_sent_t *s_pop_find_to (chord_node_t *node, const char *endpoint)
{
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        if (sent->decoded && sent->msg.type == CHORD_MSG_FIND_SUCC && sent->out.kind == CHORD_DEST_PEER
            && strcmp (sent->out.endpoint, endpoint) == 0)
            return sent;
        s_sent_free (&sent);
    }
    return NULL;
}

/*  A dead successor: the key lies in (a, b], and a has failed. A
    FIND_SUCC that excludes a is answered "done, b" (not "ask b", which
    sent lookups on past the key and round the ring); our own client
    lookup asks a, times out, then asks b whether it is alive and names it.  */
static void s_test_dead_successor (void)
{
    chord_id_t key_id;
    chord_id_hash (&key_id, "apple", 5);
    chord_peer_t me = s_peer_after ("tcp://me", &key_id, 159, 140); /* half a ring before the key */
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 140); /* before the key */
    chord_peer_t b = s_peer_after ("tcp://b", &key_id, 150, 140);
    chord_peer_t c = s_peer_after ("tcp://c", &key_id, 152, 140);
    chord_peer_t pred = s_peer_after ("tcp://p", &key_id, 158, 140);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x5eed};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t now = 5000;
    chord_peer_t succs[] = {a, b, c};
    tap_ok (chord_node_start_member (node, &pred, succs, 3, NULL, NULL, now) == 0, "dead successor: member started");
    s_discard_outbox (node);

    chord_peer_t fake = s_peer_named ("tcp://fake:1");
    chord_origin_t fake_origin = s_origin ("conn-fake");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 41);
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->id = key_id;
    msg->excluded_count = 1;
    msg->excluded[0] = a.id;
    s_feed (node, msg, &fake, &fake_origin, now);
    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 41, &fake_origin) && sent->msg.done
                && chord_id_equal (&sent->msg.peer.id, &b.id),
            "find_succ past an excluded successor: done, the first live successor after the key");
    s_sent_free (&sent);

    chord_origin_t client = s_origin ("client-dead");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 42, "apple", NULL, &client, now);
    sent = s_pop_find_to (node, a.endpoint);
    tap_ok (sent != NULL, "client lookup: asks our successor, the closest peer before the key");
    s_sent_free (&sent);
    uint64_t t = now;
    while (t < now + 3 * S_RPC_TIMEOUT_MS && !sent) {
        t = chord_node_next_deadline_ms (node);
        chord_node_tick (node, t);
        sent = s_pop_find_to (node, b.endpoint);
    }
    tap_ok (sent != NULL && sent->msg.excluded_count >= 1 && chord_id_equal (&sent->msg.excluded[0], &a.id),
            "it timed out: the next successor is asked, the silent one excluded");
    uint64_t rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = b;
    s_feed (node, msg, &b, NULL, t);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 42, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &b.id) && sent->msg.hops == 0,
            "once it answers, the lookup names it (0 hops: asking an owner is no hop)");
    s_sent_free (&sent);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  A newcomer took the key's arc: the key lies in (me, b], b is our
    successor, and n joined between the key and b since we last
    stabilized. b, asked whether it owns the key, disclaims it and names
    its predecessor n; our client lookup asks n, which claims it. b names
    its predecessor only in a reply that is not final, and never one the
    asker avoids.  */
static void s_test_newcomer_owner (void)
{
    chord_id_t key_id;
    chord_id_hash (&key_id, "pear", 4);
    chord_peer_t me = s_peer_after ("tcp://me", &key_id, 159, 157); /* half a ring before the key */
    chord_peer_t b = s_peer_after ("tcp://b", &key_id, 150, 149);
    chord_peer_t c = s_peer_after ("tcp://c", &key_id, 152, 151);
    chord_peer_t n = s_peer_after ("tcp://n", &key_id, 148, 147);  /* between the key and b */
    chord_peer_t pred = s_peer_after ("tcp://p", &key_id, 157, 156);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x5eed};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t now = 5000;
    chord_peer_t succs[] = {b, c};
    tap_ok (chord_node_start_member (node, &pred, succs, 2, NULL, NULL, now) == 0, "newcomer: member started");
    s_discard_outbox (node);

    /* Asked about an id we neither own nor precede: not final, and our predecessor named. */
    chord_peer_t asker = s_peer_named ("tcp://asker:1");
    chord_origin_t asker_origin = s_origin ("conn-asker");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 51);
    msg->fields = CHORD_F_ID;
    msg->id = pred.id;   /* past our successors, before our arc */
    s_feed (node, msg, &asker, &asker_origin, now);
    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 51, &asker_origin) && !sent->msg.done
                && sent->msg.has_pred && chord_id_equal (&sent->msg.pred.id, &pred.id),
            "find_succ not answered here: the reply names our predecessor");
    s_sent_free (&sent);
    msg->request_id = 52;
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->excluded_count = 1;
    msg->excluded[0] = pred.id;
    s_feed (node, msg, &asker, &asker_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 52, &asker_origin) && !sent->msg.done && !sent->msg.has_pred,
            "... but not one the asker avoids");
    s_sent_free (&sent);

    /* Our lookup: b named (our successor), b disclaims and names n. */
    chord_origin_t client = s_origin ("client-newcomer");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 53, "pear", NULL, &client, now);
    sent = s_pop_find_to (node, b.endpoint);
    tap_ok (sent != NULL, "client lookup: asks our successor whether it owns the key");
    uint64_t rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER | CHORD_F_PRED;
    msg->done = false;
    msg->peer = c;
    msg->has_pred = true;
    msg->pred = n;
    s_feed (node, msg, &b, NULL, now + 1);
    sent = s_pop_find_to (node, n.endpoint);
    tap_ok (sent != NULL, "it disclaims the key and names a predecessor past the key: that one is asked");
    rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = n;
    s_feed (node, msg, &n, NULL, now + 2);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 53, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &n.id),
            "the newcomer claims it: the lookup names the newcomer");
    s_sent_free (&sent);

    /* A predecessor before the key is no news of the key's owner: b stands. */
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 54, "pear", NULL, &client, now + 3);
    sent = s_pop_find_to (node, b.endpoint);
    rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER | CHORD_F_PRED;
    msg->done = false;
    msg->peer = c;
    msg->has_pred = true;
    msg->pred = me;
    s_feed (node, msg, &b, NULL, now + 4);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 54, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &b.id),
            "a disclaiming owner with no newcomer before the key is named, as in plain Chord");
    s_sent_free (&sent);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/* Pops the node's messages until one of type to endpoint (freeing the others), or NULL. */
static s_sent_t *s_pop_type_to (chord_node_t *node, chord_msg_type_t type, const char *endpoint)
{
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        if (sent->decoded && sent->msg.type == type && sent->out.kind == CHORD_DEST_PEER
            && strcmp (sent->out.endpoint, endpoint) == 0)
            return sent;
        s_sent_free (&sent);
    }
    return NULL;
}

/* Ticks the node until it sends a GET_STATE to endpoint (at most 3 intervals). */
static s_sent_t *s_next_get_state (chord_node_t *node, const char *endpoint, uint64_t *t)
{
    s_sent_t *sent = NULL;
    uint64_t until = *t + 3 * S_STABILIZE_MS;
    while (!sent && *t < until) {
        *t = chord_node_next_deadline_ms (node);
        chord_node_tick (node, *t);
        sent = s_pop_type_to (node, CHORD_MSG_GET_STATE, endpoint);
    }
    return sent;
}

/* Delivers me's GET_STATE to a; returns a's STATE (NULL if none). */
static s_sent_t *s_ask_state (chord_node_t *me_node, chord_node_t *a_node, const chord_peer_t *me,
                              const chord_peer_t *a, uint64_t *t, uint64_t *asked_digest)
{
    s_sent_t *ask = s_next_get_state (me_node, a->endpoint, t);
    if (!ask)
        return NULL;
    *asked_digest = (ask->msg.fields & CHORD_F_COUNT) ? ask->msg.count : 0;
    chord_origin_t origin = s_origin ("conn-me");
    s_feed (a_node, &ask->msg, me, &origin, *t);
    uint64_t rid = ask->msg.request_id;
    s_sent_free (&ask);
    s_sent_t *reply = s_pop (a_node);
    if (!s_is_reply (reply, CHORD_MSG_STATE, rid, &origin))
        s_sent_free (&reply);
    return reply;
}

/* True when the node queued a NOTIFY; empties its outbox. */
static bool s_sent_notify (chord_node_t *node)
{
    bool notified = false;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        notified = notified || (sent->decoded && sent->msg.type == CHORD_MSG_NOTIFY);
        s_sent_free (&sent);
    }
    return notified;
}

/* The node's successor list, through CLIENT_INFO: how many, and whether it begins first, second. */
static bool s_succ_list_is (chord_node_t *node, size_t count, const chord_peer_t *first, const chord_peer_t *second,
                            uint64_t now)
{
    chord_origin_t client = s_origin ("client-info");
    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 77, NULL, NULL, &client, now);
    s_sent_t *sent = s_pop (node);
    bool ok = s_is_reply (sent, CHORD_MSG_INFO_REPLY, 77, &client) && sent->msg.peer_count == count &&
              chord_id_equal (&sent->msg.peers[0].id, &first->id) &&
              (count < 2 || chord_id_equal (&sent->msg.peers[1].id, &second->id));
    s_sent_free (&sent);
    return ok;
}

/*  Stabilize with digests: our successor a answers a GET_STATE that
    carries the digest of its current state with that digest alone, and
    we keep the list it gave us last; once its state changes (a newcomer
    n notified it) it sends it all again. A successor that has us as its
    predecessor gets no NOTIFY; a digest we did not ask with is dropped
    and the next GET_STATE asks for the whole state.  */
static void s_test_state_digest (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 149);
    chord_peer_t b = s_peer_after ("tcp://b", &me.id, 152, 151);
    chord_peer_t n = s_peer_after ("tcp://n", &me.id, 148, 147);    /* between me and a */
    chord_peer_t p = s_peer_after ("tcp://p", &me.id, 159, 158);
    chord_store_t *me_store = chord_store_mem_new (), *a_store = chord_store_mem_new ();
    s_rng_t rng = {0xd16e57};
    chord_node_t *me_node = s_unit_node (me.endpoint, me_store, &rng, NULL);
    chord_node_t *a_node = s_unit_node (a.endpoint, a_store, &rng, NULL);
    uint64_t t = 5000, digest = 0;
    tap_ok (chord_node_start_member (me_node, &p, &a, 1, NULL, NULL, t) == 0 &&
                chord_node_start_member (a_node, &me, &b, 1, NULL, NULL, t) == 0,
            "digest: two members, a after me");
    s_discard_outbox (me_node);
    s_discard_outbox (a_node);

    s_sent_t *state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest == 0 && state && (state->msg.fields & CHORD_F_SUCC) && state->msg.has_pred &&
                chord_id_equal (&state->msg.pred.id, &me.id),
            "the first GET_STATE has no digest; the STATE is whole and names us as a's predecessor");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (!s_sent_notify (me_node) && s_succ_list_is (me_node, 2, &a, &b, t),
            "successors a, b; no NOTIFY to a successor that has us already");

    uint64_t dropped = chord_node_stats (me_node)->messages_dropped;
    state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest != 0 && state && state->msg.fields == CHORD_F_COUNT && state->msg.count == digest,
            "the next GET_STATE carries a digest; a, unchanged, answers with the digest alone");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (!s_sent_notify (me_node) && s_succ_list_is (me_node, 2, &a, &b, t) &&
                chord_node_stats (me_node)->messages_dropped == dropped,
            "the asker keeps the list it had: a, b");

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 90);
    s_feed (a_node, msg, &n, NULL, t);
    s_discard_outbox (a_node);
    state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest != 0 && state && (state->msg.fields & CHORD_F_SUCC) && state->msg.has_pred &&
                chord_id_equal (&state->msg.pred.id, &n.id),
            "a's predecessor changed (n): the same digest gets the whole state");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (chord_id_equal (&chord_node_successor (me_node)->id, &n.id), "... and n becomes our successor");

    /* A digest we never asked with: dropped, and the next ask is for all of it. */
    s_discard_outbox (me_node);
    s_sent_t *ask = s_next_get_state (me_node, n.endpoint, &t);
    tap_ok (ask && !(ask->msg.fields & CHORD_F_COUNT), "the first GET_STATE to n has no digest");
    chord_msg_init (msg, CHORD_MSG_STATE, ask ? ask->msg.request_id : 0);
    msg->fields = CHORD_F_COUNT;
    msg->count = 12345;
    s_sent_free (&ask);
    dropped = chord_node_stats (me_node)->messages_dropped;
    s_feed (me_node, msg, &n, NULL, t);
    tap_ok (chord_node_stats (me_node)->messages_dropped == dropped + 1 &&
                chord_id_equal (&chord_node_successor (me_node)->id, &n.id),
            "a STATE with a digest we did not send is dropped and changes nothing");
    free (msg);
    chord_node_destroy (&me_node);
    chord_node_destroy (&a_node);
    chord_store_destroy (&me_store);
    chord_store_destroy (&a_store);
}

/* The peer of ring[] (count, in ring order) that owns id: the first at or after it. */
static const chord_peer_t *s_ring_owner (const chord_peer_t *ring, size_t count, const chord_id_t *id)
{
    for (size_t i = 0; i < count; i++)
        if (chord_id_in_half_open (id, &ring[(i + count - 1) % count].id, &ring[i].id))
            return &ring[i];
    return &ring[0];
}

/*  Answers all the node sent, as the peers of ring[] (ring[0] is the node)
    would: STATE, PONG, FIND_SUCC_REPLY naming the owner. Returns how many
    FIND_SUCCs it answered.  */
static size_t s_answer_as_ring (chord_node_t *node, const chord_peer_t *ring, size_t count, chord_msg_t *reply,
                                uint64_t t)
{
    size_t finds = 0;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        size_t at = 1;
        while (at < count && strcmp (ring[at].endpoint, sent->out.endpoint) != 0)
            at++;
        if (!sent->decoded || sent->out.kind != CHORD_DEST_PEER || at == count) {
            s_sent_free (&sent);
            continue;
        }
        chord_msg_type_t type = sent->msg.type;
        chord_msg_init (reply, type == CHORD_MSG_GET_STATE ? CHORD_MSG_STATE
                               : type == CHORD_MSG_PING    ? CHORD_MSG_PONG
                                                           : CHORD_MSG_FIND_SUCC_REPLY,
                        sent->msg.request_id);
        if (type == CHORD_MSG_GET_STATE) {
            reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
            reply->has_pred = true;
            reply->pred = ring[at - 1];
            for (size_t i = 1; i < count && reply->peer_count < 2; i++)
                reply->peers[reply->peer_count++] = ring[(at + i) % count];
        } else if (type == CHORD_MSG_FIND_SUCC) {
            finds++;
            reply->fields = CHORD_F_DONE | CHORD_F_PEER;
            reply->done = true;
            reply->peer = *s_ring_owner (ring, count, &sent->msg.id);
        }
        if (type == CHORD_MSG_GET_STATE || type == CHORD_MSG_PING || type == CHORD_MSG_FIND_SUCC)
            s_feed (node, reply, &ring[at], NULL, t);
        s_sent_free (&sent);
    }
    return finds;
}

/* Runs the node among ring[] until until_ms; returns the FIND_SUCCs it sent. */
static size_t s_run_as_ring (chord_node_t *node, const chord_peer_t *ring, size_t count, uint64_t *t,
                             uint64_t until_ms)
{
    chord_msg_t *reply = malloc (sizeof *reply);
    size_t finds = 0;
    while (*t < until_ms) {
        uint64_t next = chord_node_next_deadline_ms (node);
        *t = next > *t ? next : *t + 1;
        chord_node_tick (node, *t);
        finds += s_answer_as_ring (node, ring, count, reply, *t);
    }
    free (reply);
    return finds;
}

/*  Finger refreshes slow down while lookups find the fingers unchanged
    (a steady ring's lookups were most of its maintenance traffic), and
    speed up again when one changes: a newcomer n between a and b.  */
static void s_test_finger_pace (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 156, 155);
    chord_peer_t n = s_peer_after ("tcp://n", &me.id, 157, 155);
    chord_peer_t b = s_peer_after ("tcp://b", &me.id, 158, 157);
    chord_peer_t c = s_peer_after ("tcp://c", &me.id, 159, 158);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0xf1f1};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t t = 5000;
    chord_peer_t succs[] = {a, b, c};
    tap_ok (chord_node_start_member (node, &c, succs, 3, NULL, NULL, t) == 0, "finger pace: member started");
    chord_peer_t ring[] = {me, a, b, c}, grown[] = {me, a, n, b, c};
    s_run_as_ring (node, ring, 4, &t, 5000 + 30 * S_STABILIZE_MS);
    size_t calm = s_run_as_ring (node, ring, 4, &t, 5000 + 90 * S_STABILIZE_MS);
    tap_ok (calm > 0 && calm <= 60 / 4, "steady fingers: %zu finger lookups in 60 intervals (one an interval was 60)",
            calm);
    size_t moving = s_run_as_ring (node, grown, 5, &t, 5000 + 150 * S_STABILIZE_MS);
    chord_origin_t client = s_origin ("client-pace");
    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 78, NULL, NULL, &client, t);
    s_sent_t *info = s_pop (node);
    bool n_finger = false;
    for (size_t i = 0; info && info->decoded && i < info->msg.finger_count; i++)
        n_finger = n_finger || chord_id_equal (&info->msg.fingers[i].id, &n.id);
    s_sent_free (&info);
    tap_ok (n_finger && moving > calm, "a newcomer becomes a finger, and refreshes speed up (%zu lookups, then %zu)",
            calm, moving);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_config ();
    s_test_alone ();
    s_test_join ();
    s_test_join_twice ();
    s_test_joiner_side ();
    s_test_dead_successor ();
    s_test_newcomer_owner ();
    s_test_state_digest ();
    s_test_finger_pace ();
    s_test_ring ();
    s_test_concurrent ();
    return tap_done ();
}
