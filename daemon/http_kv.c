/*  chordd's HTTP side for keys: GET, PUT, DELETE /v1/kv/{key} and GET
    /v1/lookup/{key}, with the key percent-encoded in the path (any bytes).

    Each handler is a client of this very peer, as chordctl is: it sends
    CLIENT_GET/PUT/DEL/LOOKUP to server->endpoint (and CLIENT_INFO to the
    key's owner) and waits a bounded time in its connection's own thread.
    Clients of this peer are kept in a small pool, so a request costs
    neither a ZeroMQ context nor a CURVE handshake.

    A PUT body arrives in chunks over several calls; it is kept in a
    request state (at most CHORD_VALUE_MAX bytes, refused with 413 beyond,
    from the Content-Length before a byte is read) that http.c frees when
    the request ends, answered or aborted.  */
#include "http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http_path.h"
#include "replica_set.h"

#define S_CALL_MS       5000        /* how long a handler waits for the ring */
#define S_REQUEST_TMO_MS 4500       /* the tmo a request carries: the peer gives up first */
#define S_KV_PREFIX     "/v1/kv/"
#define S_LOOKUP_PREFIX "/v1/lookup/"
#define S_KV_ALLOW      "GET, HEAD, PUT, DELETE"

/* ---------------------------------------------------------------------- */
/* Replies. */

/* {"error": "<what>: <text>"}, text being a peer's (untrusted) words. */
static chordd_http_result_t s_error_text (struct MHD_Connection *connection, unsigned status, const char *what,
                                          const char *text, size_t text_len)
{
    char error[CHORD_TEXT_MAX + 64];
    if (text && text_len > 0)
        snprintf (error, sizeof error, "%s: %.*s", what, (int) text_len, text);
    else
        snprintf (error, sizeof error, "%s", what);
    json_t *string = json_string (error);
    if (!string)       /* not UTF-8: the peer's words are left out */
        string = json_string (what);
    return chordd_http_reply_json (connection, status, json_pack ("{s:o}", "error", string));
}

/* The HTTP answer to a ring status other than OK. */
static chordd_http_result_t s_status_error (struct MHD_Connection *connection, const chord_msg_t *reply)
{
    const char *text = (reply->fields & CHORD_F_TEXT) ? reply->text : NULL;
    size_t text_len = text ? reply->text_len : 0;
    switch (reply->status) {
    case CHORD_STATUS_NOT_FOUND:
        return chordd_http_reply_error (connection, MHD_HTTP_NOT_FOUND, "not found");
    case CHORD_STATUS_NOT_READY:
        return s_error_text (connection, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready", text, text_len);
    case CHORD_STATUS_NO_QUORUM:
        return s_error_text (connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "no quorum (the write may have landed on some copies)", text, text_len);
    case CHORD_STATUS_TIMEOUT:
        return s_error_text (connection, MHD_HTTP_GATEWAY_TIMEOUT, "the ring timed out", text, text_len);
    case CHORD_STATUS_TOO_LARGE:
        return s_error_text (connection, MHD_HTTP_CONTENT_TOO_LARGE, "too large", text, text_len);
    case CHORD_STATUS_BAD_REQUEST:
        return s_error_text (connection, MHD_HTTP_BAD_REQUEST, "bad request", text, text_len);
    case CHORD_STATUS_FORBIDDEN:
        return s_error_text (connection, MHD_HTTP_FORBIDDEN, "forbidden", text, text_len);
    default:
        return s_error_text (connection, MHD_HTTP_BAD_GATEWAY, chord_status_name (reply->status), text, text_len);
    }
}

/* ---------------------------------------------------------------------- */
/* Calls to the ring. */

/* A client request of type for key (borrowed), with the request's deadline. */
static void s_key_request (chord_msg_t *msg, chord_msg_type_t type, const uint8_t *key, size_t key_len)
{
    chord_msg_init (msg, type, 0);
    msg->key = key;
    msg->key_len = key_len;
    msg->timeout_ms = S_REQUEST_TMO_MS;
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
}

/*  Ends a call s_call answered, once the caller is done with its reply:
    the reply's borrowed bytes (key, value) live in the client's last
    frame, which the next call on that client frees, so a pooled client
    goes back to the pool only now, never while another thread could
    take it and receive.  */
static void s_call_end (chordd_http_t *server, const char *endpoint, chord_client_t *client)
{
    if (strcmp (endpoint, server->endpoint) == 0)
        chordd_client_pool_give (server->pool, client, true);
    else
        chord_client_destroy (&client);
}

/*  Sends request to the peer at endpoint (this peer's pooled clients when
    it is ours) and waits for a reply of type expected. Returns 0 with
    *reply filled and *held the client it borrows from (the caller clears
    the reply, then passes held to s_call_end), or -1 after queueing the
    HTTP error into *rc.  */
static int s_call (const chordd_http_request_t *request, const char *endpoint, chord_msg_t *msg,
                   chord_msg_t *reply, chord_msg_type_t expected, chordd_http_result_t *rc,
                   chord_client_t **held)
{
    chordd_http_t *server = request->server;
    struct MHD_Connection *connection = request->connection;
    bool ours = strcmp (endpoint, server->endpoint) == 0;
    chord_client_t *client = ours ? chordd_client_pool_take (server->pool) : chordd_http_connect (server, endpoint);
    if (!client) {
        *rc = chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "cannot connect to the ring");
        return -1;
    }
    int called = chord_client_call (client, msg, reply, S_CALL_MS);
    int saved = errno;
    //  Only INFO_REPLY comes without a status.
    bool fits = called == 0 && reply->type == expected &&
                (expected == CHORD_MSG_INFO_REPLY || (reply->fields & CHORD_F_STATUS));
    if (fits) {
        *held = client;
        return 0;
    }
    if (ours)
        chordd_client_pool_give (server->pool, client, false);
    else
        chord_client_destroy (&client);
    if (called == 0)
        chord_msg_clear (reply);
    if (called == 0)
        *rc = chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "unexpected reply from the ring");
    else if (saved == EACCES)
        *rc = chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "the peer refused the connection");
    else if (saved == EINVAL)
        *rc = chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode the request");
    else
        *rc = chordd_http_reply_error (connection, MHD_HTTP_GATEWAY_TIMEOUT, "no answer from the ring within 5 s");
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Keys and readiness. */

/*  Decodes the key after prefix in the URL into key[CHORD_KEY_MAX].
    Returns 0 with *key_len set, or -1 after queueing the error into *rc:
    400 for an empty key or a bad escape, 414 for a key over the limit.  */
static int s_key (const chordd_http_request_t *request, const char *prefix, uint8_t *key, size_t *key_len,
                  chordd_http_result_t *rc)
{
    const char *text = request->url + strlen (prefix);
    int decoded = chordd_http_path_decode (text, strlen (text), key, CHORD_KEY_MAX, key_len);
    if (decoded == -1)
        *rc = chordd_http_reply_error (request->connection, MHD_HTTP_BAD_REQUEST,
                                       "bad key: '%' must be followed by two hex digits");
    else if (decoded == -2)
        *rc = chordd_http_reply_error (request->connection, MHD_HTTP_URI_TOO_LONG,
                                       "the key is over 4096 bytes");
    else if (*key_len == 0)
        *rc = chordd_http_reply_error (request->connection, MHD_HTTP_BAD_REQUEST, "the key is empty");
    return decoded == 0 && *key_len > 0 ? 0 : -1;
}

/*  0 while every position of this peer is active; else -1 after queueing
    503 {"error": "not ready: ..."} into *rc.  */
static int s_ready (const chordd_http_request_t *request, chordd_http_result_t *rc)
{
    chordd_http_snapshot_t *snapshot = chordd_http_snapshot (request->server);
    if (!snapshot) {
        *rc = chordd_http_reply_error (request->connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return -1;
    }
    char reason[160] = "";
    if (snapshot->count == 0)
        snprintf (reason, sizeof reason, "not ready: the ring positions are not chosen yet");
    for (size_t i = 0; i < snapshot->count && !reason[0]; i++)
        if (snapshot->positions[i].state != CHORD_NODE_ACTIVE)
            snprintf (reason, sizeof reason, "not ready: position %u is %s", snapshot->positions[i].index,
                      chord_node_state_name (snapshot->positions[i].state));
    free (snapshot);
    if (!reason[0])
        return 0;
    *rc = chordd_http_reply_error (request->connection, MHD_HTTP_SERVICE_UNAVAILABLE, reason);
    return -1;
}

/* ---------------------------------------------------------------------- */
/* /v1/kv/{key} */

/* A PUT in progress: its key, and its body as far as it came. */
typedef struct {
    chordd_http_state_t base;               /* http.c frees us through it */
    uint8_t key[CHORD_KEY_MAX];
    size_t key_len;
    uint8_t *body;                          /* malloc'd, body_cap bytes */
    size_t body_len;
    size_t body_cap;
    bool refused;                           /* a 413 is queued: later chunks are dropped */
} s_put_t;

static void s_put_destroy (chordd_http_state_t *state)
{
    s_put_t *put = (s_put_t *) state;
    free (put->body);
    free (put);
}

/*  The declared Content-Length: 0 with *length set, or -1 when absent or
    not a plain decimal number (a chunked upload, say).  */
static int s_content_length (struct MHD_Connection *connection, uint64_t *length)
{
    const char *text = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!text || !*text)
        return -1;
    uint64_t value = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || value > UINT64_MAX / 10 - 1)
            return -1;
        value = value * 10 + (uint64_t) (*c - '0');
    }
    *length = value;
    return 0;
}

/* GET or DELETE key: one CLIENT_GET or CLIENT_DEL to this peer. */
static chordd_http_result_t s_get_or_del (const chordd_http_request_t *request, chord_msg_type_t type,
                                          const uint8_t *key, size_t key_len)
{
    struct MHD_Connection *connection = request->connection;
    chord_msg_t *msg = malloc (sizeof *msg), *reply = malloc (sizeof *reply);
    chordd_http_result_t rc;
    if (!msg || !reply) {
        rc = chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    s_key_request (msg, type, key, key_len);
    chord_client_t *held;
    if (s_call (request, request->server->endpoint, msg, reply, CHORD_MSG_CLIENT_REPLY, &rc, &held) != 0)
        goto done;
    if (reply->status != CHORD_STATUS_OK)
        rc = s_status_error (connection, reply);
    else if (type == CHORD_MSG_CLIENT_DEL)
        rc = chordd_http_reply (connection, MHD_HTTP_NO_CONTENT, CHORDD_HTTP_JSON, "", 0);
    else if (!(reply->fields & CHORD_F_VALUE))
        rc = chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "reply without a value");
    else
        rc = chordd_http_reply (connection, MHD_HTTP_OK, "application/octet-stream",
                                (const char *) reply->value, reply->value_len);
    chord_msg_clear (reply);
    s_call_end (request->server, request->server->endpoint, held);
done:
    free (msg);
    free (reply);
    return rc;
}

/* The PUT once its body is whole: one CLIENT_PUT to this peer. */
static chordd_http_result_t s_put_send (const chordd_http_request_t *request, const s_put_t *put)
{
    struct MHD_Connection *connection = request->connection;
    chord_msg_t *msg = malloc (sizeof *msg), *reply = malloc (sizeof *reply);
    chordd_http_result_t rc;
    if (!msg || !reply) {
        rc = chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    static const uint8_t empty[1];
    s_key_request (msg, CHORD_MSG_CLIENT_PUT, put->key, put->key_len);
    msg->value = put->body ? put->body : empty;
    msg->value_len = put->body_len;
    msg->fields |= CHORD_F_VALUE;
    chord_client_t *held;
    if (s_call (request, request->server->endpoint, msg, reply, CHORD_MSG_CLIENT_REPLY, &rc, &held) != 0)
        goto done;
    if (reply->status != CHORD_STATUS_OK)
        rc = s_status_error (connection, reply);
    else
        rc = chordd_http_reply (connection, MHD_HTTP_NO_CONTENT, CHORDD_HTTP_JSON, "", 0);
    chord_msg_clear (reply);
    s_call_end (request->server, request->server->endpoint, held);
done:
    free (msg);
    free (reply);
    return rc;
}

/*  The first call of a PUT (headers only): refuses a declared body over
    CHORD_VALUE_MAX before reading a byte of it, else keeps the key and a
    buffer for the body in *state.  */
static chordd_http_result_t s_put_begin (const chordd_http_request_t *request, const uint8_t *key,
                                         size_t key_len)
{
    uint64_t length = 0;
    bool declared = s_content_length (request->connection, &length) == 0;
    if (declared && length > CHORD_VALUE_MAX)
        return chordd_http_reply_error (request->connection, MHD_HTTP_CONTENT_TOO_LARGE,
                                        "the value is over 1048576 bytes");
    s_put_t *put = calloc (1, sizeof *put);
    //  With a declared length the buffer is allocated once; without one
    //  (chunked) it grows, still never past CHORD_VALUE_MAX.
    size_t cap = declared ? (size_t) length : 64 * 1024;
    uint8_t *body = cap ? malloc (cap) : NULL;
    if (!put || (cap && !body)) {
        free (put);
        free (body);
        return chordd_http_reply_error (request->connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    put->base.destroy = s_put_destroy;
    memcpy (put->key, key, key_len);
    put->key_len = key_len;
    put->body = body;
    put->body_cap = cap;
    *request->state = put;
    return MHD_YES;
}

/*  A chunk of a PUT body: kept, or when it would pass CHORD_VALUE_MAX,
    answered with 413 at once (the rest of the body is not read: MHD
    closes the connection after the answer).  */
static chordd_http_result_t s_put_chunk (const chordd_http_request_t *request, s_put_t *put)
{
    size_t size = *request->upload_size;
    *request->upload_size = 0;
    if (put->refused)
        return MHD_YES;
    if (size > CHORD_VALUE_MAX - put->body_len) {
        put->refused = true;
        return chordd_http_reply_error (request->connection, MHD_HTTP_CONTENT_TOO_LARGE,
                                        "the value is over 1048576 bytes");
    }
    if (put->body_len + size > put->body_cap) {
        size_t cap = put->body_cap ? put->body_cap : 64 * 1024;
        while (cap < put->body_len + size)
            cap *= 2;
        if (cap > CHORD_VALUE_MAX)
            cap = CHORD_VALUE_MAX;
        uint8_t *body = realloc (put->body, cap);
        if (!body) {
            put->refused = true;
            return chordd_http_reply_error (request->connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        }
        put->body = body;
        put->body_cap = cap;
    }
    memcpy (put->body + put->body_len, request->upload, size);
    put->body_len += size;
    return MHD_YES;
}

chordd_http_result_t chordd_http_kv (const chordd_http_request_t *request)
{
    s_put_t *put = *request->state;
    if (put) {
        if (*request->upload_size > 0)
            return s_put_chunk (request, put);
        return put->refused ? MHD_YES : s_put_send (request, put);
    }
    const char *method = request->method;
    bool get = strcmp (method, MHD_HTTP_METHOD_GET) == 0 || strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
    bool is_put = strcmp (method, MHD_HTTP_METHOD_PUT) == 0;
    bool del = strcmp (method, MHD_HTTP_METHOD_DELETE) == 0;
    if (!get && !is_put && !del)
        return chordd_http_reply_not_allowed (request->connection, S_KV_ALLOW);
    uint8_t key[CHORD_KEY_MAX];
    size_t key_len = 0;
    chordd_http_result_t rc;
    if (s_key (request, S_KV_PREFIX, key, &key_len, &rc) != 0 || s_ready (request, &rc) != 0)
        return rc;
    if (is_put)
        return s_put_begin (request, key, key_len);
    return s_get_or_del (request, get ? CHORD_MSG_CLIENT_GET : CHORD_MSG_CLIENT_DEL, key, key_len);
}

/* ---------------------------------------------------------------------- */
/* /v1/lookup/{key} */

static json_t *s_json_peer (const chord_peer_t *peer)
{
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (&peer->id, hex);
    json_t *endpoint = json_string (peer->endpoint);
    return json_pack ("{s:s,s:o}", "id", hex, "endpoint", endpoint ? endpoint : json_null ());
}

/*  The holders of the copies besides the owner, by the rule the owner
    itself follows (replica_set.h), from the owner's INFO_REPLY.  */
static json_t *s_json_replicas (const chord_msg_t *info)
{
    chord_peer_t peers[CHORD_REPLICA_SET_MAX];
    size_t count = chord_replica_set_of_info (info, peers);
    json_t *array = json_array ();
    for (size_t i = 0; array && i < count; i++)
        json_array_append_new (array, s_json_peer (&peers[i]));
    return array;
}

/* The lookup's JSON: key (when UTF-8), key_hex, id, owner, replicas, hops. */
static json_t *s_json_lookup (const uint8_t *key, size_t key_len, const chord_msg_t *lookup,
                              const chord_msg_t *info)
{
    char key_hex[2 * CHORD_KEY_MAX + 1], id_hex[CHORD_ID_HEX_LEN + 1];
    sodium_bin2hex (key_hex, sizeof key_hex, key, key_len);
    chord_id_t id;
    if (lookup->fields & CHORD_F_ID)
        id = lookup->id;
    else
        chord_id_hash (&id, key, key_len);
    chord_id_to_hex (&id, id_hex);
    json_t *root = json_pack ("{s:s,s:s,s:o,s:o,s:I}", "key_hex", key_hex, "id", id_hex, "owner",
                              s_json_peer (&lookup->peer), "replicas", s_json_replicas (info), "hops",
                              (json_int_t) ((lookup->fields & CHORD_F_HOPS) ? lookup->hops : 0));
    json_t *string = json_stringn ((const char *) key, key_len);
    if (root && string)
        json_object_set_new (root, "key", string);
    else
        json_decref (string);
    return root;
}

chordd_http_result_t chordd_http_lookup (const chordd_http_request_t *request)
{
    struct MHD_Connection *connection = request->connection;
    uint8_t key[CHORD_KEY_MAX];
    size_t key_len = 0;
    chordd_http_result_t rc;
    if (s_key (request, S_LOOKUP_PREFIX, key, &key_len, &rc) != 0 || s_ready (request, &rc) != 0)
        return rc;
    chord_msg_t *msg = malloc (sizeof *msg), *lookup = malloc (sizeof *lookup), *info = malloc (sizeof *info);
    if (!msg || !lookup || !info) {
        rc = chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    s_key_request (msg, CHORD_MSG_CLIENT_LOOKUP, key, key_len);
    chord_client_t *held;
    if (s_call (request, request->server->endpoint, msg, lookup, CHORD_MSG_LOOKUP_REPLY, &rc, &held) != 0)
        goto done;
    //  Only the lookup's own fields (peer, id, hops, text) are read from
    //  here on, none borrowed: its client may serve the next call.
    s_call_end (request->server, request->server->endpoint, held);
    if (lookup->status != CHORD_STATUS_OK || !(lookup->fields & CHORD_F_PEER)) {
        rc = lookup->status != CHORD_STATUS_OK
                 ? s_status_error (connection, lookup)
                 : chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "lookup reply without an owner");
        chord_msg_clear (lookup);
        goto done;
    }
    //  The owner's own view names the holders: ask that very position.
    chord_msg_init (msg, CHORD_MSG_CLIENT_INFO, 0);
    msg->has_target = true;
    msg->target = lookup->peer.id;
    int asked = s_call (request, lookup->peer.endpoint, msg, info, CHORD_MSG_INFO_REPLY, &rc, &held);
    if (asked == 0)
        s_call_end (request->server, lookup->peer.endpoint, held);
    if (asked == 0 && !(info->fields & CHORD_F_PEER)) {
        rc = chordd_http_reply_error (connection, MHD_HTTP_BAD_GATEWAY, "info reply without the owner's identity");
        chord_msg_clear (info);
        asked = -1;
    }
    if (asked == 0) {
        rc = chordd_http_reply_json (connection, MHD_HTTP_OK, s_json_lookup (key, key_len, lookup, info));
        chord_msg_clear (info);
    }
    chord_msg_clear (lookup);
done:
    free (msg);
    free (lookup);
    free (info);
    return rc;
}
