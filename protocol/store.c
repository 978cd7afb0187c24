/*  chord store: the interface's convenience wrappers.

    Each one forwards to the backend's function table, so callers write
    chord_store_get (store, ...) whatever the backend is. Batches are
    optional: begin and commit do nothing for a backend without them.  */
#include "store.h"

#include <assert.h>

int
chord_store_get (chord_store_t *self, const uint8_t *key, size_t key_len,
                 const uint8_t **value, size_t *value_len)
{
    assert (self);
    return self->ops->get (self, key, key_len, value, value_len);
}

int
chord_store_put (chord_store_t *self, const uint8_t *key, size_t key_len,
                 const uint8_t *value, size_t value_len)
{
    assert (self);
    return self->ops->put (self, key, key_len, value, value_len);
}

int
chord_store_del (chord_store_t *self, const uint8_t *key, size_t key_len)
{
    assert (self);
    return self->ops->del (self, key, key_len);
}

int
chord_store_range (chord_store_t *self, const chord_id_t *from, const chord_id_t *to,
                   chord_store_visit_fn *visit, void *arg)
{
    assert (self);
    return self->ops->range (self, from, to, visit, arg);
}

size_t
chord_store_count (chord_store_t *self)
{
    assert (self);
    return self->ops->count (self);
}

void
chord_store_destroy (chord_store_t **self_p)
{
    assert (self_p);
    if (*self_p)
        (*self_p)->ops->destroy (self_p);
}

int
chord_store_begin (chord_store_t *self)
{
    assert (self);
    return self->ops->begin ? self->ops->begin (self) : 0;
}

int
chord_store_commit (chord_store_t *self)
{
    assert (self);
    return self->ops->commit ? self->ops->commit (self) : 0;
}
