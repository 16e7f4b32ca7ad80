/* Unit tests for the run table's columns: a --columns list read, the default columns, a run's cell as text and as JSON. */
#include "helpers.h"
#include "xtrk/columns.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"
#include "xtrk/run.h"

static xtrk_repo *repo;
static void setup(void) { tmpdir_enter(); setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1); repo = new_repo(); xtrk_warning_clear(); }
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(columns, .init = setup, .fini = teardown);

/* A run of experiment `exp`, indexed with its record's params and metrics replaced by the JSON given. */
static xtrk_oid commit(const char *exp, const char *params, const char *metrics, const char *packages)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	json_error_t jerr;
	xtrk_oid id;
	json_t *run;
	o.experiment = exp;
	cr_assert_eq(xtrk_run_commit(&id, &run, repo, &o), 0, "%s", xtrk_error_last());
	json_object_set_new(run, "params", json_loads(params, 0, &jerr));
	json_object_set_new(run, "metrics", json_loads(metrics, 0, &jerr));
	if (packages) {
		json_t *env = json_object_get(run, "env");
		cr_assert_not_null(env);
		json_object_set_new(env, "python", json_pack("{s:s, s:o}", "version", "3.11", "packages",
							   json_loads(packages, 0, &jerr)));
	}
	cr_assert_eq(xtrk_index_add(repo, &id, &run, 1), 0, "%s", xtrk_error_last());
	json_decref(run);
	return id;
}

static size_t find(const xtrk_index *ix, const xtrk_oid *id)
{
	for (size_t i = 0; i < xtrk_index_count(ix); i++)
		if (!xtrk_oid_cmp(xtrk_index_run(ix, i), id))
			return i;
	cr_assert_fail("run %s is not in the index", xtrk_oid_tostr(id));
	return 0;
}

/* The set's names joined with ' '. */
static const char *names(const xtrk_columns *c)
{
	static char out[4096];
	size_t at = 0;
	out[0] = 0;
	for (size_t i = 0; i < xtrk_columns_count(c); i++)
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%s", i ? " " : "", xtrk_columns_name(c, i));
	return out;
}

static int has_name(const xtrk_columns *c, const char *name)
{
	for (size_t i = 0; i < xtrk_columns_count(c); i++)
		if (!strcmp(xtrk_columns_name(c, i), name))
			return 1;
	return 0;
}

static int has_prefix(const xtrk_columns *c, const char *prefix)
{
	for (size_t i = 0; i < xtrk_columns_count(c); i++)
		if (!strncmp(xtrk_columns_name(c, i), prefix, strlen(prefix)))
			return 1;
	return 0;
}

Test(columns, a_list_splits_at_commas_outside_brackets_each_name_in_its_written_form)
{
	xtrk_columns *c;
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_parse(c, "id,params[a,b].x,,datasets[train].id,params.[lr],models[m\\]x,y],id,params.lr"), 0,
		"%s", xtrk_error_last());
	/* Empty names skipped, each name once, plain parts unbracketed, a '.' before a bracket dropped. */
	cr_assert_str_eq(names(c), "id params[a,b].x datasets.train.id params.lr models[m\\]x,y]");
	cr_assert_eq(xtrk_columns_parse(c, "metrics.acc"), 0);
	cr_assert_eq(xtrk_columns_count(c), 6);
	cr_assert_str_eq(xtrk_columns_name(c, 5), "metrics.acc");
	cr_assert_null(xtrk_columns_name(c, 6));
	cr_assert_null(xtrk_columns_key(c, 0)); /* not bound yet */
	xtrk_columns_free(c);
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_parse(c, ""), 0);
	cr_assert_eq(xtrk_columns_parse(c, ",,,"), 0);
	cr_assert_eq(xtrk_columns_count(c), 0);
	xtrk_columns_free(c);
}

Test(columns, a_bad_name_is_refused_saying_which)
{
	static const char *const bad[] = { "id,a..b", "params[x", "id,a b,c", "params.lr,[x]]", ".a", "a.", "x,params.[", NULL };
	for (const char *const *b = bad; *b; b++) {
		xtrk_columns *c;
		cr_assert_eq(xtrk_columns_new(&c), 0);
		cr_assert_eq(xtrk_columns_parse(c, *b), XTRK_EINVALID, "'%s' was taken", *b);
		cr_assert(strstr(xtrk_error_last(), "field name"), "%s: %s", *b, xtrk_error_last());
		xtrk_columns_free(c);
	}
}

Test(columns, the_defaults_lead_with_the_names_given_then_every_param_and_metric_sorted)
{
	static const char *const leading[] = { "id", "experiment", "params.lr", NULL };
	xtrk_oid a = commit("x", "{\"lr\": 0.1, \"opt\": {\"name\": \"adam\"}}", "{\"acc\": 0.5}", NULL),
		 b = commit("y", "{\"z\": 1, \"a b\": 2}", "{\"loss\": 0.2}", NULL);
	xtrk_index *ix;
	xtrk_columns *c;
	size_t sel[2];
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	sel[0] = find(ix, &a);
	sel[1] = find(ix, &b);
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, sel, 2, leading, 0), 0, "%s", xtrk_error_last());
	cr_assert_str_eq(names(c), "id experiment params.lr metrics.acc metrics.loss params.opt.name params.z params[a b]");
	xtrk_columns_free(c);
	/* Only the selected runs' fields. */
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, sel + 1, 1, NULL, 0), 0);
	cr_assert_str_eq(names(c), "metrics.loss params.z params[a b]");
	xtrk_columns_free(c);
	/* None selected: the leading names alone. */
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, sel, 0, leading, 0), 0);
	cr_assert_str_eq(names(c), "id experiment params.lr");
	xtrk_columns_free(c);
	xtrk_index_free(ix);
}

Test(columns, all_fields_leave_out_the_packages_unless_asked)
{
	xtrk_oid a = commit("x", "{\"lr\": 0.1}", "{}", "{\"numpy\": \"1.26\", \"ruamel.yaml\": \"0.18\"}");
	xtrk_index *ix;
	xtrk_columns *c;
	size_t sel;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	sel = find(ix, &a);
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, &sel, 1, NULL, XTRK_COLUMNS_ALL), 0, "%s", xtrk_error_last());
	cr_assert(has_name(c, "params.lr"));
	cr_assert(has_name(c, "status"));
	cr_assert(has_name(c, "env.python.version"));
	cr_assert(!has_prefix(c, "env.python.packages"), "%s", names(c));
	xtrk_columns_free(c);
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, &sel, 1, NULL, XTRK_COLUMNS_ALL | XTRK_COLUMNS_PACKAGES), 0);
	cr_assert(has_name(c, "env.python.packages.numpy"), "%s", names(c));
	cr_assert(has_name(c, "env.python.packages[ruamel.yaml]"), "%s", names(c));
	xtrk_columns_free(c);
	/* Without ALL, only params and metrics: no environment at all. */
	cr_assert_eq(xtrk_columns_new(&c), 0);
	cr_assert_eq(xtrk_columns_add_defaults(c, ix, &sel, 1, NULL, XTRK_COLUMNS_PACKAGES), 0);
	cr_assert_str_eq(names(c), "params.lr");
	xtrk_columns_free(c);
	xtrk_index_free(ix);
}

/* Run `i`'s cell for `col` as text (a static buffer), and whether it has a value there. */
static const char *text(xtrk_index *ix, size_t i, const char *col, unsigned flags, int *has)
{
	static char out[1024];
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_index_key *k;
	cr_assert_eq(xtrk_index_key_new(&k, ix, col), 0, "%s", xtrk_error_last());
	xtrk_buf_puts(&b, "<"); /* the cell is appended */
	*has = xtrk_cell_text(&b, ix, i, col, k, flags);
	snprintf(out, sizeof(out), "%s", b.ptr);
	xtrk_buf_dispose(&b);
	xtrk_index_key_free(k);
	return out;
}

#define EXPECT_TEXT(col, flags, want, want_has)                                                          \
	do {                                                                                             \
		int has_;                                                                                \
		const char *got_ = text(ix, i, col, flags, &has_);                                       \
		cr_assert_str_eq(got_, "<" want, "%s: '%s'", col, got_);                                 \
		cr_assert_eq(has_, want_has, "%s: has %d", col, has_);                                   \
	} while (0)

static const char *const kinds_params = "{\"s\": \"x,y\", \"t\": true, \"f\": false, \"none\": null, \"lr\": 0.1,"
					"\"third\": 0.3333333333333333, \"big\": 1e300, \"int\": 42, \"neg\": -2.5,"
					"\"list\": [1, \"two\", false, null], \"opt\": {\"name\": \"adam\", \"betas\": [0.9, 0.999]},"
					"\"a b\": \"sp ace\", \"e\": {}}";

Test(columns, a_cell_as_text_for_each_kind_of_value)
{
	xtrk_oid a = commit("exp-1", kinds_params, "{\"acc\": 0.5}", NULL);
	xtrk_index *ix;
	size_t i;
	cr_assert_eq(xtrk_refs_tag_create(repo, "zeta", &a, 0), 0);
	cr_assert_eq(xtrk_refs_tag_create(repo, "alpha", &a, 0), 0);
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	i = find(ix, &a);
	cr_assert_str_eq(text(ix, i, "id", 0, &(int){ 0 }) + 1, xtrk_oid_tostr(&a));
	cr_assert_eq(strlen(text(ix, i, "id", XTRK_CELL_SHORT_ID, &(int){ 0 }) + 1), 12);
	cr_assert_eq(strncmp(text(ix, i, "id", XTRK_CELL_SHORT_ID, &(int){ 0 }) + 1, xtrk_oid_tostr(&a), 12), 0);
	EXPECT_TEXT("experiment", 0, "exp-1", 1);
	EXPECT_TEXT("params.s", 0, "x,y", 1);
	EXPECT_TEXT("params.t", 0, "true", 1);
	EXPECT_TEXT("params.f", 0, "false", 1);
	EXPECT_TEXT("params.none", 0, "", 1); /* a null: there, and empty */
	EXPECT_TEXT("params.lr", 0, "0.1", 1);
	EXPECT_TEXT("params.third", 0, "0.3333333333333333", 1);
	EXPECT_TEXT("params.big", 0, "1e300", 1);
	EXPECT_TEXT("params.int", 0, "42", 1);
	EXPECT_TEXT("params.neg", 0, "-2.5", 1);
	EXPECT_TEXT("params.list", 0, "1,two,false,", 1); /* a list's values alone */
	EXPECT_TEXT("params.opt", 0, "betas.0=0.9,betas.1=0.999,name=adam", 1); /* an object's fields as name=value */
	EXPECT_TEXT("params.opt.betas", 0, "0.9,0.999", 1);
	EXPECT_TEXT("params[a b]", 0, "sp ace", 1);
	EXPECT_TEXT("tags", 0, "alpha,zeta", 1); /* from the refs */
	EXPECT_TEXT("tags.1", 0, "zeta", 1);
	EXPECT_TEXT("metrics", 0, "acc=0.5", 1);
	EXPECT_TEXT("params.nosuch", 0, "", 0);
	EXPECT_TEXT("nosuch", 0, "", 0);
	EXPECT_TEXT("tags.7", 0, "", 0);
	/* A key never resolved: nothing, except the index's own id and experiment. */
	cr_assert_eq(xtrk_cell_text(&(xtrk_buf)XTRK_BUF_INIT, ix, i, "params.lr", NULL, 0), 0);
	xtrk_index_free(ix);
}

Test(columns, a_number_text_reads_back_exactly)
{
	static const double nums[] = { 0.1, 1.0 / 3, 2.0 / 3, 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308, -0.0 };
	for (size_t n = 0; n < sizeof(nums) / sizeof(*nums); n++) {
		xtrk_buf b = XTRK_BUF_INIT;
		xtrk_value v = { XTRK_VAL_NUM, nums[n], NULL, 0 };
		cr_assert_eq(xtrk_value_text(&b, &v), 0);
		cr_assert_eq(strtod(b.ptr, NULL), nums[n], "%s", b.ptr);
		xtrk_buf_dispose(&b);
	}
}

/* Run `i`'s cells for the set's columns as a compact JSON array (to free). */
static char *row_json(const xtrk_index *ix, const xtrk_columns *c, size_t i)
{
	json_t *row = json_array();
	char *dump;
	for (size_t k = 0; k < xtrk_columns_count(c); k++)
		json_array_append_new(row, xtrk_cell_json(ix, i, xtrk_columns_name(c, k), xtrk_columns_key(c, k)));
	dump = json_dumps(row, JSON_COMPACT);
	json_decref(row);
	return dump;
}

Test(columns, a_cell_as_json_keeps_numbers_as_numbers_and_absence_as_null)
{
	xtrk_oid a = commit("exp-1", kinds_params, "{\"acc\": 0.5}", NULL),
		 b = commit("exp-2", "{}", "{}", NULL);
	static const char *const cols[] = { "id", "experiment", "params.s", "params.t", "params.none", "params.lr",
		"params.list", "params.opt", "tags", "params.nosuch", "params.e", NULL };
	xtrk_index *ix;
	xtrk_columns *c;
	char *dump;
	cr_assert_eq(xtrk_refs_tag_create(repo, "best", &a, 0), 0);
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_columns_new(&c), 0);
	for (const char *const *col = cols; *col; col++)
		cr_assert_eq(xtrk_columns_add(c, *col, strlen(*col)), 0);
	cr_assert_eq(xtrk_columns_bind(c, ix), 0, "%s", xtrk_error_last());
	dump = row_json(ix, c, find(ix, &a));
	{
		char want[1024];
		snprintf(want, sizeof(want),
			"[\"%s\",\"exp-1\",\"x,y\",\"true\",null,0.10000000000000001,\"1,two,false,\","
			"\"betas.0=0.9,betas.1=0.999,name=adam\",\"best\",null,null]",
			xtrk_oid_tostr(&a));
		cr_assert_str_eq(dump, want);
	}
	free(dump);
	/* A run without tags: "" (the tags column is always text); its missing fields: null. */
	dump = row_json(ix, c, find(ix, &b));
	{
		char want[1024];
		snprintf(want, sizeof(want), "[\"%s\",\"exp-2\",null,null,null,null,null,null,\"\",null,null]", xtrk_oid_tostr(&b));
		cr_assert_str_eq(dump, want);
	}
	free(dump);
	xtrk_columns_free(c);
	xtrk_index_free(ix);
}
