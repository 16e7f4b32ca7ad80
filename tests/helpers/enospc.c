/*
 * LD_PRELOAD shim for the full-disk tests: once XTRK_TEST_ENOSPC_AFTER bytes
 * have been written to files under a ".xtrk" folder, every further write
 * there fails with ENOSPC, as on a full file system.
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

static int in_store(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, "/.xtrk/") != NULL;
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
