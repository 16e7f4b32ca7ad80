/* xtrk lineage: from raw data through the runs that transformed it to the final model, as text, dot or JSON. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/lineage.h"

static const char usage[] =
	"usage: xtrk lineage [--up|--down] [--format text|dot|json] TARGET\n"
	"\n"
	"TARGET is a run (any revision), a data or model ID (or a prefix of at least 4\n"
	"digits), or a path in the workspace (hashed as it is now). A run's datasets\n"
	"are its inputs, its models and artifacts its outputs; an output with the same\n"
	"ID as another run's dataset joins the two runs.\n"
	"\n"
	"      --up           only what TARGET came from\n"
	"      --down         only what came from TARGET\n"
	"      --format FMT   text (default), dot (Graphviz: | dot -Tsvg) or json\n"
	"  -h, --help         show this help\n";

enum { OPT_UP = 256, OPT_DOWN, OPT_FORMAT };

static const char *label(json_t *nodes, const char *id)
{
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
		if (!strcmp(json_string_value(json_object_get(n, "id")), id))
			return json_string_value(json_object_get(n, "label"));
	return id;
}

static void dot_quote(const char *s)
{
	s = cli_esc(s); /* control characters shown escaped, then quoted for dot */
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_dot(json_t *g)
{
	size_t i;
	json_t *n, *e;
	const char *target = json_string_value(json_object_get(json_object_get(g, "target"), "id"));
	printf("digraph lineage {\n\trankdir=LR;\n\tnode [fontname=\"Helvetica\"];\n");
	json_array_foreach(json_object_get(g, "nodes"), i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		int run = !strcmp(json_string_value(json_object_get(n, "kind")), "run");
		printf("\t");
		dot_quote(id);
		printf(" [shape=%s, label=", run ? "box" : "ellipse");
		dot_quote(json_string_value(json_object_get(n, "label")));
		printf("%s];\n", !strcmp(id, target) ? ", style=bold, color=blue" : "");
	}
	json_array_foreach(json_object_get(g, "edges"), i, e) {
		printf("\t");
		dot_quote(json_string_value(json_object_get(e, "from")));
		printf(" -> ");
		dot_quote(json_string_value(json_object_get(e, "to")));
		printf(" [label=");
		dot_quote(json_string_value(json_object_get(e, "name")));
		printf("];\n");
	}
	printf("}\n");
}

/*
 * Text: a tree from each root (a node nothing in the graph leads to); a node met again says so, and
 * an edge back to a node on the current path is marked as a cycle.  Nodes left over (a cycle that no
 * root leads into) get trees of their own, so every node is shown.
 */
/*
 * One node and, below it, its children: each drawn after `prefix` (the rails of the levels above) with
 * "├─ ", the last with "└─ ".  `last` is 1 for the last child, -1 for a root (no branch drawn).
 */
static void print_from(json_t *g, const char *id, xtrk_buf *prefix, int last, json_t *shown, json_t *path)
{
	size_t i, nkids = 0, k = 0, plen = prefix->size;
	json_t *e;
	const char *target = json_string_value(json_object_get(json_object_get(g, "target"), "id"));
	int cycle = json_object_get(path, id) != NULL, again = json_object_get(shown, id) != NULL;

	printf("%s%s%s%s%s\n", prefix->ptr, last < 0 ? "" : last ? "└─ " : "├─ ",
		cli_esc(label(json_object_get(g, "nodes"), id)),
		!strcmp(id, target) ? "   <== target" : "",
		cycle ? "   (cycle: back to this node above)" : again ? "   (shown above)" : "");
	if (cycle || again)
		return;
	json_object_set_new(shown, id, json_true());
	json_object_set_new(path, id, json_true());
	json_array_foreach(json_object_get(g, "edges"), i, e)
		nkids += !strcmp(json_string_value(json_object_get(e, "from")), id);
	if (last >= 0)
		xtrk_buf_puts(prefix, last ? "    " : "│   ");
	json_array_foreach(json_object_get(g, "edges"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "from")), id))
			continue;
		print_from(g, json_string_value(json_object_get(e, "to")), prefix, ++k == nkids, shown, path);
	}
	xtrk_buf_truncate(prefix, plen);
	json_object_del(path, id);
}

static void print_text(json_t *g)
{
	json_t *shown = json_object(), *path = json_object(), *n, *e;
	xtrk_buf prefix = XTRK_BUF_INIT;
	size_t i, j;
	json_array_foreach(json_object_get(g, "nodes"), i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		int root = 1;
		json_array_foreach(json_object_get(g, "edges"), j, e)
			root &= strcmp(json_string_value(json_object_get(e, "to")), id) != 0;
		if (root)
			print_from(g, id, &prefix, -1, shown, path);
	}
	json_array_foreach(json_object_get(g, "nodes"), i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		if (!json_object_get(shown, id))
			print_from(g, id, &prefix, -1, shown, path);
	}
	json_decref(path);
	json_decref(shown);
	xtrk_buf_dispose(&prefix);
}

int cmd_lineage(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "up", no_argument, NULL, OPT_UP },
		{ "down", no_argument, NULL, OPT_DOWN },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *format = "text";
	int dirs = 0, c, err, status;
	xtrk_repo *repo = NULL;
	xtrk_index *ix = NULL;
	json_t *g = NULL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_UP: dirs |= XTRK_LINEAGE_UP; break;
		case OPT_DOWN: dirs |= XTRK_LINEAGE_DOWN; break;
		case OPT_FORMAT: format = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(usage, "name one TARGET");
	if (strcmp(format, "text") && strcmp(format, "dot") && strcmp(format, "json"))
		return cli_usage_error(usage, "--format must be text, dot or json, not '%s'", format);
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_index_open(&ix, repo, NULL)) < 0 ||
	    (err = xtrk_lineage(&g, repo, ix, argv[optind], dirs ? dirs : XTRK_LINEAGE_UP | XTRK_LINEAGE_DOWN)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (!strcmp(format, "json"))
		cli_print_json(g);
	else if (!strcmp(format, "dot"))
		print_dot(g);
	else
		print_text(g);
done:
	json_decref(g);
	xtrk_index_free(ix);
	xtrk_repo_free(repo);
	return status;
}
