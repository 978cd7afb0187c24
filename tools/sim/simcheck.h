/*  simcheck: the ring invariants of Zave's "Reasoning about identifier
    spaces: how to make Chord correct" (IEEE TSE 2017), checked over a
    simnet's live nodes.

    The members are the nodes that are up and ACTIVE or LEAVING. Each
    member's routing state is read through CLIENT_INFO (simnet_info), which
    changes nothing in the node. A member's best successor is the first
    entry of its successor list that is a member now; following best
    successors from every member gives a functional graph whose cycles are
    the rings.

    SIMCHECK_SAFETY holds at all times outside a partition, given that no
    member loses its whole successor list at once:
      - every member's successor list is ordered: clockwise from the member,
        each entry strictly further than the one before, the member itself
        nowhere in it;
      - every member's successor list holds a member;
      - there is exactly one ring (AtLeastOneRing, AtMostOneRing), and every
        member reaches it (ConnectedAppendages);
      - the ring is ordered: walking it passes the top of the id space
        exactly once (OrderedRing).
    SIMCHECK_STRICT adds the rest of Zave's inductive invariant, which a
    protocol that drops live successors on a lost message (a false
    suspicion) breaks, if only for a while:
      - a member off the ring and its best successor have no ring member
        between them (OrderedAppendages).
    SIMCHECK_QUIET, after a quiet period (no churn, no faults), adds both
    and:
      - every node that is up is a member (no join or leave is stuck);
      - the ring holds every member;
      - every member's successor is the next member by id, its predecessor
        the previous one, and its successor list the next min(r, n - 1)
        members in order.  */
#ifndef CHORD_SIMCHECK_H
#define CHORD_SIMCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "simnet.h"

typedef enum {
    SIMCHECK_SAFETY = 0, /* one ordered ring, ordered successor lists holding a member */
    SIMCHECK_STRICT = 1, /* and OrderedAppendages: Zave's whole inductive invariant */
    SIMCHECK_QUIET = 2,  /* and the ring is exactly right */
} simcheck_level_t;

/* What one check saw. Counts are computed at both levels; which ones make
   the check fail depends on the level. */
typedef struct {
    size_t up;                    /* nodes up, in any state */
    size_t members;               /* up and ACTIVE or LEAVING */
    size_t rings;                 /* cycles of best successors */
    size_t ring_size;             /* members on the largest ring */
    size_t appendages;            /* members on no ring */
    size_t disordered_appendages; /* members off the ring whose best successor jumps over a ring member */
    size_t unordered_lists;       /* members whose successor list is out of order */
    size_t no_member_succ;        /* members whose successor list holds no member */
    size_t ring_wraps;            /* times the largest ring passes the top of the id space */
    size_t wrong_succ;            /* members whose successor is not the next member */
    size_t wrong_pred;            /* members whose predecessor is not the previous member */
    size_t wrong_lists;           /* members whose successor list is not the next members */
    size_t not_members;           /* up nodes not ACTIVE or LEAVING */
    uint64_t fingers;             /* distinct fingers summed over members */
    size_t culprit;               /* the node the first violation names, or SIMNET_NONE */
} simcheck_report_t;

/*  Checks the invariants of level over the network's members. Fills
    *report (may be NULL). Returns 0 when they hold, or -1 and writes a
    sentence naming the first violation into why (may be NULL). Passes no
    time and sends nothing.  */
int simcheck_ring (simnet_t *net, simcheck_level_t level, simcheck_report_t *report, char *why,
                   size_t why_size);

/* Writes to out the members around node by id (radius on each side): each
   one's index, id, state, predecessor and successor list, marking entries
   that are not members. For reports of a violation. */
void simcheck_dump (simnet_t *net, size_t node, size_t radius, FILE *out);

#endif
