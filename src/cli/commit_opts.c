/* Parsing the options shared by commit-run and run into xtrk_commit_options. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>

#include "commit_opts.h"
#include "xtrk/capture.h"
#include "xtrk/exec.h"
#include "xtrk/errors.h"

enum { OPT_METRIC = 256, OPT_MODEL, OPT_ARTIFACT, OPT_SEED, OPT_NOTE, OPT_TAG, OPT_PARENT, OPT_JSON, OPT_THREADS,
	OPT_FAILED, OPT_PYTHON, OPT_ERROR, OPT_COMMAND_JSON, OPT_CHECK };

const struct option commit_long_opts[] = {
	{ "experiment", required_argument, NULL, 'e' },
	{ "message", required_argument, NULL, 'm' },
	{ "param", required_argument, NULL, 'p' },
	{ "params", required_argument, NULL, 'P' },
	{ "metric", required_argument, NULL, OPT_METRIC },
	{ "metrics", required_argument, NULL, 'M' },
	{ "dataset", required_argument, NULL, 'd' },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "artifact", required_argument, NULL, OPT_ARTIFACT },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "note", required_argument, NULL, OPT_NOTE },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "failed", no_argument, NULL, OPT_FAILED },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "error", required_argument, NULL, OPT_ERROR },
	{ "command-json", required_argument, NULL, OPT_COMMAND_JSON },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int commit_args_take(struct commit_args *a, int c, const char *arg, const char *usage)
{
	long long ll;

	if (!a->start)
		a->start = time(NULL);
	switch (c) {
	case 'e': a->o.experiment = arg; return 1;
	case 'm': a->o.message = arg; return 1;
	case 'p': strlist_push(&a->params, arg); return 1;
	case 'P': strlist_push(&a->pfiles, arg); return 1;
	case OPT_METRIC: strlist_push(&a->metrics, arg); return 1;
	case 'M': strlist_push(&a->mfiles, arg); return 1;
	case 'd': strlist_push(&a->data, arg); return 1;
	case OPT_MODEL: strlist_push(&a->models, arg); return 1;
	case OPT_ARTIFACT: strlist_push(&a->artifacts, arg); return 1;
	case OPT_NOTE: strlist_push(&a->notes, arg); return 1;
	case OPT_TAG: strlist_push(&a->tags, arg); return 1;
	case OPT_PARENT: a->o.parent = arg; return 1;
	case OPT_JSON: a->json = 1; return 1;
	case OPT_FAILED: a->o.failed = 1; return 1;
	case 'q': a->quiet = 1; return 1;
	case OPT_ERROR: if (!a->commit_run) return 0; a->error = arg; return 1;
	case OPT_COMMAND_JSON: if (!a->commit_run) return 0; a->command_json = arg; return 1;
	case OPT_CHECK: if (!a->commit_run) return 0; a->check = 1; return 1;
	case OPT_PYTHON: {
		char *found = xtrk_find_program(arg);
		if (!found)
			return -cli_usage_error(usage, "--python '%s': no such program", arg);
		free(found);
		a->python = arg;
		return 1;
	}
	case OPT_SEED:
		if (cli_parse_ll(arg, &ll) < 0)
			return -cli_usage_error(usage, "--seed '%s' is not a whole number", arg);
		a->o.has_seed = 1;
		a->o.seed = ll;
		return 1;
	case OPT_THREADS:
		if (cli_parse_ll(arg, &ll) < 0 || ll < 1 || ll > 64)
			return -cli_usage_error(usage, "--threads takes a number from 1 to 64");
		a->o.threads = (int)ll;
		return 1;
	default:
		return 0;
	}
}

int commit_args_parse(struct commit_args *a, int argc, char **argv, const char *optstring, const char *usage)
{
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, commit_long_opts, NULL)) != -1) {
		if ((r = commit_args_take(a, c, optarg, usage)) < 0)
			return -r;
		if (r)
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		return cli_usage_error(usage, "unknown option");
	}
	return -1;
}

static void show_progress(const char *what, unsigned long long bytes, unsigned long long files, void *payload)
{
	struct commit_args *a = payload;
	char hb[32];
	if (time(NULL) - a->start < 1)
		return;
	cli_human_bytes(hb, sizeof(hb), bytes);
	fprintf(stderr, "\rsnapshotting %s: %llu file%s, %s   ", what, files, files == 1 ? "" : "s", hb);
	a->progress_shown = 1;
}

void commit_args_finish(struct commit_args *a)
{
	xtrk_commit_options *o = &a->o;
	o->params = a->params.items; o->nparams = a->params.n;
	o->param_files = a->pfiles.items; o->nparam_files = a->pfiles.n;
	o->metrics = a->metrics.items; o->nmetrics = a->metrics.n;
	o->metric_files = a->mfiles.items; o->nmetric_files = a->mfiles.n;
	o->datasets = a->data.items; o->ndatasets = a->data.n;
	o->models = a->models.items; o->nmodels = a->models.n;
	o->artifacts = a->artifacts.items; o->nartifacts = a->artifacts.n;
	o->notes = a->notes.items; o->nnotes = a->notes.n;
	o->tags = a->tags.items; o->ntags = a->tags.n;
	if (!a->quiet && cli_isatty(2)) {
		o->progress = show_progress;
		o->payload = a;
	}
}

void commit_args_report(struct commit_args *a, const xtrk_oid *id, json_t *run)
{
	if (a->progress_shown)
		fputc('\n', stderr);
	if (a->quiet)
		xtrk_warning_clear();
	cli_warnings();
	if (a->json)
		cli_print_json(run);
	else
		printf("%s\n", xtrk_oid_tostr(id));
}

void commit_args_free(struct commit_args *a)
{
	strlist_free(&a->params); strlist_free(&a->pfiles); strlist_free(&a->metrics); strlist_free(&a->mfiles);
	strlist_free(&a->data); strlist_free(&a->models); strlist_free(&a->artifacts); strlist_free(&a->notes);
	strlist_free(&a->tags);
}
