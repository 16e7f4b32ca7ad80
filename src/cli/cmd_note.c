/* xtrk note: append a note to a run (append-only), or list a run's notes. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/notes.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk note RUN -m TEXT\n"
	"       xtrk note RUN -F FILE\n"
	"       xtrk note RUN [--json]\n"
	"\n"
	"Append a note to a run, or (with no -m or -F) list its notes: the ones it was\n"
	"recorded with, then the appended ones, oldest first, each with author and time.\n"
	"Notes are never edited or deleted.  A note is text of at most 64 KiB: UTF-8 with\n"
	"no control characters other than newlines and tabs.\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"  -m, --message TEXT   the note ('-' reads it from standard input)\n"
	"  -F, --file FILE      read the note from FILE ('-': standard input)\n"
	"      --json           list as JSON\n"
	"  -h, --help           show this help\n";

enum { OPT_JSON = 256 };

/* At most one byte more than a note may hold: enough to refuse a longer one without reading it all. */
static int read_text(xtrk_buf *out, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char chunk[8192];
	size_t n;
	int err = 0;
	if (!f)
		return cli_error(EXIT_USAGE, "cannot read '%s': %s", path, strerror(errno));
	while (out->size <= XTRK_NOTE_MAX_TEXT && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		xtrk_buf_put(out, chunk, n);
	if (ferror(f))
		err = cli_error(EXIT_USAGE, "cannot read '%s': %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (xtrk_buf_oom(out))
		err = cli_fail(xtrk_error_oom());
	return err;
}

static void print_note(const char *time, const char *author, const char *what, const char *text)
{
	const char *t = cli_esc_ml(text), *start = t;
	printf("%s  %s  %s\n    ", cli_esc(time), cli_esc(author), what);
	for (; *t; t++) {
		putchar(*t);
		if (*t == '\n' && t[1])
			fputs("    ", stdout);
	}
	if (t == start || t[-1] != '\n')
		putchar('\n');
}

static int list(xtrk_repo *repo, const xtrk_oid *id, int json)
{
	json_t *run = NULL, *appended = NULL, *arr = NULL, *v;
	xtrk_note *notes = NULL;
	size_t n = 0, i;
	int err;

	if ((err = xtrk_run_read_record(&run, repo, id)) < 0 || (err = xtrk_notes_list(&notes, &n, repo, id, 1)) < 0)
		goto done;
	cli_warnings();
	const char *author = json_string_value(json_object_get(run, "author")), *started =
		json_string_value(json_object_get(run, "started"));
	author = author ? author : "?";
	started = started ? started : "?";
	if (json) {
		if (!(arr = json_array()) || !(appended = xtrk_notes_json(notes, n, id))) {
			err = xtrk_error_oom();
			goto done;
		}
		json_array_foreach(json_object_get(run, "notes"), i, v)
			json_array_append_new(arr, json_pack("{s:O, s:s, s:s, s:n}", "text", v, "author", author, "time",
				started, "id"));
		json_array_foreach(appended, i, v) {
			json_object_del(v, "run");
			json_array_append(arr, v);
		}
		cli_print_json(arr);
		goto done;
	}
	json_array_foreach(json_object_get(run, "notes"), i, v)
		if (json_is_string(v))
			print_note(started, author, "(recorded with the run)", json_string_value(v));
	for (i = 0; i < n; i++) {
		char what[40];
		snprintf(what, sizeof(what), "note %.12s", xtrk_oid_tostr(&notes[i].id));
		print_note(notes[i].time, notes[i].author, what, notes[i].text);
	}
done:
	xtrk_notes_free(notes, n);
	json_decref(run);
	json_decref(appended);
	json_decref(arr);
	return err;
}

int cmd_note(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_buf text = XTRK_BUF_INIT;
	const char *message = NULL, *file = NULL;
	xtrk_oid id, note;
	int c, json = 0, err = 0, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "m:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (message || file)
				return cli_usage_error(usage, "give one -m or -F");
			message = optarg;
			break;
		case 'F':
			if (message || file)
				return cli_usage_error(usage, "give one -m or -F");
			file = optarg;
			break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ? "which run? give RUN" : "give one RUN");
	if (json && (message || file))
		return cli_usage_error(usage, "--json is for listing");
	if (message && !strcmp(message, "-"))
		file = "-";
	if (file && (status = read_text(&text, file)) != EXIT_OK)
		goto done;
	if (message && !file && xtrk_buf_puts(&text, message) < 0) {
		status = cli_fail(xtrk_error_oom());
		goto done;
	}
	/* The text checked before the store is opened: a bad note changes nothing, whatever the run. */
	if ((message || file) && xtrk_note_text_check(text.ptr ? text.ptr : "", text.size) < 0) {
		status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;
	if ((err = xtrk_run_resolve_listed(&id, repo, argv[optind])) < 0) {
		if (err == XTRK_EINVALID)
			status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto fail;
	}
	if (!message && !file) {
		if ((err = list(repo, &id, json)) < 0)
			goto fail;
		goto done;
	}
	if ((err = xtrk_note_add(&note, repo, &id, text.ptr, text.size)) < 0) {
		if (err == XTRK_EINVALID)
			status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto fail;
	}
	printf("noted run %.12s (note %.12s)\n", xtrk_oid_tostr(&id), xtrk_oid_tostr(&note));
	goto done;
fail:
	if (status == EXIT_OK)
		status = cli_fail(err);
done:
	xtrk_buf_dispose(&text);
	xtrk_repo_free(repo);
	return status;
}
