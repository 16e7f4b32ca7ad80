/* Source commits in bundles and remotes: git packs built, received (checked), published and found again. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "fileutil.h"
#include "gitsrc.h"
#include "packscan.h"
#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/tree.h"

#define RECV_CHUNK (256 * 1024)

void xtrk_git_note_oom(void)
{
	const git_error *e = git_error_last();
	if (e && e->klass == GIT_ERROR_NOMEMORY)
		xtrk_oom_note();
}

int xtrk_git_error(const char *what)
{
	const git_error *e = git_error_last();
	xtrk_git_note_oom();
	return xtrk_error_set(XTRK_ERROR, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

struct pack_sink {
	int fd;
	uint64_t size;
	int err;
};

static int pack_chunk(void *buf, size_t size, void *payload)
{
	struct pack_sink *s = payload;
	if ((s->err = xtrk_write_all(s->fd, buf, size, "the source pack")) < 0)
		return -1;
	s->size += size;
	return 0;
}

static int store_source_path(xtrk_buf *out, xtrk_repo *repo);
static int has_commit(git_repository *g, const git_oid *oid);

/* The workspace's git repository (reading the store's source.git too), else the store's source.git alone. */
static int open_sources(git_repository **out, xtrk_repo *repo)
{
	git_repository *g = NULL;
	git_odb *odb = NULL;
	xtrk_buf path = XTRK_BUF_INIT;
	struct stat st;
	int err = 0;

	*out = NULL;
	store_source_path(&path, repo);
	if (git_repository_open_ext(&g, xtrk_repo_workdir(repo), 0, NULL) == 0) {
		xtrk_buf_puts(&path, "/objects");
		if (stat(path.ptr, &st) == 0 && (git_repository_odb(&odb, g) < 0 || git_odb_add_disk_alternate(odb, path.ptr) < 0))
			err = xtrk_git_error("cannot read the store's source commits");
	} else if (git_repository_open_bare(&g, path.ptr) < 0) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not in a git repository and this store holds no source commits",
			xtrk_repo_workdir(repo));
	}
	git_error_clear();
	git_odb_free(odb);
	xtrk_buf_dispose(&path);
	if (err < 0)
		git_repository_free(g);
	else
		*out = g;
	return err;
}

int xtrk_gitsrc_present(xtrk_repo *repo, const char *const *commits, size_t n, unsigned char *present)
{
	git_repository *g = NULL;
	memset(present, 0, n);
	git_libgit2_init();
	if (open_sources(&g, repo) == 0) {
		for (size_t i = 0; i < n; i++) {
			git_oid oid;
			present[i] = git_oid_fromstr(&oid, commits[i]) == 0 && has_commit(g, &oid);
		}
	}
	xtrk_error_clear();
	git_repository_free(g);
	git_libgit2_shutdown();
	return 0;
}

int xtrk_gitpack_build(uint64_t *size_out, int fd, xtrk_repo *repo, const char *const *commits, size_t n)
{
	git_repository *g = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	struct pack_sink sink = { fd, 0, 0 };
	int err = 0;

	git_libgit2_init();
	if ((err = open_sources(&g, repo)) < 0)
		goto done;
	if (git_packbuilder_new(&pb, g) < 0 || git_revwalk_new(&walk, g) < 0) {
		err = xtrk_git_error("cannot start the source pack");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		git_oid oid;
		if (git_oid_fromstr(&oid, commits[i]) < 0 || git_revwalk_push(walk, &oid) < 0) {
			err = xtrk_error_set(XTRK_ENOTFOUND, "commit %s is neither in the git repository at '%s' nor in this "
				"store", commits[i], xtrk_repo_workdir(repo));
			goto done;
		}
	}
	if (git_packbuilder_insert_walk(pb, walk) < 0) {
		err = xtrk_git_error("cannot collect the source commits");
		goto done;
	}
	if (git_packbuilder_foreach(pb, pack_chunk, &sink) < 0) {
		err = sink.err ? sink.err : xtrk_git_error("cannot write the source pack");
		goto done;
	}
	*size_out = sink.size;
done:
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	git_repository_free(g);
	git_libgit2_shutdown();
	return err;
}

struct xtrk_gitpack_indexer {
	git_indexer *ix;
	git_indexer_progress progress; /* libgit2 keeps its counts here across calls */
	char *dir;
};

int xtrk_gitpack_indexer_new(xtrk_gitpack_indexer **out, const char *dir)
{
	xtrk_gitpack_indexer *ix = calloc(1, sizeof(*ix));
	git_indexer_options o = GIT_INDEXER_OPTIONS_INIT;
	*out = NULL;
	if (!ix || !(ix->dir = strdup(dir))) {
		free(ix);
		return xtrk_error_oom();
	}
	o.verify = 1;
	git_libgit2_init();
	if (git_indexer_new(&ix->ix, dir, 0444, NULL, &o) < 0) {
		xtrk_gitpack_indexer_free(ix);
		return xtrk_git_error("cannot index the source pack");
	}
	*out = ix;
	return 0;
}

int xtrk_gitpack_indexer_append(xtrk_gitpack_indexer *ix, const void *data, size_t len)
{
	if (git_indexer_append(ix->ix, data, len, &ix->progress) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "the source pack is damaged: %s",
			git_error_last() ? git_error_last()->message : "unreadable");
	return 0;
}

int xtrk_gitpack_indexer_commit(xtrk_gitpack_indexer *ix, xtrk_buf *pack_out)
{
	if (git_indexer_commit(ix->ix, &ix->progress) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "the source pack is damaged: %s",
			git_error_last() ? git_error_last()->message : "unreadable");
	xtrk_buf_clear(pack_out);
	return xtrk_buf_printf(pack_out, "%s/pack-%s.pack", ix->dir, git_indexer_name(ix->ix));
}

void xtrk_gitpack_indexer_free(xtrk_gitpack_indexer *ix)
{
	if (!ix)
		return;
	git_indexer_free(ix->ix);
	free(ix->dir);
	free(ix);
	git_libgit2_shutdown();
}

/* ---- receiving a pack from untrusted hands ---- */

struct xtrk_gitpack_recv {
	xtrk_gitpack_indexer *ix;
	xtrk_packscan *scan;
	uint64_t size, seen;
	unsigned char head[12];
};

int xtrk_gitpack_recv_new(xtrk_gitpack_recv **out, const char *dir, uint64_t size)
{
	xtrk_gitpack_recv *r = calloc(1, sizeof(*r));
	int err;
	*out = NULL;
	if (!r)
		return xtrk_error_oom();
	r->size = size;
	if ((err = xtrk_packscan_new(&r->scan, XTRK_BUNDLE_MAX_GIT_OBJECT, XTRK_BUNDLE_MAX_GIT_TOTAL)) < 0 ||
	    (err = xtrk_gitpack_indexer_new(&r->ix, dir)) < 0) {
		xtrk_gitpack_recv_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int xtrk_gitpack_recv_feed(xtrk_gitpack_recv *r, const void *data, size_t len)
{
	int err;
	if (r->seen < sizeof(r->head)) {
		size_t k = len < sizeof(r->head) - r->seen ? len : sizeof(r->head) - r->seen;
		memcpy(r->head + r->seen, data, k);
		/*
		 * The pack header's object count sizes libgit2's tables: a count the
		 * pack cannot hold (every object takes at least 9 bytes) is refused
		 * before libgit2 sees it.
		 */
		if (r->seen + k == sizeof(r->head) &&
		    (memcmp(r->head, "PACK", 4) || ((uint64_t)r->head[8] << 24 | (uint64_t)r->head[9] << 16 |
							   (uint64_t)r->head[10] << 8 | r->head[11]) > r->size / 9))
			return xtrk_error_set(XTRK_EINVALID, "not a git pack, or it declares more objects than it can hold");
	}
	if (len > r->size - r->seen)
		return xtrk_error_set(XTRK_EINVALID, "more than the %llu bytes it was declared to hold",
			(unsigned long long)r->size);
	r->seen += len;
	/* Each object's declared size is checked before libgit2 inflates it. */
	if ((err = xtrk_packscan_feed(r->scan, data, len)) < 0)
		return err;
	return xtrk_gitpack_indexer_append(r->ix, data, len);
}

int xtrk_gitpack_recv_finish(xtrk_gitpack_recv *r, xtrk_buf *pack_out)
{
	if (r->seen < sizeof(r->head))
		return xtrk_error_set(XTRK_EINVALID, "not a git pack, or it declares more objects than it can hold");
	if (r->seen != r->size)
		return xtrk_error_set(XTRK_ECORRUPT, "%llu bytes where %llu were declared (truncated?)",
			(unsigned long long)r->seen, (unsigned long long)r->size);
	return xtrk_gitpack_indexer_commit(r->ix, pack_out);
}

void xtrk_gitpack_recv_free(xtrk_gitpack_recv *r)
{
	if (!r)
		return;
	xtrk_gitpack_indexer_free(r->ix);
	xtrk_packscan_free(r->scan);
	free(r);
}

int xtrk_gitpack_receive_fd(xtrk_buf *pack_out, const char *dir, int fd, uint64_t size)
{
	xtrk_gitpack_recv *r = NULL;
	unsigned char *chunk = malloc(RECV_CHUNK);
	ssize_t n;
	int err;

	if (!chunk)
		return xtrk_error_oom();
	if ((err = xtrk_gitpack_recv_new(&r, dir, size)) < 0)
		goto done;
	while ((n = xtrk_read_full(fd, chunk, RECV_CHUNK, "the source pack")) > 0)
		if ((err = xtrk_gitpack_recv_feed(r, chunk, (size_t)n)) < 0)
			goto done;
	err = n < 0 ? (int)n : xtrk_gitpack_recv_finish(r, pack_out);
done:
	xtrk_gitpack_recv_free(r);
	free(chunk);
	return err;
}

int xtrk_gitpack_receive_file(xtrk_buf *pack_out, const char *dir, const char *path)
{
	struct stat st;
	int fd, err;

	/* Never through a link, never a device or a pipe: only a file whose size is known before reading it. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return xtrk_error_errno("cannot open the source pack '%s'", path);
	if (fstat(fd, &st) < 0) {
		err = xtrk_error_errno("cannot read the source pack '%s'", path);
	} else if (!S_ISREG(st.st_mode)) {
		err = xtrk_error_set(XTRK_EINVALID, "not a regular file");
	} else if ((uint64_t)st.st_size > XTRK_BUNDLE_MAX_GIT_TOTAL) {
		err = xtrk_error_set(XTRK_EINVALID, "%llu bytes, more than the limit of %llu MiB for a source pack "
			"(refused unread)", (unsigned long long)st.st_size,
			(unsigned long long)(XTRK_BUNDLE_MAX_GIT_TOTAL >> 20));
	} else {
		err = xtrk_gitpack_receive_fd(pack_out, dir, fd, (uint64_t)st.st_size);
	}
	close(fd);
	return err;
}

/* A pack name as git writes it: pack-<hex>.pack or .idx. */
static int pack_name(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix), i;
	if (n <= 5 + k || n > 5 + 64 + k || strncmp(name, "pack-", 5) || strcmp(name + n - k, suffix))
		return 0;
	for (i = 5; i < n - k; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return 0;
	return 1;
}

static int regular_file(const char *path, uint64_t max)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= max;
}

struct claims {
	git_oid *want;    /* sorted */
	size_t n;
	unsigned char *hit;
};

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Every ID the pack's index lists: the pack itself is not read (it is received and checked whole if chosen). */
static int claim(const git_oid *id, void *payload)
{
	struct claims *c = payload;
	git_oid *at = bsearch(id, c->want, c->n, sizeof(*c->want), oid_cmp);
	if (at)
		c->hit[at - c->want] = 1;
	return 0;
}

int xtrk_gitpack_locate(char **found, const char *store_dir, const char *const *commits, size_t n)
{
	xtrk_buf dir = XTRK_BUF_INIT, idx = XTRK_BUF_INIT, pack = XTRK_BUF_INIT;
	struct claims c = { calloc(n + 1, sizeof(git_oid)), 0, calloc(n + 1, 1) };
	size_t left = n, packs = 0;
	struct dirent *de;
	DIR *d = NULL;
	int err = 0;

	memset(found, 0, n * sizeof(*found));
	if (!c.want || !c.hit) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (git_oid_fromstr(&c.want[c.n], commits[i]) == 0)
			c.n++;
	qsort(c.want, c.n, sizeof(*c.want), oid_cmp);
	if (xtrk_buf_printf(&dir, "%s/source.git/objects/pack", store_dir) < 0) {
		err = XTRK_ERROR;
		goto done;
	}
	if (!(d = opendir(dir.ptr))) {
		if (errno != ENOENT && errno != ENOTDIR)
			err = xtrk_error_errno("cannot read '%s'", dir.ptr);
		goto done;
	}
	git_libgit2_init();
	while (left && !err && (de = readdir(d))) {
		git_odb *odb = NULL;
		git_odb_backend *b = NULL;
		if (!pack_name(de->d_name, ".idx"))
			continue;
		if (++packs > XTRK_GITPACK_MAX_PACKS) {
			err = xtrk_error_set(XTRK_EINVALID, "'%s' holds more than %d source packs; refusing to search them",
				dir.ptr, XTRK_GITPACK_MAX_PACKS);
			break;
		}
		xtrk_buf_clear(&idx);
		xtrk_buf_clear(&pack);
		xtrk_buf_printf(&idx, "%s/%s", dir.ptr, de->d_name);
		xtrk_buf_printf(&pack, "%s/%.*s.pack", dir.ptr, (int)(strlen(de->d_name) - 4), de->d_name);
		if (xtrk_buf_oom(&idx) || xtrk_buf_oom(&pack)) {
			err = XTRK_ERROR;
			break;
		}
		/*
		 * libgit2 would open a pipe and wait on it: only plain files are read.  Listing an
		 * index costs memory in proportion to its entries: one past the limit is left alone.
		 */
		if (!regular_file(idx.ptr, XTRK_GITPACK_MAX_INDEX) || !regular_file(pack.ptr, UINT64_MAX))
			continue;
		memset(c.hit, 0, c.n);
		if (git_odb_new(&odb) == 0 && git_odb_backend_one_pack(&b, idx.ptr) == 0) {
			if (git_odb_add_backend(odb, b, 1) < 0)
				b->free(b);
			else
				git_odb_foreach(odb, claim, &c);
		}
		git_odb_free(odb);
		git_error_clear();
		for (size_t i = 0; i < n && !err; i++) {
			git_oid oid;
			git_oid *at;
			if (found[i] || git_oid_fromstr(&oid, commits[i]) < 0 ||
			    !(at = bsearch(&oid, c.want, c.n, sizeof(*c.want), oid_cmp)) || !c.hit[at - c.want])
				continue;
			if (!(found[i] = strdup(pack.ptr)))
				err = xtrk_error_oom();
			left--;
		}
	}
	git_libgit2_shutdown();
done:
	if (d)
		closedir(d);
	if (err < 0)
		for (size_t i = 0; i < n; i++) {
			free(found[i]);
			found[i] = NULL;
		}
	free(c.want);
	free(c.hit);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&idx);
	xtrk_buf_dispose(&pack);
	return err;
}

static int idx_path(xtrk_buf *out, const char *pack_path)
{
	size_t n = strlen(pack_path);
	xtrk_buf_clear(out);
	if (n < 5 || strcmp(pack_path + n - 5, ".pack"))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a pack file name", pack_path);
	return xtrk_buf_printf(out, "%.*s.idx", (int)(n - 5), pack_path);
}

int xtrk_gitpack_has_commit(const char *pack_path, const char *hex)
{
	git_odb *odb = NULL;
	git_odb_backend *b = NULL;
	xtrk_buf idx = XTRK_BUF_INIT;
	git_oid oid;
	git_object_t type;
	size_t len;
	int has = 0;

	git_libgit2_init();
	if (idx_path(&idx, pack_path) < 0 || git_oid_fromstr(&oid, hex) < 0)
		goto done;
	if (git_odb_new(&odb) < 0 || git_odb_backend_one_pack(&b, idx.ptr) < 0)
		goto done;
	if (git_odb_add_backend(odb, b, 1) < 0) {
		b->free(b);
		goto done;
	}
	has = git_odb_read_header(&len, &type, odb, &oid) == 0 && type == GIT_OBJECT_COMMIT;
done:
	git_odb_free(odb);
	xtrk_buf_dispose(&idx);
	git_error_clear();
	git_libgit2_shutdown();
	return has;
}

static int store_source_path(xtrk_buf *out, xtrk_repo *repo)
{
	xtrk_buf_clear(out);
	return xtrk_buf_printf(out, "%s/source.git", xtrk_repo_dir(repo));
}

int xtrk_gitpack_publish(xtrk_repo *repo, const char *pack_path)
{
	xtrk_buf dir = XTRK_BUF_INIT, src_idx = XTRK_BUF_INIT, dst = XTRK_BUF_INIT;
	git_repository *g = NULL;
	const char *base = strrchr(pack_path, '/');
	int err;

	base = base ? base + 1 : pack_path;
	if ((err = store_source_path(&dir, repo)) < 0)
		goto done;
	if (git_repository_open_bare(&g, dir.ptr) < 0 && git_repository_init(&g, dir.ptr, 1) < 0) {
		err = xtrk_git_error("cannot create .xtrk/source.git");
		goto done;
	}
	if ((err = xtrk_buf_printf(&dir, "/objects/pack")) < 0 || (err = xtrk_mkdir_p(dir.ptr)) < 0 ||
	    (err = idx_path(&src_idx, pack_path)) < 0)
		goto done;
	/* The pack first, its index last: git finds packs through their indexes. */
	xtrk_buf_printf(&dst, "%s/%s", dir.ptr, base);
	if (rename(pack_path, dst.ptr) < 0) {
		err = xtrk_error_errno("cannot move the source pack into '%s'", dir.ptr);
		goto done;
	}
	xtrk_buf_clear(&dst);
	xtrk_buf_printf(&dst, "%s/%.*s.idx", dir.ptr, (int)(strlen(base) - 5), base);
	if (rename(src_idx.ptr, dst.ptr) < 0) {
		err = xtrk_error_errno("cannot move the source pack index into '%s'", dir.ptr);
		goto done;
	}
	err = xtrk_fsync_dir(dir.ptr);
done:
	git_repository_free(g);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&src_idx);
	xtrk_buf_dispose(&dst);
	return err;
}

static int has_commit(git_repository *g, const git_oid *oid)
{
	git_commit *c = NULL;
	int ok = git_commit_lookup(&c, g, oid) == 0;
	git_commit_free(c);
	git_error_clear();
	return ok;
}

/* Copy a commit and its history from the store's source.git into the workspace's repository. */
static int copy_into(git_repository *g, const git_oid *oid)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	xtrk_buf dir = XTRK_BUF_INIT;
	int err = 0;

	xtrk_buf_printf(&dir, "%sobjects/pack", git_repository_path(g));
	if (git_packbuilder_new(&pb, g) < 0 || git_revwalk_new(&walk, g) < 0 || git_revwalk_push(walk, oid) < 0 ||
	    git_packbuilder_insert_walk(pb, walk) < 0 || git_packbuilder_write(pb, dir.ptr, 0, NULL, NULL) < 0)
		err = xtrk_git_error("cannot copy the bundled source commit into the git repository");
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	xtrk_buf_dispose(&dir);
	return err;
}

int xtrk_gitsrc_open(git_repository **out, xtrk_repo *repo, const char *hex, int in_place)
{
	git_repository *ws = NULL, *store = NULL;
	xtrk_buf path = XTRK_BUF_INIT;
	git_odb *odb = NULL;
	git_oid oid;
	int err = 0;

	*out = NULL;
	if (git_oid_fromstr(&oid, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' is not a git commit ID", hex);
	if (git_repository_open_ext(&ws, xtrk_repo_workdir(repo), 0, NULL) < 0)
		ws = NULL;
	if (ws && has_commit(ws, &oid)) {
		*out = ws;
		return 0;
	}
	store_source_path(&path, repo);
	if (git_repository_open_bare(&store, path.ptr) < 0 || !has_commit(store, &oid)) {
		git_error_clear();
		err = xtrk_error_set(XTRK_ENOTFOUND,
			ws ? "commit %s is not in this git repository; fetch it, pull the run from a remote it was pushed to "
			     "with its source, or ask for it as a bundle made with 'xtrk bundle create --with-source'"
			   : "commit %s is not here: '%s' is not in a git repository and no bundle or pull brought that commit; "
			     "pull the run from a remote it was pushed to with its source, or ask for it as a bundle made with "
			     "'xtrk bundle create --with-source'",
			hex, xtrk_repo_workdir(repo));
		goto done;
	}
	if (!ws) {
		if (in_place) {
			err = xtrk_error_set(XTRK_EINVALID, "'%s' is not a git repository, so the source of commit %.12s "
				"cannot be checked out in place; use 'xtrk checkout RUN -C DIR'", xtrk_repo_workdir(repo), hex);
			goto done;
		}
		*out = store;
		store = NULL;
		goto done;
	}
	xtrk_buf_printf(&path, "/objects");
	if (git_repository_odb(&odb, ws) < 0 || git_odb_add_disk_alternate(odb, path.ptr) < 0) {
		err = xtrk_git_error("cannot read the bundled source");
		goto done;
	}
	/* Nothing goes into the workspace's repository from a source that checkout would refuse. */
	if (in_place && ((err = xtrk_gitsrc_check_commit(store, &oid)) < 0 || (err = copy_into(ws, &oid)) < 0))
		goto done;
	*out = ws;
	ws = NULL;
done:
	git_odb_free(odb);
	git_repository_free(ws);
	git_repository_free(store);
	xtrk_buf_dispose(&path);
	return err;
}

/* ---- paths a source tree or patch would write ---- */

static int path_refused(const char *what, const char *path, const char *why)
{
	char shown[320];
	return xtrk_error_set(XTRK_EINVALID, "%s names '%s', %s: refused, nothing is written from it", what,
		xtrk_path_shown(shown, sizeof(shown), path), why);
}

static int walk_paths(git_repository *g, const git_oid *tree_id, xtrk_buf *path, size_t depth)
{
	git_tree *t = NULL;
	size_t base = path->size;
	int err = 0;

	if (depth > XTRK_PATH_MAX / 2)
		return xtrk_error_set(XTRK_EINVALID, "the source tree is nested deeper than a path can be: refused");
	if (git_tree_lookup(&t, g, tree_id) < 0)
		return xtrk_git_error("cannot read a tree of the source");
	for (size_t i = 0; i < git_tree_entrycount(t) && !err; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *why;
		xtrk_buf_truncate(path, base);
		if ((err = xtrk_buf_printf(path, "%s%s", base ? "/" : "", git_tree_entry_name(e))) < 0)
			break;
		if ((why = xtrk_path_unsafe(path->ptr))) {
			err = path_refused("the source tree", path->ptr, why);
			break;
		}
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			err = walk_paths(g, git_tree_entry_id(e), path, depth + 1);
	}
	xtrk_buf_truncate(path, base);
	git_tree_free(t);
	return err;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int xtrk_gitsrc_check_index(git_index *ix)
{
	size_t n = git_index_entrycount(ix);
	const char **paths = calloc(n + 1, sizeof(*paths));
	char *prefix = malloc(XTRK_PATH_MAX + 1);
	int err = 0;

	if (!paths || !prefix) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why;
		paths[i] = git_index_get_byindex(ix, i)->path;
		if ((why = xtrk_path_unsafe(paths[i]))) {
			err = path_refused("the source", paths[i], why);
			goto done;
		}
	}
	qsort(paths, n, sizeof(*paths), str_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(paths[i - 1], paths[i])) {
			err = path_refused("the source", paths[i], "twice");
			goto done;
		}
		/* A file (or link) whose name is also a folder of another: writing one would go through the other. */
		for (const char *s = strchr(paths[i], '/'); s; s = strchr(s + 1, '/')) {
			const char *key = prefix;
			memcpy(prefix, paths[i], (size_t)(s - paths[i]));
			prefix[s - paths[i]] = '\0';
			if (bsearch(&key, paths, n, sizeof(*paths), str_cmp)) {
				err = path_refused("the source", paths[i], "below a file or link of the same source");
				goto done;
			}
		}
	}
done:
	free(paths);
	free(prefix);
	return err;
}

int xtrk_gitsrc_check_commit(git_repository *g, const git_oid *commit)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_index *ix = NULL;
	xtrk_buf path = XTRK_BUF_INIT;
	int err;

	if (git_commit_lookup(&c, g, commit) < 0)
		return xtrk_git_error("cannot read the source commit");
	if ((err = walk_paths(g, git_commit_tree_id(c), &path, 0)) < 0)
		goto done;
	if (git_commit_tree(&t, c) < 0 || git_index_new(&ix) < 0 || git_index_read_tree(ix, t) < 0) {
		err = xtrk_git_error("cannot read the source tree");
		goto done;
	}
	err = xtrk_gitsrc_check_index(ix);
done:
	git_index_free(ix);
	git_tree_free(t);
	git_commit_free(c);
	xtrk_buf_dispose(&path);
	return err;
}

int xtrk_gitsrc_check_diff(git_diff *d)
{
	for (size_t i = 0; i < git_diff_num_deltas(d); i++) {
		const git_diff_delta *e = git_diff_get_delta(d, i);
		const char *paths[2] = { e->old_file.path, e->new_file.path }, *why;
		for (int k = 0; k < 2; k++)
			if ((why = xtrk_path_unsafe(paths[k] ? paths[k] : "")))
				return path_refused("the recorded patch", paths[k] ? paths[k] : "", why);
	}
	return 0;
}

int xtrk_gitsrc_check_patch(const void *patch, size_t len)
{
	git_diff *d = NULL;
	int err;

	git_libgit2_init();
	if (git_diff_from_buffer(&d, patch, len) < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "the recorded patch cannot be read: %s",
			git_error_last() && git_error_last()->message ? git_error_last()->message : "not a git diff");
		git_error_clear();
	} else {
		err = xtrk_gitsrc_check_diff(d);
	}
	git_diff_free(d);
	git_libgit2_shutdown();
	return err;
}

int xtrk_gitpack_check_commit(const char *pack_path, const char *hex)
{
	git_odb *odb = NULL;
	git_odb_backend *b = NULL;
	git_repository *g = NULL;
	xtrk_buf idx = XTRK_BUF_INIT;
	git_oid oid;
	int err = 0;

	git_libgit2_init();
	if ((err = idx_path(&idx, pack_path)) < 0)
		goto done;
	if (git_oid_fromstr(&oid, hex) < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "'%s' is not a git commit ID", hex);
		goto done;
	}
	if (git_odb_new(&odb) < 0 || git_odb_backend_one_pack(&b, idx.ptr) < 0) {
		err = xtrk_git_error("cannot open the source pack");
		goto done;
	}
	if (git_odb_add_backend(odb, b, 1) < 0) {
		b->free(b);
		err = xtrk_git_error("cannot open the source pack");
		goto done;
	}
	if (git_repository_wrap_odb(&g, odb) < 0) {
		err = xtrk_git_error("cannot open the source pack");
		goto done;
	}
	err = xtrk_gitsrc_check_commit(g, &oid);
done:
	git_repository_free(g);
	git_odb_free(odb);
	xtrk_buf_dispose(&idx);
	git_error_clear();
	git_libgit2_shutdown();
	return err;
}
