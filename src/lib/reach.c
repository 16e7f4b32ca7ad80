/* Walking what a run reaches, and checking the shape of run records from untrusted places. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gitsrc.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/reach.h"
#include "xtrk/refs.h"
#include "xtrk/tree.h"

static const char *const groups[] = { "datasets", "models", "artifacts" };

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
	for (size_t g = 0; g < 3; g++) {
		if ((v = json_object_get(run, groups[g])) && !json_is_array(v))
			return bad(groups[g], "is not an array");
		json_array_foreach(v, i, e) {
			const char *kind = json_string_value(json_object_get(e, "kind"));
			snprintf(field, sizeof(field), "%s[%zu]", groups[g], i);
			if (!json_is_object(e))
				return bad(field, "is not an object");
			if (!kind || (strcmp(kind, "tree") && strcmp(kind, "blob")))
				return bad(field, "has no kind 'tree' or 'blob'");
			if (!json_is_string(json_object_get(e, "path")) ||
			    !safe_relpath(json_string_value(json_object_get(e, "path"))))
				return bad(field, "has no safe relative path");
			if (!json_is_string(json_object_get(e, "name")))
				return bad(field, "has no name");
			if ((err = check_id(e, "id", field, 1)) < 0)
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

/* The size a record entry gives its file, if it gives one. */
static uint64_t entry_bytes(json_t *e)
{
	json_t *b = json_object_get(e, "bytes");
	return json_is_integer(b) && json_integer_value(b) >= 0 ? (uint64_t)json_integer_value(b)
								 : XTRK_REACH_SIZE_UNKNOWN;
}

static int visit_sized(const xtrk_reach *r, const char *hex, xtrk_otype type, int is_data, uint64_t bytes)
{
	xtrk_oid id;
	int err;
	if (!hex)
		return 0;
	if (xtrk_oid_parse(&id, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' in a run record is not an object ID", hex);
	if ((err = used(r, &id, type, bytes)) < 0)
		return err;
	if (is_data && r->skip_data)
		return 0; /* not marked seen: the same content may be a source file too */
	if ((err = xtrk_oidset_add(r->seen, &id)) <= 0)
		return err;
	return r->visit(&id, type, is_data, r->payload);
}

static int visit(const xtrk_reach *r, const char *hex, xtrk_otype type, int is_data)
{
	return visit_sized(r, hex, type, is_data, XTRK_REACH_SIZE_UNKNOWN);
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

/* Walk a tree whose own ID was already visited; `is_data`: its files are data. */
static int walk_tree(const xtrk_reach *r, const xtrk_oid *tid, int is_data, int depth)
{
	xtrk_buf raw = XTRK_BUF_INIT;
	xtrk_tree *t = NULL;
	int err, partial = is_data && r->skip_data;

	if (!partial && (err = mark_walked(r, tid)) <= 0)
		return err; /* walked with all its files already */
	if (depth > 256)
		return xtrk_error_set(XTRK_ECORRUPT, "tree %s is nested more than 256 deep", xtrk_oid_tostr(tid));
	err = r->read_tree ? r->read_tree(&raw, tid, r->payload)
			   : xtrk_odb_read(&raw, NULL, r->odb, tid, XTRK_OBJ_TREE);
	if (err < 0 || (err = xtrk_tree_parse(&t, raw.ptr ? raw.ptr : "", raw.size)) < 0)
		goto done;
	for (size_t i = 0; i < t->count && err >= 0; i++) {
		const xtrk_tree_entry *e = &t->entries[i];
		int fresh;
		/* A data file left out is not marked seen: the same content may be a source file too. */
		if (e->kind != XTRK_ENTRY_TREE && partial)
			continue;
		if ((err = e->kind == XTRK_ENTRY_TREE ? used(r, &e->id, XTRK_OBJ_TREE, XTRK_REACH_SIZE_UNKNOWN)
						       : used(r, &e->id, XTRK_OBJ_BLOB, e->bytes)) < 0 ||
		    (fresh = err = xtrk_oidset_add(r->seen, &e->id)) < 0)
			break;
		if (e->kind == XTRK_ENTRY_TREE) {
			if (fresh && (err = r->visit(&e->id, XTRK_OBJ_TREE, 0, r->payload)) < 0)
				break;
			if (fresh || !partial)
				err = walk_tree(r, &e->id, is_data, depth + 1);
		} else if (fresh) {
			err = r->visit(&e->id, XTRK_OBJ_BLOB, is_data, r->payload);
		}
	}
done:
	xtrk_tree_free(t);
	xtrk_buf_dispose(&raw);
	return err < 0 ? err : 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int xtrk_reach_run(const xtrk_reach *r, const xtrk_oid *run_id, json_t *run)
{
	json_t *e;
	size_t i;
	int err;

	if ((err = used(r, run_id, XTRK_OBJ_RUN, XTRK_REACH_SIZE_UNKNOWN)) < 0 || (err = xtrk_oidset_add(r->seen, run_id)) < 0)
		return err;
	if (err && (err = r->visit(run_id, XTRK_OBJ_RUN, 0, r->payload)) < 0)
		return err;
	if ((err = visit(r, str(json_object_get(run, "source"), "patch"), XTRK_OBJ_BLOB, 0)) < 0 ||
	    (err = visit(r, str(run, "series"), XTRK_OBJ_BLOB, 0)) < 0 ||
	    (err = visit(r, str(json_object_get(run, "logs"), "stdout"), XTRK_OBJ_BLOB, 0)) < 0 ||
	    (err = visit(r, str(json_object_get(run, "logs"), "stderr"), XTRK_OBJ_BLOB, 0)) < 0)
		return err;
	json_array_foreach(json_object_get(run, "params_files"), i, e)
		if ((err = visit(r, str(e, "id"), XTRK_OBJ_BLOB, 0)) < 0)
			return err;
	json_array_foreach(json_object_get(json_object_get(run, "source"), "scripts"), i, e)
		if ((err = visit_sized(r, str(e, "id"), XTRK_OBJ_BLOB, 0, entry_bytes(e))) < 0)
			return err;
	/* The untracked files are source, not data: carried even without data, and walked first. */
	if ((e = json_object_get(json_object_get(run, "source"), "untracked_content")) && str(e, "id")) {
		xtrk_oid id;
		if (xtrk_oid_parse(&id, str(e, "id")) < 0)
			return xtrk_error_set(XTRK_ECORRUPT, "run %s: its untracked files have no valid tree ID",
				xtrk_oid_tostr(run_id));
		if ((err = used(r, &id, XTRK_OBJ_TREE, XTRK_REACH_SIZE_UNKNOWN)) < 0 ||
		    (err = xtrk_oidset_add(r->seen, &id)) < 0 ||
		    (err && (err = r->visit(&id, XTRK_OBJ_TREE, 0, r->payload)) < 0) || (err = walk_tree(r, &id, 0, 0)) < 0)
			return err;
	}
	for (size_t g = 0; g < 3; g++) {
		json_array_foreach(json_object_get(run, groups[g]), i, e) {
			int tree = str(e, "kind") && !strcmp(str(e, "kind"), "tree"), fresh;
			xtrk_oid id;
			if (!tree) {
				if ((err = visit_sized(r, str(e, "id"), XTRK_OBJ_BLOB, 1, entry_bytes(e))) < 0)
					return err;
				continue;
			}
			if (!str(e, "id") || xtrk_oid_parse(&id, str(e, "id")) < 0)
				return xtrk_error_set(XTRK_ECORRUPT, "run %s: a %s entry has no tree ID",
					xtrk_oid_tostr(run_id), groups[g]);
			if ((err = used(r, &id, XTRK_OBJ_TREE, XTRK_REACH_SIZE_UNKNOWN)) < 0)
				return err;
			if ((fresh = xtrk_oidset_add(r->seen, &id)) < 0)
				return fresh;
			if (fresh && (err = r->visit(&id, XTRK_OBJ_TREE, 0, r->payload)) < 0)
				return err;
			/* Seen before, it may have been walked without its files, which are wanted now. */
			if ((fresh || !r->skip_data) && (err = walk_tree(r, &id, 1, 0)) < 0)
				return err;
		}
	}
	return 0;
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
