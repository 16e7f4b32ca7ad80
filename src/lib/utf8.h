/* UTF-8 as the library checks it: the one reading of a sequence, for every text rule. */
#ifndef XTRK_UTF8_H
#define XTRK_UTF8_H

#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at `s` (at most `n` bytes, n >= 1), with its code point
 * in `*cp`; 0 when there is none (a stray or missing continuation byte, an overlong form, a
 * surrogate, past U+10FFFF).
 */
size_t xtrk_utf8_seq(const unsigned char *s, size_t n, unsigned long *cp);

#endif
