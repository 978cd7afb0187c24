/*  simdurable: the durability check, run over a simnet ring.

    Clients put keys throughout a run of churn (silent crashes, graceful
    leaves, joins of fresh peers, restarts of crashed peers on the store
    they left behind), each value naming its write ("write-SEQ"). A put
    answered OK is acknowledged; one answered otherwise or not at all is a
    maybe: it may or may not have happened. After a quiet period every key
    with an acknowledged write is read back through the client path from a
    random member; a key is lost when its read (retried 3 times on no
    answer) does not return its last acknowledged value or a later maybe.
    To keep that judgement exact, writes to one key are sequential (the
    next only after the last one's answer) and a key that had a maybe is
    never written again.

    Copies are counted by reading the live stores directly (records
    through chord_record_decode; plain values, from a protocol that does
    not version them, as they are): a key's copies are those on its
    replica set, the owner and the next R - 1 members by id, and its
    latest version is the highest write any of them holds, which must be
    at least its last acknowledged one. After each crash the keys the
    crashed store held are watched (every check_ms) until each has had R
    copies of its latest version: that is the crash's re-replication time.

    The churn rule: a departure (crash or leave) may not take a member
    that would make more than R - 1 of any R consecutive ring positions
    departed within the last repair_window_ms, counting the positions of
    peers that departed in that window (restarted or not); with R = 1 every
    departure is allowed and losses are expected. A departure the rule
    refuses (no member qualifies in 64 random picks) is skipped, and
    counted. Restarted peers keep their old endpoint, id and store.  */
#ifndef CHORD_SIMDURABLE_H
#define CHORD_SIMDURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simnet.h"

typedef struct {
    size_t nodes;              /* the population churn keeps within 10% of */
    size_t replicas;           /* R, copies per key, up to CHORD_REPLICAS_MAX; 0 means 1 */
    size_t churn_events;       /* spread evenly over the run */
    uint64_t run_ms;           /* churn and writes */
    uint64_t quiet_ms;         /* no churn, no faults, before the reads */
    double write_rate;         /* puts per second during the run, Poisson */
    double leave_fraction;     /* share of departures that are graceful */
    double restart_fraction;   /* share of arrivals that restart a crashed peer, when there is one */
    double loss;               /* message loss during the run */
    double dup;                /* message duplication during the run */
    uint64_t repair_window_ms; /* how long a departure counts for the churn rule */
    uint64_t check_ms;         /* copies are counted this often */
    uint32_t tmo_ms;           /* each client request's timeout */
    size_t join_seeds;         /* members a joiner or restarted peer joins through, 1..8 */
    uint64_t seed;             /* the seed of the scenario's choices */
    size_t describe_lost;      /* lost keys to describe on report */
    FILE *report;              /* where they are described; NULL: nowhere */
} simdurable_config_t;

typedef struct {
    /* Churn. */
    uint64_t crashes, leaves, joins, restarts;
    uint64_t refused_departures; /* departures the churn rule skipped */
    /* Writes. */
    uint64_t writes;       /* puts sent */
    uint64_t writes_acked; /* answered OK */
    uint64_t writes_maybe; /* answered otherwise, or not by the tmo */
    uint64_t keys;         /* keys written */
    uint64_t keys_acked;   /* keys with an acknowledged write: the ones read back */
    /* Reads after the quiet period. */
    uint64_t reads_right;
    uint64_t lost;             /* keys whose last acknowledged write is gone: the three below */
    uint64_t lost_missing;     /* NOT_FOUND */
    uint64_t lost_stale;       /* an older or foreign value */
    uint64_t lost_unanswered;  /* no answer, or an error, after the retries */
    uint64_t under_replicated; /* acked keys with fewer than R copies of their latest version, at the end */
    uint64_t copies_missing;   /* the copies those keys lack */
    uint64_t copies_extra;     /* copies of acked keys on live members outside their replica set */
    /* Re-replication after crashes. */
    uint64_t crashes_measured; /* crashes whose store held acknowledged keys */
    uint64_t crashes_repaired; /* ... all of them back to R copies by the end */
    double repair_mean_ms;
    uint64_t repair_p50_ms, repair_p90_ms, repair_max_ms;
    /* The ring after the quiet period. */
    bool ring_exact;
    char ring_why[256]; /* the first thing wrong, when not exact */
    size_t members;
} simdurable_result_t;

/*  Runs the check on net, whose ring is built (every node a member) and
    whose config keeps crashed stores. Takes over net's reply callback and
    leaves none; timers of its own may stay in net, which must not run
    afterwards. Fills *result. Returns 0 when it ran (lost keys or not),
    -1 on bad arguments or no memory.  */
int simdurable_run (simnet_t *net, const simdurable_config_t *config, simdurable_result_t *result);

#endif
