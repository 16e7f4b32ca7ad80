/* Unit tests for runs: committing through the library, reading, listing, revisions, rules. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

static xtrk_repo *repo;
static void setup(void) { tmpdir_enter(); setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1); repo = new_repo(); xtrk_warning_clear(); }
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(run, .init = setup, .fini = teardown);

static xtrk_oid commit(const char *exp, const char *param)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { param };
	xtrk_oid id;
	o.experiment = exp;
	o.params = params;
	o.nparams = param ? 1 : 0;
	cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
	return id;
}

Test(run, commit_read_roundtrip)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *params[] = { "lr=0.5", "layers.n=3" }, *metrics[] = { "acc=0.75" }, *data[] = { "d=data@web" };
	xtrk_oid id;
	json_t *run, *back;
	mkdir("data", 0777);
	write_text("data/x", "x");
	o.experiment = "e1";
	o.message = "hello";
	o.params = params; o.nparams = 2;
	o.metrics = metrics; o.nmetrics = 1;
	o.datasets = data; o.ndatasets = 1;
	cr_assert_eq(xtrk_run_commit(&id, &run, repo, &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_run_read(&back, repo, &id), 0);
	cr_assert_str_eq(json_string_value(json_object_get(back, "id")), xtrk_oid_tostr(&id));
	cr_assert_str_eq(json_string_value(json_object_get(back, "message")), "hello");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(back, "params"), "layers"), "n")), 3);
	cr_assert_eq(json_real_value(json_object_get(json_object_get(back, "metrics"), "acc")), 0.75);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(back, "datasets"), 0), "source")), "web");
	cr_assert(json_equal(run, back), "what commit returned is what read returns");
	json_decref(run);
	json_decref(back);
}

Test(run, list_is_newest_first_and_filtered)
{
	xtrk_oid a = commit("x", "i=1"), b = commit("y", "i=2"), c = commit("x", "i=3");
	xtrk_run_item *items;
	size_t n;
	cr_assert_eq(xtrk_runs_list(&items, &n, repo, NULL), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(xtrk_oid_cmp(&items[0].id, &c), 0);
	cr_assert_eq(xtrk_oid_cmp(&items[1].id, &b), 0);
	cr_assert_eq(xtrk_oid_cmp(&items[2].id, &a), 0);
	xtrk_runs_free(items, n);
	cr_assert_eq(xtrk_runs_list(&items, &n, repo, "x"), 0);
	cr_assert_eq(n, 2);
	xtrk_runs_free(items, n);
}

Test(run, revisions)
{
	xtrk_oid a = commit("x", "i=1"), b = commit("x", "i=2"), got;
	char prefix[9];
	cr_assert_eq(xtrk_run_resolve(&got, repo, "x"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &b), 0);
	cr_assert_eq(xtrk_run_resolve(&got, repo, "x~1"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &a), 0);
	cr_assert_eq(xtrk_run_resolve(&got, repo, "x~2"), XTRK_ENOTFOUND);
	snprintf(prefix, sizeof(prefix), "%.8s", xtrk_oid_tostr(&a));
	cr_assert_eq(xtrk_run_resolve(&got, repo, prefix), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &a), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "t", &a, 0), 0);
	cr_assert_eq(xtrk_run_resolve(&got, repo, "t"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &a), 0);
	cr_assert_eq(xtrk_run_resolve(&got, repo, "zzz"), XTRK_ENOTFOUND);
	cr_assert_eq(xtrk_run_resolve(&got, repo, ""), XTRK_EINVALID);
}

Test(run, rules_refuse_before_writing)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	xtrk_oid id;
	FILE *f = fopen(".xtrk/config", "a");
	fputs("[require]\n\tparams = lr\n", f);
	fclose(f);
	xtrk_repo_free(repo);
	cr_assert_eq(xtrk_repo_open(&repo, "."), 0);
	cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), XTRK_ERULE);
	cr_assert(strstr(xtrk_error_last(), "require.params"));
	cr_assert(strstr(xtrk_error_last(), "'lr'"));
	cr_assert_eq(system("test -z \"$(ls .xtrk/objects/pack)\""), 0, "nothing was written");
}

Test(run, data_spec_parsing)
{
	char *n, *p, *s;
	cr_assert_eq(xtrk_data_spec_parse(&n, &p, &s, "train=data/t@s3://b/k", 1), 0);
	cr_assert_str_eq(n, "train"); cr_assert_str_eq(p, "data/t"); cr_assert_str_eq(s, "s3://b/k");
	free(n); free(p); free(s);
	cr_assert_eq(xtrk_data_spec_parse(&n, &p, &s, "data/a=b", 1), 0);
	cr_assert_null(n); cr_assert_str_eq(p, "data/a=b"); cr_assert_null(s);
	free(p);
	cr_assert_eq(xtrk_data_spec_parse(&n, &p, &s, "m=w@x", 0), 0);
	cr_assert_str_eq(p, "w@x"); cr_assert_null(s);
	free(n); free(p);
	cr_assert_eq(xtrk_data_spec_parse(&n, &p, &s, "bad name=x", 1), XTRK_EINVALID);
	cr_assert_eq(xtrk_data_spec_parse(&n, &p, &s, "x=", 1), XTRK_EINVALID);
}

Test(run, time_format)
{
	char t[40];
	xtrk_format_time(t, 1767225600.25);
	cr_assert_str_eq(t, "2026-01-01T00:00:00.250000Z");
}
