/* Store size by kind and experiment, and what deduplication saves (xtrk/du.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileutil.h"
#include "xtrk/du.h"
#include "xtrk/errors.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

const char *const xtrk_du_kind_names[XTRK_DU_NKINDS] = { "records", "datasets", "models", "artifacts", "logs",
	"series", "source", "params", "notes", "unreachable" };

/* An object reached, with the kind and experiment of the first run that reached it. */
struct owner {
	xtrk_oid oid;
	int kind;
	long exp; /* index in the result's experiments, or -1 */
};

struct du {
	xtrk_repo *repo;
	xtrk_odb *odb;
	xtrk_du_result *r;
	xtrk_oidset seen;    /* reach's: objects visited (and walked-tree sentinels) */
	xtrk_oidset runs;    /* runs walked */
	xtrk_oidset counted; /* objects whose content size went into `unique` */
	struct owner *own;
	size_t nown, aown;
	long exp;            /* the run being walked */
	json_t *run;
};

static int kind_of(const xtrk_record_object *o)
{
	switch (o->role) {
	case XTRK_RECORD_RUN: return XTRK_DU_RECORDS;
	case XTRK_RECORD_SERIES: return XTRK_DU_SERIES;
	case XTRK_RECORD_STDOUT:
	case XTRK_RECORD_STDERR: return XTRK_DU_LOGS;
	case XTRK_RECORD_PARAMS_FILE: return XTRK_DU_PARAMS;
	case XTRK_RECORD_PROFILE: return XTRK_DU_DATASETS;
	case XTRK_RECORD_DATA:
		if (o->group && !strcmp(o->group, "models"))
			return XTRK_DU_MODELS;
		if (o->group && !strcmp(o->group, "artifacts"))
			return XTRK_DU_ARTIFACTS;
		return XTRK_DU_DATASETS;
	default: return XTRK_DU_SOURCE;
	}
}

static int own_add(struct du *d, const xtrk_oid *oid, int kind, long exp)
{
	if (d->nown == d->aown) {
		size_t na = d->aown ? d->aown * 2 : 1024;
		struct owner *np = realloc(d->own, na * sizeof(*np));
		if (!np)
			return xtrk_error_oom();
		d->own = np;
		d->aown = na;
	}
	d->own[d->nown].oid = *oid;
	d->own[d->nown].kind = kind;
	d->own[d->nown].exp = exp;
	d->nown++;
	return 0;
}

static int visit(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	(void)id, (void)type, (void)is_data, (void)payload;
	return 0;
}

static int visit_object(const xtrk_record_object *o, void *payload)
{
	struct du *d = payload;
	return own_add(d, &o->id, kind_of(o), d->exp);
}

/* A du is a report: a tree that is absent (a partial run, a damaged store) is walked as empty. */
static int read_tree(xtrk_buf *out, const xtrk_oid *id, void *payload)
{
	struct du *d = payload;
	int err = xtrk_odb_read(out, NULL, d->odb, id, XTRK_OBJ_TREE);
	if (err == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		xtrk_buf_clear(out);
		return 0;
	}
	return err;
}

/* What one run references: each object the record names by its size, data by the size recorded for it. */
static int referenced_object(const xtrk_record_object *o, void *payload)
{
	struct du *d = payload;
	uint64_t bytes = 0, size;
	int kind = kind_of(o);

	if (o->role == XTRK_RECORD_DATA || !o->id_ok)
		return 0; /* data: from the groups below */
	if (o->type == XTRK_OBJ_TREE) {
		json_t *b = json_object_get(json_object_get(json_object_get(d->run, "source"), "untracked_content"), "bytes");
		bytes = json_is_integer(b) && json_integer_value(b) > 0 ? (uint64_t)json_integer_value(b) : 0;
	} else if (o->bytes != XTRK_RECORD_SIZE_UNKNOWN) {
		bytes = o->bytes;
	} else if (xtrk_odb_stat(&size, NULL, d->odb, &o->id) == 0) {
		bytes = size;
	} else {
		xtrk_error_clear();
	}
	d->r->referenced_kinds[kind] += bytes;
	d->r->experiments[d->exp].referenced += bytes;
	return 0;
}

static int referenced_run(struct du *d, const xtrk_oid *id)
{
	xtrk_record_visitor v = { referenced_object, NULL, d };
	int err = xtrk_record_foreach_object(d->run, id, &v);
	if (err < 0)
		return err;
	for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++) {
		json_t *e;
		size_t i;
		int kind = g == 0 ? XTRK_DU_DATASETS : g == 1 ? XTRK_DU_MODELS : XTRK_DU_ARTIFACTS;
		json_array_foreach(json_object_get(d->run, xtrk_record_groups[g]), i, e) {
			json_t *b = json_object_get(e, "bytes");
			uint64_t bytes = json_is_integer(b) && json_integer_value(b) > 0 ? (uint64_t)json_integer_value(b) : 0;
			d->r->referenced_kinds[kind] += bytes;
			d->r->experiments[d->exp].referenced += bytes;
		}
	}
	return 0;
}

static long experiment(struct du *d, const char *name)
{
	xtrk_du_result *r = d->r;
	xtrk_du_experiment *np;
	for (size_t i = 0; i < r->nexperiments; i++)
		if (!strcmp(r->experiments[i].name, name))
			return (long)i;
	if (!(np = realloc(r->experiments, (r->nexperiments + 1) * sizeof(*np))))
		return xtrk_error_oom();
	r->experiments = np;
	memset(&np[r->nexperiments], 0, sizeof(*np));
	snprintf(np[r->nexperiments].name, sizeof(np->name), "%s", name);
	return (long)r->nexperiments++;
}

/* Walk one run: what it references, and (once) what it reaches. A run that cannot be read is fsck's to report. */
static int walk_run(struct du *d, const xtrk_oid *id, const char *exp)
{
	xtrk_reach reach;
	long e;
	int fresh, err;

	if ((fresh = xtrk_oidset_add(&d->runs, id)) <= 0)
		return fresh < 0 ? xtrk_error_oom() : 0;
	if ((e = experiment(d, exp)) < 0)
		return (int)e;
	if (xtrk_run_read_record(&d->run, d->repo, id) < 0) {
		xtrk_error_clear();
		return 0;
	}
	d->exp = e;
	d->r->runs++;
	d->r->experiments[e].runs++;
	memset(&reach, 0, sizeof(reach));
	reach.read_tree = read_tree;
	reach.visit = visit;
	reach.visit_object = visit_object;
	reach.payload = d;
	reach.odb = d->odb;
	reach.seen = &d->seen;
	reach.chunks = 1;
	if ((err = referenced_run(d, id)) == 0 && (err = xtrk_reach_run(&reach, id, d->run)) < 0 &&
	    (err == XTRK_ENOTFOUND || err == XTRK_ECORRUPT)) {
		xtrk_error_clear(); /* a damaged run: what it reached so far stays counted */
		err = 0;
	}
	json_decref(d->run);
	d->run = NULL;
	return err;
}

static int by_ref(const void *a, const void *b)
{
	const xtrk_run_ref *x = a, *y = b;
	int c = strcmp(x->experiment, y->experiment);
	return c ? c : xtrk_oid_cmp(&x->run, &y->run);
}

static int by_oid(const void *a, const void *b)
{
	return xtrk_oid_cmp(&((const struct owner *)a)->oid, &((const struct owner *)b)->oid);
}

/* refs/notes/RUN/NOTE and refs/stages/RUN/RECORD: each note's or stage record's object (counted as notes). */
static int walk_notes(struct du *d, const char *ns)
{
	xtrk_buf base = XTRK_BUF_INIT, p = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
	DIR *dd, *e;
	struct dirent *de, *fe;
	int err = 0;

	if (xtrk_buf_printf(&base, "%s/refs/%s", xtrk_repo_dir(d->repo), ns) < 0)
		return xtrk_error_oom();
	if (!(dd = opendir(base.ptr))) {
		xtrk_buf_dispose(&base);
		return 0;
	}
	while (!err && (de = readdir(dd))) {
		if (de->d_name[0] == '.')
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", base.ptr, de->d_name);
		if (xtrk_buf_oom(&p) || !(e = opendir(p.ptr)))
			continue;
		while (!err && (fe = readdir(e))) {
			size_t pl = p.size;
			xtrk_oid id;
			int fresh;
			if (fe->d_name[0] == '.')
				continue;
			xtrk_buf_printf(&p, "/%s", fe->d_name);
			xtrk_buf_clear(&text);
			if (!xtrk_buf_oom(&p) && xtrk_buf_read_file(&text, p.ptr) == 0 && text.size >= XTRK_OID_HEXSZ) {
				text.ptr[XTRK_OID_HEXSZ] = '\0';
				if (xtrk_oid_parse(&id, text.ptr) == 0) {
					if ((fresh = xtrk_oidset_add(&d->seen, &id)) < 0)
						err = xtrk_error_oom();
					else if (fresh)
						err = own_add(d, &id, XTRK_DU_NOTES, -1);
				}
			}
			xtrk_error_clear();
			xtrk_buf_truncate(&p, pl);
		}
		closedir(e);
	}
	closedir(dd);
	xtrk_buf_dispose(&base);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&text);
	return err;
}

static int stored_object(const xtrk_odb_entry *e, void *payload)
{
	struct du *d = payload;
	xtrk_du_result *r = d->r;
	struct owner key, *o;
	int kind = XTRK_DU_UNREACHABLE;

	key.oid = e->oid;
	o = d->nown ? bsearch(&key, d->own, d->nown, sizeof(*d->own), by_oid) : NULL;
	if (o) {
		int fresh;
		kind = o->kind;
		if (o->exp >= 0) {
			r->experiments[o->exp].stored.objects++;
			r->experiments[o->exp].stored.stored += e->stored;
		}
		r->stored_live += e->stored;
		if ((fresh = xtrk_oidset_add(&d->counted, &e->oid)) < 0)
			return xtrk_error_oom();
		if (fresh && e->type != XTRK_OBJ_TREE)
			r->unique += e->size;
	}
	r->kinds[kind].objects++;
	r->kinds[kind].stored += e->stored;
	if (e->packed) {
		r->packed.objects++;
		r->packed.stored += e->stored;
	} else {
		r->loose.objects++;
		r->loose.stored += e->stored;
	}
	return 0;
}

static void stored_bad(const char *where, const char *problem, void *payload)
{
	(void)where, (void)problem, (void)payload; /* fsck's to report */
}

/* nftw has no payload: the sums of the one du running in this thread. */
static _Thread_local uint64_t files_total, packs_total;

static int file_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		size_t n = strlen(path);
		files_total += (uint64_t)st->st_size;
		if (strstr(path, "/objects/pack/pack-") &&
		    ((n > 5 && !strcmp(path + n - 5, ".pack")) || (n > 4 && !strcmp(path + n - 4, ".idx"))))
			packs_total += (uint64_t)st->st_size;
	}
	return 0;
}

void xtrk_du_result_dispose(xtrk_du_result *r)
{
	free(r->experiments);
	r->experiments = NULL;
	r->nexperiments = 0;
}

int xtrk_du(xtrk_du_result *out, xtrk_repo *repo)
{
	struct du d;
	xtrk_run_ref *refs = NULL, *removed = NULL;
	size_t nrefs = 0, nremoved = 0, ntags = 0;
	char **tnames = NULL;
	xtrk_oid *ttargets = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.repo = repo;
	d.odb = xtrk_repo_odb(repo);
	d.r = out;
	if ((err = xtrk_refs_list_runs(&refs, &nrefs, repo, NULL)) < 0 ||
	    (err = xtrk_removed_list(&removed, &nremoved, repo)) < 0 ||
	    (err = xtrk_refs_tags(&tnames, &ttargets, &ntags, repo)) < 0)
		goto done;
	xtrk_sort(refs, nrefs, sizeof(*refs), by_ref);
	for (size_t i = 0; i < nrefs && !err; i++)
		err = walk_run(&d, &refs[i].run, refs[i].experiment);
	for (size_t i = 0; i < nremoved && !err; i++)
		err = walk_run(&d, &removed[i].run, "(removed)");
	for (size_t i = 0; i < ntags && !err; i++)
		err = walk_run(&d, &ttargets[i], "(tagged)");
	if (!err)
		err = walk_notes(&d, "notes");
	if (err == 0)
		err = walk_notes(&d, "stages");
	if (err < 0)
		goto done;
	xtrk_sort(d.own, d.nown, sizeof(*d.own), by_oid);
	if ((err = xtrk_odb_foreach(d.odb, stored_object, stored_bad, &d)) < 0)
		goto done;
	files_total = packs_total = 0;
	if (nftw(xtrk_repo_dir(repo), file_size, 16, FTW_PHYS) < 0) {
		err = xtrk_error_errno("cannot read '%s'", xtrk_repo_dir(repo));
		goto done;
	}
	out->total_bytes = files_total;
	out->pack_file_bytes = packs_total;
	/* Files that changed between the two passes (a concurrent writer) must not make it wrap. */
	out->other_bytes = files_total > out->loose.stored + packs_total ? files_total - out->loose.stored - packs_total : 0;
	for (size_t k = 0; k < XTRK_DU_NKINDS; k++)
		out->referenced += out->referenced_kinds[k];
done:
	if (err < 0)
		xtrk_du_result_dispose(out);
	free(refs);
	free(removed);
	xtrk_refs_tags_free(tnames, ttargets, ntags);
	free(d.own);
	xtrk_oidset_dispose(&d.seen);
	xtrk_oidset_dispose(&d.runs);
	xtrk_oidset_dispose(&d.counted);
	return err;
}
