/*  chordd survey: the ring walked through successor lists (see survey.h).  */
#include "survey.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The walk in progress: one connection at a time, to the peer asked last. */
typedef struct {
    const chord_client_curve_t *curve;
    int timeout_ms;
    chord_client_t *client;
    char client_endpoint[CHORD_ENDPOINT_MAX + 1];
    chord_msg_t *reply;         /* one reply, reused: a message is large */
    chordd_survey_t *survey;
} s_walk_t;

static void s_why (char *why, size_t why_size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (why, why_size, format, args);
    va_end (args);
}

/*  Asks endpoint for the state of its position target (NULL: any). Returns
    0 with walk->reply holding a well-formed answer naming a position bound
    to its endpoint, or -1.  */
static int s_ask (s_walk_t *walk, const char *endpoint, const chord_id_t *target)
{
    if (!walk->client || strcmp (walk->client_endpoint, endpoint) != 0) {
        chord_client_destroy (&walk->client);
        walk->client = walk->curve ? chord_client_new_curve (endpoint, walk->curve) : chord_client_new (endpoint);
        if (!walk->client)
            return -1;
        snprintf (walk->client_endpoint, sizeof walk->client_endpoint, "%s", endpoint);
    }
    chord_msg_t request;
    chord_msg_init (&request, CHORD_MSG_CLIENT_INFO, 0);
    if (target) {
        request.has_target = true;
        request.target = *target;
    }
    chord_msg_clear (walk->reply);
    if (chord_client_call (walk->client, &request, walk->reply, walk->timeout_ms) != 0 ||
        walk->reply->type != CHORD_MSG_INFO_REPLY || !(walk->reply->fields & CHORD_F_PEER) ||
        !chord_id_bound (&walk->reply->peer.id, walk->reply->peer.endpoint) ||
        (target && !chord_id_equal (&walk->reply->peer.id, target))) {
        chord_client_destroy (&walk->client);   /* a fresh connection for the next ask */
        return -1;
    }
    walk->survey->requests++;
    return 0;
}

static bool s_seen (const chordd_survey_t *survey, const chord_id_t *id)
{
    for (size_t i = 0; i < survey->count; i++)
        if (chord_id_equal (&survey->positions[i].id, id))
            return true;
    return false;
}

/* Adds a position that answered, unless known, or one too many. */
static void s_add (chordd_survey_t *survey, const chord_peer_t *peer)
{
    if (survey->count == CHORDD_SURVEY_POSITIONS_MAX || s_seen (survey, &peer->id))
        return;
    chordd_survey_position_t *at = &survey->positions[survey->count++];
    at->id = peer->id;
    snprintf (at->endpoint, sizeof at->endpoint, "%s", peer->endpoint);
}

/*  The successor list of the reply (from position `from`) into list[]: the
    bound entries other than from, in order. Returns how many.  */
static size_t s_take_list (const chord_msg_t *reply, const chord_id_t *from, chord_peer_t *list)
{
    size_t count = 0;
    size_t given = (reply->fields & CHORD_F_SUCC) ? reply->peer_count : 0;
    for (size_t i = 0; i < given && count < CHORD_PEER_LIST_MAX; i++) {
        const chord_peer_t *peer = &reply->peers[i];
        if (!chord_id_equal (&peer->id, from) && chord_id_bound (&peer->id, peer->endpoint))
            list[count++] = *peer;
    }
    return count;
}

/*  The walk proper: from the seed's position from successor to successor
    (past a silent one, to the next in the list), keeping only positions
    that answered, until the walk comes back to where it began. A
    successor list may lag behind a join, so it is used only to go on.
    Returns 0 once it closed, else -1 with why.  */
static int s_walk (s_walk_t *walk, const char *seed, char *why, size_t why_size)
{
    chordd_survey_t *survey = walk->survey;
    if (s_ask (walk, seed, NULL) != 0) {
        s_why (why, why_size, "seed %s did not answer", seed);
        return -1;
    }
    chord_peer_t start = walk->reply->peer;
    chord_peer_t list[CHORD_PEER_LIST_MAX];
    chord_peer_t from = start;
    while (true) {
        s_add (survey, &from);
        size_t count = s_take_list (walk->reply, &from.id, list);
        if (count == 0 || chord_id_equal (&list[0].id, &start.id)) {
            //  Back at the start; or a position that knows no successor but
            //  itself, which is the whole ring only when it is the start.
            survey->closed = count > 0 || chord_id_equal (&from.id, &start.id);
            if (survey->closed)
                return 0;
            s_why (why, why_size, "%s named no successor", from.endpoint);
            return -1;
        }
        if (survey->requests >= CHORDD_SURVEY_REQUESTS_MAX || survey->count >= CHORDD_SURVEY_POSITIONS_MAX) {
            s_why (why, why_size, "ring not walked round after %zu requests and %zu positions", survey->requests,
                   survey->count);
            return -1;
        }
        size_t next = 0;
        while (next < count && s_ask (walk, list[next].endpoint, &list[next].id) != 0)
            next++;
        if (next == count) {
            s_why (why, why_size, "no successor of %s answered", from.endpoint);
            return -1;
        }
        if (s_seen (survey, &list[next].id)) {
            s_why (why, why_size, "ring not closed: the successor of %s leads back to a position seen before",
                   from.endpoint);
            return -1;
        }
        from = list[next];
    }
}

int chordd_survey_walk (const char *seed, const chord_client_curve_t *curve, int timeout_ms,
                        chordd_survey_t *survey, char *why, size_t why_size)
{
    assert (seed && survey && why && why_size > 0);
    memset (survey, 0, sizeof *survey);
    s_walk_t walk = {.curve = curve, .timeout_ms = timeout_ms, .survey = survey};
    survey->positions = calloc (CHORDD_SURVEY_POSITIONS_MAX, sizeof *survey->positions);
    walk.reply = calloc (1, sizeof *walk.reply);
    int rc = -1;
    if (!survey->positions || !walk.reply)
        s_why (why, why_size, "out of memory");
    else {
        chord_msg_init (walk.reply, CHORD_MSG_INFO_REPLY, 0);
        rc = s_walk (&walk, seed, why, why_size);
        chord_msg_clear (walk.reply);
    }
    chord_client_destroy (&walk.client);
    free (walk.reply);
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
