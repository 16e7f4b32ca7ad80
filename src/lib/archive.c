/* Archival: runs moved out of the store into a verified bundle (xtrk/archive.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "odb_lock.h"
#include "xtrk/archive.h"
#include "xtrk/buf.h"
#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"

int xtrk_file_sha256(char hex[XTRK_SHA256_HEXSZ + 1], uint64_t *bytes, const char *path)
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	unsigned char *chunk;
	uint64_t total = 0;
	ssize_t n;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return xtrk_error_errno("cannot open '%s'", path);
	if (!(chunk = malloc(1 << 20))) {
		close(fd);
		return xtrk_error_oom();
	}
	sha256_init(&ctx);
	while ((n = xtrk_read_full(fd, chunk, 1 << 20, path)) > 0) {
		sha256_update(&ctx, (size_t)n, chunk);
		total += (uint64_t)n;
	}
	if (n < 0)
		err = (int)n;
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	if (bytes)
		*bytes = total;
	free(chunk);
	close(fd);
	return err;
}

/* ---- records ---- */

static void record_dispose(xtrk_archived *a)
{
	free(a->path);
	a->path = NULL;
}

void xtrk_archived_free(xtrk_archived *list, size_t count)
{
	for (size_t i = 0; list && i < count; i++)
		record_dispose(&list[i]);
	free(list);
}

void xtrk_archive_result_dispose(xtrk_archive_result *r)
{
	record_dispose(&r->record);
}

static int record_parse(xtrk_archived *a, const char *text, const char *rel)
{
	json_t *j = json_loads(text, 0, NULL);
	const char *path = json_string_value(json_object_get(j, "path"));
	const char *sha = json_string_value(json_object_get(j, "sha256"));
	json_t *bytes = json_object_get(j, "bytes"), *t = json_object_get(j, "time");
	int err = 0;

	if (!json_is_object(j) || !path || !*path || !sha || strlen(sha) != XTRK_SHA256_HEXSZ ||
	    !xtrk_oid_is_hex(sha, XTRK_SHA256_HEXSZ) || !json_is_integer(bytes) || json_integer_value(bytes) < 0 ||
	    !json_is_integer(t))
		err = xtrk_error_set(XTRK_ECORRUPT, "%s is not an archive record (path, sha256, bytes, time)", rel);
	else if (!(a->path = strdup(path)))
		err = xtrk_error_oom();
	else {
		memcpy(a->sha256, sha, XTRK_SHA256_HEXSZ + 1);
		a->bytes = (uint64_t)json_integer_value(bytes);
		a->time = (int64_t)json_integer_value(t);
	}
	json_decref(j);
	return err;
}

static char *record_format(const xtrk_archived *a)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "path", a->path, "sha256", a->sha256, "bytes",
		(json_int_t)a->bytes, "time", (json_int_t)a->time);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *line = text ? malloc(strlen(text) + 2) : NULL;
	if (line)
		sprintf(line, "%s\n", text);
	free(text);
	json_decref(j);
	return line;
}

static int by_ref(const void *a, const void *b)
{
	const xtrk_archived *x = a, *y = b;
	int c = strcmp(x->experiment, y->experiment);
	return c ? c : xtrk_oid_cmp(&x->run, &y->run);
}

int xtrk_archived_list(xtrk_archived **out, size_t *count, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
	xtrk_archived *list = NULL;
	xtrk_run_ref *refs = NULL;
	size_t n = 0, nrefs = 0;
	int err;

	*out = NULL;
	*count = 0;
	if ((err = xtrk_refs_list_area(&refs, &nrefs, repo, "archived")) < 0)
		return err;
	if (nrefs && !(list = calloc(nrefs, sizeof(*list))))
		err = xtrk_error_oom();
	for (size_t i = 0; err == 0 && i < nrefs; i++) {
		xtrk_archived *a = &list[n];
		char rel[400];
		a->run = refs[i].run;
		snprintf(a->experiment, sizeof(a->experiment), "%s", refs[i].experiment);
		snprintf(rel, sizeof(rel), "refs/archived/%s/%s", a->experiment, xtrk_oid_tostr(&a->run));
		xtrk_buf_clear(&p);
		xtrk_buf_clear(&text);
		if (xtrk_buf_printf(&p, "%s/%s", xtrk_repo_dir(repo), rel) < 0) {
			err = xtrk_error_oom();
		} else if ((err = xtrk_buf_read_file(&text, p.ptr)) == XTRK_ENOTFOUND) {
			xtrk_error_clear(); /* imported back meanwhile */
			err = 0;
		} else if (err == 0 && (err = record_parse(a, text.ptr ? text.ptr : "", rel)) == 0) {
			n++;
		}
	}
	free(refs);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&text);
	if (err < 0) {
		xtrk_archived_free(list, n);
		return err;
	}
	xtrk_sort(list, n, sizeof(*list), by_ref);
	*out = list;
	*count = n;
	return 0;
}

int xtrk_archived_resolve(xtrk_archived *out, xtrk_repo *repo, const char *rev)
{
	size_t len = strlen(rev), n, matches = 0, hit = 0;
	xtrk_archived *list;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < 4 || len > XTRK_OID_HEXSZ || !xtrk_oid_is_hex(rev, len))
		return xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not a run ID or an ID prefix of at least 4 hex digits", rev);
	if ((err = xtrk_archived_list(&list, &n, repo)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(xtrk_oid_tostr(&list[i].run), rev, len))
			continue;
		if (matches && !xtrk_oid_cmp(&list[hit].run, &list[i].run))
			continue; /* one run archived from two experiments */
		hit = i;
		matches++;
	}
	if (matches == 1) {
		*out = list[hit];
		list[hit].path = NULL;
	}
	xtrk_archived_free(list, n);
	if (matches > 1)
		return xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' matches %zu archived runs; give more of the ID", rev, matches);
	if (!matches)
		return xtrk_error_set(XTRK_ENOTFOUND, "no archived run matches '%s' (see 'xtrk archive --list')", rev);
	return 0;
}

/* ---- archiving ---- */

/* `path` made absolute by its folder's real path; refused inside the store, or existing without force. */
static int target_path(xtrk_buf *abs, xtrk_repo *repo, const char *path, int force)
{
	char dir[PATH_MAX], store[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	xtrk_buf d = XTRK_BUF_INIT;
	struct stat st;
	int err = 0;
	size_t sl;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return xtrk_error_set(XTRK_EINVALID, "'%s' does not name a file", path);
	if (!slash)
		xtrk_buf_puts(&d, ".");
	else if (slash == path)
		xtrk_buf_puts(&d, "/");
	else
		xtrk_buf_put(&d, path, (size_t)(slash - path));
	if (xtrk_buf_oom(&d))
		return xtrk_error_oom();
	if (!realpath(d.ptr, dir))
		err = errno == ENOENT || errno == ENOTDIR
			? xtrk_error_set(XTRK_EINVALID, "the folder of '%s' does not exist", path)
			: xtrk_error_errno("cannot find the folder of '%s'", path);
	else if (!realpath(xtrk_repo_dir(repo), store))
		err = xtrk_error_errno("cannot find the store '%s'", xtrk_repo_dir(repo));
	xtrk_buf_dispose(&d);
	if (err < 0)
		return err;
	sl = strlen(store);
	if (!strncmp(dir, store, sl) && (dir[sl] == '\0' || dir[sl] == '/'))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is inside the store; an archive must live outside it (gc "
			"and the store's own files would not keep it)", path);
	if (xtrk_buf_printf(abs, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base) < 0)
		return xtrk_error_oom();
	{
		xtrk_archived *list;
		size_t n;
		int held = 0;
		if ((err = xtrk_archived_list(&list, &n, repo)) < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			held |= !strcmp(list[i].path, abs->ptr);
		xtrk_archived_free(list, n);
		if (held)
			return xtrk_error_set(XTRK_EEXISTS, "'%s' is the archive of runs archived in this store; it is not "
				"replaced, even with --force (see 'xtrk archive --list')", path);
	}
	if (lstat(abs->ptr, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return xtrk_error_set(XTRK_EINVALID, "'%s' exists and is not a plain file", path);
		if (!force)
			return xtrk_error_set(XTRK_EEXISTS, "'%s' exists; --force replaces it", path);
	}
	return 0;
}

/* What may be archived: listed, and nothing but its experiment ref keeping it. */
static int check_run(xtrk_repo *repo, const xtrk_oid *run, char **tnames, xtrk_oid *ttargets, size_t ntags)
{
	int err;
	if ((err = xtrk_run_check_listed(repo, run)) < 0)
		return err;
	for (size_t t = 0; t < ntags; t++)
		if (!xtrk_oid_cmp(&ttargets[t], run))
			return xtrk_error_set(XTRK_EINVALID, "run %s is tagged '%s'; a tag keeps its run in the store, so "
				"delete the tag first ('xtrk tag -d %s')", xtrk_oid_tostr(run), tnames[t], tnames[t]);
	if (xtrk_refs_partial(repo, run))
		return xtrk_error_set(XTRK_EINVALID, "run %s came without its data files; it cannot be archived whole",
			xtrk_oid_tostr(run));
	return 0;
}

static void count_problem(const char *what, void *payload)
{
	char **first = payload;
	if (!*first)
		*first = strdup(what);
}

/* Notes and stage records travel in the bundle: their refs (refs/NS/RUN/) go with the run (their objects then belong to no ref). */
static void drop_notes(xtrk_repo *repo, const char *ns, const xtrk_oid *run)
{
	xtrk_buf p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;

	if (xtrk_buf_printf(&p, "%s/refs/%s/%s", xtrk_repo_dir(repo), ns, xtrk_oid_tostr(run)) < 0 ||
	    !(d = opendir(p.ptr))) {
		xtrk_buf_dispose(&p);
		return;
	}
	while ((de = readdir(d))) {
		size_t len = p.size;
		if (de->d_name[0] == '.')
			continue;
		if (xtrk_buf_printf(&p, "/%s", de->d_name) == 0)
			unlink(p.ptr);
		xtrk_buf_truncate(&p, len);
	}
	closedir(d);
	xtrk_fsync_dir(p.ptr);
	rmdir(p.ptr);
	xtrk_buf_dispose(&p);
}

/* Under the writers' lock: refs/experiments/E/ID -> refs/archived/E/ID (the archived ref first). */
static int move_refs(xtrk_repo *repo, const xtrk_oid *runs, size_t nruns, const char *record, size_t *moved)
{
	xtrk_run_ref *refs = NULL;
	xtrk_buf rel = XTRK_BUF_INIT, src = XTRK_BUF_INIT;
	size_t n = 0;
	int err;

	*moved = 0;
	if ((err = xtrk_refs_list_runs(&refs, &n, repo, NULL)) < 0)
		return err;
	for (size_t k = 0; k < nruns && !err; k++) {
		size_t here = 0;
		for (size_t i = 0; i < n && !err; i++) {
			if (xtrk_oid_cmp(&refs[i].run, &runs[k]))
				continue;
			xtrk_buf_clear(&rel);
			xtrk_buf_clear(&src);
			xtrk_buf_printf(&rel, "refs/archived/%s/%s", refs[i].experiment, xtrk_oid_tostr(&runs[k]));
			xtrk_buf_printf(&src, "%s/refs/experiments/%s/%s", xtrk_repo_dir(repo), refs[i].experiment,
				xtrk_oid_tostr(&runs[k]));
			if (xtrk_buf_oom(&rel) || xtrk_buf_oom(&src)) {
				err = xtrk_error_oom();
				break;
			}
			/* An interruption between the two leaves the run listed and archived, never neither. */
			if ((err = xtrk_ref_write(repo, rel.ptr, record, 0)) < 0)
				break;
			if (unlink(src.ptr) < 0 && errno != ENOENT) {
				err = xtrk_error_errno("cannot remove '%s'", src.ptr);
				break;
			}
			*strrchr(src.ptr, '/') = '\0';
			if ((err = xtrk_fsync_dir(src.ptr)) < 0)
				break;
			here++;
		}
		if (!err && !here)
			xtrk_warning_add("run %s was removed from its experiment while it was archived; it stays removed",
				xtrk_oid_tostr(&runs[k]));
		if (!err && here) {
			drop_notes(repo, "notes", &runs[k]);
			drop_notes(repo, "stages", &runs[k]);
			(*moved)++;
		}
	}
	free(refs);
	xtrk_buf_dispose(&rel);
	xtrk_buf_dispose(&src);
	return err;
}

int xtrk_archive_runs(xtrk_archive_result *out, xtrk_repo *repo, const char *path, const xtrk_oid *runs,
	size_t nruns, const xtrk_archive_options *o)
{
	xtrk_buf abs = XTRK_BUF_INIT;
	xtrk_bundle_stats bs, vs;
	xtrk_bundle_options bo = { !o->no_source, 0 };
	char **tnames = NULL, *problem = NULL, *record = NULL, *slash;
	xtrk_oid *ttargets = NULL;
	size_t ntags = 0, moved = 0;
	int err, lock = -1, written = 0;

	memset(out, 0, sizeof(*out));
	if (!nruns)
		return xtrk_error_set(XTRK_EINVALID, "no runs to archive");
	if ((err = target_path(&abs, repo, path, o->force)) < 0)
		goto done;
	if ((err = xtrk_refs_tags(&tnames, &ttargets, &ntags, repo)) < 0)
		goto done;
	for (size_t i = 0; i < nruns; i++)
		if ((err = check_run(repo, &runs[i], tnames, ttargets, ntags)) < 0)
			goto done;
	/* 1. The bundle, durable: its bytes (bundle_create fsyncs them) and its name in its folder. */
	if ((err = xtrk_bundle_create(&bs, repo, abs.ptr, runs, nruns, &bo)) < 0)
		goto done;
	written = 1;
	slash = strrchr(abs.ptr, '/');
	*slash = '\0';
	err = xtrk_fsync_dir(*abs.ptr ? abs.ptr : "/");
	*slash = '/';
	if (err < 0)
		goto done;
	/* 2. Read back and verified as 'bundle verify' does: every object re-hashed, every reference resolved. */
	if ((err = xtrk_bundle_verify(&vs, abs.ptr, count_problem, &problem)) < 0) {
		/* Not the user's input that is wrong: what was written did not read back. */
		err = xtrk_error_set(XTRK_ECORRUPT, "the archive '%s' did not read back after writing (%s); no run was "
			"archived", abs.ptr, xtrk_error_last());
		goto done;
	}
	if (vs.problems || vs.runs != nruns || vs.no_data || vs.objects != bs.objects) {
		err = xtrk_error_set(XTRK_ECORRUPT, "the archive '%s' did not verify after writing (%s); no run was "
			"archived", abs.ptr, problem ? problem : "it does not hold the runs written");
		goto done;
	}
	/* 3. Its SHA-256, read once more from the disk. */
	out->record.time = (int64_t)time(NULL);
	if ((err = xtrk_file_sha256(out->record.sha256, &out->record.bytes, abs.ptr)) < 0)
		goto done;
	if (!(out->record.path = strdup(abs.ptr)) || !(record = record_format(&out->record))) {
		err = xtrk_error_oom();
		goto done;
	}
	/* 4. Only now the refs move, under the writers' lock (gc re-reads refs under it exclusively). */
	if ((err = odb_lock_writer(xtrk_repo_odb(repo), &lock)) < 0)
		goto done;
	written = 0; /* from the first ref moved it may hold runs: it stays whatever follows */
	err = move_refs(repo, runs, nruns, record, &moved);
	odb_lock_release(lock);
	if (err < 0)
		goto done;
	out->runs = moved;
	out->objects = bs.objects;
	out->bytes = bs.bytes;
	out->has_source = bs.has_source;
done:
	if (err < 0 && written)
		unlink(abs.ptr); /* no ref names it: it holds nothing only it has */
	if (err < 0)
		xtrk_archive_result_dispose(out);
	xtrk_refs_tags_free(tnames, ttargets, ntags);
	free(problem);
	free(record);
	xtrk_buf_dispose(&abs);
	return err;
}

/* ---- bringing back ---- */

int xtrk_archived_check_import(xtrk_repo *repo, const char *path, const xtrk_oid *runs, size_t nruns)
{
	xtrk_archived *list;
	size_t n;
	char sha[XTRK_SHA256_HEXSZ + 1] = "";
	int err;

	if ((err = xtrk_archived_list(&list, &n, repo)) < 0) {
		/* A damaged record must not keep its run out: the objects are verified all the same. */
		xtrk_warning_add("the archive records cannot be read (%s); '%s' was not compared with them",
			xtrk_error_last(), path);
		xtrk_error_clear();
		return 0;
	}
	for (size_t i = 0; i < n && !err; i++) {
		int ours = 0;
		for (size_t k = 0; k < nruns && !ours; k++)
			ours = !xtrk_oid_cmp(&list[i].run, &runs[k]);
		if (!ours)
			continue;
		if (!*sha && (err = xtrk_file_sha256(sha, NULL, path)) < 0)
			break;
		if (strcmp(sha, list[i].sha256))
			xtrk_warning_add("'%s' is not the archive recorded for run %s (its SHA-256 is %s, the archive "
				"'%s' had %s); every object was verified by its ID, so the run comes back whole",
				path, xtrk_oid_tostr(&list[i].run), sha, list[i].path, list[i].sha256);
	}
	xtrk_archived_free(list, n);
	return err;
}

int xtrk_archived_clear(xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_buf base = XTRK_BUF_INIT, p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (xtrk_buf_printf(&base, "%s/refs/archived", xtrk_repo_dir(repo)) < 0)
		return xtrk_error_oom();
	if (!(d = opendir(base.ptr))) {
		err = errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", base.ptr);
		xtrk_buf_dispose(&base);
		return err;
	}
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s/%s", base.ptr, de->d_name, xtrk_oid_tostr(run));
		if (xtrk_buf_oom(&p))
			err = xtrk_error_oom();
		else if (unlink(p.ptr) == 0) {
			*strrchr(p.ptr, '/') = '\0';
			err = xtrk_fsync_dir(p.ptr);
			rmdir(p.ptr); /* when it was the experiment's last */
		} else if (errno != ENOENT && errno != ENOTDIR)
			err = xtrk_error_errno("cannot remove '%s'", p.ptr);
	}
	closedir(d);
	xtrk_buf_dispose(&base);
	xtrk_buf_dispose(&p);
	return err;
}
