/* Reading a bundle's archive: the reader's state, its entries checked and kept, for verify and import. */
#ifndef XTRK_BUNDLE_ARCHIVE_H
#define XTRK_BUNDLE_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include "xtrk/bundle.h"
#include "xtrk/oidset.h"
#include "xtrk/repo.h"

#define CHUNK (256 * 1024)
#define SKIP_MAX (1 << 20) /* an unread entry larger than this is not skipped */

struct decl {
	xtrk_oid id;
	xtrk_otype type;
	uint64_t size;
	int seen;
};

struct mem {
	xtrk_oid id;
	char *data;
	size_t len;
};

struct reader {
	struct archive *a;
	xtrk_repo *repo; /* NULL: verify only */
	xtrk_txn *txn;
	xtrk_bundle_problem_cb cb;
	void *payload;
	xtrk_bundle_stats *st;
	int stop_at_first; /* import: the first problem ends it */
	int stopped;
	char *first_problem;
	json_t *manifest;
	struct decl *decl;
	size_t ndecl;
	uint64_t declared_bytes;
	json_t *summaries; /* id -> summary */
	xtrk_oidset patches; /* the source patches the summaries name: held to check the paths they write */
	struct mem *mem;
	size_t nmem, amem;
	uint64_t mem_bytes;
	int seen_runbook, seen_report, seen_pack, seen_other;
	xtrk_oid runbook_id, report_id; /* what RUNBOOK.md and report.html hash to, once read */
	char *stage; /* folder for the source pack */
	xtrk_buf pack_path;
	unsigned char *chunk;
};


struct decl *xtrk_br_decl_find(struct reader *r, const xtrk_oid *id);

int xtrk_br_mem_cmp(const void *a, const void *b);

struct mem *xtrk_br_mem_find(struct reader *r, const xtrk_oid *id);

int xtrk_br_read_entry(struct reader *r, struct archive_entry *e);

int xtrk_br_reader_open(struct reader *r, xtrk_bundle_stats *st);

void xtrk_br_reader_close(struct reader *r);

int xtrk_br_stage_dir(struct reader *r, const char *parent);

int xtrk_br_open_file(struct reader *r, const char *path);

/* One problem with the bundle, to the caller's callback; the first is kept, and import stops at it. */
void xtrk_br_problem(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
