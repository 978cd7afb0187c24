/*  node client: client operations and their answers, a module of the
    node (see node_internal.h).

    Owns (node_clients_t, inside struct chord_node): when each client
    request in flight arrived and what it asked, so that its answer is
    counted by op and status and its duration measured (the node's
    statistics). A client's operation lives in a task
    (node_lookup.h) while its owner is found, and in a coordination
    (node_replica.h) while replicas answer; this module starts both and
    gives every answer to a client's data operation.
    Needs: tasks and lookups, the ring (node_ring (self)) to know what we
    own, node_coordinate, and requests and the outgoing message (node.c).
    Frees: the tasks it ends, through node_task_destroy; its ledger, in
    node_clients_destroy.  */
#ifndef CHORD_NODE_CLIENT_H
#define CHORD_NODE_CLIENT_H

#include "node.h"
#include "node_lookup.h"
#include "node_replica.h"

#define CHORD_CLIENT_TIMEOUT_DEFAULT_MS 5000 /* a client's request that names no timeout */
#define CHORD_CLIENT_TIMEOUT_MAX_MS 600000
#define CHORD_CLIENT_LEDGER_SLOTS 256   /* client requests in flight whose answers are measured */
#define CHORD_CLIENT_LEDGER_PROBE 8     /* slots tried from a request's hash: beyond, the oldest goes */

/* A client request in flight: where it came from, what it asked, when. */
typedef struct {
    bool used;                  /* the slot holds a request */
    chord_origin_t origin;      /* its return address */
    uint64_t request_id;        /* its id, echoed in the answer */
    chord_client_op_t op;       /* what it asked */
    uint64_t arrived_ms;        /* when it reached us */
} node_client_entry_t;

typedef struct {
    node_client_entry_t *ledger;    /* CHORD_CLIENT_LEDGER_SLOTS entries, allocated at the first
                                       client request (most simulated nodes never see one); or NULL */
} node_clients_t;

/* Frees the ledger. */
void node_clients_destroy (chord_node_t *self);

/*  A client request of type (CLIENT_*) arrived from origin: remember it,
    so that its answer is counted by op and status and timed. Called
    before the request is admitted, so refusals count too.  */
void node_client_arrived (chord_node_t *self, chord_msg_type_t type, const chord_origin_t *origin,
                          uint64_t request_id, uint64_t now_ms);

/* Answers a client with a CLIENT_REPLY; value NULL means none. */
void node_reply_client (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                        chord_status_t status, const uint8_t *value, size_t value_len, const char *text);

/*  The one way a coordination we ran for a client's operation completes
    (answer CLIENT or TASK; PEER answers are STORE_REPLYs, node_answer's):
    CLIENT answers the client now; TASK completes our task, which answers
    its client or retries. value NULL means none.  */
void node_client_done (chord_node_t *self, const node_answer_t *answer, chord_status_t status,
                       const uint8_t *value, size_t value_len, const char *text, uint64_t now_ms);

/* A client task's lookup found owner: answer a lookup, or serve the key
   here when owner is us, or ask owner. */
void node_client_task_found (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                             uint64_t now_ms);

/* A client task ran out of time: answer TIMEOUT and end it. */
void node_task_expire (chord_node_t *self, node_task_t *task);

/* A client task cannot finish (we are leaving): answer NOT_READY, saying why, and end it. */
void node_task_abandon (chord_node_t *self, node_task_t *task, const char *why);

void node_on_store_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms);

void node_on_info (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin);

/* A client's put, get, del or lookup: answer now if we can, else start a task. */
void node_on_client_op (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms);

#endif
