/* Runs: gathering and checking their inputs before anything is written. */
#include "config.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "run_gather.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/params.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"

int run_add_data(struct commit_state *s, const char *spec, const char *role, int allow_source)
{
	struct data_input *d, *nd;
	char *name, *path, *source;
	xtrk_buf rel = XTRK_BUF_INIT;
	struct stat st;
	int err;

	if ((err = xtrk_data_spec_parse(&name, &path, &source, spec, allow_source)) < 0)
		return err;
	if (lstat(path, &st) < 0) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "%s '%s' does not exist", role, path);
		goto fail;
	}
	if ((err = xtrk_repo_relpath(&rel, s->repo, path)) < 0)
		goto fail;
	if (!name) {
		const char *base = strrchr(rel.ptr, '/');
		base = base ? base + 1 : rel.ptr;
		if (!strcmp(base, ".")) {
			base = strrchr(xtrk_repo_workdir(s->repo), '/');
			base = base && base[1] ? base + 1 : "workspace";
		}
		if (!(name = strdup(base))) {
			err = xtrk_error_oom();
			goto fail;
		}
	}
	for (size_t i = 0; i < s->ndata; i++) {
		if (!strcmp(s->data[i].role, role) && !strcmp(s->data[i].name, name)) {
			err = xtrk_error_set(XTRK_EINVALID, "%s name '%s' given twice; name them with NAME=PATH",
				role, name);
			goto fail;
		}
	}
	if (!(nd = realloc(s->data, (s->ndata + 1) * sizeof(*nd)))) {
		err = xtrk_error_oom();
		goto fail;
	}
	s->data = nd;
	d = &s->data[s->ndata++];
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->relpath = xtrk_buf_detach(&rel);
	d->source = source;
	d->role = role;
	free(path);
	return d->relpath ? 0 : xtrk_error_oom();
fail:
	free(name);
	free(path);
	free(source);
	xtrk_buf_dispose(&rel);
	return err;
}

/*
 * A problem with one input once the command has run (salvage mode): the input is left out, the
 * problem named in the record's error and in a warning, and the run recorded as failed.  Errors of
 * the store itself (space, allocation, I/O) still stop the commit.  Returns 0 when salvaged.
 */
int run_problem(struct commit_state *s, int err)
{
	if (!s->o->salvage || (err != XTRK_EINVALID && err != XTRK_ENOTFOUND && err != XTRK_EEXISTS &&
	    err != XTRK_ERULE && err != XTRK_EAMBIGUOUS))
		return err;
	json_array_append_new(s->problems, json_string(xtrk_error_last()));
	xtrk_error_clear();
	return 0;
}

/* Text that is not UTF-8 cannot go into a record (JSON): a clear error, never a field left out. */
int run_check_text(struct commit_state *s, const char *what, const char *text)
{
	json_t *j;
	if (!text)
		return 0;
	if ((j = json_string(text))) {
		json_decref(j);
		return 0;
	}
	return run_problem(s, xtrk_error_set(XTRK_EINVALID, "the %s is not valid UTF-8 text", what));
}

/* The text as a JSON string; once a run must be recorded anyway, bytes beyond ASCII become '?'. */
json_t *run_text_json(const char *text)
{
	json_t *j = json_string(text ? text : "");
	char *copy;
	if (j || !(copy = strdup(text)))
		return j;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Each leaf of `doc` came from `origin`. */
static void set_origins(json_t *origins, json_t *doc, const char *origin)
{
	json_t *flat = xtrk_json_flatten(doc), *v;
	const char *k;
	json_object_foreach(flat, k, v)
		json_object_set_new(origins, k, json_string(origin));
	json_decref(flat);
}

/*
 * Params in three layers: -P files (a key in two of them is an error), then -p (overrides a
 * key from a file; a key given twice is an error), then the values the program logged (override
 * both).  Each override is kept for the record.
 */
int run_gather_params(struct commit_state *s)
{
	const xtrk_commit_options *o = s->o;
	json_t *given = NULL, *logged = NULL;
	int err = 0;

	s->params = json_object();
	s->params_files = json_array();
	s->param_origins = json_object();
	s->overridden = json_object();
	for (size_t i = 0; i < o->nparam_files; i++) {
		json_t *doc;
		xtrk_buf rel = XTRK_BUF_INIT;
		char origin[600];
		if ((err = xtrk_doc_load(&doc, o->param_files[i])) < 0) {
			if ((err = run_problem(s, err)) < 0)
				return err;
			continue;
		}
		snprintf(origin, sizeof(origin), "in %s", o->param_files[i]);
		err = xtrk_json_merge_strict(s->params, doc, origin);
		if (err == 0 && (err = xtrk_repo_relpath(&rel, s->repo, o->param_files[i])) == 0) {
			set_origins(s->param_origins, doc, rel.ptr);
			json_array_append_new(s->params_files, json_pack("{s:s, s:s}", "path", rel.ptr,
				"given", o->param_files[i]));
		}
		json_decref(doc);
		xtrk_buf_dispose(&rel);
		if (err < 0)
			return err;
	}
	given = json_object();
	for (size_t i = 0; i < o->nparams && err == 0; i++) {
		const char *eq = strchr(o->params[i], '=');
		char *key;
		if (!eq || eq == o->params[i]) {
			err = xtrk_error_set(XTRK_EINVALID, "-p '%s': expected KEY=VALUE", o->params[i]);
			break;
		}
		if (!(key = strndup(o->params[i], (size_t)(eq - o->params[i])))) {
			err = xtrk_error_oom();
			break;
		}
		err = xtrk_json_set_path(given, key, xtrk_value_parse(eq + 1), "with -p");
		free(key);
	}
	if (err == 0)
		err = xtrk_json_overlay(s->params, given, "-p", s->param_origins, s->overridden);
	logged = json_object();
	for (size_t i = 0; i < o->nextra_param_files && err == 0; i++) {
		json_t *doc;
		char origin[600];
		if ((err = xtrk_doc_load(&doc, o->extra_param_files[i])) < 0) {
			err = run_problem(s, err);
			continue;
		}
		snprintf(origin, sizeof(origin), "in %s", o->extra_param_files[i]);
		if ((err = xtrk_json_merge_strict(logged, doc, origin)) < 0)
			err = run_problem(s, err);
		json_decref(doc);
	}
	if (err == 0)
		err = xtrk_json_overlay(s->params, logged, "the program", s->param_origins, s->overridden);
	json_decref(given);
	json_decref(logged);
	if (err < 0)
		return err;
	/* The seed: --seed, else the params key "seed"; both must agree. */
	json_t *ps = json_object_get(s->params, "seed");
	if (ps && !json_is_integer(ps) && !json_is_null(ps)) {
		if ((err = run_problem(s, xtrk_error_set(XTRK_EINVALID, "param 'seed' must be an integer"))) < 0)
			return err;
		ps = NULL;
	}
	s->has_seed = o->has_seed || json_is_integer(ps);
	s->seed = o->has_seed ? o->seed : json_is_integer(ps) ? json_integer_value(ps) : 0;
	if (o->has_seed && json_is_integer(ps) && json_integer_value(ps) != o->seed)
		return run_problem(s, xtrk_error_set(XTRK_EINVALID, "--seed %lld disagrees with param seed=%lld",
			o->seed, (long long)json_integer_value(ps)));
	return 0;
}

static int set_metric(json_t *metrics, const char *key, json_t *v, const char *origin)
{
	if (!v) { /* xtrk_value_parse refused it */
		return xtrk_error_set(XTRK_EINVALID, "metric '%s' (%s): %s", key, origin, xtrk_error_last());
	}
	if (!json_is_number(v)) {
		json_decref(v);
		return xtrk_error_set(XTRK_EINVALID, "metric '%s' (%s) is not a number", key, origin);
	}
	if (json_object_get(metrics, key)) {
		json_decref(v);
		return xtrk_error_set(XTRK_EINVALID, "metric '%s' given twice (%s)", key, origin);
	}
	json_object_set_new(metrics, key, v);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

/* Whether a file, or anything in a folder, was modified at or after `t` (links not followed). */
static int modified_since(const char *path, double t)
{
	struct stat st;
	struct dirent *e;
	int found = 0;
	DIR *d;

	if (lstat(path, &st) < 0)
		return 0;
	if ((double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9 >= t)
		return 1;
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return 0;
	while (!found && (e = readdir(d))) {
		xtrk_buf child = XTRK_BUF_INIT;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		xtrk_buf_printf(&child, "%s/%s", path, e->d_name);
		found = !xtrk_buf_oom(&child) && modified_since(child.ptr, t);
		xtrk_buf_dispose(&child);
	}
	closedir(d);
	return found;
}

/*
 * Once a command has run, an output is attached only if it was written after the command started:
 * an older one is named in a warning and in the record (1), not attached.  0: fresh (or not
 * checked); < 0: it does not exist.
 */
static int check_fresh(struct commit_state *s, const char *path, const char *what)
{
	struct stat st;
	if (s->o->outputs_after <= 0)
		return 0;
	if (lstat(path, &st) < 0)
		return xtrk_error_set(XTRK_ENOTFOUND, "%s '%s' does not exist", what, path);
	if (modified_since(path, s->o->outputs_after))
		return 0;
	xtrk_buf rel = XTRK_BUF_INIT;
	xtrk_warning_add("%s '%s' was not written by the command (last modified before it started): not attached",
		what, path);
	if (xtrk_repo_relpath(&rel, s->repo, path) < 0)
		xtrk_error_clear();
	json_array_append_new(s->stale, json_string(rel.size ? rel.ptr : path));
	xtrk_buf_dispose(&rel);
	return 1;
}

/* check_fresh for an output given as [NAME=]PATH: 1 when stale (left out), < 0 when it is missing. */
int run_output_fresh(struct commit_state *s, const char *spec, const char *role)
{
	char *name, *path, *source;
	int err;
	if (s->o->outputs_after <= 0)
		return 0;
	if ((err = xtrk_data_spec_parse(&name, &path, &source, spec, 0)) < 0)
		return err;
	err = check_fresh(s, path, role);
	free(name);
	free(path);
	free(source);
	return err;
}

int run_gather_metrics(struct commit_state *s)
{
	const xtrk_commit_options *o = s->o;
	json_t *finals = NULL;
	int err;

	s->metrics = json_object();
	for (size_t i = 0; i < o->nmetrics; i++) {
		const char *eq = strchr(o->metrics[i], '=');
		char *key;
		if (!eq || eq == o->metrics[i])
			return xtrk_error_set(XTRK_EINVALID, "--metric '%s': expected KEY=VALUE", o->metrics[i]);
		if (!(key = strndup(o->metrics[i], (size_t)(eq - o->metrics[i]))))
			return xtrk_error_oom();
		err = set_metric(s->metrics, key, xtrk_number_parse(eq + 1), "given with --metric");
		free(key);
		if (err < 0)
			return err;
	}
	for (size_t i = 0; i < o->nmetric_files && !s->precheck; i++) {
		const char *f = o->metric_files[i];
		char origin[600];
		snprintf(origin, sizeof(origin), "in %s", f);
		if ((err = check_fresh(s, f, "metrics file")) != 0) {
			if (err < 0 && (err = run_problem(s, err)) < 0)
				return err;
			continue;
		}
		if (ends_with(f, ".jsonl")) {
			size_t points, bad;
			json_t *got = NULL;
			if (s->series_path)
				err = xtrk_error_set(XTRK_EINVALID, "only one step series (.jsonl) per run: '%s' and '%s'",
					s->series_path, f);
			else
				err = xtrk_series_load(&got, &points, &bad, f, o->lenient_series);
			if (err < 0) {
				if ((err = run_problem(s, err)) < 0)
					return err;
				continue;
			}
			finals = got;
			if (bad)
				xtrk_warning_add("%s (%zu malformed line%s skipped)", xtrk_error_last(), bad, bad == 1 ? "" : "s");
			if (!(s->series_path = strdup(f)))
				return xtrk_error_oom();
			continue;
		}
		json_t *doc, *flat, *staged;
		const char *k;
		json_t *v;
		if ((err = xtrk_doc_load(&doc, f)) < 0) {
			if ((err = run_problem(s, err)) < 0)
				return err;
			continue;
		}
		flat = xtrk_json_flatten(doc);
		json_decref(doc);
		/* All of a file's metrics, or (once the command has run) none of them. */
		staged = json_deep_copy(s->metrics);
		json_object_foreach(flat, k, v) {
			if ((err = set_metric(staged, k, json_incref(v), origin)) < 0)
				break;
		}
		json_decref(flat);
		if (err == 0) {
			json_decref(s->metrics);
			s->metrics = staged;
		} else {
			json_decref(staged);
			if ((err = run_problem(s, err)) < 0)
				return err;
		}
	}
	/* A series' last value of each key is a final metric unless one was given. */
	if (finals) {
		const char *k;
		json_t *v;
		json_object_foreach(finals, k, v)
			if (!json_object_get(s->metrics, k))
				json_object_set(s->metrics, k, v);
		json_decref(finals);
	}
	return 0;
}

/* ---- [require] rules ---- */

static int rule_fail(const char *rule, const char *what)
{
	return xtrk_error_set(XTRK_ERULE, "run refused by rule '%s' in .xtrk/config: %s", rule, what);
}

int run_check_rules_inputs(struct commit_state *s)
{
	xtrk_buf v = XTRK_BUF_INIT;
	int err = 0, need;

	/* Before the command, params and datasets may still come from the program: checked after it. */
	if (!s->precheck && xtrk_repo_config_string(&v, s->repo, "require.params") == 0) {
		json_t *flat = xtrk_json_flatten(s->params);
		char *save = v.ptr;
		while (save && *save && !err) {
			char *comma = strchr(save, ','), key[256];
			size_t n = comma ? (size_t)(comma - save) : strlen(save);
			snprintf(key, sizeof(key), "%.*s", (int)n, save);
			char *k = key + strspn(key, " \t");
			for (size_t l = strlen(k); l && (k[l - 1] == ' ' || k[l - 1] == '\t'); l--)
				k[l - 1] = '\0';
			if (*k && !json_object_get(flat, k) && !(strcmp(k, "seed") == 0 && s->has_seed)) {
				char msg[400];
				snprintf(msg, sizeof(msg), "param '%s' is required (give it with -p %s=VALUE)", k, k);
				err = rule_fail("require.params", msg);
			}
			save = comma ? comma + 1 : NULL;
		}
		json_decref(flat);
	}
	if (!err)
		xtrk_error_clear();
	if (!err && !s->precheck && (err = xtrk_repo_config_bool(&need, s->repo, "require.datasets", 0)) == 0 && need) {
		int have = 0;
		for (size_t i = 0; i < s->ndata; i++)
			have |= !strcmp(s->data[i].role, "dataset");
		if (!have)
			err = rule_fail("require.datasets", "at least one dataset is required (give it with -d PATH)");
	}
	if (!err && xtrk_repo_config_string(&v, s->repo, "require.experiment-name") == 0) {
		regex_t re;
		xtrk_buf anchored = XTRK_BUF_INIT;
		xtrk_buf_printf(&anchored, "^(%s)$", v.ptr);
		if (regcomp(&re, anchored.ptr, REG_EXTENDED | REG_NOSUB) != 0) {
			err = xtrk_error_set(XTRK_EINVALID, "require.experiment-name in .xtrk/config is not a valid regular expression");
		} else {
			if (regexec(&re, s->experiment, 0, NULL, 0) != 0) {
				char msg[600];
				snprintf(msg, sizeof(msg), "experiment name '%s' does not match '%s'", s->experiment, v.ptr);
				err = rule_fail("require.experiment-name", msg);
			}
			regfree(&re);
		}
		xtrk_buf_dispose(&anchored);
	}
	if (err != XTRK_ERULE && err != XTRK_EINVALID)
		xtrk_error_clear();
	xtrk_buf_dispose(&v);
	return err == XTRK_ENOTFOUND ? 0 : err;
}

int run_check_rule_clean(struct commit_state *s)
{
	int need, err = xtrk_repo_config_bool(&need, s->repo, "require.clean-source", 0);
	if (err < 0 || !need)
		return err;
	if (json_is_null(json_object_get(s->source, "commit")))
		return rule_fail("require.clean-source", "the workspace has no git commit to record");
	if (json_is_true(json_object_get(s->source, "dirty")))
		return rule_fail("require.clean-source", "the git working tree has uncommitted changes; commit them first");
	return 0;
}

