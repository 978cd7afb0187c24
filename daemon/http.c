/*  chordd's HTTP side on libmicrohttpd: /healthz, /readyz, /v1/info and
    /metrics, rendered from the snapshot the main loop last published.

    MHD runs its own polling thread (epoll or poll, not select, since
    chordd's descriptors may pass FD_SETSIZE), with a cap on connections,
    an idle timeout and a small memory budget per connection, so slow or
    half-open HTTP clients cost that thread and never the ring's loop.  */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#if MHD_VERSION < 0x00097002
typedef int s_result_t;
#else
typedef enum MHD_Result s_result_t;
#endif

#define S_MEMORY_LIMIT (16 * 1024)     /* bytes MHD may use per connection */
#define S_JSON "application/json"
#define S_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

struct chordd_http {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;                   /* guards snapshot */
    chordd_http_snapshot_t snapshot;
    char endpoint[CHORD_ENDPOINT_MAX + 1];
    struct timespec started;                /* CLOCK_MONOTONIC at start, for uptime */
    double start_time_s;                    /* process start, seconds since the epoch */
};

/* Seconds since the epoch at which this process started, from
   /proc/self/stat's starttime and /proc/stat's btime; else now. */
static double s_process_start_time (void)
{
    double fallback = (double) time (NULL);
    char buffer[1024];
    FILE *f = fopen ("/proc/self/stat", "r");
    if (!f)
        return fallback;
    size_t got = fread (buffer, 1, sizeof buffer - 1, f);
    fclose (f);
    buffer[got] = 0;
    const char *after = strrchr (buffer, ')');   /* the command name may hold spaces */
    unsigned long long start_ticks = 0;
    //  After "pid (comm)": state is field 3, starttime field 22.
    if (!after || sscanf (after + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
                          &start_ticks) != 1)
        return fallback;
    f = fopen ("/proc/stat", "r");
    if (!f)
        return fallback;
    unsigned long long boot = 0;
    char line[256];
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "btime %llu", &boot) == 1)
            break;
    fclose (f);
    long ticks = sysconf (_SC_CLK_TCK);
    return boot && ticks > 0 ? (double) boot + (double) start_ticks / (double) ticks : fallback;
}

/* Resident memory in bytes and CPU seconds (user + system), from /proc/self/stat. */
static int s_process_usage (double *rss_bytes, double *cpu_seconds)
{
    char buffer[1024];
    FILE *f = fopen ("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t got = fread (buffer, 1, sizeof buffer - 1, f);
    fclose (f);
    buffer[got] = 0;
    const char *after = strrchr (buffer, ')');
    unsigned long long utime, stime, rss;
    //  utime and stime are fields 14 and 15, rss (pages) field 24.
    if (!after || sscanf (after + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %*s %*s "
                          "%*s %*s %llu", &utime, &stime, &rss) != 3)
        return -1;
    long ticks = sysconf (_SC_CLK_TCK);
    long page = sysconf (_SC_PAGESIZE);
    *cpu_seconds = ticks > 0 ? (double) (utime + stime) / (double) ticks : 0;
    *rss_bytes = (double) rss * (double) (page > 0 ? page : 4096);
    return 0;
}

/* Open descriptors: the entries of /proc/self/fd, less the one listing it. */
static long s_open_fds (void)
{
    DIR *dir = opendir ("/proc/self/fd");
    if (!dir)
        return -1;
    long count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name[0] != '.')
            count++;
    closedir (dir);
    return count - 1;
}

static double s_uptime (const chordd_http_t *self)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - self->started.tv_sec) + (double) (now.tv_nsec - self->started.tv_nsec) / 1e9;
}

/* A copy of the last snapshot (the caller frees it), or NULL. */
static chordd_http_snapshot_t *s_snapshot (chordd_http_t *self)
{
    chordd_http_snapshot_t *copy = malloc (sizeof *copy);
    if (!copy)
        return NULL;
    pthread_mutex_lock (&self->lock);
    memcpy (copy, &self->snapshot, sizeof *copy);
    pthread_mutex_unlock (&self->lock);
    return copy;
}

/* Queues a response of status with body (copied) and content type. */
static s_result_t s_reply (struct MHD_Connection *connection, unsigned status, const char *type, const char *body,
                           size_t size, bool allow_get)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (size, (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow_get)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, "GET");
    s_result_t rc = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return rc;
}

/* Queues json (which it takes) as the body of a response of status. */
static s_result_t s_reply_json (struct MHD_Connection *connection, unsigned status, json_t *json, bool allow_get)
{
    char *body = json ? json_dumps (json, JSON_COMPACT) : NULL;
    json_decref (json);
    if (!body)
        return s_reply (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, S_JSON, "{\"error\":\"out of memory\"}\n",
                        25, false);
    size_t size = strlen (body);
    char *line = realloc (body, size + 2);
    if (line) {
        body = line;
        body[size++] = '\n';
        body[size] = 0;
    }
    s_result_t rc = s_reply (connection, status, S_JSON, body, size, allow_get);
    free (body);
    return rc;
}

static s_result_t s_reply_error (struct MHD_Connection *connection, unsigned status, const char *error)
{
    return s_reply_json (connection, status, json_pack ("{s:s}", "error", error),
                         status == MHD_HTTP_METHOD_NOT_ALLOWED);
}

/* GET /readyz: 200 while every position is active, else 503 and why. */
static s_result_t s_readyz (chordd_http_t *self, struct MHD_Connection *connection)
{
    chordd_http_snapshot_t *snapshot = s_snapshot (self);
    if (!snapshot)
        return s_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    char reason[128] = "";
    if (snapshot->count == 0)
        snprintf (reason, sizeof reason, "starting: the ring positions are not chosen yet");
    for (size_t i = 0; i < snapshot->count && !reason[0]; i++)
        if (snapshot->positions[i].state != CHORD_NODE_ACTIVE)
            snprintf (reason, sizeof reason, "position %u is %s", snapshot->positions[i].index,
                      chord_node_state_name (snapshot->positions[i].state));
    free (snapshot);
    if (!reason[0])
        return s_reply_json (connection, MHD_HTTP_OK, json_pack ("{s:b}", "ready", 1), false);
    return s_reply_json (connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                         json_pack ("{s:b,s:s}", "ready", 0, "reason", reason), false);
}

/* GET /v1/info: the endpoint, each position, the uptime. */
static s_result_t s_info (chordd_http_t *self, struct MHD_Connection *connection)
{
    chordd_http_snapshot_t *snapshot = s_snapshot (self);
    json_t *positions = json_array ();
    json_t *info = json_pack ("{s:s,s:o,s:f}", "endpoint", self->endpoint, "positions", positions,
                              "uptime_seconds", s_uptime (self));
    if (!snapshot || !positions || !info) {
        free (snapshot);
        json_decref (info);
        return s_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
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
    return s_reply_json (connection, MHD_HTTP_OK, info, false);
}

/* A counter of chord_node_stats_t, summed over the positions. */
typedef struct {
    const char *name;
    size_t offset;
    const char *help;
} s_counter_t;

#define S_STAT(field) offsetof (chord_node_stats_t, field)

static const s_counter_t s_counters[] = {
    {"chord_messages_received_total", S_STAT (messages_received), "Messages decoded and handled by the positions."},
    {"chord_messages_sent_total", S_STAT (messages_sent), "Messages the positions sent."},
    {"chord_messages_refused_total", S_STAT (messages_refused),
     "Messages beyond their sender's role (also counted as dropped)."},
    {"chord_lookups_total", S_STAT (lookups_done), "Lookups that found the owner of an id."},
    {"chord_lookup_failures_total", S_STAT (lookups_failed), "Lookups that failed."},
    {"chord_lookup_hops_total", S_STAT (lookup_hops_total), "Hops taken by the lookups that found an owner."},
    {"chord_owner_cache_hits_total", S_STAT (owner_cache_hits),
     "Data operations sent straight to a remembered owner."},
    {"chord_rpc_timeouts_total", S_STAT (rpc_timeouts), "Requests to other peers that timed out."},
    {"chord_keys_handed_off_total", S_STAT (keys_handed_off), "Keys sent to another peer on a join or a leave."},
    {"chord_keys_taken_over_total", S_STAT (keys_taken_over), "Keys received from another peer."},
    {"chord_records_refused_total", S_STAT (records_refused),
     "Records refused for a version too far ahead of this peer's clock."},
    {"chord_writes_without_quorum_total", S_STAT (writes_no_quorum),
     "Writes that fewer copies than the write quorum acknowledged."},
    {"chord_read_repairs_total", S_STAT (read_repairs), "Stale or missing copies rewritten after a read."},
    {"chord_sync_rounds_total", S_STAT (sync_rounds), "Anti-entropy exchanges started."},
    {"chord_sync_items_sent_total", S_STAT (sync_items_sent), "Records shipped by anti-entropy."},
    {"chord_tombstones_purged_total", S_STAT (tombstones_purged), "Tombstones purged after their grace period."},
    {"chord_copies_dropped_total", S_STAT (copies_dropped), "Copies that no owner kept with this peer any more."},
};

static void s_family (FILE *out, const char *name, const char *type, const char *help, double value)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

static uint64_t s_sum (const chordd_http_snapshot_t *snapshot, size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < snapshot->count; i++) {
        uint64_t value;
        memcpy (&value, (const char *) &snapshot->positions[i].stats + offset, sizeof value);
        sum += value;
    }
    return sum;
}

/* The chord_ families, from the snapshot. */
static void s_chord_metrics (FILE *out, const chordd_http_snapshot_t *snapshot)
{
    s_family (out, "chord_messages_dropped_total", "counter",
              "Messages dropped: undecodable, unroutable, malformed, unexpected or refused.",
              (double) (s_sum (snapshot, S_STAT (messages_dropped)) + snapshot->dropped));
    for (size_t i = 0; i < sizeof s_counters / sizeof s_counters[0]; i++)
        s_family (out, s_counters[i].name, "counter", s_counters[i].help,
                  (double) s_sum (snapshot, s_counters[i].offset));
    size_t active = 0;
    uint64_t records = 0;
    for (size_t i = 0; i < snapshot->count; i++) {
        active += snapshot->positions[i].state == CHORD_NODE_ACTIVE;
        records += snapshot->positions[i].records;
    }
    s_family (out, "chord_positions", "gauge", "Ring positions this process holds.", (double) snapshot->count);
    s_family (out, "chord_positions_active", "gauge", "Ring positions that are members of the ring, serving.",
              (double) active);
    s_family (out, "chord_records", "gauge", "Records (keys and tombstones) in the positions' stores.",
              (double) records);
}

/* The process_ families, as the Prometheus client libraries name them. */
static void s_process_metrics (FILE *out, const chordd_http_t *self)
{
    double rss, cpu;
    if (s_process_usage (&rss, &cpu) == 0) {
        s_family (out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                  cpu);
        s_family (out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
    }
    long fds = s_open_fds ();
    if (fds >= 0)
        s_family (out, "process_open_fds", "gauge", "Number of open file descriptors.", (double) fds);
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        s_family (out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                  (double) limit.rlim_cur);
    s_family (out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
              self->start_time_s);
}

/* GET /metrics: Prometheus text exposition format 0.0.4. */
static s_result_t s_metrics (chordd_http_t *self, struct MHD_Connection *connection)
{
    chordd_http_snapshot_t *snapshot = s_snapshot (self);
    char *body = NULL;
    size_t size = 0;
    FILE *out = snapshot ? open_memstream (&body, &size) : NULL;
    if (!out) {
        free (snapshot);
        return s_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    s_chord_metrics (out, snapshot);
    s_process_metrics (out, self);
    free (snapshot);
    if (fclose (out) != 0 || !body) {
        free (body);
        return s_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    s_result_t rc = s_reply (connection, MHD_HTTP_OK, S_PROMETHEUS, body, size, false);
    free (body);
    return rc;
}

/*  MHD's access handler: answers at once, from the first call, as no
    endpoint reads a body (one sent with another method is not read).  */
static s_result_t s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                            const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) state;
    chordd_http_t *self = cls;
    static const char *paths[] = {"/healthz", "/readyz", "/v1/info", "/metrics"};
    size_t path = 0;
    while (path < 4 && strcmp (url, paths[path]) != 0)
        path++;
    if (path == 4)
        return s_reply_error (connection, MHD_HTTP_NOT_FOUND, "not found");
    if (strcmp (method, MHD_HTTP_METHOD_GET) != 0)
        return s_reply_error (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    if (path == 0)
        return s_reply_json (connection, MHD_HTTP_OK, json_pack ("{s:s}", "status", "ok"), false);
    if (path == 1)
        return s_readyz (self, connection);
    if (path == 2)
        return s_info (self, connection);
    return s_metrics (self, connection);
}

static void s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char line[512];
    vsnprintf (line, sizeof line, fmt, ap);
    size_t len = strlen (line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = 0;
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
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handle, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) CHORDD_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) CHORDD_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) S_MEMORY_LIMIT,
        MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return daemon;
}

chordd_http_t *chordd_http_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, char *error, size_t error_size)
{
    chordd_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    clock_gettime (CLOCK_MONOTONIC, &self->started);
    self->start_time_s = s_process_start_time ();
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

void chordd_http_publish (chordd_http_t *self, const chordd_http_snapshot_t *snapshot)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->snapshot.count = snapshot->count;
    self->snapshot.dropped = snapshot->dropped;
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
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
