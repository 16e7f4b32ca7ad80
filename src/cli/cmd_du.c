/* xtrk du (count-objects): the store's size by kind and experiment, and what deduplication saves. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/du.h"
#include "xtrk/errors.h"

static const char usage[] =
	"usage: xtrk du [--json]\n"
	"       xtrk count-objects [--json]\n"
	"\n"
	"The store's size on disk: in all, loose and packed objects, by kind (records,\n"
	"datasets, models, artifacts, logs, series, source, params, notes, and\n"
	"unreachable objects gc may collect) and by experiment (objects counted for\n"
	"the first run that reaches them), and what deduplication saved: the bytes the\n"
	"runs reference, each run counted whole, against the bytes stored.\n"
	"\n"
	"      --json   print the figures as JSON (every figure in bytes)\n"
	"  -h, --help   show this help\n";

static json_t *count_json(const xtrk_du_count *c)
{
	return json_pack("{s:I, s:I}", "objects", (json_int_t)c->objects, "bytes", (json_int_t)c->stored);
}

static void print_json(const xtrk_du_result *r)
{
	json_t *j = json_object(), *kinds = json_object(), *refk = json_object(), *exps = json_array();
	for (size_t k = 0; k < XTRK_DU_NKINDS; k++) {
		json_object_set_new(kinds, xtrk_du_kind_names[k], count_json(&r->kinds[k]));
		if (k != XTRK_DU_UNREACHABLE)
			json_object_set_new(refk, xtrk_du_kind_names[k], json_integer((json_int_t)r->referenced_kinds[k]));
	}
	for (size_t i = 0; i < r->nexperiments; i++) {
		const xtrk_du_experiment *e = &r->experiments[i];
		json_array_append_new(exps, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", e->name, "runs",
			(json_int_t)e->runs, "objects", (json_int_t)e->stored.objects, "bytes", (json_int_t)e->stored.stored,
			"referenced", (json_int_t)e->referenced));
	}
	json_object_set_new(j, "total_bytes", json_integer((json_int_t)r->total_bytes));
	json_object_set_new(j, "loose", count_json(&r->loose));
	json_object_set_new(j, "packed", count_json(&r->packed));
	json_object_set_new(j, "pack_file_bytes", json_integer((json_int_t)r->pack_file_bytes));
	json_object_set_new(j, "other_bytes", json_integer((json_int_t)r->other_bytes));
	json_object_set_new(j, "kinds", kinds);
	json_object_set_new(j, "experiments", exps);
	json_object_set_new(j, "runs", json_integer((json_int_t)r->runs));
	json_object_set_new(j, "referenced", json_integer((json_int_t)r->referenced));
	json_object_set_new(j, "referenced_kinds", refk);
	json_object_set_new(j, "unique", json_integer((json_int_t)r->unique));
	json_object_set_new(j, "stored_live", json_integer((json_int_t)r->stored_live));
	json_object_set_new(j, "dedup_saved",
		json_integer((json_int_t)(r->referenced > r->unique ? r->referenced - r->unique : 0)));
	json_object_set_new(j, "saved",
		json_integer((json_int_t)(r->referenced > r->stored_live ? r->referenced - r->stored_live : 0)));
	cli_print_json(j);
	json_decref(j);
}

static const char *hb(char *buf, unsigned long long n)
{
	cli_human_bytes(buf, 32, n);
	return buf;
}

static void print_human(const xtrk_du_result *r)
{
	char a[32], b[32];
	printf("store:        %s in all\n", hb(a, r->total_bytes));
	printf("  loose:      %s in %llu objects\n", hb(a, r->loose.stored), (unsigned long long)r->loose.objects);
	printf("  packed:     %s in %llu objects (pack files %s)\n", hb(a, r->packed.stored),
		(unsigned long long)r->packed.objects, hb(b, r->pack_file_bytes));
	printf("  other:      %s (refs, index, config, temporary files)\n", hb(a, r->other_bytes));
	printf("\nby kind:\n");
	for (size_t k = 0; k < XTRK_DU_NKINDS; k++)
		if (r->kinds[k].objects)
			printf("  %-12s %10s  %llu objects\n", xtrk_du_kind_names[k], hb(a, r->kinds[k].stored),
				(unsigned long long)r->kinds[k].objects);
	printf("\nby experiment (objects counted for the first run that reaches them):\n");
	for (size_t i = 0; i < r->nexperiments; i++)
		printf("  %-24s %10s  %zu run%s, referencing %s\n", cli_esc(r->experiments[i].name),
			hb(a, r->experiments[i].stored.stored), r->experiments[i].runs, r->experiments[i].runs == 1 ? "" : "s",
			hb(b, r->experiments[i].referenced));
	printf("\ndeduplication: %zu runs reference %s; ", r->runs, hb(a, r->referenced));
	printf("distinct content %s, stored in %s\n", hb(a, r->unique), hb(b, r->stored_live));
	printf("  saved:      %s by deduplication", hb(a, r->referenced > r->unique ? r->referenced - r->unique : 0));
	printf(", %s in all\n", hb(a, r->referenced > r->stored_live ? r->referenced - r->stored_live : 0));
}

int cmd_du(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_du_result r;
	xtrk_repo *repo = NULL;
	int c, json = 0, err, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "du takes no arguments");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_du(&r, repo)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	if (json)
		print_json(&r);
	else
		print_human(&r);
	xtrk_du_result_dispose(&r);
	status = EXIT_OK;
done:
	xtrk_repo_free(repo);
	return status;
}
