/*  A libFuzzer target for chord_msg_decode: every input must be rejected or
    decoded without a crash, an over-read or a leak; a decoded message must
    also encode again, and that encoding must decode to the same message.

    `make fuzz` builds and runs it (build/fuzz/fuzz_decode, corpus
    build/fuzz/corpus-decode); replay a file under gcc and valgrind with
    build/replay/fuzz_decode FILE... (tests/fuzz/replay.c).  */

#include "message.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static chord_msg_t msg;
    static chord_msg_t again;
    if (chord_msg_decode (&msg, data, size) != 0)
        return 0;
    uint8_t *encoded;
    size_t encoded_size;
    if (chord_msg_encode (&msg, &encoded, &encoded_size) != 0)
        abort ();                   /* everything decode accepts must encode */
    if (chord_msg_decode (&again, encoded, encoded_size) != 0)
        abort ();
    if (again.fields != msg.fields || again.type != msg.type
        || again.request_id != msg.request_id)
        abort ();
    /* The encoding is canonical: encoding what it decodes to gives it back. */
    uint8_t *twice;
    size_t twice_size;
    if (chord_msg_encode (&again, &twice, &twice_size) != 0 || twice_size != encoded_size
        || memcmp (twice, encoded, encoded_size) != 0)
        abort ();
    free (twice);
    chord_msg_clear (&again);
    free (encoded);
    chord_msg_clear (&msg);
    return 0;
}
