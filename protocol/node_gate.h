/*  chord node gate: what a message must be to be let into the node.

    Every message passes the gate before any handler sees it. The gate
    checks what no handler should have to: that the sender's role allows
    the message's type, and that every peer the message names (its sender,
    a peer, a predecessor, successor and finger lists) is where its id says,
    since an id is BLAKE2b-160 of its endpoint or of `endpoint#i`. A forged
    id could otherwise take over any arc of the ring.

    The gate owns a small cache of ids it has found bound to endpoints, so
    a peer's id is hashed again only when it drops out of the cache. Cache
    entries are tagged with a keyed hash (SipHash, key drawn at creation)
    of the endpoint, so no endpoint can be crafted to match another's tag.  */
#ifndef CHORD_NODE_GATE_H
#define CHORD_NODE_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "message.h"
#include "node.h"

#define NODE_GATE_CACHE 64          /* ids remembered as bound; a power of two */

typedef struct {
    chord_id_t id;                  /* a peer id found bound ... */
    uint64_t endpoint_tag;          /* ... to the endpoint with this keyed hash */
    bool used;                      /* the slot holds an entry */
} node_gate_entry_t;

typedef struct {
    uint8_t tag_key[16];            /* SipHash key for endpoint tags */
    node_gate_entry_t bound[NODE_GATE_CACHE];
} node_gate_t;

/* Sets up the gate; tag_key is 16 random bytes. */
void node_gate_init (node_gate_t *self, const uint8_t tag_key[16]);

/*  The least role that may send a message of this type.  */
chord_role_t node_gate_role_needed (chord_msg_type_t type);

/*  Whether the role may send msg. Does not answer anyone.  */
bool node_gate_role_allows (const chord_msg_t *msg, chord_role_t role);

/*  Whether every peer msg names carries the id of its endpoint.  */
bool node_gate_peers_bound (node_gate_t *self, const chord_msg_t *msg);

/* Whether peer's id is bound to its endpoint (cached). */
bool node_gate_peer_bound (node_gate_t *self, const chord_peer_t *peer);

#endif
