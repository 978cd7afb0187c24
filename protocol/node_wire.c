/*  node wire: messages in and out (see node_wire.h).  */

#include "node_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slots of the outbox's first allocation (312 bytes each): the driver
   drains it after every input, so an idle position queues a few; it
   doubles under load. */
#define S_OUTBOX_FIRST 8

int node_wire_init (chord_node_t *self)
{
    assert (self);
    node_wire_t *wire = &self->wire;
    wire->outgoing = self->env.outgoing ? self->env.outgoing : malloc (sizeof *wire->outgoing);
    wire->incoming = NULL;
    return wire->outgoing ? 0 : -1;
}

void node_wire_destroy (chord_node_t *self)
{
    assert (self);
    node_wire_t *wire = &self->wire;
    if (wire->outgoing != self->env.outgoing)     /* ours, not lent by the driver */
        free (wire->outgoing);
    free (wire->incoming);
    for (size_t i = 0; i < wire->outbox_count; i++)
        free (wire->outbox[(wire->outbox_head + i) % wire->outbox_alloc].data);
    free (wire->outbox);
    memset (wire, 0, sizeof *wire);
}

static int s_outbox_push (chord_node_t *self, const chord_outgoing_t *item)
{
    if (self->wire.outbox_count == self->wire.outbox_alloc) {
        size_t alloc = self->wire.outbox_alloc ? self->wire.outbox_alloc * 2 : S_OUTBOX_FIRST;
        chord_outgoing_t *grown = malloc (alloc * sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = 0; i < self->wire.outbox_count; i++)
            grown[i] = self->wire.outbox[(self->wire.outbox_head + i) % self->wire.outbox_alloc];
        free (self->wire.outbox);
        self->wire.outbox = grown;
        self->wire.outbox_alloc = alloc;
        self->wire.outbox_head = 0;
    }
    self->wire.outbox[(self->wire.outbox_head + self->wire.outbox_count) % self->wire.outbox_alloc] = *item;
    self->wire.outbox_count++;
    return 0;
}

chord_msg_t *node_msg_begin (chord_node_t *self, chord_msg_type_t type, uint64_t request_id)
{
    assert (self);
    assert (!self->wire.outgoing_busy);
    self->wire.outgoing_busy = true;
    chord_msg_init (self->wire.outgoing, type, request_id);
    return self->wire.outgoing;
}

void node_msg_end (chord_node_t *self, chord_msg_t *msg)
{
    assert (self);
    assert (msg == self->wire.outgoing && self->wire.outgoing_busy);
    self->wire.outgoing_busy = false;
}

/* Stamps msg with our identity, encodes it and queues it. */
int node_queue (chord_node_t *self, chord_msg_t *msg, chord_dest_kind_t kind, const char *endpoint,
                const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    /* A field its type does not carry would be dropped by the receiver: a
       bug in this node, said loudly, but no reason to stop serving. */
    if (msg->fields & ~chord_msg_allowed_fields (msg->type))
        node_log (self, CHORD_LOG_ERROR, "a %s carries fields %#x its type does not: the receiver drops them",
                  chord_msg_type_name (msg->type), msg->fields & ~chord_msg_allowed_fields (msg->type));
    msg->has_sender = true;
    msg->sender = self->self;
    chord_outgoing_t item;
    memset (&item, 0, sizeof item);
    item.kind = kind;
    if (kind == CHORD_DEST_PEER)
        snprintf (item.endpoint, sizeof item.endpoint, "%s", endpoint);
    else
        item.origin = *origin;
    if (chord_msg_encode (msg, &item.data, &item.size) != 0) {
        node_log (self, CHORD_LOG_ERROR, "cannot encode %s message", chord_msg_type_name (msg->type));
        return -1;
    }
    if (s_outbox_push (self, &item) != 0) {
        free (item.data);
        return -1;
    }
    self->stats.messages_sent++;
    return 0;
}

int node_send_peer (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg)
{
    assert (self);
    assert (peer);
    assert (msg);
    msg->has_target = true;
    msg->target = peer->id;
    return node_queue (self, msg, CHORD_DEST_PEER, peer->endpoint, NULL);
}

int node_reply (chord_node_t *self, const chord_origin_t *origin, chord_msg_t *msg)
{
    assert (self);
    assert (msg);
    return node_queue (self, msg, CHORD_DEST_ORIGIN, NULL, origin);
}

const chord_msg_t *node_wire_decode (chord_node_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    assert (!self->wire.incoming_busy);
    /* Allocated at the first message: a driver that decodes itself and
       calls chord_node_handle (chordd) never needs it. */
    if (!self->wire.incoming && !(self->wire.incoming = malloc (sizeof *self->wire.incoming))) {
        node_log (self, CHORD_LOG_ERROR, "out of memory to decode a message: dropped");
        return NULL;
    }
    if (chord_msg_decode (self->wire.incoming, data, size) != 0)
        return NULL;
    self->wire.incoming_busy = true;
    return self->wire.incoming;
}

void node_wire_decoded_done (chord_node_t *self)
{
    assert (self);
    assert (self->wire.incoming_busy);
    chord_msg_clear (self->wire.incoming);
    self->wire.incoming_busy = false;
}

bool chord_node_pop_outgoing (chord_node_t *self, chord_outgoing_t *out)
{
    assert (self);
    assert (out);
    if (self->wire.outbox_count == 0)
        return false;
    *out = self->wire.outbox[self->wire.outbox_head];
    self->wire.outbox_head = (self->wire.outbox_head + 1) % self->wire.outbox_alloc;
    self->wire.outbox_count--;
    return true;
}
