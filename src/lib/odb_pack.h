/* Pack files (odb_pack.c): indexes loaded and searched, entries read, a transaction's pack written. */
#ifndef XTRK_ODB_PACK_H
#define XTRK_ODB_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "odb_internal.h"
#include "xtrk/odb.h"

void odb_pack_close(struct pack *p);
/* Load any index not yet known (`force`: even when the folder's mtime is unchanged).  Caller holds odb->lock. */
int odb_packs_scan(xtrk_odb *odb, int force);
/* Find an object in the packs; fills pack index and offset.  Caller holds odb->lock. */
int odb_packs_find(xtrk_odb *odb, const xtrk_oid *oid, size_t *pi, uint64_t *off);
/* Forget the lookup table of packed objects (the pack list changed). Caller holds lock. */
void odb_packmap_drop(xtrk_odb *odb);
/* Open a pack's file (p->fd; -1 and errno on failure), closing another's past a few open. Caller holds lock. */
void odb_pack_open_fd(xtrk_odb *odb, struct pack *p);
/* Read a pack entry header at `off` of `fd` into a location. */
int odb_loc_from_pack(struct loc *l, int fd, uint64_t off, const xtrk_oid *oid, const char *where);

/* Finish the transaction's current pack: index written, both flushed, queued for naming.  Caller holds t->lock. */
int odb_pack_seal(xtrk_txn *t);
/* Append one prepared entry to the transaction's pack. */
int odb_pack_append(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, int comp,
	uint64_t size, const void *stored, size_t stored_len);

/* Transactions on `odb` seal their pack before it grows past `max` bytes (0: the default, 1 GiB). */
void odb_set_pack_size(xtrk_odb *odb, uint64_t max);

/* Load one pack's index (checksum verified) by its path; odb_pack_close frees it. */
int odb_pack_open_idx(struct pack *p, const char *idx_path);

/* The packs' part of xtrk_odb_foreach (every index checked against its checksum). */
int odb_foreach_packs(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload);

#endif
