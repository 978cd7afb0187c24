/*  chordd auth: our ZAP handler (ZeroMQ RFC 27) for the CURVE ROUTER.

    libzmq asks it about each connection's handshake on
    inproc://zeromq.zap.01 and waits for the answer without blocking, so the
    handler is one REP socket polled in the main loop, no thread. It admits
    the ring's own public key as "peer" (the client proved it holds the
    cluster secret) and the keys of the --clients file with their role
    ("read", "write", "admin"), and refuses everything else, including any
    mechanism but CURVE. The transport then reads the User-Id of every
    message and maps it to a chord_role_t with chordd_auth_role.

    Clients file: one client per line, "Z85PUBKEY ROLE [comment]"; '#'
    comments and blank lines are skipped.  */
#ifndef CHORDD_AUTH_H
#define CHORDD_AUTH_H

#include <stddef.h>

#include "keys.h"
#include "node.h"

#define CHORDD_AUTH_ENDPOINT "inproc://zeromq.zap.01"   /* where libzmq looks for the handler */
#define CHORDD_AUTH_DOMAIN   "chord"                    /* ZMQ_ZAP_DOMAIN of our ROUTER */

typedef struct chordd_auth chordd_auth_t;

/* A handler that admits ring_public as a peer and no client yet. */
chordd_auth_t *chordd_auth_new (const uint8_t ring_public[CHORD_KEY_BYTES]);

/* Closes its socket (if bound) and frees it. */
void chordd_auth_destroy (chordd_auth_t **self_p);

/*  Reads a clients file into a new table. Only when the whole file is good
    does the table replace the one in use; else error names file:line and
    the old table stays. Returns 0 or -1.  */
int chordd_auth_load (chordd_auth_t *self, const char *path, char *error, size_t size);

/* Clients admitted now with role (READ, WRITE or ADMIN). */
size_t chordd_auth_count (const chordd_auth_t *self, chord_role_t role);

/* Binds the ZAP socket in context. Must happen before any CURVE socket in
   that context binds. Returns 0, or -1 with errno. */
int chordd_auth_bind (chordd_auth_t *self, void *context);

/* Closes the ZAP socket, so its context can terminate. */
void chordd_auth_unbind (chordd_auth_t *self);

/* The ZAP socket, to poll; NULL when not bound. */
void *chordd_auth_socket (chordd_auth_t *self);

/* Answers every ZAP request waiting, without blocking. Returns how many. */
int chordd_auth_handle (chordd_auth_t *self);

/* The role a ZAP User-Id stands for; NONE for NULL or anything unknown. */
chord_role_t chordd_auth_role (const char *user_id);

#endif
