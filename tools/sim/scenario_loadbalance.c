/*  chord-sim --scenario loadbalance.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "id.h"
#include "node.h"
#include "report.h"
#include "scenario.h"
#include "store.h"
#include "util.h"

typedef struct {
    chord_id_t id;
    uint32_t peer;
} s_position_t;

static int s_cmp_position (const void *a, const void *b)
{
    return chord_id_cmp (&((const s_position_t *) a)->id, &((const s_position_t *) b)->id);
}

/* Keys per peer when positions[] (sorted) own the key ids; fills per_peer. */
static void s_count_keys (const s_position_t *positions, size_t position_count, const chord_id_t *keys,
                          size_t key_count, uint32_t *per_peer, size_t peers)
{
    memset (per_peer, 0, peers * sizeof *per_peer);
    for (size_t i = 0; i < key_count; i++) {
        size_t lo = 0, hi = position_count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (chord_id_cmp (&positions[mid].id, &keys[i]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        per_peer[positions[lo == position_count ? 0 : lo].peer]++;
    }
}

static void s_endpoint_of (char *out, size_t size, uint64_t seed, size_t peer)
{
    uint32_t address = (uint32_t) simrng_mix (seed ^ 0x10adull) + (uint32_t) peer;
    snprintf (out, size, "sim://%08x:7000", address);
}

static void s_load_row (sim_table_t *table, const char *how, unsigned v, const uint32_t *per_peer,
                        size_t peers,
                        size_t keys, const char *paper_p1, const char *paper_p99)
{
    double *load = malloc (peers * sizeof *load);
    if (!load)
        return;
    double mean = (double) keys / (double) peers, max = 0;
    for (size_t i = 0; i < peers; i++) {
        load[i] = per_peer[i] / mean;
        if (load[i] > max)
            max = load[i];
    }
    qsort (load, peers, sizeof *load, sim_cmp_double);
    double p1 = sim_quantile_double (load, peers, 0.01), p99 = sim_quantile_double (load, peers, 0.99);
    if (!table->rows)
        printf ("%-26s %3u %8.0f %8.2f %8.2f %8.2f %10s %10s\n", how, v, mean, max, p1, p99, paper_p1,
                paper_p99);
    json_t *row = json_object ();
    json_object_set_new (row, "placement", json_string (how));
    json_object_set_new (row, "positions_per_peer", sim_json_u64 (v));
    json_object_set_new (row, "mean_keys", json_real (mean));
    json_object_set_new (row, "max_over_mean", json_real (max));
    json_object_set_new (row, "p1_over_mean", json_real (p1));
    json_object_set_new (row, "p99_over_mean", json_real (p99));
    sim_table_row (table, row);
    free (load);
}

/* Of peer's candidate positions endpoint#0..candidates-1, the one that cuts the arc it lands in
   (among positions[0..count), sorted) most evenly, weighted by the arc's width. */
static s_position_t s_best_candidate (const s_position_t *positions, size_t count, const char *endpoint,
                                      uint32_t peer, unsigned candidates)
{
    s_position_t best = {.peer = peer};
    chord_id_t best_arc;
    memset (&best_arc, 0, sizeof best_arc);
    for (unsigned c = 0; c < candidates; c++) {
        s_position_t candidate = {.peer = peer};
        chord_id_of_position (&candidate.id, endpoint, c);
        chord_id_t arc;
        if (count == 0)
            memset (&arc, 0xff, sizeof arc);
        else {
            /* The arc it would split: from its predecessor to its successor. */
            size_t lo = 0, hi = count;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (chord_id_cmp (&positions[mid].id, &candidate.id) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            const chord_id_t *succ = &positions[lo == count ? 0 : lo].id;
            const chord_id_t *pred = &positions[lo == 0 ? count - 1 : lo - 1].id;
            /* The score: the smaller of the two pieces it would cut the
               arc (pred, succ) into, so wide arcs cut near the middle win. */
            chord_id_t taken, left;
            chord_id_distance (&taken, pred, &candidate.id);
            chord_id_distance (&left, &candidate.id, succ);
            arc = chord_id_cmp (&taken, &left) < 0 ? taken : left;
        }
        if (c == 0 || chord_id_cmp (&arc, &best_arc) > 0) {
            best = candidate;
            best_arc = arc;
        }
    }
    return best;
}

/*  Keys per peer with V virtual positions per peer: pure id arithmetic
    (BLAKE2b of endpoint#i and of the keys), no messages. Also one idea
    beyond the paper: each joining peer (in turn) picks one of c candidate
    positions endpoint#0..c-1, still checkable by anyone, the one that cuts
    the arc it lands in most evenly, weighted by the arc's width (the
    largest smaller piece).  */
int scenario_loadbalance_run (const sim_options_t *opt, sim_table_t *table)
{
    size_t peers = opt->nodes ? opt->nodes : 10000;
    size_t keys = opt->keys ? opt->keys : (opt->quick ? 100000 : 1000000);
    static const unsigned vs[] = {1, 2, 5, 10, 20};
    chord_id_t *key_ids = malloc (keys * sizeof *key_ids);
    s_position_t *positions = malloc (peers * 20 * sizeof *positions);
    uint32_t *per_peer = malloc (peers * sizeof *per_peer);
    char **endpoints = calloc (peers, sizeof *endpoints);
    int rc = key_ids && positions && per_peer && endpoints ? 0 : -1;
    if (rc != 0)
        goto done;
    for (size_t i = 0; i < keys; i++) {
        char key[32];
        sim_key_name (key, sizeof key, i);
        chord_id_hash (&key_ids[i], key, strlen (key));
    }
    for (size_t p = 0; p < peers; p++) {
        char endpoint[48];
        s_endpoint_of (endpoint, sizeof endpoint, opt->seed, p);
        if (!(endpoints[p] = strdup (endpoint))) {
            rc = -1;
            goto done;
        }
    }
    if (!table->rows) {
        printf (
            "Keys per peer relative to the mean, %zu peers, %zu keys; seed %llu. Positions: BLAKE2b-160 of\n"
            "endpoint (#i for i >= 1). The paper (V = 1 to 20): p99 4.8x falling to 1.6x, p1 0 rising to "
            "0.5x.\n\n",
            peers, keys, (unsigned long long) opt->seed);
        printf ("%-26s %3s %8s %8s %8s %8s %10s %10s\n", "placement", "V", "mean", "max", "p1", "p99",
                "paper p1", "paper p99");
    }
    for (size_t vi = 0; vi < sizeof vs / sizeof vs[0]; vi++) {
        unsigned v = vs[vi];
        size_t count = 0;
        for (size_t p = 0; p < peers; p++)
            for (unsigned i = 0; i < v; i++) {
                chord_id_of_position (&positions[count].id, endpoints[p], i);
                positions[count++].peer = (uint32_t) p;
            }
        qsort (positions, count, sizeof *positions, s_cmp_position);
        s_count_keys (positions, count, key_ids, keys, per_peer, peers);
        s_load_row (table, "virtual nodes", v, per_peer, peers, keys,
                    v == 1    ? "0"
                    : v == 20 ? "0.5"
                              : "-",
                    v == 1    ? "4.8"
                    : v == 20 ? "1.6"
                              : "-");
    }
    /* Beyond the paper: best of c candidate positions at join, one position each. */
    static const unsigned cs[] = {2, 4, 8};
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        size_t count = 0;
        for (size_t p = 0; p < peers; p++) {
            s_position_t best = s_best_candidate (positions, count, endpoints[p], (uint32_t) p, cs[ci]);
            size_t at = count;
            while (at > 0 && chord_id_cmp (&positions[at - 1].id, &best.id) > 0)
                at--;
            memmove (&positions[at + 1], &positions[at], (count - at) * sizeof *positions);
            positions[at] = best;
            count++;
        }
        s_count_keys (positions, count, key_ids, keys, per_peer, peers);
        char how[40];
        snprintf (how, sizeof how, "best of %u at join", cs[ci]);
        s_load_row (table, how, 1, per_peer, peers, keys, "-", "-");
    }
    sim_table_end (table, "loadbalance", NULL);
done:
    for (size_t p = 0; endpoints && p < peers; p++)
        free (endpoints[p]);
    free (endpoints);
    free (key_ids);
    free (positions);
    free (per_peer);
    return rc;
}
