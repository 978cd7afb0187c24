/*  Key paths over HTTP: the strict percent-decoding of one path segment
    into bytes, so that any key (NUL and bytes over 0x7f included) can be
    named in a URL. Pure: no I/O, no allocation; the network reaches it.  */
#ifndef CHORDD_HTTP_PATH_H
#define CHORDD_HTTP_PATH_H

#include <stddef.h>
#include <stdint.h>

/*  Decodes the len bytes of text (not NUL-terminated) into out, which has
    room for out_size bytes. "%XY" (two hex digits, either case) is the byte
    0xXY; any other byte stands for itself ('+' is a plus, not a space).
    Returns 0 with *out_len set; -1 when a '%' is not followed by two hex
    digits (*out_len is 0); -2 when the result would pass out_size bytes
    (*out_len is out_size + 1, meaning "more"), having decoded no more.  */
int chordd_http_path_decode (const char *text, size_t len, uint8_t *out, size_t out_size, size_t *out_len);

#endif
