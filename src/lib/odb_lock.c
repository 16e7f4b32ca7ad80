/* The store's write lock: shared by write transactions, exclusive for gc's delete window (odb_lock.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "odb_internal.h"
#include "odb_lock.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"

static int lock_open(xtrk_odb *odb, const char *name, int *fd)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int err = 0;
	if (xtrk_buf_printf(&p, "%s/%s", odb->dir, name) < 0)
		return XTRK_ERROR;
	if ((*fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0 &&
	    (*fd = open(p.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		err = xtrk_error_errno("cannot open the store's lock '%s'", p.ptr);
	xtrk_buf_dispose(&p);
	return err;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* flock with a bounded wait: 0, or 1 when it stayed taken for `wait_ms`. */
static int lock_wait(int fd, int op, long wait_ms, const char *what)
{
	long waited = 0, step = 1;
	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return xtrk_error_errno("cannot lock %s", what);
		if (waited >= wait_ms)
			return 1;
		sleep_ms(step);
		waited += step;
		step = step < 50 ? step * 2 : 50;
	}
	return 0;
}

void odb_lock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the only descriptor releases its flock */
}

int odb_lock_writer(xtrk_odb *odb, int *fd)
{
	int gate = -1, err;
	*fd = -1;
	if ((err = lock_open(odb, "txn.gate", &gate)) < 0)
		return err;
	if ((err = lock_wait(gate, LOCK_SH, ODB_WRITER_WAIT_MS, "the store")) == 0 &&
	    (err = lock_open(odb, "txn.lock", fd)) == 0)
		err = lock_wait(*fd, LOCK_SH, ODB_WRITER_WAIT_MS, "the store");
	odb_lock_release(gate);
	if (err == 1)
		err = xtrk_error_set(XTRK_ELOCKED, "'xtrk gc' has held the store '%s' for %ld minutes; "
			"nothing was written", odb->dir, ODB_WRITER_WAIT_MS / 60000);
	if (err < 0) {
		odb_lock_release(*fd);
		*fd = -1;
	}
	return err;
}

int odb_lock_exclusive(xtrk_odb *odb, int *gate_fd, int *txn_fd, long wait_ms)
{
	int err;
	*gate_fd = *txn_fd = -1;
	if ((err = lock_open(odb, "txn.gate", gate_fd)) < 0)
		goto fail;
	/* With the gate held no new writer starts; those running finish. */
	if ((err = lock_wait(*gate_fd, LOCK_EX, wait_ms, "the store")) == 0 &&
	    (err = lock_open(odb, "txn.lock", txn_fd)) == 0)
		err = lock_wait(*txn_fd, LOCK_EX, wait_ms, "the store");
	if (err == 1)
		err = xtrk_error_set(XTRK_ELOCKED, "writes to the store (a commit, run, import, pull or push) "
			"went on for %ld s; gc deleted nothing, try again later", wait_ms / 1000);
	if (err == 0)
		return 0;
fail:
	odb_lock_release(*txn_fd);
	odb_lock_release(*gate_fd);
	*gate_fd = *txn_fd = -1;
	return err;
}

int odb_lock_gc_run(xtrk_odb *odb, int *fd)
{
	int err;
	if ((err = lock_open(odb, "gc.lock", fd)) < 0)
		return err;
	if ((err = lock_wait(*fd, LOCK_EX, 0, "the store")) == 1)
		err = xtrk_error_set(XTRK_ELOCKED, "another 'xtrk gc' is running on this store");
	if (err < 0) {
		odb_lock_release(*fd);
		*fd = -1;
	}
	return err;
}
