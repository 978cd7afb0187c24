/*  Who holds a key's copies, in ONE place for the node that coordinates
    them (node_replica_peers) and for the clients that name them (chordd's
    /v1/lookup, chordctl replicas, from an INFO_REPLY): the owner, then
    the first R-1 distinct other processes (endpoints) from the owner's
    successor list, then its fingers in ring order, then its predecessor.
    Pure: no I/O.  */
#ifndef CHORD_REPLICA_SET_H
#define CHORD_REPLICA_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "message.h"

/* What the owner knows of the ring, as the rule reads it. */
typedef struct {
    const char *self_endpoint;          /* the owner's endpoint: never a replica */
    const chord_peer_t *succ;           /* its successor list, nearest first */
    size_t succ_count;
    const chord_peer_t *fingers;        /* its fingers, in ring order */
    const bool *finger_valid;           /* finger i counts when finger_valid[i]; NULL: all do */
    size_t finger_count;
    const chord_peer_t *pred;           /* its live predecessor, or NULL */
} chord_replica_view_t;

/*  Writes into out[] the peers holding copies besides the owner: up to
    wanted of them, each of a process other than the owner's and other
    than each other's. Returns how many (fewer when the view knows fewer
    processes). out has room for wanted peers.  */
size_t chord_replica_set (const chord_replica_view_t *view, size_t wanted, chord_peer_t *out);

#define CHORD_REPLICA_SET_MAX 7   /* copies besides the owner a client names (CHORD_REPLICAS_MAX - 1) */

/*  The same from the owner's INFO_REPLY, for its "rf" copies: into
    out[CHORD_REPLICA_SET_MAX]; returns how many. A reply without "rf" or
    with rf 1 names none.  */
size_t chord_replica_set_of_info (const chord_msg_t *info, chord_peer_t *out);

#endif
