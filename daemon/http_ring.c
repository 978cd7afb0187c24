/*  GET /v1/ring: the ring walked from this peer (tools/ring_walk.h) and
    viewed by position and process (tools/ring_view.h): who holds what
    share of the id space, who keeps copies of it, who is down.

    A walk asks every position once, so requests share it: the last
    document is kept for CHORDD_HTTP_RING_FRESH_MS, and while one request
    walks the others wait for its result (at most a walk's budget and a
    second), so a dashboard polled from many tabs costs one walk each
    period, whatever the number of tabs.  */
#include "http_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_view.h"
#include "ring_walk.h"
#include "util.h"

#define CHORDD_HTTP_RING_FRESH_MS 500       /* a walk this recent is served again */
#define CHORDD_HTTP_RING_BUDGET_MS 4000     /* the longest one walk may take */
#define S_WAIT_MS (CHORDD_HTTP_RING_BUDGET_MS + 1000)  /* longest a request waits for another's walk */

struct chordd_http_ring {
    pthread_mutex_t lock;           /* guards the fields below */
    pthread_cond_t walked;          /* broadcast when a walk ends */
    bool walking;                   /* a request is walking now */
    uint64_t walks;                 /* walks ended so far */
    char *body;                     /* the last document, or NULL before the first walk */
    size_t size;                    /* its bytes */
    unsigned status;                /* its HTTP status */
    int64_t walked_at_ms;           /* monotonic time the last walk ended */
};

chordd_http_ring_t *chordd_http_ring_new (void)
{
    chordd_http_ring_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->walked, &attr);
    pthread_condattr_destroy (&attr);
    return self;
}

void chordd_http_ring_destroy (chordd_http_ring_t **self_p)
{
    chordd_http_ring_t *self = *self_p;
    if (!self)
        return;
    pthread_cond_destroy (&self->walked);
    pthread_mutex_destroy (&self->lock);
    free (self->body);
    free (self);
    *self_p = NULL;
}

/* The document of walk number `number` from this peer, dumped, and its
   status. The number lets a client tell a new walk from a shared one. */
static char *s_walk (const chordd_http_t *server, uint64_t number, unsigned *status)
{
    ring_walk_config_t config = {
        .start = server->endpoint,
        .curve = server->secured ? &server->curve : NULL,
        .request_timeout_ms = RING_WALK_TIMEOUT_MS,
        .deadline_ms = CHORDD_HTTP_RING_BUDGET_MS,
    };
    ring_walk_t walk;
    json_t *json = NULL;
    *status = MHD_HTTP_OK;
    if (ring_walk_run (&config, &walk) != 0) {
        *status = errno == ENOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE;
        json = json_pack ("{s:s}", "error", walk.why);
    }
    else {
        ring_view_t view;
        if (ring_view_build (&walk, &view) == 0) {
            json = ring_view_json (&view);
            ring_view_clear (&view);
        }
        ring_walk_clear (&walk);
    }
    if (json)
        json_object_set_new (json, "walk", json_integer ((json_int_t) number));
    char *body = json ? json_dumps (json, JSON_COMPACT) : NULL;
    json_decref (json);
    return body;
}

/*  Waits for a fresh document (walking when nobody else is) and returns
    a copy of it (the caller frees), or NULL when none came in time.
    Called with self->lock held; returns with it held.  */
static char *s_fresh (chordd_http_ring_t *self, const chordd_http_t *server, size_t *size, unsigned *status)
{
    int64_t give_up_ms = util_now_ms () + S_WAIT_MS;
    while (true) {
        if (self->body && util_now_ms () - self->walked_at_ms < CHORDD_HTTP_RING_FRESH_MS) {
            char *copy = malloc (self->size);
            if (copy)
                memcpy (copy, self->body, self->size);
            *size = self->size;
            *status = self->status;
            return copy;
        }
        if (!self->walking) {
            self->walking = true;
            unsigned walked_status;
            uint64_t number = self->walks + 1;
            pthread_mutex_unlock (&self->lock);
            char *body = s_walk (server, number, &walked_status);
            pthread_mutex_lock (&self->lock);
            self->walking = false;
            self->walks++;
            if (body) {
                free (self->body);
                self->body = body;
                self->size = strlen (body);
                self->status = walked_status;
                self->walked_at_ms = util_now_ms ();
            }
            pthread_cond_broadcast (&self->walked);
            if (!body)
                return NULL;
            continue;
        }
        uint64_t walks = self->walks;
        int64_t left_ms = give_up_ms - util_now_ms ();
        if (left_ms <= 0)
            return NULL;
        struct timespec until;
        clock_gettime (CLOCK_MONOTONIC, &until);
        until.tv_sec += left_ms / 1000;
        until.tv_nsec += (left_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (self->walks == walks && self->walking)
            if (pthread_cond_timedwait (&self->walked, &self->lock, &until) == ETIMEDOUT)
                break;
    }
}

chordd_http_result_t chordd_http_ring_get (const chordd_http_request_t *request)
{
    chordd_http_ring_t *self = request->server->ring;
    struct MHD_Connection *connection = request->connection;
    if (!self)
        return chordd_http_reply_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    size_t size = 0;
    unsigned status = 0;
    pthread_mutex_lock (&self->lock);
    char *body = s_fresh (self, request->server, &size, &status);
    pthread_mutex_unlock (&self->lock);
    if (!body)
        return chordd_http_reply_error (connection, MHD_HTTP_SERVICE_UNAVAILABLE, "no ring walk finished in time");
    chordd_http_result_t rc = chordd_http_reply (connection, status, CHORDD_HTTP_JSON, body, size);
    free (body);
    return rc;
}
