/*  node transfer: moving arcs between peers (join, handoff, leave), a
    module of the node (see node_internal.h).

    Owns (node_transfer_t, inside struct chord_node): the seeds we join
    through and the join's progress, the outgoing handoffs and incoming
    intakes, and the client waiting for our leave to finish. Only
    node_transfer.c writes them.
    Needs: the ring (node_ring (self), node_succ_set, node_ring_set_pred,
    node_departed), the store, tasks (the join task), requests and the
    outgoing message (node.c), node_replica.c's record rules.
    Frees: the seeds, in node_transfer_destroy; a handoff's batches as
    they are sent.  */
#ifndef CHORD_NODE_TRANSFER_H
#define CHORD_NODE_TRANSFER_H

#include "node.h"

#define CHORD_HANDOFFS_MAX 8         /* concurrent outgoing transfers */
#define CHORD_INTAKES_MAX 8          /* concurrent incoming transfers */
#define CHORD_JOIN_RETRY_MIN_MS 100  /* first join backoff */
#define CHORD_JOIN_RETRY_MAX_MS 5000 /* cap on the join backoff */
#define CHORD_JOIN_REDIRECTS_MAX 4   /* JOIN redirects followed before backing off */

typedef struct node_rpc node_rpc_t;
typedef struct node_task node_task_t;

/* An outgoing transfer of keys to another peer. */
typedef struct {
    bool active;
    uint64_t transfer_id; /* unique per receiver, not overall */
    chord_id_t to;        /* the receiving peer */
    bool leaving;         /* handing everything over before exit */
    chord_id_t from;      /* with !leaving: the range (from, upto] moved */
    chord_id_t upto;
    uint64_t total;    /* items sent */
    unsigned attempts; /* successors tried (leaving) */
} node_handoff_t;

/* An incoming transfer of keys from another peer. */
typedef struct {
    bool active;
    uint64_t transfer_id;
    chord_id_t sender; /* the transferring peer's id */
    uint64_t received; /* items stored so far */
    bool total_known;  /* the final batch has arrived */
    uint64_t total;
    bool failed; /* a store write failed */
} node_intake_t;

typedef struct {
    /* Joining. */
    char **seeds; /* endpoints to join through */
    size_t seed_count;
    size_t seed_next;          /* next seed to try */
    uint64_t join_retry_ms;    /* current backoff */
    uint64_t join_request_id;  /* our JOIN request; its id names the handoff we await */
    chord_id_t join_successor; /* the peer we asked to join before */
    bool join_accepted;        /* our successor took us in */
    bool join_handoff_done;    /* and our arc has arrived */
    uint64_t join_handoff_deadline_ms;
    /* Moving keys. */
    node_handoff_t handoffs[CHORD_HANDOFFS_MAX];
    node_intake_t intakes[CHORD_INTAKES_MAX];
    /* Leaving. */
    bool leave_reply_pending; /* a client asked us to leave */
    chord_origin_t leave_origin;
    uint64_t leave_request_id;
} node_transfer_t;

/*  Keeps the seeds to join through, all but any that is this very
    position, and remembers them for probing. Returns how many were kept,
    or -1 out of memory.  */
int node_join_init (chord_node_t *self, const char *const *seeds, size_t seed_count);

/* Frees the seeds. */
void node_transfer_destroy (chord_node_t *self);

/* The next seed to ask, in turn. Only while joining through seeds. */
const char *node_join_next_seed (chord_node_t *self);

/* The delay before the next join attempt; each call doubles the next, up
   to CHORD_JOIN_RETRY_MAX_MS. */
uint64_t node_join_backoff_ms (chord_node_t *self);

/* True once our successor has taken us in. */
bool node_join_accepted (const chord_node_t *self);

/* Our arc never arrived after our successor took us in: serve without it. */
void node_join_check_arrival (chord_node_t *self, uint64_t now_ms);

/* When node_join_check_arrival has work, or UINT64_MAX. */
uint64_t node_join_next_ms (const chord_node_t *self);

void node_join_send (chord_node_t *self, node_task_t *task, const chord_peer_t *successor, uint64_t now_ms);

/*  Sends the keys in (from, to] (everything when leaving) as HANDOFF
    batches, to an endpoint or back to an origin, and waits for the ack.  */
int node_handoff_start (chord_node_t *self, const chord_peer_t *to, const chord_origin_t *origin,
                        uint64_t transfer_id, bool leaving, const chord_id_t *from, const chord_id_t *upto,
                        uint64_t now_ms);

/*  Ends a leave. new_home is the peer that took our data, or NULL when
    there was none to hand over (a lone or never-joined node); data_safe
    is false when data was left behind.  */
void node_leave_finish (chord_node_t *self, const chord_peer_t *new_home, bool data_safe);

/* Hands everything to the next successor that has not yet failed us. */
void node_leave_try (chord_node_t *self, unsigned attempt, uint64_t now_ms);

void node_handoff_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms);

void node_become_active (chord_node_t *self, uint64_t now_ms);

void node_on_join (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms);

void node_on_join_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms);

void node_on_handoff (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                      uint64_t now_ms);

void node_on_handoff_ack (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);

/*  Hands any keys we hold outside our arc (pred, self] to our predecessor,
    which passes on what is not its own in turn, until each reaches its
    owner. Keys stray when a leaver hands its arc to a successor it
    thought it had, or a transfer is interrupted.  */
void node_pass_on_strays (chord_node_t *self, uint64_t now_ms);

/* A client asks us to leave: we answer once our keys have a new home. */
void node_on_client_leave (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                           uint64_t now_ms);

#endif
