/*  chord messages: what the codec's files share. message.c holds the
    field table and the message lifecycle, message_encode.c the encoder,
    message_decode.c the decoder. Not for the rest of chord: message.h is
    the interface.  */
#ifndef CHORD_MESSAGE_INTERNAL_H
#define CHORD_MESSAGE_INTERNAL_H

#include "message.h"

/* Elements of the top-level array. */
#define CHORD_MSG_ENVELOPE_SIZE 6

/* Largest chord_node_state_t a "state" field may carry. */
#define CHORD_MSG_STATE_MAX CHORD_STATE_MAX

/* Every CHORD_F_* bit this version knows. */
#define CHORD_MSG_FIELDS_ALL ((CHORD_F_CENSUS << 1) - 1)

/* Body fields this version knows: one per CHORD_F_* bit. */
#define CHORD_MSG_FIELD_COUNT 25

/* Wire names of the body fields, indexed by bit number. */
extern const char *const chord_msg_field_names[CHORD_MSG_FIELD_COUNT];

/* Zeroes everything in msg but the lists, whose counts are zeroed. */
void chord_msg_reset (chord_msg_t *msg);

/* Empties what decoding field number bit filled in, freeing what it owned. */
void chord_msg_forget_field (chord_msg_t *msg, unsigned bit);

#endif
