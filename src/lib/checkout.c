/* Restoring a run's source, data and params files, each file verified before it is named. */
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
#include "xtrk/statcache.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"
#include "checkout_data.h"
#include "checkout_source.h"

/*
 * Like git clone: the source goes into a new or empty folder, so that the
 * folder holds the run's source and nothing else; --force writes over what is there.
 */
static int target_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : errno == ENOTDIR
			? xtrk_error_set(XTRK_EEXISTS, "'%s' is not a folder; nothing was changed", dir)
			: xtrk_error_errno("cannot read '%s'", dir);
	while ((e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* A workspace's store is not in the way: nothing of a run is ever written into .xtrk. */
		if (!strcmp(e->d_name, ".xtrk") && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			continue;
		n++;
		break;
	}
	closedir(d);
	if (n)
		return xtrk_error_set(XTRK_EEXISTS, "'%s' is not empty: checkout -C restores a run's source into a new or "
			"empty folder, so that it holds the run's files and no others; choose another folder, or use --force "
			"to write the run's files over what it holds (other files stay); nothing was changed", dir);
	return 0;
}

/*
 * A workspace in no git repository that holds nothing but its store: a run with a recorded
 * commit is restored into it as into an empty folder with -C, so that it becomes the run's git
 * repository (the run book's rebuild: init, import, checkout, run).
 */
static int fresh_workspace(xtrk_repo *repo, json_t *run)
{
	git_repository *g = NULL;
	int rc;

	if (!json_is_string(json_object_get(json_object_get(run, "source"), "commit")))
		return 0;
	rc = git_repository_open_ext(&g, xtrk_repo_workdir(repo), 0, NULL);
	git_repository_free(g);
	git_error_clear();
	if (rc != GIT_ENOTFOUND)
		return 0;
	rc = target_empty(xtrk_repo_workdir(repo));
	xtrk_error_clear();
	return rc == 0;
}

int xtrk_checkout(xtrk_checkout_result *out, xtrk_repo *repo, json_t *run, const xtrk_checkout_options *opts)
{
	static const xtrk_checkout_options defaults = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_options local;
	struct source_plan plan;
	struct co c;
	int rootfd = -1, err = 0, nosrc = 0;
	json_t *e;
	size_t i;

	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	if (opts->target) {
		/* -C naming the workspace itself, however spelled, is checkout in place, with its checks. */
		char *t = realpath(opts->target, NULL), *w = realpath(xtrk_repo_workdir(repo), NULL);
		if (t && w && !strcmp(t, w)) {
			local = *opts;
			local.target = NULL;
			opts = &local;
		}
		free(t);
		free(w);
	}
	if (!opts->target && !opts->no_source && fresh_workspace(repo, run)) {
		local = *opts;
		local.target = xtrk_repo_workdir(repo);
		opts = &local;
	}
	memset(&c, 0, sizeof(c));
	memset(&plan, 0, sizeof(plan));
	c.repo = repo;
	c.odb = xtrk_repo_odb(repo);
	c.r = out;
	c.in_workspace = !opts->target;
	if (!opts->no_data && json_is_string(json_object_get(run, "id"))) {
		xtrk_oid rid;
		if (xtrk_oid_parse(&rid, json_string_value(json_object_get(run, "id"))) == 0 && xtrk_refs_partial(repo, &rid))
			return xtrk_error_set(XTRK_ENOTFOUND, "run %s was imported without its data files (a bundle made "
				"with --no-data); import a full bundle of it or pull it from a remote, or restore only the "
				"source with --no-data", xtrk_oid_tostr(&rid));
	}
	if (!(c.buf = malloc(1 << 20)))
		return xtrk_error_oom();
	if (!opts->no_source && (nosrc = xtrk_co_plan_source(&plan, repo, run, !opts->target)) < 0) {
		err = nosrc;
		goto done;
	}
	out->source = opts->no_source || nosrc == 1 ? -1 : 0;
	if (!opts->no_source && nosrc == 1 &&
	    json_is_string(json_object_get(json_object_get(json_object_get(run, "source"), "untracked_content"), "id")))
		xtrk_warning_add("the run stored untracked files but recorded no commit: they are not restored");
	if (out->source == 0 && (err = xtrk_co_plan_untracked(&plan, &c, run, !opts->target, opts->force)) < 0)
		goto done;
	if (opts->target && out->source == 0 && (err = xtrk_co_check_git_target(&plan, opts->target, opts->force)) < 0)
		goto done;
	if (opts->target && out->source == 0 && !opts->force && (err = target_empty(opts->target)) < 0)
		goto done;
	if (opts->target && (err = xtrk_mkdir_p(opts->target)) < 0)
		goto done;
	if ((rootfd = open(opts->target ? opts->target : xtrk_repo_workdir(repo), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = xtrk_error_errno("cannot open '%s'", opts->target ? opts->target : xtrk_repo_workdir(repo));
		goto done;
	}
	if (out->source == 0) {
		int changed = 1;
		if (opts->target) {
			err = xtrk_co_source_into(&plan, &c, rootfd);
		} else {
			err = xtrk_co_source_in_place(&plan, repo, run, opts->force, &changed);
		}
		if (err < 0)
			goto done;
		out->source = changed;
		if (opts->target) {
			if ((err = xtrk_co_restore_untracked(&plan, &c, run, rootfd)) == 0)
				err = xtrk_co_make_git(&plan, run, opts->target, rootfd, out);
		} else {
			const char *wd = git_repository_workdir(plan.g);
			int fd = wd ? open(wd, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			if (!wd)
				err = xtrk_error_set(XTRK_EINVALID, "the git repository has no working tree to restore into");
			else
				err = fd >= 0 ? xtrk_co_restore_untracked(&plan, &c, run, fd)
					      : xtrk_error_errno("cannot open the git working tree '%s'", wd);
			if (fd >= 0)
				close(fd);
		}
		if (err < 0)
			goto done;
	}
	if (!opts->no_source && (err = xtrk_co_restore_scripts(&c, run, rootfd, !opts->target)) < 0)
		goto done;
	if (opts->no_data)
		goto done;
	if (c.in_workspace)
		xtrk_statcache_open(&c.cache, repo);
	for (size_t r = 0; r < XTRK_RECORD_NGROUPS && !err; r++)
		json_array_foreach(json_object_get(run, xtrk_record_groups[r]), i, e) {
			const char *kind = json_string_value(json_object_get(e, "kind"));
			if ((err = xtrk_co_restore_entry(&c, rootfd, json_string_value(json_object_get(e, "path")) ?: "",
				     json_string_value(json_object_get(e, "id")), kind && !strcmp(kind, "tree"))) < 0)
				break;
		}
	json_array_foreach(json_object_get(run, "params_files"), i, e) {
		if (err < 0)
			break;
		err = xtrk_co_restore_entry(&c, rootfd, json_string_value(json_object_get(e, "path")) ?: "",
			json_string_value(json_object_get(e, "id")), 0);
	}
done:
	if (rootfd >= 0)
		close(rootfd);
	xtrk_statcache_free(c.cache);
	xtrk_co_plan_free(&plan);
	free(c.buf);
	return err;
}
