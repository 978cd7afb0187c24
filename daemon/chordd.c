/*  chordd: one chord peer. Parses options, drives the protocol nodes (one
    per ring position) with ZeroMQ and a monotonic clock, and leaves
    gracefully on SIGTERM/SIGINT.

    Group commit: the stores' writes are made durable a batch at a time
    (store.h's begin and commit), one batch around the ticks and one
    around each CHORDD_BATCH_MAX messages received, and what the nodes
    queued is sent only once the batch it came from is committed. So a
    reply, an ack or a copy to a replica never runs ahead of the writes it
    stands for, and an on-disk store syncs once per batch, not per write.  */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "auth.h"
#include "clocks.h"
#include "conn_guard.h"
#include "fd_budget.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "options.h"
#include "positions.h"
#include "resp.h"
#include "route.h"
#include "store_lmdb.h"
#include "transport.h"

#define CHORDD_POLL_MAX_MS    1000   /* wake at least this often */
#define CHORDD_EXIT_LINGER_MS 300    /* time for the last replies and notices to go out */
#define CHORDD_REQUEST_ID_BITS 40    /* each position's request ids: position << 40 onwards */
#define CHORDD_BATCH_MAX      64     /* messages handled per commit: the most a reply waits for others */
static volatile sig_atomic_t s_signals;
static volatile sig_atomic_t s_reload;     /* SIGHUP: re-read --clients and --http-tokens */

static void s_on_signal (int signo)
{
    if (signo == SIGHUP)
        s_reload = 1;
    else
        s_signals++;
}

/* One ring position held by this process. */
typedef struct {
    chord_node_t *node;
    chord_store_t *store;
    unsigned index;                     /* its id is BLAKE2b of ENDPOINT#index; its store pos-<index> */
    bool batching;                      /* its store's batch is open */
    char name[16];                      /* "pos 3" in logs, when there are several */
} s_position_t;

#define S_POSITION_DIR_MAX (CHORDD_DATA_DIR_MAX + 16) /* bytes in "DIR/pos-<i>" */

typedef struct {
    s_position_t positions[CHORDD_VNODES_MAX];
    chord_id_t ids[CHORDD_VNODES_MAX];  /* each position's id, set once at start, for routing */
    size_t count;
    chordd_transport_t *transport;
    chordd_auth_t *auth;                /* our ZAP handler with --secret; else NULL */
    chord_msg_t *scratch;               /* the message being handled */
    chord_msg_t *outgoing;              /* the message a position builds, lent to all of them */
    uint64_t dropped;                   /* undecodable or unroutable */
    chordd_http_daemon_stats_t counted; /* the same by reason, and commit durations, for /metrics */
    size_t batched;                     /* messages handled since the batch began */
    bool store_failed;                  /* a commit failed: handle and send nothing more */
    uint64_t by_type[64];               /* messages handled, by type, for the exit report */
    chordd_http_t *http;                /* --http's server; else NULL */
    chordd_resp_t *resp;                /* --resp's server; else NULL */
    chordd_http_snapshot_t *snapshot;   /* filled for them, then published */
    uint64_t published_ms;              /* when the last snapshot was published */
} s_peer_t;

static int s_send (s_peer_t *peer);
static void s_batch_begin (s_peer_t *peer);

/*  Routes a message to its position: requests by their target id (none
    means position 0), replies by the request id range of the position
    that asked. Every CHORDD_BATCH_MAX messages, commits and sends.  */
static void s_on_message (void *arg, const uint8_t *data, size_t size, const chord_origin_t *origin,
                          chord_role_t role)
{
    s_peer_t *peer = arg;
    chord_msg_t *msg = peer->scratch;
    if (peer->store_failed) {
        peer->dropped++;
        peer->counted.dropped_stopped++;
        return;
    }
    if (chord_msg_decode (msg, data, size) != 0) {
        peer->dropped++;
        peer->counted.dropped_undecodable++;
        chordd_log (CHORD_LOG_DEBUG, "dropped an undecodable message of %zu bytes", size);
        return;
    }
    if ((unsigned) msg->type < 64)
        peer->by_type[msg->type]++;
    size_t index = chordd_route_position (msg, origin != NULL, peer->ids, peer->count, CHORDD_REQUEST_ID_BITS);
    if (index < peer->count)
        chord_node_handle (peer->positions[index].node, msg, origin, role, chordd_now_ms ());
    else {
        peer->dropped++;
        peer->counted.dropped_unroutable++;
        chordd_log (CHORD_LOG_DEBUG, "dropped a %s message for a position we do not hold",
                    chord_msg_type_name (msg->type));
    }
    chord_msg_clear (msg);
    if (++peer->batched >= CHORDD_BATCH_MAX && s_send (peer) == 0)
        s_batch_begin (peer);
}

/*  A Redis door's request: to the position that owns its key when one
    does, sparing position 0 a forward to ourselves over ZeroMQ; else to
    position 0, which routes it. The door checked the connection's role
    (AUTH) already. Counted in the batch as a message received.  */
static void s_resp_submit (void *arg, const chord_msg_t *request, const chord_origin_t *origin, uint64_t now_ms)
{
    s_peer_t *peer = arg;
    if (peer->store_failed) {
        peer->dropped++;
        peer->counted.dropped_stopped++;
        return;
    }
    chord_id_t key_id;
    chord_id_hash (&key_id, request->key, request->key_len);
    size_t index = 0;
    for (size_t i = 0; i < peer->count && peer->count > 1; i++)
        if (chord_node_owns_key (peer->positions[i].node, &key_id)) {
            index = i;
            break;
        }
    peer->by_type[request->type]++;
    chord_node_handle (peer->positions[index].node, request, origin, CHORD_ROLE_WRITE, now_ms);
    if (++peer->batched >= CHORDD_BATCH_MAX && s_send (peer) == 0)
        s_batch_begin (peer);
}

/* Sends everything the positions queued. Only s_send calls it, once the
   writes behind those messages are committed. */
static void s_flush (s_peer_t *peer)
{
    chord_outgoing_t out;
    for (size_t i = 0; i < peer->count; i++)
        while (chord_node_pop_outgoing (peer->positions[i].node, &out)) {
            if (out.kind == CHORD_DEST_PEER)
                chordd_transport_send_peer (peer->transport, out.endpoint, out.data, out.size);
            else if (chordd_resp_is_origin (&out.origin))
                chordd_resp_deliver (peer->resp, &out.origin, out.data, out.size);
            else
                chordd_transport_send_origin (peer->transport, &out.origin, out.data, out.size);
        }
}

/* Frees everything the positions queued, unsent. */
static void s_drop_outgoing (s_peer_t *peer)
{
    chord_outgoing_t out;
    size_t dropped = 0;
    for (size_t i = 0; i < peer->count; i++)
        while (chord_node_pop_outgoing (peer->positions[i].node, &out)) {
            free (out.data);
            dropped++;
        }
    chordd_log (CHORD_LOG_ERROR, "dropped %zu messages that answered for writes that are not durable",
                dropped);
}

/* Opens a batch on every store that has none open. A store that cannot
   open one goes on writing durably write by write. */
static void s_batch_begin (s_peer_t *peer)
{
    peer->batched = 0;
    for (size_t i = 0; i < peer->count; i++) {
        s_position_t *position = &peer->positions[i];
        if (!position->batching)
            position->batching = chord_store_begin (position->store) == 0;
    }
}

/*  Commits the open batches, then sends what the positions queued.
    Returns 0, or -1 when a commit failed; then nothing is sent, and the
    peer must stop.

    Why stop. A failed commit means the batch's writes may be gone while
    the nodes, which handled its messages, believe them made: memory and
    store disagree. Dropping the batch's replies and acks is needed (no
    false acknowledgement) but not enough, because the nodes carry state
    across batches that rests on those writes, and a later batch would
    vouch for it. For one, a handoff comes in several messages and the
    receiver acks the count of keys it stored with the last one: if an
    earlier message's keys were in the failed batch, that later ack tells
    the sender all is safe, and it deletes them. The one state still true
    is the store's last commit, so the peer stops without sending more and
    without a graceful leave (which would hand off and ack more).
    Restarted on the same --data-dir it starts from that state, as after a
    crash, which the protocol survives. Messages sent before came from
    committed batches. A commit fails on an I/O error or a full disk
    (after a failed fsync, retrying is not safe either); a full store
    refuses the write itself and does not fail the commit.  */
static int s_send (s_peer_t *peer)
{
    if (peer->store_failed)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < peer->count; i++) {
        s_position_t *position = &peer->positions[i];
        /* Timed only where the backend has batches: a no-op commit is no measure. */
        bool timed = position->batching && position->store->ops->commit;
        uint64_t started_us = timed ? chordd_now_us () : 0;
        int committed = position->batching ? chord_store_commit (position->store) : 0;
        if (timed)
            chord_histogram_observe (&peer->counted.commit_duration_us, &chord_duration_us_bounds,
                                     chordd_now_us () - started_us);
        if (committed != 0) {
            chordd_log (CHORD_LOG_ERROR,
                        "%s: cannot make the writes of a batch durable (I/O error or full disk?): "
                        "stopping without acknowledging them",
                        position->name);
            rc = -1;
        }
        position->batching = false;
    }
    peer->batched = 0;
    if (rc != 0) {
        peer->store_failed = true;
        s_drop_outgoing (peer);
        return -1;
    }
    s_flush (peer);
    return 0;
}

static bool s_all_left (const s_peer_t *peer)
{
    for (size_t i = 0; i < peer->count; i++)
        if (chord_node_state (peer->positions[i].node) != CHORD_NODE_LEFT)
            return false;
    return true;
}

static bool s_any_leaving (const s_peer_t *peer)
{
    for (size_t i = 0; i < peer->count; i++)
        if (chord_node_state (peer->positions[i].node) >= CHORD_NODE_LEAVING)
            return true;
    return false;
}

/*  Positions leave one at a time, and a position leaves only once its
    predecessor is not one of ours: it then hands its keys to its successor
    (ours or not, but serving) and tells that successor its new, foreign
    predecessor in the same acknowledged handoff. No step depends on a
    notice still in flight between two of our positions.  */
static void s_leave_next (s_peer_t *peer, const char *endpoint, uint64_t now_ms)
{
    chord_node_t *next = NULL;
    for (size_t i = 0; i < peer->count; i++) {
        chord_node_t *node = peer->positions[i].node;
        chord_node_state_t state = chord_node_state (node);
        if (state == CHORD_NODE_LEAVING)
            return;
        if (state == CHORD_NODE_LEFT)
            continue;
        const chord_peer_t *pred = chord_node_predecessor (node);
        if (!pred || strcmp (pred->endpoint, endpoint) != 0) {
            next = node;
            break;
        }
        if (!next)
            next = node;   /* the ring holds only our positions */
    }
    if (next)
        chord_node_leave (next, now_ms);
}

static int s_install_signals (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;   /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset (&action.sa_mask);
    if (sigaction (SIGTERM, &action, NULL) != 0 || sigaction (SIGINT, &action, NULL) != 0
        || sigaction (SIGHUP, &action, NULL) != 0)
        return -1;
    signal (SIGPIPE, SIG_IGN);
    return 0;
}

static void s_peer_destroy (s_peer_t *peer)
{
    //  The HTTP thread first: it reads only snapshots, but goes before the nodes all the same.
    chordd_http_stop (&peer->http);
    chordd_resp_stop (&peer->resp);
    free (peer->snapshot);
    for (size_t i = 0; i < peer->count; i++) {
        chord_node_destroy (&peer->positions[i].node);
        chord_store_destroy (&peer->positions[i].store);
    }
    free (peer->scratch);
    free (peer->outgoing);
    chordd_transport_destroy (&peer->transport, CHORDD_EXIT_LINGER_MS);
    chordd_auth_destroy (&peer->auth);
}

/* Logs how many clients of each role the ZAP handler admits now. */
static void s_log_clients (const chordd_auth_t *auth, const char *path, const char *what)
{
    chordd_log (CHORD_LOG_INFO, "%s %s: admitting %zu read, %zu write and %zu admin clients, and peers "
                "holding the ring's key", what, path, chordd_auth_count (auth, CHORD_ROLE_READ),
                chordd_auth_count (auth, CHORD_ROLE_WRITE), chordd_auth_count (auth, CHORD_ROLE_ADMIN));
}

/* SIGHUP: re-reads --clients and --http-tokens; a bad file keeps the table in use. */
static void s_reload_clients (s_peer_t *peer, const chordd_options_t *options)
{
    s_reload = 0;
    char error[1024];
    if (options->http_tokens && peer->http
        && chordd_http_tokens_load (peer->http, options->http_tokens, "SIGHUP: re-read", error, sizeof error))
        chordd_log (CHORD_LOG_ERROR, "SIGHUP: --http-tokens: %s: keeping the tokens held before", error);
    if (options->http_tokens && peer->resp
        && chordd_resp_tokens_load (peer->resp, options->http_tokens, error, sizeof error))
        chordd_log (CHORD_LOG_ERROR, "SIGHUP: --http-tokens for --resp: %s: keeping the tokens held before", error);
    if (!options->clients) {
        if (!options->http_tokens)
            chordd_log (CHORD_LOG_INFO, "SIGHUP: no --clients file to re-read");
        return;
    }
    if (chordd_auth_load (peer->auth, options->clients, error, sizeof error) != 0)
        chordd_log (CHORD_LOG_ERROR, "SIGHUP: %s: keeping the clients admitted before", error);
    else
        s_log_clients (peer->auth, options->clients, "SIGHUP: re-read");
}

/*  With --secret: derives the ring's key pair, makes the ZAP handler and
    loads --clients into it, filling *curve. Without it: warns when the ring
    is open on a network (--insecure). Returns 0, or -1 after printing.  */
static int s_security_setup (s_peer_t *peer, const chordd_options_t *options, chordd_transport_curve_t *curve)
{
    if (!options->secret) {
        if (options->insecure)
            chordd_log (CHORD_LOG_WARN, "--insecure: the ring is open on %s: no encryption and no "
                        "authentication, so anyone who reaches it may read, write, join and make peers leave",
                        options->listen);
        return 0;
    }
    char error[1024];
    uint8_t secret[CHORD_SECRET_BYTES];
    if (chord_keys_secret_read (options->secret, secret, error, sizeof error) != 0) {
        fprintf (stderr, "chordd: --secret: %s\n", error);
        return -1;
    }
    chord_keys_ring_pair (secret, &curve->ring);
    sodium_memzero (secret, sizeof secret);
    peer->auth = curve->auth = chordd_auth_new (curve->ring.public_key);
    if (!peer->auth) {
        fprintf (stderr, "chordd: out of memory\n");
        return -1;
    }
    if (options->clients && chordd_auth_load (peer->auth, options->clients, error, sizeof error) != 0) {
        fprintf (stderr, "chordd: --clients: %s\n", error);
        return -1;
    }
    char ring_z85[CHORD_KEY_Z85_LEN + 1];
    chord_keys_z85_encode (ring_z85, curve->ring.public_key);
    chordd_log (CHORD_LOG_INFO, "secured with CURVE: the ring's public key is %s", ring_z85);
    if (options->clients)
        s_log_clients (peer->auth, options->clients, "read");
    return 0;
}

/*  Prints why the store of a position cannot be used, on one line. The
    store's reasons mostly name the directory already.  */
static void s_store_failed (const char *dir, const char *reason)
{
    if (strstr (reason, dir))
        fprintf (stderr, "chordd: %s\n", reason);
    else
        fprintf (stderr, "chordd: cannot use data directory %s: %s\n", dir, reason);
}

/*  Makes the data directory when it is missing, and refuses one that holds
    other things than pos-<i> stores: a mistyped --data-dir must not get
    stores written into it. With --placement first, warns of stores of
    positions beyond --vnodes, whose keys no position serves now. Returns
    0, or -1 after printing.  */
static int s_data_dir_check (const chordd_options_t *options)
{
    const char *dir = options->data_dir;
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "chordd: cannot create data directory %s: %s\n", dir, strerror (errno));
        return -1;
    }
    DIR *listing = opendir (dir);
    if (!listing) {
        fprintf (stderr, "chordd: cannot open data directory %s: %s\n", dir, strerror (errno));
        return -1;
    }
    const char *stranger = NULL;
    struct dirent *entry;
    while (!stranger && (entry = readdir (listing))) {
        const char *name = entry->d_name;
        unsigned index;
        if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strcmp (name, "lost+found") == 0)
            continue;
        if (!chordd_positions_store_name (name, &index))
            stranger = name;
        else if (options->placement == CHORDD_PLACEMENT_FIRST && index >= options->vnodes)
            chordd_log (CHORD_LOG_WARN, "%s/%s holds the keys of position %u, which this peer no longer has "
                        "(--vnodes %u): they are not served", dir, name, index, options->vnodes);
    }
    if (stranger)
        fprintf (stderr, "chordd: data directory %s is not a chord data directory: it holds '%s' (only "
                 "pos-<i> stores belong there)\n", dir, stranger);
    closedir (listing);
    return stranger ? -1 : 0;
}

/*  Opens a store for each of the count positions, whose indices are
    given: in memory, or on disk under --data-dir. Returns 0, or -1 after
    printing why (the stores opened so far stay in peer for
    s_peer_destroy).  */
static int s_peer_open_stores (s_peer_t *peer, const chordd_options_t *options, const unsigned *indices,
                               size_t count)
{
    for (size_t k = 0; k < count; k++) {
        unsigned i = indices[k];
        s_position_t *position = &peer->positions[k];
        position->index = i;
        if (!options->data_dir) {
            position->store = chord_store_mem_new ();
            if (!position->store) {
                fprintf (stderr, "chordd: out of memory\n");
                return -1;
            }
            peer->count++;
            continue;
        }
        char dir[S_POSITION_DIR_MAX];
        char identity[CHORD_ENDPOINT_MAX + 16];
        char reason[CHORDD_STORE_LMDB_IDENTITY_MAX * 2 + S_POSITION_DIR_MAX + 256];
        snprintf (dir, sizeof dir, "%s/pos-%u", options->data_dir, i);
        snprintf (identity, sizeof identity, "%s#%u", options->advertise, i);
        reason[0] = 0;
        position->store = chordd_store_lmdb_open (dir, identity, options->store_max_mb << 20, options->no_fsync,
                                                  reason, sizeof reason);
        if (!position->store) {
            s_store_failed (dir, reason[0] ? reason : "unknown error");
            return -1;
        }
        peer->count++;
        chordd_log (CHORD_LOG_INFO, "position %u: %zu records (keys and tombstones) restored from %s", i,
                    chord_store_count (position->store), dir);
    }
    return 0;
}

/* Creates and starts every position, over the stores already open.
   Returns 0, or -1 after logging. */
static int s_peer_start (s_peer_t *peer, const chordd_options_t *options, int64_t wall_offset_ms)
{
    for (size_t k = 0; k < peer->count; k++) {
        s_position_t *position = &peer->positions[k];
        unsigned i = position->index;
        snprintf (position->name, sizeof position->name, "pos %u", i);
        chord_node_config_t config = {
            .endpoint = options->advertise,
            .successors = options->successors,
            .stabilize_interval_ms = options->stabilize_ms,
            .rpc_timeout_ms = options->rpc_timeout_ms,
            .owner_cache_size = options->owner_cache,
            .request_id_base = ((uint64_t) k << CHORDD_REQUEST_ID_BITS) + 1,
            .replicas = options->replicas,
            .write_quorum = options->write_quorum,
            .tombstone_grace_ms = options->tombstone_grace_ms,
            .sync_interval_ms = options->sync_ms,
            .wall_offset_ms = wall_offset_ms,
            .max_clock_skew_ms = options->max_clock_skew_ms,
        };
        chord_id_of_position (&config.id, options->advertise, i);
        peer->ids[k] = config.id;
        chord_env_t env = {
            .random_bytes = chordd_random_bytes,
            .log = chordd_log_line,
            .log_arg = peer->count > 1 ? position->name : NULL,
            .log_no_debug = !chordd_log_enabled (CHORD_LOG_DEBUG),
            .outgoing = peer->outgoing,   /* one loop handles one input at a time: one will do */
        };
        env.store = position->store;
        position->node = chord_node_new (&config, &env);
        if (!position->node) {
            chordd_log (CHORD_LOG_ERROR, "cannot create ring position %u (out of memory?)", i);
            return -1;
        }
    }
    /* Position 0 starts or joins the ring; the others join through the
       seeds, or through position 0 when this peer starts the ring. */
    const char *self_seed[1] = {options->advertise};
    uint64_t now = chordd_now_ms ();
    for (size_t i = 0; i < peer->count; i++) {
        bool founder = options->seed_count == 0;
        const char *const *seeds = founder && i > 0 ? self_seed : options->seeds;
        size_t seed_count = founder && i > 0 ? 1 : options->seed_count;
        chord_node_start (peer->positions[i].node, seeds, seed_count, now);
    }
    return 0;
}

/* Warns when the successor list may be too short to hold every copy. */
static void s_warn_successors (const chordd_options_t *options)
{
    if (options->replicas > 1 && options->successors < options->replicas * options->vnodes &&
        options->successors < CHORD_SUCCESSORS_MAX)
        chordd_log (CHORD_LOG_WARN,
                    "--successors %zu may be too few to find %zu distinct peers for each key's copies "
                    "with --vnodes %u (%zu would do)",
                    options->successors, options->replicas, options->vnodes, options->replicas * options->vnodes);
}

/*  --resp and --http: serve from the snapshots the main loop publishes;
    before the first, every position is "not chosen yet". Returns 0, or
    after printing -2 for a bad --http-tokens file and -1 for anything else.  */
static int s_http_start (s_peer_t *peer, const chordd_options_t *options, const chord_client_curve_t *curve)
{
    char error[512];
    if (options->resp) {
        peer->resp = chordd_resp_start (&options->resp_address, options->resp_address_len, options->resp,
                                        options->advertise, options->replicas, curve != NULL, s_resp_submit, peer,
                                        error, sizeof error);
        if (!peer->resp || (options->http_tokens && chordd_resp_tokens_load (peer->resp, options->http_tokens,
                                                                             error, sizeof error) != 0)) {
            fprintf (stderr, "chordd: --resp: %s\n", error);
            return peer->resp ? -2 : -1;
        }
    }
    if (!options->http)
        return 0;
    peer->http = chordd_http_start (&options->http_address, options->http_address_len, options->http,
                                    options->advertise, curve, error, sizeof error);
    if (!peer->http) {
        fprintf (stderr, "chordd: --http: %s\n", error);
        return -1;
    }
    if (options->http_tokens && chordd_http_tokens_load (peer->http, options->http_tokens, "read", error,
                                                         sizeof error) != 0) {
        fprintf (stderr, "chordd: --http-tokens: %s\n", error);
        return -2;
    }
    if (options->secret && !options->http_tokens)
        chordd_log (CHORD_LOG_INFO, "http: no --http-tokens: only the probes answer, to loopback alone");
    return 0;
}

/*  Publishes what the HTTP endpoints serve, at most every
    CHORDD_HTTP_PUBLISH_MS unless forced. Between batches: the stores'
    counts are of committed writes.  */
static void s_publish (s_peer_t *peer, uint64_t now, bool force)
{
    if ((!peer->http && !peer->resp) || (!force && now - peer->published_ms < CHORDD_HTTP_PUBLISH_MS))
        return;
    chordd_http_snapshot_t *snapshot = peer->snapshot;
    snapshot->count = peer->count;
    snapshot->dropped = peer->dropped;
    snapshot->daemon = peer->counted;
    for (size_t i = 0; i < peer->count; i++) {
        const s_position_t *position = &peer->positions[i];
        chordd_http_position_t *out = &snapshot->positions[i];
        const chord_peer_t *pred = chord_node_predecessor (position->node);
        out->index = position->index;
        chord_id_to_hex (&peer->ids[i], out->id);
        out->state = chord_node_state (position->node);
        out->has_predecessor = pred != NULL;
        snprintf (out->predecessor, sizeof out->predecessor, "%s", pred ? pred->endpoint : "");
        snprintf (out->successor, sizeof out->successor, "%s", chord_node_successor (position->node)->endpoint);
        out->records = chord_store_count (position->store);
        out->stats = *chord_node_stats (position->node);
        chord_node_gauges (position->node, &out->gauges);
    }
    chordd_http_publish (peer->http, snapshot);
    chordd_resp_publish (peer->resp, snapshot);
    peer->published_ms = now;
}

/*  Opens the stores, sets up security, binds and starts every position.
    Returns 0, or the exit status after logging why (the caller destroys
    the peer).  */
static int s_peer_open (s_peer_t *peer, const chordd_options_t *options)
{
    //  The data directory first: one we may not use must stop us before
    //  we walk the ring, bind, let alone join.
    if (options->data_dir && s_data_dir_check (options) != 0)
        return 1;
    chordd_transport_curve_t curve;
    if (s_security_setup (peer, options, &curve) != 0)
        return 2;
    //  A secured ring is walked with the ring's own key pair, as a peer,
    //  and the HTTP side reaches it so too.
    chord_client_curve_t client_curve = {.own = curve.ring};
    memcpy (client_curve.server, curve.ring.public_key, sizeof client_curve.server);
    //  Only --http and --resp read snapshots (some 200 KB).
    bool serves = options->http || options->resp;
    if (serves && !(peer->snapshot = calloc (1, sizeof *peer->snapshot)))
        fprintf (stderr, "chordd: out of memory\n");
    int http_rc = serves && !peer->snapshot ? -1 : s_http_start (peer, options, options->secret ? &client_curve : NULL);
    if (http_rc != 0) {
        sodium_memzero (&client_curve, sizeof client_curve);
        return http_rc == -2 ? 2 : 1;     /* a bad --http-tokens is a bad option, as a bad --clients */
    }
    unsigned indices[CHORDD_VNODES_MAX];
    size_t count = 0;
    if (chordd_positions_choose (options, options->secret ? &client_curve : NULL, &s_signals, indices, &count) != 0)
        return 1;
    sodium_memzero (&client_curve, sizeof client_curve);
    for (size_t k = 0; k < count; k++) {
        chord_id_t id;
        char hex[CHORD_ID_HEX_LEN + 1];
        chord_id_of_position (&id, options->advertise, indices[k]);
        chord_id_to_hex (&id, hex);
        chordd_log (CHORD_LOG_INFO, "position %u of %s has id %s", indices[k], options->advertise, hex);
    }
    if (s_peer_open_stores (peer, options, indices, count) != 0)
        return 1;
    uint64_t fd_limit = chordd_fd_limit_raise ();
    size_t max_connections = chordd_fd_max_connections (options, fd_limit);
    chordd_log (CHORD_LOG_INFO, "open files: %llu; at most %zu connections to %s", (unsigned long long) fd_limit,
                max_connections, options->listen);
    peer->transport = chordd_transport_new (options->listen, max_connections, options->secret ? &curve : NULL);
    if (!peer->transport) {
        chordd_log (CHORD_LOG_ERROR, "cannot listen on %s: %s", options->listen, strerror (errno));
        return 1;
    }
    chordd_log (CHORD_LOG_INFO, "listening on %s as %s", options->listen, options->advertise);
    peer->scratch = malloc (sizeof *peer->scratch);
    peer->outgoing = malloc (sizeof *peer->outgoing);
    s_batch_begin (peer);
    if (!peer->scratch || !peer->outgoing || s_peer_start (peer, options, chordd_wall_offset_ms ()) != 0 ||
        s_send (peer) != 0)
        return 1;
    s_publish (peer, chordd_now_ms (), true);
    return 0;
}

/* Ticks every position that is due; returns the earliest next deadline. */
static uint64_t s_tick_positions (s_peer_t *peer, uint64_t now)
{
    uint64_t deadline = UINT64_MAX;
    for (size_t i = 0; i < peer->count; i++) {
        uint64_t next = chord_node_next_deadline_ms (peer->positions[i].node);
        if (next <= now) {
            chord_node_tick (peer->positions[i].node, now);
            next = chord_node_next_deadline_ms (peer->positions[i].node);
        }
        if (next < deadline)
            deadline = next;
    }
    return deadline;
}

/*  The event loop: until every position has left, or a second signal, or
    the leave times out. Returns the exit status.  */
static int s_peer_run (s_peer_t *peer, const chordd_options_t *options)
{
    int exit_code = 0;
    bool leaving = false;
    uint64_t leave_deadline = 0;
    while (!s_all_left (peer)) {
        uint64_t now = chordd_now_ms ();
        if (s_reload)
            s_reload_clients (peer, options);
        if (s_signals > 1) {
            chordd_log (CHORD_LOG_WARN, "second signal: exiting without finishing the leave");
            exit_code = 1;
            break;
        }
        if ((s_signals > 0 || s_any_leaving (peer)) && !leaving) {
            /* A signal, or chordctl leave to any position: the whole peer goes. */
            chordd_log (CHORD_LOG_INFO, "leaving the ring");
            leaving = true;
            leave_deadline = now + options->leave_timeout_ms;
        }
        s_batch_begin (peer);
        if (leaving) {
            s_leave_next (peer, options->advertise, now);
            if (s_all_left (peer))
                break;
        }
        if (leaving && now >= leave_deadline) {
            chordd_log (CHORD_LOG_ERROR, "leave did not finish within %u ms: exiting", options->leave_timeout_ms);
            exit_code = 1;
            break;
        }
        uint64_t deadline = s_tick_positions (peer, now);
        if (s_send (peer) != 0)
            break;
        uint64_t wait = deadline > now ? deadline - now : 0;
        if (wait > CHORDD_POLL_MAX_MS)
            wait = CHORDD_POLL_MAX_MS;
        if (leaving && leave_deadline - now < wait)
            wait = leave_deadline - now;
        s_batch_begin (peer);
        zmq_pollitem_t *door = NULL;
        bool door_busy = false;
        size_t door_count = peer->resp ? chordd_resp_prepare (peer->resp, now, &door, &door_busy) : 0;
        chordd_transport_poll_extra (peer->transport, door_busy ? 0 : (int) wait, door, door_count, s_on_message,
                                     peer);
        if (peer->resp)
            chordd_resp_handle (peer->resp, chordd_now_ms ());
        if (s_send (peer) != 0)
            break;
        s_publish (peer, chordd_now_ms (), false);
    }
    if (s_send (peer) != 0)
        exit_code = 1;
    return exit_code;
}

/* Logs the peer's totals at exit. */
static void s_peer_report (const s_peer_t *peer)
{
    chord_node_stats_t total = {0};
    for (size_t i = 0; i < peer->count; i++) {
        const chord_node_stats_t *stats = chord_node_stats (peer->positions[i].node);
        total.messages_received += stats->messages_received;
        total.messages_dropped += stats->messages_dropped;
        total.keys_handed_off += stats->keys_handed_off;
        total.keys_taken_over += stats->keys_taken_over;
    }
    chordd_log (CHORD_LOG_INFO,
                "exiting: %llu messages handled, %llu dropped, %llu keys handed off, %llu taken over",
                (unsigned long long) total.messages_received,
                (unsigned long long) (total.messages_dropped + peer->dropped),
                (unsigned long long) total.keys_handed_off, (unsigned long long) total.keys_taken_over);
    const chordd_transport_stats_t *transport_stats = chordd_transport_stats (peer->transport);
    chordd_log (CHORD_LOG_INFO,
                "connections refused or dropped past --max-connections: %llu; failed accepts: %llu; open: %llu",
                (unsigned long long) transport_stats->refused, (unsigned long long) transport_stats->accept_failed,
                (unsigned long long) transport_stats->connections);
    for (unsigned type = 0; type < 64; type++)
        if (peer->by_type[type])
            chordd_log (CHORD_LOG_DEBUG, "handled %llu %s messages", (unsigned long long) peer->by_type[type],
                        chord_msg_type_name ((chord_msg_type_t) type));
}

int main (int argc, char **argv)
{
    chordd_options_t options;
    int rc = chordd_options_parse (&options, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    chordd_log_set_level (options.log_level);
    if (sodium_init () < 0) {
        chordd_log (CHORD_LOG_ERROR, "libsodium failed to initialise");
        return 1;
    }
    if (s_install_signals () != 0) {
        chordd_log (CHORD_LOG_ERROR, "cannot install signal handlers: %s", strerror (errno));
        return 1;
    }
    s_warn_successors (&options);
    s_peer_t peer = {0};
    int exit_code = s_peer_open (&peer, &options);
    if (exit_code == 0) {
        exit_code = s_peer_run (&peer, &options);
        s_peer_report (&peer);
    }
    s_peer_destroy (&peer);
    return exit_code;
}
