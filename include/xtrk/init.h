/* Process-wide set-up of libxtrk, done once, explicitly, by the program that uses it. */
#ifndef XTRK_INIT_H
#define XTRK_INIT_H

/**
 * Set up what the library needs before its first use: jansson's allocators
 * (so an allocation failure inside jansson is noted, see xtrk_oom_mark).
 * Opening or creating a store calls it too.  Safe to call more than once and from several threads; returns 0,
 * or < 0 with the last error set.
 */
int xtrk_init(void);

#endif
