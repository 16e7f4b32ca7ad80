/*
 * Built into xtrk by ./configure --enable-fault-injection: the same
 * XTRK_TEST_MALLOC_FAIL=N[+] and XTRK_TEST_MALLOC_COUNT=FILE as the
 * allocfail.so shim, but through the linker's --wrap, for xtrk's own
 * allocations (and jansson's, which go through xtrk's allocator hook).
 * Unlike a preloaded shim it works under AddressSanitizer, whose leak
 * checker then proves that every failure path frees what it took.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static unsigned long count, fail_at;
static int fail_after, configured;

static int due(void)
{
	unsigned long n;
	if (!configured) {
		const char *s = getenv("XTRK_TEST_MALLOC_FAIL");
		configured = 1;
		if (s && *s) {
			char *end;
			fail_at = strtoul(s, &end, 10);
			fail_after = *end == '+';
		}
	}
	n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
	if (!fail_at || (fail_after ? n < fail_at : n != fail_at))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *__wrap_malloc(size_t n) { return due() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return due() ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return due() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return due() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return due() ? NULL : __real_strndup(s, n); }

__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("XTRK_TEST_MALLOC_COUNT");
	char line[32];
	int fd, n;
	if (!f || !*f || (fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return;
	n = snprintf(line, sizeof(line), "%lu\n", count);
	if (write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}
