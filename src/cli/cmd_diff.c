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
	"  -h, --help        show this help\n";

enum { OPT_STAT = 256, OPT_JSON, OPT_EXIT_CODE, OPT_PARAMS, OPT_METRICS, OPT_DATA, OPT_ENV, OPT_SOURCE, OPT_COLOR };

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

static void print_data(const char *title, json_t *arr, int stat)
{
	size_t i;
	json_t *e;
	if (!json_array_size(arr))
		return;
	printf("%s%s:%s\n", c_head, title, c_off);
	json_array_foreach(arr, i, e) {
		char ba[32] = "-", bb[32] = "-";
		json_t *xa = json_object_get(e, "bytes_a"), *xb = json_object_get(e, "bytes_b");
		if (json_is_integer(xa))
			cli_human_bytes(ba, sizeof(ba), (unsigned long long)json_integer_value(xa));
		if (json_is_integer(xb))
			cli_human_bytes(bb, sizeof(bb), (unsigned long long)json_integer_value(xb));
		printf("  %s (%s): %zu modified, %zu added, %zu removed; %s -> %s\n",
			cli_esc(json_string_value(json_object_get(e, "name"))), cli_esc(json_string_value(json_object_get(e, "path"))),
			json_array_size(json_object_get(e, "modified")), json_array_size(json_object_get(e, "added")),
			json_array_size(json_object_get(e, "removed")), ba, bb);
		if (stat)
			continue;
		print_paths(json_object_get(e, "modified"), "M", c_mod);
		print_paths(json_object_get(e, "added"), "A", c_add);
		print_paths(json_object_get(e, "removed"), "D", c_del);
	}
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
		printf("%sdiff %.12s -> %s%s\n", c_head, xtrk_oid_tostr(&ia),
			json_is_string(json_object_get(d, "b")) ? cli_esc(json_string_value(json_object_get(d, "b"))) : "workspace", c_off);
		if (!xtrk_diff_has_changes(d, sections) && !json_array_size(missing))
			printf("no differences\n");
		if (json_object_get(d, "params"))
			print_kv_changes("params", json_object_get(d, "params"), stat);
		if (json_object_get(d, "metrics"))
			print_metrics(json_object_get(d, "metrics"), stat);
		for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++)
			print_data(xtrk_record_groups[g], json_object_get(d, xtrk_record_groups[g]), stat);
		json_array_foreach(missing, i, m)
			printf("  %smissing %s %s%s\n", c_del, cli_esc(json_string_value(json_object_get(m, "section"))),
				cli_esc(json_string_value(json_object_get(m, "path"))), c_off);
		if (json_object_get(d, "env"))
			print_kv_changes("env", json_object_get(d, "env"), stat);
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
