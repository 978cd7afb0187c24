/*  fake_peer.h: a hand-made chord peer for the tests of the client tools:
    a ZeroMQ ROUTER bound on a loopback port, served by a thread that
    decodes each request, asks the test's answer function for the reply
    and sends it back to the asker. The answer function decides what the
    peer says (or that it stays silent), so one test can be an honest
    one-position ring and another a hostile peer.

    Static inline, like node_fixture.h: each test links alone and takes
    only what it uses.  */
#ifndef CHORD_FAKE_PEER_H
#define CHORD_FAKE_PEER_H

#include "message.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FAKE_PEER_POLL_MS 50        /* the thread looks at its stop flag this often */

/* Fills reply (already zeroed) for request; false: stay silent. Runs on
   the peer's thread. */
typedef bool (fake_peer_answer_fn) (void *arg, const chord_msg_t *request, chord_msg_t *reply);

typedef struct {
    void *socket;                   /* the ROUTER */
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* where it listens */
    fake_peer_answer_fn *answer;
    void *arg;                      /* the answer function's */
    int idle_ms;                    /* the thread ends after this long without a request */
    _Atomic int stop;               /* set by fake_peer_stop */
    pthread_t thread;
} fake_peer_t;

/* Answers one framed request: identity, then the message (empty delimiter
   frames, as a REQ-style client sends, skipped). */
static inline void fake_peer_serve_one (fake_peer_t *peer, chord_msg_t *request, chord_msg_t *reply)
{
    zmq_msg_t identity, body;
    zmq_msg_init (&identity);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&identity, peer->socket, 0) >= 0 && zmq_msg_more (&identity) &&
        zmq_msg_recv (&body, peer->socket, 0) >= 0) {
        while (zmq_msg_size (&body) == 0 && zmq_msg_more (&body))
            zmq_msg_recv (&body, peer->socket, 0);
        if (chord_msg_decode (request, zmq_msg_data (&body), zmq_msg_size (&body)) == 0) {
            memset (reply, 0, sizeof *reply);
            uint8_t *data = NULL;
            size_t size = 0;
            if (peer->answer (peer->arg, request, reply) && chord_msg_encode (reply, &data, &size) == 0) {
                zmq_msg_send (&identity, peer->socket, ZMQ_SNDMORE);
                zmq_send (peer->socket, data, size, 0);
            }
            free (data);
            chord_msg_clear (request);
        }
    }
    zmq_msg_close (&identity);
    zmq_msg_close (&body);
}

static inline void *fake_peer_run (void *arg)
{
    fake_peer_t *peer = arg;
    chord_msg_t *request = calloc (1, sizeof *request), *reply = calloc (1, sizeof *reply);
    int idle = 0;
    while (request && reply && !peer->stop && idle < peer->idle_ms) {
        zmq_pollitem_t item = {peer->socket, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, FAKE_PEER_POLL_MS) <= 0) {
            idle += FAKE_PEER_POLL_MS;
            continue;
        }
        idle = 0;
        fake_peer_serve_one (peer, request, reply);
    }
    free (request);
    free (reply);
    return NULL;
}

/* Binds peer on a free loopback port and starts its thread; -1 when it
   cannot. peer->endpoint says where it listens. */
static inline int fake_peer_start (fake_peer_t *peer, void *context, fake_peer_answer_fn *answer, void *arg,
                                   int idle_ms)
{
    peer->socket = zmq_socket (context, ZMQ_ROUTER);
    peer->answer = answer;
    peer->arg = arg;
    peer->idle_ms = idle_ms;
    peer->stop = 0;
    size_t size = sizeof peer->endpoint;
    if (!peer->socket || zmq_bind (peer->socket, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt (peer->socket, ZMQ_LAST_ENDPOINT, peer->endpoint, &size) != 0 ||
        pthread_create (&peer->thread, NULL, fake_peer_run, peer) != 0) {
        if (peer->socket)
            zmq_close (peer->socket);
        peer->socket = NULL;
        return -1;
    }
    return 0;
}

/* Stops the thread (at once, or when it went idle) and closes the socket. */
static inline void fake_peer_stop (fake_peer_t *peer)
{
    if (!peer->socket)
        return;
    peer->stop = 1;
    pthread_join (peer->thread, NULL);
    zmq_close (peer->socket);
    peer->socket = NULL;
}

#endif
