/* Step series kept as once read, so later readings skip parsing (series_cache.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "series_cache.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/odb.h"

#define MAGIC "XTRKSC01"
#define ORDER 0x01020304u
#define HEAD (8 + 4 * 4 + 8 * 2 + 16)
#define MAX_KEY 4096
#define MAX_FIRST_BAD 4096

static int cache_path(xtrk_buf *p, xtrk_repo *repo, const xtrk_oid *id)
{
	return xtrk_buf_printf(p, "%s/cache/series/%s", xtrk_repo_dir(repo), xtrk_oid_tostr(id));
}

/* The file whole into memory: a regular file, not through a link, of at most `max` bytes; NULL otherwise. */
static unsigned char *slurp(const char *path, size_t *len, uint64_t max)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	unsigned char *data = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max || st.st_size < HEAD + 16 ||
	    !(data = malloc((size_t)st.st_size)))
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return data;
fail:
	free(data);
	close(fd);
	return NULL;
}

struct reader {
	const unsigned char *p;
	size_t left;
};

static int take(void *out, struct reader *r, size_t n)
{
	if (n > r->left)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int series_cache_get(xtrk_series **out, xtrk_repo *repo, const xtrk_oid *id)
{
	xtrk_buf path = XTRK_BUF_INIT;
	unsigned char *data = NULL;
	xtrk_series *s = NULL;
	struct reader r;
	xtrk_oid sum, want;
	uint32_t order, nkeys, fblen, zero;
	uint64_t nsteps, bad;
	xtrk_oid of;
	size_t len = 0;
	/* the largest a series within the reading's bounds can be */
	const uint64_t max = HEAD + 16 + (uint64_t)XTRK_SERIES_MAX_KEYS * (4 + MAX_KEY) + MAX_FIRST_BAD +
			     (uint64_t)XTRK_SERIES_MAX_VALUES * 16;

	*out = NULL;
	if (cache_path(&path, repo, id) < 0)
		return xtrk_error_oom();
	data = slurp(path.ptr, &len, max);
	if (!data)
		goto miss;
	xtrk_oid_hash(&sum, data, len - 16);
	memcpy(want.id, data + len - 16, 16);
	r.p = data;
	r.left = len - 16;
	if (xtrk_oid_cmp(&sum, &want) || memcmp(data, MAGIC, 8))
		goto miss;
	r.p += 8;
	r.left -= 8;
	if (take(&order, &r, 4) || order != ORDER || take(&nkeys, &r, 4) || take(&fblen, &r, 4) || take(&zero, &r, 4) ||
	    take(&nsteps, &r, 8) || take(&bad, &r, 8) || take(of.id, &r, 16) || xtrk_oid_cmp(&of, id) || zero || !nkeys || nkeys > XTRK_SERIES_MAX_KEYS ||
	    fblen > MAX_FIRST_BAD || !nsteps || nsteps > XTRK_SERIES_MAX_VALUES ||
	    nsteps * nkeys > XTRK_SERIES_MAX_VALUES)
		goto miss;
	if (!(s = calloc(1, sizeof(*s))) || !(s->keys = calloc(nkeys, sizeof(*s->keys))))
		goto oom;
	s->nkeys = nkeys;
	for (uint32_t k = 0; k < nkeys; k++) {
		uint32_t kl;
		if (take(&kl, &r, 4) || kl > MAX_KEY || kl > r.left)
			goto miss;
		if (!(s->keys[k] = malloc((size_t)kl + 1)))
			goto oom;
		take(s->keys[k], &r, kl);
		s->keys[k][kl] = '\0';
		if (strlen(s->keys[k]) != kl)
			goto miss;
	}
	if (fblen || bad) {
		if (fblen > r.left)
			goto miss;
		if (!(s->first_bad = malloc((size_t)fblen + 1)))
			goto oom;
		take(s->first_bad, &r, fblen);
		s->first_bad[fblen] = '\0';
	}
	if (r.left != nsteps * 8 + nsteps * nkeys * 8)
		goto miss;
	s->nsteps = nsteps;
	s->bad_lines = bad;
	if (!(s->steps = malloc(nsteps * 8)) || !(s->values = malloc(nsteps * nkeys * 8)))
		goto oom;
	take(s->steps, &r, nsteps * 8);
	take(s->values, &r, nsteps * nkeys * 8);
	for (uint64_t i = 0; i < nsteps; i++)
		if (s->steps[i] < 0 || (i && s->steps[i] <= s->steps[i - 1]))
			goto miss;
	free(data);
	xtrk_buf_dispose(&path);
	*out = s;
	return 0;
miss:
	/* absent, or damaged: ignored here, made again by the reading */
	if (data)
		unlink(path.ptr);
	xtrk_series_free(s);
	free(data);
	xtrk_buf_dispose(&path);
	return 1;
oom:
	xtrk_series_free(s);
	free(data);
	xtrk_buf_dispose(&path);
	return xtrk_error_oom();
}

void series_cache_put(xtrk_repo *repo, const xtrk_oid *id, const xtrk_series *s)
{
	xtrk_buf b = XTRK_BUF_INIT, path = XTRK_BUF_INIT, dir = XTRK_BUF_INIT;
	uint32_t order = ORDER, nkeys = (uint32_t)s->nkeys, zero = 0, fblen;
	uint64_t nsteps = s->nsteps, bad = s->bad_lines;
	xtrk_oid sum;
	size_t fl = s->first_bad ? strlen(s->first_bad) : 0;

	if (!s->nkeys || !s->nsteps || s->nkeys > XTRK_SERIES_MAX_KEYS)
		return;
	fblen = (uint32_t)(fl > MAX_FIRST_BAD ? MAX_FIRST_BAD : fl);
	xtrk_buf_put(&b, MAGIC, 8);
	xtrk_buf_put(&b, &order, 4);
	xtrk_buf_put(&b, &nkeys, 4);
	xtrk_buf_put(&b, &fblen, 4);
	xtrk_buf_put(&b, &zero, 4);
	xtrk_buf_put(&b, &nsteps, 8);
	xtrk_buf_put(&b, &bad, 8);
	xtrk_buf_put(&b, id->id, 16);
	for (size_t k = 0; k < s->nkeys; k++) {
		uint32_t kl = (uint32_t)strlen(s->keys[k]);
		if (kl > MAX_KEY)
			goto done; /* not kept: read from the blob each time */
		xtrk_buf_put(&b, &kl, 4);
		xtrk_buf_put(&b, s->keys[k], kl);
	}
	xtrk_buf_put(&b, s->first_bad ? s->first_bad : "", fblen);
	xtrk_buf_put(&b, s->steps, s->nsteps * 8);
	xtrk_buf_put(&b, s->values, s->nsteps * s->nkeys * 8);
	if (xtrk_buf_oom(&b))
		goto done;
	xtrk_oid_hash(&sum, b.ptr, b.size);
	xtrk_buf_put(&b, sum.id, 16);
	if (xtrk_buf_oom(&b) || xtrk_buf_printf(&dir, "%s/cache/series", xtrk_repo_dir(repo)) < 0 ||
	    cache_path(&path, repo, id) < 0)
		goto done;
	/* A cache: a torn or stale copy is caught by its checksum, so no flush to disk is needed. */
	if (xtrk_mkdir_p(dir.ptr) == 0) {
		xtrk_buf tmp = XTRK_BUF_INIT;
		int fd;
		if (xtrk_buf_printf(&tmp, "%s.tmp-XXXXXX", path.ptr) == 0 && (fd = mkstemp(tmp.ptr)) >= 0) {
			int ok = xtrk_write_all(fd, b.ptr, b.size, tmp.ptr) == 0;
			if (close(fd) < 0 || !ok || rename(tmp.ptr, path.ptr) < 0)
				unlink(tmp.ptr);
		}
		xtrk_buf_dispose(&tmp);
	}
	xtrk_error_clear();
done:
	xtrk_buf_dispose(&b);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&dir);
}

size_t series_cache_prune(xtrk_repo *repo)
{
	xtrk_buf dir = XTRK_BUF_INIT, p = XTRK_BUF_INIT;
	struct dirent *de;
	size_t removed = 0;
	DIR *d;

	if (xtrk_buf_printf(&dir, "%s/cache/series", xtrk_repo_dir(repo)) < 0 || !(d = opendir(dir.ptr))) {
		xtrk_buf_dispose(&dir);
		return 0;
	}
	while ((de = readdir(d))) {
		xtrk_oid id;
		int keep;
		if (de->d_name[0] == '.')
			continue;
		/* a series of a blob the store holds stays; anything else goes (an old temporary file too) */
		keep = strlen(de->d_name) == XTRK_OID_HEXSZ && xtrk_oid_parse(&id, de->d_name) == 0 &&
		       xtrk_odb_exists(xtrk_repo_odb(repo), &id) == 1;
		xtrk_buf_clear(&p);
		if (!keep && xtrk_buf_printf(&p, "%s/%s", dir.ptr, de->d_name) == 0 && unlink(p.ptr) == 0)
			removed++;
	}
	closedir(d);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&p);
	xtrk_error_clear();
	return removed;
}
