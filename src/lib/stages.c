/* Stages and approvals: records named by refs/stages/<run>/<record> (see xtrk/stages.h). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "fileutil.h"
#include "runrefs.h"
#include "xtrk/capture.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/exec.h"
#include "xtrk/index.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/odb.h"
#include "xtrk/oidset.h"
#include "xtrk/query.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"
#include "xtrk/stages.h"

#define NS "refs/stages"
#define AREA "stages" /* NS without refs/ */
#define SSH_TIMEOUT_MS 30000

/* ---- the rules ---- */

int xtrk_stage_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > XTRK_STAGE_MAX_NAME)
		return xtrk_error_set(XTRK_EINVALID, "a stage name is 1 to %d characters", XTRK_STAGE_MAX_NAME);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return xtrk_error_set(XTRK_EINVALID,
				"stage name '%.*s' is not one: letters, digits, '.', '_' and '-', starting with a letter or digit",
				XTRK_STAGE_MAX_NAME, name);
	}
	return 0;
}

/* A signer is an e-mail address as allowed_signers names principals: no spaces, commas, quotes or controls. */
static int signer_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > XTRK_STAGE_MAX_SIGNER || !strchr(s, '@'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("@._+-", c)))
			return 0;
	}
	return 1;
}

/* Optional text: "" or a note's text.  Required text: a note's text. */
static int text_ok(const char *t, size_t len, int required)
{
	if (!len && !required)
		return 1;
	if (xtrk_note_text_check(t, len) < 0) {
		xtrk_error_clear();
		return 0;
	}
	return 1;
}

static int line_ok(const char *t)
{
	size_t n = strlen(t);
	return n && n <= 256 && text_ok(t, n, 1) && !strchr(t, '\n') && !strchr(t, '\t');
}

static int time_valid(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	if (strlen(t) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != shape[i])
			return 0;
	return 1;
}

/* ---- the objects ---- */

static json_t *move_object(const char *author, const char *message, const char *run, const char *stage, const char *time)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "author", author, "message", message, "run", run, "stage",
		stage, "time", time, "type", "stage");
}

/* An approval without its signature: the bytes that are signed. */
static json_t *approval_object(const xtrk_stage_rec *r, const char *run)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "criteria", r->criteria, "mitigation", r->mitigation,
		"rationale", r->rationale, "run", run, "signer", r->who, "stage", r->stage, "time", r->time, "type",
		"approval");
}

static json_t *rec_object(const xtrk_stage_rec *r, const char *run)
{
	json_t *o;
	if (r->kind == XTRK_STAGE_MOVE)
		return move_object(r->who, r->message, run, r->stage, r->time);
	if ((o = approval_object(r, run)) && json_object_set_new(o, "signature", json_string(r->signature)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void xtrk_stage_rec_dispose(xtrk_stage_rec *r)
{
	if (!r)
		return;
	free(r->stage);
	free(r->who);
	free(r->message);
	free(r->rationale);
	free(r->criteria);
	free(r->mitigation);
	free(r->signature);
	r->stage = r->who = r->message = r->rationale = r->criteria = r->mitigation = r->signature = NULL;
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static int dup_into(char **to, const char *s)
{
	return (*to = strdup(s ? s : "")) ? 0 : xtrk_error_oom();
}

int xtrk_stage_parse(xtrk_stage_rec *out, const xtrk_oid *id, const xtrk_oid *run, const char *data, size_t len)
{
	json_t *j = NULL;
	json_error_t je;
	const char *type, *r, *stage, *time, *why = NULL;
	char *again = NULL;
	xtrk_oid named;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->id = *id;
	if (len > XTRK_STAGE_MAX_OBJECT)
		why = "is larger than any stage record";
	else if (!(j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(j))
		why = "is not a JSON object";
	else if (!(type = str(j, "type")) || !(r = str(j, "run")) || !(stage = str(j, "stage")) || !(time = str(j, "time")))
		why = "is not a stage record (type, run, stage, time)";
	else if (!strcmp(type, "stage")) {
		out->kind = XTRK_STAGE_MOVE;
		if (json_object_size(j) != 6 || !str(j, "author") || !str(j, "message"))
			why = "is not a stage move (author, message, run, stage, time, type)";
		else if (!line_ok(str(j, "author")))
			why = "has an author that is not one line of text";
		else if (!text_ok(str(j, "message"), json_string_length(json_object_get(j, "message")), 0))
			why = "has a message that is not a note's text";
	} else if (!strcmp(type, "approval")) {
		out->kind = XTRK_STAGE_APPROVAL;
		if (json_object_size(j) != 9 || !str(j, "criteria") || !str(j, "mitigation") || !str(j, "rationale") ||
		    !str(j, "signer") || !str(j, "signature"))
			why = "is not an approval (criteria, mitigation, rationale, run, signature, signer, stage, time, type)";
		else if (!signer_valid(str(j, "signer")))
			why = "has a signer that is not an e-mail address";
		else if (!text_ok(str(j, "rationale"), json_string_length(json_object_get(j, "rationale")), 1) ||
			 !text_ok(str(j, "criteria"), json_string_length(json_object_get(j, "criteria")), 0) ||
			 !text_ok(str(j, "mitigation"), json_string_length(json_object_get(j, "mitigation")), 0))
			why = "has a rationale, criteria or mitigation that is not a note's text";
		else if (strlen(str(j, "signature")) > XTRK_STAGE_MAX_SIGNATURE ||
			 strncmp(str(j, "signature"), "-----BEGIN SSH SIGNATURE-----\n", 30))
			why = "has no SSH signature";
	} else {
		why = "is of an unknown type";
	}
	if (!why) {
		if (xtrk_oid_parse(&named, r) < 0 || strlen(r) != XTRK_OID_HEXSZ || xtrk_oid_cmp(&named, run))
			why = "belongs to another run";
		else if (xtrk_stage_name_check(stage) < 0) {
			xtrk_error_clear();
			why = "names no valid stage";
		} else if (!time_valid(time))
			why = "has no valid time";
		else if (!(again = xtrk_json_dumps(j, XTRK_JSON_STORE)))
			err = xtrk_error_oom();
		else if (strlen(again) != len || memcmp(again, data, len))
			why = "is not in the form xtrk writes (compact, keys sorted)";
	}
	if (!why && err == 0) {
		snprintf(out->time, sizeof(out->time), "%s", time);
		if ((err = dup_into(&out->stage, stage)) == 0 &&
		    (err = dup_into(&out->who, str(j, out->kind == XTRK_STAGE_MOVE ? "author" : "signer"))) == 0 &&
		    (err = dup_into(&out->message, str(j, "message"))) == 0 &&
		    (err = dup_into(&out->rationale, str(j, "rationale"))) == 0 &&
		    (err = dup_into(&out->criteria, str(j, "criteria"))) == 0 &&
		    (err = dup_into(&out->mitigation, str(j, "mitigation"))) == 0)
			err = dup_into(&out->signature, str(j, "signature"));
	}
	if (why)
		err = xtrk_error_set(XTRK_ECORRUPT, "stage record %s of run %s %s", xtrk_oid_tostr(id), xtrk_oid_tostr(run),
			why);
	if (err < 0)
		xtrk_stage_rec_dispose(out);
	free(again);
	json_decref(j);
	return err;
}

static int rec_read(xtrk_stage_rec *out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *id)
{
	xtrk_buf b = XTRK_BUF_INIT;
	uint64_t size;
	int err;
	memset(out, 0, sizeof(*out));
	if ((err = xtrk_odb_stat(&size, NULL, xtrk_repo_odb(repo), id)) < 0)
		return xtrk_error_set(err, "stage record %s of run %s is not in the store", xtrk_oid_tostr(id),
			xtrk_oid_tostr(run));
	if (size > XTRK_STAGE_MAX_OBJECT)
		return xtrk_error_set(XTRK_ECORRUPT, "stage record %s of run %s is larger than any (%llu bytes)",
			xtrk_oid_tostr(id), xtrk_oid_tostr(run), (unsigned long long)size);
	if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(repo), id, XTRK_OBJ_BLOB)) == 0)
		err = xtrk_stage_parse(out, id, run, b.ptr ? b.ptr : "", b.size);
	else
		err = xtrk_error_set(err, "stage record %s of run %s: %s", xtrk_oid_tostr(id), xtrk_oid_tostr(run),
			xtrk_error_last());
	xtrk_buf_dispose(&b);
	return err;
}

/* ---- refs ---- */

static int rec_cmp(const void *a, const void *b)
{
	const xtrk_stage_rec *x = a, *y = b;
	int c = strcmp(x->time, y->time);
	return c ? c : xtrk_oid_cmp(&x->id, &y->id);
}

void xtrk_stages_free(xtrk_stage_rec *recs, size_t count)
{
	for (size_t i = 0; recs && i < count; i++)
		xtrk_stage_rec_dispose(&recs[i]);
	free(recs);
}

int xtrk_stages_list(xtrk_stage_rec **out, size_t *count, xtrk_repo *repo, const xtrk_oid *run, int lenient)
{
	xtrk_oid *ids;
	xtrk_stage_rec *recs;
	size_t n, got = 0;
	int err;

	*out = NULL;
	*count = 0;
	if ((err = runrefs_ids(&ids, &n, repo, AREA, run, "stages")) < 0 || n == 0)
		return err;
	if (n > XTRK_STAGES_MAX_PER_RUN) {
		if (!lenient) {
			free(ids);
			return xtrk_error_set(XTRK_ECORRUPT, "run %s has %zu stage records; a run holds at most %d",
				xtrk_oid_tostr(run), n, XTRK_STAGES_MAX_PER_RUN);
		}
		xtrk_warning_add("run %s has %zu stage records; only %d are read (see 'xtrk fsck')", xtrk_oid_tostr(run), n,
			XTRK_STAGES_MAX_PER_RUN);
		n = XTRK_STAGES_MAX_PER_RUN;
	}
	if (!(recs = calloc(n, sizeof(*recs)))) {
		free(ids);
		return xtrk_error_oom();
	}
	for (size_t i = 0; i < n; i++) {
		if ((err = rec_read(&recs[got], repo, run, &ids[i])) == 0) {
			got++;
			continue;
		}
		if (!lenient || err == XTRK_ERROR)
			break;
		xtrk_warning_add("%s; skipped (see 'xtrk fsck')", xtrk_error_last());
		xtrk_error_clear();
		err = 0;
	}
	free(ids);
	if (err < 0) {
		xtrk_stages_free(recs, got);
		return err;
	}
	xtrk_sort(recs, got, sizeof(*recs), rec_cmp);
	*out = recs;
	*count = got;
	return 0;
}

const char *xtrk_stages_current(const xtrk_stage_rec *recs, size_t count)
{
	for (size_t i = count; i-- > 0;)
		if (recs[i].kind == XTRK_STAGE_MOVE)
			return recs[i].stage;
	return NULL;
}

/* ---- signatures ---- */

/* A private folder for the files ssh-keygen reads and writes; `dir` gets its path. */
static int scratch_dir(xtrk_buf *dir)
{
	const char *tmp = getenv("TMPDIR");
	xtrk_buf_clear(dir);
	xtrk_buf_printf(dir, "%s/xtrk-sign-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (xtrk_buf_oom(dir))
		return xtrk_error_oom();
	if (!mkdtemp(dir->ptr))
		return xtrk_error_errno("cannot create a temporary folder for ssh-keygen");
	return 0;
}

static void scratch_remove(xtrk_buf *dir)
{
	static const char *const names[] = { "payload", "payload.sig" };
	xtrk_buf p = XTRK_BUF_INIT;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		xtrk_buf_clear(&p);
		xtrk_buf_printf(&p, "%s/%s", dir->ptr, names[i]);
		if (!xtrk_buf_oom(&p))
			unlink(p.ptr);
	}
	rmdir(dir->ptr);
	xtrk_buf_dispose(&p);
}

static int write_small(const char *dir, const char *name, const char *data, xtrk_buf *path)
{
	xtrk_buf_clear(path);
	xtrk_buf_printf(path, "%s/%s", dir, name);
	if (xtrk_buf_oom(path))
		return xtrk_error_oom();
	return xtrk_write_file_atomic(path->ptr, data, strlen(data), 0600, 0);
}

int xtrk_approval_verify(xtrk_repo *repo, const xtrk_oid *run, const xtrk_stage_rec *rec)
{
	xtrk_buf dir = XTRK_BUF_INIT, allowed = XTRK_BUF_INIT, payload = XTRK_BUF_INIT, sig = XTRK_BUF_INIT,
		 out = XTRK_BUF_INIT;
	json_t *o = NULL;
	char *bytes = NULL;
	int err, status, made = 0;

	if (rec->kind != XTRK_STAGE_APPROVAL)
		return xtrk_error_set(XTRK_EINVALID, "stage record %s is not an approval", xtrk_oid_tostr(&rec->id));
	xtrk_buf_printf(&allowed, "%s/allowed_signers", xtrk_repo_dir(repo));
	if ((err = xtrk_buf_oom(&allowed) ? xtrk_error_oom() : 0) < 0)
		goto done;
	if (access(allowed.ptr, R_OK) != 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "approval %s of run %s by %s cannot be verified: this store has no "
			"allowed_signers", xtrk_oid_tostr(&rec->id), xtrk_oid_tostr(run), rec->who);
		goto done;
	}
	if (!(o = approval_object(rec, xtrk_oid_tostr(run))) || !(bytes = xtrk_json_dumps(o, XTRK_JSON_STORE))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = scratch_dir(&dir)) < 0)
		goto done;
	made = 1;
	if ((err = write_small(dir.ptr, "payload", bytes, &payload)) < 0 ||
	    (err = write_small(dir.ptr, "payload.sig", rec->signature, &sig)) < 0)
		goto done;
	{
		char *argv[] = { "ssh-keygen", "-Y", "verify", "-f", allowed.ptr, "-I", rec->who, "-n", "xtrk", "-s",
			sig.ptr, NULL };
		if ((err = xtrk_exec_capture_input(&out, argv, payload.ptr, SSH_TIMEOUT_MS, 4096, &status)) < 0)
			goto done;
	}
	if (status != 0)
		err = xtrk_error_set(XTRK_ECORRUPT, "approval %s of run %s by %s does not verify: not signed by a key "
			"allowed_signers gives %s, or changed since it was signed", xtrk_oid_tostr(&rec->id),
			xtrk_oid_tostr(run), rec->who, rec->who);
done:
	if (made)
		scratch_remove(&dir);
	json_decref(o);
	free(bytes);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&allowed);
	xtrk_buf_dispose(&payload);
	xtrk_buf_dispose(&sig);
	xtrk_buf_dispose(&out);
	return err;
}

/* ---- JSON ---- */

json_t *xtrk_stages_json(xtrk_repo *repo, const xtrk_stage_rec *recs, size_t count, const xtrk_oid *run)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < count; i++) {
		json_t *o = rec_object(&recs[i], xtrk_oid_tostr(run));
		int bad = !o || json_object_set_new(o, "id", json_string(xtrk_oid_tostr(&recs[i].id))) < 0;
		if (!bad && repo && recs[i].kind == XTRK_STAGE_APPROVAL) {
			int ok = xtrk_approval_verify(repo, run, &recs[i]) == 0;
			bad = json_object_set_new(o, "verified", json_boolean(ok)) < 0 ||
			      (!ok && json_object_set_new(o, "problem", json_string(xtrk_error_last())) < 0);
			xtrk_error_clear();
		}
		if (bad || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int xtrk_stages_all(json_t **out, xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	json_t *all = json_object();
	DIR *d;
	struct dirent *de;
	int err = 0;

	*out = NULL;
	if (!all)
		return xtrk_error_oom();
	xtrk_buf_printf(&p, "%s/" NS, xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p)) {
		json_decref(all);
		return xtrk_error_oom();
	}
	if ((d = opendir(p.ptr))) {
		while (err == 0 && (de = readdir(d))) {
			xtrk_oid run;
			xtrk_stage_rec *recs;
			size_t n;
			const char *cur;
			if (strlen(de->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&run, de->d_name) < 0)
				continue;
			if ((err = xtrk_stages_list(&recs, &n, repo, &run, 1)) < 0)
				break;
			if ((cur = xtrk_stages_current(recs, n)) && json_object_set_new(all, de->d_name, json_string(cur)) < 0)
				err = xtrk_error_oom();
			xtrk_stages_free(recs, n);
		}
		closedir(d);
	} else if (errno != ENOENT) {
		err = xtrk_error_errno("cannot read '%s'", p.ptr);
	}
	xtrk_buf_dispose(&p);
	if (err < 0)
		json_decref(all);
	else
		*out = all;
	return err;
}

int xtrk_stages_attach_stored(json_t *run, xtrk_repo *repo, const xtrk_oid *id)
{
	xtrk_stage_rec *recs;
	json_t *arr;
	size_t n;
	const char *cur;
	int err = xtrk_stages_list(&recs, &n, repo, id, 1);
	if (err < 0 || n == 0)
		return err;
	cur = xtrk_stages_current(recs, n);
	arr = xtrk_stages_json(repo, recs, n, id);
	if (!arr || json_object_set_new(run, "stages", arr) < 0 ||
	    (cur && json_object_set_new(run, "stage", json_string(cur)) < 0))
		err = xtrk_error_oom();
	xtrk_stages_free(recs, n);
	return err;
}

/* ---- policy ---- */

/* A config value of [stage "NAME"] or [role "NAME"]; 0 with an empty `out` when unset. */
static int policy_value(xtrk_buf *out, xtrk_repo *repo, const char *section, const char *name, const char *key)
{
	xtrk_buf k = XTRK_BUF_INIT;
	int err;
	xtrk_buf_clear(out);
	xtrk_buf_printf(&k, "%s.%s.%s", section, name, key);
	if (xtrk_buf_oom(&k))
		return xtrk_error_oom();
	err = xtrk_repo_config_string(out, repo, k.ptr);
	if (err == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		xtrk_buf_clear(out);
		err = 0;
	}
	xtrk_buf_dispose(&k);
	return err;
}

/* Whether `who` is listed in `members` ("a@x, b@y": commas and/or spaces). */
static int member_of(const char *members, const char *who)
{
	size_t n = strlen(who);
	for (const char *p = members; *p;) {
		size_t k;
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		k = strcspn(p, ", \t");
		if (k == n && !strncmp(p, who, n))
			return 1;
		p += k;
	}
	return 0;
}

int xtrk_stage_policy_check(xtrk_repo *repo, const xtrk_oid *run, const char *stage)
{
	xtrk_buf need = XTRK_BUF_INIT, role = XTRK_BUF_INIT, members = XTRK_BUF_INIT, require = XTRK_BUF_INIT,
		 valid = XTRK_BUF_INIT, refused = XTRK_BUF_INIT, msg = XTRK_BUF_INIT;
	xtrk_stage_rec *recs = NULL;
	size_t n = 0, count = 0;
	long approvals = 0;
	int err;

	if ((err = policy_value(&need, repo, "stage", stage, "approvals")) < 0 ||
	    (err = policy_value(&role, repo, "stage", stage, "role")) < 0 ||
	    (err = policy_value(&require, repo, "stage", stage, "require")) < 0)
		goto done;
	if (need.size) {
		char *end;
		approvals = strtol(need.ptr, &end, 10);
		if (*end || approvals < 0 || approvals > 1000) {
			err = xtrk_error_set(XTRK_EINVALID, "stage.%s.approvals in .xtrk/config is '%s', not a count", stage,
				need.ptr);
			goto done;
		}
	} else if (role.size) {
		approvals = 1;
	}
	if (role.size) {
		if ((err = policy_value(&members, repo, "role", role.ptr, "members")) < 0)
			goto done;
		if (!members.size) {
			err = xtrk_error_set(XTRK_EINVALID, "stage '%s' names role '%s', which .xtrk/config does not define "
				"(role.%s.members)", stage, role.ptr, role.ptr);
			goto done;
		}
	}
	if (approvals > 0) {
		char **seen = NULL;
		size_t nseen = 0;
		if ((err = xtrk_stages_list(&recs, &n, repo, run, 1)) < 0)
			goto done;
		for (size_t i = 0; i < n && err == 0; i++) {
			const xtrk_stage_rec *r = &recs[i];
			int dup = 0;
			if (r->kind != XTRK_STAGE_APPROVAL || strcmp(r->stage, stage))
				continue;
			for (size_t s = 0; s < nseen; s++)
				dup |= !strcmp(seen[s], r->who);
			if (dup)
				continue;
			if (role.size && !member_of(members.ptr, r->who)) {
				xtrk_buf_printf(&refused, "%s%s (not in role '%s')", refused.size ? ", " : "", r->who, role.ptr);
				continue;
			}
			if (xtrk_approval_verify(repo, run, r) < 0) {
				xtrk_error_clear();
				xtrk_buf_printf(&refused, "%s%s (signature does not verify)", refused.size ? ", " : "", r->who);
				continue;
			}
			{
				char **ns = realloc(seen, (nseen + 1) * sizeof(*ns));
				if (!ns) {
					err = xtrk_error_oom();
					break;
				}
				seen = ns;
				seen[nseen++] = r->who;
			}
			xtrk_buf_printf(&valid, "%s%s", valid.size ? ", " : "", r->who);
			count++;
		}
		free(seen);
		if (err < 0)
			goto done;
		if ((long)count < approvals) {
			xtrk_buf_printf(&msg, "stage '%s' needs %ld approval%s", stage, approvals, approvals == 1 ? "" : "s");
			if (role.size)
				xtrk_buf_printf(&msg, " from role '%s'", role.ptr);
			xtrk_buf_printf(&msg, "; run %.12s has %zu valid", xtrk_oid_tostr(run), count);
			if (valid.size)
				xtrk_buf_printf(&msg, " (%s)", valid.ptr);
			if (refused.size)
				xtrk_buf_printf(&msg, "; not counted: %s", refused.ptr);
			xtrk_buf_printf(&msg, " (see 'xtrk approve')");
		}
	}
	if (require.size) {
		char what[XTRK_STAGE_MAX_NAME + 32];
		int m;
		snprintf(what, sizeof(what), "stage.%s.require in .xtrk/config", stage);
		m = xtrk_query_run_matches(repo, run, require.ptr, what);
		if (m < 0) {
			err = m;
			goto done;
		}
		if (!m)
			xtrk_buf_printf(&msg, "%srun %.12s does not meet stage '%s' require: %s", msg.size ? "; " : "",
				xtrk_oid_tostr(run), stage, require.ptr);
	}
	if (xtrk_buf_oom(&msg) || xtrk_buf_oom(&refused) || xtrk_buf_oom(&valid))
		err = xtrk_error_oom();
	else if (msg.size)
		err = xtrk_error_set(XTRK_ERULE, "%s", msg.ptr);
done:
	xtrk_stages_free(recs, n);
	xtrk_buf_dispose(&need);
	xtrk_buf_dispose(&role);
	xtrk_buf_dispose(&members);
	xtrk_buf_dispose(&require);
	xtrk_buf_dispose(&valid);
	xtrk_buf_dispose(&refused);
	xtrk_buf_dispose(&msg);
	return err;
}

/* ---- writing ---- */

/* Store `o` and name it: the object durable first, then its ref. */
static int rec_store(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, json_t *o)
{
	xtrk_txn *txn = NULL;
	xtrk_oid id;
	char *bytes = xtrk_json_dumps(o, XTRK_JSON_STORE);
	int err;
	if (!bytes)
		return xtrk_error_oom();
	if ((err = xtrk_txn_new(&txn, xtrk_repo_odb(repo))) == 0 &&
	    (err = xtrk_txn_write(&id, txn, XTRK_OBJ_BLOB, bytes, strlen(bytes))) == 0 &&
	    (err = xtrk_txn_commit(txn)) == 0 && (err = runrefs_add(repo, AREA, run, &id)) == 0 && out)
		*out = id;
	xtrk_txn_free(txn);
	free(bytes);
	return err;
}

static int room(xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_oid *have;
	size_t n;
	int err = runrefs_ids(&have, &n, repo, AREA, run, "stages");
	free(have);
	if (err == 0 && n >= XTRK_STAGES_MAX_PER_RUN)
		err = xtrk_error_set(XTRK_EINVALID, "run %s already has %zu stage records; a run holds at most %d",
			xtrk_oid_tostr(run), n, XTRK_STAGES_MAX_PER_RUN);
	return err;
}

static void now(char when[40])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	xtrk_format_time(when, (double)tv.tv_sec + (double)tv.tv_usec / 1e6);
}

/* The author as one short line ('?' for anything else). */
static int author_line(xtrk_buf *out, xtrk_repo *repo)
{
	xtrk_buf a = XTRK_BUF_INIT;
	int err = xtrk_capture_author(&a, xtrk_repo_workdir(repo));
	xtrk_buf_clear(out);
	for (size_t i = 0; err == 0 && a.ptr && i < a.size && out->size < 200; i++) {
		unsigned char c = (unsigned char)a.ptr[i];
		xtrk_buf_putc(out, c < 0x20 || c == 0x7f || c >= 0x80 ? '?' : (char)c);
	}
	if (err == 0 && !out->size)
		xtrk_buf_puts(out, "unknown");
	xtrk_buf_dispose(&a);
	return err < 0 ? err : xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

int xtrk_stage_move(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const char *stage, const char *message)
{
	xtrk_buf author = XTRK_BUF_INIT;
	xtrk_oid id;
	json_t *o = NULL;
	char when[40];
	int err;

	if (!message)
		message = "";
	if ((err = xtrk_stage_name_check(stage)) < 0)
		return err;
	if (*message && (err = xtrk_note_text_check(message, strlen(message))) < 0)
		return err;
	if ((err = xtrk_run_check_listed(repo, run)) < 0 || (err = room(repo, run)) < 0 ||
	    (err = xtrk_stage_policy_check(repo, run, stage)) < 0 || (err = author_line(&author, repo)) < 0)
		goto done;
	now(when);
	if (!(o = move_object(author.ptr, message, xtrk_oid_tostr(run), stage, when))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = rec_store(&id, repo, run, o)) == 0) {
		json_t *d = json_pack("{s:s, s:s, s:s}", "record", xtrk_oid_tostr(&id), "run", xtrk_oid_tostr(run), "stage",
			stage);
		xtrk_audit_note(repo, "stage", d);
		json_decref(d);
		if (out)
			*out = id;
	}
done:
	json_decref(o);
	xtrk_buf_dispose(&author);
	return err;
}

/* A key path from config: "~/" is the home folder. */
static int key_path(xtrk_buf *out, const char *key)
{
	const char *home = getenv("HOME");
	xtrk_buf_clear(out);
	if (!strncmp(key, "~/", 2) && home)
		xtrk_buf_printf(out, "%s/%s", home, key + 2);
	else
		xtrk_buf_puts(out, key);
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

int xtrk_approve(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_approve_options *o)
{
	xtrk_buf key = XTRK_BUF_INIT, signer = XTRK_BUF_INIT, dir = XTRK_BUF_INIT, payload = XTRK_BUF_INIT,
		 sig = XTRK_BUF_INIT, cap = XTRK_BUF_INIT;
	xtrk_stage_rec r = { 0 };
	json_t *obj = NULL;
	char *bytes = NULL;
	int err, status, made = 0;

	if ((err = xtrk_stage_name_check(o->stage ? o->stage : "")) < 0)
		return err;
	if (!o->rationale || !*o->rationale)
		return xtrk_error_set(XTRK_EINVALID, "an approval needs a rationale (--rationale)");
	if ((err = xtrk_note_text_check(o->rationale, strlen(o->rationale))) < 0 ||
	    (o->criteria && *o->criteria && (err = xtrk_note_text_check(o->criteria, strlen(o->criteria))) < 0) ||
	    (o->mitigation && *o->mitigation && (err = xtrk_note_text_check(o->mitigation, strlen(o->mitigation))) < 0))
		return err;
	if (o->key)
		err = key_path(&key, o->key);
	else if ((err = xtrk_capture_git_config(&cap, xtrk_repo_workdir(repo), "user.signingkey")) == 0)
		err = key_path(&key, cap.ptr);
	else
		err = xtrk_error_set(XTRK_EINVALID, "no signing key: give --key FILE or set user.signingkey in git config");
	if (err < 0)
		goto done;
	if (!strncmp(key.ptr, "key::", 5)) {
		err = xtrk_error_set(XTRK_EINVALID, "user.signingkey holds a literal key; xtrk signs with a key file");
		goto done;
	}
	if (o->signer)
		err = xtrk_buf_puts(&signer, o->signer);
	else if ((err = xtrk_capture_git_config(&signer, xtrk_repo_workdir(repo), "user.email")) < 0)
		err = xtrk_error_set(XTRK_EINVALID, "no signer: set user.email in git config (the principal "
			"allowed_signers names)");
	if (err < 0)
		goto done;
	if (!signer_valid(signer.ptr)) {
		err = xtrk_error_set(XTRK_EINVALID, "signer '%.256s' is not an e-mail address allowed_signers can name",
			signer.ptr);
		goto done;
	}
	if ((err = xtrk_run_check_listed(repo, run)) < 0 || (err = room(repo, run)) < 0)
		goto done;
	r.kind = XTRK_STAGE_APPROVAL;
	r.stage = (char *)o->stage;
	r.who = signer.ptr;
	r.rationale = (char *)o->rationale;
	r.criteria = (char *)(o->criteria ? o->criteria : "");
	r.mitigation = (char *)(o->mitigation ? o->mitigation : "");
	now(r.time);
	if (!(obj = approval_object(&r, xtrk_oid_tostr(run))) || !(bytes = xtrk_json_dumps(obj, XTRK_JSON_STORE))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = scratch_dir(&dir)) < 0)
		goto done;
	made = 1;
	if ((err = write_small(dir.ptr, "payload", bytes, &payload)) < 0)
		goto done;
	{
		char *argv[] = { "ssh-keygen", "-Y", "sign", "-f", key.ptr, "-n", "xtrk", payload.ptr, NULL };
		if ((err = xtrk_exec_capture(&cap, argv, SSH_TIMEOUT_MS, 4096, &status)) < 0)
			goto done;
		if (status != 0) {
			err = xtrk_error_set(XTRK_EINVALID, "ssh-keygen could not sign with key '%s' (exit status %d)",
				key.ptr, status);
			goto done;
		}
	}
	xtrk_buf_printf(&sig, "%s.sig", payload.ptr);
	if (xtrk_buf_oom(&sig)) {
		err = xtrk_error_oom();
		goto done;
	}
	{
		xtrk_buf s = XTRK_BUF_INIT;
		if ((err = xtrk_buf_read_file(&s, sig.ptr)) == 0 &&
		    (s.size > XTRK_STAGE_MAX_SIGNATURE || xtrk_buf_puts(&s, "") < 0))
			err = xtrk_error_set(XTRK_ERROR, "ssh-keygen wrote no usable signature");
		if (err == 0 && json_object_set_new(obj, "signature", json_string(s.ptr)) < 0)
			err = xtrk_error_oom();
		xtrk_buf_dispose(&s);
		if (err < 0)
			goto done;
	}
	if ((err = rec_store(&r.id, repo, run, obj)) == 0) {
		json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "record", xtrk_oid_tostr(&r.id), "run", xtrk_oid_tostr(run),
			"signer", signer.ptr, "stage", o->stage);
		xtrk_audit_note(repo, "approve", d);
		json_decref(d);
		if (out)
			*out = r.id;
	}
done:
	if (made)
		scratch_remove(&dir);
	json_decref(obj);
	free(bytes);
	xtrk_buf_dispose(&key);
	xtrk_buf_dispose(&signer);
	xtrk_buf_dispose(&dir);
	xtrk_buf_dispose(&payload);
	xtrk_buf_dispose(&sig);
	xtrk_buf_dispose(&cap);
	return err;
}

/* ---- carrying: bundles, push, pull ---- */

int xtrk_stages_carry(json_t *entry, xtrk_repo *repo, const xtrk_oid *run)
{
	xtrk_stage_rec *recs;
	json_t *arr;
	size_t n;
	int err = xtrk_stages_list(&recs, &n, repo, run, 0);
	if (err < 0)
		return xtrk_error_set(err, "%s; run 'xtrk fsck'", xtrk_error_last());
	if (n == 0)
		return 0;
	arr = xtrk_stages_json(NULL, recs, n, run);
	xtrk_stages_free(recs, n);
	if (!arr || json_object_set_new(entry, "stages", arr) < 0)
		return xtrk_error_oom();
	return 0;
}

/* One carried record: its ID the hash of its stored form, its form exact; `bytes` gets the stored form. */
static int rec_from_json(xtrk_oid *id, xtrk_buf *bytes, xtrk_stage_rec *rec, const xtrk_oid *run, json_t *entry)
{
	json_t *copy;
	char *text;
	xtrk_oid claimed;
	const char *hex = json_string_value(json_object_get(entry, "id"));
	int err;

	xtrk_buf_clear(bytes);
	if (!json_is_object(entry) || !hex || strlen(hex) != XTRK_OID_HEXSZ || xtrk_oid_parse(&claimed, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "a stage record of run %s has no ID", xtrk_oid_tostr(run));
	if (!(copy = json_copy(entry)))
		return xtrk_error_oom();
	json_object_del(copy, "id");
	text = xtrk_json_dumps(copy, XTRK_JSON_STORE);
	json_decref(copy);
	if (!text)
		return xtrk_error_oom();
	xtrk_oid_hash(id, text, strlen(text));
	if (xtrk_oid_cmp(id, &claimed))
		err = xtrk_error_set(XTRK_ECORRUPT, "stage record %s of run %s does not hash to its ID", hex,
			xtrk_oid_tostr(run));
	else if ((err = xtrk_stage_parse(rec, id, run, text, strlen(text))) == 0)
		err = xtrk_buf_puts(bytes, text);
	free(text);
	return err;
}

/* Whether a store has allowed_signers (and so verifies what it is given). */
static int has_signers(xtrk_repo *repo)
{
	xtrk_buf p = XTRK_BUF_INIT;
	int there;
	xtrk_buf_printf(&p, "%s/allowed_signers", xtrk_repo_dir(repo));
	there = !xtrk_buf_oom(&p) && access(p.ptr, F_OK) == 0;
	xtrk_buf_dispose(&p);
	return there;
}

int xtrk_stages_carried(xtrk_oid **ids, size_t *n, json_t *stages, const xtrk_oid *run, xtrk_repo *repo,
	xtrk_txn *txn)
{
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_buf bytes = XTRK_BUF_INIT;
	json_t *e;
	size_t i;
	int err = 0, verify = repo && has_signers(repo);

	*ids = NULL;
	*n = 0;
	if (!stages)
		return 0;
	if (!json_is_array(stages))
		return xtrk_error_set(XTRK_ECORRUPT, "the stages of run %s are not a list", xtrk_oid_tostr(run));
	if (json_array_size(stages) > XTRK_STAGES_MAX_PER_RUN)
		return xtrk_error_set(XTRK_ECORRUPT, "run %s carries %zu stage records; a run holds at most %d",
			xtrk_oid_tostr(run), json_array_size(stages), XTRK_STAGES_MAX_PER_RUN);
	if (!(*ids = calloc(json_array_size(stages) + 1, sizeof(**ids))))
		return xtrk_error_oom();
	json_array_foreach(stages, i, e) {
		xtrk_oid id, got;
		xtrk_stage_rec rec;
		if ((err = rec_from_json(&id, &bytes, &rec, run, e)) < 0)
			break;
		if (verify && rec.kind == XTRK_STAGE_APPROVAL && (err = xtrk_approval_verify(repo, run, &rec)) < 0)
			err = xtrk_error_set(XTRK_ECORRUPT, "%s; refused", xtrk_error_last());
		xtrk_stage_rec_dispose(&rec);
		if (err < 0 || (err = xtrk_oidset_add(&seen, &id)) < 0)
			break;
		if (err == 0) {
			err = xtrk_error_set(XTRK_ECORRUPT, "run %s carries stage record %s twice", xtrk_oid_tostr(run),
				xtrk_oid_tostr(&id));
			break;
		}
		err = 0;
		if (txn && (err = xtrk_txn_write(&got, txn, XTRK_OBJ_BLOB, bytes.ptr, bytes.size)) < 0)
			break;
		(*ids)[(*n)++] = id;
	}
	xtrk_oidset_dispose(&seen);
	xtrk_buf_dispose(&bytes);
	if (err < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return err;
}

int xtrk_stages_publish(xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *ids, size_t n)
{
	return runrefs_publish(repo, AREA, run, ids, n, XTRK_STAGES_MAX_PER_RUN, "stage records");
}

int xtrk_stages_copy(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n)
{
	xtrk_txn *txn = NULL;
	xtrk_oid **ids = calloc(n + 1, sizeof(*ids));
	size_t *nids = calloc(n + 1, sizeof(*nids));
	xtrk_buf b = XTRK_BUF_INIT;
	int err = 0;

	if (!ids || !nids) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t r = 0; r < n && err == 0; r++) {
		xtrk_oid *names;
		size_t k;
		if ((err = runrefs_ids(&names, &k, from, AREA, &runs[r], "stages")) < 0 || !k)
			continue;
		if (k > XTRK_STAGES_MAX_PER_RUN) {
			xtrk_warning_add("run %s has %zu stage records; only %d are copied", xtrk_oid_tostr(&runs[r]), k,
				XTRK_STAGES_MAX_PER_RUN);
			k = XTRK_STAGES_MAX_PER_RUN;
		}
		if (!(ids[r] = calloc(k, sizeof(**ids)))) {
			free(names);
			err = xtrk_error_oom();
			break;
		}
		for (size_t i = 0; i < k && err == 0; i++) {
			xtrk_stage_rec rec;
			xtrk_oid got;
			if (runrefs_has(to, AREA, &runs[r], &names[i]) && xtrk_odb_exists(xtrk_repo_odb(to), &names[i])) {
				ids[r][nids[r]++] = names[i];
				continue;
			}
			if (rec_read(&rec, from, &runs[r], &names[i]) < 0) {
				xtrk_warning_add("%s; not copied", xtrk_error_last());
				xtrk_error_clear();
				continue;
			}
			xtrk_stage_rec_dispose(&rec);
			if ((err = xtrk_odb_read(&b, NULL, xtrk_repo_odb(from), &names[i], XTRK_OBJ_BLOB)) < 0 ||
			    (!txn && (err = xtrk_txn_new(&txn, xtrk_repo_odb(to))) < 0) ||
			    (err = xtrk_txn_write(&got, txn, XTRK_OBJ_BLOB, b.ptr, b.size)) < 0)
				break;
			ids[r][nids[r]++] = got;
		}
		free(names);
	}
	if (err == 0 && txn)
		err = xtrk_txn_commit(txn);
	for (size_t r = 0; r < n && err == 0; r++)
		err = xtrk_stages_publish(to, &runs[r], ids[r], nids[r]);
done:
	for (size_t r = 0; ids && r < n; r++)
		free(ids[r]);
	free(ids);
	free(nids);
	xtrk_txn_free(txn);
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_stages_vet(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n)
{
	int err = 0;
	if (!has_signers(to))
		return 0;
	for (size_t r = 0; r < n && err == 0; r++) {
		xtrk_oid *names;
		size_t k;
		if ((err = runrefs_ids(&names, &k, from, AREA, &runs[r], "stages")) < 0)
			break;
		for (size_t i = 0; i < k && i < XTRK_STAGES_MAX_PER_RUN && err == 0; i++) {
			xtrk_stage_rec rec;
			if (runrefs_has(to, AREA, &runs[r], &names[i]))
				continue;
			if (rec_read(&rec, from, &runs[r], &names[i]) < 0) {
				xtrk_error_clear(); /* damaged: left behind by the copy, with a warning */
				continue;
			}
			if (rec.kind == XTRK_STAGE_APPROVAL && (err = xtrk_approval_verify(to, &runs[r], &rec)) < 0)
				err = xtrk_error_set(XTRK_ECORRUPT, "%s; refused", xtrk_error_last());
			xtrk_stage_rec_dispose(&rec);
		}
		free(names);
	}
	return err;
}

/* ---- fsck ---- */

size_t xtrk_stages_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload)
{
	xtrk_buf p = XTRK_BUF_INIT, q = XTRK_BUF_INIT, held = XTRK_BUF_INIT, msg = XTRK_BUF_INIT;
	DIR *d, *e;
	struct dirent *de, *fe;
	size_t checked = 0;

	xtrk_buf_printf(&p, "%s/" NS, xtrk_repo_dir(repo));
	if (xtrk_buf_oom(&p) || !(d = opendir(p.ptr))) {
		if (!xtrk_buf_oom(&p) && errno != ENOENT)
			problem(NULL, NS " cannot be read", payload);
		xtrk_buf_dispose(&p);
		return 0;
	}
	while ((de = readdir(d))) {
		xtrk_oid run;
		xtrk_otype type;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		xtrk_buf_clear(&msg);
		if (strlen(de->d_name) != XTRK_OID_HEXSZ || xtrk_oid_parse(&run, de->d_name) < 0) {
			xtrk_buf_printf(&msg, NS "/%s is not named by a run ID", de->d_name);
			problem(NULL, msg.ptr, payload);
			continue;
		}
		if (xtrk_odb_stat(NULL, &type, xtrk_repo_odb(repo), &run) < 0 || type != XTRK_OBJ_RUN) {
			xtrk_error_clear();
			xtrk_buf_printf(&msg, NS "/%s: stages of a run this store does not have", de->d_name);
			problem(&run, msg.ptr, payload);
			continue;
		}
		xtrk_buf_clear(&q);
		xtrk_buf_printf(&q, "%s/%s", p.ptr, de->d_name);
		if (xtrk_buf_oom(&q) || !(e = opendir(q.ptr))) {
			xtrk_buf_printf(&msg, NS "/%s cannot be read", de->d_name);
			problem(&run, msg.ptr, payload);
			continue;
		}
		while ((fe = readdir(e))) {
			xtrk_oid id, inside;
			xtrk_stage_rec rec;
			xtrk_buf c = XTRK_BUF_INIT;
			int ok;
			size_t nl = strlen(fe->d_name);
			if (!strcmp(fe->d_name, ".") || !strcmp(fe->d_name, ".."))
				continue;
			xtrk_buf_clear(&msg);
			if (nl != XTRK_OID_HEXSZ || xtrk_oid_parse(&id, fe->d_name) < 0) {
				if (!(nl > 5 && !strcmp(fe->d_name + nl - 5, ".lock"))) {
					xtrk_buf_printf(&msg, NS "/%s/%s is not named by a record ID", de->d_name, fe->d_name);
					problem(&run, msg.ptr, payload);
				}
				continue;
			}
			checked++;
			xtrk_buf_clear(&held);
			xtrk_buf_printf(&held, "%s/%s", q.ptr, fe->d_name);
			ok = xtrk_buf_read_file(&c, held.ptr) == 0;
			while (ok && c.size && c.ptr[c.size - 1] == '\n')
				xtrk_buf_truncate(&c, c.size - 1);
			if (!ok || xtrk_oid_parse(&inside, c.ptr ? c.ptr : "") < 0 || xtrk_oid_cmp(&inside, &id)) {
				xtrk_buf_printf(&msg, NS "/%s/%s does not hold the record ID it is named by", de->d_name,
					fe->d_name);
				problem(&run, msg.ptr, payload);
				xtrk_error_clear();
			}
			xtrk_buf_dispose(&c);
			xtrk_buf_clear(&msg);
			if (rec_read(&rec, repo, &run, &id) < 0) {
				xtrk_buf_puts(&msg, xtrk_error_last());
				problem(&run, msg.ptr, payload);
				xtrk_error_clear();
				continue;
			}
			xtrk_stage_rec_dispose(&rec);
		}
		closedir(e);
	}
	closedir(d);
	xtrk_buf_dispose(&p);
	xtrk_buf_dispose(&q);
	xtrk_buf_dispose(&held);
	xtrk_buf_dispose(&msg);
	return checked;
}
