/*  chord store: the interface every key-value backend implements.

    The protocol core talks to its data only through this interface, so the
    same node runs over the in-memory backend (tests, simulator) or a durable
    one (daemon). Keys and values are binary-safe byte strings.

    Batches (optional). A backend that pays per durable write (an fsync)
    may group writes: between chord_store_begin and chord_store_commit,
    each put and del still returns its own result (a failed one changes
    nothing, and the batch's other writes stand), and get, range and count
    see the batch's writes, but none of them is durable until commit
    returns 0. When commit returns -1 the batch is not durable: none of its
    writes may be acknowledged, and the store may have dropped them all.
    So the caller sends nothing that depends on a batch's writes (a reply,
    an ack, a copy to a replica) until its commit returned 0. Batches do
    not nest; destroy drops an uncommitted batch. The protocol core never
    calls begin or commit: only the driver does, around the messages it
    feeds in. A backend whose writes are durable (or as durable as they
    will be) when they return leaves begin and commit NULL, and the
    wrappers then return 0 and do nothing.  */
#ifndef CHORD_STORE_H
#define CHORD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "id.h"

/* Called once per visited entry; return 0 to go on, non-zero to stop. */
typedef int (chord_store_visit_fn) (void *arg, const chord_id_t *key_id,
                                    const uint8_t *key, size_t key_len,
                                    const uint8_t *value, size_t value_len);

typedef struct chord_store chord_store_t;

typedef struct {
    /* Returns 0 and points *value at the stored bytes (valid until the next
       change to the store), 1 when the key is absent, -1 on error. */
    int (*get) (chord_store_t *self, const uint8_t *key, size_t key_len,
                const uint8_t **value, size_t *value_len);
    /* Stores a copy of key and value, replacing any old value. 0 or -1. */
    int (*put) (chord_store_t *self, const uint8_t *key, size_t key_len,
                const uint8_t *value, size_t value_len);
    /* Returns 0 when removed, 1 when absent, -1 on error. */
    int (*del) (chord_store_t *self, const uint8_t *key, size_t key_len);
    /* Visits every entry whose key id lies in the ring interval (from, to]
       (the whole ring when from == to), in no particular order. The visitor
       must not change the store. Returns 0, or the visitor's non-zero value. */
    int (*range) (chord_store_t *self, const chord_id_t *from, const chord_id_t *to,
                  chord_store_visit_fn *visit, void *arg);
    /* Number of entries. */
    size_t (*count) (chord_store_t *self);
    /* Frees the store and sets *self_p to NULL; idempotent. */
    void (*destroy) (chord_store_t **self_p);
    /* Optional: opens a batch. 0, or -1 when none could be opened (the
       store then goes on as outside a batch; do not commit). */
    int (*begin) (chord_store_t *self);
    /* Optional: makes the open batch durable and closes it. 0, or -1 when
       its writes are not durable (see above); the batch is closed either
       way. Also ends the validity of get's pointers. */
    int (*commit) (chord_store_t *self);
} chord_store_ops_t;

struct chord_store {
    const chord_store_ops_t *ops;    /* the backend's functions */
};

/* Convenience wrappers over self->ops. */
int chord_store_get (chord_store_t *self, const uint8_t *key, size_t key_len,
                     const uint8_t **value, size_t *value_len);
int chord_store_put (chord_store_t *self, const uint8_t *key, size_t key_len,
                     const uint8_t *value, size_t value_len);
int chord_store_del (chord_store_t *self, const uint8_t *key, size_t key_len);
int chord_store_range (chord_store_t *self, const chord_id_t *from, const chord_id_t *to,
                       chord_store_visit_fn *visit, void *arg);
size_t chord_store_count (chord_store_t *self);
void chord_store_destroy (chord_store_t **self_p);
/* Open and commit a batch (see above); 0 and nothing done when the backend
   has no batches. */
int chord_store_begin (chord_store_t *self);
int chord_store_commit (chord_store_t *self);

/* A new, empty in-memory store (hash table). NULL when out of memory.
   The caller owns it and frees it with chord_store_destroy. */
chord_store_t *chord_store_mem_new (void);

#endif
