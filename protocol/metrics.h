/*  chord metrics: the shapes of what a node counts, for drivers that
    export it (chordd's /metrics) and for tests.

    A histogram counts observations in fixed buckets whose upper bounds
    are integers in a unit the caller picks (milliseconds, hops,
    microseconds): the node measures with the time it is handed, so it
    never needs a clock or floating point to observe. Buckets are kept
    non-cumulative here; an exporter sums them as it writes.  */
#ifndef CHORD_METRICS_H
#define CHORD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define CHORD_HISTOGRAM_BOUNDS_MAX 17   /* finite upper bounds a histogram may have */
#define CHORD_MSG_TYPE_SLOTS 64         /* received-by-type counters: every type is below this */
#define CHORD_STATUS_SLOTS 16           /* client-request-by-status counters: every status is below this */

typedef struct {
    uint64_t buckets[CHORD_HISTOGRAM_BOUNDS_MAX + 1]; /* observations <= bound i and > bound i-1; the last: above all */
    uint64_t count;                                   /* observations */
    uint64_t sum;                                     /* of the observed values, in the bounds' unit */
} chord_histogram_t;

/* One histogram's finite upper bounds, ascending, in its unit. */
typedef struct {
    const uint64_t *bounds;     /* bounds[0..count-1] */
    size_t count;               /* at most CHORD_HISTOGRAM_BOUNDS_MAX */
} chord_histogram_bounds_t;

/* Durations in milliseconds: 1 ms to 10 s. */
extern const chord_histogram_bounds_t chord_duration_ms_bounds;
/* Lookup hops: 0 to 16, one bucket each. */
extern const chord_histogram_bounds_t chord_hops_bounds;
/* Short durations in microseconds (store commits): 50 us to 1 s. */
extern const chord_histogram_bounds_t chord_duration_us_bounds;

/* Counts value in the bucket of the first bound at or above it. */
void chord_histogram_observe (chord_histogram_t *self, const chord_histogram_bounds_t *bounds, uint64_t value);

/* Adds every count of other to self (the same bounds). */
void chord_histogram_add (chord_histogram_t *self, const chord_histogram_t *other);

/* Why a message was dropped, as the node and its driver tell them apart. */
typedef enum {
    CHORD_DROP_UNDECODABLE = 0,  /* not a message of the protocol */
    CHORD_DROP_REFUSED = 1,      /* beyond its sender's role */
    CHORD_DROP_UNBOUND = 2,      /* names a peer whose id is not its endpoint's */
    CHORD_DROP_STALE_REPLY = 3,  /* a reply to nothing we are waiting for: late, duplicated, never asked */
    CHORD_DROP_UNEXPECTED = 4,   /* valid, but not now, not from there, or not for us */
    CHORD_DROP_MALFORMED = 5,    /* decodes, but its fields make no sense together */
    CHORD_DROP_REASONS = 6
} chord_drop_reason_t;

/* A client's operation, for requests counted by op. */
typedef enum {
    CHORD_CLIENT_OP_GET = 0,
    CHORD_CLIENT_OP_PUT = 1,
    CHORD_CLIENT_OP_DEL = 2,
    CHORD_CLIENT_OP_LOOKUP = 3,
    CHORD_CLIENT_OP_INFO = 4,
    CHORD_CLIENT_OP_LEAVE = 5,
    CHORD_CLIENT_OPS = 6
} chord_client_op_t;

/* "undecodable", "refused", ... as Prometheus labels show them. */
const char *chord_drop_reason_name (chord_drop_reason_t reason);

/* "get", "put", ... */
const char *chord_client_op_name (chord_client_op_t op);

#endif
