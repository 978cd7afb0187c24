/*  chord node: lookups and client operations. A task finds the owner of
    an id by iterative lookup, then, for a put, get or del, asks the owner.  */

#include "node_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_task_finish_lookup (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms);

node_task_t *node_task_new (chord_node_t *self, node_task_kind_t kind, const chord_id_t *target,
                            uint64_t deadline_ms)
{
    if (self->task_count >= CHORD_TASKS_MAX)
        return NULL;
    node_task_t *task = calloc (1, sizeof *task);
    if (!task)
        return NULL;
    task->kind = kind;
    task->target = *target;
    task->deadline_ms = deadline_ms;
    task->next = self->tasks;
    if (self->tasks)
        self->tasks->prev = task;
    self->tasks = task;
    self->task_count++;
    return task;
}

void node_task_destroy (chord_node_t *self, node_task_t *task)
{
    for (size_t i = 0; i < self->rpc_count;)
        if (self->rpcs[i].task == task)
            node_rpc_remove (self, &self->rpcs[i]);
        else
            i++;
    if (task->prev)
        task->prev->next = task->next;
    else
        self->tasks = task->next;
    if (task->next)
        task->next->prev = task->prev;
    self->task_count--;
    if (task->kind == TASK_FIX_FINGER)
        self->fixing_finger = false;
    if (task->kind == TASK_PROBE)
        self->probing = false;
    free (task->key);
    free (task->value);
    free (task);
}

bool node_task_is_client (const node_task_t *task)
{
    return task->kind <= TASK_CLIENT_LOOKUP;
}

/* Where a present but empty value points: replies carry a value exactly
   when its pointer is not NULL, and an empty value is still a value. */
static const uint8_t s_empty_value[1];

/* Answers a client with a CLIENT_REPLY; value NULL means none. */
void node_reply_client (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                        chord_status_t status, const uint8_t *value, size_t value_len, const char *text)
{
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_CLIENT_REPLY, request_id);
    reply->fields = CHORD_F_STATUS;
    reply->status = status;
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
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
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
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

static chord_store_op_t s_task_op (const node_task_t *task)
{
    return task->kind == TASK_CLIENT_PUT   ? CHORD_STORE_OP_PUT
           : task->kind == TASK_CLIENT_GET ? CHORD_STORE_OP_GET
                                           : CHORD_STORE_OP_DEL;
}

/*  Serves a data task's key with us as coordinator. A read answers the
    client and ends the task. A write that replicas must acknowledge
    answers the task instead, through an RPC_STORE entry as a STORE to
    another peer would, so a write short of its quorum is retried (with
    its version) until the client's deadline, wherever it entered.  */
static void s_task_apply_locally (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    chord_store_op_t op = s_task_op (task);
    node_answer_t answer = {.kind = NODE_ANSWER_CLIENT, .origin = task->origin,
                            .request_id = task->client_request_id};
    if (op != CHORD_STORE_OP_GET && node_replicating (self)) {
        answer.kind = NODE_ANSWER_TASK;
        answer.request_id = node_new_request_id (self);
        if (!node_rpc_add (self, answer.request_id, RPC_STORE, &self->self,
                           now_ms + self->config.rpc_timeout_ms, task)) {
            node_task_retry (self, task, now_ms);
            return;
        }
        task->rpc_id = answer.request_id;
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

/* A client task ran out of time: answer TIMEOUT and end it. */
void node_task_expire (chord_node_t *self, node_task_t *task)
{
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

/* Sends the next FIND of a lookup to task->hop. */
static void s_lookup_ask (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_FIND_SUCC, 0);
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->id = task->target;
    msg->excluded_count = task->excluded_count;
    memcpy (msg->excluded, task->excluded, task->excluded_count * sizeof task->excluded[0]);
    /* A joiner's first hop is a seed, known by endpoint only; so may a
       probe's be. Any position there can answer a find. */
    bool seed = (task->kind == TASK_JOIN || task->kind == TASK_PROBE) && task->hops == 0;
    int rc = node_call_at (self, &task->hop, !seed, msg, RPC_FIND, task, now_ms);
    node_msg_end (self, msg);
    if (rc != 0)
        node_task_retry (self, task, now_ms);
}

static void s_exclude (node_task_t *task, const chord_id_t *id)
{
    if (node_is_excluded (id, task->excluded, task->excluded_count))
        return;
    if (task->excluded_count == CHORD_EXCLUDE_MAX) {
        memmove (&task->excluded[0], &task->excluded[1], (CHORD_EXCLUDE_MAX - 1) * sizeof task->excluded[0]);
        task->excluded_count--;
    }
    task->excluded[task->excluded_count++] = *id;
}

/*  Starts (or restarts) the lookup of task->target: answered at once from
    our own tables when we can, else by asking the closest preceding peer.  */
void node_lookup_start (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    task->hops = 0;
    task->hop_timeouts = 0;
    task->redirects = 0;
    task->has_prev_hop = false;
    task->retry_at_ms = 0;
    /* Each attempt avoids only what is suspect now: a peer that was silent
       for a moment must be reachable again once its suspicion lapses. */
    task->excluded_count = 0;
    /* Tell the peers we ask about the silent peers we know of on the way to
       the target (the others cannot be on the path), keeping room for the
       hops that time out during this attempt. */
    for (size_t i = 0; i < self->suspect_count; i++)
        if (self->suspects[i].until_ms > now_ms && task->excluded_count < CHORD_EXCLUDE_MAX - 8 &&
            chord_id_in_half_open (&self->suspects[i].id, &self->self.id, &task->target))
            s_exclude (task, &self->suspects[i].id);

    if (task->kind == TASK_PROBE) {
        /* Only ourselves: the peers we suspect may be alive in the other ring. */
        task->excluded_count = 0;
        s_exclude (task, &self->self.id);
        s_lookup_ask (self, task, now_ms);
        return;
    }
    if (task->has_avoid)
        s_exclude (task, &task->avoid);
    if (task->kind == TASK_JOIN) {
        s_exclude (task, &self->self.id);
        snprintf (task->hop.endpoint, sizeof task->hop.endpoint, "%s", self->seeds[self->seed_next]);
        chord_id_hash (&task->hop.id, task->hop.endpoint, strlen (task->hop.endpoint));
        self->seed_next = (self->seed_next + 1) % self->seed_count;
        s_lookup_ask (self, task, now_ms);
        return;
    }
    if (node_owns (self, &task->target)) {
        s_task_finish_lookup (self, task, &self->self, now_ms);
        return;
    }
    const chord_peer_t *cached;
    if (task->attempts == 0 && task->kind <= TASK_CLIENT_DEL &&
        (cached = node_owner_cache_find (self, &task->target, now_ms))) {
        self->stats.owner_cache_hits++;
        s_task_finish_lookup (self, task, cached, now_ms);
        return;
    }
    if (!node_alone (self) && chord_id_in_half_open (&task->target, &self->self.id, &self->succ[0].id)) {
        s_task_finish_lookup (self, task,
                              node_first_live_successor (self, task->excluded, task->excluded_count, now_ms),
                              now_ms);
        return;
    }
    const chord_peer_t *next =
        node_closest_preceding (self, &task->target, task->excluded, task->excluded_count, now_ms);
    if (!next) {
        s_task_finish_lookup (self, task,
                              node_first_live_successor (self, task->excluded, task->excluded_count, now_ms),
                              now_ms);
        return;
    }
    task->hop = *next;
    s_lookup_ask (self, task, now_ms);
}

/* Schedules a fresh attempt after a backoff, or gives up past the deadline. */
void node_task_retry (chord_node_t *self, node_task_t *task, uint64_t now_ms)
{
    task->rpc_id = 0;
    if (task->kind == TASK_FIX_FINGER || task->kind == TASK_PROBE) {
        self->stats.lookups_failed++;
        node_task_destroy (self, task);
        return;
    }
    uint64_t delay_ms;
    if (task->kind == TASK_JOIN) {
        delay_ms = self->join_retry_ms;
        self->join_retry_ms = self->join_retry_ms * 2 > CHORD_JOIN_RETRY_MAX_MS ? CHORD_JOIN_RETRY_MAX_MS
                                                                                : self->join_retry_ms * 2;
    } else {
        delay_ms = (uint64_t) CHORD_RETRY_MIN_MS << (task->attempts < 6 ? task->attempts : 6);
        if (delay_ms > CHORD_RETRY_MAX_MS)
            delay_ms = CHORD_RETRY_MAX_MS;
    }
    delay_ms = node_jittered (self, delay_ms);
    task->attempts++;
    if (node_task_is_client (task) && now_ms + delay_ms >= task->deadline_ms) {
        node_task_expire (self, task);
        return;
    }
    task->retry_at_ms = now_ms + delay_ms;
}

/* A lookup found owner: do what the task needed the owner for. */
static void s_task_finish_lookup (chord_node_t *self, node_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms)
{
    self->stats.lookups_done++;
    self->stats.lookup_hops_total += task->hops;
    switch (task->kind) {
    case TASK_CLIENT_LOOKUP:
        s_reply_lookup (self, &task->origin, task->client_request_id, CHORD_STATUS_OK, &task->target, owner,
                        task->hops);
        node_task_destroy (self, task);
        return;
    case TASK_FIX_FINGER:
        self->finger[task->finger_index] = *owner;
        self->finger_valid[task->finger_index] = !node_is_self (self, owner);
        self->next_finger = (task->finger_index + 1) % CHORD_ID_BITS;
        if (self->next_finger == 0)
            self->fingers_built = true;
        node_task_destroy (self, task);
        return;
    case TASK_PROBE:
        node_probe_found (self, owner, now_ms);
        node_task_destroy (self, task);
        return;
    case TASK_JOIN:
        if (node_is_self (self, owner)) {
            node_task_retry (self, task, now_ms);
            return;
        }
        node_join_send (self, task, owner, now_ms);
        return;
    case TASK_CLIENT_PUT:
    case TASK_CLIENT_GET:
    case TASK_CLIENT_DEL:
        break;
    }
    if (node_is_self (self, owner)) {
        if (node_owns (self, &task->target))
            s_task_apply_locally (self, task, now_ms);
        else
            node_task_retry (self, task, now_ms);
        return;
    }
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

void node_on_find_succ_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    node_task_t *task = rpc->task;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    task->hops++;
    if (msg->done) {
        if ((msg->fields & CHORD_F_PRED) && msg->has_pred)
            node_owner_cache_put (self, &msg->pred.id, &msg->peer);
        s_task_finish_lookup (self, task, &msg->peer, now_ms);
        return;
    }
    /* Pointed back at the peer asked, or at ourselves (a stale position of
       ours, for a joiner), or walking too long: the tables are moving. */
    if (task->hops >= CHORD_LOOKUP_HOPS_MAX || chord_id_equal (&msg->peer.id, &task->hop.id) ||
        node_is_self (self, &msg->peer)) {
        char a[9];
        node_log (self, CHORD_LOG_DEBUG, "lookup of %s made no progress after %u hops",
                  node_short (&task->target, a), task->hops);
        node_task_retry (self, task, now_ms);
        return;
    }
    task->prev_hop = task->hop;
    task->has_prev_hop = true;
    task->hop = msg->peer;
    s_lookup_ask (self, task, now_ms);
}

void node_on_find_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms)
{
    node_task_t *task = rpc->task;
    chord_peer_t silent = rpc->peer;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    self->stats.rpc_timeouts++;
    if (task->kind == TASK_PROBE) {
        node_task_retry (self, task, now_ms);   /* ends it: the next probe asks someone else */
        return;
    }
    if (task->kind == TASK_JOIN && task->hops == 0) {
        node_log (self, CHORD_LOG_INFO, "seed %s did not answer; retrying", silent.endpoint);
        node_task_retry (self, task, now_ms);
        return;
    }
    node_suspect (self, &silent, false, now_ms);
    s_exclude (task, &silent.id);
    if (++task->hop_timeouts > CHORD_LOOKUP_TIMEOUTS_MAX) {
        node_task_retry (self, task, now_ms);
        return;
    }
    if (task->has_prev_hop) {
        /* Ask the peer that sent us to the silent one for another way. */
        task->hop = task->prev_hop;
        task->has_prev_hop = false;
        s_lookup_ask (self, task, now_ms);
    } else if (task->kind == TASK_JOIN)
        node_task_retry (self, task, now_ms);
    else
        node_lookup_start (self, task, now_ms);
}

void node_on_store (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms)
{
    if (!origin) {
        self->stats.messages_dropped++;
        return;
    }
    chord_id_t key_id;
    chord_id_hash (&key_id, msg->key, msg->key_len);
    node_answer_t answer = {.kind = NODE_ANSWER_PEER, .origin = *origin, .request_id = msg->request_id};
    chord_status_t status;
    /* A fallback request comes from a coordinator whose owner went silent:
       we hold copies of the key, so we serve it in the owner's place. */
    bool fallback = (msg->fields & CHORD_F_FALLBACK) && msg->fallback && node_replicating (self);
    if (self->state != CHORD_NODE_ACTIVE)
        status = CHORD_STATUS_NOT_READY;
    else if (!fallback && !node_owns (self, &key_id))
        status = CHORD_STATUS_WRONG_OWNER;
    else if (msg->op == CHORD_STORE_OP_PUT && !(msg->fields & CHORD_F_VALUE))
        status = CHORD_STATUS_BAD_REQUEST;
    else {
        /* Versions come from where the client's request entered the ring;
           a STORE without one (an older peer) gets ours. */
        chord_version_t version = {.hlc = msg->hlc, .writer = msg->writer};
        bool versioned = (msg->fields & CHORD_F_HLC) && (msg->fields & CHORD_F_WRITER);
        status = node_coordinate (self, msg->op, msg->key, msg->key_len, msg->value, msg->value_len,
                                  versioned ? &version : NULL, &answer, now_ms);
    }
    if (status != CHORD_STATUS_OK)   /* else answered, now or once the replicas have */
        node_answer (self, &answer, status, NULL, 0, NULL, now_ms);
}

/* The owner answered a task's data operation: value NULL means none. */
static void s_store_answered (chord_node_t *self, node_rpc_t *rpc, chord_status_t status, const uint8_t *value,
                              size_t value_len, uint64_t now_ms)
{
    node_task_t *task = rpc->task;
    chord_peer_t rpc_peer = rpc->peer;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    switch (status) {
    case CHORD_STATUS_OK:
    case CHORD_STATUS_NOT_FOUND:
    case CHORD_STATUS_STORE_ERROR:
    case CHORD_STATUS_TOO_LARGE:
    case CHORD_STATUS_BAD_REQUEST:
        node_reply_client (self, &task->origin, task->client_request_id, status,
                           status == CHORD_STATUS_OK ? value : NULL, value_len,
                           status == CHORD_STATUS_STORE_ERROR ? "the owner's store failed" : NULL);
        node_task_destroy (self, task);
        return;
    default:
        /* WRONG_OWNER, NOT_READY, NO_QUORUM: the ring is moving; look again shortly. */
        task->no_quorum = status == CHORD_STATUS_NO_QUORUM;
        node_owner_cache_forget (self, &rpc_peer.id);
        node_task_retry (self, task, now_ms);
    }
}

void node_on_store_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    const uint8_t *value = NULL;
    if (msg->fields & CHORD_F_VALUE)
        value = msg->value ? msg->value : s_empty_value;
    s_store_answered (self, rpc, msg->status, value, msg->value_len, now_ms);
}

void node_on_local_store_reply (chord_node_t *self, uint64_t request_id, chord_status_t status,
                                const uint8_t *value, size_t value_len, uint64_t now_ms)
{
    node_rpc_t *rpc = node_rpc_find (self, request_id, RPC_STORE);
    if (rpc)   /* else the task ended meanwhile (its client's deadline) */
        s_store_answered (self, rpc, status, value ? (value_len ? value : s_empty_value) : NULL, value_len,
                          now_ms);
}

void node_on_info (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_INFO_REPLY, msg->request_id);
    reply->fields =
        CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS | CHORD_F_COUNT;
    reply->peer = self->self;
    reply->state = self->state;
    reply->has_pred = self->has_pred && self->pred_alive;
    reply->pred = self->pred;
    reply->peer_count = self->succ_count;
    memcpy (reply->peers, self->succ, self->succ_count * sizeof self->succ[0]);
    for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
        if (!self->finger_valid[i])
            continue;
        if (reply->finger_count > 0 &&
            chord_id_equal (&reply->fingers[reply->finger_count - 1].id, &self->finger[i].id))
            continue;
        reply->fingers[reply->finger_count++] = self->finger[i];
    }
    reply->count = chord_store_count (self->env.store);
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

/* A client's put, get, del or lookup: answer now if we can, else start a task. */
void node_on_client_op (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
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

void node_on_client_leave (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                           uint64_t now_ms)
{
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT || self->leave_reply_pending) {
        node_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, "already leaving");
        return;
    }
    self->leave_reply_pending = true;
    self->leave_origin = *origin;
    self->leave_request_id = msg->request_id;
    chord_node_leave (self, now_ms);
}
