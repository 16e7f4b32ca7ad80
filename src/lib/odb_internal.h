/*
 * Inside the object database: the on-disk layout shared by loose objects and
 * packs, the store object, where an object's bytes are, and the streaming
 * reader; odb.c's functions the other odb_*.c modules use.  Not for use
 * outside src/lib/odb*.c.
 */
#ifndef XTRK_ODB_INTERNAL_H
#define XTRK_ODB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <zlib.h>

#include "xtrk/odb.h"

/*
 * Loose object: a 32-byte header, then the content (raw or zlib).
 *   0 "XTRK"  4 version  5 type  6 compression  7 reserved  8 size (le64)  16 ID
 * Pack entry: the same 32 bytes, then the stored length (le64), then data.
 * Pack index: "XIDX", version (le32), count (le64), count x (ID, offset le64)
 * sorted by ID, then the XXH3-128 of everything before it.
 */
#define HDR_SIZE 32
#define PACK_HDR_SIZE 40
#define PACK_FILE_HDR 16
#define IDX_HDR 16
#define IDX_ENTRY 24
#define FORMAT_VERSION 1
#define COMP_RAW 0
#define COMP_ZLIB 1
#define IO_CHUNK (1024 * 1024)
#define PACK_ROLL_SIZE ((uint64_t)1 << 30)
/* Start writeback of objects and packs as they are written, so the final fsync has little left to wait for. */
#define WRITEBACK_STEP (32u << 20)

struct pack {
	char *path;  /* the .pack file */
	int fd;      /* opened lazily, -1 until then */
	unsigned char *idx;
	size_t idx_len;
	uint64_t count;
};

struct xtrk_odb {
	char *dir;
	pthread_mutex_t lock; /* guards the pack list */
	struct pack *packs;
	size_t npacks;
	struct timespec pack_dir_mtime; /* of objects/pack when last scanned */
	/* With many packs: every packed object's pack, by a hash of its ID (odb_pack.c); NULL until needed. */
	struct packmap_slot *map;
	size_t map_cap;
	size_t fd_cursor; /* where odb_pack_open_fd looks first for a pack to close */
	size_t fds_open;  /* packs whose fd is open */
	uint64_t chunk_threshold; /* files this large are written as chunks; 0: never */
	xtrk_cdc cdc;
	xtrk_odb *chunk_src; /* where chunks missing here are looked for (odb_chunk.c) */
	const xtrk_oidset *chunks_elsewhere; /* chunks not to write here */
	uint64_t pack_size; /* a transaction's pack is sealed before it grows past this (0: PACK_ROLL_SIZE) */
};

/* Where an object's stored bytes are. */
struct loc {
	int fd;
	int own_fd;
	uint64_t off; /* first stored content byte */
	uint64_t stored;
	xtrk_otype type;
	int comp;
	uint64_t size;
	char where[512];
};

struct xtrk_odb_stream {
	xtrk_oid oid;
	struct loc loc;
	uint64_t pos;      /* stored bytes consumed */
	uint64_t produced; /* content bytes returned */
	z_stream z;
	int zinit;
	int zend;
	unsigned char *in;
	xtrk_hasher *h;
	int finished;
	/* A chunk list (odb_chunk.c): read whole and checked at open.  Alone, a
	 * stream returns the list itself; with `odb` set, the file it stands for. */
	unsigned char *list;
	size_t list_len;
	xtrk_odb *odb;
	uint64_t nchunks, ci;
	xtrk_odb_stream *cur; /* the chunk being read */
	size_t list_pos;      /* a list read as itself: bytes returned */
	int unhashed;         /* a chunk list's stored bytes: its ID is not their hash */
};

/*
 * The layout sizes above, checked against the fields they hold; every
 * multi-byte integer in them is little-endian (xtrk_put_le64, xtrk_get_le64).
 */
_Static_assert(XTRK_OID_RAWSZ == 16, "object IDs are 16 bytes on disk");
_Static_assert(HDR_SIZE == 4 + 1 + 1 + 1 + 1 + 8 + XTRK_OID_RAWSZ,
	"object header: magic, version, type, compression, reserved, size, ID");
_Static_assert(PACK_HDR_SIZE == HDR_SIZE + 8, "pack entry header: object header, stored length");
_Static_assert(PACK_FILE_HDR == 4 + 1 + 11, "pack file header: magic, version, zero padding");
_Static_assert(IDX_HDR == 4 + 4 + 8, "pack index header: magic, version, count");
_Static_assert(IDX_ENTRY == XTRK_OID_RAWSZ + 8, "pack index entry: ID, offset");

/* Find where an object's bytes are: packs, then loose. */
int odb_locate(struct loc *l, xtrk_odb *odb, const xtrk_oid *oid);
/* Close an object's location (its file, when the location opened it). */
void odb_loc_release(struct loc *l);
/* A verifying reader over an object already located; takes over `l`. */
int odb_stream_from_loc(xtrk_odb_stream **out, struct loc *l, const xtrk_oid *oid);
/* 1 when the object's content equals `len` bytes in memory (verifying it as it goes), 0 when not. */
int odb_stream_equals_mem(xtrk_odb_stream *s, const void *data, size_t len);
/* 1 when two objects have the same content, 0 when not. */
int odb_streams_equal(xtrk_odb_stream *a, xtrk_odb_stream *b);
/*
 * Chunk lists (odb_chunk.c).  Encoding: "XCHK", version 1, three zero bytes,
 * total size (le64), count (le64), then count x (chunk ID, size le64).
 */
#define CHUNKS_HDR 24
#define CHUNKS_ENTRY 24
_Static_assert(CHUNKS_HDR == 4 + 1 + 3 + 8 + 8, "chunk list header: magic, version, zero padding, total, count");
_Static_assert(CHUNKS_ENTRY == XTRK_OID_RAWSZ + 8, "chunk list entry: ID, size");
/* Read a new stream's chunk list whole, and check its encoding; it then reads as the list. */
int odb_chunks_load(xtrk_odb_stream *s);
/* Turn a loaded list into a reader of the file: every chunk present, stored as a file, of its size. */
int odb_chunks_open(xtrk_odb_stream *s, xtrk_odb *odb);
int odb_chunks_read(xtrk_odb_stream *s, void *data, size_t len, size_t *nread);
/* The error for an ID already stored with other content. */
int odb_collision(const xtrk_oid *oid);

#endif
