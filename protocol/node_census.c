/*  node census: what a position's store holds, counted in slices (see node_census.h).  */

#include "node_internal.h"

#include <assert.h>
#include <string.h>

/* The arc the node owns now, as node_owns decides it. */
static node_census_arc_t s_arc_now (const chord_node_t *self)
{
    const node_ring_t *ring = node_ring (self);
    node_census_arc_t arc = {.active = self->state == CHORD_NODE_ACTIVE};
    if (!arc.active)
        return arc;
    arc.alone = node_alone (self);
    arc.has_pred = ring->has_pred;
    if (arc.has_pred)
        arc.pred = ring->pred.id;
    return arc;
}

static bool s_arc_equal (const node_census_arc_t *a, const node_census_arc_t *b)
{
    return a->active == b->active && a->alone == b->alone && a->has_pred == b->has_pred &&
           (!a->has_pred || chord_id_equal (&a->pred, &b->pred));
}

static bool s_arc_owns (const chord_node_t *self, const node_census_arc_t *arc, const chord_id_t *id)
{
    if (!arc->active)
        return false;
    if (arc->alone)
        return true;
    return arc->has_pred && chord_id_in_half_open (id, &arc->pred, &self->self.id);
}

/* Slice i of n (a power of two) is (bound i, bound i+1], where bound i has
   top bits i and the rest zero; bound n wraps to bound 0. One slice is
   the whole ring. */
static void s_slice_bound (chord_id_t *out, unsigned i, unsigned n)
{
    memset (out, 0, sizeof *out);
    if (n <= 1 || i >= n)
        return;
    unsigned bits = 0;
    while ((1u << bits) < n)
        bits++;
    /* The index's bits, at the top of the id: at most 8 bits, within bytes 0-1. */
    unsigned shifted = i << (16 - bits);
    out->bytes[0] = (uint8_t) (shifted >> 8);
    out->bytes[1] = (uint8_t) shifted;
}

static unsigned s_slices_for (size_t records)
{
    unsigned slices = 1;
    while (slices < CHORD_CENSUS_SLICES_MAX && (size_t) slices * CHORD_CENSUS_SLICE_RECORDS < records)
        slices *= 2;
    return slices;
}

/* From one sweep's start to the next's: stretched for big stores, whose
   sweeps cost more (a backend with no order by id scans it all per slice). */
static uint64_t s_interval_ms (unsigned slices)
{
    unsigned stretch = slices > CHORD_CENSUS_SLICES_CALM ? slices / CHORD_CENSUS_SLICES_CALM : 1;
    return (uint64_t) CHORD_CENSUS_INTERVAL_MS * stretch;
}

typedef struct {
    const chord_node_t *node;
    node_census_t *census;
} s_visit_t;

static int s_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len, const uint8_t *value,
                    size_t value_len)
{
    (void) key;
    s_visit_t *visit = arg;
    node_census_t *census = visit->census;
    census->partial_visited++;
    census->partial.bytes += key_len + value_len;
    chord_record_t record;
    if (chord_record_decode (&record, value, value_len) != 0)
        return 0; /* not a record: its bytes count, it is no kind of record */
    if (record.tombstone)
        census->partial.tombstones++;
    else if (s_arc_owns (visit->node, &census->arc, key_id))
        census->partial.owned++;
    else
        census->partial.replica++;
    return 0;
}

static void s_sweep_start (chord_node_t *self, uint64_t now_ms)
{
    node_census_t *census = &self->census;
    census->sweeping = true;
    memset (&census->partial, 0, sizeof census->partial);
    census->partial_visited = 0;
    census->arc = s_arc_now (self);
    census->slices = s_slices_for (chord_store_count (self->env.store));
    census->next_slice = 0;
    census->sweep_started_ms = now_ms;
}

void node_census_start (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    self->census.sweeping = false;
    self->census.next_ms = now_ms;
}

void node_census_run (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    node_census_t *census = &self->census;
    if (now_ms < census->next_ms)
        return;
    if (!census->sweeping)
        s_sweep_start (self, now_ms);
    node_census_arc_t arc = s_arc_now (self);
    if (!s_arc_equal (&arc, &census->arc))
        s_sweep_start (self, now_ms); /* the arc moved: count owned against the new one */
    assert (census->next_slice < census->slices);
    chord_id_t from, to;
    s_slice_bound (&from, census->next_slice, census->slices);
    s_slice_bound (&to, census->next_slice + 1, census->slices);
    s_visit_t visit = {.node = self, .census = census};
    if (chord_store_range (self->env.store, &from, &to, s_visit, &visit) != 0) {
        /* A failing store: try again from scratch next interval. */
        census->sweeping = false;
        census->next_ms = now_ms + s_interval_ms (census->slices);
        return;
    }
    if (++census->next_slice < census->slices) {
        census->next_ms = now_ms + CHORD_CENSUS_SLICE_GAP_MS;
        return;
    }
    census->result = census->partial;
    census->result_visited = census->partial_visited;
    census->done = true;
    census->sweeping = false;
    census->next_ms = census->sweep_started_ms + s_interval_ms (census->slices);
    if (census->next_ms <= now_ms)
        census->next_ms = now_ms + CHORD_CENSUS_SLICE_GAP_MS;
}

uint64_t node_census_next_ms (const chord_node_t *self)
{
    assert (self);
    return self->census.next_ms;
}

bool node_census_get (const chord_node_t *self, chord_census_t *out)
{
    assert (self);
    assert (out);
    if (!self->census.done) {
        memset (out, 0, sizeof *out);
        return false;
    }
    *out = self->census.result;
    return true;
}
