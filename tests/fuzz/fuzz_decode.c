/*  A libFuzzer target for chord_msg_decode.

    Build and run (from the repository root):

        clang -g -O1 -fsanitize=fuzzer,address,undefined -Iprotocol \
            tests/fuzz_decode.c protocol/message.c \
            $(pkg-config --cflags --libs msgpack) -o build/fuzz_decode
        mkdir -p build/fuzz-corpus
        build/fuzz_decode -max_len=4096 -max_total_time=60 build/fuzz-corpus

    Without clang, the same file replays inputs (a crash file, a corpus)
    under gcc and valgrind or ASan:

        cc -std=c11 -D_DEFAULT_SOURCE -DFUZZ_DECODE_MAIN -g -Iprotocol \
            tests/fuzz_decode.c protocol/message.c \
            $(pkg-config --cflags --libs msgpack) -o build/fuzz_decode_replay
        build/fuzz_decode_replay crash-1234...

    Every input must be rejected or decoded without a crash, an over-read or
    a leak; a decoded message must also encode again, and that encoding must
    decode.  */

#include "message.h"

#include <stdio.h>
#include <stdlib.h>

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
    chord_msg_clear (&again);
    free (encoded);
    chord_msg_clear (&msg);
    return 0;
}

#ifdef FUZZ_DECODE_MAIN
/* Replays each file named on the command line through the target. */
int main (int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *file = fopen (argv[i], "rb");
        if (!file) {
            perror (argv[i]);
            return 1;
        }
        uint8_t *data = malloc (CHORD_MESSAGE_MAX + 1);
        size_t size = data ? fread (data, 1, CHORD_MESSAGE_MAX + 1, file) : 0;
        fclose (file);
        LLVMFuzzerTestOneInput (data, size);
        free (data);
        printf ("%s: %zu bytes, ok\n", argv[i], size);
    }
    return 0;
}
#endif
