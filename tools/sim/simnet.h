/*  simnet: a deterministic simulated network and clock driving many chord
    nodes (the real protocol/ state machines, unchanged) in one process.

    Time is virtual, in milliseconds, and only moves when the next event is
    due: nothing sleeps and nothing reads a clock. Events (a message
    arriving, a node's timer, a client's request or reply, a scenario's own
    timer) wait in one heap ordered by (time, push order), so a run is a
    pure function of the seed and the calls made on the network. Every
    random choice (latency, loss, duplication, each node's jitter) comes
    from streams derived from the one seed.

    The transport mirrors chordd's: a message a node sends to endpoint E
    (CHORD_DEST_PEER) arrives at the node advertising E together with an
    origin naming the sender's connection; a reply to that origin
    (CHORD_DEST_ORIGIN) arrives back at the sender with origin NULL. Each
    message independently takes a latency drawn from the configured
    distribution (so messages reorder), is lost with probability loss, and
    arrives twice with probability dup. A crashed node is silent: messages
    to it, and those it sent that are still in flight, are dropped, also
    after a restart (simnet_restart: a new state machine on the crashed
    node's kept store, as chordd --data-dir restarts). A node that leaves
    gracefully is removed once it reports LEFT; what it sent
    before still arrives. While a partition is on, messages between nodes
    on different sides are dropped on arrival.

    Clients (the scenarios' stand-in for chordctl) sit next to the node
    they ask: their requests and the node's replies cross no network, but
    still go through the event heap, so no callback ever runs inside a
    node's handler. Every client request gets exactly one reply callback:
    the node's answer, or answered = false when none came by its tmo.

    Ownership: the network owns its nodes, their stores and everything in
    flight. Nodes are named by index (0, 1, ... in order of simnet_add);
    an index is never reused.  */
#ifndef CHORD_SIMNET_H
#define CHORD_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "message.h"
#include "node.h"
#include "store.h"

#define SIMNET_NONE SIZE_MAX      /* no node */
#define SIMNET_TYPES_MAX 46       /* message types counted: chord_msg_type_t values 0..45 */
#define SIMNET_NODES_MAX 16000000 /* nodes one network may hold */

typedef enum {
    SIMNET_LATENCY_CONSTANT = 0, /* every message takes latency_mean_ms */
    SIMNET_LATENCY_UNIFORM = 1,  /* uniform on [min, 2 * mean - min] */
    SIMNET_LATENCY_EXPONENTIAL =
        2, /* min + exponential with mean (mean - min), cut at min + 20 * (mean - min) */
} simnet_latency_t;

typedef enum {
    SIMNET_NODE_IDLE = 0,    /* added, not started */
    SIMNET_NODE_UP = 1,      /* started; chord_node_state tells the rest */
    SIMNET_NODE_CRASHED = 2, /* silent; its node is freed, its store too unless kept */
    SIMNET_NODE_GONE = 3,    /* left gracefully and was removed; freed */
} simnet_node_status_t;

typedef struct {
    uint64_t seed;                  /* the one seed every random stream derives from */
    simnet_latency_t latency;       /* latency distribution */
    uint32_t latency_mean_ms;       /* mean one-way delay */
    uint32_t latency_min_ms;        /* least one-way delay (uniform, exponential) */
    double loss;                    /* probability a message is dropped, 0..1 */
    double dup;                     /* probability a message arrives twice, 0..1 */
    size_t successors;              /* each node's successor list length r */
    uint32_t stabilize_interval_ms; /* each node's maintenance interval */
    uint32_t stabilize_max_ms;      /* above stabilize_interval_ms: each node's own interval is drawn
                                       uniformly from [stabilize_interval_ms, this] (0: all alike) */
    uint32_t rpc_timeout_ms;        /* each node's request timeout */
    size_t owner_cache_size;        /* each node's owner cache; 0: plain Chord routing */
    size_t replicas;                /* each node's copies per key; 0: 1 (no replication) */
    size_t write_quorum;            /* copies a put needs before its ack; 0: a majority */
    uint32_t sync_interval_ms;      /* each node's anti-entropy interval; 0: the node's default */
    bool keep_crashed_stores;       /* a crashed node's store stays, for simnet_restart */
    uint64_t start_ms;              /* the clock at creation */
    /* Receives the nodes' log lines at or above log_level. May be NULL. */
    void (*log) (void *arg, size_t node, uint64_t now_ms, chord_log_level_t level, const char *line);
    void *log_arg;
    chord_log_level_t log_level; /* the most verbose level passed to log */
} simnet_config_t;

typedef struct {
    uint64_t events; /* events handled */
    uint64_t sent;   /* messages nodes handed to the network */
    uint64_t sent_bytes;
    uint64_t delivered; /* messages handed to a node */
    uint64_t delivered_bytes;
    uint64_t lost;              /* dropped by the loss probability */
    uint64_t duplicated;        /* extra copies made by the dup probability */
    uint64_t dropped_dead;      /* to or from a crashed or removed node, or an unknown endpoint */
    uint64_t dropped_partition; /* between the sides of a partition */
    uint64_t stuck;             /* ticks after which a node was still due at once */
    uint64_t ticks;             /* chord_node_tick calls */
    uint64_t client_requests;
    uint64_t client_answered;
    uint64_t client_unanswered;                    /* no reply by the client's tmo */
    uint64_t sent_by_type[SIMNET_TYPES_MAX];       /* messages sent, by chord_msg_type_t */
    uint64_t sent_bytes_by_type[SIMNET_TYPES_MAX]; /* bytes sent, by chord_msg_type_t */
} simnet_stats_t;

/* A node's routing state, as its CLIENT_INFO reply tells it. */
typedef struct {
    chord_node_state_t state;
    bool has_pred; /* a live predecessor is known */
    chord_id_t pred_id;
    size_t pred;       /* its node index, or SIMNET_NONE */
    size_t succ_count; /* entries in succ[] */
    chord_id_t succ_id[CHORD_PEER_LIST_MAX];
    size_t succ[CHORD_PEER_LIST_MAX]; /* node indices, SIMNET_NONE when unknown */
    size_t finger_count;              /* distinct fingers */
    uint64_t keys;                    /* keys in its store */
} simnet_info_t;

/* What a client request came to. */
typedef struct {
    uint64_t token;           /* the caller's, from simnet_client */
    size_t node;              /* the node asked */
    chord_msg_type_t request; /* CHORD_MSG_CLIENT_LOOKUP, _PUT, _GET, _DEL */
    chord_id_t key_id;        /* BLAKE2b-160 of the key */
    bool answered;            /* false: no reply by the tmo */
    chord_status_t status;    /* with answered */
    chord_msg_type_t type;    /* with answered: the reply's type (CHORD_MSG_LOOKUP_REPLY, _CLIENT_REPLY) */
    bool has_owner;           /* a lookup reply named an owner */
    chord_peer_t owner;
    size_t owner_node;    /* its index, or SIMNET_NONE */
    uint32_t hops;        /* a lookup reply's hop count */
    const uint8_t *value; /* a get's value, valid during the callback; or NULL */
    size_t value_len;
    uint64_t sent_ms; /* when the request was made */
    uint64_t done_ms; /* when this callback runs */
} simnet_reply_t;

typedef struct simnet simnet_t;

typedef void (simnet_reply_fn) (void *arg, simnet_t *net, const simnet_reply_t *reply);
typedef void (simnet_timer_fn) (void *arg, simnet_t *net, uint64_t token);
/* A message a node hands to the network: to endpoint (NULL for a reply to
   an origin), which is node dst, or SIMNET_NONE when no live node has it. */
typedef void (simnet_send_fn) (void *arg, simnet_t *net, size_t src, const char *endpoint, size_t dst,
                               const uint8_t *data, size_t size);
typedef void (simnet_deliver_fn) (void *arg, simnet_t *net, size_t src, size_t dst, const uint8_t *data,
                                  size_t size);

/* Fills *config with defaults: seed 1, constant 10 ms latency, no loss or
   duplication, r = 3, stabilize 500 ms, rpc timeout 1000 ms, no owner cache,
   no replication, crashed stores freed, clock at 0. */
void simnet_config_defaults (simnet_config_t *config);

/* A new network with no nodes, or NULL on a bad config or no memory. The
   caller owns it. */
simnet_t *simnet_new (const simnet_config_t *config);

/* Frees every node, store and event; sets *self_p to NULL; idempotent. */
void simnet_destroy (simnet_t **self_p);

/* The configuration in force (loss and dup as last set). Borrowed. */
const simnet_config_t *simnet_config (const simnet_t *self);

/* ------------------------------------------------------------ nodes */

/* Adds an idle node whose endpoint looks like tcp://a.b.c.d:7000, the
   address derived from the seed and the index (so another seed gives other
   ids). Returns its index, or SIMNET_NONE when out of memory. */
size_t simnet_add (simnet_t *self);

/* Adds an idle node advertising endpoint (copied). SIMNET_NONE when the
   endpoint is taken, too long, or memory is short. */
size_t simnet_add_named (simnet_t *self, const char *endpoint);

/* Starts an idle node: it joins through the given nodes (by index; none:
   it starts a ring of its own). Returns 0, or -1 when not idle. */
int simnet_start (simnet_t *self, size_t node, const size_t *seeds, size_t seed_count);

/*  Adds count nodes and starts them all as one correct ring at once (the
    Chord paper's way to build large rings): each gets its true predecessor,
    successor list and finger table. Only on a network with no members yet.
    Returns 0 or -1.  */
int simnet_build_ring (simnet_t *self, size_t count);

/* Crashes a started node: it goes silent at once. Returns 0, or -1 when it
   is not up. */
int simnet_crash (simnet_t *self, size_t node);

/*  Restarts a crashed node whose store was kept (keep_crashed_stores): a
    new state machine at the same endpoint and id, on the old store,
    joining through the given nodes. Nothing the old one sent or was sent
    is delivered to the new one. Returns 0, or -1 when the node did not
    crash, its store was not kept, or memory is short.  */
int simnet_restart (simnet_t *self, size_t node, const size_t *seeds, size_t seed_count);

/* Asks an up node to leave gracefully (chord_node_leave); it is removed
   once it reports LEFT. Returns 0, or -1 when it is not up. */
int simnet_leave (simnet_t *self, size_t node);

/* Puts a node on side 0 or 1 of partitions to come (all start on 0). */
void simnet_set_side (simnet_t *self, size_t node, unsigned side);

/* The node's side, 0 or 1. */
unsigned simnet_side (const simnet_t *self, size_t node);

/* Turns the partition on (sides cannot talk) or off (healed). */
void simnet_partition (simnet_t *self, bool on);

bool simnet_partitioned (const simnet_t *self);

/* Changes the loss and duplication probabilities from now on. */
void simnet_set_faults (simnet_t *self, double loss, double dup);

/* Nodes ever added (the bound on indices). */
size_t simnet_node_count (const simnet_t *self);

simnet_node_status_t simnet_node_status (const simnet_t *self, size_t node);

/* The node's state machine while it is up, else NULL. Borrowed. */
chord_node_t *simnet_node (const simnet_t *self, size_t node);

/* The node's store while it is up, else NULL. Borrowed. */
chord_store_t *simnet_node_store (const simnet_t *self, size_t node);

/* The node's id and endpoint (kept after it died). Borrowed. */
const chord_peer_t *simnet_node_peer (const simnet_t *self, size_t node);

/* The index of the up or idle node advertising endpoint, or SIMNET_NONE. */
size_t simnet_find (const simnet_t *self, const char *endpoint);

/* True when the node is up and ACTIVE or LEAVING: a member of the ring. */
bool simnet_is_member (const simnet_t *self, size_t node);

/* Messages and bytes the node has sent to other nodes (not to clients). */
void simnet_node_traffic (const simnet_t *self, size_t node, uint64_t *messages, uint64_t *bytes);

/* Asks an up node for its routing state through a CLIENT_INFO message
   handled at once (no network, no time passes). Returns 0, or -1 when the
   node is not up or its reply cannot be read. */
int simnet_info (simnet_t *self, size_t node, simnet_info_t *info);

/* ------------------------------------------------------------ membership oracle */

/* The members sorted by id: sets *sorted (borrowed, valid until the
   membership next changes) and returns how many. */
size_t simnet_members (simnet_t *self, const size_t **sorted);

/* The member that owns id, successor(id) over the members, or SIMNET_NONE
   when there are none. */
size_t simnet_owner (simnet_t *self, const chord_id_t *id);

/* Grows by one whenever a node becomes or stops being a member. */
uint64_t simnet_membership_version (const simnet_t *self);

/* ------------------------------------------------------------ clients and timers */

/* Calls fn just before each node-to-node message is handed to its
   receiver (for tests and tracing); NULL turns it off. fn must not call
   back into the network. */
void simnet_on_deliver (simnet_t *self, simnet_deliver_fn *fn, void *arg);

/* Calls fn for each node-to-node message a node sends, before loss,
   duplication or a dead receiver can drop it; NULL turns it off. fn must
   not call back into the network. */
void simnet_on_send (simnet_t *self, simnet_send_fn *fn, void *arg);

/* Where client replies go. */
void simnet_on_reply (simnet_t *self, simnet_reply_fn *fn, void *arg);

/*  Sends a client request (CHORD_MSG_CLIENT_LOOKUP, _PUT, _GET or _DEL)
    with key (and value for a put) to node, carrying tmo_ms; the reply
    callback gets token back. Returns 0, or -1 on bad arguments.  */
int simnet_client (simnet_t *self, size_t node, chord_msg_type_t type, const void *key, size_t key_len,
                   const void *value, size_t value_len, uint32_t tmo_ms, uint64_t token);

/* Calls fn (arg, net, token) at at_ms (now, if at_ms is past), from the
   event loop. Returns 0 or -1. */
int simnet_at (simnet_t *self, uint64_t at_ms, simnet_timer_fn *fn, void *arg, uint64_t token);

/* ------------------------------------------------------------ running */

uint64_t simnet_now (const simnet_t *self);

/* Handles every event due at or before until_ms in order, then sets the
   clock to until_ms. Returns the number of events handled. */
uint64_t simnet_run_until (simnet_t *self, uint64_t until_ms);

/* Handles the next event if it is due at or before limit_ms (the clock
   moves to its time). Returns false when there was none. */
bool simnet_step (simnet_t *self, uint64_t limit_ms);

/* Events waiting. */
size_t simnet_pending (const simnet_t *self);

/* FNV-1a 64 over (time, source, destination, size, bytes) of every message
   delivered so far, client traffic included: equal runs, equal hashes. */
uint64_t simnet_trace_hash (const simnet_t *self);

const simnet_stats_t *simnet_stats (const simnet_t *self);

/* The latency the network would draw next, for tests of the distribution
   (advances the network's random stream). */
uint64_t simnet_sample_latency (simnet_t *self);

#endif
