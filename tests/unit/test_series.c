/* Unit tests for step series read back (checked, merged by step) and for the terminal chart. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "xtrk/errors.h"
#include "xtrk/series.h"

static xtrk_series *parse_ok(const char *text)
{
	xtrk_series *s = NULL;
	cr_assert_eq(xtrk_series_parse(&s, text, strlen(text), "test"), 0, "%s", xtrk_error_last());
	return s;
}

static double at(const xtrk_series *s, size_t row, const char *key)
{
	long k = xtrk_series_key(s, key);
	cr_assert_geq(k, 0, "no key %s", key);
	return s->values[row * s->nkeys + (size_t)k];
}

Test(series, lines_are_merged_by_step_in_step_order)
{
	xtrk_series *s = parse_ok("{\"step\": 10, \"loss\": 0.5}\n"
				  "{\"step\": 0, \"loss\": 1.0, \"acc\": 0.1}\n"
				  "\n"
				  "{\"step\": 10, \"acc\": 0.9}\n"
				  "{\"step\": 10, \"loss\": 0.25}"); /* no final newline; the later loss of step 10 wins */
	cr_assert_eq(s->nsteps, 2);
	cr_assert_eq(s->nkeys, 2);
	cr_assert_str_eq(s->keys[0], "loss");
	cr_assert_str_eq(s->keys[1], "acc");
	cr_assert_eq(s->steps[0], 0);
	cr_assert_eq(s->steps[1], 10);
	cr_assert_eq(at(s, 0, "loss"), 1.0);
	cr_assert_eq(at(s, 1, "loss"), 0.25);
	cr_assert_eq(at(s, 1, "acc"), 0.9);
	cr_assert_eq(s->bad_lines, 0);
	cr_assert_eq(xtrk_series_key(s, "nope"), -1);
	xtrk_series_free(s);
}

Test(series, a_step_without_a_metric_is_missing_not_zero)
{
	xtrk_series *s = parse_ok("{\"step\": 1, \"a\": 1}\n{\"step\": 2, \"b\": 2}\n");
	cr_assert(isnan(at(s, 0, "b")));
	cr_assert(isnan(at(s, 1, "a")));
	xtrk_series_free(s);
}

Test(series, malformed_lines_are_left_out_and_counted)
{
	const char *bad[] = {
		"{\"step\": 3, \"loss\": \"high\"}",     /* not a number */
		"{\"step\": -1, \"loss\": 1}",           /* negative step */
		"{\"step\": 1.5, \"loss\": 1}",          /* not an integer */
		"{\"loss\": 1}",                         /* no step */
		"[1, 2]",                                /* not an object */
		"{\"step\": 4, \"loss\": 1",             /* cut short */
		"{\"step\": 99999999999999999999, \"x\": 1}", /* a step beyond 64 bits */
		"{\"step\": 5, \"x\": 1e999}",           /* a value beyond a double */
		"{\"step\": 5, \"x\": NaN}",             /* not JSON */
		"{\"step\": 5, \"x\": 1, \"x\": 2}",     /* a key twice */
		"{\"step\": 6, \"x\": true}",            /* a bool */
		"{\"step\": 7, \"x\": null}",            /* a null */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		xtrk_buf text = XTRK_BUF_INIT;
		xtrk_series *s;
		xtrk_buf_printf(&text, "{\"step\": 0, \"x\": 1}\n%s\n{\"step\": 9, \"x\": 2}\n", bad[i]);
		s = parse_ok(text.ptr);
		cr_assert_eq(s->bad_lines, 1, "%s", bad[i]);
		cr_assert_eq(s->nsteps, 2, "%s", bad[i]);
		cr_assert_not_null(s->first_bad);
		cr_assert(!strncmp(s->first_bad, "line 2:", 7), "%s: %s", bad[i], s->first_bad);
		xtrk_series_free(s);
		xtrk_buf_dispose(&text);
	}
}

Test(series, nothing_valid_too_long_or_too_many_is_refused)
{
	xtrk_series *s = NULL;
	xtrk_buf text = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_series_parse(&s, "", 0, "run x"), XTRK_EINVALID);
	cr_assert_eq(xtrk_series_parse(&s, "garbage\n{]\n", 11, "run x"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "run x") != NULL, "%s", xtrk_error_last());
	cr_assert(strstr(xtrk_error_last(), "line 1") != NULL, "%s", xtrk_error_last());
	cr_assert_null(s);
	/* A line over the limit, with no newline in it. */
	xtrk_buf_puts(&text, "{\"step\": 1, \"x\": 1}\n{\"step\": 2, \"pad\": \"");
	for (size_t i = 0; i < XTRK_SERIES_MAX_LINE; i += 8)
		xtrk_buf_puts(&text, "aaaaaaaa");
	cr_assert_eq(xtrk_series_parse(&s, text.ptr, text.size, "run y"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "line 2 is longer") != NULL, "%s", xtrk_error_last());
	/* More metrics than allowed. */
	xtrk_buf_clear(&text);
	for (int i = 0; i <= XTRK_SERIES_MAX_KEYS; i++)
		xtrk_buf_printf(&text, "{\"step\": %d, \"m%d\": 1}\n", i, i);
	cr_assert_eq(xtrk_series_parse(&s, text.ptr, text.size, "run z"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "more than") != NULL, "%s", xtrk_error_last());
	xtrk_buf_dispose(&text);
}

Test(series, the_line_check_is_the_one_recording_uses)
{
	json_t *obj;
	char why[200];
	cr_assert_eq(xtrk_series_line(&obj, "  \r\n", 4, why, sizeof(why)), 1);
	cr_assert_eq(xtrk_series_line(&obj, "{\"step\": 1, \"a\": 2}", 19, why, sizeof(why)), 0);
	json_decref(obj);
	cr_assert_eq(xtrk_series_line(&obj, "{\"step\": 1, \"a\": \"b\"}", 21, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "value of 'a' is not a number");
	/* The length bounds the read: what follows is not looked at. */
	cr_assert_eq(xtrk_series_line(&obj, "   {", 3, why, sizeof(why)), 1);
}

/* ---- the chart ---- */

static char *render(const xtrk_chart_line *lines, size_t n, int w, int h)
{
	xtrk_buf out = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_chart_render(&out, lines, n, w, h), 0);
	return xtrk_buf_detach(&out);
}

static size_t count(const char *hay, const char *needle)
{
	size_t c = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		c++;
	return c;
}

static const char *line_of(const char *text, int k, char *buf, size_t len)
{
	const char *p = text;
	for (int i = 0; i < k && p; i++)
		if ((p = strchr(p, '\n')))
			p++;
	cr_assert_not_null(p);
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	return buf;
}

Test(chart, a_rising_line_goes_from_bottom_left_to_top_right)
{
	int64_t steps[] = { 0, 50, 100 };
	double values[] = { 0.5, 1.5, 2.5 };
	xtrk_chart_line l = { steps, values, 3, 1, "run-a" };
	char *c = render(&l, 1, 21, 5), row[512];
	/* Row 0 holds the max label and a point at the far right; the last plot row the min and the first column. */
	line_of(c, 0, row, sizeof(row));
	cr_assert(!strncmp(row, "2.5 ┤", strlen("2.5 ┤")), "%s", c);
	cr_assert(strstr(row, "●") == row + strlen(row) - strlen("●"), "%s", c);
	line_of(c, 4, row, sizeof(row));
	cr_assert_str_eq(row, "0.5 ┤●", "%s", c);
	line_of(c, 2, row, sizeof(row));
	cr_assert(strstr(row, "●") != NULL, "%s", c); /* the middle value in the middle row */
	line_of(c, 5, row, sizeof(row));
	cr_assert(!strncmp(row, "    └", strlen("    └")), "%s", c);
	cr_assert_eq(count(row, "─"), 21, "%s", c);
	line_of(c, 6, row, sizeof(row));
	cr_assert(strstr(row, " 0 ") && strstr(row, "100  step"), "%s", c);
	cr_assert(strstr(c, "  ● run-a\n") != NULL, "%s", c);
	cr_assert_eq(count(c, "●"), 4, "%s", c); /* three points and the legend */
	free(c);
}

Test(chart, each_line_has_its_glyph_and_a_legend)
{
	int64_t s1[] = { 0, 10 }, s2[] = { 0, 10 };
	double v1[] = { 1, 2 }, v2[] = { 3, 4 };
	xtrk_chart_line l[3] = { { s1, v1, 2, 1, "first" }, { s2, v2, 2, 1, "second" }, { NULL, NULL, 0, 1, "third" } };
	char *c = render(l, 3, 30, 6);
	cr_assert_eq(count(c, "●"), 3, "%s", c); /* two points and the legend */
	cr_assert_eq(count(c, "○"), 3, "%s", c);
	cr_assert(strstr(c, "  ● first\n") && strstr(c, "  ○ second\n"), "%s", c);
	cr_assert(strstr(c, "  ◆ third (no points)\n") != NULL, "%s", c);
	cr_assert(!strncmp(c, "4 ┤", strlen("4 ┤")), "%s", c);
	free(c);
}

Test(chart, a_single_point_and_constant_values_sit_in_the_middle)
{
	int64_t one[] = { 7 }, three[] = { 1, 2, 3 };
	double v1[] = { 42 }, flat[] = { 5, 5, 5 };
	xtrk_chart_line a = { one, v1, 1, 1, "one" }, b = { three, flat, 3, 1, "flat" };
	char *c = render(&a, 1, 11, 5), row[256];
	line_of(c, 2, row, sizeof(row)); /* (5 - 1) / 2 */
	cr_assert_str_eq(row, "42 ┤     ●", "%s", c);
	cr_assert_eq(count(c, "42"), 1, "%s", c);
	line_of(c, 6, row, sizeof(row));
	cr_assert(strstr(row, "7  step") != NULL, "%s", c);
	free(c);
	c = render(&b, 1, 11, 5);
	line_of(c, 2, row, sizeof(row));
	cr_assert_str_eq(row, "5 ┤●    ●    ●", "%s", c);
	line_of(c, 0, row, sizeof(row));
	cr_assert_str_eq(row, "  │", "%s", c);
	free(c);
}

Test(chart, extreme_values_and_steps_stay_inside)
{
	int64_t steps[] = { 0, INT64_MAX / 2, INT64_MAX };
	double values[] = { -1.7e308, 0, 1.7e308 };
	double with_nan[] = { NAN, 1, NAN };
	xtrk_chart_line l = { steps, values, 3, 1, "wide" }, m = { steps, with_nan, 3, 1, "gaps" };
	char *c = render(&l, 1, 10, 2);
	cr_assert_eq(count(c, "●"), 4, "%s", c); /* three points and the legend */
	cr_assert(strstr(c, "9223372036854775807  step") != NULL, "%s", c);
	free(c);
	c = render(&m, 1, 10, 3);
	cr_assert_eq(count(c, "●"), 2, "%s", c); /* one point (the NANs are not drawn) and the legend */
	free(c);
	c = render(&m, 1, 1, 0); /* too small: raised to 10 by 2 */
	cr_assert_eq(count(c, "─"), 10, "%s", c);
	free(c);
}

Test(chart, a_stride_reads_one_column_of_a_table)
{
	int64_t steps[] = { 0, 1 };
	double table[] = { 1, 100, 2, 200 }; /* two metrics per step */
	xtrk_chart_line l = { steps, table + 1, 2, 2, "second column" };
	char *c = render(&l, 1, 10, 3);
	cr_assert(!strncmp(c, "200 ┤", strlen("200 ┤")), "%s", c);
	cr_assert(strstr(c, "100 ┤") != NULL, "%s", c);
	free(c);
}

Test(chart, no_points_at_all)
{
	xtrk_chart_line l = { NULL, NULL, 0, 1, "empty" };
	char *c = render(&l, 1, 20, 4);
	cr_assert_str_eq(c, "(no points to draw)\n  ● empty (no points)\n");
	free(c);
}

/*
 * The direct reading of common lines must agree exactly with the full JSON reading
 * (xtrk_series_line): each line alone, parsed, against what the JSON reading of it gives.
 */
static void expect_as_json_reads(const char *line)
{
	char why[300];
	json_t *obj = NULL;
	xtrk_series *s = NULL;
	int rc = xtrk_series_line(&obj, line, strlen(line), why, sizeof(why));
	int err = xtrk_series_parse(&s, line, strlen(line), "t");
	size_t metrics = 0;
	const char *k;
	json_t *v;

	if (rc != 0) {
		cr_expect(err < 0 || (s && s->bad_lines == 1), "'%s' is refused by the JSON reading", line);
		xtrk_series_free(s);
		xtrk_error_clear();
		return;
	}
	json_object_foreach(obj, k, v)
		metrics += strcmp(k, "step") != 0;
	if (!metrics) {
		cr_expect(err < 0, "'%s' has no values", line);
	} else {
		cr_assert_eq(err, 0, "'%s': %s", line, xtrk_error_last());
		cr_expect_eq(s->bad_lines, 0, "'%s'", line);
		cr_expect_eq(s->nsteps, 1, "'%s'", line);
		cr_expect_eq(s->steps[0], json_integer_value(json_object_get(obj, "step")), "'%s'", line);
		cr_expect_eq(s->nkeys, metrics, "'%s'", line);
		json_object_foreach(obj, k, v) {
			if (!strcmp(k, "step"))
				continue;
			long c = xtrk_series_key(s, k);
			cr_assert_geq(c, 0, "'%s': %s", line, k);
			double want = json_number_value(v), got = s->values[c];
			cr_expect(memcmp(&want, &got, sizeof(got)) == 0, "'%s': %s is %.17g, not %.17g", line, k, got, want);
		}
	}
	xtrk_series_free(s);
	json_decref(obj);
	xtrk_error_clear();
}

Test(series, the_direct_reading_agrees_with_the_json_reading)
{
	static const char *const lines[] = {
		"{\"step\": 3, \"loss\": 0.12345678901234567, \"acc\": 1e-3}",
		"  {\"step\":0,\"a\":-0,\"b\":-0.0,\"c\":0}  ",
		"{\"loss\": 2.5, \"step\": 7}",
		"{\"step\": 1, \"big\": 123456789012345678, \"bigger\": 1234567890123456789}",
		"{\"step\": 1, \"huge\": 12345678901234567890}",
		"{\"step\": 1, \"over\": 1e400}",
		"{\"step\": 1, \"under\": 1e-400}",
		"{\"step\": 1, \"sub\": 4.9e-324, \"max\": 1.7976931348623157e308}",
		"{\"step\": 01, \"a\": 1}",
		"{\"step\": 1, \"a\": 01}",
		"{\"step\": 1, \"a\": 1.}",
		"{\"step\": 1, \"a\": .5}",
		"{\"step\": 1, \"a\": 1e}",
		"{\"step\": 1, \"a\": +1}",
		"{\"step\": 1.0, \"a\": 1}",
		"{\"step\": -1, \"a\": 1}",
		"{\"step\": -0, \"a\": 1}",
		"{\"step\": 1e2, \"a\": 1}",
		"{\"step\": 9223372036854775807, \"a\": 1}",
		"{\"step\": 99999999999999999999, \"a\": 1}",
		"{\"step\": 1, \"a\": 1, \"a\": 2}",
		"{\"step\": 1, \"step\": 2, \"a\": 1}",
		"{\"step\": 1, \"lo\\u0073s\": 1, \"loss\": 2}",
		"{\"step\": 1, \"a\\\"b\": 1}",
		"{\"step\": 1, \"caf\xc3\xa9\": 1}",
		"{\"step\": 1, \"bad\xff\": 1}",
		"{\"step\": 1, \"a\": 1,}",
		"{\"step\": 1, \"a\": 1} x",
		"{\"step\": 1, \"a\": 1}}",
		"{\"step\": 1, \"a\": true}",
		"{\"step\": 1, \"a\": null}",
		"{\"step\": 1, \"a\": \"1\"}",
		"{\"step\": 1, \"a\": [1]}",
		"{\"step\": 1}",
		"{}",
		"[1, 2]",
		"{\"step\"\t:\r1 ,  \"a\" : 2 }",
		"{\"step\": 1, \"\": 5}",
		"{\"step\": 1, \"a\": 1e+5, \"b\": 1E-5, \"c\": -1.5e+300}",
		"{\"step\": 1, \"a\": 0.1, \"b\": 0.30000000000000004, \"c\": 2.2250738585072011e-308}",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		expect_as_json_reads(lines[i]);
	/* 17 names: more than are read directly */
	char many[1024] = "{\"step\": 2";
	for (int k = 0; k < 17; k++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ", \"m%d\": %d.5", k, k);
	strcat(many, "}");
	expect_as_json_reads(many);
}

Test(series, lines_out_of_order_or_repeated_are_merged_as_before)
{
	xtrk_series *s = parse_ok("{\"step\": 2, \"b\": 1, \"a\": 2}\n{\"step\": 1, \"a\": 3}\n"
				  "{\"a\": 4, \"step\": 2}\n{\"step\": 1, \"b\": 5, \"a\": 6}\n");
	cr_assert_eq(s->nsteps, 2);
	cr_expect_eq(s->steps[0], 1);
	cr_expect_eq(at(s, 0, "a"), 6);
	cr_expect_eq(at(s, 0, "b"), 5);
	cr_expect_eq(at(s, 1, "a"), 4);
	cr_expect_eq(at(s, 1, "b"), 1);
	xtrk_series_free(s);
}
