/* The audit trail: a hash-chained log, one JSON entry a line (see xtrk/audit.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* The log's exclusive lock (.xtrk/audit.lock, flock): `*fd` holds it until closed. */
static int lock_log(int *fd, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int err;
	*fd = -1;
	if ((err = path_of(&p, repo, "audit.lock")) < 0)
		return err;
	if ((*fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		err = xtrk_error_errno("cannot open '%s'", p.ptr);
	while (*fd >= 0 && flock(*fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			err = xtrk_error_errno("cannot lock '%s'", p.ptr);
			break;
		}
	xtrk_buf_dispose(&p);
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
	xtrk_buf log = XTRK_BUF_INIT, headp = XTRK_BUF_INIT, last = XTRK_BUF_INIT,
		 who = XTRK_BUF_INIT, head = XTRK_BUF_INIT;
	json_t *entry = NULL, *prev_entry = NULL;
	char *line = NULL, when[40], prev[XTRK_OID_HEXSZ + 1];
	json_int_t seq = 1;
	int lock = -1, fd = -1, err;

	memset(prev, '0', XTRK_OID_HEXSZ);
	prev[XTRK_OID_HEXSZ] = 0;
	if ((err = path_of(&log, repo, "audit")) < 0 || (err = path_of(&headp, repo, "audit.head")) < 0 ||
	    (err = lock_log(&lock, repo)) < 0)
		goto done;
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

static int broken(const char *label, json_int_t n, const char *why)
{
	return xtrk_error_set(XTRK_ECORRUPT, "%s is broken at entry %lld: %s", label, (long long)n, why);
}

/* A word of a-z and '-', as xtrk names what it logs. */
static int what_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return 0;
	return 1;
}

/* Text to be shown on a line: no control characters, at most `max` bytes. */
static int text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (!s || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Check a chain's lines (each ending in a newline), appending the entries to
 * `all` with their "hash"; `*seq` gets the number of entries read.  The first
 * entry names no previous one; each other names the hash of the one before.
 */
static int chain_parse(json_t *all, json_int_t *seq_out, const char *label, const char *data, size_t size)
{
	char prev[XTRK_OID_HEXSZ + 1];
	json_int_t seq = 0;
	size_t at = 0;
	int err = 0;

	memset(prev, '0', XTRK_OID_HEXSZ);
	prev[XTRK_OID_HEXSZ] = 0;
	while (at < size) {
		const char *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
		json_t *e;
		json_error_t je;
		xtrk_oid h;
		char *again;
		const char *p;
		seq++;
		if (!nl) {
			err = broken(label, seq, "it is unfinished (no newline)");
			goto done;
		}
		if (len > AUDIT_MAX_LINE) {
			err = broken(label, seq, "it is longer than an entry can be");
			goto done;
		}
		if (!(e = json_loadb(data + at, len, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(e)) {
			json_decref(e);
			err = broken(label, seq, "it is not a JSON object");
			goto done;
		}
		again = xtrk_json_dumps(e, XTRK_JSON_STORE);
		p = json_string_value(json_object_get(e, "prev"));
		if (!again || strlen(again) != len || memcmp(again, data + at, len))
			err = broken(label, seq, "it is not in the form xtrk writes");
		else if (json_object_size(e) != 6 || !json_is_object(json_object_get(e, "detail")) ||
			 !json_is_string(json_object_get(e, "time")) || !json_is_string(json_object_get(e, "what")) ||
			 !json_is_string(json_object_get(e, "who")))
			err = broken(label, seq, "it is not an audit entry (detail, prev, seq, time, what, who)");
		else if (!what_ok(json_string_value(json_object_get(e, "what"))) ||
			 !text_ok(json_string_value(json_object_get(e, "who")), 1024) ||
			 !text_ok(json_string_value(json_object_get(e, "time")), 40))
			err = broken(label, seq, "its what, who or time is not text xtrk writes (control characters, or "
					 "too long)");
		else if (json_integer_value(json_object_get(e, "seq")) != seq || !json_is_integer(json_object_get(e, "seq")))
			err = broken(label, seq, "its number is not the next one (an entry was removed or moved)");
		else if (!p || strcmp(p, prev))
			err = broken(label, seq, "it does not name the previous entry's hash (an entry before it was removed, "
						 "altered or moved)");
		free(again);
		if (err < 0) {
			json_decref(e);
			goto done;
		}
		xtrk_oid_hash(&h, data + at, len);
		xtrk_oid_fmt(prev, &h);
		if (json_object_set_new(e, "hash", json_string(prev)) < 0 || json_array_append_new(all, e) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		at += len + 1;
	}
done:
	*seq_out = seq - (err < 0);
	return err;
}

/* The log and its head checked together: `*data` gets the log's bytes. */
static int read_own(json_t *all, xtrk_buf *data, xtrk_repo *repo)
{
	xtrk_buf log = XTRK_BUF_INIT, headp = XTRK_BUF_INIT, head = XTRK_BUF_INIT;
	json_int_t seq = 0;
	int err;

	if ((err = path_of(&log, repo, "audit")) < 0 || (err = path_of(&headp, repo, "audit.head")) < 0)
		goto done;
	if ((err = xtrk_buf_read_file(data, log.ptr)) < 0) {
		if (access(log.ptr, F_OK) != 0 && errno == ENOENT) {
			xtrk_error_clear();
			err = 0;
		} else
			goto done;
	}
	if ((err = chain_parse(all, &seq, "the audit log", data->ptr, data->size)) < 0)
		goto done;
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
			err = broken("the audit log", hseq, "it is not the entry written as it (altered after it was written)");
		else if (hseq + 1 < (long long)seq)
			err = broken("the audit log", hseq + 2, "it was added after the head without xtrk");
	} else {
		xtrk_error_clear();
		if (seq > 0)
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log has entries but no head (.xtrk/audit.head)");
	}
done:
	xtrk_buf_dispose(&log);
	xtrk_buf_dispose(&headp);
	xtrk_buf_dispose(&head);
	return err;
}

int xtrk_audit_read(json_t **entries, xtrk_repo *repo)
{
	xtrk_buf data = XTRK_BUF_INIT;
	json_t *all = json_array();
	int err;

	if (entries)
		*entries = NULL;
	if (!all)
		return xtrk_error_oom();
	err = read_own(all, &data, repo);
	if (entries)
		*entries = all;
	else
		json_decref(all);
	xtrk_buf_dispose(&data);
	return err;
}

/* ---- chains carried between stores ---- */

static int origin_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n != XTRK_OID_HEXSZ)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A carried chain: its lines as strings, each at most an entry's size and without a newline. */
static json_t *chain_json(const char *origin, int own, const char *data, size_t size)
{
	json_t *c = json_pack("{s:s, s:b, s:[]}", "origin", origin, "own", own, "entries"), *lines;
	size_t at = 0;
	if (!c)
		return NULL;
	lines = json_object_get(c, "entries");
	while (at < size) {
		const char *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
		if (json_array_append_new(lines, json_stringn(data + at, len)) < 0) {
			json_decref(c);
			return NULL;
		}
		at += len + 1;
	}
	return c;
}

/* A received chain's file, named by its origin (checked hex first). */
static int received_path(xtrk_buf *out, xtrk_repo *repo, const char *origin)
{
	xtrk_buf_clear(out);
	xtrk_buf_printf(out, "%s/audit.d%s%s", xtrk_repo_dir(repo), origin ? "/" : "", origin ? origin : "");
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

/* Read a file of at most XTRK_AUDIT_MAX_CHAIN bytes; 1 when it does not exist. */
static int read_capped(xtrk_buf *out, const char *path)
{
	struct stat st;
	xtrk_buf_clear(out);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 1 : xtrk_error_errno("cannot read '%s'", path);
	if (!S_ISREG(st.st_mode))
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' is not a regular file", path);
	if ((uint64_t)st.st_size > XTRK_AUDIT_MAX_CHAIN)
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' is larger than an audit chain may be (%u bytes)", path,
			XTRK_AUDIT_MAX_CHAIN);
	return xtrk_buf_read_file(out, path);
}

/* One received chain as kept here: `all` gets its entries (may be NULL); 1 when none is kept. */
static int read_received(json_t *all, xtrk_buf *data, xtrk_repo *repo, const char *origin)
{
	xtrk_buf path = XTRK_BUF_INIT, label = XTRK_BUF_INIT;
	json_t *tmp = all ? NULL : json_array();
	json_int_t seq = 0;
	int err;

	if (!all && !(all = tmp))
		return xtrk_error_oom();
	if ((err = received_path(&path, repo, origin)) < 0 || (err = read_capped(data, path.ptr)) != 0)
		goto done;
	xtrk_buf_printf(&label, "the audit log received from %s", origin);
	if (xtrk_buf_oom(&label)) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = chain_parse(all, &seq, label.ptr, data->ptr, data->size)) < 0)
		goto done;
	if (seq == 0 || strcmp(json_string_value(json_object_get(json_array_get(all, 0), "hash")), origin))
		err = xtrk_error_set(XTRK_ECORRUPT, "%s: its first entry is not the one it is named by", label.ptr);
done:
	json_decref(tmp);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&label);
	return err;
}

/* The origins of the chains received, sorted. */
static int received_origins(json_t **out, xtrk_repo *repo)
{
	xtrk_buf path = XTRK_BUF_INIT;
	json_t *names = json_array();
	struct dirent *de;
	DIR *d = NULL;
	int err = 0;

	*out = NULL;
	if (!names || (err = received_path(&path, repo, NULL)) < 0)
		goto done;
	if (!(d = opendir(path.ptr))) {
		if (errno != ENOENT)
			err = xtrk_error_errno("cannot read '%s'", path.ptr);
		goto done;
	}
	while ((de = readdir(d)))
		if (origin_ok(de->d_name)) {
			if (json_array_size(names) >= XTRK_AUDIT_MAX_CHAINS) {
				err = xtrk_error_set(XTRK_ECORRUPT, "'%s' holds more than %d audit chains", path.ptr,
					XTRK_AUDIT_MAX_CHAINS);
				goto done;
			}
			if (json_array_append_new(names, json_string(de->d_name)) < 0) {
				err = xtrk_error_oom();
				goto done;
			}
		}
	{
		/* readdir's order is the file system's: sorted, the listing is the same everywhere. */
		size_t n = json_array_size(names);
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(names, j - 1)),
							 json_string_value(json_array_get(names, j))) > 0; j--) {
				json_t *a = json_incref(json_array_get(names, j - 1));
				json_array_set(names, j - 1, json_array_get(names, j));
				json_array_set_new(names, j, a);
			}
	}
done:
	if (d)
		closedir(d);
	xtrk_buf_dispose(&path);
	if (err < 0)
		json_decref(names);
	else
		*out = names;
	return err;
}

int xtrk_audit_read_received(json_t **out, xtrk_repo *repo)
{
	json_t *origins = NULL, *all = json_array(), *o;
	xtrk_buf data = XTRK_BUF_INIT;
	size_t i;
	int err;

	*out = NULL;
	if (!all)
		return xtrk_error_oom();
	if ((err = received_origins(&origins, repo)) < 0)
		goto done;
	json_array_foreach(origins, i, o) {
		json_t *c = json_pack("{s:O, s:[]}", "origin", o, "entries");
		if (!c || json_array_append_new(all, c) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		if ((err = read_received(json_object_get(c, "entries"), &data, repo, json_string_value(o))) < 0)
			goto done;
	}
done:
	*out = all;
	json_decref(origins);
	xtrk_buf_dispose(&data);
	return err;
}

int xtrk_audit_chains(json_t **out, xtrk_repo *repo)
{
	json_t *chains = json_array(), *own = json_array(), *origins = NULL, *o, *c;
	xtrk_buf data = XTRK_BUF_INIT;
	size_t i;
	int err;

	*out = NULL;
	if (!chains || !own) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = read_own(own, &data, repo)) < 0)
		goto done;
	if (json_array_size(own)) {
		c = chain_json(json_string_value(json_object_get(json_array_get(own, 0), "hash")), 1, data.ptr, data.size);
		if (!c || json_array_append_new(chains, c) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	}
	if ((err = received_origins(&origins, repo)) < 0)
		goto done;
	json_array_foreach(origins, i, o) {
		if ((err = read_received(NULL, &data, repo, json_string_value(o))) < 0)
			goto done;
		c = chain_json(json_string_value(o), 0, data.ptr, data.size);
		if (!c || json_array_append_new(chains, c) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	}
done:
	json_decref(own);
	json_decref(origins);
	xtrk_buf_dispose(&data);
	if (err < 0)
		json_decref(chains);
	else
		*out = chains;
	return err;
}

/* A carried chain's lines as the bytes of a log, checked to be lines. */
static int carried_bytes(xtrk_buf *out, json_t *lines, const char *origin)
{
	size_t i;
	json_t *l;
	xtrk_buf_clear(out);
	json_array_foreach(lines, i, l) {
		const char *s = json_string_value(l);
		if (!s || json_string_length(l) > AUDIT_MAX_LINE || memchr(s, '\n', json_string_length(l)) ||
		    strlen(s) != json_string_length(l))
			return xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s carries entry %zu that is not one line of at "
				"most %d bytes", origin, i + 1, AUDIT_MAX_LINE);
		if (xtrk_buf_put(out, s, json_string_length(l)) < 0 || xtrk_buf_putc(out, '\n') < 0)
			return xtrk_error_oom();
		if (out->size > XTRK_AUDIT_MAX_CHAIN)
			return xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s is larger than an audit chain may be",
				origin);
	}
	return 0;
}

/*
 * One carried chain against what `to` holds of it: 0 when it may be taken,
 * with `*longer` set when it brings entries `to` lacks.
 */
static int vet_one(int *longer, xtrk_repo *to, json_t *c, json_t *got, const char *own_origin, int live)
{
	const char *origin = json_string_value(json_object_get(c, "origin"));
	int own = json_is_true(json_object_get(c, "own"));
	json_t *known = json_array();
	xtrk_buf data = XTRK_BUF_INIT;
	size_t k = json_array_size(got), n, m;
	int err = 0;

	*longer = 0;
	if (!known)
		return xtrk_error_oom();
	if (!to)
		goto done;
	if (own_origin && !strcmp(origin, own_origin)) {
		/* This store's own log coming back: only a part of it, never entries it did not write. */
		if ((err = read_own(known, &data, to)) < 0)
			goto done;
		n = json_array_size(known);
		if (k > n) {
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s is this store's own, but carries %zu entries "
				"where this store wrote %zu: entries it never wrote", origin, k, n);
			goto done;
		}
	} else {
		if ((err = read_received(known, &data, to, origin)) < 0) {
			err = xtrk_error_set(err, "%s (see 'xtrk audit --verify')", xtrk_error_last());
			goto done;
		}
		err = 0;
		n = json_array_size(known);
		/* A live store's own log never shrinks; an older bundle is an older copy, and takes nothing. */
		if (own && live && k < n) {
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s is its sender's own, but ends at entry %zu "
				"where entry %zu was received before: entries were removed from its end", origin, k, n);
			goto done;
		}
		*longer = k > n;
	}
	/* Chained, the two agree up to the shorter's end when their entries there agree. */
	m = k < n ? k : n;
	if (m && strcmp(json_string_value(json_object_get(json_array_get(known, m - 1), "hash")),
			 json_string_value(json_object_get(json_array_get(got, m - 1), "hash")))) {
		size_t at = 0;
		while (at < m && !strcmp(json_string_value(json_object_get(json_array_get(known, at), "hash")),
				     json_string_value(json_object_get(json_array_get(got, at), "hash"))))
			at++;
		err = xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s rewrites history already %s: its entry %zu is "
			"not the one %s", origin, own_origin && !strcmp(origin, own_origin) ? "written here" : "received",
			at + 1, own_origin && !strcmp(origin, own_origin) ? "this store wrote" : "received before");
	}
done:
	json_decref(known);
	xtrk_buf_dispose(&data);
	return err;
}

/* This store's own origin (its log's first entry's hash), "" when its log is empty. */
static int own_origin(char out[XTRK_OID_HEXSZ + 1], xtrk_repo *repo)
{
	xtrk_buf path = XTRK_BUF_INIT, first = XTRK_BUF_INIT;
	FILE *f;
	int err = 0;
	out[0] = 0;
	if ((err = path_of(&path, repo, "audit")) < 0)
		return err;
	if ((f = fopen(path.ptr, "re"))) {
		int ch;
		while ((ch = getc(f)) != EOF && ch != '\n' && first.size <= AUDIT_MAX_LINE)
			if (xtrk_buf_putc(&first, (char)ch) < 0) {
				err = xtrk_error_oom();
				break;
			}
		if (ch == '\n' && err == 0) {
			xtrk_oid h;
			xtrk_oid_hash(&h, first.ptr, first.size);
			xtrk_oid_fmt(out, &h);
		}
		fclose(f);
	}
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&first);
	return err;
}

/* Vet the carried chains; `take` (may be NULL) gets for each whether it brings entries `to` lacks. */
static int vet(xtrk_repo *to, json_t *chains, int live, int *take)
{
	json_t *seen = json_object(), *known = json_object(), *held = NULL, *c;
	xtrk_buf data = XTRK_BUF_INIT;
	char mine[XTRK_OID_HEXSZ + 1] = "";
	size_t i, fresh = 0;
	int err = 0;

	if (!seen || !known) {
		json_decref(seen);
		json_decref(known);
		return xtrk_error_oom();
	}
	if (!json_is_array(chains) || json_array_size(chains) > XTRK_AUDIT_MAX_CHAINS) {
		err = xtrk_error_set(XTRK_ECORRUPT, "the audit logs carried are not a list of at most %d chains",
			XTRK_AUDIT_MAX_CHAINS);
		goto done;
	}
	if (to && ((err = own_origin(mine, to)) < 0 || (err = received_origins(&held, to)) < 0))
		goto done;
	json_array_foreach(held, i, c)
		if (json_object_set_new(known, json_string_value(c), json_true()) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	json_array_foreach(chains, i, c) {
		const char *origin = json_string_value(json_object_get(c, "origin"));
		json_t *got = NULL;
		json_int_t seq = 0;
		xtrk_buf label = XTRK_BUF_INIT;
		int longer = 0;
		if (!json_is_object(c) || json_object_size(c) != 3 || !json_is_boolean(json_object_get(c, "own")) ||
		    !json_is_array(json_object_get(c, "entries")) || !json_array_size(json_object_get(c, "entries")) ||
		    !origin_ok(origin)) {
			err = xtrk_error_set(XTRK_ECORRUPT, "audit chain %zu carried is not an origin (32 hex digits), own "
				"(true or false) and its entries", i + 1);
			goto done;
		}
		if (json_object_get(seen, origin)) {
			err = xtrk_error_set(XTRK_ECORRUPT, "the audit log of %s is carried twice", origin);
			goto done;
		}
		if (json_object_set_new(seen, origin, json_true()) < 0 || !(got = json_array())) {
			err = xtrk_error_oom();
			goto done;
		}
		xtrk_buf_printf(&label, "the audit log of %s", origin);
		if (xtrk_buf_oom(&label))
			err = xtrk_error_oom();
		else if ((err = carried_bytes(&data, json_object_get(c, "entries"), origin)) == 0 &&
			 (err = chain_parse(got, &seq, label.ptr, data.ptr, data.size)) == 0 &&
			 strcmp(json_string_value(json_object_get(json_array_get(got, 0), "hash")), origin))
			err = xtrk_error_set(XTRK_ECORRUPT, "%s is named by another entry than its first", label.ptr);
		if (err == 0)
			err = vet_one(&longer, to, c, got, mine[0] ? mine : NULL, live);
		if (take)
			take[i] = longer;
		/* A bound on the chains a store keeps, so that no sender can make it refuse every later transfer. */
		if (err == 0 && longer && !json_object_get(known, origin) &&
		    json_array_size(held) + ++fresh > XTRK_AUDIT_MAX_CHAINS)
			err = xtrk_error_set(XTRK_EINVALID, "the audit log of %s would be chain %zu received by this store; "
				"it keeps at most %d", origin, json_array_size(held) + fresh, XTRK_AUDIT_MAX_CHAINS);
		json_decref(got);
		xtrk_buf_dispose(&label);
		if (err < 0)
			goto done;
	}
done:
	json_decref(seen);
	json_decref(known);
	json_decref(held);
	xtrk_buf_dispose(&data);
	return err;
}

int xtrk_audit_vet(xtrk_repo *to, json_t *chains, int live)
{
	return vet(to, chains, live, NULL);
}

int xtrk_audit_receive(xtrk_repo *to, json_t *chains, int live)
{
	xtrk_buf path = XTRK_BUF_INIT, data = XTRK_BUF_INIT;
	size_t n = json_array_size(chains);
	int *take = calloc(n + 1, sizeof(*take)), lock = -1, err;

	if (!take)
		return xtrk_error_oom();
	if ((err = lock_log(&lock, to)) < 0)
		goto done;
	/* Vetted again under the lock: another receiver may have taken a longer copy meanwhile. */
	if ((err = vet(to, chains, live, take)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(chains, i);
		if (!take[i])
			continue;
		if ((err = received_path(&path, to, NULL)) < 0)
			goto done;
		if (mkdir(path.ptr, 0755) < 0 && errno != EEXIST) {
			err = xtrk_error_errno("cannot create '%s'", path.ptr);
			goto done;
		}
		if ((err = received_path(&path, to, json_string_value(json_object_get(c, "origin")))) < 0 ||
		    (err = carried_bytes(&data, json_object_get(c, "entries"), "")) < 0 ||
		    (err = xtrk_write_file_atomic(path.ptr, data.ptr, data.size, 0644, XTRK_WRITE_DURABLE)) < 0)
			goto done;
	}
done:
	if (lock >= 0)
		close(lock);
	free(take);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&data);
	return err;
}
