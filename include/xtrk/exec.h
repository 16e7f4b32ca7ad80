/*
 * Running programs.  Helper programs (nvidia-smi, python3) run with a time
 * limit and their output captured.  The command of `xtrk run`: its stdout and
 * stderr are copied to the given descriptors as they come (so the terminal
 * sees them unchanged) and kept in temporary files (memory stays bounded
 * whatever it prints); its exit status, CPU time and peak memory come from
 * wait4.
 */
#ifndef XTRK_EXEC_H
#define XTRK_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "xtrk/buf.h"

/** The absolute, resolved path of a program found on PATH as execvp would; NULL when absent. */
char *xtrk_find_program(const char *prog);

/**
 * Run argv (PATH lookup) with no stdin, collecting at most `max` bytes of its
 * stdout into `out`; kill it after `timeout_ms`.  `*status` gets the exit
 * status, or -1 when it timed out.  XTRK_ENOTFOUND when it cannot be run.
 */
int xtrk_exec_capture(xtrk_buf *out, char *const argv[], int timeout_ms, size_t max, int *status);
/** The same with the file `input` as its stdin. */
int xtrk_exec_capture_input(xtrk_buf *out, char *const argv[], const char *input, int timeout_ms, size_t max,
	int *status);


typedef struct {
	char *const *argv;          /* the command; argv[0] is looked up on PATH */
	const char *log_dir;        /* folder for the temporary output files */
	int tee_stdout;             /* where to copy the child's stdout as it comes, or -1 */
	int tee_stderr;             /* likewise for stderr */
	char *const *extra_env;     /* "NAME=VALUE" strings added to the child's environment */
	void (*started)(pid_t pid, void *payload); /* e.g. to forward signals */
	void *payload;
} xtrk_exec_options;

typedef struct {
	int exit_code;       /* exit status; 128+N when killed by signal N; 127 when it could not start */
	int signal;          /* the signal that ended it, or 0 */
	char error[512];     /* why it could not start, or "" */
	double started;      /* seconds since the epoch */
	double ended;
	double cpu_s;        /* user + system time of the command and its children */
	long long max_rss_bytes;
	char *stdout_path;   /* the whole stdout, in a temporary file */
	char *stderr_path;
} xtrk_exec_result;

/** Run the command to its end.  Fails only when xtrk itself cannot go on (pipes, fork). */
int xtrk_exec_command(xtrk_exec_result *out, const xtrk_exec_options *opts);
/** Remove the temporary output files and free the paths. */
void xtrk_exec_result_dispose(xtrk_exec_result *r);

#endif
