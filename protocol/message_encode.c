/*  chord messages: the encoder for the wire format in message.h.

    Encoding writes straight into a growing buffer that refuses to pass
    CHORD_MESSAGE_MAX, so an oversized message fails without first being
    built in full.  */

#include "message_internal.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

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

/* Packs the "items" field's value. Returns 0, or -1 when it breaks a limit. */
static int s_pack_items (msgpack_packer *pk, const chord_msg_t *msg)
{
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
}

/* The fields whose value is a number, a boolean or an id. */
#define S_SCALAR_FIELDS                                                                          \
    (CHORD_F_STATUS | CHORD_F_ID | CHORD_F_DONE | CHORD_F_OP | CHORD_F_TIMEOUT | CHORD_F_HOPS |  \
     CHORD_F_COUNT | CHORD_F_TRANSFER | CHORD_F_FINAL | CHORD_F_STATE | CHORD_F_FALLBACK |        \
     CHORD_F_HLC | CHORD_F_WRITER | CHORD_F_REPLICAS)

/* Packs the value of a field in S_SCALAR_FIELDS. Returns 0, or -1 when it breaks a limit. */
static int s_pack_scalar (msgpack_packer *pk, const chord_msg_t *msg, uint32_t field)
{
    switch (field) {
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
    case CHORD_F_OP:
        if (msg->op < CHORD_STORE_OP_PUT || msg->op > CHORD_STORE_OP_DEL)
            return -1;
        msgpack_pack_uint32 (pk, msg->op);
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
    case CHORD_F_STATE:
        if (msg->state > CHORD_MSG_STATE_MAX)
            return -1;
        msgpack_pack_uint32 (pk, msg->state);
        return 0;
    case CHORD_F_FALLBACK:
        msg->fallback ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        return 0;
    case CHORD_F_HLC:
        msgpack_pack_uint64 (pk, msg->hlc);
        return 0;
    case CHORD_F_WRITER:
        msgpack_pack_uint64 (pk, msg->writer);
        return 0;
    case CHORD_F_REPLICAS:
        if (msg->replicas > CHORD_MSG_REPLICAS_MAX)
            return -1;
        msgpack_pack_uint32 (pk, msg->replicas);
        return 0;
    }
    return -1;
}

/* Packs the value of a peer, list, bytes or text field. Returns 0, or -1 when it breaks a limit. */
static int s_pack_compound (msgpack_packer *pk, const chord_msg_t *msg, uint32_t field)
{
    switch (field) {
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
    case CHORD_F_ITEMS:
        return s_pack_items (pk, msg);
    case CHORD_F_CENSUS:
        msgpack_pack_array (pk, 4);
        msgpack_pack_uint64 (pk, msg->census.owned);
        msgpack_pack_uint64 (pk, msg->census.replica);
        msgpack_pack_uint64 (pk, msg->census.tombstones);
        msgpack_pack_uint64 (pk, msg->census.bytes);
        return 0;
    case CHORD_F_TEXT:
        if (msg->text_len > CHORD_TEXT_MAX || (msg->text_len > 0 && !msg->text))
            return -1;
        s_pack_str (pk, msg->text, msg->text_len);
        return 0;
    case CHORD_F_DIGEST:
        if (!msg->digest)
            return -1;
        s_pack_bin (pk, msg->digest, CHORD_DIGEST_SIZE);
        return 0;
    }
    return -1;
}

/* Packs body field number bit of msg, name and value. Returns 0, or -1 when it breaks a limit. */
static int s_pack_field (msgpack_packer *pk, const chord_msg_t *msg, unsigned bit)
{
    const char *name = chord_msg_field_names[bit];
    s_pack_str (pk, name, strlen (name));
    uint32_t field = 1u << bit;
    if (field & S_SCALAR_FIELDS)
        return s_pack_scalar (pk, msg, field);
    return s_pack_compound (pk, msg, field);
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
        || (msg->fields & required) != required || (msg->fields & ~CHORD_MSG_FIELDS_ALL) != 0)
        return -1;

    s_writer_t writer = { 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &writer, s_writer_write);
    int rc = 0;

    msgpack_pack_array (&pk, CHORD_MSG_ENVELOPE_SIZE);
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
    for (unsigned bit = 0; bit < CHORD_MSG_FIELD_COUNT && rc == 0 && !writer.failed; bit++)
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
