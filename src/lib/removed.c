/* Removing runs from view and restoring them (see xtrk/removed.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileutil.h"
#include "odb_lock.h"
#include "xtrk/buf.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"
#include "xtrk/removed.h"
#include "xtrk/revision.h"

int xtrk_refs_list_area(xtrk_run_ref **out, size_t *count, xtrk_repo *repo, const char *area)
{
	xtrk_buf base = XTRK_BUF_INIT, p = XTRK_BUF_INIT;
	size_t alloc = 0;
	DIR *d, *e;
	struct dirent *de, *fe;
	int err = 0;

	*out = NULL;
	*count = 0;
	xtrk_buf_printf(&base, "%s/refs/%s", xtrk_repo_dir(repo), area);
	if (xtrk_buf_oom(&base))
		return xtrk_error_oom();
	if (!(d = opendir(base.ptr))) {
		err = errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", base.ptr);
		xtrk_buf_dispose(&base);
		return err;
	}
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !xtrk_ref_name_valid(de->d_name))
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", base.ptr, de->d_name);
		if (xtrk_buf_oom(&p) || !(e = opendir(p.ptr)))
			continue;
		while (!err && (fe = readdir(e))) {
			xtrk_oid id;
			if (strlen(fe->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&id, fe->d_name) < 0)
				continue; /* lock files and strangers are not runs */
			if (*count == alloc) {
				size_t na = alloc ? alloc * 2 : 16;
				xtrk_run_ref *np = realloc(*out, na * sizeof(*np));
				if (!np) {
					err = xtrk_error_oom();
					break;
				}
				*out = np;
				alloc = na;
			}
			(*out)[*count].run = id;
			snprintf((*out)[*count].experiment, sizeof((*out)[*count].experiment), "%s", de->d_name);
			(*count)++;
		}
		closedir(e);
	}
	closedir(d);
	xtrk_buf_dispose(&base);
	xtrk_buf_dispose(&p);
	if (err < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

int xtrk_removed_list(xtrk_run_ref **out, size_t *count, xtrk_repo *repo)
{
	return xtrk_refs_list_area(out, count, repo, "removed");
}

/* Move refs/<from>/<exp>/<id> to refs/<to>/<exp>/<id>, holding the source ref's lock throughout. */
static int move_ref(xtrk_repo *repo, const char *from, const char *to, const char *exp, const xtrk_oid *run)
{
	xtrk_buf src = XTRK_BUF_INIT, lock = XTRK_BUF_INIT, rel = XTRK_BUF_INIT, content = XTRK_BUF_INIT;
	const char *hex = xtrk_oid_tostr(run);
	int fd = -1, err = 0;

	xtrk_buf_printf(&src, "%s/refs/%s/%s/%s", xtrk_repo_dir(repo), from, exp, hex);
	xtrk_buf_printf(&lock, "%s.lock", src.ptr);
	xtrk_buf_printf(&rel, "refs/%s/%s/%s", to, exp, hex);
	xtrk_buf_printf(&content, "%s\n", hex);
	if (xtrk_buf_oom(&src) || xtrk_buf_oom(&lock) || xtrk_buf_oom(&rel) || xtrk_buf_oom(&content)) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((fd = open(lock.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		err = errno == EEXIST ? xtrk_error_set(XTRK_ELOCKED,
						"'%s' is locked by another xtrk process; if none is running, remove the lock file",
						lock.ptr)
				      : xtrk_error_errno("cannot create lock '%s'", lock.ptr);
		goto done;
	}
	/* The new name first: an interruption leaves the run named twice, never not at all. */
	if ((err = xtrk_ref_write(repo, rel.ptr, content.ptr, 0)) < 0)
		goto unlock;
	if (unlink(src.ptr) < 0 && errno != ENOENT)
		err = xtrk_error_errno("cannot remove '%s'", src.ptr);
unlock:
	close(fd);
	unlink(lock.ptr);
done:
	xtrk_buf_dispose(&src);
	xtrk_buf_dispose(&lock);
	xtrk_buf_dispose(&rel);
	xtrk_buf_dispose(&content);
	return err;
}

static int move_all_locked(xtrk_repo *repo, const char *from, const char *to, const xtrk_oid *run, size_t *moved)
{
	xtrk_run_ref *refs;
	size_t n, done = 0;
	int err = xtrk_refs_list_area(&refs, &n, repo, from);

	if (err < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++)
		if (!xtrk_oid_cmp(&refs[i].run, run) && (err = move_ref(repo, from, to, refs[i].experiment, run)) == 0)
			done++;
	free(refs);
	if (moved)
		*moved = done;
	if (err == 0 && !done) {
		int removed = 0;
		if (!strcmp(from, "experiments") && xtrk_refs_list_area(&refs, &n, repo, "removed") == 0) {
			for (size_t i = 0; i < n; i++)
				removed |= !xtrk_oid_cmp(&refs[i].run, run);
			free(refs);
		}
		err = xtrk_error_set(XTRK_ENOTFOUND, "run %s is %s", xtrk_oid_tostr(run),
			removed ? "already removed (see 'xtrk rm --list')"
			: !strcmp(from, "removed") ? "not removed" : "not listed in any experiment");
	}
	return err;
}

/*
 * Moved under the writers' lock (odb_lock.h): gc, which reads refs/experiments
 * before refs/removed, then never sees a run in neither place.
 */
static int move_all(xtrk_repo *repo, const char *from, const char *to, const xtrk_oid *run, size_t *moved)
{
	int lock = -1, err;

	if (moved)
		*moved = 0;
	if ((err = odb_lock_writer(xtrk_repo_odb(repo), &lock)) < 0)
		return err;
	err = move_all_locked(repo, from, to, run, moved);
	odb_lock_release(lock);
	return err;
}

/* A run moved between listed and removed: logged when anything moved. */
static int move_logged(xtrk_repo *repo, const char *from, const char *to, const xtrk_oid *run, size_t *moved,
	const char *what)
{
	size_t n = 0;
	int err = move_all(repo, from, to, run, &n);
	if (moved)
		*moved = n;
	if (err == 0 && n) {
		json_t *d = json_pack("{s:s}", "run", xtrk_oid_tostr(run));
		xtrk_audit_note(repo, what, d);
		json_decref(d);
	}
	return err;
}

int xtrk_run_remove(xtrk_repo *repo, const xtrk_oid *run, size_t *moved)
{
	return move_logged(repo, "experiments", "removed", run, moved, "rm");
}

int xtrk_run_restore(xtrk_repo *repo, const xtrk_oid *run, size_t *moved)
{
	return move_logged(repo, "removed", "experiments", run, moved, "restore");
}

int xtrk_removed_resolve(xtrk_oid *out, xtrk_repo *repo, const char *rev)
{
	size_t len = strlen(rev), n, matches = 0;
	xtrk_run_ref *refs;
	int err;

	if (len < 4 || len > XTRK_OID_HEXSZ || !xtrk_oid_is_hex(rev, len))
		return xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not a run ID or an ID prefix of at least 4 hex digits", rev);
	if ((err = xtrk_removed_list(&refs, &n, repo)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(xtrk_oid_tostr(&refs[i].run), rev, len))
			continue;
		if (matches && !xtrk_oid_cmp(out, &refs[i].run))
			continue; /* one run removed from two experiments */
		*out = refs[i].run;
		matches++;
	}
	free(refs);
	if (matches > 1)
		return xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' matches %zu removed runs; give more of the ID", rev, matches);
	if (!matches)
		return xtrk_error_set(XTRK_ENOTFOUND, "no removed run matches '%s' (see 'xtrk rm --list')", rev);
	return 0;
}

int xtrk_run_check_listed(xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_buf base = XTRK_BUF_INIT, p = XTRK_BUF_INIT;
	xtrk_run_ref *refs;
	xtrk_otype type;
	size_t n;
	DIR *d;
	struct dirent *de;
	int listed = 0, removed = 0, err;

	if (xtrk_odb_stat(NULL, &type, xtrk_repo_odb(repo), run) < 0 || type != XTRK_OBJ_RUN) {
		xtrk_error_clear();
		return xtrk_error_set(XTRK_EINVALID, "%s is not a run in this store", xtrk_oid_tostr(run));
	}
	/* One access per experiment, not a listing of every run. */
	xtrk_buf_printf(&base, "%s/refs/experiments", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&base))
		return xtrk_error_oom();
	if ((d = opendir(base.ptr))) {
		while (!listed && (de = readdir(d))) {
			if (de->d_name[0] == '.' || !xtrk_ref_name_valid(de->d_name))
				continue;
			xtrk_buf_clear(&p);
			xtrk_buf_printf(&p, "%s/%s/%s", base.ptr, de->d_name, xtrk_oid_tostr(run));
			listed = !xtrk_buf_oom(&p) && access(p.ptr, F_OK) == 0;
		}
		closedir(d);
	}
	xtrk_buf_dispose(&base);
	xtrk_buf_dispose(&p);
	if (listed)
		return 0;
	if ((err = xtrk_removed_list(&refs, &n, repo)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		removed |= !xtrk_oid_cmp(&refs[i].run, run);
	free(refs);
	return xtrk_error_set(XTRK_EINVALID, removed ? "run %s is removed; 'xtrk rm --restore %s' brings it back"
					       : "run %s is not listed in any experiment%s",
		xtrk_oid_tostr(run), removed ? xtrk_oid_tostr(run) : "");
}

int xtrk_run_resolve_listed(xtrk_oid *out, xtrk_repo *repo, const char *rev)
{
	int err = xtrk_run_resolve(out, repo, rev);
	if (err == XTRK_ENOTFOUND) {
		char *why = strdup(xtrk_error_last());
		if (xtrk_removed_resolve(out, repo, rev) == 0)
			err = xtrk_run_check_listed(repo, out);
		else
			err = xtrk_error_set(XTRK_ENOTFOUND, "%s", why ? why : "unknown run");
		free(why);
		return err;
	}
	return err < 0 ? err : xtrk_run_check_listed(repo, out);
}
