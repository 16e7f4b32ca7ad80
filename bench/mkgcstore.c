/*
 * Make a store for the gc benchmark quickly, through the library: RUNS runs,
 * each a record, a data tree and FILES small files of its own (so 2 + FILES
 * objects a run), written RUNS_PER_TXN runs to a write transaction (one pack
 * each, as commit-run makes one pack a run when it is 1); and garbage: every
 * GARBAGE_EVERY-th run is written but never named (a failed commit), and
 * BIG big unreferenced blobs of 1 MiB (loose objects).  Refs are written
 * plainly (no lock, no fsync: this is a generator, not a user command).
 *
 * With FILES_DIR, the same files are also written there as plain files
 * (FILES_DIR/live/RUN/fNNNN, FILES_DIR/garbage/RUN/fNNNN and
 * FILES_DIR/garbage/bigN), for the other tools to hold the same data.
 *
 *   bench/mkgcstore WORKSPACE TEMPLATE.json RUNS FILES RUNS_PER_TXN GARBAGE_EVERY BIG [FILES_DIR]
 */
#include "config.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/odb.h"
#include "xtrk/repo.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int fail(const char *what)
{
	fprintf(stderr, "mkgcstore: %s: %s\n", what, xtrk_error_last());
	return 1;
}

/* OUT/KIND/rRUN/fFILE (RUN < 0: OUT/KIND/bigFILE) */
static int write_file(const char *out, const char *kind, long run, long f, const void *data, size_t n)
{
	char p[4096];
	int fd;
	if (run < 0)
		snprintf(p, sizeof(p), "%s/%s/big%ld", out, kind, f);
	else
		snprintf(p, sizeof(p), "%s/%s/r%06ld/f%04ld", out, kind, run, f);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || write(fd, data, n) != (ssize_t)n || close(fd) < 0) {
		perror(p);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	xtrk_repo *repo;
	xtrk_txn *txn = NULL;
	json_t *tmpl;
	json_error_t je;
	long runs, files, per, every, big, named = 0;
	char path[4096];
	unsigned char *blob;

	const char *out = argc == 9 ? argv[8] : NULL;

	if ((argc != 8 && argc != 9) || (runs = atol(argv[3])) <= 0 || (files = atol(argv[4])) <= 0 || files > 9999 ||
	    (per = atol(argv[5])) <= 0 || (every = atol(argv[6])) < 0 || (big = atol(argv[7])) < 0) {
		fprintf(stderr, "usage: %s WORKSPACE TEMPLATE.json RUNS FILES RUNS_PER_TXN GARBAGE_EVERY BIG [FILES_DIR]\n",
			argv[0]);
		return 2;
	}
	if (xtrk_repo_open(&repo, argv[1]) < 0)
		return fail("open");
	if (!(tmpl = json_load_file(argv[2], 0, &je))) {
		fprintf(stderr, "mkgcstore: %s: %s\n", argv[2], je.text);
		return 1;
	}
	json_object_del(tmpl, "id");
	json_object_del(tmpl, "tags");
	if (!(blob = malloc(1 << 20)))
		return 1;
	snprintf(path, sizeof(path), "%s/refs/experiments/gcbench", xtrk_repo_dir(repo));
	mkdir(path, 0755);
	if (out) {
		snprintf(path, sizeof(path), "%s/live", out);
		mkdir(out, 0755);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/garbage", out);
		mkdir(path, 0755);
	}
	for (long i = 0; i < runs; i++) {
		xtrk_buf tree = XTRK_BUF_INIT;
		xtrk_oid id, tid;
		uint64_t bytes = 0;
		json_t *r;
		char *dump;
		int garbage = every && i % every == every - 1, fd;

		if (!txn && xtrk_txn_new(&txn, xtrk_repo_odb(repo)) < 0)
			return fail("transaction");
		if (out) {
			snprintf(path, sizeof(path), "%s/%s/r%06ld", out, garbage ? "garbage" : "live", i);
			mkdir(path, 0755);
		}
		for (long f = 0; f < files; f++) {
			size_t n = 200 + next() % 1800;
			for (size_t k = 0; k < n; k += 8) {
				uint64_t v = next();
				memcpy(blob + k, &v, n - k < 8 ? n - k : 8);
			}
			if (xtrk_txn_write(&id, txn, XTRK_OBJ_BLOB, blob, n) < 0)
				return fail("blob");
			if (out && write_file(out, garbage ? "garbage" : "live", i, f, blob, n) < 0)
				return 1;
			xtrk_buf_printf(&tree, "100644 blob %s %zu 1\tf%04ld\n", xtrk_oid_tostr(&id), n, f);
			bytes += n;
		}
		if (xtrk_txn_write(&tid, txn, XTRK_OBJ_TREE, tree.ptr, tree.size) < 0)
			return fail("tree");
		xtrk_buf_dispose(&tree);
		r = json_deep_copy(tmpl);
		json_object_set_new(r, "experiment", json_string("gcbench"));
		json_object_set_new(r, "seed", json_integer(i));
		json_object_set_new(r, "datasets", json_pack("[{s:s, s:s, s:s, s:s, s:I, s:I, s:n}]", "name", "data",
			"path", "data", "kind", "tree", "id", xtrk_oid_tostr(&tid), "files", (json_int_t)files,
			"bytes", (json_int_t)bytes, "source"));
		dump = xtrk_json_dumps(r, XTRK_JSON_STORE);
		if (!dump || xtrk_txn_write(&id, txn, XTRK_OBJ_RUN, dump, strlen(dump)) < 0)
			return fail("run");
		free(dump);
		json_decref(r);
		if ((i + 1) % per == 0 || i + 1 == runs) {
			if (xtrk_txn_commit(txn) < 0)
				return fail("commit");
			xtrk_txn_free(txn);
			txn = NULL;
		}
		if (garbage)
			continue;
		snprintf(path, sizeof(path), "%s/refs/experiments/gcbench/%s", xtrk_repo_dir(repo), xtrk_oid_tostr(&id));
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || dprintf(fd, "%s\n", xtrk_oid_tostr(&id)) < 0 ||
		    close(fd) < 0) {
			perror(path);
			return 1;
		}
		named++;
	}
	for (long b = 0; b < big; b++) {
		xtrk_oid id;
		for (size_t k = 0; k < (1 << 20); k += 8) {
			uint64_t v = next();
			memcpy(blob + k, &v, 8);
		}
		if ((!txn && xtrk_txn_new(&txn, xtrk_repo_odb(repo)) < 0) ||
		    xtrk_txn_write(&id, txn, XTRK_OBJ_BLOB, blob, 1 << 20) < 0)
			return fail("big blob");
		if (out && write_file(out, "garbage", -1, b, blob, 1 << 20) < 0)
			return 1;
	}
	if (txn && (xtrk_txn_commit(txn) < 0))
		return fail("commit");
	xtrk_txn_free(txn);
	printf("%ld runs named, %ld left unnamed, %ld objects each, %ld big blobs\n", named, runs - named, files + 2, big);
	free(blob);
	json_decref(tmpl);
	xtrk_repo_free(repo);
	return 0;
}
