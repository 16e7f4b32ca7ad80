/* The stat cache (see statcache.c): what the snapshot walker may skip re-reading. */
#ifndef XTRK_STATCACHE_H
#define XTRK_STATCACHE_H

#include "xtrk/repo.h"

/*
 * The stat cache: (path, size, mtime, ctime, inode, device) -> blob ID, like
 * git's index, so a file unchanged since the last snapshot is not re-read.
 * It is a cache: losing or damaging `.xtrk/cache/stat` only costs time.
 */
typedef struct xtrk_statcache xtrk_statcache;

int xtrk_statcache_open(xtrk_statcache **out, xtrk_repo *repo);
/** Write the cache back (atomically); errors are worth a warning, not a failure. */
int xtrk_statcache_save(xtrk_statcache *cache);
void xtrk_statcache_free(xtrk_statcache *cache);

#endif
