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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
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
#include "xtrk/audit.h"
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
	int err, lock = 0;

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
	/*
	 * The probe: the marker is created when absent; created again, the server
	 * must refuse, and it must refuse a write over an ETag it does not have.
	 * A server that does neither gets the lock object instead.
	 */
	if ((err = xtrk_s3_put(s, MARKER_KEY, marker, sizeof(marker) - 1, NULL, 1, NULL)) < 0 && err != XTRK_EEXISTS)
		goto done;
	xtrk_error_clear();
	if ((err = xtrk_s3_put(s, MARKER_KEY, marker, sizeof(marker) - 1, NULL, 1, NULL)) == 0)
		lock = 1;
	else if (err != XTRK_EEXISTS)
		goto done;
	xtrk_error_clear();
	if (!lock && (err = xtrk_s3_put(s, MARKER_KEY, marker, sizeof(marker) - 1, "\"0-no-such-etag\"", 0, NULL)) == 0)
		lock = 1;
	else if (!lock && err != XTRK_EEXISTS)
		goto done;
	xtrk_error_clear();
	xtrk_buf_clear(&key);
	xtrk_buf_printf(&key, "remote.%s.lock", name);
	if (xtrk_buf_oom(&key) || (lock && (err = xtrk_repo_config_set(repo, key.ptr, "true")) < 0)) {
		err = err < 0 ? err : xtrk_error_oom();
		goto done;
	}
	xtrk_buf_clear(&key);
	xtrk_buf_printf(&key, "remote.%s.path", name);
	if (xtrk_buf_oom(&key)) {
		err = xtrk_error_oom();
		goto done;
	}
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

/*
 * A file key xtrk writes for an index entry: objects/ID (a large object),
 * objects/pack/pack-SUM.pack|.idx, source/pack-SUM.pack|.idx.  `entry` (may
 * be NULL) gets the index part and the entry's name.
 */
static int file_key_split(const char *k, const char **part, char *entry, size_t cap)
{
	const char *base = NULL, *ext;
	size_t n;
	if (!strncmp(k, "objects/pack/", 13)) {
		*part = "packs";
		base = k + 13;
	} else if (!strncmp(k, "source/", 7)) {
		*part = "sources";
		base = k + 7;
	} else if (!strncmp(k, "objects/", 8) && oid_ok(k + 8)) {
		*part = "loose";
		if (strlen(k + 8) >= cap)
			return 0;
		strcpy(entry, k + 8);
		return 1;
	} else {
		return 0;
	}
	if (!(ext = strrchr(base, '.')) || (strcmp(ext, ".pack") && strcmp(ext, ".idx")))
		return 0;
	n = (size_t)(ext - base);
	if (n >= cap)
		return 0;
	memcpy(entry, base, n);
	entry[n] = 0;
	return pack_name_ok(entry);
}

static int file_key_ok(const char *k)
{
	const char *part;
	char entry[128];
	return file_key_split(k, &part, entry, sizeof(entry));
}

/* Whether the index names the file `k` (a file key xtrk writes). */
static int file_key_named(json_t *idx, const char *k)
{
	const char *part;
	char entry[128];
	return file_key_split(k, &part, entry, sizeof(entry)) && json_object_get(json_object_get(idx, part), entry);
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
	if ((v = json_object_get(j, "generation")) && (!json_is_integer(v) || json_integer_value(v) < 0))
		return xtrk_error_set(XTRK_ECORRUPT, "%s: 'generation' is not a count", where);
	if ((v = json_object_get(j, "deleting"))) {
		json_t *t;
		if (!json_is_object(v))
			return xtrk_error_set(XTRK_ECORRUPT, "%s: 'deleting' is not an object", where);
		json_object_foreach(v, k, t)
			if (!file_key_ok(k) || !json_is_integer(t))
				return xtrk_error_set(XTRK_ECORRUPT, "%s: 'deleting' names '%.80s', not a file xtrk writes",
					where, k);
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

/* ---- changing the index: compare-and-swap, or the lock object ---- */

/*
 * A server without conditional writes (found by the probe at 'remote add',
 * remote.NAME.lock = true) gets a lock object instead: each writer of the
 * index creates locks/<random>.lock, then lists locks/; alone there (locks
 * older than remote.NAME.lockExpiry seconds on the server's clock, default
 * 120, are stale: their writer died, and they are removed), it holds the
 * lock; with company, it removes its own and tries again later.  Two writers
 * that both create theirs before either lists both back off, so at most one
 * ever holds it (a listing shows every object written before it began).
 */
#define LOCK_DIR "locks/"
#define LOCK_EXPIRY_DEFAULT 120

struct locking {
	int on;
	int64_t expiry; /* seconds */
};

static int locking_read(struct locking *lk, xtrk_repo *repo, const char *name)
{
	xtrk_buf key = XTRK_BUF_INIT, v = XTRK_BUF_INIT;
	int err = 0;
	lk->on = 0;
	lk->expiry = LOCK_EXPIRY_DEFAULT;
	xtrk_buf_printf(&key, "remote.%s.lock", name);
	if (xtrk_buf_oom(&key) || (err = xtrk_repo_config_bool(&lk->on, repo, key.ptr, 0)) < 0) {
		err = xtrk_buf_oom(&key) ? xtrk_error_oom() : err;
		goto done;
	}
	if ((err = config_opt(&v, repo, name, "lockExpiry")) == 0 && v.size) {
		char *end;
		long long e = strtoll(v.ptr, &end, 10);
		if (*end || e < 1 || e > 86400)
			err = xtrk_error_set(XTRK_EINVALID, "remote.%s.lockExpiry is '%s', not a number of seconds (1 to 86400)",
				name, v.ptr);
		else
			lk->expiry = e;
	}
done:
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&v);
	return err;
}

struct lock {
	char key[64];
	int64_t taken; /* our clock */
	int held;
};

struct lock_scan {
	const char *mine;
	int64_t stale_before; /* server clock */
	size_t others;
	char stale[16][64];
	size_t nstale;
	char other[64];
};

static int lock_seen(const char *key, uint64_t size, int64_t modified, void *payload)
{
	struct lock_scan *ls = payload;
	(void)size;
	if (!strcmp(key, ls->mine))
		return 0;
	if (modified >= 0 && modified < ls->stale_before) {
		if (ls->nstale < 16 && strlen(key) < 64)
			strcpy(ls->stale[ls->nstale++], key);
		return 0;
	}
	if (!ls->others++)
		snprintf(ls->other, sizeof(ls->other), "%s", key);
	return 0;
}

static int lock_take(struct lock *l, xtrk_s3 *s, const struct locking *lk)
{
	char body[256], host[64] = "";
	unsigned char rnd[12];
	int64_t deadline = (int64_t)time(NULL) + 2 * lk->expiry + 5;
	int err = 0;
	FILE *f;

	l->held = 0;
	if ((f = fopen("/dev/urandom", "rb")) && fread(rnd, 1, sizeof(rnd), f) == sizeof(rnd)) {
		int o = snprintf(l->key, sizeof(l->key), LOCK_DIR);
		for (size_t i = 0; i < sizeof(rnd); i++)
			o += snprintf(l->key + o, sizeof(l->key) - (size_t)o, "%02x", rnd[i]);
		snprintf(l->key + o, sizeof(l->key) - (size_t)o, ".lock");
	} else {
		snprintf(l->key, sizeof(l->key), LOCK_DIR "%08x%08x%08x.lock", (unsigned)getpid(), (unsigned)time(NULL),
			xtrk_s3_jitter());
	}
	if (f)
		fclose(f);
	gethostname(host, sizeof(host) - 1);
	for (char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
			*c = '_';
	snprintf(body, sizeof(body), "{\"host\":\"%s\",\"pid\":%d,\"time\":%lld}\n", host, (int)getpid(),
		(long long)time(NULL));
	for (int tries = 0;; tries++) {
		struct lock_scan ls;
		memset(&ls, 0, sizeof(ls));
		ls.mine = l->key;
		if ((err = xtrk_s3_put(s, l->key, body, strlen(body), NULL, 0, NULL)) < 0)
			return err;
		ls.stale_before = xtrk_s3_server_now(s) - lk->expiry;
		if ((err = xtrk_s3_list(s, LOCK_DIR, lock_seen, &ls)) < 0) {
			xtrk_s3_delete(s, l->key);
			return err;
		}
		for (size_t i = 0; i < ls.nstale; i++) {
			/* its writer died or overran the expiry; best effort, the next writer tries again */
			if (xtrk_s3_delete(s, ls.stale[i]) < 0)
				xtrk_error_clear();
		}
		if (!ls.others) {
			l->held = 1;
			l->taken = (int64_t)time(NULL);
			return 0;
		}
		if ((err = xtrk_s3_delete(s, l->key)) < 0)
			return err;
		if ((int64_t)time(NULL) > deadline)
			return xtrk_error_set(XTRK_ELOCKED, "%s is locked by %s beside it: another push or gc is "
				"changing it; a lock older than %lld s is stale and removed by the next writer",
				xtrk_s3_where(s, INDEX_KEY), ls.other, (long long)lk->expiry);
		usleep((useconds_t)(1000 * (50 + xtrk_s3_jitter() % (tries < 8 ? 100u * (unsigned)(tries + 1) : 1000u))));
	}
}

static void lock_release(struct lock *l, xtrk_s3 *s)
{
	if (l->held && xtrk_s3_delete(s, l->key) < 0)
		xtrk_error_clear();
	l->held = 0;
}

/*
 * Index fields gc uses: "generation" counts gc's deletion rounds, and
 * "deleting" names the files (no index entry names them) a round is deleting,
 * with the server's time it began.
 */
static int64_t index_generation(json_t *idx)
{
	json_t *g = json_object_get(idx, "generation");
	return json_is_integer(g) ? (int64_t)json_integer_value(g) : 0;
}

/* `edit` changes the index as read: 0 to write it back, > 0 to write nothing (passed on), < 0 an error. */
typedef int (*index_edit_fn)(json_t *idx, void *payload);

/*
 * Apply `edit` to the index and write it back over exactly the version read:
 * with If-Match on its ETag (If-None-Match when there was none), or under the
 * lock object.  When someone else wrote in between, the index is read again
 * and edited again.
 */
static int index_update(xtrk_s3 *s, const struct locking *lk, json_t **idx, xtrk_buf *etag, int *exists,
	index_edit_fn edit, void *payload)
{
	for (int tries = 0;; tries++) {
		struct lock l = { "", 0, 0 };
		char *text = NULL;
		int err;
		if (lk->on) {
			if ((err = lock_take(&l, s, lk)) < 0)
				return err;
			/* under the lock: the index as it is now */
			json_decref(*idx);
			*idx = NULL;
			if ((err = index_fetch(idx, etag, exists, s)) < 0) {
				lock_release(&l, s);
				return err;
			}
		}
		if ((err = edit(*idx, payload)) != 0) {
			lock_release(&l, s);
			return err;
		}
		if (!(text = json_dumps(*idx, JSON_COMPACT | JSON_SORT_KEYS)))
			err = xtrk_error_oom();
		else if (lk->on && 2 * ((int64_t)time(NULL) - l.taken) >= lk->expiry)
			err = xtrk_error_set(XTRK_ELOCKED, "%s: the lock was held too long to trust (%lld s; it expires "
				"after %lld); nothing written", xtrk_s3_where(s, INDEX_KEY), (long long)(time(NULL) - l.taken),
				(long long)lk->expiry);
		else
			err = xtrk_s3_put(s, INDEX_KEY, text, strlen(text), lk->on || !*exists ? NULL : etag->ptr,
				!lk->on && !*exists, NULL);
		free(text);
		lock_release(&l, s);
		if (err != XTRK_EEXISTS || lk->on || tries >= CAS_TRIES)
			return err;
		/* Someone else wrote it meanwhile: read theirs, edit it, try again. */
		xtrk_error_clear();
		json_decref(*idx);
		*idx = NULL;
		usleep((useconds_t)(1000 * (1 + xtrk_s3_jitter() % (tries < 10 ? 10u * (unsigned)(tries + 1) : 100u))));
		if ((err = index_fetch(idx, etag, exists, s)) < 0)
			return err;
	}
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

/* The audit chains of a push (xtrk/audit.h): each one the index lacks, or holds shorter. */
static size_t merge_audit(json_t *into, json_t *add)
{
	json_t *dst = json_object_get(into, "audit"), *c, *have = NULL;
	size_t changed = 0, i, j;
	if (!json_array_size(add))
		return 0;
	if (!json_is_array(dst))
		json_object_set_new(into, "audit", dst = json_array());
	json_array_foreach(add, i, c) {
		json_array_foreach(dst, j, have)
			if (json_equal(json_object_get(have, "origin"), json_object_get(c, "origin")))
				break;
		if (j < json_array_size(dst) && json_array_size(json_object_get(have, "entries")) >=
						       json_array_size(json_object_get(c, "entries")))
			continue;
		changed += (j < json_array_size(dst) ? json_array_set(dst, j, c) : json_array_append(dst, c)) == 0;
	}
	return changed;
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
	return changed + merge_audit(into, json_object_get(add, "audit"));
}

#define PUSH_RESTART 1
#define PUSH_RESTARTS 5

struct push_edit {
	json_t *add;
	int64_t generation; /* the index's when this push learned what the remote holds */
	size_t runs_new;
	int first;
};

/* Name what this push sent, unless a gc round began deleting since it learned what the remote holds. */
static int push_edit(json_t *idx, void *payload)
{
	struct push_edit *pe = payload;
	size_t fresh;
	if (index_generation(idx) != pe->generation)
		return PUSH_RESTART;
	if (!merge(idx, pe->add, &fresh))
		return 2; /* all there already: nothing to write */
	/* Counted against the index as first read: a retry after a lost answer finds its own runs there. */
	if (pe->first)
		pe->runs_new = fresh;
	pe->first = 0;
	return 0;
}

/*
 * The files this push needs that a gc round is deleting: an upload finding
 * one there could be answered "exists" just before it goes.  Wait for the
 * round to end (reading the index again), then rely on nothing it had.
 */
static int wait_deleting(xtrk_s3 *s, const struct locking *lk, json_t **idx, xtrk_buf *etag, int *exists,
	const struct files *fs, const char *name)
{
	int64_t deadline = (int64_t)time(NULL) + 2 * lk->expiry + 5;
	for (;;) {
		json_t *del = json_object_get(*idx, "deleting");
		const char *hit = NULL;
		int err;
		for (size_t i = 0; i < fs->n && !hit; i++)
			if (json_object_get(del, fs->f[i].key))
				hit = fs->f[i].key;
		if (!hit)
			return 0;
		if ((int64_t)time(NULL) > deadline)
			return xtrk_error_set(XTRK_ELOCKED, "%s is being deleted by a gc of remote '%s' that has not ended "
				"(since %lld); run 'xtrk gc --remote=%s' to finish an interrupted one, then push again",
				xtrk_s3_where(s, hit), name, (long long)json_integer_value(json_object_get(del, hit)), name);
		usleep((useconds_t)(1000 * (500 + xtrk_s3_jitter() % 1000u)));
		json_decref(*idx);
		*idx = NULL;
		if ((err = index_fetch(idx, etag, exists, s)) < 0)
			return err;
	}
}

static int push_once(xtrk_sync_stats *out, xtrk_repo *repo, xtrk_s3 *s, const struct locking *lk, const char *name,
	const xtrk_sync_options *opts)
{
	struct remote_has has = { XTRK_OIDSET_INIT, json_object(), json_array() };
	struct push_edit pe = { json_pack("{s:i, s:{}, s:{}, s:{}, s:{}}", "format", 1, "packs", "loose", "sources",
					"refs"), 0, 0, 1 };
	xtrk_oid *ids = NULL;
	size_t n = 0;
	json_t *idx = NULL, *add = pe.add;
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
	if ((err = remote_select_runs(&ids, &n, repo, NULL, opts)) < 0 || (err = index_fetch(&idx, &etag, &exists, s)) < 0)
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
	xtrk_odb_stage_chunks(xtrk_repo_odb(t), xtrk_repo_odb(repo), &has.objects); /* only the chunks the remote lacks */
	/* The index's audit chains, in the staging store, are what this store's are vetted against. */
	if ((json_object_get(idx, "audit") && (err = xtrk_audit_receive(t, json_object_get(idx, "audit"), 0)) < 0) ||
	    (err = remote_sync_runs(out, repo, t, ids, n, 1, opts && opts->no_source, "this store", &has)) < 0 ||
	    (err = xtrk_audit_chains(&v, t)) < 0 || json_object_set_new(add, "audit", v) < 0)
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
	/* Learned before the uploads: a gc round that begins after them makes this push start again. */
	if ((err = wait_deleting(s, lk, &idx, &etag, &exists, &fs, name)) < 0)
		goto done;
	pe.generation = index_generation(idx);
	/* Files first, each created only when absent; the index names them last. */
	if ((err = xtrk_s3_put_files(s, fs.f, fs.n, &sent)) < 0)
		goto done;
	if ((err = index_update(s, lk, &idx, &etag, &exists, push_edit, &pe)) < 0 || err == PUSH_RESTART)
		goto done;
	err = 0;
	out->runs_new = pe.runs_new;
	out->bytes_new = sent;
done:
	stage_drop(stage, t);
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

int remote_s3_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *name, const char *url,
	const xtrk_sync_options *opts)
{
	struct locking lk;
	xtrk_s3 *s = NULL;
	int err;
	memset(out, 0, sizeof(*out));
	if ((err = locking_read(&lk, repo, name)) < 0 || (err = client(&s, repo, name, url)) < 0)
		goto done;
	/* A gc round that deleted files since this push learned what the remote holds: start again. */
	for (int i = 0; (err = push_once(out, repo, s, &lk, name, opts)) == PUSH_RESTART; i++)
		if (i + 1 >= PUSH_RESTARTS) {
			err = xtrk_error_set(XTRK_ELOCKED, "remote '%s' was being collected by gc during %d tries of this "
				"push; nothing of it is named yet; push again", name, PUSH_RESTARTS);
			break;
		}
done:
	xtrk_s3_free(s);
	return err;
}

/* ---- gc ---- */

/*
 * What gc of an S3 remote removes: files no index entry names (what pushes
 * killed before naming them left), older than the grace period on the
 * server's clock.  Runs are never removed from the remote: its refs only
 * grow, so every named file is kept.  A deletion round first names its files
 * under "deleting" and counts up "generation" (one index change), then
 * deletes them, then clears "deleting".  A push that learned what the remote
 * holds before a round began starts again (its uploads may have been
 * answered "exists" by a file about to go); one that needs a file being
 * deleted waits for the round to end.  An interrupted round is finished by
 * the next gc.
 */
struct leftover {
	char *key;
	uint64_t size;
	int64_t modified;
	int named; /* named by a push since the listing: it stays */
};

struct gc_scan {
	json_t *idx;
	int64_t cutoff; /* server clock */
	struct leftover *l;
	size_t n, alloc, kept_recent;
};

static int leftover_add(struct gc_scan *g, const char *key, uint64_t size, int64_t modified, int named)
{
	if (g->n == g->alloc) {
		size_t na = g->alloc ? 2 * g->alloc : 64;
		struct leftover *nl = realloc(g->l, na * sizeof(*nl));
		if (!nl)
			return xtrk_error_oom();
		g->l = nl;
		g->alloc = na;
	}
	if (!(g->l[g->n].key = strdup(key)))
		return xtrk_error_oom();
	g->l[g->n].size = size;
	g->l[g->n].named = named;
	g->l[g->n++].modified = modified;
	return 0;
}

static int gc_seen(const char *key, uint64_t size, int64_t modified, void *payload)
{
	struct gc_scan *g = payload;
	if (!file_key_ok(key) || file_key_named(g->idx, key) || json_object_get(json_object_get(g->idx, "deleting"), key))
		return 0;
	if (modified < 0 || modified >= g->cutoff) {
		g->kept_recent++;
		return 0;
	}
	return leftover_add(g, key, size, modified, 0);
}

struct gc_edit {
	struct gc_scan *g;
	int64_t now; /* server clock */
	int finish;  /* clear "deleting" of these keys instead */
	size_t kept; /* named meanwhile, left alone */
};

/* Start a round: the leftovers still unnamed go under "deleting", and the generation counts up. */
static int gc_begin(json_t *idx, void *payload)
{
	struct gc_edit *e = payload;
	json_t *del = json_object_get(idx, "deleting");
	size_t marked = 0;
	if (!del && (json_object_set_new(idx, "deleting", json_object()) < 0 || !(del = json_object_get(idx, "deleting"))))
		return xtrk_error_oom();
	e->kept = 0;
	for (size_t i = 0; i < e->g->n; i++) {
		struct leftover *l = &e->g->l[i];
		if ((l->named = file_key_named(idx, l->key))) {
			e->kept++;
			continue;
		}
		if (json_object_set_new(del, l->key, json_integer((json_int_t)e->now)) < 0)
			return xtrk_error_oom();
		marked++;
	}
	if (!marked)
		return 1;
	return json_object_set_new(idx, "generation", json_integer((json_int_t)(index_generation(idx) + 1))) < 0
		? xtrk_error_oom() : 0;
}

/* End a round: these keys leave "deleting". */
static int gc_end(json_t *idx, void *payload)
{
	struct gc_edit *e = payload;
	json_t *del = json_object_get(idx, "deleting");
	size_t n = 0;
	for (size_t i = 0; i < e->g->n; i++)
		if (json_object_get(del, e->g->l[i].key) && json_object_del(del, e->g->l[i].key) == 0)
			n++;
	if (del && !json_object_size(del))
		json_object_del(idx, "deleting");
	return n ? 0 : 1;
}

static int gc_delete_all(xtrk_s3 *s, struct gc_scan *g, xtrk_gc_result *out, const xtrk_gc_options *o)
{
	for (size_t i = 0; i < g->n; i++) {
		xtrk_gc_item it = { XTRK_GC_TEMP, g->l[i].key, g->l[i].size, 0 };
		int err;
		if (g->l[i].named)
			continue;
		if (!o->dry_run && (err = xtrk_s3_delete(s, g->l[i].key)) < 0)
			return err;
		out->temp_removed++;
		out->temp_bytes += g->l[i].size;
		if (o->removed)
			o->removed(&it, o->payload);
	}
	return 0;
}

struct stale_uploads {
	int64_t cutoff; /* server clock */
	char **keys, **ids;
	size_t n, alloc, kept_recent;
};

static int upload_seen(const char *key, const char *upload_id, int64_t initiated, void *payload)
{
	struct stale_uploads *u = payload;
	if (!file_key_ok(key))
		return 0;
	if (initiated < 0 || initiated >= u->cutoff) {
		u->kept_recent++;
		return 0;
	}
	if (u->n == u->alloc) {
		size_t na = u->alloc ? 2 * u->alloc : 16;
		char **nk = realloc(u->keys, na * sizeof(*nk)), **ni;
		if (!nk)
			return xtrk_error_oom();
		u->keys = nk;
		if (!(ni = realloc(u->ids, na * sizeof(*ni))))
			return xtrk_error_oom();
		u->ids = ni;
		u->alloc = na;
	}
	if (!(u->keys[u->n] = strdup(key)))
		return xtrk_error_oom();
	if (!(u->ids[u->n] = strdup(upload_id))) {
		free(u->keys[u->n]);
		return xtrk_error_oom();
	}
	u->n++;
	return 0;
}

/* Multipart uploads a killed push began and never finished hold their parts on the server: aborted after the grace period. */
static int abort_stale_uploads(xtrk_s3 *s, int64_t cutoff, xtrk_gc_result *out, const xtrk_gc_options *o)
{
	struct stale_uploads u = { cutoff, NULL, NULL, 0, 0, 0 };
	xtrk_buf what = XTRK_BUF_INIT;
	int err = xtrk_s3_list_uploads(s, "objects/", upload_seen, &u);
	for (size_t i = 0; i < u.n; i++) {
		if (err == 0 && !o->dry_run)
			err = xtrk_s3_abort_upload(s, u.keys[i], u.ids[i]);
		if (err == 0) {
			xtrk_gc_item it = { XTRK_GC_TEMP, NULL, 0, 0 };
			xtrk_buf_clear(&what);
			xtrk_buf_printf(&what, "%s (an unfinished multipart upload)", u.keys[i]);
			it.what = what.ptr ? what.ptr : u.keys[i];
			out->temp_removed++;
			if (o->removed)
				o->removed(&it, o->payload);
		}
		free(u.keys[i]);
		free(u.ids[i]);
	}
	out->kept_recent += u.kept_recent;
	free(u.keys);
	free(u.ids);
	xtrk_buf_dispose(&what);
	return err;
}

int remote_s3_gc(xtrk_gc_result *out, xtrk_repo *repo, const char *name, const char *url, const xtrk_gc_options *o)
{
	struct gc_scan g = { NULL, 0, NULL, 0, 0, 0 };
	struct gc_edit e = { &g, 0, 0, 0 };
	struct locking lk;
	xtrk_s3 *s = NULL;
	xtrk_buf etag = XTRK_BUF_INIT;
	json_t *idx = NULL, *v;
	const char *k;
	int64_t grace, now;
	int exists, err;

	memset(out, 0, sizeof(*out));
	now = (int64_t)time(NULL);
	grace = now - o->expire;
	if (grace < 0)
		grace = 0;
	if ((err = locking_read(&lk, repo, name)) < 0 || (err = client(&s, repo, name, url)) < 0 ||
	    (err = index_fetch(&idx, &etag, &exists, s)) < 0)
		goto done;
	g.idx = idx;
	out->refs = json_object_size(json_object_get(idx, "refs"));
	json_object_foreach(json_object_get(idx, "refs"), k, v)
		out->runs += !strncmp(k, "experiments/", 12);
	/* An interrupted round first: its files go, then "deleting" is cleared. */
	json_object_foreach(json_object_get(idx, "deleting"), k, v)
		if ((err = leftover_add(&g, k, 0, -1, file_key_named(idx, k))) < 0) /* never a file an entry names */
			goto done;
	if (g.n && !o->dry_run) {
		if ((err = gc_delete_all(s, &g, out, o)) < 0 ||
		    (err = index_update(s, &lk, &idx, &etag, &exists, gc_end, &e)) < 0)
			goto done;
		g.idx = idx;
	}
	for (size_t i = 0; i < g.n; i++)
		free(g.l[i].key);
	g.n = 0;
	/* The leftovers, by listing (gc's own work; pushes and pulls never list). */
	g.cutoff = xtrk_s3_server_now(s) - grace;
	if ((err = xtrk_s3_list(s, "objects/", gc_seen, &g)) < 0 || (err = xtrk_s3_list(s, "source/", gc_seen, &g)) < 0)
		goto done;
	out->kept_recent = g.kept_recent;
	if ((err = abort_stale_uploads(s, g.cutoff, out, o)) < 0 || !g.n)
		goto done;
	if (o->dry_run) {
		err = gc_delete_all(s, &g, out, o);
		goto done;
	}
	e.now = xtrk_s3_server_now(s);
	if ((err = index_update(s, &lk, &idx, &etag, &exists, gc_begin, &e)) < 0)
		goto done;
	if (err == 0 && (err = gc_delete_all(s, &g, out, o)) == 0)
		err = index_update(s, &lk, &idx, &etag, &exists, gc_end, &e);
	if (err > 0)
		err = 0;
done:
	if (err == 0)
		out->bytes_reclaimed = out->temp_bytes;
	for (size_t i = 0; i < g.n; i++)
		free(g.l[i].key);
	free(g.l);
	json_decref(idx);
	xtrk_buf_dispose(&etag);
	xtrk_s3_free(s);
	return err < 0 ? err : 0;
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
	xtrk_odb_set_chunk_source(xtrk_repo_odb(t), xtrk_repo_odb(repo)); /* chunks this store had were not fetched */
	xtrk_buf_printf(&where, "remote '%s'", name);
	if (xtrk_buf_oom(&where)) {
		err = xtrk_error_oom();
		goto done;
	}
	/* The index's audit chains, checked in form on the way into the staging store, then as from a folder. */
	if (json_object_get(idx, "audit") && (err = xtrk_audit_receive(t, json_object_get(idx, "audit"), 0)) < 0) {
		err = xtrk_error_set(err, "%s: %s; nothing was pulled", where.ptr, xtrk_error_last());
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
