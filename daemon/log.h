/*  chordd logging: one line per event on stderr, with time, level and pid. */
#ifndef CHORDD_LOG_H
#define CHORDD_LOG_H

#include "node.h"

/* Lines above this level are not printed. */
void chordd_log_set_level (chord_log_level_t level);

/* True when lines of level are printed. */
bool chordd_log_enabled (chord_log_level_t level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1. */
int chordd_log_parse_level (const char *name, chord_log_level_t *level);

void chordd_log (chord_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Adapter for chord_env_t.log. */
void chordd_log_line (void *arg, chord_log_level_t level, const char *line);

#endif
