/* Unit tests for removing runs from listings and restoring them (xtrk rm), and for new refs written together. */
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"

static xtrk_repo *repo;
static void setup(void) { tmpdir_enter(); repo = new_repo(); }
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(removed, .init = setup, .fini = teardown);

static size_t live(const char *exp)
{
	xtrk_run_ref *list;
	size_t n;
	cr_assert_eq(xtrk_refs_list_runs(&list, &n, repo, exp), 0);
	free(list);
	return n;
}

static size_t gone(void)
{
	xtrk_run_ref *list;
	size_t n;
	cr_assert_eq(xtrk_removed_list(&list, &n, repo), 0);
	free(list);
	return n;
}

Test(removed, remove_and_restore_move_the_ref_only)
{
	xtrk_oid a, b, got;
	size_t moved;
	xtrk_oid_hash(&a, "a", 1);
	xtrk_oid_hash(&b, "b", 1);
	/* refs alone: the runs' objects do not exist, as for a run whose object is missing */
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &a), 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "other", &a), 0);
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &b), 0);
	cr_assert_eq(xtrk_run_remove(repo, &a, &moved), 0, "%s", xtrk_error_last());
	cr_assert_eq(moved, 2, "removed from every experiment that lists it");
	cr_assert_eq(live(NULL), 1);
	cr_assert_eq(gone(), 2);
	cr_assert_eq(xtrk_run_remove(repo, &a, &moved), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "already removed"), "%s", xtrk_error_last());
	cr_assert_eq(xtrk_removed_resolve(&got, repo, xtrk_oid_tostr(&a)), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &a), 0);
	cr_assert_eq(xtrk_removed_resolve(&got, repo, xtrk_oid_tostr(&b)), XTRK_ENOTFOUND, "b is live");
	cr_assert_eq(xtrk_run_restore(repo, &a, &moved), 0, "%s", xtrk_error_last());
	cr_assert_eq(moved, 2);
	cr_assert_eq(live("exp"), 2);
	cr_assert_eq(live("other"), 1);
	cr_assert_eq(gone(), 0);
	cr_assert_eq(xtrk_run_restore(repo, &a, &moved), XTRK_ENOTFOUND);
}

Test(removed, a_held_lock_stops_the_move_and_changes_nothing)
{
	xtrk_oid a;
	char lock[256];
	FILE *f;
	xtrk_oid_hash(&a, "a", 1);
	cr_assert_eq(xtrk_refs_add_run(repo, "exp", &a), 0);
	snprintf(lock, sizeof(lock), ".xtrk/refs/experiments/exp/%s.lock", xtrk_oid_tostr(&a));
	cr_assert_not_null(f = fopen(lock, "w"));
	fclose(f);
	cr_assert_eq(xtrk_run_remove(repo, &a, NULL), XTRK_ELOCKED);
	cr_assert_eq(live("exp"), 1);
	cr_assert_eq(gone(), 0);
	unlink(lock);
	cr_assert_eq(xtrk_run_remove(repo, &a, NULL), 0);
}

Test(removed, prefixes_of_removed_runs)
{
	xtrk_oid ids[40], got;
	char hex[XTRK_OID_HEXSZ + 1];
	for (int i = 0; i < 40; i++) {
		char c = (char)i;
		xtrk_oid_hash(&ids[i], &c, 1);
		cr_assert_eq(xtrk_refs_add_run(repo, "exp", &ids[i]), 0);
		cr_assert_eq(xtrk_run_remove(repo, &ids[i], NULL), 0);
	}
	snprintf(hex, sizeof(hex), "%s", xtrk_oid_tostr(&ids[7]));
	hex[12] = 0;
	cr_assert_eq(xtrk_removed_resolve(&got, repo, hex), 0);
	cr_assert_eq(xtrk_oid_cmp(&got, &ids[7]), 0);
	cr_assert_eq(xtrk_removed_resolve(&got, repo, "abc"), XTRK_ENOTFOUND, "too short");
	cr_assert_eq(xtrk_removed_resolve(&got, repo, "exp"), XTRK_ENOTFOUND, "not hex");
	hex[1] = 0; /* one hex digit: 40 runs share some first digits, but it is too short anyway */
	cr_assert_eq(xtrk_removed_resolve(&got, repo, hex), XTRK_ENOTFOUND);
}

Test(removed, new_refs_written_together)
{
	const char *names[] = { "a", "b", "c" }, *contents[] = { "1\n", "2\n", "3\n" };
	char buf[8] = { 0 };
	FILE *f;
	mkdir(".xtrk/refs/tags", 0777);
	cr_assert_not_null(f = fopen(".xtrk/refs/tags/b", "w"));
	fputs("old\n", f);
	fclose(f);
	cr_assert_eq(xtrk_refs_write_new(repo, "refs/tags", names, contents, 3), 0, "%s", xtrk_error_last());
	cr_assert_not_null(f = fopen(".xtrk/refs/tags/c", "r"));
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "3\n");
	cr_assert_not_null(f = fopen(".xtrk/refs/tags/b", "r"));
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "old\n", "an existing ref is left as it is");
	cr_assert_geq(xtrk_warning_count(), 1);
	xtrk_warning_clear();
	cr_assert_neq(access(".xtrk/refs/tags/a.lock", F_OK), 0);
	const char *bad[] = { "../x" };
	cr_assert_eq(xtrk_refs_write_new(repo, "refs/tags", bad, contents, 1), XTRK_EINVALID);
}
