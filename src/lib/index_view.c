/*
 * The run index's view: the sorted, resolved list of runs, trusted only while
 * the folders of run refs are as they were when it was made.  See
 * index_view.h and xtrk-format(5).
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fileutil.h"
#include "index_view.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void dir_of(struct view_dir *d, const struct stat *st)
{
	memset(d, 0, sizeof(*d));
	d->ino = (uint64_t)st->st_ino;
	d->mtime_ns = ns_of(&st->st_mtim);
	d->ctime_ns = ns_of(&st->st_ctim);
}

void xtrk_view_state_free(struct view_state *st)
{
	for (size_t i = 0; i < st->ndirs; i++)
		free(st->names[i]);
	free(st->names);
	free(st->dirs);
	memset(st, 0, sizeof(*st));
}

static int state_push(struct view_state *st, const char *name, const struct stat *sb)
{
	struct view_dir *nd = realloc(st->dirs, (st->ndirs + 1) * sizeof(*nd));
	char **nn;
	if (!nd)
		return xtrk_error_oom();
	st->dirs = nd;
	if (!(nn = realloc(st->names, (st->ndirs + 1) * sizeof(*nn))))
		return xtrk_error_oom();
	st->names = nn;
	if (!(st->names[st->ndirs] = strdup(name)))
		return xtrk_error_oom();
	dir_of(&st->dirs[st->ndirs++], sb);
	return 0;
}

int xtrk_view_capture(struct view_state *st, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct timespec now;
	struct stat sb;
	DIR *d = NULL;
	struct dirent *de;
	size_t base;
	int err = 0;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_REALTIME, &now);
	st->built_ns = ns_of(&now);
	xtrk_buf_printf(&p, "%s/refs/experiments", xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p))
		return xtrk_error_oom();
	base = p.size;
	if (lstat(p.ptr, &sb) < 0 || !S_ISDIR(sb.st_mode) || !(d = opendir(p.ptr)))
		goto done; /* no folder (a new store), or a strange one: no view */
	if ((err = state_push(st, "", &sb)) < 0)
		goto done;
	st->usable = 1;
	while (err == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		xtrk_buf_truncate(&p, base);
		xtrk_buf_printf(&p, "/%s", de->d_name);
		if (xtrk_buf_oom(&p))
			err = xtrk_error_oom();
		else if (!xtrk_ref_name_valid(de->d_name) || lstat(p.ptr, &sb) < 0 || !S_ISDIR(sb.st_mode))
			st->usable = 0; /* the listing warns of it each time: not something to skip silently */
		else
			err = state_push(st, de->d_name, &sb);
	}
done:
	if (d)
		closedir(d);
	xtrk_buf_dispose(&p);
	if (err < 0)
		xtrk_view_state_free(st);
	return err;
}

void xtrk_view_free(struct view *v)
{
	xtrk_buf_dispose(&v->buf);
	free(v->fresh);
	memset(v, 0, sizeof(*v));
}

static int within(uint64_t off, uint64_t count, uint64_t each, uint64_t size)
{
	return off <= size && count <= (size - off) / each;
}

/* Whether a folder is still as recorded, and was last changed long enough before the view was made. */
static int dir_fresh(const struct view_dir *d, const char *path, int64_t built_ns)
{
	struct stat sb;
	struct view_dir now;
	int64_t racy;
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return 0;
	dir_of(&now, &sb);
	if (now.ino != d->ino || now.mtime_ns != d->mtime_ns || now.ctime_ns != d->ctime_ns)
		return 0;
	racy = (d->mtime_ns % 1000000000LL == 0 && d->ctime_ns % 1000000000LL == 0) ? VIEW_RACY_COARSE_NS : VIEW_RACY_NS;
	return d->ctime_ns < built_ns - racy && d->mtime_ns < built_ns - racy;
}

int xtrk_view_read(struct view *v, int *fresh, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	const struct view_hdr *h;
	xtrk_oid sum;
	uint64_t off, end;
	int err;

	memset(v, 0, sizeof(*v));
	*fresh = 0;
	xtrk_buf_printf(&p, "%s/" VIEW_FILE, xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p))
		return xtrk_error_oom();
	if ((err = xtrk_buf_read_file(&v->buf, p.ptr)) < 0)
		goto done;
	err = XTRK_ECORRUPT;
	if (!xtrk_seg_host_ok() || v->buf.size < sizeof(*h) + VIEW_SUM_LEN)
		goto bad;
	v->h = h = (const void *)v->buf.ptr;
	xtrk_oid_hash(&sum, v->buf.ptr, v->buf.size - VIEW_SUM_LEN);
	if (memcmp(sum.id, v->buf.ptr + v->buf.size - VIEW_SUM_LEN, VIEW_SUM_LEN))
		goto bad;
	if (memcmp(h->magic, VIEW_MAGIC, 8) || h->version != VIEW_VERSION || h->size != v->buf.size || h->ndirs == 0)
		goto bad;
	end = h->size - VIEW_SUM_LEN;
	off = sizeof(*h);
	if (!within(off, h->ndirs, sizeof(struct view_dir), end))
		goto bad;
	v->dirs = (const void *)(v->buf.ptr + off);
	off += (uint64_t)h->ndirs * sizeof(struct view_dir);
	if (!within(off, h->nsegs, sizeof(struct view_seg), end))
		goto bad;
	v->segs = (const void *)(v->buf.ptr + off);
	off += (uint64_t)h->nsegs * sizeof(struct view_seg);
	if (!within(off, h->nruns, sizeof(struct view_run), end))
		goto bad;
	v->runs = (const void *)(v->buf.ptr + off);
	off += (uint64_t)h->nruns * sizeof(struct view_run);
	if (h->str_len != end - off || h->str_len == 0 || v->buf.ptr[end - 1] != '\0')
		goto bad;
	v->str = v->buf.ptr + off;
	/* Every name is a NUL-terminated string of the pool, every run's folder and segment listed. */
	for (uint32_t i = 0; i < h->ndirs; i++)
		if ((uint64_t)v->dirs[i].name_off + v->dirs[i].name_len >= h->str_len ||
		    v->str[v->dirs[i].name_off + v->dirs[i].name_len] || strlen(v->str + v->dirs[i].name_off) != v->dirs[i].name_len ||
		    (i == 0) != (v->dirs[i].name_len == 0) || (i && !xtrk_ref_name_valid(v->str + v->dirs[i].name_off)))
			goto bad;
	for (uint32_t i = 0; i < h->nsegs; i++)
		if ((uint64_t)v->segs[i].name_off + v->segs[i].name_len >= h->str_len ||
		    strlen(v->str + v->segs[i].name_off) != v->segs[i].name_len || strchr(v->str + v->segs[i].name_off, '/') ||
		    strncmp(v->str + v->segs[i].name_off, "seg-", 4))
			goto bad;
	for (uint32_t i = 0; i < h->nruns; i++)
		if (v->runs[i].dir == 0 || v->runs[i].dir >= h->ndirs || v->runs[i].seg >= h->nsegs)
			goto bad;
	/* Fresh: every folder as it was, and none left out (refs/experiments unchanged means the same entries). */
	if (!(v->fresh = calloc(h->ndirs, 1))) {
		err = xtrk_error_oom();
		xtrk_view_free(v);
		goto done;
	}
	*fresh = 1;
	for (uint32_t i = 0; i < h->ndirs; i++) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/refs/experiments%s%s", xtrk_repo_dir(repo), i ? "/" : "", v->str + v->dirs[i].name_off);
		v->fresh[i] = !xtrk_buf_oom(&p) && dir_fresh(&v->dirs[i], p.ptr, h->built_ns);
		*fresh &= v->fresh[i];
	}
	err = 0;
	goto done;
bad:
	err = xtrk_error_set(XTRK_ECORRUPT, "the run index's view '%s' is damaged (xtrk makes it anew)", p.ptr);
	xtrk_view_free(v);
done:
	xtrk_buf_dispose(&p);
	return err;
}

int xtrk_view_write(xtrk_repo *repo, const struct view_state *st, const struct seg *segs, size_t nsegs,
	const struct view_src *runs, size_t n)
{
	xtrk_buf file = XTRK_BUF_INIT, str = XTRK_BUF_INIT, path = XTRK_BUF_INIT;
	struct view_hdr h;
	xtrk_oid sum;
	int err = 0;

	if (!st->usable || !st->ndirs || n > UINT32_MAX || nsegs > UINT32_MAX)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VIEW_MAGIC, 8);
	h.version = VIEW_VERSION;
	h.ndirs = (uint32_t)st->ndirs;
	h.nsegs = (uint32_t)nsegs;
	h.nruns = (uint32_t)n;
	h.built_ns = st->built_ns;
	xtrk_buf_put(&file, &h, sizeof(h));
	for (size_t i = 0; i < st->ndirs; i++) {
		struct view_dir d = st->dirs[i];
		d.name_off = (uint32_t)str.size;
		d.name_len = (uint32_t)strlen(st->names[i]);
		xtrk_buf_put(&str, st->names[i], d.name_len + 1);
		xtrk_buf_put(&file, &d, sizeof(d));
	}
	for (size_t i = 0; i < nsegs; i++) {
		struct view_seg s;
		const char *base = strrchr(segs[i].path, '/');
		base = base ? base + 1 : segs[i].path;
		memcpy(s.sum, segs[i].h->sum, 16);
		s.name_off = (uint32_t)str.size;
		s.name_len = (uint32_t)strlen(base);
		xtrk_buf_put(&str, base, s.name_len + 1);
		xtrk_buf_put(&file, &s, sizeof(s));
	}
	for (size_t i = 0; i < n; i++) {
		struct view_run r;
		size_t d = 1;
		while (d < st->ndirs && strcmp(st->names[d], runs[i].exp))
			d++;
		if (d == st->ndirs) {
			err = -1; /* an experiment that appeared after the folders were looked at */
			goto done;
		}
		memcpy(r.id, runs[i].id, 16);
		r.dir = (uint32_t)d;
		r.seg = runs[i].seg;
		r.idx = runs[i].idx;
		xtrk_buf_put(&file, &r, sizeof(r));
	}
	xtrk_buf_put(&file, str.ptr, str.size);
	h.str_len = str.size;
	h.size = file.size + VIEW_SUM_LEN;
	if (xtrk_buf_oom(&file) || xtrk_buf_oom(&str)) {
		err = -1;
		goto done;
	}
	memcpy(file.ptr, &h, sizeof(h));
	xtrk_oid_hash(&sum, file.ptr, file.size);
	xtrk_buf_put(&file, sum.id, VIEW_SUM_LEN);
	xtrk_buf_printf(&path, "%s/" VIEW_FILE, xtrk_repo_dir(repo));
	/* A cache: atomic, not fsynced (a torn one fails its checksum and is made anew). */
	if (xtrk_buf_oom(&file) || xtrk_buf_oom(&path) || xtrk_write_file_atomic(path.ptr, file.ptr, file.size, 0644, 0) < 0)
		err = -1;
done:
	if (err < 0)
		xtrk_error_clear();
	xtrk_buf_dispose(&file);
	xtrk_buf_dispose(&str);
	xtrk_buf_dispose(&path);
	return err;
}
