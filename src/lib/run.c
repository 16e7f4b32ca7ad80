/* Runs: validating and recording them (the inputs are gathered by run_gather.c). */
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
#include "xtrk/profile.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/snapshot.h"
#include "xtrk/statcache.h"
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
	if (j && d->has_profile)
		json_object_set_new(j, XTRK_REC_PROFILE, json_string(xtrk_oid_tostr(&d->profile)));
	return j;
}

/*
 * Profile the run's tabular datasets ([profile] enabled, maxBytes): a profile
 * that cannot be made is a warning, never a reason to lose the run.
 */
static int profile_datasets(struct commit_state *s, xtrk_txn *txn)
{
	xtrk_buf v = XTRK_BUF_INIT, abs = XTRK_BUF_INIT;
	unsigned long long max = XTRK_PROFILE_DEFAULT_MAX_BYTES;
	int on = 1, err;

	if ((err = xtrk_repo_config_bool(&on, s->repo, "profile.enabled", 1)) < 0 || !on)
		return err;
	if (xtrk_repo_config_string(&v, s->repo, "profile.maxBytes") == 0) {
		char *end;
		errno = 0;
		max = strtoull(v.ptr, &end, 10);
		if (end == v.ptr || errno || *v.ptr == '-')
			err = xtrk_error_set(XTRK_EINVALID, "profile.maxBytes = '%s' in the config is not a byte count", v.ptr);
		else if (*end && (!strchr("kKmMgG", *end) || end[1]))
			err = xtrk_error_set(XTRK_EINVALID, "profile.maxBytes = '%s' in the config is not a byte count", v.ptr);
		else if (*end)
			max <<= strchr("kK", *end) ? 10 : strchr("mM", *end) ? 20 : 30;
		if (err < 0) {
			xtrk_warning_add("%s; profiles keep the default limit", xtrk_error_last());
			max = XTRK_PROFILE_DEFAULT_MAX_BYTES;
			err = 0;
		}
	}
	xtrk_error_clear();
	for (size_t i = 0; i < s->ndata; i++) {
		struct data_input *d = &s->data[i];
		const char *kind = xtrk_profile_kind(d->relpath);
		json_t *prof = NULL;
		char *dump;
		if (strcmp(d->role, "dataset") || d->left_out || d->snap.is_tree || !kind || d->snap.bytes > max)
			continue;
		xtrk_buf_clear(&abs);
		if ((err = xtrk_buf_printf(&abs, "%s/%s", xtrk_repo_workdir(s->repo), d->relpath)) < 0)
			goto done;
		if (xtrk_profile_file(&prof, abs.ptr, kind, d->relpath) < 0) {
			xtrk_warning_add("dataset '%s' was not profiled: %s", d->relpath, xtrk_error_last());
			xtrk_error_clear();
			continue;
		}
		dump = xtrk_json_dumps(prof, XTRK_JSON_STORE);
		json_decref(prof);
		if (!dump) {
			err = xtrk_error_oom();
			goto done;
		}
		err = xtrk_txn_write(&d->profile, txn, XTRK_OBJ_BLOB, dump, strlen(dump));
		free(dump);
		if (err < 0)
			goto done;
		d->has_profile = 1;
	}
	err = 0;
done:
	xtrk_buf_dispose(&v);
	xtrk_buf_dispose(&abs);
	return err;
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
		if ((err = run_problem(s, err)) < 0)
			return err;
		snprintf(s->experiment, sizeof(s->experiment), "default");
	}
	for (size_t i = 0; i < o->ntags; i++) {
		xtrk_oid old;
		if ((err = xtrk_tag_name_check(s->repo, o->tags[i], s->experiment)) < 0)
			;
		else if (xtrk_refs_tag_lookup(&old, s->repo, o->tags[i]) == 0)
			err = xtrk_error_set(XTRK_EEXISTS, "tag '%s' already names run %s; choose another name",
				o->tags[i], xtrk_oid_tostr(&old));
		else
			err = 0, xtrk_error_clear();
		if (err < 0 && (err = run_problem(s, err)) < 0)
			return err;
	}
	if ((err = run_check_text(s, "message", o->message)) < 0 || (err = run_check_text(s, "error", o->error)) < 0)
		return err;
	for (size_t i = 0; i < o->nnotes; i++)
		if ((err = run_check_text(s, "note", o->notes[i])) < 0)
			return err;
	if (o->parent) {
		if ((err = xtrk_run_resolve(&s->parent, s->repo, o->parent)) == 0)
			s->has_parent = 1;
		else if ((err = run_problem(s, err)) < 0)
			return err;
	}
	if ((err = run_gather_params(s)) < 0 || (err = run_gather_metrics(s)) < 0)
		return err;
	for (size_t i = 0; i < o->ndatasets; i++)
		if ((err = run_add_data(s, o->datasets[i], "dataset", 1)) < 0 && (err = run_problem(s, err)) < 0)
			return err;
	/* Outputs: not there yet before the command; once it has run, only what it wrote. */
	for (size_t i = 0; i < o->nmodels + o->nartifacts && !s->precheck; i++) {
		int model = i < o->nmodels;
		const char *spec = model ? o->models[i] : o->artifacts[i - o->nmodels];
		if ((err = run_output_fresh(s, spec, model ? "model" : "artifact")) == 0)
			err = run_add_data(s, spec, model ? "model" : "artifact", 0);
		if (err < 0 && (err = run_problem(s, err)) < 0)
			return err;
	}
	if ((err = run_check_rules_inputs(s)) < 0 && (err = run_problem(s, err)) < 0)
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
	json_object_set_new(run, "message", run_text_json(o->message));
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
		json_object_set_new(run, "error", run_text_json(e.ptr));
		xtrk_buf_dispose(&e);
	} else if (o->error) {
		json_object_set_new(run, "error", run_text_json(o->error));
	}
	if (json_object_size(s->overridden))
		json_object_set(run, "params_overridden", s->overridden);
	if (json_array_size(s->stale))
		json_object_set(run, "outputs_not_attached", s->stale);
	json_object_set(run, "resources", o->resources ? o->resources : json_null());
	for (size_t i = 0; i < o->nnotes; i++)
		json_array_append_new(notes, run_text_json(o->notes[i]));
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
		err = run_check_rule_clean(&s);
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
	if ((err = run_check_rule_clean(&s)) < 0 && (err = run_problem(&s, err)) < 0)
		goto done;
	if ((err = capture_script(&s, txn)) < 0 && (err = run_problem(&s, err)) < 0)
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
			if ((err = run_problem(&s, err)) < 0)
				goto done;
			s.data[i].left_out = 1;
		}
	}
	if ((err = profile_datasets(&s, txn)) < 0)
		goto done;
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
		err = xtrk_error_set(XTRK_EINVALID, "the run record would not be valid (%s); nothing was written",
			xtrk_error_last());
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
			err = xtrk_error_set(err, "run %s was recorded, but tagging it failed: %s", xtrk_oid_tostr(out), xtrk_error_last());
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
