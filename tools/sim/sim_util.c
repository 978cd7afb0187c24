/*  chord-sim helpers: statistics of lookups, key and value names.  */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_error (const char *fmt, ...)
{
    va_list ap;
    fputs ("chord-sim: ", stderr);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
}

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

int sim_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* The index of the q-quantile (nearest rank) among count > 0 sorted values. */
static size_t s_quantile_index (size_t count, double q)
{
    size_t rank = (size_t) (q * (double) count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return rank - 1;
}

/* The q-quantile of sorted values (nearest rank). */
static uint32_t s_quantile_u32 (const uint32_t *sorted, size_t count, double q)
{
    return count ? sorted[s_quantile_index (count, q)] : 0;
}

double sim_quantile_double (const double *sorted, size_t count, double q)
{
    return count ? sorted[s_quantile_index (count, q)] : 0;
}

void sim_key_name (char *out, size_t size, uint64_t n)
{
    snprintf (out, size, "key-%llu", (unsigned long long) n);
}

void sim_value_name (char *out, size_t size, uint64_t n)
{
    snprintf (out, size, "value-%llu", (unsigned long long) n);
}

static int s_hops_push (sim_lookups_t *lookups, uint32_t hops)
{
    if (lookups->hop_count == lookups->hop_alloc) {
        size_t alloc = lookups->hop_alloc ? lookups->hop_alloc * 2 : 1024;
        uint32_t *grown = realloc (lookups->hops, alloc * sizeof *grown);
        if (!grown)
            return -1;
        lookups->hops = grown;
        lookups->hop_alloc = alloc;
    }
    lookups->hops[lookups->hop_count++] = hops;
    return 0;
}

sim_hop_stats_t sim_hop_stats (sim_lookups_t *lookups)
{
    sim_hop_stats_t stats = {0};
    if (!lookups->hop_count)
        return stats;
    qsort (lookups->hops, lookups->hop_count, sizeof lookups->hops[0], s_cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < lookups->hop_count; i++)
        sum += lookups->hops[i];
    stats.mean = sum / (double) lookups->hop_count;
    stats.p1 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.01);
    stats.p50 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.50);
    stats.p99 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.99);
    stats.max = lookups->hops[lookups->hop_count - 1];
    return stats;
}

uint64_t sim_failures (const sim_lookups_t *lookups)
{
    return lookups->issued - lookups->right;
}

/* Whether a lookup reply named successor(key) over the members now. */
bool sim_reply_right (simnet_t *net, const simnet_reply_t *reply)
{
    return reply->answered && reply->status == CHORD_STATUS_OK && reply->has_owner &&
           reply->owner_node != SIMNET_NONE && reply->owner_node == simnet_owner (net, &reply->key_id);
}

void sim_lookups_note (sim_lookups_t *lookups, simnet_t *net, const simnet_reply_t *reply)
{
    if (!reply->answered || reply->status == CHORD_STATUS_TIMEOUT)
        lookups->unanswered++;
    else if (reply->status != CHORD_STATUS_OK)
        lookups->refused++;
    else if (sim_reply_right (net, reply)) {
        lookups->right++;
        s_hops_push (lookups, reply->hops);
    } else
        lookups->wrong++;
}

uint64_t sim_token (unsigned kind, uint64_t value)
{
    return ((uint64_t) kind << SIM_TOKEN_SHIFT) | value;
}
