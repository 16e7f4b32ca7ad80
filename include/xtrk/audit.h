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

#endif
