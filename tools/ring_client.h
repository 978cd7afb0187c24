/*  ring client: a client library that sends each key's operation straight
    to the position that owns it, for chordctl and chord-bench.

    It learns the ring (every position's id and endpoint, and R, the
    copies of each key) by walking it from a seed (ring_walk.h), maps a key
    to its owner (ring_map.h) and sends the request there with the target
    set to the owner's id, over one connection per process (endpoint); the
    process routes it to that position, which serves it without a hop.

    With route ENTRY it does what clients did before: requests go round-
    robin to the seeds, without a target, and the entry peer finds the
    owner (two round trips, three processes). No ring is learnt.

    When the map is stale:
    - an entry that did not own the key forwards it and says in its
      CLIENT_REPLY which position served it (peer): the client re-learns
      the ring, as Redis Cluster clients do on MOVED, at most once per
      refresh_interval_ms (the reply itself is the answer, and counts);
    - a read whose position says nothing within replica_wait_ms, or
      answers NOT_READY / TIMEOUT / WRONG_OWNER, goes to the key's next copy
      holder (replica_set.h's rule), round the R holders, at most
      max(R, RING_CLIENT_TRIES_MAX) sends;
    - a write that times out (no answer within half its budget) or is
      answered NOT_READY / TIMEOUT / NO_QUORUM / WRONG_OWNER goes again
      with the same key and value, after a re-learning, at most
      RING_CLIENT_TRIES_MAX tries in all. The node stamps the version where
      the write enters, so a retried write is simply a later write of the
      same value.
    Every request ends by its deadline (timeout_ms), answered or not.

    Threading: none. One thread calls every function; nothing happens
    between calls (the caller drives: submit, then poll). A re-learning
    blocks the call that makes it (bounded: learn_deadline_ms).
    Memory: the client owns its connections, map and requests; submit
    copies key and value; results' values are malloc'd for the caller.
    Errors: 0 / -1 with errno, as each function says.  */
#ifndef CHORD_TOOLS_RING_CLIENT_H
#define CHORD_TOOLS_RING_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "message.h"

#define RING_CLIENT_SEEDS_MAX 256           /* endpoints given to start from */
#define RING_CLIENT_LINKS_MAX 256           /* processes (connections) one client talks to */
#define RING_CLIENT_INFLIGHT_MAX 16384      /* requests in flight and results waiting */
#define RING_CLIENT_TRIES_MAX 4             /* sends of one operation (reads: or R, if more) */
#define RING_CLIENT_TIMEOUT_MS 5000         /* default budget of one operation */
#define RING_CLIENT_REPLICA_WAIT_MS 500     /* default wait for a read's position before the next copy */
#define RING_CLIENT_REFRESH_MS 1000         /* default least time between two re-learnings */
#define RING_CLIENT_WALK_DEADLINE_MS 3000   /* budget of one re-learning */

typedef enum {
    RING_ROUTE_OWNER = 0,           /* straight to the key's owner position */
    RING_ROUTE_ENTRY = 1,           /* round-robin over the seeds; they find the owner */
} ring_route_t;

typedef struct {
    const char *const *seeds;       /* endpoints to learn the ring from (owner) or to use (entry) */
    size_t seed_count;              /* 1..RING_CLIENT_SEEDS_MAX */
    const chord_client_curve_t *curve;  /* CURVE keys, NULL on an open ring; borrowed for the client's life */
    ring_route_t route;             /* where requests go */
    int timeout_ms;                 /* budget of one operation; 0: RING_CLIENT_TIMEOUT_MS */
    int replica_wait_ms;            /* read: next copy after this; 0: RING_CLIENT_REPLICA_WAIT_MS */
    int refresh_interval_ms;        /* least time between re-learnings; 0: RING_CLIENT_REFRESH_MS */
    size_t inflight_max;            /* requests in flight at most; 0: 1024 */
    int learn_deadline_ms;          /* budget of one learning of the ring; 0: RING_CLIENT_WALK_DEADLINE_MS */
} ring_client_config_t;

/* One finished operation. */
typedef struct {
    uint64_t tag;                   /* what the caller gave submit */
    chord_msg_type_t type;          /* CHORD_MSG_CLIENT_PUT, _GET or _DEL */
    bool answered;                  /* a reply came; false: none by the deadline (status TIMEOUT) */
    bool refused;                   /* the process refused our keys (text says why); not answered */
    chord_status_t status;          /* the ring's answer */
    uint8_t *value;                 /* a found get's value, malloc'd: the caller frees it; else NULL */
    size_t value_len;
    unsigned tries;                 /* sends it took, 1 when the first went through */
    char text[128];                 /* the reply's text, if any, truncated; else empty */
} ring_client_result_t;

/* What the client did, since it was made. */
typedef struct {
    uint64_t submitted;             /* operations accepted by submit */
    uint64_t completed;             /* operations finished (results made) */
    uint64_t sends;                 /* requests sent, retries included */
    uint64_t moved;                 /* replies saying another position served the key */
    uint64_t refreshes;             /* re-learnings of the ring that succeeded */
    uint64_t refresh_failures;      /* re-learnings that found no ring: the old map stays */
    uint64_t replica_reads;         /* reads sent on to a copy holder after silence */
    uint64_t write_retries;         /* writes sent again */
    uint64_t timeouts;              /* operations that ended unanswered */
    uint64_t strays;                /* replies matching no request in flight */
    size_t positions;               /* positions in the map now (owner route) */
    size_t links;                   /* connections open now */
    unsigned replicas;              /* R as the ring said (owner route) */
} ring_client_stats_t;

typedef struct ring_client ring_client_t;

/*  Makes a client. With route OWNER it learns the ring from the first seed
    that answers (bounded by learn_deadline_ms per seed tried, 3 at most).
    Returns NULL with a reason in why (why_size bytes) and errno: EINVAL
    for a bad config, EACCES when the ring refused our keys, ETIMEDOUT
    when no seed answered, ENOMEM. The caller owns the client.  */
ring_client_t *ring_client_new (const ring_client_config_t *config, char *why, size_t why_size);

/* Closes every connection, forgets every request and result, frees, sets
   *self_p to NULL; idempotent. */
void ring_client_destroy (ring_client_t **self_p);

/*  Starts one operation: type CHORD_MSG_CLIENT_PUT (with value), _GET or
    _DEL of key (1..CHORD_KEY_MAX bytes; key and value are copied). tag
    comes back in its result. Returns 0, or -1 with errno EINVAL (bad
    arguments), EBUSY (inflight_max requests and results held: poll first),
    EAGAIN (the connection's queue is full; nothing was started), ENOMEM.  */
int ring_client_submit (ring_client_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                        const uint8_t *value, size_t value_len, uint64_t tag);

/*  Waits up to timeout_ms (0: not at all) for finished operations and
    writes up to max of them into results. Returns how many (0 when none
    finished in time), or -1 with errno EINTR when a signal cut the wait.
    Re-learnings the replies ask for happen here.  */
int ring_client_poll (ring_client_t *self, ring_client_result_t *results, size_t max, int timeout_ms);

/*  One operation, blocking until it finishes (at most timeout_ms of the
    config, plus a re-learning): submit and poll, keeping other requests'
    results for later polls. Returns 0 with *result filled (see its status),
    or -1 with errno as submit's or poll's.  */
int ring_client_call (ring_client_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                      const uint8_t *value, size_t value_len, ring_client_result_t *result);

/* Sets the budget of operations submitted from now on, in ms (at least 1).
   Returns 0, or -1 with errno EINVAL. */
int ring_client_set_timeout (ring_client_t *self, int timeout_ms);

/* Re-learns the ring now, ignoring the rate limit. Returns 0, or -1 (the
   old map stays) with errno as ring_walk_run's. Owner route only. */
int ring_client_refresh (ring_client_t *self);

/* What the client did so far. */
ring_client_stats_t ring_client_stats (const ring_client_t *self);

/* Requests in flight now. */
size_t ring_client_inflight (const ring_client_t *self);

/* "owner" or "entry". */
const char *ring_client_route_name (ring_route_t route);

#endif
