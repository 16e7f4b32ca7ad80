/* Gathering a run's inputs before it is recorded (no writes): data, params, metrics, rules. */
#ifndef XTRK_RUN_GATHER_H
#define XTRK_RUN_GATHER_H

#include <jansson.h>

#include "xtrk/repo.h"
#include "xtrk/run.h"
#include "xtrk/snapshot.h"
#include "xtrk/tree.h"

/* ---- gathering inputs (no writes) ---- */

struct data_input {
	char *name;
	char *relpath;
	char *source;
	const char *role;
	xtrk_snapshot snap;
	int left_out;        /* it could not be read once the command had run: named in the error instead */
	int has_profile;     /* a table profiled: its profile blob is `profile` */
	xtrk_oid profile;
};

struct commit_state {
	xtrk_repo *repo;
	const xtrk_commit_options *o;
	json_t *params;
	json_t *metrics;
	char *series_path;
	json_t *params_files; /* [{path, abs}] */
	struct data_input *data;
	size_t ndata;
	char experiment[256];
	json_t *source;
	xtrk_oid parent;
	int has_parent;
	int has_seed;
	long long seed;
	json_t *param_origins;  /* flattened key -> where its value came from */
	json_t *overridden;     /* flattened key -> {"was", "from", "by"} */
	json_t *problems;       /* salvage mode: what was left out, and why */
	json_t *stale;          /* outputs older than the command, not attached */
	int precheck;           /* before the command: inputs only, outputs do not exist yet */
};

int run_add_data(struct commit_state *s, const char *spec, const char *role, int allow_source);
int run_problem(struct commit_state *s, int err);
int run_check_text(struct commit_state *s, const char *what, const char *text);
json_t *run_text_json(const char *text);
int run_gather_params(struct commit_state *s);
int run_output_fresh(struct commit_state *s, const char *spec, const char *role);
int run_gather_metrics(struct commit_state *s);
int run_check_rules_inputs(struct commit_state *s);
int run_check_rule_clean(struct commit_state *s);

#endif
