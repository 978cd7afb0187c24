#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int chordd_error (char *error, size_t size, const char *fmt, ...)
{
    if (!error || size == 0)
        return -1;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (error, size, fmt, ap);
    va_end (ap);
    return -1;
}
