/*  chordd: one chord peer. Parses options, drives the protocol node with
    ZeroMQ and a monotonic clock, and leaves gracefully on SIGTERM/SIGINT.  */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "node.h"
#include "options.h"
#include "transport.h"

#define CHORDD_POLL_MAX_MS   1000   /* wake at least this often */
#define CHORDD_EXIT_LINGER_MS 1000  /* time for the last replies and notices to go out */

static volatile sig_atomic_t s_signals;

static void s_on_signal (int signo)
{
    (void) signo;
    s_signals++;
}

static uint64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void s_random_bytes (void *arg, void *buf, size_t len)
{
    (void) arg;
    randombytes_buf (buf, len);
}

typedef struct {
    chord_node_t *node;
    chordd_transport_t *transport;
} s_peer_t;

static void s_on_message (void *arg, const uint8_t *data, size_t size, const chord_origin_t *origin)
{
    s_peer_t *peer = arg;
    chord_node_receive (peer->node, data, size, origin, s_now_ms ());
}

/* Sends everything the node queued. */
static void s_flush (s_peer_t *peer)
{
    chord_outgoing_t out;
    while (chord_node_pop_outgoing (peer->node, &out)) {
        if (out.kind == CHORD_DEST_PEER)
            chordd_transport_send_peer (peer->transport, out.endpoint, out.data, out.size);
        else
            chordd_transport_send_origin (peer->transport, &out.origin, out.data, out.size);
    }
}

static int s_install_signals (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;   /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset (&action.sa_mask);
    if (sigaction (SIGTERM, &action, NULL) != 0 || sigaction (SIGINT, &action, NULL) != 0)
        return -1;
    signal (SIGPIPE, SIG_IGN);
    return 0;
}

int main (int argc, char **argv)
{
    chordd_options_t options;
    int rc = chordd_options_parse (&options, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    chordd_log_set_level (options.log_level);
    if (sodium_init () < 0) {
        chordd_log (CHORD_LOG_ERROR, "libsodium failed to initialise");
        return 1;
    }
    if (s_install_signals () != 0) {
        chordd_log (CHORD_LOG_ERROR, "cannot install signal handlers: %s", strerror (errno));
        return 1;
    }
    chordd_transport_t *transport = chordd_transport_new (options.listen);
    if (!transport) {
        chordd_log (CHORD_LOG_ERROR, "cannot listen on %s: %s", options.listen, strerror (errno));
        return 1;
    }
    chord_store_t *store = chord_store_mem_new ();
    chord_node_config_t config = {
        .endpoint = options.advertise,
        .successors = options.successors,
        .stabilize_interval_ms = options.stabilize_ms,
        .rpc_timeout_ms = options.rpc_timeout_ms,
    };
    chord_id_of_position (&config.id, options.advertise, 0);
    chord_env_t env = {
        .store = store,
        .random_bytes = s_random_bytes,
        .log = chordd_log_line,
    };
    chord_node_t *node = store ? chord_node_new (&config, &env) : NULL;
    if (!node) {
        chordd_log (CHORD_LOG_ERROR, "cannot create the node (out of memory?)");
        chord_store_destroy (&store);
        chordd_transport_destroy (&transport, 0);
        return 1;
    }
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (&config.id, hex);
    chordd_log (CHORD_LOG_INFO, "listening on %s as %s, id %s", options.listen, options.advertise, hex);

    s_peer_t peer = {.node = node, .transport = transport};
    uint64_t now = s_now_ms ();
    chord_node_start (node, options.seeds, options.seed_count, now);
    s_flush (&peer);

    int exit_code = 0;
    bool leaving = false;
    uint64_t leave_deadline = 0;
    while (chord_node_state (node) != CHORD_NODE_LEFT) {
        now = s_now_ms ();
        if (s_signals > 0 && !leaving) {
            chordd_log (CHORD_LOG_INFO, "signal received: leaving the ring");
            leaving = true;
            leave_deadline = now + options.leave_timeout_ms;
            chord_node_leave (node, now);
            s_flush (&peer);
            continue;
        }
        if (s_signals > 1) {
            chordd_log (CHORD_LOG_WARN, "second signal: exiting without finishing the leave");
            exit_code = 1;
            break;
        }
        if (chord_node_state (node) == CHORD_NODE_LEAVING && !leaving) {
            leaving = true;   /* asked by chordctl leave */
            leave_deadline = now + options.leave_timeout_ms;
        }
        if (leaving && now >= leave_deadline) {
            chordd_log (CHORD_LOG_ERROR, "leave did not finish within %u ms: exiting", options.leave_timeout_ms);
            exit_code = 1;
            break;
        }
        uint64_t deadline = chord_node_next_deadline_ms (node);
        if (deadline <= now) {
            chord_node_tick (node, now);
            s_flush (&peer);
            continue;
        }
        uint64_t wait = deadline - now;
        if (wait > CHORDD_POLL_MAX_MS)
            wait = CHORDD_POLL_MAX_MS;
        if (leaving && leave_deadline - now < wait)
            wait = leave_deadline - now;
        chordd_transport_poll (transport, (int) wait, s_on_message, &peer);
        s_flush (&peer);
    }
    s_flush (&peer);
    const chord_node_stats_t *stats = chord_node_stats (node);
    chordd_log (CHORD_LOG_INFO,
                "exiting: %llu messages in, %llu dropped, %llu keys handed off, %llu taken over",
                (unsigned long long) stats->messages_received, (unsigned long long) stats->messages_dropped,
                (unsigned long long) stats->keys_handed_off, (unsigned long long) stats->keys_taken_over);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
    chordd_transport_destroy (&transport, CHORDD_EXIT_LINGER_MS);
    return exit_code;
}
