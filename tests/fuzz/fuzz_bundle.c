/* Fuzz the bundle reader: any bytes as a (possibly compressed) tar, verified without a store. */
#include "config.h"
#include <stdlib.h>

#include "fuzz.h"
#include "xtrk/bundle.h"
#include "xtrk/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xtrk_bundle_stats st;
	xtrk_bundle_verify_memory(&st, data, size, NULL, NULL);
	xtrk_error_clear();
	xtrk_warning_clear();
	return 0;
}
