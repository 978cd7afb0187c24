/*  simnet's insides, shared by simnet.c (the event loop, nodes and their
    messages) and simnet_clients.c (the endpoint map, clients, timers and
    membership). Not for simnet's users.  */
#ifndef CHORD_SIMNET_INTERNAL_H
#define CHORD_SIMNET_INTERNAL_H

#include "simheap.h"
#include "simnet.h"
#include "simrng.h"

#define S_ORIGIN_PEER 'P'           /* a node's connection; uint32 node index follows */
#define S_ORIGIN_CLIENT 'C'         /* a client; uint64 client id follows */
#define S_ORIGIN_INFO 'I'           /* simnet_info's own question */
#define S_CLIENT_SOURCE UINT32_MAX  /* source of a client's request in the trace */
#define S_LATENCY_CUT 20            /* exponential latency is cut at this many means */
#define S_MAP_MIN 1024              /* slots in a new endpoint map; a power of two */
#define S_STREAM_NETWORK 1          /* simrng_fork label of the network's stream */
#define S_STREAM_NODES (1ull << 32) /* plus the node index: each node's stream */
#define S_STREAM_INTERVALS (2ull << 32) /* plus the node index: its stabilize interval */
#define S_FNV_OFFSET 0xcbf29ce484222325ull
#define S_FNV_PRIME 0x100000001b3ull

typedef enum {
    S_EV_DELIVER = 1,     /* a message arrives at a node */
    S_EV_WAKE,            /* a node's timer */
    S_EV_CLIENT_REQUEST,  /* a client's request reaches its node */
    S_EV_CLIENT_REPLY,    /* a node's answer reaches its client */
    S_EV_CLIENT_DEADLINE, /* a client stops waiting */
    S_EV_TIMER,           /* a scenario's timer */
} s_event_kind_t;

#define S_TAG(kind, number) (((uint64_t) (number) << 8) | (uint64_t) (kind))
#define S_TAG_KIND(tag) ((s_event_kind_t) ((tag) &0xff))
#define S_TAG_NUMBER(tag) ((tag) >> 8)

/* A message in flight. */
typedef struct {
    uint32_t src;             /* sending node, or S_CLIENT_SOURCE */
    uint32_t dst;             /* receiving node, or the node a client reply comes from */
    bool has_origin;          /* a request: the receiver gets an origin naming src */
    uint64_t client_id;       /* with client requests and replies */
    uint32_t src_incarnation; /* the sender's when sent: what a crashed node sent dies with it */
    uint32_t dst_incarnation; /* the receiver's when sent: a restarted node gets none of it */
    uint8_t *data;            /* encoded message, owned */
    size_t size;
} s_packet_t;

typedef struct {
    simnet_timer_fn *fn;
    void *arg;
    uint64_t token;
} s_timer_t;

typedef struct {
    simnet_t *net; /* back pointer for the callbacks */
    size_t index;
    simnet_node_status_t status;
    chord_node_t *node;            /* owned while idle or up */
    chord_store_t *store;          /* owned while idle or up, and after a crash if kept */
    chord_peer_t peer;             /* id and endpoint */
    simrng_t rng;                  /* the node's random_bytes */
    unsigned side;                 /* partition side, 0 or 1 */
    uint32_t incarnation;          /* restarts so far */
    chord_node_state_t last_state; /* as of its last drain */
    uint64_t armed_seq;            /* heap seq of the wake-up that counts, 0 for none */
    uint64_t armed_ms;             /* its time */
    uint64_t sent;                 /* messages to other nodes */
    uint64_t sent_bytes;
    uint32_t stabilize_ms;         /* its maintenance interval */
} s_node_t;

typedef struct {
    uint64_t token; /* the caller's */
    size_t node;    /* asked */
    chord_msg_type_t request;
    chord_id_t key_id;
    uint64_t sent_ms;
    bool done; /* its callback has run */
} s_client_t;

typedef struct {
    chord_id_t id;
    size_t index;
} s_member_t;

struct simnet {
    simnet_config_t config; /* as given */
    simrng_t root;          /* seed material; never advanced */
    simrng_t rng;           /* latency, loss, duplication */
    uint32_t address_base;  /* endpoint address of node 0 */
    simheap_t *heap;
    uint64_t now_ms;

    s_node_t **nodes; /* by index; each allocated alone so pointers stay put */
    size_t node_count;
    size_t node_alloc;
    uint32_t *map;    /* endpoint -> index + 1 (0: free), linear probing */
    size_t map_alloc; /* a power of two */
    size_t map_count;

    bool partitioned;
    uint64_t membership_version; /* grows when a node becomes or stops being a member */
    uint64_t sorted_version;     /* membership_version that sorted[] reflects */
    bool sorted_valid;
    size_t *sorted;         /* member indices by id */
    chord_id_t *sorted_ids; /* their ids */
    size_t sorted_count;
    size_t sorted_alloc;

    simnet_reply_fn *reply_fn;
    void *reply_arg;
    simnet_deliver_fn *deliver_fn;
    void *deliver_arg;
    simnet_send_fn *send_fn;
    void *send_arg;
    s_client_t *clients; /* by client id - 1 */
    size_t client_count;
    size_t client_alloc;

    chord_msg_t *scratch;       /* encoding and decoding client messages */
    chord_msg_t *outgoing;      /* lent to every node to build its messages in, as chordd lends one */
    chord_msg_t *info_msg;      /* decoding INFO replies */
    simnet_info_t *info_target; /* where an INFO reply being drained goes */
    bool info_ok;

    uint64_t trace; /* FNV-1a 64 over delivered messages */
    simnet_stats_t stats;
};

/* Shared between simnet.c and simnet_clients.c (each one's s_ helpers once). */
uint64_t simnet_fnv (uint64_t hash, const void *data, size_t size);
void simnet_trace (simnet_t *self, uint32_t src, uint32_t dst, const uint8_t *data, size_t size);
bool simnet_is_member_state (chord_node_state_t state);
int simnet_push_packet (simnet_t *self, uint64_t at_ms, s_event_kind_t kind, uint32_t src, uint32_t dst,
                        bool has_origin, uint64_t client_id, uint8_t *data, size_t size);
s_node_t *simnet_up (const simnet_t *self, size_t node);
int simnet_cmp_member (const void *a, const void *b);
size_t simnet_successor_at (const chord_id_t *ids, size_t count, const chord_id_t *id);
void simnet_after (simnet_t *self, s_node_t *rec, bool ticked);
int simnet_map_grow (simnet_t *self);
int simnet_map_put (simnet_t *self, size_t index);
void simnet_map_remove (simnet_t *self, const char *endpoint);
void simnet_client_request (simnet_t *self, s_packet_t *packet);
void simnet_client_reply (simnet_t *self, s_packet_t *packet);
void simnet_client_deadline (simnet_t *self, uint64_t client_id);

#endif
