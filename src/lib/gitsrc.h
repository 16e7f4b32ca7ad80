/*
 * Source commits carried in bundles and to remotes (internal): building a git
 * pack of commits and their history, receiving a pack from untrusted hands
 * (its sizes checked before inflating, then indexed, which verifies it), and
 * finding the repository that holds a recorded commit, which is the
 * workspace's own git repository or the store's `.xtrk/source.git` (a
 * remote's is `source.git` in its folder).
 */
#ifndef XTRK_GITSRC_H
#define XTRK_GITSRC_H

#include <stdint.h>

#include <git2.h>

#include "xtrk/buf.h"
#include "xtrk/repo.h"

/** Note an allocation failure when libgit2's last error was one (see xtrk_oom_note). */
void xtrk_git_note_oom(void);

/** An XTRK_* error from libgit2's last error, prefixed with `what`. */
int xtrk_git_error(const char *what);

/**
 * Write a pack of `commits` (40-hex strings) with their history into the open
 * file `fd`, from the git repository around the workspace and the store's
 * source.git (a run pulled or imported with its source can be passed on).
 */
int xtrk_gitpack_build(uint64_t *size_out, int fd, xtrk_repo *repo, const char *const *commits, size_t n);

/** `present[i]` = 1 when the workspace's git repository or the store's source.git holds commit `commits[i]`. */
int xtrk_gitsrc_present(xtrk_repo *repo, const char *const *commits, size_t n, unsigned char *present);

typedef struct xtrk_gitpack_indexer xtrk_gitpack_indexer;
/** Start indexing a received pack into the folder `dir`. */
int xtrk_gitpack_indexer_new(xtrk_gitpack_indexer **out, const char *dir);
int xtrk_gitpack_indexer_append(xtrk_gitpack_indexer *ix, const void *data, size_t len);
/**
 * Finish: the pack is checked and its index written; `pack_out` gets the
 * path of the .pack file (the .idx beside it).
 */
int xtrk_gitpack_indexer_commit(xtrk_gitpack_indexer *ix, xtrk_buf *pack_out);
void xtrk_gitpack_indexer_free(xtrk_gitpack_indexer *ix);

/*
 * Receiving a pack of `size` bytes from untrusted hands into the folder `dir`:
 * the header's object count and every object's declared size are checked
 * (XTRK_BUNDLE_MAX_GIT_OBJECT, XTRK_BUNDLE_MAX_GIT_TOTAL) before libgit2
 * inflates anything; finishing indexes it, which verifies every object, and
 * gives the path of the .pack (named by its checksum, the .idx beside it).
 * One home for bundles and remotes.
 */
typedef struct xtrk_gitpack_recv xtrk_gitpack_recv;
int xtrk_gitpack_recv_new(xtrk_gitpack_recv **out, const char *dir, uint64_t size);
int xtrk_gitpack_recv_feed(xtrk_gitpack_recv *r, const void *data, size_t len);
int xtrk_gitpack_recv_finish(xtrk_gitpack_recv *r, xtrk_buf *pack_out);
void xtrk_gitpack_recv_free(xtrk_gitpack_recv *r);
/** The same, reading the open file `fd` of `size` bytes from where it stands. */
int xtrk_gitpack_receive_fd(xtrk_buf *pack_out, const char *dir, int fd, uint64_t size);
/** The same for the pack file at `path`: never through a link, only a regular file within the limit. */
int xtrk_gitpack_receive_file(xtrk_buf *pack_out, const char *dir, const char *path);

/* Packs searched in one store's source.git at most, and the largest pack index read (about 9 million objects). */
#define XTRK_GITPACK_MAX_PACKS 65536
#define XTRK_GITPACK_MAX_INDEX (256ull << 20)
/**
 * Find which packs of `<store_dir>/source.git` claim each commit: `found[i]`
 * gets the .pack's path (free() it) or NULL.  The claim comes from the pack's
 * index only (the pack is not read): what is found is to be received and
 * checked whole before use.
 */
int xtrk_gitpack_locate(char **found, const char *store_dir, const char *const *commits, size_t n);

/** 1 when the indexed pack at `pack_path` holds commit `hex`, 0 when not. */
int xtrk_gitpack_has_commit(const char *pack_path, const char *hex);

/** Move an indexed pack (and its index) into the store's `.xtrk/source.git`, durably. */
int xtrk_gitpack_publish(xtrk_repo *repo, const char *pack_path);

/**
 * Open a git repository that holds `hex`: the workspace's, else the store's
 * source.git.  With `in_place` the result must be the workspace's own
 * repository, so commits found only in the store are copied into it first.
 */
int xtrk_gitsrc_open(git_repository **out, xtrk_repo *repo, const char *hex, int in_place);

/**
 * The source paths that checkout would write, checked before anything is
 * written (see xtrk_path_unsafe): every path of a commit's tree, of an index
 * (also: no path twice, none below another's file or link), and both paths
 * of every file a patch touches.  XTRK_EINVALID names the first refused path.
 */
int xtrk_gitsrc_check_commit(git_repository *g, const git_oid *commit);
int xtrk_gitsrc_check_index(git_index *ix);
int xtrk_gitsrc_check_diff(git_diff *d);
/** The same for a patch as text (XTRK_ECORRUPT when it is not a git diff). */
int xtrk_gitsrc_check_patch(const void *patch, size_t len);
/** The same for commit `hex` in the indexed pack at `pack_path`. */
int xtrk_gitpack_check_commit(const char *pack_path, const char *hex);

#endif
