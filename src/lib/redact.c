/*
 * Secrets kept out of run records: names that look like they hold a secret, and credentials
 * inside URLs (user:password@, ?access_token=...) wherever a recorded text carries one.
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xtrk/buf.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"

#define REDACTED "REDACTED"

/* A part of a name (between '_', '-', '.', or a lower-to-upper case change) that names a secret. */
static const char *const secret_parts[] = {
	"TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE",
	"PW", "PWD", "PAT", "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CRED", "CREDS", "AUTH",
	"AUTHORIZATION", "SESSION", "COOKIE", "COOKIES", "SIGNATURE", "SIG", "DSN", "WEBHOOK", "PRIVATE",
	"SAS", "JWT", "BEARER", "OTP", NULL
};
/* Text anywhere in a name, separators left out, that names a secret ("MYAPIKEY", "DB_CONN_STRING"). */
static const char *const secret_words[] = {
	"SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "APIKEY", "ACCESSKEY", "PRIVATEKEY",
	"WEBHOOK", "SIGNATURE", "COOKIE", "CONNSTR", "CONNECTIONSTRING", "AUTHTOKEN", NULL
};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* "TOKEN" anywhere except as the start of TOKENIZER(S)/TOKENIZE, which are not secrets. */
static int has_token_word(const char *up)
{
	for (const char *p = up; (p = strstr(p, "TOKEN")); p += 5)
		if (strncmp(p + 5, "IZ", 2))
			return 1;
	return 0;
}

int xtrk_secret_name(const char *name)
{
	char up[256], joined[256], part[256];
	size_t n = 0, j = 0, k = 0;

	if (!name || !*name)
		return 0;
	/* The working directory (and the previous one) is a path, not a password. */
	if (!strcmp(name, "PWD") || !strcmp(name, "OLDPWD"))
		return 0;
	for (size_t i = 0; name[i] && n < sizeof(up) - 1; i++) {
		unsigned char c = (unsigned char)name[i];
		up[n++] = (char)toupper(c);
		if (isalnum(c) && j < sizeof(joined) - 1)
			joined[j++] = (char)toupper(c);
	}
	up[n] = '\0';
	joined[j] = '\0';
	for (const char *const *w = secret_words; *w; w++)
		if (strstr(joined, *w))
			return 1;
	if (has_token_word(joined))
		return 1;
	/* The parts, split at separators and at a lower-case letter followed by an upper-case one. */
	for (size_t i = 0;; i++) {
		unsigned char c = (unsigned char)name[i];
		int boundary = !c || !isalnum(c) ||
			(i > 0 && isupper(c) && islower((unsigned char)name[i - 1]));
		if (boundary && k) {
			part[k] = '\0';
			if (in_list(secret_parts, part))
				return 1;
			/* "SSHKEY", "MASTERKEY", "GHTOKEN": a part that ends in KEY(S) or TOKEN(S). */
			if ((k > 3 && !strcmp(part + k - 3, "KEY")) || (k > 4 && !strcmp(part + k - 4, "KEYS")))
				return 1;
			k = 0;
		}
		if (!c)
			break;
		if (isalnum(c) && k < sizeof(part) - 1)
			part[k++] = (char)toupper(c);
	}
	return 0;
}

/* A query or fragment parameter whose value is a secret: a secret-looking name, or an OAuth code. */
static int secret_param(const char *name, size_t len)
{
	char n[128];
	if (len >= sizeof(n))
		len = sizeof(n) - 1;
	memcpy(n, name, len);
	n[len] = '\0';
	return xtrk_secret_name(n) || !strcasecmp(n, "code") || !strcasecmp(n, "access_code");
}

static int url_end_char(unsigned char c)
{
	return c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}

static int scheme_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '-' || c == '.';
}

/* Parameters after '?' or '#' in [p, end): secret values become REDACTED. */
static void put_params(xtrk_buf *b, const char *p, const char *end)
{
	while (p < end) {
		const char *amp = p, *eq;
		while (amp < end && *amp != '&' && *amp != ';' && *amp != '#' && *amp != '?')
			amp++;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq && secret_param(p, (size_t)(eq - p))) {
			xtrk_buf_put(b, p, (size_t)(eq - p) + 1);
			xtrk_buf_puts(b, REDACTED);
		} else {
			xtrk_buf_put(b, p, (size_t)(amp - p));
		}
		if (amp < end)
			xtrk_buf_putc(b, *amp++);
		p = amp;
	}
}

/* One URL, [start, end) with "://" at `sep`, written to `b` without its credentials. */
static void put_url(xtrk_buf *b, const char *start, const char *sep, const char *end)
{
	const char *host = sep + 3, *auth_end = host, *at = NULL, *rest, *q;
	size_t slen = (size_t)(sep - start);

	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	for (const char *p = host; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (!at) {
		/* "u:pa/ss@host": a password holding '/', '?' or '#' (git takes it as written). */
		const char *colon = memchr(host, ':', (size_t)(auth_end - host)), *p;
		int port = colon != NULL;
		for (p = colon ? colon + 1 : auth_end; p < auth_end; p++)
			port = port && isdigit((unsigned char)*p);
		if (colon && !port)
			at = memchr(auth_end, '@', (size_t)(end - auth_end));
	}
	xtrk_buf_put(b, start, (size_t)(host - start));
	rest = host;
	if (at) {
		int ssh = (slen == 3 && !strncasecmp(start, "ssh", 3)) ||
			(slen == 7 && (!strncasecmp(start, "git+ssh", 7) || !strncasecmp(start, "ssh+git", 7)));
		/* A user name alone is kept for ssh ("ssh://git@host"); in http(s) it may be a token. */
		if (ssh && !memchr(host, ':', (size_t)(at - host)))
			xtrk_buf_put(b, host, (size_t)(at - host) + 1);
		rest = at + 1;
	}
	for (q = rest; q < end && *q != '?' && *q != '#'; q++)
		;
	xtrk_buf_put(b, rest, (size_t)(q - rest));
	if (q < end) {
		xtrk_buf_putc(b, *q);
		put_params(b, q + 1, end);
	}
}

char *xtrk_redact_text(const char *text)
{
	xtrk_buf b = XTRK_BUF_INIT;
	const char *p = text, *sep;

	if (!text)
		return NULL;
	while ((sep = strstr(p, "://"))) {
		const char *start = sep, *end = sep + 3;
		while (start > p && scheme_char((unsigned char)start[-1]))
			start--;
		while (start < sep && !isalpha((unsigned char)*start))
			start++;
		while (*end && !url_end_char((unsigned char)*end))
			end++;
		/* "a=https://...,b=https://...": a URL ends where the next one's scheme starts. */
		for (const char *next = sep + 3; (next = strstr(next, "://")) && next < end; next += 3) {
			const char *ns = next;
			while (ns > sep + 3 && scheme_char((unsigned char)ns[-1]))
				ns--;
			while (ns < next && !isalpha((unsigned char)*ns))
				ns++;
			if (ns < next) {
				end = ns;
				break;
			}
		}
		xtrk_buf_put(&b, p, (size_t)(start - p));
		if (start == sep)
			xtrk_buf_put(&b, sep, (size_t)(end - sep)); /* no scheme: not a URL */
		else
			put_url(&b, start, sep, end);
		p = end;
	}
	xtrk_buf_puts(&b, p);
	if (xtrk_buf_oom(&b)) {
		xtrk_buf_dispose(&b);
		xtrk_oom_note();
		return NULL;
	}
	return xtrk_buf_detach(&b);
}

char *xtrk_url_strip_credentials(const char *url)
{
	return xtrk_redact_text(url);
}

/* The option or assignment name of one argument: "--api-key=x" -> "api-key", "HF_TOKEN=x" -> "HF_TOKEN". */
static size_t arg_name(const char *arg, const char **name, int *dashed)
{
	const char *s = arg;
	size_t n = 0;
	*dashed = 0;
	while (*s == '-') {
		s++;
		*dashed = 1;
	}
	while (s[n] && (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '-' || s[n] == '.'))
		n++;
	*name = s;
	return n;
}

json_t *xtrk_redact_command(json_t *command)
{
	json_t *copy, *argv, *v;
	int next_secret = 0;
	size_t i;

	if (!command || !json_is_object(command))
		return json_incref(command);
	if (!(copy = json_deep_copy(command)))
		return NULL;
	argv = json_object_get(copy, "argv");
	json_array_foreach(argv, i, v) {
		const char *arg = json_string_value(v), *name;
		char nm[128], *clean;
		int dashed;
		size_t n;

		if (!arg)
			continue;
		if (next_secret) {
			next_secret = 0;
			if (*arg != '-') {
				json_array_set_new(argv, i, json_string(REDACTED));
				continue;
			}
		}
		n = arg_name(arg, &name, &dashed);
		snprintf(nm, sizeof(nm), "%.*s", (int)(n < sizeof(nm) ? n : sizeof(nm) - 1), name);
		if (i > 0 && n && xtrk_secret_name(nm)) {
			if (name[n] == '=') {
				xtrk_buf b = XTRK_BUF_INIT;
				xtrk_buf_put(&b, arg, (size_t)(name + n + 1 - arg));
				xtrk_buf_puts(&b, REDACTED);
				json_array_set_new(argv, i, json_string(b.ptr ? b.ptr : REDACTED));
				xtrk_buf_dispose(&b);
				continue;
			}
			if (dashed && !name[n]) {
				next_secret = 1; /* "--token VALUE" */
				continue;
			}
		}
		if ((clean = xtrk_redact_text(arg))) {
			if (strcmp(clean, arg))
				json_array_set_new(argv, i, json_string(clean));
			free(clean);
		}
	}
	return copy;
}
