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
    if (!after || sscanf (after + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %*s "
                          "%*s %*s %*s %llu", &utime, &stime, &rss) != 3)
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
    const char *name;       /* the family's name */
    size_t offset;          /* of its uint64_t in chord_node_stats_t */
    const char *help;       /* its HELP text */
} s_counter_t;

#define S_STAT(field) offsetof (chord_node_stats_t, field)

static const s_counter_t s_counters[] = {
    {"chord_messages_sent_total", S_STAT (messages_sent), "Messages the positions sent."},
    {"chord_messages_refused_total", S_STAT (messages_refused),
     "Messages beyond their sender's role (also counted as dropped, reason refused)."},
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

static void s_header (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void s_family (FILE *out, const char *name, const char *type, const char *help, double value)
{
    s_header (out, name, type, help);
    fprintf (out, "%s %.17g\n", name, value);
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

/*  Writes one histogram's series: cumulative _bucket lines ending in
    +Inf, then _sum and _count. labels is "" or `op="get",` (with the
    comma); scale turns the bounds' unit into the family's (1e-3 for ms
    into seconds).  */
static void s_histogram (FILE *out, const char *name, const char *labels, const chord_histogram_t *histogram,
                         const chord_histogram_bounds_t *bounds, double scale)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds->count; i++) {
        cumulative += histogram->buckets[i];
        fprintf (out, "%s_bucket{%sle=\"%.6g\"} %llu\n", name, labels, (double) bounds->bounds[i] * scale,
                 (unsigned long long) cumulative);
    }
    fprintf (out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long) histogram->count);
    size_t plain = strlen (labels);
    if (plain > 0)
        plain--; /* without the trailing comma */
    fprintf (out, "%s_sum%s%.*s%s %.17g\n", name, plain ? "{" : "", (int) plain, labels, plain ? "}" : "",
             (double) histogram->sum * scale);
    fprintf (out, "%s_count%s%.*s%s %llu\n", name, plain ? "{" : "", (int) plain, labels, plain ? "}" : "",
             (unsigned long long) histogram->count);
}

/* Messages received by type, and dropped by reason (the positions' and chordd's own). */
static void s_message_metrics (FILE *out, const chordd_http_snapshot_t *snapshot)
{
    s_header (out, "chord_messages_received_total", "counter",
              "Messages decoded, admitted and handled by the positions, by type.");
    for (unsigned type = 0; type < CHORD_MSG_TYPE_SLOTS; type++) {
        const char *name = chord_msg_type_name ((chord_msg_type_t) type);
        if (strcmp (name, "unknown") != 0)
            fprintf (out, "chord_messages_received_total{type=\"%s\"} %llu\n", name,
                     (unsigned long long) s_sum (snapshot, S_STAT (received_by_type) + type * sizeof (uint64_t)));
    }
    s_header (out, "chord_messages_dropped_total", "counter",
              "Messages dropped, by reason: undecodable, refused (beyond the sender's role), unbound (a peer id "
              "not its endpoint's), stale_reply, unexpected, malformed, unroutable (for a position not held "
              "here), stopped (after a failed store commit).");
    const chordd_http_daemon_stats_t *daemon = &snapshot->daemon;
    for (unsigned reason = 0; reason < CHORD_DROP_REASONS; reason++) {
        uint64_t count = s_sum (snapshot, S_STAT (dropped_by_reason) + reason * sizeof (uint64_t));
        if (reason == CHORD_DROP_UNDECODABLE)
            count += daemon->dropped_undecodable;
        fprintf (out, "chord_messages_dropped_total{reason=\"%s\"} %llu\n",
                 chord_drop_reason_name ((chord_drop_reason_t) reason), (unsigned long long) count);
    }
    fprintf (out, "chord_messages_dropped_total{reason=\"unroutable\"} %llu\n",
             (unsigned long long) daemon->dropped_unroutable);
    fprintf (out, "chord_messages_dropped_total{reason=\"stopped\"} %llu\n",
             (unsigned long long) daemon->dropped_stopped);
}

/* Client requests by op and status, and their durations by op. */
static void s_client_metrics (FILE *out, const chordd_http_snapshot_t *snapshot)
{
    s_header (out, "chord_client_requests_total", "counter",
              "Client requests answered by this process's positions, by op and status (ok is always listed).");
    for (unsigned op = 0; op < CHORD_CLIENT_OPS; op++)
        for (unsigned status = 0; status < CHORD_STATUS_SLOTS; status++) {
            uint64_t count = 0;
            for (size_t i = 0; i < snapshot->count; i++)
                count += snapshot->positions[i].stats.client_requests[op][status];
            if (count == 0 && status != CHORD_STATUS_OK)
                continue;
            fprintf (out, "chord_client_requests_total{op=\"%s\",status=\"%s\"} %llu\n",
                     chord_client_op_name ((chord_client_op_t) op), chord_status_name ((chord_status_t) status),
                     (unsigned long long) count);
        }
    s_header (out, "chord_client_request_duration_seconds", "histogram",
              "From a client request's arrival at its entry position to its answer, by op.");
    for (unsigned op = 0; op < CHORD_CLIENT_OPS; op++) {
        chord_histogram_t total = {0};
        for (size_t i = 0; i < snapshot->count; i++)
            chord_histogram_add (&total, &snapshot->positions[i].stats.client_duration_ms[op]);
        char labels[32];
        snprintf (labels, sizeof labels, "op=\"%s\",", chord_client_op_name ((chord_client_op_t) op));
        s_histogram (out, "chord_client_request_duration_seconds", labels, &total, &chord_duration_ms_bounds, 1e-3);
    }
    chord_histogram_t hops = {0}, lookups = {0};
    for (size_t i = 0; i < snapshot->count; i++) {
        chord_histogram_add (&hops, &snapshot->positions[i].stats.lookup_hops);
        chord_histogram_add (&lookups, &snapshot->positions[i].stats.lookup_duration_ms);
    }
    s_header (out, "chord_lookup_hops", "histogram", "Peers that answered each lookup that found an owner.");
    s_histogram (out, "chord_lookup_hops", "", &hops, &chord_hops_bounds, 1);
    s_header (out, "chord_lookup_duration_seconds", "histogram", "From a lookup's start to its owner found.");
    s_histogram (out, "chord_lookup_duration_seconds", "", &lookups, &chord_duration_ms_bounds, 1e-3);
    s_header (out, "chord_store_commit_duration_seconds", "histogram",
              "Each commit of a batch of writes to an on-disk store (chordd's loop, around chord_store_commit).");
    s_histogram (out, "chord_store_commit_duration_seconds", "", &snapshot->daemon.commit_duration_us,
                 &chord_duration_us_bounds, 1e-6);
}

/*  The ring gauges and the census. Successors and distinct fingers are
    the least over the active positions (the weakest position is what an
    operator watches); the owned ratio is the sum over the positions, so
    that it sums to 1 over the ring.  */
static void s_ring_metrics (FILE *out, const chordd_http_snapshot_t *snapshot)
{
    size_t active = 0, successors = 0, fingers = 0;
    double owned = 0;
    chord_census_t census = {0};
    for (size_t i = 0; i < snapshot->count; i++) {
        const chord_node_gauges_t *gauges = &snapshot->positions[i].gauges;
        owned += gauges->owned_ratio;
        census.owned += gauges->census.owned;
        census.replica += gauges->census.replica;
        census.tombstones += gauges->census.tombstones;
        census.bytes += gauges->census.bytes;
        if (snapshot->positions[i].state != CHORD_NODE_ACTIVE)
            continue;
        successors = active == 0 || gauges->successors < successors ? gauges->successors : successors;
        fingers = active == 0 || gauges->fingers_distinct < fingers ? gauges->fingers_distinct : fingers;
        active++;
    }
    s_family (out, "chord_positions", "gauge", "Ring positions this process holds.", (double) snapshot->count);
    s_family (out, "chord_positions_active", "gauge", "Ring positions that are members of the ring, serving.",
              (double) active);
    s_family (out, "chord_successors", "gauge",
              "Live successors known, the least over the active positions (0 when none, or alone).",
              (double) successors);
    s_family (out, "chord_fingers_distinct", "gauge",
              "Distinct peers among the fingers, the least over the active positions.", (double) fingers);
    s_family (out, "chord_ring_owned_ratio", "gauge",
              "Fraction of the id space the process's positions own, (predecessor, self] summed; "
              "sums to 1 over the ring.",
              owned);
    s_header (out, "chord_records", "gauge",
              "Records in the positions' stores by kind: owned (live, in their arcs), replica (live copies "
              "for other owners), tombstone; from a census at most about 5 s old.");
    fprintf (out, "chord_records{kind=\"owned\"} %llu\n", (unsigned long long) census.owned);
    fprintf (out, "chord_records{kind=\"replica\"} %llu\n", (unsigned long long) census.replica);
    fprintf (out, "chord_records{kind=\"tombstone\"} %llu\n", (unsigned long long) census.tombstones);
    s_family (out, "chord_stored_bytes", "gauge", "Key and record bytes in the positions' stores (census).",
              (double) census.bytes);
}

/* The chord_ families, from the snapshot. */
static void s_chord_metrics (FILE *out, const chordd_http_snapshot_t *snapshot)
{
    s_message_metrics (out, snapshot);
    for (size_t i = 0; i < sizeof s_counters / sizeof s_counters[0]; i++)
        s_family (out, s_counters[i].name, "counter", s_counters[i].help,
                  (double) s_sum (snapshot, s_counters[i].offset));
    s_client_metrics (out, snapshot);
    s_ring_metrics (out, snapshot);
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

