/*  simtrace: FIND_SUCC requests and replies of traced lookups.  */
#include "simtrace.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

#define S_ACTIVE_MAX 64   /* lookups traced at once */
#define S_SENDS_MAX 4096  /* requests remembered per lookup */
#define S_SET_MIN 4096    /* slots in a new set; a power of two */
#define S_LOOP_FINDS 64   /* answered FIND_SUCCs past which a lookup went round in a loop */

/* One FIND_SUCC a lookup's origin sent. */
typedef struct {
    uint64_t request_id; /* its reply carries it */
    uint64_t peer;       /* hash of the endpoint asked */
    bool answered;
} s_send_t;

/* A lookup being traced. */
typedef struct {
    chord_id_t id;   /* its key id */
    size_t origin;   /* SIMNET_NONE until its first FIND_SUCC */
    size_t send_count;
    s_send_t sends[S_SENDS_MAX];
} s_lookup_t;

/* A set of nonzero 64-bit values, open addressing. */
typedef struct {
    uint64_t *slots;
    size_t alloc; /* a power of two */
    size_t count;
} s_set_t;

struct simtrace {
    simnet_t *net;            /* borrowed */
    chord_msg_t *msg;         /* decoding */
    s_lookup_t *active[S_ACTIVE_MAX];
    s_set_t silent_by_origin; /* mix (origin, peer) of earlier lookups' timeouts */
    s_set_t silent_anywhere;  /* peer of every earlier lookup's timeouts */
    simtrace_stats_t stats;
};

static uint64_t s_hash (const char *text)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (; *text; text++)
        hash = (hash ^ (uint8_t) *text) * 0x100000001b3ull;
    return hash | 1;
}

static uint64_t s_mix (uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ b;
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
    return (x ^ (x >> 29)) | 1;
}

static bool s_set_has (const s_set_t *set, uint64_t value)
{
    if (!set->alloc)
        return false;
    for (size_t i = value & (set->alloc - 1);; i = (i + 1) & (set->alloc - 1)) {
        if (set->slots[i] == value)
            return true;
        if (set->slots[i] == 0)
            return false;
    }
}

static void s_set_add (s_set_t *set, uint64_t value)
{
    if (s_set_has (set, value))
        return;
    if ((set->count + 1) * 2 > set->alloc) {
        size_t alloc = set->alloc ? set->alloc * 2 : S_SET_MIN;
        uint64_t *slots = calloc (alloc, sizeof *slots);
        if (!slots)
            return;
        for (size_t i = 0; i < set->alloc; i++)
            if (set->slots[i])
                for (size_t j = set->slots[i] & (alloc - 1);; j = (j + 1) & (alloc - 1))
                    if (!slots[j]) {
                        slots[j] = set->slots[i];
                        break;
                    }
        free (set->slots);
        set->slots = slots;
        set->alloc = alloc;
    }
    for (size_t i = value & (set->alloc - 1);; i = (i + 1) & (set->alloc - 1))
        if (!set->slots[i]) {
            set->slots[i] = value;
            set->count++;
            return;
        }
}

/* Whether the lookup went round in a loop: more answered FIND_SUCCs than a
   lookup may take hops (the protocol's CHORD_LOOKUP_HOPS_MAX, 64) before it
   gives up and starts again, where a path takes about log2 N. */
static bool s_looped (const s_lookup_t *lookup)
{
    size_t answered = 0;
    for (size_t k = 0; k < lookup->send_count; k++)
        answered += lookup->sends[k].answered;
    return answered > S_LOOP_FINDS;
}

static s_lookup_t *s_find (simtrace_t *self, const chord_id_t *id, size_t *slot)
{
    for (size_t i = 0; i < S_ACTIVE_MAX; i++)
        if (self->active[i] && chord_id_equal (&self->active[i]->id, id)) {
            if (slot)
                *slot = i;
            return self->active[i];
        }
    return NULL;
}

static void s_on_send (void *arg, simnet_t *net, size_t src, const char *endpoint, size_t dst,
                       const uint8_t *data, size_t size)
{
    (void) net;
    (void) dst;
    simtrace_t *self = arg;
    if (!endpoint || chord_msg_decode (self->msg, data, size) != 0)
        return;
    s_lookup_t *lookup = NULL;
    if (self->msg->type == CHORD_MSG_FIND_SUCC)
        lookup = s_find (self, &self->msg->id, NULL);
    if (lookup && lookup->origin == SIMNET_NONE)
        lookup->origin = src;
    if (lookup && lookup->origin == src && lookup->send_count < S_SENDS_MAX)
        lookup->sends[lookup->send_count++] =
            (s_send_t){.request_id = self->msg->request_id, .peer = s_hash (endpoint)};
    chord_msg_clear (self->msg);
}

static void s_on_deliver (void *arg, simnet_t *net, size_t src, size_t dst, const uint8_t *data, size_t size)
{
    (void) net;
    (void) src;
    simtrace_t *self = arg;
    /* Replies are few; decoding every message to find them is cheap enough here. */
    if (chord_msg_decode (self->msg, data, size) != 0)
        return;
    if (self->msg->type == CHORD_MSG_FIND_SUCC_REPLY)
        for (size_t i = 0; i < S_ACTIVE_MAX; i++) {
            s_lookup_t *lookup = self->active[i];
            if (!lookup || lookup->origin != dst)
                continue;
            for (size_t k = 0; k < lookup->send_count; k++)
                if (lookup->sends[k].request_id == self->msg->request_id)
                    lookup->sends[k].answered = true;
        }
    chord_msg_clear (self->msg);
}

simtrace_t *simtrace_new (simnet_t *net)
{
    assert (net);
    simtrace_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->net = net;
    self->msg = malloc (sizeof *self->msg);
    if (!self->msg) {
        free (self);
        return NULL;
    }
    chord_msg_init (self->msg, CHORD_MSG_FIND_SUCC, 0);
    simnet_on_send (net, s_on_send, self);
    simnet_on_deliver (net, s_on_deliver, self);
    return self;
}

void simtrace_destroy (simtrace_t **self_p)
{
    assert (self_p);
    simtrace_t *self = *self_p;
    if (!self)
        return;
    simnet_on_send (self->net, NULL, NULL);
    simnet_on_deliver (self->net, NULL, NULL);
    for (size_t i = 0; i < S_ACTIVE_MAX; i++)
        free (self->active[i]);
    free (self->silent_by_origin.slots);
    free (self->silent_anywhere.slots);
    free (self->msg);
    free (self);
    *self_p = NULL;
}

void simtrace_begin (simtrace_t *self, const chord_id_t *id)
{
    assert (self && id);
    size_t slot;
    s_lookup_t *lookup = s_find (self, id, &slot);
    if (!lookup) {
        for (slot = 0; slot < S_ACTIVE_MAX && self->active[slot]; slot++)
            ;
        if (slot == S_ACTIVE_MAX || !(self->active[slot] = malloc (sizeof *lookup)))
            return; /* too many at once: this one goes untraced */
        lookup = self->active[slot];
    }
    lookup->id = *id;
    lookup->origin = SIMNET_NONE;
    lookup->send_count = 0;
}

uint64_t simtrace_end (simtrace_t *self, const chord_id_t *id)
{
    assert (self && id);
    size_t slot;
    s_lookup_t *lookup = s_find (self, id, &slot);
    if (!lookup)
        return 0;
    simtrace_stats_t *stats = &self->stats;
    uint64_t timeouts = 0;
    for (size_t k = 0; k < lookup->send_count; k++) {
        const s_send_t *send = &lookup->sends[k];
        if (send->answered)
            continue;
        timeouts++;
        bool repeat = false;
        for (size_t j = 0; j < k && !repeat; j++)
            repeat = !lookup->sends[j].answered && lookup->sends[j].peer == send->peer;
        uint64_t by_origin = s_mix (lookup->origin, send->peer);
        stats->repeat_in_lookup += repeat;
        bool known = s_set_has (&self->silent_by_origin, by_origin);
        stats->known_to_origin += !repeat && known;
        stats->known_elsewhere += !repeat && !known && s_set_has (&self->silent_anywhere, send->peer);
    }
    for (size_t k = 0; k < lookup->send_count; k++)
        if (!lookup->sends[k].answered) {
            s_set_add (&self->silent_by_origin, s_mix (lookup->origin, lookup->sends[k].peer));
            s_set_add (&self->silent_anywhere, lookup->sends[k].peer);
        }
    stats->lookups++;
    stats->finds += lookup->send_count;
    stats->timeouts += timeouts;
    stats->with_timeouts += timeouts > 0;
    stats->looped += s_looped (lookup);
    if (timeouts > stats->max_timeouts)
        stats->max_timeouts = timeouts;
    free (lookup);
    self->active[slot] = NULL;
    return timeouts;
}

const simtrace_stats_t *simtrace_stats (const simtrace_t *self)
{
    assert (self);
    return &self->stats;
}
