/* Unit tests for run books: create, verify, import into another store, damage and hostile entries, RUNBOOK.md. */
#define _GNU_SOURCE /* memmem */
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "helpers.h"
#include "xtrk/bundle.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

static xtrk_repo *repo;
static char problems[16][512];
static int nproblems;

static void collect(const char *what, void *payload)
{
	(void)payload;
	if (nproblems < 16)
		snprintf(problems[nproblems], sizeof(problems[0]), "%s", what);
	nproblems++;
}

/* Some problem mentions all of `a` and `b` (b may be NULL). */
static int problem_with(const char *a, const char *b)
{
	for (int i = 0; i < nproblems && i < 16; i++)
		if (strstr(problems[i], a) && (!b || strstr(problems[i], b)))
			return 1;
	return 0;
}

static char *model;       /* the model file's bytes */
#define MODEL_SIZE 700000 /* stored loose */

static void setup(void)
{
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	repo = new_repo();
	nproblems = 0;
	mkdir("data", 0777);
	mkdir("data/sub", 0777);
	write_text("data/x", "small file\n");
	{
		char *y = random_bytes(600000, 7);
		write_file("data/sub/y", y, 600000);
		free(y);
	}
	model = random_bytes(MODEL_SIZE, 11);
	write_file("m.bin", model, MODEL_SIZE);
	xtrk_warning_clear();
}
static void teardown(void)
{
	free(model);
	xtrk_repo_free(repo);
	tmpdir_leave();
}
TestSuite(bundle, .init = setup, .fini = teardown);

static xtrk_oid commit(const char *param, const char *tag)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { param }, *data[] = { "train=data@web" }, *models[] = { "m.bin" }, *tags[] = { tag };
	xtrk_oid id;
	o.experiment = "e";
	o.params = params;
	o.nparams = 1;
	o.datasets = data;
	o.ndatasets = 1;
	o.models = models;
	o.nmodels = 1;
	o.tags = tags;
	o.ntags = tag ? 1 : 0;
	cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
	return id;
}

static xtrk_bundle_stats create(const char *path, const xtrk_oid *ids, size_t n, int no_data)
{
	xtrk_bundle_options o = { 0, no_data };
	xtrk_bundle_stats st;
	cr_assert_eq(xtrk_bundle_create(&st, repo, path, ids, n, &o), 0, "%s", xtrk_error_last());
	return st;
}

static xtrk_bundle_stats verify(const char *path)
{
	xtrk_bundle_stats st;
	nproblems = 0;
	cr_assert_eq(xtrk_bundle_verify(&st, path, collect, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.problems, (size_t)nproblems);
	return st;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;
	cr_assert_not_null(f, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static const char *model_hex(void)
{
	return hex_of(model, MODEL_SIZE);
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

Test(bundle, create_then_verify_is_clean)
{
	xtrk_oid id = commit("lr=0.1", "best");
	xtrk_bundle_stats c = create("one.tar", &id, 1, 0), v;
	cr_assert_eq(c.runs, 1);
	/* The run, the trees of data and data/sub, and the blobs x, y and the model. */
	cr_assert_eq(c.objects, 6);
	cr_assert_gt(c.bytes, 600000 + MODEL_SIZE);
	v = verify("one.tar");
	cr_assert_eq(v.problems, 0, "%s", problems[0]);
	cr_assert_eq(v.runs, 1);
	cr_assert_eq(v.objects, c.objects);
	cr_assert_eq(v.bytes, c.bytes);
	cr_assert_eq(v.has_source, 0);
	cr_assert_eq(v.no_data, 0);
}

Test(bundle, compression_follows_the_name)
{
	static const struct { const char *name; size_t at; const char *magic; size_t len; } kinds[] = {
		{ "b.tar", 257, "ustar", 5 },
		{ "b.tar.gz", 0, "\x1f\x8b", 2 },
		{ "b.tgz", 0, "\x1f\x8b", 2 },
		{ "b.tar.zst", 0, "\x28\xb5\x2f\xfd", 4 },
	};
	xtrk_oid id = commit("lr=0.1", NULL);
	xtrk_bundle_options o = { 0, 0 };
	xtrk_bundle_stats st;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t len;
		char *data;
		create(kinds[i].name, &id, 1, 0);
		data = slurp(kinds[i].name, &len);
		cr_assert_gt(len, kinds[i].at + kinds[i].len);
		cr_assert_eq(memcmp(data + kinds[i].at, kinds[i].magic, kinds[i].len), 0, "%s", kinds[i].name);
		free(data);
		cr_assert_eq(verify(kinds[i].name).problems, 0, "%s: %s", kinds[i].name, problems[0]);
	}
	cr_assert_eq(xtrk_bundle_create(&st, repo, "b.zip", &id, 1, &o), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), ".tar.gz"), "%s", xtrk_error_last());
	cr_assert_eq(xtrk_bundle_create(&st, repo, "b.tar.bz2", &id, 1, &o), XTRK_EINVALID);
	cr_assert_eq(access("b.zip", F_OK), -1);
	cr_assert_eq(access("b.tar.bz2", F_OK), -1);
}

Test(bundle, the_same_runs_give_the_same_bytes)
{
	xtrk_oid ids[2];
	size_t la, lb;
	char *a, *b;
	ids[0] = commit("lr=0.1", "best");
	ids[1] = commit("lr=0.2", NULL);
	/* One name (RUNBOOK.md names the file), two folders. */
	mkdir("x", 0777);
	mkdir("y", 0777);
	create("x/two.tar", ids, 2, 0);
	create("y/two.tar", ids, 2, 0);
	a = slurp("x/two.tar", &la);
	b = slurp("y/two.tar", &lb);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(a, b, la), 0);
	free(a);
	free(b);
}

Test(bundle, import_into_another_store_gives_identical_objects)
{
	xtrk_oid ids[2];
	xtrk_bundle_stats c, im;
	xtrk_repo *other;
	xtrk_oid tagged;
	ids[0] = commit("lr=0.1", "best");
	ids[1] = commit("lr=0.2", NULL);
	c = create("two.tar", ids, 2, 0);
	/* The data and model are shared: each object is carried once. */
	cr_assert_eq(c.objects, 7);
	other = new_repo_at("other");
	cr_assert_eq(xtrk_bundle_import(&im, other, "two.tar"), 0, "%s", xtrk_error_last());
	cr_assert_eq(im.runs, 2);
	cr_assert_eq(im.runs_new, 2);
	cr_assert_eq(im.objects, 7);
	cr_assert_eq(im.objects_new, 7);
	cr_assert_eq(im.problems, 0);
	cr_assert_eq(count_objects(other), 7);
	for (int i = 0; i < 2; i++) {
		json_t *here, *there;
		cr_assert_eq(xtrk_run_read(&here, repo, &ids[i]), 0);
		cr_assert_eq(xtrk_run_read(&there, other, &ids[i]), 0, "%s", xtrk_error_last());
		cr_assert(json_equal(here, there), "run %d reads the same in both stores", i);
		json_decref(here);
		json_decref(there);
	}
	{
		/* Every object, byte for byte. */
		xtrk_run_item *items;
		size_t n;
		xtrk_buf a = XTRK_BUF_INIT, b = XTRK_BUF_INIT;
		xtrk_oid mid;
		cr_assert_eq(xtrk_runs_list(&items, &n, other, NULL), 0);
		cr_assert_eq(n, 2);
		xtrk_runs_free(items, n);
		cr_assert_eq(xtrk_oid_parse(&mid, model_hex()), 0);
		cr_assert_eq(xtrk_odb_read(&a, NULL, xtrk_repo_odb(repo), &mid, XTRK_OBJ_BLOB), 0);
		cr_assert_eq(xtrk_odb_read(&b, NULL, xtrk_repo_odb(other), &mid, XTRK_OBJ_BLOB), 0);
		cr_assert_eq(b.size, (size_t)MODEL_SIZE);
		cr_assert_eq(memcmp(b.ptr, model, MODEL_SIZE), 0);
		cr_assert_eq(memcmp(a.ptr, b.ptr, a.size), 0);
		xtrk_buf_dispose(&a);
		xtrk_buf_dispose(&b);
	}
	cr_assert_eq(xtrk_refs_tag_lookup(&tagged, other, "best"), 0, "tags travel with their runs");
	cr_assert_eq(xtrk_oid_cmp(&tagged, &ids[0]), 0);
	/* Importing what is there changes nothing. */
	cr_assert_eq(xtrk_bundle_import(&im, other, "two.tar"), 0, "%s", xtrk_error_last());
	cr_assert_eq(im.runs_new, 0);
	cr_assert_eq(im.objects_new, 0);
	cr_assert_eq(count_objects(other), 7);
	xtrk_repo_free(other);
}

Test(bundle, a_flipped_byte_is_named_and_nothing_is_imported)
{
	xtrk_oid id = commit("lr=0.1", NULL);
	xtrk_bundle_stats st;
	xtrk_repo *other;
	xtrk_run_ref *refs;
	size_t len, n;
	char *data = (create("one.tar", &id, 1, 0), slurp("one.tar", &len)), *at, name[64];
	at = memmem(data, len, model, 4096);
	cr_assert_not_null(at, "the model is stored as it is in a plain tar");
	at[5000] ^= 0x01;
	write_file("bad.tar", data, len);
	free(data);
	st = verify("bad.tar");
	cr_assert_geq(st.problems, 1);
	snprintf(name, sizeof(name), "objects/%s.blob", model_hex());
	cr_assert(problem_with(name, "does not match") || problem_with(name, "hashes to"), "%s", problems[0]);
	cr_assert(problem_with(model_hex(), "not in the bundle"), "the run's reference to it is reported too");
	other = new_repo_at("other");
	cr_assert_eq(xtrk_bundle_import(&st, other, "bad.tar"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "nothing was imported"), "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), model_hex()), "%s", xtrk_error_last());
	cr_assert_eq(xtrk_refs_list_runs(&refs, &n, other, NULL), 0);
	cr_assert_eq(n, 0);
	free(refs);
	cr_assert_eq(count_objects(other), 0, "all or nothing: not even the good objects");
	xtrk_repo_free(other);
}

Test(bundle, no_data_leaves_the_files_out)
{
	xtrk_oid id = commit("lr=0.1", NULL), mid;
	xtrk_bundle_stats c = create("meta.tar", &id, 1, 1), v, im;
	xtrk_repo *other;
	json_t *run;
	cr_assert_eq(c.objects, 3, "the run and its two trees");
	cr_assert_eq(c.no_data, 1);
	cr_assert_lt(c.bytes, 100000);
	v = verify("meta.tar");
	cr_assert_eq(v.problems, 0, "%s", problems[0]);
	cr_assert_eq(v.no_data, 1);
	other = new_repo_at("other");
	cr_assert_eq(xtrk_bundle_import(&im, other, "meta.tar"), 0, "%s", xtrk_error_last());
	cr_assert_eq(im.runs_new, 1);
	cr_assert_eq(xtrk_refs_partial(other, &id), 1, "the run is marked as lacking its files");
	cr_assert_eq(xtrk_refs_partial(repo, &id), 0);
	cr_assert_eq(xtrk_oid_parse(&mid, model_hex()), 0);
	cr_assert_eq(xtrk_odb_exists(xtrk_repo_odb(other), &mid), 0);
	cr_assert_eq(xtrk_run_read(&run, other, &id), 0, "%s", xtrk_error_last());
	json_decref(run);
	/* A full bundle completes it. */
	create("full.tar", &id, 1, 0);
	cr_assert_eq(xtrk_bundle_import(&im, other, "full.tar"), 0, "%s", xtrk_error_last());
	cr_assert_eq(im.objects_new, 3);
	cr_assert_eq(xtrk_refs_partial(other, &id), 0);
	xtrk_repo_free(other);
}

/* Copy a tar bundle entry by entry: `drop` left out, `replace` given new content, then `add` appended. */
struct extra {
	const char *name;
	const char *data;
	const char *link; /* a symbolic link to this, when set */
};

static void rewrite(const char *src, const char *dst, const char *drop, const char *replace, const char *with,
	const struct extra *add, size_t nadd)
{
	struct archive *in = archive_read_new(), *out = archive_write_new();
	struct archive_entry *e;
	xtrk_buf content = XTRK_BUF_INIT;
	char chunk[65536];
	la_ssize_t n;
	archive_read_support_format_tar(in);
	cr_assert_eq(archive_read_open_filename(in, src, 65536), ARCHIVE_OK);
	archive_write_set_format_pax_restricted(out);
	cr_assert_eq(archive_write_open_filename(out, dst), ARCHIVE_OK);
	while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		xtrk_buf_clear(&content);
		while ((n = archive_read_data(in, chunk, sizeof(chunk))) > 0)
			xtrk_buf_put(&content, chunk, (size_t)n);
		if (drop && !strcmp(name, drop))
			continue;
		if (replace && !strcmp(name, replace)) {
			xtrk_buf_clear(&content);
			xtrk_buf_puts(&content, with);
		}
		archive_entry_set_size(e, (la_int64_t)content.size);
		cr_assert_eq(archive_write_header(out, e), ARCHIVE_OK);
		if (content.size)
			cr_assert_eq(archive_write_data(out, content.ptr, content.size), (la_ssize_t)content.size);
	}
	for (size_t i = 0; i < nadd; i++) {
		struct archive_entry *x = archive_entry_new();
		size_t len = add[i].data ? strlen(add[i].data) : 0;
		archive_entry_set_pathname(x, add[i].name);
		archive_entry_set_filetype(x, add[i].link ? AE_IFLNK : AE_IFREG);
		if (add[i].link)
			archive_entry_set_symlink(x, add[i].link);
		archive_entry_set_perm(x, 0644);
		archive_entry_set_size(x, (la_int64_t)len);
		cr_assert_eq(archive_write_header(out, x), ARCHIVE_OK);
		if (len)
			archive_write_data(out, add[i].data, len);
		archive_entry_free(x);
	}
	archive_read_free(in);
	archive_write_close(out);
	archive_write_free(out);
	xtrk_buf_dispose(&content);
}

Test(bundle, a_missing_object_is_named)
{
	xtrk_oid id = commit("lr=0.1", NULL);
	xtrk_bundle_stats st;
	xtrk_repo *other;
	char name[64];
	create("one.tar", &id, 1, 0);
	snprintf(name, sizeof(name), "objects/%s.blob", model_hex());
	rewrite("one.tar", "short.tar", name, NULL, NULL, NULL, 0);
	st = verify("short.tar");
	cr_assert_geq(st.problems, 1);
	cr_assert(problem_with(model_hex(), "declared in the manifest but not in the bundle"), "%s", problems[0]);
	cr_assert(problem_with(xtrk_oid_tostr(&id), model_hex()), "the run that needs it is named");
	other = new_repo_at("other");
	cr_assert_eq(xtrk_bundle_import(&st, other, "short.tar"), XTRK_EINVALID);
	cr_assert_eq(count_objects(other), 0);
	xtrk_repo_free(other);
}

Test(bundle, hostile_entries_are_refused)
{
	static const struct { struct extra x; const char *why; } cases[] = {
		{ { "../evil", "x", NULL }, "path traversal" },
		{ { "/etc/evil", "x", NULL }, "absolute path" },
		{ { "objects/.git/config", "x", NULL }, "reserved name" },
		{ { "runs/link", NULL, "/etc/passwd" }, "symbolic link" },
		{ { "notes.txt", "x", NULL }, "not part of a bundle" },
		{ { "RUNBOOK.md", "again", NULL }, "duplicate entry" },
	};
	xtrk_oid id = commit("lr=0.1", NULL);
	create("one.tar", &id, 1, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xtrk_bundle_stats st;
		xtrk_repo *other;
		char dir[32];
		rewrite("one.tar", "evil.tar", NULL, NULL, NULL, &cases[i].x, 1);
		st = verify("evil.tar");
		cr_assert_eq(st.problems, 1, "%s: %s", cases[i].x.name, problems[0]);
		cr_assert(strstr(problems[0], cases[i].why), "%s: %s", cases[i].x.name, problems[0]);
		snprintf(dir, sizeof(dir), "other%zu", i);
		other = new_repo_at(dir);
		cr_assert_eq(xtrk_bundle_import(&st, other, "evil.tar"), XTRK_EINVALID, "%s", cases[i].x.name);
		cr_assert_eq(count_objects(other), 0);
		xtrk_repo_free(other);
	}
	cr_assert_eq(access("/etc/evil", F_OK), -1);
	cr_assert_eq(access("../evil", F_OK), -1);
}

Test(bundle, a_summary_that_differs_from_the_record_is_named)
{
	xtrk_oid id = commit("lr=0.1", NULL);
	char name[64];
	json_t *run;
	char *text;
	create("one.tar", &id, 1, 0);
	cr_assert_eq(xtrk_run_read(&run, repo, &id), 0);
	json_object_set_new(json_object_get(run, "params"), "lr", json_real(0.9));
	text = json_dumps(run, JSON_SORT_KEYS);
	snprintf(name, sizeof(name), "runs/%s.json", xtrk_oid_tostr(&id));
	rewrite("one.tar", "lie.tar", NULL, name, text, NULL, 0);
	free(text);
	json_decref(run);
	cr_assert_eq(verify("lie.tar").problems, 1, "%s", problems[0]);
	cr_assert(problem_with(name, "does not match the run's record"), "%s", problems[0]);
}

Test(bundle, unreadable_bundles_are_errors)
{
	xtrk_bundle_stats st;
	xtrk_oid id = commit("lr=0.1", NULL);
	size_t len;
	char *data;
	cr_assert_eq(xtrk_bundle_verify(&st, "absent.tar", NULL, NULL), XTRK_ENOTFOUND);
	create("one.tar.gz", &id, 1, 0);
	data = slurp("one.tar.gz", &len);
	/* The whole archive in memory verifies; half of it does not. */
	nproblems = 0;
	cr_assert_eq(xtrk_bundle_verify_memory(&st, data, len, collect, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.problems, 0, "%s", problems[0]);
	cr_assert_eq(st.runs, 1);
	cr_assert(xtrk_bundle_verify_memory(&st, data, len / 2, NULL, NULL) < 0 || st.problems > 0);
	write_file("half.tar.gz", data, len / 2);
	cr_assert(xtrk_bundle_verify(&st, "half.tar.gz", NULL, NULL) < 0 || st.problems > 0);
	free(data);
	write_text("junk.tar", "this is not an archive at all");
	cr_assert(xtrk_bundle_verify(&st, "junk.tar", NULL, NULL) < 0 || st.problems > 0);
}

Test(bundle, create_refuses_a_run_whose_object_is_gone)
{
	xtrk_oid id = commit("lr=0.1", NULL);
	xtrk_bundle_options o = { 0, 0 };
	xtrk_bundle_stats st;
	char path[128];
	const char *hex = model_hex();
	snprintf(path, sizeof(path), ".xtrk/objects/%.2s/%s", hex, hex + 2);
	cr_assert_eq(unlink(path), 0);
	cr_assert_lt(xtrk_bundle_create(&st, repo, "gone.tar", &id, 1, &o), 0);
	cr_assert(strstr(xtrk_error_last(), hex), "%s", xtrk_error_last());
	cr_assert_eq(access("gone.tar", F_OK), -1);
	cr_assert_eq(system("test -z \"$(ls | grep gone.tar)\""), 0, "no temporary file is left");
}

Test(bundle, create_refuses_no_runs_and_a_run_named_twice)
{
	xtrk_oid ids[3];
	xtrk_bundle_options o = { 0, 0 };
	xtrk_bundle_stats st;
	ids[0] = commit("lr=0.1", NULL);
	ids[1] = commit("lr=0.2", NULL);
	ids[2] = ids[0];
	cr_assert_eq(xtrk_bundle_create(&st, repo, "none.tar", ids, 0, &o), XTRK_EINVALID);
	cr_assert_eq(xtrk_bundle_create(&st, repo, "twice.tar", ids, 3, &o), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), xtrk_oid_tostr(&ids[0])), "%s", xtrk_error_last());
	cr_assert_eq(access("none.tar", F_OK), -1);
	cr_assert_eq(access("twice.tar", F_OK), -1);
	cr_assert_eq(xtrk_bundle_create(&st, repo, "two.tar", ids, 2, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(st.runs, 2);
}

Test(bundle, runbook_says_what_ran_and_how_to_rebuild_it)
{
	json_error_t je;
	json_t *run = json_loads("{\"id\": \"0123456789abcdef0123456789abcdef\", \"experiment\": \"mnist\","
		"\"message\": \"try it\", \"status\": \"succeeded\", \"exit_code\": 0, \"seed\": 7, \"tags\": [\"best\"],"
		"\"command\": {\"argv\": [\"python3\", \"my script.py\", \"it's\"], \"cwd\": \"src\"},"
		"\"source\": {\"commit\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"branch\": \"main\", \"dirty\": true,"
		"\"patch\": \"ffffffffffffffffffffffffffffffff\", \"remotes\": {\"origin\": \"https://example.org/r.git\"}},"
		"\"params\": {\"lr\": 0.5}, \"metrics\": {\"acc\": 0.75},"
		"\"datasets\": [{\"name\": \"train\", \"path\": \"data\", \"kind\": \"tree\", \"id\": \"dddd\", \"files\": 2,"
		"\"bytes\": 10, \"source\": \"web\"}], \"models\": [], \"artifacts\": [],"
		"\"env\": {\"python\": {\"version\": \"3.11\", \"packages\": {\"numpy\": \"1.26\"}}}}", 0, &je);
	json_t *runs[2];
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_not_null(run, "%s", je.text);
	runs[0] = runs[1] = run;
	cr_assert_eq(xtrk_runbook_format(&b, runs, 1, "book.tar.gz", 1, 0), 0);
	cr_assert_eq(strncmp(b.ptr, "# Run book: 1 run\n", 18), 0, "%s", b.ptr);
	cr_assert(strstr(b.ptr, "## Run 0123456789abcdef0123456789abcdef\n"));
	cr_assert(strstr(b.ptr, "- experiment: mnist\n- message: try it\n- status: succeeded (exit 0)\n"), "%s", b.ptr);
	cr_assert(strstr(b.ptr, "- seed: 7\n"));
	cr_assert(strstr(b.ptr, "- tags: best\n"));
	cr_assert(strstr(b.ptr, "- command: `python3 'my script.py' 'it'\\''s'` in `src`\n"), "%s", b.ptr);
	cr_assert(strstr(b.ptr, "on branch main (carried in this bundle as source.pack)"));
	cr_assert(strstr(b.ptr, "patch `ffffffffffffffffffffffffffffffff`"));
	cr_assert(strstr(b.ptr, "- remote origin: https://example.org/r.git\n"));
	cr_assert(strstr(b.ptr, "| train | `data` | tree | `dddd` | 2 | 10 | web |\n"), "%s", b.ptr);
	cr_assert(strstr(b.ptr, "numpy==1.26\n"));
	cr_assert(strstr(b.ptr, "xtrk bundle verify ../book.tar.gz\nxtrk bundle import ../book.tar.gz\n"));
	cr_assert(strstr(b.ptr, "mkdir rebuild-0123456789ab && cd rebuild-0123456789ab\nxtrk init\n"), "%s", b.ptr);
	cr_assert(strstr(b.ptr, "xtrk checkout 0123456789abcdef0123456789abcdef     # a git repository at commit "
				"aaaaaaaaaaaa, the patch uncommitted (from the bundle)"), "%s", b.ptr);
	cr_assert(strstr(b.ptr, "\ncd src && xtrk run -e mnist -- python3 'my script.py'"), "%s", b.ptr);
	cr_assert_null(strstr(b.ptr, "import xtrk"), "an xtrk run run is not the Python package's");
	cr_assert_null(strstr(b.ptr, "--no-data"));
	xtrk_buf_clear(&b);
	cr_assert_eq(xtrk_runbook_format(&b, runs, 2, "b.tar", 0, 1), 0);
	cr_assert_eq(strncmp(b.ptr, "# Run book: 2 runs\n", 19), 0);
	cr_assert_null(strstr(b.ptr, "source.pack"));
	cr_assert(strstr(b.ptr, "git clone -- https://example.org/r.git rebuild-0123456789ab && cd rebuild-0123456789ab"),
		"%s", b.ptr);
	cr_assert(strstr(b.ptr, "made with --no-data"));
	xtrk_buf_dispose(&b);
	json_decref(run);
}

/* The run book's rebuild lines are shell: recorded text in them is quoted, or escaped in a comment. */
static size_t lines_starting(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

Test(bundle, runbook_rebuilds_a_binding_run_as_it_was_started)
{
	json_error_t je;
	/* Recorded by the Python package (no exit code), with hostile text in every field that reaches the shell. */
	json_t *run = json_loads("{\"id\": \"0123456789abcdef0123456789abcdef\", \"experiment\": \"fit\","
		"\"status\": \"succeeded\", \"exit_code\": null,"
		"\"command\": {\"argv\": [\"/opt/py\\nrm -rf ~\\n/bin/python3.11\", \"t.py\", \"$(touch x)\"],"
		"\"cwd\": \"a b\\ntouch y\"},"
		"\"source\": {\"commit\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"branch\": \"main\","
		"\"remotes\": {\"up\": \"https://h/x'; touch z; '\"}},"
		"\"env\": {\"python\": {\"version\": \"3.11\\nrm -rf /\", \"packages\": {}}}}", 0, &je);
	xtrk_buf b = XTRK_BUF_INIT;
	const char *sh;
	cr_assert_not_null(run, "%s", je.text);
	cr_assert_eq(xtrk_runbook_format(&b, &run, 1, "b.tar", 0, 0), 0);
	cr_assert_not_null((sh = strstr(b.ptr, "```sh\n")), "%s", b.ptr);
	cr_assert(strstr(sh, "# recorded through the xtrk Python package"), "%s", sh);
	cr_assert(strstr(sh, "pip install ./contrib/python"), "%s", sh);
	cr_assert(strstr(sh, "make install"), "%s", sh);
	/* Started as it was, the interpreter by its name; no `xtrk run` around it. */
	cr_assert(strstr(sh, "cd 'a b\ntouch y' && python3.11 t.py '$(touch x)'     # the package records the run"), "%s", sh);
	cr_assert_null(strstr(sh, "xtrk run"), "%s", sh);
	cr_assert(strstr(sh, "# the run's interpreter was /opt/py\\x0arm -rf ~\\x0a/bin/python3.11 (Python 3.11\\x0arm -rf /)\n"),
		"%s", sh);
	cr_assert(strstr(sh, "git clone -- 'https://h/x'\\''; touch z; '\\''' rebuild-0123456789ab"), "%s", sh);
	cr_assert_eq(lines_starting(sh, "rm "), 0, "%s", sh);
	cr_assert_eq(lines_starting(sh, "/bin/python"), 0, "%s", sh);
	xtrk_buf_dispose(&b);
	json_decref(run);
}
