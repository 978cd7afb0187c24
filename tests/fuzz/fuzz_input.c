/*  Fuzz input helpers: see fuzz_input.h.  */
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"

/* ---------------------------------------------------------------------- */
/* Reading fuzz bytes. */

void fuzz_bytes_init (fuzz_bytes_t *in, const uint8_t *data, size_t size)
{
    in->data = data;
    in->size = data ? size : 0;
    in->pos = 0;
}

bool fuzz_bytes_empty (const fuzz_bytes_t *in)
{
    return in->pos >= in->size;
}

uint8_t fuzz_u8 (fuzz_bytes_t *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

uint16_t fuzz_u16 (fuzz_bytes_t *in)
{
    uint16_t low = fuzz_u8 (in);
    return (uint16_t) (low | (uint16_t) fuzz_u8 (in) << 8);
}

uint32_t fuzz_u32 (fuzz_bytes_t *in)
{
    uint32_t low = fuzz_u16 (in);
    return low | (uint32_t) fuzz_u16 (in) << 16;
}

uint64_t fuzz_u64 (fuzz_bytes_t *in)
{
    uint64_t low = fuzz_u32 (in);
    return low | (uint64_t) fuzz_u32 (in) << 32;
}

bool fuzz_bool (fuzz_bytes_t *in)
{
    return fuzz_u8 (in) & 1;
}

const uint8_t *fuzz_take (fuzz_bytes_t *in, size_t len, size_t *got)
{
    size_t left = in->size - in->pos;
    *got = len < left ? len : left;
    const uint8_t *at = in->data ? in->data + in->pos : NULL;
    in->pos += *got;
    return at;
}

const uint8_t *fuzz_rest (fuzz_bytes_t *in, size_t *got)
{
    return fuzz_take (in, in->size - in->pos, got);
}

bool fuzz_next_step (fuzz_bytes_t *in, uint8_t *op, fuzz_bytes_t *payload)
{
    if (fuzz_bytes_empty (in))
        return false;
    *op = fuzz_u8 (in);
    size_t len = fuzz_u16 (in);
    size_t got;
    const uint8_t *at = fuzz_take (in, len, &got);
    fuzz_bytes_init (payload, at, got);
    return true;
}

int fuzz_append_step (uint8_t **buf, size_t *size, uint8_t op, const uint8_t *payload, size_t len)
{
    if (len > UINT16_MAX)
        return -1;
    uint8_t *grown = realloc (*buf, *size + 3 + len);
    if (!grown)
        return -1;
    grown[*size] = op;
    grown[*size + 1] = (uint8_t) len;
    grown[*size + 2] = (uint8_t) (len >> 8);
    if (len)
        memcpy (grown + *size + 3, payload, len);
    *buf = grown;
    *size += 3 + len;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Building valid messages. */

const chord_msg_type_t fuzz_types[FUZZ_TYPE_COUNT] = {
    CHORD_MSG_FIND_SUCC, CHORD_MSG_FIND_SUCC_REPLY, CHORD_MSG_GET_STATE, CHORD_MSG_STATE,
    CHORD_MSG_NOTIFY, CHORD_MSG_PING, CHORD_MSG_PONG, CHORD_MSG_JOIN, CHORD_MSG_JOIN_REPLY,
    CHORD_MSG_HANDOFF, CHORD_MSG_HANDOFF_ACK, CHORD_MSG_LEAVE_NOTICE, CHORD_MSG_STORE,
    CHORD_MSG_STORE_REPLY, CHORD_MSG_REPLICATE, CHORD_MSG_REPLICATE_ACK, CHORD_MSG_FETCH,
    CHORD_MSG_FETCH_REPLY, CHORD_MSG_SYNC, CHORD_MSG_SYNC_REPLY, CHORD_MSG_CLIENT_PUT,
    CHORD_MSG_CLIENT_GET, CHORD_MSG_CLIENT_DEL, CHORD_MSG_CLIENT_LOOKUP, CHORD_MSG_CLIENT_INFO,
    CHORD_MSG_CLIENT_LEAVE, CHORD_MSG_CLIENT_REPLY, CHORD_MSG_LOOKUP_REPLY, CHORD_MSG_INFO_REPLY,
};

chord_msg_type_t fuzz_reply_type (chord_msg_type_t request)
{
    switch (request) {
    case CHORD_MSG_FIND_SUCC:       return CHORD_MSG_FIND_SUCC_REPLY;
    case CHORD_MSG_GET_STATE:       return CHORD_MSG_STATE;
    case CHORD_MSG_PING:            return CHORD_MSG_PONG;
    case CHORD_MSG_JOIN:            return CHORD_MSG_JOIN_REPLY;
    case CHORD_MSG_HANDOFF:         return CHORD_MSG_HANDOFF_ACK;
    case CHORD_MSG_STORE:           return CHORD_MSG_STORE_REPLY;
    case CHORD_MSG_REPLICATE:       return CHORD_MSG_REPLICATE_ACK;
    case CHORD_MSG_FETCH:           return CHORD_MSG_FETCH_REPLY;
    case CHORD_MSG_SYNC:            return CHORD_MSG_SYNC_REPLY;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LEAVE:    return CHORD_MSG_CLIENT_REPLY;
    case CHORD_MSG_CLIENT_LOOKUP:   return CHORD_MSG_LOOKUP_REPLY;
    case CHORD_MSG_CLIENT_INFO:     return CHORD_MSG_INFO_REPLY;
    default:                        return 0;
    }
}

void fuzz_world_add_peer (fuzz_world_t *world, const char *endpoint, unsigned position)
{
    if (world->peer_count >= FUZZ_WORLD_PEERS_MAX)
        return;
    chord_peer_t *peer = &world->peers[world->peer_count++];
    snprintf (peer->endpoint, sizeof peer->endpoint, "%s", endpoint);
    chord_id_of_position (&peer->id, endpoint, position);
}

void fuzz_world_add_id (fuzz_world_t *world, uint64_t id)
{
    world->ids[world->id_next] = id;
    world->id_next = (world->id_next + 1) % FUZZ_WORLD_IDS_MAX;
    if (world->id_count < FUZZ_WORLD_IDS_MAX)
        world->id_count++;
}

/* Keys the builder picks from, so that writes, reads, replicas and
   handoffs of one input meet on the same keys. */
static const char *const s_keys[] = { "colour", "greeting", "k", "key-3", "x", "zeta" };
#define S_KEY_COUNT (sizeof s_keys / sizeof s_keys[0])

/* A peer: mostly a ring member; now and then one whose id is not its
   endpoint's, or an endpoint nobody holds. */
static void s_peer (fuzz_bytes_t *in, const fuzz_world_t *world, chord_peer_t *out)
{
    uint8_t choice = fuzz_u8 (in);
    if (world->peer_count > 0 && choice < 224) {
        *out = world->peers[choice % world->peer_count];
        return;
    }
    snprintf (out->endpoint, sizeof out->endpoint, "tcp://10.9.9.%u:7000", choice);
    if (choice & 1)
        chord_id_of_position (&out->id, out->endpoint, 0);
    else {
        size_t got;
        const uint8_t *bytes = fuzz_take (in, CHORD_ID_BYTES, &got);
        memset (out->id.bytes, 0, CHORD_ID_BYTES);
        if (got)
            memcpy (out->id.bytes, bytes, got);
    }
}

/* An id: a member's, a key's, a member's plus or minus one, or raw bytes. */
static void s_id (fuzz_bytes_t *in, const fuzz_world_t *world, chord_id_t *out)
{
    uint8_t choice = fuzz_u8 (in);
    size_t got;
    switch (choice % 4) {
    case 0:
        if (world->peer_count) {
            *out = world->peers[(choice / 4) % world->peer_count].id;
            return;
        }
        break;
    case 1: {
        const char *key = s_keys[(choice / 4) % S_KEY_COUNT];
        chord_id_hash (out, key, strlen (key));
        return;
    }
    case 2:
        if (world->peer_count) {
            *out = world->peers[(choice / 8) % world->peer_count].id;
            /* One step past the member's id, or one short of it. */
            int step = (choice & 4) ? 1 : -1;
            for (int i = CHORD_ID_BYTES - 1; i >= 0; i--) {
                uint8_t before = out->bytes[i];
                out->bytes[i] = (uint8_t) (before + step);
                if ((step > 0 && out->bytes[i] != 0) || (step < 0 && before != 0))
                    break;
            }
            return;
        }
        break;
    default:
        break;
    }
    memset (out->bytes, 0, CHORD_ID_BYTES);
    const uint8_t *bytes = fuzz_take (in, CHORD_ID_BYTES, &got);
    if (got)
        memcpy (out->bytes, bytes, got);
}

/* A request or transfer id: one seen on the wire, a small one, or any. */
static uint64_t s_request_id (fuzz_bytes_t *in, const fuzz_world_t *world)
{
    uint8_t choice = fuzz_u8 (in);
    if (world->id_count && choice < 192)
        return world->ids[choice % world->id_count];
    if (choice < 240)
        return choice;
    return fuzz_u64 (in);
}

/* A key: one of the shared keys, or 1..64 fuzz bytes. */
static void s_key (fuzz_bytes_t *in, uint8_t *buf, const uint8_t **key, size_t *key_len)
{
    uint8_t choice = fuzz_u8 (in);
    if (choice < 200) {
        const char *name = s_keys[choice % S_KEY_COUNT];
        *key_len = strlen (name);
        memcpy (buf, name, *key_len);
    } else {
        size_t got;
        const uint8_t *bytes = fuzz_take (in, 1 + choice % 64, &got);
        if (got)
            memcpy (buf, bytes, got);
        else
            buf[0] = 'k';
        *key_len = got ? got : 1;
    }
    *key = buf;
}

/* A version: near the receiver's clock (before, at, after, far after),
   or anything at all. */
static chord_version_t s_version (fuzz_bytes_t *in, const fuzz_world_t *world)
{
    chord_version_t version;
    uint8_t choice = fuzz_u8 (in);
    uint64_t base = world->wall_ms << 16;
    switch (choice % 4) {
    case 0:
        version.hlc = base - ((uint64_t) fuzz_u16 (in) << 16);
        break;
    case 1:
        version.hlc = base + fuzz_u16 (in);
        break;
    case 2:
        version.hlc = base + ((uint64_t) fuzz_u32 (in) << 16);
        break;
    default:
        version.hlc = fuzz_u64 (in);
        break;
    }
    version.writer = (choice & 4) ? fuzz_u8 (in) : fuzz_u64 (in);
    return version;
}

/* An encoded record of up to 64 value bytes, or now and then raw bytes
   that are no record at all. Returns its length in out. */
static size_t s_record (fuzz_bytes_t *in, const fuzz_world_t *world, uint8_t *out)
{
    uint8_t choice = fuzz_u8 (in);
    size_t got;
    const uint8_t *bytes = fuzz_take (in, choice % 65, &got);
    if (choice >= 240) {
        if (got)
            memcpy (out, bytes, got);
        return got;
    }
    bool tombstone = (choice & 0x80) != 0;
    chord_record_t rec = { .version = s_version (in, world), .tombstone = tombstone,
                           .value = bytes, .value_len = tombstone ? 0 : got };
    chord_record_encode (&rec, out);
    return chord_record_size (&rec);
}

static void s_field (fuzz_bytes_t *in, const fuzz_world_t *world, fuzz_scratch_t *scratch,
                     uint32_t field, chord_msg_t *msg)
{
    size_t got;
    switch (field) {
    case CHORD_F_STATUS:
        msg->status = (chord_status_t) (fuzz_u8 (in) % (CHORD_STATUS_FORBIDDEN + 1));
        break;
    case CHORD_F_ID:
        s_id (in, world, &msg->id);
        break;
    case CHORD_F_DONE:
        msg->done = fuzz_bool (in);
        break;
    case CHORD_F_PEER:
        s_peer (in, world, &msg->peer);
        break;
    case CHORD_F_PRED:
        msg->has_pred = fuzz_u8 (in) < 224;
        if (msg->has_pred)
            s_peer (in, world, &msg->pred);
        break;
    case CHORD_F_SUCC: {
        uint8_t count = fuzz_u8 (in);
        msg->peer_count = count < 240 ? count % 5 : count % (CHORD_PEER_LIST_MAX + 1);
        for (size_t i = 0; i < msg->peer_count; i++)
            s_peer (in, world, &msg->peers[i]);
        break;
    }
    case CHORD_F_FINGERS:
        msg->finger_count = fuzz_u8 (in) % 9;
        for (size_t i = 0; i < msg->finger_count; i++)
            s_peer (in, world, &msg->fingers[i]);
        break;
    case CHORD_F_EXCLUDED:
        msg->excluded_count = fuzz_u8 (in) % 5;
        for (size_t i = 0; i < msg->excluded_count; i++)
            s_id (in, world, &msg->excluded[i]);
        break;
    case CHORD_F_OP:
        msg->op = (chord_store_op_t) (CHORD_STORE_OP_PUT + fuzz_u8 (in) % 3);
        break;
    case CHORD_F_KEY:
        s_key (in, scratch->keys[FUZZ_ITEMS_MAX], &msg->key, &msg->key_len);
        break;
    case CHORD_F_VALUE: {
        /* A client's value, or (STORE, STORE_REPLY) perhaps a record. */
        uint8_t choice = fuzz_u8 (in);
        if (choice & 1) {
            msg->value_len = s_record (in, world, scratch->records[FUZZ_ITEMS_MAX]);
            msg->value = scratch->records[FUZZ_ITEMS_MAX];
        } else
            msg->value = fuzz_take (in, choice / 2 % 65, &msg->value_len);
        if (msg->value_len == 0)
            msg->value = NULL;
        break;
    }
    case CHORD_F_TIMEOUT:
        msg->timeout_ms = fuzz_u8 (in) < 200 ? fuzz_u16 (in) : fuzz_u32 (in);
        break;
    case CHORD_F_HOPS:
        msg->hops = fuzz_u8 (in) < 200 ? fuzz_u8 (in) : fuzz_u32 (in);
        break;
    case CHORD_F_COUNT:
        msg->count = fuzz_u8 (in) < 200 ? fuzz_u8 (in) : fuzz_u64 (in);
        break;
    case CHORD_F_TRANSFER:
        msg->transfer_id = s_request_id (in, world);
        break;
    case CHORD_F_FINAL:
        msg->final = fuzz_bool (in);
        break;
    case CHORD_F_ITEMS:
        msg->item_count = fuzz_u8 (in) % (FUZZ_ITEMS_MAX + 1);
        for (size_t i = 0; i < msg->item_count; i++) {
            chord_item_t *item = &scratch->items[i];
            s_key (in, scratch->keys[i], &item->key, &item->key_len);
            item->value_len = s_record (in, world, scratch->records[i]);
            item->value = item->value_len ? scratch->records[i] : NULL;
        }
        msg->items = scratch->items;
        break;
    case CHORD_F_TEXT: {
        const uint8_t *bytes = fuzz_take (in, fuzz_u8 (in) % sizeof scratch->text, &got);
        /* A str may hold any bytes, NUL included: the decoder copies it. */
        if (got)
            memcpy (scratch->text, bytes, got);
        msg->text = scratch->text;
        msg->text_len = got;
        break;
    }
    case CHORD_F_STATE:
        msg->state = fuzz_u8 (in) % (CHORD_STATE_MAX + 1);
        break;
    case CHORD_F_FALLBACK:
        msg->fallback = fuzz_bool (in);
        break;
    case CHORD_F_DIGEST: {
        /* All zero (what an empty arc digests to, the common case on a
           fresh ring), or fuzz bytes. */
        memset (scratch->digest, 0, sizeof scratch->digest);
        if (fuzz_bool (in)) {
            const uint8_t *bytes = fuzz_take (in, 64, &got);
            for (size_t i = 0; i < got; i++)
                scratch->digest[(i * 8) % sizeof scratch->digest] = bytes[i];
        }
        msg->digest = scratch->digest;
        break;
    }
    case CHORD_F_HLC: {
        chord_version_t version = s_version (in, world);
        msg->hlc = version.hlc;
        break;
    }
    case CHORD_F_WRITER:
        msg->writer = fuzz_u64 (in);
        break;
    default:
        break;
    }
}

/* The optional fields a message of this type carries in practice (message.h). */
static uint32_t s_usual_fields (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_FIND_SUCC:       return CHORD_F_EXCLUDED;
    case CHORD_MSG_FIND_SUCC_REPLY: return CHORD_F_HOPS;
    case CHORD_MSG_JOIN_REPLY:      return CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_PEER;
    case CHORD_MSG_HANDOFF:         return CHORD_F_COUNT;
    case CHORD_MSG_STORE:           return CHORD_F_VALUE | CHORD_F_FALLBACK | CHORD_F_HLC | CHORD_F_WRITER;
    case CHORD_MSG_STORE_REPLY:     return CHORD_F_VALUE;
    case CHORD_MSG_FETCH_REPLY:     return CHORD_F_ITEMS;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LOOKUP:   return CHORD_F_TIMEOUT;
    case CHORD_MSG_CLIENT_REPLY:    return CHORD_F_VALUE | CHORD_F_TEXT;
    case CHORD_MSG_LOOKUP_REPLY:    return CHORD_F_ID | CHORD_F_PEER | CHORD_F_HOPS | CHORD_F_TEXT;
    default:                        return 0;
    }
}

void fuzz_build_message (fuzz_bytes_t *in, const fuzz_world_t *world, fuzz_scratch_t *scratch,
                         chord_msg_type_t type, chord_msg_t *msg)
{
    chord_msg_init (msg, type, s_request_id (in, world));
    uint8_t header = fuzz_u8 (in);
    /* Peers name themselves, clients do not: mostly as the type expects. */
    bool from_client = type >= CHORD_MSG_CLIENT_PUT && type <= CHORD_MSG_INFO_REPLY;
    msg->has_sender = (header & 1) ? from_client : !from_client;
    if (msg->has_sender)
        s_peer (in, world, &msg->sender);
    msg->has_target = (header & 6) == 6;
    if (msg->has_target)
        s_id (in, world, &msg->target);
    /* Optional fields: the usual ones, none, any, or the usual and any. */
    uint32_t optional;
    switch (header & 0x18) {
    case 0x00: optional = s_usual_fields (type); break;
    case 0x08: optional = 0; break;
    case 0x10: optional = fuzz_u32 (in); break;
    default:   optional = s_usual_fields (type) | fuzz_u32 (in); break;
    }
    msg->fields = chord_msg_required_fields (type) | (optional & ((CHORD_F_WRITER << 1) - 1));
    for (unsigned bit = 0; bit <= 22; bit++)
        if (msg->fields & (1u << bit))
            s_field (in, world, scratch, 1u << bit, msg);
}

int fuzz_build_encoded (fuzz_bytes_t *in, const fuzz_world_t *world, chord_msg_type_t type,
                        uint8_t **data, size_t *size)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    fuzz_scratch_t *scratch = malloc (sizeof *scratch);
    int rc = -1;
    if (msg && scratch) {
        fuzz_build_message (in, world, scratch, type, msg);
        rc = chord_msg_encode (msg, data, size);
    }
    free (scratch);
    free (msg);
    return rc;
}

int fuzz_read_file (const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    size_t capacity = 4096, used = 0;
    uint8_t *buf = malloc (capacity);
    while (buf) {
        used += fread (buf + used, 1, capacity - used, file);
        if (used < capacity)
            break;
        uint8_t *grown = capacity < 64 * 1024 * 1024 ? realloc (buf, capacity * 2) : NULL;
        if (!grown) {
            free (buf);
            buf = NULL;
            break;
        }
        buf = grown;
        capacity *= 2;
    }
    int failed = ferror (file);
    fclose (file);
    if (!buf || failed) {
        free (buf);
        return -1;
    }
    *data = buf;
    *size = used;
    return 0;
}
