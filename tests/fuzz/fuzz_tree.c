/* Fuzz the tree parser: names, modes, IDs, sizes, order. */
#include "config.h"
#include <string.h>

#include "fuzz.h"
#include "xtrk/errors.h"
#include "xtrk/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xtrk_tree *t = NULL;
	xtrk_buf b = XTRK_BUF_INIT;
	if (xtrk_tree_parse(&t, (const char *)data, size) == 0) {
		/* What parses must format back to the same bytes. */
		for (size_t i = 0; i < t->count; i++)
			xtrk_tree_format_entry(&b, &t->entries[i]);
		if (b.size != size || (size && memcmp(b.ptr, data, size)))
			__builtin_trap();
	}
	xtrk_tree_free(t);
	xtrk_buf_dispose(&b);
	xtrk_error_clear();
	return 0;
}
