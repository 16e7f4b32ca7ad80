/* Unit tests for number text and the JSON writer: shortest round-trip reals, jansson's layout otherwise. */
#include <math.h>

#include "helpers.h"
#include "xtrk/json.h"

static void expect_text(double v, const char *want)
{
	char out[XTRK_DOUBLE_BUFSZ];
	size_t n = xtrk_double_format(out, v);
	cr_assert_str_eq(out, want, "%.17g printed as %s, want %s", v, out, want);
	cr_assert_eq(n, strlen(want));
}

Test(json, double_shortest_text)
{
	expect_text(0.1, "0.1");
	expect_text(0.07018546015024185, "0.07018546015024185");
	expect_text(123456789.123456789, "123456789.12345679");
	expect_text(1e22, "1e22");
	expect_text(1e-300, "1e-300");
	expect_text(1e-5, "1e-5");
	expect_text(-2.5e-7, "-2.5e-7");
	expect_text(3, "3");
	expect_text(-0.0, "-0");
	expect_text(0.1 + 0.2, "0.30000000000000004");
	expect_text(1.7976931348623157e308, "1.7976931348623157e308");
	expect_text(5e-324, "4.94065645841247e-324"); /* 15 digits already read back */
	expect_text(NAN, "nan");
	expect_text(-INFINITY, "-inf");
}

Test(json, double_text_reads_back)
{
	/* A spread of doubles, bits scattered: each text reads back as the same double, in at most 17 digits. */
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < 200000; i++) {
		double v, back;
		char out[XTRK_DOUBLE_BUFSZ];
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&v, &x, sizeof(v));
		if (!isfinite(v))
			continue;
		xtrk_double_format(out, v);
		back = strtod(out, NULL);
		cr_assert(memcmp(&back, &v, sizeof(v)) == 0, "%s does not read back as %a", out, v);
	}
}

static void expect_same_as_jansson(json_t *v, size_t flags)
{
	char *ours = xtrk_json_dumps(v, flags), *theirs = json_dumps(v, flags);
	cr_assert_not_null(ours);
	cr_assert_not_null(theirs);
	cr_assert_str_eq(ours, theirs, "flags %#zx:\n%s\nvs jansson's\n%s", flags, ours, theirs);
	free(ours);
	free(theirs);
}

Test(json, layout_matches_jansson)
{
	char all[128];
	json_t *doc;
	for (int i = 0; i < 127; i++)
		all[i] = (char)(i + 1);
	all[127] = '\0';
	doc = json_pack("{s:s, s:i, s:b, s:n, s:[], s:{}, s:[i, s, {s:[s]}], s:{s:{s:i}}, s:s%, s:b}", "z", all, "a",
		-42, "t", 1, "nothing", "empty_a", "empty_o", "list", 1, "x/y", "in", "deep", "nest", "b", "c", 7,
		"nul", "a\0b", (size_t)3, "f", 0);
	cr_assert_not_null(doc);
	json_object_set_new(doc, "k\"ey\n", json_string("é ✓ 😀"));
	json_object_set_new(doc, "big", json_integer(-9223372036854775807LL - 1));
	size_t flags[] = { 0, JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(4) | JSON_COMPACT, XTRK_JSON_STORE,
		XTRK_JSON_PRETTY, JSON_SORT_KEYS | JSON_ESCAPE_SLASH, JSON_INDENT(1) };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		expect_same_as_jansson(doc, flags[i]);
	json_decref(doc);

	doc = json_string("just a \"string\"");
	expect_same_as_jansson(doc, JSON_ENCODE_ANY);
	cr_assert_null(xtrk_json_dumps(doc, 0), "a scalar needs JSON_ENCODE_ANY, as with json_dumps");
	json_decref(doc);
}

Test(json, reals_are_shortest_and_stay_reals)
{
	json_t *doc = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:i}", "a", 0.1, "b", 0.07018546015024185, "c", 1e22,
		"d", 2.0, "e", -0.0, "f", 1e-300, "g", 2);
	json_t *back;
	char *s = xtrk_json_dumps(doc, XTRK_JSON_STORE | JSON_REAL_PRECISION(15));
	cr_assert_str_eq(s, "{\"a\":0.1,\"b\":0.07018546015024185,\"c\":1e22,\"d\":2.0,\"e\":-0.0,\"f\":1e-300,\"g\":2}");
	back = json_loads(s, 0, NULL);
	cr_assert(json_equal(back, doc), "the text reads back as the same values, reals as reals");
	json_decref(back);
	free(s);
	json_decref(doc);
}

Test(json, buf_put_double_appends)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_buf_puts(&b, "lr=");
	cr_assert_eq(xtrk_buf_put_double(&b, 0.07018546015024185), 0);
	cr_assert_str_eq(b.ptr, "lr=0.07018546015024185");
	xtrk_buf_dispose(&b);
}
