/* A set of object IDs: open addressing over the IDs' first eight bytes, which are already uniform. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xtrk/errors.h"
#include "xtrk/oidset.h"

static size_t first_slot(const xtrk_oidset *s, const xtrk_oid *oid)
{
	uint64_t h;
	memcpy(&h, oid->id, sizeof(h));
	return (size_t)h & (s->cap - 1);
}

int xtrk_oidset_add(xtrk_oidset *s, const xtrk_oid *oid)
{
	if ((s->n + 1) * 2 > s->cap) {
		xtrk_oidset ns = XTRK_OIDSET_INIT;
		ns.cap = s->cap ? s->cap * 2 : 4096;
		ns.slots = malloc(ns.cap * sizeof(*ns.slots));
		ns.used = calloc(ns.cap, 1);
		if (!ns.slots || !ns.used) {
			free(ns.slots);
			free(ns.used);
			return xtrk_error_oom();
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->used[i])
				xtrk_oidset_add(&ns, &s->slots[i]);
		free(s->slots);
		free(s->used);
		*s = ns;
	}
	for (size_t i = first_slot(s, oid);; i = (i + 1) & (s->cap - 1)) {
		if (!s->used[i]) {
			s->used[i] = 1;
			s->slots[i] = *oid;
			s->n++;
			return 1;
		}
		if (!xtrk_oid_cmp(&s->slots[i], oid))
			return 0;
	}
}

int xtrk_oidset_has(const xtrk_oidset *s, const xtrk_oid *oid)
{
	if (!s->cap)
		return 0;
	for (size_t i = first_slot(s, oid); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (!xtrk_oid_cmp(&s->slots[i], oid))
			return 1;
	return 0;
}

void xtrk_oidset_dispose(xtrk_oidset *s)
{
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}
