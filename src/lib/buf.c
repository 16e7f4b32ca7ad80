/* The growable byte buffer used throughout libxtrk. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xtrk/buf.h"
#include "xtrk/errors.h"

char xtrk_buf__initbuf[1];
char xtrk_buf__oombuf[1];

static int buf_fail(xtrk_buf *buf)
{
	if (buf->asize)
		free(buf->ptr);
	buf->ptr = xtrk_buf__oombuf;
	buf->size = buf->asize = 0;
	return xtrk_error_oom();
}

int xtrk_buf_oom(const xtrk_buf *buf)
{
	return buf->ptr == xtrk_buf__oombuf;
}

int xtrk_buf_grow(xtrk_buf *buf, size_t extra)
{
	size_t need, nsize;
	char *p;

	if (xtrk_buf_oom(buf))
		return XTRK_ERROR;
	if (extra > SIZE_MAX - buf->size - 1)
		return buf_fail(buf);
	need = buf->size + extra + 1;
	if (need <= buf->asize)
		return 0;
	nsize = buf->asize ? buf->asize : 64;
	while (nsize < need)
		nsize = nsize < SIZE_MAX / 2 ? nsize * 3 / 2 + 8 : need;
	p = buf->asize ? realloc(buf->ptr, nsize) : malloc(nsize);
	if (!p)
		return buf_fail(buf);
	if (!buf->asize)
		p[0] = '\0';
	buf->ptr = p;
	buf->asize = nsize;
	return 0;
}

int xtrk_buf_put(xtrk_buf *buf, const void *data, size_t len)
{
	/*
	 * Room already, the common case, needs no call to grow: a buffer with
	 * memory always has asize > size; a new or failed one has both 0.
	 */
	if (len >= buf->asize - buf->size && xtrk_buf_grow(buf, len) < 0)
		return XTRK_ERROR;
	if (len)
		memmove(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int xtrk_buf_puts(xtrk_buf *buf, const char *s)
{
	return xtrk_buf_put(buf, s, strlen(s));
}

int xtrk_buf_putc(xtrk_buf *buf, char c)
{
	if (buf->asize - buf->size > 1) {
		buf->ptr[buf->size++] = c;
		buf->ptr[buf->size] = '\0';
		return 0;
	}
	return xtrk_buf_put(buf, &c, 1);
}

int xtrk_buf_vprintf(xtrk_buf *buf, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (xtrk_buf_grow(buf, 64) < 0)
		return XTRK_ERROR;
	va_copy(ap2, ap);
	n = vsnprintf(buf->ptr + buf->size, buf->asize - buf->size, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return xtrk_error_set(XTRK_ERROR, "formatting failed");
	if ((size_t)n >= buf->asize - buf->size) {
		if (xtrk_buf_grow(buf, (size_t)n) < 0)
			return XTRK_ERROR;
		vsnprintf(buf->ptr + buf->size, buf->asize - buf->size, fmt, ap);
	}
	buf->size += (size_t)n;
	return 0;
}

int xtrk_buf_printf(xtrk_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	r = xtrk_buf_vprintf(buf, fmt, ap);
	va_end(ap);
	return r;
}

int xtrk_buf_sets(xtrk_buf *buf, const char *s)
{
	xtrk_buf_clear(buf);
	return xtrk_buf_puts(buf, s);
}

void xtrk_buf_truncate(xtrk_buf *buf, size_t len)
{
	if (len < buf->size && buf->asize) {
		buf->size = len;
		buf->ptr[len] = '\0';
	}
}

void xtrk_buf_clear(xtrk_buf *buf)
{
	if (xtrk_buf_oom(buf)) {
		buf->ptr = xtrk_buf__initbuf;
		return;
	}
	buf->size = 0;
	if (buf->asize)
		buf->ptr[0] = '\0';
}

void xtrk_buf_dispose(xtrk_buf *buf)
{
	if (buf->asize)
		free(buf->ptr);
	buf->ptr = xtrk_buf__initbuf;
	buf->size = buf->asize = 0;
}

char *xtrk_buf_detach(xtrk_buf *buf)
{
	char *p;

	if (xtrk_buf_oom(buf)) {
		buf->ptr = xtrk_buf__initbuf;
		return NULL;
	}
	p = buf->asize ? buf->ptr : strdup("");
	buf->ptr = xtrk_buf__initbuf;
	buf->size = buf->asize = 0;
	return p;
}

int xtrk_buf_read_fd(xtrk_buf *buf, int fd, const char *what)
{
	ssize_t n;
	int err;

	for (;;) {
		if ((err = xtrk_buf_grow(buf, 65536)) < 0)
			return err;
		n = read(fd, buf->ptr + buf->size, buf->asize - buf->size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xtrk_error_errno("cannot read '%s'", what);
		if (n == 0)
			return 0;
		buf->size += (size_t)n;
		buf->ptr[buf->size] = '\0';
	}
}

int xtrk_buf_read_file(xtrk_buf *buf, const char *path)
{
	int fd, err;
	struct stat st;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return xtrk_error_errno("cannot open '%s'", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return xtrk_error_set(XTRK_EINVALID, "'%s' is a folder, not a file", path);
	}
	err = xtrk_buf_read_fd(buf, fd, path);
	close(fd);
	return err;
}

int xtrk_buf_joinpath(xtrk_buf *buf, const char *a, const char *b)
{
	size_t alen = strlen(a);

	xtrk_buf_clear(buf);
	if (xtrk_buf_put(buf, a, alen) < 0)
		return XTRK_ERROR;
	if (alen && a[alen - 1] != '/' && *b && xtrk_buf_putc(buf, '/') < 0)
		return XTRK_ERROR;
	return xtrk_buf_puts(buf, b);
}

void xtrk_human_bytes(char *out, size_t len, unsigned long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", bytes);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}
