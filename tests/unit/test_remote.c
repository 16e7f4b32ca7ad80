/* Unit tests for remotes: naming them, push and pull through a folder, no-op repeats, verification of what arrives. */
#include <limits.h>
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/bundle.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"
#include "xtrk/remote.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

/* The workspace "a" is the current folder; "b" is a colleague's, "remote" the shared store. */
static xtrk_repo *repo;
static char *model;
#define MODEL_SIZE 600000

static void setup(void)
{
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	mkdir("a", 0777);
	cr_assert_eq(chdir("a"), 0);
	repo = new_repo();
	model = random_bytes(MODEL_SIZE, 9);
	write_file("m.bin", model, MODEL_SIZE);
	mkdir("data", 0777);
	write_text("data/x", "x\n");
	xtrk_warning_clear();
}
static void teardown(void)
{
	free(model);
	xtrk_repo_free(repo);
	tmpdir_leave();
}
TestSuite(remote, .init = setup, .fini = teardown);

static xtrk_oid commit_in(xtrk_repo *r, const char *exp, const char *param, const char *tag)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { param }, *data[] = { "train=data" }, *models[] = { "m.bin" }, *tags[] = { tag };
	xtrk_oid id;
	o.experiment = exp;
	o.params = params;
	o.nparams = 1;
	o.datasets = data;
	o.ndatasets = r == repo;
	o.models = models;
	o.nmodels = r == repo;
	o.tags = tags;
	o.ntags = tag ? 1 : 0;
	cr_assert_eq(xtrk_run_commit(&id, NULL, r, &o), 0, "%s", xtrk_error_last());
	return id;
}

static size_t count_runs(xtrk_repo *r, const char *exp)
{
	xtrk_run_ref *refs;
	size_t n;
	cr_assert_eq(xtrk_refs_list_runs(&refs, &n, r, exp), 0, "%s", xtrk_error_last());
	free(refs);
	return n;
}

static int count_cb(const xtrk_odb_entry *e, void *payload)
{
	(void)e;
	(*(size_t *)payload)++;
	return 0;
}

static size_t count_objects(xtrk_repo *r)
{
	size_t n = 0;
	cr_assert_eq(xtrk_odb_foreach(xtrk_repo_odb(r), count_cb, NULL, &n), 0);
	return n;
}

static xtrk_repo *open_remote_store(void)
{
	xtrk_repo *r;
	cr_assert_eq(xtrk_store_open(&r, "../remote"), 0, "%s", xtrk_error_last());
	return r;
}

static const char *model_hex(void)
{
	return hex_of(model, MODEL_SIZE);
}

Test(remote, add_list_path_and_remove)
{
	xtrk_buf b = XTRK_BUF_INIT, want = XTRK_BUF_INIT;
	char abs[PATH_MAX];
	struct stat st;
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0, "%s", xtrk_error_last());
	cr_assert_eq(stat("../remote/objects", &st), 0, "an absent folder becomes a store");
	cr_assert_not_null(realpath("../remote", abs));
	cr_assert_eq(xtrk_remote_path(&b, repo, "origin"), 0);
	cr_assert_str_eq(b.ptr, abs, "the path is kept absolute");
	xtrk_buf_clear(&b);
	cr_assert_eq(xtrk_remote_list(&b, repo), 0);
	xtrk_buf_printf(&want, "origin\t%s\n", abs);
	cr_assert_str_eq(b.ptr, want.ptr);
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../elsewhere"), XTRK_EEXISTS);
	cr_assert_eq(access("../elsewhere", F_OK), -1, "nothing is created for a refused name");
	cr_assert_eq(xtrk_remote_add(repo, "bad name", "../x"), XTRK_EINVALID);
	cr_assert_eq(xtrk_remote_add(repo, ".hidden", "../x"), XTRK_EINVALID);
	mkdir("../full", 0777);
	write_text("../full/file", "not a store");
	cr_assert_eq(xtrk_remote_add(repo, "full", "../full"), XTRK_EINVALID);
	cr_assert_eq(xtrk_remote_add(repo, "self", ".xtrk"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "own store"), "%s", xtrk_error_last());
	mkdir("../empty", 0777);
	cr_assert_eq(xtrk_remote_add(repo, "second", "../empty"), 0, "%s", xtrk_error_last());
	cr_assert_eq(stat("../empty/refs", &st), 0, "an empty folder becomes a store");
	cr_assert_eq(xtrk_remote_remove(repo, "origin"), 0);
	xtrk_buf_clear(&b);
	cr_assert_eq(xtrk_remote_path(&b, repo, "origin"), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "no remote named 'origin'; remotes: second"), "%s", xtrk_error_last());
	cr_assert_eq(stat("../remote/objects", &st), 0, "removing a remote leaves its store alone");
	cr_assert_eq(xtrk_remote_remove(repo, "origin"), XTRK_ENOTFOUND);
	xtrk_buf_clear(&b);
	cr_assert_eq(xtrk_remote_list(&b, repo), 0);
	cr_assert_eq(strncmp(b.ptr, "second\t", 7), 0, "%s", b.ptr);
	xtrk_buf_dispose(&b);
	xtrk_buf_dispose(&want);
}

Test(remote, push_then_pull_into_a_fresh_store_gives_the_same_runs)
{
	xtrk_oid ids[2] = { commit_in(repo, "e", "lr=0.1", "best"), commit_in(repo, "f", "lr=0.2", NULL) }, tagged, mid;
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	size_t objects, segs, runs;
	uint64_t bytes;
	xtrk_buf x = XTRK_BUF_INIT, y = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 2);
	/* Two runs, the data tree, its file and the model. */
	cr_assert_eq(st.objects_new, 5);
	cr_assert_gt(st.bytes_new, MODEL_SIZE);
	objects = st.objects_new;
	rem = open_remote_store();
	cr_assert_eq(count_runs(rem, "e"), 1);
	cr_assert_eq(count_runs(rem, "f"), 1);
	cr_assert_eq(count_objects(rem), objects);
	xtrk_repo_free(rem);
	/* A second push has nothing to do. */
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 0);
	cr_assert_eq(st.objects_new, 0);
	cr_assert_eq(st.bytes_new, 0);

	b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 2);
	cr_assert_eq(st.objects_new, objects);
	for (int i = 0; i < 2; i++) {
		json_t *here, *there;
		cr_assert_eq(xtrk_run_read(&here, repo, &ids[i]), 0);
		cr_assert_eq(xtrk_run_read(&there, b, &ids[i]), 0, "%s", xtrk_error_last());
		cr_assert(json_equal(here, there), "run %d reads the same in both stores", i);
		json_decref(here);
		json_decref(there);
	}
	cr_assert_eq(xtrk_oid_parse(&mid, model_hex()), 0);
	cr_assert_eq(xtrk_odb_read(&x, NULL, xtrk_repo_odb(repo), &mid, XTRK_OBJ_BLOB), 0);
	cr_assert_eq(xtrk_odb_read(&y, NULL, xtrk_repo_odb(b), &mid, XTRK_OBJ_BLOB), 0);
	cr_assert_eq(y.size, (size_t)MODEL_SIZE);
	cr_assert_eq(memcmp(x.ptr, y.ptr, MODEL_SIZE), 0);
	cr_assert_eq(xtrk_refs_tag_lookup(&tagged, b, "best"), 0, "tags travel with their runs");
	cr_assert_eq(xtrk_oid_cmp(&tagged, &ids[0]), 0);
	cr_assert_eq(xtrk_index_stats(b, &segs, &runs, &bytes), 0);
	cr_assert_eq(runs, 2, "pulled runs are indexed");
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs_new, 0);
	cr_assert_eq(st.objects_new, 0);
	xtrk_buf_dispose(&x);
	xtrk_buf_dispose(&y);
	xtrk_repo_free(b);
}

Test(remote, only_the_runs_named_travel)
{
	xtrk_oid one = commit_in(repo, "e", "lr=0.1", NULL), two = commit_in(repo, "e", "lr=0.2", NULL);
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	const char *revs[1];
	char prefix[9];
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	{
		const char *one_rev[1] = { xtrk_oid_tostr(&one) };
		xtrk_sync_options o = { one_rev, 1, NULL, 0, 0, 0 };
		cr_assert_eq(xtrk_push(&st, repo, "origin", &o), 0, "%s", xtrk_error_last());
	}
	cr_assert_eq(st.runs_new, 1);
	rem = open_remote_store();
	cr_assert_eq(count_runs(rem, NULL), 1);
	xtrk_repo_free(rem);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0);
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 1);
	cr_assert_eq(st.objects_new, 1, "only the second run's record: its data is there already");
	b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	snprintf(prefix, sizeof(prefix), "%.8s", xtrk_oid_tostr(&two));
	revs[0] = prefix;
	cr_assert_eq(xtrk_pull(&st, b, "origin", &(xtrk_sync_options){ revs, 1, NULL, 0, 0, 0 }), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 1);
	cr_assert_eq(count_runs(b, NULL), 1);
	revs[0] = "no-such-run";
	cr_assert_eq(xtrk_pull(&st, b, "origin", &(xtrk_sync_options){ revs, 1, NULL, 0, 0, 0 }), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "remote 'origin'"), "%s", xtrk_error_last());
	cr_assert_eq(xtrk_push(&st, repo, "nowhere", NULL), XTRK_ENOTFOUND);
	cr_assert_eq(xtrk_pull(&st, b, "nowhere", NULL), XTRK_ENOTFOUND);
	xtrk_repo_free(b);
}

Test(remote, pushes_from_two_people_to_one_experiment_both_count)
{
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	xtrk_oid mine = commit_in(repo, "shared", "who=a", NULL), theirs;
	b = new_repo_at("../b");
	theirs = commit_in(b, "shared", "who=b", NULL);
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_push(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs_new, 1);
	rem = open_remote_store();
	cr_assert_eq(count_runs(rem, "shared"), 2);
	xtrk_repo_free(rem);
	cr_assert_eq(xtrk_pull(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 1);
	cr_assert_eq(count_runs(repo, "shared"), 2);
	(void)mine;
	(void)theirs;
	xtrk_repo_free(b);
}

Test(remote, a_tag_taken_on_the_receiving_side_is_left_alone)
{
	xtrk_sync_stats st;
	xtrk_repo *b;
	xtrk_oid mine = commit_in(repo, "e", "who=a", "best"), theirs, got;
	b = new_repo_at("../b");
	theirs = commit_in(b, "e", "who=b", "best");
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	xtrk_warning_clear();
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_refs_tag_lookup(&got, b, "best"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &theirs), 0);
	cr_assert_eq(xtrk_warning_count(), 1);
	cr_assert(strstr(xtrk_warning_get(0), "'best'"), "%s", xtrk_warning_get(0));
	cr_assert_eq(count_runs(b, "e"), 2, "the run came, without the tag");
	(void)mine;
	xtrk_warning_clear();
	xtrk_repo_free(b);
}

Test(remote, a_corrupt_object_on_the_remote_is_refused_whole)
{
	xtrk_sync_stats st;
	xtrk_repo *b;
	char path[128];
	const char *hex = model_hex();
	FILE *f;
	commit_in(repo, "e", "lr=0.1", NULL);
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	snprintf(path, sizeof(path), "../remote/objects/%.2s/%s", hex, hex + 2);
	chmod(path, 0644);
	f = fopen(path, "r+b");
	cr_assert_not_null(f, "%s", path);
	fseek(f, -10, SEEK_END);
	fputc(~model[MODEL_SIZE - 10], f);
	fclose(f);
	b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), XTRK_ECORRUPT, "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), hex), "%s", xtrk_error_last());
	cr_assert_eq(count_runs(b, NULL), 0);
	cr_assert_eq(count_objects(b), 0, "no object of the run is kept either");
	xtrk_repo_free(b);
}

Test(remote, an_invalid_run_record_on_the_remote_is_refused)
{
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	xtrk_txn *txn;
	xtrk_oid good = commit_in(repo, "e", "lr=0.1", NULL), bad;
	json_t *run;
	char *text;
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	/* A run object on the remote whose record points outside the workspace: its ID matches, its content lies. */
	cr_assert_eq(xtrk_run_read_record(&run, repo, &good), 0);
	json_object_del(run, "id");
	json_object_set_new(json_array_get(json_object_get(run, "models"), 0), "path", json_string("../../evil"));
	text = json_dumps(run, JSON_SORT_KEYS | JSON_COMPACT);
	rem = open_remote_store();
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(rem)), 0);
	cr_assert_eq(xtrk_txn_write(&bad, txn, XTRK_OBJ_RUN, text, strlen(text)), 0);
	cr_assert_eq(xtrk_txn_commit(txn), 0);
	xtrk_txn_free(txn);
	cr_assert_eq(xtrk_refs_add_run(rem, "e", &bad), 0);
	xtrk_repo_free(rem);
	free(text);
	json_decref(run);
	b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_lt(xtrk_pull(&st, b, "origin", NULL), 0);
	cr_assert(strstr(xtrk_error_last(), xtrk_oid_tostr(&bad)), "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), "remote 'origin'"), "%s", xtrk_error_last());
	cr_assert_eq(count_runs(b, NULL), 0, "not even the good run: all or nothing");
	cr_assert_eq(count_objects(b), 0);
	xtrk_repo_free(b);
}

Test(remote, a_run_without_its_files_travels_without_them_until_completed)
{
	xtrk_oid id = commit_in(repo, "e", "lr=0.1", NULL), mid;
	xtrk_bundle_options bo = { 0, 1 };
	xtrk_bundle_stats bs;
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	cr_assert_eq(xtrk_oid_parse(&mid, model_hex()), 0);
	/* b gets the run from a bundle made with --no-data, and pushes it on. */
	cr_assert_eq(xtrk_bundle_create(&bs, repo, "../meta.tar", &id, 1, &bo), 0, "%s", xtrk_error_last());
	b = new_repo_at("../b");
	cr_assert_eq(xtrk_bundle_import(&bs, b, "../meta.tar"), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_refs_partial(b, &id), 1);
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs_new, 1);
	rem = open_remote_store();
	cr_assert_eq(xtrk_refs_partial(rem, &id), 1, "the remote knows the run lacks files");
	cr_assert_eq(xtrk_odb_exists(xtrk_repo_odb(rem), &mid), 0);
	xtrk_repo_free(rem);
	/* a has the files: its push completes the run there. */
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs_new, 0);
	cr_assert_eq(st.objects_new, 2, "the data file and the model");
	rem = open_remote_store();
	cr_assert_eq(xtrk_refs_partial(rem, &id), 0);
	cr_assert_eq(xtrk_odb_exists(xtrk_repo_odb(rem), &mid), 1);
	xtrk_repo_free(rem);
	/* And b's pull completes its own copy. */
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.objects_new, 2);
	cr_assert_eq(xtrk_refs_partial(b, &id), 0);
	xtrk_repo_free(b);
}

Test(remote, a_link_planted_in_the_remote_folder_is_refused_and_nothing_is_written_through_it)
{
	static const char *const where[] = { "../remote/objects/pack", "../remote/refs/tags", "../remote/refs/experiments",
		"../remote/objects/tmp" };
	xtrk_sync_stats st;
	struct stat sb;
	commit_in(repo, "e", "lr=0.1", "best");
	mkdir("../outside", 0777);
	for (size_t i = 0; i < sizeof(where) / sizeof(*where); i++) {
		char outside[PATH_MAX];
		cr_assert_not_null(realpath("../outside", outside));
		cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0, "%s", xtrk_error_last());
		cr_assert_eq(rename(where[i], "../moved"), 0, "%s", where[i]);
		cr_assert_eq(symlink(outside, where[i]), 0);
		cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), XTRK_EINVALID, "%s", where[i]);
		cr_assert(strstr(xtrk_error_last(), "symbolic link"), "%s", xtrk_error_last());
		cr_assert(strstr(xtrk_error_last(), where[i] + 2), "%s", xtrk_error_last());
		cr_assert_eq(xtrk_pull(&st, repo, "origin", NULL), XTRK_EINVALID);
		/* nothing under the folder the link leads to */
		cr_assert_eq(rmdir("../outside"), 0, "the push wrote through %s", where[i]);
		mkdir("../outside", 0777);
		unlink(where[i]);
		cr_assert_eq(rename("../moved", where[i]), 0);
		cr_assert_eq(stat(where[i], &sb), 0);
		cr_assert_eq(xtrk_remote_remove(repo, "origin"), 0);
	}
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", NULL), 0, "a clean remote: %s", xtrk_error_last());
}

Test(remote, an_empty_pull_and_an_empty_push_are_fine)
{
	xtrk_sync_stats st;
	xtrk_repo *b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_pull(&st, b, "origin", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 0);
	xtrk_repo_free(b);
}

Test(remote, whole_experiments_travel_and_removed_runs_stay_behind)
{
	xtrk_oid e1 = commit_in(repo, "e", "lr=0.1", NULL), e2 = commit_in(repo, "e", "lr=0.2", NULL),
		 gone = commit_in(repo, "e", "lr=0.3", NULL), f1 = commit_in(repo, "f", "lr=1", NULL);
	const char *exps[] = { "e" }, *rev[] = { "e" }, *bad[] = { "nosuch" };
	xtrk_sync_options by_exp = { NULL, 0, exps, 1, 0, 0 }, newest = { rev, 1, NULL, 0, 0, 0 },
			  none = { NULL, 0, bad, 1, 0, 0 }, all = { NULL, 0, NULL, 0, 1, 0 };
	xtrk_sync_stats st;
	xtrk_repo *b, *rem;
	(void)e1;
	(void)e2;
	(void)f1;
	cr_assert_eq(xtrk_run_remove(repo, &gone, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_remote_add(repo, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_push(&st, repo, "origin", &none), XTRK_ENOTFOUND);
	cr_assert_eq(xtrk_push(&st, repo, "origin", &by_exp), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2, "the live runs of e, not the removed one");
	rem = open_remote_store();
	cr_assert_eq(count_runs(rem, "e"), 2);
	cr_assert_eq(count_runs(rem, NULL), 2);
	xtrk_repo_free(rem);
	cr_assert_eq(xtrk_push(&st, repo, "origin", &all), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 3);
	cr_assert_eq(st.runs_new, 1);
	b = new_repo_at("../b");
	cr_assert_eq(xtrk_remote_add(b, "origin", "../remote"), 0);
	cr_assert_eq(xtrk_pull(&st, b, "origin", &newest), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 1, "an experiment named as a revision is its newest run");
	cr_assert_eq(xtrk_pull(&st, b, "origin", &by_exp), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
	cr_assert_eq(st.runs_new, 1);
	cr_assert_eq(xtrk_pull(&st, b, "origin", &none), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "remote 'origin': experiment 'nosuch' has no runs"), "%s", xtrk_error_last());
	cr_assert_eq(count_runs(b, NULL), 2);
	xtrk_repo_free(b);
}
