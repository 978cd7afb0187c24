/*  main() for the fuzz targets built without libFuzzer (gcc, valgrind):
    runs LLVMFuzzerTestOneInput once on each file named, e.g. a crash file
    or every file of a corpus, and says which it is on, so a crash names
    its input.

        build/replay/fuzz_node build/fuzz/fuzz_node-crash-1234
        valgrind --leak-check=full build/replay/fuzz_node FILE  */

#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        uint8_t *data;
        size_t size;
        if (fuzz_read_file (argv[i], &data, &size) != 0) {
            perror (argv[i]);
            return 1;
        }
        fprintf (stderr, "%s: %zu bytes\n", argv[i], size);
        LLVMFuzzerTestOneInput (data, size);
        free (data);
    }
    return 0;
}
