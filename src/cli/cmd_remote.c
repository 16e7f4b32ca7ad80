/* xtrk remote: name the folders (shared or network file systems) or S3 buckets that runs are pushed to and pulled from. */
#include "config.h"
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/remote.h"

static const char usage[] =
	"usage: xtrk remote [list]\n"
	"       xtrk remote add NAME PATH\n"
	"       xtrk remote add NAME s3://BUCKET/PREFIX [--endpoint URL] [--region R]\n"
	"       xtrk remote remove NAME\n"
	"\n"
	"A remote is a folder holding an xtrk store (created by 'add' when the folder\n"
	"is absent or empty), on a shared or network file system, or a prefix of an\n"
	"S3-compatible bucket (credentials from the AWS variables or ~/.aws/credentials,\n"
	"never recorded). See xtrk-remote(1) and xtrk-push(1).\n"
	"      --endpoint URL  the S3 server (http(s)://HOST[:PORT]); default: AWS\n"
	"      --region R      the S3 region; default: us-east-1\n"
	"  -h, --help   show this help\n";

int cmd_remote(int argc, char **argv, struct cli *cli)
{
	xtrk_repo *repo = NULL;
	xtrk_buf out = XTRK_BUF_INIT;
	const char *sub = argc > 1 ? argv[1] : "list";
	const char *endpoint = NULL, *region = NULL;
	int err = 0, status;

	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	/* add's options, after NAME and the address */
	while (!strcmp(sub, "add") && argc > 5 && argc % 2 == 0) {
		const char *opt = argv[argc - 2];
		if (!strcmp(opt, "--endpoint") && !endpoint)
			endpoint = argv[argc - 1];
		else if (!strcmp(opt, "--region") && !region)
			region = argv[argc - 1];
		else
			return cli_usage_error(usage, "unknown option");
		argc -= 2;
	}
	if ((endpoint || region) && strncmp(argv[3], "s3://", 5))
		return cli_usage_error(usage, "--endpoint and --region are for s3:// remotes");
	if (!strcmp(sub, "add") ? argc != 4 : !strcmp(sub, "remove") ? argc != 3 : !strcmp(sub, "list") ? argc > 2 : 1)
		return cli_usage_error(usage, strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "list")
			? "unknown remote command" : "wrong number of arguments");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (!strcmp(sub, "add")) {
		if ((err = !strncmp(argv[3], "s3://", 5) ? xtrk_remote_add_s3(repo, argv[2], argv[3], endpoint, region)
							  : xtrk_remote_add(repo, argv[2], argv[3])) == 0 && (err = xtrk_remote_path(&out, repo, argv[2])) == 0) {
			xtrk_buf key = XTRK_BUF_INIT;
			int lock = 0;
			fprintf(stderr, "remote '%s' is %s\n", cli_esc(argv[2]), cli_esc(out.ptr));
			xtrk_buf_printf(&key, "remote.%s.lock", argv[2]);
			if (!xtrk_buf_oom(&key) && xtrk_repo_config_bool(&lock, repo, key.ptr, 0) == 0 && lock)
				fprintf(stderr, "the server ignores conditional writes: pushes and gc take a lock object "
					"(remote.%s.lock = true)\n", cli_esc(argv[2]));
			xtrk_buf_dispose(&key);
		}
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
