/*
 * Remotes: other stores reached as folders (a shared or network file
 * system), named in `.xtrk/config` as `remote.<name>.path`.
 *
 * A remote is a bare store: `objects/`, `refs/` and `config` directly in its
 * folder.  Push and pull copy the objects a run reaches that the other side
 * lacks, through one transaction (fsynced, named only when whole), and only
 * then write the run refs, so an interrupted transfer never leaves a ref to a
 * missing object.  Runs are a set: pushes from several people to one
 * experiment all succeed.  What comes from a remote is untrusted: every
 * object is re-hashed, every run record validated, like a bundle import.
 * The runs' source commits travel as git packs in the remote's `source.git`,
 * and land in the pulling store's `.xtrk/source.git`, as a bundle's do.
 */
#ifndef XTRK_REMOTE_H
#define XTRK_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/gc.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

/** Record a remote (creating its store when the folder is absent or empty). */
int xtrk_remote_add(xtrk_repo *repo, const char *name, const char *path);
/**
 * Record a remote on S3-compatible storage, "s3://BUCKET/PREFIX", reached at
 * `endpoint` (NULL: AWS; "http(s)://HOST:PORT" path-style otherwise) in
 * `region` (NULL: us-east-1).  The server is probed: it must honour
 * conditional writes (If-None-Match), or the remote is refused.  Credentials
 * are read at each use from the AWS variables or ~/.aws/credentials, never
 * recorded.  xtrk_remote_add with an s3:// address is this with neither.
 */
int xtrk_remote_add_s3(xtrk_repo *repo, const char *name, const char *url, const char *endpoint, const char *region);
/*
 * Bundles on S3, s3://BUCKET/[DIR/]FILE, reached with the endpoint and region
 * of the first S3 remote recorded on that bucket (else AWS, us-east-1).
 * xtrk_s3_bundle_temp names a file in the store's objects/tmp that ends as
 * FILE does (a bundle's format follows its name); put uploads a file there,
 * replacing what was (a large one as a streamed multipart upload); get
 * downloads it to `path`.
 */
int xtrk_s3_bundle_temp(xtrk_buf *out, xtrk_repo *repo, const char *url);
int xtrk_s3_bundle_put(uint64_t *sent, xtrk_repo *repo, const char *url, const char *path);
int xtrk_s3_bundle_get(xtrk_repo *repo, const char *url, const char *path);
/** Forget a remote (its store is left alone). */
int xtrk_remote_remove(xtrk_repo *repo, const char *name);
/** The path of a remote; XTRK_ENOTFOUND naming the remotes there are. */
int xtrk_remote_path(xtrk_buf *out, xtrk_repo *repo, const char *name);
/** Names and paths of all remotes, as "name\tpath\n" lines. */
int xtrk_remote_list(xtrk_buf *out, xtrk_repo *repo);

typedef struct {
	size_t runs;        /* runs considered */
	size_t runs_new;    /* runs the receiving side did not have */
	size_t objects_new; /* objects copied */
	uint64_t bytes_new; /* their bytes */
	size_t sources_new;        /* source commits carried (the receiving side lacked them) */
	uint64_t source_bytes_new; /* the bytes of the source packs that carried them */
	size_t sources_missing;    /* source commits left behind: the sending side does not have them */
} xtrk_sync_stats;

/* Which runs travel, named on the sending side.  With nothing named, every live run. */
typedef struct {
	const char *const *revs;        /* revisions (xtrk-format(5)): an experiment name is its newest run */
	size_t nrevs;
	const char *const *experiments; /* every live run of each of these experiments */
	size_t nexperiments;
	int all;                        /* every live run (removed runs, under refs/removed/, stay behind) */
	int no_source;                  /* leave the runs' source commits behind */
} xtrk_sync_options;

/**
 * Copy runs (`opts` NULL: every live run) and the objects they reach to the
 * remote, with the git commits they record (and their history) as a source
 * pack in the remote's `source.git`, unless the remote has them already.  A
 * commit that neither the workspace's git repository nor the store's
 * source.git holds is left behind with a warning.
 */
int xtrk_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_sync_options *opts);
/**
 * Copy runs from the remote (revisions resolved there), verifying everything
 * received; the source commits this side lacks come from the remote's
 * source.git packs, each checked as a bundle's source pack is (sizes before
 * inflating, every object, the commit present, every path it would write).
 * A bad pack refuses the whole pull, changing nothing; a commit the remote
 * does not have is left behind with a warning.
 */
int xtrk_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_sync_options *opts);

/**
 * Collect garbage on a remote, as xtrk_gc does in a store, by the same
 * protocol: the remote's write lock (objects/txn.lock and txn.gate, flock(2)),
 * which every push into it holds shared from its first object to its last
 * ref, wherever it runs.  Only a bare folder store (xtrk_remote_add's) is
 * collected; one holding a symbolic link anywhere is refused
 * (XTRK_EINVALID).  `o->expire` is the grace period, lengthened (never
 * shortened) by gc.pruneExpire in the remote's own config.  The source
 * packs under the remote's source.git are left alone.
 */
int xtrk_remote_gc(xtrk_gc_result *out, xtrk_repo *repo, const char *name, const xtrk_gc_options *o);

#endif
