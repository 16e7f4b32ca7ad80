/* xtrk changelog: every version of a model across runs, and what changed with each. */
#include "config.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/changelog.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"

static const char usage[] =
	"usage: xtrk changelog NAME [--json]\n"
	"\n"
	"Every version of model NAME (a --model name, or its path) across the runs,\n"
	"oldest first: the run, its date and message, the model's blob, whether it\n"
	"changed, the metrics that moved against the previous version, and the run's\n"
	"stage moves, approvals (verified, with rationale, criteria and mitigation)\n"
	"and notes.\n"
	"\n"
	"      --json     print it as JSON\n"
	"  -h, --help     show this help\n";

enum { OPT_JSON = 256 };

static void print_value(json_t *v)
{
	if (!v || json_is_null(v)) {
		fputs("-", stdout);
	} else if (json_is_string(v)) {
		fputs(cli_esc(json_string_value(v)), stdout);
	} else {
		char *s = xtrk_json_dumps(v, XTRK_JSON_STORE | JSON_ENCODE_ANY);
		fputs(cli_esc(s ? s : "?"), stdout);
		free(s);
	}
}

static void print_version(json_t *e)
{
	json_t *model = json_object_get(e, "model"), *c, *s;
	const char *k, *msg = json_string_value(json_object_get(e, "message"));
	size_t i;

	printf("version %lld  run %.12s (%s)  %s\n", (long long)json_integer_value(json_object_get(e, "version")),
		json_string_value(json_object_get(e, "run")), cli_esc(json_string_value(json_object_get(e, "experiment"))),
		cli_esc(json_string_value(json_object_get(e, "date"))));
	printf("  model %s  blob %.12s, %lld bytes", cli_esc(json_string_value(json_object_get(model, "path"))),
		json_string_value(json_object_get(model, "id")) ? json_string_value(json_object_get(model, "id")) : "?",
		(long long)json_integer_value(json_object_get(model, "bytes")));
	if (json_object_get(e, "same_as"))
		printf("  (the same as version %lld)", (long long)json_integer_value(json_object_get(e, "same_as")));
	else if (json_integer_value(json_object_get(e, "version")) > 1)
		fputs("  (changed)", stdout);
	putchar('\n');
	if (msg && *msg)
		printf("  message: %s\n", cli_esc(msg));
	json_array_foreach(json_object_get(e, "run_notes"), i, s)
		printf("  rationale: %s\n", cli_esc(json_string_value(s)));
	json_object_foreach(json_object_get(e, "metrics"), k, c) {
		json_t *d = json_object_get(c, "delta");
		printf("  metric %s: ", cli_esc(k));
		print_value(json_object_get(c, "was"));
		fputs(" -> ", stdout);
		print_value(json_object_get(c, "now"));
		if (d && isfinite(json_number_value(d)))
			printf(" (%+g)", json_number_value(d));
		putchar('\n');
	}
	json_array_foreach(json_object_get(e, "stages"), i, s) {
		const char *type = json_string_value(json_object_get(s, "type"));
		if (type && !strcmp(type, "approval")) {
			const char *cr = json_string_value(json_object_get(s, "criteria")),
				   *mi = json_string_value(json_object_get(s, "mitigation"));
			printf("  %s  approved for %s by %s (%s): %s\n", cli_esc(json_string_value(json_object_get(s, "time"))),
				cli_esc(json_string_value(json_object_get(s, "stage"))),
				cli_esc(json_string_value(json_object_get(s, "signer"))),
				json_is_true(json_object_get(s, "verified")) ? "verified" : "NOT VERIFIED",
				cli_esc(json_string_value(json_object_get(s, "rationale"))));
			if (cr && *cr)
				printf("      criteria: %s\n", cli_esc(cr));
			if (mi && *mi)
				printf("      mitigation: %s\n", cli_esc(mi));
		} else {
			const char *m = json_string_value(json_object_get(s, "message"));
			printf("  %s  moved to %s by %s%s%s\n", cli_esc(json_string_value(json_object_get(s, "time"))),
				cli_esc(json_string_value(json_object_get(s, "stage"))),
				cli_esc(json_string_value(json_object_get(s, "author"))), m && *m ? ": " : "", m && *m ? cli_esc(m) : "");
		}
	}
	json_array_foreach(json_object_get(e, "notes"), i, s)
		printf("  %s  note by %s: %s\n", cli_esc(json_string_value(json_object_get(s, "time"))),
			cli_esc(json_string_value(json_object_get(s, "author"))), cli_esc(json_string_value(json_object_get(s, "text"))));
}

int cmd_changelog(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *doc = NULL, *e;
	size_t i;
	int c, json = 0, err, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, "changelog takes one model name");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_changelog(&doc, repo, argv[optind])) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	cli_warnings();
	if (json) {
		cli_print_json(doc);
	} else {
		printf("model %s: %zu version%s\n", cli_esc(argv[optind]), json_array_size(json_object_get(doc, "versions")),
			json_array_size(json_object_get(doc, "versions")) == 1 ? "" : "s");
		json_array_foreach(json_object_get(doc, "versions"), i, e) {
			putchar('\n');
			print_version(e);
		}
	}
done:
	json_decref(doc);
	xtrk_repo_free(repo);
	return status;
}
