/* The one check of a run record's shape (see xtrk/record.h). */
#include "config.h"
#include <string.h>

#include "xtrk/errors.h"
#include "xtrk/oid.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"

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
				char why[256];
				xtrk_tag_name_refuse(json_is_string(t) ? json_string_value(t) : "?");
				snprintf(why, sizeof(why), "%s", xtrk_error_last());
				return xtrk_error_set(XTRK_ECORRUPT, "malformed run record: 'tags': %s", why);
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
