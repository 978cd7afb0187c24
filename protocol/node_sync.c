/*  chord node: anti-entropy. Every sync interval an owner sends each of
    its replicas digests of its arc (pred, self], split into
    CHORD_SYNC_BUCKETS buckets by the low bits of the key ids (uniform
    within any arc, since ids are hashes). The replica compares them with
    its own, answers with the mask of buckets that differ, and both sides
    ship their records in those buckets; each keeps the newer version. So
    a new replica, a restarted peer or one that missed writes catches up
    by shipping a fraction of the arc, not all of it.

    A bucket's digest is the XOR of one 64-bit hash per record (key id,
    version, tombstone flag), so the order of a scan does not matter.
    Tombstones past their grace period count for nothing and are purged
    every CHORD_PURGE_SYNCS rounds. So are copies we no longer need keep:
    each SYNC is an owner's claim on our copies of its arc, and a key
    outside our own arc that no claim has covered for CHORD_CLAIM_SYNCS
    rounds was left with us by churn (we were a replica once, or a leaver
    handed it to us); its owner and the owner's replicas hold it. Only a
    peer that has been active that long, with a live predecessor, drops
    anything: a newcomer has heard no claims yet.  */

#include "key_list.h"
#include "node_internal.h"
#include "record.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s_mix (uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static unsigned s_bucket (const chord_id_t *key_id)
{
    return key_id->bytes[CHORD_ID_BYTES - 1] % CHORD_SYNC_BUCKETS;
}

typedef struct {
    const chord_node_t *node;
    uint64_t wall_ms;
    uint64_t sums[CHORD_SYNC_BUCKETS];
} s_digest_t;

static int s_digest_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                           const uint8_t *value, size_t value_len)
{
    (void) key, (void) key_len;
    s_digest_t *digest = arg;
    chord_record_t rec;
    if (chord_record_decode (&rec, value, value_len) != 0 || node_tombstone_expired (digest->node, &rec, digest->wall_ms))
        return 0;
    uint64_t prefix = 0;
    for (int i = 0; i < 8; i++)
        prefix = prefix << 8 | key_id->bytes[i];
    digest->sums[s_bucket (key_id)] ^=
        s_mix (prefix ^ s_mix (rec.version.hlc ^ s_mix (rec.version.writer ^ (uint64_t) rec.tombstone)));
    return 0;
}

/* Digests of (from, upto], big-endian, CHORD_DIGEST_SIZE bytes into out. */
static void s_digest (chord_node_t *self, const chord_id_t *from, const chord_id_t *upto, uint64_t now_ms,
                      uint8_t *out)
{
    s_digest_t digest = {.node = self, .wall_ms = node_wall_ms (self, now_ms)};
    chord_store_range (self->env.store, from, upto, s_digest_visit, &digest);
    for (unsigned b = 0; b < CHORD_SYNC_BUCKETS; b++)
        for (int i = 0; i < 8; i++)
            out[b * 8 + (unsigned) i] = (uint8_t) (digest.sums[b] >> (56 - 8 * i));
}

typedef struct {
    chord_node_t *node;
    node_shipment_t *shipment;
    uint64_t mask;
    uint64_t now_ms;
    int failed;
} s_ship_t;

static int s_ship_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                         const uint8_t *value, size_t value_len)
{
    s_ship_t *ship = arg;
    if (!(ship->mask >> s_bucket (key_id) & 1))
        return 0;
    /* A record further ahead than the skew allows would be refused, and
       the refusal ends the receiver's batch: shipping it would hold back
       every record after it in the scan. */
    chord_record_t rec;
    if (chord_record_decode (&rec, value, value_len) == 0
        && !node_version_admissible (ship->node, rec.version.hlc, ship->now_ms))
        return 0;
    if (node_shipment_add (ship->shipment, key, key_len, value, value_len) != 0) {
        ship->failed = 1;
        return 1;
    }
    return 0;
}

/* Ships our records of (from, upto] in the masked buckets to peer. */
static void s_ship_buckets (chord_node_t *self, const chord_peer_t *peer, const chord_id_t *from,
                            const chord_id_t *upto, uint64_t mask, uint64_t now_ms)
{
    node_shipment_t *shipment = node_shipment_new (self, peer);
    if (!shipment)
        return;
    s_ship_t ship = {.node = self, .shipment = shipment, .mask = mask, .now_ms = now_ms};
    chord_store_range (self->env.store, from, upto, s_ship_visit, &ship);
    uint64_t shipped = node_shipment_finish (shipment);
    self->stats.sync_items_sent += shipped;
    if (shipped) {
        char a[9];
        node_log (self, CHORD_LOG_DEBUG, "anti-entropy: shipped %llu records to %s (%s)",
                  (unsigned long long) shipped, node_short (&peer->id, a), peer->endpoint);
    }
}

/* ---------------------------------------------------------------------- */
/* Purging tombstones. */

typedef struct {
    const chord_node_t *node;
    uint64_t wall_ms;
    uint64_t now_ms;
    bool drop_unclaimed;    /* drop copies no claim covers, not only expired tombstones */
    chord_key_list_t doomed; /* marked: an unclaimed copy, else an expired tombstone */
} s_purge_t;

/* True when an owner asked us for copies of key_id within the claim period. */
static bool s_claimed (const chord_node_t *self, const chord_id_t *key_id, uint64_t now_ms)
{
    uint64_t lasting_ms = CHORD_CLAIM_SYNCS * (uint64_t) self->config.sync_interval_ms;
    for (size_t i = 0; i < self->sync.claim_count; i++) {
        const node_claim_t *claim = &self->sync.claims[i];
        if (claim->seen_ms + lasting_ms > now_ms && chord_id_in_half_open (key_id, &claim->lower, &claim->owner))
            return true;
    }
    return false;
}

static int s_purge_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
    s_purge_t *purge = arg;
    chord_record_t rec;
    if (chord_record_decode (&rec, value, value_len) != 0)
        return 0;
    bool unclaimed = purge->drop_unclaimed && !node_owns (purge->node, key_id) &&
                     !s_claimed (purge->node, key_id, purge->now_ms);
    if (!unclaimed && !node_tombstone_expired (purge->node, &rec, purge->wall_ms))
        return 0;
    return chord_key_list_add (&purge->doomed, key, key_len, unclaimed) == 0 ? 0 : 1;
}

static void s_clean_up (chord_node_t *self, uint64_t now_ms)
{
    const node_ring_t *ring = node_ring (self);
    uint64_t lasting_ms = CHORD_CLAIM_SYNCS * (uint64_t) self->config.sync_interval_ms;
    s_purge_t purge = {
        .node = self,
        .wall_ms = node_wall_ms (self, now_ms),
        .now_ms = now_ms,
        .drop_unclaimed = node_replicating (self) && self->state == CHORD_NODE_ACTIVE && ring->has_pred &&
                          ring->pred_alive && !node_is_self (self, &ring->pred) &&
                          self->active_since_ms + lasting_ms <= now_ms,
    };
    chord_store_range (self->env.store, &self->self.id, &self->self.id, s_purge_visit, &purge);
    size_t unclaimed = 0;
    chord_key_list_t *doomed = &purge.doomed;
    for (size_t i = 0; i < doomed->count; i++)
        if (chord_store_del (self->env.store, doomed->keys[i], doomed->lens[i]) == 0) {
            unclaimed += doomed->marks[i];
            self->stats.tombstones_purged += !doomed->marks[i];
        }
    chord_key_list_clear (doomed);
    self->stats.copies_dropped += unclaimed;
    if (unclaimed)
        node_log (self, CHORD_LOG_INFO, "dropped %zu copies that no owner keeps with us any more", unclaimed);
}

/* Remembers that owner keeps copies of (lower, owner] with us. */
static void s_note_claim (chord_node_t *self, const chord_id_t *lower, const chord_id_t *owner, uint64_t now_ms)
{
    node_claim_t *slot = NULL;
    for (size_t i = 0; i < self->sync.claim_count && !slot; i++)
        if (chord_id_equal (&self->sync.claims[i].owner, owner))
            slot = &self->sync.claims[i];
    if (!slot && self->sync.claim_count < CHORD_CLAIMS_MAX)
        slot = &self->sync.claims[self->sync.claim_count++];
    if (!slot) {   /* full: replace the stalest */
        slot = &self->sync.claims[0];
        for (size_t i = 1; i < self->sync.claim_count; i++)
            if (self->sync.claims[i].seen_ms < slot->seen_ms)
                slot = &self->sync.claims[i];
    }
    slot->lower = *lower;
    slot->owner = *owner;
    slot->seen_ms = now_ms;
}

/* ---------------------------------------------------------------------- */

void node_sync (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    const node_ring_t *ring = node_ring (self);
    if (++self->sync.syncs_since_purge >= CHORD_PURGE_SYNCS) {
        self->sync.syncs_since_purge = 0;
        s_clean_up (self, now_ms);
    }
    /* A silent predecessor still bounds the arc we serve (node_owns), and
       our replicas must keep hearing our claim meanwhile. */
    if (!node_replicating (self) || !ring->has_pred || node_is_self (self, &ring->pred))
        return;
    chord_peer_t peers[CHORD_REPLICAS_MAX];
    size_t count = node_replica_peers (self, peers);
    if (count == 0)
        return;
    uint8_t digest[CHORD_DIGEST_SIZE];
    s_digest (self, &ring->pred.id, &self->self.id, now_ms, digest);
    chord_msg_t *msg = node_msg_begin (self, CHORD_MSG_SYNC, 0);
    msg->fields = CHORD_F_ID | CHORD_F_DIGEST;
    msg->id = ring->pred.id;
    msg->digest = digest;
    for (size_t i = 0; i < count; i++) {
        msg->request_id = node_new_request_id (self);
        node_send_peer (self, &peers[i], msg);
    }
    node_msg_end (self, msg);
    self->stats.sync_rounds++;
}

void node_on_sync (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (!origin || !msg->has_sender) {
        node_drop (self, CHORD_DROP_UNEXPECTED);
        return;
    }
    if (self->state != CHORD_NODE_ACTIVE)
        return;   /* the owner asks again next round */
    s_note_claim (self, &msg->id, &msg->sender.id, now_ms);
    uint8_t ours[CHORD_DIGEST_SIZE];
    s_digest (self, &msg->id, &msg->sender.id, now_ms, ours);
    uint64_t mask = 0;
    for (unsigned b = 0; b < CHORD_SYNC_BUCKETS; b++)
        if (memcmp (ours + b * 8, msg->digest + b * 8, 8) != 0)
            mask |= (uint64_t) 1 << b;
    chord_msg_t *reply = node_msg_begin (self, CHORD_MSG_SYNC_REPLY, msg->request_id);
    reply->fields = CHORD_F_COUNT | CHORD_F_ID;
    reply->count = mask;
    reply->id = msg->id;
    node_reply (self, origin, reply);
    node_msg_end (self, reply);
    /* Our side of what differs goes to the owner; it keeps what is newer. */
    if (mask)
        s_ship_buckets (self, &msg->sender, &msg->id, &msg->sender.id, mask, now_ms);
}

void node_on_sync_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    assert (self);
    assert (msg);
    if (!msg->has_sender || !(msg->fields & CHORD_F_ID) || self->state != CHORD_NODE_ACTIVE || !msg->count)
        return;
    /* The range the digests covered, as the reply echoes it. */
    s_ship_buckets (self, &msg->sender, &msg->id, &self->self.id, msg->count, now_ms);
}
