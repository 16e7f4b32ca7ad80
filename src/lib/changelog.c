/* Changelogs: every version of a model across runs (see xtrk/changelog.h). */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "xtrk/changelog.h"
#include "xtrk/errors.h"
#include "xtrk/notes.h"
#include "xtrk/params.h"
#include "xtrk/run.h"
#include "xtrk/stages.h"

static int name_check(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > XTRK_CHANGELOG_MAX_NAME)
		return xtrk_error_set(XTRK_EINVALID, "a model name is 1 to %d bytes", XTRK_CHANGELOG_MAX_NAME);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return xtrk_error_set(XTRK_EINVALID, "a model name holds no control characters");
	return 0;
}

/* The run's model entry of that name, else the one at that path; NULL when none. */
static json_t *model_of(json_t *run, const char *name)
{
	json_t *models = json_object_get(run, "models"), *m, *at = NULL;
	size_t i;
	json_array_foreach(models, i, m) {
		if (!json_is_object(m))
			continue;
		if (json_is_string(json_object_get(m, "name")) && !strcmp(json_string_value(json_object_get(m, "name")), name))
			return m;
		if (!at && json_is_string(json_object_get(m, "path")) && !strcmp(json_string_value(json_object_get(m, "path")), name))
			at = m;
	}
	return at;
}

struct version {
	json_t *run; /* borrowed from the list */
	json_t *model;
	const char *started;
	const char *id;
};

static int by_time(const void *a, const void *b)
{
	const struct version *x = a, *y = b;
	int c = strcmp(x->started, y->started);
	return c ? c : strcmp(x->id, y->id);
}

/* The flattened metrics that differ between `was` and `now` (either may be NULL). */
static json_t *metric_changes(json_t *was, json_t *now)
{
	json_t *none = json_object(), *fw = xtrk_json_flatten(was ? was : none), *fn = xtrk_json_flatten(now ? now : none);
	json_t *out = json_object(), *v;
	const char *k;
	json_decref(none);
	if (!fw || !fn || !out)
		goto fail;
	json_object_foreach(fn, k, v) {
		json_t *w = json_object_get(fw, k), *c;
		if (w && json_equal(w, v))
			continue;
		if (!(c = json_pack("{s:O?, s:O}", "was", w, "now", v)) || json_object_set_new(out, k, c) < 0)
			goto fail;
		if (w && json_is_number(w) && json_is_number(v))
			json_object_set_new(c, "delta", json_real(json_number_value(v) - json_number_value(w)));
	}
	json_object_foreach(fw, k, v)
		if (!json_object_get(fn, k) && json_object_set_new(out, k, json_pack("{s:O, s:n}", "was", v, "now")) < 0)
			goto fail;
	json_decref(fw);
	json_decref(fn);
	return out;
fail:
	json_decref(fw);
	json_decref(fn);
	json_decref(out);
	return NULL;
}

/* The models the runs do have, for the message when the name is none of them. */
static void known_models(xtrk_buf *out, const xtrk_run_item *items, size_t n)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < n && seen && json_object_size(seen) < 20; i++) {
		json_t *m;
		size_t k;
		json_array_foreach(json_object_get(items[i].run, "models"), k, m) {
			const char *nm = json_string_value(json_object_get(m, "name"));
			if (nm && !json_object_get(seen, nm) && json_object_size(seen) < 20) {
				json_object_set_new(seen, nm, json_true());
				xtrk_buf_printf(out, "%s%s", out->size ? ", " : "", nm);
			}
		}
	}
	json_decref(seen);
}

int xtrk_changelog(json_t **out, xtrk_repo *repo, const char *name)
{
	xtrk_run_item *items = NULL;
	struct version *v = NULL;
	json_t *doc = NULL, *list, *empty = NULL;
	xtrk_buf known = XTRK_BUF_INIT;
	size_t n = 0, nv = 0;
	int err;

	*out = NULL;
	if ((err = name_check(name)) < 0)
		return err;
	if ((err = xtrk_runs_list(&items, &n, repo, NULL)) < 0)
		goto done;
	if (!(v = calloc(n + 1, sizeof(*v)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *m = model_of(items[i].run, name);
		if (!m)
			continue;
		v[nv].run = items[i].run;
		v[nv].model = m;
		v[nv].started = json_string_value(json_object_get(items[i].run, "started"));
		v[nv].id = json_string_value(json_object_get(items[i].run, "id"));
		if (!v[nv].started)
			v[nv].started = "";
		nv++;
	}
	if (!nv) {
		known_models(&known, items, n);
		err = xtrk_error_set(XTRK_ENOTFOUND, "no run has a model named '%s'%s%s", name,
			known.size ? "; models: " : " (no run records a model; see commit-run --model)", known.size ? known.ptr : "");
		goto done;
	}
	xtrk_sort(v, nv, sizeof(*v), by_time);
	if (!(empty = json_array()) || !(doc = json_pack("{s:s, s:[]}", "name", name, "versions"))) {
		err = xtrk_error_oom();
		goto done;
	}
	list = json_object_get(doc, "versions");
	for (size_t i = 0; i < nv; i++) {
		json_t *run = v[i].run, *e, *model = json_deep_copy(v[i].model), *changes;
		xtrk_stage_rec *recs = NULL;
		xtrk_note *notes = NULL;
		size_t nrecs = 0, nnotes = 0;
		xtrk_oid id;
		const char *date = json_string_value(json_object_get(run, "ended"));
		const char *msg = json_string_value(json_object_get(run, "message"));
		xtrk_oid_parse(&id, v[i].id);
		json_object_del(model, "source");
		changes = metric_changes(i ? json_object_get(v[i - 1].run, "metrics") : NULL, json_object_get(run, "metrics"));
		e = json_pack("{s:I, s:s, s:O, s:s, s:s, s:O, s:o, s:b, s:o}", "version", (json_int_t)(i + 1), "run", v[i].id,
			"experiment", json_object_get(run, "experiment"), "date", date ? date : v[i].started,
			"message", msg ? msg : "", "run_notes", json_is_array(json_object_get(run, "notes")) ?
			json_object_get(run, "notes") : empty, "model", model,
			"changed", !i || !json_equal(json_object_get(v[i - 1].model, "id"), json_object_get(v[i].model, "id")),
			"metrics", changes);
		if (!e || json_array_append_new(list, e) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		for (size_t k = 0; k < i; k++)
			if (json_equal(json_object_get(v[k].model, "id"), json_object_get(v[i].model, "id"))) {
				json_object_set_new(e, "same_as", json_integer((json_int_t)(k + 1)));
				break;
			}
		/* A damaged record is skipped with a warning: a changelog is for reading. */
		if ((err = xtrk_stages_list(&recs, &nrecs, repo, &id, 1)) < 0 ||
		    (err = xtrk_notes_list(&notes, &nnotes, repo, &id, 1)) < 0) {
			xtrk_stages_free(recs, nrecs);
			goto done;
		}
		json_object_set_new(e, "stages", xtrk_stages_json(repo, recs, nrecs, &id));
		json_object_set_new(e, "notes", xtrk_notes_json(notes, nnotes, &id));
		xtrk_stages_free(recs, nrecs);
		xtrk_notes_free(notes, nnotes);
		if (!json_object_get(e, "stages") || !json_object_get(e, "notes")) {
			err = xtrk_error_oom();
			goto done;
		}
	}
	*out = doc;
	doc = NULL;
done:
	json_decref(doc);
	json_decref(empty);
	free(v);
	xtrk_runs_free(items, n);
	xtrk_buf_dispose(&known);
	return err;
}
