/* xtrk commit-run: record a run after training, with its data, outputs, params, metrics and environment. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk commit-run [OPTIONS]\n"
	"\n"
	"Record a run; prints its ID.\n"
	"\n"
	"  -e, --experiment NAME     experiment (default: core.experiment, else 'default')\n"
	"  -m, --message TEXT        what this run is\n"
	"  -p, --param KEY=VALUE     a parameter (repeatable; a.b=1 nests)\n"
	"  -P, --params FILE         a JSON or YAML params file (repeatable; kept for checkout)\n"
	"      --metric KEY=VALUE    a final metric (repeatable)\n"
	"  -M, --metrics FILE        JSON or YAML metrics, or a .jsonl step series (repeatable)\n"
	"  -d, --dataset [NAME=]PATH[@SOURCE]   an input, with free-text provenance (repeatable)\n"
	"      --model [NAME=]PATH   an output model (repeatable)\n"
	"      --artifact [NAME=]PATH   another output (repeatable)\n"
	"      --seed N              the random seed (also read from the param 'seed')\n"
	"      --note TEXT           the rationale (repeatable)\n"
	"      --tag NAME            tag the new run (repeatable)\n"
	"      --parent RUN          the run this one varies\n"
	"      --threads N           hashing threads (default: one per core, up to 8)\n"
	"      --json                print the run's JSON instead of its ID\n"
	"  -q, --quiet               no progress or warnings on stderr\n"
	"  -h, --help                show this help\n";

enum { OPT_METRIC = 256, OPT_MODEL, OPT_ARTIFACT, OPT_SEED, OPT_NOTE, OPT_TAG, OPT_PARENT, OPT_JSON, OPT_THREADS };

struct progress {
	time_t start;
	int shown;
};

static void show_progress(const char *what, unsigned long long bytes, unsigned long long files, void *payload)
{
	struct progress *p = payload;
	char hb[32];
	if (time(NULL) - p->start < 1)
		return;
	cli_human_bytes(hb, sizeof(hb), bytes);
	fprintf(stderr, "\rsnapshotting %s: %llu file%s, %s   ", what, files, files == 1 ? "" : "s", hb);
	p->shown = 1;
}

int cmd_commit_run(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
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
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct strlist params = { 0 }, pfiles = { 0 }, metrics = { 0 }, mfiles = { 0 }, data = { 0 },
		models = { 0 }, artifacts = { 0 }, notes = { 0 }, tags = { 0 };
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	struct progress prog = { time(NULL), 0 };
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	json_t *run = NULL;
	long long ll;
	int c, json = 0, quiet = 0, err, status = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "e:m:p:P:M:d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'e': o.experiment = optarg; break;
		case 'm': o.message = optarg; break;
		case 'p': strlist_push(&params, optarg); break;
		case 'P': strlist_push(&pfiles, optarg); break;
		case OPT_METRIC: strlist_push(&metrics, optarg); break;
		case 'M': strlist_push(&mfiles, optarg); break;
		case 'd': strlist_push(&data, optarg); break;
		case OPT_MODEL: strlist_push(&models, optarg); break;
		case OPT_ARTIFACT: strlist_push(&artifacts, optarg); break;
		case OPT_NOTE: strlist_push(&notes, optarg); break;
		case OPT_TAG: strlist_push(&tags, optarg); break;
		case OPT_PARENT: o.parent = optarg; break;
		case OPT_JSON: json = 1; break;
		case 'q': quiet = 1; break;
		case OPT_SEED:
			if (cli_parse_ll(optarg, &ll) < 0) {
				status = cli_usage_error(usage, "--seed '%s' is not a whole number", optarg);
				goto done;
			}
			o.has_seed = 1;
			o.seed = ll;
			break;
		case OPT_THREADS:
			if (cli_parse_ll(optarg, &ll) < 0 || ll < 1 || ll > 64) {
				status = cli_usage_error(usage, "--threads takes a number from 1 to 64");
				goto done;
			}
			o.threads = (int)ll;
			break;
		case 'h': fputs(usage, stdout); goto done;
		default: status = cli_usage_error(usage, "unknown option"); goto done;
		}
	}
	if (optind < argc) {
		status = cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;
	o.params = params.items; o.nparams = params.n;
	o.param_files = pfiles.items; o.nparam_files = pfiles.n;
	o.metrics = metrics.items; o.nmetrics = metrics.n;
	o.metric_files = mfiles.items; o.nmetric_files = mfiles.n;
	o.datasets = data.items; o.ndatasets = data.n;
	o.models = models.items; o.nmodels = models.n;
	o.artifacts = artifacts.items; o.nartifacts = artifacts.n;
	o.notes = notes.items; o.nnotes = notes.n;
	o.tags = tags.items; o.ntags = tags.n;
	if (!quiet && cli_isatty(2)) {
		o.progress = show_progress;
		o.payload = &prog;
	}
	err = xtrk_run_commit(&id, json ? &run : NULL, repo, &o);
	if (prog.shown)
		fputc('\n', stderr);
	if (err < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (quiet)
		xtrk_warning_clear();
	cli_warnings();
	if (json)
		cli_print_json(run);
	else
		printf("%s\n", xtrk_oid_tostr(&id));
done:
	json_decref(run);
	xtrk_repo_free(repo);
	strlist_free(&params); strlist_free(&pfiles); strlist_free(&metrics); strlist_free(&mfiles);
	strlist_free(&data); strlist_free(&models); strlist_free(&artifacts); strlist_free(&notes);
	strlist_free(&tags);
	return status;
}
