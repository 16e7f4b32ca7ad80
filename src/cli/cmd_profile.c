/* xtrk profile: the profiles of a run's datasets, or of table files, with the rows they share. */
#include "config.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/profile.h"
#include "xtrk/repo.h"

static const char usage[] =
	"usage: xtrk profile [--json] (RUN | PATH...)\n"
	"\n"
	"Print the profiles of a run's datasets (recorded when the run was), or\n"
	"profile table files now (.csv, .tsv, .jsonl, .npy): per column its type, missing\n"
	"values, range, mean and spread, distinct values and the most frequent ones;\n"
	"then the rows training and evaluation datasets share (leakage), the\n"
	"names of each from [leakage] train and eval in the config.\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"      --json   the profiles and the leakage as one JSON object\n"
	"  -h, --help   show this help\n";

int cli_open_repo_quiet(xtrk_repo **out, struct cli *cli)
{
	xtrk_buf ws = XTRK_BUF_INIT;
	int err;
	*out = NULL;
	if ((err = xtrk_repo_discover(&ws, cli->workspace && !getenv("XTRK_DIR") ? cli->workspace : ".")) == 0)
		err = xtrk_repo_open(out, ws.ptr);
	xtrk_buf_dispose(&ws);
	if (err < 0) {
		*out = NULL;
		xtrk_error_clear();
	}
	return 0;
}

static void num(const char *label, json_t *v)
{
	if (json_is_number(v))
		printf(" %s %.6g", label, json_number_value(v));
}

static void print_profile(json_t *e)
{
	json_t *p = json_object_get(e, "profile"), *c, *t;
	xtrk_buf b = XTRK_BUF_INIT;
	size_t i, k;

	xtrk_profile_summary(&b, p);
	printf("dataset %s (%s): %s\n", cli_esc(json_string_value(json_object_get(e, "name"))),
		cli_esc(json_string_value(json_object_get(e, "path"))), b.ptr ? b.ptr : "");
	xtrk_buf_dispose(&b);
	json_array_foreach(json_object_get(p, "columns"), i, c) {
		printf("  %-20s %-6s missing %lld, distinct ~%lld", cli_esc(json_string_value(json_object_get(c, "name"))),
			json_string_value(json_object_get(c, "type")) ? json_string_value(json_object_get(c, "type")) : "?",
			(long long)json_integer_value(json_object_get(c, "missing")),
			(long long)json_integer_value(json_object_get(c, "distinct")));
		num("min", json_object_get(c, "min"));
		num("mean", json_object_get(c, "mean"));
		num("std", json_object_get(c, "std"));
		num("max", json_object_get(c, "max"));
		json_array_foreach(json_object_get(c, "top"), k, t) {
			if (k >= 5)
				break;
			printf("%s%s (%lld)", k ? ", " : " top ", cli_esc(json_string_value(json_object_get(t, "value"))),
				(long long)json_integer_value(json_object_get(t, "count")));
		}
		putchar('\n');
	}
	json_array_foreach(json_object_get(p, "problems"), i, t)
		printf("  problem: %s\n", cli_esc(json_string_value(t)));
}

static void print_leakage(json_t *leaks)
{
	json_t *l, *x;
	size_t i, k;
	json_array_foreach(leaks, i, l) {
		long long n = (long long)json_integer_value(json_object_get(l, "shared"));
		printf("leakage: %s and %s share %s%lld row%s", cli_esc(json_string_value(json_object_get(l, "train"))),
			cli_esc(json_string_value(json_object_get(l, "eval"))),
			json_is_true(json_object_get(l, "exact")) ? "" : "about ", n, n == 1 ? "" : "s");
		json_array_foreach(json_object_get(l, "examples"), k, x)
			printf("%s line %lld = line %lld", k ? "," : "; e.g.",
				(long long)json_integer_value(json_object_get(x, "train_line")),
				(long long)json_integer_value(json_object_get(x, "eval_line")));
		putchar('\n');
	}
}

int cmd_profile(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *all = json_array(), *leaks = NULL, *e;
	xtrk_leakage_names names;
	int c, json = 0, err, status = EXIT_OK, files = 0;
	size_t i;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); json_decref(all); return EXIT_OK;
		default: json_decref(all); return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind >= argc) {
		json_decref(all);
		return cli_usage_error(usage, "name a run or a table file");
	}
	for (int a = optind; a < argc; a++) {
		struct stat st;
		files += stat(argv[a], &st) == 0 && S_ISREG(st.st_mode);
	}
	if (files != argc - optind && argc - optind > 1) {
		json_decref(all);
		return cli_usage_error(usage, "name one run, or table files");
	}
	if (files)
		cli_open_repo_quiet(&repo, cli);
	else if ((status = cli_open_repo(&repo, cli)) != EXIT_OK) {
		json_decref(all);
		return status;
	}
	for (int a = optind; a < argc; a++) {
		json_t *got;
		if ((err = xtrk_profile_target(&got, repo, argv[a])) < 0) {
			status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
			goto done;
		}
		json_array_extend(all, got);
		json_decref(got);
	}
	cli_warnings();
	if (!files && !json_array_size(all))
		fprintf(stderr, "xtrk: run %s has no profiled datasets\n", cli_esc(argv[optind]));
	if (repo)
		xtrk_leakage_names_load(&names, repo);
	else {
		snprintf(names.train, sizeof(names.train), "train*");
		snprintf(names.eval, sizeof(names.eval), "test*,eval*,val*");
	}
	if ((err = xtrk_profile_leakage(&leaks, all, &names)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (json) {
		json_t *j = json_pack("{s:O, s:O}", "datasets", all, "leakage", leaks);
		cli_print_json(j);
		json_decref(j);
	} else {
		json_array_foreach(all, i, e)
			print_profile(e);
		print_leakage(leaks);
	}
done:
	json_decref(all);
	json_decref(leaks);
	xtrk_repo_free(repo);
	return status;
}
