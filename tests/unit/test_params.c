/* Unit tests for params and metrics parsing: typing, nesting, duplicates, YAML, series. */
#include "helpers.h"
#include "xtrk/params.h"

Test(params, value_typing)
{
	json_t *v;
	v = xtrk_value_parse("0.01"); cr_assert(json_is_real(v)); json_decref(v);
	v = xtrk_value_parse("42"); cr_assert(json_is_integer(v)); cr_assert_eq(json_integer_value(v), 42); json_decref(v);
	v = xtrk_value_parse("true"); cr_assert(json_is_true(v)); json_decref(v);
	v = xtrk_value_parse("null"); cr_assert(json_is_null(v)); json_decref(v);
	v = xtrk_value_parse("adam"); cr_assert_str_eq(json_string_value(v), "adam"); json_decref(v);
	v = xtrk_value_parse("\"42\""); cr_assert_str_eq(json_string_value(v), "42"); json_decref(v);
	v = xtrk_value_parse("[1,2]"); cr_assert_eq(json_array_size(v), 2); json_decref(v);
	v = xtrk_value_parse("[1,"); cr_assert_str_eq(json_string_value(v), "[1,"); json_decref(v);
	v = xtrk_value_parse(""); cr_assert_str_eq(json_string_value(v), ""); json_decref(v);
}

Test(params, dotted_paths_nest_and_duplicates_fail)
{
	json_t *o = json_object();
	cr_assert_eq(xtrk_json_set_path(o, "opt.lr", json_real(0.1), "test"), 0);
	cr_assert_eq(xtrk_json_set_path(o, "opt.name", json_string("sgd"), "test"), 0);
	cr_assert_eq(json_real_value(json_object_get(json_object_get(o, "opt"), "lr")), 0.1);
	cr_assert_eq(xtrk_json_set_path(o, "opt.lr", json_real(0.2), "with -p"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "key 'opt.lr' given twice (with -p)"));
	cr_assert_eq(xtrk_json_set_path(o, "opt", json_integer(1), "x"), XTRK_EINVALID);
	cr_assert_eq(xtrk_json_set_path(o, "opt.lr.x", json_integer(1), "x"), XTRK_EINVALID);
	cr_assert_eq(xtrk_json_set_path(o, "a..b", json_integer(1), "x"), XTRK_EINVALID);
	json_decref(o);
}

Test(params, strict_merge)
{
	json_t *a = json_pack("{s:{s:i}}", "m", "x", 1), *b = json_pack("{s:{s:i}}", "m", "y", 2);
	json_t *c = json_pack("{s:{s:i}}", "m", "x", 3);
	cr_assert_eq(xtrk_json_merge_strict(a, b, "b"), 0);
	cr_assert_eq(json_object_size(json_object_get(a, "m")), 2);
	cr_assert_eq(xtrk_json_merge_strict(a, c, "in c.yaml"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "'m.x' given twice (in c.yaml)"));
	json_decref(a); json_decref(b); json_decref(c);
}

Test(params, flatten)
{
	json_t *n = json_pack("{s:{s:{s:i}}, s:i, s:{}}", "a", "b", "c", 1, "d", 2, "e");
	json_t *f = xtrk_json_flatten(n);
	cr_assert_eq(json_integer_value(json_object_get(f, "a.b.c")), 1);
	cr_assert_eq(json_integer_value(json_object_get(f, "d")), 2);
	cr_assert(json_is_object(json_object_get(f, "e")));
	json_decref(n); json_decref(f);
}

Test(params, yaml_core_schema_scalars)
{
	const char *y = "i: 3\nf: 2.5e-3\nt: true\nn: ~\ns: hello\nq: '12'\nv: 1.2.3\nl: [1, two]\nm: {k: v}\n";
	json_t *d;
	cr_assert_eq(xtrk_yaml_parse(&d, y, strlen(y), "t.yaml"), 0, "%s", xtrk_error_last());
	cr_assert(json_is_integer(json_object_get(d, "i")));
	cr_assert(json_is_real(json_object_get(d, "f")));
	cr_assert(json_is_true(json_object_get(d, "t")));
	cr_assert(json_is_null(json_object_get(d, "n")));
	cr_assert_str_eq(json_string_value(json_object_get(d, "s")), "hello");
	cr_assert_str_eq(json_string_value(json_object_get(d, "q")), "12");
	cr_assert_str_eq(json_string_value(json_object_get(d, "v")), "1.2.3");
	cr_assert_eq(json_array_size(json_object_get(d, "l")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "m"), "k")), "v");
	json_decref(d);
}

Test(params, yaml_errors_name_file_and_line)
{
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n", *dup = "a: 1\nb: 2\na: 3\n", *alias = "a: &x 1\nb: *x\n";
	json_t *d;
	cr_assert_eq(xtrk_yaml_parse(&d, bad, strlen(bad), "p.yaml"), XTRK_EINVALID);
	cr_assert_eq(strncmp(xtrk_error_last(), "p.yaml:", 7), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_yaml_parse(&d, dup, strlen(dup), "p.yaml"), XTRK_EINVALID);
	cr_assert_str_eq(xtrk_error_last(), "p.yaml:3: key 'a' given twice");
	cr_assert_eq(xtrk_yaml_parse(&d, alias, strlen(alias), "p.yaml"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "aliases"));
}

Test(params, doc_load_by_extension_and_top_level_mapping)
{
	json_t *d;
	tmpdir_enter();
	write_text("p.json", "{\"a\": {\"b\": 1}}");
	write_text("p.yml", "a:\n  b: 2\n");
	write_text("p.cfg", "a: 3\n");
	write_text("list.yaml", "- 1\n- 2\n");
	write_text("bad.json", "{\n\"a\": 1,\n}\n");
	cr_assert_eq(xtrk_doc_load(&d, "p.json"), 0); json_decref(d);
	cr_assert_eq(xtrk_doc_load(&d, "p.yml"), 0); json_decref(d);
	cr_assert_eq(xtrk_doc_load(&d, "p.cfg"), 0, "unknown extension: JSON, then YAML");
	cr_assert_eq(json_integer_value(json_object_get(d, "a")), 3);
	json_decref(d);
	cr_assert_eq(xtrk_doc_load(&d, "list.yaml"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "must be a mapping"));
	cr_assert_eq(xtrk_doc_load(&d, "bad.json"), XTRK_EINVALID);
	cr_assert_eq(strncmp(xtrk_error_last(), "bad.json:3:", 11), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_doc_load(&d, "none.json"), XTRK_ENOTFOUND);
	tmpdir_leave();
}

Test(params, series_finals_and_bad_lines)
{
	json_t *f;
	size_t points, bad;
	tmpdir_enter();
	write_text("s.jsonl", "{\"step\":0,\"loss\":1.0}\n\n{\"step\":1,\"loss\":0.5,\"acc\":0.7}\n");
	cr_assert_eq(xtrk_series_load(&f, &points, &bad, "s.jsonl", 0), 0);
	cr_assert_eq(points, 2);
	cr_assert_eq(json_real_value(json_object_get(f, "loss")), 0.5);
	cr_assert_eq(json_real_value(json_object_get(f, "acc")), 0.7);
	json_decref(f);
	write_text("b.jsonl", "{\"step\":0,\"loss\":1}\n{\"loss\":2}\n{\"step\":2,\"loss\":\"x\"}\n{\"step\":3,\"loss\":3}\n");
	cr_assert_eq(xtrk_series_load(&f, &points, &bad, "b.jsonl", 0), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "b.jsonl:2:"), "%s", xtrk_error_last());
	cr_assert_eq(xtrk_series_load(&f, &points, &bad, "b.jsonl", 1), 0, "lenient keeps the valid lines");
	cr_assert_eq(points, 2);
	cr_assert_eq(bad, 2);
	cr_assert_eq(json_integer_value(json_object_get(f, "loss")), 3);
	json_decref(f);
	tmpdir_leave();
}

/* `open` n times, then `middle`, then `close` n times, in a new string (free it). */
static char *nest(const char *open, size_t n, const char *middle, const char *close)
{
	xtrk_buf b = XTRK_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		xtrk_buf_puts(&b, open);
	xtrk_buf_puts(&b, middle);
	for (size_t i = 0; i < n; i++)
		xtrk_buf_puts(&b, close);
	return xtrk_buf_detach(&b);
}

static void doc_fails(const char *text, const char *name, const char *words)
{
	json_t *doc = (json_t *)1;
	cr_assert_eq(xtrk_doc_parse(&doc, text, strlen(text), name), XTRK_EINVALID, "%s parsed", name);
	cr_assert_null(doc);
	cr_assert(strstr(xtrk_error_last(), words), "%s: %s", name, xtrk_error_last());
}

Test(params, nesting_is_bounded_in_every_format)
{
	json_t *doc;
	char *t;

	/* 100,000 levels: refused with the limit named, never a crash. */
	t = nest("[", 100000, "1", "]");
	memcpy(t, "a: ", 3); /* a mapping whose value is nested 99,997 deep */
	doc_fails(t, "p.yaml", "p.yaml:1: nested more than 64 levels deep");
	doc_fails(t, "p.txt", "nested more than 64 levels deep");
	free(t);
	t = nest("{\"k\": ", 100000, "1", "}");
	doc_fails(t, "p.json", "maximum parsing depth");
	doc_fails(t, "p.yml", "nested more than 64 levels deep");
	free(t);
	/* Within jansson's own limit, but past xtrk's. */
	t = nest("{\"k\": ", 65, "1", "}");
	doc_fails(t, "p.json", "p.json nests more than 64 levels deep");
	free(t);
	/* A block mapping 65 deep names the line where it went too deep. */
	{
		xtrk_buf b = XTRK_BUF_INIT;
		for (int i = 0; i < 65; i++)
			xtrk_buf_printf(&b, "%*sk:\n", i, "");
		xtrk_buf_printf(&b, "%*sk: 1\n", 65, "");
		doc_fails(b.ptr, "p.yaml", "p.yaml:65: nested more than 64 levels deep");
		xtrk_buf_dispose(&b);
	}
	/* 64 levels (the mapping at the top is one) are kept, in both formats. */
	t = nest("{\"k\": ", 64, "1", "}");
	cr_assert_eq(xtrk_doc_parse(&doc, t, strlen(t), "p.json"), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_json_check_depth(doc, 64, "x"), 0);
	cr_assert_eq(xtrk_json_check_depth(doc, 63, "x"), XTRK_EINVALID);
	json_decref(doc);
	cr_assert_eq(xtrk_doc_parse(&doc, t, strlen(t), "p.yaml"), 0, "%s", xtrk_error_last());
	json_decref(doc);
	free(t);
	doc = json_integer(1);
	cr_assert_eq(xtrk_json_check_depth(doc, 0, "x"), 0);
	json_decref(doc);
}

Test(params, dotted_keys_and_their_values_are_bounded)
{
	json_t *o = json_object();
	xtrk_buf key = XTRK_BUF_INIT;

	for (int i = 0; i < 64; i++)
		xtrk_buf_puts(&key, i ? ".k" : "k");
	cr_assert_eq(xtrk_json_set_path(o, key.ptr, json_integer(1), "with -p"), 0, "%s", xtrk_error_last());
	xtrk_buf_puts(&key, ".k");
	cr_assert_eq(xtrk_json_set_path(o, key.ptr, json_integer(1), "with -p"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "(with -p) nests more than 64 levels deep"), "%s", xtrk_error_last());
	for (int i = 0; i < 100000; i++)
		xtrk_buf_puts(&key, ".k");
	cr_assert_eq(xtrk_json_set_path(o, key.ptr, json_integer(1), "with -p"), XTRK_EINVALID);
	/* key levels and value levels add up */
	cr_assert_eq(xtrk_json_set_path(o, "a.b", xtrk_value_parse("{\"c\": [[1]]}"), "x"), 0);
	xtrk_buf_clear(&key);
	for (int i = 0; i < 60; i++)
		xtrk_buf_puts(&key, i ? ".v" : "v");
	cr_assert_eq(xtrk_json_set_path(o, key.ptr, xtrk_value_parse("[[[[1]]]]"), "x"), 0);
	xtrk_buf_puts(&key, "w");
	cr_assert_eq(xtrk_json_set_path(o, key.ptr, xtrk_value_parse("[[[[[1]]]]]"), "x"), XTRK_EINVALID);
	xtrk_buf_dispose(&key);
	json_decref(o);
}

Test(params, numbers_too_large_are_refused_naming_the_key)
{
	json_t *doc, *v, *o = json_object();
	const char *ok = "a: .inf\nb: -.Inf\nc: .nan\nd: 1e-400\ne: '1e400'\n";

	doc_fails("lr: 1e400\nbatch: 32\n", "p.yaml", "p.yaml:1: 'lr': 1e400 is too large a number");
	doc_fails("batch: 32\nlr: -1e400\n", "p.yaml", "p.yaml:2: 'lr': -1e400 is too large");
	doc_fails("n: 99999999999999999999\n", "p.yaml", "'n': 99999999999999999999 is too large");
	doc_fails("m:\n  loss: [1, 2e999]\n", "m.yaml", "m.yaml:2: 'loss': 2e999 is too large");
	doc_fails("[1e400]\n", "m.yaml", "1e400 is too large");
	doc_fails("{\"lr\": 1e400}", "p.json", "real number overflow");
	doc_fails("{\"lr\": 1e400}", "p.conf", "real number overflow");
	/* what JSON cannot hold as a number stays text; underflow is zero, as in JSON */
	cr_assert_eq(xtrk_doc_parse(&doc, ok, strlen(ok), "p.yaml"), 0, "%s", xtrk_error_last());
	cr_assert_str_eq(json_string_value(json_object_get(doc, "a")), ".inf");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "b")), "-.Inf");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "c")), ".nan");
	cr_assert(json_is_real(json_object_get(doc, "d")));
	cr_assert_eq(json_real_value(json_object_get(doc, "d")), 0.0);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "e")), "1e400");
	json_decref(doc);
	/* on the command line */
	cr_assert_null(xtrk_value_parse("1e400"));
	cr_assert(strstr(xtrk_error_last(), "1e400 is too large a number"));
	cr_assert_null(xtrk_value_parse("-1e400"));
	cr_assert_null(xtrk_value_parse("[1, 1e999]"));
	cr_assert_null(xtrk_value_parse("123456789012345678901234567890"));
	cr_assert_eq(xtrk_json_set_path(o, "lr", xtrk_value_parse("1e400"), "with -p"), XTRK_EINVALID);
	cr_assert(strstr(xtrk_error_last(), "key 'lr' (with -p): 1e400 is too large a number"), "%s", xtrk_error_last());
	cr_assert_eq(json_object_size(o), 0);
	v = xtrk_value_parse("nan"); cr_assert_str_eq(json_string_value(v), "nan"); json_decref(v);
	v = xtrk_value_parse("inf"); cr_assert_str_eq(json_string_value(v), "inf"); json_decref(v);
	v = xtrk_value_parse("1e308"); cr_assert(json_is_real(v)); json_decref(v);
	json_decref(o);
}
