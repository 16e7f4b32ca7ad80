/*
 * Stages and approvals: where a run stands in its experiment's life
 * (candidate, staging, production, archived or any name) and who signed off.
 *
 * Both are records appended to a run, as notes are (xtrk/notes.h): blobs of
 * compact, sorted JSON named by the ref `refs/stages/<run id>/<record id>`.
 * A stage move is
 *
 *   {"author":"...","message":"...","run":"<id>","stage":"production","time":"...","type":"stage"}
 *
 * and an approval
 *
 *   {"criteria":"...","mitigation":"...","rationale":"...","run":"<id>","signature":"-----BEGIN SSH SIGNATURE-----...",
 *    "signer":"a@example.org","stage":"production","time":"...","type":"approval"}
 *
 * whose signature is `ssh-keygen -Y sign -n xtrk` over the same object
 * without "signature" (compact, keys sorted): editing any field breaks it.
 * It is checked with `ssh-keygen -Y verify` against the store's
 * `.xtrk/allowed_signers`, the signer being the principal.
 *
 * A run's records are a set: concurrent writers never conflict and carrying
 * them (bundle, push, pull) is a union.  They are ordered by time, then ID;
 * a run's current stage is the one its last move names.
 *
 * Policy, in .xtrk/config:
 *
 *   [role "reviewer"]  members = a@x, b@y
 *   [stage "production"]  approvals = 2   role = reviewer   require = metrics.acc >= 0.9
 *
 * A move into a stage with a policy needs that many approvals of the run for
 * that stage, valid and from distinct signers (members of the role, when
 * one is named), and the run must match `require` (a --where expression).
 */
#ifndef XTRK_STAGES_H
#define XTRK_STAGES_H

#include <stddef.h>
#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/odb.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

#define XTRK_STAGE_MAX_NAME 64
#define XTRK_STAGE_MAX_SIGNER 256
#define XTRK_STAGE_MAX_SIGNATURE 8192
#define XTRK_STAGES_MAX_PER_RUN 10000
/* The largest record: four texts of a note's size, escaped, and the rest. */
#define XTRK_STAGE_MAX_OBJECT (8 * 64 * 1024 + 2 * XTRK_STAGE_MAX_SIGNATURE + 1024)

typedef enum { XTRK_STAGE_MOVE = 1, XTRK_STAGE_APPROVAL = 2 } xtrk_stage_kind;

typedef struct {
	xtrk_oid id;
	xtrk_stage_kind kind;
	char *stage;
	char *who;        /* a move's author, an approval's signer */
	char *message;    /* a move's message ("" when none) */
	char *rationale;  /* an approval's texts ("" when none) */
	char *criteria;
	char *mitigation;
	char *signature;
	char time[40];
} xtrk_stage_rec;

/** A stage name: 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit.  XTRK_EINVALID. */
int xtrk_stage_name_check(const char *name);

/** Check a record's bytes (stored under `id`, not re-hashed) for `run`; XTRK_ECORRUPT saying what is wrong. */
int xtrk_stage_parse(xtrk_stage_rec *out, const xtrk_oid *id, const xtrk_oid *run, const char *data, size_t len);
void xtrk_stage_rec_dispose(xtrk_stage_rec *rec);

/** A run's records, oldest first.  With `lenient`, a damaged one is skipped with a warning. */
int xtrk_stages_list(xtrk_stage_rec **out, size_t *count, xtrk_repo *repo, const xtrk_oid *run, int lenient);
void xtrk_stages_free(xtrk_stage_rec *recs, size_t count);
/** The current stage among a run's records (its last move), or NULL. */
const char *xtrk_stages_current(const xtrk_stage_rec *recs, size_t count);

/**
 * Verify an approval of `run` against the store's .xtrk/allowed_signers with
 * ssh-keygen: 0 when valid; XTRK_ECORRUPT saying why not (no allowed_signers,
 * signer not allowed, signature does not match).
 */
int xtrk_approval_verify(xtrk_repo *repo, const xtrk_oid *run, const xtrk_stage_rec *rec);

/**
 * Records as JSON: [{... the object ..., "id"}], approvals with "verified"
 * (true/false) and, when not, "problem", when `repo` is given.
 */
json_t *xtrk_stages_json(xtrk_repo *repo, const xtrk_stage_rec *recs, size_t count, const xtrk_oid *run);

/** Every run's current stage at once (leniently): an object mapping run ID to its stage name. */
int xtrk_stages_all(json_t **out, xtrk_repo *repo);

/**
 * Show: add "stage" (the current one, when any) and "stages" (the records,
 * xtrk_stages_json's shape, approvals verified) to a run's JSON.
 */
int xtrk_stages_attach_stored(json_t *run, xtrk_repo *repo, const xtrk_oid *id);

/**
 * Whether `run` may move into `stage` under the config's policy: 0, or
 * XTRK_ERULE naming what is missing (approvals, who gave the ones that do not
 * count and why, the require expression).  XTRK_EINVALID for a policy that
 * cannot be read.
 */
int xtrk_stage_policy_check(xtrk_repo *repo, const xtrk_oid *run, const char *stage);

/**
 * Move a listed run into `stage` (message may be NULL), after
 * xtrk_stage_policy_check.  The object is written durably before its ref.
 */
int xtrk_stage_move(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const char *stage, const char *message);

typedef struct {
	const char *stage;
	const char *rationale;  /* required */
	const char *criteria;   /* may be NULL */
	const char *mitigation; /* may be NULL */
	const char *key;        /* private key file; NULL: user.signingkey of git config */
	const char *signer;     /* NULL: user.email of git config */
} xtrk_approve_options;

/** Sign and append an approval of a listed run (ssh-keygen -Y sign -n xtrk). */
int xtrk_approve(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_approve_options *o);

/** Bundles: a run's records go into its manifest entry as "stages" (none: no key). */
int xtrk_stages_carry(json_t *entry, xtrk_repo *repo, const xtrk_oid *run);
/**
 * Bundles, receiving side: the records carried for `run`, each checked (its
 * ID the hash of its stored form, its form exact) and, with `repo`, each
 * approval verified against that store's allowed_signers (when it has one).
 * With `txn`, objects are written to it.  `*ids` (free()) gets their IDs.
 */
int xtrk_stages_carried(xtrk_oid **ids, size_t *n, json_t *stages, const xtrk_oid *run, xtrk_repo *repo,
	xtrk_txn *txn);
/** Name records of `run` whose objects are durable in the store (one ref each, skipping those there). */
int xtrk_stages_publish(xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *ids, size_t n);
/**
 * Push and pull: copy the records of `runs`, each checked on the sending side
 * (a damaged one is left behind with a warning).  Approvals are not verified
 * here: call xtrk_stages_vet first, before anything else is written.
 */
int xtrk_stages_copy(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n);
/**
 * Before a copy writes anything: every approval of `runs` that `to` lacks,
 * verified as xtrk_stages_copy would.  XTRK_ECORRUPT naming the first that fails.
 */
int xtrk_stages_vet(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n);
/** fsck: every ref under refs/stages (as xtrk_notes_check).  Returns the number of records checked. */
size_t xtrk_stages_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload);

#endif
