/*
 * LD_PRELOAD shim that injects file-system faults for the shell tests:
 *
 *   XTRK_TEST_ENOSPC_AFTER=N   after N bytes written to files under a ".xtrk"
 *                              folder, every further write there fails with
 *                              ENOSPC, as on a full file system;
 *   XTRK_TEST_EIO_PATH=TEXT    every read of a file whose path contains TEXT
 *                              fails with EIO, as on a failing disk (and
 *                              unlike chmod 000, also when running as root);
 *   XTRK_TEST_FAULT=KIND:N     the Nth call of KIND touching the store fails
 *                              (or, for kill, the process dies by SIGKILL
 *                              just before it), where KIND is write, fsync,
 *                              rename, unlink (unlink and rmdir) or kill
 *                              (kill counts writes, fsyncs, renames and
 *                              unlinks together);
 *   XTRK_TEST_FAULT_ERRNO=E    the error a failing call gets: ENOSPC or EIO
 *                              (default: ENOSPC for writes, EIO otherwise);
 *   XTRK_TEST_COUNT=FILE       append each counted call's kind to FILE, so a
 *                              test knows how many points there are to hit;
 *   XTRK_TEST_FAULT_UNDER=TEXT the calls counted are those on paths holding
 *                              TEXT (default "/.xtrk/": the store's files).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* What a counted call's path holds. */
static const char *under(void)
{
	const char *u = getenv("XTRK_TEST_FAULT_UNDER");
	return u && *u ? u : "/.xtrk/";
}

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
	return fd_path_has(fd, under());
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

/* Count one store operation; 1 when the configured fault is due now. */
static int fault_due(const char *kind, int err)
{
	static int counts[5];
	static const char *const kinds[] = { "write", "fsync", "rename", "unlink", "kill" };
	const char *spec = getenv("XTRK_TEST_FAULT"), *log = getenv("XTRK_TEST_COUNT");
	if (log && *log) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			char line[16];
			int n = snprintf(line, sizeof(line), "%s\n", kind);
			ssize_t (*real_write)(int, const void *, size_t) =
				(ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
			if (real_write(fd, line, (size_t)n) < 0)
				n = 0;
			close(fd);
		}
	}
	if (!spec)
		return 0;
	for (int i = 0; i < 5; i++) {
		size_t kl = strlen(kinds[i]);
		if (strncmp(spec, kinds[i], kl) || spec[kl] != ':')
			continue;
		if (i != 4 && strcmp(kinds[i], kind))
			return 0;
		if (++counts[i] == atoi(spec + kl + 1)) {
			const char *e = getenv("XTRK_TEST_FAULT_ERRNO");
			if (i == 4)
				raise(SIGKILL);
			errno = e && !strcmp(e, "EIO") ? EIO : e && !strcmp(e, "ENOSPC") ? ENOSPC : err;
			return 1;
		}
	}
	return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (in_store(fd) && fault_due("write", ENOSPC))
		return -1;
	if (spend(fd, len) < 0)
		return -1;
	return real(fd, buf, len);
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (in_store(fd) && fault_due("fsync", EIO))
		return -1;
	return real(fd);
}

static int store_path(const char *p)
{
	return p && strstr(p, under()) != NULL;
}

int rename(const char *a, const char *b)
{
	static int (*real)(const char *, const char *);
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	if (store_path(b) && fault_due("rename", EIO))
		return -1;
	return real(a, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned);
	if (!real)
		real = (int (*)(int, const char *, int, const char *, unsigned))dlsym(RTLD_NEXT, "renameat2");
	if (store_path(b) && fault_due("rename", EIO))
		return -1;
	return real(da, a, db, b, flags);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	if (in_store(fd) && fault_due("write", ENOSPC))
		return -1;
	if (spend(fd, len) < 0)
		return -1;
	return real(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

int unlink(const char *p)
{
	static int (*real)(const char *);
	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	if (store_path(p) && fault_due("unlink", EIO))
		return -1;
	return real(p);
}

int rmdir(const char *p)
{
	static int (*real)(const char *);
	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
	if (store_path(p) && fault_due("unlink", EIO))
		return -1;
	return real(p);
}
