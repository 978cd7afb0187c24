/*  Helpers shared by the fuzz targets and the seed generator: a reader
    that turns fuzz bytes into numbers and byte strings (running dry yields
    zeros, so every input is usable), and a builder that turns fuzz bytes
    into a *valid* encoded message of a chosen type, so a target reaches
    the node's handlers and not only the decoder's refusals.

    The inputs of fuzz_node and fuzz_record are sequences of steps, each
    [op byte][length, 2 bytes little-endian][length bytes]; fuzz_input.c
    writes them too, so the seed generator and the targets agree.  */
#ifndef CHORD_FUZZ_INPUT_H
#define CHORD_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "record.h"

/* ---------------------------------------------------------------------- */
/* Reading fuzz bytes. */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;         /* bytes consumed */
} fuzz_bytes_t;

void fuzz_bytes_init (fuzz_bytes_t *in, const uint8_t *data, size_t size);
bool fuzz_bytes_empty (const fuzz_bytes_t *in);
uint8_t fuzz_u8 (fuzz_bytes_t *in);
uint16_t fuzz_u16 (fuzz_bytes_t *in);
uint32_t fuzz_u32 (fuzz_bytes_t *in);
uint64_t fuzz_u64 (fuzz_bytes_t *in);
bool fuzz_bool (fuzz_bytes_t *in);
/* Up to len bytes (fewer when the input runs short): *got says how many. */
const uint8_t *fuzz_take (fuzz_bytes_t *in, size_t len, size_t *got);
/* Everything left. */
const uint8_t *fuzz_rest (fuzz_bytes_t *in, size_t *got);

/*  Splits an input into steps [op][len lo][len hi][payload]. Returns false
    when no step is left; a short last step gets what remains.  */
bool fuzz_next_step (fuzz_bytes_t *in, uint8_t *op, fuzz_bytes_t *payload);

/* Appends one step to a growing buffer (seed generation). 0, or -1. */
int fuzz_append_step (uint8_t **buf, size_t *size, uint8_t op, const uint8_t *payload, size_t len);

/* ---------------------------------------------------------------------- */
/* Building valid messages. */

#define FUZZ_TYPE_COUNT 29          /* every chord_msg_type_t */
extern const chord_msg_type_t fuzz_types[FUZZ_TYPE_COUNT];

/* The reply a request of this type gets, or 0 when it gets none. */
chord_msg_type_t fuzz_reply_type (chord_msg_type_t request);

#define FUZZ_WORLD_PEERS_MAX 16
#define FUZZ_WORLD_IDS_MAX   16
#define FUZZ_ITEMS_MAX       4

/*  What a built message may refer to, so that its peers, ids and request
    ids are ones the receiver knows (a fuzzer would never guess a BLAKE2b
    id or a 64-bit request id).  */
typedef struct {
    chord_peer_t peers[FUZZ_WORLD_PEERS_MAX];   /* ring members, ids bound to endpoints */
    size_t peer_count;
    uint64_t ids[FUZZ_WORLD_IDS_MAX];           /* request and transfer ids seen on the wire */
    size_t id_count;
    size_t id_next;                             /* where the next id goes (a ring) */
    uint64_t wall_ms;                           /* the receiver's wall clock, for versions */
} fuzz_world_t;

/* Adds a peer at virtual position `position` of endpoint (its true id). */
void fuzz_world_add_peer (fuzz_world_t *world, const char *endpoint, unsigned position);

/* Remembers a request or transfer id, dropping the oldest past the cap. */
void fuzz_world_add_id (fuzz_world_t *world, uint64_t id);

/* The storage a built message borrows from until it is encoded. */
typedef struct {
    uint8_t keys[FUZZ_ITEMS_MAX + 1][64];
    uint8_t records[FUZZ_ITEMS_MAX + 1][CHORD_RECORD_HEADER + 64];
    chord_item_t items[FUZZ_ITEMS_MAX];
    uint8_t digest[CHORD_DIGEST_SIZE];
    char text[64];
} fuzz_scratch_t;

/*  Fills *msg with a message of the given type whose required fields are
    all present and in range, plus optional fields and header parts chosen
    by the fuzz bytes. Byte strings point into scratch or into in's data.
    The bytes read: a request id choice, a header byte (bit 0: a sender
    against the type's habit; bits 1-2 both set: a target; bits 3-4: the
    type's usual optional fields, none, a mask read next, or both), the
    sender and target, then each field present in bit order.  */
void fuzz_build_message (fuzz_bytes_t *in, const fuzz_world_t *world, fuzz_scratch_t *scratch,
                         chord_msg_type_t type, chord_msg_t *msg);

/* Builds as fuzz_build_message, then encodes: 0 with *data malloc'd, or -1
   when the encoder refuses (a message over its size limit, say). */
int fuzz_build_encoded (fuzz_bytes_t *in, const fuzz_world_t *world, chord_msg_type_t type,
                        uint8_t **data, size_t *size);

/* Reads a whole file: 0 with *data malloc'd (free it), or -1. */
int fuzz_read_file (const char *path, uint8_t **data, size_t *size);

#endif
