/* Unit tests for fsck: a clean store, then damage of each kind, each found and named. */
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(*len ? *len : 1);
	cr_assert_eq(fread(data, 1, *len, f), *len);
	fclose(f);
	return data;
}

/* Rewrite the type byte (offset 5 of the header) of an object, loose or in a pack. */
static void flip_type(const char *hex, int type)
{
	char path[512];
	FILE *f;
	xtrk_oid id;
	glob_t g;
	snprintf(path, sizeof(path), ".xtrk/objects/%.2s/%s", hex, hex + 2);
	if (access(path, F_OK) == 0) {
		chmod(path, 0644);
		cr_assert_not_null(f = fopen(path, "r+b"), "%s", path);
		fseek(f, 5, SEEK_SET);
		fputc(type, f);
		fclose(f);
		return;
	}
	cr_assert_eq(xtrk_oid_parse(&id, hex), 0);
	cr_assert_eq(glob(".xtrk/objects/pack/*.pack", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t len;
		char *data = slurp(g.gl_pathv[i], &len);
		for (size_t p = 16; p + 16 <= len; p++)
			if (!memcmp(data + p, id.id, 16) && !memcmp(data + p - 16, "XTRK", 4)) {
				chmod(g.gl_pathv[i], 0644);
				cr_assert_not_null(f = fopen(g.gl_pathv[i], "r+b"));
				fseek(f, (long)(p - 16 + 5), SEEK_SET);
				fputc(type, f);
				fclose(f);
				free(data);
				globfree(&g);
				return;
			}
		free(data);
	}
	globfree(&g);
	cr_assert_fail("object %s not found", hex);
}

Test(fsck, a_flipped_type_byte_is_found_by_use_and_by_content)
{
	xtrk_fsck_options o = { 1, collect, NULL };
	xtrk_fsck_result r;
	char *data = random_bytes(600000, 3), hex[33];
	xtrk_oid id;
	write_file("m.bin", data, 600000);
	commit_model("m.bin");
	xtrk_oid_hash(&id, data, 600000);
	xtrk_oid_fmt(hex, &id);
	/* a model file stored as a tree: its bytes do not read as one */
	flip_type(hex, XTRK_OBJ_TREE);
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_eq(r.problems, 1, "%s", nseen ? seen[0] : "");
	cr_assert(strstr(seen[0], "stored as a tree but does not read as one"), "%s", seen[0]);
	/* a model file stored as a run */
	nseen = 0;
	flip_type(hex, XTRK_OBJ_RUN);
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_eq(r.problems, 1, "%s", nseen ? seen[0] : "");
	cr_assert(strstr(seen[0], hex), "%s", seen[0]);
	free(data);
}

Test(fsck, a_run_record_stored_as_a_blob_is_not_read_as_a_run)
{
	xtrk_fsck_options o = { 0, collect, NULL };
	xtrk_fsck_result r;
	xtrk_oid run;
	char hex[33];
	write_text("m.txt", "weights\n");
	run = commit_model("m.txt");
	xtrk_oid_fmt(hex, &run);
	flip_type(hex, XTRK_OBJ_BLOB);
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0);
	cr_assert_geq(r.problems, 1);
	cr_assert(strstr(seen[0], "stored as a blob"), "%s", seen[0]);
}

Test(fsck, a_ref_naming_another_run_and_a_link_loop_under_refs_are_reported)
{
	xtrk_fsck_options o = { 0, collect, NULL };
	xtrk_fsck_result r;
	xtrk_oid a, b;
	char path[256], ha[33], hb[33];
	FILE *f;
	write_text("m.txt", "one\n");
	a = commit_model("m.txt");
	write_text("m.txt", "two\n");
	b = commit_model("m.txt");
	xtrk_oid_fmt(ha, &a);
	xtrk_oid_fmt(hb, &b);
	snprintf(path, sizeof(path), ".xtrk/refs/experiments/default/%s", hb);
	chmod(path, 0644);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", ha);
	fclose(f);
	cr_assert_eq(symlink("loop", ".xtrk/refs/experiments/loop"), 0);
	cr_assert_eq(xtrk_fsck(&r, repo, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(r.runs, 2, "the loop does not hide the runs");
	cr_assert_eq(r.problems, 2, "%s | %s", seen[0], nseen > 1 ? seen[1] : "");
	cr_assert(strstr(seen[0], "holds another run") || strstr(seen[1], "holds another run"));
	cr_assert(strstr(seen[0], "refs/experiments/loop is a symbolic link") ||
		strstr(seen[1], "refs/experiments/loop is a symbolic link"));
}
