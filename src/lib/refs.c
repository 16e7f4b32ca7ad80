/* References under `.xtrk/refs/`, written through lock files. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"

#define LOCK_WAIT_MS 5000

int xtrk_ref_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 200 || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return !strstr(name, "..") && !(n > 5 && !strcmp(name + n - 5, ".lock"));
}

static int looks_like_id(const char *name)
{
	size_t n = strlen(name);
	return n >= 4 && n <= XTRK_OID_HEXSZ && xtrk_oid_is_hex(name, n);
}

int xtrk_tag_name_valid(const char *name)
{
	return xtrk_ref_name_valid(name) && !looks_like_id(name);
}

int xtrk_tag_name_refuse(const char *name)
{
	if (xtrk_ref_name_valid(name) && looks_like_id(name))
		return xtrk_error_set(XTRK_EINVALID,
			"'%s' is not a valid tag name: it looks like a run ID or ID prefix (hex digits alone)", name);
	return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid tag name (letters, digits, '.', '_' and '-')",
		name);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Take a ref's lock file (O_EXCL), waiting a few seconds for another writer: its fd, or an error. */
static int lock_take(const char *lock)
{
	long waited = 0, step = 1, limit = LOCK_WAIT_MS;
	const char *env = getenv("XTRK_LOCK_TIMEOUT_MS");
	int fd;

	/* Tests shorten the wait; people never need to. */
	if (env && *env)
		limit = atol(env);
	while ((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		if (errno != EEXIST)
			return xtrk_error_errno("cannot create lock '%s'", lock);
		if (waited >= limit)
			return xtrk_error_set(XTRK_ELOCKED,
				"'%s' is locked by another xtrk process; if none is running, remove the lock file", lock);
		sleep_ms(step);
		waited += step;
		step = step < 64 ? step * 2 : 64;
	}
	return fd;
}

int xtrk_ref_write(xtrk_repo *repo, const char *relpath, const char *content, int must_not_exist)
{
	xtrk_buf path = XTRK_BUF_INIT, lock = XTRK_BUF_INIT;
	struct stat st;
	int fd = -1, err = 0;
	char *slash;

	xtrk_buf_printf(&path, "%s/%s", xtrk_repo_dir(repo), relpath);
	xtrk_buf_printf(&lock, "%s.lock", path.ptr);
	if (xtrk_buf_oom(&path) || xtrk_buf_oom(&lock)) {
		err = xtrk_error_oom();
		goto done;
	}
	slash = strrchr(path.ptr, '/');
	*slash = '\0';
	err = xtrk_mkdir_p(path.ptr);
	*slash = '/';
	if (err < 0)
		goto done;
	if ((fd = lock_take(lock.ptr)) < 0) {
		err = fd;
		goto done;
	}
	/* Checked under the lock, so two writers cannot both see it absent. */
	if (must_not_exist && stat(path.ptr, &st) == 0) {
		err = xtrk_error_set(XTRK_EEXISTS, "'%s' already exists", relpath);
		goto unlock;
	}
	if ((err = xtrk_write_all(fd, content, strlen(content), lock.ptr)) < 0 ||
	    (err = xtrk_fsync(fd, lock.ptr)) < 0)
		goto unlock;
	close(fd);
	fd = -1;
	if (rename(lock.ptr, path.ptr) < 0) {
		err = xtrk_error_errno("cannot update ref '%s'", path.ptr);
		goto unlock;
	}
	*slash = '\0';
	err = xtrk_fsync_dir(path.ptr);
	goto done;
unlock:
	if (fd >= 0)
		close(fd);
	unlink(lock.ptr);
done:
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&lock);
	return err;
}

/*
 * New refs in one folder, many at a time: each through its lock file as
 * xtrk_ref_write does, but flushed with one file-system sync and one folder
 * sync instead of two syncs per ref.  A ref that exists by the time its lock
 * is held is left as it is (a warning says so).
 */
int xtrk_refs_write_new(xtrk_repo *repo, const char *dir, const char *const *names, const char *const *contents, size_t n)
{
	xtrk_buf path = XTRK_BUF_INIT, p = XTRK_BUF_INIT, l = XTRK_BUF_INIT;
	unsigned char *state = NULL; /* 0: not started, 1: lock written, 2: busy, written alone later */
	struct stat st;
	size_t i;
	int err = 0, fd, synced = 0;

	for (i = 0; i < n; i++)
		if (!xtrk_ref_name_valid(names[i]))
			return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid ref name", names[i]);
	xtrk_buf_printf(&path, "%s/%s", xtrk_repo_dir(repo), dir);
	if (xtrk_buf_oom(&path) || !(state = calloc(n + 1, 1))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_mkdir_p(path.ptr)) < 0)
		goto done;
	for (i = 0; i < n && err == 0; i++) {
		xtrk_buf_clear(&l);
		xtrk_buf_printf(&l, "%s/%s.lock", path.ptr, names[i]);
		if (xtrk_buf_oom(&l)) {
			err = xtrk_error_oom();
			break;
		}
		if ((fd = open(l.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
			if (errno != EEXIST)
				err = xtrk_error_errno("cannot create lock '%s'", l.ptr);
			state[i] = 2;
			continue;
		}
		state[i] = 1;
		err = xtrk_write_all(fd, contents[i], strlen(contents[i]), l.ptr);
		close(fd);
	}
#ifdef __linux__
	if (err == 0 && (fd = open(path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		synced = syncfs(fd) == 0;
		close(fd);
	}
#endif
	for (i = 0; i < n && err == 0 && !synced; i++) {
		if (state[i] != 1)
			continue;
		xtrk_buf_clear(&l);
		xtrk_buf_printf(&l, "%s/%s.lock", path.ptr, names[i]);
		if ((fd = open(l.ptr, O_RDONLY | O_CLOEXEC)) < 0 || (err = xtrk_fsync(fd, l.ptr)) < 0)
			err = err ? err : xtrk_error_errno("cannot reopen '%s'", l.ptr);
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < n; i++) {
		if (state[i] != 1)
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_clear(&l);
		xtrk_buf_printf(&p, "%s/%s", path.ptr, names[i]);
		xtrk_buf_printf(&l, "%s.lock", p.ptr);
		if (err == 0 && stat(p.ptr, &st) == 0)
			xtrk_warning_add("'%s/%s' appeared meanwhile; left as it is", dir, names[i]);
		else if (err == 0 && rename(l.ptr, p.ptr) == 0)
			continue;
		else if (err == 0)
			err = xtrk_error_errno("cannot update ref '%s'", p.ptr);
		unlink(l.ptr);
	}
	if (err == 0 && n)
		err = xtrk_fsync_dir(path.ptr);
	/* The ones whose lock was taken: alone, waiting for the lock as usual. */
	for (i = 0; i < n && err == 0; i++) {
		if (state[i] != 2)
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", dir, names[i]);
		if ((err = xtrk_ref_write(repo, p.ptr, contents[i], 1)) == XTRK_EEXISTS) {
			xtrk_error_clear();
			xtrk_warning_add("'%s' appeared meanwhile; left as it is", p.ptr);
			err = 0;
		}
	}
done:
	free(state);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&l);
	return err;
}

int xtrk_refs_add_run(xtrk_repo *repo, const char *experiment, const xtrk_oid *run)
{
	xtrk_buf rel = XTRK_BUF_INIT, content = XTRK_BUF_INIT;
	int err;

	if (!xtrk_ref_name_valid(experiment))
		return xtrk_error_set(XTRK_EINVALID,
			"'%s' is not a valid experiment name (letters, digits, '.', '_' and '-')", experiment);
	xtrk_buf_printf(&rel, "refs/experiments/%s/%s", experiment, xtrk_oid_tostr(run));
	xtrk_buf_printf(&content, "%s\n", xtrk_oid_tostr(run));
	err = xtrk_buf_oom(&rel) || xtrk_buf_oom(&content) ? xtrk_error_oom() : xtrk_ref_write(repo, rel.ptr, content.ptr, 0);
	xtrk_buf_dispose(&rel);
	xtrk_buf_dispose(&content);
	return err;
}

static int push_ref(xtrk_run_ref **arr, size_t *n, size_t *alloc, const char *exp, const char *hex)
{
	xtrk_oid oid;
	if (strlen(hex) != XTRK_OID_HEXSZ || xtrk_oid_parse(&oid, hex) < 0)
		return 0; /* lock files and strangers are not runs */
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 64;
		xtrk_run_ref *p = realloc(*arr, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		*arr = p;
		*alloc = na;
	}
	(*arr)[*n].run = oid;
	snprintf((*arr)[*n].experiment, sizeof((*arr)[*n].experiment), "%s", exp);
	(*n)++;
	return 0;
}

static int list_experiment(xtrk_run_ref **arr, size_t *n, size_t *alloc, const char *base, const char *exp)
{
	xtrk_buf p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

	xtrk_buf_printf(&p, "%s/%s", base, exp);
	if (xtrk_buf_oom(&p))
		return XTRK_ERROR;
	d = opendir(p.ptr);
	xtrk_buf_dispose(&p);
	if (!d && (errno == ELOOP || errno == ENOTDIR)) {
		/* Not a folder xtrk wrote (a link, a stray file): it must not hide every other experiment. */
		xtrk_warning_add("refs/experiments/%s is not a folder of runs (%s); skipped (see 'xtrk fsck')", exp,
			strerror(errno));
		return 0;
	}
	if (!d)
		return errno == ENOENT ? 0 : xtrk_error_errno("cannot read experiment '%s'", exp);
	while (!err && (de = readdir(d)))
		err = push_ref(arr, n, alloc, exp, de->d_name);
	closedir(d);
	return err;
}

int xtrk_refs_list_runs(xtrk_run_ref **out, size_t *count, xtrk_repo *repo, const char *experiment)
{
	xtrk_buf base = XTRK_BUF_INIT;
	size_t alloc = 0;
	DIR *d;
	struct dirent *de;
	int err = 0;

	*out = NULL;
	*count = 0;
	if (xtrk_buf_printf(&base, "%s/refs/experiments", xtrk_repo_dir(repo)) < 0)
		return XTRK_ERROR;
	if (experiment) {
		err = xtrk_ref_name_valid(experiment) ? list_experiment(out, count, &alloc, base.ptr, experiment) : 0;
	} else if ((d = opendir(base.ptr))) {
		while (!err && (de = readdir(d)))
			if (de->d_name[0] != '.')
				err = list_experiment(out, count, &alloc, base.ptr, de->d_name);
		closedir(d);
	}
	xtrk_buf_dispose(&base);
	if (err < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

static int read_ref(xtrk_oid *out, const char *path, const char *name)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err = xtrk_buf_read_file(&b, path);
	if (err == 0) {
		while (b.size && (b.ptr[b.size - 1] == '\n' || b.ptr[b.size - 1] == '\r'))
			xtrk_buf_truncate(&b, b.size - 1);
		if (xtrk_oid_parse(out, b.ptr) < 0)
			err = xtrk_error_set(XTRK_ECORRUPT, "ref '%s' does not hold a run ID", name);
	}
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_refs_tag_lookup(xtrk_oid *out, xtrk_repo *repo, const char *name)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int err;
	if (!xtrk_ref_name_valid(name))
		return xtrk_error_set(XTRK_ENOTFOUND, "no tag '%s'", name);
	xtrk_buf_printf(&p, "%s/refs/tags/%s", xtrk_repo_dir(repo), name);
	if (xtrk_buf_oom(&p))
		return XTRK_ERROR;
	if (access(p.ptr, F_OK) < 0)
		err = xtrk_error_set(XTRK_ENOTFOUND, "no tag '%s'", name);
	else
		err = read_ref(out, p.ptr, name);
	xtrk_buf_dispose(&p);
	return err;
}

int xtrk_refs_tag_create(xtrk_repo *repo, const char *name, const xtrk_oid *run, int force)
{
	xtrk_buf rel = XTRK_BUF_INIT, content = XTRK_BUF_INIT;
	xtrk_oid old;
	int err;

	if (!xtrk_tag_name_valid(name))
		return xtrk_tag_name_refuse(name);
	if (!force && xtrk_refs_tag_lookup(&old, repo, name) == 0)
		return xtrk_oid_cmp(&old, run) == 0 ? 0
			: xtrk_error_set(XTRK_EEXISTS, "tag '%s' already names run %s", name, xtrk_oid_tostr(&old));
	xtrk_error_clear();
	xtrk_buf_printf(&rel, "refs/tags/%s", name);
	xtrk_buf_printf(&content, "%s\n", xtrk_oid_tostr(run));
	err = xtrk_buf_oom(&rel) || xtrk_buf_oom(&content) ? xtrk_error_oom()
		: xtrk_ref_write(repo, rel.ptr, content.ptr, !force);
	if (err == XTRK_EEXISTS)
		err = xtrk_error_set(XTRK_EEXISTS, "tag '%s' was just created by another process", name);
	xtrk_buf_dispose(&rel);
	xtrk_buf_dispose(&content);
	return err;
}

int xtrk_tag_name_check(xtrk_repo *repo, const char *name, const char *new_experiment)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int is_exp;

	if (!xtrk_tag_name_valid(name))
		return xtrk_tag_name_refuse(name);
	xtrk_buf_printf(&p, "%s/refs/experiments/%s", xtrk_repo_dir(repo), name);
	if (xtrk_buf_oom(&p))
		return xtrk_error_oom();
	is_exp = lstat(p.ptr, &st) == 0 || (new_experiment && !strcmp(name, new_experiment));
	xtrk_buf_dispose(&p);
	/* As a revision, a tag wins over an experiment of the same name: the name would stop meaning the experiment. */
	if (is_exp)
		return xtrk_error_set(XTRK_EINVALID,
			"'%s' is not a valid tag name: it is the name of an experiment, so 'xtrk show %s' would be ambiguous",
			name, name);
	return 0;
}

int xtrk_tag_run(xtrk_repo *repo, const char *name, const xtrk_oid *run, int force)
{
	xtrk_oid old;
	int err;

	if ((err = xtrk_tag_name_check(repo, name, NULL)) < 0)
		return err;
	if ((err = xtrk_run_check_listed(repo, run)) < 0)
		return err;
	if (!force && xtrk_refs_tag_lookup(&old, repo, name) == 0)
		return xtrk_error_set(XTRK_EEXISTS, "tag '%s' already exists (naming run %s); -f moves it", name,
			xtrk_oid_tostr(&old));
	xtrk_error_clear();
	if ((err = xtrk_refs_tag_create(repo, name, run, force)) == 0) {
		json_t *d = json_pack("{s:s, s:s}", "run", xtrk_oid_tostr(run), "tag", name);
		xtrk_audit_note(repo, "tag", d);
		json_decref(d);
	}
	return err;
}

int xtrk_refs_tag_delete(xtrk_oid *was, xtrk_repo *repo, const char *name)
{
	xtrk_buf path = XTRK_BUF_INIT, lock = XTRK_BUF_INIT;
	int fd = -1, err;

	if (!xtrk_ref_name_valid(name))
		return xtrk_error_set(XTRK_ENOTFOUND, "no tag '%s'", name);
	xtrk_buf_printf(&path, "%s/refs/tags/%s", xtrk_repo_dir(repo), name);
	xtrk_buf_printf(&lock, "%s.lock", path.ptr);
	if (xtrk_buf_oom(&path) || xtrk_buf_oom(&lock)) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = fd = lock_take(lock.ptr)) < 0)
		goto done;
	/* Looked up under the lock: what is removed is what was named when the lock was taken. */
	if (access(path.ptr, F_OK) < 0)
		err = xtrk_error_set(XTRK_ENOTFOUND, "no tag '%s'", name);
	else if ((err = read_ref(was, path.ptr, name)) == XTRK_ECORRUPT) {
		memset(was, 0, sizeof(*was)); /* a damaged tag can still be deleted */
		xtrk_error_clear();
		err = 0;
	}
	if (err == 0 && unlink(path.ptr) < 0)
		err = xtrk_error_errno("cannot delete tag '%s'", name);
	close(fd);
	unlink(lock.ptr);
	if (err == 0) {
		*strrchr(path.ptr, '/') = '\0';
		err = xtrk_fsync_dir(path.ptr);
	}
	if (err == 0) {
		json_t *d = json_pack("{s:s, s:s}", "run", xtrk_oid_tostr(was), "tag", name);
		xtrk_audit_note(repo, "tag-delete", d);
		json_decref(d);
	}
done:
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&lock);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xtrk_refs_tags(char ***names, xtrk_oid **targets, size_t *count, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	char **nm = NULL;
	xtrk_oid *tg = NULL;
	size_t n = 0, alloc = 0;
	DIR *d;
	struct dirent *de;
	int err = 0;

	*names = NULL;
	*targets = NULL;
	*count = 0;
	if (xtrk_buf_printf(&p, "%s/refs/tags", xtrk_repo_dir(repo)) < 0)
		return XTRK_ERROR;
	if (!(d = opendir(p.ptr))) {
		xtrk_buf_dispose(&p);
		return 0;
	}
	while ((de = readdir(d))) {
		if (!xtrk_ref_name_valid(de->d_name))
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 16;
			char **nn = realloc(nm, na * sizeof(*nn));
			if (!nn) {
				err = xtrk_error_oom();
				break;
			}
			nm = nn;
			alloc = na;
		}
		if (!(nm[n] = strdup(de->d_name))) {
			err = xtrk_error_oom();
			break;
		}
		n++;
	}
	closedir(d);
	if (!err && n) {
		xtrk_sort(nm, n, sizeof(*nm), cmp_str);
		if (!(tg = calloc(n, sizeof(*tg))))
			err = xtrk_error_oom();
		/* A damaged tag must not hide the others: it gets a zero ID, which fsck reports. */
		for (size_t i = 0; !err && i < n; i++)
			if ((err = xtrk_refs_tag_lookup(&tg[i], repo, nm[i])) < 0) {
				memset(&tg[i], 0, sizeof(tg[i]));
				xtrk_error_clear();
				err = 0;
			}
	}
	xtrk_buf_dispose(&p);
	if (err < 0) {
		xtrk_refs_tags_free(nm, tg, n);
		return err;
	}
	*names = nm;
	*targets = tg;
	*count = n;
	return 0;
}

void xtrk_refs_tags_free(char **names, xtrk_oid *targets, size_t count)
{
	for (size_t i = 0; i < count && names; i++)
		free(names[i]);
	free(names);
	free(targets);
}

int xtrk_refs_partial(xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int partial;
	xtrk_buf_printf(&p, "%s/refs/partial/%s", xtrk_repo_dir(repo), xtrk_oid_tostr(run));
	partial = !xtrk_buf_oom(&p) && access(p.ptr, F_OK) == 0;
	xtrk_buf_dispose(&p);
	return partial;
}
