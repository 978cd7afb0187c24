/*  chord node: client operations and their answers. A client's put, get,
    del or lookup enters here; what the entry peer cannot answer at once
    becomes a task (node_lookup.c finds the key's owner), and every answer
    to a client's data operation leaves through node_client_done or
    s_task_done, whether the owner was a peer or ourselves.

    Owns: the ledger of client requests in flight (node_clients_t), for
    their metrics; it reads the ring and the tasks, and starts
    coordinations (node_replica.c) that complete through
    node_client_done.  */

#include "node_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a present but empty value points: replies carry a value exactly
   when its pointer is not NULL, and an empty value is still a value. */
static const uint8_t s_empty_value[1];

/* The ledger slot to try first for a request: a hash of its id and origin. */
static size_t s_ledger_home (const chord_origin_t *origin, uint64_t request_id)
{
    uint64_t hash = request_id * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < origin->size && i < sizeof origin->bytes; i++)
        hash = (hash ^ origin->bytes[i]) * 0x100000001B3ull;
    return (size_t) (hash >> 32) % CHORD_CLIENT_LEDGER_SLOTS;
}

static bool s_ledger_match (const node_client_entry_t *entry, const chord_origin_t *origin, uint64_t request_id)
{
    return entry->used && entry->request_id == request_id && entry->origin.size == origin->size &&
           memcmp (entry->origin.bytes, origin->bytes, origin->size) == 0;
}

static bool s_client_op (chord_msg_type_t type, chord_client_op_t *op)
{
    switch (type) {
    case CHORD_MSG_CLIENT_GET: *op = CHORD_CLIENT_OP_GET; return true;
    case CHORD_MSG_CLIENT_PUT: *op = CHORD_CLIENT_OP_PUT; return true;
    case CHORD_MSG_CLIENT_DEL: *op = CHORD_CLIENT_OP_DEL; return true;
    case CHORD_MSG_CLIENT_LOOKUP: *op = CHORD_CLIENT_OP_LOOKUP; return true;
    case CHORD_MSG_CLIENT_INFO: *op = CHORD_CLIENT_OP_INFO; return true;
    case CHORD_MSG_CLIENT_LEAVE: *op = CHORD_CLIENT_OP_LEAVE; return true;
    default: return false;
    }
}

void node_clients_destroy (chord_node_t *self)
{
    assert (self);
    free (self->clients.ledger);
    self->clients.ledger = NULL;
}

void node_client_arrived (chord_node_t *self, chord_msg_type_t type, const chord_origin_t *origin,
                          uint64_t request_id, uint64_t now_ms)
{
    assert (self);
    assert (origin && origin->size <= CHORD_ORIGIN_MAX);
    chord_client_op_t op;
    if (!s_client_op (type, &op))
        return;
    if (!self->clients.ledger)
        self->clients.ledger = calloc (CHORD_CLIENT_LEDGER_SLOTS, sizeof *self->clients.ledger);
    if (!self->clients.ledger)
        return; /* out of memory: this request goes unmeasured */
    /* The same request again, else a free slot, else the oldest: one whose
       answer never came (a refusal to a stranger gets none). */
    size_t home = s_ledger_home (origin, request_id);
    node_client_entry_t *pick = NULL;
    for (size_t i = 0; i < CHORD_CLIENT_LEDGER_PROBE; i++) {
        node_client_entry_t *entry = &self->clients.ledger[(home + i) % CHORD_CLIENT_LEDGER_SLOTS];
        if (s_ledger_match (entry, origin, request_id)) {
            pick = entry;
            break;
        }
        if (!pick || (pick->used && (!entry->used || entry->arrived_ms < pick->arrived_ms)))
            pick = entry;
    }
    *pick = (node_client_entry_t) {.used = true, .origin = *origin, .request_id = request_id, .op = op,
                                   .arrived_ms = now_ms};
}

/* A client's request was answered with status: count it and time it. */
static void s_client_answered (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                               chord_status_t status)
{
    if (!self->clients.ledger)
        return;
    size_t home = s_ledger_home (origin, request_id);
    for (size_t i = 0; i < CHORD_CLIENT_LEDGER_PROBE; i++) {
        node_client_entry_t *entry = &self->clients.ledger[(home + i) % CHORD_CLIENT_LEDGER_SLOTS];
        if (!s_ledger_match (entry, origin, request_id))
            continue;
        unsigned slot = (unsigned) status < CHORD_STATUS_SLOTS ? (unsigned) status : CHORD_STATUS_SLOTS - 1;
        self->stats.client_requests[entry->op][slot]++;
        uint64_t elapsed_ms = self->clock_ms > entry->arrived_ms ? self->clock_ms - entry->arrived_ms : 0;
        chord_histogram_observe (&self->stats.client_duration_ms[entry->op], &chord_duration_ms_bounds,
                                 elapsed_ms);
        entry->used = false;
        return;
    }
}

/*  Answers a client with a CLIENT_REPLY; value NULL means none. served_by,
    when not NULL, is the position that served the key in our place: the
    client asked the wrong position, and may learn the ring again.  */
static void s_reply_client (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                            chord_status_t status, const uint8_t *value, size_t value_len, const char *text,
                            const chord_peer_t *served_by)
{
    assert (self);
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_CLIENT_REPLY, request_id);
    reply->fields = CHORD_F_STATUS;
    reply->status = status;
    if (served_by) {
        reply->fields |= CHORD_F_PEER;
        reply->peer = *served_by;
    }
    if (value) {
        reply->fields |= CHORD_F_VALUE;
        reply->value = value;
        reply->value_len = value_len;
    }
    if (text) {
        reply->fields |= CHORD_F_TEXT;
        reply->text = text;
        reply->text_len = strlen (text);
    }
    s_client_answered (self, origin, request_id, status);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

void node_reply_client (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                        chord_status_t status, const uint8_t *value, size_t value_len, const char *text)
{
    s_reply_client (self, origin, request_id, status, value, value_len, text, NULL);
}

static void s_reply_lookup (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                            chord_status_t status, const chord_id_t *key_id, const chord_peer_t *owner,
                            uint32_t hops)
{
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_LOOKUP_REPLY, request_id);
    reply->fields = CHORD_F_STATUS | CHORD_F_ID | CHORD_F_HOPS;
    reply->status = status;
    reply->id = *key_id;
    reply->hops = hops;
    if (owner) {
        reply->fields |= CHORD_F_PEER;
        reply->peer = *owner;
    }
    s_client_answered (self, origin, request_id, status);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

static chord_store_op_t s_task_op (const node_task_t *task)
{
    return task->kind == TASK_CLIENT_PUT   ? CHORD_STORE_OP_PUT
           : task->kind == TASK_CLIENT_GET ? CHORD_STORE_OP_GET
                                           : CHORD_STORE_OP_DEL;
}

/*  The owner (a peer, or we) answered a task's data operation; value NULL
    means none. A final answer goes to the client and ends the task; one
    that says the ring is moving sends the task round again.  */
static void s_task_done (chord_node_t *self, node_task_t *task, chord_status_t status, const uint8_t *value,
                         size_t value_len, uint64_t now_ms)
{
    switch (status) {
    case CHORD_STATUS_OK:
    case CHORD_STATUS_NOT_FOUND:
    case CHORD_STATUS_STORE_ERROR:
    case CHORD_STATUS_TOO_LARGE:
    case CHORD_STATUS_BAD_REQUEST:
        /* The key's owner was another position: tell the client which. */
        s_reply_client (self, &task->origin, task->client_request_id, status,
                        status == CHORD_STATUS_OK ? value : NULL, value_len,
                        status == CHORD_STATUS_STORE_ERROR ? "the owner's store failed" : NULL,
                        node_is_self (self, &task->hop) ? NULL : &task->hop);
        node_task_destroy (self, task);
        return;
    default:
        /* WRONG_OWNER, NOT_READY, NO_QUORUM: the ring is moving; look again shortly. */
        task->no_quorum = status == CHORD_STATUS_NO_QUORUM;
        node_owner_cache_forget (self, &task->hop.id);
        node_task_retry (self, task, now_ms);
    }
}

void node_client_done (chord_node_t *self, const node_answer_t *answer, chord_status_t status,
                       const uint8_t *value, size_t value_len, const char *text, uint64_t now_ms)
{
    assert (self);
    assert (answer && answer->kind != NODE_ANSWER_PEER);
    if (answer->kind == NODE_ANSWER_CLIENT) {
        node_reply_client (self, &answer->origin, answer->request_id, status, value, value_len, text);
        return;
    }
    node_task_t *task = node_task_find (self, answer->task_id);
    if (!task)
        return; /* it ended meanwhile: we began to leave */
    task->awaiting_copies = false;
    s_task_done (self, task, status, value, value_len, now_ms);
}

/*  Serves a data task's key with us as coordinator. A read answers the
    client and ends the task. A write that replicas must acknowledge
    completes the task instead (node_client_done), as a STORE_REPLY from
    another owner would, so a write short of its quorum is retried (with
    its version) until the client's deadline, wherever it entered.  */
static void s_task_apply_locally (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    assert (!task->rpc_id && !task->awaiting_copies);
    chord_store_op_t op = s_task_op (task);
    node_answer_t answer = {.kind = NODE_ANSWER_CLIENT, .origin = task->origin,
                            .request_id = task->client_request_id};
    if (op != CHORD_STORE_OP_GET && node_replicating (self)) {
        answer.kind = NODE_ANSWER_TASK;
        answer.task_id = task->id;
        task->awaiting_copies = true;
        task->hop = self->self;
        /* The answer may come at once and end or reschedule the task. */
        node_coordinate (self, op, task->key, task->key_len, task->value, task->value_len, &task->version,
                         &answer, now_ms);
        return;
    }
    if (node_coordinate (self, op, task->key, task->key_len, task->value, task->value_len, &task->version,
                         &answer, now_ms) == CHORD_STATUS_NOT_READY) {
        node_task_retry (self, task, now_ms);
        return;
    }
    node_task_destroy (self, task);
}

/* Asks the owner, a peer, to serve the task's key. */
static void s_task_ask_owner (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                              uint64_t now_ms)
{
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_STORE, 0);
    msg->fields = CHORD_F_OP | CHORD_F_KEY;
    if (task->has_avoid) {
        msg->fields |= CHORD_F_FALLBACK;
        msg->fallback = true;
    }
    msg->op = s_task_op (task);
    if (msg->op != CHORD_STORE_OP_GET) {
        msg->fields |= CHORD_F_HLC | CHORD_F_WRITER;
        msg->hlc = task->version.hlc;
        msg->writer = task->version.writer;
    }
    msg->key = task->key;
    msg->key_len = task->key_len;
    if (msg->op == CHORD_STORE_OP_PUT) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = task->value;
        msg->value_len = task->value_len;
    }
    task->hop = *owner;
    int rc = node_call (self, owner, msg, RPC_STORE, task, now_ms);
    node_msg_end (self, msg);
    if (rc != 0)
        node_task_retry (self, task, now_ms);
}

void node_client_task_found (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                             uint64_t now_ms)
{
    assert (self);
    assert (task && node_task_is_client (task) && owner);
    if (task->kind == TASK_CLIENT_LOOKUP) {
        s_reply_lookup (self, &task->origin, task->client_request_id, CHORD_STATUS_OK, &task->target, owner,
                        task->hops);
        node_task_destroy (self, task);
        return;
    }
    if (!node_is_self (self, owner))
        s_task_ask_owner (self, task, owner, now_ms);
    else if (node_owns (self, &task->target))
        s_task_apply_locally (self, task, now_ms);
    else
        node_task_retry (self, task, now_ms);
}

/* A client task ran out of time: answer TIMEOUT and end it. */
void node_task_expire (chord_node_t *self, node_task_t *task)
{
    assert (self);
    assert (task);
    if (task->kind == TASK_CLIENT_LOOKUP)
        s_reply_lookup (self, &task->origin, task->client_request_id, CHORD_STATUS_TIMEOUT, &task->target,
                        NULL, task->hops);
    else if (task->no_quorum)
        node_reply_client (self, &task->origin, task->client_request_id, CHORD_STATUS_NO_QUORUM, NULL, 0,
                           "too few replicas acknowledged the write in time");
    else
        node_reply_client (self, &task->origin, task->client_request_id, CHORD_STATUS_TIMEOUT, NULL, 0,
                           "no owner answered in time");
    self->stats.lookups_failed++;
    node_task_destroy (self, task);
}

void node_task_abandon (chord_node_t *self, node_task_t *task, const char *why)
{
    assert (self);
    assert (task && node_task_is_client (task));
    node_reply_client (self, &task->origin, task->client_request_id, CHORD_STATUS_NOT_READY, NULL, 0, why);
    node_task_destroy (self, task);
}

void node_on_store_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    assert (msg);
    node_task_t *task = rpc->task;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    const uint8_t *value = NULL;
    if (msg->fields & CHORD_F_VALUE)
        value = msg->value ? msg->value : s_empty_value;
    s_task_done (self, task, msg->status, value, msg->value_len, now_ms);
}

void node_on_info (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    const node_ring_t *ring = node_ring (self);
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_INFO_REPLY, msg->request_id);
    reply->fields = CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS | CHORD_F_COUNT |
                    CHORD_F_REPLICAS;
    reply->peer = self->self;
    reply->state = self->state;
    reply->has_pred = ring->has_pred && ring->pred_alive;
    reply->pred = ring->pred;
    reply->peer_count = ring->succ_count;
    memcpy (reply->peers, ring->succ, ring->succ_count * sizeof ring->succ[0]);
    for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
        if (!ring->finger_valid[i])
            continue;
        if (reply->finger_count > 0 &&
            chord_id_equal (&reply->fingers[reply->finger_count - 1].id, &ring->finger[i].id))
            continue;
        reply->fingers[reply->finger_count++] = ring->finger[i];
    }
    reply->count = chord_store_count (self->env.store);
    reply->replicas = (uint32_t) self->config.replicas;
    if (node_census_get (self, &reply->census))
        reply->fields |= CHORD_F_CENSUS;
    s_client_answered (self, origin, msg->request_id, CHORD_STATUS_OK);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

/* A client's put, get, del or lookup: answer now if we can, else start a task. */
void node_on_client_op (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    assert (self);
    assert (msg);
    chord_id_t key_id;
    chord_id_hash (&key_id, msg->key, msg->key_len);
    bool lookup = msg->type == CHORD_MSG_CLIENT_LOOKUP;
    if (self->state != CHORD_NODE_ACTIVE) {
        const char *text = self->state == CHORD_NODE_JOINING ? "this peer is still joining the ring"
                                                             : "this peer is leaving the ring";
        if (lookup)
            s_reply_lookup (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, &key_id, NULL, 0);
        else
            node_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, text);
        return;
    }
    if (msg->type == CHORD_MSG_CLIENT_PUT && !(msg->fields & CHORD_F_VALUE)) {
        node_reply_client (self, origin, msg->request_id, CHORD_STATUS_BAD_REQUEST, NULL, 0,
                           "put needs a value");
        return;
    }
    node_task_kind_t kind = msg->type == CHORD_MSG_CLIENT_PUT   ? TASK_CLIENT_PUT
                            : msg->type == CHORD_MSG_CLIENT_GET ? TASK_CLIENT_GET
                            : msg->type == CHORD_MSG_CLIENT_DEL ? TASK_CLIENT_DEL
                                                                : TASK_CLIENT_LOOKUP;
    /* The common case on small rings: we own the key. No task needed, but
       for a write that replicas must acknowledge: its task retries it. */
    bool retried_write = kind != TASK_CLIENT_GET && kind != TASK_CLIENT_LOOKUP && node_replicating (self);
    if (node_owns (self, &key_id) && !retried_write) {
        if (lookup) {
            s_reply_lookup (self, origin, msg->request_id, CHORD_STATUS_OK, &key_id, &self->self, 0);
            return;
        }
        chord_store_op_t op = kind == TASK_CLIENT_PUT   ? CHORD_STORE_OP_PUT
                              : kind == TASK_CLIENT_GET ? CHORD_STORE_OP_GET
                                                        : CHORD_STORE_OP_DEL;
        node_answer_t answer = {.kind = NODE_ANSWER_CLIENT, .origin = *origin, .request_id = msg->request_id};
        if (node_coordinate (self, op, msg->key, msg->key_len, msg->value, msg->value_len, NULL, &answer,
                             now_ms) != CHORD_STATUS_NOT_READY)
            return;
        /* In doubt: a task retries until the doubt clears or time runs out. */
    }
    uint64_t timeout_ms = (msg->fields & CHORD_F_TIMEOUT) && msg->timeout_ms
                              ? msg->timeout_ms
                              : CHORD_CLIENT_TIMEOUT_DEFAULT_MS;
    if (timeout_ms > CHORD_CLIENT_TIMEOUT_MAX_MS)
        timeout_ms = CHORD_CLIENT_TIMEOUT_MAX_MS;
    /* Answer a little before the client gives up, so it hears why. */
    timeout_ms -= timeout_ms / 10;
    node_task_t *task = node_task_new (self, kind, &key_id, now_ms + timeout_ms);
    if (!task) {
        node_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0,
                           "this peer is overloaded");
        return;
    }
    task->origin = *origin;
    task->client_request_id = msg->request_id;
    task->version = node_new_version (self, now_ms);
    if (!lookup) {
        task->key = malloc (msg->key_len);
        task->key_len = msg->key_len;
        if (msg->type == CHORD_MSG_CLIENT_PUT) {
            task->value = malloc (msg->value_len ? msg->value_len : 1);
            task->value_len = msg->value_len;
        }
        if (!task->key || (msg->type == CHORD_MSG_CLIENT_PUT && !task->value)) {
            node_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0,
                               "out of memory");
            node_task_destroy (self, task);
            return;
        }
        memcpy (task->key, msg->key, msg->key_len);
        /* Only a put carries a value: a get or del that sends one anyway
           has it ignored, never copied. */
        if (task->value && msg->value_len)
            memcpy (task->value, msg->value, msg->value_len);
    }
    node_lookup_start (self, task, now_ms);
}
