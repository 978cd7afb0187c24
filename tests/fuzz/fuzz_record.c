/*  A libFuzzer target for records (record.h): decoding arbitrary bytes,
    encoding, the version order, the hybrid logical clock, and "keep if
    newer" on a memory store, checked against a plain model of what each
    should do.

    Input: steps [op][length, 2 bytes little-endian][payload] (fuzz_input.h):

        FUZZ_RECORD_OP_DECODE     decode the payload; a record must encode back to it
        FUZZ_RECORD_OP_PUT_RAW    chord_record_put_if_newer with the payload as the record
        FUZZ_RECORD_OP_PUT_BUILT  the same with a valid record built from the payload
        FUZZ_RECORD_OP_GARBAGE    store raw bytes (no record) under a key
        FUZZ_RECORD_OP_DEL        delete a key
        FUZZ_RECORD_OP_VERSIONS   the version order: antisymmetric, transitive
        FUZZ_RECORD_OP_HLC        chord_hlc_next and chord_hlc_observe never go back

    Keys are a handful, so puts meet. Replay under gcc: build/replay/fuzz_record FILE...  */

#include "fuzz_input.h"
#include "record.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

enum {
    FUZZ_RECORD_OP_DECODE = 0,
    FUZZ_RECORD_OP_PUT_RAW = 1,
    FUZZ_RECORD_OP_PUT_BUILT = 2,
    FUZZ_RECORD_OP_GARBAGE = 3,
    FUZZ_RECORD_OP_DEL = 4,
    FUZZ_RECORD_OP_VERSIONS = 5,
    FUZZ_RECORD_OP_HLC = 6,
    FUZZ_RECORD_OPS = 7,
};

#define S_STEPS_MAX 256

static const char *const s_keys[] = { "a", "b", "colour", "k" };
#define S_KEY_COUNT (sizeof s_keys / sizeof s_keys[0])

static void s_check (bool ok)
{
    if (!ok)
        abort ();
}

static int s_sign (int value)
{
    return (value > 0) - (value < 0);
}

static void s_decode (fuzz_bytes_t *payload)
{
    size_t size;
    const uint8_t *data = fuzz_rest (payload, &size);
    chord_record_t rec;
    if (chord_record_decode (&rec, data, size) != 0)
        return;
    /* A record is its header and its value, nothing more, nothing less. */
    s_check (chord_record_size (&rec) == size);
    s_check (rec.value_len == size - CHORD_RECORD_HEADER);
    s_check (rec.value_len <= CHORD_VALUE_MAX && (!rec.tombstone || rec.value_len == 0));
    s_check (rec.value == data + CHORD_RECORD_HEADER);
    uint8_t *again = malloc (size);
    s_check (again != NULL);
    chord_record_encode (&rec, again);
    s_check (memcmp (again, data, size) == 0);
    free (again);
}

/*  chord_record_put_if_newer, checked: a non-record is refused and changes
    nothing; a record replaces an absent key, a held non-record or an older
    version, and otherwise changes nothing.  */
static void s_put_checked (chord_store_t *store, const char *key, const uint8_t *data, size_t size)
{
    size_t key_len = strlen (key);
    const uint8_t *held_data;
    size_t held_size = 0;
    int held_rc = chord_store_get (store, (const uint8_t *) key, key_len, &held_data, &held_size);
    s_check (held_rc == 0 || held_rc == 1);
    uint8_t *held = malloc (held_size ? held_size : 1);
    s_check (held != NULL);
    if (held_rc == 0 && held_size)
        memcpy (held, held_data, held_size);

    chord_record_t incoming, held_rec;
    bool valid = chord_record_decode (&incoming, data, size) == 0;
    bool held_valid = held_rc == 0 && chord_record_decode (&held_rec, held, held_size) == 0;
    int expected = !valid ? -1
                   : held_valid && chord_version_compare (&incoming.version, &held_rec.version) <= 0 ? 0
                                                                                                    : 1;
    int rc = chord_record_put_if_newer (store, (const uint8_t *) key, key_len, data, size);
    s_check (rc == expected);

    const uint8_t *now_data;
    size_t now_size;
    int now_rc = chord_store_get (store, (const uint8_t *) key, key_len, &now_data, &now_size);
    if (rc == 1)
        s_check (now_rc == 0 && now_size == size && memcmp (now_data, data, size) == 0);
    else
        s_check (now_rc == held_rc
                 && (now_rc != 0 || (now_size == held_size && memcmp (now_data, held, held_size) == 0)));
    if (rc == 1) {
        chord_record_t got;
        s_check (chord_record_get (store, (const uint8_t *) key, key_len, &got) == 0);
        s_check (chord_version_compare (&got.version, &incoming.version) == 0);
        s_check (got.tombstone == incoming.tombstone && got.value_len == incoming.value_len);
    }
    free (held);
}

static void s_put_built (chord_store_t *store, const char *key, fuzz_bytes_t *payload)
{
    uint8_t flags = fuzz_u8 (payload);
    chord_record_t rec = { .tombstone = flags & 1 };
    /* Small versions collide and tie often; large ones reach the edges. */
    rec.version.hlc = (flags & 2) ? fuzz_u64 (payload) : fuzz_u8 (payload);
    rec.version.writer = (flags & 4) ? fuzz_u64 (payload) : fuzz_u8 (payload) % 3;
    if (!rec.tombstone)
        rec.value = fuzz_rest (payload, &rec.value_len);
    if (rec.value_len > CHORD_VALUE_MAX)
        return;
    size_t size = chord_record_size (&rec);
    uint8_t *data = malloc (size);
    s_check (data != NULL);
    chord_record_encode (&rec, data);
    chord_record_t back;
    s_check (chord_record_decode (&back, data, size) == 0);
    s_check (chord_version_compare (&back.version, &rec.version) == 0 && back.tombstone == rec.tombstone);
    s_put_checked (store, key, data, size);
    free (data);
}

static void s_versions (fuzz_bytes_t *payload)
{
    chord_version_t v[3];
    for (int i = 0; i < 3; i++) {
        uint8_t small = fuzz_u8 (payload);
        v[i].hlc = (small & 1) ? fuzz_u64 (payload) : small >> 4;
        v[i].writer = (small & 2) ? fuzz_u64 (payload) : (small >> 2) & 3;
    }
    for (int i = 0; i < 3; i++) {
        s_check (chord_version_compare (&v[i], &v[i]) == 0);
        for (int j = 0; j < 3; j++)
            s_check (s_sign (chord_version_compare (&v[i], &v[j]))
                     == -s_sign (chord_version_compare (&v[j], &v[i])));
    }
    if (chord_version_compare (&v[0], &v[1]) <= 0 && chord_version_compare (&v[1], &v[2]) <= 0)
        s_check (chord_version_compare (&v[0], &v[2]) <= 0);
}

static void s_hlc (fuzz_bytes_t *payload)
{
    uint64_t last = fuzz_u64 (payload);
    uint64_t wall_ms = fuzz_u8 (payload) & 1 ? fuzz_u64 (payload) : (last >> 16) + fuzz_u8 (payload) - 128;
    uint64_t before = last;
    uint64_t next = chord_hlc_next (&last, wall_ms);
    s_check (next == last && next >= before);
    s_check (before == UINT64_MAX || next > before);   /* saturates only at the top */
    s_check (next >= wall_ms << 16);
    uint64_t seen = fuzz_u64 (payload);
    before = last;
    chord_hlc_observe (&last, seen);
    s_check (last >= before && last >= seen && (last == before || last == seen));
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    chord_store_t *store = chord_store_mem_new ();
    s_check (store != NULL);
    fuzz_bytes_t in, payload;
    fuzz_bytes_init (&in, data, size);
    uint8_t op;
    for (size_t steps = 0; steps < S_STEPS_MAX && fuzz_next_step (&in, &op, &payload); steps++) {
        const char *key = s_keys[(op / FUZZ_RECORD_OPS) % S_KEY_COUNT];
        size_t len;
        const uint8_t *bytes;
        switch (op % FUZZ_RECORD_OPS) {
        case FUZZ_RECORD_OP_DECODE:
            s_decode (&payload);
            break;
        case FUZZ_RECORD_OP_PUT_RAW:
            bytes = fuzz_rest (&payload, &len);
            s_put_checked (store, key, bytes, len);
            break;
        case FUZZ_RECORD_OP_PUT_BUILT:
            s_put_built (store, key, &payload);
            break;
        case FUZZ_RECORD_OP_GARBAGE:
            bytes = fuzz_rest (&payload, &len);
            s_check (chord_store_put (store, (const uint8_t *) key, strlen (key), bytes, len) == 0);
            break;
        case FUZZ_RECORD_OP_DEL: {
            int rc = chord_store_del (store, (const uint8_t *) key, strlen (key));
            s_check (rc == 0 || rc == 1);
            break;
        }
        case FUZZ_RECORD_OP_VERSIONS:
            s_versions (&payload);
            break;
        case FUZZ_RECORD_OP_HLC:
            s_hlc (&payload);
            break;
        }
    }
    chord_store_destroy (&store);
    return 0;
}
