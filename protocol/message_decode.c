/*  chord messages: the decoder for the wire format in message.h.

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

#include "message_internal.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* Objects (of any kind, at any depth) one message may hold. The largest
   legal message has about 13,000 (a full handoff batch is three per item);
   the cap bounds msgpack-c's object tree at about 1.5 MB whatever arrives. */
static const uint64_t s_objects_max = 65536;

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

/* "cen": exactly four counts. */
static int s_census (const msgpack_object *obj, chord_census_t *census)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != 4)
        return -1;
    uint64_t *counts[4] = {&census->owned, &census->replica, &census->tombstones, &census->bytes};
    for (size_t i = 0; i < 4; i++)
        if (s_uint (&obj->via.array.ptr[i], UINT64_MAX, counts[i]) != 0)
            return -1;
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
    for (size_t bit = 0; bit < CHORD_MSG_FIELD_COUNT; bit++) {
        size_t len = strlen (chord_msg_field_names[bit]);
        if (key->via.str.size == len && memcmp (key->via.str.ptr, chord_msg_field_names[bit], len) == 0)
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
        if (s_uint (val, CHORD_MSG_STATE_MAX, &number) != 0)
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
    case CHORD_F_REPLICAS:
        if (s_uint (val, CHORD_MSG_REPLICAS_MAX, &number) != 0)
            return -1;
        msg->replicas = (uint32_t) number;
        return 0;
    case CHORD_F_CENSUS:
        return s_census (val, &msg->census);
    }
    return -1;
}

/* Maps the decoded tree onto msg. On -1, msg may hold allocations. */
static int s_decode_tree (const s_input_t *input, const msgpack_object *root, chord_msg_t *msg)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != CHORD_MSG_ENVELOPE_SIZE)
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
            chord_msg_forget_field (msg, (unsigned) bit);   /* well-formed, but not this type's */
    }
    return (msg->fields & required) == required ? 0 : -1;
}

int chord_msg_decode (chord_msg_t *msg, const uint8_t *data, size_t size)
{
    chord_msg_reset (msg);
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
