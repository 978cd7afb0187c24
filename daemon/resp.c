/*  chordd's Redis door (resp.h): the listener, the connection threads and
    the ring they reach as clients of this peer.  */
#include "resp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_pool.h"
#include "http_auth.h"
#include "log.h"
#include "resp_cmd.h"

#define S_POOL_KEEP      16             /* idle clients of this peer kept */
#define S_CALL_MS        5000           /* how long a command waits for the ring */
#define S_REQUEST_TMO_MS 4500           /* the tmo a request carries: the peer gives up first */
#define S_READ_BYTES     (64 * 1024)    /* bytes read from a connection at once */
#define S_SEND_MS        10000          /* a client that takes no answer this long is dropped */
#define S_POLL_MS        500            /* how often waiting threads look at the stop flag */
#define S_STOP_MS        12000          /* how long stop waits for connection threads */
#define S_THREAD_STACK   (256 * 1024)   /* bytes of stack per connection thread */

struct chordd_resp {
    int fd;                                 /* the listening socket */
    pthread_t listener;                     /* accepts */
    bool listening;                         /* listener was started */
    volatile bool stopping;                 /* stop asked: threads leave */
    pthread_mutex_t lock;                   /* guards the fields below */
    pthread_cond_t gone;                    /* signalled when a connection thread ends */
    size_t connections;                     /* connection threads running */
    chordd_client_pool_t *pool;             /* idle clients of this peer */
    chordd_http_snapshot_t *snapshot;       /* the last published, for INFO */
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* this peer */
    char text[128];                         /* --resp as given */
    size_t replicas;                        /* --replicas */
    time_t started;                         /* for INFO's uptime */
    bool secured;                           /* a secured ring: connections must AUTH */
    chordd_http_auth_t *auth;               /* the tokens AUTH accepts */
    chordd_resp_ring_t ring;                /* the functions below, ctx self */
};

/* ---------------------------------------------------------------------- */
/* The ring, through pooled clients of this peer. */

/* The Redis error line for a ring status other than OK and NOT_FOUND. */
static void s_status_error (const chord_msg_t *reply, char *error, size_t size)
{
    int text_len = (reply->fields & CHORD_F_TEXT) ? (int) reply->text_len : 0;
    const char *text = text_len ? reply->text : "";
    switch (reply->status) {
    case CHORD_STATUS_NOT_READY:
        snprintf (error, size, "TRYAGAIN not ready %.*s", text_len, text);
        break;
    case CHORD_STATUS_NO_QUORUM:
        snprintf (error, size, "TRYAGAIN no quorum (the write may have landed on some copies) %.*s", text_len, text);
        break;
    case CHORD_STATUS_TIMEOUT:
        snprintf (error, size, "TRYAGAIN the ring timed out %.*s", text_len, text);
        break;
    case CHORD_STATUS_TOO_LARGE:
        snprintf (error, size, "ERR too large %.*s", text_len, text);
        break;
    case CHORD_STATUS_FORBIDDEN:
        snprintf (error, size, "NOPERM the ring refused %.*s", text_len, text);
        break;
    default:
        snprintf (error, size, "ERR %s %.*s", chord_status_name (reply->status), text_len, text);
    }
}

/*  One request of type with key (and value for a put) to this peer.
    Returns 1 with the value of a GET in *value (malloc'd), 0 for
    NOT_FOUND, or 2 for OK without a value; -1 with error written.  */
static int s_call (chordd_resp_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                   const uint8_t *value, size_t value_len, uint8_t **value_out, size_t *value_out_len,
                   char *error, size_t error_size)
{
    chord_msg_t *msg = malloc (sizeof *msg), *reply = malloc (sizeof *reply);
    chord_client_t *client = msg && reply ? chordd_client_pool_take (self->pool) : NULL;
    int rc = -1;
    if (!client) {
        snprintf (error, error_size, "TRYAGAIN cannot connect to the ring");
        goto done;
    }
    chord_msg_init (msg, type, 0);
    msg->key = key;
    msg->key_len = key_len;
    msg->timeout_ms = S_REQUEST_TMO_MS;
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
    if (type == CHORD_MSG_CLIENT_PUT) {
        msg->value = value;
        msg->value_len = value_len;
        msg->fields |= CHORD_F_VALUE;
    }
    int called = chord_client_call (client, msg, reply, S_CALL_MS);
    int saved = errno;
    bool fits = called == 0 && reply->type == CHORD_MSG_CLIENT_REPLY && (reply->fields & CHORD_F_STATUS);
    if (!fits)
        snprintf (error, error_size, called == 0 ? "ERR unexpected reply from the ring"
                                     : saved == EACCES ? "ERR the peer refused the connection"
                                                       : "TRYAGAIN no answer from the ring within 5 s");
    else if (reply->status == CHORD_STATUS_NOT_FOUND)
        rc = 0;
    else if (reply->status != CHORD_STATUS_OK)
        s_status_error (reply, error, error_size);
    else if (type != CHORD_MSG_CLIENT_GET)
        rc = 2;
    else if (!(reply->fields & CHORD_F_VALUE))
        snprintf (error, error_size, "ERR reply without a value");
    else if (!(*value_out = malloc (reply->value_len ? reply->value_len : 1)))
        snprintf (error, error_size, "ERR out of memory");
    else {
        memcpy (*value_out, reply->value, reply->value_len);
        *value_out_len = reply->value_len;
        rc = 1;
    }
    if (called == 0)
        chord_msg_clear (reply);
    //  Only now: the reply's value and text point into the client's buffer.
    chordd_client_pool_give (self->pool, client, fits);
done:
    free (msg);
    free (reply);
    return rc;
}

static int s_ring_get (void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *value_len,
                       char *error, size_t error_size)
{
    return s_call (ctx, CHORD_MSG_CLIENT_GET, key, key_len, NULL, 0, value, value_len, error, error_size);
}

static int s_ring_put (void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                       char *error, size_t error_size)
{
    int rc = s_call (ctx, CHORD_MSG_CLIENT_PUT, key, key_len, value, value_len, NULL, NULL, error, error_size);
    return rc < 0 ? -1 : 0;
}

static int s_ring_del (void *ctx, const uint8_t *key, size_t key_len, char *error, size_t error_size)
{
    int rc = s_call (ctx, CHORD_MSG_CLIENT_DEL, key, key_len, NULL, 0, NULL, NULL, error, error_size);
    return rc < 0 ? -1 : 0;
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
    pthread_mutex_lock (&self->lock);
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
    pthread_mutex_unlock (&self->lock);
}

/* ---------------------------------------------------------------------- */
/* Connections. */

typedef struct {
    chordd_resp_t *server;
    int fd;
} s_conn_t;

/* Sends out whole within S_SEND_MS; 0 or -1. */
static int s_send_all (chordd_resp_t *self, int fd, const chordd_resp_out_t *out)
{
    size_t sent = 0;
    int waited = 0;
    while (sent < out->len) {
        ssize_t n = send (fd, out->data + sent, out->len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t) n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct pollfd item = {fd, POLLOUT, 0};
        if (self->stopping || waited >= S_SEND_MS)
            return -1;
        poll (&item, 1, S_POLL_MS);
        waited += S_POLL_MS;
    }
    return 0;
}

/* Reads requests and answers them until the client goes, errs or idles. */
static void s_serve (chordd_resp_t *self, int fd, chordd_resp_parser_t *parser, uint8_t *buffer)
{
    chordd_resp_session_t session = {&self->ring, self->secured, CHORD_ROLE_NONE};
    chordd_resp_out_t out = {0};
    int idle_ms = 0;
    while (!self->stopping && idle_ms < CHORDD_RESP_IDLE_S * 1000) {
        struct pollfd item = {fd, POLLIN, 0};
        int ready = poll (&item, 1, S_POLL_MS);
        if (ready == 0 || (ready < 0 && errno == EINTR)) {
            idle_ms += S_POLL_MS;
            continue;
        }
        ssize_t n = ready > 0 ? recv (fd, buffer, S_READ_BYTES, 0) : -1;
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
            break;
        idle_ms = 0;
        int rc = chordd_resp_parser_feed (parser, buffer, n > 0 ? (size_t) n : 0, chordd_resp_dispatch, &session,
                                          &out);
        if (s_send_all (self, fd, &out) != 0 || rc != 0 || out.failed)
            break;
        chordd_resp_out_reset (&out);
    }
    chordd_resp_out_free (&out);
}

static void *s_connection (void *arg)
{
    s_conn_t *conn = arg;
    chordd_resp_t *self = conn->server;
    chordd_resp_parser_t *parser = chordd_resp_parser_new ();
    uint8_t *buffer = malloc (S_READ_BYTES);
    if (parser && buffer)
        s_serve (self, conn->fd, parser, buffer);
    free (buffer);
    chordd_resp_parser_destroy (&parser);
    close (conn->fd);
    free (conn);
    pthread_mutex_lock (&self->lock);
    self->connections--;
    pthread_cond_broadcast (&self->gone);
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

/* Starts a thread for fd, or refuses it as Redis does when full. */
static void s_accept_one (chordd_resp_t *self, int fd)
{
    static const char full[] = "-ERR max clients reached\r\n";
    pthread_mutex_lock (&self->lock);
    bool room = self->connections < CHORDD_RESP_CONNECTIONS;
    if (room)
        self->connections++;
    pthread_mutex_unlock (&self->lock);
    s_conn_t *conn = room ? malloc (sizeof *conn) : NULL;
    pthread_attr_t attr;
    pthread_attr_init (&attr);
    pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize (&attr, S_THREAD_STACK);
    pthread_t thread;
    bool started = false;
    if (conn) {
        *conn = (s_conn_t) {self, fd};
        int one = 1;
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        started = pthread_create (&thread, &attr, s_connection, conn) == 0;
    }
    pthread_attr_destroy (&attr);
    if (started)
        return;
    free (conn);
    if (send (fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void) 0;      /* the client is refused either way */
    close (fd);
    if (room) {
        pthread_mutex_lock (&self->lock);
        self->connections--;
        pthread_mutex_unlock (&self->lock);
    }
}

static void *s_listen_loop (void *arg)
{
    chordd_resp_t *self = arg;
    while (!self->stopping) {
        struct pollfd item = {self->fd, POLLIN, 0};
        if (poll (&item, 1, S_POLL_MS) <= 0)
            continue;
        int fd = accept (self->fd, NULL, NULL);
        if (fd >= 0)
            s_accept_one (self, fd);
        else if (errno == EMFILE || errno == ENFILE)
            usleep (100 * 1000);     /* out of descriptors: let connections end */
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* The server. */

static int s_bind (const struct sockaddr_storage *address, socklen_t address_len)
{
    int fd = socket (address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
                                  const char *endpoint, size_t replicas, const chord_client_curve_t *curve,
                                  char *error, size_t error_size)
{
    chordd_resp_t *self = calloc (1, sizeof *self);
    if (!self || !(self->snapshot = calloc (1, sizeof *self->snapshot)) ||
        !(self->auth = chordd_http_auth_new (curve != NULL)) ||
        !(self->pool = chordd_client_pool_new (endpoint, curve, S_POOL_KEEP))) {
        snprintf (error, error_size, "out of memory");
        if (self) {
            free (self->snapshot);
            chordd_http_auth_destroy (&self->auth);
        }
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->gone, NULL);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    snprintf (self->text, sizeof self->text, "%s", text);
    self->replicas = replicas;
    self->started = time (NULL);
    self->secured = curve != NULL;
    self->ring = (chordd_resp_ring_t) {self, s_ring_get, s_ring_put, s_ring_del, s_ring_info, s_ring_auth};
    self->fd = s_bind (address, address_len);
    if (self->fd < 0) {
        snprintf (error, error_size, "cannot listen on %s: %s", text, strerror (errno));
        chordd_resp_stop (&self);
        return NULL;
    }
    //  Signals stay with the main loop: the threads block them all.
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    self->listening = pthread_create (&self->listener, NULL, s_listen_loop, self) == 0;
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (!self->listening) {
        snprintf (error, error_size, "cannot start a thread");
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
    pthread_mutex_lock (&self->lock);
    self->snapshot->count = snapshot->count;
    memcpy (self->snapshot->positions, snapshot->positions, snapshot->count * sizeof snapshot->positions[0]);
    pthread_mutex_unlock (&self->lock);
}

void chordd_resp_stop (chordd_resp_t **self_p)
{
    chordd_resp_t *self = *self_p;
    if (!self)
        return;
    self->stopping = true;
    if (self->listening)
        pthread_join (self->listener, NULL);
    if (self->fd >= 0)
        close (self->fd);
    //  Connection threads see the flag within a poll step, or once their
    //  call to the ring returns (bounded by S_CALL_MS).
    struct timespec deadline;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_sec += S_STOP_MS / 1000;
    pthread_mutex_lock (&self->lock);
    while (self->connections > 0)
        if (pthread_cond_timedwait (&self->gone, &self->lock, &deadline) == ETIMEDOUT)
            break;
    size_t left = self->connections;
    pthread_mutex_unlock (&self->lock);
    *self_p = NULL;
    if (left > 0) {
        //  A thread still holds self: leaking it beats freeing under it.
        chordd_log (CHORD_LOG_WARN, "resp: %zu connections did not end in time", left);
        return;
    }
    chordd_client_pool_destroy (&self->pool);
    chordd_http_auth_destroy (&self->auth);
    free (self->snapshot);
    pthread_cond_destroy (&self->gone);
    pthread_mutex_destroy (&self->lock);
    free (self);
}
