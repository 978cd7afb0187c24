/*  A tiny TAP producer for the C unit tests: plan, ok, done.

    Each assertion prints "ok N - name" or "not ok N - name"; the exit code
    is non-zero when any failed, so prove and make notice.  */
#ifndef CHORD_TAP_H
#define CHORD_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count;
static int tap_failed;

static inline void tap_plan (int tests) { printf ("1..%d\n", tests); }

/* Records one assertion; returns cond so callers can branch on it. */
static inline int tap_ok (int cond, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    if (!cond)
        tap_failed++;
    printf ("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf ("\n");
    fflush (stdout);
    return cond;
}

static inline void tap_diag (const char *fmt, ...)
{
    va_list ap;
    printf ("# ");
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf ("\n");
}

/* Prints the plan after the fact ("1..N") and returns the exit code. */
static inline int tap_done (void)
{
    printf ("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
