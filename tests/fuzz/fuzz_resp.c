/*  A libFuzzer target for chordd's Redis door: the request path from
    bytes to answers (daemon/resp_proto.c: hiredis's reader with our
    bounds; daemon/resp_cmd.c: the commands), with a fake ring in memory.

    The fake ring answers each key of a data command at once, last key
    first, through daemon/resp_queue.c, which renders the replies in
    command order; keys starting with 'W' it never answers, and the
    queue's expiry fails them (after 3 more requests, or at the end).

    Input: one byte of settings (bit 0: a secured ring; bits 1-2: the role
    the token "good" stands for; bits 3-7: how many bytes each feed gets,
    1 to 32 times 97), then the bytes of the connection. Checked: nothing
    crashes, leaks or reads out of bounds; the answers are themselves
    valid RESP (read back with hiredis's own reader), one per request
    handled, and a protocol error is the last answer.

    Replay under gcc (valgrind): build/replay/fuzz_resp FILE...  */

#include "fuzz_input.h"
#include "resp_cmd.h"
#include "resp_queue.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_KEYS 8            /* keys the fake ring holds */

typedef struct {
    uint8_t *key[S_KEYS];
    size_t key_len[S_KEYS];
    uint8_t *value[S_KEYS];
    size_t value_len[S_KEYS];
    chord_role_t good;      /* what the token "good" stands for */
    size_t handled;         /* requests dispatched */
    chordd_resp_queue_t *queue; /* the connection's commands waiting */
} s_ring_t;

/* The slot of key, or -1; a key starting with 'E' makes the ring fail. */
static int s_find (s_ring_t *ring, const uint8_t *key, size_t key_len)
{
    for (int i = 0; i < S_KEYS; i++)
        if (ring->key[i] && ring->key_len[i] == key_len && memcmp (ring->key[i], key, key_len) == 0)
            return i;
    return -1;
}

/* The value of key: 1 (value and value_len set, borrowed), 0 absent, -1 a failure. */
static int s_get (s_ring_t *ring, const uint8_t *key, size_t key_len, const uint8_t **value, size_t *value_len)
{
    if (key[0] == 'E')
        return -1;
    int i = s_find (ring, key, key_len);
    if (i < 0)
        return 0;
    *value = ring->value[i];
    *value_len = ring->value_len[i];
    return 1;
}

static void s_drop (s_ring_t *ring, int i)
{
    free (ring->key[i]);
    free (ring->value[i]);
    ring->key[i] = ring->value[i] = NULL;
}

static int s_put (s_ring_t *ring, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    if (key[0] == 'E' || key_len > CHORD_KEY_MAX || value_len > CHORD_VALUE_MAX)
        return -1;
    int i = s_find (ring, key, key_len);
    for (int k = 0; i < 0 && k < S_KEYS; k++)
        if (!ring->key[k])
            i = k;
    if (i < 0)
        i = (int) (key_len % S_KEYS);
    s_drop (ring, i);
    ring->key[i] = malloc (key_len);
    ring->value[i] = malloc (value_len ? value_len : 1);
    if (!ring->key[i] || !ring->value[i])
        abort ();
    memcpy (ring->key[i], key, key_len);
    memcpy (ring->value[i], value, value_len);
    ring->key_len[i] = key_len;
    ring->value_len[i] = value_len;
    return 0;
}

/* One key of a command, answered into the queue as the ring would. */
static void s_answer (s_ring_t *ring, chordd_resp_op_t op, uint64_t request_id, const uint8_t *key, size_t key_len,
                      const uint8_t *value, size_t value_len)
{
    static const char failed[] = "the fake ring fails keys starting with E";
    if (key[0] == 'W')
        return;     /* never answered: the queue's expiry answers it */
    const uint8_t *found = NULL;
    size_t found_len = 0;
    int rc;
    if (op == CHORDD_RESP_OP_SET || op == CHORDD_RESP_OP_MSET)
        rc = s_put (ring, key, key_len, value, value_len) == 0 ? 0 : -1;
    else if (op == CHORDD_RESP_OP_DEL && key[0] != 'E') {
        int i = s_find (ring, key, key_len);
        if (i >= 0)
            s_drop (ring, i);
        rc = i >= 0 ? 1 : 0;
    } else
        rc = s_get (ring, key, key_len, &found, &found_len);
    chord_status_t status = rc < 0 ? CHORD_STATUS_TIMEOUT : rc == 0 && op != CHORDD_RESP_OP_SET &&
                                                                     op != CHORDD_RESP_OP_MSET
                                                                ? CHORD_STATUS_NOT_FOUND
                                                                : CHORD_STATUS_OK;
    if (chordd_resp_queue_answer (ring->queue, request_id, status, found != NULL, found, found_len,
                                  rc < 0 ? failed : NULL, rc < 0 ? sizeof failed - 1 : 0) != 0)
        abort ();   /* each part is answered once */
}

/* Starts a command and answers its keys at once, last first. */
static int s_start (void *ctx, void *conn, chordd_resp_op_t op, size_t argc, char **argv, const size_t *argvlen,
                    char *error, size_t error_size)
{
    (void) conn;
    (void) error;
    (void) error_size;
    s_ring_t *ring = ctx;
    size_t step = op == CHORDD_RESP_OP_SET || op == CHORDD_RESP_OP_MSET ? 2 : 1;
    size_t parts = (argc - 1) / step;
    uint64_t first_id = chordd_resp_queue_push (ring->queue, op, parts, ring->handled);
    if (first_id == 0)
        abort ();
    for (size_t i = parts; i-- > 0;) {
        size_t at = 1 + i * step;
        s_answer (ring, op, first_id + i, (const uint8_t *) argv[at], argvlen[at],
                  step == 2 ? (const uint8_t *) argv[at + 1] : NULL, step == 2 ? argvlen[at + 1] : 0);
    }
    return 0;
}

static void s_info (void *ctx, const char *section, chordd_resp_out_t *text)
{
    (void) ctx;
    chordd_resp_out_bytes (text, "# Chord\r\nsection:", 17);
    chordd_resp_out_bytes (text, section, strlen (section));
    chordd_resp_out_bytes (text, "\r\n", 2);
}

static chord_role_t s_auth (void *ctx, const char *token, size_t token_len)
{
    s_ring_t *ring = ctx;
    return token_len == 4 && memcmp (token, "good", 4) == 0 ? ring->good : CHORD_ROLE_NONE;
}

/* Counts requests on their way to the dispatcher. */
static chordd_resp_next_t s_handler (void *ctx, size_t argc, char **argv, const size_t *argvlen, chordd_resp_out_t *out)
{
    chordd_resp_session_t *session = ctx;
    s_ring_t *ring = session->ring->ctx;
    ring->handled++;
    if (argc == 0 || argc > CHORDD_RESP_ARGS_MAX || argv[argc - 1][argvlen[argc - 1]] != '\0')
        abort ();
    bool go_on = chordd_resp_dispatch (ctx, argc, argv, argvlen, chordd_resp_queue_tail (ring->queue, out));
    //  Pause now and then, as the server does past its bounds: the rest waits in the parser.
    return !go_on ? CHORDD_RESP_CLOSE : ring->handled % 7 == 0 ? CHORDD_RESP_PAUSE : CHORDD_RESP_GO_ON;
}

/* How many RESP replies out holds; aborts on anything not RESP. */
static size_t s_count_replies (const chordd_resp_out_t *out, bool *last_is_error)
{
    redisReader *reader = redisReaderCreate ();
    if (!reader || (out->len && redisReaderFeed (reader, (const char *) out->data, out->len) != REDIS_OK))
        abort ();
    size_t count = 0;
    *last_is_error = false;
    while (true) {
        void *reply = NULL;
        if (redisReaderGetReply (reader, &reply) != REDIS_OK)
            abort ();
        if (!reply)
            break;
        *last_is_error = ((redisReply *) reply)->type == REDIS_REPLY_ERROR &&
                         strncmp (((redisReply *) reply)->str, "ERR Protocol error", 18) == 0;
        freeReplyObject (reply);
        count++;
    }
    if (reader->len != reader->pos)     /* a partial answer */
        abort ();
    redisReaderFree (reader);
    return count;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_bytes_t in;
    fuzz_bytes_init (&in, data, size);
    uint8_t settings = fuzz_u8 (&in);
    s_ring_t fake = {.good = (chord_role_t) ((settings >> 1) & 3), .queue = chordd_resp_queue_new ()};
    chordd_resp_ring_t ring = {&fake, s_start, s_info, s_auth};
    chordd_resp_session_t session = {&ring, settings & 1, CHORD_ROLE_NONE, NULL};
    size_t step = 97 * (size_t) (1 + (settings >> 3));
    size_t len = 0;
    const uint8_t *rest = fuzz_rest (&in, &len);
    chordd_resp_parser_t *parser = chordd_resp_parser_new ();
    if (!parser || !fake.queue)
        abort ();
    chordd_resp_out_t out = {0}, errors = {0};
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += step) {
        //  An exact-size copy of each feed, so ASan sees a read past it.
        size_t n = len - at < step ? len - at : step;
        uint8_t *chunk = malloc (n);
        if (!chunk)
            abort ();
        memcpy (chunk, rest + at, n);
        //  As the server: a protocol error goes after the replies due.
        rc = chordd_resp_parser_feed (parser, chunk, n, s_handler, &session, &errors);
        while (rc == 2)
            rc = chordd_resp_parser_feed (parser, NULL, 0, s_handler, &session, &errors);
        chordd_resp_out_t *tail = chordd_resp_queue_tail (fake.queue, &out);
        chordd_resp_out_bytes (tail, errors.data, errors.len);
        chordd_resp_out_reset (&errors);
        chordd_resp_queue_expire (fake.queue, fake.handled, 3);
        chordd_resp_queue_drain (fake.queue, &out);
        free (chunk);
    }
    chordd_resp_queue_expire (fake.queue, fake.handled, 0);
    chordd_resp_queue_drain (fake.queue, &out);
    if (chordd_resp_queue_waiting (fake.queue) != 0)
        abort ();   /* every command was answered */
    if (!out.failed) {
        bool last_is_error = false;
        size_t replies = s_count_replies (&out, &last_is_error);
        //  A handled request answers exactly once; a protocol error adds one.
        if (replies != fake.handled + (rc < 0 ? 1 : 0) || (rc < 0 && !last_is_error))
            abort ();
    }
    chordd_resp_out_free (&out);
    chordd_resp_out_free (&errors);
    chordd_resp_queue_destroy (&fake.queue);
    chordd_resp_parser_destroy (&parser);
    for (int i = 0; i < S_KEYS; i++)
        s_drop (&fake, i);
    return 0;
}
