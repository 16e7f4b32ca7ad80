/* Records appended to a run, named by refs/AREA/RUN/ID (runrefs.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runrefs.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"

int runrefs_ids(xtrk_oid **out, size_t *count, xtrk_repo *repo, const char *area, const xtrk_oid *run,
	const char *what)
{
	xtrk_buf p = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	size_t alloc = 0;
	int err = 0;

	*out = NULL;
	*count = 0;
	xtrk_buf_printf(&p, "%s/refs/%s/%s", xtrk_repo_dir(repo), area, xtrk_oid_tostr(run));
	if (xtrk_buf_oom(&p))
		return xtrk_error_oom();
	if (!(d = opendir(p.ptr))) {
		err = errno == ENOENT ? 0 : xtrk_error_errno("cannot read the %s of run %s", what, xtrk_oid_tostr(run));
		xtrk_buf_dispose(&p);
		return err;
	}
	while ((de = readdir(d))) {
		xtrk_oid id;
		if (strlen(de->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&id, de->d_name) < 0)
			continue;
		if (*count == alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			xtrk_oid *np = realloc(*out, na * sizeof(*np));
			if (!np) {
				err = xtrk_error_oom();
				break;
			}
			*out = np;
			alloc = na;
		}
		(*out)[(*count)++] = id;
	}
	closedir(d);
	xtrk_buf_dispose(&p);
	if (err < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

int runrefs_add(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *id)
{
	xtrk_buf rel = XTRK_BUF_INIT, content = XTRK_BUF_INIT;
	int err;
	xtrk_buf_printf(&rel, "refs/%s/%s/%s", area, xtrk_oid_tostr(run), xtrk_oid_tostr(id));
	xtrk_buf_printf(&content, "%s\n", xtrk_oid_tostr(id));
	err = xtrk_buf_oom(&rel) || xtrk_buf_oom(&content) ? xtrk_error_oom() : xtrk_ref_write(repo, rel.ptr, content.ptr, 0);
	xtrk_buf_dispose(&rel);
	xtrk_buf_dispose(&content);
	return err;
}

int runrefs_has(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *id)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int there;
	xtrk_buf_printf(&p, "%s/refs/%s/%s/%s", xtrk_repo_dir(repo), area, xtrk_oid_tostr(run), xtrk_oid_tostr(id));
	there = !xtrk_buf_oom(&p) && access(p.ptr, F_OK) == 0;
	xtrk_buf_dispose(&p);
	return there;
}

int runrefs_publish(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *ids, size_t n,
	size_t max, const char *what)
{
	xtrk_oid *have;
	size_t nhave, left;
	int err;
	if (!n)
		return 0;
	if ((err = runrefs_ids(&have, &nhave, repo, area, run, what)) < 0)
		return err;
	free(have);
	left = nhave < max ? max - nhave : 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		if (runrefs_has(repo, area, run, &ids[i]))
			continue;
		if (!left) {
			xtrk_warning_add("run %s already has %zu %s; %zu more left out", xtrk_oid_tostr(run), max, what,
				n - i);
			break;
		}
		if ((err = runrefs_add(repo, area, run, &ids[i])) == 0)
			left--;
	}
	return err;
}
