/* The audit trail: a hash-chained log, one JSON entry a line (see xtrk/audit.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/audit.h"
#include "xtrk/buf.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/oid.h"
#include "xtrk/run.h"

#define AUDIT_MAX_LINE (64 * 1024)

static int path_of(xtrk_buf *out, xtrk_repo *repo, const char *name)
{
	xtrk_buf_clear(out);
	xtrk_buf_printf(out, "%s/%s", xtrk_repo_dir(repo), name);
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

/* The last line of the log (without its newline) in `out`; empty when the log is empty or absent. */
static int last_line(xtrk_buf *out, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	off_t size, from;
	char *buf = NULL;
	ssize_t n;

	xtrk_buf_clear(out);
	if (fd < 0)
		return errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", path);
	if ((size = lseek(fd, 0, SEEK_END)) < 0) {
		err = xtrk_error_errno("cannot read '%s'", path);
		goto done;
	}
	if (size == 0)
		goto done;
	from = size > AUDIT_MAX_LINE + 2 ? size - (AUDIT_MAX_LINE + 2) : 0;
	if (!(buf = malloc((size_t)(size - from)))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((n = pread(fd, buf, (size_t)(size - from), from)) != size - from) {
		err = xtrk_error_errno("cannot read '%s'", path);
		goto done;
	}
	if (buf[n - 1] != '\n') {
		err = xtrk_error_set(XTRK_ECORRUPT, "the audit log ends in an unfinished entry; see 'xtrk audit --verify'");
		goto done;
	}
	{
		ssize_t end = n - 1, start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (start == 0 && from > 0)
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log's last entry is too long");
		else
			err = xtrk_buf_put(out, buf + start, (size_t)(end - start));
	}
done:
	free(buf);
	close(fd);
	return err;
}

static void now_text(char when[40])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	xtrk_format_time(when, (double)tv.tv_sec + (double)tv.tv_usec / 1e6);
}

int xtrk_audit_append(xtrk_repo *repo, const char *what, json_t *detail)
{
	xtrk_buf log = XTRK_BUF_INIT, lockp = XTRK_BUF_INIT, headp = XTRK_BUF_INIT, last = XTRK_BUF_INIT,
		 who = XTRK_BUF_INIT, head = XTRK_BUF_INIT;
	json_t *entry = NULL, *prev_entry = NULL;
	char *line = NULL, when[40], prev[XTRK_OID_HEXSZ + 1];
	json_int_t seq = 1;
	int lock = -1, fd = -1, err;

	memset(prev, '0', XTRK_OID_HEXSZ);
	prev[XTRK_OID_HEXSZ] = 0;
	if ((err = path_of(&log, repo, "audit")) < 0 || (err = path_of(&lockp, repo, "audit.lock")) < 0 ||
	    (err = path_of(&headp, repo, "audit.head")) < 0)
		goto done;
	if ((lock = open(lockp.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		err = xtrk_error_errno("cannot open '%s'", lockp.ptr);
		goto done;
	}
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR) {
			err = xtrk_error_errno("cannot lock '%s'", lockp.ptr);
			goto done;
		}
	if ((err = last_line(&last, log.ptr)) < 0)
		goto done;
	if (last.size) {
		xtrk_oid h;
		json_error_t je;
		if (!(prev_entry = json_loadb(last.ptr, last.size, 0, &je)) ||
		    !json_is_integer(json_object_get(prev_entry, "seq"))) {
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log's last entry is not one; see 'xtrk audit --verify'");
			goto done;
		}
		seq = json_integer_value(json_object_get(prev_entry, "seq")) + 1;
		xtrk_oid_hash(&h, last.ptr, last.size);
		xtrk_oid_fmt(prev, &h);
	}
	if ((err = xtrk_capture_author(&who, xtrk_repo_workdir(repo))) < 0)
		goto done;
	for (size_t i = 0; i < who.size; i++)
		if ((unsigned char)who.ptr[i] < 0x20 || who.ptr[i] == 0x7f)
			who.ptr[i] = '?';
	now_text(when);
	if (!(entry = json_pack("{s:O, s:s, s:I, s:s, s:s, s:s}", "detail", detail ? detail : json_object(), "prev", prev,
		      "seq", seq, "time", when, "what", what, "who", who.ptr ? who.ptr : "unknown")) ||
	    !(line = xtrk_json_dumps(entry, XTRK_JSON_STORE))) {
		err = xtrk_error_oom();
		goto done;
	}
	if (strlen(line) > AUDIT_MAX_LINE) {
		err = xtrk_error_set(XTRK_EINVALID, "an audit entry is at most %d bytes", AUDIT_MAX_LINE);
		goto done;
	}
	{
		xtrk_oid h;
		xtrk_oid_hash(&h, line, strlen(line));
		xtrk_buf_printf(&head, "%lld %s\n", (long long)seq, xtrk_oid_tostr(&h));
		if (xtrk_buf_oom(&head)) {
			err = xtrk_error_oom();
			goto done;
		}
	}
	xtrk_buf_clear(&last);
	xtrk_buf_printf(&last, "%s\n", line);
	if ((fd = open(log.ptr, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		err = xtrk_error_errno("cannot open '%s'", log.ptr);
		goto done;
	}
	if (xtrk_buf_oom(&last) || write(fd, last.ptr, last.size) != (ssize_t)last.size) {
		err = xtrk_error_errno("cannot write '%s'", log.ptr);
		goto done;
	}
	if ((err = xtrk_fsync(fd, log.ptr)) < 0)
		goto done;
	err = xtrk_write_file_atomic(headp.ptr, head.ptr, head.size, 0644, 0);
done:
	if (fd >= 0)
		close(fd);
	if (lock >= 0)
		close(lock);
	json_decref(entry);
	json_decref(prev_entry);
	free(line);
	xtrk_buf_dispose(&log);
	xtrk_buf_dispose(&lockp);
	xtrk_buf_dispose(&headp);
	xtrk_buf_dispose(&last);
	xtrk_buf_dispose(&who);
	xtrk_buf_dispose(&head);
	return err;
}

void xtrk_audit_note(xtrk_repo *repo, const char *what, json_t *detail)
{
	if (xtrk_audit_append(repo, what, detail) < 0) {
		xtrk_warning_add("%s was done but not written to the audit log: %s", what, xtrk_error_last());
		xtrk_error_clear();
	}
}

static int broken(json_int_t n, const char *why)
{
	return xtrk_error_set(XTRK_ECORRUPT, "the audit log is broken at entry %lld: %s", (long long)n, why);
}

int xtrk_audit_read(json_t **entries, xtrk_repo *repo)
{
	xtrk_buf log = XTRK_BUF_INIT, headp = XTRK_BUF_INIT, data = XTRK_BUF_INIT, head = XTRK_BUF_INIT;
	json_t *all = json_array();
	char prev[XTRK_OID_HEXSZ + 1];
	json_int_t seq = 0;
	size_t at = 0;
	int err;

	if (entries)
		*entries = NULL;
	memset(prev, '0', XTRK_OID_HEXSZ);
	prev[XTRK_OID_HEXSZ] = 0;
	if (!all)
		return xtrk_error_oom();
	if ((err = path_of(&log, repo, "audit")) < 0 || (err = path_of(&headp, repo, "audit.head")) < 0)
		goto done;
	if ((err = xtrk_buf_read_file(&data, log.ptr)) < 0) {
		if (access(log.ptr, F_OK) != 0 && errno == ENOENT) {
			xtrk_error_clear();
			err = 0;
		} else
			goto done;
	}
	while (at < data.size) {
		const char *nl = memchr(data.ptr + at, '\n', data.size - at);
		size_t len = nl ? (size_t)(nl - (data.ptr + at)) : data.size - at;
		json_t *e;
		json_error_t je;
		xtrk_oid h;
		char *again;
		const char *p;
		seq++;
		if (!nl) {
			err = broken(seq, "it is unfinished (no newline)");
			goto done;
		}
		if (!(e = json_loadb(data.ptr + at, len, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(e)) {
			json_decref(e);
			err = broken(seq, "it is not a JSON object");
			goto done;
		}
		again = xtrk_json_dumps(e, XTRK_JSON_STORE);
		p = json_string_value(json_object_get(e, "prev"));
		if (!again || strlen(again) != len || memcmp(again, data.ptr + at, len))
			err = broken(seq, "it is not in the form xtrk writes");
		else if (json_object_size(e) != 6 || !json_is_object(json_object_get(e, "detail")) ||
			 !json_is_string(json_object_get(e, "time")) || !json_is_string(json_object_get(e, "what")) ||
			 !json_is_string(json_object_get(e, "who")))
			err = broken(seq, "it is not an audit entry (detail, prev, seq, time, what, who)");
		else if (json_integer_value(json_object_get(e, "seq")) != seq || !json_is_integer(json_object_get(e, "seq")))
			err = broken(seq, "its number is not the next one (an entry was removed or moved)");
		else if (!p || strcmp(p, prev))
			err = broken(seq, "it does not name the previous entry's hash (an entry before it was removed, "
					  "altered or moved)");
		free(again);
		if (err < 0) {
			json_decref(e);
			goto done;
		}
		xtrk_oid_hash(&h, data.ptr + at, len);
		xtrk_oid_fmt(prev, &h);
		if (json_object_set_new(e, "hash", json_string(prev)) < 0 || json_array_append_new(all, e) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		at += len + 1;
	}
	/* The head: the last entry written, so that entries cut from the end are seen. */
	if (xtrk_buf_read_file(&head, headp.ptr) == 0) {
		long long hseq = 0;
		char hhash[XTRK_OID_HEXSZ + 2] = "";
		json_t *he;
		if (xtrk_buf_putc(&head, 0) < 0 || sscanf(head.ptr, "%lld %33s", &hseq, hhash) != 2 || hseq < 1)
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log's head (.xtrk/audit.head) is damaged");
		else if (hseq > (long long)seq)
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log ends at entry %lld but entry %lld was written: "
				"entries were removed from its end", (long long)seq, hseq);
		else if (!(he = json_array_get(all, (size_t)hseq - 1)) ||
			 strcmp(json_string_value(json_object_get(he, "hash")), hhash))
			err = broken(hseq, "it is not the entry written as it (altered after it was written)");
		else if (hseq + 1 < (long long)seq)
			err = broken(hseq + 2, "it was added after the head without xtrk");
	} else {
		xtrk_error_clear();
		if (seq > 0)
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log has entries but no head (.xtrk/audit.head)");
	}
done:
	if (entries)
		*entries = all;
	else
		json_decref(all);
	xtrk_buf_dispose(&log);
	xtrk_buf_dispose(&headp);
	xtrk_buf_dispose(&data);
	xtrk_buf_dispose(&head);
	return err;
}
