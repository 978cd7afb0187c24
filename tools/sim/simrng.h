/*  simrng: the simulator's seeded pseudo-random numbers.

    xoshiro256** (Blackman and Vigna), seeded through splitmix64. Every
    random choice the simulator makes comes from a simrng_t derived from the
    one --seed, so a run is a pure function of its seed and options. Streams
    made with simrng_fork are independent of one another: the network's
    latencies, each node's jitter and a scenario's choices do not disturb
    each other's sequences.  */
#ifndef CHORD_SIMRNG_H
#define CHORD_SIMRNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
} simrng_t;

/* Sets *rng to the stream named by seed. */
void simrng_seed (simrng_t *rng, uint64_t seed);

/* Sets *child to a stream derived from parent's seed material and the
   label stream, without advancing parent. */
void simrng_fork (simrng_t *child, const simrng_t *parent, uint64_t stream);

/* The next 64 random bits. */
uint64_t simrng_next (simrng_t *rng);

/* A uniform integer in [0, bound); bound > 0. Unbiased. */
uint64_t simrng_below (simrng_t *rng, uint64_t bound);

/* A uniform double in [0, 1), 53 bits. */
double simrng_unit (simrng_t *rng);

/* True with probability p (p <= 0: never; p >= 1: always). */
int simrng_chance (simrng_t *rng, double p);

/* An exponentially distributed double with the given mean. */
double simrng_exponential (simrng_t *rng, double mean);

/* Fills len bytes at buf. */
void simrng_bytes (simrng_t *rng, void *buf, size_t len);

/* The natural logarithm of x > 0, computed without libm (the build links
   none) and the same on every IEEE-754 machine. */
double simrng_ln (double x);

/* splitmix64 of x: a good 64-bit mix, also handy as a hash of an integer. */
uint64_t simrng_mix (uint64_t x);

#endif
