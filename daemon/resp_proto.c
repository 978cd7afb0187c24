/*  chordd's Redis door, the protocol half (resp_proto.h): hiredis's reader
    builds each request through object functions of ours, so that an
    array's length is checked before anything is allocated for it.  */
#include "resp_proto.h"

#include <hiredis/read.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the reader builds: a string, an array of them, or anything else
   (integers, nils), which a request may not hold. */
typedef struct s_obj {
    int type;                               /* REDIS_REPLY_STRING, _ARRAY, or another */
    size_t len;                             /* a string's bytes; an array's items */
    char *str;                              /* a string: len bytes and a NUL */
    struct s_obj **items;                   /* an array: len items, NULL until read */
} s_obj_t;

struct chordd_resp_parser {
    redisReader *reader;                    /* hiredis's, with the functions below */
    bool too_many;                          /* an array over CHORDD_RESP_ARGS_MAX was refused */
    char **argv;                            /* the request handed to the handler */
    size_t *argvlen;
};

/* ---------------------------------------------------------------------- */
/* Answers. */

void chordd_resp_out_bytes (chordd_resp_out_t *out, const void *data, size_t len)
{
    if (out->failed || len == 0)
        return;
    if (len > CHORDD_RESP_OUT_MAX - out->len) {
        out->failed = true;
        return;
    }
    if (out->len + len > out->cap) {
        size_t cap = out->cap ? out->cap : 4096;
        while (cap < out->len + len)
            cap *= 2;
        uint8_t *data_new = realloc (out->data, cap);
        if (!data_new) {
            out->failed = true;
            return;
        }
        out->data = data_new;
        out->cap = cap;
    }
    memcpy (out->data + out->len, data, len);
    out->len += len;
}

static void s_out_line (chordd_resp_out_t *out, char kind, const char *text)
{
    chordd_resp_out_bytes (out, &kind, 1);
    chordd_resp_out_bytes (out, text, strlen (text));
    chordd_resp_out_bytes (out, "\r\n", 2);
}

void chordd_resp_out_status (chordd_resp_out_t *out, const char *text)
{
    s_out_line (out, '+', text);
}

void chordd_resp_out_error (chordd_resp_out_t *out, const char *text)
{
    char line[512];
    snprintf (line, sizeof line, "%s", text);
    for (char *c = line; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    s_out_line (out, '-', line);
}

void chordd_resp_out_integer (chordd_resp_out_t *out, long long value)
{
    char text[32];
    snprintf (text, sizeof text, "%lld", value);
    s_out_line (out, ':', text);
}

void chordd_resp_out_bulk (chordd_resp_out_t *out, const void *data, size_t len)
{
    char head[32];
    snprintf (head, sizeof head, "%zu", len);
    s_out_line (out, '$', head);
    chordd_resp_out_bytes (out, data, len);
    chordd_resp_out_bytes (out, "\r\n", 2);
}

void chordd_resp_out_nil (chordd_resp_out_t *out)
{
    chordd_resp_out_bytes (out, "$-1\r\n", 5);
}

void chordd_resp_out_array (chordd_resp_out_t *out, size_t count)
{
    char head[32];
    snprintf (head, sizeof head, "%zu", count);
    s_out_line (out, '*', head);
}

void chordd_resp_out_reset (chordd_resp_out_t *out)
{
    out->len = 0;
}

void chordd_resp_out_free (chordd_resp_out_t *out)
{
    free (out->data);
    memset (out, 0, sizeof *out);
}

/* ---------------------------------------------------------------------- */
/* The reader's objects. */

static void s_obj_free (void *object)
{
    s_obj_t *obj = object;
    if (!obj)
        return;
    if (obj->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < obj->len; i++)
            s_obj_free (obj->items[i]);
    free (obj->items);
    free (obj->str);
    free (obj);
}

/* A new object of type, set into its parent array's slot. */
static s_obj_t *s_obj_new (const redisReadTask *task, int type)
{
    s_obj_t *obj = calloc (1, sizeof *obj);
    if (!obj)
        return NULL;
    obj->type = type;
    if (task->parent) {
        s_obj_t *parent = task->parent->obj;
        if (task->idx >= 0 && (size_t) task->idx < parent->len)
            parent->items[task->idx] = obj;
    }
    return obj;
}

static void *s_create_string (const redisReadTask *task, char *str, size_t len)
{
    char *copy = malloc (len + 1);
    s_obj_t *obj = copy ? s_obj_new (task, task->type == REDIS_REPLY_STRING ? REDIS_REPLY_STRING : task->type)
                        : NULL;
    if (!obj) {
        free (copy);
        return NULL;
    }
    memcpy (copy, str, len);
    copy[len] = '\0';
    obj->str = copy;
    obj->len = len;
    return obj;
}

static void *s_create_array (const redisReadTask *task, int elements)
{
    //  Refused before any allocation: NULL is the reader's out-of-memory,
    //  which the feed loop reports as a protocol error.
    chordd_resp_parser_t *self = task->privdata;
    if (elements < 0 || elements > CHORDD_RESP_ARGS_MAX) {
        if (self)
            self->too_many = true;
        return NULL;
    }
    s_obj_t *obj = s_obj_new (task, REDIS_REPLY_ARRAY);
    if (!obj)
        return NULL;
    obj->items = calloc (elements ? (size_t) elements : 1, sizeof *obj->items);
    if (!obj->items) {
        if (task->parent)
            ((s_obj_t *) task->parent->obj)->items[task->idx] = NULL;
        free (obj);
        return NULL;
    }
    obj->len = (size_t) elements;
    return obj;
}

static void *s_create_integer (const redisReadTask *task, long long value)
{
    (void) value;
    return s_obj_new (task, REDIS_REPLY_INTEGER);
}

static void *s_create_nil (const redisReadTask *task)
{
    return s_obj_new (task, REDIS_REPLY_NIL);
}

static redisReplyObjectFunctions s_functions = {
    s_create_string, s_create_array, s_create_integer, s_create_nil, s_obj_free,
};

/* ---------------------------------------------------------------------- */
/* The parser. */

chordd_resp_parser_t *chordd_resp_parser_new (void)
{
    chordd_resp_parser_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->reader = redisReaderCreateWithFunctions (&s_functions);
    self->argv = malloc (CHORDD_RESP_ARGS_MAX * sizeof *self->argv);
    self->argvlen = malloc (CHORDD_RESP_ARGS_MAX * sizeof *self->argvlen);
    if (!self->reader || !self->argv || !self->argvlen) {
        chordd_resp_parser_destroy (&self);
        return NULL;
    }
    //  The object functions see the parser through each task's privdata.
    self->reader->privdata = self;
    return self;
}

void chordd_resp_parser_destroy (chordd_resp_parser_t **self_p)
{
    chordd_resp_parser_t *self = *self_p;
    if (!self)
        return;
    if (self->reader)
        redisReaderFree (self->reader);
    free (self->argv);
    free (self->argvlen);
    free (self);
    *self_p = NULL;
}

static int s_protocol_error (chordd_resp_out_t *out, const char *what)
{
    char text[256];
    snprintf (text, sizeof text, "ERR Protocol error: %s", what);
    chordd_resp_out_error (out, text);
    return -1;
}

/*  Hands one request to handler: an array of 1.. strings. Returns what
    the handler asked (chordd_resp_next_t), or -1 (protocol error written).  */
static int s_request (chordd_resp_parser_t *self, s_obj_t *request, chordd_resp_handler_fn *handler, void *ctx,
                      chordd_resp_out_t *out)
{
    if (request->type != REDIS_REPLY_ARRAY)
        return s_protocol_error (out, "expected '*', a request is an array of bulk strings");
    if (request->len == 0)
        return 0;      /* as Redis: an empty array is no request */
    for (size_t i = 0; i < request->len; i++) {
        const s_obj_t *item = request->items[i];
        if (!item || item->type != REDIS_REPLY_STRING)
            return s_protocol_error (out, "expected '$', a request's items are bulk strings");
        self->argv[i] = item->str;
        self->argvlen[i] = item->len;
    }
    return (int) handler (ctx, request->len, self->argv, self->argvlen, out);
}

int chordd_resp_parser_feed (chordd_resp_parser_t *self, const uint8_t *data, size_t len,
                             chordd_resp_handler_fn *handler, void *ctx, chordd_resp_out_t *out)
{
    redisReader *reader = self->reader;
    if (len > 0 && redisReaderFeed (reader, (const char *) data, len) != REDIS_OK)
        return s_protocol_error (out, "out of memory");
    while (true) {
        void *object = NULL;
        if (redisReaderGetReply (reader, &object) != REDIS_OK)
            return s_protocol_error (out, self->too_many ? "invalid multibulk length" : reader->errstr);
        if (!object)
            break;
        int rc = s_request (self, object, handler, ctx, out);
        s_obj_free (object);
        if (rc != 0)
            return rc;
        if (out->failed)
            return -1;
    }
    //  What is left is part of one request: bounded, or a peer could make
    //  us buffer without end by announcing a huge bulk string.
    if (reader->len - reader->pos > CHORDD_RESP_PENDING_MAX)
        return s_protocol_error (out, "request over 8 MiB");
    return 0;
}
