/*  simrng: xoshiro256** seeded through splitmix64.  */
#include "simrng.h"

#include <assert.h>

uint64_t simrng_mix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void simrng_seed (simrng_t *rng, uint64_t seed)
{
    assert (rng);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ull;
        rng->s[i] = simrng_mix (x);
    }
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]))
        rng->s[0] = 1;
}

void simrng_fork (simrng_t *child, const simrng_t *parent, uint64_t stream)
{
    assert (child && parent);
    uint64_t seed = simrng_mix (parent->s[0] ^ simrng_mix (parent->s[1] + stream)) ^
                    simrng_mix (parent->s[2] + 0x632be59bd9b4e019ull * (stream + 1)) ^ parent->s[3];
    simrng_seed (child, seed);
}

static uint64_t s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t simrng_next (simrng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

uint64_t simrng_below (simrng_t *rng, uint64_t bound)
{
    assert (bound > 0);
    /* Rejection on the low end of the range keeps every value equally likely. */
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = simrng_next (rng);
        if (r >= threshold)
            return r % bound;
    }
}

double simrng_unit (simrng_t *rng)
{
    return (double) (simrng_next (rng) >> 11) * 0x1.0p-53;
}

int simrng_chance (simrng_t *rng, double p)
{
    if (p <= 0)
        return 0;
    if (p >= 1)
        return 1;
    return simrng_unit (rng) < p;
}

double simrng_ln (double x)
{
    assert (x > 0);
    /* x = m * 2^e with m in [1, 2); ln m = 2 atanh ((m - 1) / (m + 1)). */
    int e = 0;
    while (x >= 2) {
        x /= 2;
        e++;
    }
    while (x < 1) {
        x *= 2;
        e--;
    }
    double z = (x - 1) / (x + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k < 60; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return 2 * sum + e * 0.69314718055994530942;
}

double simrng_exponential (simrng_t *rng, double mean)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    return -mean * simrng_ln (1.0 - simrng_unit (rng));
}

void simrng_bytes (simrng_t *rng, void *buf, size_t len)
{
    uint8_t *out = buf;
    /* Byte by byte from the low end, so the bytes are the same on any machine. */
    while (len > 0) {
        uint64_t r = simrng_next (rng);
        for (int i = 0; i < 8 && len > 0; i++, len--) {
            *out++ = (uint8_t) r;
            r >>= 8;
        }
    }
}
