/* Running a command for `xtrk run`: tee its output, keep it in files, and measure it. */
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
#include "xtrk/runner.h"

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
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, execp[2] = { -1, -1 };
	int logs[2] = { -1, -1 }, open_fds = 2, log_err = 0, status = 0, child_errno = 0, err = 0;
	char *buf = NULL;
	struct rusage ru;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (!(buf = malloc(65536)))
		return xtrk_error_oom();
	if ((err = log_file(&out->stdout_path, &logs[0], o->log_dir, "stdout")) < 0 ||
	    (err = log_file(&out->stderr_path, &logs[1], o->log_dir, "stderr")) < 0)
		goto done;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(execp, O_CLOEXEC) < 0) {
		err = xtrk_error_errno("cannot create pipes for the command");
		goto done;
	}
	out->started = now_s();
	if ((pid = fork()) < 0) {
		err = xtrk_error_errno("cannot start '%s'", o->argv[0]);
		goto done;
	}
	if (pid == 0) {
		sigset_t none;
		int e;
		/* The caller may hold signals blocked around the fork; the command starts with none blocked. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		for (char *const *v = o->extra_env; v && *v; v++)
			putenv(*v);
		execvp(o->argv[0], o->argv);
		e = errno;
		if (write(execp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (o->started)
		o->started(pid, o->payload);
	close(outp[1]);
	close(errp[1]);
	close(execp[1]);
	outp[1] = errp[1] = execp[1] = -1;
	if (read(execp[0], &child_errno, sizeof(child_errno)) != (ssize_t)sizeof(child_errno))
		child_errno = 0;
	/* Both streams are drained as they come, so a chatty child never blocks on a full pipe. */
	while (open_fds) {
		struct pollfd p[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
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
				close(p[i].fd);
				if (i == 0)
					outp[0] = -1;
				else
					errp[0] = -1;
				open_fds--;
				continue;
			}
			pass_on(i == 0 ? o->tee_stdout : o->tee_stderr, logs[i], buf, (size_t)n, &log_err);
		}
		if (outp[0] < 0 && errp[0] < 0)
			break;
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			err = xtrk_error_errno("cannot wait for the command");
			goto done;
		}
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
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0) close(outp[i]);
		if (errp[i] >= 0) close(errp[i]);
		if (execp[i] >= 0) close(execp[i]);
		if (logs[i] >= 0) close(logs[i]);
	}
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
