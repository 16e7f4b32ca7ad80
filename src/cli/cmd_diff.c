/* xtrk diff: what changed between two runs, or between a run and the workspace as it is now. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runfmt.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/run.h"
#include "xtrk/record.h"
#include "xtrk/workspace.h"

static const char usage[] =
	"usage: xtrk diff [--stat] [--json] [--exit-code] [SECTIONS] RUN1 [RUN2]\n"
	"\n"
	"Compare two runs; without RUN2, compare RUN1 with the workspace as it is now.\n"
	"\n"
	"      --stat        counts only\n"
	"      --json        one JSON document (see xtrk-format(5))\n"
	"      --exit-code   exit 3 when anything differs, 0 when nothing does\n"
	"      --color=WHEN  always, never or auto (default: on a terminal)\n"
	"  sections (default: all):\n"
	"      --params --metrics --data --env --source\n"
	"      (--env also lists every environment key, not a one-line summary)\n"
	"  -h, --help        show this help\n";

enum { OPT_STAT = 256, OPT_JSON, OPT_EXIT_CODE, OPT_PARAMS, OPT_METRICS, OPT_DATA, OPT_ENV, OPT_SOURCE, OPT_COLOR };

/* Run IDs in the header are this many hex digits, for both runs (JSON has them in full). */
#define SHORT_ID 12

static const char *c_add = "", *c_del = "", *c_mod = "", *c_off = "", *c_head = "";

static void print_value(json_t *v)
{
	xtrk_buf b = XTRK_BUF_INIT;
	runfmt_cell(&b, v);
	fputs(v && !json_is_null(v) ? cli_esc(b.ptr ? b.ptr : "") : "(none)", stdout);
	xtrk_buf_dispose(&b);
}

static void print_kv_changes(const char *title, json_t *s, int stat)
{
	json_t *ch = json_object_get(s, "changed"), *ad = json_object_get(s, "added"), *rm = json_object_get(s, "removed");
	size_t n = json_object_size(ch) + json_object_size(ad) + json_object_size(rm);
	const char *k;
	json_t *v;

	if (!n)
		return;
	printf("%s%s:%s %zu changed, %zu added, %zu removed\n", c_head, title, c_off, json_object_size(ch),
		json_object_size(ad), json_object_size(rm));
	if (stat)
		return;
	json_object_foreach(ch, k, v) {
		printf("  %s~ %s: ", c_mod, cli_esc(k));
		print_value(json_array_get(v, 0));
		fputs(" -> ", stdout);
		print_value(json_array_get(v, 1));
		printf("%s\n", c_off);
	}
	json_object_foreach(ad, k, v) {
		printf("  %s+ %s: ", c_add, cli_esc(k));
		print_value(v);
		printf("%s\n", c_off);
	}
	json_object_foreach(rm, k, v) {
		printf("  %s- %s: ", c_del, cli_esc(k));
		print_value(v);
		printf("%s\n", c_off);
	}
}

static void print_metrics(json_t *m, int stat)
{
	const char *k;
	json_t *v;
	if (!json_object_size(m))
		return;
	printf("%smetrics:%s %zu differ\n", c_head, c_off, json_object_size(m));
	if (stat)
		return;
	json_object_foreach(m, k, v) {
		json_t *d = json_object_get(v, "delta");
		printf("  %s: ", cli_esc(k));
		print_value(json_object_get(v, "a"));
		fputs(" -> ", stdout);
		print_value(json_object_get(v, "b"));
		if (json_is_number(d)) {
			char delta[XTRK_DOUBLE_BUFSZ];
			xtrk_double_format(delta, json_number_value(d));
			printf(" (%s%s%s%s)", json_number_value(d) >= 0 ? c_add : c_del, delta[0] == '-' ? "" : "+", delta, c_off);
		}
		putchar('\n');
	}
}

static void print_paths(json_t *arr, const char *mark, const char *color)
{
	size_t i;
	json_t *p;
	json_array_foreach(arr, i, p)
		printf("    %s%s %s%s\n", color, mark, cli_esc(json_string_value(p)), c_off);
}

/* ", 1 modified, 2 added": the counts that are not zero, or "same content". */
static void print_counts(json_t *e)
{
	static const char *const kinds[] = { "modified", "added", "removed" };
	int any = 0;
	for (int k = 0; k < 3; k++) {
		size_t n = json_array_size(json_object_get(e, kinds[k]));
		if (n)
			printf("%s%zu %s", any++ ? ", " : "", n, kinds[k]);
	}
	if (!any)
		fputs("same content", stdout);
}

static void print_bytes(json_t *v)
{
	char b[32] = "-";
	if (json_is_integer(v))
		cli_human_bytes(b, sizeof(b), (unsigned long long)json_integer_value(v));
	fputs(b, stdout);
}

/*
 * One entry of a data section:
 *   added: NAME (PATH): N files; SIZE
 *   removed: NAME (PATH): N files; SIZE
 *   renamed: OLD -> NEW (OLDPATH -> NEWPATH): COUNTS; SIZE -> SIZE
 *   NAME (PATH): COUNTS; SIZE -> SIZE
 * then, unless --stat, the files.
 */
static void print_data_entry(json_t *e, int stat)
{
	const char *change = json_string_value(json_object_get(e, "change")) ?: "modified";
	const char *name = json_string_value(json_object_get(e, "name")) ?: "";
	const char *path = json_string_value(json_object_get(e, "path")) ?: "";
	json_t *from = json_object_get(e, "renamed_from"), *pfrom = json_object_get(e, "path_from");
	int added = !strcmp(change, "added"), removed = !strcmp(change, "removed");

	fputs("  ", stdout);
	if (added || removed) {
		size_t n = json_array_size(json_object_get(e, added ? "added" : "removed"));
		printf("%s%s:%s %s (%s): %zu file%s; ", added ? c_add : c_del, change, c_off, cli_esc(name), cli_esc(path), n,
			n == 1 ? "" : "s");
		print_bytes(json_object_get(e, added ? "bytes_b" : "bytes_a"));
	} else {
		if (json_is_string(from))
			printf("%srenamed:%s %s -> ", c_mod, c_off, cli_esc(json_string_value(from)));
		else if (json_is_string(pfrom))
			printf("%smoved:%s ", c_mod, c_off);
		printf("%s (", cli_esc(name));
		if (json_is_string(pfrom))
			printf("%s -> ", cli_esc(json_string_value(pfrom)));
		printf("%s): ", cli_esc(path));
		print_counts(e);
		if (json_array_size(json_object_get(e, "added")) || json_array_size(json_object_get(e, "removed")) ||
		    json_array_size(json_object_get(e, "modified")) ||
		    !json_equal(json_object_get(e, "bytes_a"), json_object_get(e, "bytes_b"))) {
			fputs("; ", stdout);
			print_bytes(json_object_get(e, "bytes_a"));
			fputs(" -> ", stdout);
			print_bytes(json_object_get(e, "bytes_b"));
		}
	}
	putchar('\n');
	if (stat)
		return;
	print_paths(json_object_get(e, "modified"), "M", c_mod);
	print_paths(json_object_get(e, "added"), "A", c_add);
	print_paths(json_object_get(e, "removed"), "D", c_del);
}

/* A data section: only the entries that differ (the library leaves the others out). */
static void print_data(const char *title, json_t *arr, int stat)
{
	size_t i;
	json_t *e;
	if (!json_array_size(arr))
		return;
	printf("%s%s:%s\n", c_head, title, c_off);
	json_array_foreach(arr, i, e)
		print_data_entry(e, stat);
}

/* The key of the environment that holds a Python package's version. */
#define PACKAGE_PREFIX "python.packages."

static int is_package(const char *key)
{
	return !strncmp(key, PACKAGE_PREFIX, strlen(PACKAGE_PREFIX));
}

/* One environment key in the summary: "python 3.11 -> 3.12", "vars.SEED (none) -> 1". */
static void print_env_key(const char **sep, const char *k, json_t *a, json_t *b)
{
	fputs(*sep, stdout);
	*sep = ", ";
	fputs(!strcmp(k, "python.version") ? "python" : cli_esc(k), stdout);
	putchar(' ');
	print_value(a);
	fputs(" -> ", stdout);
	print_value(b);
}

/*
 * The environment in one line: how many packages differ, then the first few
 * other keys (the Python version first), then how many more; --env lists all.
 */
#define ENV_SUMMARY_KEYS 4

static void print_env_summary(json_t *s)
{
	static const char *const parts[] = { "changed", "added", "removed" };
	size_t npk[3] = { 0 }, total = 0, shown = 0, others = 0;
	json_t *v, *py = json_object_get(json_object_get(s, "changed"), "python.version");
	const char *k, *sep = " ";

	for (int p = 0; p < 3; p++)
		json_object_foreach(json_object_get(s, parts[p]), k, v) {
			if (is_package(k))
				npk[p]++;
			else
				others++;
		}
	total = npk[0] + npk[1] + npk[2];
	if (!total && !others)
		return;
	printf("%senvironment:%s", c_head, c_off);
	if (total) {
		printf("%s%zu package%s changed", sep, total, total == 1 ? "" : "s");
		if (npk[1] || npk[2])
			printf(" (%zu added, %zu removed)", npk[1], npk[2]);
		sep = ", ";
	}
	if (py) {
		print_env_key(&sep, "python.version", json_array_get(py, 0), json_array_get(py, 1));
		shown++;
	}
	for (int p = 0; p < 3; p++)
		json_object_foreach(json_object_get(s, parts[p]), k, v) {
			if (is_package(k) || (p == 0 && v == py) || shown >= ENV_SUMMARY_KEYS)
				continue;
			print_env_key(&sep, k, p == 1 ? NULL : p == 0 ? json_array_get(v, 0) : v, p == 0 ? json_array_get(v, 1)
				: p == 1 ? v : NULL);
			shown++;
		}
	if (others > shown)
		printf(", %zu more", others - shown);
	if (total || others > shown)
		fputs(" (details: --env)", stdout);
	putchar('\n');
}

static void print_source(json_t *s, int stat)
{
	json_t *a = json_object_get(s, "a"), *b = json_object_get(s, "b"), *between = json_object_get(s, "commits_between");
	size_t i;
	json_t *c;
	json_t *u = json_object_get(s, "untracked");
	size_t nu = json_array_size(json_object_get(u, "added")) + json_array_size(json_object_get(u, "removed")) +
		json_array_size(json_object_get(u, "modified"));
	int moved = !json_equal(a, b), patch = json_is_true(json_object_get(s, "patch_changed"));
	if (!moved && !patch && !nu)
		return;
	printf("%ssource:%s", c_head, c_off);
	if (moved) {
		printf(" commit %.12s -> %.12s", json_string_value(a) ? cli_esc(json_string_value(a)) : "(none)",
			json_string_value(b) ? cli_esc(json_string_value(b)) : "(none)");
		if (json_is_integer(between))
			printf(" (%lld commit%s apart)", (long long)json_integer_value(between),
				json_integer_value(between) == 1 ? "" : "s");
		else if (json_is_string(a) && json_is_string(b))
			printf(" (not both in this repository)");
	}
	if (patch)
		printf("%suncommitted changes differ", moved ? "; " : " ");
	if (nu)
		printf("%s%zu untracked file%s differ%s", moved || patch ? "; " : " ", nu, nu == 1 ? "" : "s",
			nu == 1 ? "s" : "");
	putchar('\n');
	if (stat)
		return;
	print_paths(json_object_get(u, "modified"), "M", c_mod);
	print_paths(json_object_get(u, "added"), "A", c_add);
	print_paths(json_object_get(u, "removed"), "D", c_del);
	json_array_foreach(json_object_get(s, "commits"), i, c)
		printf("    %.12s %s\n", cli_esc(json_string_value(json_object_get(c, "id"))),
			cli_esc(json_string_value(json_object_get(c, "subject"))));
}

/*
 * One side of the header: the run's short ID (the same length for both runs)
 * with its experiment and tags, or the workspace.
 */
static void print_side(json_t *run)
{
	const char *exp = json_string_value(json_object_get(run, "experiment"));
	json_t *tags = json_object_get(run, "tags"), *t;
	size_t i;

	if (json_is_true(json_object_get(run, "workspace"))) {
		fputs("workspace (the files as they are now)", stdout);
		return;
	}
	printf("%.*s", SHORT_ID, cli_esc(json_string_value(json_object_get(run, "id")) ?: "?"));
	if (!exp && !json_array_size(tags))
		return;
	printf(" (%s", exp ? cli_esc(exp) : "");
	if (json_array_size(tags))
		printf("%stag%s", exp ? ", " : "", json_array_size(tags) == 1 ? "" : "s");
	json_array_foreach(tags, i, t)
		printf(" %s", cli_esc(json_string_value(t) ?: ""));
	putchar(')');
}

int cmd_diff(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "stat", no_argument, NULL, OPT_STAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
		{ "params", no_argument, NULL, OPT_PARAMS },
		{ "metrics", no_argument, NULL, OPT_METRICS },
		{ "data", no_argument, NULL, OPT_DATA },
		{ "env", no_argument, NULL, OPT_ENV },
		{ "source", no_argument, NULL, OPT_SOURCE },
		{ "color", optional_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const all[] = { "params", "metrics", "datasets", "models", "artifacts", "env", "source" };
	const char *sections[8] = { NULL };
	int want[7] = { 0 }, any = 0, stat = 0, json = 0, exit_code = 0, color = -1, c, err, status = EXIT_OK, ns = 0;
	xtrk_repo *repo = NULL;
	xtrk_txn *dry = NULL;
	xtrk_oid ia, ib;
	json_t *a = NULL, *b = NULL, *d = NULL;
	xtrk_diff_options dopts = { NULL };

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STAT: stat = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_EXIT_CODE: exit_code = 1; break;
		case OPT_PARAMS: want[0] = any = 1; break;
		case OPT_METRICS: want[1] = any = 1; break;
		case OPT_DATA: want[2] = want[3] = want[4] = any = 1; break;
		case OPT_ENV: want[5] = any = 1; break;
		case OPT_SOURCE: want[6] = any = 1; break;
		case OPT_COLOR:
			if (!optarg || !strcmp(optarg, "always"))
				color = 1;
			else if (!strcmp(optarg, "never"))
				color = 0;
			else if (!strcmp(optarg, "auto"))
				color = -1;
			else
				return cli_usage_error(usage, "--color takes always, never or auto");
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(usage, "give RUN1 and optionally RUN2");
	for (int i = 0; i < 7; i++)
		if (!any || want[i])
			sections[ns++] = all[i];
	if (color < 0)
		color = cli_isatty(1) && !getenv("NO_COLOR");
	if (color) {
		c_add = "\033[32m"; c_del = "\033[31m"; c_mod = "\033[33m"; c_off = "\033[0m"; c_head = "\033[1m";
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_run_resolve(&ia, repo, argv[optind])) < 0 || (err = xtrk_run_read(&a, repo, &ia)) < 0)
		goto fail;
	if (argc - optind == 2) {
		if ((err = xtrk_run_resolve(&ib, repo, argv[optind + 1])) < 0 || (err = xtrk_run_read(&b, repo, &ib)) < 0)
			goto fail;
	} else {
		if ((err = xtrk_txn_new_dry(&dry, xtrk_repo_odb(repo))) < 0 ||
		    (err = xtrk_workspace_run(&b, repo, a, dry)) < 0)
			goto fail;
		dopts.dry = dry;
	}
	if ((err = xtrk_diff_runs(&d, repo, a, b, &dopts)) < 0)
		goto fail;
	cli_warnings();
	if (any)
		for (int i = 0; i < 7; i++)
			if (!want[i])
				json_object_del(d, all[i]);
	if (json_is_true(json_object_get(b, "workspace")))
		json_object_set(d, "missing", json_object_get(b, "missing"));
	if (json) {
		cli_print_json(d);
	} else {
		json_t *missing = json_object_get(b, "missing"), *m;
		size_t i;
		int same = !xtrk_diff_has_changes(d, sections) && !json_array_size(missing);
		printf("%sdiff ", c_head);
		print_side(a);
		fputs(" -> ", stdout);
		print_side(b);
		printf("%s%s\n", same ? ": no differences" : "", c_off);
		if (json_object_get(d, "params"))
			print_kv_changes("params", json_object_get(d, "params"), stat);
		if (json_object_get(d, "metrics"))
			print_metrics(json_object_get(d, "metrics"), stat);
		for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++)
			print_data(xtrk_record_groups[g], json_object_get(d, xtrk_record_groups[g]), stat);
		json_array_foreach(missing, i, m)
			printf("  %smissing %s %s%s\n", c_del, cli_esc(json_string_value(json_object_get(m, "section"))),
				cli_esc(json_string_value(json_object_get(m, "path"))), c_off);
		/* The environment in one line, unless --env asks for every key. */
		if (json_object_get(d, "env") && want[5])
			print_kv_changes("environment", json_object_get(d, "env"), stat);
		else if (json_object_get(d, "env"))
			print_env_summary(json_object_get(d, "env"));
		if (json_object_get(d, "source"))
			print_source(json_object_get(d, "source"), stat);
	}
	if (exit_code && (xtrk_diff_has_changes(d, sections) || json_array_size(json_object_get(b, "missing"))))
		status = EXIT_CHECK;
	goto done;
fail:
	status = cli_fail(err);
done:
	json_decref(a);
	json_decref(b);
	json_decref(d);
	xtrk_txn_free(dry);
	xtrk_repo_free(repo);
	return status;
}
