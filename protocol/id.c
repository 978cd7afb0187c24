/*  chord identifiers: hashing, ordering and modular arithmetic on 160-bit ids.

    Ids are big-endian byte arrays, so the arithmetic works byte by byte from
    the last (least significant) byte, and comparison is memcmp.  */
#include "id.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* Longest decimal form of an unsigned int, with room to spare for 64 bits. */
#define S_DECIMAL_MAX 20

void
chord_id_hash (chord_id_t *out, const void *data, size_t len)
{
    assert (out);
    assert (data || len == 0);
    //  BLAKE2b never fails for a valid output length and no key; the return
    //  value only reports bad parameters, which CHORD_ID_BYTES is not.
    (void) crypto_generichash (out->bytes, CHORD_ID_BYTES, data, len, NULL, 0);
}

void
chord_id_of_position (chord_id_t *out, const char *endpoint, unsigned position)
{
    assert (out);
    assert (endpoint);
    size_t endpoint_len = strlen (endpoint);
    if (position == 0) {
        chord_id_hash (out, endpoint, endpoint_len);
        return;
    }
    //  Write the decimal digits backwards into a fixed buffer; streaming
    //  the pieces into the hash means no endpoint length can truncate.
    char digits [S_DECIMAL_MAX];
    size_t start = sizeof digits;
    do {
        digits [--start] = (char) ('0' + position % 10);
        position /= 10;
    } while (position > 0);

    crypto_generichash_state state;
    (void) crypto_generichash_init (&state, NULL, 0, CHORD_ID_BYTES);
    (void) crypto_generichash_update (&state, (const unsigned char *) endpoint, endpoint_len);
    (void) crypto_generichash_update (&state, (const unsigned char *) "#", 1);
    (void) crypto_generichash_update (&state, (const unsigned char *) digits + start,
                                      sizeof digits - start);
    (void) crypto_generichash_final (&state, out->bytes, CHORD_ID_BYTES);
}

bool
chord_id_bound (const chord_id_t *id, const char *endpoint)
{
    assert (id);
    assert (endpoint);
    if (strchr (endpoint, '#'))
        return false;
    chord_id_t candidate;
    chord_id_of_position (&candidate, endpoint, 0);
    if (chord_id_equal (&candidate, id))
        return true;
    //  Hash "endpoint#" once; each position then costs only its digits.
    size_t endpoint_len = strlen (endpoint);
    crypto_generichash_state prefix;
    (void) crypto_generichash_init (&prefix, NULL, 0, CHORD_ID_BYTES);
    (void) crypto_generichash_update (&prefix, (const unsigned char *) endpoint, endpoint_len);
    (void) crypto_generichash_update (&prefix, (const unsigned char *) "#", 1);
    for (unsigned position = 1; position < CHORD_POSITIONS_MAX; position++) {
        char digits [S_DECIMAL_MAX];
        int length = snprintf (digits, sizeof digits, "%u", position);
        crypto_generichash_state state = prefix;
        (void) crypto_generichash_update (&state, (const unsigned char *) digits, (size_t) length);
        (void) crypto_generichash_final (&state, candidate.bytes, CHORD_ID_BYTES);
        if (chord_id_equal (&candidate, id))
            return true;
    }
    return false;
}

int
chord_id_cmp (const chord_id_t *a, const chord_id_t *b)
{
    assert (a);
    assert (b);
    return memcmp (a->bytes, b->bytes, CHORD_ID_BYTES);
}

bool
chord_id_equal (const chord_id_t *a, const chord_id_t *b)
{
    return chord_id_cmp (a, b) == 0;
}

bool
chord_id_in_open (const chord_id_t *x, const chord_id_t *a, const chord_id_t *b)
{
    int a_vs_b = chord_id_cmp (a, b);
    if (a_vs_b < 0)             //  plain interval a < x < b
        return chord_id_cmp (a, x) < 0 && chord_id_cmp (x, b) < 0;
    if (a_vs_b > 0)             //  wraps past zero: above a or below b
        return chord_id_cmp (a, x) < 0 || chord_id_cmp (x, b) < 0;
    return !chord_id_equal (x, a);      //  whole ring except a
}

bool
chord_id_in_half_open (const chord_id_t *x, const chord_id_t *a, const chord_id_t *b)
{
    int a_vs_b = chord_id_cmp (a, b);
    if (a_vs_b < 0)             //  plain interval a < x <= b
        return chord_id_cmp (a, x) < 0 && chord_id_cmp (x, b) <= 0;
    if (a_vs_b > 0)             //  wraps past zero: above a or at most b
        return chord_id_cmp (a, x) < 0 || chord_id_cmp (x, b) <= 0;
    assert (x);
    return true;                //  whole ring
}

void
chord_id_add_pow2 (chord_id_t *out, const chord_id_t *a, unsigned k)
{
    assert (out);
    assert (a);
    assert (k < CHORD_ID_BITS);
    //  Copying first lets out and a be the same id.
    memmove (out->bytes, a->bytes, CHORD_ID_BYTES);
    size_t index = CHORD_ID_BYTES - 1 - k / 8;
    unsigned carry = 1u << (k % 8);
    //  Carry toward the most significant byte; a carry out of byte 0 is
    //  the 2^160 that the modulus drops.
    for (size_t i = index + 1; i-- > 0 && carry;) {
        unsigned sum = out->bytes [i] + carry;
        out->bytes [i] = (uint8_t) sum;
        carry = sum >> 8;
    }
}

void
chord_id_distance (chord_id_t *out, const chord_id_t *a, const chord_id_t *b)
{
    assert (out);
    assert (a);
    assert (b);
    //  Work on copies so out may alias a or b.
    chord_id_t minuend = *b;
    chord_id_t subtrahend = *a;
    unsigned borrow = 0;
    for (size_t i = CHORD_ID_BYTES; i-- > 0;) {
        int diff = (int) minuend.bytes [i] - (int) subtrahend.bytes [i] - (int) borrow;
        borrow = diff < 0;
        out->bytes [i] = (uint8_t) (diff + (borrow ? 256 : 0));
    }
    //  A final borrow is the 2^160 that makes the result modular.
}

void
chord_id_to_hex (const chord_id_t *id, char out [CHORD_ID_HEX_LEN + 1])
{
    static const char digits [] = "0123456789abcdef";
    assert (id);
    assert (out);
    for (size_t i = 0; i < CHORD_ID_BYTES; i++) {
        out [2 * i] = digits [id->bytes [i] >> 4];
        out [2 * i + 1] = digits [id->bytes [i] & 0x0f];
    }
    out [CHORD_ID_HEX_LEN] = '\0';
}

int
chord_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
chord_id_from_hex (chord_id_t *out, const char *hex)
{
    assert (out);
    if (!hex)
        return -1;
    //  Parse into a local id so a bad string leaves *out untouched. The
    //  terminating NUL is not a hex digit, so a short string stops the loop
    //  before reading past its end.
    chord_id_t id;
    for (size_t i = 0; i < CHORD_ID_BYTES; i++) {
        int high = chord_hex_digit (hex [2 * i]);
        if (high < 0)
            return -1;
        int low = chord_hex_digit (hex [2 * i + 1]);
        if (low < 0)
            return -1;
        id.bytes [i] = (uint8_t) (high << 4 | low);
    }
    if (hex [CHORD_ID_HEX_LEN] != '\0')
        return -1;              //  too long
    *out = id;
    return 0;
}
