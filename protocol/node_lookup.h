/*  node lookup: tasks, and the lookups that find an id's owner for them,
    a module of the node (see node_internal.h).

    Owns (node_tasks_t, inside struct chord_node): the tasks in progress,
    each with its lookup state, key and value copies. Only node_lookup.c
    adds, removes and relinks tasks; the module a task serves fills in its
    own fields (a client's key and origin, a finger's index).
    Needs: the ring (node_ring (self)) to route, requests (node.c), and
    the modules that finish a task: node_client.c, node_ring.c (fingers,
    probes), node_transfer.c (join).
    Frees: each task and its copies in node_task_destroy, and the
    requests it waits for (node_rpcs_forget_task).  */
#ifndef CHORD_NODE_LOOKUP_H
#define CHORD_NODE_LOOKUP_H

#include "node.h"
#include "record.h"

#define CHORD_TASKS_MAX 100000      /* concurrent client operations and lookups */
#define CHORD_LOOKUP_HOPS_MAX 64    /* a longer path means the tables are broken */
#define CHORD_LOOKUP_TIMEOUTS_MAX 4 /* unanswered hops before a lookup restarts */
#define CHORD_LOOKUP_REDIRECTS_MAX 2 /* owners named by a disclaiming owner, per attempt */
#define CHORD_RETRY_MIN_MS 25       /* first retry delay for a client operation */
#define CHORD_RETRY_MAX_MS 1000

typedef struct node_rpc node_rpc_t;

typedef enum {
    TASK_CLIENT_PUT,
    TASK_CLIENT_GET,
    TASK_CLIENT_DEL,
    TASK_CLIENT_LOOKUP,
    TASK_FIX_FINGER,
    TASK_JOIN,
    TASK_PROBE,
} node_task_kind_t;

/* Work that needs an owner found by lookup, then maybe a request to it. */
typedef struct node_task {
    struct node_task *next; /* in the node's task list */
    struct node_task *prev;
    uint64_t id;                /* unique among this node's tasks */
    node_task_kind_t kind;
    chord_origin_t origin;      /* client's return address */
    uint64_t client_request_id; /* the client's request id, echoed */
    uint8_t *key;               /* owned copy, or NULL */
    size_t key_len;
    uint8_t *value; /* owned copy, or NULL */
    size_t value_len;
    chord_id_t target;     /* the id whose owner is wanted */
    unsigned finger_index; /* with TASK_FIX_FINGER */
    uint64_t deadline_ms;  /* give up (and answer TIMEOUT) at this time */
    uint64_t started_ms;   /* when it was created: its lookups are timed from here */
    uint64_t retry_at_ms;  /* nonzero: restart the lookup at this time */
    unsigned attempts;     /* restarts so far */
    /* The lookup in progress. */
    chord_peer_t hop;      /* peer asked last */
    chord_peer_t prev_hop; /* peer that pointed us at hop */
    bool has_prev_hop;
    uint32_t hops;         /* peers that answered a find, over every attempt */
    uint32_t attempt_hops; /* of them, in this attempt */
    unsigned hop_timeouts; /* unanswered finds in this attempt */
    bool confirming;       /* hop is the owner named, asked whether it owns the target */
    bool named_adjacent;   /* the peer that named the owner named its own successor,
                              skipping no suspect on the way */
    unsigned owner_redirects; /* owners named by a disclaiming owner, in this attempt */
    unsigned redirects;    /* JOIN redirects followed in this attempt */
    size_t excluded_count;
    chord_id_t excluded[CHORD_EXCLUDE_MAX];
    uint64_t rpc_id; /* outstanding request, 0 when none */
    bool awaiting_copies;   /* we coordinate its write and wait for the replicas */
    bool no_quorum;         /* the last answer was NO_QUORUM: say so if time runs out */
    chord_version_t version; /* a put's or del's, fixed when the client's request arrived,
                                so a retry or a late duplicate never outranks a later write */
    bool has_avoid;         /* an owner did not answer a data operation: route round it, */
    chord_id_t avoid;       /* and ask the next peer to serve the key from its copies */
} node_task_t;

typedef struct {
    node_task_t *list;    /* doubly linked, newest first */
    size_t count;
    uint64_t next_id;     /* the last task id given */
} node_tasks_t;

node_task_t *node_task_new (chord_node_t *self, node_task_kind_t kind, const chord_id_t *target,
                            uint64_t deadline_ms);

void node_task_destroy (chord_node_t *self, node_task_t *task);

bool node_task_is_client (const node_task_t *task);

/* True while a task waits for an answer: a peer's to a request, or our
   replicas' to a write we coordinate for it. Time does not move it then. */
bool node_task_waiting (const node_task_t *task);

/*  Starts an attempt at the lookup of task->target: answered at once from
    our own tables when we can, else by asking the closest preceding peer.
    The attempt avoids the peers we suspect now; the hops of earlier
    attempts still count.  */
void node_lookup_start (chord_node_t *self, node_task_t *task, uint64_t now_ms);

/* Schedules a fresh attempt after a backoff, or gives up past the deadline. */
void node_task_retry (chord_node_t *self, node_task_t *task, uint64_t now_ms);

void node_on_find_succ_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms);

void node_on_find_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms);

/* Restarts the lookups due for a retry and expires client tasks out of time. */
void node_tasks_run (chord_node_t *self, uint64_t now_ms);

/* The earliest retry or client deadline of a task not waiting for an answer, or UINT64_MAX. */
uint64_t node_tasks_next_ms (const chord_node_t *self);

/* The task with this id, or NULL once it has ended. */
node_task_t *node_task_find (chord_node_t *self, uint64_t task_id);

/* Abandons every client task (node_task_abandon), saying why. */
void node_tasks_abandon_clients (chord_node_t *self, const char *why);

/* Ends every task without answering it. */
void node_tasks_destroy (chord_node_t *self);

#endif
