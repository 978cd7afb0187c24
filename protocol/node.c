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
#include "node.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHORD_TASKS_MAX          100000   /* concurrent client operations and lookups */
#define CHORD_SUSPECTS_MAX       64       /* peers remembered as unresponsive */
#define CHORD_HANDOFFS_MAX       8        /* concurrent outgoing transfers */
#define CHORD_INTAKES_MAX        8        /* concurrent incoming transfers */
#define CHORD_LOOKUP_HOPS_MAX    64       /* a longer path means the tables are broken */
#define CHORD_LOOKUP_TIMEOUTS_MAX 4       /* unanswered hops before a lookup restarts */
#define CHORD_CLIENT_TIMEOUT_DEFAULT_MS 5000
#define CHORD_CLIENT_TIMEOUT_MAX_MS     600000
#define CHORD_RETRY_MIN_MS       25       /* first retry delay for a client operation */
#define CHORD_RETRY_MAX_MS       1000
#define CHORD_JOIN_RETRY_MAX_MS  5000     /* cap on the join backoff */
#define CHORD_JOIN_REDIRECTS_MAX 4        /* JOIN redirects followed before backing off */
#define CHORD_FINGER_TICKS       4        /* finger refreshes per stabilize interval, first round */

_Static_assert (CHORD_NODE_LEFT == CHORD_STATE_MAX, "message.h must know the highest node state");

typedef enum {
    TASK_CLIENT_PUT,
    TASK_CLIENT_GET,
    TASK_CLIENT_DEL,
    TASK_CLIENT_LOOKUP,
    TASK_FIX_FINGER,
    TASK_JOIN,
} s_task_kind_t;

/* Work that needs an owner found by lookup, then maybe a request to it. */
typedef struct s_task {
    struct s_task *next;                /* in the node's task list */
    struct s_task *prev;
    s_task_kind_t kind;
    chord_origin_t origin;              /* client's return address */
    uint64_t client_request_id;         /* the client's request id, echoed */
    uint8_t *key;                       /* owned copy, or NULL */
    size_t key_len;
    uint8_t *value;                     /* owned copy, or NULL */
    size_t value_len;
    chord_id_t target;                  /* the id whose owner is wanted */
    unsigned finger_index;              /* with TASK_FIX_FINGER */
    uint64_t deadline_ms;               /* give up (and answer TIMEOUT) at this time */
    uint64_t retry_at_ms;               /* nonzero: restart the lookup at this time */
    unsigned attempts;                  /* restarts so far */
    /* The lookup in progress. */
    chord_peer_t hop;                   /* peer asked last */
    chord_peer_t prev_hop;              /* peer that pointed us at hop */
    bool has_prev_hop;
    uint32_t hops;                      /* peers that answered a find */
    unsigned hop_timeouts;              /* unanswered finds in this lookup */
    unsigned redirects;                 /* JOIN redirects followed in this attempt */
    size_t excluded_count;
    chord_id_t excluded[CHORD_EXCLUDE_MAX];
    uint64_t rpc_id;                    /* outstanding request, 0 when none */
} s_task_t;

typedef enum {
    RPC_FIND,           /* a lookup step; answer feeds a task */
    RPC_STORE,          /* a data operation at the owner; answer feeds a task */
    RPC_JOIN,           /* the join request; answer feeds the join task */
    RPC_GET_STATE,      /* stabilize */
    RPC_PING,           /* check_predecessor */
    RPC_HANDOFF,        /* waiting for the receiver's acknowledgement */
} s_rpc_kind_t;

/* A request sent to a peer and not yet answered. */
typedef struct {
    uint64_t request_id;                /* what the reply will carry (or xfer, for handoffs) */
    s_rpc_kind_t kind;
    chord_peer_t peer;                  /* who was asked */
    uint64_t deadline_ms;               /* no answer by then: the peer is suspect */
    s_task_t *task;                     /* waiting task, or NULL */
} s_rpc_t;

/* An outgoing transfer of keys to another peer. */
typedef struct {
    bool active;
    uint64_t transfer_id;               /* unique per receiver, not overall */
    chord_id_t to;                      /* the receiving peer */
    bool leaving;                       /* handing everything over before exit */
    chord_id_t from;                    /* with !leaving: the range (from, upto] moved */
    chord_id_t upto;
    uint64_t total;                     /* items sent */
    unsigned attempts;                  /* successors tried (leaving) */
} s_handoff_t;

/* An incoming transfer of keys from another peer. */
typedef struct {
    bool active;
    uint64_t transfer_id;
    chord_id_t sender;                  /* the transferring peer's id */
    uint64_t received;                  /* items stored so far */
    bool total_known;                   /* the final batch has arrived */
    uint64_t total;
    bool failed;                        /* a store write failed */
} s_intake_t;

typedef struct {
    chord_id_t id;
    uint64_t until_ms;                  /* suspicion lapses then */
} s_suspect_t;

/* A remembered arc: owner served (lower, owner] when we last looked. */
typedef struct {
    chord_id_t lower;
    chord_peer_t owner;
    uint64_t last_used;                 /* owner_cache_clock at the last hit, for replacement */
} s_owner_entry_t;

struct chord_node {
    chord_node_config_t config;         /* as given; endpoint points at self.endpoint */
    chord_env_t env;                    /* store, randomness, logging */
    chord_peer_t self;                  /* our id and endpoint */
    chord_node_state_t state;
    chord_node_stats_t stats;

    bool has_pred;
    chord_peer_t pred;
    bool pred_alive;                    /* false once a ping went unanswered */
    bool pred_handed_off;               /* it left gracefully and handed us its keys */
    bool has_inherited;                 /* we took over a silent predecessor's arc ... */
    chord_id_t inherited_from;          /* ... (from, upto] without its data, */
    chord_id_t inherited_upto;
    uint64_t inherited_until_ms;        /* and say "not found" there only after this */
    size_t succ_count;                  /* >= 1 once started; succ[0] may be self */
    chord_peer_t succ[CHORD_SUCCESSORS_MAX];
    bool finger_valid[CHORD_ID_BITS];
    chord_peer_t finger[CHORD_ID_BITS]; /* finger[i] = successor(self + 2^i) */
    unsigned next_finger;               /* next finger to refresh */
    bool fingers_built;                 /* a whole round has been done: refresh at a calm pace */
    bool fixing_finger;                 /* a TASK_FIX_FINGER is running */
    size_t suspect_count;
    s_suspect_t suspects[CHORD_SUSPECTS_MAX];
    s_owner_entry_t *owner_cache;       /* config.owner_cache_size entries */
    size_t owner_cache_count;
    uint64_t owner_cache_clock;

    uint64_t next_request_id;
    uint64_t next_stabilize_ms;
    uint64_t next_fix_finger_ms;
    uint64_t next_check_pred_ms;

    /* Joining. */
    char **seeds;                       /* endpoints to join through */
    size_t seed_count;
    size_t seed_next;                   /* next seed to try */
    uint64_t join_retry_ms;             /* current backoff */
    uint64_t join_request_id;           /* our JOIN request; its id names the handoff we await */
    chord_id_t join_successor;          /* the peer we asked to join before */
    bool join_accepted;                 /* our successor took us in */
    bool join_handoff_done;             /* and our arc has arrived */
    uint64_t join_handoff_deadline_ms;

    /* Leaving. */
    bool leave_reply_pending;           /* a client asked us to leave */
    chord_origin_t leave_origin;
    uint64_t leave_request_id;

    s_task_t *tasks;                    /* doubly linked */
    size_t task_count;
    s_rpc_t *rpcs;
    size_t rpc_count;
    size_t rpc_alloc;
    s_handoff_t handoffs[CHORD_HANDOFFS_MAX];
    s_intake_t intakes[CHORD_INTAKES_MAX];

    chord_outgoing_t *outbox;           /* FIFO ring buffer */
    size_t outbox_head;
    size_t outbox_count;
    size_t outbox_alloc;
};

static void s_task_finish_lookup (chord_node_t *self, s_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms);
static void s_task_retry (chord_node_t *self, s_task_t *task, uint64_t now_ms);
static void s_lookup_start (chord_node_t *self, s_task_t *task, uint64_t now_ms);
static void s_stabilize (chord_node_t *self, uint64_t now_ms);
static void s_owner_cache_forget (chord_node_t *self, const chord_id_t *owner);

/* ---------------------------------------------------------------- logging */

static void s_log (chord_node_t *self, chord_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void s_log (chord_node_t *self, chord_log_level_t level, const char *fmt, ...)
{
    if (!self->env.log)
        return;
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    self->env.log (self->env.log_arg, level, line);
}

/* A short printable form of an id: its first 8 hex digits. */
static const char *s_short (const chord_id_t *id, char buf[9])
{
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, hex);
    memcpy (buf, hex, 8);
    buf[8] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- outbox */

static int s_outbox_push (chord_node_t *self, const chord_outgoing_t *item)
{
    if (self->outbox_count == self->outbox_alloc) {
        size_t alloc = self->outbox_alloc ? self->outbox_alloc * 2 : 64;
        chord_outgoing_t *grown = malloc (alloc * sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = 0; i < self->outbox_count; i++)
            grown[i] = self->outbox[(self->outbox_head + i) % self->outbox_alloc];
        free (self->outbox);
        self->outbox = grown;
        self->outbox_alloc = alloc;
        self->outbox_head = 0;
    }
    self->outbox[(self->outbox_head + self->outbox_count) % self->outbox_alloc] = *item;
    self->outbox_count++;
    return 0;
}

/* Stamps msg with our identity, encodes it and queues it. */
static int s_queue (chord_node_t *self, chord_msg_t *msg, chord_dest_kind_t kind,
                    const char *endpoint, const chord_origin_t *origin)
{
    msg->has_sender = true;
    msg->sender = self->self;
    chord_outgoing_t item;
    memset (&item, 0, sizeof item);
    item.kind = kind;
    if (kind == CHORD_DEST_PEER)
        snprintf (item.endpoint, sizeof item.endpoint, "%s", endpoint);
    else
        item.origin = *origin;
    if (chord_msg_encode (msg, &item.data, &item.size) != 0) {
        s_log (self, CHORD_LOG_ERROR, "cannot encode %s message", chord_msg_type_name (msg->type));
        return -1;
    }
    if (s_outbox_push (self, &item) != 0) {
        free (item.data);
        return -1;
    }
    self->stats.messages_sent++;
    return 0;
}

static int s_send_peer (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg)
{
    msg->has_target = true;
    msg->target = peer->id;
    return s_queue (self, msg, CHORD_DEST_PEER, peer->endpoint, NULL);
}

static int s_reply (chord_node_t *self, const chord_origin_t *origin, chord_msg_t *msg)
{
    return s_queue (self, msg, CHORD_DEST_ORIGIN, NULL, origin);
}

/* ---------------------------------------------------------------- peers */

static bool s_is_self (const chord_node_t *self, const chord_peer_t *peer)
{
    return chord_id_equal (&peer->id, &self->self.id);
}

static bool s_is_suspect (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, id) && self->suspects[i].until_ms > now_ms)
            return true;
    return false;
}

static bool s_is_excluded (const chord_id_t *id, const chord_id_t *excluded, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (chord_id_equal (id, &excluded[i]))
            return true;
    return false;
}

static uint32_t s_random32 (chord_node_t *self)
{
    uint32_t value = 0;
    self->env.random_bytes (self->env.random_arg, &value, sizeof value);
    return value;
}

/* interval_ms, moved by up to a tenth either way so peers do not beat in step. */
static uint64_t s_jittered (chord_node_t *self, uint64_t interval_ms)
{
    uint64_t spread = interval_ms / 5;
    if (spread == 0)
        return interval_ms;
    return interval_ms - spread / 2 + s_random32 (self) % (spread + 1);
}

static uint64_t s_suspicion_ms (const chord_node_t *self)
{
    uint64_t ms = 3 * (uint64_t) self->config.stabilize_interval_ms;
    if (ms < 2 * (uint64_t) self->config.rpc_timeout_ms)
        ms = 2 * (uint64_t) self->config.rpc_timeout_ms;
    return ms;
}

/* Forgets the successor at index i, keeping the list non-empty. */
static void s_succ_remove_at (chord_node_t *self, size_t i)
{
    memmove (&self->succ[i], &self->succ[i + 1], (self->succ_count - i - 1) * sizeof self->succ[0]);
    self->succ_count--;
    if (self->succ_count == 0) {
        self->succ[0] = self->self;
        self->succ_count = 1;
    }
}

/*  Rebuilds the successor list as first, then list[], dropping ourselves,
    anything after ourselves (the list wrapped round the ring), duplicates
    and suspects, cut to r entries. An empty result means we are alone.  */
static void s_succ_set (chord_node_t *self, const chord_peer_t *first, const chord_peer_t *list,
                        size_t count, uint64_t now_ms)
{
    chord_peer_t fresh[CHORD_SUCCESSORS_MAX];
    size_t fresh_count = 0;
    for (size_t i = 0; i <= count && fresh_count < self->config.successors; i++) {
        const chord_peer_t *peer = i == 0 ? first : &list[i - 1];
        if (!peer)
            continue;
        if (s_is_self (self, peer))
            break;
        if (s_is_suspect (self, &peer->id, now_ms))
            continue;
        bool duplicate = false;
        for (size_t j = 0; j < fresh_count; j++)
            if (chord_id_equal (&fresh[j].id, &peer->id))
                duplicate = true;
        if (!duplicate)
            fresh[fresh_count++] = *peer;
    }
    if (fresh_count == 0)
        fresh[fresh_count++] = self->self;
    if (!chord_id_equal (&fresh[0].id, &self->succ[0].id)) {
        char a[9], b[9];
        s_log (self, CHORD_LOG_INFO, "successor %s -> %s (%s)", s_short (&self->succ[0].id, a),
               s_short (&fresh[0].id, b), fresh[0].endpoint);
    }
    memcpy (self->succ, fresh, fresh_count * sizeof fresh[0]);
    self->succ_count = fresh_count;
}

static bool s_alone (const chord_node_t *self)
{
    return s_is_self (self, &self->succ[0]);
}

/* Marks a peer unresponsive: it leaves the successor list and fingers until
   the suspicion lapses and stabilization brings it back. */
static void s_suspect (chord_node_t *self, const chord_peer_t *peer, uint64_t now_ms)
{
    if (s_is_self (self, peer))
        return;
    size_t slot = self->suspect_count;
    for (size_t i = 0; i < self->suspect_count; i++)
        if (chord_id_equal (&self->suspects[i].id, &peer->id) || self->suspects[i].until_ms <= now_ms) {
            slot = i;
            break;
        }
    if (slot == CHORD_SUSPECTS_MAX) {
        /* Full of live suspicions: replace the one lapsing soonest. */
        slot = 0;
        for (size_t i = 1; i < CHORD_SUSPECTS_MAX; i++)
            if (self->suspects[i].until_ms < self->suspects[slot].until_ms)
                slot = i;
    }
    if (slot == self->suspect_count)
        self->suspect_count++;
    self->suspects[slot].id = peer->id;
    self->suspects[slot].until_ms = now_ms + s_suspicion_ms (self);

    for (size_t i = 0; i < self->succ_count;)
        if (chord_id_equal (&self->succ[i].id, &peer->id) && !s_alone (self)) {
            char a[9];
            s_log (self, CHORD_LOG_WARN, "successor %s (%s) is not answering",
                   s_short (&peer->id, a), peer->endpoint);
            s_succ_remove_at (self, i);
        }
        else
            i++;
    for (unsigned i = 0; i < CHORD_ID_BITS; i++)
        if (self->finger_valid[i] && chord_id_equal (&self->finger[i].id, &peer->id))
            self->finger_valid[i] = false;
    s_owner_cache_forget (self, &peer->id);
    if (s_alone (self)) {
        /* Every successor failed: fall back on the nearest live finger. */
        const chord_peer_t *best = NULL;
        for (unsigned i = 0; i < CHORD_ID_BITS; i++)
            if (self->finger_valid[i] && !s_is_self (self, &self->finger[i])
                && !s_is_suspect (self, &self->finger[i].id, now_ms)) {
                best = &self->finger[i];
                break;
            }
        if (!best && self->has_pred && self->pred_alive && !s_is_self (self, &self->pred)
            && !s_is_suspect (self, &self->pred.id, now_ms))
            best = &self->pred;
        if (best)
            s_succ_set (self, best, NULL, 0, now_ms);
    }
}

/*  The known peer closest before id on the ring (fingers and successors),
    skipping suspects and excluded ids; NULL when none precedes id.  */
static const chord_peer_t *s_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                                const chord_id_t *excluded, size_t excluded_count,
                                                uint64_t now_ms)
{
    /* Fingers grow with their index, so the highest usable one is the best
       finger; runs of equal fingers need checking once. */
    const chord_peer_t *best = NULL, *previous = NULL;
    for (int i = CHORD_ID_BITS - 1; i >= 0 && !best; i--) {
        if (!self->finger_valid[i])
            continue;
        const chord_peer_t *peer = &self->finger[i];
        if (previous && chord_id_equal (&previous->id, &peer->id))
            continue;
        previous = peer;
        if (chord_id_in_open (&peer->id, &self->self.id, id)
            && !s_is_excluded (&peer->id, excluded, excluded_count) && !s_is_suspect (self, &peer->id, now_ms))
            best = peer;
    }
    chord_id_t best_distance, distance;
    if (best)
        chord_id_distance (&best_distance, &self->self.id, &best->id);
    for (size_t i = 0; i < self->succ_count; i++) {
        const chord_peer_t *peer = &self->succ[i];
        if (!chord_id_in_open (&peer->id, &self->self.id, id)
            || s_is_excluded (&peer->id, excluded, excluded_count) || s_is_suspect (self, &peer->id, now_ms))
            continue;
        chord_id_distance (&distance, &self->self.id, &peer->id);
        if (!best || chord_id_cmp (&distance, &best_distance) > 0) {
            best = peer;
            best_distance = distance;
        }
    }
    return best;
}

/* The first successor not excluded (the successor itself if all are). */
static const chord_peer_t *s_first_live_successor (const chord_node_t *self, const chord_id_t *excluded,
                                                   size_t excluded_count, uint64_t now_ms)
{
    for (size_t i = 0; i < self->succ_count; i++)
        if (!s_is_excluded (&self->succ[i].id, excluded, excluded_count)
            && !s_is_suspect (self, &self->succ[i].id, now_ms))
            return &self->succ[i];
    return &self->succ[0];
}

/* ---------------------------------------------------------------- owner cache */

/* The remembered owner of id, or NULL. Entries are only hints: the owner
   checks every operation against its own arc and answers WRONG_OWNER. */
static const chord_peer_t *s_owner_cache_find (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    for (size_t i = 0; i < self->owner_cache_count; i++) {
        s_owner_entry_t *entry = &self->owner_cache[i];
        if (chord_id_in_half_open (id, &entry->lower, &entry->owner.id)
            && !s_is_suspect (self, &entry->owner.id, now_ms)) {
            entry->last_used = ++self->owner_cache_clock;
            return &entry->owner;
        }
    }
    return NULL;
}

static void s_owner_cache_forget (chord_node_t *self, const chord_id_t *owner)
{
    for (size_t i = 0; i < self->owner_cache_count;)
        if (chord_id_equal (&self->owner_cache[i].owner.id, owner))
            self->owner_cache[i] = self->owner_cache[--self->owner_cache_count];
        else
            i++;
}

static void s_owner_cache_put (chord_node_t *self, const chord_id_t *lower, const chord_peer_t *owner)
{
    if (self->config.owner_cache_size == 0 || s_is_self (self, owner))
        return;
    s_owner_cache_forget (self, &owner->id);
    size_t slot = self->owner_cache_count;
    if (slot == self->config.owner_cache_size) {
        slot = 0;
        for (size_t i = 1; i < self->owner_cache_count; i++)
            if (self->owner_cache[i].last_used < self->owner_cache[slot].last_used)
                slot = i;
    }
    else
        self->owner_cache_count++;
    self->owner_cache[slot].lower = *lower;
    self->owner_cache[slot].owner = *owner;
    self->owner_cache[slot].last_used = ++self->owner_cache_clock;
}

/* True when we serve key id now: it lies in (pred, self], or we are alone. */
static bool s_owns (const chord_node_t *self, const chord_id_t *id)
{
    if (self->state != CHORD_NODE_ACTIVE)
        return false;
    if (s_alone (self))
        return true;
    return self->has_pred && chord_id_in_half_open (id, &self->pred.id, &self->self.id);
}

/* ---------------------------------------------------------------- rpcs */

static uint64_t s_new_request_id (chord_node_t *self)
{
    return self->next_request_id++;
}

static s_rpc_t *s_rpc_add (chord_node_t *self, uint64_t request_id, s_rpc_kind_t kind,
                           const chord_peer_t *peer, uint64_t deadline_ms, s_task_t *task)
{
    if (self->rpc_count == self->rpc_alloc) {
        size_t alloc = self->rpc_alloc ? self->rpc_alloc * 2 : 64;
        s_rpc_t *grown = realloc (self->rpcs, alloc * sizeof *grown);
        if (!grown)
            return NULL;
        self->rpcs = grown;
        self->rpc_alloc = alloc;
    }
    s_rpc_t *rpc = &self->rpcs[self->rpc_count++];
    rpc->request_id = request_id;
    rpc->kind = kind;
    rpc->peer = *peer;
    rpc->deadline_ms = deadline_ms;
    rpc->task = task;
    return rpc;
}

static s_rpc_t *s_rpc_find (chord_node_t *self, uint64_t request_id, s_rpc_kind_t kind)
{
    for (size_t i = 0; i < self->rpc_count; i++)
        if (self->rpcs[i].request_id == request_id && self->rpcs[i].kind == kind)
            return &self->rpcs[i];
    return NULL;
}

static bool s_rpc_pending (const chord_node_t *self, s_rpc_kind_t kind)
{
    for (size_t i = 0; i < self->rpc_count; i++)
        if (self->rpcs[i].kind == kind)
            return true;
    return false;
}

/* Removes the entry (swap with the last); pointers to it become invalid. */
static void s_rpc_remove (chord_node_t *self, s_rpc_t *rpc)
{
    size_t i = (size_t) (rpc - self->rpcs);
    assert (i < self->rpc_count);
    self->rpcs[i] = self->rpcs[--self->rpc_count];
}

/* Sends msg to peer as a request whose reply we wait for. */
static int s_call (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg, s_rpc_kind_t kind,
                   s_task_t *task, uint64_t now_ms)
{
    msg->request_id = s_new_request_id (self);
    if (!s_rpc_add (self, msg->request_id, kind, peer, now_ms + self->config.rpc_timeout_ms, task))
        return -1;
    if (s_send_peer (self, peer, msg) != 0) {
        s_rpc_remove (self, &self->rpcs[self->rpc_count - 1]);
        return -1;
    }
    if (task)
        task->rpc_id = msg->request_id;
    return 0;
}

/* ---------------------------------------------------------------- tasks */

static s_task_t *s_task_new (chord_node_t *self, s_task_kind_t kind, const chord_id_t *target,
                             uint64_t deadline_ms)
{
    if (self->task_count >= CHORD_TASKS_MAX)
        return NULL;
    s_task_t *task = calloc (1, sizeof *task);
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

static void s_task_destroy (chord_node_t *self, s_task_t *task)
{
    for (size_t i = 0; i < self->rpc_count;)
        if (self->rpcs[i].task == task)
            s_rpc_remove (self, &self->rpcs[i]);
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
    free (task->key);
    free (task->value);
    free (task);
}

static bool s_task_is_client (const s_task_t *task)
{
    return task->kind <= TASK_CLIENT_LOOKUP;
}

/* Where a present but empty value points: replies carry a value exactly
   when its pointer is not NULL, and an empty value is still a value. */
static const uint8_t s_empty_value[1];

/* Answers a client with a CLIENT_REPLY; value NULL means none. */
static void s_reply_client (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                            chord_status_t status, const uint8_t *value, size_t value_len,
                            const char *text)
{
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_CLIENT_REPLY, request_id);
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
    s_reply (self, origin, reply);
    free (reply);
}

static void s_reply_lookup (chord_node_t *self, const chord_origin_t *origin, uint64_t request_id,
                            chord_status_t status, const chord_id_t *key_id, const chord_peer_t *owner,
                            uint32_t hops)
{
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_LOOKUP_REPLY, request_id);
    reply->fields = CHORD_F_STATUS | CHORD_F_ID | CHORD_F_HOPS;
    reply->status = status;
    reply->id = *key_id;
    reply->hops = hops;
    if (owner) {
        reply->fields |= CHORD_F_PEER;
        reply->peer = *owner;
    }
    s_reply (self, origin, reply);
    free (reply);
}

/*  Applies a data operation to our own store. Returns the status; *found
    points into the store (or at s_empty_value) for a found get.  */
static chord_status_t s_apply_to_store (chord_node_t *self, chord_store_op_t op, const uint8_t *key,
                                        size_t key_len, const uint8_t *value, size_t value_len,
                                        const uint8_t **found, size_t *found_len)
{
    int rc;
    switch (op) {
    case CHORD_STORE_OP_PUT:
        rc = chord_store_put (self->env.store, key, key_len, value, value_len);
        return rc == 0 ? CHORD_STATUS_OK : CHORD_STATUS_STORE_ERROR;
    case CHORD_STORE_OP_GET:
        rc = chord_store_get (self->env.store, key, key_len, found, found_len);
        if (rc == 0 && !*found)
            *found = s_empty_value;
        return rc == 0 ? CHORD_STATUS_OK : rc == 1 ? CHORD_STATUS_NOT_FOUND : CHORD_STATUS_STORE_ERROR;
    case CHORD_STORE_OP_DEL:
        rc = chord_store_del (self->env.store, key, key_len);
        return rc == 0 ? CHORD_STATUS_OK : rc == 1 ? CHORD_STATUS_NOT_FOUND : CHORD_STATUS_STORE_ERROR;
    }
    return CHORD_STATUS_BAD_REQUEST;
}


/*  True when a missing key is not yet proof of absence: it lies in an arc
    we took over from a predecessor that stopped answering, which may only
    be paused and come back with the key. Until replication keeps copies,
    such a miss is "not ready" for a grace period, then "not found".  */
static bool s_in_doubt (chord_node_t *self, const uint8_t *key, size_t key_len, uint64_t now_ms)
{
    if (!self->has_inherited)
        return false;
    if (self->inherited_until_ms <= now_ms) {
        self->has_inherited = false;
        return false;
    }
    chord_id_t id;
    chord_id_hash (&id, key, key_len);
    return chord_id_in_half_open (&id, &self->inherited_from, &self->inherited_upto);
}

static chord_status_t s_apply (chord_node_t *self, chord_store_op_t op, const uint8_t *key,
                               size_t key_len, const uint8_t *value, size_t value_len,
                               const uint8_t **found, size_t *found_len, uint64_t now_ms)
{
    chord_status_t status = s_apply_to_store (self, op, key, key_len, value, value_len, found, found_len);
    if (status == CHORD_STATUS_NOT_FOUND && s_in_doubt (self, key, key_len, now_ms))
        return CHORD_STATUS_NOT_READY;
    return status;
}

static chord_store_op_t s_task_op (const s_task_t *task)
{
    return task->kind == TASK_CLIENT_PUT   ? CHORD_STORE_OP_PUT
           : task->kind == TASK_CLIENT_GET ? CHORD_STORE_OP_GET
                                           : CHORD_STORE_OP_DEL;
}

/* Answers the client of a data task from our own store, and ends the task. */
static void s_task_apply_locally (chord_node_t *self, s_task_t *task, uint64_t now_ms)
{
    const uint8_t *found = NULL;
    size_t found_len = 0;
    chord_status_t status = s_apply (self, s_task_op (task), task->key, task->key_len, task->value,
                                     task->value_len, &found, &found_len, now_ms);
    if (status == CHORD_STATUS_NOT_READY) {
        s_task_retry (self, task, now_ms);
        return;
    }
    s_reply_client (self, &task->origin, task->client_request_id, status, found, found_len,
                    status == CHORD_STATUS_STORE_ERROR ? "the store failed" : NULL);
    s_task_destroy (self, task);
}

/* A client task ran out of time: answer TIMEOUT and end it. */
static void s_task_expire (chord_node_t *self, s_task_t *task)
{
    if (task->kind == TASK_CLIENT_LOOKUP)
        s_reply_lookup (self, &task->origin, task->client_request_id, CHORD_STATUS_TIMEOUT,
                        &task->target, NULL, task->hops);
    else
        s_reply_client (self, &task->origin, task->client_request_id, CHORD_STATUS_TIMEOUT, NULL, 0,
                        "no owner answered in time");
    self->stats.lookups_failed++;
    s_task_destroy (self, task);
}

/* Sends the next FIND of a lookup to task->hop. */
static void s_lookup_ask (chord_node_t *self, s_task_t *task, uint64_t now_ms)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg) {
        s_task_retry (self, task, now_ms);
        return;
    }
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 0);
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->id = task->target;
    msg->excluded_count = task->excluded_count;
    memcpy (msg->excluded, task->excluded, task->excluded_count * sizeof task->excluded[0]);
    int rc = s_call (self, &task->hop, msg, RPC_FIND, task, now_ms);
    free (msg);
    if (rc != 0)
        s_task_retry (self, task, now_ms);
}

static void s_exclude (s_task_t *task, const chord_id_t *id)
{
    if (s_is_excluded (id, task->excluded, task->excluded_count))
        return;
    if (task->excluded_count == CHORD_EXCLUDE_MAX) {
        memmove (&task->excluded[0], &task->excluded[1], (CHORD_EXCLUDE_MAX - 1) * sizeof task->excluded[0]);
        task->excluded_count--;
    }
    task->excluded[task->excluded_count++] = *id;
}

/*  Starts (or restarts) the lookup of task->target: answered at once from
    our own tables when we can, else by asking the closest preceding peer.  */
static void s_lookup_start (chord_node_t *self, s_task_t *task, uint64_t now_ms)
{
    task->hops = 0;
    task->hop_timeouts = 0;
    task->redirects = 0;
    task->has_prev_hop = false;
    task->retry_at_ms = 0;
    /* Each attempt avoids only what is suspect now: a peer that was silent
       for a moment must be reachable again once its suspicion lapses. */
    task->excluded_count = 0;
    /* Tell the peers we ask about the peers we already know to be silent. */
    for (size_t i = 0; i < self->suspect_count; i++)
        if (self->suspects[i].until_ms > now_ms && task->excluded_count < CHORD_EXCLUDE_MAX / 2)
            s_exclude (task, &self->suspects[i].id);

    if (task->kind == TASK_JOIN) {
        s_exclude (task, &self->self.id);
        snprintf (task->hop.endpoint, sizeof task->hop.endpoint, "%s", self->seeds[self->seed_next]);
        chord_id_hash (&task->hop.id, task->hop.endpoint, strlen (task->hop.endpoint));
        self->seed_next = (self->seed_next + 1) % self->seed_count;
        s_lookup_ask (self, task, now_ms);
        return;
    }
    if (s_owns (self, &task->target)) {
        s_task_finish_lookup (self, task, &self->self, now_ms);
        return;
    }
    const chord_peer_t *cached;
    if (task->attempts == 0 && task->kind <= TASK_CLIENT_DEL
        && (cached = s_owner_cache_find (self, &task->target, now_ms))) {
        self->stats.owner_cache_hits++;
        s_task_finish_lookup (self, task, cached, now_ms);
        return;
    }
    if (!s_alone (self) && chord_id_in_half_open (&task->target, &self->self.id, &self->succ[0].id)) {
        s_task_finish_lookup (self, task, s_first_live_successor (self, task->excluded, task->excluded_count, now_ms),
                              now_ms);
        return;
    }
    const chord_peer_t *next =
        s_closest_preceding (self, &task->target, task->excluded, task->excluded_count, now_ms);
    if (!next) {
        s_task_finish_lookup (self, task, s_first_live_successor (self, task->excluded, task->excluded_count, now_ms),
                              now_ms);
        return;
    }
    task->hop = *next;
    s_lookup_ask (self, task, now_ms);
}

/* Schedules a fresh attempt after a backoff, or gives up past the deadline. */
static void s_task_retry (chord_node_t *self, s_task_t *task, uint64_t now_ms)
{
    task->rpc_id = 0;
    if (task->kind == TASK_FIX_FINGER) {
        self->stats.lookups_failed++;
        s_task_destroy (self, task);
        return;
    }
    uint64_t delay_ms;
    if (task->kind == TASK_JOIN) {
        delay_ms = self->join_retry_ms;
        self->join_retry_ms = self->join_retry_ms * 2 > CHORD_JOIN_RETRY_MAX_MS ? CHORD_JOIN_RETRY_MAX_MS
                                                                               : self->join_retry_ms * 2;
    }
    else {
        delay_ms = (uint64_t) CHORD_RETRY_MIN_MS << (task->attempts < 6 ? task->attempts : 6);
        if (delay_ms > CHORD_RETRY_MAX_MS)
            delay_ms = CHORD_RETRY_MAX_MS;
    }
    delay_ms = s_jittered (self, delay_ms);
    task->attempts++;
    if (s_task_is_client (task) && now_ms + delay_ms >= task->deadline_ms) {
        s_task_expire (self, task);
        return;
    }
    task->retry_at_ms = now_ms + delay_ms;
}

static void s_join_send (chord_node_t *self, s_task_t *task, const chord_peer_t *successor, uint64_t now_ms)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg) {
        s_task_retry (self, task, now_ms);
        return;
    }
    chord_msg_init (msg, CHORD_MSG_JOIN, 0);
    task->hop = *successor;
    int rc = s_call (self, successor, msg, RPC_JOIN, task, now_ms);
    /* The arc may arrive before the reply (on another path): know it by id. */
    self->join_request_id = msg->request_id;
    self->join_successor = successor->id;
    self->join_handoff_done = false;
    free (msg);
    if (rc != 0)
        s_task_retry (self, task, now_ms);
}

/* A lookup found owner: do what the task needed the owner for. */
static void s_task_finish_lookup (chord_node_t *self, s_task_t *task, const chord_peer_t *owner,
                                  uint64_t now_ms)
{
    self->stats.lookups_done++;
    self->stats.lookup_hops_total += task->hops;
    switch (task->kind) {
    case TASK_CLIENT_LOOKUP:
        s_reply_lookup (self, &task->origin, task->client_request_id, CHORD_STATUS_OK, &task->target,
                        owner, task->hops);
        s_task_destroy (self, task);
        return;
    case TASK_FIX_FINGER:
        self->finger[task->finger_index] = *owner;
        self->finger_valid[task->finger_index] = !s_is_self (self, owner);
        self->next_finger = (task->finger_index + 1) % CHORD_ID_BITS;
        if (self->next_finger == 0)
            self->fingers_built = true;
        s_task_destroy (self, task);
        return;
    case TASK_JOIN:
        if (s_is_self (self, owner)) {
            s_task_retry (self, task, now_ms);
            return;
        }
        s_join_send (self, task, owner, now_ms);
        return;
    case TASK_CLIENT_PUT:
    case TASK_CLIENT_GET:
    case TASK_CLIENT_DEL:
        break;
    }
    if (s_is_self (self, owner)) {
        if (s_owns (self, &task->target))
            s_task_apply_locally (self, task, now_ms);
        else
            s_task_retry (self, task, now_ms);
        return;
    }
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg) {
        s_task_retry (self, task, now_ms);
        return;
    }
    chord_msg_init (msg, CHORD_MSG_STORE, 0);
    msg->fields = CHORD_F_OP | CHORD_F_KEY;
    msg->op = s_task_op (task);
    msg->key = task->key;
    msg->key_len = task->key_len;
    if (msg->op == CHORD_STORE_OP_PUT) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = task->value;
        msg->value_len = task->value_len;
    }
    task->hop = *owner;
    int rc = s_call (self, owner, msg, RPC_STORE, task, now_ms);
    free (msg);
    if (rc != 0)
        s_task_retry (self, task, now_ms);
}

/* ---------------------------------------------------------------- handoff */

typedef struct {
    chord_node_t *node;
    s_handoff_t *handoff;
    const char *endpoint;               /* PEER destination, or NULL */
    const chord_origin_t *origin;       /* ORIGIN destination, or NULL */
    const chord_peer_t *to;
    bool has_new_pred;                  /* leaving: tell the receiver its new predecessor */
    const chord_peer_t *new_pred;
    chord_item_t *items;
    size_t item_count;
    size_t bytes;
    int failed;
} s_batcher_t;

static int s_batch_flush (s_batcher_t *batcher, bool final)
{
    chord_node_t *self = batcher->node;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return -1;
    chord_msg_init (msg, CHORD_MSG_HANDOFF, batcher->handoff->transfer_id);
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
        rc = s_queue (self, msg, CHORD_DEST_PEER, batcher->endpoint, NULL);
    }
    else
        rc = s_reply (self, batcher->origin, msg);
    free (msg);
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
    if (batcher->item_count == CHORD_ITEMS_MAX
        || (batcher->item_count > 0 && batcher->bytes + key_len + value_len > CHORD_BATCH_BYTES_MAX))
        if (s_batch_flush (batcher, false) != 0) {
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
static int s_handoff_start (chord_node_t *self, const chord_peer_t *to, const chord_origin_t *origin,
                            uint64_t transfer_id, bool leaving, const chord_id_t *from,
                            const chord_id_t *upto, uint64_t now_ms)
{
    s_handoff_t *handoff = NULL;
    for (size_t i = 0; i < CHORD_HANDOFFS_MAX; i++)
        if (!self->handoffs[i].active) {
            handoff = &self->handoffs[i];
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
        .has_new_pred = self->has_pred && self->pred_alive && !chord_id_equal (&self->pred.id, &to->id),
        .new_pred = &self->pred,
    };
    batcher.items = malloc (CHORD_ITEMS_MAX * sizeof *batcher.items);
    if (!batcher.items) {
        handoff->active = false;
        return -1;
    }
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
    if (!s_rpc_add (self, transfer_id, RPC_HANDOFF, to, now_ms + wait_ms, NULL)) {
        handoff->active = false;
        return -1;
    }
    char a[9];
    s_log (self, CHORD_LOG_INFO, "handing %llu keys to %s (%s)%s", (unsigned long long) handoff->total,
           s_short (&to->id, a), to->endpoint, leaving ? " before leaving" : "");
    return 0;
}

/* Transfer ids come from whoever asked (a joiner's JOIN request id), so
   only the pair of id and receiver names one transfer. */
static s_handoff_t *s_handoff_find (chord_node_t *self, uint64_t transfer_id, const chord_id_t *to)
{
    for (size_t i = 0; i < CHORD_HANDOFFS_MAX; i++)
        if (self->handoffs[i].active && self->handoffs[i].transfer_id == transfer_id
            && chord_id_equal (&self->handoffs[i].to, to))
            return &self->handoffs[i];
    return NULL;
}

typedef struct {
    chord_id_t *ids;
    uint8_t **keys;
    size_t *key_lens;
    size_t count;
    size_t alloc;
    int failed;
} s_key_list_t;

static int s_collect_key (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
    (void) key_id;
    (void) value;
    (void) value_len;
    s_key_list_t *list = arg;
    if (list->count == list->alloc) {
        size_t alloc = list->alloc ? list->alloc * 2 : 256;
        uint8_t **keys = realloc (list->keys, alloc * sizeof *keys);
        if (keys)
            list->keys = keys;
        size_t *lens = realloc (list->key_lens, alloc * sizeof *lens);
        if (lens)
            list->key_lens = lens;
        if (!keys || !lens) {
            list->failed = 1;
            return 1;
        }
        list->alloc = alloc;
    }
    list->keys[list->count] = malloc (key_len);
    if (!list->keys[list->count]) {
        list->failed = 1;
        return 1;
    }
    memcpy (list->keys[list->count], key, key_len);
    list->key_lens[list->count] = key_len;
    list->count++;
    return 0;
}

/* Deletes every key in (from, upto]: they now live elsewhere. */
static void s_store_drop_range (chord_node_t *self, const chord_id_t *from, const chord_id_t *upto)
{
    s_key_list_t list = {0};
    chord_store_range (self->env.store, from, upto, s_collect_key, &list);
    for (size_t i = 0; i < list.count; i++) {
        chord_store_del (self->env.store, list.keys[i], list.key_lens[i]);
        free (list.keys[i]);
    }
    free (list.keys);
    free (list.key_lens);
}

/*  Ends a leave. new_home is the peer that took our data, or NULL when
    there was none to hand over (a lone or never-joined node); data_safe
    is false when data was left behind.  */
static void s_leave_finish (chord_node_t *self, const chord_peer_t *new_home, bool data_safe)
{
    if (new_home && self->has_pred && self->pred_alive && !s_is_self (self, &self->pred)) {
        chord_msg_t *msg = malloc (sizeof *msg);
        if (msg) {
            chord_msg_init (msg, CHORD_MSG_LEAVE_NOTICE, s_new_request_id (self));
            msg->fields = CHORD_F_SUCC;
            msg->peer_count = self->succ_count;
            memcpy (msg->peers, self->succ, self->succ_count * sizeof self->succ[0]);
            s_send_peer (self, &self->pred, msg);
            free (msg);
        }
    }
    self->state = CHORD_NODE_LEFT;
    s_log (self, CHORD_LOG_INFO, "left the ring");
    if (self->leave_reply_pending) {
        s_reply_client (self, &self->leave_origin, self->leave_request_id,
                        data_safe ? CHORD_STATUS_OK : CHORD_STATUS_STORE_ERROR, NULL, 0,
                        data_safe ? NULL : "no successor took the data");
        self->leave_reply_pending = false;
    }
}

/* Hands everything to the next successor that has not yet failed us. */
static void s_leave_try (chord_node_t *self, unsigned attempt, uint64_t now_ms)
{
    while (attempt < self->succ_count) {
        const chord_peer_t *to = &self->succ[attempt];
        if (s_is_self (self, to))
            break;
        uint64_t transfer_id = s_new_request_id (self);
        if (s_handoff_start (self, to, NULL, transfer_id, true, NULL, NULL, now_ms) == 0) {
            s_handoff_find (self, transfer_id, &to->id)->attempts = attempt;
            return;
        }
        attempt++;
    }
    if (chord_store_count (self->env.store) > 0)
        s_log (self, CHORD_LOG_ERROR, "no successor took our %zu keys: they leave with us",
               chord_store_count (self->env.store));
    s_leave_finish (self, NULL, chord_store_count (self->env.store) == 0);
}

static void s_handoff_timeout (chord_node_t *self, s_rpc_t *rpc, uint64_t now_ms)
{
    s_handoff_t *handoff = s_handoff_find (self, rpc->request_id, &rpc->peer.id);
    chord_peer_t peer = rpc->peer;
    s_rpc_remove (self, rpc);
    if (!handoff)
        return;
    handoff->active = false;
    char a[9];
    s_log (self, CHORD_LOG_WARN, "handoff %llu to %s (%s) was not acknowledged",
           (unsigned long long) handoff->transfer_id, s_short (&peer.id, a), peer.endpoint);
    if (handoff->leaving) {
        s_suspect (self, &peer, now_ms);
        s_leave_try (self, 0, now_ms);
    }
    /* A join handoff that failed leaves the keys here; if the joiner died,
       our predecessor reverts and they are ours again. */
}

/* ---------------------------------------------------------------- handlers */

static void s_on_find_succ (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                            uint64_t now_ms)
{
    if (!origin || (self->state != CHORD_NODE_ACTIVE && self->state != CHORD_NODE_LEAVING)) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_FIND_SUCC_REPLY, msg->request_id);
    reply->fields = CHORD_F_DONE | CHORD_F_PEER;
    const chord_peer_t *next;
    /* A final answer also says where the owner's arc begins (pred), so the
       asker may remember the whole arc. */
    if (s_owns (self, &msg->id) && !s_is_excluded (&self->self.id, msg->excluded, msg->excluded_count)) {
        reply->done = true;
        reply->peer = self->self;
        if (self->has_pred && !s_alone (self)) {
            reply->fields |= CHORD_F_PRED;
            reply->has_pred = true;
            reply->pred = self->pred;
        }
    }
    else if (chord_id_in_half_open (&msg->id, &self->self.id, &self->succ[0].id)) {
        reply->done = true;
        reply->peer = *s_first_live_successor (self, msg->excluded, msg->excluded_count, now_ms);
        reply->fields |= CHORD_F_PRED;
        reply->has_pred = true;
        reply->pred = self->self;
    }
    else if ((next = s_closest_preceding (self, &msg->id, msg->excluded, msg->excluded_count, now_ms))) {
        reply->done = false;
        reply->peer = *next;
    }
    else {
        /* Nothing known closer: the successor is progress. */
        reply->done = false;
        reply->peer = *s_first_live_successor (self, msg->excluded, msg->excluded_count, now_ms);
    }
    s_reply (self, origin, reply);
    free (reply);
}

static void s_on_find_succ_reply (chord_node_t *self, s_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    s_task_t *task = rpc->task;
    s_rpc_remove (self, rpc);
    task->rpc_id = 0;
    task->hops++;
    if (msg->done) {
        if ((msg->fields & CHORD_F_PRED) && msg->has_pred)
            s_owner_cache_put (self, &msg->pred.id, &msg->peer);
        s_task_finish_lookup (self, task, &msg->peer, now_ms);
        return;
    }
    if (task->hops >= CHORD_LOOKUP_HOPS_MAX || chord_id_equal (&msg->peer.id, &task->hop.id)
        || (s_is_self (self, &msg->peer) && task->kind != TASK_JOIN)) {
        char a[9];
        s_log (self, CHORD_LOG_DEBUG, "lookup of %s made no progress after %u hops",
               s_short (&task->target, a), task->hops);
        s_task_retry (self, task, now_ms);
        return;
    }
    if (s_is_self (self, &msg->peer)) {
        /* A joiner pointed back at its own (stale) position: skip past it. */
        s_task_retry (self, task, now_ms);
        return;
    }
    task->prev_hop = task->hop;
    task->has_prev_hop = true;
    task->hop = msg->peer;
    s_lookup_ask (self, task, now_ms);
}

static void s_on_find_timeout (chord_node_t *self, s_rpc_t *rpc, uint64_t now_ms)
{
    s_task_t *task = rpc->task;
    chord_peer_t silent = rpc->peer;
    s_rpc_remove (self, rpc);
    task->rpc_id = 0;
    self->stats.rpc_timeouts++;
    if (task->kind == TASK_JOIN && task->hops == 0) {
        s_log (self, CHORD_LOG_INFO, "seed %s did not answer; retrying", silent.endpoint);
        s_task_retry (self, task, now_ms);
        return;
    }
    s_suspect (self, &silent, now_ms);
    s_exclude (task, &silent.id);
    if (++task->hop_timeouts > CHORD_LOOKUP_TIMEOUTS_MAX) {
        s_task_retry (self, task, now_ms);
        return;
    }
    if (task->has_prev_hop) {
        /* Ask the peer that sent us to the silent one for another way. */
        task->hop = task->prev_hop;
        task->has_prev_hop = false;
        s_lookup_ask (self, task, now_ms);
    }
    else if (task->kind == TASK_JOIN)
        s_task_retry (self, task, now_ms);
    else
        s_lookup_start (self, task, now_ms);
}

static void s_on_store (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    if (!origin) {
        self->stats.messages_dropped++;
        return;
    }
    chord_id_t key_id;
    chord_id_hash (&key_id, msg->key, msg->key_len);
    const uint8_t *found = NULL;
    size_t found_len = 0;
    chord_status_t status;
    if (self->state != CHORD_NODE_ACTIVE)
        status = CHORD_STATUS_NOT_READY;
    else if (!s_owns (self, &key_id))
        status = CHORD_STATUS_WRONG_OWNER;
    else if (msg->op == CHORD_STORE_OP_PUT && !(msg->fields & CHORD_F_VALUE))
        status = CHORD_STATUS_BAD_REQUEST;
    else
        status = s_apply (self, msg->op, msg->key, msg->key_len, msg->value, msg->value_len, &found,
                          &found_len, now_ms);
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_STORE_REPLY, msg->request_id);
    reply->fields = CHORD_F_STATUS;
    reply->status = status;
    if (found) {
        reply->fields |= CHORD_F_VALUE;
        reply->value = found;
        reply->value_len = found_len;
    }
    s_reply (self, origin, reply);
    free (reply);
}

static void s_on_store_reply (chord_node_t *self, s_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    s_task_t *task = rpc->task;
    chord_peer_t rpc_peer = rpc->peer;
    s_rpc_remove (self, rpc);
    task->rpc_id = 0;
    switch (msg->status) {
    case CHORD_STATUS_OK:
    case CHORD_STATUS_NOT_FOUND:
    case CHORD_STATUS_STORE_ERROR:
    case CHORD_STATUS_TOO_LARGE:
    case CHORD_STATUS_BAD_REQUEST:
        s_reply_client (self, &task->origin, task->client_request_id, msg->status,
                        msg->status != CHORD_STATUS_OK || !(msg->fields & CHORD_F_VALUE) ? NULL
                        : msg->value                                                     ? msg->value
                                                                                         : s_empty_value,
                        msg->value_len, msg->status == CHORD_STATUS_STORE_ERROR ? "the owner's store failed" : NULL);
        s_task_destroy (self, task);
        return;
    default:
        /* WRONG_OWNER, NOT_READY: the ring is moving; look again shortly. */
        s_owner_cache_forget (self, &rpc_peer.id);
        s_task_retry (self, task, now_ms);
    }
}

static void s_become_active (chord_node_t *self, uint64_t now_ms)
{
    self->state = CHORD_NODE_ACTIVE;
    self->next_stabilize_ms = now_ms;
    self->next_fix_finger_ms = now_ms;
    char a[9], b[9];
    s_log (self, CHORD_LOG_INFO, "joined the ring: successor %s (%s), predecessor %s, %zu keys",
           s_short (&self->succ[0].id, a), self->succ[0].endpoint,
           self->has_pred ? s_short (&self->pred.id, b) : "none", chord_store_count (self->env.store));
}

static void s_on_join (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                       uint64_t now_ms)
{
    if (!origin || !msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    const chord_peer_t *joiner = &msg->sender;
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_JOIN_REPLY, msg->request_id);
    reply->fields = CHORD_F_STATUS;
    bool rejoin = self->has_pred && chord_id_equal (&self->pred.id, &joiner->id);
    if (self->state != CHORD_NODE_ACTIVE) {
        reply->status = CHORD_STATUS_NOT_READY;
        s_reply (self, origin, reply);
    }
    else if (s_is_self (self, joiner)) {
        reply->status = CHORD_STATUS_BAD_REQUEST;
        reply->fields |= CHORD_F_TEXT;
        reply->text = "that id is taken: another peer advertises the same endpoint";
        reply->text_len = strlen (reply->text);
        s_reply (self, origin, reply);
    }
    else if (s_alone (self) || !self->has_pred || !self->pred_alive || rejoin
             || chord_id_in_open (&joiner->id, &self->pred.id, &self->self.id)) {
        bool alone = s_alone (self);
        bool had_live_pred = self->has_pred && self->pred_alive && !alone;
        chord_peer_t old_pred = self->pred;
        reply->status = CHORD_STATUS_OK;
        reply->fields |= CHORD_F_PRED | CHORD_F_SUCC;
        reply->has_pred = alone || (self->has_pred && self->pred_alive && !rejoin);
        reply->pred = alone ? self->self : self->pred;
        reply->peer_count = self->succ_count;
        memcpy (reply->peers, self->succ, self->succ_count * sizeof self->succ[0]);
        s_reply (self, origin, reply);

        char a[9];
        s_log (self, CHORD_LOG_INFO, "peer %s (%s) joins as our predecessor", s_short (&joiner->id, a),
               joiner->endpoint);
        self->has_pred = true;
        self->pred = *joiner;
        self->pred_alive = true;
        if (alone)
            s_succ_set (self, joiner, NULL, 0, now_ms);
        /* The joiner takes (pred, joiner] from our arc. With no trustworthy
           predecessor we keep (joiner, self] and hand over everything else.
           The arc travels back on the reply's connection, after the reply. */
        chord_id_t from = self->self.id;
        if (had_live_pred && chord_id_in_open (&joiner->id, &old_pred.id, &self->self.id))
            from = old_pred.id;
        if (s_handoff_start (self, joiner, origin, msg->request_id, false, &from, &joiner->id, now_ms) != 0)
            s_log (self, CHORD_LOG_ERROR, "cannot start the handoff to %s", joiner->endpoint);
    }
    else {
        reply->status = CHORD_STATUS_REDIRECT;
        reply->fields |= CHORD_F_PEER;
        reply->peer = self->pred;
        s_reply (self, origin, reply);
    }
    free (reply);
}

static void s_on_join_reply (chord_node_t *self, s_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    s_task_t *task = rpc->task;
    chord_peer_t successor = rpc->peer;
    s_rpc_remove (self, rpc);
    task->rpc_id = 0;
    if (msg->status == CHORD_STATUS_REDIRECT && (msg->fields & CHORD_F_PEER) && !s_is_self (self, &msg->peer)) {
        /* Someone joined just before our would-be successor: ask it instead.
           A few redirects in a row mean the ring is moving; back off. */
        char a[9];
        s_log (self, CHORD_LOG_DEBUG, "join redirected from %s to %s", successor.endpoint,
               s_short (&msg->peer.id, a));
        if (++task->redirects <= CHORD_JOIN_REDIRECTS_MAX) {
            s_join_send (self, task, &msg->peer, now_ms);
            return;
        }
        s_task_retry (self, task, now_ms);
        return;
    }
    if (msg->status != CHORD_STATUS_OK || !(msg->fields & CHORD_F_SUCC)) {
        s_log (self, CHORD_LOG_WARN, "join refused by %s: %s%s%s", successor.endpoint,
               chord_status_name (msg->status), msg->text ? ": " : "", msg->text ? msg->text : "");
        s_task_retry (self, task, now_ms);
        return;
    }
    s_succ_set (self, &successor, msg->peers, msg->peer_count, now_ms);
    if (msg->has_pred && !s_is_self (self, &msg->pred)) {
        self->has_pred = true;
        self->pred = msg->pred;
        self->pred_alive = true;
    }
    self->join_accepted = true;
    self->join_handoff_deadline_ms = now_ms + 10 * (uint64_t) self->config.rpc_timeout_ms;
    s_task_destroy (self, task);
    if (self->join_handoff_done)
        s_become_active (self, now_ms);
}

static s_intake_t *s_intake_find (chord_node_t *self, const chord_id_t *sender, uint64_t transfer_id,
                                  bool create)
{
    s_intake_t *free_slot = NULL;
    for (size_t i = 0; i < CHORD_INTAKES_MAX; i++) {
        s_intake_t *intake = &self->intakes[i];
        if (intake->active && intake->transfer_id == transfer_id && chord_id_equal (&intake->sender, sender))
            return intake;
        if (!intake->active && !free_slot)
            free_slot = intake;
    }
    if (!create)
        return NULL;
    if (!free_slot)
        free_slot = &self->intakes[transfer_id % CHORD_INTAKES_MAX];   /* evict: its sender will retry */
    memset (free_slot, 0, sizeof *free_slot);
    free_slot->active = true;
    free_slot->transfer_id = transfer_id;
    free_slot->sender = *sender;
    return free_slot;
}

static void s_on_handoff (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                          uint64_t now_ms)
{
    if (!msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    bool joining = self->state == CHORD_NODE_JOINING;
    s_intake_t *intake = s_intake_find (self, &msg->sender.id, msg->transfer_id, true);
    for (size_t i = 0; i < msg->item_count; i++) {
        const chord_item_t *item = &msg->items[i];
        if (chord_store_put (self->env.store, item->key, item->key_len, item->value, item->value_len) != 0)
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
    chord_msg_t *ack = malloc (sizeof *ack);
    if (ack) {
        chord_msg_init (ack, CHORD_MSG_HANDOFF_ACK, msg->transfer_id);
        ack->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
        ack->transfer_id = msg->transfer_id;
        ack->count = intake->received;
        ack->status = intake->failed ? CHORD_STATUS_STORE_ERROR : CHORD_STATUS_OK;
        if (origin)
            s_reply (self, origin, ack);
        else
            s_send_peer (self, &msg->sender, ack);
        free (ack);
    }
    self->stats.keys_taken_over += intake->received;
    bool failed = intake->failed;
    intake->active = false;
    if (failed) {
        s_log (self, CHORD_LOG_ERROR, "could not store keys handed over by %s", msg->sender.endpoint);
        return;
    }
    if (msg->fields & CHORD_F_PRED) {
        /* Our predecessor left: its predecessor is ours now. */
        char a[9];
        s_log (self, CHORD_LOG_INFO, "predecessor %s (%s) left; took over its keys",
               s_short (&msg->sender.id, a), msg->sender.endpoint);
        if (self->has_pred && chord_id_equal (&self->pred.id, &msg->sender.id)) {
            if (msg->has_pred && !s_is_self (self, &msg->pred)) {
                self->pred = msg->pred;
                self->pred_alive = true;
            }
            else {
                /* Unknown yet: keep serving our old arc and let the first
                   notifier in; we hold the leaver's keys, so no doubt. */
                self->pred_alive = false;
                self->pred_handed_off = true;
            }
        }
        for (size_t i = 0; i < self->succ_count; i++)
            if (chord_id_equal (&self->succ[i].id, &msg->sender.id)) {
                s_succ_remove_at (self, i);
                break;
            }
        for (unsigned i = 0; i < CHORD_ID_BITS; i++)
            if (self->finger_valid[i] && chord_id_equal (&self->finger[i].id, &msg->sender.id))
                self->finger_valid[i] = false;
    }
    else if (joining && msg->transfer_id == self->join_request_id
             && chord_id_equal (&msg->sender.id, &self->join_successor)) {
        self->join_handoff_done = true;
        if (self->join_accepted)
            s_become_active (self, now_ms);
    }
}

static void s_on_handoff_ack (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    if (!msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    s_rpc_t *rpc = NULL;
    for (size_t i = 0; i < self->rpc_count && !rpc; i++)
        if (self->rpcs[i].kind == RPC_HANDOFF && self->rpcs[i].request_id == msg->transfer_id
            && chord_id_equal (&self->rpcs[i].peer.id, &msg->sender.id))
            rpc = &self->rpcs[i];
    s_handoff_t *handoff = s_handoff_find (self, msg->transfer_id, &msg->sender.id);
    if (!rpc || !handoff) {
        self->stats.messages_dropped++;
        return;
    }
    chord_peer_t peer = rpc->peer;
    s_rpc_remove (self, rpc);
    handoff->active = false;
    if (msg->status != CHORD_STATUS_OK || msg->count != handoff->total) {
        s_log (self, CHORD_LOG_WARN, "handoff to %s incomplete (%llu of %llu keys, %s)", peer.endpoint,
               (unsigned long long) msg->count, (unsigned long long) handoff->total,
               chord_status_name (msg->status));
        if (handoff->leaving)
            s_leave_try (self, handoff->attempts + 1, now_ms);
        return;
    }
    self->stats.keys_handed_off += handoff->total;
    if (handoff->leaving)
        s_leave_finish (self, &peer, true);
    else
        s_store_drop_range (self, &handoff->from, &handoff->upto);
}

static void s_on_get_state (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    if (!origin || self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_STATE, msg->request_id);
    reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
    reply->has_pred = self->has_pred && self->pred_alive;
    reply->pred = self->pred;
    reply->peer_count = self->succ_count;
    memcpy (reply->peers, self->succ, self->succ_count * sizeof self->succ[0]);
    s_reply (self, origin, reply);
    free (reply);
}

static void s_notify (chord_node_t *self, const chord_peer_t *to)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_NOTIFY, s_new_request_id (self));
    s_send_peer (self, to, msg);
    free (msg);
}

static void s_on_state (chord_node_t *self, s_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms)
{
    chord_peer_t successor = rpc->peer;
    s_rpc_remove (self, rpc);
    /* Our successor's predecessor may sit between us: then it is our successor. */
    if (msg->has_pred && !s_is_self (self, &msg->pred)
        && chord_id_in_open (&msg->pred.id, &self->self.id, &successor.id)
        && !s_is_suspect (self, &msg->pred.id, now_ms)) {
        chord_peer_t list[CHORD_PEER_LIST_MAX];
        size_t count = 0;
        list[count++] = successor;
        for (size_t i = 0; i < msg->peer_count && count < CHORD_PEER_LIST_MAX; i++)
            list[count++] = msg->peers[i];
        s_succ_set (self, &msg->pred, list, count, now_ms);
    }
    else
        s_succ_set (self, &successor, msg->peers, msg->peer_count, now_ms);
    if (!s_alone (self))
        s_notify (self, &self->succ[0]);
}

static void s_on_notify (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    if (!msg->has_sender || s_is_self (self, &msg->sender) || self->state == CHORD_NODE_IDLE
        || self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    const chord_peer_t *candidate = &msg->sender;
    if (self->has_pred && chord_id_equal (&self->pred.id, &candidate->id)) {
        self->pred_alive = true;
        self->pred = *candidate;
    }
    else if (!self->has_pred || !self->pred_alive
             || chord_id_in_open (&candidate->id, &self->pred.id, &self->self.id)) {
        bool shrinks = self->has_pred && self->pred_alive && self->state == CHORD_NODE_ACTIVE;
        chord_id_t old_pred = self->pred.id;
        if (self->has_pred && !self->pred_alive && !self->pred_handed_off && self->state == CHORD_NODE_ACTIVE
            && chord_id_in_open (&old_pred, &candidate->id, &self->self.id)) {
            /* The silent predecessor's arc is ours now, but not its data. */
            self->has_inherited = true;
            self->inherited_from = candidate->id;
            self->inherited_upto = old_pred;
            uint64_t grace_ms = 10 * (uint64_t) self->config.stabilize_interval_ms;
            if (grace_ms < 4 * (uint64_t) self->config.rpc_timeout_ms)
                grace_ms = 4 * (uint64_t) self->config.rpc_timeout_ms;
            self->inherited_until_ms = now_ms + grace_ms;
        }
        self->pred_handed_off = false;
        char a[9];
        s_log (self, CHORD_LOG_INFO, "predecessor is now %s (%s)", s_short (&candidate->id, a),
               candidate->endpoint);
        self->has_pred = true;
        self->pred = *candidate;
        self->pred_alive = true;
        /* A peer that slipped in without JOIN still gets its arc. */
        if (shrinks)
            s_handoff_start (self, candidate, NULL, s_new_request_id (self), false, &old_pred,
                             &candidate->id, now_ms);
    }
    if (s_alone (self))
        s_succ_set (self, candidate, NULL, 0, now_ms);
}

static void s_on_leave_notice (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    if (!msg->has_sender) {
        self->stats.messages_dropped++;
        return;
    }
    for (unsigned i = 0; i < CHORD_ID_BITS; i++)
        if (self->finger_valid[i] && chord_id_equal (&self->finger[i].id, &msg->sender.id))
            self->finger_valid[i] = false;
    if (!chord_id_equal (&self->succ[0].id, &msg->sender.id))
        return;
    char a[9];
    s_log (self, CHORD_LOG_INFO, "successor %s (%s) left", s_short (&msg->sender.id, a), msg->sender.endpoint);
    s_succ_set (self, NULL, msg->peers, msg->peer_count, now_ms);
    if (s_alone (self))
        self->has_pred = false;
    else
        s_notify (self, &self->succ[0]);
}

static void s_on_ping (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    if (!origin || self->state == CHORD_NODE_LEFT) {
        self->stats.messages_dropped++;
        return;
    }
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_PONG, msg->request_id);
    s_reply (self, origin, reply);
    free (reply);
}

static void s_on_info (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin)
{
    chord_msg_t *reply = malloc (sizeof *reply);
    if (!reply)
        return;
    chord_msg_init (reply, CHORD_MSG_INFO_REPLY, msg->request_id);
    reply->fields = CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS | CHORD_F_COUNT;
    reply->peer = self->self;
    reply->state = self->state;
    reply->has_pred = self->has_pred && self->pred_alive;
    reply->pred = self->pred;
    reply->peer_count = self->succ_count;
    memcpy (reply->peers, self->succ, self->succ_count * sizeof self->succ[0]);
    for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
        if (!self->finger_valid[i])
            continue;
        if (reply->finger_count > 0
            && chord_id_equal (&reply->fingers[reply->finger_count - 1].id, &self->finger[i].id))
            continue;
        reply->fingers[reply->finger_count++] = self->finger[i];
    }
    reply->count = chord_store_count (self->env.store);
    s_reply (self, origin, reply);
    free (reply);
}

/* A client's put, get, del or lookup: answer now if we can, else start a task. */
static void s_on_client_op (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
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
            s_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, text);
        return;
    }
    if (msg->type == CHORD_MSG_CLIENT_PUT && !(msg->fields & CHORD_F_VALUE)) {
        s_reply_client (self, origin, msg->request_id, CHORD_STATUS_BAD_REQUEST, NULL, 0, "put needs a value");
        return;
    }
    s_task_kind_t kind = msg->type == CHORD_MSG_CLIENT_PUT   ? TASK_CLIENT_PUT
                         : msg->type == CHORD_MSG_CLIENT_GET ? TASK_CLIENT_GET
                         : msg->type == CHORD_MSG_CLIENT_DEL ? TASK_CLIENT_DEL
                                                             : TASK_CLIENT_LOOKUP;
    /* The common case on small rings: we own the key. No task needed. */
    if (s_owns (self, &key_id)) {
        if (lookup) {
            s_reply_lookup (self, origin, msg->request_id, CHORD_STATUS_OK, &key_id, &self->self, 0);
            return;
        }
        const uint8_t *found = NULL;
        size_t found_len = 0;
        chord_store_op_t op = kind == TASK_CLIENT_PUT   ? CHORD_STORE_OP_PUT
                              : kind == TASK_CLIENT_GET ? CHORD_STORE_OP_GET
                                                        : CHORD_STORE_OP_DEL;
        chord_status_t status = s_apply (self, op, msg->key, msg->key_len, msg->value, msg->value_len, &found,
                                         &found_len, now_ms);
        if (status != CHORD_STATUS_NOT_READY) {
            s_reply_client (self, origin, msg->request_id, status, found, found_len,
                            status == CHORD_STATUS_STORE_ERROR ? "the store failed" : NULL);
            return;
        }
        /* In doubt: a task retries until the doubt clears or time runs out. */
    }
    uint64_t timeout_ms = (msg->fields & CHORD_F_TIMEOUT) && msg->timeout_ms ? msg->timeout_ms
                                                                             : CHORD_CLIENT_TIMEOUT_DEFAULT_MS;
    if (timeout_ms > CHORD_CLIENT_TIMEOUT_MAX_MS)
        timeout_ms = CHORD_CLIENT_TIMEOUT_MAX_MS;
    /* Answer a little before the client gives up, so it hears why. */
    timeout_ms -= timeout_ms / 10;
    s_task_t *task = s_task_new (self, kind, &key_id, now_ms + timeout_ms);
    if (!task) {
        s_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, "this peer is overloaded");
        return;
    }
    task->origin = *origin;
    task->client_request_id = msg->request_id;
    if (!lookup) {
        task->key = malloc (msg->key_len);
        task->key_len = msg->key_len;
        if (msg->type == CHORD_MSG_CLIENT_PUT) {
            task->value = malloc (msg->value_len ? msg->value_len : 1);
            task->value_len = msg->value_len;
        }
        if (!task->key || (msg->type == CHORD_MSG_CLIENT_PUT && !task->value)) {
            s_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, "out of memory");
            s_task_destroy (self, task);
            return;
        }
        memcpy (task->key, msg->key, msg->key_len);
        if (msg->value_len)
            memcpy (task->value, msg->value, msg->value_len);
    }
    s_lookup_start (self, task, now_ms);
}

static void s_on_client_leave (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                               uint64_t now_ms)
{
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT || self->leave_reply_pending) {
        s_reply_client (self, origin, msg->request_id, CHORD_STATUS_NOT_READY, NULL, 0, "already leaving");
        return;
    }
    self->leave_reply_pending = true;
    self->leave_origin = *origin;
    self->leave_request_id = msg->request_id;
    chord_node_leave (self, now_ms);
}

/* A reply to something we asked: match it to its request by id. */
static void s_on_reply (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms)
{
    s_rpc_kind_t kind;
    switch (msg->type) {
    case CHORD_MSG_FIND_SUCC_REPLY: kind = RPC_FIND; break;
    case CHORD_MSG_STORE_REPLY: kind = RPC_STORE; break;
    case CHORD_MSG_JOIN_REPLY: kind = RPC_JOIN; break;
    case CHORD_MSG_STATE: kind = RPC_GET_STATE; break;
    case CHORD_MSG_PONG: kind = RPC_PING; break;
    default: self->stats.messages_dropped++; return;
    }
    s_rpc_t *rpc = s_rpc_find (self, msg->request_id, kind);
    if (!rpc) {
        self->stats.messages_dropped++;   /* late, duplicated or never asked */
        return;
    }
    switch (kind) {
    case RPC_FIND: s_on_find_succ_reply (self, rpc, msg, now_ms); break;
    case RPC_STORE: s_on_store_reply (self, rpc, msg, now_ms); break;
    case RPC_JOIN: s_on_join_reply (self, rpc, msg, now_ms); break;
    case RPC_GET_STATE: s_on_state (self, rpc, msg, now_ms); break;
    case RPC_PING:
        if (self->has_pred && chord_id_equal (&self->pred.id, &rpc->peer.id))
            self->pred_alive = true;
        s_rpc_remove (self, rpc);
        break;
    case RPC_HANDOFF: break;
    }
}

/* ---------------------------------------------------------------- maintenance */

static void s_stabilize (chord_node_t *self, uint64_t now_ms)
{
    if (s_rpc_pending (self, RPC_GET_STATE))
        return;
    if (s_alone (self)) {
        if (self->has_pred && self->pred_alive && !s_is_self (self, &self->pred)) {
            s_succ_set (self, &self->pred, NULL, 0, now_ms);
            s_notify (self, &self->succ[0]);
        }
        return;
    }
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_GET_STATE, 0);
    s_call (self, &self->succ[0], msg, RPC_GET_STATE, NULL, now_ms);
    free (msg);
}

static void s_check_predecessor (chord_node_t *self, uint64_t now_ms)
{
    if (!self->has_pred || !self->pred_alive || s_is_self (self, &self->pred) || s_rpc_pending (self, RPC_PING))
        return;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    chord_msg_init (msg, CHORD_MSG_PING, 0);
    s_call (self, &self->pred, msg, RPC_PING, NULL, now_ms);
    free (msg);
}

/*  Refreshes fingers in order. A finger whose start lies before the
    previous finger's peer has that same peer, so only fingers that cross
    a gap between peers cost a lookup.  */
static void s_fix_fingers (chord_node_t *self, uint64_t now_ms)
{
    if (self->fixing_finger)
        return;
    for (unsigned step = 0; step < CHORD_ID_BITS; step++) {
        unsigned i = self->next_finger;
        chord_id_t start;
        chord_id_add_pow2 (&start, &self->self.id, i);
        const chord_peer_t *known = NULL;
        if (s_alone (self))
            known = &self->self;
        else if (chord_id_in_half_open (&start, &self->self.id, &self->succ[0].id))
            known = &self->succ[0];
        else if (i > 0 && self->finger_valid[i - 1]
                 && chord_id_in_half_open (&start, &self->self.id, &self->finger[i - 1].id))
            known = &self->finger[i - 1];
        if (!known) {
            s_task_t *task = s_task_new (self, TASK_FIX_FINGER, &start, now_ms + 4 * (uint64_t) self->config.rpc_timeout_ms);
            if (!task)
                return;
            task->finger_index = i;
            self->fixing_finger = true;
            s_lookup_start (self, task, now_ms);
            return;
        }
        self->finger[i] = *known;
        self->finger_valid[i] = !s_is_self (self, known);
        self->next_finger = (i + 1) % CHORD_ID_BITS;
        if (self->next_finger == 0)
            self->fingers_built = true;
        if (self->next_finger == 0)
            return;   /* one full round per call at most */
    }
}

static void s_on_rpc_timeout (chord_node_t *self, s_rpc_t *rpc, uint64_t now_ms)
{
    chord_peer_t peer = rpc->peer;
    switch (rpc->kind) {
    case RPC_FIND:
        s_on_find_timeout (self, rpc, now_ms);
        return;
    case RPC_HANDOFF:
        s_handoff_timeout (self, rpc, now_ms);
        return;
    case RPC_STORE:
    case RPC_JOIN: {
        s_task_t *task = rpc->task;
        s_rpc_remove (self, rpc);
        self->stats.rpc_timeouts++;
        if (task->kind != TASK_JOIN)
            s_suspect (self, &peer, now_ms);
        s_task_retry (self, task, now_ms);
        return;
    }
    case RPC_GET_STATE:
        s_rpc_remove (self, rpc);
        self->stats.rpc_timeouts++;
        s_suspect (self, &peer, now_ms);
        self->next_stabilize_ms = now_ms;   /* try the next successor at once */
        return;
    case RPC_PING:
        s_rpc_remove (self, rpc);
        self->stats.rpc_timeouts++;
        if (self->has_pred && chord_id_equal (&self->pred.id, &peer.id)) {
            char a[9];
            s_log (self, CHORD_LOG_WARN, "predecessor %s (%s) is not answering", s_short (&peer.id, a),
                   peer.endpoint);
            self->pred_alive = false;
        }
        return;
    }
}

/* ---------------------------------------------------------------- public */

chord_node_t *chord_node_new (const chord_node_config_t *config, const chord_env_t *env)
{
    if (!config || !env || !env->store || !env->random_bytes || !config->endpoint
        || strlen (config->endpoint) == 0 || strlen (config->endpoint) > CHORD_ENDPOINT_MAX
        || config->successors < 1 || config->successors > CHORD_SUCCESSORS_MAX
        || config->stabilize_interval_ms == 0 || config->rpc_timeout_ms == 0)
        return NULL;
    chord_node_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->env = *env;
    if (config->owner_cache_size) {
        self->owner_cache = calloc (config->owner_cache_size, sizeof *self->owner_cache);
        if (!self->owner_cache) {
            free (self);
            return NULL;
        }
    }
    self->self.id = config->id;
    snprintf (self->self.endpoint, sizeof self->self.endpoint, "%s", config->endpoint);
    self->config.endpoint = self->self.endpoint;
    self->succ[0] = self->self;
    self->succ_count = 1;
    self->next_request_id = config->request_id_base ? config->request_id_base : 1;
    self->state = CHORD_NODE_IDLE;
    return self;
}

void chord_node_destroy (chord_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chord_node_t *self = *self_p;
    while (self->tasks)
        s_task_destroy (self, self->tasks);
    free (self->rpcs);
    free (self->owner_cache);
    for (size_t i = 0; i < self->outbox_count; i++)
        free (self->outbox[(self->outbox_head + i) % self->outbox_alloc].data);
    free (self->outbox);
    for (size_t i = 0; i < self->seed_count; i++)
        free (self->seeds[i]);
    free (self->seeds);
    free (self);
    *self_p = NULL;
}

int chord_node_start (chord_node_t *self, const char *const *seeds, size_t seed_count, uint64_t now_ms)
{
    if (self->state != CHORD_NODE_IDLE)
        return -1;
    self->seeds = calloc (seed_count ? seed_count : 1, sizeof *self->seeds);
    if (!self->seeds)
        return -1;
    for (size_t i = 0; i < seed_count; i++) {
        /* A seed that is this very position is no seed: a peer listed in
           everyone's --join may start the ring itself. (Other positions of
           the same process share our endpoint and are good seeds.) */
        chord_id_t seed_id;
        chord_id_hash (&seed_id, seeds[i], strlen (seeds[i]));
        if (chord_id_equal (&seed_id, &self->self.id) || strlen (seeds[i]) > CHORD_ENDPOINT_MAX)
            continue;
        self->seeds[self->seed_count] = strdup (seeds[i]);
        if (!self->seeds[self->seed_count])
            return -1;
        self->seed_count++;
    }
    self->next_stabilize_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
    self->next_fix_finger_ms = now_ms;
    self->next_check_pred_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
    self->join_retry_ms = 100;
    if (self->seed_count == 0) {
        self->state = CHORD_NODE_ACTIVE;
        s_log (self, CHORD_LOG_INFO, "started a new ring as %s", self->self.endpoint);
        return 0;
    }
    self->state = CHORD_NODE_JOINING;
    s_task_t *task = s_task_new (self, TASK_JOIN, &self->self.id, UINT64_MAX);
    if (!task)
        return -1;
    s_log (self, CHORD_LOG_INFO, "joining through %zu seed%s", self->seed_count, self->seed_count == 1 ? "" : "s");
    s_lookup_start (self, task, now_ms);
    return 0;
}

int chord_node_start_member (chord_node_t *self, const chord_peer_t *pred, const chord_peer_t *succs,
                             size_t succ_count, const chord_peer_t *fingers, const bool *finger_valid,
                             uint64_t now_ms)
{
    if (self->state != CHORD_NODE_IDLE || succ_count == 0 || succ_count > CHORD_SUCCESSORS_MAX)
        return -1;
    s_succ_set (self, &succs[0], succs + 1, succ_count - 1, now_ms);
    if (pred && !s_is_self (self, pred)) {
        self->has_pred = true;
        self->pred = *pred;
        self->pred_alive = true;
    }
    for (unsigned i = 0; fingers && finger_valid && i < CHORD_ID_BITS; i++)
        if (finger_valid[i] && !s_is_self (self, &fingers[i])) {
            self->finger[i] = fingers[i];
            self->finger_valid[i] = true;
        }
    self->state = CHORD_NODE_ACTIVE;
    self->next_stabilize_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
    self->next_check_pred_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
    self->next_fix_finger_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
    return 0;
}

void chord_node_receive (chord_node_t *self, const uint8_t *data, size_t size, const chord_origin_t *origin,
                         uint64_t now_ms)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    if (chord_msg_decode (msg, data, size) != 0)
        self->stats.messages_dropped++;
    else {
        chord_node_handle (self, msg, origin, now_ms);
        chord_msg_clear (msg);
    }
    free (msg);
}

void chord_node_handle (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms)
{
    self->stats.messages_received++;
    /* Any message from a peer shows it alive. */
    if (msg->has_sender && self->has_pred && !self->pred_alive && chord_id_equal (&msg->sender.id, &self->pred.id))
        self->pred_alive = true;
    switch (msg->type) {
    case CHORD_MSG_FIND_SUCC: s_on_find_succ (self, msg, origin, now_ms); break;
    case CHORD_MSG_GET_STATE: s_on_get_state (self, msg, origin); break;
    case CHORD_MSG_NOTIFY: s_on_notify (self, msg, now_ms); break;
    case CHORD_MSG_PING: s_on_ping (self, msg, origin); break;
    case CHORD_MSG_JOIN: s_on_join (self, msg, origin, now_ms); break;
    case CHORD_MSG_HANDOFF: s_on_handoff (self, msg, origin, now_ms); break;
    case CHORD_MSG_HANDOFF_ACK: s_on_handoff_ack (self, msg, now_ms); break;
    case CHORD_MSG_LEAVE_NOTICE: s_on_leave_notice (self, msg, now_ms); break;
    case CHORD_MSG_STORE: s_on_store (self, msg, origin, now_ms); break;
    case CHORD_MSG_CLIENT_PUT:
    case CHORD_MSG_CLIENT_GET:
    case CHORD_MSG_CLIENT_DEL:
    case CHORD_MSG_CLIENT_LOOKUP:
        if (origin)
            s_on_client_op (self, msg, origin, now_ms);
        else
            self->stats.messages_dropped++;
        break;
    case CHORD_MSG_CLIENT_INFO:
        if (origin)
            s_on_info (self, msg, origin);
        else
            self->stats.messages_dropped++;
        break;
    case CHORD_MSG_CLIENT_LEAVE:
        if (origin)
            s_on_client_leave (self, msg, origin, now_ms);
        else
            self->stats.messages_dropped++;
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
        self->stats.messages_dropped++;   /* meant for clients, not peers */
        break;
    }
}

void chord_node_tick (chord_node_t *self, uint64_t now_ms)
{
    if (self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT)
        return;
    /* Expired requests. Handlers may add and remove entries, so rescan. */
    for (size_t i = 0; i < self->rpc_count;) {
        if (self->rpcs[i].deadline_ms <= now_ms) {
            s_on_rpc_timeout (self, &self->rpcs[i], now_ms);
            i = 0;
        }
        else
            i++;
    }
    /* Tasks due for a retry, or out of time. */
    for (s_task_t *task = self->tasks, *next; task; task = next) {
        next = task->next;
        if (task->rpc_id)
            continue;
        if (s_task_is_client (task) && task->deadline_ms <= now_ms)
            s_task_expire (self, task);
        else if (task->retry_at_ms && task->retry_at_ms <= now_ms) {
            s_lookup_start (self, task, now_ms);
            next = self->tasks;   /* the list may have changed under us */
        }
    }
    if (self->state == CHORD_NODE_JOINING && self->join_accepted && !self->join_handoff_done
        && self->join_handoff_deadline_ms <= now_ms) {
        s_log (self, CHORD_LOG_WARN, "our arc never arrived from %s; serving without it",
               self->succ[0].endpoint);
        self->join_handoff_done = true;
        s_become_active (self, now_ms);
    }
    bool member = self->state == CHORD_NODE_ACTIVE || self->state == CHORD_NODE_LEAVING;
    if (member && self->next_stabilize_ms <= now_ms) {
        self->next_stabilize_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
        s_stabilize (self, now_ms);
    }
    if (member && self->next_check_pred_ms <= now_ms) {
        self->next_check_pred_ms = now_ms + s_jittered (self, self->config.stabilize_interval_ms);
        s_check_predecessor (self, now_ms);
    }
    if (self->state == CHORD_NODE_ACTIVE && self->next_fix_finger_ms <= now_ms) {
        /* A new member builds its fingers quickly, then refreshes one finger
           lookup per interval, as the paper's fix_fingers does. */
        uint64_t interval_ms = self->config.stabilize_interval_ms;
        if (!self->fingers_built)
            interval_ms = interval_ms / CHORD_FINGER_TICKS + 1;
        self->next_fix_finger_ms = now_ms + s_jittered (self, interval_ms);
        s_fix_fingers (self, now_ms);
    }
}

uint64_t chord_node_next_deadline_ms (const chord_node_t *self)
{
    if (self->state == CHORD_NODE_IDLE || self->state == CHORD_NODE_LEFT)
        return UINT64_MAX;
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < self->rpc_count; i++)
        if (self->rpcs[i].deadline_ms < next)
            next = self->rpcs[i].deadline_ms;
    for (const s_task_t *task = self->tasks; task; task = task->next) {
        if (task->rpc_id)
            continue;
        if (task->retry_at_ms && task->retry_at_ms < next)
            next = task->retry_at_ms;
        if (s_task_is_client (task) && task->deadline_ms < next)
            next = task->deadline_ms;
    }
    if (self->state == CHORD_NODE_JOINING && self->join_accepted && !self->join_handoff_done
        && self->join_handoff_deadline_ms < next)
        next = self->join_handoff_deadline_ms;
    if (self->state == CHORD_NODE_ACTIVE || self->state == CHORD_NODE_LEAVING) {
        if (self->next_stabilize_ms < next)
            next = self->next_stabilize_ms;
        if (self->next_check_pred_ms < next)
            next = self->next_check_pred_ms;
    }
    if (self->state == CHORD_NODE_ACTIVE && self->next_fix_finger_ms < next)
        next = self->next_fix_finger_ms;
    return next;
}

void chord_node_leave (chord_node_t *self, uint64_t now_ms)
{
    if (self->state == CHORD_NODE_LEAVING || self->state == CHORD_NODE_LEFT)
        return;
    if (self->state != CHORD_NODE_ACTIVE || s_alone (self)) {
        if (self->state == CHORD_NODE_ACTIVE && chord_store_count (self->env.store) > 0)
            s_log (self, CHORD_LOG_WARN, "last peer of the ring leaving with %zu keys",
                   chord_store_count (self->env.store));
        s_leave_finish (self, NULL, true);
        return;
    }
    self->state = CHORD_NODE_LEAVING;
    s_log (self, CHORD_LOG_INFO, "leaving: handing %zu keys to our successor", chord_store_count (self->env.store));
    /* Client operations we coordinate cannot finish once we are gone. */
    for (s_task_t *task = self->tasks, *next; task; task = next) {
        next = task->next;
        if (s_task_is_client (task)) {
            s_reply_client (self, &task->origin, task->client_request_id, CHORD_STATUS_NOT_READY, NULL, 0,
                            "this peer is leaving the ring");
            s_task_destroy (self, task);
        }
    }
    s_leave_try (self, 0, now_ms);
}

bool chord_node_pop_outgoing (chord_node_t *self, chord_outgoing_t *out)
{
    if (self->outbox_count == 0)
        return false;
    *out = self->outbox[self->outbox_head];
    self->outbox_head = (self->outbox_head + 1) % self->outbox_alloc;
    self->outbox_count--;
    return true;
}

chord_node_state_t chord_node_state (const chord_node_t *self)
{
    return self->state;
}

const chord_peer_t *chord_node_self (const chord_node_t *self)
{
    return &self->self;
}

const chord_peer_t *chord_node_successor (const chord_node_t *self)
{
    return &self->succ[0];
}

const chord_peer_t *chord_node_predecessor (const chord_node_t *self)
{
    return self->has_pred && self->pred_alive ? &self->pred : NULL;
}

const chord_node_stats_t *chord_node_stats (const chord_node_t *self)
{
    return &self->stats;
}

const char *chord_node_state_name (chord_node_state_t state)
{
    switch (state) {
    case CHORD_NODE_IDLE: return "idle";
    case CHORD_NODE_JOINING: return "joining";
    case CHORD_NODE_ACTIVE: return "active";
    case CHORD_NODE_LEAVING: return "leaving";
    case CHORD_NODE_LEFT: return "left";
    }
    return "unknown";
}
