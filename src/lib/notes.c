/* Appended notes: objects named by refs/notes/<run>/<note> (see xtrk/notes.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/capture.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/odb.h"
#include "xtrk/oidset.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"
#include "runrefs.h"
#include "utf8.h"

/* ---- the text rule ---- */

/* The rule for one line of text (author) or many (text): 0, or the offending offset + 1 in `*at`. */
static const char *text_problem(const char *text, size_t len, int multiline, size_t *at)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		unsigned long cp;
		size_t k = xtrk_utf8_seq(s + i, len - i, &cp);
		*at = i;
		if (!k)
			return "a byte that is not UTF-8";
		if (cp == 0)
			return "a NUL byte";
		if ((cp < 0x20 && !(multiline && (cp == '\n' || cp == '\t'))) || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return "a control character";
		i += k;
	}
	return NULL;
}

int xtrk_note_text_check(const char *text, size_t len)
{
	const char *why;
	size_t at, line = 1;
	if (len == 0)
		return xtrk_error_set(XTRK_EINVALID, "a note needs some text");
	if (len > XTRK_NOTE_MAX_TEXT)
		return xtrk_error_set(XTRK_EINVALID, "the note is %zu bytes; a note holds at most %d bytes (64 KiB)", len,
			XTRK_NOTE_MAX_TEXT);
	if (!(why = text_problem(text, len, 1, &at)))
		return 0;
	for (size_t i = 0; i < at; i++)
		line += text[i] == '\n';
	return xtrk_error_set(XTRK_EINVALID,
		"the note holds %s (byte 0x%02x at offset %zu, line %zu); only text, newlines and tabs are kept", why,
		(unsigned char)text[at], at, line);
}

/* ---- the object ---- */

static int time_valid(const char *t)
{
	/* YYYY-MM-DDTHH:MM:SS.uuuuuuZ, as xtrk_format_time writes it */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	if (strlen(t) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != shape[i])
			return 0;
	return 1;
}

static json_t *note_object(const char *author, const char *run, const char *text, const char *time)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "author", author, "run", run, "text", text, "time", time);
}

void xtrk_note_dispose(xtrk_note *note)
{
	if (!note)
		return;
	free(note->text);
	free(note->author);
	note->text = note->author = NULL;
}

int xtrk_note_parse(xtrk_note *out, const xtrk_oid *id, const xtrk_oid *run, const char *data, size_t len)
{
	json_t *j = NULL;
	json_error_t je;
	const char *text, *author, *time, *r, *why = NULL;
	char *again = NULL;
	size_t at;
	xtrk_oid named;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->id = *id;
	if (len > XTRK_NOTE_MAX_OBJECT)
		why = "is larger than any note";
	else if (!(j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
		why = "is not JSON";
	else if (!json_is_object(j) || json_object_size(j) != 4 || !(text = json_string_value(json_object_get(j, "text"))) ||
		 !(author = json_string_value(json_object_get(j, "author"))) ||
		 !(time = json_string_value(json_object_get(j, "time"))) ||
		 !(r = json_string_value(json_object_get(j, "run"))))
		why = "is not a note (author, run, text and time)";
	else if (xtrk_oid_parse(&named, r) < 0 || strlen(r) != XTRK_OID_HEXSZ || xtrk_oid_cmp(&named, run))
		why = "belongs to another run";
	else if (xtrk_note_text_check(text, json_string_length(json_object_get(j, "text"))) < 0)
		why = "has text that is not a note's";
	else if (!*author || strlen(author) > XTRK_NOTE_MAX_AUTHOR || text_problem(author, strlen(author), 0, &at))
		why = "has an author that is not one line of text";
	else if (!time_valid(time))
		why = "has no valid time";
	else if (!(again = xtrk_json_dumps(j, XTRK_JSON_STORE)))
		err = xtrk_error_oom();
	else if (strlen(again) != len || memcmp(again, data, len))
		why = "is not in the form xtrk writes (compact, keys sorted)";
	else if (!(out->text = strdup(text)) || !(out->author = strdup(author)))
		err = xtrk_error_oom();
	else
		snprintf(out->time, sizeof(out->time), "%s", time);
	if (why)
		err = xtrk_error_set(XTRK_ECORRUPT, "note %s of run %s %s", xtrk_oid_tostr(id), xtrk_oid_tostr(run), why);
	if (err < 0)
		xtrk_note_dispose(out);
	free(again);
	json_decref(j);
	return err;
}

/* Read and check one note of `run` from the store. */
static int note_read(xtrk_note *out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *id)
{
	xtrk_buf b = XTRK_BUF_INIT;
	uint64_t size;
	int err;
	memset(out, 0, sizeof(*out));
	if ((err = xtrk_odb_stat(&size, NULL, xtrk_repo_odb(repo), id)) < 0)
		return xtrk_error_set(err, "note %s of run %s is not in the store", xtrk_oid_tostr(id), xtrk_oid_tostr(run));
	if (size > XTRK_NOTE_MAX_OBJECT) /* not read into memory at all */
		return xtrk_error_set(XTRK_ECORRUPT, "note %s of run %s is larger than any note (%llu bytes)",
			xtrk_oid_tostr(id), xtrk_oid_tostr(run), (unsigned long long)size);
	if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(repo), id, XTRK_OBJ_BLOB)) == 0)
		err = xtrk_note_parse(out, id, run, b.ptr ? b.ptr : "", b.size);
	else
		err = xtrk_error_set(err, "note %s of run %s: %s", xtrk_oid_tostr(id), xtrk_oid_tostr(run), xtrk_error_last());
	xtrk_buf_dispose(&b);
	return err;
}

/* ---- refs ---- */

/* The note IDs filed under refs/notes/<run>/ (names alone: each is checked when its object is read). */
static int note_cmp(const void *a, const void *b)
{
	const xtrk_note *x = a, *y = b;
	int c = strcmp(x->time, y->time);
	return c ? c : xtrk_oid_cmp(&x->id, &y->id);
}

void xtrk_notes_free(xtrk_note *notes, size_t count)
{
	for (size_t i = 0; notes && i < count; i++)
		xtrk_note_dispose(&notes[i]);
	free(notes);
}

int xtrk_notes_list(xtrk_note **out, size_t *count, xtrk_repo *repo, const xtrk_oid *run, int lenient)
{
	xtrk_oid *ids;
	xtrk_note *notes = NULL;
	size_t n, got = 0;
	int err;

	*out = NULL;
	*count = 0;
	if ((err = runrefs_ids(&ids, &n, repo, "notes", run, "notes")) < 0 || n == 0)
		return err;
	if (n > XTRK_NOTES_MAX_PER_RUN) {
		if (!lenient) {
			free(ids);
			return xtrk_error_set(XTRK_ECORRUPT, "run %s has %zu notes; a run holds at most %d",
				xtrk_oid_tostr(run), n, XTRK_NOTES_MAX_PER_RUN);
		}
		xtrk_warning_add("run %s has %zu notes; only %d are read (see 'xtrk fsck')", xtrk_oid_tostr(run), n,
			XTRK_NOTES_MAX_PER_RUN);
		n = XTRK_NOTES_MAX_PER_RUN;
	}
	if (!(notes = calloc(n, sizeof(*notes)))) {
		free(ids);
		return xtrk_error_oom();
	}
	for (size_t i = 0; i < n; i++) {
		if ((err = note_read(&notes[got], repo, run, &ids[i])) == 0) {
			got++;
			continue;
		}
		if (!lenient || err == XTRK_ERROR)
			break;
		xtrk_warning_add("%s; skipped (see 'xtrk fsck')", xtrk_error_last());
		xtrk_error_clear();
		err = 0;
	}
	free(ids);
	if (err < 0) {
		xtrk_notes_free(notes, got);
		return err;
	}
	xtrk_sort(notes, got, sizeof(*notes), note_cmp);
	*out = notes;
	*count = got;
	return 0;
}

json_t *xtrk_notes_json(const xtrk_note *notes, size_t count, const xtrk_oid *run)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < count; i++) {
		json_t *o = note_object(notes[i].author, xtrk_oid_tostr(run), notes[i].text, notes[i].time);
		if (!o || json_object_set_new(o, "id", json_string(xtrk_oid_tostr(&notes[i].id))) < 0 ||
		    json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int xtrk_notes_all(json_t **out, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	json_t *all = json_object();
	DIR *d;
	struct dirent *de;
	int err = 0;

	*out = NULL;
	if (!all)
		return xtrk_error_oom();
	xtrk_buf_printf(&p, "%s/refs/notes", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p)) {
		json_decref(all);
		return xtrk_error_oom();
	}
	if ((d = opendir(p.ptr))) {
		while (err == 0 && (de = readdir(d))) {
			xtrk_oid run;
			xtrk_note *notes;
			size_t n;
			json_t *arr;
			if (strlen(de->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&run, de->d_name) < 0)
				continue;
			if ((err = xtrk_notes_list(&notes, &n, repo, &run, 1)) < 0)
				break;
			if (n && (!(arr = xtrk_notes_json(notes, n, &run)) || json_object_set_new(all, de->d_name, arr) < 0))
				err = xtrk_error_oom();
			xtrk_notes_free(notes, n);
		}
		closedir(d);
	} else if (errno != ENOENT) {
		err = xtrk_error_errno("cannot read '%s'", p.ptr);
	}
	xtrk_buf_dispose(&p);
	if (err < 0)
		json_decref(all);
	else
		*out = all;
	return err;
}

int xtrk_notes_attach(json_t *run, json_t *appended)
{
	json_t *texts = json_object_get(run, "notes"), *copy, *n;
	size_t i;
	if (!appended || !json_array_size(appended))
		return 0;
	copy = json_is_array(texts) ? json_copy(texts) : json_array();
	if (!copy)
		return xtrk_error_oom();
	json_array_foreach(appended, i, n)
		if (json_array_append(copy, json_object_get(n, "text")) < 0) {
			json_decref(copy);
			return xtrk_error_oom();
		}
	if (json_object_set_new(run, "notes", copy) < 0 || json_object_set(run, "appended_notes", appended) < 0)
		return xtrk_error_oom();
	return 0;
}

int xtrk_notes_attach_stored(json_t *run, xtrk_repo *repo, const xtrk_oid *id)
{
	xtrk_note *notes;
	json_t *arr;
	size_t n;
	int err = xtrk_notes_list(&notes, &n, repo, id, 1);
	if (err < 0 || n == 0)
		return err;
	arr = xtrk_notes_json(notes, n, id);
	xtrk_notes_free(notes, n);
	err = arr ? xtrk_notes_attach(run, arr) : xtrk_error_oom();
	json_decref(arr);
	return err;
}

int xtrk_note_from_json(xtrk_oid *id, xtrk_buf *bytes, const xtrk_oid *run, json_t *entry)
{
	json_t *copy;
	char *text;
	xtrk_oid claimed;
	xtrk_note note = { 0 };
	const char *hex = json_string_value(json_object_get(entry, "id"));
	int err;

	xtrk_buf_clear(bytes);
	if (!json_is_object(entry) || !hex || strlen(hex) != XTRK_OID_HEXSZ || xtrk_oid_parse(&claimed, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "a note of run %s has no note ID", xtrk_oid_tostr(run));
	if (!(copy = json_copy(entry)))
		return xtrk_error_oom();
	json_object_del(copy, "id");
	text = xtrk_json_dumps(copy, XTRK_JSON_STORE);
	json_decref(copy);
	if (!text)
		return xtrk_error_oom();
	xtrk_oid_hash(id, text, strlen(text));
	if (xtrk_oid_cmp(id, &claimed))
		err = xtrk_error_set(XTRK_ECORRUPT, "note %s of run %s does not hash to its ID", hex, xtrk_oid_tostr(run));
	else if ((err = xtrk_note_parse(&note, id, run, text, strlen(text))) == 0)
		err = xtrk_buf_puts(bytes, text);
	xtrk_note_dispose(&note);
	free(text);
	return err;
}

int xtrk_notes_carry(json_t *entry, xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_note *notes;
	json_t *arr;
	size_t n;
	int err = xtrk_notes_list(&notes, &n, repo, run, 0);
	if (err < 0)
		return xtrk_error_set(err, "%s; run 'xtrk fsck'", xtrk_error_last());
	if (n == 0)
		return 0;
	arr = xtrk_notes_json(notes, n, run);
	xtrk_notes_free(notes, n);
	if (!arr || json_object_set_new(entry, "notes", arr) < 0)
		return xtrk_error_oom();
	return 0;
}

int xtrk_notes_carried(xtrk_oid **ids, size_t *n, json_t *notes, const xtrk_oid *run, xtrk_txn *txn)
{
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_buf bytes = XTRK_BUF_INIT;
	json_t *e;
	size_t i;
	int err = 0;

	*ids = NULL;
	*n = 0;
	if (!notes)
		return 0;
	if (!json_is_array(notes))
		return xtrk_error_set(XTRK_ECORRUPT, "the notes of run %s are not a list", xtrk_oid_tostr(run));
	if (json_array_size(notes) > XTRK_NOTES_MAX_PER_RUN)
		return xtrk_error_set(XTRK_ECORRUPT, "run %s carries %zu notes; a run holds at most %d", xtrk_oid_tostr(run),
			json_array_size(notes), XTRK_NOTES_MAX_PER_RUN);
	if (!(*ids = calloc(json_array_size(notes) + 1, sizeof(**ids))))
		return xtrk_error_oom();
	json_array_foreach(notes, i, e) {
		xtrk_oid id, got;
		if ((err = xtrk_note_from_json(&id, &bytes, run, e)) < 0)
			break;
		if ((err = xtrk_oidset_add(&seen, &id)) < 0)
			break;
		if (err == 0) {
			err = xtrk_error_set(XTRK_ECORRUPT, "run %s carries note %s twice", xtrk_oid_tostr(run),
				xtrk_oid_tostr(&id));
			break;
		}
		err = 0;
		if (txn && (err = xtrk_txn_write(&got, txn, XTRK_OBJ_BLOB, bytes.ptr, bytes.size)) < 0)
			break;
		(*ids)[(*n)++] = id;
	}
	xtrk_oidset_dispose(&seen);
	xtrk_buf_dispose(&bytes);
	if (err < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return err;
}

int xtrk_notes_publish(xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *ids, size_t n)
{
	return runrefs_publish(repo, "notes", run, ids, n, XTRK_NOTES_MAX_PER_RUN, "notes");
}

int xtrk_note_add(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const char *text, size_t len)
{
	xtrk_buf author = XTRK_BUF_INIT, clean = XTRK_BUF_INIT;
	xtrk_txn *txn = NULL;
	xtrk_oid id, *have = NULL;
	json_t *obj = NULL;
	char *bytes = NULL, when[40];
	struct timeval tv;
	size_t nhave;
	int err;

	if ((err = xtrk_note_text_check(text, len)) < 0 || (err = xtrk_run_check_listed(repo, run)) < 0)
		return err;
	if ((err = runrefs_ids(&have, &nhave, repo, "notes", run, "notes")) < 0)
		return err;
	free(have);
	if (nhave >= XTRK_NOTES_MAX_PER_RUN)
		return xtrk_error_set(XTRK_EINVALID, "run %s already has %zu notes; a run holds at most %d",
			xtrk_oid_tostr(run), nhave, XTRK_NOTES_MAX_PER_RUN);
	if ((err = xtrk_capture_author(&author, xtrk_repo_workdir(repo))) < 0)
		goto done;
	/* An author from a config file is one short line of text: anything else becomes '?'. */
	for (size_t i = 0; author.ptr && i < author.size && clean.size < XTRK_NOTE_MAX_AUTHOR - 4;) {
		unsigned long cp;
		size_t k = xtrk_utf8_seq((const unsigned char *)author.ptr + i, author.size - i, &cp);
		if (!k || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			xtrk_buf_putc(&clean, '?');
			i += k ? k : 1;
		} else {
			xtrk_buf_put(&clean, author.ptr + i, k);
			i += k;
		}
	}
	if (!clean.size)
		xtrk_buf_puts(&clean, "unknown");
	gettimeofday(&tv, NULL);
	xtrk_format_time(when, (double)tv.tv_sec + (double)tv.tv_usec / 1e6);
	if (xtrk_buf_oom(&clean) || !(obj = note_object(clean.ptr, xtrk_oid_tostr(run), text, when)) ||
	    !(bytes = xtrk_json_dumps(obj, XTRK_JSON_STORE))) {
		err = xtrk_error_oom();
		goto done;
	}
	/* The object durable first, then the ref that names it. */
	if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0 ||
	    (err = xtrk_txn_write(&id, txn, XTRK_OBJ_BLOB, bytes, strlen(bytes))) < 0 || (err = xtrk_txn_commit(txn)) < 0 ||
	    (err = runrefs_add(repo, "notes", run, &id)) < 0)
		goto done;
	{
		json_t *d = json_pack("{s:s, s:s}", "note", xtrk_oid_tostr(&id), "run", xtrk_oid_tostr(run));
		xtrk_audit_note(repo, "note", d);
		json_decref(d);
	}
	if (out)
		*out = id;
done:
	xtrk_txn_free(txn);
	json_decref(obj);
	free(bytes);
	xtrk_buf_dispose(&author);
	xtrk_buf_dispose(&clean);
	return err;
}

int xtrk_notes_copy(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n)
{
	xtrk_txn *txn = NULL;
	xtrk_oid **ids = calloc(n + 1, sizeof(*ids));
	size_t *nids = calloc(n + 1, sizeof(*nids));
	xtrk_buf b = XTRK_BUF_INIT;
	int err = 0;

	if (!ids || !nids) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t r = 0; r < n && err == 0; r++) {
		xtrk_oid *names;
		size_t k;
		if ((err = runrefs_ids(&names, &k, from, "notes", &runs[r], "notes")) < 0 || !k)
			continue;
		if (k > XTRK_NOTES_MAX_PER_RUN) { /* a store that holds more is damaged: no more are read */
			xtrk_warning_add("run %s has %zu notes; only %d are copied", xtrk_oid_tostr(&runs[r]), k,
				XTRK_NOTES_MAX_PER_RUN);
			k = XTRK_NOTES_MAX_PER_RUN;
		}
		if (!(ids[r] = calloc(k, sizeof(**ids)))) {
			free(names);
			err = xtrk_error_oom();
			break;
		}
		for (size_t i = 0; i < k && err == 0; i++) {
			xtrk_note note;
			xtrk_oid got;
			if (xtrk_odb_exists(xtrk_repo_odb(to), &names[i]) && note_read(&note, to, &runs[r], &names[i]) == 0) {
				xtrk_note_dispose(&note);
				ids[r][nids[r]++] = names[i];
				continue;
			}
			xtrk_error_clear();
			/* Read and checked whole on the sending side; a damaged note stays behind. */
			if (note_read(&note, from, &runs[r], &names[i]) < 0) {
				xtrk_warning_add("%s; not copied", xtrk_error_last());
				xtrk_error_clear();
				continue;
			}
			xtrk_note_dispose(&note);
			if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(from), &names[i], XTRK_OBJ_BLOB)) < 0 ||
			    (!txn && (err = xtrk_txn_new(&txn, xtrk_repo_odb(to))) < 0) ||
			    (err = xtrk_txn_write(&got, txn, XTRK_OBJ_BLOB, b.ptr, b.size)) < 0)
				break;
			ids[r][nids[r]++] = got;
		}
		free(names);
	}
	/* Objects first, durably; then the refs that name them. */
	if (err == 0 && txn)
		err = xtrk_txn_commit(txn);
	for (size_t r = 0; r < n && err == 0; r++)
		err = xtrk_notes_publish(to, &runs[r], ids[r], nids[r]);
done:
	for (size_t r = 0; ids && r < n; r++)
		free(ids[r]);
	free(ids);
	free(nids);
	xtrk_txn_free(txn);
	xtrk_buf_dispose(&b);
	return err;
}

size_t xtrk_notes_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload)
{
	xtrk_buf p = XTRK_BUF_INIT, q = XTRK_BUF_INIT, held = XTRK_BUF_INIT, msg = XTRK_BUF_INIT;
	DIR *d, *e;
	struct dirent *de, *fe;
	size_t checked = 0;

	xtrk_buf_printf(&p, "%s/refs/notes", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p) || !(d = opendir(p.ptr))) {
		if (!xtrk_buf_oom(&p) && errno != ENOENT)
			problem(NULL, "refs/notes cannot be read", payload);
		xtrk_buf_dispose(&p);
		return 0;
	}
	while ((de = readdir(d))) {
		xtrk_oid run;
		xtrk_otype type;
		size_t count = 0;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		xtrk_buf_clear(&msg);
		if (strlen(de->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&run, de->d_name) < 0) {
			xtrk_buf_printf(&msg, "refs/notes/%s is not named by a run ID", de->d_name);
			problem(NULL, msg.ptr, payload);
			continue;
		}
		if (xtrk_odb_stat(NULL, &type, xtrk_repo_odb(repo), &run) < 0 || type != XTRK_OBJ_RUN) {
			xtrk_error_clear();
			xtrk_buf_printf(&msg, "refs/notes/%s: notes of a run this store does not have", de->d_name);
			problem(&run, msg.ptr, payload);
			continue;
		}
		xtrk_buf_clear(&q);
		xtrk_buf_printf(&q, "%s/%s", p.ptr, de->d_name);
		if (xtrk_buf_oom(&q) || !(e = opendir(q.ptr))) {
			xtrk_buf_printf(&msg, "refs/notes/%s cannot be read", de->d_name);
			problem(&run, msg.ptr, payload);
			continue;
		}
		while ((fe = readdir(e))) {
			xtrk_oid id, inside;
			xtrk_note note;
			if (!strcmp(fe->d_name, ".") || !strcmp(fe->d_name, ".."))
				continue;
			xtrk_buf_clear(&msg);
			if (strlen(fe->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&id, fe->d_name) < 0) {
				size_t nl = strlen(fe->d_name);
				if (!(nl > 5 && !strcmp(fe->d_name + nl - 5, ".lock"))) {
					xtrk_buf_printf(&msg, "refs/notes/%s/%s is not named by a note ID", de->d_name,
						fe->d_name);
					problem(&run, msg.ptr, payload);
				}
				continue;
			}
			checked++;
			count++;
			xtrk_buf_clear(&held);
			xtrk_buf_printf(&held, "%s/%s", q.ptr, fe->d_name);
			{
				xtrk_buf c = XTRK_BUF_INIT;
				int ok = xtrk_buf_read_file(&c, held.ptr) == 0;
				while (ok && c.size && c.ptr[c.size - 1] == '\n')
					xtrk_buf_truncate(&c, c.size - 1);
				if (!ok || xtrk_oid_parse(&inside, c.ptr ? c.ptr : "") < 0 || xtrk_oid_cmp(&inside, &id)) {
					xtrk_buf_printf(&msg, "refs/notes/%s/%s does not hold the note ID it is named by",
						de->d_name, fe->d_name);
					problem(&run, msg.ptr, payload);
					xtrk_error_clear();
				}
				xtrk_buf_dispose(&c);
			}
			xtrk_buf_clear(&msg);
			if (note_read(&note, repo, &run, &id) < 0) {
				xtrk_buf_puts(&msg, xtrk_error_last());
				problem(&run, msg.ptr, payload);
				xtrk_error_clear();
			} else {
				xtrk_note_dispose(&note);
			}
		}
		closedir(e);
		if (count > XTRK_NOTES_MAX_PER_RUN) {
			xtrk_buf_clear(&msg);
			xtrk_buf_printf(&msg, "run %s has %zu notes; a run holds at most %d", de->d_name, count,
				XTRK_NOTES_MAX_PER_RUN);
			problem(&run, msg.ptr, payload);
		}
	}
	closedir(d);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&q);
	xtrk_buf_dispose(&held);
	xtrk_buf_dispose(&msg);
	return checked;
}
