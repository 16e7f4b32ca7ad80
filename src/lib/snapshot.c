/* Snapshot a file or folder of the workspace into blobs and trees, hashing files in parallel. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "statcache.h"
#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/snapshot.h"
#include "xtrk/statcache.h"
#include "xtrk/tree.h"

struct snode {
	char *name;      /* owned */
	char *path;      /* workspace-relative; files and links only; owned */
	xtrk_entry_kind kind;
	unsigned mode;
	int need_stat;   /* type known from readdir; the worker stats it */
	int follow;      /* a link recorded as its target's content */
	xtrk_statinfo st;
	xtrk_oid id;
	uint64_t bytes, files;
	struct snode *kids;
	size_t nkids;
};

struct walk {
	xtrk_repo *repo;
	xtrk_txn *txn;
	const xtrk_snapshot_options *opts;
	struct snode **jobs; /* files and links to hash */
	size_t njobs, ajobs;
	size_t next;         /* next job, taken atomically */
	uint64_t bytes_done, files_done, hashed_files, hashed_bytes;
	pthread_mutex_t lock;
	int err;
	char errmsg[1024];
	char *root_real;     /* the snapshot's root, resolved */
	struct stat dirs[64]; /* the folders being walked, root first: a followed link must not loop */
	size_t ndirs;
};

static void node_free(struct snode *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->path);
}

static int add_job(struct walk *w, struct snode *n)
{
	if (w->njobs == w->ajobs) {
		size_t na = w->ajobs ? w->ajobs * 2 : 1024;
		struct snode **p = realloc(w->jobs, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		w->jobs = p;
		w->ajobs = na;
	}
	w->jobs[w->njobs++] = n;
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct snode *)a)->name, ((const struct snode *)b)->name);
}

static int classify(struct walk *w, struct snode *n, const struct stat *st, const char *rel)
{
	xtrk_statinfo_from(&n->st, st);
	n->need_stat = 0;
	if (S_ISREG(st->st_mode)) {
		n->kind = XTRK_ENTRY_BLOB;
		n->mode = (st->st_mode & 0111) ? 0100755 : 0100644;
	} else if (S_ISLNK(st->st_mode)) {
		n->kind = XTRK_ENTRY_LINK;
		n->mode = 0120000;
	} else if (S_ISDIR(st->st_mode)) {
		n->kind = XTRK_ENTRY_TREE;
		n->mode = 040000;
		return 0;
	} else {
		return xtrk_error_set(XTRK_EINVALID,
			"'%s' is a device, FIFO or socket; xtrk records only files, folders and links", rel);
	}
	n->files = 1;
	if (!n->path && !(n->path = strdup(rel)))
		return xtrk_error_oom();
	return 0;
}

/*
 * A link inside the snapshot: one whose target lies inside the snapshot's
 * root stays a link (the target's content is recorded anyway); one leading
 * outside is followed and its target's content recorded, with a warning, so
 * that the data the run used is what is kept; a dangling one stays a link,
 * with a warning.
 */
static int resolve_link(struct walk *w, struct snode *n, const char *rel, const char *abs)
{
	char target[4096], *real = realpath(abs, NULL);
	ssize_t len = readlink(abs, target, sizeof(target) - 1);
	size_t rl = strlen(w->root_real);
	struct stat st;

	target[len > 0 ? len : 0] = '\0';
	if (!real || stat(abs, &st) < 0) {
		free(real);
		if (!w->opts->quiet)
			xtrk_warning_add("'%s' is a symbolic link to '%s', which does not exist; recorded as a link", rel, target);
		return 0;
	}
	if (!strncmp(real, w->root_real, rl) && (real[rl] == '/' || real[rl] == '\0')) {
		free(real);
		return 0;
	}
	free(real);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is a symbolic link to '%s', which is not a file or folder", rel,
			target);
	for (size_t i = 0; S_ISDIR(st.st_mode) && i < w->ndirs; i++)
		if (w->dirs[i].st_dev == st.st_dev && w->dirs[i].st_ino == st.st_ino)
			return xtrk_error_set(XTRK_EINVALID,
				"'%s' is a symbolic link to '%s', a folder that holds it: it would be recorded forever", rel,
				target);
	if (!w->opts->quiet)
		xtrk_warning_add("'%s' is a symbolic link to '%s', outside the recorded folder: recorded the content of its "
		"target", rel, target);
	n->follow = 1;
	if (!n->path && !(n->path = strdup(rel)))
		return xtrk_error_oom();
	return classify(w, n, &st, rel);
}

/* Build the node list of one folder, recursively. */
static int walk_dir(struct walk *w, struct snode *dir, const char *rel)
{
	xtrk_buf abs = XTRK_BUF_INIT, child = XTRK_BUF_INIT, target = XTRK_BUF_INIT;
	struct stat self;
	DIR *d;
	struct dirent *de;
	size_t alloc = 0;
	int err = 0, dfd;

	xtrk_buf_printf(&abs, "%s/%s", xtrk_repo_workdir(w->repo), rel);
	if (xtrk_buf_oom(&abs))
		return XTRK_ERROR;
	if (!(d = opendir(abs.ptr))) {
		err = xtrk_error_errno("cannot read folder '%s'", rel);
		xtrk_buf_dispose(&abs);
		return err;
	}
	dfd = dirfd(d);
	if (fstat(dfd, &self) < 0 || w->ndirs == sizeof(w->dirs) / sizeof(*w->dirs)) {
		err = fstat(dfd, &self) < 0 ? xtrk_error_errno("cannot stat folder '%s'", rel)
					    : xtrk_error_set(XTRK_EINVALID, "'%s': folders nested too deep through links", rel);
		closedir(d);
		xtrk_buf_dispose(&abs);
		return err;
	}
	w->dirs[w->ndirs++] = self;
	while ((de = readdir(d))) {
		struct stat st;
		struct snode *n;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".xtrk") || !strcmp(de->d_name, ".git"))
			continue;
		if (strchr(de->d_name, '\n')) {
			err = xtrk_error_set(XTRK_EINVALID, "'%s/%s': file names with a newline cannot be recorded",
				rel, de->d_name);
			break;
		}
		if (dir->nkids == alloc) {
			size_t na = alloc ? alloc * 2 : 16;
			struct snode *p = realloc(dir->kids, na * sizeof(*p));
			if (!p) {
				err = xtrk_error_oom();
				break;
			}
			dir->kids = p;
			alloc = na;
		}
		n = &dir->kids[dir->nkids];
		memset(n, 0, sizeof(*n));
		if (!(n->name = strdup(de->d_name))) {
			err = xtrk_error_oom();
			break;
		}
		dir->nkids++;
		xtrk_buf_clear(&child);
		if (!strcmp(rel, "."))
			xtrk_buf_puts(&child, de->d_name);
		else
			xtrk_buf_printf(&child, "%s/%s", rel, de->d_name);
		if (xtrk_buf_oom(&child)) {
			err = XTRK_ERROR;
			break;
		}
		/*
		 * readdir already says what most entries are: files and links are
		 * stat'ed later by the hashing threads, in parallel, instead of here.
		 */
		if (de->d_type == DT_LNK) {
			n->kind = XTRK_ENTRY_LINK;
			n->need_stat = 1;
			n->files = 1;
			xtrk_buf_clear(&target);
			xtrk_buf_printf(&target, "%s/%s", abs.ptr, de->d_name);
			if ((err = xtrk_buf_oom(&target) ? XTRK_ERROR : resolve_link(w, n, child.ptr, target.ptr)) < 0)
				break;
			if (!n->path && !(n->path = strdup(child.ptr))) {
				err = xtrk_error_oom();
				break;
			}
			continue;
		}
		if (de->d_type == DT_REG) {
			n->kind = XTRK_ENTRY_BLOB;
			n->need_stat = 1;
			n->files = 1;
			if (!(n->path = strdup(child.ptr))) {
				err = xtrk_error_oom();
				break;
			}
			continue;
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = xtrk_error_errno("cannot stat '%s/%s'", rel, de->d_name);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			xtrk_buf_clear(&target);
			xtrk_buf_printf(&target, "%s/%s", abs.ptr, de->d_name);
			if ((err = classify(w, n, &st, child.ptr)) < 0 ||
			    (err = xtrk_buf_oom(&target) ? XTRK_ERROR : resolve_link(w, n, child.ptr, target.ptr)) < 0)
				break;
			continue;
		}
		if ((err = classify(w, n, &st, child.ptr)) < 0)
			break;
	}
	closedir(d);
	/* Jobs hold pointers into kids, so queue them only once the array is final. */
	if (!err && dir->nkids)
		xtrk_sort(dir->kids, dir->nkids, sizeof(*dir->kids), cmp_node);
	xtrk_buf_dispose(&abs);
	for (size_t i = 0; !err && i < dir->nkids; i++) {
		struct snode *n = &dir->kids[i];
		if (n->kind != XTRK_ENTRY_TREE) {
			err = add_job(w, n);
			continue;
		}
		xtrk_buf_clear(&child);
		if (!strcmp(rel, "."))
			xtrk_buf_puts(&child, n->name);
		else
			xtrk_buf_printf(&child, "%s/%s", rel, n->name);
		err = xtrk_buf_oom(&child) ? XTRK_ERROR : walk_dir(w, n, child.ptr);
	}
	w->ndirs--;
	xtrk_buf_dispose(&child);
	xtrk_buf_dispose(&target);
	return err;
}

/* Hash and store one file or link. */
static int do_job(struct walk *w, struct snode *n, xtrk_buf *abs)
{
	xtrk_statcache *cache = w->opts->cache;
	struct stat st;
	int fd, err;

	xtrk_buf_clear(abs);
	if (xtrk_buf_printf(abs, "%s/%s", xtrk_repo_workdir(w->repo), n->path) < 0)
		return XTRK_ERROR;
	if (n->need_stat && !n->follow) {
		xtrk_entry_kind seen = n->kind;
		if (lstat(abs->ptr, &st) < 0)
			return xtrk_error_errno("cannot stat '%s'", n->path);
		if (classify(w, n, &st, n->path) < 0)
			return XTRK_EINVALID;
		if (n->kind != seen)
			return xtrk_error_set(XTRK_EINVALID, "'%s' changed while it was being read", n->path);
	}
	if (n->kind == XTRK_ENTRY_LINK) {
		char target[4096];
		ssize_t len = readlink(abs->ptr, target, sizeof(target));
		if (len < 0)
			return xtrk_error_errno("cannot read link '%s'", n->path);
		n->bytes = (uint64_t)len;
		return xtrk_txn_write(&n->id, w->txn, XTRK_OBJ_BLOB, target, (size_t)len);
	}
	if (xtrk_statcache_lookup(&n->id, cache, n->path, &n->st) && xtrk_odb_exists(xtrk_repo_odb(w->repo), &n->id)) {
		n->bytes = n->st.size;
		return 0;
	}
	/* A file swapped for a FIFO or device since it was listed is refused, not waited on. */
	if ((fd = xtrk_open_regular(abs->ptr, !n->follow)) < 0)
		return fd;
	err = xtrk_txn_write_fd(&n->id, &n->bytes, w->txn, fd, n->path);
	/* Record what we read against the stat from when we opened it. */
	if (err == 0 && fstat(fd, &st) == 0) {
		xtrk_statinfo now;
		xtrk_statinfo_from(&now, &st);
		if (now.size == n->bytes && now.mtime_ns == n->st.mtime_ns && now.ino == n->st.ino) {
			n->st = now;
			err = xtrk_statcache_record(cache, n->path, &n->st, &n->id);
		}
	}
	close(fd);
	__atomic_add_fetch(&w->hashed_files, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->hashed_bytes, n->bytes, __ATOMIC_RELAXED);
	return err;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct worker_arg {
	struct walk *w;
	int report; /* the one thread that calls the progress callback */
};

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct walk *w = a->w;
	xtrk_buf abs = XTRK_BUF_INIT;
	int64_t last = mono_ms();

	for (;;) {
		size_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED);
		int err;
		if (i >= w->njobs || __atomic_load_n(&w->err, __ATOMIC_RELAXED))
			break;
		err = do_job(w, w->jobs[i], &abs);
		if (err < 0) {
			pthread_mutex_lock(&w->lock);
			if (!w->err) {
				w->err = err;
				snprintf(w->errmsg, sizeof(w->errmsg), "%s", xtrk_error_last());
			}
			pthread_mutex_unlock(&w->lock);
			break;
		}
		__atomic_add_fetch(&w->files_done, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->bytes_done, w->jobs[i]->bytes, __ATOMIC_RELAXED);
		if (a->report && w->opts->progress && mono_ms() - last >= 200) {
			last = mono_ms();
			w->opts->progress(__atomic_load_n(&w->bytes_done, __ATOMIC_RELAXED),
				__atomic_load_n(&w->files_done, __ATOMIC_RELAXED), w->opts->payload);
		}
	}
	xtrk_buf_dispose(&abs);
	return NULL;
}

static int run_jobs(struct walk *w)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = w->opts->threads > 0 ? w->opts->threads : (int)(cores > 8 ? 8 : cores < 1 ? 1 : cores);
	pthread_t tids[64];
	struct worker_arg args[64];
	int started = 0;

	if ((size_t)nthreads > w->njobs)
		nthreads = w->njobs ? (int)w->njobs : 1;
	if (nthreads > 64)
		nthreads = 64;
	for (int i = 1; i < nthreads; i++) {
		args[i].w = w;
		args[i].report = 0;
		if (pthread_create(&tids[i], NULL, worker, &args[i]) != 0)
			break;
		started = i;
	}
	args[0].w = w;
	args[0].report = 1;
	worker(&args[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	if (w->err)
		return xtrk_error_set(w->err, "%s", w->errmsg);
	return 0;
}

/* Write tree objects bottom-up; sums bytes and files. */
static int build_tree(struct walk *w, struct snode *dir)
{
	xtrk_buf text = XTRK_BUF_INIT;
	int err = 0;

	dir->bytes = dir->files = 0;
	for (size_t i = 0; i < dir->nkids; i++) {
		struct snode *n = &dir->kids[i];
		xtrk_tree_entry e;
		if (n->kind == XTRK_ENTRY_TREE && (err = build_tree(w, n)) < 0)
			break;
		e.kind = n->kind;
		e.mode = n->mode;
		e.id = n->id;
		e.bytes = n->bytes;
		e.files = n->files;
		e.name = n->name;
		if ((err = xtrk_tree_format_entry(&text, &e)) < 0)
			break;
		dir->bytes += n->bytes;
		dir->files += n->files;
	}
	if (!err)
		err = xtrk_txn_write(&dir->id, w->txn, XTRK_OBJ_TREE, text.ptr, text.size);
	xtrk_buf_dispose(&text);
	return err;
}

int xtrk_snapshot_path(xtrk_snapshot *out, xtrk_repo *repo, xtrk_txn *txn,
	const char *relpath, const xtrk_snapshot_options *opts)
{
	static const xtrk_snapshot_options defaults = XTRK_SNAPSHOT_OPTIONS_INIT;
	struct walk w;
	struct snode root;
	xtrk_buf abs = XTRK_BUF_INIT;
	struct stat st;
	int err;

	memset(&w, 0, sizeof(w));
	memset(&root, 0, sizeof(root));
	memset(out, 0, sizeof(*out));
	w.repo = repo;
	w.txn = txn;
	w.opts = opts ? opts : &defaults;
	pthread_mutex_init(&w.lock, NULL);
	if ((err = xtrk_buf_printf(&abs, "%s/%s", xtrk_repo_workdir(repo), relpath)) < 0)
		goto done;
	if (lstat(abs.ptr, &st) < 0) {
		err = xtrk_error_errno("cannot snapshot '%s'", relpath);
		if (err == XTRK_ENOTFOUND)
			err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' does not exist", relpath);
		goto done;
	}
	if (!(root.name = strdup(relpath))) {
		err = xtrk_error_oom();
		goto done;
	}
	if (S_ISLNK(st.st_mode)) {
		/* A file or folder given by a link is recorded as the target's content, as the run read it. */
		char target[4096];
		ssize_t len = readlink(abs.ptr, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (stat(abs.ptr, &st) < 0) {
			err = xtrk_error_set(errno == ENOENT ? XTRK_ENOTFOUND : XTRK_EINVALID,
				"'%s' is a symbolic link to '%s', which cannot be read: %s", relpath, target, strerror(errno));
			goto done;
		}
		if (!w.opts->quiet)
			xtrk_warning_add("'%s' is a symbolic link to '%s': recorded the content of its target", relpath,
				target);
		root.follow = 1;
	}
	if (!(w.root_real = realpath(abs.ptr, NULL))) {
		err = xtrk_error_errno("cannot resolve '%s'", relpath);
		goto done;
	}
	if ((err = classify(&w, &root, &st, relpath)) < 0)
		goto done;
	if ((err = root.kind == XTRK_ENTRY_TREE ? walk_dir(&w, &root, relpath) : add_job(&w, &root)) < 0)
		goto done;
	if ((err = run_jobs(&w)) < 0)
		goto done;
	if (root.kind == XTRK_ENTRY_TREE && (err = build_tree(&w, &root)) < 0)
		goto done;
	out->id = root.id;
	out->is_tree = root.kind == XTRK_ENTRY_TREE;
	out->files = root.files;
	out->bytes = root.bytes;
	out->hashed_files = w.hashed_files;
	out->hashed_bytes = w.hashed_bytes;
	if (w.opts->progress)
		w.opts->progress(w.bytes_done, w.files_done, w.opts->payload);
done:
	node_free(&root);
	free(w.root_real);
	free(w.jobs);
	pthread_mutex_destroy(&w.lock);
	xtrk_buf_dispose(&abs);
	return err;
}
