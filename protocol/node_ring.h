/*  node ring: ring membership, a module of the node (see node_internal.h).

    Owns (node_ring_t, inside struct chord_node): the successor list, the
    predecessor and what we know of its health, the fingers, the suspects,
    the arc inherited from a silent predecessor, and the peers remembered
    for probing. (The owner cache, hints for data operations, is
    node_owners.c's.) Only node_ring.c and node_stabilize.c (stabilize,
    notify, check_predecessor) write them, through the verbs below; other modules read them through node_ring (self), a const
    view.
    Needs: the node's identity, config, state and logging; requests and
    replies (node.c); tasks for finger lookups and probes (node_lookup.c);
    handoffs when a notifier takes part of our arc (node_transfer.c); the
    timer table, to stabilize or probe sooner (node_timers.c).
    Frees: nothing; it allocates nothing.  */
#ifndef CHORD_NODE_RING_H
#define CHORD_NODE_RING_H

#include "node.h"

#define CHORD_SUSPECTS_MAX 64       /* peers remembered as unresponsive */
#define CHORD_REPORTS_MAX 32        /* peers others told us were silent */
#define CHORD_REMEMBERED_MAX 16     /* peers kept to probe for a ring we split from */
#define CHORD_DEPARTED_SUSPICIONS 5 /* a graceful leaver stays dead this many suspicion periods */
/* Maintenance requests in a row unanswered before a peer is dead. ZeroMQ over
   TCP loses nothing but with a broken connection, so one miss is a failed
   or hung peer, and detecting it fast keeps lookups right under churn
   (chord-sim's traffic scenario: 2.2% failed lookups with 1, 6% with 2). On a
   lossy datagram network, 2 would keep live successors. */
#define CHORD_MISSES_DEAD 1

typedef struct node_rpc node_rpc_t;

typedef struct {
    chord_id_t id;
    uint64_t until_ms; /* suspicion lapses then */
    bool dead;         /* failed maintenance twice: out of successor lists, not just routed around */
    uint64_t departed_ms; /* when it left gracefully, or 0 */
} node_suspect_t;

/*  A peer another peer found silent: it asked us to route round it (a
    FIND_SUCC's excluded ids). Hearsay: it only makes us prefer another
    hop while one is as good, never decides an owner, lapses with the
    suspicion period, and is forgotten once the peer is heard from.  */
typedef struct {
    chord_id_t id;
    uint64_t until_ms;
} node_report_t;

/*  What our successor last told us in full (STATE), so that a STATE
    saying "unchanged" (its digest only) can be taken as that again.  */
typedef struct {
    bool valid;
    chord_id_t from;            /* the successor that said it */
    uint64_t digest;            /* node_state_digest of the rest */
    bool has_pred;
    chord_peer_t pred;
    size_t count;
    chord_peer_t peers[CHORD_PEER_LIST_MAX];
} node_succ_state_t;

typedef struct {
    bool has_pred;
    chord_peer_t pred;
    bool pred_alive;             /* false once pings went unanswered */
    unsigned pred_misses;        /* pings in a row unanswered */
    unsigned succ_misses;        /* GET_STATEs in a row our successor left unanswered */
    bool pred_handed_off;        /* it left gracefully and handed us its keys */
    bool has_inherited;          /* we took over a silent predecessor's arc ... */
    chord_id_t inherited_from;   /* ... (from, upto] without its data, */
    chord_id_t inherited_upto;
    uint64_t inherited_until_ms; /* and say "not found" there only after this */
    uint64_t shape;              /* bumped whenever succ[] or finger[] change: what views of them key on */
    size_t succ_count;           /* >= 1 once started; succ[0] may be self */
    chord_peer_t succ[CHORD_SUCCESSORS_MAX];
    bool finger_valid[CHORD_ID_BITS];
    chord_peer_t finger[CHORD_ID_BITS]; /* finger[i] = successor(self + 2^i) */
    unsigned next_finger;               /* next finger to refresh */
    bool fingers_built;                 /* a whole round has been done: refresh at a calm pace */
    bool fixing_finger;                 /* a TASK_FIX_FINGER is running */
    unsigned fingers_unchanged;         /* finger refreshes in a row that changed nothing */
    size_t suspect_count;
    node_suspect_t suspects[CHORD_SUSPECTS_MAX];
    node_report_t reports[CHORD_REPORTS_MAX];
    size_t report_next;                            /* the slot the next report takes */
    bool probing;                                  /* a TASK_PROBE is running */
    chord_peer_t remembered[CHORD_REMEMBERED_MAX]; /* seeds and peers we gave up on: probe them */
    size_t remembered_count;
    size_t remembered_next;                        /* next to probe, and next to replace */
    node_succ_state_t last_state;                  /* our successor's last full STATE */
} node_ring_t;

/* Sets up the ring of a new node: alone. */
void node_ring_init (chord_node_t *self);

/* True while id is suspected of not answering (dead or merely slow). */
bool node_ring_is_suspect (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms);

/* The ring, to read. */
const node_ring_t *node_ring (const chord_node_t *self);

/* Takes peer as our (live) predecessor. */
void node_ring_set_pred (chord_node_t *self, const chord_peer_t *peer);

/*  Our predecessor left and handed us its keys without naming its own
    predecessor: keep serving our old arc and let the first notifier in.  */
void node_ring_pred_handed_off (chord_node_t *self);

/* Sets finger index to peer (as given to chord_node_start_member). */
void node_ring_set_finger (chord_node_t *self, unsigned index, const chord_peer_t *peer);

/* Any message from id shows it alive: our predecessor, if it is id, is heard again. */
void node_ring_heard_from (chord_node_t *self, const chord_id_t *id);

/*  Takes note of the ids an asker excludes from its lookup (it found them
    silent) that we would route to: a finger or a successor of ours. See
    node_report_t.  */
void node_ring_reported_silent (chord_node_t *self, const chord_id_t *excluded, size_t count, uint64_t now_ms);

/*  True when id lies in the arc we took over from a silent predecessor
    and the grace period is not over: a missing key there may only be
    paused elsewhere. The arc is forgotten once the period has passed.  */
bool node_ring_in_doubt (chord_node_t *self, const chord_id_t *id, uint64_t now_ms);


bool node_is_self (const chord_node_t *self, const chord_peer_t *peer);

bool node_is_excluded (const chord_id_t *id, const chord_id_t *excluded, size_t count);

/*  Rebuilds the successor list as first, then list[], dropping ourselves,
    anything after ourselves (the list wrapped round the ring), duplicates
    and suspects, cut to r entries. An empty result means we are alone.  */
void node_succ_set (chord_node_t *self, const chord_peer_t *first, const chord_peer_t *list, size_t count,
                    uint64_t now_ms);

bool node_alone (const chord_node_t *self);

/* Marks a peer unresponsive: it leaves the successor list and fingers until
   the suspicion lapses and stabilization brings it back. */
void node_suspect (chord_node_t *self, const chord_peer_t *peer, bool dead, uint64_t now_ms);

/* Marks a peer that left gracefully: dead for CHORD_DEPARTED_SUSPICIONS suspicions. */
void node_departed (chord_node_t *self, const chord_peer_t *peer, uint64_t now_ms);

/* Failed maintenance twice, not merely slow once: kept out of successor lists. */
bool node_ring_is_dead (const chord_node_t *self, const chord_id_t *id, uint64_t now_ms);

/*  A successor names as its predecessor a peer we know left. Right after a
    leave that is a stale word (it has not heard yet); two suspicion periods
    later, it took the peer back through a JOIN: the peer rejoined (a
    restart on its data directory, say), and this lifts the departure.  */
void node_ring_forgive_if_rejoined (chord_node_t *self, const chord_id_t *id, uint64_t now_ms);

/* Lifts any suspicion of id: it has just shown itself alive by joining. */
void node_forgive (chord_node_t *self, const chord_id_t *id);

/* Keeps peer among the peers to probe later (node_probe). */
void node_remember (chord_node_t *self, const chord_peer_t *peer);

/*  Asks a remembered peer that is not among our successors who succeeds
    us in its view of the ring. A partition that lasted longer than the
    suspicion period leaves two rings, each whole and each blind to the
    other; an answer closer than our successor joins them again, and
    stabilization does the rest.  */
void node_probe (chord_node_t *self, uint64_t now_ms);

/* True when peer, alive as far as we know, lies between us and our successor. */
bool node_probe_closer (const chord_node_t *self, const chord_peer_t *peer, uint64_t now_ms);

/* A probe's answer: adopt owner as successor if it is closer than ours. */
void node_probe_found (chord_node_t *self, const chord_peer_t *owner, uint64_t now_ms);

/*  The known peer closest before id on the ring (fingers and successors),
    skipping suspects and excluded ids, and peers others reported silent
    while another peer precedes id; NULL when none precedes id.  */
const chord_peer_t *node_closest_preceding (const chord_node_t *self, const chord_id_t *id,
                                            const chord_id_t *excluded, size_t excluded_count,
                                            uint64_t now_ms);

/* The first successor not excluded (the successor itself if all are). */
const chord_peer_t *node_first_live_successor (const chord_node_t *self, const chord_id_t *excluded,
                                               size_t excluded_count, uint64_t now_ms);

/* True when we serve key id now: it lies in (pred, self], or we are alone. */
bool node_owns (const chord_node_t *self, const chord_id_t *id);

void node_on_find_succ (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin,
                        uint64_t now_ms);

/*  A short digest (8 bytes of BLAKE2b, never 0) of a STATE's content: the
    predecessor (if any) and the successor list, ids and endpoints, in order.
    GET_STATE carries the digest of the last STATE the asker got from the
    receiver ("cnt"); when the receiver's state still has that digest, its
    STATE carries only the digest back, and the asker takes its last STATE
    again. A steady ring then no longer sends r peers every interval.  */
uint64_t node_state_digest (bool has_pred, const chord_peer_t *pred, const chord_peer_t *peers, size_t count);

/* Answers GET_STATE: our live predecessor and successor list, or only the
   digest when the asker's matches them. */
void node_on_get_state (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin);

void node_on_state (chord_node_t *self, node_rpc_t *rpc, const chord_msg_t *msg, uint64_t now_ms);

/* Our successor left a GET_STATE unanswered: suspect it (dead after
   CHORD_MISSES_DEAD in a row) and stabilize again at once. Removes rpc. */
void node_on_state_timeout (chord_node_t *self, node_rpc_t *rpc, uint64_t now_ms);

/* Our predecessor answered a ping. Removes rpc. */
void node_on_pong (chord_node_t *self, node_rpc_t *rpc);

/* A ping went unanswered: after CHORD_MISSES_DEAD in a row, our
   predecessor is no longer alive to us. Removes rpc. */
void node_on_ping_timeout (chord_node_t *self, node_rpc_t *rpc);

void node_on_notify (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);

void node_on_leave_notice (chord_node_t *self, const chord_msg_t *msg, uint64_t now_ms);

void node_on_ping (chord_node_t *self, const chord_msg_t *msg, const chord_origin_t *origin);

void node_stabilize (chord_node_t *self, uint64_t now_ms);

void node_check_predecessor (chord_node_t *self, uint64_t now_ms);

/*  Refreshes fingers in order. A finger whose start lies before the
    previous finger's peer has that same peer, so only fingers that cross
    a gap between peers cost a lookup.  */
void node_fix_fingers (chord_node_t *self, uint64_t now_ms);

/* A finger lookup (TASK_FIX_FINGER for finger index) found owner. */
void node_finger_found (chord_node_t *self, unsigned index, const chord_peer_t *owner, uint64_t now_ms);

/* The finger lookup, or the probe, has ended (its task is gone). */
void node_fix_finger_ended (chord_node_t *self);
void node_probe_ended (chord_node_t *self);

#endif
