/* Unit tests for tree objects and the snapshot walker. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/snapshot.h"
#include "xtrk/statcache.h"
#include "xtrk/tree.h"

static const char golden_text[] =
	"100644 blob 99aa06d3014798d86001c324468d497f 0 1\tempty\n"
	"100755 blob b5e9c1ad071b3e7fc779cfaa5e523818 5 1\thello.sh\n"
	"120000 link b5e9c1ad071b3e7fc779cfaa5e523818 5 1\tlink\n"
	"040000 tree 0123456789abcdef0123456789abcdef 10 2\tsub dir\n";

Test(tree, parses_every_kind)
{
	xtrk_tree *t;
	cr_assert_eq(xtrk_tree_parse(&t, golden_text, strlen(golden_text)), 0, "%s", xtrk_error_last());
	cr_assert_eq(t->count, 4);
	cr_assert_eq(t->entries[0].kind, XTRK_ENTRY_BLOB);
	cr_assert_eq(t->entries[1].mode, 0100755);
	cr_assert_eq(t->entries[2].kind, XTRK_ENTRY_LINK);
	cr_assert_eq(t->entries[3].kind, XTRK_ENTRY_TREE);
	cr_assert_str_eq(t->entries[3].name, "sub dir");
	cr_assert_eq(t->entries[3].bytes, 10);
	cr_assert_eq(t->entries[3].files, 2);
	xtrk_tree_free(t);
}

Test(tree, format_and_parse_roundtrip_is_the_golden_text)
{
	xtrk_tree *t;
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_tree_parse(&t, golden_text, strlen(golden_text)), 0);
	for (size_t i = 0; i < t->count; i++)
		xtrk_tree_format_entry(&b, &t->entries[i]);
	cr_assert_str_eq(b.ptr, golden_text);
	xtrk_tree_free(t);
	xtrk_buf_dispose(&b);
}

Test(tree, golden_fixture_keeps_its_id)
{
	/* tests/data/golden-tree.txt pins the on-disk format: its ID must not drift. */
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_oid id;
	const char *src = getenv("XTRK_TEST_SRCDIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/golden-tree.txt", src ? src : ".");
	cr_assert_eq(xtrk_buf_read_file(&b, path), 0, "%s", xtrk_error_last());
	cr_assert_str_eq(b.ptr, golden_text);
	xtrk_oid_hash(&id, b.ptr, b.size);
	cr_assert_str_eq(xtrk_oid_tostr(&id), "c3666d57a972e3e6508f92eb0fc6c83e");
	xtrk_buf_dispose(&b);
}

static void expect_bad(const char *text)
{
	xtrk_tree *t = NULL;
	cr_assert_eq(xtrk_tree_parse(&t, text, strlen(text)), XTRK_ECORRUPT, "accepted: %s", text);
	cr_assert_null(t);
}

Test(tree, rejects_hostile_names_and_malformed_lines)
{
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\t..\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\t.\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\ta/b\n");
	expect_bad("040000 tree 99aa06d3014798d86001c324468d497f 0 1\t.git\n");
	expect_bad("040000 tree 99aa06d3014798d86001c324468d497f 0 1\t.XTRK\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\t\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\tb\n"
		   "100644 blob 99aa06d3014798d86001c324468d497f 0 1\ta\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\ta\n"
		   "100644 blob 99aa06d3014798d86001c324468d497f 0 1\ta\n");
	expect_bad("100644 tree 99aa06d3014798d86001c324468d497f 0 1\ta\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497 0 1\ta\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f x 1\ta\n");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 1\ta");
	expect_bad("100644 blob 99aa06d3014798d86001c324468d497f 0 2\ta\n");
}

Test(tree, empty_tree_is_valid)
{
	xtrk_tree *t;
	cr_assert_eq(xtrk_tree_parse(&t, "", 0), 0);
	cr_assert_eq(t->count, 0);
	xtrk_tree_free(t);
}

Test(snapshot, folder_becomes_nested_trees_with_totals)
{
	xtrk_repo *repo;
	xtrk_txn *txn;
	xtrk_snapshot snap;
	xtrk_tree *t;

	tmpdir_enter();
	repo = new_repo();
	mkdir("d", 0777);
	mkdir("d/sub", 0777);
	write_text("d/b.txt", "bbb");
	write_text("d/a.txt", "a");
	write_text("d/sub/c.txt", "cc");
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
	cr_assert_eq(xtrk_snapshot_path(&snap, repo, txn, "d", NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(txn), 0);
	xtrk_txn_free(txn);
	cr_assert(snap.is_tree);
	cr_assert_eq(snap.files, 3);
	cr_assert_eq(snap.bytes, 6);
	cr_assert_eq(xtrk_tree_read(&t, xtrk_repo_odb(repo), &snap.id), 0);
	cr_assert_eq(t->count, 3);
	cr_assert_str_eq(t->entries[0].name, "a.txt");
	cr_assert_str_eq(t->entries[1].name, "b.txt");
	cr_assert_str_eq(t->entries[2].name, "sub");
	cr_assert_eq(t->entries[2].files, 1);
	cr_assert_eq(t->entries[2].bytes, 2);
	xtrk_tree_free(t);
	xtrk_repo_free(repo);
	tmpdir_leave();
}

Test(snapshot, stat_cache_skips_unchanged_files)
{
	xtrk_repo *repo;
	xtrk_txn *txn;
	xtrk_statcache *cache;
	xtrk_snapshot a, b;
	xtrk_snapshot_options o = XTRK_SNAPSHOT_OPTIONS_INIT;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	tmpdir_enter();
	repo = new_repo();
	mkdir("d", 0777);
	write_text("d/x", "one");
	write_text("d/y", "two");
	/* Old mtimes: safely before any snapshot, so not "racily clean". */
	utimensat(AT_FDCWD, "d/x", old, 0);
	utimensat(AT_FDCWD, "d/y", old, 0);
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(xtrk_statcache_open(&cache, repo), 0);
		o.cache = cache;
		cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
		cr_assert_eq(xtrk_snapshot_path(round ? &b : &a, repo, txn, "d", &o), 0);
		cr_assert_eq(xtrk_txn_commit(txn), 0);
		xtrk_txn_free(txn);
		cr_assert_eq(xtrk_statcache_save(cache), 0);
		xtrk_statcache_free(cache);
	}
	cr_assert_eq(a.hashed_files, 2);
	cr_assert_eq(b.hashed_files, 0, "nothing re-read the second time");
	cr_assert_eq(xtrk_oid_cmp(&a.id, &b.id), 0);
	xtrk_repo_free(repo);
	tmpdir_leave();
}

Test(snapshot, missing_path)
{
	xtrk_repo *repo;
	xtrk_txn *txn;
	xtrk_snapshot s;
	tmpdir_enter();
	repo = new_repo();
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
	cr_assert_eq(xtrk_snapshot_path(&s, repo, txn, "nope", NULL), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "'nope' does not exist"));
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	tmpdir_leave();
}
