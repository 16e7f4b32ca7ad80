/* xtrk logs: print the output a run's command wrote, as `xtrk run` kept it (verified first). */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/odb.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk logs [--stderr] RUN\n"
	"\n"
	"Print the standard output a run's command wrote (kept by 'xtrk run'), byte for\n"
	"byte as recorded, after checking it against its ID.\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"      --stderr  its standard error instead\n"
	"  -h, --help    show this help\n";

enum { OPT_STDERR = 256 };

int cmd_logs(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "stderr", no_argument, NULL, OPT_STDERR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_run_log which = XTRK_RUN_LOG_STDOUT;
	xtrk_repo *repo = NULL;
	xtrk_oid id, log;
	json_t *run = NULL;
	int c, err = 0, status = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STDERR: which = XTRK_RUN_LOG_STDERR; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ? "which run? give RUN" : "give one RUN");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_run_resolve(&id, repo, argv[optind])) < 0 || (err = xtrk_run_read(&run, repo, &id)) < 0 ||
	    (err = xtrk_run_log_id(&log, repo, run, which)) < 0)
		goto fail;
	if ((err = cli_print_object(repo, &log)) < 0)
		goto fail;
	goto done;
fail:
	status = cli_fail(err);
done:
	json_decref(run);
	xtrk_repo_free(repo);
	return status;
}
