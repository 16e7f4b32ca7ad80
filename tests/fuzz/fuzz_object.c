/*
 * Fuzz the object store's readers: the input becomes a loose object file
 * (first byte 0) or a pack and its index (first byte 1, then a 4-byte index
 * length), and every object found is read and checked.
 */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "src/lib/fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

static void put(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	xtrk_write_all(fd, data, len, path);
	close(fd);
}

static int read_one(const xtrk_odb_entry *e, void *payload)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_odb_read(&b, NULL, payload, &e->oid, XTRK_OBJ_ANY);
	xtrk_odb_check(payload, &e->oid, 1);
	xtrk_buf_dispose(&b);
	xtrk_error_clear();
	return 0;
}

static void bad(const char *where, const char *problem, void *payload)
{
	(void)where;
	(void)problem;
	(void)payload;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char objects[256], path[512];
	xtrk_odb *odb = NULL;

	if (size < 1)
		return 0;
	snprintf(objects, sizeof(objects), "%s/objects", fuzz_scratch());
	xtrk_remove_tree(objects);
	snprintf(path, sizeof(path), "%s/pack", objects);
	xtrk_mkdir_p(path);
	if (data[0] == 0 || size < 5) {
		/* A loose object under the ID its header claims (bytes 16..31 after the selector). */
		xtrk_oid id;
		char hex[XTRK_OID_HEXSZ + 1];
		memset(&id, 0, sizeof(id));
		if (size >= 33)
			memcpy(id.id, data + 17, sizeof(id.id));
		xtrk_oid_fmt(hex, &id);
		snprintf(path, sizeof(path), "%s/%.2s", objects, hex);
		xtrk_mkdir_p(path);
		snprintf(path, sizeof(path), "%s/%.2s/%s", objects, hex, hex + 2);
		put(path, data + 1, size - 1);
	} else {
		uint32_t n;
		memcpy(&n, data + 1, 4);
		n = n % (uint32_t)(size - 4);
		snprintf(path, sizeof(path), "%s/pack/pack-fuzz.idx", objects);
		put(path, data + 5, n);
		snprintf(path, sizeof(path), "%s/pack/pack-fuzz.pack", objects);
		put(path, data + 5 + n, size - 5 - n);
	}
	if (xtrk_odb_open(&odb, objects) == 0)
		xtrk_odb_foreach(odb, read_one, bad, odb);
	xtrk_odb_free(odb);
	xtrk_error_clear();
	return 0;
}
