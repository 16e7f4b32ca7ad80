/*
 * A git pack read as it streams in, before libgit2 indexes it: every entry's
 * declared size (and a delta's result size) is checked against limits before
 * its data is inflated, and the data is inflated in a fixed buffer only to
 * find where the next entry starts.  A pack bomb (a 1 GiB blob of zeros in
 * 1 MiB) is refused at its header, without the time and memory libgit2 would
 * spend on it.
 */
#ifndef XTRK_PACKSCAN_H
#define XTRK_PACKSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct xtrk_packscan xtrk_packscan;

/** `max_object`: the largest object (or delta result); `max_total`: their sum. */
int xtrk_packscan_new(xtrk_packscan **out, uint64_t max_object, uint64_t max_total);
/** The next bytes of the pack; < 0 (XTRK_EINVALID, naming the entry) when it breaks a limit or is malformed. */
int xtrk_packscan_feed(xtrk_packscan *s, const unsigned char *data, size_t len);
void xtrk_packscan_free(xtrk_packscan *s);

#endif
