/* Source capture through libgit2: commit, branch, remotes, dirty state, the uncommitted patch. */
#include "config.h"
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "xtrk/capture.h"
#include "gitsrc.h"
#include "untracked.h"
#include "xtrk/errors.h"

static int capture_remotes(json_t *out, git_repository *repo)
{
	git_strarray names = { 0 };
	if (git_remote_list(&names, repo) < 0)
		return xtrk_git_error("cannot list git remotes");
	for (size_t i = 0; i < names.count; i++) {
		git_remote *r;
		const char *url;
		char *clean;
		if (git_remote_lookup(&r, repo, names.strings[i]) < 0)
			continue;
		url = git_remote_url(r);
		if (url && (clean = xtrk_url_strip_credentials(url))) {
			json_object_set_new(out, names.strings[i], json_string(clean));
			free(clean);
		}
		git_remote_free(r);
	}
	git_strarray_dispose(&names);
	return 0;
}

int xtrk_capture_source(json_t **out, xtrk_txn *txn, const char *workdir)
{
	xtrk_source_options o;
	int err;
	*out = NULL;
	if ((err = xtrk_source_options_read(&o, workdir)) < 0)
		return err;
	return xtrk_capture_source_opts(out, txn, workdir, &o);
}

int xtrk_capture_source_commit(json_t **out, xtrk_txn *txn, xtrk_repo *repo, const xtrk_commit_options *o)
{
	const char *const *lists[] = { o->datasets, o->models, o->artifacts, o->param_files };
	size_t counts[] = { o->ndatasets, o->nmodels, o->nartifacts, o->nparam_files }, n = 0;
	xtrk_source_options so;
	char **paths = NULL;
	int err;

	*out = NULL;
	if ((err = xtrk_source_options_read(&so, xtrk_repo_workdir(repo))) < 0)
		return err;
	for (size_t l = 0; l < 4; l++)
		n += counts[l];
	if (n && !(paths = calloc(n, sizeof(*paths))))
		return xtrk_error_oom();
	n = 0;
	for (size_t l = 0; l < 4; l++)
		for (size_t i = 0; i < counts[l]; i++) {
			char *name = NULL, *path = NULL, *source = NULL;
			xtrk_buf rel = XTRK_BUF_INIT;
			/* A spec that does not parse or resolve is refused later, by the commit itself; but one lost
			 * to a failed allocation would quietly capture the run's own files as source. */
			int e = l == 3 ? ((path = strdup(lists[l][i])) ? 0 : xtrk_error_oom())
				       : xtrk_data_spec_parse(&name, &path, &source, lists[l][i], l == 0);
			if (e == 0 && (e = xtrk_repo_relpath(&rel, repo, path)) == 0 && !(paths[n++] = xtrk_buf_detach(&rel)))
				e = xtrk_error_oom();
			xtrk_buf_dispose(&rel);
			free(name);
			free(path);
			free(source);
			if (e < 0 && e != XTRK_EINVALID && e != XTRK_ENOTFOUND) {
				err = e;
				goto done;
			}
		}
	xtrk_error_clear();
	so.exclude = (const char *const *)paths;
	so.nexclude = n;
	err = xtrk_capture_source_opts(out, txn, xtrk_repo_workdir(repo), &so);
done:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return err;
}

/* Whether `dir` or a folder above it (below any GIT_CEILING_DIRECTORIES) holds a .git entry. */
static int git_marker_above(const char *dir)
{
	const char *ceil = getenv("GIT_CEILING_DIRECTORIES");
	char path[4096], *slash;
	struct stat st;
	size_t n;
	int first = 1;

	if (!realpath(dir, path))
		return 0;
	for (;; first = 0) {
		n = strlen(path);
		if (!first && ceil && *ceil) {
			const char *c = ceil;
			while (*c) {
				size_t len = strcspn(c, ":");
				if (len == n && !strncmp(c, path, n))
					return 0;
				c += len + (c[len] == ':');
			}
		}
		if (n + 6 >= sizeof(path))
			return 0;
		strcpy(path + n, n == 1 ? ".git" : "/.git");
		if (lstat(path, &st) == 0)
			return 1;
		path[n] = '\0';
		if (n == 1 || !(slash = strrchr(path, '/')))
			return 0;
		*(slash == path ? slash + 1 : slash) = '\0';
	}
}

int xtrk_capture_source_opts(json_t **out, xtrk_txn *txn, const char *workdir, const xtrk_source_options *opts)
{
	static const xtrk_source_options defaults = XTRK_SOURCE_OPTIONS_INIT;
	git_repository *repo = NULL;
	git_reference *head = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_status_list *status = NULL;
	git_diff *diff = NULL;
	git_buf patch = { 0 };
	json_t *src = json_object(), *untracked = json_array(), *remotes = json_object();
	git_status_options sopts = GIT_STATUS_OPTIONS_INIT;
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	int rc, err = 0, dirty = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	json_object_set_new(src, "commit", json_null());
	json_object_set_new(src, "branch", json_null());
	json_object_set_new(src, "dirty", json_false());
	json_object_set_new(src, "patch", json_null());
	json_object_set(src, "untracked", untracked);
	json_object_set_new(src, "untracked_content", json_null());
	json_object_set(src, "remotes", remotes);
	rc = git_repository_open_ext(&repo, workdir, 0, NULL);
	if (rc == GIT_ENOTFOUND && git_marker_above(workdir)) {
		/* libgit2 says "no repository" for some failures of its own (memory, a path it could not resolve):
		 * a run must never be recorded without its source because of one. */
		err = xtrk_git_error("cannot open the git repository that holds the workspace");
		goto done;
	}
	if (rc == GIT_ENOTFOUND) {
		json_object_set_new(src, "repository", json_null());
		xtrk_warning_add("'%s' is not in a git repository: the run records no source", workdir);
		goto done;
	}
	if (rc < 0) {
		err = xtrk_git_error("cannot open the git repository");
		goto done;
	}
	if (git_repository_is_bare(repo) && git_marker_above(workdir)) {
		/* A working tree with a .git, read as bare: libgit2 could not read its config (memory, I/O). */
		err = xtrk_error_set(XTRK_ERROR, "cannot read the configuration of the git repository that holds '%s'",
			workdir);
		goto done;
	}
	if (git_repository_is_bare(repo)) {
		json_object_set_new(src, "repository", json_null());
		xtrk_warning_add("the git repository at '%s' is bare: the run records no source", workdir);
		goto done;
	}
	json_object_set_new(src, "repository", json_string(git_repository_workdir(repo)));
	rc = git_repository_head(&head, repo);
	if (rc == 0) {
		const git_oid *id;
		char hex[GIT_OID_HEXSZ + 1];
		if (git_reference_is_branch(head))
			json_object_set_new(src, "branch", json_string(git_reference_shorthand(head)));
		if (git_reference_peel((git_object **)&commit, head, GIT_OBJECT_COMMIT) < 0) {
			err = xtrk_git_error("cannot read HEAD");
			goto done;
		}
		id = git_commit_id(commit);
		git_oid_tostr(hex, sizeof(hex), id);
		json_object_set_new(src, "commit", json_string(hex));
		if (git_commit_tree(&tree, commit) < 0) {
			err = xtrk_git_error("cannot read the HEAD tree");
			goto done;
		}
	} else if (rc == GIT_EUNBORNBRANCH) {
		/* No commit yet: the branch name is known, every change is uncommitted. */
		git_reference *sym = NULL;
		if (git_reference_lookup(&sym, repo, "HEAD") == 0) {
			const char *t = git_reference_symbolic_target(sym);
			if (t && !strncmp(t, "refs/heads/", 11))
				json_object_set_new(src, "branch", json_string(t + 11));
			git_reference_free(sym);
		}
	} else {
		err = xtrk_git_error("cannot read HEAD");
		goto done;
	}
	if ((err = capture_remotes(remotes, repo)) < 0)
		goto done;

	sopts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	sopts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&status, repo, &sopts) < 0) {
		err = xtrk_git_error("cannot read the git status");
		goto done;
	}
	for (size_t i = 0, n = git_status_list_entrycount(status); i < n; i++) {
		const git_status_entry *e = git_status_byindex(status, i);
		if (e->status == GIT_STATUS_WT_NEW) {
			const char *p = e->index_to_workdir->new_file.path;
			json_array_append_new(untracked, json_string(p));
		} else if (e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED)) {
			dirty = 1;
		}
	}
	json_object_set_new(src, "dirty", json_boolean(dirty));
	if (opts->untracked && json_array_size(untracked)) {
		json_t *content;
		if ((err = xtrk_untracked_capture(&content, repo, txn, workdir, opts)) < 0)
			goto done;
		json_object_set_new(src, "untracked_content", content ? content : json_null());
	}
	if (dirty) {
		xtrk_oid pid;
		dopts.flags = GIT_DIFF_SHOW_BINARY | GIT_DIFF_INCLUDE_TYPECHANGE;
		if (git_diff_tree_to_workdir_with_index(&diff, repo, tree, &dopts) < 0 ||
		    git_diff_to_buf(&patch, diff, GIT_DIFF_FORMAT_PATCH) < 0) {
			err = xtrk_git_error("cannot compute the uncommitted patch");
			goto done;
		}
		if (patch.size) {
			if ((err = xtrk_txn_write(&pid, txn, XTRK_OBJ_BLOB, patch.ptr, patch.size)) < 0)
				goto done;
			json_object_set_new(src, "patch", json_string(xtrk_oid_tostr(&pid)));
		}
	}
done:
	git_buf_dispose(&patch);
	git_diff_free(diff);
	git_status_list_free(status);
	git_tree_free(tree);
	git_commit_free(commit);
	git_reference_free(head);
	git_repository_free(repo);
	json_decref(untracked);
	json_decref(remotes);
	if (err < 0) {
		json_decref(src);
		return err;
	}
	*out = src;
	return 0;
}

int xtrk_capture_git_config(xtrk_buf *out, const char *workdir, const char *key)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL, *snap = NULL;
	const char *value = NULL;
	int err;

	xtrk_buf_clear(out);
	if (git_repository_open_ext(&repo, workdir, 0, NULL) == 0)
		git_repository_config(&cfg, repo);
	else
		git_config_open_default(&cfg);
	xtrk_git_note_oom();
	if (cfg && git_config_snapshot(&snap, cfg) == 0 && git_config_get_string(&value, snap, key) == 0 && value && *value)
		err = xtrk_buf_puts(out, value);
	else
		err = xtrk_error_set(XTRK_ENOTFOUND, "%s is not set in git config", key);
	git_config_free(snap);
	git_config_free(cfg);
	git_repository_free(repo);
	return err;
}

int xtrk_capture_author(xtrk_buf *out, const char *workdir)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL, *snap = NULL;
	const char *name = NULL, *email = NULL;
	char host[256] = "localhost", login[256];

	xtrk_buf_clear(out);
	if (git_repository_open_ext(&repo, workdir, 0, NULL) == 0)
		git_repository_config(&cfg, repo);
	else
		git_config_open_default(&cfg);
	xtrk_git_note_oom();
	if (cfg && git_config_snapshot(&snap, cfg) == 0) {
		if (git_config_get_string(&name, snap, "user.name") < 0)
			xtrk_git_note_oom();
		if (git_config_get_string(&email, snap, "user.email") < 0)
			xtrk_git_note_oom();
	} else {
		xtrk_git_note_oom();
	}
	gethostname(host, sizeof(host) - 1);
	xtrk_login_name(login, sizeof(login));
	if (!name)
		name = login;
	if (email)
		xtrk_buf_printf(out, "%s <%s>", name, email);
	else
		xtrk_buf_printf(out, "%s <%s@%s>", name, login, host);
	git_config_free(snap);
	git_config_free(cfg);
	git_repository_free(repo);
	return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
}
