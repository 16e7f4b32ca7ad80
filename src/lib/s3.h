/*
 * A small S3 client (s3.c) on libcurl: signed requests (libcurl's own SigV4,
 * CURLOPT_AWS_SIGV4), conditional writes, retries with backoff on 500/502/
 * 503/504 and dropped connections, several transfers at once through the
 * multi interface, and large files as multipart uploads streamed from the
 * file (memory bounded by libcurl's buffers, never by the file's size).
 *
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, else from the profile AWS_PROFILE (default "default")
 * of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.  They are held in
 * memory only and never appear in an error message.
 */
#ifndef XTRK_S3_H
#define XTRK_S3_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/buf.h"

typedef struct xtrk_s3 xtrk_s3;

/** Files this large or larger travel as multipart uploads; smaller ones as one PUT each. */
#define XTRK_S3_MULTIPART_MIN (16u << 20)

/** Parse "s3://BUCKET[/PREFIX]" (strict: DNS-style bucket, prefix of [A-Za-z0-9._/-]); XTRK_EINVALID otherwise. */
int xtrk_s3_url_check(const char *url);

/**
 * A client for `url` ("s3://BUCKET/PREFIX"); `endpoint` (NULL: AWS) is
 * "http(s)://HOST[:PORT]" reached path-style; `region` NULL is us-east-1.
 */
int xtrk_s3_open(xtrk_s3 **out, const char *url, const char *endpoint, const char *region);
void xtrk_s3_free(xtrk_s3 *s);

/** GET `key` (relative to the prefix) into `out`; `etag` (may be NULL) gets its ETag.  XTRK_ENOTFOUND when absent. */
int xtrk_s3_get(xtrk_s3 *s, const char *key, xtrk_buf *out, xtrk_buf *etag);

/**
 * PUT `len` bytes at `key`.  `if_match`: only over that ETag; `if_none_match`:
 * only when absent.  A failed condition is XTRK_EEXISTS (nothing written);
 * `etag_out` (may be NULL) gets the new ETag.
 */
int xtrk_s3_put(xtrk_s3 *s, const char *key, const void *data, size_t len, const char *if_match, int if_none_match,
	xtrk_buf *etag_out);

/** HEAD: 1 when `key` exists, 0 when not, < 0 on error. */
int xtrk_s3_exists(xtrk_s3 *s, const char *key);

/** DELETE `key` (absent is fine). */
int xtrk_s3_delete(xtrk_s3 *s, const char *key);

/** One listed object: its key relative to the prefix, size, and LastModified (server clock; -1 unknown). */
typedef int (*xtrk_s3_list_fn)(const char *key, uint64_t size, int64_t modified, void *payload);

/**
 * List the objects under `sub` (relative to the prefix), all pages, in key
 * order; a negative return of `fn` stops the listing with that code.  For
 * maintenance (gc, locks): what a remote holds is learned from its index.
 */
int xtrk_s3_list(xtrk_s3 *s, const char *sub, xtrk_s3_list_fn fn, void *payload);

/** One unfinished multipart upload: its key relative to the prefix, its ID, when it began (server clock; -1 unknown). */
typedef int (*xtrk_s3_upload_fn)(const char *key, const char *upload_id, int64_t initiated, void *payload);

/** The unfinished multipart uploads under `sub`, all pages. */
int xtrk_s3_list_uploads(xtrk_s3 *s, const char *sub, xtrk_s3_upload_fn fn, void *payload);

/** Abort one (absent is fine): its parts are freed on the server. */
int xtrk_s3_abort_upload(xtrk_s3 *s, const char *key, const char *upload_id);

/** The server's clock now: the Date of its last answer, advanced by ours since (ours when none came yet). */
int64_t xtrk_s3_server_now(xtrk_s3 *s);

/** One file transfer of a batch. */
typedef struct {
	const char *key;  /* relative to the prefix */
	const char *path; /* local file: read for a put, created/replaced for a get */
	uint64_t size;    /* put: filled in by the batch; get: the size expected (UINT64_MAX: any) */
} xtrk_s3_file;

/**
 * Upload files, several at once, each created only when absent (an object
 * already there under a content-derived key is left as it is); files above
 * the multipart threshold go as streamed multipart uploads, after asking
 * whether they are there already.  `*sent` gets the bytes sent (also those
 * the server then found there already).
 */
int xtrk_s3_put_files(xtrk_s3 *s, xtrk_s3_file *files, size_t n, uint64_t *sent);

/** Upload one file to `key`, replacing what is there (multipart when large). */
int xtrk_s3_put_file(xtrk_s3 *s, const char *key, const char *path, uint64_t *sent);

/** Download files, several at once; a size different from the one expected is XTRK_ECORRUPT. */
int xtrk_s3_get_files(xtrk_s3 *s, const xtrk_s3_file *files, size_t n, uint64_t *received);

/** A pseudo-random number seeded per process, for backoff jitter. */
unsigned xtrk_s3_jitter(void);

/** "s3://BUCKET/PREFIX/key", for messages. */
const char *xtrk_s3_where(xtrk_s3 *s, const char *key);

#endif
