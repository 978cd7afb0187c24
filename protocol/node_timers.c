/*  node timers: the node's periodic work, in one table (see node_timers.h).  */

#include "node_internal.h"

#include <assert.h>

static bool s_member (const chord_node_t *self)
{
    return self->state == CHORD_NODE_ACTIVE || self->state == CHORD_NODE_LEAVING;
}

static bool s_active (const chord_node_t *self)
{
    return self->state == CHORD_NODE_ACTIVE;
}

static uint64_t s_stabilize_interval_ms (const chord_node_t *self)
{
    return self->config.stabilize_interval_ms;
}

static uint64_t s_probe_interval_ms (const chord_node_t *self)
{
    return CHORD_PROBE_ROUNDS * (uint64_t) self->config.stabilize_interval_ms;
}

static uint64_t s_stray_check_interval_ms (const chord_node_t *self)
{
    return CHORD_STRAY_CHECK_ROUNDS * (uint64_t) self->config.stabilize_interval_ms;
}

static uint64_t s_sync_interval_ms (const chord_node_t *self)
{
    return self->config.sync_interval_ms;
}

/*  A new member builds its fingers quickly, then refreshes one finger
    lookup per interval, as the paper's fix_fingers does; while refreshes
    keep finding the fingers unchanged, the pause doubles up to
    CHORD_FINGER_CALM_MAX intervals, since a steady ring's lookups are
    most of its maintenance traffic. Any change starts over at one.  */
static uint64_t s_fix_finger_interval_ms (const chord_node_t *self)
{
    const node_ring_t *ring = node_ring (self);
    uint64_t interval_ms = self->config.stabilize_interval_ms;
    if (!ring->fingers_built)
        return interval_ms / CHORD_FINGER_TICKS + 1;
    uint64_t stretch = 1;
    for (unsigned calm = ring->fingers_unchanged; calm >= CHORD_FINGER_CALM_STEP && stretch < CHORD_FINGER_CALM_MAX;
         calm -= CHORD_FINGER_CALM_STEP)
        stretch *= 2;
    return interval_ms * (stretch < CHORD_FINGER_CALM_MAX ? stretch : CHORD_FINGER_CALM_MAX);
}

/* With replicas, keys outside our arc are mostly copies we keep on
   purpose; anti-entropy brings astray keys to their owner instead. */
static void s_check_strays (chord_node_t *self, uint64_t now_ms)
{
    if (!node_replicating (self))
        node_pass_on_strays (self, now_ms);
}

typedef struct {
    bool (*enabled) (const chord_node_t *self);         /* may it run in the node's state? */
    uint64_t (*interval_ms) (const chord_node_t *self); /* before jitter */
    void (*fire) (chord_node_t *self, uint64_t now_ms);
} s_timer_t;

static const s_timer_t s_timers[NODE_TIMER_COUNT] = {
    [NODE_TIMER_STABILIZE] = {s_member, s_stabilize_interval_ms, node_stabilize},
    [NODE_TIMER_CHECK_PRED] = {s_member, s_stabilize_interval_ms, node_check_predecessor},
    [NODE_TIMER_PROBE] = {s_active, s_probe_interval_ms, node_probe},
    [NODE_TIMER_STRAY_CHECK] = {s_active, s_stray_check_interval_ms, s_check_strays},
    [NODE_TIMER_SYNC] = {s_active, s_sync_interval_ms, node_sync},
    [NODE_TIMER_FIX_FINGER] = {s_active, s_fix_finger_interval_ms, node_fix_fingers},
};

void node_timers_restart (chord_node_t *self, node_timer_id_t id, uint64_t now_ms)
{
    assert (self);
    assert (id < NODE_TIMER_COUNT);
    self->timers.deadline_ms[id] = now_ms + node_jittered (self, s_timers[id].interval_ms (self));
}

void node_timers_fire_at (chord_node_t *self, node_timer_id_t id, uint64_t deadline_ms)
{
    assert (self);
    assert (id < NODE_TIMER_COUNT);
    self->timers.deadline_ms[id] = deadline_ms;
}

void node_timers_fire_by (chord_node_t *self, node_timer_id_t id, uint64_t deadline_ms)
{
    assert (self);
    assert (id < NODE_TIMER_COUNT);
    if (deadline_ms < self->timers.deadline_ms[id])
        self->timers.deadline_ms[id] = deadline_ms;
}

void node_timers_start (chord_node_t *self, uint64_t now_ms, bool fix_fingers_now)
{
    assert (self);
    /* The order in which the first jitter is drawn, which differs from the
       firing order: kept so that a seeded run replays as it always has. */
    static const node_timer_id_t start_order[] = {
        NODE_TIMER_STABILIZE, NODE_TIMER_CHECK_PRED, NODE_TIMER_STRAY_CHECK, NODE_TIMER_SYNC, NODE_TIMER_PROBE,
    };
    for (size_t i = 0; i < sizeof start_order / sizeof start_order[0]; i++)
        node_timers_restart (self, start_order[i], now_ms);
    /* A node that joins has no fingers yet; one that starts as a member
       was given exact ones, and refreshes them at the calm pace. */
    if (fix_fingers_now)
        node_timers_fire_at (self, NODE_TIMER_FIX_FINGER, now_ms);
    else
        node_timers_fire_at (self, NODE_TIMER_FIX_FINGER,
                             now_ms + node_jittered (self, self->config.stabilize_interval_ms));
}

void node_timers_run (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    for (int id = 0; id < NODE_TIMER_COUNT; id++) {
        const s_timer_t *timer = &s_timers[id];
        if (!timer->enabled (self) || self->timers.deadline_ms[id] > now_ms)
            continue;
        node_timers_restart (self, (node_timer_id_t) id, now_ms);
        timer->fire (self, now_ms);
    }
}

uint64_t node_timers_next_ms (const chord_node_t *self)
{
    assert (self);
    uint64_t next = UINT64_MAX;
    for (int id = 0; id < NODE_TIMER_COUNT; id++)
        if (s_timers[id].enabled (self) && self->timers.deadline_ms[id] < next)
            next = self->timers.deadline_ms[id];
    return next;
}
