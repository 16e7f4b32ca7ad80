/* The xtrk program: global options and the table of subcommands. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/init.h"

static const struct command commands[] = {
	{ "init", cmd_init, "create an empty xtrk store in a folder" },
	{ "commit-run", cmd_commit_run, "record a run: source, params, metrics, data, models, environment" },
	{ "run", cmd_run, "run a command and record it as a run" },
	{ "log", cmd_log, "list runs, newest first" },
	{ "export", cmd_export, "write run summaries as JSON or CSV for other tools" },
	{ "show", cmd_show, "show everything recorded for a run" },
	{ "logs", cmd_logs, "print the output a run's command wrote" },
	{ "series", cmd_series, "the metrics runs logged step by step, with a chart" },
	{ "profile", cmd_profile, "the profiles of a run's datasets or of table files, and leakage" },
	{ "drift", cmd_drift, "how data changed against a base: PSI, KS, missing values, new categories" },
	{ "check", cmd_check, "a CI gate: metric thresholds, leakage and drift; exit 1 when a rule fails" },
	{ "report", cmd_report, "one HTML file showing runs: table, charts, tags and notes" },
	{ "diff", cmd_diff, "what changed between two runs, or a run and the workspace" },
	{ "status", cmd_status, "does the workspace still match a run?" },
	{ "checkout", cmd_checkout, "restore a run's source, data and models" },
	{ "lineage", cmd_lineage, "the graph from raw data through runs to models" },
	{ "bundle", cmd_bundle, "create, verify or import a run book (a self-contained archive)" },
	{ "remote", cmd_remote, "list, add or remove remotes (stores in shared folders)" },
	{ "push", cmd_push, "copy runs and their objects to a remote" },
	{ "pull", cmd_pull, "copy runs and their objects from a remote, verified" },
	{ "tag", cmd_tag, "tag a run, delete or list tags" },
	{ "note", cmd_note, "append a note to a run, or list its notes" },
	{ "stage", cmd_stage, "move a run into a stage (production, ...), or list stages" },
	{ "approve", cmd_approve, "sign an approval of a run for a stage" },
	{ "audit", cmd_audit, "print the hash-chained log of changes, and check it" },
	{ "changelog", cmd_changelog, "every version of a model across runs, and what changed" },
	{ "review", cmd_review, "check the runs' metadata for completeness (for CI)" },
	{ "rm", cmd_rm, "remove runs from listings (reversibly: rm --restore)" },
	{ "fsck", cmd_fsck, "check the store's integrity" },
	{ "retain", cmd_retain, "remove the runs the [retain] rules of the config let go" },
	{ "gc", cmd_gc, "remove what no ref keeps (after a grace period)" },
	{ "archive", cmd_archive, "move runs out to a verified bundle (bundle import brings them back)" },
	{ "du", cmd_du, "the store's size by experiment and kind, and what deduplication saved" },
	{ "count-objects", cmd_du, "the same as du" },
	{ "hash-object", cmd_hash_object, "compute a file's object ID (and store it with -w)" },
	{ "cat-object", cmd_cat_object, "print an object's content, type or size" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: xtrk [-C DIR] [--version] [--help] COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'xtrk COMMAND --help' or 'man xtrk-COMMAND' for a command's options.\n");
}

int main(int argc, char **argv)
{
	struct cli cli = { NULL };
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-C") && i + 1 < argc) {
			cli.workspace = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "-C", 2) && argv[i][2]) {
			cli.workspace = argv[i] + 2;
			i++;
		} else if (!strcmp(argv[i], "--version")) {
			printf("xtrk %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "xtrk: error: unknown option '%s'\n\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(*commands); c++)
		if (!strcmp(argv[i], commands[c].name)) {
			int rc;
			if (xtrk_init() < 0)
				return cli_fail(XTRK_ERROR);
			rc = commands[c].fn(argc - i, argv + i, &cli);
			cli_warnings(); /* what a command left unsaid: e.g. runs a listing had to leave out */
			return rc;
		}
	fprintf(stderr, "xtrk: error: '%s' is not an xtrk command (see 'xtrk --help')\n", argv[i]);
	return EXIT_USAGE;
}
