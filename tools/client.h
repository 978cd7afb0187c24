/*  chord client: one ZeroMQ DEALER connection to a peer, speaking the chord
    codec. Shared by chordctl and chord-bench.

    Requests get increasing request ids; a reply is matched to its request
    by id, and replies to other (older, timed-out) requests are dropped.  */
#ifndef CHORD_CLIENT_H
#define CHORD_CLIENT_H

#include <stdint.h>

#include "keys.h"
#include "message.h"

typedef struct chord_client chord_client_t;

/* What a client of a secured ring connects with. */
typedef struct {
    chord_keypair_t own;                   /* ours: the ring's pair (--secret) or a client's (--key) */
    uint8_t server[CHORD_KEY_BYTES];       /* the ring's public key, which the peer must prove it holds */
} chord_client_curve_t;

/* Connects to endpoint (e.g. "tcp://127.0.0.1:7000"). Returns NULL and
   prints nothing when the endpoint is malformed or ZeroMQ fails; the caller
   reports. The caller owns the client. */
chord_client_t *chord_client_new (const char *endpoint);

/* The same, connecting with CURVE when curve is not NULL. */
chord_client_t *chord_client_new_curve (const char *endpoint, const chord_client_curve_t *curve);

/* Why the peer refused this connection's handshake (a key it does not
   admit, or no agreement on security), or NULL while it has not. Once it
   has, receives fail at once with errno EACCES. */
const char *chord_client_refused (const chord_client_t *self);

/* Closes the connection (dropping unsent messages), frees, sets *self_p to
   NULL; idempotent. */
void chord_client_destroy (chord_client_t **self_p);

/* Assigns request->request_id a fresh id and sends without blocking.
   Returns 0, or -1 when the message cannot be encoded or queued. */
int chord_client_send (chord_client_t *self, chord_msg_t *request);

/* Waits up to timeout_ms for one well-formed reply and decodes it into
   *reply (borrowed fields stay valid until the next receive or destroy;
   call chord_msg_clear when done). Returns 0, or -1 on timeout (errno
   ETIMEDOUT) or refusal (EACCES, see chord_client_refused). Malformed
   replies are skipped. */
int chord_client_recv (chord_client_t *self, chord_msg_t *reply, int timeout_ms);

/* Sends request and waits up to timeout_ms (negative: forever) for the
   reply with its id, dropping others. Returns 0, or -1 with errno EINVAL
   when the request cannot be encoded or queued, ETIMEDOUT on timeout,
   EACCES when the peer refused the handshake.
   The reply's borrowed fields die with the next receive, even one that
   times out. */
int chord_client_call (chord_client_t *self, chord_msg_t *request, chord_msg_t *reply,
                       int timeout_ms);

/* The underlying ZeroMQ socket, for zmq_poll by callers that keep many
   requests in flight. */
void *chord_client_socket (chord_client_t *self);

/* The socket its handshake events arrive on: poll it beside
   chord_client_socket to learn of a refusal at once (the next
   chord_client_recv then fails with EACCES). */
void *chord_client_monitor_socket (chord_client_t *self);

#endif
