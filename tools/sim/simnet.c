/*  simnet: a deterministic simulated network and clock for chord nodes.

    One heap of events, keyed by (time, push order). Handling an event may
    push more; the clock jumps to each event's time as it is handled.
    After a node handles anything (a message, a tick) its outbox is drained
    into the heap and its wake-up is re-armed: each node has at most one
    wake-up that counts (armed_seq), pushed only when its next deadline
    moves earlier; a wake-up that fires early just re-arms, and one made
    obsolete by a later push is skipped when it comes out.  */
#include "simnet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet_internal.h"


/* ---------------------------------------------------------------- helpers */

void simnet_config_defaults (simnet_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->seed = 1;
    config->latency = SIMNET_LATENCY_CONSTANT;
    config->latency_mean_ms = 10;
    config->latency_min_ms = 1;
    config->successors = 3;
    config->stabilize_interval_ms = 500;
    config->rpc_timeout_ms = 1000;
    config->log_level = CHORD_LOG_WARN;
}

uint64_t simnet_fnv (uint64_t hash, const void *data, size_t size)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= S_FNV_PRIME;
    }
    return hash;
}

/* Hashes an integer as its little-endian bytes, the same on any machine. */
static uint64_t s_fnv_u64 (uint64_t hash, uint64_t value, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++) {
        hash ^= (uint8_t) (value >> (8 * i));
        hash *= S_FNV_PRIME;
    }
    return hash;
}

void simnet_trace (simnet_t *self, uint32_t src, uint32_t dst, const uint8_t *data, size_t size)
{
    uint64_t hash = self->trace;
    hash = s_fnv_u64 (hash, self->now_ms, 8);
    hash = s_fnv_u64 (hash, src, 4);
    hash = s_fnv_u64 (hash, dst, 4);
    hash = s_fnv_u64 (hash, size, 8);
    self->trace = simnet_fnv (hash, data, size);
}

/* The type of an encoded message, read from its header without decoding:
   fixarray of 6, version, then the type as a positive fixint. */
static unsigned s_type_of (const uint8_t *data, size_t size)
{
    if (size >= 3 && data[0] == 0x96 && data[1] == CHORD_PROTOCOL_VERSION && data[2] < SIMNET_TYPES_MAX)
        return data[2];
    return 0;
}

bool simnet_is_member_state (chord_node_state_t state)
{
    return state == CHORD_NODE_ACTIVE || state == CHORD_NODE_LEAVING;
}

static void s_free_event (const simheap_entry_t *entry)
{
    switch (S_TAG_KIND (entry->tag)) {
    case S_EV_DELIVER:
    case S_EV_CLIENT_REQUEST:
    case S_EV_CLIENT_REPLY: {
        s_packet_t *packet = entry->ptr;
        free (packet->data);
        free (packet);
        break;
    }
    case S_EV_TIMER:
        free (entry->ptr);
        break;
    case S_EV_WAKE:
    case S_EV_CLIENT_DEADLINE:
        break;
    }
}

int simnet_push_packet (simnet_t *self, uint64_t at_ms, s_event_kind_t kind, uint32_t src, uint32_t dst,
                          bool has_origin, uint64_t client_id, uint8_t *data, size_t size)
{
    s_packet_t *packet = malloc (sizeof *packet);
    if (!packet) {
        free (data);
        return -1;
    }
    packet->src = src;
    packet->dst = dst;
    packet->has_origin = has_origin;
    packet->client_id = client_id;
    packet->src_incarnation = src < self->node_count ? self->nodes[src]->incarnation : 0;
    packet->dst_incarnation = dst < self->node_count ? self->nodes[dst]->incarnation : 0;
    packet->data = data;
    packet->size = size;
    if (!simheap_push (self->heap, at_ms, S_TAG (kind, dst), packet)) {
        free (data);
        free (packet);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- nodes */

static void s_node_random (void *arg, void *buf, size_t len)
{
    s_node_t *rec = arg;
    simrng_bytes (&rec->rng, buf, len);
}

static void s_node_log (void *arg, chord_log_level_t level, const char *line)
{
    s_node_t *rec = arg;
    simnet_t *self = rec->net;
    if (self->config.log && level <= self->config.log_level)
        self->config.log (self->config.log_arg, rec->index, self->now_ms, level, line);
}

simnet_t *simnet_new (const simnet_config_t *config)
{
    if (!config || config->successors < 1 || config->successors > CHORD_SUCCESSORS_MAX ||
        config->stabilize_interval_ms == 0 || config->rpc_timeout_ms == 0 ||
        config->latency_min_ms > config->latency_mean_ms || config->loss < 0 || config->loss > 1 ||
        config->dup < 0 || config->dup > 1 || config->latency > SIMNET_LATENCY_EXPONENTIAL)
        return NULL;
    simnet_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    simrng_seed (&self->root, config->seed);
    simrng_fork (&self->rng, &self->root, S_STREAM_NETWORK);
    self->address_base = (uint32_t) simrng_mix (config->seed ^ 0xadd7e55ull);
    self->now_ms = config->start_ms;
    self->heap = simheap_new ();
    self->scratch = malloc (sizeof *self->scratch);
    self->outgoing = malloc (sizeof *self->outgoing);
    self->info_msg = malloc (sizeof *self->info_msg);
    self->trace = S_FNV_OFFSET;
    if (!self->heap || !self->scratch || !self->outgoing || !self->info_msg || simnet_map_grow (self) != 0) {
        simnet_destroy (&self);
        return NULL;
    }
    return self;
}

const simnet_config_t *simnet_config (const simnet_t *self)
{
    return &self->config;
}

static void s_node_free (s_node_t *rec)
{
    chord_node_destroy (&rec->node);
    if (rec->store)
        chord_store_destroy (&rec->store);
}

void simnet_destroy (simnet_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    simnet_t *self = *self_p;
    if (self->heap) {
        simheap_entry_t entry;
        while (simheap_pop (self->heap, &entry))
            s_free_event (&entry);
        simheap_destroy (&self->heap);
    }
    for (size_t i = 0; i < self->node_count; i++) {
        s_node_free (self->nodes[i]);
        free (self->nodes[i]);
    }
    free (self->nodes);
    free (self->map);
    free (self->sorted);
    free (self->sorted_ids);
    free (self->clients);
    free (self->scratch);
    free (self->outgoing);
    free (self->info_msg);
    free (self);
    *self_p = NULL;
}

/* A new state machine for rec, on its store; NULL when out of memory. */
static chord_node_t *s_node_boot (simnet_t *self, s_node_t *rec)
{
    chord_node_config_t config = {
        .endpoint = rec->peer.endpoint,
        .id = rec->peer.id,
        .successors = self->config.successors,
        .stabilize_interval_ms = rec->stabilize_ms,
        .rpc_timeout_ms = self->config.rpc_timeout_ms,
        .owner_cache_size = self->config.owner_cache_size,
        .replicas = self->config.replicas,
        .write_quorum = self->config.write_quorum,
        .sync_interval_ms = self->config.sync_interval_ms,
    };
    chord_env_t env = {
        .store = rec->store,
        .random_bytes = s_node_random,
        .random_arg = rec,
        .log = s_node_log,
        .log_arg = rec,
        .outgoing = self->outgoing,   /* one node handles one input at a time, as in chordd */
    };
    return chord_node_new (&config, &env);
}

size_t simnet_add_named (simnet_t *self, const char *endpoint)
{
    if (!endpoint || strlen (endpoint) == 0 || strlen (endpoint) > CHORD_ENDPOINT_MAX ||
        self->node_count >= SIMNET_NODES_MAX || simnet_find (self, endpoint) != SIMNET_NONE)
        return SIMNET_NONE;
    if (self->node_count == self->node_alloc) {
        size_t alloc = self->node_alloc ? self->node_alloc * 2 : 256;
        s_node_t **grown = realloc (self->nodes, alloc * sizeof *grown);
        if (!grown)
            return SIMNET_NONE;
        self->nodes = grown;
        self->node_alloc = alloc;
    }
    s_node_t *rec = calloc (1, sizeof *rec);
    if (!rec)
        return SIMNET_NONE;
    rec->net = self;
    rec->index = self->node_count;
    rec->status = SIMNET_NODE_IDLE;
    snprintf (rec->peer.endpoint, sizeof rec->peer.endpoint, "%s", endpoint);
    chord_id_of_position (&rec->peer.id, endpoint, 0);
    simrng_fork (&rec->rng, &self->root, S_STREAM_NODES + rec->index);
    rec->stabilize_ms = self->config.stabilize_interval_ms;
    if (self->config.stabilize_max_ms > rec->stabilize_ms) {
        simrng_t draw;
        simrng_fork (&draw, &self->root, S_STREAM_INTERVALS + rec->index);
        rec->stabilize_ms +=
            (uint32_t) simrng_below (&draw, self->config.stabilize_max_ms - rec->stabilize_ms + 1);
    }
    rec->store = chord_store_mem_new ();
    if (rec->store)
        rec->node = s_node_boot (self, rec);
    if (!rec->node) {
        s_node_free (rec);
        free (rec);
        return SIMNET_NONE;
    }
    self->nodes[self->node_count++] = rec;
    if (simnet_map_put (self, rec->index) != 0) {
        self->node_count--;
        s_node_free (rec);
        free (rec);
        return SIMNET_NONE;
    }
    return rec->index;
}

size_t simnet_add (simnet_t *self)
{
    uint32_t address = self->address_base + (uint32_t) self->node_count;
    char endpoint[48];
    snprintf (endpoint, sizeof endpoint, "sim://%08x:7000", address);
    return simnet_add_named (self, endpoint);
}

s_node_t *simnet_up (const simnet_t *self, size_t node)
{
    if (node >= self->node_count || self->nodes[node]->status != SIMNET_NODE_UP)
        return NULL;
    return self->nodes[node];
}

/* Frees a node that crashed or left; its index and peer stay. */
static void s_remove (simnet_t *self, s_node_t *rec, simnet_node_status_t status)
{
    if (simnet_is_member_state (rec->last_state) && rec->status == SIMNET_NODE_UP)
        self->membership_version++;
    simnet_map_remove (self, rec->peer.endpoint);
    if (status == SIMNET_NODE_CRASHED && self->config.keep_crashed_stores)
        chord_node_destroy (&rec->node);
    else
        s_node_free (rec);
    rec->status = status;
    rec->armed_seq = 0;
}

int simnet_start (simnet_t *self, size_t node, const size_t *seeds, size_t seed_count)
{
    if (node >= self->node_count || self->nodes[node]->status != SIMNET_NODE_IDLE)
        return -1;
    const char **endpoints = calloc (seed_count ? seed_count : 1, sizeof *endpoints);
    if (!endpoints)
        return -1;
    for (size_t i = 0; i < seed_count; i++) {
        assert (seeds[i] < self->node_count);
        endpoints[i] = self->nodes[seeds[i]]->peer.endpoint;
    }
    s_node_t *rec = self->nodes[node];
    int rc = chord_node_start (rec->node, endpoints, seed_count, self->now_ms);
    free (endpoints);
    if (rc != 0)
        return -1;
    rec->status = SIMNET_NODE_UP;
    rec->last_state = CHORD_NODE_IDLE;
    simnet_after (self, rec, false);
    return 0;
}

int simnet_cmp_member (const void *a, const void *b)
{
    const s_member_t *x = a, *y = b;
    int c = chord_id_cmp (&x->id, &y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Index into sorted ids of successor(id): the first id >= id, wrapping. */
size_t simnet_successor_at (const chord_id_t *ids, size_t count, const chord_id_t *id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chord_id_cmp (&ids[mid], id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == count ? 0 : lo;
}

int simnet_build_ring (simnet_t *self, size_t count)
{
    const size_t *members;
    if (count == 0 || simnet_members (self, &members) != 0)
        return -1;
    s_member_t *ring = malloc (count * sizeof *ring);
    chord_id_t *ids = malloc (count * sizeof *ids);
    chord_peer_t *fingers = malloc (CHORD_ID_BITS * sizeof *fingers);
    int rc = ring && ids && fingers ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        size_t index = simnet_add (self);
        if (index == SIMNET_NONE)
            rc = -1;
        else {
            ring[i].index = index;
            ring[i].id = self->nodes[index]->peer.id;
        }
    }
    if (rc == 0) {
        qsort (ring, count, sizeof *ring, simnet_cmp_member);
        for (size_t i = 0; i < count; i++)
            ids[i] = ring[i].id;
    }
    size_t r = self->config.successors < count - 1 ? self->config.successors : count - 1;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        s_node_t *rec = self->nodes[ring[k].index];
        chord_peer_t succs[CHORD_SUCCESSORS_MAX];
        for (size_t j = 0; j < r; j++)
            succs[j] = self->nodes[ring[(k + 1 + j) % count].index]->peer;
        if (r == 0)
            succs[0] = rec->peer;
        const chord_peer_t *pred = count > 1 ? &self->nodes[ring[(k + count - 1) % count].index]->peer : NULL;
        bool valid[CHORD_ID_BITS];
        for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
            chord_id_t start;
            chord_id_add_pow2 (&start, &rec->peer.id, i);
            size_t at = simnet_successor_at (ids, count, &start);
            fingers[i] = self->nodes[ring[at].index]->peer;
            valid[i] = at != k;
        }
        if (chord_node_start_member (rec->node, pred, succs, r ? r : 1, fingers, valid, self->now_ms) != 0)
            rc = -1;
        else {
            rec->status = SIMNET_NODE_UP;
            rec->last_state = CHORD_NODE_IDLE;
        }
    }
    for (size_t k = 0; rc == 0 && k < count; k++)
        simnet_after (self, self->nodes[ring[k].index], false);
    free (ring);
    free (ids);
    free (fingers);
    return rc;
}

int simnet_crash (simnet_t *self, size_t node)
{
    s_node_t *rec = simnet_up (self, node);
    if (!rec)
        return -1;
    s_remove (self, rec, SIMNET_NODE_CRASHED);
    return 0;
}

int simnet_restart (simnet_t *self, size_t node, const size_t *seeds, size_t seed_count)
{
    if (node >= self->node_count || self->nodes[node]->status != SIMNET_NODE_CRASHED ||
        !self->nodes[node]->store)
        return -1;
    s_node_t *rec = self->nodes[node];
    if (!(rec->node = s_node_boot (self, rec)))
        return -1;
    if (simnet_map_put (self, rec->index) != 0) {
        chord_node_destroy (&rec->node);
        return -1;
    }
    rec->incarnation++;
    rec->status = SIMNET_NODE_IDLE;
    rec->last_state = CHORD_NODE_IDLE;
    rec->armed_seq = 0;
    if (simnet_start (self, node, seeds, seed_count) != 0) {
        simnet_map_remove (self, rec->peer.endpoint);
        chord_node_destroy (&rec->node);
        rec->status = SIMNET_NODE_CRASHED;
        return -1;
    }
    return 0;
}

int simnet_leave (simnet_t *self, size_t node)
{
    s_node_t *rec = simnet_up (self, node);
    if (!rec)
        return -1;
    chord_node_leave (rec->node, self->now_ms);
    simnet_after (self, rec, false);
    return 0;
}

void simnet_set_side (simnet_t *self, size_t node, unsigned side)
{
    assert (node < self->node_count);
    self->nodes[node]->side = side ? 1 : 0;
}

unsigned simnet_side (const simnet_t *self, size_t node)
{
    assert (node < self->node_count);
    return self->nodes[node]->side;
}

void simnet_partition (simnet_t *self, bool on)
{
    self->partitioned = on;
}

bool simnet_partitioned (const simnet_t *self)
{
    return self->partitioned;
}

void simnet_set_faults (simnet_t *self, double loss, double dup)
{
    self->config.loss = loss < 0 ? 0 : loss > 1 ? 1 : loss;
    self->config.dup = dup < 0 ? 0 : dup > 1 ? 1 : dup;
}

size_t simnet_node_count (const simnet_t *self)
{
    return self->node_count;
}

simnet_node_status_t simnet_node_status (const simnet_t *self, size_t node)
{
    assert (node < self->node_count);
    return self->nodes[node]->status;
}

chord_node_t *simnet_node (const simnet_t *self, size_t node)
{
    s_node_t *rec = simnet_up (self, node);
    return rec ? rec->node : NULL;
}

chord_store_t *simnet_node_store (const simnet_t *self, size_t node)
{
    s_node_t *rec = simnet_up (self, node);
    return rec ? rec->store : NULL;
}

const chord_peer_t *simnet_node_peer (const simnet_t *self, size_t node)
{
    assert (node < self->node_count);
    return &self->nodes[node]->peer;
}

bool simnet_is_member (const simnet_t *self, size_t node)
{
    s_node_t *rec = simnet_up (self, node);
    return rec && simnet_is_member_state (chord_node_state (rec->node));
}

void simnet_node_traffic (const simnet_t *self, size_t node, uint64_t *messages, uint64_t *bytes)
{
    assert (node < self->node_count);
    if (messages)
        *messages = self->nodes[node]->sent;
    if (bytes)
        *bytes = self->nodes[node]->sent_bytes;
}

/* ---------------------------------------------------------------- the network */

uint64_t simnet_sample_latency (simnet_t *self)
{
    uint64_t mean = self->config.latency_mean_ms, least = self->config.latency_min_ms;
    switch (self->config.latency) {
    case SIMNET_LATENCY_CONSTANT:
        return mean;
    case SIMNET_LATENCY_UNIFORM:
        return least + simrng_below (&self->rng, 2 * (mean - least) + 1);
    case SIMNET_LATENCY_EXPONENTIAL: {
        double extra = simrng_exponential (&self->rng, (double) (mean - least));
        double cut = (double) S_LATENCY_CUT * (double) (mean - least);
        if (extra > cut)
            extra = cut;
        return least + (uint64_t) (extra + 0.5);
    }
    }
    return mean;
}

/* Puts one message on the wire: lost, or delivered once or twice. */
static void s_transmit (simnet_t *self, uint32_t src, uint32_t dst, bool has_origin, uint8_t *data,
                        size_t size)
{
    if (simrng_chance (&self->rng, self->config.loss)) {
        self->stats.lost++;
        free (data);
        return;
    }
    if (simrng_chance (&self->rng, self->config.dup)) {
        uint8_t *copy = malloc (size ? size : 1);
        if (copy) {
            memcpy (copy, data, size);
            self->stats.duplicated++;
            simnet_push_packet (self, self->now_ms + simnet_sample_latency (self), S_EV_DELIVER, src, dst,
                           has_origin, 0, copy, size);
        }
    }
    simnet_push_packet (self, self->now_ms + simnet_sample_latency (self), S_EV_DELIVER, src, dst, has_origin,
                        0,
                   data, size);
}

/* Copies the INFO reply a node just queued into *self->info_target. */
static void s_take_info (simnet_t *self, const chord_outgoing_t *out)
{
    simnet_info_t *info = self->info_target;
    chord_msg_t *msg = self->info_msg;
    if (!info || chord_msg_decode (msg, out->data, out->size) != 0)
        return;
    if (msg->type == CHORD_MSG_INFO_REPLY) {
        memset (info, 0, sizeof *info);
        info->state = (chord_node_state_t) msg->state;
        info->has_pred = msg->has_pred;
        info->pred = SIMNET_NONE;
        if (msg->has_pred) {
            info->pred_id = msg->pred.id;
            info->pred = simnet_find (self, msg->pred.endpoint);
        }
        info->succ_count = msg->peer_count;
        for (size_t i = 0; i < msg->peer_count; i++) {
            info->succ_id[i] = msg->peers[i].id;
            /* A crashed or departed peer is no longer in the map: SIMNET_NONE. */
            info->succ[i] = simnet_find (self, msg->peers[i].endpoint);
        }
        info->finger_count = msg->finger_count;
        info->keys = msg->count;
        self->info_ok = true;
    }
    chord_msg_clear (msg);
}

/* Sends on whatever the node has queued. */
static void s_drain (simnet_t *self, s_node_t *rec)
{
    chord_outgoing_t out;
    while (chord_node_pop_outgoing (rec->node, &out)) {
        if (out.kind == CHORD_DEST_ORIGIN && out.origin.size == 1 + sizeof (uint64_t) &&
            out.origin.bytes[0] == S_ORIGIN_CLIENT) {
            uint64_t client_id;
            memcpy (&client_id, out.origin.bytes + 1, sizeof client_id);
            simnet_push_packet (self, self->now_ms, S_EV_CLIENT_REPLY, (uint32_t) rec->index,
                           (uint32_t) rec->index, false, client_id, out.data, out.size);
            continue;
        }
        if (out.kind == CHORD_DEST_ORIGIN && out.origin.size == 1 && out.origin.bytes[0] == S_ORIGIN_INFO) {
            s_take_info (self, &out);
            free (out.data);
            continue;
        }
        unsigned type = s_type_of (out.data, out.size);
        self->stats.sent++;
        self->stats.sent_bytes += out.size;
        self->stats.sent_by_type[type]++;
        self->stats.sent_bytes_by_type[type] += out.size;
        rec->sent++;
        rec->sent_bytes += out.size;
        size_t dst = SIMNET_NONE;
        bool has_origin = out.kind == CHORD_DEST_PEER;
        if (out.kind == CHORD_DEST_PEER)
            dst = simnet_find (self, out.endpoint);
        else if (out.origin.size == 1 + sizeof (uint32_t) && out.origin.bytes[0] == S_ORIGIN_PEER) {
            uint32_t index;
            memcpy (&index, out.origin.bytes + 1, sizeof index);
            dst = index < self->node_count ? index : SIMNET_NONE;
        }
        if (self->send_fn)
            self->send_fn (self->send_arg, self, rec->index, has_origin ? out.endpoint : NULL, dst, out.data,
                           out.size);
        if (dst == SIMNET_NONE) {
            self->stats.dropped_dead++;
            free (out.data);
            continue;
        }
        s_transmit (self, (uint32_t) rec->index, (uint32_t) dst, has_origin, out.data, out.size);
    }
}

/* Arms the node's wake-up for its next deadline, unless one at or before
   it is armed already. */
static void s_arm (simnet_t *self, s_node_t *rec, bool ticked)
{
    uint64_t deadline = chord_node_next_deadline_ms (rec->node);
    if (deadline == UINT64_MAX) {
        rec->armed_seq = 0;
        return;
    }
    if (deadline <= self->now_ms) {
        if (ticked) {
            /* A tick left work due at once: a node must always move on. */
            self->stats.stuck++;
            deadline = self->now_ms + 1;
        } else
            deadline = self->now_ms;
    }
    if (rec->armed_seq && rec->armed_ms <= deadline)
        return;
    rec->armed_ms = deadline;
    rec->armed_seq = simheap_push (self->heap, deadline, S_TAG (S_EV_WAKE, rec->index), NULL);
}

/* After a node handled something: send what it queued, note its state,
   remove it once it has left, re-arm its timer. */
void simnet_after (simnet_t *self, s_node_t *rec, bool ticked)
{
    s_drain (self, rec);
    chord_node_state_t state = chord_node_state (rec->node);
    if (state != rec->last_state) {
        if (simnet_is_member_state (state) != simnet_is_member_state (rec->last_state))
            self->membership_version++;
        rec->last_state = state;
    }
    if (state == CHORD_NODE_LEFT) {
        rec->last_state = CHORD_NODE_LEFT;
        s_remove (self, rec, SIMNET_NODE_GONE);
        return;
    }
    s_arm (self, rec, ticked);
}

static void s_deliver (simnet_t *self, s_packet_t *packet)
{
    s_node_t *src = self->nodes[packet->src];
    s_node_t *dst = self->nodes[packet->dst];
    if (src->status == SIMNET_NODE_CRASHED || dst->status != SIMNET_NODE_UP ||
        packet->src_incarnation != src->incarnation || packet->dst_incarnation != dst->incarnation) {
        self->stats.dropped_dead++;
        return;
    }
    if (self->partitioned && src->side != dst->side) {
        self->stats.dropped_partition++;
        return;
    }
    simnet_trace (self, packet->src, packet->dst, packet->data, packet->size);
    self->stats.delivered++;
    self->stats.delivered_bytes += packet->size;
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = 1 + sizeof (uint32_t);
    origin.bytes[0] = S_ORIGIN_PEER;
    memcpy (origin.bytes + 1, &packet->src, sizeof packet->src);
    if (self->deliver_fn)
        self->deliver_fn (self->deliver_arg, self, packet->src, packet->dst, packet->data, packet->size);
    chord_node_receive (dst->node, packet->data, packet->size, packet->has_origin ? &origin : NULL, CHORD_ROLE_PEER, self->now_ms);
    simnet_after (self, dst, false);
}

static void s_wake (simnet_t *self, const simheap_entry_t *entry)
{
    s_node_t *rec = self->nodes[S_TAG_NUMBER (entry->tag)];
    if (entry->seq != rec->armed_seq)
        return; /* superseded by an earlier wake-up */
    rec->armed_seq = 0;
    if (rec->status != SIMNET_NODE_UP)
        return;
    if (chord_node_next_deadline_ms (rec->node) <= self->now_ms) {
        chord_node_tick (rec->node, self->now_ms);
        self->stats.ticks++;
        simnet_after (self, rec, true);
    } else
        s_arm (self, rec, false);
}

/* ---------------------------------------------------------------- running */

uint64_t simnet_now (const simnet_t *self)
{
    return self->now_ms;
}

bool simnet_step (simnet_t *self, uint64_t limit_ms)
{
    const simheap_entry_t *next = simheap_peek (self->heap);
    if (!next || next->time_ms > limit_ms)
        return false;
    simheap_entry_t entry;
    simheap_pop (self->heap, &entry);
    if (entry.time_ms > self->now_ms)
        self->now_ms = entry.time_ms;
    self->stats.events++;
    switch (S_TAG_KIND (entry.tag)) {
    case S_EV_DELIVER:
        s_deliver (self, entry.ptr);
        break;
    case S_EV_WAKE:
        s_wake (self, &entry);
        break;
    case S_EV_CLIENT_REQUEST:
        simnet_client_request (self, entry.ptr);
        break;
    case S_EV_CLIENT_REPLY:
        simnet_client_reply (self, entry.ptr);
        break;
    case S_EV_CLIENT_DEADLINE:
        simnet_client_deadline (self, S_TAG_NUMBER (entry.tag));
        break;
    case S_EV_TIMER: {
        s_timer_t *timer = entry.ptr;
        timer->fn (timer->arg, self, timer->token);
        break;
    }
    }
    s_free_event (&entry);
    return true;
}

uint64_t simnet_run_until (simnet_t *self, uint64_t until_ms)
{
    uint64_t handled = 0;
    while (simnet_step (self, until_ms))
        handled++;
    if (until_ms > self->now_ms)
        self->now_ms = until_ms;
    return handled;
}

size_t simnet_pending (const simnet_t *self)
{
    return simheap_size (self->heap);
}

uint64_t simnet_trace_hash (const simnet_t *self)
{
    return self->trace;
}

const simnet_stats_t *simnet_stats (const simnet_t *self)
{
    return &self->stats;
}
