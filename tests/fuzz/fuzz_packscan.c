/* Fuzz the streaming check of a git pack's declared sizes (src/lib/packscan.c), fed in pieces. */
#include "config.h"

#include "fuzz.h"
#include "src/lib/packscan.h"
#include "xtrk/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte chooses how the rest is cut into pieces, as an archive's reads would cut it. */
	size_t step = size ? (size_t)data[0] % 97 + 1 : 1;
	xtrk_packscan *s;
	if (!size || xtrk_packscan_new(&s, 1 << 20, 4 << 20) < 0)
		return 0;
	data++;
	size--;
	for (size_t at = 0; at < size; at += step)
		if (xtrk_packscan_feed(s, data + at, size - at < step ? size - at : step) < 0)
			break;
	xtrk_packscan_free(s);
	xtrk_error_clear();
	return 0;
}
