/* The one check of a run record's shape (see xtrk/record.h). */
#include "config.h"
#include <stdio.h>
#include <string.h>

#include "xtrk/errors.h"
#include "xtrk/oid.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/tree.h"

static int bad(const char *field, const char *why)
{
	return xtrk_error_set(XTRK_ECORRUPT, "malformed run record: '%s' %s", field, why);
}

static int lower_hex_id(const char *s)
{
	if (!s || strlen(s) != XTRK_OID_HEXSZ)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int xtrk_record_timestamp_valid(const char *s)
{
	size_t len, i;
	if (!s || (len = strlen(s)) < 20 || len > 40)
		return 0;
	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
	    !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return 0;
	if (num(s + 5, 2) < 1 || num(s + 5, 2) > 12 || num(s + 8, 2) < 1 || num(s + 8, 2) > 31 || num(s + 11, 2) > 23 ||
	    num(s + 14, 2) > 59 || num(s + 17, 2) > 60)
		return 0;
	i = 19;
	if (s[i] == '.') {
		size_t f = ++i;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return 0;
	}
	return s[i] == 'Z' && s[i + 1] == 0;
}

/* Absent or null, or of the type `is` accepts. */
static int opt(const json_t *o, const char *key, int (*is)(const json_t *))
{
	json_t *v = json_object_get(o, key);
	return !v || json_is_null(v) || is(v);
}

static int is_string(const json_t *v) { return json_is_string(v); }
static int is_object(const json_t *v) { return json_is_object(v); }
static int is_integer(const json_t *v) { return json_is_integer(v); }
static int is_number(const json_t *v) { return json_is_number(v); }
static int is_boolean(const json_t *v) { return json_is_boolean(v); }

static int strings(const json_t *v)
{
	size_t i;
	json_t *e;
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return 0;
	return 1;
}

static int is_strings(const json_t *v) { return strings(v); }

int xtrk_record_check(const json_t *rec)
{
	json_t *r = (json_t *)rec, *v, *src;
	const char *s;
	int err;

	/* The structure every walker of a record needs: IDs, paths, names. */
	if ((err = xtrk_run_validate(r)) < 0)
		return err;
	if ((v = json_object_get(r, "format")) && (!json_is_integer(v) || json_integer_value(v) < 1))
		return bad("format", "is not a format number");
	if ((v = json_object_get(r, "id")) && !lower_hex_id(json_string_value(v)))
		return bad("id", "is not a run ID");
	if ((v = json_object_get(r, "parent")) && !json_is_null(v) && !lower_hex_id(json_string_value(v)))
		return bad("parent", "is not a run ID (32 hex digits)");
	if (!(v = json_object_get(r, "started")))
		return bad("started", "is missing");
	if (!xtrk_record_timestamp_valid(json_string_value(v)))
		return bad("started", "is not a timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)");
	if ((v = json_object_get(r, "ended")) && !json_is_null(v) && !xtrk_record_timestamp_valid(json_string_value(v)))
		return bad("ended", "is not a timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)");
	if (!(v = json_object_get(r, "status")))
		return bad("status", "is missing");
	if (!(s = json_string_value(v)) || (strcmp(s, "succeeded") && strcmp(s, "failed")))
		return bad("status", "is not \"succeeded\" or \"failed\"");
	if (!opt(r, "message", is_string))
		return bad("message", "is not a string");
	if (!opt(r, "author", is_string))
		return bad("author", "is not a string");
	if (!opt(r, "error", is_string))
		return bad("error", "is not a string");
	if (!opt(r, "duration_s", is_number))
		return bad("duration_s", "is not a number");
	if (!opt(r, "exit_code", is_integer))
		return bad("exit_code", "is not a number");
	if (!opt(r, "seed", is_integer))
		return bad("seed", "is not an integer");
	if (!opt(r, "params", is_object))
		return bad("params", "is not an object");
	if (!opt(r, "metrics", is_object))
		return bad("metrics", "is not an object");
	if (!opt(r, "params_overridden", is_object))
		return bad("params_overridden", "is not an object");
	if (!opt(r, "outputs_not_attached", is_strings))
		return bad("outputs_not_attached", "is not a list of paths");
	if (!opt(r, "env", is_object))
		return bad("env", "is not an object");
	if (!opt(r, "resources", is_object))
		return bad("resources", "is not an object");
	if (!opt(r, "notes", is_strings))
		return bad("notes", "is not a list of strings");
	if (!opt(r, "command", is_object) || !opt(json_object_get(r, "command"), "argv", is_strings))
		return bad("command", "is not a command ({argv, ...})");
	if ((v = json_object_get(r, "tags"))) {
		size_t i;
		json_t *t;
		json_array_foreach(v, i, t)
			if (!json_is_string(t) || !xtrk_tag_name_valid(json_string_value(t))) {
				xtrk_tag_name_refuse(json_is_string(t) ? json_string_value(t) : "?");
				return xtrk_error_set(XTRK_ECORRUPT, "malformed run record: 'tags': %s", xtrk_error_last());
			}
	}
	if ((src = json_object_get(r, "source")) && json_is_object(src)) {
		if (!opt(src, "repository", is_string))
			return bad("source.repository", "is not a string");
		if (!opt(src, "branch", is_string))
			return bad("source.branch", "is not a string");
		if (!opt(src, "dirty", is_boolean))
			return bad("source.dirty", "is not true or false");
		if (!opt(src, "untracked", is_strings))
			return bad("source.untracked", "is not a list of paths");
		if (!opt(src, "remotes", is_object))
			return bad("source.remotes", "is not an object");
	}
	return 0;
}

/* ---- the record's fields, its object groups, and every object it references ---- */

const char *const xtrk_record_groups[XTRK_RECORD_NGROUPS] = { XTRK_REC_DATASETS, XTRK_REC_MODELS,
	XTRK_REC_ARTIFACTS };

const char *xtrk_record_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void xtrk_record_shell_word(xtrk_buf *b, const char *w)
{
	if (!w)
		w = "";
	if (*w && !w[strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")]) {
		xtrk_buf_puts(b, w);
		return;
	}
	xtrk_buf_putc(b, '\'');
	for (; *w; w++)
		*w == '\'' ? xtrk_buf_puts(b, "'\\''") : xtrk_buf_putc(b, *w);
	xtrk_buf_putc(b, '\'');
}

void xtrk_record_shell_line(xtrk_buf *b, const json_t *argv)
{
	size_t i;
	json_t *a;
	json_array_foreach(argv, i, a) {
		if (i)
			xtrk_buf_putc(b, ' ');
		xtrk_record_shell_word(b, json_string_value(a));
	}
}

static json_t *of_type(json_t *v, json_type type)
{
	return v && json_typeof(v) == type ? v : NULL;
}

void xtrk_record_view_get(xtrk_record_view *view, json_t *rec)
{
	memset(view, 0, sizeof(*view));
	view->experiment = xtrk_record_str(rec, XTRK_REC_EXPERIMENT);
	view->status = xtrk_record_str(rec, XTRK_REC_STATUS);
	view->started = xtrk_record_str(rec, XTRK_REC_STARTED);
	view->ended = xtrk_record_str(rec, XTRK_REC_ENDED);
	view->parent = xtrk_record_str(rec, XTRK_REC_PARENT);
	view->message = xtrk_record_str(rec, XTRK_REC_MESSAGE);
	view->source = of_type(json_object_get(rec, XTRK_REC_SOURCE), JSON_OBJECT);
	view->commit = xtrk_record_str(view->source, XTRK_REC_COMMIT);
	view->patch = xtrk_record_str(view->source, XTRK_REC_PATCH);
	view->untracked = of_type(json_object_get(view->source, XTRK_REC_UNTRACKED_CONTENT), JSON_OBJECT);
	view->scripts = of_type(json_object_get(view->source, XTRK_REC_SCRIPTS), JSON_ARRAY);
	view->logs = of_type(json_object_get(rec, XTRK_REC_LOGS), JSON_OBJECT);
	view->series = xtrk_record_str(rec, XTRK_REC_SERIES);
	view->params = of_type(json_object_get(rec, XTRK_REC_PARAMS), JSON_OBJECT);
	view->metrics = of_type(json_object_get(rec, XTRK_REC_METRICS), JSON_OBJECT);
	view->tags = of_type(json_object_get(rec, XTRK_REC_TAGS), JSON_ARRAY);
	view->params_files = of_type(json_object_get(rec, XTRK_REC_PARAMS_FILES), JSON_ARRAY);
	for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++)
		view->groups[g] = of_type(json_object_get(rec, xtrk_record_groups[g]), JSON_ARRAY);
}

/* The size a record entry gives its file, if it gives one. */
static uint64_t entry_bytes(json_t *e)
{
	json_t *b = json_object_get(e, XTRK_REC_BYTES);
	return json_is_integer(b) && json_integer_value(b) >= 0 ? (uint64_t)json_integer_value(b)
								 : XTRK_RECORD_SIZE_UNKNOWN;
}

static int walk_tree(const xtrk_record_visitor *v, const xtrk_record_object *tree, int depth)
{
	xtrk_tree *t = NULL;
	int err;

	if ((err = v->read_tree(&t, tree, depth, v->payload)) != 0)
		return err < 0 ? err : 0;
	for (size_t i = 0; i < t->count && err >= 0; i++) {
		const xtrk_tree_entry *e = &t->entries[i];
		char hex[XTRK_OID_HEXSZ + 1];
		xtrk_record_object o = *tree;
		xtrk_oid_fmt(hex, &e->id);
		o.hex = hex;
		o.id = e->id;
		o.id_ok = 1;
		o.in_tree = 1;
		o.type = e->kind == XTRK_ENTRY_TREE ? XTRK_OBJ_TREE : XTRK_OBJ_BLOB;
		o.bytes = e->kind == XTRK_ENTRY_TREE ? XTRK_RECORD_SIZE_UNKNOWN : e->bytes;
		if ((err = v->object(&o, v->payload)) == 1 && o.type == XTRK_OBJ_TREE)
			err = walk_tree(v, &o, depth + 1);
	}
	xtrk_tree_free(t);
	return err < 0 ? err : 0;
}

/* One object named by the record; `hex` NULL is skipped unless `always`. */
static int one(const xtrk_record_visitor *v, xtrk_record_role role, const char *hex, xtrk_otype type,
	uint64_t bytes, const char *group, const char *what, int always)
{
	xtrk_record_object o;
	int err;

	if (!hex && !always)
		return 0;
	memset(&o, 0, sizeof(o));
	o.role = role;
	o.hex = hex;
	o.id_ok = hex && xtrk_oid_parse(&o.id, hex) == 0;
	o.type = type;
	o.bytes = bytes;
	o.is_data = role == XTRK_RECORD_DATA;
	o.group = group;
	o.what = what;
	if ((err = v->object(&o, v->payload)) < 0)
		return err;
	if (err == 1 && type == XTRK_OBJ_TREE && o.id_ok && v->read_tree)
		return walk_tree(v, &o, 0);
	return 0;
}

int xtrk_record_foreach_object(json_t *rec, const xtrk_oid *run_id, const xtrk_record_visitor *v)
{
	xtrk_record_view r;
	json_t *e;
	size_t i;
	int err;

	xtrk_record_view_get(&r, rec);
	if (run_id) {
		xtrk_record_object o;
		memset(&o, 0, sizeof(o));
		o.role = XTRK_RECORD_RUN;
		o.id = *run_id;
		o.id_ok = 1;
		o.type = XTRK_OBJ_RUN;
		o.bytes = XTRK_RECORD_SIZE_UNKNOWN;
		o.what = "run";
		if ((err = v->object(&o, v->payload)) < 0)
			return err;
	}
	if ((err = one(v, XTRK_RECORD_PATCH, r.patch, XTRK_OBJ_BLOB, XTRK_RECORD_SIZE_UNKNOWN, NULL,
		     "source patch", 0)) < 0 ||
	    (err = one(v, XTRK_RECORD_SERIES, r.series, XTRK_OBJ_BLOB, XTRK_RECORD_SIZE_UNKNOWN, NULL,
		     "metric series", 0)) < 0 ||
	    (err = one(v, XTRK_RECORD_STDOUT, xtrk_record_str(r.logs, "stdout"), XTRK_OBJ_BLOB,
		     XTRK_RECORD_SIZE_UNKNOWN, NULL, "stdout log", 0)) < 0 ||
	    (err = one(v, XTRK_RECORD_STDERR, xtrk_record_str(r.logs, "stderr"), XTRK_OBJ_BLOB,
		     XTRK_RECORD_SIZE_UNKNOWN, NULL, "stderr log", 0)) < 0)
		return err;
	json_array_foreach(r.params_files, i, e)
		if ((err = one(v, XTRK_RECORD_PARAMS_FILE, xtrk_record_str(e, XTRK_REC_ID), XTRK_OBJ_BLOB,
			     XTRK_RECORD_SIZE_UNKNOWN, NULL, "params file", 0)) < 0)
			return err;
	json_array_foreach(r.scripts, i, e)
		if ((err = one(v, XTRK_RECORD_SCRIPT, xtrk_record_str(e, XTRK_REC_ID), XTRK_OBJ_BLOB, entry_bytes(e),
			     NULL, "script from outside the repository", 0)) < 0)
			return err;
	/* The untracked files are source, not data: never left out, and walked before the data. */
	if ((err = one(v, XTRK_RECORD_UNTRACKED, xtrk_record_str(r.untracked, XTRK_REC_ID), XTRK_OBJ_TREE,
		     XTRK_RECORD_SIZE_UNKNOWN, NULL, "untracked source files", 0)) < 0)
		return err;
	for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++) {
		json_array_foreach(r.groups[g], i, e) {
			const char *kind = xtrk_record_str(e, XTRK_REC_KIND), *name = xtrk_record_str(e, XTRK_REC_NAME);
			int tree = kind && !strcmp(kind, "tree");
			char what[300];
			snprintf(what, sizeof(what), "%.*s '%.200s'", (int)strlen(xtrk_record_groups[g]) - 1,
				xtrk_record_groups[g], name ? name : "?");
			if ((err = one(v, XTRK_RECORD_DATA, xtrk_record_str(e, XTRK_REC_ID),
				     tree ? XTRK_OBJ_TREE : XTRK_OBJ_BLOB, tree ? XTRK_RECORD_SIZE_UNKNOWN : entry_bytes(e),
				     xtrk_record_groups[g], what, 1)) < 0)
				return err;
			snprintf(what, sizeof(what), "profile of %.*s '%.200s'", (int)strlen(xtrk_record_groups[g]) - 1,
				xtrk_record_groups[g], name ? name : "?");
			if ((err = one(v, XTRK_RECORD_PROFILE, xtrk_record_str(e, XTRK_REC_PROFILE), XTRK_OBJ_BLOB,
				     XTRK_RECORD_SIZE_UNKNOWN, NULL, what, 0)) < 0)
				return err;
		}
	}
	return 0;
}
