/*  chordd store, LMDB backend: what store_lmdb.c (the store's operations)
    and store_lmdb_open.c (opening a data directory and checking that it
    holds our store) share. Not for the rest of the daemon: store_lmdb.h is
    the interface.  */
#ifndef CHORDD_STORE_LMDB_INTERNAL_H
#define CHORDD_STORE_LMDB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <lmdb.h>

#include "store_lmdb.h"

#define S_META_DB "meta"
#define S_DATA_DB "data"
#define S_META_FORMAT "format"
#define S_META_IDENTITY "identity"
#define S_FORMAT_FAMILY "chord-store " /* every format tag starts so */
#define S_DATA_FILE "data.mdb"
#define S_LOCK_FILE "lock.mdb"

#define S_LMDB_KEY_MAX 511                                     /* bytes in an LMDB key the layout needs */
#define S_KEY_HASH_BYTES 32                                    /* BLAKE2b-256 of a long key */
#define S_DIRECT_KEY_MAX (S_LMDB_KEY_MAX - CHORD_ID_BYTES - 1) /* 490 */
#define S_LONG_PREFIX_BYTES (S_LMDB_KEY_MAX - CHORD_ID_BYTES - S_KEY_HASH_BYTES) /* 459 */
#define S_KIND_DIRECT 0x01               /* the key is in the LMDB key */
#define S_KIND_LONG 0x02                 /* the key is in the record */
#define S_SUM_BYTES 8                    /* checksum bytes kept */
#define S_SUM_FULL_BYTES 16              /* BLAKE2b's shortest digest */
#define S_HEADER_BYTES (1 + S_SUM_BYTES) /* kind and sum */
#define S_KEY_LEN_BYTES 4                /* key_len of a long record */
#define S_LONG_HEADER_BYTES (S_HEADER_BYTES + S_KEY_LEN_BYTES)
#define S_RECORD_MAX ((size_t) UINT32_MAX)                 /* bytes in a record */
#define S_KEY_LEN_MAX (S_RECORD_MAX - S_LONG_HEADER_BYTES) /* bytes in a key */
#define S_DBS_MAX 2                                        /* meta and data */
#define S_SHOWN_MAX 200                                    /* bytes of a stored string quoted in errors */
#define S_META_RESERVE "reserve" /* meta keys the commit reserve is tried under, never committed */
#define S_COMMIT_TREE_PAGES 32   /* most single pages a commit's bookkeeping copies or splits */
#define S_PUT_RESERVES 2         /* commit reserves a put leaves free; a del, one */
#define S_PAGE_HEADER_BYTES 16   /* LMDB's page header, before an overflow value */
#define S_PAGE_NUMBER_BYTES 8    /* one entry in LMDB's list of freed pages */
#define S_WRITE_TREE_PAGES(depth) (2 * ((depth) + 2)) /* most a write copies or splits in the tree */

typedef struct {
    chord_store_t base;     /* the interface; first, so the two pointers convert */
    MDB_env *env;           /* the environment in the data directory */
    MDB_dbi meta;           /* the metadata; where the commit reserve is tried */
    MDB_dbi data;           /* the entries */
    MDB_txn *reader;        /* read transaction for get, range; reset before writes */
    bool reading;           /* reader is renewed, so get's pointers are live */
    bool batching;          /* between begin and commit */
    MDB_txn *batch;         /* the batch's write transaction once it wrote; else NULL */
    size_t count;           /* entries in data, the open batch's writes included */
    size_t count_committed; /* entries in data as of the last commit */
    size_t depth;           /* data's B-tree depth as of the last write */
    size_t page_bytes;      /* LMDB's page size */
    size_t map_pages;       /* pages in the map: the size asked for and the reserve */
    size_t pending_pages;   /* most pages the uncommitted writes may have taken */
    size_t pending_freed;   /* most pages the uncommitted writes may have freed */
    bool fast;              /* commits are not synced (MDB_NOSYNC) */
    int dir_fd;             /* the data directory, flock'ed while we hold it */
} s_lmdb_t;

/* The store's operations, in store_lmdb.c; open gives them to base.ops. */
extern const chord_store_ops_t chordd_store_lmdb_ops;

#endif
