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
	"usage: xtrk audit [--verify] [--json]\n"
	"\n"
	"Print the audit log: every tag, note, stage move, approval, rm, restore and gc\n"
	"that changed the store, oldest first, with who and when; each entry names the\n"
	"hash of the one before.  The chain is checked: exit status 3 when an entry was\n"
	"removed, altered or reordered.\n"
	"\n"
	"      --verify   only check the chain (and say how many entries it holds)\n"
	"      --json     print the entries as JSON, each with its hash\n"
	"  -h, --help     show this help\n";

enum { OPT_JSON = 256, OPT_VERIFY };

int cmd_audit(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	json_t *entries = NULL, *e;
	size_t i;
	int c, json = 0, verify = 0, err, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_VERIFY: verify = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc != optind)
		return cli_usage_error(usage, "audit takes no arguments");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	err = xtrk_audit_read(&entries, repo);
	if (err < 0 && err != XTRK_ECORRUPT) {
		status = cli_fail(err);
		goto done;
	}
	if (verify) {
		if (err == 0)
			printf("audit log: %zu entries, chain intact\n", json_array_size(entries));
	} else if (json) {
		cli_print_json(entries);
	} else {
		json_array_foreach(entries, i, e) {
			char *d = xtrk_json_dumps(json_object_get(e, "detail"), XTRK_JSON_STORE);
			printf("%lld %s %s %s %s %.12s\n", (long long)json_integer_value(json_object_get(e, "seq")),
				json_string_value(json_object_get(e, "time")), cli_esc(json_string_value(json_object_get(e, "who"))),
				cli_esc(json_string_value(json_object_get(e, "what"))), cli_esc(d ? d : "{}"),
				json_string_value(json_object_get(e, "hash")));
			free(d);
		}
	}
	if (err == XTRK_ECORRUPT)
		status = cli_error(EXIT_CHECK, "%s", xtrk_error_last());
done:
	json_decref(entries);
	xtrk_repo_free(repo);
	return status;
}
