/*  chord node: stabilize, notify and check_predecessor, the ring module's
    (node_ring.h) maintenance of successors and predecessor.  */

#include "node_internal.h"

#include <assert.h>
#include <string.h>

void node_on_get_state (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    node_ring_t *ring = &self->ring;
    /* A joiner not yet taken in has no successor list worth sharing. */
    if (!origin || self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT ||
        (self->state == CHORD_NODE_JOINING && !node_join_accepted (self))) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_STATE, msg->request_id);
    reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
    reply->has_pred = ring->has_pred && ring->pred_alive;
    reply->pred = ring->pred;
    reply->peer_count = ring->succ_count;
    memcpy (reply->peers, ring->succ, ring->succ_count * sizeof ring->succ[0]);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

static void s_notify (chord_node_t *self, const chord_peer_t *to)
{
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_NOTIFY, node_new_request_id (self));
    node_send_peer (self, to, msg);
    node_msg_end (self, msg);
}

void node_on_state (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    assert (msg);
    node_ring_t *ring = &self->ring;
    chord_peer_t successor = rpc->peer;
    node_rpc_remove (self, rpc);
    ring->succ_misses = 0;
    if (msg->has_pred)
        node_ring_forgive_if_rejoined (self, &msg->pred.id, now_ms);
    /* Our successor's predecessor may sit between us: then it is our successor. */
    if (msg->has_pred && !node_is_self (self, &msg->pred) &&
        chord_id_in_open (&msg->pred.id, &self->self.id, &successor.id) &&
        !node_ring_is_dead (self, &msg->pred.id, now_ms)) {
        chord_peer_t list[CHORD_PEER_LIST_MAX];
        size_t count = 0;
        list[count++] = successor;
        for (size_t i = 0; i < msg->peer_count && count < CHORD_PEER_LIST_MAX; i++)
            list[count++] = msg->peers[i];
        node_succ_set (self, &msg->pred, list, count, now_ms);
        /* A closer successor may have a closer predecessor still: ask it at
           once rather than a whole interval later, so a successor pointer
           that is far off (after a merge, or when every successor failed)
           walks back in round trips, not intervals. Each step gets closer. */
        node_timers_fire_at (self, NODE_TIMER_STABILIZE, now_ms);
    } else
        node_succ_set (self, &successor, msg->peers, msg->peer_count, now_ms);
    /* A leaving peer must not notify: its successor would take it back as
       predecessor and hand it the keys it just handed over. */
    if (!node_alone (self) && self->state == CHORD_NODE_ACTIVE)
        s_notify (self, &ring->succ[0]);
}

void node_on_state_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms)
{
    assert (self);
    assert (rpc && rpc->kind == RPC_GET_STATE);
    node_ring_t *ring = &self->ring;
    chord_peer_t peer = rpc->peer;
    node_rpc_remove (self, rpc);
    self->stats.rpc_timeouts++;
    /* Once may be a lost message: ask again at once. Twice in a row: dead,
       and the next successor takes over. */
    node_suspect (self, &peer, ++ring->succ_misses >= CHORD_MISSES_DEAD, now_ms);
    if (ring->succ_misses >= CHORD_MISSES_DEAD)
        ring->succ_misses = 0;
    node_timers_fire_at (self, NODE_TIMER_STABILIZE, now_ms);
}

void node_on_pong (chord_node_t *self, node_rpc_t *rpc)
{
    assert (self);
    assert (rpc && rpc->kind == RPC_PING);
    node_ring_t *ring = &self->ring;
    if (ring->has_pred && chord_id_equal (&ring->pred.id, &rpc->peer.id)) {
        ring->pred_alive = true;
        ring->pred_misses = 0;
    }
    node_rpc_remove (self, rpc);
}

void node_on_ping_timeout (chord_node_t *self, node_rpc_t *rpc)
{
    assert (self);
    assert (rpc && rpc->kind == RPC_PING);
    node_ring_t *ring = &self->ring;
    chord_peer_t peer = rpc->peer;
    node_rpc_remove (self, rpc);
    self->stats.rpc_timeouts++;
    if (ring->has_pred && chord_id_equal (&ring->pred.id, &peer.id) &&
        ++ring->pred_misses >= CHORD_MISSES_DEAD) {
        ring->pred_misses = 0;
        char a[9];
        node_log (self, CHORD_LOG_WARN, "predecessor %s (%s) is not answering", node_short (&peer.id, a),
                  peer.endpoint);
        ring->pred_alive = false;
    }
}

void node_on_notify (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    node_ring_t *ring = &self->ring;
    if (!msg->has_sender || node_is_self (self, &msg->sender) || self->state == CHORD_NODE_IDLE ||
        self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    const chord_peer_t *candidate = &msg->sender;
    if (node_ring_is_dead (self, &candidate->id, now_ms)) {
        self->stats.messages_dropped++;   /* it left, or failed us twice: a late word from the past */
        return;
    }
    if (ring->has_pred && chord_id_equal (&ring->pred.id, &candidate->id)) {
        ring->pred_alive = true;
        ring->pred_misses = 0;
        ring->pred = *candidate;
    } else if (!ring->has_pred || !ring->pred_alive ||
               chord_id_in_open (&candidate->id, &ring->pred.id, &self->self.id)) {
        bool shrinks = ring->has_pred && ring->pred_alive && self->state == CHORD_NODE_ACTIVE;
        chord_id_t old_pred = ring->pred.id;
        if (ring->has_pred && !ring->pred_alive && !ring->pred_handed_off &&
            self->state == CHORD_NODE_ACTIVE &&
            chord_id_in_open (&old_pred, &candidate->id, &self->self.id)) {
            /* The silent predecessor's arc is ours now, but not its data. */
            ring->has_inherited = true;
            ring->inherited_from = candidate->id;
            ring->inherited_upto = old_pred;
            /* Long enough to outlast a stalled machine, not just a round of
               maintenance: "not found" must not be said of a key that a
               paused peer still holds. */
            uint64_t grace_ms = 10 * (uint64_t) self->config.stabilize_interval_ms;
            if (grace_ms < 10 * (uint64_t) self->config.rpc_timeout_ms)
                grace_ms = 10 * (uint64_t) self->config.rpc_timeout_ms;
            ring->inherited_until_ms = now_ms + grace_ms;
        }
        ring->pred_handed_off = false;
        char a[9];
        node_log (self, CHORD_LOG_INFO, "predecessor is now %s (%s)", node_short (&candidate->id, a),
                  candidate->endpoint);
        ring->has_pred = true;
        ring->pred = *candidate;
        ring->pred_alive = true;
        /* A peer that slipped in without JOIN still gets its arc. */
        if (shrinks)
            node_handoff_start (self, candidate, NULL, node_new_request_id (self), false, &old_pred,
                                &candidate->id, now_ms);
    }
    /* A joiner that has no successor yet must not take its predecessor for one. */
    if (node_alone (self) && self->state == CHORD_NODE_ACTIVE)
        node_succ_set (self, candidate, NULL, 0, now_ms);
}

void node_on_leave_notice (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    node_ring_t *ring = &self->ring;
    if (!msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    if (!chord_id_equal (&ring->succ[0].id, &msg->sender.id)) {
        node_departed (self, &msg->sender, now_ms);
        return;
    }
    char a[9];
    node_log (self, CHORD_LOG_INFO, "successor %s (%s) left", node_short (&msg->sender.id, a),
              msg->sender.endpoint);
    node_succ_set (self, NULL, msg->peers, msg->peer_count, now_ms);
    node_departed (self, &msg->sender, now_ms);
    if (node_alone (self))
        ring->has_pred = false;
    else if (self->state == CHORD_NODE_ACTIVE)
        s_notify (self, &ring->succ[0]);
}

void node_on_ping (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    if (!origin || self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_PONG, msg->request_id);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

void node_stabilize (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    if (node_rpc_pending (self, RPC_GET_STATE))
        return;
    if (node_alone (self)) {
        if (ring->has_pred && ring->pred_alive && !node_is_self (self, &ring->pred) &&
            self->state == CHORD_NODE_ACTIVE) {
            node_succ_set (self, &ring->pred, NULL, 0, now_ms);
            s_notify (self, &ring->succ[0]);
        }
        return;
    }
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_GET_STATE, 0);
    node_call (self, &ring->succ[0], msg, RPC_GET_STATE, NULL, now_ms);
    node_msg_end (self, msg);
}

void node_check_predecessor (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    if (!ring->has_pred || !ring->pred_alive || node_is_self (self, &ring->pred) ||
        node_rpc_pending (self, RPC_PING))
        return;
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_PING, 0);
    node_call (self, &ring->pred, msg, RPC_PING, NULL, now_ms);
    node_msg_end (self, msg);
}

