/*
 * Step series as once read, kept under .xtrk/cache/series/ID (ID: the series
 * blob's) so that a later reading (a report of a thousand runs) skips parsing
 * the JSON lines again.  A cache: made only from a series read whole and
 * verified against its ID, checked on every use (its own XXH3-128, every size
 * and bound) and, when anything is off, ignored and made again; never copied
 * to a remote or a bundle.  Little-endian layout, this machine's floats:
 *
 *   "XTRKSC01", u32 0x01020304 (byte order), u32 nkeys, u32 first_bad length,
 *   u32 0, u64 nsteps, u64 bad lines, the blob's ID (16 bytes: a copy of
 *   another series under this name is not this one), each key (u32 length,
 *   bytes), first_bad,
 *   i64 steps[nsteps], f64 values[nsteps * nkeys], then the XXH3-128 of all
 *   bytes before it (16 bytes).
 */
#ifndef XTRK_SERIES_CACHE_H
#define XTRK_SERIES_CACHE_H

#include "xtrk/oid.h"
#include "xtrk/repo.h"
#include "xtrk/series.h"

/** The series of blob `id` from the cache: 0 with `*out`, 1 when the cache has no good copy, XTRK_ERROR (memory). */
int series_cache_get(xtrk_series **out, xtrk_repo *repo, const xtrk_oid *id);

/** Keep `s`, read from blob `id`; a failure to write leaves the cache as it was and is not an error. */
void series_cache_put(xtrk_repo *repo, const xtrk_oid *id, const xtrk_series *s);

/** Remove the cached series whose blob the store no longer holds (after gc); the number removed. */
size_t series_cache_prune(xtrk_repo *repo);

#endif
