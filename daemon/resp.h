/*  chordd's Redis door (--resp HOST:PORT): RESP2 for redis-cli,
    redis-benchmark and Redis client libraries.

    As the HTTP side, it never touches the protocol nodes: a listener
    thread accepts, each connection runs in a thread of its own (at most
    CHORDD_RESP_CONNECTIONS; beyond, "-ERR max clients reached" and close;
    idle ones closed after CHORDD_RESP_IDLE_S), and every data command is a
    CLIENT_GET/PUT/DEL to this peer as a client (pooled connections,
    bounded waits), so a SET is replicated and acknowledged at the write
    quorum like any put. INFO reads the snapshot the main loop publishes.  */
#ifndef CHORDD_RESP_H
#define CHORDD_RESP_H

#include <stddef.h>
#include <sys/socket.h>

#include "client.h"
#include "http.h"

#define CHORDD_RESP_CONNECTIONS 256     /* RESP connections open at once */
#define CHORDD_RESP_IDLE_S      300     /* a connection silent this long is closed */

typedef struct chordd_resp chordd_resp_t;

/*  Binds address (--resp; text is what to log) and serves on it for the
    peer advertised as endpoint, whose --replicas is replicas; with CURVE
    (curve not NULL: a secured ring, where connections must AUTH). Returns
    the server, or NULL after writing why into error.  */
chordd_resp_t *chordd_resp_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, size_t replicas, const chord_client_curve_t *curve,
                                  char *error, size_t error_size);

/* Reads --http-tokens into the table AUTH checks (http_auth.h); 0 or -1. */
int chordd_resp_tokens_load (chordd_resp_t *self, const char *path, char *error, size_t error_size);

/* Copies snapshot for INFO. Called by the main loop only. */
void chordd_resp_publish (chordd_resp_t *self, const chordd_http_snapshot_t *snapshot);

/* Stops accepting, waits (bounded) for the connections; sets *self_p to NULL. */
void chordd_resp_stop (chordd_resp_t **self_p);

#endif
