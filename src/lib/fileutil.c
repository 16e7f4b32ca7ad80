/* Small, careful wrappers around POSIX file calls used by every module. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/odb.h"

int xtrk_open_regular(const char *path, int nofollow)
{
	struct stat st;
	int fd, flags;

	/* O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0))) < 0)
		return xtrk_error_errno("cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		int err = xtrk_error_errno("cannot read '%s'", path);
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a regular file (%s)", path,
			S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO"
			: S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int err = xtrk_error_errno("cannot read '%s'", path);
		close(fd);
		return err;
	}
	return fd;
}

int xtrk_write_all(int fd, const void *data, size_t len, const char *what)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xtrk_error_errno("cannot write %s", what);
		if (n == 0) {
			errno = ENOSPC;
			return xtrk_error_errno("cannot write %s", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xtrk_pwrite_all(int fd, const void *data, size_t len, uint64_t off, const char *what)
{
	const char *p = data;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xtrk_error_errno("cannot write %s", what);
		if (n == 0) {
			errno = ENOSPC;
			return xtrk_error_errno("cannot write %s", what);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t xtrk_read_full(int fd, void *data, size_t len, const char *what)
{
	char *p = data;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xtrk_error_errno("cannot read %s", what);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int xtrk_pread_exact(int fd, void *data, size_t len, uint64_t off, const char *what)
{
	char *p = data;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xtrk_error_errno("cannot read %s", what);
		if (n == 0)
			return xtrk_error_set(XTRK_ECORRUPT, "%s is truncated", what);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int xtrk_fsync(int fd, const char *what)
{
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return xtrk_error_errno("cannot flush %s to disk", what);
	}
	return 0;
}

int xtrk_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err;
	if (fd < 0)
		return xtrk_error_errno("cannot open folder '%s'", path);
	err = xtrk_fsync(fd, path);
	close(fd);
	return err;
}

int xtrk_file_replace(const char *path, const void *data, size_t len)
{
	xtrk_buf tmp = XTRK_BUF_INIT, dir = XTRK_BUF_INIT;
	const char *slash = strrchr(path, '/');
	mode_t mask;
	int fd = -1, err;

	if (xtrk_buf_printf(&tmp, "%s.tmp-XXXXXX", path) < 0 ||
	    xtrk_buf_printf(&dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1, slash ? path : ".") < 0) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((fd = mkstemp(tmp.ptr)) < 0) {
		err = xtrk_error_errno("cannot create '%s'", tmp.ptr);
		goto done;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) { /* mkstemp's 0600 is too tight for a file meant to be shared */
		err = xtrk_error_errno("cannot set the mode of '%s'", tmp.ptr);
		goto fail;
	}
	if ((err = xtrk_write_all(fd, data, len, path)) < 0 || (err = xtrk_fsync(fd, path)) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		err = xtrk_error_errno("cannot write '%s'", path);
		goto fail;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		err = xtrk_error_errno("cannot write '%s'", path);
		goto fail;
	}
	err = xtrk_fsync_dir(dir.ptr);
	goto done;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp.ptr);
done:
	xtrk_buf_dispose(&tmp);
	xtrk_buf_dispose(&dir);
	return err;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int xtrk_remove_tree(const char *path)
{
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return xtrk_error_errno("cannot remove '%s'", path);
	return 0;
}

static _Thread_local char link_found[4096];

static int find_link(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_SL && flag != FTW_SLN)
		return 0;
	snprintf(link_found, sizeof(link_found), "%s", path);
	return 1;
}

int xtrk_refuse_links(const char *root, const char *what)
{
	char *real = realpath(root, NULL);
	int r;
	if (!real)
		return xtrk_error_errno("cannot open %s ('%s')", what, root);
	link_found[0] = '\0';
	r = nftw(real, find_link, 16, FTW_PHYS);
	free(real);
	if (r == 1)
		return xtrk_error_set(XTRK_EINVALID,
			"%s holds a symbolic link, '%s'; refusing to use it (xtrk never follows links in a store it reads "
			"from or writes to)",
			what, link_found);
	if (r < 0)
		return xtrk_error_errno("cannot read %s ('%s')", what, root);
	return 0;
}

int xtrk_mkdir_p(const char *path)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err = 0;

	if (xtrk_buf_puts(&b, path) < 0)
		return XTRK_ERROR;
	for (char *p = b.ptr + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(b.ptr, 0777) < 0 && errno != EEXIST) {
				err = xtrk_error_errno("cannot create folder '%s'", b.ptr);
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_write_file_atomic(const char *path, const void *data, size_t len, int mode, int flags)
{
	xtrk_buf tmp = XTRK_BUF_INIT, dir = XTRK_BUF_INIT;
	int fd = -1, err;
	const char *slash;

	if ((err = xtrk_buf_printf(&tmp, "%s.tmp-XXXXXX", path)) < 0)
		goto done;
	if ((fd = mkostemp(tmp.ptr, O_CLOEXEC)) < 0) {
		err = xtrk_error_errno("cannot create a temporary file beside '%s'", path);
		goto done;
	}
	if ((err = xtrk_write_all(fd, data, len, path)) < 0 ||
	    ((flags & XTRK_WRITE_DURABLE) && (err = xtrk_fsync(fd, path)) < 0))
		goto done;
	if (fchmod(fd, (mode_t)mode) < 0) {
		err = xtrk_error_errno("cannot set the mode of '%s'", path);
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		err = xtrk_error_errno("cannot rename into '%s'", path);
		goto done;
	}
	if (!(flags & XTRK_WRITE_DURABLE))
		goto done;
	slash = strrchr(path, '/');
	if ((err = xtrk_buf_put(&dir, path, slash ? (size_t)(slash - path) : 1)) < 0)
		goto done;
	if (!slash)
		xtrk_buf_sets(&dir, ".");
	err = xtrk_fsync_dir(dir.ptr);
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.ptr);
	}
	xtrk_buf_dispose(&tmp);
	xtrk_buf_dispose(&dir);
	return err;
}
