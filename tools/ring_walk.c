/*  ring walk: see ring_walk.h.  */
#include "ring_walk.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "util.h"

/* One open connection, kept for the positions of the same endpoint. */
typedef struct {
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* where it connects */
    chord_client_t *client;                 /* NULL for an empty slot */
    uint64_t used;                          /* request number of its last use, for eviction */
} s_link_t;

/* The walk in progress. */
typedef struct {
    const ring_walk_config_t *config;       /* what was asked */
    int request_timeout_ms;                 /* resolved from config */
    size_t steps_max;                       /* resolved from config */
    int64_t deadline_ms;                    /* monotonic time the walk ends by */
    s_link_t links[RING_WALK_LINKS_MAX];    /* connections kept open */
    bool *silent;                           /* per recorded position: down because it timed out */
    chord_msg_t *reply;                     /* the last answer, reused: a message is large */
    ring_walk_t *walk;                      /* the result being filled */
} s_walk_t;

static void s_why (ring_walk_t *walk, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
static void s_why (ring_walk_t *walk, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (walk->why, sizeof walk->why, format, args);
    va_end (args);
}

/* The connection to endpoint: a kept one, or a new one in the least
   recently used slot. NULL when the endpoint cannot be connected to. */
static chord_client_t *s_link (s_walk_t *w, const char *endpoint)
{
    s_link_t *slot = &w->links[0];
    for (size_t i = 0; i < RING_WALK_LINKS_MAX; i++) {
        s_link_t *link = &w->links[i];
        if (link->client && strcmp (link->endpoint, endpoint) == 0) {
            link->used = w->walk->requests;
            return link->client;
        }
        if (slot->client && (!link->client || link->used < slot->used))
            slot = link;
    }
    chord_client_destroy (&slot->client);
    slot->client = chord_client_new_curve (endpoint, w->config->curve);
    if (!slot->client)
        return NULL;
    snprintf (slot->endpoint, sizeof slot->endpoint, "%s", endpoint);
    slot->used = w->walk->requests;
    return slot->client;
}

/* True when endpoint is printable ASCII: it came off the network, and ends
   up on terminals and in JSON. Bytes past 0x7e are refused too, since a
   C1 control (0x9b, or U+009B in UTF-8) is an escape to many terminals;
   ZeroMQ endpoints are ASCII. */
static bool s_printable (const char *endpoint)
{
    if (!endpoint[0])
        return false;
    for (const unsigned char *c = (const unsigned char *) endpoint; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return false;
    return true;
}

/*  Asks endpoint for the INFO of position target (NULL: any), waiting at
    most timeout_ms. Returns 0 with w->reply a well-formed answer from a
    position bound to its endpoint (target itself, when given), or -1
    with errno ETIMEDOUT (silent), EACCES (refused) or EINVAL.  */
static int s_ask (s_walk_t *w, const char *endpoint, const chord_id_t *target, int timeout_ms)
{
    chord_client_t *client = s_link (w, endpoint);
    if (!client) {
        errno = EINVAL;
        return -1;
    }
    chord_msg_t request;
    chord_msg_init (&request, CHORD_MSG_CLIENT_INFO, 0);
    if (target) {
        request.has_target = true;
        request.target = *target;
    }
    w->walk->requests++;
    chord_msg_clear (w->reply);
    if (chord_client_call (client, &request, w->reply, timeout_ms) != 0) {
        if (errno != EACCES)
            errno = errno == EINVAL ? EINVAL : ETIMEDOUT;
        return -1;
    }
    const chord_msg_t *reply = w->reply;
    if (reply->type != CHORD_MSG_INFO_REPLY || !(reply->fields & CHORD_F_PEER) ||
        !s_printable (reply->peer.endpoint) || !chord_id_bound (&reply->peer.id, reply->peer.endpoint) ||
        (target && !chord_id_equal (&reply->peer.id, target))) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static ring_walk_position_t *s_find (ring_walk_t *walk, const chord_id_t *id)
{
    for (size_t i = 0; i < walk->count; i++)
        if (chord_id_equal (&walk->positions[i].self.id, id))
            return &walk->positions[i];
    return NULL;
}

/* True when a position of endpoint already stayed silent. */
static bool s_silent (const s_walk_t *w, const char *endpoint)
{
    for (size_t i = 0; i < w->walk->count; i++)
        if (w->silent[i] && strcmp (w->walk->positions[i].self.endpoint, endpoint) == 0)
            return true;
    return false;
}

static void s_record_down (s_walk_t *w, const chord_peer_t *peer, bool silent)
{
    assert (w->walk->count < w->steps_max);
    w->silent[w->walk->count] = silent;
    ring_walk_position_t *at = &w->walk->positions[w->walk->count++];
    memset (at, 0, sizeof *at);
    at->self = *peer;
    at->down = true;
}

/* Records the position that answered in w->reply. */
static void s_record_answer (s_walk_t *w)
{
    assert (w->walk->count < w->steps_max);
    const chord_msg_t *reply = w->reply;
    w->silent[w->walk->count] = false;
    ring_walk_position_t *at = &w->walk->positions[w->walk->count++];
    memset (at, 0, sizeof *at);
    at->self = reply->peer;
    at->has_state = (reply->fields & CHORD_F_STATE) != 0;
    at->state = reply->state;
    at->has_pred = (reply->fields & CHORD_F_PRED) && reply->has_pred;
    if (at->has_pred)
        at->pred = reply->pred.id;
    at->has_succ = (reply->fields & CHORD_F_SUCC) && reply->peer_count > 0;
    if (at->has_succ)
        at->succ = reply->peers[0].id;
    at->has_records = (reply->fields & CHORD_F_COUNT) != 0;
    at->records = reply->count;
    at->has_census = (reply->fields & CHORD_F_CENSUS) != 0;
    if (at->has_census)
        at->census = reply->census;
    at->replicas = (reply->fields & CHORD_F_REPLICAS) ? reply->replicas : 0;
}

/*  The successor list of the reply from position `from` into list[]: the
    entries bound to their printable endpoints, other than from, in order.
    Returns how many.  */
static size_t s_take_list (const chord_msg_t *reply, const chord_id_t *from, chord_peer_t *list)
{
    size_t count = 0;
    size_t given = (reply->fields & CHORD_F_SUCC) ? reply->peer_count : 0;
    for (size_t i = 0; i < given && i < CHORD_PEER_LIST_MAX; i++) {
        const chord_peer_t *peer = &reply->peers[i];
        if (!chord_id_equal (&peer->id, from) && s_printable (peer->endpoint) &&
            chord_id_bound (&peer->id, peer->endpoint))
            list[count++] = *peer;
    }
    return count;
}

/*  Tries the entries of list in order until one answers (then returns 1),
    recording the silent ones down. Returns 0 when the walk is over
    (complete, or why says why not), -1 when no entry answered.  */
static int s_step (s_walk_t *w, const chord_peer_t *list, size_t count)
{
    ring_walk_t *walk = w->walk;
    for (size_t next = 0; next < count; next++) {
        const chord_peer_t *entry = &list[next];
        if (chord_id_equal (&entry->id, &walk->positions[0].self.id)) {
            walk->complete = true;
            return 0;
        }
        const ring_walk_position_t *seen = s_find (walk, &entry->id);
        if (seen && seen->down)
            continue;
        if (seen) {
            s_why (walk, "ring not closed: it leads back to %s, not to the start", entry->endpoint);
            return 0;
        }
        if (walk->count == w->steps_max) {
            s_why (walk, "stopped after %zu positions", walk->count);
            return 0;
        }
        int64_t left_ms = w->deadline_ms - util_now_ms ();
        if (left_ms <= 0) {
            s_why (walk, "stopped at the deadline, after %zu positions", walk->count);
            return 0;
        }
        if (s_silent (w, entry->endpoint)) {
            s_record_down (w, entry, true);
            continue;
        }
        int timeout_ms = left_ms < w->request_timeout_ms ? (int) left_ms : w->request_timeout_ms;
        if (s_ask (w, entry->endpoint, &entry->id, timeout_ms) != 0) {
            s_record_down (w, entry, errno == ETIMEDOUT);
            continue;
        }
        s_record_answer (w);
        return 1;
    }
    return -1;
}

static int s_walk (s_walk_t *w)
{
    ring_walk_t *walk = w->walk;
    const char *start = w->config->start;
    int64_t left_ms = w->deadline_ms - util_now_ms ();
    if (w->config->start_timeout_ms > 0 && w->config->start_timeout_ms < left_ms)
        left_ms = w->config->start_timeout_ms;
    if (s_ask (w, start, NULL, left_ms > 0 ? (int) left_ms : 0) != 0) {
        int saved = errno;
        s_why (walk, "%s: %s", start,
               saved == EACCES   ? "refused our keys"
               : saved == EINVAL ? "cannot be reached, or answered nonsense"
                                 : "no answer");
        errno = saved;
        return -1;
    }
    s_record_answer (w);
    chord_peer_t list[CHORD_PEER_LIST_MAX];
    while (true) {
        const ring_walk_position_t *from = &walk->positions[walk->count - 1];
        size_t count = s_take_list (w->reply, &from->self.id, list);
        if (count == 0) {
            //  Only a position alone in the ring names no other successor.
            walk->complete = walk->count == 1;
            if (!walk->complete)
                s_why (walk, "%s named no successor", from->self.endpoint);
            return 0;
        }
        char from_endpoint[CHORD_ENDPOINT_MAX + 1];
        snprintf (from_endpoint, sizeof from_endpoint, "%s", from->self.endpoint);
        int stepped = s_step (w, list, count);
        if (stepped == 0)
            return 0;
        if (stepped < 0) {
            s_why (walk, "no successor of %s answered", from_endpoint);
            return 0;
        }
    }
}

int ring_walk_run (const ring_walk_config_t *config, ring_walk_t *walk)
{
    assert (config && config->start && walk);
    memset (walk, 0, sizeof *walk);
    int64_t began_ms = util_now_ms ();
    s_walk_t w = {
        .config = config,
        .request_timeout_ms = config->request_timeout_ms > 0 ? config->request_timeout_ms : RING_WALK_TIMEOUT_MS,
        .steps_max = config->steps_max > 0 && config->steps_max < RING_WALK_STEPS_MAX ? config->steps_max
                                                                                       : RING_WALK_STEPS_MAX,
        .deadline_ms = began_ms + (config->deadline_ms > 0 ? config->deadline_ms : RING_WALK_DEADLINE_MS),
        .walk = walk,
    };
    walk->positions = calloc (w.steps_max, sizeof *walk->positions);
    w.silent = calloc (w.steps_max, sizeof *w.silent);
    w.reply = calloc (1, sizeof *w.reply);
    int rc = -1;
    if (!walk->positions || !w.silent || !w.reply) {
        s_why (walk, "out of memory");
        errno = ENOMEM;
    }
    else {
        chord_msg_init (w.reply, CHORD_MSG_INFO_REPLY, 0);
        rc = s_walk (&w);
        chord_msg_clear (w.reply);
    }
    int saved = errno;
    for (size_t i = 0; i < RING_WALK_LINKS_MAX; i++)
        chord_client_destroy (&w.links[i].client);
    free (w.reply);
    free (w.silent);
    walk->walked_ms = util_now_ms () - began_ms;
    if (rc != 0) {
        free (walk->positions);
        walk->positions = NULL;
        walk->count = 0;
    }
    errno = saved;
    return rc;
}

void ring_walk_clear (ring_walk_t *walk)
{
    assert (walk);
    free (walk->positions);
    walk->positions = NULL;
    walk->count = 0;
}

const char *ring_walk_state_name (const ring_walk_position_t *position)
{
    assert (position);
    if (position->down)
        return "down";
    if (!position->has_state || position->state > CHORD_STATE_MAX)
        return "unknown";
    return chord_node_state_name ((chord_node_state_t) position->state);
}
