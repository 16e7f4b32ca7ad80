/* Shared pieces of the xtrk program: the command table type, option lists, output and exit codes. */
#ifndef XTRK_CLI_H
#define XTRK_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/repo.h"

/* Exit statuses, the same for every command (xtrk(1)). */
#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_USAGE 2
#define EXIT_CHECK 3

struct cli {
	const char *workspace; /* -C DIR before the command, or NULL */
};

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli *cli);
	const char *summary;
};

/* A growable list of option values (for repeatable options). */
struct strlist {
	const char **items;
	size_t n, alloc;
};
void strlist_push(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/** Print "xtrk: error: <last library error>" and pending warnings; map a code to an exit status. */
int cli_fail(int code);
/** Print "xtrk: error: ..." for a problem found by the program itself. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** A usage error: the message, then the command's usage on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print and clear library warnings as "xtrk: warning: ...". */
void cli_warnings(void);
/** Open the workspace (from -C, XTRK_DIR or the current folder); prints the error itself. */
int cli_open_repo(xtrk_repo **out, struct cli *cli);
/** Print a JSON value on stdout, indented, keys sorted, with a final newline. */
void cli_print_json(json_t *v);
/** An object's bytes on stdout, as stored: the whole object is verified before any byte is printed. */
int cli_print_object(xtrk_repo *repo, const xtrk_oid *id);
/** 1 when stdout (fd 1) or stderr (fd 2) is a terminal. */
int cli_isatty(int fd);
/**
 * Text from a run record (or any untrusted source) made safe for human output: control
 * characters (C0 with ESC, DEL, C1 U+0080-U+009F), the bidirectional controls (U+061C,
 * U+200E/F, U+202A-U+202E, U+2066-U+2069) and bytes that are not UTF-8 are shown escaped
 * ("\e", "\n", "\x9b", "\u202e"), never written raw. cli_esc is for one line (a newline or
 * tab is escaped too); cli_esc_ml keeps newlines and tabs. The result stays valid for the next
 * 15 calls; cli_escape_buf appends to a buffer instead. JSON and CSV output is not escaped.
 */
const char *cli_esc(const char *text);
const char *cli_esc_ml(const char *text);
void cli_escape_buf(xtrk_buf *out, const char *text, int multiline);
/** Format a byte count for people ("1.5 GiB"). */
void cli_human_bytes(char *out, size_t len, unsigned long long bytes);
/** Parse a whole decimal number; 0 or -1. */
int cli_parse_ll(const char *s, long long *out);

/* The subcommands. */
int cmd_init(int argc, char **argv, struct cli *cli);
int cmd_commit_run(int argc, char **argv, struct cli *cli);
int cmd_log(int argc, char **argv, struct cli *cli);
int cmd_rm(int argc, char **argv, struct cli *cli);
int cmd_tag(int argc, char **argv, struct cli *cli);
int cmd_note(int argc, char **argv, struct cli *cli);
int cmd_stage(int argc, char **argv, struct cli *cli);
int cmd_approve(int argc, char **argv, struct cli *cli);
int cmd_audit(int argc, char **argv, struct cli *cli);
int cmd_changelog(int argc, char **argv, struct cli *cli);
int cmd_review(int argc, char **argv, struct cli *cli);
int cmd_show(int argc, char **argv, struct cli *cli);
int cmd_logs(int argc, char **argv, struct cli *cli);
int cmd_series(int argc, char **argv, struct cli *cli);
int cmd_report(int argc, char **argv, struct cli *cli);
int cmd_hash_object(int argc, char **argv, struct cli *cli);
int cmd_cat_object(int argc, char **argv, struct cli *cli);
int cmd_fsck(int argc, char **argv, struct cli *cli);
int cmd_gc(int argc, char **argv, struct cli *cli);
int cmd_retain(int argc, char **argv, struct cli *cli);

/**
 * Apply (or with `dry_run`, list) what the [retain] rules remove: each run on stdout with its
 * reasons, or, with `json_out`, the report as a JSON object there.  A bad rule is exit 2.
 */
int cli_retain(xtrk_repo *repo, int dry_run, json_t **json_out);
int cmd_archive(int argc, char **argv, struct cli *cli);
int cmd_du(int argc, char **argv, struct cli *cli);
int cmd_diff(int argc, char **argv, struct cli *cli);
int cmd_status(int argc, char **argv, struct cli *cli);
int cmd_checkout(int argc, char **argv, struct cli *cli);
int cmd_run(int argc, char **argv, struct cli *cli);
int cmd_bundle(int argc, char **argv, struct cli *cli);
int cmd_export(int argc, char **argv, struct cli *cli);
int cmd_lineage(int argc, char **argv, struct cli *cli);
int cmd_remote(int argc, char **argv, struct cli *cli);
int cmd_push(int argc, char **argv, struct cli *cli);
int cmd_pull(int argc, char **argv, struct cli *cli);
int cmd_profile(int argc, char **argv, struct cli *cli);
int cmd_drift(int argc, char **argv, struct cli *cli);
int cmd_check(int argc, char **argv, struct cli *cli);
/** The workspace as cli_open_repo finds it, or NULL (no error printed) when there is none: for commands on files. */
int cli_open_repo_quiet(xtrk_repo **out, struct cli *cli);

#endif
