/*  chord identifiers: 160-bit positions on the ring and the arithmetic on them.

    An id is BLAKE2b with a 20-byte digest (unkeyed) of some bytes: a peer's
    advertised endpoint, a virtual position's name, or a key. Ids are stored
    big-endian, so memcmp order is numeric order.  */
#ifndef CHORD_ID_H
#define CHORD_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHORD_ID_BYTES   20
#define CHORD_ID_BITS    160
#define CHORD_ID_HEX_LEN 40
#define CHORD_POSITIONS_MAX 64   /* virtual positions one endpoint may hold: 0..63 */

typedef struct {
    uint8_t bytes[CHORD_ID_BYTES];   /* big-endian 160-bit number */
} chord_id_t;

/* Sets *out to BLAKE2b-160 of the len bytes at data. */
void chord_id_hash (chord_id_t *out, const void *data, size_t len);

/* Sets *out to the id of virtual position `position` of endpoint:
   position 0 is the endpoint's own id, position i >= 1 hashes
   endpoint + "#" + decimal i. */
void chord_id_of_position (chord_id_t *out, const char *endpoint, unsigned position);

/*  True when id is the id of endpoint's position i for some i below
    CHORD_POSITIONS_MAX: the check anyone can make that a peer is where its
    id says. An endpoint holding '#' is never bound, so no endpoint can pass
    for another's position.  */
bool chord_id_bound (const chord_id_t *id, const char *endpoint);

/* Returns <0, 0, >0 as a is below, equal to or above b. */
int chord_id_cmp (const chord_id_t *a, const chord_id_t *b);

bool chord_id_equal (const chord_id_t *a, const chord_id_t *b);

/* True when x lies in the ring interval (a, b), walking clockwise from a.
   When a == b the interval is the whole ring except a. */
bool chord_id_in_open (const chord_id_t *x, const chord_id_t *a, const chord_id_t *b);

/* True when x lies in (a, b]. When a == b the interval is the whole ring. */
bool chord_id_in_half_open (const chord_id_t *x, const chord_id_t *a, const chord_id_t *b);

/* Sets *out to (a + 2^k) mod 2^160; k < 160. This is the start of finger k. */
void chord_id_add_pow2 (chord_id_t *out, const chord_id_t *a, unsigned k);

/* Sets *out to (b - a) mod 2^160: the clockwise distance from a to b. */
void chord_id_distance (chord_id_t *out, const chord_id_t *a, const chord_id_t *b);

/* Writes 40 lowercase hex digits and a NUL into out. */
void chord_id_to_hex (const chord_id_t *id, char out[CHORD_ID_HEX_LEN + 1]);

/* The value of one hex digit (either case), or -1; locale-independent. */
int chord_hex_digit (char c);

/* Parses exactly 40 hex digits (either case). Returns 0, or -1 on bad input. */
int chord_id_from_hex (chord_id_t *out, const char *hex);

#endif
