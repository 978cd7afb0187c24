/*  chord messages: the field table (the wire names, and which fields each
    type requires and allows), the names of types and statuses, and a
    message's init and clear. The codec is message_encode.c and
    message_decode.c.  */

#include "message_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

const char *const chord_msg_field_names[CHORD_MSG_FIELD_COUNT] = {
    "st", "id", "done", "peer", "pred", "succ", "fing", "excl", "op", "key",
    "val", "tmo", "hops", "cnt", "xfer", "fin", "items", "text", "state",
    "fb", "dig", "hlc", "wr", "rf", "cen",
};
static_assert (CHORD_MSG_FIELDS_ALL == (1u << CHORD_MSG_FIELD_COUNT) - 1, "a name for every field bit");

/* ---------------------------------------------------------------------- */
/* Names and the required-field table. */

uint32_t chord_msg_required_fields (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_FIND_SUCC:        return CHORD_F_ID;
    case CHORD_MSG_FIND_SUCC_REPLY:  return CHORD_F_DONE | CHORD_F_PEER;
    case CHORD_MSG_GET_STATE:        return 0;
    case CHORD_MSG_STATE:            return 0;  /* pred and succ, or cnt: node_stabilize.c */
    case CHORD_MSG_NOTIFY:           return 0;
    case CHORD_MSG_PING:             return 0;
    case CHORD_MSG_PONG:             return 0;
    case CHORD_MSG_JOIN:             return 0;
    case CHORD_MSG_JOIN_REPLY:       return CHORD_F_STATUS;
    case CHORD_MSG_HANDOFF:          return CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL;
    case CHORD_MSG_HANDOFF_ACK:      return CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    case CHORD_MSG_LEAVE_NOTICE:     return CHORD_F_SUCC;
    case CHORD_MSG_STORE:            return CHORD_F_OP | CHORD_F_KEY;
    case CHORD_MSG_STORE_REPLY:      return CHORD_F_STATUS;
    case CHORD_MSG_REPLICATE:        return CHORD_F_ITEMS;
    case CHORD_MSG_REPLICATE_ACK:    return CHORD_F_STATUS | CHORD_F_COUNT;
    case CHORD_MSG_FETCH:            return CHORD_F_KEY;
    case CHORD_MSG_FETCH_REPLY:      return CHORD_F_STATUS;
    case CHORD_MSG_SYNC:             return CHORD_F_ID | CHORD_F_DIGEST;
    case CHORD_MSG_SYNC_REPLY:       return CHORD_F_COUNT;
    case CHORD_MSG_CLIENT_PUT:       return CHORD_F_KEY | CHORD_F_VALUE;
    case CHORD_MSG_CLIENT_GET:       return CHORD_F_KEY;
    case CHORD_MSG_CLIENT_DEL:       return CHORD_F_KEY;
    case CHORD_MSG_CLIENT_LOOKUP:    return CHORD_F_KEY;
    case CHORD_MSG_CLIENT_INFO:      return 0;
    case CHORD_MSG_CLIENT_LEAVE:     return 0;
    case CHORD_MSG_CLIENT_REPLY:     return CHORD_F_STATUS;
    case CHORD_MSG_LOOKUP_REPLY:     return CHORD_F_STATUS;
    case CHORD_MSG_INFO_REPLY:
        return CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC
               | CHORD_F_FINGERS | CHORD_F_COUNT;
    }
    return UINT32_MAX;
}

uint32_t chord_msg_allowed_fields (chord_msg_type_t type)
{
    uint32_t optional = 0;
    switch (type) {
    case CHORD_MSG_FIND_SUCC:        optional = CHORD_F_EXCLUDED; break;
    case CHORD_MSG_FIND_SUCC_REPLY:  optional = CHORD_F_PRED; break;
    case CHORD_MSG_GET_STATE:        optional = CHORD_F_COUNT; break;
    case CHORD_MSG_STATE:            optional = CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_COUNT; break;
    case CHORD_MSG_JOIN_REPLY:       optional = CHORD_F_PEER | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_TEXT; break;
    case CHORD_MSG_HANDOFF:          optional = CHORD_F_COUNT | CHORD_F_PRED; break;
    case CHORD_MSG_STORE:            optional = CHORD_F_VALUE | CHORD_F_FALLBACK | CHORD_F_HLC | CHORD_F_WRITER; break;
    case CHORD_MSG_STORE_REPLY:      optional = CHORD_F_VALUE | CHORD_F_TEXT; break;
    case CHORD_MSG_FETCH_REPLY:      optional = CHORD_F_ITEMS; break;
    case CHORD_MSG_SYNC_REPLY:       optional = CHORD_F_ID; break;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LOOKUP:    optional = CHORD_F_TIMEOUT; break;
    case CHORD_MSG_CLIENT_REPLY:     optional = CHORD_F_VALUE | CHORD_F_TEXT | CHORD_F_PEER; break;
    case CHORD_MSG_LOOKUP_REPLY:     optional = CHORD_F_ID | CHORD_F_PEER | CHORD_F_HOPS | CHORD_F_TEXT; break;
    case CHORD_MSG_INFO_REPLY:       optional = CHORD_F_REPLICAS | CHORD_F_CENSUS; break;
    default:                         break;
    }
    uint32_t required = chord_msg_required_fields (type);
    return required == UINT32_MAX ? 0 : required | optional;
}

const char *chord_msg_type_name (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_FIND_SUCC:        return "find_succ";
    case CHORD_MSG_FIND_SUCC_REPLY:  return "find_succ_reply";
    case CHORD_MSG_GET_STATE:        return "get_state";
    case CHORD_MSG_STATE:            return "state";
    case CHORD_MSG_NOTIFY:           return "notify";
    case CHORD_MSG_PING:             return "ping";
    case CHORD_MSG_PONG:             return "pong";
    case CHORD_MSG_JOIN:             return "join";
    case CHORD_MSG_JOIN_REPLY:       return "join_reply";
    case CHORD_MSG_HANDOFF:          return "handoff";
    case CHORD_MSG_HANDOFF_ACK:      return "handoff_ack";
    case CHORD_MSG_LEAVE_NOTICE:     return "leave_notice";
    case CHORD_MSG_STORE:            return "store";
    case CHORD_MSG_STORE_REPLY:      return "store_reply";
    case CHORD_MSG_REPLICATE:        return "replicate";
    case CHORD_MSG_REPLICATE_ACK:    return "replicate_ack";
    case CHORD_MSG_FETCH:            return "fetch";
    case CHORD_MSG_FETCH_REPLY:      return "fetch_reply";
    case CHORD_MSG_SYNC:             return "sync";
    case CHORD_MSG_SYNC_REPLY:       return "sync_reply";
    case CHORD_MSG_CLIENT_PUT:       return "client_put";
    case CHORD_MSG_CLIENT_GET:       return "client_get";
    case CHORD_MSG_CLIENT_DEL:       return "client_del";
    case CHORD_MSG_CLIENT_LOOKUP:    return "client_lookup";
    case CHORD_MSG_CLIENT_INFO:      return "client_info";
    case CHORD_MSG_CLIENT_LEAVE:     return "client_leave";
    case CHORD_MSG_CLIENT_REPLY:     return "client_reply";
    case CHORD_MSG_LOOKUP_REPLY:     return "lookup_reply";
    case CHORD_MSG_INFO_REPLY:       return "info_reply";
    }
    return "unknown";
}

const char *chord_status_name (chord_status_t status)
{
    switch (status) {
    case CHORD_STATUS_OK:            return "ok";
    case CHORD_STATUS_NOT_FOUND:     return "not_found";
    case CHORD_STATUS_WRONG_OWNER:   return "wrong_owner";
    case CHORD_STATUS_NOT_READY:     return "not_ready";
    case CHORD_STATUS_TIMEOUT:       return "timeout";
    case CHORD_STATUS_TOO_LARGE:     return "too_large";
    case CHORD_STATUS_BAD_REQUEST:   return "bad_request";
    case CHORD_STATUS_STORE_ERROR:   return "store_error";
    case CHORD_STATUS_REDIRECT:      return "redirect";
    case CHORD_STATUS_NO_QUORUM:     return "no_quorum";
    case CHORD_STATUS_FORBIDDEN:     return "forbidden";
    }
    return "unknown";
}

void chord_msg_reset (chord_msg_t *msg)
{
    memset (msg, 0, offsetof (chord_msg_t, excluded));
}

void chord_msg_init (chord_msg_t *msg, chord_msg_type_t type, uint64_t request_id)
{
    chord_msg_reset (msg);
    msg->version = CHORD_PROTOCOL_VERSION;
    msg->type = type;
    msg->request_id = request_id;
}

/*  A field that a message's type does not carry is checked like any
    other, then forgotten here, so no handler can find it by its value
    instead of its bit.  */
void chord_msg_forget_field (chord_msg_t *msg, unsigned bit)
{
    switch (1u << bit) {
    case CHORD_F_STATUS:   msg->status = CHORD_STATUS_OK; break;
    case CHORD_F_ID:       memset (&msg->id, 0, sizeof msg->id); break;
    case CHORD_F_DONE:     msg->done = false; break;
    case CHORD_F_PEER:     memset (&msg->peer, 0, sizeof msg->peer); break;
    case CHORD_F_PRED:     msg->has_pred = false; memset (&msg->pred, 0, sizeof msg->pred); break;
    case CHORD_F_SUCC:     msg->peer_count = 0; break;
    case CHORD_F_FINGERS:  msg->finger_count = 0; break;
    case CHORD_F_EXCLUDED: msg->excluded_count = 0; break;
    case CHORD_F_OP:       msg->op = 0; break;
    case CHORD_F_KEY:      msg->key = NULL; msg->key_len = 0; break;
    case CHORD_F_VALUE:    msg->value = NULL; msg->value_len = 0; break;
    case CHORD_F_TIMEOUT:  msg->timeout_ms = 0; break;
    case CHORD_F_HOPS:     msg->hops = 0; break;
    case CHORD_F_COUNT:    msg->count = 0; break;
    case CHORD_F_TRANSFER: msg->transfer_id = 0; break;
    case CHORD_F_FINAL:    msg->final = false; break;
    case CHORD_F_ITEMS:    free (msg->items); msg->items = NULL; msg->item_count = 0; break;
    case CHORD_F_TEXT:     free ((char *) msg->text); msg->text = NULL; msg->text_len = 0; break;
    case CHORD_F_STATE:    msg->state = 0; break;
    case CHORD_F_FALLBACK: msg->fallback = false; break;
    case CHORD_F_DIGEST:   msg->digest = NULL; break;
    case CHORD_F_HLC:      msg->hlc = 0; break;
    case CHORD_F_WRITER:   msg->writer = 0; break;
    case CHORD_F_REPLICAS: msg->replicas = 0; break;
    case CHORD_F_CENSUS:   memset (&msg->census, 0, sizeof msg->census); break;
    default:               break;
    }
}

void chord_msg_clear (chord_msg_t *msg)
{
    free (msg->items);
    free ((char *) msg->text);
    chord_msg_reset (msg);
}
