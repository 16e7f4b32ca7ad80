/*
 * LD_PRELOAD shim that injects file-system faults for the shell tests:
 *
 *   XTRK_TEST_ENOSPC_AFTER=N   after N bytes written to files under a ".xtrk"
 *                              folder, every further write there fails with
 *                              ENOSPC, as on a full file system;
 *   XTRK_TEST_EIO_PATH=TEXT    every read of a file whose path contains TEXT
 *                              fails with EIO, as on a failing disk (and
 *                              unlike chmod 000, also when running as root).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long long budget = -1;

static int fd_path_has(int fd, const char *text)
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, text) != NULL;
}

static int in_store(int fd)
{
	return fd_path_has(fd, "/.xtrk/");
}

ssize_t read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);
	const char *bad = getenv("XTRK_TEST_EIO_PATH");
	if (!real)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	if (bad && *bad && fd_path_has(fd, bad)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, len);
}

static int spend(int fd, size_t len)
{
	if (budget < 0) {
		const char *e = getenv("XTRK_TEST_ENOSPC_AFTER");
		budget = e ? atoll(e) : LLONG_MAX;
	}
	if (!in_store(fd))
		return 0;
	if ((long long)len > budget) {
		budget = 0;
		errno = ENOSPC;
		return -1;
	}
	budget -= (long long)len;
	return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (spend(fd, len) < 0)
		return -1;
	return real(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	if (spend(fd, len) < 0)
		return -1;
	return real(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}
