/* Helpers shared by the subcommands: errors and exit codes, output, option lists. */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
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

/*
 * One UTF-8 character at s (n bytes left): its length, or 0 when the bytes are not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included); *cp gets the code point.
 */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned c = s[0], min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters that steer a terminal or reorder text: C1 controls and the bidirectional controls. */
static int unsafe_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
		(cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void cli_escape_buf(xtrk_buf *out, const char *text, int multiline)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t n = strlen((const char *)s);

	while (n) {
		unsigned cp;
		size_t len = utf8_char(s, n, &cp);
		if (len == 1 && (cp < 0x20 || cp == 0x7f)) {
			static const char names[] = "abtnvfr";
			if (multiline && (cp == '\n' || cp == '\t'))
				xtrk_buf_putc(out, (char)cp);
			else if (cp >= '\a' && cp <= '\r')
				xtrk_buf_printf(out, "\\%c", names[cp - '\a']);
			else if (cp == 0x1b)
				xtrk_buf_puts(out, "\\e");
			else
				xtrk_buf_printf(out, "\\x%02x", cp);
		} else if (len == 0) {
			xtrk_buf_printf(out, "\\x%02x", *s); /* not UTF-8: a lone 0x9b is CSI to some terminals */
			len = 1;
		} else if (unsafe_cp(cp)) {
			xtrk_buf_printf(out, "\\u%04x", cp);
		} else {
			xtrk_buf_put(out, s, len);
		}
		s += len;
		n -= len;
	}
}

/* A few escaped strings at a time, each valid until CLI_ESC_SLOTS later calls. */
#define CLI_ESC_SLOTS 16
static const char *escape_slot(const char *text, int multiline)
{
	static char *slots[CLI_ESC_SLOTS];
	static unsigned next;
	xtrk_buf b = XTRK_BUF_INIT;
	char **slot = &slots[next++ % CLI_ESC_SLOTS];

	cli_escape_buf(&b, text, multiline);
	free(*slot);
	*slot = xtrk_buf_detach(&b);
	return *slot ? *slot : "?";
}

const char *cli_esc(const char *text)
{
	return escape_slot(text, 0);
}

const char *cli_esc_ml(const char *text)
{
	return escape_slot(text, 1);
}

void cli_warnings(void)
{
	for (int i = 0; i < xtrk_warning_count(); i++)
		fprintf(stderr, "xtrk: warning: %s\n", cli_esc_ml(xtrk_warning_get(i)));
	xtrk_warning_clear();
}

int cli_fail(int code)
{
	const char *msg = xtrk_error_last();
	cli_warnings();
	fprintf(stderr, "xtrk: error: %s\n", *msg ? cli_esc_ml(msg) : "unknown error");
	if (code == XTRK_ENOSPACE)
		fprintf(stderr, "xtrk: hint: the file system is full; the store was left as it was\n");
	return EXIT_ERROR;
}

/* A message that may quote a record's text, printed with its control characters escaped. */
static void print_escaped(FILE *f, const char *fmt, va_list ap)
{
	xtrk_buf b = XTRK_BUF_INIT, e = XTRK_BUF_INIT;
	xtrk_buf_vprintf(&b, fmt, ap);
	cli_escape_buf(&e, b.ptr ? b.ptr : "", 1);
	fputs(e.ptr ? e.ptr : "", f);
	xtrk_buf_dispose(&b);
	xtrk_buf_dispose(&e);
}

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	cli_warnings();
	fputs("xtrk: error: ", stderr);
	va_start(ap, fmt);
	print_escaped(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fputs("xtrk: error: ", stderr);
	va_start(ap, fmt);
	print_escaped(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage);
	return EXIT_USAGE;
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
	} else if (err == XTRK_ENOTFOUND && cli->workspace && !getenv("XTRK_DIR") && xtrk_store_is_bare(cli->workspace)) {
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
		fprintf(stderr, "xtrk: error: %s\n", cli_esc_ml(xtrk_error_last()));
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
	xtrk_human_bytes(out, len, bytes);
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

int cli_print_object(xtrk_repo *repo, const xtrk_oid *id)
{
	xtrk_odb_stream *st = NULL;
	char *buf = NULL;
	int err;

	/* Checked whole before any byte leaves the store, then streamed (and verified again). */
	if ((err = xtrk_odb_check(xtrk_repo_odb(repo), id, 1)) < 0 ||
	    (err = xtrk_odb_stream_open(&st, xtrk_repo_odb(repo), id)) < 0)
		goto done;
	if (!(buf = malloc(1 << 20))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (;;) {
		size_t n;
		if ((err = xtrk_odb_stream_read(st, buf, 1 << 20, &n)) < 0 || !n)
			break;
		if ((err = xtrk_write_all(1, buf, n, "standard output")) < 0)
			break;
	}
done:
	free(buf);
	xtrk_odb_stream_free(st);
	return err;
}
