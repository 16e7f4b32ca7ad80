/*
 * The shape of a run record: every field a reader of the store relies on,
 * checked once, wherever a record comes from (a bundle, a remote, a commit,
 * the store itself).
 */
#ifndef XTRK_RECORD_H
#define XTRK_RECORD_H

#include <jansson.h>
#include <stdint.h>

#include "xtrk/buf.h"
#include "xtrk/oid.h"
#include "xtrk/odb.h"
#include "xtrk/tree.h"

/* The fields of a run record that several readers use. */
#define XTRK_REC_EXPERIMENT "experiment"
#define XTRK_REC_STATUS "status"
#define XTRK_REC_STARTED "started"
#define XTRK_REC_ENDED "ended"
#define XTRK_REC_PARENT "parent"
#define XTRK_REC_MESSAGE "message"
#define XTRK_REC_TAGS "tags"
#define XTRK_REC_PARAMS "params"
#define XTRK_REC_METRICS "metrics"
#define XTRK_REC_SOURCE "source"
#define XTRK_REC_SERIES "series"
#define XTRK_REC_LOGS "logs"
#define XTRK_REC_PARAMS_FILES "params_files"
#define XTRK_REC_DATASETS "datasets"
#define XTRK_REC_MODELS "models"
#define XTRK_REC_ARTIFACTS "artifacts"
/* In `source`: */
#define XTRK_REC_COMMIT "commit"
#define XTRK_REC_PATCH "patch"
#define XTRK_REC_UNTRACKED_CONTENT "untracked_content"
#define XTRK_REC_SCRIPTS "scripts"
/* In a data entry, a params file or a script: */
#define XTRK_REC_NAME "name"
#define XTRK_REC_PATH "path"
#define XTRK_REC_KIND "kind"
#define XTRK_REC_ID "id"
#define XTRK_REC_BYTES "bytes"
#define XTRK_REC_PROFILE "profile" /* a dataset's profile (a JSON blob), optional */

/** The number of object groups of a run: datasets, models, artifacts. */
#define XTRK_RECORD_NGROUPS 3

/** The object groups of a run, in the order readers show them: "datasets", "models", "artifacts". */
extern const char *const xtrk_record_groups[XTRK_RECORD_NGROUPS];

/** The string `o[key]`, or NULL when `o` is not an object or the value is not a string. */
const char *xtrk_record_str(const json_t *o, const char *key);

/**
 * Append a command's argv (the record's command.argv, a list of strings) to `b` as one shell
 * line: words joined by spaces, each quoted with '...' when it holds anything but
 * [A-Za-z0-9-_./=:,+@%] (a ' inside as '\''). Control characters are left as they are.
 */
void xtrk_record_shell_line(xtrk_buf *b, const json_t *argv);
/** One word of such a line, quoted the same way. */
void xtrk_record_shell_word(xtrk_buf *b, const char *word);

/** What most readers need of a record: pointers into its JSON (NULL when absent or of another type). */
typedef struct {
	const char *experiment, *status, *started, *ended, *parent, *message;
	json_t *source;     /* the object, or NULL */
	const char *commit; /* source.commit */
	const char *patch;  /* source.patch */
	json_t *untracked;  /* source.untracked_content, or NULL */
	json_t *scripts;    /* source.scripts, or NULL */
	json_t *logs;       /* {stdout, stderr}, or NULL */
	const char *series;
	json_t *params, *metrics, *tags;
	json_t *params_files;
	json_t *groups[XTRK_RECORD_NGROUPS]; /* the arrays of xtrk_record_groups, or NULL */
} xtrk_record_view;

/** Fill `view` from `rec` (no copy: valid while `rec` is). */
void xtrk_record_view_get(xtrk_record_view *view, json_t *rec);

/** The size of a file when its record or tree gives none. */
#define XTRK_RECORD_SIZE_UNKNOWN UINT64_MAX

/** Where an object a run references is named. */
typedef enum {
	XTRK_RECORD_RUN,          /* the run object itself */
	XTRK_RECORD_PATCH,        /* source.patch */
	XTRK_RECORD_SERIES,       /* series */
	XTRK_RECORD_STDOUT,       /* logs.stdout */
	XTRK_RECORD_STDERR,       /* logs.stderr */
	XTRK_RECORD_PARAMS_FILE,  /* params_files[].id */
	XTRK_RECORD_SCRIPT,       /* source.scripts[].id */
	XTRK_RECORD_UNTRACKED,    /* source.untracked_content.id (a tree) */
	XTRK_RECORD_DATA,         /* datasets, models, artifacts [].id */
	XTRK_RECORD_PROFILE       /* datasets[].profile: the data's profile */
} xtrk_record_role;

/** One object a run references, named by its record or by a tree it names. */
typedef struct {
	xtrk_record_role role;
	const char *hex;   /* the ID as written; NULL: none (data entries only are given without one) */
	xtrk_oid id;       /* the ID, when id_ok */
	int id_ok;
	xtrk_otype type;   /* the type the use needs: run, blob or tree */
	uint64_t bytes;    /* a file's recorded size, or XTRK_RECORD_SIZE_UNKNOWN */
	int is_data;       /* a file or folder of a dataset, model or artifact */
	int in_tree;       /* an entry of a tree the run names, not named by the record itself */
	const char *group; /* for data: "datasets", "models" or "artifacts" */
	const char *what;  /* for messages: "source patch", "dataset 'name'", ... */
} xtrk_record_object;

typedef struct {
	/*
	 * Called for every object the run references, in record order (the run,
	 * patch, series, logs, params files, scripts, untracked files, data);
	 * negative stops the walk with that code; 1 for a tree: walk its entries.
	 */
	int (*object)(const xtrk_record_object *o, void *payload);
	/*
	 * Read tree `o` (at nesting `depth`) to walk it: 0 with *out set, 1 to
	 * leave it unwalked, negative to stop.  NULL: trees are not walked.
	 */
	int (*read_tree)(xtrk_tree **out, const xtrk_record_object *o, int depth, void *payload);
	void *payload;
} xtrk_record_visitor;

/**
 * Visit every object run `rec` references: the run itself (when `run_id` is
 * given), its patch, series, logs, params files, scripts, the tree of its
 * untracked files and every dataset, model and artifact, with the entries of
 * the trees the callbacks choose to walk.  0, or the first negative code.
 */
int xtrk_record_foreach_object(json_t *rec, const xtrk_oid *run_id, const xtrk_record_visitor *v);

/**
 * Check a run record (or a bundle's run summary, which adds `id` and `tags`):
 * the object-ID fields are IDs, no tag looks like a run ID prefix (32 lower-case hex; `parent` a run ID), the
 * experiment name and tags are valid names, `started` (and `ended` when
 * present) are RFC 3339 UTC timestamps as xtrk writes them, `status` is
 * "succeeded" or "failed", `params` and `metrics` are objects, datasets,
 * models and artifacts are {name, path, kind, id} with a safe relative path
 * and kind "blob" or "tree", and the other fields have the types readers
 * expect.  0, or XTRK_ECORRUPT with a message naming the field.
 */
int xtrk_record_check(const json_t *rec);

/**
 * Check that a run record read from an untrusted place has the fields the
 * store relies on, with the right types: object IDs that are IDs, relative
 * paths with no '..', a valid experiment name, nesting no deeper than
 * params and metrics may (XTRK_MAX_NESTING).  XTRK_ECORRUPT naming the field.
 */
int xtrk_run_validate(json_t *run);

/** 1 when `s` is a timestamp as xtrk writes them: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
int xtrk_record_timestamp_valid(const char *s);

#endif
