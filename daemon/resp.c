/*  chordd's Redis door (resp.h): the listening socket, the connections
    and the ring they reach through the main loop's positions.  */
#include "resp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http_auth.h"
#include "log.h"
#include "resp_cmd.h"
#include "resp_queue.h"
#include "transport.h"

#define S_REQUEST_TMO_MS 4500           /* the tmo each request carries: the node answers TIMEOUT by then */
#define S_ANSWER_MS      6000           /* a command unanswered this long is failed by the door itself */
#define S_READ_BYTES     (64 * 1024)    /* bytes read from a connection at once */
#define S_ACCEPTS_MAX    64             /* connections accepted per loop iteration */
#define S_ACCEPT_PAUSE_MS 100           /* out of descriptors: how long the listener rests */
#define S_ORIGIN_SIZE    10             /* 0x00 'r', slot (4 bytes), generation (4 bytes) */

_Static_assert (1 + CHORDD_RESP_CONNECTIONS <= CHORDD_POLL_EXTRA_MAX, "the transport polls every item");

/* A data command held back, its arguments copied. */
typedef struct {
    chordd_resp_op_t op;                /* what it does */
    uint64_t first_id;                  /* its place in the queue: the request id of its first part */
    size_t argc;                        /* arguments, the command's name included */
    char **argv;                        /* into this block's tail */
    size_t *argvlen;                    /* likewise */
} s_deferred_t;

typedef struct {
    int fd;                             /* -1: the slot is free */
    uint32_t generation;                /* bumped at each close: late replies are dropped */
    chordd_resp_session_t session;      /* AUTH's role, the ring */
    chordd_resp_parser_t *parser;       /* requests read, not yet whole */
    chordd_resp_queue_t *queue;         /* commands waiting for the ring, in order */
    chordd_resp_out_t out;              /* replies ready to send */
    size_t sent;                        /* bytes of out sent already */
    uint64_t active_ms;                 /* when it last sent us bytes or took some */
    bool closing;                       /* QUIT or a protocol error: answer what is queued, then close */
    bool paused;                        /* past its bounds, or deferred: requests wait in the parser */
    s_deferred_t *deferred;             /* a command queued but not sent: it would overtake one before */
} s_conn_t;

struct chordd_resp {
    int fd;                                     /* the listening socket */
    uint64_t accept_paused_until_ms;            /* after EMFILE: not polled until then */
    s_conn_t conns[CHORDD_RESP_CONNECTIONS];    /* by slot */
    size_t open;                                /* slots in use */
    zmq_pollitem_t items[1 + CHORDD_RESP_CONNECTIONS]; /* what prepare asks to poll */
    uint32_t item_slot[1 + CHORDD_RESP_CONNECTIONS];   /* the slot of each item; the listener's unused */
    size_t item_count;                          /* items filled */
    bool listener_polled;                       /* items[0] is the listener */
    uint8_t *buffer;                            /* S_READ_BYTES, for each read */
    chordd_resp_out_t errors;                   /* a protocol error, before it joins its connection's replies */
    chord_msg_t *request;                       /* the message being submitted */
    chord_msg_t *reply;                         /* the reply being delivered */
    uint64_t now_ms;                            /* the loop's time while handling */
    chordd_resp_submit_fn *submit;              /* the loop's way to the positions */
    void *submit_arg;
    chordd_http_snapshot_t *snapshot;           /* the last published, for INFO */
    char endpoint[CHORD_ENDPOINT_MAX + 1];      /* this peer */
    char text[128];                             /* --resp as given */
    size_t replicas;                            /* --replicas */
    time_t started;                             /* for INFO's uptime */
    bool secured;                               /* a secured ring: connections must AUTH */
    chordd_http_auth_t *auth;                   /* the tokens AUTH accepts */
    chordd_resp_ring_t ring;                    /* the functions below, ctx self */
};

/* ---------------------------------------------------------------------- */
/* Origins: 0x00 'r', then the slot and the generation, big-endian. */

static void s_put_u32 (uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t) (value >> 24);
    at[1] = (uint8_t) (value >> 16);
    at[2] = (uint8_t) (value >> 8);
    at[3] = (uint8_t) value;
}

static uint32_t s_get_u32 (const uint8_t *at)
{
    return (uint32_t) at[0] << 24 | (uint32_t) at[1] << 16 | (uint32_t) at[2] << 8 | at[3];
}

bool chordd_resp_is_origin (const chord_origin_t *origin)
{
    return origin->size == S_ORIGIN_SIZE && origin->bytes[0] == 0x00 && origin->bytes[1] == 'r';
}

static void s_origin (const chordd_resp_t *self, const s_conn_t *conn, chord_origin_t *origin)
{
    origin->size = S_ORIGIN_SIZE;
    origin->bytes[0] = 0x00;
    origin->bytes[1] = 'r';
    s_put_u32 (origin->bytes + 2, (uint32_t) (conn - self->conns));
    s_put_u32 (origin->bytes + 6, conn->generation);
}

/* ---------------------------------------------------------------------- */
/* The ring, through the loop's positions. */

/* One CLIENT_GET/PUT/DEL for part of a command. */
static void s_submit_part (chordd_resp_t *self, chord_msg_type_t type, uint64_t request_id, const chord_origin_t *origin,
                           const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    chord_msg_t *msg = self->request;
    chord_msg_init (msg, type, request_id);
    msg->key = key;
    msg->key_len = key_len;
    msg->timeout_ms = S_REQUEST_TMO_MS;
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
    if (type == CHORD_MSG_CLIENT_PUT) {
        msg->value = value;
        msg->value_len = value_len;
        msg->fields |= CHORD_F_VALUE;
    }
    self->submit (self->submit_arg, msg, origin, self->now_ms);
}

static size_t s_step (chordd_resp_op_t op)
{
    return op == CHORDD_RESP_OP_SET || op == CHORDD_RESP_OP_MSET ? 2 : 1;
}

/* Whether any key of the command would overtake an earlier one of the connection. */
static bool s_conflicts (const s_conn_t *conn, chordd_resp_op_t op, size_t argc, char **argv, const size_t *argvlen)
{
    for (size_t at = 1; at < argc; at += s_step (op))
        if (chordd_resp_queue_conflicts (conn->queue, op, (const uint8_t *) argv[at], argvlen[at]))
            return true;
    return false;
}

/* Sends each key of a queued command to the ring. */
static void s_send_parts (chordd_resp_t *self, s_conn_t *conn, chordd_resp_op_t op, uint64_t first_id, size_t argc,
                          char **argv, const size_t *argvlen)
{
    size_t step = s_step (op);
    chord_msg_type_t type = step == 2 ? CHORD_MSG_CLIENT_PUT
                            : op == CHORDD_RESP_OP_DEL ? CHORD_MSG_CLIENT_DEL
                                                       : CHORD_MSG_CLIENT_GET;
    chord_origin_t origin;
    s_origin (self, conn, &origin);
    //  The node may answer at once, and the loop commit and deliver
    //  within submit: the entry is queued, the key tracked, first.
    for (size_t i = 0, at = 1; at < argc; i++, at += step) {
        chordd_resp_queue_track (conn->queue, first_id + i, (const uint8_t *) argv[at], argvlen[at]);
        s_submit_part (self, type, first_id + i, &origin, (const uint8_t *) argv[at], argvlen[at],
                       step == 2 ? (const uint8_t *) argv[at + 1] : NULL, step == 2 ? argvlen[at + 1] : 0);
    }
}

/* A copy of the command to send once nothing holds it back; NULL when memory runs out. */
static s_deferred_t *s_defer (chordd_resp_op_t op, uint64_t first_id, size_t argc, char **argv,
                              const size_t *argvlen)
{
    size_t bytes = sizeof (s_deferred_t) + argc * (sizeof (char *) + sizeof (size_t));
    for (size_t i = 0; i < argc; i++)
        bytes += argvlen[i] + 1;
    s_deferred_t *deferred = malloc (bytes);
    if (!deferred)
        return NULL;
    *deferred = (s_deferred_t) {op, first_id, argc, (char **) (deferred + 1), NULL};
    deferred->argvlen = (size_t *) (deferred->argv + argc);
    char *at = (char *) (deferred->argvlen + argc);
    for (size_t i = 0; i < argc; i++) {
        memcpy (at, argv[i], argvlen[i] + 1);
        deferred->argv[i] = at;
        deferred->argvlen[i] = argvlen[i];
        at += argvlen[i] + 1;
    }
    return deferred;
}

static int s_ring_start (void *ctx, void *conn_arg, chordd_resp_op_t op, size_t argc, char **argv,
                         const size_t *argvlen, char *error, size_t error_size)
{
    chordd_resp_t *self = ctx;
    s_conn_t *conn = conn_arg;
    size_t parts = (argc - 1) / s_step (op);
    assert (parts >= 1 && !conn->deferred);
    uint64_t first_id = chordd_resp_queue_push (conn->queue, op, parts, self->now_ms);
    if (first_id == 0) {
        snprintf (error, error_size, "ERR out of memory");
        return -1;
    }
    //  Held back, it keeps its place among the replies; the parser pauses.
    if (s_conflicts (conn, op, argc, argv, argvlen) && (conn->deferred = s_defer (op, first_id, argc, argv, argvlen)))
        return 0;
    s_send_parts (self, conn, op, first_id, argc, argv, argvlen);
    return 0;
}

/* Sends the deferred command once nothing holds it back; true when none is left. */
static bool s_undefer (chordd_resp_t *self, s_conn_t *conn)
{
    s_deferred_t *deferred = conn->deferred;
    if (deferred && s_conflicts (conn, deferred->op, deferred->argc, deferred->argv, deferred->argvlen))
        return false;
    if (deferred) {
        conn->deferred = NULL;
        s_send_parts (self, conn, deferred->op, deferred->first_id, deferred->argc, deferred->argv,
                      deferred->argvlen);
        free (deferred);
    }
    return true;
}

void chordd_resp_deliver (chordd_resp_t *self, const chord_origin_t *origin, uint8_t *data, size_t size)
{
    assert (chordd_resp_is_origin (origin));
    uint32_t slot = s_get_u32 (origin->bytes + 2);
    s_conn_t *conn = self && slot < CHORDD_RESP_CONNECTIONS ? &self->conns[slot] : NULL;
    if (conn && conn->fd >= 0 && conn->generation == s_get_u32 (origin->bytes + 6)) {
        chord_msg_t *reply = self->reply;
        if (chord_msg_decode (reply, data, size) == 0) {
            if (reply->type == CHORD_MSG_CLIENT_REPLY && (reply->fields & CHORD_F_STATUS))
                chordd_resp_queue_answer (conn->queue, reply->request_id, reply->status,
                                          (reply->fields & CHORD_F_VALUE) != 0, reply->value, reply->value_len,
                                          reply->text, (reply->fields & CHORD_F_TEXT) ? reply->text_len : 0);
            chord_msg_clear (reply);
        }
    }
    free (data);
}

static chord_role_t s_ring_auth (void *ctx, const char *token, size_t token_len)
{
    chordd_resp_t *self = ctx;
    char header[CHORDD_HTTP_TOKEN_MAX + 16];
    if (token_len > CHORDD_HTTP_TOKEN_MAX || strlen (token) != token_len)
        return CHORD_ROLE_NONE;
    snprintf (header, sizeof header, "Bearer %s", token);
    chord_role_t role = chordd_http_auth_role (self->auth, header);
    sodium_memzero (header, sizeof header);
    return role;
}

/* INFO's text: sections server, keyspace and chord (all unless section names one). */
static void s_ring_info (void *ctx, const char *section, chordd_resp_out_t *text)
{
    chordd_resp_t *self = ctx;
    bool all = !*section || strcasecmp (section, "all") == 0 || strcasecmp (section, "everything") == 0 ||
               strcasecmp (section, "default") == 0;
    char line[512];
    const chordd_http_snapshot_t *snapshot = self->snapshot;
    uint64_t records = 0;
    for (size_t i = 0; i < snapshot->count; i++)
        records += snapshot->positions[i].records;
    if (all || strcasecmp (section, "server") == 0) {
        snprintf (line, sizeof line, "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n"
                  "chord_door:resp2\r\nprocess_id:%ld\r\ntcp_address:%s\r\nuptime_in_seconds:%lld\r\n\r\n",
                  (long) getpid (), self->text, (long long) (time (NULL) - self->started));
        chordd_resp_out_bytes (text, line, strlen (line));
    }
    if (all || strcasecmp (section, "keyspace") == 0) {
        //  The records this process stores: its own keys, replicas and tombstones.
        snprintf (line, sizeof line, "# Keyspace\r\ndb0:keys=%llu,expires=0,avg_ttl=0\r\n\r\n",
                  (unsigned long long) records);
        chordd_resp_out_bytes (text, line, strlen (line));
    }
    if (all || strcasecmp (section, "chord") == 0) {
        snprintf (line, sizeof line, "# Chord\r\nendpoint:%s\r\nreplicas:%zu\r\npositions:%zu\r\n", self->endpoint,
                  self->replicas, snapshot->count);
        chordd_resp_out_bytes (text, line, strlen (line));
        for (size_t i = 0; i < snapshot->count; i++) {
            const chordd_http_position_t *p = &snapshot->positions[i];
            snprintf (line, sizeof line, "position%u:id=%s,state=%s,successor=%s,records=%llu\r\n", p->index, p->id,
                      chord_node_state_name (p->state), p->successor, (unsigned long long) p->records);
            chordd_resp_out_bytes (text, line, strlen (line));
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Connections. */

static void s_conn_close (chordd_resp_t *self, s_conn_t *conn)
{
    assert (conn->fd >= 0);
    close (conn->fd);
    conn->fd = -1;
    conn->generation++;
    chordd_resp_parser_destroy (&conn->parser);
    chordd_resp_queue_destroy (&conn->queue);
    free (conn->deferred);
    conn->deferred = NULL;
    chordd_resp_out_free (&conn->out);
    self->open--;
}

/* Takes fd into a free slot, or refuses it as Redis does when full. */
static void s_conn_open (chordd_resp_t *self, int fd)
{
    static const char full[] = "-ERR max clients reached\r\n";
    s_conn_t *conn = NULL;
    for (size_t i = 0; i < CHORDD_RESP_CONNECTIONS && !conn; i++)
        if (self->conns[i].fd < 0)
            conn = &self->conns[i];
    chordd_resp_parser_t *parser = conn ? chordd_resp_parser_new () : NULL;
    chordd_resp_queue_t *queue = parser ? chordd_resp_queue_new () : NULL;
    if (!queue) {
        chordd_resp_parser_destroy (&parser);
        if (send (fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            (void) 0;      /* the client is refused either way */
        close (fd);
        return;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *conn = (s_conn_t) {.fd = fd, .generation = conn->generation, .parser = parser, .queue = queue,
                        .active_ms = self->now_ms};
    conn->session = (chordd_resp_session_t) {&self->ring, self->secured, CHORD_ROLE_NONE, conn};
    self->open++;
}

static void s_accept (chordd_resp_t *self)
{
    for (int n = 0; n < S_ACCEPTS_MAX; n++) {
        int fd = accept (self->fd, NULL, NULL);
        if (fd >= 0 && fcntl (fd, F_SETFL, O_NONBLOCK) != 0) {
            close (fd);
            continue;
        }
        if (fd >= 0) {
            fcntl (fd, F_SETFD, FD_CLOEXEC);
            s_conn_open (self, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            self->accept_paused_until_ms = self->now_ms + S_ACCEPT_PAUSE_MS;
        return;
    }
}

/* Whether the connection is within its bounds: commands queued, reply bytes held. */
static bool s_conn_within (const s_conn_t *conn)
{
    size_t held = conn->out.len - conn->sent + chordd_resp_queue_bytes (conn->queue);
    return chordd_resp_queue_waiting (conn->queue) < CHORDD_RESP_WAITING_MAX && held < CHORDD_RESP_BUFFERED_MAX;
}

/*  Each whole request: dispatched, its answer (if it has one now) behind
    the commands still waiting; past the bounds, the next ones wait.  */
static chordd_resp_next_t s_on_request (void *arg, size_t argc, char **argv, const size_t *argvlen,
                                        chordd_resp_out_t *unused)
{
    (void) unused;
    s_conn_t *conn = arg;
    chordd_resp_out_t *out = chordd_resp_queue_tail (conn->queue, &conn->out);
    if (!chordd_resp_dispatch (&conn->session, argc, argv, argvlen, out))
        return CHORDD_RESP_CLOSE;
    return s_conn_within (conn) && !conn->deferred ? CHORDD_RESP_GO_ON : CHORDD_RESP_PAUSE;
}

/* Runs len bytes read (0: the requests a pause left in the parser). */
static void s_conn_feed (chordd_resp_t *self, s_conn_t *conn, const uint8_t *data, size_t len)
{
    chordd_resp_out_reset (&self->errors);
    int rc = chordd_resp_parser_feed (conn->parser, data, len, s_on_request, conn, &self->errors);
    conn->paused = rc == 2;
    if (rc == 1 || rc < 0) {
        //  QUIT, or a protocol error whose line goes after the replies due.
        chordd_resp_out_t *tail = chordd_resp_queue_tail (conn->queue, &conn->out);
        chordd_resp_out_bytes (tail, self->errors.data, self->errors.len);
        conn->closing = true;
    }
}

/* Reads once from a readable connection and runs what came. */
static void s_conn_read (chordd_resp_t *self, s_conn_t *conn)
{
    ssize_t n = recv (conn->fd, self->buffer, S_READ_BYTES, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        //  The client went: what it still waits for is dropped on arrival.
        s_conn_close (self, conn);
        return;
    }
    conn->active_ms = self->now_ms;
    s_conn_feed (self, conn, self->buffer, (size_t) n);
}

/* One send of what is ready; false when the connection must close. */
static bool s_conn_write (chordd_resp_t *self, s_conn_t *conn)
{
    chordd_resp_queue_expire (conn->queue, self->now_ms, S_ANSWER_MS);
    chordd_resp_queue_drain (conn->queue, &conn->out);
    if (conn->out.failed)
        return false;
    if (conn->sent < conn->out.len) {
        ssize_t n = send (conn->fd, conn->out.data + conn->sent, conn->out.len - conn->sent,
                          MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        if (n > 0) {
            conn->sent += (size_t) n;
            conn->active_ms = self->now_ms;
        }
        if (conn->sent == conn->out.len) {
            chordd_resp_out_reset (&conn->out);
            conn->sent = 0;
        }
    }
    bool unsent = conn->sent < conn->out.len;
    bool waiting = chordd_resp_queue_waiting (conn->queue) > 0;
    uint64_t quiet_ms = self->now_ms - conn->active_ms;
    if (unsent)
        return quiet_ms < CHORDD_RESP_SEND_MS;
    if (waiting)
        return true;       /* answered by the tmo, or expired by S_ANSWER_MS */
    return !conn->closing && quiet_ms < (uint64_t) CHORDD_RESP_IDLE_S * 1000;
}

size_t chordd_resp_prepare (chordd_resp_t *self, uint64_t now_ms, zmq_pollitem_t **items, bool *busy)
{
    assert (self);
    self->now_ms = now_ms;
    *busy = false;
    size_t count = 0;
    self->listener_polled = now_ms >= self->accept_paused_until_ms;
    if (self->listener_polled)
        self->items[count++] = (zmq_pollitem_t) {.fd = self->fd, .events = ZMQ_POLLIN};
    for (uint32_t slot = 0; slot < CHORDD_RESP_CONNECTIONS && self->open; slot++) {
        s_conn_t *conn = &self->conns[slot];
        if (conn->fd < 0)
            continue;
        if (!s_conn_write (self, conn)) {
            s_conn_close (self, conn);
            continue;
        }
        bool within = !conn->closing && s_conn_within (conn);
        //  Requests left by a pause come before new bytes: handle takes them.
        if (within && conn->paused && (!conn->deferred || !s_conflicts (conn, conn->deferred->op,
                                                                        conn->deferred->argc, conn->deferred->argv,
                                                                        conn->deferred->argvlen)))
            *busy = true;
        short events = (short) ((within && !conn->paused ? ZMQ_POLLIN : 0) |
                                (conn->sent < conn->out.len ? ZMQ_POLLOUT : 0));
        if (!events)
            continue;
        self->item_slot[count] = slot;
        self->items[count++] = (zmq_pollitem_t) {.fd = conn->fd, .events = events};
    }
    self->item_count = count;
    *items = self->items;
    return count;
}

void chordd_resp_handle (chordd_resp_t *self, uint64_t now_ms)
{
    assert (self);
    self->now_ms = now_ms;
    for (size_t i = 0; i < self->item_count; i++) {
        const zmq_pollitem_t *item = &self->items[i];
        if (!item->revents)
            continue;
        if (i == 0 && self->listener_polled) {
            s_accept (self);
            continue;
        }
        s_conn_t *conn = &self->conns[self->item_slot[i]];
        if (conn->fd == item->fd && (item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) && !conn->closing)
            s_conn_read (self, conn);
    }
    self->item_count = 0;
    for (size_t slot = 0; slot < CHORDD_RESP_CONNECTIONS; slot++) {
        s_conn_t *conn = &self->conns[slot];
        if (conn->fd >= 0 && conn->paused && !conn->closing && s_conn_within (conn) && s_undefer (self, conn))
            s_conn_feed (self, conn, NULL, 0);
    }
}

/* ---------------------------------------------------------------------- */
/* The door. */

static int s_bind (const struct sockaddr_storage *address, socklen_t address_len)
{
    int fd = socket (address->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, (const struct sockaddr *) address, address_len) != 0 || listen (fd, 128) != 0) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

chordd_resp_t *chordd_resp_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, size_t replicas, bool secured,
                                  chordd_resp_submit_fn *submit, void *submit_arg, char *error, size_t error_size)
{
    chordd_resp_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    self->fd = -1;
    for (size_t i = 0; i < CHORDD_RESP_CONNECTIONS; i++)
        self->conns[i] = (s_conn_t) {.fd = -1, .generation = 1};
    self->snapshot = calloc (1, sizeof *self->snapshot);
    self->auth = chordd_http_auth_new (secured);
    self->buffer = malloc (S_READ_BYTES);
    self->request = malloc (sizeof *self->request);
    self->reply = malloc (sizeof *self->reply);
    if (!self->snapshot || !self->auth || !self->buffer || !self->request || !self->reply) {
        snprintf (error, error_size, "out of memory");
        chordd_resp_stop (&self);
        return NULL;
    }
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    snprintf (self->text, sizeof self->text, "%s", text);
    self->replicas = replicas;
    self->started = time (NULL);
    self->secured = secured;
    self->submit = submit;
    self->submit_arg = submit_arg;
    self->ring = (chordd_resp_ring_t) {self, s_ring_start, s_ring_info, s_ring_auth};
    self->fd = s_bind (address, address_len);
    if (self->fd < 0) {
        snprintf (error, error_size, "cannot listen on %s: %s", text, strerror (errno));
        chordd_resp_stop (&self);
        return NULL;
    }
    chordd_log (CHORD_LOG_INFO, "resp: serving on %s", text);
    return self;
}

int chordd_resp_tokens_load (chordd_resp_t *self, const char *path, char *error, size_t error_size)
{
    return chordd_http_auth_load (self->auth, path, error, error_size);
}

void chordd_resp_publish (chordd_resp_t *self, const chordd_http_snapshot_t *snapshot)
{
    if (!self)
        return;
    self->snapshot->count = snapshot->count;
    memcpy (self->snapshot->positions, snapshot->positions, snapshot->count * sizeof snapshot->positions[0]);
}

void chordd_resp_stop (chordd_resp_t **self_p)
{
    chordd_resp_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < CHORDD_RESP_CONNECTIONS; i++)
        if (self->conns[i].fd >= 0)
            s_conn_close (self, &self->conns[i]);
    if (self->fd >= 0)
        close (self->fd);
    chordd_http_auth_destroy (&self->auth);
    chordd_resp_out_free (&self->errors);
    free (self->snapshot);
    free (self->buffer);
    free (self->request);
    free (self->reply);
    free (self);
    *self_p = NULL;
}
