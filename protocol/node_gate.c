/*  chord node gate: roles, and ids bound to endpoints. */
#include "node_gate.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

void node_gate_init (node_gate_t *self, const uint8_t tag_key[16])
{
    assert (self);
    assert (tag_key);
    _Static_assert (sizeof self->tag_key == crypto_shorthash_KEYBYTES, "SipHash takes a 16-byte key");
    _Static_assert ((NODE_GATE_CACHE & (NODE_GATE_CACHE - 1)) == 0, "the cache is indexed by a mask");
    memset (self, 0, sizeof *self);
    memcpy (self->tag_key, tag_key, sizeof self->tag_key);
}

chord_role_t node_gate_role_needed (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_LOOKUP:
    case CHORD_MSG_CLIENT_INFO:
        return CHORD_ROLE_READ;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_DEL:
        return CHORD_ROLE_WRITE;
    case CHORD_MSG_CLIENT_LEAVE:
        return CHORD_ROLE_ADMIN;
    default:
        return CHORD_ROLE_PEER;
    }
}

bool node_gate_role_allows (const chord_msg_t *msg, chord_role_t role)
{
    assert (msg);
    return role >= node_gate_role_needed (msg->type);
}

static uint64_t s_endpoint_tag (const node_gate_t *self, const char *endpoint)
{
    uint8_t tag[crypto_shorthash_BYTES];
    (void) crypto_shorthash (tag, (const unsigned char *) endpoint, strlen (endpoint), self->tag_key);
    uint64_t value;
    memcpy (&value, tag, sizeof value);
    return value;
}

bool node_gate_peer_bound (node_gate_t *self, const chord_peer_t *peer)
{
    assert (self);
    assert (peer);
    node_gate_entry_t *entry = &self->bound[peer->id.bytes[CHORD_ID_BYTES - 1] & (NODE_GATE_CACHE - 1)];
    uint64_t tag = s_endpoint_tag (self, peer->endpoint);
    if (entry->used && entry->endpoint_tag == tag && chord_id_equal (&entry->id, &peer->id))
        return true;
    if (!chord_id_bound (&peer->id, peer->endpoint))
        return false;
    *entry = (node_gate_entry_t) {.id = peer->id, .endpoint_tag = tag, .used = true};
    return true;
}

static bool s_all_bound (node_gate_t *self, const chord_peer_t *peers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!node_gate_peer_bound (self, &peers[i]))
            return false;
    return true;
}

bool node_gate_peers_bound (node_gate_t *self, const chord_msg_t *msg)
{
    assert (self);
    assert (msg);
    return (!msg->has_sender || node_gate_peer_bound (self, &msg->sender))
                 && (!(msg->fields & CHORD_F_PEER) || node_gate_peer_bound (self, &msg->peer))
                 && (!(msg->fields & CHORD_F_PRED) || !msg->has_pred || node_gate_peer_bound (self, &msg->pred))
                 && (!(msg->fields & CHORD_F_SUCC) || s_all_bound (self, msg->peers, msg->peer_count))
                 && (!(msg->fields & CHORD_F_FINGERS) || s_all_bound (self, msg->fingers, msg->finger_count));
}
