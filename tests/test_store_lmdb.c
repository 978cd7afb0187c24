/*  Tests of the LMDB store (daemon/store_lmdb) through the chord_store
    interface (the checks every backend must pass, in tests/store_cases.h),
    plus what only a durable store has: reopening, identity,
    foreign and damaged directories, long keys, a full map and a full disk,
    and batches (group commit): durable once committed, dropped when not,
    a failed put or a failed commit inside one. The memory store's batches
    (none: begin and commit do nothing) are checked here too.

    Everything happens under one mkdtemp directory in /tmp, removed at exit.
    Bulk tests open their stores with fast set (no fsync per put) to stay
    quick; the durable path is covered by the others.  */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "id.h"
#include "store.h"
#include "store_cases.h"
#include "store_lmdb.h"
#include "tap.h"

#define S_MANY_KEYS 50000              //  keys in the bulk test
#define S_BACKEND "lmdb"               //  names the interface checks
#define S_PATH_MAX 512                 //  bytes of a path under the test directory
#define S_ERROR_MAX 512                //  bytes of an open error
#define S_SMALL_MAP ((size_t) 1 << 20) //  bytes: 1 MiB, for the full-map test
#define S_FILL_VALUE 4096              //  bytes of each value that fills the map
#define S_FILL_MAX 1000                //  puts tried before giving up on filling
#define S_CRASH_KEYS 1000              //  keys a killed child writes
#define S_CRASH_BATCH 100              //  keys per batch when the child batches them
#define S_BATCH_PUTS 10                //  puts per batch that fill a map in batches
#define S_VALUE_MAX (1024 * 1024)      //  bytes: CHORD_VALUE_MAX
#define S_IDENTITY "tcp://127.0.0.1:7000#0"
#define S_OTHER_ID "tcp://127.0.0.1:7000#2"

static char s_root[64]; //  the mkdtemp directory, "" once removed

static int s_remove_one (const char *path, const struct stat *stat, int flag, struct FTW *ftw)
{
    (void) stat;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static void s_cleanup (void)
{
    if (s_root[0] && nftw (s_root, s_remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf (stderr, "cannot remove %s: %s\n", s_root, strerror (errno));
    s_root[0] = 0;
}

static const char *s_path (char out[S_PATH_MAX], const char *name)
{
    snprintf (out, S_PATH_MAX, "%s/%s", s_root, name);
    return out;
}

//  The path of file in the test directory's subdirectory dir.
static const char *s_file (char out[S_PATH_MAX], const char *dir, const char *file)
{
    snprintf (out, S_PATH_MAX, "%s/%s/%s", s_root, dir, file);
    return out;
}

static chord_store_t *s_open (const char *name, const char *identity, size_t map_size_bytes, bool fast,
                              char *error)
{
    char path[S_PATH_MAX];
    char ignored[S_ERROR_MAX];
    if (error)
        error[0] = 0;
    return chordd_store_lmdb_open (s_path (path, name), identity, map_size_bytes, fast,
                                   error ? error : ignored, S_ERROR_MAX);
}

static int s_get_rc (chord_store_t *store, const void *key, size_t key_len)
{
    const uint8_t *got = NULL;
    size_t got_len = 0;
    return chord_store_get (store, key, key_len, &got, &got_len);
}

static int s_put (chord_store_t *store, const void *key, size_t key_len, const void *value, size_t value_len)
{
    return chord_store_put (store, key, key_len, value, value_len);
}

static int s_del (chord_store_t *store, const void *key, size_t key_len)
{
    return chord_store_del (store, key, key_len);
}

static bool s_error_has (const char *error, const char *part)
{
    if (strstr (error, part))
        return true;
    tap_diag ("error \"%s\" lacks \"%s\"", error, part);
    return false;
}

//  The interface checks on a durable store, then everything is there after
//  reopening.
static void s_test_basics (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("basics", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open a new store (%s)", error))
        return;
    store_cases_basics (store, S_BACKEND);
    store_cases_destroy (&store, S_BACKEND, "a store");

    store = s_open ("basics", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "reopen (%s)", error))
        return;
    tap_ok (chord_store_count (store) == STORE_CASES_BASICS_COUNT, "count survives reopening");
    tap_ok (store_cases_basics_kept (store), "values survive reopening");
    chord_store_destroy (&store);
}

//  The bulk checks, with the store closed and reopened between filling it
//  and reading it back: the bulk data is on disk.
static void s_test_many (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("many", S_IDENTITY, 0, true, error);
    if (!tap_ok (store != NULL, "open for the bulk test (%s)", error))
        return;
    store_cases_bulk_fill (store, S_BACKEND, S_MANY_KEYS);
    chord_store_destroy (&store);
    store = s_open ("many", S_IDENTITY, 0, true, error);
    if (!tap_ok (store != NULL, "reopen the bulk store (%s)", error))
        return;
    tap_ok (chord_store_count (store) == store_cases_bulk_count (S_MANY_KEYS), "count survives reopening");
    store_cases_bulk_check (store, S_BACKEND, S_MANY_KEYS);
    store_cases_destroy (&store, S_BACKEND, "a full store");
}

static void s_test_empty_range (void)
{
    chord_store_t *store = s_open ("empty", S_IDENTITY, 0, true, NULL);
    if (!tap_ok (store != NULL, "open for the empty range"))
        return;
    store_cases_empty_range (store, S_BACKEND);
    chord_store_destroy (&store);
}

typedef struct {
    const uint8_t *key; //  the key the visitor must see
    size_t key_len;
    size_t seen;    //  times it was seen whole
    size_t visited; //  entries visited
} s_find_t;

static int s_find_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                         const uint8_t *value, size_t value_len)
{
    (void) key_id;
    (void) value;
    (void) value_len;
    s_find_t *find = arg;
    find->visited++;
    if (key_len == find->key_len && memcmp (key, find->key, key_len) == 0)
        find->seen++;
    return 0;
}

//  Keys around LMDB's 511-byte limit and up to CHORD_KEY_MAX, including
//  long keys that share everything but their last byte.
static void s_test_long_keys (void)
{
    static const size_t lens[] = {489, 490, 491, 492, 511, 512, 1000, 4096};
    enum { S_LENS = sizeof lens / sizeof lens[0], S_LONGEST = 4096 };
    uint8_t keys[S_LENS + 1][S_LONGEST];
    uint8_t value[64];
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("long", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open for long keys (%s)", error))
        return;
    //  Every key starts with the same 480 bytes, so long keys share the
    //  prefix kept in the LMDB key.
    for (size_t k = 0; k <= S_LENS; k++)
        for (size_t i = 0; i < S_LONGEST; i++)
            keys[k][i] = (uint8_t) (i < 480 ? 'p' : i * 31 + k);
    memcpy (keys[S_LENS], keys[S_LENS - 1], S_LONGEST);
    keys[S_LENS][S_LONGEST - 1] ^= 1; //  a twin of the 4096-byte key

    int rc = 0;
    for (size_t k = 0; k <= S_LENS; k++) {
        size_t len = k < S_LENS ? lens[k] : S_LONGEST;
        memset (value, (int) k, sizeof value);
        rc |= s_put (store, keys[k], len, value, k + 1);
    }
    tap_ok (rc == 0, "put keys of 489..4096 bytes and a 4096-byte twin");
    tap_ok (chord_store_count (store) == S_LENS + 1, "count %d", S_LENS + 1);

    size_t wrong = 0;
    for (size_t k = 0; k <= S_LENS; k++) {
        size_t len = k < S_LENS ? lens[k] : S_LONGEST;
        memset (value, (int) k, sizeof value);
        if (!store_cases_get_is (store, keys[k], len, value, k + 1))
            wrong++;
    }
    tap_ok (wrong == 0, "each reads back its own value");
    tap_ok (store_cases_absent (store, keys[S_LENS - 1], 4095) &&
                store_cases_absent (store, keys[S_LENS - 1], 513) && store_cases_absent (store, keys[0], 488),
            "prefixes of long keys are absent");

    wrong = 0;
    for (size_t k = 0; k <= S_LENS; k++) {
        s_find_t find = {.key = keys[k], .key_len = k < S_LENS ? lens[k] : S_LONGEST};
        chord_id_t id, before, one;
        chord_id_hash (&id, find.key, find.key_len);
        chord_id_from_hex (&one, "0000000000000000000000000000000000000001");
        chord_id_distance (&before, &one, &id);
        if (chord_store_range (store, &before, &id, s_find_visit, &find) != 0 || find.seen != 1 ||
            find.visited != 1)
            wrong++;
    }
    tap_ok (wrong == 0, "range hands the visitor each whole key");

    memset (value, 0xee, sizeof value);
    tap_ok (s_put (store, keys[S_LENS - 1], S_LONGEST, value, sizeof value) == 0 &&
                store_cases_get_is (store, keys[S_LENS - 1], S_LONGEST, value, sizeof value) &&
                chord_store_count (store) == S_LENS + 1,
            "overwrite a 4096-byte key");
    memset (value, (int) S_LENS, sizeof value);
    tap_ok (chord_store_del (store, keys[S_LENS], S_LONGEST) == 0 &&
                store_cases_absent (store, keys[S_LENS], S_LONGEST) &&
                chord_store_del (store, keys[S_LENS], S_LONGEST) == 1,
            "del the twin; deleting it again returns 1");
    memset (value, 0xee, sizeof value);
    tap_ok (store_cases_get_is (store, keys[S_LENS - 1], S_LONGEST, value, sizeof value),
            "the twin's sibling stays");
    tap_ok (chord_store_del (store, keys[4], 511) == 0 && chord_store_del (store, keys[5], 512) == 0 &&
                chord_store_count (store) == S_LENS - 2,
            "del 511- and 512-byte keys");

    //  The largest key with the largest value.
    uint8_t *big = malloc (S_VALUE_MAX);
    if (big)
        for (size_t i = 0; i < S_VALUE_MAX; i++)
            big[i] = (uint8_t) (i * 7 >> 3);
    tap_ok (big && s_put (store, keys[S_LENS], S_LONGEST, big, S_VALUE_MAX) == 0 &&
                store_cases_get_is (store, keys[S_LENS], S_LONGEST, big, S_VALUE_MAX) &&
                chord_store_del (store, keys[S_LENS], S_LONGEST) == 0,
            "a 4096-byte key with a 1 MiB value");
    free (big);

    chord_store_destroy (&store);
    store = s_open ("long", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "reopen (%s)", error))
        return;
    memset (value, 0xee, sizeof value);
    bool ok = store_cases_get_is (store, keys[S_LENS - 1], S_LONGEST, value, sizeof value);
    memset (value, 2, sizeof value);
    ok = ok && store_cases_get_is (store, keys[2], 491, value, 3) && store_cases_absent (store, keys[4], 511);
    tap_ok (ok && chord_store_count (store) == S_LENS - 2, "long keys survive reopening");
    chord_store_destroy (&store);
}

static void s_test_identity (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("identity", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open (%s)", error))
        return;
    s_put (store, "k", 1, "v", 1);

    chord_store_t *second = s_open ("identity", S_IDENTITY, 0, false, error);
    tap_ok (second == NULL && s_error_has (error, "in use"), "a second open while open is refused: %s",
            error);
    chord_store_destroy (&store);

    store = s_open ("identity", S_OTHER_ID, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "belongs to " S_IDENTITY ", not " S_OTHER_ID),
            "another identity is refused: %s", error);
    chord_store_destroy (&store);
    store = s_open ("identity", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && store_cases_get_is (store, "k", 1, "v", 1),
            "the right identity opens it, data intact");
    chord_store_destroy (&store);

    store = s_open ("identity-empty", "", 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "identity"), "an empty identity is refused: %s", error);
}

//  Makes an LMDB environment in dir with raw LMDB calls. In db (NULL: the
//  main database) it puts key -> value, when key is not NULL.
static int s_raw_env (const char *dir, const char *db, const char *key, const char *value)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (mkdir (dir, 0700) != 0 && errno != EEXIST)
        return -1;
    int rc = mdb_env_create (&env);
    if (rc)
        return -1;
    mdb_env_set_maxdbs (env, 4);
    rc = mdb_env_open (env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin (env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open (txn, db, MDB_CREATE, &dbi);
        MDB_val k = {.mv_size = key ? strlen (key) : 0, .mv_data = (void *) key};
        MDB_val v = {.mv_size = value ? strlen (value) : 0, .mv_data = (void *) value};
        if (rc == 0 && key)
            rc = mdb_put (txn, dbi, &k, &v, 0);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
    }
    mdb_env_close (env);
    return rc ? -1 : 0;
}

static void s_test_foreign (void)
{
    char error[S_ERROR_MAX] = "";
    char path[S_PATH_MAX], file[S_PATH_MAX];

    //  A data.mdb full of garbage.
    mkdir (s_path (path, "garbage"), 0700);
    FILE *out = fopen (s_file (file, "garbage", "data.mdb"), "w");
    for (size_t i = 0; out && i < 65536; i++)
        fputc ((int) (i * 2654435761u >> 13) & 0xff, out);
    if (out)
        fclose (out);
    chord_store_t *store = s_open ("garbage", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "not a chord data directory"),
            "garbage data.mdb is refused: %s", error);

    //  An LMDB environment of someone else's.
    s_raw_env (s_path (path, "foreign"), NULL, "hello", "world");
    store = s_open ("foreign", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "not a chord data directory"),
            "an LMDB environment without our metadata is refused: %s", error);

    //  Metadata of another format, of no known format, without identity.
    s_raw_env (s_path (path, "format"), "meta", "format", "chord-store 9");
    s_raw_env (path, "meta", "identity", S_IDENTITY);
    store = s_open ("format", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "format \"chord-store 9\""), "another format is refused: %s",
            error);
    s_raw_env (s_path (path, "format-foreign"), "meta", "format", "sqlite\x01");
    store = s_open ("format-foreign", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "not a chord data directory"),
            "a foreign format is refused: %s", error);
    s_raw_env (s_path (path, "no-identity"), "meta", "format", CHORDD_STORE_LMDB_FORMAT);
    store = s_open ("no-identity", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "no identity"), "metadata without identity is refused: %s",
            error);
    s_raw_env (s_path (path, "no-data"), "meta", "format", CHORDD_STORE_LMDB_FORMAT);
    s_raw_env (path, "meta", "identity", S_IDENTITY);
    store = s_open ("no-data", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "data database: missing"),
            "metadata without a data database is refused: %s", error);

    //  A directory with other files in it, and a path that is a file.
    mkdir (s_path (path, "notes"), 0700);
    out = fopen (s_file (file, "notes", "notes.txt"), "w");
    if (out)
        fclose (out);
    store = s_open ("notes", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "not empty"),
            "a non-empty directory without a store is refused: %s", error);
    store = s_open ("notes/notes.txt", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "not a directory"), "a file is refused: %s", error);
    store = s_open ("missing/deeper", S_IDENTITY, 0, false, error);
    tap_ok (store == NULL && s_error_has (error, "cannot create data directory"),
            "a directory under a missing one is refused: %s", error);

    //  An empty directory that exists, and an empty data.mdb (a first open
    //  that stopped early), become stores.
    mkdir (s_path (path, "existing"), 0755);
    store = s_open ("existing", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL, "an empty existing directory becomes a store (%s)", error);
    chord_store_destroy (&store);
    mkdir (s_path (path, "stub"), 0700);
    out = fopen (s_file (file, "stub", "data.mdb"), "w");
    if (out)
        fclose (out);
    store = s_open ("stub", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL, "an empty data.mdb becomes a store (%s)", error);
    chord_store_destroy (&store);

    struct stat st;
    tap_ok (stat (s_path (path, "basics"), &st) == 0 && (st.st_mode & 0777) == 0700,
            "a created directory has mode 0700");
}

//  Damages records behind the store's back: they must come back as errors,
//  never as values, and must not hide the good ones.
static void s_test_damaged (void)
{
    char error[S_ERROR_MAX] = "";
    char path[S_PATH_MAX];
    chord_store_t *store = s_open ("damaged", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open (%s)", error))
        return;
    uint8_t long_key[600];
    memset (long_key, 'L', sizeof long_key);
    int rc = s_put (store, "short", 5, "abc", 3) | s_put (store, "flip", 4, "0123456789", 10) |
             s_put (store, "good", 4, "fine", 4) | s_put (store, long_key, sizeof long_key, "long", 4) |
             s_put (store, "kind", 4, "xyz", 3);
    tap_ok (rc == 0, "put five keys");
    chord_store_destroy (&store);

    //  Edit the data database directly.
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    rc = mdb_env_create (&env);
    mdb_env_set_maxdbs (env, 4);
    rc |= mdb_env_open (env, s_path (path, "damaged"), 0, 0600);
    rc |= mdb_txn_begin (env, NULL, 0, &txn);
    rc |= mdb_dbi_open (txn, "data", 0, &dbi);
    //  Pick the records through a cursor, copying their keys out of the
    //  map, then rewrite them once the cursor is closed.
    MDB_cursor *cursor;
    rc |= mdb_cursor_open (txn, dbi, &cursor);
    enum { S_EDITS = 4, S_RECORD_COPY = 1024 };
    uint8_t edit_keys[S_EDITS][511], edit_values[S_EDITS][S_RECORD_COPY];
    MDB_val edit_key[S_EDITS], edit_value[S_EDITS];
    MDB_val k, v;
    size_t edited = 0;
    for (int op = MDB_FIRST; rc == 0 && edited < S_EDITS && mdb_cursor_get (cursor, &k, &v, op) == 0;
         op = MDB_NEXT) {
        if (k.mv_size < CHORD_ID_BYTES || k.mv_size > 511 || v.mv_size > S_RECORD_COPY)
            continue;
        const char *tail = (const char *) k.mv_data + CHORD_ID_BYTES;
        size_t tail_len = k.mv_size - CHORD_ID_BYTES;
        uint8_t *copy = edit_values[edited];
        memcpy (copy, v.mv_data, v.mv_size);
        edit_value[edited] = (MDB_val){.mv_size = v.mv_size, .mv_data = copy};
        if (tail_len == 5 && memcmp (tail, "short", 5) == 0)
            edit_value[edited].mv_size = 3; //  shorter than a record header
        else if (tail_len == 4 && memcmp (tail, "flip", 4) == 0)
            copy[v.mv_size - 1] ^= 0x10; //  one bit of the value
        else if (tail_len == 4 && memcmp (tail, "kind", 4) == 0)
            copy[0] = 0x02; //  claims a long key
        else if (k.mv_size == 511)
            copy[12] ^= 0x01; //  the long key's length
        else
            continue;
        memcpy (edit_keys[edited], k.mv_data, k.mv_size);
        edit_key[edited] = (MDB_val){.mv_size = k.mv_size, .mv_data = edit_keys[edited]};
        edited++;
    }
    mdb_cursor_close (cursor);
    for (size_t i = 0; i < edited; i++)
        rc |= mdb_put (txn, dbi, &edit_key[i], &edit_value[i], 0);
    //  And an LMDB key too short to hold an id.
    MDB_val tiny_key = {.mv_size = 3, .mv_data = "bad"}, tiny = {.mv_size = 12, .mv_data = "xxxxxxxxxxxx"};
    rc |= mdb_put (txn, dbi, &tiny_key, &tiny, 0);
    rc |= mdb_txn_commit (txn);
    mdb_env_close (env);
    tap_ok (rc == 0 && edited == 4, "damage four records and add a stray key");

    store = s_open ("damaged", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "reopen (%s)", error))
        return;
    tap_ok (s_get_rc (store, "short", 5) == -1, "get of a truncated record returns -1");
    tap_ok (s_get_rc (store, "flip", 4) == -1, "get of a record with a flipped bit returns -1");
    tap_ok (s_get_rc (store, "kind", 4) == -1, "get of a record of the wrong kind returns -1");
    tap_ok (s_get_rc (store, long_key, sizeof long_key) == -1,
            "get of a long record with a bad length returns -1");
    tap_ok (store_cases_get_is (store, "good", 4, "fine", 4), "the intact record reads back");
    chord_id_t a;
    chord_id_hash (&a, "a", 1);
    s_find_t find = {.key = (const uint8_t *) "good", .key_len = 4};
    tap_ok (chord_store_range (store, &a, &a, s_find_visit, &find) == -1 && find.visited == 1 &&
                find.seen == 1,
            "range visits only the intact record, then returns -1");
    tap_ok (s_del (store, "short", 5) == 0 && store_cases_absent (store, "short", 5) &&
                chord_store_del (store, long_key, sizeof long_key) == 0,
            "damaged records can be deleted");
    tap_ok (s_put (store, "flip", 4, "new", 3) == 0 && store_cases_get_is (store, "flip", 4, "new", 3),
            "a damaged record can be overwritten");
    chord_store_destroy (&store);
}

//  A map too small for the data: puts fail cleanly and change nothing.
static void s_test_map_full (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("full", S_IDENTITY, S_SMALL_MAP, false, error);
    if (!tap_ok (store != NULL, "open with a 1 MiB map (%s)", error))
        return;
    static uint8_t value[256 * 1024];
    memset (value, 'f', sizeof value);
    char key[STORE_CASES_KEY_MAX];
    size_t stored = 0;
    int rc = 0;
    while (stored < S_FILL_MAX &&
           (rc = s_put (store, key, store_cases_key (key, stored), value, S_FILL_VALUE)) == 0)
        stored++;
    tap_ok (rc == -1 && stored > 10 && stored < S_FILL_MAX, "put returns -1 once the map is full (after %zu)",
            stored);
    tap_ok (chord_store_count (store) == stored, "count is the puts that succeeded");
    size_t wrong = 0;
    for (size_t i = 0; i < stored; i++)
        if (!store_cases_get_is (store, key, store_cases_key (key, i), value, S_FILL_VALUE))
            wrong++;
    tap_ok (wrong == 0, "every earlier value reads back");
    value[0] = 'X';
    tap_ok (s_put (store, "key-0", 5, value, sizeof value) == -1, "a 256 KiB overwrite fails");
    value[0] = 'f';
    tap_ok (store_cases_get_is (store, "key-0", 5, value, S_FILL_VALUE), "the old value is intact");
    chord_store_destroy (&store);

    store = s_open ("full", S_IDENTITY, S_SMALL_MAP, false, error);
    tap_ok (store != NULL && chord_store_count (store) == stored &&
                store_cases_get_is (store, "key-1", 5, value, S_FILL_VALUE),
            "the full store reopens (%s)", error);
    chord_store_destroy (&store);
    store = s_open ("full", S_IDENTITY, 4 * S_SMALL_MAP, false, error);
    tap_ok (store != NULL && s_put (store, "key-0", 5, value, sizeof value) == 0 &&
                store_cases_get_is (store, "key-0", 5, value, sizeof value),
            "reopened with a 4 MiB map, it takes the 256 KiB value");
    chord_store_destroy (&store);
}

//  A full disk, played by RLIMIT_FSIZE: a commit's writes fail partway.
static void s_test_disk_full (void)
{
    char error[S_ERROR_MAX] = "";
    char path[S_PATH_MAX];
    chord_store_t *store = s_open ("disk", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open (%s)", error))
        return;
    static uint8_t value[16 * 1024];
    memset (value, 'd', sizeof value);
    char key[STORE_CASES_KEY_MAX];
    int rc = 0;
    for (size_t i = 0; i < 8; i++)
        rc |= s_put (store, key, store_cases_key (key, i), value, sizeof value);
    struct stat st;
    s_file (path, "disk", "data.mdb");
    struct rlimit old_limit, limit;
    if (!tap_ok (rc == 0 && stat (path, &st) == 0 && getrlimit (RLIMIT_FSIZE, &old_limit) == 0,
                 "eight puts, then the file size"))
        return;
    void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
    limit = old_limit;
    limit.rlim_cur = (rlim_t) st.st_size + 64 * 1024;
    setrlimit (RLIMIT_FSIZE, &limit);
    size_t stored = 8;
    while (stored < 100 && (rc = s_put (store, key, store_cases_key (key, stored), value, sizeof value)) == 0)
        stored++;
    value[0] = 'X';
    int overwrite_rc = s_put (store, "key-0", 5, value, sizeof value);
    int big_rc = s_put (store, "big", 3, value, sizeof value);
    value[0] = 'd';
    setrlimit (RLIMIT_FSIZE, &old_limit);
    signal (SIGXFSZ, old_handler);

    tap_ok (rc == -1 && stored < 100, "put returns -1 when the disk is full (after %zu)", stored);
    tap_ok (overwrite_rc == -1 && big_rc == -1, "further puts fail too");
    size_t wrong = 0;
    for (size_t i = 0; i < stored; i++)
        if (!store_cases_get_is (store, key, store_cases_key (key, i), value, sizeof value))
            wrong++;
    tap_ok (wrong == 0 && chord_store_count (store) == stored && store_cases_absent (store, "big", 3),
            "earlier values intact, nothing half-written");
    tap_ok (s_put (store, "big", 3, value, sizeof value) == 0 &&
                store_cases_get_is (store, "big", 3, value, sizeof value),
            "with space again, puts succeed");
    chord_store_destroy (&store);
    store = s_open ("disk", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && chord_store_count (store) == stored + 1 &&
                store_cases_get_is (store, "key-0", 5, value, sizeof value),
            "and the store reopens whole (%s)", error);
    chord_store_destroy (&store);
}

//  The interface checks inside a batch on a durable store, whose committed
//  batch is there after reopening (test_store.c runs them on the memory
//  store, where begin and commit do nothing).
static void s_test_batch (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("batch", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open for batches (%s)", error))
        return;
    store_cases_batch (store, S_BACKEND);
    chord_store_destroy (&store);
    store = s_open ("batch", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && store_cases_basics_kept (store),
            "a committed batch is there after reopening (%s)", error);

    //  A batch never committed: its writes are gone, the store intact.
    int rc = chord_store_begin (store) | s_put (store, "lost", 4, "x", 1) |
             s_del (store, store_cases_k2, sizeof store_cases_k2) |
             s_put (store, "alpha", 5, "overwritten", 11);
    tap_ok (rc == 0 && chord_store_count (store) == STORE_CASES_BASICS_COUNT &&
                store_cases_get_is (store, "lost", 4, "x", 1) &&
                store_cases_absent (store, store_cases_k2, 3),
            "an open batch sees its put, del and overwrite");
    store_cases_destroy (&store, S_BACKEND, "a store in a batch");
    store = s_open ("batch", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && store_cases_basics_kept (store) && store_cases_absent (store, "lost", 4),
            "destroy drops the uncommitted batch; the store reopens as committed (%s)", error);
    tap_ok (store && chord_store_begin (store) == 0, "a batch that never writes, left open");
    chord_store_destroy (&store);
    store = s_open ("batch", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && store_cases_basics_kept (store), "and the store reopens (%s)", error);
    chord_store_destroy (&store);
}

//  A map too small for a batch: the put that does not fit returns -1,
//  the batch's earlier writes stay and commit; and a map filled batch by
//  batch never fails a commit (its bookkeeping has room kept for it).
static void s_test_batch_map_full (void)
{
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open ("batch-full", S_IDENTITY, S_SMALL_MAP, false, error);
    if (!tap_ok (store != NULL, "open with a 1 MiB map (%s)", error))
        return;
    static uint8_t value[S_FILL_VALUE];
    memset (value, 'b', sizeof value);
    char key[STORE_CASES_KEY_MAX];
    size_t stored = 0;
    int rc = chord_store_begin (store);
    while (rc == 0 && stored < S_FILL_MAX &&
           (rc = s_put (store, key, store_cases_key (key, stored), value, sizeof value)) == 0)
        stored++;
    tap_ok (rc == -1 && stored > 10 && stored < S_FILL_MAX,
            "in one batch, put returns -1 once the map is full (after %zu)", stored);
    size_t wrong = 0;
    for (size_t i = 0; i < stored; i++)
        if (!store_cases_get_is (store, key, store_cases_key (key, i), value, sizeof value))
            wrong++;
    tap_ok (wrong == 0 && chord_store_count (store) == stored, "the batch's earlier puts are all there");
    tap_ok (s_del (store, "key-0", 5) == 0 && store_cases_absent (store, "key-0", 5),
            "the batch goes on: a del after the failed put");
    tap_ok (chord_store_commit (store) == 0, "and it commits");
    chord_store_destroy (&store);
    store = s_open ("batch-full", S_IDENTITY, S_SMALL_MAP, false, error);
    wrong = 0;
    for (size_t i = 1; store && i < stored; i++)
        if (!store_cases_get_is (store, key, store_cases_key (key, i), value, sizeof value))
            wrong++;
    tap_ok (store && wrong == 0 && chord_store_count (store) == stored - 1 &&
                store_cases_absent (store, "key-0", 5),
            "reopened, the store holds the batch less the deleted key (%s)", error);
    chord_store_destroy (&store);

    store = s_open ("batch-fill", S_IDENTITY, S_SMALL_MAP, false, error);
    if (!tap_ok (store != NULL, "open another 1 MiB map (%s)", error))
        return;
    size_t failed_puts = 0, failed_commits = 0;
    stored = 0;
    for (size_t round = 0; failed_puts < 3 * S_BATCH_PUTS && round < S_FILL_MAX; round++) {
        chord_store_begin (store);
        for (size_t i = 0; i < S_BATCH_PUTS; i++) {
            size_t n = round * S_BATCH_PUTS + i;
            if (s_put (store, key, store_cases_key (key, n), value, sizeof value) == 0)
                stored++;
            else
                failed_puts++;
        }
        if (chord_store_commit (store) != 0)
            failed_commits++;
    }
    tap_ok (failed_puts > 0 && stored > 10 && failed_commits == 0,
            "filled in batches of %d: %zu puts stored, %zu refused, every commit succeeds", S_BATCH_PUTS,
            stored, failed_puts);
    tap_ok (chord_store_count (store) == stored, "count is the puts that succeeded");
    chord_store_destroy (&store);
}

//  A commit that cannot write (a full disk, played by RLIMIT_FSIZE) fails,
//  and the store is as it was before the batch.
static void s_test_batch_commit_fails (void)
{
    char error[S_ERROR_MAX] = "";
    char path[S_PATH_MAX];
    chord_store_t *store = s_open ("batch-disk", S_IDENTITY, 0, false, error);
    if (!tap_ok (store != NULL, "open (%s)", error))
        return;
    static uint8_t value[16 * 1024];
    memset (value, 'c', sizeof value);
    char key[STORE_CASES_KEY_MAX];
    int rc = 0;
    for (size_t i = 0; i < 8; i++)
        rc |= s_put (store, key, store_cases_key (key, i), value, sizeof value);
    struct stat st;
    s_file (path, "batch-disk", "data.mdb");
    struct rlimit old_limit, limit;
    if (!tap_ok (rc == 0 && stat (path, &st) == 0 && getrlimit (RLIMIT_FSIZE, &old_limit) == 0,
                 "eight puts, then the file size"))
        return;
    rc = chord_store_begin (store);
    for (size_t i = 8; i < 40; i++)
        rc |= s_put (store, key, store_cases_key (key, i), value, sizeof value);
    rc |= s_del (store, "key-0", 5);
    tap_ok (rc == 0 && chord_store_count (store) == 39, "a batch of 32 puts and a del, not yet written");
    void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
    limit = old_limit;
    limit.rlim_cur = (rlim_t) st.st_size + 64 * 1024;
    setrlimit (RLIMIT_FSIZE, &limit);
    rc = chord_store_commit (store);
    setrlimit (RLIMIT_FSIZE, &old_limit);
    signal (SIGXFSZ, old_handler);
    tap_ok (rc == -1, "its commit fails when the disk is full");
    size_t wrong = 0;
    for (size_t i = 0; i < 40; i++)
        if (i < 8 ? !store_cases_get_is (store, key, store_cases_key (key, i), value, sizeof value)
                  : !store_cases_absent (store, key, store_cases_key (key, i)))
            wrong++;
    tap_ok (wrong == 0 && chord_store_count (store) == 8,
            "none of the batch's writes stays; the rest is intact");
    tap_ok (chord_store_begin (store) == 0 && s_put (store, "after", 5, "ok", 2) == 0 &&
                chord_store_commit (store) == 0,
            "with space again, a batch commits");
    chord_store_destroy (&store);
    store = s_open ("batch-disk", S_IDENTITY, 0, false, error);
    tap_ok (store != NULL && chord_store_count (store) == 9 &&
                store_cases_get_is (store, "after", 5, "ok", 2) && store_cases_absent (store, "key-8", 5),
            "and the store reopens as committed (%s)", error);
    chord_store_destroy (&store);
}

//  A process killed with SIGKILL, its store never closed: every put that
//  returned 0 is there, synced or not (fast only skips fsync; the data is
//  in the kernel's page cache once the commit returns).
//  With batched set the child puts its keys in committed batches of
//  S_CRASH_BATCH, then opens one more batch that it never commits: the
//  committed ones are all there, the open one not at all.
static void s_test_crash (bool fast, bool batched)
{
    const char *name = batched ? "crash-batched" : fast ? "crash-fast" : "crash";
    char key[STORE_CASES_KEY_MAX], value[STORE_CASES_KEY_MAX];
    //  The child reports its puts done through a pipe, then waits for the
    //  parent's SIGKILL: a kill from outside, as a crash would be.
    int done[2];
    if (!tap_ok (pipe (done) == 0, "pipe"))
        return;
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        close (done[0]);
        chord_store_t *store = s_open (name, S_IDENTITY, 0, fast, NULL);
        char ok = store ? 'y' : 'n';
        for (size_t i = 0; store && i < S_CRASH_KEYS + (batched ? S_CRASH_BATCH : 0); i++) {
            if (batched && i % S_CRASH_BATCH == 0) {
                if (i > 0 && chord_store_commit (store) != 0)
                    ok = 'n';
                if (chord_store_begin (store) != 0)
                    ok = 'n';
            }
            if (s_put (store, key, store_cases_key (key, i), value, store_cases_value (value, i)) != 0)
                ok = 'n';
        }
        if (write (done[1], &ok, 1) != 1)
            _exit (1);
        while (true)
            pause ();
    }
    close (done[1]);
    char ok = 'n';
    if (pid > 0) {
        if (read (done[0], &ok, 1) != 1)
            ok = 'n';
        kill (pid, SIGKILL);
    }
    close (done[0]);
    int status = 0;
    bool waited = pid > 0 && waitpid (pid, &status, 0) == pid;
    tap_ok (ok == 'y' && waited && WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
            "a child puts %d keys%s and is killed", S_CRASH_KEYS,
            batched ? " in batches, one more batch open,"
            : fast  ? " (fast)"
                    : "");
    char error[S_ERROR_MAX] = "";
    chord_store_t *store = s_open (name, S_IDENTITY, 0, fast, error);
    if (!tap_ok (store != NULL, "its store reopens (%s)", error))
        return;
    size_t wrong = 0;
    for (size_t i = 0; i < S_CRASH_KEYS; i++)
        if (!store_cases_get_is (store, key, store_cases_key (key, i), value, store_cases_value (value, i)) &&
            ++wrong > 5)
            break;
    for (size_t i = S_CRASH_KEYS; batched && i < S_CRASH_KEYS + S_CRASH_BATCH; i++)
        if (!store_cases_absent (store, key, store_cases_key (key, i)))
            wrong++;
    tap_ok (wrong == 0 && chord_store_count (store) == S_CRASH_KEYS,
            batched ? "every key of its committed batches is there, none of the open one"
                    : "every key it put is there");
    chord_store_destroy (&store);
}

int main (void)
{
    snprintf (s_root, sizeof s_root, "/tmp/chord-store-lmdb-XXXXXX");
    if (!mkdtemp (s_root)) {
        printf ("Bail out! mkdtemp: %s\n", strerror (errno));
        return 1;
    }
    atexit (s_cleanup);
    s_test_basics ();
    s_test_long_keys ();
    s_test_identity ();
    s_test_foreign ();
    s_test_damaged ();
    s_test_map_full ();
    s_test_disk_full ();
    s_test_batch ();
    s_test_batch_map_full ();
    s_test_batch_commit_fails ();
    s_test_crash (false, false);
    s_test_crash (true, false);
    s_test_crash (false, true);
    s_test_empty_range ();
    s_test_many ();
    return tap_done ();
}
