/*  chord-sim output: one run as text or one JSON object, and the tables
    scenarios print (text rows as they go; with --json, the rows collected
    and printed as one object at the end).  */
#ifndef CHORD_SIM_REPORT_H
#define CHORD_SIM_REPORT_H

#include <jansson.h>

#include "sim.h"

/* A scenario's table: rows is a JSON array with --json, else NULL (text). */
typedef struct {
    const sim_options_t *opt; /* the options the scenario runs under */
    json_t *rows;             /* with --json: the rows so far, owned */
} sim_table_t;

/* A new JSON integer of value (the caller owns it). */
json_t *sim_json_u64 (uint64_t value);

/* Prints a whole run's result (sim_simulate's), as text or JSON, and on a
   violation what broke and how to replay it (stderr). */
void sim_print_run (const sim_options_t *opt, sim_result_t *result, simnet_t *net);

/* Adds row to the table (with --json); takes ownership of row. */
void sim_table_row (sim_table_t *table, json_t *row);

/* Prints the table's JSON (with --json); takes ownership of extra (may be NULL). */
void sim_table_end (sim_table_t *table, const char *name, json_t *extra);

#endif
