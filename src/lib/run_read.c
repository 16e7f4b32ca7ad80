/* Runs: reading them back and listing them. */
#include "config.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/odb.h"
#include "xtrk/run.h"

/* ---- reading ---- */

static int attach_tags(json_t *run, xtrk_repo *repo, const xtrk_oid *id)
{
	char **names;
	xtrk_oid *targets;
	size_t n;
	json_t *tags = json_array();
	int err = xtrk_refs_tags(&names, &targets, &n, repo);
	if (err < 0) {
		json_decref(tags);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		if (!xtrk_oid_cmp(&targets[i], id))
			json_array_append_new(tags, json_string(names[i]));
	xtrk_refs_tags_free(names, targets, n);
	json_object_set_new(run, "tags", tags);
	return 0;
}

static int parse_run(json_t **out, const xtrk_buf *b, const xtrk_oid *id)
{
	json_error_t je;
	json_t *run = json_loadb(b->ptr, b->size, JSON_REJECT_DUPLICATES, &je);
	char why[512];
	if (!run || xtrk_record_check(run) < 0) {
		snprintf(why, sizeof(why), "%s", run ? xtrk_error_last() : je.text);
		json_decref(run);
		return xtrk_error_set(XTRK_ECORRUPT, "run %s: unreadable record: %s", xtrk_oid_tostr(id), why);
	}
	json_object_set_new(run, "id", json_string(xtrk_oid_tostr(id)));
	*out = run;
	return 0;
}

static int run_read(json_t **out, xtrk_repo *repo, const xtrk_oid *id, int tags)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(repo), id, XTRK_OBJ_RUN)) == 0 &&
	    (err = parse_run(out, &b, id)) == 0 && tags && (err = attach_tags(*out, repo, id)) < 0) {
		json_decref(*out);
		*out = NULL;
	}
	if (err == XTRK_ENOTFOUND)
		err = xtrk_error_set(err, "run %s: object missing (see 'xtrk fsck')",
			xtrk_oid_tostr(id));
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_run_read(json_t **out, xtrk_repo *repo, const xtrk_oid *id)
{
	return run_read(out, repo, id, 1);
}

int xtrk_run_read_record(json_t **out, xtrk_repo *repo, const xtrk_oid *id)
{
	return run_read(out, repo, id, 0);
}

static int cmp_items(const void *a, const void *b)
{
	const xtrk_run_item *x = a, *y = b;
	int c = strcmp(json_string_value(json_object_get(y->run, "started")),
		json_string_value(json_object_get(x->run, "started")));
	return c ? c : xtrk_oid_cmp(&x->id, &y->id);
}

int xtrk_runs_list(xtrk_run_item **out, size_t *count, xtrk_repo *repo, const char *experiment)
{
	xtrk_run_ref *refs;
	xtrk_run_item *items = NULL;
	xtrk_buf b = XTRK_BUF_INIT;
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t n, ntags = 0, got = 0;
	int err;

	*out = NULL;
	*count = 0;
	if ((err = xtrk_refs_list_runs(&refs, &n, repo, experiment)) < 0)
		return err;
	if ((err = xtrk_refs_tags(&names, &targets, &ntags, repo)) < 0)
		goto done;
	if (n && !(items = calloc(n, sizeof(*items)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *tags;
		if ((err = run_read(&items[got].run, repo, &refs[i].run, 0)) == XTRK_ECORRUPT || err == XTRK_ENOTFOUND) {
			/* One run that cannot be read must not hide the others: named, and left out. */
			xtrk_warning_add("%s (experiment '%s'): left out ('xtrk rm' removes it)", xtrk_error_last(),
				refs[i].experiment);
			xtrk_error_clear();
			err = 0;
			continue;
		}
		if (err < 0)
			goto done;
		items[got].id = refs[i].run;
		tags = json_array();
		for (size_t t = 0; t < ntags; t++)
			if (!xtrk_oid_cmp(&targets[t], &refs[i].run))
				json_array_append_new(tags, json_string(names[t]));
		json_object_set_new(items[got].run, "tags", tags);
		got++;
	}
	if (got)
		xtrk_sort(items, got, sizeof(*items), cmp_items);
done:
	xtrk_refs_tags_free(names, targets, ntags);
	xtrk_buf_dispose(&b);
	free(refs);
	if (err < 0) {
		xtrk_runs_free(items, got);
		return err;
	}
	*out = items;
	*count = got;
	return 0;
}

void xtrk_runs_free(xtrk_run_item *items, size_t count)
{
	for (size_t i = 0; i < count && items; i++)
		json_decref(items[i].run);
	free(items);
}

/* ---- logs ---- */

int xtrk_run_log_id(xtrk_oid *out, xtrk_repo *repo, json_t *run, xtrk_run_log which)
{
	const char *field = which == XTRK_RUN_LOG_STDERR ? "stderr" : "stdout";
	const char *rid = xtrk_record_str(run, "id") ? xtrk_record_str(run, "id") : "?";
	json_t *logs = json_object_get(run, XTRK_REC_LOGS);
	const char *id = xtrk_record_str(logs, field);
	xtrk_otype type;
	uint64_t size;
	int err;

	if (!json_is_object(logs) || (!id && !json_is_string(json_object_get(logs, which == XTRK_RUN_LOG_STDERR ?
	    "stdout" : "stderr"))))
		return xtrk_error_set(XTRK_ENOTFOUND, "run %s has no logs: only runs made with 'xtrk run' keep the "
			"command's output", rid);
	if (!id)
		return xtrk_error_set(XTRK_ENOTFOUND, "run %s has no %s log: the command's %s could not be kept",
			rid, field, field);
	if (xtrk_oid_parse(out, id) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "run %s: logs.%s is not an object ID", rid, field);
	if ((err = xtrk_odb_stat(&size, &type, xtrk_repo_odb(repo), out)) < 0) {
		if (err == XTRK_ENOTFOUND)
			return xtrk_error_set(err, "run %s: its %s log %s is not in this store (left behind when the "
				"run was copied?)", rid, field, id);
		return err;
	}
	if (type != XTRK_OBJ_BLOB)
		return xtrk_error_set(XTRK_ECORRUPT, "run %s: logs.%s names a %s, not a log", rid, field,
			xtrk_otype_name(type));
	return 0;
}

int xtrk_run_log_tail(xtrk_buf *out, xtrk_repo *repo, json_t *run, xtrk_run_log which, size_t lines,
	size_t max_bytes)
{
	xtrk_odb_stream *st = NULL;
	xtrk_oid id;
	char chunk[65536];
	size_t n, start;
	int err;

	xtrk_buf_clear(out);
	if ((err = xtrk_run_log_id(&id, repo, run, which)) < 0 ||
	    (err = xtrk_odb_stream_open(&st, xtrk_repo_odb(repo), &id)) < 0)
		goto done;
	for (;;) {
		if ((err = xtrk_odb_stream_read(st, chunk, sizeof(chunk), &n)) < 0)
			goto done;
		if (!n)
			break;
		if (xtrk_buf_put(out, chunk, n) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		if (out->size > 2 * max_bytes + sizeof(chunk)) { /* keep the last max_bytes */
			memmove(out->ptr, out->ptr + out->size - max_bytes, max_bytes);
			xtrk_buf_truncate(out, max_bytes);
		}
	}
	/* The last `lines` lines: back from the end (a final newline ends the last line, not a new one). */
	start = out->size > max_bytes ? out->size - max_bytes : 0;
	n = out->size;
	if (n > start && out->ptr[n - 1] == '\n')
		n--;
	for (size_t seen = 0; n > start; n--) {
		if (out->ptr[n - 1] == '\n' && ++seen == lines)
			break;
	}
	if (n) {
		memmove(out->ptr, out->ptr + n, out->size - n);
		xtrk_buf_truncate(out, out->size - n);
	}
done:
	xtrk_odb_stream_free(st);
	if (err < 0)
		xtrk_buf_clear(out);
	return err;
}
