/*  node wire: messages in and out, a module of the node (see
    node_internal.h).

    Owns (node_wire_t, inside struct chord_node): the one message being
    built, the one being decoded, and the outbox of encoded messages the
    caller drains (chord_node_pop_outgoing). Only node_wire.c writes them.
    Needs: the codec (message.h) and our identity, to stamp messages.
    Frees: both messages and whatever the caller never drained, in
    node_wire_destroy; a popped message's bytes belong to the caller.  */
#ifndef CHORD_NODE_WIRE_H
#define CHORD_NODE_WIRE_H

#include "node.h"

/*  Messages are some 55 KB as structs and a
    few hundred bytes encoded, so the node keeps one of each direction
    instead of allocating one per message; the driver may lend the
    outgoing one (chord_env_t.outgoing) to share it among its nodes.  */
typedef struct {
    chord_msg_t *outgoing;    /* the message being built, between node_msg_begin and node_msg_end */
    bool outgoing_busy;       /* node_msg_begin has handed it out */
    chord_msg_t *incoming;    /* the message chord_node_receive decodes into, allocated at its first call */
    bool incoming_busy;       /* decoded and not yet done with */
    chord_outgoing_t *outbox; /* encoded messages for the caller, a FIFO ring buffer */
    size_t outbox_head;
    size_t outbox_count;
    size_t outbox_alloc;
} node_wire_t;

/* Decodes data into the node's one incoming message, or returns NULL for
   anything malformed (or no memory for the message, logged). The message borrows from data and lasts until
   node_wire_decoded_done. */
const chord_msg_t *node_wire_decode (chord_node_t *self, const uint8_t *data, size_t size);
void node_wire_decoded_done (chord_node_t *self);

/* Takes the outgoing message from env or allocates it; the incoming one
   waits for the first chord_node_receive. Returns 0, or -1 out of memory. */
int node_wire_init (chord_node_t *self);

/* Frees the messages (not a lent outgoing one) and the outbox with what it still holds. */
void node_wire_destroy (chord_node_t *self);

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

#endif
