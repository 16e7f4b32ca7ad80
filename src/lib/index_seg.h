/*
 * The run index's segment files (.xtrk/index/seg-ID.idx): their on-disk
 * layout, writing one, and mapping and checking one.  index.c builds the
 * index that queries use on top of these.  The layout is described field by
 * field in xtrk-format(5).
 *
 * A segment is read in place (mmap'd), so the structs below are the file's
 * bytes: fixed-size integers and IEEE 754 binary64 doubles, all
 * little-endian, with no implicit padding (the asserts below hold the sizes
 * and offsets to the documented ones).  A host of the other byte order
 * neither writes nor maps segments: its index is answered from the run
 * objects, in memory.
 */
#ifndef XTRK_INDEX_SEG_H
#define XTRK_INDEX_SEG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/index.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

#define SEG_MAGIC "XTRKSEG1"
#define SEG_VERSION 2 /* 2: field names by the rule of xtrk/index.h (brackets) */
#define NO_ENV UINT32_MAX

struct seg_hdr {
	char magic[8];
	uint32_t version, nkeys, nruns, nenvs;
	uint64_t nfields, keys_off, envs_off, runs_off, fields_off, str_off, str_len, size;
	unsigned char sum[16]; /* XXH3-128 of everything after the header */
};

struct seg_key { uint32_t off, len; };
struct seg_env { uint32_t first, n; };
struct seg_run {
	unsigned char id[16];
	uint32_t env, first, n;
	uint32_t exp_off, exp_len, started_off, started_len, pad;
};
struct seg_field {
	uint32_t key;
	uint8_t type;
	uint8_t pad[3];
	union {
		double num;
		struct { uint32_t off, len; } s;
	} v;
};

/* The file format: these sizes and offsets are what xtrk-format(5) documents. */
_Static_assert(sizeof(double) == 8, "a number is an IEEE 754 binary64");
_Static_assert(sizeof(struct seg_hdr) == 104, "segment header: 104 bytes");
_Static_assert(offsetof(struct seg_hdr, version) == 8 && offsetof(struct seg_hdr, nfields) == 24 &&
	offsetof(struct seg_hdr, size) == 80 && offsetof(struct seg_hdr, sum) == 88, "segment header layout");
_Static_assert(sizeof(struct seg_key) == 8, "key entry: 8 bytes");
_Static_assert(sizeof(struct seg_env) == 8, "environment entry: 8 bytes");
_Static_assert(sizeof(struct seg_run) == 48, "run entry: 48 bytes");
_Static_assert(offsetof(struct seg_run, env) == 16 && offsetof(struct seg_run, exp_off) == 28, "run entry layout");
_Static_assert(sizeof(struct seg_field) == 16, "field entry: 16 bytes");
_Static_assert(offsetof(struct seg_field, type) == 4 && offsetof(struct seg_field, v) == 8, "field entry layout");

/* Whether this host's byte order is the format's (little-endian). */
static inline int xtrk_seg_host_ok(void)
{
	const uint16_t one = 1;
	return *(const unsigned char *)&one == 1;
}

/* A segment mapped and checked. */
struct seg {
	char *path;
	void *map;
	size_t size;
	const struct seg_hdr *h;
	const struct seg_key *keys;
	const struct seg_env *envs;
	const struct seg_run *runs;
	const struct seg_field *fields;
	const char *str;
};

/* A run to write: from a segment (remapped) or a flattened record. */
struct src {
	xtrk_oid id;
	const char *exp;
	const struct seg *seg;
	const struct seg_run *run;
	json_t *flat;
};

/* A JSON leaf, and a segment's field, as a value. */
void xtrk_seg_leaf_value(xtrk_value *out, json_t *v);
void xtrk_seg_field_value(xtrk_value *out, const struct seg *s, const struct seg_field *f);

/* Map a segment and check it whole; -1 (no error set) when it cannot be used. */
int xtrk_seg_load(struct seg *s, const char *path);
void xtrk_seg_close(struct seg *s);

/* Key `kid` against a name (bytewise); the first key >= name. */
int xtrk_seg_key_cmp(const struct seg *s, uint32_t kid, const char *name, size_t len);
uint32_t xtrk_seg_key_lower(const struct seg *s, const char *name, size_t len);
const struct seg_run *xtrk_seg_find_run(const struct seg *s, const xtrk_oid *id, uint32_t *idx);
const struct seg_field *xtrk_seg_fields_find(const struct seg_field *f, uint32_t n, uint32_t key);

/* Write one segment holding `srcs` (duplicates by ID keep the first); its path in `path_out`. */
int xtrk_seg_write(xtrk_buf *path_out, xtrk_repo *repo, struct src *srcs, size_t n);

/* The paths of the segment files (none when the folder is missing). */
int xtrk_seg_list(char ***out, size_t *n, xtrk_repo *repo);

#endif
