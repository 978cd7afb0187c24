/*  chord node: ring membership. The successor list, predecessor, fingers
    and suspects; who owns what; fix_fingers and probes. Stabilize, notify
    and check_predecessor, which keep successors and predecessor right,
    are in node_stabilize.c.  */

#include "node_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool node_is_self (const chord_node_t *self, const chord_peer_t *peer)
{
    assert (self);
    assert (peer);
    return chord_id_equal (&peer->id, &self->self.id);
}

void node_ring_init (chord_node_t *self)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    uint64_t shape = ring->shape;       /* views kept of the old ring must not match the new */
    memset (ring, 0, sizeof *ring);
    ring->shape = shape + 1;
    ring->succ[0] = self->self;
    ring->succ_count = 1;
}

const node_ring_t *node_ring (const chord_node_t *self)
{
    assert (self);
    return &self->ring;
}

void node_ring_set_pred (chord_node_t *self, const chord_peer_t *peer)
{
    assert (self);
    assert (peer && !node_is_self (self, peer));
    node_ring_t *ring = &self->ring;
    ring->has_pred = true;
    ring->pred = *peer;
    ring->pred_alive = true;
}

void node_ring_pred_handed_off (chord_node_t *self)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    assert (ring->has_pred);
    ring->pred_alive = false;
    ring->pred_handed_off = true;
}

void node_ring_set_finger (chord_node_t *self, unsigned index, const chord_peer_t *peer)
{
    assert (self);
    assert (index < CHORD_ID_BITS && peer);
    node_ring_t *ring = &self->ring;
    ring->finger[index] = *peer;
    ring->finger_valid[index] = !node_is_self (self, peer);
    ring->shape++;
}

/*  The fingers changed, or one died: back to refreshing one per interval
    (node_timers.c stretches the pause while they stay the same), since
    where one finger moved others are likely to.  */
static void s_fingers_changed (chord_node_t *self, uint64_t now_ms)
{
    self->ring.fingers_unchanged = 0;
    node_timers_fire_by (self, NODE_TIMER_FIX_FINGER, now_ms + self->config.stabilize_interval_ms);
}

void node_ring_heard_from (chord_node_t *self, const chord_id_t *id)
{
    assert (self);
    assert (id);
    node_ring_t *ring = &self->ring;
    if (ring->has_pred && !ring->pred_alive && chord_id_equal (id, &ring->pred.id))
        ring->pred_alive = true;
    for (size_t i = 0; i < CHORD_REPORTS_MAX; i++)
        if (ring->reports[i].until_ms && chord_id_equal (&ring->reports[i].id, id))
            ring->reports[i].until_ms = 0;
}

static uint64_t s_suspicion_ms (const chord_node_t *self);

static bool s_reported (const node_ring_t *ring, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < CHORD_REPORTS_MAX; i++)
        if (ring->reports[i].until_ms > now_ms && chord_id_equal (&ring->reports[i].id, id))
            return true;
    return false;
}

/*  True when id is one of our fingers: a report of it may change our
    routes. Successors are left to stabilization, which checks them.  */
static bool s_routes_to (const node_ring_t *ring, const chord_id_t *id)
{
    for (unsigned i = 0; i < CHORD_ID_BITS; i++)
        if (ring->finger_valid[i] && chord_id_equal (&ring->finger[i].id, id))
            return true;
    return false;
}

void node_ring_reported_silent (chord_node_t *self, const chord_id_t *excluded, size_t count, uint64_t now_ms)
{
    assert (self);
    assert (excluded || count == 0);
    node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < count; i++) {
        if (chord_id_equal (&excluded[i], &self->self.id) || !s_routes_to (ring, &excluded[i]) ||
            s_reported (ring, &excluded[i], now_ms))
            continue;
        node_report_t *report = &ring->reports[ring->report_next];
        ring->report_next = (ring->report_next + 1) % CHORD_REPORTS_MAX;
        report->id = excluded[i];
        report->until_ms = now_ms + s_suspicion_ms (self);
    }
}

bool node_ring_in_doubt (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    assert (self);
    assert (id);
    node_ring_t *ring = &self->ring;
    if (!ring->has_inherited)
        return false;
    if (ring->inherited_until_ms <= now_ms) {
        ring->has_inherited = false;
        return false;
    }
    return chord_id_in_half_open (id, &ring->inherited_from, &ring->inherited_upto);
}

bool node_ring_is_suspect (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    assert (self);
    assert (id);
    const node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < ring->suspect_count; i++)
        if (chord_id_equal (&ring->suspects[i].id, id) && ring->suspects[i].until_ms > now_ms)
            return true;
    return false;
}

bool node_is_excluded (const chord_id_t *id, const chord_id_t *excluded, size_t count)
{
    assert (id);
    for (size_t i = 0; i < count; i++)
        if (chord_id_equal (id, &excluded[i]))
            return true;
    return false;
}

/* Failed maintenance twice, not merely slow once: keep it out of successor lists. */
bool node_ring_is_dead (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    const node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < ring->suspect_count; i++)
        if (chord_id_equal (&ring->suspects[i].id, id) && ring->suspects[i].until_ms > now_ms)
            return ring->suspects[i].dead;
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
    assert (self);
    assert (peer);
    node_ring_t *ring = &self->ring;
    node_suspect (self, peer, true, now_ms);
    for (size_t i = 0; i < ring->remembered_count; i++)
        if (chord_id_equal (&ring->remembered[i].id, &peer->id)) {
            ring->remembered[i] = ring->remembered[--ring->remembered_count];   /* it left: no probing */
            break;
        }
    for (size_t i = 0; i < ring->suspect_count; i++)
        if (chord_id_equal (&ring->suspects[i].id, &peer->id)) {
            ring->suspects[i].until_ms = now_ms + CHORD_DEPARTED_SUSPICIONS * s_suspicion_ms (self);
            ring->suspects[i].departed_ms = now_ms;
        }
    if (ring->has_pred && chord_id_equal (&ring->pred.id, &peer->id) && !ring->pred_handed_off)
        ring->pred_alive = false;
}

/*  A successor names as its predecessor a peer we know left. Right after a
    leave that is a stale word (it has not heard yet); two suspicion periods
    later, it took the peer back through a JOIN: the peer rejoined (a
    restart on its data directory, say), and waiting out the rest of the
    departure would keep it out of our lists for nothing.  */
void node_ring_forgive_if_rejoined (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < ring->suspect_count; i++) {
        const node_suspect_t *suspect = &ring->suspects[i];
        if (chord_id_equal (&suspect->id, id) && suspect->until_ms > now_ms && suspect->departed_ms &&
            suspect->departed_ms + 2 * s_suspicion_ms (self) <= now_ms)
            node_forgive (self, id);
    }
}

void node_forgive (chord_node_t *self, const chord_id_t *id)
{
    assert (self);
    assert (id);
    node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < ring->suspect_count; i++)
        if (chord_id_equal (&ring->suspects[i].id, id))
            ring->suspects[i].until_ms = 0;
}

/* Forgets the successor at index i, keeping the list non-empty. */
static void s_succ_remove_at (chord_node_t *self, size_t i)
{
    node_ring_t *ring = &self->ring;
    memmove (&ring->succ[i], &ring->succ[i + 1], (ring->succ_count - i - 1) * sizeof ring->succ[0]);
    ring->succ_count--;
    ring->shape++;
    if (ring->succ_count == 0) {
        ring->succ[0] = self->self;
        ring->succ_count = 1;
    }
}

/*  Rebuilds the successor list as first, then list[], dropping ourselves,
    anything after ourselves (the list wrapped round the ring), duplicates
    and suspects, cut to r entries. An empty result means we are alone.  */
void node_succ_set (chord_node_t *self, const chord_peer_t *first, const chord_peer_t *list, size_t count,
                    uint64_t now_ms)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    chord_peer_t fresh[CHORD_SUCCESSORS_MAX];
    size_t fresh_count = 0;
    for (size_t i = 0; i <= count && fresh_count < self->config.successors; i++) {
        const chord_peer_t *peer = i == 0 ? first : &list[i - 1];
        if (!peer)
            continue;
        if (node_is_self (self, peer))
            break;
        if (node_ring_is_dead (self, &peer->id, now_ms))
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
    if (!chord_id_equal (&fresh[0].id, &ring->succ[0].id)) {
        char a[9], b[9];
        node_log (self, CHORD_LOG_INFO, "successor %s -> %s (%s)", node_short (&ring->succ[0].id, a),
                  node_short (&fresh[0].id, b), fresh[0].endpoint);
    }
    memcpy (ring->succ, fresh, fresh_count * sizeof fresh[0]);
    ring->succ_count = fresh_count;
    ring->shape++;
}

bool node_alone (const chord_node_t *self)
{
    assert (self);
    return node_is_self (self, &self->ring.succ[0]);
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
    assert (self);
    assert (peer);
    node_ring_t *ring = &self->ring;
    if (node_is_self (self, peer))
        return;
    size_t slot = ring->suspect_count;
    for (size_t i = 0; i < ring->suspect_count; i++)
        if (chord_id_equal (&ring->suspects[i].id, &peer->id) || ring->suspects[i].until_ms <= now_ms) {
            slot = i;
            break;
        }
    if (slot == CHORD_SUSPECTS_MAX) {
        /* Full of live suspicions: replace the one lapsing soonest. */
        slot = 0;
        for (size_t i = 1; i < CHORD_SUSPECTS_MAX; i++)
            if (ring->suspects[i].until_ms < ring->suspects[slot].until_ms)
                slot = i;
    }
    bool still = slot < ring->suspect_count && ring->suspects[slot].until_ms > now_ms &&
                 chord_id_equal (&ring->suspects[slot].id, &peer->id);
    bool was_dead = still && ring->suspects[slot].dead;
    if (slot == ring->suspect_count)
        ring->suspect_count++;
    if (!still)
        ring->suspects[slot].departed_ms = 0;
    ring->suspects[slot].id = peer->id;
    ring->suspects[slot].until_ms = now_ms + s_suspicion_ms (self);
    ring->suspects[slot].dead = dead || was_dead;
    node_owner_cache_forget (self, &peer->id);
    if (!dead)
        return;
    /* Dead to us may mean cut off from us: worth a probe later. */
    node_remember (self, peer);

    for (size_t i = 0; i < ring->succ_count;)
        if (chord_id_equal (&ring->succ[i].id, &peer->id) && !node_alone (self)) {
            char a[9];
            node_log (self, CHORD_LOG_WARN, "successor %s (%s) is not answering", node_short (&peer->id, a),
                      peer->endpoint);
            s_succ_remove_at (self, i);
        } else
            i++;
    for (unsigned i = 0; i < CHORD_ID_BITS; i++)
        if (ring->finger_valid[i] && chord_id_equal (&ring->finger[i].id, &peer->id)) {
            ring->finger_valid[i] = false;
            ring->shape++;
            s_fingers_changed (self, now_ms);
        }
    if (node_alone (self)) {
        /* Every successor failed: fall back on the nearest live finger. */
        const chord_peer_t *best = NULL;
        for (unsigned i = 0; i < CHORD_ID_BITS; i++)
            if (ring->finger_valid[i] && !node_is_self (self, &ring->finger[i]) &&
                !node_ring_is_suspect (self, &ring->finger[i].id, now_ms)) {
                best = &ring->finger[i];
                break;
            }
        if (!best && ring->has_pred && ring->pred_alive && !node_is_self (self, &ring->pred) &&
            !node_ring_is_suspect (self, &ring->pred.id, now_ms))
            best = &ring->pred;
        if (best)
            node_succ_set (self, best, NULL, 0, now_ms);
    }
}

/*  The known peer closest before id on the ring (fingers and successors),
    skipping suspects and excluded ids; NULL when none precedes id.  */
static const chord_peer_t *s_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                                const chord_id_t *excluded, size_t excluded_count,
                                                bool skip_reported, uint64_t now_ms);

const chord_peer_t *node_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                            const chord_id_t *excluded, size_t excluded_count,
                                            uint64_t now_ms)
{
    assert (self);
    assert (id);
    const chord_peer_t *best = s_closest_preceding (self, id, excluded, excluded_count, true, now_ms);
    return best ? best : s_closest_preceding (self, id, excluded, excluded_count, false, now_ms);
}

/* Whether a known peer may be the next hop: not excluded, suspect, or (when asked) reported. */
static bool s_usable_hop (const chord_node_t *self, const chord_id_t *id, const chord_id_t *excluded,
                          size_t excluded_count, bool skip_reported, uint64_t now_ms)
{
    return !node_is_excluded (id, excluded, excluded_count) && !node_ring_is_suspect (self, id, now_ms) &&
           !(skip_reported && s_reported (&self->ring, id, now_ms));
}

static const chord_peer_t *s_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                                const chord_id_t *excluded, size_t excluded_count,
                                                bool skip_reported, uint64_t now_ms)
{
    const node_ring_t *ring = &self->ring;
    /* Fingers grow with their index, so the highest usable one is the best
       finger; runs of equal fingers need checking once. */
    const chord_peer_t *best = NULL, *previous = NULL;
    for (int i = CHORD_ID_BITS - 1; i >= 0 && !best; i--) {
        if (!ring->finger_valid[i])
            continue;
        const chord_peer_t *peer = &ring->finger[i];
        if (previous && chord_id_equal (&previous->id, &peer->id))
            continue;
        previous = peer;
        if (chord_id_in_open (&peer->id, &self->self.id, id) &&
            s_usable_hop (self, &peer->id, excluded, excluded_count, skip_reported, now_ms))
            best = peer;
    }
    chord_id_t best_distance, distance;
    if (best)
        chord_id_distance (&best_distance, &self->self.id, &best->id);
    for (size_t i = 0; i < ring->succ_count; i++) {
        const chord_peer_t *peer = &ring->succ[i];
        if (!chord_id_in_open (&peer->id, &self->self.id, id) ||
            !s_usable_hop (self, &peer->id, excluded, excluded_count, false, now_ms))
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
    assert (self);
    const node_ring_t *ring = &self->ring;
    for (size_t i = 0; i < ring->succ_count; i++)
        if (!node_is_excluded (&ring->succ[i].id, excluded, excluded_count) &&
            !node_ring_is_suspect (self, &ring->succ[i].id, now_ms))
            return &ring->succ[i];
    return &ring->succ[0];
}

/* True when we serve key id now: it lies in (pred, self], or we are alone. */
bool node_owns (const chord_node_t *self, const chord_id_t *id)
{
    assert (self);
    assert (id);
    const node_ring_t *ring = &self->ring;
    if (self->state != CHORD_NODE_ACTIVE)
        return false;
    if (node_alone (self))
        return true;
    return ring->has_pred && chord_id_in_half_open (id, &ring->pred.id, &self->self.id);
}

void node_on_find_succ (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    assert (self);
    assert (msg);
    node_ring_t *ring = &self->ring;
    if (!origin || (self->state != CHORD_NODE_ACTIVE && self->state != CHORD_NODE_LEAVING)) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    node_ring_reported_silent (self, msg->excluded, msg->excluded_count, now_ms);
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_FIND_SUCC_REPLY, msg->request_id);
    reply->fields = CHORD_F_DONE | CHORD_F_PEER;
    const chord_peer_t *next;
    const chord_peer_t *live = node_first_live_successor (self, msg->excluded, msg->excluded_count, now_ms);
    /* A final answer also says where the owner's arc begins (pred), so the
       asker may remember the whole arc. */
    if (node_owns (self, &msg->id) &&
        !node_is_excluded (&self->self.id, msg->excluded, msg->excluded_count)) {
        reply->done = true;
        reply->peer = self->self;
        if (ring->has_pred && !node_alone (self)) {
            reply->fields |= CHORD_F_PRED;
            reply->has_pred = true;
            reply->pred = ring->pred;
        }
    } else if (chord_id_in_half_open (&msg->id, &self->self.id, &ring->succ[0].id) ||
               chord_id_in_half_open (&msg->id, &self->self.id, &live->id)) {
        /* No live peer lies between us and the key: the first live
           successor is its owner. Deciding on succ[0] alone, a dead one,
           would send the lookup on past the key and round the ring. */
        reply->done = true;
        reply->peer = *live;
        /* Our own successor's arc starts at us. One found by skipping
           suspects has an arc we do not know: say nothing of it, or the
           asker would remember the skipped peers' arcs as the owner's. */
        if (chord_id_equal (&reply->peer.id, &ring->succ[0].id)) {
            reply->fields |= CHORD_F_PRED;
            reply->has_pred = true;
            reply->pred = self->self;
        }
    } else if ((next = node_closest_preceding (self, &msg->id, msg->excluded, msg->excluded_count, now_ms))) {
        reply->done = false;
        reply->peer = *next;
    } else {
        /* Nothing known closer and no successor left to name (all are
           excluded): the successor is what we have. */
        reply->done = false;
        reply->peer = *live;
    }
    /* A peer asked whether it owns a key it does not also says who precedes
       it: when a newcomer took the key's arc, that is the owner, and the
       asker need not go round the ring to find it (node_lookup.c). */
    if (!reply->done && ring->has_pred && ring->pred_alive && !node_alone (self) &&
        !node_is_self (self, &ring->pred) && !node_is_excluded (&ring->pred.id, msg->excluded, msg->excluded_count)) {
        reply->fields |= CHORD_F_PRED;
        reply->has_pred = true;
        reply->pred = ring->pred;
    }
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

/* Finger index is owner; the next to refresh follows it. */
static void s_finger_done (chord_node_t *self, unsigned index, const chord_peer_t *owner, bool looked_up,
                           uint64_t now_ms)
{
    node_ring_t *ring = &self->ring;
    if (ring->finger_valid[index] && chord_id_equal (&ring->finger[index].id, &owner->id))
        ring->fingers_unchanged += looked_up;   /* only lookups tell of calm: the rest cost nothing */
    else
        s_fingers_changed (self, now_ms);
    node_ring_set_finger (self, index, owner);
    ring->next_finger = (index + 1) % CHORD_ID_BITS;
    if (ring->next_finger == 0)
        ring->fingers_built = true;
}

void node_finger_found (chord_node_t *self, unsigned index, const chord_peer_t *owner, uint64_t now_ms)
{
    assert (self);
    assert (index < CHORD_ID_BITS && owner);
    s_finger_done (self, index, owner, true, now_ms);
}

void node_fix_finger_ended (chord_node_t *self)
{
    assert (self);
    self->ring.fixing_finger = false;
}

void node_probe_ended (chord_node_t *self)
{
    assert (self);
    self->ring.probing = false;
}

/*  Refreshes fingers in order. A finger whose start lies before the
    previous finger's peer has that same peer, so only fingers that cross
    a gap between peers cost a lookup.  */
void node_fix_fingers (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    if (ring->fixing_finger)
        return;
    for (unsigned step = 0; step < CHORD_ID_BITS; step++) {
        unsigned i = ring->next_finger;
        chord_id_t start;
        chord_id_add_pow2 (&start, &self->self.id, i);
        const chord_peer_t *known = NULL;
        if (node_alone (self))
            known = &self->self;
        else if (chord_id_in_half_open (&start, &self->self.id, &ring->succ[0].id))
            known = &ring->succ[0];
        else if (i > 0 && ring->finger_valid[i - 1] &&
                 chord_id_in_half_open (&start, &self->self.id, &ring->finger[i - 1].id))
            known = &ring->finger[i - 1];
        if (!known) {
            node_task_t *task = node_task_new (self, TASK_FIX_FINGER, &start,
                                               now_ms + 4 * (uint64_t) self->config.rpc_timeout_ms);
            if (!task)
                return;
            task->finger_index = i;
            ring->fixing_finger = true;
            node_lookup_start (self, task, now_ms);
            return;
        }
        s_finger_done (self, i, known, false, now_ms);
        if (ring->next_finger == 0)
            return; /* one full round per call at most */
    }
}

void node_remember (chord_node_t *self, const chord_peer_t *peer)
{
    assert (self);
    assert (peer);
    node_ring_t *ring = &self->ring;
    if (node_is_self (self, peer))
        return;
    for (size_t i = 0; i < ring->remembered_count; i++)
        if (chord_id_equal (&ring->remembered[i].id, &peer->id))
            return;
    if (ring->remembered_count < CHORD_REMEMBERED_MAX)
        ring->remembered[ring->remembered_count++] = *peer;
    else {
        ring->remembered[ring->remembered_next] = *peer;
        ring->remembered_next = (ring->remembered_next + 1) % CHORD_REMEMBERED_MAX;
    }
}

void node_probe (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    node_ring_t *ring = &self->ring;
    if (ring->probing || node_alone (self) || ring->remembered_count == 0)
        return;
    for (size_t tries = 0; tries < ring->remembered_count; tries++) {
        const chord_peer_t *peer = &ring->remembered[ring->remembered_next % ring->remembered_count];
        ring->remembered_next = (ring->remembered_next + 1) % ring->remembered_count;
        bool listed = false;
        for (size_t i = 0; i < ring->succ_count; i++)
            listed = listed || chord_id_equal (&ring->succ[i].id, &peer->id);
        if (listed || (ring->has_pred && chord_id_equal (&ring->pred.id, &peer->id)))
            continue;
        node_task_t *task = node_task_new (self, TASK_PROBE, &self->self.id, now_ms);
        if (!task)
            return;
        task->hop = *peer;
        ring->probing = true;
        node_lookup_start (self, task, now_ms);
        return;
    }
}

bool node_probe_closer (const chord_node_t *self, const chord_peer_t *peer, uint64_t now_ms)
{
    assert (self);
    assert (peer);
    const node_ring_t *ring = &self->ring;
    return !node_is_self (self, peer) && chord_id_in_open (&peer->id, &self->self.id, &ring->succ[0].id) &&
           !node_ring_is_dead (self, &peer->id, now_ms);
}

void node_probe_found (chord_node_t *self, const chord_peer_t *owner, uint64_t now_ms)
{
    assert (self);
    assert (owner);
    node_ring_t *ring = &self->ring;
    if (!node_probe_closer (self, owner, now_ms))
        return;
    char a[9];
    node_log (self, CHORD_LOG_WARN, "found a closer successor %s (%s) outside our ring: merging",
              node_short (&owner->id, a), owner->endpoint);
    node_succ_set (self, owner, ring->succ, ring->succ_count, now_ms);
    /* Where one ring met another, more of it is near: look again soon. */
    node_timers_fire_at (self, NODE_TIMER_PROBE, now_ms + self->config.stabilize_interval_ms);
}
