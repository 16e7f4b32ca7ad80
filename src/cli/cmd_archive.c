/* xtrk archive: move runs out of the store into a verified bundle, keeping a record of where. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "runlist.h"
#include "xtrk/archive.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/query.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk archive [--force] [--no-source] -o FILE RUN...\n"
	"       xtrk archive [--force] [--no-source] -o FILE --where EXPR [-e EXP]\n"
	"       xtrk archive [--force] [--no-source] -o FILE -e EXP\n"
	"       xtrk archive --list [--json]\n"
	"\n"
	"Move runs out of the store into a bundle (.tar, .tar.gz or .tar.zst, by its\n"
	"name): the bundle is written, made durable, read back and verified; only then\n"
	"are the runs marked archived.  Archived runs leave log, queries and ID\n"
	"prefixes; 'xtrk gc' then removes the objects only they used.  'xtrk show RUN'\n"
	"says where an archived run is; 'xtrk bundle import FILE' brings it back.\n"
	"\n"
	"  -o, --output FILE     the bundle; outside the store, and new unless --force\n"
	"  -e, --experiment EXP  every run of EXP (with --where: the runs of EXP it selects)\n"
	"      --where EXPR      the runs a query selects (as in 'xtrk log --where')\n"
	"      --force           replace an existing FILE (never a recorded archive)\n"
	"      --no-source       leave the source commits out (by default they are carried)\n"
	"      --list            list archived runs: ID, experiment, file, SHA-256\n"
	"      --json            with --list: as JSON\n"
	"  -h, --help            show this help\n";

static int add_id(xtrk_oid **ids, size_t *n, size_t *alloc, const xtrk_oid *id)
{
	for (size_t k = 0; k < *n; k++)
		if (!xtrk_oid_cmp(&(*ids)[k], id))
			return 0;
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 16;
		xtrk_oid *np = realloc(*ids, na * sizeof(*np));
		if (!np)
			return xtrk_error_oom();
		*ids = np;
		*alloc = na;
	}
	(*ids)[(*n)++] = *id;
	return 0;
}

static int select_where(xtrk_oid **ids, size_t *n, size_t *alloc, xtrk_repo *repo, const char *exp, const char *where)
{
	xtrk_index *ix = NULL;
	xtrk_query *q = NULL;
	size_t col;
	int err;

	if ((err = xtrk_query_parse(&q, where, &col)) < 0 || (err = xtrk_index_open(&ix, repo, exp)) < 0 ||
	    (err = xtrk_query_bind(q, ix)) < 0)
		goto done;
	for (size_t i = 0; i < xtrk_index_count(ix) && !err; i++) {
		int m = xtrk_query_match(q, ix, i);
		if (m < 0)
			err = m;
		else if (m)
			err = add_id(ids, n, alloc, xtrk_index_run(ix, i));
	}
done:
	xtrk_query_free(q);
	xtrk_index_free(ix);
	return err;
}

static int list(struct cli *cli, int json)
{
	xtrk_repo *repo = NULL;
	xtrk_archived *a = NULL;
	size_t n = 0;
	int err, status;
	json_t *arr = NULL;

	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_archived_list(&a, &n, repo)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (json && !(arr = json_array())) {
		status = cli_fail(xtrk_error_oom());
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)a[i].time;
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id",
				xtrk_oid_tostr(&a[i].run), "experiment", a[i].experiment, "path", a[i].path, "sha256",
				a[i].sha256, "bytes", (json_int_t)a[i].bytes, "archived", when));
		else
			printf("%s %s %s sha256:%s\n", xtrk_oid_tostr(&a[i].run), cli_esc(a[i].experiment), cli_esc(a[i].path),
				a[i].sha256);
	}
	if (json)
		cli_print_json(arr);
	status = EXIT_OK;
done:
	json_decref(arr);
	xtrk_archived_free(a, n);
	xtrk_repo_free(repo);
	return status;
}

int cmd_archive(int argc, char **argv, struct cli *cli)
{
	enum { OPT_WHERE = 256, OPT_FORCE, OPT_NOSOURCE, OPT_LIST, OPT_JSON };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "experiment", required_argument, NULL, 'e' },
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "no-source", no_argument, NULL, OPT_NOSOURCE },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_archive_options o = { 0, 0 };
	xtrk_archive_result res;
	xtrk_repo *repo = NULL;
	xtrk_oid *ids = NULL;
	xtrk_run_ref *refs = NULL;
	size_t n = 0, alloc = 0, nrefs = 0;
	const char *output = NULL, *exp = NULL, *where = NULL;
	int c, err, status, do_list = 0, json = 0;
	char human[32];

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'e': exp = optarg; break;
		case OPT_WHERE: where = optarg; break;
		case OPT_FORCE: o.force = 1; break;
		case OPT_NOSOURCE: o.no_source = 1; break;
		case OPT_LIST: do_list = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (do_list) {
		if (output || exp || where || optind < argc)
			return cli_usage_error(usage, "--list takes no runs and no -o");
		return list(cli, json);
	}
	if (json)
		return cli_usage_error(usage, "--json goes with --list");
	if (!output)
		return cli_usage_error(usage, "archive needs -o FILE");
	if (optind >= argc && !exp && !where)
		return cli_usage_error(usage, "name the runs to archive (RUN..., --where EXPR or -e EXP)");
	if (optind < argc && (exp || where))
		return cli_usage_error(usage, "give runs, or --where / -e, not both");
	if (where && (status = runlist_check_where(where)) != EXIT_OK)
		return status;
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (where) {
		if ((err = select_where(&ids, &n, &alloc, repo, exp, where)) < 0) {
			status = cli_fail(err);
			goto done;
		}
	} else if (exp) {
		if ((err = xtrk_refs_list_runs(&refs, &nrefs, repo, exp)) < 0) {
			status = cli_fail(err);
			goto done;
		}
		for (size_t i = 0; i < nrefs; i++)
			if ((err = add_id(&ids, &n, &alloc, &refs[i].run)) < 0) {
				status = cli_fail(err);
				goto done;
			}
	}
	for (int i = optind; i < argc; i++) {
		xtrk_oid id;
		xtrk_archived a;
		if ((err = xtrk_run_resolve_listed(&id, repo, argv[i])) == XTRK_ENOTFOUND &&
		    xtrk_archived_resolve(&a, repo, argv[i]) == 0) {
			status = cli_error(EXIT_USAGE, "run %s is already archived in %s; nothing was archived",
				xtrk_oid_tostr(&a.run), cli_esc(a.path));
			free(a.path);
			goto done;
		}
		if (err < 0 || (err = add_id(&ids, &n, &alloc, &id)) < 0) {
			status = err == XTRK_ENOTFOUND || err == XTRK_EINVALID || err == XTRK_EAMBIGUOUS
				? cli_error(EXIT_USAGE, "%s; nothing was archived", xtrk_error_last()) : cli_fail(err);
			goto done;
		}
	}
	if (!n) {
		status = cli_error(EXIT_ERROR, "no run selected; nothing was archived");
		goto done;
	}
	if ((err = xtrk_archive_runs(&res, repo, output, ids, n, &o)) < 0) {
		status = err == XTRK_EINVALID || err == XTRK_EEXISTS
			? cli_error(EXIT_USAGE, "%s; nothing was archived", xtrk_error_last()) : cli_fail(err);
		goto done;
	}
	cli_warnings();
	cli_human_bytes(human, sizeof(human), res.record.bytes);
	fprintf(stderr, "archived %zu run%s to %s (%s, sha256 %s)%s; 'xtrk gc' reclaims their space\n", res.runs,
		res.runs == 1 ? "" : "s", cli_esc(res.record.path), human, res.record.sha256,
		res.has_source ? ", with source" : "");
	xtrk_archive_result_dispose(&res);
	status = EXIT_OK;
done:
	free(ids);
	free(refs);
	xtrk_repo_free(repo);
	return status;
}
