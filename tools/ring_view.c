/*  ring view: see ring_view.h.  */
#include "ring_view.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "ring_share.h"

static int s_by_id (const void *a, const void *b)
{
    const ring_view_position_t *x = a, *y = b;
    return chord_id_cmp (&x->at->self.id, &y->at->self.id);
}

static int s_by_endpoint (const void *a, const void *b)
{
    const ring_view_process_t *x = a, *y = b;
    return strcmp (x->endpoint, y->endpoint);
}

/* The index of endpoint among the processes, or count. */
static size_t s_process_of (const ring_view_t *view, const char *endpoint)
{
    for (size_t i = 0; i < view->process_count; i++)
        if (strcmp (view->processes[i].endpoint, endpoint) == 0)
            return i;
    return view->process_count;
}

/* The distinct endpoints, sorted, and each position's process index. */
static void s_group (ring_view_t *view)
{
    for (size_t i = 0; i < view->count; i++) {
        const char *endpoint = view->positions[i].at->self.endpoint;
        if (s_process_of (view, endpoint) == view->process_count)
            view->processes[view->process_count++].endpoint = endpoint;
    }
    qsort (view->processes, view->process_count, sizeof *view->processes, s_by_endpoint);
    for (size_t i = 0; i < view->count; i++)
        view->positions[i].process = s_process_of (view, view->positions[i].at->self.endpoint);
}

/* Adds each position's figures to its process. */
static void s_sum (ring_view_t *view)
{
    for (size_t i = 0; i < view->count; i++) {
        const ring_view_position_t *p = &view->positions[i];
        ring_view_process_t *process = &view->processes[p->process];
        process->positions++;
        process->owns += p->owns;
        process->owns_effective += p->owns_effective;
        if (p->at->down) {
            process->down++;
            continue;
        }
        process->joining += p->at->has_state && p->at->state == CHORD_NODE_JOINING;
        process->leaving += p->at->has_state && p->at->state == CHORD_NODE_LEAVING;
        process->records += p->at->has_records ? p->at->records : 0;
        if (p->at->has_census) {
            process->census_count++;
            process->census.owned += p->at->census.owned;
            process->census.replica += p->at->census.replica;
            process->census.tombstones += p->at->census.tombstones;
            process->census.bytes += p->at->census.bytes;
        }
    }
}

/* The shares of every position (ring_share.h). */
static int s_share (ring_view_t *view)
{
    chord_share_position_t *share = calloc (view->count, sizeof *share);
    double *owns = calloc (view->count, sizeof *owns);
    double *effective = calloc (view->count, sizeof *effective);
    int rc = -1;
    if (share && owns && effective) {
        for (size_t i = 0; i < view->count; i++) {
            share[i].id = view->positions[i].at->self.id;
            share[i].process = view->positions[i].process;
        }
        rc = chord_share_compute (share, view->count, view->process_count, view->replicas, owns, effective);
        for (size_t i = 0; rc == 0 && i < view->count; i++) {
            view->positions[i].owns = owns[i];
            view->positions[i].owns_effective = effective[i];
        }
    }
    free (share);
    free (owns);
    free (effective);
    return rc;
}

int ring_view_build (const ring_walk_t *walk, ring_view_t *view)
{
    assert (walk && view);
    memset (view, 0, sizeof *view);
    if (walk->count == 0)
        return -1;
    view->complete = walk->complete;
    view->walked_ms = walk->walked_ms;
    view->replicas = walk->positions[0].replicas ? walk->positions[0].replicas : 1;
    view->positions = calloc (walk->count, sizeof *view->positions);
    view->processes = calloc (walk->count, sizeof *view->processes);
    if (!view->positions || !view->processes) {
        ring_view_clear (view);
        return -1;
    }
    //  A walk records each id once, so the ids are distinct.
    view->count = walk->count;
    for (size_t i = 0; i < walk->count; i++)
        view->positions[i].at = &walk->positions[i];
    qsort (view->positions, view->count, sizeof *view->positions, s_by_id);
    s_group (view);
    if (s_share (view) != 0) {
        ring_view_clear (view);
        return -1;
    }
    s_sum (view);
    return 0;
}

void ring_view_clear (ring_view_t *view)
{
    assert (view);
    free (view->positions);
    free (view->processes);
    memset (view, 0, sizeof *view);
}

const char *ring_view_process_state (const ring_view_process_t *process)
{
    assert (process);
    return process->down ? "down" : process->leaving ? "leaving" : process->joining ? "joining" : "active";
}

/* A string from the network: null when it is not UTF-8. */
static json_t *s_text (const char *text)
{
    json_t *string = json_string (text);
    return string ? string : json_null ();
}

static json_t *s_id (bool has, const chord_id_t *id)
{
    if (!has)
        return json_null ();
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, hex);
    return json_string (hex);
}

static json_t *s_count (bool has, uint64_t count)
{
    return has && count <= (uint64_t) INT64_MAX ? json_integer ((json_int_t) count) : json_null ();
}

static json_t *s_position_json (const ring_view_position_t *p)
{
    const ring_walk_position_t *at = p->at;
    json_t *object = json_object ();
    if (!object)
        return NULL;
    json_object_set_new (object, "id", s_id (true, &at->self.id));
    json_object_set_new (object, "endpoint", s_text (at->self.endpoint));
    json_object_set_new (object, "state", json_string (ring_walk_state_name (at)));
    json_object_set_new (object, "predecessor", s_id (at->has_pred, &at->pred));
    json_object_set_new (object, "successor", s_id (at->has_succ, &at->succ));
    json_object_set_new (object, "owns", json_real (p->owns));
    json_object_set_new (object, "owns_effective", json_real (p->owns_effective));
    json_object_set_new (object, "records", s_count (at->has_records, at->records));
    json_object_set_new (object, "keys_owned", s_count (at->has_census, at->census.owned));
    json_object_set_new (object, "keys_replica", s_count (at->has_census, at->census.replica));
    json_object_set_new (object, "tombstones", s_count (at->has_census, at->census.tombstones));
    json_object_set_new (object, "bytes", s_count (at->has_census, at->census.bytes));
    return object;
}

static json_t *s_process_json (const ring_view_process_t *process)
{
    json_t *object = json_object ();
    if (!object)
        return NULL;
    bool census = process->census_count > 0;
    json_object_set_new (object, "endpoint", s_text (process->endpoint));
    json_object_set_new (object, "positions", json_integer ((json_int_t) process->positions));
    json_object_set_new (object, "state", json_string (ring_view_process_state (process)));
    json_object_set_new (object, "owns", json_real (process->owns));
    json_object_set_new (object, "owns_effective", json_real (process->owns_effective));
    json_object_set_new (object, "records", s_count (true, process->records));
    json_object_set_new (object, "keys_owned", s_count (census, process->census.owned));
    json_object_set_new (object, "keys_replica", s_count (census, process->census.replica));
    json_object_set_new (object, "tombstones", s_count (census, process->census.tombstones));
    json_object_set_new (object, "bytes", s_count (census, process->census.bytes));
    return object;
}

json_t *ring_view_json (const ring_view_t *view)
{
    assert (view);
    json_t *positions = json_array (), *processes = json_array ();
    json_t *root = json_pack ("{s:b,s:I,s:I,s:o,s:o}", "complete", view->complete, "replicas",
                              (json_int_t) view->replicas, "walked_ms", (json_int_t) view->walked_ms, "positions",
                              positions, "processes", processes);
    if (!root)
        return NULL;
    for (size_t i = 0; i < view->count; i++)
        if (json_array_append_new (positions, s_position_json (&view->positions[i])) != 0) {
            json_decref (root);
            return NULL;
        }
    for (size_t i = 0; i < view->process_count; i++)
        if (json_array_append_new (processes, s_process_json (&view->processes[i])) != 0) {
            json_decref (root);
            return NULL;
        }
    return root;
}
