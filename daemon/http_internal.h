/*  chordd's HTTP side, between its files: the server's state, the replies
    every handler uses, and the handlers http.c routes to.

    Threads: libmicrohttpd runs each connection in a thread of its own
    (bounded by CHORDD_HTTP_CONNECTIONS), so a handler may wait, for a
    reply from the ring say, without holding up other requests; none ever
    touches the protocol nodes, which only the main loop does.  */
#ifndef CHORDD_HTTP_INTERNAL_H
#define CHORDD_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "client_pool.h"
#include "http.h"
#include "http_auth.h"

#if MHD_VERSION < 0x00097002
typedef int chordd_http_result_t;
#else
typedef enum MHD_Result chordd_http_result_t;
#endif

#define CHORDD_HTTP_JSON "application/json"

struct chordd_http {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;                   /* guards snapshot */
    chordd_http_snapshot_t snapshot;
    struct timespec published;              /* CLOCK_MONOTONIC of the last publish; guarded by lock */
    char endpoint[CHORD_ENDPOINT_MAX + 1];
    struct timespec started;                /* CLOCK_MONOTONIC at start, for uptime */
    double start_time_s;                    /* process start, seconds since the epoch */
    bool secured;                           /* connect to peers with curve */
    chord_client_curve_t curve;
    chordd_http_auth_t *auth;               /* bearer tokens and the roles they hold (http_auth.h) */
    struct chordd_http_ring *ring;          /* the last ring walk, shared by /v1/ring requests (http_ring.c) */
    chordd_client_pool_t *pool;             /* idle clients of this peer, for the key handlers */
};

/*  One request as MHD hands it to the access handler, called once per
    chunk of body (see MHD_AccessHandlerCallback): a handler that reads a
    body keeps its progress in *state, and answers once upload_size is 0
    after the first call.  */
typedef struct {
    chordd_http_t *server;
    struct MHD_Connection *connection;
    const char *url;
    const char *method;
    const char *upload;
    size_t *upload_size;
    void **state;
} chordd_http_request_t;

typedef chordd_http_result_t (chordd_http_handler_fn) (const chordd_http_request_t *request);

/*  What a handler keeps in *state between the calls of one request: a
    struct that starts with this, whose destroy http.c calls when the
    request ends, answered or not.  */
typedef struct chordd_http_state {
    void (*destroy) (struct chordd_http_state *self);   /* frees the whole struct */
} chordd_http_state_t;

/* Queues a response of status with body (copied) and content type. */
chordd_http_result_t chordd_http_reply (struct MHD_Connection *connection, unsigned status, const char *type,
                                        const char *body, size_t size);

/* Queues a 405 {"error": "method not allowed"} saying Allow: allow. */
chordd_http_result_t chordd_http_reply_not_allowed (struct MHD_Connection *connection, const char *allow);

/* Queues json (which it takes) as the body of a response of status. */
chordd_http_result_t chordd_http_reply_json (struct MHD_Connection *connection, unsigned status, json_t *json);

/* Queues {"error": error} with status (405s say Allow: GET). */
chordd_http_result_t chordd_http_reply_error (struct MHD_Connection *connection, unsigned status,
                                              const char *error);

/* A copy of the last snapshot published (the caller frees it), or NULL. */
chordd_http_snapshot_t *chordd_http_snapshot (chordd_http_t *self);

/* Whether the peer is ready to serve (readiness.h), from the last
   snapshot and its age; else false with why in reason. */
bool chordd_http_ready (chordd_http_t *self, char *reason, size_t reason_size);

/* Seconds since the server started. */
double chordd_http_uptime (const chordd_http_t *self);

/* Seconds since the epoch at which this process started. */
double chordd_http_process_start_time (void);

/* A new client connection to endpoint, secured as the server was told;
   NULL when it cannot be made. The caller destroys it. */
chord_client_t *chordd_http_connect (const chordd_http_t *self, const char *endpoint);

/* GET /metrics (http_metrics.c). */
chordd_http_handler_fn chordd_http_metrics;

/* GET /v1/ring (http_ring.c), and the walk its requests share: new
   returns NULL when memory runs out; destroy sets *self_p to NULL. */
typedef struct chordd_http_ring chordd_http_ring_t;
chordd_http_ring_t *chordd_http_ring_new (void);
void chordd_http_ring_destroy (chordd_http_ring_t **self_p);
chordd_http_handler_fn chordd_http_ring_get;

/* GET, PUT, DELETE /v1/kv/{key} and GET /v1/lookup/{key} (http_kv.c). */
chordd_http_handler_fn chordd_http_kv;
chordd_http_handler_fn chordd_http_lookup;


/* GET / and GET /dashboard/NAME: the dashboard's files (http_dashboard.c). */
chordd_http_handler_fn chordd_http_dashboard;

#endif
