/* Unit tests for the query language: precedence, type rules, missing fields, ID prefixes, errors with columns. */
#include <ctype.h>
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/index.h"
#include "xtrk/query.h"
#include "xtrk/run.h"

static xtrk_repo *repo;

/*
 * Four runs, named by their param n (1, 2, 9, 10) so expected sets read
 * easily.  n=1 is tagged "baseline", n=2 "best"; n=9 and n=10 have a dataset.
 */
static void commit(const char *const *params, size_t np, const char *metric, const char *message, const char *tag,
	const char *data)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *metrics[] = { metric }, *tags[] = { tag }, *datasets[] = { "train=data" };
	xtrk_oid id;
	o.experiment = "q";
	o.params = params;
	o.nparams = np;
	o.metrics = metrics;
	o.nmetrics = metric ? 1 : 0;
	o.message = message;
	o.tags = tags;
	o.ntags = tag ? 1 : 0;
	if (data) {
		mkdir("data", 0777);
		write_text("data/a", data);
		o.datasets = datasets;
		o.ndatasets = 1;
	}
	cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
}

static void setup(void)
{
	static const char *const p1[] = { "n=1", "lr=0.1", "opt=adam", "s=\"10\"", "flag=true", "layers=[32,64]" };
	static const char *const p2[] = { "n=2", "lr=0.01", "opt=sgd", "flag=false" };
	static const char *const p9[] = { "n=9", "lr=0.001", "opt=sgd", "s=\"9\"" };
	static const char *const p10[] = { "n=10", "lr=0.05", "opt=adamw" };
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	repo = new_repo();
	commit(p1, 6, "acc=0.8", "first run", "baseline", NULL);
	commit(p2, 4, "acc=0.91", "best so far", "best", NULL);
	commit(p9, 4, "acc=0.95", NULL, NULL, "v1");
	commit(p10, 3, "loss=1.5", NULL, NULL, "v2");
	xtrk_warning_clear();
}
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(query, .init = setup, .fini = teardown);

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The n of every run that matches `expr`, ascending, separated by spaces. */
static const char *which(const char *expr)
{
	static char out[64];
	xtrk_index *ix;
	xtrk_query *q;
	xtrk_index_key *k;
	int ns[16], count = 0;
	size_t col;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_index_count(ix), 4);
	cr_assert_eq(xtrk_query_parse(&q, expr, &col), 0, "'%s': %s", expr, xtrk_error_last());
	cr_assert_eq(xtrk_query_bind(q, ix), 0);
	cr_assert_eq(xtrk_index_key_new(&k, ix, "params.n"), 0);
	for (size_t i = 0; i < xtrk_index_count(ix); i++) {
		xtrk_value v;
		if (!xtrk_query_match(q, ix, i))
			continue;
		cr_assert(xtrk_index_get(&v, ix, i, k));
		ns[count++] = (int)v.num;
	}
	qsort(ns, (size_t)count, sizeof(*ns), int_cmp);
	out[0] = '\0';
	for (int i = 0; i < count; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", i ? " " : "", ns[i]);
	xtrk_index_key_free(k);
	xtrk_query_free(q);
	xtrk_index_free(ix);
	return out;
}

#define expect(expr, want) cr_expect_str_eq(which(expr), want, "'%s'", expr)

/* The full ID of a run's field value, found through the index. */
static void field_of(char *out, size_t len, int n, const char *key)
{
	xtrk_index *ix;
	xtrk_index_key *kn, *k;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0);
	cr_assert_eq(xtrk_index_key_new(&kn, ix, "params.n"), 0);
	cr_assert_eq(xtrk_index_key_new(&k, ix, key), 0);
	out[0] = '\0';
	for (size_t i = 0; i < xtrk_index_count(ix); i++) {
		xtrk_value v;
		cr_assert(xtrk_index_get(&v, ix, i, kn));
		if ((int)v.num != n)
			continue;
		cr_assert(xtrk_index_get(&v, ix, i, k));
		cr_assert_eq(v.type, XTRK_VAL_STR);
		snprintf(out, len, "%.*s", (int)v.len, v.str);
	}
	cr_assert_neq(out[0], '\0');
	xtrk_index_key_free(kn);
	xtrk_index_key_free(k);
	xtrk_index_free(ix);
}

Test(query, numbers_compare_as_numbers)
{
	expect("params.n > 5", "9 10");
	expect("params.n >= 9", "9 10");
	expect("params.n < 9", "1 2");
	expect("params.n <= 2", "1 2");
	expect("params.n > 10", "");
	expect("params.n >= 10", "10");
	expect("params.lr == 0.01", "2");
	expect("params.lr != 0.01", "1 9 10");
	expect("params.lr < .05", "2 9");
	expect("metrics.acc > 0.9", "2 9");
	expect("params.n == -1", "");
	expect("params.n > -1e3", "1 2 9 10");
}

Test(query, strings_compare_bytewise)
{
	/* As strings "9" > "5" but "10" < "5": the order tells bytewise from numeric. */
	expect("params.s > \"5\"", "9");
	expect("params.s < '5'", "1");
	expect("params.opt == 'sgd'", "2 9");
	expect("params.opt == \"s\\gd\"", "2 9");
	expect("params.opt != 'sgd'", "1 10");
	expect("params.opt > 'adam'", "2 9 10");
	expect("params.opt >= 'adam'", "1 2 9 10");
	expect("params.opt < 'adamw'", "1");
	/* Not hex: no prefix match, so "adam" is not "adamw". */
	expect("params.opt == 'adam'", "1");
	expect("started > \"2000-01-01\"", "1 2 9 10");
	expect("started < \"2000-01-01\"", "");
}

Test(query, values_of_different_types_never_compare)
{
	expect("params.s == 10", "");
	expect("params.s == '10'", "1");
	expect("params.s != 10", "");
	expect("params.s < 100", "");
	expect("params.n == '1'", "");
	expect("params.flag == 1", "");
	expect("params.flag == true", "1");
	expect("params.flag == false", "2");
	expect("params.flag != true", "2");
	expect("params.flag > false", "");
}

Test(query, missing_fields_make_comparisons_false)
{
	expect("metrics.loss > 0", "10");
	expect("metrics.loss != 2", "10");
	expect("not metrics.loss > 0", "1 2 9");
	expect("params.nothing == 1", "");
	expect("params.nothing != 1", "");
	expect("params.nothing == 1 or params.n == 1", "1");
	expect("params.nothing", "");
	expect("params.nothing contains 1", "");
	expect("params.nothing ~ '.*'", "");
}

Test(query, precedence_not_then_and_then_or)
{
	/* a or b and c: with a true and c false only 'a or (b and c)' keeps run 1. */
	expect("params.n == 1 or params.n == 2 and params.opt == 'sgd'", "1 2");
	expect("params.n == 2 and params.opt == 'sgd' or params.n == 1", "1 2");
	/* not a and b: '(not a) and b' matches nothing here, 'not (a and b)' would match three. */
	expect("not params.n == 1 and params.opt == 'adam'", "");
	expect("not params.n == 1 or params.n == 1", "1 2 9 10");
	expect("(params.n == 1 or params.n == 2) and params.opt == 'sgd'", "2");
	expect("not (params.n == 1 or params.n == 2)", "9 10");
	expect("not not params.n == 1", "1");
	expect("params.n == 1 OR params.n == 9", "1 9");
	expect("params.n > 1 AnD params.n < 10", "2 9");
	expect("NOT params.flag", "2 9 10");
	expect("((params.n == 10))", "10");
}

Test(query, contains_and_regular_expressions)
{
	expect("tags contains 'baseline'", "1");
	expect("tags contains 'best'", "2");
	expect("tags contains 'nope'", "");
	expect("tags.0 == 'best'", "2");
	expect("tags.1 == 'best'", "");
	expect("tags", "");
	expect("message contains 'so far'", "2");
	expect("message contains 'run'", "1");
	expect("params.layers contains 64", "1");
	expect("params.layers contains 65", "");
	expect("params.layers contains '64'", "");
	expect("params contains 'sgd'", "2 9");
	expect("params.opt ~ '^adam'", "1 10");
	expect("params.opt ~ '^adam$'", "1");
	expect("params.opt ~ 'a|g'", "1 2 9 10");
	expect("params.lr ~ '^0\\.0[15]$'", "2 10");
}

Test(query, ids_match_by_prefix_of_four_hex_digits)
{
	char id[64], data[64], q[128];
	field_of(id, sizeof(id), 9, "id");
	field_of(data, sizeof(data), 9, "datasets.train.id");
	cr_assert_eq(strlen(id), 32);
	snprintf(q, sizeof(q), "id == '%s'", id);
	expect(q, "9");
	snprintf(q, sizeof(q), "id == '%.8s'", id);
	expect(q, "9");
	snprintf(q, sizeof(q), "id != '%.8s'", id);
	expect(q, "1 2 10");
	for (char *c = id; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	snprintf(q, sizeof(q), "id == '%.8s'", id);
	expect(q, "9");
	snprintf(q, sizeof(q), "id == '%s'", id);
	expect(q, "9");
	snprintf(q, sizeof(q), "id == '%.3s'", id);
	expect(q, "");
	snprintf(q, sizeof(q), "id == '%.7sz'", id);
	expect(q, "");
	snprintf(q, sizeof(q), "datasets.train.id == '%.6s'", data);
	expect(q, "9");
	snprintf(q, sizeof(q), "datasets.train.id == '%s'", data);
	expect(q, "9");
	snprintf(q, sizeof(q), "datasets.train.files == 1 and not datasets.train.id == '%.4s'", data);
	expect(q, "10");
}

Test(query, booleans_null_and_bare_fields)
{
	expect("parent == null", "1 2 9 10");
	expect("parent != null", "");
	expect("seed == null", "1 2 9 10");
	expect("params.flag", "1");
	expect("params.opt", "1 2 9 10");
	expect("params.n", "1 2 9 10");
	expect("message", "1 2");
	expect("null == null", "1 2 9 10");
	expect("1 < params.n", "2 9 10");
}

static void parse_fails(const char *expr, size_t column, const char *words)
{
	xtrk_query *q = (xtrk_query *)1;
	size_t col = 999;
	char prefix[32];
	cr_assert_eq(xtrk_query_parse(&q, expr, &col), XTRK_EINVALID, "'%s' parsed", expr);
	cr_expect_null(q);
	cr_expect_eq(col, column, "'%s': column %zu, expected %zu (%s)", expr, col, column, xtrk_error_last());
	snprintf(prefix, sizeof(prefix), "column %zu: ", column);
	cr_expect_eq(strncmp(xtrk_error_last(), prefix, strlen(prefix)), 0, "'%s': %s", expr, xtrk_error_last());
	cr_expect(strstr(xtrk_error_last(), words), "'%s': %s", expr, xtrk_error_last());
}

Test(query, parse_errors_name_their_column)
{
	parse_fails("params.lr = 1", 11, "'=' is not an operator");
	parse_fails("", 1, "empty");
	parse_fails("   ", 4, "empty");
	parse_fails("(params.n == 1", 15, "to close the '(' at column 1");
	parse_fails("params.n == 1 and (params.n == 2", 33, "'(' at column 19");
	parse_fails("params.n ==", 12, "expected a value after '=='");
	parse_fails("params.n == 1 params.lr", 15, "expected 'and', 'or' or the end");
	parse_fails("params. == 1", 7, "cannot end with '.'");
	parse_fails("params.n == 'abc", 13, "no closing '");
	parse_fails("params.n ~ 3", 10, "'~' takes a regular expression");
	parse_fails("params.n ~ '('", 12, "bad regular expression");
	parse_fails("12ab == 1", 1, "is not a number");
	parse_fails("5", 2, "expected an operator");
	parse_fails("params.n == 1 and", 18, "expected a field");
	parse_fails("params.n == 1 & params.n == 2", 15, "unexpected '&'");
	parse_fails("params.n == 1)", 14, "found ')'");
	parse_fails("params.n == 1 and models[a.b == 2", 19, "'[' is not closed");
	parse_fails("params..n == 1", 1, "an empty part");
	parse_fails("x == 1 or models[a]b == 2", 11, "after ']'");
}

Test(query, bracketed_field_names_read_as_their_written_form)
{
	/* params.n, written any way a part may be written; a bracket may hold spaces and operators. */
	expect("params[n] == 2", "2");
	expect("[params].n == 2", "2");
	expect("params.[n] == 2 or params[n ] == 3", "2");
	{
		xtrk_query *q = NULL;
		cr_assert_eq(xtrk_query_parse(&q, "datasets[a b == c].id == 1", NULL), 0, "%s", xtrk_error_last());
		xtrk_query_free(q);
	}
}

Test(query, a_valid_query_reports_no_column)
{
	xtrk_query *q;
	size_t col = 77;
	cr_assert_eq(xtrk_query_parse(&q, "not (a == 1 or b contains 'x') and c ~ 'y'", &col), 0, "%s", xtrk_error_last());
	cr_assert_eq(col, 0);
	xtrk_query_free(q);
	cr_assert_eq(xtrk_query_parse(&q, "a == 1", NULL), 0);
	xtrk_query_free(q);
	cr_assert_eq(xtrk_query_parse(&q, "a ==", NULL), XTRK_EINVALID);
}

Test(query, value_order_for_sorting)
{
	xtrk_value one = { XTRK_VAL_NUM, 1, NULL, 0 }, two = { XTRK_VAL_NUM, 2, NULL, 0 };
	xtrk_value ab = { XTRK_VAL_STR, 0, "abX", 2 }, abc = { XTRK_VAL_STR, 0, "abc", 3 }, abd = { XTRK_VAL_STR, 0, "abd", 3 };
	xtrk_value nul = { XTRK_VAL_NULL, 0, NULL, 0 }, yes = { XTRK_VAL_BOOL, 1, NULL, 0 };
	cr_assert_lt(xtrk_value_cmp(&one, &two), 0);
	cr_assert_gt(xtrk_value_cmp(&two, &one), 0);
	cr_assert_eq(xtrk_value_cmp(&two, &two), 0);
	cr_assert_lt(xtrk_value_cmp(&ab, &abc), 0, "a prefix sorts first (only len bytes count)");
	cr_assert_gt(xtrk_value_cmp(&abd, &abc), 0);
	cr_assert_eq(xtrk_value_cmp(&abc, &abc), 0);
	cr_assert_lt(xtrk_value_cmp(&nul, &yes), 0);
	cr_assert_lt(xtrk_value_cmp(&yes, &one), 0);
	cr_assert_lt(xtrk_value_cmp(&two, &ab), 0, "numbers before strings, whatever their values");
}

/* An expression of `prefix` repeated `n` times, then `middle`, then `suffix` repeated `n` times (free it). */
static char *repeat(const char *prefix, size_t n, const char *middle, const char *suffix)
{
	size_t lp = strlen(prefix), lm = strlen(middle), ls = strlen(suffix);
	char *s = malloc(n * (lp + ls) + lm + 1), *p = s;
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++, p += lp)
		memcpy(p, prefix, lp);
	memcpy(p, middle, lm);
	p += lm;
	for (size_t i = 0; i < n; i++, p += ls)
		memcpy(p, suffix, ls);
	*p = '\0';
	return s;
}

Test(query, nesting_is_bounded_with_an_error_not_a_crash)
{
	char *e;
	e = repeat("not ", 100000, "params.n", "");
	parse_fails(e, 257, "parentheses and 'not' nested more than 64 deep");
	free(e);
	e = repeat("(", 100000, "params.n", ")");
	parse_fails(e, 65, "nested more than 64 deep");
	free(e);
	e = repeat("(not ", 33, "params.n", ")");
	parse_fails(e, 5 * 32 + 1, "nested more than 64 deep"); /* the 65th level: the 33rd '(' */
	free(e);
	e = repeat("params.n == 1 or ", 5000, "params.n == 2", "");
	parse_fails(e, 17 * 2048 + 1, "more than 4096 fields and values");
	free(e);
	/* At the limits, all is well and the answer right. */
	e = repeat("(", 64, "params.n == 2", ")");
	expect(e, "2");
	free(e);
	e = repeat("not ", 64, "params.n == 2", "");
	expect(e, "2");
	free(e);
	e = repeat("params.n == 9 or ", 2047, "params.n == 2", "");
	expect(e, "2 9");
	free(e);
}

/* How many runs of the index match `expr` (any number of runs), or the error code. */
static int count_matches(const char *expr)
{
	xtrk_index *ix;
	xtrk_query *q;
	int n = 0, r = 0;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_query_parse(&q, expr, NULL), 0, "'%s': %s", expr, xtrk_error_last());
	cr_assert_eq(xtrk_query_bind(q, ix), 0);
	for (size_t i = 0; i < xtrk_index_count(ix) && r >= 0; i++)
		if ((r = xtrk_query_match(q, ix, i)) > 0)
			n++;
	if (r < 0) {
		n = r;
		cr_expect_eq(xtrk_query_match(q, ix, 0), r, "a failed query stays failed");
	}
	xtrk_query_free(q);
	xtrk_index_free(ix);
	return n;
}

Test(query, regular_expressions_are_bounded)
{
	char long_value[30010], big[1200];
	const char *params[] = { "n=5", long_value };

	memcpy(long_value, "s=", 2);
	memset(long_value + 2, 'a', 30000);
	memcpy(long_value + 30002, "!", 2);
	commit(params, 2, "acc=0.5", NULL, NULL, NULL);
	/* Patterns too large to compile fail at once, as a syntax error. */
	parse_fails("params.s ~ 'a{1000}{1000}'", 12, "bad regular expression");
	parse_fails("params.s ~ '((a{100}){100}){100}'", 12, "regular expression is too large");
	memcpy(big, "params.s ~ '", 12);
	memset(big + 12, 'a', 1100);
	memcpy(big + 1112, "'", 2);
	parse_fails(big, 12, "over the limit of 1024");
	/* A backtracking pattern on a long value is an error from match, within the work bound. */
	cr_assert_eq(count_matches("params.s ~ '(a+)+$'"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "column 12: the regular expression needs too much work on a 30001-byte value"),
		"%s", xtrk_error_last());
	cr_assert_eq(count_matches("params.n == 1 or params.s ~ '(a|aa)+$'"), XTRK_EINVALID);
	cr_assert_eq(count_matches("params.s ~ '(.*a){20}'"), XTRK_EINVALID);
	/* Ordinary patterns on the same value match as before. */
	cr_assert_eq(count_matches("params.s ~ '^a+!$'"), 1);
	cr_assert_eq(count_matches("params.s ~ '(?:a{1000}){30}'"), 1);
	cr_assert_eq(count_matches("params.s ~ 'a$' or params.s ~ '^!'"), 0);
	cr_assert_eq(count_matches("params.opt ~ '^[[:alpha:]]+$'"), 4);
	cr_assert_eq(count_matches("params.opt ~ '^(adam|sgd)$'"), 3);
}
