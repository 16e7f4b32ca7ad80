/* xtrk log: list runs, newest first, as a table, JSON or CSV. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runfmt.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk log [-e EXP] [-n N] [--format table|json|csv] [--json] [--columns K1,K2,...]\n"
	"\n"
	"List runs, newest first.\n"
	"\n"
	"  -e, --experiment EXP   only runs of this experiment\n"
	"  -n, --max-count N      at most N runs\n"
	"      --format FMT       table (default), json (an array of runs) or csv\n"
	"      --json             the same as --format json\n"
	"      --columns LIST     fields to show, e.g. id,params.lr,metrics.acc\n"
	"  -h, --help             show this help\n";

enum { OPT_FORMAT = 256, OPT_JSON, OPT_COLUMNS };

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_unique(json_t *set, const char *prefix, json_t *obj)
{
	json_t *flat = xtrk_json_flatten(obj);
	const char *k;
	json_t *v;
	json_object_foreach(flat, k, v) {
		char col[600];
		snprintf(col, sizeof(col), "%s.%s", prefix, k);
		json_object_set_new(set, col, json_true());
	}
	json_decref(flat);
}

/* The default CSV columns: fixed fields, then every param and metric seen. */
static json_t *csv_columns(xtrk_run_item *items, size_t n)
{
	static const char *const fixed[] = { "id", "experiment", "started", "ended", "duration_s", "status",
		"exit_code", "message", "author", "source.commit", "source.branch", "source.dirty", "seed", NULL };
	json_t *cols = json_array(), *extra = json_object();
	const char *k;
	json_t *v;
	const char **keys;
	size_t nk = 0, i = 0;

	for (const char *const *f = fixed; *f; f++)
		json_array_append_new(cols, json_string(*f));
	for (i = 0; i < n; i++) {
		add_unique(extra, "params", json_object_get(items[i].run, "params"));
		add_unique(extra, "metrics", json_object_get(items[i].run, "metrics"));
	}
	keys = calloc(json_object_size(extra) + 1, sizeof(*keys));
	json_object_foreach(extra, k, v)
		keys[nk++] = k;
	qsort(keys, nk, sizeof(*keys), cmp_cstr);
	for (i = 0; i < nk; i++)
		json_array_append_new(cols, json_string(keys[i]));
	free(keys);
	json_decref(extra);
	return cols;
}

static json_t *split_columns(const char *list)
{
	json_t *cols = json_array();
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n)
			json_array_append_new(cols, json_stringn(p, n));
		p += n + (comma ? 1 : 0);
	}
	return cols;
}

static void print_csv(xtrk_run_item *items, size_t n, json_t *cols)
{
	xtrk_buf line = XTRK_BUF_INIT, cell = XTRK_BUF_INIT;
	size_t i, c;
	json_t *col;

	json_array_foreach(cols, c, col) {
		if (c)
			xtrk_buf_putc(&line, ',');
		runfmt_csv_field(&line, json_string_value(col));
	}
	printf("%s\n", line.ptr);
	for (i = 0; i < n; i++) {
		xtrk_buf_clear(&line);
		json_array_foreach(cols, c, col) {
			xtrk_buf_clear(&cell);
			runfmt_cell(&cell, runfmt_lookup(items[i].run, json_string_value(col)));
			if (c)
				xtrk_buf_putc(&line, ',');
			runfmt_csv_field(&line, cell.ptr);
		}
		printf("%s\n", line.ptr);
	}
	xtrk_buf_dispose(&line);
	xtrk_buf_dispose(&cell);
}

/* The metrics of a run as "k=v k=v", sorted, for the default table. */
static void metrics_summary(xtrk_buf *out, json_t *run)
{
	json_t *m = json_object_get(run, "metrics");
	const char **keys = calloc(json_object_size(m) + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t nk = 0;
	json_object_foreach(m, k, v)
		keys[nk++] = k;
	qsort(keys, nk, sizeof(*keys), cmp_cstr);
	for (size_t i = 0; i < nk; i++) {
		if (i)
			xtrk_buf_putc(out, ' ');
		xtrk_buf_printf(out, "%s=", keys[i]);
		runfmt_cell(out, json_object_get(m, keys[i]));
	}
	free(keys);
}

static void print_table(xtrk_run_item *items, size_t n, json_t *cols)
{
	xtrk_buf cell = XTRK_BUF_INIT;
	size_t ncols = json_array_size(cols), *width, i, c;
	char ***cells;

	if (!cols) {
		printf("%-12s  %-16s  %-19s  %-9s  %s\n", "RUN", "EXPERIMENT", "STARTED", "STATUS", "METRICS / MESSAGE");
		for (i = 0; i < n; i++) {
			json_t *r = items[i].run;
			const char *st = json_string_value(json_object_get(r, "started"));
			const char *msg = json_string_value(json_object_get(r, "message"));
			xtrk_buf_clear(&cell);
			metrics_summary(&cell, r);
			if (msg && *msg)
				xtrk_buf_printf(&cell, "%s%s", cell.size ? "  " : "", msg);
			printf("%.12s  %-16s  %.10s %.8s  %-9s  %s\n", xtrk_oid_tostr(&items[i].id),
				json_string_value(json_object_get(r, "experiment")), st, st + 11,
				json_string_value(json_object_get(r, "status")), cell.ptr);
		}
		xtrk_buf_dispose(&cell);
		return;
	}
	width = calloc(ncols, sizeof(*width));
	cells = calloc(n + 1, sizeof(*cells));
	for (i = 0; i <= n; i++) {
		cells[i] = calloc(ncols, sizeof(char *));
		for (c = 0; c < ncols; c++) {
			const char *name = json_string_value(json_array_get(cols, c));
			xtrk_buf_clear(&cell);
			if (i == 0)
				xtrk_buf_puts(&cell, name);
			else if (!strcmp(name, "id"))
				xtrk_buf_printf(&cell, "%.12s", xtrk_oid_tostr(&items[i - 1].id));
			else
				runfmt_cell(&cell, runfmt_lookup(items[i - 1].run, name));
			cells[i][c] = xtrk_buf_detach(&cell);
			if (cells[i][c] && strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
		}
	}
	for (i = 0; i <= n; i++) {
		for (c = 0; c < ncols; c++) {
			printf(c + 1 < ncols ? "%-*s  " : "%-*s", c + 1 < ncols ? (int)width[c] : 0,
				cells[i][c] ? cells[i][c] : "");
			free(cells[i][c]);
		}
		putchar('\n');
		free(cells[i]);
	}
	free(cells);
	free(width);
	xtrk_buf_dispose(&cell);
}

int cmd_log(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "experiment", required_argument, NULL, 'e' },
		{ "max-count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *exp = NULL, *format = "table", *columns = NULL;
	long long max = -1;
	xtrk_repo *repo = NULL;
	xtrk_run_item *items = NULL;
	size_t n = 0, total = 0;
	json_t *cols = NULL;
	int c, err, status = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "e:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': exp = optarg; break;
		case 'n':
			if (cli_parse_ll(optarg, &max) < 0 || max < 0)
				return cli_usage_error(usage, "-n takes a whole number, not '%s'", optarg);
			break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_JSON: format = "json"; break;
		case OPT_COLUMNS: columns = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv"))
		return cli_usage_error(usage, "--format must be table, json or csv, not '%s'", format);
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_runs_list(&items, &n, repo, exp)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	total = n;
	if (exp && !n)
		fprintf(stderr, "xtrk: no runs in experiment '%s'\n", exp);
	if (max >= 0 && (size_t)max < n)
		n = (size_t)max;
	if (columns)
		cols = split_columns(columns);
	if (!strcmp(format, "json")) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(arr, items[i].run);
		cli_print_json(arr);
		json_decref(arr);
	} else if (!strcmp(format, "csv")) {
		if (!cols)
			cols = csv_columns(items, n);
		print_csv(items, n, cols);
	} else {
		print_table(items, n, cols);
	}
done:
	json_decref(cols);
	xtrk_runs_free(items, total);
	xtrk_repo_free(repo);
	return status;
}
