/* xtrk check: the CI gate (xtrk/gate.h) formatted as text, JSON or JUnit XML; exit 1 when a rule fails. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/gate.h"
#include "xtrk/record.h"
#include "xtrk/repo.h"
#include "xtrk/revision.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk check [--against BASE] [--format text|json|junit] [RUN]\n"
	"\n"
	"Evaluate the rules of [gate] in the config against RUN (default: the newest\n"
	"run of the experiment core.experiment, else 'default'), print a verdict per\n"
	"rule, and exit 1 when any fails:\n"
	"  [gate \"min\"] METRIC = X      the metric is at least X\n"
	"  [gate \"max\"] METRIC = X      the metric is at most X\n"
	"  [gate \"regress\"] METRIC = X  at most X (or X%) worse than the baseline's\n"
	"  [gate \"order\"] METRIC = min  lower is better (max: higher is)\n"
	"  gate.params = P, ...          the params that may differ from the baseline's\n"
	"  gate.require = EXPR           a --where expression the run must match\n"
	"  gate.leakage (true)           no training and evaluation datasets share rows\n"
	"  gate.drift (true)             no column drifts against the baseline's over [drift]\n"
	"\n"
	"      --against BASE  the baseline: a run (ID, tag, experiment) or a stage of the\n"
	"                      run's experiment (stage:NAME, or NAME when no run goes by\n"
	"                      it); default gate.against. One that cannot be found: exit 2\n"
	"      --format FMT    text (default), json or junit (JUnit XML for CI)\n"
	"  -h, --help          show this help\n";

static void xml_text(const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			fputs("&amp;", stdout);
		else if (c == '<')
			fputs("&lt;", stdout);
		else if (c == '>')
			fputs("&gt;", stdout);
		else if (c == '"')
			fputs("&quot;", stdout);
		else if (c < 0x20 && c != '\n' && c != '\t')
			printf("&#xfffd;");
		else
			putchar(c);
	}
}

static void print_junit(json_t *out, int bad, const char *run)
{
	json_t *v;
	size_t i;
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	printf("<testsuites name=\"xtrk check\" tests=\"%zu\" failures=\"%d\">\n", json_array_size(out), bad);
	printf("  <testsuite name=\"xtrk check ");
	xml_text(run);
	printf("\" tests=\"%zu\" failures=\"%d\" errors=\"0\">\n", json_array_size(out), bad);
	json_array_foreach(out, i, v) {
		printf("    <testcase classname=\"xtrk.gate.");
		xml_text(json_string_value(json_object_get(v, "kind")));
		printf("\" name=\"");
		xml_text(json_string_value(json_object_get(v, "rule")));
		printf("\">");
		if (!json_is_true(json_object_get(v, "ok"))) {
			printf("<failure message=\"");
			xml_text(json_string_value(json_object_get(v, "message")));
			printf("\"/>");
		}
		printf("</testcase>\n");
	}
	printf("  </testsuite>\n</testsuites>\n");
}

int cmd_check(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "against", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	const char *against = NULL, *format = "text";
	char runarg[300];
	json_t *rec = NULL, *res = NULL, *rules, *v;
	xtrk_oid id, base;
	int c, err, status, has_base;
	size_t i;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': against = optarg; break;
		case 'f': format = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "junit"))
		return cli_usage_error(usage, "--format is text, json or junit, not '%s'", format);
	if (argc - optind > 1)
		return cli_usage_error(usage, "check takes one run");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (optind < argc)
		snprintf(runarg, sizeof(runarg), "%s", argv[optind]);
	else {
		xtrk_buf e = XTRK_BUF_INIT;
		snprintf(runarg, sizeof(runarg), "%s",
			xtrk_repo_config_string(&e, repo, "core.experiment") == 0 ? e.ptr : "default");
		xtrk_error_clear();
		xtrk_buf_dispose(&e);
	}
	if ((err = xtrk_run_resolve(&id, repo, runarg)) < 0 || (err = xtrk_run_read(&rec, repo, &id)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	/* A baseline asked for and not found is refused: never a pass by default. */
	if ((has_base = xtrk_gate_base(&base, repo, rec, against)) < 0) {
		cli_fail(has_base);
		status = EXIT_USAGE;
		goto done;
	}
	if ((err = xtrk_gate_check(&res, repo, &id, has_base ? &base : NULL)) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	rules = json_object_get(res, "rules");
	cli_warnings();
	if (!strcmp(format, "json")) {
		cli_print_json(res);
	} else if (!strcmp(format, "junit")) {
		print_junit(rules, (int)json_integer_value(json_object_get(res, "failed")), xtrk_oid_tostr(&id));
	} else {
		if (has_base)
			printf("baseline %s\n", xtrk_oid_tostr(&base));
		json_array_foreach(rules, i, v)
			printf("%s  %s: %s\n", json_is_true(json_object_get(v, "ok")) ? "pass" : "FAIL",
				cli_esc(json_string_value(json_object_get(v, "rule"))),
				cli_esc(json_string_value(json_object_get(v, "message"))));
		printf("%s: %lld of %zu rules failed\n", json_is_true(json_object_get(res, "ok")) ? "passed" : "FAILED",
			(long long)json_integer_value(json_object_get(res, "failed")), json_array_size(rules));
	}
	status = json_is_true(json_object_get(res, "ok")) ? EXIT_OK : EXIT_ERROR;
done:
	json_decref(rec);
	json_decref(res);
	xtrk_repo_free(repo);
	return status;
}
