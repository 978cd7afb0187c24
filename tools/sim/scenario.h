/*  chord-sim's scenarios: each prints one table (text, or JSON with
    --json) beside the Chord paper's figure, one file each
    (scenario_NAME.c), listed in scenario_table (scenario.c).  */
#ifndef CHORD_SIM_SCENARIO_H
#define CHORD_SIM_SCENARIO_H

#include "report.h"
#include "sim.h"

/* Runs a scenario under opt into table; returns 0, or -1 when a check it
   makes failed (chord-sim then exits 1). */
typedef int (scenario_run_fn) (const sim_options_t *opt, sim_table_t *table);

/* One entry of the table. */
typedef struct {
    const char *name;    /* --scenario NAME */
    scenario_run_fn *run; /* its run function */
} scenario_t;

/* The scenarios, in the order --help lists them, ending with {NULL, NULL}. */
extern const scenario_t scenario_table[];

scenario_run_fn scenario_pathlen_run;
scenario_run_fn scenario_loadbalance_run;
scenario_run_fn scenario_movement_run;
scenario_run_fn scenario_failures_run;
scenario_run_fn scenario_churn_run;
scenario_run_fn scenario_traffic_run;
scenario_run_fn scenario_convergence_run;
scenario_run_fn scenario_speed_run;
scenario_run_fn scenario_durability_run;
scenario_run_fn scenario_table2_run;
scenario_run_fn scenario_table3_run;
scenario_run_fn scenario_balance_run;

#endif
