/*  Tests for moving keys between nodes (protocol/node_transfer.c): a node
    that takes a joiner in hands its arc off in HANDOFF batches and deletes
    it on the ack; two joiners at once each get only their own arc; and the
    joiner's side: FIND_SUCC, JOIN, HANDOFF, HANDOFF_ACK, active.

    Drives one node by hand through tests/node_fixture.h, playing the other
    peers' part with encoded messages.

    Run alone: make build/t/test_node_transfer.t && build/t/test_node_transfer.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node_transfer.t  */

#include "node_fixture.h"

/*  A node joins through a lone node: the lone node answers JOIN_REPLY OK
    with itself as the joiner's predecessor, sends the joiner's arc in
    HANDOFF batches back on the request's connection, deletes the arc when
    the joiner acknowledges, then refuses stores for the arc. Afterwards an
    unanswered GET_STATE to the joiner drops it as successor.  */
static void s_test_join (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0xabcdef};
    chord_node_t *node = s_unit_node ("tcp://host:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://host:1");
    uint64_t now = 5000;
    chord_node_start (node, NULL, 0, now);

    /* Enough keys that the arc needs more than one batch. */
    const size_t key_count = 2 * CHORD_ITEMS_MAX + 500;
    char key[S_TEXT_MAX], value[S_TEXT_MAX];
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        snprintf (value, sizeof value, "v%zu", i);
        s_store_record (store, key, value);
    }
    /* The joiner sits half a ring or more after us, so more than half the keys are its. */
    chord_peer_t joiner = s_peer_after ("tcp://joiner", &me.id, CHORD_ID_BITS - 1, CHORD_ID_BITS - 2);
    size_t arc_count = 0;
    uint8_t *in_arc = calloc (key_count, 1);
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        if (chord_id_in_half_open (&id, &me.id, &joiner.id)) {
            in_arc[i] = 1;
            arc_count++;
        }
    }
    tap_diag ("%zu keys, %zu in the joiner's arc", key_count, arc_count);

    chord_origin_t conn = s_origin ("conn-joiner");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_JOIN, 77);
    s_feed (node, msg, &joiner, &conn, now);

    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_JOIN_REPLY, 77, &conn) && sent->msg.status == CHORD_STATUS_OK,
            "join: JOIN_REPLY OK to the joiner's connection");
    tap_ok (sent && sent->decoded && (sent->msg.fields & CHORD_F_PRED) && sent->msg.has_pred
                && chord_id_equal (&sent->msg.pred.id, &me.id) && (sent->msg.fields & CHORD_F_SUCC)
                && sent->msg.peer_count >= 1 && chord_id_equal (&sent->msg.peers[0].id, &me.id),
            "join reply: pred is us, succ list starts with us");
    s_sent_free (&sent);

    /* The HANDOFF batches. */
    size_t batches = 0, finals = 0, items = 0, wrong = 0, dup = 0, misaddressed = 0;
    uint64_t final_count = 0;
    bool final_last = true;
    uint8_t *seen = calloc (key_count, 1);
    while ((sent = s_pop (node))) {
        if (!sent->decoded || sent->msg.type != CHORD_MSG_HANDOFF) {
            tap_diag ("unexpected %s after the join reply",
                      sent->decoded ? chord_msg_type_name (sent->msg.type) : "undecodable message");
            s_sent_free (&sent);
            continue;
        }
        batches++;
        if (finals)
            final_last = false;
        if (sent->out.kind != CHORD_DEST_ORIGIN || !s_origin_equal (&sent->out.origin, &conn)
            || sent->msg.transfer_id != 77)
            misaddressed++;
        if (sent->msg.final) {
            finals++;
            final_count = (sent->msg.fields & CHORD_F_COUNT) ? sent->msg.count : UINT64_MAX;
        }
        for (size_t i = 0; i < sent->msg.item_count; i++) {
            items++;
            const chord_item_t *item = &sent->msg.items[i];
            size_t index;
            char text[S_TEXT_MAX] = "";
            if (item->key_len < sizeof text)
                memcpy (text, item->key, item->key_len);
            if (sscanf (text, "k%zu", &index) != 1 || index >= key_count || !in_arc[index]) {
                wrong++;
                continue;
            }
            snprintf (value, sizeof value, "v%zu", index);
            chord_record_t rec;
            if (chord_record_decode (&rec, item->value, item->value_len) != 0 || rec.tombstone ||
                rec.value_len != strlen (value) || memcmp (rec.value, value, rec.value_len) != 0)
                wrong++;
            if (seen[index]++)
                dup++;
        }
        s_sent_free (&sent);
    }
    tap_ok (batches >= 2 && finals == 1 && final_last, "handoff: %zu batches, exactly one final, last", batches);
    tap_ok (misaddressed == 0, "handoff: every batch goes back on the joiner's connection with xfer = join id");
    tap_ok (items == arc_count && wrong == 0 && dup == 0,
            "handoff carries exactly the keys in (self, joiner] with their values (%zu items, %zu wrong, %zu dup)",
            items, wrong, dup);
    tap_ok (final_count == arc_count, "final batch count is the total (%llu)", (unsigned long long) final_count);
    tap_ok (chord_store_count (store) == key_count, "keys stay until the ack");
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &joiner.id), "the joiner is now our successor");
    const chord_peer_t *pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &joiner.id), "and our predecessor");

    /* A wrong ack is dropped; the right one completes the transfer. */
    chord_peer_t stranger = s_peer_named ("tcp://stranger:1");
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    chord_msg_init (msg, CHORD_MSG_HANDOFF_ACK, 77);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    msg->transfer_id = 77;
    msg->count = arc_count;
    msg->status = CHORD_STATUS_OK;
    s_feed (node, msg, &stranger, &conn, now + 5);
    tap_ok (chord_node_stats (node)->messages_dropped == dropped + 1 && chord_store_count (store) == key_count,
            "an ack from another peer is dropped");
    /* The joiner sends its ack from its own connection to us. */
    chord_origin_t joiner_conn = s_origin ("conn-joiner-out");
    s_feed (node, msg, &joiner, &joiner_conn, now + 5);
    tap_ok (chord_store_count (store) == key_count - arc_count, "after the ack the arc is deleted (%zu left)",
            chord_store_count (store));
    size_t misplaced = 0;
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "k%zu", i);
        if (s_store_has (store, key, strlen (key)) == (bool) in_arc[i])
            misplaced++;
    }
    tap_ok (misplaced == 0, "exactly the keys outside the arc remain");
    tap_ok (chord_node_stats (node)->keys_handed_off == arc_count, "stats: keys_handed_off %llu",
            (unsigned long long) chord_node_stats (node)->keys_handed_off);
    s_discard_outbox (node);

    /* STORE for the joiner's key: wrong owner; for ours: served. */
    size_t theirs = 0, ours = 0;
    while (!in_arc[theirs])
        theirs++;
    while (in_arc[ours])
        ours++;
    char their_key[S_TEXT_MAX], our_key[S_TEXT_MAX];
    snprintf (their_key, sizeof their_key, "k%zu", theirs);
    snprintf (our_key, sizeof our_key, "k%zu", ours);
    chord_msg_init (msg, CHORD_MSG_STORE, 80);
    msg->fields = CHORD_F_OP | CHORD_F_KEY;
    msg->op = CHORD_STORE_OP_GET;
    msg->key = (const uint8_t *) their_key;
    msg->key_len = strlen (their_key);
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 80, &conn) && sent->msg.status == CHORD_STATUS_WRONG_OWNER,
            "store get of a key in the joiner's arc: WRONG_OWNER");
    s_sent_free (&sent);
    msg->request_id = 81;
    msg->op = CHORD_STORE_OP_PUT;
    msg->fields |= CHORD_F_VALUE;
    msg->value = (const uint8_t *) "x";
    msg->value_len = 1;
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 81, &conn) && sent->msg.status == CHORD_STATUS_WRONG_OWNER
                && !s_store_has (store, their_key, strlen (their_key)),
            "store put of a key in the joiner's arc: WRONG_OWNER, not stored");
    s_sent_free (&sent);
    msg->request_id = 82;
    msg->op = CHORD_STORE_OP_GET;
    msg->fields &= ~(uint32_t) CHORD_F_VALUE;
    msg->key = (const uint8_t *) our_key;
    msg->key_len = strlen (our_key);
    s_feed (node, msg, &joiner, &conn, now + 6);
    sent = s_pop (node);
    snprintf (value, sizeof value, "v%zu", ours);
    tap_ok (s_is_reply (sent, CHORD_MSG_STORE_REPLY, 82, &conn) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, value), "store get of one of our keys: OK with its value");
    s_sent_free (&sent);
    chord_origin_t own_client = s_origin ("client-own");
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 86, our_key, NULL, &own_client, now + 6);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 86, &own_client) && sent->msg.status == CHORD_STATUS_OK
                && !(sent->msg.fields & CHORD_F_PEER),
            "a client get of one of our keys is answered here, naming no other position");
    s_sent_free (&sent);

    /* A client lookup for the joiner's key is answered from our tables:
       the joiner is our successor and owns (us, joiner]. It is named once
       it has answered. */
    chord_origin_t client = s_origin ("client-2");
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 83, their_key, NULL, &client, now + 7);
    sent = s_pop (node);
    s_sent_t *extra = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_FIND_SUCC && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, joiner.endpoint) == 0 && !extra,
            "lookup of a key in the joiner's arc asks the joiner, and nothing else");
    uint64_t confirm_rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    s_sent_free (&extra);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, confirm_rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = joiner;
    s_feed (node, msg, &joiner, NULL, now + 7);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 83, &client) && sent->msg.status == CHORD_STATUS_OK
                && chord_id_equal (&sent->msg.peer.id, &joiner.id),
            "once it answers, the lookup names the joiner");
    s_sent_free (&sent);
    /* A client get for it goes to the joiner as a STORE. */
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 84, their_key, NULL, &client, now + 7);
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_STORE && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, joiner.endpoint) == 0 && sent->msg.op == CHORD_STORE_OP_GET
                && sent->msg.has_target && chord_id_equal (&sent->msg.target, &joiner.id),
            "client get of the joiner's key: STORE get sent to the joiner");
    uint64_t store_rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);
    chord_msg_init (msg, CHORD_MSG_STORE_REPLY, store_rid);
    msg->fields = CHORD_F_STATUS | CHORD_F_VALUE;
    msg->status = CHORD_STATUS_OK;
    msg->value = (const uint8_t *) "from-joiner";
    msg->value_len = 11;
    s_feed (node, msg, &joiner, NULL, now + 8);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 84, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, "from-joiner"), "the joiner's answer is relayed to the client");
    tap_ok (sent && sent->decoded && (sent->msg.fields & CHORD_F_PEER) && chord_id_equal (&sent->msg.peer.id, &joiner.id)
                && strcmp (sent->msg.peer.endpoint, joiner.endpoint) == 0,
            "the relayed answer names the joiner as the position that served the key (peer)");
    s_sent_free (&sent);

    /* NOTIFY from the joiner keeps it as predecessor. */
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 85);
    s_feed (node, msg, &joiner, &conn, now + 9);
    pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &joiner.id) && s_pop (node) == NULL,
            "notify from the predecessor: no change, no answer");

    /* Time: the joiner never answers. Stabilize sends GET_STATE to it; once
       that is rpc_timeout old, the successor is dropped. */
    uint64_t t = now + 9;
    uint64_t get_state_at = 0;
    uint64_t dropped_at = 0;
    bool deadline_ok = true;
    for (int step = 0; step < 200 && !dropped_at; step++) {
        uint64_t next = chord_node_next_deadline_ms (node);
        if (next == UINT64_MAX || next > t + 10 * S_STABILIZE_MS) {
            deadline_ok = false;
            break;
        }
        if (next > t)
            t = next;
        chord_node_tick (node, t);
        while ((sent = s_pop (node))) {
            if (sent->decoded && sent->msg.type == CHORD_MSG_GET_STATE && !get_state_at) {
                get_state_at = t;
                if (strcmp (sent->out.endpoint, joiner.endpoint) != 0 || sent->out.kind != CHORD_DEST_PEER)
                    deadline_ok = false;
                if (chord_node_next_deadline_ms (node) > t + S_RPC_TIMEOUT_MS)
                    deadline_ok = false;
            }
            s_sent_free (&sent);
        }
        if (!chord_id_equal (&chord_node_successor (node)->id, &joiner.id))
            dropped_at = t;
    }
    tap_ok (get_state_at > 0 && get_state_at <= now + 9 + S_STABILIZE_MS + S_STABILIZE_MS / 10,
            "stabilize sent GET_STATE to the successor within an interval (+%llu ms)",
            (unsigned long long) (get_state_at - now - 9));
    tap_ok (deadline_ok, "next_deadline never lets the rpc timeout pass unnoticed");
    tap_ok (dropped_at >= get_state_at + S_RPC_TIMEOUT_MS && dropped_at <= get_state_at + S_RPC_TIMEOUT_MS + 1,
            "the silent successor is dropped at rpc_timeout (%llu ms after the GET_STATE)",
            (unsigned long long) (dropped_at - get_state_at));
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &me.id), "alone again: successor is self");
    tap_ok (chord_node_stats (node)->rpc_timeouts >= 1, "stats: rpc_timeouts %llu",
            (unsigned long long) chord_node_stats (node)->rpc_timeouts);

    free (seen);
    free (in_arc);
    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  Two peers JOIN the same node at once, and (as happens: every joiner
    numbers its requests from 1) their JOINs carry the same request id.
    Each must get only its own arc, and each ack must be matched to its
    own transfer, so that the node ends holding only what it keeps.  */
static void s_test_join_twice (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x77};
    chord_node_t *node = s_unit_node ("tcp://host2:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://host2:1");
    uint64_t now = 100;
    chord_node_start (node, NULL, 0, now);
    const size_t key_count = 400;
    char key[S_TEXT_MAX];
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "j%zu", i);
        s_store_record (store, key, "v");
    }
    /* first a half to three quarters of a ring after us, second an eighth
       to three sixteenths after first (so before us again) */
    chord_peer_t first = s_peer_after ("tcp://first", &me.id, CHORD_ID_BITS - 1, CHORD_ID_BITS - 2);
    chord_peer_t second = s_peer_after ("tcp://second", &first.id, CHORD_ID_BITS - 3, CHORD_ID_BITS - 4);
    size_t arc_first = 0, arc_second = 0, kept = 0;
    for (size_t i = 0; i < key_count; i++) {
        snprintf (key, sizeof key, "j%zu", i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        if (chord_id_in_half_open (&id, &me.id, &first.id))
            arc_first++;
        else if (chord_id_in_half_open (&id, &first.id, &second.id))
            arc_second++;
        else
            kept++;
    }
    tap_diag ("arcs: first %zu, second %zu, kept %zu", arc_first, arc_second, kept);

    chord_origin_t conn_first = s_origin ("conn-first");
    chord_origin_t conn_second = s_origin ("conn-second");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_JOIN, 2);
    s_feed (node, msg, &first, &conn_first, now);
    chord_msg_init (msg, CHORD_MSG_JOIN, 2);
    s_feed (node, msg, &second, &conn_second, now);

    uint64_t got_first = 0, got_second = 0, final_first = 0, final_second = 0;
    size_t foreign_to_second = 0;
    bool second_ok = false;
    s_sent_t *sent;
    while ((sent = s_pop (node))) {
        bool to_second = sent->out.kind == CHORD_DEST_ORIGIN && s_origin_equal (&sent->out.origin, &conn_second);
        if (sent->decoded && sent->msg.type == CHORD_MSG_JOIN_REPLY && to_second)
            second_ok = sent->msg.status == CHORD_STATUS_OK && sent->msg.has_pred
                        && chord_id_equal (&sent->msg.pred.id, &first.id);
        if (sent->decoded && sent->msg.type == CHORD_MSG_HANDOFF) {
            for (size_t i = 0; i < sent->msg.item_count; i++) {
                chord_id_t id;
                chord_id_hash (&id, sent->msg.items[i].key, sent->msg.items[i].key_len);
                if (to_second && !chord_id_in_half_open (&id, &first.id, &second.id))
                    foreign_to_second++;
            }
            *(to_second ? &got_second : &got_first) += sent->msg.item_count;
            if (sent->msg.final)
                *(to_second ? &final_second : &final_first) = sent->msg.count;
        }
        s_sent_free (&sent);
    }
    tap_ok (second_ok, "second JOIN: OK, with the first joiner as its predecessor");
    tap_ok (got_first == arc_first, "the first joiner gets its arc (%llu of %zu)", (unsigned long long) got_first,
            arc_first);
    /* The second joiner sits inside the first one's arc: it must get only
       (first, second], not the first joiner's keys still awaiting their ack. */
    tap_ok (got_second == arc_second && foreign_to_second == 0,
            "the second joiner gets only its own arc (%llu sent, %zu of them the first joiner's, arc %zu)",
            (unsigned long long) got_second, foreign_to_second, arc_second);

    /* The acks, second first. Each comes from its joiner's own connection. */
    chord_origin_t from_first = s_origin ("conn-first-out");
    chord_origin_t from_second = s_origin ("conn-second-out");
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    chord_msg_init (msg, CHORD_MSG_HANDOFF_ACK, 2);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_COUNT | CHORD_F_STATUS;
    msg->transfer_id = 2;
    msg->status = CHORD_STATUS_OK;
    msg->count = final_second;
    s_feed (node, msg, &second, &from_second, now + 2);
    /* Both transfers carry id 2: only the pair (id, receiver) tells them apart. */
    tap_ok (chord_node_stats (node)->messages_dropped == dropped,
            "the second joiner's ack is accepted, though both transfers carry id 2");
    msg->count = final_first;
    dropped = chord_node_stats (node)->messages_dropped;
    s_feed (node, msg, &first, &from_first, now + 2);
    tap_ok (chord_node_stats (node)->messages_dropped == dropped, "the first joiner's ack is accepted");
    tap_ok (chord_store_count (store) == kept,
            "after both acks the node holds only the keys it kept (%zu, expected %zu)",
            chord_store_count (store), kept);
    s_discard_outbox (node);

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  A joining node: sends FIND_SUCC to its seed, then JOIN to the owner
    named, takes the HANDOFF, acks it by PEER, and becomes active.  */
static void s_test_joiner_side (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {99};
    chord_node_t *node = s_unit_node ("tcp://new:1", store, &rng, NULL);
    chord_peer_t me = s_peer_named ("tcp://new:1");
    chord_peer_t seed = s_peer_named ("tcp://seed:1");
    uint64_t now = 100;
    const char *seeds[] = {"tcp://new:1", "tcp://seed:1"};
    chord_node_start (node, seeds, 2, now);
    tap_ok (chord_node_state (node) == CHORD_NODE_JOINING, "started with seeds: joining");

    s_sent_t *sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_FIND_SUCC && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, seed.endpoint) == 0 && chord_id_equal (&sent->msg.id, &me.id),
            "asks the seed (not itself) for the successor of its own id");
    uint64_t rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);

    chord_origin_t client = s_origin ("client-3");
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 5, "x", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 5, &client) && sent->msg.status == CHORD_STATUS_NOT_READY,
            "a joining node answers clients NOT_READY");
    s_sent_free (&sent);

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC_REPLY, rid);
    msg->fields = CHORD_F_DONE | CHORD_F_PEER;
    msg->done = true;
    msg->peer = seed;
    s_feed (node, msg, &seed, NULL, now + 1);
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_JOIN && strcmp (sent->out.endpoint, seed.endpoint) == 0,
            "then JOINs the owner");
    rid = sent && sent->decoded ? sent->msg.request_id : 0;
    s_sent_free (&sent);

    chord_peer_t other = s_peer_named ("tcp://other:1");
    chord_msg_init (msg, CHORD_MSG_JOIN_REPLY, rid);
    msg->fields = CHORD_F_STATUS | CHORD_F_PRED | CHORD_F_SUCC;
    msg->status = CHORD_STATUS_OK;
    msg->has_pred = true;
    msg->pred = other;
    msg->peer_count = 2;
    msg->peers[0] = other;
    msg->peers[1] = seed;
    s_feed (node, msg, &seed, NULL, now + 2);
    tap_ok (chord_node_state (node) == CHORD_NODE_JOINING, "accepted but still joining until the arc arrives");

    uint8_t record_1[CHORD_RECORD_HEADER + 1], record_2[CHORD_RECORD_HEADER + 1];
    chord_record_t rec = {.version = {.hlc = 7, .writer = 3}, .value = (const uint8_t *) "1", .value_len = 1};
    chord_record_encode (&rec, record_1);
    rec.value = (const uint8_t *) "2";
    chord_record_encode (&rec, record_2);
    chord_item_t items[2] = {
        {(const uint8_t *) "a", 1, record_1, sizeof record_1},
        {(const uint8_t *) "b", 1, record_2, sizeof record_2},
    };
    chord_msg_init (msg, CHORD_MSG_HANDOFF, rid);
    msg->fields = CHORD_F_TRANSFER | CHORD_F_ITEMS | CHORD_F_FINAL | CHORD_F_COUNT;
    msg->transfer_id = rid;
    msg->items = items;
    msg->item_count = 2;
    msg->final = true;
    msg->count = 2;
    s_feed (node, msg, &seed, NULL, now + 3);
    msg->items = NULL;
    tap_ok (chord_node_state (node) == CHORD_NODE_ACTIVE, "active once the arc arrived");
    tap_ok (chord_store_count (store) == 2 && s_store_has (store, "a", 1) && s_store_has (store, "b", 1),
            "the arc is in our store");
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &seed.id), "successor: the peer that took us in");
    const chord_peer_t *pred = chord_node_predecessor (node);
    tap_ok (pred && chord_id_equal (&pred->id, &other.id), "predecessor: the one it named");
    sent = s_pop (node);
    tap_ok (sent && sent->decoded && sent->msg.type == CHORD_MSG_HANDOFF_ACK && sent->out.kind == CHORD_DEST_PEER
                && strcmp (sent->out.endpoint, seed.endpoint) == 0 && sent->msg.transfer_id == rid
                && sent->msg.count == 2 && sent->msg.status == CHORD_STATUS_OK,
            "HANDOFF_ACK (xfer, cnt 2, OK) goes to the sender's endpoint");
    s_sent_free (&sent);
    tap_ok (chord_node_stats (node)->keys_taken_over == 2, "stats: keys_taken_over 2");
    s_discard_outbox (node);

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_join ();
    s_test_join_twice ();
    s_test_joiner_side ();
    return tap_done ();
}
