/*  chordd's HTTP roles: bearer tokens mapped to the roles of the ZeroMQ
    side (read, write, admin), and the one decision every request passes
    before its handler runs.

    The tokens file (--http-tokens FILE) has one token per line, "ROLE
    TOKEN", with '#' comments and blank lines; a token is 32 to 256
    characters of [A-Za-z0-9._~-], and the file, like the cluster secret,
    must not be readable by group or others. Only a BLAKE2b hash of each
    token is kept, and a presented token is hashed and compared with every
    stored hash in constant time, so neither memory nor timing gives one
    away. The table is read at start and again on SIGHUP; a bad file keeps
    the table in use. Connection threads look tokens up while the main loop
    may swap the table, so a mutex guards it.

    Rules (chordd_http_auth_decide): an open ring (no --secret) asks for no
    credential, as its ZeroMQ side; on a secured ring each route says what
    it needs (chordd_http_access_t), a missing or unknown token is 401, a
    role too low 403.  */
#ifndef CHORDD_HTTP_AUTH_H
#define CHORDD_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "node.h"

#define CHORDD_HTTP_TOKEN_MIN     32       /* characters of a token, at least */
#define CHORDD_HTTP_TOKEN_MAX     256      /* characters of a token, at most */
#define CHORDD_HTTP_TOKENS_MAX    4096     /* tokens in a file: a bound on memory and on each lookup */

/*  What a route needs on a secured ring. Routes that change things
    (PUT, DELETE) are checked as CHORDD_HTTP_WRITE whatever they say.  */
typedef enum {
    CHORDD_HTTP_PUBLIC,     /* nothing: the dashboard's page and assets, which carry no ring data */
    CHORDD_HTTP_PROBE,      /* nothing from a loopback address, else read: /healthz, /readyz, /metrics */
    CHORDD_HTTP_READ,       /* a read token (or higher) */
    CHORDD_HTTP_WRITE,      /* a write token (or admin) */
    CHORDD_HTTP_ADMIN,      /* an admin token */
} chordd_http_access_t;

typedef struct chordd_http_auth chordd_http_auth_t;

/* A table of no tokens; secured says whether the ring has a secret. */
chordd_http_auth_t *chordd_http_auth_new (bool secured);

/* Frees it; sets *self_p to NULL; idempotent. */
void chordd_http_auth_destroy (chordd_http_auth_t **self_p);

/*  Reads a tokens file. Only when the whole file is good does its table
    replace the one in use; else error names file:line (never a token) and
    the old table stays. Returns 0 or -1.  */
int chordd_http_auth_load (chordd_http_auth_t *self, const char *path, char *error, size_t size);

/* Tokens of role (READ, WRITE or ADMIN) in the table now. */
size_t chordd_http_auth_count (chordd_http_auth_t *self, chord_role_t role);

/*  The role an Authorization header's value stands for: "Bearer TOKEN"
    (the scheme in any case) with a token of the table; else NONE (also
    for NULL, another scheme, or anything malformed).  */
chord_role_t chordd_http_auth_role (chordd_http_auth_t *self, const char *authorization);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; false for NULL. */
bool chordd_http_auth_loopback (const struct sockaddr *address);

/*  The decision, pure: 0 when the request may go on, else 401 (no
    credential, or one the table does not know: held is NONE) or 403 (held
    is too low), with why (a sentence for the JSON error) written. changes
    is true for a method other than GET and HEAD.  */
unsigned chordd_http_auth_decide (bool secured, chordd_http_access_t access, bool changes, bool loopback,
                                  chord_role_t held, char *why, size_t why_size);

/* True when self is a secured ring's table (the rules apply). */
bool chordd_http_auth_secured (const chordd_http_auth_t *self);

#endif
