/*
 * What a run records without being told: the source (through libgit2) and
 * the environment (OS, CPU, memory, GPUs, Python, container, variables).
 */
#ifndef XTRK_CAPTURE_H
#define XTRK_CAPTURE_H

#include <stdint.h>
#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/odb.h"
#include "xtrk/repo.h"
#include "xtrk/run.h"

/** What source capture takes beyond the git state itself. */
typedef struct {
	int untracked;                /* store the content of untracked, non-ignored files */
	uint64_t untracked_max_file;  /* a larger file is skipped (named in a warning and the record) */
	uint64_t untracked_max_total; /* files that would take the total past this are skipped */
	int warn;                     /* add a warning for each skipped untracked file */
	/*
	 * Files or folders (relative to the capture's `workdir`) whose untracked
	 * files are left out silently: the run records them as data or params
	 * files, which checkout restores anyway.
	 */
	const char *const *exclude;
	size_t nexclude;
} xtrk_source_options;

#define XTRK_SOURCE_OPTIONS_INIT { 1, (uint64_t)1 << 20, (uint64_t)16 << 20, 1, NULL, 0 }

/**
 * The source options of the workspace at `workdir` from its `.xtrk/config`
 * (capture.untracked, capture.untracked-max-file, capture.untracked-max-total;
 * sizes take k, m and g suffixes), the defaults where unset or when there is
 * no config.  XTRK_EINVALID names a value that cannot be read.
 */
int xtrk_source_options_read(xtrk_source_options *opts, const char *workdir);

/**
 * Capture the git state of the repository that contains `workdir`:
 * {"commit", "branch", "dirty", "patch", "untracked", "untracked_content",
 * "remotes"} (xtrk-format(5)).  The patch of all uncommitted changes to tracked files (staged
 * and unstaged, binary included) is stored as a blob through `txn`; so are the
 * untracked, non-ignored files (never anything in `.git` or `.xtrk`), as a
 * tree whose ID, counts and skipped files "untracked_content" records (null
 * when there are none or `opts->untracked` is off).  Outside a git repository
 * every field is null or empty and a warning is added.
 */
int xtrk_capture_source_opts(json_t **out, xtrk_txn *txn, const char *workdir, const xtrk_source_options *opts);

/** xtrk_capture_source_opts with the options of the workspace at `workdir` (xtrk_source_options_read). */
int xtrk_capture_source(json_t **out, xtrk_txn *txn, const char *workdir);

/**
 * The source of a run about to be recorded with `opts` in the workspace:
 * xtrk_capture_source, leaving out of the untracked files those below the
 * run's datasets, models, artifacts and params files.
 */
int xtrk_capture_source_commit(json_t **out, xtrk_txn *txn, xtrk_repo *repo, const xtrk_commit_options *opts);

/** xtrk_redact_text for a URL (a git remote). */
char *xtrk_url_strip_credentials(const char *url);

/**
 * A copy of `text` (malloc'd; NULL only when out of memory) with the credentials of every URL in
 * it removed, wherever in the text the URL stands ("git+https://u:p@host/x.git", "--index-url
 * https://..."): the user information ("user:password@", "token@") is dropped, except a user
 * name alone in ssh URLs; the value of a query or fragment parameter whose name looks secret
 * (access_token, private_token, key, sig, X-Amz-Signature, password, code...) becomes REDACTED.
 * A password holding '/' ("https://u:pa/ss@host") is recognised as git reads it.
 */
char *xtrk_redact_text(const char *text);

/**
 * 1 when a name (of a variable, a URL parameter, an option) looks like it holds a secret: one of
 * its parts, split at '_', '-', '.' and lower-to-upper case changes, is TOKEN, SECRET, PASSWORD,
 * PASSWD, PASS, PW, PWD, PAT, KEY (or ends in KEY), CREDENTIAL(S), AUTH, SESSION, COOKIE, SIG,
 * SIGNATURE, DSN, WEBHOOK, PRIVATE...; or it holds SECRET, PASSWORD, APIKEY, ACCESSKEY,
 * CONNSTR, CONNECTIONSTRING, TOKEN (not TOKENIZER)... anywhere. PWD and OLDPWD alone, the
 * working folders, are not secrets.
 */
int xtrk_secret_name(const char *name);

/**
 * A copy of a run's command ({"argv": [...], "cwd": ...}) fit to record: the value of an option
 * or assignment whose name looks secret ("--token=x", "--password x", "HF_TOKEN=x",
 * "db.password=x") becomes REDACTED and every argument goes through xtrk_redact_text.
 * Anything that is not an object is returned as is (a new reference). NULL when out of memory.
 */
json_t *xtrk_redact_command(json_t *command);

/** "Name <email>" from git config (repository, then global), else login@host. */
int xtrk_capture_author(xtrk_buf *out, const char *workdir);
/** A string from git config (repository, then global); XTRK_ENOTFOUND when unset or empty. */
int xtrk_capture_git_config(xtrk_buf *out, const char *workdir, const char *key);

typedef struct {
	int python;                /* capture Python version and packages */
	const char *python_exe;    /* interpreter to ask; NULL: python3 from PATH */
	int python_timeout_ms;     /* give up (with a warning) after this long */
	/*
	 * Where to keep the last Python answer (NULL: never cached).  It is reused
	 * while the interpreter, PYTHONPATH and the mtime of every sys.path folder
	 * are unchanged: installing, removing or upgrading a package changes them.
	 */
	const char *python_cache;
	/*
	 * A folder of such answers shared by every store of the user (NULL: none), one file per
	 * interpreter path and PYTHONPATH, reused under the same key: a new store need not ask
	 * the same, unchanged Python again.
	 */
	const char *python_user_cache;
} xtrk_env_options;

#define XTRK_ENV_OPTIONS_INIT { 1, NULL, 15000, NULL, NULL }

/** Capture the environment as the run record's "env" object (xtrk-format(5)). */
int xtrk_capture_env(json_t **out, const xtrk_env_options *opts);

/**
 * Capture the environment with the workspace's settings: capture.python from
 * .xtrk/config (default true) and the Python answer cached in .xtrk/cache.
 * `python_exe` is the interpreter to ask (the one running the command), or
 * NULL for python3 on PATH.
 */
int xtrk_capture_env_repo(json_t **out, xtrk_repo *repo, const char *python_exe);

/** 1 when an environment variable may be recorded: on the allow-list and not secret-looking. */
int xtrk_env_var_recordable(const char *name);

/** 1 when a variable name looks like it holds a secret (TOKEN, SECRET, PASSWORD, KEY...). */
int xtrk_env_var_secret(const char *name);

/**
 * The login name of the current user into `out` (at most `len` bytes), or
 * "unknown".  Thread-safe (getpwuid_r): environment capture runs beside the
 * snapshot, and getpwuid's shared buffer once corrupted a recorded name.
 */
void xtrk_login_name(char *out, size_t len);


#endif
