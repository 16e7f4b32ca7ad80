/*
 * The audit trail: a hash-chained log of the changes made to a store's
 * governance and lifecycle (tags, notes, stage moves, approvals, rm,
 * restore, gc).
 *
 * `.xtrk/audit` holds one entry a line, each the compact, sorted JSON
 *
 *   {"detail":{...},"prev":"<hash of the previous line>","seq":N,"time":"...","what":"stage","who":"..."}
 *
 * seq counting from 1, the first entry's prev all zeros, a line's hash the
 * object hash of its bytes (without the newline).  `.xtrk/audit.head` holds
 * "SEQ HASH" of the last entry written, so that entries cut from the end are
 * seen too.  Writers append under an exclusive lock (.xtrk/audit.lock, flock):
 * concurrent changes each get their own entry, chained in the order written.
 * An entry removed, altered or moved breaks the chain at the next one.
 *
 * The log travels with push, pull and bundles.  A chain is named by its
 * origin, the hash of its first entry, so it names itself: a store keeps the
 * chains it received, each whole, under `.xtrk/audit.d/ORIGIN`, and takes a
 * carried chain only when it is intact and extends (never rewrites) what it
 * holds of that origin.  A chain altered at its first entry is another chain,
 * kept beside the one received before, which nothing overwrites.
 */
#ifndef XTRK_AUDIT_H
#define XTRK_AUDIT_H

#include <jansson.h>

#include "xtrk/repo.h"

/**
 * Append an entry: `what` (a word) and `detail` (a JSON object, borrowed),
 * by the author runs are recorded with, now.  Durable (fsync) before it returns.
 */
int xtrk_audit_append(xtrk_repo *repo, const char *what, json_t *detail);

/**
 * The same for a change already made: a failure to log it is a warning
 * (the change stands), never an error.
 */
void xtrk_audit_note(xtrk_repo *repo, const char *what, json_t *detail);

/**
 * Read and check the log: `*entries` (may be NULL) gets the entries, oldest
 * first, each with its "hash".  0 when the chain is whole; XTRK_ECORRUPT
 * naming the first break (an entry removed, altered or reordered, or cut
 * from the end), `*entries` then holding the entries up to it.
 */
int xtrk_audit_read(json_t **entries, xtrk_repo *repo);

/* Limits on a chain kept or carried: its bytes, and how many chains a store or a transfer holds. */
#define XTRK_AUDIT_MAX_CHAIN (64u << 20)
#define XTRK_AUDIT_MAX_CHAINS 4096

/**
 * The chains received from other stores, as kept here, sorted by origin:
 * [{"origin": "<hex>", "entries": [... as xtrk_audit_read gives them ...]}].
 * XTRK_ECORRUPT naming the first chain that is broken, `*out` holding the
 * chains up to it.
 */
int xtrk_audit_read_received(json_t **out, xtrk_repo *repo);

/**
 * The chains a store sends: its own (when it has entries), then those it
 * received, each as carried:
 *
 *   {"entries": ["<line>", ...], "origin": "<hex>", "own": true|false}
 *
 * the entries the exact lines of the log.  Every chain is checked first:
 * XTRK_ECORRUPT when one is broken (nothing is sent from a broken log).
 */
int xtrk_audit_chains(json_t **out, xtrk_repo *repo);

/**
 * The one check of carried chains (untrusted): each intact, in the form xtrk
 * writes, named by its first entry, carried once; and, in `to` (NULL: the
 * form only), extending what `to` holds of it: no entry differing from one
 * received before, no entries added to `to`'s own chain, and, from a `live`
 * store (push, pull), the sender's own chain not ending before what was
 * received of it (a log never shrinks).  A shorter chain that agrees with
 * the copy held (an older bundle) is accepted and takes nothing.
 * XTRK_ECORRUPT saying which chain and what is wrong.  Changes nothing.
 */
int xtrk_audit_vet(xtrk_repo *to, json_t *chains, int live);

/** Keep the carried chains that bring entries `to` lacks (vetted again, under the log's lock). */
int xtrk_audit_receive(xtrk_repo *to, json_t *chains, int live);

#endif
