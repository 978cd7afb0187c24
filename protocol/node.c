/*  chord node: the Chord protocol as a pure state machine.

    Ring maintenance follows Chord with the corrections Zave showed are
    needed: successor lists (r entries) so one failure never disconnects
    the ring, a predecessor that is replaced by any notifier once it has
    failed a ping, a successor that is dropped when it stops answering, and
    a join that takes effect at the successor atomically with the transfer
    of the joiner's arc.

    Lookups are iterative: the node that needs an owner asks one peer after
    another, each answering from its own tables, and routes around peers
    that time out by telling the next peer which ids to avoid.  */

#include "node_internal.h"
#include "record.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_log (chord_node_t *self, chord_log_level_t level, const char *fmt, ...)
{
    assert (self);
    if (!node_logs (self, level))
        return;
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    self->env.log (self->env.log_arg, level, line);
}

bool node_logs (const chord_node_t *self, chord_log_level_t level)
{
    return self->env.log && !(level == CHORD_LOG_DEBUG && self->env.log_no_debug);
}

/* A short printable form of an id: its first 8 hex digits. */
const char *node_short (const chord_id_t *id, char buf[9])
{
    assert (id);
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, hex);
    memcpy (buf, hex, 8);
    buf[8] = '\0';
    return buf;
}

void node_drop (chord_node_t *self, chord_drop_reason_t reason)
{
    assert (self);
    assert (reason < CHORD_DROP_REASONS);
    self->stats.messages_dropped++;
    self->stats.dropped_by_reason[reason]++;
}

static uint32_t s_random32 (chord_node_t *self)
{
    uint32_t value = 0;
    self->env.random_bytes (self->env.random_arg, &value, sizeof value);
    return value;
}

/* interval_ms, moved by up to a tenth either way so peers do not beat in step. */
uint64_t node_jittered (chord_node_t *self, uint64_t interval_ms)
{
    assert (self);
    uint64_t spread = interval_ms / 5;
    if (spread == 0)
        return interval_ms;
    return interval_ms - spread / 2 + s_random32 (self) % (spread + 1);
}

/* A reply to something we asked: match it to its request by id. */
static void s_on_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    node_rpc_kind_t kind;
    switch (msg->type) {
    case CHORD_MSG_FIND_SUCC_REPLY:
        kind = RPC_FIND;
        break;
    case CHORD_MSG_STORE_REPLY:
        kind = RPC_STORE;
        break;
    case CHORD_MSG_JOIN_REPLY:
        kind = RPC_JOIN;
        break;
    case CHORD_MSG_STATE:
        kind = RPC_GET_STATE;
        break;
    case CHORD_MSG_PONG:
        kind = RPC_PING;
        break;
    default:
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    node_rpc_t *rpc = node_rpc_find (self, msg->request_id, kind);
    if (!rpc) {
        node_drop (self, CHORD_DROP_STALE_REPLY); /* late, duplicated or never asked */
        return;
    }
    switch (kind) {
    case RPC_FIND:
        node_on_find_succ_reply (self, rpc, msg, now_ms);
        break;
    case RPC_STORE:
        node_on_store_reply (self, rpc, msg, now_ms);
        break;
    case RPC_JOIN:
        node_on_join_reply (self, rpc, msg, now_ms);
        break;
    case RPC_GET_STATE:
        node_on_state (self, rpc, msg, now_ms);
        break;
    case RPC_PING:
        node_on_pong (self, rpc);
        break;
    case RPC_HANDOFF:
        break;
    }
}

static void s_on_rpc_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms)
{
    chord_peer_t peer = rpc->peer;
    switch (rpc->kind) {
    case RPC_FIND:
        node_on_find_timeout (self, rpc, now_ms);
        return;
    case RPC_HANDOFF:
        node_handoff_timeout (self, rpc, now_ms);
        return;
    case RPC_STORE:
    case RPC_JOIN: {
        node_task_t *task = rpc->task;
        node_rpc_remove (self, rpc);
        self->stats.rpc_timeouts++;
        if (task->kind != TASK_JOIN) {
            node_suspect (self, &peer, false, now_ms);
            /* With copies elsewhere, the next attempt goes to the next peer. */
            if (node_replicating (self)) {
                task->has_avoid = true;
                task->avoid = peer.id;
            }
        }
        node_task_retry (self, task, now_ms);
        return;
    }
    case RPC_GET_STATE:
        node_on_state_timeout (self, rpc, now_ms);
        return;
    case RPC_PING:
        node_on_ping_timeout (self, rpc);
        return;
    }
}

chord_node_t *chord_node_new (const chord_node_config_t *config, const chord_env_t *env)
{
    if (!config || !env || !env->store || !env->random_bytes || !config->endpoint ||
        strlen (config->endpoint) == 0 || strlen (config->endpoint) > CHORD_ENDPOINT_MAX ||
        config->successors < 1 || config->successors > CHORD_SUCCESSORS_MAX ||
        config->stabilize_interval_ms == 0 || config->rpc_timeout_ms == 0 ||
        config->replicas > CHORD_REPLICAS_MAX || config->write_quorum > (config->replicas ? config->replicas : 1))
        return NULL;
    chord_node_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->env = *env;
    self->self.id = config->id;
    snprintf (self->self.endpoint, sizeof self->self.endpoint, "%s", config->endpoint);
    self->config.endpoint = self->self.endpoint;
    node_ring_init (self);
    node_requests_init (self);
    if (node_wire_init (self) != 0 || node_owner_cache_init (self) != 0) {
        chord_node_destroy (&self);
        return NULL;
    }
    uint8_t tag_key[16];
    env->random_bytes (env->random_arg, tag_key, sizeof tag_key);
    node_gate_init (&self->gate, tag_key);
    if (self->config.replicas == 0)
        self->config.replicas = 1;
    if (self->config.max_clock_skew_ms == 0)
        self->config.max_clock_skew_ms = CHORD_CLOCK_SKEW_DEFAULT_MS;
    if (self->config.tombstone_grace_ms == 0)
        self->config.tombstone_grace_ms = CHORD_TOMBSTONE_GRACE_DEFAULT_MS;
    if (self->config.sync_interval_ms == 0)
        self->config.sync_interval_ms = CHORD_SYNC_ROUNDS * config->stabilize_interval_ms;
    /* A tombstone must outlive every stray copy of what it deletes: those are
       dropped once unclaimed for CHORD_CLAIM_SYNCS rounds, checked every
       CHORD_PURGE_SYNCS rounds. */
    uint64_t grace_min_ms = (CHORD_CLAIM_SYNCS + 2 * CHORD_PURGE_SYNCS) * (uint64_t) self->config.sync_interval_ms;
    if (self->config.tombstone_grace_ms < grace_min_ms)
        self->config.tombstone_grace_ms = grace_min_ms;
    node_replica_init (self);
    self->state = CHORD_NODE_IDLE;
    return self;
}

void chord_node_destroy (chord_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chord_node_t *self = *self_p;
    node_tasks_destroy (self);
    node_replica_destroy (self);
    node_requests_destroy (self);
    node_owner_cache_destroy (self);
    node_wire_destroy (self);
    node_transfer_destroy (self);
    node_clients_destroy (self);
    free (self);
    *self_p = NULL;
}

int chord_node_start (chord_node_t *self, const char *const *seeds, size_t seed_count, uint64_t now_ms)
{
    assert (self);
    if (self->state != CHORD_NODE_IDLE)
        return -1;
    self->clock_ms = now_ms;
    int kept = node_join_init (self, seeds, seed_count);
    if (kept < 0)
        return -1;
    node_timers_start (self, now_ms, true);
    node_census_start (self, now_ms);
    if (kept == 0) {
        self->state = CHORD_NODE_ACTIVE;
        self->active_since_ms = now_ms;
        node_log (self, CHORD_LOG_INFO, "started a new ring as %s", self->self.endpoint);
        return 0;
    }
    self->state = CHORD_NODE_JOINING;
    node_task_t *task = node_task_new (self, TASK_JOIN, &self->self.id, UINT64_MAX);
    if (!task)
        return -1;
    node_log (self, CHORD_LOG_INFO, "joining through %d seed%s", kept, kept == 1 ? "" : "s");
    node_lookup_start (self, task, now_ms);
    return 0;
}

int chord_node_start_member (chord_node_t *self, const chord_peer_t *pred, const chord_peer_t *succs,
                             size_t succ_count, const chord_peer_t *fingers, const bool *finger_valid,
                             uint64_t now_ms)
{
    assert (self);
    if (self->state != CHORD_NODE_IDLE || succ_count == 0 || succ_count > CHORD_SUCCESSORS_MAX)
        return -1;
    self->clock_ms = now_ms;
    node_succ_set (self, &succs[0], succs + 1, succ_count - 1, now_ms);
    if (pred && !node_is_self (self, pred))
        node_ring_set_pred (self, pred);
    for (unsigned i = 0; fingers && finger_valid && i < CHORD_ID_BITS; i++)
        if (finger_valid[i] && !node_is_self (self, &fingers[i]))
            node_ring_set_finger (self, i, &fingers[i]);
    self->state = CHORD_NODE_ACTIVE;
    self->active_since_ms = now_ms;
    node_timers_start (self, now_ms, false);
    node_census_start (self, now_ms);
    return 0;
}

void chord_node_receive (chord_node_t *self, const uint8_t *data, size_t size, const chord_origin_t *origin,
                         chord_role_t role, uint64_t now_ms)
{
    assert (self);
    self->clock_ms = now_ms;
    const chord_msg_t *msg = node_wire_decode (self, data, size);
    if (!msg) {
        node_drop (self, CHORD_DROP_UNDECODABLE);
        return;
    }
    chord_node_handle (self, msg, origin, role, now_ms);
    node_wire_decoded_done (self);
}

/*  Whether msg may enter: its sender's role allows it, and every peer it
    names is where its id says. A known client asking for more than its
    role allows is told so; anyone else hears nothing, so a stranger
    learns nothing about the ring.  */
static bool s_admit (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                     chord_role_t role)
{
    if (!node_gate_role_allows (msg, role)) {
        self->stats.messages_refused++;
        node_drop (self, CHORD_DROP_REFUSED);
        chord_role_t needed = node_gate_role_needed (msg->type);
        if (role == CHORD_ROLE_NONE || needed == CHORD_ROLE_PEER || !origin)
            return false;
        /* Only writes and leave can be refused to a client: reading is its least role. */
        const char *text = needed == CHORD_ROLE_WRITE ? "this client may only read"
                                                      : "only an admin client may make a peer leave";
        node_reply_client (self, origin, msg->request_id, CHORD_STATUS_FORBIDDEN, NULL, 0, text);
        return false;
    }
    if (!node_gate_peers_bound (&self->gate, msg)) {
        self->stats.messages_unbound++;
        node_drop (self, CHORD_DROP_UNBOUND);
        node_log (self, CHORD_LOG_DEBUG, "dropped a %s naming a peer whose id is not its endpoint's",
                  chord_msg_type_name (msg->type));
        return false;
    }
    return true;
}

void chord_node_handle (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        chord_role_t role, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    self->clock_ms = now_ms;
    if (origin)
        node_client_arrived (self, msg->type, origin, msg->request_id, now_ms);
    if (!s_admit (self, msg, origin, role))
        return;
    self->stats.messages_received++;
    if ((unsigned) msg->type < CHORD_MSG_TYPE_SLOTS)
        self->stats.received_by_type[msg->type]++;
    /* Any message from a peer shows it alive. */
    if (msg->has_sender)
        node_ring_heard_from (self, &msg->sender.id);
    switch (msg->type) {
    case CHORD_MSG_FIND_SUCC:
        node_on_find_succ (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_GET_STATE:
        node_on_get_state (self, msg, origin);
        break;
    case CHORD_MSG_NOTIFY:
        node_on_notify (self, msg, now_ms);
        break;
    case CHORD_MSG_PING:
        node_on_ping (self, msg, origin);
        break;
    case CHORD_MSG_JOIN:
        node_on_join (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_HANDOFF:
        node_on_handoff (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_HANDOFF_ACK:
        node_on_handoff_ack (self, msg, now_ms);
        break;
    case CHORD_MSG_LEAVE_NOTICE:
        node_on_leave_notice (self, msg, now_ms);
        break;
    case CHORD_MSG_STORE:
        node_on_store (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LOOKUP:
        if (origin)
            node_on_client_op (self, msg, origin, now_ms);
        else
            node_drop (self, CHORD_DROP_UNEXPECTED);
        break;
    case CHORD_MSG_CLIENT_INFO:
        if (origin)
            node_on_info (self, msg, origin);
        else
            node_drop (self, CHORD_DROP_UNEXPECTED);
        break;
    case CHORD_MSG_CLIENT_LEAVE:
        if (origin)
            node_on_client_leave (self, msg, origin, now_ms);
        else
            node_drop (self, CHORD_DROP_UNEXPECTED);
        break;
    case CHORD_MSG_FIND_SUCC_REPLY:
    case CHORD_MSG_STATE:
    case CHORD_MSG_PONG:
    case CHORD_MSG_JOIN_REPLY:
    case CHORD_MSG_STORE_REPLY:
        s_on_reply (self, msg, now_ms);
        break;
    case CHORD_MSG_CLIENT_REPLY:
    case CHORD_MSG_LOOKUP_REPLY:
    case CHORD_MSG_INFO_REPLY:
        node_drop (self, CHORD_DROP_UNEXPECTED); /* meant for clients, not peers */
        break;
    case CHORD_MSG_REPLICATE:
        node_on_replicate (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_REPLICATE_ACK:
        node_on_replicate_ack (self, msg, now_ms);
        break;
    case CHORD_MSG_FETCH:
        node_on_fetch (self, msg, origin);
        break;
    case CHORD_MSG_FETCH_REPLY:
        node_on_fetch_reply (self, msg, now_ms);
        break;
    case CHORD_MSG_SYNC:
        node_on_sync (self, msg, origin, now_ms);
        break;
    case CHORD_MSG_SYNC_REPLY:
        node_on_sync_reply (self, msg, now_ms);
        break;
    }
}

void chord_node_tick (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    if (self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT)
        return;
    self->clock_ms = now_ms;
    /* Expired requests. Handlers may add and remove entries, so rescan. */
    for (node_rpc_t *rpc; (rpc = node_rpc_due (self, now_ms));)
        s_on_rpc_timeout (self, rpc, now_ms);
    node_tasks_run (self, now_ms);
    node_join_check_arrival (self, now_ms);
    node_pendings_expire (self, now_ms);
    node_timers_run (self, now_ms);
    node_census_run (self, now_ms);
}

uint64_t chord_node_next_deadline_ms (const chord_node_t *self)
{
    assert (self);
    if (self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT)
        return UINT64_MAX;
    uint64_t next = node_requests_next_ms (self);
    uint64_t task_ms = node_tasks_next_ms (self);
    if (task_ms < next)
        next = task_ms;
    uint64_t join_ms = node_join_next_ms (self);
    if (join_ms < next)
        next = join_ms;
    uint64_t pending_ms = node_pendings_next_ms (self);
    if (pending_ms < next)
        next = pending_ms;
    uint64_t census_ms = node_census_next_ms (self);
    if (census_ms < next)
        next = census_ms;
    uint64_t timer_ms = node_timers_next_ms (self);
    return timer_ms < next ? timer_ms : next;
}

void chord_node_leave (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT)
        return;
    self->clock_ms = now_ms;
    if (self->state != CHORD_NODE_ACTIVE || node_alone (self)) {
        if (self->state == CHORD_NODE_ACTIVE && chord_store_count (self->env.store) > 0)
            node_log (self, CHORD_LOG_WARN, "last peer of the ring leaving with %zu keys",
                      chord_store_count (self->env.store));
        node_leave_finish (self, NULL, true);
        return;
    }
    self->state = CHORD_NODE_LEAVING;
    node_log (self, CHORD_LOG_INFO, "leaving: handing %zu keys to our successor",
              chord_store_count (self->env.store));
    /* Client operations we coordinate cannot finish once we are gone. */
    node_tasks_abandon_clients (self, "this peer is leaving the ring");
    node_leave_try (self, 0, now_ms);
}

chord_node_state_t chord_node_state (const chord_node_t *self)
{
    assert (self);
    return self->state;
}

const chord_peer_t *chord_node_self (const chord_node_t *self)
{
    assert (self);
    return &self->self;
}

const chord_peer_t *chord_node_successor (const chord_node_t *self)
{
    assert (self);
    return &node_ring (self)->succ[0];
}

const chord_peer_t *chord_node_predecessor (const chord_node_t *self)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    return ring->has_pred && ring->pred_alive ? &ring->pred : NULL;
}

bool chord_node_owns_key (const chord_node_t *self, const chord_id_t *key_id)
{
    assert (self);
    assert (key_id);
    return node_owns (self, key_id);
}

const chord_node_stats_t *chord_node_stats (const chord_node_t *self)
{
    assert (self);
    return &self->stats;
}

/* The fraction of the id space in (from, to]: to - from over 2^160. */
static double s_arc_fraction (const chord_id_t *from, const chord_id_t *to)
{
    chord_id_t distance;
    chord_id_distance (&distance, from, to);
    double fraction = 0;
    double scale = 1.0 / 256;
    for (size_t i = 0; i < CHORD_ID_BYTES; i++, scale /= 256)
        fraction += distance.bytes[i] * scale;
    return fraction;
}

void chord_node_gauges (const chord_node_t *self, chord_node_gauges_t *out)
{
    assert (self);
    assert (out);
    const node_ring_t *ring = node_ring (self);
    memset (out, 0, sizeof *out);
    bool member = self->state == CHORD_NODE_ACTIVE || self->state == CHORD_NODE_LEAVING;
    if (member && !node_alone (self))
        out->successors = ring->succ_count;
    /* Fingers are in ring order from us, so one peer's fingers are adjacent. */
    const chord_id_t *last = NULL;
    for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
        if (!ring->finger_valid[i] || (last && chord_id_equal (last, &ring->finger[i].id)))
            continue;
        last = &ring->finger[i].id;
        out->fingers_distinct++;
    }
    if (self->state == CHORD_NODE_ACTIVE) {
        if (node_alone (self))
            out->owned_ratio = 1.0;
        else if (ring->has_pred)
            out->owned_ratio = chord_id_equal (&ring->pred.id, &self->self.id)
                                   ? 1.0
                                   : s_arc_fraction (&ring->pred.id, &self->self.id);
    }
    out->has_census = node_census_get (self, &out->census);
}

const char *chord_node_state_name (chord_node_state_t state)
{
    switch (state) {
    case CHORD_NODE_IDLE:
        return "idle";
    case CHORD_NODE_JOINING:
        return "joining";
    case CHORD_NODE_ACTIVE:
        return "active";
    case CHORD_NODE_LEAVING:
        return "leaving";
    case CHORD_NODE_LEFT:
        return "left";
    }
    return "unknown";
}
