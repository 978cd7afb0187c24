/*  When a peer is ready to serve: every position it holds is an active
    member of the ring, and its event loop is alive. /readyz answers it;
    the key endpoints refuse with its reason while it is not.  */
#ifndef CHORDD_READINESS_H
#define CHORDD_READINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/*  True when snapshot, published age_ms ago, shows a ready peer; else
    false with why in reason (always NUL-terminated).  */
bool chordd_readiness (const chordd_http_snapshot_t *snapshot, double age_ms, char *reason, size_t reason_size);

#endif
