/*  chordd command-line options. */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
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
             "                          (default 1); position 0 has the id of the advertised\n"
             "                          endpoint, position i the id of ENDPOINT#i\n"
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
             "  -h, --help              this text\n"
             "  --version               the protocol and program version\n"
             "\n"
             "SIGTERM or SIGINT makes the peer leave gracefully: it hands its keys to its\n"
             "successor, tells its neighbours, and exits 0. A second signal exits at once.\n"
             "SIGHUP re-reads --clients. Without --secret, chordd listens only on loopback,\n"
             "ipc:// or inproc:// unless --insecure is given (protected mode).\n"
             "Keys are at most %d bytes, values at most %d bytes.\n",
             CHORD_SUCCESSORS_MAX, CHORDD_SUCCESSORS_DEFAULT, CHORD_SUCCESSORS_MAX, CHORDD_VNODES_MAX,
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
    if (!options->secret && !options->insecure && !s_is_local (options->listen)) {
        fprintf (stderr, "chordd: refusing to listen on %s without --secret: anyone who reaches it could read, "
                 "write and stop the ring. Give --secret FILE (chordctl keygen --secret FILE makes one), or "
                 "--insecure if the network is trusted.\n", options->listen);
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

int chordd_options_parse (chordd_options_t *options, int argc, char **argv)
{
    enum { OPT_LISTEN = 1000, OPT_ADVERTISE, OPT_JOIN, OPT_SUCCESSORS, OPT_STABILIZE, OPT_RPC_TIMEOUT,
           OPT_LEAVE_TIMEOUT, OPT_LOG_LEVEL, OPT_VERSION, OPT_VNODES, OPT_OWNER_CACHE, OPT_REPLICAS,
           OPT_WRITE_QUORUM, OPT_TOMBSTONE_GRACE, OPT_SYNC, OPT_DATA_DIR, OPT_STORE_MAX_MB, OPT_NO_FSYNC,
           OPT_MAX_CLOCK_SKEW, OPT_MAX_CONNECTIONS, OPT_SECRET, OPT_CLIENTS, OPT_INSECURE };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"advertise", required_argument, NULL, OPT_ADVERTISE},
        {"join", required_argument, NULL, OPT_JOIN},
        {"successors", required_argument, NULL, OPT_SUCCESSORS},
        {"vnodes", required_argument, NULL, OPT_VNODES},
        {"owner-cache", required_argument, NULL, OPT_OWNER_CACHE},
        {"stabilize-ms", required_argument, NULL, OPT_STABILIZE},
        {"rpc-timeout-ms", required_argument, NULL, OPT_RPC_TIMEOUT},
        {"leave-timeout-ms", required_argument, NULL, OPT_LEAVE_TIMEOUT},
        {"replicas", required_argument, NULL, OPT_REPLICAS},
        {"write-quorum", required_argument, NULL, OPT_WRITE_QUORUM},
        {"tombstone-grace-ms", required_argument, NULL, OPT_TOMBSTONE_GRACE},
        {"sync-ms", required_argument, NULL, OPT_SYNC},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"store-max-mb", required_argument, NULL, OPT_STORE_MAX_MB},
        {"no-fsync", no_argument, NULL, OPT_NO_FSYNC},
        {"max-clock-skew-ms", required_argument, NULL, OPT_MAX_CLOCK_SKEW},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset (options, 0, sizeof *options);
    options->listen = "tcp://127.0.0.1:7000";
    options->successors = CHORDD_SUCCESSORS_DEFAULT;
    options->vnodes = 1;
    options->owner_cache = 256;
    options->stabilize_ms = 500;
    options->rpc_timeout_ms = 1000;
    options->leave_timeout_ms = 10000;
    options->log_level = CHORD_LOG_INFO;
    options->replicas = CHORDD_REPLICAS_DEFAULT;
    options->tombstone_grace_ms = CHORD_TOMBSTONE_GRACE_DEFAULT_MS;
    options->max_clock_skew_ms = CHORD_CLOCK_SKEW_DEFAULT_MS;
    options->store_max_mb = CHORDD_STORE_MB_DEFAULT;
    const char *advertise = NULL;
    unsigned long number;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN:
            options->listen = optarg;
            break;
        case OPT_ADVERTISE:
            advertise = optarg;
            break;
        case OPT_JOIN:
            if (options->seed_count == CHORDD_SEEDS_MAX) {
                fprintf (stderr, "chordd: at most %d --join endpoints\n", CHORDD_SEEDS_MAX);
                return -1;
            }
            if (s_check_endpoint ("--join", optarg) != 0)
                return -1;
            options->seeds[options->seed_count++] = optarg;
            break;
        case OPT_SUCCESSORS:
            if (s_parse_uint ("--successors", optarg, 1, CHORD_SUCCESSORS_MAX, &number) != 0)
                return -1;
            options->successors = number;
            options->successors_given = true;
            break;
        case OPT_VNODES:
            if (s_parse_uint ("--vnodes", optarg, 1, CHORDD_VNODES_MAX, &number) != 0)
                return -1;
            options->vnodes = (unsigned) number;
            break;
        case OPT_OWNER_CACHE:
            if (s_parse_uint ("--owner-cache", optarg, 0, 65536, &number) != 0)
                return -1;
            options->owner_cache = number;
            break;
        case OPT_STABILIZE:
            if (s_parse_uint ("--stabilize-ms", optarg, 10, 600000, &number) != 0)
                return -1;
            options->stabilize_ms = (uint32_t) number;
            break;
        case OPT_RPC_TIMEOUT:
            if (s_parse_uint ("--rpc-timeout-ms", optarg, 10, 600000, &number) != 0)
                return -1;
            options->rpc_timeout_ms = (uint32_t) number;
            break;
        case OPT_LEAVE_TIMEOUT:
            if (s_parse_uint ("--leave-timeout-ms", optarg, 100, 3600000, &number) != 0)
                return -1;
            options->leave_timeout_ms = (uint32_t) number;
            break;
        case OPT_REPLICAS:
            if (s_parse_uint ("--replicas", optarg, 1, CHORD_REPLICAS_MAX, &number) != 0)
                return -1;
            options->replicas = number;
            break;
        case OPT_WRITE_QUORUM:
            if (s_parse_uint ("--write-quorum", optarg, 1, CHORD_REPLICAS_MAX, &number) != 0)
                return -1;
            options->write_quorum = number;
            break;
        case OPT_MAX_CLOCK_SKEW:
            //  At least a second, at most a day: a larger skew lets a forged
            //  version outrank every write for that long.
            if (s_parse_uint ("--max-clock-skew-ms", optarg, 1000, 86400000ul, &number) != 0)
                return -1;
            options->max_clock_skew_ms = number;
            break;
        case OPT_TOMBSTONE_GRACE:
            //  Up to 30 days; a tombstone kept longer costs space for no safety.
            if (s_parse_uint ("--tombstone-grace-ms", optarg, 1, 2592000000ul, &number) != 0)
                return -1;
            options->tombstone_grace_ms = number;
            break;
        case OPT_SYNC:
            if (s_parse_uint ("--sync-ms", optarg, 0, 3600000, &number) != 0)
                return -1;
            if (number > 0 && number < 10) {
                fprintf (stderr, "chordd: --sync-ms is 0 (4 x --stabilize-ms) or 10 to 3600000, not '%s'\n",
                         optarg);
                return -1;
            }
            options->sync_ms = (uint32_t) number;
            break;
        case OPT_DATA_DIR:
            //  Room for "/pos-<i>" after it in a path.
            if (!*optarg || strlen (optarg) > CHORDD_DATA_DIR_MAX) {
                fprintf (stderr, "chordd: --data-dir needs a path of 1 to %d bytes\n", CHORDD_DATA_DIR_MAX);
                return -1;
            }
            options->data_dir = optarg;
            break;
        case OPT_STORE_MAX_MB:
            if (s_parse_uint ("--store-max-mb", optarg, 1, CHORDD_STORE_MB_MAX, &number) != 0)
                return -1;
            options->store_max_mb = number;
            break;
        case OPT_NO_FSYNC:
            options->no_fsync = true;
            break;
        case OPT_MAX_CONNECTIONS:
            if (s_parse_uint ("--max-connections", optarg, 1, CHORDD_CONNECTIONS_MAX, &number) != 0)
                return -1;
            options->max_connections = number;
            break;
        case OPT_SECRET:
            options->secret = optarg;
            break;
        case OPT_CLIENTS:
            options->clients = optarg;
            break;
        case OPT_INSECURE:
            options->insecure = true;
            break;
        case OPT_LOG_LEVEL:
            if (chordd_log_parse_level (optarg, &options->log_level) != 0) {
                fprintf (stderr, "chordd: --log-level is error, warn, info or debug, not '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h':
            s_usage (stdout);
            return 1;
        case OPT_VERSION:
            printf ("chordd 0.1.0 (chord protocol %d)\n", CHORD_PROTOCOL_VERSION);
            return 1;
        case ':':
            fprintf (stderr, "chordd: %s needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf (stderr, "chordd: unknown option '%s' (try --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "chordd: unexpected argument '%s' (try --help)\n", argv[optind]);
        return -1;
    }
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
    return s_check_security (options);
}
