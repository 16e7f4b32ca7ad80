/* Loose objects: the object header, reading a loose file, writing one (raw or zlib), walking them. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "odb_loose.h"
#include "odb_txn.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

void odb_hdr_encode(unsigned char *h, xtrk_otype type, int comp, uint64_t size, const xtrk_oid *oid)
{
	memcpy(h, "XTRK", 4);
	h[4] = FORMAT_VERSION;
	h[5] = (unsigned char)type;
	h[6] = (unsigned char)comp;
	h[7] = 0;
	xtrk_put_le64(h + 8, size);
	memcpy(h + 16, oid->id, XTRK_OID_RAWSZ);
}

int odb_hdr_decode(struct loc *l, const unsigned char *h, const xtrk_oid *expect)
{
	if (memcmp(h, "XTRK", 4) || h[4] != FORMAT_VERSION)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: bad object header", l->where);
	if (h[5] < XTRK_OBJ_BLOB || h[5] > XTRK_OBJ_CHUNKS || h[6] > COMP_ZLIB)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: unknown object type or compression", l->where);
	if (expect && memcmp(h + 16, expect->id, XTRK_OID_RAWSZ))
		return xtrk_error_set(XTRK_ECORRUPT, "%s: header names another object", l->where);
	l->type = h[5];
	l->comp = h[6];
	l->size = xtrk_get_le64(h + 8);
	return 0;
}

/*
 * deflate cannot expand data more than about 1032 times, so a compressed
 * object that declares more than that is damaged or hostile: refused before
 * anything is allocated for it.
 */
int odb_loc_check_ratio(struct loc *l, const xtrk_oid *oid)
{
	if (l->comp == COMP_ZLIB && l->size / 1032 > l->stored + 64)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: object %s declares %llu bytes, more than its %llu compressed "
			"bytes can hold", l->where, oid ? xtrk_oid_tostr(oid) : "?", (unsigned long long)l->size,
			(unsigned long long)l->stored);
	return 0;
}

int odb_loose_path(xtrk_buf *out, const char *dir, const xtrk_oid *oid)
{
	char hex[XTRK_OID_HEXSZ + 1];
	xtrk_oid_fmt(hex, oid);
	xtrk_buf_clear(out);
	return xtrk_buf_printf(out, "%s/%.2s/%s", dir, hex, hex + 2);
}

int odb_loc_from_file(struct loc *l, const char *path, const xtrk_oid *oid)
{
	unsigned char h[HDR_SIZE];
	struct stat st;
	int err;

	snprintf(l->where, sizeof(l->where), "%s", path);
	if ((l->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? XTRK_ENOTFOUND : xtrk_error_errno("cannot open '%s'", path);
	l->own_fd = 1;
	if ((err = xtrk_pread_exact(l->fd, h, sizeof(h), 0, path)) < 0 ||
	    (err = odb_hdr_decode(l, h, oid)) < 0)
		goto fail;
	if (fstat(l->fd, &st) < 0) {
		err = xtrk_error_errno("cannot stat '%s'", path);
		goto fail;
	}
	l->off = HDR_SIZE;
	l->stored = (uint64_t)st.st_size - HDR_SIZE;
	if (l->comp == COMP_RAW && l->stored != l->size) {
		err = xtrk_error_set(XTRK_ECORRUPT, "object %s is truncated or has extra bytes (%s)",
			oid ? xtrk_oid_tostr(oid) : "?", path);
		goto fail;
	}
	if ((err = odb_loc_check_ratio(l, oid)) < 0)
		goto fail;
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return err;
}

/* ---- compression choice ---- */

/*
 * Estimate from a sample whether deflate will pay: byte entropy close to
 * 8 bits means random-looking data (weights, compressed media) that zlib would
 * spend seconds on for nothing.
 */
int odb_worth_compressing(const unsigned char *p, size_t n)
{
	unsigned counts[256] = { 0 };
	double h = 0;
	size_t sample = n < 65536 ? n : 65536;

	if (n < 128)
		return 0;
	for (size_t i = 0; i < sample; i++)
		counts[p[i]]++;
	for (int i = 0; i < 256; i++) {
		if (counts[i]) {
			double q = (double)counts[i] / (double)sample;
			h -= q * log2(q);
		}
	}
	return h < 7.0;
}

int odb_lw_open(struct loose_writer *w, xtrk_txn *t, const char *what)
{
	unsigned char h[HDR_SIZE] = { 0 };
	memset(w, 0, sizeof(*w));
	w->what = what;
	if (odb_tmpfile_in(&w->tmp, t->odb, "obj", &w->fd) < 0)
		return XTRK_ERROR;
	return xtrk_write_all(w->fd, h, sizeof(h), what);
}

int odb_lw_start_zlib(struct loose_writer *w)
{
	if (!(w->zout = malloc(IO_CHUNK)) || deflateInit(&w->z, 1) != Z_OK)
		return xtrk_error_oom();
	w->zinit = 1;
	w->comp = COMP_ZLIB;
	return 0;
}

static int lw_deflate(struct loose_writer *w, const void *data, size_t len, int flush)
{
	int err;
	w->z.next_in = (unsigned char *)data;
	w->z.avail_in = (uInt)len;
	do {
		int zr;
		w->z.next_out = w->zout;
		w->z.avail_out = IO_CHUNK;
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR)
			return xtrk_error_set(XTRK_ERROR, "compression failed for %s", w->what);
		if ((err = xtrk_write_all(w->fd, w->zout, IO_CHUNK - w->z.avail_out, w->what)) < 0)
			return err;
	} while (w->z.avail_out == 0);
	return 0;
}

int odb_lw_write(struct loose_writer *w, const void *data, size_t len)
{
	int err;
	w->size += len;
	if (w->comp == COMP_ZLIB)
		return lw_deflate(w, data, len, Z_NO_FLUSH);
	if ((err = xtrk_write_all(w->fd, data, len, w->what)) < 0)
		return err;
	if (w->size - w->flushed >= WRITEBACK_STEP) {
		/* Asynchronous: only starts the disk writes (git's core.fsyncMethod=batch does the same). */
		sync_file_range(w->fd, (off64_t)(HDR_SIZE + w->flushed), (off64_t)(w->size - w->flushed),
			SYNC_FILE_RANGE_WRITE);
		w->flushed = w->size;
	}
	return 0;
}

void odb_lw_cleanup(struct loose_writer *w)
{
	if (w->zinit)
		deflateEnd(&w->z);
	free(w->zout);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
	}
}

/* Seal the temp object and queue it (or drop it when an equal object exists). */
int odb_lw_finish(struct loose_writer *w, xtrk_txn *t, xtrk_otype type, const xtrk_oid *oid)
{
	unsigned char h[HDR_SIZE];
	int err;

	if (w->comp == COMP_ZLIB && (err = lw_deflate(w, NULL, 0, Z_FINISH)) < 0)
		return err;
	odb_hdr_encode(h, type, w->comp, w->size, oid);
	if ((err = xtrk_pwrite_all(w->fd, h, sizeof(h), 0, w->what)) < 0 ||
	    (err = xtrk_fsync(w->fd, w->what)) < 0)
		return err;
	fchmod(w->fd, 0444);
	close(w->fd);
	w->fd = -1;
	if ((err = odb_txn_add_pending(t, w->tmp, oid)) < 0)
		return err;
	w->tmp = NULL;
	return 0;
}

int odb_write_loose_from_mem(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len)
{
	struct loose_writer w;
	int err;

	if ((err = odb_lw_open(&w, t, "an object")) < 0)
		goto done;
	if ((type != XTRK_OBJ_BLOB || odb_worth_compressing(data, len)) && (err = odb_lw_start_zlib(&w)) < 0)
		goto done;
	if ((err = odb_lw_write(&w, data, len)) < 0)
		goto done;
	err = odb_lw_finish(&w, t, type, out);
done:
	odb_lw_cleanup(&w);
	return err;
}

/*
 * A streaming writer: small objects are gathered in memory and go to the
 * pack; once an object reaches XTRK_PACK_OBJECT_MAX it becomes a loose temp
 * object, hashed and written in one pass.  A dry transaction only hashes.
 */
int odb_foreach_loose(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload)
{
	xtrk_buf path = XTRK_BUF_INIT;
	int err = 0;

	for (int i = 0; i < 256 && !err; i++) {
		DIR *d;
		struct dirent *de;
		xtrk_buf_clear(&path);
		if (xtrk_buf_printf(&path, "%s/%02x", odb->dir, i) < 0)
			return XTRK_ERROR;
		if (!(d = opendir(path.ptr)))
			continue;
		while (!err && (de = readdir(d))) {
			char hex[XTRK_OID_HEXSZ + 1];
			xtrk_odb_entry e;
			struct loc l;
			xtrk_buf fp = XTRK_BUF_INIT;
			if (de->d_name[0] == '.')
				continue;
			xtrk_buf_printf(&fp, "%s/%s", path.ptr, de->d_name);
			if (strlen(de->d_name) == XTRK_OID_HEXSZ - 2) {
				snprintf(hex, 3, "%02x", i);
				memcpy(hex + 2, de->d_name, XTRK_OID_HEXSZ - 2);
				hex[XTRK_OID_HEXSZ] = '\0';
			} else {
				hex[0] = '\0';
			}
			if (!hex[0] || xtrk_oid_parse(&e.oid, hex) < 0) {
				if (bad)
					bad(fp.ptr, "a file that is not an object", payload);
				xtrk_buf_dispose(&fp);
				continue;
			}
			if (odb_loc_from_file(&l, fp.ptr, &e.oid) < 0) {
				if (bad)
					bad(fp.ptr, xtrk_error_last(), payload);
				xtrk_buf_dispose(&fp);
				continue;
			}
			e.type = l.type;
			e.size = l.size;
			e.where = fp.ptr;
			e.packed = 0;
			{
				struct stat st;
				e.stored = fstat(l.fd, &st) == 0 ? (uint64_t)st.st_size : HDR_SIZE + l.stored;
			}
			odb_loc_release(&l);
			err = cb(&e, payload);
			xtrk_buf_dispose(&fp);
		}
		closedir(d);
	}
	xtrk_buf_dispose(&path);
	return err;
}
