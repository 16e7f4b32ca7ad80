/* Unit tests for checkout: files restored byte for byte, links in the target never followed, content verified, source. */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "helpers.h"
#include "xtrk/checkout.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"

static xtrk_repo *repo;
static json_t *run;
static char *model, *blob;
#define MODEL_SIZE 600000 /* both stored loose */
#define BLOB_SIZE 700000
#define PARAMS_TEXT "# learning setup\nlr: 0.5   # tuned\nopt:\n  name: adam\n"

/* Record a run of the data folder, the model and the params file. */
static void record(json_t **out)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *data[] = { "train=data" }, *models[] = { "m.bin" }, *pfiles[] = { "params.yaml" };
	xtrk_oid id;
	o.datasets = data;
	o.ndatasets = 1;
	o.models = models;
	o.nmodels = 1;
	o.param_files = pfiles;
	o.nparam_files = 1;
	cr_assert_eq(xtrk_run_commit(&id, out, repo, &o), 0, "%s", xtrk_error_last());
}

static void setup(void)
{
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	/* Neither git nor libgit2 may see the user's own configuration (core.autocrlf and the like). */
	setenv("HOME", test_dir, 1);
	setenv("XDG_CONFIG_HOME", test_dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	repo = new_repo();
	mkdir("data", 0777);
	mkdir("data/sub", 0777);
	write_text("data/a.txt", "alpha\n");
	blob = random_bytes(BLOB_SIZE, 3);
	write_file("data/sub/b.bin", blob, BLOB_SIZE);
	write_text("data/run.sh", "#!/bin/sh\necho hi\n");
	chmod("data/run.sh", 0755);
	cr_assert_eq(symlink("a.txt", "data/link"), 0);
	model = random_bytes(MODEL_SIZE, 5);
	write_file("m.bin", model, MODEL_SIZE);
	write_text("params.yaml", PARAMS_TEXT);
	record(&run);
	xtrk_warning_clear();
}
static void teardown(void)
{
	json_decref(run);
	free(model);
	free(blob);
	xtrk_repo_free(repo);
	tmpdir_leave();
}
TestSuite(checkout, .init = setup, .fini = teardown);

static int same_content(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(len + 1);
	size_t got;
	int ok;
	if (!f) {
		free(buf);
		return 0;
	}
	got = fread(buf, 1, len + 1, f);
	fclose(f);
	ok = got == len && !memcmp(buf, data, len);
	free(buf);
	return ok;
}

static int same_text(const char *path, const char *text)
{
	return same_content(path, text, strlen(text));
}

/* Names in a folder that start with `prefix`. */
static int count_named(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static int into(xtrk_checkout_result *r, const char *target, json_t *which)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	o.target = target;
	return xtrk_checkout(r, repo, which ? which : run, &o);
}

static const char *model_hex(void)
{
	return hex_of(model, MODEL_SIZE);
}

Test(checkout, restores_every_file_into_a_folder_byte_for_byte)
{
	xtrk_checkout_result r;
	struct stat st;
	char link[64];
	ssize_t n;
	cr_assert_eq(into(&r, "out", NULL), 0, "%s", xtrk_error_last());
	cr_assert(same_text("out/data/a.txt", "alpha\n"));
	cr_assert(same_content("out/data/sub/b.bin", blob, BLOB_SIZE));
	cr_assert(same_text("out/data/run.sh", "#!/bin/sh\necho hi\n"));
	cr_assert(same_content("out/m.bin", model, MODEL_SIZE));
	cr_assert(same_text("out/params.yaml", PARAMS_TEXT), "the params file is kept as written, comments and all");
	cr_assert_eq(stat("out/data/run.sh", &st), 0);
	cr_assert(st.st_mode & 0100, "the exec bit is restored");
	cr_assert_eq(stat("out/data/a.txt", &st), 0);
	cr_assert_not(st.st_mode & 0100);
	cr_assert_eq(lstat("out/data/link", &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "a link is restored as a link");
	n = readlink("out/data/link", link, sizeof(link) - 1);
	cr_assert_eq(n, 5);
	link[n] = '\0';
	cr_assert_str_eq(link, "a.txt");
	cr_assert_eq(r.files_written, 6);
	cr_assert_eq(r.files_unchanged, 0);
	cr_assert_eq(r.bytes_written, 6 + BLOB_SIZE + 18 + MODEL_SIZE + strlen(PARAMS_TEXT), "a link's target is not counted");
	cr_assert_eq(r.source, -1, "no source was recorded");
	cr_assert_eq(count_named("out", ".xtrk-checkout-"), 0);
	cr_assert_eq(count_named("out/data", ".xtrk-checkout-"), 0);
}

static void age(const char *path)
{
	struct timeval old[2];
	gettimeofday(&old[0], NULL);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	cr_assert_eq(utimes(path, old), 0);
}

Test(checkout, restores_the_workspace_and_leaves_unchanged_files_alone)
{
	xtrk_checkout_result r;
	json_t *again;
	/* Files older than the last commit are trusted by their stat (newer ones may be racy), so age them and commit again. */
	age("data/a.txt");
	age("data/sub/b.bin");
	age("data/run.sh");
	age("m.bin");
	record(&again);
	write_text("data/a.txt", "changed\n");
	cr_assert_eq(unlink("m.bin"), 0);
	cr_assert_eq(unlink("params.yaml"), 0);
	cr_assert_eq(into(&r, NULL, again), 0, "%s", xtrk_error_last());
	cr_assert(same_text("data/a.txt", "alpha\n"));
	cr_assert(same_content("m.bin", model, MODEL_SIZE));
	cr_assert(same_text("params.yaml", PARAMS_TEXT));
	cr_assert(same_content("data/sub/b.bin", blob, BLOB_SIZE));
	cr_assert_eq(r.files_unchanged, 2, "b.bin and run.sh are known unchanged");
	cr_assert_eq(r.files_written, 4, "a.txt, the link, m.bin and params.yaml");
	cr_assert_eq(r.bytes_written, 6 + MODEL_SIZE + strlen(PARAMS_TEXT));
	json_decref(again);
}

Test(checkout, a_linked_folder_in_the_target_is_refused)
{
	xtrk_checkout_result r;
	mkdir("out", 0777);
	mkdir("elsewhere", 0777);
	cr_assert_eq(symlink("../elsewhere", "out/data"), 0);
	cr_assert_eq(into(&r, "out", NULL), XTRK_EEXISTS);
	cr_assert(strstr(xtrk_error_last(), "'data'"), "%s", xtrk_error_last());
	cr_assert_eq(count_named("elsewhere", ""), 2, "nothing written through the link (only . and ..)");
	/* The same for a link deeper down. */
	cr_assert_eq(unlink("out/data"), 0);
	mkdir("out/data", 0777);
	cr_assert_eq(symlink("../../elsewhere", "out/data/sub"), 0);
	cr_assert_eq(into(&r, "out", NULL), XTRK_EEXISTS);
	cr_assert_eq(count_named("elsewhere", ""), 2);
}

Test(checkout, a_link_at_a_file_name_is_replaced_not_followed)
{
	xtrk_checkout_result r;
	struct stat st;
	mkdir("out", 0777);
	write_text("victim", "keep me\n");
	cr_assert_eq(symlink("../victim", "out/m.bin"), 0);
	cr_assert_eq(into(&r, "out", NULL), 0, "%s", xtrk_error_last());
	cr_assert(same_text("victim", "keep me\n"));
	cr_assert_eq(lstat("out/m.bin", &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert(same_content("out/m.bin", model, MODEL_SIZE));
}

Test(checkout, a_corrupt_object_never_lands)
{
	xtrk_checkout_result r;
	char path[128];
	const char *hex = model_hex();
	FILE *f;
	snprintf(path, sizeof(path), ".xtrk/objects/%.2s/%s", hex, hex + 2);
	chmod(path, 0644);
	f = fopen(path, "r+b");
	cr_assert_not_null(f);
	fseek(f, -100, SEEK_END);
	fputc(~model[MODEL_SIZE - 100], f);
	fclose(f);
	cr_assert_eq(into(&r, "out", NULL), XTRK_ECORRUPT, "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), "m.bin"), "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), hex), "%s", xtrk_error_last());
	cr_assert_eq(access("out/m.bin", F_OK), -1);
	cr_assert_eq(count_named("out", ".xtrk-checkout-"), 0, "no half file left behind");
	/* In the workspace, the good file that is there stays. */
	cr_assert_eq(into(&r, NULL, NULL), XTRK_ECORRUPT);
	cr_assert(same_content("m.bin", model, MODEL_SIZE));
	cr_assert_eq(count_named(".", ".xtrk-checkout-"), 0);
}

Test(checkout, recorded_paths_that_escape_are_refused)
{
	static const char *const bad[] = { "../evil", "/tmp/xtrk-unit-evil", "a/../../evil", ".xtrk/objects/evil",
		"sub/.git/hooks/evil", "./evil", "a//evil", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *copy = json_deep_copy(run);
		xtrk_checkout_result r;
		json_object_set_new(json_array_get(json_object_get(copy, "models"), 0), "path", json_string(bad[i]));
		json_array_clear(json_object_get(copy, "datasets"));
		cr_assert_eq(into(&r, "out", copy), XTRK_EINVALID, "'%s' accepted", bad[i]);
		cr_assert_eq(r.files_written, 0);
		json_decref(copy);
	}
	cr_assert_eq(access("evil", F_OK), -1);
	cr_assert_eq(access("/tmp/xtrk-unit-evil", F_OK), -1);
	cr_assert_eq(access(".xtrk/objects/evil", F_OK), -1);
}

Test(checkout, a_folder_or_file_in_the_way_is_refused)
{
	xtrk_checkout_result r;
	mkdir("out", 0777);
	mkdir("out/m.bin", 0777);
	cr_assert_eq(into(&r, "out", NULL), XTRK_EEXISTS);
	cr_assert(strstr(xtrk_error_last(), "m.bin"), "%s", xtrk_error_last());
	cr_assert_eq(count_named("out/m.bin", ""), 2, "the folder is left as it was");
	mkdir("out2", 0777);
	write_text("out2/data", "a file where the dataset folder goes");
	cr_assert_eq(into(&r, "out2", NULL), XTRK_EEXISTS);
	cr_assert(same_text("out2/data", "a file where the dataset folder goes"));
}

Test(checkout, no_data_writes_no_files)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	o.target = "out";
	o.no_data = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, run, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(r.files_written, 0);
	cr_assert_eq(count_named("out", ""), 2);
}

Test(checkout, a_run_imported_without_its_files_is_refused)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	char ref[128];
	const char *id = json_string_value(json_object_get(run, "id"));
	snprintf(ref, sizeof(ref), "refs/partial/%s", id);
	cr_assert_eq(xtrk_ref_write(repo, ref, id, 1), 0, "%s", xtrk_error_last());
	o.target = "out";
	cr_assert_eq(xtrk_checkout(&r, repo, run, &o), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "--no-data"), "%s", xtrk_error_last());
	cr_assert_eq(access("out/m.bin", F_OK), -1);
	o.no_data = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, run, &o), 0, "%s", xtrk_error_last());
}

/* A git repository with code.py committed as "v1", changed to "v2" before the run. */
static json_t *run_with_source(void)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	xtrk_oid id;
	json_t *r;
	cr_assert_eq(system("git init -q . && git config user.email t@example.org && git config user.name T && "
		"git config commit.gpgsign false && printf 'v1\\n' > code.py && printf 'keep\\n' > lib.py && "
		"git add code.py lib.py && git commit -qm one && printf 'v2\\n' > code.py"), 0);
	cr_assert_eq(xtrk_run_commit(&id, &r, repo, &o), 0, "%s", xtrk_error_last());
	cr_assert(json_is_true(json_object_get(json_object_get(r, "source"), "dirty")));
	return r;
}

Test(checkout, source_is_the_commit_with_the_patch_applied)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	json_t *src = run_with_source();
	o.target = "out";
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(r.source, 1);
	cr_assert(same_text("out/code.py", "v2\n"), "the uncommitted change is applied");
	cr_assert(same_text("out/lib.py", "keep\n"));
	/* In the workspace: uncommitted work in the way is refused unless forced. */
	write_text("code.py", "v3 unsaved work\n");
	o.target = NULL;
	o.no_data = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), XTRK_EEXISTS);
	cr_assert(strstr(xtrk_error_last(), "uncommitted changes"), "%s", xtrk_error_last());
	cr_assert(same_text("code.py", "v3 unsaved work\n"));
	o.force = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(r.source, 1);
	cr_assert(same_text("code.py", "v2\n"));
	/* Already the run's source: nothing to do. */
	o.force = 0;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(r.source, 0);
	cr_assert(same_text("code.py", "v2\n"));
	json_decref(src);
}

Test(checkout, a_patch_that_cannot_be_read_changes_nothing)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	json_t *src = run_with_source(), *copy = json_deep_copy(src);
	xtrk_oid other;
	/* Point the run at a blob that is not a patch of this commit: checked before any file changes. */
	xtrk_oid_hash(&other, "missing", 7);
	json_object_set_new(json_object_get(copy, "source"), "patch", json_string(xtrk_oid_tostr(&other)));
	o.target = "out";
	cr_assert_lt(xtrk_checkout(&r, repo, copy, &o), 0);
	cr_assert_eq(access("out/code.py", F_OK), -1);
	cr_assert_eq(access("out/m.bin", F_OK), -1);
	json_decref(copy);
	json_decref(src);
}

Test(checkout, the_path_check_refuses_every_form_that_leaves_the_folder_or_names_the_store)
{
	static const char *const bad[] = { "", "/abs", "../x", "a/../../x", "a/..", ".", "./x", "a/./x", "a//x", "a/",
		".xtrk", ".XTRK/config.lock", "a/.Xtrk/x", "deep/er/.xTrK", ".git", "sub/.GIT/hooks/x", ".git.", ".xtrk ",
		"GIT~1/config", "a/xtrk~1", "a\tb", "x\033[2J", "new\nline", "del\177" };
	static const char *const good[] = { "a", "a/b/c.txt", ".xtrkrc", ".gitignore", "a/.github/x", "x.git", "..a",
		"a..", "...", "gitx", "~", "sp ace", "caf\xc3\xa9" };
	char longp[XTRK_PATH_MAX + 2];
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert(xtrk_path_unsafe(bad[i]), "'%s' accepted", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_assert_null(xtrk_path_unsafe(good[i]), "'%s' refused: %s", good[i], xtrk_path_unsafe(good[i]));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cr_assert(xtrk_path_unsafe(longp));
	cr_assert(xtrk_path_unsafe(NULL));
}

Test(checkout, the_source_goes_only_into_an_empty_folder_unless_forced)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	json_t *src = run_with_source();
	mkdir("out", 0777);
	write_text("out/lib.py", "stale\n");
	o.target = "out";
	o.no_data = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), XTRK_EEXISTS);
	cr_assert(strstr(xtrk_error_last(), "not empty"), "%s", xtrk_error_last());
	cr_assert(same_text("out/lib.py", "stale\n"));
	cr_assert_eq(access("out/code.py", F_OK), -1);
	/* Forced: every file of the source is written, also one the commit and HEAD agree on. */
	o.force = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), 0, "%s", xtrk_error_last());
	cr_assert(same_text("out/lib.py", "keep\n"));
	cr_assert(same_text("out/code.py", "v2\n"));
	json_decref(src);
}

Test(checkout, the_source_never_goes_through_a_link_in_the_target)
{
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	json_t *src = run_with_source();
	mkdir("outside", 0777);
	write_text("outside/victim", "precious\n");
	mkdir("out", 0777);
	cr_assert_eq(symlink("../outside/victim", "out/lib.py"), 0);
	o.target = "out";
	o.no_data = 1;
	o.force = 1;
	cr_assert_eq(xtrk_checkout(&r, repo, src, &o), 0, "%s", xtrk_error_last());
	cr_assert(same_text("outside/victim", "precious\n"), "written through the link");
	cr_assert(same_text("out/lib.py", "keep\n"));
	json_decref(src);
}
