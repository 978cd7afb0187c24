/*  chordd error messages: the daemon's functions that can fail take a
    caller's buffer (char *error, size_t size) and fill it with one line
    saying what went wrong, for the caller to log or print.  */
#ifndef CHORDD_ERROR_H
#define CHORDD_ERROR_H

#include <stddef.h>

/*  Formats the message into error (when error is not NULL and size > 0),
    cut to size. Returns -1, so that a failing function can end with
    `return chordd_error (error, size, ...)`.  */
int chordd_error (char *error, size_t size, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

#endif
