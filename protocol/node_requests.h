/*  node requests: requests sent to peers and not yet answered, a module
    of the node (see node_internal.h).

    Owns (node_requests_t, inside struct chord_node): the table of
    requests awaiting answers, and the request ids. Only node_requests.c
    writes them; node.c matches replies and timeouts to them and hands
    each to the module that asked.
    Needs: the outgoing message path (node_wire.c) and the config's
    rpc_timeout_ms.
    Frees: the table, in node_requests_destroy. A request points at its
    task but does not own it; a task's end forgets its requests
    (node_rpcs_forget_task).  */
#ifndef CHORD_NODE_REQUESTS_H
#define CHORD_NODE_REQUESTS_H

#include "node.h"

typedef struct node_task node_task_t;

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

typedef struct {
    node_rpc_t *list;         /* unordered; removal swaps in the last */
    size_t count;
    size_t alloc;
    uint64_t next_id;         /* request ids are unique per node */
} node_requests_t;

/* An empty table; ids start at config.request_id_base (or 1). */
void node_requests_init (chord_node_t *self);

/* Frees the table. */
void node_requests_destroy (chord_node_t *self);

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

/* The first request whose deadline has come by now_ms, or NULL. */
node_rpc_t *node_rpc_due (chord_node_t *self, uint64_t now_ms);

/* The earliest deadline of a request, or UINT64_MAX. */
uint64_t node_requests_next_ms (const chord_node_t *self);

#endif
