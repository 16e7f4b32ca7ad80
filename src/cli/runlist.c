/* Run listings read from the index: select with the query language, sort, print. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runfmt.h"
#include "runlist.h"
#include "xtrk/columns.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/query.h"
#include "xtrk/run.h"

int runlist_check_where(const char *where)
{
	xtrk_query *q = NULL;
	size_t col = 0;
	if (!where)
		return EXIT_OK;
	if (xtrk_query_parse(&q, where, &col) < 0) {
		fprintf(stderr, "xtrk: error: --where: %s\n  %s\n  %*s^\n", cli_esc(xtrk_error_last()), cli_esc(where), (int)(col ? col - 1 : 0), "");
		return EXIT_USAGE;
	}
	xtrk_query_free(q);
	return EXIT_OK;
}

struct sorter {
	const xtrk_index *ix;
	xtrk_value *vals;
	int *has;
	int desc;
};

static struct sorter *sort_ctx;

static int by_key(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct sorter *s = sort_ctx;
	int c;
	if (s->has[x] != s->has[y])
		return s->has[x] ? -1 : 1; /* runs without the field go last, either way */
	c = s->has[x] ? xtrk_value_cmp(&s->vals[x], &s->vals[y]) : 0;
	if (s->desc)
		c = -c;
	return c ? c : (x > y) - (x < y); /* ties keep newest first */
}

static int sort_runs(size_t *sel, size_t n, xtrk_index *ix, const char *spec)
{
	struct sorter s = { ix, NULL, NULL, spec[0] == '-' };
	xtrk_index_key *k = NULL;
	size_t count = xtrk_index_count(ix);
	int err;

	if ((err = xtrk_index_key_new(&k, ix, spec + (spec[0] == '-' || spec[0] == '+'))) < 0)
		return err;
	if (!(s.vals = calloc(count + 1, sizeof(*s.vals))) || !(s.has = calloc(count + 1, sizeof(*s.has)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		s.has[sel[i]] = xtrk_index_get(&s.vals[sel[i]], ix, sel[i], k);
	sort_ctx = &s;
	qsort(sel, n, sizeof(*sel), by_key);
done:
	free(s.vals);
	free(s.has);
	xtrk_index_key_free(k);
	return err;
}

/*
 * The default CSV columns lead with these fields, then every param and metric (or every field the
 * runs have, the environment's packages only with --packages).
 */
static const char *const csv_leading[] = { "id", "experiment", "started", "ended", "duration_s", "status",
	"exit_code", "message", "author", "source.commit", "source.branch", "source.dirty", "seed", NULL };

/* A --where field no run has matches nothing, silently: say so, and what it may have meant. */
static int warn_unknown(const char *field, const xtrk_index_key *key, void *payload)
{
	xtrk_index *ix = payload;
	xtrk_buf hint = XTRK_BUF_INIT;
	if (key && !xtrk_index_key_seen(ix, key)) {
		if (xtrk_index_suggest(&hint, ix, field))
			xtrk_warning_add("--where: no run has a field '%s'; did you mean '%s'?", field, hint.ptr);
		else
			xtrk_warning_add("--where: no run has a field '%s'", field);
	}
	xtrk_buf_dispose(&hint);
	return 0;
}

static int print_csv(xtrk_index *ix, const size_t *sel, size_t n, xtrk_columns *cols)
{
	xtrk_buf line = XTRK_BUF_INIT, val = XTRK_BUF_INIT;
	size_t ncols = xtrk_columns_count(cols);
	int err;
	if ((err = xtrk_columns_bind(cols, ix)) < 0)
		return err;
	for (size_t c = 0; c < ncols; c++) {
		if (c)
			xtrk_buf_putc(&line, ',');
		runfmt_csv_field(&line, xtrk_columns_name(cols, c));
	}
	printf("%s\n", line.ptr ? line.ptr : "");
	for (size_t r = 0; r < n; r++) {
		xtrk_buf_clear(&line);
		for (size_t c = 0; c < ncols; c++) {
			xtrk_buf_clear(&val);
			xtrk_cell_text(&val, ix, sel[r], xtrk_columns_name(cols, c), xtrk_columns_key(cols, c), 0);
			if (c)
				xtrk_buf_putc(&line, ',');
			runfmt_csv_field(&line, val.ptr ? val.ptr : "");
		}
		printf("%s\n", line.ptr ? line.ptr : "");
	}
	xtrk_buf_dispose(&line);
	xtrk_buf_dispose(&val);
	return 0;
}

static int metric_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	xtrk_buf *out = payload;
	if (out->size)
		xtrk_buf_putc(out, ' ');
	size_t skip = 7 + (klen > 7 && key[7] == '.'); /* after "metrics." (a bracketed name keeps its brackets) */
	xtrk_buf_printf(out, "%.*s=", (int)(klen - skip), key + skip);
	xtrk_value_text(out, v);
	return 0;
}

static void print_default_table(xtrk_index *ix, const size_t *sel, size_t n)
{
	xtrk_index_key *metrics = NULL, *started = NULL, *status = NULL, *message = NULL;
	xtrk_buf m = XTRK_BUF_INIT, st = XTRK_BUF_INIT, stat = XTRK_BUF_INIT, msg = XTRK_BUF_INIT;
	xtrk_index_key_new(&metrics, ix, "metrics");
	xtrk_index_key_new(&started, ix, "started");
	xtrk_index_key_new(&status, ix, "status");
	xtrk_index_key_new(&message, ix, "message");
	printf("%-12s  %-16s  %-19s  %-9s  %s\n", "RUN", "EXPERIMENT", "STARTED", "STATUS", "METRICS / MESSAGE");
	for (size_t r = 0; r < n && metrics && started && status && message; r++) {
		size_t i = sel[r];
		xtrk_buf_clear(&m);
		xtrk_buf_clear(&st);
		xtrk_buf_clear(&stat);
		xtrk_buf_clear(&msg);
		xtrk_index_each_below(ix, i, metrics, metric_cb, &m);
		xtrk_cell_text(&st, ix, i, "started", started, 0);
		xtrk_cell_text(&stat, ix, i, "status", status, 0);
		xtrk_cell_text(&msg, ix, i, "message", message, 0);
		if (msg.size)
			xtrk_buf_printf(&m, "%s%s", m.size ? "  " : "", msg.ptr);
		/* Every text from the record escaped: one run is one line, and nothing reaches the terminal raw. */
		printf("%.12s  %-16s  %.10s %.8s  %-9s  %s\n", xtrk_oid_tostr(xtrk_index_run(ix, i)),
			cli_esc(xtrk_index_experiment(ix, i)), st.size >= 19 ? cli_esc(st.ptr) : "",
			st.size >= 19 ? cli_esc(st.ptr + 11) : "", cli_esc(stat.ptr ? stat.ptr : ""), cli_esc(m.ptr ? m.ptr : ""));
	}
	xtrk_index_key_free(metrics);
	xtrk_index_key_free(started);
	xtrk_index_key_free(status);
	xtrk_index_key_free(message);
	xtrk_buf_dispose(&m);
	xtrk_buf_dispose(&st);
	xtrk_buf_dispose(&stat);
	xtrk_buf_dispose(&msg);
}

static int print_table(xtrk_index *ix, const size_t *sel, size_t n, xtrk_columns *cols)
{
	size_t ncols = xtrk_columns_count(cols);
	size_t *width = calloc(ncols + 1, sizeof(*width));
	char **cells = calloc((n + 1) * ncols + 1, sizeof(*cells));
	xtrk_buf b = XTRK_BUF_INIT;
	int err = 0;
	if (!width || !cells) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_columns_bind(cols, ix)) < 0)
		goto done;
	for (size_t c = 0; c < ncols; c++) {
		for (size_t r = 0; r <= n; r++) {
			xtrk_buf_clear(&b);
			if (r == 0)
				xtrk_buf_puts(&b, xtrk_columns_name(cols, c));
			else
				xtrk_cell_text(&b, ix, sel[r - 1], xtrk_columns_name(cols, c), xtrk_columns_key(cols, c),
					XTRK_CELL_SHORT_ID);
			cells[r * ncols + c] = strdup(cli_esc(b.ptr ? b.ptr : ""));
			if (cells[r * ncols + c] && strlen(cells[r * ncols + c]) > width[c])
				width[c] = strlen(cells[r * ncols + c]);
		}
	}
	for (size_t r = 0; r <= n; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			printf(c + 1 < ncols ? "%-*s  " : "%-*s", c + 1 < ncols ? (int)width[c] : 0, s ? s : "");
		}
		putchar('\n');
	}
done:
	for (size_t i = 0; cells && i < (n + 1) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
	xtrk_buf_dispose(&b);
	return err;
}

/*
 * JSON: the full records (show --json's shape), read and verified from the store for the runs
 * shown, written one at a time as they are read: memory stays that of one record, whatever the
 * number of runs.  The text is what printing the whole array would give: each record printed
 * alone, its lines indented one level.  A run that cannot be read ends the output there (the
 * array left open) with the error.
 */
static int print_json(xtrk_repo *repo, xtrk_index *ix, const size_t *sel, size_t n)
{
	xtrk_buf text = XTRK_BUF_INIT, out = XTRK_BUF_INIT;
	int err = 0;
	if (!n) {
		fputs("[]\n", stdout);
		return 0;
	}
	for (size_t r = 0; r < n && err == 0; r++) {
		json_t *run, *notes;
		/* The record from the store (verified); the tags the index read from the refs. */
		if ((err = xtrk_run_read_record(&run, repo, xtrk_index_run(ix, sel[r]))) < 0)
			break;
		notes = xtrk_index_notes(ix, sel[r]);
		json_object_set_new(run, "tags", xtrk_index_tags(ix, sel[r]));
		err = xtrk_notes_attach(run, notes);
		json_decref(notes);
		xtrk_buf_clear(&text);
		if (err == 0)
			err = xtrk_json_dump_buf(&text, run, XTRK_JSON_PRETTY);
		json_decref(run);
		if (err < 0)
			break;
		xtrk_buf_clear(&out);
		xtrk_buf_puts(&out, r ? ",\n  " : "[\n  ");
		/* A string's newline is escaped: every one in the text ends a line. */
		for (const char *p = text.ptr, *end = text.ptr + text.size, *nl; p < end; p = nl + 1) {
			if (!(nl = memchr(p, '\n', (size_t)(end - p)))) {
				xtrk_buf_put(&out, p, (size_t)(end - p));
				break;
			}
			xtrk_buf_put(&out, p, (size_t)(nl - p) + 1);
			xtrk_buf_puts(&out, "  ");
		}
		if (xtrk_buf_oom(&out))
			err = xtrk_error_oom();
		else
			fwrite(out.ptr, 1, out.size, stdout);
	}
	if (err == 0)
		fputs("\n]\n", stdout);
	else
		fflush(stdout);
	xtrk_buf_dispose(&text);
	xtrk_buf_dispose(&out);
	return err;
}

int runlist_run(const struct runlist *o, struct cli *cli)
{
	xtrk_repo *repo = NULL;
	xtrk_index *ix = NULL;
	xtrk_query *q = NULL;
	xtrk_columns *cols = NULL;
	xtrk_buf sortkey = XTRK_BUF_INIT;
	size_t *sel = NULL, n = 0;
	int err = 0, status;

	if ((status = runlist_check_where(o->where)) != EXIT_OK)
		goto out;
	if ((err = xtrk_columns_new(&cols)) < 0)
		goto done;
	if (o->columns && xtrk_columns_parse(cols, o->columns) < 0) {
		status = cli_error(EXIT_USAGE, "--columns: %s", xtrk_error_last());
		goto out;
	}
	if (o->sort && xtrk_field_canon(&sortkey, o->sort + (o->sort[0] == '-' || o->sort[0] == '+'),
		    strlen(o->sort + (o->sort[0] == '-' || o->sort[0] == '+'))) < 0) {
		status = cli_error(EXIT_USAGE, "--sort: %s", xtrk_error_last());
		goto out;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto out;
	if ((err = xtrk_index_open(&ix, repo, o->experiment)) < 0)
		goto done;
	if (o->where && ((err = xtrk_query_parse(&q, o->where, NULL)) < 0 || (err = xtrk_query_bind(q, ix)) < 0))
		goto done;
	if (q && xtrk_index_count(ix))
		xtrk_query_each_field(q, warn_unknown, ix);
	if (!(sel = calloc(xtrk_index_count(ix) + 1, sizeof(*sel)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < xtrk_index_count(ix); i++) {
		int m = q ? xtrk_query_match(q, ix, i) : 1;
		if (m < 0) {
			cli_warnings();
			fprintf(stderr, "xtrk: error: --where: %s\n", xtrk_error_last());
			status = EXIT_USAGE;
			goto out;
		}
		if (m)
			sel[n++] = i;
	}
	if (o->experiment && !xtrk_index_count(ix))
		fprintf(stderr, "xtrk: no runs in experiment '%s'\n", cli_esc(o->experiment));
	if (o->sort && (err = sort_runs(sel, n, ix, o->sort)) < 0)
		goto done;
	if (o->max >= 0 && (size_t)o->max < n)
		n = (size_t)o->max;

	if (!strcmp(o->format, "json")) {
		err = print_json(repo, ix, sel, n);
	} else if (!strcmp(o->format, "csv")) {
		if (o->columns || (err = xtrk_columns_add_defaults(cols, ix, sel, n, csv_leading,
					   (o->all_columns ? XTRK_COLUMNS_ALL : 0) | (o->packages ? XTRK_COLUMNS_PACKAGES : 0))) == 0)
			err = print_csv(ix, sel, n, cols);
	} else if (o->columns) {
		err = print_table(ix, sel, n, cols);
	} else {
		print_default_table(ix, sel, n);
	}
done:
	status = err < 0 ? cli_fail(err) : EXIT_OK;
out:
	xtrk_columns_free(cols);
	free(sel);
	xtrk_buf_dispose(&sortkey);
	xtrk_query_free(q);
	xtrk_index_free(ix);
	xtrk_repo_free(repo);
	return status;
}
