/*  ring client: see ring_client.h.

    Requests live in a slot array (free slots on a stack); the attempt in
    flight of each is found by (link, request id) in an open-addressing
    table, so a reply costs O(1) however many are in flight. Finished
    operations wait in a queue until polled. Deadlines are checked in one
    sweep whenever the earliest of them has passed.  */
#include "ring_client.h"
#include "ring_map.h"
#include "ring_walk.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define S_INFLIGHT_DEFAULT 1024
#define S_RESEND_PAUSE_MS 50            /* before a retry after NOT_READY and the like */
#define S_SEND_RETRY_MS 10              /* before a retry after a full send queue */
#define S_REFRESH_START_MS 500          /* a re-learning's wait for its start to answer */

/* One connection, to one process. */
typedef struct {
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* where it goes */
    chord_client_t *client;                 /* the DEALER, owned */
} s_link_t;

/* One operation, from submit to its result. */
typedef struct {
    bool used;                      /* the slot holds an operation */
    bool in_flight;                 /* an attempt is in the flight table; else one is due at attempt_deadline_ms */
    bool is_call;                   /* ring_client_call waits for it: its result goes aside */
    uint64_t tag;                   /* the caller's */
    chord_msg_type_t type;          /* CLIENT_PUT, _GET or _DEL */
    uint8_t *key;                   /* owned copy */
    size_t key_len;
    uint8_t *value;                 /* owned copy, puts only */
    size_t value_len;
    chord_id_t key_id;              /* BLAKE2b of the key */
    int64_t deadline_ms;            /* the operation ends by then */
    int64_t attempt_deadline_ms;    /* the attempt in flight is given up, or the next is sent, then */
    unsigned tries;                 /* attempts sent */
    unsigned holder;                /* copy holder the reads go to: 0 the owner */
    uint32_t link;                  /* the attempt's connection */
    uint64_t request_id;            /* the attempt's id on it */
} s_request_t;

/* An entry of the flight table: (link, request id) -> request slot. */
typedef struct {
    bool used;
    uint32_t link;
    uint64_t request_id;
    uint32_t slot;
} s_flight_t;

struct ring_client {
    ring_client_config_t config;    /* with defaults filled in; seeds borrowed */
    ring_map_t map;                 /* the ring as last learnt (owner route) */
    s_link_t links[RING_CLIENT_LINKS_MAX];      /* connections, by first use */
    zmq_pollitem_t items[2 * RING_CLIENT_LINKS_MAX]; /* their sockets and handshake monitors, for zmq_poll */
    size_t link_count;
    size_t next_entry;              /* entry route: the seed the next request goes to */
    s_request_t *requests;          /* inflight_max slots */
    uint32_t *free_slots;           /* stack of free slot indexes */
    size_t free_count;
    s_flight_t *flights;            /* the flight table, a power of two entries */
    size_t flight_mask;             /* its size - 1 */
    ring_client_result_t *done;     /* ring buffer of finished operations */
    size_t done_head;               /* next to hand out */
    size_t done_count;
    bool call_done;                 /* the blocking call's operation finished */
    ring_client_result_t call_result;   /* its result */
    int64_t earliest_ms;            /* no attempt deadline falls before this */
    bool refresh_wanted;            /* a reply or a silence says the map is stale */
    int64_t last_refresh_ms;        /* when the ring was last learnt, or tried */
    chord_msg_t *request;           /* send buffer: the struct is large */
    chord_msg_t *reply;             /* receive buffer */
    ring_client_stats_t stats;      /* counters */
};

static void s_why (char *why, size_t why_size, const char *text)
{
    if (why && why_size > 0)
        snprintf (why, why_size, "%s", text);
}

/* ------------------------------------------------------------ links */

/* The link to endpoint, made on first use; -1 when none can be made. */
static int s_link_for (ring_client_t *self, const char *endpoint)
{
    for (size_t i = 0; i < self->link_count; i++)
        if (strcmp (self->links[i].endpoint, endpoint) == 0)
            return (int) i;
    if (self->link_count == RING_CLIENT_LINKS_MAX)
        return -1;
    s_link_t *link = &self->links[self->link_count];
    link->client = chord_client_new_curve (endpoint, self->config.curve);
    if (!link->client)
        return -1;
    snprintf (link->endpoint, sizeof link->endpoint, "%s", endpoint);
    /* The monitor too: a refusal is known at once, not at a deadline. */
    self->items[2 * self->link_count] = (zmq_pollitem_t) {.socket = chord_client_socket (link->client),
                                                          .events = ZMQ_POLLIN};
    self->items[2 * self->link_count + 1] = (zmq_pollitem_t) {
        .socket = chord_client_monitor_socket (link->client), .events = ZMQ_POLLIN};
    return (int) self->link_count++;
}

/* ------------------------------------------------------------ flight table */

static size_t s_flight_home (const ring_client_t *self, uint32_t link, uint64_t request_id)
{
    uint64_t hash = (request_id ^ ((uint64_t) link << 48)) * 0x9e3779b97f4a7c15ULL;
    return (size_t) (hash >> 20) & self->flight_mask;
}

static void s_flight_add (ring_client_t *self, uint32_t link, uint64_t request_id, uint32_t slot)
{
    size_t i = s_flight_home (self, link, request_id);
    while (self->flights[i].used)
        i = (i + 1) & self->flight_mask;
    self->flights[i] = (s_flight_t) {.used = true, .link = link, .request_id = request_id, .slot = slot};
}

/* Finds and removes (link, request_id); returns its slot, or -1. Later
   entries of the cluster shift back so that no lookup stops at the hole. */
static long s_flight_take (ring_client_t *self, uint32_t link, uint64_t request_id)
{
    size_t i = s_flight_home (self, link, request_id);
    while (self->flights[i].used && !(self->flights[i].link == link && self->flights[i].request_id == request_id))
        i = (i + 1) & self->flight_mask;
    if (!self->flights[i].used)
        return -1;
    long slot = (long) self->flights[i].slot;
    size_t hole = i;
    for (size_t j = (i + 1) & self->flight_mask; self->flights[j].used; j = (j + 1) & self->flight_mask) {
        size_t home = s_flight_home (self, self->flights[j].link, self->flights[j].request_id);
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            self->flights[hole] = self->flights[j];
            hole = j;
        }
    }
    self->flights[hole].used = false;
    return slot;
}

/* ------------------------------------------------------------ the map */

/*  Learns the ring anew from a seed, or from a process we talk to when
    the seeds are silent. start_timeout_ms is the wait for the start to
    answer (0: the whole budget, for the first learning); a silent
    position costs one wait of RING_WALK_TIMEOUT_MS, once per process.  */
static int s_refresh (ring_client_t *self, int64_t now_ms, int start_timeout_ms)
{
    self->last_refresh_ms = now_ms;
    self->refresh_wanted = false;
    /* Start from the seeds, then from the processes we talk to: a silent
       one costs one short wait. */
    size_t starts = self->config.seed_count + self->link_count;
    int error = ETIMEDOUT;
    for (size_t i = 0; i < starts && i < 3; i++) {
        const char *start = i < self->config.seed_count ? self->config.seeds[i]
                                                          : self->links[i - self->config.seed_count].endpoint;
        ring_walk_config_t config = {.start = start, .curve = self->config.curve,
                                     .start_timeout_ms = start_timeout_ms,
                                     .deadline_ms = self->config.learn_deadline_ms};
        ring_walk_t walk;
        if (ring_walk_run (&config, &walk) != 0) {
            error = errno;
            if (error == EACCES)
                break;
            continue;
        }
        /* Silent positions stay in the map: they still own their keys, and
           reads of those fall back to the copies. */
        chord_peer_t *positions = malloc ((walk.count ? walk.count : 1) * sizeof *positions);
        unsigned replicas = 1;
        for (size_t p = 0; positions && p < walk.count; p++) {
            positions[p] = walk.positions[p].self;
            if (walk.positions[p].replicas > replicas)
                replicas = walk.positions[p].replicas;
        }
        bool better = walk.complete || walk.count >= self->map.count;
        int rc = positions && better ? ring_map_set (&self->map, positions, walk.count, replicas) : -1;
        free (positions);
        ring_walk_clear (&walk);
        if (rc == 0) {
            self->stats.refreshes++;
            return 0;
        }
        error = positions ? EAGAIN : ENOMEM;
    }
    self->stats.refresh_failures++;
    errno = error;
    return -1;
}

int ring_client_refresh (ring_client_t *self)
{
    assert (self);
    if (self->config.route != RING_ROUTE_OWNER) {
        errno = EINVAL;
        return -1;
    }
    return s_refresh (self, util_now_ms (), S_REFRESH_START_MS);
}

/* ------------------------------------------------------------ attempts */

/* Sends the request's next attempt. Returns 0, or -1 when it could not go. */
static int s_send_attempt (ring_client_t *self, uint32_t slot, int64_t now_ms)
{
    s_request_t *request = &self->requests[slot];
    chord_msg_t *msg = self->request;
    chord_msg_init (msg, request->type, 0);
    int link;
    unsigned holders = 1;
    if (self->config.route == RING_ROUTE_ENTRY) {
        link = (int) (self->next_entry++ % self->link_count);
    } else {
        chord_peer_t copies[RING_MAP_HOLDERS_MAX];
        holders = (unsigned) ring_map_holders (&self->map, &request->key_id, copies);
        const chord_peer_t *to = &copies[request->holder % holders];
        link = s_link_for (self, to->endpoint);
        msg->has_target = true;
        msg->target = to->id;
    }
    if (link < 0)
        return -1;
    int64_t left_ms = request->deadline_ms - now_ms;
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
    msg->key = request->key;
    msg->key_len = request->key_len;
    msg->timeout_ms = (uint32_t) (left_ms > 1 ? left_ms : 1);
    if (request->type == CHORD_MSG_CLIENT_PUT) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = request->value;
        msg->value_len = request->value_len;
    }
    if (chord_client_send (self->links[link].client, msg) != 0)
        return -1;
    request->in_flight = true;
    request->link = (uint32_t) link;
    request->request_id = msg->request_id;
    request->tries++;
    self->stats.sends++;
    s_flight_add (self, request->link, request->request_id, slot);
    /* A read whose position stays silent moves on to the next copy; a
       write gets half its time left, then goes again. */
    int64_t give_up_ms = request->deadline_ms;
    if (request->type == CHORD_MSG_CLIENT_GET && self->config.route == RING_ROUTE_OWNER &&
        request->holder + 1 < holders)
        give_up_ms = now_ms + self->config.replica_wait_ms;
    else if (request->type != CHORD_MSG_CLIENT_GET && request->tries < RING_CLIENT_TRIES_MAX)
        give_up_ms = now_ms + left_ms / 2;
    request->attempt_deadline_ms = give_up_ms < request->deadline_ms ? give_up_ms : request->deadline_ms;
    if (request->attempt_deadline_ms < self->earliest_ms)
        self->earliest_ms = request->attempt_deadline_ms;
    return 0;
}

/* Schedules the request's next attempt at due_ms. */
static void s_attempt_later (ring_client_t *self, s_request_t *request, int64_t due_ms)
{
    request->in_flight = false;
    request->attempt_deadline_ms = due_ms < request->deadline_ms ? due_ms : request->deadline_ms;
    if (request->attempt_deadline_ms < self->earliest_ms)
        self->earliest_ms = request->attempt_deadline_ms;
}

static void s_release (ring_client_t *self, uint32_t slot)
{
    s_request_t *request = &self->requests[slot];
    free (request->key);
    free (request->value);
    *request = (s_request_t) {0};
    self->free_slots[self->free_count++] = slot;
}

/* Ends the request with status: its result is queued (or set aside for
   the blocking call), its slot freed. reply NULL: none to read (answered
   says whether one came). */
static void s_complete (ring_client_t *self, uint32_t slot, const chord_msg_t *reply, bool answered,
                        chord_status_t status)
{
    s_request_t *request = &self->requests[slot];
    ring_client_result_t result = {.tag = request->tag, .type = request->type, .tries = request->tries,
                                   .answered = answered, .status = status};
    if (reply && (reply->fields & CHORD_F_VALUE) && reply->status == CHORD_STATUS_OK &&
        request->type == CHORD_MSG_CLIENT_GET) {
        result.value = malloc (reply->value_len ? reply->value_len : 1);
        if (result.value) {
            if (reply->value_len)
                memcpy (result.value, reply->value, reply->value_len);
            result.value_len = reply->value_len;
        } else {
            result.status = CHORD_STATUS_STORE_ERROR;
            snprintf (result.text, sizeof result.text, "out of memory for the value");
        }
    }
    if (reply && (reply->fields & CHORD_F_TEXT) && reply->text)
        snprintf (result.text, sizeof result.text, "%s", reply->text);
    if (!answered && status == CHORD_STATUS_TIMEOUT)
        self->stats.timeouts++;
    self->stats.completed++;
    if (request->is_call) {
        self->call_result = result;
        self->call_done = true;
    } else {
        size_t capacity = self->config.inflight_max;
        self->done[(self->done_head + self->done_count) % capacity] = result;
        self->done_count++;
    }
    s_release (self, slot);
}

/* Whether an answer says to try again elsewhere or later. */
static bool s_worth_retrying (chord_status_t status)
{
    return status == CHORD_STATUS_NOT_READY || status == CHORD_STATUS_TIMEOUT ||
           status == CHORD_STATUS_NO_QUORUM || status == CHORD_STATUS_WRONG_OWNER;
}

static bool s_tries_left (const ring_client_t *self, const s_request_t *request)
{
    unsigned max = RING_CLIENT_TRIES_MAX;
    if (request->type == CHORD_MSG_CLIENT_GET && self->config.route == RING_ROUTE_OWNER)
        max = self->map.replicas > max ? self->map.replicas : max;
    return request->tries < max;
}

/* The request goes again: a read to its next copy holder, a write to its
   owner as a fresh map will name it. */
static void s_try_again (ring_client_t *self, s_request_t *request)
{
    if (request->type == CHORD_MSG_CLIENT_GET) {
        request->holder++;
        self->stats.replica_reads++;
    } else {
        self->stats.write_retries++;
    }
    self->refresh_wanted = self->config.route == RING_ROUTE_OWNER;
}

static void s_on_reply (ring_client_t *self, uint32_t link, const chord_msg_t *reply, int64_t now_ms)
{
    long found = s_flight_take (self, link, reply->request_id);
    if (found < 0) {
        self->stats.strays++;
        return;
    }
    uint32_t slot = (uint32_t) found;
    s_request_t *request = &self->requests[slot];
    request->in_flight = false;
    if (reply->type != CHORD_MSG_CLIENT_REPLY || !(reply->fields & CHORD_F_STATUS)) {
        s_complete (self, slot, NULL, true, CHORD_STATUS_BAD_REQUEST);
        return;
    }
    if (reply->fields & CHORD_F_PEER) {
        /* Another position served the key: our map is stale. The peer
           named is not trusted; only a walk of the ring changes the map. */
        self->stats.moved++;
        self->refresh_wanted = self->config.route == RING_ROUTE_OWNER;
    }
    if (s_worth_retrying (reply->status) && s_tries_left (self, request) && now_ms < request->deadline_ms) {
        s_try_again (self, request);
        s_attempt_later (self, request, now_ms + S_RESEND_PAUSE_MS);
        return;
    }
    s_complete (self, slot, reply, true, reply->status);
}

/* An attempt's time is up: send the next (to the next copy, for a read),
   or end the operation unanswered. */
static void s_on_attempt_due (ring_client_t *self, uint32_t slot, int64_t now_ms)
{
    s_request_t *request = &self->requests[slot];
    if (request->in_flight) {
        s_flight_take (self, request->link, request->request_id); /* a late reply is a stray */
        request->in_flight = false;
        if (now_ms < request->deadline_ms && s_tries_left (self, request))
            s_try_again (self, request);
    }
    if (now_ms >= request->deadline_ms || (request->tries > 0 && !s_tries_left (self, request))) {
        s_complete (self, slot, NULL, false, CHORD_STATUS_TIMEOUT);
        return;
    }
    if (s_send_attempt (self, slot, now_ms) != 0)
        s_attempt_later (self, request, now_ms + S_SEND_RETRY_MS);
}

/* Handles every attempt whose time has come; sets earliest_ms anew. */
static void s_sweep (ring_client_t *self, int64_t now_ms)
{
    if (now_ms < self->earliest_ms)
        return;
    self->earliest_ms = INT64_MAX;
    for (uint32_t slot = 0; slot < self->config.inflight_max; slot++) {
        s_request_t *request = &self->requests[slot];
        if (!request->used)
            continue;
        if (request->attempt_deadline_ms <= now_ms)
            s_on_attempt_due (self, slot, now_ms);
        if (request->used && request->attempt_deadline_ms < self->earliest_ms)
            self->earliest_ms = request->attempt_deadline_ms;
    }
}

/* The process behind link refused our keys: every request waiting on it
   ends now, refused (asking again would be refused again). */
static void s_link_refused (ring_client_t *self, uint32_t link)
{
    const char *why = chord_client_refused (self->links[link].client);
    for (uint32_t slot = 0; slot < self->config.inflight_max; slot++) {
        s_request_t *request = &self->requests[slot];
        if (!request->used || !request->in_flight || request->link != link)
            continue;
        s_flight_take (self, link, request->request_id);
        bool is_call = request->is_call;
        s_complete (self, slot, NULL, false, CHORD_STATUS_FORBIDDEN);
        ring_client_result_t *result = is_call ? &self->call_result
                                               : &self->done[(self->done_head + self->done_count - 1) %
                                                             self->config.inflight_max];
        result->refused = true;
        snprintf (result->text, sizeof result->text, "%s", why ? why : "refused");
    }
}

/* Receives every reply waiting on every link, without blocking. */
static void s_drain (ring_client_t *self)
{
    for (size_t i = 0; i < self->link_count; i++) {
        while (chord_client_recv (self->links[i].client, self->reply, 0) == 0) {
            s_on_reply (self, (uint32_t) i, self->reply, util_now_ms ());
            chord_msg_clear (self->reply);
        }
        if (errno == EACCES)
            s_link_refused (self, (uint32_t) i);
    }
}

/* Why the processes refused our keys, when every link was refused; else NULL. */
static const char *s_all_refused (const ring_client_t *self)
{
    const char *why = NULL;
    for (size_t i = 0; i < self->link_count; i++)
        if (!(why = chord_client_refused (self->links[i].client)))
            return NULL;
    return why;
}

/* ------------------------------------------------------------ the API */

static int s_config_check (ring_client_config_t *config, char *why, size_t why_size)
{
    if (!config->seeds || config->seed_count == 0 || config->seed_count > RING_CLIENT_SEEDS_MAX ||
        (config->route != RING_ROUTE_OWNER && config->route != RING_ROUTE_ENTRY) || config->timeout_ms < 0 ||
        config->replica_wait_ms < 0 || config->refresh_interval_ms < 0 || config->learn_deadline_ms < 0 ||
        config->inflight_max > RING_CLIENT_INFLIGHT_MAX) {
        s_why (why, why_size, "bad client configuration");
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < config->seed_count; i++)
        if (!config->seeds[i]) {
            s_why (why, why_size, "a seed endpoint is missing");
            errno = EINVAL;
            return -1;
        }
    if (config->timeout_ms == 0)
        config->timeout_ms = RING_CLIENT_TIMEOUT_MS;
    if (config->replica_wait_ms == 0)
        config->replica_wait_ms = RING_CLIENT_REPLICA_WAIT_MS;
    if (config->refresh_interval_ms == 0)
        config->refresh_interval_ms = RING_CLIENT_REFRESH_MS;
    if (config->inflight_max == 0)
        config->inflight_max = S_INFLIGHT_DEFAULT;
    if (config->learn_deadline_ms == 0)
        config->learn_deadline_ms = RING_CLIENT_WALK_DEADLINE_MS;
    return 0;
}

/* Allocates the tables; returns 0 or -1. */
static int s_allocate (ring_client_t *self)
{
    size_t slots = self->config.inflight_max;
    size_t table = 16;
    while (table < slots * 4)
        table *= 2;
    self->requests = calloc (slots, sizeof *self->requests);
    self->free_slots = malloc (slots * sizeof *self->free_slots);
    self->flights = calloc (table, sizeof *self->flights);
    self->done = calloc (slots, sizeof *self->done);
    self->request = malloc (sizeof *self->request);
    self->reply = malloc (sizeof *self->reply);
    if (!self->requests || !self->free_slots || !self->flights || !self->done || !self->request || !self->reply)
        return -1;
    self->flight_mask = table - 1;
    for (size_t i = 0; i < slots; i++)
        self->free_slots[i] = (uint32_t) (slots - 1 - i);
    self->free_count = slots;
    self->earliest_ms = INT64_MAX;
    return 0;
}

ring_client_t *ring_client_new (const ring_client_config_t *config, char *why, size_t why_size)
{
    assert (config);
    ring_client_config_t checked = *config;
    if (s_config_check (&checked, why, why_size) != 0)
        return NULL;
    ring_client_t *self = calloc (1, sizeof *self);
    if (!self || (self->config = checked, s_allocate (self)) != 0) {
        ring_client_destroy (&self);
        s_why (why, why_size, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    if (checked.route == RING_ROUTE_ENTRY) {
        for (size_t i = 0; i < checked.seed_count; i++)
            if (s_link_for (self, checked.seeds[i]) < 0) {
                s_why (why, why_size, "cannot connect to a seed (a malformed endpoint?)");
                ring_client_destroy (&self);
                errno = EINVAL;
                return NULL;
            }
        return self;
    }
    if (s_refresh (self, util_now_ms (), 0) != 0) {
        int error = errno;
        s_why (why, why_size,
               error == EACCES   ? "the ring refused our keys"
               : error == EINVAL ? "cannot learn the ring: no seed can be reached, or one answered nonsense"
                                 : "cannot learn the ring: no seed answered");
        ring_client_destroy (&self);
        errno = error;
        return NULL;
    }
    return self;
}

void ring_client_destroy (ring_client_t **self_p)
{
    assert (self_p);
    ring_client_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->link_count; i++)
        chord_client_destroy (&self->links[i].client);
    for (size_t slot = 0; self->requests && slot < self->config.inflight_max; slot++) {
        free (self->requests[slot].key);
        free (self->requests[slot].value);
    }
    for (size_t i = 0; self->done && i < self->done_count; i++)
        free (self->done[(self->done_head + i) % self->config.inflight_max].value);
    free (self->call_done ? self->call_result.value : NULL);
    ring_map_clear (&self->map);
    free (self->requests);
    free (self->free_slots);
    free (self->flights);
    free (self->done);
    free (self->request);
    free (self->reply);
    free (self);
    *self_p = NULL;
}

/* Takes a slot for a new operation and sends its first attempt. Returns
   the slot, or -1 with errno. */
static long s_start (ring_client_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                     const uint8_t *value, size_t value_len, uint64_t tag)
{
    bool known = type == CHORD_MSG_CLIENT_PUT || type == CHORD_MSG_CLIENT_GET || type == CHORD_MSG_CLIENT_DEL;
    if (!known || !key || key_len == 0 || key_len > CHORD_KEY_MAX || value_len > CHORD_VALUE_MAX ||
        (type == CHORD_MSG_CLIENT_PUT && !value && value_len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (self->free_count == 0 || self->done_count + (self->config.inflight_max - self->free_count) >=
                                     self->config.inflight_max) {
        errno = EBUSY;
        return -1;
    }
    uint32_t slot = self->free_slots[--self->free_count];
    s_request_t *request = &self->requests[slot];
    *request = (s_request_t) {.used = true, .tag = tag, .type = type, .key_len = key_len};
    request->key = malloc (key_len);
    if (type == CHORD_MSG_CLIENT_PUT) {
        request->value = malloc (value_len ? value_len : 1);
        request->value_len = value_len;
    }
    if (!request->key || (type == CHORD_MSG_CLIENT_PUT && !request->value)) {
        s_release (self, slot);
        errno = ENOMEM;
        return -1;
    }
    memcpy (request->key, key, key_len);
    if (value_len && request->value)
        memcpy (request->value, value, value_len);
    chord_id_hash (&request->key_id, key, key_len);
    int64_t now_ms = util_now_ms ();
    request->deadline_ms = now_ms + self->config.timeout_ms;
    if (s_send_attempt (self, slot, now_ms) != 0) {
        s_release (self, slot);
        errno = EAGAIN;
        return -1;
    }
    self->stats.submitted++;
    return (long) slot;
}

int ring_client_submit (ring_client_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                        const uint8_t *value, size_t value_len, uint64_t tag)
{
    assert (self);
    return s_start (self, type, key, key_len, value, value_len, tag) < 0 ? -1 : 0;
}

/* Hands out up to max queued results. */
static size_t s_take_done (ring_client_t *self, ring_client_result_t *results, size_t max)
{
    size_t taken = 0;
    while (taken < max && self->done_count > 0) {
        results[taken++] = self->done[self->done_head];
        self->done_head = (self->done_head + 1) % self->config.inflight_max;
        self->done_count--;
    }
    return taken;
}

/* One round: receive, handle deadlines, re-learn if asked. Waits up to
   wait_ms for the first reply. Returns 0, or -1 (EINTR). */
static int s_turn (ring_client_t *self, int64_t wait_ms)
{
    int64_t now_ms = util_now_ms ();
    if (self->earliest_ms != INT64_MAX && self->earliest_ms - now_ms < wait_ms)
        wait_ms = self->earliest_ms - now_ms;
    if (wait_ms < 0)
        wait_ms = 0;
    if (zmq_poll (self->items, (int) (2 * self->link_count), (long) wait_ms) < 0 && errno == EINTR)
        return -1;
    s_drain (self);
    now_ms = util_now_ms ();
    if (self->refresh_wanted && now_ms - self->last_refresh_ms >= self->config.refresh_interval_ms)
        s_refresh (self, now_ms, S_REFRESH_START_MS);
    s_sweep (self, util_now_ms ());
    return 0;
}

int ring_client_poll (ring_client_t *self, ring_client_result_t *results, size_t max, int timeout_ms)
{
    assert (self);
    assert (results || max == 0);
    int64_t end_ms = util_now_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    while (true) {
        int64_t left_ms = end_ms - util_now_ms ();
        if (s_turn (self, self->done_count > 0 || left_ms < 0 ? 0 : left_ms) != 0)
            return -1;
        if (self->done_count > 0 || util_now_ms () >= end_ms)
            return (int) s_take_done (self, results, max);
    }
}

int ring_client_call (ring_client_t *self, chord_msg_type_t type, const uint8_t *key, size_t key_len,
                      const uint8_t *value, size_t value_len, ring_client_result_t *result)
{
    assert (self);
    assert (result);
    /* The operation ends by its deadline; re-learnings add at most a few walks. */
    int64_t bound_ms = util_now_ms () + self->config.timeout_ms + 3 * self->config.learn_deadline_ms;
    long slot = s_start (self, type, key, key_len, value, value_len, 0);
    /* A connection whose handshake is not done, or was refused, takes no
       message: wait for it, learning a refusal from its monitor. */
    while (slot < 0 && errno == EAGAIN && util_now_ms () < bound_ms) {
        const char *why = s_all_refused (self);
        if (why) {
            *result = (ring_client_result_t) {.type = type, .refused = true, .status = CHORD_STATUS_FORBIDDEN};
            snprintf (result->text, sizeof result->text, "%s", why);
            return 0;
        }
        if (s_turn (self, S_SEND_RETRY_MS) != 0)
            return -1;
        slot = s_start (self, type, key, key_len, value, value_len, 0);
    }
    if (slot < 0)
        return -1;
    self->requests[slot].is_call = true;
    self->call_done = false;
    while (!self->call_done && util_now_ms () < bound_ms)
        if (s_turn (self, bound_ms - util_now_ms ()) != 0)
            return -1;
    if (!self->call_done) {
        errno = ETIMEDOUT;
        return -1;
    }
    *result = self->call_result;
    self->call_done = false;
    return 0;
}

int ring_client_set_timeout (ring_client_t *self, int timeout_ms)
{
    assert (self);
    if (timeout_ms < 1) {
        errno = EINVAL;
        return -1;
    }
    self->config.timeout_ms = timeout_ms;
    return 0;
}

ring_client_stats_t ring_client_stats (const ring_client_t *self)
{
    assert (self);
    ring_client_stats_t stats = self->stats;
    stats.positions = self->map.count;
    stats.links = self->link_count;
    stats.replicas = self->map.replicas;
    return stats;
}

size_t ring_client_inflight (const ring_client_t *self)
{
    assert (self);
    return self->config.inflight_max - self->free_count;
}

const char *ring_client_route_name (ring_route_t route)
{
    return route == RING_ROUTE_ENTRY ? "entry" : "owner";
}
