/*  A pool of idle client connections to one peer, shared by threads: the
    HTTP side reaches its own peer through it, so a request does
    not pay for a ZeroMQ context and a CURVE handshake each time.  */
#ifndef CHORDD_CLIENT_POOL_H
#define CHORDD_CLIENT_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"

#define CHORDD_CLIENT_POOL_MAX 16       /* idle clients a pool may keep */

typedef struct chordd_client_pool chordd_client_pool_t;

/*  A pool of at most keep (<= CHORDD_CLIENT_POOL_MAX) idle clients of
    endpoint, connecting with curve when it is not NULL (copied). NULL
    when memory runs out.  */
chordd_client_pool_t *chordd_client_pool_new (const char *endpoint, const chord_client_curve_t *curve, size_t keep);

/* Closes every idle client and frees the pool; sets *self_p to NULL; idempotent. */
void chordd_client_pool_destroy (chordd_client_pool_t **self_p);

/* An idle client, or a new one; NULL when none can be made. */
chord_client_t *chordd_client_pool_take (chordd_client_pool_t *self);

/*  Gives client back for reuse when healthy (a client whose call failed
    may hold a late reply or a refused handshake: it is closed, as is one
    beyond the pool's room). Call only once done with the client's last
    reply, whose borrowed bytes the next receive frees.  */
void chordd_client_pool_give (chordd_client_pool_t *self, chord_client_t *client, bool healthy);

#endif
