/*
 * Remotes on S3-compatible object storage.
 *
 * The remote is a bare store kept as objects under s3://BUCKET/PREFIX/:
 *
 *   xtrk-remote.json                   a marker, written at 'remote add' (which probes conditional writes)
 *   objects/pack/pack-<sum>.pack|.idx  packs of small objects (the store's own pack format)
 *   objects/<id>                       a large object, as the store keeps it loose
 *   source/pack-<sum>.pack|.idx        git packs of the runs' source commits
 *   index.json                         what the remote holds: every pack with the IDs inside it,
 *                                      every loose object, every source pack with its commits,
 *                                      and the refs (runs, tags, notes, stage records, partial marks) with
 *                                      their contents
 *
 * Files are created only when absent (If-None-Match: *); index.json is the
 * one thing ever replaced, by compare-and-swap (If-Match with the ETag read),
 * merged again and retried when someone else replaced it first, so people
 * pushing at once all arrive.  A push stages what the index does not list in
 * a bare store in this store's objects/tmp, uploads its files, and names them
 * in the index last: a push killed midway leaves only unnamed files, which a
 * rerun finds there (large objects are asked for before they are sent).  A
 * pull downloads what this store lacks into such a staging store and copies
 * from it as from a folder remote: every object re-hashed, every record and
 * ref checked, nothing named before everything is whole.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "gitsrc.h"
#include "odb_pack.h"
#include "remote_internal.h"
#include "s3.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/odb.h"
#include "xtrk/refs.h"

#define INDEX_KEY "index.json"
#define MARKER_KEY "xtrk-remote.json"
#define MAX_REF_BYTES 4096
#define CAS_TRIES 200
/* Small objects are staged in packs this large at most: each travels as one PUT, several at once (a pack of
 * the multipart size or more would go up part by part, then wait on the server joining the parts). */
#define PACK_SIZE (XTRK_S3_MULTIPART_MIN - 1)

/* ---- configuration ---- */

static int config_opt(xtrk_buf *out, xtrk_repo *repo, const char *name, const char *what)
{
	xtrk_buf key = XTRK_BUF_INIT;
	int err;
	xtrk_buf_printf(&key, "remote.%s.%s", name, what);
	xtrk_buf_clear(out);
	if (xtrk_buf_oom(&key))
		err = xtrk_error_oom();
	else if ((err = xtrk_repo_config_string(out, repo, key.ptr)) == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		err = 0;
	}
	xtrk_buf_dispose(&key);
	return err;
}

static int client(xtrk_s3 **out, xtrk_repo *repo, const char *name, const char *url)
{
	xtrk_buf ep = XTRK_BUF_INIT, rg = XTRK_BUF_INIT;
	int err;
	if ((err = config_opt(&ep, repo, name, "endpoint")) == 0 && (err = config_opt(&rg, repo, name, "region")) == 0 &&
	    (err = xtrk_s3_open(out, url, ep.size ? ep.ptr : NULL, rg.size ? rg.ptr : NULL)) < 0)
		err = xtrk_error_set(err, "remote '%s': %s", name, xtrk_error_last());
	xtrk_buf_dispose(&ep);
	xtrk_buf_dispose(&rg);
	return err;
}

int remote_s3_add(xtrk_repo *repo, const char *name, const char *url, const char *endpoint, const char *region)
{
	static const char marker[] = "{\"format\":1,\"what\":\"an xtrk remote\"}\n";
	xtrk_s3 *s = NULL;
	xtrk_buf key = XTRK_BUF_INIT, have = XTRK_BUF_INIT;
	int err;

	if (!xtrk_ref_name_valid(name))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid remote name (letters, digits, '.', '_' and '-')",
			name);
	xtrk_buf_printf(&key, "remote.%s.path", name);
	if (xtrk_buf_oom(&key)) {
		err = xtrk_error_oom();
		goto done;
	}
	if (xtrk_repo_config_string(&have, repo, key.ptr) == 0) {
		err = xtrk_error_set(XTRK_EEXISTS, "remote '%s' exists already (at '%s'); remove it first", name, have.ptr);
		goto done;
	}
	xtrk_error_clear();
	if ((err = xtrk_s3_open(&s, url, endpoint, region)) < 0)
		goto done;
	/* The probe: the marker is created when absent; created again, the server must refuse. */
	if ((err = xtrk_s3_put(s, MARKER_KEY, marker, sizeof(marker) - 1, NULL, 1, NULL)) < 0 && err != XTRK_EEXISTS)
		goto done;
	if ((err = xtrk_s3_put(s, MARKER_KEY, marker, sizeof(marker) - 1, NULL, 1, NULL)) == 0) {
		err = xtrk_error_set(XTRK_EINVALID, "%s: the server ignores conditional writes (If-None-Match), which xtrk "
			"needs so that people pushing at once never lose a run", xtrk_s3_where(s, NULL));
		goto done;
	}
	if (err != XTRK_EEXISTS)
		goto done;
	xtrk_error_clear();
	if ((err = xtrk_repo_config_set(repo, key.ptr, url)) < 0)
		goto done;
	xtrk_buf_clear(&key);
	xtrk_buf_printf(&key, "remote.%s.endpoint", name);
	if (endpoint && (err = xtrk_repo_config_set(repo, key.ptr, endpoint)) < 0)
		goto done;
	xtrk_buf_clear(&key);
	xtrk_buf_printf(&key, "remote.%s.region", name);
	if (region && (err = xtrk_repo_config_set(repo, key.ptr, region)) < 0)
		goto done;
done:
	xtrk_s3_free(s);
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&have);
	return err;
}

/* ---- the index ---- */

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int pack_name_ok(const char *k)
{
	size_t n = strlen(k);
	return n > 5 + 7 && n <= 5 + 64 && !strncmp(k, "pack-", 5) && is_hex(k + 5, n - 5);
}

static int oid_ok(const char *k)
{
	return strlen(k) == XTRK_OID_HEXSZ && is_hex(k, XTRK_OID_HEXSZ);
}

/* A ref path the index may name: experiments/EXP/RUN, tags/NAME, notes/RUN/NOTE, stages/RUN/RECORD, partial/RUN. */
static int ref_path_ok(const char *p)
{
	const char *a = strchr(p, '/'), *b;
	char exp[256];
	if (!a)
		return 0;
	if (!strncmp(p, "tags/", 5))
		return xtrk_tag_name_valid(p + 5);
	if (!strncmp(p, "partial/", 8))
		return oid_ok(p + 8);
	b = strchr(a + 1, '/');
	if (!b || (size_t)(b - a - 1) >= sizeof(exp) || !oid_ok(b + 1))
		return 0;
	memcpy(exp, a + 1, (size_t)(b - a - 1));
	exp[b - a - 1] = 0;
	if (!strncmp(p, "experiments/", 12))
		return xtrk_ref_name_valid(exp);
	if (!strncmp(p, "notes/", 6) || !strncmp(p, "stages/", 7))
		return oid_ok(exp);
	return 0;
}

/* The content xtrk writes into each kind of ref: the ID it is named by (a run, a note, a stage record), a run ID (a tag), or the partial mark. */
static int ref_content_ok(const char *path, const char *c)
{
	size_t n = strlen(c);
	const char *last = strrchr(path, '/') + 1;
	if (n && c[n - 1] == '\n')
		n--;
	if (!strncmp(path, "partial/", 8))
		return n == 7 && !strncmp(c, "no-data", 7);
	if (!strncmp(path, "tags/", 5))
		return n == XTRK_OID_HEXSZ && is_hex(c, n);
	return n == XTRK_OID_HEXSZ && !strncmp(c, last, n);
}

static int size_ok(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* Everything in an index is checked before any of it is used: names become keys and paths. */
static int index_check(json_t *j, const char *where)
{
	json_t *packs = json_object_get(j, "packs"), *loose = json_object_get(j, "loose");
	json_t *sources = json_object_get(j, "sources"), *refs = json_object_get(j, "refs"), *v;
	const char *k;
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "format")) != 1 || !json_is_object(packs) ||
	    !json_is_object(loose) || !json_is_object(sources) || !json_is_object(refs))
		return xtrk_error_set(XTRK_ECORRUPT, "%s is not an xtrk index (format 1 with packs, loose, sources and "
			"refs)", where);
	json_object_foreach(packs, k, v) {
		const char *ids = json_string_value(json_object_get(v, "objects"));
		size_t n = ids ? strlen(ids) : 0;
		if (!pack_name_ok(k) || !size_ok(json_object_get(v, "size")) || !size_ok(json_object_get(v, "idx_size")) ||
		    !ids || n % XTRK_OID_HEXSZ || !is_hex(ids, n))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: pack entry '%.80s' is malformed", where, k);
	}
	json_object_foreach(loose, k, v)
		if (!oid_ok(k) || !size_ok(v))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: loose entry '%.80s' is malformed", where, k);
	json_object_foreach(sources, k, v) {
		json_t *c = json_object_get(v, "commits"), *e;
		size_t i;
		if (!pack_name_ok(k) || !size_ok(json_object_get(v, "size")) || !size_ok(json_object_get(v, "idx_size")) ||
		    !json_is_array(c))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: source entry '%.80s' is malformed", where, k);
		json_array_foreach(c, i, e) {
			const char *h = json_string_value(e);
			if (!h || (strlen(h) != 40 && strlen(h) != 64) || !is_hex(h, strlen(h)))
				return xtrk_error_set(XTRK_ECORRUPT, "%s: source entry '%.80s' names a commit that is not a "
					"commit ID", where, k);
		}
	}
	json_object_foreach(refs, k, v) {
		const char *c = json_string_value(v);
		if (!ref_path_ok(k))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: '%.80s' is not a ref name xtrk writes", where, k);
		if (!c || strlen(c) > MAX_REF_BYTES)
			return xtrk_error_set(XTRK_ECORRUPT, "%s: ref '%s' is not a short text", where, k);
		if (!ref_content_ok(k, c))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: ref '%s' does not hold what xtrk writes there (the ID it "
				"is named by, a run ID for a tag)", where, k);
	}
	return 0;
}

static int index_fetch(json_t **out, xtrk_buf *etag, int *exists, xtrk_s3 *s)
{
	xtrk_buf body = XTRK_BUF_INIT;
	json_error_t je;
	int err;
	*out = NULL;
	*exists = 0;
	xtrk_buf_clear(etag);
	if ((err = xtrk_s3_get(s, INDEX_KEY, &body, etag)) == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		*out = json_pack("{s:i, s:{}, s:{}, s:{}, s:{}}", "format", 1, "packs", "loose", "sources", "refs");
		err = *out ? 0 : xtrk_error_oom();
	} else if (err == 0) {
		*exists = 1;
		if (!(*out = json_loadb(body.ptr ? body.ptr : "", body.size, JSON_REJECT_DUPLICATES, &je)))
			err = xtrk_error_set(XTRK_ECORRUPT, "%s is not JSON: %s", xtrk_s3_where(s, INDEX_KEY), je.text);
		else if ((err = index_check(*out, xtrk_s3_where(s, INDEX_KEY))) < 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	xtrk_buf_dispose(&body);
	return err;
}

/* ---- staging stores ---- */

static int stage_new(char **dir, xtrk_repo **store, xtrk_repo *repo, const char *what)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int err;
	*dir = NULL;
	*store = NULL;
	xtrk_buf_printf(&p, "%s/objects/tmp/%s-XXXXXX", xtrk_repo_dir(repo), what);
	if (xtrk_buf_oom(&p) || !mkdtemp(p.ptr)) {
		err = xtrk_error_errno("cannot create a staging folder in '%s/objects/tmp'", xtrk_repo_dir(repo));
		xtrk_buf_dispose(&p);
		return err;
	}
	*dir = xtrk_buf_detach(&p);
	return xtrk_store_init(*dir);
}

/* A push's staging store, whose packs of small objects each go up as one PUT. */
static int stage_open_push(xtrk_repo **store, const char *dir)
{
	int err = xtrk_store_open(store, dir);
	if (err == 0)
		odb_set_pack_size(xtrk_repo_odb(*store), PACK_SIZE);
	return err;
}

static void stage_drop(char *dir, xtrk_repo *store)
{
	xtrk_repo_free(store);
	if (dir) {
		xtrk_remove_tree(dir);
		free(dir);
	}
}

struct files {
	xtrk_s3_file *f;
	char **owned; /* keys and paths to free */
	size_t n, nowned, alloc, oalloc;
};

static char *own(struct files *fs, char *p)
{
	if (!p)
		return NULL;
	if (fs->nowned == fs->oalloc) {
		size_t na = fs->oalloc ? fs->oalloc * 2 : 64;
		char **q = realloc(fs->owned, na * sizeof(*q));
		if (!q) {
			free(p);
			return NULL;
		}
		fs->owned = q;
		fs->oalloc = na;
	}
	return fs->owned[fs->nowned++] = p;
}

static int files_add(struct files *fs, const char *key, const char *path, uint64_t size)
{
	char *k, *p;
	if (fs->n == fs->alloc) {
		size_t na = fs->alloc ? fs->alloc * 2 : 64;
		xtrk_s3_file *q = realloc(fs->f, na * sizeof(*q));
		if (!q)
			return xtrk_error_oom();
		fs->f = q;
		fs->alloc = na;
	}
	if (!(k = own(fs, strdup(key))) || !(p = own(fs, strdup(path))))
		return xtrk_error_oom();
	fs->f[fs->n].key = k;
	fs->f[fs->n].path = p;
	fs->f[fs->n].size = size;
	fs->n++;
	return 0;
}

static void files_free(struct files *fs)
{
	for (size_t i = 0; i < fs->nowned; i++)
		free(fs->owned[i]);
	free(fs->owned);
	free(fs->f);
}

static int64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (int64_t)st.st_size;
}

/* ---- push ---- */

struct pack_ids {
	char *name;
	xtrk_buf ids; /* the IDs of its objects, one after the other */
};

struct collect {
	json_t *packs, *loose; /* the staging store's objects, as index entries */
	struct files *fs;
	const xtrk_oidset *has; /* what the remote holds already (a note copied again, say) */
	int err;
	struct pack_ids *pk;    /* each staged pack's IDs, gathered here and written into its entry once */
	size_t npk;
};

static int pack_ids_add(struct collect *c, const char *name, const char *hex)
{
	size_t i = c->npk;
	while (i && strcmp(c->pk[i - 1].name, name))
		i--;
	if (!i) {
		struct pack_ids *q = realloc(c->pk, (c->npk + 1) * sizeof(*q));
		if (!q)
			return xtrk_error_oom();
		c->pk = q;
		if (!(q[c->npk].name = strdup(name)))
			return xtrk_error_oom();
		q[c->npk].ids = (xtrk_buf)XTRK_BUF_INIT;
		i = ++c->npk;
	}
	return xtrk_buf_puts(&c->pk[i - 1].ids, hex) < 0 ? xtrk_error_oom() : 0;
}

/* Each pack entry's "objects", then the gathered IDs freed; `set` 0 only frees. */
static int pack_ids_finish(struct collect *c, int set)
{
	int err = 0;
	for (size_t i = 0; i < c->npk; i++) {
		xtrk_buf *b = &c->pk[i].ids;
		if (set && err == 0 && json_object_set_new(json_object_get(c->packs, c->pk[i].name), "objects",
			json_stringn_nocheck(b->ptr, b->size)) < 0)
			err = xtrk_error_oom();
		free(c->pk[i].name);
		xtrk_buf_dispose(b);
	}
	free(c->pk);
	c->pk = NULL;
	c->npk = 0;
	return err;
}

static int collect_one(const xtrk_odb_entry *e, void *payload)
{
	struct collect *c = payload;
	const char *hex = xtrk_oid_tostr(&e->oid), *base;
	xtrk_buf name = XTRK_BUF_INIT, key = XTRK_BUF_INIT, idx = XTRK_BUF_INIT;
	json_t *p;
	int err = 0;

	/* A pack whose objects the remote all holds is not sent: its files are added with its first new object. */
	if (xtrk_oidset_has(c->has, &e->oid))
		return 0;
	if (!e->packed) {
		xtrk_buf_printf(&key, "objects/%s", hex);
		err = xtrk_buf_oom(&key) ? xtrk_error_oom() : files_add(c->fs, key.ptr, e->where, e->stored);
		if (err == 0 && json_object_set_new(c->loose, hex, json_integer((json_int_t)e->stored)) < 0)
			err = xtrk_error_oom();
		goto done;
	}
	base = strrchr(e->where, '/');
	base = base ? base + 1 : e->where;
	xtrk_buf_put(&name, base, strlen(base) - (strlen(base) > 5 ? 5 : 0)); /* less ".pack" */
	if (xtrk_buf_oom(&name)) {
		err = xtrk_error_oom();
		goto done;
	}
	p = json_object_get(c->packs, name.ptr);
	if (!p) {
		int64_t ps = file_size(e->where), is;
		xtrk_buf_put(&idx, e->where, strlen(e->where) - 5);
		xtrk_buf_puts(&idx, ".idx");
		is = file_size(idx.ptr);
		if (ps < 0 || is < 0 || !pack_name_ok(name.ptr)) {
			err = xtrk_error_set(XTRK_ERROR, "staged pack '%s' cannot be read", e->where);
			goto done;
		}
		p = json_pack("{s:I, s:I, s:s}", "size", (json_int_t)ps, "idx_size", (json_int_t)is, "objects", "");
		if (!p || json_object_set_new(c->packs, name.ptr, p) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
		xtrk_buf_printf(&key, "objects/pack/%s.pack", name.ptr);
		if ((err = files_add(c->fs, key.ptr, e->where, (uint64_t)ps)) < 0)
			goto done;
		xtrk_buf_clear(&key);
		xtrk_buf_printf(&key, "objects/pack/%s.idx", name.ptr);
		if ((err = files_add(c->fs, key.ptr, idx.ptr, (uint64_t)is)) < 0)
			goto done;
	}
	err = pack_ids_add(c, name.ptr, hex);
done:
	xtrk_buf_dispose(&name);
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&idx);
	c->err = err;
	return err < 0 ? 1 : 0;
}

/* The staged source packs, each with the carried commits it holds. */
static int collect_sources(json_t *sources, struct files *fs, const char *stage, json_t *carried)
{
	xtrk_buf dir = XTRK_BUF_INIT, path = XTRK_BUF_INIT, key = XTRK_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int err = 0;

	xtrk_buf_printf(&dir, "%s/source.git/objects/pack", stage);
	if (xtrk_buf_oom(&dir))
		return xtrk_error_oom();
	if (!(d = opendir(dir.ptr))) {
		xtrk_buf_dispose(&dir);
		return 0;
	}
	while (err == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name), i;
		json_t *commits, *c;
		char name[128];
		int64_t ps, is;
		if (n < 6 || n >= sizeof(name) || strcmp(de->d_name + n - 5, ".pack"))
			continue;
		memcpy(name, de->d_name, n - 5);
		name[n - 5] = 0;
		if (!pack_name_ok(name))
			continue;
		xtrk_buf_clear(&path);
		xtrk_buf_printf(&path, "%s/%s", dir.ptr, de->d_name);
		if (!(commits = json_array())) {
			err = xtrk_error_oom();
			break;
		}
		json_array_foreach(carried, i, c)
			if (xtrk_gitpack_has_commit(path.ptr, json_string_value(c)))
				json_array_append(commits, c);
		ps = file_size(path.ptr);
		xtrk_buf_clear(&key);
		xtrk_buf_printf(&key, "source/%s", de->d_name);
		err = files_add(fs, key.ptr, path.ptr, (uint64_t)ps);
		xtrk_buf_truncate(&path, path.size - 5);
		xtrk_buf_puts(&path, ".idx");
		is = file_size(path.ptr);
		xtrk_buf_clear(&key);
		xtrk_buf_printf(&key, "source/%s.idx", name);
		if (err == 0)
			err = files_add(fs, key.ptr, path.ptr, (uint64_t)is);
		if (err == 0 && (ps < 0 || is < 0))
			err = xtrk_error_set(XTRK_ERROR, "staged source pack '%s' cannot be read", de->d_name);
		if (err == 0 && json_object_set_new(sources, name, json_pack("{s:I, s:I, s:o}", "size", (json_int_t)ps,
			"idx_size", (json_int_t)is, "commits", commits)) < 0)
			err = xtrk_error_oom();
		else if (err < 0)
			json_decref(commits);
	}
	closedir(d);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&key);
	return err;
}

/* Every file under the staging store's refs/, as "experiments/EXP/RUN" -> content. */
static int collect_refs(json_t *refs, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;
	if (!d)
		return errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", dir);
	while (err == 0 && (de = readdir(d))) {
		xtrk_buf p = XTRK_BUF_INIT, r = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		xtrk_buf_printf(&p, "%s/%s", dir, de->d_name);
		xtrk_buf_printf(&r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (xtrk_buf_oom(&p) || xtrk_buf_oom(&r))
			err = xtrk_error_oom();
		else if (lstat(p.ptr, &st) < 0)
			err = xtrk_error_errno("cannot read '%s'", p.ptr);
		else if (S_ISDIR(st.st_mode))
			err = collect_refs(refs, p.ptr, r.ptr);
		else if (S_ISREG(st.st_mode) && ref_path_ok(r.ptr) && (err = xtrk_buf_read_file(&text, p.ptr)) == 0 &&
			 json_object_set_new(refs, r.ptr, json_stringn(text.ptr ? text.ptr : "", text.size)) < 0)
			err = xtrk_error_oom();
		xtrk_buf_dispose(&p);
		xtrk_buf_dispose(&r);
		xtrk_buf_dispose(&text);
	}
	closedir(d);
	return err;
}

/* Merge what this push adds into the remote's index; the number of entries that were new. */
static size_t merge(json_t *into, json_t *add, size_t *runs_new)
{
	static const char *const parts[] = { "packs", "loose", "sources", "refs" };
	size_t changed = 0;
	*runs_new = 0;
	for (size_t i = 0; i < 4; i++) {
		json_t *dst = json_object_get(into, parts[i]), *v, *have;
		const char *k;
		json_object_foreach(json_object_get(add, parts[i]), k, v) {
			if ((have = json_object_get(dst, k))) {
				if (i == 3 && !strncmp(k, "tags/", 5) && !json_equal(have, v))
					xtrk_warning_add("tag '%s' names run %s on the remote; left as it is", k + 5,
						json_string_value(have));
				continue;
			}
			json_object_set(dst, k, v);
			changed++;
			if (i == 3 && !strncmp(k, "experiments/", 12))
				(*runs_new)++;
		}
	}
	return changed;
}

int remote_s3_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *name, const char *url,
	const xtrk_sync_options *opts)
{
	struct remote_has has = { XTRK_OIDSET_INIT, json_object(), json_array() };
	xtrk_s3 *s = NULL;
	xtrk_oid *ids = NULL;
	size_t n = 0, runs_new = 0;
	json_t *idx = NULL, *add = json_pack("{s:i, s:{}, s:{}, s:{}, s:{}}", "format", 1, "packs", "loose", "sources",
		"refs");
	xtrk_buf etag = XTRK_BUF_INIT, refs = XTRK_BUF_INIT;
	struct files fs = { NULL, NULL, 0, 0, 0, 0 };
	char *stage = NULL;
	xtrk_repo *t = NULL;
	uint64_t sent = 0;
	int exists, err;
	const char *k;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!has.commits || !has.carried || !add) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = remote_select_runs(&ids, &n, repo, NULL, opts)) < 0 || (err = client(&s, repo, name, url)) < 0 ||
	    (err = index_fetch(&idx, &etag, &exists, s)) < 0)
		goto done;
	/* What the remote holds, from its index: never a listing of the bucket. */
	json_object_foreach(json_object_get(idx, "packs"), k, v) {
		const char *h = json_string_value(json_object_get(v, "objects"));
		for (size_t i = 0; h[i] && err == 0; i += XTRK_OID_HEXSZ) {
			char one[XTRK_OID_HEXSZ + 1];
			xtrk_oid id;
			memcpy(one, h + i, XTRK_OID_HEXSZ);
			one[XTRK_OID_HEXSZ] = 0;
			if (xtrk_oid_parse(&id, one) == 0 && xtrk_oidset_add(&has.objects, &id) < 0)
				err = xtrk_error_oom();
		}
	}
	json_object_foreach(json_object_get(idx, "loose"), k, v) {
		xtrk_oid id;
		if (xtrk_oid_parse(&id, k) == 0 && xtrk_oidset_add(&has.objects, &id) < 0)
			err = xtrk_error_oom();
	}
	json_object_foreach(json_object_get(idx, "sources"), k, v) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(v, "commits"), i, c)
			json_object_set_new(has.commits, json_string_value(c), json_true());
	}
	if (err < 0 || (err = stage_new(&stage, &t, repo, "s3-push")) < 0 || (err = stage_open_push(&t, stage)) < 0)
		goto done;
	if ((err = remote_sync_runs(out, repo, t, ids, n, 1, opts && opts->no_source, "this store", &has)) < 0)
		goto done;
	/* What the staging store holds: the objects, the source packs and the refs the remote lacks. */
	{
		struct collect c = { json_object_get(add, "packs"), json_object_get(add, "loose"), &fs, &has.objects, 0,
			NULL, 0 };
		if ((err = xtrk_odb_foreach(xtrk_repo_odb(t), collect_one, NULL, &c)) < 0 || (err = c.err) < 0 ||
		    (err = pack_ids_finish(&c, 1)) < 0) {
			pack_ids_finish(&c, 0);
			goto done;
		}
	}
	if ((err = collect_sources(json_object_get(add, "sources"), &fs, stage, has.carried)) < 0)
		goto done;
	xtrk_buf_printf(&refs, "%s/refs", stage);
	if (xtrk_buf_oom(&refs) || (err = collect_refs(json_object_get(add, "refs"), refs.ptr, "")) < 0) {
		err = err < 0 ? err : xtrk_error_oom();
		goto done;
	}
	/* Files first, each created only when absent; the index names them last. */
	if ((err = xtrk_s3_put_files(s, fs.f, fs.n, &sent)) < 0)
		goto done;
	for (int tries = 0;; tries++) {
		size_t fresh;
		char *text;
		/* Counted against the index as first read: a retry after a lost answer finds its own runs there. */
		if (!merge(idx, add, &fresh))
			break;
		if (!tries)
			runs_new = fresh;
		if (!(text = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS))) {
			err = xtrk_error_oom();
			goto done;
		}
		err = xtrk_s3_put(s, INDEX_KEY, text, strlen(text), exists ? etag.ptr : NULL, !exists, NULL);
		free(text);
		if (err == 0)
			break;
		if (err != XTRK_EEXISTS || tries >= CAS_TRIES)
			goto done;
		/* Someone else pushed meanwhile: merge into theirs and try again. */
		xtrk_error_clear();
		json_decref(idx);
		idx = NULL;
		usleep((useconds_t)(1000 * (1 + xtrk_s3_jitter() % (tries < 10 ? 10u * (unsigned)(tries + 1) : 100u))));
		if ((err = index_fetch(&idx, &etag, &exists, s)) < 0)
			goto done;
	}
	out->runs_new = runs_new;
	out->bytes_new = sent;
done:
	stage_drop(stage, t);
	xtrk_s3_free(s);
	json_decref(idx);
	json_decref(add);
	json_decref(has.commits);
	json_decref(has.carried);
	xtrk_oidset_dispose(&has.objects);
	files_free(&fs);
	xtrk_buf_dispose(&etag);
	xtrk_buf_dispose(&refs);
	free(ids);
	return err;
}

/* ---- pull ---- */

static int write_refs(const char *stage, json_t *refs)
{
	xtrk_buf p = XTRK_BUF_INIT;
	const char *k;
	json_t *v;
	int err = 0;
	json_object_foreach(refs, k, v) {
		char *slash;
		const char *text = json_string_value(v);
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/refs/%s", stage, k);
		if (xtrk_buf_oom(&p)) {
			err = xtrk_error_oom();
			break;
		}
		slash = strrchr(p.ptr, '/');
		*slash = 0;
		err = xtrk_mkdir_p(p.ptr);
		*slash = '/';
		if (err < 0 || (err = xtrk_write_file_atomic(p.ptr, text, strlen(text), 0644, 0)) < 0)
			break;
	}
	xtrk_buf_dispose(&p);
	return err;
}

int remote_s3_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *name, const char *url,
	const xtrk_sync_options *opts)
{
	struct remote_has has = { XTRK_OIDSET_INIT, NULL, NULL };
	xtrk_s3 *s = NULL;
	json_t *idx = NULL, *v;
	xtrk_buf etag = XTRK_BUF_INIT, p = XTRK_BUF_INIT, key = XTRK_BUF_INIT, where = XTRK_BUF_INIT;
	struct files fs = { NULL, NULL, 0, 0, 0, 0 };
	char *stage = NULL;
	xtrk_repo *t = NULL;
	xtrk_oid *ids = NULL;
	size_t n = 0;
	uint64_t received = 0;
	const char *k;
	int exists, err;

	memset(out, 0, sizeof(*out));
	if ((err = client(&s, repo, name, url)) < 0 || (err = index_fetch(&idx, &etag, &exists, s)) < 0)
		goto done;
	if ((err = stage_new(&stage, &t, repo, "s3-pull")) < 0 || (err = write_refs(stage, json_object_get(idx, "refs")))
		< 0)
		goto done;
	/* Only what this store lacks: large objects one by one, packs holding any object it lacks. */
	json_object_foreach(json_object_get(idx, "loose"), k, v) {
		xtrk_oid id;
		if (xtrk_oid_parse(&id, k) < 0 || xtrk_odb_exists(xtrk_repo_odb(repo), &id))
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/objects/%.2s", stage, k);
		if (xtrk_buf_oom(&p) || (err = xtrk_mkdir_p(p.ptr)) < 0)
			goto done;
		xtrk_buf_printf(&p, "/%s", k + 2);
		xtrk_buf_clear(&key);
		xtrk_buf_printf(&key, "objects/%s", k);
		if ((err = files_add(&fs, key.ptr, p.ptr, (uint64_t)json_integer_value(v))) < 0)
			goto done;
	}
	xtrk_buf_clear(&p);
	xtrk_buf_printf(&p, "%s/objects/pack", stage);
	if (xtrk_buf_oom(&p) || (err = xtrk_mkdir_p(p.ptr)) < 0)
		goto done;
	json_object_foreach(json_object_get(idx, "packs"), k, v) {
		const char *h = json_string_value(json_object_get(v, "objects"));
		int want = 0;
		for (size_t i = 0; h[i] && !want; i += XTRK_OID_HEXSZ) {
			char one[XTRK_OID_HEXSZ + 1];
			xtrk_oid id;
			memcpy(one, h + i, XTRK_OID_HEXSZ);
			one[XTRK_OID_HEXSZ] = 0;
			want = xtrk_oid_parse(&id, one) == 0 && !xtrk_odb_exists(xtrk_repo_odb(repo), &id);
		}
		if (!want)
			continue;
		for (int i = 0; i < 2 && err == 0; i++) {
			xtrk_buf_clear(&p);
			xtrk_buf_clear(&key);
			xtrk_buf_printf(&p, "%s/objects/pack/%s.%s", stage, k, i ? "idx" : "pack");
			xtrk_buf_printf(&key, "objects/pack/%s.%s", k, i ? "idx" : "pack");
			err = xtrk_buf_oom(&p) || xtrk_buf_oom(&key) ? xtrk_error_oom()
				: files_add(&fs, key.ptr, p.ptr,
					  (uint64_t)json_integer_value(json_object_get(v, i ? "idx_size" : "size")));
		}
		if (err < 0)
			goto done;
	}
	if (!opts || !opts->no_source) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/source.git/objects/pack", stage);
		if (xtrk_buf_oom(&p) || (err = xtrk_mkdir_p(p.ptr)) < 0)
			goto done;
		json_object_foreach(json_object_get(idx, "sources"), k, v) {
			json_t *c = json_object_get(v, "commits"), *e;
			size_t nc = json_array_size(c), i, missing = 0;
			const char **list = calloc(nc + 1, sizeof(*list));
			unsigned char *flag = calloc(nc + 1, 1);
			if (!list || !flag) {
				free(list);
				free(flag);
				err = xtrk_error_oom();
				goto done;
			}
			json_array_foreach(c, i, e)
				list[i] = json_string_value(e);
			if (nc && (err = xtrk_gitsrc_present(repo, list, nc, flag)) == 0)
				for (i = 0; i < nc; i++)
					missing += !flag[i];
			free(list);
			free(flag);
			if (err < 0)
				goto done;
			for (int j = 0; j < 2 && missing; j++) {
				xtrk_buf_clear(&p);
				xtrk_buf_clear(&key);
				xtrk_buf_printf(&p, "%s/source.git/objects/pack/%s.%s", stage, k, j ? "idx" : "pack");
				xtrk_buf_printf(&key, "source/%s.%s", k, j ? "idx" : "pack");
				if ((err = files_add(&fs, key.ptr, p.ptr,
					     (uint64_t)json_integer_value(json_object_get(v, j ? "idx_size" : "size")))) < 0)
					goto done;
			}
		}
	}
	if ((err = xtrk_s3_get_files(s, fs.f, fs.n, &received)) < 0)
		goto done;
	/* From here on, as from a folder remote: every object re-hashed, every record and ref checked. */
	if ((err = xtrk_store_open(&t, stage)) < 0)
		goto done;
	xtrk_buf_printf(&where, "remote '%s'", name);
	if (xtrk_buf_oom(&where)) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = remote_select_runs(&ids, &n, t, where.ptr, opts)) < 0 ||
	    (err = remote_sync_runs(out, t, repo, ids, n, 0, opts && opts->no_source, where.ptr, &has)) < 0)
		goto done;
done:
	stage_drop(stage, t);
	xtrk_s3_free(s);
	json_decref(idx);
	files_free(&fs);
	xtrk_buf_dispose(&etag);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&where);
	free(ids);
	return err;
}

/* ---- bundles on S3 ---- */

struct bucket_find {
	const char *bucket; /* "s3://BUCKET" */
	char *name;         /* the first S3 remote on it */
};

static int find_remote(const char *key, const char *value, void *payload)
{
	struct bucket_find *f = payload;
	size_t n = strlen(f->bucket);
	if (f->name || strncmp(value, f->bucket, n) || (value[n] && value[n] != '/'))
		return 0;
	/* remote.<name>.path */
	f->name = strndup(key + 7, strlen(key) - 12);
	return f->name ? 0 : 1;
}

/* A client for the folder of s3://BUCKET/DIR/FILE, with the endpoint and region of an S3 remote on that bucket. */
static int bundle_client(xtrk_s3 **out, const char **key, xtrk_repo *repo, const char *url)
{
	struct bucket_find f = { NULL, NULL };
	xtrk_buf bucket = XTRK_BUF_INIT, dir = XTRK_BUF_INIT, ep = XTRK_BUF_INIT, rg = XTRK_BUF_INIT;
	const char *b = url + 5, *slash, *last;
	int err;

	*out = NULL;
	if ((err = xtrk_s3_url_check(url)) < 0)
		return err;
	slash = strchr(b, '/');
	last = strrchr(url, '/');
	if (!slash || !last[1])
		return xtrk_error_set(XTRK_EINVALID, "'%s' names no file in its bucket (s3://BUCKET/[DIR/]FILE)", url);
	xtrk_buf_printf(&bucket, "s3://%.*s", (int)(slash - b), b);
	xtrk_buf_put(&dir, url, (size_t)(last - url));
	if (xtrk_buf_oom(&bucket) || xtrk_buf_oom(&dir)) {
		err = xtrk_error_oom();
		goto done;
	}
	f.bucket = bucket.ptr;
	if (repo && xtrk_repo_config_foreach(repo, "^remote\\..*\\.path$", find_remote, &f) < 0 && !f.name)
		xtrk_error_clear();
	if (f.name && ((err = config_opt(&ep, repo, f.name, "endpoint")) < 0 ||
		       (err = config_opt(&rg, repo, f.name, "region")) < 0))
		goto done;
	*key = last + 1;
	err = xtrk_s3_open(out, dir.ptr, ep.size ? ep.ptr : NULL, rg.size ? rg.ptr : NULL);
done:
	free(f.name);
	xtrk_buf_dispose(&bucket);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&ep);
	xtrk_buf_dispose(&rg);
	return err;
}

int xtrk_s3_bundle_temp(xtrk_buf *out, xtrk_repo *repo, const char *url)
{
	const char *last = strrchr(url, '/');
	int err;
	if ((err = xtrk_s3_url_check(url)) < 0)
		return err;
	if (!last || !last[1] || strchr(url + 5, '/') == NULL)
		return xtrk_error_set(XTRK_EINVALID, "'%s' names no file in its bucket (s3://BUCKET/[DIR/]FILE)", url);
	xtrk_buf_clear(out);
	xtrk_buf_printf(out, "%s/objects/tmp/s3-bundle-%ld-%s", xtrk_repo_dir(repo), (long)getpid(), last + 1);
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

int xtrk_s3_bundle_put(uint64_t *sent, xtrk_repo *repo, const char *url, const char *path)
{
	xtrk_s3 *s = NULL;
	const char *key;
	int err;
	if ((err = bundle_client(&s, &key, repo, url)) == 0)
		err = xtrk_s3_put_file(s, key, path, sent);
	xtrk_s3_free(s);
	return err;
}

int xtrk_s3_bundle_get(xtrk_repo *repo, const char *url, const char *path)
{
	xtrk_s3_file f;
	xtrk_s3 *s = NULL;
	uint64_t got;
	const char *key;
	int err;
	if ((err = bundle_client(&s, &key, repo, url)) == 0) {
		f.key = key;
		f.path = path;
		f.size = UINT64_MAX;
		if ((err = xtrk_s3_get_files(s, &f, 1, &got)) < 0)
			unlink(path);
	}
	xtrk_s3_free(s);
	return err;
}
