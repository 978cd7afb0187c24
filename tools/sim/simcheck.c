/*  simcheck: Zave's ring invariants over a simnet.  */
#include "simcheck.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    simnet_t *net;
    simcheck_report_t *report;
    char *why; /* the first violation, or NULL when not wanted */
    size_t why_size;
    bool failed; /* a violation was written */
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
    bool quiet = level == SIMCHECK_QUIET;
    bool strict = level >= SIMCHECK_STRICT;
    char a[160], b[160], c[9];

    const size_t *sorted;
    size_t count = simnet_members (net, &sorted);
    size_t total = simnet_node_count (net);
    size_t *rank = malloc ((total ? total : 1) * sizeof *rank); /* node -> place in sorted, or SIZE_MAX */
    size_t *best = malloc ((count ? count : 1) * sizeof *best); /* rank -> rank of best successor */
    unsigned char *color = calloc (count ? count : 1, 1);       /* 0 new, 1 on the path, 2 done */
    size_t *path = malloc ((count ? count : 1) * sizeof *path);
    bool *on_ring = calloc (count ? count : 1, sizeof *on_ring);
    simnet_info_t *info = malloc (sizeof *info);
    if (!rank || !best || !color || !path || !on_ring || !info) {
        s_fail (&check, SIMNET_NONE, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < total; i++) {
        rank[i] = SIZE_MAX;
        if (simnet_node_status (net, i) == SIMNET_NODE_UP)
            report->up++;
    }
    for (size_t k = 0; k < count; k++)
        rank[sorted[k]] = k;
    report->members = count;
    report->not_members = report->up - count;
    if (quiet && report->not_members > 0)
        for (size_t i = 0; i < total; i++)
            if (simnet_node_status (net, i) == SIMNET_NODE_UP && rank[i] == SIZE_MAX) {
                chord_node_t *node = simnet_node (net, i);
                s_fail (&check, i, "%s is still %s after the quiet period", s_name (net, i, a, sizeof a),
                        chord_node_state_name (chord_node_state (node)));
                break;
            }
    if (count == 0) {
        if (report->up > 0)
            s_fail (&check, SIMNET_NONE, "%zu nodes are up but none is a member of a ring", report->up);
        goto done;
    }

    size_t r = simnet_config (net)->successors;
    size_t want_list = r < count - 1 ? r : count - 1;
    for (size_t k = 0; k < count; k++) {
        size_t node = sorted[k];
        const chord_id_t *self_id = &simnet_node_peer (net, node)->id;
        if (simnet_info (net, node, info) != 0) {
            s_fail (&check, node, "%s does not answer CLIENT_INFO", s_name (net, node, a, sizeof a));
            best[k] = k;
            continue;
        }
        report->fingers += info->finger_count;

        /* Ordered successor list: strictly increasing clockwise distance. */
        chord_id_t last_distance;
        memset (&last_distance, 0, sizeof last_distance);
        bool ordered = true;
        bool lone = info->succ_count == 1 && chord_id_equal (&info->succ_id[0], self_id);
        for (size_t i = 0; i < info->succ_count && !lone; i++) {
            chord_id_t distance;
            chord_id_distance (&distance, self_id, &info->succ_id[i]);
            chord_id_t zero;
            memset (&zero, 0, sizeof zero);
            if (chord_id_equal (&distance, &zero) ||
                (i > 0 && chord_id_cmp (&distance, &last_distance) <= 0)) {
                ordered = false;
                break;
            }
            last_distance = distance;
        }
        if (!ordered) {
            report->unordered_lists++;
            s_fail (&check, node, "%s: successor list of %zu out of order (entry %s)",
                    s_name (net, node, a, sizeof a), info->succ_count, s_id_name (&info->succ_id[0], c));
        }

        /* Best successor: the first entry that is a member now. */
        best[k] = SIZE_MAX;
        if (lone)
            best[k] = k;
        for (size_t i = 0; i < info->succ_count && best[k] == SIZE_MAX; i++)
            if (info->succ[i] != SIMNET_NONE && rank[info->succ[i]] != SIZE_MAX)
                best[k] = rank[info->succ[i]];
        if (best[k] == SIZE_MAX) {
            report->no_member_succ++;
            s_fail (&check, node, "%s: none of its %zu successors is a live member",
                    s_name (net, node, a, sizeof a), info->succ_count);
            best[k] = k;
        }

        /* Exactness, for the quiet level. */
        size_t next = sorted[(k + 1) % count], prev = sorted[(k + count - 1) % count];
        bool succ_right = count == 1 ? lone : info->succ_count > 0 && info->succ[0] == next;
        if (!succ_right) {
            report->wrong_succ++;
            if (quiet)
                s_fail (&check, node, "%s: successor %s, expected %s", s_name (net, node, a, sizeof a),
                        info->succ_count ? s_id_name (&info->succ_id[0], c) : "none",
                        s_name (net, next, b, sizeof b));
        }
        bool pred_right =
            count == 1 ? !info->has_pred || info->pred == node : info->has_pred && info->pred == prev;
        if (!pred_right) {
            report->wrong_pred++;
            if (quiet)
                s_fail (&check, node, "%s: predecessor %s, expected %s", s_name (net, node, a, sizeof a),
                        info->has_pred ? s_id_name (&info->pred_id, c) : "none",
                        s_name (net, prev, b, sizeof b));
        }
        bool list_right = count == 1 ? lone : true;
        size_t differs = 0;
        for (size_t i = 0; list_right && count > 1 && i < want_list; i++) {
            list_right = i < info->succ_count && info->succ[i] == sorted[(k + 1 + i) % count];
            differs = i;
        }
        if (list_right && count > 1 && info->succ_count != want_list) {
            list_right = false;
            differs = want_list;
        }
        if (!list_right) {
            report->wrong_lists++;
            if (quiet && succ_right) {
                if (differs < info->succ_count && differs < want_list)
                    s_fail (
                        &check, node,
                        "%s: successor list of %zu is not the next %zu members: entry %zu is %s, expected %s",
                        s_name (net, node, a, sizeof a), info->succ_count, want_list, differs,
                        s_id_name (&info->succ_id[differs], c),
                        s_name (net, sorted[(k + 1 + differs) % count], b, sizeof b));
                else
                    s_fail (&check, node, "%s: successor list has %zu entries, expected %zu",
                            s_name (net, node, a, sizeof a), info->succ_count, want_list);
            }
        }
    }

    /* Cycles of the best-successor graph: walk from each member until a
       member already seen; a walk that meets its own path closed a cycle. */
    size_t largest = 0, largest_start = 0;
    for (size_t k = 0; k < count; k++) {
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
                on_ring[path[i]] = true;
                size++;
                if (path[i] == at)
                    break;
            }
            report->rings++;
            if (size > largest) {
                largest = size;
                largest_start = at;
            }
        }
        for (size_t i = 0; i < length; i++)
            color[path[i]] = 2;
    }
    report->ring_size = largest;
    for (size_t k = 0; k < count; k++)
        if (!on_ring[k])
            report->appendages++;
    if (report->rings != 1) {
        /* Name a member of a ring other than the largest. */
        size_t other = largest_start;
        for (size_t k = 0; k < count; k++)
            if (on_ring[k] && k != largest_start) {
                size_t at = best[k];
                bool same = false;
                for (size_t steps = 0; steps < largest && !same; steps++, at = best[at])
                    same = at == largest_start;
                if (!same) {
                    other = k;
                    break;
                }
            }
        s_fail (&check, sorted[other],
                "%zu rings of best successors, not one: the largest has %zu members, another runs through %s",
                report->rings, largest, s_name (net, sorted[other], a, sizeof a));
    }
    if (largest > 1) {
        size_t at = largest_start;
        for (size_t step = 0; step < largest; step++) {
            size_t next = best[at];
            if (chord_id_cmp (&simnet_node_peer (net, sorted[next])->id,
                              &simnet_node_peer (net, sorted[at])->id) <= 0)
                report->ring_wraps++;
            at = next;
        }
        if (report->ring_wraps != 1)
            s_fail (&check, sorted[largest_start],
                    "the ring of %zu members is not ordered: it passes the top of the id space %zu times",
                    largest, report->ring_wraps);
    }
    size_t off_ring = SIMNET_NONE;
    for (size_t k = 0; k < count && off_ring == SIMNET_NONE; k++)
        if (!on_ring[k])
            off_ring = sorted[k];
    /* OrderedAppendages: a member off the ring, and its best successor, have
       no ring member between them. (Only checked against the largest ring.) */
    if (report->rings >= 1 && largest > 1) {
        chord_id_t *ring_ids = malloc (largest * sizeof *ring_ids);
        bool *on_largest = calloc (count, sizeof *on_largest);
        size_t ring_count = 0;
        for (size_t at = largest_start, step = 0; ring_ids && on_largest && step < largest;
             step++, at = best[at])
            on_largest[at] = true;
        for (size_t k = 0; ring_ids && on_largest && k < count; k++)
            if (on_largest[k])
                ring_ids[ring_count++] = simnet_node_peer (net, sorted[k])->id;
        /* sorted[] is in id order, so ring_ids is too. */
        for (size_t k = 0; ring_ids && on_largest && ring_count == largest && k < count; k++) {
            if (on_largest[k] || best[k] == k)
                continue;
            const chord_id_t *from = &simnet_node_peer (net, sorted[k])->id;
            const chord_id_t *to = &simnet_node_peer (net, sorted[best[k]])->id;
            /* The first ring member after from, by id. */
            size_t lo = 0, hi = ring_count;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (chord_id_cmp (&ring_ids[mid], from) <= 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            const chord_id_t *next_ring = &ring_ids[lo == ring_count ? 0 : lo];
            if (chord_id_in_open (next_ring, from, to)) {
                report->disordered_appendages++;
                if (strict)
                    s_fail (&check, sorted[k],
                            "%s hangs off the ring with best successor %s, jumping over ring member %s",
                            s_name (net, sorted[k], a, sizeof a), s_id_name (to, c),
                            s_id_name (next_ring, b));
            }
        }
        free (ring_ids);
        free (on_largest);
    }
    if (quiet && largest != count)
        s_fail (&check, off_ring, "the ring holds %zu of %zu members; %zu hang off it", largest, count,
                report->appendages);

done:
    free (rank);
    free (best);
    free (color);
    free (path);
    free (on_ring);
    free (info);
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
