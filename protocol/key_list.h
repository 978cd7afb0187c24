/*  chord key list: copies of keys collected while visiting a store, whose
    visitors must not change it, to act on (delete, say) once the visit is
    over. Each key carries a mark for the collector's own use.  */
#ifndef CHORD_KEY_LIST_H
#define CHORD_KEY_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t **keys;     /* owned copies */
    size_t *lens;
    bool *marks;
    size_t count;
    size_t alloc;
} chord_key_list_t;

/* Appends a copy of key with mark. 0, or -1 when out of memory. */
int chord_key_list_add (chord_key_list_t *list, const uint8_t *key, size_t key_len, bool mark);

/* Frees the copies and empties the list. */
void chord_key_list_clear (chord_key_list_t *list);

#endif
