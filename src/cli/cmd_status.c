/* xtrk status: does the workspace still match a run? Data drift, changed models, moved source. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk status [--json] [RUN]\n"
	"\n"
	"Compare the workspace with the newest run (or RUN): datasets, models and\n"
	"artifacts that drifted or are missing, params files that changed, and\n"
	"whether the source moved or has other uncommitted changes.\n"
	"Exit status 3 when anything differs.\n"
	"\n"
	"      --json    one JSON document\n"
	"  -h, --help    show this help\n";

enum { OPT_JSON = 256 };

/* Each recorded entry of one section with its state: unchanged, modified or missing. */
static json_t *section_state(json_t *run, json_t *diff, json_t *missing, const char *name, int *dirty)
{
	json_t *out = json_array(), *e;
	size_t i;
	json_array_foreach(json_object_get(run, name), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		json_t *st = json_pack("{s:O, s:O, s:s}", "name", json_object_get(e, "name"), "path",
			json_object_get(e, "path"), "state", "unchanged"), *m, *d;
		size_t j;
		json_array_foreach(missing, j, m)
			if (!strcmp(json_string_value(json_object_get(m, "section")), name) &&
			    !strcmp(json_string_value(json_object_get(m, "name")), n))
				json_object_set_new(st, "state", json_string("missing"));
		json_array_foreach(json_object_get(diff, name), j, d) {
			if (strcmp(json_string_value(json_object_get(d, "name")), n) ||
			    !strcmp(json_string_value(json_object_get(st, "state")), "missing"))
				continue;
			json_object_set_new(st, "state", json_string("modified"));
			json_object_set(st, "added", json_object_get(d, "added"));
			json_object_set(st, "removed", json_object_get(d, "removed"));
			json_object_set(st, "modified", json_object_get(d, "modified"));
		}
		if (strcmp(json_string_value(json_object_get(st, "state")), "unchanged"))
			*dirty = 1;
		json_array_append_new(out, st);
	}
	return out;
}

int cmd_status(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const data[] = { "datasets", "models", "artifacts" };
	xtrk_repo *repo = NULL;
	xtrk_txn *dry = NULL;
	xtrk_oid id;
	json_t *run = NULL, *ws = NULL, *d = NULL, *out = NULL;
	xtrk_diff_options dopts = { NULL };
	int c, json = 0, err, status = EXIT_OK, dirty = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(usage, "give at most one RUN");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (optind < argc) {
		err = xtrk_run_resolve(&id, repo, argv[optind]);
	} else {
		xtrk_run_item *items;
		size_t n;
		if ((err = xtrk_runs_list(&items, &n, repo, NULL)) == 0) {
			if (!n)
				err = xtrk_error_set(XTRK_ENOTFOUND, "no runs yet: record one with 'xtrk commit-run'");
			else
				id = items[0].id;
			xtrk_runs_free(items, n);
		}
	}
	if (err < 0 || (err = xtrk_run_read(&run, repo, &id)) < 0)
		goto fail;
	if ((err = xtrk_txn_new_dry(&dry, xtrk_repo_odb(repo))) < 0 || (err = xtrk_workspace_run(&ws, repo, run, dry)) < 0)
		goto fail;
	dopts.dry = dry;
	if ((err = xtrk_diff_runs(&d, repo, run, ws, &dopts)) < 0)
		goto fail;
	cli_warnings();
	out = json_pack("{s:s}", "run", xtrk_oid_tostr(&id));
	for (int i = 0; i < 3; i++)
		json_object_set_new(out, data[i], section_state(run, d, json_object_get(ws, "missing"), data[i], &dirty));
	json_object_set(out, "params", json_object_get(d, "params"));
	{
		json_t *s = json_object_get(d, "source");
		int moved = !json_equal(json_object_get(s, "a"), json_object_get(s, "b"));
		int patch = json_is_true(json_object_get(s, "patch_changed"));
		json_object_set_new(out, "source", json_pack("{s:O, s:O, s:b, s:b, s:b}", "recorded", json_object_get(s, "a"),
			"head", json_object_get(s, "b"), "moved", moved, "dirty", json_is_true(json_object_get(s, "dirty_b")),
			"patch_changed", patch));
		dirty |= moved || patch || xtrk_diff_has_changes(d, (const char *const[]){ "params", NULL });
	}
	json_object_set_new(out, "clean", json_boolean(!dirty));
	if (json) {
		cli_print_json(out);
	} else {
		json_t *s = json_object_get(out, "source"), *pc = json_object_get(json_object_get(out, "params"), "changed");
		printf("on run %.12s (%s, %s)\n", xtrk_oid_tostr(&id), json_string_value(json_object_get(run, "experiment")),
			json_string_value(json_object_get(run, "started")));
		for (int i = 0; i < 3; i++) {
			json_t *e;
			size_t j;
			json_array_foreach(json_object_get(out, data[i]), j, e) {
				const char *state = json_string_value(json_object_get(e, "state"));
				printf("  %-9.9s %-16s %-28s %s", data[i], json_string_value(json_object_get(e, "name")),
					json_string_value(json_object_get(e, "path")), state);
				if (!strcmp(state, "modified"))
					printf(" (%zu modified, %zu added, %zu removed)", json_array_size(json_object_get(e, "modified")),
						json_array_size(json_object_get(e, "added")), json_array_size(json_object_get(e, "removed")));
				putchar('\n');
			}
		}
		if (json_object_size(pc) || json_object_size(json_object_get(json_object_get(out, "params"), "added")) ||
		    json_object_size(json_object_get(json_object_get(out, "params"), "removed")))
			printf("  params files changed since the run\n");
		if (json_is_true(json_object_get(s, "moved")))
			printf("  source moved: %.12s -> %.12s\n", json_string_value(json_object_get(s, "recorded")) ?: "(none)",
				json_string_value(json_object_get(s, "head")) ?: "(none)");
		if (json_is_true(json_object_get(s, "patch_changed")))
			printf("  uncommitted changes differ from the run's\n");
		printf(dirty ? "the workspace differs from the run\n" : "the workspace matches the run\n");
	}
	status = dirty ? EXIT_CHECK : EXIT_OK;
	goto done;
fail:
	status = cli_fail(err);
done:
	json_decref(out);
	json_decref(run);
	json_decref(ws);
	json_decref(d);
	xtrk_txn_free(dry);
	xtrk_repo_free(repo);
	return status;
}
