/*  chordd transport: the ZeroMQ sockets of one peer.

    One ROUTER bound on --listen receives every request, from peers and
    clients alike, and sends replies back by routing id. Requests this peer
    makes go out on one DEALER per remote endpoint; their replies come back
    on that DEALER. Sockets to peers have linger 0 and bounded queues:
    a dead peer's messages are dropped, and the protocol's timeouts notice.  */
#ifndef CHORDD_TRANSPORT_H
#define CHORDD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

#define CHORDD_DEALERS_MAX 256         /* open connections to other peers, a DEALER each */

typedef struct chordd_transport chordd_transport_t;

/* Called for each message received: origin is the sender's routing id for
   messages on the ROUTER, NULL for replies arriving on a DEALER. */
typedef void (chordd_transport_fn) (void *arg, const uint8_t *data, size_t size, const chord_origin_t *origin);

typedef struct {
    uint64_t received;          /* messages handed to the callback */
    uint64_t dropped_in;        /* wrong frame count, oversize routing id */
    uint64_t dropped_out;       /* queue full, peer unknown */
    uint64_t refused;           /* connections shut down past --max-connections */
    uint64_t accept_failed;     /* accept(2) failures libzmq reported (EMFILE...) */
    uint64_t connections;       /* connections to the ROUTER open now, as far as the guard saw */
} chordd_transport_stats_t;

/*  Binds a ROUTER on listen, keeping at most max_connections connections
    to it open (conn_guard.h; 0: no cap). NULL (and errno set) when
    ZeroMQ fails.  */
chordd_transport_t *chordd_transport_new (const char *listen, size_t max_connections);

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

const chordd_transport_stats_t *chordd_transport_stats (const chordd_transport_t *self);

#endif
