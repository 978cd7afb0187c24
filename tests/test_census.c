/*  Tests for the node's census of its store (protocol/node_census.c) and
    the metrics it counts (client requests by op and status, their
    durations, drops by reason, messages by type, ring gauges).

    The census: a lone node owns every live record; a member owns those in
    (predecessor, self] and keeps the rest as copies; tombstones are
    counted apart; bytes are keys and records. INFO_REPLY carries it. When
    a NOTIFY moves the predecessor, the next census counts against the new
    arc, also when the move comes in the middle of a sweep. A store of
    more than CHORD_CENSUS_SLICE_RECORDS records is counted in several
    slices, one per tick, the node asking to be woken between them.

    Run alone: make build/t/test_census.t && build/t/test_census.t  */

#include "node_census.h"
#include "node_fixture.h"

#include <time.h>

/* Stores a tombstone at key, as a delete would. */
static void s_store_tombstone (chord_store_t *store, const char *key)
{
    chord_record_t rec = {.version = {.hlc = 2, .writer = 1}, .tombstone = true};
    uint8_t data[CHORD_RECORD_HEADER];
    chord_record_encode (&rec, data);
    chord_store_put (store, (const uint8_t *) key, strlen (key), data, chord_record_size (&rec));
}

/* What a census of store should say for a node owning (from, to] (whole when NULL). */
typedef struct {
    const chord_id_t *from;     /* the predecessor, or NULL: everything is owned */
    const chord_id_t *to;       /* the node */
    chord_census_t census;      /* counted so far */
} s_expect_t;

static int s_expect_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                           const uint8_t *value, size_t value_len)
{
    (void) key;
    s_expect_t *expect = arg;
    chord_record_t rec;
    expect->census.bytes += key_len + value_len;
    if (chord_record_decode (&rec, value, value_len) != 0)
        return 0;
    if (rec.tombstone)
        expect->census.tombstones++;
    else if (!expect->from || chord_id_in_half_open (key_id, expect->from, expect->to))
        expect->census.owned++;
    else
        expect->census.replica++;
    return 0;
}

static chord_census_t s_expected (chord_store_t *store, const chord_id_t *from, const chord_id_t *to)
{
    s_expect_t expect = {.from = from, .to = to};
    chord_id_t zero = {{0}};
    chord_store_range (store, &zero, &zero, s_expect_visit, &expect);
    return expect.census;
}

static bool s_census_is (const chord_census_t *got, const chord_census_t *want)
{
    if (memcmp (got, want, sizeof *got) == 0)
        return true;
    tap_diag ("census owned %llu replica %llu tombstones %llu bytes %llu; expected %llu %llu %llu %llu",
              (unsigned long long) got->owned, (unsigned long long) got->replica,
              (unsigned long long) got->tombstones, (unsigned long long) got->bytes,
              (unsigned long long) want->owned, (unsigned long long) want->replica,
              (unsigned long long) want->tombstones, (unsigned long long) want->bytes);
    return false;
}

static void s_fill (chord_store_t *store, unsigned live, unsigned tombstones)
{
    char key[32], value[32];
    for (unsigned i = 0; i < live; i++) {
        snprintf (key, sizeof key, "key-%u", i);
        snprintf (value, sizeof value, "value-%u", i * 7);
        s_store_record (store, key, value);
    }
    for (unsigned i = 0; i < tombstones; i++) {
        snprintf (key, sizeof key, "gone-%u", i);
        s_store_tombstone (store, key);
    }
}

/* A lone node owns every live record; INFO_REPLY carries the census. */
static void s_test_alone (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {7};
    chord_node_t *node = s_unit_node ("tcp://census:1", store, &rng, NULL);
    uint64_t t = 1000;
    chord_node_gauges_t gauges;
    chord_node_gauges (node, &gauges);
    tap_ok (!gauges.has_census && gauges.owned_ratio == 0, "before start: no census, owns nothing");
    chord_node_start (node, NULL, 0, t);
    s_fill (store, 40, 6);
    tap_ok (chord_node_next_deadline_ms (node) <= t, "a started node asks for a tick now, for its first census");
    chord_node_tick (node, t);
    chord_node_gauges (node, &gauges);
    chord_census_t want = s_expected (store, NULL, NULL);
    tap_ok (gauges.has_census && want.owned == 40 && want.tombstones == 6 && s_census_is (&gauges.census, &want),
            "alone: 40 owned, 0 replica, 6 tombstones, the bytes of keys and records");
    tap_ok (gauges.owned_ratio == 1.0 && gauges.successors == 0, "alone: owns the whole ring, no other successor");

    chord_origin_t client = s_origin ("info");
    s_feed_client (node, CHORD_MSG_CLIENT_INFO, 5, NULL, NULL, &client, t + 3);
    s_sent_t *sent = s_pop (node);
    tap_ok (s_is_reply (sent, CHORD_MSG_INFO_REPLY, 5, &client) && (sent->msg.fields & CHORD_F_CENSUS) &&
                s_census_is (&sent->msg.census, &want),
            "INFO_REPLY carries the census (cen)");
    s_sent_free (&sent);

    s_fill (store, 50, 6);
    chord_node_tick (node, t + 10);
    chord_node_gauges (node, &gauges);
    tap_ok (gauges.census.owned == 40, "the census is not recounted before its interval");
    chord_node_tick (node, t + CHORD_CENSUS_INTERVAL_MS);
    chord_node_gauges (node, &gauges);
    tap_ok (gauges.census.owned == 50, "one interval later it is: 50 owned");
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  A member owns (pred, self]. A NOTIFY from n in (pred, self) moves the
    arc, and the next census counts against it.  */
static void s_test_arc (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 149);
    chord_peer_t p = s_peer_after ("tcp://p", &me.id, 159, 157);    /* a quarter of the ring before us, about */
    chord_peer_t n = s_peer_after ("tcp://n", &p.id, 157, 155);     /* between p and me */
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {11};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t t = 2000;
    s_fill (store, 600, 9);
    tap_ok (chord_node_start_member (node, &p, &a, 1, NULL, NULL, t) == 0, "arc: a member, predecessor p");
    chord_node_tick (node, t);
    chord_node_gauges_t gauges;
    chord_node_gauges (node, &gauges);
    chord_census_t want = s_expected (store, &p.id, &me.id);
    tap_ok (want.owned > 0 && want.replica > 0 && s_census_is (&gauges.census, &want),
            "arc: owned in (p, me] (%llu), the rest replica (%llu)", (unsigned long long) want.owned,
            (unsigned long long) want.replica);
    chord_id_t arc;
    chord_id_distance (&arc, &p.id, &me.id);
    tap_ok (gauges.owned_ratio > 0 && gauges.owned_ratio < 1 && (unsigned) (gauges.owned_ratio * 256) == arc.bytes[0],
            "arc: the owned ratio is (p, me] over the ring (%.4f)", gauges.owned_ratio);

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 0);
    s_feed (node, msg, &n, NULL, t + 1);
    free (msg);
    s_discard_outbox (node);
    tap_ok (chord_node_predecessor (node) && chord_id_equal (&chord_node_predecessor (node)->id, &n.id),
            "arc: n's NOTIFY makes it the predecessor");
    chord_node_tick (node, t + CHORD_CENSUS_INTERVAL_MS);
    chord_node_gauges (node, &gauges);
    chord_census_t moved = s_expected (store, &n.id, &me.id);
    tap_ok (moved.owned < want.owned && s_census_is (&gauges.census, &moved),
            "arc: the next census counts owned in (n, me] (%llu)", (unsigned long long) moved.owned);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/*  More records than a slice holds: the sweep takes several ticks, the
    node asks to be woken between them, and a predecessor that moves in
    the middle restarts the sweep against the new arc.  */
static void s_test_slices (void)
{
    chord_peer_t me = s_peer_named ("tcp://me");
    chord_peer_t a = s_peer_after ("tcp://a", &me.id, 150, 149);
    chord_peer_t p = s_peer_after ("tcp://p", &me.id, 159, 157);
    chord_peer_t n = s_peer_after ("tcp://n", &p.id, 157, 155);
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {13};
    chord_node_t *node = s_unit_node (me.endpoint, store, &rng, NULL);
    uint64_t t = 3000;
    unsigned records = 3 * CHORD_CENSUS_SLICE_RECORDS;
    s_fill (store, records, 100);
    chord_node_start_member (node, &p, &a, 1, NULL, NULL, t);
    chord_node_tick (node, t);
    chord_node_gauges_t gauges;
    chord_node_gauges (node, &gauges);
    bool woken = chord_node_next_deadline_ms (node) <= t + CHORD_CENSUS_SLICE_GAP_MS;
    tap_ok (!gauges.has_census && woken, "slices: after one tick no census yet; the node asks for the next slice");

    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_NOTIFY, 0);
    s_feed (node, msg, &n, NULL, t + 1);
    free (msg);
    s_discard_outbox (node);
    unsigned ticks = 1;
    for (; ticks < 100 && !gauges.has_census; ticks++) {
        t = chord_node_next_deadline_ms (node) > t ? chord_node_next_deadline_ms (node) : t + 1;
        chord_node_tick (node, t);
        chord_node_gauges (node, &gauges);
    }
    chord_census_t want = s_expected (store, &n.id, &me.id);
    tap_ok (gauges.has_census && s_census_is (&gauges.census, &want) && want.tombstones == 100 &&
                want.owned + want.replica == records,
            "slices: the census completes in %u ticks, counted against the arc n moved to", ticks);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/* What one sweep of 100k in-memory records costs, for the record (a diag, not a check). */
static void s_measure (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {17};
    chord_node_t *node = s_unit_node ("tcp://census:2", store, &rng, NULL);
    s_fill (store, 100000, 0);
    uint64_t t = 5000;
    chord_node_start (node, NULL, 0, t);
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    unsigned ticks = 0;
    chord_node_gauges_t gauges = {0};
    for (; ticks < 1000 && !gauges.has_census; ticks++) {
        chord_node_tick (node, t);
        t += CHORD_CENSUS_SLICE_GAP_MS;
        chord_node_gauges (node, &gauges);
    }
    clock_gettime (CLOCK_MONOTONIC, &end);
    double ms = (double) (end.tv_sec - start.tv_sec) * 1e3 + (double) (end.tv_nsec - start.tv_nsec) / 1e6;
    tap_ok (gauges.census.owned == 100000, "100k records: all counted, in %u slices", ticks);
    tap_diag ("census of 100k in-memory records: %.1f ms in %u slices (%.2f ms a slice)", ms, ticks, ms / ticks);
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

/* Client requests by op and status, timed from arrival to answer; drops by reason; messages by type. */
static void s_test_counters (void)
{
    chord_store_t *store = chord_store_mem_new ();
    s_rng_t rng = {19};
    chord_node_t *node = s_unit_node ("tcp://counted:1", store, &rng, NULL);
    uint64_t t = 4000;
    chord_node_start (node, NULL, 0, t);
    chord_origin_t client = s_origin ("client");
    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 1, "k", "v", &client, t);
    s_feed_client (node, CHORD_MSG_CLIENT_PUT, 2, "k2", "v", &client, t);
    s_feed_client (node, CHORD_MSG_CLIENT_GET, 3, "nope", NULL, &client, t);
    chord_msg_t *msg = malloc (sizeof *msg);
    chord_msg_init (msg, CHORD_MSG_CLIENT_DEL, 4);
    msg->fields = CHORD_F_KEY;
    msg->key = (const uint8_t *) "k";
    msg->key_len = 1;
    uint8_t *data = NULL;
    size_t size = 0;
    chord_msg_encode (msg, &data, &size);
    chord_node_receive (node, data, size, &client, CHORD_ROLE_READ, t);
    free (data);
    free (msg);
    uint8_t garbage[3] = {0xc1, 0xff, 0x00};
    chord_node_receive (node, garbage, sizeof garbage, &client, CHORD_ROLE_PEER, t);
    s_discard_outbox (node);
    const chord_node_stats_t *stats = chord_node_stats (node);
    tap_ok (stats->client_requests[CHORD_CLIENT_OP_PUT][CHORD_STATUS_OK] == 2 &&
                stats->client_requests[CHORD_CLIENT_OP_GET][CHORD_STATUS_NOT_FOUND] == 1 &&
                stats->client_requests[CHORD_CLIENT_OP_DEL][CHORD_STATUS_FORBIDDEN] == 1,
            "client requests by op and status: 2 puts ok, a get not_found, a del forbidden to a reader");
    tap_ok (stats->client_duration_ms[CHORD_CLIENT_OP_PUT].count == 2 &&
                stats->client_duration_ms[CHORD_CLIENT_OP_PUT].buckets[0] == 2,
            "answered at once: both puts in the first duration bucket");
    tap_ok (stats->dropped_by_reason[CHORD_DROP_UNDECODABLE] == 1 && stats->dropped_by_reason[CHORD_DROP_REFUSED] == 1 &&
                stats->messages_dropped == 2,
            "drops by reason: one undecodable, one refused; the total agrees");
    tap_ok (stats->received_by_type[CHORD_MSG_CLIENT_PUT] == 2 && stats->received_by_type[CHORD_MSG_CLIENT_GET] == 1 &&
                stats->received_by_type[CHORD_MSG_CLIENT_DEL] == 0,
            "messages received by type (the refused del is not among them)");
    chord_histogram_t histogram = {0};
    chord_histogram_observe (&histogram, &chord_duration_ms_bounds, 0);
    chord_histogram_observe (&histogram, &chord_duration_ms_bounds, 3);
    chord_histogram_observe (&histogram, &chord_duration_ms_bounds, 99999);
    tap_ok (histogram.buckets[0] == 1 && histogram.buckets[2] == 1 &&
                histogram.buckets[chord_duration_ms_bounds.count] == 1 && histogram.count == 3 &&
                histogram.sum == 100002,
            "a histogram puts 0 ms in le=1, 3 ms in le=5 and 99999 ms above every bound");
    chord_node_destroy (&node);
    chord_store_destroy (&store);
}

int main (void)
{
    s_test_alone ();
    s_test_arc ();
    s_test_slices ();
    s_test_counters ();
    s_measure ();
    return tap_done ();
}
