/*  chord messages: the one definition of what travels on the wire.

    Every message, between peers and between chordctl and a peer, is one
    msgpack array of six elements:

        [version, type, request_id, sender, target, body]

    version     uint, CHORD_PROTOCOL_VERSION; any other value is rejected
    type        uint, a chord_msg_type_t
    request_id  uint64; a reply carries the id of the request it answers
    sender      nil (a client) or a peer: [id (bin 20), endpoint (str)]
    target      nil or bin 20: the ring position the message is for, when a
                process holds several virtual positions; nil means any
    body        map from short field names (str) to values; which fields a
                type requires is in chord_msg_required_fields(); unknown
                field names are skipped, so later versions may add fields

    Body fields (name on the wire, C field, msgpack type):
        "st"    status       uint (chord_status_t)
        "id"    id           bin 20
        "done"  done         bool
        "peer"  peer         peer (in a CLIENT_REPLY: the position that served a key
                             the receiver did not own, so the client may re-learn owners)
        "pred"  pred         peer, or nil for none (has_pred false)
        "succ"  peers        array of peers, at most CHORD_PEER_LIST_MAX
        "fing"  fingers      array of peers, at most CHORD_FINGER_LIST_MAX
        "excl"  excluded     array of bin 20, at most CHORD_EXCLUDE_MAX
        "op"    op           uint (chord_store_op_t)
        "key"   key          bin, 1..CHORD_KEY_MAX bytes
        "val"   value        bin, 0..CHORD_VALUE_MAX bytes
        "tmo"   timeout_ms   uint32
        "hops"  hops         uint32
        "cnt"   count        uint64
        "xfer"  transfer_id  uint64
        "fin"   final        bool
        "items" items        array of [key bin, value bin], at most CHORD_ITEMS_MAX
        "text"  text         str, at most CHORD_TEXT_MAX bytes
        "state" state        uint (chord_node_state_t)
        "fb"    fallback     bool: serve the key though its owner may be elsewhere
        "dig"   digest       bin, exactly CHORD_DIGEST_SIZE bytes (range digests)
        "hlc"   hlc          uint64: a write's version, assigned where the client's
        "wr"    writer       uint64  request entered the ring (record.h)
        "rf"    replicas     uint, at most CHORD_MSG_REPLICAS_MAX: the copies each key
                             has (--replicas), so a client can name their holders
        "cen"   census       array of 4 uint64: records owned, replica records,
                             tombstones, bytes stored (chord_census_t)

    Item values on the replication and handoff paths are records (record.h):
    a value with its version, at most CHORD_ITEM_VALUE_MAX bytes.

    A whole encoded message is at most CHORD_MESSAGE_MAX bytes.  */
#ifndef CHORD_MESSAGE_H
#define CHORD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"

#define CHORD_PROTOCOL_VERSION 2   /* 2: values travel as versioned records */
#define CHORD_STATE_MAX        4                   /* highest "state" value (chord_node_state_t) */

#define CHORD_ENDPOINT_MAX     255                 /* bytes in an endpoint string */
#define CHORD_KEY_MAX          4096                /* bytes in a key */
#define CHORD_VALUE_MAX        (1024 * 1024)       /* bytes in a value: 1 MiB */
#define CHORD_TEXT_MAX         1024                /* bytes in an error text */
#define CHORD_PEER_LIST_MAX    32                  /* peers in a successor list */
#define CHORD_FINGER_LIST_MAX  160                 /* peers in a finger list */
#define CHORD_EXCLUDE_MAX      64                  /* ids a lookup asks to avoid */
#define CHORD_ITEM_VALUE_MAX   (CHORD_VALUE_MAX + 64)  /* a value with its record header */
#define CHORD_SYNC_BUCKETS     64                  /* range digest buckets (bits of a uint64 mask) */
#define CHORD_DIGEST_SIZE      (CHORD_SYNC_BUCKETS * 8)
#define CHORD_ITEMS_MAX        4096                /* entries in one handoff batch */
#define CHORD_BATCH_BYTES_MAX  (2 * 1024 * 1024)   /* key+value bytes a sender puts in one batch */
#define CHORD_MESSAGE_MAX      (4 * 1024 * 1024)   /* bytes in one encoded message */
#define CHORD_MSG_REPLICAS_MAX 255                 /* the highest "rf" */

typedef enum {
    /* Between peers. */
    CHORD_MSG_FIND_SUCC = 1,        /* id, excl -> FIND_SUCC_REPLY */
    CHORD_MSG_FIND_SUCC_REPLY = 2,  /* done, peer: done means peer owns id, else ask peer next */
    CHORD_MSG_GET_STATE = 3,        /* cnt (optional: digest of the last STATE the asker got) -> STATE */
    CHORD_MSG_STATE = 4,            /* pred, succ; or only cnt, the asker's digest: unchanged */
    CHORD_MSG_NOTIFY = 5,           /* the sender may be the receiver's predecessor */
    CHORD_MSG_PING = 6,             /* -> PONG */
    CHORD_MSG_PONG = 7,
    CHORD_MSG_JOIN = 8,             /* the sender asks to join just before the receiver -> JOIN_REPLY */
    CHORD_MSG_JOIN_REPLY = 9,       /* st; if OK pred, succ (then HANDOFF follows); else peer to try, or text */
    CHORD_MSG_HANDOFF = 10,         /* xfer, items, fin, cnt (total items, on the final batch),
                                       pred (on a leave: the leaver's predecessor) */
    CHORD_MSG_HANDOFF_ACK = 11,     /* xfer, cnt (items received), st */
    CHORD_MSG_LEAVE_NOTICE = 12,    /* succ: the leaving sender's successor list */
    CHORD_MSG_STORE = 13,           /* op, key, val (put), fb, hlc+wr (put, del) -> STORE_REPLY */
    CHORD_MSG_STORE_REPLY = 14,     /* st, val (a found get) */
    /* Replication between peers. */
    CHORD_MSG_REPLICATE = 40,       /* items (records): keep each if newer -> REPLICATE_ACK */
    CHORD_MSG_REPLICATE_ACK = 41,   /* st, cnt (items kept or already newer) */
    CHORD_MSG_FETCH = 42,           /* key -> FETCH_REPLY */
    CHORD_MSG_FETCH_REPLY = 43,     /* st; items: the record, when found */
    CHORD_MSG_SYNC = 44,            /* id (lower bound), dig: digests of (id, sender] -> SYNC_REPLY */
    CHORD_MSG_SYNC_REPLY = 45,      /* cnt: mask of the buckets that differ */
    /* From chordctl to any peer. */
    CHORD_MSG_CLIENT_PUT = 20,      /* key, val, tmo -> CLIENT_REPLY */
    CHORD_MSG_CLIENT_GET = 21,      /* key, tmo -> CLIENT_REPLY with val */
    CHORD_MSG_CLIENT_DEL = 22,      /* key, tmo -> CLIENT_REPLY */
    CHORD_MSG_CLIENT_LOOKUP = 23,   /* key, tmo -> LOOKUP_REPLY */
    CHORD_MSG_CLIENT_INFO = 24,     /* -> INFO_REPLY */
    CHORD_MSG_CLIENT_LEAVE = 25,    /* -> CLIENT_REPLY once the data is handed off */
    CHORD_MSG_CLIENT_REPLY = 30,    /* st, val, text; peer: the position that served the key,
                                       when it was not the one asked (a client's
                                       map of owners is stale: refresh it) */
    CHORD_MSG_LOOKUP_REPLY = 31,    /* st, id (the key's), peer (owner), hops, text */
    CHORD_MSG_INFO_REPLY = 32,      /* peer (self), state, pred, succ, fing, cnt (keys stored) */
} chord_msg_type_t;

typedef enum {
    CHORD_STATUS_OK = 0,
    CHORD_STATUS_NOT_FOUND = 1,     /* no such key */
    CHORD_STATUS_WRONG_OWNER = 2,   /* the receiver does not own that key (now) */
    CHORD_STATUS_NOT_READY = 3,     /* joining or leaving: ask again shortly */
    CHORD_STATUS_TIMEOUT = 4,       /* no answer within the deadline */
    CHORD_STATUS_TOO_LARGE = 5,     /* key or value over its limit */
    CHORD_STATUS_BAD_REQUEST = 6,   /* malformed or missing fields */
    CHORD_STATUS_STORE_ERROR = 7,   /* the backend failed (disk full, say) */
    CHORD_STATUS_REDIRECT = 8,      /* JOIN: join before `peer` instead */
    CHORD_STATUS_NO_QUORUM = 9,     /* fewer replicas than the write quorum acknowledged */
    CHORD_STATUS_FORBIDDEN = 10,    /* the client's role does not allow this operation */
} chord_status_t;

typedef enum {
    CHORD_STORE_OP_PUT = 1,
    CHORD_STORE_OP_GET = 2,
    CHORD_STORE_OP_DEL = 3,
} chord_store_op_t;

typedef struct {
    chord_id_t id;                              /* position on the ring */
    char endpoint[CHORD_ENDPOINT_MAX + 1];      /* NUL-terminated ZeroMQ endpoint */
} chord_peer_t;

typedef struct {
    const uint8_t *key;      /* borrowed: points into the decoded buffer */
    size_t key_len;
    const uint8_t *value;    /* borrowed: points into the decoded buffer */
    size_t value_len;
} chord_item_t;

/* Bits naming body fields, one per field, for chord_msg_t.fields. */
enum {
    CHORD_F_STATUS = 1u << 0,
    CHORD_F_ID = 1u << 1,
    CHORD_F_DONE = 1u << 2,
    CHORD_F_PEER = 1u << 3,
    CHORD_F_PRED = 1u << 4,
    CHORD_F_SUCC = 1u << 5,
    CHORD_F_FINGERS = 1u << 6,
    CHORD_F_EXCLUDED = 1u << 7,
    CHORD_F_OP = 1u << 8,
    CHORD_F_KEY = 1u << 9,
    CHORD_F_VALUE = 1u << 10,
    CHORD_F_TIMEOUT = 1u << 11,
    CHORD_F_HOPS = 1u << 12,
    CHORD_F_COUNT = 1u << 13,
    CHORD_F_TRANSFER = 1u << 14,
    CHORD_F_FINAL = 1u << 15,
    CHORD_F_ITEMS = 1u << 16,
    CHORD_F_TEXT = 1u << 17,
    CHORD_F_STATE = 1u << 18,
    CHORD_F_FALLBACK = 1u << 19,
    CHORD_F_DIGEST = 1u << 20,
    CHORD_F_HLC = 1u << 21,
    CHORD_F_WRITER = 1u << 22,
    CHORD_F_REPLICAS = 1u << 23,
    CHORD_F_CENSUS = 1u << 24,
};

/* What a position's store holds, by kind, as an INFO_REPLY reports it. */
typedef struct {
    uint64_t owned;                 /* live records whose keys the position owns */
    uint64_t replica;               /* live records it keeps as a copy for another owner */
    uint64_t tombstones;            /* deletions kept until their grace period ends */
    uint64_t bytes;                 /* key and record bytes of all of them */
} chord_census_t;

/*  A decoded (or to-be-encoded) message. Header fields are always present;
    body fields are present when their bit is set in `fields`. Byte strings
    (key, value, text, items) are borrowed: when decoded they point into the
    buffer that was decoded, which must outlive the message.  */
typedef struct {
    uint32_t version;               /* CHORD_PROTOCOL_VERSION */
    chord_msg_type_t type;          /* what the message is */
    uint64_t request_id;            /* matches a reply to its request */
    bool has_sender;                /* false for a client */
    chord_peer_t sender;            /* the sending peer */
    bool has_target;                /* false: for any position of the receiver */
    chord_id_t target;              /* the receiving position */
    uint32_t fields;                /* CHORD_F_* bits: which body fields are present */

    chord_status_t status;
    chord_id_t id;
    bool done;
    chord_peer_t peer;
    bool has_pred;                  /* with CHORD_F_PRED: false when pred is nil */
    chord_peer_t pred;
    size_t peer_count;              /* entries used in peers[] */
    size_t finger_count;            /* entries used in fingers[] */
    size_t excluded_count;          /* entries used in excluded[] */
    chord_store_op_t op;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t timeout_ms;
    uint32_t hops;
    uint64_t count;
    uint64_t transfer_id;
    bool final;
    size_t item_count;
    chord_item_t *items;            /* decode: allocated, freed by chord_msg_clear;
                                       encode: borrowed from the caller */
    const char *text;               /* decode: a malloc'd NUL-terminated copy, freed by
                                       chord_msg_clear; encode: borrowed */
    size_t text_len;
    uint32_t state;
    bool fallback;
    const uint8_t *digest;          /* borrowed; CHORD_DIGEST_SIZE bytes */
    uint64_t hlc;
    uint64_t writer;
    uint32_t replicas;
    chord_census_t census;
    /* The lists come last and only their counted entries are meaningful, so
       init and clear need not wipe some 50 KB per message. */
    chord_id_t excluded[CHORD_EXCLUDE_MAX];
    chord_peer_t peers[CHORD_PEER_LIST_MAX];
    chord_peer_t fingers[CHORD_FINGER_LIST_MAX];
} chord_msg_t;

/* Sets *msg to an empty message of the given type, version and request id,
   with no sender, no target and no body fields. */
void chord_msg_init (chord_msg_t *msg, chord_msg_type_t type, uint64_t request_id);

/* Frees what decoding allocated (items, text) and empties *msg. Only call on
   a message filled by chord_msg_decode (or chord_msg_init): on a message
   built for encoding it would free the caller's items and text. */
void chord_msg_clear (chord_msg_t *msg);

/* The body fields (CHORD_F_* bits) a message of this type must carry, or
   -1 cast to uint32_t (UINT32_MAX) for a type this version does not know. */
uint32_t chord_msg_required_fields (chord_msg_type_t type);

/* The body fields a message of this type may carry: the required ones and
   its optional ones; 0 for an unknown type. Decoding skips any other field
   once it has checked it, so a handler never sees a field its type does
   not carry. */
uint32_t chord_msg_allowed_fields (chord_msg_type_t type);

/* Encodes msg. On success returns 0 and sets *data (malloc'd, owned by the
   caller, free() it) and *size. Returns -1 when a field breaks its limit,
   a required field is missing, or the result would exceed CHORD_MESSAGE_MAX. */
int chord_msg_encode (const chord_msg_t *msg, uint8_t **data, size_t *size);

/*  Decodes the size bytes at data into *msg (which need not be initialised).
    Returns 0, or -1 for anything malformed: not msgpack, trailing bytes,
    wrong shape or types, unknown version or type, a missing required field,
    any size over its limit. On -1, *msg holds nothing to free. On 0, call
    chord_msg_clear when done; borrowed fields point into data.  */
int chord_msg_decode (chord_msg_t *msg, const uint8_t *data, size_t size);

/* A short lowercase name for a type ("find_succ"), or "unknown". */
const char *chord_msg_type_name (chord_msg_type_t type);

/* A short lowercase name for a status ("not_found"), or "unknown". */
const char *chord_status_name (chord_status_t status);

#endif
