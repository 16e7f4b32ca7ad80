/* Unit tests for diffs: tree walks that skip equal sub-trees, params/metrics/env comparison. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/diff.h"
#include "xtrk/snapshot.h"
#include "xtrk/tree.h"

static xtrk_repo *repo;
static char changes[32][128];
static int nchanges;

static void setup(void)
{
	tmpdir_enter();
	repo = new_repo();
	nchanges = 0;
}
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(diff, .init = setup, .fini = teardown);

static int record(xtrk_change c, const char *path, void *payload)
{
	(void)payload;
	if (nchanges < 32)
		snprintf(changes[nchanges++], sizeof(changes[0]), "%c %s", (char)c, path);
	return 0;
}

static xtrk_snapshot snap(xtrk_txn *txn, const char *path)
{
	xtrk_snapshot s;
	cr_assert_eq(xtrk_snapshot_path(&s, repo, txn, path, NULL), 0, "%s", xtrk_error_last());
	return s;
}

Test(diff, trees_added_removed_modified)
{
	xtrk_txn *t;
	xtrk_snapshot a, b;
	mkdir("d", 0777);
	mkdir("d/same", 0777);
	mkdir("d/gone", 0777);
	write_text("d/same/x", "x");
	write_text("d/gone/y", "y");
	write_text("d/edit", "1");
	cr_assert_eq(xtrk_txn_new(&t, xtrk_repo_odb(repo)), 0);
	a = snap(t, "d");
	cr_assert_eq(xtrk_txn_commit(t), 0);
	xtrk_txn_free(t);
	write_text("d/edit", "2");
	write_text("d/gone/y", "y");
	cr_assert_eq(system("rm -rf d/gone && mkdir d/new && echo z > d/new/z"), 0);
	/* The second side lives only in a dry transaction, like the workspace in 'xtrk diff RUN'. */
	cr_assert_eq(xtrk_txn_new_dry(&t, xtrk_repo_odb(repo)), 0);
	b = snap(t, "d");
	cr_assert_eq(xtrk_tree_diff(xtrk_repo_odb(repo), t, "d", &a.id, 1, &b.id, 1, record, NULL), 0,
		"%s", xtrk_error_last());
	xtrk_txn_free(t);
	cr_assert_eq(nchanges, 3);
	cr_assert_str_eq(changes[0], "M d/edit");
	cr_assert_str_eq(changes[1], "D d/gone/y");
	cr_assert_str_eq(changes[2], "A d/new/z");
}

Test(diff, identical_trees_report_nothing)
{
	xtrk_txn *t;
	xtrk_snapshot a;
	mkdir("d", 0777);
	write_text("d/x", "x");
	cr_assert_eq(xtrk_txn_new(&t, xtrk_repo_odb(repo)), 0);
	a = snap(t, "d");
	cr_assert_eq(xtrk_txn_commit(t), 0);
	xtrk_txn_free(t);
	cr_assert_eq(xtrk_tree_diff(xtrk_repo_odb(repo), NULL, "d", &a.id, 1, &a.id, 1, record, NULL), 0);
	cr_assert_eq(nchanges, 0);
}

Test(diff, dry_transactions_write_nothing)
{
	xtrk_txn *t;
	xtrk_snapshot s;
	size_t big = XTRK_PACK_OBJECT_MAX * 2;
	char *data = random_bytes(big, 9);
	write_file("big", data, big);
	cr_assert_eq(xtrk_txn_new_dry(&t, xtrk_repo_odb(repo)), 0);
	s = snap(t, "big");
	cr_assert_neq(xtrk_txn_commit(t), 0, "a dry transaction cannot be committed");
	xtrk_txn_free(t);
	cr_assert_eq(xtrk_odb_exists(xtrk_repo_odb(repo), &s.id), 0);
	cr_assert_eq(system("test -z \"$(ls .xtrk/objects/tmp)\""), 0);
	free(data);
}

Test(diff, runs_params_metrics_env)
{
	json_t *a = json_pack("{s:s, s:{s:f, s:i}, s:{s:f, s:f}, s:{s:{s:s}, s:[{s:s}]}, s:[], s:[], s:[], s:{}}",
		"id", "a", "params", "lr", 0.1, "bs", 32, "metrics", "acc", 0.5, "loss", 1.0,
		"env", "python", "version", "3.11", "gpus", "cuda", "12.1",
		"datasets", "models", "artifacts", "source");
	json_t *b = json_pack("{s:s, s:{s:f, s:s}, s:{s:f, s:f}, s:{s:{s:s}, s:[{s:s}]}, s:[], s:[], s:[], s:{}}",
		"id", "b", "params", "lr", 0.01, "opt", "adam", "metrics", "acc", 0.75, "loss", 1.0,
		"env", "python", "version", "3.12", "gpus", "cuda", "12.1",
		"datasets", "models", "artifacts", "source");
	json_t *d;
	cr_assert_eq(xtrk_diff_runs(&d, repo, a, b, NULL), 0, "%s", xtrk_error_last());
	json_t *p = json_object_get(d, "params");
	cr_assert_eq(json_real_value(json_array_get(json_object_get(json_object_get(p, "changed"), "lr"), 1)), 0.01);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "added"), "opt")), "adam");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(p, "removed"), "bs")), 32);
	cr_assert_eq(json_object_size(json_object_get(d, "metrics")), 1, "loss did not change");
	cr_assert_eq(json_real_value(json_object_get(json_object_get(json_object_get(d, "metrics"), "acc"), "delta")), 0.25);
	cr_assert_not_null(json_object_get(json_object_get(json_object_get(d, "env"), "changed"), "python.version"));
	cr_assert_null(json_object_get(json_object_get(json_object_get(d, "env"), "changed"), "gpus.0.cuda"));
	cr_assert(xtrk_diff_has_changes(d, NULL));
	cr_assert_not(xtrk_diff_has_changes(d, (const char *const[]){ "datasets", "models", NULL }));
	json_decref(a);
	json_decref(b);
	json_decref(d);
}

static json_t *entry(const char *name, const char *path, const char *id)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", name, "path", path, "kind", "blob", "id", id, "bytes", 1);
}

static json_t *run_with(json_t *datasets)
{
	return json_pack("{s:s, s:{}, s:{}, s:{}, s:o, s:[], s:[], s:{}}", "id", "r", "params", "metrics", "env",
		"datasets", datasets, "models", "artifacts", "source");
}

#define X1 "11111111111111111111111111111111"
#define X2 "22222222222222222222222222222222"
#define X3 "33333333333333333333333333333333"
#define X4 "44444444444444444444444444444444"

Test(diff, entries_pair_by_name_then_path_then_content)
{
	/* same: unchanged; bypath: new name, same path, new content; byid: new name and path, same content;
	 * twin: the same content as byid, after it (so left unpaired); fresh: only in B. */
	json_t *a = run_with(json_pack("[o, o, o, o]", entry("same", "s", X1), entry("bypath", "p", X2),
		entry("byid", "i", X3), entry("twin", "t", X3)));
	json_t *b = run_with(json_pack("[o, o, o, o]", entry("fresh", "f", X4), entry("renamed", "i2", X3),
		entry("other", "p", X4), entry("same", "s", X1)));
	json_t *d, *e;
	cr_assert_eq(xtrk_diff_runs(&d, repo, a, b, NULL), 0, "%s", xtrk_error_last());
	json_t *ds = json_object_get(d, "datasets");
	cr_assert_eq(json_array_size(ds), 4, "the unchanged entry is left out: %s", json_dumps(ds, 0));
	e = json_array_get(ds, 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "other");
	cr_assert_str_eq(json_string_value(json_object_get(e, "renamed_from")), "bypath");
	cr_assert_str_eq(json_string_value(json_object_get(e, "matched_by")), "path");
	cr_assert(json_is_null(json_object_get(e, "path_from")));
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "modified"), 0)), "p");
	e = json_array_get(ds, 1);
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "renamed");
	cr_assert_str_eq(json_string_value(json_object_get(e, "renamed_from")), "byid");
	cr_assert_str_eq(json_string_value(json_object_get(e, "path_from")), "i");
	cr_assert_str_eq(json_string_value(json_object_get(e, "matched_by")), "id");
	cr_assert_eq(json_array_size(json_object_get(e, "modified")) + json_array_size(json_object_get(e, "added")) +
		json_array_size(json_object_get(e, "removed")), 0, "a rename alone lists no files");
	e = json_array_get(ds, 2);
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "twin");
	cr_assert_str_eq(json_string_value(json_object_get(e, "change")), "removed");
	e = json_array_get(ds, 3);
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "fresh");
	cr_assert_str_eq(json_string_value(json_object_get(e, "change")), "added");
	cr_assert(xtrk_diff_has_changes(d, (const char *const[]){ "datasets", NULL }));
	json_decref(d);
	/* A run against itself: nothing, in every section. */
	cr_assert_eq(xtrk_diff_runs(&d, repo, a, a, NULL), 0, "%s", xtrk_error_last());
	cr_assert_not(xtrk_diff_has_changes(d, NULL), "%s", json_dumps(d, JSON_SORT_KEYS));
	json_decref(d);
	json_decref(a);
	json_decref(b);
}
