/*  chordd's Redis door, one connection's replies in command order
    (resp_queue.h): a ring buffer of waiting commands, oldest first.  */
#include "resp_queue.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ENTRIES_MIN 16                /* entries allocated at first */
#define S_KEY_SLOTS   1024              /* slots of the keys in flight, by hash */

typedef enum {
    S_PART_WAITING = 0,                 /* no answer yet */
    S_PART_FOUND = 1,                   /* OK: a value, a write made, a key deleted */
    S_PART_ABSENT = 2,                  /* NOT_FOUND */
    S_PART_FAILED = 3,                  /* an error: the entry's error says which */
} s_part_state_t;

typedef struct {
    uint32_t key_slot;                  /* its key's slot in reading[] or writing[] */
    bool tracked;                       /* counted there until answered */
    uint8_t *value;                     /* GET and MGET: the value found (malloc'd) */
    size_t value_len;                   /* bytes at value */
    s_part_state_t state;               /* what the ring answered */
} s_part_t;

typedef struct {
    chordd_resp_op_t op;                /* what to render */
    uint64_t first_id;                  /* request id of part 0; part i has first_id + i */
    size_t parts;                       /* keys asked */
    size_t answered;                    /* parts answered */
    uint64_t asked_ms;                  /* when the command was queued */
    s_part_t one;                       /* the part when there is one */
    s_part_t *many;                     /* the parts when there are several (malloc'd) */
    char *error;                        /* the first error line, malloc'd; NULL: none */
    chordd_resp_out_t trailer;          /* replies written after this command, before the next */
} s_entry_t;

struct chordd_resp_queue {
    s_entry_t *entries;                 /* ring buffer of cap entries */
    size_t cap;                         /* a power of two */
    size_t head;                        /* index of the oldest */
    size_t count;                       /* entries queued */
    uint64_t next_id;                   /* request id of the next part asked */
    size_t held;                        /* bytes of values and of every trailer but the last */
    uint32_t reading[S_KEY_SLOTS];      /* reads sent, not answered, by key slot */
    uint32_t writing[S_KEY_SLOTS];      /* writes sent, not answered, by key slot */
};

static bool s_op_writes (chordd_resp_op_t op)
{
    return op == CHORDD_RESP_OP_SET || op == CHORDD_RESP_OP_MSET || op == CHORDD_RESP_OP_DEL;
}

/* FNV-1a of the key, folded to a slot. */
static uint32_t s_key_slot (const uint8_t *key, size_t key_len)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < key_len; i++)
        hash = (hash ^ key[i]) * 0x100000001b3ull;
    return (uint32_t) ((hash ^ (hash >> 32)) % S_KEY_SLOTS);
}

chordd_resp_queue_t *chordd_resp_queue_new (void)
{
    chordd_resp_queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->next_id = 1;
    return self;
}

static s_entry_t *s_at (const chordd_resp_queue_t *self, size_t i)
{
    assert (i < self->count);
    return &self->entries[(self->head + i) & (self->cap - 1)];
}

static s_part_t *s_part (s_entry_t *entry, size_t i)
{
    assert (i < entry->parts);
    return entry->parts == 1 ? &entry->one : &entry->many[i];
}

/* The part is answered: its key no longer holds others back. */
static void s_untrack (chordd_resp_queue_t *self, const s_entry_t *entry, s_part_t *part)
{
    if (!part->tracked)
        return;
    uint32_t *count = s_op_writes (entry->op) ? &self->writing[part->key_slot] : &self->reading[part->key_slot];
    assert (*count > 0);
    (*count)--;
    part->tracked = false;
}

static void s_entry_free (chordd_resp_queue_t *self, s_entry_t *entry)
{
    for (size_t i = 0; i < entry->parts; i++)
        s_untrack (self, entry, s_part (entry, i));
    for (size_t i = 0; i < entry->parts; i++)
        free (s_part (entry, i)->value);
    free (entry->many);
    free (entry->error);
    chordd_resp_out_free (&entry->trailer);
}

void chordd_resp_queue_destroy (chordd_resp_queue_t **self_p)
{
    chordd_resp_queue_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        s_entry_free (self, s_at (self, i));
    free (self->entries);
    free (self);
    *self_p = NULL;
}

chordd_resp_out_t *chordd_resp_queue_tail (chordd_resp_queue_t *self, chordd_resp_out_t *out)
{
    return self->count ? &s_at (self, self->count - 1)->trailer : out;
}

/* Room for one more entry: doubles the ring, oldest first again. 0 or -1. */
static int s_grow (chordd_resp_queue_t *self)
{
    if (self->count < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : S_ENTRIES_MIN;
    s_entry_t *entries = malloc (cap * sizeof *entries);
    if (!entries)
        return -1;
    for (size_t i = 0; i < self->count; i++)
        entries[i] = *s_at (self, i);
    free (self->entries);
    self->entries = entries;
    self->cap = cap;
    self->head = 0;
    return 0;
}

uint64_t chordd_resp_queue_push (chordd_resp_queue_t *self, chordd_resp_op_t op, size_t parts, uint64_t now_ms)
{
    assert (self);
    assert (parts >= 1);
    s_part_t *many = parts > 1 ? calloc (parts, sizeof *many) : NULL;
    if ((parts > 1 && !many) || s_grow (self) != 0) {
        free (many);
        return 0;
    }
    //  The last trailer stops growing: count it once and for all.
    if (self->count)
        self->held += s_at (self, self->count - 1)->trailer.len;
    self->count++;
    s_entry_t *entry = s_at (self, self->count - 1);
    *entry = (s_entry_t) {.op = op, .first_id = self->next_id, .parts = parts, .asked_ms = now_ms, .many = many};
    self->next_id += parts;
    return entry->first_id;
}

/* The entry holding request_id's part, or NULL: ids grow from head to tail. */
static s_entry_t *s_find (chordd_resp_queue_t *self, uint64_t request_id)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        s_entry_t *entry = s_at (self, mid);
        if (request_id < entry->first_id)
            high = mid;
        else if (request_id - entry->first_id >= entry->parts)
            low = mid + 1;
        else
            return entry;
    }
    return NULL;
}

void chordd_resp_queue_track (chordd_resp_queue_t *self, uint64_t request_id, const uint8_t *key, size_t key_len)
{
    assert (self);
    s_entry_t *entry = s_find (self, request_id);
    if (!entry)
        return;     /* expired and replied to already */
    s_part_t *part = s_part (entry, (size_t) (request_id - entry->first_id));
    if (part->tracked || part->state != S_PART_WAITING)
        return;
    part->key_slot = s_key_slot (key, key_len);
    part->tracked = true;
    if (s_op_writes (entry->op))
        self->writing[part->key_slot]++;
    else
        self->reading[part->key_slot]++;
}

bool chordd_resp_queue_conflicts (const chordd_resp_queue_t *self, chordd_resp_op_t op, const uint8_t *key,
                                  size_t key_len)
{
    assert (self);
    uint32_t slot = s_key_slot (key, key_len);
    return s_op_writes (op) ? self->reading[slot] > 0 : self->writing[slot] > 0;
}

void chordd_resp_status_error (chord_status_t status, const char *text, size_t text_len, char *error,
                               size_t error_size)
{
    int len = text_len > 200 ? 200 : (int) text_len;
    text = len ? text : "";
    switch (status) {
    case CHORD_STATUS_NOT_READY:
        snprintf (error, error_size, "TRYAGAIN not ready %.*s", len, text);
        break;
    case CHORD_STATUS_NO_QUORUM:
        snprintf (error, error_size, "TRYAGAIN no quorum (the write may have landed on some copies) %.*s", len,
                  text);
        break;
    case CHORD_STATUS_TIMEOUT:
        snprintf (error, error_size, "TRYAGAIN the ring timed out %.*s", len, text);
        break;
    case CHORD_STATUS_TOO_LARGE:
        snprintf (error, error_size, "ERR too large %.*s", len, text);
        break;
    case CHORD_STATUS_FORBIDDEN:
        snprintf (error, error_size, "NOPERM the ring refused %.*s", len, text);
        break;
    default:
        snprintf (error, error_size, "ERR %s %.*s", chord_status_name (status), len, text);
    }
}

/* Keeps the entry's first error line. */
static void s_fail (s_entry_t *entry, s_part_t *part, const char *line)
{
    part->state = S_PART_FAILED;
    if (!entry->error)
        entry->error = strdup (line);
    if (!entry->error)
        entry->trailer.failed = true;   /* no memory even for the error: the connection closes */
}

int chordd_resp_queue_answer (chordd_resp_queue_t *self, uint64_t request_id, chord_status_t status,
                              bool has_value, const uint8_t *value, size_t value_len, const char *text,
                              size_t text_len)
{
    assert (self);
    s_entry_t *entry = s_find (self, request_id);
    s_part_t *part = entry ? s_part (entry, (size_t) (request_id - entry->first_id)) : NULL;
    if (!part || part->state != S_PART_WAITING)
        return -1;
    s_untrack (self, entry, part);
    entry->answered++;
    bool reads = entry->op == CHORDD_RESP_OP_GET || entry->op == CHORDD_RESP_OP_MGET;
    char line[CHORDD_RESP_ERROR_MAX];
    if (status == CHORD_STATUS_NOT_FOUND && entry->op != CHORDD_RESP_OP_SET && entry->op != CHORDD_RESP_OP_MSET)
        part->state = S_PART_ABSENT;
    else if (status != CHORD_STATUS_OK) {
        chordd_resp_status_error (status, text, text_len, line, sizeof line);
        s_fail (entry, part, line);
    } else if (reads && !has_value)
        s_fail (entry, part, "ERR reply without a value");
    else if (reads && value_len > CHORDD_RESP_OUT_MAX - self->held)
        s_fail (entry, part, "ERR the replies due on this connection would pass 64 MiB");
    else if (reads && !(part->value = malloc (value_len ? value_len : 1)))
        s_fail (entry, part, "ERR out of memory");
    else {
        part->state = S_PART_FOUND;
        if (reads) {
            memcpy (part->value, value, value_len);
            part->value_len = value_len;
            self->held += value_len;
        }
    }
    return 0;
}

void chordd_resp_queue_expire (chordd_resp_queue_t *self, uint64_t now_ms, uint64_t wait_ms)
{
    assert (self);
    //  Commands are queued in time order: the overdue ones are at the head.
    for (size_t i = 0; i < self->count; i++) {
        s_entry_t *entry = s_at (self, i);
        if (now_ms - entry->asked_ms < wait_ms)
            return;
        for (size_t k = 0; k < entry->parts && entry->answered < entry->parts; k++) {
            s_part_t *part = s_part (entry, k);
            if (part->state != S_PART_WAITING)
                continue;
            s_untrack (self, entry, part);
            entry->answered++;
            s_fail (entry, part, "TRYAGAIN no answer from the ring in time");
        }
    }
}

/* The reply of an answered entry. */
static void s_render (s_entry_t *entry, chordd_resp_out_t *out)
{
    if (entry->error) {
        chordd_resp_out_error (out, entry->error);
        return;
    }
    long long found = 0;
    switch (entry->op) {
    case CHORDD_RESP_OP_MGET:
    case CHORDD_RESP_OP_GET:
        if (entry->op == CHORDD_RESP_OP_MGET)
            chordd_resp_out_array (out, entry->parts);
        for (size_t i = 0; i < entry->parts; i++) {
            const s_part_t *part = s_part (entry, i);
            if (part->state == S_PART_FOUND)
                chordd_resp_out_bulk (out, part->value, part->value_len);
            else
                chordd_resp_out_nil (out);
        }
        break;
    case CHORDD_RESP_OP_DEL:
    case CHORDD_RESP_OP_EXISTS:
        for (size_t i = 0; i < entry->parts; i++)
            found += s_part (entry, i)->state == S_PART_FOUND;
        chordd_resp_out_integer (out, found);
        break;
    case CHORDD_RESP_OP_SET:
    case CHORDD_RESP_OP_MSET:
        chordd_resp_out_status (out, "OK");
        break;
    }
}

void chordd_resp_queue_drain (chordd_resp_queue_t *self, chordd_resp_out_t *out)
{
    assert (self);
    while (self->count) {
        s_entry_t *entry = s_at (self, 0);
        if (entry->answered < entry->parts)
            return;
        s_render (entry, out);
        if (entry->trailer.failed)
            out->failed = true;
        chordd_resp_out_bytes (out, entry->trailer.data, entry->trailer.len);
        size_t freed = 0;
        for (size_t i = 0; i < entry->parts; i++)
            freed += s_part (entry, i)->value_len;
        if (self->count > 1)
            freed += entry->trailer.len;    /* counted when the next was pushed */
        assert (freed <= self->held);
        self->held -= freed;
        s_entry_free (self, entry);
        self->head = (self->head + 1) & (self->cap - 1);
        self->count--;
    }
}

size_t chordd_resp_queue_waiting (const chordd_resp_queue_t *self)
{
    return self->count;
}

size_t chordd_resp_queue_bytes (const chordd_resp_queue_t *self)
{
    return self->held + (self->count ? s_at (self, self->count - 1)->trailer.len : 0);
}
