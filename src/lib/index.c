/*
 * The run index as queries use it: flattened run records in the immutable,
 * mmap'd segment files of index_seg.c, checked against the refs each time it
 * is opened, merged when there are many, and looked up by key.
 * See xtrk/index.h for the design and xtrk-format(5) for the file layout.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "index_seg.h"
#include "index_view.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

#define MERGE_AT 16        /* segments; more are merged into one on open */

/* A run read from its object because no segment holds it. */
struct memrun {
	json_t *flat; /* key -> leaf, environment included */
};

struct entry {
	xtrk_oid id;
	const char *exp;
	const char *started;
	size_t started_len;
	int seg;      /* index into segs, or -1 for mem */
	uint32_t idx; /* run index in the segment, or in mems */
	json_t *tags; /* array of names, from the refs */
	json_t *notes; /* appended notes (xtrk_notes_json), from the refs, or NULL */
	json_t *stage; /* the current stage (a string), from the refs, or NULL */
	char hex[XTRK_OID_HEXSZ + 1];
};

struct xtrk_index {
	struct seg *segs;
	size_t nsegs;
	struct memrun *mems;
	size_t nmems;
	struct entry *entries;
	size_t n;
	xtrk_run_ref *refs;
	json_t *tags; /* run id -> [names], read on first use (tags_load) */
	struct view view; /* when opened from the view: its names are the entries' experiments */
	struct lazy_notes *notes; /* read on first use: most listings never look at notes */
};

/* Appended notes (and tags), read from the refs the first time a lookup needs them. */
struct lazy_notes {
	xtrk_repo *repo;
	int tags_loaded;
	int loaded;
	json_t *all; /* run id -> appended notes (xtrk_notes_all) */
	int stages_loaded;
	json_t *stages; /* run id -> current stage (xtrk_stages_all) */
};

struct xtrk_index_key {
	char *name;
	size_t len;
	int is_tags;
	int is_notes;      /* "notes" or "notes.N": the record's notes, then the appended ones */
	int is_stages;     /* "stages" or "stages.N": the current stage, a list of one (or none) */
	int is_stage;      /* "stage": the current stage */
	int is_id;
	int64_t *kid;      /* per segment: the key's ID, or -1 */
	int64_t *lo, *hi;  /* per segment: the IDs of keys below it ("name.") */
	int64_t *nlo, *nhi; /* is_notes: per segment, the IDs of the keys "notes.*" */
	int64_t *blo, *bhi; /* per segment: the IDs of keys below it in brackets ("name[") */
	uint32_t *hint;     /* per segment: where the key was in the last run it was found in */
};

/* ---- field names ---- */

int xtrk_field_plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		c == '/' || c == ':' || c == '@' || c == '+' || (unsigned char)c >= 0x80;
}

int xtrk_field_append(xtrk_buf *name, const char *part, size_t len)
{
	size_t plain = 0;
	while (plain < len && xtrk_field_plain_char(part[plain]))
		plain++;
	if (len && plain == len) {
		if (name->size)
			xtrk_buf_putc(name, '.');
		xtrk_buf_put(name, part, len);
	} else {
		xtrk_buf_putc(name, '[');
		for (size_t i = 0; i < len; i++) {
			if (part[i] == ']' || part[i] == '\\')
				xtrk_buf_putc(name, '\\');
			xtrk_buf_putc(name, part[i]);
		}
		xtrk_buf_putc(name, ']');
	}
	return xtrk_buf_oom(name) ? xtrk_error_oom() : 0;
}

size_t xtrk_field_span(const char *s)
{
	const char *p = s;
	for (;;) {
		if (*p == '.' || xtrk_field_plain_char(*p)) {
			p++;
		} else if (*p == '[') {
			for (p++; *p && *p != ']'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			return (size_t)(p - s);
		}
	}
}

int xtrk_field_next(xtrk_buf *part, size_t *used, const char *name, size_t len, int first)
{
	size_t i = 0, start;

	xtrk_buf_clear(part);
	*used = 0;
	if (!first && i < len && name[i] == '.')
		i++; /* the '.' before a part ("a.[b]" is "a[b]") */
	if (i < len && name[i] == '[') {
		for (i++; i < len && name[i] != ']'; i++) {
			if (name[i] == '\\' && i + 1 < len)
				i++;
			xtrk_buf_putc(part, name[i]);
		}
		if (i >= len)
			return xtrk_error_set(XTRK_EINVALID, "a '[' is not closed with ']'");
		i++;
		if (i < len && name[i] != '.' && name[i] != '[')
			return xtrk_error_set(XTRK_EINVALID, "'%c' after ']' (a '.' or '[' goes there)", name[i]);
	} else {
		start = i;
		while (i < len && xtrk_field_plain_char(name[i]))
			i++;
		if (i < len && name[i] != '.' && name[i] != '[')
			return xtrk_error_set(XTRK_EINVALID, "'%c' needs brackets (e.g. models[model.pt].bytes)", name[i]);
		if (i == start)
			return xtrk_error_set(XTRK_EINVALID, "an empty part");
		xtrk_buf_put(part, name + start, i - start);
	}
	if (xtrk_buf_oom(part))
		return xtrk_error_oom();
	*used = i;
	return 0;
}

int xtrk_field_canon(xtrk_buf *out, const char *name, size_t len)
{
	xtrk_buf part = XTRK_BUF_INIT;
	size_t i = 0, used;
	int err = 0;

	xtrk_buf_clear(out);
	if (!len)
		return xtrk_error_set(XTRK_EINVALID, "an empty field name");
	while (i < len && err == 0) {
		if ((err = xtrk_field_next(&part, &used, name + i, len - i, i == 0)) < 0)
			err = xtrk_error_set(err, "field name '%.*s': %s", (int)len, name, xtrk_error_last());
		else
			err = xtrk_field_append(out, part.ptr ? part.ptr : "", part.size);
		i += used;
	}
	xtrk_buf_dispose(&part);
	if (err < 0)
		xtrk_buf_dispose(out);
	return err;
}

int xtrk_field_below(const char *key, size_t klen, const char *name, size_t len)
{
	return klen > len && !memcmp(key, name, len) && (key[len] == '.' || key[len] == '[');
}

/* ---- flattening ---- */

static void flat_into(json_t *out, json_t *v, xtrk_buf *prefix, int top)
{
	size_t plen = prefix->size, i;
	const char *k;
	json_t *child;

	if (json_is_object(v)) {
		json_object_foreach(v, k, child) {
			if (top && (!strcmp(k, "id") || !strcmp(k, "tags") || !strcmp(k, "stages") || !strcmp(k, "stage")))
				continue; /* the ID is the entry's own; tags are refs, read fresh */
			xtrk_buf_truncate(prefix, plen);
			xtrk_field_append(prefix, k, strlen(k));
			flat_into(out, child, prefix, 0);
		}
	} else if (json_is_array(v)) {
		int by_name = 0;
		for (size_t g = 0; g < XTRK_RECORD_NGROUPS; g++)
			by_name |= plen == strlen(xtrk_record_groups[g]) && !memcmp(prefix->ptr, xtrk_record_groups[g], plen);
		json_array_foreach(v, i, child) {
			const char *name = json_string_value(json_object_get(child, "name"));
			char pos[32];
			xtrk_buf_truncate(prefix, plen);
			if (by_name && name) {
				xtrk_field_append(prefix, name, json_string_length(json_object_get(child, "name")));
			} else {
				snprintf(pos, sizeof(pos), "%zu", i);
				xtrk_field_append(prefix, pos, strlen(pos));
			}
			flat_into(out, child, prefix, 0);
		}
	} else if (plen && !xtrk_buf_oom(prefix)) {
		json_object_set(out, prefix->ptr, v);
	}
	xtrk_buf_truncate(prefix, plen);
}

json_t *xtrk_run_flatten(json_t *run)
{
	xtrk_buf prefix = XTRK_BUF_INIT;
	json_t *out = json_object();
	if (out)
		flat_into(out, run, &prefix, 1);
	xtrk_buf_dispose(&prefix);
	return out;
}

/* ---- opening ---- */

static int load_segments(xtrk_index *ix, xtrk_repo *repo)
{
	char **paths;
	size_t n;
	int err = xtrk_seg_list(&paths, &n, repo);
	if (err < 0)
		return err;
	if (n && !(ix->segs = calloc(n, sizeof(*ix->segs))))
		err = xtrk_error_oom();
	for (size_t i = 0; i < n; i++) {
		if (err == 0 && xtrk_seg_load(&ix->segs[ix->nsegs], paths[i]) == 0)
			ix->nsegs++;
		free(paths[i]);
	}
	free(paths);
	return err;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->started_len < y->started_len ? x->started_len : y->started_len;
	int c = memcmp(y->started, x->started, n);
	if (!c)
		c = (y->started_len > x->started_len) - (y->started_len < x->started_len);
	return c ? c : xtrk_oid_cmp(&x->id, &y->id);
}

/* Segments being merged are named in a list; whoever holds the lock merges, others skip it. */
static int take_lock(xtrk_repo *repo, xtrk_buf *path)
{
	struct stat st;
	int fd;
	xtrk_buf_printf(path, "%s/index/merge.lock", xtrk_repo_dir(repo));
	if (stat(path->ptr, &st) == 0 && time(NULL) - st.st_mtime > 600)
		unlink(path->ptr); /* left by a process that died while merging */
	if ((fd = open(path->ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	close(fd);
	return 0;
}

/* Many segments become one (only runs the refs still name), then the old ones go. */
static void merge(xtrk_index *ix, xtrk_repo *repo)
{
	xtrk_buf lock = XTRK_BUF_INIT, out = XTRK_BUF_INIT;
	struct src *srcs = NULL;
	size_t ns = 0;
	json_t *wanted = json_object();

	if (take_lock(repo, &lock) < 0)
		goto done;
	for (size_t i = 0; i < ix->n; i++)
		json_object_set_new(wanted, xtrk_oid_tostr(&ix->entries[i].id), json_string(ix->entries[i].exp));
	/* Runs of other experiments (when opened for one) stay too: list every ref. */
	{
		xtrk_run_ref *all = NULL;
		size_t nall = 0;
		if (xtrk_refs_list_runs(&all, &nall, repo, NULL) == 0)
			for (size_t i = 0; i < nall; i++)
				json_object_set_new(wanted, xtrk_oid_tostr(&all[i].run), json_string(all[i].experiment));
		free(all);
	}
	for (size_t s = 0; s < ix->nsegs; s++) {
		struct seg *sg = &ix->segs[s];
		struct src *ns2 = realloc(srcs, (ns + sg->h->nruns + 1) * sizeof(*srcs));
		if (!ns2)
			goto done;
		srcs = ns2;
		for (uint32_t r = 0; r < sg->h->nruns; r++) {
			xtrk_oid id;
			json_t *exp;
			memcpy(id.id, sg->runs[r].id, 16);
			if (!(exp = json_object_get(wanted, xtrk_oid_tostr(&id))))
				continue;
			memset(&srcs[ns], 0, sizeof(*srcs));
			srcs[ns].id = id;
			srcs[ns].exp = json_string_value(exp);
			srcs[ns].seg = sg;
			srcs[ns].run = &sg->runs[r];
			ns++;
		}
	}
	if (xtrk_seg_write(&out, repo, srcs, ns) == 0) {
		for (size_t s = 0; s < ix->nsegs; s++)
			if (strcmp(ix->segs[s].path, out.ptr))
				unlink(ix->segs[s].path);
	}
	xtrk_error_clear();
	unlink(lock.ptr);
done:
	free(srcs);
	json_decref(wanted);
	xtrk_buf_dispose(&lock);
	xtrk_buf_dispose(&out);
}

#define READ_CHUNK 2000 /* runs read and indexed at a time: memory stays bounded */

/* Point the chunk's entries at a segment just written and loaded; 0, or -1 when it cannot be used. */
static int adopt_segment(xtrk_index *ix, const char *path, size_t *chunk, size_t n)
{
	struct seg *ns = realloc(ix->segs, (ix->nsegs + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	ix->segs = ns;
	if (xtrk_seg_load(&ix->segs[ix->nsegs], path) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ix->entries[chunk[i]];
		const struct seg_run *r = xtrk_seg_find_run(&ix->segs[ix->nsegs], &e->id, &e->idx);
		if (!r) {
			xtrk_seg_close(&ix->segs[ix->nsegs]);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ix->entries[chunk[i]];
		const struct seg_run *r = xtrk_seg_find_run(&ix->segs[ix->nsegs], &e->id, &e->idx);
		e->seg = (int)ix->nsegs;
		e->started = ix->segs[ix->nsegs].str + r->started_off;
		e->started_len = r->started_len;
	}
	ix->nsegs++;
	return 0;
}

/*
 * Runs the segments lack are read from their objects and indexed, a chunk at
 * a time; where the index cannot be written (a read-only store) they are kept
 * in memory instead.
 */
static int read_missing(xtrk_index *ix, xtrk_repo *repo, size_t *missing, size_t nmissing)
{
	struct src *srcs = calloc(READ_CHUNK, sizeof(*srcs));
	size_t *idx = calloc(READ_CHUNK, sizeof(*idx));
	xtrk_buf path = XTRK_BUF_INIT;
	int err = 0;

	if (!srcs || !idx || !(ix->mems = calloc(nmissing + 1, sizeof(*ix->mems)))) {
		free(srcs);
		free(idx);
		return xtrk_error_oom();
	}
	for (size_t start = 0; start < nmissing && err == 0; start += READ_CHUNK) {
		size_t n = nmissing - start < READ_CHUNK ? nmissing - start : READ_CHUNK, got = 0;
		for (size_t k = 0; k < n; k++) {
			struct entry *e = &ix->entries[missing[start + k]];
			json_t *run;
			if ((err = xtrk_run_read_record(&run, repo, &e->id)) == XTRK_ECORRUPT || err == XTRK_ENOTFOUND) {
				/* One run that cannot be read must not hide the others: named, and left out. */
				xtrk_warning_add("%s (experiment '%s'): left out ('xtrk rm' removes it)", xtrk_error_last(),
					e->exp);
				xtrk_error_clear();
				e->seg = -3;
				err = 0;
				continue;
			}
			if (err < 0)
				break;
			idx[got] = missing[start + k];
			srcs[got].id = e->id;
			srcs[got].exp = e->exp;
			srcs[got].flat = xtrk_run_flatten(run);
			json_decref(run);
			got++;
		}
		if (err == 0 && (got == 0 || (xtrk_seg_write(&path, repo, srcs, got) == 0 &&
					     adopt_segment(ix, path.ptr, idx, got) == 0))) {
			for (size_t i = 0; i < got; i++)
				json_decref(srcs[i].flat);
			continue;
		}
		if (err == 0)
			xtrk_error_clear(); /* the index could not be written: answer from memory */
		for (size_t i = 0; i < got; i++) {
			struct entry *e = &ix->entries[idx[i]];
			ix->mems[ix->nmems].flat = srcs[i].flat;
			e->seg = -1;
			e->idx = (uint32_t)ix->nmems;
			e->started = json_string_value(json_object_get(srcs[i].flat, "started"));
			e->started = e->started ? e->started : "";
			e->started_len = strlen(e->started);
			ix->nmems++;
		}
	}
	free(srcs);
	free(idx);
	xtrk_buf_dispose(&path);
	return err;
}

/* The tags of every run, once, as notes_load: a failure costs only the tags (a warning says so). */
static void tags_load(const xtrk_index *ix)
{
	struct lazy_notes *ln = ix->notes;
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t n = 0;
	if (ln->tags_loaded)
		return;
	ln->tags_loaded = 1;
	if (xtrk_refs_tags(&names, &targets, &n, ln->repo) < 0) {
		xtrk_warning_add("tags left out: %s", xtrk_error_last());
		xtrk_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = xtrk_oid_tostr(&targets[i]);
		json_t *arr = json_object_get(ix->tags, k);
		if (!arr)
			json_object_set_new(ix->tags, k, arr = json_array());
		json_array_append_new(arr, json_string(names[i]));
	}
	for (size_t i = 0; i < ix->n; i++)
		ix->entries[i].tags = json_object_get(ix->tags, ix->entries[i].hex);
	xtrk_refs_tags_free(names, targets, n);
}

/*
 * The runs from the view, when it is fresh and every segment it names loads and holds what it
 * says: 0, or -1 (nothing kept, no error set) to build the index from the refs instead.
 */
static int open_from_view(xtrk_index *ix, xtrk_repo *repo, const char *experiment)
{
	struct view *v = &ix->view;
	xtrk_buf p = XTRK_BUF_INIT;
	int fresh = 0;

	if (xtrk_view_read(v, &fresh, repo) < 0)
		goto no;
	if (!fresh)
		return -1; /* kept: the folders that did not change may still be taken from it */
	if (v->h->nsegs && !(ix->segs = calloc(v->h->nsegs, sizeof(*ix->segs))))
		goto no;
	for (uint32_t s = 0; s < v->h->nsegs; s++) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/index/%s", xtrk_repo_dir(repo), v->str + v->segs[s].name_off);
		if (xtrk_buf_oom(&p) || xtrk_seg_load(&ix->segs[s], p.ptr) < 0)
			goto no;
		ix->nsegs++;
		if (memcmp(ix->segs[s].h->sum, v->segs[s].sum, 16))
			goto no;
	}
	if (v->h->nruns && !(ix->entries = calloc(v->h->nruns, sizeof(*ix->entries))))
		goto no;
	for (uint32_t i = 0; i < v->h->nruns; i++) {
		const struct view_run *vr = &v->runs[i];
		const struct seg *sg = &ix->segs[vr->seg];
		const char *exp = v->str + v->dirs[vr->dir].name_off;
		struct entry *e;
		if (vr->idx >= sg->h->nruns || memcmp(sg->runs[vr->idx].id, vr->id, 16))
			goto no; /* the view names a run its segment does not hold there */
		if (experiment && strcmp(exp, experiment))
			continue;
		e = &ix->entries[ix->n++];
		memcpy(e->id.id, vr->id, 16);
		e->exp = exp;
		e->seg = (int)vr->seg;
		e->idx = vr->idx;
		e->started = sg->str + sg->runs[vr->idx].started_off;
		e->started_len = sg->runs[vr->idx].started_len;
	}
	xtrk_buf_dispose(&p);
	return 0;
no:
	xtrk_error_clear();
	xtrk_buf_dispose(&p);
	for (size_t s = 0; s < ix->nsegs; s++)
		xtrk_seg_close(&ix->segs[s]);
	free(ix->segs);
	free(ix->entries);
	ix->segs = NULL;
	ix->entries = NULL;
	ix->nsegs = ix->n = 0;
	xtrk_view_free(v);
	return -1;
}

/* After the index was built from the refs of every experiment: the view, for the next reader. */
static void write_view(xtrk_index *ix, xtrk_repo *repo, const struct view_state *st)
{
	struct view_src *runs = calloc(ix->n + 1, sizeof(*runs));
	if (!runs)
		return;
	for (size_t i = 0; i < ix->n; i++) {
		runs[i].id = ix->entries[i].id.id;
		runs[i].exp = ix->entries[i].exp;
		runs[i].seg = (uint32_t)ix->entries[i].seg;
		runs[i].idx = ix->entries[i].idx;
	}
	xtrk_view_write(repo, st, ix->segs, ix->nsegs, runs, ix->n);
	free(runs);
}

/* An entry for run `id` of experiment `exp`: found in the newest segment that holds it, or missing (seg -2). */
static void entry_find(struct entry *e, xtrk_index *ix, const xtrk_oid *id, const char *exp)
{
	e->id = *id;
	e->exp = exp;
	e->seg = -2;
	for (size_t s = ix->nsegs; s-- > 0 && e->seg == -2;) {
		const struct seg_run *r = xtrk_seg_find_run(&ix->segs[s], &e->id, &e->idx);
		if (r) {
			e->seg = (int)s;
			e->started = ix->segs[s].str + r->started_off;
			e->started_len = r->started_len;
		}
	}
}

static int same_dir(const struct view_dir *a, const struct view_dir *b)
{
	return a->ino == b->ino && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static const struct view *cmp_view; /* for view_run_cmp */

static int view_run_cmp(const void *a, const void *b)
{
	return memcmp(cmp_view->runs[*(const uint32_t *)a].id, cmp_view->runs[*(const uint32_t *)b].id, 16);
}

/*
 * The view is stale only in some experiments' folders (runs added or removed there since): the
 * runs of the others are taken from it, those of the changed ones read from their refs (each
 * found where the view had it, else in the segments), with `st` taken before.  0 with the
 * entries made (and `missing` the ones no segment holds), or -1 with nothing kept, to read every
 * ref instead.  ix->segs are every segment (load_segments).
 */
static int update_from_view(xtrk_index *ix, xtrk_repo *repo, const struct view_state *st, size_t **missing,
	size_t *nmissing)
{
	const struct view *v = &ix->view;
	uint32_t *segmap = NULL, *stale = NULL;
	size_t nstale = 0, nrefs = 0, alloc = 0, most;
	xtrk_run_ref *refs = NULL;
	int rc = -1;

	if (!v->h || !v->fresh[0] || !st->usable || st->ndirs != v->h->ndirs || !same_dir(&st->dirs[0], &v->dirs[0]))
		return -1; /* experiments added or removed: every ref is read */
	for (uint32_t i = 1; i < v->h->ndirs; i++) {
		size_t j = 1;
		while (j < st->ndirs && strcmp(st->names[j], v->str + v->dirs[i].name_off))
			j++;
		/* A folder taken from the view must still be as the view saw it when `st` was taken. */
		if (j == st->ndirs || (v->fresh[i] && !same_dir(&st->dirs[j], &v->dirs[i])))
			return -1;
	}
	/* The view's segments among those loaded, by name and checksum. */
	if (!(segmap = calloc(v->h->nsegs + 1, sizeof(*segmap))) || !(stale = calloc(v->h->nruns + 1, sizeof(*stale))))
		goto done;
	for (uint32_t s = 0; s < v->h->nsegs; s++) {
		size_t k = 0;
		for (; k < ix->nsegs; k++) {
			const char *base = strrchr(ix->segs[k].path, '/');
			if (base && !strcmp(base + 1, v->str + v->segs[s].name_off) && !memcmp(ix->segs[k].h->sum, v->segs[s].sum, 16))
				break;
		}
		if (k == ix->nsegs)
			goto done;
		segmap[s] = (uint32_t)k;
	}
	/* The refs of the changed folders, read now. */
	for (uint32_t i = 1; i < v->h->ndirs; i++) {
		xtrk_run_ref *some = NULL;
		size_t n = 0;
		if (v->fresh[i])
			continue;
		if (xtrk_refs_list_runs(&some, &n, repo, v->str + v->dirs[i].name_off) < 0) {
			xtrk_error_clear();
			free(some);
			goto done;
		}
		if (nrefs + n > alloc) {
			xtrk_run_ref *nr = realloc(refs, (nrefs + n) * sizeof(*nr));
			if (!nr) {
				free(some);
				goto done;
			}
			refs = nr;
			alloc = nrefs + n;
		}
		if (n)
			memcpy(refs + nrefs, some, n * sizeof(*some));
		nrefs += n;
		free(some);
	}
	/* The view's runs of the changed folders, by ID, to find the refs' runs where the view had them. */
	for (uint32_t r = 0; r < v->h->nruns; r++)
		if (!v->fresh[v->runs[r].dir])
			stale[nstale++] = r;
	cmp_view = v;
	xtrk_sort(stale, nstale, sizeof(*stale), view_run_cmp);
	most = v->h->nruns + nrefs;
	if (!(ix->entries = calloc(most + 1, sizeof(*ix->entries))) || !(*missing = calloc(most + 1, sizeof(**missing))))
		goto done;
	for (uint32_t r = 0; r < v->h->nruns; r++) {
		const struct view_run *vr = &v->runs[r];
		const struct seg *sg = &ix->segs[segmap[vr->seg]];
		struct entry *e;
		if (!v->fresh[vr->dir])
			continue;
		if (vr->idx >= sg->h->nruns || memcmp(sg->runs[vr->idx].id, vr->id, 16))
			goto done;
		e = &ix->entries[ix->n++];
		memcpy(e->id.id, vr->id, 16);
		e->exp = v->str + v->dirs[vr->dir].name_off;
		e->seg = (int)segmap[vr->seg];
		e->idx = vr->idx;
		e->started = sg->str + sg->runs[vr->idx].started_off;
		e->started_len = sg->runs[vr->idx].started_len;
	}
	for (size_t i = 0; i < nrefs; i++) {
		struct entry *e = &ix->entries[ix->n];
		size_t lo = 0, hi = nstale;
		while (lo < hi) { /* the view's place for it, if it had one */
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(v->runs[stale[mid]].id, refs[i].run.id, 16);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nstale && !memcmp(v->runs[stale[lo]].id, refs[i].run.id, 16) &&
		    !strcmp(v->str + v->dirs[v->runs[stale[lo]].dir].name_off, refs[i].experiment)) {
			const struct view_run *vr = &v->runs[stale[lo]];
			const struct seg *sg = &ix->segs[segmap[vr->seg]];
			if (vr->idx >= sg->h->nruns || memcmp(sg->runs[vr->idx].id, vr->id, 16))
				goto done;
			e->id = refs[i].run;
			e->exp = refs[i].experiment;
			e->seg = (int)segmap[vr->seg];
			e->idx = vr->idx;
			e->started = sg->str + sg->runs[vr->idx].started_off;
			e->started_len = sg->runs[vr->idx].started_len;
		} else {
			entry_find(e, ix, &refs[i].run, refs[i].experiment);
		}
		if (e->seg == -2)
			(*missing)[(*nmissing)++] = ix->n;
		ix->n++;
	}
	ix->refs = refs; /* the changed experiments' names, which their entries point at */
	refs = NULL;
	rc = 0;
done:
	if (rc < 0) {
		free(ix->entries);
		free(*missing);
		ix->entries = NULL;
		*missing = NULL;
		ix->n = *nmissing = 0;
	}
	free(refs);
	free(segmap);
	free(stale);
	return rc;
}

int xtrk_index_open(xtrk_index **out, xtrk_repo *repo, const char *experiment)
{
	xtrk_index *ix = calloc(1, sizeof(*ix));
	size_t nrefs = 0, nmissing = 0, *missing = NULL;
	struct view_state st;
	int err, viewable;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	if (!ix || !(ix->tags = json_object()) || !(ix->notes = calloc(1, sizeof(*ix->notes)))) {
		if (ix)
			json_decref(ix->tags);
		free(ix);
		return xtrk_error_oom();
	}
	ix->notes->repo = repo;
	if (open_from_view(ix, repo, experiment) == 0)
		goto ready;
	/* The folders' state is taken before they are read: a change after it makes the view stale. */
	if (!experiment && (err = xtrk_view_capture(&st, repo)) < 0)
		goto fail;
	if ((err = load_segments(ix, repo)) < 0)
		goto fail;
	if (experiment || update_from_view(ix, repo, &st, &missing, &nmissing) < 0) {
		if ((err = xtrk_refs_list_runs(&ix->refs, &nrefs, repo, experiment)) < 0)
			goto fail;
		if (nrefs && (!(ix->entries = calloc(nrefs, sizeof(*ix->entries))) ||
				     !(missing = calloc(nrefs, sizeof(*missing))))) {
			err = xtrk_error_oom();
			goto fail;
		}
		for (size_t i = 0; i < nrefs; i++) {
			entry_find(&ix->entries[ix->n], ix, &ix->refs[i].run, ix->refs[i].experiment);
			if (ix->entries[ix->n].seg == -2)
				missing[nmissing++] = ix->n;
			ix->n++;
		}
	}
	if (nmissing && (err = read_missing(ix, repo, missing, nmissing)) < 0)
		goto fail;
	/* A view only of runs every one of which a segment holds, none left out, none kept in memory. */
	viewable = !experiment && ix->nmems == 0 && ix->nsegs <= MERGE_AT;
	{
		size_t kept = 0;
		for (size_t i = 0; i < ix->n; i++)
			if (ix->entries[i].seg != -3)
				ix->entries[kept++] = ix->entries[i];
		viewable &= kept == ix->n;
		ix->n = kept;
	}
	if (ix->nsegs > MERGE_AT)
		merge(ix, repo); /* takes effect for the next reader; this one keeps its maps */
	if (ix->n)
		xtrk_sort(ix->entries, ix->n, sizeof(*ix->entries), entry_cmp);
	if (viewable)
		write_view(ix, repo, &st);
ready:
	for (size_t i = 0; i < ix->n; i++)
		xtrk_oid_fmt(ix->entries[i].hex, &ix->entries[i].id);
	xtrk_view_state_free(&st);
	free(missing);
	*out = ix;
	return 0;
fail:
	xtrk_view_state_free(&st);
	free(missing);
	xtrk_index_free(ix);
	return err;
}

void xtrk_index_free(xtrk_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nsegs; i++)
		xtrk_seg_close(&ix->segs[i]);
	for (size_t i = 0; i < ix->nmems; i++)
		json_decref(ix->mems[i].flat);
	free(ix->segs);
	free(ix->mems);
	free(ix->entries);
	free(ix->refs);
	xtrk_view_free(&ix->view);
	json_decref(ix->tags);
	if (ix->notes) {
		json_decref(ix->notes->all);
		json_decref(ix->notes->stages);
	}
	free(ix->notes);
	free(ix);
}

size_t xtrk_index_count(const xtrk_index *ix) { return ix->n; }
const xtrk_oid *xtrk_index_run(const xtrk_index *ix, size_t i) { return &ix->entries[i].id; }
const char *xtrk_index_experiment(const xtrk_index *ix, size_t i) { return ix->entries[i].exp; }

json_t *xtrk_index_tags(const xtrk_index *ix, size_t i)
{
	tags_load(ix);
	return ix->entries[i].tags ? json_incref(ix->entries[i].tags) : json_array();
}

/*
 * The appended notes of every run, once: a failure to read them costs only the notes
 * (a warning says so), never the listing.  The index keeps the store it was opened on.
 */
static void notes_load(const xtrk_index *ix)
{
	struct lazy_notes *ln = ix->notes;
	if (ln->loaded)
		return;
	ln->loaded = 1;
	if (xtrk_notes_all(&ln->all, ln->repo) < 0) {
		xtrk_warning_add("appended notes left out: %s", xtrk_error_last());
		xtrk_error_clear();
		return;
	}
	for (size_t i = 0; i < ix->n; i++)
		ix->entries[i].notes = json_object_get(ln->all, ix->entries[i].hex);
}

/* The current stage of every run, once, as notes_load. */
static void stages_load(const xtrk_index *ix)
{
	struct lazy_notes *ln = ix->notes;
	if (ln->stages_loaded)
		return;
	ln->stages_loaded = 1;
	if (xtrk_stages_all(&ln->stages, ln->repo) < 0) {
		xtrk_warning_add("stages left out: %s", xtrk_error_last());
		xtrk_error_clear();
		return;
	}
	for (size_t i = 0; i < ix->n; i++)
		ix->entries[i].stage = json_object_get(ln->stages, ix->entries[i].hex);
}

json_t *xtrk_index_notes(const xtrk_index *ix, size_t i)
{
	notes_load(ix);
	return ix->entries[i].notes ? json_incref(ix->entries[i].notes) : json_array();
}

/* ---- lookups ---- */

int xtrk_index_key_new(xtrk_index_key **out, xtrk_index *ix, const char *name)
{
	xtrk_index_key *k = calloc(1, sizeof(*k));
	size_t n = ix->nsegs ? ix->nsegs : 1;
	xtrk_buf canon = XTRK_BUF_INIT;
	int err;
	*out = NULL;
	if ((err = xtrk_field_canon(&canon, name, strlen(name))) < 0) {
		free(k);
		return err;
	}
	if (!k || !(k->name = xtrk_buf_detach(&canon)) || !(k->kid = calloc(n, sizeof(*k->kid))) ||
	    !(k->lo = calloc(n, sizeof(*k->lo))) || !(k->hi = calloc(n, sizeof(*k->hi))) ||
	    !(k->nlo = calloc(n, sizeof(*k->nlo))) || !(k->nhi = calloc(n, sizeof(*k->nhi))) ||
	    !(k->blo = calloc(n, sizeof(*k->blo))) || !(k->bhi = calloc(n, sizeof(*k->bhi))) ||
	    !(k->hint = calloc(n, sizeof(*k->hint)))) {
		xtrk_buf_dispose(&canon);
		xtrk_index_key_free(k);
		return xtrk_error_oom();
	}
	name = k->name;
	k->len = strlen(name);
	k->is_tags = !strcmp(name, "tags") || !strncmp(name, "tags.", 5);
	if (k->is_tags)
		tags_load(ix);
	k->is_id = !strcmp(name, "id");
	k->is_notes = !strcmp(name, "notes") || !strncmp(name, "notes.", 6);
	if (k->is_notes)
		notes_load(ix);
	k->is_stages = !strcmp(name, "stages") || !strncmp(name, "stages.", 7);
	k->is_stage = !strcmp(name, "stage");
	if (k->is_stages || k->is_stage)
		stages_load(ix);
	for (size_t s = 0; s < ix->nsegs; s++) {
		const struct seg *sg = &ix->segs[s];
		char *below;
		uint32_t at = xtrk_seg_key_lower(sg, name, k->len);
		if (k->is_notes) {
			k->nlo[s] = xtrk_seg_key_lower(sg, "notes.", 6);
			k->nhi[s] = xtrk_seg_key_lower(sg, "notes/", 6);
		}
		k->kid[s] = at < sg->h->nkeys && xtrk_seg_key_cmp(sg, at, name, k->len) == 0 ? (int64_t)at : -1;
		if (asprintf(&below, "%s.", name) < 0) {
			xtrk_index_key_free(k);
			return xtrk_error_oom();
		}
		/* Keys "name." up to "name/" ('/' follows '.') are the ones below, and "name[" up to "name\\". */
		k->lo[s] = xtrk_seg_key_lower(sg, below, k->len + 1);
		below[k->len] = '/';
		k->hi[s] = xtrk_seg_key_lower(sg, below, k->len + 1);
		below[k->len] = '[';
		k->blo[s] = xtrk_seg_key_lower(sg, below, k->len + 1);
		below[k->len] = '\\';
		k->bhi[s] = xtrk_seg_key_lower(sg, below, k->len + 1);
		free(below);
	}
	*out = k;
	return 0;
}

void xtrk_index_key_free(xtrk_index_key *k)
{
	if (!k)
		return;
	free(k->name);
	free(k->kid);
	free(k->lo);
	free(k->hi);
	free(k->nlo);
	free(k->nhi);
	free(k->blo);
	free(k->bhi);
	free(k->hint);
	free(k);
}

static int get_stored(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k);
static size_t record_notes(const xtrk_index *ix, const struct entry *e, const xtrk_index_key *k);

/* "notes.N" past the record's own notes: an appended note's text. */
static int get_appended_note(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k)
{
	const struct entry *e = &ix->entries[i];
	size_t have;
	unsigned long at;
	char *end;
	json_t *t;
	if (!e->notes || k->len <= 6 || !(k->name[6] >= '0' && k->name[6] <= '9'))
		return 0;
	at = strtoul(k->name + 6, &end, 10);
	if (*end || at < (have = record_notes(ix, e, k)) || !(t = json_object_get(json_array_get(e->notes, at - have), "text")))
		return 0;
	xtrk_seg_leaf_value(out, t);
	return 1;
}

int xtrk_index_get(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k)
{
	int rc = get_stored(out, ix, i, k);
	return rc || !k->is_notes ? rc : get_appended_note(out, ix, i, k);
}

static int get_stored(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k)
{
	const struct entry *e = &ix->entries[i];
	memset(out, 0, sizeof(*out));
	if (k->is_id) {
		out->type = XTRK_VAL_STR;
		out->str = e->hex;
		out->len = XTRK_OID_HEXSZ;
		return 1;
	}
	if (k->is_stage || k->is_stages) {
		if (!e->stage || (k->is_stages && strcmp(k->name, "stages.0")))
			return 0;
		xtrk_seg_leaf_value(out, e->stage);
		return 1;
	}
	if (k->is_tags) {
		char *end;
		unsigned long at;
		json_t *t;
		if (k->len <= 5)
			return 0;
		at = strtoul(k->name + 5, &end, 10);
		if (*end || !(t = json_array_get(e->tags, at)))
			return 0;
		xtrk_seg_leaf_value(out, t);
		return 1;
	}
	if (e->seg < 0) {
		json_t *v = json_object_get(ix->mems[e->idx].flat, k->name);
		if (!v)
			return 0;
		xtrk_seg_leaf_value(out, v);
		return 1;
	} else {
		const struct seg *sg = &ix->segs[e->seg];
		const struct seg_run *r = &sg->runs[e->idx];
		const struct seg_field *f;
		uint32_t *hint = &k->hint[e->seg], kid = (uint32_t)k->kid[e->seg];
		if (k->kid[e->seg] < 0)
			return 0;
		/* Runs mostly have the same fields: where the key was in the last run is tried first. */
		if (*hint < r->n && sg->fields[r->first + *hint].key == kid)
			f = &sg->fields[r->first + *hint];
		else if ((f = xtrk_seg_fields_find(sg->fields + r->first, r->n, kid)))
			*hint = (uint32_t)(f - (sg->fields + r->first));
		if (!f && r->env != NO_ENV)
			f = xtrk_seg_fields_find(sg->fields + sg->envs[r->env].first, sg->envs[r->env].n, (uint32_t)k->kid[e->seg]);
		if (!f)
			return 0;
		xtrk_seg_field_value(out, sg, f);
		return 1;
	}
}

typedef int (*each_cb)(const char *key, size_t klen, const xtrk_value *v, void *payload);

static int each_tag(const struct entry *e, each_cb cb, void *payload)
{
	size_t i;
	json_t *t;
	json_array_foreach(e->tags, i, t) {
		char key[32];
		xtrk_value v;
		int n = snprintf(key, sizeof(key), "tags.%zu", i), rc;
		xtrk_seg_leaf_value(&v, t);
		if ((rc = cb(key, (size_t)n, &v, payload)))
			return rc;
	}
	return 0;
}

/* Fields of a segment run (and its environment) with key IDs in [lo, hi). */
static int each_seg(const struct seg *sg, const struct seg_run *r, int64_t lo, int64_t hi, each_cb cb, void *payload)
{
	const struct seg_field *parts[2] = { sg->fields + r->first, NULL };
	uint32_t counts[2] = { r->n, 0 };
	if (r->env != NO_ENV) {
		parts[1] = sg->fields + sg->envs[r->env].first;
		counts[1] = sg->envs[r->env].n;
	}
	for (int p = 0; p < 2; p++) {
		for (uint32_t i = 0; i < counts[p]; i++) {
			const struct seg_field *f = &parts[p][i];
			xtrk_value v;
			int rc;
			if (f->key < lo || f->key >= hi)
				continue;
			xtrk_seg_field_value(&v, sg, f);
			if ((rc = cb(sg->str + sg->keys[f->key].off, sg->keys[f->key].len, &v, payload)))
				return rc;
		}
	}
	return 0;
}

static int each_mem(json_t *flat, const char *prefix, size_t plen, each_cb cb, void *payload)
{
	const char *key;
	json_t *leaf;
	json_object_foreach(flat, key, leaf) {
		xtrk_value v;
		int rc;
		if (plen && !xtrk_field_below(key, strlen(key), prefix, plen))
			continue;
		xtrk_seg_leaf_value(&v, leaf);
		if ((rc = cb(key, strlen(key), &v, payload)))
			return rc;
	}
	return 0;
}

static int count_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	(void)key;
	(void)klen;
	(void)v;
	(*(size_t *)payload)++;
	return 0;
}

/* How many notes the run's record holds (its keys "notes.N"). */
static size_t record_notes(const xtrk_index *ix, const struct entry *e, const xtrk_index_key *k)
{
	size_t n = 0;
	if (e->seg < 0)
		each_mem(ix->mems[e->idx].flat, "notes", 5, count_cb, &n);
	else if (k->nlo)
		each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], k->nlo[e->seg], k->nhi[e->seg], count_cb, &n);
	return n;
}

/* The appended notes as "notes.N", numbered after the record's `first` own. */
static int each_appended_note(const struct entry *e, size_t first, each_cb cb, void *payload)
{
	size_t i;
	json_t *n;
	json_array_foreach(e->notes, i, n) {
		char key[48];
		xtrk_value v;
		int len = snprintf(key, sizeof(key), "notes.%zu", first + i), rc;
		xtrk_seg_leaf_value(&v, json_object_get(n, "text"));
		if ((rc = cb(key, (size_t)len, &v, payload)))
			return rc;
	}
	return 0;
}

int xtrk_index_each_below(const xtrk_index *ix, size_t i, const xtrk_index_key *k, each_cb cb, void *payload)
{
	const struct entry *e = &ix->entries[i];
	int rc;
	if (k->is_tags)
		return k->len == 4 ? each_tag(e, cb, payload) : 0;
	if (k->is_stages || k->is_stage) {
		xtrk_value v;
		if (!e->stage || k->len != 6 || !k->is_stages)
			return 0;
		xtrk_seg_leaf_value(&v, e->stage);
		return cb("stages.0", 8, &v, payload);
	}
	if (e->seg < 0)
		rc = each_mem(ix->mems[e->idx].flat, k->name, k->len, cb, payload);
	else if (!(rc = each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], k->lo[e->seg], k->hi[e->seg], cb,
			   payload)))
		rc = each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], k->blo[e->seg], k->bhi[e->seg], cb,
			payload);
	if (rc || !k->is_notes || k->len != 5 || !e->notes)
		return rc;
	return each_appended_note(e, record_notes(ix, e, k), cb, payload);
}

int xtrk_index_each(const xtrk_index *ix, size_t i, each_cb cb, void *payload)
{
	const struct entry *e = &ix->entries[i];
	size_t have = 0;
	int rc;
	notes_load(ix);
	tags_load(ix);
	rc = e->seg < 0 ? each_mem(ix->mems[e->idx].flat, "", 0, cb, payload)
			    : each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], 0, INT64_MAX, cb, payload);
	if (rc || (rc = each_tag(e, cb, payload)) || !e->notes)
		return rc;
	/* The record's notes counted by their keys, whatever key this walk was not given. */
	if (e->seg < 0)
		each_mem(ix->mems[e->idx].flat, "notes", 5, count_cb, &have);
	else {
		const struct seg *sg = &ix->segs[e->seg];
		each_seg(sg, &sg->runs[e->idx], xtrk_seg_key_lower(sg, "notes.", 6), xtrk_seg_key_lower(sg, "notes/", 6),
			count_cb, &have);
	}
	return each_appended_note(e, have, cb, payload);
}

/* ---- maintenance ---- */

int xtrk_index_add(xtrk_repo *repo, const xtrk_oid *runs, json_t *const *records, size_t n)
{
	struct src *srcs = calloc(n + 1, sizeof(*srcs));
	xtrk_buf path = XTRK_BUF_INIT;
	int err = 0;
	size_t got = 0;

	if (!srcs) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *exp = json_string_value(json_object_get(records[i], "experiment"));
		if (!exp) {
			err = xtrk_error_set(XTRK_EINVALID, "run %s: not a run record (no experiment); not indexed",
				xtrk_oid_tostr(&runs[i]));
			goto done;
		}
		srcs[got].id = runs[i];
		srcs[got].exp = exp;
		if (!(srcs[got].flat = xtrk_run_flatten(records[i]))) {
			err = xtrk_error_oom();
			goto done;
		}
		got++;
	}
	err = xtrk_seg_write(&path, repo, srcs, got);
done:
	for (size_t i = 0; i < got; i++)
		json_decref(srcs[i].flat);
	free(srcs);
	xtrk_buf_dispose(&path);
	return err;
}

int xtrk_index_rebuild(xtrk_repo *repo, size_t *runs_out)
{
	xtrk_buf dir = XTRK_BUF_INIT;
	xtrk_index *ix = NULL;
	int err;

	xtrk_buf_printf(&dir, "%s/" VIEW_FILE, xtrk_repo_dir(repo));
	if (!xtrk_buf_oom(&dir))
		unlink(dir.ptr); /* the view names segments about to go */
	xtrk_buf_clear(&dir);
	xtrk_buf_printf(&dir, "%s/index", xtrk_repo_dir(repo));
	if ((err = xtrk_remove_tree(dir.ptr)) < 0 && err != XTRK_ENOTFOUND) {
		xtrk_buf_dispose(&dir);
		return err;
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&dir);
	if ((err = xtrk_index_open(&ix, repo, NULL)) < 0)
		return err;
	*runs_out = ix->n;
	xtrk_index_free(ix);
	return 0;
}

struct named_run {
	xtrk_oid id;
	const char *exp;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named_run *x = a, *y = b;
	int c = xtrk_oid_cmp(&x->id, &y->id);
	return c ? c : strcmp(x->exp, y->exp);
}

int xtrk_index_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload)
{
	struct view v;
	xtrk_run_ref *refs = NULL;
	struct named_run *a = NULL, *b = NULL;
	struct seg *segs = NULL;
	xtrk_buf msg = XTRK_BUF_INIT;
	size_t n = 0, i = 0, j = 0, told = 0;
	int fresh = 0, err;

	if ((err = xtrk_view_read(&v, &fresh, repo)) == XTRK_ENOTFOUND || err == XTRK_ECORRUPT) {
		if (err == XTRK_ECORRUPT)
			problem(NULL, xtrk_error_last(), payload);
		xtrk_error_clear();
		return 0;
	}
	if (err < 0 || !fresh)
		goto done; /* a stale view is never answered from */
	if ((err = xtrk_refs_list_runs(&refs, &n, repo, NULL)) < 0)
		goto done;
	if (!(a = calloc(n + 1, sizeof(*a))) || !(b = calloc(v.h->nruns + 1, sizeof(*b))) ||
	    !(segs = calloc(v.h->nsegs + 1, sizeof(*segs)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (i = 0; i < n; i++) {
		a[i].id = refs[i].run;
		a[i].exp = refs[i].experiment;
	}
	for (i = 0; i < v.h->nruns; i++) {
		memcpy(b[i].id.id, v.runs[i].id, 16);
		b[i].exp = v.str + v.dirs[v.runs[i].dir].name_off;
	}
	xtrk_sort(a, n, sizeof(*a), named_cmp);
	xtrk_sort(b, v.h->nruns, sizeof(*b), named_cmp);
	/* The same runs, each under the same experiment, each once. */
	for (i = j = 0; (i < n || j < v.h->nruns) && told < 10;) {
		int c = i == n ? 1 : j == v.h->nruns ? -1 : named_cmp(&a[i], &b[j]);
		xtrk_buf_clear(&msg);
		if (c < 0)
			xtrk_buf_printf(&msg, "the run index's view lacks run %s of experiment '%s'", xtrk_oid_tostr(&a[i].id), a[i].exp);
		else if (c > 0 || (j + 1 < v.h->nruns && !named_cmp(&b[j], &b[j + 1])))
			xtrk_buf_printf(&msg, "the run index's view lists run %s of experiment '%s', %s", xtrk_oid_tostr(&b[j].id),
				b[j].exp, c > 0 ? "which no ref names" : "twice");
		if (msg.size) {
			problem(c < 0 ? &a[i].id : &b[j].id, msg.ptr, payload);
			told++;
		}
		i += c <= 0;
		j += c >= 0;
	}
	/* Each run where its segment holds it, in the order listings show (newest first). */
	for (i = 0; i < v.h->nsegs; i++) {
		xtrk_buf_clear(&msg);
		xtrk_buf_printf(&msg, "%s/index/%s", xtrk_repo_dir(repo), v.str + v.segs[i].name_off);
		if (xtrk_buf_oom(&msg) || xtrk_seg_load(&segs[i], msg.ptr) < 0 || memcmp(segs[i].h->sum, v.segs[i].sum, 16)) {
			xtrk_buf_clear(&msg);
			xtrk_buf_printf(&msg, "the run index's view names segment '%s', which is missing, damaged or another",
				v.str + v.segs[i].name_off);
			problem(NULL, msg.ptr, payload);
			goto done;
		}
	}
	for (i = 0; i < v.h->nruns && told < 10; i++) {
		const struct view_run *r = &v.runs[i];
		struct entry x, y;
		xtrk_oid id;
		memcpy(id.id, r->id, 16);
		xtrk_buf_clear(&msg);
		if (r->idx >= segs[r->seg].h->nruns || memcmp(segs[r->seg].runs[r->idx].id, r->id, 16)) {
			xtrk_buf_printf(&msg, "the run index's view places run %s where its segment does not hold it",
				xtrk_oid_tostr(&id));
		} else if (i) {
			const struct view_run *p = &v.runs[i - 1];
			memset(&x, 0, sizeof(x));
			memset(&y, 0, sizeof(y));
			memcpy(x.id.id, p->id, 16);
			memcpy(y.id.id, r->id, 16);
			x.started = segs[p->seg].str + segs[p->seg].runs[p->idx].started_off;
			x.started_len = segs[p->seg].runs[p->idx].started_len;
			y.started = segs[r->seg].str + segs[r->seg].runs[r->idx].started_off;
			y.started_len = segs[r->seg].runs[r->idx].started_len;
			if (entry_cmp(&x, &y) >= 0)
				xtrk_buf_printf(&msg, "the run index's view lists run %s out of order", xtrk_oid_tostr(&id));
		}
		if (msg.size) {
			problem(&id, msg.ptr, payload);
			told++;
		}
	}
done:
	for (i = 0; segs && i < v.h->nsegs; i++)
		xtrk_seg_close(&segs[i]);
	free(segs);
	free(a);
	free(b);
	free(refs);
	xtrk_buf_dispose(&msg);
	xtrk_view_free(&v);
	return err;
}

int xtrk_index_stats(xtrk_repo *repo, size_t *segments, size_t *runs, uint64_t *bytes)
{
	char **paths;
	size_t n;
	int err = xtrk_seg_list(&paths, &n, repo);
	*segments = *runs = 0;
	*bytes = 0;
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct seg s;
		if (xtrk_seg_load(&s, paths[i]) == 0) {
			(*segments)++;
			*runs += s.h->nruns;
			*bytes += s.size;
			xtrk_seg_close(&s);
		}
		free(paths[i]);
	}
	free(paths);
	return 0;
}

/* ---- fields no run has ---- */

static int key_below_or_equal(const char *key, size_t klen, const char *name, size_t len)
{
	return (klen == len && !memcmp(key, name, len)) || xtrk_field_below(key, klen, name, len);
}

int xtrk_index_key_seen(const xtrk_index *ix, const xtrk_index_key *k)
{
	const char *key;
	json_t *v;
	if (k->is_id || k->is_tags || k->is_stages || k->is_stage || (k->is_notes && json_object_size(ix->notes->all)))
		return 1;
	for (size_t s = 0; s < ix->nsegs; s++)
		if (k->kid[s] >= 0 || k->lo[s] < k->hi[s] || k->blo[s] < k->bhi[s])
			return 1;
	for (size_t m = 0; m < ix->nmems; m++)
		json_object_foreach(ix->mems[m].flat, key, v)
			if (key_below_or_equal(key, strlen(key), k->name, k->len))
				return 1;
	return 0;
}

/* How far apart two short strings are (edits), capped: enough to catch "metric" for "metrics". */
static size_t edits(const char *a, size_t na, const char *b, size_t nb)
{
	size_t prev[65], cur[65];
	if (na > 64 || nb > 64)
		return 99;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]), up = prev[j] + 1, left = cur[j - 1] + 1;
			cur[j] = d < up ? (d < left ? d : left) : (up < left ? up : left);
		}
		memcpy(prev, cur, (nb + 1) * sizeof(*prev));
	}
	return prev[nb];
}

/* A known key's part that `name` may have meant: the key itself, or the key up to the depth of `name`. */
static void consider(const char *key, size_t klen, const char *name, size_t len, xtrk_buf *best, size_t *best_d)
{
	size_t dots = 0, cut = klen, d;
	for (size_t i = 0; i < len; i++)
		dots += name[i] == '.';
	/* A bare name that is the last part of a key: "lr" for "params.lr". */
	if (!dots && klen > len && key[klen - len - 1] == '.' && !memcmp(key + klen - len, name, len))
		d = 1;
	else {
		for (size_t i = 0, seen = 0; i < klen; i++)
			if (key[i] == '.' && seen++ == dots) {
				cut = i;
				break;
			}
		d = edits(key, cut, name, len);
		klen = cut;
	}
	if (d < *best_d || (d == *best_d && best->size && klen < best->size)) {
		*best_d = d;
		xtrk_buf_clear(best);
		xtrk_buf_put(best, key, klen);
	}
}

int xtrk_index_suggest(xtrk_buf *out, const xtrk_index *ix, const char *name)
{
	size_t len = strlen(name), best_d = len < 4 ? 1 : 2;
	const char *key;
	json_t *v;
	best_d++;
	xtrk_buf_clear(out);
	for (size_t s = 0; s < ix->nsegs; s++)
		for (uint32_t kid = 0; kid < ix->segs[s].h->nkeys; kid++) {
			const struct seg_key *k = &ix->segs[s].keys[kid];
			consider(ix->segs[s].str + k->off, k->len, name, len, out, &best_d);
		}
	for (size_t m = 0; m < ix->nmems; m++)
		json_object_foreach(ix->mems[m].flat, key, v)
			consider(key, strlen(key), name, len, out, &best_d);
	return out->size ? 1 : 0;
}
