/*
 * A growable byte buffer, used everywhere text or bytes are assembled.
 *
 * `ptr` is never NULL and always NUL-terminated, so a fresh buffer can be
 * printed.  An allocation failure puts the buffer in an "out of memory" state
 * in which every later operation fails cheaply; check once with
 * xtrk_buf_oom() or the return value of the last call.
 */
#ifndef XTRK_BUF_H
#define XTRK_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct {
	char *ptr;
	size_t size;  /* bytes in use, not counting the terminating NUL */
	size_t asize; /* bytes allocated; 0 while ptr points at static storage */
} xtrk_buf;

extern char xtrk_buf__initbuf[];
extern char xtrk_buf__oombuf[];

#define XTRK_BUF_INIT { xtrk_buf__initbuf, 0, 0 }

/** Make room for at least `extra` more bytes; 0 or XTRK_ERROR. */
int xtrk_buf_grow(xtrk_buf *buf, size_t extra);
/** Append `len` bytes. */
int xtrk_buf_put(xtrk_buf *buf, const void *data, size_t len);
/** Append a NUL-terminated string. */
int xtrk_buf_puts(xtrk_buf *buf, const char *s);
/** Append one byte. */
int xtrk_buf_putc(xtrk_buf *buf, char c);
/** Append formatted text. */
int xtrk_buf_printf(xtrk_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int xtrk_buf_vprintf(xtrk_buf *buf, const char *fmt, va_list ap);
/** Replace the contents with `s`. */
int xtrk_buf_sets(xtrk_buf *buf, const char *s);
/** Shorten to `len` bytes (no-op when already shorter). */
void xtrk_buf_truncate(xtrk_buf *buf, size_t len);
/** Empty the buffer, keeping its memory. */
void xtrk_buf_clear(xtrk_buf *buf);
/** Free the memory and reset to XTRK_BUF_INIT. */
void xtrk_buf_dispose(xtrk_buf *buf);
/** A byte count for people ("512 B", "1.5 GiB"), in `out` of `len` bytes. */
void xtrk_human_bytes(char *out, size_t len, unsigned long long bytes);
/** Take ownership of the memory (caller frees); the buffer is reset. NULL on OOM. */
char *xtrk_buf_detach(xtrk_buf *buf);
/** True when an allocation failed on this buffer. */
int xtrk_buf_oom(const xtrk_buf *buf);
/** Append what `fd` holds, to its end; `what` names it in errors. */
int xtrk_buf_read_fd(xtrk_buf *buf, int fd, const char *what);
/** Read a whole file into the buffer (appending). */
int xtrk_buf_read_file(xtrk_buf *buf, const char *path);
/** Join two path parts with one '/'. Replaces the contents. */
int xtrk_buf_joinpath(xtrk_buf *buf, const char *a, const char *b);

#endif
