/* Selecting runs from the index (--where, --sort, -n) and printing them (table, JSON, CSV): log and export. */
#ifndef XTRK_CLI_RUNLIST_H
#define XTRK_CLI_RUNLIST_H

#include <stddef.h>

#include "cli.h"
#include "xtrk/index.h"

struct runlist {
	const char *experiment; /* -e */
	const char *where;      /* --where */
	const char *sort;       /* --sort [-]KEY */
	long long max;          /* -n, or -1 */
	const char *format;     /* table, json or csv */
	const char *columns;    /* --columns K1,K2 */
	int all_columns;        /* CSV: every flattened field (export), not only params and metrics */
	int packages;           /* with all_columns: the environment's packages too (env.python.packages) */
};

/**
 * Check --where before anything is opened: a malformed expression is shown
 * with a caret under the column where it went wrong; returns EXIT_USAGE then.
 */
int runlist_check_where(const char *where);
/** Open the index, select, sort and print; returns an exit status. */
int runlist_run(const struct runlist *o, struct cli *cli);

#endif
