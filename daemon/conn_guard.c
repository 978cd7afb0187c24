/*  chordd connection guard: keeps the ROUTER's accepted connections under
    a cap, from its socket monitor's events. See conn_guard.h.

    Connections are tracked in a table indexed by fd (the kernel hands out
    the lowest free fd, so it stays about as large as the most fds open).
    Those whose peer has not been seen speaking ZMTP yet are also on a
    list in accept order, so the oldest silent one is found without
    looking at the others.  */
#include "conn_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <zmq.h>

#include "log.h"

#define S_GUARD_EVENTS \
    (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED)
/* Monitor events queued before the I/O thread drops more: room for a burst
   of accepts while the main thread is busy; a drop only costs tracking. */
#define S_GUARD_EVENT_QUEUE     100000
#define S_GUARD_EVENTS_PER_CALL 4096    /* events handled per call, so a flood cannot starve requests */
#define S_GUARD_WARN_MS         10000   /* at most one warning per this many ms, per kind */
/* A ZMTP 3 peer sends a 64-byte greeting, then its first handshake command:
   more bytes than this and the peer speaks the protocol. */
#define S_GUARD_GREETING_BYTES  64
/* A connection younger than this (ms) is not evicted for being silent: a
   real client needs a round trip or two before its greeting arrives. */
#define S_GUARD_GRACE_MS        100
#define S_GUARD_TABLE_MIN       64      /* initial slots in the fd table (40 bytes, zeroed); doubled past an fd */

typedef struct {
    uint64_t seq;               /* accept order, from 1; 0: no connection tracked on this fd */
    uint64_t identity;          /* hash of both addresses, to tell when libzmq reused the fd */
    uint64_t accepted_ms;       /* when we saw it accepted, monotonic */
    int prev, next;             /* neighbours on the silent list, -1 at its ends */
    bool silent;                /* on the silent list: not yet seen speaking ZMTP */
    bool shut;                  /* shut down by us; libzmq closes it on EOF */
} s_slot_t;

struct chordd_conn_guard {
    void *router;               /* the monitored ROUTER, not ours */
    void *monitor;              /* ZMQ_PAIR receiving the monitor's events */
    size_t max;                 /* most connections open at once */
    s_slot_t *slots;            /* by fd */
    size_t slot_count;          /* entries in slots */
    int silent_head;            /* oldest silent connection, -1: none */
    int silent_tail;            /* newest silent connection, -1: none */
    uint64_t seq;               /* last accept order given */
    uint64_t refused_unlogged;  /* refused or evicted since the last warning */
    uint64_t last_refusal_warn_ms; /* when that warning was logged, 0: never */
    uint64_t failed_unlogged;   /* accept failures since the last warning */
    uint64_t last_failure_warn_ms; /* when that warning was logged, 0: never */
    chordd_conn_guard_stats_t stats;
};

static uint64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    //  +1 so that 0 can mean "never" in the fields above.
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000 + 1;
}

static uint64_t s_mix (uint64_t hash, const void *data, size_t size)
{
    //  FNV-1a: only tells a reused fd from the connection we saw, no adversary.
    const unsigned char *bytes = data;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    return hash;
}

/*  Both ends' addresses of fd, hashed; 0 when fd is not a connected socket
    (closed, or reused for one still connecting).  */
static uint64_t s_identity (int fd)
{
    struct sockaddr_storage local, remote;
    socklen_t local_size = sizeof local, remote_size = sizeof remote;
    memset (&local, 0, sizeof local);
    memset (&remote, 0, sizeof remote);
    if (getsockname (fd, (struct sockaddr *) &local, &local_size) != 0 ||
        getpeername (fd, (struct sockaddr *) &remote, &remote_size) != 0)
        return 0;
    uint64_t hash = s_mix (0xcbf29ce484222325ull, &local, local_size < sizeof local ? local_size : sizeof local);
    hash = s_mix (hash, &remote, remote_size < sizeof remote ? remote_size : sizeof remote);
    return hash ? hash : 1;
}

/* "address:port" of fd's peer, for logs. */
static void s_peer_name (int fd, char *out, size_t size)
{
    struct sockaddr_storage remote;
    socklen_t remote_size = sizeof remote;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    snprintf (out, size, "fd %d", fd);
    if (getpeername (fd, (struct sockaddr *) &remote, &remote_size) != 0)
        return;
    if (remote.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) &remote;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs (in->sin_port);
    }
    else if (remote.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &remote;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs (in6->sin6_port);
    }
    else
        return;
    snprintf (out, size, "%s:%u (fd %d)", host, port, fd);
}

/*  True when fd's peer has sent more than a ZMTP greeting. A socket the
    kernel cannot tell about (not TCP: ipc://) counts as speaking, so it is
    never taken for an idle one.  */
static bool s_has_spoken (int fd)
{
    struct tcp_info info;
    socklen_t size = sizeof info;
    memset (&info, 0, sizeof info);
    if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
        return true;
    if (size < offsetof (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
        return true;    //  a kernel before 4.1
    return info.tcpi_bytes_received > S_GUARD_GREETING_BYTES;
}

static void s_unlink_silent (chordd_conn_guard_t *self, int fd)
{
    s_slot_t *slot = &self->slots[fd];
    if (!slot->silent)
        return;
    if (slot->prev >= 0)
        self->slots[slot->prev].next = slot->next;
    else
        self->silent_head = slot->next;
    if (slot->next >= 0)
        self->slots[slot->next].prev = slot->prev;
    else
        self->silent_tail = slot->prev;
    slot->prev = slot->next = -1;
    slot->silent = false;
}

/* Stops tracking the connection on fd: libzmq closed it. */
static void s_forget (chordd_conn_guard_t *self, int fd)
{
    if (fd < 0 || (size_t) fd >= self->slot_count || !self->slots[fd].seq)
        return;
    s_slot_t *slot = &self->slots[fd];
    s_unlink_silent (self, fd);
    if (!slot->shut)
        self->stats.open--;
    memset (slot, 0, sizeof *slot);
    slot->prev = slot->next = -1;
}

static int s_grow (chordd_conn_guard_t *self, size_t wanted)
{
    size_t count = self->slot_count ? self->slot_count : S_GUARD_TABLE_MIN;
    while (count <= wanted)
        count *= 2;
    s_slot_t *slots = realloc (self->slots, count * sizeof *slots);
    if (!slots)
        return -1;
    memset (slots + self->slot_count, 0, (count - self->slot_count) * sizeof *slots);
    for (size_t i = self->slot_count; i < count; i++)
        slots[i].prev = slots[i].next = -1;
    self->slots = slots;
    self->slot_count = count;
    return 0;
}

/*  Shuts down the connection on fd, unless the fd now belongs to another
    socket (libzmq closed ours and reused the number before we got here);
    then it only forgets it. The shut connection stays in the table until
    its DISCONNECTED event, but no longer counts as open.  */
static bool s_shut (chordd_conn_guard_t *self, int fd)
{
    s_slot_t *slot = &self->slots[fd];
    if (!slot->identity || s_identity (fd) != slot->identity) {
        s_forget (self, fd);
        return false;
    }
    s_unlink_silent (self, fd);
    shutdown (fd, SHUT_RDWR);
    slot->shut = true;
    self->stats.open--;
    return true;
}

/*  The oldest connection that is silent (its peer has sent no more than a
    greeting) and older than the grace, other than newcomer; -1 if none.
    Connections found speaking leave the silent list for good.  */
static int s_oldest_silent (chordd_conn_guard_t *self, int newcomer, uint64_t now_ms)
{
    int fd = self->silent_head;
    while (fd >= 0) {
        s_slot_t *slot = &self->slots[fd];
        int next = slot->next;
        if (fd != newcomer) {
            if (s_has_spoken (fd))
                s_unlink_silent (self, fd);
            else if (now_ms - slot->accepted_ms < S_GUARD_GRACE_MS)
                return -1;  //  the rest of the list is younger still
            else
                return fd;
        }
        fd = next;
    }
    return -1;
}

/* Logs a connection refused or dropped: at debug level each one, and a
   warning at most once per S_GUARD_WARN_MS, so a flood cannot flood the log. */
static void s_note_refusal (chordd_conn_guard_t *self, const char *what, const char *name, uint64_t now_ms)
{
    chordd_log (CHORD_LOG_DEBUG, "%s %s: %zu connections open, --max-connections %zu", what, name,
                self->stats.open, self->max);
    self->refused_unlogged++;
    if (!self->last_refusal_warn_ms || now_ms - self->last_refusal_warn_ms >= S_GUARD_WARN_MS) {
        chordd_log (CHORD_LOG_WARN,
                    "--max-connections %zu reached: %llu connections refused or dropped since the last "
                    "warning (%llu newcomers refused, %llu silent ones dropped in all)",
                    self->max, (unsigned long long) self->refused_unlogged,
                    (unsigned long long) self->stats.refused, (unsigned long long) self->stats.evicted);
        self->refused_unlogged = 0;
        self->last_refusal_warn_ms = now_ms;
    }
}

/* A connection was accepted on fd: track it, and keep the cap. Returns 1
   when it or another was shut down, else 0. */
static size_t s_on_accepted (chordd_conn_guard_t *self, int fd)
{
    if (fd < 0)
        return 0;
    if ((size_t) fd >= self->slot_count && s_grow (self, (size_t) fd) != 0) {
        chordd_log (CHORD_LOG_WARN, "connection guard: out of memory, not tracking fd %d", fd);
        return 0;
    }
    //  Still tracked: we missed its closing event (the queue overflowed), so
    //  the old connection is gone.
    s_forget (self, fd);
    uint64_t now_ms = s_now_ms ();
    s_slot_t *slot = &self->slots[fd];
    slot->seq = ++self->seq;
    slot->identity = s_identity (fd);
    slot->accepted_ms = now_ms;
    slot->silent = true;
    slot->prev = self->silent_tail;
    slot->next = -1;
    if (self->silent_tail >= 0)
        self->slots[self->silent_tail].next = fd;
    else
        self->silent_head = fd;
    self->silent_tail = fd;
    self->stats.open++;
    self->stats.accepted++;
    if (self->stats.open <= self->max)
        return 0;
    //  Named before the shutdown, while getpeername still answers.
    char name[INET6_ADDRSTRLEN + 32];
    int victim = s_oldest_silent (self, fd, now_ms);
    if (victim >= 0) {
        s_peer_name (victim, name, sizeof name);
        if (s_shut (self, victim)) {
            self->stats.evicted++;
            s_note_refusal (self, "dropped silent connection from", name, now_ms);
            return 1;
        }
        //  It was gone already, so there is room now.
        if (self->stats.open <= self->max)
            return 0;
    }
    s_peer_name (fd, name, sizeof name);
    if (!s_shut (self, fd))
        return 0;
    self->stats.refused++;
    s_note_refusal (self, "refused connection from", name, now_ms);
    return 1;
}

static void s_on_accept_failed (chordd_conn_guard_t *self, int error)
{
    uint64_t now_ms = s_now_ms ();
    self->stats.accept_failed++;
    self->failed_unlogged++;
    if (!self->last_failure_warn_ms || now_ms - self->last_failure_warn_ms >= S_GUARD_WARN_MS) {
        chordd_log (CHORD_LOG_WARN, "accepting a connection failed %llu times since the last warning (last: %s)",
                    (unsigned long long) self->failed_unlogged, zmq_strerror (error));
        self->failed_unlogged = 0;
        self->last_failure_warn_ms = now_ms;
    }
}

chordd_conn_guard_t *chordd_conn_guard_new (void *context, void *router, size_t max)
{
    chordd_conn_guard_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    self->max = max ? max : 1;
    self->silent_head = self->silent_tail = -1;
    char address[64];
    //  The address must be unique in the context: name it after this guard.
    snprintf (address, sizeof address, "inproc://chordd-conn-guard-%p", (void *) self);
    if (s_grow (self, 0) != 0 || zmq_socket_monitor (router, address, S_GUARD_EVENTS) != 0)
        goto fail;
    self->monitor = zmq_socket (context, ZMQ_PAIR);
    if (!self->monitor)
        goto fail;
    int zero = 0, queue = S_GUARD_EVENT_QUEUE;
    zmq_setsockopt (self->monitor, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (self->monitor, ZMQ_RCVHWM, &queue, sizeof queue);
    if (zmq_connect (self->monitor, address) != 0)
        goto fail;
    return self;
fail:;
    int saved = errno;
    zmq_socket_monitor (router, NULL, 0);
    if (self->monitor)
        zmq_close (self->monitor);
    free (self->slots);
    free (self);
    errno = saved;
    return NULL;
}

void chordd_conn_guard_destroy (chordd_conn_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chordd_conn_guard_t *self = *self_p;
    zmq_socket_monitor (self->router, NULL, 0);
    zmq_close (self->monitor);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

void *chordd_conn_guard_socket (chordd_conn_guard_t *self)
{
    return self->monitor;
}

/* Reads and discards the rest of a multipart message. */
static void s_skip_rest (void *socket)
{
    int more = 0;
    size_t more_size = sizeof more;
    while (zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        int rc = zmq_msg_recv (&part, socket, ZMQ_DONTWAIT);
        zmq_msg_close (&part);
        if (rc < 0)
            return;
    }
}

size_t chordd_conn_guard_handle (chordd_conn_guard_t *self)
{
    size_t shut = 0;
    for (int n = 0; n < S_GUARD_EVENTS_PER_CALL; n++) {
        //  Frame 1: event number (16 bits) and value (32 bits, the fd for
        //  the events we ask for but ACCEPT_FAILED's errno), native order.
        //  Frame 2: the endpoint, not needed.
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&frame);
            break;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        bool good = zmq_msg_size (&frame) == 6;
        if (good) {
            memcpy (&event, zmq_msg_data (&frame), sizeof event);
            memcpy (&value, (uint8_t *) zmq_msg_data (&frame) + sizeof event, sizeof value);
        }
        zmq_msg_close (&frame);
        s_skip_rest (self->monitor);
        if (!good)
            continue;
        if (event == ZMQ_EVENT_ACCEPTED)
            shut += s_on_accepted (self, (int) value);
        else if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_CLOSED)
            s_forget (self, (int) value);
        else if (event == ZMQ_EVENT_ACCEPT_FAILED)
            s_on_accept_failed (self, (int) value);
    }
    return shut;
}

const chordd_conn_guard_stats_t *chordd_conn_guard_stats (const chordd_conn_guard_t *self)
{
    return &self->stats;
}

size_t chordd_conn_guard_max_for (uint64_t fd_limit, uint64_t reserve_fds)
{
    //  A limit too small for the reserve still lets a quarter of it in:
    //  a peer nobody can reach is no use.
    uint64_t max = fd_limit > reserve_fds + fd_limit / 4 ? fd_limit - reserve_fds : fd_limit / 4;
    return max ? (size_t) max : 1;
}
