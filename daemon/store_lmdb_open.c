/*  chordd store, LMDB backend: opening a data directory. It is locked
    (flock) for as long as the store is open; a store is made only in an
    empty directory, and an existing one is opened only when its metadata
    names our format and the identity we were given. The layout and the
    store's operations are in store_lmdb.c.  */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "error.h"
#include "store_lmdb_internal.h"

/* Copies a stored string into out for an error message: printable ASCII
   kept, other bytes as '?', long strings cut with "...". */
static void s_shown (char out[S_SHOWN_MAX + 4], const MDB_val *val)
{
    size_t len = val->mv_size < S_SHOWN_MAX ? val->mv_size : S_SHOWN_MAX;
    const uint8_t *bytes = val->mv_data;
    for (size_t i = 0; i < len; i++)
        out[i] = bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char) bytes[i] : '?';
    strcpy (out + len, val->mv_size > len ? "..." : "");
}


/* True when the directory holds nothing, or only a lock.mdb that an
   interrupted first open left. Sets errno and returns false on error. */
static bool s_dir_is_fresh (int dir_fd)
{
    int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    DIR *listing = fdopendir (fd);
    if (!listing) {
        close (fd);
        return false;
    }
    bool fresh = true;
    struct dirent *entry;
    while (fresh && (entry = readdir (listing)))
        if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, "..") &&
            strcmp (entry->d_name, S_LOCK_FILE))
            fresh = false;
    closedir (listing);
    if (!fresh)
        errno = 0;
    return fresh;
}

/* Writes the metadata of a new store and creates its data database. */
static int s_meta_create (s_lmdb_t *self, MDB_txn *txn, const char *identity, const char *dir, char *error,
                          size_t error_size)
{
    MDB_val format_key = {.mv_size = strlen (S_META_FORMAT), .mv_data = S_META_FORMAT};
    MDB_val format = {.mv_size = strlen (CHORDD_STORE_LMDB_FORMAT), .mv_data = CHORDD_STORE_LMDB_FORMAT};
    MDB_val identity_key = {.mv_size = strlen (S_META_IDENTITY), .mv_data = S_META_IDENTITY};
    MDB_val identity_val = {.mv_size = strlen (identity), .mv_data = (void *) identity};
    int rc = mdb_dbi_open (txn, S_META_DB, MDB_CREATE, &self->meta);
    if (rc == 0)
        rc = mdb_dbi_open (txn, S_DATA_DB, MDB_CREATE, &self->data);
    if (rc == 0)
        rc = mdb_put (txn, self->meta, &format_key, &format, 0);
    if (rc == 0)
        rc = mdb_put (txn, self->meta, &identity_key, &identity_val, 0);
    if (rc != 0) {
        chordd_error (error, error_size, "cannot initialise data directory %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    return 0;
}

/* Checks the metadata of an existing store and opens its data database. */
static int s_meta_check (s_lmdb_t *self, MDB_txn *txn, MDB_dbi meta, const char *identity, const char *dir,
                         char *error, size_t error_size)
{
    char shown[S_SHOWN_MAX + 4];
    MDB_val format_key = {.mv_size = strlen (S_META_FORMAT), .mv_data = S_META_FORMAT};
    MDB_val format;
    int rc = mdb_get (txn, meta, &format_key, &format);
    if (rc == 0 && (format.mv_size < strlen (S_FORMAT_FAMILY) ||
                    memcmp (format.mv_data, S_FORMAT_FAMILY, strlen (S_FORMAT_FAMILY)) != 0))
        rc = MDB_NOTFOUND;
    if (rc != 0) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (%s)", dir,
                      rc == MDB_NOTFOUND ? "no chord-store format in its metadata" : mdb_strerror (rc));
        return -1;
    }
    if (format.mv_size != strlen (CHORDD_STORE_LMDB_FORMAT) ||
        memcmp (format.mv_data, CHORDD_STORE_LMDB_FORMAT, format.mv_size) != 0) {
        s_shown (shown, &format);
        chordd_error (error, error_size, "data directory %s holds format \"%s\"; this build reads \"%s\"", dir,
                      shown, CHORDD_STORE_LMDB_FORMAT);
        return -1;
    }
    MDB_val identity_key = {.mv_size = strlen (S_META_IDENTITY), .mv_data = S_META_IDENTITY};
    MDB_val stored;
    rc = mdb_get (txn, meta, &identity_key, &stored);
    if (rc != 0) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (%s)", dir,
                      rc == MDB_NOTFOUND ? "no identity in its metadata" : mdb_strerror (rc));
        return -1;
    }
    if (stored.mv_size != strlen (identity) || memcmp (stored.mv_data, identity, stored.mv_size) != 0) {
        s_shown (shown, &stored);
        chordd_error (error, error_size, "data directory %s belongs to %s, not %s", dir, shown, identity);
        return -1;
    }
    unsigned flags;
    rc = mdb_dbi_open (txn, S_DATA_DB, 0, &self->data);
    if (rc == 0)
        rc = mdb_dbi_flags (txn, self->data, &flags);
    if (rc == 0 && flags != 0)
        rc = MDB_INCOMPATIBLE;
    if (rc != 0) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (data database: %s)",
                      dir, rc == MDB_NOTFOUND ? "missing" : mdb_strerror (rc));
        return -1;
    }
    return 0;
}

/* Creates and opens the environment in the locked directory, with a map of
   map_size_bytes and the reserves. Returns 0 or -1. */
static int s_env_create (s_lmdb_t *self, const char *dir, size_t map_size_bytes, char *error, size_t error_size)
{
    int rc = mdb_env_create (&self->env);
    if (rc != 0) {
        self->env = NULL;
        chordd_error (error, error_size, "cannot create an LMDB environment: %s", mdb_strerror (rc));
        return -1;
    }
    long page_size = sysconf (_SC_PAGESIZE); //  LMDB's page size too
    size_t page_bytes = page_size > 0 ? (size_t) page_size : 4096;
    if (map_size_bytes % page_bytes)
        map_size_bytes += page_bytes - map_size_bytes % page_bytes;
    //  Room for the reserves a put keeps free, their runs sized for the
    //  list of every page in the map.
    size_t map_pages = map_size_bytes / page_bytes;
    size_t reserves_pages =
        S_PUT_RESERVES * (S_COMMIT_TREE_PAGES + 1 + S_PAGE_NUMBER_BYTES * (map_pages + 2) / page_bytes + 1);
    rc = mdb_env_set_maxdbs (self->env, S_DBS_MAX);
    if (rc == 0)
        rc = mdb_env_set_mapsize (self->env, (map_pages + reserves_pages) * page_bytes);
    if (rc != 0) {
        chordd_error (error, error_size, "cannot configure LMDB for %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    if (mdb_env_get_maxkeysize (self->env) < S_LMDB_KEY_MAX) {
        chordd_error (error, error_size, "this LMDB takes keys of %d bytes; the chord store needs %d",
                      mdb_env_get_maxkeysize (self->env), S_LMDB_KEY_MAX);
        return -1;
    }
    rc = mdb_env_open (self->env, dir, MDB_NOTLS | (self->fast ? MDB_NOSYNC : 0), 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (%s: %s)", dir,
                      S_DATA_FILE, mdb_strerror (rc));
        return -1;
    }
    if (rc != 0) {
        chordd_error (error, error_size, "cannot open the store in %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    //  Readers a crashed process left in lock.mdb would pin old pages.
    int dead;
    (void) mdb_reader_check (self->env, &dead);
    return 0;
}

/* In txn: checks the metadata, or writes it when the environment is empty,
   and opens the data database. Returns 0 or -1. */
static int s_meta_open (s_lmdb_t *self, MDB_txn *txn, const char *dir, const char *identity, char *error,
                        size_t error_size)
{
    int rc = mdb_dbi_open (txn, S_META_DB, 0, &self->meta);
    if (rc == 0)
        return s_meta_check (self, txn, self->meta, identity, dir, error, error_size);
    if (rc != MDB_NOTFOUND) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (metadata: %s)", dir,
                      mdb_strerror (rc));
        return -1;
    }
    //  No metadata: a store only when the environment is empty, as a
    //  first open that was interrupted leaves it.
    MDB_dbi main_db;
    MDB_stat stat;
    rc = mdb_dbi_open (txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_stat (txn, main_db, &stat);
    if (rc == 0 && stat.ms_entries == 0)
        return s_meta_create (self, txn, identity, dir, error, error_size);
    chordd_error (error, error_size, "data directory %s is not a chord data directory (%s)", dir,
                  rc == 0 ? "an LMDB environment without chord metadata" : mdb_strerror (rc));
    return -1;
}

/* Opens the databases in one write transaction and counts the entries.
   Returns 0 or -1. */
static int s_dbs_open (s_lmdb_t *self, const char *dir, const char *identity, char *error, size_t error_size)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc != 0) {
        chordd_error (error, error_size, "cannot read the store in %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    rc = s_meta_open (self, txn, dir, identity, error, error_size);
    MDB_stat stat;
    if (rc == 0 && (rc = mdb_stat (txn, self->data, &stat)) != 0)
        chordd_error (error, error_size, "cannot read the store in %s: %s", dir, mdb_strerror (rc));
    if (rc != 0) {
        mdb_txn_abort (txn);
        return -1;
    }
    //  Committing keeps the database handles, and writes a new store's
    //  metadata.
    rc = mdb_txn_commit (txn);
    if (rc != 0) {
        chordd_error (error, error_size, "cannot write the store in %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    self->count = self->count_committed = stat.ms_entries;
    self->depth = stat.ms_depth;
    return 0;
}

/* Opens the environment in the locked directory, then creates or checks
   the metadata and opens the data database. Returns 0 or -1. */
static int s_env_open (s_lmdb_t *self, const char *dir, const char *identity, size_t map_size_bytes,
                       bool is_new, char *error, size_t error_size)
{
    if (s_env_create (self, dir, map_size_bytes, error, error_size) != 0 ||
        s_dbs_open (self, dir, identity, error, error_size) != 0)
        return -1;
    //  The map LMDB made: larger than asked when the file already was.
    MDB_stat env_stat;
    MDB_envinfo info;
    if (mdb_env_stat (self->env, &env_stat) != 0 || mdb_env_info (self->env, &info) != 0) {
        chordd_error (error, error_size, "cannot read the store in %s", dir);
        return -1;
    }
    self->page_bytes = env_stat.ms_psize;
    self->map_pages = info.me_mapsize / env_stat.ms_psize;
    //  A new store's files are durable once the directory entries are.
    if (is_new && !self->fast)
        (void) fsync (self->dir_fd);

    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->reader);
    if (rc != 0) {
        self->reader = NULL;
        chordd_error (error, error_size, "cannot read the store in %s: %s", dir, mdb_strerror (rc));
        return -1;
    }
    mdb_txn_reset (self->reader);
    return 0;
}

chord_store_t *chordd_store_lmdb_open (const char *dir, const char *identity, size_t map_size_bytes,
                                       bool fast, char *error, size_t error_size)
{
    assert (dir);
    assert (identity);
    size_t identity_len = strlen (identity);
    if (identity_len == 0 || identity_len > CHORDD_STORE_LMDB_IDENTITY_MAX) {
        chordd_error (error, error_size, "a store identity has 1 to %d bytes, not %zu",
                      CHORDD_STORE_LMDB_IDENTITY_MAX, identity_len);
        return NULL;
    }
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        chordd_error (error, error_size, "cannot create data directory %s: %s", dir, strerror (errno));
        return NULL;
    }
    s_lmdb_t *self = calloc (1, sizeof *self);
    if (!self) {
        chordd_error (error, error_size, "out of memory");
        return NULL;
    }
    self->base.ops = &chordd_store_lmdb_ops;
    self->fast = fast;
    self->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    chord_store_t *store = &self->base;
    if (self->dir_fd < 0) {
        if (errno == ENOTDIR)
            chordd_error (error, error_size, "data directory %s is not a directory", dir);
        else
            chordd_error (error, error_size, "cannot open data directory %s: %s", dir, strerror (errno));
        chord_store_destroy (&store);
        return NULL;
    }
    if (flock (self->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            chordd_error (error, error_size, "data directory %s is in use by another process", dir);
        else
            chordd_error (error, error_size, "cannot lock data directory %s: %s", dir, strerror (errno));
        chord_store_destroy (&store);
        return NULL;
    }
    //  Make a store only where there is nothing else: never litter a
    //  directory someone mistyped.
    struct stat file;
    bool is_new = false;
    if (fstatat (self->dir_fd, S_DATA_FILE, &file, 0) != 0) {
        if (errno != ENOENT || !s_dir_is_fresh (self->dir_fd)) {
            if (errno)
                chordd_error (error, error_size, "cannot read data directory %s: %s", dir, strerror (errno));
            else
                chordd_error (error, error_size,
                              "data directory %s is not empty and holds no chord store (no " S_DATA_FILE ")", dir);
            chord_store_destroy (&store);
            return NULL;
        }
        is_new = true;
    } else if (!S_ISREG (file.st_mode)) {
        chordd_error (error, error_size, "data directory %s is not a chord data directory (%s is not a file)", dir,
                      S_DATA_FILE);
        chord_store_destroy (&store);
        return NULL;
    }
    if (s_env_open (self, dir, identity, map_size_bytes ? map_size_bytes : CHORDD_STORE_LMDB_MAP_DEFAULT,
                    is_new, error, error_size) != 0) {
        chord_store_destroy (&store);
        return NULL;
    }
    return store;
}
