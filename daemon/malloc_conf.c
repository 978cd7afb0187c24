/*  chordd: jemalloc's options, read at its start (any other malloc, as
    under `make sanitize`, ignores the symbol): one arena rather than four
    per core. The main loop makes nearly every allocation, and each arena's
    metadata and cached pages cost an idle peer some 100 KB of dirty
    memory; tools/mem-bench, 20k keys: 2.11 -> 2.04 MiB idle, 84 -> 80
    bytes a key beyond key and value, chord-bench no slower.  */

const char *malloc_conf = "narenas:1";
