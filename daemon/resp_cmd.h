/*  chordd's Redis door, the commands: PING, ECHO, GET, SET, DEL, EXISTS,
    MGET, MSET, INFO, COMMAND, CONFIG GET, SELECT, AUTH, QUIT, answered as
    Redis answers them (errors included). Each data command is checked
    here and started on a ring given as functions, so the server (resp.c)
    plugs in the real ring and the fuzz target a fake one; its answer is
    rendered by resp_queue.c once the ring has answered.

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

/* The data commands, each answered once the ring has answered for every key. */
typedef enum {
    CHORDD_RESP_OP_GET = 0,             /* key -> bulk or nil */
    CHORDD_RESP_OP_SET = 1,             /* key value -> +OK */
    CHORDD_RESP_OP_DEL = 2,             /* key... -> how many existed */
    CHORDD_RESP_OP_EXISTS = 3,          /* key... -> how many exist */
    CHORDD_RESP_OP_MGET = 4,            /* key... -> array of bulk or nil */
    CHORDD_RESP_OP_MSET = 5,            /* (key value)... -> +OK */
} chordd_resp_op_t;

/*  The ring as the commands see it. A data command is started, not
    waited for: the server answers it later, in command order, and the
    commands write nothing for it.  */
typedef struct {
    void *ctx;                          /* passed to each function */
    /*  Starts op over argv[1..argc-1] (keys, with SET and MSET each followed
        by its value; all checked against CHORD_KEY_MAX and CHORD_VALUE_MAX,
        borrowed for the call) for the connection conn. 0, or -1 with error
        written (nothing started).  */
    int (*start) (void *ctx, void *conn, chordd_resp_op_t op, size_t argc, char **argv, const size_t *argvlen,
                  char *error, size_t error_size);
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
    void *conn;                         /* the connection, passed to ring->start */
} chordd_resp_session_t;

/*  Runs one request (chordd_resp_handler_fn, ctx a chordd_resp_session_t):
    answers it in out, or starts it on the ring and writes nothing.  */
bool chordd_resp_dispatch (void *session, size_t argc, char **argv, const size_t *argvlen,
                           chordd_resp_out_t *out);

#endif
