/*  chordd survey: the ring walked through successor lists (see survey.h),
    on the ring walk chordctl and /v1/ring use (tools/ring_walk.h).  */
#include "survey.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring_walk.h"

/* A survey's walk ends by then at the latest: some 4096 positions
   answering in a few ms each, and silent processes costing one request
   timeout each. */
#define S_SURVEY_BUDGET_MS 60000

/* The positions that answered, in the order seen, into survey. */
static int s_take (const ring_walk_t *walk, chordd_survey_t *survey)
{
    survey->positions = calloc (walk->count ? walk->count : 1, sizeof *survey->positions);
    if (!survey->positions)
        return -1;
    for (size_t i = 0; i < walk->count && survey->count < CHORDD_SURVEY_POSITIONS_MAX; i++) {
        const ring_walk_position_t *at = &walk->positions[i];
        if (at->down)
            continue;
        chordd_survey_position_t *to = &survey->positions[survey->count++];
        to->id = at->self.id;
        snprintf (to->endpoint, sizeof to->endpoint, "%s", at->self.endpoint);
    }
    survey->requests = survey->count;
    survey->closed = walk->complete;
    return 0;
}

int chordd_survey_walk (const char *seed, const chord_client_curve_t *curve, int timeout_ms,
                        chordd_survey_t *survey, char *why, size_t why_size)
{
    assert (seed && survey && why && why_size > 0);
    memset (survey, 0, sizeof *survey);
    ring_walk_config_t config = {
        .start = seed,
        .curve = curve,
        .request_timeout_ms = timeout_ms,
        .start_timeout_ms = timeout_ms,
        .deadline_ms = S_SURVEY_BUDGET_MS,
        .steps_max = CHORDD_SURVEY_POSITIONS_MAX,
    };
    ring_walk_t walk;
    if (ring_walk_run (&config, &walk) != 0) {
        snprintf (why, why_size, "seed %s did not answer (%s)", seed, walk.why);
        return -1;
    }
    int rc = 0;
    if (!walk.complete) {
        snprintf (why, why_size, "%s", walk.why);
        rc = -1;
    }
    else if (s_take (&walk, survey) != 0) {
        snprintf (why, why_size, "out of memory");
        rc = -1;
    }
    ring_walk_clear (&walk);
    if (rc != 0)
        chordd_survey_clear (survey);
    return rc;
}

void chordd_survey_clear (chordd_survey_t *survey)
{
    assert (survey);
    free (survey->positions);
    memset (survey, 0, sizeof *survey);
}
