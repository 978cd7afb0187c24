/*  node_fixture.h: what the tests of protocol/node*.c share to drive one
    chord node by hand: a deterministic random source, a log sink, a node
    built with the tests' timings, and helpers that encode a request, feed
    it to chord_node_receive with a made-up origin, and pop and decode what
    the node queued in its outbox.

    Everything is static inline so each test_node_*.c file, linked alone
    (see the Makefile's $(BUILD)/t/%.t rule), takes only what it uses
    without unused-function warnings.  */
#ifndef CHORD_NODE_FIXTURE_H
#define CHORD_NODE_FIXTURE_H

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
#define S_TEXT_MAX        64        /* bytes of a test key or value */

/* ---------------------------------------------------------------------- */
/* Deterministic randomness and a log sink. */

typedef struct {
    uint64_t state;                 /* xorshift64 state, never 0 */
} s_rng_t;

static inline uint64_t s_rng_next (s_rng_t *rng)
{
    rng->state ^= rng->state << 13;
    rng->state ^= rng->state >> 7;
    rng->state ^= rng->state << 17;
    return rng->state;
}

static inline void s_random_bytes (void *arg, void *buf, size_t len)
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

static inline void s_log_line (void *arg, chord_log_level_t level, const char *line)
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
static inline s_sent_t *s_pop (chord_node_t *node)
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

static inline void s_sent_free (s_sent_t **sent_p)
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
static inline size_t s_discard_outbox (chord_node_t *node)
{
    size_t count = 0;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        count++;
        s_sent_free (&sent);
    }
    return count;
}

static inline chord_origin_t s_origin (const char *name)
{
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = (uint8_t) strlen (name);
    memcpy (origin.bytes, name, origin.size);
    return origin;
}

static inline bool s_origin_equal (const chord_origin_t *a, const chord_origin_t *b)
{
    return a->size == b->size && memcmp (a->bytes, b->bytes, a->size) == 0;
}

static inline chord_peer_t s_peer_named (const char *endpoint)
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
static inline chord_peer_t s_peer_after (const char *prefix, const chord_id_t *from, unsigned k, unsigned width)
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
static inline void s_feed (chord_node_t *node, chord_msg_t *msg, const chord_peer_t *from,
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
static inline void s_feed_client (chord_node_t *node, chord_msg_type_t type, uint64_t request_id, const char *key,
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
static inline bool s_is_reply (const s_sent_t *sent, chord_msg_type_t type, uint64_t request_id,
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

static inline bool s_value_is (const chord_msg_t *msg, const char *value)
{
    size_t len = strlen (value);
    return (msg->fields & CHORD_F_VALUE) && msg->value_len == len && (len == 0 || memcmp (msg->value, value, len) == 0);
}

/* True when the store holds a live (not deleted) record at key. */
static inline bool s_store_has (chord_store_t *store, const void *key, size_t key_len)
{
    chord_record_t rec;
    return chord_record_get (store, key, key_len, &rec) == 0 && !rec.tombstone;
}

/* Stores value at key as a record of version 1, as a peer's write would. */
static inline void s_store_record (chord_store_t *store, const char *key, const char *value)
{
    chord_record_t rec = {.version = {.hlc = 1, .writer = 1}, .value = (const uint8_t *) value,
                          .value_len = strlen (value)};
    uint8_t data[CHORD_RECORD_HEADER + 64];
    assert (chord_record_size (&rec) <= sizeof data);
    chord_record_encode (&rec, data);
    chord_store_put (store, (const uint8_t *) key, strlen (key), data, chord_record_size (&rec));
}

static inline chord_node_t *s_unit_node (const char *endpoint, chord_store_t *store, s_rng_t *rng, s_log_t *log)
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

/* Pops the node's messages until one of type to endpoint (freeing the others), or NULL. */
static inline s_sent_t *s_pop_type_to (chord_node_t *node, chord_msg_type_t type, const char *endpoint)
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

#endif
