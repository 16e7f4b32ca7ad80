/* The stat cache: skip re-reading files whose size, times and inode are unchanged. */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileutil.h"
#include "statcache.h"
#include "xtrk/errors.h"
#include "xtrk/statcache.h"

/*
 * File: "xtrk-statcache 1 <started_ns>\n" then, sorted by path,
 * "<id> <size> <mtime_ns> <ctime_ns> <ino> <dev> <path>\n".
 * <started_ns> is when the snapshot that wrote it began: a file whose mtime
 * is not safely before that may have changed in the same clock tick after
 * it was read ("racily clean", as git calls it), so it is re-read.
 */
#define RACY_MARGIN_NS 1000000000LL

struct sc_entry {
	char *path;
	xtrk_statinfo st;
	xtrk_oid id;
};

struct xtrk_statcache {
	char *file;
	int64_t prev_started_ns;
	int64_t started_ns;
	char *storage; /* the loaded file; old entries' paths point into it */
	struct sc_entry *old;
	size_t nold;
	pthread_mutex_t lock;
	struct sc_entry *add;
	size_t nadd, aadd;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void xtrk_statinfo_from(xtrk_statinfo *si, const struct stat *st)
{
	si->size = (uint64_t)st->st_size;
	si->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	si->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
	si->ino = (uint64_t)st->st_ino;
	si->dev = (uint64_t)st->st_dev;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct sc_entry *)a)->path, ((const struct sc_entry *)b)->path);
}

/* Parse a decimal field ending in a space; NULL when malformed.  (sscanf costs more than the stat.) */
static char *field(char *p, unsigned long long *out, int negative_ok)
{
	unsigned long long v = 0;
	int neg = 0;
	if (negative_ok && *p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	if (*p != ' ')
		return NULL;
	*out = neg ? (unsigned long long)-(long long)v : v;
	return p + 1;
}

/* Parse the file; anything unexpected drops the whole cache (it is only a cache). */
static void load(xtrk_statcache *c, char *data, size_t len)
{
	char *p = data, *end = data + len, *nl;
	size_t lines = 0, n = 0;
	long long started;

	if (sscanf(p, "xtrk-statcache 1 %lld\n", &started) != 1 || !(nl = memchr(p, '\n', len)))
		return;
	c->prev_started_ns = started;
	p = nl + 1;
	for (char *q = p; q < end; q++)
		lines += *q == '\n';
	if (!lines || !(c->old = calloc(lines, sizeof(*c->old))))
		return;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		struct sc_entry *e = &c->old[n];
		unsigned long long size = 0, mt = 0, ct = 0, ino = 0, dev = 0;
		char *q = p + XTRK_OID_HEXSZ + 1;
		*nl = '\0';
		if (nl - p <= XTRK_OID_HEXSZ || p[XTRK_OID_HEXSZ] != ' ' ||
		    !(p[XTRK_OID_HEXSZ] = '\0', xtrk_oid_parse(&e->id, p) == 0) ||
		    !(q = field(q, &size, 0)) || !(q = field(q, &mt, 1)) || !(q = field(q, &ct, 1)) ||
		    !(q = field(q, &ino, 0)) || !(q = field(q, &dev, 0)) || !*q ||
		    (n && strcmp(c->old[n - 1].path, q) >= 0)) {
			free(c->old);
			c->old = NULL;
			c->nold = 0;
			xtrk_error_clear();
			return;
		}
		e->path = q;
		e->st.size = size;
		e->st.mtime_ns = (int64_t)mt;
		e->st.ctime_ns = (int64_t)ct;
		e->st.ino = ino;
		e->st.dev = dev;
		n++;
		p = nl + 1;
	}
	c->nold = n;
}

int xtrk_statcache_open(xtrk_statcache **out, xtrk_repo *repo)
{
	xtrk_statcache *c = calloc(1, sizeof(*c));
	xtrk_buf path = XTRK_BUF_INIT, data = XTRK_BUF_INIT;

	*out = NULL;
	if (!c)
		return xtrk_error_oom();
	pthread_mutex_init(&c->lock, NULL);
	c->started_ns = now_ns();
	if (xtrk_buf_printf(&path, "%s/cache/stat", xtrk_repo_dir(repo)) < 0) {
		xtrk_statcache_free(c);
		return XTRK_ERROR;
	}
	c->file = xtrk_buf_detach(&path);
	if (xtrk_buf_read_file(&data, c->file) == 0) {
		c->storage = xtrk_buf_detach(&data);
		if (c->storage)
			load(c, c->storage, strlen(c->storage));
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&data);
	*out = c;
	return 0;
}

int xtrk_statcache_lookup(xtrk_oid *out, xtrk_statcache *c, const char *path, const xtrk_statinfo *st)
{
	struct sc_entry key = { (char *)path, { 0 }, { { 0 } } };
	struct sc_entry *e;

	if (!c || !c->nold)
		return 0;
	e = bsearch(&key, c->old, c->nold, sizeof(*c->old), cmp_entry);
	if (!e || e->st.size != st->size || e->st.mtime_ns != st->mtime_ns || e->st.ctime_ns != st->ctime_ns ||
	    e->st.ino != st->ino || e->st.dev != st->dev)
		return 0;
	if (st->mtime_ns >= c->prev_started_ns - RACY_MARGIN_NS)
		return 0;
	*out = e->id;
	return 1;
}

int xtrk_statcache_record(xtrk_statcache *c, const char *path, const xtrk_statinfo *st, const xtrk_oid *id)
{
	int err = 0;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->nadd == c->aadd) {
		size_t na = c->aadd ? c->aadd * 2 : 256;
		struct sc_entry *p = realloc(c->add, na * sizeof(*p));
		if (!p) {
			err = xtrk_error_oom();
			goto done;
		}
		c->add = p;
		c->aadd = na;
	}
	if (!(c->add[c->nadd].path = strdup(path))) {
		err = xtrk_error_oom();
		goto done;
	}
	c->add[c->nadd].st = *st;
	c->add[c->nadd].id = *id;
	c->nadd++;
done:
	pthread_mutex_unlock(&c->lock);
	return err;
}

static int put_entry(xtrk_buf *b, const struct sc_entry *e)
{
	return xtrk_buf_printf(b, "%s %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %s\n",
		xtrk_oid_tostr(&e->id), e->st.size, e->st.mtime_ns, e->st.ctime_ns, e->st.ino, e->st.dev, e->path);
}

int xtrk_statcache_save(xtrk_statcache *c)
{
	xtrk_buf b = XTRK_BUF_INIT;
	size_t i = 0, j = 0;
	int err;

	if (!c->nadd)
		return 0;
	xtrk_sort(c->add, c->nadd, sizeof(*c->add), cmp_entry);
	xtrk_buf_printf(&b, "xtrk-statcache 1 %lld\n", (long long)c->started_ns);
	/* Merge old and new, both sorted; a new entry replaces an old one for the same path. */
	while (i < c->nold || j < c->nadd) {
		int cmp = i == c->nold ? 1 : j == c->nadd ? -1 : strcmp(c->old[i].path, c->add[j].path);
		if (cmp < 0) {
			put_entry(&b, &c->old[i++]);
		} else {
			if (cmp == 0)
				i++;
			while (j + 1 < c->nadd && !strcmp(c->add[j].path, c->add[j + 1].path))
				j++;
			if (!strchr(c->add[j].path, '\n'))
				put_entry(&b, &c->add[j]);
			j++;
		}
	}
	err = xtrk_buf_oom(&b) ? XTRK_ERROR : xtrk_write_file_atomic(c->file, b.ptr, b.size, 0644, 0);
	xtrk_buf_dispose(&b);
	return err;
}

void xtrk_statcache_free(xtrk_statcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nadd; i++)
		free(c->add[i].path);
	free(c->add);
	free(c->old);
	free(c->storage);
	free(c->file);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
