/*  chordd's Redis door, the commands: PING, ECHO, GET, SET, DEL, EXISTS,
    MGET, MSET, INFO, COMMAND, CONFIG GET, SELECT, AUTH, QUIT, answered as
    Redis answers them (errors included), each data command through a ring
    given as functions, so the server (resp.c) plugs in the real ring and
    the fuzz target a fake one.

    Rules: on a secured ring a connection must AUTH with a token of the
    table (--http-tokens) before anything but PING, AUTH, QUIT and ECHO;
    the token's role then says what it may run (read: GET, EXISTS, MGET,
    INFO...; write: also SET, DEL, MSET). An open ring asks for nothing.  */
#ifndef CHORDD_RESP_CMD_H
#define CHORDD_RESP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "resp_proto.h"

#define CHORDD_RESP_ERROR_MAX 256       /* bytes of an error line from the ring */

/*  The ring as the commands see it. Each function returns as said, with
    error (a Redis error line without its '-', e.g. "TRYAGAIN no quorum")
    written on -1.  */
typedef struct {
    void *ctx;                          /* passed to each function */
    /* 1 with *value (malloc'd, the caller frees) and *value_len; 0 when absent; -1 */
    int (*get) (void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *value_len,
                char *error, size_t error_size);
    /* 0 once acknowledged at the write quorum; -1 */
    int (*put) (void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                char *error, size_t error_size);
    /* 0 once deleted; -1 */
    int (*del) (void *ctx, const uint8_t *key, size_t key_len, char *error, size_t error_size);
    /* The text of INFO for section ("" for the default sections), appended to text. */
    void (*info) (void *ctx, const char *section, chordd_resp_out_t *text);
    /* The role a token stands for (CHORD_ROLE_NONE: unknown). */
    chord_role_t (*auth) (void *ctx, const char *token, size_t token_len);
} chordd_resp_ring_t;

/* One connection's state. */
typedef struct {
    const chordd_resp_ring_t *ring;     /* borrowed */
    bool secured;                       /* the ring has a secret: AUTH first */
    chord_role_t role;                  /* what AUTH gave (NONE before) */
} chordd_resp_session_t;

/* Runs one request (chordd_resp_handler_fn, ctx a chordd_resp_session_t). */
bool chordd_resp_dispatch (void *session, size_t argc, char **argv, const size_t *argvlen,
                           chordd_resp_out_t *out);

#endif
