/*  simcheck: Zave's ring invariants over a simnet.  */
#include "simcheck.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One check: what it reads, what it found so far. */
typedef struct {
    simnet_t *net;
    simcheck_report_t *report;
    char *why; /* the first violation, or NULL when not wanted */
    size_t why_size;
    bool failed;          /* a violation was written */
    bool quiet, strict;   /* the level's extra invariants */
    const size_t *sorted; /* the members by id */
    size_t count;         /* of them */
    size_t *rank;         /* node -> place in sorted, or SIZE_MAX */
    size_t *best;         /* rank -> rank of its best successor */
    unsigned char *color; /* rank -> 0 new, 1 on the walk, 2 done (s_find_rings) */
    size_t *path;         /* the walk */
    bool *on_ring;        /* rank -> on a cycle of best successors */
    simnet_info_t *info;  /* the member being read */
    size_t largest;       /* members on the largest ring */
    size_t largest_start; /* the rank of one of them */
} s_check_t;

static void s_fail (s_check_t *check, size_t culprit, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Records the first violation that makes the check fail, and the node it is about. */
static void s_fail (s_check_t *check, size_t culprit, const char *fmt, ...)
{
    if (check->failed)
        return;
    check->failed = true;
    check->report->culprit = culprit;
    if (!check->why || check->why_size == 0)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (check->why, check->why_size, fmt, ap);
    va_end (ap);
}

/* A node for messages: its index, endpoint and the first 8 hex digits of its id. */
static const char *s_name (simnet_t *net, size_t node, char *buf, size_t size)
{
    char hex[CHORD_ID_HEX_LEN + 1];
    const chord_peer_t *peer = simnet_node_peer (net, node);
    chord_id_to_hex (&peer->id, hex);
    snprintf (buf, size, "node %zu (%.64s, %.8s)", node, peer->endpoint, hex);
    return buf;
}

static const char *s_id_name (const chord_id_t *id, char buf[9])
{
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, hex);
    memcpy (buf, hex, 8);
    buf[8] = '\0';
    return buf;
}

/* Counts the nodes up and ranks the members; at the quiet level every node
   up must be a member (no join or leave stuck). */
static void s_members (s_check_t *check)
{
    simnet_t *net = check->net;
    simcheck_report_t *report = check->report;
    size_t total = simnet_node_count (net);
    char a[160];
    for (size_t i = 0; i < total; i++) {
        check->rank[i] = SIZE_MAX;
        if (simnet_node_status (net, i) == SIMNET_NODE_UP)
            report->up++;
    }
    for (size_t k = 0; k < check->count; k++)
        check->rank[check->sorted[k]] = k;
    report->members = check->count;
    report->not_members = report->up - check->count;
    if (check->quiet && report->not_members > 0)
        for (size_t i = 0; i < total; i++)
            if (simnet_node_status (net, i) == SIMNET_NODE_UP && check->rank[i] == SIZE_MAX) {
                chord_node_t *node = simnet_node (net, i);
                s_fail (check, i, "%s is still %s after the quiet period", s_name (net, i, a, sizeof a),
                        chord_node_state_name (chord_node_state (node)));
                break;
            }
}

/* Invariant: the member's successor list is ordered, clockwise from it,
   strictly increasing, without itself. */
static void s_list_ordered (s_check_t *check, size_t node, bool lone)
{
    const simnet_info_t *info = check->info;
    const chord_id_t *self_id = &simnet_node_peer (check->net, node)->id;
    chord_id_t last_distance, zero;
    memset (&last_distance, 0, sizeof last_distance);
    memset (&zero, 0, sizeof zero);
    bool ordered = true;
    for (size_t i = 0; i < info->succ_count && !lone; i++) {
        chord_id_t distance;
        chord_id_distance (&distance, self_id, &info->succ_id[i]);
        if (chord_id_equal (&distance, &zero) || (i > 0 && chord_id_cmp (&distance, &last_distance) <= 0)) {
            ordered = false;
            break;
        }
        last_distance = distance;
    }
    if (!ordered) {
        char a[160], c[9];
        check->report->unordered_lists++;
        s_fail (check, node, "%s: successor list of %zu out of order (entry %s)",
                s_name (check->net, node, a, sizeof a), info->succ_count, s_id_name (&info->succ_id[0], c));
    }
}

/* Invariant: the member's successor list holds a member; notes the first
   one, its best successor. */
static void s_list_holds_member (s_check_t *check, size_t k, bool lone)
{
    const simnet_info_t *info = check->info;
    size_t *best = check->best;
    best[k] = lone ? k : SIZE_MAX;
    for (size_t i = 0; i < info->succ_count && best[k] == SIZE_MAX; i++)
        if (info->succ[i] != SIMNET_NONE && check->rank[info->succ[i]] != SIZE_MAX)
            best[k] = check->rank[info->succ[i]];
    if (best[k] == SIZE_MAX) {
        char a[160];
        check->report->no_member_succ++;
        s_fail (check, check->sorted[k], "%s: none of its %zu successors is a live member",
                s_name (check->net, check->sorted[k], a, sizeof a), info->succ_count);
        best[k] = k;
    }
}

/* The quiet level's successor list: the next min(r, n - 1) members. */
static void s_list_exact (s_check_t *check, size_t k, bool lone, bool succ_right)
{
    const simnet_info_t *info = check->info;
    size_t count = check->count, node = check->sorted[k];
    size_t r = simnet_config (check->net)->successors;
    size_t want_list = r < count - 1 ? r : count - 1;
    bool list_right = count == 1 ? lone : true;
    size_t differs = 0;
    for (size_t i = 0; list_right && count > 1 && i < want_list; i++) {
        list_right = i < info->succ_count && info->succ[i] == check->sorted[(k + 1 + i) % count];
        differs = i;
    }
    if (list_right && count > 1 && info->succ_count != want_list) {
        list_right = false;
        differs = want_list;
    }
    if (list_right)
        return;
    check->report->wrong_lists++;
    if (!check->quiet || !succ_right)
        return;
    char a[160], b[160], c[9];
    if (differs < info->succ_count && differs < want_list)
        s_fail (check, node,
                "%s: successor list of %zu is not the next %zu members: entry %zu is %s, expected %s",
                s_name (check->net, node, a, sizeof a), info->succ_count, want_list, differs,
                s_id_name (&info->succ_id[differs], c),
                s_name (check->net, check->sorted[(k + 1 + differs) % count], b, sizeof b));
    else
        s_fail (check, node, "%s: successor list has %zu entries, expected %zu",
                s_name (check->net, node, a, sizeof a), info->succ_count, want_list);
}

/* The quiet level: the member's successor, predecessor and successor list are exactly right. */
static void s_exact (s_check_t *check, size_t k, bool lone)
{
    const simnet_info_t *info = check->info;
    simnet_t *net = check->net;
    size_t count = check->count, node = check->sorted[k];
    size_t next = check->sorted[(k + 1) % count], prev = check->sorted[(k + count - 1) % count];
    char a[160], b[160], c[9];
    bool succ_right = count == 1 ? lone : info->succ_count > 0 && info->succ[0] == next;
    if (!succ_right) {
        check->report->wrong_succ++;
        if (check->quiet)
            s_fail (check, node, "%s: successor %s, expected %s", s_name (net, node, a, sizeof a),
                    info->succ_count ? s_id_name (&info->succ_id[0], c) : "none",
                    s_name (net, next, b, sizeof b));
    }
    bool pred_right =
        count == 1 ? !info->has_pred || info->pred == node : info->has_pred && info->pred == prev;
    if (!pred_right) {
        check->report->wrong_pred++;
        if (check->quiet)
            s_fail (check, node, "%s: predecessor %s, expected %s", s_name (net, node, a, sizeof a),
                    info->has_pred ? s_id_name (&info->pred_id, c) : "none",
                    s_name (net, prev, b, sizeof b));
    }
    s_list_exact (check, k, lone, succ_right);
}

/* Reads each member's state and checks the invariants about one member. */
static void s_each_member (s_check_t *check)
{
    for (size_t k = 0; k < check->count; k++) {
        size_t node = check->sorted[k];
        if (simnet_info (check->net, node, check->info) != 0) {
            char a[160];
            s_fail (check, node, "%s does not answer CLIENT_INFO", s_name (check->net, node, a, sizeof a));
            check->best[k] = k;
            continue;
        }
        check->report->fingers += check->info->finger_count;
        const chord_id_t *self_id = &simnet_node_peer (check->net, node)->id;
        bool lone = check->info->succ_count == 1 && chord_id_equal (&check->info->succ_id[0], self_id);
        s_list_ordered (check, node, lone);
        s_list_holds_member (check, k, lone);
        s_exact (check, k, lone);
    }
}

/* Cycles of the best-successor graph: walk from each member until a
   member already seen; a walk that meets its own path closed a cycle. */
static void s_find_rings (s_check_t *check)
{
    size_t *best = check->best, *path = check->path;
    unsigned char *color = check->color;
    for (size_t k = 0; k < check->count; k++) {
        if (color[k])
            continue;
        size_t length = 0, at = k;
        while (!color[at]) {
            color[at] = 1;
            path[length++] = at;
            at = best[at];
        }
        if (color[at] == 1) {
            size_t size = 0;
            for (size_t i = length; i-- > 0;) {
                check->on_ring[path[i]] = true;
                size++;
                if (path[i] == at)
                    break;
            }
            check->report->rings++;
            if (size > check->largest) {
                check->largest = size;
                check->largest_start = at;
            }
        }
        for (size_t i = 0; i < length; i++)
            color[path[i]] = 2;
    }
    check->report->ring_size = check->largest;
    for (size_t k = 0; k < check->count; k++)
        if (!check->on_ring[k])
            check->report->appendages++;
}

/* Invariant: exactly one ring (AtLeastOneRing, AtMostOneRing). */
static void s_one_ring (s_check_t *check)
{
    if (check->report->rings == 1)
        return;
    /* Name a member of a ring other than the largest. */
    size_t other = check->largest_start, *best = check->best;
    for (size_t k = 0; k < check->count; k++)
        if (check->on_ring[k] && k != check->largest_start) {
            size_t at = best[k];
            bool same = false;
            for (size_t steps = 0; steps < check->largest && !same; steps++, at = best[at])
                same = at == check->largest_start;
            if (!same) {
                other = k;
                break;
            }
        }
    char a[160];
    s_fail (check, check->sorted[other],
            "%zu rings of best successors, not one: the largest has %zu members, another runs through %s",
            check->report->rings, check->largest, s_name (check->net, check->sorted[other], a, sizeof a));
}

/* Invariant: the ring passes the top of the id space exactly once (OrderedRing). */
static void s_ordered_ring (s_check_t *check)
{
    if (check->largest <= 1)
        return;
    size_t at = check->largest_start;
    for (size_t step = 0; step < check->largest; step++) {
        size_t next = check->best[at];
        if (chord_id_cmp (&simnet_node_peer (check->net, check->sorted[next])->id,
                          &simnet_node_peer (check->net, check->sorted[at])->id) <= 0)
            check->report->ring_wraps++;
        at = next;
    }
    if (check->report->ring_wraps != 1)
        s_fail (check, check->sorted[check->largest_start],
                "the ring of %zu members is not ordered: it passes the top of the id space %zu times",
                check->largest, check->report->ring_wraps);
}

/* The first member of ring_ids (sorted, ring_count of them) after from, by id. */
static const chord_id_t *s_next_on_ring (const chord_id_t *ring_ids, size_t ring_count,
                                         const chord_id_t *from)
{
    size_t lo = 0, hi = ring_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chord_id_cmp (&ring_ids[mid], from) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &ring_ids[lo == ring_count ? 0 : lo];
}

/* OrderedAppendages: a member off the ring, and its best successor, have
   no ring member between them. (Only checked against the largest ring.) */
static void s_ordered_appendages (s_check_t *check)
{
    size_t largest = check->largest, count = check->count, *best = check->best;
    if (check->report->rings < 1 || largest <= 1)
        return;
    chord_id_t *ring_ids = malloc (largest * sizeof *ring_ids);
    bool *on_largest = calloc (count, sizeof *on_largest);
    size_t ring_count = 0;
    for (size_t at = check->largest_start, step = 0; ring_ids && on_largest && step < largest;
         step++, at = best[at])
        on_largest[at] = true;
    for (size_t k = 0; ring_ids && on_largest && k < count; k++)
        if (on_largest[k])
            ring_ids[ring_count++] = simnet_node_peer (check->net, check->sorted[k])->id;
    /* sorted[] is in id order, so ring_ids is too. */
    for (size_t k = 0; ring_ids && on_largest && ring_count == largest && k < count; k++) {
        if (on_largest[k] || best[k] == k)
            continue;
        const chord_id_t *from = &simnet_node_peer (check->net, check->sorted[k])->id;
        const chord_id_t *to = &simnet_node_peer (check->net, check->sorted[best[k]])->id;
        const chord_id_t *next_ring = s_next_on_ring (ring_ids, ring_count, from);
        if (chord_id_in_open (next_ring, from, to)) {
            check->report->disordered_appendages++;
            char a[160], b[9], c[9];
            if (check->strict)
                s_fail (check, check->sorted[k],
                        "%s hangs off the ring with best successor %s, jumping over ring member %s",
                        s_name (check->net, check->sorted[k], a, sizeof a), s_id_name (to, c),
                        s_id_name (next_ring, b));
        }
    }
    free (ring_ids);
    free (on_largest);
}

/* The quiet level: the ring holds every member. */
static void s_ring_holds_all (s_check_t *check)
{
    if (!check->quiet || check->largest == check->count)
        return;
    size_t off_ring = SIMNET_NONE;
    for (size_t k = 0; k < check->count && off_ring == SIMNET_NONE; k++)
        if (!check->on_ring[k])
            off_ring = check->sorted[k];
    s_fail (check, off_ring, "the ring holds %zu of %zu members; %zu hang off it", check->largest,
            check->count, check->report->appendages);
}

int simcheck_ring (simnet_t *net, simcheck_level_t level, simcheck_report_t *report, char *why,
                   size_t why_size)
{
    simcheck_report_t local;
    if (!report)
        report = &local;
    memset (report, 0, sizeof *report);
    report->culprit = SIMNET_NONE;
    s_check_t check = {.net = net, .report = report, .why = why, .why_size = why_size};
    if (why && why_size)
        why[0] = '\0';
    check.quiet = level == SIMCHECK_QUIET;
    check.strict = level >= SIMCHECK_STRICT;
    check.count = simnet_members (net, &check.sorted);
    size_t total = simnet_node_count (net), count = check.count;
    check.rank = malloc ((total ? total : 1) * sizeof *check.rank);
    check.best = malloc ((count ? count : 1) * sizeof *check.best);
    check.color = calloc (count ? count : 1, 1);
    check.path = malloc ((count ? count : 1) * sizeof *check.path);
    check.on_ring = calloc (count ? count : 1, sizeof *check.on_ring);
    check.info = malloc (sizeof *check.info);
    if (!check.rank || !check.best || !check.color || !check.path || !check.on_ring || !check.info)
        s_fail (&check, SIMNET_NONE, "out of memory");
    else {
        s_members (&check);
        if (count == 0 && report->up > 0)
            s_fail (&check, SIMNET_NONE, "%zu nodes are up but none is a member of a ring", report->up);
        if (count > 0) {
            s_each_member (&check);
            s_find_rings (&check);
            s_one_ring (&check);
            s_ordered_ring (&check);
            s_ordered_appendages (&check);
            s_ring_holds_all (&check);
        }
    }
    free (check.rank);
    free (check.best);
    free (check.color);
    free (check.path);
    free (check.on_ring);
    free (check.info);
    return check.failed ? -1 : 0;
}

void simcheck_dump (simnet_t *net, size_t node, size_t radius, FILE *out)
{
    const size_t *sorted;
    size_t count = simnet_members (net, &sorted);
    if (count == 0 || node >= simnet_node_count (net))
        return;
    /* Where node sits (or would sit) among the members by id. */
    const chord_id_t *id = &simnet_node_peer (net, node)->id;
    size_t at = 0;
    while (at < count && chord_id_cmp (&simnet_node_peer (net, sorted[at])->id, id) < 0)
        at++;
    simnet_info_t *info = malloc (sizeof *info);
    if (!info)
        return;
    size_t span = 2 * radius + 1 < count ? 2 * radius + 1 : count;
    for (size_t j = 0; j < span; j++) {
        size_t k = (at + count - (span < count ? radius : 0) + j) % count;
        size_t member = sorted[k];
        char me[9], other[9];
        s_id_name (&simnet_node_peer (net, member)->id, me);
        if (simnet_info (net, member, info) != 0)
            continue;
        fprintf (out, "  %s node %zu %s %-7s pred %s succ", member == node ? "=>" : "  ", member, me,
                 chord_node_state_name (info->state),
                 info->has_pred ? s_id_name (&info->pred_id, other) : "none");
        for (size_t i = 0; i < info->succ_count; i++)
            fprintf (out, " %s%s", s_id_name (&info->succ_id[i], other),
                     info->succ[i] != SIMNET_NONE && simnet_is_member (net, info->succ[i]) ? "" : "(gone)");
        fprintf (out, "; %zu fingers\n", info->finger_count);
    }
    if (simnet_node_status (net, node) == SIMNET_NODE_UP && !simnet_is_member (net, node) &&
        simnet_info (net, node, info) == 0) {
        char me[9], other[9];
        fprintf (out, "  => node %zu %s %s (not a member) pred %s succ", node, s_id_name (id, me),
                 chord_node_state_name (info->state),
                 info->has_pred ? s_id_name (&info->pred_id, other) : "none");
        for (size_t i = 0; i < info->succ_count; i++)
            fprintf (out, " %s", s_id_name (&info->succ_id[i], other));
        fprintf (out, "\n");
    }
    free (info);
}
