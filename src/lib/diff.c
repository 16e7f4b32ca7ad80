/* Comparing runs: params, metrics, data trees, environment and source. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "xtrk/capture.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"

/* ---- trees ---- */

struct tdiff {
	xtrk_odb *odb;
	xtrk_txn *txn;
	xtrk_tree_diff_cb cb;
	void *payload;
};

static int read_tree(xtrk_tree **out, struct tdiff *d, const xtrk_oid *id)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err = d->txn ? xtrk_txn_read(&b, d->txn, id) : xtrk_odb_read(&b, NULL, d->odb, id, XTRK_OBJ_TREE);
	if (err == 0 && (err = xtrk_tree_parse(out, b.ptr, b.size)) < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "tree %s: %s", xtrk_oid_tostr(id), xtrk_error_last());
	}
	xtrk_buf_dispose(&b);
	return err;
}

static int child_path(xtrk_buf *out, const char *prefix, const char *name)
{
	xtrk_buf_clear(out);
	return *prefix && strcmp(prefix, ".") ? xtrk_buf_printf(out, "%s/%s", prefix, name) : xtrk_buf_puts(out, name);
}

/* Report every file under a snapshot as added or removed. */
static int emit_all(struct tdiff *d, const xtrk_oid *id, int is_tree, xtrk_change change, const char *path)
{
	xtrk_tree *t;
	xtrk_buf child = XTRK_BUF_INIT;
	int err = 0;

	if (!is_tree)
		return d->cb(change, path, d->payload);
	if ((err = read_tree(&t, d, id)) < 0)
		return err;
	for (size_t i = 0; i < t->count && !err; i++) {
		const xtrk_tree_entry *e = &t->entries[i];
		err = child_path(&child, path, e->name) < 0 ? XTRK_ERROR
			: emit_all(d, &e->id, e->kind == XTRK_ENTRY_TREE, change, child.ptr);
	}
	xtrk_buf_dispose(&child);
	xtrk_tree_free(t);
	return err;
}

static int diff_rec(struct tdiff *d, const char *path, const xtrk_oid *a, int a_tree, const xtrk_oid *b, int b_tree)
{
	xtrk_tree *ta = NULL, *tb = NULL;
	xtrk_buf child = XTRK_BUF_INIT;
	size_t i = 0, j = 0;
	int err;

	if (a && b && a_tree == b_tree && !xtrk_oid_cmp(a, b))
		return 0;
	if (!a)
		return b ? emit_all(d, b, b_tree, XTRK_CHANGE_ADDED, path) : 0;
	if (!b)
		return emit_all(d, a, a_tree, XTRK_CHANGE_REMOVED, path);
	if (!a_tree && !b_tree)
		return d->cb(XTRK_CHANGE_MODIFIED, path, d->payload);
	if (a_tree != b_tree) {
		if ((err = emit_all(d, a, a_tree, XTRK_CHANGE_REMOVED, path)) < 0)
			return err;
		return emit_all(d, b, b_tree, XTRK_CHANGE_ADDED, path);
	}
	if ((err = read_tree(&ta, d, a)) < 0 || (err = read_tree(&tb, d, b)) < 0)
		goto done;
	/* Both lists are sorted by name: one merge pass. */
	while (!err && (i < ta->count || j < tb->count)) {
		const xtrk_tree_entry *ea = i < ta->count ? &ta->entries[i] : NULL;
		const xtrk_tree_entry *eb = j < tb->count ? &tb->entries[j] : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(ea->name, eb->name);
		if ((err = child_path(&child, path, c <= 0 ? ea->name : eb->name)) < 0)
			break;
		if (c < 0) {
			err = diff_rec(d, child.ptr, &ea->id, ea->kind == XTRK_ENTRY_TREE, NULL, 0);
			i++;
		} else if (c > 0) {
			err = diff_rec(d, child.ptr, NULL, 0, &eb->id, eb->kind == XTRK_ENTRY_TREE);
			j++;
		} else {
			/* A mode change alone (chmod +x) is a modification too. */
			if (ea->mode != eb->mode && !xtrk_oid_cmp(&ea->id, &eb->id) && ea->kind != XTRK_ENTRY_TREE)
				err = d->cb(XTRK_CHANGE_MODIFIED, child.ptr, d->payload);
			else
				err = diff_rec(d, child.ptr, &ea->id, ea->kind == XTRK_ENTRY_TREE, &eb->id,
					eb->kind == XTRK_ENTRY_TREE);
			i++;
			j++;
		}
	}
done:
	xtrk_tree_free(ta);
	xtrk_tree_free(tb);
	xtrk_buf_dispose(&child);
	return err;
}

int xtrk_tree_diff(xtrk_odb *odb, xtrk_txn *txn, const char *root, const xtrk_oid *a, int a_tree,
	const xtrk_oid *b, int b_tree, xtrk_tree_diff_cb cb, void *payload)
{
	struct tdiff d = { odb, txn, cb, payload };
	return diff_rec(&d, root, a, a_tree, b, b_tree);
}

/* ---- JSON helpers ---- */

/* Flatten objects and arrays alike ("gpus.0.name"), for the environment. */
static void flatten_all(json_t *out, json_t *v, xtrk_buf *prefix)
{
	size_t plen = prefix->size, i;
	const char *k;
	json_t *c;

	if (json_is_object(v) && json_object_size(v)) {
		json_object_foreach(v, k, c) {
			xtrk_buf_truncate(prefix, plen);
			xtrk_buf_printf(prefix, "%s%s", plen ? "." : "", k);
			flatten_all(out, c, prefix);
		}
	} else if (json_is_array(v) && json_array_size(v)) {
		json_array_foreach(v, i, c) {
			xtrk_buf_truncate(prefix, plen);
			xtrk_buf_printf(prefix, "%s%zu", plen ? "." : "", i);
			flatten_all(out, c, prefix);
		}
	} else if (plen) {
		json_object_set(out, prefix->ptr, v);
	}
	xtrk_buf_truncate(prefix, plen);
}

static json_t *flat(json_t *v, int arrays)
{
	xtrk_buf p = XTRK_BUF_INIT;
	json_t *out;
	if (!arrays)
		return json_is_object(v) ? xtrk_json_flatten(v) : json_object();
	out = json_object();
	flatten_all(out, v, &p);
	xtrk_buf_dispose(&p);
	return out;
}

/* {"changed": {k: [a, b]}, "added": {k: b}, "removed": {k: a}} of two flat objects. */
static json_t *compare_flat(json_t *fa, json_t *fb)
{
	json_t *changed = json_object(), *added = json_object(), *removed = json_object(), *v;
	const char *k;

	json_object_foreach(fa, k, v) {
		json_t *w = json_object_get(fb, k);
		if (!w)
			json_object_set(removed, k, v);
		else if (!json_equal(v, w))
			json_object_set_new(changed, k, json_pack("[O, O]", v, w));
	}
	json_object_foreach(fb, k, v)
		if (!json_object_get(fa, k))
			json_object_set(added, k, v);
	return json_pack("{s:o, s:o, s:o}", "changed", changed, "added", added, "removed", removed);
}

static json_t *compare_metrics(json_t *ma, json_t *mb)
{
	json_t *out = json_object(), *fa = flat(ma, 0), *fb = flat(mb, 0), *v;
	const char *k;

	json_object_foreach(fa, k, v) {
		json_t *w = json_object_get(fb, k);
		if (w && json_equal(v, w))
			continue;
		json_object_set_new(out, k, json_pack("{s:O, s:o, s:o}", "a", v, "b", w ? json_incref(w) : json_null(),
			"delta", w && json_is_number(v) && json_is_number(w)
				? json_real(json_number_value(w) - json_number_value(v)) : json_null()));
	}
	json_object_foreach(fb, k, v)
		if (!json_object_get(fa, k))
			json_object_set_new(out, k, json_pack("{s:o, s:O, s:o}", "a", json_null(), "b", v, "delta", json_null()));
	json_decref(fa);
	json_decref(fb);
	return out;
}

struct lists {
	json_t *added, *removed, *modified;
};

static int collect(xtrk_change c, const char *path, void *payload)
{
	struct lists *l = payload;
	json_array_append_new(c == XTRK_CHANGE_ADDED ? l->added : c == XTRK_CHANGE_REMOVED ? l->removed : l->modified,
		json_string(path));
	return 0;
}

static int entry_oid(xtrk_oid *out, json_t *e)
{
	const char *id = json_string_value(json_object_get(e, "id"));
	if (!e || !id)
		return 0;
	if (xtrk_oid_parse(out, id) < 0) {
		xtrk_error_clear();
		return 0;
	}
	return 1;
}

static const char *entry_str(json_t *e, const char *key)
{
	const char *v = json_string_value(json_object_get(e, key));
	return v ? v : "";
}

static int entry_is_tree(json_t *e)
{
	return e && !strcmp(entry_str(e, "kind"), "tree");
}

static const char *const match_names[] = { "name", "path", "id" };

/*
 * The key an entry is matched by in one pass: its name, its path, or its
 * content (kind and ID).  NULL when the entry has none (an empty name or
 * path, no valid ID): such an entry is not paired in that pass.
 */
static const char *match_key(xtrk_buf *buf, json_t *e, int pass)
{
	xtrk_oid id;
	xtrk_buf_clear(buf);
	if (pass < 2)
		return *entry_str(e, match_names[pass]) ? entry_str(e, match_names[pass]) : NULL;
	if (!entry_oid(&id, e))
		return NULL;
	return xtrk_buf_printf(buf, "%s:%s", entry_is_tree(e) ? "tree" : "blob", xtrk_oid_tostr(&id)) < 0 ? NULL : buf->ptr;
}

/*
 * Pair the entries of one data section of A with those of B, in three passes:
 * by name, then by path, then by content (same kind and ID).  Each entry is
 * paired at most once, and a pass sees only the entries the earlier passes
 * left unpaired, so a name match wins over a path match, which wins over an
 * ID match.  Within a pass, A's entries are taken in record order and each
 * takes the first unpaired entry of B with the same key (so of two entries
 * with the same content, the first is the one paired).  Each pass indexes B
 * by key once (a chain per key, advanced past paired entries), so pairing is
 * linear in the number of entries, whatever the records hold.
 * On return pair[i] is B's index for A's entry i, or -1; how[i] the pass.
 */
static int pair_entries(json_t *aa, json_t *ba, long *pair, int *how)
{
	size_t na = json_array_size(aa), nb = json_array_size(ba);
	long *next = NULL;
	char *used = NULL;
	json_t *head = NULL;
	xtrk_buf key = XTRK_BUF_INIT;
	int err = 0;

	for (size_t i = 0; i < na; i++) {
		pair[i] = -1;
		how[i] = -1;
	}
	if (!(next = calloc(nb ? nb : 1, sizeof(*next))) || !(used = calloc(nb ? nb : 1, 1))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (int pass = 0; pass < 3 && !err; pass++) {
		if (!(head = json_object())) {
			err = xtrk_error_oom();
			break;
		}
		/* From the end, so that each chain lists B's entries in record order. */
		for (size_t j = nb; j-- > 0;) {
			const char *k;
			json_t *h;
			if (used[j] || !(k = match_key(&key, json_array_get(ba, j), pass)))
				continue;
			next[j] = (h = json_object_get(head, k)) ? (long)json_integer_value(h) : -1;
			if (json_object_set_new(head, k, json_integer((json_int_t)j)) < 0) {
				err = xtrk_error_oom();
				break;
			}
		}
		for (size_t i = 0; i < na && !err; i++) {
			const char *k;
			json_t *h;
			long j;
			if (pair[i] >= 0 || !(k = match_key(&key, json_array_get(aa, i), pass)) || !(h = json_object_get(head, k)))
				continue;
			for (j = (long)json_integer_value(h); j >= 0 && used[j]; j = next[j])
				;
			if (j < 0) {
				json_integer_set(h, -1);
				continue;
			}
			used[j] = 1;
			pair[i] = j;
			how[i] = pass;
			json_integer_set(h, next[j]);
		}
		json_decref(head);
		head = NULL;
	}
done:
	free(next);
	free(used);
	xtrk_buf_dispose(&key);
	return err;
}

/* A new reference to e[key], or null when `e` or the field is absent. */
static json_t *field_or_null(json_t *e, const char *key)
{
	json_t *v = json_object_get(e, key);
	return v ? json_incref(v) : json_null();
}

/* The entry of a data section for A's entry `ea` and B's entry `eb` (either may be NULL). */
static int compare_entry(json_t *res, xtrk_repo *repo, xtrk_txn *dry, json_t *ea, json_t *eb, int how)
{
	xtrk_oid ia, ib;
	int ha = entry_oid(&ia, ea), hb = entry_oid(&ib, eb), ta = entry_is_tree(ea), tb = entry_is_tree(eb);
	json_t *now = eb ? eb : ea, *e;
	const char *name = entry_str(now, "name"), *path = entry_str(now, "path");
	int renamed = ea && eb && strcmp(entry_str(ea, "name"), name);
	int moved = ea && eb && strcmp(entry_str(ea, "path"), path);
	struct lists l = { json_array(), json_array(), json_array() };
	int err = 0;

	if (ea && eb && ha && hb && ta == tb && !xtrk_oid_cmp(&ia, &ib) && !renamed && !moved) {
		json_decref(l.added);
		json_decref(l.removed);
		json_decref(l.modified);
		return 0; /* the same entry: nothing to report */
	}
	/* File paths are given under the path of the entry as it is in B (in A when B has no such entry). */
	err = xtrk_tree_diff(xtrk_repo_odb(repo), dry, *path ? path : name, ha ? &ia : NULL, ta, hb ? &ib : NULL, tb,
		collect, &l);
	e = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", name, "path", path,
		"change", !ea ? "added" : !eb ? "removed" : renamed || moved ? "renamed" : "modified",
		"renamed_from", renamed ? json_string(entry_str(ea, "name")) : json_null(),
		"path_from", moved ? json_string(entry_str(ea, "path")) : json_null(),
		"matched_by", how >= 0 ? json_string(match_names[how]) : json_null(),
		"added", l.added, "removed", l.removed, "modified", l.modified,
		"bytes_a", field_or_null(ea, "bytes"), "bytes_b", field_or_null(eb, "bytes"),
		"id_a", field_or_null(ea, "id"), "id_b", field_or_null(eb, "id"));
	if (!e || json_array_append_new(res, e) < 0)
		return err < 0 ? err : xtrk_error_oom();
	return err;
}

/*
 * One data section (datasets, models or artifacts): the entries that differ,
 * A's in record order (each with the entry of B it was paired with, if any),
 * then B's unpaired entries in record order.  Entries that are the same on
 * both sides (name, path and content) are left out.
 */
static int compare_data(json_t **out, xtrk_repo *repo, xtrk_txn *dry, json_t *aa, json_t *ba)
{
	size_t na = json_array_size(aa), nb = json_array_size(ba);
	json_t *res = json_array();
	long *pair = calloc(na ? na : 1, sizeof(*pair));
	int *how = calloc(na ? na : 1, sizeof(*how));
	char *paired = calloc(nb ? nb : 1, 1);
	int err = 0;

	if (!res || !pair || !how || !paired) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = pair_entries(aa, ba, pair, how)) < 0)
		goto done;
	for (size_t i = 0; i < na && !err; i++) {
		if (pair[i] >= 0)
			paired[pair[i]] = 1;
		err = compare_entry(res, repo, dry, json_array_get(aa, i), pair[i] >= 0 ? json_array_get(ba, pair[i]) : NULL,
			how[i]);
	}
	for (size_t j = 0; j < nb && !err; j++)
		if (!paired[j])
			err = compare_entry(res, repo, dry, NULL, json_array_get(ba, j), -1);
done:
	free(pair);
	free(how);
	free(paired);
	if (err < 0) {
		json_decref(res);
		return err;
	}
	*out = res;
	return 0;
}

/* The untracked files of two sources: {"added", "removed", "modified"} paths, from their trees. */
static int compare_untracked(json_t **out, xtrk_repo *repo, xtrk_txn *dry, json_t *sa, json_t *sb)
{
	struct lists l = { json_array(), json_array(), json_array() };
	xtrk_oid ia, ib;
	int ha = entry_oid(&ia, json_object_get(sa, "untracked_content"));
	int hb = entry_oid(&ib, json_object_get(sb, "untracked_content"));
	int err = 0;

	*out = NULL;
	if ((ha || hb) && (!ha || !hb || xtrk_oid_cmp(&ia, &ib)))
		err = xtrk_tree_diff(xtrk_repo_odb(repo), dry, "", ha ? &ia : NULL, 1, hb ? &ib : NULL, 1, collect, &l);
	if (err < 0) {
		json_decref(l.added);
		json_decref(l.removed);
		json_decref(l.modified);
		return err;
	}
	/* json_pack takes the arrays, even when it fails. */
	if (!(*out = json_pack("{s:o, s:o, s:o}", "added", l.added, "removed", l.removed, "modified", l.modified)))
		return xtrk_error_oom();
	return 0;
}

/* 1 when a[key] equals b[key], an absent field being the same as null. */
static int same_field(json_t *a, json_t *b, const char *key)
{
	json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
	return json_equal(va ? va : json_null(), vb ? vb : json_null());
}

/* Source: the two commits, how far apart they are, and the commit subjects between. */
static json_t *compare_source(xtrk_repo *repo, json_t *sa, json_t *sb)
{
	const char *ca = json_string_value(json_object_get(sa, "commit"));
	const char *cb = json_string_value(json_object_get(sb, "commit"));
	json_t *out = json_object(), *subjects = json_array();
	git_repository *g = NULL;
	git_oid oa, ob;
	git_revwalk *walk = NULL;
	size_t ahead, behind;

	json_object_set_new(out, "a", ca ? json_string(ca) : json_null());
	json_object_set_new(out, "b", cb ? json_string(cb) : json_null());
	json_object_set_new(out, "commits_between", json_null());
	json_object_set_new(out, "patch_changed",
		json_boolean(!same_field(sa, sb, "patch")));
	json_object_set_new(out, "dirty_a", json_boolean(json_is_true(json_object_get(sa, "dirty"))));
	json_object_set_new(out, "dirty_b", json_boolean(json_is_true(json_object_get(sb, "dirty"))));
	if (ca && cb && strcmp(ca, cb) && git_repository_open_ext(&g, xtrk_repo_workdir(repo), 0, NULL) == 0 &&
	    git_oid_fromstr(&oa, ca) == 0 && git_oid_fromstr(&ob, cb) == 0 &&
	    git_graph_ahead_behind(&ahead, &behind, g, &ob, &oa) == 0) {
		json_object_set_new(out, "commits_between", json_integer((json_int_t)(ahead + behind)));
		json_object_set_new(out, "ahead", json_integer((json_int_t)ahead));
		json_object_set_new(out, "behind", json_integer((json_int_t)behind));
		/* The subjects of the commits B has that A has not (at most 50). */
		if (git_revwalk_new(&walk, g) == 0 && git_revwalk_push(walk, &ob) == 0 && git_revwalk_hide(walk, &oa) == 0) {
			git_oid id;
			while (json_array_size(subjects) < 50 && git_revwalk_next(&id, walk) == 0) {
				git_commit *c;
				char hex[GIT_OID_HEXSZ + 1];
				if (git_commit_lookup(&c, g, &id) < 0)
					break;
				git_oid_tostr(hex, sizeof(hex), &id);
				json_array_append_new(subjects, json_pack("{s:s, s:s}", "id", hex,
					"subject", git_commit_summary(c) ? git_commit_summary(c) : ""));
				git_commit_free(c);
			}
		}
	} else if (ca && cb && !strcmp(ca, cb)) {
		json_object_set_new(out, "commits_between", json_integer(0));
	}
	git_error_clear();
	json_object_set_new(out, "commits", subjects);
	git_revwalk_free(walk);
	git_repository_free(g);
	return out;
}

json_t *xtrk_env_compare(json_t *env_a, json_t *env_b)
{
	json_t *fa = flat(env_a, 1), *fb = flat(env_b, 1), *out = compare_flat(fa, fb);
	json_decref(fa);
	json_decref(fb);
	return out;
}

int xtrk_diff_runs(json_t **out, xtrk_repo *repo, json_t *a, json_t *b, const xtrk_diff_options *opts)
{
	xtrk_txn *dry = opts ? opts->dry : NULL;
	json_t *d = json_object(), *fa, *fb, *section;
	int err = 0;

	*out = NULL;
	json_object_set(d, "a", json_object_get(a, "id"));
	json_object_set(d, "b", json_object_get(b, "id") ? json_object_get(b, "id") : json_null());
	fa = flat(json_object_get(a, "params"), 0);
	fb = flat(json_object_get(b, "params"), 0);
	json_object_set_new(d, "params", compare_flat(fa, fb));
	json_decref(fa);
	json_decref(fb);
	/* The workspace has no metrics of its own: nothing to compare. */
	json_object_set_new(d, "metrics", json_is_true(json_object_get(b, "workspace")) ? json_object()
		: compare_metrics(json_object_get(a, "metrics"), json_object_get(b, "metrics")));
	for (size_t i = 0; i < XTRK_RECORD_NGROUPS && !err; i++) {
		err = compare_data(&section, repo, dry, json_object_get(a, xtrk_record_groups[i]),
			json_object_get(b, xtrk_record_groups[i]));
		if (!err)
			json_object_set_new(d, xtrk_record_groups[i], section);
	}
	json_object_set_new(d, "env", xtrk_env_compare(json_object_get(a, "env"), json_object_get(b, "env")));
	json_object_set_new(d, "source", compare_source(repo, json_object_get(a, "source"), json_object_get(b, "source")));
	if (!err) {
		json_t *u;
		if ((err = compare_untracked(&u, repo, dry, json_object_get(a, "source"), json_object_get(b, "source"))) == 0)
			json_object_set_new(json_object_get(d, "source"), "untracked", u);
	}
	if (err < 0) {
		json_decref(d);
		return err;
	}
	*out = d;
	return 0;
}

static int section_changed(json_t *diff, const char *name)
{
	json_t *s = json_object_get(diff, name);
	if (!s)
		return 0;
	if (!strcmp(name, "params") || !strcmp(name, "env"))
		return json_object_size(json_object_get(s, "changed")) || json_object_size(json_object_get(s, "added")) ||
			json_object_size(json_object_get(s, "removed"));
	if (!strcmp(name, "metrics"))
		return json_object_size(s) > 0;
	if (!strcmp(name, "source")) {
		json_t *ca = json_object_get(s, "a"), *cb = json_object_get(s, "b");
		json_t *u = json_object_get(s, "untracked");
		return !json_equal(ca, cb) || json_is_true(json_object_get(s, "patch_changed")) ||
			!json_equal(json_object_get(s, "dirty_a"), json_object_get(s, "dirty_b")) ||
			json_array_size(json_object_get(u, "added")) || json_array_size(json_object_get(u, "removed")) ||
			json_array_size(json_object_get(u, "modified"));
	}
	return json_array_size(s) > 0;
}

int xtrk_diff_has_changes(json_t *diff, const char *const *sections)
{
	static const char *const all[] = { "params", "metrics", "datasets", "models", "artifacts", "env", "source", NULL };
	for (const char *const *s = sections ? sections : all; *s; s++)
		if (section_changed(diff, *s))
			return 1;
	return 0;
}
