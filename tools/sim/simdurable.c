/*  simdurable: acknowledged writes against churn, and copies regained
    after crashes. See simdurable.h.  */
#include "simdurable.h"

#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "record.h"
#include "sim.h"
#include "simcheck.h"
#include "simrng.h"
#include "store.h"

#define S_STREAM 0xd0ab1e5u   /* simrng_fork label of the scenario's own stream */
#define S_TOKEN_SHIFT 56      /* client tokens: kind << S_TOKEN_SHIFT | value */
#define S_TOKEN_PUT 1         /* value: the write's seq */
#define S_TOKEN_GET 2         /* value: key << 2 | attempt */
#define S_READ_RETRIES 3      /* extra tries of a read that got no answer */
#define S_RETRY_GAP_MS 1000   /* pause before each */
#define S_PICK_TRIES 64       /* random picks before giving up on a member or a key */
#define S_SEEDS_MAX 8         /* members a joiner is given, at most */
#define S_NAME_MAX 32         /* bytes of a key or value name, NUL included */
#define S_OVERWRITE_SHARE 0.5 /* writes that overwrite a key already written */
#define S_BAND 0.1            /* churn keeps the population within this share of nodes */

/* What a key's read after the quiet period came to. */
typedef enum {
    S_READ_NONE = 0,   /* not read (no acknowledged write) or not yet answered */
    S_READ_RIGHT,      /* its last acknowledged value, or a later maybe */
    S_READ_MISSING,    /* NOT_FOUND */
    S_READ_STALE,      /* another value */
    S_READ_UNANSWERED, /* no answer or an error, every time */
} s_read_t;

typedef struct {
    chord_id_t id;
    uint64_t acked_seq; /* its last acknowledged write; 0: none */
    uint64_t acked_ms;  /* when that was acknowledged */
    uint64_t maybe_seq; /* a later write of unknown fate (the key's last); 0: none */
    bool busy;          /* a write is outstanding */
    s_read_t read;      /* what its read back came to */
    uint64_t read_seq;  /* the write the read returned, 0: none or not one of ours */
} s_key_t;

/* A crash whose store held acknowledged keys. */
typedef struct {
    uint64_t crash_ms;
    uint32_t *keys;       /* those not yet seen with R copies, first count */
    size_t count;
    uint64_t repaired_ms; /* how long until none was left; UINT64_MAX: not yet */
} s_crash_t;

/* A crash or leave, remembered for the churn rule. */
typedef struct {
    size_t node;
    uint64_t at_ms;
} s_departure_t;

/* A ring position for the churn rule: a member, or a peer that departed recently. */
typedef struct {
    chord_id_t id;
    size_t node;
    bool departed;
} s_position_t;

typedef struct {
    const simdurable_config_t *config;
    simdurable_result_t *result;
    simnet_t *net;
    simrng_t rng;               /* every choice of the scenario */
    size_t replicas;            /* R, at least 1 */
    bool running;               /* churn and writes go on */
    bool failed;                /* memory ran short */
    s_key_t *keys;              /* by key number, as in "key-N" */
    size_t key_count;
    size_t key_alloc;
    uint32_t *write_key;        /* by seq - 1: the key each write was for */
    size_t write_count;
    size_t write_alloc;
    s_crash_t *crashes;         /* watched for re-replication */
    size_t crash_count;
    size_t crash_alloc;
    size_t *crashed;            /* crashed peers not restarted yet */
    size_t crashed_count;
    size_t crashed_alloc;
    s_departure_t *departures;  /* within the repair window */
    size_t departure_count;
    size_t departure_alloc;
    s_position_t *positions;    /* scratch for the churn rule */
    size_t position_alloc;
    size_t reads_outstanding;   /* keys whose read has not ended */
} s_durable_t;

/* ---------------------------------------------------------------- helpers */

/* Makes room for one more of count elements of size bytes. 0 or -1. */
static int s_grow (void **array, size_t *alloc, size_t count, size_t size)
{
    if (count < *alloc)
        return 0;
    size_t grown_alloc = *alloc ? *alloc * 2 : 256;
    void *grown = realloc (*array, grown_alloc * size);
    if (!grown)
        return -1;
    *array = grown;
    *alloc = grown_alloc;
    return 0;
}

static uint64_t s_token (unsigned kind, uint64_t value)
{
    return ((uint64_t) kind << S_TOKEN_SHIFT) | value;
}

static void s_key_name (char *out, size_t size, size_t key)
{
    snprintf (out, size, "key-%zu", key);
}

/* The key a stored key names, or SIZE_MAX when not one of ours. */
static size_t s_key_of (const s_durable_t *d, const uint8_t *name, size_t size)
{
    char text[S_NAME_MAX];
    if (size <= 4 || size >= sizeof text || memcmp (name, "key-", 4) != 0)
        return SIZE_MAX;
    memcpy (text, name + 4, size - 4);
    text[size - 4] = '\0';
    char *end;
    unsigned long long key = strtoull (text, &end, 10);
    return *end || key >= d->key_count ? SIZE_MAX : (size_t) key;
}

/*  The write a value names, when it is one of key's: its seq, else 0.
    Takes a versioned record (a tombstone names none) or a plain value.  */
static uint64_t s_value_seq (const s_durable_t *d, size_t key, const uint8_t *data, size_t size)
{
    chord_record_t record;
    if (data && chord_record_decode (&record, data, size) == 0) {
        if (record.tombstone)
            return 0;
        data = record.value;
        size = record.value_len;
    }
    char text[S_NAME_MAX];
    if (!data || size <= 6 || size >= sizeof text || memcmp (data, "write-", 6) != 0)
        return 0;
    memcpy (text, data + 6, size - 6);
    text[size - 6] = '\0';
    char *end;
    unsigned long long seq = strtoull (text, &end, 10);
    if (*end || seq == 0 || seq > d->write_count || d->write_key[seq - 1] != key)
        return 0;
    return seq;
}

/* The write of key that node's store holds, 0 for none. */
static uint64_t s_stored_seq (const s_durable_t *d, size_t node, size_t key)
{
    chord_store_t *store = simnet_node_store (d->net, node);
    char name[S_NAME_MAX];
    s_key_name (name, sizeof name, key);
    const uint8_t *value;
    size_t value_len;
    if (!store || chord_store_get (store, (const uint8_t *) name, strlen (name), &value, &value_len) != 0)
        return 0;
    return s_value_seq (d, key, value, value_len);
}

/* Index into the members sorted by id of successor(id). */
static size_t s_owner_position (simnet_t *net, const size_t *sorted, size_t count, const chord_id_t *id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chord_id_cmp (&simnet_node_peer (net, sorted[mid])->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == count ? 0 : lo;
}

/*  Copies of key on its replica set (owner and the next R - 1 members):
    sets *latest to the highest write they hold (0: none) and returns how
    many hold it; *wanted gets the size of the replica set.  */
static size_t s_copies (const s_durable_t *d, size_t key, uint64_t *latest, size_t *wanted)
{
    const size_t *sorted;
    size_t members = simnet_members (d->net, &sorted);
    *latest = 0;
    *wanted = d->replicas < members ? d->replicas : members;
    if (members == 0)
        return 0;
    size_t at = s_owner_position (d->net, sorted, members, &d->keys[key].id);
    uint64_t seqs[CHORD_REPLICAS_MAX];
    size_t count = *wanted;
    for (size_t j = 0; j < count; j++) {
        seqs[j] = s_stored_seq (d, sorted[(at + j) % members], key);
        if (seqs[j] > *latest)
            *latest = seqs[j];
    }
    size_t holding = 0;
    for (size_t j = 0; j < count && *latest; j++)
        holding += seqs[j] == *latest;
    return holding;
}

/* Whether key has its R copies of its latest version, no older than its last acknowledged write. */
static bool s_replicated (const s_durable_t *d, size_t key)
{
    uint64_t latest;
    size_t wanted;
    size_t holding = s_copies (d, key, &latest, &wanted);
    return latest >= d->keys[key].acked_seq && holding >= wanted;
}

/* An ACTIVE member at random, or SIMNET_NONE. */
static size_t s_random_active (s_durable_t *d)
{
    const size_t *sorted;
    size_t count = simnet_members (d->net, &sorted);
    for (int tries = 0; count && tries < S_PICK_TRIES; tries++) {
        size_t node = sorted[simrng_below (&d->rng, count)];
        if (chord_node_state (simnet_node (d->net, node)) == CHORD_NODE_ACTIVE)
            return node;
    }
    return SIMNET_NONE;
}

/* ---------------------------------------------------------------- re-replication */

static int s_collect_key (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
    (void) key_id;
    (void) value;
    (void) value_len;
    s_durable_t *d = arg;
    s_crash_t *crash = &d->crashes[d->crash_count];
    size_t index = s_key_of (d, key, key_len);
    if (index == SIZE_MAX || d->keys[index].acked_seq == 0)
        return 0;
    size_t alloc = crash->count + 1;
    uint32_t *grown = realloc (crash->keys, alloc * sizeof *grown);
    if (!grown) {
        d->failed = true;
        return 1;
    }
    crash->keys = grown;
    crash->keys[crash->count++] = (uint32_t) index;
    return 0;
}

/* Notes the acknowledged keys node's store holds, to watch them regain R copies. */
static void s_watch_crash (s_durable_t *d, size_t node)
{
    if (s_grow ((void **) &d->crashes, &d->crash_alloc, d->crash_count, sizeof *d->crashes) != 0) {
        d->failed = true;
        return;
    }
    s_crash_t *crash = &d->crashes[d->crash_count];
    memset (crash, 0, sizeof *crash);
    crash->crash_ms = simnet_now (d->net);
    crash->repaired_ms = UINT64_MAX;
    chord_id_t zero;
    memset (&zero, 0, sizeof zero);
    chord_store_range (simnet_node_store (d->net, node), &zero, &zero, s_collect_key, d);
    if (crash->count)
        d->crash_count++;
    else
        free (crash->keys);
}

/* Drops the keys of each open crash that have R copies now; closes crashes with none left. */
static void s_repair_check (s_durable_t *d)
{
    for (size_t c = 0; c < d->crash_count; c++) {
        s_crash_t *crash = &d->crashes[c];
        if (crash->repaired_ms != UINT64_MAX)
            continue;
        for (size_t i = 0; i < crash->count;)
            if (s_replicated (d, crash->keys[i]))
                crash->keys[i] = crash->keys[--crash->count];
            else
                i++;
        if (crash->count == 0)
            crash->repaired_ms = simnet_now (d->net) - crash->crash_ms;
    }
}

/* ---------------------------------------------------------------- churn */

static int s_cmp_position (const void *a, const void *b)
{
    const s_position_t *x = a, *y = b;
    int c = chord_id_cmp (&x->id, &y->id);
    return c ? c : (x->node > y->node) - (x->node < y->node);
}

/* Forgets departures older than the repair window. */
static void s_prune_departures (s_durable_t *d)
{
    uint64_t now = simnet_now (d->net);
    size_t kept = 0;
    for (size_t i = 0; i < d->departure_count; i++)
        if (now - d->departures[i].at_ms < d->config->repair_window_ms)
            d->departures[kept++] = d->departures[i];
    d->departure_count = kept;
}

/*  The members and the recent departures, sorted by id, each departure
    once (a restarted peer is a member marked departed). Returns how many,
    or 0 when memory is short.  */
static size_t s_positions (s_durable_t *d)
{
    const size_t *sorted;
    size_t members = simnet_members (d->net, &sorted);
    size_t count = members + d->departure_count;
    if (count > d->position_alloc) {
        s_position_t *grown = realloc (d->positions, count * sizeof *grown);
        if (!grown)
            return 0;
        d->positions = grown;
        d->position_alloc = count;
    }
    size_t n = 0;
    for (size_t i = 0; i < members; i++)
        d->positions[n++] = (s_position_t){.id = simnet_node_peer (d->net, sorted[i])->id, .node = sorted[i]};
    for (size_t i = 0; i < d->departure_count; i++) {
        size_t node = d->departures[i].node;
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            if (d->positions[k].node == node) {
                d->positions[k].departed = true;
                found = true;
            }
        if (!found)
            d->positions[n++] =
                (s_position_t){.id = simnet_node_peer (d->net, node)->id, .node = node, .departed = true};
    }
    qsort (d->positions, n, sizeof *d->positions, s_cmp_position);
    return n;
}

/* Whether node may depart now under the churn rule (see simdurable.h). */
static bool s_may_depart (const s_durable_t *d, size_t count, size_t node)
{
    size_t r = d->replicas;
    if (r <= 1 || count < r)
        return r <= 1;
    size_t at = 0;
    while (at < count && d->positions[at].node != node)
        at++;
    if (at == count || d->positions[at].departed)
        return false;
    /* Every window of r consecutive positions that holds node. */
    for (size_t first = at + count - (r - 1); first <= at + count; first++) {
        size_t departed = 1;
        for (size_t k = 0; k < r; k++) {
            size_t p = (first + k) % count;
            departed += p != at && d->positions[p].departed;
        }
        if (departed > r - 1)
            return false;
    }
    return true;
}

/* An ACTIVE member the churn rule lets depart, or SIMNET_NONE. */
static size_t s_pick_victim (s_durable_t *d)
{
    size_t count = s_positions (d);
    if (count == 0)
        return SIMNET_NONE;
    for (int tries = 0; tries < S_PICK_TRIES; tries++) {
        size_t node = s_random_active (d);
        if (node != SIMNET_NONE && s_may_depart (d, count, node))
            return node;
    }
    return SIMNET_NONE;
}

static void s_note_departure (s_durable_t *d, size_t node)
{
    if (s_grow ((void **) &d->departures, &d->departure_alloc, d->departure_count, sizeof *d->departures) !=
        0) {
        d->failed = true;
        return;
    }
    d->departures[d->departure_count++] = (s_departure_t){.node = node, .at_ms = simnet_now (d->net)};
}

/* A fresh peer joins, or a crashed one restarts on its old store. */
static void s_arrive (s_durable_t *d)
{
    size_t seeds[S_SEEDS_MAX];
    size_t seed_count = d->config->join_seeds < S_SEEDS_MAX ? d->config->join_seeds : S_SEEDS_MAX;
    for (size_t i = 0; i < seed_count; i++)
        if ((seeds[i] = s_random_active (d)) == SIMNET_NONE)
            return;
    if (d->crashed_count && simrng_chance (&d->rng, d->config->restart_fraction)) {
        size_t at = simrng_below (&d->rng, d->crashed_count);
        size_t node = d->crashed[at];
        d->crashed[at] = d->crashed[--d->crashed_count];
        if (simnet_restart (d->net, node, seeds, seed_count) == 0)
            d->result->restarts++;
        return;
    }
    size_t node = simnet_add (d->net);
    if (node != SIMNET_NONE && simnet_start (d->net, node, seeds, seed_count) == 0)
        d->result->joins++;
}

static void s_on_churn (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_durable_t *d = arg;
    if (!d->running)
        return;
    s_prune_departures (d);
    size_t up = sim_up_count (net);
    double target = (double) d->config->nodes;
    bool depart = (double) up > target * (1 + S_BAND)   ? true
                  : (double) up < target * (1 - S_BAND) ? false
                                                        : simrng_chance (&d->rng, 0.5);
    if (!depart) {
        s_arrive (d);
        return;
    }
    size_t victim = s_pick_victim (d);
    if (victim == SIMNET_NONE)
        d->result->refused_departures++;
    else if (simrng_chance (&d->rng, d->config->leave_fraction)) {
        if (simnet_leave (net, victim) == 0) {
            d->result->leaves++;
            s_note_departure (d, victim);
        }
    } else {
        s_watch_crash (d, victim);
        if (simnet_crash (net, victim) == 0) {
            d->result->crashes++;
            s_note_departure (d, victim);
            if (s_grow ((void **) &d->crashed, &d->crashed_alloc, d->crashed_count, sizeof *d->crashed) == 0)
                d->crashed[d->crashed_count++] = victim;
        }
    }
}

/* ---------------------------------------------------------------- writes and reads */

/* A key to write: an idle one already written (half the time), else a new one. SIZE_MAX: none. */
static size_t s_pick_key (s_durable_t *d)
{
    if (d->key_count && simrng_chance (&d->rng, S_OVERWRITE_SHARE))
        for (int tries = 0; tries < S_PICK_TRIES; tries++) {
            size_t key = simrng_below (&d->rng, d->key_count);
            if (!d->keys[key].busy && !d->keys[key].maybe_seq)
                return key;
        }
    if (d->key_count >= UINT32_MAX ||
        s_grow ((void **) &d->keys, &d->key_alloc, d->key_count, sizeof *d->keys) != 0) {
        d->failed = true;
        return SIZE_MAX;
    }
    size_t key = d->key_count++;
    memset (&d->keys[key], 0, sizeof d->keys[key]);
    char name[S_NAME_MAX];
    s_key_name (name, sizeof name, key);
    chord_id_hash (&d->keys[key].id, name, strlen (name));
    d->result->keys++;
    return key;
}

static void s_on_write (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_durable_t *d = arg;
    if (!d->running)
        return;
    size_t node = s_random_active (d);
    size_t key = node == SIMNET_NONE ? SIZE_MAX : s_pick_key (d);
    if (key != SIZE_MAX &&
        s_grow ((void **) &d->write_key, &d->write_alloc, d->write_count, sizeof *d->write_key) == 0) {
        uint64_t seq = d->write_count + 1;
        char name[S_NAME_MAX], value[S_NAME_MAX];
        s_key_name (name, sizeof name, key);
        snprintf (value, sizeof value, "write-%llu", (unsigned long long) seq);
        if (simnet_client (net, node, CHORD_MSG_CLIENT_PUT, name, strlen (name), value, strlen (value),
                           d->config->tmo_ms, s_token (S_TOKEN_PUT, seq)) == 0) {
            d->write_key[d->write_count++] = (uint32_t) key;
            d->keys[key].busy = true;
            d->result->writes++;
        }
    }
    double gap_ms = simrng_exponential (&d->rng, 1000.0 / d->config->write_rate);
    simnet_at (net, simnet_now (net) + 1 + (uint64_t) gap_ms, s_on_write, d, 0);
}

static void s_read_send (s_durable_t *d, size_t key, unsigned attempt);

static void s_on_read_retry (void *arg, simnet_t *net, uint64_t token)
{
    (void) net;
    s_read_send (arg, (size_t) (token >> 2), (unsigned) (token & 3));
}

/* Ends key's read with outcome, or tries again after a pause when there are tries left. */
static void s_read_end (s_durable_t *d, size_t key, unsigned attempt, s_read_t outcome)
{
    if (outcome == S_READ_UNANSWERED && attempt < S_READ_RETRIES) {
        if (simnet_at (d->net, simnet_now (d->net) + S_RETRY_GAP_MS, s_on_read_retry, d,
                       ((uint64_t) key << 2) | (attempt + 1)) == 0)
            return;
    }
    d->keys[key].read = outcome;
    d->reads_outstanding--;
    switch (outcome) {
    case S_READ_RIGHT:
        d->result->reads_right++;
        return;
    case S_READ_MISSING:
        d->result->lost_missing++;
        break;
    case S_READ_STALE:
        d->result->lost_stale++;
        break;
    case S_READ_UNANSWERED:
    case S_READ_NONE:
        d->result->lost_unanswered++;
        break;
    }
    d->result->lost++;
}

static void s_read_send (s_durable_t *d, size_t key, unsigned attempt)
{
    size_t node = s_random_active (d);
    char name[S_NAME_MAX];
    s_key_name (name, sizeof name, key);
    uint64_t token = s_token (S_TOKEN_GET, ((uint64_t) key << 2) | attempt);
    if (node == SIMNET_NONE ||
        simnet_client (d->net, node, CHORD_MSG_CLIENT_GET, name, strlen (name), NULL, 0, d->config->tmo_ms,
                       token) != 0)
        s_read_end (d, key, attempt, S_READ_UNANSWERED);
}

static void s_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply)
{
    s_durable_t *d = arg;
    unsigned kind = (unsigned) (reply->token >> S_TOKEN_SHIFT);
    uint64_t value = reply->token & ((1ull << S_TOKEN_SHIFT) - 1);
    bool ok = reply->answered && reply->status == CHORD_STATUS_OK;
    if (kind == S_TOKEN_PUT) {
        s_key_t *key = &d->keys[d->write_key[value - 1]];
        key->busy = false;
        if (ok) {
            key->acked_seq = value;
            key->acked_ms = simnet_now (net);
            d->result->writes_acked++;
        } else {
            key->maybe_seq = value;
            d->result->writes_maybe++;
        }
    } else if (kind == S_TOKEN_GET) {
        size_t index = (size_t) (value >> 2);
        unsigned attempt = (unsigned) (value & 3);
        s_key_t *key = &d->keys[index];
        if (ok) {
            uint64_t seq = s_value_seq (d, index, reply->value, reply->value_len);
            key->read_seq = seq;
            bool right = seq && (seq == key->acked_seq || seq == key->maybe_seq);
            s_read_end (d, index, attempt, right ? S_READ_RIGHT : S_READ_STALE);
        } else if (reply->answered && reply->status == CHORD_STATUS_NOT_FOUND)
            s_read_end (d, index, attempt, S_READ_MISSING);
        else
            s_read_end (d, index, attempt, S_READ_UNANSWERED);
    }
}

/* ---------------------------------------------------------------- the run */

/* Runs to until_ms in slices of check_ms, counting copies after each. */
static void s_run_checked (s_durable_t *d, uint64_t until_ms)
{
    while (simnet_now (d->net) < until_ms) {
        uint64_t to = simnet_now (d->net) + d->config->check_ms;
        simnet_run_until (d->net, to < until_ms ? to : until_ms);
        s_repair_check (d);
    }
}

/* Copies of key anywhere among the members, of any version. */
static size_t s_copies_anywhere (const s_durable_t *d, size_t key)
{
    const size_t *sorted;
    size_t members = simnet_members (d->net, &sorted);
    size_t count = 0;
    for (size_t i = 0; i < members; i++)
        count += s_stored_seq (d, sorted[i], key) > 0;
    return count;
}

/* Counts the acknowledged keys short of R copies of their latest version,
   and the copies kept outside replica sets (left behind by churn). */
static void s_count_copies (s_durable_t *d)
{
    for (size_t key = 0; key < d->key_count; key++) {
        if (!d->keys[key].acked_seq)
            continue;
        d->result->keys_acked++;
        uint64_t latest;
        size_t wanted;
        size_t holding = s_copies (d, key, &latest, &wanted);
        const size_t *sorted;
        size_t members = simnet_members (d->net, &sorted);
        size_t in_set = 0;
        if (members) {
            size_t at = s_owner_position (d->net, sorted, members, &d->keys[key].id);
            for (size_t j = 0; j < wanted; j++)
                in_set += s_stored_seq (d, sorted[(at + j) % members], key) > 0;
        }
        d->result->copies_extra += s_copies_anywhere (d, key) - in_set;
        if (latest < d->keys[key].acked_seq)
            holding = 0;
        if (holding < wanted) {
            d->result->under_replicated++;
            d->result->copies_missing += wanted - holding;
        }
    }
}

static const char *s_read_name (s_read_t read)
{
    switch (read) {
    case S_READ_MISSING:
        return "NOT_FOUND";
    case S_READ_STALE:
        return "another value";
    case S_READ_UNANSWERED:
        return "no answer";
    case S_READ_RIGHT:
        return "the right value";
    case S_READ_NONE:
        break;
    }
    return "nothing";
}

/* Describes the first lost keys: what was acknowledged, what the read got, who holds what. */
static void s_describe_lost (s_durable_t *d)
{
    FILE *out = d->config->report;
    size_t told = 0;
    for (size_t key = 0; out && key < d->key_count && told < d->config->describe_lost; key++) {
        const s_key_t *k = &d->keys[key];
        if (!k->acked_seq || k->read == S_READ_RIGHT)
            continue;
        told++;
        char hex[CHORD_ID_HEX_LEN + 1];
        chord_id_to_hex (&k->id, hex);
        fprintf (out, "chord-sim: lost key-%zu (%.8s): write-%llu acknowledged at %.3f s", key, hex,
                 (unsigned long long) k->acked_seq, k->acked_ms / 1000.0);
        if (k->maybe_seq)
            fprintf (out, " (write-%llu after it unknown)", (unsigned long long) k->maybe_seq);
        fprintf (out, "; the read got %s", s_read_name (k->read));
        if (k->read == S_READ_STALE && k->read_seq)
            fprintf (out, " (write-%llu)", (unsigned long long) k->read_seq);
        fprintf (out, "; owner node %zu; held by:", simnet_owner (d->net, &k->id));
        bool any = false;
        for (size_t node = 0; node < simnet_node_count (d->net); node++) {
            uint64_t seq = s_stored_seq (d, node, key);
            if (seq) {
                fprintf (out, " node %zu (write-%llu)", node, (unsigned long long) seq);
                any = true;
            }
        }
        fprintf (out, "%s\n", any ? "" : " no live peer");
    }
}

static int s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted values (nearest rank). */
static uint64_t s_quantile (const uint64_t *sorted, size_t count, double q)
{
    size_t rank = (size_t) (q * (double) count + 0.999999);
    rank = rank < 1 ? 1 : rank > count ? count : rank;
    return sorted[rank - 1];
}

/* Mean, p50, p90 and max of the re-replication times. */
static void s_repair_stats (s_durable_t *d)
{
    simdurable_result_t *result = d->result;
    result->crashes_measured = d->crash_count;
    uint64_t *times = malloc ((d->crash_count ? d->crash_count : 1) * sizeof *times);
    if (!times) {
        d->failed = true;
        return;
    }
    size_t count = 0;
    double sum = 0;
    for (size_t c = 0; c < d->crash_count; c++)
        if (d->crashes[c].repaired_ms != UINT64_MAX) {
            times[count++] = d->crashes[c].repaired_ms;
            sum += (double) d->crashes[c].repaired_ms;
        }
    result->crashes_repaired = count;
    if (count) {
        qsort (times, count, sizeof *times, s_cmp_u64);
        result->repair_mean_ms = sum / (double) count;
        result->repair_p50_ms = s_quantile (times, count, 0.5);
        result->repair_p90_ms = s_quantile (times, count, 0.9);
        result->repair_max_ms = times[count - 1];
    }
    free (times);
}

int simdurable_run (simnet_t *net, const simdurable_config_t *config, simdurable_result_t *result)
{
    if (!net || !config || !result || !simnet_config (net)->keep_crashed_stores || config->nodes == 0 ||
        config->check_ms == 0 || config->tmo_ms == 0 || config->join_seeds == 0 ||
        config->join_seeds > S_SEEDS_MAX || config->replicas > CHORD_REPLICAS_MAX)
        return -1;
    memset (result, 0, sizeof *result);
    s_durable_t durable = {
        .config = config,
        .result = result,
        .net = net,
        .replicas = config->replicas ? config->replicas : 1,
    };
    s_durable_t *d = &durable;
    simrng_t root;
    simrng_seed (&root, config->seed);
    simrng_fork (&d->rng, &root, S_STREAM);
    simnet_on_reply (net, s_on_reply, d);

    /* The run: churn events spread evenly (one in each slice of the run, at
       a random point of it), Poisson writes. */
    uint64_t start = simnet_now (net);
    uint64_t end = start + config->run_ms;
    for (size_t i = 0; i < config->churn_events; i++) {
        double slice_ms = (double) config->run_ms / (double) config->churn_events;
        double at = ((double) i + simrng_unit (&d->rng)) * slice_ms;
        simnet_at (net, start + (uint64_t) at, s_on_churn, d, i);
    }
    if (config->write_rate > 0)
        simnet_at (net, start + (uint64_t) simrng_exponential (&d->rng, 1000.0 / config->write_rate),
                   s_on_write, d, 0);
    d->running = true;
    simnet_set_faults (net, config->loss, config->dup);
    s_run_checked (d, end);

    /* The quiet period: outstanding writes end by their tmo; copies keep being counted. */
    d->running = false;
    simnet_set_faults (net, 0, 0);
    s_run_checked (d, end + config->quiet_ms);
    result->ring_exact =
        simcheck_ring (net, SIMCHECK_QUIET, NULL, result->ring_why, sizeof result->ring_why) == 0;
    const size_t *sorted;
    result->members = simnet_members (net, &sorted);

    /* Copies first (reads could repair them), then every acknowledged key read back. */
    s_count_copies (d);
    for (size_t key = 0; key < d->key_count; key++)
        if (d->keys[key].acked_seq) {
            d->reads_outstanding++;
            s_read_send (d, key, 0);
        }
    uint64_t limit =
        simnet_now (net) + (S_READ_RETRIES + 1) * ((uint64_t) config->tmo_ms + S_RETRY_GAP_MS) + 1;
    while (d->reads_outstanding && simnet_now (net) < limit)
        simnet_run_until (net, simnet_now (net) + config->check_ms);
    for (size_t key = 0; d->reads_outstanding && key < d->key_count; key++)
        if (d->keys[key].acked_seq && d->keys[key].read == S_READ_NONE)
            s_read_end (d, key, S_READ_RETRIES, S_READ_UNANSWERED);
    s_describe_lost (d);
    s_repair_stats (d);

    simnet_on_reply (net, NULL, NULL);
    for (size_t c = 0; c < d->crash_count; c++)
        free (d->crashes[c].keys);
    free (d->crashes);
    free (d->keys);
    free (d->write_key);
    free (d->crashed);
    free (d->departures);
    free (d->positions);
    return d->failed ? -1 : 0;
}
