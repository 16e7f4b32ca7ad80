/*
 * The run index: flattened run records in immutable, mmap'd segment files
 * under .xtrk/index/, checked against the refs each time it is opened.
 * See xtrk/index.h for the design and xtrk-format(5) for the file layout.
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
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

#define SEG_MAGIC "XTRKSEG1"
#define SEG_VERSION 1
#define MERGE_AT 16        /* segments; more are merged into one on open */
#define NO_ENV UINT32_MAX

struct seg_hdr {
	char magic[8];
	uint32_t version, nkeys, nruns, nenvs;
	uint64_t nfields, keys_off, envs_off, runs_off, fields_off, str_off, str_len, size;
	unsigned char sum[16]; /* XXH3-128 of everything after the header */
};

struct seg_key { uint32_t off, len; };
struct seg_env { uint32_t first, n; };
struct seg_run {
	unsigned char id[16];
	uint32_t env, first, n;
	uint32_t exp_off, exp_len, started_off, started_len, pad;
};
struct seg_field {
	uint32_t key;
	uint8_t type;
	uint8_t pad[3];
	union {
		double num;
		struct { uint32_t off, len; } s;
	} v;
};

struct seg {
	char *path;
	void *map;
	size_t size;
	const struct seg_hdr *h;
	const struct seg_key *keys;
	const struct seg_env *envs;
	const struct seg_run *runs;
	const struct seg_field *fields;
	const char *str;
};

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
	json_t *tags; /* run id -> [names] */
};

struct xtrk_index_key {
	char *name;
	size_t len;
	int is_tags;
	int is_id;
	int64_t *kid;      /* per segment: the key's ID, or -1 */
	int64_t *lo, *hi;  /* per segment: the IDs of keys below it ("name.") */
};

/* ---- flattening ---- */

static const char *const named_groups[] = { "datasets", "models", "artifacts" };

static void flat_into(json_t *out, json_t *v, xtrk_buf *prefix, int top)
{
	size_t plen = prefix->size, i;
	const char *k;
	json_t *child;

	if (json_is_object(v)) {
		json_object_foreach(v, k, child) {
			if (top && (!strcmp(k, "id") || !strcmp(k, "tags")))
				continue; /* the ID is the entry's own; tags are refs, read fresh */
			xtrk_buf_truncate(prefix, plen);
			if (plen)
				xtrk_buf_putc(prefix, '.');
			xtrk_buf_puts(prefix, k);
			flat_into(out, child, prefix, 0);
		}
	} else if (json_is_array(v)) {
		int by_name = 0;
		for (size_t g = 0; g < 3; g++)
			by_name |= plen == strlen(named_groups[g]) && !memcmp(prefix->ptr, named_groups[g], plen);
		json_array_foreach(v, i, child) {
			const char *name = json_string_value(json_object_get(child, "name"));
			xtrk_buf_truncate(prefix, plen);
			if (by_name && name)
				xtrk_buf_printf(prefix, ".%s", name);
			else
				xtrk_buf_printf(prefix, ".%zu", i);
			flat_into(out, child, prefix, 0);
		}
	} else if (plen) {
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

static void leaf_value(xtrk_value *out, json_t *v)
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

static void field_value(xtrk_value *out, const struct seg *s, const struct seg_field *f)
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

static void seg_close(struct seg *s)
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
static int seg_load(struct seg *s, const char *path)
{
	struct stat st;
	int fd;
	xtrk_oid sum;
	const struct seg_hdr *h;

	memset(s, 0, sizeof(*s));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct seg_hdr) ||
	    (s->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
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
	seg_close(s);
	return -1;
}

static int key_cmp_str(const struct seg *s, uint32_t kid, const char *name, size_t len)
{
	const struct seg_key *k = &s->keys[kid];
	size_t n = k->len < len ? k->len : len;
	int c = memcmp(s->str + k->off, name, n);
	return c ? c : (k->len > len) - (k->len < len);
}

/* The first key >= name (bytewise). */
static uint32_t seg_key_lower(const struct seg *s, const char *name, size_t len)
{
	uint32_t lo = 0, hi = s->h->nkeys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (key_cmp_str(s, mid, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct seg_run *seg_find_run(const struct seg *s, const xtrk_oid *id, uint32_t *idx)
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

static const struct seg_field *fields_find(const struct seg_field *f, uint32_t n, uint32_t key)
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

/* A run to write: from a segment (remapped) or a flattened record. */
struct src {
	xtrk_oid id;
	const char *exp;
	const struct seg *seg;
	const struct seg_run *run;
	json_t *flat;
};

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
			leaf_value(&v, leaf);
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
			field_value(&v, sg, f);
			if ((err = add_value(b, p, sg->str + sg->keys[f->key].off, sg->keys[f->key].len, &v)) < 0)
				goto done;
		}
		if (s->run->env != NO_ENV) {
			const struct seg_env *se = &sg->envs[s->run->env];
			for (uint32_t i = 0; i < se->n; i++) {
				const struct seg_field *f = &sg->fields[se->first + i];
				field_value(&v, sg, f);
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
static int seg_write(xtrk_buf *path_out, xtrk_repo *repo, struct src *srcs, size_t n)
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

/* ---- opening ---- */

static int list_segments(char ***out, size_t *n, xtrk_repo *repo)
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

static int load_segments(xtrk_index *ix, xtrk_repo *repo)
{
	char **paths;
	size_t n;
	int err = list_segments(&paths, &n, repo);
	if (err < 0)
		return err;
	if (n && !(ix->segs = calloc(n, sizeof(*ix->segs))))
		err = xtrk_error_oom();
	for (size_t i = 0; i < n; i++) {
		if (err == 0 && seg_load(&ix->segs[ix->nsegs], paths[i]) == 0)
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
	if (seg_write(&out, repo, srcs, ns) == 0) {
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
	if (seg_load(&ix->segs[ix->nsegs], path) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ix->entries[chunk[i]];
		const struct seg_run *r = seg_find_run(&ix->segs[ix->nsegs], &e->id, &e->idx);
		if (!r) {
			seg_close(&ix->segs[ix->nsegs]);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ix->entries[chunk[i]];
		const struct seg_run *r = seg_find_run(&ix->segs[ix->nsegs], &e->id, &e->idx);
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
		if (err == 0 && (got == 0 || (seg_write(&path, repo, srcs, got) == 0 &&
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

int xtrk_index_open(xtrk_index **out, xtrk_repo *repo, const char *experiment)
{
	xtrk_index *ix = calloc(1, sizeof(*ix));
	size_t nrefs = 0, nmissing = 0, *missing = NULL;
	char **tnames = NULL;
	xtrk_oid *ttargets = NULL;
	size_t ntags = 0;
	int err;

	*out = NULL;
	if (!ix || !(ix->tags = json_object())) {
		free(ix);
		return xtrk_error_oom();
	}
	if ((err = xtrk_refs_list_runs(&ix->refs, &nrefs, repo, experiment)) < 0 || (err = load_segments(ix, repo)) < 0)
		goto fail;
	if (nrefs && (!(ix->entries = calloc(nrefs, sizeof(*ix->entries))) ||
			     !(missing = calloc(nrefs, sizeof(*missing))))) {
		err = xtrk_error_oom();
		goto fail;
	}
	for (size_t i = 0; i < nrefs; i++) {
		struct entry *e = &ix->entries[ix->n];
		e->id = ix->refs[i].run;
		e->exp = ix->refs[i].experiment;
		e->seg = -2;
		for (size_t s = ix->nsegs; s-- > 0 && e->seg == -2;) {
			const struct seg_run *r = seg_find_run(&ix->segs[s], &e->id, &e->idx);
			if (r) {
				e->seg = (int)s;
				e->started = ix->segs[s].str + r->started_off;
				e->started_len = r->started_len;
			}
		}
		if (e->seg == -2)
			missing[nmissing++] = ix->n;
		ix->n++;
	}
	if (nmissing && (err = read_missing(ix, repo, missing, nmissing)) < 0)
		goto fail;
	{
		size_t kept = 0;
		for (size_t i = 0; i < ix->n; i++)
			if (ix->entries[i].seg != -3)
				ix->entries[kept++] = ix->entries[i];
		ix->n = kept;
	}
	if (ix->nsegs > MERGE_AT)
		merge(ix, repo); /* takes effect for the next reader; this one keeps its maps */
	if (ix->n)
		xtrk_sort(ix->entries, ix->n, sizeof(*ix->entries), entry_cmp);
	if ((err = xtrk_refs_tags(&tnames, &ttargets, &ntags, repo)) < 0)
		goto fail;
	for (size_t i = 0; i < ntags; i++) {
		const char *k = xtrk_oid_tostr(&ttargets[i]);
		json_t *arr = json_object_get(ix->tags, k);
		if (!arr)
			json_object_set_new(ix->tags, k, arr = json_array());
		json_array_append_new(arr, json_string(tnames[i]));
	}
	for (size_t i = 0; i < ix->n; i++) {
		ix->entries[i].tags = json_object_get(ix->tags, xtrk_oid_tostr(&ix->entries[i].id));
		xtrk_oid_fmt(ix->entries[i].hex, &ix->entries[i].id);
	}
	xtrk_refs_tags_free(tnames, ttargets, ntags);
	free(missing);
	*out = ix;
	return 0;
fail:
	free(missing);
	xtrk_refs_tags_free(tnames, ttargets, ntags);
	xtrk_index_free(ix);
	return err;
}

void xtrk_index_free(xtrk_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nsegs; i++)
		seg_close(&ix->segs[i]);
	for (size_t i = 0; i < ix->nmems; i++)
		json_decref(ix->mems[i].flat);
	free(ix->segs);
	free(ix->mems);
	free(ix->entries);
	free(ix->refs);
	json_decref(ix->tags);
	free(ix);
}

size_t xtrk_index_count(const xtrk_index *ix) { return ix->n; }
const xtrk_oid *xtrk_index_run(const xtrk_index *ix, size_t i) { return &ix->entries[i].id; }
const char *xtrk_index_experiment(const xtrk_index *ix, size_t i) { return ix->entries[i].exp; }

json_t *xtrk_index_tags(const xtrk_index *ix, size_t i)
{
	return ix->entries[i].tags ? json_incref(ix->entries[i].tags) : json_array();
}

/* ---- lookups ---- */

int xtrk_index_key_new(xtrk_index_key **out, xtrk_index *ix, const char *name)
{
	xtrk_index_key *k = calloc(1, sizeof(*k));
	size_t n = ix->nsegs ? ix->nsegs : 1;
	*out = NULL;
	if (!k || !(k->name = strdup(name)) || !(k->kid = calloc(n, sizeof(*k->kid))) ||
	    !(k->lo = calloc(n, sizeof(*k->lo))) || !(k->hi = calloc(n, sizeof(*k->hi)))) {
		xtrk_index_key_free(k);
		return xtrk_error_oom();
	}
	k->len = strlen(name);
	k->is_tags = !strcmp(name, "tags") || !strncmp(name, "tags.", 5);
	k->is_id = !strcmp(name, "id");
	for (size_t s = 0; s < ix->nsegs; s++) {
		const struct seg *sg = &ix->segs[s];
		char *below;
		uint32_t at = seg_key_lower(sg, name, k->len);
		k->kid[s] = at < sg->h->nkeys && key_cmp_str(sg, at, name, k->len) == 0 ? (int64_t)at : -1;
		if (asprintf(&below, "%s.", name) < 0) {
			xtrk_index_key_free(k);
			return xtrk_error_oom();
		}
		/* Keys "name." up to "name/" ('/' follows '.') are the ones below. */
		k->lo[s] = seg_key_lower(sg, below, k->len + 1);
		below[k->len] = '/';
		k->hi[s] = seg_key_lower(sg, below, k->len + 1);
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
	free(k);
}

int xtrk_index_get(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k)
{
	const struct entry *e = &ix->entries[i];
	memset(out, 0, sizeof(*out));
	if (k->is_id) {
		out->type = XTRK_VAL_STR;
		out->str = e->hex;
		out->len = XTRK_OID_HEXSZ;
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
		leaf_value(out, t);
		return 1;
	}
	if (e->seg < 0) {
		json_t *v = json_object_get(ix->mems[e->idx].flat, k->name);
		if (!v)
			return 0;
		leaf_value(out, v);
		return 1;
	} else {
		const struct seg *sg = &ix->segs[e->seg];
		const struct seg_run *r = &sg->runs[e->idx];
		const struct seg_field *f;
		if (k->kid[e->seg] < 0)
			return 0;
		f = fields_find(sg->fields + r->first, r->n, (uint32_t)k->kid[e->seg]);
		if (!f && r->env != NO_ENV)
			f = fields_find(sg->fields + sg->envs[r->env].first, sg->envs[r->env].n, (uint32_t)k->kid[e->seg]);
		if (!f)
			return 0;
		field_value(out, sg, f);
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
		leaf_value(&v, t);
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
			field_value(&v, sg, f);
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
		if (plen && (strncmp(key, prefix, plen) || key[plen] != '.'))
			continue;
		leaf_value(&v, leaf);
		if ((rc = cb(key, strlen(key), &v, payload)))
			return rc;
	}
	return 0;
}

int xtrk_index_each_below(const xtrk_index *ix, size_t i, const xtrk_index_key *k, each_cb cb, void *payload)
{
	const struct entry *e = &ix->entries[i];
	if (k->is_tags)
		return k->len == 4 ? each_tag(e, cb, payload) : 0;
	if (e->seg < 0)
		return each_mem(ix->mems[e->idx].flat, k->name, k->len, cb, payload);
	return each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], k->lo[e->seg], k->hi[e->seg], cb, payload);
}

int xtrk_index_each(const xtrk_index *ix, size_t i, each_cb cb, void *payload)
{
	const struct entry *e = &ix->entries[i];
	int rc = e->seg < 0 ? each_mem(ix->mems[e->idx].flat, "", 0, cb, payload)
			    : each_seg(&ix->segs[e->seg], &ix->segs[e->seg].runs[e->idx], 0, INT64_MAX, cb, payload);
	return rc ? rc : each_tag(e, cb, payload);
}

/* ---- maintenance ---- */

int xtrk_index_add(xtrk_repo *repo, const xtrk_oid *runs, size_t n)
{
	struct src *srcs = calloc(n + 1, sizeof(*srcs));
	json_t **recs = calloc(n + 1, sizeof(*recs));
	xtrk_buf path = XTRK_BUF_INIT;
	int err = 0;
	size_t got = 0;

	if (!srcs || !recs) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		json_t *run;
		if ((err = xtrk_run_read_record(&run, repo, &runs[i])) < 0)
			break;
		recs[got] = run;
		srcs[got].id = runs[i];
		srcs[got].exp = json_string_value(json_object_get(run, "experiment"));
		srcs[got].flat = xtrk_run_flatten(run);
		got++;
	}
	if (err == 0)
		err = seg_write(&path, repo, srcs, got);
done:
	for (size_t i = 0; i < got; i++) {
		json_decref(srcs[i].flat);
		json_decref(recs[i]);
	}
	free(srcs);
	free(recs);
	xtrk_buf_dispose(&path);
	return err;
}

int xtrk_index_rebuild(xtrk_repo *repo, size_t *runs_out)
{
	xtrk_buf dir = XTRK_BUF_INIT;
	xtrk_index *ix = NULL;
	int err;

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

int xtrk_index_stats(xtrk_repo *repo, size_t *segments, size_t *runs, uint64_t *bytes)
{
	char **paths;
	size_t n;
	int err = list_segments(&paths, &n, repo);
	*segments = *runs = 0;
	*bytes = 0;
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct seg s;
		if (seg_load(&s, paths[i]) == 0) {
			(*segments)++;
			*runs += s.h->nruns;
			*bytes += s.size;
			seg_close(&s);
		}
		free(paths[i]);
	}
	free(paths);
	return 0;
}
