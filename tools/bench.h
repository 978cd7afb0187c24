/*  chord-bench's insides, shared by chord-bench.c (options, requests,
    phases, output) and bench_ring.c (the peers it starts and the ring
    they form). Not for other programs.  */
#ifndef CHORD_TOOLS_BENCH_H
#define CHORD_TOOLS_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "client.h"
#include "id.h"
#include "message.h"
#include "node.h"
#include "ring_client.h"
#include "util.h"


#define S_PEERS_MAX 256                         /* peers started or connected to */
#define S_INFLIGHT_MAX 10000                    /* requests in flight (client queue is 16384) */
#define S_SECONDS_MAX 3600                      /* length of one phase */
#define S_KEYS_MAX 10000000                     /* size of the key space */
#define S_STABILIZE_MS_MAX 60000                /* --stabilize-ms cap */
#define S_CONVERGE_MS_MIN 30000                 /* the ring gets at least this long to form */
#define S_CONVERGE_INTERVALS 40                 /* ... or this many stabilize intervals */
#define S_CONNECT_WAIT_MS 10000                 /* a --connect ring must answer within this */
#define S_INFO_WAIT_MS 500                      /* one round of INFO requests */
#define S_ROUND_PAUSE_MS 50                     /* between rounds of INFO requests */
#define S_REQUEST_TIMEOUT_MS 5000               /* tmo each put and get carries */
#define S_LOST_MS (S_REQUEST_TIMEOUT_MS + 2000) /* not finished by then: lost */
#define S_POLL_MAX_MS 100                       /* longest wait between housekeeping */
#define S_SEND_RETRY_MS 10                      /* pause after a send failed */
#define S_HOUSEKEEPING_NS (100 * 1000000LL)     /* lost-request and peer-death checks */
#define S_STOP_TERM_MS 5000                     /* SIGTERM to SIGKILL */
#define S_KEY_BYTES_MAX 32                      /* "bench-" and a decimal number */
#define S_EXIT_INTERRUPTED 130

enum {
    S_ERR_LOST = CHORD_STATUS_REDIRECT + 1, /* no reply within S_LOST_MS */
    S_ERR_SEND,                             /* the client could not queue it */
    S_ERR_BAD_REPLY,                        /* wrong type, or no status */
    S_ERR_STATUS_OTHER,                     /* a status this bench does not know */
    S_ERR_KINDS,
};

typedef struct {
    int peer_count;                   /* --peers */
    int inflight;                     /* --inflight: requests in flight in total */
    int seconds;                      /* --seconds: length of each phase */
    size_t value_size;                /* --value-size, bytes */
    uint32_t keys;                    /* --keys: the key space */
    const char *chordd;               /* --chordd, or NULL for the default */
    int stabilize_ms;                 /* --stabilize-ms, passed to chordd */
    const char *connect[S_PEERS_MAX]; /* --connect endpoints */
    int connect_count;
    bool json; /* --json */
    const char *secret;               /* --secret: a secured ring, CURVE clients; NULL: open */
    ring_route_t route;               /* --route: straight to owners, or round-robin over entries */
} bench_options_t;

/* A chordd this bench started. */
typedef struct {
    pid_t pid;         /* 0 once reaped */
    int port;          /* on 127.0.0.1 */
    char endpoint[64]; /* tcp://127.0.0.1:port */
    int status;        /* waitpid status, once reaped */
} bench_child_t;

/* What a peer said about itself in its INFO_REPLY. */
typedef struct {
    bool answered;  /* a reply arrived this round */
    uint32_t state; /* chord_node_state_t */
    chord_id_t id;  /* its position */
    bool has_succ;
    chord_id_t succ; /* its first successor */
    bool has_pred;
    chord_id_t pred;
} bench_info_t;

/* Figures of one phase. */
typedef struct {
    const char *name;                  /* "put" or "get" */
    bool ran;                          /* false: skipped */
    uint64_t ops;                      /* requests answered OK */
    uint64_t errors;                   /* every other outcome */
    uint64_t error_kinds[S_ERR_KINDS]; /* errors by status, or S_ERR_* */
    uint64_t strays;                   /* results of the phase before, come late */
    uint64_t moved;                    /* replies saying another position served the key */
    uint64_t refreshes;                /* times the client re-learnt the ring */
    uint64_t retries;                  /* requests sent again (reads to a copy, writes) */
    double seconds;                    /* from start to the last reply */
    uint32_t *latency_us;              /* per OK request, grown as needed */
    size_t latency_count;
    size_t latency_alloc;
    double p50_ms, p99_ms, max_ms;
} bench_phase_t;

typedef struct {
    bench_options_t options;
    char chordd_path[PATH_MAX]; /* the chordd to start */
    char log_dir[PATH_MAX];     /* empty when none was made */
    bool keep_logs;             /* something failed: leave the logs */
    bench_child_t children[S_PEERS_MAX];
    int child_count;
    const char *endpoints[S_PEERS_MAX]; /* the ring's peers, started or given */
    int peer_count;
    chord_client_t *clients[S_PEERS_MAX];
    bool client_dead[S_PEERS_MAX]; /* its started peer exited: send nothing more */
    int clients_alive;
    zmq_pollitem_t items[S_PEERS_MAX];
    chord_client_curve_t curve;         /* the ring's pair, with --secret */
    bench_info_t infos[S_PEERS_MAX]; /* the last round of INFO answers */
    chord_msg_t *request;        /* send buffer: the struct is large */
    chord_msg_t *reply;          /* receive buffer */
    double converge_s;           /* < 0: not measured (--connect) */
    bool peer_died;              /* a started peer exited early */
    uint64_t rng;                /* splitmix64 state: keys and values need no crypto */
    uint8_t *value;              /* value_size bytes, refilled per put */
    bool *key_put;               /* per key: a put of it succeeded */
    uint32_t *put_keys;          /* keys with key_put set, for the get phase */
    uint32_t put_key_count;
    ring_client_t *ring;         /* the phases' client (tools/ring_client.h) */
    int64_t began_ns;            /* monotonic time the bench began; results' tags count from it */
} bench_t;


/* Shared between the two files. */
extern volatile sig_atomic_t bench_interrupted;
void bench_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void bench_sleep_ms (int ms);
int bench_default_chordd (char *path, size_t size, const char *argv0);
int bench_peers_start (bench_t *self);
int bench_peers_check (bench_t *self);
void bench_peers_stop (bench_t *self);
void bench_logs_cleanup (bench_t *self);
int bench_clients_open (bench_t *self);
int bench_wait_converged (bench_t *self, int64_t started_ns);
int bench_wait_connected (bench_t *self);

#endif
