/* Remotes in folders: naming them, and copying runs with their objects in either direction. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/notes.h"
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
	if ((err = key_for(&key, name)) == 0 && (err = xtrk_remote_path(&have, repo, name)) == 0)
		err = xtrk_repo_config_set(repo, key.ptr, NULL);
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
static int copy_tags(struct sync *s, const xtrk_oid *runs, size_t n, int untrusted)
{
	char **names = NULL;
	xtrk_oid *targets = NULL;
	size_t ntags = 0;
	int err;

	if ((err = xtrk_refs_tags(&names, &targets, &ntags, s->from)) < 0)
		return err;
	for (size_t i = 0; i < ntags && err == 0; i++) {
		xtrk_oid have;
		int wanted = 0;
		for (size_t k = 0; k < n; k++)
			wanted |= !xtrk_oid_cmp(&runs[k], &targets[i]);
		if (!wanted)
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
	xtrk_refs_tags_free(names, targets, ntags);
	return err;
}

/* Objects for the source check, read (verified) from the sending side. */
static int remote_object(xtrk_buf *out, const xtrk_oid *id, xtrk_otype type, void *payload)
{
	xtrk_repo *from = payload;
	if (!xtrk_odb_exists(xtrk_repo_odb(from), id))
		return xtrk_error_set(XTRK_ENOTFOUND, "%s %s is missing", xtrk_otype_name(type), xtrk_oid_tostr(id));
	return xtrk_odb_read(out, NULL, xtrk_repo_odb(from), id, type);
}

static int sync_runs(xtrk_sync_stats *out, xtrk_repo *from, xtrk_repo *to, const xtrk_oid *ids, size_t n,
	int untrusted, const char *from_name)
{
	struct sync s = { from, to, NULL, out, NULL, from_name };
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	json_t **runs = calloc(n ? n : 1, sizeof(*runs));
	int *partial = calloc(n ? n : 1, sizeof(*partial));
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
	for (size_t i = 0; i < n; i++) {
		if ((err = xtrk_run_read_record(&runs[i], from, &ids[i])) < 0 && (err != XTRK_ECORRUPT || !untrusted))
			goto done;
		if (untrusted && (err < 0 || (err = xtrk_record_check(runs[i])) < 0 ||
				  (err = xtrk_run_check_source(runs[i], remote_object, from)) < 0)) {
			err = xtrk_error_set(err, "run %s on %s: %s", xtrk_oid_tostr(&ids[i]), from_name, xtrk_error_last());
			goto done;
		}
		/* A run that came without its data files travels without them. */
		partial[i] = xtrk_refs_partial(from, &ids[i]);
		reach.skip_data = partial[i];
		if ((err = xtrk_reach_run(&reach, &ids[i], runs[i])) < 0)
			goto done;
	}
	/* Objects first, durably; then the refs that name them. */
	if ((err = xtrk_txn_commit(s.txn)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const char *exp = json_string_value(json_object_get(runs[i], "experiment"));
		out->runs++;
		if (!run_ref_exists(to, exp, &ids[i]))
			out->runs_new++;
		if (((partial[i] || xtrk_refs_partial(to, &ids[i])) &&
			    (err = xtrk_reach_mark_partial(to, &ids[i], runs[i])) < 0) ||
		    (err = xtrk_refs_add_run(to, exp, &ids[i])) < 0)
			goto done;
	}
	if ((err = copy_tags(&s, ids, n, untrusted)) == 0 && (err = xtrk_notes_copy(to, from, ids, n)) == 0 &&
	    xtrk_index_add(to, ids, runs, n) < 0)
		xtrk_error_clear(); /* the index is a cache */
done:
	for (size_t i = 0; runs && i < n; i++)
		json_decref(runs[i]);
	free(runs);
	free(partial);
	free(s.chunk);
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

static int all_runs(xtrk_oid **out, size_t *n, xtrk_repo *repo)
{
	xtrk_run_ref *refs = NULL;
	int err = xtrk_refs_list_runs(&refs, n, repo, NULL);
	if (err < 0)
		return err;
	if (!(*out = calloc(*n ? *n : 1, sizeof(**out)))) {
		free(refs);
		return xtrk_error_oom();
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = refs[i].run;
	free(refs);
	return 0;
}

int xtrk_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_oid *runs, size_t nruns)
{
	xtrk_repo *r = NULL;
	xtrk_oid *all = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = open_remote(&r, repo, remote)) < 0)
		return err;
	if (!nruns && (err = all_runs(&all, &nruns, repo)) < 0)
		goto done;
	err = sync_runs(out, repo, r, all ? all : runs, nruns, 0, "this store");
done:
	free(all);
	xtrk_repo_free(r);
	return err;
}

int xtrk_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const char *const *revs, size_t nrevs)
{
	xtrk_repo *r = NULL;
	xtrk_oid *ids = NULL;
	size_t n = 0;
	xtrk_buf name = XTRK_BUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = open_remote(&r, repo, remote)) < 0)
		return err;
	if (!nrevs) {
		err = all_runs(&ids, &n, r);
	} else if (!(ids = calloc(nrevs, sizeof(*ids)))) {
		err = xtrk_error_oom();
	} else {
		for (n = 0; n < nrevs && err == 0; n++)
			if ((err = xtrk_run_resolve(&ids[n], r, revs[n])) < 0) {
				err = xtrk_error_set(err, "remote '%s': %s", remote, xtrk_error_last());
			}
	}
	xtrk_buf_printf(&name, "remote '%s'", remote);
	if (err == 0)
		err = sync_runs(out, r, repo, ids, n, 1, name.ptr);
	free(ids);
	xtrk_buf_dispose(&name);
	xtrk_repo_free(r);
	return err;
}
