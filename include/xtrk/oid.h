/*
 * Object IDs: XXH3-128 of an object's content, shown as 32 lowercase hex
 * digits in the canonical (big-endian) order, so a blob's ID is exactly what
 * `xxhsum -H2 FILE` prints.
 */
#ifndef XTRK_OID_H
#define XTRK_OID_H

#include <stddef.h>
#include <stdint.h>

#define XTRK_OID_RAWSZ 16
#define XTRK_OID_HEXSZ 32

typedef struct {
	unsigned char id[XTRK_OID_RAWSZ];
} xtrk_oid;

/** Streaming hasher; opaque storage sized for XXH3 state. */
typedef struct xtrk_hasher xtrk_hasher;

/** Hash a buffer in one call. */
void xtrk_oid_hash(xtrk_oid *out, const void *data, size_t len);

/** A new streaming hasher, or NULL when out of memory. */
xtrk_hasher *xtrk_hasher_new(void);
void xtrk_hasher_reset(xtrk_hasher *h);
void xtrk_hasher_update(xtrk_hasher *h, const void *data, size_t len);
void xtrk_hasher_final(xtrk_oid *out, xtrk_hasher *h);
void xtrk_hasher_free(xtrk_hasher *h);

/** Write 32 hex digits and a NUL into `out` (33 bytes). */
void xtrk_oid_fmt(char out[XTRK_OID_HEXSZ + 1], const xtrk_oid *oid);
/** Parse exactly 32 hex digits (either case); XTRK_EINVALID otherwise. */
int xtrk_oid_parse(xtrk_oid *out, const char *hex);
/** True when `s` is a hex string of length `len` (lowercase or uppercase). */
int xtrk_oid_is_hex(const char *s, size_t len);
int xtrk_oid_cmp(const xtrk_oid *a, const xtrk_oid *b);
int xtrk_oid_is_zero(const xtrk_oid *oid);
/** A static hex string for messages (per-thread ring of 4). */
const char *xtrk_oid_tostr(const xtrk_oid *oid);

#endif
