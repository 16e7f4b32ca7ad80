/* xtrk gc: remove the objects no ref keeps, after a grace period; safe while others write. */
#include "config.h"
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/gc.h"
#include "xtrk/remote.h"

static const char usage[] =
	"usage: xtrk gc [--dry-run] [--retain] [--prune=DATE|now|never] [--wait=SECONDS] [--json] [-v]\n"
	"                [--remote=NAME]\n"
	"\n"
	"Remove what no ref keeps: objects no run, tag, note or partial run reaches,\n"
	"packs that are mostly such objects (rewritten with the rest), stale temporary\n"
	"files, and runs removed with 'xtrk rm' longer ago than the grace period.\n"
	"Anything younger than the grace period (gc.pruneExpire, default 2.weeks.ago)\n"
	"or written since gc started is kept.  Safe while other xtrk commands write.\n"
	"\n"
	"  -n, --dry-run       say what would be removed; change nothing\n"
	"      --retain        first remove the runs the [retain] rules let go (xtrk-retain(1))\n"
	"      --prune=DATE    remove unreferenced things older than DATE (now, never,\n"
	"                      YYYY-MM-DD[ HH:MM[:SS]], @UNIXTIME, N.UNIT.ago)\n"
	"      --wait=SECONDS  wait this long for writes in progress (default 60)\n"
	"      --remote=NAME   collect the remote NAME instead of this store (a folder\n"
	"                      remote: the grace period is this store's, or the\n"
	"                      remote's gc.pruneExpire when that is longer; an S3\n"
	"                      remote: the files killed pushes left)\n"
	"      --json          the report as JSON on stdout\n"
	"  -v, --verbose       list each thing removed\n"
	"  -h, --help          show this help\n";

enum { OPT_PRUNE = 256, OPT_JSON, OPT_WAIT, OPT_RETAIN, OPT_REMOTE };

static const char *kind_name(xtrk_gc_kind k)
{
	switch (k) {
	case XTRK_GC_LOOSE: return "object";
	case XTRK_GC_PACK: return "pack";
	case XTRK_GC_TEMP: return "temp";
	case XTRK_GC_REMOVED_RUN: return "removed-run";
	default: return "other";
	}
}

struct report {
	int verbose, json, dry;
	json_t *items;
};

static void on_removed(const xtrk_gc_item *it, void *payload)
{
	struct report *r = payload;
	if (!r->verbose)
		return;
	if (r->json) {
		json_array_append_new(r->items, json_pack("{s:s, s:s, s:I, s:I}", "kind", kind_name(it->kind),
			"what", it->what, "bytes", (json_int_t)it->bytes, "objects", (json_int_t)it->objects));
		return;
	}
	printf("%s %s %s (%llu bytes)\n", r->dry ? "would remove" : "removed", kind_name(it->kind), cli_esc(it->what),
		(unsigned long long)it->bytes);
}

int cmd_gc(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", required_argument, NULL, OPT_PRUNE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "retain", no_argument, NULL, OPT_RETAIN },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_gc_options o;
	xtrk_gc_result r;
	struct report rep = { 0, 0, 0, NULL };
	xtrk_repo *repo = NULL;
	const char *prune = NULL, *remote = NULL;
	int64_t now = (int64_t)time(NULL);
	long long wait;
	json_t *retained = NULL;
	int c, err, status, retain = 0;

	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.dry_run = 1; break;
		case OPT_PRUNE: prune = optarg; break;
		case OPT_JSON: rep.json = 1; break;
		case OPT_RETAIN: retain = 1; break;
		case OPT_WAIT:
			if (cli_parse_ll(optarg, &wait) < 0 || wait < 1 || wait > 86400)
				return cli_usage_error(usage, "--wait takes a number of seconds (1 to 86400)");
			o.wait_ms = (long)wait * 1000;
			break;
		case OPT_REMOTE: remote = optarg; break;
		case 'v': rep.verbose = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (retain && remote)
		return cli_usage_error(usage, "--retain applies this store's rules; it does not go with --remote");
	if (prune && xtrk_gc_parse_expire(&o.expire, prune, now) < 0)
		return cli_usage_error(usage, "--prune: %s", xtrk_error_last());
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (!prune && (err = xtrk_gc_config_expire(&o.expire, repo, now)) < 0)
		goto fail;
	/* The rules first (a bad one stops everything), so that gc sees the runs they removed. */
	if (retain && (status = cli_retain(repo, o.dry_run, rep.json ? &retained : NULL)) != EXIT_OK) {
		xtrk_repo_free(repo);
		return status;
	}
	rep.dry = o.dry_run;
	rep.items = json_array();
	o.removed = on_removed;
	o.payload = &rep;
	if ((err = remote ? xtrk_remote_gc(&r, repo, remote, &o) : xtrk_gc(&r, repo, &o)) < 0)
		goto fail;
	cli_warnings();
	if (rep.json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"dry_run", o.dry_run, "refs", (json_int_t)r.refs, "runs", (json_int_t)r.runs,
			"loose_removed", (json_int_t)r.loose_removed, "loose_bytes", (json_int_t)r.loose_bytes,
			"packs_rewritten", (json_int_t)r.packs_rewritten,
			"pack_objects_removed", (json_int_t)r.pack_objects_removed, "pack_bytes", (json_int_t)r.pack_bytes,
			"temp_removed", (json_int_t)r.temp_removed, "temp_bytes", (json_int_t)r.temp_bytes,
			"removed_runs_expired", (json_int_t)r.removed_runs_expired, "kept_recent", (json_int_t)r.kept_recent,
			"kept_in_packs", (json_int_t)r.kept_in_packs, "bytes_reclaimed", (json_int_t)r.bytes_reclaimed);
		if (j && rep.verbose)
			json_object_set(j, "items", rep.items);
		if (j && retained)
			json_object_set(j, "retain", retained);
		cli_print_json(j);
		json_decref(j);
	} else {
		char total[32], lb[32], pb[32], tb[32];
		const char *verb = o.dry_run ? "would remove" : "removed";
		cli_human_bytes(total, sizeof(total), r.bytes_reclaimed);
		cli_human_bytes(lb, sizeof(lb), r.loose_bytes);
		cli_human_bytes(pb, sizeof(pb), r.pack_bytes);
		cli_human_bytes(tb, sizeof(tb), r.temp_bytes);
		printf("%s %zu loose object%s (%s), %zu object%s from %zu pack%s (%s), %zu temporary file%s (%s); "
		       "%zu removed run%s expired\n", verb,
			r.loose_removed, r.loose_removed == 1 ? "" : "s", lb,
			r.pack_objects_removed, r.pack_objects_removed == 1 ? "" : "s",
			r.packs_rewritten, r.packs_rewritten == 1 ? "" : "s", pb,
			r.temp_removed, r.temp_removed == 1 ? "" : "s", tb,
			r.removed_runs_expired, r.removed_runs_expired == 1 ? "" : "s");
		printf("%s %s; kept %zu runs from %zu refs, %zu unreferenced object%s younger than the grace period, "
		       "%zu in packs that are mostly live\n", o.dry_run ? "would reclaim" : "reclaimed", total, r.runs,
			r.refs, r.kept_recent, r.kept_recent == 1 ? "" : "s", r.kept_in_packs);
	}
	json_decref(rep.items);
	json_decref(retained);
	xtrk_repo_free(repo);
	return EXIT_OK;
fail:
	json_decref(rep.items);
	json_decref(retained);
	status = cli_fail(err);
	xtrk_repo_free(repo);
	return status;
}
