/*  simheap: the simulator's event queue, a binary min-heap.

    Entries are ordered by (time_ms, seq). The heap hands out seq itself,
    from a counter that only grows, so two events due at the same
    millisecond come out in the order they were pushed: ties are
    deterministic, never decided by memory layout.  */
#ifndef CHORD_SIMHEAP_H
#define CHORD_SIMHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t time_ms; /* when the event is due */
    uint64_t seq;     /* push order; breaks ties */
    uint64_t tag;     /* the caller's: kind, node, ... */
    void *ptr;        /* the caller's payload; the heap never frees it */
} simheap_entry_t;

typedef struct simheap simheap_t;

/* A new empty heap, or NULL when out of memory. The caller owns it. */
simheap_t *simheap_new (void);

/* Frees the heap (not the payloads); sets *self_p to NULL; idempotent. */
void simheap_destroy (simheap_t **self_p);

/* Adds an entry. Returns its seq (>= 1), or 0 when out of memory. */
uint64_t simheap_push (simheap_t *self, uint64_t time_ms, uint64_t tag, void *ptr);

/* Moves the earliest entry into *out and returns true, or returns false
   when the heap is empty. */
bool simheap_pop (simheap_t *self, simheap_entry_t *out);

/* The earliest entry without removing it, or NULL when empty. Valid until
   the next push or pop. */
const simheap_entry_t *simheap_peek (const simheap_t *self);

/* Entries held. */
size_t simheap_size (const simheap_t *self);

/* The i-th entry in storage order (not time order), for walking every
   entry, e.g. to free payloads; i < simheap_size. */
const simheap_entry_t *simheap_at (const simheap_t *self, size_t i);

#endif
