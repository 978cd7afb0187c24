/*  chordd's Redis door (RESP2), the protocol half: requests read with
    hiredis's reader into arrays of byte strings, replies written into a
    growing buffer, and the loop that turns the bytes of one connection
    into answers, in order (several requests per read: pipelining).

    Everything here is pure (no sockets, no ring): the server (resp.c)
    and the fuzz target (tests/fuzz/fuzz_resp.c) feed it bytes.

    Bounds, since every byte comes from the network: a request has at most
    CHORDD_RESP_ARGS_MAX arguments; bytes read but not yet parsed (one
    request in flight, bulk strings included) are at most
    CHORDD_RESP_PENDING_MAX; a connection's unsent answers at most
    CHORDD_RESP_OUT_MAX. Past any of them, or on bytes that are not RESP,
    the connection gets "-ERR Protocol error: ..." and is closed.  */
#ifndef CHORDD_RESP_PROTO_H
#define CHORDD_RESP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHORDD_RESP_ARGS_MAX    4096                /* arguments of one request */
#define CHORDD_RESP_PENDING_MAX (8 * 1024 * 1024)   /* bytes of requests read, not yet parsed */
#define CHORDD_RESP_OUT_MAX     (64 * 1024 * 1024)  /* bytes of answers not yet sent */

/* Answers being written; failed once memory or CHORDD_RESP_OUT_MAX ran out. */
typedef struct {
    uint8_t *data;                          /* malloc'd, cap bytes */
    size_t len;                             /* bytes written */
    size_t cap;                             /* bytes allocated */
    bool failed;                            /* a write did not fit: the connection must close */
} chordd_resp_out_t;

void chordd_resp_out_bytes (chordd_resp_out_t *out, const void *data, size_t len);
/* "+text\r\n"; text must hold no CR or LF. */
void chordd_resp_out_status (chordd_resp_out_t *out, const char *text);
/* "-text\r\n" with CR and LF in text turned to spaces. */
void chordd_resp_out_error (chordd_resp_out_t *out, const char *text);
void chordd_resp_out_integer (chordd_resp_out_t *out, long long value);
void chordd_resp_out_bulk (chordd_resp_out_t *out, const void *data, size_t len);
void chordd_resp_out_nil (chordd_resp_out_t *out);
void chordd_resp_out_array (chordd_resp_out_t *out, size_t count);
/* Forgets the bytes written (after they were sent); keeps the memory. */
void chordd_resp_out_reset (chordd_resp_out_t *out);
void chordd_resp_out_free (chordd_resp_out_t *out);

/* What a handler asks of the parser after a request. */
typedef enum {
    CHORDD_RESP_GO_ON = 0,              /* take the next request */
    CHORDD_RESP_CLOSE = 1,              /* close the connection after the answers so far (QUIT) */
    CHORDD_RESP_PAUSE = 2,              /* take no more now: the rest stays buffered until the next feed */
} chordd_resp_next_t;

/*  Called for each whole request: argc arguments, argv[i] of argvlen[i]
    bytes (each NUL-terminated too, for convenience; they may hold NULs).  */
typedef chordd_resp_next_t (chordd_resp_handler_fn) (void *ctx, size_t argc, char **argv, const size_t *argvlen,
                                                     chordd_resp_out_t *out);

typedef struct chordd_resp_parser chordd_resp_parser_t;

/* A parser for one connection; NULL when memory runs out. */
chordd_resp_parser_t *chordd_resp_parser_new (void);
void chordd_resp_parser_destroy (chordd_resp_parser_t **self_p);

/*  Feeds len bytes read from the connection (len 0: none, to take the
    requests left buffered by a pause) and hands each whole request to
    handler, appending answers to out. Returns 0 to go on reading, 2 when
    the handler paused (feed again, with or without bytes, to go on), 1
    when the handler asked to close, -1 after a protocol error (its
    "-ERR Protocol error: ..." is in out): either way, send out and close.  */
int chordd_resp_parser_feed (chordd_resp_parser_t *self, const uint8_t *data, size_t len,
                             chordd_resp_handler_fn *handler, void *ctx, chordd_resp_out_t *out);

#endif
