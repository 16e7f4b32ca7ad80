/* Object IDs: XXH3-128 digests in xxhsum's canonical byte order. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "xtrk/errors.h"
#include "xtrk/oid.h"

struct xtrk_hasher {
	XXH3_state_t state;
};

static void oid_from_hash(xtrk_oid *out, XXH128_hash_t h)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h);
	memcpy(out->id, c.digest, XTRK_OID_RAWSZ);
}

void xtrk_oid_hash(xtrk_oid *out, const void *data, size_t len)
{
	oid_from_hash(out, XXH3_128bits(data, len));
}

xtrk_hasher *xtrk_hasher_new(void)
{
	/* XXH3 state wants 64-byte alignment for its SIMD accumulators. */
	xtrk_hasher *h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);
	if (h)
		xtrk_hasher_reset(h);
	return h;
}

void xtrk_hasher_reset(xtrk_hasher *h)
{
	XXH3_INITSTATE(&h->state);
	XXH3_128bits_reset(&h->state);
}

void xtrk_hasher_update(xtrk_hasher *h, const void *data, size_t len)
{
	XXH3_128bits_update(&h->state, data, len);
}

void xtrk_hasher_final(xtrk_oid *out, xtrk_hasher *h)
{
	oid_from_hash(out, XXH3_128bits_digest(&h->state));
}

void xtrk_hasher_free(xtrk_hasher *h)
{
	free(h);
}

void xtrk_oid_fmt(char out[XTRK_OID_HEXSZ + 1], const xtrk_oid *oid)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < XTRK_OID_RAWSZ; i++) {
		out[2 * i] = hex[oid->id[i] >> 4];
		out[2 * i + 1] = hex[oid->id[i] & 15];
	}
	out[XTRK_OID_HEXSZ] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int xtrk_oid_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || hexval(s[i]) < 0)
			return 0;
	return 1;
}

int xtrk_oid_parse(xtrk_oid *out, const char *hex)
{
	if (strlen(hex) != XTRK_OID_HEXSZ || !xtrk_oid_is_hex(hex, XTRK_OID_HEXSZ))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a 32-digit object ID", hex);
	for (int i = 0; i < XTRK_OID_RAWSZ; i++)
		out->id[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return 0;
}

int xtrk_oid_cmp(const xtrk_oid *a, const xtrk_oid *b)
{
	return memcmp(a->id, b->id, XTRK_OID_RAWSZ);
}

int xtrk_oid_is_zero(const xtrk_oid *oid)
{
	static const xtrk_oid zero;
	return !xtrk_oid_cmp(oid, &zero);
}

const char *xtrk_oid_tostr(const xtrk_oid *oid)
{
	static _Thread_local char ring[4][XTRK_OID_HEXSZ + 1];
	static _Thread_local int next;
	char *s = ring[next++ & 3];
	xtrk_oid_fmt(s, oid);
	return s;
}
