/*  chordd store, LMDB backend: the chord_store interface kept on disk.

    One data directory holds one store: an LMDB environment (data.mdb,
    lock.mdb) with two named databases. "meta" records the format tag and
    the identity the directory belongs to (the daemon passes its advertised
    endpoint and position, "tcp://127.0.0.1:7000#0"), so a directory is
    never served under the wrong name. "data" holds the entries, keyed by
    the key's ring id followed by the key, so a range is a seek and a scan.
    Every record carries a checksum; a record that fails it is never
    handed out.

    Durability: each put and del is one LMDB transaction, fsynced before it
    returns; inside a batch (store.h's begin and commit), the batch is one
    transaction, fsynced once by commit, and each put and del in it a
    nested one, so a failed write drops only itself. When commit fails,
    every write of the batch is dropped: the store holds what it held at
    begin. With fast set, commits are not synced (MDB_NOSYNC): the data
    survives a process crash, not a power loss or a kernel crash, which may
    lose recent writes or, on file systems that reorder writes, damage the
    environment. A fast store is synced once more when destroyed.

    The map size is the most the store will hold: a put that would pass it,
    or that meets a full disk, returns -1 and changes nothing; the store
    stays readable. Reopen with a larger map size to grow it. The data
    file may grow past the map size by the room (about 264 KiB and 1/256
    of the map size) kept free for LMDB's own bookkeeping at commit, so
    that a commit never fails for want of room once its writes succeeded,
    and deletes still go through once puts have filled the store.  */
#ifndef CHORDD_STORE_LMDB_H
#define CHORDD_STORE_LMDB_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define CHORDD_STORE_LMDB_MAP_DEFAULT ((size_t) 1 << 30) /* bytes: 1 GiB */
#define CHORDD_STORE_LMDB_FORMAT "chord-store 1"         /* meta "format" of this layout */
#define CHORDD_STORE_LMDB_IDENTITY_MAX 1024              /* bytes in an identity string */

/*  Opens the store in dir, creating the directory (mode 0700) and an empty
    store there when it is missing or empty. A store that exists must carry
    this format and exactly this identity. map_size_bytes caps the data
    file (0: CHORDD_STORE_LMDB_MAP_DEFAULT); fast trades power-loss
    durability for speed (see above). The directory is locked for as long
    as the store is open: a second open, in this process or another, fails.

    Returns a store the caller owns and frees with chord_store_destroy, or
    NULL with a one-line reason in error (when error_size > 0): the
    directory cannot be made or opened, is in use, is not empty yet holds
    no store, is not a chord data directory (not LMDB, or LMDB without our
    metadata), has another format, or belongs to another identity.

    Beyond store.h: get's value points into the memory map, inside a read
    transaction the store keeps open until its next put, del, commit or
    destroy (in a batch that wrote, into the batch's transaction, until
    the same), so gets copy nothing. Records carry checksums: get of a
    damaged record returns -1 (put overwrites it, del removes it); range
    skips damaged records and then returns -1 (unless the visitor stopped
    it), and returns -1 on an LMDB error. count is O(1).  */
chord_store_t *chordd_store_lmdb_open (const char *dir, const char *identity, size_t map_size_bytes,
                                       bool fast, char *error, size_t error_size);

#endif
