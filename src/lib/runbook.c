/* RUNBOOK.md: the part of a bundle written for people. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/record.h"
#include "xtrk/tree.h"
#include <stdio.h>

/* The string o[k], or "" (the record's own reader gives NULL). */
static const char *str_or_empty(json_t *o, const char *k)
{
	const char *s = xtrk_record_str(o, k);
	return s ? s : "";
}

static void json_block(xtrk_buf *b, json_t *j)
{
	char *text = xtrk_json_dumps(j, XTRK_JSON_PRETTY);
	xtrk_buf_printf(b, "```json\n%s\n```\n\n", text ? text : "null");
	free(text);
}

static void data_table(xtrk_buf *b, const char *title, json_t *arr)
{
	size_t i;
	json_t *e;
	if (!json_array_size(arr))
		return;
	xtrk_buf_printf(b, "**%s**\n\n| name | path | kind | ID | files | bytes | source |\n|---|---|---|---|---|---|---|\n", title);
	json_array_foreach(arr, i, e)
		xtrk_buf_printf(b, "| %s | `%s` | %s | `%s` | %lld | %lld | %s |\n", str_or_empty(e, "name"), str_or_empty(e, "path"),
			str_or_empty(e, "kind"), str_or_empty(e, "id"), json_integer_value(json_object_get(e, "files")),
			json_integer_value(json_object_get(e, "bytes")), str_or_empty(e, "source"));
	xtrk_buf_puts(b, "\n");
}

/* A remote to clone the run's commit from: "origin" when recorded, else the first. */
static const char *clone_url(json_t *src)
{
	json_t *rem = json_object_get(src, "remotes"), *u;
	const char *name;
	if (json_is_string(json_object_get(rem, "origin")))
		return json_string_value(json_object_get(rem, "origin"));
	json_object_foreach(rem, name, u)
		if (json_is_string(u))
			return json_string_value(u);
	return NULL;
}

/*
 * The rebuild, as shell lines: a folder that becomes the workspace and (from the bundle's source
 * pack, or a clone) the run's git repository at its commit with the patch uncommitted, so that
 * the rerun records the same source; then the command, as `xtrk run` ran it or, for a run that the
 * Python package recorded itself, as the script was started, with how to make `import xtrk` work.
 * Recorded text is quoted for the shell, and escaped where it is only shown in a comment.
 */
static void reproduce(xtrk_buf *b, json_t *r, const char *bundle, int with_source)
{
	json_t *src = json_object_get(r, "source"), *cmd = json_object_get(r, "command");
	json_t *py = json_object_get(json_object_get(r, "env"), "python"), *argv = json_object_get(cmd, "argv");
	const char *id = str_or_empty(r, "id"), *commit = str_or_empty(src, "commit"), *url = clone_url(src);
	const char *cwd = str_or_empty(cmd, "cwd");
	/* Recorded by the Python package (commit-run with its command line): `xtrk run` records an exit code. */
	int binding = json_is_object(cmd) && !json_is_integer(json_object_get(r, "exit_code"));
	char folder[64], shown[320];

	snprintf(folder, sizeof(folder), "rebuild-%.12s", id);
	xtrk_buf_puts(b, "\n### Reproduce\n\n```sh\n");
	if (*commit && !with_source && url) {
		xtrk_buf_puts(b, "git clone -- ");
		xtrk_record_shell_word(b, url);
		xtrk_buf_printf(b, " %s && cd %s     # a clone that has commit %.12s\n", folder, folder, commit);
	} else {
		if (*commit && !with_source)
			xtrk_buf_printf(b, "# the source is not in this bundle: clone the run's git repository as %s "
				"(it must have commit %.12s) instead of mkdir\n", folder, commit);
		xtrk_buf_printf(b, "mkdir %s && cd %s\n", folder, folder);
	}
	xtrk_buf_puts(b, "xtrk init\nxtrk bundle verify ");
	xtrk_buf_puts(b, "../");
	xtrk_record_shell_word(b, bundle);
	xtrk_buf_puts(b, "\nxtrk bundle import ../");
	xtrk_record_shell_word(b, bundle);
	xtrk_buf_printf(b, "\nxtrk checkout %s     # ", id);
	if (*commit)
		xtrk_buf_printf(b, "a git repository at commit %.12s%s%s, ", commit,
			json_is_string(json_object_get(src, "patch")) ? ", the patch uncommitted" : "",
			with_source ? " (from the bundle)" : "");
	xtrk_buf_puts(b, "data and params files, each verified\n");
	if (json_is_object(py) && json_object_size(json_object_get(py, "packages")))
		xtrk_buf_puts(b, "# install the Python packages listed above (python -m venv; pip install -r ...)\n");
	if (json_is_object(cmd)) {
		const char *prog = json_string_value(json_array_get(argv, 0));
		const char *base = prog && strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
		json_t *line = json_copy(argv);
		if (binding) {
			xtrk_buf_puts(b, "# recorded through the xtrk Python package: make `import xtrk` work for this python, "
				"from xtrk's source:\n#   make install   (puts it in python3's site folder; configure "
				"--with-python-sitedir=DIR for another)\n#   or: pip install ./contrib/python   (offline, no "
				"dependency; in a virtual environment)\n");
			/* The interpreter by its name: the recorded path is the other machine's. */
			if (prog && base != prog && !strncmp(base, "python", 6) && line) {
				xtrk_buf_printf(b, "# the run's interpreter was %s", xtrk_path_shown(shown, sizeof(shown), prog));
				if (*str_or_empty(py, "version"))
					xtrk_buf_printf(b, " (Python %s)",
						xtrk_path_shown(shown, sizeof(shown), str_or_empty(py, "version")));
				xtrk_buf_puts(b, "\n");
				json_array_set_new(line, 0, json_string(base));
			}
		}
		if (*cwd && strcmp(cwd, ".")) {
			xtrk_buf_puts(b, "cd ");
			xtrk_record_shell_word(b, cwd);
			xtrk_buf_puts(b, " && ");
		}
		if (!binding) {
			xtrk_buf_puts(b, "xtrk run ");
			if (*str_or_empty(r, "experiment")) {
				xtrk_buf_puts(b, "-e ");
				xtrk_record_shell_word(b, str_or_empty(r, "experiment"));
				xtrk_buf_puts(b, " ");
			}
			xtrk_buf_puts(b, "-- ");
		}
		xtrk_record_shell_line(b, line ? line : argv);
		xtrk_buf_puts(b, binding ? "     # the package records the run, as it did the original\n" : "\n");
		json_decref(line);
	}
	xtrk_buf_printf(b, "xtrk diff %.12s ", id);
	if (json_is_object(cmd) && *str_or_empty(r, "experiment"))
		xtrk_record_shell_word(b, str_or_empty(r, "experiment"));
	xtrk_buf_puts(b, "   # what differs between the original and the rebuild\n```\n\n");
}

static void one_run(xtrk_buf *b, json_t *r, const char *bundle, int with_source, int no_data)
{
	json_t *src = json_object_get(r, "source"), *env = json_object_get(r, "env");
	json_t *cmd = json_object_get(r, "command"), *py = json_object_get(env, "python"), *gpus, *g;
	const char *id = str_or_empty(r, "id");
	size_t i;

	xtrk_buf_printf(b, "## Run %s\n\n", id);
	xtrk_buf_printf(b, "- experiment: %s\n- message: %s\n- status: %s", str_or_empty(r, "experiment"), str_or_empty(r, "message"),
		str_or_empty(r, "status"));
	if (json_is_integer(json_object_get(r, "exit_code")))
		xtrk_buf_printf(b, " (exit %lld)", json_integer_value(json_object_get(r, "exit_code")));
	xtrk_buf_printf(b, "\n- started %s, ended %s\n- author: %s\n", str_or_empty(r, "started"), str_or_empty(r, "ended"), str_or_empty(r, "author"));
	if (json_is_integer(json_object_get(r, "seed")))
		xtrk_buf_printf(b, "- seed: %lld\n", json_integer_value(json_object_get(r, "seed")));
	if (json_array_size(json_object_get(r, "tags"))) {
		xtrk_buf_puts(b, "- tags:");
		json_array_foreach(json_object_get(r, "tags"), i, g)
			xtrk_buf_printf(b, " %s", json_string_value(g));
		xtrk_buf_puts(b, "\n");
	}
	if (json_is_object(cmd)) {
		xtrk_buf_puts(b, "- command: `");
		xtrk_record_shell_line(b, json_object_get(cmd, "argv"));
		xtrk_buf_printf(b, "` in `%s`\n", *str_or_empty(cmd, "cwd") ? str_or_empty(cmd, "cwd") : ".");
	}
	xtrk_buf_puts(b, "\n### Source\n\n");
	if (*str_or_empty(src, "commit")) {
		xtrk_buf_printf(b, "- commit `%s` on branch %s%s\n", str_or_empty(src, "commit"),
			*str_or_empty(src, "branch") ? str_or_empty(src, "branch") : "(detached)",
			with_source ? " (carried in this bundle as source.pack)" : "");
		if (json_is_true(json_object_get(src, "dirty")))
			xtrk_buf_printf(b, "- uncommitted changes recorded as patch `%s`, applied by checkout\n", str_or_empty(src, "patch"));
		{
			json_t *u = json_object_get(src, "untracked_content");
			if (*str_or_empty(u, "id"))
				xtrk_buf_printf(b, "- %lld untracked files stored as tree `%s`, restored by checkout\n",
					json_integer_value(json_object_get(u, "files")), str_or_empty(u, "id"));
			if (json_integer_value(json_object_get(u, "skipped_files")))
				xtrk_buf_printf(b, "- %lld untracked files not captured (over the size limits, or special "
					"files); checkout cannot restore them\n",
					json_integer_value(json_object_get(u, "skipped_files")));
		}
		json_t *rem = json_object_get(src, "remotes"), *u;
		const char *name;
		json_object_foreach(rem, name, u)
			xtrk_buf_printf(b, "- remote %s: %s\n", name, json_string_value(u));
	} else {
		xtrk_buf_puts(b, "No git commit was recorded.\n");
	}
	xtrk_buf_puts(b, "\n### Parameters\n\n");
	json_block(b, json_object_get(r, "params"));
	xtrk_buf_puts(b, "### Metrics\n\n");
	json_block(b, json_object_get(r, "metrics"));
	xtrk_buf_puts(b, "### Data\n\n");
	data_table(b, "Datasets", json_object_get(r, "datasets"));
	data_table(b, "Models", json_object_get(r, "models"));
	data_table(b, "Artifacts", json_object_get(r, "artifacts"));
	xtrk_buf_puts(b, "Each file's ID is its XXH3-128, so `xxhsum -H2 FILE` checks a single file.\n\n");
	xtrk_buf_puts(b, "### Environment\n\n");
	{
		json_t *os = json_object_get(env, "os");
		const char *distro = str_or_empty(os, "distro"), *version = str_or_empty(os, "distro_version");
		char mem[32];
		/* The distribution's pretty name mostly holds its version already: written once. */
		xtrk_buf_printf(b, "- OS: %s%s%s (%s), host %s\n", distro, *version && !strstr(distro, version) ? " " : "",
			*version && !strstr(distro, version) ? version : "", str_or_empty(os, "kernel"), str_or_empty(env, "host"));
		xtrk_human_bytes(mem, sizeof(mem), (unsigned long long)json_integer_value(json_object_get(env, "memory_bytes")));
		xtrk_buf_printf(b, "- CPU: %s, %lld cores; memory %s\n", str_or_empty(json_object_get(env, "cpu"), "model"),
			json_integer_value(json_object_get(json_object_get(env, "cpu"), "cores")), mem);
	}
	gpus = json_object_get(env, "gpus");
	json_array_foreach(gpus, i, g)
		xtrk_buf_printf(b, "- GPU %zu: %s, driver %s, CUDA %s\n", i, str_or_empty(g, "name"), str_or_empty(g, "driver"), str_or_empty(g, "cuda"));
	if (json_is_object(py)) {
		json_t *pk = json_object_get(py, "packages"), *v;
		const char *name;
		xtrk_buf_printf(b, "- Python %s with %zu packages\n\n", str_or_empty(py, "version"), json_object_size(pk));
		if (json_object_size(pk)) {
			xtrk_buf_puts(b, "<details><summary>requirements (pip install -r)</summary>\n\n```\n");
			json_object_foreach(pk, name, v)
				xtrk_buf_printf(b, "%s==%s\n", name, json_string_value(v));
			xtrk_buf_puts(b, "```\n\n</details>\n");
		}
	}
	reproduce(b, r, bundle, with_source);
	if (no_data)
		xtrk_buf_puts(b, "This bundle was made with --no-data: data, model and artifact files are not in it; "
				 "pull them from a remote that has them.\n\n");
}

int xtrk_runbook_format(xtrk_buf *out, json_t *const *runs, size_t nruns, const char *bundle_name,
	int with_source, int no_data)
{
	xtrk_buf_printf(out, "# Run book: %zu run%s\n\n", nruns, nruns == 1 ? "" : "s");
	xtrk_buf_puts(out, "This archive was written by `xtrk bundle create`. It holds everything recorded for the "
			   "runs below: their summaries (`runs/*.json`), every object they reach (`objects/`, each named "
			   "by its XXH3-128 ID)");
	xtrk_buf_puts(out, with_source ? " and the source commits with their history (`source.pack`).\n\n" : ".\n\n");
	for (size_t i = 0; i < nruns; i++)
		one_run(out, runs[i], bundle_name, with_source, no_data);
	return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
}
