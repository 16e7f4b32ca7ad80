/* xtrk series: the metrics a run logged step by step, as a table, CSV or JSON, with a chart of one metric. */
#include "config.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/record.h"
#include "xtrk/run.h"
#include "xtrk/series.h"

static const char usage[] =
	"usage: xtrk series [--metric K]... [--format table|csv|json] [--chart|--no-chart] RUN...\n"
	"\n"
	"Print the metrics runs logged step by step (their .jsonl step series), read\n"
	"from the store and checked against their IDs. With several runs, the table\n"
	"has columns per run. Below the table, a chart of one metric over the steps\n"
	"(on a terminal, or with --chart).\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"  -m, --metric K     only metric K (repeatable; the first is charted)\n"
	"      --format FMT   table (default), csv (run,step,metrics...) or json\n"
	"      --chart        draw the chart even when stdout is not a terminal\n"
	"      --no-chart     no chart\n"
	"  -h, --help         show this help\n";

enum { OPT_FORMAT = 256, OPT_CHART, OPT_NO_CHART };

struct shown {
	xtrk_oid id;
	json_t *run;
	xtrk_series *s;
	char label[256]; /* short ID and tags, escaped for the terminal */
};

static void make_label(struct shown *r)
{
	json_t *tags = json_object_get(r->run, XTRK_REC_TAGS), *t;
	xtrk_buf b = XTRK_BUF_INIT;
	size_t i;
	xtrk_buf_printf(&b, "%.12s", xtrk_oid_tostr(&r->id));
	json_array_foreach(tags, i, t) {
		if (json_is_string(t))
			xtrk_buf_printf(&b, "%s%s", i ? "," : " (", json_string_value(t));
	}
	if (json_array_size(tags))
		xtrk_buf_putc(&b, ')');
	snprintf(r->label, sizeof(r->label), "%s", cli_esc(b.ptr ? b.ptr : ""));
	xtrk_buf_dispose(&b);
}

/* A value as the shortest text that reads back exactly; nothing for a missing one. */
static void value_text(xtrk_buf *out, double v)
{
	if (!isnan(v))
		xtrk_buf_put_double(out, v);
}

/* The metrics to show: those asked for, else every metric of any run in the order first seen. */
static int pick_metrics(struct strlist *metrics, struct shown *runs, size_t n)
{
	if (metrics->n) {
		for (size_t m = 0; m < metrics->n; m++) {
			size_t have = 0;
			for (size_t r = 0; r < n; r++)
				have += xtrk_series_key(runs[r].s, metrics->items[m]) >= 0;
			if (!have) {
				xtrk_buf known = XTRK_BUF_INIT;
				json_t *seen = json_object();
				for (size_t r = 0; r < n; r++)
					for (size_t k = 0; k < runs[r].s->nkeys; k++)
						if (!json_object_get(seen, runs[r].s->keys[k])) {
							json_object_set_new(seen, runs[r].s->keys[k], json_true());
							xtrk_buf_printf(&known, "%s%s", known.size ? ", " : "", runs[r].s->keys[k]);
						}
				cli_error(EXIT_USAGE, "no run shown logged the metric '%s' (they have: %s)", metrics->items[m],
					known.ptr ? known.ptr : "");
				json_decref(seen);
				xtrk_buf_dispose(&known);
				return EXIT_USAGE;
			}
		}
		return EXIT_OK;
	}
	for (size_t r = 0; r < n; r++) {
		for (size_t k = 0; k < runs[r].s->nkeys; k++) {
			size_t m;
			for (m = 0; m < metrics->n && strcmp(metrics->items[m], runs[r].s->keys[k]); m++)
				;
			if (m == metrics->n)
				strlist_push(metrics, runs[r].s->keys[k]);
		}
	}
	return EXIT_OK;
}

/* The steps of all runs together, ascending and distinct. */
static int64_t *all_steps(struct shown *runs, size_t n, size_t *count)
{
	size_t total = 0, k = 0;
	int64_t *all;
	for (size_t r = 0; r < n; r++)
		total += runs[r].s->nsteps;
	if (!(all = malloc((total + 1) * sizeof(*all))))
		return NULL;
	/* Merge: each run's steps are already ascending. */
	{
		size_t *at = calloc(n + 1, sizeof(*at));
		if (!at) {
			free(all);
			return NULL;
		}
		for (;;) {
			int64_t next = INT64_MAX;
			int any = 0;
			for (size_t r = 0; r < n; r++)
				if (at[r] < runs[r].s->nsteps && runs[r].s->steps[at[r]] <= next)
					next = runs[r].s->steps[at[r]], any = 1;
			if (!any)
				break;
			all[k++] = next;
			for (size_t r = 0; r < n; r++)
				if (at[r] < runs[r].s->nsteps && runs[r].s->steps[at[r]] == next)
					at[r]++;
		}
		free(at);
	}
	*count = k;
	return all;
}

/* A column of the table: a run's metric (its key in the run's series, or -1 for a blank column). */
struct column {
	size_t run;
	long key;
	const char *name;
};

/* A run's columns: the metrics shown that it logged, or one blank column under the first when none. */
static size_t run_columns(struct column *out, size_t r, const struct shown *run, const struct strlist *metrics)
{
	size_t k = 0;
	for (size_t m = 0; m < metrics->n; m++) {
		long key = xtrk_series_key(run->s, metrics->items[m]);
		if (key >= 0) {
			out[k].run = r;
			out[k].key = key;
			out[k++].name = metrics->items[m];
		}
	}
	if (!k) {
		out[0].run = r;
		out[0].key = -1;
		out[k++].name = metrics->items[0];
	}
	return k;
}

static void print_table(struct shown *runs, size_t n, struct strlist *metrics)
{
	size_t nsteps = 0, ncols = 1, nrows, *width = NULL, *first = NULL, row = 0;
	int64_t *steps = all_steps(runs, n, &nsteps);
	size_t *at = calloc(n + 1, sizeof(*at));
	struct column *cols = calloc(n * (metrics->n + 1) + 1, sizeof(*cols));
	char **cells = NULL;
	xtrk_buf b = XTRK_BUF_INIT;
	int heads = n > 1 ? 2 : 1;

	if (!steps || !at || !cols || !(first = calloc(n + 1, sizeof(*first))))
		goto oom;
	/* cols[0] is the step; first[r] is run r's first column. */
	for (size_t r = 0; r < n; r++) {
		first[r] = ncols;
		ncols += run_columns(cols + ncols, r, &runs[r], metrics);
	}
	first[n] = ncols;
	nrows = (size_t)heads + nsteps;
	if (!(cells = calloc(nrows * ncols + 1, sizeof(*cells))) || !(width = calloc(ncols + 1, sizeof(*width))))
		goto oom;
	cells[(size_t)(heads - 1) * ncols] = strdup("step");
	for (size_t c = 1; c < ncols; c++)
		cells[(size_t)(heads - 1) * ncols + c] = strdup(cli_esc(cols[c].name));
	row = (size_t)heads;
	for (size_t i = 0; i < nsteps; i++) {
		int any = 0;
		for (size_t r = 0; r < n; r++) {
			const xtrk_series *s = runs[r].s;
			int here = at[r] < s->nsteps && s->steps[at[r]] == steps[i];
			for (size_t c = first[r]; c < first[r + 1]; c++) {
				xtrk_buf_clear(&b);
				if (here && cols[c].key >= 0 && !isnan(s->values[at[r] * s->nkeys + (size_t)cols[c].key])) {
					value_text(&b, s->values[at[r] * s->nkeys + (size_t)cols[c].key]);
					any = 1;
				}
				cells[row * ncols + c] = strdup(b.ptr ? b.ptr : "");
			}
			at[r] += here;
		}
		if (!any) { /* a step where none of the metrics shown has a value */
			for (size_t c = 1; c < ncols; c++) {
				free(cells[row * ncols + c]);
				cells[row * ncols + c] = NULL;
			}
			continue;
		}
		xtrk_buf_clear(&b);
		xtrk_buf_printf(&b, "%lld", (long long)steps[i]);
		cells[row * ncols] = strdup(b.ptr);
		row++;
	}
	nrows = row;
	for (size_t i = (size_t)(heads - 1) * ncols; i < nrows * ncols; i++) {
		size_t len = cells[i] ? strlen(cells[i]) : 0;
		if (len > width[i % ncols])
			width[i % ncols] = len;
	}
	/* A run's label spans its columns; a longer label widens the last of them. */
	for (size_t r = 0; heads == 2 && r < n; r++) {
		size_t span = 2 * (first[r + 1] - first[r] - 1), len = strlen(runs[r].label);
		for (size_t c = first[r]; c < first[r + 1]; c++)
			span += width[c];
		if (len > span)
			width[first[r + 1] - 1] += len - span;
	}
	if (heads == 2) {
		xtrk_buf_clear(&b);
		for (size_t p = 0; p < width[0]; p++)
			xtrk_buf_putc(&b, ' ');
		for (size_t r = 0; r < n; r++) {
			size_t span = 2 * (first[r + 1] - first[r] - 1);
			for (size_t c = first[r]; c < first[r + 1]; c++)
				span += width[c];
			xtrk_buf_printf(&b, "  %-*s", (int)span, runs[r].label);
		}
		while (b.size && b.ptr[b.size - 1] == ' ')
			xtrk_buf_truncate(&b, b.size - 1);
		printf("%s\n", b.ptr ? b.ptr : "");
	}
	/* The step left, the values (and their names) right-aligned. */
	for (size_t r = (size_t)(heads - 1); r < nrows; r++) {
		xtrk_buf_clear(&b);
		for (size_t c = 0; c < ncols; c++) {
			const char *cell = cells[r * ncols + c] ? cells[r * ncols + c] : "";
			xtrk_buf_printf(&b, c ? "  %*s" : "%-*s", (int)width[c], cell);
		}
		while (b.size && b.ptr[b.size - 1] == ' ')
			xtrk_buf_truncate(&b, b.size - 1);
		printf("%s\n", b.ptr ? b.ptr : "");
	}
	goto done;
oom:
	fprintf(stderr, "xtrk: error: out of memory\n");
done:
	for (size_t i = 0; cells && i < ((size_t)heads + nsteps) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
	free(first);
	free(cols);
	free(steps);
	free(at);
	xtrk_buf_dispose(&b);
}

static void print_csv(struct shown *runs, size_t n, struct strlist *metrics)
{
	xtrk_buf b = XTRK_BUF_INIT;
	printf("run,step");
	for (size_t m = 0; m < metrics->n; m++) {
		xtrk_buf_clear(&b);
		/* A name with a comma, a quote or a line break is quoted, as CSV readers expect. */
		if (strpbrk(metrics->items[m], ",\"\r\n")) {
			xtrk_buf_putc(&b, '"');
			for (const char *p = metrics->items[m]; *p; p++) {
				if (*p == '"')
					xtrk_buf_putc(&b, '"');
				xtrk_buf_putc(&b, *p);
			}
			xtrk_buf_putc(&b, '"');
		} else {
			xtrk_buf_puts(&b, metrics->items[m]);
		}
		printf(",%s", b.ptr);
	}
	putchar('\n');
	for (size_t r = 0; r < n; r++) {
		const xtrk_series *s = runs[r].s;
		for (size_t i = 0; i < s->nsteps; i++) {
			int any = 0;
			xtrk_buf_clear(&b);
			xtrk_buf_printf(&b, "%s,%lld", xtrk_oid_tostr(&runs[r].id), (long long)s->steps[i]);
			for (size_t m = 0; m < metrics->n; m++) {
				long k = xtrk_series_key(s, metrics->items[m]);
				xtrk_buf_putc(&b, ',');
				if (k >= 0 && !isnan(s->values[i * s->nkeys + (size_t)k])) {
					value_text(&b, s->values[i * s->nkeys + (size_t)k]);
					any = 1;
				}
			}
			if (any) /* a step where none of the metrics shown has a value is left out */
				printf("%s\n", b.ptr);
		}
	}
	xtrk_buf_dispose(&b);
}

/* {"runs": [{"id", "experiment", "tags", "metrics": [names], "series": [{"step": N, "K": V, ...}]}]} */
static int print_json(struct shown *runs, size_t n, struct strlist *metrics)
{
	json_t *doc = json_object(), *arr = json_array();
	int err = 0;
	if (!doc || !arr || json_object_set_new(doc, "runs", arr) < 0) {
		json_decref(doc);
		return xtrk_error_oom();
	}
	for (size_t r = 0; r < n && !err; r++) {
		const xtrk_series *s = runs[r].s;
		json_t *one = json_object(), *names = json_array(), *points = json_array(), *tags;
		tags = json_object_get(runs[r].run, XTRK_REC_TAGS);
		json_object_set_new(one, "id", json_string(xtrk_oid_tostr(&runs[r].id)));
		json_object_set_new(one, "experiment", json_string(xtrk_record_str(runs[r].run, XTRK_REC_EXPERIMENT) ?
			xtrk_record_str(runs[r].run, XTRK_REC_EXPERIMENT) : ""));
		json_object_set_new(one, "tags", tags ? json_incref(tags) : json_array());
		for (size_t m = 0; m < metrics->n; m++)
			if (xtrk_series_key(s, metrics->items[m]) >= 0)
				json_array_append_new(names, json_string(metrics->items[m]));
		for (size_t i = 0; i < s->nsteps; i++) {
			json_t *pt = json_object();
			int any = 0;
			json_object_set_new(pt, "step", json_integer((json_int_t)s->steps[i]));
			for (size_t m = 0; m < metrics->n; m++) {
				long k = xtrk_series_key(s, metrics->items[m]);
				double v = k >= 0 ? s->values[i * s->nkeys + (size_t)k] : NAN;
				if (!isnan(v)) {
					json_object_set_new(pt, metrics->items[m], json_real(v));
					any = 1;
				}
			}
			if (any)
				json_array_append_new(points, pt);
			else
				json_decref(pt);
		}
		json_object_set_new(one, "metrics", names);
		json_object_set_new(one, "series", points);
		if (json_array_append_new(arr, one) < 0)
			err = xtrk_error_oom();
	}
	if (!err)
		cli_print_json(doc);
	json_decref(doc);
	return err;
}

static int terminal_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	long long c;
	if (cols && cli_parse_ll(cols, &c) == 0 && c > 0 && c < 10000)
		return (int)c;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* The chart of one metric: the first asked for, else the first every run has (else the first). */
static int print_chart(struct shown *runs, size_t n, struct strlist *metrics, int asked)
{
	const char *metric = metrics->items[0];
	xtrk_chart_line *lines = calloc(n + 1, sizeof(*lines));
	xtrk_buf out = XTRK_BUF_INIT;
	int err, width;

	if (!lines)
		return xtrk_error_oom();
	if (!asked) {
		for (size_t m = 0; m < metrics->n; m++) {
			size_t have = 0;
			for (size_t r = 0; r < n; r++)
				have += xtrk_series_key(runs[r].s, metrics->items[m]) >= 0;
			if (have == n) {
				metric = metrics->items[m];
				break;
			}
		}
	}
	for (size_t r = 0; r < n; r++) {
		long k = xtrk_series_key(runs[r].s, metric);
		lines[r].label = runs[r].label;
		if (k >= 0) {
			lines[r].steps = runs[r].s->steps;
			lines[r].values = runs[r].s->values + k;
			lines[r].stride = runs[r].s->nkeys;
			lines[r].n = runs[r].s->nsteps;
		}
	}
	width = terminal_width() - 16;
	putchar('\n');
	if (metrics->n > 1)
		printf("%s (%s %zu metrics; --metric picks another)\n", cli_esc(metric), asked ? "the first of" :
			"one of", metrics->n);
	else
		printf("%s\n", cli_esc(metric));
	if ((err = xtrk_chart_render(&out, lines, n, width > 60 ? 60 : width, 10)) == 0)
		fputs(out.ptr ? out.ptr : "", stdout);
	xtrk_buf_dispose(&out);
	free(lines);
	return err;
}

int cmd_series(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "chart", no_argument, NULL, OPT_CHART },
		{ "no-chart", no_argument, NULL, OPT_NO_CHART },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct strlist metrics = { NULL, 0, 0 };
	const char *format = "table";
	int c, err = 0, status = EXIT_OK, chart = -1, asked;
	xtrk_repo *repo = NULL;
	struct shown *runs = NULL;
	size_t n = 0, nargs;

	optind = 0;
	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!*optarg)
				return cli_usage_error(usage, "--metric needs a name");
			strlist_push(&metrics, optarg);
			break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_CHART:
		case OPT_NO_CHART:
			if (chart >= 0 && chart != (c == OPT_CHART)) {
				strlist_free(&metrics);
				return cli_usage_error(usage, "--chart and --no-chart together");
			}
			chart = c == OPT_CHART;
			break;
		case 'h': strlist_free(&metrics); fputs(usage, stdout); return EXIT_OK;
		default: strlist_free(&metrics); return cli_usage_error(usage, "unknown option");
		}
	}
	asked = metrics.n > 0;
	if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
		status = cli_usage_error(usage, "--format must be table, csv or json, not '%s'", format);
	else if (chart == 1 && strcmp(format, "table"))
		status = cli_usage_error(usage, "--chart goes with --format table");
	else if (optind == argc)
		status = cli_usage_error(usage, "which run? give RUN");
	if (status != EXIT_OK)
		goto out;
	if (chart < 0)
		chart = !strcmp(format, "table") && cli_isatty(1);
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto out;
	nargs = (size_t)(argc - optind);
	if (!(runs = calloc(nargs, sizeof(*runs)))) {
		err = xtrk_error_oom();
		goto fail;
	}
	for (size_t a = 0; a < nargs; a++) {
		struct shown *r = &runs[n];
		int dup = 0;
		if ((err = xtrk_run_resolve(&r->id, repo, argv[optind + (int)a])) < 0)
			goto fail;
		for (size_t k = 0; k < n; k++)
			dup |= xtrk_oid_cmp(&runs[k].id, &r->id) == 0;
		if (dup)
			continue; /* the same run named twice is shown once */
		if ((err = xtrk_run_read(&r->run, repo, &r->id)) < 0)
			goto fail;
		if ((err = xtrk_run_series(&r->s, repo, r->run)) < 0) {
			/* A run without a series is named and left out when others have one; damage is an error. */
			json_t *field = json_object_get(r->run, XTRK_REC_SERIES);
			if (err != XTRK_ENOTFOUND || nargs == 1 || (field && !json_is_null(field)))
				goto fail;
			xtrk_warning_add("%s; left out", xtrk_error_last());
			xtrk_error_clear();
			err = 0;
			json_decref(r->run);
			r->run = NULL;
			continue;
		}
		make_label(r);
		n++;
	}
	if (!n) {
		cli_warnings();
		status = cli_error(EXIT_ERROR, "none of these runs has a step series (a .jsonl metrics file records one)");
		goto out;
	}
	cli_warnings();
	if ((status = pick_metrics(&metrics, runs, n)) != EXIT_OK)
		goto out;
	if (!strcmp(format, "json")) {
		err = print_json(runs, n, &metrics);
	} else if (!strcmp(format, "csv")) {
		print_csv(runs, n, &metrics);
	} else {
		print_table(runs, n, &metrics);
		if (chart)
			err = print_chart(runs, n, &metrics, asked);
	}
	if (err < 0)
		goto fail;
	goto out;
fail:
	status = cli_fail(err);
out:
	for (size_t i = 0; runs && i < nargs; i++) {
		json_decref(runs[i].run);
		xtrk_series_free(runs[i].s);
	}
	free(runs);
	strlist_free(&metrics);
	xtrk_repo_free(repo);
	return status;
}
