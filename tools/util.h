/*  Helpers the tools share (chordctl, chord-bench, chord-sim): the
    monotonic clock and the parsing of numeric option values. None of it
    is for protocol/, which reads no clock.  */
#ifndef CHORD_TOOLS_UTIL_H
#define CHORD_TOOLS_UTIL_H

#include <stdint.h>

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC). */
int64_t util_now_ms (void);

/* Nanoseconds on the monotonic clock. */
int64_t util_now_ns (void);

/* Seconds on the monotonic clock, for wall-time figures. */
double util_wall_s (void);

/* Parses text as a number from min to max (strtod: "1e3", "0.5"). Returns
   0 and sets *out, or -1 without touching it. */
int util_parse_double (const char *text, double min, double max, double *out);

/* Parses text as decimal digits only (no sign, no spaces), from min to max.
   Returns 0 and sets *out, or -1 without touching it. */
int util_parse_long (const char *text, long min, long max, long *out);

#endif
