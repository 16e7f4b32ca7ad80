/*
 * Fuzz the check of source paths that checkout may write: the first byte
 * chooses what the rest is.
 *   0: a path for xtrk_path_unsafe; an accepted one is checked again here,
 *      independently: relative, no control character, no '.', '..', empty,
 *      .xtrk or .git component.
 *   1: a git diff for xtrk_gitsrc_check_patch; when accepted, every path it
 *      names must pass the path check.
 *   2: the body of a git tree object, as the root of a commit, for
 *      xtrk_gitsrc_check_commit (the tree walk and the file/folder check).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include "fuzz.h"
#include "src/lib/gitsrc.h"
#include "xtrk/errors.h"
#include "xtrk/tree.h"

static int component_bad(const char *c, size_t n)
{
	if (!n || (n == 2 && c[0] == '.' && c[1] == '.'))
		return 1;
	while (n && (c[n - 1] == '.' || c[n - 1] == ' '))
		n--;
	return (n == 5 && !strncasecmp(c, ".xtrk", 5)) || (n == 4 && !strncasecmp(c, ".git", 4));
}

static void accepted_path_is_safe(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > XTRK_PATH_MAX)
		__builtin_trap();
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			__builtin_trap();
	for (const char *c = p;;) {
		size_t n = strcspn(c, "/");
		if (component_bad(c, n) || (n == 1 && c[0] == '.'))
			__builtin_trap();
		if (!c[n])
			break;
		c += n + 1;
	}
}

static void one_path(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	if (!p)
		return;
	memcpy(p, data, size);
	p[size] = '\0';
	if (!xtrk_path_unsafe(p))
		accepted_path_is_safe(p);
	free(p);
}

static void one_patch(const uint8_t *data, size_t size)
{
	git_diff *d = NULL;
	if (xtrk_gitsrc_check_patch(data, size) == 0 && git_diff_from_buffer(&d, (const char *)data, size) == 0) {
		for (size_t i = 0; i < git_diff_num_deltas(d); i++) {
			const git_diff_delta *e = git_diff_get_delta(d, i);
			accepted_path_is_safe(e->old_file.path ? e->old_file.path : "");
			accepted_path_is_safe(e->new_file.path ? e->new_file.path : "");
		}
	}
	git_diff_free(d);
}

static void one_tree(const uint8_t *data, size_t size)
{
	git_odb *odb = NULL;
	git_odb_backend *mem = NULL;
	git_repository *g = NULL;
	git_oid tree, commit;

	if (git_odb_new(&odb) < 0 || git_mempack_new(&mem) < 0 || git_odb_add_backend(odb, mem, 1) < 0) {
		if (mem && !odb)
			mem->free(mem);
		goto done;
	}
	if (git_repository_wrap_odb(&g, odb) < 0 || git_odb_write(&tree, odb, data, size, GIT_OBJECT_TREE) < 0)
		goto done;
	/* What the seeds' trees name: the file "owned\n" and a folder holding it as x. */
	{
		static const char sub_head[] = "100644 x";
		char sub[sizeof(sub_head) + GIT_OID_RAWSZ];
		git_oid blob, subtree;
		if (git_odb_write(&blob, odb, "owned\n", 6, GIT_OBJECT_BLOB) < 0)
			goto done;
		memcpy(sub, sub_head, sizeof(sub_head)); /* with its NUL */
		memcpy(sub + sizeof(sub_head), blob.id, GIT_OID_RAWSZ);
		if (git_odb_write(&subtree, odb, sub, sizeof(sub), GIT_OBJECT_TREE) < 0)
			goto done;
	}
	{
		char c[256];
		int n = snprintf(c, sizeof(c), "tree %s\nauthor a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nfuzz\n",
			git_oid_tostr_s(&tree));
		if (git_odb_write(&commit, odb, c, (size_t)n, GIT_OBJECT_COMMIT) < 0)
			goto done;
	}
	xtrk_gitsrc_check_commit(g, &commit);
done:
	git_repository_free(g);
	git_odb_free(odb);
	git_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	git_libgit2_init();
	if (size) {
		switch (data[0] % 3) {
		case 0: one_path(data + 1, size - 1); break;
		case 1: one_patch(data + 1, size - 1); break;
		default: one_tree(data + 1, size - 1); break;
		}
	}
	xtrk_error_clear();
	git_libgit2_shutdown();
	return 0;
}
