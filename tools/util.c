/*  Helpers the tools share: the monotonic clock and option numbers.  */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int64_t util_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t util_now_ms (void)
{
    return util_now_ns () / 1000000;
}

double util_wall_s (void)
{
    return (double) util_now_ns () / 1e9;
}

int util_parse_double (const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || *end || !(value >= min && value <= max))
        return -1;
    *out = value;
    return 0;
}

int util_parse_long (const char *text, long min, long max, long *out)
{
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}
