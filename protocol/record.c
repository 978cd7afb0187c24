/*  chord records: versions, the hybrid logical clock, and the record
    encoding. See record.h.  */
#include "record.h"

#include <string.h>

static void s_put_u64 (uint8_t *out, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) value;
        value >>= 8;
    }
}

static uint64_t s_get_u64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}

int chord_version_compare (const chord_version_t *a, const chord_version_t *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    if (a->writer != b->writer)
        return a->writer < b->writer ? -1 : 1;
    return 0;
}

uint64_t chord_version_writer (const chord_id_t *id)
{
    return s_get_u64 (id->bytes);
}

uint64_t chord_hlc_ms (uint64_t hlc)
{
    return hlc >> 16;
}

uint64_t chord_hlc_next (uint64_t *last, uint64_t wall_ms)
{
    uint64_t physical = wall_ms << 16;
    if (physical > *last)
        *last = physical;
    else if (*last < UINT64_MAX)   /* saturate rather than wrap to the oldest version */
        *last = *last + 1;
    return *last;
}

void chord_hlc_observe (uint64_t *last, uint64_t seen)
{
    if (seen > *last)
        *last = seen;
}

int chord_record_decode (chord_record_t *rec, const uint8_t *data, size_t size)
{
    if (size < CHORD_RECORD_HEADER || data[0] != CHORD_RECORD_FORMAT
        || (data[1] & ~CHORD_RECORD_TOMBSTONE) != 0)
        return -1;
    rec->tombstone = data[1] & CHORD_RECORD_TOMBSTONE;
    rec->version.hlc = s_get_u64 (data + 2);
    rec->version.writer = s_get_u64 (data + 10);
    rec->value = data + CHORD_RECORD_HEADER;
    rec->value_len = size - CHORD_RECORD_HEADER;
    /* A tombstone has no value; a value is never over the client limit. */
    if ((rec->tombstone && rec->value_len != 0) || rec->value_len > CHORD_VALUE_MAX)
        return -1;
    return 0;
}

size_t chord_record_size (const chord_record_t *rec)
{
    return CHORD_RECORD_HEADER + (rec->tombstone ? 0 : rec->value_len);
}

void chord_record_encode (const chord_record_t *rec, uint8_t *out)
{
    out[0] = CHORD_RECORD_FORMAT;
    out[1] = rec->tombstone ? CHORD_RECORD_TOMBSTONE : 0;
    s_put_u64 (out + 2, rec->version.hlc);
    s_put_u64 (out + 10, rec->version.writer);
    if (!rec->tombstone && rec->value_len)
        memcpy (out + CHORD_RECORD_HEADER, rec->value, rec->value_len);
}

int chord_record_get (chord_store_t *store, const uint8_t *key, size_t key_len, chord_record_t *rec)
{
    const uint8_t *data;
    size_t size;
    int rc = chord_store_get (store, key, key_len, &data, &size);
    if (rc != 0)
        return rc;
    return chord_record_decode (rec, data, size) == 0 ? 0 : -1;
}

int chord_record_put_if_newer (chord_store_t *store, const uint8_t *key, size_t key_len,
                               const uint8_t *data, size_t size)
{
    chord_record_t incoming, held;
    if (chord_record_decode (&incoming, data, size) != 0)
        return -1;
    const uint8_t *held_data;
    size_t held_size;
    int rc = chord_store_get (store, key, key_len, &held_data, &held_size);
    if (rc < 0)
        return -1;   /* unreadable: it may hold a newer version */
    /* A held value that is not a record is garbage: the incoming one replaces it. */
    if (rc == 0 && chord_record_decode (&held, held_data, held_size) == 0 &&
        chord_version_compare (&incoming.version, &held.version) <= 0)
        return 0;
    return chord_store_put (store, key, key_len, data, size) == 0 ? 1 : -1;
}
