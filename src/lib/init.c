/* xtrk_init: the library's one-time set-up, done explicitly rather than from a constructor. */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>

#include <jansson.h>

#include "xtrk/errors.h"
#include "xtrk/init.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* jansson reports a failed allocation only as a NULL that set-functions swallow: note it here. */
static void *json_alloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		xtrk_oom_note();
	return p;
}

static void init_once(void)
{
	json_set_alloc_funcs(json_alloc, free);
}

int xtrk_init(void)
{
	if (pthread_once(&once, init_once) != 0)
		return xtrk_error_set(XTRK_ERROR, "cannot set up the library");
	return 0;
}
