/* A small S3 client on libcurl: signed requests, conditional writes, retries, parallel and multipart transfers. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "s3.h"
#include "xtrk/errors.h"

#define S3_PARALLEL 8
#define S3_TRIES 8
#define S3_PART_SIZE (8u << 20)
#define S3_MAX_BODY (512u << 20) /* a response read into memory (the index, a reply) */

struct xtrk_s3 {
	char *bucket, *prefix; /* prefix: "" or "dir/sub" (no slash at either end) */
	char *base;            /* URL up to the bucket, with a trailing '/' */
	char *sigv4;           /* "aws:amz:REGION:s3" */
	char *key_id, *secret, *token;
	xtrk_buf where;
	int64_t date, date_seen; /* the server's clock (Date of its last answer), and ours when it was seen */
};

enum { M_GET, M_PUT, M_HEAD, M_DELETE, M_POST };

struct req {
	int method;
	char *url;
	const char *key; /* for messages */
	const char *if_match;
	int if_none_match;
	/* the body: memory, or a slice of a file (in_path: one opened when the request starts, closed when it ends) */
	const unsigned char *body;
	size_t body_len;
	int in_fd;
	const char *in_path;
	uint64_t in_off, in_len, pos;
	/* the response body: a buffer, or a file (out_path: created when the request starts, made durable and
	 * closed when it ends), so a batch holds a descriptor only for each request in flight */
	xtrk_buf *out;
	int out_fd;
	const char *out_path;
	uint64_t received;
	/* outcome */
	CURL *easy;
	struct curl_slist *hdrs;
	long status;
	CURLcode cc;
	xtrk_buf etag, err;
	char errbuf[CURL_ERROR_SIZE];
	int tries, done, write_failed;
	long long retry_at;
	int64_t date; /* the answer's Date, 0 when none */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Jitter for backoffs: differs between processes, so pushers that collided do not retry in step. */
unsigned xtrk_s3_jitter(void)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)now_ms();
	return (unsigned)rand_r(&seed);
}

/* ---- configuration ---- */

static int bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' || b[i] == '.'))
			return 0;
	return 1;
}

static int prefix_ok(const char *p)
{
	const char *seg = p;
	for (; *p; p++) {
		if (*p == '/') {
			if (p == seg || (p - seg == 1 && seg[0] == '.') || (p - seg == 2 && !strncmp(seg, "..", 2)))
				return 0;
			seg = p + 1;
			continue;
		}
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	}
	return !(p - seg == 1 && seg[0] == '.') && !(p - seg == 2 && !strncmp(seg, "..", 2));
}

int xtrk_s3_url_check(const char *url)
{
	const char *b, *slash;
	size_t n;
	if (strncmp(url, "s3://", 5))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not an s3://BUCKET/PREFIX address", url);
	b = url + 5;
	slash = strchr(b, '/');
	n = slash ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, n))
		return xtrk_error_set(XTRK_EINVALID, "'%s': the bucket name must be 3 to 63 lower-case letters, digits, "
			"'.' and '-'", url);
	if (slash) {
		char *p = strdup(slash + 1);
		size_t l;
		int ok;
		if (!p)
			return xtrk_error_oom();
		l = strlen(p);
		while (l && p[l - 1] == '/')
			p[--l] = 0;
		ok = prefix_ok(p);
		free(p);
		if (!ok)
			return xtrk_error_set(XTRK_EINVALID, "'%s': the prefix may hold letters, digits, '.', '_', '-' and "
				"'/' between names (no '.' or '..' names, no '//')", url);
	}
	return 0;
}

/* One value of a profile in an INI credentials file. */
static char *ini_value(const char *text, const char *profile, const char *name)
{
	const char *p = text;
	int in = 0;
	size_t pl = strlen(profile), nl = strlen(name);
	while (*p) {
		const char *e = strchr(p, '\n'), *q = p, *v;
		size_t len;
		if (!e)
			e = p + strlen(p);
		while (q < e && isspace((unsigned char)*q))
			q++;
		if (*q == '[') {
			const char *c = memchr(q, ']', (size_t)(e - q));
			in = c && (size_t)(c - q - 1) == pl && !strncmp(q + 1, profile, pl);
		} else if (in && (size_t)(e - q) > nl && !strncmp(q, name, nl)) {
			v = q + nl;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			if (v < e && *v == '=') {
				v++;
				while (v < e && isspace((unsigned char)*v))
					v++;
				len = (size_t)(e - v);
				while (len && isspace((unsigned char)v[len - 1]))
					len--;
				return strndup(v, len);
			}
		}
		p = *e ? e + 1 : e;
	}
	return NULL;
}

static int load_credentials(xtrk_s3 *s)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *profile = getenv("AWS_PROFILE"), *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	xtrk_buf path = XTRK_BUF_INIT, text = XTRK_BUF_INIT;
	int err = 0;

	if (id && *id && secret && *secret) {
		const char *t = getenv("AWS_SESSION_TOKEN");
		s->key_id = strdup(id);
		s->secret = strdup(secret);
		s->token = t && *t ? strdup(t) : NULL;
		return !s->key_id || !s->secret || (t && *t && !s->token) ? xtrk_error_oom() : 0;
	}
	if (!profile || !*profile)
		profile = "default";
	if (file && *file)
		xtrk_buf_sets(&path, file);
	else if (getenv("HOME"))
		xtrk_buf_printf(&path, "%s/.aws/credentials", getenv("HOME"));
	if (path.size && xtrk_buf_read_file(&text, path.ptr) == 0) {
		s->key_id = ini_value(text.ptr, profile, "aws_access_key_id");
		s->secret = ini_value(text.ptr, profile, "aws_secret_access_key");
		s->token = ini_value(text.ptr, profile, "aws_session_token");
	}
	xtrk_error_clear();
	if (!s->key_id || !s->secret || !*s->key_id || !*s->secret)
		err = xtrk_error_set(XTRK_EINVALID, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
			"or profile '%s' in %s", profile, path.size ? path.ptr : "~/.aws/credentials");
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&text);
	return err;
}

static void wipe(char *p)
{
	if (p) {
		volatile char *v = p;
		while (*v)
			*v++ = 0;
		free(p);
	}
}

void xtrk_s3_free(xtrk_s3 *s)
{
	if (!s)
		return;
	free(s->bucket);
	free(s->prefix);
	free(s->base);
	free(s->sigv4);
	wipe(s->key_id);
	wipe(s->secret);
	wipe(s->token);
	xtrk_buf_dispose(&s->where);
	free(s);
}

int xtrk_s3_open(xtrk_s3 **out, const char *url, const char *endpoint, const char *region)
{
	static int inited;
	xtrk_s3 *s;
	const char *b, *slash;
	xtrk_buf tmp = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = xtrk_s3_url_check(url)) < 0)
		return err;
	if (endpoint && strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8))
		return xtrk_error_set(XTRK_EINVALID, "the endpoint '%s' is not an http:// or https:// address", endpoint);
	if (region && (!*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a region name (lower-case letters, digits and '-')", region);
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return xtrk_error_set(XTRK_ERROR, "libcurl could not start");
		inited = 1;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return xtrk_error_oom();
	b = url + 5;
	slash = strchr(b, '/');
	s->bucket = strndup(b, slash ? (size_t)(slash - b) : strlen(b));
	s->prefix = strdup(slash ? slash + 1 : "");
	if (!s->bucket || !s->prefix) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t l = strlen(s->prefix); l && s->prefix[l - 1] == '/';)
		s->prefix[--l] = 0;
	if (!region)
		region = "us-east-1";
	if (endpoint) {
		size_t l = strlen(endpoint);
		while (l && endpoint[l - 1] == '/')
			l--;
		xtrk_buf_printf(&tmp, "%.*s/%s/", (int)l, endpoint, s->bucket);
	} else {
		xtrk_buf_printf(&tmp, "https://%s.s3.%s.amazonaws.com/", s->bucket, region);
	}
	if (xtrk_buf_oom(&tmp) || !(s->base = xtrk_buf_detach(&tmp))) {
		err = xtrk_error_oom();
		goto done;
	}
	xtrk_buf_printf(&tmp, "aws:amz:%s:s3", region);
	if (xtrk_buf_oom(&tmp) || !(s->sigv4 = xtrk_buf_detach(&tmp))) {
		err = xtrk_error_oom();
		goto done;
	}
	err = load_credentials(s);
done:
	xtrk_buf_dispose(&tmp);
	if (err < 0)
		xtrk_s3_free(s);
	else
		*out = s;
	return err;
}

const char *xtrk_s3_where(xtrk_s3 *s, const char *key)
{
	xtrk_buf_clear(&s->where);
	xtrk_buf_printf(&s->where, "s3://%s/%s%s%s", s->bucket, s->prefix, *s->prefix && key ? "/" : "", key ? key : "");
	return s->where.ptr ? s->where.ptr : "s3://";
}

/* ---- requests ---- */

static char *make_url(xtrk_s3 *s, const char *key, const char *query)
{
	xtrk_buf u = XTRK_BUF_INIT;
	xtrk_buf_printf(&u, "%s%s%s%s%s%s", s->base, s->prefix, *s->prefix ? "/" : "", key, query ? "?" : "",
		query ? query : "");
	if (xtrk_buf_oom(&u)) {
		xtrk_buf_dispose(&u);
		return NULL;
	}
	return xtrk_buf_detach(&u);
}

static void req_init(struct req *r, int method, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->in_fd = -1;
	r->out_fd = -1;
}

static void req_dispose(struct req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->url);
	xtrk_buf_dispose(&r->etag);
	xtrk_buf_dispose(&r->err);
	r->easy = NULL;
	r->hdrs = NULL;
	r->url = NULL;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *payload)
{
	struct req *r = payload;
	uint64_t left = (r->in_fd >= 0 ? r->in_len : r->body_len) - r->pos;
	size_t want = size * nitems;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (r->in_fd >= 0) {
		ssize_t got = pread(r->in_fd, buf, want, (off_t)(r->in_off + r->pos));
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	} else {
		memcpy(buf, r->body + r->pos, want);
	}
	r->pos += want;
	return want;
}

static int on_seek(void *payload, curl_off_t offset, int origin)
{
	struct req *r = payload;
	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *payload)
{
	struct req *r = payload;
	size_t n = size * nmemb;
	long code = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 300 || (!r->out && r->out_fd < 0)) {
		if (r->err.size < 4096)
			xtrk_buf_put(&r->err, data, n);
		return n;
	}
	if (r->out_fd >= 0) {
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(r->out_fd, data + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r->write_failed = errno ? errno : EIO;
				return 0;
			}
			done += (size_t)w;
		}
	} else if (r->out->size + n > S3_MAX_BODY || xtrk_buf_put(r->out, data, n) < 0) {
		r->write_failed = ENOMEM;
		return 0;
	}
	r->received += n;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *payload)
{
	struct req *r = payload;
	size_t n = size * nitems;
	if (n > 5 && !strncasecmp(data, "etag:", 5)) {
		const char *v = data + 5;
		size_t l = n - 5;
		while (l && (*v == ' ' || *v == '\t'))
			v++, l--;
		while (l && isspace((unsigned char)v[l - 1]))
			l--;
		xtrk_buf_clear(&r->etag);
		xtrk_buf_put(&r->etag, v, l);
	} else if (n > 5 && n < 128 && !strncasecmp(data, "date:", 5)) {
		char d[128];
		time_t t;
		memcpy(d, data + 5, n - 5);
		d[n - 5] = 0;
		if ((t = curl_getdate(d, NULL)) > 0)
			r->date = (int64_t)t;
	}
	return n;
}

static int add_header(struct req *r, const char *h)
{
	struct curl_slist *n = curl_slist_append(r->hdrs, h);
	if (!n)
		return -1;
	r->hdrs = n;
	return 0;
}

/* A fresh handle for one try of `r`. */
static int req_start(xtrk_s3 *s, struct req *r)
{
	CURL *e;
	xtrk_buf h = XTRK_BUF_INIT;
	int bad = 0;

	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	r->pos = 0;
	r->received = 0;
	r->status = 0;
	r->write_failed = 0;
	r->date = 0;
	r->errbuf[0] = 0;
	xtrk_buf_clear(&r->etag);
	xtrk_buf_clear(&r->err);
	if (r->out)
		xtrk_buf_clear(r->out);
	if (r->in_path && r->in_fd < 0 && (r->in_fd = open(r->in_path, O_RDONLY | O_CLOEXEC)) < 0)
		return xtrk_error_errno("cannot read '%s'", r->in_path);
	if (r->out_path && r->out_fd < 0 &&
	    (r->out_fd = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return xtrk_error_errno("cannot create '%s'", r->out_path);
	if (r->out_fd >= 0 && (ftruncate(r->out_fd, 0) < 0 || lseek(r->out_fd, 0, SEEK_SET) < 0))
		return xtrk_error_errno("cannot write '%s'", r->out_path);
	if (!(r->easy = e = curl_easy_init()))
		return xtrk_error_oom();
	/* The payload is not hashed (it streams); a header libcurl signs must also be sent, so no empty "Expect:". */
	bad |= add_header(r, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (s->token) {
		xtrk_buf_printf(&h, "x-amz-security-token: %s", s->token);
		bad |= xtrk_buf_oom(&h) || add_header(r, h.ptr);
		xtrk_buf_clear(&h);
	}
	if (r->if_match) {
		xtrk_buf_printf(&h, "If-Match: %s", r->if_match);
		bad |= xtrk_buf_oom(&h) || add_header(r, h.ptr);
	}
	if (r->if_none_match)
		bad |= add_header(r, "If-None-Match: *");
	xtrk_buf_dispose(&h);
	if (bad)
		return xtrk_error_oom();
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(e, CURLOPT_USERNAME, s->key_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	switch (r->method) {
	case M_HEAD:
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		break;
	case M_DELETE:
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	case M_PUT:
	case M_POST:
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
			(curl_off_t)(r->in_fd >= 0 ? r->in_len : r->body_len));
		if (r->method == M_POST)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
		break;
	default:
		break;
	}
	r->tries++;
	return 0;
}

static int transient(const struct req *r)
{
	switch (r->cc) {
	case CURLE_OK:
		return r->status == 500 || r->status == 502 || r->status == 503 || r->status == 504 || r->status == 429;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* A request's own files, once it has its outcome: what it received made durable, both closed. */
static void req_finish(struct req *r)
{
	if (r->out_path && r->out_fd >= 0) {
		if (!r->write_failed && r->cc == CURLE_OK && r->status == 200 && fsync(r->out_fd) < 0)
			r->write_failed = errno ? errno : EIO;
		close(r->out_fd);
		r->out_fd = -1;
	}
	if (r->in_path && r->in_fd >= 0) {
		close(r->in_fd);
		r->in_fd = -1;
	}
}

/*
 * Run requests, up to S3_PARALLEL at once, each retried with exponential
 * backoff while its failure is transient.  Returns < 0 only when the
 * requests could not be run at all; each one's outcome is in its status/cc.
 */
static int run_batch(xtrk_s3 *s, struct req **rs, size_t n)
{
	CURLM *m = curl_multi_init();
	size_t left = n, active = 0;
	int err = 0;

	if (!m)
		return xtrk_error_oom();
	for (size_t i = 0; i < n; i++) {
		rs[i]->done = 0;
		rs[i]->tries = 0;
		rs[i]->retry_at = 0;
	}
	while (left) {
		long long now = now_ms();
		int running, msgs;
		CURLMsg *msg;
		/* start new requests and due retries, up to the limit */
		for (size_t i = 0; i < n && active < S3_PARALLEL; i++) {
			struct req *r = rs[i];
			if (r->done || (r->tries && (r->retry_at == 0 || r->retry_at > now)))
				continue;
			if ((err = req_start(s, r)) < 0)
				goto done;
			r->retry_at = 0;
			if (curl_multi_add_handle(m, r->easy) != CURLM_OK) {
				err = xtrk_error_oom();
				goto done;
			}
			active++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &msgs))) {
			struct req *r = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			r->cc = msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
			curl_multi_remove_handle(m, msg->easy_handle);
			active--;
			if (!r->write_failed && transient(r) && r->tries < S3_TRIES) {
				long long wait = 50LL << (r->tries - 1);
				if (wait > 2000)
					wait = 2000;
				r->retry_at = now_ms() + wait + (long long)(xtrk_s3_jitter() % (unsigned)(wait / 2 + 1));
				continue;
			}
			r->done = 1;
			req_finish(r);
			left--;
			if (r->date > 0) {
				s->date = r->date;
				s->date_seen = (int64_t)time(NULL);
			}
		}
		if (left)
			curl_multi_poll(m, NULL, 0, 20, NULL);
	}
done:
	for (size_t i = 0; i < n; i++) {
		if (rs[i]->easy)
			curl_multi_remove_handle(m, rs[i]->easy);
		req_finish(rs[i]);
	}
	curl_multi_cleanup(m);
	return err;
}

/* The error of a finished request: its S3 error code, HTTP status, or the connection's failure. */
static int req_error(xtrk_s3 *s, struct req *r, const char *what)
{
	const char *c, *e;
	if (r->write_failed)
		return r->write_failed == ENOMEM
			? xtrk_error_set(XTRK_ERROR, "%s %s: the reply is too large", what, xtrk_s3_where(s, r->key))
			: xtrk_error_set(XTRK_ERROR, "%s %s: cannot write '%s': %s", what, xtrk_s3_where(s, r->key),
				  r->out_path ? r->out_path : "?", strerror(r->write_failed));
	if (r->cc != CURLE_OK)
		return xtrk_error_set(XTRK_ERROR, "%s %s: %s (after %d tries)", what, xtrk_s3_where(s, r->key),
			r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->cc), r->tries);
	if (r->err.ptr && (c = strstr(r->err.ptr, "<Code>")) && (e = strstr(c, "</Code>")) && e - c < 80) {
		char code[80];
		size_t l = (size_t)(e - c - 6);
		memcpy(code, c + 6, l);
		code[l] = 0;
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)code[i]))
				code[i] = '?';
		return xtrk_error_set(r->status == 404 ? XTRK_ENOTFOUND : XTRK_ERROR, "%s %s: HTTP %ld %s%s", what,
			xtrk_s3_where(s, r->key), r->status, code, r->tries > 1 ? " (after retries)" : "");
	}
	return xtrk_error_set(r->status == 404 ? XTRK_ENOTFOUND : XTRK_ERROR, "%s %s: HTTP %ld%s", what,
		xtrk_s3_where(s, r->key), r->status, r->tries > 1 ? " (after retries)" : "");
}

static int run_one(xtrk_s3 *s, struct req *r)
{
	struct req *one[1] = { r };
	return run_batch(s, one, 1);
}

int xtrk_s3_get(xtrk_s3 *s, const char *key, xtrk_buf *out, xtrk_buf *etag)
{
	struct req r;
	int err;
	req_init(&r, M_GET, key);
	r.out = out;
	if (!(r.url = make_url(s, key, NULL)))
		return xtrk_error_oom();
	if ((err = run_one(s, &r)) == 0) {
		if (r.cc == CURLE_OK && r.status == 404)
			err = xtrk_error_set(XTRK_ENOTFOUND, "%s does not exist", xtrk_s3_where(s, key));
		else if (r.cc != CURLE_OK || r.status != 200 || r.write_failed)
			err = req_error(s, &r, "GET");
		else if (etag && (xtrk_buf_sets(etag, r.etag.ptr ? r.etag.ptr : "") < 0))
			err = xtrk_error_oom();
	}
	req_dispose(&r);
	return err;
}

int xtrk_s3_put(xtrk_s3 *s, const char *key, const void *data, size_t len, const char *if_match, int if_none_match,
	xtrk_buf *etag_out)
{
	struct req r;
	int err;
	req_init(&r, M_PUT, key);
	r.body = data;
	r.body_len = len;
	r.if_match = if_match;
	r.if_none_match = if_none_match;
	if (!(r.url = make_url(s, key, NULL)))
		return xtrk_error_oom();
	if ((err = run_one(s, &r)) == 0) {
		if (r.cc == CURLE_OK && (r.status == 412 || r.status == 409))
			err = xtrk_error_set(XTRK_EEXISTS, "%s changed meanwhile", xtrk_s3_where(s, key));
		else if (r.cc != CURLE_OK || r.status / 100 != 2)
			err = req_error(s, &r, "PUT");
		else if (etag_out && xtrk_buf_sets(etag_out, r.etag.ptr ? r.etag.ptr : "") < 0)
			err = xtrk_error_oom();
	}
	req_dispose(&r);
	return err;
}

int xtrk_s3_exists(xtrk_s3 *s, const char *key)
{
	struct req r;
	int err;
	req_init(&r, M_HEAD, key);
	if (!(r.url = make_url(s, key, NULL)))
		return xtrk_error_oom();
	if ((err = run_one(s, &r)) == 0) {
		if (r.cc == CURLE_OK && r.status == 404)
			err = 0;
		else if (r.cc == CURLE_OK && r.status == 200)
			err = 1;
		else
			err = req_error(s, &r, "HEAD");
	}
	req_dispose(&r);
	return err;
}

int xtrk_s3_delete(xtrk_s3 *s, const char *key)
{
	struct req r;
	int err;
	req_init(&r, M_DELETE, key);
	if (!(r.url = make_url(s, key, NULL)))
		return xtrk_error_oom();
	if ((err = run_one(s, &r)) == 0 && (r.cc != CURLE_OK || (r.status / 100 != 2 && r.status != 404)))
		err = req_error(s, &r, "DELETE");
	req_dispose(&r);
	return err;
}

static char *xml_value(const char *text, const char *tag);

int64_t xtrk_s3_server_now(xtrk_s3 *s)
{
	int64_t now = (int64_t)time(NULL);
	return s->date > 0 ? s->date + (now - s->date_seen) : now;
}

/* "2026-12-03T15:40:00.000Z" as seconds since the epoch; -1 when it is not that. */
static int64_t iso_time(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		      &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* A key or prefix for a query string: ours hold [A-Za-z0-9._/-], and '/' is written %2F. */
static int query_put(xtrk_buf *q, const char *v)
{
	for (; *v; v++)
		if (*v == '/')
			xtrk_buf_puts(q, "%2F");
		else if (isalnum((unsigned char)*v) || strchr("._-", *v))
			xtrk_buf_put(q, v, 1);
		else
			return -1;
	return 0;
}

/* GET one page of a listing at the URL in `q` (consumed) into `body`. */
static int list_page(xtrk_s3 *s, xtrk_buf *q, const char *sub, xtrk_buf *body, const char *what, long *status)
{
	struct req r;
	int err;
	if (xtrk_buf_oom(q))
		return xtrk_error_oom();
	req_init(&r, M_GET, sub);
	r.out = body;
	r.url = xtrk_buf_detach(q);
	if ((err = run_one(s, &r)) == 0 && (r.cc != CURLE_OK || r.status != 200 || r.write_failed))
		err = req_error(s, &r, what);
	if (status)
		*status = r.status;
	req_dispose(&r);
	return err;
}

int xtrk_s3_list(xtrk_s3 *s, const char *sub, xtrk_s3_list_fn fn, void *payload)
{
	xtrk_buf full = XTRK_BUF_INIT, q = XTRK_BUF_INIT, body = XTRK_BUF_INIT, after = XTRK_BUF_INIT;
	size_t strip;
	int err = 0, more = 1;

	xtrk_buf_printf(&full, "%s%s%s", s->prefix, *s->prefix ? "/" : "", sub);
	if (xtrk_buf_oom(&full))
		return xtrk_error_oom();
	strip = strlen(s->prefix) + (*s->prefix ? 1 : 0);
	/* A page at a time, each from after the last key seen (no continuation tokens to carry). */
	while (more && err == 0) {
		const char *c;
		xtrk_buf_clear(&q);
		/* the bucket itself: its URL without the trailing '/' */
		xtrk_buf_printf(&q, "%.*s?list-type=2&max-keys=1000&prefix=", (int)strlen(s->base) - 1, s->base);
		if (query_put(&q, full.ptr) < 0 || (after.size && (xtrk_buf_puts(&q, "&start-after="),
							   query_put(&q, after.ptr) < 0))) {
			err = xtrk_error_set(XTRK_EINVALID, "cannot list %s: a key outside [A-Za-z0-9._/-]",
				xtrk_s3_where(s, sub));
			break;
		}
		if ((err = list_page(s, &q, sub, &body, "LIST", NULL)) < 0)
			break;
		more = body.ptr && strstr(body.ptr, "<IsTruncated>true</IsTruncated>");
		c = body.ptr ? body.ptr : "";
		while (err == 0 && (c = strstr(c, "<Contents>"))) {
			const char *end = strstr(c, "</Contents>");
			char *item, *key, *size, *mod;
			if (!end) {
				err = xtrk_error_set(XTRK_ECORRUPT, "listing %s: a reply that is not a listing",
					xtrk_s3_where(s, sub));
				break;
			}
			if (!(item = strndup(c, (size_t)(end - c))))
				err = xtrk_error_oom();
			key = item ? xml_value(item, "Key") : NULL;
			size = item ? xml_value(item, "Size") : NULL;
			mod = item ? xml_value(item, "LastModified") : NULL;
			if (err == 0 && key && !strncmp(key, full.ptr, full.size) && strlen(key) > strip &&
			    !strchr(key, '&')) {
				/* What follows the last key is asked for next, whatever this one is. */
				xtrk_buf_sets(&after, key);
				err = fn(key + strip, size ? strtoull(size, NULL, 10) : 0, iso_time(mod), payload);
			} else if (err == 0 && !key) {
				err = xtrk_error_set(XTRK_ECORRUPT, "listing %s: an entry without a key",
					xtrk_s3_where(s, sub));
			}
			free(item);
			free(key);
			free(size);
			free(mod);
			c = end;
		}
		if (more && !after.size)
			more = 0;
		xtrk_buf_clear(&body);
	}
	xtrk_buf_dispose(&full);
	xtrk_buf_dispose(&q);
	xtrk_buf_dispose(&body);
	xtrk_buf_dispose(&after);
	return err;
}

int xtrk_s3_list_uploads(xtrk_s3 *s, const char *sub, xtrk_s3_upload_fn fn, void *payload)
{
	xtrk_buf full = XTRK_BUF_INIT, q = XTRK_BUF_INIT, body = XTRK_BUF_INIT;
	char *key_marker = NULL, *id_marker = NULL;
	size_t strip = strlen(s->prefix) + (*s->prefix ? 1 : 0);
	int err = 0, more = 1;
	long status = 0;

	xtrk_buf_printf(&full, "%s%s%s", s->prefix, *s->prefix ? "/" : "", sub);
	if (xtrk_buf_oom(&full))
		return xtrk_error_oom();
	while (more && err == 0) {
		const char *c;
		char *km = NULL, *im = NULL;
		xtrk_buf_clear(&q);
		/* the query's names in the order the signature sorts them */
		xtrk_buf_printf(&q, "%.*s?", (int)strlen(s->base) - 1, s->base);
		if (key_marker && (!(km = curl_easy_escape(NULL, key_marker, 0)) || !(im = curl_easy_escape(NULL, id_marker, 0)))) {
			curl_free(km);
			err = xtrk_error_oom();
			break;
		}
		if (km)
			xtrk_buf_printf(&q, "key-marker=%s&", km);
		xtrk_buf_puts(&q, "prefix=");
		if (query_put(&q, full.ptr) < 0) {
			curl_free(km);
			curl_free(im);
			err = xtrk_error_set(XTRK_EINVALID, "cannot list the uploads of %s", xtrk_s3_where(s, sub));
			break;
		}
		if (im)
			xtrk_buf_printf(&q, "&upload-id-marker=%s", im);
		xtrk_buf_puts(&q, "&uploads=");
		curl_free(km);
		curl_free(im);
		if ((err = list_page(s, &q, sub, &body, "LIST (multipart uploads)", &status)) < 0) {
			/* A server that cannot list multipart uploads (501 NotImplemented) shows none. */
			if (status == 501 && !key_marker) {
				xtrk_error_clear();
				err = 0;
			}
			break;
		}
		more = body.ptr && strstr(body.ptr, "<IsTruncated>true</IsTruncated>");
		c = body.ptr ? body.ptr : "";
		free(key_marker);
		free(id_marker);
		key_marker = id_marker = NULL;
		while (err == 0 && (c = strstr(c, "<Upload>"))) {
			const char *end = strstr(c, "</Upload>");
			char *item, *key = NULL, *id = NULL, *at = NULL;
			if (!end)
				break;
			if (!(item = strndup(c, (size_t)(end - c))))
				err = xtrk_error_oom();
			if (item) {
				key = xml_value(item, "Key");
				id = xml_value(item, "UploadId");
				at = xml_value(item, "Initiated");
			}
			if (err == 0 && key && id && *id && !strchr(id, '&') && !strncmp(key, full.ptr, full.size) &&
			    strlen(key) > strip && !strchr(key, '&')) {
				err = fn(key + strip, id, iso_time(at), payload);
			}
			if (key && id) {
				free(key_marker);
				free(id_marker);
				key_marker = key;
				id_marker = id;
				key = id = NULL;
			}
			free(item);
			free(key);
			free(id);
			free(at);
			c = end;
		}
		if (more && !key_marker)
			more = 0;
		xtrk_buf_clear(&body);
	}
	free(key_marker);
	free(id_marker);
	xtrk_buf_dispose(&full);
	xtrk_buf_dispose(&q);
	xtrk_buf_dispose(&body);
	return err;
}

int xtrk_s3_abort_upload(xtrk_s3 *s, const char *key, const char *upload_id)
{
	struct req r;
	xtrk_buf q = XTRK_BUF_INIT;
	char *esc = curl_easy_escape(NULL, upload_id, 0);
	int err;
	req_init(&r, M_DELETE, key);
	if (esc)
		xtrk_buf_printf(&q, "uploadId=%s", esc);
	curl_free(esc);
	if (!esc || xtrk_buf_oom(&q) || !(r.url = make_url(s, key, q.ptr))) {
		xtrk_buf_dispose(&q);
		return xtrk_error_oom();
	}
	if ((err = run_one(s, &r)) == 0 && (r.cc != CURLE_OK || (r.status / 100 != 2 && r.status != 404)))
		err = req_error(s, &r, "DELETE (an unfinished multipart upload)");
	req_dispose(&r);
	xtrk_buf_dispose(&q);
	return err;
}

/* ---- multipart ---- */

static char *xml_value(const char *text, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!text || !(a = strstr(text, open)) || !(b = strstr(a, close)))
		return NULL;
	a += strlen(open);
	return strndup(a, (size_t)(b - a));
}

/* One large file as a multipart upload: parts streamed from the file, several at once; created only when absent. */
static int put_multipart(xtrk_s3 *s, const char *key, int fd, uint64_t size, uint64_t *sent, int if_none_match)
{
	struct req init, done, *parts = NULL, **ptrs = NULL;
	size_t nparts = (size_t)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	char *upload = NULL, *esc = NULL;
	xtrk_buf q = XTRK_BUF_INIT, body = XTRK_BUF_INIT, ans = XTRK_BUF_INIT;
	int err, started = 0;

	req_init(&init, M_POST, key);
	req_init(&done, M_POST, key);
	init.out = &ans;
	/* "uploads=", not "uploads": the canonical query of the signature has the '=' (libcurl 7.88 leaves it out). */
	if (!(init.url = make_url(s, key, "uploads="))) {
		err = xtrk_error_oom();
		goto out;
	}
	if ((err = run_one(s, &init)) < 0)
		goto out;
	if (init.cc != CURLE_OK || init.status != 200) {
		err = req_error(s, &init, "POST (start of a multipart upload)");
		goto out;
	}
	if (!(upload = xml_value(ans.ptr, "UploadId")) || !*upload) {
		err = xtrk_error_set(XTRK_ERROR, "%s: the server gave no upload ID", xtrk_s3_where(s, key));
		goto out;
	}
	started = 1;
	if (!(esc = curl_easy_escape(NULL, upload, 0)) || !(parts = calloc(nparts, sizeof(*parts))) ||
	    !(ptrs = calloc(nparts, sizeof(*ptrs)))) {
		err = xtrk_error_oom();
		goto out;
	}
	for (size_t i = 0; i < nparts; i++) {
		req_init(&parts[i], M_PUT, key);
		parts[i].in_fd = fd;
		parts[i].in_off = (uint64_t)i * S3_PART_SIZE;
		parts[i].in_len = size - parts[i].in_off < S3_PART_SIZE ? size - parts[i].in_off : S3_PART_SIZE;
		xtrk_buf_clear(&q);
		xtrk_buf_printf(&q, "partNumber=%zu&uploadId=%s", i + 1, esc);
		if (xtrk_buf_oom(&q) || !(parts[i].url = make_url(s, key, q.ptr))) {
			err = xtrk_error_oom();
			goto out;
		}
		ptrs[i] = &parts[i];
	}
	if ((err = run_batch(s, ptrs, nparts)) < 0)
		goto out;
	xtrk_buf_puts(&body, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].cc != CURLE_OK || parts[i].status != 200 || !parts[i].etag.size) {
			err = req_error(s, &parts[i], "PUT (a part of a multipart upload)");
			goto out;
		}
		xtrk_buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, parts[i].etag.ptr);
	}
	xtrk_buf_puts(&body, "</CompleteMultipartUpload>");
	*sent += size; /* sent, whatever the end finds */
	xtrk_buf_clear(&q);
	xtrk_buf_printf(&q, "uploadId=%s", esc);
	if (xtrk_buf_oom(&body) || xtrk_buf_oom(&q) || !(done.url = make_url(s, key, q.ptr))) {
		err = xtrk_error_oom();
		goto out;
	}
	done.body = (const unsigned char *)body.ptr;
	done.body_len = body.size;
	done.if_none_match = if_none_match;
	done.out = &ans;
	if ((err = run_one(s, &done)) < 0)
		goto out;
	if (done.cc == CURLE_OK && done.status == 412) {
		err = 0; /* there already: the same content under its own name */
	} else if (done.cc != CURLE_OK || done.status != 200 || (ans.ptr && strstr(ans.ptr, "<Error>"))) {
		err = req_error(s, &done, "POST (end of a multipart upload)");
	} else {
		started = 0;
	}
out:
	if (started && upload && esc) {
		struct req abort_;
		req_init(&abort_, M_DELETE, key);
		xtrk_buf_clear(&q);
		xtrk_buf_printf(&q, "uploadId=%s", esc);
		if (!xtrk_buf_oom(&q) && (abort_.url = make_url(s, key, q.ptr)))
			run_one(s, &abort_);
		req_dispose(&abort_);
	}
	for (size_t i = 0; parts && i < nparts; i++)
		req_dispose(&parts[i]);
	free(parts);
	free(ptrs);
	req_dispose(&init);
	req_dispose(&done);
	curl_free(esc);
	free(upload);
	xtrk_buf_dispose(&q);
	xtrk_buf_dispose(&body);
	xtrk_buf_dispose(&ans);
	return err;
}

/* ---- batches of files ---- */

int xtrk_s3_put_files(xtrk_s3 *s, xtrk_s3_file *files, size_t n, uint64_t *sent)
{
	struct req *rs = calloc(n ? n : 1, sizeof(*rs)), **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	size_t nsmall = 0;
	int err = 0;

	*sent = 0;
	if (!rs || !ptrs) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		req_init(&rs[i], M_PUT, files[i].key);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct stat st;
		if (stat(files[i].path, &st) < 0) {
			err = xtrk_error_errno("cannot read '%s'", files[i].path);
			break;
		}
		files[i].size = (uint64_t)st.st_size;
		if (files[i].size >= XTRK_S3_MULTIPART_MIN) {
			/* Large: asked for first, so a rerun after an interruption sends it only when missing. */
			int fd;
			if ((err = xtrk_s3_exists(s, files[i].key)) > 0) {
				err = 0;
			} else if (err == 0 && (fd = open(files[i].path, O_RDONLY | O_CLOEXEC)) < 0) {
				err = xtrk_error_errno("cannot read '%s'", files[i].path);
			} else if (err == 0) {
				err = put_multipart(s, files[i].key, fd, files[i].size, sent, 1);
				close(fd);
			}
			continue;
		}
		rs[i].in_path = files[i].path;
		rs[i].in_len = files[i].size;
		rs[i].if_none_match = 1;
		if (!(rs[i].url = make_url(s, files[i].key, NULL)))
			err = xtrk_error_oom();
		ptrs[nsmall++] = &rs[i];
	}
	if (err == 0 && nsmall)
		err = run_batch(s, ptrs, nsmall);
	for (size_t i = 0; i < nsmall && err == 0; i++) {
		struct req *r = ptrs[i];
		if (r->cc == CURLE_OK && (r->status == 412 || r->status == 409)) {
			*sent += r->in_len; /* sent, and found there already */
			continue;
		}
		if (r->cc != CURLE_OK || r->status / 100 != 2)
			err = req_error(s, r, "PUT");
		else
			*sent += r->in_len;
	}
done:
	for (size_t i = 0; rs && i < n; i++) {
		if (rs[i].in_fd >= 0)
			close(rs[i].in_fd);
		req_dispose(&rs[i]);
	}
	free(rs);
	free(ptrs);
	return err;
}

int xtrk_s3_get_files(xtrk_s3 *s, const xtrk_s3_file *files, size_t n, uint64_t *received)
{
	struct req *rs = calloc(n ? n : 1, sizeof(*rs)), **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	int err = 0;

	*received = 0;
	if (!rs || !ptrs) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		req_init(&rs[i], M_GET, files[i].key);
	for (size_t i = 0; i < n && err == 0; i++) {
		rs[i].out_path = files[i].path;
		if (!(rs[i].url = make_url(s, files[i].key, NULL)))
			err = xtrk_error_oom();
		ptrs[i] = &rs[i];
	}
	if (err == 0)
		err = run_batch(s, ptrs, n);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct req *r = &rs[i];
		if (r->cc != CURLE_OK || r->status != 200 || r->write_failed)
			err = req_error(s, r, "GET");
		else if (files[i].size != UINT64_MAX && r->received != files[i].size)
			err = xtrk_error_set(XTRK_ECORRUPT, "%s holds %llu bytes where its index says %llu",
				xtrk_s3_where(s, files[i].key), (unsigned long long)r->received,
				(unsigned long long)files[i].size);
		else
			*received += r->received;
	}
done:
	for (size_t i = 0; rs && i < n; i++) {
		if (rs[i].out_fd >= 0)
			close(rs[i].out_fd);
		req_dispose(&rs[i]);
	}
	free(rs);
	free(ptrs);
	return err;
}

int xtrk_s3_put_file(xtrk_s3 *s, const char *key, const char *path, uint64_t *sent)
{
	struct stat st;
	struct req r;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	*sent = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = xtrk_error_errno("cannot read '%s'", path);
		if (fd >= 0)
			close(fd);
		return err;
	}
	if ((uint64_t)st.st_size >= XTRK_S3_MULTIPART_MIN) {
		err = put_multipart(s, key, fd, (uint64_t)st.st_size, sent, 0);
		close(fd);
		return err;
	}
	req_init(&r, M_PUT, key);
	r.in_fd = fd;
	r.in_len = (uint64_t)st.st_size;
	if (!(r.url = make_url(s, key, NULL)))
		err = xtrk_error_oom();
	else if ((err = run_one(s, &r)) == 0 && (r.cc != CURLE_OK || r.status / 100 != 2))
		err = req_error(s, &r, "PUT");
	else if (err == 0)
		*sent = r.in_len;
	close(fd);
	req_dispose(&r);
	return err;
}
