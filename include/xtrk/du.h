/*
 * Store size (xtrk du): what the store takes on disk, by kind and by
 * experiment, loose and packed, and what deduplication saves.
 *
 * One reachability walk (xtrk_reach_run) from every ref that keeps objects
 * gives each object a kind and an experiment: the first run that reaches it,
 * runs taken by experiment name, then removed runs, then runs only a tag
 * names.  One pass over the stored objects then adds their bytes on disk to
 * that kind and experiment; what no ref reaches is "unreachable" (gc's to
 * collect once older than its grace period).
 */
#ifndef XTRK_DU_H
#define XTRK_DU_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/repo.h"

typedef enum {
	XTRK_DU_RECORDS,     /* run records */
	XTRK_DU_DATASETS,    /* dataset files and folders */
	XTRK_DU_MODELS,
	XTRK_DU_ARTIFACTS,
	XTRK_DU_LOGS,        /* captured stdout and stderr */
	XTRK_DU_SERIES,      /* metric series */
	XTRK_DU_SOURCE,      /* source patches, untracked files, scripts */
	XTRK_DU_PARAMS,      /* params files */
	XTRK_DU_NOTES,       /* appended notes */
	XTRK_DU_UNREACHABLE, /* kept by no ref: garbage */
	XTRK_DU_NKINDS
} xtrk_du_kind;

/** The kinds' names, as du prints them: "records", "datasets", ... */
extern const char *const xtrk_du_kind_names[XTRK_DU_NKINDS];

typedef struct {
	uint64_t objects; /* stored copies (an object both loose and packed counts twice) */
	uint64_t stored;  /* bytes on disk */
} xtrk_du_count;

typedef struct {
	char name[256];       /* the experiment; "(removed)" and "(tagged)" for runs only those keep */
	size_t runs;
	xtrk_du_count stored; /* objects first reached from its runs */
	uint64_t referenced;  /* content bytes its runs reference, each run counted whole */
} xtrk_du_experiment;

typedef struct {
	uint64_t total_bytes;      /* every regular file under the store folder */
	xtrk_du_count loose;       /* loose objects */
	xtrk_du_count packed;      /* objects in packs (entry headers and data) */
	uint64_t pack_file_bytes;  /* pack and index files, whole */
	uint64_t other_bytes;      /* total less loose objects and pack files: refs, index, config, temporary files */
	xtrk_du_count kinds[XTRK_DU_NKINDS];
	xtrk_du_experiment *experiments;
	size_t nexperiments;
	size_t runs;               /* distinct runs walked */
	uint64_t referenced;       /* sum over runs of the content bytes each references (data by its recorded size) */
	uint64_t referenced_kinds[XTRK_DU_NKINDS];
	uint64_t unique;           /* content bytes of the reachable files, records, logs ..., each once */
	uint64_t stored_live;      /* bytes on disk of reachable objects */
} xtrk_du_result;

/** Measure the store.  Never prints. */
int xtrk_du(xtrk_du_result *out, xtrk_repo *repo);
void xtrk_du_result_dispose(xtrk_du_result *r);

#endif
