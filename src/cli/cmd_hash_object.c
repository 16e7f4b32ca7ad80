/* xtrk hash-object: print a file's object ID (its XXH3-128), storing it as a blob with -w. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/odb.h"

static const char usage[] =
	"usage: xtrk hash-object [-w [-t TYPE]] [--stdin] FILE...\n"
	"\n"
	"Print each file's ID (the same as 'xxhsum -H2 FILE'). Only regular files:\n"
	"a FIFO, device or socket is refused; read a stream with --stdin.\n"
	"\n"
	"  -w, --write   also store the file as a blob in the workspace's store\n"
	"      --stdin   read the content from standard input, up to its end (its ID first)\n"
	"  -t, --type TYPE  with -w, store it as TYPE: blob (the default), tree or run;\n"
	"                the content is not checked ('xtrk fsck --read-data' does)\n"
	"  -h, --help    show this help\n";

static int hash_fd(xtrk_oid *out, int fd, const char *path)
{
	xtrk_hasher *h = xtrk_hasher_new();
	char *buf = malloc(1 << 20);
	int err = 0;

	if (!h || !buf) {
		err = xtrk_error_oom();
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = xtrk_error_errno("cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		xtrk_hasher_update(h, buf, (size_t)n);
	}
	xtrk_hasher_final(out, h);
done:
	xtrk_hasher_free(h);
	free(buf);
	return err;
}

int cmd_hash_object(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "write", no_argument, NULL, 'w' },
		{ "stdin", no_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_txn *txn = NULL;
	int c, write = 0, from_stdin = 0, nids, err = 0, status = EXIT_OK;
	xtrk_otype type = XTRK_OBJ_BLOB;
	xtrk_oid *ids;

	optind = 0;
	while ((c = getopt_long(argc, argv, "wt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': write = 1; break;
		case 's': from_stdin = 1; break;
		case 't':
			if (!strcmp(optarg, "blob") || !strcmp(optarg, "tree") || !strcmp(optarg, "run"))
				type = optarg[0] == 'b' ? XTRK_OBJ_BLOB : optarg[0] == 't' ? XTRK_OBJ_TREE : XTRK_OBJ_RUN;
			else
				return cli_usage_error(usage, "-t takes blob, tree or run");
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind >= argc && !from_stdin)
		return cli_usage_error(usage, "which file? give FILE, or --stdin");
	if (type != XTRK_OBJ_BLOB && !write)
		return cli_usage_error(usage, "-t goes with -w");
	nids = from_stdin + argc - optind;
	if (!(ids = calloc((size_t)nids, sizeof(*ids))))
		return cli_error(EXIT_ERROR, "out of memory");
	if (write) {
		if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
			goto done;
		if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0)
			goto fail;
	}
	for (int i = 0; i < nids; i++) {
		uint64_t size;
		const char *path = from_stdin && i == 0 ? "standard input" : argv[optind + i - from_stdin];
		/* A path must name a regular file: a FIFO or /dev/zero would block or never end. */
		int fd = from_stdin && i == 0 ? STDIN_FILENO : xtrk_open_regular(path, 0);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		if (write && type != XTRK_OBJ_BLOB) {
			xtrk_buf b = XTRK_BUF_INIT;
			if ((err = xtrk_buf_read_fd(&b, fd, path)) == 0)
				err = xtrk_txn_write(&ids[i], txn, type, b.ptr ? b.ptr : "", b.size);
			xtrk_buf_dispose(&b);
		} else {
			err = write ? xtrk_txn_write_fd(&ids[i], &size, txn, fd, path) : hash_fd(&ids[i], fd, path);
		}
		if (fd != STDIN_FILENO)
			close(fd);
		if (err < 0)
			goto fail;
	}
	if (write && (err = xtrk_txn_commit(txn)) < 0)
		goto fail;
	/* IDs are printed only once every object is durable. */
	for (int i = 0; i < nids; i++)
		printf("%s\n", xtrk_oid_tostr(&ids[i]));
	goto done;
fail:
	status = cli_fail(err);
done:
	free(ids);
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	return status;
}
