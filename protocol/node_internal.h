/*  chord node internals: how the node's modules compose.

    node.c           the node's life: creation, dispatch, tick, leave
    node_wire.c      messages in and out: the message being built, the outbox
    node_requests.c  requests sent to peers and waiting for their answers
    node_ring.c      ring membership: successors, predecessor, fingers, suspects,
                     ownership, fix_fingers and probes
    node_stabilize.c stabilize, notify, check_predecessor: the ring's
                     maintenance of successors and predecessor
    node_owners.c    the owner cache: hints that send data operations straight to an owner
    node_lookup.c    tasks, and the lookups that find an id's owner for them
    node_client.c    client operations and their answers
    node_transfer.c  moving arcs between peers: join, handoff, leave
    node_replica.c   the copies of each key: coordinated writes and reads
    node_sync.c      anti-entropy between replicas, and tombstone purging
    node_gate.c      what may enter: the sender's role, ids bound to endpoints
    node_timers.c    the periodic work: one table of timers
    node_census.c    what the store holds by kind, counted in slices

    Each module's header (node_ring.h, node_lookup.h, ...) says what it
    owns, what it needs from the others and who frees what. This header
    puts them together in struct chord_node and declares what every
    module uses from node.c: logging and jitter. Nothing here is part of
    the public API (node.h).  */
#ifndef CHORD_NODE_INTERNAL_H
#define CHORD_NODE_INTERNAL_H

#include "node.h"
#include "node_census.h"
#include "node_client.h"
#include "node_gate.h"
#include "node_lookup.h"
#include "node_owners.h"
#include "node_replica.h"
#include "node_requests.h"
#include "node_ring.h"
#include "node_sync.h"
#include "node_timers.h"
#include "node_transfer.h"
#include "node_wire.h"
#include "record.h"

_Static_assert(CHORD_NODE_LEFT == CHORD_STATE_MAX, "message.h must know the highest node state");

/*  The node: who we are and in which state, and one struct per module.
    A module's struct is written by that module's file only; the others
    read it through the module's functions, or a const view (node_ring).  */
struct chord_node {
    chord_node_config_t config; /* as given; endpoint points at self.endpoint */
    chord_env_t env;            /* store, randomness, logging */
    chord_peer_t self;          /* our id and endpoint */
    chord_node_state_t state;
    uint64_t active_since_ms;   /* when we last became ACTIVE */
    uint64_t clock_ms;          /* the time handed in with the input being handled */
    chord_node_stats_t stats;   /* counters, bumped by every module */
    node_gate_t gate;           /* what may enter: node_gate.c */
    node_timers_t timers;       /* the periodic work's deadlines: node_timers.c */
    node_ring_t ring;           /* membership: node_ring.c */
    node_owner_cache_t owners;  /* owner hints for data operations: node_owners.c */
    node_tasks_t tasks;         /* tasks in progress: node_lookup.c */
    node_replica_t replica;     /* versions and coordinations: node_replica.c */
    node_sync_t sync;           /* anti-entropy: node_sync.c */
    node_transfer_t transfer;   /* joining, handoffs, leaving: node_transfer.c */
    node_requests_t requests;   /* requests awaiting answers: node_requests.c */
    node_wire_t wire;           /* messages in and out: node_wire.c */
    node_census_t census;       /* the store by kind: node_census.c */
    node_clients_t clients;     /* client requests awaiting answers, for their metrics: node_client.c */
};

/* ---------------------------------------------------------------- node.c: logging, time */

/* True when a line of level would reach the driver: worth formatting. */
bool node_logs (const chord_node_t *self, chord_log_level_t level);

void node_log (chord_node_t *self, chord_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* A short printable form of an id: its first 8 hex digits. */
const char *node_short (const chord_id_t *id, char buf[9]);

/* Counts a message dropped, for reason. */
void node_drop (chord_node_t *self, chord_drop_reason_t reason);

/* interval_ms, moved by up to a tenth either way so peers do not beat in step. */
uint64_t node_jittered (chord_node_t *self, uint64_t interval_ms);

#endif
