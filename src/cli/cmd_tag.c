/* xtrk tag: name a run after the fact, delete tags, list them. */
#include "config.h"
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk tag [-f] RUN NAME\n"
	"       xtrk tag -d NAME...\n"
	"       xtrk tag [-l [PATTERN]] [--json]\n"
	"\n"
	"Tag a run: NAME then names it wherever a run is expected (show NAME, diff NAME ...).\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"A tag name is letters, digits, '.', '_' and '-', and is neither hex digits alone\n"
	"(it would look like a run ID) nor the name of an experiment.\n"
	"\n"
	"  -f, --force     move an existing tag to RUN\n"
	"  -d, --delete    delete the tags named\n"
	"  -l, --list      list tags (all, or those matching the glob PATTERN): name, run, experiment\n"
	"      --json      list as JSON\n"
	"  -h, --help      show this help\n";

enum { OPT_JSON = 256 };

static int ref_cmp(const void *a, const void *b)
{
	const xtrk_run_ref *x = a, *y = b;
	int c = xtrk_oid_cmp(&x->run, &y->run);
	return c ? c : strcmp(x->experiment, y->experiment);
}

/* By ID alone, for bsearch: the first experiment found is as good as any. */
static int id_cmp(const void *a, const void *b)
{
	return xtrk_oid_cmp(&((const xtrk_run_ref *)a)->run, &((const xtrk_run_ref *)b)->run);
}

static int list(xtrk_repo *repo, const char *pattern, int json)
{
	char **names;
	xtrk_oid *targets;
	xtrk_run_ref *live = NULL, *removed = NULL;
	size_t n, nlive = 0, nremoved = 0;
	json_t *arr = json ? json_array() : NULL;
	int err;

	if ((err = xtrk_refs_tags(&names, &targets, &n, repo)) < 0)
		return err;
	/* The refs once, sorted, not once per tag: thousands of tags on 100,000 runs stay quick. */
	if ((err = xtrk_refs_list_runs(&live, &nlive, repo, NULL)) < 0 || (err = xtrk_removed_list(&removed, &nremoved, repo)) < 0)
		goto done;
	if (nlive)
		qsort(live, nlive, sizeof(*live), ref_cmp);
	if (nremoved)
		qsort(removed, nremoved, sizeof(*removed), ref_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *exp = NULL, *state = "listed";
		if (pattern && fnmatch(pattern, names[i], 0) != 0)
			continue;
		xtrk_run_ref key = { targets[i], "" }, *hit;
		if (nlive && (hit = bsearch(&key, live, nlive, sizeof(*live), id_cmp)))
			exp = hit->experiment;
		else if (nremoved && (hit = bsearch(&key, removed, nremoved, sizeof(*removed), id_cmp))) {
			exp = hit->experiment;
			state = "removed";
		}
		if (xtrk_oid_is_zero(&targets[i]))
			state = "damaged";
		else if (!exp)
			state = "unlisted";
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:s?, s:s?, s:s}", "name", names[i], "run",
				xtrk_oid_is_zero(&targets[i]) ? NULL : xtrk_oid_tostr(&targets[i]), "experiment", exp,
				"state", state));
		} else if (xtrk_oid_is_zero(&targets[i])) {
			printf("%s  (does not hold a run ID; see 'xtrk fsck')\n", names[i]);
		} else {
			printf("%s  %.12s  %s%s\n", names[i], xtrk_oid_tostr(&targets[i]), exp ? cli_esc(exp) : "(not listed)",
				!strcmp(state, "removed") ? " (removed)" : "");
		}
	}
	if (json)
		cli_print_json(arr);
done:
	json_decref(arr);
	free(live);
	free(removed);
	xtrk_refs_tags_free(names, targets, n);
	return err;
}

int cmd_tag(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "delete", no_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	int c, force = 0, del = 0, lst = 0, json = 0, err = 0, status;
	int nargs;

	optind = 0;
	while ((c = getopt_long(argc, argv, "fdlh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = 1; break;
		case 'd': del = 1; break;
		case 'l': lst = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	nargs = argc - optind;
	if (del + lst + force > 1)
		return cli_usage_error(usage, "-d, -l and -f go alone");
	if (json && (del || force || (!lst && nargs)))
		return cli_usage_error(usage, "--json is for listing");
	if (lst && nargs > 1)
		return cli_usage_error(usage, "-l takes one PATTERN");
	if (del && nargs == 0)
		return cli_usage_error(usage, "-d: which tags? give NAME...");
	if (!lst && !del && nargs != 0 && nargs != 2)
		return cli_usage_error(usage, nargs == 1 ? "give RUN and NAME (or -l PATTERN to list)" : "give RUN and NAME");
	if (force && nargs != 2)
		return cli_usage_error(usage, "-f: give RUN and NAME");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (lst || (!del && nargs == 0)) {
		if ((err = list(repo, nargs ? argv[optind] : NULL, json)) < 0)
			goto fail;
		goto done;
	}
	if (del) {
		/* Every name checked first: a typo deletes nothing. */
		for (int i = optind; i < argc; i++)
			if ((err = xtrk_refs_tag_lookup(&id, repo, argv[i])) < 0 && err != XTRK_ECORRUPT)
				goto fail;
		xtrk_error_clear();
		for (int i = optind; i < argc; i++) {
			int dup = 0;
			for (int j = optind; j < i; j++)
				dup |= !strcmp(argv[i], argv[j]);
			if (dup)
				continue;
			if ((err = xtrk_refs_tag_delete(&id, repo, argv[i])) < 0)
				goto fail;
			if (xtrk_oid_is_zero(&id))
				printf("deleted tag '%s' (it held no run ID)\n", argv[i]);
			else
				printf("deleted tag '%s' (was %.12s)\n", argv[i], xtrk_oid_tostr(&id));
		}
		goto done;
	}
	if ((err = xtrk_run_resolve_listed(&id, repo, argv[optind])) < 0 ||
	    (err = xtrk_tag_run(repo, argv[optind + 1], &id, force)) < 0) {
		if (err == XTRK_EINVALID || err == XTRK_EEXISTS)
			status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto fail;
	}
	printf("tagged run %.12s as '%s'\n", xtrk_oid_tostr(&id), argv[optind + 1]);
	goto done;
fail:
	if (status == EXIT_OK)
		status = cli_fail(err);
done:
	xtrk_repo_free(repo);
	return status;
}
