/*  node sync: anti-entropy between replicas, and purging, a module of the
    node (see node_internal.h).

    Owns (node_sync_t, inside struct chord_node): the owners' claims on
    the copies we keep, and the rounds since the last purge. Only
    node_sync.c writes them.
    Needs: the ring (node_ring (self)), the store, node_replica.c's
    shipments and record rules, and the outgoing message (node.c).
    Frees: nothing it keeps; each round frees what it built.  */
#ifndef CHORD_NODE_SYNC_H
#define CHORD_NODE_SYNC_H

#include "node.h"

#define CHORD_SYNC_ROUNDS 4  /* stabilize intervals between anti-entropy rounds (default) */
#define CHORD_PURGE_SYNCS 8  /* anti-entropy rounds between clean-ups: expired tombstones,
                                copies no owner asks us to keep */
#define CHORD_CLAIM_SYNCS 10 /* anti-entropy rounds an owner's claim on our copies lasts */
#define CHORD_CLAIMS_MAX 32  /* owners whose arcs we keep copies of, remembered */

/* An owner that counts us among its replicas: it sent digests of
   (lower, owner] at seen_ms. */
typedef struct {
    chord_id_t lower;
    chord_id_t owner;
    uint64_t seen_ms;
} node_claim_t;

typedef struct {
    unsigned syncs_since_purge;
    node_claim_t claims[CHORD_CLAIMS_MAX];
    size_t claim_count;
} node_sync_t;

/* Compares digests of our arc with each replica and ships what differs;
   every CHORD_PURGE_SYNCS rounds, purges tombstones past their grace and
   copies that neither our arc nor any owner's recent claim covers. */
void node_sync (chord_node_t *self, uint64_t now_ms);
void node_on_sync (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms);
void node_on_sync_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);

#endif
