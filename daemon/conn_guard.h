/*  chordd connection guard: a cap on the connections the ROUTER accepts.

    libzmq accepts every connection that reaches the listening socket, and
    when it runs out of file descriptors its accept fails with EMFILE and is
    retried at once, forever: the I/O thread spins and new clients time
    out. The guard watches the ROUTER through a ZeroMQ socket monitor
    (ZMQ_EVENT_ACCEPTED and ZMQ_EVENT_DISCONNECTED carry the connection's
    fd) and keeps the count of accepted connections under a cap set below
    the fd limit, so accept never runs out of descriptors. Past the cap it
    shuts down (shutdown(2), not close: libzmq owns the fd and closes it
    when it reads EOF) the oldest connection whose peer has not spoken ZMTP
    yet, an idle socket holding a slot, or else the newcomer.

    libzmq 4.3's ZMQ_EVENT_HANDSHAKE_SUCCEEDED carries no fd, so "has
    spoken ZMTP" is read from the kernel instead: a connection whose peer
    has sent more than the 64-byte ZMTP greeting (TCP_INFO's bytes
    received) is taken as a client that speaks the protocol.  */
#ifndef CHORDD_CONN_GUARD_H
#define CHORDD_CONN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chordd_conn_guard chordd_conn_guard_t;

typedef struct {
    uint64_t accepted;          /* connections accepted since start */
    uint64_t refused;           /* newcomers shut down because the cap was reached */
    uint64_t evicted;           /* silent connections shut down to make room for a newcomer */
    uint64_t accept_failed;     /* ZMQ_EVENT_ACCEPT_FAILED: accept(2) failed, e.g. EMFILE */
    size_t open;                /* connections open now (shut ones not counted) */
} chordd_conn_guard_stats_t;

/*  Starts monitoring router (a socket of context) on an inproc PAIR. Call
    before binding it, so no accepted connection goes unseen. max is the
    most connections kept open at once (at least 1). NULL (errno set) when
    ZeroMQ fails.  */
chordd_conn_guard_t *chordd_conn_guard_new (void *context, void *router, size_t max);

/* Stops the monitor and closes its socket. Call before closing router. */
void chordd_conn_guard_destroy (chordd_conn_guard_t **self_p);

/* The socket to poll for ZMQ_POLLIN: monitor events are waiting. */
void *chordd_conn_guard_socket (chordd_conn_guard_t *self);

/*  Handles every monitor event waiting (never blocks): tracks the
    connections and shuts down those past the cap. Returns the number
    of connections refused or evicted by this call.  */
size_t chordd_conn_guard_handle (chordd_conn_guard_t *self);

const chordd_conn_guard_stats_t *chordd_conn_guard_stats (const chordd_conn_guard_t *self);

/*  The most connections a process with fd_limit open files can accept
    while keeping reserve_fds for everything else (its own sockets to other
    peers, stores, stdio). Never 0, never more than fd_limit allows.  */
size_t chordd_conn_guard_max_for (uint64_t fd_limit, uint64_t reserve_fds);

#endif
