/* Workspaces: creating, finding and opening `.xtrk/`, and reading its config. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/init.h"
#include "xtrk/repo.h"

struct xtrk_repo {
	char *workdir;
	char *dir;
	xtrk_odb *odb;
	git_config *cfg;
};

static const char default_config[] =
	"# xtrk workspace settings (git-config syntax); see xtrk-commit-run(1).\n"
	"[core]\n"
	"\tformat = 1\n";

static const char *const store_dirs[] = { "objects", "objects/pack", "objects/tmp",
	"refs/experiments", "refs/tags", "cache" };

/* The write lock's files (xtrk-format(5)), made with the store so that a refused write adds no file. */
static int make_lock_files(const char *objects)
{
	static const char *const names[] = { "txn.lock", "txn.gate" };
	xtrk_buf p = XTRK_BUF_INIT;
	int err = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names) && !err; i++) {
		int fd;
		xtrk_buf_clear(&p);
		if (xtrk_buf_printf(&p, "%s/%s", objects, names[i]) < 0)
			err = XTRK_ERROR;
		else if ((fd = open(p.ptr, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
			err = xtrk_error_errno("cannot create '%s'", p.ptr);
		else
			close(fd);
	}
	xtrk_buf_dispose(&p);
	return err;
}

int xtrk_repo_init(xtrk_repo **out, const char *dir, int *created)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	const char *const *subdirs = store_dirs;
	int err;

	*created = 0;
	if ((err = xtrk_buf_joinpath(&p, dir, ".xtrk")) < 0)
		goto done;
	if (stat(p.ptr, &st) < 0) {
		if (errno != ENOENT) {
			err = xtrk_error_errno("cannot look at '%s'", p.ptr);
			goto done;
		}
		*created = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		err = xtrk_error_set(XTRK_EEXISTS, "'%s' exists and is not a folder", p.ptr);
		goto done;
	}
	for (size_t i = 0; i < sizeof(store_dirs) / sizeof(*store_dirs); i++) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/.xtrk/%s", dir, subdirs[i]);
		if ((err = xtrk_buf_oom(&p) ? xtrk_error_oom() : xtrk_mkdir_p(p.ptr)) < 0)
			goto done;
	}
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/.xtrk/objects", dir);
	if ((err = xtrk_buf_oom(&p) ? xtrk_error_oom() : make_lock_files(p.ptr)) < 0)
		goto done;
	/* Keep the store out of the user's git status. */
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/.xtrk/.gitignore", dir);
	if (stat(p.ptr, &st) < 0 && (err = xtrk_write_file_atomic(p.ptr, "*\n", 2, 0644, XTRK_WRITE_DURABLE)) < 0)
		goto done;
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/.xtrk/config", dir);
	if (stat(p.ptr, &st) < 0 &&
	    (err = xtrk_write_file_atomic(p.ptr, default_config, sizeof(default_config) - 1, 0644, XTRK_WRITE_DURABLE)) < 0)
		goto done;
	err = xtrk_repo_open(out, dir);
done:
	xtrk_buf_dispose(&p);
	return err;
}

static int has_store(const char *dir)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int ok;
	xtrk_buf_printf(&p, "%s/.xtrk/objects", dir);
	ok = !xtrk_buf_oom(&p) && stat(p.ptr, &st) == 0 && S_ISDIR(st.st_mode);
	xtrk_buf_dispose(&p);
	return ok;
}

int xtrk_repo_discover(xtrk_buf *out, const char *start)
{
	const char *env = getenv("XTRK_DIR");
	char *abs;

	if (env && *env) {
		if (!(abs = realpath(env, NULL)) || !has_store(abs)) {
			free(abs);
			return xtrk_error_set(XTRK_ENOTFOUND,
				"XTRK_DIR='%s' is not an xtrk workspace (run 'xtrk init' there)", env);
		}
		xtrk_buf_sets(out, abs);
		free(abs);
		return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
	}
	if (!(abs = realpath(start, NULL)))
		return xtrk_error_errno("cannot resolve '%s'", start);
	for (;;) {
		char *slash;
		if (has_store(abs)) {
			xtrk_buf_sets(out, abs);
			free(abs);
			return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
		}
		slash = strrchr(abs, '/');
		if (!slash || slash == abs) {
			if (strcmp(abs, "/") && has_store("/")) {
				xtrk_buf_sets(out, "/");
				free(abs);
				return 0;
			}
			break;
		}
		*slash = '\0';
	}
	free(abs);
	return xtrk_error_set(XTRK_ENOTFOUND,
		"not an xtrk workspace (or any parent folder): run 'xtrk init' first, or use -C DIR");
}

/* core.chunkThreshold (bytes, 0: off) and core.chunkSize (the average chunk): large files stored as chunks. */
static int chunking_config(xtrk_repo *r, const char *path)
{
	int64_t threshold = (int64_t)XTRK_CHUNK_THRESHOLD_DEFAULT, avg = (int64_t)XTRK_CHUNK_AVG_DEFAULT;
	int rc = git_config_get_int64(&threshold, r->cfg, "core.chunkThreshold");
	if (rc != GIT_ENOTFOUND && rc < 0)
		return xtrk_error_set(XTRK_EINVALID, "'%s': core.chunkThreshold is not a number of bytes", path);
	rc = git_config_get_int64(&avg, r->cfg, "core.chunkSize");
	if (rc != GIT_ENOTFOUND && rc < 0)
		return xtrk_error_set(XTRK_EINVALID, "'%s': core.chunkSize is not a number of bytes", path);
	git_error_clear();
	if (threshold < 0 || avg <= 0 ||
	    xtrk_odb_set_chunking(r->odb, (uint64_t)threshold, (size_t)avg) < 0)
		return xtrk_error_set(XTRK_EINVALID, "'%s': core.chunkThreshold must be 0 or 1 MiB to 64 MiB, "
			"core.chunkSize a power of two from 64 KiB to 16 MiB", path);
	return 0;
}

/* The store's parts, once r->dir is known: its objects, and its config (optional for a bare store). */
static int open_store_parts(xtrk_repo *r, int config_required)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int err = 0;

	xtrk_buf_printf(&p, "%s/objects", r->dir);
	if ((err = xtrk_buf_oom(&p) ? xtrk_error_oom() : xtrk_odb_open(&r->odb, p.ptr)) < 0)
		goto done;
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/config", r->dir);
	if ((config_required || stat(p.ptr, &st) == 0) && git_config_open_ondisk(&r->cfg, p.ptr) < 0) {
		const git_error *ge = git_error_last();
		err = xtrk_error_set(XTRK_EINVALID, "cannot read '%s': %s", p.ptr, ge ? ge->message : "unknown error");
	}
	if (err == 0 && r->cfg) {
		/* A store of a format this xtrk does not know could be misread or damaged: refuse it. */
		git_config_entry *e = NULL;
		if (git_config_get_entry(&e, r->cfg, "core.format") == 0 && strcmp(e->value ? e->value : "", "1"))
			err = xtrk_error_set(XTRK_EINVALID,
				"'%s' has core.format = '%.40s', a store format this xtrk does not know (it reads "
				"format 1); use a newer xtrk",
				p.ptr, e->value ? e->value : "");
		git_config_entry_free(e);
		git_error_clear();
	}
	if (err == 0 && r->cfg)
		err = chunking_config(r, p.ptr);
done:
	xtrk_buf_dispose(&p);
	return err;
}

int xtrk_repo_open(xtrk_repo **out, const char *dir)
{
	xtrk_repo *r = calloc(1, sizeof(*r));
	xtrk_buf p = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if (!r)
		return xtrk_error_oom();
	xtrk_init();
	git_libgit2_init();
	if (!(r->workdir = realpath(dir, NULL))) {
		err = xtrk_error_errno("cannot resolve '%s'", dir);
		goto fail;
	}
	if (!has_store(r->workdir)) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not an xtrk workspace (run 'xtrk init' there)", dir);
		goto fail;
	}
	if ((err = xtrk_buf_joinpath(&p, r->workdir, ".xtrk")) < 0)
		goto fail;
	r->dir = xtrk_buf_detach(&p);
	if ((err = open_store_parts(r, 1)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	xtrk_buf_dispose(&p);
	xtrk_repo_free(r);
	return err;
}

void xtrk_repo_free(xtrk_repo *r)
{
	if (!r)
		return;
	git_config_free(r->cfg);
	xtrk_odb_free(r->odb);
	free(r->workdir);
	free(r->dir);
	free(r);
	git_libgit2_shutdown();
}

const char *xtrk_repo_workdir(const xtrk_repo *r) { return r->workdir; }
const char *xtrk_repo_dir(const xtrk_repo *r) { return r->dir; }
xtrk_odb *xtrk_repo_odb(const xtrk_repo *r) { return r->odb; }

int xtrk_repo_config_string(xtrk_buf *out, xtrk_repo *r, const char *key)
{
	git_buf gb = { 0 };
	int rc = r->cfg ? git_config_get_string_buf(&gb, r->cfg, key) : GIT_ENOTFOUND;
	if (rc == GIT_ENOTFOUND)
		return XTRK_ENOTFOUND;
	if (rc < 0) {
		const git_error *ge = git_error_last();
		return xtrk_error_set(XTRK_EINVALID, "config '%s': %s", key, ge ? ge->message : "unreadable");
	}
	xtrk_buf_sets(out, gb.ptr);
	git_buf_dispose(&gb);
	return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
}

int xtrk_repo_config_bool(int *out, xtrk_repo *r, const char *key, int dflt)
{
	int v, rc = r->cfg ? git_config_get_bool(&v, r->cfg, key) : GIT_ENOTFOUND;
	if (rc == GIT_ENOTFOUND) {
		*out = dflt;
		return 0;
	}
	if (rc < 0)
		return xtrk_error_set(XTRK_EINVALID, "config '%s' in .xtrk/config is not a boolean (use true or false)", key);
	*out = v;
	return 0;
}

int xtrk_repo_relpath(xtrk_buf *out, xtrk_repo *r, const char *path)
{
	xtrk_buf tmp = XTRK_BUF_INIT;
	char *dir_abs = NULL;
	const char *slash, *base;
	size_t wl = strlen(r->workdir);
	int err = 0;

	/* Resolve the folder part only, so a symlinked file is recorded as itself. */
	slash = strrchr(path, '/');
	while (slash && slash > path && slash[1] == '\0') {
		/* "data/" - strip trailing slashes */
		xtrk_buf_put(&tmp, path, (size_t)(slash - path));
		path = tmp.ptr;
		slash = strrchr(path, '/');
	}
	if (slash) {
		xtrk_buf d = XTRK_BUF_INIT;
		xtrk_buf_put(&d, path, slash == path ? 1 : (size_t)(slash - path));
		dir_abs = xtrk_buf_oom(&d) ? NULL : realpath(d.ptr, NULL);
		xtrk_buf_dispose(&d);
		base = slash + 1;
	} else {
		dir_abs = realpath(".", NULL);
		base = path;
	}
	if (!dir_abs) {
		err = xtrk_error_errno("'%s' does not exist", path);
		goto done;
	}
	xtrk_buf_clear(out);
	if (!strcmp(base, ".") || !strcmp(base, "..") || !*base) {
		char *full;
		xtrk_buf_printf(out, "%s/%s", dir_abs, base);
		full = xtrk_buf_oom(out) ? NULL : realpath(out->ptr, NULL);
		xtrk_buf_sets(out, full ? full : "");
		free(full);
	} else {
		xtrk_buf_printf(out, "%s%s%s", dir_abs, strcmp(dir_abs, "/") ? "/" : "", base);
	}
	if (xtrk_buf_oom(out)) {
		err = xtrk_error_oom();
		goto done;
	}
	if (strncmp(out->ptr, r->workdir, wl) || (out->ptr[wl] != '/' && out->ptr[wl] != '\0')) {
		err = xtrk_error_set(XTRK_EINVALID, "'%s' is outside the workspace '%s'", path, r->workdir);
		goto done;
	}
	{
		const char *rel = out->ptr + wl + (out->ptr[wl] == '/');
		char *copy = strdup(*rel ? rel : ".");
		if (!copy) {
			err = xtrk_error_oom();
			goto done;
		}
		if (!strcmp(copy, ".xtrk") || !strncmp(copy, ".xtrk/", 6)) {
			free(copy);
			err = xtrk_error_set(XTRK_EINVALID, "'%s' is inside the store (.xtrk)", path);
			goto done;
		}
		xtrk_buf_sets(out, copy);
		free(copy);
	}
done:
	free(dir_abs);
	xtrk_buf_dispose(&tmp);
	return err;
}

/* ---- bare stores (remotes) ---- */

static const char bare_config[] =
	"# an xtrk store without a workspace (a remote); see xtrk-remote(1).\n"
	"[core]\n"
	"\tformat = 1\n"
	"\tbare = true\n";

int xtrk_store_init(const char *path)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int err = 0;

	for (size_t i = 0; i < sizeof(store_dirs) / sizeof(*store_dirs) && !err; i++) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", path, store_dirs[i]);
		err = xtrk_buf_oom(&p) ? XTRK_ERROR : xtrk_mkdir_p(p.ptr);
	}
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/objects", path);
	if (!err)
		err = xtrk_buf_oom(&p) ? XTRK_ERROR : make_lock_files(p.ptr);
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/config", path);
	if (!err && stat(p.ptr, &st) < 0)
		err = xtrk_write_file_atomic(p.ptr, bare_config, sizeof(bare_config) - 1, 0644, XTRK_WRITE_DURABLE);
	xtrk_buf_dispose(&p);
	return err;
}

int xtrk_store_is_bare(const char *dir)
{
	xtrk_buf p = XTRK_BUF_INIT;
	git_config *cfg = NULL;
	struct stat st;
	int bare = 0;

	git_libgit2_init();
	xtrk_buf_printf(&p, "%s/objects", dir);
	if (xtrk_buf_oom(&p) || stat(p.ptr, &st) < 0 || !S_ISDIR(st.st_mode))
		goto done;
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/config", dir);
	if (xtrk_buf_oom(&p) || stat(p.ptr, &st) < 0 || !S_ISREG(st.st_mode) ||
	    git_config_open_ondisk(&cfg, p.ptr) < 0 || git_config_get_bool(&bare, cfg, "core.bare") < 0)
		bare = 0;
done:
	git_error_clear();
	git_config_free(cfg);
	xtrk_buf_dispose(&p);
	git_libgit2_shutdown();
	return bare ? 1 : 0;
}

int xtrk_store_open(xtrk_repo **out, const char *path)
{
	xtrk_repo *r = calloc(1, sizeof(*r));
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int err;

	*out = NULL;
	if (!r)
		return xtrk_error_oom();
	xtrk_init();
	git_libgit2_init();
	if (!(r->dir = realpath(path, NULL))) {
		err = xtrk_error_errno("cannot open the store '%s'", path);
		goto fail;
	}
	xtrk_buf_printf(&p, "%s/objects", r->dir);
	if (xtrk_buf_oom(&p) || stat(p.ptr, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not an xtrk store", path);
		goto fail;
	}
	if (!(r->workdir = strdup(r->dir))) {
		err = xtrk_error_oom();
		goto fail;
	}
	if ((err = open_store_parts(r, 0)) < 0)
		goto fail;
	xtrk_buf_dispose(&p);
	*out = r;
	return 0;
fail:
	xtrk_buf_dispose(&p);
	xtrk_repo_free(r);
	return err;
}

static int config_error(const char *key)
{
	const git_error *ge = git_error_last();
	return xtrk_error_set(XTRK_ERROR, "cannot change '%s' in .xtrk/config: %s", key, ge ? ge->message : "unknown error");
}

int xtrk_repo_config_set(xtrk_repo *r, const char *key, const char *value)
{
	if (!r->cfg)
		return xtrk_error_set(XTRK_EINVALID, "this store has no config file");
	if (value ? git_config_set_string(r->cfg, key, value) < 0 : git_config_delete_entry(r->cfg, key) < 0)
		return config_error(key);
	return 0;
}

struct foreach_ctx {
	int (*cb)(const char *name, const char *value, void *payload);
	void *payload;
};

static int foreach_entry(const git_config_entry *e, void *payload)
{
	struct foreach_ctx *c = payload;
	return c->cb(e->name, e->value, c->payload);
}

int xtrk_repo_config_foreach(xtrk_repo *r, const char *regexp,
	int (*cb)(const char *name, const char *value, void *payload), void *payload)
{
	struct foreach_ctx c = { cb, payload };
	int rc;
	if (!r->cfg)
		return 0;
	rc = git_config_foreach_match(r->cfg, regexp, foreach_entry, &c);
	if (rc < 0 && rc != GIT_EUSER)
		return config_error(regexp);
	return rc == GIT_EUSER ? XTRK_ERROR : 0;
}
