/*  Tests for what may enter a node (protocol/node_gate.c, and the fields
    the decoder lets through): one node driven by hand, its replies decoded.

      crash     a CLIENT_DEL or CLIENT_GET carrying a value (which once
                crashed any peer) is answered, and the peer goes on serving
      roles     each role may do what it may and no more; a known client
                is told "forbidden", a stranger and a client sending peer
                messages hear nothing
      bound     ids must be BLAKE2b of their endpoint or endpoint#i: a JOIN
                or NOTIFY from a forged id takes nothing, and any message
                naming an unbound peer in a list is dropped

    Run alone: make build/t/test_gate.t && build/t/test_gate.t  */

#include "id.h"
#include "message.h"
#include "node.h"
#include "record.h"
#include "store.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SENT_MAX 64 /* replies one step may produce, at most */

typedef struct {
    chord_node_t *node;
    chord_store_t *store;
    uint64_t now_ms;
    size_t sent_count;
    chord_msg_t *sent[S_SENT_MAX]; /* decoded replies of the last step */
    uint8_t *sent_data[S_SENT_MAX];
} s_rig_t;

static void s_random (void *arg, void *buf, size_t len)
{
    uint32_t *state = arg;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        *state = *state * 1103515245u + 12345u;
        out[i] = (uint8_t) (*state >> 16);
    }
}

static uint32_t s_random_state = 7;

static chord_peer_t s_peer (const char *endpoint, unsigned position)
{
    chord_peer_t peer;
    memset (&peer, 0, sizeof peer);
    snprintf (peer.endpoint, sizeof peer.endpoint, "%s", endpoint);
    chord_id_of_position (&peer.id, endpoint, position);
    return peer;
}

static void s_rig_clear (s_rig_t *rig)
{
    for (size_t i = 0; i < rig->sent_count; i++) {
        chord_msg_clear (rig->sent[i]);
        free (rig->sent[i]);
        free (rig->sent_data[i]);
    }
    rig->sent_count = 0;
}

/* A lone node (its own ring, ACTIVE) keeping 3 copies of each key. */
static void s_rig_new (s_rig_t *rig)
{
    memset (rig, 0, sizeof *rig);
    rig->store = chord_store_mem_new ();
    chord_node_config_t config = {
        .endpoint = "tcp://victim:7000",
        .successors = 3,
        .stabilize_interval_ms = 100,
        .rpc_timeout_ms = 300,
        .replicas = 3,
        .wall_offset_ms = 1700000000000,
    };
    chord_id_of_position (&config.id, config.endpoint, 0);
    chord_env_t env = {.store = rig->store, .random_bytes = s_random, .random_arg = &s_random_state};
    rig->node = chord_node_new (&config, &env);
    rig->now_ms = 1000;
    chord_node_start (rig->node, NULL, 0, rig->now_ms);
}

static void s_rig_destroy (s_rig_t *rig)
{
    s_rig_clear (rig);
    chord_node_destroy (&rig->node);
    chord_store_destroy (&rig->store);
}

/* Hands msg (encoded) to the node with role, then collects what it sent. */
static void s_feed (s_rig_t *rig, const chord_msg_t *msg, chord_role_t role)
{
    s_rig_clear (rig);
    uint8_t *data;
    size_t size;
    if (chord_msg_encode (msg, &data, &size) != 0) {
        tap_diag ("cannot encode a %s", chord_msg_type_name (msg->type));
        return;
    }
    chord_origin_t origin = {.size = 4, .bytes = {'c', 'o', 'n', 'n'}};
    chord_node_receive (rig->node, data, size, &origin, role, ++rig->now_ms);
    free (data);
    chord_outgoing_t out;
    while (chord_node_pop_outgoing (rig->node, &out)) {
        chord_msg_t *decoded = malloc (sizeof *decoded);
        if (rig->sent_count < S_SENT_MAX && decoded && chord_msg_decode (decoded, out.data, out.size) == 0) {
            rig->sent[rig->sent_count] = decoded;
            rig->sent_data[rig->sent_count++] = out.data;
        }
        else {
            free (decoded);
            free (out.data);
        }
    }
}

/* The one reply of the last step, if it is of this type, or NULL. */
static const chord_msg_t *s_reply (const s_rig_t *rig, chord_msg_type_t type)
{
    return rig->sent_count == 1 && rig->sent[0]->type == type ? rig->sent[0] : NULL;
}

static void s_client_msg (chord_msg_t *msg, chord_msg_type_t type, const char *key, const char *value)
{
    chord_msg_init (msg, type, 77);
    if (key) {
        msg->fields |= CHORD_F_KEY;
        msg->key = (const uint8_t *) key;
        msg->key_len = strlen (key);
    }
    if (value) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = (const uint8_t *) value;
        msg->value_len = strlen (value);
    }
}

static bool s_status (const s_rig_t *rig, chord_msg_type_t type, chord_status_t status)
{
    const chord_msg_t *reply = s_reply (rig, type);
    return reply && (reply->fields & CHORD_F_STATUS) && reply->status == status;
}

static void s_test_crash (chord_msg_t *msg)
{
    s_rig_t rig;
    s_rig_new (&rig);
    s_client_msg (msg, CHORD_MSG_CLIENT_DEL, "k", "a value a delete does not carry");
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (s_reply (&rig, CHORD_MSG_CLIENT_REPLY) != NULL, "crash: a CLIENT_DEL with a val is answered");
    s_client_msg (msg, CHORD_MSG_CLIENT_GET, "k", "a value a get does not carry");
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_NOT_FOUND),
            "crash: a CLIENT_GET with a val is answered not_found");
    s_client_msg (msg, CHORD_MSG_CLIENT_PUT, "k", "v");
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    bool put = s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_OK);
    s_client_msg (msg, CHORD_MSG_CLIENT_GET, "k", NULL);
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    const chord_msg_t *got = s_reply (&rig, CHORD_MSG_CLIENT_REPLY);
    tap_ok (put && got && got->status == CHORD_STATUS_OK && got->value_len == 1 && got->value[0] == 'v',
            "crash: the peer then stores and serves a key as before");
    s_rig_destroy (&rig);
}

static void s_test_roles (chord_msg_t *msg)
{
    s_rig_t rig;
    s_rig_new (&rig);
    s_client_msg (msg, CHORD_MSG_CLIENT_PUT, "r", "v");
    s_feed (&rig, msg, CHORD_ROLE_READ);
    const chord_msg_t *reply = s_reply (&rig, CHORD_MSG_CLIENT_REPLY);
    tap_ok (reply && reply->status == CHORD_STATUS_FORBIDDEN && reply->text && strstr (reply->text, "read"),
            "roles: a read client's put is answered forbidden (\"%s\")", reply && reply->text ? reply->text : "");
    tap_ok (chord_store_count (rig.store) == 0, "roles: and nothing is stored");
    s_client_msg (msg, CHORD_MSG_CLIENT_DEL, "r", NULL);
    s_feed (&rig, msg, CHORD_ROLE_READ);
    tap_ok (s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_FORBIDDEN), "roles: so is its del");
    s_client_msg (msg, CHORD_MSG_CLIENT_GET, "r", NULL);
    s_feed (&rig, msg, CHORD_ROLE_READ);
    tap_ok (s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_NOT_FOUND), "roles: its get is served");
    s_client_msg (msg, CHORD_MSG_CLIENT_INFO, NULL, NULL);
    s_feed (&rig, msg, CHORD_ROLE_READ);
    tap_ok (s_reply (&rig, CHORD_MSG_INFO_REPLY) != NULL, "roles: and its info");
    s_client_msg (msg, CHORD_MSG_CLIENT_PUT, "w", "v");
    s_feed (&rig, msg, CHORD_ROLE_WRITE);
    tap_ok (s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_OK), "roles: a write client's put is stored");
    s_client_msg (msg, CHORD_MSG_CLIENT_LEAVE, NULL, NULL);
    s_feed (&rig, msg, CHORD_ROLE_WRITE);
    tap_ok (s_status (&rig, CHORD_MSG_CLIENT_REPLY, CHORD_STATUS_FORBIDDEN) &&
                chord_node_state (rig.node) == CHORD_NODE_ACTIVE,
            "roles: a write client cannot make the peer leave");
    s_client_msg (msg, CHORD_MSG_CLIENT_GET, "w", NULL);
    s_feed (&rig, msg, CHORD_ROLE_NONE);
    tap_ok (rig.sent_count == 0, "roles: a stranger's get hears nothing");
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 5);
    msg->fields = CHORD_F_ID;
    chord_id_hash (&msg->id, "x", 1);
    uint64_t refused = chord_node_stats (rig.node)->messages_refused;
    s_feed (&rig, msg, CHORD_ROLE_ADMIN);
    tap_ok (rig.sent_count == 0 && chord_node_stats (rig.node)->messages_refused == refused + 1,
            "roles: a peer message from an admin client is dropped, unanswered, and counted");
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (s_reply (&rig, CHORD_MSG_FIND_SUCC_REPLY) != NULL, "roles: from a peer it is answered (the control)");
    s_client_msg (msg, CHORD_MSG_CLIENT_LEAVE, NULL, NULL);
    s_feed (&rig, msg, CHORD_ROLE_ADMIN);
    tap_ok (chord_node_state (rig.node) == CHORD_NODE_LEFT, "roles: an admin client makes the peer leave");
    s_rig_destroy (&rig);
}

static void s_test_bound (chord_msg_t *msg)
{
    chord_peer_t good = s_peer ("tcp://good:1", 0), vnode = s_peer ("tcp://good:1", 63);
    chord_peer_t beyond = s_peer ("tcp://good:1", 64), hashed = s_peer ("tcp://good:1#5", 0);
    tap_ok (chord_id_bound (&good.id, good.endpoint) && chord_id_bound (&vnode.id, vnode.endpoint),
            "bound: position 0 and position 63 of an endpoint are bound to it");
    tap_ok (!chord_id_bound (&beyond.id, beyond.endpoint) && !chord_id_bound (&hashed.id, hashed.endpoint),
            "bound: position 64, and an endpoint holding '#', are not");

    s_rig_t rig;
    s_rig_new (&rig);
    for (int i = 0; i < 50; i++) {
        char key[16];
        snprintf (key, sizeof key, "key-%d", i);
        s_client_msg (msg, CHORD_MSG_CLIENT_PUT, key, "v");
        s_feed (&rig, msg, CHORD_ROLE_PEER);
    }
    size_t stored = chord_store_count (rig.store);
    /* The arc hijack: an id just below ours, at an endpoint the attacker runs. */
    chord_msg_init (msg, CHORD_MSG_JOIN, 9);
    msg->has_sender = true;
    msg->sender = s_peer ("tcp://attacker:1", 0);
    msg->sender.id = chord_node_self (rig.node)->id;
    for (int i = CHORD_ID_BYTES - 1; i >= 0 && msg->sender.id.bytes[i]-- == 0; i--)
        ;
    uint64_t unbound = chord_node_stats (rig.node)->messages_unbound;
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (rig.sent_count == 0 && chord_node_predecessor (rig.node) == NULL &&
                chord_node_stats (rig.node)->messages_unbound == unbound + 1,
            "bound: a JOIN from an id not its endpoint's gets no reply, no keys (of %zu), no place", stored);
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 10);
    msg->has_sender = true;
    msg->sender = s_peer ("tcp://attacker:1", 0);
    msg->sender.id.bytes[0] ^= 1;
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (chord_node_predecessor (rig.node) == NULL, "bound: nor does a NOTIFY become our predecessor");
    chord_msg_init (msg, CHORD_MSG_JOIN, 11);
    msg->has_sender = true;
    msg->sender = s_peer ("tcp://honest:1", 3);
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    bool joined = rig.sent_count >= 1 && rig.sent[0]->type == CHORD_MSG_JOIN_REPLY &&
                  rig.sent[0]->status == CHORD_STATUS_OK;
    tap_ok (joined, "bound: a JOIN from position 3 of an endpoint is taken (the control)");
    /* A successor list naming one unbound peer: the whole message is dropped. */
    chord_msg_init (msg, CHORD_MSG_LEAVE_NOTICE, 12);
    msg->has_sender = true;
    msg->sender = s_peer ("tcp://honest:1", 3);
    msg->fields = CHORD_F_SUCC;
    msg->peer_count = 2;
    msg->peers[0] = s_peer ("tcp://other:1", 0);
    msg->peers[1] = s_peer ("tcp://attacker:1", 0);
    msg->peers[1].id.bytes[3] ^= 0x40;
    unbound = chord_node_stats (rig.node)->messages_unbound;
    s_feed (&rig, msg, CHORD_ROLE_PEER);
    tap_ok (chord_node_stats (rig.node)->messages_unbound == unbound + 1,
            "bound: a LEAVE_NOTICE whose successor list names an unbound peer is dropped");
    s_rig_destroy (&rig);
}

int main (void)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return 1;
    s_test_crash (msg);
    s_test_roles (msg);
    s_test_bound (msg);
    free (msg);
    return tap_done ();
}
