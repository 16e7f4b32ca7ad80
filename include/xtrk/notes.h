/*
 * Appended notes: text added to a run after it was recorded (xtrk-format(5)).
 *
 * A run record is immutable, so a note added later is an object of its own:
 * the compact, sorted JSON
 *
 *   {"author":"...","run":"<run id>","text":"...","time":"<RFC 3339 UTC>"}
 *
 * stored as a blob, and named by the ref `refs/notes/<run id>/<note id>`
 * (which holds the note's ID).  A run's notes are a set, as the runs of an
 * experiment are: adding one writes one new ref, so concurrent writers never
 * conflict, and carrying notes to another store (bundle, push, pull) is a
 * union.  Nothing edits or removes a note.  They are shown oldest first
 * (by time, then ID), after the notes the record was made with.
 *
 * A note's object is untrusted like any other: it is read only through its
 * ref, must be exactly that JSON (nothing more, keys sorted, compact), must
 * name the run its ref is filed under, and its text must pass
 * xtrk_note_text_check.
 */
#ifndef XTRK_NOTES_H
#define XTRK_NOTES_H

#include <stddef.h>
#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/odb.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

#define XTRK_NOTE_MAX_TEXT (64 * 1024)   /* bytes of one note's text */
#define XTRK_NOTE_MAX_AUTHOR 256         /* bytes of its author */
#define XTRK_NOTES_MAX_PER_RUN 10000     /* notes one run may carry */
/* The largest note object: every text byte escaped ("\n", "\t", "\"", "\\") plus the rest. */
#define XTRK_NOTE_MAX_OBJECT (2 * XTRK_NOTE_MAX_TEXT + 2 * XTRK_NOTE_MAX_AUTHOR + 256)

typedef struct {
	xtrk_oid id;
	char *text;
	char *author;
	char time[40];
} xtrk_note;

/**
 * The one rule for a note's text: 1 to XTRK_NOTE_MAX_TEXT bytes of UTF-8
 * with no control character other than newline and tab (no NUL, CR, ESC,
 * DEL or C1 control).  XTRK_EINVALID says what is wrong and where.
 */
int xtrk_note_text_check(const char *text, size_t len);

/**
 * Append a note to `run`, which must be a run listed in an experiment (a
 * removed run is refused).  The author is the one runs are recorded with.
 * The object is written durably before its ref.  `out` (may be NULL) gets
 * the note's ID.
 */
int xtrk_note_add(xtrk_oid *out, xtrk_repo *repo, const xtrk_oid *run, const char *text, size_t len);

/**
 * Check a note object's bytes (as stored under `id`, which is not re-hashed
 * here) and fill `out` (free with xtrk_note_dispose): XTRK_ECORRUPT when
 * they are not a note of `run` in the exact form xtrk writes.
 */
int xtrk_note_parse(xtrk_note *out, const xtrk_oid *id, const xtrk_oid *run, const char *data, size_t len);
void xtrk_note_dispose(xtrk_note *note);

/**
 * A run's appended notes, oldest first, each read from the store and checked.
 * With `lenient`, a damaged or missing note is skipped with a warning; else
 * it is an error naming it.  Free with xtrk_notes_free.
 */
int xtrk_notes_list(xtrk_note **out, size_t *count, xtrk_repo *repo, const xtrk_oid *run, int lenient);
void xtrk_notes_free(xtrk_note *notes, size_t count);

/** Notes as JSON: [{"author", "id", "run", "text", "time"}], each the note object with its "id". */
json_t *xtrk_notes_json(const xtrk_note *notes, size_t count, const xtrk_oid *run);

/**
 * Every run's appended notes at once (one pass over refs/notes), leniently:
 * an object mapping run ID to the array xtrk_notes_json gives.  Runs without
 * notes are absent; a store without notes costs one failed opendir.
 */
int xtrk_notes_all(json_t **out, xtrk_repo *repo);

/**
 * Show a run (as xtrk_run_read gives it) with its appended notes: their texts
 * are added after the record's own "notes", and "appended_notes" holds them
 * whole (xtrk_notes_json's shape).  `appended` may be NULL (none).
 */
int xtrk_notes_attach(json_t *run, json_t *appended);
/** The same with the run's notes read from the store (leniently: a damaged one is skipped with a warning). */
int xtrk_notes_attach_stored(json_t *run, xtrk_repo *repo, const xtrk_oid *id);

/**
 * A note carried as JSON (an entry of xtrk_notes_json, e.g. from a bundle's
 * manifest) checked for `run`: its "id" must be the hash of the rest in the
 * stored form, which `bytes` receives.  XTRK_ECORRUPT saying what is wrong.
 */
int xtrk_note_from_json(xtrk_oid *id, xtrk_buf *bytes, const xtrk_oid *run, json_t *entry);

/**
 * Bundles: a run's appended notes go into its manifest entry (`entry`, a JSON
 * object) as "notes", xtrk_notes_json's shape; a run without notes gets none.
 * A damaged note is an error (run 'xtrk fsck').
 */
int xtrk_notes_carry(json_t *entry, xtrk_repo *repo, const xtrk_oid *run);

/**
 * Bundles, receiving side: the notes carried for `run` (`notes`, NULL when
 * none), each checked with xtrk_note_from_json, none twice, at most
 * XTRK_NOTES_MAX_PER_RUN.  With `txn`, each object is written to it.
 * `*ids` (free()) gets their IDs.  XTRK_ECORRUPT naming the first problem.
 */
int xtrk_notes_carried(xtrk_oid **ids, size_t *n, json_t *notes, const xtrk_oid *run, xtrk_txn *txn);

/**
 * Name notes of `run` whose objects are already durable in the store:
 * one ref each, skipping the ones already there.  Past XTRK_NOTES_MAX_PER_RUN
 * the rest are left out with a warning.
 */
int xtrk_notes_publish(xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *ids, size_t n);

/**
 * Push and pull: copy the appended notes of `runs` from one store to the
 * other, each note read and checked on the sending side (a damaged one is
 * left behind with a warning), objects written durably before their refs.
 */
int xtrk_notes_copy(xtrk_repo *to, xtrk_repo *from, const xtrk_oid *runs, size_t n);

/**
 * fsck: every ref under refs/notes: filed under a run the store has, named
 * by what it holds, naming a readable note of that run.  `problem` gets each
 * (`run` may be NULL).  Returns the number of notes checked.
 */
size_t xtrk_notes_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload);

#endif
