/*  chord client: one ZeroMQ DEALER connection to a peer, speaking the chord
    codec. See client.h.

    A request travels as one frame holding the encoded message; the peer's
    ROUTER adds and strips the routing id. A reply may arrive with empty
    delimiter frames before it (as a REQ-style peer would send); those are
    skipped, and any other multipart reply is malformed.  */
#include "client.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

/* Inbound frames above this are refused by ZeroMQ before we see them: a whole
   message plus room for framing slack. */
#define S_RECV_BYTES_MAX ((int64_t) CHORD_MESSAGE_MAX + 64 * 1024)
/* Messages queued each way; a benchmark keeps about a thousand requests in
   flight, so allow well over that before sends fail with EAGAIN. */
#define S_QUEUE_MESSAGES_MAX 16384

/* Handshake events the monitor reports: a refusal, or the proof there was none. */
#define S_MONITOR_EVENTS                                                                                  \
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL                                \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)

struct chord_client {
    void *context;               /* the ZeroMQ context, owned */
    void *socket;                /* the DEALER connected to the peer */
    void *monitor;               /* PAIR receiving the DEALER's handshake events */
    bool secured;                /* connects with CURVE */
    bool handshaken;             /* a handshake succeeded once */
    char refused[256];           /* why the peer refused us; empty while it has not */
    uint64_t next_request_id;    /* assigned to the next request, then increased */
    zmq_msg_t last;              /* the last received frame; replies borrow from it */
};

/* Milliseconds on the monotonic clock. */
static bool s_has_prefix (const char *s, const char *prefix)
{
    return strncmp (s, prefix, strlen (prefix)) == 0;
}

static bool s_endpoint_valid (const char *endpoint)
{
    if (!endpoint)
        return false;
    size_t len = strnlen (endpoint, CHORD_ENDPOINT_MAX + 1);
    if (len > CHORD_ENDPOINT_MAX)
        return false;
    return s_has_prefix (endpoint, "tcp://") || s_has_prefix (endpoint, "ipc://")
           || s_has_prefix (endpoint, "inproc://");
}

static int s_set_int (void *socket, int option, int value)
{
    return zmq_setsockopt (socket, option, &value, sizeof value);
}

/*  Watches the DEALER's handshakes, so that a refusal is known at once
    rather than after the caller's whole timeout: ZeroMQ otherwise hides
    it and keeps reconnecting.  */
static int s_monitor (chord_client_t *self)
{
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://chord-client-monitor-%p", (void *) self);
    if (zmq_socket_monitor (self->socket, endpoint, S_MONITOR_EVENTS) != 0)
        return -1;
    self->monitor = zmq_socket (self->context, ZMQ_PAIR);
    if (!self->monitor || s_set_int (self->monitor, ZMQ_LINGER, 0) != 0)
        return -1;
    return zmq_connect (self->monitor, endpoint);
}

static int s_set_curve (void *socket, const chord_client_curve_t *curve)
{
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, curve->server, CHORD_KEY_BYTES) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, curve->own.public_key, CHORD_KEY_BYTES) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, curve->own.secret_key, CHORD_KEY_BYTES) != 0)
        return -1;
    return 0;
}

chord_client_t *chord_client_new (const char *endpoint)
{
    return chord_client_new_curve (endpoint, NULL);
}

chord_client_t *chord_client_new_curve (const char *endpoint, const chord_client_curve_t *curve)
{
    if (!s_endpoint_valid (endpoint))
        return NULL;
    /* sodium_init is idempotent; randombytes_random works either way, but
       initialising first picks the best source once. */
    if (sodium_init () < 0)
        return NULL;

    chord_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context = zmq_ctx_new ();
    if (!self->context) {
        free (self);
        return NULL;
    }
    self->socket = zmq_socket (self->context, ZMQ_DEALER);
    if (!self->socket) {
        zmq_ctx_term (self->context);
        free (self);
        return NULL;
    }
    self->secured = curve != NULL;
    int64_t recv_bytes_max = S_RECV_BYTES_MAX;
    if (s_set_int (self->socket, ZMQ_LINGER, 0) != 0
        || zmq_setsockopt (self->socket, ZMQ_MAXMSGSIZE, &recv_bytes_max,
                           sizeof recv_bytes_max) != 0
        || s_set_int (self->socket, ZMQ_SNDHWM, S_QUEUE_MESSAGES_MAX) != 0
        || s_set_int (self->socket, ZMQ_RCVHWM, S_QUEUE_MESSAGES_MAX) != 0
        || (curve && s_set_curve (self->socket, curve) != 0) || s_monitor (self) != 0
        || zmq_connect (self->socket, endpoint) != 0) {
        if (self->monitor)
            zmq_close (self->monitor);
        zmq_close (self->socket);
        zmq_ctx_term (self->context);
        free (self);
        return NULL;
    }
    /* A random high half keeps this run's ids apart from another run's (or
       another client's in this process), so a late reply to someone else's
       request is never mistaken for ours. */
    self->next_request_id = (uint64_t) randombytes_random () << 32;
    zmq_msg_init (&self->last);
    return self;
}

void chord_client_destroy (chord_client_t **self_p)
{
    assert (self_p);
    chord_client_t *self = *self_p;
    if (!self)
        return;
    zmq_msg_close (&self->last);
    zmq_close (self->monitor);
    zmq_close (self->socket);
    zmq_ctx_term (self->context);
    free (self);
    *self_p = NULL;
}

static void s_free_encoded (void *data, void *hint)
{
    (void) hint;
    free (data);
}

int chord_client_send (chord_client_t *self, chord_msg_t *request)
{
    assert (self);
    assert (request);
    request->request_id = self->next_request_id++;

    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (request, &data, &size) != 0) {
        errno = EINVAL;
        return -1;
    }
    zmq_msg_t frame;
    if (zmq_msg_init_data (&frame, data, size, s_free_encoded, NULL) != 0) {
        free (data);
        return -1;
    }
    if (zmq_msg_send (&frame, self->socket, ZMQ_DONTWAIT) < 0) {
        int saved = errno;
        zmq_msg_close (&frame);   /* frees data */
        errno = saved;
        return -1;
    }
    return 0;
}

/* Receives one whole multipart message without waiting, leaving its last
   frame in *frame. Returns 1 when that frame is a candidate reply, 0 when the
   message was malformed (skipped), -1 when nothing was waiting. */
static int s_recv_frame (chord_client_t *self, zmq_msg_t *frame)
{
    if (zmq_msg_recv (frame, self->socket, ZMQ_DONTWAIT) < 0)
        return -1;
    bool well_formed = true;
    while (zmq_msg_more (frame)) {
        if (zmq_msg_size (frame) != 0)
            well_formed = false;
        /* The rest of a multipart message is already here. */
        if (zmq_msg_recv (frame, self->socket, ZMQ_DONTWAIT) < 0)
            return 0;
    }
    return well_formed ? 1 : 0;
}

/* Describes a handshake failure event in self->refused. value is a ZAP
   status, a ZMQ_PROTOCOL_ERROR_* code or an errno, by event. */
static void s_refusal (chord_client_t *self, uint16_t event, uint32_t value)
{
    const char *why;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        why = "the peer refused our key: this ring does not admit it (ask its admin to list it in --clients)";
    else if (!self->secured)
        why = "the handshake failed: the peer is secured; give --key FILE or --secret FILE";
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        why = "the peer is not secured (it does not speak CURVE): leave out --key and --secret";
    else
        why = "the CURVE handshake failed: the peer is not secured, or is another ring than this key or secret's";
    snprintf (self->refused, sizeof self->refused, "%s", why);
}

/* Reads the monitor's waiting events. Returns true once the peer refused us. */
static bool s_check_monitor (chord_client_t *self)
{
    while (!self->refused[0]) {
        zmq_msg_t head, address;
        zmq_msg_init (&head);
        if (zmq_msg_recv (&head, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&head);
            break;
        }
        /* An event is two frames: 2 bytes of event and 4 of value, then the endpoint. */
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&head) == 6) {
            memcpy (&event, zmq_msg_data (&head), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&head) + 2, 4);
        }
        bool more = zmq_msg_more (&head);
        zmq_msg_close (&head);
        if (more) {
            zmq_msg_init (&address);
            zmq_msg_recv (&address, self->monitor, 0);
            zmq_msg_close (&address);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->handshaken = true;
        else if (event == ZMQ_EVENT_DISCONNECTED) {
            /* A CURVE server that cannot read our hello (not its key) just hangs up. */
            if (self->secured && !self->handshaken)
                s_refusal (self, event, value);
        }
        else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                          | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
            s_refusal (self, event, value);
    }
    return self->refused[0] != 0;
}

const char *chord_client_refused (const chord_client_t *self)
{
    return self->refused[0] ? self->refused : NULL;
}

int chord_client_recv (chord_client_t *self, chord_msg_t *reply, int timeout_ms)
{
    assert (self);
    assert (reply);
    int64_t deadline_ms = util_now_ms () + (timeout_ms > 0 ? timeout_ms : 0);

    while (true) {
        /* Receive straight into self->last and never move it: ZeroMQ keeps
           small messages inside the zmq_msg_t itself, so the reply's
           borrowed pointers are only good while that struct stays put. */
        int got = s_recv_frame (self, &self->last);
        if (got == 1
            && chord_msg_decode (reply, zmq_msg_data (&self->last), zmq_msg_size (&self->last))
                   == 0)
            return 0;
        if (got < 0 && errno != EAGAIN && errno != EINTR)
            break;
        if (got < 0 && s_check_monitor (self)) {
            errno = EACCES;
            return -1;
        }

        int remaining_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left_ms = deadline_ms - util_now_ms ();
            if (left_ms <= 0)
                break;
            remaining_ms = (int) left_ms;
        }
        if (got >= 0)
            continue;   /* skipped a malformed reply; look for another */
        zmq_pollitem_t items[2] = {{self->socket, 0, ZMQ_POLLIN, 0}, {self->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (items, 2, remaining_ms) < 0 && errno != EINTR)
            break;
    }
    errno = ETIMEDOUT;
    return -1;
}

int chord_client_call (chord_client_t *self, chord_msg_t *request, chord_msg_t *reply,
                       int timeout_ms)
{
    assert (self);
    assert (request);
    assert (reply);
    int64_t deadline_ms = util_now_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    if (chord_client_send (self, request) != 0)
        return -1;
    while (true) {
        int remaining_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left_ms = deadline_ms - util_now_ms ();
            remaining_ms = left_ms > 0 ? (int) left_ms : 0;
        }
        if (chord_client_recv (self, reply, remaining_ms) != 0)
            return -1;   /* errno from recv: ETIMEDOUT or EACCES */
        if (reply->request_id == request->request_id)
            return 0;
        chord_msg_clear (reply);   /* an answer to an older request */
        if (timeout_ms >= 0 && util_now_ms () >= deadline_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

void *chord_client_socket (chord_client_t *self)
{
    assert (self);
    return self->socket;
}

void *chord_client_monitor_socket (chord_client_t *self)
{
    assert (self);
    return self->monitor;
}
