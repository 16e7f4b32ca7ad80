/* Unit tests for refs: names, run sets, tags and lock files. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/refs.h"

static xtrk_repo *repo;
static void setup(void) { tmpdir_enter(); repo = new_repo(); }
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(refs, .init = setup, .fini = teardown);

Test(refs, name_rules)
{
	cr_assert(xtrk_ref_name_valid("mnist-v2_final.1"));
	cr_assert_not(xtrk_ref_name_valid(""));
	cr_assert_not(xtrk_ref_name_valid(".hidden"));
	cr_assert_not(xtrk_ref_name_valid("-flag"));
	cr_assert_not(xtrk_ref_name_valid("a/b"));
	cr_assert_not(xtrk_ref_name_valid("a..b"));
	cr_assert_not(xtrk_ref_name_valid("x.lock"));
	cr_assert_not(xtrk_ref_name_valid("sp ace"));
}

Test(refs, runs_are_a_set_per_experiment)
{
	xtrk_oid a, b;
	xtrk_run_ref *list;
	size_t n;
	xtrk_oid_hash(&a, "a", 1);
	xtrk_oid_hash(&b, "b", 1);
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &a), 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &b), 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "other", &a), 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &a), 0, "adding twice is harmless");
	cr_assert_eq(xtrk_refs_list_runs(&list, &n, repo, "exp"), 0);
	cr_assert_eq(n, 2);
	free(list);
	cr_assert_eq(xtrk_refs_list_runs(&list, &n, repo, NULL), 0);
	cr_assert_eq(n, 3);
	free(list);
	cr_assert_eq(xtrk_refs_list_runs(&list, &n, repo, "none"), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "../x", &a), XTRK_EINVALID);
}

Test(refs, tags)
{
	xtrk_oid a, b, got;
	char **names;
	xtrk_oid *targets;
	size_t n;
	xtrk_oid_hash(&a, "a", 1);
	xtrk_oid_hash(&b, "b", 1);
	cr_assert_eq(xtrk_refs_tag_create(repo, "best", &a, 0), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "best", &a, 0), 0, "the same target again is fine");
	cr_assert_eq(xtrk_refs_tag_create(repo, "best", &b, 0), XTRK_EEXISTS);
	cr_assert(strstr(xtrk_error_last(), "already names run"));
	cr_assert_eq(xtrk_refs_tag_lookup(&got, repo, "best"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &a), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "best", &b, 1), 0, "forced");
	cr_assert_eq(xtrk_refs_tag_lookup(&got, repo, "best"), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &b), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "alpha", &a, 0), 0);
	cr_assert_eq(xtrk_refs_tags(&names, &targets, &n, repo), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "alpha");
	cr_assert_str_eq(names[1], "best");
	xtrk_refs_tags_free(names, targets, n);
	cr_assert_eq(xtrk_refs_tag_lookup(&got, repo, "nope"), XTRK_ENOTFOUND);
}

Test(refs, a_held_lock_is_reported_and_nothing_changes)
{
	xtrk_oid a;
	xtrk_oid_hash(&a, "a", 1);
	setenv("XTRK_LOCK_TIMEOUT_MS", "50", 1);
	write_text(".xtrk/refs/tags/busy.lock", "");
	cr_assert_eq(xtrk_refs_tag_create(repo, "busy", &a, 0), XTRK_ELOCKED);
	cr_assert(strstr(xtrk_error_last(), "busy.lock"));
	cr_assert_neq(access(".xtrk/refs/tags/busy", F_OK), 0);
	unsetenv("XTRK_LOCK_TIMEOUT_MS");
}

Test(refs, a_ref_is_written_whole)
{
	xtrk_oid a, got;
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_oid_hash(&a, "a", 1);
	cr_assert_eq(xtrk_refs_tag_create(repo, "t", &a, 0), 0);
	cr_assert_eq(xtrk_buf_read_file(&b, ".xtrk/refs/tags/t"), 0);
	cr_assert_eq(b.size, 33);
	cr_assert_eq(access(".xtrk/refs/tags/t.lock", F_OK), -1, "no lock left behind");
	write_text(".xtrk/refs/tags/t", "garbage\n");
	cr_assert_eq(xtrk_refs_tag_lookup(&got, repo, "t"), XTRK_ECORRUPT);
	xtrk_buf_dispose(&b);
}
