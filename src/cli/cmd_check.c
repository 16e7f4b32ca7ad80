/* xtrk check: a gate for CI: metric thresholds, leakage and drift, a verdict per rule; exit 1 when any fails. */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/profile.h"
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
	"  [gate \"min\"] METRIC = X   the metric is at least X\n"
	"  [gate \"max\"] METRIC = X   the metric is at most X\n"
	"  gate.leakage (true)        no training and evaluation datasets share rows\n"
	"  gate.drift (true)          with --against, no column drifts over [drift]\n"
	"\n"
	"      --against BASE  compare the datasets' profiles with BASE's (a run)\n"
	"      --format FMT    text (default), json or junit (JUnit XML for CI)\n"
	"  -h, --help          show this help\n";

struct rules {
	json_t *metrics; /* the run's metrics */
	json_t *out;     /* [{name, ok, message}] */
	int bad;
};

static void verdict(struct rules *r, const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void verdict(struct rules *r, const char *name, int ok, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(r->out, json_pack("{s:s, s:b, s:s}", "rule", name, "ok", ok, "message", msg));
	r->bad += !ok;
}

static int metric_rule(const char *name, const char *value, void *payload)
{
	struct rules *r = payload;
	int min = !strncasecmp(name, "gate.min.", 9);
	const char *key = name + 9, *k;
	char *end, rule[300];
	json_t *v, *found = NULL;
	double limit;

	snprintf(rule, sizeof(rule), "%s %s %s", key, min ? ">=" : "<=", value ? value : "");
	errno = 0;
	limit = value ? strtod(value, &end) : NAN;
	if (!value || end == value || *end || !isfinite(limit)) {
		verdict(r, rule, 0, "the limit '%s' is not a number", value ? value : "");
		return 0;
	}
	/* Config names are not case-sensitive: nor is the metric's here. */
	json_object_foreach(r->metrics, k, v)
		if (!strcasecmp(k, key))
			found = v;
	if (!json_is_number(found))
		verdict(r, rule, 0, "the run has no metric '%s'", key);
	else if (min ? json_number_value(found) >= limit : json_number_value(found) <= limit)
		verdict(r, rule, 1, "%s = %.15g", key, json_number_value(found));
	else
		verdict(r, rule, 0, "%s = %.15g, %s %s", key, json_number_value(found), min ? "below" : "above", value);
	return 0;
}

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
		printf("    <testcase classname=\"xtrk.gate\" name=\"");
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
	struct rules r = { NULL, NULL, 0 };
	json_t *rec = NULL, *profiles = NULL, *leaks = NULL, *base = NULL, *v;
	xtrk_oid id;
	int c, err, status, on;
	size_t i, k;

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
	if ((err = xtrk_run_resolve(&id, repo, runarg)) < 0 || (err = xtrk_run_read(&rec, repo, &id)) < 0 ||
	    (err = xtrk_profile_run(&profiles, repo, rec)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	r.metrics = json_object_get(rec, XTRK_REC_METRICS);
	if (!(r.out = json_array())) {
		status = cli_fail(xtrk_error_oom());
		goto done;
	}
	if ((err = xtrk_repo_config_foreach(repo, "^gate\\.(min|max)\\.", metric_rule, &r)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if ((err = xtrk_repo_config_bool(&on, repo, "gate.leakage", 1)) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	if (on) {
		xtrk_leakage_names names;
		long long shared = 0;
		xtrk_leakage_names_load(&names, repo);
		if ((err = xtrk_profile_leakage(&leaks, profiles, &names)) < 0) {
			status = cli_fail(err);
			goto done;
		}
		json_array_foreach(leaks, i, v)
			shared += (long long)json_integer_value(json_object_get(v, "shared"));
		if (shared)
			verdict(&r, "no leakage", 0, "%lld rows shared between training and evaluation data", shared);
		else
			verdict(&r, "no leakage", 1, "%zu training/evaluation pairs share no rows", json_array_size(leaks));
	}
	if ((err = xtrk_repo_config_bool(&on, repo, "gate.drift", 1)) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	if (on && against) {
		xtrk_drift_limits lim;
		json_t *e, *b;
		if ((err = xtrk_drift_limits_load(&lim, repo)) < 0 || (err = xtrk_profile_target(&base, repo, against)) < 0) {
			status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
			goto done;
		}
		json_array_foreach(profiles, i, e) {
			json_array_foreach(base, k, b) {
				const char *bn = json_string_value(json_object_get(b, "name"));
				const char *en = json_string_value(json_object_get(e, "name"));
				json_t *d = NULL;
				char rule[300];
				if (!bn || !en || strcmp(bn, en))
					continue;
				snprintf(rule, sizeof(rule), "no drift in %s", en);
				if ((err = xtrk_profile_drift(&d, json_object_get(b, "profile"), json_object_get(e, "profile"), &lim)) < 0) {
					status = cli_fail(err);
					goto done;
				}
				verdict(&r, rule, !json_integer_value(json_object_get(d, "over")), "%lld columns over the [drift] limits",
					(long long)json_integer_value(json_object_get(d, "over")));
				json_decref(d);
			}
		}
	}
	cli_warnings();
	if (!strcmp(format, "json")) {
		json_t *j = json_pack("{s:s, s:b, s:O}", "run", xtrk_oid_tostr(&id), "ok", !r.bad, "rules", r.out);
		cli_print_json(j);
		json_decref(j);
	} else if (!strcmp(format, "junit")) {
		print_junit(r.out, r.bad, xtrk_oid_tostr(&id));
	} else {
		json_array_foreach(r.out, i, v)
			printf("%s  %s: %s\n", json_is_true(json_object_get(v, "ok")) ? "pass" : "FAIL",
				cli_esc(json_string_value(json_object_get(v, "rule"))),
				cli_esc(json_string_value(json_object_get(v, "message"))));
		printf("%s: %d of %zu rules failed\n", r.bad ? "FAILED" : "passed", r.bad, json_array_size(r.out));
	}
	status = r.bad ? EXIT_ERROR : EXIT_OK;
done:
	json_decref(r.out);
	json_decref(rec);
	json_decref(profiles);
	json_decref(leaks);
	json_decref(base);
	xtrk_repo_free(repo);
	return status;
}
