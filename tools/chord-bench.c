/*  chord-bench: put/get throughput and latency of a chord ring.

    Starts a local ring of chordd processes on free loopback ports (or uses
    a running ring, with --connect), waits until the successors form one
    cycle, then runs two timed phases: puts, then gets of keys that were
    put. Each phase keeps a fixed number of requests in flight through the
    ring client (tools/ring_client.h): straight to each key's owner
    (--route owner), or round-robin over one connection per peer (--route
    entry), and replaces every completion at once. Latency is measured per request on the monotonic
    clock, from just before the send to just after the reply is decoded.

    The peers it starts are its children: they are stopped (SIGTERM, then
    SIGKILL after a bounded wait) and reaped on every way out, including
    SIGINT, and die with the bench if it is killed outright.  */
#include "bench.h"

volatile sig_atomic_t bench_interrupted;

static const char *s_usage_text =
    "usage: chord-bench [options]\n"
    "\n"
    "Measures put and get throughput and latency of a chord ring. Starts a ring of\n"
    "chordd peers on free loopback ports, waits until it has converged (reporting\n"
    "how long that took), then runs a put phase and a get phase of the keys put,\n"
    "each keeping a fixed number of requests in flight. The peers are stopped at\n"
    "the end.\n"
    "\n"
    "  --peers N          start a ring of N peers (default 1, at most 256)\n"
    "  --inflight K       requests in flight in total (default 50)\n"
    "  --route owner|entry  owner (default): learn the ring and send each request\n"
    "                     straight to its key's owner position; entry: spread them\n"
    "                     round-robin over one connection per peer, which forward\n"
    "                     to the owner (two round trips)\n"
    "  --seconds S        length of each phase (default 5)\n"
    "  --value-size B     bytes in each value, random (default 100)\n"
    "  --keys K           key space: keys are bench-0 .. bench-(K-1) (default 10000)\n"
    "  --chordd PATH      the chordd to start (default: chordd next to chord-bench)\n"
    "  --stabilize-ms MS  passed to each chordd (default 500)\n"
    "  --connect ENDPOINT benchmark a running ring through this peer instead of\n"
    "                     starting one; repeat for several (then not with --peers)\n"
    "  --secret FILE      a ring secured with this cluster secret: the peers started\n"
    "                     get --secret FILE, and the bench connects with CURVE (to\n"
    "                     measure what encryption costs)\n"
    "  --json             print the results as one JSON object\n"
    "  -h, --help         this text\n"
    "\n"
    "Per phase it prints the route, the operations answered OK, OK operations per\n"
    "second, their latency (p50, p99, max) and the errors: any other status, no\n"
    "answer within 5 s (lost), or a failed send; then the replies that say another\n"
    "position served the key (forwarded), the client's re-learnings of the ring\n"
    "(refreshes) and the requests it sent again (retries). Each operation has\n"
    "5000 ms, retries included.\n"
    "\n"
    "Exit status: 0 figures printed; 1 the ring did not start or converge, a\n"
    "peer died, or no operation succeeded; 2 bad options; 130 interrupted.\n";

/* ------------------------------------------------------------- helpers */

void bench_error (const char *fmt, ...)
{
    va_list ap;
    fputs ("chord-bench: ", stderr);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
}

void bench_sleep_ms (int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep (&ts, NULL); /* a signal cuts it short; callers check */
}

static uint64_t s_random (bench_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void s_random_fill (bench_t *self, uint8_t *buf, size_t len)
{
    while (len > 0) {
        uint64_t word = s_random (self);
        size_t n = len < sizeof word ? len : sizeof word;
        memcpy (buf, &word, n);
        buf += n;
        len -= n;
    }
}

static void s_on_signal (int signo)
{
    (void)signo;
    bench_interrupted = 1;
}

static int s_install_signals (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal; /* no SA_RESTART: waits return EINTR */
    sigemptyset (&action.sa_mask);
    if (sigaction (SIGINT, &action, NULL) != 0 || sigaction (SIGTERM, &action, NULL) != 0 ||
        sigaction (SIGHUP, &action, NULL) != 0)
        return -1;
    signal (SIGPIPE, SIG_IGN);
    return 0;
}

/* ------------------------------------------------------------- options */

/* Parses a number option's value into *value, or says what it wants and returns 2. */
static int s_option_number (const char *name, const char *text, long min, long max, const char *unit,
                            long *value)
{
    if (util_parse_long (text, min, max, value) == 0)
        return 0;
    bench_error ("--%s %s: want %ld..%ld%s", name, text, min, max, unit);
    return 2;
}

/* Sets one option that takes a value; returns 0 or 2 after saying why not. */
static int s_option_set (bench_options_t *options, const char *name, const char *value, bool *peers_given)
{
    long number = 0;
    int rc = 0;
    if (strcmp (name, "route") == 0) {
        if (strcmp (value, "owner") != 0 && strcmp (value, "entry") != 0) {
            bench_error ("--route %s: want owner or entry", value);
            return 2;
        }
        options->route = value[0] == 'o' ? RING_ROUTE_OWNER : RING_ROUTE_ENTRY;
    } else if (strcmp (name, "secret") == 0 || strcmp (name, "chordd") == 0) {
        if (value[0] == '\0') {
            bench_error ("--%s needs a %s", name, name[0] == 's' ? "file" : "path");
            return 2;
        }
        *(name[0] == 's' ? &options->secret : &options->chordd) = value;
    } else if (strcmp (name, "connect") == 0) {
        if (options->connect_count == S_PEERS_MAX) {
            bench_error ("at most %d --connect endpoints", S_PEERS_MAX);
            return 2;
        }
        if (strncmp (value, "tcp://", 6) != 0 && strncmp (value, "ipc://", 6) != 0) {
            bench_error ("--connect %s: not a tcp:// or ipc:// endpoint", value);
            return 2;
        }
        if (strlen (value) > CHORD_ENDPOINT_MAX) {
            bench_error ("--connect: endpoint longer than %d bytes", CHORD_ENDPOINT_MAX);
            return 2;
        }
        options->connect[options->connect_count++] = value;
    } else if (strcmp (name, "peers") == 0) {
        if ((rc = s_option_number (name, value, 1, S_PEERS_MAX, "", &number)) == 0)
            options->peer_count = (int) number;
        *peers_given = true;
    } else if (strcmp (name, "inflight") == 0) {
        if ((rc = s_option_number (name, value, 1, S_INFLIGHT_MAX, "", &number)) == 0)
            options->inflight = (int) number;
    } else if (strcmp (name, "seconds") == 0) {
        if ((rc = s_option_number (name, value, 1, S_SECONDS_MAX, "", &number)) == 0)
            options->seconds = (int) number;
    } else if (strcmp (name, "value-size") == 0) {
        if ((rc = s_option_number (name, value, 0, CHORD_VALUE_MAX, " bytes", &number)) == 0)
            options->value_size = (size_t) number;
    } else if (strcmp (name, "keys") == 0) {
        if ((rc = s_option_number (name, value, 1, S_KEYS_MAX, "", &number)) == 0)
            options->keys = (uint32_t) number;
    } else if ((rc = s_option_number (name, value, 1, S_STABILIZE_MS_MAX, "", &number)) == 0)
        options->stabilize_ms = (int) number; /* --stabilize-ms */
    return rc;
}

/* Parses the command line into *options. Returns 0, 1 after --help, or 2
   after printing why the options are bad. */
static int s_options_parse (bench_options_t *options, int argc, char **argv)
{
    *options = (bench_options_t){
        .peer_count = 1,
        .inflight = 50,
        .seconds = 5,
        .value_size = 100,
        .keys = 10000,
        .stabilize_ms = 500,
        .route = RING_ROUTE_OWNER,
    };
    static const struct option longs[] = {
        {"peers", required_argument, NULL, 0},  {"inflight", required_argument, NULL, 0},
        {"seconds", required_argument, NULL, 0}, {"value-size", required_argument, NULL, 0},
        {"keys", required_argument, NULL, 0},   {"chordd", required_argument, NULL, 0},
        {"stabilize-ms", required_argument, NULL, 0}, {"connect", required_argument, NULL, 0},
        {"secret", required_argument, NULL, 0}, {"route", required_argument, NULL, 0},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    bool peers_given = false;
    opterr = 0;
    optind = 1;
    int c, index;
    while ((c = getopt_long (argc, argv, ":h", longs, &index)) != -1) {
        if (c == 'h') {
            fputs (s_usage_text, stdout);
            return 1;
        } else if (c == 'j')
            options->json = true;
        else if (c == ':') {
            bench_error ("%s needs a value", argv[optind - 1]);
            return 2;
        } else if (c == '?') {
            bench_error ("unknown option %.40s (see --help)", argv[optind - 1]);
            return 2;
        } else if (s_option_set (options, longs[index].name, optarg, &peers_given) != 0)
            return 2;
    }
    if (optind < argc) {
        bench_error ("unknown option %.40s (see --help)", argv[optind]);
        return 2;
    }
    if (peers_given && options->connect_count > 0) {
        bench_error ("--peers and --connect exclude each other");
        return 2;
    }
    return 0;
}

/* --------------------------------------------------------------- phases */

static void s_phase_error (bench_phase_t *phase, int kind)
{
    phase->errors++;
    phase->error_kinds[kind]++;
}

static void s_phase_latency (bench_phase_t *phase, int64_t latency_ns)
{
    if (phase->latency_count == phase->latency_alloc) {
        size_t alloc = phase->latency_alloc ? phase->latency_alloc * 2 : 65536;
        uint32_t *grown = realloc (phase->latency_us, alloc * sizeof *grown);
        if (!grown)
            return; /* the figure loses a sample, not the run */
        phase->latency_us = grown;
        phase->latency_alloc = alloc;
    }
    int64_t us = latency_ns / 1000;
    phase->latency_us[phase->latency_count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int s_compare_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts the latencies and sets p50, p99 and max (nearest rank). */
static void s_phase_summarise (bench_phase_t *phase)
{
    size_t n = phase->latency_count;
    if (n == 0)
        return;
    qsort (phase->latency_us, n, sizeof *phase->latency_us, s_compare_u32);
    size_t r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100;
    phase->p50_ms = phase->latency_us[(r50 ? r50 : 1) - 1] / 1000.0;
    phase->p99_ms = phase->latency_us[(r99 ? r99 : 1) - 1] / 1000.0;
    phase->max_ms = phase->latency_us[n - 1] / 1000.0;
}

/* A result's tag: when it was sent (microseconds since the bench began),
   the phase (put or get) and the key number. */
#define S_TAG_KEY_BITS 24                /* S_KEYS_MAX fits */
#define S_TAG_PUT_BIT (1ULL << S_TAG_KEY_BITS)
#define S_TAG_SENT_SHIFT (S_TAG_KEY_BITS + 1)
#define S_RESULTS_MAX 256                /* results taken per poll */

static uint64_t s_tag (const bench_t *self, bool put, uint32_t key, int64_t sent_ns)
{
    uint64_t sent_us = (uint64_t) (sent_ns - self->began_ns) / 1000;
    return (sent_us << S_TAG_SENT_SHIFT) | (put ? S_TAG_PUT_BIT : 0) | key;
}

/* Starts one more request of the phase. Returns 0, or -1 when the client
   cannot take it now (a full send queue counts as an error). */
static int s_send_one (bench_t *self, bench_phase_t *phase, bool put, uint64_t *sequence)
{
    uint32_t key = put ? (uint32_t)((*sequence)++ % self->options.keys)
                       : self->put_keys[s_random (self) % self->put_key_count];
    char key_text[S_KEY_BYTES_MAX];
    int key_len = snprintf (key_text, sizeof key_text, "bench-%u", key);
    if (put)
        s_random_fill (self, self->value, self->options.value_size);
    int64_t sent_ns = util_now_ns ();
    int rc = ring_client_submit (self->ring, put ? CHORD_MSG_CLIENT_PUT : CHORD_MSG_CLIENT_GET,
                                 (const uint8_t *)key_text, (size_t)key_len, put ? self->value : NULL,
                                 put ? self->options.value_size : 0, s_tag (self, put, key, sent_ns));
    if (rc != 0 && errno != EBUSY)
        s_phase_error (phase, S_ERR_SEND);
    return rc;
}

/* Counts one finished request. */
static void s_on_result (bench_t *self, bench_phase_t *phase, bool put, const ring_client_result_t *result,
                         int64_t now_ns, int64_t *last_reply_ns)
{
    free (result->value);
    if (((result->tag & S_TAG_PUT_BIT) != 0) != put) {
        phase->strays++; /* a late one of the phase before */
        return;
    }
    *last_reply_ns = now_ns;
    if (!result->answered) {
        s_phase_error (phase, S_ERR_LOST);
        return;
    }
    if (result->status != CHORD_STATUS_OK) {
        s_phase_error (phase,
                       result->status <= CHORD_STATUS_REDIRECT ? (int)result->status : S_ERR_STATUS_OTHER);
        return;
    }
    phase->ops++;
    int64_t sent_ns = self->began_ns + (int64_t) (result->tag >> S_TAG_SENT_SHIFT) * 1000;
    s_phase_latency (phase, now_ns - sent_ns);
    if (put)
        self->key_put[result->tag & (S_TAG_PUT_BIT - 1)] = true;
}

/* Runs one phase: for --seconds keeps --inflight requests in flight,
   replacing each completion at once, then waits (bounded) for the last. */
static void s_phase_run (bench_t *self, bench_phase_t *phase, bool put)
{
    phase->ran = true;
    ring_client_stats_t before = ring_client_stats (self->ring);
    uint64_t sequence = 0;
    int64_t start_ns = util_now_ns ();
    int64_t issue_end_ns = start_ns + (int64_t)self->options.seconds * 1000000000;
    int64_t drain_end_ns = issue_end_ns + (int64_t)S_LOST_MS * 1000000;
    int64_t last_reply_ns = start_ns;
    int64_t next_housekeeping_ns = start_ns + S_HOUSEKEEPING_NS;
    ring_client_result_t results[S_RESULTS_MAX];

    while (!bench_interrupted) {
        int64_t now_ns = util_now_ns ();
        bool issuing = now_ns < issue_end_ns;
        if (!issuing && ring_client_inflight (self->ring) == 0)
            break;
        if (!issuing && now_ns >= drain_end_ns) {
            for (size_t left = ring_client_inflight (self->ring); left > 0; left--)
                s_phase_error (phase, S_ERR_LOST);
            break;
        }
        bool send_blocked = false;
        while (issuing && ring_client_inflight (self->ring) < (size_t)self->options.inflight)
            if (s_send_one (self, phase, put, &sequence) != 0) {
                send_blocked = true;
                break;
            }
        if (now_ns >= next_housekeeping_ns) {
            next_housekeeping_ns = now_ns + S_HOUSEKEEPING_NS;
            bench_peers_check (self);
        }
        int64_t until_ns = issuing ? issue_end_ns : drain_end_ns;
        if (until_ns > next_housekeeping_ns)
            until_ns = next_housekeeping_ns;
        long wait_ms = (long)((until_ns - now_ns + 999999) / 1000000);
        if (wait_ms > S_POLL_MAX_MS)
            wait_ms = S_POLL_MAX_MS;
        if (send_blocked && wait_ms > S_SEND_RETRY_MS)
            wait_ms = S_SEND_RETRY_MS;
        int got = ring_client_poll (self->ring, results, S_RESULTS_MAX, wait_ms < 0 ? 0 : (int)wait_ms);
        int64_t got_ns = util_now_ns ();
        for (int i = 0; i < got; i++)
            s_on_result (self, phase, put, &results[i], got_ns, &last_reply_ns);
    }
    int64_t end_ns = bench_interrupted ? util_now_ns () : last_reply_ns;
    if (end_ns < issue_end_ns && !bench_interrupted)
        end_ns = issue_end_ns;
    phase->seconds = (double)(end_ns - start_ns) / 1e9;
    ring_client_stats_t after = ring_client_stats (self->ring);
    phase->moved = after.moved - before.moved;
    phase->refreshes = after.refreshes - before.refreshes;
    phase->retries = after.replica_reads - before.replica_reads + after.write_retries - before.write_retries;
    s_phase_summarise (phase);
}

/* Lists the keys the put phase stored, for the get phase. */
static void s_collect_put_keys (bench_t *self)
{
    self->put_key_count = 0;
    for (uint32_t k = 0; k < self->options.keys; k++)
        if (self->key_put[k])
            self->put_keys[self->put_key_count++] = k;
}

/* --------------------------------------------------------------- output */

static const char *s_error_kind_name (int kind)
{
    switch (kind) {
    case S_ERR_LOST:
        return "lost";
    case S_ERR_SEND:
        return "send_failed";
    case S_ERR_BAD_REPLY:
        return "bad_reply";
    case S_ERR_STATUS_OTHER:
        return "unknown_status";
    default:
        return chord_status_name ((chord_status_t)kind);
    }
}

static double s_ops_per_s (const bench_phase_t *phase)
{
    return phase->seconds > 0 ? (double)phase->ops / phase->seconds : 0;
}

static void s_print_phase (const bench_t *self, const bench_phase_t *phase)
{
    printf ("%s: %d peer%s, route %s, %d in flight, %zu-byte values: ", phase->name, self->peer_count,
            self->peer_count == 1 ? "" : "s", ring_client_route_name (self->options.route), self->options.inflight,
            self->options.value_size);
    if (!phase->ran) {
        printf ("skipped\n");
        return;
    }
    printf ("%llu ops in %.2f s = %.0f ops/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %llu errors",
            (unsigned long long)phase->ops, phase->seconds, s_ops_per_s (phase), phase->p50_ms, phase->p99_ms,
            phase->max_ms, (unsigned long long)phase->errors);
    if (phase->errors > 0) {
        const char *sep = " (";
        for (int k = 0; k < S_ERR_KINDS; k++)
            if (phase->error_kinds[k] > 0) {
                printf ("%s%s %llu", sep, s_error_kind_name (k), (unsigned long long)phase->error_kinds[k]);
                sep = ", ";
            }
        printf (")");
    }
    printf ("; %llu forwarded, %llu refreshes, %llu retries\n", (unsigned long long)phase->moved,
            (unsigned long long)phase->refreshes, (unsigned long long)phase->retries);
}

static json_t *s_json_phase (const bench_phase_t *phase)
{
    if (!phase->ran)
        return json_null ();
    json_t *kinds = json_object ();
    for (int k = 0; k < S_ERR_KINDS; k++)
        if (phase->error_kinds[k] > 0)
            json_object_set_new (kinds, s_error_kind_name (k),
                                 json_integer ((json_int_t)phase->error_kinds[k]));
    json_t *object = json_object ();
    json_object_set_new (object, "ops", json_integer ((json_int_t)phase->ops));
    json_object_set_new (object, "seconds", json_real (phase->seconds));
    json_object_set_new (object, "ops_per_s", json_real (s_ops_per_s (phase)));
    json_object_set_new (object, "p50_ms", json_real (phase->p50_ms));
    json_object_set_new (object, "p99_ms", json_real (phase->p99_ms));
    json_object_set_new (object, "max_ms", json_real (phase->max_ms));
    json_object_set_new (object, "errors", json_integer ((json_int_t)phase->errors));
    json_object_set_new (object, "error_kinds", kinds);
    json_object_set_new (object, "forwarded", json_integer ((json_int_t)phase->moved));
    json_object_set_new (object, "refreshes", json_integer ((json_int_t)phase->refreshes));
    json_object_set_new (object, "retries", json_integer ((json_int_t)phase->retries));
    return object;
}

static void s_print_json (const bench_t *self, const bench_phase_t *put, const bench_phase_t *get)
{
    json_t *root = json_object ();
    json_object_set_new (root, "peers", json_integer (self->peer_count));
    json_object_set_new (root, "route", json_string (ring_client_route_name (self->options.route)));
    json_object_set_new (root, "started", json_boolean (self->child_count > 0));
    json_object_set_new (root, "inflight", json_integer (self->options.inflight));
    json_object_set_new (root, "value_size", json_integer ((json_int_t)self->options.value_size));
    json_object_set_new (root, "keys", json_integer (self->options.keys));
    json_object_set_new (root, "seconds", json_integer (self->options.seconds));
    json_object_set_new (root, "converge_s",
                         self->converge_s >= 0 ? json_real (self->converge_s) : json_null ());
    json_object_set_new (root, "put", s_json_phase (put));
    json_object_set_new (root, "get", s_json_phase (get));
    char *text = json_dumps (root, JSON_COMPACT | JSON_REAL_PRECISION (6));
    json_decref (root);
    if (text) {
        printf ("%s\n", text);
        free (text);
    }
}

/* ----------------------------------------------------------------- main */

/* Allocates what the phases need. */
static int s_bench_prepare (bench_t *self)
{
    self->value = malloc (self->options.value_size ? self->options.value_size : 1);
    self->key_put = calloc (self->options.keys, sizeof *self->key_put);
    self->put_keys = malloc (self->options.keys * sizeof *self->put_keys);
    self->request = malloc (sizeof *self->request);
    self->reply = malloc (sizeof *self->reply);
    if (!self->value || !self->key_put || !self->put_keys || !self->request ||
        !self->reply) {
        bench_error ("out of memory");
        return -1;
    }
    uint8_t seed[sizeof self->rng];
    randombytes_buf (seed, sizeof seed);
    memcpy (&self->rng, seed, sizeof seed);
    return 0;
}

static void s_bench_release (bench_t *self)
{
    ring_client_destroy (&self->ring);
    for (int i = 0; i < self->peer_count; i++)
        chord_client_destroy (&self->clients[i]);
    bench_peers_stop (self);
    bench_logs_cleanup (self);
    free (self->value);
    free (self->key_put);
    free (self->put_keys);
    free (self->request);
    free (self->reply);
}

/* Opens the phases' client on the ring's peers. Returns 0 or -1. */
static int s_ring_open (bench_t *self)
{
    char why[256];
    ring_client_config_t config = {
        .seeds = self->endpoints, .seed_count = (size_t)self->peer_count,
        .curve = self->options.secret ? &self->curve : NULL, .route = self->options.route,
        .timeout_ms = S_REQUEST_TIMEOUT_MS, .inflight_max = (size_t)self->options.inflight,
    };
    self->ring = ring_client_new (&config, why, sizeof why);
    if (!self->ring) {
        bench_error ("route %s: %s", ring_client_route_name (self->options.route), why);
        return -1;
    }
    if (!self->options.json) {
        ring_client_stats_t stats = ring_client_stats (self->ring);
        if (self->options.route == RING_ROUTE_OWNER)
            printf ("route: owner (%zu positions learnt, R %u)\n", stats.positions, stats.replicas);
        else
            printf ("route: entry (round-robin over %d peers)\n", self->peer_count);
    }
    return 0;
}

/* Sets up the ring, runs both phases and prints. Returns the exit code. */
static int s_bench_run (bench_t *self, bench_phase_t *put, bench_phase_t *get)
{
    if (s_bench_prepare (self) != 0)
        return 1;
    if (self->options.connect_count > 0) {
        self->peer_count = self->options.connect_count;
        for (int i = 0; i < self->peer_count; i++)
            self->endpoints[i] = self->options.connect[i];
        if (bench_clients_open (self) != 0 || bench_wait_connected (self) != 0)
            return bench_interrupted ? S_EXIT_INTERRUPTED : 1;
    } else {
        int64_t started_ns = util_now_ns ();
        /* Fork before any ZeroMQ context exists: the children inherit no
           sockets or threads' state. */
        if (bench_peers_start (self) != 0) {
            self->keep_logs = true;
            return 1;
        }
        if (bench_clients_open (self) != 0 || bench_wait_converged (self, started_ns) != 0)
            return bench_interrupted ? S_EXIT_INTERRUPTED : 1;
        if (!self->options.json)
            printf ("ring: %d peer%s converged in %.2f s (stabilize every %d ms)\n", self->peer_count,
                    self->peer_count == 1 ? "" : "s", self->converge_s, self->options.stabilize_ms);
    }
    if (s_ring_open (self) != 0)
        return 1;
    fflush (stdout);

    s_phase_run (self, put, true);
    if (bench_interrupted)
        return S_EXIT_INTERRUPTED;
    if (!self->options.json)
        s_print_phase (self, put);
    fflush (stdout);
    s_collect_put_keys (self);
    if (self->put_key_count > 0) {
        s_phase_run (self, get, false);
        if (bench_interrupted)
            return S_EXIT_INTERRUPTED;
    }
    if (self->options.json)
        s_print_json (self, put, get);
    else
        s_print_phase (self, get);
    fflush (stdout);

    if (self->peer_died) {
        bench_error ("a peer died during the benchmark: the figures are not trustworthy");
        return 1;
    }
    if (put->ops == 0 && get->ops == 0) {
        bench_error ("no operation succeeded");
        self->keep_logs = self->child_count > 0;
        return 1;
    }
    return 0;
}

int main (int argc, char **argv)
{
    static bench_t bench; /* large: kept off the stack */
    int rc = s_options_parse (&bench.options, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    bench.converge_s = -1;
    bench.began_ns = util_now_ns ();
    if (bench.options.chordd) {
        snprintf (bench.chordd_path, sizeof bench.chordd_path, "%s", bench.options.chordd);
    } else if (bench_default_chordd (bench.chordd_path, sizeof bench.chordd_path, argv[0]) != 0) {
        bench_error ("cannot tell where chordd is: use --chordd");
        return 2;
    }
    if (sodium_init () < 0) {
        bench_error ("libsodium failed to initialise");
        return 1;
    }
    if (s_install_signals () != 0) {
        bench_error ("cannot install signal handlers: %s", strerror (errno));
        return 1;
    }
    if (bench.options.secret) {
        char error[1024];
        uint8_t secret[CHORD_SECRET_BYTES];
        if (chord_keys_secret_read (bench.options.secret, secret, error, sizeof error) != 0) {
            bench_error ("--secret: %s", error);
            return 2;
        }
        chord_keys_ring_pair (secret, &bench.curve.own);
        memcpy (bench.curve.server, bench.curve.own.public_key, CHORD_KEY_BYTES);
        sodium_memzero (secret, sizeof secret);
    }

    bench_phase_t put = {.name = "put"}, get = {.name = "get"};
    int code = s_bench_run (&bench, &put, &get);
    if (bench_interrupted) {
        bench_error ("interrupted");
        code = S_EXIT_INTERRUPTED;
    }
    s_bench_release (&bench);
    free (put.latency_us);
    free (get.latency_us);
    return code;
}
