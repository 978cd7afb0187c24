/*  chordctl's insides, shared by chordctl.c (options, the key commands,
    info, leave, main), chordctl_ring.c (the ring walk and keygen) and
    chordctl_status.c (status and health).
    Not for other programs.  */
#ifndef CHORD_TOOLS_CHORDCTL_H
#define CHORD_TOOLS_CHORDCTL_H

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "util.h"
#include "id.h"
#include "keys.h"
#include "message.h"
#include "ring_client.h"
#include "ring_walk.h"


#define S_SERVER_DEFAULT     "tcp://127.0.0.1:7000"
#define S_TIMEOUT_MS_DEFAULT 5000
#define S_TIMEOUT_MS_MAX     (24 * 3600 * 1000)   /* one day */
#define S_WORDS_MAX          8                    /* command words after the options */

enum {
    S_EXIT_OK = 0,
    S_EXIT_NOT_FOUND = 1,     /* the key does not exist */
    S_EXIT_USAGE = 2,         /* bad command line or oversize key or value */
    S_EXIT_NO_ANSWER = 3,     /* unreachable, timed out, or the peer is not ready */
    S_EXIT_ERROR = 4,         /* any other failure */
    S_EXIT_REFUSED = 5,       /* the peer refused the connection: not a key it admits */
};

typedef struct {
    const char *server;       /* endpoint of the peer to ask */
    int timeout_ms;           /* budget for the whole command */
    bool json;                /* JSON output for lookup, info and ring */
    int64_t deadline_ms;      /* monotonic time by which the command ends */
    const char *key_file;     /* --key or $CHORD_KEY: a client key pair */
    const char *secret_file;  /* --secret or $CHORD_SECRET: the cluster secret */
    const chord_client_curve_t *curve;   /* how to connect; NULL: without CURVE */
    ring_route_t route;       /* --route: put, get and del through the server, or straight to owners */
} chordctl_t;

/* Shared between the files. */
int chordctl_fail (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
int chordctl_print_json (json_t *root);
json_t *chordctl_json_id (const chord_id_t *id);
json_t *chordctl_json_text (const char *text, size_t len);
json_t *chordctl_json_count (uint64_t count);
json_t *chordctl_json_peer (const chord_peer_t *peer);
/* endpoint, a peer's word, copied into out with every byte but printable
   ASCII shown as '?', so that it cannot drive the terminal; returns out. */
const char *chordctl_plain (const char *endpoint, char out[CHORD_ENDPOINT_MAX + 1]);
/* Asks for key's owner: 0 with *reply filled (the caller clears it), or an exit code. */
int chordctl_lookup (const chordctl_t *ctl, chord_client_t *client, const char *key, chord_msg_t *reply);
/* chordctl replicas KEY (replicas.c). */
int chordctl_cmd_replicas (const chordctl_t *ctl, chord_client_t *client, const char *key);
int chordctl_info (const chordctl_t *ctl, chord_client_t *client, const char *endpoint,
                   const chord_id_t *target, chord_msg_t *reply);
/* Walks the ring from ctl->server within the command's budget. Returns 0
   with *walk filled (ring_walk_clear it), or an exit code after printing
   why the start did not answer. */
int chordctl_walk (const chordctl_t *ctl, ring_walk_t *walk);
int chordctl_cmd_ring (const chordctl_t *ctl);
/* chordctl status and health (chordctl_status.c). */
int chordctl_cmd_status (const chordctl_t *ctl);
int chordctl_cmd_health (const chordctl_t *ctl);
int chordctl_keygen (int argc, char **argv);

#endif
