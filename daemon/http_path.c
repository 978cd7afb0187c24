/*  Key paths over HTTP: strict percent-decoding (see http_path.h).  */
#include "http_path.h"

#include "id.h"

int chordd_http_path_decode (const char *text, size_t len, uint8_t *out, size_t out_size, size_t *out_len)
{
    size_t used = 0;
    *out_len = 0;
    for (size_t i = 0; i < len; i++) {
        int byte = (unsigned char) text[i];
        if (text[i] == '%') {
            //  Two more bytes must exist before either is read.
            int high = i + 2 < len ? chord_hex_digit (text[i + 1]) : -1;
            int low = high >= 0 ? chord_hex_digit (text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                *out_len = 0;
                return -1;
            }
            byte = high * 16 + low;
            i += 2;
        }
        if (used == out_size) {
            *out_len = out_size + 1;
            return -2;
        }
        out[used++] = (uint8_t) byte;
    }
    *out_len = used;
    return 0;
}
