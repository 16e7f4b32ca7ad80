/* Unit tests for the run index: segments written by commit, reopened, damaged or deleted, merged; lookups equal a scan. */
#include <dirent.h>
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

static xtrk_repo *repo;
static void setup(void) { tmpdir_enter(); setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1); repo = new_repo(); xtrk_warning_clear(); }
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(index, .init = setup, .fini = teardown);

static xtrk_oid commit(const char *exp, const char *p1, const char *p2)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { p1, p2 }, *metrics[] = { "acc=0.5" };
	xtrk_oid id;
	json_t *run;
	o.experiment = exp;
	o.params = params;
	o.nparams = p2 ? 2 : p1 ? 1 : 0;
	o.metrics = metrics;
	o.nmetrics = 1;
	cr_assert_eq(xtrk_run_commit(&id, &run, repo, &o), 0, "%s", xtrk_error_last());
	/* As commit-run does: whoever records a run indexes the record it built. */
	cr_assert_eq(xtrk_index_add(repo, &id, &run, 1), 0, "%s", xtrk_error_last());
	json_decref(run);
	return id;
}

static size_t find(const xtrk_index *ix, const xtrk_oid *id)
{
	for (size_t i = 0; i < xtrk_index_count(ix); i++)
		if (!xtrk_oid_cmp(xtrk_index_run(ix, i), id))
			return i;
	cr_assert_fail("run %s is not in the index", xtrk_oid_tostr(id));
	return 0;
}

/* The segment files, as paths; returns how many. */
static int segments(char paths[][256], int max)
{
	DIR *d = opendir(".xtrk/index");
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "seg-", 4) && n < max)
			snprintf(paths[n++], 256, ".xtrk/index/%.200s", de->d_name);
	closedir(d);
	return n;
}

static int value_is(const xtrk_value *v, json_t *leaf)
{
	if (json_is_string(leaf))
		return v->type == XTRK_VAL_STR && v->len == json_string_length(leaf) &&
			!memcmp(v->str, json_string_value(leaf), v->len);
	if (json_is_number(leaf))
		return v->type == XTRK_VAL_NUM && v->num == json_number_value(leaf);
	if (json_is_boolean(leaf))
		return v->type == XTRK_VAL_BOOL && v->num == (json_is_true(leaf) ? 1 : 0);
	return v->type == XTRK_VAL_NULL;
}

struct scan {
	json_t *flat;
	size_t fields, tags, wrong;
	char first_wrong[256];
};

static int scan_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	struct scan *s = payload;
	char k[256];
	json_t *leaf;
	snprintf(k, sizeof(k), "%.*s", (int)klen, key);
	if (!strncmp(k, "tags.", 5)) {
		s->tags++;
		return 0;
	}
	s->fields++;
	if (!(leaf = json_object_get(s->flat, k)) || !value_is(v, leaf)) {
		if (!s->wrong++)
			snprintf(s->first_wrong, sizeof(s->first_wrong), "%s", k);
	}
	return 0;
}

/* Every field of every run, through the index, is what the run object says, and nothing more. */
static void check_equals_scan(xtrk_index *ix)
{
	for (size_t i = 0; i < xtrk_index_count(ix); i++) {
		json_t *run, *leaf;
		const char *key;
		struct scan s;
		memset(&s, 0, sizeof(s));
		cr_assert_eq(xtrk_run_read_record(&run, repo, xtrk_index_run(ix, i)), 0, "%s", xtrk_error_last());
		s.flat = xtrk_run_flatten(run);
		cr_assert_str_eq(xtrk_index_experiment(ix, i), json_string_value(json_object_get(run, "experiment")));
		json_object_foreach(s.flat, key, leaf) {
			xtrk_index_key *k;
			xtrk_value v;
			cr_assert_eq(xtrk_index_key_new(&k, ix, key), 0);
			cr_assert(xtrk_index_get(&v, ix, i, k), "run %zu lacks '%s'", i, key);
			cr_assert(value_is(&v, leaf), "run %zu: '%s' differs", i, key);
			xtrk_index_key_free(k);
		}
		cr_assert_eq(xtrk_index_each(ix, i, scan_cb, &s), 0);
		cr_assert_eq(s.wrong, 0, "run %zu: '%s' differs", i, s.first_wrong);
		cr_assert_eq(s.fields, json_object_size(s.flat), "run %zu: %zu fields, the object has %zu", i, s.fields,
			json_object_size(s.flat));
		json_decref(s.flat);
		json_decref(run);
	}
}

static void open_ix(xtrk_index **ix, const char *exp)
{
	cr_assert_eq(xtrk_index_open(ix, repo, exp), 0, "%s", xtrk_error_last());
}

Test(index, runs_newest_first_and_by_experiment)
{
	xtrk_oid a = commit("x", "i=1", NULL), b = commit("y", "i=2", NULL), c = commit("x", "i=3", NULL);
	xtrk_index *ix;
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 3);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 0), &c), 0);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 1), &b), 0);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 2), &a), 0);
	cr_assert_str_eq(xtrk_index_experiment(ix, 0), "x");
	cr_assert_str_eq(xtrk_index_experiment(ix, 1), "y");
	xtrk_index_free(ix);
	open_ix(&ix, "x");
	cr_assert_eq(xtrk_index_count(ix), 2);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 0), &c), 0);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 1), &a), 0);
	xtrk_index_free(ix);
	open_ix(&ix, "nothing");
	cr_assert_eq(xtrk_index_count(ix), 0);
	xtrk_index_free(ix);
}

Test(index, values_keep_their_types)
{
	xtrk_oid a = commit("x", "lr=0.25", "name=adam"), b = commit("x", "flag=true", "n=[3,4]");
	xtrk_index *ix;
	xtrk_index_key *lr, *name, *flag, *missing, *id, *n0;
	xtrk_value v;
	size_t ia, ib;
	open_ix(&ix, NULL);
	ia = find(ix, &a);
	ib = find(ix, &b);
	cr_assert_eq(xtrk_index_key_new(&lr, ix, "params.lr"), 0);
	cr_assert_eq(xtrk_index_key_new(&name, ix, "params.name"), 0);
	cr_assert_eq(xtrk_index_key_new(&flag, ix, "params.flag"), 0);
	cr_assert_eq(xtrk_index_key_new(&missing, ix, "params.nobody.has.this"), 0, "an unknown key is valid");
	cr_assert_eq(xtrk_index_key_new(&id, ix, "id"), 0);
	cr_assert_eq(xtrk_index_key_new(&n0, ix, "params.n.1"), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, ia, lr), 1);
	cr_assert_eq(v.type, XTRK_VAL_NUM);
	cr_assert_eq(v.num, 0.25);
	cr_assert_eq(xtrk_index_get(&v, ix, ib, lr), 0, "run b has no lr");
	cr_assert_eq(xtrk_index_get(&v, ix, ia, name), 1);
	cr_assert_eq(v.type, XTRK_VAL_STR);
	cr_assert_eq(v.len, 4);
	cr_assert_eq(memcmp(v.str, "adam", 4), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, ib, flag), 1);
	cr_assert_eq(v.type, XTRK_VAL_BOOL);
	cr_assert_eq(v.num, 1);
	cr_assert_eq(xtrk_index_get(&v, ix, ib, n0), 1, "array elements are keyed by position");
	cr_assert_eq(v.num, 4);
	cr_assert_eq(xtrk_index_get(&v, ix, ia, missing), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, ib, missing), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, ia, id), 1);
	cr_assert_eq(v.len, 32);
	cr_assert_eq(strncmp(v.str, xtrk_oid_tostr(&a), 32), 0);
	xtrk_index_key_free(lr);
	xtrk_index_key_free(name);
	xtrk_index_key_free(flag);
	xtrk_index_key_free(missing);
	xtrk_index_key_free(id);
	xtrk_index_key_free(n0);
	xtrk_index_free(ix);
}

static int collect_keys(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	xtrk_buf *b = payload;
	(void)v;
	xtrk_buf_printf(b, "%.*s ", (int)klen, key);
	return 0;
}

Test(index, each_below_takes_only_the_keys_under_a_name)
{
	xtrk_oid a = commit("x", "a.b=1", "a.c=2"), b;
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { "a.z=1", "ab=2", "a-b=3", "a/x=4" };
	xtrk_index *ix;
	xtrk_index_key *k;
	xtrk_buf got = XTRK_BUF_INIT;
	o.params = params;
	o.nparams = 4;
	cr_assert_eq(xtrk_run_commit(&b, NULL, repo, &o), 0, "%s", xtrk_error_last());
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_key_new(&k, ix, "params.a"), 0);
	cr_assert_eq(xtrk_index_each_below(ix, find(ix, &a), k, collect_keys, &got), 0);
	cr_assert_str_eq(got.ptr, "params.a.b params.a.c ");
	xtrk_buf_clear(&got);
	/* "params.ab", "params.a-b" and "params.a/x" sort near "params.a." but are not below it. */
	cr_assert_eq(xtrk_index_each_below(ix, find(ix, &b), k, collect_keys, &got), 0);
	cr_assert_str_eq(got.ptr, "params.a.z ");
	xtrk_index_key_free(k);
	xtrk_buf_dispose(&got);
	xtrk_index_free(ix);
}

Test(index, tags_are_read_from_the_refs)
{
	xtrk_oid a = commit("x", "i=1", NULL), b = commit("x", "i=2", NULL);
	xtrk_index *ix;
	xtrk_index_key *t1, *tags;
	xtrk_value v;
	json_t *t;
	xtrk_buf got = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_refs_tag_create(repo, "zeta", &a, 0), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "alpha", &a, 0), 0);
	open_ix(&ix, NULL);
	t = xtrk_index_tags(ix, find(ix, &a));
	cr_assert_eq(json_array_size(t), 2);
	cr_assert_str_eq(json_string_value(json_array_get(t, 0)), "alpha");
	cr_assert_str_eq(json_string_value(json_array_get(t, 1)), "zeta");
	json_decref(t);
	t = xtrk_index_tags(ix, find(ix, &b));
	cr_assert(json_is_array(t));
	cr_assert_eq(json_array_size(t), 0);
	json_decref(t);
	cr_assert_eq(xtrk_index_key_new(&t1, ix, "tags.1"), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, find(ix, &a), t1), 1);
	cr_assert_eq(v.len, 4);
	cr_assert_eq(memcmp(v.str, "zeta", 4), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, find(ix, &b), t1), 0);
	cr_assert_eq(xtrk_index_key_new(&tags, ix, "tags"), 0);
	cr_assert_eq(xtrk_index_each_below(ix, find(ix, &a), tags, collect_keys, &got), 0);
	cr_assert_str_eq(got.ptr, "tags.0 tags.1 ");
	xtrk_index_key_free(t1);
	xtrk_index_key_free(tags);
	xtrk_index_free(ix);
	/* A tag added later is seen by the next open, though no segment changed. */
	cr_assert_eq(xtrk_refs_tag_create(repo, "late", &b, 0), 0);
	open_ix(&ix, NULL);
	t = xtrk_index_tags(ix, find(ix, &b));
	cr_assert_eq(json_array_size(t), 1);
	json_decref(t);
	xtrk_index_free(ix);
	xtrk_buf_dispose(&got);
}

Test(index, lookups_equal_a_scan_of_the_run_objects)
{
	xtrk_index *ix;
	mkdir("data", 0777);
	write_text("data/f", "some data");
	commit("x", "lr=0.1", "opt=adam");
	commit("y", "lr=0.01", "net.layers=[1,2,3]");
	{
		xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
		const char *d[] = { "train=data" }, *notes[] = { "why" };
		xtrk_oid id;
		o.datasets = d;
		o.ndatasets = 1;
		o.notes = notes;
		o.nnotes = 1;
		o.failed = 1;
		cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
	}
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 3);
	check_equals_scan(ix);
	xtrk_index_free(ix);
	/* The same from runs read from their objects (no index on disk). */
	cr_assert_eq(system("rm -rf .xtrk/index"), 0);
	open_ix(&ix, NULL);
	check_equals_scan(ix);
	xtrk_index_free(ix);
}

Test(index, commit_writes_a_segment_and_open_reads_it_without_the_objects)
{
	xtrk_oid a = commit("x", "i=1", NULL), b = commit("x", "i=2", NULL);
	size_t segs, runs;
	uint64_t bytes;
	xtrk_index *ix;
	xtrk_index_key *k;
	xtrk_value v;
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 2);
	cr_assert_eq(runs, 2);
	cr_assert_gt(bytes, 0);
	/* With the run objects gone, only the segments can answer. */
	cr_assert_eq(system("rm -f .xtrk/objects/pack/*"), 0);
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 2);
	cr_assert_eq(xtrk_index_key_new(&k, ix, "params.i"), 0);
	cr_assert_eq(xtrk_index_get(&v, ix, find(ix, &a), k), 1);
	cr_assert_eq(v.num, 1);
	cr_assert_eq(xtrk_index_get(&v, ix, find(ix, &b), k), 1);
	cr_assert_eq(v.num, 2);
	xtrk_index_key_free(k);
	xtrk_index_free(ix);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 2, "opening an up-to-date index writes nothing");
}

static void damage(const char *path, long at)
{
	FILE *f = fopen(path, "r+b");
	int c;
	cr_assert_not_null(f);
	fseek(f, at, SEEK_SET);
	c = fgetc(f);
	fseek(f, at, SEEK_SET);
	fputc(c ^ 0x20, f);
	fclose(f);
}

Test(index, a_damaged_segment_is_ignored_and_nothing_is_lost)
{
	xtrk_oid a = commit("x", "i=1", NULL), b = commit("x", "i=2", NULL), c = commit("y", "i=3", NULL);
	char paths[8][256];
	struct stat st;
	size_t segs, runs;
	uint64_t bytes;
	xtrk_index *ix;
	cr_assert_eq(segments(paths, 8), 3);
	/* One flipped byte deep inside, one past the header, one cut short. */
	cr_assert_eq(stat(paths[0], &st), 0);
	damage(paths[0], (long)st.st_size - 3);
	damage(paths[1], 130);
	cr_assert_eq(truncate(paths[2], 40), 0);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 0, "no damaged segment loads");
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 3);
	find(ix, &a);
	find(ix, &b);
	find(ix, &c);
	check_equals_scan(ix);
	xtrk_index_free(ix);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 1, "the runs were indexed again");
	cr_assert_eq(runs, 3);
}

Test(index, a_deleted_index_is_rebuilt_from_the_runs)
{
	size_t segs, runs, n;
	uint64_t bytes;
	xtrk_index *ix;
	commit("x", "i=1", NULL);
	commit("y", "i=2", NULL);
	cr_assert_eq(system("rm -rf .xtrk/index"), 0);
	open_ix(&ix, "x");
	cr_assert_eq(xtrk_index_count(ix), 1);
	xtrk_index_free(ix);
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 2);
	check_equals_scan(ix);
	xtrk_index_free(ix);
	cr_assert_eq(xtrk_index_rebuild(repo, &n), 0, "%s", xtrk_error_last());
	cr_assert_eq(n, 2);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 1);
	cr_assert_eq(runs, 2);
}

Test(index, a_run_no_ref_names_is_left_out)
{
	xtrk_oid a = commit("x", "i=1", NULL), b = commit("x", "i=2", NULL);
	char ref[256];
	xtrk_index *ix;
	snprintf(ref, sizeof(ref), ".xtrk/refs/experiments/x/%s", xtrk_oid_tostr(&b));
	cr_assert_eq(unlink(ref), 0);
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 1);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 0), &a), 0);
	xtrk_index_free(ix);
	/* Filed under another experiment, the same run shows there. */
	cr_assert_eq(xtrk_refs_add_run(repo, "z", &b), 0);
	open_ix(&ix, "z");
	cr_assert_eq(xtrk_index_count(ix), 1);
	cr_assert_eq(xtrk_oid_cmp(xtrk_index_run(ix, 0), &b), 0);
	cr_assert_str_eq(xtrk_index_experiment(ix, 0), "z");
	xtrk_index_free(ix);
}

Test(index, many_segments_are_merged_into_one_keeping_every_run)
{
	xtrk_oid ids[5] = { commit("x", "i=0", NULL), commit("x", "i=1", NULL), commit("x", "i=2", NULL),
		commit("y", "i=3", NULL), commit("y", "i=4", NULL) };
	size_t segs, runs;
	uint64_t bytes;
	xtrk_index *ix;
	/* Segments for 15 more subsets of the runs: 20 in all, more than are kept apart. */
	for (unsigned mask = 3, made = 0; made < 15; mask++) {
		xtrk_oid sub[5];
		json_t *recs[5];
		size_t n = 0;
		for (int i = 0; i < 5; i++)
			if (mask & (1u << i))
				sub[n++] = ids[i];
		if (n < 2)
			continue;
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(xtrk_run_read_record(&recs[i], repo, &sub[i]), 0, "%s", xtrk_error_last());
		cr_assert_eq(xtrk_index_add(repo, sub, recs, n), 0, "%s", xtrk_error_last());
		for (size_t i = 0; i < n; i++)
			json_decref(recs[i]);
		made++;
	}
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 20);
	/* Opened for one experiment, the merge keeps the runs of the other. */
	open_ix(&ix, "x");
	cr_assert_eq(xtrk_index_count(ix), 3);
	check_equals_scan(ix);
	xtrk_index_free(ix);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 1);
	cr_assert_eq(runs, 5);
	cr_assert_eq(access(".xtrk/index/merge.lock", F_OK), -1, "the merge lock is released");
	cr_assert_eq(system("rm -f .xtrk/objects/pack/*"), 0);
	open_ix(&ix, NULL);
	cr_assert_eq(xtrk_index_count(ix), 5, "every run is answered from the merged segment");
	xtrk_index_free(ix);
}

Test(index, add_refuses_a_record_that_is_not_a_run)
{
	xtrk_oid ids[2];
	json_t *recs[2] = { json_pack("{s:s}", "experiment", "x"), NULL };
	json_t *bad[] = { NULL, json_object(), json_pack("{s:i}", "experiment", 1), json_string("x") };
	size_t segs, runs;
	uint64_t bytes;
	xtrk_oid_hash(&ids[0], "one", 3);
	xtrk_oid_hash(&ids[1], "two", 3);
	/* Each with a good record before it: the whole call is refused, nothing is written. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		recs[1] = bad[i];
		cr_assert_eq(xtrk_index_add(repo, ids, recs, 2), XTRK_EINVALID, "bad record %zu", i);
		cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
		cr_assert_eq(segs, 0, "bad record %zu", i);
		json_decref(bad[i]);
	}
	json_decref(recs[0]);
}

Test(index, a_commit_alone_writes_no_segment_its_caller_indexes_the_run)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	xtrk_index *ix;
	size_t segs, runs;
	uint64_t bytes;
	xtrk_oid id;
	json_t *run;
	o.experiment = "x";
	cr_assert_eq(xtrk_run_commit(&id, &run, repo, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 0, "the run layer does not write the index");
	cr_assert_eq(xtrk_index_add(repo, &id, &run, 1), 0, "%s", xtrk_error_last());
	json_decref(run);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 1);
	cr_assert_eq(runs, 1);
	/* The segment written from the record in memory answers as one built from the object. */
	open_ix(&ix, NULL);
	check_equals_scan(ix);
	xtrk_index_free(ix);
	cr_assert_eq(xtrk_index_stats(repo, &segs, &runs, &bytes), 0);
	cr_assert_eq(segs, 1, "nothing was missing from it");
}

Test(index, flatten_keys_records_as_the_index_stores_them)
{
	json_error_t je;
	json_t *run = json_loads("{\"id\": \"x\", \"tags\": [\"t\"], \"params\": {\"a\": {\"b\": 1}, \"l\": [true, null]},"
		"\"datasets\": [{\"name\": \"train\", \"id\": \"d1\"}, {\"id\": \"d2\"}], \"notes\": [\"n0\", \"n1\"],"
		"\"message\": \"m\", \"empty\": {}}", 0, &je);
	json_t *flat;
	cr_assert_not_null(run, "%s", je.text);
	flat = xtrk_run_flatten(run);
	cr_assert_eq(json_integer_value(json_object_get(flat, "params.a.b")), 1);
	cr_assert(json_is_true(json_object_get(flat, "params.l.0")));
	cr_assert(json_is_null(json_object_get(flat, "params.l.1")));
	cr_assert_str_eq(json_string_value(json_object_get(flat, "datasets.train.id")), "d1");
	cr_assert_str_eq(json_string_value(json_object_get(flat, "datasets.train.name")), "train");
	cr_assert_str_eq(json_string_value(json_object_get(flat, "datasets.1.id")), "d2", "no name: by position");
	cr_assert_str_eq(json_string_value(json_object_get(flat, "notes.1")), "n1");
	cr_assert_str_eq(json_string_value(json_object_get(flat, "message")), "m");
	cr_assert_null(json_object_get(flat, "id"));
	cr_assert_null(json_object_get(flat, "tags.0"));
	cr_assert_null(json_object_get(flat, "empty"));
	cr_assert_eq(json_object_size(flat), 9);
	json_decref(flat);
	json_decref(run);
}

static void canon_is(const char *in, const char *want)
{
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_field_canon(&b, in, strlen(in)), 0, "%s: %s", in, xtrk_error_last());
	cr_assert_str_eq(b.ptr, want, "%s", in);
	xtrk_buf_dispose(&b);
}

static void canon_refused(const char *in)
{
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_field_canon(&b, in, strlen(in)), XTRK_EINVALID, "%s was accepted", in);
	xtrk_buf_dispose(&b);
}

Test(index, field_names_have_one_written_form)
{
	xtrk_buf b = XTRK_BUF_INIT;
	const char *parts[] = { "models", "model.pt", "bytes" };
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(xtrk_field_append(&b, parts[i], strlen(parts[i])), 0);
	cr_assert_str_eq(b.ptr, "models[model.pt].bytes");
	xtrk_buf_clear(&b);
	xtrk_field_append(&b, "params", 6);
	xtrk_field_append(&b, "a]b\\c", 5);
	xtrk_field_append(&b, "", 0);
	xtrk_field_append(&b, "0", 1);
	cr_assert_str_eq(b.ptr, "params[a\\]b\\\\c][].0");
	xtrk_buf_dispose(&b);
	canon_is("params.lr", "params.lr");
	canon_is("datasets[train].id", "datasets.train.id");
	canon_is("models.[model.pt].bytes", "models[model.pt].bytes");
	canon_is("models[model.pt].bytes", "models[model.pt].bytes");
	canon_is("params[a\\]b\\\\c][].0", "params[a\\]b\\\\c][].0");
	canon_is("[env].os", "env.os");
	canon_is("tags.0", "tags.0");
	canon_refused("");
	canon_refused("params..lr");
	canon_refused("params.lr.");
	canon_refused(".lr");
	canon_refused("models[model.pt");
	canon_refused("models[a]b");
	canon_refused("params.a b");
	canon_refused("a]b");
	cr_assert_eq(xtrk_field_span("models[a b].x == 1"), strlen("models[a b].x"));
	cr_assert_eq(xtrk_field_span("p[a\\]b] > 1"), strlen("p[a\\]b]"));
	cr_assert(xtrk_field_below("models[a.b].x", 13, "models", 6));
	cr_assert(xtrk_field_below("models.a", 8, "models", 6));
	cr_assert(!xtrk_field_below("modelsx", 7, "models", 6));
	cr_assert(!xtrk_field_below("models", 6, "models", 6));
}
