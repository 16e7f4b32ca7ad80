/* Writing run books: the manifest, summaries, objects and source pack into one tar archive. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fileutil.h"
#include "gitsrc.h"
#include "xtrk/bundle.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/reach.h"
#include "xtrk/refs.h"
#include "xtrk/report.h"
#include "xtrk/run.h"

#define CHUNK (1024 * 1024)

struct object {
	xtrk_oid id;
	xtrk_otype type;
	uint64_t size;
};

struct writer {
	xtrk_repo *repo;
	struct archive *a;
	time_t mtime;
	struct object *objs;
	size_t nobjs, aobjs;
	uint64_t bytes;
	unsigned char *chunk;
};

static int archive_fail(struct archive *a, const char *what)
{
	return xtrk_error_set(XTRK_ERROR, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "archive error");
}

/* A regular file entry owned by nobody in particular, with the same time for all: the archive is reproducible. */
static int entry_begin(struct writer *w, const char *name, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	int rc;
	if (!e)
		return xtrk_error_oom();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, w->mtime, 0);
	archive_entry_set_uname(e, "xtrk");
	archive_entry_set_gname(e, "xtrk");
	rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	return rc == ARCHIVE_OK ? 0 : archive_fail(w->a, "cannot write the bundle");
}

static int entry_data(struct writer *w, const void *data, size_t len)
{
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return archive_fail(w->a, "cannot write the bundle");
	return 0;
}

static int add_memory(struct writer *w, const char *name, const void *data, size_t len)
{
	int err;
	if ((err = entry_begin(w, name, len)) < 0)
		return err;
	return entry_data(w, data, len);
}

static int add_json(struct writer *w, const char *name, json_t *j, int pretty)
{
	char *text = xtrk_json_dumps(j, pretty ? XTRK_JSON_PRETTY : XTRK_JSON_STORE);
	int err;
	if (!text)
		return xtrk_error_oom();
	err = add_memory(w, name, text, strlen(text));
	free(text);
	return err;
}

static int collect(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	struct writer *w = payload;
	uint64_t size;
	int err;
	(void)is_data;
	if ((err = xtrk_odb_stat(&size, NULL, xtrk_repo_odb(w->repo), id)) < 0)
		return xtrk_error_set(err, "%s %s is not in the store (%s); run 'xtrk fsck'", xtrk_otype_name(type),
			xtrk_oid_tostr(id), xtrk_error_last());
	if (w->nobjs == w->aobjs) {
		size_t na = w->aobjs ? w->aobjs * 2 : 256;
		struct object *p = realloc(w->objs, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		w->objs = p;
		w->aobjs = na;
	}
	w->objs[w->nobjs].id = *id;
	w->objs[w->nobjs].type = type;
	w->objs[w->nobjs].size = size;
	w->nobjs++;
	w->bytes += size;
	return 0;
}

/* Copy one object out of the store; the read that reaches its end verifies it. */
static int add_object(struct writer *w, const struct object *o)
{
	xtrk_odb_stream *s = NULL;
	char name[64];
	size_t n;
	int err;

	snprintf(name, sizeof(name), "objects/%s.%s", xtrk_oid_tostr(&o->id), xtrk_otype_name(o->type));
	if ((err = xtrk_odb_stream_open(&s, xtrk_repo_odb(w->repo), &o->id)) < 0)
		return err;
	if ((err = entry_begin(w, name, xtrk_odb_stream_size(s))) < 0)
		goto done;
	do {
		if ((err = xtrk_odb_stream_read(s, w->chunk, CHUNK, &n)) < 0 || (err = entry_data(w, w->chunk, n)) < 0)
			goto done;
	} while (n);
done:
	xtrk_odb_stream_free(s);
	return err;
}

static int add_file(struct writer *w, const char *name, int fd, uint64_t size)
{
	ssize_t n;
	int err;
	if ((err = entry_begin(w, name, size)) < 0)
		return err;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return xtrk_error_errno("cannot read back the source pack");
	while ((n = xtrk_read_full(fd, w->chunk, CHUNK, "the source pack")) > 0)
		if ((err = entry_data(w, w->chunk, (size_t)n)) < 0)
			return err;
	return n < 0 ? (int)n : 0;
}

static int name_ends(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);
	return n >= k && !strcmp(path + n - k, suffix);
}

enum filter { FILTER_BAD, FILTER_NONE, FILTER_GZIP, FILTER_ZSTD };

/* The compression follows the file name, as tar -a does. */
static enum filter filter_for(const char *path)
{
	if (name_ends(path, ".tar.gz") || name_ends(path, ".tgz"))
		return FILTER_GZIP;
	if (name_ends(path, ".tar.zst") || name_ends(path, ".tzst"))
		return FILTER_ZSTD;
	return name_ends(path, ".tar") ? FILTER_NONE : FILTER_BAD;
}

static int set_filter(struct archive *a, enum filter f)
{
	int rc = f == FILTER_GZIP ? archive_write_add_filter_gzip(a)
		: f == FILTER_ZSTD ? archive_write_add_filter_zstd(a) : archive_write_add_filter_none(a);
	return rc == ARCHIVE_OK ? 0 : archive_fail(a, "cannot set up compression");
}

/* The distinct source commits of the runs, in the order first seen. */
static int source_commits(json_t *commits, json_t **runs, size_t nruns)
{
	for (size_t i = 0; i < nruns; i++) {
		json_t *c = json_object_get(json_object_get(runs[i], "source"), "commit");
		size_t j;
		json_t *v;
		int dup = 0;
		if (!json_is_string(c))
			continue;
		json_array_foreach(commits, j, v)
			dup |= json_equal(v, c);
		if (!dup && json_array_append(commits, c) < 0)
			return xtrk_error_oom();
	}
	return 0;
}

static json_t *manifest(struct writer *w, json_t **runs, size_t nruns, json_t *commits, uint64_t pack_size,
	const xtrk_bundle_options *o)
{
	json_t *m = json_object(), *jr = json_array(), *jo = json_array();
	char when[40];
	for (size_t i = 0; i < nruns; i++)
		json_array_append_new(jr, json_pack("{s:O, s:O, s:O}", "id", json_object_get(runs[i], "id"),
			"experiment", json_object_get(runs[i], "experiment"), "tags", json_object_get(runs[i], "tags")));
	for (size_t i = 0; i < w->nobjs; i++)
		json_array_append_new(jo, json_pack("[s, s, I]", xtrk_oid_tostr(&w->objs[i].id),
			xtrk_otype_name(w->objs[i].type), (json_int_t)w->objs[i].size));
	xtrk_format_time(when, (double)w->mtime);
	json_object_set_new(m, "format", json_integer(XTRK_BUNDLE_FORMAT));
	json_object_set_new(m, "xtrk", json_string(PACKAGE_VERSION));
	json_object_set_new(m, "created", json_string(when));
	json_object_set_new(m, "no_data", json_boolean(o->no_data));
	json_object_set_new(m, "runs", jr);
	json_object_set_new(m, "objects", jo);
	json_object_set_new(m, "bytes", json_integer((json_int_t)w->bytes));
	json_object_set_new(m, "source", o->with_source ? json_pack("{s:s, s:I, s:O}", "pack", "source.pack",
								 "bytes", (json_int_t)pack_size, "commits", commits)
							: json_null());
	return m;
}

static int order_objects(const void *a, const void *b)
{
	const struct object *x = a, *y = b;
	if (x->type != y->type) /* runs, then trees, then blobs: the small records come first */
		return x->type == XTRK_OBJ_RUN ? -1 : y->type == XTRK_OBJ_RUN ? 1 : x->type == XTRK_OBJ_TREE ? -1 : 1;
	return xtrk_oid_cmp(&x->id, &y->id);
}

static int cmp_oid(const void *a, const void *b)
{
	return xtrk_oid_cmp(a, b);
}

/* A run named twice would be two entries of the same name in the archive. */
static int check_distinct(const xtrk_oid *ids, size_t n)
{
	xtrk_oid *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	int err = 0;
	if (!sorted)
		return xtrk_error_oom();
	xtrk_memcpy(sorted, ids, n * sizeof(*sorted));
	xtrk_sort(sorted, n, sizeof(*sorted), cmp_oid);
	for (size_t i = 1; i < n && !err; i++)
		if (!xtrk_oid_cmp(&sorted[i - 1], &sorted[i]))
			err = xtrk_error_set(XTRK_EINVALID, "run %s is named twice", xtrk_oid_tostr(&sorted[i]));
	free(sorted);
	return err;
}

int xtrk_bundle_create(xtrk_bundle_stats *out, xtrk_repo *repo, const char *path,
	const xtrk_oid *ids, size_t nruns, const xtrk_bundle_options *o)
{
	struct writer w;
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_reach reach;
	json_t **runs = NULL, *commits = json_array(), *m = NULL;
	xtrk_buf tmp = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
	const char **chex = NULL;
	char **tnames = NULL;
	xtrk_oid *ttargets = NULL;
	size_t ntags = 0;
	uint64_t pack_size = 0;
	int fd = -1, pack_fd = -1, err = 0;
	size_t nr = 0;

	memset(&w, 0, sizeof(w));
	memset(out, 0, sizeof(*out));
	/* Checked before any work: a bad name must not cost a pack build and a read of every object. */
	if (filter_for(path) == FILTER_BAD) {
		json_decref(commits);
		return xtrk_error_set(XTRK_EINVALID, "'%s': a bundle's name must end in .tar, .tar.gz or .tar.zst", path);
	}
	if (nruns == 0) {
		json_decref(commits);
		return xtrk_error_set(XTRK_EINVALID, "a bundle needs at least one run");
	}
	if ((err = check_distinct(ids, nruns)) < 0) {
		json_decref(commits);
		return err;
	}
	w.repo = repo;
	w.mtime = 0;
	if (!(runs = calloc(nruns ? nruns : 1, sizeof(*runs))) || !(w.chunk = malloc(CHUNK)) || !commits) {
		err = xtrk_error_oom();
		goto done;
	}
	memset(&reach, 0, sizeof(reach));
	reach.visit = collect;
	reach.payload = &w;
	reach.odb = xtrk_repo_odb(repo);
	reach.seen = &seen;
	reach.skip_data = o->no_data;
	if ((err = xtrk_refs_tags(&tnames, &ttargets, &ntags, repo)) < 0)
		goto done;
	for (nr = 0; nr < nruns; nr++) {
		json_t *tags = json_array();
		if ((err = xtrk_run_read_record(&runs[nr], repo, &ids[nr])) < 0 ||
		    (err = xtrk_reach_run(&reach, &ids[nr], runs[nr])) < 0) {
			json_decref(tags);
			goto done;
		}
		/* Tags are read once for all runs, not once per run. */
		for (size_t t = 0; t < ntags; t++)
			if (!xtrk_oid_cmp(&ttargets[t], &ids[nr]))
				json_array_append_new(tags, json_string(tnames[t]));
		json_object_set_new(runs[nr], "tags", tags);
	}
	/* The newest run's end is the archive's time: the same runs give the same bundle. */
	for (size_t i = 0; i < nruns; i++) {
		struct tm tm;
		const char *e = json_string_value(json_object_get(runs[i], "ended"));
		memset(&tm, 0, sizeof(tm));
		if (e && strptime(e, "%Y-%m-%dT%H:%M:%S", &tm) && timegm(&tm) > w.mtime)
			w.mtime = timegm(&tm);
	}
	xtrk_sort(w.objs, w.nobjs, sizeof(*w.objs), order_objects);
	if ((err = source_commits(commits, runs, nruns)) < 0)
		goto done;
	if (o->with_source && json_array_size(commits)) {
		size_t nc = json_array_size(commits);
		if (!(chex = calloc(nc, sizeof(*chex)))) {
			err = xtrk_error_oom();
			goto done;
		}
		for (size_t i = 0; i < nc; i++)
			chex[i] = json_string_value(json_array_get(commits, i));
		xtrk_buf_printf(&tmp, "%s/objects/tmp/bundle-pack-XXXXXX", xtrk_repo_dir(repo));
		if ((pack_fd = mkstemp(tmp.ptr)) < 0) {
			err = xtrk_error_errno("cannot create a temporary file in '%s/objects/tmp'", xtrk_repo_dir(repo));
			goto done;
		}
		unlink(tmp.ptr);
		if ((err = xtrk_gitpack_build(&pack_size, pack_fd, repo, chex, nc)) < 0) {
			err = xtrk_error_set(err, "--with-source: %s", xtrk_error_last());
			goto done;
		}
	} else if (o->with_source) {
		xtrk_warning_add("--with-source: none of these runs records a git commit; the bundle carries no source");
	}
	m = manifest(&w, runs, nruns, commits, pack_size, &(xtrk_bundle_options){ pack_fd >= 0, o->no_data });
	if (!m) {
		err = xtrk_error_oom();
		goto done;
	}
	/* Appended notes travel in the manifest, each whole with its ID (xtrk-format(5)). */
	for (size_t i = 0; i < nruns; i++)
		if ((err = xtrk_notes_carry(json_array_get(json_object_get(m, "runs"), i), repo, &ids[i])) < 0 ||
		    (err = xtrk_stages_carry(json_array_get(json_object_get(m, "runs"), i), repo, &ids[i])) < 0)
			goto done;
	/* The audit logs too: this store's own and those it received (xtrk/audit.h). */
	{
		json_t *chains = NULL;
		if ((err = xtrk_audit_chains(&chains, repo)) < 0) {
			err = xtrk_error_set(err, "%s; no bundle was written (see 'xtrk audit --verify')", xtrk_error_last());
			goto done;
		}
		if (json_array_size(chains) ? json_object_set_new(m, "audit", chains) < 0 : (json_decref(chains), 0)) {
			err = xtrk_error_oom();
			goto done;
		}
	}

	/* The archive goes to a temp file beside the destination, renamed when complete. */
	xtrk_buf_clear(&tmp);
	xtrk_buf_printf(&tmp, "%s.tmp-XXXXXX", path);
	if (xtrk_buf_oom(&tmp) || (fd = mkstemp(tmp.ptr)) < 0) {
		err = xtrk_error_errno("cannot create '%s'", tmp.ptr ? tmp.ptr : path);
		goto done;
	}
	{
		mode_t um = umask(0); /* mkstemp makes 0600; a bundle is meant to be shared */
		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	if (!(w.a = archive_write_new())) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = set_filter(w.a, filter_for(path))) < 0)
		goto done;
	/* 1 MiB blocks: a 1 GiB model is a thousand writes, not a hundred thousand. */
	if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w.a, 1 << 20) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK || archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
		err = archive_fail(w.a, "cannot start the bundle");
		goto done;
	}
	{
		const char *base = strrchr(path, '/');
		json_t *docs = json_object();
		xtrk_oid did;
		if (!docs || json_object_set_new(m, "documents", docs) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		if ((err = xtrk_runbook_format(&text, runs, nruns, base ? base + 1 : path,
			     o->with_source && pack_fd >= 0, o->no_data)) < 0 ||
		    (err = add_memory(&w, "RUNBOOK.md", text.ptr, text.size)) < 0)
			goto done;
		/* Declared in the manifest, so that verify and import notice a document damaged or changed. */
		xtrk_oid_hash(&did, text.ptr ? text.ptr : "", text.size);
		json_object_set_new(docs, "RUNBOOK.md", json_string(xtrk_oid_tostr(&did)));
		/* The same runs for a browser: report.html, which needs no xtrk to read. */
		xtrk_buf_clear(&text);
		if (!o->no_report) {
			if ((err = xtrk_report_html(&text, repo, &(xtrk_report_options){ .runs = ids, .nruns = nruns,
				     .title = base ? base + 1 : path })) < 0 ||
			    (err = add_memory(&w, "report.html", text.ptr, text.size)) < 0)
				goto done;
			xtrk_oid_hash(&did, text.ptr ? text.ptr : "", text.size);
			json_object_set_new(docs, "report.html", json_string(xtrk_oid_tostr(&did)));
		}
		if ((err = add_json(&w, "xtrk-bundle.json", m, 0)) < 0)
			goto done;
	}
	for (size_t i = 0; i < nruns; i++) {
		char name[64];
		snprintf(name, sizeof(name), "runs/%s.json", json_string_value(json_object_get(runs[i], "id")));
		if ((err = add_json(&w, name, runs[i], 1)) < 0)
			goto done;
	}
	for (size_t i = 0; i < w.nobjs; i++)
		if ((err = add_object(&w, &w.objs[i])) < 0)
			goto done;
	if (pack_fd >= 0 && (err = add_file(&w, "source.pack", pack_fd, pack_size)) < 0)
		goto done;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		err = archive_fail(w.a, "cannot finish the bundle");
		goto done;
	}
	if ((err = xtrk_fsync(fd, path)) < 0)
		goto done;
	if (rename(tmp.ptr, path) < 0) {
		err = xtrk_error_errno("cannot create '%s'", path);
		goto done;
	}
	xtrk_buf_clear(&tmp);
	out->runs = nruns;
	out->objects = w.nobjs;
	out->bytes = w.bytes;
	out->has_source = pack_fd >= 0;
	out->no_data = o->no_data;
done:
	if (w.a)
		archive_write_free(w.a);
	if (fd >= 0) {
		close(fd);
		if (tmp.size)
			unlink(tmp.ptr);
	}
	if (pack_fd >= 0)
		close(pack_fd);
	for (size_t i = 0; i < nruns && runs; i++)
		json_decref(runs[i]);
	free(runs);
	free(chex);
	xtrk_refs_tags_free(tnames, ttargets, ntags);
	json_decref(commits);
	json_decref(m);
	free(w.objs);
	free(w.chunk);
	xtrk_oidset_dispose(&seen);
	xtrk_buf_dispose(&tmp);
	xtrk_buf_dispose(&text);
	return err;
}
