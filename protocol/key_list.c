/*  chord key list: see key_list.h.  */
#include "key_list.h"

#include <stdlib.h>
#include <string.h>

int chord_key_list_add (chord_key_list_t *list, const uint8_t *key, size_t key_len, bool mark)
{
    if (list->count == list->alloc) {
        size_t alloc = list->alloc ? list->alloc * 2 : 64;
        uint8_t **keys = realloc (list->keys, alloc * sizeof *keys);
        if (keys)
            list->keys = keys;
        size_t *lens = realloc (list->lens, alloc * sizeof *lens);
        if (lens)
            list->lens = lens;
        bool *marks = realloc (list->marks, alloc * sizeof *marks);
        if (marks)
            list->marks = marks;
        if (!keys || !lens || !marks)
            return -1;
        list->alloc = alloc;
    }
    uint8_t *copy = malloc (key_len ? key_len : 1);
    if (!copy)
        return -1;
    memcpy (copy, key, key_len);
    list->keys[list->count] = copy;
    list->lens[list->count] = key_len;
    list->marks[list->count++] = mark;
    return 0;
}

void chord_key_list_clear (chord_key_list_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free (list->keys[i]);
    free (list->keys);
    free (list->lens);
    free (list->marks);
    memset (list, 0, sizeof *list);
}
