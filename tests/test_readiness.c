/*  Readiness (daemon/readiness.c): a peer is ready only with positions,
    all active, and a snapshot fresh enough to show its loop is alive.  */
#include <string.h>

#include "readiness.h"
#include "tap.h"

static chordd_http_snapshot_t s_snapshot;

static void s_positions (size_t count, chord_node_state_t state)
{
    memset (&s_snapshot, 0, sizeof s_snapshot);
    s_snapshot.count = count;
    for (size_t i = 0; i < count; i++) {
        s_snapshot.positions[i].index = (unsigned) (10 + i);
        s_snapshot.positions[i].state = state;
    }
}

int main (void)
{
    char reason[128];

    s_positions (0, CHORD_NODE_ACTIVE);
    tap_ok (!chordd_readiness (&s_snapshot, 0, reason, sizeof reason) && strstr (reason, "starting"),
            "no positions yet: not ready, starting (%s)", reason);

    s_positions (4, CHORD_NODE_ACTIVE);
    tap_ok (chordd_readiness (&s_snapshot, 100, reason, sizeof reason), "four active positions: ready");

    s_snapshot.positions[2].state = CHORD_NODE_JOINING;
    tap_ok (!chordd_readiness (&s_snapshot, 100, reason, sizeof reason)
                && strcmp (reason, "position 12 is joining") == 0,
            "one joining: not ready, named (%s)", reason);

    s_positions (4, CHORD_NODE_ACTIVE);
    s_snapshot.positions[3].state = CHORD_NODE_LEAVING;
    tap_ok (!chordd_readiness (&s_snapshot, 100, reason, sizeof reason) && strstr (reason, "position 13"),
            "one leaving: not ready (%s)", reason);

    s_positions (4, CHORD_NODE_ACTIVE);
    tap_ok (chordd_readiness (&s_snapshot, CHORDD_HTTP_STALE_MS, reason, sizeof reason),
            "a snapshot exactly at the staleness bound still counts");
    tap_ok (!chordd_readiness (&s_snapshot, CHORDD_HTTP_STALE_MS + 1500, reason, sizeof reason)
                && strstr (reason, "event loop has published nothing for 6.5 s"),
            "an old snapshot: the loop is stuck, not ready (%s)", reason);
    return tap_done ();
}
