/* RUNBOOK.md: the part of a bundle written for people. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "xtrk/bundle.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/record.h"

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
	xtrk_buf_puts(b, "\n### Reproduce\n\n```sh\n");
	xtrk_buf_printf(b, "mkdir rebuild-%.12s && cd rebuild-%.12s\n", id, id);
	xtrk_buf_printf(b, "xtrk init\nxtrk bundle verify ../%s\nxtrk bundle import ../%s\n", bundle, bundle);
	xtrk_buf_printf(b, "xtrk checkout %s -C work     # source%s, data and params files, each verified\n", id,
		*str_or_empty(src, "commit") ? (with_source ? " from the bundle" : " from your clone of the git remote") : "");
	if (json_is_object(py) && json_object_size(json_object_get(py, "packages")))
		xtrk_buf_puts(b, "# install the Python packages listed above (python -m venv; pip install -r ...)\n");
	if (json_is_object(cmd)) {
		xtrk_buf_printf(b, "cd work/%s && xtrk run -e %s -- ", *str_or_empty(cmd, "cwd") ? str_or_empty(cmd, "cwd") : ".",
			str_or_empty(r, "experiment"));
		xtrk_record_shell_line(b, json_object_get(cmd, "argv"));
		xtrk_buf_puts(b, "\n");
	}
	xtrk_buf_printf(b, "xtrk diff %.12s %s   # what differs between the original and the rebuild\n```\n\n",
		id, json_is_object(cmd) ? str_or_empty(r, "experiment") : "");
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
