/* Unit tests for the object database: packs, loose objects, transactions, verification. */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/odb.h"

static xtrk_odb *odb;

static void setup(void)
{
	tmpdir_enter();
	cr_assert_eq(mkdir("objects", 0777), 0);
	cr_assert_eq(xtrk_odb_open(&odb, "objects"), 0);
}

static void teardown(void)
{
	xtrk_odb_free(odb);
	tmpdir_leave();
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void write_objects(xtrk_oid *ids, const void *const *data, const size_t *len, int n)
{
	xtrk_txn *t;
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(xtrk_txn_write(&ids[i], t, XTRK_OBJ_BLOB, data[i], len[i]), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(t), 0, "%s", xtrk_error_last());
	xtrk_txn_free(t);
}

TestSuite(odb, .init = setup, .fini = teardown);

Test(odb, small_objects_share_a_pack_and_read_back)
{
	const char *a = "alpha", *b = "beta beta beta beta beta beta beta beta beta beta beta beta beta";
	const void *data[] = { a, b };
	size_t len[] = { strlen(a), strlen(b) };
	xtrk_oid ids[2];
	xtrk_buf out = XTRK_BUF_INIT;
	xtrk_otype type;

	write_objects(ids, data, len, 2);
	cr_assert_eq(count_files("objects/pack"), 2, "one .pack and one .idx");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(xtrk_odb_exists(odb, &ids[i]), 1);
		cr_assert_eq(xtrk_odb_read(&out, &type, odb, &ids[i], XTRK_OBJ_BLOB), 0, "%s", xtrk_error_last());
		cr_assert_eq(out.size, len[i]);
		cr_assert_eq(memcmp(out.ptr, data[i], len[i]), 0);
		cr_assert_eq(type, XTRK_OBJ_BLOB);
	}
	xtrk_buf_dispose(&out);
}

Test(odb, large_objects_are_loose_and_stream_verified)
{
	size_t n = 2 * XTRK_PACK_OBJECT_MAX + 123;
	char *data = random_bytes(n, 7), buf[65536];
	const void *d[] = { data };
	xtrk_oid id;
	xtrk_odb_stream *s;
	size_t got = 0, r;

	write_objects(&id, d, &n, 1);
	cr_assert_eq(count_files("objects/pack"), 0);
	cr_assert_eq(xtrk_odb_stream_open(&s, odb, &id), 0);
	cr_assert_eq(xtrk_odb_stream_size(s), n);
	do {
		cr_assert_eq(xtrk_odb_stream_read(s, buf, sizeof(buf), &r), 0, "%s", xtrk_error_last());
		cr_assert_eq(memcmp(buf, data + got, r), 0);
		got += r;
	} while (r);
	cr_assert_eq(got, n);
	xtrk_odb_stream_free(s);
	free(data);
}

Test(odb, write_fd_streams_and_compresses_text)
{
	xtrk_buf text = XTRK_BUF_INIT, back = XTRK_BUF_INIT;
	xtrk_txn *t;
	xtrk_oid id, want;
	uint64_t size;
	struct stat st;
	char path[128];
	int fd;

	for (int i = 0; i < 200000; i++)
		xtrk_buf_printf(&text, "line %d of a very repetitive log\n", i % 100);
	write_file("log.txt", text.ptr, text.size);
	xtrk_oid_hash(&want, text.ptr, text.size);
	fd = open("log.txt", O_RDONLY);
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	cr_assert_eq(xtrk_txn_write_fd(&id, &size, t, fd, "log.txt"), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(t), 0);
	xtrk_txn_free(t);
	close(fd);
	cr_assert_eq(xtrk_oid_cmp(&id, &want), 0);
	cr_assert_eq(size, text.size);
	snprintf(path, sizeof(path), "objects/%.2s/%s", xtrk_oid_tostr(&id), xtrk_oid_tostr(&id) + 2);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_lt((size_t)st.st_size, text.size / 10, "text should be stored compressed");
	cr_assert_eq(xtrk_odb_read(&back, NULL, odb, &id, XTRK_OBJ_ANY), 0);
	cr_assert_eq(back.size, text.size);
	cr_assert_eq(memcmp(back.ptr, text.ptr, text.size), 0);
	xtrk_buf_dispose(&text);
	xtrk_buf_dispose(&back);
}

Test(odb, same_content_twice_is_stored_once)
{
	const char *a = "same";
	const void *d[] = { a, a };
	size_t len[] = { 4, 4 };
	xtrk_oid ids[2];
	write_objects(ids, d, len, 2);
	write_objects(ids, d, len, 1);
	cr_assert_eq(xtrk_oid_cmp(&ids[0], &ids[1]), 0);
	cr_assert_eq(count_files("objects/pack"), 2, "the second transaction wrote nothing");
}

Test(odb, uncommitted_transaction_leaves_nothing)
{
	size_t n = XTRK_PACK_OBJECT_MAX * 2;
	char *big = random_bytes(n, 3);
	xtrk_txn *t;
	xtrk_oid id;
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	cr_assert_eq(xtrk_txn_write(&id, t, XTRK_OBJ_BLOB, "x", 1), 0);
	cr_assert_eq(xtrk_txn_write(&id, t, XTRK_OBJ_BLOB, big, n), 0);
	xtrk_txn_free(t);
	cr_assert_eq(xtrk_odb_exists(odb, &id), 0);
	cr_assert_eq(count_files("objects/tmp"), 0);
	cr_assert_eq(count_files("objects/pack"), 0);
	free(big);
}

Test(odb, existing_id_with_different_bytes_is_an_error)
{
	size_t n = XTRK_PACK_OBJECT_MAX + 10;
	char *data = random_bytes(n, 11), path[128];
	const void *d[] = { data };
	xtrk_oid id;
	xtrk_txn *t;
	FILE *f;

	write_objects(&id, d, &n, 1);
	/* Damage the stored copy: writing the true content again must not trust the name. */
	snprintf(path, sizeof(path), "objects/%.2s/%s", xtrk_oid_tostr(&id), xtrk_oid_tostr(&id) + 2);
	chmod(path, 0644);
	f = fopen(path, "r+b");
	fseek(f, 100, SEEK_SET);
	fputc(data[100 - 32] ^ 0x55, f);
	fclose(f);
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	int err = xtrk_txn_write(&id, t, XTRK_OBJ_BLOB, data, n);
	if (err == 0)
		err = xtrk_txn_commit(t);
	cr_assert_lt(err, 0, "a mismatch must never be silently deduplicated");
	cr_assert(strstr(xtrk_error_last(), xtrk_oid_tostr(&id)), "%s", xtrk_error_last());
	xtrk_txn_free(t);
	free(data);
}

Test(odb, corrupt_pack_entry_fails_verification)
{
	const char *a = "some content that will be damaged in the pack file";
	const void *d[] = { a };
	size_t len = strlen(a);
	xtrk_oid id;
	xtrk_buf out = XTRK_BUF_INIT;
	DIR *dir;
	struct dirent *de;
	char path[512] = "";

	write_objects(&id, d, &len, 1);
	dir = opendir("objects/pack");
	while ((de = readdir(dir)))
		if (strstr(de->d_name, ".pack"))
			snprintf(path, sizeof(path), "objects/pack/%s", de->d_name);
	closedir(dir);
	chmod(path, 0644);
	FILE *f = fopen(path, "r+b");
	fseek(f, -5, SEEK_END);
	fputc('#', f);
	fclose(f);
	cr_assert_eq(xtrk_odb_read(&out, NULL, odb, &id, XTRK_OBJ_ANY), XTRK_ECORRUPT);
	cr_assert(strstr(xtrk_error_last(), xtrk_oid_tostr(&id)), "the message names the ID: %s", xtrk_error_last());
	cr_assert_eq(xtrk_odb_check(odb, &id, 1), XTRK_ECORRUPT);
	cr_assert_eq(xtrk_odb_check(odb, &id, 0), 0, "the header alone is fine");
	xtrk_buf_dispose(&out);
}

Test(odb, identical_bytes_of_two_types_are_one_object)
{
	/* An empty file and an empty folder's tree have the same bytes, so the same ID. */
	xtrk_txn *t;
	xtrk_oid a, b;
	xtrk_buf out = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	cr_assert_eq(xtrk_txn_write(&a, t, XTRK_OBJ_BLOB, "", 0), 0);
	cr_assert_eq(xtrk_txn_write(&b, t, XTRK_OBJ_TREE, "", 0), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(t), 0);
	xtrk_txn_free(t);
	cr_assert_eq(xtrk_oid_cmp(&a, &b), 0);
	cr_assert_eq(xtrk_odb_read(&out, NULL, odb, &b, XTRK_OBJ_TREE), 0);
	cr_assert_eq(out.size, 0);
	xtrk_buf_dispose(&out);
}

Test(odb, missing_object)
{
	xtrk_oid id;
	xtrk_buf out = XTRK_BUF_INIT;
	xtrk_oid_hash(&id, "never written", 13);
	cr_assert_eq(xtrk_odb_exists(odb, &id), 0);
	cr_assert_eq(xtrk_odb_read(&out, NULL, odb, &id, XTRK_OBJ_ANY), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "not in the store"));
	xtrk_buf_dispose(&out);
}

static int count_cb(const xtrk_odb_entry *e, void *payload)
{
	(void)e;
	(*(int *)payload)++;
	return 0;
}

Test(odb, foreach_sees_packed_and_loose)
{
	size_t n = XTRK_PACK_OBJECT_MAX + 1;
	char *big = random_bytes(n, 5);
	const void *d[] = { "one", "two", big };
	size_t len[] = { 3, 3, n };
	xtrk_oid ids[3];
	int count = 0;
	write_objects(ids, d, len, 3);
	cr_assert_eq(xtrk_odb_foreach(odb, count_cb, NULL, &count), 0);
	cr_assert_eq(count, 3);
	free(big);
}

struct par {
	xtrk_txn *t;
	int base;
};

static void *par_writer(void *arg)
{
	struct par *p = arg;
	for (int i = 0; i < 500; i++) {
		char s[64];
		xtrk_oid id;
		int len = snprintf(s, sizeof(s), "object %d", (p->base + i) % 1200);
		if (xtrk_txn_write(&id, p->t, XTRK_OBJ_BLOB, s, (size_t)len) < 0)
			return (void *)1;
	}
	return NULL;
}

Test(odb, one_transaction_from_many_threads)
{
	pthread_t th[4];
	struct par p[4];
	xtrk_txn *t;
	int count = 0;
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	for (int i = 0; i < 4; i++) {
		p[i].t = t;
		p[i].base = i * 300;
		pthread_create(&th[i], NULL, par_writer, &p[i]);
	}
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		cr_assert_null(r);
	}
	cr_assert_eq(xtrk_txn_commit(t), 0);
	xtrk_txn_free(t);
	cr_assert_eq(xtrk_odb_foreach(odb, count_cb, NULL, &count), 0);
	cr_assert_eq(count, 1200, "overlapping writes are stored once each");
}

/* Cut a buffer into chunks; the boundaries' offsets go into `cuts`. */
static size_t cdc_cuts(const xtrk_cdc *c, const unsigned char *p, size_t n, size_t *cuts, size_t max)
{
	size_t off = 0, k = 0;
	while (off < n && k < max) {
		size_t len = xtrk_cdc_cut(c, p + off, n - off);
		cr_assert(len > 0 && len <= c->max);
		cr_assert(len >= c->min || off + len == n, "a chunk shorter than the minimum before the end");
		off += len;
		cuts[k++] = off;
	}
	return k;
}

Test(odb, chunk_boundaries_survive_an_insertion)
{
	xtrk_cdc c;
	size_t n = (size_t)64 << 20, a[512], b[512], na, nb, shared = 0;
	unsigned char *p = (unsigned char *)random_bytes(n + 100, 42), *q = malloc(n + 100);

	cr_assert_eq(xtrk_cdc_init(&c, (size_t)1 << 20), 0);
	cr_assert_eq(c.min, (size_t)256 << 10);
	cr_assert_eq(c.max, (size_t)4 << 20);
	cr_assert_lt(xtrk_cdc_init(&c, 3 << 20), 0, "an average that is not a power of two");
	cr_assert_eq(xtrk_cdc_init(&c, (size_t)1 << 20), 0);
	/* The same bytes, 100 inserted a third of the way in. */
	memcpy(q, p, n / 3);
	memset(q + n / 3, 0x5a, 100);
	memcpy(q + n / 3 + 100, p + n / 3, n - n / 3);
	na = cdc_cuts(&c, p, n, a, 512);
	nb = cdc_cuts(&c, q, n + 100, b, 512);
	/* About 64 chunks of 1 MiB on average. */
	cr_assert(na > 32 && na < 128, "%zu chunks", na);
	cr_assert_eq(a[na - 1], n);
	/* Cuts before the insertion are the same; after it, the same shifted by 100. */
	for (size_t i = 0, j = 0; i < na && j < nb;) {
		size_t bj = b[j] > n / 3 ? b[j] - 100 : b[j];
		if (a[i] == bj) {
			shared++;
			i++;
			j++;
		} else if (a[i] < bj) {
			i++;
		} else {
			j++;
		}
	}
	cr_assert(shared + 2 >= na, "only %zu of %zu boundaries shared", shared, na);
	free(p);
	free(q);
}

static int count_chunk(const xtrk_oid *chunk, uint64_t size, void *payload)
{
	(void)chunk;
	cr_assert(size > 0);
	++*(size_t *)payload;
	return 0;
}

/* Write a file through the streaming writer, in pieces that do not fall on chunk boundaries. */
static void write_big(xtrk_oid *id, const char *p, size_t n)
{
	xtrk_txn *t;
	xtrk_txn_writer *w;
	cr_assert_eq(xtrk_txn_new(&t, odb), 0);
	cr_assert_eq(xtrk_txn_writer_open(&w, t, XTRK_OBJ_BLOB, "big"), 0);
	for (size_t off = 0; off < n; off += 1000003)
		cr_assert_eq(xtrk_txn_writer_write(w, p + off, n - off < 1000003 ? n - off : 1000003), 0);
	cr_assert_eq(xtrk_txn_writer_finish(id, w, NULL), 0, "%s", xtrk_error_last());
	xtrk_txn_writer_free(w);
	cr_assert_eq(xtrk_txn_commit(t), 0, "%s", xtrk_error_last());
	xtrk_txn_free(t);
}

static long long dir_bytes(const char *dir)
{
	char cmd[512];
	long long n = -1;
	FILE *f;
	snprintf(cmd, sizeof(cmd), "du -sb %s", dir);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_eq(fscanf(f, "%lld", &n), 1);
	pclose(f);
	return n;
}

Test(odb, large_file_is_chunked_and_a_new_version_adds_little)
{
	xtrk_oid id1, id2, whole;
	size_t n = (size_t)24 << 20, nchunks = 0;
	char *p = random_bytes(n, 7);
	xtrk_buf b = XTRK_BUF_INIT;
	uint64_t size;
	xtrk_otype type;
	long long before;

	cr_assert_eq(xtrk_odb_set_chunking(odb, (uint64_t)8 << 20, (size_t)1 << 20), 0);
	write_big(&id1, p, n);
	xtrk_oid_hash(&whole, p, n);
	cr_assert_eq(xtrk_oid_cmp(&id1, &whole), 0, "the file's ID is the hash of all its bytes");
	cr_assert_eq(xtrk_odb_stat(&size, &type, odb, &id1), 0);
	cr_assert_eq(size, n);
	cr_assert_eq(type, XTRK_OBJ_BLOB);
	cr_assert_eq(xtrk_odb_read(&b, NULL, odb, &id1, XTRK_OBJ_BLOB), 0, "%s", xtrk_error_last());
	cr_assert(b.size == n && !memcmp(b.ptr, p, n));
	cr_assert_eq(xtrk_odb_chunks_foreach(odb, &id1, count_chunk, &nchunks), 0);
	cr_assert(nchunks > 12 && nchunks < 48, "%zu chunks", nchunks);
	/* A second version, 1000 bytes changed in the middle: a chunk or two more, not the file again. */
	memset(p + n / 2, 0, 1000);
	before = dir_bytes("objects");
	write_big(&id2, p, n);
	cr_assert_lt(dir_bytes("objects") - before, 10 << 20);
	cr_assert_eq(xtrk_odb_read(&b, NULL, odb, &id2, XTRK_OBJ_BLOB), 0, "%s", xtrk_error_last());
	cr_assert(b.size == n && !memcmp(b.ptr, p, n));
	xtrk_buf_dispose(&b);
	free(p);
}
