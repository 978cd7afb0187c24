/*  Who holds a key's copies (see replica_set.h).  */
#include "replica_set.h"

#include <assert.h>
#include <string.h>

/* Appends peer to out[] unless it is the owner's process or one already there. */
static void s_add (const chord_replica_view_t *view, chord_peer_t *out, size_t *count, const chord_peer_t *peer)
{
    if (strcmp (peer->endpoint, view->self_endpoint) == 0)
        return;
    for (size_t j = 0; j < *count; j++)
        if (strcmp (out[j].endpoint, peer->endpoint) == 0)
            return;
    out[(*count)++] = *peer;
}

size_t chord_replica_set (const chord_replica_view_t *view, size_t wanted, chord_peer_t *out)
{
    assert (view);
    assert (view->self_endpoint);
    assert (out || wanted == 0);
    size_t count = 0;
    for (size_t i = 0; i < view->succ_count && count < wanted; i++)
        s_add (view, out, &count, &view->succ[i]);
    /* A successor list all of one process's positions (too short for the
       --vnodes in use) reaches no other process: the fingers, in ring
       order, name the next ones, and the predecessor comes last. */
    const chord_id_t *last = NULL;
    for (size_t i = 0; i < view->finger_count && count < wanted; i++) {
        if (view->finger_valid && !view->finger_valid[i])
            continue;
        /* Runs of fingers name one position (all 160 do, on a ring of one
           process): an id compare skips them cheaper than the endpoints'. */
        if (last && memcmp (last->bytes, view->fingers[i].id.bytes, sizeof last->bytes) == 0)
            continue;
        last = &view->fingers[i].id;
        s_add (view, out, &count, &view->fingers[i]);
    }
    if (count < wanted && view->pred)
        s_add (view, out, &count, view->pred);
    return count;
}

size_t chord_replica_set_of_info (const chord_msg_t *info, chord_peer_t *out)
{
    assert (info);
    assert (out);
    size_t wanted = (info->fields & CHORD_F_REPLICAS) && info->replicas > 1 ? info->replicas - 1 : 0;
    if (wanted > CHORD_REPLICA_SET_MAX)
        wanted = CHORD_REPLICA_SET_MAX;
    chord_replica_view_t view = {.self_endpoint = info->peer.endpoint,
                                 .succ = info->peers,
                                 .succ_count = (info->fields & CHORD_F_SUCC) ? info->peer_count : 0,
                                 .fingers = info->fingers,
                                 .finger_count = (info->fields & CHORD_F_FINGERS) ? info->finger_count : 0,
                                 .pred = (info->fields & CHORD_F_PRED) && info->has_pred ? &info->pred : NULL};
    return chord_replica_set (&view, wanted, out);
}
