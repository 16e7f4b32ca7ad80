/* xtrk init: create an empty store (.xtrk/) in a folder; running it again is harmless. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "xtrk/fs.h"
#include "xtrk/errors.h"

static const char usage[] =
	"usage: xtrk init [-q] [DIR]\n"
	"\n"
	"Create .xtrk/ in DIR (default: the -C folder, else the current folder).\n"
	"\n"
	"  -q, --quiet   print nothing on success\n"
	"  -h, --help    show this help\n";

int cmd_init(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir;
	xtrk_repo *repo;
	int c, quiet = 0, created, err;

	optind = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(usage, "too many arguments");
	dir = optind < argc ? argv[optind] : cli->workspace ? cli->workspace : ".";
	if ((err = xtrk_mkdir_p(dir)) < 0 || (err = xtrk_repo_init(&repo, dir, &created)) < 0)
		return cli_fail(err);
	if (!quiet)
		printf("%s xtrk store in %s\n", created ? "Initialized empty" : "Reinitialized existing",
			xtrk_repo_dir(repo));
	xtrk_repo_free(repo);
	return EXIT_OK;
}
