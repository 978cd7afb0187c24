/*  chord messages: the msgpack codec for the wire format in message.h.

    Encoding writes straight into a growing buffer that refuses to pass
    CHORD_MESSAGE_MAX, so an oversized message fails without first being
    built in full.

    Decoding runs in two passes. The first (s_scan) walks the raw bytes
    without allocating: it checks that they hold exactly one well-formed
    msgpack object, that no container claims more elements than there are
    bytes left to hold them, and that the object count stays under
    s_objects_max. Only then does msgpack-c build its object tree, so a
    five-byte message cannot make it allocate gigabytes for a claimed
    array of 2^32 elements. The second pass maps the tree onto chord_msg_t,
    checking every type and limit. msgpack-c's str and bin objects point
    into the input buffer (unpack.c's template_callback_str/bin store the
    input pointer), which is what lets key, value and items borrow from
    data; s_borrow checks that anyway before handing a pointer out.  */

#include "message.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* Objects (of any kind, at any depth) one message may hold. The largest
   legal message has about 13,000 (a full handoff batch is three per item);
   the cap bounds msgpack-c's object tree at about 1.5 MB whatever arrives. */
static const uint64_t s_objects_max = 65536;

/* Elements of the top-level array. */
#define S_ENVELOPE_SIZE 6

/* Largest chord_node_state_t a "state" field may carry. */
#define S_STATE_MAX CHORD_STATE_MAX

/* Every CHORD_F_* bit this version knows. */
#define S_FIELDS_ALL ((CHORD_F_WRITER << 1) - 1)

/* Wire names of the body fields, indexed by bit number. */
static const char *const s_field_names[] = {
    "st", "id", "done", "peer", "pred", "succ", "fing", "excl", "op", "key",
    "val", "tmo", "hops", "cnt", "xfer", "fin", "items", "text", "state",
    "fb", "dig", "hlc", "wr",
};
#define S_FIELD_COUNT (sizeof s_field_names / sizeof s_field_names[0])

/* ---------------------------------------------------------------------- */
/* Names and the required-field table. */

uint32_t chord_msg_required_fields (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_FIND_SUCC:        return CHORD_F_ID;
    case CHORD_MSG_FIND_SUCC_REPLY:  return CHORD_F_DONE | CHORD_F_PEER;
    case CHORD_MSG_GET_STATE:        return 0;
    case CHORD_MSG_STATE:            return CHORD_F_PRED | CHORD_F_SUCC;
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
    case CHORD_MSG_CLIENT_REPLY:     optional = CHORD_F_VALUE | CHORD_F_TEXT; break;
    case CHORD_MSG_LOOKUP_REPLY:     optional = CHORD_F_ID | CHORD_F_PEER | CHORD_F_HOPS | CHORD_F_TEXT; break;
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

/* Zeroes everything but the lists, whose counts are zeroed. */
static void s_reset (chord_msg_t *msg)
{
    memset (msg, 0, offsetof (chord_msg_t, excluded));
}

void chord_msg_init (chord_msg_t *msg, chord_msg_type_t type, uint64_t request_id)
{
    s_reset (msg);
    msg->version = CHORD_PROTOCOL_VERSION;
    msg->type = type;
    msg->request_id = request_id;
}

/*  Empties what decoding one field filled in. A field that a message's
    type does not carry is checked like any other, then forgotten here, so
    no handler can find it by its value instead of its bit.  */
static void s_forget_field (chord_msg_t *msg, unsigned bit)
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
    default:               break;
    }
}

void chord_msg_clear (chord_msg_t *msg)
{
    free (msg->items);
    free ((char *) msg->text);
    s_reset (msg);
}

/* ---------------------------------------------------------------------- */
/* Encoding. */

/* An output buffer that refuses to grow past CHORD_MESSAGE_MAX. */
typedef struct {
    uint8_t *data;       /* malloc'd bytes written so far */
    size_t size;         /* bytes used in data */
    size_t capacity;     /* bytes allocated for data */
    bool failed;         /* a write overflowed or ran out of memory */
} s_writer_t;

/* The msgpack_packer callback: appends len bytes, or fails for good. */
static int s_writer_write (void *data, const char *buf, size_t len)
{
    s_writer_t *writer = data;
    if (writer->failed)
        return -1;
    if (len > CHORD_MESSAGE_MAX - writer->size) {
        writer->failed = true;
        return -1;
    }
    if (writer->size + len > writer->capacity) {
        size_t capacity = writer->capacity ? writer->capacity : 256;
        while (capacity < writer->size + len)
            capacity *= 2;
        if (capacity > CHORD_MESSAGE_MAX)
            capacity = CHORD_MESSAGE_MAX;
        uint8_t *grown = realloc (writer->data, capacity);
        if (!grown) {
            writer->failed = true;
            return -1;
        }
        writer->data = grown;
        writer->capacity = capacity;
    }
    if (len > 0)
        memcpy (writer->data + writer->size, buf, len);
    writer->size += len;
    return 0;
}

/* Packs a bin of len bytes; data may be NULL when len is 0. */
static void s_pack_bin (msgpack_packer *pk, const void *data, size_t len)
{
    msgpack_pack_bin (pk, len);
    if (len > 0)
        msgpack_pack_bin_body (pk, data, len);
}

static void s_pack_str (msgpack_packer *pk, const char *text, size_t len)
{
    msgpack_pack_str (pk, len);
    if (len > 0)
        msgpack_pack_str_body (pk, text, len);
}

static void s_pack_id (msgpack_packer *pk, const chord_id_t *id)
{
    s_pack_bin (pk, id->bytes, CHORD_ID_BYTES);
}

/* Length of a peer's endpoint, or 0 when it is empty or unterminated. */
static size_t s_endpoint_len (const chord_peer_t *peer)
{
    size_t len = strnlen (peer->endpoint, sizeof peer->endpoint);
    return len <= CHORD_ENDPOINT_MAX ? len : 0;
}

static int s_pack_peer (msgpack_packer *pk, const chord_peer_t *peer)
{
    size_t len = s_endpoint_len (peer);
    if (len == 0)
        return -1;
    msgpack_pack_array (pk, 2);
    s_pack_id (pk, &peer->id);
    s_pack_str (pk, peer->endpoint, len);
    return 0;
}

static int s_pack_peers (msgpack_packer *pk, const chord_peer_t *peers, size_t count,
                         size_t count_max)
{
    if (count > count_max)
        return -1;
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++)
        if (s_pack_peer (pk, &peers[i]) != 0)
            return -1;
    return 0;
}

static bool s_key_ok (const uint8_t *key, size_t len)
{
    return len >= 1 && len <= CHORD_KEY_MAX && key != NULL;
}

static bool s_value_ok (const uint8_t *value, size_t len)
{
    return len <= CHORD_VALUE_MAX && (len == 0 || value != NULL);
}

/* Packs body field number bit of msg. Returns 0, or -1 when it breaks a limit. */
static int s_pack_field (msgpack_packer *pk, const chord_msg_t *msg, unsigned bit)
{
    const char *name = s_field_names[bit];
    s_pack_str (pk, name, strlen (name));
    switch (1u << bit) {
    case CHORD_F_STATUS:
        if ((unsigned) msg->status > CHORD_STATUS_FORBIDDEN)
            return -1;
        msgpack_pack_uint32 (pk, msg->status);
        return 0;
    case CHORD_F_ID:
        s_pack_id (pk, &msg->id);
        return 0;
    case CHORD_F_DONE:
        msg->done ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        return 0;
    case CHORD_F_PEER:
        return s_pack_peer (pk, &msg->peer);
    case CHORD_F_PRED:
        if (!msg->has_pred) {
            msgpack_pack_nil (pk);
            return 0;
        }
        return s_pack_peer (pk, &msg->pred);
    case CHORD_F_SUCC:
        return s_pack_peers (pk, msg->peers, msg->peer_count, CHORD_PEER_LIST_MAX);
    case CHORD_F_FINGERS:
        return s_pack_peers (pk, msg->fingers, msg->finger_count, CHORD_FINGER_LIST_MAX);
    case CHORD_F_EXCLUDED:
        if (msg->excluded_count > CHORD_EXCLUDE_MAX)
            return -1;
        msgpack_pack_array (pk, msg->excluded_count);
        for (size_t i = 0; i < msg->excluded_count; i++)
            s_pack_id (pk, &msg->excluded[i]);
        return 0;
    case CHORD_F_OP:
        if (msg->op < CHORD_STORE_OP_PUT || msg->op > CHORD_STORE_OP_DEL)
            return -1;
        msgpack_pack_uint32 (pk, msg->op);
        return 0;
    case CHORD_F_KEY:
        if (!s_key_ok (msg->key, msg->key_len))
            return -1;
        s_pack_bin (pk, msg->key, msg->key_len);
        return 0;
    case CHORD_F_VALUE:
        if (!s_value_ok (msg->value, msg->value_len))
            return -1;
        s_pack_bin (pk, msg->value, msg->value_len);
        return 0;
    case CHORD_F_TIMEOUT:
        msgpack_pack_uint32 (pk, msg->timeout_ms);
        return 0;
    case CHORD_F_HOPS:
        msgpack_pack_uint32 (pk, msg->hops);
        return 0;
    case CHORD_F_COUNT:
        msgpack_pack_uint64 (pk, msg->count);
        return 0;
    case CHORD_F_TRANSFER:
        msgpack_pack_uint64 (pk, msg->transfer_id);
        return 0;
    case CHORD_F_FINAL:
        msg->final ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        return 0;
    case CHORD_F_ITEMS:
        if (msg->item_count > CHORD_ITEMS_MAX || (msg->item_count > 0 && !msg->items))
            return -1;
        msgpack_pack_array (pk, msg->item_count);
        for (size_t i = 0; i < msg->item_count; i++) {
            const chord_item_t *item = &msg->items[i];
            if (!s_key_ok (item->key, item->key_len)
                || item->value_len > CHORD_ITEM_VALUE_MAX
                || (item->value_len > 0 && !item->value))
                return -1;
            msgpack_pack_array (pk, 2);
            s_pack_bin (pk, item->key, item->key_len);
            s_pack_bin (pk, item->value, item->value_len);
        }
        return 0;
    case CHORD_F_TEXT:
        if (msg->text_len > CHORD_TEXT_MAX || (msg->text_len > 0 && !msg->text))
            return -1;
        s_pack_str (pk, msg->text, msg->text_len);
        return 0;
    case CHORD_F_STATE:
        if (msg->state > S_STATE_MAX)
            return -1;
        msgpack_pack_uint32 (pk, msg->state);
        return 0;
    case CHORD_F_FALLBACK:
        msg->fallback ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        return 0;
    case CHORD_F_DIGEST:
        if (!msg->digest)
            return -1;
        s_pack_bin (pk, msg->digest, CHORD_DIGEST_SIZE);
        return 0;
    case CHORD_F_HLC:
        msgpack_pack_uint64 (pk, msg->hlc);
        return 0;
    case CHORD_F_WRITER:
        msgpack_pack_uint64 (pk, msg->writer);
        return 0;
    }
    return -1;
}

static unsigned s_popcount (uint32_t bits)
{
    unsigned count = 0;
    for (; bits; bits &= bits - 1)
        count++;
    return count;
}

int chord_msg_encode (const chord_msg_t *msg, uint8_t **data, size_t *size)
{
    uint32_t required = chord_msg_required_fields (msg->type);
    if (msg->version != CHORD_PROTOCOL_VERSION || required == UINT32_MAX
        || (msg->fields & required) != required || (msg->fields & ~S_FIELDS_ALL) != 0)
        return -1;

    s_writer_t writer = { 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &writer, s_writer_write);
    int rc = 0;

    msgpack_pack_array (&pk, S_ENVELOPE_SIZE);
    msgpack_pack_uint32 (&pk, msg->version);
    msgpack_pack_uint32 (&pk, (uint32_t) msg->type);
    msgpack_pack_uint64 (&pk, msg->request_id);
    if (msg->has_sender)
        rc = s_pack_peer (&pk, &msg->sender);
    else
        msgpack_pack_nil (&pk);
    if (msg->has_target)
        s_pack_id (&pk, &msg->target);
    else
        msgpack_pack_nil (&pk);
    msgpack_pack_map (&pk, s_popcount (msg->fields));
    for (unsigned bit = 0; bit < S_FIELD_COUNT && rc == 0 && !writer.failed; bit++)
        if (msg->fields & (1u << bit))
            rc = s_pack_field (&pk, msg, bit);

    if (rc != 0 || writer.failed) {
        free (writer.data);
        return -1;
    }
    *data = writer.data;
    *size = writer.size;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Decoding, pass one: the raw bytes. */

static uint64_t s_read_be (const uint8_t *p, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value = (value << 8) | p[i];
    return value;
}

/*  Returns 0 when the size bytes at data are exactly one msgpack object
    with at most s_objects_max objects in it, and every container's claimed
    element count fits in the bytes that remain. Allocates nothing.  */
static int s_scan (const uint8_t *data, size_t size)
{
    size_t pos = 0;
    uint64_t pending = 1;           /* objects still to read */
    uint64_t objects = 0;           /* objects read so far */

    while (pending > 0) {
        if (pos >= size || ++objects > s_objects_max)
            return -1;
        pending--;
        uint8_t tag = data[pos++];
        size_t width = 0;           /* bytes in the length or value after tag */
        uint64_t payload = 0;       /* bytes of payload after those */
        uint64_t children = 0;      /* objects a container adds */
        int kind = 0;               /* 0 scalar, 1 str/bin, 2 ext, 3 array, 4 map */

        if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3)
            ;
        else if (tag <= 0x8f)
            children = 2u * (tag & 0x0f);
        else if (tag <= 0x9f)
            children = tag & 0x0f;
        else if (tag <= 0xbf)
            payload = tag & 0x1f;
        else
            switch (tag) {
            case 0xc4: case 0xd9: width = 1; kind = 1; break;
            case 0xc5: case 0xda: width = 2; kind = 1; break;
            case 0xc6: case 0xdb: width = 4; kind = 1; break;
            case 0xc7: width = 1; kind = 2; break;
            case 0xc8: width = 2; kind = 2; break;
            case 0xc9: width = 4; kind = 2; break;
            case 0xca: payload = 4; break;
            case 0xcb: payload = 8; break;
            case 0xcc: case 0xd0: payload = 1; break;
            case 0xcd: case 0xd1: payload = 2; break;
            case 0xce: case 0xd2: payload = 4; break;
            case 0xcf: case 0xd3: payload = 8; break;
            case 0xd4: payload = 2; break;
            case 0xd5: payload = 3; break;
            case 0xd6: payload = 5; break;
            case 0xd7: payload = 9; break;
            case 0xd8: payload = 17; break;
            case 0xdc: width = 2; kind = 3; break;
            case 0xdd: width = 4; kind = 3; break;
            case 0xde: width = 2; kind = 4; break;
            case 0xdf: width = 4; kind = 4; break;
            default: return -1;     /* 0xc1 is never used */
            }

        if (width > size - pos)
            return -1;
        uint64_t length = s_read_be (data + pos, width);
        pos += width;
        if (kind == 1)
            payload = length;
        else if (kind == 2)
            payload = length + 1;   /* the ext type byte, then the data */
        else if (kind == 3)
            children = length;
        else if (kind == 4)
            children = 2 * length;

        if (payload > size - pos)
            return -1;
        pos += (size_t) payload;
        pending += children;
        if (pending > size - pos)   /* each object needs at least one byte */
            return -1;
    }
    return pos == size ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Decoding, pass two: the object tree. */

/* The span of the input a decode may borrow from. */
typedef struct {
    const uint8_t *data;
    size_t size;
} s_input_t;

/* True when the len bytes at ptr lie inside the input. */
static bool s_borrow (const s_input_t *input, const char *ptr, size_t len)
{
    uintptr_t start = (uintptr_t) input->data;
    uintptr_t at = (uintptr_t) ptr;
    return len == 0 || (ptr && at >= start && at - start <= input->size
                        && len <= input->size - (at - start));
}

static int s_uint (const msgpack_object *obj, uint64_t max, uint64_t *out)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 > max)
        return -1;
    *out = obj->via.u64;
    return 0;
}

static int s_bool (const msgpack_object *obj, bool *out)
{
    if (obj->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = obj->via.boolean;
    return 0;
}

static int s_id (const msgpack_object *obj, chord_id_t *out)
{
    if (obj->type != MSGPACK_OBJECT_BIN || obj->via.bin.size != CHORD_ID_BYTES)
        return -1;
    memcpy (out->bytes, obj->via.bin.ptr, CHORD_ID_BYTES);
    return 0;
}

/* A bin of min..max bytes, borrowed from the input. */
static int s_bytes (const s_input_t *input, const msgpack_object *obj, size_t min,
                    size_t max, const uint8_t **out, size_t *out_len)
{
    if (obj->type != MSGPACK_OBJECT_BIN || obj->via.bin.size < min
        || obj->via.bin.size > max || !s_borrow (input, obj->via.bin.ptr, obj->via.bin.size))
        return -1;
    *out = obj->via.bin.size ? (const uint8_t *) obj->via.bin.ptr : NULL;
    *out_len = obj->via.bin.size;
    return 0;
}

static int s_peer (const msgpack_object *obj, chord_peer_t *out)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != 2)
        return -1;
    const msgpack_object *endpoint = &obj->via.array.ptr[1];
    if (s_id (&obj->via.array.ptr[0], &out->id) != 0
        || endpoint->type != MSGPACK_OBJECT_STR || endpoint->via.str.size < 1
        || endpoint->via.str.size > CHORD_ENDPOINT_MAX
        || memchr (endpoint->via.str.ptr, '\0', endpoint->via.str.size))
        return -1;
    memcpy (out->endpoint, endpoint->via.str.ptr, endpoint->via.str.size);
    out->endpoint[endpoint->via.str.size] = '\0';
    return 0;
}

static int s_peers (const msgpack_object *obj, chord_peer_t *out, size_t max, size_t *count)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size > max)
        return -1;
    for (size_t i = 0; i < obj->via.array.size; i++)
        if (s_peer (&obj->via.array.ptr[i], &out[i]) != 0)
            return -1;
    *count = obj->via.array.size;
    return 0;
}

static int s_items (const s_input_t *input, const msgpack_object *obj, chord_msg_t *msg)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size > CHORD_ITEMS_MAX)
        return -1;
    size_t count = obj->via.array.size;
    chord_item_t *items = calloc (count ? count : 1, sizeof *items);
    if (!items)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const msgpack_object *pair = &obj->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2
            || s_bytes (input, &pair->via.array.ptr[0], 1, CHORD_KEY_MAX, &items[i].key,
                        &items[i].key_len) != 0
            || s_bytes (input, &pair->via.array.ptr[1], 0, CHORD_ITEM_VALUE_MAX, &items[i].value,
                        &items[i].value_len) != 0) {
            free (items);
            return -1;
        }
    }
    msg->items = items;
    msg->item_count = count;
    return 0;
}

static int s_text (const msgpack_object *obj, chord_msg_t *msg)
{
    if (obj->type != MSGPACK_OBJECT_STR || obj->via.str.size > CHORD_TEXT_MAX)
        return -1;
    char *text = malloc (obj->via.str.size + 1);
    if (!text)
        return -1;
    if (obj->via.str.size > 0)
        memcpy (text, obj->via.str.ptr, obj->via.str.size);
    text[obj->via.str.size] = '\0';
    msg->text = text;
    msg->text_len = obj->via.str.size;
    return 0;
}

/* The bit number of a body field's wire name, or -1 when unknown. */
static int s_field_bit (const msgpack_object *key)
{
    for (size_t bit = 0; bit < S_FIELD_COUNT; bit++) {
        size_t len = strlen (s_field_names[bit]);
        if (key->via.str.size == len && memcmp (key->via.str.ptr, s_field_names[bit], len) == 0)
            return (int) bit;
    }
    return -1;
}

/* Decodes one known body field into msg. Returns 0 or -1. */
static int s_decode_field (const s_input_t *input, const msgpack_object *val, unsigned bit,
                           chord_msg_t *msg)
{
    uint64_t number;
    switch (1u << bit) {
    case CHORD_F_STATUS:
        if (s_uint (val, CHORD_STATUS_FORBIDDEN, &number) != 0)
            return -1;
        msg->status = (chord_status_t) number;
        return 0;
    case CHORD_F_ID:
        return s_id (val, &msg->id);
    case CHORD_F_DONE:
        return s_bool (val, &msg->done);
    case CHORD_F_PEER:
        return s_peer (val, &msg->peer);
    case CHORD_F_PRED:
        if (val->type == MSGPACK_OBJECT_NIL) {
            msg->has_pred = false;
            return 0;
        }
        msg->has_pred = true;
        return s_peer (val, &msg->pred);
    case CHORD_F_SUCC:
        return s_peers (val, msg->peers, CHORD_PEER_LIST_MAX, &msg->peer_count);
    case CHORD_F_FINGERS:
        return s_peers (val, msg->fingers, CHORD_FINGER_LIST_MAX, &msg->finger_count);
    case CHORD_F_EXCLUDED:
        if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > CHORD_EXCLUDE_MAX)
            return -1;
        for (size_t i = 0; i < val->via.array.size; i++)
            if (s_id (&val->via.array.ptr[i], &msg->excluded[i]) != 0)
                return -1;
        msg->excluded_count = val->via.array.size;
        return 0;
    case CHORD_F_OP:
        if (s_uint (val, CHORD_STORE_OP_DEL, &number) != 0 || number < CHORD_STORE_OP_PUT)
            return -1;
        msg->op = (chord_store_op_t) number;
        return 0;
    case CHORD_F_KEY:
        return s_bytes (input, val, 1, CHORD_KEY_MAX, &msg->key, &msg->key_len);
    case CHORD_F_VALUE:
        return s_bytes (input, val, 0, CHORD_VALUE_MAX, &msg->value, &msg->value_len);
    case CHORD_F_TIMEOUT:
        if (s_uint (val, UINT32_MAX, &number) != 0)
            return -1;
        msg->timeout_ms = (uint32_t) number;
        return 0;
    case CHORD_F_HOPS:
        if (s_uint (val, UINT32_MAX, &number) != 0)
            return -1;
        msg->hops = (uint32_t) number;
        return 0;
    case CHORD_F_COUNT:
        return s_uint (val, UINT64_MAX, &msg->count);
    case CHORD_F_TRANSFER:
        return s_uint (val, UINT64_MAX, &msg->transfer_id);
    case CHORD_F_FINAL:
        return s_bool (val, &msg->final);
    case CHORD_F_ITEMS:
        return s_items (input, val, msg);
    case CHORD_F_TEXT:
        return s_text (val, msg);
    case CHORD_F_STATE:
        if (s_uint (val, S_STATE_MAX, &number) != 0)
            return -1;
        msg->state = (uint32_t) number;
        return 0;
    case CHORD_F_FALLBACK:
        return s_bool (val, &msg->fallback);
    case CHORD_F_DIGEST: {
        size_t len;
        if (s_bytes (input, val, CHORD_DIGEST_SIZE, CHORD_DIGEST_SIZE, &msg->digest, &len) != 0)
            return -1;
        return 0;
    }
    case CHORD_F_HLC:
        return s_uint (val, UINT64_MAX, &msg->hlc);
    case CHORD_F_WRITER:
        return s_uint (val, UINT64_MAX, &msg->writer);
    }
    return -1;
}

/* Maps the decoded tree onto msg. On -1, msg may hold allocations. */
static int s_decode_tree (const s_input_t *input, const msgpack_object *root, chord_msg_t *msg)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != S_ENVELOPE_SIZE)
        return -1;
    const msgpack_object *part = root->via.array.ptr;
    uint64_t number;

    if (s_uint (&part[0], UINT32_MAX, &number) != 0 || number != CHORD_PROTOCOL_VERSION)
        return -1;
    msg->version = (uint32_t) number;
    if (s_uint (&part[1], UINT32_MAX, &number) != 0)
        return -1;
    msg->type = (chord_msg_type_t) number;
    uint32_t required = chord_msg_required_fields (msg->type);
    if (required == UINT32_MAX)
        return -1;
    uint32_t allowed = chord_msg_allowed_fields (msg->type);
    uint32_t seen = 0;
    if (s_uint (&part[2], UINT64_MAX, &msg->request_id) != 0)
        return -1;

    msg->has_sender = part[3].type != MSGPACK_OBJECT_NIL;
    if (msg->has_sender && s_peer (&part[3], &msg->sender) != 0)
        return -1;
    msg->has_target = part[4].type != MSGPACK_OBJECT_NIL;
    if (msg->has_target && s_id (&part[4], &msg->target) != 0)
        return -1;

    const msgpack_object *body = &part[5];
    if (body->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (size_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return -1;
        int bit = s_field_bit (&kv->key);
        if (bit < 0)
            continue;               /* a field from a later version */
        if (seen & (1u << bit))
            return -1;              /* a field given twice */
        seen |= 1u << bit;
        if (s_decode_field (input, &kv->val, (unsigned) bit, msg) != 0)
            return -1;
        if (allowed & (1u << bit))
            msg->fields |= 1u << bit;
        else
            s_forget_field (msg, (unsigned) bit);   /* well-formed, but not this type's */
    }
    return (msg->fields & required) == required ? 0 : -1;
}

int chord_msg_decode (chord_msg_t *msg, const uint8_t *data, size_t size)
{
    s_reset (msg);
    if (!data || size == 0 || size > CHORD_MESSAGE_MAX || s_scan (data, size) != 0)
        return -1;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, (const char *) data, size, &offset)
            == MSGPACK_UNPACK_SUCCESS
        && offset == size) {
        s_input_t input = { data, size };
        rc = s_decode_tree (&input, &unpacked.data, msg);
    }
    msgpack_unpacked_destroy (&unpacked);
    if (rc != 0)
        chord_msg_clear (msg);
    return rc;
}
