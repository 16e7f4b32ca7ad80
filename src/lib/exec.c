/* Run a helper program (nvidia-smi, python3) with a time limit, capturing its output. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xtrk/capture.h"
#include "xtrk/errors.h"

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

int xtrk_exec_capture(xtrk_buf *out, char *const argv[], int timeout_ms, size_t max, int *status)
{
	int outp[2], errp[2];
	pid_t pid;
	long long deadline = mono_ms() + timeout_ms;
	int ws, timed_out = 0, execerr = 0;
	char buf[65536], *found;

	*status = -1;
	/* Forking a large process costs milliseconds: look before leaping. */
	if (!(found = xtrk_find_program(argv[0])))
		return xtrk_error_set(XTRK_ENOTFOUND, "cannot run '%s': not found", argv[0]);
	free(found);
	if (pipe2(outp, O_CLOEXEC) < 0)
		return xtrk_error_errno("cannot create a pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(outp[0]);
		close(outp[1]);
		return xtrk_error_errno("cannot create a pipe");
	}
	if ((pid = fork()) < 0) {
		close(outp[0]); close(outp[1]); close(errp[0]); close(errp[1]);
		return xtrk_error_errno("cannot start '%s'", argv[0]);
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		int e;
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		dup2(outp[1], 1);
		execvp(argv[0], argv);
		/* Tell the parent exec failed, through the close-on-exec pipe. */
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	if (read(errp[0], &execerr, sizeof(execerr)) != (ssize_t)sizeof(execerr))
		execerr = 0;
	close(errp[0]);
	for (;;) {
		struct pollfd pfd = { outp[0], POLLIN, 0 };
		long long left = deadline - mono_ms();
		ssize_t n;
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		n = read(outp[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->size < max)
			xtrk_buf_put(out, buf, (size_t)n > max - out->size ? max - out->size : (size_t)n);
	}
	close(outp[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (execerr)
		return xtrk_error_set(XTRK_ENOTFOUND, "cannot run '%s': %s", argv[0], strerror(execerr));
	if (timed_out)
		return xtrk_error_set(XTRK_ERROR, "'%s' did not finish within %d ms", argv[0], timeout_ms);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
}
