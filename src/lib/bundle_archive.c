/*
 * Reading a bundle's archive from untrusted hands: every entry name, type and
 * size checked against a closed list and the manifest, every object re-hashed
 * as it is read.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fileutil.h"
#include "gitsrc.h"
#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"
#include "bundle_archive.h"

void xtrk_br_problem(struct reader *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->st->problems++;
	if (!r->first_problem)
		r->first_problem = strdup(msg);
	if (r->cb)
		r->cb(msg, r->payload);
	if (r->stop_at_first)
		r->stopped = 1;
}

/* ---- entry names ---- */

static int reserved(const char *c, size_t n)
{
	return (n == 5 && !strncasecmp(c, ".xtrk", 5)) || (n == 4 && !strncasecmp(c, ".git", 4));
}

/* Why a name is unsafe, or NULL.  Checked before the name is compared with the closed list. */
static const char *unsafe_name(const char *name)
{
	const char *c = name;
	if (!name || !*name)
		return "an entry has no name";
	if (strlen(name) > XTRK_BUNDLE_MAX_PATH)
		return "path longer than the limit";
	if (*name == '/')
		return "absolute path";
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 2 && !strncmp(c, "..", 2))
			return "path traversal ('..')";
		if (reserved(c, n))
			return "reserved name (.xtrk or .git)";
		c += n;
		c += *c == '/';
	}
	return NULL;
}

static const char *bad_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return "hard link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return NULL;
	case AE_IFLNK: return "symbolic link";
	case AE_IFCHR: case AE_IFBLK: return "device file";
	case AE_IFIFO: return "FIFO";
	case AE_IFSOCK: return "socket";
	case AE_IFDIR: return "folder";
	default: return "not a regular file";
	}
}

/* "<prefix><32 hex><suffix>" -> the ID. */
static int id_name(xtrk_oid *id, const char *name, const char *prefix, const char **suffix)
{
	size_t p = strlen(prefix);
	char hex[XTRK_OID_HEXSZ + 1];
	if (strncmp(name, prefix, p) || strlen(name) < p + XTRK_OID_HEXSZ)
		return 0;
	memcpy(hex, name + p, XTRK_OID_HEXSZ);
	hex[XTRK_OID_HEXSZ] = 0;
	if (!xtrk_oid_is_hex(hex, XTRK_OID_HEXSZ) || xtrk_oid_parse(id, hex) < 0)
		return 0;
	for (const char *h = hex; *h; h++)
		if (*h >= 'A' && *h <= 'F')
			return 0;
	*suffix = name + p + XTRK_OID_HEXSZ;
	return 1;
}

/* ---- the manifest ---- */

static int decl_cmp(const void *a, const void *b)
{
	return xtrk_oid_cmp(&((const struct decl *)a)->id, &((const struct decl *)b)->id);
}

struct decl *xtrk_br_decl_find(struct reader *r, const xtrk_oid *id)
{
	struct decl key;
	key.id = *id;
	return r->ndecl ? bsearch(&key, r->decl, r->ndecl, sizeof(*r->decl), decl_cmp) : NULL;
}

static xtrk_otype type_named(const char *s)
{
	return !s ? XTRK_OBJ_ANY : !strcmp(s, "blob") ? XTRK_OBJ_BLOB : !strcmp(s, "tree") ? XTRK_OBJ_TREE
		: !strcmp(s, "run") ? XTRK_OBJ_RUN : XTRK_OBJ_ANY;
}

static int valid_commit(json_t *c)
{
	const char *s = json_string_value(c);
	return s && strlen(s) == 40 && xtrk_oid_is_hex(s, 40);
}

/* The manifest's shape, field by field; the first thing wrong is named. */
static const char *manifest_check(struct reader *r, json_t *m)
{
	json_t *v, *e, *src;
	size_t i, j;
	if (!json_is_object(m))
		return "is not a JSON object";
	if (!json_is_integer(json_object_get(m, "format")))
		return "'format' is not a number";
	if (json_integer_value(json_object_get(m, "format")) != XTRK_BUNDLE_FORMAT)
		return "has a format this xtrk does not read (made by a newer xtrk?)";
	if (!json_is_boolean(json_object_get(m, "no_data")))
		return "'no_data' is not true or false";
	if (!json_is_integer(json_object_get(m, "bytes")) || json_integer_value(json_object_get(m, "bytes")) < 0)
		return "'bytes' is not a byte count";
	v = json_object_get(m, "runs");
	if (!json_is_array(v) || !json_array_size(v))
		return "'runs' is not a list of runs";
	json_array_foreach(v, i, e) {
		xtrk_oid id;
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "id")) ||
		    xtrk_oid_parse(&id, json_string_value(json_object_get(e, "id"))) < 0)
			return "'runs' holds an entry without a run ID";
		if (!json_is_string(json_object_get(e, "experiment")) ||
		    !xtrk_ref_name_valid(json_string_value(json_object_get(e, "experiment"))))
			return "'runs' holds an entry without a valid experiment name";
	}
	if ((v = json_object_get(m, "documents"))) {
		const char *k;
		if (!json_is_object(v))
			return "'documents' is not an object";
		json_object_foreach(v, k, e) {
			xtrk_oid id;
			if ((strcmp(k, "RUNBOOK.md") && strcmp(k, "report.html")) || !json_is_string(e) ||
			    xtrk_oid_parse(&id, json_string_value(e)) < 0)
				return "'documents' holds an entry that is not RUNBOOK.md or report.html with its ID";
		}
	}
	v = json_object_get(m, "objects");
	if (!json_is_array(v))
		return "'objects' is not a list";
	if (json_array_size(v) > XTRK_BUNDLE_MAX_ENTRIES)
		return "declares more objects than the limit";
	if (!(r->decl = calloc(json_array_size(v) + 1, sizeof(*r->decl))))
		return "cannot be held in memory";
	json_array_foreach(v, i, e) {
		struct decl *d = &r->decl[i];
		if (!json_is_array(e) || json_array_size(e) != 3 || !json_is_string(json_array_get(e, 0)) ||
		    xtrk_oid_parse(&d->id, json_string_value(json_array_get(e, 0))) < 0)
			return "'objects' holds an entry without an object ID";
		if ((d->type = type_named(json_string_value(json_array_get(e, 1)))) == XTRK_OBJ_ANY)
			return "'objects' holds an entry of no known type";
		if (!json_is_integer(json_array_get(e, 2)) || json_integer_value(json_array_get(e, 2)) < 0)
			return "'objects' holds an entry without a size";
		d->size = (uint64_t)json_integer_value(json_array_get(e, 2));
		r->declared_bytes += d->size;
	}
	r->ndecl = json_array_size(v);
	xtrk_sort(r->decl, r->ndecl, sizeof(*r->decl), decl_cmp);
	for (j = 1; j < r->ndecl; j++)
		if (!xtrk_oid_cmp(&r->decl[j - 1].id, &r->decl[j].id))
			return "'objects' lists an object twice";
	if (r->declared_bytes != (uint64_t)json_integer_value(json_object_get(m, "bytes")))
		return "'bytes' is not the sum of the objects' sizes";
	if ((v = json_object_get(m, "audit")) && !json_is_array(v))
		return "'audit' is not a list of audit chains";
	src = json_object_get(m, "source");
	if (src && !json_is_null(src)) {
		if (!json_is_object(src) || !json_is_integer(json_object_get(src, "bytes")) ||
		    json_integer_value(json_object_get(src, "bytes")) < 0 || !json_is_array(json_object_get(src, "commits")))
			return "'source' is not a pack description";
		json_array_foreach(json_object_get(src, "commits"), i, e)
			if (!valid_commit(e))
				return "'source.commits' holds something that is not a commit ID";
	}
	return NULL;
}

/* ---- reading entries ---- */

static int read_small(struct reader *r, xtrk_buf *out, la_int64_t size)
{
	la_ssize_t n;
	int err;
	xtrk_buf_clear(out);
	if ((err = xtrk_buf_grow(out, (size_t)size + 1)) < 0)
		return err;
	while ((n = archive_read_data(r->a, r->chunk, CHUNK)) > 0)
		if ((err = xtrk_buf_put(out, r->chunk, (size_t)n)) < 0)
			return err;
	if (n < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "the bundle is damaged or truncated: %s", archive_error_string(r->a));
	return 0;
}

/* An entry read to its end and hashed (RUNBOOK.md, report.html: checked against the manifest's "documents"). */
static int hash_entry(struct reader *r, xtrk_oid *out, const char *name)
{
	xtrk_hasher *h = xtrk_hasher_new();
	la_ssize_t n;
	if (!h)
		return xtrk_error_oom();
	while ((n = archive_read_data(r->a, r->chunk, CHUNK)) > 0)
		xtrk_hasher_update(h, r->chunk, (size_t)n);
	xtrk_hasher_final(out, h);
	xtrk_hasher_free(h);
	if (n < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "the bundle is damaged or truncated at %s: %s", name,
			archive_error_string(r->a));
	return 0;
}

static json_t *parse_json(struct reader *r, const char *name, const xtrk_buf *b)
{
	json_error_t je;
	json_t *j = json_loadb(b->ptr ? b->ptr : "", b->size, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		xtrk_br_problem(r, "%s: malformed JSON at line %d, column %d: %s", name, je.line, je.column, je.text);
	return j;
}

static int keep_mem(struct reader *r, const xtrk_oid *id, xtrk_buf *b)
{
	if (r->mem_bytes + b->size > XTRK_BUNDLE_MAX_TREES)
		return xtrk_error_set(XTRK_EINVALID, "the bundle's trees and run records exceed the limit of %llu MiB",
			(unsigned long long)(XTRK_BUNDLE_MAX_TREES >> 20));
	if (r->nmem == r->amem) {
		size_t na = r->amem ? r->amem * 2 : 64;
		struct mem *p = realloc(r->mem, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		r->mem = p;
		r->amem = na;
	}
	r->mem[r->nmem].id = *id;
	r->mem[r->nmem].len = b->size;
	r->mem[r->nmem].data = xtrk_buf_detach(b);
	if (!r->mem[r->nmem].data && !(r->mem[r->nmem].data = strdup("")))
		return xtrk_error_oom();
	r->mem_bytes += r->mem[r->nmem].len;
	r->nmem++;
	return 0;
}

int xtrk_br_mem_cmp(const void *a, const void *b)
{
	return xtrk_oid_cmp(&((const struct mem *)a)->id, &((const struct mem *)b)->id);
}

struct mem *xtrk_br_mem_find(struct reader *r, const xtrk_oid *id)
{
	struct mem key;
	key.id = *id;
	return r->nmem ? bsearch(&key, r->mem, r->nmem, sizeof(*r->mem), xtrk_br_mem_cmp) : NULL;
}

/* An object entry: streamed through the hash (and into the store on import), checked against its ID. */
static int read_object(struct reader *r, const char *name, struct decl *d, la_int64_t size)
{
	xtrk_txn_writer *w = NULL;
	xtrk_hasher *h = NULL;
	xtrk_buf keep = XTRK_BUF_INIT;
	xtrk_oid got;
	la_ssize_t n;
	int err = 0, store = r->repo && !xtrk_odb_exists(xtrk_repo_odb(r->repo), &d->id);
	int hold = d->type != XTRK_OBJ_BLOB || xtrk_oidset_has(&r->patches, &d->id);

	if ((uint64_t)size != d->size) {
		/* Not even skipped: skipping a compressed giant costs as much as reading it. */
		xtrk_br_problem(r, "%s: %lld bytes in the archive, but the manifest declares %llu", name, (long long)size,
			(unsigned long long)d->size);
		r->stopped = 1;
		return 0;
	}
	if (store ? (err = xtrk_txn_writer_open(&w, r->txn, d->type, name)) < 0 : !(h = xtrk_hasher_new()))
		return err < 0 ? err : xtrk_error_oom();
	while ((n = archive_read_data(r->a, r->chunk, CHUNK)) > 0) {
		if (store ? (err = xtrk_txn_writer_write(w, r->chunk, (size_t)n)) < 0 : (xtrk_hasher_update(h, r->chunk, (size_t)n), 0))
			goto done;
		if (hold && (err = xtrk_buf_put(&keep, r->chunk, (size_t)n)) < 0)
			goto done;
	}
	if (n < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "the bundle is damaged or truncated at %s: %s", name,
			archive_error_string(r->a));
		goto done;
	}
	if (store) {
		if ((err = xtrk_txn_writer_finish(&got, w, &d->id)) == XTRK_ECORRUPT) {
			xtrk_br_problem(r, "%s: content does not match its ID (%s)", name, xtrk_error_last());
			err = 0;
			goto done;
		}
		if (err < 0)
			goto done;
		r->st->objects_new++;
	} else {
		xtrk_hasher_final(&got, h);
		if (xtrk_oid_cmp(&got, &d->id)) {
			xtrk_br_problem(r, "%s: content hashes to %s, not to its ID", name, xtrk_oid_tostr(&got));
			goto done;
		}
	}
	d->seen = 1;
	r->st->objects++;
	r->st->bytes += d->size;
	if (hold)
		err = keep_mem(r, &d->id, &keep);
done:
	xtrk_txn_writer_free(w);
	xtrk_hasher_free(h);
	xtrk_buf_dispose(&keep);
	return err;
}

static int read_pack(struct reader *r, la_int64_t size)
{
	json_t *src = json_object_get(r->manifest, "source");
	xtrk_gitpack_recv *rx = NULL;
	la_ssize_t n;
	int err = 0;

	if (!json_is_object(src)) {
		xtrk_br_problem(r, "source.pack: the manifest declares no source pack");
		return 0;
	}
	if (size != json_integer_value(json_object_get(src, "bytes"))) {
		xtrk_br_problem(r, "source.pack: %lld bytes in the archive, but the manifest declares %lld", (long long)size,
			json_integer_value(json_object_get(src, "bytes")));
		r->stopped = 1;
		return 0;
	}
	if ((err = xtrk_gitpack_recv_new(&rx, r->stage, (uint64_t)size)) < 0)
		goto done;
	while ((n = archive_read_data(r->a, r->chunk, CHUNK)) > 0)
		if (xtrk_gitpack_recv_feed(rx, r->chunk, (size_t)n) < 0) {
			xtrk_br_problem(r, "source.pack: %s", xtrk_error_last());
			goto done;
		}
	if (n < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "the bundle is damaged or truncated at source.pack: %s",
			archive_error_string(r->a));
		goto done;
	}
	if (xtrk_gitpack_recv_finish(rx, &r->pack_path) < 0) {
		xtrk_br_problem(r, "source.pack: %s", xtrk_error_last());
		xtrk_buf_clear(&r->pack_path);
		goto done;
	}
	r->st->has_source = 1;
done:
	xtrk_gitpack_recv_free(rx);
	return err;
}

int xtrk_br_read_entry(struct reader *r, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *why, *suffix;
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_oid id;
	struct decl *d;
	int err = 0;

	if ((why = unsafe_name(name))) {
		xtrk_br_problem(r, "entry '%.300s': %s", name ? name : "", why);
		return 0;
	}
	if ((why = bad_type(e))) {
		xtrk_br_problem(r, "entry '%s': %s (a bundle holds only regular files)", name, why);
		return 0;
	}
	if (size < 0) {
		xtrk_br_problem(r, "entry '%s' has no size", name);
		return 0;
	}
	if (!strcmp(name, "RUNBOOK.md")) {
		if (r->seen_runbook++)
			xtrk_br_problem(r, "entry '%s': duplicate entry", name);
		else if ((uint64_t)size > XTRK_BUNDLE_MAX_META)
			xtrk_br_problem(r, "entry '%s' is larger than the limit", name);
		else
			return hash_entry(r, &r->runbook_id, name);
		return 0;
	}
	if (!strcmp(name, "report.html")) {
		/* For people, like RUNBOOK.md: only hashed here (so any size), nothing in it is trusted. */
		if (r->seen_report++)
			xtrk_br_problem(r, "entry '%s': duplicate entry", name);
		else
			return hash_entry(r, &r->report_id, name);
		return 0;
	}
	if (!strcmp(name, "xtrk-bundle.json")) {
		const char *bad;
		if (r->manifest || r->seen_other) {
			xtrk_br_problem(r, "entry '%s': %s", name, r->manifest ? "duplicate entry" : "the manifest must come first");
			r->stopped = 1;
			return 0;
		}
		if ((uint64_t)size > XTRK_BUNDLE_MAX_META) {
			xtrk_br_problem(r, "entry '%s' is larger than the limit", name);
			r->stopped = 1;
			return 0;
		}
		if ((err = read_small(r, &b, size)) < 0)
			goto done;
		if (!(r->manifest = parse_json(r, name, &b))) {
			r->stopped = 1;
			goto done;
		}
		if ((bad = manifest_check(r, r->manifest))) {
			xtrk_br_problem(r, "%s %s", name, bad);
			r->stopped = 1;
			goto done;
		}
		r->st->no_data = json_is_true(json_object_get(r->manifest, "no_data"));
		goto done;
	}
	r->seen_other = 1;
	if (!r->manifest) {
		xtrk_br_problem(r, "entry '%s' comes before the manifest (xtrk-bundle.json): not an xtrk bundle", name);
		r->stopped = 1;
		return 0;
	}
	if (id_name(&id, name, "runs/", &suffix) && !strcmp(suffix, ".json")) {
		json_t *j;
		if (json_object_get(r->summaries, xtrk_oid_tostr(&id))) {
			xtrk_br_problem(r, "entry '%s': duplicate entry", name);
			return 0;
		}
		if ((uint64_t)size > XTRK_BUNDLE_MAX_META) {
			xtrk_br_problem(r, "entry '%s' is larger than the limit", name);
			return 0;
		}
		if ((err = read_small(r, &b, size)) < 0 || !(j = parse_json(r, name, &b)))
			goto done;
		json_object_set_new(r->summaries, xtrk_oid_tostr(&id), j);
		{
			xtrk_oid pid;
			const char *p = json_string_value(json_object_get(json_object_get(j, "source"), "patch"));
			if (p && xtrk_oid_parse(&pid, p) == 0 && (err = xtrk_oidset_add(&r->patches, &pid)) < 0)
				goto done;
			err = 0;
		}
		goto done;
	}
	if (id_name(&id, name, "objects/", &suffix) && *suffix == '.') {
		if (!(d = xtrk_br_decl_find(r, &id)) || type_named(suffix + 1) != d->type) {
			xtrk_br_problem(r, "entry '%s' is not in the manifest", name);
			return 0;
		}
		if (d->seen) {
			xtrk_br_problem(r, "entry '%s': duplicate entry", name);
			return 0;
		}
		return read_object(r, name, d, size);
	}
	if (!strcmp(name, "source.pack")) {
		if (r->seen_pack++) {
			xtrk_br_problem(r, "entry '%s': duplicate entry", name);
			return 0;
		}
		return read_pack(r, size);
	}
	xtrk_br_problem(r, "entry '%.300s' is not part of a bundle", name);
done:
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_br_reader_open(struct reader *r, xtrk_bundle_stats *st)
{
	memset(r, 0, sizeof(*r));
	memset(st, 0, sizeof(*st));
	r->st = st;
	if (!(r->a = archive_read_new()) || !(r->chunk = malloc(CHUNK)) || !(r->summaries = json_object()))
		return xtrk_error_oom();
	/* Only tar, under any of the usual compressions: nothing else is a bundle. */
	archive_read_support_format_tar(r->a);
	archive_read_support_filter_all(r->a);
	return 0;
}

void xtrk_br_reader_close(struct reader *r)
{
	if (r->a)
		archive_read_free(r->a);
	for (size_t i = 0; i < r->nmem; i++)
		free(r->mem[i].data);
	free(r->mem);
	free(r->decl);
	free(r->chunk);
	free(r->first_problem);
	json_decref(r->manifest);
	json_decref(r->summaries);
	xtrk_oidset_dispose(&r->patches);
	if (r->stage) {
		xtrk_remove_tree(r->stage);
		free(r->stage);
	}
	xtrk_buf_dispose(&r->pack_path);
}

int xtrk_br_stage_dir(struct reader *r, const char *parent)
{
	xtrk_buf p = XTRK_BUF_INIT;
	xtrk_buf_printf(&p, "%s/xtrk-bundle-XXXXXX", parent);
	if (xtrk_buf_oom(&p) || !mkdtemp(p.ptr)) {
		int err = xtrk_error_errno("cannot create a staging folder in '%s'", parent);
		xtrk_buf_dispose(&p);
		return err;
	}
	r->stage = xtrk_buf_detach(&p);
	return 0;
}

int xtrk_br_open_file(struct reader *r, const char *path)
{
	if (archive_read_open_filename(r->a, path, 1 << 20) != ARCHIVE_OK)
		return xtrk_error_set(errno == ENOENT ? XTRK_ENOTFOUND : XTRK_EINVALID, "cannot read bundle '%s': %s", path,
			archive_error_string(r->a) ? archive_error_string(r->a) : "unreadable");
	return 0;
}
