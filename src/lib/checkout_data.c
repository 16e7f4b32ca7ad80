/* Restoring data: files and folders written from their objects, each verified before it is named. */
#include "config.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "fileutil.h"
#include "statcache.h"
#include "xtrk/capture.h"
#include "xtrk/checkout.h"
#include "gitsrc.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"
#include "checkout_data.h"

/* A recorded data path is relative, without '.', '..' or the store in it; anything else is refused. */
int xtrk_co_path_ok(const char *path)
{
	return !xtrk_data_path_unsafe(path);
}

/* Open (creating as needed) each folder of `rel` below `rootfd`, never following a link. */
int xtrk_co_open_dirs(int *out, int rootfd, const char *rel, size_t len, const char *shown)
{
	int fd = dup(rootfd);
	char name[4096];
	const char *p = rel, *end = rel + len;

	if (fd < 0)
		return xtrk_error_errno("cannot open the target folder");
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		int next;
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (mkdirat(fd, name, 0777) < 0 && errno != EEXIST) {
			int err = xtrk_error_errno("cannot create folder '%s' for '%s'", name, shown);
			close(fd);
			return err;
		}
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int err = errno == ENOTDIR || errno == ELOOP
				? xtrk_error_set(XTRK_EEXISTS, "'%s' is in the way of '%s': a file or link where a folder must be",
					name, shown)
				: xtrk_error_errno("cannot open folder '%s'", name);
			close(fd);
			return err;
		}
		close(fd);
		fd = next;
		p += n + 1;
	}
	*out = fd;
	return 0;
}

/* 1 when `name` in `dirfd` is already what `e` records (content, exec bit, link target), else 0. */
int xtrk_co_same_content(struct co *c, int dirfd, const char *name, const xtrk_tree_entry *e)
{
	struct stat st;
	int same = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_size < 0 || (uint64_t)st.st_size != e->bytes)
		return 0;
	if (e->kind == XTRK_ENTRY_LINK && S_ISLNK(st.st_mode)) {
		char target[4097];
		xtrk_oid id;
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0 || (size_t)n == sizeof(target))
			return 0;
		xtrk_oid_hash(&id, target, (size_t)n);
		return !xtrk_oid_cmp(&id, &e->id);
	}
	if (e->kind == XTRK_ENTRY_BLOB && S_ISREG(st.st_mode) && ((st.st_mode & 0111) != 0) == (e->mode == 0100755)) {
		xtrk_hasher *h = xtrk_hasher_new();
		int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		ssize_t n = 0;
		if (h && fd >= 0) {
			xtrk_oid id;
			while ((n = read(fd, c->buf, 1 << 20)) > 0)
				xtrk_hasher_update(h, c->buf, (size_t)n);
			xtrk_hasher_final(&id, h);
			same = n == 0 && !xtrk_oid_cmp(&id, &e->id);
		}
		if (fd >= 0)
			close(fd);
		xtrk_hasher_free(h);
	}
	return same;
}

/* Stream a blob into a temp file in `dirfd`, verified, then rename it over `name`. */
int xtrk_co_write_blob(struct co *c, int dirfd, const char *name, const char *shown, const xtrk_tree_entry *e)
{
	xtrk_odb_stream *s = NULL;
	struct stat st;
	char tmp[64];
	int fd = -1, err;
	size_t n;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return xtrk_error_set(XTRK_EEXISTS, "'%s' is a folder where the run has a file; move it away first", shown);
		if (c->cache && e->kind == XTRK_ENTRY_BLOB && S_ISREG(st.st_mode)) {
			xtrk_statinfo si;
			xtrk_oid have;
			xtrk_statinfo_from(&si, &st);
			if (xtrk_statcache_lookup(&have, c->cache, shown, &si) && !xtrk_oid_cmp(&have, &e->id) &&
			    ((st.st_mode & 0111) != 0) == (e->mode == 0100755)) {
				c->r->files_unchanged++;
				return 0;
			}
		}
		if (c->keep_same && xtrk_co_same_content(c, dirfd, name, e)) {
			c->r->files_unchanged++;
			return 0;
		}
	}
	snprintf(tmp, sizeof(tmp), ".xtrk-checkout-%ld-%u", (long)getpid(), c->tmp_counter++);
	if ((err = xtrk_odb_stream_open(&s, c->odb, &e->id)) < 0)
		goto done;
	if (e->kind == XTRK_ENTRY_LINK) {
		char target[4097];
		size_t got = 0;
		do {
			if ((err = xtrk_odb_stream_read(s, target + got, sizeof(target) - 1 - got, &n)) < 0)
				goto done;
			got += n;
		} while (n && got < sizeof(target) - 1);
		target[got] = '\0';
		if (symlinkat(target, dirfd, tmp) < 0) {
			err = xtrk_error_errno("cannot create link '%s'", shown);
			goto done;
		}
	} else {
		if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, e->mode == 0100755 ? 0777 : 0666)) < 0) {
			err = xtrk_error_errno("cannot write '%s'", shown);
			goto done;
		}
		for (;;) {
			if ((err = xtrk_odb_stream_read(s, c->buf, 1 << 20, &n)) < 0) {
				err = xtrk_error_set(err, "not restoring '%s': %s", shown, xtrk_error_last());
				goto done;
			}
			if (!n)
				break;
			if ((err = xtrk_write_all(fd, c->buf, n, shown)) < 0)
				goto done;
			c->r->bytes_written += n;
		}
		close(fd);
		fd = -1;
	}
	/* Verified to the last byte: now it may take the name. */
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = xtrk_error_errno("cannot put '%s' in place", shown);
		goto done;
	}
	tmp[0] = '\0';
	c->r->files_written++;
done:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlinkat(dirfd, tmp, 0);
	xtrk_odb_stream_free(s);
	return err;
}

int xtrk_co_write_tree(struct co *c, int dirfd, const xtrk_oid *id, xtrk_buf *shown)
{
	xtrk_tree *t;
	size_t base = shown->size;
	int err;

	if ((err = xtrk_tree_read(&t, c->odb, id)) < 0)
		return err;
	for (size_t i = 0; i < t->count && !err; i++) {
		const xtrk_tree_entry *e = &t->entries[i];
		xtrk_buf_truncate(shown, base);
		xtrk_buf_printf(shown, "%s%s", base ? "/" : "", e->name);
		if (e->kind == XTRK_ENTRY_TREE) {
			int sub;
			if ((err = xtrk_co_open_dirs(&sub, dirfd, e->name, strlen(e->name), shown->ptr)) < 0)
				break;
			err = xtrk_co_write_tree(c, sub, &e->id, shown);
			close(sub);
		} else {
			err = xtrk_co_write_blob(c, dirfd, e->name, shown->ptr, e);
		}
	}
	xtrk_buf_truncate(shown, base);
	xtrk_tree_free(t);
	return err;
}

/* One recorded dataset, model, artifact or params file at its path below `rootfd`. */
int xtrk_co_restore_entry(struct co *c, int rootfd, const char *path, const char *id_hex, int is_tree)
{
	xtrk_tree_entry e;
	xtrk_buf shown = XTRK_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int dirfd, err;

	if (!xtrk_co_path_ok(path))
		return xtrk_error_set(XTRK_EINVALID, "the run records a path that would escape the target: '%s'", path);
	if (xtrk_oid_parse(&e.id, id_hex ? id_hex : "") < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "the run records no valid ID for '%s'", path);
	if ((err = xtrk_co_open_dirs(&dirfd, rootfd, path, is_tree ? strlen(path) : slash ? (size_t)(slash - path) : 0, path)) < 0)
		return err;
	xtrk_buf_puts(&shown, path);
	if (is_tree) {
		err = xtrk_co_write_tree(c, dirfd, &e.id, &shown);
	} else {
		uint64_t size;
		xtrk_otype type;
		e.kind = XTRK_ENTRY_BLOB;
		e.mode = 0100644;
		e.name = slash ? slash + 1 : path;
		if ((err = xtrk_odb_stat(&size, &type, c->odb, &e.id)) == 0) {
			struct stat st;
			/* Keep an existing file's exec bit; a run records modes only inside trees. */
			if (fstatat(dirfd, e.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0100))
				e.mode = 0100755;
			err = xtrk_co_write_blob(c, dirfd, e.name, shown.ptr, &e);
		}
	}
	close(dirfd);
	xtrk_buf_dispose(&shown);
	return err;
}
