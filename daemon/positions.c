/*  chordd positions: which candidate ids this process takes (see positions.h).  */
#include "positions.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "placement.h"
#include "survey.h"

#define S_RETRY_MIN_MS 250      /* between walks of a ring that could not be walked round, doubling */
#define S_WALK_TRIES 4          /* then place without the ring, rather than never listen */
#define S_LIST_MAX 400          /* room for the positions' numbers in a log line */

static int s_cmp_unsigned (const void *a, const void *b)
{
    unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
    return (x > y) - (x < y);
}

bool chordd_positions_store_name (const char *name, unsigned *index)
{
    char canonical[32];
    return sscanf (name, "pos-%u", index) == 1 &&
           (snprintf (canonical, sizeof canonical, "pos-%u", *index), strcmp (canonical, name) == 0);
}

/* The pos-<i> stores in dir, ascending. Returns how many (0 when none, or no dir yet). */
static size_t s_stored (const char *dir, unsigned *indices)
{
    DIR *listing = opendir (dir);
    if (!listing)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (listing)) && count < CHORDD_VNODES_MAX) {
        unsigned index;
        if (chordd_positions_store_name (entry->d_name, &index) && index < CHORD_POSITIONS_MAX)
            indices[count++] = index;
    }
    closedir (listing);
    qsort (indices, count, sizeof *indices, s_cmp_unsigned);
    return count;
}

static const char *s_list (const unsigned *indices, size_t count, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < count && used < size; i++)
        used += (size_t) snprintf (out + used, size - used, "%s%u", i ? ", " : "", indices[i]);
    return out;
}

static size_t s_chosen_indices (const uint8_t *chosen, unsigned *indices)
{
    size_t count = 0;
    for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
        if (chosen[i])
            indices[count++] = i;
    return count;
}

/*  The ring the survey saw, as placement wants it: the positions of other
    processes (ours are stale: we are not running), numbered by endpoint
    and sorted. Returns the number of processes, or -1 when out of memory. */
static long s_ring_of (const chordd_survey_t *survey, const char *self, chord_placement_position_t *ring,
                       size_t *ring_count)
{
    const char **processes = calloc (survey->count ? survey->count : 1, sizeof *processes);
    if (!processes)
        return -1;
    size_t process_count = 0;
    *ring_count = 0;
    for (size_t i = 0; i < survey->count; i++) {
        const chordd_survey_position_t *at = &survey->positions[i];
        if (strcmp (at->endpoint, self) == 0)
            continue;
        size_t p = 0;
        while (p < process_count && strcmp (processes[p], at->endpoint) != 0)
            p++;
        if (p == process_count)
            processes[process_count++] = at->endpoint;
        ring[(*ring_count)++] = (chord_placement_position_t) {at->id, (uint32_t) p};
    }
    free (processes);
    chord_placement_sort (ring, *ring_count);
    return (long) process_count;
}

/*  Picks the positions against the ring the survey saw and logs the share
    they take. Returns 0, or -1 after logging.  */
static int s_pick_against (const chordd_options_t *options, const chordd_survey_t *survey,
                           const chord_id_t *candidates, unsigned *indices, size_t *count)
{
    chord_placement_position_t *ring = calloc (survey->count + CHORD_POSITIONS_MAX, sizeof *ring);
    size_t ring_count = 0;
    long processes = ring ? s_ring_of (survey, options->advertise, ring, &ring_count) : -1;
    uint8_t chosen[CHORD_POSITIONS_MAX];
    double *loads = processes >= 0 ? calloc ((size_t) processes + 1, sizeof *loads) : NULL;
    if (!loads || chord_placement_pick (ring, ring_count, (size_t) processes, candidates, CHORD_POSITIONS_MAX,
                                        options->vnodes, chosen) != 0) {
        chordd_log (CHORD_LOG_ERROR, "out of memory placing our positions");
        free (ring), free (loads);
        return -1;
    }
    *count = s_chosen_indices (chosen, indices);
    //  Our share once joined, for the log: us as process number `processes`.
    for (size_t i = 0; i < *count; i++)
        ring[ring_count++] = (chord_placement_position_t) {candidates[indices[i]], (uint32_t) processes};
    chord_placement_sort (ring, ring_count);
    chord_placement_loads (ring, ring_count, loads, (size_t) processes + 1);
    char list[S_LIST_MAX];
    chordd_log (CHORD_LOG_INFO,
                "placement: the ring has %zu positions of %ld other processes (walked in %zu requests); "
                "positions %s take %.1f%% of it (an even share: %.1f%%)",
                survey->count, processes, survey->requests, s_list (indices, *count, list, sizeof list),
                100 * loads[processes], 100.0 / (double) (processes + 1));
    free (ring), free (loads);
    return 0;
}

static void s_sleep_ms (unsigned ms)
{
    struct timespec pause = {ms / 1000, (long) (ms % 1000) * 1000000L};
    (void) nanosleep (&pause, NULL);   /* a signal ends it early, as it should */
}

static void s_spread (const chordd_options_t *options, const chord_id_t *candidates, unsigned *indices,
                      size_t *count)
{
    uint8_t chosen[CHORD_POSITIONS_MAX] = {0};
    chord_placement_spread (candidates, CHORD_POSITIONS_MAX, options->vnodes, chosen);
    *count = s_chosen_indices (chosen, indices);
}

/*  Walks the ring through the seeds in turn until a walk succeeds, then
    picks. A ring that cannot be walked in a few tries (seeds down, or
    refusing us) gets positions spread as for a new ring: the join then
    retries through the seeds as it always does, and the peer can be
    asked what is wrong meanwhile.  */
static int s_join_placement (const chordd_options_t *options, const chord_client_curve_t *curve,
                             volatile sig_atomic_t *stop, const chord_id_t *candidates, unsigned *indices,
                             size_t *count)
{
    unsigned wait_ms = S_RETRY_MIN_MS;
    char why[CHORD_ENDPOINT_MAX + 128];
    for (unsigned attempt = 0; attempt < S_WALK_TRIES; attempt++) {
        if (*stop) {
            chordd_log (CHORD_LOG_INFO, "stopped before our positions were placed");
            return -1;
        }
        const char *seed = options->seeds[attempt % options->seed_count];
        chordd_survey_t survey;
        if (chordd_survey_walk (seed, curve, (int) options->rpc_timeout_ms, &survey, why, sizeof why) == 0) {
            int rc = s_pick_against (options, &survey, candidates, indices, count);
            chordd_survey_clear (&survey);
            return rc;
        }
        if (attempt + 1 == S_WALK_TRIES)
            break;
        chordd_log (CHORD_LOG_INFO, "walking the ring to place our positions: %s; retrying in %u ms", why,
                    wait_ms);
        s_sleep_ms (wait_ms);
        wait_ms *= 2;
    }
    s_spread (options, candidates, indices, count);
    char list[S_LIST_MAX];
    chordd_log (CHORD_LOG_WARN, "could not walk the ring to place our positions (%s, %d tries): positions %s, "
                "spread as for a new ring; the ring may be less even", why, S_WALK_TRIES,
                s_list (indices, *count, list, sizeof list));
    return 0;
}

int chordd_positions_choose (const chordd_options_t *options, const chord_client_curve_t *curve,
                             volatile sig_atomic_t *stop, unsigned *indices, size_t *count)
{
    char list[S_LIST_MAX];
    if (options->placement == CHORDD_PLACEMENT_FIRST) {
        for (unsigned i = 0; i < options->vnodes; i++)
            indices[i] = i;
        *count = options->vnodes;
        return 0;
    }
    if (options->data_dir && (*count = s_stored (options->data_dir, indices)) > 0) {
        if (options->vnodes_given && *count != options->vnodes)
            chordd_log (CHORD_LOG_WARN, "%s holds the stores of %zu positions: keeping them (--vnodes %u "
                        "places only a fresh data directory)", options->data_dir, *count, options->vnodes);
        chordd_log (CHORD_LOG_INFO, "placement: positions %s, as %s holds them",
                    s_list (indices, *count, list, sizeof list), options->data_dir);
        return 0;
    }
    chord_id_t candidates[CHORD_POSITIONS_MAX];
    for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
        chord_id_of_position (&candidates[i], options->advertise, i);
    if (options->seed_count > 0)
        return s_join_placement (options, curve, stop, candidates, indices, count);
    s_spread (options, candidates, indices, count);
    chordd_log (CHORD_LOG_INFO, "placement: a new ring; positions %s, spread as evenly as our ids allow",
                s_list (indices, *count, list, sizeof list));
    return 0;
}
