/*  chordd auth: our ZAP handler. See auth.h. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "error.h"
#include "log.h"

#define S_ZAP_FRAMES_MAX   8       /* a CURVE request has 7; more is malformed */
#define S_REQUEST_ID_MAX   255     /* bytes of a request id we echo back */
#define S_CLIENTS_MAX      100000  /* lines of a clients file: a bound on memory */
#define S_LINE_MAX         1024    /* bytes of one line of a clients file */
#define S_LOG_EVERY_MS     1000    /* at most one refusal logged per second: a flood must not flood the log */

/* One admitted client key. */
typedef struct {
    uint8_t key[CHORD_KEY_BYTES];   /* its CURVE public key */
    chord_role_t role;              /* READ, WRITE or ADMIN */
} s_client_t;

struct chordd_auth {
    uint8_t ring_public[CHORD_KEY_BYTES];   /* the peers' key: User-Id "peer" */
    s_client_t *clients;                    /* sorted by key, for bsearch */
    size_t client_count;
    void *socket;                           /* ZMQ_REP on CHORDD_AUTH_ENDPOINT; NULL until bound */
    uint64_t refused;                       /* handshakes refused */
    uint64_t refused_logged;                /* of which the log has told */
    int64_t last_log_ms;                    /* when a refusal was last logged */
};

static const char *s_role_names[] = {"none", "read", "write", "admin", "peer"};

static int s_compare (const void *a, const void *b)
{
    return memcmp (a, b, CHORD_KEY_BYTES);
}

chordd_auth_t *chordd_auth_new (const uint8_t ring_public[CHORD_KEY_BYTES])
{
    chordd_auth_t *self = calloc (1, sizeof *self);
    if (self)
        memcpy (self->ring_public, ring_public, CHORD_KEY_BYTES);
    return self;
}

void chordd_auth_destroy (chordd_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chordd_auth_t *self = *self_p;
    chordd_auth_unbind (self);
    free (self->clients);
    free (self);
    *self_p = NULL;
}

chord_role_t chordd_auth_role (const char *user_id)
{
    if (!user_id)
        return CHORD_ROLE_NONE;
    for (int role = CHORD_ROLE_READ; role <= CHORD_ROLE_PEER; role++)
        if (strcmp (user_id, s_role_names[role]) == 0)
            return (chord_role_t) role;
    return CHORD_ROLE_NONE;
}

/* Parses "Z85PUBKEY ROLE [comment]" into client. */
static int s_parse_line (char *line, s_client_t *client, const char *where, char *error, size_t size)
{
    char *key = strtok (line, " \t\r\n");
    char *role = strtok (NULL, " \t\r\n");
    if (!key || !role)
        return chordd_error (error, size, "%s: want 'Z85PUBKEY ROLE [comment]'", where);
    if (chord_keys_z85_decode (client->key, key, strlen (key)) != 0)
        return chordd_error (error, size, "%s: '%.60s' is not a public key of 40 Z85 characters", where, key);
    client->role = chordd_auth_role (role);
    if (client->role < CHORD_ROLE_READ || client->role > CHORD_ROLE_ADMIN)
        return chordd_error (error, size, "%s: role '%.20s' is not read, write or admin", where, role);
    return 0;
}

/* Reads every client of file into a new sorted table. */
static int s_read_table (FILE *file, const char *path, s_client_t **table_p, size_t *count_p, char *error,
                         size_t size)
{
    s_client_t *table = NULL;
    size_t count = 0, room = 0, line_number = 0;
    char line[S_LINE_MAX + 2], where[512];
    int rc = 0;
    while (rc == 0 && fgets (line, sizeof line, file)) {
        line_number++;
        snprintf (where, sizeof where, "%s:%zu", path, line_number);
        if (!strchr (line, '\n') && !feof (file)) {
            rc = chordd_error (error, size, "%s: line over %d bytes", where, S_LINE_MAX);
            break;
        }
        char *start = line;
        while (isspace ((unsigned char) *start))
            start++;
        if (!*start || *start == '#')
            continue;
        if (count == S_CLIENTS_MAX) {
            rc = chordd_error (error, size, "%s: more than %d clients", where, S_CLIENTS_MAX);
            break;
        }
        if (count == room) {
            room = room ? room * 2 : 64;
            s_client_t *grown = realloc (table, room * sizeof *table);
            if (!grown) {
                rc = chordd_error (error, size, "%s: out of memory", where);
                break;
            }
            table = grown;
        }
        rc = s_parse_line (start, &table[count], where, error, size);
        for (size_t i = 0; rc == 0 && i < count; i++)
            if (memcmp (table[i].key, table[count].key, CHORD_KEY_BYTES) == 0)
                rc = chordd_error (error, size, "%s: this key is listed already (as %s)", where,
                                   s_role_names[table[i].role]);
        count += rc == 0;
    }
    if (rc == 0 && ferror (file))
        rc = chordd_error (error, size, "cannot read %s", path);
    if (rc != 0) {
        free (table);
        return -1;
    }
    qsort (table, count, sizeof *table, s_compare);
    *table_p = table;
    *count_p = count;
    return 0;
}

int chordd_auth_load (chordd_auth_t *self, const char *path, char *error, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return chordd_error (error, size, "cannot open %s: %s", path, strerror (errno));
    s_client_t *table = NULL;
    size_t count = 0;
    int rc = s_read_table (file, path, &table, &count, error, size);
    fclose (file);
    if (rc != 0)
        return -1;
    free (self->clients);
    self->clients = table;
    self->client_count = count;
    return 0;
}

size_t chordd_auth_count (const chordd_auth_t *self, chord_role_t role)
{
    size_t count = 0;
    for (size_t i = 0; i < self->client_count; i++)
        count += self->clients[i].role == role;
    return count;
}

int chordd_auth_bind (chordd_auth_t *self, void *context)
{
    self->socket = zmq_socket (context, ZMQ_REP);
    if (!self->socket)
        return -1;
    int zero = 0;
    zmq_setsockopt (self->socket, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind (self->socket, CHORDD_AUTH_ENDPOINT) != 0) {
        int saved = errno;
        zmq_close (self->socket);
        self->socket = NULL;
        errno = saved;
        return -1;
    }
    return 0;
}

void chordd_auth_unbind (chordd_auth_t *self)
{
    if (self && self->socket) {
        zmq_close (self->socket);
        self->socket = NULL;
    }
}

void *chordd_auth_socket (chordd_auth_t *self)
{
    return self->socket;
}

/* The role of a CURVE client key: PEER for the ring's, a client's role, or NONE. */
static chord_role_t s_role_of_key (const chordd_auth_t *self, const uint8_t *key)
{
    if (memcmp (key, self->ring_public, CHORD_KEY_BYTES) == 0)
        return CHORD_ROLE_PEER;
    const s_client_t *client = self->client_count
        ? bsearch (key, self->clients, self->client_count, sizeof *self->clients, s_compare) : NULL;
    return client ? client->role : CHORD_ROLE_NONE;
}

static bool s_frame_is (zmq_msg_t *frame, const char *text)
{
    return zmq_msg_size (frame) == strlen (text) && memcmp (zmq_msg_data (frame), text, strlen (text)) == 0;
}

/*  Decides on one request of count frames: version, request id, domain,
    address, routing id, mechanism, credentials. Everything in it may come
    from the network (the key, the address), so every size is checked.  */
static chord_role_t s_decide (chordd_auth_t *self, zmq_msg_t *frames, size_t count)
{
    if (count != 7 || !s_frame_is (&frames[0], "1.0") || !s_frame_is (&frames[2], CHORDD_AUTH_DOMAIN)
        || !s_frame_is (&frames[5], "CURVE") || zmq_msg_size (&frames[6]) != CHORD_KEY_BYTES)
        return CHORD_ROLE_NONE;
    return s_role_of_key (self, zmq_msg_data (&frames[6]));
}

/* Sends the reply to a request whose id is in frames[1] (if any). */
static void s_reply (chordd_auth_t *self, zmq_msg_t *frames, size_t count, chord_role_t role)
{
    const void *id = "";
    size_t id_size = 0;
    if (count > 1 && zmq_msg_size (&frames[1]) <= S_REQUEST_ID_MAX) {
        id = zmq_msg_data (&frames[1]);
        id_size = zmq_msg_size (&frames[1]);
    }
    bool admit = role != CHORD_ROLE_NONE;
    const char *user = admit ? s_role_names[role] : "";
    zmq_send (self->socket, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (self->socket, id, id_size, ZMQ_SNDMORE);
    zmq_send (self->socket, admit ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send (self->socket, admit ? "OK" : "not a key of this ring", admit ? 2 : 22, ZMQ_SNDMORE);
    zmq_send (self->socket, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (self->socket, "", 0, 0);
}

/*  Logs a refused handshake with the address and the CURVE key it came
    with, so an admin can list a client that should be admitted; at most
    once per S_LOG_EVERY_MS, counting the ones left out.  */
static void s_log_refusal (chordd_auth_t *self, zmq_msg_t *frames, size_t kept)
{
    self->refused++;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (self->refused_logged && now_ms - self->last_log_ms < S_LOG_EVERY_MS)
        return;
    char address[64] = "?", key[CHORD_KEY_Z85_LEN + 1] = "none";
    if (kept > 3 && zmq_msg_size (&frames[3]) < sizeof address)
        snprintf (address, sizeof address, "%.*s", (int) zmq_msg_size (&frames[3]),
                  (const char *) zmq_msg_data (&frames[3]));
    for (char *c = address; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (kept == 7 && zmq_msg_size (&frames[6]) == CHORD_KEY_BYTES)
        chord_keys_z85_encode (key, zmq_msg_data (&frames[6]));
    char more[64] = "";
    uint64_t unlogged = self->refused - self->refused_logged - 1;
    if (unlogged)
        snprintf (more, sizeof more, " (%llu more refused since the last such line)", (unsigned long long) unlogged);
    chordd_log (CHORD_LOG_INFO, "refused a connection from %s with key %s: not the ring's, not in --clients%s",
                address, key, more);
    self->refused_logged = self->refused;
    self->last_log_ms = now_ms;
}

/* Reads one whole request and answers it. Returns false when none waits. */
static bool s_handle_one (chordd_auth_t *self)
{
    zmq_msg_t frames[S_ZAP_FRAMES_MAX];
    size_t count = 0;
    bool more = true;
    while (more) {
        /* Frames past the ones kept go to scratch, read only to be dropped. */
        zmq_msg_t scratch;
        zmq_msg_t *frame = count < S_ZAP_FRAMES_MAX ? &frames[count] : &scratch;
        zmq_msg_init (frame);
        if (zmq_msg_recv (frame, self->socket, count ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (frame);
            break;
        }
        more = zmq_msg_more (frame);
        if (frame == &scratch)
            zmq_msg_close (frame);
        count++;
    }
    if (count == 0)
        return false;
    size_t kept = count < S_ZAP_FRAMES_MAX ? count : S_ZAP_FRAMES_MAX;
    chord_role_t role = count <= S_ZAP_FRAMES_MAX ? s_decide (self, frames, count) : CHORD_ROLE_NONE;
    if (role == CHORD_ROLE_NONE)
        s_log_refusal (self, frames, kept);
    s_reply (self, frames, kept, role);
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close (&frames[i]);
    return true;
}

int chordd_auth_handle (chordd_auth_t *self)
{
    int handled = 0;
    while (self->socket && s_handle_one (self))
        handled++;
    return handled;
}
