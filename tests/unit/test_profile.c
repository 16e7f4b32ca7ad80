/* Unit tests for the data profiles' sketches (KLL quantiles, HyperLogLog) and their exact counts. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "helpers.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/profile.h"

/* A fixed pseudo-random sequence (xorshift), uniform in [0, 1). */
static uint64_t rs = 88172645463325252ull;
static double uni(void)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

static double normal(double mean)
{
	double u = uni() + 1e-12, v = uni();
	return mean + sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

Test(kll, quantiles_are_close_and_memory_is_bounded)
{
	xtrk_kll *s = xtrk_kll_new(256);
	for (int i = 0; i < 1000000; i++)
		cr_assert_eq(xtrk_kll_add(s, (double)(((long)i * 7919) % 1000000)), 0);
	cr_assert_eq(xtrk_kll_count(s), 1000000);
	/* At most k a level: about log2(n / k) levels. */
	cr_assert_leq(xtrk_kll_retained(s), 256 * 14, "%zu values kept", xtrk_kll_retained(s));
	for (double q = 0.05; q < 1; q += 0.1)
		cr_assert_leq(fabs(xtrk_kll_quantile(s, q) / 1e6 - q), 0.02, "q %g: %g", q, xtrk_kll_quantile(s, q));
	cr_assert_leq(fabs(xtrk_kll_cdf(s, 250000) - 0.25), 0.02);
	xtrk_kll_free(s);
}

Test(kll, merged_sketches_answer_for_both)
{
	xtrk_kll *a = xtrk_kll_new(256), *b = xtrk_kll_new(256);
	for (int i = 0; i < 50000; i++) {
		xtrk_kll_add(a, i);
		xtrk_kll_add(b, 50000 + i);
	}
	cr_assert_eq(xtrk_kll_merge(a, b), 0);
	cr_assert_eq(xtrk_kll_count(a), 100000);
	cr_assert_leq(fabs(xtrk_kll_quantile(a, 0.5) - 50000), 2000, "%g", xtrk_kll_quantile(a, 0.5));
	cr_assert_leq(fabs(xtrk_kll_cdf(a, 75000) - 0.75), 0.02);
	xtrk_kll_free(a);
	xtrk_kll_free(b);
}

Test(kll, ks_tells_a_shifted_normal_from_a_resample)
{
	xtrk_kll *base = xtrk_kll_new(256), *same = xtrk_kll_new(256), *shifted = xtrk_kll_new(256);
	for (int i = 0; i < 100000; i++) {
		xtrk_kll_add(base, normal(0));
		xtrk_kll_add(same, normal(0));
		xtrk_kll_add(shifted, normal(0.5));
	}
	cr_assert_lt(xtrk_kll_ks(base, same), 0.05, "%g", xtrk_kll_ks(base, same));
	/* The true statistic for a shift of half a standard deviation is about 0.197. */
	cr_assert_gt(xtrk_kll_ks(base, shifted), 0.15, "%g", xtrk_kll_ks(base, shifted));
	cr_assert_lt(xtrk_kll_ks(base, shifted), 0.25, "%g", xtrk_kll_ks(base, shifted));
	xtrk_kll_free(base);
	xtrk_kll_free(same);
	xtrk_kll_free(shifted);
}

Test(kll, json_round_trip_and_malformed_sketches)
{
	xtrk_kll *s = xtrk_kll_new(64), *back;
	json_t *j, *bad;
	for (int i = 0; i < 10000; i++)
		xtrk_kll_add(s, i);
	j = xtrk_kll_to_json(s);
	cr_assert_not_null(back = xtrk_kll_from_json(j));
	cr_assert_eq(xtrk_kll_count(back), 10000);
	cr_assert_float_eq(xtrk_kll_cdf(back, 5000), xtrk_kll_cdf(s, 5000), 1e-12);
	xtrk_kll_free(back);
	/* A level longer than k, a value that is no number, levels that are no list. */
	bad = json_deep_copy(j);
	for (int i = 0; i < 100; i++)
		json_array_append_new(json_array_get(json_object_get(bad, "levels"), 0), json_real(1));
	cr_assert_null(xtrk_kll_from_json(bad));
	json_decref(bad);
	bad = json_pack("{s:i, s:i, s:[[s]]}", "k", 64, "n", 1, "levels", "x");
	cr_assert_null(xtrk_kll_from_json(bad));
	json_decref(bad);
	bad = json_pack("{s:i, s:i, s:s}", "k", 64, "n", 1, "levels", "x");
	cr_assert_null(xtrk_kll_from_json(bad));
	json_decref(bad);
	json_decref(j);
	xtrk_kll_free(s);
}

Test(hll, distinct_counts_within_a_few_percent)
{
	static xtrk_hll h, small;
	for (uint64_t i = 0; i < 200000; i++)
		xtrk_hll_add(&h, XXH3_64bits(&i, sizeof(i)));
	for (uint64_t i = 0; i < 300; i++) {
		xtrk_hll_add(&small, XXH3_64bits(&i, sizeof(i)));
		xtrk_hll_add(&small, XXH3_64bits(&i, sizeof(i))); /* twice: counted once */
	}
	cr_assert_leq(fabs(xtrk_hll_estimate(&h) / 200000 - 1), 0.05, "%g", xtrk_hll_estimate(&h));
	cr_assert_leq(fabs(xtrk_hll_estimate(&small) / 300 - 1), 0.05, "%g", xtrk_hll_estimate(&small));
}

static json_t *profile_text(const char *name, const char *text)
{
	json_t *p = NULL;
	write_file(name, text, strlen(text));
	cr_assert_eq(xtrk_profile_file(&p, name, NULL, name), 0, "%s", xtrk_error_last());
	return p;
}

static json_t *col(json_t *p, size_t i) { return json_array_get(json_object_get(p, "columns"), i); }
static json_int_t geti(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

Test(profile, missing_values_types_and_stats_are_exact, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	json_t *p = profile_text("t.csv", "n,s,b\n1,a,true\n,NA,false\n3, a ,\nnull,b,TRUE\n5,,false\n");
	cr_assert_eq(geti(p, "rows"), 5);
	cr_assert_eq(geti(col(p, 0), "missing"), 2);
	cr_assert_eq(geti(col(p, 1), "missing"), 2);
	cr_assert_eq(geti(col(p, 2), "missing"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(col(p, 0), "type")), "number");
	cr_assert_str_eq(json_string_value(json_object_get(col(p, 1), "type")), "string");
	cr_assert_str_eq(json_string_value(json_object_get(col(p, 2), "type")), "bool");
	cr_assert_float_eq(json_real_value(json_object_get(col(p, 0), "mean")), 3.0, 1e-12);
	cr_assert_float_eq(json_real_value(json_object_get(col(p, 0), "std")), 2.0, 1e-12);
	/* " a " is "a": blanks around a field do not count. */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(col(p, 1), "top"), 0), "value")), "a");
	cr_assert_eq(geti(json_array_get(json_object_get(col(p, 1), "top"), 0), "count"), 2);
	json_decref(p);
}

Test(profile, fingerprints_are_kept_exactly_then_sampled, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	FILE *f = fopen("big.csv", "w");
	json_t *p = NULL, *fp;
	fputs("i\n", f);
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%d\n", i);
	fclose(f);
	cr_assert_eq(xtrk_profile_file(&p, "big.csv", NULL, "big.csv"), 0, "%s", xtrk_error_last());
	fp = json_object_get(p, "fingerprints");
	cr_assert(json_is_false(json_object_get(fp, "complete")));
	cr_assert_leq(strlen(json_string_value(json_object_get(fp, "hashes"))) / 16, XTRK_PROFILE_MAX_FINGERPRINTS);
	cr_assert_geq(strlen(json_string_value(json_object_get(fp, "hashes"))) / 16, XTRK_PROFILE_MAX_FINGERPRINTS / 4);
	json_decref(p);
	p = profile_text("small.csv", "i\n1\n2\n2\n3\n");
	fp = json_object_get(p, "fingerprints");
	cr_assert(json_is_true(json_object_get(fp, "complete")));
	cr_assert_eq(strlen(json_string_value(json_object_get(fp, "hashes"))), 3 * 16); /* distinct rows */
	json_decref(p);
}

Test(profile, leakage_is_counted_exactly, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	json_t *tr = profile_text("train.csv", "a,b\n1,x\n2,y\n3,z\n4,w\n"),
	       *te = profile_text("test.csv", "a,b\n9,q\n2,y\n 4 ,w\n8,y\n"), *all, *leaks = NULL;
	xtrk_leakage_names names = { "train*", "test*" };
	all = json_pack("[{s:s, s:o}, {s:s, s:o}]", "name", "train", "profile", tr, "name", "test", "profile", te);
	cr_assert_eq(xtrk_profile_leakage(&leaks, all, &names), 0);
	cr_assert_eq(json_array_size(leaks), 1);
	cr_assert_eq(geti(json_array_get(leaks, 0), "shared"), 2);
	cr_assert(json_is_true(json_object_get(json_array_get(leaks, 0), "exact")));
	cr_assert_eq(geti(json_array_get(json_object_get(json_array_get(leaks, 0), "examples"), 0), "train_line") +
			geti(json_array_get(json_object_get(json_array_get(leaks, 0), "examples"), 1), "train_line"),
		3 + 5);
	json_decref(leaks);
	json_decref(all);
	cr_assert(xtrk_leakage_name_match("test*, eval*,val*", "eval_set"));
	cr_assert(!xtrk_leakage_name_match("test*,eval*", "training"));
}

/* A .npy file of `descr` and `shape` whose data is `data` (header version 1.0, padded as numpy pads). */
static json_t *profile_npy(const char *name, const char *descr, const char *shape, const void *data, size_t len)
{
	char h[200], file[400];
	int n = snprintf(h, sizeof(h), "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
	size_t hl = (size_t)n + 1;
	json_t *p = NULL;
	while ((10 + hl) % 64)
		hl++;
	memcpy(file, "\x93NUMPY\x01\x00", 8);
	file[8] = (char)(hl & 0xff);
	file[9] = (char)(hl >> 8);
	memset(file + 10, ' ', hl);
	memcpy(file + 10, h, (size_t)n);
	file[10 + hl - 1] = '\n';
	memcpy(file + 10 + hl, data, len);
	write_file(name, file, 10 + hl + len);
	cr_assert_eq(xtrk_profile_file(&p, name, NULL, name), 0, "%s", xtrk_error_last());
	return p;
}

static double getd(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

Test(profile, npy_values_decode_exactly, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	/* Half floats: the smallest subnormal (2^-24), -2 and 65504 (the largest); and -0, one value with 0. */
	static const unsigned char f2[] = { 0x01, 0x00, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x80, 0x00, 0x00 };
	/* Big-endian i8: the smallest (-2^63) and -1; little-endian u8: 2^64 - 1 and 0. */
	static const unsigned char i8[] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char u8[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0 };
	/* Big-endian i2 -300 and little-endian i1 -128. */
	static const unsigned char i2[] = { 0xfe, 0xd4 }, i1[] = { 0x80 };
	json_t *p = profile_npy("f2.npy", "<f2", "(5,)", f2, sizeof(f2));
	cr_assert_eq(geti(p, "rows"), 5);
	cr_assert_eq(getd(col(p, 0), "min"), -2);
	cr_assert_eq(getd(col(p, 0), "max"), 65504);
	cr_assert_eq(geti(col(p, 0), "distinct"), 4, "%lld", (long long)geti(col(p, 0), "distinct"));
	json_decref(p);
	p = profile_npy("sub.npy", "<f2", "(1,)", f2, 2);
	cr_assert_eq(getd(col(p, 0), "min"), ldexp(1, -24));
	json_decref(p);
	p = profile_npy("i8.npy", ">i8", "(2,)", i8, sizeof(i8));
	cr_assert_eq(getd(col(p, 0), "min"), -9223372036854775808.0);
	cr_assert_eq(getd(col(p, 0), "max"), -1);
	json_decref(p);
	p = profile_npy("u8.npy", "<u8", "(2,)", u8, sizeof(u8));
	cr_assert_eq(getd(col(p, 0), "max"), 18446744073709551615.0);
	cr_assert_eq(getd(col(p, 0), "min"), 0);
	json_decref(p);
	p = profile_npy("i2.npy", ">i2", "(1,)", i2, sizeof(i2));
	cr_assert_eq(getd(col(p, 0), "min"), -300);
	json_decref(p);
	p = profile_npy("i1.npy", "|i1", "(1, 1)", i1, sizeof(i1));
	cr_assert_eq(getd(col(p, 0), "min"), -128);
	cr_assert_str_eq(json_string_value(json_object_get(col(p, 0), "name")), "0");
	json_decref(p);
}

/* Decimals read by the fast path are exactly the doubles strtod reads: a sketch of under k values holds them all. */
Test(profile, numbers_read_exactly_as_strtod_reads_them, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	static const char *const fixed[] = { "0.1", "-0", "+7", "5.", ".5", "123456789012345", "0.000000000000001",
		"999999999999999", "-3.1415926535897", "9007199254740993", "1e3", "0x10", "1.5e-7", NULL };
	for (int round = 0; round < 20; round++) {
		char text[200 * 40 + 8] = "x\n", *w = text + 2, vals[200][40];
		int n = 0;
		for (; round == 0 && fixed[n]; n++)
			snprintf(vals[n], sizeof(vals[n]), "%s", fixed[n]);
		for (; n < 200; n++) {
			/* 1 to 17 digits, a point anywhere in them or none, a sign sometimes. */
			int digits = 1 + (int)(uni() * 17), point = (int)(uni() * (digits + 2)) - 1, k = 0;
			if (uni() < 0.3)
				vals[n][k++] = uni() < 0.5 ? '-' : '+';
			for (int d = 0; d < digits; d++) {
				if (d == point)
					vals[n][k++] = '.';
				vals[n][k++] = (char)('0' + (int)(uni() * 10));
			}
			vals[n][k] = 0;
		}
		for (int i = 0; i < n; i++)
			w += sprintf(w, "%s\n", vals[i]);
		json_t *p = profile_text("n.csv", text);
		json_t *lv = json_array_get(json_object_get(json_object_get(col(p, 0), "sketch"), "levels"), 0);
		double want[200];
		size_t m = 0;
		for (int i = 0; i < n; i++) {
			char *end;
			double d = strtod(vals[i], &end);
			if (!*end && isfinite(d))
				want[m++] = d;
		}
		cr_assert_eq(json_array_size(lv), m, "round %d: %zu values, %zu numbers", round, json_array_size(lv), m);
		/* The sketch's level 0 holds the values as they came. */
		for (size_t i = 0; i < m; i++)
			cr_assert(json_number_value(json_array_get(lv, i)) == want[i] &&
				signbit(json_number_value(json_array_get(lv, i))) == signbit(want[i]),
				"round %d value %zu: %.17g, strtod %.17g", round, i, json_number_value(json_array_get(lv, i)), want[i]);
		json_decref(p);
	}
}

/* A compaction keeps every other value of the level in sorted order: 1, 3, 5... or 2, 4, 6... */
Test(kll, compaction_keeps_every_other_sorted_value)
{
	for (int round = 0; round < 8; round++) {
		xtrk_kll *s = xtrk_kll_new(64);
		json_t *j, *l1, *v1;
		size_t i;
		int odd = -1;
		/* 64 values in a scrambled order (37 is prime to 64): one compaction of level 0. */
		for (int v = 0; v < 64; v++)
			xtrk_kll_add(s, (double)(1 + (v * 37 + round) % 64));
		j = xtrk_kll_to_json(s);
		l1 = json_array_get(json_object_get(j, "levels"), 1);
		cr_assert_eq(json_array_size(l1), 32);
		json_array_foreach(l1, i, v1) {
			int v = (int)json_number_value(v1);
			if (odd < 0)
				odd = v & 1;
			cr_assert_eq(v & 1, odd, "round %d: level 1 holds %d with values of the other parity", round, v);
		}
		json_decref(j);
		xtrk_kll_free(s);
	}
}

/* Levels above 0 stay sorted as halves are merged into them, and the sketch still answers closely. */
Test(kll, higher_levels_stay_sorted)
{
	xtrk_kll *s = xtrk_kll_new(256);
	json_t *j, *l, *v;
	size_t h, i;
	for (int n = 0; n < 300000; n++)
		xtrk_kll_add(s, (double)((n * 7919L) % 300000));
	j = xtrk_kll_to_json(s);
	cr_assert_geq(json_array_size(json_object_get(j, "levels")), 8);
	json_array_foreach(json_object_get(j, "levels"), h, l) {
		double prev = -1;
		if (h == 0)
			continue;
		json_array_foreach(l, i, v) {
			cr_assert_geq(json_number_value(v), prev, "level %zu is not sorted at %zu", h, i);
			prev = json_number_value(v);
		}
	}
	for (double q = 0.1; q < 1; q += 0.1)
		cr_assert_leq(fabs(xtrk_kll_quantile(s, q) / 300000 - q), 0.02);
	json_decref(j);
	xtrk_kll_free(s);
}

/*
 * Lines without quotes are split without libcsv: the same file with every
 * field quoted (so that libcsv reads every line) must profile the same.
 * Blanks around fields, empty fields, CRLF, ragged rows, wide rows.
 */
Test(profile, plain_lines_read_as_libcsv_reads_them, .init = (void (*)(void))tmpdir_enter, .fini = tmpdir_leave)
{
	static const char *const words[] = { "", " ", "a", " b ", "\tc", "12", " 3.5 ", "-7", "NA", "true", "x y", NULL };
	for (int round = 0; round < 6; round++) {
		xtrk_buf plain = XTRK_BUF_INIT, quoted = XTRK_BUF_INIT;
		char delim = round % 2 ? '\t' : ',';
		int ncol = round < 4 ? 5 : 300;
		json_t *a = NULL, *b = NULL;
		for (int r = 0; r < 400; r++) {
			int n = uni() < 0.05 ? ncol + 1 : ncol; /* now and then a ragged row */
			const char *eol = uni() < 0.3 ? "\r\n" : "\n";
			for (int c = 0; c < n; c++) {
				int w = (int)(uni() * 11);
				/* a tab inside a field of a TSV file would split it: none there */
				const char *v = delim == '\t' && words[w][0] == '\t' ? "c" : words[w];
				if (r == 0)
					xtrk_buf_printf(&plain, "%sh%d", c ? (delim == ',' ? "," : "\t") : "", c);
				else
					xtrk_buf_printf(&plain, "%s%s", c ? (delim == ',' ? "," : "\t") : "", v);
				if (r == 0)
					xtrk_buf_printf(&quoted, "%s\"h%d\"", c ? (delim == ',' ? "," : "\t") : "", c);
				else
					xtrk_buf_printf(&quoted, "%s\"%s\"", c ? (delim == ',' ? "," : "\t") : "", v);
			}
			xtrk_buf_puts(&plain, eol);
			xtrk_buf_puts(&quoted, eol);
		}
		write_file(delim == ',' ? "plain.csv" : "plain.tsv", plain.ptr, plain.size);
		write_file(delim == ',' ? "quoted.csv" : "quoted.tsv", quoted.ptr, quoted.size);
		cr_assert_eq(xtrk_profile_file(&a, delim == ',' ? "plain.csv" : "plain.tsv", NULL, "f"), 0);
		cr_assert_eq(xtrk_profile_file(&b, delim == ',' ? "quoted.csv" : "quoted.tsv", NULL, "f"), 0);
		json_object_del(a, "bytes");
		json_object_del(b, "bytes");
		cr_assert(json_equal(a, b), "round %d: %s\nvs\n%s", round, json_dumps(a, JSON_COMPACT), json_dumps(b, JSON_COMPACT));
		cr_assert_gt(json_integer_value(json_object_get(a, "ragged_rows")), 0);
		json_decref(a);
		json_decref(b);
		xtrk_buf_dispose(&plain);
		xtrk_buf_dispose(&quoted);
	}
	/* Lines of blanks alone are no rows, as libcsv reads them; in a TSV a tab is a field's end, not a blank. */
	json_t *p = profile_text("blank.csv", "a,b\n1,2\n   \n\t\n\n3,4\r\n5,6\r\r\n7 , 8 \n");
	cr_assert_eq(geti(p, "rows"), 4);
	cr_assert_eq(geti(p, "ragged_rows"), 0);
	json_decref(p);
	/* A quoted field open across lines: its lines without a quote are libcsv's to read. */
	p = profile_text("multi.csv", "a,b\n\"x\nmid,dle\nend\",2\n3,4\n");
	cr_assert_eq(geti(p, "rows"), 2);
	cr_assert_eq(geti(p, "ragged_rows"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(col(p, 0), "top"), 0), "value")),
		"x\nmid,dle\nend");
	json_decref(p);
	p = profile_text("blank.tsv", "a\tb\n1\t2\n \t \n\t\n  \n3\t4\n");
	cr_assert_eq(geti(p, "rows"), 4);
	cr_assert_eq(geti(col(p, 0), "missing"), 2);
	json_decref(p);
}
