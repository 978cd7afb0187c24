/*  chord node: ring membership. The successor list, predecessor, fingers
    and suspects; who owns what; and stabilize, notify, check_predecessor
    and fix_fingers, which keep them right.  */

#include "node_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool node_is_self (const chord_node_t *self, const chord_peer_t *peer)
{
    return chord_id_equal (&peer->id, &self->self.id);
}

static bool s_is_suspect (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, id) && self->suspects[i].until_ms > now_ms)
            return true;
    return false;
}

bool node_is_excluded (const chord_id_t *id, const chord_id_t *excluded, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (chord_id_equal (id, &excluded[i]))
            return true;
    return false;
}

/* Failed maintenance twice, not merely slow once: keep it out of successor lists. */
static bool s_is_dead (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, id) && self->suspects[i].until_ms > now_ms)
            return self->suspects[i].dead;
    return false;
}

static uint64_t s_suspicion_ms (const chord_node_t *self)
{
    uint64_t ms = 3 * (uint64_t) self->config.stabilize_interval_ms;
    if (ms < 2 * (uint64_t) self->config.rpc_timeout_ms)
        ms = 2 * (uint64_t) self->config.rpc_timeout_ms;
    return ms;
}

/*  A peer that left gracefully is dead for longer than a failed one: peers
    that have not yet heard of its leave keep offering it (as a predecessor
    in STATE, in successor lists), and it must not be taken back. A peer
    that rejoins clears this where it joins (node_forgive).  */
void node_departed (chord_node_t *self, const chord_peer_t *peer, uint64_t now_ms)
{
    node_suspect (self, peer, true, now_ms);
    for (size_t i = 0; i < self->remembered_count; i++)
        if (chord_id_equal (&self->remembered[i].id, &peer->id)) {
            self->remembered[i] = self->remembered[--self->remembered_count];   /* it left: no probing */
            break;
        }
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, &peer->id)) {
            self->suspects[i].until_ms = now_ms + CHORD_DEPARTED_SUSPICIONS * s_suspicion_ms (self);
            self->suspects[i].departed_ms = now_ms;
        }
    if (self->has_pred && chord_id_equal (&self->pred.id, &peer->id) && !self->pred_handed_off)
        self->pred_alive = false;
}

/*  A successor names as its predecessor a peer we know left. Right after a
    leave that is a stale word (it has not heard yet); two suspicion periods
    later, it took the peer back through a JOIN: the peer rejoined (a
    restart on its data directory, say), and waiting out the rest of the
    departure would keep it out of our lists for nothing.  */
static void s_forgive_if_rejoined (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->suspect_count; i++) {
        const node_suspect_t *suspect = &self->suspects[i];
        if (chord_id_equal (&suspect->id, id) && suspect->until_ms > now_ms && suspect->departed_ms &&
            suspect->departed_ms + 2 * s_suspicion_ms (self) <= now_ms)
            node_forgive (self, id);
    }
}

void node_forgive (chord_node_t *self, const chord_id_t *id)
{
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, id))
            self->suspects[i].until_ms = 0;
}

/* Forgets the successor at index i, keeping the list non-empty. */
void node_succ_remove_at (chord_node_t *self, size_t i)
{
    memmove (&self->succ[i], &self->succ[i + 1], (self->succ_count - i - 1) * sizeof self->succ[0]);
    self->succ_count--;
    if (self->succ_count == 0) {
        self->succ[0] = self->self;
        self->succ_count = 1;
    }
}

/*  Rebuilds the successor list as first, then list[], dropping ourselves,
    anything after ourselves (the list wrapped round the ring), duplicates
    and suspects, cut to r entries. An empty result means we are alone.  */
void node_succ_set (chord_node_t *self, const chord_peer_t *first, const chord_peer_t *list, size_t count,
                    uint64_t now_ms)
{
    chord_peer_t fresh[CHORD_SUCCESSORS_MAX];
    size_t fresh_count = 0;
    for (size_t i = 0; i <= count && fresh_count < self->config.successors; i++) {
        const chord_peer_t *peer = i == 0 ? first : &list[i - 1];
        if (!peer)
            continue;
        if (node_is_self (self, peer))
            break;
        if (s_is_dead (self, &peer->id, now_ms))
            continue;
        bool duplicate = false;
        for (size_t j = 0; j < fresh_count; j++)
            if (chord_id_equal (&fresh[j].id, &peer->id))
                duplicate = true;
        if (!duplicate)
            fresh[fresh_count++] = *peer;
    }
    if (fresh_count == 0)
        fresh[fresh_count++] = self->self;
    if (!chord_id_equal (&fresh[0].id, &self->succ[0].id)) {
        char a[9], b[9];
        node_log (self, CHORD_LOG_INFO, "successor %s -> %s (%s)", node_short (&self->succ[0].id, a),
                  node_short (&fresh[0].id, b), fresh[0].endpoint);
    }
    memcpy (self->succ, fresh, fresh_count * sizeof fresh[0]);
    self->succ_count = fresh_count;
}

bool node_alone (const chord_node_t *self)
{
    return node_is_self (self, &self->succ[0]);
}

/* Marks a peer unresponsive: it leaves the successor list and fingers until
   the suspicion lapses and stabilization brings it back. */
/*  Marks a peer unresponsive. Lookups route around any suspect until the
    suspicion lapses; a dead one (it failed maintenance twice in a row)
    also leaves the successor list and fingers, and stabilization must not
    bring it back while the suspicion lasts. One lost reply makes a peer
    slow, not dead: with message loss, evicting live successors breaks rings.  */
void node_suspect (chord_node_t *self, const chord_peer_t *peer, bool dead, uint64_t now_ms)
{
    if (node_is_self (self, peer))
        return;
    size_t slot = self->suspect_count;
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, &peer->id) || self->suspects[i].until_ms <= now_ms) {
            slot = i;
            break;
        }
    if (slot == CHORD_SUSPECTS_MAX) {
        /* Full of live suspicions: replace the one lapsing soonest. */
        slot = 0;
        for (size_t i = 1; i < CHORD_SUSPECTS_MAX; i++)
            if (self->suspects[i].until_ms < self->suspects[slot].until_ms)
                slot = i;
    }
    bool still = slot < self->suspect_count && self->suspects[slot].until_ms > now_ms &&
                 chord_id_equal (&self->suspects[slot].id, &peer->id);
    bool was_dead = still && self->suspects[slot].dead;
    if (slot == self->suspect_count)
        self->suspect_count++;
    if (!still)
        self->suspects[slot].departed_ms = 0;
    self->suspects[slot].id = peer->id;
    self->suspects[slot].until_ms = now_ms + s_suspicion_ms (self);
    self->suspects[slot].dead = dead || was_dead;
    node_owner_cache_forget (self, &peer->id);
    if (!dead)
        return;
    /* Dead to us may mean cut off from us: worth a probe later. */
    node_remember (self, peer);

    for (size_t i = 0; i < self->succ_count;)
        if (chord_id_equal (&self->succ[i].id, &peer->id) && !node_alone (self)) {
            char a[9];
            node_log (self, CHORD_LOG_WARN, "successor %s (%s) is not answering", node_short (&peer->id, a),
                      peer->endpoint);
            node_succ_remove_at (self, i);
        } else
            i++;
    for (unsigned i = 0; i < CHORD_ID_BITS; i++)
        if (self->finger_valid[i] && chord_id_equal (&self->finger[i].id, &peer->id))
            self->finger_valid[i] = false;
    if (node_alone (self)) {
        /* Every successor failed: fall back on the nearest live finger. */
        const chord_peer_t *best = NULL;
        for (unsigned i = 0; i < CHORD_ID_BITS; i++)
            if (self->finger_valid[i] && !node_is_self (self, &self->finger[i]) &&
                !s_is_suspect (self, &self->finger[i].id, now_ms)) {
                best = &self->finger[i];
                break;
            }
        if (!best && self->has_pred && self->pred_alive && !node_is_self (self, &self->pred) &&
            !s_is_suspect (self, &self->pred.id, now_ms))
            best = &self->pred;
        if (best)
            node_succ_set (self, best, NULL, 0, now_ms);
    }
}

/*  The known peer closest before id on the ring (fingers and successors),
    skipping suspects and excluded ids; NULL when none precedes id.  */
const chord_peer_t *node_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                            const chord_id_t *excluded, size_t excluded_count,
                                            uint64_t now_ms)
{
    /* Fingers grow with their index, so the highest usable one is the best
       finger; runs of equal fingers need checking once. */
    const chord_peer_t *best = NULL, *previous = NULL;
    for (int i = CHORD_ID_BITS - 1; i >= 0 && !best; i--) {
        if (!self->finger_valid[i])
            continue;
        const chord_peer_t *peer = &self->finger[i];
        if (previous && chord_id_equal (&previous->id, &peer->id))
            continue;
        previous = peer;
        if (chord_id_in_open (&peer->id, &self->self.id, id) &&
            !node_is_excluded (&peer->id, excluded, excluded_count) &&
            !s_is_suspect (self, &peer->id, now_ms))
            best = peer;
    }
    chord_id_t best_distance, distance;
    if (best)
        chord_id_distance (&best_distance, &self->self.id, &best->id);
    for (size_t i = 0; i < self->succ_count; i++) {
        const chord_peer_t *peer = &self->succ[i];
        if (!chord_id_in_open (&peer->id, &self->self.id, id) ||
            node_is_excluded (&peer->id, excluded, excluded_count) || s_is_suspect (self, &peer->id, now_ms))
            continue;
        chord_id_distance (&distance, &self->self.id, &peer->id);
        if (!best || chord_id_cmp (&distance, &best_distance) > 0) {
            best = peer;
            best_distance = distance;
        }
    }
    return best;
}

/* The first successor not excluded (the successor itself if all are). */
const chord_peer_t *node_first_live_successor (const chord_node_t *self, const chord_id_t *excluded,
                                               size_t excluded_count, uint64_t now_ms)
{
    for (size_t i = 0; i < self->succ_count; i++)
        if (!node_is_excluded (&self->succ[i].id, excluded, excluded_count) &&
            !s_is_suspect (self, &self->succ[i].id, now_ms))
            return &self->succ[i];
    return &self->succ[0];
}

/* The remembered owner of id, or NULL. Entries are only hints: the owner
   checks every operation against its own arc and answers WRONG_OWNER. */
const chord_peer_t *node_owner_cache_find (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->owner_cache_count; i++) {
        node_owner_entry_t *entry = &self->owner_cache[i];
        if (chord_id_in_half_open (id, &entry->lower, &entry->owner.id) &&
            !s_is_suspect (self, &entry->owner.id, now_ms)) {
            entry->last_used = ++self->owner_cache_clock;
            return &entry->owner;
        }
    }
    return NULL;
}

void node_owner_cache_forget (chord_node_t *self, const chord_id_t *owner)
{
    for (size_t i = 0; i < self->owner_cache_count;)
        if (chord_id_equal (&self->owner_cache[i].owner.id, owner))
            self->owner_cache[i] = self->owner_cache[--self->owner_cache_count];
        else
            i++;
}

void node_owner_cache_put (chord_node_t *self, const chord_id_t *lower, const chord_peer_t *owner)
{
    if (self->config.owner_cache_size == 0 || node_is_self (self, owner))
        return;
    node_owner_cache_forget (self, &owner->id);
    size_t slot = self->owner_cache_count;
    if (slot == self->config.owner_cache_size) {
        slot = 0;
        for (size_t i = 1; i < self->owner_cache_count; i++)
            if (self->owner_cache[i].last_used < self->owner_cache[slot].last_used)
                slot = i;
    } else
        self->owner_cache_count++;
    self->owner_cache[slot].lower = *lower;
    self->owner_cache[slot].owner = *owner;
    self->owner_cache[slot].last_used = ++self->owner_cache_clock;
}

/* True when we serve key id now: it lies in (pred, self], or we are alone. */
bool node_owns (const chord_node_t *self, const chord_id_t *id)
{
    if (self->state != CHORD_NODE_ACTIVE)
        return false;
    if (node_alone (self))
        return true;
    return self->has_pred && chord_id_in_half_open (id, &self->pred.id, &self->self.id);
}

void node_on_find_succ (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    if (!origin || (self->state != CHORD_NODE_ACTIVE && self->state != CHORD_NODE_LEAVING)) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_FIND_SUCC_REPLY, msg->request_id);
    reply->fields = CHORD_F_DONE | CHORD_F_PEER;
    const chord_peer_t *next;
    /* A final answer also says where the owner's arc begins (pred), so the
       asker may remember the whole arc. */
    if (node_owns (self, &msg->id) &&
        !node_is_excluded (&self->self.id, msg->excluded, msg->excluded_count)) {
        reply->done = true;
        reply->peer = self->self;
        if (self->has_pred && !node_alone (self)) {
            reply->fields |= CHORD_F_PRED;
            reply->has_pred = true;
            reply->pred = self->pred;
        }
    } else if (chord_id_in_half_open (&msg->id, &self->self.id, &self->succ[0].id)) {
        reply->done = true;
        reply->peer = *node_first_live_successor (self, msg->excluded, msg->excluded_count, now_ms);
        /* Our own successor's arc starts at us. One found by skipping
           suspects has an arc we do not know: say nothing of it, or the
           asker would remember the skipped peers' arcs as the owner's. */
        if (chord_id_equal (&reply->peer.id, &self->succ[0].id)) {
            reply->fields |= CHORD_F_PRED;
            reply->has_pred = true;
            reply->pred = self->self;
        }
    } else if ((next = node_closest_preceding (self, &msg->id, msg->excluded, msg->excluded_count, now_ms))) {
        reply->done = false;
        reply->peer = *next;
    } else {
        /* Nothing known closer: the successor is progress. */
        reply->done = false;
        reply->peer = *node_first_live_successor (self, msg->excluded, msg->excluded_count, now_ms);
    }
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

void node_on_get_state (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    /* A joiner not yet taken in has no successor list worth sharing. */
    if (!origin || self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT ||
        (self->state == CHORD_NODE_JOINING && !self->join_accepted)) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_STATE, msg->request_id);
    reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
    reply->has_pred = self->has_pred && self->pred_alive;
    reply->pred = self->pred;
    reply->peer_count = self->succ_count;
    memcpy (reply->peers, self->succ, self->succ_count * sizeof self->succ[0]);
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
    chord_peer_t successor = rpc->peer;
    node_rpc_remove (self, rpc);
    self->succ_misses = 0;
    if (msg->has_pred)
        s_forgive_if_rejoined (self, &msg->pred.id, now_ms);
    /* Our successor's predecessor may sit between us: then it is our successor. */
    if (msg->has_pred && !node_is_self (self, &msg->pred) &&
        chord_id_in_open (&msg->pred.id, &self->self.id, &successor.id) &&
        !s_is_dead (self, &msg->pred.id, now_ms)) {
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
        s_notify (self, &self->succ[0]);
}

void node_on_notify (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    if (!msg->has_sender || node_is_self (self, &msg->sender) || self->state == CHORD_NODE_IDLE ||
        self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    const chord_peer_t *candidate = &msg->sender;
    if (s_is_dead (self, &candidate->id, now_ms)) {
        self->stats.messages_dropped++;   /* it left, or failed us twice: a late word from the past */
        return;
    }
    if (self->has_pred && chord_id_equal (&self->pred.id, &candidate->id)) {
        self->pred_alive = true;
        self->pred_misses = 0;
        self->pred = *candidate;
    } else if (!self->has_pred || !self->pred_alive ||
               chord_id_in_open (&candidate->id, &self->pred.id, &self->self.id)) {
        bool shrinks = self->has_pred && self->pred_alive && self->state == CHORD_NODE_ACTIVE;
        chord_id_t old_pred = self->pred.id;
        if (self->has_pred && !self->pred_alive && !self->pred_handed_off &&
            self->state == CHORD_NODE_ACTIVE &&
            chord_id_in_open (&old_pred, &candidate->id, &self->self.id)) {
            /* The silent predecessor's arc is ours now, but not its data. */
            self->has_inherited = true;
            self->inherited_from = candidate->id;
            self->inherited_upto = old_pred;
            /* Long enough to outlast a stalled machine, not just a round of
               maintenance: "not found" must not be said of a key that a
               paused peer still holds. */
            uint64_t grace_ms = 10 * (uint64_t) self->config.stabilize_interval_ms;
            if (grace_ms < 10 * (uint64_t) self->config.rpc_timeout_ms)
                grace_ms = 10 * (uint64_t) self->config.rpc_timeout_ms;
            self->inherited_until_ms = now_ms + grace_ms;
        }
        self->pred_handed_off = false;
        char a[9];
        node_log (self, CHORD_LOG_INFO, "predecessor is now %s (%s)", node_short (&candidate->id, a),
                  candidate->endpoint);
        self->has_pred = true;
        self->pred = *candidate;
        self->pred_alive = true;
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
    if (!msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    if (!chord_id_equal (&self->succ[0].id, &msg->sender.id)) {
        node_departed (self, &msg->sender, now_ms);
        return;
    }
    char a[9];
    node_log (self, CHORD_LOG_INFO, "successor %s (%s) left", node_short (&msg->sender.id, a),
              msg->sender.endpoint);
    node_succ_set (self, NULL, msg->peers, msg->peer_count, now_ms);
    node_departed (self, &msg->sender, now_ms);
    if (node_alone (self))
        self->has_pred = false;
    else if (self->state == CHORD_NODE_ACTIVE)
        s_notify (self, &self->succ[0]);
}

void node_on_ping (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
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
    if (node_rpc_pending (self, RPC_GET_STATE))
        return;
    if (node_alone (self)) {
        if (self->has_pred && self->pred_alive && !node_is_self (self, &self->pred) &&
            self->state == CHORD_NODE_ACTIVE) {
            node_succ_set (self, &self->pred, NULL, 0, now_ms);
            s_notify (self, &self->succ[0]);
        }
        return;
    }
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_GET_STATE, 0);
    node_call (self, &self->succ[0], msg, RPC_GET_STATE, NULL, now_ms);
    node_msg_end (self, msg);
}

void node_check_predecessor (chord_node_t *self, uint64_t now_ms)
{
    if (!self->has_pred || !self->pred_alive || node_is_self (self, &self->pred) ||
        node_rpc_pending (self, RPC_PING))
        return;
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_PING, 0);
    node_call (self, &self->pred, msg, RPC_PING, NULL, now_ms);
    node_msg_end (self, msg);
}

/*  Refreshes fingers in order. A finger whose start lies before the
    previous finger's peer has that same peer, so only fingers that cross
    a gap between peers cost a lookup.  */
void node_fix_fingers (chord_node_t *self, uint64_t now_ms)
{
    if (self->fixing_finger)
        return;
    for (unsigned step = 0; step < CHORD_ID_BITS; step++) {
        unsigned i = self->next_finger;
        chord_id_t start;
        chord_id_add_pow2 (&start, &self->self.id, i);
        const chord_peer_t *known = NULL;
        if (node_alone (self))
            known = &self->self;
        else if (chord_id_in_half_open (&start, &self->self.id, &self->succ[0].id))
            known = &self->succ[0];
        else if (i > 0 && self->finger_valid[i - 1] &&
                 chord_id_in_half_open (&start, &self->self.id, &self->finger[i - 1].id))
            known = &self->finger[i - 1];
        if (!known) {
            node_task_t *task = node_task_new (self, TASK_FIX_FINGER, &start,
                                               now_ms + 4 * (uint64_t) self->config.rpc_timeout_ms);
            if (!task)
                return;
            task->finger_index = i;
            self->fixing_finger = true;
            node_lookup_start (self, task, now_ms);
            return;
        }
        self->finger[i] = *known;
        self->finger_valid[i] = !node_is_self (self, known);
        self->next_finger = (i + 1) % CHORD_ID_BITS;
        if (self->next_finger == 0)
            self->fingers_built = true;
        if (self->next_finger == 0)
            return; /* one full round per call at most */
    }
}

void node_remember (chord_node_t *self, const chord_peer_t *peer)
{
    if (node_is_self (self, peer))
        return;
    for (size_t i = 0; i < self->remembered_count; i++)
        if (chord_id_equal (&self->remembered[i].id, &peer->id))
            return;
    if (self->remembered_count < CHORD_REMEMBERED_MAX)
        self->remembered[self->remembered_count++] = *peer;
    else {
        self->remembered[self->remembered_next] = *peer;
        self->remembered_next = (self->remembered_next + 1) % CHORD_REMEMBERED_MAX;
    }
}

void node_probe (chord_node_t *self, uint64_t now_ms)
{
    if (self->probing || node_alone (self) || self->remembered_count == 0)
        return;
    for (size_t tries = 0; tries < self->remembered_count; tries++) {
        const chord_peer_t *peer = &self->remembered[self->remembered_next % self->remembered_count];
        self->remembered_next = (self->remembered_next + 1) % self->remembered_count;
        bool listed = false;
        for (size_t i = 0; i < self->succ_count; i++)
            listed = listed || chord_id_equal (&self->succ[i].id, &peer->id);
        if (listed || (self->has_pred && chord_id_equal (&self->pred.id, &peer->id)))
            continue;
        node_task_t *task = node_task_new (self, TASK_PROBE, &self->self.id, now_ms);
        if (!task)
            return;
        task->hop = *peer;
        self->probing = true;
        node_lookup_start (self, task, now_ms);
        return;
    }
}

void node_probe_found (chord_node_t *self, const chord_peer_t *owner, uint64_t now_ms)
{
    if (node_is_self (self, owner) || !chord_id_in_open (&owner->id, &self->self.id, &self->succ[0].id) ||
        s_is_dead (self, &owner->id, now_ms))
        return;
    char a[9];
    node_log (self, CHORD_LOG_WARN, "found a closer successor %s (%s) outside our ring: merging",
              node_short (&owner->id, a), owner->endpoint);
    node_succ_set (self, owner, self->succ, self->succ_count, now_ms);
    /* Where one ring met another, more of it is near: look again soon. */
    node_timers_fire_at (self, NODE_TIMER_PROBE, now_ms + self->config.stabilize_interval_ms);
}
