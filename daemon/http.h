/*  chordd's HTTP side (--http HOST:PORT): health, readiness, a JSON view
    of the positions and Prometheus metrics, served by libmicrohttpd in its
    own polling thread.

    That thread never touches the protocol nodes. The main loop fills a
    chordd_http_snapshot_t from them and publishes it (a copy under a
    mutex); the handlers render from the last snapshot published.  */
#ifndef CHORDD_HTTP_H
#define CHORDD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client.h"
#include "id.h"
#include "node.h"
#include "options.h"

#define CHORDD_HTTP_CONNECTIONS 256     /* HTTP connections open at once */
#define CHORDD_HTTP_TIMEOUT_S   10      /* an HTTP connection idle this long is closed */
#define CHORDD_HTTP_PER_ADDRESS 64      /* of those, held by one client address: a slow client never takes them all */
#define CHORDD_HTTP_PUBLISH_MS  200     /* the main loop publishes at most this often */
#define CHORDD_HTTP_STALE_MS    5000    /* a snapshot this old means the loop is stuck: not ready */

/* One ring position, as the main loop saw it. */
typedef struct {
    unsigned index;                             /* position i: id BLAKE2b of ENDPOINT#i */
    char id[CHORD_ID_HEX_LEN + 1];
    chord_node_state_t state;
    bool has_predecessor;
    char predecessor[CHORD_ENDPOINT_MAX + 1];
    char successor[CHORD_ENDPOINT_MAX + 1];
    uint64_t records;                           /* keys and tombstones in its store */
    chord_node_stats_t stats;
    chord_node_gauges_t gauges;                 /* ring gauges and the store's census */
} chordd_http_position_t;

/* What chordd counts outside its positions. */
typedef struct {
    uint64_t dropped_undecodable;               /* messages that did not decode */
    uint64_t dropped_unroutable;                /* messages for a position this process does not hold */
    uint64_t dropped_stopped;                   /* messages that came after a failed commit stopped us */
    chord_histogram_t commit_duration_us;       /* each chord_store_commit of a batch, in microseconds */
} chordd_http_daemon_stats_t;

typedef struct {
    size_t count;                               /* positions[0..count-1]; 0: not started yet */
    uint64_t dropped;                           /* messages dropped before reaching a position */
    chordd_http_daemon_stats_t daemon;          /* the same by reason, and store commits */
    chordd_http_position_t positions[CHORDD_VNODES_MAX];
} chordd_http_snapshot_t;

typedef struct chordd_http chordd_http_t;

/*  Binds address (from --http; text is what to log) and serves on it for
    the peer advertised as endpoint. Its handlers reach the ring as a
    client of that peer (and of others), with CURVE when curve is not NULL
    (a secured ring: the ring's key pair, copied). Returns the server, or
    NULL after writing why into error.  */
chordd_http_t *chordd_http_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, const chord_client_curve_t *curve, char *error,
                                  size_t error_size);

/*  Reads --http-tokens (http_auth.h) into the server's table, at start and
    on SIGHUP; a bad file keeps the table in use and error names file:line.
    Returns 0 or -1. On success logs, after what, how many tokens of each
    role it holds.  */
int chordd_http_tokens_load (chordd_http_t *self, const char *path, const char *what, char *error,
                             size_t error_size);

/* Copies snapshot for the handlers. Called by the main loop only. */
void chordd_http_publish (chordd_http_t *self, const chordd_http_snapshot_t *snapshot);

/* Stops the server (waits for its thread); sets *self_p to NULL; idempotent. */
void chordd_http_stop (chordd_http_t **self_p);

#endif
