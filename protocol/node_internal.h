/*  chord node internals: how the node's modules compose.

    node.c           the node's life: creation, dispatch, timers, outbox, requests
    node_ring.c      ring membership: successors, predecessor, fingers, suspects,
                     ownership, and the maintenance that keeps them right
    node_owners.c    the owner cache: hints that send data operations straight to an owner
    node_lookup.c    tasks, and the lookups that find an id's owner for them
    node_client.c    client operations and their answers
    node_transfer.c  moving arcs between peers: join, handoff, leave
    node_replica.c   the copies of each key: coordinated writes and reads
    node_sync.c      anti-entropy between replicas, and tombstone purging
    node_gate.c      what may enter: the sender's role, ids bound to endpoints
    node_timers.c    the periodic work: one table of timers

    Each module's header (node_ring.h, node_lookup.h, ...) says what it
    owns, what it needs from the others and who frees what. This header
    puts them together in struct chord_node and declares node.c's own
    verbs: logging, messages out, requests. Nothing here is part of the
    public API (node.h).  */
#ifndef CHORD_NODE_INTERNAL_H
#define CHORD_NODE_INTERNAL_H

#include "node.h"
#include "node_client.h"
#include "node_gate.h"
#include "node_lookup.h"
#include "node_owners.h"
#include "node_replica.h"
#include "node_ring.h"
#include "node_sync.h"
#include "node_timers.h"
#include "node_transfer.h"
#include "record.h"


_Static_assert(CHORD_NODE_LEFT == CHORD_STATE_MAX, "message.h must know the highest node state");

typedef enum {
    RPC_FIND,      /* a lookup step; answer feeds a task */
    RPC_STORE,     /* a data operation at the owner; answer feeds a task */
    RPC_JOIN,      /* the join request; answer feeds the join task */
    RPC_GET_STATE, /* stabilize */
    RPC_PING,      /* check_predecessor */
    RPC_HANDOFF,   /* waiting for the receiver's acknowledgement */
} node_rpc_kind_t;

/* A request sent to a peer and not yet answered. */
typedef struct node_rpc {
    uint64_t request_id; /* what the reply will carry (or xfer, for handoffs) */
    node_rpc_kind_t kind;
    chord_peer_t peer;    /* who was asked */
    uint64_t deadline_ms; /* no answer by then: the peer is suspect */
    node_task_t *task;    /* waiting task, or NULL */
} node_rpc_t;

/* Requests we sent and wait to see answered: node.c's. */
typedef struct {
    node_rpc_t *list;         /* unordered; removal swaps in the last */
    size_t count;
    size_t alloc;
    uint64_t next_id;         /* request ids are unique per node */
} node_requests_t;

/*  Messages in and out: node.c's. Messages are some 50 KB as structs and a
    few hundred bytes encoded, so the node keeps one of each direction
    instead of allocating one per message.  */
typedef struct {
    chord_msg_t *outgoing;    /* the message being built, between node_msg_begin and node_msg_end */
    bool outgoing_busy;       /* node_msg_begin has handed it out */
    chord_msg_t *incoming;    /* the message chord_node_receive decodes into */
    chord_outgoing_t *outbox; /* encoded messages for the caller, a FIFO ring buffer */
    size_t outbox_head;
    size_t outbox_count;
    size_t outbox_alloc;
} node_wire_t;

/*  The node: who we are and in which state, and one struct per module.
    A module's struct is written by that module's file only; the others
    read it through the module's functions, or a const view (node_ring).  */
struct chord_node {
    chord_node_config_t config; /* as given; endpoint points at self.endpoint */
    chord_env_t env;            /* store, randomness, logging */
    chord_peer_t self;          /* our id and endpoint */
    chord_node_state_t state;
    uint64_t active_since_ms;   /* when we last became ACTIVE */
    chord_node_stats_t stats;   /* counters, bumped by every module */
    node_gate_t gate;           /* what may enter: node_gate.c */
    node_timers_t timers;       /* the periodic work's deadlines: node_timers.c */
    node_ring_t ring;           /* membership: node_ring.c */
    node_owner_cache_t owners;  /* owner hints for data operations: node_owners.c */
    node_tasks_t tasks;         /* tasks in progress: node_lookup.c */
    node_replica_t replica;     /* versions and coordinations: node_replica.c */
    node_sync_t sync;           /* anti-entropy: node_sync.c */
    node_transfer_t transfer;   /* joining, handoffs, leaving: node_transfer.c */
    node_requests_t requests;   /* requests awaiting answers: node.c */
    node_wire_t wire;           /* messages in and out: node.c */
};

/* ---------------------------------------------------------------- node.c: logging, outbox, requests */

void node_log (chord_node_t *self, chord_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* A short printable form of an id: its first 8 hex digits. */
const char *node_short (const chord_id_t *id, char buf[9]);

/*  The node's one outgoing message, emptied and typed: fill it, send it
    (once or to several peers), then give it back with node_msg_end. One
    message is built at a time; building a second before the first is
    given back is a programmer error.  */
chord_msg_t *node_msg_begin (chord_node_t *self, chord_msg_type_t type, uint64_t request_id);
void node_msg_end (chord_node_t *self, chord_msg_t *msg);

/* Stamps msg with our identity, encodes it and queues it. */
int node_queue (chord_node_t *self, chord_msg_t *msg, chord_dest_kind_t kind, const char *endpoint,
                const chord_origin_t *origin);

int node_send_peer (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg);

int node_reply (chord_node_t *self, const chord_origin_t *origin, chord_msg_t *msg);

/* interval_ms, moved by up to a tenth either way so peers do not beat in step. */
uint64_t node_jittered (chord_node_t *self, uint64_t interval_ms);

uint64_t node_new_request_id (chord_node_t *self);

node_rpc_t *node_rpc_add (chord_node_t *self, uint64_t request_id, node_rpc_kind_t kind,
                          const chord_peer_t *peer, uint64_t deadline_ms, node_task_t *task);

bool node_rpc_pending (const chord_node_t *self, node_rpc_kind_t kind);

/* The request of this kind and id we wait for, or NULL. */
node_rpc_t *node_rpc_find (chord_node_t *self, uint64_t request_id, node_rpc_kind_t kind);

/* Removes the entry (swap with the last); pointers to it become invalid. */
void node_rpc_remove (chord_node_t *self, node_rpc_t *rpc);

/* Forgets every request task waits for: their answers will find nothing. */
void node_rpcs_forget_task (chord_node_t *self, const node_task_t *task);

/* The handoff to peer_id we wait to be acknowledged, or NULL. */
node_rpc_t *node_rpc_find_handoff (chord_node_t *self, uint64_t transfer_id, const chord_id_t *peer_id);

/* Sends msg to peer as a request whose reply we wait for. */
int node_call (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg, node_rpc_kind_t kind,
               node_task_t *task, uint64_t now_ms);

/* As node_call, but untargeted (targeted false) reaches whatever position
   answers at peer's endpoint: for seeds, whose ids we only guess from their
   endpoint (a peer may advertise another address than the one we dial). */
int node_call_at (chord_node_t *self, const chord_peer_t *peer, bool targeted, chord_msg_t *msg,
                  node_rpc_kind_t kind, node_task_t *task, uint64_t now_ms);

#endif
