/* xtrk rm: hide runs from log, export and queries (reversibly), e.g. a run whose record is broken. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk rm RUN...\n"
	"       xtrk rm --restore RUN...\n"
	"       xtrk rm --list\n"
	"\n"
	"Remove runs from the store's listings: log, export, queries and ID prefixes no\n"
	"longer see them.  Their objects and tags are kept, so --restore brings them back.\n"
	"RUN is a run ID, an ID prefix (4+ hex digits) or a tag; a run whose record is\n"
	"unreadable or whose object is missing can be removed by its ID.\n"
	"\n"
	"      --restore   put removed runs back (RUN: an ID or ID prefix of a removed run)\n"
	"      --list      list removed runs: ID and experiment\n"
	"  -h, --help      show this help\n";

/* A run to remove: by tag, or by ID / ID prefix; never an experiment name or EXP~N. */
static int resolve_live(xtrk_oid *out, xtrk_repo *repo, const char *rev)
{
	size_t len = strlen(rev);
	if (xtrk_refs_tag_lookup(out, repo, rev) == 0)
		return 0;
	xtrk_error_clear();
	if (len < 4 || len > XTRK_OID_HEXSZ || !xtrk_oid_is_hex(rev, len))
		return xtrk_error_set(XTRK_EINVALID,
			"'%s' is not a run ID, ID prefix (4+ hex digits) or tag; xtrk rm takes runs, not experiments", rev);
	if (xtrk_run_resolve(out, repo, rev) == 0)
		return 0;
	if (xtrk_removed_resolve(out, repo, rev) == 0)
		return xtrk_error_set(XTRK_ENOTFOUND, "run %s is already removed (see 'xtrk rm --list')", xtrk_oid_tostr(out));
	return xtrk_run_resolve(out, repo, rev);
}

static void say_tags(xtrk_repo *repo, const xtrk_oid *id)
{
	char **names;
	xtrk_oid *targets;
	size_t n, k = 0;
	if (xtrk_refs_tags(&names, &targets, &n, repo) < 0) {
		xtrk_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!xtrk_oid_cmp(&targets[i], id))
			fprintf(stderr, "%s%s", k++ ? " " : "xtrk: note: tags kept, still naming the removed run: ", names[i]);
	if (k)
		fputs("\n", stderr);
	xtrk_refs_tags_free(names, targets, n);
}

int cmd_rm(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "restore", no_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_oid *ids = NULL;
	int c, restore = 0, list = 0, err = 0, status;
	size_t n;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': restore = 1; break;
		case 'l': list = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (list && (restore || optind < argc))
		return cli_usage_error(usage, "--list goes alone");
	if (!list && optind == argc)
		return cli_usage_error(usage, "give at least one run");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (list) {
		xtrk_run_ref *refs;
		if ((err = xtrk_removed_list(&refs, &n, repo)) < 0)
			goto fail;
		for (size_t i = 0; i < n; i++)
			printf("%s  %s\n", xtrk_oid_tostr(&refs[i].run), refs[i].experiment);
		free(refs);
		goto done;
	}
	/* Every name resolved before anything moves: a typo changes nothing. */
	n = (size_t)(argc - optind);
	if (!(ids = calloc(n, sizeof(*ids)))) {
		err = xtrk_error_oom();
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *rev = argv[optind + (int)i];
		if ((err = restore ? xtrk_removed_resolve(&ids[i], repo, rev) : resolve_live(&ids[i], repo, rev)) < 0) {
			if (err == XTRK_EINVALID)
				status = cli_usage_error(usage, "%s", xtrk_error_last());
			goto fail;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t moved;
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !xtrk_oid_cmp(&ids[i], &ids[j]);
		if (dup)
			continue;
		if ((err = restore ? xtrk_run_restore(repo, &ids[i], &moved) : xtrk_run_remove(repo, &ids[i], &moved)) < 0)
			goto fail;
		printf("%s run %s\n", restore ? "restored" : "removed", xtrk_oid_tostr(&ids[i]));
		if (!restore)
			say_tags(repo, &ids[i]);
	}
	goto done;
fail:
	if (status == EXIT_OK)
		status = cli_fail(err);
done:
	free(ids);
	xtrk_repo_free(repo);
	return status;
}
