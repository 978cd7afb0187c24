/*  chordd's clocks and randomness: what the daemon feeds the pure
    protocol nodes (node.h takes time and random bytes as inputs).  */
#ifndef CHORDD_CLOCKS_H
#define CHORDD_CLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds: every timer of the nodes runs on these. */
uint64_t chordd_now_ms (void);

/* Monotonic microseconds, for measuring commits. */
uint64_t chordd_now_us (void);

/*  What to add to chordd_now_ms to get wall-clock ms since the Unix
    epoch, read once: the nodes version their writes with it, and the
    monotonic clock keeps driving every timer even if the wall clock is
    stepped.  */
int64_t chordd_wall_offset_ms (void);

/* chord_env_t's random_bytes: libsodium's generator (arg unused). */
void chordd_random_bytes (void *arg, void *buf, size_t len);

#endif
