/*  A libFuzzer target for a live node: everything chord_node_receive,
    chord_node_handle, chord_node_tick and chord_node_leave do with what
    the network sends.

    Input: one byte choosing the node's shape and configuration, then
    steps [op][length, 2 bytes little-endian][payload] (fuzz_input.h):

        FUZZ_NODE_OP_RAW        deliver the payload as an encoded message with an origin
        FUZZ_NODE_OP_RAW_REPLY  deliver it without origin (as a reply on our connection)
        FUZZ_NODE_OP_TICK       advance the clock (to the next deadline, through many, or
                                by N ms) and tick
        FUZZ_NODE_OP_LEAVE      chord_node_leave
        FUZZ_NODE_OP_RAW_ROLE   deliver with a chosen role (all five) and origin or not
        FUZZ_NODE_OP_BUILD      build a *valid* message of a chosen type and deliver it
        FUZZ_NODE_OP_REPLY      build the reply to a request the node sent (same request
                                id, sender the peer asked), or another message about the
                                same exchange (a joiner's HANDOFF), and deliver it

    After each step every message the node queued is popped, decoded (the
    target aborts when the node emits one it would itself refuse) and
    freed; the requests among them feed the ids FUZZ_NODE_OP_REPLY answers.

    Shapes: an established member of a six-peer ring (chord_node_start_member,
    ids BLAKE2b of the endpoints), a joiner (chord_node_start with seeds),
    or the first peer of a new ring. Other bits of the first byte choose
    replication, the owner cache and the write quorum.

    Replay under gcc (valgrind): build/replay/fuzz_node FILE...  */

#include "fuzz_input.h"
#include "id.h"
#include "message.h"
#include "node.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    FUZZ_NODE_OP_RAW = 0,
    FUZZ_NODE_OP_RAW_REPLY = 1,
    FUZZ_NODE_OP_TICK = 2,
    FUZZ_NODE_OP_LEAVE = 3,
    FUZZ_NODE_OP_RAW_ROLE = 4,
    FUZZ_NODE_OP_BUILD = 5,
    FUZZ_NODE_OP_REPLY = 6,
    FUZZ_NODE_OPS = 7,
};

enum { FUZZ_NODE_MEMBER = 0, FUZZ_NODE_JOINER = 1, FUZZ_NODE_ALONE = 2, FUZZ_NODE_SHAPES = 3 };

#define S_STEPS_MAX      512                    /* steps one input may take */
#define S_START_MS       1000000                /* the node's clock at start */
#define S_WALL_OFFSET_MS 1700000000000LL        /* its wall clock: late 2023 */
#define S_SENT_MAX       16                     /* requests remembered for replies */
#define S_ORIGINS        4                      /* distinct clients and peers calling in */

static const char s_self[] = "tcp://10.0.0.1:7000";
/* The rest of the ring. The last one also holds a second position. */
static const char *const s_members[] = {
    "tcp://10.0.0.2:7000", "tcp://10.0.0.3:7000", "tcp://10.0.0.4:7000",
    "tcp://10.0.0.5:7000", "tcp://10.0.0.6:7000",
};
#define S_MEMBER_COUNT (sizeof s_members / sizeof s_members[0])

/* A request the node sent, to be answered. */
typedef struct {
    chord_msg_type_t type;
    uint64_t request_id;
    bool to_origin;                         /* sent as a reply (a handoff to a joiner) */
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* where it went, with !to_origin */
    bool has_target;
    chord_id_t target;                      /* the position it was for */
} s_sent_t;

typedef struct {
    chord_node_t *node;
    chord_store_t *store;
    uint64_t rng;                           /* xorshift64 state */
    uint64_t now_ms;
    fuzz_world_t world;
    s_sent_t sent[S_SENT_MAX];
    size_t sent_count;
    size_t sent_next;
    chord_msg_t *msg;                       /* scratch: decoding and building */
    fuzz_scratch_t *scratch;
} s_run_t;

static void s_random_bytes (void *arg, void *buf, size_t len)
{
    uint64_t *state = arg;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        out[i] = (uint8_t) (*state >> 24);
    }
}

/* Formats every line, as chordd's logger would, so format bugs show. */
static void s_log (void *arg, chord_log_level_t level, const char *line)
{
    size_t *bytes = arg;
    *bytes += strlen (line) + (size_t) level;
}

static int s_peer_cmp (const void *a, const void *b)
{
    return chord_id_cmp (&((const chord_peer_t *) a)->id, &((const chord_peer_t *) b)->id);
}

/*  Starts the node in the shape the first byte chose. 0, or -1 when the
    node refuses to start, which no shape should make it do.  */
static int s_start (s_run_t *run, uint8_t shape)
{
    chord_peer_t ring[S_MEMBER_COUNT + 1];
    size_t count = 0;
    snprintf (ring[count].endpoint, sizeof ring[count].endpoint, "%s", s_self);
    chord_id_of_position (&ring[count++].id, s_self, 0);
    for (size_t i = 0; i < S_MEMBER_COUNT; i++) {
        snprintf (ring[count].endpoint, sizeof ring[count].endpoint, "%s", s_members[i]);
        chord_id_of_position (&ring[count++].id, s_members[i], 0);
    }
    switch (shape % FUZZ_NODE_SHAPES) {
    case FUZZ_NODE_MEMBER: {
        qsort (ring, count, sizeof ring[0], s_peer_cmp);
        size_t me = 0;
        while (strcmp (ring[me].endpoint, s_self) != 0)
            me++;
        chord_peer_t succs[3];
        for (size_t i = 0; i < 3; i++)
            succs[i] = ring[(me + 1 + i) % count];
        const chord_peer_t *pred = &ring[(me + count - 1) % count];
        return chord_node_start_member (run->node, pred, succs, 3, NULL, NULL, run->now_ms);
    }
    case FUZZ_NODE_JOINER: {
        const char *seeds[] = { s_members[0], s_members[2] };
        return chord_node_start (run->node, seeds, 2, run->now_ms);
    }
    default:
        return chord_node_start (run->node, NULL, 0, run->now_ms);
    }
}

/* Pops, checks and frees everything the node queued; remembers requests. */
static void s_drain (s_run_t *run)
{
    chord_outgoing_t out;
    while (chord_node_pop_outgoing (run->node, &out)) {
        if (out.kind == CHORD_DEST_PEER
            ? strnlen (out.endpoint, sizeof out.endpoint) == 0
                  || strnlen (out.endpoint, sizeof out.endpoint) > CHORD_ENDPOINT_MAX
            : out.kind != CHORD_DEST_ORIGIN || out.origin.size > CHORD_ORIGIN_MAX)
            abort ();               /* a destination the driver cannot use */
        if (out.kind == CHORD_DEST_ORIGIN
            && (out.origin.size != 4 || memcmp (out.origin.bytes, "org", 3) != 0
                || out.origin.bytes[3] < '0' || out.origin.bytes[3] >= '0' + S_ORIGINS))
            abort ();               /* a reply to an address no message came from */
        if (chord_msg_decode (run->msg, out.data, out.size) != 0)
            abort ();               /* the node sent what no peer would accept */
        bool client_request = run->msg->type >= CHORD_MSG_CLIENT_PUT
                              && run->msg->type <= CHORD_MSG_CLIENT_LEAVE;
        if (fuzz_reply_type (run->msg->type) != 0 && !client_request) {
            s_sent_t *sent = &run->sent[run->sent_next];
            run->sent_next = (run->sent_next + 1) % S_SENT_MAX;
            if (run->sent_count < S_SENT_MAX)
                run->sent_count++;
            sent->type = run->msg->type;
            sent->request_id = run->msg->request_id;
            sent->to_origin = out.kind == CHORD_DEST_ORIGIN;
            memcpy (sent->endpoint, out.endpoint, sizeof sent->endpoint);
            sent->has_target = run->msg->has_target;
            sent->target = run->msg->target;
            fuzz_world_add_id (&run->world, run->msg->request_id);
        }
        chord_msg_clear (run->msg);
        free (out.data);
    }
}

static void s_origin (chord_origin_t *origin, uint8_t which)
{
    origin->size = 4;
    memcpy (origin->bytes, "org", 3);
    origin->bytes[3] = (uint8_t) ('0' + which % S_ORIGINS);
}

/* A role byte: every role, the peer's most often (most messages are a peer's). */
static chord_role_t s_role (uint8_t choice)
{
    return choice % 8 <= CHORD_ROLE_PEER ? (chord_role_t) (choice % 8) : CHORD_ROLE_PEER;
}

/*  The least role that may send a message of this type (node.h), written
    out again on purpose: it is the fuzzer's own oracle for node_gate.c's
    table, so that one mistake cannot pass both.  */
static chord_role_t s_role_needed (chord_msg_type_t type)
{
    switch (type) {
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_LOOKUP:
    case CHORD_MSG_CLIENT_INFO:
        return CHORD_ROLE_READ;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_DEL:
        return CHORD_ROLE_WRITE;
    case CHORD_MSG_CLIENT_LEAVE:
        return CHORD_ROLE_ADMIN;
    default:
        return CHORD_ROLE_PEER;
    }
}

/*  A message beyond its sender's role must change nothing the sender can
    see: no message goes out but, to a known client with an origin, one
    CLIENT_REPLY saying "forbidden".  */
static void s_check_refusal (s_run_t *run, chord_role_t role, chord_msg_type_t type, uint64_t request_id)
{
    chord_outgoing_t out;
    size_t sent = 0;
    while (chord_node_pop_outgoing (run->node, &out)) {
        if (++sent > 1 || role == CHORD_ROLE_NONE || s_role_needed (type) == CHORD_ROLE_PEER
            || out.kind != CHORD_DEST_ORIGIN || chord_msg_decode (run->msg, out.data, out.size) != 0)
            abort ();
        if (run->msg->type != CHORD_MSG_CLIENT_REPLY || run->msg->status != CHORD_STATUS_FORBIDDEN
            || run->msg->request_id != request_id)
            abort ();
        chord_msg_clear (run->msg);
        free (out.data);
    }
}

static void s_deliver_encoded (s_run_t *run, const uint8_t *data, size_t size, bool with_origin,
                               uint8_t origin_choice, chord_role_t role)
{
    chord_origin_t origin;
    s_origin (&origin, origin_choice);
    /* Below the peer's role, know whether the node must refuse it. */
    bool refused = false;
    chord_msg_type_t type = 0;
    uint64_t request_id = 0;
    if (role < CHORD_ROLE_PEER && chord_msg_decode (run->msg, data, size) == 0) {
        type = run->msg->type;
        request_id = run->msg->request_id;
        refused = role < s_role_needed (type);
        chord_msg_clear (run->msg);
    }
    uint64_t refused_before = chord_node_stats (run->node)->messages_refused;
    chord_node_receive (run->node, data, size, with_origin ? &origin : NULL, role, run->now_ms);
    if (refused) {
        if (chord_node_stats (run->node)->messages_refused != refused_before + 1)
            abort ();
        s_check_refusal (run, role, type, request_id);
    }
}

/* Encodes the built message in run->msg and delivers it. */
static void s_deliver_built (s_run_t *run, bool with_origin, uint8_t origin_choice, chord_role_t role)
{
    uint8_t *data;
    size_t size;
    if (chord_msg_encode (run->msg, &data, &size) != 0)
        return;                     /* over a limit: the encoder's refusal is tested elsewhere */
    s_deliver_encoded (run, data, size, with_origin, origin_choice, role);
    free (data);
}

static void s_advance (s_run_t *run, uint64_t now_ms)
{
    run->now_ms = now_ms;
    run->world.wall_ms = run->now_ms + S_WALL_OFFSET_MS;
    chord_node_tick (run->node, run->now_ms);
}

/*  Mode bit 0: to the next deadline (timeouts, retries, maintenance);
    bit 2: that, many times over with no answers, far enough for several
    anti-entropy rounds and a tombstone purge; else by N ms (bit 1: N00).  */
static void s_tick (s_run_t *run, fuzz_bytes_t *payload)
{
    uint8_t mode = fuzz_u8 (payload);
    if (mode & 5) {
        unsigned rounds = (mode & 4) ? 1 + fuzz_u8 (payload) % 64 : 1;
        for (unsigned i = 0; i < rounds; i++) {
            uint64_t next = chord_node_next_deadline_ms (run->node);
            if (next == UINT64_MAX || next - run->now_ms > 10ull * 24 * 3600 * 1000)
                break;
            s_advance (run, next > run->now_ms ? next : run->now_ms);
            s_drain (run);
        }
    } else
        s_advance (run, run->now_ms + (uint64_t) fuzz_u16 (payload) * ((mode & 2) ? 100 : 1));
}

/* The peer a request went to, as it would name itself in its reply. */
static void s_peer_at (const s_run_t *run, const s_sent_t *sent, chord_peer_t *peer)
{
    snprintf (peer->endpoint, sizeof peer->endpoint, "%s", sent->endpoint);
    if (sent->has_target) {
        peer->id = sent->target;
        return;
    }
    for (size_t i = 0; i < run->world.peer_count; i++)
        if (strcmp (run->world.peers[i].endpoint, sent->endpoint) == 0) {
            peer->id = run->world.peers[i].id;
            return;
        }
    chord_id_of_position (&peer->id, sent->endpoint, 0);
}

static void s_reply (s_run_t *run, fuzz_bytes_t *payload)
{
    if (run->sent_count == 0)
        return;
    const s_sent_t *sent = &run->sent[fuzz_u8 (payload) % run->sent_count];
    uint8_t flags = fuzz_u8 (payload);
    /* The reply, or another message from the peer asked about the same
       exchange: a joiner's arc comes as a HANDOFF named by its JOIN's id. */
    chord_msg_type_t type = (flags & 0x10) ? fuzz_types[fuzz_u8 (payload) % FUZZ_TYPE_COUNT]
                                           : fuzz_reply_type (sent->type);
    fuzz_build_message (payload, &run->world, run->scratch, type, run->msg);
    run->msg->request_id = sent->request_id;
    if (run->msg->fields & CHORD_F_TRANSFER)
        run->msg->transfer_id = sent->request_id;
    if (!(flags & 1)) {
        /* Mostly from the peer asked; sometimes from whoever the builder chose. */
        run->msg->has_sender = !sent->to_origin;
        if (run->msg->has_sender)
            s_peer_at (run, sent, &run->msg->sender);
    }
    run->msg->has_target = false;
    /* A reply comes back on the connection the request left on: no origin.
       A handoff sent to a joiner's origin is acked on our ROUTER: origin. */
    s_deliver_built (run, sent->to_origin || (flags & 2), flags >> 5, CHORD_ROLE_PEER);
}

static void s_step (s_run_t *run, uint8_t op, fuzz_bytes_t *payload)
{
    size_t size;
    const uint8_t *data;
    switch (op % FUZZ_NODE_OPS) {
    case FUZZ_NODE_OP_RAW:
        data = fuzz_rest (payload, &size);
        s_deliver_encoded (run, data, size, true, op / FUZZ_NODE_OPS, CHORD_ROLE_PEER);
        break;
    case FUZZ_NODE_OP_RAW_REPLY:
        data = fuzz_rest (payload, &size);
        s_deliver_encoded (run, data, size, false, 0, CHORD_ROLE_PEER);
        break;
    case FUZZ_NODE_OP_TICK:
        s_tick (run, payload);
        break;
    case FUZZ_NODE_OP_LEAVE:
        chord_node_leave (run->node, run->now_ms);
        break;
    case FUZZ_NODE_OP_RAW_ROLE: {
        uint8_t flags = fuzz_u8 (payload);
        data = fuzz_rest (payload, &size);
        s_deliver_encoded (run, data, size, !(flags & 8), flags >> 4, s_role (flags));
        break;
    }
    case FUZZ_NODE_OP_BUILD: {
        uint8_t flags = fuzz_u8 (payload);
        chord_msg_type_t type = fuzz_types[fuzz_u8 (payload) % FUZZ_TYPE_COUNT];
        fuzz_build_message (payload, &run->world, run->scratch, type, run->msg);
        s_deliver_built (run, !(flags & 8), flags >> 4, s_role (flags));
        break;
    }
    case FUZZ_NODE_OP_REPLY:
        s_reply (run, payload);
        break;
    }
    s_drain (run);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fuzz_bytes_t in;
    fuzz_bytes_init (&in, data, size);
    uint8_t shape = fuzz_u8 (&in);

    s_run_t run = { .rng = 0x9e3779b97f4a7c15ull, .now_ms = S_START_MS };
    run.world.wall_ms = run.now_ms + S_WALL_OFFSET_MS;
    fuzz_world_add_peer (&run.world, s_self, 0);
    for (size_t i = 0; i < S_MEMBER_COUNT; i++)
        fuzz_world_add_peer (&run.world, s_members[i], 0);
    fuzz_world_add_peer (&run.world, s_members[S_MEMBER_COUNT - 1], 1);
    run.msg = malloc (sizeof *run.msg);
    run.scratch = malloc (sizeof *run.scratch);
    run.store = chord_store_mem_new ();
    chord_node_config_t config = {
        .endpoint = s_self,
        .successors = 3,
        .stabilize_interval_ms = 500,
        .rpc_timeout_ms = 1000,
        .owner_cache_size = (shape & 8) ? 8 : 0,
        .replicas = (shape & 4) ? 3 : 1,
        .write_quorum = (shape & 16) ? 1 : 0,
        .tombstone_grace_ms = 60000,
        .wall_offset_ms = S_WALL_OFFSET_MS,
    };
    chord_id_of_position (&config.id, s_self, 0);
    size_t logged = 0;
    chord_env_t env = { .store = run.store, .random_bytes = s_random_bytes, .random_arg = &run.rng,
                        .log = s_log, .log_arg = &logged };
    if (!run.msg || !run.scratch || !run.store || !(run.node = chord_node_new (&config, &env)))
        abort ();                   /* out of memory, or a config the node should take */
    if (s_start (&run, shape) != 0)
        abort ();
    s_drain (&run);

    uint8_t op;
    fuzz_bytes_t payload;
    for (size_t steps = 0; steps < S_STEPS_MAX && fuzz_next_step (&in, &op, &payload); steps++)
        s_step (&run, op, &payload);

    chord_node_destroy (&run.node);
    chord_store_destroy (&run.store);
    free (run.scratch);
    free (run.msg);
    return 0;
}
