/*
 * Reading run books from untrusted hands: after the archive is read (bundle_archive.c),
 * every run record validated, every reference resolved; then, for import,
 * objects, source pack and refs published in that order.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fileutil.h"
#include "gitsrc.h"
#include "packscan.h"
#include "xtrk/bundle.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/archive.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"
#include "bundle_archive.h"

/* ---- after the last entry: records and references ---- */

struct ref_check {
	struct reader *r;
	const char *run;
};

static int tree_from_bundle(xtrk_buf *out, const xtrk_oid *id, void *payload)
{
	struct ref_check *c = payload;
	struct mem *m = xtrk_br_mem_find(c->r, id);
	xtrk_buf_clear(out);
	if (m)
		return xtrk_buf_put(out, m->data, m->len);
	if (c->r->repo)
		return xtrk_odb_read(out, NULL, xtrk_repo_odb(c->r->repo), id, XTRK_OBJ_TREE);
	return xtrk_error_set(XTRK_ENOTFOUND, "tree %s is not in the bundle", xtrk_oid_tostr(id));
}

/*
 * An object is used as what it is stored as: a file's bytes are never read as a tree, a tree's
 * never as a run.  A file may name any object (its ID proves its bytes), as the store allows.
 */
static int ref_use(const xtrk_oid *id, xtrk_otype type, uint64_t bytes, void *payload)
{
	struct ref_check *c = payload;
	struct decl *d = xtrk_br_decl_find(c->r, id);
	xtrk_otype stored;
	uint64_t size;
	const char *where = "";
	if (d && d->seen) {
		stored = d->type;
		size = d->size;
	} else if (c->r->repo && xtrk_odb_stat(&size, &stored, xtrk_repo_odb(c->r->repo), id) == 0) {
		where = " (already in this store)";
	} else {
		xtrk_error_clear();
		return 0;
	}
	if (!xtrk_odb_type_fits(stored, size, type))
		xtrk_br_problem(c->r, "run %s: %s %s%s is used as a %s", c->run, xtrk_otype_name(stored), xtrk_oid_tostr(id),
			where, xtrk_otype_name(type));
	else if (type == XTRK_OBJ_BLOB && bytes != XTRK_REACH_SIZE_UNKNOWN && bytes != size)
		xtrk_br_problem(c->r, "run %s: file %s%s holds %llu bytes but is recorded as %llu", c->run, xtrk_oid_tostr(id),
			where, (unsigned long long)size, (unsigned long long)bytes);
	return 0;
}

static int ref_visit(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	struct ref_check *c = payload;
	struct decl *d = xtrk_br_decl_find(c->r, id);
	(void)is_data;
	if (d && d->seen)
		return 0;
	if (c->r->repo && xtrk_odb_exists(xtrk_repo_odb(c->r->repo), id))
		return 0;
	xtrk_br_problem(c->r, "run %s: %s %s is not in the bundle%s", c->run, xtrk_otype_name(type), xtrk_oid_tostr(id),
		d ? " (declared, but missing or damaged)" : "");
	return 0;
}

/* Objects for the source check: held ones from the bundle, others from the store. */
static int source_object(xtrk_buf *out, const xtrk_oid *id, xtrk_otype type, void *payload)
{
	struct reader *r = payload;
	struct mem *m = xtrk_br_mem_find(r, id);
	struct decl *d = xtrk_br_decl_find(r, id);
	xtrk_buf_clear(out);
	if (m)
		return xtrk_buf_put(out, m->data, m->len);
	if (d && d->seen && type == XTRK_OBJ_BLOB)
		return xtrk_error_set(XTRK_EINVALID, "its patch comes before its runs/ID.json entry in the bundle, so the "
			"paths it writes cannot be checked");
	if (r->repo && xtrk_odb_exists(xtrk_repo_odb(r->repo), id))
		return xtrk_odb_read(out, NULL, xtrk_repo_odb(r->repo), id, type);
	return xtrk_error_set(XTRK_ENOTFOUND, "%s %s is not in the bundle", xtrk_otype_name(type), xtrk_oid_tostr(id));
}

/*
 * The source files a run would write at checkout: its patch's paths and its
 * untracked files' paths (the commit's tree is checked in the source pack).
 */
static void check_source_paths(struct reader *r, const char *hex, json_t *rec)
{
	if (xtrk_run_check_source(rec, source_object, r) < 0)
		xtrk_br_problem(r, "run %s: %s", hex, xtrk_error_last());
}

static void check_run(struct reader *r, json_t *entry)
{
	const char *hex = json_string_value(json_object_get(entry, "id"));
	json_t *sum = json_object_get(r->summaries, hex), *rec = NULL, *cmp = NULL;
	struct ref_check c = { r, hex };
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_reach reach;
	json_error_t je;
	xtrk_oid id;
	struct decl *d;
	struct mem *m;

	xtrk_oid_parse(&id, hex);
	if (!(d = xtrk_br_decl_find(r, &id)) || d->type != XTRK_OBJ_RUN || !d->seen || !(m = xtrk_br_mem_find(r, &id))) {
		xtrk_br_problem(r, "run %s: its record (objects/%s.run) is not in the bundle", hex, hex);
		return;
	}
	if (!(rec = json_loadb(m->data, m->len, JSON_REJECT_DUPLICATES, &je))) {
		xtrk_br_problem(r, "run %s: malformed record at column %d: %s", hex, je.column, je.text);
		return;
	}
	if (xtrk_record_check(rec) < 0) {
		xtrk_br_problem(r, "run %s: %s", hex, xtrk_error_last());
		goto done;
	}
	if (!json_equal(json_object_get(rec, "experiment"), json_object_get(entry, "experiment")))
		xtrk_br_problem(r, "run %s: the manifest files it under another experiment than its record", hex);
	if (!sum) {
		xtrk_br_problem(r, "run %s: runs/%s.json is missing", hex, hex);
	} else {
		cmp = json_deep_copy(sum);
		json_object_del(cmp, "id");
		json_object_del(cmp, "tags");
		if (!json_equal(json_object_get(sum, "id"), json_object_get(entry, "id")) || !json_equal(cmp, rec))
			xtrk_br_problem(r, "run %s: runs/%s.json does not match the run's record", hex, hex);
		if (xtrk_record_check(sum) < 0)
			xtrk_br_problem(r, "runs/%s.json: %s", hex, xtrk_error_last());
	}
	memset(&reach, 0, sizeof(reach));
	reach.read_tree = tree_from_bundle;
	reach.visit = ref_visit;
	reach.use = ref_use;
	reach.payload = &c;
	reach.seen = &seen;
	reach.skip_data = r->st->no_data;
	if (xtrk_reach_run(&reach, &id, rec) < 0)
		xtrk_br_problem(r, "run %s: %s", hex, xtrk_error_last());
	if (json_is_string(json_object_get(json_object_get(rec, "source"), "commit")) && r->pack_path.size &&
	    !xtrk_gitpack_has_commit(r->pack_path.ptr, json_string_value(json_object_get(json_object_get(rec, "source"), "commit"))))
		xtrk_br_problem(r, "run %s: its commit %s is not in source.pack", hex,
			json_string_value(json_object_get(json_object_get(rec, "source"), "commit")));
	else if (json_is_string(json_object_get(json_object_get(rec, "source"), "commit")) && r->pack_path.size &&
		 xtrk_gitpack_check_commit(r->pack_path.ptr,
			 json_string_value(json_object_get(json_object_get(rec, "source"), "commit"))) < 0)
		xtrk_br_problem(r, "run %s: %s", hex, xtrk_error_last());
	check_source_paths(r, hex, rec);
	{
		/* Appended notes: each checked whole; on import, its object staged with the others. */
		xtrk_oid *notes;
		size_t nnotes;
		if (xtrk_notes_carried(&notes, &nnotes, json_object_get(entry, "notes"), &id, r->txn) < 0)
			xtrk_br_problem(r, "%s", xtrk_error_last());
		free(notes);
		/* Stage moves and approvals likewise, each approval verified against this store's allowed_signers. */
		if (xtrk_stages_carried(&notes, &nnotes, json_object_get(entry, "stages"), &id, r->repo, r->txn) < 0)
			xtrk_br_problem(r, "%s", xtrk_error_last());
		free(notes);
	}
done:
	xtrk_oidset_dispose(&seen);
	json_decref(rec);
	json_decref(cmp);
}

/* RUNBOOK.md and report.html as the manifest's "documents" declares them (bundles made before it have none). */
static void check_documents(struct reader *r)
{
	json_t *docs = json_object_get(r->manifest, "documents");
	static const char *const names[] = { "RUNBOOK.md", "report.html" };
	if (!docs)
		return;
	for (int i = 0; i < 2; i++) {
		const char *want = json_string_value(json_object_get(docs, names[i]));
		int seen = i ? r->seen_report : r->seen_runbook;
		const xtrk_oid *got = i ? &r->report_id : &r->runbook_id;
		if (want && !seen)
			xtrk_br_problem(r, "%s is declared in the manifest but not in the bundle", names[i]);
		else if (!want && seen)
			xtrk_br_problem(r, "%s is in the bundle but not declared in its manifest", names[i]);
		else if (want && seen == 1 && strcmp(want, xtrk_oid_tostr(got)))
			xtrk_br_problem(r, "%s does not match the manifest (damaged or changed): XXH3-128 %s, declared %s",
				names[i], xtrk_oid_tostr(got), want);
	}
}

static void check_all(struct reader *r)
{
	json_t *e, *src = json_object_get(r->manifest, "source");
	size_t i;

	size_t missing = 0;
	for (i = 0; i < r->ndecl; i++)
		missing += !r->decl[i].seen;
	if (missing)
		xtrk_br_problem(r, "%zu object%s declared in the manifest %s missing or damaged (a truncated bundle?)", missing,
			missing == 1 ? "" : "s", missing == 1 ? "is" : "are");
	for (i = 0; i < r->ndecl && !r->stopped; i++)
		if (!r->decl[i].seen)
			xtrk_br_problem(r, "%s %s is declared in the manifest but not in the bundle (or damaged)",
				xtrk_otype_name(r->decl[i].type), xtrk_oid_tostr(&r->decl[i].id));
	check_documents(r);
	if (r->nmem)
		xtrk_sort(r->mem, r->nmem, sizeof(*r->mem), xtrk_br_mem_cmp);
	json_array_foreach(json_object_get(r->manifest, "runs"), i, e) {
		if (r->stopped)
			return;
		check_run(r, e);
	}
	/* The audit logs carried: intact, and (import) extending what this store holds of each. */
	if (json_object_get(r->manifest, "audit") && !r->stopped && xtrk_audit_vet(r->repo, json_object_get(r->manifest, "audit"), 0) < 0)
		xtrk_br_problem(r, "%s", xtrk_error_last());
	if (json_is_object(src) && !r->pack_path.size && !r->stopped)
		xtrk_br_problem(r, "the manifest declares source.pack, but the bundle has no usable one");
	json_array_foreach(json_object_get(src, "commits"), i, e)
		if (r->pack_path.size && !r->stopped && !xtrk_gitpack_has_commit(r->pack_path.ptr, json_string_value(e)))
			xtrk_br_problem(r, "source.pack lacks commit %s", json_string_value(e));
	r->st->runs = json_array_size(json_object_get(r->manifest, "runs"));
}

static int read_all(struct reader *r)
{
	struct archive_entry *e;
	size_t entries = 0;
	int rc, err = 0;

	while (!r->stopped && (rc = archive_read_next_header(r->a, &e)) == ARCHIVE_OK) {
		/* The manifest says how many entries there can be: objects, run summaries, and five others. */
		size_t limit = r->manifest ? r->ndecl + json_array_size(json_object_get(r->manifest, "runs")) + 5
					   : 5;
		if (++entries > limit) {
			xtrk_br_problem(r, "the bundle holds more entries than its manifest declares");
			r->stopped = 1;
			break;
		}
		if ((err = xtrk_br_read_entry(r, e)) < 0)
			return err;
		/*
		 * An entry refused without being read would be skipped by inflating it:
		 * a large one ends the reading (verify as import), never inflated past
		 * what was read of it.
		 */
		if (!r->stopped && archive_entry_size_is_set(e) && archive_entry_size(e) > SKIP_MAX &&
		    archive_read_data(r->a, r->chunk, 1) > 0) {
			xtrk_br_problem(r, "entry '%.300s': %lld bytes left unread; the check stops here",
				archive_entry_pathname(e) ? archive_entry_pathname(e) : "", (long long)archive_entry_size(e));
			r->stopped = 1;
		}
	}
	if (!r->stopped && rc != ARCHIVE_EOF)
		return xtrk_error_set(XTRK_ECORRUPT, "the bundle is damaged or truncated: %s",
			archive_error_string(r->a) ? archive_error_string(r->a) : "unreadable");
	if (!r->manifest) {
		if (!r->stopped)
			xtrk_br_problem(r, "no xtrk-bundle.json: this is not an xtrk bundle");
		return 0;
	}
	if (!r->stopped)
		check_all(r);
	return 0;
}

static int verify_opened(struct reader *r)
{
	const char *tmp = getenv("TMPDIR");
	int err;
	if ((err = xtrk_br_stage_dir(r, tmp && *tmp ? tmp : "/tmp")) < 0)
		return err;
	return read_all(r);
}

int xtrk_bundle_verify(xtrk_bundle_stats *out, const char *path, xtrk_bundle_problem_cb cb, void *payload)
{
	struct reader r;
	int err = xtrk_br_reader_open(&r, out);
	r.cb = cb;
	r.payload = payload;
	if (err == 0 && (err = xtrk_br_open_file(&r, path)) == 0)
		err = verify_opened(&r);
	xtrk_br_reader_close(&r);
	return err;
}

int xtrk_bundle_verify_memory(xtrk_bundle_stats *out, const void *data, size_t len,
	xtrk_bundle_problem_cb cb, void *payload)
{
	struct reader r;
	int err = xtrk_br_reader_open(&r, out);
	r.cb = cb;
	r.payload = payload;
	if (err == 0 && archive_read_open_memory(r.a, data, len) != ARCHIVE_OK)
		err = xtrk_error_set(XTRK_EINVALID, "cannot read the bundle: %s", archive_error_string(r.a));
	if (err == 0)
		err = verify_opened(&r);
	xtrk_br_reader_close(&r);
	return err;
}

/* ---- import: publishing ---- */

static int publish_refs(struct reader *r)
{
	json_t *e, *queued = json_object(); /* tag name -> run ID, to create */
	const char **names = NULL, **contents = NULL;
	size_t i, n = 0;
	int err = 0;

	if (!queued)
		return xtrk_error_oom();
	json_array_foreach(json_object_get(r->manifest, "runs"), i, e) {
		json_t *sum = json_object_get(r->summaries, json_string_value(json_object_get(e, "id"))), *t;
		const char *exp = json_string_value(json_object_get(e, "experiment"));
		xtrk_buf rel = XTRK_BUF_INIT;
		xtrk_oid id;
		size_t k;
		xtrk_oid_parse(&id, json_string_value(json_object_get(e, "id")));
		xtrk_buf_printf(&rel, "%s/refs/experiments/%s/%s", xtrk_repo_dir(r->repo), exp, xtrk_oid_tostr(&id));
		if (access(rel.ptr, F_OK) != 0)
			r->st->runs_new++;
		xtrk_buf_dispose(&rel);
		if (((r->st->no_data || xtrk_refs_partial(r->repo, &id)) && (err = xtrk_reach_mark_partial(r->repo, &id, sum)) < 0) ||
		    (err = xtrk_refs_add_run(r->repo, exp, &id)) < 0)
			goto done;
		/* Listed again, and whole: no longer archived (a run still without its data keeps the mark). */
		if (!xtrk_refs_partial(r->repo, &id) && (err = xtrk_archived_clear(r->repo, &id)) < 0)
			goto done;
		{
			xtrk_oid *notes;
			size_t nnotes;
			/* Checked (and their objects committed) before anything was published. */
			if ((err = xtrk_notes_carried(&notes, &nnotes, json_object_get(e, "notes"), &id, NULL)) == 0)
				err = xtrk_notes_publish(r->repo, &id, notes, nnotes);
			free(notes);
			if (err < 0)
				goto done;
			if ((err = xtrk_stages_carried(&notes, &nnotes, json_object_get(e, "stages"), &id, NULL, NULL)) == 0)
				err = xtrk_stages_publish(r->repo, &id, notes, nnotes);
			free(notes);
			if (err < 0)
				goto done;
		}
		json_array_foreach(json_object_get(sum, "tags"), k, t) {
			xtrk_oid have;
			const char *name = json_string_value(t), *q = json_string_value(json_object_get(queued, name));
			if (q || xtrk_refs_tag_lookup(&have, r->repo, name) == 0) {
				if (q ? strcmp(q, xtrk_oid_tostr(&id)) != 0 : xtrk_oid_cmp(&have, &id) != 0)
					xtrk_warning_add("tag '%s' already names run %s here; the bundle's tag on %s was not "
						"imported", name, q ? q : xtrk_oid_tostr(&have), xtrk_oid_tostr(&id));
				continue;
			}
			xtrk_error_clear();
			json_object_set_new(queued, name, json_sprintf("%s\n", xtrk_oid_tostr(&id)));
		}
	}
	/* All the tags at once: thousands of tags cost a few syncs, not two each. */
	n = json_object_size(queued);
	if (n && (!(names = calloc(n, sizeof(*names))) || !(contents = calloc(n, sizeof(*contents))))) {
		err = xtrk_error_oom();
		goto done;
	}
	{
		const char *k;
		json_t *v;
		size_t j = 0;
		json_object_foreach(queued, k, v) {
			names[j] = k;
			contents[j++] = json_string_value(v);
		}
	}
	if (n)
		err = xtrk_refs_write_new(r->repo, "refs/tags", names, contents, n);
done:
	free(names);
	free(contents);
	json_decref(queued);
	return err;
}

/* The imported runs go into the run index (a cache: a failure only costs time later). */
static void index_runs(struct reader *r)
{
	size_t n = json_array_size(json_object_get(r->manifest, "runs")), i;
	xtrk_oid *ids = calloc(n + 1, sizeof(*ids));
	json_t **recs = calloc(n + 1, sizeof(*recs)), *e;
	/* Each run's summary, checked equal to its record before anything was imported. */
	json_array_foreach(json_object_get(r->manifest, "runs"), i, e)
		if (ids && recs) {
			xtrk_oid_parse(&ids[i], json_string_value(json_object_get(e, "id")));
			recs[i] = json_object_get(r->summaries, json_string_value(json_object_get(e, "id")));
		}
	if (!ids || !recs || xtrk_index_add(r->repo, ids, recs, n) < 0)
		xtrk_error_clear();
	free(ids);
	free(recs);
}

/* Runs archived here coming back: is this the file their archive records? (xtrk_archived_check_import) */
static int check_archived(struct reader *r, const char *path)
{
	size_t n = json_array_size(json_object_get(r->manifest, "runs")), i;
	xtrk_oid *ids = calloc(n + 1, sizeof(*ids));
	json_t *e;
	int err;
	if (!ids)
		return xtrk_error_oom();
	json_array_foreach(json_object_get(r->manifest, "runs"), i, e)
		xtrk_oid_parse(&ids[i], json_string_value(json_object_get(e, "id")));
	err = xtrk_archived_check_import(r->repo, path, ids, n);
	free(ids);
	return err;
}

int xtrk_bundle_import(xtrk_bundle_stats *out, xtrk_repo *repo, const char *path)
{
	struct reader r;
	xtrk_buf tmp = XTRK_BUF_INIT;
	int err = xtrk_br_reader_open(&r, out);

	r.repo = repo;
	r.stop_at_first = 1;
	xtrk_buf_printf(&tmp, "%s/objects/tmp", xtrk_repo_dir(repo));
	if (err == 0 && (err = xtrk_br_open_file(&r, path)) == 0 && (err = xtrk_txn_new(&r.txn, xtrk_repo_odb(repo))) == 0 &&
	    (err = xtrk_br_stage_dir(&r, tmp.ptr)) == 0)
		err = read_all(&r);
	if (err == 0 && out->problems)
		err = xtrk_error_set(XTRK_EINVALID, "bundle '%s' refused: %s; nothing was imported", path, r.first_problem);
	if (err == 0)
		err = check_archived(&r, path);
	/* Objects first, then the source, then the names: a kill between leaves only unnamed objects. */
	if (err == 0)
		err = xtrk_txn_commit(r.txn);
	if (err == 0 && r.pack_path.size)
		err = xtrk_gitpack_publish(repo, r.pack_path.ptr);
	if (err == 0)
		err = publish_refs(&r);
	if (err == 0 && json_object_get(r.manifest, "audit"))
		err = xtrk_audit_receive(repo, json_object_get(r.manifest, "audit"), 0);
	if (err == 0)
		index_runs(&r);
	xtrk_txn_free(r.txn);
	xtrk_br_reader_close(&r);
	xtrk_buf_dispose(&tmp);
	return err;
}
