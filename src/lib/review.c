/* Review: run metadata checked for completeness (see xtrk/review.h). */
#include "config.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/notes.h"
#include "xtrk/oidset.h"
#include "xtrk/query.h"
#include "xtrk/review.h"
#include "xtrk/run.h"
#include "xtrk/stages.h"

const char *const xtrk_review_kinds[] = { "no-seed", "no-source", "dirty-source", "untracked-files", "data-no-source",
	"staged-no-note", "staged-no-approval", "policy", NULL };

struct review {
	xtrk_repo *repo;
	const xtrk_review_options *o;
	json_t *findings;
};

static int ignored(const struct review *r, const char *kind)
{
	for (size_t i = 0; i < r->o->nignore; i++)
		if (!strcmp(r->o->ignore[i], kind))
			return 1;
	return 0;
}

static int finding(struct review *r, json_t *run, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int finding(struct review *r, json_t *run, const char *kind, const char *fmt, ...)
{
	xtrk_buf msg = XTRK_BUF_INIT;
	va_list ap;
	json_t *f;
	int err = 0;
	if (ignored(r, kind))
		return 0;
	va_start(ap, fmt);
	xtrk_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (xtrk_buf_oom(&msg) || !(f = json_pack("{s:O, s:O, s:s, s:s}", "run", json_object_get(run, "id"), "experiment",
					  json_object_get(run, "experiment"), "kind", kind, "message", msg.ptr)) ||
	    json_array_append_new(r->findings, f) < 0)
		err = xtrk_error_oom();
	xtrk_buf_dispose(&msg);
	return err;
}

/* What the record itself says: seed, source, data provenance. */
static int check_record(struct review *r, json_t *run)
{
	json_t *src = json_object_get(run, "source"), *d, *untracked = json_object_get(src, "untracked");
	json_t *content = json_object_get(src, "untracked_content");
	size_t i;
	int err = 0;

	if (!json_is_integer(json_object_get(run, "seed")))
		err = finding(r, run, "no-seed", "no random seed recorded (commit-run --seed, or a param 'seed')");
	if (err == 0 && !json_is_string(json_object_get(src, "commit")))
		err = finding(r, run, "no-source", "no source commit recorded (not run in a git working tree)");
	if (err == 0 && json_is_true(json_object_get(src, "dirty")))
		err = finding(r, run, "dirty-source", "its source had uncommitted changes%s",
			json_is_string(json_object_get(src, "patch")) ? " (kept as a patch)" : "");
	if (err == 0 && json_array_size(untracked)) {
		json_int_t skipped = json_integer_value(json_object_get(content, "skipped_files"));
		if (!json_is_object(content) || json_is_null(json_object_get(content, "id")))
			err = finding(r, run, "untracked-files", "%zu file%s git did not track, not captured",
				json_array_size(untracked), json_array_size(untracked) == 1 ? "" : "s");
		else if (skipped > 0)
			err = finding(r, run, "untracked-files", "%lld untracked file%s not captured", (long long)skipped,
				skipped == 1 ? "" : "s");
	}
	json_array_foreach(json_object_get(run, "datasets"), i, d)
		if (err == 0 && !json_is_string(json_object_get(d, "source")))
			err = finding(r, run, "data-no-source", "dataset '%s' has no recorded provenance",
				json_string_value(json_object_get(d, "name")) ? json_string_value(json_object_get(d, "name")) : "?");
	return err;
}

/* A run standing in a stage: its notes, its approvals for that stage, today's policy. */
static int check_staged(struct review *r, json_t *run, const xtrk_oid *id, const char *stage, json_t *appended)
{
	xtrk_stage_rec *recs = NULL;
	size_t n = 0, valid = 0;
	int err = 0;

	if (strcmp(stage, "archived")) {
		if (!json_array_size(json_object_get(run, "notes")) && !json_array_size(appended))
			err = finding(r, run, "staged-no-note", "in stage '%s' with no note (xtrk note)", stage);
		if (err == 0 && (err = xtrk_stages_list(&recs, &n, r->repo, id, 1)) == 0) {
			for (size_t i = 0; i < n && !valid; i++)
				if (recs[i].kind == XTRK_STAGE_APPROVAL && !strcmp(recs[i].stage, stage)) {
					if (xtrk_approval_verify(r->repo, id, &recs[i]) == 0)
						valid++;
					xtrk_error_clear();
				}
			if (!valid)
				err = finding(r, run, "staged-no-approval", "in stage '%s' with no valid approval for it (xtrk approve)",
					stage);
		}
		xtrk_stages_free(recs, n);
		if (err < 0)
			return err;
	}
	if ((err = xtrk_stage_policy_check(r->repo, id, stage)) == XTRK_ERULE) {
		xtrk_buf msg = XTRK_BUF_INIT;
		if (xtrk_buf_puts(&msg, xtrk_error_last()) < 0)
			return xtrk_error_oom();
		xtrk_error_clear();
		err = finding(r, run, "policy", "in stage '%s' but fails its policy today: %s", stage, msg.ptr);
		xtrk_buf_dispose(&msg);
	}
	return err;
}

/* The runs the expression selects. */
static int select_where(xtrk_oidset *set, xtrk_repo *repo, const char *where)
{
	xtrk_index *ix = NULL;
	xtrk_query *q = NULL;
	size_t col;
	int err;

	if ((err = xtrk_query_parse(&q, where, &col)) < 0) {
		err = xtrk_error_set(err, "--where: %s", xtrk_error_last());
		goto done;
	}
	if ((err = xtrk_index_open(&ix, repo, NULL)) < 0 || (err = xtrk_query_bind(q, ix)) < 0)
		goto done;
	for (size_t i = 0; i < xtrk_index_count(ix) && !err; i++) {
		int m = xtrk_query_match(q, ix, i);
		if (m < 0)
			err = m;
		else if (m && xtrk_oidset_add(set, xtrk_index_run(ix, i)) < 0)
			err = xtrk_error_oom();
	}
done:
	xtrk_query_free(q);
	xtrk_index_free(ix);
	return err;
}

int xtrk_review(json_t **out, xtrk_repo *repo, const xtrk_review_options *o)
{
	static const xtrk_review_options none = { NULL, NULL, 0 };
	struct review r = { repo, o ? o : &none, json_array() };
	xtrk_run_item *items = NULL;
	xtrk_oidset chosen = XTRK_OIDSET_INIT;
	json_t *stages = NULL, *notes = NULL;
	size_t n = 0, reviewed = 0;
	int err = 0;

	*out = NULL;
	if (!r.findings)
		return xtrk_error_oom();
	for (size_t i = 0; i < r.o->nignore && err == 0; i++) {
		size_t k = 0;
		while (xtrk_review_kinds[k] && strcmp(xtrk_review_kinds[k], r.o->ignore[i]))
			k++;
		if (!xtrk_review_kinds[k])
			err = xtrk_error_set(XTRK_EINVALID, "'%s' is not a kind of finding (no-seed, no-source, dirty-source, "
				"untracked-files, data-no-source, staged-no-note, staged-no-approval, policy)", r.o->ignore[i]);
	}
	if (err < 0 || (r.o->where && (err = select_where(&chosen, repo, r.o->where)) < 0))
		goto done;
	if ((err = xtrk_runs_list(&items, &n, repo, NULL)) < 0 || (err = xtrk_stages_all(&stages, repo)) < 0 ||
	    (err = xtrk_notes_all(&notes, repo)) < 0)
		goto done;
	/* Oldest first, as runs happened. */
	for (size_t k = n; k-- > 0 && err == 0;) {
		json_t *run = items[k].run;
		const char *hex = json_string_value(json_object_get(run, "id"));
		const char *stage = hex ? json_string_value(json_object_get(stages, hex)) : NULL;
		if (r.o->where && !xtrk_oidset_has(&chosen, &items[k].id))
			continue;
		reviewed++;
		if ((err = check_record(&r, run)) == 0 && stage)
			err = check_staged(&r, run, &items[k].id, stage, json_object_get(notes, hex));
	}
	if (err == 0 && !(*out = json_pack("{s:I, s:O}", "runs", (json_int_t)reviewed, "findings", r.findings)))
		err = xtrk_error_oom();
done:
	json_decref(r.findings);
	json_decref(stages);
	json_decref(notes);
	xtrk_runs_free(items, n);
	xtrk_oidset_dispose(&chosen);
	return err;
}
