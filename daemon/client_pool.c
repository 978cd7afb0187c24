/*  chordd client pool: idle connections to one peer, under a mutex.  */
#include "client_pool.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "message.h"

struct chordd_client_pool {
    pthread_mutex_t lock;                           /* guards idle and count */
    chord_client_t *idle[CHORDD_CLIENT_POOL_MAX];   /* connected, unused clients */
    size_t count;                                   /* idle[0..count-1] */
    size_t keep;                                    /* room kept, <= CHORDD_CLIENT_POOL_MAX */
    char endpoint[CHORD_ENDPOINT_MAX + 1];          /* the peer */
    bool secured;                                   /* connect with curve */
    chord_client_curve_t curve;
};

chordd_client_pool_t *chordd_client_pool_new (const char *endpoint, const chord_client_curve_t *curve, size_t keep)
{
    chordd_client_pool_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->keep = keep < CHORDD_CLIENT_POOL_MAX ? keep : CHORDD_CLIENT_POOL_MAX;
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    if (curve) {
        self->secured = true;
        self->curve = *curve;
    }
    return self;
}

void chordd_client_pool_destroy (chordd_client_pool_t **self_p)
{
    chordd_client_pool_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        chord_client_destroy (&self->idle[i]);
    sodium_memzero (&self->curve, sizeof self->curve);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

chord_client_t *chordd_client_pool_take (chordd_client_pool_t *self)
{
    chord_client_t *client = NULL;
    pthread_mutex_lock (&self->lock);
    if (self->count > 0)
        client = self->idle[--self->count];
    pthread_mutex_unlock (&self->lock);
    return client ? client : chord_client_new_curve (self->endpoint, self->secured ? &self->curve : NULL);
}

void chordd_client_pool_give (chordd_client_pool_t *self, chord_client_t *client, bool healthy)
{
    if (healthy) {
        pthread_mutex_lock (&self->lock);
        if (self->count < self->keep) {
            self->idle[self->count++] = client;
            client = NULL;
        }
        pthread_mutex_unlock (&self->lock);
    }
    chord_client_destroy (&client);
}
