/* Tree objects: their text format, parsing and reading. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/tree.h"

static const char *kind_name(xtrk_entry_kind k)
{
	return k == XTRK_ENTRY_TREE ? "tree" : k == XTRK_ENTRY_LINK ? "link" : "blob";
}

int xtrk_tree_format_entry(xtrk_buf *out, const xtrk_tree_entry *e)
{
	return xtrk_buf_printf(out, "%06o %s %s %" PRIu64 " %" PRIu64 "\t%s\n", e->mode, kind_name(e->kind),
		xtrk_oid_tostr(&e->id), e->bytes, e->files, e->name);
}

/*
 * A name that is, or that some file system reads as, the store's folder or git's:
 * ".xtrk" and ".git" in any case, also with trailing dots or spaces (Windows drops
 * them) and as 8.3 short names ("GIT~1", "XTRK~1").
 */
static int reserved_component(const char *c, size_t n)
{
	while (n && (c[n - 1] == '.' || c[n - 1] == ' '))
		n--;
	return (n == 5 && !strncasecmp(c, ".xtrk", 5)) || (n == 4 && !strncasecmp(c, ".git", 4)) ||
		(n == 5 && !strncasecmp(c, "git~1", 5)) || (n == 6 && !strncasecmp(c, "xtrk~1", 6));
}

static const char *path_unsafe(const char *path, int controls_ok)
{
	const char *c = path;
	if (!path || !*path)
		return "an empty path";
	if (strlen(path) > XTRK_PATH_MAX)
		return "a path longer than 4096 bytes";
	if (*path == '/')
		return "an absolute path";
	for (const char *p = path; *p && !controls_ok; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "a path with a control character";
	for (;;) {
		size_t n = strcspn(c, "/");
		if (!n)
			return "a path with an empty component ('//' or a trailing '/')";
		if (n == 1 && c[0] == '.')
			return "a path with a '.' component";
		if (n == 2 && !strncmp(c, "..", 2))
			return "a path that climbs out with '..'";
		if (reserved_component(c, n))
			return "a path into .xtrk or .git";
		if (!c[n])
			return NULL;
		c += n + 1;
	}
}

const char *xtrk_path_unsafe(const char *path)
{
	return path_unsafe(path, 0);
}

const char *xtrk_data_path_unsafe(const char *path)
{
	return path_unsafe(path, 1);
}

const char *xtrk_path_shown(char *out, size_t size, const char *path)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)(path ? path : ""); *p && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	if (size)
		out[o < size ? o : size - 1] = '\0';
	return out;
}

/* Names that could escape a folder or shadow the store are never valid in a tree. */
static int name_ok(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/') &&
		!reserved_component(name, strlen(name));
}

static int parse_u64(const char **p, uint64_t *out, char stop, unsigned base)
{
	uint64_t v = 0;
	const char *s = *p;
	char max = (char)('0' + base - 1);
	if (*s < '0' || *s > max)
		return -1;
	if (base == 10 && s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return -1; /* one spelling per number: a tree's text, and so its ID, is canonical */
	for (; *s >= '0' && *s <= max; s++) {
		if (v > (UINT64_MAX - 9) / base)
			return -1;
		v = v * base + (uint64_t)(*s - '0');
	}
	if (*s != stop)
		return -1;
	*out = v;
	*p = s + 1;
	return 0;
}

int xtrk_tree_parse(xtrk_tree **out, const char *data, size_t len)
{
	xtrk_tree *t = calloc(1, sizeof(*t));
	size_t lines = 0, alloc = 0;
	char *p, *end;

	*out = NULL;
	if (!t || !(t->data = malloc(len + 1))) {
		free(t);
		return xtrk_error_oom();
	}
	xtrk_memcpy(t->data, data, len);
	t->data[len] = '\0';
	if (memchr(t->data, '\0', len))
		goto bad;
	for (size_t i = 0; i < len; i++)
		alloc += t->data[i] == '\n';
	if (len && t->data[len - 1] != '\n')
		goto bad;
	if (alloc && !(t->entries = calloc(alloc, sizeof(*t->entries)))) {
		xtrk_tree_free(t);
		return xtrk_error_oom();
	}
	for (p = t->data, end = t->data + len; p < end; lines++) {
		xtrk_tree_entry *e = &t->entries[t->count];
		char *nl = strchr(p, '\n'), kind[5], hex[XTRK_OID_HEXSZ + 1];
		uint64_t mode;
		const char *q = p;
		*nl = '\0';
		if (parse_u64(&q, &mode, ' ', 8) < 0 || q - p != 7 || strlen(q) < 5 + XTRK_OID_HEXSZ + 1)
			goto bad;
		memcpy(kind, q, 4);
		kind[4] = '\0';
		if (q[4] != ' ')
			goto bad;
		q += 5;
		memcpy(hex, q, XTRK_OID_HEXSZ);
		hex[XTRK_OID_HEXSZ] = '\0';
		if (q[XTRK_OID_HEXSZ] != ' ' || xtrk_oid_parse(&e->id, hex) < 0 || strpbrk(hex, "ABCDEF"))
			goto bad;
		q += XTRK_OID_HEXSZ + 1;
		if (parse_u64(&q, &e->bytes, ' ', 10) < 0 || parse_u64(&q, &e->files, '\t', 10) < 0)
			goto bad;
		if (!strcmp(kind, "blob") && (mode == 0100644 || mode == 0100755))
			e->kind = XTRK_ENTRY_BLOB;
		else if (!strcmp(kind, "link") && mode == 0120000)
			e->kind = XTRK_ENTRY_LINK;
		else if (!strcmp(kind, "tree") && mode == 040000)
			e->kind = XTRK_ENTRY_TREE;
		else
			goto bad;
		e->mode = (unsigned)mode;
		e->name = q;
		if (!name_ok(e->name) || (e->kind != XTRK_ENTRY_TREE && e->files != 1))
			goto bad;
		if (t->count && strcmp(t->entries[t->count - 1].name, e->name) >= 0)
			goto bad;
		t->count++;
		p = nl + 1;
	}
	*out = t;
	return 0;
bad:
	xtrk_tree_free(t);
	return xtrk_error_set(XTRK_ECORRUPT, "malformed tree (entry %zu)", lines + 1);
}

int xtrk_tree_read(xtrk_tree **out, xtrk_odb *odb, const xtrk_oid *oid)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int err = xtrk_odb_read(&b, NULL, odb, oid, XTRK_OBJ_TREE);
	if (err == 0 && (err = xtrk_tree_parse(out, b.ptr, b.size)) < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "tree %s: %s", xtrk_oid_tostr(oid), xtrk_error_last());
	}
	xtrk_buf_dispose(&b);
	return err;
}

void xtrk_tree_free(xtrk_tree *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->data);
	free(t);
}
