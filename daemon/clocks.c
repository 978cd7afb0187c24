/*  chordd's clocks and randomness (see clocks.h).  */
#include "clocks.h"

#include <sodium.h>
#include <time.h>

uint64_t chordd_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

uint64_t chordd_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int64_t chordd_wall_offset_ms (void)
{
    struct timespec wall;
    clock_gettime (CLOCK_REALTIME, &wall);
    int64_t wall_ms = (int64_t) wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    return wall_ms - (int64_t) chordd_now_ms ();
}

void chordd_random_bytes (void *arg, void *buf, size_t len)
{
    (void) arg;
    randombytes_buf (buf, len);
}
