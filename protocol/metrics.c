/*  chord metrics: histograms and the names of counters' labels (see metrics.h).  */

#include "metrics.h"

#include <assert.h>

static const uint64_t s_duration_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
static const uint64_t s_hops[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint64_t s_duration_us[] = {50,    100,   250,   500,    1000,   2500,   5000,
                                         10000, 25000, 50000, 100000, 250000, 1000000};

#define S_BOUNDS(array) {array, sizeof array / sizeof array[0]}

const chord_histogram_bounds_t chord_duration_ms_bounds = S_BOUNDS (s_duration_ms);
const chord_histogram_bounds_t chord_hops_bounds = S_BOUNDS (s_hops);
const chord_histogram_bounds_t chord_duration_us_bounds = S_BOUNDS (s_duration_us);

_Static_assert (sizeof s_hops / sizeof s_hops[0] <= CHORD_HISTOGRAM_BOUNDS_MAX, "too many hop buckets");
_Static_assert (sizeof s_duration_ms / sizeof s_duration_ms[0] <= CHORD_HISTOGRAM_BOUNDS_MAX, "too many buckets");
_Static_assert (sizeof s_duration_us / sizeof s_duration_us[0] <= CHORD_HISTOGRAM_BOUNDS_MAX, "too many buckets");

void chord_histogram_observe (chord_histogram_t *self, const chord_histogram_bounds_t *bounds, uint64_t value)
{
    assert (self);
    assert (bounds && bounds->count <= CHORD_HISTOGRAM_BOUNDS_MAX);
    size_t i = 0;
    while (i < bounds->count && value > bounds->bounds[i])
        i++;
    self->buckets[i]++;
    self->count++;
    self->sum += value;
}

void chord_histogram_add (chord_histogram_t *self, const chord_histogram_t *other)
{
    assert (self);
    assert (other);
    for (size_t i = 0; i <= CHORD_HISTOGRAM_BOUNDS_MAX; i++)
        self->buckets[i] += other->buckets[i];
    self->count += other->count;
    self->sum += other->sum;
}

const char *chord_drop_reason_name (chord_drop_reason_t reason)
{
    switch (reason) {
    case CHORD_DROP_UNDECODABLE: return "undecodable";
    case CHORD_DROP_REFUSED:     return "refused";
    case CHORD_DROP_UNBOUND:     return "unbound";
    case CHORD_DROP_STALE_REPLY: return "stale_reply";
    case CHORD_DROP_UNEXPECTED:  return "unexpected";
    case CHORD_DROP_MALFORMED:   return "malformed";
    case CHORD_DROP_REASONS:     break;
    }
    return "unknown";
}

const char *chord_client_op_name (chord_client_op_t op)
{
    switch (op) {
    case CHORD_CLIENT_OP_GET:    return "get";
    case CHORD_CLIENT_OP_PUT:    return "put";
    case CHORD_CLIENT_OP_DEL:    return "del";
    case CHORD_CLIENT_OP_LOOKUP: return "lookup";
    case CHORD_CLIENT_OP_INFO:   return "info";
    case CHORD_CLIENT_OP_LEAVE:  return "leave";
    case CHORD_CLIENT_OPS:       break;
    }
    return "unknown";
}
