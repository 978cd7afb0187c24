/*  Tests for protocol/message*.c: round trips of every message type, every
    limit on encode and on decode, hand-packed malformed messages (each
    breaking one rule), truncations, trailing bytes, and a seeded loop of
    random and mutated buffers that must neither crash nor leak.

    Run alone: make build/t/test_codec.t && build/t/test_codec.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_codec.t  */

#include "message.h"
#include "record.h"
#include "tap.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Deterministic data. */

static uint64_t s_rng = 0x9e3779b97f4a7c15ull;   /* xorshift64 state, fixed seed */

static uint64_t s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static uint8_t s_key[CHORD_KEY_MAX + 1];            /* key bytes, with NULs */
static uint8_t s_value[CHORD_ITEM_VALUE_MAX + 1];   /* value (and item value) bytes */
static uint8_t s_digest[CHORD_DIGEST_SIZE + 1];     /* range digest bytes */
static chord_item_t s_items[CHORD_ITEMS_MAX + 1];   /* handoff items */
static const char s_text[] = "the owner is leaving";

static void s_make_id (chord_id_t *id, unsigned seed)
{
    for (unsigned i = 0; i < CHORD_ID_BYTES; i++)
        id->bytes[i] = (uint8_t) (seed * 31u + i * 7u + 1u);
}

static void s_make_peer (chord_peer_t *peer, unsigned seed)
{
    memset (peer, 0, sizeof *peer);
    s_make_id (&peer->id, seed);
    snprintf (peer->endpoint, sizeof peer->endpoint, "tcp://10.0.%u.%u:%u", seed / 256 % 256,
              seed % 256, 5000 + seed % 1000);
}

static void s_data_init (void)
{
    for (size_t i = 0; i < sizeof s_key; i++)
        s_key[i] = (uint8_t) (i * 13);      /* s_key[0] is NUL */
    for (size_t i = 0; i < sizeof s_value; i++)
        s_value[i] = (uint8_t) (i * 7 + (i >> 8));
    for (size_t i = 0; i < sizeof s_digest; i++)
        s_digest[i] = (uint8_t) (255 - i * 3);     /* every byte value, no long runs */
    for (size_t i = 0; i < CHORD_ITEMS_MAX + 1; i++) {
        s_items[i].key = s_key + i % 100;
        s_items[i].key_len = 1 + i % 50;
        s_items[i].value = s_value + i;
        s_items[i].value_len = i % 64;      /* includes empty values */
    }
}

/* Sets every field named in fields to a distinctive non-zero value. */
static void s_fill (chord_msg_t *msg, uint32_t fields, unsigned seed)
{
    msg->fields |= fields;
    if (fields & CHORD_F_STATUS)
        msg->status = CHORD_STATUS_WRONG_OWNER;
    if (fields & CHORD_F_ID)
        s_make_id (&msg->id, seed + 1);
    if (fields & CHORD_F_DONE)
        msg->done = true;
    if (fields & CHORD_F_PEER)
        s_make_peer (&msg->peer, seed + 2);
    if (fields & CHORD_F_PRED) {
        msg->has_pred = true;
        s_make_peer (&msg->pred, seed + 3);
    }
    if (fields & CHORD_F_SUCC) {
        msg->peer_count = 5;
        for (unsigned i = 0; i < msg->peer_count; i++)
            s_make_peer (&msg->peers[i], seed + 10 + i);
    }
    if (fields & CHORD_F_FINGERS) {
        msg->finger_count = 12;
        for (unsigned i = 0; i < msg->finger_count; i++)
            s_make_peer (&msg->fingers[i], seed + 40 + i);
    }
    if (fields & CHORD_F_EXCLUDED) {
        msg->excluded_count = 3;
        for (unsigned i = 0; i < msg->excluded_count; i++)
            s_make_id (&msg->excluded[i], seed + 80 + i);
    }
    if (fields & CHORD_F_OP)
        msg->op = CHORD_STORE_OP_DEL;
    if (fields & CHORD_F_KEY) {
        msg->key = s_key;
        msg->key_len = 9;
    }
    if (fields & CHORD_F_VALUE) {
        msg->value = s_value;
        msg->value_len = 100;
    }
    if (fields & CHORD_F_TIMEOUT)
        msg->timeout_ms = 2500;
    if (fields & CHORD_F_HOPS)
        msg->hops = 7;
    if (fields & CHORD_F_COUNT)
        msg->count = (1ull << 40) | 5;
    if (fields & CHORD_F_TRANSFER)
        msg->transfer_id = UINT64_MAX - 3;
    if (fields & CHORD_F_FINAL)
        msg->final = true;
    if (fields & CHORD_F_ITEMS) {
        msg->item_count = 4;
        msg->items = s_items;
    }
    if (fields & CHORD_F_TEXT) {
        msg->text = s_text;
        msg->text_len = strlen (s_text);
    }
    if (fields & CHORD_F_STATE)
        msg->state = 2;
    if (fields & CHORD_F_FALLBACK)
        msg->fallback = true;
    if (fields & CHORD_F_DIGEST)
        msg->digest = s_digest;
    if (fields & CHORD_F_HLC)
        msg->hlc = UINT64_MAX - 5;
    if (fields & CHORD_F_WRITER)
        msg->writer = 0x0123456789abcdefULL;
    if (fields & CHORD_F_REPLICAS)
        msg->replicas = CHORD_MSG_REPLICAS_MAX;
    if (fields & CHORD_F_CENSUS)
        msg->census = (chord_census_t) {.owned = 1, .replica = UINT64_MAX, .tombstones = 0, .bytes = 1ull << 40};
}

/* ---------------------------------------------------------------------- */
/* Comparison. */

static int s_peer_eq (const chord_peer_t *a, const chord_peer_t *b)
{
    return memcmp (a->id.bytes, b->id.bytes, CHORD_ID_BYTES) == 0
           && strcmp (a->endpoint, b->endpoint) == 0;
}

static int s_bytes_eq (const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

#define S_CHECK(cond)                                   \
    do {                                                \
        if (!(cond)) {                                  \
            tap_diag ("mismatch: %s", #cond);           \
            return 0;                                   \
        }                                               \
    } while (0)

/* True when decoded carries everything msg does. */
static int s_msg_eq (const chord_msg_t *msg, const chord_msg_t *decoded)
{
    const chord_msg_t *a = msg, *b = decoded;
    S_CHECK (a->version == b->version);
    S_CHECK (a->type == b->type);
    S_CHECK (a->request_id == b->request_id);
    S_CHECK (a->has_sender == b->has_sender);
    S_CHECK (!a->has_sender || s_peer_eq (&a->sender, &b->sender));
    S_CHECK (a->has_target == b->has_target);
    S_CHECK (!a->has_target || memcmp (&a->target, &b->target, sizeof a->target) == 0);
    S_CHECK (a->fields == b->fields);
    uint32_t f = a->fields;
    if (f & CHORD_F_STATUS)
        S_CHECK (a->status == b->status);
    if (f & CHORD_F_ID)
        S_CHECK (memcmp (&a->id, &b->id, sizeof a->id) == 0);
    if (f & CHORD_F_DONE)
        S_CHECK (a->done == b->done);
    if (f & CHORD_F_PEER)
        S_CHECK (s_peer_eq (&a->peer, &b->peer));
    if (f & CHORD_F_PRED) {
        S_CHECK (a->has_pred == b->has_pred);
        S_CHECK (!a->has_pred || s_peer_eq (&a->pred, &b->pred));
    }
    if (f & CHORD_F_SUCC) {
        S_CHECK (a->peer_count == b->peer_count);
        for (size_t i = 0; i < a->peer_count; i++)
            S_CHECK (s_peer_eq (&a->peers[i], &b->peers[i]));
    }
    if (f & CHORD_F_FINGERS) {
        S_CHECK (a->finger_count == b->finger_count);
        for (size_t i = 0; i < a->finger_count; i++)
            S_CHECK (s_peer_eq (&a->fingers[i], &b->fingers[i]));
    }
    if (f & CHORD_F_EXCLUDED) {
        S_CHECK (a->excluded_count == b->excluded_count);
        for (size_t i = 0; i < a->excluded_count; i++)
            S_CHECK (memcmp (&a->excluded[i], &b->excluded[i], sizeof (chord_id_t)) == 0);
    }
    if (f & CHORD_F_OP)
        S_CHECK (a->op == b->op);
    if (f & CHORD_F_KEY)
        S_CHECK (s_bytes_eq (a->key, a->key_len, b->key, b->key_len));
    if (f & CHORD_F_VALUE)
        S_CHECK (s_bytes_eq (a->value, a->value_len, b->value, b->value_len));
    if (f & CHORD_F_TIMEOUT)
        S_CHECK (a->timeout_ms == b->timeout_ms);
    if (f & CHORD_F_HOPS)
        S_CHECK (a->hops == b->hops);
    if (f & CHORD_F_COUNT)
        S_CHECK (a->count == b->count);
    if (f & CHORD_F_TRANSFER)
        S_CHECK (a->transfer_id == b->transfer_id);
    if (f & CHORD_F_FINAL)
        S_CHECK (a->final == b->final);
    if (f & CHORD_F_ITEMS) {
        S_CHECK (a->item_count == b->item_count);
        for (size_t i = 0; i < a->item_count; i++) {
            S_CHECK (s_bytes_eq (a->items[i].key, a->items[i].key_len, b->items[i].key,
                                 b->items[i].key_len));
            S_CHECK (s_bytes_eq (a->items[i].value, a->items[i].value_len, b->items[i].value,
                                 b->items[i].value_len));
        }
    }
    if (f & CHORD_F_TEXT) {
        S_CHECK (s_bytes_eq (a->text, a->text_len, b->text, b->text_len));
        S_CHECK (b->text && b->text[b->text_len] == '\0');
    }
    if (f & CHORD_F_STATE)
        S_CHECK (a->state == b->state);
    if (f & CHORD_F_FALLBACK)
        S_CHECK (a->fallback == b->fallback);
    if (f & CHORD_F_DIGEST)
        S_CHECK (b->digest && memcmp (a->digest, b->digest, CHORD_DIGEST_SIZE) == 0);
    if (f & CHORD_F_HLC)
        S_CHECK (a->hlc == b->hlc);
    if (f & CHORD_F_WRITER)
        S_CHECK (a->writer == b->writer);
    if (f & CHORD_F_REPLICAS)
        S_CHECK (a->replicas == b->replicas);
    if (f & CHORD_F_CENSUS)
        S_CHECK (memcmp (&a->census, &b->census, sizeof a->census) == 0);
    return 1;
}

/* True when the len bytes at p lie inside [data, data + size). */
static int s_inside (const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
    return len == 0 || (p >= data && p + len <= data + size);
}

/* True when every borrowed pointer of decoded points into data. */
static int s_borrows_from (const chord_msg_t *decoded, const uint8_t *data, size_t size)
{
    if ((decoded->fields & CHORD_F_KEY) && !s_inside (decoded->key, decoded->key_len, data, size))
        return 0;
    if ((decoded->fields & CHORD_F_VALUE)
        && !s_inside (decoded->value, decoded->value_len, data, size))
        return 0;
    if ((decoded->fields & CHORD_F_DIGEST)
        && !s_inside (decoded->digest, CHORD_DIGEST_SIZE, data, size))
        return 0;
    for (size_t i = 0; i < decoded->item_count; i++)
        if (!s_inside (decoded->items[i].key, decoded->items[i].key_len, data, size)
            || !s_inside (decoded->items[i].value, decoded->items[i].value_len, data, size))
            return 0;
    return 1;
}

/* Encodes msg, decodes it again and compares. Returns 1 when all held. */
static int s_round_trip (const chord_msg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0) {
        tap_diag ("encode failed");
        return 0;
    }
    static chord_msg_t decoded;
    int ok = chord_msg_decode (&decoded, data, size) == 0;
    if (!ok)
        tap_diag ("decode failed");
    else {
        ok = s_msg_eq (msg, &decoded) && s_borrows_from (&decoded, data, size);
        chord_msg_clear (&decoded);
    }
    free (data);
    return ok;
}

/*  Encodes msg, decodes it, and checks that the decoded message holds only
    the fields its type carries, with every other field empty: a handler
    looking at a value rather than a bit finds nothing.  */
static int s_decodes_to_allowed (const chord_msg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0)
        return 0;
    static chord_msg_t decoded;
    int ok = chord_msg_decode (&decoded, data, size) == 0;
    if (ok) {
        uint32_t allowed = chord_msg_allowed_fields (msg->type);
        ok = decoded.fields == (msg->fields & allowed);
        if (!(allowed & CHORD_F_VALUE))
            ok = ok && !decoded.value && decoded.value_len == 0;
        if (!(allowed & CHORD_F_KEY))
            ok = ok && !decoded.key && decoded.key_len == 0;
        if (!(allowed & CHORD_F_ITEMS))
            ok = ok && !decoded.items && decoded.item_count == 0;
        if (!(allowed & CHORD_F_TEXT))
            ok = ok && !decoded.text && decoded.text_len == 0;
        if (!(allowed & CHORD_F_SUCC))
            ok = ok && decoded.peer_count == 0;
        if (!(allowed & CHORD_F_FINGERS))
            ok = ok && decoded.finger_count == 0;
        if (!(allowed & CHORD_F_EXCLUDED))
            ok = ok && decoded.excluded_count == 0;
        if (!(allowed & CHORD_F_PRED))
            ok = ok && !decoded.has_pred;
        if (!(allowed & CHORD_F_DIGEST))
            ok = ok && !decoded.digest;
        if (!(allowed & CHORD_F_HLC))
            ok = ok && decoded.hlc == 0;
        chord_msg_clear (&decoded);
    }
    free (data);
    return ok;
}

static int s_encodes (const chord_msg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0)
        return 0;
    free (data);
    return 1;
}

static int s_decodes (const void *data, size_t size)
{
    static chord_msg_t decoded;
    if (chord_msg_decode (&decoded, data, size) != 0)
        return 0;
    chord_msg_clear (&decoded);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Hand-packed messages. */

typedef struct {
    msgpack_sbuffer buf;
    msgpack_packer pk;
} s_raw_t;

static void s_raw_init (s_raw_t *raw)
{
    msgpack_sbuffer_init (&raw->buf);
    msgpack_packer_init (&raw->pk, &raw->buf, msgpack_sbuffer_write);
}

/* Decodes what raw holds, then frees it. Returns 1 when decoding worked. */
static int s_raw_decodes (s_raw_t *raw)
{
    int ok = s_decodes (raw->buf.data, raw->buf.size);
    msgpack_sbuffer_destroy (&raw->buf);
    return ok;
}

static void s_raw_bytes (s_raw_t *raw, const void *bytes, size_t len)
{
    msgpack_sbuffer_write (&raw->buf, bytes, len);
}

static void s_raw_str (s_raw_t *raw, const char *text)
{
    msgpack_pack_str (&raw->pk, strlen (text));
    msgpack_pack_str_body (&raw->pk, text, strlen (text));
}

static void s_raw_bin (s_raw_t *raw, const void *bytes, size_t len)
{
    msgpack_pack_bin (&raw->pk, len);
    msgpack_pack_bin_body (&raw->pk, bytes, len);
}

/* A peer [bin id_len, str endpoint_len], endpoint bytes taken from ep. */
static void s_raw_peer (s_raw_t *raw, size_t id_len, const char *ep, size_t ep_len)
{
    uint8_t id[64] = { 7 };
    msgpack_pack_array (&raw->pk, 2);
    s_raw_bin (raw, id, id_len);
    msgpack_pack_str (&raw->pk, ep_len);
    msgpack_pack_str_body (&raw->pk, ep, ep_len);
}

/* [1, type, 42, a valid sender, nil, then a map header of body_count. */
static void s_raw_envelope (s_raw_t *raw, uint64_t type, uint32_t body_count)
{
    s_raw_init (raw);
    msgpack_pack_array (&raw->pk, 6);
    msgpack_pack_uint32 (&raw->pk, CHORD_PROTOCOL_VERSION);
    msgpack_pack_uint64 (&raw->pk, type);
    msgpack_pack_uint64 (&raw->pk, 42);
    s_raw_peer (raw, CHORD_ID_BYTES, "tcp://a:1", 9);
    msgpack_pack_nil (&raw->pk);
    msgpack_pack_map (&raw->pk, body_count);
}

/* Decodes a PING whose body is {name: value}, value given as msgpack bytes. */
static int s_field_decodes (const char *name, const void *value, size_t value_len)
{
    s_raw_t raw;
    s_raw_envelope (&raw, CHORD_MSG_PING, 1);
    s_raw_str (&raw, name);
    s_raw_bytes (&raw, value, value_len);
    return s_raw_decodes (&raw);
}

/* The same, value packed by the caller into a second raw buffer. */
static int s_field_raw_decodes (const char *name, s_raw_t *value)
{
    int ok = s_field_decodes (name, value->buf.data, value->buf.size);
    msgpack_sbuffer_destroy (&value->buf);
    return ok;
}

/* An envelope with each header element given as msgpack bytes, empty body. */
static int s_header_decodes (const char *version, size_t vlen, const char *type, size_t tlen,
                             const char *rid, size_t rlen, const char *sender, size_t slen,
                             const char *target, size_t glen)
{
    s_raw_t raw;
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 6);
    s_raw_bytes (&raw, version, vlen);
    s_raw_bytes (&raw, type, tlen);
    s_raw_bytes (&raw, rid, rlen);
    s_raw_bytes (&raw, sender, slen);
    s_raw_bytes (&raw, target, glen);
    msgpack_pack_map (&raw.pk, 0);
    return s_raw_decodes (&raw);
}

#define S_B(lit) lit, sizeof lit - 1      /* a string literal as bytes, length */

/* The hand-packed envelopes spell the version as the positive fixint 0x02. */
_Static_assert (CHORD_PROTOCOL_VERSION == 2, "update the version bytes in the raw tests");

/* ---------------------------------------------------------------------- */
/* The tests. */

static const chord_msg_type_t s_types[] = {
    CHORD_MSG_FIND_SUCC,     CHORD_MSG_FIND_SUCC_REPLY, CHORD_MSG_GET_STATE,
    CHORD_MSG_STATE,         CHORD_MSG_NOTIFY,          CHORD_MSG_PING,
    CHORD_MSG_PONG,          CHORD_MSG_JOIN,            CHORD_MSG_JOIN_REPLY,
    CHORD_MSG_HANDOFF,       CHORD_MSG_HANDOFF_ACK,     CHORD_MSG_LEAVE_NOTICE,
    CHORD_MSG_STORE,         CHORD_MSG_STORE_REPLY,     CHORD_MSG_REPLICATE,
    CHORD_MSG_REPLICATE_ACK, CHORD_MSG_FETCH,           CHORD_MSG_FETCH_REPLY,
    CHORD_MSG_SYNC,          CHORD_MSG_SYNC_REPLY,      CHORD_MSG_CLIENT_PUT,
    CHORD_MSG_CLIENT_GET,    CHORD_MSG_CLIENT_DEL,      CHORD_MSG_CLIENT_LOOKUP,
    CHORD_MSG_CLIENT_INFO,   CHORD_MSG_CLIENT_LEAVE,    CHORD_MSG_CLIENT_REPLY,
    CHORD_MSG_LOOKUP_REPLY,  CHORD_MSG_INFO_REPLY,
};
#define S_TYPE_COUNT (sizeof s_types / sizeof s_types[0])

/* The body fields version 2 knows: bits 0 ("st") to 22 ("wr"). */
#define S_FIELD_BITS 25
#define S_FIELDS_ALL ((uint32_t) CHORD_F_CENSUS * 2 - 1)

/* Every field the comments in message.h give a type, required or not. */
static uint32_t s_documented_fields (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_FIND_SUCC:       return CHORD_F_ID | CHORD_F_EXCLUDED;
    case CHORD_MSG_FIND_SUCC_REPLY: return CHORD_F_DONE | CHORD_F_PEER | CHORD_F_PRED;
    case CHORD_MSG_GET_STATE:       return CHORD_F_COUNT;
    case CHORD_MSG_STATE:           return CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_COUNT;
    case CHORD_MSG_JOIN_REPLY:
        return CHORD_F_STATUS | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_PEER | CHORD_F_TEXT;
    case CHORD_MSG_HANDOFF:
        return CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL | CHORD_F_COUNT | CHORD_F_PRED;
    case CHORD_MSG_HANDOFF_ACK:     return CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    case CHORD_MSG_LEAVE_NOTICE:    return CHORD_F_SUCC;
    case CHORD_MSG_STORE:           return CHORD_F_OP | CHORD_F_KEY | CHORD_F_VALUE | CHORD_F_FALLBACK | CHORD_F_HLC | CHORD_F_WRITER;
    case CHORD_MSG_STORE_REPLY:     return CHORD_F_STATUS | CHORD_F_VALUE | CHORD_F_TEXT;
    case CHORD_MSG_REPLICATE:       return CHORD_F_ITEMS;
    case CHORD_MSG_REPLICATE_ACK:   return CHORD_F_STATUS | CHORD_F_COUNT;
    case CHORD_MSG_FETCH:           return CHORD_F_KEY;
    case CHORD_MSG_FETCH_REPLY:     return CHORD_F_STATUS | CHORD_F_ITEMS;
    case CHORD_MSG_SYNC:            return CHORD_F_ID | CHORD_F_DIGEST;
    case CHORD_MSG_SYNC_REPLY:      return CHORD_F_COUNT | CHORD_F_ID;
    case CHORD_MSG_CLIENT_PUT:      return CHORD_F_KEY | CHORD_F_VALUE | CHORD_F_TIMEOUT;
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LOOKUP:   return CHORD_F_KEY | CHORD_F_TIMEOUT;
    case CHORD_MSG_CLIENT_REPLY:    return CHORD_F_STATUS | CHORD_F_VALUE | CHORD_F_TEXT | CHORD_F_PEER;
    case CHORD_MSG_LOOKUP_REPLY:
        return CHORD_F_STATUS | CHORD_F_ID | CHORD_F_PEER | CHORD_F_HOPS | CHORD_F_TEXT;
    case CHORD_MSG_INFO_REPLY:
        return CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS
               | CHORD_F_COUNT | CHORD_F_REPLICAS | CHORD_F_CENSUS;
    default:                        return 0;
    }
}

static void s_test_tables (void)
{
    tap_ok (chord_msg_required_fields (CHORD_MSG_FIND_SUCC) == CHORD_F_ID,
            "find_succ requires id only");
    tap_ok (chord_msg_required_fields (CHORD_MSG_HANDOFF)
                == (CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL),
            "handoff requires xfer, items, fin");
    tap_ok (chord_msg_required_fields (CHORD_MSG_INFO_REPLY)
                == (CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC
                    | CHORD_F_FINGERS | CHORD_F_COUNT),
            "info_reply requires peer, state, pred, succ, fing, cnt");
    tap_ok (chord_msg_required_fields (CHORD_MSG_PING) == 0, "ping requires nothing");
    tap_ok (chord_msg_required_fields (CHORD_MSG_REPLICATE) == CHORD_F_ITEMS
                && chord_msg_required_fields (CHORD_MSG_REPLICATE_ACK)
                       == (CHORD_F_STATUS | CHORD_F_COUNT),
            "replicate requires items; replicate_ack st, cnt");
    tap_ok (chord_msg_required_fields (CHORD_MSG_FETCH) == CHORD_F_KEY
                && chord_msg_required_fields (CHORD_MSG_FETCH_REPLY) == CHORD_F_STATUS,
            "fetch requires key; fetch_reply st (items only when found)");
    tap_ok (chord_msg_required_fields (CHORD_MSG_SYNC) == (CHORD_F_ID | CHORD_F_DIGEST)
                && chord_msg_required_fields (CHORD_MSG_SYNC_REPLY) == CHORD_F_COUNT,
            "sync requires id, dig; sync_reply cnt");
    unsigned bits = 0;
    for (uint32_t all = S_FIELDS_ALL; all; all &= all - 1)
        bits++;
    tap_ok (bits == S_FIELD_BITS && CHORD_F_FALLBACK == 1u << 19 && CHORD_F_DIGEST == 1u << 20 &&
                CHORD_F_HLC == 1u << 21 && CHORD_F_WRITER == 1u << 22 && CHORD_F_REPLICAS == 1u << 23 &&
                CHORD_F_CENSUS == 1u << 24,
            "%d field bits, fb is bit 19, dig 20, hlc 21, wr 22, rf 23 and cen 24", S_FIELD_BITS);
    int all_documented = 1;
    for (size_t i = 0; i < S_TYPE_COUNT; i++) {
        uint32_t required = chord_msg_required_fields (s_types[i]);
        if (required == UINT32_MAX || (required & ~s_documented_fields (s_types[i])) != 0)
            all_documented = 0;
    }
    tap_ok (all_documented, "every type's required fields are among its documented ones");
    int allowed_documented = 1;
    for (size_t i = 0; i < S_TYPE_COUNT; i++)
        if (chord_msg_allowed_fields (s_types[i]) != s_documented_fields (s_types[i])) {
            tap_diag ("%s: allowed %#x, documented %#x", chord_msg_type_name (s_types[i]),
                      chord_msg_allowed_fields (s_types[i]), s_documented_fields (s_types[i]));
            allowed_documented = 0;
        }
    tap_ok (allowed_documented && chord_msg_allowed_fields ((chord_msg_type_t) 26) == 0,
            "every type allows exactly its documented fields; an unknown type none");
    const unsigned unknown[] = { 0, 15, 19, 26, 29, 33, 39, 46, 255, 100000 };
    int all_unknown = 1;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (chord_msg_required_fields ((chord_msg_type_t) unknown[i]) != UINT32_MAX
            || strcmp (chord_msg_type_name ((chord_msg_type_t) unknown[i]), "unknown") != 0)
            all_unknown = 0;
    tap_ok (all_unknown, "unknown types: UINT32_MAX required, named \"unknown\"");
    tap_ok (strcmp (chord_msg_type_name (CHORD_MSG_FIND_SUCC), "find_succ") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_INFO_REPLY), "info_reply") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_CLIENT_LOOKUP), "client_lookup") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_REPLICATE), "replicate") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_REPLICATE_ACK), "replicate_ack") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_FETCH), "fetch") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_FETCH_REPLY), "fetch_reply") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_SYNC), "sync") == 0
                && strcmp (chord_msg_type_name (CHORD_MSG_SYNC_REPLY), "sync_reply") == 0,
            "type names, the replication types among them");
    int named = 1;
    for (size_t i = 0; i < S_TYPE_COUNT; i++)
        if (strcmp (chord_msg_type_name (s_types[i]), "unknown") == 0)
            named = 0;
    tap_ok (named, "every known type has a name");
    tap_ok (strcmp (chord_status_name (CHORD_STATUS_OK), "ok") == 0
                && strcmp (chord_status_name (CHORD_STATUS_NOT_FOUND), "not_found") == 0
                && strcmp (chord_status_name (CHORD_STATUS_REDIRECT), "redirect") == 0
                && strcmp (chord_status_name (CHORD_STATUS_NO_QUORUM), "no_quorum") == 0
                && CHORD_STATUS_NO_QUORUM == 9
                && strcmp (chord_status_name (CHORD_STATUS_FORBIDDEN), "forbidden") == 0
                && CHORD_STATUS_FORBIDDEN == 10
                && strcmp (chord_status_name ((chord_status_t) 11), "unknown") == 0,
            "status names: 9 is no_quorum, 10 forbidden, 11 unknown");
}

static void s_test_round_trips (void)
{
    static chord_msg_t msg;
    for (size_t i = 0; i < S_TYPE_COUNT; i++) {
        chord_msg_type_t type = s_types[i];
        const char *name = chord_msg_type_name (type);

        chord_msg_init (&msg, type, 1000 + i);
        s_make_peer (&msg.sender, 500 + (unsigned) i);
        msg.has_sender = true;
        s_make_id (&msg.target, 600 + (unsigned) i);
        msg.has_target = true;
        s_fill (&msg, s_documented_fields (type), (unsigned) i);
        tap_ok (s_round_trip (&msg), "%s: round trip with every documented field", name);

        chord_msg_init (&msg, type, UINT64_MAX - i);
        s_fill (&msg, chord_msg_required_fields (type), (unsigned) i * 3);
        tap_ok (s_round_trip (&msg), "%s: round trip, required fields only, no sender/target",
                name);

        chord_msg_init (&msg, type, i);
        s_make_peer (&msg.sender, 700);
        msg.has_sender = true;
        s_fill (&msg, S_FIELDS_ALL, (unsigned) i * 5);
        tap_ok (s_decodes_to_allowed (&msg), "%s: sent with all %d fields, decodes with only its own",
                name, S_FIELD_BITS);
    }

    chord_msg_init (&msg, CHORD_MSG_STATE, 9);
    s_fill (&msg, CHORD_F_PRED | CHORD_F_SUCC, 1);
    msg.has_pred = false;
    msg.peer_count = 0;
    tap_ok (s_round_trip (&msg), "state: nil pred and an empty successor list");

    chord_msg_init (&msg, CHORD_MSG_GET_STATE, 11);
    msg.fields = CHORD_F_COUNT;
    msg.count = UINT64_MAX;
    tap_ok (s_round_trip (&msg), "get_state: with the digest of the last state");
    chord_msg_init (&msg, CHORD_MSG_STATE, 12);
    msg.fields = CHORD_F_COUNT;
    msg.count = 0x0123456789abcdefull;
    tap_ok (s_round_trip (&msg), "state: the digest alone (unchanged)");

    chord_msg_init (&msg, CHORD_MSG_CLIENT_PUT, 10);
    msg.fields = CHORD_F_KEY | CHORD_F_VALUE;
    msg.key = (const uint8_t *) "\0a\0b\0";
    msg.key_len = 5;
    msg.value = NULL;
    msg.value_len = 0;
    tap_ok (s_round_trip (&msg), "client_put: binary key with NULs, empty value");

    msg.key = s_key;
    msg.key_len = CHORD_KEY_MAX;
    msg.value = s_value;
    msg.value_len = CHORD_VALUE_MAX;
    tap_ok (s_round_trip (&msg), "client_put: key of CHORD_KEY_MAX, value of 1 MiB");

    chord_msg_init (&msg, CHORD_MSG_INFO_REPLY, 11);
    s_fill (&msg, chord_msg_required_fields (CHORD_MSG_INFO_REPLY), 3);
    msg.peer_count = CHORD_PEER_LIST_MAX;
    for (unsigned i = 0; i < CHORD_PEER_LIST_MAX; i++)
        s_make_peer (&msg.peers[i], 1000 + i);
    msg.finger_count = CHORD_FINGER_LIST_MAX;
    for (unsigned i = 0; i < CHORD_FINGER_LIST_MAX; i++) {
        s_make_peer (&msg.fingers[i], 2000 + i);
        if (i == 0) {     /* one endpoint of exactly CHORD_ENDPOINT_MAX bytes */
            memset (msg.fingers[i].endpoint, 'e', CHORD_ENDPOINT_MAX);
            msg.fingers[i].endpoint[CHORD_ENDPOINT_MAX] = '\0';
        }
    }
    tap_ok (s_round_trip (&msg), "info_reply: full successor and finger lists, longest endpoint");

    chord_msg_init (&msg, CHORD_MSG_FIND_SUCC, 12);
    s_fill (&msg, CHORD_F_ID | CHORD_F_EXCLUDED, 4);
    msg.excluded_count = CHORD_EXCLUDE_MAX;
    for (unsigned i = 0; i < CHORD_EXCLUDE_MAX; i++)
        s_make_id (&msg.excluded[i], 3000 + i);
    tap_ok (s_round_trip (&msg), "find_succ: full exclusion list");

    chord_msg_init (&msg, CHORD_MSG_HANDOFF, 13);
    s_fill (&msg, CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL, 5);
    msg.item_count = CHORD_ITEMS_MAX;
    tap_ok (s_round_trip (&msg), "handoff: CHORD_ITEMS_MAX items");
    msg.item_count = 0;
    tap_ok (s_round_trip (&msg), "handoff: no items");

    chord_item_t big[3];
    for (size_t i = 0; i < 3; i++) {
        big[i].key = s_key + i;
        big[i].key_len = CHORD_KEY_MAX - i;
        big[i].value = s_value;
        big[i].value_len = CHORD_VALUE_MAX - i;
    }
    msg.items = big;
    msg.item_count = 3;
    tap_ok (s_round_trip (&msg), "handoff: three 1 MiB values (3 MiB message)");

    chord_msg_init (&msg, CHORD_MSG_CLIENT_REPLY, 14);
    msg.fields = CHORD_F_STATUS | CHORD_F_TEXT;
    msg.status = CHORD_STATUS_REDIRECT;
    char long_text[CHORD_TEXT_MAX];
    memset (long_text, 't', sizeof long_text);
    msg.text = long_text;
    msg.text_len = CHORD_TEXT_MAX;
    tap_ok (s_round_trip (&msg), "client_reply: text of CHORD_TEXT_MAX bytes, status redirect");
    msg.text = NULL;
    msg.text_len = 0;
    tap_ok (s_round_trip (&msg), "client_reply: empty text");

    chord_msg_init (&msg, CHORD_MSG_HANDOFF_ACK, 0);
    msg.fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    msg.transfer_id = UINT64_MAX;
    msg.count = UINT64_MAX;
    tap_ok (s_round_trip (&msg), "handoff_ack: numbers at their maxima, request id 0");
    chord_msg_init (&msg, CHORD_MSG_INFO_REPLY, UINT64_MAX);
    s_fill (&msg, chord_msg_required_fields (CHORD_MSG_INFO_REPLY), 3);
    msg.state = 4;
    tap_ok (s_round_trip (&msg), "info_reply: state at its maximum, request id at its maximum");
    chord_msg_init (&msg, CHORD_MSG_LOOKUP_REPLY, 1);
    msg.fields = CHORD_F_STATUS | CHORD_F_HOPS;
    msg.hops = UINT32_MAX;
    tap_ok (s_round_trip (&msg), "lookup_reply: hops at its maximum");
    chord_msg_init (&msg, CHORD_MSG_CLIENT_GET, 1);
    s_fill (&msg, CHORD_F_KEY | CHORD_F_TIMEOUT, 4);
    msg.timeout_ms = UINT32_MAX;
    tap_ok (s_round_trip (&msg), "client_get: tmo at its maximum");

    /* Version 2: the replication messages and their fields. */
    chord_msg_init (&msg, CHORD_MSG_REPLICATE, 15);
    msg.fields = CHORD_F_ITEMS;
    for (size_t i = 0; i < 3; i++) {
        big[i].key = s_key + i;
        big[i].key_len = 1 + i;
        big[i].value = s_value;
        big[i].value_len = CHORD_ITEM_VALUE_MAX - i;
    }
    msg.items = big;
    msg.item_count = 3;
    tap_ok (s_round_trip (&msg), "replicate: three item values of CHORD_ITEM_VALUE_MAX - 0..2");
    big[0].value_len = CHORD_VALUE_MAX + 1;
    msg.item_count = 1;
    tap_ok (s_round_trip (&msg), "replicate: an item value of CHORD_VALUE_MAX + 1 (over val's limit)");

    static uint8_t record[CHORD_VALUE_MAX + CHORD_RECORD_HEADER];
    chord_record_t rec = { { 0x123456789abcdef0ull, 42 }, false, s_value, CHORD_VALUE_MAX };
    chord_record_encode (&rec, record);
    big[0].value = record;
    big[0].value_len = chord_record_size (&rec);
    tap_ok (s_round_trip (&msg), "replicate: the record of a 1 MiB value");

    chord_msg_init (&msg, CHORD_MSG_REPLICATE_ACK, 16);
    msg.fields = CHORD_F_STATUS | CHORD_F_COUNT;
    msg.status = CHORD_STATUS_NO_QUORUM;
    msg.count = UINT64_MAX;
    tap_ok (s_round_trip (&msg), "replicate_ack: status no_quorum, cnt 2^64-1");

    chord_msg_init (&msg, CHORD_MSG_STORE, 17);
    s_fill (&msg, CHORD_F_OP | CHORD_F_KEY | CHORD_F_FALLBACK, 6);
    msg.fallback = false;
    tap_ok (s_round_trip (&msg), "store: fb false travels as false");
    msg.fallback = true;
    tap_ok (s_round_trip (&msg), "store: fb true");

    chord_msg_init (&msg, CHORD_MSG_FETCH_REPLY, 18);
    msg.fields = CHORD_F_STATUS;
    msg.status = CHORD_STATUS_NOT_FOUND;
    tap_ok (s_round_trip (&msg), "fetch_reply: not found, no items");

    static uint8_t zeros[CHORD_DIGEST_SIZE];
    chord_msg_init (&msg, CHORD_MSG_SYNC, 19);
    s_fill (&msg, CHORD_F_ID | CHORD_F_DIGEST, 7);
    memset (msg.id.bytes, 0xff, CHORD_ID_BYTES);
    msg.digest = zeros;
    tap_ok (s_round_trip (&msg), "sync: an all-zero digest, id of all ones");

    chord_msg_init (&msg, CHORD_MSG_SYNC_REPLY, 20);
    msg.fields = CHORD_F_COUNT;
    msg.count = 1ull << 63 | 1;
    tap_ok (s_round_trip (&msg), "sync_reply: mask with buckets 0 and 63");

    /* Decoding into a message that holds garbage must not matter. */
    uint8_t *data;
    size_t size;
    chord_msg_init (&msg, CHORD_MSG_PING, 77);
    int ok = chord_msg_encode (&msg, &data, &size) == 0;
    static chord_msg_t dirty;
    memset (&dirty, 0xa5, sizeof dirty);
    ok = ok && chord_msg_decode (&dirty, data, size) == 0 && dirty.fields == 0
         && dirty.items == NULL && dirty.text == NULL && dirty.request_id == 77;
    chord_msg_clear (&dirty);
    free (data);
    tap_ok (ok, "decode into an uninitialised message");
}

static void s_test_encode_limits (void)
{
    static chord_msg_t msg;
    static chord_msg_t good;
    chord_msg_init (&good, CHORD_MSG_CLIENT_PUT, 1);
    s_fill (&good, CHORD_F_KEY | CHORD_F_VALUE, 0);
    tap_ok (s_encodes (&good), "encode: control message encodes");

    msg = good; msg.key_len = 0;
    tap_ok (!s_encodes (&msg), "encode refuses an empty key");
    msg = good; msg.key = s_key; msg.key_len = CHORD_KEY_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses a key over CHORD_KEY_MAX");
    msg = good; msg.value = s_value; msg.value_len = CHORD_VALUE_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses a value over CHORD_VALUE_MAX");
    msg = good; msg.fields = CHORD_F_KEY;
    tap_ok (!s_encodes (&msg), "encode refuses a missing required field");
    msg = good; msg.fields |= 1u << S_FIELD_BITS;
    tap_ok (!s_encodes (&msg), "encode refuses an unknown field bit (%d)", S_FIELD_BITS);
    msg = good; msg.fields |= 1u << 31;
    tap_ok (!s_encodes (&msg), "encode refuses field bit 31");
    msg = good; msg.version = 1;
    tap_ok (!s_encodes (&msg), "encode refuses version 1");
    msg = good; msg.version = 3;
    tap_ok (!s_encodes (&msg), "encode refuses version 3");
    msg = good; msg.type = (chord_msg_type_t) 26;
    tap_ok (!s_encodes (&msg), "encode refuses an unknown type");
    msg = good; msg.has_sender = true; s_make_peer (&msg.sender, 1);
    tap_ok (s_encodes (&msg), "encode: control with a sender");
    memset (msg.sender.endpoint, 'x', sizeof msg.sender.endpoint);
    tap_ok (!s_encodes (&msg), "encode refuses an unterminated (256-byte) sender endpoint");
    msg.sender.endpoint[0] = '\0';
    tap_ok (!s_encodes (&msg), "encode refuses an empty sender endpoint");

    chord_msg_init (&msg, CHORD_MSG_STATE, 2);
    s_fill (&msg, CHORD_F_PRED | CHORD_F_SUCC, 0);
    msg.peer_count = CHORD_PEER_LIST_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses CHORD_PEER_LIST_MAX + 1 successors");
    chord_msg_init (&msg, CHORD_MSG_INFO_REPLY, 2);
    s_fill (&msg, chord_msg_required_fields (CHORD_MSG_INFO_REPLY), 0);
    msg.finger_count = CHORD_FINGER_LIST_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses CHORD_FINGER_LIST_MAX + 1 fingers");
    chord_msg_init (&msg, CHORD_MSG_FIND_SUCC, 2);
    s_fill (&msg, CHORD_F_ID | CHORD_F_EXCLUDED, 0);
    msg.excluded_count = CHORD_EXCLUDE_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses CHORD_EXCLUDE_MAX + 1 excluded ids");
    chord_msg_init (&msg, CHORD_MSG_JOIN_REPLY, 2);
    s_fill (&msg, CHORD_F_STATUS | CHORD_F_PEER, 0);
    memset (msg.peer.endpoint, 'p', sizeof msg.peer.endpoint);
    tap_ok (!s_encodes (&msg), "encode refuses an unterminated peer endpoint");
    msg.peer.endpoint[0] = '\0';
    tap_ok (!s_encodes (&msg), "encode refuses an empty peer endpoint");
    s_make_peer (&msg.peer, 0);
    msg.status = CHORD_STATUS_NO_QUORUM;
    tap_ok (s_encodes (&msg), "encode: control, status 9 (no_quorum)");
    msg.status = (chord_status_t) (CHORD_STATUS_FORBIDDEN + 1);
    tap_ok (!s_encodes (&msg), "encode refuses an unknown status (11)");

    chord_msg_init (&msg, CHORD_MSG_STORE, 2);
    s_fill (&msg, CHORD_F_OP | CHORD_F_KEY, 0);
    msg.op = (chord_store_op_t) 0;
    tap_ok (!s_encodes (&msg), "encode refuses op 0");
    msg.op = (chord_store_op_t) 4;
    tap_ok (!s_encodes (&msg), "encode refuses op 4");

    chord_msg_init (&msg, CHORD_MSG_INFO_REPLY, 2);
    s_fill (&msg, chord_msg_required_fields (CHORD_MSG_INFO_REPLY), 0);
    msg.state = 5;
    tap_ok (!s_encodes (&msg), "encode refuses an unknown node state");

    chord_msg_init (&msg, CHORD_MSG_CLIENT_REPLY, 2);
    msg.fields = CHORD_F_STATUS | CHORD_F_TEXT;
    char long_text[CHORD_TEXT_MAX + 1];
    memset (long_text, 't', sizeof long_text);
    msg.text = long_text;
    msg.text_len = CHORD_TEXT_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses text over CHORD_TEXT_MAX");

    chord_msg_init (&msg, CHORD_MSG_HANDOFF, 2);
    s_fill (&msg, CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL, 0);
    msg.item_count = CHORD_ITEMS_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses CHORD_ITEMS_MAX + 1 items");
    chord_item_t bad_items[2] = { s_items[1], s_items[2] };
    bad_items[1].key_len = 0;
    msg.items = bad_items;
    msg.item_count = 2;
    tap_ok (!s_encodes (&msg), "encode refuses an item with an empty key");
    bad_items[1] = s_items[2];
    bad_items[1].value = s_value;
    bad_items[1].value_len = CHORD_VALUE_MAX + 1;
    tap_ok (s_encodes (&msg), "encode: an item value over CHORD_VALUE_MAX (a record) fits");
    bad_items[1].value_len = CHORD_ITEM_VALUE_MAX;
    tap_ok (s_encodes (&msg), "encode: an item value of CHORD_ITEM_VALUE_MAX");
    bad_items[1].value_len = CHORD_ITEM_VALUE_MAX + 1;
    tap_ok (!s_encodes (&msg), "encode refuses an item value over CHORD_ITEM_VALUE_MAX");
    bad_items[1].value = NULL;
    bad_items[1].value_len = 1;
    tap_ok (!s_encodes (&msg), "encode refuses an item value of NULL with a length");
    bad_items[1].value_len = 0;
    tap_ok (s_encodes (&msg), "encode: an empty item value may be NULL");
    chord_item_t huge[4];
    for (size_t i = 0; i < 4; i++) {
        huge[i].key = s_key;
        huge[i].key_len = 1;
        huge[i].value = s_value;
        huge[i].value_len = CHORD_VALUE_MAX;
    }
    msg.items = huge;
    msg.item_count = 4;
    tap_ok (!s_encodes (&msg), "encode refuses a message over CHORD_MESSAGE_MAX (4 x 1 MiB)");
    msg.item_count = 3;
    tap_ok (s_encodes (&msg), "encode: control, 3 x 1 MiB fits");
    for (size_t i = 0; i < 4; i++)
        huge[i].value_len = CHORD_ITEM_VALUE_MAX;
    tap_ok (s_encodes (&msg), "encode: 3 x CHORD_ITEM_VALUE_MAX fits");
    msg.item_count = 4;
    tap_ok (!s_encodes (&msg), "encode refuses 4 x CHORD_ITEM_VALUE_MAX (over CHORD_MESSAGE_MAX)");

    chord_msg_init (&msg, CHORD_MSG_CLIENT_PUT, 2);
    s_fill (&msg, CHORD_F_KEY | CHORD_F_VALUE, 0);
    msg.value_len = CHORD_ITEM_VALUE_MAX;
    tap_ok (!s_encodes (&msg), "encode refuses a val of CHORD_ITEM_VALUE_MAX (val keeps its limit)");

    chord_msg_init (&msg, CHORD_MSG_SYNC, 2);
    s_fill (&msg, CHORD_F_ID | CHORD_F_DIGEST, 0);
    tap_ok (s_encodes (&msg), "encode: control sync");
    msg.digest = NULL;
    tap_ok (!s_encodes (&msg), "encode refuses a sync whose digest is NULL");
    msg.fields = CHORD_F_ID;
    tap_ok (!s_encodes (&msg), "encode refuses a sync without dig");
    chord_msg_init (&msg, CHORD_MSG_PING, 2);
    msg.fields = CHORD_F_DIGEST;
    tap_ok (!s_encodes (&msg), "encode refuses an optional dig that is NULL");
    chord_msg_init (&msg, CHORD_MSG_REPLICATE, 2);
    tap_ok (!s_encodes (&msg), "encode refuses a replicate without items");
}

/* Every prefix of a valid encoding is rejected. */
static int s_prefixes_rejected (const chord_msg_t *msg)
{
    uint8_t *data;
    size_t size;
    if (chord_msg_encode (msg, &data, &size) != 0)
        return 0;
    int ok = s_decodes (data, size);
    for (size_t len = 0; len < size && ok; len++) {
        /* A copy of exactly len bytes, so valgrind sees any over-read. */
        uint8_t *prefix = malloc (len ? len : 1);
        memcpy (prefix, data, len);
        if (s_decodes (prefix, len)) {
            tap_diag ("prefix of %zu of %zu bytes decoded", len, size);
            ok = 0;
        }
        free (prefix);
    }
    free (data);
    return ok;
}

static void s_test_framing (void)
{
    static chord_msg_t msg;
    chord_msg_init (&msg, CHORD_MSG_FIND_SUCC, 5);
    msg.has_sender = true;
    s_make_peer (&msg.sender, 1);
    s_fill (&msg, CHORD_F_ID | CHORD_F_EXCLUDED, 1);
    tap_ok (s_prefixes_rejected (&msg), "find_succ: every truncation rejected");
    chord_msg_init (&msg, CHORD_MSG_INFO_REPLY, 6);
    msg.has_target = true;
    s_fill (&msg, s_documented_fields (CHORD_MSG_INFO_REPLY), 2);
    tap_ok (s_prefixes_rejected (&msg), "info_reply: every truncation rejected");
    chord_msg_init (&msg, CHORD_MSG_HANDOFF, 7);
    s_fill (&msg, s_documented_fields (CHORD_MSG_HANDOFF), 3);
    tap_ok (s_prefixes_rejected (&msg), "handoff: every truncation rejected");
    chord_msg_init (&msg, CHORD_MSG_CLIENT_REPLY, 8);
    s_fill (&msg, s_documented_fields (CHORD_MSG_CLIENT_REPLY), 4);
    tap_ok (s_prefixes_rejected (&msg), "client_reply: every truncation rejected");
    chord_msg_init (&msg, CHORD_MSG_SYNC, 9);
    msg.has_sender = true;
    s_make_peer (&msg.sender, 5);
    s_fill (&msg, s_documented_fields (CHORD_MSG_SYNC), 5);
    tap_ok (s_prefixes_rejected (&msg), "sync: every truncation rejected");
    chord_msg_init (&msg, CHORD_MSG_REPLICATE, 10);
    s_fill (&msg, s_documented_fields (CHORD_MSG_REPLICATE), 6);
    tap_ok (s_prefixes_rejected (&msg), "replicate: every truncation rejected");

    uint8_t *data;
    size_t size;
    chord_msg_init (&msg, CHORD_MSG_PING, 9);
    chord_msg_encode (&msg, &data, &size);
    uint8_t *longer = malloc (2 * size);
    memcpy (longer, data, size);
    memcpy (longer + size, data, size);
    tap_ok (s_decodes (longer, size), "ping: control decodes");
    longer[size] = 0x00;
    tap_ok (!s_decodes (longer, size + 1), "one trailing byte rejected");
    memcpy (longer + size, data, size);
    tap_ok (!s_decodes (longer, 2 * size), "two messages back to back rejected");
    free (longer);
    free (data);

    tap_ok (!s_decodes (NULL, 0), "NULL, 0 rejected");
    tap_ok (!s_decodes ("", 0), "empty buffer rejected");
    tap_ok (!s_decodes (S_B ("\xc1")), "the never-used byte 0xc1 rejected");
    tap_ok (!s_decodes (S_B ("\xdd\xff\xff\xff\xff")), "array claiming 2^32-1 elements rejected");
    tap_ok (!s_decodes (S_B ("\xdf\xff\xff\xff\xff")), "map claiming 2^32-1 pairs rejected");
    tap_ok (!s_decodes (S_B ("\xc6\xff\xff\xff\xff")), "bin claiming 4 GiB rejected");
    tap_ok (!s_decodes (S_B ("\xc0")), "top level nil rejected");

    /* Over CHORD_MESSAGE_MAX: a hand-packed handoff of 4 x 1 MiB values. */
    s_raw_t raw;
    s_raw_envelope (&raw, CHORD_MSG_HANDOFF, 3);
    s_raw_str (&raw, "xfer");
    msgpack_pack_uint32 (&raw.pk, 1);
    s_raw_str (&raw, "fin");
    msgpack_pack_true (&raw.pk);
    s_raw_str (&raw, "items");
    msgpack_pack_array (&raw.pk, 4);
    for (int i = 0; i < 4; i++) {
        msgpack_pack_array (&raw.pk, 2);
        s_raw_bin (&raw, "k", 1);
        s_raw_bin (&raw, s_value, CHORD_VALUE_MAX);
    }
    tap_ok (raw.buf.size > CHORD_MESSAGE_MAX && !s_raw_decodes (&raw),
            "a message over CHORD_MESSAGE_MAX rejected");
}

static void s_test_header_rules (void)
{
    const char *sender = "\x92\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xa9tcp://a:1";
    size_t slen = 3 + 20 + 10;
    tap_ok (s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"), sender, slen,
                              S_B ("\xc0")),
            "header: control ping decodes");
    tap_ok (s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                              S_B ("\xc4\x14" "BBBBBBBBBBBBBBBBBBBB")),
            "header: control with nil sender and a target decodes");
    tap_ok (!s_header_decodes (S_B ("\x01"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "version 1 rejected");
    tap_ok (!s_header_decodes (S_B ("\x03"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "version 3 rejected");
    tap_ok (!s_header_decodes (S_B ("\x00"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "version 0 rejected");
    tap_ok (!s_header_decodes (S_B ("\xff"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "version -1 rejected");
    tap_ok (!s_header_decodes (S_B ("\xa1\x31"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "version as str rejected");
    tap_ok (!s_header_decodes (S_B ("\xcf\x00\x00\x00\x01\x00\x00\x00\x02"), S_B ("\x06"),
                               S_B ("\x2a"), S_B ("\xc0"), S_B ("\xc0")),
            "version 2^32+2 (2 if truncated to 32 bits) rejected");
    const char *bad_types[] = { "\x00", "\x0f", "\x13", "\x1a", "\x21", "\x27", "\x2e",
                                "\xcc\xff" };
    int all = 1;
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++)
        if (s_header_decodes (S_B ("\x02"), bad_types[i], strlen (bad_types[i]) ? strlen (bad_types[i]) : 1,
                              S_B ("\x2a"), S_B ("\xc0"), S_B ("\xc0")))
            all = 0;
    tap_ok (all, "unknown types 0, 15, 19, 26, 33, 39, 46, 255 rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\xcf\x00\x00\x00\x01\x00\x00\x00\x06"),
                               S_B ("\x2a"), S_B ("\xc0"), S_B ("\xc0")),
            "type 2^32 + 6 rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\xff"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "type -1 rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\xff"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "request id -1 rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\xcb\x40\x45\x00\x00\x00\x00\x00\x00"),
                               S_B ("\xc0"), S_B ("\xc0")),
            "request id as a double rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\xc0"), S_B ("\xc0"),
                               S_B ("\xc0")),
            "request id nil rejected");
    tap_ok (s_header_decodes (S_B ("\x02"), S_B ("\x06"),
                              S_B ("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), S_B ("\xc0"),
                              S_B ("\xc0")),
            "request id 2^64-1 accepted");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xc4\x13" "AAAAAAAAAAAAAAAAAAA" "\xa9tcp://a:1"),
                               S_B ("\xc0")),
            "sender id of 19 bytes rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xc4\x15" "AAAAAAAAAAAAAAAAAAAAA" "\xa9tcp://a:1"),
                               S_B ("\xc0")),
            "sender id of 21 bytes rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xa0\xa9tcp://a:1"), S_B ("\xc0")),
            "sender id as str rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xa0"), S_B ("\xc0")),
            "empty sender endpoint rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xa3" "a\0b"),
                               S_B ("\xc0")),
            "sender endpoint with a NUL rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x92\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xc4\x03" "a:b"),
                               S_B ("\xc0")),
            "sender endpoint as bin rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\x93\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xa3" "a:b" "\xc0"),
                               S_B ("\xc0")),
            "sender as a 3-array rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"),
                               S_B ("\xc4\x14" "AAAAAAAAAAAAAAAAAAAA"), S_B ("\xc0")),
            "sender as a bare id rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xc4\x13" "BBBBBBBBBBBBBBBBBBB")),
            "target of 19 bytes rejected");
    tap_ok (!s_header_decodes (S_B ("\x02"), S_B ("\x06"), S_B ("\x2a"), S_B ("\xc0"),
                               S_B ("\xb4" "BBBBBBBBBBBBBBBBBBBB")),
            "target as str rejected");

    char endpoint[CHORD_ENDPOINT_MAX + 1];
    memset (endpoint, 'e', sizeof endpoint);
    s_raw_t raw;
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 6);
    msgpack_pack_uint32 (&raw.pk, CHORD_PROTOCOL_VERSION);
    msgpack_pack_uint32 (&raw.pk, CHORD_MSG_PING);
    msgpack_pack_uint32 (&raw.pk, 1);
    s_raw_peer (&raw, CHORD_ID_BYTES, endpoint, CHORD_ENDPOINT_MAX);
    msgpack_pack_nil (&raw.pk);
    msgpack_pack_map (&raw.pk, 0);
    tap_ok (s_raw_decodes (&raw), "sender endpoint of CHORD_ENDPOINT_MAX accepted");
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 6);
    msgpack_pack_uint32 (&raw.pk, CHORD_PROTOCOL_VERSION);
    msgpack_pack_uint32 (&raw.pk, CHORD_MSG_PING);
    msgpack_pack_uint32 (&raw.pk, 1);
    s_raw_peer (&raw, CHORD_ID_BYTES, endpoint, CHORD_ENDPOINT_MAX + 1);
    msgpack_pack_nil (&raw.pk);
    msgpack_pack_map (&raw.pk, 0);
    tap_ok (!s_raw_decodes (&raw), "sender endpoint of CHORD_ENDPOINT_MAX + 1 rejected");

    tap_ok (!s_decodes (S_B ("\x95\x02\x06\x2a\xc0\xc0")), "a 5-array rejected");
    tap_ok (!s_decodes (S_B ("\x97\x02\x06\x2a\xc0\xc0\x80\xc0")), "a 7-array rejected");
    tap_ok (!s_decodes (S_B ("\x81\xa1v\x01")), "a top-level map rejected");
    tap_ok (s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x80")), "control: minimal ping");
    tap_ok (!s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x90")), "body as array rejected");
    tap_ok (!s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\xc0")), "body nil rejected");
    tap_ok (!s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x81\x01\x01")), "body key int rejected");
    tap_ok (!s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x81\xc4\x02st\x01")),
            "body key as bin rejected");
    tap_ok (s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x81\xa2st\x01")), "control: body key as str");
    tap_ok (!s_decodes (S_B ("\x96\x02\x06\x2a\xc0\xc0\x82\xa2st\x01\xa2st\x02")),
            "a field given twice rejected");
}

/* Body field rules, each case a PING whose body holds one field. */
static void s_test_field_rules (void)
{
    s_raw_t v;

    tap_ok (s_field_decodes ("zz", S_B ("\x93\xc0\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xd4\x01\x02")),
            "unknown field (array of nil, double, fixext) skipped");
    tap_ok (s_field_decodes ("", S_B ("\x81\xa1x\xc3")), "unknown empty field name skipped");

    tap_ok (s_field_decodes ("st", S_B ("\x08")), "st 8 (redirect) accepted");
    tap_ok (s_field_decodes ("st", S_B ("\x09")), "st 9 (no_quorum) accepted");
    tap_ok (s_field_decodes ("st", S_B ("\x0a")), "st 10 (forbidden) accepted");
    tap_ok (!s_field_decodes ("st", S_B ("\x0b")), "st 11 rejected");
    tap_ok (!s_field_decodes ("st", S_B ("\xff")), "st -1 rejected");
    tap_ok (!s_field_decodes ("st", S_B ("\xa1" "0")), "st as str rejected");
    tap_ok (!s_field_decodes ("st", S_B ("\xc0")), "st nil rejected");
    tap_ok (!s_field_decodes ("st", S_B ("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")),
            "st 2^32 rejected");

    tap_ok (s_field_decodes ("id", S_B ("\xc4\x14" "AAAAAAAAAAAAAAAAAAAA")), "id of 20 accepted");
    tap_ok (!s_field_decodes ("id", S_B ("\xc4\x13" "AAAAAAAAAAAAAAAAAAA")), "id of 19 rejected");
    tap_ok (!s_field_decodes ("id", S_B ("\xb4" "AAAAAAAAAAAAAAAAAAAA")), "id as str rejected");

    tap_ok (s_field_decodes ("done", S_B ("\xc2")), "done false accepted");
    tap_ok (!s_field_decodes ("done", S_B ("\x01")), "done as int rejected");
    tap_ok (!s_field_decodes ("fin", S_B ("\xc0")), "fin nil rejected");
    tap_ok (s_field_decodes ("fin", S_B ("\xc3")), "fin true accepted");
    tap_ok (s_field_decodes ("fb", S_B ("\xc3")), "fb true accepted");
    tap_ok (s_field_decodes ("fb", S_B ("\xc2")), "fb false accepted");
    tap_ok (!s_field_decodes ("fb", S_B ("\x01")), "fb as int rejected");
    tap_ok (!s_field_decodes ("fb", S_B ("\xc0")), "fb nil rejected");
    tap_ok (!s_field_decodes ("fb", S_B ("\xa4true")), "fb as str rejected");
    tap_ok (!s_field_decodes ("fb", S_B ("\xc4\x01\x01")), "fb as bin rejected");

    tap_ok (!s_field_decodes ("peer", S_B ("\xc0")), "peer nil rejected");
    tap_ok (!s_field_decodes ("peer", S_B ("\x91\xc4\x14" "AAAAAAAAAAAAAAAAAAAA")),
            "peer as a 1-array rejected");
    tap_ok (s_field_decodes ("pred", S_B ("\xc0")), "pred nil accepted");
    tap_ok (!s_field_decodes ("pred", S_B ("\x00")), "pred as int rejected");
    tap_ok (!s_field_decodes ("pred", S_B ("\x92\xc4\x14" "AAAAAAAAAAAAAAAAAAAA" "\xa0")),
            "pred with an empty endpoint rejected");

    const char *names[] = { "succ", "fing" };
    const size_t caps[] = { CHORD_PEER_LIST_MAX, CHORD_FINGER_LIST_MAX };
    for (size_t n = 0; n < 2; n++) {
        for (size_t extra = 0; extra < 2; extra++) {
            s_raw_init (&v);
            msgpack_pack_array (&v.pk, caps[n] + extra);
            for (size_t i = 0; i < caps[n] + extra; i++)
                s_raw_peer (&v, CHORD_ID_BYTES, "tcp://x:1", 9);
            int ok = s_field_raw_decodes (names[n], &v);
            tap_ok (extra ? !ok : ok, "%s of %zu peers %s", names[n], caps[n] + extra,
                    extra ? "rejected" : "accepted");
        }
        s_raw_init (&v);
        msgpack_pack_array (&v.pk, 2);
        s_raw_peer (&v, CHORD_ID_BYTES, "tcp://x:1", 9);
        msgpack_pack_nil (&v.pk);
        tap_ok (!s_field_raw_decodes (names[n], &v), "%s holding a nil rejected", names[n]);
        tap_ok (!s_field_decodes (names[n], S_B ("\xc0")), "%s nil rejected", names[n]);
    }

    for (size_t extra = 0; extra < 2; extra++) {
        s_raw_init (&v);
        msgpack_pack_array (&v.pk, CHORD_EXCLUDE_MAX + extra);
        for (size_t i = 0; i < CHORD_EXCLUDE_MAX + extra; i++)
            s_raw_bin (&v, "AAAAAAAAAAAAAAAAAAAA", CHORD_ID_BYTES);
        int ok = s_field_raw_decodes ("excl", &v);
        tap_ok (extra ? !ok : ok, "excl of %zu ids %s", CHORD_EXCLUDE_MAX + extra,
                extra ? "rejected" : "accepted");
    }
    tap_ok (!s_field_decodes ("excl", S_B ("\x91\xc4\x13" "AAAAAAAAAAAAAAAAAAA")),
            "excl holding a 19-byte id rejected");

    tap_ok (s_field_decodes ("op", S_B ("\x03")), "op 3 accepted");
    tap_ok (!s_field_decodes ("op", S_B ("\x00")), "op 0 rejected");
    tap_ok (!s_field_decodes ("op", S_B ("\x04")), "op 4 rejected");

    tap_ok (s_field_decodes ("key", S_B ("\xc4\x01\x00")), "key of one NUL accepted");
    tap_ok (!s_field_decodes ("key", S_B ("\xc4\x00")), "empty key rejected");
    tap_ok (!s_field_decodes ("key", S_B ("\xa1k")), "key as str rejected");
    for (size_t extra = 0; extra < 2; extra++) {
        s_raw_init (&v);
        s_raw_bin (&v, s_key, CHORD_KEY_MAX + extra);
        int ok = s_field_raw_decodes ("key", &v);
        tap_ok (extra ? !ok : ok, "key of %zu bytes %s", CHORD_KEY_MAX + extra,
                extra ? "rejected" : "accepted");
    }
    tap_ok (s_field_decodes ("val", S_B ("\xc4\x00")), "empty val accepted");
    tap_ok (!s_field_decodes ("val", S_B ("\xc0")), "val nil rejected");
    for (size_t extra = 0; extra < 2; extra++) {
        s_raw_init (&v);
        s_raw_bin (&v, s_value, CHORD_VALUE_MAX + extra);
        int ok = s_field_raw_decodes ("val", &v);
        tap_ok (extra ? !ok : ok, "val of %zu bytes %s", CHORD_VALUE_MAX + extra,
                extra ? "rejected" : "accepted");
    }
    s_raw_init (&v);
    s_raw_bin (&v, s_value, CHORD_ITEM_VALUE_MAX);
    tap_ok (!s_field_raw_decodes ("val", &v), "val of CHORD_ITEM_VALUE_MAX rejected");

    tap_ok (s_field_decodes ("tmo", S_B ("\xce\xff\xff\xff\xff")), "tmo 2^32-1 accepted");
    tap_ok (!s_field_decodes ("tmo", S_B ("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")),
            "tmo 2^32 rejected");
    tap_ok (!s_field_decodes ("tmo", S_B ("\xd0\xfe")), "tmo -2 rejected");
    tap_ok (!s_field_decodes ("hops", S_B ("\xc3")), "hops as bool rejected");
    tap_ok (!s_field_decodes ("hops", S_B ("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")),
            "hops 2^32 rejected");
    tap_ok (s_field_decodes ("cnt", S_B ("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")),
            "cnt 2^64-1 accepted");
    tap_ok (!s_field_decodes ("cnt", S_B ("\xd3\xff\xff\xff\xff\xff\xff\xff\xff")),
            "cnt -1 (int64) rejected");
    tap_ok (!s_field_decodes ("xfer", S_B ("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00")),
            "xfer as double rejected");

    for (size_t extra = 0; extra < 2; extra++) {
        s_raw_init (&v);
        msgpack_pack_array (&v.pk, CHORD_ITEMS_MAX + extra);
        for (size_t i = 0; i < CHORD_ITEMS_MAX + extra; i++) {
            msgpack_pack_array (&v.pk, 2);
            s_raw_bin (&v, "k", 1);
            s_raw_bin (&v, "", 0);
        }
        int ok = s_field_raw_decodes ("items", &v);
        tap_ok (extra ? !ok : ok, "items of %zu entries %s", CHORD_ITEMS_MAX + extra,
                extra ? "rejected" : "accepted");
    }
    tap_ok (s_field_decodes ("items", S_B ("\x90")), "empty items accepted");
    tap_ok (!s_field_decodes ("items", S_B ("\x91\x93\xc4\x01k\xc4\x00\xc0")),
            "an item as a 3-array rejected");
    tap_ok (!s_field_decodes ("items", S_B ("\x91\x92\xc4\x00\xc4\x00")),
            "an item with an empty key rejected");
    tap_ok (!s_field_decodes ("items", S_B ("\x91\x92\xa1k\xc4\x00")),
            "an item with a str key rejected");
    tap_ok (!s_field_decodes ("items", S_B ("\x92\x92\xc4\x01k\xc4\x00\x92\xc4\x01k\xc0")),
            "a second item with a nil value rejected");
    s_raw_init (&v);
    msgpack_pack_array (&v.pk, 1);
    msgpack_pack_array (&v.pk, 2);
    s_raw_bin (&v, s_key, CHORD_KEY_MAX + 1);
    s_raw_bin (&v, "", 0);
    tap_ok (!s_field_raw_decodes ("items", &v), "an item key over CHORD_KEY_MAX rejected");
    const size_t item_lens[] = { CHORD_VALUE_MAX + 1, CHORD_ITEM_VALUE_MAX,
                                 CHORD_ITEM_VALUE_MAX + 1 };
    const char *item_names[] = { "CHORD_VALUE_MAX + 1", "CHORD_ITEM_VALUE_MAX",
                                 "CHORD_ITEM_VALUE_MAX + 1" };
    for (size_t n = 0; n < 3; n++) {
        s_raw_init (&v);
        msgpack_pack_array (&v.pk, 1);
        msgpack_pack_array (&v.pk, 2);
        s_raw_bin (&v, "k", 1);
        s_raw_bin (&v, s_value, item_lens[n]);
        int ok = s_field_raw_decodes ("items", &v);
        tap_ok (n < 2 ? ok : !ok, "an item value of %s (%zu bytes) %s", item_names[n],
                item_lens[n], n < 2 ? "accepted" : "rejected");
    }

    char text[CHORD_TEXT_MAX + 1];
    memset (text, 'x', sizeof text);
    for (size_t extra = 0; extra < 2; extra++) {
        s_raw_init (&v);
        msgpack_pack_str (&v.pk, CHORD_TEXT_MAX + extra);
        msgpack_pack_str_body (&v.pk, text, CHORD_TEXT_MAX + extra);
        int ok = s_field_raw_decodes ("text", &v);
        tap_ok (extra ? !ok : ok, "text of %zu bytes %s", CHORD_TEXT_MAX + extra,
                extra ? "rejected" : "accepted");
    }
    tap_ok (!s_field_decodes ("text", S_B ("\xc4\x01x")), "text as bin rejected");

    tap_ok (s_field_decodes ("state", S_B ("\x04")), "state 4 accepted");
    tap_ok (!s_field_decodes ("state", S_B ("\x05")), "state 5 rejected");

    for (int delta = -1; delta <= 1; delta++) {
        s_raw_init (&v);
        s_raw_bin (&v, s_digest, (size_t) (CHORD_DIGEST_SIZE + delta));
        int ok = s_field_raw_decodes ("dig", &v);
        tap_ok (delta == 0 ? ok : !ok, "dig of %d bytes %s", CHORD_DIGEST_SIZE + delta,
                delta == 0 ? "accepted" : "rejected");
    }
    tap_ok (!s_field_decodes ("dig", S_B ("\xc4\x00")), "empty dig rejected");
    tap_ok (!s_field_decodes ("dig", S_B ("\xc0")), "dig nil rejected");
    s_raw_init (&v);
    msgpack_pack_str (&v.pk, CHORD_DIGEST_SIZE);
    msgpack_pack_str_body (&v.pk, s_digest, CHORD_DIGEST_SIZE);
    tap_ok (!s_field_raw_decodes ("dig", &v), "dig as a str of %d bytes rejected",
            CHORD_DIGEST_SIZE);
    s_raw_init (&v);
    msgpack_pack_array (&v.pk, CHORD_SYNC_BUCKETS);
    for (int i = 0; i < CHORD_SYNC_BUCKETS; i++)
        msgpack_pack_uint64 (&v.pk, UINT64_MAX);
    tap_ok (!s_field_raw_decodes ("dig", &v), "dig as an array of %d uint64 rejected",
            CHORD_SYNC_BUCKETS);

    /* Structure bombs hidden in an unknown field. */
    s_raw_init (&v);
    for (int i = 0; i < 40; i++)
        msgpack_pack_array (&v.pk, 1);
    msgpack_pack_nil (&v.pk);
    tap_ok (!s_field_raw_decodes ("zz", &v), "40 nested arrays rejected");
    s_raw_init (&v);
    for (int i = 0; i < 10; i++)
        msgpack_pack_array (&v.pk, 1);
    msgpack_pack_nil (&v.pk);
    tap_ok (s_field_raw_decodes ("zz", &v), "10 nested arrays in an unknown field accepted");
    s_raw_init (&v);
    msgpack_pack_array (&v.pk, 70000);
    for (int i = 0; i < 70000; i++)
        msgpack_pack_nil (&v.pk);
    tap_ok (!s_field_raw_decodes ("zz", &v), "70,000 objects in one message rejected");
    tap_ok (!s_field_decodes ("zz", S_B ("\xdd\x00\x01\x00\x00\xc0")),
            "array claiming 65,536 elements, holding one, rejected");
}

/* Every type with required fields rejects each one missing. */
static void s_test_missing_required (void)
{
    static chord_msg_t msg;
    int controls = 1, missing = 1;
    for (size_t i = 0; i < S_TYPE_COUNT; i++) {
        uint32_t required = chord_msg_required_fields (s_types[i]);
        for (int bit = -1; bit < S_FIELD_BITS; bit++) {
            if (bit >= 0 && !(required & (1u << bit)))
                continue;
            /* Encoded as a PING (which requires nothing), relabelled: the
               type is the third byte, a positive fixint. */
            chord_msg_init (&msg, CHORD_MSG_PING, 1);
            s_fill (&msg, required & ~(bit >= 0 ? 1u << bit : 0u), 1);
            uint8_t *data;
            size_t size;
            if (chord_msg_encode (&msg, &data, &size) != 0) {
                controls = 0;
                continue;
            }
            data[2] = (uint8_t) s_types[i];
            int ok = s_decodes (data, size);
            free (data);
            if (bit < 0 && !ok)
                controls = 0;
            if (bit >= 0 && ok) {
                tap_diag ("%s decoded without field bit %d", chord_msg_type_name (s_types[i]),
                          bit);
                missing = 0;
            }
        }
    }
    tap_ok (controls, "every type decodes with exactly its required fields");
    tap_ok (missing, "every type rejects each missing required field");
}

/* Decodes a buffer that may or may not be valid. When it decodes, the
   result must re-encode, and that encoding must decode to the same. */
static int s_decode_any (const uint8_t *data, size_t size, size_t *accepted)
{
    static chord_msg_t first, second;
    if (chord_msg_decode (&first, data, size) != 0)
        return 1;
    (*accepted)++;
    int ok = 0;
    uint8_t *again;
    size_t again_size;
    if (chord_msg_encode (&first, &again, &again_size) == 0) {
        if (chord_msg_decode (&second, again, again_size) == 0) {
            ok = s_msg_eq (&first, &second);
            chord_msg_clear (&second);
        }
        free (again);
    }
    if (!ok)
        tap_diag ("a decoded message did not survive re-encoding");
    chord_msg_clear (&first);
    return ok;
}

static void s_test_garbage (void)
{
    enum { RANDOM_BUFFERS = 200000, RANDOM_SIZE_MAX = 512, MUTATIONS = 100000 };
    uint8_t buf[RANDOM_SIZE_MAX + 8];
    size_t accepted = 0;
    int ok = 1;
    for (int n = 0; n < RANDOM_BUFFERS; n++) {
        size_t size = (size_t) (s_rand () % (RANDOM_SIZE_MAX + 1));
        for (size_t i = 0; i < size; i++)
            buf[i] = (uint8_t) s_rand ();
        if (size > 0 && n % 2)
            buf[0] = 0x96;              /* a 6-array, to get past the first check */
        if (size > 1 && n % 4 == 1)
            buf[1] = CHORD_PROTOCOL_VERSION;
        /* A heap copy of exactly size bytes, so valgrind sees any over-read. */
        uint8_t *copy = malloc (size ? size : 1);
        memcpy (copy, buf, size);
        ok &= s_decode_any (copy, size, &accepted);
        free (copy);
    }
    tap_ok (ok, "%d random buffers of 0..%d bytes: no crash (%zu decoded)", RANDOM_BUFFERS,
            RANDOM_SIZE_MAX, accepted);

    /* Mutations of valid encodings of every type. */
    static chord_msg_t msg;
    uint8_t *seeds[S_TYPE_COUNT * 2];
    size_t seed_sizes[S_TYPE_COUNT * 2];
    size_t seed_count = 0;
    for (size_t i = 0; i < S_TYPE_COUNT; i++)
        for (int variant = 0; variant < 2; variant++) {
            chord_msg_init (&msg, s_types[i], 3 + i);
            if (variant) {
                msg.has_sender = true;
                s_make_peer (&msg.sender, 9);
                msg.has_target = true;
                s_make_id (&msg.target, 9);
            }
            s_fill (&msg, variant ? s_documented_fields (s_types[i])
                                  : chord_msg_required_fields (s_types[i]), (unsigned) i);
            if (chord_msg_encode (&msg, &seeds[seed_count], &seed_sizes[seed_count]) == 0)
                seed_count++;
        }
    accepted = 0;
    size_t mutated_max = 0;
    for (size_t i = 0; i < seed_count; i++)
        if (seed_sizes[i] > mutated_max)
            mutated_max = seed_sizes[i];
    uint8_t *mutant = malloc (mutated_max + 16);
    static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0x96, 0xc0, 0xc1,
                                           0xc3, 0xc4, 0xcc, 0xcf, 0xd0, 0xdc, 0xdd, 0xdf,
                                           0xe0, 0xff, 0x14, 0x13 };
    for (int n = 0; n < MUTATIONS; n++) {
        size_t which = (size_t) (s_rand () % seed_count);
        size_t size = seed_sizes[which];
        memcpy (mutant, seeds[which], size);
        int edits = 1 + (int) (s_rand () % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t) (s_rand () % size);
            switch (s_rand () % 5) {
            case 0: mutant[at] ^= (uint8_t) (1u << (s_rand () % 8)); break;
            case 1: mutant[at] = (uint8_t) s_rand (); break;
            case 2: mutant[at] = interesting[s_rand () % sizeof interesting]; break;
            case 3: mutant[at] = (uint8_t) (mutant[at] + 1); break;
            case 4: size = at + 1 + (size_t) (s_rand () % 16);   /* truncate or extend */
                    if (size > mutated_max + 16)
                        size = mutated_max + 16;
                    for (size_t k = seed_sizes[which]; k < size; k++)
                        mutant[k] = (uint8_t) s_rand ();
                    break;
            }
        }
        uint8_t *copy = malloc (size);
        memcpy (copy, mutant, size);
        ok &= s_decode_any (copy, size, &accepted);
        free (copy);
    }
    free (mutant);
    for (size_t i = 0; i < seed_count; i++)
        free (seeds[i]);
    tap_ok (ok, "%d mutations of valid encodings: no crash, survivors re-encode (%zu decoded)",
            MUTATIONS, accepted);
}

int main (void)
{
    s_data_init ();
    s_test_tables ();
    s_test_round_trips ();
    s_test_encode_limits ();
    s_test_framing ();
    s_test_header_rules ();
    s_test_field_rules ();
    s_test_missing_required ();
    s_test_garbage ();
    return tap_done ();
}
