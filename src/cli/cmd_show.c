/* xtrk show: print everything recorded for one run, for people or (--json) for programs. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "xtrk/profile.h"
#include "xtrk/archive.h"
#include "xtrk/removed.h"
#include "runfmt.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/params.h"
#include "xtrk/run.h"
#include "xtrk/record.h"

static const char usage[] =
	"usage: xtrk show [--json] RUN\n"
	"\n"
	"Show a run: source, params, metrics, data, models, environment.\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"      --json    the run's JSON (the shape of xtrk-format(5))\n"
	"  -h, --help    show this help\n";

enum { OPT_JSON = 256 };

/* How many of its last stderr lines a failed run shows. */
#define SHOW_STDERR_LINES 10

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A text field of the record, escaped for the terminal (cli_esc): a record may come from anyone. */
static const char *s(json_t *o, const char *k)
{
	const char *v = json_string_value(runfmt_lookup(o, k));
	return v ? cli_esc(v) : "";
}

static void print_kv_section(const char *title, json_t *obj)
{
	json_t *flat = xtrk_json_flatten(obj);
	const char **keys = calloc(json_object_size(flat) + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t n = 0;
	xtrk_buf cell = XTRK_BUF_INIT;

	json_object_foreach(flat, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_cstr);
	printf("%s:%s\n", title, n ? "" : " (none)");
	for (size_t i = 0; i < n; i++) {
		xtrk_buf_clear(&cell);
		runfmt_cell(&cell, json_object_get(flat, keys[i]));
		printf("  %-24s %s\n", cli_esc(keys[i]), cli_esc(cell.ptr ? cell.ptr : ""));
	}
	xtrk_buf_dispose(&cell);
	free(keys);
	json_decref(flat);
}

static void print_data(xtrk_repo *repo, const char *title, json_t *arr)
{
	size_t i;
	json_t *d;
	printf("%s:%s\n", title, json_array_size(arr) ? "" : " (none)");
	json_array_foreach(arr, i, d) {
		char hb[32];
		long long files = json_integer_value(json_object_get(d, "files"));
		cli_human_bytes(hb, sizeof(hb), (unsigned long long)json_integer_value(json_object_get(d, "bytes")));
		printf("  %-12s %s  %s %s  %lld file%s, %s", s(d, "name"), s(d, "path"), s(d, "kind"), s(d, "id"),
			files, files == 1 ? "" : "s", hb);
		if (*s(d, "source"))
			printf("  from %s", s(d, "source"));
		putchar('\n');
		if (*s(d, XTRK_REC_PROFILE)) {
			/* One line of its profile; xtrk profile RUN shows the whole. */
			json_t *p = NULL;
			xtrk_buf line = XTRK_BUF_INIT;
			if (xtrk_profile_load(&p, repo, s(d, XTRK_REC_PROFILE)) == 0)
				xtrk_profile_summary(&line, p);
			else
				xtrk_buf_printf(&line, "unreadable (%s)", xtrk_error_last()), xtrk_error_clear();
			printf("  %-12s profile: %s\n", "", cli_esc(line.ptr ? line.ptr : ""));
			xtrk_buf_dispose(&line);
			json_decref(p);
		}
	}
}

/* What `xtrk run` recorded of the command: its line, where it ran, what it used. */
static void print_command(json_t *r)
{
	json_t *cmd = json_object_get(r, "command"), *res = json_object_get(r, "resources"), *v;

	if (json_is_object(cmd)) {
		xtrk_buf line = XTRK_BUF_INIT;
		xtrk_record_shell_line(&line, json_object_get(cmd, "argv"));
		printf("command:    %s\n", cli_esc(line.ptr));
		printf("            in %s\n", *s(cmd, "cwd") ? s(cmd, "cwd") : ".");
		xtrk_buf_dispose(&line);
	}
	if (json_is_object(res)) {
		char num[XTRK_DOUBLE_BUFSZ], hb[32];
		printf("resources: ");
		if (json_is_number(v = json_object_get(res, "cpu_s"))) {
			xtrk_double_format(num, json_number_value(v));
			printf(" CPU %s s", num);
		}
		if (json_is_integer(v = json_object_get(res, "max_rss_bytes")) && json_integer_value(v) >= 0) {
			cli_human_bytes(hb, sizeof(hb), (unsigned long long)json_integer_value(v));
			printf("%s peak memory %s", json_is_number(json_object_get(res, "cpu_s")) ? "," : "", hb);
		}
		putchar('\n');
	}
}

/* The last lines the command of a failed run wrote on stderr, shown escaped; why when they cannot be. */
static void print_stderr_tail(xtrk_repo *repo, json_t *r)
{
	xtrk_buf tail = XTRK_BUF_INIT;
	int err;

	if (!json_is_string(json_object_get(json_object_get(r, "logs"), "stderr")))
		return; /* not run by xtrk run, or nothing kept: nothing to show */
	if ((err = xtrk_run_log_tail(&tail, repo, r, XTRK_RUN_LOG_STDERR, SHOW_STDERR_LINES, 64 * 1024)) < 0) {
		printf("stderr:     (cannot be shown: %s)\n", cli_esc(xtrk_error_last()));
		xtrk_error_clear();
	} else if (!tail.size) {
		printf("stderr:     (empty)\n");
	} else {
		char *p, *nl, *end = tail.ptr + tail.size;
		printf("stderr (last lines; all with 'xtrk logs --stderr'):\n");
		for (p = tail.ptr; p < end; p = nl + 1) {
			if (!(nl = memchr(p, '\n', (size_t)(end - p))))
				nl = end;
			*nl = '\0';
			fputs("  ", stdout);
			for (char *q = p;; q++) { /* a NUL in the log is shown as \0, not taken as the line's end */
				fputs(cli_esc_ml(q), stdout);
				if ((q += strlen(q)) >= nl)
					break;
				fputs("\\0", stdout);
			}
			putchar('\n');
		}
	}
	xtrk_buf_dispose(&tail);
}

static void print_human(xtrk_repo *repo, json_t *r)
{
	json_t *src = json_object_get(r, "source"), *env = json_object_get(r, "env"), *a, *v;
	const char *k;
	size_t i;
	char num[XTRK_DOUBLE_BUFSZ];

	printf("run %s\n", s(r, "id"));
	printf("experiment: %s\n", s(r, "experiment"));
	if (*s(r, "message"))
		printf("message:    %s\n", s(r, "message"));
	printf("author:     %s\n", s(r, "author"));
	xtrk_double_format(num, json_number_value(json_object_get(r, "duration_s")));
	printf("started:    %s  (%s s)\n", s(r, "started"), num);
	printf("status:     %s", s(r, "status"));
	if (json_is_integer(json_object_get(r, "exit_code")))
		printf(" (exit %lld)", (long long)json_integer_value(json_object_get(r, "exit_code")));
	putchar('\n');
	if (*s(r, "error"))
		printf("error:      %s\n", s(r, "error"));
	print_command(r);
	if (*s(r, "parent")) {
		xtrk_oid pid;
		/* Shown only as what it must be, a run ID; anything else is named as such. */
		if (xtrk_oid_parse(&pid, json_string_value(json_object_get(r, "parent"))) == 0)
			printf("parent:     %s\n", xtrk_oid_tostr(&pid));
		else {
			xtrk_error_clear();
			printf("parent:     (not a run ID: %s)\n", s(r, "parent"));
		}
	}
	if (json_is_integer(json_object_get(r, "seed")))
		printf("seed:       %lld\n", (long long)json_integer_value(json_object_get(r, "seed")));
	a = json_object_get(r, "tags");
	if (json_array_size(a)) {
		printf("tags:      ");
		json_array_foreach(a, i, v)
			printf(" %s", cli_esc(json_string_value(v)));
		putchar('\n');
	}
	if (json_is_null(json_object_get(src, "commit")))
		printf("source:     %s\n", json_is_null(json_object_get(src, "repository")) ? "no git repository" : "no commit yet");
	else
		printf("source:     %s%s%s%s\n", s(src, "commit"), *s(src, "branch") ? " (" : "", s(src, "branch"),
			*s(src, "branch") ? ")" : "");
	if (json_is_true(json_object_get(src, "dirty")))
		printf("            dirty; uncommitted patch %s\n", *s(src, "patch") ? s(src, "patch") : "(empty)");
	if (json_array_size(json_object_get(src, "untracked")))
		printf("            %zu untracked path%s\n", json_array_size(json_object_get(src, "untracked")),
			json_array_size(json_object_get(src, "untracked")) == 1 ? "" : "s");
	if (json_is_object(json_object_get(src, "untracked_content"))) {
		json_t *u = json_object_get(src, "untracked_content");
		long long files = json_integer_value(json_object_get(u, "files"));
		long long skipped = json_integer_value(json_object_get(u, "skipped_files"));
		printf("            %lld untracked file%s stored%s%s", files, files == 1 ? "" : "s",
			*s(u, "id") ? " as tree " : "", s(u, "id"));
		if (skipped)
			printf("; %lld not captured", skipped);
		putchar('\n');
	}
	json_array_foreach(json_object_get(src, "scripts"), i, v)
		printf("            script from outside the repository: %s (%s)\n", s(v, "path"), s(v, "id"));
	print_kv_section("params", json_object_get(r, "params"));
	json_object_foreach(json_object_get(r, "params_overridden"), k, v) {
		char *was = xtrk_json_dumps(json_object_get(v, "was"), XTRK_JSON_STORE | JSON_ENCODE_ANY);
		printf("  (%s overrides %s from %s, by %s)\n", cli_esc(k), cli_esc(was ? was : "?"),
			*s(v, "from") ? s(v, "from") : "?", s(v, "by"));
		free(was);
	}
	print_kv_section("metrics", json_object_get(r, "metrics"));
	if (*s(r, "series"))
		printf("  (step series %s)\n", s(r, "series"));
	for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++)
		print_data(repo, xtrk_record_groups[g], json_object_get(r, xtrk_record_groups[g]));
	a = json_object_get(r, "outputs_not_attached");
	if (json_array_size(a)) {
		printf("not attached (older than the command):");
		json_array_foreach(a, i, v)
			printf(" %s", cli_esc(json_string_value(v)));
		putchar('\n');
	}
	printf("environment:\n");
	printf("  os           %s %s, %s\n", s(env, "os.name"), s(env, "os.kernel"), s(env, "os.distro"));
	printf("  host         %s (user %s)%s%s\n", s(env, "host"), s(env, "user"),
		*s(env, "container") ? ", container: " : "", s(env, "container"));
	printf("  cpu          %s x %lld\n", s(env, "cpu.model"), (long long)json_integer_value(runfmt_lookup(env, "cpu.cores")));
	{
		char hb[32];
		cli_human_bytes(hb, sizeof(hb), (unsigned long long)json_integer_value(json_object_get(env, "memory_bytes")));
		printf("  memory       %s\n", hb);
	}
	a = json_object_get(env, "gpus");
	json_array_foreach(a, i, v)
		printf("  gpu %-8zu %s, driver %s, CUDA %s\n", i, s(v, "name"), s(v, "driver"),
			*s(v, "cuda") ? s(v, "cuda") : "?");
	if (!json_array_size(a))
		printf("  gpus         none found\n");
	if (json_is_object(json_object_get(env, "python")))
		printf("  python       %s (%zu packages)\n", s(env, "python.version"),
			json_object_size(runfmt_lookup(env, "python.packages")));
	printf("  xtrk         %s\n", s(env, "xtrk"));
	if (json_object_size(json_object_get(env, "vars")))
		print_kv_section("variables", json_object_get(env, "vars"));
	a = json_object_get(r, "notes");
	json_array_foreach(a, i, v)
		if (i < json_array_size(a) - json_array_size(json_object_get(r, "appended_notes")))
			printf("note: %s\n", cli_esc(json_string_value(v)));
	json_array_foreach(json_object_get(r, "appended_notes"), i, v)
		printf("note: %s  (%s, %s)\n", s(v, "text"), s(v, "author"), s(v, "time"));
	if (json_is_string(json_object_get(r, "stage")))
		printf("stage: %s\n", s(r, "stage"));
	json_array_foreach(json_object_get(r, "stages"), i, v) {
		if (!strcmp(s(v, "type"), "stage"))
			printf("staged: %s  (%s, %s)%s%s\n", s(v, "stage"), s(v, "author"), s(v, "time"),
				*s(v, "message") ? ": " : "", s(v, "message"));
		else
			printf("approved: %s  (%s, %s, %s): %s\n", s(v, "stage"), s(v, "signer"), s(v, "time"),
				json_is_true(json_object_get(v, "verified")) ? "signature valid" : "SIGNATURE NOT VALID",
				s(v, "rationale"));
	}
	if (!strcmp(s(r, "status"), "failed"))
		print_stderr_tail(repo, r);
}

/* An archived run: where it is and how to bring it back; -1 when `rev` names none (the first error stands). */
static int show_archived(xtrk_repo *repo, const char *rev, int json)
{
	char *why = strdup(xtrk_error_last());
	xtrk_archived a;
	char when[32], human[32];
	time_t t;
	struct tm tm;

	if (xtrk_archived_resolve(&a, repo, rev) < 0) {
		xtrk_error_clear();
		if (why && *why)
			xtrk_error_set(XTRK_ENOTFOUND, "%s", why);
		free(why);
		return -1;
	}
	free(why);
	t = (time_t)a.time;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:{s:s, s:s, s:I, s:s}}", "id", xtrk_oid_tostr(&a.run), "experiment",
			a.experiment, "archived", "path", a.path, "sha256", a.sha256, "bytes", (json_int_t)a.bytes, "time",
			when);
		cli_print_json(j);
		json_decref(j);
	} else {
		cli_human_bytes(human, sizeof(human), a.bytes);
		printf("run %s (experiment %s) is archived, not in this store:\n", xtrk_oid_tostr(&a.run),
			cli_esc(a.experiment));
		printf("archive:  %s\n", cli_esc(a.path));
		printf("sha256:   %s (%s)\n", a.sha256, human);
		printf("archived: %s\n", when);
		printf("bring it back with: xtrk bundle import %s\n", cli_esc(a.path));
	}
	free(a.path);
	return EXIT_OK;
}

int cmd_show(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	json_t *run = NULL;
	int c, json = 0, err, status = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ? "which run? give RUN" : "give one RUN");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	err = xtrk_run_resolve(&id, repo, argv[optind]);
	if ((err == XTRK_ENOTFOUND || (err == 0 && xtrk_run_check_listed(repo, &id) < 0)) &&
	    (status = show_archived(repo, err == 0 ? xtrk_oid_tostr(&id) : argv[optind], json)) >= 0)
		goto done;
	status = EXIT_OK;
	if (err < 0 || (err = xtrk_run_read(&run, repo, &id)) < 0 ||
	    (err = xtrk_notes_attach_stored(run, repo, &id)) < 0 || (err = xtrk_stages_attach_stored(run, repo, &id)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (json)
		cli_print_json(run);
	else
		print_human(repo, run);
done:
	json_decref(run);
	xtrk_repo_free(repo);
	return status;
}
