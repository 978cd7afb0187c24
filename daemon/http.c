/*  chordd's HTTP side on libmicrohttpd: the server, its routes, and the
    endpoints read from the snapshot the main loop last published
    (/healthz, /readyz, /v1/info).

    MHD polls (epoll or poll, not select, since chordd's descriptors may
    pass FD_SETSIZE) and gives each connection a thread of its own, with a
    cap on connections, an idle timeout and a small memory budget per
    connection, so slow or half-open HTTP clients cost those threads and
    never the ring's loop.  */
#include "http_internal.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_auth.h"
#include "log.h"
#include "readiness.h"

#define S_MEMORY_LIMIT (16 * 1024)     /* bytes MHD may use per connection */
#define S_POOL_KEEP    8              /* idle clients of this peer kept for the key handlers */
#define S_THREAD_STACK (256 * 1024)    /* bytes of stack per connection thread */

double chordd_http_uptime (const chordd_http_t *self)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - self->started.tv_sec) + (double) (now.tv_nsec - self->started.tv_nsec) / 1e9;
}

chordd_http_snapshot_t *chordd_http_snapshot (chordd_http_t *self)
{
    chordd_http_snapshot_t *copy = malloc (sizeof *copy);
    if (!copy)
        return NULL;
    pthread_mutex_lock (&self->lock);
    memcpy (copy, &self->snapshot, sizeof *copy);
    pthread_mutex_unlock (&self->lock);
    return copy;
}

/* Queues a response; a 405 says which methods the path takes (allow). */
static chordd_http_result_t s_reply (struct MHD_Connection *connection, unsigned status, const char *type,
                                     const char *body, size_t size, const char *allow)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (size, (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"chord\"");
    chordd_http_result_t rc = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return rc;
}

chordd_http_result_t chordd_http_reply (struct MHD_Connection *connection, unsigned status, const char *type,
                                        const char *body, size_t size)
{
    return s_reply (connection, status, type, body, size, "GET, HEAD");
}

chordd_http_result_t chordd_http_reply_not_allowed (struct MHD_Connection *connection, const char *allow)
{
    static const char body[] = "{\"error\":\"method not allowed\"}\n";
    return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, CHORDD_HTTP_JSON, body, sizeof body - 1, allow);
}

chordd_http_result_t chordd_http_reply_json (struct MHD_Connection *connection, unsigned status, json_t *json)
{
    char *body = json ? json_dumps (json, JSON_COMPACT) : NULL;
    json_decref (json);
    if (!body)
        return chordd_http_reply (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, CHORDD_HTTP_JSON,
                                  "{\"error\":\"out of memory\"}\n", 25);
    size_t size = strlen (body);
    char *line = realloc (body, size + 2);
    if (line) {
        body = line;
        body[size++] = '\n';
        body[size] = 0;
    }
    chordd_http_result_t rc = chordd_http_reply (connection, status, CHORDD_HTTP_JSON, body, size);
    free (body);
    return rc;
}

chordd_http_result_t chordd_http_reply_error (struct MHD_Connection *connection, unsigned status,
                                              const char *error)
{
    return chordd_http_reply_json (connection, status, json_pack ("{s:s}", "error", error));
}

/* Milliseconds since the main loop last published. */
static double s_snapshot_age_ms (chordd_http_t *self)
{
    struct timespec now, published;
    clock_gettime (CLOCK_MONOTONIC, &now);
    pthread_mutex_lock (&self->lock);
    published = self->published;
    pthread_mutex_unlock (&self->lock);
    return (double) (now.tv_sec - published.tv_sec) * 1e3 + (double) (now.tv_nsec - published.tv_nsec) / 1e6;
}

bool chordd_http_ready (chordd_http_t *self, char *reason, size_t reason_size)
{
    chordd_http_snapshot_t *snapshot = chordd_http_snapshot (self);
    if (!snapshot) {
        snprintf (reason, reason_size, "out of memory");
        return false;
    }
    bool ready = chordd_readiness (snapshot, s_snapshot_age_ms (self), reason, reason_size);
    free (snapshot);
    return ready;
}

/* GET /readyz: 200 while every position is active and the loop is alive,
   else 503 and why. */
static chordd_http_result_t s_readyz (const chordd_http_request_t *request)
{
    char reason[128];
    if (chordd_http_ready (request->server, reason, sizeof reason))
        return chordd_http_reply_json (request->connection, MHD_HTTP_OK, json_pack ("{s:b}", "ready", 1));
    return chordd_http_reply_json (request->connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   json_pack ("{s:b,s:s}", "ready", 0, "reason", reason));
}

/* GET /v1/info: the endpoint, each position, the uptime. */
static chordd_http_result_t s_info (const chordd_http_request_t *request)
{
    chordd_http_t *self = request->server;
    struct MHD_Connection *connection = request->connection;
    chordd_http_snapshot_t *snapshot = chordd_http_snapshot (self);
    json_t *positions = json_array ();
    json_t *info = json_pack ("{s:s,s:o,s:f}", "endpoint", self->endpoint, "positions", positions,
                              "uptime_seconds", chordd_http_uptime (self));
    if (!snapshot || !positions || !info) {
        free (snapshot);
        json_decref (info);
        return chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    for (size_t i = 0; i < snapshot->count; i++) {
        const chordd_http_position_t *p = &snapshot->positions[i];
        json_array_append_new (positions,
                               json_pack ("{s:I,s:s,s:s,s:o,s:s,s:I}", "index", (json_int_t) p->index, "id", p->id,
                                          "state", chord_node_state_name (p->state), "predecessor",
                                          p->has_predecessor ? json_string (p->predecessor) : json_null (),
                                          "successor", p->successor, "keys", (json_int_t) p->records));
    }
    free (snapshot);
    return chordd_http_reply_json (connection, MHD_HTTP_OK, info);
}


/* GET /healthz: the process runs. */
static chordd_http_result_t s_healthz (const chordd_http_request_t *request)
{
    return chordd_http_reply_json (request->connection, MHD_HTTP_OK, json_pack ("{s:s}", "status", "ok"));
}

/*  The routes: a path, or a prefix when it ends in '/' (but "/" alone is
    the path of the dashboard, not a prefix of every other), the methods
    its handler takes (a handler that takes others checks the method), and
    what a request needs on a secured ring (http_auth.h: PUBLIC, PROBE,
    READ, WRITE, ADMIN; a PUT or DELETE always needs WRITE).  */
typedef struct {
    const char *path;
    bool get_only;
    chordd_http_access_t role;
    chordd_http_handler_fn *handler;
} s_route_t;

static const s_route_t s_routes[] = {
    {"/healthz", true, CHORDD_HTTP_PROBE, s_healthz},
    {"/readyz", true, CHORDD_HTTP_PROBE, s_readyz},
    {"/v1/info", true, CHORDD_HTTP_READ, s_info},
    {"/metrics", true, CHORDD_HTTP_PROBE, chordd_http_metrics},
    {"/v1/ring", true, CHORDD_HTTP_READ, chordd_http_ring_get},
    {"/v1/kv/", false, CHORDD_HTTP_READ, chordd_http_kv},          /* PUT and DELETE: write */
    {"/v1/lookup/", true, CHORDD_HTTP_READ, chordd_http_lookup},
    {"/", true, CHORDD_HTTP_PUBLIC, chordd_http_dashboard},
    {"/dashboard/", true, CHORDD_HTTP_PUBLIC, chordd_http_dashboard},
};

static const s_route_t *s_route (const char *url)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        const char *path = s_routes[i].path;
        size_t len = strlen (path);
        if (len > 1 && path[len - 1] == '/' ? strncmp (url, path, len) == 0 : strcmp (url, path) == 0)
            return &s_routes[i];
    }
    return NULL;
}

/*  On a secured ring: 0 when the request's token (or its loopback address,
    for a probe) allows it on route, else the 401 or 403 it has queued.
    Only the first call of a request is checked; the calls that bring its
    body come after a check that passed.  */
static unsigned s_authorize (chordd_http_t *self, struct MHD_Connection *connection, const s_route_t *route,
                             const char *method, chordd_http_result_t *queued)
{
    bool changes = strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    bool loopback = info && chordd_http_auth_loopback (info->client_addr);
    const char *header = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    chord_role_t held = chordd_http_auth_role (self->auth, header);
    char why[256];
    unsigned status = chordd_http_auth_decide (chordd_http_auth_secured (self->auth), route->role, changes,
                                               loopback, held, why, sizeof why);
    if (status)
        *queued = chordd_http_reply_error (connection, status, why);
    return status;
}

/*  MHD's access handler: routes each request. A route that reads no body
    answers from the first call (a body sent to it is not read).  */
static chordd_http_result_t s_handle (void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **state)
{
    (void) version;
    const s_route_t *route = s_route (url);
    if (!route)
        return chordd_http_reply_error (connection, MHD_HTTP_NOT_FOUND, "not found");
    //  HEAD is a GET whose body MHD leaves unsent (headers, Content-Length included, stay).
    if (route->get_only && strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
        return chordd_http_reply_error (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    chordd_http_result_t queued = MHD_NO;
    if (!*state && s_authorize (cls, connection, route, method, &queued))
        return queued;
    chordd_http_request_t request = {.server = cls, .connection = connection, .url = url, .method = method,
                                     .upload = upload_data, .upload_size = upload_data_size, .state = state};
    return route->handler (&request);
}

/*  Leaves URLs as they came (MHD would percent-decode them, stopping at a
    %00): the key handlers decode their path themselves, byte-exact.  */
static size_t s_unescape_none (void *cls, struct MHD_Connection *connection, char *text)
{
    (void) cls;
    (void) connection;
    return strlen (text);
}

/*  Frees what a handler kept in *state, when its request ends, answered
    or aborted (a client gone mid-upload).  */
static void s_completed (void *cls, struct MHD_Connection *connection, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) connection;
    (void) code;
    chordd_http_state_t *kept = *state;
    if (kept)
        kept->destroy (kept);
    *state = NULL;
}

/*  MHD logs a line for each connection it refuses or that breaks off: a
    client opening thousands would flood the log. At most S_LOG_PER_S
    lines pass each second; the rest are counted, and the count is told
    with the next line that passes. MHD calls this from any thread.  */
#define S_LOG_PER_S 10
static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t s_log_second;             /* the second s_log_lines counts in (CLOCK_MONOTONIC) */
static unsigned s_log_lines;            /* lines logged in it */
static unsigned long long s_log_dropped;    /* lines suppressed since the last one logged */

static void s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    unsigned long long dropped = 0;
    pthread_mutex_lock (&s_log_lock);
    if (now.tv_sec != s_log_second) {
        s_log_second = now.tv_sec;
        s_log_lines = 0;
    }
    bool pass = s_log_lines < S_LOG_PER_S;
    if (pass) {
        s_log_lines++;
        dropped = s_log_dropped;
        s_log_dropped = 0;
    }
    else
        s_log_dropped++;
    pthread_mutex_unlock (&s_log_lock);
    if (!pass)
        return;
    char line[512];
    vsnprintf (line, sizeof line, fmt, ap);
    size_t len = strlen (line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = 0;
    if (dropped)
        chordd_log (CHORD_LOG_WARN, "http: %s (%llu more lines suppressed before this one)", line, dropped);
    else
        chordd_log (CHORD_LOG_WARN, "http: %s", line);
}

/* A listening socket on address, non-blocking; or -1 with errno set. */
static int s_listen (const struct sockaddr_storage *address, socklen_t address_len)
{
    int fd = socket (address->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind (fd, (const struct sockaddr *) address, address_len) != 0 || listen (fd, 64) != 0) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/*  Starts MHD with the signals chordd handles blocked in its thread, so
    that they reach the main loop's poll.  */
static struct MHD_Daemon *s_start_daemon (chordd_http_t *self, int fd)
{
    sigset_t blocked, old;
    sigemptyset (&blocked);
    sigaddset (&blocked, SIGTERM);
    sigaddset (&blocked, SIGINT);
    sigaddset (&blocked, SIGHUP);
    sigaddset (&blocked, SIGPIPE);
    pthread_sigmask (SIG_BLOCK, &blocked, &old);
    struct MHD_Daemon *daemon = MHD_start_daemon (
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, s_handle, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) CHORDD_HTTP_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) CHORDD_HTTP_PER_ADDRESS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) CHORDD_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) S_MEMORY_LIMIT,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t) S_THREAD_STACK,
        MHD_OPTION_UNESCAPE_CALLBACK, s_unescape_none, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return daemon;
}

chord_client_t *chordd_http_connect (const chordd_http_t *self, const char *endpoint)
{
    return chord_client_new_curve (endpoint, self->secured ? &self->curve : NULL);
}

chordd_http_t *chordd_http_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, const chord_client_curve_t *curve, char *error,
                                  size_t error_size)
{
    chordd_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    if (curve) {
        self->secured = true;
        self->curve = *curve;
    }
    self->auth = chordd_http_auth_new (self->secured);
    self->pool = chordd_client_pool_new (endpoint, curve, S_POOL_KEEP);
    if (!self->auth || !self->pool) {
        snprintf (error, error_size, "out of memory");
        chordd_http_stop (&self);
        return NULL;
    }
    self->ring = chordd_http_ring_new ();
    clock_gettime (CLOCK_MONOTONIC, &self->started);
    self->start_time_s = chordd_http_process_start_time ();
    int fd = s_listen (address, address_len);
    if (fd < 0) {
        snprintf (error, error_size, "cannot listen on %s: %s", text, strerror (errno));
        chordd_http_stop (&self);
        return NULL;
    }
    self->daemon = s_start_daemon (self, fd);
    if (!self->daemon) {
        //  fd is left open: whether MHD closed it on failure is not
        //  documented, and chordd exits on this error.
        snprintf (error, error_size, "cannot start the HTTP server on %s (see the log above)", text);
        chordd_http_stop (&self);
        return NULL;
    }
    chordd_log (CHORD_LOG_INFO, "http: serving on %s", text);
    return self;
}

int chordd_http_tokens_load (chordd_http_t *self, const char *path, const char *what, char *error,
                             size_t error_size)
{
    if (chordd_http_auth_load (self->auth, path, error, error_size) != 0)
        return -1;
    chordd_log (CHORD_LOG_INFO, "http: %s %s: %zu read, %zu write and %zu admin tokens", what, path,
                chordd_http_auth_count (self->auth, CHORD_ROLE_READ),
                chordd_http_auth_count (self->auth, CHORD_ROLE_WRITE),
                chordd_http_auth_count (self->auth, CHORD_ROLE_ADMIN));
    return 0;
}

void chordd_http_publish (chordd_http_t *self, const chordd_http_snapshot_t *snapshot)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    clock_gettime (CLOCK_MONOTONIC, &self->published);
    self->snapshot.count = snapshot->count;
    self->snapshot.dropped = snapshot->dropped;
    self->snapshot.daemon = snapshot->daemon;
    memcpy (self->snapshot.positions, snapshot->positions, snapshot->count * sizeof snapshot->positions[0]);
    pthread_mutex_unlock (&self->lock);
}

void chordd_http_stop (chordd_http_t **self_p)
{
    chordd_http_t *self = *self_p;
    if (!self)
        return;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    chordd_http_ring_destroy (&self->ring);
    chordd_client_pool_destroy (&self->pool);
    sodium_memzero (&self->curve, sizeof self->curve);
    chordd_http_auth_destroy (&self->auth);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
