/*  chordd command-line options. */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void s_usage (FILE *out)
{
    fprintf (out,
             "usage: chordd [options]\n"
             "\n"
             "Runs one peer of a chord ring: a Chord distributed hash table over ZeroMQ.\n"
             "\n"
             "  --listen ENDPOINT       ZeroMQ endpoint to bind (default tcp://127.0.0.1:7000)\n"
             "  --advertise ENDPOINT    endpoint other peers use to reach this one; the peer's\n"
             "                          id is BLAKE2b-160 of it (default: the --listen endpoint,\n"
             "                          which must then be a concrete address); auto: this\n"
             "                          host's first non-loopback IPv4 address and the listen\n"
             "                          port (for containers)\n"
             "  --join ENDPOINT         a peer of the ring to join through; repeat for several.\n"
             "                          Without --join the peer starts a new ring. Joining\n"
             "                          retries with backoff until a seed answers.\n"
             "  --successors N          successor list length r, 1..%d (default: replicas x\n"
             "                          vnodes, at least %d and at most %d, so the list reaches\n"
             "                          enough other processes to hold every copy)\n"
             "  --vnodes V              ring positions (virtual nodes) this peer holds, 1..%d\n"
             "                          (default %d). Position i has the id BLAKE2b-160 of\n"
             "                          ENDPOINT#i (position 0: of ENDPOINT), i under 64\n"
             "  --placement HOW         which positions: balanced picks the V of the 64 that\n"
             "                          even out the ring, after walking it through --join\n"
             "                          (default); first takes positions 0..V-1. With\n"
             "                          --data-dir the positions are kept across restarts\n"
             "  --stabilize-ms MS       ring maintenance interval (default 500)\n"
             "  --owner-cache N         owner arcs each position remembers, so puts and gets go\n"
             "                          straight to the owner (which checks); 0 routes every\n"
             "                          operation as plain Chord does (default 256)\n"
             "  --rpc-timeout-ms MS     a peer silent this long is suspect (default 1000)\n"
             "  --replicas R            copies of each key: its owner and the next R-1 distinct\n"
             "                          peers along the ring, 1..%d (default %d)\n"
             "  --write-quorum W        copies that must hold a write before it is acknowledged,\n"
             "                          1..R (default R/2+1, a majority)\n"
             "  --tombstone-grace-ms MS how long a deleted key's tombstone is kept, so that an\n"
             "                          older copy elsewhere cannot bring the key back\n"
             "                          (default %d)\n"
             "  --max-clock-skew-ms MS  refuse records whose version is further ahead of this\n"
             "                          peer's clock than this (default 60000)\n"
             "  --sync-ms MS            anti-entropy interval: how often each position compares\n"
             "                          its keys with its replicas' (default 0, which means\n"
             "                          4 x --stabilize-ms)\n"
             "  --data-dir DIR          keep each ring position's keys on disk, in DIR/pos-<i>\n"
             "                          (created when missing), and restore them at start.\n"
             "                          A store belongs to one endpoint and position: the\n"
             "                          same DIR under another --advertise is refused.\n"
             "                          Without it, keys live in memory and die with the\n"
             "                          process.\n"
             "  --store-max-mb N        most each position's store on disk may hold, in MiB,\n"
             "                          1..%u (default %d). A put past it fails and the\n"
             "                          store stays readable; restart with a larger N to grow\n"
             "                          it.\n"
             "  --no-fsync              do not sync each write to disk: much faster, and writes\n"
             "                          survive a crash of chordd, but a power loss or a kernel\n"
             "                          crash may lose recent writes or damage the store\n"
             "  --max-connections N     most connections to --listen kept open at once; past it\n"
             "                          a new connection is refused at once, or an older one\n"
             "                          that never spoke ZMTP is dropped for it (default: what\n"
             "                          the open-file limit allows after a reserve for the\n"
             "                          peer's own sockets and stores; a larger N is lowered)\n"
             "  --leave-timeout-ms MS   longest a graceful leave may take (default 10000)\n"
             "  --log-level LEVEL       error, warn, info or debug (default info)\n"
             "  --secret FILE           the cluster secret (chordctl keygen --secret FILE):\n"
             "                          peers and clients connect with CURVE, encrypted and\n"
             "                          authenticated; only holders of the secret are peers\n"
             "  --clients FILE          client keys admitted with --secret, one per line:\n"
             "                          'Z85PUBKEY read|write|admin [comment]'; SIGHUP re-reads\n"
             "  --insecure              allow an open ring (no --secret) on an address that is\n"
             "                          not loopback: anyone who reaches it may read, write,\n"
             "                          join and make peers leave\n"
             "  --http HOST:PORT        serve /healthz, /readyz, /v1/info and /metrics\n"
             "                          (Prometheus) over HTTP on HOST:PORT, e.g.\n"
             "                          127.0.0.1:8080 or [::1]:8080 (default: no HTTP). Without\n"
             "                          --secret open to all, and only a loopback HOST unless\n"
             "                          --insecure; with it, requests need --http-tokens\n"
             "  --http-tokens FILE      bearer tokens HTTP requests may carry, one per line:\n"
             "                          'read|write|admin TOKEN' (chordctl keygen --http-token\n"
             "                          ROLE); needs --secret and --http or --resp; SIGHUP re-reads\n"
             "  --resp HOST:PORT        speak the Redis protocol (RESP2) on HOST:PORT, e.g.\n"
             "                          127.0.0.1:6379, for redis-cli and Redis clients; the\n"
             "                          same address rules as --http; with --secret, a\n"
             "                          connection must AUTH with a token of --http-tokens\n"
             "  -h, --help              this text\n"
             "  --version               the protocol and program version\n"
             "\n"
             "SIGTERM or SIGINT makes the peer leave gracefully: it hands its keys to its\n"
             "successor, tells its neighbours, and exits 0. A second signal exits at once.\n"
             "SIGHUP re-reads --clients and --http-tokens. Without --secret, chordd listens only on loopback,\n"
             "ipc:// or inproc:// unless --insecure is given (protected mode).\n"
             "Keys are at most %d bytes, values at most %d bytes.\n",
             CHORD_SUCCESSORS_MAX, CHORDD_SUCCESSORS_DEFAULT, CHORD_SUCCESSORS_MAX, CHORDD_VNODES_MAX,
             CHORDD_VNODES_DEFAULT,
             CHORD_REPLICAS_MAX, CHORDD_REPLICAS_DEFAULT, CHORD_TOMBSTONE_GRACE_DEFAULT_MS, CHORDD_STORE_MB_MAX,
             CHORDD_STORE_MB_DEFAULT, CHORD_KEY_MAX, CHORD_VALUE_MAX);
}

static int s_parse_uint (const char *option, const char *text, unsigned long min, unsigned long max,
                         unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul (text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || value < min || value > max) {
        fprintf (stderr, "chordd: %s needs a number from %lu to %lu, not '%s'\n", option, min, max, text);
        return -1;
    }
    *out = value;
    return 0;
}

static int s_check_endpoint (const char *option, const char *endpoint)
{
    if (strlen (endpoint) > CHORD_ENDPOINT_MAX) {
        fprintf (stderr, "chordd: %s: endpoint longer than %d bytes\n", option, CHORD_ENDPOINT_MAX);
        return -1;
    }
    if (strncmp (endpoint, "tcp://", 6) != 0 && strncmp (endpoint, "ipc://", 6) != 0) {
        fprintf (stderr, "chordd: %s: '%s' is not a tcp:// or ipc:// endpoint\n", option, endpoint);
        return -1;
    }
    return 0;
}

/* True when only this host can reach endpoint: ipc://, inproc://, or tcp://
   on 127.0.0.0/8, ::1 or localhost. */
static bool s_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon)
        return false;
    char name[CHORD_ENDPOINT_MAX + 1];
    snprintf (name, sizeof name, "%.*s", (int) (colon - host), host);
    if (strcmp (name, "localhost") == 0 || strcmp (name, "[::1]") == 0 || strcmp (name, "::1") == 0)
        return true;
    struct in_addr address;
    return inet_pton (AF_INET, name, &address) == 1 && (ntohl (address.s_addr) >> 24) == 127;
}

static bool s_address_is_local (const struct sockaddr_storage *address);

/*  Protected mode, as Redis has it: an open ring (no --secret) lets anyone
    who reaches it read, write, join and make peers leave, so it listens
    only where this host alone can reach it, unless --insecure says the
    network is trusted. --clients means nothing without CURVE.  */
static int s_check_security (const chordd_options_t *options)
{
    if (options->clients && !options->secret) {
        fprintf (stderr, "chordd: --clients needs --secret: without it no client is authenticated\n");
        return -1;
    }
    if (options->http_tokens && (!options->secret || (!options->http && !options->resp))) {
        fprintf (stderr, "chordd: --http-tokens needs --secret and --http or --resp: an open ring asks for "
                 "no token\n");
        return -1;
    }
    if (!options->secret && !options->insecure && !s_is_local (options->listen)) {
        fprintf (stderr, "chordd: refusing to listen on %s without --secret: anyone who reaches it could read, "
                 "write and stop the ring. Give --secret FILE (chordctl keygen --secret FILE makes one), or "
                 "--insecure if the network is trusted.\n", options->listen);
        return -1;
    }
    if (options->resp && !options->secret && !options->insecure && !s_address_is_local (&options->resp_address)) {
        fprintf (stderr, "chordd: refusing to serve RESP on %s without --secret: anyone who reaches it could "
                 "read and write every key. Use a loopback address (127.0.0.1:PORT), or give --secret FILE or "
                 "--insecure if the network is trusted.\n", options->resp);
        return -1;
    }
    if (options->http && !options->secret && !options->insecure && !s_address_is_local (&options->http_address)) {
        fprintf (stderr, "chordd: refusing to serve HTTP on %s without --secret: anyone who reaches it could "
                 "see the ring's members. Use a loopback address (127.0.0.1:PORT), or give --secret FILE or "
                 "--insecure if the network is trusted.\n", options->http);
        return -1;
    }
    return 0;
}

/* True for tcp://HOST:PORT with a concrete host and port, or any ipc path. */
static int s_is_concrete (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0)
        return 1;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return 0;
    const char *port = colon + 1;
    if (!*port || strcmp (port, "*") == 0 || strcmp (port, "0") == 0)
        return 0;
    if (strncmp (host, "*:", 2) == 0 || strncmp (host, "0.0.0.0:", 8) == 0 || strncmp (host, "[::]:", 5) == 0)
        return 0;
    return 1;
}

/*  --advertise auto: tcp://ADDRESS:PORT with the first IPv4 address of an
    interface that is up and not loopback (a container's own address) and
    the port of --listen.  */
static int s_auto_advertise (const char *listen, char *out, size_t size)
{
    const char *colon = strrchr (listen, ':');
    if (strncmp (listen, "tcp://", 6) != 0 || !colon || !colon[1] || strcmp (colon + 1, "*") == 0 ||
        strcmp (colon + 1, "0") == 0) {
        fprintf (stderr, "chordd: --advertise auto needs --listen tcp://HOST:PORT with a fixed port\n");
        return -1;
    }
    struct ifaddrs *interfaces;
    if (getifaddrs (&interfaces) != 0) {
        fprintf (stderr, "chordd: --advertise auto: cannot list interfaces: %s\n", strerror (errno));
        return -1;
    }
    char address[INET_ADDRSTRLEN] = "";
    for (struct ifaddrs *i = interfaces; i && !address[0]; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK))
            inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, address, sizeof address);
    freeifaddrs (interfaces);
    if (!address[0]) {
        fprintf (stderr, "chordd: --advertise auto: no interface with an IPv4 address besides loopback\n");
        return -1;
    }
    snprintf (out, size, "tcp://%s:%s", address, colon + 1);
    return 0;
}

/* How an option's value is stored. */
typedef enum {
    S_TEXT,     /* the argument itself, into a const char * */
    S_FLAG,     /* no value: sets a bool */
    S_SIZE,     /* a whole number into a size_t */
    S_UNSIGNED, /* a whole number into an unsigned */
    S_U32,      /* a whole number into a uint32_t */
    S_U64,      /* a whole number into a uint64_t */
    S_OTHER,    /* checked and stored by s_parse_other */
} s_kind_t;

/* One option: where its value goes, its range, and what records that it was given. */
typedef struct {
    const char *name;       /* without the leading -- */
    s_kind_t kind;
    size_t offset;          /* of the field in chordd_options_t */
    unsigned long min, max; /* the range of a number */
    size_t given;           /* offset of a bool set when the option is given; 0: none */
} s_option_t;

#define S_FIELD(field) offsetof (chordd_options_t, field)

/*  In the order of the long options before the table; --help and
    --version follow them. The ranges: --max-clock-skew-ms is
    at least a second and at most a day, as a larger skew lets a forged
    version outrank every write for that long; --tombstone-grace-ms is up to
    30 days, as a tombstone kept longer costs space for no safety.  */
static const s_option_t s_options[] = {
    {"listen", S_TEXT, S_FIELD (listen), 0, 0, 0},
    {"advertise", S_OTHER, 0, 0, 0, 0},
    {"join", S_OTHER, 0, 0, 0, 0},
    {"successors", S_SIZE, S_FIELD (successors), 1, CHORD_SUCCESSORS_MAX, S_FIELD (successors_given)},
    {"vnodes", S_UNSIGNED, S_FIELD (vnodes), 1, CHORDD_VNODES_MAX, S_FIELD (vnodes_given)},
    {"placement", S_OTHER, 0, 0, 0, 0},
    {"owner-cache", S_SIZE, S_FIELD (owner_cache), 0, 65536, 0},
    {"stabilize-ms", S_U32, S_FIELD (stabilize_ms), 10, 600000, 0},
    {"rpc-timeout-ms", S_U32, S_FIELD (rpc_timeout_ms), 10, 600000, 0},
    {"leave-timeout-ms", S_U32, S_FIELD (leave_timeout_ms), 100, 3600000, 0},
    {"replicas", S_SIZE, S_FIELD (replicas), 1, CHORD_REPLICAS_MAX, 0},
    {"write-quorum", S_SIZE, S_FIELD (write_quorum), 1, CHORD_REPLICAS_MAX, 0},
    {"tombstone-grace-ms", S_U64, S_FIELD (tombstone_grace_ms), 1, 2592000000ul, 0},
    {"sync-ms", S_OTHER, 0, 0, 0, 0},
    {"data-dir", S_OTHER, 0, 0, 0, 0},
    {"store-max-mb", S_SIZE, S_FIELD (store_max_mb), 1, CHORDD_STORE_MB_MAX, 0},
    {"no-fsync", S_FLAG, S_FIELD (no_fsync), 0, 0, 0},
    {"max-clock-skew-ms", S_U64, S_FIELD (max_clock_skew_ms), 1000, 86400000ul, 0},
    {"max-connections", S_SIZE, S_FIELD (max_connections), 1, CHORDD_CONNECTIONS_MAX, 0},
    {"log-level", S_OTHER, 0, 0, 0, 0},
    {"secret", S_TEXT, S_FIELD (secret), 0, 0, 0},
    {"clients", S_TEXT, S_FIELD (clients), 0, 0, 0},
    {"insecure", S_FLAG, S_FIELD (insecure), 0, 0, 0},
    {"http", S_OTHER, 0, 0, 0, 0},
    {"http-tokens", S_TEXT, S_FIELD (http_tokens), 0, 0, 0},
    {"resp", S_OTHER, 0, 0, 0, 0},
};
#define S_OPTION_COUNT (sizeof s_options / sizeof s_options[0])
#define S_OPT_HELP 'h'
#define S_OPT_VERSION 255 /* below 256 + the index of a table entry */

/*  --http or --resp HOST:PORT (option names which): HOST an IPv4 address,
    [IPv6] or a name, PORT 1..65535. Resolved here, so that a bad value is
    an error of the command line.  */
static int s_parse_address (const char *option, const char *text, struct sockaddr_storage *address,
                            socklen_t *address_len)
{
    const char *colon = strrchr (text, ':');
    char host[256];
    unsigned long port;
    if (!colon || colon == text || (size_t) (colon - text) >= sizeof host) {
        fprintf (stderr, "chordd: %s needs HOST:PORT (e.g. 127.0.0.1:8080), not '%s'\n", option, text);
        return -1;
    }
    snprintf (host, sizeof host, "%.*s", (int) (colon - text), text);
    if (host[0] == '[') {
        size_t len = strlen (host);
        if (len < 3 || host[len - 1] != ']') {
            fprintf (stderr, "chordd: %s: an IPv6 host goes in brackets ([::1]:8080), not '%s'\n", option, text);
            return -1;
        }
        memmove (host, host + 1, len - 2);
        host[len - 2] = 0;
    } else if (strchr (host, ':')) {
        fprintf (stderr, "chordd: %s: an IPv6 host goes in brackets ([::1]:8080), not '%s'\n", option, text);
        return -1;
    }
    char what[40];
    snprintf (what, sizeof what, "%s's port", option);
    if (s_parse_uint (what, colon + 1, 1, 65535, &port) != 0)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo (host, colon + 1, &hints, &found);
    if (rc != 0 || !found || found->ai_addrlen > sizeof *address) {
        fprintf (stderr, "chordd: %s: cannot resolve '%s': %s\n", option, host,
                 rc ? gai_strerror (rc) : "no address");
        if (found)
            freeaddrinfo (found);
        return -1;
    }
    memcpy (address, found->ai_addr, found->ai_addrlen);
    *address_len = found->ai_addrlen;
    freeaddrinfo (found);
    return 0;
}

/* True when address is loopback: 127.0.0.0/8 or ::1. */
static bool s_address_is_local (const struct sockaddr_storage *address)
{
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        return (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;
    return address->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr);
}

/* The options whose value is checked or stored in a way of its own. */
static int s_parse_other (chordd_options_t *options, const char **advertise, const char *name, const char *text)
{
    unsigned long number;
    if (strcmp (name, "advertise") == 0)
        *advertise = text;
    else if (strcmp (name, "join") == 0) {
        if (options->seed_count == CHORDD_SEEDS_MAX) {
            fprintf (stderr, "chordd: at most %d --join endpoints\n", CHORDD_SEEDS_MAX);
            return -1;
        }
        if (s_check_endpoint ("--join", text) != 0)
            return -1;
        options->seeds[options->seed_count++] = text;
    } else if (strcmp (name, "sync-ms") == 0) {
        if (s_parse_uint ("--sync-ms", text, 0, 3600000, &number) != 0)
            return -1;
        if (number > 0 && number < 10) {
            fprintf (stderr, "chordd: --sync-ms is 0 (4 x --stabilize-ms) or 10 to 3600000, not '%s'\n", text);
            return -1;
        }
        options->sync_ms = (uint32_t) number;
    } else if (strcmp (name, "placement") == 0) {
        if (strcmp (text, "balanced") == 0)
            options->placement = CHORDD_PLACEMENT_BALANCED;
        else if (strcmp (text, "first") == 0)
            options->placement = CHORDD_PLACEMENT_FIRST;
        else {
            fprintf (stderr, "chordd: --placement is balanced or first, not '%s'\n", text);
            return -1;
        }
    } else if (strcmp (name, "data-dir") == 0) {
        //  Room for "/pos-<i>" after it in a path.
        if (!*text || strlen (text) > CHORDD_DATA_DIR_MAX) {
            fprintf (stderr, "chordd: --data-dir needs a path of 1 to %d bytes\n", CHORDD_DATA_DIR_MAX);
            return -1;
        }
        options->data_dir = text;
    } else if (strcmp (name, "http") == 0) {
        if (s_parse_address ("--http", text, &options->http_address, &options->http_address_len) != 0)
            return -1;
        options->http = text;
    } else if (strcmp (name, "resp") == 0) {
        if (s_parse_address ("--resp", text, &options->resp_address, &options->resp_address_len) != 0)
            return -1;
        options->resp = text;
    } else if (chordd_log_parse_level (text, &options->log_level) != 0) {
        fprintf (stderr, "chordd: --log-level is error, warn, info or debug, not '%s'\n", text);
        return -1;
    }
    return 0;
}

/* Stores one option's value (text, NULL for a flag) into options. */
static int s_option_set (chordd_options_t *options, const char **advertise, const s_option_t *o, const char *text)
{
    char *field = (char *) options + o->offset;
    char option[40];
    snprintf (option, sizeof option, "--%s", o->name);
    unsigned long number = 0;
    if (o->kind == S_OTHER)
        return s_parse_other (options, advertise, o->name, text);
    if (o->kind != S_TEXT && o->kind != S_FLAG && s_parse_uint (option, text, o->min, o->max, &number) != 0)
        return -1;
    switch (o->kind) {
    case S_TEXT:
        *(const char **) field = text;
        break;
    case S_FLAG:
        *(bool *) field = true;
        break;
    case S_SIZE:
        *(size_t *) field = number;
        break;
    case S_UNSIGNED:
        *(unsigned *) field = (unsigned) number;
        break;
    case S_U32:
        *(uint32_t *) field = (uint32_t) number;
        break;
    case S_U64:
        *(uint64_t *) field = number;
        break;
    default:
        break;
    }
    if (o->given)
        *(bool *) ((char *) options + o->given) = true;
    return 0;
}

static void s_options_defaults (chordd_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->listen = "tcp://127.0.0.1:7000";
    options->successors = CHORDD_SUCCESSORS_DEFAULT;
    options->vnodes = CHORDD_VNODES_DEFAULT;
    options->placement = CHORDD_PLACEMENT_BALANCED;
    options->owner_cache = 256;
    options->stabilize_ms = 500;
    options->rpc_timeout_ms = 1000;
    options->leave_timeout_ms = 10000;
    options->log_level = CHORD_LOG_INFO;
    options->replicas = CHORDD_REPLICAS_DEFAULT;
    options->tombstone_grace_ms = CHORD_TOMBSTONE_GRACE_DEFAULT_MS;
    options->max_clock_skew_ms = CHORD_CLOCK_SKEW_DEFAULT_MS;
    options->store_max_mb = CHORDD_STORE_MB_DEFAULT;
}

/* The write quorum and successor list length that depend on other options. */
static int s_options_derive (chordd_options_t *options)
{
    if (options->write_quorum > options->replicas) {
        fprintf (stderr, "chordd: --write-quorum %zu is more than the %zu copies --replicas keeps\n",
                 options->write_quorum, options->replicas);
        return -1;
    }
    if (options->write_quorum == 0)
        options->write_quorum = options->replicas / 2 + 1;
    //  Our own positions fill the successor list first in the worst case,
    //  so finding R distinct processes may take R x V entries.
    if (!options->successors_given) {
        size_t wanted = options->replicas * options->vnodes;
        if (wanted > CHORD_SUCCESSORS_MAX)
            wanted = CHORD_SUCCESSORS_MAX;
        if (wanted > options->successors)
            options->successors = wanted;
    }
    return 0;
}

/* Checks --listen and fills options->advertise from --advertise (NULL: not given). */
static int s_options_endpoints (chordd_options_t *options, const char *advertise)
{
    if (s_check_endpoint ("--listen", options->listen) != 0)
        return -1;
    char automatic[CHORD_ENDPOINT_MAX + 1];
    if (advertise && strcmp (advertise, "auto") == 0) {
        if (s_auto_advertise (options->listen, automatic, sizeof automatic) != 0)
            return -1;
        advertise = automatic;
    }
    if (!advertise) {
        if (!s_is_concrete (options->listen)) {
            fprintf (stderr, "chordd: --listen %s is not an address peers can reach: give --advertise\n",
                     options->listen);
            return -1;
        }
        advertise = options->listen;
    }
    if (s_check_endpoint ("--advertise", advertise) != 0)
        return -1;
    if (!s_is_concrete (advertise)) {
        fprintf (stderr, "chordd: --advertise %s must name a concrete host and port\n", advertise);
        return -1;
    }
    snprintf (options->advertise, sizeof options->advertise, "%s", advertise);
    return 0;
}

/*  getopt_long, as chord-sim has it: abbreviations of long options are
    accepted (--rep 2), options and arguments may come in any order, and
    any argument that is not an option is refused.  */
int chordd_options_parse (chordd_options_t *options, int argc, char **argv)
{
    s_options_defaults (options);
    struct option longs[S_OPTION_COUNT + 3];
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        longs[i] = (struct option){s_options[i].name, s_options[i].kind == S_FLAG ? no_argument : required_argument,
                                   NULL, 256 + (int) i};
    longs[S_OPTION_COUNT] = (struct option){"help", no_argument, NULL, S_OPT_HELP};
    longs[S_OPTION_COUNT + 1] = (struct option){"version", no_argument, NULL, S_OPT_VERSION};
    longs[S_OPTION_COUNT + 2] = (struct option){NULL, 0, NULL, 0};
    const char *advertise = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, ":h", longs, NULL)) != -1) {
        if (c == S_OPT_HELP) {
            s_usage (stdout);
            return 1;
        }
        if (c == S_OPT_VERSION) {
            printf ("chordd 0.1.0 (chord protocol %d)\n", CHORD_PROTOCOL_VERSION);
            return 1;
        }
        if (c == ':') {
            fprintf (stderr, "chordd: %s needs a value\n", argv[optind - 1]);
            return -1;
        }
        if (c < 256 || c >= 256 + (int) S_OPTION_COUNT) {
            fprintf (stderr, "chordd: unknown option '%s' (try --help)\n", argv[optind - 1]);
            return -1;
        }
        if (s_option_set (options, &advertise, &s_options[c - 256], optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf (stderr, "chordd: unexpected argument '%s' (try --help)\n", argv[optind]);
        return -1;
    }
    if (s_options_derive (options) != 0 || s_options_endpoints (options, advertise) != 0)
        return -1;
    return s_check_security (options);
}
