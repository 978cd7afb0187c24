/*  chord node: one position on the ring, as a pure state machine.

    A node never touches a socket, a clock or a random source. Its driver
    (chordd's ZeroMQ loop, or chord-sim's simulated network) hands it
    encoded messages and the current time, calls chord_node_tick when
    chord_node_next_deadline_ms says so, and drains the messages the node
    wants sent with chord_node_pop_outgoing. Data lives behind the store
    interface handed in at creation.

    Messages a node sends go to one of two kinds of destination:
      - a peer endpoint (a request, or a one-way notice): the driver sends it
        from its own connection to that endpoint, and feeds whatever comes
        back on that connection to chord_node_receive with origin NULL;
      - an origin (a reply): the opaque return address that came with the
        request, e.g. a ZeroMQ ROUTER routing id.  */
#ifndef CHORD_NODE_H
#define CHORD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "message.h"
#include "metrics.h"
#include "store.h"

#define CHORD_SUCCESSORS_MAX 20       /* cap on --successors */
#define CHORD_ORIGIN_MAX     32       /* bytes in a return address */

typedef struct {
    uint8_t size;                      /* bytes used in bytes[] */
    uint8_t bytes[CHORD_ORIGIN_MAX];   /* opaque to the node */
} chord_origin_t;

/*  What the connection a message arrived on may do, as the driver's
    transport authenticated it. The node receives it with each message, as
    it receives the time: it never learns about keys or sockets. Each role
    may do what the ones before it may.  */
typedef enum {
    CHORD_ROLE_NONE = 0,        /* nothing: every message is dropped */
    CHORD_ROLE_READ = 1,        /* get, lookup, info */
    CHORD_ROLE_WRITE = 2,       /* also put and del */
    CHORD_ROLE_ADMIN = 3,       /* also leave */
    CHORD_ROLE_PEER = 4,        /* a ring member (holds the cluster secret): also every peer message */
} chord_role_t;

typedef enum {
    CHORD_NODE_IDLE = 0,        /* created, not yet started */
    CHORD_NODE_JOINING = 1,     /* looking for its successor, or receiving its arc */
    CHORD_NODE_ACTIVE = 2,      /* a member of the ring, serving its arc */
    CHORD_NODE_LEAVING = 3,     /* handing its data to its successor */
    CHORD_NODE_LEFT = 4,        /* gone: the driver may stop */
} chord_node_state_t;

typedef enum {
    CHORD_LOG_ERROR = 0,
    CHORD_LOG_WARN = 1,
    CHORD_LOG_INFO = 2,
    CHORD_LOG_DEBUG = 3,
} chord_log_level_t;

typedef enum {
    CHORD_DEST_PEER = 0,        /* send to endpoint */
    CHORD_DEST_ORIGIN = 1,      /* reply to origin */
} chord_dest_kind_t;

typedef struct {
    chord_dest_kind_t kind;                     /* where it goes */
    char endpoint[CHORD_ENDPOINT_MAX + 1];      /* with CHORD_DEST_PEER */
    chord_origin_t origin;                      /* with CHORD_DEST_ORIGIN */
    uint8_t *data;                              /* encoded message, owned by whoever popped it: free() */
    size_t size;                                /* bytes at data */
} chord_outgoing_t;

typedef struct {
    const char *endpoint;               /* advertised endpoint; copied */
    chord_id_t id;                      /* position on the ring (chord_id_of_position) */
    size_t successors;                  /* successor list length r, 1..CHORD_SUCCESSORS_MAX */
    uint32_t stabilize_interval_ms;     /* stabilize, fix one finger, check predecessor */
    uint32_t rpc_timeout_ms;            /* a peer silent this long is suspect */
    size_t owner_cache_size;            /* arcs remembered so data operations go straight to
                                           their owner (validated there); 0: plain Chord */
    uint64_t request_id_base;           /* first request id (0 means 1): positions sharing one
                                           connection get disjoint ranges, so a driver can
                                           route replies by id */
    size_t replicas;                    /* copies of each key: the owner and the next
                                           replicas-1 distinct endpoints along the successor
                                           list; 0 means 1 (no replication) */
    size_t write_quorum;                /* copies that must hold a write before it is
                                           acknowledged, 1..replicas; 0: a majority */
    uint64_t tombstone_grace_ms;        /* a delete's tombstone is purged this long after the
                                           delete; 0: CHORD_TOMBSTONE_GRACE_DEFAULT_MS */
    uint32_t sync_interval_ms;          /* anti-entropy round with each replica; 0: four
                                           stabilize intervals */
    int64_t wall_offset_ms;             /* now_ms + wall_offset_ms is the wall clock (ms since
                                           the Unix epoch), for write versions */
    uint64_t max_clock_skew_ms;         /* records versioned further ahead of our wall clock are
                                           refused on every path; 0: CHORD_CLOCK_SKEW_DEFAULT_MS */
} chord_node_config_t;

#define CHORD_REPLICAS_MAX 8
#define CHORD_CLOCK_SKEW_DEFAULT_MS (60 * 1000)
#define CHORD_TOMBSTONE_GRACE_DEFAULT_MS (60 * 60 * 1000)

typedef struct {
    chord_store_t *store;               /* borrowed; outlives the node */
    /* Fills len bytes with randomness (jitter). Required. */
    void (*random_bytes) (void *arg, void *buf, size_t len);
    void *random_arg;
    /* Receives one log line (no newline). May be NULL. */
    void (*log) (void *arg, chord_log_level_t level, const char *line);
    void *log_arg;
    /* The driver prints no DEBUG lines: the node does not format them
       (some cost a hash and a formatted line per write). */
    bool log_no_debug;
    /* Borrowed, may be NULL: the message the node builds what it sends in
       (some 55 KB, its lists sized for the largest message). The nodes one
       thread drives, each input handled to the end before the next, may
       share one: each builds and encodes a message within a call. It must
       outlive them. NULL: the node allocates its own. */
    chord_msg_t *outgoing;
} chord_env_t;

typedef struct {
    uint64_t messages_received;         /* decoded and handled */
    uint64_t messages_dropped;          /* malformed, unknown, or unexpected */
    uint64_t messages_refused;          /* beyond the sender's role (also counted as dropped) */
    uint64_t messages_unbound;          /* naming a peer whose id is not its endpoint's (also dropped) */
    uint64_t records_refused;           /* records versioned further ahead of our clock than the skew allows */
    uint64_t messages_sent;
    uint64_t lookups_done;              /* lookups that found an owner */
    uint64_t lookups_failed;
    uint64_t owner_cache_hits;          /* data operations sent straight to a remembered owner */
    uint64_t lookup_hops_total;         /* summed over lookups_done */
    uint64_t rpc_timeouts;
    uint64_t keys_handed_off;           /* sent to another peer on join or leave */
    uint64_t keys_taken_over;           /* received from another peer */
    uint64_t replica_items_kept;        /* REPLICATE items newer than our copy */
    uint64_t writes_no_quorum;          /* writes that fewer than write_quorum copies acked */
    uint64_t read_repairs;              /* stale or missing copies rewritten after a read */
    uint64_t sync_rounds;               /* anti-entropy exchanges started */
    uint64_t sync_items_sent;           /* records shipped because digests differed */
    uint64_t tombstones_purged;
    uint64_t copies_dropped;            /* copies no owner kept with us any more */
    uint64_t received_by_type[CHORD_MSG_TYPE_SLOTS];        /* messages_received, by chord_msg_type_t */
    uint64_t dropped_by_reason[CHORD_DROP_REASONS];         /* messages_dropped, by chord_drop_reason_t */
    uint64_t client_requests[CHORD_CLIENT_OPS][CHORD_STATUS_SLOTS]; /* answers to clients, by op and status */
    chord_histogram_t client_duration_ms[CHORD_CLIENT_OPS]; /* a client request's arrival to its answer, by op */
    chord_histogram_t lookup_hops;      /* hops of the lookups that found an owner (chord_hops_bounds) */
    chord_histogram_t lookup_duration_ms; /* a lookup's start to its owner found (chord_duration_ms_bounds) */
} chord_node_stats_t;

/* What the node knows of its part of the ring, for a driver's gauges. */
typedef struct {
    size_t successors;                  /* live successors known (the node itself when alone: 0) */
    size_t fingers_distinct;            /* distinct peers among the fingers */
    double owned_ratio;                 /* fraction of the id space owned: (predecessor, self]; 1 alone, 0 unknown */
    bool has_census;                    /* census holds a completed count */
    chord_census_t census;              /* the store's last census (node_census.c) */
} chord_node_gauges_t;

typedef struct chord_node chord_node_t;

/* A new node in state IDLE, or NULL on bad config or no memory. The caller
   owns it; env->store is borrowed. */
chord_node_t *chord_node_new (const chord_node_config_t *config, const chord_env_t *env);

/* Frees the node and anything it queued; sets *self_p to NULL; idempotent. */
void chord_node_destroy (chord_node_t **self_p);

/* Starts the node. With no seeds (seeds that are this very position do not
   count) it forms a ring of its own and is ACTIVE at once; otherwise it is JOINING, asking the seeds in turn (with backoff)
   until one answers. Returns 0, or -1 when the node was already started. */
int chord_node_start (chord_node_t *self, const char *const *seeds, size_t seed_count,
                      uint64_t now_ms);

/*  Starts the node as an established member: ACTIVE at once with the given
    predecessor (NULL for none), successor list and finger table
    (finger_valid[i] says whether fingers[i] is set; both may be NULL).
    For simulations that build a large ring directly instead of by joins,
    as the Chord paper's did. Returns 0, or -1 when already started or the
    list is empty or too long.  */
int chord_node_start_member (chord_node_t *self, const chord_peer_t *pred, const chord_peer_t *succs,
                             size_t succ_count, const chord_peer_t *fingers, const bool *finger_valid,
                             uint64_t now_ms);

/* Handles one encoded message. origin is the return address for replies, or
   NULL when the message came back on a connection the node sent from; role
   is what its sender may do. Malformed or unexpected input, and anything
   beyond the sender's role, is counted and dropped (a client is told). */
void chord_node_receive (chord_node_t *self, const uint8_t *data, size_t size,
                         const chord_origin_t *origin, chord_role_t role, uint64_t now_ms);

/* Handles one decoded message, as chord_node_receive does after decoding.
   msg is only read; the caller keeps ownership. */
void chord_node_handle (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        chord_role_t role, uint64_t now_ms);

/* Runs whatever is due at now_ms: maintenance, retries, timeouts. */
void chord_node_tick (chord_node_t *self, uint64_t now_ms);

/* The time at which chord_node_tick next has work to do. */
uint64_t chord_node_next_deadline_ms (const chord_node_t *self);

/* Begins a graceful leave: hand all data to the successor, tell the
   neighbours, then state LEFT. A lone node goes straight to LEFT. */
void chord_node_leave (chord_node_t *self, uint64_t now_ms);

/* Moves the oldest queued message into *out and returns true, or returns
   false when there is none. The caller then owns out->data. */
bool chord_node_pop_outgoing (chord_node_t *self, chord_outgoing_t *out);

chord_node_state_t chord_node_state (const chord_node_t *self);
const chord_peer_t *chord_node_self (const chord_node_t *self);
/* The current successor (the node itself when alone). */
const chord_peer_t *chord_node_successor (const chord_node_t *self);
/* The predecessor, or NULL when unknown. */
const chord_peer_t *chord_node_predecessor (const chord_node_t *self);
const chord_node_stats_t *chord_node_stats (const chord_node_t *self);
/* Fills *out with the node's ring gauges and last census. */
void chord_node_gauges (const chord_node_t *self, chord_node_gauges_t *out);

/*  True when the node serves key_id (chord_id_hash of a key) now: it is
    ACTIVE and the id lies in its arc (predecessor, self], or it is alone.
    A driver holding several positions hands a client's operation to the
    one that owns the key, sparing a forward to itself.  */
bool chord_node_owns_key (const chord_node_t *self, const chord_id_t *key_id);

/* A short name for a state ("active"). */
const char *chord_node_state_name (chord_node_state_t state);

#endif
