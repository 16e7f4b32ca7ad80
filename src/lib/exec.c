/*
 * Running programs: one way to start a child (pipes, fork, exec, wait), used
 * for the helper programs xtrk asks (nvidia-smi, python3: time limit, output
 * captured) and for the command of `xtrk run` (output teed and kept, measured).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/exec.h"

/* ---- starting a child ---- */

struct spawn {
	pid_t pid;
	int out;     /* read end of the child's stdout */
	int err;     /* read end of the child's stderr, or -1 (it goes to /dev/null) */
	int exec;    /* close-on-exec pipe: an errno arrives here when exec failed */
};

#define SPAWN_PIPE_STDERR 1   /* stderr on a pipe and stdin inherited; else both are /dev/null */
#define SPAWN_CLEAR_SIGMASK 2 /* the caller may hold signals blocked around the fork: the child gets none */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void spawn_close(struct spawn *sp)
{
	close_fd(&sp->out);
	close_fd(&sp->err);
	close_fd(&sp->exec);
}

/* Start argv (looked up on PATH) with its stdout on a pipe; `extra_env` ("NAME=VALUE") added. */
static int spawn_start(struct spawn *sp, char *const argv[], int flags, char *const *extra_env, int in_fd)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, execp[2] = { -1, -1 }, err;

	sp->pid = -1;
	sp->out = sp->err = sp->exec = -1;
	if (pipe2(outp, O_CLOEXEC) < 0 || ((flags & SPAWN_PIPE_STDERR) && pipe2(errp, O_CLOEXEC) < 0) ||
	    pipe2(execp, O_CLOEXEC) < 0) {
		err = xtrk_error_errno("cannot create pipes to run '%s'", argv[0]);
		goto fail;
	}
	if ((sp->pid = fork()) < 0) {
		err = xtrk_error_errno("cannot start '%s'", argv[0]);
		goto fail;
	}
	if (sp->pid == 0) {
		int e;
		if (flags & SPAWN_CLEAR_SIGMASK) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		if (flags & SPAWN_PIPE_STDERR) {
			dup2(errp[1], 2);
		} else {
			int devnull = open("/dev/null", O_RDWR);
			if (devnull >= 0) {
				dup2(devnull, 0);
				dup2(devnull, 2);
			}
		}
		if (in_fd >= 0)
			dup2(in_fd, 0);
		dup2(outp[1], 1);
		for (char *const *v = extra_env; v && *v; v++)
			putenv(*v);
		execvp(argv[0], argv);
		/* Tell the parent exec failed, through the close-on-exec pipe. */
		e = errno;
		if (write(execp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(outp[1]);
	close_fd(&errp[1]);
	close(execp[1]);
	sp->out = outp[0];
	sp->err = errp[0];
	sp->exec = execp[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&outp[i]);
		close_fd(&errp[i]);
		close_fd(&execp[i]);
	}
	return err;
}

/* Once the child has exec'd or given up: 0, or the errno of its failed exec. */
static int spawn_exec_errno(struct spawn *sp)
{
	int e = 0;
	if (read(sp->exec, &e, sizeof(e)) != (ssize_t)sizeof(e))
		e = 0;
	close_fd(&sp->exec);
	return e;
}

/* Reap the child (its rusage too, when `ru`); -1 with errno on failure. */
static int spawn_wait(struct spawn *sp, int *status, struct rusage *ru)
{
	while (wait4(sp->pid, status, 0, ru) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* ---- helper programs, with a time limit ---- */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *xtrk_find_program(const char *prog)
{
	const char *path = getenv("PATH"), *p;
	char buf[4096];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? realpath(prog, NULL) : NULL;
	for (p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", prog);
		if (access(buf, X_OK) == 0)
			return realpath(buf, NULL);
		p += n + (colon ? 1 : 0);
	}
	return NULL;
}

/* As xtrk_exec_capture, its stdin from `in_fd` (or /dev/null when -1). */
static int capture(xtrk_buf *out, char *const argv[], int in_fd, int timeout_ms, size_t max, int *status)
{
	struct spawn sp;
	long long deadline = mono_ms() + timeout_ms;
	int ws, timed_out = 0, execerr, err;
	char buf[65536], *found;

	*status = -1;
	/* Forking a large process costs milliseconds: look before leaping. */
	if (!(found = xtrk_find_program(argv[0])))
		return xtrk_error_set(XTRK_ENOTFOUND, "cannot run '%s': not found", argv[0]);
	free(found);
	if ((err = spawn_start(&sp, argv, 0, NULL, in_fd)) < 0)
		return err;
	execerr = spawn_exec_errno(&sp);
	for (;;) {
		struct pollfd pfd = { sp.out, POLLIN, 0 };
		long long left = deadline - mono_ms();
		ssize_t n;
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		n = read(sp.out, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->size < max)
			xtrk_buf_put(out, buf, (size_t)n > max - out->size ? max - out->size : (size_t)n);
	}
	spawn_close(&sp);
	if (timed_out)
		kill(sp.pid, SIGKILL);
	spawn_wait(&sp, &ws, NULL);
	if (execerr)
		return xtrk_error_set(XTRK_ENOTFOUND, "cannot run '%s': %s", argv[0], strerror(execerr));
	if (timed_out)
		return xtrk_error_set(XTRK_ERROR, "'%s' did not finish within %d ms", argv[0], timeout_ms);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
}

int xtrk_exec_capture(xtrk_buf *out, char *const argv[], int timeout_ms, size_t max, int *status)
{
	return capture(out, argv, -1, timeout_ms, max, status);
}

int xtrk_exec_capture_input(xtrk_buf *out, char *const argv[], const char *input, int timeout_ms, size_t max,
	int *status)
{
	int fd = open(input, O_RDONLY | O_CLOEXEC), err;
	if (fd < 0)
		return xtrk_error_errno("cannot read '%s'", input);
	err = capture(out, argv, fd, timeout_ms, max, status);
	close(fd);
	return err;
}

/* ---- the command of a run: output teed and kept, time and memory measured ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int log_file(char **path, int *fd, const char *dir, const char *name)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_buf_printf(&b, "%s/%s-XXXXXX", dir, name);
	if (xtrk_buf_oom(&b))
		return XTRK_ERROR;
	if ((*fd = mkostemp(b.ptr, O_CLOEXEC)) < 0) {
		int err = xtrk_error_errno("cannot create a log file in '%s'", dir);
		xtrk_buf_dispose(&b);
		return err;
	}
	*path = xtrk_buf_detach(&b);
	return 0;
}

/* Copy to the terminal (best effort: a closed terminal must not stop the capture) and to the log. */
static int pass_on(int tee, int logfd, const char *data, size_t len, int *log_err)
{
	if (tee >= 0) {
		const char *p = data;
		size_t left = len;
		while (left) {
			ssize_t n = write(tee, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
	}
	if (!*log_err && xtrk_write_all(logfd, data, len, "the command's output log") < 0)
		*log_err = 1;
	return 0;
}

int xtrk_exec_command(xtrk_exec_result *out, const xtrk_exec_options *o)
{
	struct spawn sp = { -1, -1, -1, -1 };
	int logs[2] = { -1, -1 }, open_fds = 2, log_err = 0, status = 0, child_errno = 0, err = 0;
	char *buf = NULL;
	struct rusage ru;

	memset(out, 0, sizeof(*out));
	if (!(buf = malloc(65536)))
		return xtrk_error_oom();
	if ((err = log_file(&out->stdout_path, &logs[0], o->log_dir, "stdout")) < 0 ||
	    (err = log_file(&out->stderr_path, &logs[1], o->log_dir, "stderr")) < 0)
		goto done;
	out->started = now_s();
	if ((err = spawn_start(&sp, o->argv, SPAWN_PIPE_STDERR | SPAWN_CLEAR_SIGMASK, o->extra_env, -1)) < 0)
		goto done;
	if (o->started)
		o->started(sp.pid, o->payload);
	child_errno = spawn_exec_errno(&sp);
	/* Both streams are drained as they come, so a chatty child never blocks on a full pipe. */
	while (open_fds) {
		struct pollfd p[2] = { { sp.out, POLLIN, 0 }, { sp.err, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = xtrk_error_errno("cannot wait for the command's output");
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, 65536);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close_fd(i == 0 ? &sp.out : &sp.err);
				open_fds--;
				continue;
			}
			pass_on(i == 0 ? o->tee_stdout : o->tee_stderr, logs[i], buf, (size_t)n, &log_err);
		}
		if (sp.out < 0 && sp.err < 0)
			break;
	}
	if (spawn_wait(&sp, &status, &ru) < 0) {
		err = xtrk_error_errno("cannot wait for the command");
		goto done;
	}
	out->ended = now_s();
	out->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		(double)ru.ru_stime.tv_usec / 1e6;
	out->max_rss_bytes = (long long)ru.ru_maxrss * 1024;
	if (child_errno) {
		out->exit_code = 127;
		snprintf(out->error, sizeof(out->error), "cannot run '%s': %s", o->argv[0], strerror(child_errno));
	} else if (WIFSIGNALED(status)) {
		out->signal = WTERMSIG(status);
		out->exit_code = 128 + out->signal;
		snprintf(out->error, sizeof(out->error), "killed by signal %d (%s)", out->signal, strsignal(out->signal));
	} else {
		out->exit_code = WEXITSTATUS(status);
	}
	if (log_err && !err)
		err = xtrk_error_set(XTRK_ENOSPACE, "the command finished, but its output could not be kept in '%s'",
			o->log_dir);
done:
	spawn_close(&sp);
	for (int i = 0; i < 2; i++)
		close_fd(&logs[i]);
	free(buf);
	return err;
}

void xtrk_exec_result_dispose(xtrk_exec_result *r)
{
	if (r->stdout_path) {
		unlink(r->stdout_path);
		free(r->stdout_path);
	}
	if (r->stderr_path) {
		unlink(r->stderr_path);
		free(r->stderr_path);
	}
	r->stdout_path = r->stderr_path = NULL;
}
