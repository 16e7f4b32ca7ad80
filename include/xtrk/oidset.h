/*
 * A set of object IDs (open addressing), for walks that must visit each
 * object once: fsck, bundles, push and pull.
 */
#ifndef XTRK_OIDSET_H
#define XTRK_OIDSET_H

#include <stddef.h>

#include "xtrk/oid.h"

typedef struct {
	xtrk_oid *slots;
	unsigned char *used;
	size_t cap, n;
} xtrk_oidset;

#define XTRK_OIDSET_INIT { NULL, NULL, 0, 0 }

/** Add `oid`: 1 when it was new, 0 when already there, <0 out of memory. */
int xtrk_oidset_add(xtrk_oidset *s, const xtrk_oid *oid);
/** 1 when `oid` is in the set. */
int xtrk_oidset_has(const xtrk_oidset *s, const xtrk_oid *oid);
void xtrk_oidset_dispose(xtrk_oidset *s);

#endif
