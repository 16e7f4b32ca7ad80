/* xtrk audit: print the hash-chained audit log and check its chain. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/audit.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"

static const char usage[] =
	"usage: xtrk audit [--verify] [--json] [--all | --origin ORIGIN]\n"
	"\n"
	"Print the audit log: every tag, note, stage move, approval, rm, restore and gc\n"
	"that changed the store, oldest first, with who and when; each entry names the\n"
	"hash of the one before.  The chain is checked: exit status 3 when an entry was\n"
	"removed, altered or reordered.  The log travels with push, pull and bundles;\n"
	"the chains received from other stores are kept, each named by its origin (the\n"
	"hash of its first entry), and checked too.\n"
	"\n"
	"      --verify   only check the chain (and say how many entries it holds)\n"
	"      --json     print the entries as JSON, each with its hash\n"
	"      --all      this store's log, then every chain received\n"
	"      --origin ORIGIN  only the chain received from ORIGIN\n"
	"  -h, --help     show this help\n";

enum { OPT_JSON = 256, OPT_VERIFY, OPT_ALL, OPT_ORIGIN };

int cmd_audit(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "origin", required_argument, NULL, OPT_ORIGIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *entries = NULL, *received = NULL, *chains = NULL, *c;
	const char *origin = NULL;
	size_t i;
	int opt, json = 0, verify = 0, all = 0, err, rerr = 0, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_VERIFY: verify = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_ALL: all = 1; break;
		case OPT_ORIGIN: origin = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc != optind)
		return cli_usage_error(usage, "audit takes no arguments");
	if (all && origin)
		return cli_usage_error(usage, "--all and --origin do not go together");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	err = xtrk_audit_read(&entries, repo);
	if (err < 0 && err != XTRK_ECORRUPT) {
		status = cli_fail(err);
		goto done;
	}
	if (err == XTRK_ECORRUPT)
		status = cli_error(EXIT_CHECK, "%s", xtrk_error_last());
	/* The chains received: checked by --verify, shown by --all and --origin. */
	if (verify || all || origin) {
		rerr = xtrk_audit_read_received(&received, repo);
		if (rerr < 0 && rerr != XTRK_ECORRUPT) {
			status = cli_fail(rerr);
			goto done;
		}
		if (rerr == XTRK_ECORRUPT)
			status = cli_error(EXIT_CHECK, "%s", xtrk_error_last());
	}
	if (!(chains = json_array())) {
		status = cli_fail(xtrk_error_oom());
		goto done;
	}
	if (!origin)
		json_array_append_new(chains, json_pack("{s:s?, s:b, s:O}", "origin",
			json_array_size(entries) ? json_string_value(json_object_get(json_array_get(entries, 0), "hash")) : NULL,
			"own", 1, "entries", entries));
	json_array_foreach(received, i, c)
		if (all || verify || !strcmp(origin, json_string_value(json_object_get(c, "origin")))) {
			json_object_set_new(c, "own", json_false());
			json_array_append(chains, c);
		}
	if (origin && !json_array_size(chains) && rerr == 0) {
		status = cli_error(EXIT_USAGE, "no audit chain was received from '%s' (see 'xtrk audit --all')", origin);
		goto done;
	}
	json_array_foreach(chains, i, c) {
		json_t *es = json_object_get(c, "entries"), *e;
		size_t k;
		int own = json_is_true(json_object_get(c, "own"));
		if (verify) {
			if (own && err == 0)
				printf("audit log: %zu entries, chain intact\n", json_array_size(es));
			else if (!own)
				printf("received from %s: %zu entries%s\n", json_string_value(json_object_get(c, "origin")),
					json_array_size(es), i + 1 < json_array_size(chains) || rerr == 0 ? ", chain intact" : "");
			continue;
		}
		if (json)
			continue;
		if (all || origin)
			printf(own ? "# this store\n" : "# received from %s\n", json_string_value(json_object_get(c, "origin")));
		json_array_foreach(es, k, e) {
			char *d = xtrk_json_dumps(json_object_get(e, "detail"), XTRK_JSON_STORE);
			printf("%lld %s %s %s %s %.12s\n", (long long)json_integer_value(json_object_get(e, "seq")),
				cli_esc(json_string_value(json_object_get(e, "time"))), cli_esc(json_string_value(json_object_get(e, "who"))),
				cli_esc(json_string_value(json_object_get(e, "what"))), cli_esc(d ? d : "{}"),
				json_string_value(json_object_get(e, "hash")));
			free(d);
		}
	}
	if (json && !verify)
		cli_print_json(all || origin ? chains : entries);
done:
	json_decref(entries);
	json_decref(received);
	json_decref(chains);
	xtrk_repo_free(repo);
	return status;
}
