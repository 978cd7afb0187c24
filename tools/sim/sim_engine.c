/*  The chord-sim engine: joins, crashes, departures, churn, lookups during
    and after a run, data operations, invariant checks and convergence.  */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "node.h"
#include "sim.h"
#include "store.h"

const char *const sim_phase_names[] = {"build", "keys", "run", "quiet", "measure"};


void sim_violation (sim_t *sim, const char *fmt, ...)
{
    sim_result_t *result = sim->result;
    if (result->violated)
        return;
    result->violated = true;
    result->violation_ms = simnet_now (sim->net);
    result->violation_phase = sim->phase;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (result->what, sizeof result->what, fmt, ap);
    va_end (ap);
}

static void s_log_line (void *arg, size_t node, uint64_t now_ms, chord_log_level_t level, const char *line)
{
    const sim_options_t *opt = arg;
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (opt->log_node != SIMNET_NONE && node != opt->log_node)
        return;
    fprintf (stderr, "%10.3f node %zu %s: %s\n", now_ms / 1000.0, node, names[level & 3], line);
}

/* Prints each message delivered to or from --trace-node. */
static void s_trace_message (void *arg, simnet_t *net, size_t src, size_t dst, const uint8_t *data,
                             size_t size)
{
    const sim_options_t *opt = arg;
    if (src != opt->trace_node && dst != opt->trace_node)
        return;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    char detail[160] = "";
    const char *type = "undecodable";
    if (chord_msg_decode (msg, data, size) == 0) {
        type = chord_msg_type_name (msg->type);
        char hex[CHORD_ID_HEX_LEN + 1];
        int used = snprintf (detail, sizeof detail, " #%llu", (unsigned long long) msg->request_id);
        if (msg->fields & CHORD_F_ITEMS)
            used += snprintf (detail + used, sizeof detail - (size_t) used, " items %zu%s", msg->item_count,
                              msg->final ? " final" : "");
        if ((msg->fields & CHORD_F_PRED) && msg->has_pred) {
            chord_id_to_hex (&msg->pred.id, hex);
            used += snprintf (detail + used, sizeof detail - (size_t) used, " pred %.8s", hex);
        }
        if (msg->fields & CHORD_F_PEER) {
            chord_id_to_hex (&msg->peer.id, hex);
            used += snprintf (detail + used, sizeof detail - (size_t) used, " peer %.8s", hex);
        }
        if (msg->fields & CHORD_F_STATUS)
            snprintf (detail + used, sizeof detail - (size_t) used, " %s", chord_status_name (msg->status));
        chord_msg_clear (msg);
    }
    free (msg);
    char a[CHORD_ID_HEX_LEN + 1], b[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (&simnet_node_peer (net, src)->id, a);
    chord_id_to_hex (&simnet_node_peer (net, dst)->id, b);
    fprintf (stderr, "%10.3f msg node %zu (%.8s) -> node %zu (%.8s): %s%s, %zu bytes\n",
             simnet_now (net) / 1000.0, src, a, dst, b, type, detail, size);
}

/* The network configuration the options ask for. */
void sim_net_config (const sim_options_t *opt, uint32_t stabilize_ms, size_t successors,
                          simnet_config_t *config)
{
    simnet_config_defaults (config);
    config->seed = opt->seed;
    config->latency = opt->latency_dist;
    config->latency_mean_ms = (uint32_t) (opt->latency_ms + 0.5);
    config->latency_min_ms =
        opt->latency_dist == SIMNET_LATENCY_CONSTANT ? config->latency_mean_ms : config->latency_mean_ms / 5;
    config->successors = successors;
    config->stabilize_interval_ms = stabilize_ms;
    config->stabilize_max_ms = opt->stabilize_max_ms;
    config->rpc_timeout_ms = opt->rpc_timeout_ms;
    config->owner_cache_size = opt->owner_cache;
    config->replicas = opt->replicas;
    config->write_quorum = opt->write_quorum;
    config->sync_interval_ms = opt->sync_ms;
    if (opt->log_level >= 0) {
        config->log = s_log_line;
        config->log_arg = (void *) opt;
        config->log_level = (chord_log_level_t) opt->log_level;
    }
}

/* A network with config, tracing --trace-node's messages. NULL on a bad config or no memory. */
simnet_t *sim_net_from (const sim_options_t *opt, const simnet_config_t *config)
{
    simnet_t *net = simnet_new (config);
    if (net && opt->trace_node != SIMNET_NONE)
        simnet_on_deliver (net, s_trace_message, (void *) opt);
    return net;
}

simnet_t *sim_net_new (const sim_options_t *opt, uint32_t stabilize_ms, size_t successors)
{
    simnet_config_t config;
    sim_net_config (opt, stabilize_ms, successors, &config);
    return sim_net_from (opt, &config);
}

/* A member at random, or SIMNET_NONE when there is none. With active, only
   ACTIVE ones (not leaving). */
size_t sim_random_member (sim_t *sim, bool active)
{
    const size_t *sorted;
    size_t count = simnet_members (sim->net, &sorted);
    if (count == 0)
        return SIMNET_NONE;
    for (int tries = 0; tries < 64; tries++) {
        size_t node = sorted[simrng_below (&sim->rng, count)];
        if (!active || chord_node_state (simnet_node (sim->net, node)) == CHORD_NODE_ACTIVE)
            return node;
    }
    return SIMNET_NONE;
}

size_t sim_up_count (simnet_t *net)
{
    size_t up = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++)
        up += simnet_node_status (net, i) == SIMNET_NODE_UP;
    return up;
}


/* Starts a new node joining through random members (--join-seeds of them);
   returns it or SIMNET_NONE. */
size_t sim_join_one (sim_t *sim)
{
    size_t seeds[8];
    size_t seed_count = sim->opt->join_seeds < 8 ? sim->opt->join_seeds : 8;
    for (size_t i = 0; i < seed_count; i++)
        if ((seeds[i] = sim_random_member (sim, true)) == SIMNET_NONE)
            return SIMNET_NONE;
    size_t node = simnet_add (sim->net);
    if (node == SIMNET_NONE)
        return SIMNET_NONE;
    /* A newcomer sits on its first seed's side of any partition. */
    simnet_set_side (sim->net, node, simnet_side (sim->net, seeds[0]));
    simnet_start (sim->net, node, seeds, seed_count);
    sim->result->joins++;
    if (sim->opt->session_median_s > 0 && sim->phase == SIM_PHASE_RUN) {
        double mean_ms = sim->opt->session_median_s * 1000 / simrng_ln (2);
        simnet_at (sim->net, simnet_now (sim->net) + (uint64_t) simrng_exponential (&sim->rng, mean_ms),
                   sim_on_session_end, sim, node);
    }
    return node;
}

/* Notes which stored keys sit in a store that is about to vanish. */
static int s_mark_crashed_key (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len)
{
    (void) key_id;
    (void) value;
    (void) value_len;
    sim_t *sim = arg;
    char name[32];
    if (key_len >= sizeof name || key_len < 5 || memcmp (key, "key-", 4) != 0)
        return 0;
    memcpy (name, key + 4, key_len - 4);
    name[key_len - 4] = '\0';
    unsigned long long n = strtoull (name, NULL, 10);
    if (n < sim->opt->keys)
        sim->key_state[n] |= SIM_KEY_CRASHED;
    return 0;
}

void sim_crash (sim_t *sim, size_t node)
{
    chord_store_t *store = simnet_node_store (sim->net, node);
    if (store && sim->key_state) {
        chord_id_t zero;
        memset (&zero, 0, sizeof zero);
        chord_store_range (store, &zero, &zero, s_mark_crashed_key, sim);
    }
    if (simnet_crash (sim->net, node) == 0)
        sim->result->crashes++;
}

/* A member departs: leaves gracefully with probability leave_fraction, else crashes. */
static void s_depart (sim_t *sim, size_t node)
{
    if (simnet_node_status (sim->net, node) != SIMNET_NODE_UP)
        return;
    chord_node_t *chord = simnet_node (sim->net, node);
    if (chord_node_state (chord) == CHORD_NODE_ACTIVE && simrng_chance (&sim->rng, sim->leave_fraction)) {
        if (simnet_leave (sim->net, node) == 0)
            sim->result->leaves++;
    } else
        sim_crash (sim, node);
}

void sim_on_session_end (void *arg, simnet_t *net, uint64_t token)
{
    sim_t *sim = arg;
    (void) net;
    if (sim->phase != SIM_PHASE_RUN)
        return;
    size_t node = (size_t) token;
    if (simnet_node_status (sim->net, node) != SIMNET_NODE_UP)
        return;
    s_depart (sim, node);
    sim_join_one (sim); /* a newcomer replaces it, keeping the population steady */
}

void sim_on_churn_event (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    sim_t *sim = arg;
    if (sim->phase != SIM_PHASE_RUN)
        return;
    const size_t *sorted;
    size_t members = simnet_members (net, &sorted);
    if (members <= 2 || simrng_chance (&sim->rng, 0.5))
        sim_join_one (sim);
    else {
        size_t node = sim_random_member (sim, true);
        if (node != SIMNET_NONE)
            s_depart (sim, node);
    }
    double mean_ms = sim->opt->stabilize_ms / sim->opt->churn_rate;
    simnet_at (net, simnet_now (net) + 1 + (uint64_t) simrng_exponential (&sim->rng, mean_ms),
               sim_on_churn_event, sim, 0);
}

/* The key id of a run-phase lookup's key. */
static void s_run_key_id (sim_t *sim, size_t record, chord_id_t *id)
{
    char key[32];
    sim_key_name (key, sizeof key, sim->runs[record].key);
    chord_id_hash (id, key, strlen (key));
}

static void s_run_lookup_send (sim_t *sim, size_t record, unsigned attempt)
{
    size_t node = sim_random_member (sim, true);
    char key[32];
    sim_key_name (key, sizeof key, sim->runs[record].key);
    if (sim->trace && attempt == 0) {
        chord_id_t id;
        s_run_key_id (sim, record, &id);
        simtrace_begin (sim->trace, &id);
    }
    if (node == SIMNET_NONE ||
        simnet_client (sim->net, node, CHORD_MSG_CLIENT_LOOKUP, key, strlen (key), NULL, 0, sim->opt->tmo_ms,
                       sim_token (SIM_TOKEN_RUN, ((uint64_t) record << 2) | attempt)) != 0) {
        if (attempt == 0)
            sim->result->run_first_unanswered++;
        sim->result->run_failed_retried++;
        sim->runs[record].done = true;
    }
}

static void s_on_retry (void *arg, simnet_t *net, uint64_t token)
{
    (void) net;
    s_run_lookup_send (arg, (size_t) (token >> 2), (unsigned) (token & 3));
}

void sim_on_run_lookup (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    sim_t *sim = arg;
    if (sim->phase != SIM_PHASE_RUN)
        return;
    if (sim->run_count == sim->run_alloc) {
        size_t alloc = sim->run_alloc ? sim->run_alloc * 2 : 1024;
        sim_run_lookup_t *grown = realloc (sim->runs, alloc * sizeof *grown);
        if (!grown)
            return;
        sim->runs = grown;
        sim->run_alloc = alloc;
    }
    size_t record = sim->run_count++;
    sim->runs[record] = (sim_run_lookup_t){.key = simrng_next (&sim->rng)};
    sim->result->run_lookups++;
    s_run_lookup_send (sim, record, 0);
    simnet_at (
        net, simnet_now (net) + 1 + (uint64_t) simrng_exponential (&sim->rng, 1000.0 / sim->opt->lookup_rate),
        sim_on_run_lookup, sim, 0);
}

static void s_run_lookup_reply (sim_t *sim, uint64_t value, const simnet_reply_t *reply)
{
    size_t record = (size_t) (value >> 2);
    unsigned attempt = (unsigned) (value & 3);
    sim_run_lookup_t *run = &sim->runs[record];
    bool right = sim_reply_right (sim->net, reply);
    if (attempt == 0 && sim->trace) {
        chord_id_t id;
        s_run_key_id (sim, record, &id);
        sim->result->run_first_timeouts += simtrace_end (sim->trace, &id);
    }
    if (attempt == 0) {
        run->first_right = right;
        if (sim->trace)
            sim_lookups_note (&sim->result->run_first, sim->net, reply);
        if (!right) {
            if (!reply->answered || reply->status == CHORD_STATUS_TIMEOUT)
                sim->result->run_first_unanswered++;
            else if (reply->status != CHORD_STATUS_OK)
                sim->result->run_first_refused++;
            else
                sim->result->run_first_wrong++;
        }
    }
    if (right) {
        run->done = true;
        return;
    }
    if (attempt < SIM_RETRIES)
        simnet_at (sim->net, simnet_now (sim->net) + SIM_RETRY_GAP_MS, s_on_retry, sim,
                   ((uint64_t) record << 2) | (attempt + 1));
    else {
        run->done = true;
        sim->result->run_failed_retried++;
    }
}

void sim_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply)
{
    sim_t *sim = arg;
    unsigned kind = (unsigned) (reply->token >> SIM_TOKEN_SHIFT);
    uint64_t value = reply->token & ((1ull << SIM_TOKEN_SHIFT) - 1);
    switch (kind) {
    case SIM_TOKEN_MEASURE:
        if (sim->measure) {
            sim_lookups_note (sim->measure, net, reply);
            if (sim->owner_dead && !sim->owner_dead[value] && !sim_reply_right (net, reply))
                sim->measure->failed_owner_alive++;
        }
        break;
    case SIM_TOKEN_RUN:
        s_run_lookup_reply (sim, value, reply);
        return;
    case SIM_TOKEN_PUT:
        if (reply->answered && reply->status == CHORD_STATUS_OK) {
            sim->key_state[value] |= SIM_KEY_STORED;
            sim->result->keys_stored++;
        }
        break;
    case SIM_TOKEN_GET: {
        char expect[48];
        sim_value_name (expect, sizeof expect, value);
        if (reply->answered && reply->status == CHORD_STATUS_OK) {
            if (reply->value && reply->value_len == strlen (expect) &&
                memcmp (reply->value, expect, reply->value_len) == 0)
                sim->result->keys_read++;
            else
                sim->result->keys_wrong++;
        } else if (reply->answered && reply->status == CHORD_STATUS_NOT_FOUND) {
            if (sim->key_state[value] & SIM_KEY_CRASHED)
                sim->result->keys_missing_crash++;
            else {
                sim->result->keys_missing++;
                if (sim->opt->log_level >= 0) {
                    char hex[CHORD_ID_HEX_LEN + 1];
                    chord_id_to_hex (&reply->key_id, hex);
                    char key[32];
                    sim_key_name (key, sizeof key, value);
                    fprintf (stderr, "%10.3f key-%llu (%.8s) is missing; its owner is node %zu; held by:",
                             simnet_now (net) / 1000.0, (unsigned long long) value, hex,
                             simnet_owner (net, &reply->key_id));
                    for (size_t i = 0; i < simnet_node_count (net); i++) {
                        const uint8_t *found;
                        size_t found_len;
                        chord_store_t *store = simnet_node_store (net, i);
                        if (store && chord_store_get (store, (const uint8_t *) key, strlen (key), &found,
                                                      &found_len) == 0)
                            fprintf (stderr, " node %zu", i);
                    }
                    fprintf (stderr, "\n");
                }
            }
        } else
            sim->result->keys_unanswered++;
        break;
    }
    }
    if (sim->outstanding)
        sim->outstanding--;
}

/* Runs until every measured client request is answered (each ends by its tmo). */
static void s_wait_outstanding (sim_t *sim)
{
    uint64_t limit = simnet_now (sim->net) + sim->opt->tmo_ms + 1;
    while (sim->outstanding && simnet_now (sim->net) < limit)
        simnet_run_until (sim->net, simnet_now (sim->net) + SIM_SLICE_MS);
}

/* Sends count lookups from random members at once, of keys[i] (or of
   random keys when keys is NULL), and waits for every answer. */
void sim_measure_lookups (sim_t *sim, sim_lookups_t *into, size_t count, const uint64_t *keys)
{
    sim->measure = into;
    for (size_t i = 0; i < count; i++) {
        size_t node = sim_random_member (sim, true);
        char key[32];
        sim_key_name (key, sizeof key, keys ? keys[i] : simrng_next (&sim->rng));
        into->issued++;
        if (node != SIMNET_NONE &&
            simnet_client (sim->net, node, CHORD_MSG_CLIENT_LOOKUP, key, strlen (key), NULL, 0,
                           sim->opt->tmo_ms, sim_token (SIM_TOKEN_MEASURE, i)) == 0)
            sim->outstanding++;
        else
            into->unanswered++;
    }
    s_wait_outstanding (sim);
    sim->measure = NULL;
}

/* The member a data operation enters through: any, or one of a few fixed
   gateways spread over the ring, as clients of a real deployment use. */
static size_t s_entry_member (sim_t *sim, size_t op)
{
    if (!sim->opt->gateways)
        return sim_random_member (sim, true);
    const size_t *sorted;
    size_t count = simnet_members (sim->net, &sorted);
    if (count == 0)
        return SIMNET_NONE;
    size_t gateways = sim->opt->gateways < count ? sim->opt->gateways : count;
    return sorted[(op % gateways) * (count / gateways)];
}

void sim_data_ops (sim_t *sim, chord_msg_type_t type)
{
    uint64_t sent_before = simnet_stats (sim->net)->sent;
    for (size_t i = 0; i < sim->opt->keys; i++) {
        if (type == CHORD_MSG_CLIENT_GET && !(sim->key_state[i] & SIM_KEY_STORED))
            continue;
        size_t node = s_entry_member (sim, i);
        sim->result->data_ops++;
        char key[32], value[48];
        sim_key_name (key, sizeof key, i);
        sim_value_name (value, sizeof value, i);
        if (node != SIMNET_NONE &&
            simnet_client (sim->net, node, type, key, strlen (key), value, strlen (value), sim->opt->tmo_ms,
                           sim_token (type == CHORD_MSG_CLIENT_PUT ? SIM_TOKEN_PUT : SIM_TOKEN_GET, i)) == 0)
            sim->outstanding++;
        else if (type == CHORD_MSG_CLIENT_GET)
            sim->result->keys_unanswered++;
    }
    s_wait_outstanding (sim);
    sim->result->data_messages += simnet_stats (sim->net)->sent - sent_before;
}

/* Checks the ring; on a violation records it and returns -1. */
int sim_check (sim_t *sim, simcheck_level_t level, const char *when)
{
    char why[768];
    sim->result->checks++;
    int rc = simcheck_ring (sim->net, level, &sim->result->report, why, sizeof why);
    sim->result->disordered_checks += sim->result->report.disordered_appendages > 0;
    if (rc == 0)
        return 0;
    sim_violation (sim, "%s: %s", when, why);
    sim->result->culprit = sim->result->report.culprit;
    return -1;
}

/* Waits (checking every interval) until the quiet invariants hold; returns
   the time that took, or UINT64_MAX by limit_ms. */
static uint64_t s_converge (sim_t *sim, uint64_t limit_ms, uint64_t interval_ms)
{
    uint64_t start = simnet_now (sim->net);
    for (;;) {
        if (simcheck_ring (sim->net, SIMCHECK_QUIET, &sim->result->report, NULL, 0) == 0)
            return simnet_now (sim->net) - start;
        if (simnet_now (sim->net) - start >= limit_ms)
            return UINT64_MAX;
        simnet_run_until (sim->net, simnet_now (sim->net) + interval_ms);
    }
}

/*  Builds the ring by joins in doubling waves: each wave starts as many
    joiners as there are members (through random members), and the next
    wave starts once they are all ACTIVE; then waits until the ring is
    exact. Returns 0, or -1 after recording a violation.  */
int sim_build_join (sim_t *sim, size_t count)
{
    simnet_t *net = sim->net;
    size_t first = simnet_add (net);
    if (first == SIMNET_NONE || simnet_start (net, first, NULL, 0) != 0) {
        sim_violation (sim, "cannot start the first node");
        return -1;
    }
    size_t total = 1;
    while (total < count) {
        const size_t *sorted;
        size_t members = simnet_members (net, &sorted);
        size_t wave = count - total < members ? count - total : members;
        for (size_t i = 0; i < wave; i++)
            if (sim_join_one (sim) != SIMNET_NONE)
                total++;
        uint64_t limit = simnet_now (net) + SIM_WAVE_LIMIT_MS;
        while (simnet_members (net, &sorted) < sim_up_count (net)) {
            if (simnet_now (net) >= limit) {
                sim_violation (sim, "joins stuck: %zu of %zu nodes are members after %d s",
                             simnet_members (net, &sorted), sim_up_count (net), SIM_WAVE_LIMIT_MS / 1000);
                return -1;
            }
            simnet_run_until (net, simnet_now (net) + SIM_SLICE_MS);
        }
    }
    sim->result->joins = 0;
    if (s_converge (sim, SIM_BUILD_LIMIT_MS, sim->opt->stabilize_ms) == UINT64_MAX) {
        char why[768];
        simcheck_ring (net, SIMCHECK_QUIET, NULL, why, sizeof why);
        sim_violation (sim, "the ring built by joins is not exact after %d s: %s", SIM_BUILD_LIMIT_MS / 1000,
                     why);
        return -1;
    }
    return 0;
}


void sim_init (sim_t *sim, const sim_options_t *opt, sim_result_t *result, simnet_t *net)
{
    memset (sim, 0, sizeof *sim);
    memset (result, 0, sizeof *result);
    sim->opt = opt;
    sim->result = result;
    sim->net = net;
    sim->phase = SIM_PHASE_MEASURE;
    sim->leave_fraction = opt->leave_fraction;
    simrng_t root;
    simrng_seed (&root, opt->seed);
    simrng_fork (&sim->rng, &root, SIM_SCENARIO_STREAM);
    simnet_on_reply (net, sim_on_reply, sim);
}
