/* Untracked files of the source, stored as a tree so that checkout can bring them back. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gitsrc.h"
#include "untracked.h"
#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/tree.h"

struct ufile {
	char *path;
	xtrk_entry_kind kind;
	unsigned mode;
	xtrk_oid id;
	uint64_t bytes;
};

struct cap {
	xtrk_txn *txn;
	const xtrk_source_options *o;
	int dirfd;         /* the working tree */
	struct ufile *files;
	size_t n, alloc;
	uint64_t bytes;    /* captured so far */
	json_t *skipped;
	uint64_t nskipped;
	char **exclude;    /* opts->exclude, relative to the working tree */
	size_t nexclude;
};

/* ---- options ---- */

static int config_size(uint64_t *out, git_config *cfg, const char *key)
{
	int64_t v;
	int rc = git_config_get_int64(&v, cfg, key);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0 || v < 0)
		return xtrk_error_set(XTRK_EINVALID, "config '%s' in .xtrk/config is not a size in bytes "
			"(a number, optionally with k, m or g)", key);
	*out = (uint64_t)v;
	return 0;
}

int xtrk_source_options_read(xtrk_source_options *o, const char *workdir)
{
	static const xtrk_source_options defaults = XTRK_SOURCE_OPTIONS_INIT;
	xtrk_buf path = XTRK_BUF_INIT;
	git_config *cfg = NULL;
	struct stat st;
	int err = 0, v, rc;

	*o = defaults;
	if (xtrk_buf_printf(&path, "%s/.xtrk/config", workdir) < 0)
		return XTRK_ERROR;
	if (stat(path.ptr, &st) < 0)
		goto done; /* not a workspace: the defaults */
	if (git_config_open_ondisk(&cfg, path.ptr) < 0) {
		err = xtrk_git_error("cannot read .xtrk/config");
		goto done;
	}
	rc = git_config_get_bool(&v, cfg, "capture.untracked");
	if (rc == 0)
		o->untracked = v;
	else if (rc != GIT_ENOTFOUND) {
		err = xtrk_error_set(XTRK_EINVALID, "config 'capture.untracked' in .xtrk/config is not a boolean "
			"(use true or false)");
		goto done;
	}
	if ((err = config_size(&o->untracked_max_file, cfg, "capture.untracked-max-file")) < 0 ||
	    (err = config_size(&o->untracked_max_total, cfg, "capture.untracked-max-total")) < 0)
		goto done;
done:
	git_error_clear();
	git_config_free(cfg);
	xtrk_buf_dispose(&path);
	return err;
}

/* ---- capture ---- */

static int skip(struct cap *c, const char *path, uint64_t bytes, const char *reason, const char *why)
{
	if (c->nskipped < XTRK_UNTRACKED_SKIPPED_LISTED &&
	    json_array_append_new(c->skipped, json_pack("{s:s, s:I, s:s}", "path", path, "bytes", (json_int_t)bytes,
		    "reason", reason)) < 0)
		return xtrk_error_oom();
	if (c->o->warn && c->nskipped < XTRK_UNTRACKED_SKIPPED_WARNED)
		xtrk_warning_add("untracked '%s' is not captured: %s; checkout cannot restore it", path, why);
	c->nskipped++;
	return 0;
}

static int reserved(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 4 && !strncasecmp(p, ".git", 4)) || (n == 5 && !strncasecmp(p, ".xtrk", 5)))
			return 1;
		p += n + (p[n] == '/');
	}
	return 0;
}

static int add_file(struct cap *c, const struct ufile *f)
{
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 64;
		struct ufile *p = realloc(c->files, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		c->files = p;
		c->alloc = na;
	}
	c->files[c->n] = *f;
	if (!(c->files[c->n].path = strdup(f->path)))
		return xtrk_error_oom();
	c->n++;
	c->bytes += f->bytes;
	return 0;
}

/* Exclusions come relative to `workdir` (the workspace), which may be a folder of the working tree. */
static int make_excludes(struct cap *c, git_repository *repo, const char *workdir)
{
	char *ws = NULL, *top = NULL;
	size_t tl;
	int err = 0;

	if (!c->o->nexclude)
		return 0;
	ws = realpath(workdir, NULL);
	top = realpath(git_repository_workdir(repo), NULL);
	if (!ws || !top) {
		err = xtrk_error_errno("cannot resolve '%s'", ws ? git_repository_workdir(repo) : workdir);
		goto done;
	}
	tl = strlen(top);
	if (strncmp(ws, top, tl) || (ws[tl] && ws[tl] != '/' && strcmp(top, "/")))
		goto done; /* the workspace is not in the working tree: nothing to leave out */
	if (!(c->exclude = calloc(c->o->nexclude, sizeof(*c->exclude)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < c->o->nexclude; i++) {
		const char *prefix = ws + tl + (ws[tl] == '/'), *rel = c->o->exclude[i];
		xtrk_buf b = XTRK_BUF_INIT;
		if (!strcmp(rel, "."))
			rel = "";
		xtrk_buf_printf(&b, "%s%s%s", prefix, *prefix && *rel ? "/" : "", rel);
		if (!(c->exclude[c->nexclude] = xtrk_buf_detach(&b))) {
			err = xtrk_error_oom();
			goto done;
		}
		c->nexclude++;
	}
done:
	free(ws);
	free(top);
	return err;
}

static int excluded(const struct cap *c, const char *path)
{
	for (size_t i = 0; i < c->nexclude; i++) {
		size_t n = strlen(c->exclude[i]);
		if (!n || (!strncmp(path, c->exclude[i], n) && (path[n] == '\0' || path[n] == '/')))
			return 1;
	}
	return 0;
}

/* One untracked path: captured, or skipped with its reason. */
static int capture_one(struct cap *c, const char *path)
{
	struct ufile f;
	struct stat st;
	char why[512];
	int fd, err;

	memset(&f, 0, sizeof(f));
	f.path = (char *)path;
	if (reserved(path))
		return 0; /* the store and git's own folders are never source */
	if (path[strlen(path) - 1] == '/')
		return skip(c, path, 0, "repository", "it is a git repository of its own");
	if (xtrk_path_unsafe(path)) {
		/* Checkout refuses such a path: never captured as one it would write back. */
		snprintf(why, sizeof(why), "its path cannot be written back: %s", xtrk_path_unsafe(path));
		return skip(c, path, 0, "name", why);
	}
	if (fstatat(c->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(why, sizeof(why), "it cannot be read (%s)", strerror(errno));
		return skip(c, path, 0, "unreadable", why);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t len = readlinkat(c->dirfd, path, target, sizeof(target));
		if (len < 0 || (size_t)len == sizeof(target)) {
			snprintf(why, sizeof(why), "the link cannot be read (%s)", len < 0 ? strerror(errno) : "too long");
			return skip(c, path, 0, "unreadable", why);
		}
		f.kind = XTRK_ENTRY_LINK;
		f.mode = 0120000;
		f.bytes = (uint64_t)len;
		if ((err = xtrk_txn_write(&f.id, c->txn, XTRK_OBJ_BLOB, target, (size_t)len)) < 0)
			return err;
		return add_file(c, &f);
	}
	if (!S_ISREG(st.st_mode))
		return skip(c, path, 0, "special", "it is a device, FIFO or socket");
	if ((uint64_t)st.st_size > c->o->untracked_max_file) {
		snprintf(why, sizeof(why), "its %llu bytes are over capture.untracked-max-file (%llu bytes)",
			(unsigned long long)st.st_size, (unsigned long long)c->o->untracked_max_file);
		return skip(c, path, (uint64_t)st.st_size, "max-file", why);
	}
	if (c->bytes + (uint64_t)st.st_size > c->o->untracked_max_total) {
		snprintf(why, sizeof(why), "its %llu bytes would take the untracked files over "
			"capture.untracked-max-total (%llu bytes)",
			(unsigned long long)st.st_size, (unsigned long long)c->o->untracked_max_total);
		return skip(c, path, (uint64_t)st.st_size, "max-total", why);
	}
	if ((fd = openat(c->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(why, sizeof(why), "it cannot be read (%s)", strerror(errno));
		return skip(c, path, (uint64_t)st.st_size, "unreadable", why);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return skip(c, path, 0, "unreadable", "it changed while it was being read");
	}
	f.kind = XTRK_ENTRY_BLOB;
	f.mode = (st.st_mode & 0111) ? 0100755 : 0100644;
	err = xtrk_txn_write_fd(&f.id, &f.bytes, c->txn, fd, path);
	close(fd);
	if (err == XTRK_EINVALID) {
		/* written to while read (a log a running program appends to): left out, as when it is replaced */
		xtrk_error_clear();
		return skip(c, path, (uint64_t)st.st_size, "unreadable", "it changed while it was being read");
	}
	return err < 0 ? err : add_file(c, &f);
}

/* Bytewise by name at each level: a folder's end ('/') sorts before any character of a longer name. */
static int level_cmp(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)((const struct ufile *)a)->path;
	const unsigned char *q = (const unsigned char *)((const struct ufile *)b)->path;
	while (*p && *p == *q)
		p++, q++;
	return (*p == '/' ? 1 : *p ? *p + 1 : 0) - (*q == '/' ? 1 : *q ? *q + 1 : 0);
}

/* Write the tree of files[0..n), whose paths share the first `off` bytes; bottom-up. */
static int build(struct cap *c, struct ufile *files, size_t n, size_t off, xtrk_oid *id, uint64_t *bytes,
	uint64_t *count)
{
	xtrk_buf text = XTRK_BUF_INIT;
	const char *last = NULL;
	size_t lastlen = 0, i = 0;
	int err = 0;

	*bytes = *count = 0;
	while (i < n && !err) {
		const char *name = files[i].path + off;
		size_t len = strcspn(name, "/"), j = i + 1;
		xtrk_tree_entry e;
		char *nm;
		if (last && len == lastlen && !memcmp(last, name, len)) {
			i++; /* a file and a folder of one name: it changed while being read */
			continue;
		}
		if (!(nm = strndup(name, len))) {
			err = xtrk_error_oom();
			break;
		}
		if (name[len] == '/') {
			while (j < n && !strncmp(files[j].path + off, name, len + 1))
				j++;
			e.kind = XTRK_ENTRY_TREE;
			e.mode = 040000;
			err = build(c, files + i, j - i, off + len + 1, &e.id, &e.bytes, &e.files);
		} else {
			e.kind = files[i].kind;
			e.mode = files[i].mode;
			e.id = files[i].id;
			e.bytes = files[i].bytes;
			e.files = 1;
		}
		e.name = nm;
		if (!err)
			err = xtrk_tree_format_entry(&text, &e);
		free(nm);
		*bytes += e.bytes;
		*count += e.files;
		last = name;
		lastlen = len;
		i = j;
	}
	if (!err)
		err = xtrk_buf_oom(&text) ? XTRK_ERROR : xtrk_txn_write(id, c->txn, XTRK_OBJ_TREE, text.ptr ? text.ptr : "", text.size);
	xtrk_buf_dispose(&text);
	return err;
}

int xtrk_untracked_capture(json_t **out, git_repository *repo, xtrk_txn *txn, const char *workdir,
	const xtrk_source_options *o)
{
	git_status_options sopts = GIT_STATUS_OPTIONS_INIT;
	git_status_list *status = NULL;
	struct cap c;
	size_t seen = 0;
	int err = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.txn = txn;
	c.o = o;
	c.dirfd = -1;
	if (!(c.skipped = json_array()))
		return xtrk_error_oom();
	sopts.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	sopts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if ((err = make_excludes(&c, repo, workdir)) < 0)
		goto done;
	if (git_status_list_new(&status, repo, &sopts) < 0) {
		err = xtrk_git_error("cannot list the untracked files");
		goto done;
	}
	if ((c.dirfd = open(git_repository_workdir(repo), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = xtrk_error_errno("cannot open '%s'", git_repository_workdir(repo));
		goto done;
	}
	for (size_t i = 0, n = git_status_list_entrycount(status); i < n && !err; i++) {
		const git_status_entry *e = git_status_byindex(status, i);
		const char *path;
		if (!(e->status & GIT_STATUS_WT_NEW) || !e->index_to_workdir)
			continue;
		path = e->index_to_workdir->new_file.path;
		if (!path || !*path || reserved(path) || excluded(&c, path))
			continue;
		seen++;
		err = capture_one(&c, path);
	}
	if (err < 0 || !seen)
		goto done;
	if (o->warn && c.nskipped > XTRK_UNTRACKED_SKIPPED_WARNED)
		xtrk_warning_add("%llu more untracked files are not captured (source.untracked_content.skipped "
			"lists the first %d)", (unsigned long long)(c.nskipped - XTRK_UNTRACKED_SKIPPED_WARNED),
			XTRK_UNTRACKED_SKIPPED_LISTED);
	{
		xtrk_oid id;
		uint64_t bytes = 0, files = 0;
		if (c.n) {
			xtrk_sort(c.files, c.n, sizeof(*c.files), level_cmp);
			if ((err = build(&c, c.files, c.n, 0, &id, &bytes, &files)) < 0)
				goto done;
		}
		*out = json_pack("{s:o, s:I, s:I, s:I, s:O}", "id", c.n ? json_string(xtrk_oid_tostr(&id)) : json_null(),
			"files", (json_int_t)files, "bytes", (json_int_t)bytes, "skipped_files", (json_int_t)c.nskipped,
			"skipped", c.skipped);
		if (!*out)
			err = xtrk_error_oom();
	}
done:
	for (size_t i = 0; i < c.n; i++)
		free(c.files[i].path);
	free(c.files);
	for (size_t i = 0; i < c.nexclude; i++)
		free(c.exclude[i]);
	free(c.exclude);
	if (c.dirfd >= 0)
		close(c.dirfd);
	json_decref(c.skipped);
	git_status_list_free(status);
	return err;
}
