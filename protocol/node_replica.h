/*  node replica: the copies of each key, a module of the node (see
    node_internal.h).

    Owns (node_replica_t, inside struct chord_node): the hybrid logical
    clock that versions writes, and the coordinations in progress (writes
    waiting for replicas' acknowledgements, reads waiting for their
    copies). Only node_replica.c writes them.
    Needs: the ring (node_ring (self)) for the replicas, the store, the
    outgoing message (node.c), and node_client_done to complete what our
    own client asked (node_client.c).
    Frees: every pending coordination and its key and record copies, in
    node_replica_destroy; a shipment frees itself in node_shipment_finish.  */
#ifndef CHORD_NODE_REPLICA_H
#define CHORD_NODE_REPLICA_H

#include "node.h"
#include "record.h"

#define CHORD_PENDING_MAX 100000 /* writes and reads waiting for replicas */

/* Where the answer to a data operation goes. */
typedef enum {
    NODE_ANSWER_CLIENT,     /* a CLIENT_REPLY: we are the client's entry peer */
    NODE_ANSWER_PEER,       /* a STORE_REPLY to the entry peer that asked us */
    NODE_ANSWER_TASK,       /* our own task, found by task_id: it ends, or retries what it may */
} node_answer_kind_t;

typedef struct {
    node_answer_kind_t kind;
    chord_origin_t origin;  /* with CLIENT and PEER */
    uint64_t request_id;    /* with CLIENT and PEER */
    uint64_t task_id;       /* with TASK */
} node_answer_t;

/*  A write waiting for replicas to acknowledge it, or a read that missed
    locally waiting for replicas to say what they hold. Its requests to
    the replicas carry the ids first_request_id .. + sent - 1.  */
typedef struct node_pending {
    struct node_pending *next;
    struct node_pending *prev;
    bool is_read;
    node_answer_t answer;
    uint64_t first_request_id;
    unsigned sent;              /* replicas asked */
    unsigned answered;
    unsigned acks;              /* writes: replicas that hold it */
    unsigned needed;            /* writes: acks that complete it; reads: replicas that must say
                                   "none" before the key is called missing */
    chord_status_t done_status; /* writes: the answer once complete (DEL: NOT_FOUND when nothing was there) */
    uint64_t deadline_ms;
    chord_peer_t peers[CHORD_REPLICAS_MAX];
    /* Reads: the key, the newest record found and which replicas lack it. */
    uint8_t *key;
    size_t key_len;
    uint8_t *best;              /* encoded record, or NULL */
    size_t best_len;
    unsigned witnesses;         /* reads: replicas 0..witnesses-1 may prove a key missing */
    bool replied[CHORD_REPLICAS_MAX];       /* replica i answered (once; later copies are dropped) */
    bool has_none[CHORD_REPLICAS_MAX];      /* replica i answered that it holds no copy */
    bool has_best[CHORD_REPLICAS_MAX];      /* replica i answered with a record ... */
    chord_version_t version[CHORD_REPLICAS_MAX]; /* ... of this version */
} node_pending_t;

/*  Our replicas and the processes we know, as last worked out, with what
    they were worked out from: the ring's shape and its predecessor.  */
typedef struct {
    bool valid;
    uint64_t shape;
    bool has_pred, pred_alive;
    chord_id_t pred;
    size_t count;                                   /* replicas */
    chord_peer_t peers[CHORD_REPLICAS_MAX - 1];
    size_t processes;                               /* ourselves included */
} node_replica_view_t;

typedef struct {
    node_replica_view_t view;
    uint64_t hlc_last;        /* the hybrid logical clock: last version issued or seen */
    node_pending_t *pendings; /* doubly linked */
    size_t pending_count;
} node_replica_t;

/* Sets the clock past every version in our store, so that versions issued
   after a restart order after those on disk. */
void node_replica_init (chord_node_t *self);

/* Ends every coordination without answering it. */
void node_replica_destroy (chord_node_t *self);

/* True when keys are kept on more than one peer. */
bool node_replicating (const chord_node_t *self);

/* Wall-clock milliseconds at now_ms. */
uint64_t node_wall_ms (const chord_node_t *self, uint64_t now_ms);

/*  The peers that hold copies of what we coordinate: the first replicas-1
    distinct endpoints other than our own, by chord_replica_set's rule
    (replica_set.h, which clients use too), so that positions of one
    process never count twice. Returns how many.  */
size_t node_replica_peers (chord_node_t *self, chord_peer_t *out);

/* True for a tombstone past its grace at wall_ms: it counts for nothing. */
bool node_tombstone_expired (const chord_node_t *self, const chord_record_t *rec, uint64_t wall_ms);

/* Sends the answer to a data operation where `answer` says: a STORE_REPLY
   to a peer, or through node_client_done for our own client's operation. */
void node_answer (chord_node_t *self, const node_answer_t *answer, chord_status_t status, const uint8_t *value,
                  size_t value_len, const char *text, uint64_t now_ms);

/* A version for a write entering the ring here now. */
chord_version_t node_new_version (chord_node_t *self, uint64_t now_ms);

/*  Runs a put, get or del on the key's copies with us as coordinator: our
    own store, then the replicas, answering as `answer` says once the write
    quorum holds a write or a read has its value. A write carries version
    (NULL: a new one). A read we miss is answered NOT_FOUND only when
    enough copies said they hold none, else TIMEOUT. Returns NOT_READY
    without answering when, without replicas, a missing key may only be
    paused elsewhere (the caller retries); OK otherwise.  */
chord_status_t node_coordinate (chord_node_t *self, chord_store_op_t op, const uint8_t *key, size_t key_len,
                                const uint8_t *value, size_t value_len, const chord_version_t *version,
                                const node_answer_t *answer, uint64_t now_ms);

/* Stores an incoming record if newer; 1 kept, 0 ours wins, -1 error,
   NODE_KEEP_FUTURE when its version is further ahead of our clock than
   config.max_clock_skew_ms (counted in stats.records_refused). Expired
   tombstones are not kept: they would only be purged again. */
#define NODE_KEEP_FUTURE (-2)
int node_keep_record (chord_node_t *self, const uint8_t *key, size_t key_len, const uint8_t *data,
                      size_t size, uint64_t now_ms);

/*  Whether a version may enter: not further ahead of our wall clock than
    the allowed skew. A version from the far future would win every later
    write, and the clock that observed it would drag every later version
    with it, so it is refused on every path a record enters.  */
bool node_version_admissible (const chord_node_t *self, uint64_t hlc, uint64_t now_ms);

/* Sends records to a peer as REPLICATE batches, without waiting for acks. */
typedef struct node_shipment node_shipment_t;
node_shipment_t *node_shipment_new (chord_node_t *self, const chord_peer_t *to);
int node_shipment_add (node_shipment_t *shipment, const uint8_t *key, size_t key_len, const uint8_t *data,
                       size_t size);
/* Sends what is left and frees the shipment; returns records shipped. */
uint64_t node_shipment_finish (node_shipment_t *shipment);

/* An entry peer asks us, the owner (or a fallback), to coordinate a key. */
void node_on_store (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                    uint64_t now_ms);
void node_on_replicate (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms);
void node_on_replicate_ack (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);
void node_on_fetch (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin);
void node_on_fetch_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);

/* Ends pendings past their deadline; returns the earliest deadline left. */
uint64_t node_pendings_expire (chord_node_t *self, uint64_t now_ms);

/* The earliest deadline of a coordination in progress, or UINT64_MAX. */
uint64_t node_pendings_next_ms (const chord_node_t *self);

#endif
