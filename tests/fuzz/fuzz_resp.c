/*  A libFuzzer target for chordd's Redis door: the request path from
    bytes to answers (daemon/resp_proto.c: hiredis's reader with our
    bounds; daemon/resp_cmd.c: the commands), with a fake ring in memory.

    Input: one byte of settings (bit 0: a secured ring; bits 1-2: the role
    the token "good" stands for; bits 3-7: how many bytes each feed gets,
    1 to 32 times 97), then the bytes of the connection. Checked: nothing
    crashes, leaks or reads out of bounds; the answers are themselves
    valid RESP (read back with hiredis's own reader), one per request
    handled, and a protocol error is the last answer.

    Replay under gcc (valgrind): build/replay/fuzz_resp FILE...  */

#include "fuzz_input.h"
#include "resp_cmd.h"

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
} s_ring_t;

/* The slot of key, or -1; a key starting with 'E' makes the ring fail. */
static int s_find (s_ring_t *ring, const uint8_t *key, size_t key_len)
{
    for (int i = 0; i < S_KEYS; i++)
        if (ring->key[i] && ring->key_len[i] == key_len && memcmp (ring->key[i], key, key_len) == 0)
            return i;
    return -1;
}

static int s_get (void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *value_len, char *error,
                  size_t error_size)
{
    if (key[0] == 'E') {
        snprintf (error, error_size, "TRYAGAIN the fake ring fails keys starting with E");
        return -1;
    }
    s_ring_t *ring = ctx;
    int i = s_find (ring, key, key_len);
    if (i < 0)
        return 0;
    *value = malloc (ring->value_len[i] ? ring->value_len[i] : 1);
    if (!*value)
        abort ();
    memcpy (*value, ring->value[i], ring->value_len[i]);
    *value_len = ring->value_len[i];
    return 1;
}

static void s_drop (s_ring_t *ring, int i)
{
    free (ring->key[i]);
    free (ring->value[i]);
    ring->key[i] = ring->value[i] = NULL;
}

static int s_put (void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  char *error, size_t error_size)
{
    if (key[0] == 'E' || key_len > CHORD_KEY_MAX || value_len > CHORD_VALUE_MAX) {
        snprintf (error, error_size, "ERR the fake ring refuses");
        return -1;
    }
    s_ring_t *ring = ctx;
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

static int s_del (void *ctx, const uint8_t *key, size_t key_len, char *error, size_t error_size)
{
    (void) error;
    (void) error_size;
    s_ring_t *ring = ctx;
    int i = s_find (ring, key, key_len);
    if (i >= 0)
        s_drop (ring, i);
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
static bool s_handler (void *ctx, size_t argc, char **argv, const size_t *argvlen, chordd_resp_out_t *out)
{
    chordd_resp_session_t *session = ctx;
    ((s_ring_t *) session->ring->ctx)->handled++;
    if (argc == 0 || argc > CHORDD_RESP_ARGS_MAX || argv[argc - 1][argvlen[argc - 1]] != '\0')
        abort ();
    return chordd_resp_dispatch (ctx, argc, argv, argvlen, out);
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
    s_ring_t fake = {.good = (chord_role_t) ((settings >> 1) & 3)};
    chordd_resp_ring_t ring = {&fake, s_get, s_put, s_del, s_info, s_auth};
    chordd_resp_session_t session = {&ring, settings & 1, CHORD_ROLE_NONE};
    size_t step = 97 * (size_t) (1 + (settings >> 3));
    size_t len = 0;
    const uint8_t *rest = fuzz_rest (&in, &len);
    chordd_resp_parser_t *parser = chordd_resp_parser_new ();
    if (!parser)
        abort ();
    chordd_resp_out_t out = {0};
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += step) {
        //  An exact-size copy of each feed, so ASan sees a read past it.
        size_t n = len - at < step ? len - at : step;
        uint8_t *chunk = malloc (n);
        if (!chunk)
            abort ();
        memcpy (chunk, rest + at, n);
        rc = chordd_resp_parser_feed (parser, chunk, n, s_handler, &session, &out);
        free (chunk);
    }
    if (!out.failed) {
        bool last_is_error = false;
        size_t replies = s_count_replies (&out, &last_is_error);
        //  A handled request answers exactly once; a protocol error adds one.
        if (replies != fake.handled + (rc < 0 ? 1 : 0) || (rc < 0 && !last_is_error))
            abort ();
    }
    chordd_resp_out_free (&out);
    chordd_resp_parser_destroy (&parser);
    for (int i = 0; i < S_KEYS; i++)
        s_drop (&fake, i);
    return 0;
}
