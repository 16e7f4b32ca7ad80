/* What folder remotes (remote.c) and S3 remotes (remote_s3.c) share. */
#ifndef XTRK_REMOTE_INTERNAL_H
#define XTRK_REMOTE_INTERNAL_H

#include <jansson.h>

#include "xtrk/oidset.h"
#include "xtrk/remote.h"

/*
 * An S3 remote is reached through a bare staging store in this store's
 * objects/tmp.  A push copies into it only what the remote's index does not
 * list (`objects`, `commits`), and records the source commits it carried
 * (`carried`); a pull stages only what this store lacks, so reads fall back
 * to this store for the rest.
 */
struct remote_has {
	xtrk_oidset objects; /* push: objects the remote holds */
	json_t *commits;     /* push: source commits the remote holds (an object, commit -> true) */
	json_t *carried;     /* push: source commits staged (an array) */
};

/** Copy runs between two stores (see xtrk_push and xtrk_pull); `has` only for an S3 remote's staging store. */
int remote_sync_runs(xtrk_sync_stats *out, xtrk_repo *from, xtrk_repo *to, const xtrk_oid *ids, size_t n,
	int push, int no_source, const char *from_name, struct remote_has *has);
/** The runs to send, named on the sending side (`where` names it in messages; NULL: this store). */
int remote_select_runs(xtrk_oid **out, size_t *n, xtrk_repo *from, const char *where, const xtrk_sync_options *o);

/* remote_s3.c */
int remote_s3_add(xtrk_repo *repo, const char *name, const char *url, const char *endpoint, const char *region);
int remote_s3_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *name, const char *url,
	const xtrk_sync_options *opts);
int remote_s3_gc(xtrk_gc_result *out, xtrk_repo *repo, const char *name, const char *url, const xtrk_gc_options *o);
int remote_s3_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *name, const char *url,
	const xtrk_sync_options *opts);

#endif
