/* Per-thread last-error messages and pending warnings. */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtrk/errors.h"

#define XTRK_ERRMSG_MAX 1024
#define XTRK_WARN_MAX 32

static _Thread_local char last_error[XTRK_ERRMSG_MAX];
static _Thread_local char *warnings[XTRK_WARN_MAX];
static _Thread_local int nwarnings;
static unsigned long oom_count; /* process-wide, only ever grows: see xtrk_oom_mark() */

void xtrk_oom_note(void)
{
	__atomic_add_fetch(&oom_count, 1, __ATOMIC_RELAXED);
}

unsigned long xtrk_oom_mark(void)
{
	return __atomic_load_n(&oom_count, __ATOMIC_RELAXED);
}

int xtrk_oom_since(unsigned long mark)
{
	return xtrk_oom_mark() != mark;
}

int xtrk_error_set(int code, const char *fmt, ...)
{
	/* Formatted aside first: an argument may be xtrk_error_last() itself, wrapped in more context. */
	char msg[sizeof(last_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(last_error, msg, sizeof(last_error));
	return code;
}

int xtrk_error_errno(const char *fmt, ...)
{
	int saved = errno;
	char what[XTRK_ERRMSG_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(last_error, sizeof(last_error), "%s: %s", what, strerror(saved));
	errno = saved;
	if (saved == ENOMEM)
		xtrk_oom_note();
	if (saved == ENOSPC || saved == EDQUOT)
		return XTRK_ENOSPACE;
	if (saved == ENOENT || saved == ENOTDIR)
		return XTRK_ENOTFOUND;
	return XTRK_ERROR;
}

int xtrk_error_oom(void)
{
	xtrk_oom_note();
	snprintf(last_error, sizeof(last_error), "out of memory");
	return XTRK_ERROR;
}

const char *xtrk_error_last(void)
{
	return last_error;
}

void xtrk_error_clear(void)
{
	last_error[0] = '\0';
}

void xtrk_warning_add(const char *fmt, ...)
{
	char msg[XTRK_ERRMSG_MAX];
	va_list ap;

	if (nwarnings >= XTRK_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A warning that cannot be stored is dropped: it must never fail the work. */
	if ((warnings[nwarnings] = strdup(msg)) != NULL)
		nwarnings++;
}

int xtrk_warning_count(void)
{
	return nwarnings;
}

const char *xtrk_warning_get(int n)
{
	return (n >= 0 && n < nwarnings) ? warnings[n] : NULL;
}

void xtrk_warning_clear(void)
{
	for (int i = 0; i < nwarnings; i++)
		free(warnings[i]);
	nwarnings = 0;
}
