/*  Tests for ring maintenance (protocol/node_stabilize.c and the finger
    refreshes of node_ring.c): stabilize exchanges digests while a
    successor's state is unchanged and the whole state once it changes,
    with no NOTIFY a successor does not need; finger refreshes slow down
    while the fingers stay put and speed up when a newcomer changes one.

    Drives nodes by hand through tests/node_fixture.h: the test carries
    messages between two nodes itself, or answers as a whole ring would.

    Run alone: make build/t/test_node_ring.t && build/t/test_node_ring.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node_ring.t  */

#include "node_fixture.h"

/* Ticks the node until it sends a GET_STATE to endpoint (at most 3 intervals). */
static s_sent_t *s_next_get_state (chord_node_t *node, const char *endpoint, uint64_t *t)
{
    s_sent_t *sent = NULL;
    uint64_t until = *t + 3 * S_STABILIZE_MS;
    while (!sent && *t < until) {
        *t = chord_node_next_deadline_ms (node);
        chord_node_tick (node, *t);
        sent = s_pop_type_to (node, CHORD_MSG_GET_STATE, endpoint);
    }
    return sent;
}

/* Delivers me's GET_STATE to a; returns a's STATE (NULL if none). */
static s_sent_t *s_ask_state (chord_node_t *me_node, chord_node_t *a_node, const chord_peer_t *me,
                              const chord_peer_t *a, uint64_t *t, uint64_t *asked_digest)
{
    s_sent_t *ask = s_next_get_state (me_node, a->endpoint, t);
    if (!ask)
        return NULL;
    *asked_digest = (ask->msg.fields & CHORD_F_COUNT) ? ask->msg.count : 0;
    chord_origin_t origin = s_origin ("conn-me");
    s_feed (a_node, &ask->msg, me, &origin, *t);
    uint64_t rid = ask->msg.request_id;
    s_sent_free (&ask);
    s_sent_t *reply = s_pop (a_node);
    if (!s_is_reply (reply, CHORD_MSG_STATE, rid, &origin))
        s_sent_free (&reply);
    return reply;
}

/* True when the node queued a NOTIFY; empties its outbox. */
static bool s_sent_notify (chord_node_t *node)
{
    bool notified = false;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        notified = notified || (sent->decoded && sent->msg.type == CHORD_MSG_NOTIFY);
        s_sent_free (&sent);
    }
    return notified;
}

/* The node's successor list, through CLIENT_INFO: how many, and whether it begins first, second. */
static bool s_succ_list_is (chord_node_t *node, size_t count, const chord_peer_t *first, const chord_peer_t *second,
                            uint64_t now)
{
    chord_origin_t client = s_origin ("client-info");
    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 77, NULL, NULL, &client, now);
    s_sent_t *sent = s_pop (node);
    bool ok = s_is_reply (sent, CHORD_MSG_INFO_REPLY, 77, &client) && sent->msg.peer_count == count &&
              chord_id_equal (&sent->msg.peers[0].id, &first->id) &&
              (count < 2 || chord_id_equal (&sent->msg.peers[1].id, &second->id));
    s_sent_free (&sent);
    return ok;
}

/*  Stabilize with digests: our successor a answers a GET_STATE that
    carries the digest of its current state with that digest alone, and
    we keep the list it gave us last; once its state changes (a newcomer
    n notified it) it sends it all again. A successor that has us as its
    predecessor gets no NOTIFY; a digest we did not ask with is dropped
    and the next GET_STATE asks for the whole state.  */
static void s_test_state_digest (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 149);
    chord_peer_t b = s_peer_after ("tcp://b", &me.id, 152, 151);
    chord_peer_t n = s_peer_after ("tcp://n", &me.id, 148, 147);    /* between me and a */
    chord_peer_t p = s_peer_after ("tcp://p", &me.id, 159, 158);
    chord_store_t *me_store = chord_store_mem_new (), *a_store = chord_store_mem_new ();
    s_rng_t rng = {0xd16e57};
    chord_node_t *me_node = s_unit_node (me.endpoint, me_store, &rng, NULL);
    chord_node_t *a_node = s_unit_node (a.endpoint, a_store, &rng, NULL);
    uint64_t t = 5000, digest = 0;
    tap_ok (chord_node_start_member (me_node, &p, &a, 1, NULL, NULL, t) == 0 &&
                chord_node_start_member (a_node, &me, &b, 1, NULL, NULL, t) == 0,
            "digest: two members, a after me");
    s_discard_outbox (me_node);
    s_discard_outbox (a_node);

    s_sent_t *state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest == 0 && state && (state->msg.fields & CHORD_F_SUCC) && state->msg.has_pred &&
                chord_id_equal (&state->msg.pred.id, &me.id),
            "the first GET_STATE has no digest; the STATE is whole and names us as a's predecessor");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (!s_sent_notify (me_node) && s_succ_list_is (me_node, 2, &a, &b, t),
            "successors a, b; no NOTIFY to a successor that has us already");

    uint64_t dropped = chord_node_stats (me_node)->messages_dropped;
    state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest != 0 && state && state->msg.fields == CHORD_F_COUNT && state->msg.count == digest,
            "the next GET_STATE carries a digest; a, unchanged, answers with the digest alone");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (!s_sent_notify (me_node) && s_succ_list_is (me_node, 2, &a, &b, t) &&
                chord_node_stats (me_node)->messages_dropped == dropped,
            "the asker keeps the list it had: a, b");

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 90);
    s_feed (a_node, msg, &n, NULL, t);
    s_discard_outbox (a_node);
    state = s_ask_state (me_node, a_node, &me, &a, &t, &digest);
    tap_ok (digest != 0 && state && (state->msg.fields & CHORD_F_SUCC) && state->msg.has_pred &&
                chord_id_equal (&state->msg.pred.id, &n.id),
            "a's predecessor changed (n): the same digest gets the whole state");
    if (state)
        s_feed (me_node, &state->msg, &a, NULL, t);
    s_sent_free (&state);
    tap_ok (chord_id_equal (&chord_node_successor (me_node)->id, &n.id), "... and n becomes our successor");

    /* A digest we never asked with: dropped, and the next ask is for all of it. */
    s_discard_outbox (me_node);
    s_sent_t *ask = s_next_get_state (me_node, n.endpoint, &t);
    tap_ok (ask && !(ask->msg.fields & CHORD_F_COUNT), "the first GET_STATE to n has no digest");
    chord_msg_init (msg, CHORD_MSG_STATE, ask ? ask->msg.request_id : 0);
    msg->fields = CHORD_F_COUNT;
    msg->count = 12345;
    s_sent_free (&ask);
    dropped = chord_node_stats (me_node)->messages_dropped;
    s_feed (me_node, msg, &n, NULL, t);
    tap_ok (chord_node_stats (me_node)->messages_dropped == dropped + 1 &&
                chord_id_equal (&chord_node_successor (me_node)->id, &n.id),
            "a STATE with a digest we did not send is dropped and changes nothing");
    free (msg);
    chord_node_destroy (&me_node);
    chord_node_destroy (&a_node);
    chord_store_destroy (&me_store);
    chord_store_destroy (&a_store);
}

/* The peer of ring[] (count, in ring order) that owns id: the first at or after it. */
static const chord_peer_t *s_ring_owner (const chord_peer_t *ring, size_t count, const chord_id_t *id)
{
    for (size_t i = 0; i < count; i++)
        if (chord_id_in_half_open (id, &ring[(i + count - 1) % count].id, &ring[i].id))
            return &ring[i];
    return &ring[0];
}

/*  Answers all the node sent, as the peers of ring[] (ring[0] is the node)
    would: STATE, PONG, FIND_SUCC_REPLY naming the owner. Returns how many
    FIND_SUCCs it answered.  */
static size_t s_answer_as_ring (chord_node_t *node, const chord_peer_t *ring, size_t count, chord_msg_t *reply,
                                uint64_t t)
{
    size_t finds = 0;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        size_t at = 1;
        while (at < count && strcmp (ring[at].endpoint, sent->out.endpoint) != 0)
            at++;
        if (!sent->decoded || sent->out.kind != CHORD_DEST_PEER || at == count) {
            s_sent_free (&sent);
            continue;
        }
        chord_msg_type_t type = sent->msg.type;
        chord_msg_init (reply, type == CHORD_MSG_GET_STATE ? CHORD_MSG_STATE
                               : type == CHORD_MSG_PING    ? CHORD_MSG_PONG
                                                           : CHORD_MSG_FIND_SUCC_REPLY,
                        sent->msg.request_id);
        if (type == CHORD_MSG_GET_STATE) {
            reply->fields = CHORD_F_PRED | CHORD_F_SUCC;
            reply->has_pred = true;
            reply->pred = ring[at - 1];
            for (size_t i = 1; i < count && reply->peer_count < 2; i++)
                reply->peers[reply->peer_count++] = ring[(at + i) % count];
        } else if (type == CHORD_MSG_FIND_SUCC) {
            finds++;
            reply->fields = CHORD_F_DONE | CHORD_F_PEER;
            reply->done = true;
            reply->peer = *s_ring_owner (ring, count, &sent->msg.id);
        }
        if (type == CHORD_MSG_GET_STATE || type == CHORD_MSG_PING || type == CHORD_MSG_FIND_SUCC)
            s_feed (node, reply, &ring[at], NULL, t);
        s_sent_free (&sent);
    }
    return finds;
}

/* Runs the node among ring[] until until_ms; returns the FIND_SUCCs it sent. */
static size_t s_run_as_ring (chord_node_t *node, const chord_peer_t *ring, size_t count, uint64_t *t,
                             uint64_t until_ms)
{
    chord_msg_t *reply = malloc (sizeof *reply);
    size_t finds = 0;
    while (*t < until_ms) {
        uint64_t next = chord_node_next_deadline_ms (node);
        *t = next > *t ? next : *t + 1;
        chord_node_tick (node, *t);
        finds += s_answer_as_ring (node, ring, count, reply, *t);
    }
    free (reply);
    return finds;
}

/*  Finger refreshes slow down while lookups find the fingers unchanged
    (a steady ring's lookups were most of its maintenance traffic), and
    speed up again when one changes: a newcomer n between a and b.  */
static void s_test_finger_pace (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 156, 155);
    chord_peer_t n = s_peer_after ("tcp://n", &me.id, 157, 155);
    chord_peer_t b = s_peer_after ("tcp://b", &me.id, 158, 157);
    chord_peer_t c = s_peer_after ("tcp://c", &me.id, 159, 158);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0xf1f1};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t t = 5000;
    chord_peer_t succs[] = {a, b, c};
    tap_ok (chord_node_start_member (node, &c, succs, 3, NULL, NULL, t) == 0, "finger pace: member started");
    chord_peer_t ring[] = {me, a, b, c}, grown[] = {me, a, n, b, c};
    s_run_as_ring (node, ring, 4, &t, 5000 + 30 * S_STABILIZE_MS);
    size_t calm = s_run_as_ring (node, ring, 4, &t, 5000 + 90 * S_STABILIZE_MS);
    tap_ok (calm > 0 && calm <= 60 / 4, "steady fingers: %zu finger lookups in 60 intervals (one an interval was 60)",
            calm);
    size_t moving = s_run_as_ring (node, grown, 5, &t, 5000 + 150 * S_STABILIZE_MS);
    chord_origin_t client = s_origin ("client-pace");
    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 78, NULL, NULL, &client, t);
    s_sent_t *info = s_pop (node);
    bool n_finger = false;
    for (size_t i = 0; info && info->decoded && i < info->msg.finger_count; i++)
        n_finger = n_finger || chord_id_equal (&info->msg.fingers[i].id, &n.id);
    s_sent_free (&info);
    tap_ok (n_finger && moving > calm, "a newcomer becomes a finger, and refreshes speed up (%zu lookups, then %zu)",
            calm, moving);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_state_digest ();
    s_test_finger_pace ();
    return tap_done ();
}
