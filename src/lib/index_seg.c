/*
 * The run index's segment files: writing one from runs (flattened records or
 * runs of other segments), and mapping and checking one.  See index_seg.h and
 * xtrk-format(5) for the layout.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "index_seg.h"
#include "xtrk/errors.h"

void xtrk_seg_leaf_value(xtrk_value *out, json_t *v)
{
	memset(out, 0, sizeof(*out));
	if (json_is_string(v)) {
		out->type = XTRK_VAL_STR;
		out->str = json_string_value(v);
		out->len = json_string_length(v);
	} else if (json_is_number(v)) {
		out->type = XTRK_VAL_NUM;
		out->num = json_number_value(v);
	} else if (json_is_boolean(v)) {
		out->type = XTRK_VAL_BOOL;
		out->num = json_is_true(v);
	} else {
		out->type = XTRK_VAL_NULL;
	}
}

void xtrk_seg_field_value(xtrk_value *out, const struct seg *s, const struct seg_field *f)
{
	memset(out, 0, sizeof(*out));
	out->type = (xtrk_val_type)f->type;
	if (f->type == XTRK_VAL_STR) {
		out->str = s->str + f->v.s.off;
		out->len = f->v.s.len;
	} else if (f->type == XTRK_VAL_NUM || f->type == XTRK_VAL_BOOL) {
		out->num = f->v.num;
	}
}

/* ---- segments: loading ---- */

void xtrk_seg_close(struct seg *s)
{
	if (s->map)
		munmap(s->map, s->size);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int within(uint64_t off, uint64_t count, uint64_t each, uint64_t size)
{
	return off <= size && count <= (size - off) / (each ? each : 1);
}

/* Map a segment and check it whole: a damaged one is ignored (the runs are read from their objects). */
int xtrk_seg_load(struct seg *s, const char *path)
{
	struct stat st;
	int fd;
	xtrk_oid sum;
	const struct seg_hdr *h;

	memset(s, 0, sizeof(*s));
	if (!xtrk_seg_host_ok())
		return -1; /* the format is little-endian: this host answers from the run objects */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct seg_hdr) ||
	    (s->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)) == MAP_FAILED) {
		s->map = NULL;
		close(fd);
		return -1;
	}
	close(fd);
	s->size = (size_t)st.st_size;
	s->h = h = s->map;
	if (memcmp(h->magic, SEG_MAGIC, 8) || h->version != SEG_VERSION || h->size != s->size ||
	    !within(h->keys_off, h->nkeys, sizeof(struct seg_key), s->size) ||
	    !within(h->envs_off, h->nenvs, sizeof(struct seg_env), s->size) ||
	    !within(h->runs_off, h->nruns, sizeof(struct seg_run), s->size) ||
	    !within(h->fields_off, h->nfields, sizeof(struct seg_field), s->size) ||
	    !within(h->str_off, h->str_len, 1, s->size) || h->str_len > UINT32_MAX)
		goto bad;
	xtrk_oid_hash(&sum, (const char *)s->map + sizeof(*h), s->size - sizeof(*h));
	if (memcmp(sum.id, h->sum, 16))
		goto bad;
	s->keys = (const void *)((const char *)s->map + h->keys_off);
	s->envs = (const void *)((const char *)s->map + h->envs_off);
	s->runs = (const void *)((const char *)s->map + h->runs_off);
	s->fields = (const void *)((const char *)s->map + h->fields_off);
	s->str = (const char *)s->map + h->str_off;
	/* Every reference inside stays inside, so lookups need no checks. */
	for (uint32_t i = 0; i < h->nkeys; i++)
		if ((uint64_t)s->keys[i].off + s->keys[i].len > h->str_len)
			goto bad;
	for (uint64_t i = 0; i < h->nfields; i++) {
		const struct seg_field *f = &s->fields[i];
		if (f->key >= h->nkeys || f->type > XTRK_VAL_STR ||
		    (f->type == XTRK_VAL_STR && (uint64_t)f->v.s.off + f->v.s.len > h->str_len))
			goto bad;
	}
	for (uint32_t i = 0; i < h->nenvs; i++)
		if ((uint64_t)s->envs[i].first + s->envs[i].n > h->nfields)
			goto bad;
	for (uint32_t i = 0; i < h->nruns; i++) {
		const struct seg_run *r = &s->runs[i];
		if ((uint64_t)r->first + r->n > h->nfields || (r->env != NO_ENV && r->env >= h->nenvs) ||
		    (uint64_t)r->exp_off + r->exp_len > h->str_len || (uint64_t)r->started_off + r->started_len > h->str_len)
			goto bad;
	}
	if (!(s->path = strdup(path)))
		goto bad;
	return 0;
bad:
	xtrk_seg_close(s);
	return -1;
}

int xtrk_seg_key_cmp(const struct seg *s, uint32_t kid, const char *name, size_t len)
{
	const struct seg_key *k = &s->keys[kid];
	size_t n = k->len < len ? k->len : len;
	int c = memcmp(s->str + k->off, name, n);
	return c ? c : (k->len > len) - (k->len < len);
}

/* The first key >= name (bytewise). */
uint32_t xtrk_seg_key_lower(const struct seg *s, const char *name, size_t len)
{
	uint32_t lo = 0, hi = s->h->nkeys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (xtrk_seg_key_cmp(s, mid, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct seg_run *xtrk_seg_find_run(const struct seg *s, const xtrk_oid *id, uint32_t *idx)
{
	uint32_t lo = 0, hi = s->h->nruns;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s->runs[mid].id, id->id, 16);
		if (!c) {
			*idx = mid;
			return &s->runs[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct seg_field *xtrk_seg_fields_find(const struct seg_field *f, uint32_t n, uint32_t key)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f[mid].key == key)
			return &f[mid];
		if (f[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- segments: building ---- */


struct builder {
	json_t *keyset;      /* name -> index in first-seen order */
	char **names;
	size_t nnames;
	uint32_t *rank;      /* first-seen index -> sorted ID */
	xtrk_buf str;        /* the string pool */
	json_t *envmap;      /* env content hash -> env index */
};

static int intern_key(struct builder *b, const char *name, size_t len, uint32_t *out)
{
	char stackname[512], *nm = len < sizeof(stackname) ? stackname : malloc(len + 1);
	json_t *v;
	if (!nm)
		return xtrk_error_oom();
	memcpy(nm, name, len);
	nm[len] = 0;
	if ((v = json_object_get(b->keyset, nm))) {
		*out = (uint32_t)json_integer_value(v);
	} else {
		char **nn = realloc(b->names, (b->nnames + 1) * sizeof(*nn));
		if (!nn || !(nn[b->nnames] = strdup(nm))) {
			if (nn)
				b->names = nn;
			if (nm != stackname)
				free(nm);
			return xtrk_error_oom();
		}
		b->names = nn;
		*out = (uint32_t)b->nnames;
		json_object_set_new(b->keyset, nm, json_integer((json_int_t)b->nnames));
		b->nnames++;
	}
	if (nm != stackname)
		free(nm);
	return 0;
}

static uint32_t pool_add(struct builder *b, const char *s, size_t len)
{
	uint32_t off = (uint32_t)b->str.size;
	xtrk_buf_put(&b->str, s, len);
	return off;
}

struct pending_field {
	uint32_t key; /* first-seen index; ranked at the end */
	xtrk_value v;
};

static int pf_cmp_rank(const void *a, const void *b, void *rank)
{
	const uint32_t *r = rank;
	uint32_t x = r[((const struct pending_field *)a)->key], y = r[((const struct pending_field *)b)->key];
	return (x > y) - (x < y);
}

/*
 * Fields are written with first-seen key indexes and ranked once all keys
 * are known; a run's fields are sorted by rank then.  So the builder keeps
 * each run's fields as pending until finish.
 */
struct pending_run {
	xtrk_oid id;
	uint32_t exp_off, exp_len, started_off, started_len;
	uint32_t env;
	size_t first, n; /* into the pending field array */
};

struct pending {
	struct pending_field *f;
	size_t nf, af;
	struct pending_run *r;
	size_t nr, ar;
	size_t *env_first, *env_n;
	size_t nenv, aenv;
};

static int pend_field(struct pending *p, uint32_t key, const xtrk_value *v)
{
	if (p->nf == p->af) {
		size_t na = p->af ? p->af * 2 : 1024;
		struct pending_field *nf = realloc(p->f, na * sizeof(*nf));
		if (!nf)
			return xtrk_error_oom();
		p->f = nf;
		p->af = na;
	}
	p->f[p->nf].key = key;
	p->f[p->nf].v = *v;
	p->nf++;
	return 0;
}

/* Strings are copied into the pool as they come, so a value points at pool offsets (str unused). */
static int add_value(struct builder *b, struct pending *p, const char *key, size_t klen, const xtrk_value *v)
{
	xtrk_value c = *v;
	uint32_t kid;
	int err;
	if ((err = intern_key(b, key, klen, &kid)) < 0)
		return err;
	if (c.type == XTRK_VAL_STR) {
		c.num = (double)pool_add(b, v->str, v->len);
		c.str = NULL;
	}
	return pend_field(p, kid, &c);
}

static int is_env_key(const char *k, size_t len)
{
	return len > 4 && !memcmp(k, "env.", 4);
}

/* The environment of a run: deduplicated by the XXH3 of its (key, value) text. */
struct envsrc {
	const char **keys;
	size_t *klens;
	xtrk_value *vals;
	size_t n, a;
};

static int env_push(struct envsrc *e, const char *k, size_t kl, const xtrk_value *v)
{
	if (e->n == e->a) {
		size_t na = e->a ? e->a * 2 : 64;
		const char **nk = realloc(e->keys, na * sizeof(*nk));
		size_t *nl = nk ? realloc(e->klens, na * sizeof(*nl)) : NULL;
		xtrk_value *nv = nl ? realloc(e->vals, na * sizeof(*nv)) : NULL;
		if (nk)
			e->keys = nk;
		if (nl)
			e->klens = nl;
		if (!nv)
			return xtrk_error_oom();
		e->vals = nv;
		e->a = na;
	}
	e->keys[e->n] = k;
	e->klens[e->n] = kl;
	e->vals[e->n] = *v;
	e->n++;
	return 0;
}

static int env_index(uint32_t *out, struct builder *b, struct pending *p, struct envsrc *e)
{
	xtrk_buf text = XTRK_BUF_INIT;
	xtrk_oid h;
	json_t *have;
	size_t first = p->nf;
	int err = 0;

	*out = NO_ENV;
	if (!e->n)
		return 0;
	for (size_t i = 0; i < e->n; i++) {
		xtrk_buf_put(&text, e->keys[i], e->klens[i]);
		xtrk_buf_printf(&text, "=%d:", e->vals[i].type);
		if (e->vals[i].type == XTRK_VAL_STR)
			xtrk_buf_put(&text, e->vals[i].str, e->vals[i].len);
		else
			xtrk_buf_printf(&text, "%.17g", e->vals[i].num);
		xtrk_buf_putc(&text, '\n');
	}
	if (xtrk_buf_oom(&text)) {
		xtrk_buf_dispose(&text);
		return xtrk_error_oom();
	}
	xtrk_oid_hash(&h, text.ptr, text.size);
	xtrk_buf_dispose(&text);
	if ((have = json_object_get(b->envmap, xtrk_oid_tostr(&h)))) {
		*out = (uint32_t)json_integer_value(have);
		return 0;
	}
	for (size_t i = 0; i < e->n && err == 0; i++)
		err = add_value(b, p, e->keys[i], e->klens[i], &e->vals[i]);
	if (err)
		return err;
	if (p->nenv == p->aenv) {
		size_t na = p->aenv ? p->aenv * 2 : 16;
		size_t *f = realloc(p->env_first, na * sizeof(*f)), *n = f ? realloc(p->env_n, na * sizeof(*n)) : NULL;
		if (f)
			p->env_first = f;
		if (!n)
			return xtrk_error_oom();
		p->env_n = n;
		p->aenv = na;
	}
	p->env_first[p->nenv] = first;
	p->env_n[p->nenv] = p->nf - first;
	*out = (uint32_t)p->nenv;
	json_object_set_new(b->envmap, xtrk_oid_tostr(&h), json_integer((json_int_t)p->nenv));
	p->nenv++;
	return 0;
}

static int add_run(struct builder *b, struct pending *p, const struct src *s)
{
	struct envsrc env = { 0 };
	struct pending_run r;
	xtrk_value v;
	const char *started = NULL;
	size_t started_len = 0;
	int err = 0;

	memset(&r, 0, sizeof(r));
	r.id = s->id;
	r.exp_len = (uint32_t)strlen(s->exp);
	r.exp_off = pool_add(b, s->exp, r.exp_len);
	r.first = p->nf;
	if (s->flat) {
		const char *k;
		json_t *leaf;
		json_object_foreach(s->flat, k, leaf) {
			size_t kl = strlen(k);
			xtrk_seg_leaf_value(&v, leaf);
			if (is_env_key(k, kl))
				err = env_push(&env, k, kl, &v);
			else
				err = add_value(b, p, k, kl, &v);
			if (err)
				goto done;
			if (!strcmp(k, "started") && v.type == XTRK_VAL_STR) {
				started = v.str;
				started_len = v.len;
			}
		}
	} else {
		const struct seg *sg = s->seg;
		for (uint32_t i = 0; i < s->run->n; i++) {
			const struct seg_field *f = &sg->fields[s->run->first + i];
			xtrk_seg_field_value(&v, sg, f);
			if ((err = add_value(b, p, sg->str + sg->keys[f->key].off, sg->keys[f->key].len, &v)) < 0)
				goto done;
		}
		if (s->run->env != NO_ENV) {
			const struct seg_env *se = &sg->envs[s->run->env];
			for (uint32_t i = 0; i < se->n; i++) {
				const struct seg_field *f = &sg->fields[se->first + i];
				xtrk_seg_field_value(&v, sg, f);
				if ((err = env_push(&env, sg->str + sg->keys[f->key].off, sg->keys[f->key].len, &v)) < 0)
					goto done;
			}
		}
		started = sg->str + s->run->started_off;
		started_len = s->run->started_len;
	}
	r.n = p->nf - r.first;
	r.started_off = pool_add(b, started ? started : "", started_len);
	r.started_len = (uint32_t)started_len;
	if ((err = env_index(&r.env, b, p, &env)) < 0)
		goto done;
	if (p->nr == p->ar) {
		size_t na = p->ar ? p->ar * 2 : 64;
		struct pending_run *nr = realloc(p->r, na * sizeof(*nr));
		if (!nr) {
			err = xtrk_error_oom();
			goto done;
		}
		p->r = nr;
		p->ar = na;
	}
	p->r[p->nr++] = r;
done:
	free(env.keys);
	free(env.klens);
	free(env.vals);
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

static int prun_cmp(const void *a, const void *b)
{
	return xtrk_oid_cmp(&((const struct pending_run *)a)->id, &((const struct pending_run *)b)->id);
}

static void emit_fields(xtrk_buf *out, struct pending_field *f, size_t n, const uint32_t *rank)
{
	if (n > 1)
		qsort_r(f, n, sizeof(*f), pf_cmp_rank, (void *)rank);
	for (size_t i = 0; i < n; i++) {
		struct seg_field sf;
		memset(&sf, 0, sizeof(sf));
		sf.key = rank[f[i].key];
		sf.type = (uint8_t)f[i].v.type;
		if (f[i].v.type == XTRK_VAL_STR) {
			sf.v.s.off = (uint32_t)f[i].v.num;
			sf.v.s.len = (uint32_t)f[i].v.len;
		} else {
			sf.v.num = f[i].v.num;
		}
		xtrk_buf_put(out, &sf, sizeof(sf));
	}
}

/* Write one segment holding `srcs` (duplicates by ID keep the first). */
int xtrk_seg_write(xtrk_buf *path_out, xtrk_repo *repo, struct src *srcs, size_t n)
{
	struct builder b;
	struct pending p;
	struct seg_hdr h;
	xtrk_buf file = XTRK_BUF_INIT, dir = XTRK_BUF_INIT;
	char ***order = NULL;
	int err = 0;
	xtrk_oid sum;

	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	memset(&h, 0, sizeof(h));
	if (!xtrk_seg_host_ok())
		return xtrk_error_set(XTRK_ERROR, "the run index is written little-endian; this host is not");
	if (!(b.keyset = json_object()) || !(b.envmap = json_object()))
		goto oom;
	xtrk_buf_putc(&b.str, 0);
	for (size_t i = 0; i < n && err == 0; i++)
		err = add_run(&b, &p, &srcs[i]);
	if (err)
		goto done;
	/* Rank keys by name. */
	if (!(order = calloc(b.nnames + 1, sizeof(*order))) || !(b.rank = calloc(b.nnames + 1, sizeof(*b.rank))))
		goto oom;
	for (size_t i = 0; i < b.nnames; i++)
		order[i] = &b.names[i];
	xtrk_sort(order, b.nnames, sizeof(*order), name_cmp);
	for (size_t i = 0; i < b.nnames; i++)
		b.rank[order[i] - b.names] = (uint32_t)i;
	/* Runs by ID, without duplicates. */
	xtrk_sort(p.r, p.nr, sizeof(*p.r), prun_cmp);
	{
		size_t w = 0;
		for (size_t i = 0; i < p.nr; i++)
			if (!w || xtrk_oid_cmp(&p.r[w - 1].id, &p.r[i].id))
				p.r[w++] = p.r[i];
		p.nr = w;
	}
	/* Layout: header, keys, envs, runs, fields, strings. */
	xtrk_buf_put(&file, &h, sizeof(h));
	h.keys_off = file.size;
	for (size_t i = 0; i < b.nnames; i++) {
		struct seg_key k;
		k.len = (uint32_t)strlen(*order[i]);
		k.off = pool_add(&b, *order[i], k.len);
		xtrk_buf_put(&file, &k, sizeof(k));
	}
	h.envs_off = file.size;
	{
		uint64_t at = 0;
		xtrk_buf fields = XTRK_BUF_INIT;
		for (size_t i = 0; i < p.nenv; i++) {
			struct seg_env e = { (uint32_t)at, (uint32_t)p.env_n[i] };
			xtrk_buf_put(&file, &e, sizeof(e));
			emit_fields(&fields, p.f + p.env_first[i], p.env_n[i], b.rank);
			at += p.env_n[i];
		}
		h.runs_off = file.size;
		for (size_t i = 0; i < p.nr; i++) {
			struct seg_run r;
			memset(&r, 0, sizeof(r));
			memcpy(r.id, p.r[i].id.id, 16);
			r.env = p.r[i].env;
			r.first = (uint32_t)at;
			r.n = (uint32_t)p.r[i].n;
			r.exp_off = p.r[i].exp_off;
			r.exp_len = p.r[i].exp_len;
			r.started_off = p.r[i].started_off;
			r.started_len = p.r[i].started_len;
			xtrk_buf_put(&file, &r, sizeof(r));
			emit_fields(&fields, p.f + p.r[i].first, p.r[i].n, b.rank);
			at += p.r[i].n;
		}
		h.fields_off = file.size;
		h.nfields = at;
		xtrk_buf_put(&file, fields.ptr ? fields.ptr : "", fields.size);
		xtrk_buf_dispose(&fields);
	}
	h.str_off = file.size;
	h.str_len = b.str.size;
	xtrk_buf_put(&file, b.str.ptr, b.str.size);
	if (xtrk_buf_oom(&file) || xtrk_buf_oom(&b.str) || b.str.size > UINT32_MAX)
		goto oom;
	memcpy(h.magic, SEG_MAGIC, 8);
	h.version = SEG_VERSION;
	h.nkeys = (uint32_t)b.nnames;
	h.nenvs = (uint32_t)p.nenv;
	h.nruns = (uint32_t)p.nr;
	h.size = file.size;
	xtrk_oid_hash(&sum, file.ptr + sizeof(h), file.size - sizeof(h));
	memcpy(h.sum, sum.id, 16);
	memcpy(file.ptr, &h, sizeof(h));
	xtrk_buf_printf(&dir, "%s/index", xtrk_repo_dir(repo));
	if ((err = xtrk_mkdir_p(dir.ptr)) < 0)
		goto done;
	xtrk_buf_clear(path_out);
	xtrk_buf_printf(path_out, "%s/seg-%s.idx", dir.ptr, xtrk_oid_tostr(&sum));
	/* A cache: atomic, but not fsynced (a torn one fails its checksum and is rebuilt). */
	err = xtrk_write_file_atomic(path_out->ptr, file.ptr, file.size, 0644, 0);
	goto done;
oom:
	err = xtrk_error_oom();
done:
	for (size_t i = 0; i < b.nnames; i++)
		free(b.names[i]);
	free(b.names);
	free(b.rank);
	free(order);
	json_decref(b.keyset);
	json_decref(b.envmap);
	xtrk_buf_dispose(&b.str);
	free(p.f);
	free(p.r);
	free(p.env_first);
	free(p.env_n);
	xtrk_buf_dispose(&file);
	xtrk_buf_dispose(&dir);
	return err;
}

/* ---- the folder ---- */

int xtrk_seg_list(char ***out, size_t *n, xtrk_repo *repo)
{
	xtrk_buf dir = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	xtrk_buf_printf(&dir, "%s/index", xtrk_repo_dir(repo));
	if (!(d = opendir(dir.ptr))) {
		xtrk_buf_dispose(&dir);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn;
		if (len < 9 || strncmp(de->d_name, "seg-", 4) || strcmp(de->d_name + len - 4, ".idx"))
			continue;
		if (!(nn = realloc(names, (cnt + 1) * sizeof(*nn)))) {
			closedir(d);
			xtrk_buf_dispose(&dir);
			for (size_t i = 0; i < cnt; i++)
				free(names[i]);
			free(names);
			return xtrk_error_oom();
		}
		names = nn;
		names[cnt] = NULL;
		if (asprintf(&names[cnt], "%s/%s", dir.ptr, de->d_name) < 0)
			names[cnt] = NULL;
		cnt += names[cnt] != NULL;
	}
	closedir(d);
	xtrk_buf_dispose(&dir);
	*out = names;
	*n = cnt;
	return 0;
}