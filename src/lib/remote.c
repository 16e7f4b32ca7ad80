/* Remotes in folders: naming them, and copying runs with their objects in either direction. */
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
#include "remote_internal.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/gc.h"
#include "xtrk/index.h"
#include "xtrk/notes.h"
#include "xtrk/stages.h"
#include "xtrk/oidset.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"
#include "xtrk/refs.h"
#include "xtrk/remote.h"
#include "xtrk/run.h"

#define CHUNK (1024 * 1024)

static int key_for(xtrk_buf *key, const char *name)
{
	if (!xtrk_ref_name_valid(name))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid remote name (letters, digits, '.', '_' and '-')",
			name);
	xtrk_buf_clear(key);
	return xtrk_buf_printf(key, "remote.%s.path", name);
}

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int xtrk_remote_add(xtrk_repo *repo, const char *name, const char *path)
{
	xtrk_buf key = XTRK_BUF_INIT, have = XTRK_BUF_INIT, objects = XTRK_BUF_INIT;
	struct stat st;
	char *abs = NULL;
	int err;

	if (!strncmp(path, "s3://", 5))
		return remote_s3_add(repo, name, path, NULL, NULL);
	if ((err = key_for(&key, name)) < 0)
		goto done;
	if (xtrk_repo_config_string(&have, repo, key.ptr) == 0) {
		err = xtrk_error_set(XTRK_EEXISTS, "remote '%s' exists already (at '%s'); remove it first", name, have.ptr);
		goto done;
	}
	xtrk_error_clear();
	xtrk_buf_printf(&objects, "%s/objects", path);
	if (stat(path, &st) < 0 || (S_ISDIR(st.st_mode) && empty_dir(path))) {
		if ((err = xtrk_store_init(path)) < 0)
			goto done;
	} else if (!S_ISDIR(st.st_mode) || stat(objects.ptr, &st) < 0) {
		err = xtrk_error_set(XTRK_EINVALID, "'%s' is neither an empty folder nor an xtrk store", path);
		goto done;
	}
	if (!(abs = realpath(path, NULL))) {
		err = xtrk_error_errno("cannot resolve '%s'", path);
		goto done;
	}
	if (!strcmp(abs, xtrk_repo_dir(repo))) {
		err = xtrk_error_set(XTRK_EINVALID, "'%s' is this workspace's own store", path);
		goto done;
	}
	err = xtrk_repo_config_set(repo, key.ptr, abs);
done:
	free(abs);
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&have);
	xtrk_buf_dispose(&objects);
	return err;
}

int xtrk_remote_remove(xtrk_repo *repo, const char *name)
{
	xtrk_buf key = XTRK_BUF_INIT, have = XTRK_BUF_INIT;
	int err;
	if ((err = key_for(&key, name)) == 0 && (err = xtrk_remote_path(&have, repo, name)) == 0 &&
	    (err = xtrk_repo_config_set(repo, key.ptr, NULL)) == 0 && !strncmp(have.ptr, "s3://", 5)) {
		/* An S3 remote's settings go with it (absent ones are no error). */
		static const char *const opts[] = { "endpoint", "region", "lock", "lockExpiry" };
		for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
			xtrk_buf_clear(&key);
			xtrk_buf_printf(&key, "remote.%s.%s", name, opts[i]);
			if (xtrk_buf_oom(&key))
				return xtrk_error_oom();
			xtrk_repo_config_set(repo, key.ptr, NULL);
		}
		xtrk_error_clear();
	}
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&have);
	return err;
}

static int list_one(const char *name, const char *value, void *payload)
{
	xtrk_buf *out = payload;
	size_t n = strlen(name);
	/* remote.<name>.path */
	return xtrk_buf_printf(out, "%.*s\t%s\n", (int)(n - 12), name + 7, value) < 0;
}

int xtrk_remote_list(xtrk_buf *out, xtrk_repo *repo)
{
	return xtrk_repo_config_foreach(repo, "^remote\\..*\\.path$", list_one, out);
}

static int list_name(const char *name, const char *value, void *payload)
{
	(void)value;
	return xtrk_buf_printf(payload, " %.*s", (int)(strlen(name) - 12), name + 7) < 0;
}

int xtrk_remote_path(xtrk_buf *out, xtrk_repo *repo, const char *name)
{
	xtrk_buf key = XTRK_BUF_INIT, names = XTRK_BUF_INIT;
	int err;
	if ((err = key_for(&key, name)) == 0 && (err = xtrk_repo_config_string(out, repo, key.ptr)) == XTRK_ENOTFOUND) {
		xtrk_repo_config_foreach(repo, "^remote\\..*\\.path$", list_name, &names);
		err = xtrk_error_set(XTRK_ENOTFOUND, "no remote named '%s'%s%s", name,
			names.size ? "; remotes:" : " (add one with 'xtrk remote add NAME PATH')", names.size ? names.ptr : "");
	}
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&names);
	return err;
}

/* ---- copying ---- */

struct sync {
	xtrk_repo *from, *to;
	xtrk_txn *txn;
	xtrk_sync_stats *st;
	unsigned char *chunk;
	const char *from_name; /* for messages */
	int push;              /* from this store to a remote (else the other way) */
	char *stage;           /* source packs received, in the receiving store's objects/tmp */
	char **packs;          /* their paths, to publish once the objects are durable */
	size_t npacks;
	struct remote_has *has; /* an S3 remote: what it holds (push), or the store to read besides (pull) */
};

/* Copy one object the receiving side lacks; the stream verifies the source, the writer the result. */
static int copy_object(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	struct sync *s = payload;
	xtrk_odb_stream *in = NULL;
	xtrk_txn_writer *w = NULL;
	xtrk_oid got;
	size_t n;
	int err;
	(void)is_data;

	if (xtrk_odb_exists(xtrk_repo_odb(s->to), id))
		return 0;
	if (s->has && s->push && xtrk_oidset_has(&s->has->objects, id))
		return 0;
	if ((err = xtrk_odb_stream_open(&in, xtrk_repo_odb(s->from), id)) < 0) {
		return xtrk_error_set(err, "%s %s cannot be read from %s: %s", xtrk_otype_name(type), xtrk_oid_tostr(id),
			s->from_name, xtrk_error_last());
	}
	if ((err = xtrk_txn_writer_open(&w, s->txn, type, xtrk_oid_tostr(id))) < 0)
		goto done;
	do {
		if ((err = xtrk_odb_stream_read(in, s->chunk, CHUNK, &n)) < 0 || (err = xtrk_txn_writer_write(w, s->chunk, n)) < 0)
			goto done;
	} while (n);
	if ((err = xtrk_txn_writer_finish(&got, w, id)) < 0)
		goto done;
	s->st->objects_new++;
	s->st->bytes_new += xtrk_odb_stream_size(in);
done:
	xtrk_txn_writer_free(w);
	xtrk_odb_stream_free(in);
	return err;
}

static int run_ref_exists(xtrk_repo *repo, const char *exp, const xtrk_oid *id)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int ok;
	xtrk_buf_printf(&p, "%s/refs/experiments/%s/%s", xtrk_repo_dir(repo), exp, xtrk_oid_tostr(id));
	ok = !xtrk_buf_oom(&p) && access(p.ptr, F_OK) == 0;
	xtrk_buf_dispose(&p);
	return ok;
}

/* Tags of the sending side that name these runs go along, unless the name is taken here. */
static int copy_tags(struct sync *s, const xtrk_oid *runs, size_t n)
{
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t ntags = 0;
	xtrk_oidset wanted = XTRK_OIDSET_INIT;
	int err;

	if ((err = xtrk_refs_tags(&names, &targets, &ntags, s->from)) < 0)
		return err;
	for (size_t k = 0; k < n && err == 0; k++)
		err = xtrk_oidset_add(&wanted, &runs[k]) < 0 ? xtrk_error_oom() : 0;
	for (size_t i = 0; i < ntags && err == 0; i++) {
		xtrk_oid have;
		if (!xtrk_oidset_has(&wanted, &targets[i]))
			continue;
		if (!xtrk_tag_name_valid(names[i])) {
			xtrk_warning_add("tag '%s' of %s left behind: not a valid tag name", names[i], s->from_name);
			continue;
		}
		if (xtrk_refs_tag_lookup(&have, s->to, names[i]) == 0) {
			if (xtrk_oid_cmp(&have, &targets[i]))
				xtrk_warning_add("tag '%s' names run %s on the receiving side; left as it is", names[i],
					xtrk_oid_tostr(&have));
			continue;
		}
		xtrk_error_clear();
		err = xtrk_refs_tag_create(s->to, names[i], &targets[i], 0);
	}
	xtrk_oidset_dispose(&wanted);
	xtrk_refs_tags_free(names, targets, ntags);
	return err;
}

/*
 * Objects for the source check, read (verified) from the sending side; on a
 * pull from an S3 remote, whose staging store holds only what this store
 * lacked, from this store when the staging store does not have them.
 */
static int remote_object(xtrk_buf *out, const xtrk_oid *id, xtrk_otype type, void *payload)
{
	struct sync *s = payload;
	xtrk_repo *from = s->from;
	if (!xtrk_odb_exists(xtrk_repo_odb(from), id) && s->has && !s->push)
		from = s->to;
	if (!xtrk_odb_exists(xtrk_repo_odb(from), id))
		return xtrk_error_set(XTRK_ENOTFOUND, "%s %s is missing", xtrk_otype_name(type), xtrk_oid_tostr(id));
	return xtrk_odb_read(out, NULL, xtrk_repo_odb(from), id, type);
}

static int read_tree_either(xtrk_buf *out, const xtrk_oid *id, void *payload)
{
	return remote_object(out, id, XTRK_OBJ_TREE, payload);
}

/* ---- source commits ---- */

static int stage_folder(struct sync *s)
{
	xtrk_buf p = XTRK_BUF_INIT;
	if (s->stage)
		return 0;
	xtrk_buf_printf(&p, "%s/objects/tmp/xtrk-source-XXXXXX", xtrk_repo_dir(s->to));
	if (xtrk_buf_oom(&p) || !mkdtemp(p.ptr)) {
		int err = xtrk_error_errno("cannot create a staging folder in '%s/objects/tmp'", xtrk_repo_dir(s->to));
		xtrk_buf_dispose(&p);
		return err;
	}
	s->stage = xtrk_buf_detach(&p);
	return 0;
}

static int keep_pack(struct sync *s, xtrk_buf *path)
{
	char **p = realloc(s->packs, (s->npacks + 1) * sizeof(*p));
	struct stat st;
	if (!p)
		return xtrk_error_oom();
	s->packs = p;
	if (stat(path->ptr, &st) == 0)
		s->st->source_bytes_new += (uint64_t)st.st_size;
	s->packs[s->npacks++] = xtrk_buf_detach(path);
	return 0;
}

/* Push: one pack of the commits (with their history) from this side's git repository or source.git. */
static int stage_built(struct sync *s, const char *const *commits, size_t n)
{
	xtrk_buf tmp = XTRK_BUF_INIT, pack = XTRK_BUF_INIT;
	uint64_t size = 0;
	int fd = -1, err;

	xtrk_buf_printf(&tmp, "%s/objects/tmp/source-pack-XXXXXX", xtrk_repo_dir(s->from));
	if (xtrk_buf_oom(&tmp) || (fd = mkstemp(tmp.ptr)) < 0) {
		err = xtrk_error_errno("cannot create a temporary file in '%s/objects/tmp'", xtrk_repo_dir(s->from));
		goto done;
	}
	unlink(tmp.ptr);
	if ((err = xtrk_gitpack_build(&size, fd, s->from, commits, n)) < 0 || (err = stage_folder(s)) < 0)
		goto done;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		err = xtrk_error_errno("cannot read back the source pack");
		goto done;
	}
	/* Checked on the way in as a pull will check it: what the remote holds is what a colleague can take. */
	if ((err = xtrk_gitpack_receive_fd(&pack, s->stage, fd, size)) < 0 || (err = keep_pack(s, &pack)) < 0)
		err = xtrk_error_set(err, "the source pack for %s: %s (push with --no-source to leave the source behind)",
			xtrk_repo_dir(s->to), xtrk_error_last());
done:
	if (fd >= 0)
		close(fd);
	xtrk_buf_dispose(&tmp);
	xtrk_buf_dispose(&pack);
	return err;
}

/* Pull: the remote's packs that claim the commits, each received and checked whole. */
static int stage_received(struct sync *s, char *const *found, size_t n)
{
	xtrk_buf pack = XTRK_BUF_INIT;
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		int dup = 0;
		if (!found[i])
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= found[k] && !strcmp(found[k], found[i]);
		if (dup)
			continue;
		if ((err = stage_folder(s)) < 0)
			break;
		if ((err = xtrk_gitpack_receive_file(&pack, s->stage, found[i])) < 0 || (err = keep_pack(s, &pack)) < 0)
			err = xtrk_error_set(err, "%s: source pack '%s' refused (nothing was pulled): %s", s->from_name,
				strrchr(found[i], '/') + 1, xtrk_error_last());
	}
	xtrk_buf_dispose(&pack);
	return err;
}

/* Each carried commit is in a received pack, and every path it would write is one checkout accepts. */
static int check_staged(struct sync *s, const char *hex)
{
	for (size_t i = 0; i < s->npacks; i++)
		if (xtrk_gitpack_has_commit(s->packs[i], hex)) {
			if (xtrk_gitpack_check_commit(s->packs[i], hex) < 0)
				return xtrk_error_set(XTRK_EINVALID, "%s: source commit %s: %s%s", s->from_name, hex,
					xtrk_error_last(), s->push ? "" : " (nothing was pulled)");
			return 0;
		}
	return xtrk_error_set(XTRK_EINVALID, "%s: the source pack said to hold commit %s does not hold it (damaged or "
		"tampered with)%s", s->from_name, hex, s->push ? "" : "; nothing was pulled");
}

/*
 * The source commits of these runs that the receiving side lacks, received
 * into its staging folder and checked; published after the objects, before
 * the refs.  A commit the sending side does not have is left behind, with a
 * warning; a pack that fails a check refuses the whole transfer.
 */
static int stage_sources(struct sync *s, const xtrk_oid *ids, json_t **runs, size_t n)
{
	json_t *set = json_object(), *first;
	const char **commits = calloc(n + 1, sizeof(*commits)), **want = calloc(n + 1, sizeof(*want));
	unsigned char *flag = calloc(n + 1, 1);
	char **found = calloc(n + 1, sizeof(*found));
	size_t nc = 0, nw = 0, carried = 0;
	const char *key;
	int err = 0;

	if (!set || !commits || !want || !flag || !found) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *c = json_string_value(json_object_get(json_object_get(runs[i], "source"), "commit"));
		if (c && !json_object_get(set, c) && json_object_set_new(set, c, json_integer((json_int_t)i)) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	}
	json_object_foreach(set, key, first)
		commits[nc++] = key;
	if (!nc)
		goto done;
	/* What the receiving side has already stays where it is: a second transfer carries nothing. */
	if (s->push)
		err = xtrk_gitpack_locate(found, xtrk_repo_dir(s->to), commits, nc);
	else
		err = xtrk_gitsrc_present(s->to, commits, nc, flag);
	if (err < 0)
		goto done;
	/* An S3 remote's index says which commits it holds already. */
	for (size_t i = 0; s->push && s->has && i < nc; i++)
		if (!found[i] && json_object_get(s->has->commits, commits[i]) && !(found[i] = strdup(""))) {
			err = xtrk_error_oom();
			goto done;
		}
	for (size_t i = 0; i < nc; i++) {
		if (!(s->push ? found[i] != NULL : flag[i]))
			want[nw++] = commits[i];
		free(found[i]);
		found[i] = NULL;
	}
	if (!nw)
		goto done;
	if (s->push)
		err = xtrk_gitsrc_present(s->from, want, nw, flag);
	else
		err = xtrk_gitpack_locate(found, xtrk_repo_dir(s->from), want, nw);
	if (err < 0)
		goto done;
	for (size_t i = 0; i < nw; i++) {
		if (s->push ? flag[i] : found[i] != NULL) {
			if (!s->push && carried != i) {
				found[carried] = found[i];
				found[i] = NULL;
			}
			want[carried++] = want[i];
			continue;
		}
		s->st->sources_missing++;
		xtrk_warning_add(s->push ? "run %s: its source commit %s is neither in the git repository nor in this store; "
					   "it is pushed without its source"
					 : "run %s: its source commit %s is not on %s (pushed with --no-source?); it is pulled "
					   "without its source, so 'xtrk checkout' needs that commit from elsewhere",
			xtrk_oid_tostr(&ids[json_integer_value(json_object_get(set, want[i]))]), want[i], s->from_name);
	}
	if (!carried)
		goto done;
	if ((err = s->push ? stage_built(s, want, carried) : stage_received(s, found, carried)) < 0)
		goto done;
	for (size_t i = 0; i < carried && err == 0; i++)
		err = check_staged(s, want[i]);
	for (size_t i = 0; i < carried && err == 0 && s->has && s->push; i++)
		if (json_array_append_new(s->has->carried, json_string(want[i])) < 0)
			err = xtrk_error_oom();
	if (err == 0)
		s->st->sources_new += carried;
done:
	for (size_t i = 0; found && i < n + 1; i++)
		free(found[i]);
	free(found);
	free(flag);
	free(want);
	free(commits);
	json_decref(set);
	return err;
}

/*
 * Everything that names one run on the receiving side, once the objects it
 * reaches (and its source) are durable: its experiment ref, and the partial
 * mark of a run that travels without its data files.  Whatever else belongs
 * to a single run and travels with it is copied here.
 */
static int publish_run(struct sync *s, const xtrk_oid *id, json_t *run, int partial)
{
	const char *exp = json_string_value(json_object_get(run, "experiment"));
	int err;
	s->st->runs++;
	if (!run_ref_exists(s->to, exp, id))
		s->st->runs_new++;
	if ((partial || xtrk_refs_partial(s->to, id)) && (err = xtrk_reach_mark_partial(s->to, id, run)) < 0)
		return err;
	return xtrk_refs_add_run(s->to, exp, id);
}

int remote_sync_runs(xtrk_sync_stats *out, xtrk_repo *from, xtrk_repo *to, const xtrk_oid *ids, size_t n,
	int push, int no_source, const char *from_name, struct remote_has *has)
{
	struct sync s = { from, to, NULL, out, NULL, from_name, push, NULL, NULL, 0, has };
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	json_t **runs = calloc(n ? n : 1, sizeof(*runs));
	int *partial = calloc(n ? n : 1, sizeof(*partial));
	int untrusted = !push;
	json_t *chains = NULL;
	xtrk_reach reach;
	int err = 0;

	if (!runs || !partial || !(s.chunk = malloc(CHUNK))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_txn_new(&s.txn, xtrk_repo_odb(to))) < 0)
		goto done;
	memset(&reach, 0, sizeof(reach));
	reach.visit = copy_object;
	reach.payload = &s;
	reach.odb = xtrk_repo_odb(from);
	reach.seen = &seen;
	if (has && !push)
		reach.read_tree = read_tree_either;
	for (size_t i = 0; i < n; i++) {
		/* A pull from S3 stages only what this store lacks: a run record it has is read here. */
		xtrk_repo *rec = has && !push && !xtrk_odb_exists(xtrk_repo_odb(from), &ids[i]) ? to : from;
		if ((err = xtrk_run_read_record(&runs[i], rec, &ids[i])) < 0 && (err != XTRK_ECORRUPT || !untrusted))
			goto done;
		if (untrusted && (err < 0 || (err = xtrk_record_check(runs[i])) < 0 ||
				  (err = xtrk_run_check_source(runs[i], remote_object, &s)) < 0)) {
			err = xtrk_error_set(err, "run %s on %s: %s", xtrk_oid_tostr(&ids[i]), from_name, xtrk_error_last());
			goto done;
		}
		/* A run that came without its data files travels without them. */
		partial[i] = xtrk_refs_partial(from, &ids[i]);
		reach.skip_data = partial[i];
		if ((err = xtrk_reach_run(&reach, &ids[i], runs[i])) < 0)
			goto done;
	}
	/* A forged or unverifiable approval refuses the whole copy before anything is written. */
	if ((err = xtrk_stages_vet(to, from, ids, n)) < 0) {
		err = xtrk_error_set(err, "%s (from %s)", xtrk_error_last(), from_name);
		goto done;
	}
	/* The audit logs go along: the sender's own and those it received, each vetted before anything is written. */
	if (((err = xtrk_audit_chains(&chains, from)) < 0 || (err = xtrk_audit_vet(to, chains, 1)) < 0)) {
		err = xtrk_error_set(err, "%s: %s; nothing was %s", from_name, xtrk_error_last(), push ? "pushed" : "pulled");
		goto done;
	}
	if (!no_source && (err = stage_sources(&s, ids, runs, n)) < 0)
		goto done;
	/* Objects first, durably; then the source; then the refs that name them. */
	if ((err = xtrk_txn_commit(s.txn)) < 0)
		goto done;
	for (size_t i = 0; i < s.npacks; i++)
		if ((err = xtrk_gitpack_publish(to, s.packs[i])) < 0)
			goto done;
	for (size_t i = 0; i < n; i++)
		if ((err = publish_run(&s, &ids[i], runs[i], partial[i])) < 0)
			goto done;
	if ((err = copy_tags(&s, ids, n)) == 0 && (err = xtrk_notes_copy(to, from, ids, n)) == 0 &&
	    (err = xtrk_stages_copy(to, from, ids, n)) == 0 && (err = xtrk_audit_receive(to, chains, 1)) == 0 &&
	    xtrk_index_add(to, ids, runs, n) < 0)
		xtrk_error_clear(); /* the index is a cache */
done:
	json_decref(chains);
	for (size_t i = 0; runs && i < n; i++)
		json_decref(runs[i]);
	free(runs);
	free(partial);
	free(s.chunk);
	for (size_t i = 0; i < s.npacks; i++)
		free(s.packs[i]);
	free(s.packs);
	if (s.stage) {
		xtrk_remove_tree(s.stage);
		free(s.stage);
	}
	xtrk_txn_free(s.txn);
	xtrk_oidset_dispose(&seen);
	return err;
}

static int open_remote(xtrk_repo **out, xtrk_repo *repo, const char *name)
{
	xtrk_buf path = XTRK_BUF_INIT;
	int err;
	/* A folder others can write to is untrusted both ways: a link planted in it must not lead a push's
	 * writes, or a pull's reads, outside it. */
	if ((err = xtrk_remote_path(&path, repo, name)) == 0 &&
	    ((err = xtrk_refuse_links(path.ptr, "the remote's folder")) < 0 || (err = xtrk_store_open(out, path.ptr)) < 0)) {
		err = xtrk_error_set(err, "remote '%s': %s", name, xtrk_error_last());
	}
	xtrk_buf_dispose(&path);
	return err;
}

static int add_run(xtrk_oid **ids, size_t *n, size_t *alloc, xtrk_oidset *seen, const xtrk_oid *id)
{
	if (xtrk_oidset_has(seen, id))
		return 0;
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 64;
		xtrk_oid *p = realloc(*ids, na * sizeof(*p));
		if (!p)
			return xtrk_error_oom();
		*ids = p;
		*alloc = na;
	}
	(*ids)[(*n)++] = *id;
	return xtrk_oidset_add(seen, id) < 0 ? xtrk_error_oom() : 0;
}

/* Every live run of `exp` (NULL: of all experiments); an experiment named must have some. */
static int add_listed(xtrk_oid **ids, size_t *n, size_t *alloc, xtrk_oidset *seen, xtrk_repo *from, const char *exp,
	const char *where)
{
	xtrk_run_ref *refs = NULL;
	size_t nrefs = 0;
	int err;
	if (exp && !xtrk_ref_name_valid(exp))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid experiment name", exp);
	if ((err = xtrk_refs_list_runs(&refs, &nrefs, from, exp)) == 0 && exp && !nrefs)
		err = xtrk_error_set(XTRK_ENOTFOUND, "%s%sexperiment '%s' has no runs", where ? where : "", where ? ": " : "",
			exp);
	for (size_t i = 0; i < nrefs && err == 0; i++)
		err = add_run(ids, n, alloc, seen, &refs[i].run);
	free(refs);
	return err;
}

/*
 * The runs to send, named on the sending side: the revisions, every live run
 * of each experiment, or every live run (also when nothing is named); each
 * once, in the order named.  Removed runs are not listed, so never sent.
 */
int remote_select_runs(xtrk_oid **out, size_t *n, xtrk_repo *from, const char *where, const xtrk_sync_options *o)
{
	static const xtrk_sync_options everything = { NULL, 0, NULL, 0, 1, 0 };
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	size_t alloc = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!o || (!o->nrevs && !o->nexperiments))
		o = &everything;
	if (o->all) {
		err = add_listed(out, n, &alloc, &seen, from, NULL, where);
		goto done;
	}
	for (size_t i = 0; i < o->nrevs && err == 0; i++) {
		xtrk_oid id;
		if ((err = xtrk_run_resolve(&id, from, o->revs[i])) < 0)
			err = where ? xtrk_error_set(err, "%s: %s", where, xtrk_error_last()) : err;
		else
			err = add_run(out, n, &alloc, &seen, &id);
	}
	for (size_t i = 0; i < o->nexperiments && err == 0; i++)
		err = add_listed(out, n, &alloc, &seen, from, o->experiments[i], where);
done:
	xtrk_oidset_dispose(&seen);
	if (err < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int xtrk_remote_add_s3(xtrk_repo *repo, const char *name, const char *url, const char *endpoint, const char *region)
{
	return remote_s3_add(repo, name, url, endpoint, region);
}

/* 1 (with its address in `url`) when the remote is on S3, 0 when it is a folder. */
static int s3_remote(xtrk_buf *url, xtrk_repo *repo, const char *name)
{
	int err = xtrk_remote_path(url, repo, name);
	return err < 0 ? err : !strncmp(url->ptr, "s3://", 5);
}

int xtrk_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_sync_options *opts)
{
	xtrk_repo *r = NULL;
	xtrk_oid *ids = NULL;
	xtrk_buf url = XTRK_BUF_INIT;
	size_t n = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = s3_remote(&url, repo, remote)) != 0) {
		if (err > 0)
			err = remote_s3_push(out, repo, remote, url.ptr, opts);
		xtrk_buf_dispose(&url);
		return err;
	}
	xtrk_buf_dispose(&url);
	if ((err = remote_select_runs(&ids, &n, repo, NULL, opts)) == 0 && (err = open_remote(&r, repo, remote)) == 0)
		err = remote_sync_runs(out, repo, r, ids, n, 1, opts && opts->no_source, "this store", NULL);
	free(ids);
	xtrk_repo_free(r);
	return err;
}

int xtrk_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_sync_options *opts)
{
	xtrk_repo *r = NULL;
	xtrk_oid *ids = NULL;
	size_t n = 0;
	xtrk_buf name = XTRK_BUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = s3_remote(&name, repo, remote)) != 0) {
		if (err > 0)
			err = remote_s3_pull(out, repo, remote, name.ptr, opts);
		xtrk_buf_dispose(&name);
		return err;
	}
	xtrk_buf_clear(&name);
	if ((err = open_remote(&r, repo, remote)) < 0) {
		xtrk_buf_dispose(&name);
		return err;
	}
	xtrk_buf_printf(&name, "remote '%s'", remote);
	if (xtrk_buf_oom(&name))
		err = xtrk_error_oom();
	else if ((err = remote_select_runs(&ids, &n, r, name.ptr, opts)) == 0)
		err = remote_sync_runs(out, r, repo, ids, n, 0, opts && opts->no_source, name.ptr, NULL);
	free(ids);
	xtrk_buf_dispose(&name);
	xtrk_repo_free(r);
	return err;
}

/*
 * gc of a remote: a bare folder store, never followed out of (xtrk_gc refuses
 * a bare store holding a link), collected under its own write lock, which
 * every push into it holds shared as a local commit does.  The remote's own
 * gc.pruneExpire may lengthen the grace period, never shorten it: it is the
 * remote's owners' say over what their writers may leave unnamed for a while.
 */
int xtrk_remote_gc(xtrk_gc_result *out, xtrk_repo *repo, const char *name, const xtrk_gc_options *o)
{
	xtrk_repo *r = NULL;
	xtrk_buf path = XTRK_BUF_INIT, v = XTRK_BUF_INIT;
	xtrk_gc_options ro = *o;
	int64_t theirs;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = xtrk_remote_path(&path, repo, name)) < 0)
		goto done;
	if (!strncmp(path.ptr, "s3://", 5)) {
		if ((err = remote_s3_gc(out, repo, name, path.ptr, o)) < 0)
			err = xtrk_error_set(err, "remote '%s': %s", name, xtrk_error_last());
		goto done;
	}
	if (!xtrk_store_is_bare(path.ptr)) {
		err = xtrk_error_set(XTRK_EINVALID, "remote '%s' ('%s') is not a folder store made by 'xtrk remote add' "
			"(no objects/ folder, or its config does not say core.bare = true); gc leaves it alone", name, path.ptr);
		goto done;
	}
	if ((err = open_remote(&r, repo, name)) < 0)
		goto done;
	if ((err = xtrk_repo_config_string(&v, r, "gc.pruneExpire")) == 0) {
		if ((err = xtrk_gc_parse_expire(&theirs, v.ptr, (int64_t)time(NULL))) < 0) {
			err = xtrk_error_set(err, "remote '%s': gc.pruneExpire in its config: %s", name, xtrk_error_last());
			goto done;
		}
		if (theirs < ro.expire)
			ro.expire = theirs;
	} else if (err != XTRK_ENOTFOUND) {
		goto done;
	}
	xtrk_error_clear();
	if ((err = xtrk_gc(out, r, &ro)) < 0)
		err = xtrk_error_set(err, "remote '%s': %s", name, xtrk_error_last());
done:
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&v);
	xtrk_repo_free(r);
	return err;
}
