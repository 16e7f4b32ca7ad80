/*
 * The store's write lock (odb_lock.c), which makes gc safe against writers
 * that have written objects but not yet the ref that names them.
 *
 *   objects/txn.lock   every write transaction holds it shared for its whole
 *                      life (until its refs are written and it is freed);
 *                      gc holds it exclusive only while it re-reads the refs
 *                      and deletes
 *   objects/txn.gate   taken shared for an instant by a writer before
 *                      txn.lock, and exclusive by gc before txn.lock, so that
 *                      a steady stream of writers cannot starve gc
 *   objects/gc.lock    held exclusive by a gc for its whole run: one at a time
 *
 * All are flock(2) locks, released by the kernel when a process dies, so a
 * kill -9 never leaves the store locked.
 */
#ifndef XTRK_ODB_LOCK_H
#define XTRK_ODB_LOCK_H

#include "xtrk/odb.h"

/* How long a writer waits for a gc's delete window before giving up (it is short). */
#define ODB_WRITER_WAIT_MS (10L * 60 * 1000)

/* Take the writers' shared lock; `*fd` holds it until odb_lock_release. */
int odb_lock_writer(xtrk_odb *odb, int *fd);
/* Take gc's exclusive locks (gate, then txn.lock), waiting up to `wait_ms` for writers to finish. */
int odb_lock_exclusive(xtrk_odb *odb, int *gate_fd, int *txn_fd, long wait_ms);
/* Take the one-gc-at-a-time lock, without waiting. */
int odb_lock_gc_run(xtrk_odb *odb, int *fd);
void odb_lock_release(int fd);

#endif
