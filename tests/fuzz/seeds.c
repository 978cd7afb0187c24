/*  Writes the seed corpora of the fuzz targets, so that each starts from
    valid inputs instead of discovering msgpack, the envelope and every
    message type by itself. Run by `make fuzz` at build time; nothing it
    writes is committed.

        build/fuzz/seeds DIR    writes DIR/corpus-decode, corpus-route,
                                corpus-node and corpus-record

    decode and route get one message of every type with only its required
    fields and one with every field (route: with an origin, without, and
    aimed at a second position); node gets, for each of its three shapes,
    a step building each type and a short conversation; record gets
    records, garbage, versions and clocks.  */

#include "fuzz_input.h"
#include "id.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char s_endpoint[] = "tcp://10.0.0.1:7000";   /* fuzz_route's positions */

static int s_write (const char *dir, const char *corpus, const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf (path, sizeof path, "%s/corpus-%s", dir, corpus);
    if (mkdir (path, 0777) != 0 && errno != EEXIST) {
        perror (path);
        return -1;
    }
    snprintf (path, sizeof path, "%s/corpus-%s/seed-%s", dir, corpus, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0) {
        perror (path);
        return -1;
    }
    return 0;
}

/*  Builder bytes: request id choice, header, optional fields. A header of
    0x08 asks for no optional field; 0x10 reads the mask that follows;
    0x00 takes the type's usual fields; 0x06 adds a target.  */
static int s_messages (const char *dir, const fuzz_world_t *world)
{
    static const uint8_t minimal[] = { 0, 0x08 };
    static const uint8_t full[] = { 0, 0x10, 0xff, 0xff, 0xff, 0x7f };
    static const uint8_t usual[] = { 0, 0x00 };
    static const uint8_t targeted[] = { 1, 0x0e };      /* second world id, target */
    for (size_t i = 0; i < FUZZ_TYPE_COUNT; i++) {
        chord_msg_type_t type = fuzz_types[i];
        const char *name = chord_msg_type_name (type);
        struct { const char *suffix; const uint8_t *bytes; size_t size; } shapes[] = {
            { "min", minimal, sizeof minimal },
            { "full", full, sizeof full },
            { "usual", usual, sizeof usual },
            { "targeted", targeted, sizeof targeted },
        };
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            fuzz_bytes_t in;
            fuzz_bytes_init (&in, shapes[s].bytes, shapes[s].size);
            uint8_t *data;
            size_t size;
            if (fuzz_build_encoded (&in, world, type, &data, &size) != 0) {
                fprintf (stderr, "seeds: cannot build a %s message\n", name);
                return -1;
            }
            char file[128];
            snprintf (file, sizeof file, "%s-%s", name, shapes[s].suffix);
            int rc = s_write (dir, "decode", file, data, size);
            /* Route: the flags byte first (position count, origin or not). */
            uint8_t *routed = malloc (size + 1);
            for (unsigned flags = 0; rc == 0 && routed && flags < 2; flags++) {
                routed[0] = (uint8_t) (3 | (flags ? 4 : 0));   /* four positions; with or without origin */
                memcpy (routed + 1, data, size);
                char routed_file[160];
                snprintf (routed_file, sizeof routed_file, "%s-%s", file, flags ? "reply" : "request");
                rc = s_write (dir, "route", routed_file, routed, size + 1);
            }
            free (routed);
            free (data);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

/* fuzz_node's ops (see fuzz_node.c). */
enum { S_NODE_RAW = 0, S_NODE_TICK = 2, S_NODE_LEAVE = 3, S_NODE_BUILD = 5, S_NODE_REPLY = 6 };

static int s_node (const char *dir)
{
    for (uint8_t shape = 0; shape < 3; shape++) {
        /* Replication and the owner cache on for half of them. */
        uint8_t config = (uint8_t) (shape | (shape == 0 ? 0x0c : 0));
        for (size_t i = 0; i < FUZZ_TYPE_COUNT; i++) {
            uint8_t *buf = malloc (1);
            size_t size = 1;
            if (!buf)
                return -1;
            buf[0] = config;        /* the shape byte comes before the steps */
            /* flags 0: with origin, role peer (write client for client types);
               request id choice 0, header 0x08, sender: world peer 1. */
            bool client = fuzz_types[i] >= CHORD_MSG_CLIENT_PUT;
            uint8_t build[] = { (uint8_t) (client ? 3 : 4), (uint8_t) i, 0, 0x08, 1 };
            int rc = fuzz_append_step (&buf, &size, S_NODE_BUILD, build, sizeof build);
            char name[96];
            snprintf (name, sizeof name, "shape%u-%s", shape, chord_msg_type_name (fuzz_types[i]));
            rc = rc == 0 ? s_write (dir, "node", name, buf, size) : rc;
            free (buf);
            if (rc != 0)
                return -1;
        }
        /* A conversation: time passes, the node's requests are answered,
           a client writes and reads, time passes again, the node leaves. */
        uint8_t *buf = malloc (1);
        size_t size = 1;
        if (!buf)
            return -1;
        buf[0] = config;
        static const uint8_t next_deadline[] = { 1 };
        static const uint8_t put[] = { 3, 20, 0, 0x08, 0, 0 };    /* CLIENT_PUT, key "colour" */
        static const uint8_t get[] = { 3, 21, 0, 0x08, 0, 0 };
        int rc = 0;
        for (int round = 0; round < 3 && rc == 0; round++) {
            rc = fuzz_append_step (&buf, &size, S_NODE_TICK, next_deadline, sizeof next_deadline);
            for (uint8_t sent = 0; sent < 3 && rc == 0; sent++) {
                uint8_t reply[] = { sent, 0, 0, 0x00 };
                rc = fuzz_append_step (&buf, &size, S_NODE_REPLY, reply, sizeof reply);
            }
        }
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_BUILD, put, sizeof put) : rc;
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_REPLY, (const uint8_t[]) { 15, 0, 0, 0 }, 4) : rc;
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_BUILD, get, sizeof get) : rc;
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_TICK, next_deadline, sizeof next_deadline) : rc;
        static const uint8_t many_deadlines[] = { 4, 63 };
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_TICK, many_deadlines, sizeof many_deadlines) : rc;
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_LEAVE, NULL, 0) : rc;
        rc = rc == 0 ? fuzz_append_step (&buf, &size, S_NODE_REPLY, (const uint8_t[]) { 0, 0, 0, 0 }, 4) : rc;
        char name[64];
        snprintf (name, sizeof name, "shape%u-conversation", shape);
        rc = rc == 0 ? s_write (dir, "node", name, buf, size) : rc;
        free (buf);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* fuzz_record's ops (see fuzz_record.c). */
enum { S_REC_DECODE = 0, S_REC_PUT_RAW = 1, S_REC_PUT_BUILT = 2, S_REC_GARBAGE = 3, S_REC_DEL = 4,
       S_REC_VERSIONS = 5, S_REC_HLC = 6 };

static int s_record (const char *dir)
{
    uint8_t record[CHORD_RECORD_HEADER + 5];
    chord_record_t rec = { .version = { .hlc = 0x0190000000010000ull, .writer = 7 },
                           .value = (const uint8_t *) "blue!", .value_len = 5 };
    chord_record_encode (&rec, record);
    uint8_t tombstone[CHORD_RECORD_HEADER];
    chord_record_t dead = { .version = { .hlc = 0x0190000000020000ull, .writer = 3 }, .tombstone = true };
    chord_record_encode (&dead, tombstone);

    uint8_t *buf = NULL;
    size_t size = 0;
    /* op + 7 * k picks key k: put, an older put, a tombstone, garbage then a put. */
    static const uint8_t older[] = { 0, 5, 1, 'o', 'l', 'd' };          /* hlc 5, writer 1 */
    static const uint8_t tie[] = { 0, 5, 1, 's', 'a', 'm', 'e' };
    static const uint8_t versions[] = { 0x10, 0x20, 0x14 };
    static const uint8_t hlc[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
    int rc = fuzz_append_step (&buf, &size, S_REC_DECODE, record, sizeof record);
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_RAW, record, sizeof record) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_BUILT, older, sizeof older) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_BUILT + 7, older, sizeof older) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_BUILT + 7, tie, sizeof tie) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_RAW + 7, tombstone, sizeof tombstone) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_GARBAGE + 14, (const uint8_t *) "junk", 4) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_PUT_RAW + 14, record, sizeof record) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_DEL, NULL, 0) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_VERSIONS, versions, sizeof versions) : rc;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_HLC, hlc, sizeof hlc) : rc;
    rc = rc == 0 ? s_write (dir, "record", "mixed", buf, size) : rc;
    free (buf);
    /* Each record alone as a decode step too. */
    buf = NULL;
    size = 0;
    rc = rc == 0 ? fuzz_append_step (&buf, &size, S_REC_DECODE, tombstone, sizeof tombstone) : rc;
    rc = rc == 0 ? s_write (dir, "record", "tombstone", buf, size) : rc;
    free (buf);
    return rc;
}

/*  resp: the settings byte (secured, "good" a write token, 97-byte feeds)
    then a session of requests, pipelined, and one malformed ending.  */
static int s_resp (const char *dir)
{
    //  The length from sizeof, since a session may hold NULs.
#define S_RESP_SEED(name, text) {name, text, sizeof text - 1}
    static const struct {
        const char *name;                   /* the seed's file name */
        const char *data;                   /* the connection's bytes */
        size_t len;
    } sessions[] = {
        S_RESP_SEED ("ping", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"),
        S_RESP_SEED ("auth-set-get", "*2\r\n$4\r\nAUTH\r\n$4\r\ngood\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\0v\r\n"
                         "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nDEL\r\n$1\r\nk\r\n$1\r\nx\r\n"),
        S_RESP_SEED ("mset-mget", "*2\r\n$4\r\nAUTH\r\n$4\r\ngood\r\n*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                      "$1\r\nE\r\n$1\r\n2\r\n*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n"
                      "*3\r\n$6\r\nEXISTS\r\n$1\r\na\r\n$1\r\na\r\n"),
        S_RESP_SEED ("admin", "*2\r\n$4\r\nAUTH\r\n$4\r\ngood\r\n*1\r\n$7\r\nCOMMAND\r\n*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"
                  "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n*2\r\n$4\r\nINFO\r\n$5\r\nchord\r\n"
                  "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nFOO\r\n$3\r\nbar\r\n*1\r\n$4\r\nQUIT\r\n"),
        S_RESP_SEED ("malformed", "*1\r\n$4\r\nPING\r\n*1\r\n$abc\r\n"),
    };
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        uint8_t data[512];
        data[0] = 0x01 | (2 << 1);
        memcpy (data + 1, sessions[i].data, sessions[i].len);
        if (s_write (dir, "resp", sessions[i].name, data, sessions[i].len + 1) != 0)
            return -1;
    }
    return 0;
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    fuzz_world_t world = { .wall_ms = 1700000000000ull };
    for (unsigned position = 0; position < 4; position++)
        fuzz_world_add_peer (&world, s_endpoint, position);
    fuzz_world_add_id (&world, 1);                      /* position 0's first request */
    fuzz_world_add_id (&world, (1ull << 40) + 1);       /* position 1's */
    if (s_messages (argv[1], &world) != 0 || s_node (argv[1]) != 0 || s_record (argv[1]) != 0 ||
        s_resp (argv[1]) != 0)
        return 1;
    return 0;
}
