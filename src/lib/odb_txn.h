/* Write transactions (odb_txn.c): the transaction's state, its staged set and its temporary files. */
#ifndef XTRK_ODB_TXN_H
#define XTRK_ODB_TXN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xtrk/odb.h"

struct pentry {
	xtrk_oid oid;
	uint64_t off;
};

struct pending {
	char *tmp;
	xtrk_oid oid;
};

struct xtrk_txn {
	xtrk_odb *odb;
	pthread_mutex_t lock;
	int pack_fd;
	char *pack_tmp;
	uint64_t pack_off;
	struct pentry *ents;
	size_t nents, aents;
	uint64_t pack_flushed; /* pack bytes handed to writeback so far */
	size_t *set; /* open addressing over ents, index + 1; 0 is empty */
	size_t setcap;
	struct pending *pend;
	size_t npend, apend;
	char **packs_done; /* finished packs of this txn waiting to be named */
	size_t npacks_done;
	int committed;
	int lock_fd;        /* the writers' shared lock (odb_lock.h), -1 for a dry transaction */
	int dry;            /* compute IDs only */
	struct memobj *mem; /* dry: the trees written, for xtrk_txn_read */
	size_t nmem, amem;
};

struct memobj {
	xtrk_oid oid;
	char *data;
	size_t len;
};

/* An entry of the pack being written with this ID, or NULL.  Caller holds t->lock. */
struct pentry *odb_txn_set_find(xtrk_txn *t, const xtrk_oid *oid);
/* Add t->ents[index] to the set.  Caller holds t->lock. */
int odb_txn_set_add(xtrk_txn *t, size_t index);
/* Create a temporary file in the store's tmp folder. */
int odb_tmpfile_in(char **out, xtrk_odb *odb, const char *prefix, int *fd);
/* Queue a sealed temp object to be named at commit; takes over `tmp`. */
int odb_txn_add_pending(xtrk_txn *t, char *tmp, const xtrk_oid *oid);

#endif
