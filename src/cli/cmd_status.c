/* xtrk status: does the workspace still match a run? Data drift, changed models, moved source. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/run.h"
#include "xtrk/record.h"
#include "xtrk/workspace.h"

static const char usage[] =
	"usage: xtrk status [--json] [--all] [RUN]\n"
	"\n"
	"Compare the workspace with RUN, or with the newest run that recorded\n"
	"datasets or models: datasets, models and artifacts that drifted or are\n"
	"missing (with the files changed in each), params files that changed, and\n"
	"whether the source moved or has other uncommitted changes.\n"
	"Exit status 3 when anything differs.\n"
	"\n"
	"      --all     list every changed file (default: the first 20 of each entry)\n"
	"      --json    one JSON document\n"
	"  -h, --help    show this help\n";

enum { OPT_JSON = 256, OPT_ALL };

/* Changed files listed per entry unless --all. */
#define LIST_LIMIT 20

struct change {
	const char *label, *path;
};

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

/* The changed files of one modified entry, sorted by path, labelled as git status labels them. */
static void print_changes(json_t *e, int all)
{
	static const char *const lists[][2] = { { "modified", "modified:" }, { "added", "new file:" },
		{ "removed", "deleted:" } };
	size_t n = 0, k = 0, shown;
	struct change *ch;
	for (int l = 0; l < 3; l++)
		n += json_array_size(json_object_get(e, lists[l][0]));
	if (!n || !(ch = calloc(n, sizeof(*ch))))
		return;
	for (int l = 0; l < 3; l++) {
		json_t *p;
		size_t i;
		json_array_foreach(json_object_get(e, lists[l][0]), i, p)
			if (json_string_value(p) && k < n)
				ch[k++] = (struct change){ lists[l][1], json_string_value(p) };
	}
	qsort(ch, k, sizeof(*ch), by_path);
	shown = all || k <= LIST_LIMIT ? k : LIST_LIMIT;
	for (size_t i = 0; i < shown; i++)
		printf("      %-11s %s\n", ch[i].label, cli_esc(ch[i].path));
	if (shown < k)
		printf("      ... and %zu more (--all lists every one)\n", k - shown);
	free(ch);
}

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
		{ "all", no_argument, NULL, OPT_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_txn *dry = NULL;
	xtrk_oid id;
	json_t *run = NULL, *ws = NULL, *d = NULL, *out = NULL;
	xtrk_diff_options dopts = { NULL };
	int c, json = 0, all = 0, err, status = EXIT_OK, dirty = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case OPT_ALL: all = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(usage, "give at most one RUN");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (optind < argc)
		err = xtrk_run_resolve(&id, repo, argv[optind]);
	else
		err = xtrk_workspace_base_run(&id, repo, NULL);
	if (err < 0 || (err = xtrk_run_read(&run, repo, &id)) < 0)
		goto fail;
	if ((err = xtrk_txn_new_dry(&dry, xtrk_repo_odb(repo))) < 0 || (err = xtrk_workspace_run(&ws, repo, run, dry)) < 0)
		goto fail;
	dopts.dry = dry;
	if ((err = xtrk_diff_runs(&d, repo, run, ws, &dopts)) < 0)
		goto fail;
	cli_warnings();
	out = json_pack("{s:s, s:O}", "run", xtrk_oid_tostr(&id), "message",
		json_object_get(run, "message") ? json_object_get(run, "message") : json_null());
	for (int i = 0; i < XTRK_RECORD_NGROUPS; i++)
		json_object_set_new(out, xtrk_record_groups[i], section_state(run, d, json_object_get(ws, "missing"), xtrk_record_groups[i], &dirty));
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
		const char *msg = json_string_value(json_object_get(run, "message"));
		int mlen = msg ? (int)strcspn(msg, "\n") : 0; /* its first line, as git log --oneline shows */
		char *first = msg ? strndup(msg, (size_t)mlen) : NULL;
		printf("on run %.12s%s%s%s (%s, %s)\n", xtrk_oid_tostr(&id), mlen ? " \"" : "", mlen && first ? cli_esc(first) : "",
			mlen ? "\"" : "", cli_esc(json_string_value(json_object_get(run, "experiment"))),
			cli_esc(json_string_value(json_object_get(run, "started"))));
		free(first);
		for (int i = 0; i < XTRK_RECORD_NGROUPS; i++) {
			json_t *e;
			size_t j;
			json_array_foreach(json_object_get(out, xtrk_record_groups[i]), j, e) {
				const char *state = json_string_value(json_object_get(e, "state"));
				printf("  %-9.9s %-16s %-28s %s", xtrk_record_groups[i], cli_esc(json_string_value(json_object_get(e, "name"))),
					cli_esc(json_string_value(json_object_get(e, "path"))), cli_esc(state));
				if (!strcmp(state, "modified"))
					printf(" (%zu modified, %zu added, %zu removed)", json_array_size(json_object_get(e, "modified")),
						json_array_size(json_object_get(e, "added")), json_array_size(json_object_get(e, "removed")));
				putchar('\n');
				if (!strcmp(state, "modified"))
					print_changes(e, all);
			}
		}
		if (json_object_size(pc) || json_object_size(json_object_get(json_object_get(out, "params"), "added")) ||
		    json_object_size(json_object_get(json_object_get(out, "params"), "removed")))
			printf("  params files changed since the run\n");
		if (json_is_true(json_object_get(s, "moved")))
			printf("  source moved: %.12s -> %.12s\n", cli_esc(json_string_value(json_object_get(s, "recorded")) ?: "(none)"),
				cli_esc(json_string_value(json_object_get(s, "head")) ?: "(none)"));
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
