/* Unit tests for object IDs: XXH3-128 in xxhsum's canonical hex. */
#include "helpers.h"
#include "xtrk/oid.h"

Test(oid, matches_xxhsum_for_known_input)
{
	xtrk_oid id;
	char hex[33];
	/* `printf hello | xxhsum -H2` */
	xtrk_oid_hash(&id, "hello", 5);
	xtrk_oid_fmt(hex, &id);
	cr_assert_str_eq(hex, "b5e9c1ad071b3e7fc779cfaa5e523818");
	/* `xxhsum -H2 /dev/null` */
	xtrk_oid_hash(&id, "", 0);
	cr_assert_str_eq(xtrk_oid_tostr(&id), "99aa06d3014798d86001c324468d497f");
}

Test(oid, streaming_equals_one_shot)
{
	size_t n = 3 * 1024 * 1024 + 17;
	char *data = random_bytes(n, 42);
	xtrk_oid a, b;
	xtrk_hasher *h = xtrk_hasher_new();
	xtrk_oid_hash(&a, data, n);
	for (size_t off = 0; off < n;) {
		size_t chunk = (off * 7 + 1000) % 70001 + 1;
		if (chunk > n - off)
			chunk = n - off;
		xtrk_hasher_update(h, data + off, chunk);
		off += chunk;
	}
	xtrk_hasher_final(&b, h);
	cr_assert_eq(xtrk_oid_cmp(&a, &b), 0);
	xtrk_hasher_free(h);
	free(data);
}

Test(oid, parse_roundtrip_and_case)
{
	xtrk_oid id;
	cr_assert_eq(xtrk_oid_parse(&id, "B5E9C1AD071B3E7FC779CFAA5E523818"), 0);
	cr_assert_str_eq(xtrk_oid_tostr(&id), "b5e9c1ad071b3e7fc779cfaa5e523818");
}

Test(oid, parse_rejects_bad_input)
{
	xtrk_oid id;
	cr_assert_eq(xtrk_oid_parse(&id, "b5e9"), XTRK_EINVALID);
	cr_assert_eq(xtrk_oid_parse(&id, "g5e9c1ad071b3e7fc779cfaa5e523818"), XTRK_EINVALID);
	cr_assert_eq(xtrk_oid_parse(&id, "b5e9c1ad071b3e7fc779cfaa5e5238180"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "not a 32-digit object ID"));
}
