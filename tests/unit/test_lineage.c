/* Unit tests for lineage: runs joined through shared data IDs, walked up and down, cycles, targets of each kind. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/index.h"
#include "xtrk/lineage.h"
#include "xtrk/run.h"

static xtrk_repo *repo;

/*
 * prep:  data/raw (dataset "raw")        -> out/feat.bin (model "feat")
 * train: out/feat.bin (dataset "feat")   -> model.bin (model "model")
 * other: data/raw (dataset "raw")        -> report.txt (artifact "report")
 */
static char prep[33], train[33], other[33], raw[33], feat[33], model[33], report[33];

static void commit(char *id_out, const char *exp, const char *message, const char *dataset, const char *model_spec,
	const char *artifact, char *in_id, char *out_id)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *d[] = { dataset }, *m[] = { model_spec }, *a[] = { artifact };
	xtrk_oid id;
	json_t *run;
	o.experiment = exp;
	o.message = message;
	o.datasets = d;
	o.ndatasets = dataset ? 1 : 0;
	o.models = m;
	o.nmodels = model_spec ? 1 : 0;
	o.artifacts = a;
	o.nartifacts = artifact ? 1 : 0;
	cr_assert_eq(xtrk_run_commit(&id, &run, repo, &o), 0, "%s", xtrk_error_last());
	xtrk_oid_fmt(id_out, &id);
	if (in_id)
		snprintf(in_id, 33, "%s", json_string_value(json_object_get(json_array_get(json_object_get(run, "datasets"), 0), "id")));
	if (out_id)
		snprintf(out_id, 33, "%s", json_string_value(json_object_get(json_array_get(json_object_get(run,
			model_spec ? "models" : "artifacts"), 0), "id")));
	json_decref(run);
}

static void setup(void)
{
	char again[33];
	tmpdir_enter();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	repo = new_repo();
	mkdir("data", 0777);
	mkdir("data/raw", 0777);
	mkdir("out", 0777);
	write_text("data/raw/r.csv", "a,b\n1,2\n");
	write_text("out/feat.bin", "features\n");
	write_text("model.bin", "weights\n");
	write_text("report.txt", "report\n");
	commit(prep, "prep", "make features", "raw=data/raw", "feat=out/feat.bin", NULL, raw, feat);
	commit(train, "train", "fit", "feat=out/feat.bin", "model=model.bin", NULL, again, model);
	cr_assert_str_eq(again, feat, "train's input is prep's output");
	commit(other, "other", NULL, "raw=data/raw", NULL, "report=report.txt", again, report);
	cr_assert_str_eq(again, raw);
	xtrk_warning_clear();
}
static void teardown(void) { xtrk_repo_free(repo); tmpdir_leave(); }
TestSuite(lineage, .init = setup, .fini = teardown);

static json_t *graph(const char *target, int dirs)
{
	xtrk_index *ix;
	json_t *g;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_lineage(&g, repo, ix, target, dirs), 0, "%s: %s", target, xtrk_error_last());
	xtrk_index_free(ix);
	return g;
}

static json_t *edge(json_t *g, const char *from, const char *to)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(g, "edges"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "from")), from) &&
		    !strcmp(json_string_value(json_object_get(e, "to")), to))
			return e;
	return NULL;
}

static json_t *node(json_t *g, const char *id)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(g, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "id")), id))
			return n;
	return NULL;
}

static size_t nedges(json_t *g) { return json_array_size(json_object_get(g, "edges")); }
/* The graph's target has this kind and ID. */
static void target_is(json_t *g, const char *kind, const char *id)
{
	json_t *t = json_object_get(g, "target");
	cr_assert_str_eq(json_string_value(json_object_get(t, "kind")), kind);
	cr_assert_str_eq(json_string_value(json_object_get(t, "id")), id);
}

static size_t nnodes(json_t *g) { return json_array_size(json_object_get(g, "nodes")); }

Test(lineage, downstream_of_a_run_follows_its_outputs_to_their_users)
{
	json_t *g = graph(prep, XTRK_LINEAGE_DOWN);
	target_is(g, "run", prep);
	cr_assert_not_null(edge(g, prep, feat));
	cr_assert_not_null(edge(g, feat, train));
	cr_assert_not_null(edge(g, train, model));
	cr_assert_eq(nedges(g), 3);
	cr_assert_eq(nnodes(g), 4);
	cr_assert_null(node(g, raw), "prep's input is upstream");
	cr_assert_null(node(g, other));
	json_decref(g);
}

Test(lineage, upstream_of_a_run_follows_its_inputs_to_their_makers)
{
	json_t *g = graph(train, XTRK_LINEAGE_UP);
	cr_assert_not_null(edge(g, raw, prep));
	cr_assert_not_null(edge(g, prep, feat));
	cr_assert_not_null(edge(g, feat, train));
	cr_assert_eq(nedges(g), 3);
	cr_assert_eq(nnodes(g), 4);
	cr_assert_null(node(g, model), "train's output is downstream");
	cr_assert_null(node(g, other), "another user of raw data is not upstream of train");
	json_decref(g);
}

Test(lineage, both_directions_join_the_two_walks)
{
	json_t *g = graph(train, XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN);
	cr_assert_not_null(edge(g, raw, prep));
	cr_assert_not_null(edge(g, prep, feat));
	cr_assert_not_null(edge(g, feat, train));
	cr_assert_not_null(edge(g, train, model));
	cr_assert_eq(nedges(g), 4);
	cr_assert_eq(nnodes(g), 5);
	json_decref(g);
	/* Up only from a run whose input nobody made: the run and its input. */
	g = graph(other, XTRK_LINEAGE_UP);
	cr_assert_not_null(edge(g, raw, other));
	cr_assert_eq(nedges(g), 1);
	cr_assert_eq(nnodes(g), 2);
	json_decref(g);
}

Test(lineage, any_run_revision_is_a_target)
{
	char prefix[10];
	json_t *g = graph("prep", XTRK_LINEAGE_DOWN);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "target"), "id")), prep, "an experiment: its newest run");
	cr_assert_eq(nedges(g), 3);
	json_decref(g);
	snprintf(prefix, sizeof(prefix), "%.8s", train);
	g = graph(prefix, XTRK_LINEAGE_DOWN);
	target_is(g, "run", train);
	cr_assert_not_null(edge(g, train, model));
	cr_assert_eq(nedges(g), 1);
	json_decref(g);
}

Test(lineage, a_data_id_or_its_prefix_is_a_target)
{
	char prefix[8];
	json_t *g = graph(raw, XTRK_LINEAGE_DOWN);
	target_is(g, "data", raw);
	/* Both runs that read the raw data, and everything after them. */
	cr_assert_not_null(edge(g, raw, prep));
	cr_assert_not_null(edge(g, raw, other));
	cr_assert_not_null(edge(g, other, report));
	cr_assert_not_null(edge(g, train, model));
	cr_assert_eq(nedges(g), 6);
	json_decref(g);
	snprintf(prefix, sizeof(prefix), "%.6s", feat);
	g = graph(prefix, XTRK_LINEAGE_UP);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "target"), "id")), feat);
	cr_assert_not_null(edge(g, prep, feat));
	cr_assert_not_null(edge(g, raw, prep));
	cr_assert_eq(nedges(g), 2);
	json_decref(g);
}

Test(lineage, a_path_is_hashed_as_it_is_now)
{
	json_t *g = graph("out/feat.bin", XTRK_LINEAGE_DOWN);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "target"), "id")), feat);
	cr_assert_not_null(edge(g, feat, train));
	json_decref(g);
	g = graph("data/raw", XTRK_LINEAGE_DOWN);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "target"), "id")), raw, "a folder: its tree ID");
	json_decref(g);
	/* Changed since: a new ID no run knows, shown alone. */
	write_text("out/feat.bin", "features v2\n");
	g = graph("out/feat.bin", XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN);
	cr_assert_str_neq(json_string_value(json_object_get(json_object_get(g, "target"), "id")), feat);
	cr_assert_eq(nedges(g), 0);
	cr_assert_eq(nnodes(g), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(g, "nodes"), 0), "label")),
		"out/feat.bin");
	json_decref(g);
}

Test(lineage, edges_and_nodes_say_what_they_join)
{
	json_t *g = graph(train, XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN), *e, *n;
	char label[64];
	e = edge(g, prep, feat);
	cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "output");
	cr_assert_str_eq(json_string_value(json_object_get(e, "group")), "models");
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "feat");
	cr_assert_str_eq(json_string_value(json_object_get(e, "path")), "out/feat.bin");
	e = edge(g, raw, prep);
	cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "input");
	cr_assert_str_eq(json_string_value(json_object_get(e, "group")), "datasets");
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "raw");
	cr_assert_str_eq(json_string_value(json_object_get(e, "path")), "data/raw");
	n = node(g, prep);
	cr_assert_str_eq(json_string_value(json_object_get(n, "kind")), "run");
	cr_assert_str_eq(json_string_value(json_object_get(n, "experiment")), "prep");
	cr_assert_str_eq(json_string_value(json_object_get(n, "message")), "make features");
	snprintf(label, sizeof(label), "run %.12s (prep)", prep);
	cr_assert_str_eq(json_string_value(json_object_get(n, "label")), label);
	n = node(g, feat);
	cr_assert_str_eq(json_string_value(json_object_get(n, "kind")), "data");
	cr_assert_str_eq(json_string_value(json_object_get(n, "path")), "out/feat.bin");
	snprintf(label, sizeof(label), "out/feat.bin %.12s", feat);
	cr_assert_str_eq(json_string_value(json_object_get(n, "label")), label);
	json_decref(g);
	g = graph(raw, XTRK_LINEAGE_DOWN);
	e = edge(g, other, report);
	cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "output", "an artifact is an output");
	cr_assert_str_eq(json_string_value(json_object_get(e, "group")), "artifacts");
	json_decref(g);
}

Test(lineage, a_cycle_is_walked_once)
{
	char a[33], b[33], x[33], y[33], bx[33], by[33];
	json_t *g;
	mkdir("c", 0777);
	write_text("c/x", "one\n");
	write_text("c/y", "two\n");
	/* a turns x into y; b turns y back into x. */
	commit(a, "ca", NULL, "x=c/x", "y=c/y", NULL, x, y);
	commit(b, "cb", NULL, "y2=c/y", "x2=c/x", NULL, by, bx);
	cr_assert_str_eq(bx, x);
	cr_assert_str_eq(by, y);
	g = graph(a, XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN);
	cr_assert_not_null(edge(g, x, a));
	cr_assert_not_null(edge(g, a, y));
	cr_assert_not_null(edge(g, y, b));
	cr_assert_not_null(edge(g, b, x));
	cr_assert_eq(nedges(g), 4, "each edge once");
	cr_assert_eq(nnodes(g), 4);
	json_decref(g);
	g = graph(a, XTRK_LINEAGE_UP);
	cr_assert_eq(nedges(g), 4, "upstream goes round the cycle back to a");
	json_decref(g);
	g = graph(x, XTRK_LINEAGE_DOWN);
	cr_assert_eq(nedges(g), 4);
	json_decref(g);
}

Test(lineage, unknown_and_ambiguous_targets)
{
	static int first[65536];
	xtrk_index *ix;
	json_t *g = NULL;
	char name[2][32], prefix[5];
	int found = 0;
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0);
	cr_assert_eq(xtrk_lineage(&g, repo, ix, "no-such-thing", XTRK_LINEAGE_UP), XTRK_ENOTFOUND);
	cr_assert_null(g);
	cr_assert(strstr(xtrk_error_last(), "no-such-thing"), "%s", xtrk_error_last());
	xtrk_index_free(ix);
	/* Two contents whose IDs start with the same 4 hex digits, as inputs of one run. */
	memset(first, 0, sizeof(first));
	for (int i = 1; !found; i++) {
		char text[32], hex[33];
		xtrk_oid id;
		unsigned k;
		snprintf(text, sizeof(text), "content %d\n", i);
		xtrk_oid_hash(&id, text, strlen(text));
		xtrk_oid_fmt(hex, &id);
		sscanf(hex, "%4x", &k);
		if (first[k]) {
			snprintf(name[0], sizeof(name[0]), "content %d\n", first[k]);
			snprintf(name[1], sizeof(name[1]), "%s", text);
			snprintf(prefix, sizeof(prefix), "%.4s", hex);
			found = 1;
		}
		first[k] = i;
	}
	mkdir("amb", 0777);
	write_text("amb/p", name[0]);
	write_text("amb/q", name[1]);
	{
		xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
		const char *d[] = { "p=amb/p", "q=amb/q" };
		xtrk_oid id;
		o.datasets = d;
		o.ndatasets = 2;
		cr_assert_eq(xtrk_run_commit(&id, NULL, repo, &o), 0, "%s", xtrk_error_last());
	}
	cr_assert_eq(xtrk_index_open(&ix, repo, NULL), 0);
	cr_assert_eq(xtrk_lineage(&g, repo, ix, prefix, XTRK_LINEAGE_UP), XTRK_EAMBIGUOUS, "%s", prefix);
	cr_assert(strstr(xtrk_error_last(), prefix), "%s", xtrk_error_last());
	xtrk_index_free(ix);
}

Test(lineage, a_run_whose_output_is_its_own_input_is_a_cycle_of_two_edges)
{
	char r[33], in[33], out[33];
	json_t *g, *e;
	write_text("loop.csv", "loop\n");
	commit(r, "loop", NULL, "in=loop.csv", NULL, "out=loop.csv", in, out);
	cr_assert_str_eq(in, out);
	for (int dirs = 1; dirs <= 3; dirs++) {
		g = graph(r, dirs);
		cr_assert_not_null(e = edge(g, in, r), "dirs %d", dirs);
		cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "input");
		cr_assert_not_null(e = edge(g, r, in));
		cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "output");
		cr_assert_eq(nedges(g), 2, "dirs %d: each edge once", dirs);
		cr_assert_eq(nnodes(g), 2);
		json_decref(g);
	}
	g = graph(in, XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN);
	cr_assert_eq(nedges(g), 2);
	target_is(g, "data", in);
	json_decref(g);
}
