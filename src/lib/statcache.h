/* Internal stat-cache interface used by the snapshot walker. */
#ifndef XTRK_STATCACHE_INTERNAL_H
#define XTRK_STATCACHE_INTERNAL_H

#include <stdint.h>
#include <sys/stat.h>

#include "xtrk/statcache.h"
#include "xtrk/tree.h"

typedef struct {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
	uint64_t dev;
} xtrk_statinfo;

void xtrk_statinfo_from(xtrk_statinfo *si, const struct stat *st);
/** 1 and the ID when the file is known unchanged, else 0. Thread-safe (read-only). */
int xtrk_statcache_lookup(xtrk_oid *out, xtrk_statcache *c, const char *path, const xtrk_statinfo *st);
/** Remember a freshly hashed file. Thread-safe. */
int xtrk_statcache_record(xtrk_statcache *c, const char *path, const xtrk_statinfo *st, const xtrk_oid *id);

#endif
