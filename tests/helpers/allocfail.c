/*
 * LD_PRELOAD shim that makes memory allocation fail, for the allocation
 * failure tests (tests/stress/alloc.sh):
 *
 *   XTRK_TEST_MALLOC_FAIL=N    the Nth allocation of the process (malloc,
 *                              calloc, realloc, posix_memalign, aligned_alloc,
 *                              memalign) returns NULL with ENOMEM; with "N+",
 *                              every allocation from the Nth on fails;
 *   XTRK_TEST_MALLOC_COUNT=F   write the number of allocations made to F at exit.
 *
 *   XTRK_TEST_MALLOC_SKIP=TEXT calls made from a library whose file name
 *                              contains TEXT are neither counted nor failed.
 *
 * It counts calls from every library (jansson, libgit2, libarchive, zlib,
 * libc), so failures land inside them as well as in xtrk's own code.  A
 * crash prints "allocfail: crash in MODULE" and the modules of the stack on
 * stderr, so a test can tell xtrk's bugs from a library's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <ucontext.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static unsigned long count, fail_at;
static const char *skip;
static int fail_after, configured, resolving;

/* dlsym may allocate before the real functions are known: serve it from a small static arena. */
static char arena[65536];
static size_t arena_used;

static void *arena_alloc(size_t n)
{
	void *p;
	n = (n + 15) & ~(size_t)15;
	if (arena_used + n > sizeof(arena))
		return NULL;
	p = arena + arena_used;
	arena_used += n;
	return p;
}

static int from_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	resolving = 0;
}

static void configure(void)
{
	const char *s = getenv("XTRK_TEST_MALLOC_FAIL");
	configured = 1;
	skip = getenv("XTRK_TEST_MALLOC_SKIP");
	if (skip && !*skip)
		skip = NULL;
	if (s && *s) {
		char *end;
		fail_at = strtoul(s, &end, 10);
		fail_after = *end == '+';
	}
}

/* 1 when the allocation asked for from `caller` must fail. */
static int due_from(const void *caller)
{
	unsigned long n;
	if (!configured)
		configure();
	if (skip && caller) {
		Dl_info info;
		if (dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, skip))
			return 0;
	}
	n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
	if (!fail_at || (fail_after ? n < fail_at : n != fail_at))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t n)
{
	resolve();
	if (!real_malloc)
		return arena_alloc(n);
	return due_from(__builtin_return_address(0)) ? NULL : real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	resolve();
	if (!real_calloc) {
		void *p = b && a > (size_t)-1 / b ? NULL : arena_alloc(a * b);
		if (p)
			memset(p, 0, a * b);
		return p;
	}
	return due_from(__builtin_return_address(0)) ? NULL : real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	resolve();
	if (from_arena(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < 256 ? n : 256); /* arena blocks are small and only from dlsym */
		return q;
	}
	return due_from(__builtin_return_address(0)) ? NULL : real_realloc(p, n);
}

void free(void *p)
{
	if (!p || from_arena(p))
		return;
	resolve();
	real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	resolve();
	return due_from(__builtin_return_address(0)) ? ENOMEM : real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	resolve();
	return due_from(__builtin_return_address(0)) ? NULL : real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
	resolve();
	return due_from(__builtin_return_address(0)) ? NULL : real_memalign(align, n);
}

static void say(const char *a, const char *b)
{
	if (write(2, a, strlen(a)) < 0 || write(2, b, strlen(b)) < 0 || write(2, "\n", 1) < 0)
		return;
}

static const char *module_of(const void *pc)
{
	Dl_info info;
	const char *slash;
	if (!dladdr(pc, &info) || !info.dli_fname)
		return "?";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

static void on_crash(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	void *frames[16];
	int n = backtrace(frames, 16);
	(void)si;
	say("allocfail: crash in ", module_of((void *)uc->uc_mcontext.gregs[REG_RIP]));
	for (int i = 2; i < n; i++)
		say("allocfail:   from ", module_of(frames[i]));
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void install(void)
{
	struct sigaction sa;
	void *warm[2];
	backtrace(warm, 2); /* loads libgcc now, not in the handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

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
