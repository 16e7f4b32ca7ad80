/*
 * The object database: immutable, content-addressed objects under
 * `.xtrk/objects/`.
 *
 * Large objects are loose files (`objects/ab/cdef...`), small ones share pack
 * files (`objects/pack/pack-*.pack` with a sorted `.idx`).  Writes go through
 * a transaction that stages every object in temporary files, flushes them all
 * to disk together, and only then gives them their final names, so a crash
 * never leaves a half-written object under its ID.  Every read that leaves the
 * store is re-hashed against the ID.  The on-disk format is described in
 * xtrk-format(5).
 */
#ifndef XTRK_ODB_H
#define XTRK_ODB_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/buf.h"
#include "xtrk/oid.h"
#include "xtrk/oidset.h"

typedef enum {
	XTRK_OBJ_ANY = 0,
	XTRK_OBJ_BLOB = 1,
	XTRK_OBJ_TREE = 2,
	XTRK_OBJ_RUN = 3,
	/*
	 * A large file stored as chunks: its ID is the file's, its content the
	 * ordered list of its chunks (xtrk-format(5)).  Never written by
	 * callers; it reads as the file (XTRK_OBJ_BLOB) it stands for.
	 */
	XTRK_OBJ_CHUNKS = 4
} xtrk_otype;

typedef struct xtrk_odb xtrk_odb;
typedef struct xtrk_txn xtrk_txn;
typedef struct xtrk_odb_stream xtrk_odb_stream;

/** Objects at or above this size are stored loose; smaller ones go to packs. */
#define XTRK_PACK_OBJECT_MAX (512 * 1024)

/*
 * Content-defined chunking (FastCDC: a gear hash, normalized chunking).
 * Files of at least the store's threshold are cut into chunks of `min` to
 * `max` bytes, `avg` on average, each stored as an ordinary blob, so a new
 * version of a large file adds only the chunks that changed.
 */
#define XTRK_CHUNK_THRESHOLD_DEFAULT ((uint64_t)8 << 20)
#define XTRK_CHUNK_AVG_DEFAULT ((size_t)64 << 10)
#define XTRK_CHUNK_SIZE_LIMIT ((uint64_t)64 << 20) /* no chunk of a list may be larger */
#define XTRK_CHUNK_COUNT_LIMIT ((uint64_t)1 << 22) /* no list may name more chunks */

typedef struct {
	size_t min, avg, max; /* avg a power of two; min = avg / 4, max = avg * 4 */
} xtrk_cdc;

/** Chunking parameters around an average size (a power of two, 64 KiB to 16 MiB). */
int xtrk_cdc_init(xtrk_cdc *c, size_t avg);
/**
 * The length of the chunk that starts at `p`, of the `n` bytes there: a
 * content-defined cut point, `n` itself when `n` <= min, at most `max`.
 * With fewer than `max` bytes a caller that has more data to come must wait.
 */
size_t xtrk_cdc_cut(const xtrk_cdc *c, const unsigned char *p, size_t n);

/**
 * Files written from now on of at least `threshold` bytes (0: never) are
 * stored as chunks of `avg` bytes on average.  Default: 8 MiB, 64 KiB.
 */
int xtrk_odb_set_chunking(xtrk_odb *odb, uint64_t threshold, size_t avg);
/**
 * A second store where the chunks of this store's chunk lists may be found
 * (a staging store filled with only what the other lacked); NULL: none.
 */
void xtrk_odb_set_chunk_source(xtrk_odb *odb, xtrk_odb *other);
/**
 * A staging store whose objects go where the chunks in `elsewhere` already
 * are: it cuts files as `like` does, and does not write those chunks.
 * `elsewhere` is kept, not copied.
 */
void xtrk_odb_stage_chunks(xtrk_odb *odb, const xtrk_odb *like, const xtrk_oidset *elsewhere);
/**
 * Call `cb` with each chunk of a file stored as chunks, in order (XTRK_ECORRUPT
 * for a list that is not well formed); nothing for any other object, or one
 * that is absent.  The chunks themselves are not read.
 */
int xtrk_odb_chunks_foreach(xtrk_odb *odb, const xtrk_oid *oid,
	int (*cb)(const xtrk_oid *chunk, uint64_t size, void *payload), void *payload);

/** The name of a type ("blob", "tree", "run", "chunks"). */
const char *xtrk_otype_name(xtrk_otype type);

/** Open the object database rooted at `objects_dir` (which must exist). */
int xtrk_odb_open(xtrk_odb **out, const char *objects_dir);
void xtrk_odb_free(xtrk_odb *odb);

/** 1 when the object is in the store, 0 when not. */
int xtrk_odb_exists(xtrk_odb *odb, const xtrk_oid *oid);

/** Type and content size of an object without reading its content. */
int xtrk_odb_stat(uint64_t *size_out, xtrk_otype *type_out, xtrk_odb *odb, const xtrk_oid *oid);

/**
 * Whether an object stored as `stored`, of `size` bytes, may serve as
 * `expect`.  An ID names bytes, whatever type first stored them, so a file
 * (XTRK_OBJ_BLOB, or XTRK_OBJ_ANY) may be any object's bytes: a user may keep
 * a copy of a run record or of a tree's text among their files, and the ID
 * still proves the content.  A tree or a run record must have been stored as
 * one: bytes stored as a file (or a type byte flipped) are never parsed as a
 * tree or a run.  The empty object is every type at once (an empty file and
 * an empty folder share an ID).
 */
int xtrk_odb_type_fits(xtrk_otype stored, uint64_t size, xtrk_otype expect);
/**
 * Resolve an object ID prefix (4 or more hex digits) among all stored
 * objects; XTRK_ENOTFOUND or XTRK_EAMBIGUOUS (naming the candidates).
 */
int xtrk_odb_find_prefix(xtrk_oid *out, xtrk_odb *odb, const char *prefix);

/**
 * Read a whole object into `out` (replacing its contents), verifying its
 * content against the ID and its stored type against `expect` (see
 * xtrk_odb_type_fits).
 */
int xtrk_odb_read(xtrk_buf *out, xtrk_otype *type_out, xtrk_odb *odb,
	const xtrk_oid *oid, xtrk_otype expect);

/**
 * Open a streaming reader.  Reads return the object's content in order; the
 * read that reaches the end verifies size and hash and fails with
 * XTRK_ECORRUPT (naming the ID) on a mismatch, so a caller must not treat
 * data as good before it has seen the end.
 */
int xtrk_odb_stream_open(xtrk_odb_stream **out, xtrk_odb *odb, const xtrk_oid *oid);
/** Read up to `len` bytes; `*nread` is 0 at the (verified) end. */
int xtrk_odb_stream_read(xtrk_odb_stream *s, void *data, size_t len, size_t *nread);
uint64_t xtrk_odb_stream_size(const xtrk_odb_stream *s);
void xtrk_odb_stream_free(xtrk_odb_stream *s);

/** Start a write transaction.  Safe to use from several threads at once. */
int xtrk_txn_new(xtrk_txn **out, xtrk_odb *odb);
/** Store `len` bytes as an object of `type`; `out` receives its ID. */
int xtrk_txn_write(xtrk_oid *out, xtrk_txn *txn, xtrk_otype type, const void *data, size_t len);
/**
 * Store the contents of an open file as a blob, streaming with bounded
 * memory: a regular file as it was when this started (one that changes
 * meanwhile is XTRK_EINVALID), a pipe up to its end.  `path` names the file in messages.  `*size_out` gets the bytes read.
 */
int xtrk_txn_write_fd(xtrk_oid *out, uint64_t *size_out, xtrk_txn *txn, int fd, const char *path);
/**
 * Write one object of unknown size in pieces, with bounded memory: open,
 * write any number of times, finish (which names nothing until the
 * transaction commits), free.  With `expect`, finish fails with
 * XTRK_ECORRUPT when the content does not hash to that ID.
 */
typedef struct xtrk_txn_writer xtrk_txn_writer;
int xtrk_txn_writer_open(xtrk_txn_writer **out, xtrk_txn *txn, xtrk_otype type, const char *what);
int xtrk_txn_writer_write(xtrk_txn_writer *w, const void *data, size_t len);
int xtrk_txn_writer_finish(xtrk_oid *out, xtrk_txn_writer *w, const xtrk_oid *expect);
void xtrk_txn_writer_free(xtrk_txn_writer *w);

/**
 * A transaction that only computes IDs: nothing is written to the store.
 * Trees written to it are kept in memory so that xtrk_txn_read can return
 * them; this is how the workspace is compared with a recorded run.
 */
int xtrk_txn_new_dry(xtrk_txn **out, xtrk_odb *odb);
/** Read an object: one kept by a dry transaction, else from the store (verified). */
int xtrk_txn_read(xtrk_buf *out, xtrk_txn *txn, const xtrk_oid *oid);
/** Flush everything written to disk and name the objects.  Call once. */
int xtrk_txn_commit(xtrk_txn *txn);
/** Free a transaction; an uncommitted one is rolled back (temp files removed). */
void xtrk_txn_free(xtrk_txn *txn);

/** One object found by xtrk_odb_foreach. */
typedef struct {
	xtrk_oid oid;
	xtrk_otype type;
	uint64_t size;
	const char *where; /* the loose file or pack that holds it */
	uint64_t stored;   /* bytes it takes on disk: the loose file, or its pack entry (header and data) */
	int packed;        /* held by a pack */
} xtrk_odb_entry;

/**
 * Call `cb` for every object in the store (loose objects, then packs).
 * Structural damage found on the way (bad headers, a pack index that fails
 * its checksum) is reported through `bad` and the walk goes on.
 */
int xtrk_odb_foreach(xtrk_odb *odb,
	int (*cb)(const xtrk_odb_entry *e, void *payload),
	void (*bad)(const char *where, const char *problem, void *payload),
	void *payload);

/**
 * Check one object: header, size and, with `read_data`, its content hash.
 * Returns 0 or XTRK_ECORRUPT with the problem in the last error.
 */
int xtrk_odb_check(xtrk_odb *odb, const xtrk_oid *oid, int read_data);

#endif
