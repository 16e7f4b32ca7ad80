/*
 * The report's per-run details: what the two-run comparison and the lineage graph show
 * (report_detail.h).  Patches and package lists, the large parts, are stored once per distinct
 * content in tables at the top of the page's data, and each row names its entry.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/odb.h"
#include "xtrk/params.h"
#include "xtrk/record.h"
#include "report_detail.h"
#include "utf8.h"

/* The row's package list until report_detail_finish moves it into data.packages. */
#define PACKAGES_ASIDE "packages_aside"

static const char *str_or_empty(json_t *o, const char *key)
{
	const char *s = xtrk_record_str(o, key);
	return s ? s : "";
}

/* A text of the environment's parts, or null when none is recorded. */
static json_t *text_or_null(xtrk_buf *b)
{
	return b->size ? json_stringn(b->ptr, b->size) : json_null();
}

/* The environment in the few lines the comparison shows (the fields xtrk show and the run book print). */
static json_t *env_summary(json_t *env, json_t **packages)
{
	json_t *os = json_object_get(env, "os"), *cpu = json_object_get(env, "cpu"), *py = json_object_get(env, "python"),
	       *gpus = json_object_get(env, "gpus"), *g, *out = NULL;
	xtrk_buf b = XTRK_BUF_INIT;
	size_t i;

	*packages = NULL;
	if (!json_is_object(env))
		return json_object();
	if (!(out = json_object()))
		return NULL;
	if (json_is_object(os)) {
		const char *distro = str_or_empty(os, "distro"), *version = str_or_empty(os, "distro_version");
		xtrk_buf_printf(&b, "%s%s%s", distro, *version && !strstr(distro, version) ? " " : "",
			*version && !strstr(distro, version) ? version : "");
		if (*str_or_empty(os, "name") || *str_or_empty(os, "kernel"))
			xtrk_buf_printf(&b, "%s%s %s %s", b.size ? ", " : "", str_or_empty(os, "name"), str_or_empty(os, "kernel"),
				str_or_empty(os, "machine"));
	}
	json_object_set_new(out, "os", text_or_null(&b));
	xtrk_buf_clear(&b);
	if (json_is_object(cpu)) {
		xtrk_buf_puts(&b, str_or_empty(cpu, "model"));
		if (json_is_integer(json_object_get(cpu, "cores")))
			xtrk_buf_printf(&b, " x %lld", (long long)json_integer_value(json_object_get(cpu, "cores")));
	}
	json_object_set_new(out, "cpu", text_or_null(&b));
	xtrk_buf_clear(&b);
	json_array_foreach(gpus, i, g) {
		xtrk_buf_printf(&b, "%s%s", i ? "; " : "", str_or_empty(g, "name"));
		if (*str_or_empty(g, "driver"))
			xtrk_buf_printf(&b, ", driver %s", str_or_empty(g, "driver"));
		if (*str_or_empty(g, "cuda"))
			xtrk_buf_printf(&b, ", CUDA %s", str_or_empty(g, "cuda"));
	}
	json_object_set_new(out, "gpus", json_is_array(gpus) && !json_array_size(gpus) ? json_string("none found")
		: text_or_null(&b));
	xtrk_buf_clear(&b);
	if (json_is_object(py))
		xtrk_buf_printf(&b, "%s%s%s", str_or_empty(py, "version"), *str_or_empty(py, "implementation") ? " " : "",
			str_or_empty(py, "implementation"));
	json_object_set_new(out, "python", text_or_null(&b));
	if (json_is_object(py) && json_is_object(json_object_get(py, "packages"))) {
		*packages = json_object_get(py, "packages");
		json_object_set_new(out, "packages", json_integer((json_int_t)json_object_size(*packages)));
	} else {
		json_object_set_new(out, "packages", json_null());
	}
	if (json_is_integer(json_object_get(env, "memory_bytes")))
		json_object_set(out, "memory", json_object_get(env, "memory_bytes"));
	else
		json_object_set_new(out, "memory", json_null());
	json_object_set_new(out, "host", xtrk_record_str(env, "host") ? json_string(xtrk_record_str(env, "host"))
		: json_null());
	json_object_set_new(out, "container", xtrk_record_str(env, "container")
		? json_string(xtrk_record_str(env, "container")) : json_null());
	json_object_set_new(out, "xtrk", xtrk_record_str(env, "xtrk") ? json_string(xtrk_record_str(env, "xtrk"))
		: json_null());
	if (xtrk_buf_oom(&b)) {
		json_decref(out);
		out = NULL;
	}
	xtrk_buf_dispose(&b);
	return out;
}

static json_t *field_or_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return v ? json_incref(v) : json_null();
}

/* Datasets, models and artifacts, one list: what each entry is and its content's ID. */
static json_t *data_entries(const xtrk_record_view *v)
{
	json_t *out = json_array(), *e;
	size_t i;
	for (size_t g = 0; out && g < XTRK_RECORD_NGROUPS; g++)
		json_array_foreach(v->groups[g], i, e) {
			json_t *d = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "group", xtrk_record_groups[g], "name",
				field_or_null(e, XTRK_REC_NAME), "path", field_or_null(e, XTRK_REC_PATH), "kind",
				field_or_null(e, XTRK_REC_KIND), "id", field_or_null(e, XTRK_REC_ID), "bytes",
				field_or_null(e, XTRK_REC_BYTES));
			if (!d || json_array_append_new(out, d) < 0) {
				json_decref(out);
				return NULL;
			}
		}
	return out;
}

int report_run_detail(json_t *row, xtrk_repo *repo, json_t *rec)
{
	xtrk_record_view v;
	json_t *parents = json_array(), *via = json_array(), *detail = NULL, *env = NULL, *packages = NULL;
	(void)repo;

	xtrk_record_view_get(&v, rec);
	if (!parents || !via)
		goto oom;
	if (v.parent && (json_array_append_new(parents, json_string(v.parent)) < 0 ||
			 json_array_append_new(via, json_string("parent")) < 0))
		goto oom;
	if (!(env = env_summary(json_object_get(rec, "env"), &packages)))
		goto oom;
	detail = json_pack("{s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}}",
		"params", v.params ? xtrk_json_flatten(v.params) : json_object(),
		"metrics", v.metrics ? xtrk_json_flatten(v.metrics) : json_object(),
		"data", data_entries(&v),
		"env", env,
		"source",
		"repository", field_or_null(v.source, "repository"), "commit", v.commit ? json_string(v.commit) : json_null(),
		"branch", field_or_null(v.source, "branch"), "dirty", field_or_null(v.source, "dirty"),
		"patch", v.patch ? json_string(v.patch) : json_null());
	env = NULL; /* the pack took it, or freed it */
	if (!detail)
		goto oom;
	if (packages && json_object_set(row, PACKAGES_ASIDE, packages) < 0)
		goto oom;
	if (json_object_set_new(row, "parents", parents) < 0 || json_object_set_new(row, "parent_via", via) < 0 ||
	    json_object_set_new(row, "detail", detail) < 0)
		return xtrk_error_oom();
	return 0;
oom:
	json_decref(parents);
	json_decref(via);
	json_decref(detail);
	json_decref(env);
	return xtrk_error_oom();
}

/* ---- the tables of distinct patches and package lists ---- */

static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned long cp;
	return xtrk_utf8_seq(s, n, &cp);
}

/*
 * The bytes as text: each byte that is not part of valid UTF-8 becomes U+FFFD (counted in
 * `*replaced`); when the bytes were cut short (`cut`), a sequence the cut split is left out.
 */
static int utf8_text(xtrk_buf *out, const unsigned char *s, size_t n, int cut, size_t *replaced)
{
	size_t i = 0;
	*replaced = 0;
	while (i < n) {
		size_t k = utf8_len(s + i, n - i);
		if (k) {
			xtrk_buf_put(out, s + i, k);
			i += k;
			continue;
		}
		if (cut && n - i < 4 && s[i] >= 0xc2 && s[i] <= 0xf4) {
			size_t j = i + 1;
			while (j < n && (s[j] & 0xc0) == 0x80)
				j++;
			if (j == n)
				break; /* a sequence the cut split */
		}
		xtrk_buf_puts(out, "\xef\xbf\xbd");
		(*replaced)++;
		i++;
	}
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

/*
 * Up to XTRK_REPORT_PATCH_MAX bytes of the patch blob `hex`, verified against its ID (the whole
 * blob is read to its end); a patch that cannot be read gets an "error" and a warning, not a
 * failed report.
 */
static int read_patch(json_t **out, xtrk_repo *repo, const char *hex)
{
	xtrk_oid id;
	xtrk_odb_stream *s = NULL;
	xtrk_buf head = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
	unsigned char chunk[65536];
	uint64_t size = 0;
	size_t nread, replaced = 0;
	int err;

	*out = NULL;
	if ((err = xtrk_oid_parse(&id, hex)) < 0 || (err = xtrk_odb_stream_open(&s, xtrk_repo_odb(repo), &id)) < 0)
		goto done;
	size = xtrk_odb_stream_size(s);
	for (;;) {
		if ((err = xtrk_odb_stream_read(s, chunk, sizeof(chunk), &nread)) < 0 || !nread)
			break;
		if (head.size < XTRK_REPORT_PATCH_MAX &&
		    xtrk_buf_put(&head, chunk, nread < XTRK_REPORT_PATCH_MAX - head.size ? nread : XTRK_REPORT_PATCH_MAX - head.size) < 0) {
			err = xtrk_error_oom();
			break;
		}
	}
	if (err == 0)
		err = utf8_text(&text, (const unsigned char *)head.ptr, head.size, size > head.size, &replaced);
	if (err == 0 && !(*out = json_pack("{s:I, s:s%, s:b, s:I, s:n}", "bytes", (json_int_t)size, "text",
				 text.ptr ? text.ptr : "", text.size, "cut", size > head.size, "replaced", (json_int_t)replaced,
				 "error")))
		err = xtrk_error_oom();
done:
	if (err < 0 && err != XTRK_ERROR) {
		/* A damaged or missing patch costs the comparison its text, not the report. */
		xtrk_warning_add("the source patch %s cannot be shown: %s", hex, xtrk_error_last());
		*out = json_pack("{s:n, s:s, s:b, s:i, s:s}", "bytes", "text", "", "cut", 0, "replaced", 0, "error",
			xtrk_error_last());
		xtrk_error_clear();
		err = *out ? 0 : xtrk_error_oom();
	}
	xtrk_odb_stream_free(s);
	xtrk_buf_dispose(&head);
	xtrk_buf_dispose(&text);
	return err;
}

/* Put the row's package list into `table` under the ID of its text, once per distinct list. */
static int packages_once(json_t *table, json_t *row)
{
	json_t *pk = json_object_get(row, PACKAGES_ASIDE), *env = json_object_get(json_object_get(row, "detail"), "env");
	xtrk_buf text = XTRK_BUF_INIT;
	xtrk_oid id;
	int err = 0;
	if (!pk)
		return 0;
	if (xtrk_json_dump_buf(&text, pk, XTRK_JSON_STORE) < 0) {
		err = xtrk_error_oom();
		goto done;
	}
	xtrk_oid_hash(&id, text.ptr, text.size);
	if (!json_object_get(table, xtrk_oid_tostr(&id)) && json_object_set(table, xtrk_oid_tostr(&id), pk) < 0)
		err = xtrk_error_oom();
	else if (json_object_set_new(env, "packages_set", json_string(xtrk_oid_tostr(&id))) < 0)
		err = xtrk_error_oom();
done:
	json_object_del(row, PACKAGES_ASIDE);
	xtrk_buf_dispose(&text);
	return err;
}

/* ---- parents through data ---- */

/* Add `parent` to the row's parents (once, not the row itself), for `why`. */
static int add_parent(json_t *row, const char *parent, const char *why)
{
	json_t *parents = json_object_get(row, "parents"), *p;
	size_t i;
	if (!strcmp(parent, json_string_value(json_object_get(row, "id"))))
		return 0;
	json_array_foreach(parents, i, p)
		if (!strcmp(json_string_value(p), parent))
			return 0;
	if (json_array_append_new(parents, json_string(parent)) < 0 ||
	    json_array_append_new(json_object_get(row, "parent_via"), json_string(why)) < 0)
		return xtrk_error_oom();
	return 0;
}

/* For each dataset of a run that is a model or artifact of another run of the report: that run is a parent. */
static int data_parents(json_t *runs)
{
	json_t *made = json_object(), *row, *e, *by;
	xtrk_buf why = XTRK_BUF_INIT;
	size_t r, i, k;
	int err = 0;

	if (!made)
		return xtrk_error_oom();
	json_array_foreach(runs, r, row)
		json_array_foreach(json_object_get(json_object_get(row, "detail"), "data"), i, e) {
			const char *id = xtrk_record_str(e, XTRK_REC_ID), *group = xtrk_record_str(e, "group");
			if (!id || !group || !strcmp(group, "datasets"))
				continue;
			if (!(by = json_object_get(made, id)) && json_object_set_new(made, id, by = json_array()) < 0)
				goto oom;
			if (json_array_append(by, json_object_get(row, "id")) < 0)
				goto oom;
		}
	json_array_foreach(runs, r, row)
		json_array_foreach(json_object_get(json_object_get(row, "detail"), "data"), i, e) {
			const char *id = xtrk_record_str(e, XTRK_REC_ID), *group = xtrk_record_str(e, "group");
			json_t *maker;
			if (!id || !group || strcmp(group, "datasets") || !(by = json_object_get(made, id)))
				continue;
			xtrk_buf_clear(&why);
			xtrk_buf_printf(&why, "dataset %s", str_or_empty(e, XTRK_REC_NAME));
			if (xtrk_buf_oom(&why))
				goto oom;
			json_array_foreach(by, k, maker)
				if ((err = add_parent(row, json_string_value(maker), why.ptr)) < 0)
					goto done;
		}
	goto done;
oom:
	err = xtrk_error_oom();
done:
	xtrk_buf_dispose(&why);
	json_decref(made);
	return err;
}

int report_detail_finish(json_t *data, xtrk_repo *repo)
{
	json_t *runs = json_object_get(data, "runs"), *patches = json_object(), *packages = json_object(), *row;
	size_t r;
	int err = 0;

	if (!patches || !packages) {
		err = xtrk_error_oom();
		goto done;
	}
	json_array_foreach(runs, r, row) {
		const char *patch = xtrk_record_str(json_object_get(json_object_get(row, "detail"), "source"), "patch");
		if (patch && !json_object_get(patches, patch)) {
			json_t *p;
			if ((err = read_patch(&p, repo, patch)) < 0)
				goto done;
			if (json_object_set_new(patches, patch, p) < 0) {
				err = xtrk_error_oom();
				goto done;
			}
		}
		if ((err = packages_once(packages, row)) < 0)
			goto done;
	}
	if ((err = data_parents(runs)) < 0)
		goto done;
	if (json_object_set(data, "patches", patches) < 0 || json_object_set(data, "packages", packages) < 0)
		err = xtrk_error_oom();
done:
	json_decref(patches);
	json_decref(packages);
	return err;
}
