/*  Tests for lookups (protocol/node_lookup.c): past a dead successor, a
    FIND_SUCC is answered with the first live one and a client lookup
    times the silent one out and asks the next; a newcomer that took the
    key's arc since we last stabilized is found through the disclaiming
    successor's predecessor; a peer told of a silent finger routes round
    it for a while (hearsay).

    Drives one node by hand through tests/node_fixture.h, playing the other
    peers' part with encoded messages.

    Run alone: make build/t/test_node_lookup.t && build/t/test_node_lookup.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node_lookup.t  */

#include "node_fixture.h"

/*  Pops messages until a FIND_SUCC to endpoint (returned), dropping the
    rest (maintenance); NULL when none is queued.  */
static s_sent_t *s_pop_find_to (chord_node_t *node, const char *endpoint)
{
    return s_pop_type_to (node, CHORD_MSG_FIND_SUCC, endpoint);
}

/*  A dead successor: the key lies in (a, b], and a has failed. A
    FIND_SUCC that excludes a is answered "done, b" (not "ask b", which
    sent lookups on past the key and round the ring); our own client
    lookup asks a, times out, then asks b whether it is alive and names it.  */
static void s_test_dead_successor (void)
{
    chord_id_t key_id;
    chord_id_hash (&key_id, "apple", 5);
    chord_peer_t me = s_peer_after ("tcp://me", &key_id, 159, 140); /* half a ring before the key */
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 140); /* before the key */
    chord_peer_t b = s_peer_after ("tcp://b", &key_id, 150, 140);
    chord_peer_t c = s_peer_after ("tcp://c", &key_id, 152, 140);
    chord_peer_t pred = s_peer_after ("tcp://p", &key_id, 158, 140);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x5eed};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t now = 5000;
    chord_peer_t succs[] = {a, b, c};
    tap_ok (chord_node_start_member (node, &pred, succs, 3, NULL, NULL, now) == 0, "dead successor: member started");
    s_discard_outbox (node);

    chord_peer_t fake = s_peer_named ("tcp://fake:1");
    chord_origin_t fake_origin = s_origin ("conn-fake");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 41);
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->id = key_id;
    msg->excluded_count = 1;
    msg->excluded[0] = a.id;
    s_feed (node, msg, &fake, &fake_origin, now);
    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 41, &fake_origin) && sent->msg.done
                && chord_id_equal (&sent->msg.peer.id, &b.id),
            "find_succ past an excluded successor: done, the first live successor after the key");
    s_sent_free (&sent);

    chord_origin_t client = s_origin ("client-dead");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 42, "apple", NULL, &client, now);
    sent = s_pop_find_to (node, a.endpoint);
    tap_ok (sent != NULL, "client lookup: asks our successor, the closest peer before the key");
    s_sent_free (&sent);
    uint64_t t = now;
    while (t < now + 3 * S_RPC_TIMEOUT_MS && !sent) {
        t = chord_node_next_deadline_ms (node);
        chord_node_tick (node, t);
        sent = s_pop_find_to (node, b.endpoint);
    }
    tap_ok (sent != NULL && sent->msg.excluded_count >= 1 && chord_id_equal (&sent->msg.excluded[0], &a.id),
            "it timed out: the next successor is asked, the silent one excluded");
    uint64_t rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = b;
    s_feed (node, msg, &b, NULL, t);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 42, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &b.id) && sent->msg.hops == 0,
            "once it answers, the lookup names it (0 hops: asking an owner is no hop)");
    s_sent_free (&sent);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  A newcomer took the key's arc: the key lies in (me, b], b is our
    successor, and n joined between the key and b since we last
    stabilized. b, asked whether it owns the key, disclaims it and names
    its predecessor n; our client lookup asks n, which claims it. b names
    its predecessor only in a reply that is not final, and never one the
    asker avoids.  */
static void s_test_newcomer_owner (void)
{
    chord_id_t key_id;
    chord_id_hash (&key_id, "pear", 4);
    chord_peer_t me = s_peer_after ("tcp://me", &key_id, 159, 157); /* half a ring before the key */
    chord_peer_t b = s_peer_after ("tcp://b", &key_id, 150, 149);
    chord_peer_t c = s_peer_after ("tcp://c", &key_id, 152, 151);
    chord_peer_t n = s_peer_after ("tcp://n", &key_id, 148, 147);  /* between the key and b */
    chord_peer_t pred = s_peer_after ("tcp://p", &key_id, 157, 156);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x5eed};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t now = 5000;
    chord_peer_t succs[] = {b, c};
    tap_ok (chord_node_start_member (node, &pred, succs, 2, NULL, NULL, now) == 0, "newcomer: member started");
    s_discard_outbox (node);

    /* Asked about an id we neither own nor precede: not final, and our predecessor named. */
    chord_peer_t asker = s_peer_named ("tcp://asker:1");
    chord_origin_t asker_origin = s_origin ("conn-asker");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 51);
    msg->fields = CHORD_F_ID;
    msg->id = pred.id;   /* past our successors, before our arc */
    s_feed (node, msg, &asker, &asker_origin, now);
    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 51, &asker_origin) && !sent->msg.done
                && sent->msg.has_pred && chord_id_equal (&sent->msg.pred.id, &pred.id),
            "find_succ not answered here: the reply names our predecessor");
    s_sent_free (&sent);
    msg->request_id = 52;
    msg->fields = CHORD_F_ID | CHORD_F_EXCLUDED;
    msg->excluded_count = 1;
    msg->excluded[0] = pred.id;
    s_feed (node, msg, &asker, &asker_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 52, &asker_origin) && !sent->msg.done && !sent->msg.has_pred,
            "... but not one the asker avoids");
    s_sent_free (&sent);

    /* Our lookup: b named (our successor), b disclaims and names n. */
    chord_origin_t client = s_origin ("client-newcomer");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 53, "pear", NULL, &client, now);
    sent = s_pop_find_to (node, b.endpoint);
    tap_ok (sent != NULL, "client lookup: asks our successor whether it owns the key");
    uint64_t rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER | CHORD_F_PRED;
    msg->done = false;
    msg->peer = c;
    msg->has_pred = true;
    msg->pred = n;
    s_feed (node, msg, &b, NULL, now + 1);
    sent = s_pop_find_to (node, n.endpoint);
    tap_ok (sent != NULL, "it disclaims the key and names a predecessor past the key: that one is asked");
    rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = n;
    s_feed (node, msg, &n, NULL, now + 2);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 53, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &n.id),
            "the newcomer claims it: the lookup names the newcomer");
    s_sent_free (&sent);

    /* A predecessor before the key is no news of the key's owner: b stands. */
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 54, "pear", NULL, &client, now + 3);
    sent = s_pop_find_to (node, b.endpoint);
    rid = sent ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER | CHORD_F_PRED;
    msg->done = false;
    msg->peer = c;
    msg->has_pred = true;
    msg->pred = me;
    s_feed (node, msg, &b, NULL, now + 4);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 54, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &b.id),
            "a disclaiming owner with no newcomer before the key is named, as in plain Chord");
    s_sent_free (&sent);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  Asks node for the next hop towards target (from asker, excluding the
    ids given); returns the peer named, or a zeroed peer on no answer.  */
static chord_peer_t s_next_hop (chord_node_t *node, const chord_peer_t *asker, const chord_id_t *target,
                                const chord_id_t *excluded, size_t excluded_count, uint64_t request_id,
                                uint64_t now)
{
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, request_id);
    msg->fields = CHORD_F_ID | (excluded_count ? CHORD_F_EXCLUDED : 0);
    msg->id = *target;
    msg->excluded_count = excluded_count;
    if (excluded_count)
        memcpy (msg->excluded, excluded, excluded_count * sizeof *excluded);
    chord_origin_t origin = s_origin ("conn-hearsay");
    s_feed (node, msg, asker, &origin, now);
    free (msg);
    chord_peer_t named = {0};
    s_sent_t *sent = s_pop (node);
    if (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, request_id, &origin) && !sent->msg.done)
        named = sent->msg.peer;
    s_sent_free (&sent);
    return named;
}

/*  Hearsay: an asker that excludes one of our fingers found it silent.
    For a while we route other lookups round it too, by the next finger,
    until the finger itself is heard from; news of a peer that is not our
    finger changes nothing.  */
static void s_test_hearsay (void)
{
    chord_peer_t me = s_peer_named ("tcp://me:1");
    chord_peer_t succ = s_peer_after ("tcp://s", &me.id, 148, 147);
    chord_peer_t near = s_peer_after ("tcp://near", &me.id, 150, 149);
    chord_peer_t far = s_peer_after ("tcp://far", &me.id, 158, 157);
    chord_peer_t pred = s_peer_after ("tcp://p", &me.id, 159, 158);
    chord_peer_t asker = s_peer_after ("tcp://asker", &me.id, 159, 158);
    chord_peer_t stranger = s_peer_after ("tcp://x", &me.id, 155, 154);
    chord_peer_t fingers[CHORD_ID_BITS];
    bool valid[CHORD_ID_BITS] = {false};
    fingers[150] = near, valid[150] = true;
    fingers[158] = far, valid[158] = true;
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x5eed};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t now = 5000;
    chord_peer_t succs[] = {succ};
    tap_ok (chord_node_start_member (node, &pred, succs, 1, fingers, valid, now) == 0, "hearsay: member started");
    s_discard_outbox (node);
    chord_id_t target;   /* past both fingers: far is the closest before it */
    chord_id_add_pow2 (&target, &me.id, CHORD_ID_BITS - 1);

    chord_peer_t named = s_next_hop (node, &asker, &target, NULL, 0, 61, now);
    tap_ok (chord_id_equal (&named.id, &far.id), "the next hop to a target past both fingers is the farther one");
    named = s_next_hop (node, &asker, &target, &stranger.id, 1, 62, now + 1);
    named = s_next_hop (node, &asker, &target, NULL, 0, 63, now + 2);
    tap_ok (chord_id_equal (&named.id, &far.id), "news of a peer that is not our finger changes nothing");
    named = s_next_hop (node, &asker, &target, &far.id, 1, 64, now + 3);
    tap_ok (chord_id_equal (&named.id, &near.id), "an asker that excludes it is sent by the nearer finger");
    named = s_next_hop (node, &asker, &target, NULL, 0, 65, now + 4);
    tap_ok (chord_id_equal (&named.id, &near.id), "so is the next asker, who said nothing of it: the news is kept");
    named = s_next_hop (node, &far, &target, NULL, 0, 66, now + 5);
    named = s_next_hop (node, &asker, &target, NULL, 0, 67, now + 6);
    tap_ok (chord_id_equal (&named.id, &far.id), "once the finger is heard from, it is the next hop again");
    s_next_hop (node, &asker, &target, &far.id, 1, 68, now + 7);
    named = s_next_hop (node, &asker, &target, NULL, 0, 69, now + 8 + 60000);
    tap_ok (chord_id_equal (&named.id, &far.id), "news lapses: a minute later the finger is the next hop again");
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_dead_successor ();
    s_test_newcomer_owner ();
    s_test_hearsay ();
    return tap_done ();
}
