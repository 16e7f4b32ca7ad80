/* xtrk drift: how data changed against a base, column by column; exit 3 when a change is over its limit. */
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
	"usage: xtrk drift [--json] BASE (RUN | PATH)...\n"
	"\n"
	"Compare the profiles of data with those of BASE (a run or a table file),\n"
	"column by column: the population stability index over the base's\n"
	"histogram bins, the Kolmogorov-Smirnov statistic, the change in the rate of\n"
	"missing values and the values a string column has that the base's did not.\n"
	"Datasets are paired by name (or file name); a side with one profile pairs\n"
	"with each of the other's. Limits: [drift] psi (0.2), ks (0.1), missing\n"
	"(0.05), newCategories (true) in the config. Exit 3 when any is over, or a\n"
	"column of the base was dropped.\n"
	"\n"
	"      --json   the comparison as JSON\n"
	"  -h, --help   show this help\n";

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "";
}

static int same(json_t *a, json_t *b)
{
	const char *an = json_string_value(json_object_get(a, "name")), *bn = json_string_value(json_object_get(b, "name"));
	const char *ap = json_string_value(json_object_get(a, "path")), *bp = json_string_value(json_object_get(b, "path"));
	return (an && bn && !strcmp(an, bn)) || (ap && bp && !strcmp(base_name(ap), base_name(bp)));
}

static void print_cmp(json_t *cmp)
{
	json_t *d = json_object_get(cmp, "drift"), *c, *v;
	size_t i, k;
	printf("%s -> %s: %lld column%s over\n", cli_esc(json_string_value(json_object_get(cmp, "base"))),
		cli_esc(json_string_value(json_object_get(cmp, "name"))),
		(long long)json_integer_value(json_object_get(d, "over")),
		json_integer_value(json_object_get(d, "over")) == 1 ? "" : "s");
	json_array_foreach(json_object_get(d, "columns"), i, c) {
		printf("  %-20s", cli_esc(json_string_value(json_object_get(c, "name"))));
		if (json_is_number(json_object_get(c, "psi")))
			printf(" psi %.4f ks %.4f", json_number_value(json_object_get(c, "psi")),
				json_number_value(json_object_get(c, "ks")));
		printf(" missing %+.4f", json_number_value(json_object_get(c, "missing_change")));
		json_array_foreach(json_object_get(c, "new_categories"), k, v)
			printf("%s%s", k ? "," : " new ", cli_esc(json_string_value(v)));
		json_array_foreach(json_object_get(c, "over"), k, v)
			printf("%s%s", k ? "," : "  OVER ", json_string_value(v));
		putchar('\n');
	}
	json_array_foreach(json_object_get(d, "missing_columns"), i, v)
		printf("  %-20s dropped (only in the base)  OVER\n", cli_esc(json_string_value(v)));
	json_array_foreach(json_object_get(d, "new_columns"), i, v)
		printf("  %-20s new\n", cli_esc(json_string_value(v)));
}

int cmd_drift(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *base = NULL, *cmps = json_array(), *e, *b;
	xtrk_drift_limits lim = { 0.2, 0.1, 0.05, 1 };
	int c, json = 0, err, status = EXIT_OK, files = 0;
	long long over = 0;
	size_t i, k;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); json_decref(cmps); return EXIT_OK;
		default: json_decref(cmps); return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind < 2) {
		json_decref(cmps);
		return cli_usage_error(usage, "name a base and what to compare with it");
	}
	for (int a = optind; a < argc; a++) {
		struct stat st;
		files += stat(argv[a], &st) == 0 && S_ISREG(st.st_mode);
	}
	if (files == argc - optind)
		cli_open_repo_quiet(&repo, cli);
	else if ((status = cli_open_repo(&repo, cli)) != EXIT_OK) {
		json_decref(cmps);
		return status;
	}
	if (repo && (err = xtrk_drift_limits_load(&lim, repo)) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	if ((err = xtrk_profile_target(&base, repo, argv[optind])) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	if (!json_array_size(base)) {
		status = cli_error(EXIT_ERROR, "%s has no profiled datasets", cli_esc(argv[optind]));
		goto done;
	}
	for (int a = optind + 1; a < argc; a++) {
		json_t *cur;
		if ((err = xtrk_profile_target(&cur, repo, argv[a])) < 0) {
			status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
			goto done;
		}
		json_array_foreach(cur, i, e) {
			json_t *match = NULL, *d;
			json_array_foreach(base, k, b)
				if (same(b, e)) {
					match = b;
					break;
				}
			if (!match && (json_array_size(base) == 1 || json_array_size(cur) == 1))
				match = json_array_size(base) == 1 ? json_array_get(base, 0) : NULL;
			if (!match) {
				xtrk_warning_add("%s: no dataset of the base to compare with", json_string_value(json_object_get(e, "name")));
				continue;
			}
			if ((err = xtrk_profile_drift(&d, json_object_get(match, "profile"), json_object_get(e, "profile"), &lim)) < 0) {
				json_decref(cur);
				status = cli_fail(err);
				goto done;
			}
			over += json_integer_value(json_object_get(d, "over"));
			json_array_append_new(cmps, json_pack("{s:O?, s:O?, s:O?, s:O?, s:o}", "base", json_object_get(match, "name"),
				"base_path", json_object_get(match, "path"), "name", json_object_get(e, "name"), "path",
				json_object_get(e, "path"), "drift", d));
		}
		json_decref(cur);
	}
	cli_warnings();
	if (json) {
		json_t *j = json_pack("{s:{s:f, s:f, s:f, s:b}, s:O, s:I}", "limits", "psi", lim.psi, "ks", lim.ks, "missing",
			lim.missing, "newCategories", lim.new_categories, "comparisons", cmps, "over", (json_int_t)over);
		cli_print_json(j);
		json_decref(j);
	} else {
		json_array_foreach(cmps, i, e)
			print_cmp(e);
	}
	status = over ? EXIT_CHECK : EXIT_OK;
done:
	json_decref(base);
	json_decref(cmps);
	xtrk_repo_free(repo);
	return status;
}
