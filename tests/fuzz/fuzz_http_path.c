/*  A libFuzzer target for the percent-decoding of an HTTP key path
    (daemon/http_path.c), which every /v1/kv and /v1/lookup URL reaches.

    Input: two bytes (little-endian) choosing the room given for the
    result, modulo CHORD_KEY_MAX + 1, then the path segment. Checked: the
    decoder reads only the bytes given (ASan sees the copy's end), writes
    only the room given, reports lengths as http_path.h promises, and what
    it decodes, encoded again as %XX, decodes to the same bytes.

    Replay under gcc (valgrind): build/replay/fuzz_http_path FILE...  */

#include "fuzz_input.h"
#include "http_path.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_bytes_t in;
    fuzz_bytes_init (&in, data, size);
    size_t room = fuzz_u16 (&in) % (CHORD_KEY_MAX + 1);
    size_t len = 0;
    const uint8_t *rest = fuzz_rest (&in, &len);
    //  Exact-size copies, so that a read or write past either is caught.
    char *text = malloc (len ? len : 1);
    uint8_t *out = malloc (room ? room : 1);
    if (!text || !out)
        abort ();
    if (len)
        memcpy (text, rest, len);
    size_t out_len = 0;
    int rc = chordd_http_path_decode (text, len, out, room, &out_len);
    if (rc == -1 && out_len != 0)
        abort ();
    if (rc == -2 && out_len != room + 1)
        abort ();
    if (rc == 0 && (out_len > room || out_len > len))
        abort ();
    if (rc == 0) {
        char *again = malloc (3 * out_len + 1);
        uint8_t *back = malloc (out_len ? out_len : 1);
        if (!again || !back)
            abort ();
        for (size_t i = 0; i < out_len; i++)
            snprintf (again + 3 * i, 4, "%%%02x", out[i]);
        size_t back_len = 0;
        if (chordd_http_path_decode (again, 3 * out_len, back, out_len, &back_len) != 0 || back_len != out_len ||
            (out_len && memcmp (back, out, out_len) != 0))
            abort ();
        free (again);
        free (back);
    }
    if (rc != 0 && rc != -1 && rc != -2)
        abort ();
    free (text);
    free (out);
    return 0;
}
