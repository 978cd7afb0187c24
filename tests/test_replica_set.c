/*  Tests of protocol/replica_set: who holds a key's copies, by hand:
    distinct processes other than the owner's, successors first, then
    valid fingers in order, then the predecessor.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replica_set.h"
#include "tap.h"

/* A peer with a one-byte id and the endpoint tcp://h:<port>. */
static chord_peer_t s_peer (uint8_t id, int port)
{
    chord_peer_t peer;
    memset (&peer, 0, sizeof peer);
    peer.id.bytes[0] = id;
    snprintf (peer.endpoint, sizeof peer.endpoint, "tcp://h:%d", port);
    return peer;
}

/* True when out[0..count-1] are the ports given, in order. */
static bool s_ports (const chord_peer_t *out, size_t count, const int *ports, size_t want)
{
    if (count != want)
        return false;
    for (size_t i = 0; i < count; i++) {
        char endpoint[32];
        snprintf (endpoint, sizeof endpoint, "tcp://h:%d", ports[i]);
        if (strcmp (out[i].endpoint, endpoint) != 0)
            return false;
    }
    return true;
}

int main (void)
{
    chord_peer_t succ[] = {s_peer (2, 1), s_peer (3, 2), s_peer (4, 2), s_peer (5, 1), s_peer (6, 3)};
    chord_peer_t fingers[] = {s_peer (7, 1), s_peer (8, 4), s_peer (9, 5)};
    chord_peer_t pred = s_peer (1, 6);
    chord_replica_view_t view = {.self_endpoint = "tcp://h:1", .succ = succ, .succ_count = 5,
                                 .fingers = fingers, .finger_count = 3, .pred = &pred};
    chord_peer_t out[8];

    size_t count = chord_replica_set (&view, 2, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3}, 2), "successors first, skipping the owner's process and repeats");
    tap_ok (out[0].id.bytes[0] == 3, "the first position of a process is the one named");
    count = chord_replica_set (&view, 4, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3, 4, 5}, 4), "then the fingers, in order");
    count = chord_replica_set (&view, 7, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3, 4, 5, 6}, 5), "then the predecessor; fewer when no more are known");
    tap_ok (chord_replica_set (&view, 0, out) == 0, "none wanted, none named");

    bool valid[] = {true, false, true};
    view.finger_valid = valid;
    count = chord_replica_set (&view, 4, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3, 5, 6}, 4), "invalid fingers are skipped");

    view.succ_count = 0;
    view.pred = NULL;
    view.finger_valid = NULL;
    count = chord_replica_set (&view, 4, out);
    tap_ok (s_ports (out, count, (int[]) {4, 5}, 2), "only fingers known: they alone name the holders");
    view.finger_count = 0;
    tap_ok (chord_replica_set (&view, 4, out) == 0, "a peer alone on its ring names no holder");

    //  From an owner's INFO_REPLY: its rf copies, the owner's one among them.
    chord_msg_t *info = calloc (1, sizeof *info);
    chord_msg_init (info, CHORD_MSG_INFO_REPLY, 1);
    info->fields = CHORD_F_PEER | CHORD_F_SUCC | CHORD_F_FINGERS | CHORD_F_PRED;
    info->peer = s_peer (0, 1);
    memcpy (info->peers, succ, sizeof succ);
    info->peer_count = 5;
    memcpy (info->fingers, fingers, sizeof fingers);
    info->finger_count = 3;
    info->has_pred = true;
    info->pred = pred;
    tap_ok (chord_replica_set_of_info (info, out) == 0, "an INFO_REPLY without rf names no holder");
    info->fields |= CHORD_F_REPLICAS;
    info->replicas = 3;
    count = chord_replica_set_of_info (info, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3}, 2), "rf 3: the two next processes of the owner's lists");
    info->replicas = CHORD_MSG_REPLICAS_MAX;
    count = chord_replica_set_of_info (info, out);
    tap_ok (s_ports (out, count, (int[]) {2, 3, 4, 5, 6}, 5), "rf 255 from a hostile peer: bounded by what it lists");
    info->has_pred = false;
    info->fields &= ~(uint32_t) CHORD_F_SUCC;
    count = chord_replica_set_of_info (info, out);
    tap_ok (s_ports (out, count, (int[]) {4, 5}, 2), "fields it did not send are not read");
    free (info);
    return tap_done ();
}
