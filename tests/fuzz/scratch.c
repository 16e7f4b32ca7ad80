/* The scratch folder shared by the fuzz targets that need files. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "src/lib/fileutil.h"

static char dir[] = "/tmp/xtrk-fuzz-XXXXXX";
static int made;

static void cleanup(void)
{
	xtrk_remove_tree(dir);
}

const char *fuzz_scratch(void)
{
	if (!made) {
		if (!mkdtemp(dir))
			abort();
		made = 1;
		atexit(cleanup);
	}
	return dir;
}
