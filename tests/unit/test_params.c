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
