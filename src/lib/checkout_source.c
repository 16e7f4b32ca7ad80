/* Restoring a run's source: its commit and patch, its untracked files and its scripts. */
#include "config.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "fileutil.h"
#include "statcache.h"
#include "xtrk/capture.h"
#include "xtrk/checkout.h"
#include "gitsrc.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"
#include "checkout_data.h"
#include "checkout_source.h"

/* ---- source ---- */

static void note(xtrk_buf *list, size_t *n, const char *path)
{
	if ((*n)++ < 5)
		xtrk_buf_printf(list, "%s'%s'", list->size ? ", " : "", path);
}


void xtrk_co_plan_free(struct source_plan *p)
{
	git_index_free(p->patched);
	git_diff_free(p->patch);
	git_commit_free(p->commit);
	git_repository_free(p->g);
}

/* Everything about the source that can fail is found out here, before any file changes. */
int xtrk_co_plan_source(struct source_plan *p, xtrk_repo *repo, json_t *run, int in_place)
{
	json_t *src = json_object_get(run, "source");
	const char *hex = json_string_value(json_object_get(src, "commit"));
	const char *patch_id = json_string_value(json_object_get(src, "patch"));
	const char *run_id = json_string_value(json_object_get(run, "id"));
	git_tree *tree = NULL;
	git_oid oid;
	xtrk_buf patch = XTRK_BUF_INIT;
	xtrk_oid pid;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (!hex)
		return 1; /* no source recorded */
	if (patch_id) {
		/* The patch's paths first: before the commit may be copied into the workspace's repository. */
		if (xtrk_oid_parse(&pid, patch_id) < 0)
			return xtrk_error_set(XTRK_ECORRUPT, "run %s records a bad patch ID", run_id);
		if ((err = xtrk_odb_read(&patch, NULL, xtrk_repo_odb(repo), &pid, XTRK_OBJ_BLOB)) < 0)
			goto done;
		if ((err = xtrk_gitsrc_check_patch(patch.ptr ? patch.ptr : "", patch.size)) < 0)
			goto refused;
	}
	if ((err = xtrk_gitsrc_open(&p->g, repo, hex, in_place)) < 0)
		goto refused;
	if (git_oid_fromstr(&oid, hex) < 0 || git_commit_lookup(&p->commit, p->g, &oid) < 0) {
		err = xtrk_git_error("cannot read the recorded commit");
		goto done;
	}
	/* Every path the source would write, checked before anything is written. */
	if ((err = xtrk_gitsrc_check_commit(p->g, &oid)) < 0)
		goto refused;
	if (!patch_id) {
		if (git_commit_tree(&tree, p->commit) < 0 || git_index_new(&p->patched) < 0 ||
		    git_index_read_tree(p->patched, tree) < 0)
			err = xtrk_git_error("cannot read the recorded commit's tree");
		goto done;
	}
	if (git_diff_from_buffer(&p->patch, patch.ptr, patch.size) < 0) {
		err = xtrk_git_error("the recorded patch cannot be read");
		goto done;
	}
	if ((err = xtrk_gitsrc_check_diff(p->patch)) < 0)
		goto refused;
	if (git_commit_tree(&tree, p->commit) < 0 || git_apply_to_tree(&p->patched, p->g, tree, p->patch, NULL) < 0) {
		const git_error *ge = git_error_last();
		err = xtrk_error_set(XTRK_ERROR, "the recorded uncommitted patch of run %s does not apply to commit %.12s "
			"(%s); nothing was changed", run_id, hex, ge && ge->message ? ge->message : "conflict");
		goto done;
	}
	if ((err = xtrk_gitsrc_check_index(p->patched)) < 0)
		goto refused;
done:
	git_tree_free(tree);
	xtrk_buf_dispose(&patch);
	return err;
refused:
	{
		err = xtrk_error_set(err, "run %s: %s", run_id, xtrk_error_last());
	}
	goto done;
}

/* One file of the source from git into `dirfd`: a temp file (or link) renamed over `name`, never written through. */
static int write_git_entry(struct source_plan *p, struct co *c, int dirfd, const char *name, const git_index_entry *e)
{
	git_blob *b = NULL;
	char tmp[64];
	int fd = -1, err = 0;

	if (e->mode == GIT_FILEMODE_COMMIT) { /* a submodule: its folder, empty */
		if (mkdirat(dirfd, name, 0777) < 0 && errno != EEXIST)
			return xtrk_error_errno("cannot create folder '%s'", e->path);
		return 0;
	}
	if (git_blob_lookup(&b, p->g, &e->id) < 0)
		return xtrk_git_error("cannot read a file of the source");
	snprintf(tmp, sizeof(tmp), ".xtrk-checkout-%ld-%u", (long)getpid(), c->tmp_counter++);
	if (e->mode == GIT_FILEMODE_LINK) {
		char *target = strndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		if (!target) {
			err = xtrk_error_oom();
			goto done;
		}
		if (symlinkat(target, dirfd, tmp) < 0)
			err = xtrk_error_errno("cannot create link '%s'", e->path);
		free(target);
		if (err < 0) {
			tmp[0] = '\0';
			goto done;
		}
	} else {
		if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     e->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666)) < 0) {
			tmp[0] = '\0';
			err = xtrk_error_errno("cannot write '%s'", e->path);
			goto done;
		}
		if ((err = xtrk_write_all(fd, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), e->path)) < 0)
			goto done;
		close(fd);
		fd = -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = xtrk_error_errno("cannot put '%s' in place", e->path);
		goto done;
	}
	tmp[0] = '\0';
done:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlinkat(dirfd, tmp, 0);
	git_blob_free(b);
	return err;
}

/*
 * Before a file is written into a target folder: no folder of the source is a
 * file or link there, and no file of the source is a folder there (the
 * folders are walked one by one, so a link is seen, never followed).
 */
static int source_in_way(struct source_plan *p, int rootfd)
{
	xtrk_buf list = XTRK_BUF_INIT;
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < git_index_entrycount(p->patched); i++) {
		const char *path = git_index_get_byindex(p->patched, i)->path;
		char part[XTRK_PATH_MAX + 1];
		struct stat st;
		for (const char *s = path;; s++) {
			if (*s != '/' && *s)
				continue;
			snprintf(part, sizeof(part), "%.*s", (int)(s - path), path);
			if (fstatat(rootfd, part, &st, AT_SYMLINK_NOFOLLOW) < 0)
				break; /* nothing there: all below is new */
			if (*s ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)) {
				note(&list, &n, part);
				break;
			}
			if (!*s)
				break;
		}
	}
	if (n)
		err = xtrk_error_set(XTRK_EEXISTS, "%s%s %s in the way of the run's source in the target (a file or link "
			"where the run has a folder, or a folder where it has a file); nothing was changed",
			list.ptr ? list.ptr : "", n > 5 ? " and more" : "", n == 1 ? "is" : "are");
	xtrk_buf_dispose(&list);
	return err;
}

/* Into a target folder: every file of the commit with the patch applied, written and verified by git. */
int xtrk_co_source_into(struct source_plan *p, struct co *c, int rootfd)
{
	int err;

	if ((err = source_in_way(p, rootfd)) < 0)
		return err;
	for (size_t i = 0; i < git_index_entrycount(p->patched); i++) {
		const git_index_entry *e = git_index_get_byindex(p->patched, i);
		const char *slash = strrchr(e->path, '/');
		int dirfd;
		if ((err = xtrk_co_open_dirs(&dirfd, rootfd, e->path, slash ? (size_t)(slash - e->path) : 0, e->path)) < 0)
			return err;
		err = write_git_entry(p, c, dirfd, slash ? slash + 1 : e->path, e);
		close(dirfd);
		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- the target as a git repository ---- */

/* 1 when both name the same folder (a repository whose core.worktree is elsewhere is not the target's own). */
static int same_folder(const char *a, const char *b)
{
	char *ra = a ? realpath(a, NULL) : NULL, *rb = b ? realpath(b, NULL) : NULL;
	int same = ra && rb && !strcmp(ra, rb);
	free(ra);
	free(rb);
	return same;
}

/*
 * A git repository that checkout -C is making holds this file from before
 * git's own files are written until the repository is complete, so that an
 * interrupted checkout leaves a folder a --force checkout can make again
 * (rather than a half-made repository, or a stale index.lock, refused as not
 * a repository of its own).
 */
#define INCOMPLETE_MARK "xtrk-incomplete"

static int incomplete_git(const char *dotgit)
{
	xtrk_buf m = XTRK_BUF_INIT;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int yes = xtrk_buf_printf(&m, "%s/" INCOMPLETE_MARK, dotgit) == 0 && lstat(m.ptr, &st) == 0 &&
		S_ISREG(st.st_mode);
	xtrk_buf_dispose(&m);
	/* Empty: interrupted between making it and marking it (and holding nothing to lose). */
	if (!yes && (d = opendir(dotgit))) {
		yes = 1;
		while (yes && (de = readdir(d)))
			yes = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		closedir(d);
	}
	return yes;
}

int xtrk_co_check_git_target(struct source_plan *p, const char *dir, int force)
{
	git_repository *g = NULL;
	xtrk_buf path = XTRK_BUF_INIT;
	struct stat st;
	int err = 0;

	p->git_reuse = 0;
	if (xtrk_buf_printf(&path, "%s/.git", dir) < 0)
		return XTRK_ERROR;
	if (lstat(path.ptr, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			err = xtrk_error_errno("cannot look at '%s'", path.ptr);
		goto done;
	}
	if (S_ISDIR(st.st_mode) && incomplete_git(path.ptr)) {
		/* Left by a checkout -C that was interrupted while making it: ours, and never finished. */
		if (!force)
			err = xtrk_error_set(XTRK_EEXISTS, "'%s' holds the unfinished git repository of an interrupted "
				"checkout; use --force to make it again; nothing was changed", dir);
		else if ((err = xtrk_remove_tree(path.ptr)) < 0)
			err = xtrk_error_set(err, "cannot remove the unfinished git repository in '%s': %s", dir,
				xtrk_error_last());
		goto done;
	}
	if (!S_ISDIR(st.st_mode) || git_repository_open_ext(&g, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0 ||
	    git_repository_is_bare(g) || !same_folder(git_repository_workdir(g), dir)) {
		git_error_clear();
		err = xtrk_error_set(XTRK_EEXISTS, "'%s' holds a .git that is not a git repository of its own (a link, a "
			"file pointing elsewhere, or not a repository): checkout -C never writes through it, even with "
			"--force; choose a new or empty folder; nothing was changed", dir);
		goto done;
	}
	if (!force) {
		err = xtrk_error_set(XTRK_EEXISTS, "'%s' is not empty: it holds a git repository, and checkout -C makes the "
			"folder the run's git repository; choose a new or empty folder, or use --force to check the run out "
			"over it (its files rewritten, its HEAD and index set to the run's commit, no branch moved); nothing "
			"was changed", dir);
		goto done;
	}
	p->git_reuse = 1;
done:
	git_repository_free(g);
	xtrk_buf_dispose(&path);
	return err;
}

/*
 * A remote URL worth writing into a new repository's config: no control
 * character (one config line), nothing read as an option ('-...'), and no
 * remote helper ('ext::...' runs a command).  It was stored without its
 * credentials when the run was recorded.
 */
static int remote_url_ok(const char *url)
{
	if (!url || !*url || *url == '-' || strstr(url, "::"))
		return 0;
	for (const unsigned char *u = (const unsigned char *)url; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

/* The index of the commit's tree, with the stat data of each file the patch leaves as committed. */
static int write_index(git_repository *g, struct source_plan *p, int rootfd)
{
	git_index *ix = NULL;
	git_tree *tree = NULL;
	int err = 0;

	if (git_repository_index(&ix, g) < 0 || git_tree_lookup(&tree, g, git_commit_tree_id(p->commit)) < 0 ||
	    git_index_read_tree(ix, tree) < 0) {
		err = xtrk_git_error("cannot write the new repository's index");
		goto done;
	}
	/*
	 * Every file of the patched source that the commit has unchanged, and every file the patch
	 * adds (a new file is in a patch only when it was added to git's index, so it is staged here
	 * too); a file the patch changes or deletes keeps the commit's entry, so git sees the change.
	 */
	for (size_t i = 0; i < git_index_entrycount(p->patched); i++) {
		const git_index_entry *pe = git_index_get_byindex(p->patched, i);
		const git_index_entry *e = git_index_get_bypath(ix, pe->path, 0);
		git_tree_entry *te = NULL;
		git_index_entry ne;
		struct stat st;
		int in_commit = git_tree_entry_bypath(&te, tree, pe->path) == 0;
		git_tree_entry_free(te);
		git_error_clear();
		if (in_commit && (!e || pe->mode != e->mode || !git_oid_equal(&pe->id, &e->id)))
			continue; /* changed by the patch: git sees it as modified, which it is */
		if (pe->mode == GIT_FILEMODE_COMMIT || fstatat(rootfd, pe->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!in_commit) { /* 'git add': its content, just written and verified, into the repository */
			if (git_index_add_bypath(ix, pe->path) < 0) {
				err = xtrk_git_error("cannot add a new file of the patch to the new repository's index");
				goto done;
			}
			continue;
		}
		ne = *pe;
		ne.ctime.seconds = (int32_t)st.st_ctim.tv_sec;
		ne.ctime.nanoseconds = (uint32_t)st.st_ctim.tv_nsec;
		ne.mtime.seconds = (int32_t)st.st_mtim.tv_sec;
		ne.mtime.nanoseconds = (uint32_t)st.st_mtim.tv_nsec;
		ne.dev = (uint32_t)st.st_dev;
		ne.ino = (uint32_t)st.st_ino;
		ne.uid = (uint32_t)st.st_uid;
		ne.gid = (uint32_t)st.st_gid;
		ne.file_size = (uint32_t)st.st_size;
		if (git_index_add(ix, &ne) < 0) {
			err = xtrk_git_error("cannot write the new repository's index");
			goto done;
		}
	}
	if (git_index_write(ix) < 0)
		err = xtrk_git_error("cannot write the new repository's index");
done:
	git_tree_free(tree);
	git_index_free(ix);
	return err;
}

/*
 * After the source is written into `dir`: make it a git repository as 'git clone' then 'git
 * checkout' would leave it.  It holds the commit with its history (copied from the repository
 * the source came from); the index is the commit's, so the run's uncommitted patch shows as
 * uncommitted changes and its untracked files as untracked; HEAD is on a new branch named as the
 * run's branch at the commit, or detached at the commit when the run recorded no valid branch;
 * and each remote the run recorded (its URL without credentials) is added by name, not fetched.
 */
int xtrk_co_make_git(struct source_plan *p, json_t *run, const char *dir, int rootfd, xtrk_checkout_result *r)
{
	git_repository_init_options io = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	json_t *src = json_object_get(run, "source"), *url;
	const char *branch = json_string_value(json_object_get(src, "branch")), *name;
	git_repository *g = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_reference *ref = NULL;
	git_commit *commit = NULL;
	xtrk_buf path = XTRK_BUF_INIT, mark = XTRK_BUF_INIT;
	int err = 0, valid = 0, rc;

	io.flags = GIT_REPOSITORY_INIT_NO_REINIT;
	if (!p->git_reuse) {
		int fd;
		if (xtrk_buf_printf(&mark, "%s/.git", dir) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		if (mkdir(mark.ptr, 0777) < 0) {
			err = xtrk_error_errno("cannot make '%s'", mark.ptr);
			goto done;
		}
		xtrk_buf_printf(&mark, "/" INCOMPLETE_MARK);
		if (xtrk_buf_oom(&mark)) {
			err = xtrk_error_oom();
			goto done;
		}
		if ((fd = open(mark.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
			err = xtrk_error_errno("cannot write '%s'", mark.ptr);
			goto done;
		}
		close(fd);
	}
	if (p->git_reuse ? git_repository_open_ext(&g, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0
			 : git_repository_init_ext(&g, dir, &io) < 0) {
		err = xtrk_git_error("cannot make the target a git repository");
		goto done;
	}
	/* The commit and its history, as one pack. */
	xtrk_buf_printf(&path, "%sobjects/pack", git_repository_path(g));
	git_repository_free(g);
	g = NULL;
	if (xtrk_buf_oom(&path)) {
		err = xtrk_error_oom();
		goto done;
	}
	if (git_packbuilder_new(&pb, p->g) < 0 || git_revwalk_new(&walk, p->g) < 0 ||
	    git_revwalk_push(walk, git_commit_id(p->commit)) < 0 || git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write(pb, path.ptr, 0, NULL, NULL) < 0) {
		err = xtrk_git_error("cannot copy the source commit into the target's git repository");
		goto done;
	}
	if (git_repository_open(&g, dir) < 0 || git_commit_lookup(&commit, g, git_commit_id(p->commit)) < 0) {
		err = xtrk_git_error("cannot read the target's git repository");
		goto done;
	}
	if ((err = write_index(g, p, rootfd)) < 0)
		goto done;
	if (branch && git_branch_name_is_valid(&valid, branch) < 0)
		valid = 0;
	if (branch && !valid)
		xtrk_warning_add("the run's branch name is not a valid git branch name: HEAD is detached at the commit");
	if (valid && (rc = git_branch_lookup(&ref, g, branch, GIT_BRANCH_LOCAL)) == 0 &&
	    !(git_reference_target(ref) && git_oid_equal(git_reference_target(ref), git_commit_id(commit)))) {
		/* Reused with --force: a branch of that name at another commit is the user's; it is not moved. */
		xtrk_warning_add("branch '%s' of the target's repository is at another commit: left as it is, HEAD is "
			"detached at the run's commit", branch);
		valid = 0;
	}
	git_error_clear();
	if (valid && ((!ref && git_branch_create(&ref, g, branch, commit, 0) < 0) ||
		      git_repository_set_head(g, git_reference_name(ref)) < 0)) {
		err = xtrk_git_error("cannot create the run's branch in the target's git repository");
		goto done;
	}
	if (!valid && git_repository_set_head_detached(g, git_commit_id(commit)) < 0) {
		err = xtrk_git_error("cannot set HEAD in the target's git repository");
		goto done;
	}
	r->git_made = 1;
	r->git_on_branch = valid;
	json_object_foreach(json_object_get(src, "remotes"), name, url) {
		git_remote *rem = NULL;
		int ok = 0;
		if (p->git_reuse && git_remote_lookup(&rem, g, name) == 0) { /* the user's: left as it is */
			git_remote_free(rem);
			continue;
		}
		git_error_clear();
		if (git_remote_name_is_valid(&ok, name) < 0 || !ok || !remote_url_ok(json_string_value(url)) ||
		    git_remote_create(&rem, g, name, json_string_value(url)) < 0) {
			char shown[128];
			git_error_clear();
			xtrk_warning_add("the run's git remote '%s' was not added to the target's repository: its name or URL "
				"is not one git should be given", xtrk_path_shown(shown, sizeof(shown), name));
			continue;
		}
		git_remote_free(rem);
		r->git_remotes++;
	}
	if (mark.size && unlink(mark.ptr) < 0)
		err = xtrk_error_errno("cannot complete the target's git repository (removing '%s')", mark.ptr);
done:
	xtrk_buf_dispose(&mark);
	git_reference_free(ref);
	git_commit_free(commit);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	git_repository_free(g);
	xtrk_buf_dispose(&path);
	return err;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when `path` in the git working tree is a regular file with the blob `id`'s content. */
static int same_as_blob(git_repository *g, const char *path, const git_oid *id)
{
	xtrk_buf full = XTRK_BUF_INIT;
	struct stat st;
	git_oid have;
	int same = 0;

	if (xtrk_buf_printf(&full, "%s%s", git_repository_workdir(g), path) == 0 && lstat(full.ptr, &st) == 0 &&
	    S_ISREG(st.st_mode) && git_odb_hashfile(&have, full.ptr, GIT_OBJECT_BLOB) == 0)
		same = git_oid_equal(&have, id);
	git_error_clear();
	xtrk_buf_dispose(&full);
	return same;
}

/*
 * Like git checkout: untracked files (not ignored ones) that the source would
 * overwrite, or that stand where it has a folder, or that fill a folder where
 * it has a file, are the user's work; refused, all named, unless --force.
 */
static int untracked_in_way(struct source_plan *p)
{
	git_status_options so = GIT_STATUS_OPTIONS_INIT;
	git_status_list *st = NULL;
	const char **untracked = NULL;
	xtrk_buf list = XTRK_BUF_INIT, key = XTRK_BUF_INIT;
	size_t nu = 0, n = 0;
	int err = 0;

	so.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	if (git_status_list_new(&st, p->g, &so) < 0) {
		err = xtrk_git_error("cannot list the untracked files");
		goto done;
	}
	if (!(untracked = calloc(git_status_list_entrycount(st) + 1, sizeof(*untracked)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < git_status_list_entrycount(st); i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		if ((e->status & GIT_STATUS_WT_NEW) && e->index_to_workdir && e->index_to_workdir->new_file.path)
			untracked[nu++] = e->index_to_workdir->new_file.path;
	}
	qsort(untracked, nu, sizeof(*untracked), path_cmp);
	for (size_t i = 0; nu && i < git_index_entrycount(p->patched); i++) {
		const git_index_entry *e = git_index_get_byindex(p->patched, i);
		const char *k, **at;
		size_t lo = 0, hi = nu;
		xtrk_buf_clear(&key);
		xtrk_buf_puts(&key, e->path);
		k = key.ptr;
		if ((at = bsearch(&k, untracked, nu, sizeof(*untracked), path_cmp))) {
			if (!same_as_blob(p->g, e->path, &e->id))
				note(&list, &n, e->path);
			continue;
		}
		/* An untracked file inside a folder where the run has this file. */
		xtrk_buf_putc(&key, '/');
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(untracked[mid], key.ptr) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nu && !strncmp(untracked[lo], key.ptr, key.size)) {
			note(&list, &n, untracked[lo]);
			continue;
		}
		/* An untracked file where the run has a folder. */
		for (const char *s = strchr(e->path, '/'); s; s = strchr(s + 1, '/')) {
			xtrk_buf_clear(&key);
			xtrk_buf_printf(&key, "%.*s", (int)(s - e->path), e->path);
			k = key.ptr;
			if (bsearch(&k, untracked, nu, sizeof(*untracked), path_cmp)) {
				note(&list, &n, key.ptr);
				break;
			}
		}
	}
	if (n)
		err = xtrk_error_set(XTRK_EEXISTS, "checkout would overwrite untracked file%s: %s%s; move %s away, commit "
			"%s, restore into another folder with -C DIR, or use --force; nothing was changed", n == 1 ? "" : "s",
			list.ptr ? list.ptr : "", n > 5 ? " and more" : "", n == 1 ? "it" : "them", n == 1 ? "it" : "them");
done:
	free(untracked);
	git_status_list_free(st);
	xtrk_buf_dispose(&list);
	xtrk_buf_dispose(&key);
	return err;
}

/* In the workspace: like 'git checkout COMMIT' then 'git apply PATCH', refusing to lose work. */
int xtrk_co_source_in_place(struct source_plan *p, xtrk_repo *repo, json_t *run, int force, int *changed)
{
	git_checkout_options o = GIT_CHECKOUT_OPTIONS_INIT;
	json_t *now = NULL;
	xtrk_txn *dry = NULL;
	json_t *src = json_object_get(run, "source");
	xtrk_source_options so = XTRK_SOURCE_OPTIONS_INIT;
	git_oid head;
	int err, at_commit;

	*changed = 0;
	so.untracked = 0; /* compared file by file, by plan_untracked */
	so.warn = 0;
	if ((err = xtrk_txn_new_dry(&dry, xtrk_repo_odb(repo))) < 0 ||
	    (err = xtrk_capture_source_opts(&now, dry, xtrk_repo_workdir(repo), &so)) < 0)
		goto done;
	if (json_equal(json_object_get(now, "commit"), json_object_get(src, "commit")) &&
	    json_equal(json_object_get(now, "patch"), json_object_get(src, "patch")))
		goto done; /* already the run's source */
	if (json_is_true(json_object_get(now, "dirty")) && !force) {
		err = xtrk_error_set(XTRK_EEXISTS, "the git working tree has uncommitted changes that checkout would "
			"overwrite; commit or stash them, restore into another folder with -C DIR, or use --force");
		goto done;
	}
	if (!force && (err = untracked_in_way(p)) < 0)
		goto done;
	o.checkout_strategy = GIT_CHECKOUT_FORCE;
	/* HEAD moves (detached, as git checkout COMMIT does) only when it is not at the run's commit already. */
	at_commit = git_reference_name_to_id(&head, p->g, "HEAD") == 0 && git_oid_equal(&head, git_commit_id(p->commit));
	if (git_checkout_tree(p->g, (git_object *)p->commit, &o) < 0 ||
	    (!at_commit && git_repository_set_head_detached(p->g, git_commit_id(p->commit)) < 0)) {
		err = xtrk_git_error("cannot check out the recorded commit");
		goto done;
	}
	if (p->patch && git_apply(p->g, p->patch, GIT_APPLY_LOCATION_WORKDIR, NULL) < 0) {
		err = xtrk_git_error("cannot apply the recorded patch");
		goto done;
	}
	*changed = 1;
done:
	json_decref(now);
	xtrk_txn_free(dry);
	return err;
}

/* ---- untracked files ---- */

struct ucheck {
	struct co *c;
	git_repository *g;  /* in place: tells the user's files from clean committed ones */
	int force;          /* files that differ may be overwritten */
	xtrk_buf conflicts; /* the first few files that differ, which checkout would overwrite */
	size_t nconflicts;
	xtrk_buf in_way;    /* the first few files where the run has a folder, or folders where it has a file */
	size_t nin_way;
};

/* A file that git tracks and that matches HEAD is not the user's work: the source checkout replaces it anyway. */
static int clean_tracked(git_repository *g, const char *path)
{
	unsigned flags;
	int clean = git_status_file(&flags, g, path) == 0 && flags == GIT_STATUS_CURRENT;
	git_error_clear();
	return clean;
}

/*
 * Before anything is written: every tree of the untracked files well formed
 * (no name that could leave the target), every file in the store, and with a
 * `dirfd` (in place) what is in the way and, without --force, every existing
 * file that differs.  Clean files that git tracks now are not counted: the
 * source checkout replaces them.
 */
static int untracked_check(struct ucheck *u, int dirfd, const xtrk_oid *id, xtrk_buf *shown, int depth)
{
	xtrk_tree *t;
	size_t base = shown->size;
	int err;

	if (depth > 256)
		return xtrk_error_set(XTRK_ECORRUPT, "tree %s is nested more than 256 deep", xtrk_oid_tostr(id));
	if ((err = xtrk_tree_read(&t, u->c->odb, id)) < 0)
		return err;
	for (size_t i = 0; i < t->count && !err; i++) {
		const xtrk_tree_entry *e = &t->entries[i];
		struct stat st;
		xtrk_buf_truncate(shown, base);
		if (xtrk_buf_printf(shown, "%s%s", base ? "/" : "", e->name) < 0) {
			err = XTRK_ERROR;
			break;
		}
		if (xtrk_path_unsafe(shown->ptr)) {
			char text[320];
			err = xtrk_error_set(XTRK_EINVALID, "it names '%s', %s", xtrk_path_shown(text, sizeof(text), shown->ptr),
				xtrk_path_unsafe(shown->ptr));
			break;
		}
		if (e->kind == XTRK_ENTRY_TREE) {
			int sub = dirfd < 0 ? -1 : openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dirfd >= 0 && sub < 0 && errno != ENOENT && !clean_tracked(u->g, shown->ptr))
				note(&u->in_way, &u->nin_way, shown->ptr); /* a file or link where the run has a folder */
			err = untracked_check(u, sub, &e->id, shown, depth + 1);
			if (sub >= 0)
				close(sub);
			continue;
		}
		if (!xtrk_odb_exists(u->c->odb, &e->id)) {
			err = xtrk_error_set(XTRK_ENOTFOUND, "untracked file '%s' of the run (object %s) is not in the store",
				shown->ptr, xtrk_oid_tostr(&e->id));
			break;
		}
		if (dirfd < 0 || fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			note(&u->in_way, &u->nin_way, shown->ptr);
		else if (!u->force && !xtrk_co_same_content(u->c, dirfd, e->name, e) && !clean_tracked(u->g, shown->ptr))
			note(&u->conflicts, &u->nconflicts, shown->ptr);
	}
	xtrk_buf_truncate(shown, base);
	xtrk_tree_free(t);
	return err;
}

int xtrk_co_plan_untracked(struct source_plan *p, struct co *c, json_t *run, int in_place, int force)
{
	json_t *u = json_object_get(json_object_get(run, "source"), "untracked_content");
	const char *hex = json_string_value(json_object_get(u, "id"));
	const char *run_id = json_string_value(json_object_get(run, "id"));
	struct ucheck k;
	xtrk_buf shown = XTRK_BUF_INIT;
	int dirfd = -1, err;

	if (!hex)
		return 0;
	if (xtrk_oid_parse(&p->untracked, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "run %s records a bad ID for its untracked files", run_id);
	p->has_untracked = 1;
	memset(&k, 0, sizeof(k));
	k.c = c;
	k.g = p->g;
	k.force = force;
	if (in_place) {
		const char *wd = git_repository_workdir(p->g);
		if (!wd)
			return xtrk_error_set(XTRK_EINVALID, "the git repository has no working tree to restore into");
		if ((dirfd = open(wd, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return xtrk_error_errno("cannot open '%s'", wd);
	}
	if ((err = untracked_check(&k, dirfd, &p->untracked, &shown, 0)) < 0) {
		err = xtrk_error_set(err, "the untracked files of run %s cannot be restored: %s; nothing was changed",
			run_id, xtrk_error_last());
	} else if (k.nin_way) {
		err = xtrk_error_set(XTRK_EEXISTS, "%s%s %s in the way of the run's untracked files (a folder where the run "
			"has a file, or a file or link where it has a folder); move %s away first; nothing was changed",
			k.in_way.ptr ? k.in_way.ptr : "", k.nin_way > 5 ? " and more" : "", k.nin_way == 1 ? "is" : "are",
			k.nin_way == 1 ? "it" : "them");
	} else if (k.nconflicts) {
		err = xtrk_error_set(XTRK_EEXISTS, "checkout would overwrite untracked file%s that differ%s from the run's: "
			"%s%s; move %s away, restore into another folder with -C DIR, or use --force",
			k.nconflicts == 1 ? "" : "s", k.nconflicts == 1 ? "s" : "", k.conflicts.ptr ? k.conflicts.ptr : "",
			k.nconflicts > 5 ? " and more" : "", k.nconflicts == 1 ? "it" : "them");
	}
	if (dirfd >= 0)
		close(dirfd);
	xtrk_buf_dispose(&k.conflicts);
	xtrk_buf_dispose(&k.in_way);
	xtrk_buf_dispose(&shown);
	return err;
}

static const char *skip_reason(const char *reason)
{
	static const char *const reasons[][2] = {
		{ "max-file", "larger than capture.untracked-max-file" },
		{ "max-total", "past capture.untracked-max-total" },
		{ "special", "a device, FIFO or socket" },
		{ "unreadable", "unreadable" },
		{ "repository", "a git repository of its own" },
		{ "name", "a name with a newline or another control character" },
	};
	for (size_t i = 0; reason && i < sizeof(reasons) / sizeof(*reasons); i++)
		if (!strcmp(reason, reasons[i][0]))
			return reasons[i][1];
	return "not captured";
}

/* After the source: the untracked files into `dirfd` (the target, or the git working tree). */
int xtrk_co_restore_untracked(struct source_plan *p, struct co *c, json_t *run, int dirfd)
{
	json_t *u = json_object_get(json_object_get(run, "source"), "untracked_content"), *e;
	json_int_t nskipped = json_integer_value(json_object_get(u, "skipped_files"));
	xtrk_checkout_result r;
	xtrk_buf shown = XTRK_BUF_INIT;
	struct co uc = *c;
	size_t i;
	int err = 0;

	json_array_foreach(json_object_get(u, "skipped"), i, e) {
		if (i == 10)
			break;
		if (json_is_string(json_object_get(e, "path")))
			xtrk_warning_add("untracked '%s' was not captured when the run was recorded (%s): not restored",
				json_string_value(json_object_get(e, "path")),
				skip_reason(json_string_value(json_object_get(e, "reason"))));
	}
	if (nskipped > (json_int_t)i)
		xtrk_warning_add("%lld more untracked files were not captured when the run was recorded: not restored",
			(long long)(nskipped - (json_int_t)i));
	if (!p->has_untracked)
		return 0;
	memset(&r, 0, sizeof(r));
	uc.r = &r;
	uc.cache = NULL; /* the stat cache knows workspace paths, these are the git working tree's */
	uc.keep_same = 1;
	err = xtrk_co_write_tree(&uc, dirfd, &p->untracked, &shown);
	c->tmp_counter = uc.tmp_counter;
	c->r->untracked_written = r.files_written;
	c->r->untracked_unchanged = r.files_unchanged;
	c->r->untracked_bytes = r.bytes_written;
	xtrk_buf_dispose(&shown);
	return err;
}

/*
 * Scripts the run ran from outside its repository (source.scripts).  Into a target folder: each by
 * its name at the top of the folder, never over a different file.  In place nothing is written
 * outside the workspace: a script no longer at its path with the same content is named in a warning.
 */
int xtrk_co_restore_scripts(struct co *c, json_t *run, int rootfd, int in_place)
{
	json_t *e;
	size_t i;
	int err = 0;

	json_array_foreach(json_object_get(json_object_get(run, "source"), "scripts"), i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *hex = json_string_value(json_object_get(e, "id"));
		const char *base = path ? strrchr(path, '/') : NULL;
		xtrk_tree_entry te;
		struct stat st;
		int dirfd = rootfd, same;

		if (!base || !xtrk_co_path_ok(base + 1) || xtrk_oid_parse(&te.id, hex ? hex : "") < 0)
			return xtrk_error_set(XTRK_ECORRUPT, "the run records a script without a valid path or ID");
		base++;
		te.kind = XTRK_ENTRY_BLOB;
		te.bytes = (uint64_t)json_integer_value(json_object_get(e, "bytes"));
		te.name = base;
		if (in_place) {
			char *dir = strndup(path, (size_t)(base - path));
			dirfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			free(dir);
		}
		te.mode = dirfd >= 0 && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 0100)
			? 0100755 : 0100644;
		same = dirfd >= 0 && xtrk_co_same_content(c, dirfd, base, &te);
		if (in_place) {
			if (dirfd >= 0)
				close(dirfd);
			if (!same)
				xtrk_warning_add("the run ran '%s' from outside the repository and it is no longer there as it "
					"was: not restored in place (checkout -C DIR writes it into DIR; or xtrk cat-object %s)",
					path, hex);
			continue;
		}
		if (same) {
			c->r->scripts_unchanged++;
			continue;
		}
		if (fstatat(rootfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			xtrk_warning_add("the run ran '%s' from outside the repository: not restored, '%s' already exists "
				"in the target (xtrk cat-object %s)", path, base, hex);
			continue;
		}
		{
			/* Counted as a script, not as data. */
			size_t files = c->r->files_written;
			uint64_t bytes = c->r->bytes_written;
			if ((err = xtrk_co_write_blob(c, rootfd, base, base, &te)) < 0)
				return err;
			c->r->files_written = files;
			c->r->bytes_written = bytes;
		}
		c->r->scripts_written++;
	}
	return 0;
}
