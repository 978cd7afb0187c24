/*  chord node: the copies of each key. The peer that serves a key (its
    owner, or the next peer when the owner is silent) coordinates every
    operation on it: a write, with the version the peer where it entered
    the ring gave it, goes to our store (unless we hold a newer version) and
    to the replicas, and is acknowledged once write_quorum copies hold it; a
    read is answered from our store, and when we miss the key, from the
    newest copy a replica holds, which is then written back where stale; it
    is called missing only when enough copies said so that none of them
    could have held an acknowledged write.  */

#include "node_internal.h"
#include "record.h"
#include "replica_set.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static_assert (CHORD_REPLICA_SET_MAX == CHORD_REPLICAS_MAX - 1, "a client names as many copies as a node keeps");

bool node_replicating (const chord_node_t *self)
{
    assert (self);
    return self->config.replicas > 1;
}

uint64_t node_wall_ms (const chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    int64_t wall = (int64_t) now_ms + self->config.wall_offset_ms;
    return wall > 0 ? (uint64_t) wall : 0;
}

/* The ring as replica_set.h reads it; pred when it is to be counted. */
static chord_replica_view_t s_replica_view (const chord_node_t *self, const chord_peer_t *pred)
{
    const node_ring_t *ring = node_ring (self);
    return (chord_replica_view_t) {.self_endpoint = self->self.endpoint,
                                   .succ = ring->succ,
                                   .succ_count = ring->succ_count,
                                   .fingers = ring->finger,
                                   .finger_valid = ring->finger_valid,
                                   .finger_count = CHORD_ID_BITS,
                                   .pred = pred};
}

/*  Both walk up to 160 fingers (all of them on a ring of one process),
    and every write asks for both: they are worked out again only when the
    ring's successors or fingers (its shape) or its predecessor changed.  */
static const node_replica_view_t *s_view (chord_node_t *self)
{
    const node_ring_t *ring = node_ring (self);
    node_replica_view_t *view = &self->replica.view;
    if (view->valid && view->shape == ring->shape && view->has_pred == ring->has_pred &&
        view->pred_alive == ring->pred_alive && (!ring->has_pred || chord_id_equal (&view->pred, &ring->pred.id)))
        return view;
    size_t wanted = self->config.replicas > 1 ? self->config.replicas - 1 : 0;
    if (wanted > CHORD_REPLICAS_MAX - 1)
        wanted = CHORD_REPLICAS_MAX - 1;
    chord_replica_view_t ring_view = s_replica_view (self, ring->has_pred && ring->pred_alive ? &ring->pred : NULL);
    view->count = chord_replica_set (&ring_view, wanted, view->peers);
    /* Distinct processes (endpoints) we know of, counted up to
       CHORD_REPLICAS_MAX: a bound on the copies a write can find. A
       predecessor counts even when silent: it may hold copies yet. */
    chord_peer_t others[CHORD_REPLICAS_MAX - 1];
    ring_view = s_replica_view (self, ring->has_pred ? &ring->pred : NULL);
    view->processes = chord_replica_set (&ring_view, CHORD_REPLICAS_MAX - 1, others) + 1;
    view->valid = true;
    view->shape = ring->shape;
    view->has_pred = ring->has_pred;
    view->pred_alive = ring->pred_alive;
    view->pred = ring->pred.id;
    return view;
}

size_t node_replica_peers (chord_node_t *self, chord_peer_t *out)
{
    assert (self);
    assert (out);
    const node_replica_view_t *view = s_view (self);
    memcpy (out, view->peers, view->count * sizeof out[0]);
    return view->count;
}

static size_t s_processes_known (chord_node_t *self)
{
    return s_view (self)->processes;
}

/* ---------------------------------------------------------------------- */
/* Answers. */

static const uint8_t s_empty_value[1];

void node_answer (chord_node_t *self, const node_answer_t *answer, chord_status_t status, const uint8_t *value,
                  size_t value_len, const char *text, uint64_t now_ms)
{
    assert (self);
    assert (answer);
    if (answer->kind != NODE_ANSWER_PEER) {
        node_client_done (self, answer, status, value, value_len, text, now_ms);
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_STORE_REPLY, answer->request_id);
    reply->fields = CHORD_F_STATUS;
    reply->status = status;
    if (value) {
        reply->fields |= CHORD_F_VALUE;
        reply->value = value_len ? value : NULL;
        reply->value_len = value_len;
    }
    if (text) {
        reply->fields |= CHORD_F_TEXT;
        reply->text = text;
        reply->text_len = strlen (text);
    }
    node_reply (self, &answer->origin, reply);
    node_msg_end (self, reply);
}

/* Answers a read with a record: its value, or NOT_FOUND for a tombstone. */
static void s_answer_record (chord_node_t *self, const node_answer_t *answer, const chord_record_t *rec,
                             uint64_t now_ms)
{
    if (rec->tombstone)
        node_answer (self, answer, CHORD_STATUS_NOT_FOUND, NULL, 0, NULL, now_ms);
    else
        node_answer (self, answer, CHORD_STATUS_OK, rec->value_len ? rec->value : s_empty_value, rec->value_len,
                  NULL, now_ms);
}

/* ---------------------------------------------------------------------- */
/* Pending operations. */

/*  How long we wait for replicas. The peer that sent us the operation gives
    us one rpc timeout before it suspects us; our answer, quorum or not, must
    reach it first, or a live owner is routed around and the write lands
    outside the key's replicas.  */
static uint64_t s_replica_wait_ms (const chord_node_t *self)
{
    return self->config.rpc_timeout_ms / 2 + 1;
}

static node_pending_t *s_pending_new (chord_node_t *self, bool is_read, const node_answer_t *answer,
                                      uint64_t deadline_ms)
{
    if (self->replica.pending_count >= CHORD_PENDING_MAX)
        return NULL;
    node_pending_t *pending = calloc (1, sizeof *pending);
    if (!pending)
        return NULL;
    pending->is_read = is_read;
    pending->answer = *answer;
    pending->deadline_ms = deadline_ms;
    pending->next = self->replica.pendings;
    if (self->replica.pendings)
        self->replica.pendings->prev = pending;
    self->replica.pendings = pending;
    self->replica.pending_count++;
    return pending;
}

static void s_pending_destroy (chord_node_t *self, node_pending_t *pending)
{
    if (pending->prev)
        pending->prev->next = pending->next;
    else
        self->replica.pendings = pending->next;
    if (pending->next)
        pending->next->prev = pending->prev;
    self->replica.pending_count--;
    free (pending->key);
    free (pending->best);
    free (pending);
}

void node_replica_destroy (chord_node_t *self)
{
    assert (self);
    while (self->replica.pendings)
        s_pending_destroy (self, self->replica.pendings);
}

uint64_t node_pendings_next_ms (const chord_node_t *self)
{
    assert (self);
    uint64_t next = UINT64_MAX;
    for (const node_pending_t *pending = self->replica.pendings; pending; pending = pending->next)
        if (pending->deadline_ms < next)
            next = pending->deadline_ms;
    return next;
}

static int s_observe_versions (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len)
{
    (void) key_id, (void) key, (void) key_len;
    chord_node_t *self = arg;
    chord_record_t rec;
    if (chord_record_decode (&rec, value, value_len) == 0)
        chord_hlc_observe (&self->replica.hlc_last, rec.version.hlc);
    return 0;
}

void node_replica_init (chord_node_t *self)
{
    assert (self);
    chord_store_range (self->env.store, &self->self.id, &self->self.id, s_observe_versions, self);
}

/*  Whether a replica's answer comes, for the first time, from the peer
    asked under its request id: request ids are sequential, so another
    peer could guess one, and a duplicate must not count twice (towards a
    write quorum, or to end a read before the others spoke).  */
static bool s_from_asked (const node_pending_t *pending, unsigned index, const chord_msg_t *msg)
{
    return !pending->replied[index] && msg->has_sender &&
           chord_id_equal (&msg->sender.id, &pending->peers[index].id) &&
           strcmp (msg->sender.endpoint, pending->peers[index].endpoint) == 0;
}

/* The pending operation a replica's answer belongs to, and which replica
   (by request id) answered; NULL when it is over already. */
static node_pending_t *s_pending_find (chord_node_t *self, uint64_t request_id, bool is_read, unsigned *index)
{
    for (node_pending_t *pending = self->replica.pendings; pending; pending = pending->next)
        if (pending->is_read == is_read && request_id >= pending->first_request_id &&
            request_id - pending->first_request_id < pending->sent) {
            *index = (unsigned) (request_id - pending->first_request_id);
            return pending;
        }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Shipping records to a peer. */

struct node_shipment {
    chord_node_t *node;
    chord_peer_t to;
    chord_item_t *items;
    size_t count;
    size_t bytes;
    uint64_t shipped;
    uint64_t request_id;    /* of the last batch sent */
};

node_shipment_t *node_shipment_new (chord_node_t *self, const chord_peer_t *to)
{
    assert (self);
    assert (to);
    node_shipment_t *shipment = calloc (1, sizeof *shipment);
    if (!shipment)
        return NULL;
    shipment->items = malloc (CHORD_ITEMS_MAX * sizeof *shipment->items);
    if (!shipment->items) {
        free (shipment);
        return NULL;
    }
    shipment->node = self;
    shipment->to = *to;
    return shipment;
}

static int s_shipment_flush (node_shipment_t *shipment)
{
    if (shipment->count == 0)
        return 0;
    shipment->request_id = node_new_request_id (shipment->node);
    chord_msg_t *msg = node_msg_begin (shipment->node, CHORD_MSG_REPLICATE, shipment->request_id);
    msg->fields = CHORD_F_ITEMS;
    msg->items = shipment->items;
    msg->item_count = shipment->count;
    int rc = node_send_peer (shipment->node, &shipment->to, msg);
    node_msg_end (shipment->node, msg);
    /* The items point into the store, which the next change may move. */
    for (size_t i = 0; i < shipment->count; i++)
        free ((void *) shipment->items[i].key);
    shipment->shipped += shipment->count;
    shipment->count = 0;
    shipment->bytes = 0;
    return rc;
}

int node_shipment_add (node_shipment_t *shipment, const uint8_t *key, size_t key_len, const uint8_t *data,
                       size_t size)
{
    assert (shipment);
    if (shipment->count == CHORD_ITEMS_MAX ||
        (shipment->count > 0 && shipment->bytes + key_len + size > CHORD_BATCH_BYTES_MAX))
        if (s_shipment_flush (shipment) != 0)
            return -1;
    /* One allocation holds key then record, owned until the batch is sent. */
    uint8_t *copy = malloc (key_len + size);
    if (!copy)
        return -1;
    memcpy (copy, key, key_len);
    memcpy (copy + key_len, data, size);
    chord_item_t *item = &shipment->items[shipment->count++];
    item->key = copy;
    item->key_len = key_len;
    item->value = copy + key_len;
    item->value_len = size;
    shipment->bytes += key_len + size;
    return 0;
}

uint64_t node_shipment_finish (node_shipment_t *shipment)
{
    assert (shipment);
    s_shipment_flush (shipment);
    uint64_t shipped = shipment->shipped;
    free (shipment->items);
    free (shipment);
    return shipped;
}

/* ---------------------------------------------------------------------- */
/* Coordinating. */

bool node_tombstone_expired (const chord_node_t *self, const chord_record_t *rec, uint64_t wall_ms)
{
    assert (self);
    assert (rec);
    return rec->tombstone && chord_hlc_ms (rec->version.hlc) + self->config.tombstone_grace_ms < wall_ms;
}

bool node_version_admissible (const chord_node_t *self, uint64_t hlc, uint64_t now_ms)
{
    assert (self);
    return chord_hlc_ms (hlc) <= node_wall_ms (self, now_ms) + self->config.max_clock_skew_ms;
}

int node_keep_record (chord_node_t *self, const uint8_t *key, size_t key_len, const uint8_t *data,
                      size_t size, uint64_t now_ms)
{
    assert (self);
    chord_record_t rec;
    if (chord_record_decode (&rec, data, size) != 0)
        return -1;
    uint64_t wall_ms = node_wall_ms (self, now_ms);
    if (chord_hlc_ms (rec.version.hlc) > wall_ms + self->config.max_clock_skew_ms) {
        self->stats.records_refused++;
        return NODE_KEEP_FUTURE;
    }
    chord_hlc_observe (&self->replica.hlc_last, rec.version.hlc);
    if (node_tombstone_expired (self, &rec, wall_ms))
        return 0;
    return chord_record_put_if_newer (self->env.store, key, key_len, data, size);
}

/* Copies that must hold a write before it is acknowledged, as configured. */
static size_t s_configured_quorum (const chord_node_t *self)
{
    return self->config.write_quorum ? self->config.write_quorum : self->config.replicas / 2 + 1;
}

/*  The write quorum here and now. A ring of fewer processes than the
    quorum keeps as many copies as it has processes; but a successor list
    thinned by failures is no proof of a small ring, so then a write waits
    for the list to heal.  */
static size_t s_write_quorum (chord_node_t *self)
{
    size_t quorum = s_configured_quorum (self);
    size_t processes = s_processes_known (self);
    return quorum < processes ? quorum : processes;
}

/*  The replicas of a read that must say "none" before a key we miss is
    called missing, and how many of those asked may say it (the first
    ones). An acknowledged write is on W of the key's R holders; we are
    one, so once R - W other holders said none, none can hold it. What we
    see of the ring lowers R - W only when fewer replicas are in view (all
    of them must then say none), never because peers dropped out of it.
    When we serve for a silent owner, or our arc just grew, our successors
    may never have held the key (and the list shifts as silent peers drop
    out of it): no "none" counts, so only W = R (ours suffices) proves a
    key missing there; else the read times out until the ring settles.  */
static void s_read_witnesses (const chord_node_t *self, bool settled, size_t count, unsigned *needed,
                              unsigned *witnesses)
{
    size_t replicas = self->config.replicas, quorum = s_configured_quorum (self);
    size_t others = replicas > quorum ? replicas - quorum : 0;
    *witnesses = settled ? (unsigned) count : 0;
    *needed = (unsigned) (settled && others > count ? count : others);
}

/* Sends one request per replica, with consecutive request ids. */
static void s_ask_replicas (chord_node_t *self, node_pending_t *pending, chord_msg_t *msg,
                            const chord_peer_t *peers, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t id = node_new_request_id (self);
        if (i == 0)
            pending->first_request_id = id;
        msg->request_id = id;
        pending->peers[i] = peers[i];
        node_send_peer (self, &peers[i], msg);
        pending->sent++;
    }
}

chord_version_t node_new_version (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    chord_version_t version = {.hlc = chord_hlc_next (&self->replica.hlc_last, node_wall_ms (self, now_ms)),
                               .writer = chord_version_writer (&self->self.id)};
    return version;
}

static chord_status_t s_write (chord_node_t *self, chord_store_op_t op, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len, const chord_version_t *version,
                               const node_answer_t *answer, uint64_t now_ms)
{
    chord_status_t done_status = CHORD_STATUS_OK;
    if (op == CHORD_STORE_OP_DEL) {
        chord_record_t held;
        int rc = chord_record_get (self->env.store, key, key_len, &held);
        if (rc == 0 && held.tombstone)
            rc = 1;
        if (rc < 0) {
            node_answer (self, answer, CHORD_STATUS_STORE_ERROR, NULL, 0, "the store failed", now_ms);
            return CHORD_STATUS_OK;
        }
        /* A delete of a key we do not hold still writes a tombstone: a
           replica may hold the key that our copy missed. */
        if (rc == 1)
            done_status = CHORD_STATUS_NOT_FOUND;
    }
    chord_record_t rec = {
        .version = version ? *version : node_new_version (self, now_ms),
        .tombstone = op == CHORD_STORE_OP_DEL,
        .value = value,
        .value_len = op == CHORD_STORE_OP_DEL ? 0 : value_len,
    };
    size_t size = chord_record_size (&rec);
    uint8_t *data = malloc (size);
    if (!data) {
        node_answer (self, answer, CHORD_STATUS_STORE_ERROR, NULL, 0, "out of memory", now_ms);
        return CHORD_STATUS_OK;
    }
    chord_record_encode (&rec, data);
    /* A newer version here means a later write overtook this one: it
       stands, and this one still counts as done. */
    int kept = node_keep_record (self, key, key_len, data, size, now_ms);
    if (kept < 0) {
        free (data);
        if (kept == NODE_KEEP_FUTURE)
            node_answer (self, answer, CHORD_STATUS_BAD_REQUEST, NULL, 0,
                         "the write's version is further ahead of this peer's clock than "
                         "--max-clock-skew-ms allows (is the entry peer's clock right?)", now_ms);
        else
            node_answer (self, answer, CHORD_STATUS_STORE_ERROR, NULL, 0, "the store failed (full?)", now_ms);
        return CHORD_STATUS_OK;
    }
    chord_peer_t peers[CHORD_REPLICAS_MAX];
    size_t count = node_replica_peers (self, peers);
    size_t quorum = s_write_quorum (self);
    if (quorum > count + 1) {
        free (data);
        self->stats.writes_no_quorum++;
        node_answer (self, answer, CHORD_STATUS_NO_QUORUM, NULL, 0, "too few live successors to hold the copies",
                  now_ms);
        return CHORD_STATUS_OK;
    }
    node_pending_t *pending = NULL;
    if (quorum > 1) {
        pending = s_pending_new (self, false, answer, now_ms + s_replica_wait_ms (self));
        if (!pending) {
            free (data);
            node_answer (self, answer, CHORD_STATUS_NOT_READY, NULL, 0, "this peer is overloaded", now_ms);
            return CHORD_STATUS_OK;
        }
        pending->needed = (unsigned) quorum - 1;
        pending->done_status = done_status;
    }
    if (count > 0) {
        chord_item_t item = {.key = key, .key_len = key_len, .value = data, .value_len = size};
        chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_REPLICATE, 0);
        msg->fields = CHORD_F_ITEMS;
        msg->items = &item;
        msg->item_count = 1;
        node_pending_t unawaited = {0};
        s_ask_replicas (self, pending ? pending : &unawaited, msg, peers, count);
        node_msg_end (self, msg);
    }
    free (data);
    if (self->config.replicas > 1 && node_logs (self, CHORD_LOG_DEBUG)) {
        chord_id_t key_id;
        char a[9];
        chord_id_hash (&key_id, key, key_len);
        node_log (self, CHORD_LOG_DEBUG, "%s %s version %llx: sent to %zu replicas, quorum %zu",
                  rec.tombstone ? "delete" : "write", node_short (&key_id, a),
                  (unsigned long long) rec.version.hlc, count, quorum);
    }
    if (!pending)
        node_answer (self, answer, done_status, NULL, 0, NULL, now_ms);
    return CHORD_STATUS_OK;
}

/*  True when a missing key is not yet proof of absence: it lies in an arc
    we took over from a predecessor that stopped answering, which may only
    be paused and come back with the key. Without replicas, such a miss is
    "not ready" for a grace period, then "not found".  */
static bool s_in_doubt (chord_node_t *self, const uint8_t *key, size_t key_len, uint64_t now_ms)
{
    chord_id_t id;
    chord_id_hash (&id, key, key_len);
    return node_ring_in_doubt (self, &id, now_ms);
}

static chord_status_t s_read (chord_node_t *self, const uint8_t *key, size_t key_len,
                              const node_answer_t *answer, uint64_t now_ms)
{
    chord_record_t rec;
    int rc = chord_record_get (self->env.store, key, key_len, &rec);
    if (rc < 0) {
        node_answer (self, answer, CHORD_STATUS_STORE_ERROR, NULL, 0, "the store failed", now_ms);
        return CHORD_STATUS_OK;
    }
    if (rc == 0) {
        s_answer_record (self, answer, &rec, now_ms);
        return CHORD_STATUS_OK;
    }
    chord_peer_t peers[CHORD_REPLICAS_MAX];
    size_t count = node_replica_peers (self, peers);
    if (count == 0) {
        if (s_in_doubt (self, key, key_len, now_ms))
            return CHORD_STATUS_NOT_READY;
        node_answer (self, answer, CHORD_STATUS_NOT_FOUND, NULL, 0, NULL, now_ms);
        return CHORD_STATUS_OK;
    }
    /* We miss it: perhaps we just took the arc over, or missed the write. */
    node_pending_t *pending = s_pending_new (self, true, answer, now_ms + s_replica_wait_ms (self));
    if (pending)
        pending->key = malloc (key_len);
    if (!pending || !pending->key) {
        if (pending)
            s_pending_destroy (self, pending);
        node_answer (self, answer, CHORD_STATUS_NOT_READY, NULL, 0, "this peer is overloaded", now_ms);
        return CHORD_STATUS_OK;
    }
    memcpy (pending->key, key, key_len);
    pending->key_len = key_len;
    chord_id_t key_id;
    chord_id_hash (&key_id, key, key_len);
    bool settled = node_owns (self, &key_id) && !node_ring_in_doubt (self, &key_id, now_ms);
    s_read_witnesses (self, settled, count, &pending->needed, &pending->witnesses);
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_FETCH, 0);
    msg->fields = CHORD_F_KEY;
    msg->key = key;
    msg->key_len = key_len;
    s_ask_replicas (self, pending, msg, peers, count);
    node_msg_end (self, msg);
    return CHORD_STATUS_OK;
}

chord_status_t node_coordinate (chord_node_t *self, chord_store_op_t op, const uint8_t *key, size_t key_len,
                                const uint8_t *value, size_t value_len, const chord_version_t *version,
                                const node_answer_t *answer, uint64_t now_ms)
{
    assert (self);
    assert (answer);
    if (op == CHORD_STORE_OP_GET)
        return s_read (self, key, key_len, answer, now_ms);
    return s_write (self, op, key, key_len, value, value_len, version, answer, now_ms);
}

/* The owner's side of a STORE: an entry peer asks us to coordinate a key. */
void node_on_store (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (!origin) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
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

/* ---------------------------------------------------------------------- */
/* Replicas' answers. */

/* One more replica answered a write (held: it keeps the copy), or with
   out_of_time none will any more. */
static void s_write_answered (chord_node_t *self, node_pending_t *pending, bool held, bool out_of_time,
                              uint64_t now_ms)
{
    if (!out_of_time)
        pending->answered++;
    if (held)
        pending->acks++;
    if (pending->acks >= pending->needed) {
        node_answer (self, &pending->answer, pending->done_status, NULL, 0, NULL, now_ms);
        s_pending_destroy (self, pending);
    } else if (pending->answered == pending->sent || out_of_time) {
        char text[96];
        snprintf (text, sizeof text, "only %u of %u copies acknowledged the write", pending->acks + 1,
                  pending->needed + 1);
        self->stats.writes_no_quorum++;
        node_answer (self, &pending->answer, CHORD_STATUS_NO_QUORUM, NULL, 0, text, now_ms);
        s_pending_destroy (self, pending);
    }
}

/* Answers a read with the newest copy found, and rewrites stale copies. */
static void s_read_finish (chord_node_t *self, node_pending_t *pending, uint64_t now_ms)
{
    chord_record_t best;
    if (!pending->best || chord_record_decode (&best, pending->best, pending->best_len) != 0) {
        unsigned none = 0;
        for (unsigned i = 0; i < pending->sent && i < pending->witnesses; i++)
            none += pending->has_none[i];
        if (none >= pending->needed)
            node_answer (self, &pending->answer, CHORD_STATUS_NOT_FOUND, NULL, 0, NULL, now_ms);
        else
            node_answer (self, &pending->answer, CHORD_STATUS_TIMEOUT, NULL, 0,
                         "too few copies answered in time to tell whether the key exists", now_ms);
        s_pending_destroy (self, pending);
        return;
    }
    s_answer_record (self, &pending->answer, &best, now_ms);
    if (node_keep_record (self, pending->key, pending->key_len, pending->best, pending->best_len, now_ms) > 0)
        self->stats.read_repairs++;
    for (unsigned i = 0; i < pending->sent; i++) {
        if (pending->has_best[i] && chord_version_compare (&pending->version[i], &best.version) >= 0)
            continue;
        node_shipment_t *shipment = node_shipment_new (self, &pending->peers[i]);
        if (!shipment)
            break;
        node_shipment_add (shipment, pending->key, pending->key_len, pending->best, pending->best_len);
        self->stats.read_repairs += node_shipment_finish (shipment);
    }
    s_pending_destroy (self, pending);
}

void node_on_replicate (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (!origin || !msg->has_sender) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    chord_msg_t *ack = node_msg_begin (self, CHORD_MSG_REPLICATE_ACK, msg->request_id);
    ack->fields = CHORD_F_STATUS | CHORD_F_COUNT;
    /* A copy given to a peer on its way out would leave with it. */
    if (self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT)
        ack->status = CHORD_STATUS_NOT_READY;
    else {
        ack->status = CHORD_STATUS_OK;
        for (size_t i = 0; i < msg->item_count; i++) {
            const chord_item_t *item = &msg->items[i];
            int rc = node_keep_record (self, item->key, item->key_len, item->value, item->value_len, now_ms);
            /* A record from too far ahead is refused alone: the rest of a
               repair batch are still kept. A failing store stops it all. */
            if (rc == NODE_KEEP_FUTURE) {
                ack->status = CHORD_STATUS_BAD_REQUEST;
                continue;
            }
            if (rc < 0) {
                ack->status = CHORD_STATUS_STORE_ERROR;
                break;
            }
            self->stats.replica_items_kept += (uint64_t) rc;
            ack->count++;
        }
    }
    node_reply (self, origin, ack);
    node_msg_end (self, ack);
}

void node_on_replicate_ack (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    unsigned index;
    node_pending_t *pending = s_pending_find (self, msg->request_id, false, &index);
    /* Acks of repairs and of writes already answered are expected: no one waits. */
    if (!pending)
        return;
    if (!s_from_asked (pending, index, msg)) {
        node_drop (self, CHORD_DROP_STALE_REPLY);
        return;
    }
    pending->replied[index] = true;
    s_write_answered (self, pending, msg->status == CHORD_STATUS_OK, false, now_ms);
}

void node_on_fetch (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    assert (self);
    assert (msg);
    if (!origin) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_FETCH_REPLY, msg->request_id);
    reply->fields = CHORD_F_STATUS;
    const uint8_t *data;
    size_t size;
    chord_record_t rec;
    int rc = chord_store_get (self->env.store, msg->key, msg->key_len, &data, &size);
    chord_item_t item = {.key = msg->key, .key_len = msg->key_len, .value = data, .value_len = size};
    if (rc == 0 && chord_record_decode (&rec, data, size) == 0) {
        reply->status = CHORD_STATUS_OK;
        reply->fields |= CHORD_F_ITEMS;
        reply->items = &item;
        reply->item_count = 1;
    } else
        reply->status = rc == 1 ? CHORD_STATUS_NOT_FOUND : CHORD_STATUS_STORE_ERROR;
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
}

void node_on_fetch_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    unsigned index;
    node_pending_t *pending = s_pending_find (self, msg->request_id, true, &index);
    if (!pending)
        return;   /* answered already, on time-out */
    if (!s_from_asked (pending, index, msg)) {
        node_drop (self, CHORD_DROP_STALE_REPLY);
        return;
    }
    pending->replied[index] = true;
    chord_record_t rec;
    if (msg->status == CHORD_STATUS_OK && msg->item_count == 1 &&
        msg->items[0].key_len == pending->key_len &&
        memcmp (msg->items[0].key, pending->key, pending->key_len) == 0 &&
        chord_record_decode (&rec, msg->items[0].value, msg->items[0].value_len) == 0 &&
        node_version_admissible (self, rec.version.hlc, now_ms)) {
        pending->has_best[index] = true;
        pending->version[index] = rec.version;
        chord_record_t best;
        if (!pending->best || chord_record_decode (&best, pending->best, pending->best_len) != 0 ||
            chord_version_compare (&rec.version, &best.version) > 0) {
            uint8_t *copy = malloc (msg->items[0].value_len);
            if (copy) {
                memcpy (copy, msg->items[0].value, msg->items[0].value_len);
                free (pending->best);
                pending->best = copy;
                pending->best_len = msg->items[0].value_len;
            }
        }
    } else if (msg->status == CHORD_STATUS_NOT_FOUND)
        pending->has_none[index] = true;
    if (++pending->answered == pending->sent)
        s_read_finish (self, pending, now_ms);
}

uint64_t node_pendings_expire (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    uint64_t next = UINT64_MAX;
    for (node_pending_t *pending = self->replica.pendings, *following; pending; pending = following) {
        following = pending->next;
        if (pending->deadline_ms > now_ms) {
            if (pending->deadline_ms < next)
                next = pending->deadline_ms;
            continue;
        }
        if (pending->is_read)
            s_read_finish (self, pending, now_ms);
        else
            s_write_answered (self, pending, false, true, now_ms);
    }
    return next;
}
