/*  simheap: a binary min-heap of events keyed by (time, seq).  */
#include "simheap.h"

#include <assert.h>
#include <stdlib.h>

struct simheap {
    simheap_entry_t *entries; /* entries[0] is the earliest */
    size_t count;             /* entries in use */
    size_t alloc;             /* entries allocated */
    uint64_t next_seq;        /* seq of the next push */
};

simheap_t *simheap_new (void)
{
    simheap_t *self = calloc (1, sizeof *self);
    if (self)
        self->next_seq = 1;
    return self;
}

void simheap_destroy (simheap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

static bool s_before (const simheap_entry_t *a, const simheap_entry_t *b)
{
    return a->time_ms < b->time_ms || (a->time_ms == b->time_ms && a->seq < b->seq);
}

uint64_t simheap_push (simheap_t *self, uint64_t time_ms, uint64_t tag, void *ptr)
{
    assert (self);
    if (self->count == self->alloc) {
        size_t alloc = self->alloc ? self->alloc * 2 : 1024;
        simheap_entry_t *grown = realloc (self->entries, alloc * sizeof *grown);
        if (!grown)
            return 0;
        self->entries = grown;
        self->alloc = alloc;
    }
    simheap_entry_t entry = {.time_ms = time_ms, .seq = self->next_seq++, .tag = tag, .ptr = ptr};
    size_t i = self->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!s_before (&entry, &self->entries[parent]))
            break;
        self->entries[i] = self->entries[parent];
        i = parent;
    }
    self->entries[i] = entry;
    return entry.seq;
}

bool simheap_pop (simheap_t *self, simheap_entry_t *out)
{
    assert (self && out);
    if (self->count == 0)
        return false;
    *out = self->entries[0];
    simheap_entry_t last = self->entries[--self->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && s_before (&self->entries[child + 1], &self->entries[child]))
            child++;
        if (!s_before (&self->entries[child], &last))
            break;
        self->entries[i] = self->entries[child];
        i = child;
    }
    if (self->count > 0)
        self->entries[i] = last;
    return true;
}

const simheap_entry_t *simheap_peek (const simheap_t *self)
{
    return self->count ? &self->entries[0] : NULL;
}

size_t simheap_size (const simheap_t *self)
{
    return self->count;
}

const simheap_entry_t *simheap_at (const simheap_t *self, size_t i)
{
    assert (i < self->count);
    return &self->entries[i];
}
