/*  chordctl status and health: the ring walked (ring_walk.h) and viewed
    by process (ring_view.h).

    status prints one line per process, as nodetool status does: up or
    down and its state, the endpoint, its positions, the share of the id
    space it owns and keeps copies of at R, its records. health says
    whether the contacted process is ready: its positions are found by
    walking the ring (a request without a target reaches only its first
    position, and one for a position it does not hold goes unanswered),
    and every one of them must answer and be active.  */
#include "chordctl.h"
#include "node.h"
#include "ring_view.h"

#define S_SHORT_ID 8                /* hex digits of an id in status lines */

/* Writes a byte count as "123 B", "4.5 KiB", ... into out. */
static void s_bytes (char *out, size_t size, bool has, uint64_t bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!has) {
        snprintf (out, size, "-");
        return;
    }
    double value = (double) bytes;
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024;
        unit++;
    }
    snprintf (out, size, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
}

static void s_count (char *out, size_t size, bool has, uint64_t count)
{
    if (has)
        snprintf (out, size, "%llu", (unsigned long long) count);
    else
        snprintf (out, size, "-");
}

/* The short ids of process p's positions, comma-separated, into out. */
static void s_ids (const ring_view_t *view, size_t p, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < view->count && used + S_SHORT_ID + 2 < size; i++) {
        if (view->positions[i].process != p)
            continue;
        char hex[CHORD_ID_HEX_LEN + 1];
        chord_id_to_hex (&view->positions[i].at->self.id, hex);
        used += (size_t) snprintf (out + used, size - used, "%s%.*s", used ? "," : "", S_SHORT_ID, hex);
    }
}

static void s_status_print (const ring_view_t *view)
{
    printf ("Ring: %s, %zu positions on %zu processes, R=%u, walked in %lld ms\n",
            view->complete ? "complete" : "incomplete", view->count, view->process_count, view->replicas,
            (long long) view->walked_ms);
    printf ("Status: U up, D down; State: N normal, J joining, L leaving\n");
    printf ("%-2s  %-28s %4s %8s %10s %9s %9s %9s %10s  %s\n", "--", "Endpoint", "Pos", "Owns", "Effective",
            "Records", "Owned", "Replica", "Bytes", "Ids");
    for (size_t p = 0; p < view->process_count; p++) {
        const ring_view_process_t *process = &view->processes[p];
        const char *state = ring_view_process_state (process);
        char owned[32], replica[32], bytes[32], ids[64 * (S_SHORT_ID + 1) + 1];
        bool census = process->census_count > 0;
        s_count (owned, sizeof owned, census, process->census.owned);
        s_count (replica, sizeof replica, census, process->census.replica);
        s_bytes (bytes, sizeof bytes, census, process->census.bytes);
        s_ids (view, p, ids, sizeof ids);
        printf ("%c%c  %-28s %4zu %7.2f%% %9.2f%% %9llu %9s %9s %10s  %s\n", process->down ? 'D' : 'U',
                strcmp (state, "joining") == 0   ? 'J'
                : strcmp (state, "leaving") == 0 ? 'L'
                                                 : 'N',
                process->endpoint, process->positions, 100 * process->owns, 100 * process->owns_effective,
                (unsigned long long) process->records, owned,
                replica, bytes, ids);
    }
}

/*  chordctl status: the ring by process; --json prints the document
    GET /v1/ring serves.  */
int chordctl_cmd_status (const chordctl_t *ctl)
{
    ring_walk_t walk;
    int code = chordctl_walk (ctl, &walk);
    if (code != S_EXIT_OK)
        return code;
    ring_view_t view;
    if (ring_view_build (&walk, &view) != 0) {
        ring_walk_clear (&walk);
        return chordctl_fail (S_EXIT_ERROR, "out of memory");
    }
    if (!walk.complete)
        fprintf (stderr, "chordctl: warning: ring not closed: %s\n", walk.why);
    if (ctl->json)
        code = chordctl_print_json (ring_view_json (&view));
    else
        s_status_print (&view);
    ring_view_clear (&view);
    ring_walk_clear (&walk);
    return code;
}

/*  chordctl health: exit 0 and "ready" when the contacted process
    answers and each of its positions the walk found is active; else
    exit 3 and why not.  */
int chordctl_cmd_health (const chordctl_t *ctl)
{
    ring_walk_t walk;
    int code = chordctl_walk (ctl, &walk);
    if (code != S_EXIT_OK) {
        printf ("not ready: %s\n", walk.why);
        return code;
    }
    const char *endpoint = walk.positions[0].self.endpoint;
    char why[CHORD_ENDPOINT_MAX + 128] = "";
    size_t held = 0;
    for (size_t i = 0; i < walk.count && !why[0]; i++) {
        const ring_walk_position_t *at = &walk.positions[i];
        if (strcmp (at->self.endpoint, endpoint) != 0)
            continue;
        held++;
        if (at->down || !at->has_state || at->state != CHORD_NODE_ACTIVE) {
            char hex[CHORD_ID_HEX_LEN + 1];
            chord_id_to_hex (&at->self.id, hex);
            snprintf (why, sizeof why, "position %.*s of %s is %s", S_SHORT_ID, hex, endpoint,
                      ring_walk_state_name (at));
        }
    }
    if (why[0])
        printf ("not ready: %s\n", why);
    else
        printf ("ready: %s, %zu position%s active\n", endpoint, held, held == 1 ? "" : "s");
    ring_walk_clear (&walk);
    return why[0] ? S_EXIT_NO_ANSWER : S_EXIT_OK;
}
