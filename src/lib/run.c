/* Runs: validating and recording them, reading them back, listing and resolving revisions. */
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
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/params.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"

void xtrk_format_time(char out[40], double t)
{
	time_t secs = (time_t)t;
	long usec = (long)((t - (double)secs) * 1e6 + 0.5);
	struct tm tm;
	char base[24];
	if (usec < 0)
		usec = 0;
	if (usec >= 1000000) {
		secs++;
		usec -= 1000000;
	}
	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%.20s.%06uZ", base, (unsigned)(usec % 1000000));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int xtrk_data_spec_parse(char **name, char **path, char **source, const char *spec, int allow_source)
{
	const char *eq = strchr(spec, '='), *p = spec, *at;
	struct stat st;

	*name = *path = *source = NULL;
	/* "NAME=" only when what precedes '=' could be a name (no '/'). */
	if (eq && eq != spec && !memchr(spec, '/', (size_t)(eq - spec))) {
		if (!(*name = strndup(spec, (size_t)(eq - spec))))
			return xtrk_error_oom();
		if (!xtrk_ref_name_valid(*name)) {
			int err = xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid name in '%s'", *name, spec);
			free(*name);
			*name = NULL;
			return err;
		}
		p = eq + 1;
	}
	at = allow_source && lstat(p, &st) < 0 ? strchr(p, '@') : NULL;
	*path = at ? strndup(p, (size_t)(at - p)) : strdup(p);
	if (at)
		*source = strdup(at + 1);
	if (!*path || (at && !*source)) {
		free(*name);
		free(*path);
		free(*source);
		*name = *path = *source = NULL;
		return xtrk_error_oom();
	}
	if (!**path) {
		free(*name);
		free(*path);
		free(*source);
		*name = *path = *source = NULL;
		return xtrk_error_set(XTRK_EINVALID, "'%s' names no path", spec);
	}
	return 0;
}

/* ---- gathering inputs (no writes) ---- */

struct data_input {
	char *name;
	char *relpath;
	char *source;
	const char *role;
	xtrk_snapshot snap;
	int left_out;        /* it could not be read once the command had run: named in the error instead */
};

struct commit_state {
	xtrk_repo *repo;
	const xtrk_commit_options *o;
	json_t *params;
	json_t *metrics;
	char *series_path;
	json_t *params_files; /* [{path, abs}] */
	struct data_input *data;
	size_t ndata;
	char experiment[256];
	json_t *source;
	xtrk_oid parent;
	int has_parent;
	int has_seed;
	long long seed;
	json_t *param_origins;  /* flattened key -> where its value came from */
	json_t *overridden;     /* flattened key -> {"was", "from", "by"} */
	json_t *problems;       /* salvage mode: what was left out, and why */
	json_t *stale;          /* outputs older than the command, not attached */
	int precheck;           /* before the command: inputs only, outputs do not exist yet */
};

static int add_data(struct commit_state *s, const char *spec, const char *role, int allow_source)
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
static int problem(struct commit_state *s, int err)
{
	if (!s->o->salvage || (err != XTRK_EINVALID && err != XTRK_ENOTFOUND && err != XTRK_EEXISTS &&
	    err != XTRK_ERULE && err != XTRK_EAMBIGUOUS))
		return err;
	json_array_append_new(s->problems, json_string(xtrk_error_last()));
	xtrk_error_clear();
	return 0;
}

/* Text that is not UTF-8 cannot go into a record (JSON): a clear error, never a field left out. */
static int check_text(struct commit_state *s, const char *what, const char *text)
{
	json_t *j;
	if (!text)
		return 0;
	if ((j = json_string(text))) {
		json_decref(j);
		return 0;
	}
	return problem(s, xtrk_error_set(XTRK_EINVALID, "the %s is not valid UTF-8 text", what));
}

/* The text as a JSON string; once a run must be recorded anyway, bytes beyond ASCII become '?'. */
static json_t *text_json(const char *text)
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
static int gather_params(struct commit_state *s)
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
			if ((err = problem(s, err)) < 0)
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
			err = problem(s, err);
			continue;
		}
		snprintf(origin, sizeof(origin), "in %s", o->extra_param_files[i]);
		if ((err = xtrk_json_merge_strict(logged, doc, origin)) < 0)
			err = problem(s, err);
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
		if ((err = problem(s, xtrk_error_set(XTRK_EINVALID, "param 'seed' must be an integer"))) < 0)
			return err;
		ps = NULL;
	}
	s->has_seed = o->has_seed || json_is_integer(ps);
	s->seed = o->has_seed ? o->seed : json_is_integer(ps) ? json_integer_value(ps) : 0;
	if (o->has_seed && json_is_integer(ps) && json_integer_value(ps) != o->seed)
		return problem(s, xtrk_error_set(XTRK_EINVALID, "--seed %lld disagrees with param seed=%lld",
			o->seed, (long long)json_integer_value(ps)));
	return 0;
}

static int set_metric(json_t *metrics, const char *key, json_t *v, const char *origin)
{
	if (!v) { /* xtrk_value_parse refused it */
		char why[200];
		snprintf(why, sizeof(why), "%s", xtrk_error_last());
		return xtrk_error_set(XTRK_EINVALID, "metric '%s' (%s): %s", key, origin, why);
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
static int output_fresh(struct commit_state *s, const char *spec, const char *role)
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

static int gather_metrics(struct commit_state *s)
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
		err = set_metric(s->metrics, key, xtrk_value_parse(eq + 1), "given with --metric");
		free(key);
		if (err < 0)
			return err;
	}
	for (size_t i = 0; i < o->nmetric_files && !s->precheck; i++) {
		const char *f = o->metric_files[i];
		char origin[600];
		snprintf(origin, sizeof(origin), "in %s", f);
		if ((err = check_fresh(s, f, "metrics file")) != 0) {
			if (err < 0 && (err = problem(s, err)) < 0)
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
				if ((err = problem(s, err)) < 0)
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
			if ((err = problem(s, err)) < 0)
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
			if ((err = problem(s, err)) < 0)
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

static int check_rules_inputs(struct commit_state *s)
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

static int check_rule_clean(struct commit_state *s)
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

/* ---- environment capture, run beside the snapshot ---- */

struct env_job {
	xtrk_repo *repo;
	int err;
	char errmsg[512];
	json_t *env;
	char **warnings;
	int nwarnings;
};

static void *env_thread(void *arg)
{
	struct env_job *j = arg;
	if ((j->err = xtrk_capture_env_repo(&j->env, j->repo, NULL)) < 0)
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", xtrk_error_last());
	j->nwarnings = xtrk_warning_count();
	if (j->nwarnings && (j->warnings = calloc((size_t)j->nwarnings, sizeof(char *))))
		for (int i = 0; i < j->nwarnings; i++)
			j->warnings[i] = strdup(xtrk_warning_get(i));
	xtrk_warning_clear();
	return NULL;
}

static void env_job_finish(struct env_job *j)
{
	for (int i = 0; i < j->nwarnings && j->warnings; i++) {
		if (j->warnings[i])
			xtrk_warning_add("%s", j->warnings[i]);
		free(j->warnings[i]);
	}
	free(j->warnings);
}

/* ---- building and writing ---- */

static void progress_bridge(uint64_t bytes, uint64_t files, void *payload)
{
	void **pp = payload;
	const xtrk_commit_options *o = pp[0];
	o->progress(pp[1], bytes, files, o->payload);
}

static int store_file_blob(xtrk_oid *out, xtrk_txn *txn, const char *path)
{
	uint64_t size;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	if (fd < 0)
		return xtrk_error_errno("cannot open '%s'", path);
	err = xtrk_txn_write_fd(out, &size, txn, fd, path);
	close(fd);
	return err;
}

/* ---- a script the command ran from outside the repository ---- */

/* Interpreters whose first operand is the program they run. */
static const char *const interpreters[] = { "python", "sh", "bash", "dash", "zsh", "ksh", "Rscript", "julia",
	"node", "perl", "ruby", NULL };

static int is_interpreter(const char *prog)
{
	const char *base = strrchr(prog, '/');
	base = base ? base + 1 : prog;
	for (int i = 0; interpreters[i]; i++) {
		size_t n = strlen(interpreters[i]);
		if (!strncmp(base, interpreters[i], n) && (!base[n] || base[n] == '.' || (base[n] >= '0' && base[n] <= '9')))
			return 1;
	}
	return 0;
}

/*
 * The script file a command runs: its program when given as a path, or an interpreter's first
 * operand that is a regular file (none after -c, -m or -e: code given inline or a module).
 */
static const char *command_script(json_t *argv)
{
	const char *prog = json_string_value(json_array_get(argv, 0));
	struct stat st;

	if (!prog)
		return NULL;
	if (!is_interpreter(prog))
		return strchr(prog, '/') && stat(prog, &st) == 0 && S_ISREG(st.st_mode) ? prog : NULL;
	for (size_t i = 1; i < json_array_size(argv); i++) {
		const char *a = json_string_value(json_array_get(argv, i));
		if (!a || !strcmp(a, "-c") || !strcmp(a, "-m") || !strcmp(a, "-e"))
			return NULL;
		if (*a != '-' && stat(a, &st) == 0 && S_ISREG(st.st_mode))
			return a;
	}
	return NULL;
}

static int below(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n && !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/*
 * A script run from outside the git working tree and the workspace is not part of the source that
 * git or the untracked capture records: store it (within capture.untracked-max-file) and list it
 * in source.scripts as {path, id, bytes}.
 */
static int capture_script(struct commit_state *s, xtrk_txn *txn)
{
	const char *script = command_script(json_object_get(s->o->command, "argv"));
	const char *repo_dir = json_string_value(json_object_get(s->source, "repository"));
	xtrk_source_options so;
	char *abs;
	struct stat st;
	xtrk_oid id;
	int err = 0;

	if (!script || !json_is_object(s->source))
		return 0;
	if (!(abs = realpath(script, NULL)))
		return xtrk_error_set(XTRK_ENOTFOUND, "cannot resolve the script '%s': %s", script, strerror(errno));
	if (below(abs, xtrk_repo_workdir(s->repo)) || below(abs, repo_dir))
		goto done;
	if ((err = xtrk_source_options_read(&so, xtrk_repo_workdir(s->repo))) < 0)
		goto done;
	if (stat(abs, &st) < 0) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "cannot read the script '%s': %s", abs, strerror(errno));
		goto done;
	}
	if ((uint64_t)st.st_size > so.untracked_max_file) {
		xtrk_warning_add("the script '%s' is outside the repository and larger than capture.untracked-max-file: "
			"not stored", abs);
		goto done;
	}
	if ((err = store_file_blob(&id, txn, abs)) < 0)
		goto done;
	json_object_set_new(s->source, "scripts", json_pack("[{s:s, s:s, s:I}]", "path", abs, "id", xtrk_oid_tostr(&id),
		"bytes", (json_int_t)st.st_size));
done:
	free(abs);
	return err;
}

static json_t *data_json(const struct data_input *d)
{
	/* The provenance is free text and often a URL: recorded without its credentials. */
	char *src = d->source ? xtrk_redact_text(d->source) : NULL;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "name", d->name, "path", d->relpath,
		"kind", d->snap.is_tree ? "tree" : "blob", "id", xtrk_oid_tostr(&d->snap.id),
		"files", (json_int_t)d->snap.files, "bytes", (json_int_t)d->snap.bytes,
		"source", src ? json_string(src) : json_null());
	free(src);
	return j;
}

static int commit_state_prepare(struct commit_state *s)
{
	const xtrk_commit_options *o = s->o;
	xtrk_buf v = XTRK_BUF_INIT;
	int err;

	if (!(s->problems = json_array()) || !(s->stale = json_array()))
		return xtrk_error_oom();
	if (o->experiment)
		snprintf(s->experiment, sizeof(s->experiment), "%s", o->experiment);
	else if (xtrk_repo_config_string(&v, s->repo, "core.experiment") == 0)
		snprintf(s->experiment, sizeof(s->experiment), "%s", v.ptr);
	else
		snprintf(s->experiment, sizeof(s->experiment), "default");
	xtrk_error_clear();
	xtrk_buf_dispose(&v);
	if (!xtrk_ref_name_valid(s->experiment)) {
		err = xtrk_error_set(XTRK_EINVALID,
			"'%s' is not a valid experiment name (letters, digits, '.', '_' and '-')", s->experiment);
		if ((err = problem(s, err)) < 0)
			return err;
		snprintf(s->experiment, sizeof(s->experiment), "default");
	}
	for (size_t i = 0; i < o->ntags; i++) {
		xtrk_oid old;
		if (!xtrk_tag_name_valid(o->tags[i]))
			err = xtrk_tag_name_refuse(o->tags[i]);
		else if (xtrk_refs_tag_lookup(&old, s->repo, o->tags[i]) == 0)
			err = xtrk_error_set(XTRK_EEXISTS, "tag '%s' already names run %s; choose another name",
				o->tags[i], xtrk_oid_tostr(&old));
		else
			err = 0, xtrk_error_clear();
		if (err < 0 && (err = problem(s, err)) < 0)
			return err;
	}
	if ((err = check_text(s, "message", o->message)) < 0 || (err = check_text(s, "error", o->error)) < 0)
		return err;
	for (size_t i = 0; i < o->nnotes; i++)
		if ((err = check_text(s, "note", o->notes[i])) < 0)
			return err;
	if (o->parent) {
		if ((err = xtrk_run_resolve(&s->parent, s->repo, o->parent)) == 0)
			s->has_parent = 1;
		else if ((err = problem(s, err)) < 0)
			return err;
	}
	if ((err = gather_params(s)) < 0 || (err = gather_metrics(s)) < 0)
		return err;
	for (size_t i = 0; i < o->ndatasets; i++)
		if ((err = add_data(s, o->datasets[i], "dataset", 1)) < 0 && (err = problem(s, err)) < 0)
			return err;
	/* Outputs: not there yet before the command; once it has run, only what it wrote. */
	for (size_t i = 0; i < o->nmodels + o->nartifacts && !s->precheck; i++) {
		int model = i < o->nmodels;
		const char *spec = model ? o->models[i] : o->artifacts[i - o->nmodels];
		if ((err = output_fresh(s, spec, model ? "model" : "artifact")) == 0)
			err = add_data(s, spec, model ? "model" : "artifact", 0);
		if (err < 0 && (err = problem(s, err)) < 0)
			return err;
	}
	if ((err = check_rules_inputs(s)) < 0 && (err = problem(s, err)) < 0)
		return err;
	return 0;
}

static void commit_state_free(struct commit_state *s)
{
	json_decref(s->params);
	json_decref(s->metrics);
	json_decref(s->params_files);
	json_decref(s->param_origins);
	json_decref(s->overridden);
	json_decref(s->problems);
	json_decref(s->stale);
	json_decref(s->source);
	free(s->series_path);
	for (size_t i = 0; i < s->ndata; i++) {
		free(s->data[i].name);
		free(s->data[i].relpath);
		free(s->data[i].source);
	}
	free(s->data);
}

static json_t *build_run(struct commit_state *s, json_t *env, const char *author, double started,
	double ended, const xtrk_oid *series, json_t *pfiles, const xtrk_oid *logs[2])
{
	const xtrk_commit_options *o = s->o;
	json_t *run = json_object(), *ds = json_array(), *ms = json_array(), *as = json_array(), *notes = json_array();
	char ts[40];

	json_object_set_new(run, "format", json_integer(XTRK_RUN_FORMAT));
	json_object_set_new(run, "experiment", json_string(s->experiment));
	json_object_set_new(run, "message", text_json(o->message));
	json_object_set_new(run, "parent", s->has_parent ? json_string(xtrk_oid_tostr(&s->parent)) : json_null());
	json_object_set_new(run, "author", json_string(author));
	xtrk_format_time(ts, started);
	json_object_set_new(run, "started", json_string(ts));
	xtrk_format_time(ts, ended);
	json_object_set_new(run, "ended", json_string(ts));
	json_object_set_new(run, "duration_s", json_real((double)(long long)((ended - started) * 1000 + 0.5) / 1000));
	json_object_set_new(run, "status", json_string(o->failed || json_array_size(s->problems) ? "failed" : "succeeded"));
	json_object_set_new(run, "exit_code", o->has_exit_code ? json_integer(o->exit_code) : json_null());
	/* The command as run, less the secrets on its command line (xtrk_redact_command). */
	{
		json_t *cmd = o->command ? xtrk_redact_command(o->command) : NULL;
		json_object_set_new(run, "command", cmd ? cmd : json_null());
	}
	json_object_set(run, "source", s->source);
	json_object_set(run, "params", s->params);
	json_object_set(run, "params_files", pfiles);
	json_object_set(run, "metrics", s->metrics);
	json_object_set_new(run, "series", series ? json_string(xtrk_oid_tostr(series)) : json_null());
	json_object_set_new(run, "seed", s->has_seed ? json_integer(s->seed) : json_null());
	for (size_t i = 0; i < s->ndata; i++) {
		const char *r = s->data[i].role;
		if (s->data[i].left_out)
			continue;
		json_array_append_new(!strcmp(r, "dataset") ? ds : !strcmp(r, "model") ? ms : as, data_json(&s->data[i]));
	}
	json_object_set_new(run, "datasets", ds);
	json_object_set_new(run, "models", ms);
	json_object_set_new(run, "artifacts", as);
	json_object_set(run, "env", env);
	json_object_set_new(run, "logs", json_pack("{s:o, s:o}",
		"stdout", logs[0] ? json_string(xtrk_oid_tostr(logs[0])) : json_null(),
		"stderr", logs[1] ? json_string(xtrk_oid_tostr(logs[1])) : json_null()));
	if (json_array_size(s->problems)) {
		/* Every problem in one text, after the command's own error. */
		xtrk_buf e = XTRK_BUF_INIT;
		size_t i;
		json_t *p;
		if (o->error)
			xtrk_buf_printf(&e, "%s; ", o->error);
		json_array_foreach(s->problems, i, p)
			xtrk_buf_printf(&e, "%s%s", i ? "; " : "", json_string_value(p));
		json_object_set_new(run, "error", text_json(e.ptr));
		xtrk_buf_dispose(&e);
	} else if (o->error) {
		json_object_set_new(run, "error", text_json(o->error));
	}
	if (json_object_size(s->overridden))
		json_object_set(run, "params_overridden", s->overridden);
	if (json_array_size(s->stale))
		json_object_set(run, "outputs_not_attached", s->stale);
	json_object_set(run, "resources", o->resources ? o->resources : json_null());
	for (size_t i = 0; i < o->nnotes; i++)
		json_array_append_new(notes, text_json(o->notes[i]));
	json_object_set_new(run, "notes", notes);
	return run;
}

int xtrk_run_check_inputs(xtrk_repo *repo, const xtrk_commit_options *o)
{
	struct commit_state s;
	int err;

	memset(&s, 0, sizeof(s));
	s.repo = repo;
	s.o = o;
	s.precheck = 1;
	if (o->salvage)
		err = xtrk_error_set(XTRK_EINVALID, "internal error: inputs are checked before the command, not in salvage mode");
	else if ((err = commit_state_prepare(&s)) == 0 && o->source) {
		s.source = json_incref(o->source);
		err = check_rule_clean(&s);
	}
	commit_state_free(&s);
	return err;
}

int xtrk_run_commit(xtrk_oid *out, json_t **run_out, xtrk_repo *repo, const xtrk_commit_options *o)
{
	struct commit_state s;
	struct env_job ej;
	pthread_t env_tid;
	int env_started = 0;
	xtrk_txn *txn = NULL;
	xtrk_statcache *cache = NULL;
	xtrk_buf author = XTRK_BUF_INIT;
	json_t *run = NULL, *pfiles = NULL;
	xtrk_oid series_id, log_ids[2];
	const xtrk_oid *logs[2] = { NULL, NULL };
	double started = o->started > 0 ? o->started : now_s();
	int err, py = 1;
	char *dump = NULL;

	memset(&s, 0, sizeof(s));
	memset(&ej, 0, sizeof(ej));
	s.repo = repo;
	s.o = o;
	if (run_out)
		*run_out = NULL;
	const unsigned long oom = xtrk_oom_mark(); /* allocation failures from here on are this commit's */
	if (!(pfiles = json_array())) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = commit_state_prepare(&s)) < 0)
		goto done;

	/* Everything checked that can be checked without writing; start the work. */
	if ((err = xtrk_repo_config_bool(&py, repo, "capture.python", 1)) < 0)
		goto done;
	ej.repo = repo;
	if (o->env)
		ej.env = json_incref(o->env);
	else if (pthread_create(&env_tid, NULL, env_thread, &ej) == 0)
		env_started = 1;
	else
		env_thread(&ej);

	if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0)
		goto done;
	if (o->source)
		s.source = json_incref(o->source);
	else if ((err = xtrk_capture_source_commit(&s.source, txn, repo, o)) < 0)
		goto done;
	if ((err = check_rule_clean(&s)) < 0 && (err = problem(&s, err)) < 0)
		goto done;
	if ((err = capture_script(&s, txn)) < 0 && (err = problem(&s, err)) < 0)
		goto done;
	if ((err = xtrk_capture_author(&author, xtrk_repo_workdir(repo))) < 0)
		goto done;
	xtrk_statcache_open(&cache, repo);
	for (size_t i = 0; i < s.ndata; i++) {
		xtrk_snapshot_options so = XTRK_SNAPSHOT_OPTIONS_INIT;
		void *pp[2] = { (void *)o, s.data[i].relpath };
		so.threads = o->threads;
		so.cache = cache;
		if (o->progress) {
			so.progress = progress_bridge;
			so.payload = pp;
		}
		if ((err = xtrk_snapshot_path(&s.data[i].snap, repo, txn, s.data[i].relpath, &so)) < 0) {
			if ((err = problem(&s, err)) < 0)
				goto done;
			s.data[i].left_out = 1;
		}
	}
	for (size_t i = 0; i < json_array_size(s.params_files); i++) {
		json_t *pf = json_array_get(s.params_files, i);
		xtrk_oid id;
		if ((err = store_file_blob(&id, txn, json_string_value(json_object_get(pf, "given")))) < 0)
			goto done;
		json_array_append_new(pfiles, json_pack("{s:O, s:s}", "path", json_object_get(pf, "path"),
			"id", xtrk_oid_tostr(&id)));
	}
	if (s.series_path && (err = store_file_blob(&series_id, txn, s.series_path)) < 0)
		goto done;
	if (o->stdout_path) {
		if ((err = store_file_blob(&log_ids[0], txn, o->stdout_path)) < 0)
			goto done;
		logs[0] = &log_ids[0];
	}
	if (o->stderr_path) {
		if ((err = store_file_blob(&log_ids[1], txn, o->stderr_path)) < 0)
			goto done;
		logs[1] = &log_ids[1];
	}
	if (env_started) {
		pthread_join(env_tid, NULL);
		env_started = 0;
	}
	env_job_finish(&ej);
	if (ej.err < 0) {
		err = xtrk_error_set(ej.err, "%s", ej.errmsg);
		goto done;
	}
	run = build_run(&s, ej.env, author.ptr, started, o->ended > 0 ? o->ended : now_s(),
		s.series_path ? &series_id : NULL, pfiles, logs);
	if (!(dump = xtrk_json_dumps(run, XTRK_JSON_STORE))) {
		err = xtrk_error_oom();
		goto done;
	}
	/* A value lost to a failed allocation would make a quietly different run: refuse instead. */
	if (xtrk_oom_since(oom)) {
		err = xtrk_error_set(XTRK_ERROR, "out of memory while recording the run; nothing was written");
		goto done;
	}
	{
		/* A run that could not be read back must never be stored: check before writing. */
		json_error_t je;
		json_t *back = json_loads(dump, JSON_REJECT_DUPLICATES, &je);
		int same = back && json_equal(back, run);
		json_decref(back);
		if (!same) {
			err = xtrk_error_set(XTRK_ERROR, "internal error: the run record does not read back (%s); "
				"nothing was written", back ? "different values" : je.text);
			goto done;
		}
	}
	/* Nor one that readers would have to skip. */
	if (xtrk_record_check(run) < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", xtrk_error_last()); /* the message is rewritten below */
		err = xtrk_error_set(XTRK_EINVALID, "the run record would not be valid (%s); nothing was written", why);
		goto done;
	}
	if ((err = xtrk_txn_write(out, txn, XTRK_OBJ_RUN, dump, strlen(dump))) < 0)
		goto done;
	/* Objects durable first, then the refs that name them. */
	if ((err = xtrk_txn_commit(txn)) < 0)
		goto done;
	if (cache && xtrk_statcache_save(cache) < 0) {
		xtrk_warning_add("could not update the stat cache (%s); the next commit will re-read files",
			xtrk_error_last());
		xtrk_error_clear();
	}
	if ((err = xtrk_refs_add_run(repo, s.experiment, out)) < 0)
		goto done;
	for (size_t i = 0; i < o->ntags; i++) {
		if ((err = xtrk_refs_tag_create(repo, o->tags[i], out, 0)) < 0) {
			char why[512];
			snprintf(why, sizeof(why), "%s", xtrk_error_last());
			err = xtrk_error_set(err, "run %s was recorded, but tagging it failed: %s", xtrk_oid_tostr(out), why);
			goto done;
		}
	}
	if (run_out) {
		json_t *tags = json_array();
		json_object_set_new(run, "id", json_string(xtrk_oid_tostr(out)));
		for (size_t i = 0; i < o->ntags; i++)
			json_array_append_new(tags, json_string(o->tags[i]));
		json_object_set_new(run, "tags", tags);
		*run_out = json_incref(run);
	}
	if (json_array_size(s.problems)) {
		size_t i;
		json_t *p;
		json_array_foreach(s.problems, i, p)
			xtrk_warning_add("%s", json_string_value(p));
		err = XTRK_RUN_RECORDED_FAILED;
	}
done:
	if (env_started)
		pthread_join(env_tid, NULL);
	if (err < 0 && ej.warnings) {
		for (int i = 0; i < ej.nwarnings; i++)
			free(ej.warnings[i]);
		free(ej.warnings);
	}
	json_decref(ej.env);
	free(dump);
	json_decref(run);
	json_decref(pfiles);
	xtrk_txn_free(txn);
	xtrk_statcache_free(cache);
	xtrk_buf_dispose(&author);
	commit_state_free(&s);
	return err;
}

/* ---- reading ---- */

static int attach_tags(json_t *run, xtrk_repo *repo, const xtrk_oid *id)
{
	char **names;
	xtrk_oid *targets;
	size_t n;
	json_t *tags = json_array();
	int err = xtrk_refs_tags(&names, &targets, &n, repo);
	if (err < 0) {
		json_decref(tags);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		if (!xtrk_oid_cmp(&targets[i], id))
			json_array_append_new(tags, json_string(names[i]));
	xtrk_refs_tags_free(names, targets, n);
	json_object_set_new(run, "tags", tags);
	return 0;
}

static int parse_run(json_t **out, const xtrk_buf *b, const xtrk_oid *id)
{
	json_error_t je;
	json_t *run = json_loadb(b->ptr, b->size, JSON_REJECT_DUPLICATES, &je);
	char why[512];
	if (!run || xtrk_record_check(run) < 0) {
		snprintf(why, sizeof(why), "%s", run ? xtrk_error_last() : je.text);
		json_decref(run);
		return xtrk_error_set(XTRK_ECORRUPT, "run %s: unreadable record: %s", xtrk_oid_tostr(id), why);
	}
	json_object_set_new(run, "id", json_string(xtrk_oid_tostr(id)));
	*out = run;
	return 0;
}

static int run_read(json_t **out, xtrk_repo *repo, const xtrk_oid *id, int tags)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(repo), id, XTRK_OBJ_RUN)) == 0 &&
	    (err = parse_run(out, &b, id)) == 0 && tags && (err = attach_tags(*out, repo, id)) < 0) {
		json_decref(*out);
		*out = NULL;
	}
	if (err == XTRK_ENOTFOUND)
		err = xtrk_error_set(err, "run %s: object missing (see 'xtrk fsck')",
			xtrk_oid_tostr(id));
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_run_read(json_t **out, xtrk_repo *repo, const xtrk_oid *id)
{
	return run_read(out, repo, id, 1);
}

int xtrk_run_read_record(json_t **out, xtrk_repo *repo, const xtrk_oid *id)
{
	return run_read(out, repo, id, 0);
}

static int cmp_items(const void *a, const void *b)
{
	const xtrk_run_item *x = a, *y = b;
	int c = strcmp(json_string_value(json_object_get(y->run, "started")),
		json_string_value(json_object_get(x->run, "started")));
	return c ? c : xtrk_oid_cmp(&x->id, &y->id);
}

int xtrk_runs_list(xtrk_run_item **out, size_t *count, xtrk_repo *repo, const char *experiment)
{
	xtrk_run_ref *refs;
	xtrk_run_item *items = NULL;
	xtrk_buf b = XTRK_BUF_INIT;
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t n, ntags = 0, got = 0;
	int err;

	*out = NULL;
	*count = 0;
	if ((err = xtrk_refs_list_runs(&refs, &n, repo, experiment)) < 0)
		return err;
	if ((err = xtrk_refs_tags(&names, &targets, &ntags, repo)) < 0)
		goto done;
	if (n && !(items = calloc(n, sizeof(*items)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *tags;
		if ((err = run_read(&items[got].run, repo, &refs[i].run, 0)) == XTRK_ECORRUPT || err == XTRK_ENOTFOUND) {
			/* One run that cannot be read must not hide the others: named, and left out. */
			xtrk_warning_add("%s (experiment '%s'): left out ('xtrk rm' removes it)", xtrk_error_last(),
				refs[i].experiment);
			xtrk_error_clear();
			err = 0;
			continue;
		}
		if (err < 0)
			goto done;
		items[got].id = refs[i].run;
		tags = json_array();
		for (size_t t = 0; t < ntags; t++)
			if (!xtrk_oid_cmp(&targets[t], &refs[i].run))
				json_array_append_new(tags, json_string(names[t]));
		json_object_set_new(items[got].run, "tags", tags);
		got++;
	}
	if (got)
		xtrk_sort(items, got, sizeof(*items), cmp_items);
done:
	xtrk_refs_tags_free(names, targets, ntags);
	xtrk_buf_dispose(&b);
	free(refs);
	if (err < 0) {
		xtrk_runs_free(items, got);
		return err;
	}
	*out = items;
	*count = got;
	return 0;
}

void xtrk_runs_free(xtrk_run_item *items, size_t count)
{
	for (size_t i = 0; i < count && items; i++)
		json_decref(items[i].run);
	free(items);
}

/* ---- revisions ---- */

static int nth_of_experiment(xtrk_oid *out, xtrk_repo *repo, const char *exp, long n, const char *rev)
{
	xtrk_run_item *items;
	size_t count;
	int err = xtrk_runs_list(&items, &count, repo, exp);
	if (err < 0)
		return err;
	if (!count)
		err = XTRK_ENOTFOUND;
	else if (n < 0 || (size_t)n >= count)
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s': experiment '%s' has only %zu run%s", rev, exp, count,
			count == 1 ? "" : "s");
	else
		*out = items[n].id;
	xtrk_runs_free(items, count);
	return err;
}

int xtrk_run_resolve(xtrk_oid *out, xtrk_repo *repo, const char *rev)
{
	size_t len = strlen(rev), n, matches = 0;
	const char *tilde = strrchr(rev, '~');
	xtrk_run_ref *refs = NULL;
	xtrk_buf cands = XTRK_BUF_INIT;
	int err;

	if (!len)
		return xtrk_error_set(XTRK_EINVALID, "empty run name");
	if (len == XTRK_OID_HEXSZ && xtrk_oid_is_hex(rev, len)) {
		char lower[XTRK_OID_HEXSZ + 1];
		for (size_t i = 0; i <= len; i++)
			lower[i] = (char)(rev[i] >= 'A' && rev[i] <= 'F' ? rev[i] + 32 : rev[i]);
		xtrk_oid_parse(out, lower);
		if (xtrk_odb_exists(xtrk_repo_odb(repo), out))
			return 0;
	}
	if (tilde && tilde != rev) {
		char *end, exp[256];
		long nth = strtol(tilde + 1, &end, 10);
		if (!tilde[1] || *end || nth < 0)
			return xtrk_error_set(XTRK_EINVALID, "'%s': expected NAME~N with N a number", rev);
		snprintf(exp, sizeof(exp), "%.*s", (int)(tilde - rev), rev);
		if (xtrk_refs_tag_lookup(out, repo, exp) == 0 && nth == 0)
			return 0;
		err = nth_of_experiment(out, repo, exp, nth, rev);
		if (err == XTRK_ENOTFOUND && !strstr(xtrk_error_last(), "has only"))
			err = xtrk_error_set(err, "unknown experiment '%s' in '%s' (see 'xtrk log')", exp, rev);
		return err;
	}
	if (len >= 4 && len <= XTRK_OID_HEXSZ && xtrk_oid_is_hex(rev, len)) {
		/* An ID prefix wins over a tag or experiment of that name; one naming another run is ambiguous. */
		xtrk_oid byname;
		const char *kind = NULL;
		if (xtrk_refs_tag_lookup(&byname, repo, rev) == 0)
			kind = "tag";
		else if (xtrk_error_clear(), nth_of_experiment(&byname, repo, rev, 0, rev) == 0)
			kind = "experiment";
		xtrk_error_clear();
		if ((err = xtrk_refs_list_runs(&refs, &n, repo, NULL)) < 0)
			return err;
		for (size_t i = 0; i < n && kind; i++)
			if (!strncasecmp(xtrk_oid_tostr(&refs[i].run), rev, len) && xtrk_oid_cmp(&refs[i].run, &byname)) {
				char other[XTRK_OID_HEXSZ + 1];
				xtrk_oid_fmt(other, &refs[i].run);
				err = xtrk_error_set(XTRK_EAMBIGUOUS,
					"'%s' is ambiguous: it is a %s naming run %s and a prefix of the ID of run %s; give "
					"more of the ID",
					rev, kind, xtrk_oid_tostr(&byname), other);
				free(refs);
				return err;
			}
		if (kind) {
			free(refs);
			*out = byname;
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			const char *hex = xtrk_oid_tostr(&refs[i].run);
			if (strncasecmp(hex, rev, len))
				continue;
			if (matches && !xtrk_oid_cmp(out, &refs[i].run))
				continue;
			*out = refs[i].run;
			matches++;
			xtrk_buf_printf(&cands, "\n  %s %s", hex, refs[i].experiment);
		}
		free(refs);
		if (matches == 1) {
			xtrk_buf_dispose(&cands);
			return 0;
		}
		if (matches > 1) {
			err = xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' is ambiguous; it matches %zu runs:%s", rev, matches,
				cands.ptr);
			xtrk_buf_dispose(&cands);
			return err;
		}
	} else {
		if (xtrk_refs_tag_lookup(out, repo, rev) == 0)
			return 0;
		if ((err = nth_of_experiment(out, repo, rev, 0, rev)) != XTRK_ENOTFOUND)
			return err;
	}
	xtrk_buf_dispose(&cands);
	return xtrk_error_set(XTRK_ENOTFOUND,
		"unknown run '%s': not a run ID, ID prefix, tag or experiment (see 'xtrk log')", rev);
}
