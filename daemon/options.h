/*  chordd command-line options. */
#ifndef CHORDD_OPTIONS_H
#define CHORDD_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

#define CHORDD_SEEDS_MAX 64
#define CHORDD_VNODES_MAX 64

typedef struct {
    const char *listen;                 /* ZeroMQ endpoint to bind */
    char advertise[CHORD_ENDPOINT_MAX + 1]; /* endpoint peers reach us at; our id hashes it */
    const char *seeds[CHORDD_SEEDS_MAX];    /* --join endpoints */
    size_t seed_count;
    size_t successors;                  /* successor list length r */
    unsigned vnodes;                    /* ring positions this process holds */
    size_t owner_cache;                 /* arcs remembered per position; 0: plain Chord */
    uint32_t stabilize_ms;              /* maintenance interval */
    uint32_t rpc_timeout_ms;            /* a peer silent this long is suspect */
    uint32_t leave_timeout_ms;          /* longest a graceful leave may take */
    chord_log_level_t log_level;
} chordd_options_t;

/*  Fills *options from argv. Returns 0 to run, 1 when --help or --version
    was printed (exit 0), or -1 after printing an error (exit 2).  */
int chordd_options_parse (chordd_options_t *options, int argc, char **argv);

#endif
