/*  Tests for a chord node on its own (protocol/node.c, node_client.c,
    node_requests.c, node_wire.c): the configuration chord_node_new accepts,
    and a lone node answering every kind of client and peer request from
    its own store, dropping garbage and leaving.

    Drives one node by hand through tests/node_fixture.h: each request is
    encoded here and fed to chord_node_receive with a made-up origin, and
    what the node queued is popped and decoded.

    Run alone: make build/t/test_node_client.t && build/t/test_node_client.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_node_client.t  */

#include "node_fixture.h"

static void s_test_config (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {1};
    chord_node_config_t config = {
        .endpoint = "tcp://a:1", .successors = 3, .stabilize_interval_ms = 100, .rpc_timeout_ms = 300,
    };
    chord_env_t env = {.store = store, .random_bytes = s_random_bytes, .random_arg = &rng};
    chord_node_config_t bad = config;
    bad.successors = 0;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses successors 0");
    bad.successors = CHORD_SUCCESSORS_MAX + 1;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses successors over the cap");
    bad = config;
    bad.stabilize_interval_ms = 0;
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses a zero stabilize interval");
    bad = config;
    bad.endpoint = "";
    tap_ok (chord_node_new (&bad, &env) == NULL, "new refuses an empty endpoint");
    chord_env_t bad_env = env;
    bad_env.random_bytes = NULL;
    tap_ok (chord_node_new (&config, &bad_env) == NULL, "new refuses a missing random source");

    chord_node_t *node = chord_node_new (&config, &env);
    tap_ok (node && chord_node_state (node) == CHORD_NODE_IDLE, "new node is idle");
    tap_ok (chord_node_next_deadline_ms (node) == UINT64_MAX, "an idle node has no deadline");
    chord_id_t key_id;
    chord_id_hash (&key_id, "k", 1);
    tap_ok (!chord_node_owns_key (node, &key_id), "an idle node owns no key");
    tap_ok (chord_node_start (node, NULL, 0, 0) == 0 && chord_node_start (node, NULL, 0, 0) == -1,
            "start once, not twice");
    tap_ok (chord_node_owns_key (node, &key_id), "a node alone owns every key");
    chord_node_destroy (&node);
    chord_node_destroy (&node);
    tap_ok (node == NULL, "destroy sets NULL and is idempotent");
    chord_store_destroy (&store);
}

/* A lone node answers every kind of request from its own store. */
static void s_test_alone (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {0x1234};
    s_log_t log = {0};
    chord_node_t *node = s_unit_node ("tcp://alone:1", store, &rng, &log);
    chord_peer_t me = s_peer_named ("tcp://alone:1");
    chord_origin_t client = s_origin ("client-1");
    uint64_t now = 1000;
    s_sent_t *sent;

    tap_ok (chord_node_start (node, NULL, 0, now) == 0, "start with no seeds");
    tap_ok (chord_node_state (node) == CHORD_NODE_ACTIVE, "alone: state active (%s)",
            chord_node_state_name (chord_node_state (node)));
    tap_ok (chord_id_equal (&chord_node_successor (node)->id, &me.id), "alone: successor is self");
    tap_ok (chord_node_predecessor (node) == NULL, "alone: no predecessor");
    tap_ok (chord_id_equal (&chord_node_self (node)->id, &me.id)
            && strcmp (chord_node_self (node)->endpoint, me.endpoint) == 0, "self is id and endpoint");
    tap_ok (log.by_level[CHORD_LOG_INFO] >= 1, "start logged a line (\"%s\")", log.last);
    uint64_t deadline = chord_node_next_deadline_ms (node);
    tap_ok (deadline >= now && deadline <= now + S_STABILIZE_MS + S_STABILIZE_MS / 10,
            "started node has a deadline within a stabilize interval (%llu)", (unsigned long long) (deadline - now));

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 11, "apple", "red", &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 11, &client) && sent->msg.status == CHORD_STATUS_OK,
            "put: CLIENT_REPLY OK to the origin, request id echoed");
    s_sent_free (&sent);
    tap_ok (s_pop (node) == NULL, "put: exactly one message queued");
    tap_ok (s_store_has (store, "apple", 5), "put: key is in the store");

    s_feed_client (node, CHORD_MSG_CLIENT_GET, 12, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 12, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, "red"), "get: OK with the value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 13, "apple", "green", &client, now);
    s_discard_outbox (node);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 14, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 14, &client) && s_value_is (&sent->msg, "green"),
            "get after overwrite: the new value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_GET, 15, "pear", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 15, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND
                && !(sent->msg.fields & CHORD_F_VALUE), "get of a missing key: NOT_FOUND, no value");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 16, "empty", "", &client, now);
    s_discard_outbox (node);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 17, "empty", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 17, &client) && sent->msg.status == CHORD_STATUS_OK
                && s_value_is (&sent->msg, ""), "an empty value reads back as present and empty");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_DEL, 18, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 18, &client) && sent->msg.status == CHORD_STATUS_OK,
            "del: OK");
    s_sent_free (&sent);
    s_feed_client (node, CHORD_MSG_CLIENT_DEL, 19, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 19, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND,
            "del again: NOT_FOUND");
    s_sent_free (&sent);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 20, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 20, &client) && sent->msg.status == CHORD_STATUS_NOT_FOUND,
            "get after del: NOT_FOUND");
    s_sent_free (&sent);

    chord_id_t key_id;
    chord_id_hash (&key_id, "apple", 5);
    s_feed_client (node, CHORD_MSG_CLIENT_LOOKUP, 21, "apple", NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_LOOKUP_REPLY, 21, &client) && sent->msg.status == CHORD_STATUS_OK
                && (sent->msg.fields & CHORD_F_PEER) && chord_id_equal (&sent->msg.peer.id, &me.id)
                && strcmp (sent->msg.peer.endpoint, me.endpoint) == 0 && sent->msg.hops == 0
                && chord_id_equal (&sent->msg.id, &key_id), "lookup: owner self, hops 0, the key's id");
    s_sent_free (&sent);

    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 22, NULL, NULL, &client, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_INFO_REPLY, 22, &client) && chord_id_equal (&sent->msg.peer.id, &me.id)
                && sent->msg.state == CHORD_NODE_ACTIVE && !sent->msg.has_pred && sent->msg.peer_count == 1
                && chord_id_equal (&sent->msg.peers[0].id, &me.id) && sent->msg.finger_count == 0
                && sent->msg.count == chord_store_count (store) && sent->msg.count == 2,
            "info: self, active, no pred, succ [self], no fingers, 2 records (a key and a tombstone)");
    s_sent_free (&sent);

    /* Peer requests, from a fake peer. */
    chord_peer_t fake = s_peer_named ("tcp://fake:1");
    chord_origin_t fake_origin = s_origin ("conn-fake");
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_FIND_SUCC, 31);
    msg->fields = CHORD_F_ID;
    msg->id = key_id;
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_FIND_SUCC_REPLY, 31, &fake_origin) && sent->msg.done
                && chord_id_equal (&sent->msg.peer.id, &me.id) && sent->msg.has_sender
                && chord_id_equal (&sent->msg.sender.id, &me.id), "find_succ: done, self, sender stamped");
    s_sent_free (&sent);

    chord_msg_init (msg, CHORD_MSG_GET_STATE, 32);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_STATE, 32, &fake_origin) && !sent->msg.has_pred
                && sent->msg.peer_count == 1 && chord_id_equal (&sent->msg.peers[0].id, &me.id),
            "get_state: no pred, succ [self]");
    s_sent_free (&sent);

    chord_msg_init (msg, CHORD_MSG_PING, 33);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_PONG, 33, &fake_origin), "ping: pong");
    s_sent_free (&sent);

    /* Requests that need an origin are dropped without one. */
    uint64_t dropped = chord_node_stats (node)->messages_dropped;
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 34, "apple", NULL, NULL, now);
    chord_msg_init (msg, CHORD_MSG_PING, 35);
    s_feed (node, msg, &fake, NULL, now);
    tap_ok (s_pop (node) == NULL && chord_node_stats (node)->messages_dropped == dropped + 2,
            "client op and ping without an origin are dropped");
    /* A reply nobody asked for is dropped. */
    chord_msg_init (msg, CHORD_MSG_STATE, 999);
    msg->fields = CHORD_F_PRED | CHORD_F_SUCC;
    msg->has_pred = false;
    msg->peer_count = 1;
    msg->peers[0] = fake;
    s_feed (node, msg, &fake, NULL, now);
    chord_msg_init (msg, CHORD_MSG_CLIENT_REPLY, 998);
    msg->fields = CHORD_F_STATUS;
    s_feed (node, msg, &fake, &fake_origin, now);
    tap_ok (s_pop (node) == NULL && chord_node_stats (node)->messages_dropped == dropped + 4
                && chord_id_equal (&chord_node_successor (node)->id, &me.id),
            "an unsolicited STATE and a CLIENT_REPLY are dropped and change nothing");

    /* Garbage and truncations. */
    dropped = chord_node_stats (node)->messages_dropped;
    uint64_t received = chord_node_stats (node)->messages_received;
    uint8_t junk[64];
    s_rng_t junk_rng = {77};
    size_t garbage_fed = 0;
    for (int round = 0; round < 50; round++) {
        s_random_bytes (&junk_rng, junk, sizeof junk);
        chord_node_receive (node, junk, 1 + (size_t) round % sizeof junk, &fake_origin, CHORD_ROLE_PEER, now);
        garbage_fed++;
    }
    chord_node_receive (node, junk, 0, &fake_origin, CHORD_ROLE_PEER, now);
    garbage_fed++;
    chord_msg_init (msg, CHORD_MSG_CLIENT_PUT, 36);
    msg->fields = CHORD_F_KEY | CHORD_F_VALUE;
    msg->key = (const uint8_t *) "banana";
    msg->key_len = 6;
    msg->value = (const uint8_t *) "yellow";
    msg->value_len = 6;
    uint8_t *data = NULL;
    size_t size = 0;
    chord_msg_encode (msg, &data, &size);
    for (size_t cut = 0; cut < size; cut++) {
        chord_node_receive (node, data, cut, &client, CHORD_ROLE_PEER, now);
        garbage_fed++;
    }
    uint8_t *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer[size] = 0xc0;
    chord_node_receive (node, longer, size + 1, &client, CHORD_ROLE_PEER, now);
    garbage_fed++;
    free (longer);
    free (data);
    uint64_t junk_decoded = chord_node_stats (node)->messages_received - received;
    size_t queued = s_discard_outbox (node);
    tap_ok (chord_node_stats (node)->messages_dropped >= dropped + garbage_fed - junk_decoded,
            "garbage, truncated and over-long messages are dropped (%llu of %zu, %llu decoded as something)",
            (unsigned long long) (chord_node_stats (node)->messages_dropped - dropped), garbage_fed,
            (unsigned long long) junk_decoded);
    tap_ok (junk_decoded == 0 && queued == 0, "none of it decoded or drew an answer");
    tap_ok (!s_store_has (store, "banana", 6), "no truncated put reached the store");
    chord_msg_init (msg, CHORD_MSG_PING, 37);
    s_feed (node, msg, &fake, &fake_origin, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_PONG, 37, &fake_origin), "still answers after the garbage");
    s_sent_free (&sent);

    /* A lone node with no seeds leaves at once. */
    chord_origin_t leaver = s_origin ("client-leave");
    chord_msg_init (msg, CHORD_MSG_CLIENT_LEAVE, 38);
    s_feed (node, msg, NULL, &leaver, now);
    sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_CLIENT_REPLY, 38, &leaver) && sent->msg.status == CHORD_STATUS_OK
                && chord_node_state (node) == CHORD_NODE_LEFT, "client leave of a lone node: OK and LEFT");
    s_sent_free (&sent);
    tap_ok (chord_node_next_deadline_ms (node) == UINT64_MAX, "a node that left has no deadline");

    free (msg);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_config ();
    s_test_alone ();
    return tap_done ();
}
