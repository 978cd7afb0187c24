/*  Tests of daemon/http_path: the strict percent-decoding of a key path
    segment, by hand, and every byte value through an encode-decode round
    trip.  */
#include <stdio.h>
#include <string.h>

#include "http_path.h"
#include "tap.h"

/* Decodes text into a 16-byte buffer; returns the rc, *len the length. */
static int s_decode (const char *text, uint8_t *out, size_t *len)
{
    return chordd_http_path_decode (text, strlen (text), out, 16, len);
}

static void s_literal (void)
{
    uint8_t out[16];
    size_t len = 99;
    tap_ok (s_decode ("", out, &len) == 0 && len == 0, "the empty segment decodes to no bytes");
    tap_ok (s_decode ("abc", out, &len) == 0 && len == 3 && memcmp (out, "abc", 3) == 0,
            "plain bytes stand for themselves");
    tap_ok (s_decode ("a+b", out, &len) == 0 && len == 3 && memcmp (out, "a+b", 3) == 0, "'+' is a plus");
    tap_ok (s_decode ("a%20b", out, &len) == 0 && len == 3 && memcmp (out, "a b", 3) == 0, "%20 is a space");
    tap_ok (s_decode ("%00%ff%FF%2f", out, &len) == 0 && len == 4 && memcmp (out, "\0\xff\xff/", 4) == 0,
            "NUL, both cases of hex, and an escaped slash");
    tap_ok (s_decode ("%2525", out, &len) == 0 && len == 3 && memcmp (out, "%25", 3) == 0,
            "a decoded '%%' is not decoded again");
}

static void s_malformed (void)
{
    uint8_t out[16];
    size_t len = 99;
    const char *bad[] = {"%", "a%", "%4", "a%4", "%g0", "%0g", "%%", "ok%zz", "%-1", "% 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = 99;
        tap_ok (s_decode (bad[i], out, &len) == -1 && len == 0, "'%s' is refused", bad[i]);
    }
    //  A '%' at the end of the given length must not read the bytes after it.
    tap_ok (chordd_http_path_decode ("ab%41", 3, out, 16, &len) == -1, "a '%' cut by the length is refused");
    tap_ok (chordd_http_path_decode ("ab%41", 4, out, 16, &len) == -1, "a '%X' cut by the length is refused");
}

static void s_limits (void)
{
    uint8_t out[4];
    size_t len = 0;
    tap_ok (chordd_http_path_decode ("abcd", 4, out, 4, &len) == 0 && len == 4, "exactly out_size bytes fit");
    tap_ok (chordd_http_path_decode ("abcde", 5, out, 4, &len) == -2 && len == 5, "one byte more is -2");
    tap_ok (chordd_http_path_decode ("%41%42%43%44%45", 15, out, 4, &len) == -2 && len == 5,
            "the limit counts decoded bytes");
    tap_ok (chordd_http_path_decode ("%41%42%43%44", 12, out, 4, &len) == 0 && len == 4 &&
                memcmp (out, "ABCD", 4) == 0,
            "12 encoded bytes that decode to 4 fit in 4");
    tap_ok (chordd_http_path_decode ("x", 1, out, 0, &len) == -2 && len == 1, "no room at all");
}

static void s_every_byte (void)
{
    char text[256 * 3 + 1];     /* snprintf's NUL after the last escape */
    uint8_t out[256];
    for (int i = 0; i < 256; i++)
        snprintf (text + 3 * i, 4, "%%%02X", i);
    size_t len = 0;
    int rc = chordd_http_path_decode (text, 256 * 3, out, sizeof out, &len);
    int same = rc == 0 && len == 256;
    for (int i = 0; same && i < 256; i++)
        same = out[i] == i;
    tap_ok (same, "every byte value round-trips through %%XX");
}

int main (void)
{
    s_literal ();
    s_malformed ();
    s_limits ();
    s_every_byte ();
    return tap_done ();
}
