/* Revisions: naming a run by ID, ID prefix, tag, experiment or NAME~N. */
#include "config.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/revision.h"
#include "xtrk/run.h"

/* ---- revisions ---- */

static int nth_of_experiment(xtrk_oid *out, xtrk_repo *repo, const char *exp, long n, const char *rev)
{
	xtrk_run_item *items;
	size_t count;
	int err = xtrk_runs_list(&items, &count, repo, exp);
	if (err < 0)
		return err;
	if (!count)
		err = XTRK_ENOTFOUND;
	else if (n < 0 || (size_t)n >= count)
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s': experiment '%s' has only %zu run%s", rev, exp, count,
			count == 1 ? "" : "s");
	else
		*out = items[n].id;
	xtrk_runs_free(items, count);
	return err;
}

int xtrk_run_resolve(xtrk_oid *out, xtrk_repo *repo, const char *rev)
{
	size_t len = strlen(rev), n, matches = 0;
	const char *tilde = strrchr(rev, '~');
	xtrk_run_ref *refs = NULL;
	xtrk_buf cands = XTRK_BUF_INIT;
	int err;

	if (!len)
		return xtrk_error_set(XTRK_EINVALID, "empty run name");
	if (len == XTRK_OID_HEXSZ && xtrk_oid_is_hex(rev, len)) {
		char lower[XTRK_OID_HEXSZ + 1];
		for (size_t i = 0; i <= len; i++)
			lower[i] = (char)(rev[i] >= 'A' && rev[i] <= 'F' ? rev[i] + 32 : rev[i]);
		xtrk_oid_parse(out, lower);
		if (xtrk_odb_exists(xtrk_repo_odb(repo), out))
			return 0;
	}
	if (tilde && tilde != rev) {
		char *end, exp[256];
		long nth = strtol(tilde + 1, &end, 10);
		if (!tilde[1] || *end || nth < 0)
			return xtrk_error_set(XTRK_EINVALID, "'%s': expected NAME~N with N a number", rev);
		snprintf(exp, sizeof(exp), "%.*s", (int)(tilde - rev), rev);
		if (xtrk_refs_tag_lookup(out, repo, exp) == 0 && nth == 0)
			return 0;
		err = nth_of_experiment(out, repo, exp, nth, rev);
		if (err == XTRK_ENOTFOUND && !strstr(xtrk_error_last(), "has only"))
			err = xtrk_error_set(err, "unknown experiment '%s' in '%s' (see 'xtrk log')", exp, rev);
		return err;
	}
	if (len >= 4 && len <= XTRK_OID_HEXSZ && xtrk_oid_is_hex(rev, len)) {
		/* An ID prefix wins over a tag or experiment of that name; one naming another run is ambiguous. */
		xtrk_oid byname;
		const char *kind = NULL;
		if (xtrk_refs_tag_lookup(&byname, repo, rev) == 0)
			kind = "tag";
		else if (xtrk_error_clear(), nth_of_experiment(&byname, repo, rev, 0, rev) == 0)
			kind = "experiment";
		xtrk_error_clear();
		if ((err = xtrk_refs_list_runs(&refs, &n, repo, NULL)) < 0)
			return err;
		for (size_t i = 0; i < n && kind; i++)
			if (!strncasecmp(xtrk_oid_tostr(&refs[i].run), rev, len) && xtrk_oid_cmp(&refs[i].run, &byname)) {
				char other[XTRK_OID_HEXSZ + 1];
				xtrk_oid_fmt(other, &refs[i].run);
				err = xtrk_error_set(XTRK_EAMBIGUOUS,
					"'%s' is ambiguous: it is a %s naming run %s and a prefix of the ID of run %s; give "
					"more of the ID",
					rev, kind, xtrk_oid_tostr(&byname), other);
				free(refs);
				return err;
			}
		if (kind) {
			free(refs);
			*out = byname;
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			const char *hex = xtrk_oid_tostr(&refs[i].run);
			if (strncasecmp(hex, rev, len))
				continue;
			if (matches && !xtrk_oid_cmp(out, &refs[i].run))
				continue;
			*out = refs[i].run;
			matches++;
			xtrk_buf_printf(&cands, "\n  %s %s", hex, refs[i].experiment);
		}
		free(refs);
		if (matches == 1) {
			xtrk_buf_dispose(&cands);
			return 0;
		}
		if (matches > 1) {
			err = xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' is ambiguous; it matches %zu runs:%s", rev, matches,
				cands.ptr);
			xtrk_buf_dispose(&cands);
			return err;
		}
	} else {
		if (xtrk_refs_tag_lookup(out, repo, rev) == 0)
			return 0;
		if ((err = nth_of_experiment(out, repo, rev, 0, rev)) != XTRK_ENOTFOUND)
			return err;
	}
	xtrk_buf_dispose(&cands);
	return xtrk_error_set(XTRK_ENOTFOUND,
		"unknown run '%s': not a run ID, ID prefix, tag or experiment (see 'xtrk log')", rev);
}

