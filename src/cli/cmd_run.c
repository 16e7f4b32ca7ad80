/* xtrk run: execute a command, stream and keep its output, measure it, then record the run. */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commit_opts.h"
#include "xtrk/errors.h"
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

/* Just before the command starts: signals are held (then passed on to it); what was said so far is shown. */
static void on_starting(void *payload)
{
	(void)payload;
	block_signals(1);
	handle_signals(1);
	cli_warnings();
	fflush(stdout);
}

/* The command has ended: signals are xtrk's own again; why its output was not kept or why it stopped. */
static void on_finished(const xtrk_exec_result *r, int err, void *payload)
{
	(void)payload;
	block_signals(0);
	handle_signals(0);
	child_pid = 0;
	if (err < 0)
		cli_fail(err); /* the output could not be kept whole: the run is recorded without it */
	if (*r->error)
		fprintf(stderr, "xtrk: %s\n", cli_esc_ml(r->error));
}

int cmd_run(int argc, char **argv, struct cli *cli)
{
	struct commit_args a = { 0 };
	xtrk_run_exec_options eo = { 0 };
	xtrk_run_exec_result res;
	xtrk_repo *repo = NULL;
	json_t *run = NULL;
	int err, status;

	memset(&res, 0, sizeof(res));
	/* '+': stop at the command, so its own options are left alone. */
	if ((status = commit_args_parse(&a, argc, argv, "+" COMMIT_SHORT_OPTS "h", usage)) >= 0)
		goto done;
	status = EXIT_OK;
	if (optind >= argc) {
		status = cli_usage_error(usage, "which command? give it after --");
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;

	commit_args_finish(&a);
	eo.argv = argv + optind;
	eo.python = a.python;
	eo.tee_stdout = 1;
	eo.tee_stderr = 2;
	eo.starting = on_starting;
	eo.started = on_started;
	eo.finished = on_finished;
	err = xtrk_run_exec(&res, a.json ? &run : NULL, repo, &a.o, &eo);
	block_signals(0);
	handle_signals(0);
	child_pid = 0;
	if (err < 0) {
		status = cli_fail(err);
		if (res.refused)
			fprintf(stderr, "xtrk: the command was not run\n");
		if (res.ran && res.exit_code)
			status = res.exit_code;
		cli_warnings();
		goto done;
	}
	if (a.progress_shown)
		fputc('\n', stderr);
	cli_warnings();
	if (!a.quiet)
		fprintf(stderr, "xtrk: recorded run %s (%s, exit %d)\n", xtrk_oid_tostr(&res.id),
			res.failed ? "failed" : "succeeded", res.exit_code);
	if (a.json)
		cli_print_json(run);
	status = res.exit_code;
	if (err == XTRK_RUN_RECORDED_FAILED) {
		fprintf(stderr, "xtrk: error: the run was recorded as failed: what is wrong is named above and in its "
			"'error' field\n");
		if (!status)
			status = EXIT_ERROR;
	}
done:
	json_decref(run);
	xtrk_repo_free(repo);
	commit_args_free(&a);
	return status;
}
