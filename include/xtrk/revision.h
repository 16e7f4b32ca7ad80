/* Revisions: the names a run goes by (xtrk-format(5)). */
#ifndef XTRK_REVISION_H
#define XTRK_REVISION_H

#include "xtrk/oid.h"
#include "xtrk/repo.h"

/**
 * Resolve a revision: a full ID, a unique prefix of at least 4 hex digits, a
 * tag, an experiment name (its newest run), or NAME~N.  An ambiguous prefix
 * is XTRK_EAMBIGUOUS with the candidates in the message.
 */
int xtrk_run_resolve(xtrk_oid *out, xtrk_repo *repo, const char *rev);

#endif
