/* Unit tests for fsck: a clean store, then damage of each kind, each found and named. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/fsck.h"
#include "xtrk/run.h"

static xtrk_repo *repo;
static char seen[8][256];
static int nseen;

static void collect(const char *id, const char *what, void *payload)
{
	(void)payload;
	if (nseen < 8)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s %s", id ? id : "-", what);
}

static void setup(void)
{
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	repo = new_repo();
	nseen = 0;
}
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(fsck, .init = setup, .fini = teardown);

static xtrk_oid commit_model(const char *path)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *models[] = { path };
	xtrk_oid id;
	o.models = models;
	o.nmodels = 1;
	cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
	return id;
}

Test(fsck, clean_store)
{
	xtrk_fsck_options o = { 1, collect, NULL };
	xtrk_fsck_result r;
	char *data = random_bytes(600000, 1);
	write_file("m.bin", data, 600000);
	commit_model("m.bin");
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_eq(r.problems, 0, "%s", nseen ? seen[0] : "");
	cr_assert_eq(r.runs, 1);
	cr_assert_geq(r.objects, 2);
	free(data);
}

Test(fsck, damaged_and_missing_objects_are_named)
{
	xtrk_fsck_options o = { 1, collect, NULL };
	xtrk_fsck_result r;
	char *data = random_bytes(600000, 2), path[128], hex[33];
	xtrk_oid id;
	write_file("m.bin", data, 600000);
	commit_model("m.bin");
	xtrk_oid_hash(&id, data, 600000);
	xtrk_oid_fmt(hex, &id);
	snprintf(path, sizeof(path), ".xtrk/objects/%.2s/%s", hex, hex + 2);
	chmod(path, 0644);
	FILE *f = fopen(path, "r+b");
	fseek(f, 1000, SEEK_SET);
	fputc(~data[1000 - 32], f);
	fclose(f);
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_eq(r.problems, 1);
	cr_assert_eq(strncmp(seen[0], hex, 32), 0, "%s", seen[0]);
	unlink(path);
	nseen = 0;
	o.read_data = 0;
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_eq(r.problems, 1);
	cr_assert(strstr(seen[0], "missing"), "%s", seen[0]);
	cr_assert(strstr(seen[0], hex), "%s", seen[0]);
	free(data);
}
