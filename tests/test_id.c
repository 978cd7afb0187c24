/*  Tests of protocol/id: hashing against vectors from an independent BLAKE2b,
    ownership on a fixed ring, and the ring arithmetic by hand.

    The vector files are read from $CHORD_VECTORS, or tests/vectors when it
    is unset (tests run from the repository root).  */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "tap.h"

#define S_PEERS_MAX       64    //  peers on the vector ring
#define S_ENDPOINT_MAX    256   //  bytes of an endpoint, NUL included
#define S_FIELDS_MAX      4     //  tab-separated fields per line we use
#define S_PATH_MAX        4096  //  bytes of a vector file's path

typedef struct {
    char endpoint [S_ENDPOINT_MAX];     //  advertised endpoint
    chord_id_t id;                      //  its ring id, as the file says
} s_peer_t;

typedef struct {
    s_peer_t peers [S_PEERS_MAX];       //  sorted by id once loaded
    size_t count;                       //  peers in use
} s_ring_t;

//  ---------------------------------------------------------------------
//  Helpers

static chord_id_t
s_id (const char *hex)
{
    chord_id_t id;
    if (chord_id_from_hex (&id, hex)) {
        tap_diag ("bad hex literal in test: %s", hex);
        memset (&id, 0xAA, sizeof id);
    }
    return id;
}

static bool
s_id_is (const chord_id_t *id, const char *hex)
{
    char text [CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, text);
    if (strcmp (text, hex) == 0)
        return true;
    tap_diag ("got      %s", text);
    tap_diag ("expected %s", hex);
    return false;
}

//  Decodes hex of any even length into a fresh buffer (never NULL on
//  success, even for zero bytes). Returns 0, or -1 on bad hex.
static int
s_hex_decode (const char *hex, uint8_t **bytes_p, size_t *len_p)
{
    size_t hex_len = strlen (hex);
    if (hex_len % 2)
        return -1;
    uint8_t *bytes = malloc (hex_len / 2 + 1);
    if (!bytes)
        return -1;
    for (size_t i = 0; i < hex_len / 2; i++) {
        int high = chord_hex_digit (hex [2 * i]);
        int low = chord_hex_digit (hex [2 * i + 1]);
        if (high < 0 || low < 0) {
            free (bytes);
            return -1;
        }
        bytes [i] = (uint8_t) (high << 4 | low);
    }
    *bytes_p = bytes;
    *len_p = hex_len / 2;
    return 0;
}

//  Splits line in place at tabs, keeping empty fields. Returns the number of
//  fields, at most S_FIELDS_MAX.
static size_t
s_split (char *line, char *fields [S_FIELDS_MAX])
{
    size_t count = 0;
    line [strcspn (line, "\r\n")] = '\0';
    while (count < S_FIELDS_MAX) {
        fields [count++] = line;
        char *tab = strchr (line, '\t');
        if (!tab)
            break;
        *tab = '\0';
        line = tab + 1;
    }
    return count;
}

static FILE *
s_open_vectors (const char *name)
{
    const char *dir = getenv ("CHORD_VECTORS");
    if (!dir || !*dir)
        dir = "tests/vectors";
    char path [S_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "r");
    tap_ok (file != NULL, "open %s", path);
    return file;
}

static int
s_peer_cmp (const void *a, const void *b)
{
    return chord_id_cmp (&((const s_peer_t *) a)->id, &((const s_peer_t *) b)->id);
}

//  The owner by the definition the protocol uses: the peer p whose interval
//  (predecessor, p] holds id. Returns NULL unless exactly one peer claims
//  it, which would mean the interval test is wrong.
static const char *
s_owner_by_interval (const s_ring_t *ring, const chord_id_t *id)
{
    const char *owner = NULL;
    size_t claims = 0;
    for (size_t i = 0; i < ring->count; i++) {
        const s_peer_t *pred = &ring->peers [(i + ring->count - 1) % ring->count];
        if (chord_id_in_half_open (id, &pred->id, &ring->peers [i].id)) {
            owner = ring->peers [i].endpoint;
            claims++;
        }
    }
    return claims == 1 ? owner : NULL;
}

//  The owner found another way: the peer at the smallest clockwise distance
//  from id (distance 0 when id is the peer's own).
static const char *
s_owner_by_distance (const s_ring_t *ring, const chord_id_t *id)
{
    const char *owner = NULL;
    chord_id_t best;
    for (size_t i = 0; i < ring->count; i++) {
        chord_id_t distance;
        chord_id_distance (&distance, id, &ring->peers [i].id);
        if (!owner || chord_id_cmp (&distance, &best) < 0) {
            best = distance;
            owner = ring->peers [i].endpoint;
        }
    }
    return owner;
}

static bool
s_same (const char *got, const char *expected)
{
    if (got && strcmp (got, expected) == 0)
        return true;
    tap_diag ("got %s, expected %s", got ? got : "(none)", expected);
    return false;
}

//  ---------------------------------------------------------------------
//  Vector files

static void
s_test_ids_tsv (void)
{
    FILE *file = s_open_vectors ("ids.tsv");
    if (!file)
        return;
    size_t endpoints = 0, vnodes = 0, keys = 0, bad_lines = 0, line_no = 0;
    char *line = NULL;
    size_t line_size = 0;
    while (getline (&line, &line_size, file) != -1) {
        line_no++;
        if (line [0] == '#' || line [strspn (line, "\r\n")] == '\0')
            continue;
        char *fields [S_FIELDS_MAX];
        uint8_t *input = NULL;
        size_t input_len = 0;
        chord_id_t expected;
        if (s_split (line, fields) != 3
        ||  s_hex_decode (fields [1], &input, &input_len)
        ||  chord_id_from_hex (&expected, fields [2])) {
            tap_diag ("ids.tsv:%zu: malformed", line_no);
            bad_lines++;
            free (input);
            continue;
        }
        const char *kind = fields [0];
        chord_id_t id;
        chord_id_hash (&id, input, input_len);
        tap_ok (chord_id_equal (&id, &expected),
                "ids.tsv:%zu %s: chord_id_hash = %s", line_no, kind, fields [2]);

        if (strcmp (kind, "endpoint") == 0) {
            endpoints++;
            //  The endpoint's own id is virtual position 0.
            char *endpoint = strndup ((const char *) input, input_len);
            bool built = endpoint && strlen (endpoint) == input_len;
            if (built)
                chord_id_of_position (&id, endpoint, 0);
            tap_ok (built && chord_id_equal (&id, &expected),
                    "ids.tsv:%zu: chord_id_of_position (%s, 0)", line_no,
                    endpoint ? endpoint : "?");
            free (endpoint);
        }
        else
        if (strcmp (kind, "vnode") == 0) {
            vnodes++;
            //  The input is endpoint "#" decimal: split at the last '#'.
            char *name = strndup ((const char *) input, input_len);
            char *hash_sign = name ? strrchr (name, '#') : NULL;
            char *end = NULL;
            unsigned long position = 0;
            if (hash_sign) {
                *hash_sign = '\0';
                position = strtoul (hash_sign + 1, &end, 10);
            }
            bool built = hash_sign && end && *end == '\0' && end != hash_sign + 1
                      && position >= 1 && position <= UINT_MAX;
            if (built)
                chord_id_of_position (&id, name, (unsigned) position);
            tap_ok (built && chord_id_equal (&id, &expected),
                    "ids.tsv:%zu: chord_id_of_position (%s, %lu)", line_no,
                    name ? name : "?", position);
            free (name);
        }
        else
        if (strcmp (kind, "key") == 0)
            keys++;
        else {
            tap_diag ("ids.tsv:%zu: unknown kind %s", line_no, kind);
            bad_lines++;
        }
        free (input);
    }
    free (line);
    fclose (file);
    tap_ok (bad_lines == 0, "ids.tsv: every line well formed");
    tap_ok (endpoints >= 5 && vnodes >= 3 && keys >= 5,
            "ids.tsv: %zu endpoint, %zu vnode, %zu key rows read", endpoints, vnodes, keys);
}

//  Loads the ring from owners.tsv's "# peer" comments and checks each
//  key row. Returns 0 with ring filled and sorted, or -1.
static int
s_test_owners_tsv (s_ring_t *ring)
{
    ring->count = 0;
    FILE *file = s_open_vectors ("owners.tsv");
    if (!file)
        return -1;
    size_t rows = 0, bad_lines = 0, line_no = 0;
    bool sorted = false;
    char *line = NULL;
    size_t line_size = 0;
    while (getline (&line, &line_size, file) != -1) {
        line_no++;
        char *fields [S_FIELDS_MAX];
        if (strncmp (line, "# peer\t", 7) == 0) {
            if (s_split (line + 7, fields) != 2
            ||  ring->count == S_PEERS_MAX || sorted
            ||  strlen (fields [0]) >= S_ENDPOINT_MAX
            ||  chord_id_from_hex (&ring->peers [ring->count].id, fields [1])) {
                tap_diag ("owners.tsv:%zu: bad peer line", line_no);
                bad_lines++;
                continue;
            }
            s_peer_t *peer = &ring->peers [ring->count++];
            strcpy (peer->endpoint, fields [0]);
            chord_id_t id;
            chord_id_hash (&id, peer->endpoint, strlen (peer->endpoint));
            tap_ok (chord_id_equal (&id, &peer->id),
                    "owners.tsv:%zu: peer %s id", line_no, peer->endpoint);
            continue;
        }
        if (line [0] == '#' || line [strspn (line, "\r\n")] == '\0')
            continue;
        if (!sorted) {
            qsort (ring->peers, ring->count, sizeof (s_peer_t), s_peer_cmp);
            sorted = true;
        }
        uint8_t *key = NULL;
        size_t key_len = 0;
        chord_id_t expected;
        if (s_split (line, fields) != 3
        ||  s_hex_decode (fields [0], &key, &key_len)
        ||  chord_id_from_hex (&expected, fields [1])) {
            tap_diag ("owners.tsv:%zu: malformed", line_no);
            bad_lines++;
            free (key);
            continue;
        }
        rows++;
        chord_id_t id;
        chord_id_hash (&id, key, key_len);
        free (key);
        tap_ok (chord_id_equal (&id, &expected), "owners.tsv:%zu: key id %s", line_no, fields [1]);
        tap_ok (s_same (s_owner_by_interval (ring, &id), fields [2]),
                "owners.tsv:%zu: owner by interval is %s", line_no, fields [2]);
        tap_ok (s_same (s_owner_by_distance (ring, &id), fields [2]),
                "owners.tsv:%zu: owner by distance is %s", line_no, fields [2]);
    }
    free (line);
    fclose (file);
    tap_ok (bad_lines == 0, "owners.tsv: every line well formed");
    tap_ok (ring->count >= 2 && rows >= 10, "owners.tsv: %zu peers, %zu rows read", ring->count, rows);
    return ring->count >= 1 && sorted ? 0 : -1;
}

static void
s_test_boundaries_tsv (const s_ring_t *ring)
{
    FILE *file = s_open_vectors ("boundaries.tsv");
    if (!file)
        return;
    size_t rows = 0, bad_lines = 0, line_no = 0;
    char *line = NULL;
    size_t line_size = 0;
    while (getline (&line, &line_size, file) != -1) {
        line_no++;
        if (line [0] == '#' || line [strspn (line, "\r\n")] == '\0')
            continue;
        char *fields [S_FIELDS_MAX];
        chord_id_t id;
        if (s_split (line, fields) != 2 || chord_id_from_hex (&id, fields [0])) {
            tap_diag ("boundaries.tsv:%zu: malformed", line_no);
            bad_lines++;
            continue;
        }
        rows++;
        tap_ok (s_same (s_owner_by_interval (ring, &id), fields [1]),
                "boundaries.tsv:%zu: %s owned by %s (interval)", line_no, fields [0], fields [1]);
        tap_ok (s_same (s_owner_by_distance (ring, &id), fields [1]),
                "boundaries.tsv:%zu: %s owned by %s (distance)", line_no, fields [0], fields [1]);
    }
    free (line);
    fclose (file);
    tap_ok (bad_lines == 0, "boundaries.tsv: every line well formed");
    tap_ok (rows >= 10, "boundaries.tsv: %zu rows read", rows);
}

//  ---------------------------------------------------------------------
//  Ring arithmetic by hand

#define S_ZERO  "0000000000000000000000000000000000000000"
#define S_ONE   "0000000000000000000000000000000000000001"
#define S_MAX   "ffffffffffffffffffffffffffffffffffffffff"
#define S_HALF  "8000000000000000000000000000000000000000"
#define S_LOW   "1000000000000000000000000000000000000000"
#define S_MID   "5000000000000000000000000000000000000000"
#define S_HIGH  "c000000000000000000000000000000000000000"

static void
s_test_cmp (void)
{
    chord_id_t zero = s_id (S_ZERO), one = s_id (S_ONE), max = s_id (S_MAX), half = s_id (S_HALF);
    tap_ok (chord_id_cmp (&zero, &one) < 0, "cmp: 0 < 1");
    tap_ok (chord_id_cmp (&max, &half) > 0, "cmp: ff..ff > 80..00");
    tap_ok (chord_id_cmp (&half, &one) > 0, "cmp: most significant byte decides");
    tap_ok (chord_id_cmp (&one, &one) == 0, "cmp: equal");
    tap_ok (chord_id_equal (&max, &max) && !chord_id_equal (&max, &half), "equal");
}

static void
s_test_intervals (void)
{
    chord_id_t zero = s_id (S_ZERO), max = s_id (S_MAX);
    chord_id_t low = s_id (S_LOW), mid = s_id (S_MID), high = s_id (S_HIGH);

    //  a < b: a plain interval.
    tap_ok (chord_id_in_open (&mid, &low, &high), "open: inside (low, high)");
    tap_ok (!chord_id_in_open (&low, &low, &high), "open: a excluded");
    tap_ok (!chord_id_in_open (&high, &low, &high), "open: b excluded");
    tap_ok (!chord_id_in_open (&zero, &low, &high), "open: below a is outside");
    tap_ok (!chord_id_in_open (&max, &low, &high), "open: above b is outside");
    tap_ok (chord_id_in_half_open (&mid, &low, &high), "half-open: inside (low, high]");
    tap_ok (!chord_id_in_half_open (&low, &low, &high), "half-open: a excluded");
    tap_ok (chord_id_in_half_open (&high, &low, &high), "half-open: b included");
    tap_ok (!chord_id_in_half_open (&zero, &low, &high), "half-open: below a is outside");
    tap_ok (!chord_id_in_half_open (&max, &low, &high), "half-open: above b is outside");

    //  a > b: the interval wraps through zero.
    tap_ok (chord_id_in_open (&max, &high, &low), "open wrap: ff..ff inside (high, low)");
    tap_ok (chord_id_in_open (&zero, &high, &low), "open wrap: 0 inside (high, low)");
    tap_ok (!chord_id_in_open (&mid, &high, &low), "open wrap: mid outside");
    tap_ok (!chord_id_in_open (&high, &high, &low), "open wrap: a excluded");
    tap_ok (!chord_id_in_open (&low, &high, &low), "open wrap: b excluded");
    tap_ok (chord_id_in_half_open (&zero, &high, &low), "half-open wrap: 0 inside");
    tap_ok (chord_id_in_half_open (&low, &high, &low), "half-open wrap: b included");
    tap_ok (!chord_id_in_half_open (&high, &high, &low), "half-open wrap: a excluded");
    tap_ok (!chord_id_in_half_open (&mid, &high, &low), "half-open wrap: mid outside");
    tap_ok (chord_id_in_half_open (&zero, &max, &zero), "half-open (ff..ff, 0] holds 0");
    tap_ok (!chord_id_in_open (&zero, &max, &zero), "open (ff..ff, 0) is empty at 0");
    tap_ok (!chord_id_in_open (&max, &max, &zero), "open (ff..ff, 0) is empty at ff..ff");

    //  a == b: the whole ring, except a itself for the open interval.
    tap_ok (!chord_id_in_open (&mid, &mid, &mid), "open (a, a) excludes a");
    tap_ok (chord_id_in_open (&low, &mid, &mid), "open (a, a) holds a point below a");
    tap_ok (chord_id_in_open (&high, &mid, &mid), "open (a, a) holds a point above a");
    tap_ok (chord_id_in_open (&max, &zero, &zero), "open (0, 0) holds ff..ff");
    tap_ok (chord_id_in_half_open (&mid, &mid, &mid), "half-open (a, a] holds a");
    tap_ok (chord_id_in_half_open (&low, &mid, &mid), "half-open (a, a] holds below a");
    tap_ok (chord_id_in_half_open (&high, &mid, &mid), "half-open (a, a] holds above a");
    tap_ok (chord_id_in_half_open (&zero, &zero, &zero), "half-open (0, 0] holds 0");
}

static void
s_test_add_pow2 (void)
{
    chord_id_t id;
    chord_id_t zero = s_id (S_ZERO), max = s_id (S_MAX), half = s_id (S_HALF);

    chord_id_add_pow2 (&id, &zero, 0);
    tap_ok (s_id_is (&id, S_ONE), "add_pow2: 0 + 2^0 = 1");
    chord_id_add_pow2 (&id, &zero, 159);
    tap_ok (s_id_is (&id, S_HALF), "add_pow2: 0 + 2^159 = 80..00");
    chord_id_add_pow2 (&id, &zero, 7);
    tap_ok (s_id_is (&id, "0000000000000000000000000000000000000080"), "add_pow2: 0 + 2^7");
    chord_id_add_pow2 (&id, &zero, 8);
    tap_ok (s_id_is (&id, "0000000000000000000000000000000000000100"), "add_pow2: 0 + 2^8");
    chord_id_add_pow2 (&id, &zero, 100);
    tap_ok (s_id_is (&id, "0000000000000010000000000000000000000000"), "add_pow2: 0 + 2^100");

    chord_id_add_pow2 (&id, &max, 0);
    tap_ok (s_id_is (&id, S_ZERO), "add_pow2: ff..ff + 1 wraps to 0");
    chord_id_add_pow2 (&id, &half, 159);
    tap_ok (s_id_is (&id, S_ZERO), "add_pow2: 80..00 + 2^159 wraps to 0");
    chord_id_add_pow2 (&id, &max, 159);
    tap_ok (s_id_is (&id, "7fffffffffffffffffffffffffffffffffffffff"), "add_pow2: ff..ff + 2^159");
    chord_id_add_pow2 (&id, &max, 12);
    tap_ok (s_id_is (&id, "0000000000000000000000000000000000000fff"), "add_pow2: ff..ff + 2^12");

    chord_id_t a = s_id ("00000000000000000000000000000000000000ff");
    chord_id_add_pow2 (&id, &a, 0);
    tap_ok (s_id_is (&id, "0000000000000000000000000000000000000100"), "add_pow2: carry into next byte");
    a = s_id ("0000000000000000000000000000000000ffff80");
    chord_id_add_pow2 (&id, &a, 7);
    tap_ok (s_id_is (&id, "0000000000000000000000000000000001000000"), "add_pow2: carry within and across bytes");
    a = s_id ("0000000000000000000000000000000000ffffff");
    chord_id_add_pow2 (&id, &a, 8);
    tap_ok (s_id_is (&id, "00000000000000000000000000000000010000ff"), "add_pow2: long carry from k = 8");
    a = s_id ("123456789abcdef0123456789abcdef012345678");
    chord_id_add_pow2 (&a, &a, 4);
    tap_ok (s_id_is (&a, "123456789abcdef0123456789abcdef012345688"), "add_pow2: out may alias a");
}

static void
s_test_distance (void)
{
    chord_id_t d;
    chord_id_t zero = s_id (S_ZERO), one = s_id (S_ONE), max = s_id (S_MAX);
    chord_id_t low = s_id (S_LOW), high = s_id (S_HIGH);

    chord_id_distance (&d, &high, &high);
    tap_ok (s_id_is (&d, S_ZERO), "distance: a to a is 0");
    chord_id_distance (&d, &zero, &one);
    tap_ok (s_id_is (&d, S_ONE), "distance: 0 to 1 is 1");
    chord_id_distance (&d, &one, &zero);
    tap_ok (s_id_is (&d, S_MAX), "distance: 1 to 0 wraps to ff..ff");
    chord_id_distance (&d, &max, &zero);
    tap_ok (s_id_is (&d, S_ONE), "distance: ff..ff to 0 is 1");
    chord_id_distance (&d, &low, &high);
    tap_ok (s_id_is (&d, "b000000000000000000000000000000000000000"), "distance: low to high");
    chord_id_distance (&d, &high, &low);
    tap_ok (s_id_is (&d, "5000000000000000000000000000000000000000"), "distance: high to low wraps");
    chord_id_t a = s_id ("0000000000000000000000000000000000010000");
    chord_id_t b = s_id ("00000000000000000000000000000000000000ff");
    chord_id_distance (&d, &b, &a);
    tap_ok (s_id_is (&d, "000000000000000000000000000000000000ff01"), "distance: borrow across bytes");

    //  add_pow2 and distance undo each other, wrap or not.
    chord_id_t base = s_id ("fedcba9876543210fedcba9876543210fedcba98");
    unsigned ks [] = { 0, 1, 7, 8, 63, 64, 100, 158, 159 };
    bool all = true;
    for (size_t i = 0; i < sizeof ks / sizeof ks [0]; i++) {
        chord_id_t finger, expected;
        chord_id_add_pow2 (&finger, &base, ks [i]);
        chord_id_distance (&d, &base, &finger);
        chord_id_add_pow2 (&expected, &zero, ks [i]);
        if (!chord_id_equal (&d, &expected)) {
            tap_diag ("k = %u", ks [i]);
            all = false;
        }
    }
    tap_ok (all, "distance (a, a + 2^k) = 2^k for k in 0..159");
}

static void
s_test_hex (void)
{
    chord_id_t id, back;
    const char *mixed = "0123456789abcdefABCDEF00ff7f80a5C3e1d2F0";
    tap_ok (chord_id_from_hex (&id, mixed) == 0, "from_hex: accepts either case");
    char text [CHORD_ID_HEX_LEN + 1];
    memset (text, 'x', sizeof text);
    chord_id_to_hex (&id, text);
    tap_ok (strcmp (text, "0123456789abcdefabcdef00ff7f80a5c3e1d2f0") == 0,
            "to_hex: lowercase and NUL-terminated");
    tap_ok (id.bytes [0] == 0x01 && id.bytes [8] == 0xab && id.bytes [19] == 0xf0,
            "from_hex: big-endian byte order");
    tap_ok (chord_id_from_hex (&back, text) == 0 && chord_id_equal (&id, &back), "hex round trip");

    chord_id_t untouched = s_id (S_HALF);
    back = untouched;
    tap_ok (chord_id_from_hex (&back, "000000000000000000000000000000000000000") == -1,
            "from_hex: 39 digits rejected");
    tap_ok (chord_id_from_hex (&back, "00000000000000000000000000000000000000000") == -1,
            "from_hex: 41 digits rejected");
    tap_ok (chord_id_from_hex (&back, "000000000000000000000000000000000000000g") == -1,
            "from_hex: non-hex digit rejected");
    tap_ok (chord_id_from_hex (&back, "0x00000000000000000000000000000000000000") == -1,
            "from_hex: 0x prefix rejected");
    tap_ok (chord_id_from_hex (&back, " 000000000000000000000000000000000000000") == -1,
            "from_hex: space rejected");
    tap_ok (chord_id_from_hex (&back, "0000000000000000000000000000000000000000\n") == -1,
            "from_hex: trailing newline rejected");
    tap_ok (chord_id_from_hex (&back, "") == -1, "from_hex: empty rejected");
    tap_ok (chord_id_equal (&back, &untouched), "from_hex: bad input leaves the id untouched");
}

static void
s_test_positions (void)
{
    //  A long endpoint and the largest position, checked against hashing the
    //  spelled-out bytes, so no fixed buffer can truncate either.
    size_t long_len = 5000;
    char *endpoint = malloc (long_len + 1);
    char *spelled = malloc (long_len + 32);
    if (!tap_ok (endpoint && spelled, "allocate long endpoint")) {
        free (endpoint);
        free (spelled);
        return;
    }
    for (size_t i = 0; i < long_len; i++)
        endpoint [i] = (char) ('a' + i % 26);
    endpoint [long_len] = '\0';

    unsigned positions [] = { 1, 9, 10, 42, 1000, UINT_MAX };
    for (size_t i = 0; i < sizeof positions / sizeof positions [0]; i++) {
        int len = snprintf (spelled, long_len + 32, "%s#%u", endpoint, positions [i]);
        chord_id_t expected, got;
        chord_id_hash (&expected, spelled, (size_t) len);
        chord_id_of_position (&got, endpoint, positions [i]);
        tap_ok (chord_id_equal (&got, &expected), "of_position: 5000-byte endpoint, position %u",
                positions [i]);
    }
    chord_id_t expected, got;
    chord_id_hash (&expected, endpoint, long_len);
    chord_id_of_position (&got, endpoint, 0);
    tap_ok (chord_id_equal (&got, &expected), "of_position: position 0 is the endpoint's id");
    chord_id_of_position (&expected, "", 3);
    chord_id_hash (&got, "#3", 2);
    tap_ok (chord_id_equal (&got, &expected), "of_position: empty endpoint");
    free (endpoint);
    free (spelled);
}

int
main (void)
{
    s_test_ids_tsv ();
    s_ring_t ring;
    if (s_test_owners_tsv (&ring) == 0)
        s_test_boundaries_tsv (&ring);
    else
        tap_ok (0, "boundaries.tsv: needs the ring from owners.tsv");
    s_test_cmp ();
    s_test_intervals ();
    s_test_add_pow2 ();
    s_test_distance ();
    s_test_hex ();
    s_test_positions ();
    return tap_done ();
}
