/*  chord node: stabilize, notify and check_predecessor, the ring module's
    (node_ring.h) maintenance of successors and predecessor.  */

#include "node_internal.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

#define S_DIGEST_BYTES 8    /* of BLAKE2b: a uint64 on the wire */

static void s_digest_peer (crypto_generichash_state *state, const chord_peer_t *peer)
{
    size_t len = strnlen (peer->endpoint, CHORD_ENDPOINT_MAX);
    uint8_t len_byte = (uint8_t) len;   /* CHORD_ENDPOINT_MAX fits a byte */
    crypto_generichash_update (state, peer->id.bytes, CHORD_ID_BYTES);
    crypto_generichash_update (state, &len_byte, 1);
    crypto_generichash_update (state, (const uint8_t *) peer->endpoint, len);
}

uint64_t node_state_digest (bool has_pred, const chord_peer_t *pred, const chord_peer_t *peers, size_t count)
{
    assert (!has_pred || pred);
    assert (peers || count == 0);
    static const char domain[] = "chord state digest v1";
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, S_DIGEST_BYTES);
    crypto_generichash_update (&state, (const uint8_t *) domain, sizeof domain);
    uint8_t head[2] = {has_pred, (uint8_t) count};  /* count <= CHORD_PEER_LIST_MAX */
    crypto_generichash_update (&state, head, sizeof head);
    if (has_pred)
        s_digest_peer (&state, pred);
    for (size_t i = 0; i < count; i++)
        s_digest_peer (&state, &peers[i]);
    uint8_t out[S_DIGEST_BYTES];
    crypto_generichash_final (&state, out, sizeof out);
    uint64_t digest = 0;
    for (size_t i = 0; i < sizeof out; i++)
        digest = digest << 8 | out[i];
    return digest ? digest : 1;     /* 0 would read as "no digest" */
}

void node_on_get_state (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    node_ring_t *ring = &self->ring;
    /* A joiner not yet taken in has no successor list worth sharing. */
    if (!origin || self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT ||
        (self->state == CHORD_NODE_JOINING && !node_join_accepted (self))) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_STATE, msg->request_id);
    bool has_pred = ring->has_pred && ring->pred_alive;
    uint64_t digest = node_state_digest (has_pred, &ring->pred, ring->succ, ring->succ_count);
    if ((msg->fields & CHORD_F_COUNT) && msg->count == digest) {
        reply->fields = CHORD_F_COUNT;     /* the asker has it all already */
        reply->count = digest;
    } else {
        reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
        reply->has_pred = has_pred;
        reply->pred = ring->pred;
        reply->peer_count = ring->succ_count;
        memcpy (reply->peers, ring->succ, ring->succ_count * sizeof ring->succ[0]);
    }
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

static void s_notify (chord_node_t *self, const chord_peer_t *to)
{
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_NOTIFY, node_new_request_id (self));
    node_send_peer (self, to, msg);
    node_msg_end (self, msg);
}

/*  The successor's state as its STATE gives it: in full (kept for next
    time), or as its digest of what it told us last; NULL for a STATE that
    is neither (a digest we did not send, fields missing).  */
static const node_succ_state_t *s_state_of_reply (chord_node_t *self, const chord_peer_t *successor,
                                                  const chord_msg_t *msg)
{
    node_succ_state_t *last = &self->ring.last_state;
    uint32_t full = CHORD_F_PRED | CHORD_F_SUCC;
    if ((msg->fields & full) == full) {
        last->valid = true;
        last->from = successor->id;
        last->has_pred = msg->has_pred;
        if (msg->has_pred)
            last->pred = msg->pred;
        last->count = msg->peer_count;
        memcpy (last->peers, msg->peers, msg->peer_count * sizeof msg->peers[0]);
        last->digest = node_state_digest (last->has_pred, &last->pred, last->peers, last->count);
        return last;
    }
    if (!(msg->fields & full) && (msg->fields & CHORD_F_COUNT) && last->valid &&
        chord_id_equal (&last->from, &successor->id) && msg->count == last->digest)
        return last;
    last->valid = false;    /* the next GET_STATE asks for it all */
    return NULL;
}

/*  Our successor already has us as its live predecessor, and is not alone:
    a NOTIFY would tell it nothing, so the steady ring sends none.  */
static bool s_successor_knows_us (const chord_node_t *self, const chord_peer_t *successor,
                                  const node_succ_state_t *state)
{
    return state->has_pred && node_is_self (self, &state->pred) && state->count > 0 &&
           !chord_id_equal (&state->peers[0].id, &successor->id) &&
           chord_id_equal (&self->ring.succ[0].id, &successor->id);
}

void node_on_state (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    assert (msg);
    node_ring_t *ring = &self->ring;
    chord_peer_t successor = rpc->peer;
    node_rpc_remove (self, rpc);
    const node_succ_state_t *state = s_state_of_reply (self, &successor, msg);
    if (!state) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    ring->succ_misses = 0;
    /* We found a closer successor (a probe) while the question was on its
       way: the old one's list would undo that. Ask the new one at once. */
    if (!node_alone (self) && chord_id_in_open (&ring->succ[0].id, &self->self.id, &successor.id)) {
        node_timers_fire_at (self, NODE_TIMER_STABILIZE, now_ms);
        return;
    }
    if (state->has_pred)
        node_ring_forgive_if_rejoined (self, &state->pred.id, now_ms);
    /* Our successor's predecessor may sit between us: then it is our successor. */
    if (state->has_pred && !node_is_self (self, &state->pred) &&
        chord_id_in_open (&state->pred.id, &self->self.id, &successor.id) &&
        !node_ring_is_dead (self, &state->pred.id, now_ms)) {
        chord_peer_t list[CHORD_PEER_LIST_MAX];
        size_t count = 0;
        list[count++] = successor;
        for (size_t i = 0; i < state->count && count < CHORD_PEER_LIST_MAX; i++)
            list[count++] = state->peers[i];
        node_succ_set (self, &state->pred, list, count, now_ms);
        /* A closer successor may have a closer predecessor still: ask it at
           once rather than a whole interval later, so a successor pointer
           that is far off (after a merge, or when every successor failed)
           walks back in round trips, not intervals. Each step gets closer. */
        node_timers_fire_at (self, NODE_TIMER_STABILIZE, now_ms);
    } else
        node_succ_set (self, &successor, state->peers, state->count, now_ms);
    /* A leaving peer must not notify: its successor would take it back as
       predecessor and hand it the keys it just handed over. */
    if (!node_alone (self) && self->state == CHORD_NODE_ACTIVE && !s_successor_knows_us (self, &successor, state))
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
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    const chord_peer_t *candidate = &msg->sender;
    if (node_ring_is_dead (self, &candidate->id, now_ms)) {
        node_drop (self, CHORD_DROP_UNEXPECTED);   /* it left, or failed us twice: a late word from the past */
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
        node_drop (self, CHORD_DROP_MALFORMED);
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
        node_drop (self, CHORD_DROP_UNEXPECTED);
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
    const node_succ_state_t *last = &ring->last_state;
    if (last->valid && chord_id_equal (&last->from, &ring->succ[0].id)) {
        msg->fields |= CHORD_F_COUNT;   /* "unchanged" will do, if it is */
        msg->count = last->digest;
    }
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

