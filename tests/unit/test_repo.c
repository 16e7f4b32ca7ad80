/* Unit tests for workspaces: init, discovery, config and workspace-relative paths. */
#include <sys/stat.h>

#include "helpers.h"

Test(repo, init_is_idempotent)
{
	xtrk_repo *r;
	int created;
	tmpdir_enter();
	cr_assert_eq(xtrk_repo_init(&r, ".", &created), 0);
	cr_assert_eq(created, 1);
	xtrk_repo_free(r);
	cr_assert_eq(xtrk_repo_init(&r, ".", &created), 0);
	cr_assert_eq(created, 0);
	xtrk_repo_free(r);
	tmpdir_leave();
}

Test(repo, init_refuses_a_file_named_xtrk)
{
	xtrk_repo *r;
	int created;
	tmpdir_enter();
	write_text(".xtrk", "not a folder");
	cr_assert_eq(xtrk_repo_init(&r, ".", &created), XTRK_EEXISTS);
	tmpdir_leave();
}

Test(repo, discover_walks_up)
{
	xtrk_repo *r = NULL;
	xtrk_buf ws = XTRK_BUF_INIT;
	const char *top = tmpdir_enter();
	char real[512];
	r = new_repo();
	xtrk_repo_free(r);
	mkdir("a", 0777);
	mkdir("a/b", 0777);
	unsetenv("XTRK_DIR");
	cr_assert_eq(xtrk_repo_discover(&ws, "a/b"), 0);
	cr_assert_not_null(realpath(top, real));
	cr_assert_str_eq(ws.ptr, real);
	xtrk_buf_dispose(&ws);
	tmpdir_leave();
}

Test(repo, relpath_inside_outside_and_store)
{
	xtrk_repo *r;
	xtrk_buf rel = XTRK_BUF_INIT;
	tmpdir_enter();
	r = new_repo();
	mkdir("d", 0777);
	write_text("d/f", "x");
	cr_assert_eq(xtrk_repo_relpath(&rel, r, "d/f"), 0);
	cr_assert_str_eq(rel.ptr, "d/f");
	cr_assert_eq(xtrk_repo_relpath(&rel, r, "d/"), 0);
	cr_assert_str_eq(rel.ptr, "d");
	cr_assert_eq(xtrk_repo_relpath(&rel, r, "."), 0);
	cr_assert_str_eq(rel.ptr, ".");
	cr_assert_eq(xtrk_repo_relpath(&rel, r, "/etc/passwd"), XTRK_EINVALID);
	cr_assert_eq(xtrk_repo_relpath(&rel, r, ".."), XTRK_EINVALID);
	cr_assert_eq(xtrk_repo_relpath(&rel, r, ".xtrk/config"), XTRK_EINVALID);
	xtrk_buf_dispose(&rel);
	xtrk_repo_free(r);
	tmpdir_leave();
}

Test(repo, config_values)
{
	xtrk_repo *r;
	xtrk_buf v = XTRK_BUF_INIT;
	int b;
	tmpdir_enter();
	r = new_repo();
	cr_assert_eq(xtrk_repo_config_bool(&b, r, "capture.python", 1), 0);
	cr_assert_eq(b, 0);
	cr_assert_eq(xtrk_repo_config_bool(&b, r, "no.such", 1), 0);
	cr_assert_eq(b, 1);
	cr_assert_eq(xtrk_repo_config_string(&v, r, "core.format"), 0);
	cr_assert_str_eq(v.ptr, "1");
	cr_assert_eq(xtrk_repo_config_string(&v, r, "core.nothing"), XTRK_ENOTFOUND);
	xtrk_buf_dispose(&v);
	xtrk_repo_free(r);
	tmpdir_leave();
}

Test(repo, a_bare_store_is_told_by_its_parsed_config)
{
	xtrk_repo *r;
	tmpdir_enter();
	cr_assert_eq(xtrk_store_init("remote"), 0);
	cr_assert_eq(xtrk_store_is_bare("remote"), 1);
	/* A workspace's store says nothing of bare: not a bare store; nor is a folder without one. */
	r = new_repo();
	xtrk_repo_free(r);
	cr_assert_eq(xtrk_store_is_bare(".xtrk"), 0);
	cr_assert_eq(xtrk_store_is_bare("."), 0);
	cr_assert_eq(xtrk_store_is_bare("nothere"), 0);
	/* The words in a comment or another key are not the setting. */
	mkdir("fake", 0777);
	mkdir("fake/objects", 0777);
	write_text("fake/config", "# bare = true\n[core]\n\tformat = 1\n\tnotbare = true\n");
	cr_assert_eq(xtrk_store_is_bare("fake"), 0);
	write_text("fake/config", "[core]\n\tbare = false\n");
	cr_assert_eq(xtrk_store_is_bare("fake"), 0);
	/* An unreadable config and a store without objects/ are not bare stores either. */
	write_text("fake/config", "[core\n\tbare = true\n");
	cr_assert_eq(xtrk_store_is_bare("fake"), 0);
	write_text("fake/config", "[core]\n\tbare = true\n");
	cr_assert_eq(xtrk_store_is_bare("fake"), 1);
	rmdir("fake/objects");
	cr_assert_eq(xtrk_store_is_bare("fake"), 0);
	tmpdir_leave();
}
