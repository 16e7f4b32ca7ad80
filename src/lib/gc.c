/* Garbage collection: mark from every ref, sweep loose objects, packs and temporary files (xtrk/gc.h). */
#include "config.h"
#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "odb_lock.h"
#include "series_cache.h"
#include "odb_loose.h"
#include "odb_pack.h"
#include "odb_txn.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/gc.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/run.h"

/* ---- expiry dates ---- */

static const struct {
	const char *name;
	int64_t secs;
} units[] = {
	{ "second", 1 }, { "minute", 60 }, { "hour", 3600 }, { "day", 86400 }, { "week", 7 * 86400 },
	{ "month", 30 * 86400 }, { "year", 365 * 86400 },
};

int xtrk_gc_parse_expire(int64_t *out, const char *text, int64_t now)
{
	char unit[16], *end;
	long long n;
	struct tm tm;
	const char *p;
	size_t ul = 0;

	if (!text || !*text)
		goto bad;
	if (!strcmp(text, "now")) {
		*out = now;
		return 0;
	}
	if (!strcmp(text, "never")) {
		*out = INT64_MIN;
		return 0;
	}
	if (text[0] == '@') {
		errno = 0;
		n = strtoll(text + 1, &end, 10);
		if (errno || end == text + 1 || *end)
			goto bad;
		*out = n;
		return 0;
	}
	if (isdigit((unsigned char)text[0]) && strlen(text) >= 10 && text[4] == '-') {
		static const char *const fmts[] = { "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
			"%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S" };
		for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
			memset(&tm, 0, sizeof(tm));
			p = strptime(text, fmts[i], &tm);
			if (p && !*p) {
				tm.tm_isdst = -1;
				*out = (int64_t)mktime(&tm);
				return 0;
			}
		}
		goto bad;
	}
	/* N.UNIT[s].ago or N UNIT[s] ago */
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno || end == text || n < 0 || (*end != '.' && *end != ' '))
		goto bad;
	p = end + 1;
	while (isalpha((unsigned char)*p) && ul < sizeof(unit) - 1)
		unit[ul++] = *p++;
	unit[ul] = '\0';
	if (ul > 1 && unit[ul - 1] == 's')
		unit[--ul] = '\0';
	if ((*p != '.' && *p != ' ') || strcmp(p + 1, "ago"))
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(unit, units[i].name)) {
			if (n > (int64_t)(now / units[i].secs) + 1)
				n = now / units[i].secs + 1;
			*out = now - (int64_t)n * units[i].secs;
			return 0;
		}
	}
bad:
	return xtrk_error_set(XTRK_EINVALID, "'%s' is not an expiry date (use now, never, a date "
		"YYYY-MM-DD[ HH:MM[:SS]], @UNIXTIME or N.UNIT.ago as in 2.weeks.ago)", text ? text : "");
}

int xtrk_gc_config_expire(int64_t *out, xtrk_repo *repo, int64_t now)
{
	xtrk_buf v = XTRK_BUF_INIT;
	int err = xtrk_repo_config_string(&v, repo, "gc.pruneExpire");
	if (err == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		return xtrk_gc_parse_expire(out, XTRK_GC_DEFAULT_EXPIRE, now);
	}
	if (err == 0 && (err = xtrk_gc_parse_expire(out, v.ptr, now)) < 0)
		err = xtrk_error_set(err, "gc.pruneExpire in the store's config: %s", xtrk_error_last());
	xtrk_buf_dispose(&v);
	return err;
}

/* ---- marking ---- */

struct gc {
	xtrk_repo *repo;
	xtrk_odb *odb;
	const xtrk_gc_options *o;
	xtrk_gc_result *r;
	xtrk_oidset live;    /* everything marked (with reach's walked-tree sentinels) */
	int64_t cutoff;      /* things whose mtime is before this may go */
	int partial_run;     /* the run being marked came without its data files */
	/* refs/removed refs too old to keep their runs: "experiment/id" relative paths */
	char **expired;
	size_t nexpired, aexpired;
	xtrk_oidset expired_runs;
};

static int older(const struct stat *st, int64_t cutoff)
{
	return (int64_t)st->st_mtim.tv_sec < cutoff;
}

/* A partial run's data trees may be absent: nothing below them to keep. */
static int gc_read_tree(xtrk_buf *out, const xtrk_oid *id, void *payload)
{
	struct gc *g = payload;
	int err = xtrk_odb_read(out, NULL, g->odb, id, XTRK_OBJ_TREE);
	if (err == XTRK_ENOTFOUND && g->partial_run) {
		xtrk_error_clear();
		xtrk_buf_clear(out);
		return 0;
	}
	return err;
}

static int gc_visit(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	(void)id, (void)type, (void)is_data, (void)payload;
	return 0; /* `seen` is the mark */
}

static int partial_marker(struct gc *g, const xtrk_oid *id)
{
	xtrk_buf p = XTRK_BUF_INIT;
	struct stat st;
	int yes;
	xtrk_buf_printf(&p, "%s/refs/partial/%s", xtrk_repo_dir(g->repo), xtrk_oid_tostr(id));
	yes = !xtrk_buf_oom(&p) && stat(p.ptr, &st) == 0;
	xtrk_buf_dispose(&p);
	return yes;
}

/* Mark a run and all it reaches.  `tolerant`: a run that cannot be read keeps only its ID (a removed run may be broken). */
static int mark_run(struct gc *g, const xtrk_oid *id, const char *ref, int tolerant)
{
	json_t *run = NULL;
	xtrk_reach reach;
	int err;

	if (xtrk_oidset_has(&g->live, id))
		return 0;
	if ((err = xtrk_run_read_record(&run, g->repo, id)) < 0) {
		if (tolerant) {
			xtrk_error_clear();
			return xtrk_oidset_add(&g->live, id) < 0 ? xtrk_error_oom() : 0;
		}
		return xtrk_error_set(err, "%s names run %s, which cannot be read (%s); gc does not collect a "
			"damaged store: see 'xtrk fsck'", ref, xtrk_oid_tostr(id), xtrk_error_last());
	}
	memset(&reach, 0, sizeof(reach));
	reach.read_tree = gc_read_tree;
	reach.visit = gc_visit;
	reach.payload = g;
	reach.odb = g->odb;
	reach.seen = &g->live;
	reach.chunks = 1; /* a file stored as chunks keeps its chunks */
	g->partial_run = partial_marker(g, id);
	err = xtrk_reach_run(&reach, id, run);
	json_decref(run);
	if (err < 0) {
		if (tolerant) {
			xtrk_error_clear();
			return 0;
		}
		return xtrk_error_set(err, "%s: run %s: %s; gc does not collect a damaged store: see 'xtrk fsck'", ref,
			xtrk_oid_tostr(id), xtrk_error_last());
	}
	g->r->runs++;
	return 0;
}

/* The ID a ref file holds (trailing newline allowed). */
static int ref_id(xtrk_oid *out, const char *path, const char *rel)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err = xtrk_buf_read_file(&b, path);
	if (err == 0) {
		while (b.size && (b.ptr[b.size - 1] == '\n' || b.ptr[b.size - 1] == '\r'))
			xtrk_buf_truncate(&b, b.size - 1);
		if (xtrk_oid_parse(out, b.ptr ? b.ptr : "") < 0)
			err = xtrk_error_set(XTRK_EINVALID, "%s does not hold an object ID; gc cannot tell what it keeps "
				"(see 'xtrk fsck')", rel);
	}
	xtrk_buf_dispose(&b);
	return err;
}

/* refs/experiments/EXP/ID and refs/tags/NAME: a run ID. */
static int mark_run_ref(struct gc *g, const char *path, const char *rel, const struct stat *st)
{
	xtrk_oid id;
	int err;
	(void)st;
	if ((err = ref_id(&id, path, rel)) < 0)
		return err;
	return mark_run(g, &id, rel, 0);
}

/* refs/removed/EXP/ID: kept while younger than the expiry, then no longer a reason to keep the run. */
static int mark_removed_ref(struct gc *g, const char *path, const char *rel, const struct stat *st)
{
	xtrk_oid id;
	int err;
	if ((err = ref_id(&id, path, rel)) < 0)
		return err;
	if (!older(st, g->cutoff))
		return mark_run(g, &id, rel, 1);
	for (size_t i = 0; i < g->nexpired; i++)
		if (!strcmp(g->expired[i], rel))
			return 0;
	if (g->nexpired == g->aexpired) {
		size_t na = g->aexpired ? g->aexpired * 2 : 16;
		char **np = realloc(g->expired, na * sizeof(*np));
		if (!np)
			return xtrk_error_oom();
		g->expired = np;
		g->aexpired = na;
	}
	if (!(g->expired[g->nexpired] = strdup(rel)))
		return xtrk_error_oom();
	g->nexpired++;
	return xtrk_oidset_add(&g->expired_runs, &id) < 0 ? xtrk_error_oom() : 0;
}

/*
 * refs/partial/ID: a marker (its content is not an ID) on a run whose data
 * files were not imported.  It keeps its run unless the run is a removed one
 * whose time is up (the marker then goes with it): handled after the others.
 */
static int mark_partial_ref(struct gc *g, const char *path, const char *rel, const struct stat *st)
{
	const char *name = strrchr(path, '/') + 1;
	xtrk_oid id;
	(void)st;
	if (xtrk_oid_parse(&id, name) < 0)
		return xtrk_error_set(XTRK_EINVALID, "%s is not named by a run ID; gc cannot tell what it keeps", rel);
	if (xtrk_oidset_has(&g->expired_runs, &id))
		return 0;
	return mark_run(g, &id, rel, 1);
}

/*
 * refs/notes/RUN/NOTE: a note appended to run RUN (xtrk-note), and
 * refs/stages/RUN/RECORD: a stage move or approval (xtrk-stage).  A note keeps
 * its own object and nothing else: it does not keep its run, and when a
 * removed run expires its notes go with it (see sweep).
 */
static int mark_note_ref(struct gc *g, const char *path, const char *rel, const struct stat *st)
{
	xtrk_oid id;
	int err;
	const char *slash = strrchr(rel, '/');
	xtrk_oid run;
	(void)st;
	if ((err = ref_id(&id, path, rel)) < 0)
		return err;
	/* refs/notes/RUN/NOTE: the notes of an expired removed run that nothing else keeps go with it. */
	const char *first = strchr(rel + 5, '/'); /* after "refs/NS" */
	size_t skip = first ? (size_t)(first - rel) + 1 : strlen(rel);
	if (slash && slash - rel > (ptrdiff_t)skip && (size_t)(slash - rel) - skip <= XTRK_OID_HEXSZ) {
		char hex[XTRK_OID_HEXSZ + 1];
		memcpy(hex, rel + skip, (size_t)(slash - rel) - skip);
		hex[(size_t)(slash - rel) - skip] = 0;
		if (xtrk_oid_parse(&run, hex) == 0 && xtrk_oidset_has(&g->expired_runs, &run) &&
		    !xtrk_oidset_has(&g->live, &run))
			return 0;
	}
	if (!xtrk_odb_exists(g->odb, &id))
		return xtrk_error_set(XTRK_ENOTFOUND, "%s names %s, which is not in the store; gc does not collect a "
			"damaged store: see 'xtrk fsck'", rel, xtrk_oid_tostr(&id));
	return xtrk_oidset_add(&g->live, &id) < 0 ? xtrk_error_oom() : 0;
}

/*
 * refs/archived/EXP/ID: the archive record of a run moved out to a bundle
 * (xtrk-archive).  It is the ref's own content, not an object: it keeps nothing.
 */
static int mark_archived_ref(struct gc *g, const char *path, const char *rel, const struct stat *st)
{
	xtrk_oid id;
	(void)g, (void)st;
	if (xtrk_oid_parse(&id, strrchr(path, '/') + 1) < 0)
		return xtrk_error_set(XTRK_EINVALID, "%s is not named by a run ID; gc cannot tell what it keeps", rel);
	return 0;
}

typedef int (*mark_fn)(struct gc *g, const char *path, const char *rel, const struct stat *st);

/*
 * The namespaces under refs/ that gc knows, and how each keeps objects.  The
 * order matters: experiments before removed, as 'xtrk rm' writes the removed
 * ref before it deletes the live one (and restore the other way round, both
 * under the writers' lock).
 */
static const struct {
	const char *name;
	mark_fn mark;
} namespaces[] = {
	{ "experiments", mark_run_ref },
	{ "tags", mark_run_ref },
	{ "archived", mark_archived_ref }, /* keeps nothing: after experiments, which 'xtrk archive' leaves last */
	{ "removed", mark_removed_ref },
	{ "notes", mark_note_ref }, /* after removed: see mark_note_ref */
	{ "stages", mark_note_ref }, /* stage moves and approvals (xtrk-stage): kept as notes are */
	{ "partial", mark_partial_ref }, /* after removed: see mark_partial_ref */
};

static int is_lock(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && !strcmp(name + n - 5, ".lock");
}

/* Every ref file below `dir` (relative name `rel`), depth first. */
static int mark_tree(struct gc *g, mark_fn mark, xtrk_buf *path, xtrk_buf *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (depth > 32)
		return xtrk_error_set(XTRK_EINVALID, "%s is nested too deep for a ref", rel->ptr);
	if (!(d = opendir(path->ptr)))
		return errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", path->ptr);
	while (!err && (de = readdir(d))) {
		size_t pl = path->size, rl = rel->size;
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		xtrk_buf_printf(path, "/%s", de->d_name);
		xtrk_buf_printf(rel, "/%s", de->d_name);
		if (xtrk_buf_oom(path) || xtrk_buf_oom(rel)) {
			err = xtrk_error_oom();
		} else if (lstat(path->ptr, &st) < 0) {
			if (errno != ENOENT) /* a lock file renamed away meanwhile */
				err = xtrk_error_errno("cannot read '%s'", path->ptr);
		} else if (S_ISDIR(st.st_mode)) {
			err = mark_tree(g, mark, path, rel, depth + 1);
		} else if (is_lock(de->d_name)) {
			/* a ref being written: its writer holds the writers' lock, so it is named before gc deletes */
		} else if (!S_ISREG(st.st_mode)) {
			err = xtrk_error_set(XTRK_EINVALID, "%s is not a plain file; gc cannot tell what it keeps "
				"(see 'xtrk fsck')", rel->ptr);
		} else {
			g->r->refs++;
			err = mark(g, path->ptr, rel->ptr, &st);
		}
		xtrk_buf_truncate(path, pl);
		xtrk_buf_truncate(rel, rl);
	}
	closedir(d);
	return err;
}

/* Mark from every ref; refuse on a namespace gc does not know. */
static int mark_all(struct gc *g)
{
	xtrk_buf path = XTRK_BUF_INIT, rel = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

	g->r->refs = 0;
	if (xtrk_buf_printf(&path, "%s/refs", xtrk_repo_dir(g->repo)) < 0)
		return xtrk_error_oom();
	/* First the table's check: nothing under refs/ that it does not name. */
	if ((d = opendir(path.ptr))) {
		while (!err && (de = readdir(d))) {
			size_t i, n = sizeof(namespaces) / sizeof(namespaces[0]);
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			for (i = 0; i < n && strcmp(de->d_name, namespaces[i].name); i++)
				;
			if (i == n)
				err = xtrk_error_set(XTRK_EINVALID, "refs/%s is a kind of ref gc does not know; it refuses to "
					"collect rather than delete what it may keep (a newer xtrk may know it)", de->d_name);
		}
		closedir(d);
	} else if (errno != ENOENT) {
		err = xtrk_error_errno("cannot read '%s'", path.ptr);
	}
	for (size_t i = 0; !err && i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		xtrk_buf_clear(&path);
		xtrk_buf_clear(&rel);
		xtrk_buf_printf(&path, "%s/refs/%s", xtrk_repo_dir(g->repo), namespaces[i].name);
		xtrk_buf_printf(&rel, "refs/%s", namespaces[i].name);
		err = xtrk_buf_oom(&path) || xtrk_buf_oom(&rel) ? xtrk_error_oom()
			: mark_tree(g, namespaces[i].mark, &path, &rel, 0);
	}
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&rel);
	return err;
}

/* ---- sweeping ---- */

struct loose {
	xtrk_oid oid;
	uint64_t bytes;
};

struct packinfo {
	char *idx;           /* path of the .idx */
	struct pack p;
	uint64_t pack_bytes, idx_bytes;
	uint64_t live_bytes; /* entries (header and stored bytes) of live objects */
	size_t live, dead;
	int rewrite;
	int old;             /* older than the cutoff */
	int fd;
};

/* More small old packs than this are merged into one; a pack is small under this size. */
#define GC_MERGE_PACKS 32
#define GC_MERGE_PACK_BYTES (64ULL * 1024 * 1024)

struct sweep {
	struct loose *loose;
	size_t nloose, aloose;
	struct packinfo *packs;
	size_t npacks;
	xtrk_oidset elsewhere; /* live objects also held by a loose file or a pack that stays */
	xtrk_oidset copied;    /* live objects written to the new pack */
};

static void tell(struct gc *g, xtrk_gc_kind kind, const char *what, uint64_t bytes, size_t objects)
{
	xtrk_gc_item it = { kind, what, bytes, objects };
	if (g->o->removed)
		g->o->removed(&it, g->o->payload);
}

/* Loose objects: the unmarked and old are candidates; the unmarked and young are counted as kept. */
static int scan_loose(struct gc *g, struct sweep *s)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int err = 0;
	for (int i = 0; i < 256 && !err; i++) {
		DIR *d;
		struct dirent *de;
		xtrk_buf_clear(&p);
		if (xtrk_buf_printf(&p, "%s/%02x", g->odb->dir, i) < 0)
			return XTRK_ERROR;
		if (!(d = opendir(p.ptr)))
			continue;
		while (!err && (de = readdir(d))) {
			char hex[XTRK_OID_HEXSZ + 1];
			xtrk_oid oid;
			struct stat st;
			if (strlen(de->d_name) != XTRK_OID_HEXSZ - 2)
				continue; /* not an object: fsck's to report */
			snprintf(hex, sizeof(hex), "%02x%s", i, de->d_name);
			if (xtrk_oid_parse(&oid, hex) < 0 || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			if (xtrk_oidset_has(&g->live, &oid)) {
				if (xtrk_oidset_add(&s->elsewhere, &oid) < 0)
					err = xtrk_error_oom();
				continue;
			}
			if (!older(&st, g->cutoff)) {
				g->r->kept_recent++;
				continue;
			}
			if (s->nloose == s->aloose) {
				size_t na = s->aloose ? s->aloose * 2 : 256;
				struct loose *nl = realloc(s->loose, na * sizeof(*nl));
				if (!nl) {
					err = xtrk_error_oom();
					break;
				}
				s->loose = nl;
				s->aloose = na;
			}
			s->loose[s->nloose].oid = oid;
			s->loose[s->nloose].bytes = (uint64_t)st.st_size;
			s->nloose++;
		}
		closedir(d);
	}
	xtrk_buf_dispose(&p);
	return err;
}

static int entry_loc(struct loc *l, struct packinfo *pi, uint64_t i, xtrk_oid *oid)
{
	const unsigned char *ent = pi->p.idx + IDX_HDR + i * IDX_ENTRY;
	memcpy(oid->id, ent, XTRK_OID_RAWSZ);
	memset(l, 0, sizeof(*l));
	return odb_loc_from_pack(l, pi->fd, xtrk_get_le64(ent + 16), oid, pi->p.path);
}

/* Packs: which are old and mostly garbage. */
static int scan_packs(struct gc *g, struct sweep *s)
{
	xtrk_buf dir = XTRK_BUF_INIT, ip = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	size_t nsmall = 0;
	int err = 0;

	if (xtrk_buf_printf(&dir, "%s/pack", g->odb->dir) < 0)
		return XTRK_ERROR;
	if (!(d = opendir(dir.ptr))) {
		xtrk_buf_dispose(&dir);
		return 0;
	}
	while (!err && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct packinfo *pi, *np;
		struct stat pst, ist;
		if (n < 10 || strncmp(de->d_name, "pack-", 5) || strcmp(de->d_name + n - 4, ".idx"))
			continue;
		if (!(np = realloc(s->packs, (s->npacks + 1) * sizeof(*np)))) {
			err = xtrk_error_oom();
			break;
		}
		s->packs = np;
		pi = &s->packs[s->npacks];
		memset(pi, 0, sizeof(*pi));
		pi->fd = -1;
		xtrk_buf_clear(&ip);
		xtrk_buf_printf(&ip, "%s/%s", dir.ptr, de->d_name);
		if (xtrk_buf_oom(&ip) || !(pi->idx = strdup(ip.ptr))) {
			err = xtrk_error_oom();
			break;
		}
		s->npacks++;
		if ((err = odb_pack_open_idx(&pi->p, ip.ptr)) < 0 || (pi->fd = open(pi->p.path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(pi->fd, &pst) < 0 || stat(ip.ptr, &ist) < 0) {
			err = xtrk_error_set(XTRK_ECORRUPT, "pack '%s' cannot be read (%s); gc does not collect a damaged "
				"store: see 'xtrk fsck'", ip.ptr, err < 0 ? xtrk_error_last() : strerror(errno));
			break;
		}
		pi->pack_bytes = (uint64_t)pst.st_size;
		pi->idx_bytes = (uint64_t)ist.st_size;
		for (uint64_t i = 0; i < pi->p.count && !err; i++) {
			struct loc l;
			xtrk_oid oid;
			if ((err = entry_loc(&l, pi, i, &oid)) < 0) {
				err = xtrk_error_set(err, "%s; gc does not collect a damaged store: see 'xtrk fsck'",
					xtrk_error_last());
				break;
			}
			if (xtrk_oidset_has(&g->live, &oid)) {
				pi->live++;
				pi->live_bytes += PACK_HDR_SIZE + l.stored;
			} else {
				pi->dead++;
			}
		}
		close(pi->fd); /* reopened to copy from it: a store may hold more packs than descriptors */
		pi->fd = -1;
		if (err)
			break;
		/* A young pack stays whole; an old one goes when more than half of it is garbage. */
		pi->old = older(&pst, g->cutoff);
		if (pi->dead && !pi->old)
			g->r->kept_recent += pi->dead;
		else if (pi->dead && (PACK_FILE_HDR + pi->live_bytes) * 2 < pi->pack_bytes)
			pi->rewrite = 1;
		else
			nsmall += pi->old && pi->pack_bytes < GC_MERGE_PACK_BYTES;
	}
	closedir(d);
	/*
	 * Many small old packs (one a commit makes each) are merged into the new
	 * pack too: every read and every write transaction looks in each pack, so
	 * their number, not their size, is what costs.  Their garbage goes with it.
	 */
	for (size_t k = 0; !err && k < s->npacks; k++) {
		struct packinfo *pi = &s->packs[k];
		if (pi->rewrite || (pi->dead && !pi->old))
			continue;
		if (nsmall > GC_MERGE_PACKS && pi->old && pi->pack_bytes < GC_MERGE_PACK_BYTES)
			pi->rewrite = 1;
		else
			g->r->kept_in_packs += pi->dead;
	}
	/* Live objects in packs that stay need no copy. */
	for (size_t k = 0; !err && k < s->npacks; k++) {
		struct packinfo *pi = &s->packs[k];
		if (pi->rewrite)
			continue;
		for (uint64_t i = 0; i < pi->p.count; i++) {
			xtrk_oid oid;
			memcpy(oid.id, pi->p.idx + IDX_HDR + i * IDX_ENTRY, XTRK_OID_RAWSZ);
			if (xtrk_oidset_has(&g->live, &oid) && xtrk_oidset_add(&s->elsewhere, &oid) < 0) {
				err = xtrk_error_oom();
				break;
			}
		}
	}
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&ip);
	return err;
}

/* Copy the live objects of the packs to rewrite into one new pack, through a write transaction. */
static int rewrite_packs(struct gc *g, struct sweep *s)
{
	xtrk_txn *t = NULL;
	unsigned char *raw = NULL;
	int err = 0, any = 0;

	for (size_t k = 0; k < s->npacks; k++)
		any |= s->packs[k].rewrite && s->packs[k].live;
	if (!any)
		return 0;
	if ((err = xtrk_txn_new(&t, g->odb)) < 0)
		return err;
	for (size_t k = 0; !err && k < s->npacks; k++) {
		struct packinfo *pi = &s->packs[k];
		if (!pi->rewrite)
			continue;
		if ((pi->fd = open(pi->p.path, O_RDONLY | O_CLOEXEC)) < 0) {
			err = xtrk_error_errno("cannot read pack '%s'", pi->p.path);
			break;
		}
		for (uint64_t i = 0; i < pi->p.count && !err; i++) {
			struct loc l, lv;
			xtrk_oid oid;
			xtrk_odb_stream *st = NULL;
			unsigned char sink[65536];
			size_t got;
			unsigned char *nr;
			if ((err = entry_loc(&l, pi, i, &oid)) < 0)
				break;
			if (!xtrk_oidset_has(&g->live, &oid) || xtrk_oidset_has(&s->elsewhere, &oid) ||
			    xtrk_oidset_has(&s->copied, &oid))
				continue;
			/* Copied as stored, after its content is checked against its ID. */
			lv = l;
			if ((err = odb_stream_from_loc(&st, &lv, &oid)) < 0)
				break;
			while ((err = xtrk_odb_stream_read(st, sink, sizeof(sink), &got)) == 0 && got)
				;
			xtrk_odb_stream_free(st);
			if (err < 0) {
				err = xtrk_error_set(err, "%s; gc does not collect a damaged store: see 'xtrk fsck'",
					xtrk_error_last());
				break;
			}
			if (!(nr = realloc(raw, l.stored ? l.stored : 1))) {
				err = xtrk_error_oom();
				break;
			}
			raw = nr;
			if ((err = xtrk_pread_exact(pi->fd, raw, l.stored, l.off, pi->p.path)) < 0 ||
			    (err = odb_pack_append(t, &oid, l.type, l.comp, l.size, raw, l.stored)) < 0)
				break;
			if (xtrk_oidset_add(&s->copied, &oid) < 0)
				err = xtrk_error_oom();
		}
		close(pi->fd);
		pi->fd = -1;
	}
	if (err == 0)
		err = xtrk_txn_commit(t);
	xtrk_txn_free(t); /* the writers' lock goes with it, before gc takes it exclusive */
	free(raw);
	return err;
}

static void fsync_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	if (dir && (slash = strrchr(dir, '/'))) {
		*slash = '\0';
		xtrk_fsync_dir(dir);
	}
	free(dir);
	xtrk_error_clear();
}

/* Remove temporary files (and emptied staging folders) older than the cutoff. */
static int sweep_temp(struct gc *g, const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	xtrk_buf p = XTRK_BUF_INIT;
	if (depth > 8 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		xtrk_buf_clear(&p);
		if (xtrk_buf_printf(&p, "%s/%s", dir, de->d_name) < 0 || lstat(p.ptr, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			sweep_temp(g, p.ptr, depth + 1);
			if (older(&st, g->cutoff) && !g->o->dry_run)
				rmdir(p.ptr); /* only when emptied */
			continue;
		}
		if (!older(&st, g->cutoff))
			continue;
		if (!g->o->dry_run && unlink(p.ptr) < 0)
			continue;
		g->r->temp_removed++;
		g->r->temp_bytes += (uint64_t)st.st_size;
		tell(g, XTRK_GC_TEMP, p.ptr, (uint64_t)st.st_size, 0);
	}
	closedir(d);
	xtrk_buf_dispose(&p);
	return 0;
}

/* The notes and stage records of an expired removed run go with it: refs/NS/RUN/ and the refs in it (their objects are unmarked). */
static int drop_notes(struct gc *g, const char *ns, const char *run)
{
	xtrk_buf p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (xtrk_buf_printf(&p, "%s/refs/%s/%s", xtrk_repo_dir(g->repo), ns, run) < 0)
		return xtrk_error_oom();
	if (!(d = opendir(p.ptr))) {
		err = errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", p.ptr);
		xtrk_buf_dispose(&p);
		return err;
	}
	while (!err && (de = readdir(d))) {
		size_t len = p.size;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		xtrk_buf_printf(&p, "/%s", de->d_name);
		if (xtrk_buf_oom(&p))
			err = xtrk_error_oom();
		else if (unlink(p.ptr) < 0 && errno != ENOENT)
			err = xtrk_error_errno("cannot remove '%s'", p.ptr);
		xtrk_buf_truncate(&p, len);
	}
	closedir(d);
	if (!err) {
		fsync_parent(p.ptr);
		if (rmdir(p.ptr) == 0)
			fsync_parent(p.ptr);
	}
	xtrk_buf_dispose(&p);
	return err;
}

/* The deletions, under the exclusive lock (or, dry, what they would be). */
static int sweep(struct gc *g, struct sweep *s)
{
	xtrk_buf p = XTRK_BUF_INIT;
	unsigned char touched[256] = { 0 };
	int err = 0, pack_dir_touched = 0;

	for (size_t i = 0; i < s->nloose; i++) {
		struct stat st;
		if (xtrk_oidset_has(&g->live, &s->loose[i].oid))
			continue; /* named by a ref written meanwhile */
		if ((err = odb_loose_path(&p, g->odb->dir, &s->loose[i].oid)) < 0)
			break;
		if (lstat(p.ptr, &st) < 0 || !older(&st, g->cutoff))
			continue;
		if (!g->o->dry_run) {
			if (unlink(p.ptr) < 0) {
				if (errno == ENOENT)
					continue;
				err = xtrk_error_errno("cannot remove '%s'", p.ptr);
				break;
			}
			touched[s->loose[i].oid.id[0]] = 1;
		}
		g->r->loose_removed++;
		g->r->loose_bytes += (uint64_t)st.st_size;
		tell(g, XTRK_GC_LOOSE, xtrk_oid_tostr(&s->loose[i].oid), (uint64_t)st.st_size, 1);
	}
	for (size_t k = 0; !err && k < s->npacks; k++) {
		struct packinfo *pi = &s->packs[k];
		uint64_t newbytes = 0, dead = 0;
		int keep = 0;
		if (!pi->rewrite)
			continue;
		/* Every object now live must be held elsewhere, else the pack stays. */
		for (uint64_t i = 0; i < pi->p.count && !keep; i++) {
			xtrk_oid oid;
			memcpy(oid.id, pi->p.idx + IDX_HDR + i * IDX_ENTRY, XTRK_OID_RAWSZ);
			if (!xtrk_oidset_has(&g->live, &oid))
				dead++;
			else if (!g->o->dry_run && !xtrk_oidset_has(&s->copied, &oid) && !xtrk_oidset_has(&s->elsewhere, &oid))
				keep = 1;
		}
		if (keep) {
			g->r->kept_in_packs += pi->dead;
			continue;
		}
		if (pi->live)
			newbytes = PACK_FILE_HDR + pi->live_bytes + IDX_HDR + pi->live * IDX_ENTRY + 16;
		if (!g->o->dry_run) {
			/* The index first: a pack without one is invisible, and taken at the next gc. */
			if (unlink(pi->idx) < 0 && errno != ENOENT) {
				err = xtrk_error_errno("cannot remove '%s'", pi->idx);
				break;
			}
			unlink(pi->p.path);
			pack_dir_touched = 1;
		}
		g->r->packs_rewritten++;
		g->r->pack_objects_removed += dead;
		if (pi->pack_bytes + pi->idx_bytes > newbytes)
			g->r->pack_bytes += pi->pack_bytes + pi->idx_bytes - newbytes;
		tell(g, XTRK_GC_PACK, pi->p.path, pi->pack_bytes + pi->idx_bytes > newbytes ?
			pi->pack_bytes + pi->idx_bytes - newbytes : 0, dead);
	}
	/* A pack left without its index by an interrupted gc. */
	if (!err) {
		DIR *d;
		struct dirent *de;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/pack", g->odb->dir);
		if (!xtrk_buf_oom(&p) && (d = opendir(p.ptr))) {
			xtrk_buf q = XTRK_BUF_INIT;
			while ((de = readdir(d))) {
				size_t n = strlen(de->d_name);
				struct stat st;
				if (n < 10 || strncmp(de->d_name, "pack-", 5) || strcmp(de->d_name + n - 5, ".pack"))
					continue;
				xtrk_buf_clear(&q);
				xtrk_buf_printf(&q, "%s/%.*s.idx", p.ptr, (int)(n - 5), de->d_name);
				if (xtrk_buf_oom(&q) || lstat(q.ptr, &st) == 0 || errno != ENOENT)
					continue;
				xtrk_buf_clear(&q);
				xtrk_buf_printf(&q, "%s/%s", p.ptr, de->d_name);
				if (xtrk_buf_oom(&q) || lstat(q.ptr, &st) < 0 || !older(&st, g->cutoff))
					continue;
				if (!g->o->dry_run && unlink(q.ptr) < 0)
					continue;
				pack_dir_touched = 1;
				g->r->packs_rewritten++;
				g->r->pack_bytes += (uint64_t)st.st_size;
				tell(g, XTRK_GC_PACK, q.ptr, (uint64_t)st.st_size, 0);
			}
			closedir(d);
			xtrk_buf_dispose(&q);
		}
	}
	/* Expired removed runs that nothing else keeps: their refs go with them. */
	for (size_t i = 0; !err && i < g->nexpired; i++) {
		const char *name = strrchr(g->expired[i], '/') + 1;
		xtrk_oid id;
		if (xtrk_oid_parse(&id, name) == 0 && xtrk_oidset_has(&g->live, &id))
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", xtrk_repo_dir(g->repo), g->expired[i]);
		if (xtrk_buf_oom(&p))
			return xtrk_error_oom();
		if (!g->o->dry_run) {
			if (unlink(p.ptr) < 0) {
				if (errno == ENOENT)
					continue;
				err = xtrk_error_errno("cannot remove '%s'", p.ptr);
				break;
			}
			fsync_parent(p.ptr);
			xtrk_buf_clear(&p);
			xtrk_buf_printf(&p, "%s/refs/partial/%s", xtrk_repo_dir(g->repo), name);
			if (!xtrk_buf_oom(&p) && unlink(p.ptr) == 0)
				fsync_parent(p.ptr);
			if ((err = drop_notes(g, "notes", name)) < 0 || (err = drop_notes(g, "stages", name)) < 0)
				break;
		}
		g->r->removed_runs_expired++;
		tell(g, XTRK_GC_REMOVED_RUN, name, 0, 0);
	}
	if (!err) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/tmp", g->odb->dir);
		if (!xtrk_buf_oom(&p))
			sweep_temp(g, p.ptr, 0);
	}
	/* Deletions made durable; emptied fan-out folders go (no writer can be naming into them now). */
	for (int i = 0; i < 256; i++) {
		if (!touched[i])
			continue;
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%02x", g->odb->dir, i);
		if (xtrk_buf_oom(&p))
			continue;
		if (rmdir(p.ptr) < 0)
			xtrk_fsync_dir(p.ptr);
		else
			xtrk_fsync_dir(g->odb->dir);
	}
	if (pack_dir_touched) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/pack", g->odb->dir);
		if (!xtrk_buf_oom(&p))
			xtrk_fsync_dir(p.ptr);
	}
	xtrk_buf_dispose(&p);
	if (!err)
		xtrk_error_clear();
	return err;
}

static void sweep_dispose(struct sweep *s)
{
	for (size_t k = 0; k < s->npacks; k++) {
		if (s->packs[k].fd >= 0)
			close(s->packs[k].fd);
		if (s->packs[k].p.idx || s->packs[k].p.path)
			odb_pack_close(&s->packs[k].p);
		free(s->packs[k].idx);
	}
	free(s->packs);
	free(s->loose);
	xtrk_oidset_dispose(&s->elsewhere);
	xtrk_oidset_dispose(&s->copied);
}

/*
 * A bare store is a remote that others write into: a link planted anywhere in
 * it must not lead gc's reads or deletions outside it.  Checked before gc
 * starts and again under the exclusive lock, just before it deletes.
 */
static int refuse_links_if_bare(xtrk_repo *repo)
{
	if (!xtrk_store_is_bare(xtrk_repo_dir(repo)))
		return 0;
	return xtrk_refuse_links(xtrk_repo_dir(repo), "the store's folder");
}

int xtrk_gc(xtrk_gc_result *out, xtrk_repo *repo, const xtrk_gc_options *o)
{
	struct gc g;
	struct sweep s;
	struct timespec now;
	int run_fd = -1, gate_fd = -1, txn_fd = -1, err;

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	memset(&s, 0, sizeof(s));
	g.repo = repo;
	g.odb = xtrk_repo_odb(repo);
	g.o = o;
	g.r = out;
	/* Whatever was written since gc started is kept, however old its expiry says it may be. */
	clock_gettime(CLOCK_REALTIME, &now);
	g.cutoff = o->expire < (int64_t)now.tv_sec - 1 ? o->expire : (int64_t)now.tv_sec - 1;

	if ((err = refuse_links_if_bare(repo)) < 0 || (!o->dry_run && (err = odb_lock_gc_run(g.odb, &run_fd)) < 0))
		goto done;
	/* Mark without holding writers up; then whatever changed is marked again under the lock. */
	if ((err = mark_all(&g)) < 0 || (err = scan_loose(&g, &s)) < 0 || (err = scan_packs(&g, &s)) < 0)
		goto done;
	if (!o->dry_run) {
		if ((err = rewrite_packs(&g, &s)) < 0)
			goto done;
		if ((err = odb_lock_exclusive(g.odb, &gate_fd, &txn_fd, o->wait_ms > 0 ? o->wait_ms : 60000)) < 0)
			goto done;
		if ((err = refuse_links_if_bare(repo)) < 0 || (err = mark_all(&g)) < 0)
			goto done;
	}
	err = sweep(&g, &s);
	out->objects_live = g.live.n;
	out->bytes_reclaimed = out->loose_bytes + out->pack_bytes + out->temp_bytes;
done:
	if (err == 0 && !o->dry_run &&
	    (out->loose_removed || out->pack_objects_removed || out->temp_removed || out->removed_runs_expired)) {
		json_t *d = json_pack("{s:I, s:I, s:I, s:I}", "bytes", (json_int_t)out->bytes_reclaimed, "objects",
			(json_int_t)(out->loose_removed + out->pack_objects_removed), "removed_runs_expired",
			(json_int_t)out->removed_runs_expired, "temp_files", (json_int_t)out->temp_removed);
		xtrk_audit_note(repo, "gc", d);
		json_decref(d);
	}
	odb_lock_release(txn_fd);
	odb_lock_release(gate_fd);
	odb_lock_release(run_fd);
	sweep_dispose(&s);
	for (size_t i = 0; i < g.nexpired; i++)
		free(g.expired[i]);
	free(g.expired);
	xtrk_oidset_dispose(&g.live);
	xtrk_oidset_dispose(&g.expired_runs);
	/* The store's pack list is refreshed for whoever reads next. */
	pthread_mutex_lock(&g.odb->lock);
	odb_packs_scan(g.odb, 1);
	pthread_mutex_unlock(&g.odb->lock);
	/* Series read from blobs now gone are not kept either. */
	if (err == 0 && !o->dry_run)
		series_cache_prune(repo);
	return err;
}
