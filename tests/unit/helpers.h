/* Shared fixtures for the unit tests: temporary folders and workspaces. */
#ifndef XTRK_TEST_HELPERS_H
#define XTRK_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

static char test_dir[256];

/* A fresh temporary folder, made the current folder. */
static inline const char *tmpdir_enter(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/xtrk-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
	cr_assert_eq(chdir(test_dir), 0);
	return test_dir;
}

static inline void tmpdir_leave(void)
{
	char cmd[400];
	if (chdir("/") != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", test_dir);
}

static inline void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static inline void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* A workspace in `dir` (made if absent) with Python capture switched off. */
static inline xtrk_repo *new_repo_at(const char *dir)
{
	xtrk_repo *repo;
	char path[512];
	int created;
	FILE *f;
	mkdir(dir, 0777);
	cr_assert_eq(xtrk_repo_init(&repo, dir, &created), 0, "%s", xtrk_error_last());
	xtrk_repo_free(repo);
	snprintf(path, sizeof(path), "%s/.xtrk/config", dir);
	cr_assert_not_null(f = fopen(path, "a"));
	fputs("[capture]\n\tpython = false\n", f);
	fclose(f);
	cr_assert_eq(xtrk_repo_open(&repo, dir), 0, "%s", xtrk_error_last());
	return repo;
}

/* A workspace in the current folder with Python capture switched off. */
static inline xtrk_repo *new_repo(void)
{
	return new_repo_at(".");
}

/* The ID of some bytes as hex (a static buffer). */
static inline const char *hex_of(const void *data, size_t len)
{
	static char hex[XTRK_OID_HEXSZ + 1];
	xtrk_oid id;
	xtrk_oid_hash(&id, data, len);
	xtrk_oid_fmt(hex, &id);
	return hex;
}

static inline char *random_bytes(size_t n, unsigned seed)
{
	char *p = malloc(n);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
	return p;
}

#endif
