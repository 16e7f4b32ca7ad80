/* Store checking: object integrity, reachability from refs, and content hashes. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/fsck.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"
#include "xtrk/tree.h"

struct fsck {
	xtrk_repo *repo;
	const xtrk_fsck_options *o;
	xtrk_fsck_result *r;
	xtrk_oidset seen;
	xtrk_oidset bad; /* objects already reported as damaged */
};

static void problem(struct fsck *f, const xtrk_oid *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct fsck *f, const xtrk_oid *id, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->r->problems++;
	if (f->o->problem)
		f->o->problem(id ? xtrk_oid_tostr(id) : NULL, msg, f->o->payload);
}

static int each_object(const xtrk_odb_entry *e, void *payload)
{
	struct fsck *f = payload;
	f->r->objects++;
	if (f->o->read_data && xtrk_odb_check(xtrk_repo_odb(f->repo), &e->oid, 1) < 0) {
		problem(f, &e->oid, "%s", xtrk_error_last());
		xtrk_oidset_add(&f->bad, &e->oid);
	} else if (f->o->read_data && (e->type == XTRK_OBJ_TREE || e->type == XTRK_OBJ_RUN)) {
		/* The hash covers the content, not the type byte: the content must read as its stored type. */
		xtrk_tree *t = NULL;
		json_t *run = NULL;
		int err = e->type == XTRK_OBJ_TREE ? xtrk_tree_read(&t, xtrk_repo_odb(f->repo), &e->oid)
						   : xtrk_run_read(&run, f->repo, &e->oid);
		if (err < 0) {
			problem(f, &e->oid, "object %s is stored as a %s but does not read as one: %s",
				xtrk_oid_tostr(&e->oid), xtrk_otype_name(e->type), xtrk_error_last());
			xtrk_oidset_add(&f->bad, &e->oid);
		}
		xtrk_tree_free(t);
		json_decref(run);
	}
	xtrk_error_clear();
	return 0;
}

static void bad_file(const char *where, const char *what, void *payload)
{
	struct fsck *f = payload;
	const char *slash = strrchr(where, '/');
	xtrk_oid id;
	char hex[XTRK_OID_HEXSZ + 1];
	int have = 0;
	/* A loose object's path spells its ID: ".../ab/cdef...". */
	if (slash && slash - where >= 2 && strlen(slash + 1) == XTRK_OID_HEXSZ - 2) {
		snprintf(hex, sizeof(hex), "%.2s%s", slash - 2, slash + 1);
		have = xtrk_oid_parse(&id, hex) == 0;
	}
	if (have)
		xtrk_oidset_add(&f->bad, &id);
	f->r->objects++;
	problem(f, have ? &id : NULL, "%s", what);
	xtrk_error_clear();
}

/* An object's stored type against one use of it (a flipped type byte, or a record naming the wrong kind). */
static int use_fits(struct fsck *f, const xtrk_oid *id, xtrk_otype t, uint64_t size, xtrk_otype type,
	uint64_t bytes, const char *what, const xtrk_oid *run)
{
	char hex[XTRK_OID_HEXSZ + 1], r[XTRK_OID_HEXSZ + 1];
	xtrk_oid_fmt(hex, id);
	xtrk_oid_fmt(r, run);
	if (!xtrk_odb_type_fits(t, size, type)) {
		if (xtrk_oidset_add(&f->bad, id))
			problem(f, id, "object %s is stored as a %s but used as a %s (%s of run %s)", hex,
				xtrk_otype_name(t), xtrk_otype_name(type), what, r);
		return 0;
	}
	/* A file's size is in its record or tree: a record naming another object than the file it describes. */
	if (type == XTRK_OBJ_BLOB && bytes != XTRK_REACH_SIZE_UNKNOWN && bytes != size) {
		problem(f, id, "file %s holds %llu bytes but is recorded as %llu (%s of run %s)", hex,
			(unsigned long long)size, (unsigned long long)bytes, what, r);
		return 0;
	}
	return 1;
}

/*
 * Check that an object is present, of the right type and (a file) of the size recorded for it;
 * the content was checked in the object pass.
 */
static int need_sized(struct fsck *f, const char *hex, xtrk_otype type, uint64_t bytes, const char *what,
	const xtrk_oid *run)
{
	xtrk_oid id;
	xtrk_otype t;
	uint64_t size;
	if (!hex)
		return 0;
	if (xtrk_oid_parse(&id, hex) < 0) {
		problem(f, run, "%s: '%s' is not an object ID", what, hex);
		return 0;
	}
	if (xtrk_oidset_add(&f->seen, &id) == 0) {
		/* Walked already; but this use may want another type. */
		if (!xtrk_oidset_has(&f->bad, &id) && xtrk_odb_stat(&size, &t, xtrk_repo_odb(f->repo), &id) == 0)
			use_fits(f, &id, t, size, type, bytes, what, run);
		xtrk_error_clear();
		return 0;
	}
	if (xtrk_odb_stat(&size, &t, xtrk_repo_odb(f->repo), &id) < 0) {
		if (!xtrk_oidset_add(&f->bad, &id))
			return 0;
		problem(f, &id, "%s %s is missing or unreadable (%s of run %s)", xtrk_otype_name(type), hex, what,
			xtrk_oid_tostr(run));
		xtrk_error_clear();
		return 0;
	}
	return use_fits(f, &id, t, size, type, bytes, what, run);
}

struct fsck_run {
	struct fsck *f;
	const xtrk_oid *run;
	int partial; /* the run was imported without its data files, so they may be absent */
};

static int fsck_read_tree(xtrk_tree **out, const xtrk_record_object *o, int depth, void *payload)
{
	struct fsck_run *w = payload;
	(void)depth;
	if (xtrk_tree_read(out, xtrk_repo_odb(w->f->repo), &o->id) < 0) {
		if (xtrk_oidset_add(&w->f->bad, &o->id))
			problem(w->f, &o->id, "%s (%s of run %s)", xtrk_error_last(), o->what, xtrk_oid_tostr(w->run));
		xtrk_error_clear();
		return 1;
	}
	return 0;
}

static int fsck_object(const xtrk_record_object *o, void *payload)
{
	struct fsck_run *w = payload;
	if (w->partial && o->is_data && o->type == XTRK_OBJ_BLOB)
		return 0;
	return need_sized(w->f, o->hex, o->type, o->bytes, o->what, w->run);
}

static void check_run(struct fsck *f, const xtrk_run_ref *ref)
{
	struct fsck_run w = { f, &ref->run, 0 };
	xtrk_record_visitor v = { fsck_object, fsck_read_tree, &w };
	json_t *run;

	f->r->runs++;
	if (xtrk_run_read(&run, f->repo, &ref->run) < 0) {
		if (xtrk_oidset_add(&f->bad, &ref->run))
			problem(f, &ref->run, "run %s of experiment '%s' cannot be read: %s", xtrk_oid_tostr(&ref->run),
				ref->experiment, xtrk_error_last());
		xtrk_error_clear();
		return;
	}
	xtrk_oidset_add(&f->seen, &ref->run);
	if (strcmp(xtrk_record_str(run, XTRK_REC_EXPERIMENT), ref->experiment))
		problem(f, &ref->run, "run %s is filed under experiment '%s' but records '%s'",
			xtrk_oid_tostr(&ref->run), ref->experiment, xtrk_record_str(run, XTRK_REC_EXPERIMENT));
	w.partial = xtrk_refs_partial(f->repo, &ref->run);
	f->r->partial_runs += w.partial;
	/* The untracked source files are never left out, not even by a bundle without data. */
	xtrk_record_foreach_object(run, NULL, &v);
	json_decref(run);
}

/* ---- refs: files named by what they hold, never links ---- */

static _Thread_local struct fsck *refs_fsck;
static _Thread_local size_t refs_root_len;

static int check_ref(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct fsck *f = refs_fsck;
	const char *rel = path + refs_root_len + 1;
	(void)st;
	if (ftw->level == 0)
		return 0;
	if (flag == FTW_SL || flag == FTW_SLN) {
		char target[256];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		problem(f, NULL, "%s is a symbolic link (to '%s'); xtrk never writes links among its refs", rel, target);
	} else if (flag == FTW_DNR || flag == FTW_NS) {
		problem(f, NULL, "%s cannot be read", rel);
	} else if (flag == FTW_F && ftw->level == 3 && !strncmp(rel, "refs/experiments/", 17)) {
		/* refs/experiments/EXP/ID holds ID */
		const char *name = path + ftw->base;
		xtrk_buf b = XTRK_BUF_INIT;
		xtrk_oid named, held;
		if (strlen(name) == XTRK_OID_HEXSZ && xtrk_oid_parse(&named, name) == 0) {
			if (xtrk_buf_read_file(&b, path) == 0) {
				while (b.size && (b.ptr[b.size - 1] == '\n' || b.ptr[b.size - 1] == '\r'))
					xtrk_buf_truncate(&b, b.size - 1);
				if (xtrk_oid_parse(&held, b.ptr) < 0)
					problem(f, &named, "%s does not hold a run ID", rel);
				else if (xtrk_oid_cmp(&held, &named))
					problem(f, &named, "%s holds another run's ID (%s) than its name", rel,
						xtrk_oid_tostr(&held));
			} else {
				problem(f, &named, "%s cannot be read: %s", rel, xtrk_error_last());
			}
			xtrk_buf_dispose(&b);
			xtrk_error_clear();
		}
	}
	return 0;
}

static void check_refs(struct fsck *f)
{
	xtrk_buf p = XTRK_BUF_INIT;
	xtrk_buf_printf(&p, "%s/refs", xtrk_repo_dir(f->repo));
	refs_fsck = f;
	refs_root_len = p.size - 5;
	if (!xtrk_buf_oom(&p) && nftw(p.ptr, check_ref, 16, FTW_PHYS) < 0 && errno != ENOENT)
		problem(f, NULL, "refs cannot be read: %s", strerror(errno));
	refs_fsck = NULL;
	xtrk_buf_dispose(&p);
}

static void note_problem(const xtrk_oid *run, const char *what, void *payload)
{
	problem(payload, run, "%s", what);
}

static size_t count_temp(xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	xtrk_buf_printf(&p, "%s/objects/tmp", xtrk_repo_dir(repo));
	if ((d = opendir(p.ptr))) {
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
	}
	xtrk_buf_dispose(&p);
	return n;
}

int xtrk_fsck(xtrk_fsck_result *out, xtrk_repo *repo, const xtrk_fsck_options *o)
{
	struct fsck f;
	xtrk_run_ref *refs = NULL;
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t n = 0, ntags = 0;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&f, 0, sizeof(f));
	f.repo = repo;
	f.o = o;
	f.r = out;
	if ((err = xtrk_odb_foreach(xtrk_repo_odb(repo), each_object, bad_file, &f)) < 0)
		goto done;
	if ((err = xtrk_refs_list_runs(&refs, &n, repo, NULL)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		check_run(&f, &refs[i]);
	check_refs(&f);
	if ((err = xtrk_refs_tags(&names, &targets, &ntags, repo)) < 0) {
		problem(&f, NULL, "tags cannot be read: %s", xtrk_error_last());
		err = 0;
	}
	for (size_t i = 0; i < ntags; i++) {
		xtrk_otype t;
		if (xtrk_oid_is_zero(&targets[i]))
			problem(&f, NULL, "tag '%s' does not hold a run ID", names[i]);
		else if (xtrk_odb_stat(NULL, &t, xtrk_repo_odb(repo), &targets[i]) < 0 || t != XTRK_OBJ_RUN)
			problem(&f, &targets[i], "tag '%s' names %s, which is not a run in the store", names[i],
				xtrk_oid_tostr(&targets[i]));
	}
	xtrk_notes_check(repo, note_problem, &f);
	xtrk_stages_check(repo, note_problem, &f);
	if (xtrk_index_check(repo, note_problem, &f) < 0)
		problem(&f, NULL, "the run index cannot be checked: %s", xtrk_error_last());
	xtrk_error_clear();
	out->temp_files = count_temp(repo);
done:
	xtrk_refs_tags_free(names, targets, ntags);
	free(refs);
	xtrk_oidset_dispose(&f.seen);
	xtrk_oidset_dispose(&f.bad);
	return err;
}
