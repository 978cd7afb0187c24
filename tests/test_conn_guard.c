/*  Tests of the connection guard (daemon/conn_guard) on a real ROUTER
    bound on loopback, with a cap of 2: the oldest silent connection makes
    room for a newcomer once it is past its grace; a newcomer is refused
    when every other silent one is younger than that; a connection that
    finished its ZMTP handshake is never taken; the guard's count goes
    back to 0 when everything is closed; and the cap derived from an fd
    limit. Every wait is bounded.  */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "conn_guard.h"
#include "log.h"
#include "tap.h"

#define S_CAP          2        /* --max-connections for the test */
#define S_WAIT_MS      3000     /* longest any condition is waited for */
#define S_PAST_GRACE_MS 250     /* longer than the guard's grace for a silent connection */

static void *s_context, *s_router;
static chordd_conn_guard_t *s_guard;
static int s_port;

static uint64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void s_sleep_ms (int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
    nanosleep (&ts, NULL);
}

/* Lets the guard handle its events until stats field *field reaches want. */
static bool s_pump_until (const uint64_t *field, uint64_t want)
{
    uint64_t deadline = s_now_ms () + S_WAIT_MS;
    while (s_now_ms () < deadline) {
        chordd_conn_guard_handle (s_guard);
        if (*field >= want)
            return true;
        s_sleep_ms (5);
    }
    return false;
}

static bool s_pump_until_open (size_t want)
{
    uint64_t deadline = s_now_ms () + S_WAIT_MS;
    while (s_now_ms () < deadline) {
        chordd_conn_guard_handle (s_guard);
        if (chordd_conn_guard_stats (s_guard)->open == want)
            return true;
        s_sleep_ms (5);
    }
    return false;
}

/* A raw TCP connection to the ROUTER that never writes. */
static int s_raw_connect (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) s_port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd < 0 || connect (fd, (struct sockaddr *) &address, sizeof address) != 0) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

/* True when the server closed fd (EOF or reset) within S_WAIT_MS; the
   server's own greeting bytes are read past. */
static bool s_closed_by_server (int fd)
{
    uint64_t deadline = s_now_ms () + S_WAIT_MS;
    char buffer[256];
    while (s_now_ms () < deadline) {
        struct pollfd item = {.fd = fd, .events = POLLIN};
        if (poll (&item, 1, 50) <= 0)
            continue;
        ssize_t got = recv (fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            return true;
    }
    return false;
}

/* True when fd stays open (no EOF) for ms. */
static bool s_still_open (int fd, int ms)
{
    uint64_t deadline = s_now_ms () + (uint64_t) ms;
    char buffer[256];
    while (s_now_ms () < deadline) {
        struct pollfd item = {.fd = fd, .events = POLLIN};
        if (poll (&item, 1, 20) > 0 && recv (fd, buffer, sizeof buffer, MSG_DONTWAIT) == 0)
            return false;
    }
    return true;
}

int main (void)
{
    chordd_log_set_level (CHORD_LOG_ERROR);
    s_context = zmq_ctx_new ();
    s_router = zmq_socket (s_context, ZMQ_ROUTER);
    s_guard = chordd_conn_guard_new (s_context, s_router, S_CAP);
    tap_ok (s_guard != NULL, "a guard starts on a ROUTER before its bind");
    if (!s_guard || zmq_bind (s_router, "tcp://127.0.0.1:*") != 0) {
        tap_ok (0, "the ROUTER binds on loopback");
        return tap_done ();
    }
    char endpoint[256];
    size_t endpoint_size = sizeof endpoint;
    zmq_getsockopt (s_router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
    s_port = atoi (strrchr (endpoint, ':') + 1);
    const chordd_conn_guard_stats_t *stats = chordd_conn_guard_stats (s_guard);
    bool got;       //  each condition first: the message then shows the counts it saw

    //  A speaks no ZMTP; B is a DEALER that finishes its handshake.
    int a = s_raw_connect ();
    tap_ok (a >= 0 && s_pump_until (&stats->accepted, 1), "a silent connection is accepted and seen");
    void *dealer = zmq_socket (s_context, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt (dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect (dealer, endpoint);
    tap_ok (s_pump_until (&stats->accepted, 2) && stats->open == 2, "a ZMQ DEALER is accepted: 2 open");
    zmq_send (dealer, "hello", 5, 0);
    zmq_pollitem_t item = {.socket = s_router, .events = ZMQ_POLLIN};
    tap_ok (zmq_poll (&item, 1, S_WAIT_MS) == 1, "the DEALER finishes its handshake and is heard");
    zmq_msg_t part;
    zmq_msg_init (&part);
    while (zmq_msg_recv (&part, s_router, ZMQ_DONTWAIT) >= 0) {
    }
    zmq_msg_close (&part);

    //  C past the cap: A, silent and past its grace, is dropped for it.
    s_sleep_ms (S_PAST_GRACE_MS);
    int c = s_raw_connect ();
    got = c >= 0 && s_pump_until (&stats->evicted, 1) && stats->refused == 0 && stats->open == S_CAP;
    tap_ok (got,
            "a newcomer past the cap drops the oldest silent connection (evicted %llu, refused %llu, open %zu)",
            (unsigned long long) stats->evicted, (unsigned long long) stats->refused, stats->open);

    //  D at once: C is silent but young, the DEALER has spoken: D is refused.
    int d = s_raw_connect ();
    got = d >= 0 && s_pump_until (&stats->refused, 1) && stats->evicted == 1 && stats->open == S_CAP;
    tap_ok (got,
            "a newcomer while the silent one is within its grace is refused (evicted %llu, refused %llu)",
            (unsigned long long) stats->evicted, (unsigned long long) stats->refused);
    tap_ok (s_closed_by_server (a), "the dropped silent connection sees its end");
    tap_ok (s_closed_by_server (d), "the refused newcomer sees its end at once");
    tap_ok (s_still_open (c, 100), "the newcomer that took the room stays");

    //  E later: C is past its grace now and goes; the DEALER never does.
    s_sleep_ms (S_PAST_GRACE_MS);
    int e = s_raw_connect ();
    got = e >= 0 && s_pump_until (&stats->evicted, 2) && stats->open == S_CAP;
    tap_ok (got,
            "the next newcomer drops the silent one, now past its grace (evicted %llu)",
            (unsigned long long) stats->evicted);
    tap_ok (s_closed_by_server (c), "that one sees its end");
    zmq_send (dealer, "again", 5, 0);
    tap_ok (zmq_poll (&item, 1, S_WAIT_MS) == 1, "the handshaken DEALER is still heard");
    tap_ok (stats->accept_failed == 0, "accept never failed");

    //  Everything closed: the count goes back to 0.
    close (a);
    close (c);
    close (d);
    close (e);
    zmq_close (dealer);
    got = s_pump_until_open (0);
    tap_ok (got, "once every connection is closed the guard counts none open (%zu)", stats->open);

    tap_ok (chordd_conn_guard_max_for (1024, 576) == 448, "1024 fds less a reserve of 576: 448 connections");
    tap_ok (chordd_conn_guard_max_for (600, 576) == 150, "a limit barely over the reserve still takes a quarter");
    tap_ok (chordd_conn_guard_max_for (0, 576) == 1, "never 0");

    chordd_conn_guard_destroy (&s_guard);
    tap_ok (s_guard == NULL, "destroy clears the pointer");
    zmq_close (s_router);
    zmq_ctx_term (s_context);
    return tap_done ();
}
