/* xtrk approve: sign an approval of a run for a stage with an SSH key. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/removed.h"
#include "xtrk/stages.h"

static const char usage[] =
	"usage: xtrk approve RUN --stage NAME --rationale TEXT [--criteria TEXT]\n"
	"                    [--mitigation TEXT] [--key FILE]\n"
	"\n"
	"Sign an approval of a run for a stage: the run ID, the stage, the rationale,\n"
	"criteria and mitigation, the signer (user.email of git config) and the time,\n"
	"signed with 'ssh-keygen -Y sign -n xtrk' using the key of --key or of\n"
	"user.signingkey in git config.  It is verified against .xtrk/allowed_signers;\n"
	"editing any part of it breaks the signature.\n"
	"\n"
	"      --stage NAME        the stage the run is approved for\n"
	"      --rationale TEXT    why (required)\n"
	"      --criteria TEXT     the criteria the run was judged by\n"
	"      --mitigation TEXT   the mitigations required\n"
	"      --key FILE          the private SSH key to sign with\n"
	"  -h, --help              show this help\n";

enum { OPT_STAGE = 256, OPT_RATIONALE, OPT_CRITERIA, OPT_MITIGATION, OPT_KEY };

int cmd_approve(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "stage", required_argument, NULL, OPT_STAGE },
		{ "rationale", required_argument, NULL, OPT_RATIONALE },
		{ "criteria", required_argument, NULL, OPT_CRITERIA },
		{ "mitigation", required_argument, NULL, OPT_MITIGATION },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_approve_options o = { 0 };
	xtrk_repo *repo = NULL;
	xtrk_oid id, rec;
	int c, err = 0, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STAGE: o.stage = optarg; break;
		case OPT_RATIONALE: o.rationale = optarg; break;
		case OPT_CRITERIA: o.criteria = optarg; break;
		case OPT_MITIGATION: o.mitigation = optarg; break;
		case OPT_KEY: o.key = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, argc == optind ? "which run? give RUN" : "give one RUN");
	if (!o.stage)
		return cli_usage_error(usage, "give --stage NAME");
	if (!o.rationale)
		return cli_usage_error(usage, "give --rationale TEXT");
	if (xtrk_stage_name_check(o.stage) < 0)
		return cli_error(EXIT_USAGE, "%s", xtrk_error_last());
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_run_resolve_listed(&id, repo, argv[optind])) < 0 || (err = xtrk_approve(&rec, repo, &id, &o)) < 0) {
		if (err == XTRK_EINVALID)
			status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto fail;
	}
	printf("approved run %.12s for stage %s (approval %.12s)\n", xtrk_oid_tostr(&id), o.stage, xtrk_oid_tostr(&rec));
	goto done;
fail:
	if (status == EXIT_OK)
		status = cli_fail(err);
done:
	xtrk_repo_free(repo);
	return status;
}
