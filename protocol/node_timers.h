/*  node timers: the node's periodic work, in one table.

    Owns: the next deadline of each periodic timer (node_timers_t, inside
    struct chord_node). Each timer has an interval, a guard saying in which
    node states it runs, and the work it fires; chord_node_tick and
    chord_node_next_deadline_ms both read the one table.
    Needs: the node's state and config, node_jittered, and the work itself
    (node_ring.c, node_sync.c, node_transfer.c).
    Frees: nothing; it allocates nothing.  */
#ifndef CHORD_NODE_TIMERS_H
#define CHORD_NODE_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct chord_node chord_node_t;

#define CHORD_STRAY_CHECK_ROUNDS 4 /* stabilize intervals between checks for keys outside our arc */
#define CHORD_PROBE_ROUNDS 10      /* stabilize intervals between probes */
#define CHORD_FINGER_TICKS 4       /* finger refreshes per stabilize interval, first round */
#define CHORD_FINGER_CALM_STEP 4   /* unchanged finger refreshes in a row that double the pause */
#define CHORD_FINGER_CALM_MAX 8    /* stabilize intervals between finger refreshes, at most */

/* In the order they fire when due at the same tick. */
typedef enum {
    NODE_TIMER_STABILIZE,   /* ask our successor for its state */
    NODE_TIMER_CHECK_PRED,  /* ping our predecessor */
    NODE_TIMER_PROBE,       /* look for a ring we split from */
    NODE_TIMER_STRAY_CHECK, /* pass on keys outside our arc */
    NODE_TIMER_SYNC,        /* anti-entropy with our replicas */
    NODE_TIMER_FIX_FINGER,  /* refresh the next finger */
    NODE_TIMER_COUNT
} node_timer_id_t;

typedef struct {
    uint64_t deadline_ms[NODE_TIMER_COUNT]; /* fires at or after this time, when its guard allows */
} node_timers_t;

/* Schedules every timer one jittered interval from now_ms; with
   fix_fingers_now, the finger refresh fires at now_ms instead (a node
   that joins has no fingers yet). */
void node_timers_start (chord_node_t *self, uint64_t now_ms, bool fix_fingers_now);

/* Fires every timer that is due and allowed, in table order, each
   rescheduled one jittered interval later before its work runs. */
void node_timers_run (chord_node_t *self, uint64_t now_ms);

/* The earliest deadline among the timers allowed to run, or UINT64_MAX. */
uint64_t node_timers_next_ms (const chord_node_t *self);

/* Moves one timer's deadline to deadline_ms (sooner or later). */
void node_timers_fire_at (chord_node_t *self, node_timer_id_t id, uint64_t deadline_ms);

/* Moves one timer's deadline to deadline_ms if that is sooner. */
void node_timers_fire_by (chord_node_t *self, node_timer_id_t id, uint64_t deadline_ms);

/* Schedules one timer a jittered interval after now_ms. */
void node_timers_restart (chord_node_t *self, node_timer_id_t id, uint64_t now_ms);

#endif
