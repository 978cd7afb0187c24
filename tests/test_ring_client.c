/*  Tests of tools/ring_client against a fake peer: a ZeroMQ ROUTER in a
    thread, one position alone on its ring (rf 1), answering CLIENT_INFO
    with itself, and put, get and del from a small table; on command it
    names another position in its replies (as an entry that forwarded),
    answers with the wrong type, or stays silent. The client must learn the
    ring, keep many requests in flight, follow the forwarded answer by
    learning the ring again (rate-limited), survive the wrong type, send a
    silent write again and end it by its deadline, and refuse what it
    cannot take (EINVAL, EBUSY).

    Run alone: make build/t/test_ring_client.t && build/t/test_ring_client.t  */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fake_peer.h"
#include "message.h"
#include "node.h"
#include "ring_client.h"
#include "tap.h"

#define S_IDLE_MS 60000             /* the fake peer gives up after this long without a request */
#define S_KEYS 64                   /* keys the fake stores */

typedef enum { S_NORMAL, S_FORWARDED, S_WRONG_TYPE, S_SILENT } s_mode_t;

typedef struct {
    fake_peer_t peer;               /* the socket and its thread */
    _Atomic int mode;               /* s_mode_t: how it answers data requests */
    _Atomic int infos;              /* CLIENT_INFOs answered */
    _Atomic int data_requests;      /* puts, gets and dels received */
    char keys[S_KEYS][32];          /* the table: keys, "" for a free slot */
    char values[S_KEYS][32];
} s_fake_t;

/* Serves one data request from the table; returns the status. */
static chord_status_t s_serve_data (s_fake_t *fake, const chord_msg_t *request, const char **value)
{
    char key[32] = "";
    if (request->key_len < sizeof key)
        memcpy (key, request->key, request->key_len);
    int slot = -1, free_slot = -1;
    for (int i = 0; i < S_KEYS; i++) {
        if (strcmp (fake->keys[i], key) == 0)
            slot = i;
        if (!fake->keys[i][0] && free_slot < 0)
            free_slot = i;
    }
    *value = NULL;
    if (request->type == CHORD_MSG_CLIENT_PUT) {
        int at = slot >= 0 ? slot : free_slot;
        if (at < 0 || request->value_len >= sizeof fake->values[0])
            return CHORD_STATUS_STORE_ERROR;
        snprintf (fake->keys[at], sizeof fake->keys[at], "%s", key);
        memcpy (fake->values[at], request->value, request->value_len);
        fake->values[at][request->value_len] = 0;
        return CHORD_STATUS_OK;
    }
    if (slot < 0)
        return CHORD_STATUS_NOT_FOUND;
    if (request->type == CHORD_MSG_CLIENT_DEL)
        fake->keys[slot][0] = 0;
    else
        *value = fake->values[slot];
    return CHORD_STATUS_OK;
}

/* Fills the reply to request, as the fake's mode says; returns false to stay silent. */
static bool s_reply (void *arg, const chord_msg_t *request, chord_msg_t *reply)
{
    s_fake_t *fake = arg;
    if (request->type == CHORD_MSG_CLIENT_INFO) {
        chord_msg_init (reply, CHORD_MSG_INFO_REPLY, request->request_id);
        reply->fields = CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS |
                        CHORD_F_COUNT | CHORD_F_REPLICAS;
        snprintf (reply->peer.endpoint, sizeof reply->peer.endpoint, "%s", fake->peer.endpoint);
        chord_id_of_position (&reply->peer.id, fake->peer.endpoint, 0);
        reply->state = CHORD_NODE_ACTIVE;
        reply->replicas = 1;
        reply->has_pred = true;
        reply->pred = reply->peer;
        reply->peers[0] = reply->peer;
        reply->peer_count = 1;
        fake->infos++;
        return true;
    }
    fake->data_requests++;
    int mode = fake->mode;
    if (mode == S_SILENT)
        return false;
    const char *value;
    chord_msg_init (reply, mode == S_WRONG_TYPE ? CHORD_MSG_LOOKUP_REPLY : CHORD_MSG_CLIENT_REPLY,
                    request->request_id);
    reply->fields = CHORD_F_STATUS;
    reply->status = s_serve_data (fake, request, &value);
    if (value) {
        reply->fields |= CHORD_F_VALUE;
        reply->value = (const uint8_t *) value;
        reply->value_len = strlen (value);
    }
    if (mode == S_FORWARDED) {
        reply->fields |= CHORD_F_PEER;
        snprintf (reply->peer.endpoint, sizeof reply->peer.endpoint, "tcp://127.0.0.1:1");
        chord_id_of_position (&reply->peer.id, reply->peer.endpoint, 0);
    }
    return true;
}

/* Polls until count results arrived or 3 s passed; returns how many, results in out[]. */
static size_t s_collect (ring_client_t *client, ring_client_result_t *out, size_t count)
{
    size_t got = 0;
    for (int round = 0; round < 300 && got < count; round++) {
        int n = ring_client_poll (client, out + got, count - got, 10);
        got += n > 0 ? (size_t) n : 0;
    }
    return got;
}

static void s_test_async (ring_client_t *client)
{
    enum { N = 40 };
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        char key[16], value[16];
        snprintf (key, sizeof key, "k%d", i);
        snprintf (value, sizeof value, "v%d", i);
        accepted += ring_client_submit (client, CHORD_MSG_CLIENT_PUT, (const uint8_t *) key, strlen (key),
                                        (const uint8_t *) value, strlen (value), (uint64_t) i) == 0;
    }
    tap_ok (accepted == N && ring_client_inflight (client) <= N, "%d puts in flight at once", accepted);
    ring_client_result_t results[N];
    size_t got = s_collect (client, results, N);
    bool tags = true;
    uint64_t seen = 0;
    for (size_t i = 0; i < got; i++) {
        tags = tags && results[i].status == CHORD_STATUS_OK && results[i].tag < N && results[i].answered;
        seen |= 1ull << (results[i].tag % 64);
    }
    tap_ok (got == N && tags && seen == (1ull << N) - 1, "every put finished OK, each tag once (%zu results)", got);
    ring_client_result_t result;
    tap_ok (ring_client_call (client, CHORD_MSG_CLIENT_GET, (const uint8_t *) "k7", 2, NULL, 0, &result) == 0 &&
                result.status == CHORD_STATUS_OK && result.value && result.value_len == 2 &&
                memcmp (result.value, "v7", 2) == 0 && result.tries == 1,
            "a blocking get returns the value put, in one try");
    free (result.value);
    tap_ok (ring_client_call (client, CHORD_MSG_CLIENT_DEL, (const uint8_t *) "k7", 2, NULL, 0, &result) == 0 &&
                result.status == CHORD_STATUS_OK &&
                ring_client_call (client, CHORD_MSG_CLIENT_GET, (const uint8_t *) "k7", 2, NULL, 0, &result) == 0 &&
                result.status == CHORD_STATUS_NOT_FOUND && !result.value,
            "del, then get: not found, no value");
}

static void s_test_refusals (ring_client_t *client)
{
    errno = 0;
    tap_ok (ring_client_submit (client, CHORD_MSG_CLIENT_GET, NULL, 0, NULL, 0, 1) == -1 && errno == EINVAL,
            "an empty key: EINVAL");
    tap_ok (ring_client_submit (client, CHORD_MSG_CLIENT_INFO, (const uint8_t *) "k", 1, NULL, 0, 1) == -1 &&
                errno == EINVAL,
            "an operation that is not put, get or del: EINVAL");
    int accepted = 0;
    for (int i = 0; i < 70; i++)
        accepted += ring_client_submit (client, CHORD_MSG_CLIENT_GET, (const uint8_t *) "k1", 2, NULL, 0, 0) == 0;
    tap_ok (accepted == 64 && errno == EBUSY, "inflight_max 64: the 65th submit is refused with EBUSY");
    ring_client_result_t results[64];
    tap_ok (s_collect (client, results, 64) == 64, "and all 64 finish");
    for (int i = 0; i < 64; i++)
        free (results[i].value);
}

static void s_test_stale (s_fake_t *fake, ring_client_t *client)
{
    ring_client_stats_t before = ring_client_stats (client);
    fake->mode = S_FORWARDED;
    ring_client_result_t result;
    int ok = 0;
    for (int i = 0; i < 5; i++)
        ok += ring_client_call (client, CHORD_MSG_CLIENT_PUT, (const uint8_t *) "k1", 2, (const uint8_t *) "x", 1,
                                &result) == 0 && result.status == CHORD_STATUS_OK;
    ring_client_stats_t after = ring_client_stats (client);
    tap_ok (ok == 5 && after.moved - before.moved == 5, "forwarded answers still answer (%d), each counted", ok);
    tap_ok (after.refreshes > before.refreshes && after.refreshes - before.refreshes <= 5 &&
                fake->infos >= 2,
            "and make the client learn the ring again (%llu times for 5 answers)",
            (unsigned long long) (after.refreshes - before.refreshes));

    fake->mode = S_WRONG_TYPE;
    tap_ok (ring_client_call (client, CHORD_MSG_CLIENT_GET, (const uint8_t *) "k1", 2, NULL, 0, &result) == 0 &&
                result.answered && result.status == CHORD_STATUS_BAD_REQUEST,
            "a reply of the wrong type ends the request as a bad answer");

    fake->mode = S_SILENT;
    before = ring_client_stats (client);
    int requests_before = fake->data_requests;
    tap_ok (ring_client_set_timeout (client, 2000) == 0 &&
                ring_client_call (client, CHORD_MSG_CLIENT_PUT, (const uint8_t *) "k2", 2, (const uint8_t *) "y", 1,
                                  &result) == 0 &&
                !result.answered && result.status == CHORD_STATUS_TIMEOUT,
            "a put nobody answers ends unanswered by its deadline");
    after = ring_client_stats (client);
    tap_ok (result.tries >= 2 && after.write_retries > before.write_retries &&
                fake->data_requests - requests_before >= 2,
            "after being sent again (%u sends, the fake saw %d)", result.tries,
            fake->data_requests - requests_before);
    fake->mode = S_NORMAL;
}

int main (void)
{
    void *context = zmq_ctx_new ();
    static s_fake_t fake;
    if (fake_peer_start (&fake.peer, context, s_reply, &fake, S_IDLE_MS) != 0) {
        printf ("Bail out! cannot start a fake peer on loopback\n");
        return 1;
    }

    const char *seeds[1] = {fake.peer.endpoint};
    char why[256] = "";
    ring_client_config_t bad = {.seeds = seeds, .seed_count = 0};
    tap_ok (ring_client_new (&bad, why, sizeof why) == NULL && errno == EINVAL, "no seed: EINVAL (%s)", why);
    ring_client_config_t config = {.seeds = seeds, .seed_count = 1, .route = RING_ROUTE_OWNER,
                                   .refresh_interval_ms = 1, .inflight_max = 64,
                                   .learn_deadline_ms = 20000};    /* valgrind on a loaded machine is slow */
    ring_client_t *client = ring_client_new (&config, why, sizeof why);
    ring_client_stats_t stats = client ? ring_client_stats (client) : (ring_client_stats_t) {0};
    tap_ok (client && stats.positions == 1 && stats.replicas == 1 && stats.refreshes == 1,
            "the client learns the ring of one position, R 1 (%s)", client ? "ok" : why);
    if (client) {
        s_test_async (client);
        s_test_refusals (client);
        s_test_stale (&fake, client);
    }
    ring_client_destroy (&client);
    ring_client_destroy (&client);
    tap_ok (client == NULL, "destroy sets NULL and is idempotent");

    fake_peer_stop (&fake.peer);
    zmq_ctx_term (context);
    return tap_done ();
}
