/*  chord node: moving arcs between peers. A joiner takes its arc from its
    successor; a leaver hands everything to its successor; each transfer
    is acknowledged before the sender forgets the keys.  */

#include "key_list.h"
#include "node_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_join_send (chord_node_t *self, node_task_t *task, const chord_peer_t *successor, uint64_t now_ms)
{
    assert (self);
    assert (task);
    assert (successor);
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_JOIN, 0);
    task->hop = *successor;
    int rc = node_call (self, successor, msg, RPC_JOIN, task, now_ms);
    /* The arc may arrive before the reply (on another path): know it by id. */
    self->transfer.join_request_id = msg->request_id;
    self->transfer.join_successor = successor->id;
    self->transfer.join_handoff_done = false;
    node_msg_end (self, msg);
    if (rc != 0)
        node_task_retry (self, task, now_ms);
}

typedef struct {
    chord_node_t *node;
    node_handoff_t *handoff;
    const char *endpoint;         /* PEER destination, or NULL */
    const chord_origin_t *origin; /* ORIGIN destination, or NULL */
    const chord_peer_t *to;
    bool has_new_pred; /* leaving: tell the receiver its new predecessor */
    const chord_peer_t *new_pred;
    chord_item_t *items;
    size_t item_count;
    size_t item_alloc; /* items allocated: grown as the arc fills a batch, up to CHORD_ITEMS_MAX */
    size_t bytes;
    int failed;
} s_batcher_t;

#define S_BATCH_ITEMS_FIRST 64 /* items of a batch's first allocation (32 bytes each) */

/*  Room for one more item in the batch: a handoff of an empty or small arc
    (most joins and leaves) allocates a few items, not all 4096 (128 KB).
    Returns 0, or -1 out of memory.  */
static int s_batch_room (s_batcher_t *batcher)
{
    if (batcher->item_count < batcher->item_alloc)
        return 0;
    size_t alloc = batcher->item_alloc ? batcher->item_alloc * 2 : S_BATCH_ITEMS_FIRST;
    if (alloc > CHORD_ITEMS_MAX)
        alloc = CHORD_ITEMS_MAX;
    chord_item_t *grown = realloc (batcher->items, alloc * sizeof *grown);
    if (!grown)
        return -1;
    batcher->items = grown;
    batcher->item_alloc = alloc;
    return 0;
}

static int s_batch_flush (s_batcher_t *batcher, bool final)
{
    chord_node_t *self = batcher->node;
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_HANDOFF, batcher->handoff->transfer_id);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL;
    msg->transfer_id = batcher->handoff->transfer_id;
    msg->items = batcher->items;
    msg->item_count = batcher->item_count;
    msg->final = final;
    if (final) {
        msg->fields |= CHORD_F_COUNT;
        msg->count = batcher->handoff->total + batcher->item_count;
        if (batcher->handoff->leaving) {
            msg->fields |= CHORD_F_PRED;
            msg->has_pred = batcher->has_new_pred;
            if (batcher->has_new_pred)
                msg->pred = *batcher->new_pred;
        }
    }
    int rc;
    if (batcher->endpoint) {
        msg->has_target = true;
        msg->target = batcher->to->id;
        rc = node_queue (self, msg, CHORD_DEST_PEER, batcher->endpoint, NULL);
    } else
        rc = node_reply (self, batcher->origin, msg);
    node_msg_end (self, msg);
    batcher->handoff->total += batcher->item_count;
    batcher->item_count = 0;
    batcher->bytes = 0;
    return rc;
}

static int s_batch_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
    (void) key_id;
    s_batcher_t *batcher = arg;
    if (batcher->item_count == CHORD_ITEMS_MAX ||
        (batcher->item_count > 0 && batcher->bytes + key_len + value_len > CHORD_BATCH_BYTES_MAX))
        if (s_batch_flush (batcher, false) != 0) {
            batcher->failed = 1;
            return 1;
        }
    if (s_batch_room (batcher) != 0) {
        node_log (batcher->node, CHORD_LOG_ERROR, "out of memory for a handoff batch");
        batcher->failed = 1;
        return 1;
    }
    chord_item_t *item = &batcher->items[batcher->item_count++];
    item->key = key;
    item->key_len = key_len;
    item->value = value;
    item->value_len = value_len;
    batcher->bytes += key_len + value_len;
    return 0;
}

/*  Sends the keys in (from, to] (everything when leaving) as HANDOFF
    batches, to an endpoint or back to an origin, and waits for the ack.  */
int node_handoff_start (chord_node_t *self, const chord_peer_t *to, const chord_origin_t *origin,
                        uint64_t transfer_id, bool leaving, const chord_id_t *from, const chord_id_t *upto,
                        uint64_t now_ms)
{
    assert (self);
    assert (to);
    const node_ring_t *ring = node_ring (self);
    node_handoff_t *handoff = NULL;
    for (size_t i = 0; i < CHORD_HANDOFFS_MAX; i++)
        if (!self->transfer.handoffs[i].active) {
            handoff = &self->transfer.handoffs[i];
            break;
        }
    if (!handoff)
        return -1;
    memset (handoff, 0, sizeof *handoff);
    handoff->active = true;
    handoff->transfer_id = transfer_id;
    handoff->to = to->id;
    handoff->leaving = leaving;
    if (!leaving) {
        handoff->from = *from;
        handoff->upto = *upto;
    }
    s_batcher_t batcher = {
        .node = self,
        .handoff = handoff,
        .endpoint = origin ? NULL : to->endpoint,
        .origin = origin,
        .to = to,
        .has_new_pred = ring->has_pred && ring->pred_alive && !chord_id_equal (&ring->pred.id, &to->id),
        .new_pred = &ring->pred,
    };
    if (leaving)
        chord_store_range (self->env.store, &self->self.id, &self->self.id, s_batch_visit, &batcher);
    else
        chord_store_range (self->env.store, from, upto, s_batch_visit, &batcher);
    if (!batcher.failed && s_batch_flush (&batcher, true) != 0)
        batcher.failed = 1;
    free (batcher.items);
    if (batcher.failed) {
        handoff->active = false;
        return -1;
    }
    /* Large arcs take longer to store: allow a millisecond per hundred keys more. */
    uint64_t wait_ms = 4 * (uint64_t) self->config.rpc_timeout_ms + handoff->total / 100;
    if (!node_rpc_add (self, transfer_id, RPC_HANDOFF, to, now_ms + wait_ms, NULL)) {
        handoff->active = false;
        return -1;
    }
    char a[9];
    node_log (self, CHORD_LOG_INFO, "handing %llu keys to %s (%s)%s", (unsigned long long) handoff->total,
              node_short (&to->id, a), to->endpoint, leaving ? " before leaving" : "");
    return 0;
}

/* Transfer ids come from whoever asked (a joiner's JOIN request id), so
   only the pair of id and receiver names one transfer. */
static node_handoff_t *s_handoff_find (chord_node_t *self, uint64_t transfer_id, const chord_id_t *to)
{
    for (size_t i = 0; i < CHORD_HANDOFFS_MAX; i++)
        if (self->transfer.handoffs[i].active && self->transfer.handoffs[i].transfer_id == transfer_id &&
            chord_id_equal (&self->transfer.handoffs[i].to, to))
            return &self->transfer.handoffs[i];
    return NULL;
}

static int s_collect_key (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
    (void) key_id, (void) value, (void) value_len;
    return chord_key_list_add (arg, key, key_len, false) == 0 ? 0 : 1;
}

/* Deletes every key in (from, upto]: they now live elsewhere. */
static void s_store_drop_range (chord_node_t *self, const chord_id_t *from, const chord_id_t *upto)
{
    chord_key_list_t list = {0};
    chord_store_range (self->env.store, from, upto, s_collect_key, &list);
    for (size_t i = 0; i < list.count; i++)
        chord_store_del (self->env.store, list.keys[i], list.lens[i]);
    chord_key_list_clear (&list);
}

/*  Ends a leave. new_home is the peer that took our data, or NULL when
    there was none to hand over (a lone or never-joined node); data_safe
    is false when data was left behind.  */
void node_leave_finish (chord_node_t *self, const chord_peer_t *new_home, bool data_safe)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    if (new_home && ring->has_pred && ring->pred_alive && !node_is_self (self, &ring->pred)) {
        chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_LEAVE_NOTICE, node_new_request_id (self));
        msg->fields = CHORD_F_SUCC;
        msg->peer_count = ring->succ_count;
        memcpy (msg->peers, ring->succ, ring->succ_count * sizeof ring->succ[0]);
        node_send_peer (self, &ring->pred, msg);
        node_msg_end (self, msg);
    }
    self->state = CHORD_NODE_LEFT;
    node_log (self, CHORD_LOG_INFO, "left the ring");
    if (self->transfer.leave_reply_pending) {
        node_reply_client (self, &self->transfer.leave_origin, self->transfer.leave_request_id,
                           data_safe ? CHORD_STATUS_OK : CHORD_STATUS_STORE_ERROR, NULL, 0,
                           data_safe ? NULL : "no successor took the data");
        self->transfer.leave_reply_pending = false;
    }
}

/* Hands everything to the next successor that has not yet failed us. */
void node_leave_try (chord_node_t *self, unsigned attempt, uint64_t now_ms)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    while (attempt < ring->succ_count) {
        const chord_peer_t *to = &ring->succ[attempt];
        if (node_is_self (self, to))
            break;
        uint64_t transfer_id = node_new_request_id (self);
        if (node_handoff_start (self, to, NULL, transfer_id, true, NULL, NULL, now_ms) == 0) {
            s_handoff_find (self, transfer_id, &to->id)->attempts = attempt;
            return;
        }
        attempt++;
    }
    if (chord_store_count (self->env.store) > 0)
        node_log (self, CHORD_LOG_ERROR, "no successor took our %zu keys: they leave with us",
                  chord_store_count (self->env.store));
    node_leave_finish (self, NULL, chord_store_count (self->env.store) == 0);
}

void node_handoff_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    node_handoff_t *handoff = s_handoff_find (self, rpc->request_id, &rpc->peer.id);
    chord_peer_t peer = rpc->peer;
    node_rpc_remove (self, rpc);
    if (!handoff)
        return;
    handoff->active = false;
    char a[9];
    node_log (self, CHORD_LOG_WARN, "handoff %llu to %s (%s) was not acknowledged",
              (unsigned long long) handoff->transfer_id, node_short (&peer.id, a), peer.endpoint);
    if (handoff->leaving) {
        node_suspect (self, &peer, true, now_ms);
        node_leave_try (self, 0, now_ms);
    }
    /* A join handoff that failed leaves the keys here; if the joiner died,
       our predecessor reverts and they are ours again. */
}

void node_become_active (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    self->state = CHORD_NODE_ACTIVE;
    self->active_since_ms = now_ms;
    node_timers_fire_at (self, NODE_TIMER_STABILIZE, now_ms);
    node_timers_fire_at (self, NODE_TIMER_FIX_FINGER, now_ms);
    node_timers_restart (self, NODE_TIMER_SYNC, now_ms);
    char a[9], b[9];
    node_log (self, CHORD_LOG_INFO, "joined the ring: successor %s (%s), predecessor %s, %zu keys",
              node_short (&ring->succ[0].id, a), ring->succ[0].endpoint,
              ring->has_pred ? node_short (&ring->pred.id, b) : "none", chord_store_count (self->env.store));
}

void node_on_join (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    const node_ring_t *ring = node_ring (self);
    if (!origin || !msg->has_sender) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    const chord_peer_t *joiner = &msg->sender;
    node_forgive (self, &joiner->id);   /* a departed peer may come back */
    bool hand_over = false;
    chord_id_t from = self->self.id;
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_JOIN_REPLY, msg->request_id);
    reply->fields = CHORD_F_STATUS;
    bool rejoin = ring->has_pred && chord_id_equal (&ring->pred.id, &joiner->id);
    if (self->state != CHORD_NODE_ACTIVE) {
        reply->status = CHORD_STATUS_NOT_READY;
        node_reply (self, origin, reply);
    } else if (node_is_self (self, joiner)) {
        reply->status = CHORD_STATUS_BAD_REQUEST;
        reply->fields |= CHORD_F_TEXT;
        reply->text = "that id is taken: another peer advertises the same endpoint";
        reply->text_len = strlen (reply->text);
        node_reply (self, origin, reply);
    } else if (node_alone (self) || !ring->has_pred || !ring->pred_alive || rejoin ||
               chord_id_in_open (&joiner->id, &ring->pred.id, &self->self.id)) {
        bool alone = node_alone (self);
        bool had_live_pred = ring->has_pred && ring->pred_alive && !alone;
        chord_peer_t old_pred = ring->pred;
        reply->status = CHORD_STATUS_OK;
        reply->fields |= CHORD_F_PRED | CHORD_F_SUCC;
        reply->has_pred = alone || (ring->has_pred && ring->pred_alive && !rejoin);
        reply->pred = alone ? self->self : ring->pred;
        reply->peer_count = ring->succ_count;
        memcpy (reply->peers, ring->succ, ring->succ_count * sizeof ring->succ[0]);
        node_reply (self, origin, reply);

        char a[9];
        node_log (self, CHORD_LOG_INFO, "peer %s (%s) joins as our predecessor", node_short (&joiner->id, a),
                  joiner->endpoint);
        node_ring_set_pred (self, joiner);
        if (alone)
            node_succ_set (self, joiner, NULL, 0, now_ms);
        /* The joiner takes (pred, joiner] from our arc. With no trustworthy
           predecessor we keep (joiner, self] and hand over everything else.
           The arc travels back on the reply's connection, after the reply. */
        if (had_live_pred && chord_id_in_open (&joiner->id, &old_pred.id, &self->self.id))
            from = old_pred.id;
        hand_over = true;
    } else {
        reply->status = CHORD_STATUS_REDIRECT;
        reply->fields |= CHORD_F_PEER;
        reply->peer = ring->pred;
        node_reply (self, origin, reply);
    }
    node_msg_end (self, reply);
    if (hand_over && node_handoff_start (self, joiner, origin, msg->request_id, false, &from, &joiner->id,
                                         now_ms) != 0)
        node_log (self, CHORD_LOG_ERROR, "cannot start the handoff to %s", joiner->endpoint);
}

void node_on_join_reply (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (rpc);
    assert (msg);
    node_task_t *task = rpc->task;
    chord_peer_t successor = rpc->peer;
    node_rpc_remove (self, rpc);
    task->rpc_id = 0;
    if (msg->status == CHORD_STATUS_REDIRECT && (msg->fields & CHORD_F_PEER) &&
        !node_is_self (self, &msg->peer)) {
        /* Someone joined just before our would-be successor: ask it instead.
           A few redirects in a row mean the ring is moving; back off. */
        char a[9];
        node_log (self, CHORD_LOG_DEBUG, "join redirected from %s to %s", successor.endpoint,
                  node_short (&msg->peer.id, a));
        if (++task->redirects <= CHORD_JOIN_REDIRECTS_MAX) {
            node_join_send (self, task, &msg->peer, now_ms);
            return;
        }
        node_task_retry (self, task, now_ms);
        return;
    }
    if (msg->status != CHORD_STATUS_OK || !(msg->fields & CHORD_F_SUCC)) {
        node_log (self, CHORD_LOG_WARN, "join refused by %s: %s%s%s", successor.endpoint,
                  chord_status_name (msg->status), msg->text ? ": " : "", msg->text ? msg->text : "");
        node_task_retry (self, task, now_ms);
        return;
    }
    node_succ_set (self, &successor, msg->peers, msg->peer_count, now_ms);
    if (msg->has_pred && !node_is_self (self, &msg->pred))
        node_ring_set_pred (self, &msg->pred);
    self->transfer.join_accepted = true;
    self->transfer.join_handoff_deadline_ms = now_ms + 10 * (uint64_t) self->config.rpc_timeout_ms;
    node_task_destroy (self, task);
    if (self->transfer.join_handoff_done)
        node_become_active (self, now_ms);
}

static node_intake_t *s_intake_find (chord_node_t *self, const chord_id_t *sender, uint64_t transfer_id,
                                     bool create)
{
    node_intake_t *free_slot = NULL;
    for (size_t i = 0; i < CHORD_INTAKES_MAX; i++) {
        node_intake_t *intake = &self->transfer.intakes[i];
        if (intake->active && intake->transfer_id == transfer_id && chord_id_equal (&intake->sender, sender))
            return intake;
        if (!intake->active && !free_slot)
            free_slot = intake;
    }
    if (!create)
        return NULL;
    if (!free_slot)
        free_slot = &self->transfer.intakes[transfer_id % CHORD_INTAKES_MAX]; /* evict: its sender will retry */
    memset (free_slot, 0, sizeof *free_slot);
    free_slot->active = true;
    free_slot->transfer_id = transfer_id;
    free_slot->sender = *sender;
    return free_slot;
}

/* Answers a handoff batch: back on its connection, or to its sender. */
static void s_ack_handoff (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                           uint64_t received, chord_status_t status)
{
    chord_msg_t *ack = node_msg_begin (self, CHORD_MSG_HANDOFF_ACK, msg->transfer_id);
    ack->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    ack->transfer_id = msg->transfer_id;
    ack->count = received;
    ack->status = status;
    if (origin)
        node_reply (self, origin, ack);
    else
        node_send_peer (self, &msg->sender, ack);
    node_msg_end (self, ack);
}

void node_on_handoff (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                      uint64_t now_ms)
{
    assert (self);
    assert (msg);
    const node_ring_t *ring = node_ring (self);
    if (!msg->has_sender) {
        node_drop (self, CHORD_DROP_MALFORMED);
        return;
    }
    bool joining = self->state == CHORD_NODE_JOINING;
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT) {
        /* Keys handed to a leaver would leave with it: refuse, so the sender
           keeps them (or tries its next successor). */
        if (msg->final)
            s_ack_handoff (self, msg, origin, 0, CHORD_STATUS_NOT_READY);
        return;
    }
    node_intake_t *intake = s_intake_find (self, &msg->sender.id, msg->transfer_id, true);
    for (size_t i = 0; i < msg->item_count; i++) {
        const chord_item_t *item = &msg->items[i];
        /* A record from the future is dropped, not kept, and counts as
           received: failing the transfer for it would let one forged record
           stall a join or a leave. */
        int rc = node_keep_record (self, item->key, item->key_len, item->value, item->value_len, now_ms);
        if (rc < 0 && rc != NODE_KEEP_FUTURE)
            intake->failed = true;
        else
            intake->received++;
    }
    if (msg->final) {
        intake->total_known = true;
        intake->total = msg->count;
    }
    if (!intake->total_known || intake->received < intake->total) {
        if (!intake->failed)
            return;
    }
    /* Complete (or failed): acknowledge and apply what the transfer means. */
    s_ack_handoff (self, msg, origin, intake->received,
                   intake->failed ? CHORD_STATUS_STORE_ERROR : CHORD_STATUS_OK);
    self->stats.keys_taken_over += intake->received;
    bool failed = intake->failed;
    intake->active = false;
    if (failed) {
        node_log (self, CHORD_LOG_ERROR, "could not store keys handed over by %s", msg->sender.endpoint);
        return;
    }
    if (msg->fields & CHORD_F_PRED) {
        /* Our predecessor left: its predecessor is ours now. */
        char a[9];
        node_log (self, CHORD_LOG_INFO, "predecessor %s (%s) left; took over its keys",
                  node_short (&msg->sender.id, a), msg->sender.endpoint);
        if (ring->has_pred && chord_id_equal (&ring->pred.id, &msg->sender.id)) {
            if (msg->has_pred && !node_is_self (self, &msg->pred))
                node_ring_set_pred (self, &msg->pred);
            else
                /* Unknown yet: we hold the leaver's keys, so no doubt. */
                node_ring_pred_handed_off (self);
        } else if (ring->has_pred && ring->pred_alive && !node_is_self (self, &ring->pred) &&
                   self->state == CHORD_NODE_ACTIVE && !node_replicating (self)) {
            /* The leaver did not know that someone joined between it and us:
               its keys belong to our predecessor (or before). Pass on
               whatever we hold outside our own arc. */
            node_handoff_start (self, &ring->pred, NULL, node_new_request_id (self), false, &self->self.id,
                                &ring->pred.id, now_ms);
        }
        /* Gone for good: out of lists and fingers, and deaf to its late notifies. */
        node_departed (self, &msg->sender, now_ms);
    } else if (joining && msg->transfer_id == self->transfer.join_request_id &&
               chord_id_equal (&msg->sender.id, &self->transfer.join_successor)) {
        self->transfer.join_handoff_done = true;
        if (self->transfer.join_accepted)
            node_become_active (self, now_ms);
    }
}

void node_on_handoff_ack (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (!msg->has_sender) {
        node_drop (self, CHORD_DROP_MALFORMED);
        return;
    }
    node_rpc_t *rpc = node_rpc_find_handoff (self, msg->transfer_id, &msg->sender.id);
    node_handoff_t *handoff = s_handoff_find (self, msg->transfer_id, &msg->sender.id);
    if (!rpc || !handoff) {
        node_drop (self, CHORD_DROP_STALE_REPLY);
        return;
    }
    chord_peer_t peer = rpc->peer;
    node_rpc_remove (self, rpc);
    handoff->active = false;
    if (msg->status != CHORD_STATUS_OK || msg->count != handoff->total) {
        node_log (self, CHORD_LOG_WARN, "handoff to %s incomplete (%llu of %llu keys, %s)", peer.endpoint,
                  (unsigned long long) msg->count, (unsigned long long) handoff->total,
                  chord_status_name (msg->status));
        if (handoff->leaving)
            node_leave_try (self, handoff->attempts + 1, now_ms);
        return;
    }
    self->stats.keys_handed_off += handoff->total;
    if (handoff->leaving)
        node_leave_finish (self, &peer, true);
    else if (!node_replicating (self))
        s_store_drop_range (self, &handoff->from, &handoff->upto);
    /* With replicas we keep the joiner's arc: we are its first replica. */
}

static int s_found_one (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                        const uint8_t *value, size_t value_len)
{
    (void) key_id, (void) key, (void) key_len, (void) value, (void) value_len;
    *(bool *) arg = true;
    return 1;
}

void node_pass_on_strays (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    if (!ring->has_pred || !ring->pred_alive || node_alone (self) || node_is_self (self, &ring->pred))
        return;
    for (size_t i = 0; i < CHORD_HANDOFFS_MAX; i++)
        if (self->transfer.handoffs[i].active)
            return;   /* a transfer in progress holds keys outside our arc on purpose */
    bool any = false;
    chord_store_range (self->env.store, &self->self.id, &ring->pred.id, s_found_one, &any);
    if (any)
        node_handoff_start (self, &ring->pred, NULL, node_new_request_id (self), false, &self->self.id,
                            &ring->pred.id, now_ms);
}

void node_on_client_leave (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                           uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT || self->transfer.leave_reply_pending) {
        node_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, "already leaving");
        return;
    }
    self->transfer.leave_reply_pending = true;
    self->transfer.leave_origin = *origin;
    self->transfer.leave_request_id = msg->request_id;
    chord_node_leave (self, now_ms);
}

int node_join_init (chord_node_t *self, const char *const *seeds, size_t seed_count)
{
    assert (self);
    assert (seeds || seed_count == 0);
    node_transfer_t *transfer = &self->transfer;
    transfer->join_retry_ms = CHORD_JOIN_RETRY_MIN_MS;
    transfer->seeds = calloc (seed_count ? seed_count : 1, sizeof *transfer->seeds);
    if (!transfer->seeds)
        return -1;
    for (size_t i = 0; i < seed_count; i++) {
        /* A seed that is this very position is no seed: a peer listed in
           everyone's --join may start the ring itself. (Other positions of
           the same process share our endpoint and are good seeds.) */
        chord_id_t seed_id;
        chord_id_hash (&seed_id, seeds[i], strlen (seeds[i]));
        if (chord_id_equal (&seed_id, &self->self.id) || strlen (seeds[i]) > CHORD_ENDPOINT_MAX)
            continue;
        transfer->seeds[transfer->seed_count] = strdup (seeds[i]);
        if (!transfer->seeds[transfer->seed_count])
            return -1;
        transfer->seed_count++;
        /* A seed is worth probing later, should the ring ever split. */
        chord_peer_t seed = {.id = seed_id};
        snprintf (seed.endpoint, sizeof seed.endpoint, "%s", seeds[i]);
        node_remember (self, &seed);
    }
    return (int) transfer->seed_count;
}

void node_transfer_destroy (chord_node_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->transfer.seed_count; i++)
        free (self->transfer.seeds[i]);
    free (self->transfer.seeds);
    self->transfer.seeds = NULL;
    self->transfer.seed_count = 0;
}

const char *node_join_next_seed (chord_node_t *self)
{
    assert (self);
    node_transfer_t *transfer = &self->transfer;
    assert (transfer->seed_count > 0);
    const char *seed = transfer->seeds[transfer->seed_next];
    transfer->seed_next = (transfer->seed_next + 1) % transfer->seed_count;
    return seed;
}

uint64_t node_join_backoff_ms (chord_node_t *self)
{
    assert (self);
    node_transfer_t *transfer = &self->transfer;
    uint64_t delay_ms = transfer->join_retry_ms;
    transfer->join_retry_ms = transfer->join_retry_ms * 2 > CHORD_JOIN_RETRY_MAX_MS ? CHORD_JOIN_RETRY_MAX_MS
                                                                                    : transfer->join_retry_ms * 2;
    return delay_ms;
}

bool node_join_accepted (const chord_node_t *self)
{
    assert (self);
    return self->transfer.join_accepted;
}

static bool s_join_arc_awaited (const chord_node_t *self)
{
    return self->state == CHORD_NODE_JOINING && self->transfer.join_accepted && !self->transfer.join_handoff_done;
}

void node_join_check_arrival (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    if (!s_join_arc_awaited (self) || self->transfer.join_handoff_deadline_ms > now_ms)
        return;
    node_log (self, CHORD_LOG_WARN, "our arc never arrived from %s; serving without it",
              node_ring (self)->succ[0].endpoint);
    self->transfer.join_handoff_done = true;
    node_become_active (self, now_ms);
}

uint64_t node_join_next_ms (const chord_node_t *self)
{
    assert (self);
    return s_join_arc_awaited (self) ? self->transfer.join_handoff_deadline_ms : UINT64_MAX;
}
