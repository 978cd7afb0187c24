/*  chordd's GET /metrics: the Prometheus text exposition (format 0.0.4) of
    the last snapshot, and the process_ families as the Prometheus client
    libraries name them, read from /proc.  */
#include "http_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define S_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* From /proc/self/stat's starttime and /proc/stat's btime; else now. */
double chordd_http_process_start_time (void)
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
chordd_http_result_t chordd_http_metrics (const chordd_http_request_t *request)
{
    chordd_http_t *self = request->server;
    struct MHD_Connection *connection = request->connection;
    chordd_http_snapshot_t *snapshot = chordd_http_snapshot (self);
    char *body = NULL;
    size_t size = 0;
    FILE *out = snapshot ? open_memstream (&body, &size) : NULL;
    if (!out) {
        free (snapshot);
        return chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    s_chord_metrics (out, snapshot);
    s_process_metrics (out, self);
    free (snapshot);
    if (fclose (out) != 0 || !body) {
        free (body);
        return chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    chordd_http_result_t rc = chordd_http_reply (connection, MHD_HTTP_OK, S_PROMETHEUS, body, size);
    free (body);
    return rc;
}

