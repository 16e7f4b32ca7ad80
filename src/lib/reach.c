/* Walking what a run reaches, and checking the shape of run records from untrusted places. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gitsrc.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/tree.h"

static int bad(const char *field, const char *why)
{
	return xtrk_error_set(XTRK_ECORRUPT, "malformed run record: '%s' %s", field, why);
}

/* An optional ID field: absent or null is fine, anything else must be 32 hex digits. */
static int check_id(json_t *o, const char *key, const char *field, int required)
{
	json_t *v = json_object_get(o, key);
	xtrk_oid id;
	if (!v || json_is_null(v))
		return required ? bad(field, "is missing") : 0;
	if (!json_is_string(v) || xtrk_oid_parse(&id, json_string_value(v)) < 0)
		return bad(field, "is not an object ID");
	return 0;
}

/* A data path in the workspace: "." (the workspace itself, a dataset of everything) or a safe relative path. */
static int safe_relpath(const char *p)
{
	return !strcmp(p, ".") || !xtrk_data_path_unsafe(p);
}

/* source.untracked_content: null, or {id: tree | null, files, bytes, skipped_files, skipped: [{path, ...}]}. */
static int check_untracked(json_t *src)
{
	json_t *u = json_object_get(src, "untracked_content"), *v, *e;
	static const char *const counts[] = { "files", "bytes", "skipped_files" };
	size_t i;
	int err;

	if (!u || json_is_null(u))
		return 0;
	if (!json_is_object(u))
		return bad("source.untracked_content", "is not an object");
	if ((err = check_id(u, "id", "source.untracked_content.id", 0)) < 0)
		return err;
	for (i = 0; i < sizeof(counts) / sizeof(*counts); i++)
		if ((v = json_object_get(u, counts[i])) && (!json_is_integer(v) || json_integer_value(v) < 0))
			return bad("source.untracked_content", "holds a count that is not a number");
	if ((v = json_object_get(u, "skipped")) && !json_is_array(v))
		return bad("source.untracked_content.skipped", "is not an array");
	json_array_foreach(v, i, e)
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "path")))
			return bad("source.untracked_content.skipped", "holds an entry without a path");
	return 0;
}

/* source.scripts: absent, or [{path: absolute, id, bytes}]: scripts run from outside the repository. */
static int check_scripts(json_t *src)
{
	json_t *a = json_object_get(src, "scripts"), *e;
	size_t i;
	int err;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad("source.scripts", "is not an array");
	json_array_foreach(a, i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));
		if (!json_is_object(e) || !p || *p != '/' || strlen(p) > 4096)
			return bad("source.scripts", "holds an entry without an absolute path");
		for (const char *c = p; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return bad("source.scripts", "holds a path with a control character");
		/* Checkout -C writes it by its last name at the top of the target. */
		if (xtrk_path_unsafe(strrchr(p, '/') + 1))
			return bad("source.scripts", "holds a path whose last name cannot be written into a folder");
		if ((err = check_id(e, "id", "source.scripts.id", 1)) < 0)
			return err;
	}
	return 0;
}

static int untracked_paths(xtrk_reach_read_fn read, void *payload, const xtrk_oid *id, xtrk_buf *path, int depth)
{
	xtrk_buf text = XTRK_BUF_INIT;
	xtrk_tree *t = NULL;
	size_t base = path->size;
	int err;

	if (depth > 256)
		return xtrk_error_set(XTRK_EINVALID, "its untracked files are nested more than 256 deep");
	if ((err = read(&text, id, XTRK_OBJ_TREE, payload)) < 0 ||
	    (err = xtrk_tree_parse(&t, text.ptr ? text.ptr : "", text.size)) < 0)
		goto done;
	for (size_t i = 0; i < t->count && !err; i++) {
		const char *why;
		char shown[320];
		xtrk_buf_truncate(path, base);
		if ((err = xtrk_buf_printf(path, "%s%s", base ? "/" : "", t->entries[i].name)) < 0)
			break;
		if ((why = xtrk_path_unsafe(path->ptr)))
			err = xtrk_error_set(XTRK_EINVALID, "its untracked files name '%s', %s",
				xtrk_path_shown(shown, sizeof(shown), path->ptr), why);
		else if (t->entries[i].kind == XTRK_ENTRY_TREE)
			err = untracked_paths(read, payload, &t->entries[i].id, path, depth + 1);
	}
done:
	xtrk_buf_truncate(path, base);
	xtrk_tree_free(t);
	xtrk_buf_dispose(&text);
	return err;
}

int xtrk_run_check_source(json_t *run, xtrk_reach_read_fn read, void *payload)
{
	json_t *src = json_object_get(run, "source");
	const char *patch = json_string_value(json_object_get(src, "patch"));
	const char *untracked = json_string_value(json_object_get(json_object_get(src, "untracked_content"), "id"));
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_oid id;
	int err = 0;

	if (patch && xtrk_oid_parse(&id, patch) == 0) {
		if ((err = read(&b, &id, XTRK_OBJ_BLOB, payload)) == 0)
			err = xtrk_gitsrc_check_patch(b.ptr ? b.ptr : "", b.size);
		if (err == XTRK_ENOTFOUND) {
			xtrk_error_clear();
			err = 0;
		}
	}
	if (!err && untracked && xtrk_oid_parse(&id, untracked) == 0) {
		xtrk_buf_clear(&b);
		if ((err = untracked_paths(read, payload, &id, &b, 0)) == XTRK_ENOTFOUND) {
			xtrk_error_clear();
			err = 0;
		}
	}
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_run_validate(json_t *run)
{
	json_t *v, *e;
	size_t i;
	char field[64];
	int err;

	if (!json_is_object(run))
		return bad("run", "is not a JSON object");
	/* xtrk writes params and metrics at most XTRK_MAX_NESTING deep, the rest of a record a few levels
	 * more: anything deeper is refused here, so no reader walks without bound. */
	if (xtrk_json_check_depth(run, XTRK_MAX_NESTING + 8, "run") < 0)
		return bad("run", "nests deeper than params and metrics may (64 levels)");
	if (xtrk_json_check_depth(json_object_get(run, "params"), XTRK_MAX_NESTING, "params") < 0)
		return bad("params", "nests more than 64 levels deep");
	if (xtrk_json_check_depth(json_object_get(run, "metrics"), XTRK_MAX_NESTING, "metrics") < 0)
		return bad("metrics", "nests more than 64 levels deep");
	v = json_object_get(run, "experiment");
	if (!json_is_string(v) || !xtrk_ref_name_valid(json_string_value(v)))
		return bad("experiment", "is not a valid experiment name");
	if ((v = json_object_get(run, "source")) && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad("source", "is not an object");
		if ((err = check_id(v, "patch", "source.patch", 0)) < 0 || (err = check_untracked(v)) < 0 ||
		    (err = check_scripts(v)) < 0)
			return err;
		if ((e = json_object_get(v, "commit")) && !json_is_null(e) &&
		    (!json_is_string(e) || !xtrk_oid_is_hex(json_string_value(e), strlen(json_string_value(e))) ||
			    strlen(json_string_value(e)) != 40))
			return bad("source.commit", "is not a git commit ID");
	}
	if ((err = check_id(run, "series", "series", 0)) < 0)
		return err;
	if ((v = json_object_get(run, "logs")) && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad("logs", "is not an object");
		if ((err = check_id(v, "stdout", "logs.stdout", 0)) < 0 ||
		    (err = check_id(v, "stderr", "logs.stderr", 0)) < 0)
			return err;
	}
	if ((v = json_object_get(run, "params_files")) && !json_is_array(v))
		return bad("params_files", "is not an array");
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "params_files[%zu]", i);
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "path")) ||
		    !safe_relpath(json_string_value(json_object_get(e, "path"))))
			return bad(field, "has no safe relative path");
		if ((err = check_id(e, "id", field, 1)) < 0)
			return err;
	}
	for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++) {
		if ((v = json_object_get(run, xtrk_record_groups[g])) && !json_is_array(v))
			return bad(xtrk_record_groups[g], "is not an array");
		json_array_foreach(v, i, e) {
			const char *kind = json_string_value(json_object_get(e, "kind"));
			snprintf(field, sizeof(field), "%s[%zu]", xtrk_record_groups[g], i);
			if (!json_is_object(e))
				return bad(field, "is not an object");
			if (!kind || (strcmp(kind, "tree") && strcmp(kind, "blob")))
				return bad(field, "has no kind 'tree' or 'blob'");
			if (!json_is_string(json_object_get(e, "path")) ||
			    !safe_relpath(json_string_value(json_object_get(e, "path"))))
				return bad(field, "has no safe relative path");
			if (!json_is_string(json_object_get(e, "name")))
				return bad(field, "has no name");
			if ((err = check_id(e, "id", field, 1)) < 0 || (err = check_id(e, XTRK_REC_PROFILE, field, 0)) < 0)
				return err;
		}
	}
	if ((v = json_object_get(run, "tags")) && !json_is_array(v))
		return bad("tags", "is not an array");
	json_array_foreach(v, i, e)
		if (!json_is_string(e) || !xtrk_ref_name_valid(json_string_value(e)))
			return bad("tags", "holds a name that is not a valid tag");
	return 0;
}

static int used(const xtrk_reach *r, const xtrk_oid *id, xtrk_otype type, uint64_t bytes)
{
	return r->use ? r->use(id, type, bytes, r->payload) : 0;
}

/*
 * A tree whose blobs were all visited is marked in `seen` by its ID with every
 * bit flipped (no object will have that ID), apart from the tree itself, which
 * a walk that left data blobs out also marks seen: the same folder may be data
 * in one place (its files left out) and source in another (its files needed).
 */
static int mark_walked(const xtrk_reach *r, const xtrk_oid *tid)
{
	xtrk_oid m;
	for (size_t i = 0; i < XTRK_OID_RAWSZ; i++)
		m.id[i] = (unsigned char)~tid->id[i];
	return xtrk_oidset_add(r->seen, &m);
}

struct reach_walk {
	const xtrk_reach *r;
	const xtrk_oid *run_id;
};

/* Read a tree whose own ID was already visited, to walk it; 1: walked with all its files already. */
static int reach_read_tree(xtrk_tree **out, const xtrk_record_object *o, int depth, void *payload)
{
	const xtrk_reach *r = ((struct reach_walk *)payload)->r;
	xtrk_buf raw = XTRK_BUF_INIT;
	int err, partial = o->is_data && r->skip_data;

	if (!partial && (err = mark_walked(r, &o->id)) <= 0)
		return err < 0 ? err : 1;
	if (depth > 256)
		return xtrk_error_set(XTRK_ECORRUPT, "tree %s is nested more than 256 deep", xtrk_oid_tostr(&o->id));
	err = r->read_tree ? r->read_tree(&raw, &o->id, r->payload)
			   : xtrk_odb_read(&raw, NULL, r->odb, &o->id, XTRK_OBJ_TREE);
	if (err >= 0)
		err = xtrk_tree_parse(out, raw.ptr ? raw.ptr : "", raw.size);
	xtrk_buf_dispose(&raw);
	return err < 0 ? err : 0;
}

struct reach_chunk {
	const xtrk_reach *r;
	const xtrk_record_object *file;
};

/* A chunk of a file stored as chunks: visited as a file of the same role. */
static int reach_chunk(const xtrk_oid *id, uint64_t size, void *payload)
{
	struct reach_chunk *c = payload;
	const xtrk_reach *r = c->r;
	xtrk_record_object o = *c->file;
	int err, fresh;

	if ((fresh = xtrk_oidset_add(r->seen, id)) <= 0)
		return fresh;
	o.id = *id;
	o.bytes = size;
	if ((err = r->visit(id, XTRK_OBJ_BLOB, o.is_data, r->payload)) < 0)
		return err;
	return r->visit_object ? r->visit_object(&o, r->payload) : 0;
}

static int reach_object(const xtrk_record_object *o, void *payload)
{
	struct reach_walk *w = payload;
	const xtrk_reach *r = w->r;
	int err, fresh, partial = o->is_data && r->skip_data;

	if (o->type == XTRK_OBJ_TREE && !o->id_ok) {
		if (o->role == XTRK_RECORD_UNTRACKED)
			return xtrk_error_set(XTRK_ECORRUPT, "run %s: its untracked files have no valid tree ID",
				xtrk_oid_tostr(w->run_id));
		return xtrk_error_set(XTRK_ECORRUPT, "run %s: a %s entry has no tree ID", xtrk_oid_tostr(w->run_id),
			o->group);
	}
	if (!o->hex && o->role != XTRK_RECORD_RUN)
		return 0;
	if (!o->id_ok)
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' in a run record is not an object ID", o->hex);
	/* A data file left out of a walked tree is not even used. */
	if (o->in_tree && partial && o->type == XTRK_OBJ_BLOB)
		return 0;
	if ((err = used(r, &o->id, o->type, o->bytes)) < 0)
		return err;
	/* A data file left out is not marked seen: the same content may be a source file too. */
	if (partial && o->type == XTRK_OBJ_BLOB)
		return 0;
	if ((fresh = xtrk_oidset_add(r->seen, &o->id)) < 0)
		return fresh;
	if (fresh && (err = r->visit(&o->id, o->type, o->type == XTRK_OBJ_BLOB && o->is_data, r->payload)) < 0)
		return err;
	if (fresh && r->visit_object && (err = r->visit_object(o, r->payload)) < 0)
		return err;
	if (fresh && r->chunks && o->type == XTRK_OBJ_BLOB) {
		struct reach_chunk c = { r, o };
		if ((err = xtrk_odb_chunks_foreach(r->odb, &o->id, reach_chunk, &c)) < 0)
			return err;
	}
	/* Seen before, a tree may have been walked without its files, which are wanted now. */
	return o->type == XTRK_OBJ_TREE && (fresh || !partial);
}

int xtrk_reach_run(const xtrk_reach *r, const xtrk_oid *run_id, json_t *run)
{
	struct reach_walk w = { r, run_id };
	xtrk_record_visitor v = { reach_object, reach_read_tree, &w };
	return xtrk_record_foreach_object(run, run_id, &v);
}

struct presence {
	xtrk_repo *repo;
	int complete;
};

static int present(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	struct presence *p = payload;
	(void)type;
	(void)is_data;
	if (!xtrk_odb_exists(xtrk_repo_odb(p->repo), id))
		p->complete = 0;
	return 0;
}

int xtrk_reach_mark_partial(xtrk_repo *repo, const xtrk_oid *id, json_t *run)
{
	struct presence p = { repo, 1 };
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_reach reach;
	xtrk_buf rel = XTRK_BUF_INIT;
	int err;

	memset(&reach, 0, sizeof(reach));
	reach.visit = present;
	reach.payload = &p;
	reach.odb = xtrk_repo_odb(repo);
	reach.seen = &seen;
	err = xtrk_reach_run(&reach, id, run);
	xtrk_oidset_dispose(&seen);
	xtrk_buf_printf(&rel, "%s/refs/partial/%s", xtrk_repo_dir(repo), xtrk_oid_tostr(id));
	if (err == 0 && !p.complete) {
		xtrk_buf_clear(&rel);
		xtrk_buf_printf(&rel, "refs/partial/%s", xtrk_oid_tostr(id));
		err = xtrk_ref_write(repo, rel.ptr, "no-data\n", 0);
	} else if (err == 0 && unlink(rel.ptr) < 0 && errno != ENOENT) {
		err = xtrk_error_errno("cannot remove '%s'", rel.ptr);
	}
	xtrk_buf_dispose(&rel);
	return err;
}
