/* Helpers shared by the subcommands: errors and exit codes, output, option lists. */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"

void strlist_push(struct strlist *l, const char *s)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 8;
		const char **p = realloc(l->items, na * sizeof(*p));
		if (!p) {
			fprintf(stderr, "xtrk: error: out of memory\n");
			exit(EXIT_ERROR);
		}
		l->items = p;
		l->alloc = na;
	}
	l->items[l->n++] = s;
}

void strlist_free(struct strlist *l)
{
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

void cli_warnings(void)
{
	for (int i = 0; i < xtrk_warning_count(); i++)
		fprintf(stderr, "xtrk: warning: %s\n", xtrk_warning_get(i));
	xtrk_warning_clear();
}

int cli_fail(int code)
{
	const char *msg = xtrk_error_last();
	cli_warnings();
	fprintf(stderr, "xtrk: error: %s\n", *msg ? msg : "unknown error");
	if (code == XTRK_ENOSPACE)
		fprintf(stderr, "xtrk: hint: the file system is full; the store was left as it was\n");
	return EXIT_ERROR;
}

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	cli_warnings();
	fputs("xtrk: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fputs("xtrk: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage);
	return EXIT_USAGE;
}

/* A folder holding objects/, refs/ and a config that says core.bare: a remote's store. */
static int cli_is_bare_store(const char *dir)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int bare;
	xtrk_buf_printf(&p, "%s/config", dir);
	bare = xtrk_buf_read_file(&p, p.ptr) == 0 && strstr(p.ptr, "bare = true");
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/objects", dir);
	bare = bare && stat(p.ptr, &st) == 0 && S_ISDIR(st.st_mode);
	xtrk_buf_dispose(&p);
	return bare;
}

int cli_open_repo(xtrk_repo **out, struct cli *cli)
{
	xtrk_buf ws = XTRK_BUF_INIT;
	int err;

	if (cli->workspace && !getenv("XTRK_DIR"))
		err = xtrk_repo_discover(&ws, cli->workspace);
	else
		err = xtrk_repo_discover(&ws, ".");
	if (err == 0) {
		err = xtrk_repo_open(out, ws.ptr);
	} else if (err == XTRK_ENOTFOUND && cli->workspace && !getenv("XTRK_DIR") && cli_is_bare_store(cli->workspace)) {
		/* -C naming a remote's bare store: log, show, fsck and the like work on it too. */
		xtrk_error_clear();
		err = xtrk_store_open(out, cli->workspace);
	}
	xtrk_buf_dispose(&ws);
	return err < 0 ? cli_fail(err) : 0;
}

void cli_print_json(json_t *v)
{
	char *text = xtrk_json_dumps(v, XTRK_JSON_PRETTY);
	if (!text) {
		fprintf(stderr, "xtrk: error: %s\n", xtrk_error_last());
		return;
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
}

int cli_isatty(int fd)
{
	return isatty(fd);
}

void cli_human_bytes(char *out, size_t len, unsigned long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", bytes);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

int cli_parse_ll(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}
