/* xtrk bundle create|verify|import: run books that carry runs to another store. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/remote.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk bundle create -o FILE [--with-source] [--no-data] [--no-report] [-e EXP] [RUN...]\n"
	"       xtrk bundle verify [--json] FILE\n"
	"       xtrk bundle import [--json] FILE\n"
	"\n"
	"A bundle is a tar archive (.tar, .tar.gz or .tar.zst, by its name) holding\n"
	"RUNBOOK.md, a JSON summary of each run and every object the runs reach, so a\n"
	"colleague can rebuild them with no access to this store or the git server.\n"
	"\n"
	"create:\n"
	"  -o, --output FILE   the bundle to write (replaced atomically when complete);\n"
	"                      s3://BUCKET/[DIR/]FILE uploads it (import reads one too),\n"
	"                      through the endpoint of an S3 remote on that bucket\n"
	"      --with-source   carry the source commits and their history as a git pack\n"
	"      --no-data       leave out the files of datasets, models and artifacts\n"
	"      --no-report     leave out report.html (the runs as xtrk report shows them)\n"
	"  -e, --experiment EXP  every run of EXP (besides any RUN given)\n"
	"verify: read everything, re-hash every object, check every reference;\n"
	"        each problem is printed on stdout; exit 3 when any.\n"
	"import: verify while staging inside the store, then add all runs at once;\n"
	"        on any problem nothing is added.\n"
	"      --json          print the figures as JSON\n"
	"  -h, --help          show this help\n";

static void stats_json(const xtrk_bundle_stats *s, const char *what)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:b, s:b, s:I}", "result", what, "runs", (json_int_t)s->runs,
		"objects", (json_int_t)s->objects, "bytes", (json_int_t)s->bytes, "source", s->has_source,
		"no_data", s->no_data, "problems", (json_int_t)s->problems);
	if (!strcmp(what, "imported")) {
		json_object_set_new(j, "runs_new", json_integer((json_int_t)s->runs_new));
		json_object_set_new(j, "objects_new", json_integer((json_int_t)s->objects_new));
	}
	cli_print_json(j);
	json_decref(j);
}

static int create(int argc, char **argv, struct cli *cli)
{
	enum { OPT_SOURCE = 256, OPT_NODATA, OPT_NOREPORT };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "with-source", no_argument, NULL, OPT_SOURCE },
		{ "no-data", no_argument, NULL, OPT_NODATA },
		{ "no-report", no_argument, NULL, OPT_NOREPORT },
		{ "experiment", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_bundle_options o = { 0, 0 };
	xtrk_bundle_stats st;
	xtrk_repo *repo = NULL;
	xtrk_oid *ids = NULL;
	xtrk_run_ref *refs = NULL;
	size_t n = 0, nrefs = 0;
	const char *output = NULL, *exp = NULL;
	xtrk_buf tmp = XTRK_BUF_INIT;
	int c, err, status;
	char human[32];

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'e': exp = optarg; break;
		case OPT_SOURCE: o.with_source = 1; break;
		case OPT_NODATA: o.no_data = 1; break;
		case OPT_NOREPORT: o.no_report = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (!output)
		return cli_usage_error(usage, "bundle create needs -o FILE");
	if (optind >= argc && !exp)
		return cli_usage_error(usage, "name the runs to bundle (RUN... or -e EXP)");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (exp && (err = xtrk_refs_list_runs(&refs, &nrefs, repo, exp)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (exp && !nrefs) {
		status = cli_error(EXIT_ERROR, "experiment '%s' has no runs", exp);
		goto done;
	}
	if (!(ids = calloc((size_t)(argc - optind) + nrefs + 1, sizeof(*ids)))) {
		status = cli_fail(xtrk_error_oom());
		goto done;
	}
	for (int i = optind; i < argc; i++) {
		xtrk_oid id;
		int dup = 0;
		if ((err = xtrk_run_resolve(&id, repo, argv[i])) < 0) {
			status = cli_fail(err);
			goto done;
		}
		for (size_t k = 0; k < n; k++)
			dup |= !xtrk_oid_cmp(&ids[k], &id);
		if (!dup)
			ids[n++] = id;
	}
	for (size_t i = 0; i < nrefs; i++) {
		int dup = 0;
		for (size_t k = 0; k < n; k++)
			dup |= !xtrk_oid_cmp(&ids[k], &refs[i].run);
		if (!dup)
			ids[n++] = refs[i].run;
	}
	if (!strncmp(output, "s3://", 5)) {
		/* Written in the store's temporary area, then uploaded. */
		uint64_t sent;
		if ((err = xtrk_s3_bundle_temp(&tmp, repo, output)) < 0 ||
		    (err = xtrk_bundle_create(&st, repo, tmp.ptr, ids, n, &o)) < 0 ||
		    (err = xtrk_s3_bundle_put(&sent, repo, output, tmp.ptr)) < 0) {
			status = cli_fail(err);
			goto done;
		}
	} else if ((err = xtrk_bundle_create(&st, repo, output, ids, n, &o)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	cli_warnings();
	cli_human_bytes(human, sizeof(human), st.bytes);
	fprintf(stderr, "wrote %s: %zu run%s, %zu object%s (%s)%s%s\n", output, st.runs, st.runs == 1 ? "" : "s",
		st.objects, st.objects == 1 ? "" : "s", human, st.has_source ? ", with source" : "",
		st.no_data ? ", without data" : "");
	status = EXIT_OK;
done:
	if (tmp.size)
		unlink(tmp.ptr);
	xtrk_buf_dispose(&tmp);
	free(ids);
	free(refs);
	xtrk_repo_free(repo);
	return status;
}

static void print_problem(const char *what, void *payload)
{
	(void)payload;
	printf("error: %s\n", cli_esc(what));
}

static int read_cmd(int argc, char **argv, struct cli *cli, int import)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_bundle_stats st;
	xtrk_repo *repo = NULL;
	xtrk_buf tmp = XTRK_BUF_INIT;
	int c, json = 0, err, status = EXIT_OK;
	char human[32];

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(usage, "name one bundle file");
	if (!import) {
		if ((err = xtrk_bundle_verify(&st, argv[optind], json ? NULL : print_problem, NULL)) < 0)
			return cli_fail(err);
		fflush(stdout);
		if (json)
			stats_json(&st, st.problems ? "damaged" : "ok");
		cli_human_bytes(human, sizeof(human), st.bytes);
		fprintf(stderr, "%s: %zu run%s, %zu object%s (%s) checked%s: %zu problem%s\n", argv[optind], st.runs,
			st.runs == 1 ? "" : "s", st.objects, st.objects == 1 ? "" : "s", human,
			st.has_source ? ", source pack indexed" : "", st.problems, st.problems == 1 ? "" : "s");
		return st.problems ? EXIT_CHECK : EXIT_OK;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (!strncmp(argv[optind], "s3://", 5)) {
		/* Downloaded into the store's temporary area, then imported as a file is. */
		if ((err = xtrk_s3_bundle_temp(&tmp, repo, argv[optind])) < 0 ||
		    (err = xtrk_s3_bundle_get(repo, argv[optind], tmp.ptr)) < 0 ||
		    (err = xtrk_bundle_import(&st, repo, tmp.ptr)) < 0) {
			status = cli_fail(err);
			goto done;
		}
	} else if ((err = xtrk_bundle_import(&st, repo, argv[optind])) < 0) {
		status = cli_fail(err);
		goto done;
	}
	cli_warnings();
	if (json)
		stats_json(&st, "imported");
	cli_human_bytes(human, sizeof(human), st.bytes);
	fprintf(stderr, "imported %zu run%s (%zu new), %zu object%s (%zu new, %s)%s%s\n", st.runs,
		st.runs == 1 ? "" : "s", st.runs_new, st.objects, st.objects == 1 ? "" : "s", st.objects_new, human,
		st.has_source ? ", source commits" : "", st.no_data ? ", without data" : "");
done:
	if (tmp.size)
		unlink(tmp.ptr);
	xtrk_buf_dispose(&tmp);
	xtrk_repo_free(repo);
	return status;
}

int cmd_bundle(int argc, char **argv, struct cli *cli)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "create"))
		return create(argc - 1, argv + 1, cli);
	if (!strcmp(argv[1], "verify"))
		return read_cmd(argc - 1, argv + 1, cli, 0);
	if (!strcmp(argv[1], "import"))
		return read_cmd(argc - 1, argv + 1, cli, 1);
	return cli_usage_error(usage, "'%s' is not a bundle command (create, verify or import)", argv[1]);
}
