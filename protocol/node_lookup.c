/*  chord node: tasks and lookups. A task finds the owner of an id by
    iterative lookup, then does what it needed the owner for: a finger, a
    probe, a join, or a client's operation (node_client.c).  */

#include "node_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_task_finish_lookup (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms);

node_task_t *node_task_new (chord_node_t *self, node_task_kind_t kind, const chord_id_t *target,
                            uint64_t deadline_ms)
{
    assert (self);
    assert (target);
    if (self->tasks.count >= CHORD_TASKS_MAX)
        return NULL;
    node_task_t *task = calloc (1, sizeof *task);
    if (!task)
        return NULL;
    task->id = ++self->tasks.next_id;
    task->kind = kind;
    task->target = *target;
    task->deadline_ms = deadline_ms;
    task->started_ms = self->clock_ms;
    task->next = self->tasks.list;
    if (self->tasks.list)
        self->tasks.list->prev = task;
    self->tasks.list = task;
    self->tasks.count++;
    return task;
}

void node_task_destroy (chord_node_t *self, node_task_t *task)
{
    assert (self);
    assert (task);
    node_rpcs_forget_task (self, task);
    if (task->prev)
        task->prev->next = task->next;
    else
        self->tasks.list = task->next;
    if (task->next)
        task->next->prev = task->prev;
    self->tasks.count--;
    if (task->kind == TASK_FIX_FINGER)
        node_fix_finger_ended (self);
    if (task->kind == TASK_PROBE)
        node_probe_ended (self);
    free (task->key);
    free (task->value);
    free (task);
}

bool node_task_is_client (const node_task_t *task)
{
    assert (task);
    return task->kind <= TASK_CLIENT_LOOKUP;
}

bool node_task_waiting (const node_task_t *task)
{
    assert (task);
    return task->rpc_id != 0 || task->awaiting_copies;
}

/* Sends the next FIND of a lookup to task->hop. */
static void s_lookup_ask (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_FIND_SUCC, 0);
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->id = task->target;
    msg->excluded_count = task->excluded_count;
    memcpy (msg->excluded, task->excluded, task->excluded_count * sizeof task->excluded[0]);
    /* A joiner's first hop is a seed, known by endpoint only: any position
       there can answer a find. A probe asks the very position it
       remembers: another position of that process may have rejoined our
       ring already, and would answer from inside it. */
    bool seed = task->kind == TASK_JOIN && task->attempt_hops == 0;
    int rc = node_call_at (self, &task->hop, !seed, msg, RPC_FIND, task, now_ms);
    node_msg_end (self, msg);
    if (rc != 0)
        node_task_retry (self, task, now_ms);
}

static void s_exclude (node_task_t *task, const chord_id_t *id)
{
    if (node_is_excluded (id, task->excluded, task->excluded_count))
        return;
    if (task->excluded_count == CHORD_EXCLUDE_MAX) {
        memmove (&task->excluded[0], &task->excluded[1], (CHORD_EXCLUDE_MAX - 1) * sizeof task->excluded[0]);
        task->excluded_count--;
    }
    task->excluded[task->excluded_count++] = *id;
}

/*  A lookup found owner. A client's lookup names it only once it has
    answered: an owner found by skipping suspects, or from a successor
    list nobody has checked since, may have failed, or a newcomer may have
    taken the target's arc from it. So ask it the same question
    (s_on_owner_reply); on a timeout it is excluded and the peer that
    named it is asked again (node_on_find_timeout). adjacent: the peer
    that named owner named its own successor, skipping nobody.  */
static void s_lookup_found (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                            bool adjacent, uint64_t now_ms)
{
    if (task->kind != TASK_CLIENT_LOOKUP || node_is_self (self, owner)) {
        s_task_finish_lookup (self, task, owner, now_ms);
        return;
    }
    task->hop = *owner;
    task->confirming = true;
    task->named_adjacent = adjacent;
    s_lookup_ask (self, task, now_ms);
}

/*  Routes the lookup on from ourselves with what it has learnt so far (its
    excluded ids, hops and timeouts): answered at once from our own tables
    when we can, else by asking the closest preceding peer.  */
static void s_lookup_route (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    const node_ring_t *ring = node_ring (self);
    task->has_prev_hop = false;
    if (node_owns (self, &task->target)) {
        s_task_finish_lookup (self, task, &self->self, now_ms);
        return;
    }
    const chord_peer_t *cached;
    if (task->attempts == 0 && task->kind <= TASK_CLIENT_DEL &&
        (cached = node_owner_cache_find (self, &task->target, now_ms))) {
        self->stats.owner_cache_hits++;
        /* A copy: the cache grows by reallocation, which would leave a pointer into it dangling. */
        chord_peer_t owner = *cached;
        s_task_finish_lookup (self, task, &owner, now_ms);
        return;
    }
    /* The key is our first live successor's when no live peer lies between:
       deciding on succ[0] alone would send a lookup past the key. */
    const chord_peer_t *live = node_first_live_successor (self, task->excluded, task->excluded_count, now_ms);
    if (!node_alone (self) && (chord_id_in_half_open (&task->target, &self->self.id, &ring->succ[0].id) ||
                               chord_id_in_half_open (&task->target, &self->self.id, &live->id))) {
        s_lookup_found (self, task, live, chord_id_equal (&live->id, &ring->succ[0].id), now_ms);
        return;
    }
    const chord_peer_t *next =
        node_closest_preceding (self, &task->target, task->excluded, task->excluded_count, now_ms);
    if (!next) {
        s_lookup_found (self, task, live, false, now_ms);
        return;
    }
    task->hop = *next;
    s_lookup_ask (self, task, now_ms);
}

/*  Starts an attempt at the lookup of task->target: answered at once from
    our own tables when we can, else by asking the closest preceding peer.
    The attempt avoids the peers we suspect now; the hops of earlier
    attempts still count.  */
void node_lookup_start (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    assert (self);
    assert (task);
    const node_ring_t *ring = node_ring (self);
    task->attempt_hops = 0;
    task->hop_timeouts = 0;
    task->redirects = 0;
    task->has_prev_hop = false;
    task->confirming = false;
    task->owner_redirects = 0;
    task->retry_at_ms = 0;
    /* Each attempt avoids only what is suspect now: a peer that was silent
       for a moment must be reachable again once its suspicion lapses. */
    task->excluded_count = 0;
    /* Tell the peers we ask about the silent peers we know of: first those
       on the way to the target, then those past it (one may be the owner
       named), keeping room for the hops that time out during this attempt. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ring->suspect_count; i++)
            if (ring->suspects[i].until_ms > now_ms && task->excluded_count < CHORD_EXCLUDE_MAX - 8 &&
                chord_id_in_half_open (&ring->suspects[i].id, &self->self.id, &task->target) == (pass == 0))
                s_exclude (task, &ring->suspects[i].id);

    if (task->kind == TASK_PROBE) {
        /* Only ourselves: the peers we suspect may be alive in the other ring. */
        task->excluded_count = 0;
        s_exclude (task, &self->self.id);
        s_lookup_ask (self, task, now_ms);
        return;
    }
    if (task->has_avoid)
        s_exclude (task, &task->avoid);
    if (task->kind == TASK_JOIN) {
        s_exclude (task, &self->self.id);
        snprintf (task->hop.endpoint, sizeof task->hop.endpoint, "%s", node_join_next_seed (self));
        chord_id_hash (&task->hop.id, task->hop.endpoint, strlen (task->hop.endpoint));
        s_lookup_ask (self, task, now_ms);
        return;
    }
    s_lookup_route (self, task, now_ms);
}

/* Schedules a fresh attempt after a backoff, or gives up past the deadline. */
void node_task_retry (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    assert (self);
    assert (task);
    task->rpc_id = 0;
    if (task->kind == TASK_FIX_FINGER || task->kind == TASK_PROBE) {
        self->stats.lookups_failed++;
        node_task_destroy (self, task);
        return;
    }
    uint64_t delay_ms;
    if (task->kind == TASK_JOIN) {
        delay_ms = node_join_backoff_ms (self);
    } else {
        delay_ms = (uint64_t) CHORD_RETRY_MIN_MS << (task->attempts < 6 ? task->attempts : 6);
        if (delay_ms > CHORD_RETRY_MAX_MS)
            delay_ms = CHORD_RETRY_MAX_MS;
    }
    delay_ms = node_jittered (self, delay_ms);
    task->attempts++;
    if (node_task_is_client (task) && now_ms + delay_ms >= task->deadline_ms) {
        node_task_expire (self, task);
        return;
    }
    task->retry_at_ms = now_ms + delay_ms;
}

/* A lookup found owner: do what the task needed the owner for. */
static void s_task_finish_lookup (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms)
{
    self->stats.lookups_done++;
    self->stats.lookup_hops_total += task->hops;
    chord_histogram_observe (&self->stats.lookup_hops, &chord_hops_bounds, task->hops);
    chord_histogram_observe (&self->stats.lookup_duration_ms, &chord_duration_ms_bounds,
                             now_ms > task->started_ms ? now_ms - task->started_ms : 0);
    switch (task->kind) {
    case TASK_FIX_FINGER:
        node_finger_found (self, task->finger_index, owner, now_ms);
        node_task_destroy (self, task);
        return;
    case TASK_PROBE:
        node_probe_found (self, owner, now_ms);
        node_task_destroy (self, task);
        return;
    case TASK_JOIN:
        if (node_is_self (self, owner)) {
            node_task_retry (self, task, now_ms);
            return;
        }
        node_join_send (self, task, owner, now_ms);
        return;
    case TASK_CLIENT_LOOKUP:
    case TASK_CLIENT_PUT:
    case TASK_CLIENT_GET:
    case TASK_CLIENT_DEL:
        node_client_task_found (self, task, owner, now_ms);
        return;
    }
}

/*  A peer named as the next hop or as the owner that we suspect: we know
    better than the peer asked. Probes and joins trust the answer: what we
    suspect may be alive in the ring they look into.  */
static bool s_known_silent (chord_node_t *self, const node_task_t *task, const chord_peer_t *peer,
                            uint64_t now_ms)
{
    if (task->kind == TASK_PROBE || task->kind == TASK_JOIN || node_is_self (self, peer))
        return false;
    return node_is_excluded (&peer->id, task->excluded, task->excluded_count) ||
           node_ring_is_suspect (self, &peer->id, now_ms);
}

/*  The owner named (task->hop) answered the lookup's question. It is alive,
    and asking it was no hop. When it disclaims the target and names a
    live predecessor between the peer that named it and itself, with the
    target in that predecessor's arc, a newcomer took the arc since the
    naming peer last stabilized: the predecessor is asked in turn. Short
    of such news the owner named stands, as in plain Chord: a peer whose
    predecessor failed disclaims that arc until it is told.  */
static void s_on_owner_reply (chord_node_t *self, node_task_t *task, const chord_msg_t *msg, uint64_t now_ms)
{
    task->confirming = false;
    const chord_id_t *from = task->has_prev_hop ? &task->prev_hop.id : &self->self.id;
    bool claims = msg->done && chord_id_equal (&msg->peer.id, &task->hop.id);
    bool newcomer = !claims && task->named_adjacent && (msg->fields & CHORD_F_PRED) && msg->has_pred &&
                    chord_id_in_open (&msg->pred.id, from, &task->hop.id) &&
                    chord_id_in_half_open (&task->target, from, &msg->pred.id) &&
                    !s_known_silent (self, task, &msg->pred, now_ms);
    if (!newcomer || task->owner_redirects >= CHORD_LOOKUP_REDIRECTS_MAX) {
        s_task_finish_lookup (self, task, &task->hop, now_ms);
        return;
    }
    char a[9], b[9];
    node_log (self, CHORD_LOG_DEBUG, "owner %s of %s names newcomer %s", node_short (&task->hop.id, a),
              node_short (&task->target, b), msg->pred.endpoint);
    task->owner_redirects++;
    task->hop = msg->pred;      /* prev_hop stays: asked again should the newcomer be silent */
    task->confirming = true;
    s_lookup_ask (self, task, now_ms);
}

void node_on_find_succ_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    assert (msg);
    node_task_t *task = rpc->task;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    if (task->confirming) {
        s_on_owner_reply (self, task, msg, now_ms);
        return;
    }
    /* A probe's hop that answers from between us and our successor is a
       closer successor already, whatever it says of the target: the other
       ring's fingers may still point into ours and lead the probe home. */
    if (task->kind == TASK_PROBE && node_probe_closer (self, &task->hop, now_ms)) {
        node_probe_found (self, &task->hop, now_ms);
        node_task_destroy (self, task);
        return;
    }
    task->hops++;
    task->attempt_hops++;
    bool named_silent =
        (!msg->done || task->kind == TASK_CLIENT_LOOKUP) && s_known_silent (self, task, &msg->peer, now_ms);
    if (named_silent && !node_is_excluded (&msg->peer.id, task->excluded, task->excluded_count) &&
        task->attempt_hops < CHORD_LOOKUP_HOPS_MAX) {
        /* Ask the same peer again, telling it to avoid this one. */
        s_exclude (task, &msg->peer.id);
        s_lookup_ask (self, task, now_ms);
        return;
    }
    if (msg->done && !named_silent) {
        if ((msg->fields & CHORD_F_PRED) && msg->has_pred)
            node_owner_cache_put (self, &msg->pred.id, &msg->peer);
        if (chord_id_equal (&msg->peer.id, &task->hop.id)) {
            s_task_finish_lookup (self, task, &msg->peer, now_ms);   /* it just answered */
            return;
        }
        /* A peer that names its own successor says the arc starts at itself. */
        bool adjacent = (msg->fields & CHORD_F_PRED) && msg->has_pred && chord_id_equal (&msg->pred.id, &task->hop.id);
        task->prev_hop = task->hop;
        task->has_prev_hop = true;
        s_lookup_found (self, task, &msg->peer, adjacent, now_ms);
        return;
    }
    /* Pointed back at the peer asked, at ourselves (a stale position of
       ours, for a joiner), or at a peer we asked it to avoid, or walking
       too long: the tables are moving. */
    if (named_silent || task->attempt_hops >= CHORD_LOOKUP_HOPS_MAX ||
        chord_id_equal (&msg->peer.id, &task->hop.id) || node_is_self (self, &msg->peer)) {
        char a[9];
        node_log (self, CHORD_LOG_DEBUG, "lookup of %s made no progress after %u hops",
                  node_short (&task->target, a), task->attempt_hops);
        node_task_retry (self, task, now_ms);
        return;
    }
    task->prev_hop = task->hop;
    task->has_prev_hop = true;
    task->hop = msg->peer;
    s_lookup_ask (self, task, now_ms);
}

void node_on_find_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    node_task_t *task = rpc->task;
    chord_peer_t silent = rpc->peer;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    self->stats.rpc_timeouts++;
    if (task->kind == TASK_PROBE) {
        node_task_retry (self, task, now_ms);   /* ends it: the next probe asks someone else */
        return;
    }
    if (task->kind == TASK_JOIN && task->attempt_hops == 0) {
        node_log (self, CHORD_LOG_INFO, "seed %s did not answer; retrying", silent.endpoint);
        node_task_retry (self, task, now_ms);
        return;
    }
    node_suspect (self, &silent, false, now_ms);
    s_exclude (task, &silent.id);
    task->confirming = false;
    if (++task->hop_timeouts > CHORD_LOOKUP_TIMEOUTS_MAX) {
        node_task_retry (self, task, now_ms);
        return;
    }
    if (task->has_prev_hop) {
        /* Ask the peer that sent us to the silent one for another way. */
        task->hop = task->prev_hop;
        task->has_prev_hop = false;
        s_lookup_ask (self, task, now_ms);
    } else if (task->kind == TASK_JOIN)
        node_task_retry (self, task, now_ms);
    else
        s_lookup_route (self, task, now_ms);   /* on from ourselves, this attempt's exclusions kept */
}

void node_tasks_run (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    for (node_task_t *task = self->tasks.list, *next; task; task = next) {
        next = task->next;
        if (node_task_waiting (task))
            continue;
        if (node_task_is_client (task) && task->deadline_ms <= now_ms)
            node_task_expire (self, task);
        else if (task->retry_at_ms && task->retry_at_ms <= now_ms) {
            node_lookup_start (self, task, now_ms);
            next = self->tasks.list; /* the list may have changed under us */
        }
    }
}

uint64_t node_tasks_next_ms (const chord_node_t *self)
{
    assert (self);
    uint64_t next = UINT64_MAX;
    for (const node_task_t *task = self->tasks.list; task; task = task->next) {
        if (node_task_waiting (task))
            continue;
        if (task->retry_at_ms && task->retry_at_ms < next)
            next = task->retry_at_ms;
        if (node_task_is_client (task) && task->deadline_ms < next)
            next = task->deadline_ms;
    }
    return next;
}

node_task_t *node_task_find (chord_node_t *self, uint64_t task_id)
{
    assert (self);
    for (node_task_t *task = self->tasks.list; task; task = task->next)
        if (task->id == task_id)
            return task;
    return NULL;
}

void node_tasks_abandon_clients (chord_node_t *self, const char *why)
{
    assert (self);
    for (node_task_t *task = self->tasks.list, *next; task; task = next) {
        next = task->next;
        if (node_task_is_client (task))
            node_task_abandon (self, task, why);
    }
}

void node_tasks_destroy (chord_node_t *self)
{
    assert (self);
    while (self->tasks.list)
        node_task_destroy (self, self->tasks.list);
}
