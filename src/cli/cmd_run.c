/* xtrk run: execute a command, stream and keep its output, measure it, then record the run. */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commit_opts.h"
#include "xtrk/fs.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/refs.h"
#include "xtrk/runner.h"

static const char usage[] =
	"usage: xtrk run [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"Run CMD with its output streamed through and kept, record exit status, CPU\n"
	"time and peak memory, collect what it wrote to $XTRK_RUN_DIR (metrics.jsonl,\n"
	"metrics.json, params.json), then record the run with the options below.\n"
	"Exits with CMD's status.\n"
	"\n"
	COMMIT_OPTIONS_HELP
	"  -h, --help                show this help\n";

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void block_signals(int block)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Once the child exists, signals that arrived meanwhile (held blocked) are delivered and passed on. */
static void on_started(pid_t pid, void *payload)
{
	(void)payload;
	child_pid = pid;
	block_signals(0);
}

static void handle_signals(int on)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? forward_signal : SIG_DFL;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
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
static void declared_data(struct commit_args *a, const char *dir, json_t **keep)
{
	static const char *const keys[] = { "datasets", "models", "artifacts" };
	xtrk_buf path = XTRK_BUF_INIT;
	json_t *doc, *v;
	size_t i;
	if (!collected(dir, "data.json", 1, &path) || xtrk_doc_load(&doc, path.ptr) < 0) {
		xtrk_error_clear();
		xtrk_buf_dispose(&path);
		return;
	}
	for (int k = 0; k < 3; k++)
		json_array_foreach(json_object_get(doc, keys[k]), i, v)
			if (json_is_string(v))
				strlist_push(k == 0 ? &a->data : k == 1 ? &a->models : &a->artifacts, json_string_value(v));
	*keep = doc;
	xtrk_buf_dispose(&path);
}

/*
 * What the Python binding declared in $XTRK_RUN_DIR/run.json: the experiment, message and seed,
 * each used only where no option gave one, and whether its run failed, and why.
 */
static void declared_run(struct commit_args *a, const char *dir, int seed_given, json_t **keep)
{
	xtrk_buf path = XTRK_BUF_INIT;
	json_t *doc, *v;
	if (!collected(dir, "run.json", 1, &path) || xtrk_doc_load(&doc, path.ptr) < 0) {
		xtrk_error_clear();
		xtrk_buf_dispose(&path);
		return;
	}
	v = json_object_get(doc, "experiment");
	if (!a->o.experiment && json_is_string(v) && !xtrk_ref_name_valid(json_string_value(v)))
		xtrk_warning_add("ignoring the experiment '%s' in $XTRK_RUN_DIR/run.json: not a valid name",
			json_string_value(v));
	else if (!a->o.experiment && json_is_string(v))
		a->o.experiment = json_string_value(v);
	if (!a->o.message && json_is_string(v = json_object_get(doc, "message")))
		a->o.message = json_string_value(v);
	if (!seed_given && json_is_integer(v = json_object_get(doc, "seed"))) {
		a->o.has_seed = 1;
		a->o.seed = json_integer_value(v);
	}
	if (json_is_true(json_object_get(doc, "failed")))
		a->o.failed = 1;
	if (json_is_string(v = json_object_get(doc, "error"))) {
		a->o.failed = 1;
		if (!a->o.error)
			a->o.error = json_string_value(v);
	}
	*keep = doc;
	xtrk_buf_dispose(&path);
}

int cmd_run(int argc, char **argv, struct cli *cli)
{
	struct commit_args a = { 0 };
	xtrk_exec_options eo = { 0 };
	xtrk_exec_result r;
	xtrk_repo *repo = NULL;
	xtrk_txn *txn = NULL;
	xtrk_buf run_dir = XTRK_BUF_INIT, env_var = XTRK_BUF_INIT, mj = XTRK_BUF_INIT, ms = XTRK_BUF_INIT,
		pj = XTRK_BUF_INIT, rel = XTRK_BUF_INIT;
	json_t *source = NULL, *env = NULL, *command = NULL, *argv_json, *resources = NULL, *run = NULL, *data = NULL,
		*declared = NULL;
	char *extra_env[2] = { NULL, NULL }, *cwd = NULL;
	const char *extra_params[1];
	int keep_stdout = 1;
	const char *seed = getenv("PYTHONHASHSEED"), *base;
	xtrk_oid id;
	long long ll;
	int err, status, ran = 0, seed_given;

	memset(&r, 0, sizeof(r));
	/* '+': stop at the command, so its own options are left alone. */
	if ((status = commit_args_parse(&a, argc, argv, "+" COMMIT_SHORT_OPTS "h", usage)) >= 0)
		goto done;
	status = EXIT_OK;
	seed_given = a.o.has_seed;
	if (optind >= argc) {
		status = cli_usage_error(usage, "which command? give it after --");
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;

	/* The source and environment as they are when the command starts (less the data named so far). */
	commit_args_finish(&a);
	if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0 ||
	    (err = xtrk_capture_source_commit(&source, txn, repo, &a.o)) < 0 || (err = xtrk_txn_commit(txn)) < 0)
		goto fail;
	base = strrchr(argv[optind], '/');
	base = base ? base + 1 : argv[optind];
	if ((err = xtrk_capture_env_repo(&env, repo,
			a.python ? a.python : !strncmp(base, "python", 6) ? argv[optind] : NULL)) < 0)
		goto fail;
	if (!a.o.has_seed && seed && cli_parse_ll(seed, &ll) == 0) {
		a.o.has_seed = 1;
		a.o.seed = ll;
	}
	/* Whatever can be refused before the command starts is refused now: the command is then not run. */
	commit_args_finish(&a);
	a.o.source = source;
	if ((err = xtrk_run_check_inputs(repo, &a.o)) < 0) {
		status = cli_fail(err);
		fprintf(stderr, "xtrk: the command was not run\n");
		goto done;
	}
	/* From here until the child runs, a signal is held, then passed on to it. */
	block_signals(1);
	handle_signals(1);
	xtrk_buf_printf(&run_dir, "%s/tmp/run-XXXXXX", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&run_dir) || (err = xtrk_mkdir_p(xtrk_repo_dir(repo))) < 0)
		goto fail;
	{
		xtrk_buf t = XTRK_BUF_INIT;
		xtrk_buf_printf(&t, "%s/tmp", xtrk_repo_dir(repo));
		err = xtrk_mkdir_p(t.ptr);
		xtrk_buf_dispose(&t);
		if (err < 0)
			goto fail;
	}
	if (!mkdtemp(run_dir.ptr)) {
		err = xtrk_error_errno("cannot create a run folder in '%s/tmp'", xtrk_repo_dir(repo));
		goto fail;
	}
	xtrk_buf_printf(&env_var, "XTRK_RUN_DIR=%s", run_dir.ptr);
	extra_env[0] = env_var.ptr;
	cli_warnings();

	eo.argv = argv + optind;
	eo.log_dir = run_dir.ptr;
	eo.tee_stdout = 1;
	eo.tee_stderr = 2;
	eo.extra_env = extra_env;
	eo.started = on_started;
	fflush(stdout);
	/* Outputs older than this were not written by the command (file times use the coarse clock). */
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		a.o.outputs_after = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	err = xtrk_exec_command(&r, &eo);
	block_signals(0);
	handle_signals(0);
	child_pid = 0;
	ran = 1;
	if (err < 0 && !r.ended)
		goto fail;
	if (err < 0) {
		cli_fail(err); /* the output could not be kept whole: record the run without it */
		keep_stdout = 0;
	}
	if (*r.error)
		fprintf(stderr, "xtrk: %s\n", cli_esc_ml(r.error));

	/* What the command left in $XTRK_RUN_DIR. */
	if (collected(run_dir.ptr, "metrics.jsonl", 0, &ms))
		strlist_push(&a.mfiles, ms.ptr);
	if (collected(run_dir.ptr, "metrics.json", 1, &mj))
		strlist_push(&a.mfiles, mj.ptr);
	if (collected(run_dir.ptr, "params.json", 1, &pj)) {
		extra_params[0] = pj.ptr;
		a.o.extra_param_files = extra_params;
		a.o.nextra_param_files = 1;
	}
	declared_data(&a, run_dir.ptr, &data);
	commit_args_finish(&a);
	a.o.lenient_series = 1;
	argv_json = json_array();
	for (int i = optind; i < argc; i++)
		json_array_append_new(argv_json, json_string(argv[i]));
	cwd = getcwd(NULL, 0);
	if (cwd && xtrk_repo_relpath(&rel, repo, cwd) < 0) {
		xtrk_error_clear();
		xtrk_buf_sets(&rel, cwd);
	}
	command = json_pack("{s:o, s:s}", "argv", argv_json, "cwd", rel.ptr);
	resources = json_pack("{s:f, s:I}", "cpu_s", (double)(long long)(r.cpu_s * 1000 + 0.5) / 1000,
		"max_rss_bytes", (json_int_t)r.max_rss_bytes);
	a.o.command = command;
	a.o.resources = resources;
	a.o.has_exit_code = 1;
	a.o.exit_code = r.exit_code;
	a.o.failed = a.o.failed || r.exit_code != 0;
	a.o.error = *r.error ? r.error : NULL;
	declared_run(&a, run_dir.ptr, seed_given, &declared);
	a.o.started = r.started;
	a.o.ended = r.ended;
	a.o.stdout_path = keep_stdout ? r.stdout_path : NULL;
	a.o.stderr_path = keep_stdout ? r.stderr_path : NULL;
	a.o.source = source;
	a.o.env = env;
	/* The command has run: its run is recorded whatever is wrong with the inputs and outputs. */
	a.o.salvage = 1;
	if ((err = xtrk_run_commit(&id, a.json ? &run : NULL, repo, &a.o)) < 0)
		goto fail;
	if (a.progress_shown)
		fputc('\n', stderr);
	cli_warnings();
	fprintf(stderr, "xtrk: recorded run %s (%s, exit %d)\n", xtrk_oid_tostr(&id),
		a.o.failed || err == XTRK_RUN_RECORDED_FAILED ? "failed" : "succeeded", r.exit_code);
	if (a.json)
		cli_print_json(run);
	status = r.exit_code;
	if (err == XTRK_RUN_RECORDED_FAILED) {
		fprintf(stderr, "xtrk: error: the run was recorded as failed: what is wrong is named above and in its "
			"'error' field\n");
		if (!status)
			status = EXIT_ERROR;
	}
	goto done;
fail:
	block_signals(0);
	handle_signals(0);
	status = cli_fail(err);
	if (ran && r.exit_code)
		status = r.exit_code;
done:
	xtrk_exec_result_dispose(&r);
	/* The run folder was only a mailbox: everything worth keeping is in the store now. */
	if (extra_env[0] && xtrk_remove_tree(run_dir.ptr) < 0)
		fprintf(stderr, "xtrk: warning: %s\n", cli_esc_ml(xtrk_error_last()));
	free(cwd);
	json_decref(source);
	json_decref(env);
	json_decref(command);
	json_decref(resources);
	json_decref(run);
	json_decref(data);
	json_decref(declared);
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	xtrk_buf_dispose(&run_dir);
	xtrk_buf_dispose(&env_var);
	xtrk_buf_dispose(&mj);
	xtrk_buf_dispose(&ms);
	xtrk_buf_dispose(&pj);
	xtrk_buf_dispose(&rel);
	commit_args_free(&a);
	return status;
}
