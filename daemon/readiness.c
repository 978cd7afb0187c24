/*  chordd readiness, from a published snapshot: pure, so its rules are
    tested without a process.  */
#include "readiness.h"

#include <stdio.h>

bool chordd_readiness (const chordd_http_snapshot_t *snapshot, double age_ms, char *reason, size_t reason_size)
{
    if (snapshot->count == 0) {
        snprintf (reason, reason_size, "starting: the ring positions are not chosen yet");
        return false;
    }
    //  The loop publishes at least about once a second: an old snapshot
    //  means it is stuck (a hung disk, a debugger), not serving.
    if (age_ms > CHORDD_HTTP_STALE_MS) {
        snprintf (reason, reason_size, "the event loop has published nothing for %.1f s", age_ms / 1000);
        return false;
    }
    for (size_t i = 0; i < snapshot->count; i++)
        if (snapshot->positions[i].state != CHORD_NODE_ACTIVE) {
            snprintf (reason, reason_size, "position %u is %s", snapshot->positions[i].index,
                      chord_node_state_name (snapshot->positions[i].state));
            return false;
        }
    snprintf (reason, reason_size, "ready");
    return true;
}
