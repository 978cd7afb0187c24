/*  The table of chord-sim's scenarios.  */
#include <stddef.h>

#include "scenario.h"

const scenario_t scenario_table[] = {
    {"pathlen", scenario_pathlen_run},
    {"loadbalance", scenario_loadbalance_run},
    {"movement", scenario_movement_run},
    {"failures", scenario_failures_run},
    {"churn", scenario_churn_run},
    {"traffic", scenario_traffic_run},
    {"convergence", scenario_convergence_run},
    {"speed", scenario_speed_run},
    {"durability", scenario_durability_run},
    {"table2", scenario_table2_run},
    {"table3", scenario_table3_run},
    {"balance", scenario_balance_run},
    {NULL, NULL},
};
