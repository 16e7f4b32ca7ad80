/* Fuzz the run-record checks and the reachability walk over an untrusted record. */
#include "config.h"

#include <jansson.h>

#include "fuzz.h"
#include "xtrk/errors.h"
#include "xtrk/reach.h"
#include "xtrk/record.h"

static int visit(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload)
{
	(void)id;
	(void)type;
	(void)is_data;
	(*(size_t *)payload)++;
	return 0;
}

static int no_trees(xtrk_buf *out, const xtrk_oid *id, void *payload)
{
	(void)out;
	(void)id;
	(void)payload;
	return xtrk_error_set(XTRK_ENOTFOUND, "no trees here");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *run = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	xtrk_oidset seen = XTRK_OIDSET_INIT;
	xtrk_reach r = { no_trees, visit, NULL, NULL, &seen, 0 };
	xtrk_oid id = { { 1 } };
	size_t n = 0;

	r.payload = &n;
	if (run && xtrk_record_check(run) == 0)
		xtrk_reach_run(&r, &id, run);
	json_decref(run);
	xtrk_oidset_dispose(&seen);
	xtrk_error_clear();
	return 0;
}
