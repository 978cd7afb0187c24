/*  chord records: a stored value with its version.

    Every value a peer stores carries the version of the write that made it,
    so replicas that see writes in different orders keep the same winner:
    the highest version, compared as (hlc, writer) — last writer wins. A
    delete is a write too: a tombstone, kept until its grace period ends so
    that an older copy elsewhere cannot bring the key back.

    Layout in the store and on the wire (CHORD_RECORD_HEADER bytes, then
    the value):

        format  1 byte, CHORD_RECORD_FORMAT
        flags   1 byte, CHORD_RECORD_TOMBSTONE or 0
        hlc     8 bytes big-endian: milliseconds << 16 | logical counter
        writer  8 bytes big-endian: the first 8 bytes of the writer's id

    The hybrid logical clock keeps versions close to wall-clock time while
    never going backwards on a peer, and never below a version it has seen.  */
#ifndef CHORD_RECORD_H
#define CHORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "message.h"
#include "store.h"

#define CHORD_RECORD_FORMAT    0xC1
#define CHORD_RECORD_TOMBSTONE 0x01
#define CHORD_RECORD_HEADER    18

_Static_assert(CHORD_VALUE_MAX + CHORD_RECORD_HEADER <= CHORD_ITEM_VALUE_MAX,
               "an item must hold a whole record");

typedef struct {
    uint64_t hlc;       /* hybrid logical clock: ms << 16 | counter */
    uint64_t writer;    /* tie-break: the writing position's id prefix */
} chord_version_t;

typedef struct {
    chord_version_t version;
    bool tombstone;
    const uint8_t *value;   /* borrowed */
    size_t value_len;
} chord_record_t;

/* <0, 0, >0 as a is older than, the same as, or newer than b. */
int chord_version_compare (const chord_version_t *a, const chord_version_t *b);

/* The writer field for a position id. */
uint64_t chord_version_writer (const chord_id_t *id);

/* Milliseconds of wall-clock time in an hlc. */
uint64_t chord_hlc_ms (uint64_t hlc);

/* A new hlc for a write at wall_ms, above *last; updates *last. */
uint64_t chord_hlc_next (uint64_t *last, uint64_t wall_ms);

/* Takes note of an hlc seen in a record, so later writes order after it. */
void chord_hlc_observe (uint64_t *last, uint64_t seen);

/* Parses size bytes into *rec (value borrowed from data). 0, or -1 when
   they are not a record. */
int chord_record_decode (chord_record_t *rec, const uint8_t *data, size_t size);

/* Bytes chord_record_encode writes for rec. */
size_t chord_record_size (const chord_record_t *rec);

/* Writes rec into out, which holds chord_record_size (rec) bytes. */
void chord_record_encode (const chord_record_t *rec, uint8_t *out);

/*  Stores the encoded record at key unless the store already holds an
    equal or newer version. Returns 1 when stored, 0 when the store's copy
    wins, -1 on a store error or when data is not a record.  */
int chord_record_put_if_newer (chord_store_t *store, const uint8_t *key, size_t key_len,
                               const uint8_t *data, size_t size);

/*  Reads key's record. Returns 0 (rec's value points into the store, valid
    until its next change), 1 when absent, -1 on a store error or a stored
    value that is not a record.  */
int chord_record_get (chord_store_t *store, const uint8_t *key, size_t key_len, chord_record_t *rec);

#endif
