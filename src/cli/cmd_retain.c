/* xtrk retain: what the [retain] rules of .xtrk/config would remove, and why; remove it when asked. */
#include "config.h"
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/retain.h"

static const char usage[] =
	"usage: xtrk retain [--dry-run] [--json]\n"
	"\n"
	"Apply the retention rules of .xtrk/config ([retain]: last, best, metric, order,\n"
	"failedDays, tagged, noted, staged; [retain \"EXP\"] for one experiment): remove\n"
	"the runs some rule makes candidates (beyond the last N, failed more than D days\n"
	"ago) that no keep rule keeps (last N, best N, tagged, noted, staged), as\n"
	"'xtrk rm' does: reversible with 'xtrk rm --restore' until 'xtrk gc' expires them.\n"
	"Each run is listed with why it goes and why no keep rule kept it.\n"
	"\n"
	"  -n, --dry-run   list what would be removed; change nothing\n"
	"      --json      the report as JSON on stdout\n"
	"  -h, --help      show this help\n";

static json_t *str_array(char **s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

struct shown {
	int dry, json;
};

static void show_item(const xtrk_retain_item *it, void *payload)
{
	const struct shown *sh = payload;
	if (sh->json)
		return;
	printf("%s %s  %s  ", sh->dry ? "would remove" : "removed", xtrk_oid_tostr(&it->run), it->experiment);
	for (size_t k = 0; k < it->nreasons; k++)
		printf("%s%s", k ? "; " : "", cli_esc(it->reasons[k]));
	if (it->nnot_kept) {
		printf("; not kept:");
		for (size_t k = 0; k < it->nnot_kept; k++)
			printf("%s %s", k ? ";" : "", cli_esc(it->not_kept[k]));
	}
	putchar('\n');
}

int cli_retain(xtrk_repo *repo, int dry_run, json_t **json_out)
{
	xtrk_retain_plan plan;
	struct shown sh = { dry_run, json_out != NULL };
	size_t removed = 0;
	int err;

	if ((err = xtrk_retain_plan_make(&plan, repo, (int64_t)time(NULL))) < 0) {
		if (err == XTRK_EINVALID)
			return cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		return cli_fail(err);
	}
	cli_warnings();
	if (dry_run) {
		for (size_t i = 0; i < plan.n; i++)
			show_item(&plan.items[i], &sh);
		removed = plan.n;
	} else if ((err = xtrk_retain_apply(&removed, repo, &plan, show_item, &sh)) < 0) {
		xtrk_retain_plan_dispose(&plan);
		return cli_fail(err);
	}
	if (json_out) {
		json_t *runs = json_array();
		for (size_t i = 0; i < plan.n; i++) {
			const xtrk_retain_item *it = &plan.items[i];
			json_array_append_new(runs, json_pack("{s:s, s:s, s:o, s:o}", "id", xtrk_oid_tostr(&it->run),
				"experiment", it->experiment, "reasons", str_array(it->reasons, it->nreasons),
				"not_kept", str_array(it->not_kept, it->nnot_kept)));
		}
		*json_out = json_pack("{s:b, s:b, s:I, s:I, s:I, s:o}", "dry_run", dry_run, "configured", plan.configured,
			"runs", (json_int_t)plan.runs, "removed", (json_int_t)removed,
			"kept_by_rule", (json_int_t)plan.kept_by_rule, "items", runs);
	} else if (!plan.configured) {
		printf("no retention rules in .xtrk/config ([retain], see xtrk-retain(1)): nothing to remove\n");
	} else {
		printf("%s %zu of %zu run%s; %zu kept by a keep rule\n", dry_run ? "would remove" : "removed", removed,
			plan.runs, plan.runs == 1 ? "" : "s", plan.kept_by_rule);
		if (removed && !dry_run)
			printf("removed runs come back with 'xtrk rm --restore RUN' until 'xtrk gc' expires them\n");
	}
	xtrk_retain_plan_dispose(&plan);
	return EXIT_OK;
}

int cmd_retain(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *j = NULL;
	int c, dry = 0, json = 0, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry = 1; break;
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	status = cli_retain(repo, dry, json ? &j : NULL);
	if (status == EXIT_OK && j)
		cli_print_json(j);
	json_decref(j);
	xtrk_repo_free(repo);
	return status;
}
