/* xtrk remote: name the folders (shared or network file systems) that runs are pushed to and pulled from. */
#include "config.h"
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/remote.h"

static const char usage[] =
	"usage: xtrk remote [list]\n"
	"       xtrk remote add NAME PATH\n"
	"       xtrk remote remove NAME\n"
	"\n"
	"A remote is a folder holding an xtrk store (created by 'add' when the folder\n"
	"is absent or empty), on a shared or network file system. See xtrk-push(1).\n"
	"  -h, --help   show this help\n";

int cmd_remote(int argc, char **argv, struct cli *cli)
{
	xtrk_repo *repo = NULL;
	xtrk_buf out = XTRK_BUF_INIT;
	const char *sub = argc > 1 ? argv[1] : "list";
	int err = 0, status;

	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(sub, "add") ? argc != 4 : !strcmp(sub, "remove") ? argc != 3 : !strcmp(sub, "list") ? argc > 2 : 1)
		return cli_usage_error(usage, strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "list")
			? "unknown remote command" : "wrong number of arguments");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (!strcmp(sub, "add")) {
		if ((err = xtrk_remote_add(repo, argv[2], argv[3])) == 0 && (err = xtrk_remote_path(&out, repo, argv[2])) == 0)
			fprintf(stderr, "remote '%s' is %s\n", cli_esc(argv[2]), cli_esc(out.ptr));
	} else if (!strcmp(sub, "remove")) {
		err = xtrk_remote_remove(repo, argv[2]);
	} else if ((err = xtrk_remote_list(&out, repo)) == 0) {
		fputs(cli_esc_ml(out.ptr ? out.ptr : ""), stdout);
	}
	status = err < 0 ? cli_fail(err) : EXIT_OK;
	xtrk_buf_dispose(&out);
	xtrk_repo_free(repo);
	return status;
}
