/*  chordd command-line options. */
#ifndef CHORDD_OPTIONS_H
#define CHORDD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "node.h"

#define CHORDD_SEEDS_MAX 64
#define CHORDD_VNODES_MAX 64
#define CHORDD_VNODES_DEFAULT 4
#define CHORDD_SUCCESSORS_DEFAULT 3     /* the least default successor list length */
#define CHORDD_REPLICAS_DEFAULT 3
#define CHORDD_STORE_MB_DEFAULT 1024    /* MiB of LMDB map per position */
#define CHORDD_STORE_MB_MAX (4u << 20)  /* MiB: 4 TiB */
#define CHORDD_DATA_DIR_MAX 3800        /* bytes in --data-dir, leaving room for "/pos-<i>" */
#define CHORDD_CONNECTIONS_MAX 1000000  /* the most --max-connections accepts */

/* How a process picks its positions among its candidate ids. */
typedef enum {
    CHORDD_PLACEMENT_BALANCED,          /* the candidates that even out the ring (protocol/placement) */
    CHORDD_PLACEMENT_FIRST,             /* candidates 0..V-1, as random virtual nodes */
} chordd_placement_t;

typedef struct {
    const char *listen;                 /* ZeroMQ endpoint to bind */
    char advertise[CHORD_ENDPOINT_MAX + 1]; /* endpoint peers reach us at; our id hashes it */
    const char *seeds[CHORDD_SEEDS_MAX];    /* --join endpoints */
    size_t seed_count;
    size_t successors;                  /* successor list length r */
    bool successors_given;              /* --successors was on the command line */
    unsigned vnodes;                    /* ring positions this process holds */
    bool vnodes_given;                  /* --vnodes was on the command line */
    chordd_placement_t placement;       /* which candidate ids the positions take */
    size_t owner_cache;                 /* arcs remembered per position; 0: plain Chord */
    uint32_t stabilize_ms;              /* maintenance interval */
    uint32_t rpc_timeout_ms;            /* a peer silent this long is suspect */
    uint32_t leave_timeout_ms;          /* longest a graceful leave may take */
    size_t replicas;                    /* copies of each key, 1..CHORD_REPLICAS_MAX */
    size_t write_quorum;                /* copies that must hold a write, 1..replicas */
    uint64_t tombstone_grace_ms;        /* how long a delete's tombstone is kept */
    uint64_t max_clock_skew_ms;         /* records versioned further ahead are refused */
    uint32_t sync_ms;                   /* anti-entropy interval; 0: 4 x stabilize_ms */
    const char *data_dir;               /* positions' stores in DATA_DIR/pos-<i>; NULL: memory */
    size_t store_max_mb;                /* LMDB map size per position, in MiB */
    bool no_fsync;                      /* commits not synced: survive a crash, not a power loss */
    size_t max_connections;             /* connections kept open to our port; 0: from the fd limit */
    chord_log_level_t log_level;
    const char *secret;                 /* --secret: cluster secret file; NULL: open ring */
    const char *clients;                /* --clients: client keys and roles; NULL: no clients */
    bool insecure;                      /* --insecure: open ring on a non-loopback address */
    const char *http;                   /* --http HOST:PORT; NULL: no HTTP server */
    struct sockaddr_storage http_address;   /* --http resolved */
    socklen_t http_address_len;
    const char *http_tokens;            /* --http-tokens: bearer tokens and roles; NULL: none */
    const char *resp;                   /* --resp HOST:PORT; NULL: no Redis door */
    struct sockaddr_storage resp_address;   /* --resp resolved */
    socklen_t resp_address_len;
} chordd_options_t;

/*  Fills *options from argv. Returns 0 to run, 1 when --help or --version
    was printed (exit 0), or -1 after printing an error (exit 2).  */
int chordd_options_parse (chordd_options_t *options, int argc, char **argv);

#endif
