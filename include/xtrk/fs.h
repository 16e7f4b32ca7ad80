/* File helpers the library uses and a program may too: whole writes, folders made and removed. */
#ifndef XTRK_FS_H
#define XTRK_FS_H

#include <stddef.h>

/** Write all of `len` bytes, retrying on EINTR and short writes; XTRK_* code. */
int xtrk_write_all(int fd, const void *data, size_t len, const char *what);
/** Remove a folder and everything in it, never following links. */
int xtrk_remove_tree(const char *path);
/** Create a folder and its parents (mode 0777 & ~umask); existing is fine. */
int xtrk_mkdir_p(const char *path);
/**
 * Make `path` hold `len` bytes, whole or not at all: written to a temporary
 * file beside it (a plain new file's mode, 0666 & ~umask), flushed to disk,
 * renamed over `path`, and the folder flushed.  On failure `path` is as it
 * was and no temporary file is left.
 */
int xtrk_file_replace(const char *path, const void *data, size_t len);

/**
 * Open `path` to read it as the content of an object: only a regular file
 * (`nofollow`: not through a final symlink).  A FIFO, device, socket or
 * folder is XTRK_EINVALID at once, without blocking on it or reading an
 * endless stream.  Returns the file descriptor, or < 0.
 */
int xtrk_open_regular(const char *path, int nofollow);

#endif
