/* The run workflow: capture, check, execute the command in its run folder, collect, record. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/exec.h"
#include "xtrk/index.h"
#include "xtrk/params.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/runner.h"

/* A list of option values: those given, then those the command declared. */
struct list {
	const char **v;
	size_t n;
};

static int list_push(struct list *l, const char *s)
{
	const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return xtrk_error_oom();
	nv[l->n++] = s;
	l->v = nv;
	return 0;
}

static int list_init(struct list *l, const char *const *v, size_t n)
{
	int err = 0;
	l->v = NULL;
	l->n = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = list_push(l, v[i]);
	return err;
}

/* A file the command wrote to $XTRK_RUN_DIR, if present and (for JSON/YAML) readable; else a warning. */
static int collected(const char *dir, const char *name, int parse, xtrk_buf *path)
{
	struct stat st;
	json_t *doc;
	xtrk_buf_clear(path);
	xtrk_buf_printf(path, "%s/%s", dir, name);
	if (stat(path->ptr, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (parse && xtrk_doc_load(&doc, path->ptr) < 0) {
		xtrk_warning_add("ignoring $XTRK_RUN_DIR/%s: %s", name, xtrk_error_last());
		xtrk_error_clear();
		return 0;
	}
	if (parse)
		json_decref(doc);
	return 1;
}

/* Datasets and outputs declared by the Python binding in $XTRK_RUN_DIR/data.json. */
static int declared_data(struct list lists[3], const char *dir, json_t **keep)
{
	xtrk_buf path = XTRK_BUF_INIT;
	json_t *doc, *v;
	size_t i;
	int err = 0;
	if (!collected(dir, "data.json", 1, &path) || xtrk_doc_load(&doc, path.ptr) < 0) {
		xtrk_error_clear();
		xtrk_buf_dispose(&path);
		return 0;
	}
	for (int k = 0; k < XTRK_RECORD_NGROUPS; k++)
		json_array_foreach(json_object_get(doc, xtrk_record_groups[k]), i, v)
			if (json_is_string(v) && !err)
				err = list_push(&lists[k], json_string_value(v));
	*keep = doc;
	xtrk_buf_dispose(&path);
	return err;
}

/*
 * What the Python binding declared in $XTRK_RUN_DIR/run.json: the experiment, message and seed,
 * each used only where no option gave one, and whether its run failed, and why.
 */
static void declared_run(xtrk_commit_options *o, const char *dir, int seed_given, json_t **keep)
{
	xtrk_buf path = XTRK_BUF_INIT;
	json_t *doc, *v;
	if (!collected(dir, "run.json", 1, &path) || xtrk_doc_load(&doc, path.ptr) < 0) {
		xtrk_error_clear();
		xtrk_buf_dispose(&path);
		return;
	}
	v = json_object_get(doc, "experiment");
	if (!o->experiment && json_is_string(v) && !xtrk_ref_name_valid(json_string_value(v)))
		xtrk_warning_add("ignoring the experiment '%s' in $XTRK_RUN_DIR/run.json: not a valid name",
			json_string_value(v));
	else if (!o->experiment && json_is_string(v))
		o->experiment = json_string_value(v);
	if (!o->message && json_is_string(v = json_object_get(doc, "message")))
		o->message = json_string_value(v);
	if (!seed_given && json_is_integer(v = json_object_get(doc, "seed"))) {
		o->has_seed = 1;
		o->seed = json_integer_value(v);
	}
	if (json_is_true(json_object_get(doc, "failed")))
		o->failed = 1;
	if (json_is_string(v = json_object_get(doc, "error"))) {
		o->failed = 1;
		if (!o->error)
			o->error = json_string_value(v);
	}
	*keep = doc;
	xtrk_buf_dispose(&path);
}

/* A fresh folder under the store's tmp/ that the command may write to. */
static int make_run_dir(xtrk_buf *run_dir, xtrk_repo *repo)
{
	xtrk_buf t = XTRK_BUF_INIT;
	int err = 0;
	xtrk_buf_printf(run_dir, "%s/tmp/run-XXXXXX", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(run_dir) || (err = xtrk_mkdir_p(xtrk_repo_dir(repo))) < 0)
		return xtrk_buf_oom(run_dir) ? xtrk_error_oom() : err;
	xtrk_buf_printf(&t, "%s/tmp", xtrk_repo_dir(repo));
	err = xtrk_mkdir_p(t.ptr);
	xtrk_buf_dispose(&t);
	if (err < 0)
		return err;
	if (!mkdtemp(run_dir->ptr))
		return xtrk_error_errno("cannot create a run folder in '%s/tmp'", xtrk_repo_dir(repo));
	return 0;
}

static int parse_ll(const char *s, long long *out)
{
	char *end;
	long long v;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

int xtrk_run_exec(xtrk_run_exec_result *res, json_t **run_out, xtrk_repo *repo, const xtrk_commit_options *commit,
	const xtrk_run_exec_options *eo)
{
	xtrk_commit_options o = *commit;
	xtrk_exec_options xo = { 0 };
	xtrk_exec_result r;
	xtrk_txn *txn = NULL;
	xtrk_buf run_dir = XTRK_BUF_INIT, env_var = XTRK_BUF_INIT, mj = XTRK_BUF_INIT, ms = XTRK_BUF_INIT,
		pj = XTRK_BUF_INIT, rel = XTRK_BUF_INIT;
	json_t *source = NULL, *env = NULL, *command = NULL, *argv_json, *resources = NULL, *data = NULL,
		*declared = NULL, *run = NULL;
	struct list mfiles = { NULL, 0 }, lists[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	char *extra_env[2] = { NULL, NULL }, *cwd = NULL;
	const char *extra_params[1];
	int keep_stdout = 1;
	const char *seed = getenv("PYTHONHASHSEED"), *base, *prog = eo->argv[0];
	long long ll;
	int err, seed_given = o.has_seed;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if (run_out)
		*run_out = NULL;

	/* The source and environment as they are when the command starts (less the data named so far). */
	if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0 ||
	    (err = xtrk_capture_source_commit(&source, txn, repo, &o)) < 0 || (err = xtrk_txn_commit(txn)) < 0)
		goto done;
	base = strrchr(prog, '/');
	base = base ? base + 1 : prog;
	if ((err = xtrk_capture_env_repo(&env, repo,
			eo->python ? eo->python : !strncmp(base, "python", 6) ? prog : NULL)) < 0)
		goto done;
	if (!o.has_seed && seed && parse_ll(seed, &ll) == 0) {
		o.has_seed = 1;
		o.seed = ll;
	}
	/* Whatever can be refused before the command starts is refused now: the command is then not run. */
	o.source = source;
	if ((err = xtrk_run_check_inputs(repo, &o)) < 0) {
		res->refused = 1;
		goto done;
	}
	if (eo->starting)
		eo->starting(eo->payload);
	if ((err = make_run_dir(&run_dir, repo)) < 0)
		goto done;
	xtrk_buf_printf(&env_var, "XTRK_RUN_DIR=%s", run_dir.ptr);
	extra_env[0] = env_var.ptr;

	xo.argv = eo->argv;
	xo.log_dir = run_dir.ptr;
	xo.tee_stdout = eo->tee_stdout;
	xo.tee_stderr = eo->tee_stderr;
	xo.extra_env = extra_env;
	xo.started = eo->started;
	xo.payload = eo->payload;
	/* Outputs older than this were not written by the command (file times use the coarse clock). */
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		o.outputs_after = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	err = xtrk_exec_command(&r, &xo);
	if (r.ended) {
		res->ran = 1;
		res->exit_code = r.exit_code;
	}
	if (eo->finished)
		eo->finished(&r, r.ended ? err : 0, eo->payload);
	if (err < 0 && !r.ended)
		goto done;
	if (err < 0) {
		/* the output could not be kept whole: record the run without it */
		xtrk_error_clear();
		keep_stdout = 0;
	}

	/* What the command left in $XTRK_RUN_DIR. */
	if ((err = list_init(&mfiles, o.metric_files, o.nmetric_files)) < 0 ||
	    (err = list_init(&lists[0], o.datasets, o.ndatasets)) < 0 ||
	    (err = list_init(&lists[1], o.models, o.nmodels)) < 0 ||
	    (err = list_init(&lists[2], o.artifacts, o.nartifacts)) < 0)
		goto done;
	if (collected(run_dir.ptr, "metrics.jsonl", 0, &ms) && (err = list_push(&mfiles, ms.ptr)) < 0)
		goto done;
	if (collected(run_dir.ptr, "metrics.json", 1, &mj) && (err = list_push(&mfiles, mj.ptr)) < 0)
		goto done;
	if (collected(run_dir.ptr, "params.json", 1, &pj)) {
		extra_params[0] = pj.ptr;
		o.extra_param_files = extra_params;
		o.nextra_param_files = 1;
	}
	if ((err = declared_data(lists, run_dir.ptr, &data)) < 0)
		goto done;
	o.metric_files = mfiles.v;
	o.nmetric_files = mfiles.n;
	o.datasets = lists[0].v;
	o.ndatasets = lists[0].n;
	o.models = lists[1].v;
	o.nmodels = lists[1].n;
	o.artifacts = lists[2].v;
	o.nartifacts = lists[2].n;
	o.lenient_series = 1;
	argv_json = json_array();
	for (char *const *a = eo->argv; *a; a++)
		json_array_append_new(argv_json, json_string(*a));
	cwd = getcwd(NULL, 0);
	if (cwd && xtrk_repo_relpath(&rel, repo, cwd) < 0) {
		xtrk_error_clear();
		xtrk_buf_sets(&rel, cwd);
	}
	command = json_pack("{s:o, s:s}", "argv", argv_json, "cwd", rel.ptr);
	resources = json_pack("{s:f, s:I}", "cpu_s", (double)(long long)(r.cpu_s * 1000 + 0.5) / 1000,
		"max_rss_bytes", (json_int_t)r.max_rss_bytes);
	o.command = command;
	o.resources = resources;
	o.has_exit_code = 1;
	o.exit_code = r.exit_code;
	o.failed = o.failed || r.exit_code != 0;
	o.error = *r.error ? r.error : NULL;
	declared_run(&o, run_dir.ptr, seed_given, &declared);
	o.started = r.started;
	o.ended = r.ended;
	o.stdout_path = keep_stdout ? r.stdout_path : NULL;
	o.stderr_path = keep_stdout ? r.stderr_path : NULL;
	o.source = source;
	o.env = env;
	/* The command has run: its run is recorded whatever is wrong with the inputs and outputs. */
	o.salvage = 1;
	if ((err = xtrk_run_commit(&res->id, &run, repo, &o)) < 0)
		goto done;
	res->failed = o.failed || err == XTRK_RUN_RECORDED_FAILED;
	/* The index is a cache: a failure to update it costs the next log a read, nothing more. */
	if (xtrk_index_add(repo, &res->id, &run, 1) < 0)
		xtrk_error_clear();
	if (run_out) {
		*run_out = run;
		run = NULL;
	}
done:
	json_decref(run);
	xtrk_exec_result_dispose(&r);
	/* The run folder was only a mailbox: everything worth keeping is in the store now. */
	if (extra_env[0]) {
		char *why = err < 0 ? strdup(xtrk_error_last()) : NULL;
		if (xtrk_remove_tree(run_dir.ptr) < 0)
			xtrk_warning_add("%s", xtrk_error_last());
		if (why)
			xtrk_error_set(err, "%s", why);
		else if (err >= 0)
			xtrk_error_clear();
		free(why);
	}
	free(cwd);
	free(mfiles.v);
	for (int k = 0; k < 3; k++)
		free(lists[k].v);
	json_decref(source);
	json_decref(env);
	json_decref(command);
	json_decref(resources);
	json_decref(data);
	json_decref(declared);
	xtrk_txn_free(txn);
	xtrk_buf_dispose(&run_dir);
	xtrk_buf_dispose(&env_var);
	xtrk_buf_dispose(&mj);
	xtrk_buf_dispose(&ms);
	xtrk_buf_dispose(&pj);
	xtrk_buf_dispose(&rel);
	return err;
}
