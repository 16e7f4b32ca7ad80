/* xtrk cat-object: print an object's verified content, its type (-t) or size (-s). */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/fs.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk cat-object [-t | -s | -p] ID\n"
	"\n"
	"Print an object's content (verified against its ID) on stdout.\n"
	"ID is an object ID or ID prefix, or a run (see xtrk-show(1)).\n"
	"\n"
	"  -t, --type     print the type (blob, tree or run)\n"
	"  -s, --size     print the content size in bytes\n"
	"  -p, --pretty   runs as indented JSON; otherwise as -t and -s are not given\n"
	"  -h, --help     show this help\n";

int cmd_cat_object(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "type", no_argument, NULL, 't' },
		{ "size", no_argument, NULL, 's' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	xtrk_otype type;
	uint64_t size;
	int c, mode = 0, err, status = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "tsph", opts, NULL)) != -1) {
		switch (c) {
		case 't': case 's': case 'p':
			if (mode && mode != c)
				return cli_usage_error(usage, "-t, -s and -p go alone");
			mode = c;
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, "give one ID");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (xtrk_oid_parse(&id, argv[optind]) < 0 && (err = xtrk_run_resolve(&id, repo, argv[optind])) < 0) {
		/* Not a run: an object ID prefix, or else unknown as an object (what this command prints). */
		if (err != XTRK_ENOTFOUND || (err = xtrk_odb_find_prefix(&id, xtrk_repo_odb(repo), argv[optind])) < 0) {
			if (err == XTRK_ENOTFOUND)
				xtrk_error_set(err, "unknown object '%s': not an object ID, ID prefix or run (see 'xtrk log')",
					argv[optind]);
			goto fail;
		}
	}
	if ((err = xtrk_odb_stat(&size, &type, xtrk_repo_odb(repo), &id)) < 0)
		goto fail;
	if (mode == 't') {
		printf("%s\n", xtrk_otype_name(type));
		goto done;
	}
	if (mode == 's') {
		printf("%llu\n", (unsigned long long)size);
		goto done;
	}
	if (mode == 'p' && type == XTRK_OBJ_RUN) {
		json_t *run;
		if ((err = xtrk_run_read(&run, repo, &id)) < 0)
			goto fail;
		cli_print_json(run);
		json_decref(run);
		goto done;
	}
	if ((err = cli_print_object(repo, &id)) < 0)
		goto fail;
	goto done;
fail:
	status = cli_fail(err);
done:
	xtrk_repo_free(repo);
	return status;
}
