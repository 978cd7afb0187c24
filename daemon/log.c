/*  chordd logging. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static chord_log_level_t s_level = CHORD_LOG_INFO;

bool chordd_log_enabled (chord_log_level_t level)
{
    return level <= s_level;
}

static const char *s_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void chordd_log_set_level (chord_log_level_t level)
{
    s_level = level;
}

int chordd_log_parse_level (const char *name, chord_log_level_t *level)
{
    const char *lower[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp (name, lower[i]) == 0) {
            *level = (chord_log_level_t) i;
            return 0;
        }
    return -1;
}

void chordd_log_line (void *arg, chord_log_level_t level, const char *line)
{
    const char *name = arg;
    if (level > s_level)
        return;
    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    char stamp[32];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf (stderr, "%s.%03ldZ chordd[%d] %-5s %s%s%s\n", stamp, (long) now.tv_usec / 1000, (int) getpid (),
             s_names[level], name ? name : "", name ? ": " : "", line);
}

void chordd_log (chord_log_level_t level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    chordd_log_line (NULL, level, line);
}
