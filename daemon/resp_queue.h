/*  chordd's Redis door, one connection's replies in command order.

    A data command (resp_cmd.h) becomes an entry waiting for the ring's
    answer for each of its keys, its parts, each asked with a request id
    of its own. A reply that needs no ring (PING, an error) written while
    a command waits goes behind it, in that entry's trailer. Answers come
    in any order (a GET at once, a SET once replicas acknowledged it, an
    MGET's keys from different owners): the head entry's reply is rendered
    once all its parts are answered, then its trailer, then the next
    entry's, so the client reads replies in the order of its commands.

    Pure (no sockets, no ring): the server (resp.c) and the fuzz target
    (tests/fuzz/fuzz_resp.c) drive it.  */
#ifndef CHORDD_RESP_QUEUE_H
#define CHORDD_RESP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "resp_cmd.h"
#include "resp_proto.h"

typedef struct chordd_resp_queue chordd_resp_queue_t;

/* An empty queue, or NULL when memory runs out. */
chordd_resp_queue_t *chordd_resp_queue_new (void);

/* Frees the queue and every reply it holds; sets *self_p to NULL. */
void chordd_resp_queue_destroy (chordd_resp_queue_t **self_p);

/*  Where a reply written now goes: out itself when no command waits, else
    the last waiting command's trailer. Valid until the next push.  */
chordd_resp_out_t *chordd_resp_queue_tail (chordd_resp_queue_t *self, chordd_resp_out_t *out);

/*  Queues a command of op waiting for parts answers (1 and up), asked at
    now_ms. Returns the request id of its first part, the others following
    it; 0 when memory runs out (nothing queued).  */
uint64_t chordd_resp_queue_push (chordd_resp_queue_t *self, chordd_resp_op_t op, size_t parts, uint64_t now_ms);

/*  Marks the part request_id as sent to the ring for key: until it is
    answered, a command on the same key that must not overtake it
    conflicts (chordd_resp_queue_conflicts).  */
void chordd_resp_queue_track (chordd_resp_queue_t *self, uint64_t request_id, const uint8_t *key, size_t key_len);

/*  True when a command of op on key could overtake one sent before on the
    same connection: a read after a write of the key, or a write after a
    read, not yet answered (the ring may serve requests out of order: one
    from the store at once, another through a task). Writes after writes do
    not conflict: versions taken in arrival order keep the last one. May
    say true for another key that shares its slot (then the command only
    waits longer).  */
bool chordd_resp_queue_conflicts (const chordd_resp_queue_t *self, chordd_resp_op_t op, const uint8_t *key,
                                  size_t key_len);

/*  Fails the parts still unanswered of the commands asked before
    now_ms - wait_ms ("TRYAGAIN no answer from the ring"): the ring answers
    each request by its tmo, and this bounds the wait should it not.  */
void chordd_resp_queue_expire (chordd_resp_queue_t *self, uint64_t now_ms, uint64_t wait_ms);

/*  The ring's answer for request_id: status, with a value (copied) when
    has_value, and text (text_len bytes, may be 0) saying why for an error.
    Returns 0, or -1 when no part waits for request_id (never asked, or
    answered already): the answer is dropped.  */
int chordd_resp_queue_answer (chordd_resp_queue_t *self, uint64_t request_id, chord_status_t status,
                              bool has_value, const uint8_t *value, size_t value_len, const char *text,
                              size_t text_len);

/* Moves the replies of the answered commands at the head, with their trailers, to out. */
void chordd_resp_queue_drain (chordd_resp_queue_t *self, chordd_resp_out_t *out);

/* Commands queued, answered or not. */
size_t chordd_resp_queue_waiting (const chordd_resp_queue_t *self);

/* Bytes the queue holds: values answered and trailers. */
size_t chordd_resp_queue_bytes (const chordd_resp_queue_t *self);

/* The Redis error line (without '-') for a ring status other than OK and NOT_FOUND. */
void chordd_resp_status_error (chord_status_t status, const char *text, size_t text_len, char *error,
                               size_t error_size);

#endif
