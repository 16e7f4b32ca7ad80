/* The workspace as it is now, shaped like a run, for diff and status (nothing is written). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xtrk/capture.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/run.h"
#include "xtrk/snapshot.h"
#include "xtrk/statcache.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"
#include "xtrk/workspace.h"

/*
 * The workspace's params: the recorded run's, with the keys that came from
 * its params files replaced by what those files hold now (keys given with -p
 * cannot be re-read, so they stay as recorded).
 */
static json_t *workspace_params(xtrk_repo *repo, json_t *like)
{
	json_t *base = xtrk_json_flatten(json_object_get(like, "params")), *files = json_object_get(like, "params_files");
	json_t *nested = json_object(), *pf, *v;
	xtrk_buf text = XTRK_BUF_INIT, abs = XTRK_BUF_INIT;
	const char *k;
	size_t i;

	json_array_foreach(files, i, pf) {
		const char *path = json_string_value(json_object_get(pf, "path"));
		xtrk_oid id;
		json_t *doc, *f;
		if (!path || xtrk_oid_parse(&id, json_string_value(json_object_get(pf, "id")) ?: "") < 0 ||
		    xtrk_odb_read(&text, NULL, xtrk_repo_odb(repo), &id, XTRK_OBJ_BLOB) < 0 ||
		    xtrk_doc_parse(&doc, text.ptr, text.size, path) < 0)
			continue;
		f = xtrk_json_flatten(doc);
		json_object_foreach(f, k, v)
			json_object_del(base, k);
		json_decref(f);
		json_decref(doc);
	}
	json_array_foreach(files, i, pf) {
		const char *path = json_string_value(json_object_get(pf, "path"));
		json_t *doc, *f;
		xtrk_buf_clear(&abs);
		if (!path || xtrk_buf_printf(&abs, "%s/%s", xtrk_repo_workdir(repo), path) < 0 ||
		    xtrk_doc_load(&doc, abs.ptr) < 0)
			continue;
		f = xtrk_json_flatten(doc);
		json_object_update(base, f);
		json_decref(f);
		json_decref(doc);
	}
	xtrk_error_clear();
	json_object_foreach(base, k, v)
		if (xtrk_json_set_path(nested, k, json_incref(v), "workspace") < 0)
			xtrk_error_clear();
	json_decref(base);
	xtrk_buf_dispose(&text);
	xtrk_buf_dispose(&abs);
	return nested;
}

int xtrk_workspace_base_run(xtrk_oid *out, xtrk_repo *repo, const char *experiment)
{
	xtrk_run_item *items;
	size_t n, i;
	int err;

	if ((err = xtrk_runs_list(&items, &n, repo, experiment)) < 0)
		return err;
	for (i = 0; i < n; i++)
		if (json_array_size(json_object_get(items[i].run, "datasets")) ||
		    json_array_size(json_object_get(items[i].run, "models")))
			break;
	if (i < n)
		*out = items[i].id;
	else if (!n)
		err = xtrk_error_set(XTRK_ENOTFOUND, "no runs yet: record one with 'xtrk commit-run'");
	else
		err = xtrk_error_set(XTRK_ENOTFOUND, "%s%zu run%s recorded no datasets or models, so there is no data "
			"to compare the workspace with; name a run to compare its params and source: 'xtrk status RUN'",
			n == 1 ? "the " : "all ", n, n == 1 ? "" : "s");
	xtrk_runs_free(items, n);
	return err;
}

int xtrk_workspace_run(json_t **out, xtrk_repo *repo, json_t *like, xtrk_txn *dry)
{
	json_t *ws = json_object(), *missing = json_array(), *src = NULL, *env = NULL;
	xtrk_statcache *cache = NULL;
	xtrk_source_options so;
	const char **exclude = NULL;
	xtrk_buf abs = XTRK_BUF_INIT;
	int err = 0;

	*out = NULL;
	json_object_set_new(ws, "id", json_null());
	json_object_set_new(ws, "workspace", json_true());
	json_object_set(ws, "experiment", json_object_get(like, "experiment"));
	xtrk_statcache_open(&cache, repo);
	for (size_t r = 0; r < XTRK_RECORD_NGROUPS && !err; r++) {
		json_t *arr = json_array(), *e;
		size_t i;
		json_array_foreach(json_object_get(like, xtrk_record_groups[r]), i, e) {
			const char *path = json_string_value(json_object_get(e, "path"));
			xtrk_snapshot_options sopt = XTRK_SNAPSHOT_OPTIONS_INIT;
			xtrk_snapshot snap;
			struct stat st;
			if (!path)
				continue;
			xtrk_buf_clear(&abs);
			xtrk_buf_printf(&abs, "%s/%s", xtrk_repo_workdir(repo), path);
			if (lstat(abs.ptr, &st) < 0) {
				json_array_append_new(missing, json_pack("{s:s, s:O, s:s}", "section", xtrk_record_groups[r],
					"name", json_object_get(e, "name"), "path", path));
				continue;
			}
			sopt.cache = cache;
			sopt.quiet = 1;
			if ((err = xtrk_snapshot_path(&snap, repo, dry, path, &sopt)) < 0)
				break;
			json_array_append_new(arr, json_pack("{s:O, s:s, s:s, s:s, s:I, s:I, s:O}", "name",
				json_object_get(e, "name"), "path", path, "kind", snap.is_tree ? "tree" : "blob",
				"id", xtrk_oid_tostr(&snap.id), "files", (json_int_t)snap.files, "bytes", (json_int_t)snap.bytes,
				"source", json_object_get(e, "source") ? json_object_get(e, "source") : json_null()));
		}
		json_object_set_new(ws, xtrk_record_groups[r], arr);
	}
	if (err < 0)
		goto done;
	if (cache && xtrk_statcache_save(cache) < 0)
		xtrk_error_clear();
	json_object_set_new(ws, "missing", missing);
	missing = NULL;
	json_object_set_new(ws, "params", workspace_params(repo, like));
	json_object_set_new(ws, "metrics", json_object());
	/*
	 * Untracked files as they are now, to compare, less the run's data and
	 * params files as when it was recorded; what is skipped was said then.
	 */
	if ((err = xtrk_source_options_read(&so, xtrk_repo_workdir(repo))) < 0)
		goto done;
	so.warn = 0;
	{
		const char *owned[XTRK_RECORD_NGROUPS + 1];
		json_t *e;
		size_t i, n = 0;
		memcpy(owned, xtrk_record_groups, sizeof(xtrk_record_groups));
		owned[XTRK_RECORD_NGROUPS] = XTRK_REC_PARAMS_FILES;
		for (size_t r = 0; r <= XTRK_RECORD_NGROUPS; r++)
			n += json_array_size(json_object_get(like, owned[r]));
		if (n && !(exclude = calloc(n, sizeof(*exclude)))) {
			err = xtrk_error_oom();
			goto done;
		}
		for (size_t r = 0; r <= XTRK_RECORD_NGROUPS; r++)
			json_array_foreach(json_object_get(like, owned[r]), i, e)
				if (json_is_string(json_object_get(e, "path")))
					exclude[so.nexclude++] = json_string_value(json_object_get(e, "path"));
		so.exclude = exclude;
	}
	if ((err = xtrk_capture_source_opts(&src, dry, xtrk_repo_workdir(repo), &so)) < 0)
		goto done;
	json_object_set_new(ws, "source", src);
	if ((err = xtrk_capture_env_repo(&env, repo, NULL)) < 0)
		goto done;
	json_object_set_new(ws, "env", env);
	*out = ws;
	ws = NULL;
done:
	json_decref(ws);
	json_decref(missing);
	xtrk_statcache_free(cache);
	xtrk_buf_dispose(&abs);
	free(exclude);
	return err;
}
