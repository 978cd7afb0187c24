/*  Tests for replication end to end (protocol/node_replica.c, node_sync.c,
    record.c), over simnet: small rings of real nodes keeping R = 3 copies
    of each key, driven by simulated clients, with the stores inspected
    directly. Each test builds its own ring from a fixed seed (printed), so
    a failure replays exactly:

      placement      each key's latest record is on its owner and the next
                     two members by id, and nowhere else
      quorum         a put with a dead replica: W = 2 is acknowledged; W = 3
                     answers NO_QUORUM at the owner, and through another
                     entry peer is acknowledged once three copies hold it
      owner crash    reads fall back to the replicas; copies come back to 3
      read repair    copies deleted under the owner come back after a read
      anti-entropy   a wiped replica regains its copies, shipping about
                     only what was missing
      restart        a peer back on a stale store serves the new values
      deletes        tombstones everywhere; a late old copy does not bring
                     the key back
      purge          the tombstones go after their grace, and only then
      zombie         a copy a join pushed out of a key's window outlives
                     the key's delete
      order          racing writes converge; an older STORE loses

    Every put acknowledged OK in any test is checked, right in its reply
    callback, to be held by at least write-quorum stores. Checks of what
    the protocol does not do yet are TAP TODOs, naming the cause.

    Everything runs on virtual time; the whole file takes under a second.
    Run alone: make build/t/test_replica.t && build/t/test_replica.t  */

#include "id.h"
#include "message.h"
#include "node.h"
#include "node_internal.h"
#include "replica_set.h"
#include "record.h"
#include "simcheck.h"
#include "simnet.h"
#include "simrng.h"
#include "store.h"
#include "tap.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NODES 10           /* ring size in every test */
#define S_REPLICAS 3         /* copies of each key */
#define S_SUCCESSORS 4       /* successor list length */
#define S_STABILIZE_MS 100   /* stabilize_interval_ms */
#define S_SYNC_MS 400        /* sync_interval_ms */
#define S_RPC_TIMEOUT_MS 300 /* rpc_timeout_ms */
#define S_LATENCY_MEAN_MS 10 /* one-way delay, uniform on [min, 2 * mean - min] */
#define S_LATENCY_MIN_MS 2
#define S_SETTLE_MS 1000     /* run after building a ring, before the test */
#define S_SPREAD_MS 300      /* enough for a write's last copies to land */
#define S_CONVERGE_MS 20000  /* the most a ring may take to heal */
#define S_CLIENT_TMO_MS 3000 /* tmo of the test clients */
#define S_READ_WAVE_MS 25    /* between waves of reads after a crash */
#define S_KEYS 40            /* keys most tests write */
#define S_KEYS_MAX 64        /* keys a ring tracks */
#define S_TOKENS_MAX 2048    /* client requests one ring may send */
#define S_NAME_MAX 32        /* bytes of a key or value, NUL included */
#define S_GRACE_MS (uint64_t) CHORD_TOMBSTONE_GRACE_DEFAULT_MS /* simnet cannot set another */
#define S_PURGE_SYNCS 8 /* sync rounds between purges (CHORD_PURGE_SYNCS) */

/* ---------------------------------------------------------------------- */
/* A ring under test, its clients and the put invariant. */

typedef struct {
    chord_msg_type_t request; /* what was asked */
    uint64_t floor;           /* a put: the first token of the puts of its key in flight when it was sent */
    bool done;                /* the reply callback ran */
    bool answered;            /* false: no reply by the tmo */
    chord_status_t status;    /* with answered */
    bool has_value;           /* a get's value came, and fits value[] */
    char value[S_NAME_MAX];
    uint64_t sent_ms;
    uint64_t done_ms;
    size_t
        copies; /* an OK put: up stores holding its value or a concurrent or later put's, at the callback */
} s_result_t;

typedef struct {
    simnet_t *net;
    size_t quorum;                           /* the write quorum in force */
    simrng_t rng;                            /* the test's own choices */
    uint64_t tokens;                         /* requests sent; tokens are 1..tokens */
    char keys[S_TOKENS_MAX + 1][S_NAME_MAX]; /* each request's key, by token */
    s_result_t results[S_TOKENS_MAX + 1];    /* by token */
    uint64_t latest[S_KEYS_MAX];             /* the token of key i's last acknowledged put */
    uint64_t puts_ok;                        /* puts answered OK */
    uint64_t puts_short;                     /* of those, held by fewer than quorum stores */
    uint64_t views_checked;                  /* nodes' kept replica sets compared with a fresh walk */
    uint64_t views_stale;                    /* of those, not the same */
} s_ring_t;

static void s_key_name (char *out, size_t i)
{
    snprintf (out, S_NAME_MAX, "key-%zu", i);
}

/* The token a value "v<token>" names, or 0 when it is not one of ours. */
static uint64_t s_value_token (const uint8_t *value, size_t size)
{
    char text[S_NAME_MAX];
    if (!value || size < 2 || size >= sizeof text || value[0] != 'v')
        return 0;
    memcpy (text, value + 1, size - 1);
    text[size - 1] = '\0';
    char *end;
    unsigned long long token = strtoull (text, &end, 10);
    return *end ? 0 : token;
}

/* Reads node's record of key: 0 (rec valid until the store changes), 1 when
   absent, -1 when the node is down or the value is not a record. */
static int s_record (s_ring_t *ring, size_t node, const char *key, chord_record_t *rec)
{
    chord_store_t *store = simnet_node_store (ring->net, node);
    if (!store)
        return -1;
    return chord_record_get (store, (const uint8_t *) key, strlen (key), rec);
}

/* Whether node holds key's value written by the put with this token. */
static bool s_holds (s_ring_t *ring, size_t node, const char *key, uint64_t token)
{
    chord_record_t rec;
    return s_record (ring, node, key, &rec) == 0 && !rec.tombstone &&
           s_value_token (rec.value, rec.value_len) == token;
}

/* Whether node holds a tombstone for key. */
static bool s_tombstone (s_ring_t *ring, size_t node, const char *key)
{
    chord_record_t rec;
    return s_record (ring, node, key, &rec) == 0 && rec.tombstone;
}

/*  Up stores holding key's value of a put with a token from floor on: the
    put itself, a concurrent one whose version may win, or a later one.  */
static size_t s_copies (s_ring_t *ring, const char *key, uint64_t floor)
{
    size_t copies = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        chord_record_t rec;
        if (s_record (ring, node, key, &rec) == 0 && !rec.tombstone &&
            s_value_token (rec.value, rec.value_len) >= floor)
            copies++;
    }
    return copies;
}

static void s_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply)
{
    (void) net;
    s_ring_t *ring = arg;
    if (reply->token == 0 || reply->token > ring->tokens)
        return;
    s_result_t *result = &ring->results[reply->token];
    result->done = true;
    result->answered = reply->answered;
    result->status = reply->status;
    result->sent_ms = reply->sent_ms;
    result->done_ms = reply->done_ms;
    result->has_value = reply->value && reply->value_len < sizeof result->value;
    if (result->has_value) {
        memcpy (result->value, reply->value, reply->value_len);
        result->value[reply->value_len] = '\0';
    }
    /* The write quorum: an acknowledged put is on quorum stores now. */
    if (reply->request == CHORD_MSG_CLIENT_PUT && reply->answered && reply->status == CHORD_STATUS_OK) {
        result->copies = s_copies (ring, ring->keys[reply->token], result->floor);
        ring->puts_ok++;
        if (result->copies < ring->quorum) {
            ring->puts_short++;
            tap_diag ("put %llu of %s acknowledged with only %zu copies", (unsigned long long) reply->token,
                      ring->keys[reply->token], result->copies);
        }
    }
}

static uint64_t s_views_checked_total, s_views_stale_total;   /* over every ring of the run */

/* The tests' network: R = 3, fast maintenance, crashed stores kept. */
static void s_config (simnet_config_t *config, uint64_t seed, size_t write_quorum)
{
    simnet_config_defaults (config);
    config->seed = seed;
    config->latency = SIMNET_LATENCY_UNIFORM;
    config->latency_mean_ms = S_LATENCY_MEAN_MS;
    config->latency_min_ms = S_LATENCY_MIN_MS;
    config->successors = S_SUCCESSORS;
    config->stabilize_interval_ms = S_STABILIZE_MS;
    config->rpc_timeout_ms = S_RPC_TIMEOUT_MS;
    config->replicas = S_REPLICAS;
    config->write_quorum = write_quorum;
    config->sync_interval_ms = S_SYNC_MS;
    config->keep_crashed_stores = true;
}

/* A ring of nodes members built at once, settled. NULL on failure. */
static s_ring_t *s_ring_start (const simnet_config_t *config, size_t nodes)
{
    s_ring_t *ring = calloc (1, sizeof *ring);
    if (!ring)
        return NULL;
    ring->net = simnet_new (config);
    ring->quorum = config->write_quorum ? config->write_quorum : S_REPLICAS / 2 + 1;
    simrng_seed (&ring->rng, config->seed);
    if (!ring->net || simnet_build_ring (ring->net, nodes) != 0) {
        simnet_destroy (&ring->net);
        free (ring);
        return NULL;
    }
    simnet_on_reply (ring->net, s_on_reply, ring);
    simnet_run_until (ring->net, simnet_now (ring->net) + S_SETTLE_MS);
    return ring;
}

static s_ring_t *s_ring_new (uint64_t seed, size_t nodes, size_t write_quorum)
{
    simnet_config_t config;
    s_config (&config, seed, write_quorum);
    return s_ring_start (&config, nodes);
}

/*  Compares each live node's replica set, which it keeps while its ring
    stays the same shape, with one walked afresh from its ring now.  */
static void s_check_views (s_ring_t *ring)
{
    for (size_t i = 0; i < simnet_node_count (ring->net); i++) {
        chord_node_t *node = simnet_node (ring->net, i);
        if (!node)
            continue;
        const node_ring_t *r = node_ring (node);
        chord_replica_view_t view = {.self_endpoint = simnet_node_peer (ring->net, i)->endpoint,
                                     .succ = r->succ,
                                     .succ_count = r->succ_count,
                                     .fingers = r->finger,
                                     .finger_valid = r->finger_valid,
                                     .finger_count = CHORD_ID_BITS,
                                     .pred = r->has_pred && r->pred_alive ? &r->pred : NULL};
        chord_peer_t fresh[CHORD_REPLICAS_MAX], kept[CHORD_REPLICAS_MAX];
        size_t fresh_count = chord_replica_set (&view, S_REPLICAS - 1, fresh);
        size_t kept_count = node_replica_peers (node, kept);
        bool same = fresh_count == kept_count;
        for (size_t j = 0; same && j < kept_count; j++)
            same = chord_id_equal (&fresh[j].id, &kept[j].id);
        ring->views_checked++;
        ring->views_stale += !same;
    }
}

static void s_ring_destroy (s_ring_t **ring_p)
{
    if (!*ring_p)
        return;
    s_check_views (*ring_p);
    if ((*ring_p)->views_stale)
        tap_diag ("%llu of %llu kept replica sets were stale", (unsigned long long) (*ring_p)->views_stale,
                  (unsigned long long) (*ring_p)->views_checked);
    s_views_stale_total += (*ring_p)->views_stale;
    s_views_checked_total += (*ring_p)->views_checked;
    simnet_destroy (&(*ring_p)->net);
    free (*ring_p);
    *ring_p = NULL;
}

/*  Sends a client request for key to node; a put writes "v<token>". Returns
    the token, or 0 when it could not be sent.  */
static uint64_t s_send (s_ring_t *ring, size_t node, chord_msg_type_t type, const char *key, uint32_t tmo_ms)
{
    if (ring->tokens == S_TOKENS_MAX)
        return 0;
    uint64_t token = ring->tokens + 1;
    char value[S_NAME_MAX];
    snprintf (value, sizeof value, "v%llu", (unsigned long long) token);
    snprintf (ring->keys[token], S_NAME_MAX, "%s", key);
    s_result_t *result = &ring->results[token];
    result->request = type;
    result->floor = token;
    for (uint64_t earlier = token - 1; earlier > 0; earlier--)
        if (ring->results[earlier].request == CHORD_MSG_CLIENT_PUT && !ring->results[earlier].done &&
            strcmp (ring->keys[earlier], key) == 0)
            result->floor = earlier;
    ring->tokens = token;
    if (simnet_client (ring->net, node, type, key, strlen (key), type == CHORD_MSG_CLIENT_PUT ? value : NULL,
                       type == CHORD_MSG_CLIENT_PUT ? strlen (value) : 0, tmo_ms, token) != 0) {
        ring->tokens--;
        return 0;
    }
    return token;
}

/* Runs until the requests first..last have their replies. */
static bool s_wait (s_ring_t *ring, uint64_t first, uint64_t last)
{
    if (first == 0)
        return false;
    for (uint64_t token = first; token <= last; token++)
        while (!ring->results[token].done)
            if (!simnet_step (ring->net, UINT64_MAX))
                return false;
    return true;
}

/* Sends one request and waits for its reply. */
static const s_result_t *s_do (s_ring_t *ring, size_t node, chord_msg_type_t type, const char *key)
{
    static const s_result_t failed = {.done = false};
    uint64_t token = s_send (ring, node, type, key, S_CLIENT_TMO_MS);
    return s_wait (ring, token, token) ? &ring->results[token] : &failed;
}

static bool s_ok (const s_result_t *result)
{
    return result->done && result->answered && result->status == CHORD_STATUS_OK;
}

/* Whether a get came back with the value of the put with token. */
static bool s_got (const s_result_t *result, uint64_t token)
{
    char want[S_NAME_MAX];
    snprintf (want, sizeof want, "v%llu", (unsigned long long) token);
    return s_ok (result) && result->has_value && strcmp (result->value, want) == 0;
}

static void s_run_for (s_ring_t *ring, uint64_t ms)
{
    simnet_run_until (ring->net, simnet_now (ring->net) + ms);
    s_check_views (ring);
}

/* Runs until the ring is exact over the nodes up. */
static bool s_converge (s_ring_t *ring, char *why, size_t why_size)
{
    uint64_t until = simnet_now (ring->net) + S_CONVERGE_MS;
    while (simnet_now (ring->net) < until) {
        s_run_for (ring, S_STABILIZE_MS);
        if (simcheck_ring (ring->net, SIMCHECK_QUIET, NULL, why, why_size) == 0)
            return true;
    }
    return false;
}

/* A member at random, other than the nodes in avoid[]. */
static size_t s_random_member (s_ring_t *ring, const size_t *avoid, size_t avoid_count)
{
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    for (int tries = 0; tries < 1000; tries++) {
        size_t node = sorted[simrng_below (&ring->rng, count)];
        bool avoided = false;
        for (size_t i = 0; i < avoid_count; i++)
            avoided = avoided || avoid[i] == node;
        if (!avoided)
            return node;
    }
    return SIMNET_NONE;
}

/*  The members that should hold key, computed from the member ids sorted:
    its owner, successor(id), then the next members clockwise. Writes them
    to out[] (S_REPLICAS entries) and returns how many.  */
static size_t s_holders (s_ring_t *ring, const char *key, size_t *out)
{
    chord_id_t id;
    chord_id_hash (&id, key, strlen (key));
    const size_t *sorted;
    size_t count = simnet_members (ring->net, &sorted);
    size_t at = 0;
    while (at < count && chord_id_cmp (&simnet_node_peer (ring->net, sorted[at])->id, &id) < 0)
        at++;
    size_t wanted = count < S_REPLICAS ? count : S_REPLICAS;
    for (size_t j = 0; j < wanted; j++)
        out[j] = sorted[(at + j) % count];
    return wanted;
}

static bool s_in (size_t node, const size_t *nodes, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (nodes[i] == node)
            return true;
    return false;
}

/* Puts keys 0..count-1 through random members, at once; returns how many were acknowledged. */
static size_t s_put_keys (s_ring_t *ring, size_t count)
{
    uint64_t first = ring->tokens + 1;
    for (size_t i = 0; i < count; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        ring->latest[i] =
            s_send (ring, s_random_member (ring, NULL, 0), CHORD_MSG_CLIENT_PUT, key, S_CLIENT_TMO_MS);
    }
    size_t acked = 0;
    if (s_wait (ring, first, ring->tokens))
        for (size_t i = 0; i < count; i++)
            acked += s_ok (&ring->results[ring->latest[i]]);
    s_run_for (ring, S_SPREAD_MS);
    return acked;
}

/*  Checks every key 0..count-1: its holders hold its latest put's record,
    all of one version. Returns the keys short of that.  */
static size_t s_keys_replicated (s_ring_t *ring, size_t count)
{
    size_t short_keys = 0;
    for (size_t i = 0; i < count; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        size_t wanted = s_holders (ring, key, holders);
        bool right = true;
        chord_version_t first = {0};
        for (size_t j = 0; j < wanted; j++) {
            chord_record_t rec;
            right = right && s_holds (ring, holders[j], key, ring->latest[i]) &&
                    s_record (ring, holders[j], key, &rec) == 0;
            if (right && j == 0)
                first = rec.version;
            right = right && chord_version_compare (&rec.version, &first) == 0;
        }
        short_keys += !right;
    }
    return short_keys;
}

/* A statistic summed over the nodes up: offset is that of a uint64_t field of chord_node_stats_t. */
static uint64_t s_stat_sum (s_ring_t *ring, size_t offset)
{
    uint64_t sum = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        chord_node_t *n = simnet_node (ring->net, node);
        if (n)
            sum += *(const uint64_t *) ((const char *) chord_node_stats (n) + offset);
    }
    return sum;
}

static const chord_node_stats_t *s_stats (s_ring_t *ring, size_t node)
{
    return chord_node_stats (simnet_node (ring->net, node));
}

/* The put invariant, checked in every test's reply callbacks. */
static void s_check_quorum_kept (s_ring_t *ring, const char *test)
{
    tap_ok (ring->puts_short == 0 && ring->puts_ok > 0,
            "%s: each of %llu acknowledged puts was on >= %zu stores at its callback (%llu short)", test,
            (unsigned long long) ring->puts_ok, ring->quorum, (unsigned long long) ring->puts_short);
}

/*  A check of behaviour the protocol does not have yet: reported as a TAP
    TODO (prove lists it, and says so once it passes) without failing the
    file. reason names the bug.  */
static void s_todo (int cond, const char *reason, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    printf ("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf (" # TODO %s\n", reason);
    fflush (stdout);
}

/* A made-up return address: what the node answers to it is dropped. */
static chord_origin_t s_test_origin (void)
{
    chord_origin_t origin = {.size = 1, .bytes = {'T'}};
    return origin;
}

/* ---------------------------------------------------------------------- */
/* 1. Placement. */

static void s_test_placement (void)
{
    const uint64_t seed = 101;
    tap_diag ("placement: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "placement: a ring of %d", S_NODES))
        return;
    tap_ok (s_put_keys (ring, S_KEYS) == S_KEYS, "placement: %d puts acknowledged", S_KEYS);

    size_t missing = 0, extra = 0, split = 0, distinct = 0;
    for (size_t i = 0; i < S_KEYS; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        size_t wanted = s_holders (ring, key, holders);
        distinct += wanted == S_REPLICAS && holders[0] != holders[1] && holders[1] != holders[2] &&
                    holders[0] != holders[2];
        chord_version_t version = {0};
        bool have_version = false;
        for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
            bool expected = s_in (node, holders, wanted);
            chord_record_t rec;
            bool any = s_record (ring, node, key, &rec) == 0;
            bool holds = s_holds (ring, node, key, ring->latest[i]);
            missing += expected && !holds;
            extra += !expected && any;
            if (holds && have_version && chord_version_compare (&rec.version, &version) != 0)
                split++;
            if (holds && !have_version) {
                version = rec.version;
                have_version = true;
            }
        }
    }
    tap_ok (distinct == S_KEYS, "placement: every key has 3 distinct holders by sorted ids");
    tap_ok (missing == 0,
            "placement: the owner and next 2 members hold each key's latest value (%zu missing)", missing);
    tap_ok (extra == 0, "placement: no other member holds any copy (%zu extra)", extra);
    tap_ok (split == 0, "placement: the copies of a key are of one version (%zu differ)", split);
    s_check_quorum_kept (ring, "placement");
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 2. Write quorum with a replica dead before the ring notices. */

/* A member that owns at least two of keys 0..count-1; *a and *b get two of them. */
static size_t s_owner_of_two (s_ring_t *ring, size_t count, size_t *a, size_t *b)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++) {
            char ki[S_NAME_MAX], kj[S_NAME_MAX];
            s_key_name (ki, i);
            s_key_name (kj, j);
            size_t hi[S_REPLICAS], hj[S_REPLICAS];
            s_holders (ring, ki, hi);
            s_holders (ring, kj, hj);
            if (hi[0] == hj[0]) {
                *a = i;
                *b = j;
                return hi[0];
            }
        }
    return SIMNET_NONE;
}

static void s_test_quorum (void)
{
    /* W = 2: the owner and the live replica are enough. */
    uint64_t seed = 201;
    tap_diag ("quorum: seed %llu (W = 2)", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 2);
    if (!tap_ok (ring != NULL, "quorum: a ring of %d with W = 2", S_NODES))
        return;
    s_put_keys (ring, S_KEYS);
    char key[S_NAME_MAX];
    s_key_name (key, 0);
    size_t holders[S_REPLICAS];
    s_holders (ring, key, holders);
    simnet_crash (ring->net, holders[2]);
    uint64_t crash_ms = simnet_now (ring->net);
    const s_result_t *put = s_do (ring, holders[0], CHORD_MSG_CLIENT_PUT, key);
    tap_ok (s_ok (put) && put->copies >= 2 && put->done_ms - crash_ms < S_RPC_TIMEOUT_MS,
            "quorum: W = 2, replica %zu just crashed: a put at the owner is OK in %llu ms on %zu stores",
            holders[2], (unsigned long long) (put->done_ms - crash_ms), put->copies);
    s_check_quorum_kept (ring, "quorum W=2");
    s_ring_destroy (&ring);

    /*  W = 3. At the owner itself the client is answered NO_QUORUM once the
        dead replica's ack is overdue (node_replica.c: s_write_answered at
        the pending's deadline, twice the rpc timeout), with no retry.
        Through another entry peer a NO_QUORUM would be retried
        (node_lookup.c: node_on_store_reply, node_task_retry) until the
        owner's successor list skips the dead peer; but the entry's STORE
        times out first (node.c: node_call_at, one rpc timeout), and the
        retry falls back to the owner's successor, which coordinates the
        write with its own successors as replicas.  */
    seed = 202;
    tap_diag ("quorum: seed %llu (W = 3)", (unsigned long long) seed);
    ring = s_ring_new (seed, S_NODES, 3);
    if (!tap_ok (ring != NULL, "quorum: a ring of %d with W = 3", S_NODES))
        return;
    s_put_keys (ring, S_KEYS);
    size_t ka = 0, kb = 0;
    size_t owner = s_owner_of_two (ring, S_KEYS, &ka, &kb);
    if (!tap_ok (owner != SIMNET_NONE, "quorum: a member owns two keys")) {
        s_ring_destroy (&ring);
        return;
    }
    char key_a[S_NAME_MAX], key_b[S_NAME_MAX];
    s_key_name (key_a, ka);
    s_key_name (key_b, kb);
    s_holders (ring, key_a, holders);
    size_t dead = holders[2];
    size_t entry = s_random_member (ring, holders, S_REPLICAS);
    uint64_t entry_timeouts = s_stats (ring, entry)->rpc_timeouts;
    simnet_crash (ring->net, dead);
    crash_ms = simnet_now (ring->net);
    uint64_t at_owner = s_send (ring, owner, CHORD_MSG_CLIENT_PUT, key_a, S_CLIENT_TMO_MS);
    uint64_t elsewhere = s_send (ring, entry, CHORD_MSG_CLIENT_PUT, key_b, 2 * S_CLIENT_TMO_MS);
    s_wait (ring, at_owner, elsewhere);
    const s_result_t *ra = &ring->results[at_owner], *rb = &ring->results[elsewhere];
    tap_ok (s_ok (ra) && ra->copies >= 3,
            "quorum: W = 3 at the owner: retried until the successor lists healed, OK after %llu ms on %zu stores",
            (unsigned long long) (ra->done_ms - crash_ms), ra->copies);
    tap_ok (s_ok (rb) && rb->copies >= 3, "quorum: W = 3 through %zu: OK after %llu ms on %zu stores", entry,
            (unsigned long long) (rb->done_ms - crash_ms), rb->copies);
    size_t outside = 0, new_holders[S_REPLICAS];
    s_holders (ring, key_b, new_holders);
    for (size_t node = 0; node < simnet_node_count (ring->net); node++)
        outside += !s_in (node, new_holders, S_REPLICAS) && s_holds (ring, node, key_b, elsewhere);
    tap_ok (s_stats (ring, entry)->rpc_timeouts == entry_timeouts,
            "quorum: the owner answered within the entry's rpc timeout (%llu rpc timeouts)",
            (unsigned long long) (s_stats (ring, entry)->rpc_timeouts - entry_timeouts));
    tap_ok (outside == 0, "quorum: no copy of the write outside the key's 3 holders (%zu)", outside);
    simnet_info_t info = {0};
    bool listed = simnet_info (ring->net, owner, &info) != 0;
    for (size_t i = 0; i < info.succ_count && !listed; i++)
        listed = chord_id_equal (&info.succ_id[i], &simnet_node_peer (ring->net, dead)->id);
    s_holders (ring, key_b, holders);
    size_t held = 0;
    for (size_t j = 0; j < S_REPLICAS; j++)
        held += s_holds (ring, holders[j], key_b, elsewhere);
    tap_ok (!listed && held == 3,
            "quorum: the owner's successors skip the dead peer; the new 3 holders have it");
    s_check_quorum_kept (ring, "quorum W=3");
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 3. The owner crashes. */

/* How many of keys 0..count-1 node should hold as owner, and as replica. */
static void s_roles (s_ring_t *ring, size_t node, size_t count, size_t *owned, size_t *replicated)
{
    *owned = *replicated = 0;
    for (size_t i = 0; i < count; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        s_holders (ring, key, holders);
        *owned += holders[0] == node;
        *replicated += holders[1] == node || holders[2] == node;
    }
}

/* The member owning most of keys 0..count-1. */
static size_t s_busiest_owner (s_ring_t *ring, size_t count)
{
    size_t best = SIMNET_NONE, best_keys = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        size_t owned, replicated;
        s_roles (ring, node, count, &owned, &replicated);
        if (owned > best_keys) {
            best = node;
            best_keys = owned;
        }
    }
    return best;
}

static void s_test_owner_crash (void)
{
    /*  A seed whose heir notices the crash a little after the first entry
        peers' STOREs time out, so some reads fall back; with many seeds
        (301 among them) the heir takes over as they time out, and the
        retries find it owner already.  */
    const uint64_t seed = 305;
    tap_diag ("owner crash: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "owner crash: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, S_KEYS);
    size_t owner = s_busiest_owner (ring, S_KEYS);
    size_t owned[S_KEYS], owned_count = 0;
    for (size_t i = 0; i < S_KEYS; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        s_holders (ring, key, holders);
        if (holders[0] == owner)
            owned[owned_count++] = i;
    }
    /* The heir, the owner's successor, serves its arc once its predecessor
       is the owner's: until then only as a fallback. */
    const size_t *sorted;
    size_t members = simnet_members (ring->net, &sorted);
    size_t at = 0;
    while (at < members && sorted[at] != owner)
        at++;
    size_t heir = sorted[(at + 1) % members];
    chord_id_t heir_pred_then = simnet_node_peer (ring->net, sorted[(at + members - 1) % members])->id;
    simnet_crash (ring->net, owner);
    uint64_t crash_ms = simnet_now (ring->net);
    /* Waves of reads of every key, through random others, until the heir took over. */
    uint64_t first = ring->tokens + 1;
    size_t done = 0, sent = 0, by_fallback = 0;
    bool heir_serves = false;
    uint64_t next_wave_ms = crash_ms;
    while (done < sent || !heir_serves) {
        if (!heir_serves && simnet_now (ring->net) >= next_wave_ms) {
            for (size_t i = 0; i < owned_count; i++) {
                char key[S_NAME_MAX];
                s_key_name (key, owned[i]);
                sent += s_send (ring, s_random_member (ring, &owner, 1), CHORD_MSG_CLIENT_GET, key,
                                S_CLIENT_TMO_MS) != 0;
            }
            next_wave_ms += S_READ_WAVE_MS;
        }
        if (!simnet_step (ring->net, heir_serves ? UINT64_MAX : next_wave_ms))
            simnet_run_until (ring->net, next_wave_ms);
        size_t now_done = 0;
        for (uint64_t token = first; token <= ring->tokens; token++)
            now_done += ring->results[token].done;
        const chord_peer_t *pred = chord_node_predecessor (simnet_node (ring->net, heir));
        heir_serves = pred && chord_id_equal (&pred->id, &heir_pred_then);
        if (!heir_serves)
            by_fallback += now_done - done;
        done = now_done;
    }
    size_t right = 0;
    uint64_t slowest_ms = 0;
    for (uint64_t token = first; token <= ring->tokens; token++) {
        const s_result_t *get = &ring->results[token];
        right += s_got (get, ring->latest[owned[(token - first) % owned_count]]);
        if (get->done_ms - get->sent_ms > slowest_ms)
            slowest_ms = get->done_ms - get->sent_ms;
    }
    tap_ok (owned_count >= 2 && right == sent,
            "owner crash: %zu of %zu reads of the %zu keys of crashed %zu right, through others (slowest "
            "%llu ms)",
            right, sent, owned_count, owner, (unsigned long long) slowest_ms);
    tap_ok (by_fallback > 0, "owner crash: %zu answered before the heir %zu took the arc over: by fallback",
            by_fallback, heir);

    uint64_t back_ms = UINT64_MAX;
    while (simnet_now (ring->net) - crash_ms < 10 * S_SYNC_MS && back_ms == UINT64_MAX) {
        s_run_for (ring, S_STABILIZE_MS);
        if (s_keys_replicated (ring, S_KEYS) == 0)
            back_ms = simnet_now (ring->net) - crash_ms;
    }
    tap_ok (back_ms <= 4 * S_SYNC_MS,
            "owner crash: every key is back on its 3 holders %llu ms after the crash",
            (unsigned long long) back_ms);
    s_check_quorum_kept (ring, "owner crash");
    s_ring_destroy (&ring);
}

/*  A ring of S_NODES for the test named what, from seed, with S_KEYS
    keys put; NULL (a failed assertion) when it could not be built.  */
static s_ring_t *s_ring_with_keys (uint64_t seed, const char *what)
{
    tap_diag ("%s: seed %llu", what, (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "%s: a ring of %d", what, S_NODES))
        return NULL;
    s_put_keys (ring, S_KEYS);
    return ring;
}

/* Names key number i in key and writes its holders to holders[]. */
static void s_key_and_holders (s_ring_t *ring, size_t i, char *key, size_t *holders)
{
    s_key_name (key, i);
    s_holders (ring, key, holders);
}

/* ---------------------------------------------------------------------- */
/* 4. Read repair. */

static void s_test_read_repair (void)
{
    s_ring_t *ring = s_ring_with_keys (401, "read repair");
    if (!ring)
        return;

    /* The owner and the first replica lose the key; a read through a third peer. */
    char key[S_NAME_MAX];
    size_t holders[S_REPLICAS];
    s_key_and_holders (ring, 0, key, holders);
    size_t owner = holders[0];
    uint64_t repairs = s_stats (ring, owner)->read_repairs;
    uint64_t synced = s_stat_sum (ring, offsetof (chord_node_stats_t, sync_items_sent));
    chord_store_del (simnet_node_store (ring->net, owner), (const uint8_t *) key, strlen (key));
    chord_store_del (simnet_node_store (ring->net, holders[1]), (const uint8_t *) key, strlen (key));
    size_t entry = s_random_member (ring, holders, S_REPLICAS);
    const s_result_t *get = s_do (ring, entry, CHORD_MSG_CLIENT_GET, key);
    s_run_for (ring, 5 * S_LATENCY_MEAN_MS);
    tap_ok (s_got (get, ring->latest[0]), "read repair: a read through %zu gets the value the owner lost",
            entry);
    tap_ok (s_holds (ring, owner, key, ring->latest[0]) && s_holds (ring, holders[1], key, ring->latest[0]),
            "read repair: the owner and the replica have it back");
    tap_ok (s_stats (ring, owner)->read_repairs - repairs == 2 &&
                s_stat_sum (ring, offsetof (chord_node_stats_t, sync_items_sent)) == synced,
            "read repair: by the read (%llu repairs at the owner), not by anti-entropy",
            (unsigned long long) (s_stats (ring, owner)->read_repairs - repairs));

    /* The owner alone loses a key, and is asked itself. */
    s_key_name (key, 1);
    s_holders (ring, key, holders);
    owner = holders[0];
    repairs = s_stats (ring, owner)->read_repairs;
    synced = s_stat_sum (ring, offsetof (chord_node_stats_t, sync_items_sent));
    chord_store_del (simnet_node_store (ring->net, owner), (const uint8_t *) key, strlen (key));
    get = s_do (ring, owner, CHORD_MSG_CLIENT_GET, key);
    /* An anti-entropy round may bring the copy back first (other seeds). */
    bool by_read = s_stats (ring, owner)->read_repairs - repairs == 1;
    bool by_sync = s_stat_sum (ring, offsetof (chord_node_stats_t, sync_items_sent)) != synced;
    tap_ok (s_got (get, ring->latest[1]) && s_holds (ring, owner, key, ring->latest[1]) &&
                (by_read || by_sync),
            "read repair: a read at the owner itself answers from a replica and keeps the copy (%s)",
            by_read ? "by the read" : "by anti-entropy");
    s_ring_destroy (&ring);
}

/*  A read that misses at the coordinator is "not found" only when enough
    copies said so: with R = 3 and W = 2, the coordinator and one replica.
    Replicas that stay silent prove nothing (a 404 for a written key was
    seen under load when replicas answered late).  */
static void s_test_read_quorum (void)
{
    s_ring_t *ring = s_ring_with_keys (409, "read quorum");
    if (!ring)
        return;

    /* The owner lost its copy and is cut off from both replicas. */
    char key[S_NAME_MAX];
    size_t holders[S_REPLICAS];
    s_key_and_holders (ring, 2, key, holders);
    size_t owner = holders[0];
    chord_store_del (simnet_node_store (ring->net, owner), (const uint8_t *) key, strlen (key));
    simnet_set_side (ring->net, owner, 1);
    simnet_partition (ring->net, true);
    uint64_t token = s_send (ring, owner, CHORD_MSG_CLIENT_GET, key, S_RPC_TIMEOUT_MS);
    const s_result_t *get = s_wait (ring, token, token) ? &ring->results[token] : NULL;
    tap_ok (get && get->answered && get->status == CHORD_STATUS_TIMEOUT,
            "read quorum: the owner, missing a written key with both replicas silent, answers timeout, "
            "not not found (%s%s)", get ? chord_status_name (get->status) : "no reply",
            get && !get->answered ? ", unanswered" : "");
    simnet_partition (ring->net, false);
    simnet_set_side (ring->net, owner, 0);
    char why[256] = "";
    tap_ok (s_converge (ring, why, sizeof why), "read quorum: the ring heals (%s)", why);

    /* The owner and the first replica miss a key; the second is silent:
       two of three copies said none, so no acknowledged write exists. */
    s_key_and_holders (ring, 3, key, holders);
    owner = holders[0];
    chord_store_del (simnet_node_store (ring->net, owner), (const uint8_t *) key, strlen (key));
    chord_store_del (simnet_node_store (ring->net, holders[1]), (const uint8_t *) key, strlen (key));
    simnet_set_side (ring->net, holders[2], 1);
    simnet_partition (ring->net, true);
    token = s_send (ring, owner, CHORD_MSG_CLIENT_GET, key, S_RPC_TIMEOUT_MS);
    get = s_wait (ring, token, token) ? &ring->results[token] : NULL;
    tap_ok (get && get->answered && get->status == CHORD_STATUS_NOT_FOUND,
            "read quorum: with the coordinator and a replica saying none, the third silent: not found (%s)",
            get ? chord_status_name (get->status) : "no reply");
    simnet_partition (ring->net, false);
    simnet_set_side (ring->net, holders[2], 0);
    s_ring_destroy (&ring);
}

/*  The owner and the second replica hold a key and are both cut off; the
    first replica missed it and serves for the owner. Its own next
    successors never held the key: their "none" proves nothing.  */
static void s_test_read_fallback (void)
{
    s_ring_t *ring = s_ring_with_keys (410, "read fallback");
    if (!ring)
        return;
    char key[S_NAME_MAX];
    size_t holders[S_REPLICAS];
    s_key_and_holders (ring, 4, key, holders);
    chord_store_del (simnet_node_store (ring->net, holders[1]), (const uint8_t *) key, strlen (key));
    size_t entry = s_random_member (ring, holders, S_REPLICAS);
    simnet_set_side (ring->net, holders[0], 1);
    simnet_set_side (ring->net, holders[2], 1);
    simnet_partition (ring->net, true);
    uint64_t token = s_send (ring, entry, CHORD_MSG_CLIENT_GET, key, 3 * S_RPC_TIMEOUT_MS);
    const s_result_t *get = s_wait (ring, token, token) ? &ring->results[token] : NULL;
    tap_ok (get && get->status != CHORD_STATUS_NOT_FOUND && get->status != CHORD_STATUS_OK,
            "read fallback: a replica serving for its silent owner, missing the key, with the one other "
            "holder silent, does not answer not found (%s%s)", get ? chord_status_name (get->status) : "no reply",
            get && !get->answered ? ", unanswered" : "");
    simnet_partition (ring->net, false);
    s_ring_destroy (&ring);
}

/*  A FETCH_REPLY is counted only from the replica asked under its
    request id, once: request ids are sequential, so a peer could guess one
    and make a read answer "not found".  */
typedef struct {
    size_t from;                    /* the coordinator watched */
    uint64_t request_ids[8];        /* of the FETCHes it sent */
    size_t count;
} s_fetches_t;

static void s_watch_fetches (void *arg, simnet_t *net, size_t src, const char *endpoint, size_t dst,
                             const uint8_t *data, size_t size)
{
    (void) net, (void) endpoint, (void) dst;
    s_fetches_t *fetches = arg;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (msg && src == fetches->from && chord_msg_decode (msg, data, size) == 0) {
        if (msg->type == CHORD_MSG_FETCH && fetches->count < 8)
            fetches->request_ids[fetches->count++] = msg->request_id;
        chord_msg_clear (msg);
    }
    free (msg);
}

static void s_test_forged_fetch_reply (void)
{
    s_ring_t *ring = s_ring_with_keys (411, "forged fetch reply");
    if (!ring)
        return;
    char key[S_NAME_MAX];
    size_t holders[S_REPLICAS];
    s_key_and_holders (ring, 5, key, holders);
    size_t owner = holders[0];
    chord_store_del (simnet_node_store (ring->net, owner), (const uint8_t *) key, strlen (key));
    simnet_set_side (ring->net, holders[1], 1);
    simnet_set_side (ring->net, holders[2], 1);
    simnet_partition (ring->net, true);
    s_fetches_t fetches = {.from = owner};
    simnet_on_send (ring->net, s_watch_fetches, &fetches);
    uint64_t token = s_send (ring, owner, CHORD_MSG_CLIENT_GET, key, S_RPC_TIMEOUT_MS);
    while (fetches.count < 2 && simnet_step (ring->net, simnet_now (ring->net) + S_RPC_TIMEOUT_MS))
        ;
    simnet_on_send (ring->net, NULL, NULL);
    /* "None" for the first replica's request id, from a peer never asked, and
       from the first replica twice (a duplicate). */
    size_t stranger = s_random_member (ring, holders, S_REPLICAS);
    chord_node_t *node = simnet_node (ring->net, owner);
    uint64_t stale = chord_node_stats (node)->dropped_by_reason[CHORD_DROP_STALE_REPLY];
    chord_msg_t *reply = malloc (sizeof *reply);
    chord_origin_t origin = s_test_origin ();
    for (int i = 0; reply && fetches.count >= 1 && i < 2; i++) {
        chord_msg_init (reply, CHORD_MSG_FETCH_REPLY, fetches.request_ids[0]);
        reply->fields = CHORD_F_STATUS;
        reply->status = CHORD_STATUS_NOT_FOUND;
        reply->has_sender = true;
        reply->sender = *simnet_node_peer (ring->net, stranger);
        chord_node_handle (node, reply, &origin, CHORD_ROLE_PEER, simnet_now (ring->net));
    }
    free (reply);
    const s_result_t *get = s_wait (ring, token, token) ? &ring->results[token] : NULL;
    tap_ok (fetches.count == 2 && get && get->answered && get->status == CHORD_STATUS_TIMEOUT &&
                chord_node_stats (node)->dropped_by_reason[CHORD_DROP_STALE_REPLY] - stale == 2,
            "forged fetch reply: \"none\" from a peer never asked is dropped (%llu dropped), the read "
            "answers timeout (%s)",
            (unsigned long long) (chord_node_stats (node)->dropped_by_reason[CHORD_DROP_STALE_REPLY] - stale),
            get ? chord_status_name (get->status) : "no reply");
    simnet_partition (ring->net, false);
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 5. Anti-entropy. */

typedef struct {
    uint8_t keys[S_KEYS_MAX * 2][S_NAME_MAX];
    size_t lens[S_KEYS_MAX * 2];
    size_t count;
} s_key_list_t;

static int s_collect (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                      const uint8_t *value, size_t value_len)
{
    (void) key_id, (void) value, (void) value_len;
    s_key_list_t *list = arg;
    if (list->count == S_KEYS_MAX * 2 || key_len > S_NAME_MAX)
        return 1;
    memcpy (list->keys[list->count], key, key_len);
    list->lens[list->count++] = key_len;
    return 0;
}

/* Deletes every key in node's store; returns how many there were. */
static size_t s_wipe (s_ring_t *ring, size_t node)
{
    chord_store_t *store = simnet_node_store (ring->net, node);
    s_key_list_t list = {.count = 0};
    chord_id_t everywhere;
    memset (&everywhere, 0, sizeof everywhere);
    chord_store_range (store, &everywhere, &everywhere, s_collect, &list);
    for (size_t i = 0; i < list.count; i++)
        chord_store_del (store, list.keys[i], list.lens[i]);
    return list.count;
}

static void s_test_anti_entropy (void)
{
    const uint64_t seed = 501;
    const size_t keys = 60;
    tap_diag ("anti-entropy: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "anti-entropy: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, keys);
    size_t sync_offset = offsetof (chord_node_stats_t, sync_items_sent);
    uint64_t synced = s_stat_sum (ring, sync_offset);
    s_run_for (ring, 3 * S_SYNC_MS);
    tap_ok (s_stat_sum (ring, sync_offset) == synced,
            "anti-entropy: a replicated ring ships nothing in 3 sync intervals");

    /* The busiest owner: it regains its own arc from its replicas, and
       its predecessors' arcs from their owners. */
    size_t victim = s_busiest_owner (ring, keys);
    size_t expected = 0, owned = 0;
    for (size_t i = 0; i < keys; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        s_holders (ring, key, holders);
        expected += s_in (victim, holders, S_REPLICAS);
        owned += holders[0] == victim;
    }
    synced = s_stat_sum (ring, sync_offset);
    size_t wiped = s_wipe (ring, victim);
    tap_ok (wiped == expected && owned > 0, "anti-entropy: wiped the %zu copies on %zu (%zu as owner)", wiped,
            victim, owned);
    uint64_t wipe_ms = simnet_now (ring->net), back_ms = UINT64_MAX;
    while (simnet_now (ring->net) - wipe_ms < 3 * S_SYNC_MS) {
        s_run_for (ring, S_STABILIZE_MS);
        size_t held = 0;
        for (size_t i = 0; i < keys; i++) {
            char key[S_NAME_MAX];
            s_key_name (key, i);
            held += s_holds (ring, victim, key, ring->latest[i]);
        }
        if (held == expected && back_ms == UINT64_MAX)
            back_ms = simnet_now (ring->net) - wipe_ms;
    }
    size_t count = chord_store_count (simnet_node_store (ring->net, victim));
    tap_ok (back_ms != UINT64_MAX && count == expected,
            "anti-entropy: it holds its %zu copies again after %llu ms (%zu in its store)", expected,
            (unsigned long long) back_ms, count);
    uint64_t shipped = s_stat_sum (ring, sync_offset) - synced;
    tap_ok (shipped >= expected && shipped <= expected + 3 * owned,
            "anti-entropy: %llu records shipped for %zu missing, %zu of them owned (the ring holds %zu)",
            (unsigned long long) shipped, expected, owned, keys * S_REPLICAS);
    /*  Both replicas answer the owner's digests, so its own arc comes twice;
        and when one replica's records arrive before the other's SYNC_REPLY,
        the owner ships them back to that one too (node_sync.c,
        node_on_sync_reply ships the buckets as they are now), up to twice
        more.  */
    s_todo (shipped <= expected + owned,
            "node_on_sync_reply echoes records just received from the other replica",
            "anti-entropy: no record shipped more than once per replica (at most %zu)", expected + owned);
    tap_ok (s_keys_replicated (ring, keys) == 0, "anti-entropy: every key on its 3 holders");
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 6. A restart on a stale store. */

static void s_test_restart (void)
{
    const uint64_t seed = 601;
    tap_diag ("restart: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "restart: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, S_KEYS);
    const size_t *sorted;
    simnet_members (ring->net, &sorted);
    /* The member with most keys in its lesser role, owner or replica. */
    size_t victim = SIMNET_NONE, best = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        size_t owned, replicated;
        s_roles (ring, node, S_KEYS, &owned, &replicated);
        if ((owned < replicated ? owned : replicated) > best) {
            best = owned < replicated ? owned : replicated;
            victim = node;
        }
    }
    size_t held[S_KEYS], held_count = 0, owned = 0;
    for (size_t i = 0; i < S_KEYS; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        s_holders (ring, key, holders);
        if (s_in (victim, holders, S_REPLICAS))
            held[held_count++] = i;
        owned += holders[0] == victim;
    }
    simnet_crash (ring->net, victim);
    char why[512] = "";
    bool healed = s_converge (ring, why, sizeof why);
    tap_ok (healed, "restart: the ring heals without %zu%s%s", victim, healed ? "" : ": ", why);

    uint64_t first = ring->tokens + 1;
    for (size_t i = 0; i < held_count; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, held[i]);
        ring->latest[held[i]] =
            s_send (ring, s_random_member (ring, NULL, 0), CHORD_MSG_CLIENT_PUT, key, S_CLIENT_TMO_MS);
    }
    s_wait (ring, first, ring->tokens);
    size_t acked = 0;
    for (size_t i = 0; i < held_count; i++)
        acked += s_ok (&ring->results[ring->latest[held[i]]]);
    tap_ok (held_count > 0 && owned > 0 && acked == held_count,
            "restart: %zu of the %zu keys it held (%zu as owner) overwritten while it is down", acked,
            held_count, owned);

    size_t seeds[2] = {sorted[0], sorted[1]};
    if (seeds[0] == victim || seeds[1] == victim)
        seeds[seeds[0] == victim ? 0 : 1] = sorted[2];
    tap_ok (simnet_restart (ring->net, victim, seeds, 2) == 0, "restart: %zu restarts on its old store",
            victim);
    healed = s_converge (ring, why, sizeof why);
    tap_ok (healed, "restart: it is back in the ring at %llu ms%s%s",
            (unsigned long long) simnet_now (ring->net), healed ? "" : ": ", why);

    /* At once, through every member, the restarted one included. */
    first = ring->tokens + 1;
    size_t members = simnet_members (ring->net, &sorted);
    for (size_t m = 0; m < members; m++)
        for (size_t i = 0; i < held_count; i++) {
            char key[S_NAME_MAX];
            s_key_name (key, held[i]);
            s_send (ring, sorted[m], CHORD_MSG_CLIENT_GET, key, S_CLIENT_TMO_MS);
        }
    s_wait (ring, first, ring->tokens);
    size_t right = 0, asked = ring->tokens - first + 1;
    for (uint64_t token = first; token <= ring->tokens; token++)
        right += s_got (&ring->results[token], ring->latest[held[(token - first) % held_count]]);
    tap_ok (right == asked, "restart: %zu of %zu reads through the %zu members return the new values", right,
            asked, members);

    uint64_t restart_ms = simnet_now (ring->net), fresh_ms = UINT64_MAX;
    while (simnet_now (ring->net) - restart_ms < 5 * S_SYNC_MS && fresh_ms == UINT64_MAX) {
        size_t fresh = 0;
        for (size_t i = 0; i < held_count; i++) {
            char key[S_NAME_MAX];
            s_key_name (key, held[i]);
            fresh += s_holds (ring, victim, key, ring->latest[held[i]]);
        }
        if (fresh == held_count)
            fresh_ms = simnet_now (ring->net) - restart_ms;
        else
            s_run_for (ring, S_STABILIZE_MS);
    }
    tap_ok (fresh_ms != UINT64_MAX, "restart: its store holds the new versions %llu ms after it rejoined",
            (unsigned long long) fresh_ms);
    tap_ok (s_keys_replicated (ring, S_KEYS) == 0, "restart: every key on its 3 holders");
    s_check_quorum_kept (ring, "restart");
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 7. Deletes and tombstones. */

/* Hands node a REPLICATE of key's record, as if from peer `from`. */
static void s_replicate_items_by_hand (s_ring_t *ring, size_t node, size_t from, const chord_item_t *items,
                                       size_t count)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_REPLICATE, 1);
    msg->has_sender = true;
    msg->sender = *simnet_node_peer (ring->net, from);
    msg->fields = CHORD_F_ITEMS;
    msg->items = (chord_item_t *) items;
    msg->item_count = count;
    chord_origin_t origin = s_test_origin ();
    chord_node_handle (simnet_node (ring->net, node), msg, &origin, CHORD_ROLE_PEER, simnet_now (ring->net));
    free (msg);
}

static void s_replicate_by_hand (s_ring_t *ring, size_t node, size_t from, const char *key,
                                 const uint8_t *record, size_t size)
{
    chord_item_t item = {
        .key = (const uint8_t *) key, .key_len = strlen (key), .value = record, .value_len = size};
    s_replicate_items_by_hand (ring, node, from, &item, 1);
}

/* Copies node's stored record of key into out; returns its size, 0 when there is none or it does not fit. */
static size_t s_raw_record (s_ring_t *ring, size_t node, const char *key, uint8_t *out, size_t out_size)
{
    const uint8_t *data;
    size_t size;
    chord_store_t *store = simnet_node_store (ring->net, node);
    if (!store || chord_store_get (store, (const uint8_t *) key, strlen (key), &data, &size) != 0 ||
        size > out_size)
        return 0;
    memcpy (out, data, size);
    return size;
}

/* The holders[] (S_REPLICAS of them) that hold a tombstone for key. */
static size_t s_tombstones_on (s_ring_t *ring, const size_t *holders, const char *key)
{
    size_t count = 0;
    for (size_t j = 0; j < S_REPLICAS; j++)
        count += s_tombstone (ring, holders[j], key);
    return count;
}

/* Encodes a record into out (CHORD_RECORD_HEADER + S_NAME_MAX bytes); returns its size. */
static size_t s_encode (uint8_t *out, chord_version_t version, bool tombstone, const char *value)
{
    chord_record_t rec = {.version = version,
                          .tombstone = tombstone,
                          .value = (const uint8_t *) value,
                          .value_len = tombstone ? 0 : strlen (value)};
    chord_record_encode (&rec, out);
    return chord_record_size (&rec);
}

/* Reads of key through every member that come back NOT_FOUND; *asked gets how many were sent. */
static size_t s_not_found_everywhere (s_ring_t *ring, const char *key, size_t *asked)
{
    const size_t *sorted;
    size_t members = simnet_members (ring->net, &sorted);
    uint64_t first = ring->tokens + 1;
    for (size_t m = 0; m < members; m++)
        s_send (ring, sorted[m], CHORD_MSG_CLIENT_GET, key, S_CLIENT_TMO_MS);
    s_wait (ring, first, ring->tokens);
    size_t not_found = 0;
    for (uint64_t token = first; token <= ring->tokens; token++)
        not_found += ring->results[token].answered && ring->results[token].status == CHORD_STATUS_NOT_FOUND;
    *asked = members;
    return not_found;
}

/* Reads of key through every member that return the put with token. */
static size_t s_read_everywhere (s_ring_t *ring, const char *key, uint64_t token, size_t *asked)
{
    const size_t *sorted;
    size_t members = simnet_members (ring->net, &sorted);
    uint64_t first = ring->tokens + 1;
    for (size_t m = 0; m < members; m++)
        s_send (ring, sorted[m], CHORD_MSG_CLIENT_GET, key, S_CLIENT_TMO_MS);
    s_wait (ring, first, ring->tokens);
    size_t right = 0;
    for (uint64_t t = first; t <= ring->tokens; t++)
        right += s_got (&ring->results[t], token);
    *asked = members;
    return right;
}

static void s_test_deletes (void)
{
    const uint64_t seed = 701;
    const size_t keys = 20;
    tap_diag ("deletes: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "deletes: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, keys);
    char key[S_NAME_MAX], other[S_NAME_MAX];
    s_key_name (key, 0);
    s_key_name (other, 1);
    size_t holders[S_REPLICAS], other_holders[S_REPLICAS];
    s_holders (ring, key, holders);
    s_holders (ring, other, other_holders);
    chord_record_t rec;
    uint8_t old[CHORD_RECORD_HEADER + S_NAME_MAX];
    size_t old_size = s_raw_record (ring, holders[0], key, old, sizeof old);

    size_t entry = s_random_member (ring, holders, S_REPLICAS);
    const s_result_t *del = s_do (ring, entry, CHORD_MSG_CLIENT_DEL, key);
    tap_ok (s_ok (del), "deletes: a delete through %zu is OK", entry);
    del = s_do (ring, other_holders[0], CHORD_MSG_CLIENT_DEL, other);
    tap_ok (s_ok (del), "deletes: a delete at the owner is OK");
    s_run_for (ring, S_SPREAD_MS);
    size_t asked, not_found = s_not_found_everywhere (ring, key, &asked);
    tap_ok (not_found == asked, "deletes: %zu of %zu reads through every member say NOT_FOUND", not_found,
            asked);
    size_t tombstones = 0, others = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        if (s_in (node, holders, S_REPLICAS))
            tombstones += s_tombstone (ring, node, key);
        else
            others += s_record (ring, node, key, &rec) == 0;
    }
    tap_ok (tombstones == 3 && others == 0 && s_tombstones_on (ring, other_holders, other) == 3,
            "deletes: tombstones on the 3 holders, nothing elsewhere");

    /* A late copy of the value, at the version it had, to every holder. */
    for (size_t j = 0; j < S_REPLICAS; j++)
        s_replicate_by_hand (ring, holders[j], holders[0], key, old, old_size);
    tap_ok (old_size > 0 && s_tombstones_on (ring, holders, key) == 3,
            "deletes: a late REPLICATE of the old value is not kept");
    s_run_for (ring, 3 * S_SYNC_MS);
    not_found = s_not_found_everywhere (ring, key, &asked);
    tap_ok (not_found == asked && s_tombstones_on (ring, holders, key) == 3,
            "deletes: 3 sync intervals later still NOT_FOUND everywhere, 3 tombstones");

    /* The control: a REPLICATE newer than the tombstone is a write, and is kept. */
    chord_version_t newer = {0};
    if (s_record (ring, other_holders[0], other, &rec) == 0) {
        newer = rec.version;
        newer.hlc++;
    }
    uint8_t fresh[CHORD_RECORD_HEADER + S_NAME_MAX];
    size_t fresh_size = s_encode (fresh, newer, false, "v999");
    s_replicate_by_hand (ring, other_holders[0], other_holders[0], other, fresh, fresh_size);
    tap_ok (s_holds (ring, other_holders[0], other, 999),
            "deletes: a REPLICATE newer than the tombstone is kept (the control)");

    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 7b. The tombstone purge. */

/*  simnet gives its nodes no tombstone_grace_ms, so the default
    grace (an hour) applies; to run past it quickly this ring is small and
    its maintenance slow: a purge every 8 syncs of 4 s.  */
#define S_PURGE_NODES 6
#define S_PURGE_STABILIZE_MS 1000
#define S_PURGE_SYNC_MS 4000
#define S_PURGE_EVERY_MS (S_PURGE_SYNCS * S_PURGE_SYNC_MS)

static void s_test_purge (void)
{
    const uint64_t seed = 702;
    const size_t keys = 10;
    tap_diag ("purge: seed %llu", (unsigned long long) seed);
    simnet_config_t config;
    s_config (&config, seed, 0);
    config.stabilize_interval_ms = S_PURGE_STABILIZE_MS;
    config.rpc_timeout_ms = S_PURGE_STABILIZE_MS;
    config.sync_interval_ms = S_PURGE_SYNC_MS;
    s_ring_t *ring = s_ring_start (&config, S_PURGE_NODES);
    if (!tap_ok (ring != NULL, "purge: a ring of %d, syncing every %d ms", S_PURGE_NODES, S_PURGE_SYNC_MS))
        return;
    s_put_keys (ring, keys);
    char key[S_NAME_MAX];
    s_key_name (key, 0);
    size_t holders[S_REPLICAS];
    s_holders (ring, key, holders);
    uint8_t old[CHORD_RECORD_HEADER + S_NAME_MAX], tombstone[CHORD_RECORD_HEADER + S_NAME_MAX];
    size_t old_size = s_raw_record (ring, holders[0], key, old, sizeof old);
    const s_result_t *del =
        s_do (ring, s_random_member (ring, holders, S_REPLICAS), CHORD_MSG_CLIENT_DEL, key);
    uint64_t deleted_ms = simnet_now (ring->net);
    s_run_for (ring, S_SPREAD_MS);
    size_t tombstone_size = s_raw_record (ring, holders[0], key, tombstone, sizeof tombstone);
    tap_ok (s_ok (del) && s_tombstones_on (ring, holders, key) == 3 && old_size && tombstone_size,
            "purge: a delete leaves 3 tombstones");

    simnet_run_until (ring->net, deleted_ms + S_GRACE_MS - 2 * S_PURGE_EVERY_MS);
    tap_ok (s_tombstones_on (ring, holders, key) == 3,
            "purge: all 3 are there %d s before their grace ends, after %llu purge rounds",
            2 * S_PURGE_EVERY_MS / 1000,
            (unsigned long long) ((S_GRACE_MS - 2 * S_PURGE_EVERY_MS) / S_PURGE_EVERY_MS));
    for (size_t j = 0; j < S_REPLICAS; j++)
        s_replicate_by_hand (ring, holders[j], holders[0], key, old, old_size);
    tap_ok (s_tombstones_on (ring, holders, key) == 3,
            "purge: and a late REPLICATE of the old value is refused");

    uint64_t purged = s_stat_sum (ring, offsetof (chord_node_stats_t, tombstones_purged));
    simnet_run_until (ring->net, deleted_ms + S_GRACE_MS + 2 * S_PURGE_EVERY_MS);
    size_t left = 0;
    for (size_t node = 0; node < simnet_node_count (ring->net); node++) {
        chord_record_t rec;
        left += s_record (ring, node, key, &rec) == 0;
    }
    purged = s_stat_sum (ring, offsetof (chord_node_stats_t, tombstones_purged)) - purged;
    tap_ok (left == 0 && purged == 3, "purge: %d s after the grace no store holds the key (%llu purged)",
            2 * S_PURGE_EVERY_MS / 1000, (unsigned long long) purged);
    s_replicate_by_hand (ring, holders[0], holders[1], key, tombstone, tombstone_size);
    tap_ok (s_record (ring, holders[0], key, &(chord_record_t){0}) == 1,
            "purge: an expired tombstone sent late is not kept");
    size_t asked, not_found = s_not_found_everywhere (ring, key, &asked);
    tap_ok (not_found == asked, "purge: %zu of %zu reads through every member say NOT_FOUND", not_found,
            asked);
    size_t intact = 0;
    for (size_t i = 1; i < keys; i++) {
        char other[S_NAME_MAX];
        s_key_name (other, i);
        size_t other_holders[S_REPLICAS];
        s_holders (ring, other, other_holders);
        size_t held = 0;
        for (size_t j = 0; j < S_REPLICAS; j++)
            held += s_holds (ring, other_holders[j], other, ring->latest[i]);
        intact += held == S_REPLICAS;
    }
    tap_ok (intact == keys - 1, "purge: the %zu live keys keep their 3 copies", keys - 1);
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 7c. A deleted key comes back. */

/*  A copy left outside a key's holders. A peer that joins inside a key's
    window of R holders pushes the last one out, which keeps its copy; no
    anti-entropy reaches it (each owner syncs only with its current
    replicas), so a later delete never reaches it either. Once the
    tombstones are purged and the joiner goes, the old holder is back in
    the window, and the owner's sync ships it the old value as new.  */
static void s_test_zombie (void)
{
    const uint64_t seed = 703;
    const size_t keys = 30;
    tap_diag ("zombie: seed %llu", (unsigned long long) seed);
    simnet_config_t config;
    s_config (&config, seed, 0);
    config.stabilize_interval_ms = S_PURGE_STABILIZE_MS;
    config.rpc_timeout_ms = S_PURGE_STABILIZE_MS;
    config.sync_interval_ms = S_PURGE_SYNC_MS;
    s_ring_t *ring = s_ring_start (&config, S_PURGE_NODES);
    if (!tap_ok (ring != NULL, "zombie: a ring of %d", S_PURGE_NODES))
        return;
    s_put_keys (ring, keys);
    size_t joiner = simnet_add (ring->net);
    const size_t *sorted;
    simnet_members (ring->net, &sorted);
    size_t seed_node = sorted[0];
    simnet_start (ring->net, joiner, &seed_node, 1);
    char why[512] = "";
    bool joined = s_converge (ring, why, sizeof why);
    s_run_for (ring, 3 * S_PURGE_SYNC_MS);
    tap_ok (joined && s_keys_replicated (ring, keys) == 0,
            "zombie: %zu joins; every key on its 3 holders%s%s", joiner, joined ? "" : ": ", why);

    /* A key with a copy outside its holders. */
    size_t victim_key = SIZE_MAX, outsider = SIMNET_NONE;
    for (size_t i = 0; i < keys && victim_key == SIZE_MAX; i++) {
        char key[S_NAME_MAX];
        s_key_name (key, i);
        size_t holders[S_REPLICAS];
        s_holders (ring, key, holders);
        for (size_t node = 0; node < simnet_node_count (ring->net) && outsider == SIMNET_NONE; node++)
            if (!s_in (node, holders, S_REPLICAS) && s_holds (ring, node, key, ring->latest[i])) {
                victim_key = i;
                outsider = node;
            }
    }
    if (!tap_ok (victim_key != SIZE_MAX, "zombie: the join left a copy outside a key's holders")) {
        s_ring_destroy (&ring);
        return;
    }
    char key[S_NAME_MAX];
    s_key_name (key, victim_key);
    size_t holders[S_REPLICAS];
    s_holders (ring, key, holders);
    tap_diag ("zombie: %s held by %zu %zu %zu and outside by %zu", key, holders[0], holders[1], holders[2],
              outsider);
    const s_result_t *del = s_do (ring, holders[0], CHORD_MSG_CLIENT_DEL, key);
    uint64_t deleted_ms = simnet_now (ring->net);
    s_run_for (ring, S_SPREAD_MS);
    tap_ok (s_ok (del) && s_tombstones_on (ring, holders, key) == 3, "zombie: deleted; 3 tombstones");
    simnet_run_until (ring->net, deleted_ms + S_GRACE_MS + 2 * S_PURGE_EVERY_MS);
    size_t asked, not_found = s_not_found_everywhere (ring, key, &asked);
    tap_ok (not_found == asked, "zombie: after the purge, %zu of %zu reads say NOT_FOUND", not_found, asked);
    tap_ok (!s_holds (ring, outsider, key, ring->latest[victim_key]),
            "zombie: the copy outside the holders is gone too (no owner claimed it)");

    simnet_crash (ring->net, joiner);
    joined = s_converge (ring, why, sizeof why);
    s_run_for (ring, 3 * S_PURGE_SYNC_MS);
    not_found = s_not_found_everywhere (ring, key, &asked);
    size_t back = s_read_everywhere (ring, key, ring->latest[victim_key], &asked);
    tap_ok (joined && not_found == asked && back == 0,
            "zombie: once %zu crashes, reads still say NOT_FOUND (%zu of %zu; %zu return the deleted value)",
            joiner, not_found, asked, back);
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 8. Order. */

/* Hands the owner a STORE of key with the given op and version, as from peer `from`. */
static void s_store_by_hand (s_ring_t *ring, size_t owner, size_t from, chord_store_op_t op, const char *key,
                             const char *value, chord_version_t version)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_STORE, 1);
    msg->has_sender = true;
    msg->sender = *simnet_node_peer (ring->net, from);
    msg->fields = CHORD_F_OP | CHORD_F_KEY | CHORD_F_HLC | CHORD_F_WRITER;
    msg->op = op;
    msg->key = (const uint8_t *) key;
    msg->key_len = strlen (key);
    if (op == CHORD_STORE_OP_PUT) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = (const uint8_t *) value;
        msg->value_len = strlen (value);
    }
    msg->hlc = version.hlc;
    msg->writer = version.writer;
    chord_origin_t origin = s_test_origin ();
    chord_node_handle (simnet_node (ring->net, owner), msg, &origin, CHORD_ROLE_PEER, simnet_now (ring->net));
    free (msg);
}

/* Whether key's holders all hold one record, that of the put with token
   (0: any put's); *version gets it. */
static bool s_holders_agree (s_ring_t *ring, const char *key, uint64_t token, chord_version_t *version)
{
    size_t holders[S_REPLICAS];
    s_holders (ring, key, holders);
    uint64_t seen = 0;
    for (size_t j = 0; j < S_REPLICAS; j++) {
        chord_record_t rec;
        if (s_record (ring, holders[j], key, &rec) != 0 || rec.tombstone)
            return false;
        uint64_t held = s_value_token (rec.value, rec.value_len);
        if (j == 0) {
            *version = rec.version;
            seen = held;
        }
        if (held != seen || chord_version_compare (&rec.version, version) != 0)
            return false;
    }
    return seen != 0 && (token == 0 || seen == token);
}

static void s_test_order (void)
{
    const uint64_t seed = 801;
    tap_diag ("order: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "order: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, 4);
    char key[S_NAME_MAX];
    s_key_name (key, 0);
    size_t holders[S_REPLICAS];
    s_holders (ring, key, holders);
    size_t e1 = s_random_member (ring, holders, S_REPLICAS);
    size_t avoid[S_REPLICAS + 1] = {holders[0], holders[1], holders[2], e1};
    size_t e2 = s_random_member (ring, avoid, S_REPLICAS + 1);

    /* 1 ms apart through two entry peers: the later write wins. */
    uint64_t t1 = s_send (ring, e1, CHORD_MSG_CLIENT_PUT, key, S_CLIENT_TMO_MS);
    s_run_for (ring, 1);
    uint64_t t2 = s_send (ring, e2, CHORD_MSG_CLIENT_PUT, key, S_CLIENT_TMO_MS);
    s_wait (ring, t1, t2);
    s_run_for (ring, S_SPREAD_MS);
    chord_version_t version;
    tap_ok (s_ok (&ring->results[t1]) && s_ok (&ring->results[t2]),
            "order: two puts 1 ms apart through %zu, %zu OK", e1, e2);
    tap_ok (s_holders_agree (ring, key, t2, &version),
            "order: the 3 holders hold one record, the later put's");
    size_t asked, right = s_read_everywhere (ring, key, t2, &asked);
    tap_ok (right == asked, "order: %zu of %zu reads return it", right, asked);

    /* In the same millisecond: whichever wins, it wins everywhere. */
    char same[S_NAME_MAX];
    s_key_name (same, 1);
    uint64_t t3 = s_send (ring, e1, CHORD_MSG_CLIENT_PUT, same, S_CLIENT_TMO_MS);
    uint64_t t4 = s_send (ring, e2, CHORD_MSG_CLIENT_PUT, same, S_CLIENT_TMO_MS);
    s_wait (ring, t3, t4);
    s_run_for (ring, S_SPREAD_MS);
    chord_version_t same_version;
    bool agree = s_holders_agree (ring, same, 0, &same_version);
    chord_record_t rec;
    size_t same_holders[S_REPLICAS];
    s_holders (ring, same, same_holders);
    uint64_t winner =
        s_record (ring, same_holders[0], same, &rec) == 0 ? s_value_token (rec.value, rec.value_len) : 0;
    tap_ok (s_ok (&ring->results[t3]) && s_ok (&ring->results[t4]) && agree && (winner == t3 || winner == t4),
            "order: two puts in one millisecond: the holders agree on put %llu", (unsigned long long) winner);
    right = s_read_everywhere (ring, same, winner, &asked);
    tap_ok (right == asked, "order: %zu of %zu reads return it", right, asked);

    /* STOREs older than what the owner holds, by hand: none of them lands. */
    chord_version_t older_hlc = version, older_writer = version;
    older_hlc.hlc -= 1;
    older_writer.writer -= 1;
    s_store_by_hand (ring, holders[0], e1, CHORD_STORE_OP_PUT, key, "v777", older_hlc);
    s_store_by_hand (ring, holders[0], e1, CHORD_STORE_OP_PUT, key, "v778", older_writer);
    s_store_by_hand (ring, holders[0], e1, CHORD_STORE_OP_PUT, key, "v779", version);
    s_store_by_hand (ring, holders[0], e1, CHORD_STORE_OP_DEL, key, NULL, older_hlc);
    tap_ok (s_holds (ring, holders[0], key, t2),
            "order: older STOREs (hlc, writer, equal, a delete) do not replace it");
    s_run_for (ring, S_SPREAD_MS);
    chord_version_t after;
    tap_ok (s_holders_agree (ring, key, t2, &after) && chord_version_compare (&after, &version) == 0,
            "order: nor do the copies they sent the replicas");

    /* The control: a STORE newer by one is kept, on every holder. */
    chord_version_t newer = version;
    newer.hlc += 1;
    s_store_by_hand (ring, holders[0], e1, CHORD_STORE_OP_PUT, key, "v780", newer);
    s_run_for (ring, S_SPREAD_MS);
    tap_ok (s_holders_agree (ring, key, 780, &after) && chord_version_compare (&after, &newer) == 0,
            "order: a STORE newer by one replaces it on the 3 holders (the control)");
    s_check_quorum_kept (ring, "order");
    s_ring_destroy (&ring);
}

/* ---------------------------------------------------------------------- */
/* 11. Versions from the future: refused on every path a record enters. */

/* Holders of key (of S_REPLICAS) whose copy is the put with token. */
static size_t s_holding (s_ring_t *ring, const size_t *holders, const char *key, uint64_t token)
{
    size_t count = 0;
    for (size_t j = 0; j < S_REPLICAS; j++)
        count += s_holds (ring, holders[j], key, token);
    return count;
}

/* Hands node a final HANDOFF batch of two records, as if from peer `from`. */
static void s_handoff_by_hand (s_ring_t *ring, size_t node, size_t from, const chord_item_t *items)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_HANDOFF, 7);
    msg->has_sender = true;
    msg->sender = *simnet_node_peer (ring->net, from);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL | CHORD_F_COUNT;
    msg->transfer_id = 4242;
    msg->final = true;
    msg->count = 2;
    msg->items = (chord_item_t *) items;
    msg->item_count = 2;
    chord_origin_t origin = s_test_origin ();
    chord_node_handle (simnet_node (ring->net, node), msg, &origin, CHORD_ROLE_PEER, simnet_now (ring->net));
    free (msg);
}

/* Puts a record straight into node's store, as a copy it might hold. */
static void s_plant (s_ring_t *ring, size_t node, const char *key, chord_version_t version, const char *value)
{
    uint8_t record[CHORD_RECORD_HEADER + S_NAME_MAX];
    size_t size = s_encode (record, version, false, value);
    chord_store_put (simnet_node_store (ring->net, node), (const uint8_t *) key, strlen (key), record, size);
}

static void s_test_future (void)
{
    const uint64_t seed = 1101;
    tap_diag ("future: seed %llu", (unsigned long long) seed);
    s_ring_t *ring = s_ring_new (seed, S_NODES, 0);
    if (!tap_ok (ring != NULL, "future: a ring of %d", S_NODES))
        return;
    s_put_keys (ring, 5);
    s_run_for (ring, S_SPREAD_MS);
    char key[5][S_NAME_MAX];
    size_t holders[5][S_REPLICAS];
    for (size_t i = 0; i < 5; i++) {
        s_key_name (key[i], i);
        s_holders (ring, key[i], holders[i]);
    }
    chord_record_t rec;
    if (!tap_ok (s_record (ring, holders[0][0], key[0], &rec) == 0, "future: the owner holds key 0"))
        return;
    /* Ten years ahead is refused; a second ahead is within the skew (the controls). */
    chord_version_t now = rec.version, future = rec.version, near = rec.version;
    future.hlc += (uint64_t) 10 * 365 * 86400 * 1000 << 16;
    near.hlc += (uint64_t) 1000 << 16;
    size_t entry = s_random_member (ring, holders[0], S_REPLICAS);
    uint64_t refused = s_stats (ring, holders[0][0])->records_refused;

    /* STORE: a put and a delete from the future; then a near one. */
    s_store_by_hand (ring, holders[0][0], entry, CHORD_STORE_OP_PUT, key[0], "v9001", future);
    chord_version_t forever = {.hlc = UINT64_MAX, .writer = UINT64_MAX};
    s_store_by_hand (ring, holders[0][0], entry, CHORD_STORE_OP_DEL, key[0], NULL, forever);
    s_run_for (ring, S_SPREAD_MS);
    tap_ok (s_holding (ring, holders[0], key[0], 9001) == 0 && !s_tombstone (ring, holders[0][0], key[0]),
            "future: STOREs of a put 10 years ahead and a delete at hlc 2^64-1 land nowhere");
    tap_ok (s_stats (ring, holders[0][0])->records_refused >= refused + 2,
            "future: the owner counted both as refused");
    s_store_by_hand (ring, holders[0][0], entry, CHORD_STORE_OP_PUT, key[0], "v9002", near);
    s_run_for (ring, S_SPREAD_MS);
    tap_ok (s_holding (ring, holders[0], key[0], 9002) == S_REPLICAS,
            "future: a STORE 1 s ahead is kept on the 3 holders (the control)");
    uint64_t later = s_send (ring, entry, CHORD_MSG_CLIENT_PUT, key[0], S_CLIENT_TMO_MS);
    s_wait (ring, later, later);
    s_run_for (ring, S_SPREAD_MS);
    tap_ok (s_ok (&ring->results[later]) && s_holding (ring, holders[0], key[0], later) == S_REPLICAS,
            "future: and a client's put after it still wins on the 3 holders");

    /* REPLICATE: a copy from the future is not kept; a near one is. */
    uint8_t record[CHORD_RECORD_HEADER + S_NAME_MAX];
    size_t size = s_encode (record, future, false, "v9003");
    s_replicate_by_hand (ring, holders[1][1], holders[1][0], key[1], record, size);
    tap_ok (!s_holds (ring, holders[1][1], key[1], 9003), "future: a REPLICATE 10 years ahead is not kept");
    chord_version_t near_now = now;
    near_now.hlc = near.hlc + 1;
    size = s_encode (record, near_now, false, "v9004");
    s_replicate_by_hand (ring, holders[1][1], holders[1][0], key[1], record, size);
    tap_ok (s_holds (ring, holders[1][1], key[1], 9004), "future: a REPLICATE 1 s ahead is (the control)");

    /* HANDOFF: the future record is dropped, the near one in the same batch kept. */
    uint8_t far_record[CHORD_RECORD_HEADER + S_NAME_MAX], near_record[CHORD_RECORD_HEADER + S_NAME_MAX];
    chord_item_t items[2] = {
        {.key = (const uint8_t *) key[2], .key_len = strlen (key[2]), .value = far_record,
         .value_len = s_encode (far_record, future, false, "v9005")},
        {.key = (const uint8_t *) key[3], .key_len = strlen (key[3]), .value = near_record,
         .value_len = s_encode (near_record, near_now, false, "v9006")},
    };
    size_t receiver = holders[2][0];
    s_handoff_by_hand (ring, receiver, s_random_member (ring, &receiver, 1), items);
    tap_ok (!s_holds (ring, receiver, key[2], 9005) && s_holds (ring, receiver, key[3], 9006),
            "future: a HANDOFF keeps its record 1 s ahead and drops the one 10 years ahead");

    /* REPLICATE of a batch: the future record alone is refused, the one after it kept. */
    items[0].value_len = s_encode (far_record, future, false, "v9011");
    items[1].value_len = s_encode (near_record, near_now, false, "v9012");
    receiver = holders[2][1];
    s_replicate_items_by_hand (ring, receiver, holders[2][0], items, 2);
    tap_ok (!s_holds (ring, receiver, key[2], 9011) && s_holds (ring, receiver, key[3], 9012),
            "future: a REPLICATE batch keeps its record after one 10 years ahead");

    /* FETCH_REPLY: a replica's copy from the future never answers a read. */
    s_plant (ring, holders[4][1], key[4], future, "v9007");
    chord_store_del (simnet_node_store (ring->net, holders[4][0]), (const uint8_t *) key[4], strlen (key[4]));
    const s_result_t *read = s_do (ring, entry, CHORD_MSG_CLIENT_GET, key[4]);
    tap_ok (read->answered && !(read->has_value && s_value_token ((const uint8_t *) read->value,
                                                                 strlen (read->value)) == 9007),
            "future: a read whose owner lost the key is not answered with a replica's copy from the future");
    s_plant (ring, holders[4][1], key[4], near_now, "v9008");
    chord_store_del (simnet_node_store (ring->net, holders[4][0]), (const uint8_t *) key[4], strlen (key[4]));
    read = s_do (ring, entry, CHORD_MSG_CLIENT_GET, key[4]);
    tap_ok (s_got (read, 9008), "future: but with one 1 s ahead (the control)");

    /* SYNC: anti-entropy does not spread a copy from the future; it spreads a near one. */
    s_plant (ring, holders[2][1], key[2], future, "v9009");
    chord_version_t nearer = near_now;
    nearer.hlc++;
    s_plant (ring, holders[3][1], key[3], nearer, "v9010");
    s_run_for (ring, 4 * S_SYNC_MS);
    tap_ok (!s_holds (ring, holders[2][0], key[2], 9009) && !s_holds (ring, holders[2][2], key[2], 9009),
            "future: anti-entropy does not copy a record 10 years ahead to the other holders");
    tap_ok (s_holding (ring, holders[3], key[3], 9010) == S_REPLICAS,
            "future: it copies one 1 s ahead to all 3 (the control)");
    s_ring_destroy (&ring);
}

int main (void)
{
    s_test_placement ();
    s_test_quorum ();
    s_test_owner_crash ();
    s_test_read_repair ();
    s_test_read_quorum ();
    s_test_read_fallback ();
    s_test_forged_fetch_reply ();
    s_test_anti_entropy ();
    s_test_restart ();
    s_test_deletes ();
    s_test_purge ();
    s_test_zombie ();
    s_test_order ();
    s_test_future ();
    tap_ok (s_views_stale_total == 0 && s_views_checked_total > 500,
            "every kept replica set equalled a fresh walk of its node's ring (%llu compared, through crashes, "
            "restarts, partitions and joins)", (unsigned long long) s_views_checked_total);
    return tap_done ();
}
