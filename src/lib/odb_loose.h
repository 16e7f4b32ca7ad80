/* Loose objects (odb_loose.c): the object header, loose files read and written, walked. */
#ifndef XTRK_ODB_LOOSE_H
#define XTRK_ODB_LOOSE_H

#include <stdint.h>
#include <zlib.h>

#include "odb_internal.h"
#include "xtrk/buf.h"
#include "xtrk/odb.h"

/*
 * A loose object under construction: header placeholder, then content
 * streamed in (compressed or raw), then the header is filled in.
 */
struct loose_writer {
	int fd;
	char *tmp;
	int comp;
	z_stream z;
	int zinit;
	unsigned char *zout;
	uint64_t size;
	uint64_t flushed; /* bytes handed to writeback so far */
	const char *what;
};

/* The object header, also the start of a pack entry. */
void odb_hdr_encode(unsigned char *h, xtrk_otype type, int comp, uint64_t size, const xtrk_oid *oid);
int odb_hdr_decode(struct loc *l, const unsigned char *h, const xtrk_oid *expect);
/* Refuse a compressed object that declares more than its stored bytes can inflate to. */
int odb_loc_check_ratio(struct loc *l, const xtrk_oid *oid);
/* `dir`/ab/cdef... */
int odb_loose_path(xtrk_buf *out, const char *dir, const xtrk_oid *oid);
/* Locate the object in a loose file; XTRK_ENOTFOUND when there is none. */
int odb_loc_from_file(struct loc *l, const char *path, const xtrk_oid *oid);
/* Whether deflate is likely to pay on these bytes. */
int odb_worth_compressing(const unsigned char *p, size_t n);

int odb_lw_open(struct loose_writer *w, xtrk_txn *t, const char *what);
int odb_lw_start_zlib(struct loose_writer *w);
int odb_lw_write(struct loose_writer *w, const void *data, size_t len);
void odb_lw_cleanup(struct loose_writer *w);
/* Seal the temp object and queue it in the transaction for naming. */
int odb_lw_finish(struct loose_writer *w, xtrk_txn *t, xtrk_otype type, const xtrk_oid *oid);
int odb_write_loose_from_mem(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len);

/* The loose objects' part of xtrk_odb_foreach. */
int odb_foreach_loose(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload);

#endif
