/*
 * Fuzz the query language: parse an expression, bind it to an index of a few runs (one with a long
 * value, on which a backtracking pattern would be slow) and match every run.  Deep nesting, long
 * chains and costly regular expressions must end in a match, a non-match or an error.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/query.h"
#include "xtrk/repo.h"
#include "xtrk/run.h"

static xtrk_repo *repo; /* kept open for as long as the index */
static xtrk_index *ix;

static void commit(const char *const *params, size_t n, const char *metric)
{
	xtrk_commit_options o = XTRK_COMMIT_OPTIONS_INIT;
	const char *metrics[] = { metric };
	xtrk_oid id;
	o.experiment = "fuzz";
	o.params = params;
	o.nparams = n;
	o.metrics = metrics;
	o.nmetrics = 1;
	if (xtrk_run_commit(&id, NULL, repo, &o) < 0) {
		fprintf(stderr, "fuzz_query: %s\n", xtrk_error_last());
		abort();
	}
}

static void setup(void)
{
	static char long_value[40000];
	static const char *const p1[] = { "lr=0.1", "opt=adam", "layers=[32,64]", "a.b.c=true" };
	const char *p2[] = { "lr=0.01", "opt=sgd", long_value };
	char path[4200], cwd[4096];
	FILE *f;
	int created;

	memcpy(long_value, "s=", 2);
	memset(long_value + 2, 'a', sizeof(long_value) - 4);
	long_value[sizeof(long_value) - 2] = '!';
	if (!getcwd(cwd, sizeof(cwd)) || chdir(fuzz_scratch()) < 0)
		abort();
	setenv("GIT_CEILING_DIRECTORIES", fuzz_scratch(), 1);
	if (xtrk_repo_init(&repo, ".", &created) < 0)
		abort();
	xtrk_repo_free(repo);
	snprintf(path, sizeof(path), "%s/.xtrk/config", fuzz_scratch());
	if (!(f = fopen(path, "a")))
		abort();
	fputs("[capture]\n\tpython = false\n", f);
	fclose(f);
	if (xtrk_repo_open(&repo, ".") < 0)
		abort();
	commit(p1, 4, "acc=0.9");
	commit(p2, 3, "loss=1.5");
	if (xtrk_index_open(&ix, repo, NULL) < 0 || chdir(cwd) < 0)
		abort();
	xtrk_warning_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xtrk_query *q = NULL;
	char *expr;

	if (!ix)
		setup();
	if (!(expr = malloc(size + 1)))
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (xtrk_query_parse(&q, expr, NULL) == 0 && xtrk_query_bind(q, ix) == 0)
		for (size_t i = 0; i < xtrk_index_count(ix); i++)
			if (xtrk_query_match(q, ix, i) < 0)
				break;
	xtrk_query_free(q);
	free(expr);
	xtrk_error_clear();
	return 0;
}
