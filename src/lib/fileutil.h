/* Internal file helpers shared by the library's modules (not public API). */
#ifndef XTRK_FILEUTIL_H
#define XTRK_FILEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "xtrk/fs.h"

/** Positional variant of xtrk_write_all. */
int xtrk_pwrite_all(int fd, const void *data, size_t len, uint64_t off, const char *what);
/** Read up to `len` bytes, stopping only at EOF; returns bytes read or XTRK_* code. */
ssize_t xtrk_read_full(int fd, void *data, size_t len, const char *what);
/** Positional read of exactly `len` bytes (short read is XTRK_ECORRUPT). */
int xtrk_pread_exact(int fd, void *data, size_t len, uint64_t off, const char *what);
/** fsync a file descriptor, naming `what` in the error. */
int xtrk_fsync(int fd, const char *what);
/** fsync a folder so that renames inside it are durable. */
int xtrk_fsync_dir(const char *path);
/**
 * Refuse (XTRK_EINVALID, naming the link and `what`) a folder that holds a
 * symbolic link anywhere below `root`; `root` itself may be one.
 */
int xtrk_refuse_links(const char *root, const char *what);
/* Flags for xtrk_write_file_atomic. */
#define XTRK_WRITE_DURABLE 1 /* fsync the file and its folder (omit for caches) */

/**
 * Write `len` bytes to `path` atomically: a temp file beside it, rename.
 * With XTRK_WRITE_DURABLE also fsync before the rename and the folder after,
 * so the new content survives a power loss; a cache can skip that, since a
 * torn cache is detected and only costs time.
 */
int xtrk_write_file_atomic(const char *path, const void *data, size_t len, int mode, int flags);

/*
 * qsort and memcpy with a NULL pointer are undefined even for zero elements,
 * and an empty list is often NULL: sort and copy through these.
 */
static inline void xtrk_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (base && n > 1)
		qsort(base, n, size, cmp);
}
static inline void *xtrk_memcpy(void *dst, const void *src, size_t n)
{
	return n ? memcpy(dst, src, n) : dst;
}

/* Little-endian integer encoding for on-disk headers. */
static inline void xtrk_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t xtrk_get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
