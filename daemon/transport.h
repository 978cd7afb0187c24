/*  chordd transport: the ZeroMQ sockets of one peer.

    One ROUTER bound on --listen receives every request, from peers and
    clients alike, and sends replies back by routing id. Requests this peer
    makes go out on one DEALER per remote endpoint; their replies come back
    on that DEALER. Sockets to peers have linger 0 and bounded queues:
    a dead peer's messages are dropped, and the protocol's timeouts notice.

    Secured (with a curve): the ROUTER is a CURVE server with the ring's key
    pair, and our ZAP handler (auth.h), bound in our context before the
    ROUTER binds, admits each connection with a role; every DEALER is a
    CURVE client with the ring's pair, so the far end knows us as a peer and
    we know it holds the ring's key. Open (no curve): every message is a
    peer's, as before there were roles.  */
#ifndef CHORDD_TRANSPORT_H
#define CHORDD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "auth.h"
#include "keys.h"
#include "node.h"

#define CHORDD_DEALERS_MAX 256         /* open connections to other peers, a DEALER each */
#define CHORDD_POLL_EXTRA_MAX 320      /* other items (plain fds) polled with the sockets */

typedef struct chordd_transport chordd_transport_t;

/* Called for each message received: origin is the sender's routing id for
   messages on the ROUTER, NULL for replies arriving on a DEALER; role is
   what the sender's connection may do (replies on our DEALERs come from a
   server that proved it holds the ring's key: PEER). */
typedef void (chordd_transport_fn) (void *arg, const uint8_t *data, size_t size, const chord_origin_t *origin,
                                    chord_role_t role);

/* What secures the sockets: the ring's key pair and the ZAP handler. */
typedef struct {
    chord_keypair_t ring;               /* every peer's CURVE key pair */
    chordd_auth_t *auth;                /* borrowed; bound in the transport's context, unbound at destroy */
} chordd_transport_curve_t;

typedef struct {
    uint64_t received;          /* messages handed to the callback */
    uint64_t dropped_in;        /* wrong frame count, oversize routing id */
    uint64_t dropped_out;       /* queue full, peer unknown */
    uint64_t refused;           /* connections shut down past --max-connections */
    uint64_t accept_failed;     /* accept(2) failures libzmq reported (EMFILE...) */
    uint64_t connections;       /* connections to the ROUTER open now, as far as the guard saw */
} chordd_transport_stats_t;

/*  Binds a ROUTER on listen, keeping at most max_connections connections
    to it open (conn_guard.h; 0: no cap), secured when curve is not NULL.
    NULL (and errno set) when ZeroMQ fails.  */
chordd_transport_t *chordd_transport_new (const char *listen, size_t max_connections,
                                          const chordd_transport_curve_t *curve);

/* Closes every socket, waiting at most linger_ms for queued messages. */
void chordd_transport_destroy (chordd_transport_t **self_p, int linger_ms);

/* Queues data to the peer at endpoint (connecting if need be). Takes
   ownership of data (malloc'd) in every case. Returns 0 or -1. */
int chordd_transport_send_peer (chordd_transport_t *self, const char *endpoint, uint8_t *data, size_t size);

/* Queues data as a reply to origin. Takes ownership of data. 0 or -1. */
int chordd_transport_send_origin (chordd_transport_t *self, const chord_origin_t *origin, uint8_t *data,
                                  size_t size);

/*  Waits up to timeout_ms for input, then hands up to a bounded batch of
    messages to fn. Returns the number handled, or -1 when interrupted by a
    signal.  */
int chordd_transport_poll (chordd_transport_t *self, int timeout_ms, chordd_transport_fn *fn, void *arg);

/*  The same, polling extra_count more items (at most CHORDD_POLL_EXTRA_MAX,
    e.g. the Redis door's fds) in the same zmq_poll: their revents are set
    on return, for the caller to act on.  */
int chordd_transport_poll_extra (chordd_transport_t *self, int timeout_ms, zmq_pollitem_t *extra,
                                 size_t extra_count, chordd_transport_fn *fn, void *arg);

/*  The counts as of now: monitor events already queued (connections the
    I/O thread has closed) are taken in first, so "open" is current.  */
const chordd_transport_stats_t *chordd_transport_stats (chordd_transport_t *self);

#endif
