/* The options commit-run and run share: parsed once, into xtrk_commit_options. */
#ifndef XTRK_CLI_COMMIT_OPTS_H
#define XTRK_CLI_COMMIT_OPTS_H

#include <getopt.h>
#include <time.h>

#include "cli.h"
#include "xtrk/run.h"

#define COMMIT_SHORT_OPTS "e:m:p:P:M:d:q"

/* The usage lines both commands print for these options. */
#define COMMIT_OPTIONS_HELP \
	"  -e, --experiment NAME     experiment (default: core.experiment, else 'default')\n" \
	"  -m, --message TEXT        what this run is\n" \
	"  -p, --param KEY=VALUE     a parameter (repeatable; a.b=1 nests)\n" \
	"  -P, --params FILE         a JSON or YAML params file (repeatable; kept for checkout)\n" \
	"      --metric KEY=VALUE    a final metric (repeatable)\n" \
	"  -M, --metrics FILE        JSON or YAML metrics, or a .jsonl step series (repeatable)\n" \
	"  -d, --dataset [NAME=]PATH[@SOURCE]   an input, with free-text provenance (repeatable)\n" \
	"      --model [NAME=]PATH   an output model (repeatable)\n" \
	"      --artifact [NAME=]PATH   another output (repeatable)\n" \
	"      --seed N              the random seed (also read from the param 'seed')\n" \
	"      --note TEXT           the rationale (repeatable)\n" \
	"      --tag NAME            tag the new run (repeatable)\n" \
	"      --parent RUN          the run this one varies\n" \
	"      --threads N           hashing threads (default: one per core, up to 8)\n" \
	"      --json                print the run's JSON instead of its ID\n" \
	"      --failed              record the run as failed\n" \
	"      --python PATH         the Python whose version and packages to record\n" \
	"  -q, --quiet               no progress or warnings on stderr\n"

struct commit_args {
	struct strlist params, pfiles, metrics, mfiles, data, models, artifacts, notes, tags;
	xtrk_commit_options o;
	int json, quiet;
	time_t start;
	int progress_shown;
	const char *python;             /* --python: the interpreter to ask, checked to exist */
	/* Options of commit-run alone: taken only when `commit_run` is set before parsing (else unknown). */
	int commit_run, check;
	const char *error, *command_json;
};

/* The long options of both commands, ending with --help; commit-run's own are here too (see commit_run). */
extern const struct option commit_long_opts[];

/**
 * Take one option returned by getopt_long.  Returns 1 when it was a commit
 * option, 0 when not (the caller handles it), or an exit status for a bad value.
 */
int commit_args_take(struct commit_args *a, int c, const char *arg, const char *usage);
/**
 * Parse argv with getopt_long and `optstring`: -1 when parsing is done and
 * the command goes on (optind at the first operand), else the exit status to
 * return (0 after --help, 2 for a usage error).
 */
int commit_args_parse(struct commit_args *a, int argc, char **argv, const char *optstring, const char *usage);
/** Fill a->o from the lists (and progress on a terminal); call after parsing. */
void commit_args_finish(struct commit_args *a);
/** Print the new run's ID (or JSON) and warnings, as both commands do. */
void commit_args_report(struct commit_args *a, const xtrk_oid *id, json_t *run);
void commit_args_free(struct commit_args *a);

#endif
