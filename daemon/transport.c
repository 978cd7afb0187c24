/*  chordd transport: ZeroMQ ROUTER for requests in, DEALERs for requests out. */
#include "transport.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conn_guard.h"
#include "log.h"

#define CHORDD_QUEUE_MAX       10000    /* messages queued per socket */
#define CHORDD_POLL_BATCH      256      /* messages read per socket per poll */
#define CHORDD_RECONNECT_MS    100
#define CHORDD_RECONNECT_MAX_MS 2000
/* ZMTP heartbeats: a connection whose far end stopped answering (a host
   gone, or a peer's name now resolving to another address) is closed and
   dialled again, resolving the name afresh, instead of stalling for the
   minutes TCP takes to give up. */
#define CHORDD_HEARTBEAT_MS    1000
#define CHORDD_HEARTBEAT_TIMEOUT_MS 3000
/* A connection to the ROUTER that has not finished its ZMTP handshake
   within this is closed by libzmq, so silent sockets do not hold fds. */
#define CHORDD_HANDSHAKE_MS    5000
/* Connections the kernel queues for accept. libzmq's default of 100
   overflows under a flood, and the kernel then drops new clients' SYNs,
   which retry only after a second or more; with a longer queue they
   reach accept, where the guard decides. */
#define CHORDD_BACKLOG         512
/* A draft option in libzmq 4.3: zmq.h shows it only with
   ZMQ_BUILD_DRAFT_API, though Debian 12's library takes it. We set it, and
   bind our ZAP handler before the ROUTER anyway, so no handshake ever finds
   no handler (which, without this option, libzmq takes as "admit all"). */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

typedef struct {
    char *endpoint;                         /* where it connects: a copy, ours (256 dealers of a
                                               fixed 256 bytes made 72 KB, mostly unused) */
    void *socket;                           /* ZMQ_DEALER */
    uint64_t last_used;                     /* use counter value, for eviction */
    bool touched;                           /* used since its input was last checked (see s_watch_t) */
} s_dealer_t;

/*  A socket the poll watches. Asking a ZeroMQ socket for its events
    (ZMQ_EVENTS, as zmq_poll does for every socket at every wakeup) costs
    two system calls even when it has nothing, so the poll asks only the
    sockets that may have input: those whose ZMQ_FD is readable, and those
    used (sent on, or read without reaching EAGAIN) since they were last
    asked, whose use may have taken in the signal their fd would give.  */
typedef struct {
    void *socket;                           /* the ZeroMQ socket */
    bool *touched;                          /* where its "used since asked" flag lives */
} s_watch_t;

struct chordd_transport {
    void *context;                          /* ZeroMQ context, ours */
    void *router;                           /* bound on --listen */
    s_dealer_t dealers[CHORDD_DEALERS_MAX];
    size_t dealer_count;
    uint64_t use_counter;                   /* grows with every send */
    bool router_touched;                    /* the ROUTER used since asked (s_watch_t) */
    bool zap_touched;                       /* the ZAP handler's socket, the same */
    bool guard_touched;                     /* the guard's monitor socket, the same */
    chordd_conn_guard_t *guard;             /* caps the ROUTER's connections; NULL: no cap */
    chordd_transport_stats_t stats;
    bool secured;                           /* CURVE with curve below; else open */
    chordd_transport_curve_t curve;         /* the ring's key pair and the ZAP handler */
};

static void s_free_data (void *data, void *hint)
{
    (void) hint;
    free (data);
}

static void s_set_common (void *socket)
{
    int zero = 0, queue = CHORDD_QUEUE_MAX;
    int64_t max_size = CHORD_MESSAGE_MAX + 4096;
    zmq_setsockopt (socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (socket, ZMQ_SNDHWM, &queue, sizeof queue);
    zmq_setsockopt (socket, ZMQ_RCVHWM, &queue, sizeof queue);
    zmq_setsockopt (socket, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    int heartbeat = CHORDD_HEARTBEAT_MS, timeout = CHORDD_HEARTBEAT_TIMEOUT_MS;
    zmq_setsockopt (socket, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat);
    zmq_setsockopt (socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zmq_setsockopt (socket, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout);
}

/* Makes socket a CURVE server with the ring's pair, its handshakes judged
   by our ZAP handler. */
static int s_set_curve_server (void *socket, const chordd_transport_curve_t *curve)
{
    int one = 1;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, curve->ring.secret_key, CHORD_KEY_BYTES) != 0
        || zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, CHORDD_AUTH_DOMAIN, strlen (CHORDD_AUTH_DOMAIN)) != 0)
        return -1;
    if (zmq_setsockopt (socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        chordd_log (CHORD_LOG_DEBUG, "this libzmq refuses ZMQ_ZAP_ENFORCE_DOMAIN; our ZAP handler, bound "
                    "before the ROUTER, judges every handshake anyway");
    return 0;
}

/* Makes socket a CURVE client that is the ring (its pair) and will only
   talk to a server that is the ring too. */
static int s_set_curve_client (void *socket, const chordd_transport_curve_t *curve)
{
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, curve->ring.public_key, CHORD_KEY_BYTES) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, curve->ring.public_key, CHORD_KEY_BYTES) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, curve->ring.secret_key, CHORD_KEY_BYTES) != 0)
        return -1;
    return 0;
}

chordd_transport_t *chordd_transport_new (const char *listen, size_t max_connections,
                                          const chordd_transport_curve_t *curve)
{
    chordd_transport_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context = zmq_ctx_new ();
    if (!self->context) {
        free (self);
        return NULL;
    }
    if (curve) {
        self->secured = true;
        self->curve = *curve;
        if (chordd_auth_bind (curve->auth, self->context) != 0)
            goto fail;
    }
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    if (!self->router)
        goto fail;
    s_set_common (self->router);
    int one = 1;
    zmq_setsockopt (self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (curve && s_set_curve_server (self->router, curve) != 0)
        goto fail;
    int handshake = CHORDD_HANDSHAKE_MS;
    zmq_setsockopt (self->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake);
    int backlog = CHORDD_BACKLOG;
    zmq_setsockopt (self->router, ZMQ_BACKLOG, &backlog, sizeof backlog);
    //  Before the bind, so that no accepted connection goes unseen.
    if (max_connections && !(self->guard = chordd_conn_guard_new (self->context, self->router, max_connections)))
        goto fail;
    if (zmq_bind (self->router, listen) != 0)
        goto fail;
    /* A pipe signals new input only after a read found it empty: let the
       first poll ask every socket (an inproc pipe, as the guard's, may
       never have been read). */
    self->router_touched = self->zap_touched = self->guard_touched = true;
    return self;
fail:;
    int saved = errno;
    chordd_conn_guard_destroy (&self->guard);
    if (self->router)
        zmq_close (self->router);
    if (curve)
        chordd_auth_unbind (curve->auth);
    zmq_ctx_term (self->context);
    free (self);
    errno = saved;
    return NULL;
}

void chordd_transport_destroy (chordd_transport_t **self_p, int linger_ms)
{
    if (!self_p || !*self_p)
        return;
    chordd_transport_t *self = *self_p;
    chordd_conn_guard_destroy (&self->guard);
    zmq_setsockopt (self->router, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_close (self->router);
    for (size_t i = 0; i < self->dealer_count; i++) {
        zmq_setsockopt (self->dealers[i].socket, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
        zmq_close (self->dealers[i].socket);
        free (self->dealers[i].endpoint);
    }
    if (self->secured)
        chordd_auth_unbind (self->curve.auth);
    zmq_ctx_term (self->context);
    free (self);
    *self_p = NULL;
}

/* The DEALER to endpoint, connecting one (and evicting the least recently
   used) when there is none. */
static void *s_dealer_for (chordd_transport_t *self, const char *endpoint)
{
    self->use_counter++;
    for (size_t i = 0; i < self->dealer_count; i++)
        if (strcmp (self->dealers[i].endpoint, endpoint) == 0) {
            self->dealers[i].last_used = self->use_counter;
            self->dealers[i].touched = true;
            return self->dealers[i].socket;
        }
    char *copy = strdup (endpoint);
    if (!copy)
        return NULL;
    size_t slot = self->dealer_count;
    if (slot == CHORDD_DEALERS_MAX) {
        slot = 0;
        for (size_t i = 1; i < self->dealer_count; i++)
            if (self->dealers[i].last_used < self->dealers[slot].last_used)
                slot = i;
        chordd_log (CHORD_LOG_DEBUG, "closing the connection to %s", self->dealers[slot].endpoint);
        zmq_close (self->dealers[slot].socket);
        self->dealers[slot].socket = NULL;
        free (self->dealers[slot].endpoint);
        self->dealers[slot].endpoint = NULL;
    }
    void *socket = zmq_socket (self->context, ZMQ_DEALER);
    if (!socket) {
        free (copy);
        if (slot < self->dealer_count)
            self->dealers[slot] = self->dealers[--self->dealer_count];
        return NULL;
    }
    s_set_common (socket);
    int reconnect = CHORDD_RECONNECT_MS, reconnect_max = CHORDD_RECONNECT_MAX_MS;
    zmq_setsockopt (socket, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    zmq_setsockopt (socket, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    if ((self->secured && s_set_curve_client (socket, &self->curve) != 0) || zmq_connect (socket, endpoint) != 0) {
        chordd_log (CHORD_LOG_WARN, "cannot connect to %s: %s", endpoint, zmq_strerror (errno));
        zmq_close (socket);
        free (copy);
        if (slot < self->dealer_count) {
            /* The evicted slot is empty now: fill it with the last one. */
            self->dealers[slot] = self->dealers[--self->dealer_count];
        }
        return NULL;
    }
    s_dealer_t *dealer = &self->dealers[slot];
    dealer->endpoint = copy;
    dealer->socket = socket;
    dealer->last_used = self->use_counter;
    dealer->touched = true;
    if (slot == self->dealer_count)
        self->dealer_count++;
    return socket;
}

int chordd_transport_send_peer (chordd_transport_t *self, const char *endpoint, uint8_t *data, size_t size)
{
    void *socket = s_dealer_for (self, endpoint);
    zmq_msg_t msg;
    if (!socket || zmq_msg_init_data (&msg, data, size, s_free_data, NULL) != 0) {
        free (data);
        self->stats.dropped_out++;
        return -1;
    }
    if (zmq_msg_send (&msg, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        self->stats.dropped_out++;
        return -1;
    }
    return 0;
}

int chordd_transport_send_origin (chordd_transport_t *self, const chord_origin_t *origin, uint8_t *data,
                                  size_t size)
{
    zmq_msg_t msg;
    self->router_touched = true;
    if (zmq_send (self->router, origin->bytes, origin->size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free (data);
        self->stats.dropped_out++;
        return -1;
    }
    if (zmq_msg_init_data (&msg, data, size, s_free_data, NULL) != 0) {
        free (data);
        self->stats.dropped_out++;
        return -1;
    }
    if (zmq_msg_send (&msg, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        self->stats.dropped_out++;
        return -1;
    }
    return 0;
}

/* Reads and discards the rest of a multipart message. */
static void s_skip_rest (void *socket)
{
    int more = 1;
    size_t more_size = sizeof more;
    while (zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            return;
        }
        zmq_msg_close (&part);
    }
}

static bool s_has_more (void *socket)
{
    int more = 0;
    size_t more_size = sizeof more;
    return zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size) == 0 && more;
}

/* What the sender of a message on the ROUTER may do: the User-Id our ZAP
   handler gave its connection, or PEER for anyone when the ring is open. */
static chord_role_t s_role (chordd_transport_t *self, zmq_msg_t *payload)
{
    if (!self->secured)
        return CHORD_ROLE_PEER;
    return chordd_auth_role (zmq_msg_gets (payload, "User-Id"));
}

/*  True for a routing id the ROUTER may have given a connection: one it
    generated (5 bytes: 0x00, then a counter) or one the peer chose, which
    libzmq's API refuses to start with 0x00. A hand-made peer can still
    announce any Identity, and the daemon keeps the other ids starting with
    0x00 for origins of its own (the Redis door's, resp.h): replies to them
    never go out on the wire, so a message from one is dropped.  */
static bool s_routing_id_ours (const uint8_t *id, size_t size)
{
    return size == 5 || (size > 0 && id[0] != 0x00);
}

/* Reads one [routing id, payload] message from the ROUTER. Returns false when none is waiting. */
static bool s_read_router (chordd_transport_t *self, chordd_transport_fn *fn, void *arg)
{
    zmq_msg_t id, payload;
    zmq_msg_init (&id);
    if (zmq_msg_recv (&id, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&id);
        return false;
    }
    chord_origin_t origin;
    bool good = s_has_more (self->router) && zmq_msg_size (&id) <= CHORD_ORIGIN_MAX &&
                s_routing_id_ours (zmq_msg_data (&id), zmq_msg_size (&id));
    if (good) {
        origin.size = (uint8_t) zmq_msg_size (&id);
        memcpy (origin.bytes, zmq_msg_data (&id), origin.size);
    }
    zmq_msg_close (&id);
    if (!good) {
        s_skip_rest (self->router);
        self->stats.dropped_in++;
        return true;
    }
    zmq_msg_init (&payload);
    if (zmq_msg_recv (&payload, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&payload);
        return true;
    }
    if (s_has_more (self->router)) {
        s_skip_rest (self->router);
        self->stats.dropped_in++;
    }
    else {
        self->stats.received++;
        fn (arg, zmq_msg_data (&payload), zmq_msg_size (&payload), &origin, s_role (self, &payload));
    }
    zmq_msg_close (&payload);
    return true;
}

static bool s_read_dealer (chordd_transport_t *self, void *socket, chordd_transport_fn *fn, void *arg)
{
    zmq_msg_t payload;
    zmq_msg_init (&payload);
    if (zmq_msg_recv (&payload, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&payload);
        return false;
    }
    if (s_has_more (socket)) {
        s_skip_rest (socket);
        self->stats.dropped_in++;
    }
    else {
        self->stats.received++;
        fn (arg, zmq_msg_data (&payload), zmq_msg_size (&payload), NULL, CHORD_ROLE_PEER);
    }
    zmq_msg_close (&payload);
    return true;
}

/* Lets the guard act on the connections accepted and closed so far. */
static void s_guard (chordd_transport_t *self)
{
    if (self->guard) {
        self->guard_touched = true;
        self->stats.refused += chordd_conn_guard_handle (self->guard);
        const chordd_conn_guard_stats_t *guard = chordd_conn_guard_stats (self->guard);
        self->stats.accept_failed = guard->accept_failed;
        self->stats.connections = guard->open;
    }
}

/* Lists the sockets the poll watches: the ROUTER, the dealers, the ZAP
   handler's, the guard's monitor. Returns how many. */
static size_t s_watch_list (chordd_transport_t *self, s_watch_t *watch)
{
    size_t count = 0;
    watch[count++] = (s_watch_t) {self->router, &self->router_touched};
    for (size_t i = 0; i < self->dealer_count; i++)
        watch[count++] = (s_watch_t) {self->dealers[i].socket, &self->dealers[i].touched};
    /* The ZAP handler after the others: a handshake waits for its answer. */
    void *zap = self->secured ? chordd_auth_socket (self->curve.auth) : NULL;
    if (zap)
        watch[count++] = (s_watch_t) {zap, &self->zap_touched};
    if (self->guard)
        watch[count++] = (s_watch_t) {chordd_conn_guard_socket (self->guard), &self->guard_touched};
    return count;
}

/* The caller's extra items, as poll(2) and back: ZeroMQ's event bits differ. */
static short s_poll_events (short zmq_events)
{
    return (short) (((zmq_events & ZMQ_POLLIN) ? POLLIN : 0) | ((zmq_events & ZMQ_POLLOUT) ? POLLOUT : 0));
}

static short s_zmq_events (short poll_events)
{
    return (short) (((poll_events & POLLIN) ? ZMQ_POLLIN : 0) | ((poll_events & POLLOUT) ? ZMQ_POLLOUT : 0) |
                    ((poll_events & (POLLERR | POLLHUP | POLLNVAL)) ? ZMQ_POLLERR : 0));
}

/*  Lists in candidates the sockets of watch that may have input: those
    touched since last asked, and those whose fd says there is news. The
    fds are always looked at (without waiting when a socket was touched),
    so a busy socket cannot starve the others. Reading a candidate asks it
    (a read that finds nothing takes in its pending commands, as
    ZMQ_EVENTS would), so none is asked twice. The extra items (plain fds)
    are polled in the same call and get their revents. Returns how many
    candidates, or -1 when a signal cut the wait short.  */
static int s_candidates (const s_watch_t *watch, size_t count, zmq_pollitem_t *extra, size_t extra_count,
                         int timeout_ms, void **candidates)
{
    bool touched[4 + CHORDD_DEALERS_MAX];
    int candidate_count = 0;
    for (size_t i = 0; i < count; i++) {
        touched[i] = *watch[i].touched;
        *watch[i].touched = false;
        if (touched[i])
            candidates[candidate_count++] = watch[i].socket;
    }
    struct pollfd fds[4 + CHORDD_DEALERS_MAX + CHORDD_POLL_EXTRA_MAX];
    for (size_t i = 0; i < count; i++) {
        size_t fd_size = sizeof fds[i].fd;
        fds[i] = (struct pollfd) {.fd = -1, .events = POLLIN};
        zmq_getsockopt (watch[i].socket, ZMQ_FD, &fds[i].fd, &fd_size);
    }
    for (size_t i = 0; i < extra_count; i++)
        fds[count + i] = (struct pollfd) {.fd = extra[i].fd, .events = s_poll_events (extra[i].events)};
    int polled = poll (fds, (nfds_t) (count + extra_count), candidate_count > 0 ? 0 : timeout_ms);
    for (size_t i = 0; i < extra_count; i++)
        extra[i].revents = polled < 0 ? 0 : s_zmq_events (fds[count + i].revents);
    if (polled < 0)
        return errno == EINTR ? -1 : candidate_count;
    for (size_t i = 0; i < count; i++)
        if (!touched[i] && (fds[i].revents & POLLIN))
            candidates[candidate_count++] = watch[i].socket;
    return candidate_count;
}

/* Reads up to a batch from the ROUTER or a dealer; returns how many, and
   sets *drained when it stopped because no more was waiting. */
static int s_read_batch (chordd_transport_t *self, void *socket, chordd_transport_fn *fn, void *arg, bool *drained)
{
    *drained = false;
    for (int n = 0; n < CHORDD_POLL_BATCH; n++) {
        bool got = socket == self->router ? s_read_router (self, fn, arg) : s_read_dealer (self, socket, fn, arg);
        if (!got) {
            *drained = true;
            return n;
        }
    }
    return CHORDD_POLL_BATCH;
}

/* True when socket has a message to read. Takes in its pending commands,
   so its fd signals anew only for what comes after. */
static bool s_has_input (void *socket)
{
    int events = 0;
    size_t events_size = sizeof events;
    return zmq_getsockopt (socket, ZMQ_EVENTS, &events, &events_size) == 0 && (events & ZMQ_POLLIN);
}

/*  Reads what the candidates hold, each handled by its owner. The ZAP
    handler and the guard are asked first: their handlers use their
    sockets, which marks them touched, and only asking (not reading)
    clears that. Returns
    the messages handed to fn.  */
static int s_read_candidates (chordd_transport_t *self, void **candidates, int candidate_count,
                              chordd_transport_fn *fn, void *arg)
{
    int handled = 0;
    void *zap = self->secured ? chordd_auth_socket (self->curve.auth) : NULL;
    for (int c = 0; c < candidate_count; c++) {
        void *socket = candidates[c];
        if (zap && socket == zap) {
            if (s_has_input (socket)) {
                chordd_auth_handle (self->curve.auth);
                self->zap_touched = true; /* it answered on the socket */
            }
            continue;
        }
        if (self->guard && socket == chordd_conn_guard_socket (self->guard)) {
            if (s_has_input (socket))
                s_guard (self);
            continue;
        }
        //  Dealer sockets may be evicted by sends made from the callback.
        bool still_open = socket == self->router;
        for (size_t i = 0; !still_open && i < self->dealer_count; i++)
            still_open = self->dealers[i].socket == socket;
        if (!still_open)
            continue;
        bool drained = false;
        handled += s_read_batch (self, socket, fn, arg, &drained);
        //  Look the flag up after the callbacks, which may evict dealers.
        if (!drained && socket == self->router)
            self->router_touched = true;
        for (size_t i = 0; !drained && i < self->dealer_count; i++)
            if (self->dealers[i].socket == socket)
                self->dealers[i].touched = true;
    }
    return handled;
}

int chordd_transport_poll (chordd_transport_t *self, int timeout_ms, chordd_transport_fn *fn, void *arg)
{
    return chordd_transport_poll_extra (self, timeout_ms, NULL, 0, fn, arg);
}

static bool s_any_revents (const zmq_pollitem_t *extra, size_t extra_count)
{
    for (size_t i = 0; i < extra_count; i++)
        if (extra[i].revents)
            return true;
    return false;
}

int chordd_transport_poll_extra (chordd_transport_t *self, int timeout_ms, zmq_pollitem_t *extra,
                                 size_t extra_count, chordd_transport_fn *fn, void *arg)
{
    assert (extra_count <= CHORDD_POLL_EXTRA_MAX);
    s_watch_t watch[4 + CHORDD_DEALERS_MAX];
    void *candidates[4 + CHORDD_DEALERS_MAX];
    size_t count = s_watch_list (self, watch);
    int candidate_count = s_candidates (watch, count, extra, extra_count, timeout_ms, candidates);
    if (candidate_count < 0)
        return -1;
    int handled = s_read_candidates (self, candidates, candidate_count, fn, arg);
    bool touched = false;
    for (size_t i = 0; i < count; i++)
        touched |= *watch[i].touched;
    if (handled > 0 || touched || s_any_revents (extra, extra_count))
        return handled;
    /* The touched sockets had nothing, and s_candidates did not wait:
       now every socket is asked, its fd signals news, so wait for it. */
    candidate_count = s_candidates (watch, count, extra, extra_count, timeout_ms, candidates);
    if (candidate_count < 0)
        return -1;
    return s_read_candidates (self, candidates, candidate_count, fn, arg);
}

const chordd_transport_stats_t *chordd_transport_stats (chordd_transport_t *self)
{
    s_guard (self);
    return &self->stats;
}
