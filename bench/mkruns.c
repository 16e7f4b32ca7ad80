/*
 * Make N runs quickly for the query benchmark, through the library: each is
 * a variation of a template run (from `xtrk show --json` of a real run, its
 * environment with packages included), written as a run object in one
 * transaction, with its ref written plainly (no lock, no fsync: this is a
 * generator, not a user command).
 *
 *   bench/mkruns WORKSPACE TEMPLATE.json N [--series STEPS] [--one-by-one]
 *
 * With --series each run gets a step series of its own (STEPS lines of loss,
 * acc and lr, noisy, from the run's seed) in place of the template's.
 * With --one-by-one each run is stored as commit-run stores it: in a
 * transaction (so a pack) of its own, and added to the run index as a
 * segment of its own; without it all runs share one pack and the index is
 * built by the first listing.
 */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/json.h"
#include "xtrk/odb.h"
#include "xtrk/repo.h"
#include "xtrk/run.h"

static const char *const cudas[] = { "11.8", "12.1", "12.4" };
static const char *const exps[] = { "mnist", "cifar", "imagenet", "bert", "gpt" };

/* A series as a training script logs one: a decaying noisy loss, a rising noisy accuracy, a stepped rate. */
static int make_series(xtrk_oid *id, xtrk_txn *txn, long steps, unsigned seed)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err;
	srand(seed);
	for (long s = 0; s < steps; s++) {
		double r1 = (double)rand() / RAND_MAX, r2 = (double)rand() / RAND_MAX;
		xtrk_buf_printf(&b, "{\"step\": %ld, \"loss\": %.17g, \"acc\": %.17g, \"lr\": %.17g}\n", s,
			2 * exp(-(double)s / 2000) + 0.05 * r1, 1 - exp(-(double)s / 3000) * r2,
			0.1 * pow(0.5, (double)(s / 2500)));
	}
	err = xtrk_buf_oom(&b) ? -1 : xtrk_txn_write(id, txn, XTRK_OBJ_BLOB, b.ptr, b.size);
	xtrk_buf_dispose(&b);
	return err;
}

int main(int argc, char **argv)
{
	xtrk_repo *repo;
	xtrk_txn *txn;
	json_t *tmpl;
	json_error_t je;
	long n = argc >= 4 ? atol(argv[3]) : 0, steps = 0;
	int one_by_one = 0, bad = argc < 4 || n <= 0;
	char path[4096];

	for (int a = 4; a < argc && !bad; a++) {
		if (!strcmp(argv[a], "--series") && a + 1 < argc)
			bad = (steps = atol(argv[++a])) <= 0;
		else if (!strcmp(argv[a], "--one-by-one"))
			one_by_one = 1;
		else
			bad = 1;
	}
	if (bad) {
		fprintf(stderr, "usage: %s WORKSPACE TEMPLATE.json N [--series STEPS] [--one-by-one]\n", argv[0]);
		return 2;
	}
	if (xtrk_repo_open(&repo, argv[1]) < 0 || !(tmpl = json_load_file(argv[2], 0, &je))) {
		fprintf(stderr, "mkruns: %s\n", xtrk_error_last());
		return 1;
	}
	json_object_del(tmpl, "id");
	json_object_del(tmpl, "tags");
	srand(42);
	if (xtrk_txn_new(&txn, xtrk_repo_odb(repo)) < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		json_t *r = json_deep_copy(tmpl), *params = json_object(), *metrics = json_object(), *ds, *gpus;
		const char *exp = exps[i % 5];
		char when[40], dsid[33], *dump;
		xtrk_oid id;
		int fd;

		xtrk_format_time(when, 1767225600.0 + (double)i * 60); /* one a minute from 2026-01-01 */
		json_object_set_new(r, "started", json_string(when));
		xtrk_format_time(when, 1767225600.0 + (double)i * 60 + 30);
		json_object_set_new(r, "ended", json_string(when));
		json_object_set_new(r, "experiment", json_string(exp));
		json_object_set_new(params, "lr", json_real((double)(rand() % 1000 + 1) / 10000.0));
		json_object_set_new(params, "batch", json_integer(32 << (rand() % 4)));
		json_object_set_new(params, "opt", json_string(rand() % 2 ? "adam" : "sgd"));
		json_object_set_new(r, "params", params);
		json_object_set_new(metrics, "acc", json_real((double)(rand() % 10000) / 10000.0));
		json_object_set_new(metrics, "loss", json_real((double)(rand() % 10000) / 1000.0));
		json_object_set_new(r, "metrics", metrics);
		json_object_set_new(r, "seed", json_integer(i));
		if (steps) {
			xtrk_oid sid;
			if (make_series(&sid, txn, steps, (unsigned)i + 1) < 0) {
				fprintf(stderr, "mkruns: %s\n", xtrk_error_last());
				return 1;
			}
			json_object_set_new(r, "series", json_string(xtrk_oid_tostr(&sid)));
			srand(42 + (unsigned)i);
		}
		snprintf(dsid, sizeof(dsid), "%032x", (unsigned)(i % 10)); /* ten dataset versions */
		ds = json_pack("[{s:s, s:s, s:s, s:s, s:i, s:i, s:n}]", "name", "train", "path", "data/train", "kind", "tree",
			"id", dsid, "files", 100000, "bytes", 1048576000, "source");
		json_object_set_new(r, "datasets", ds);
		gpus = json_object_get(json_object_get(r, "env"), "gpus");
		if (json_is_object(json_object_get(r, "env")))
			json_object_set_new(json_object_get(r, "env"), "gpus",
				json_pack("[{s:s, s:s, s:s}]", "name", "NVIDIA H100", "driver", "580.1", "cuda", cudas[i % 3]));
		(void)gpus;
		dump = xtrk_json_dumps(r, XTRK_JSON_STORE); /* as commit-run writes runs */
		if (!dump || xtrk_txn_write(&id, txn, XTRK_OBJ_RUN, dump, strlen(dump)) < 0) {
			fprintf(stderr, "mkruns: %s\n", xtrk_error_last());
			return 1;
		}
		free(dump);
		if (one_by_one) {
			/* As commit-run: the run's own pack, then its ref, then its own index segment. */
			if (xtrk_txn_commit(txn) < 0 || (xtrk_txn_free(txn), xtrk_txn_new(&txn, xtrk_repo_odb(repo))) < 0) {
				fprintf(stderr, "mkruns: %s\n", xtrk_error_last());
				return 1;
			}
			xtrk_index_add(repo, &id, &r, 1);
		}
		json_decref(r);
		snprintf(path, sizeof(path), "%s/refs/experiments/%s", xtrk_repo_dir(repo), exp);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/refs/experiments/%s/%s", xtrk_repo_dir(repo), exp, xtrk_oid_tostr(&id));
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    dprintf(fd, "%s\n", xtrk_oid_tostr(&id)) < 0 || close(fd) < 0) {
			perror(path);
			return 1;
		}
		if (i % 10 == 0) {
			snprintf(path, sizeof(path), "%s/refs/tags/t%ld", xtrk_repo_dir(repo), i);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
				dprintf(fd, "%s\n", xtrk_oid_tostr(&id));
				close(fd);
			}
		}
	}
	/* Objects are named before anything reads the refs. */
	if (xtrk_txn_commit(txn) < 0) {
		fprintf(stderr, "mkruns: %s\n", xtrk_error_last());
		return 1;
	}
	xtrk_txn_free(txn);
	json_decref(tmpl);
	xtrk_repo_free(repo);
	return 0;
}
