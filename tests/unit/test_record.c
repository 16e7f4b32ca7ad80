/* Unit tests for the one check of a run record's shape: every field readers rely on. */
#include "helpers.h"
#include "xtrk/errors.h"
#include "xtrk/record.h"

/* A record with every field as commit-run writes it. */
static const char *const good =
	"{\"format\":1,\"experiment\":\"exp\",\"message\":\"m\",\"parent\":null,\"author\":\"a <a@b>\","
	"\"started\":\"2026-01-01T00:00:00.123456Z\",\"ended\":\"2026-01-01T00:00:01Z\",\"duration_s\":1.0,"
	"\"status\":\"succeeded\",\"exit_code\":0,\"command\":{\"argv\":[\"python\",\"t.py\"]},"
	"\"source\":{\"repository\":\"/r\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\",\"branch\":\"main\","
	"\"dirty\":false,\"patch\":null,\"untracked\":[\"x\"],\"untracked_content\":null,\"remotes\":{}},"
	"\"params\":{\"lr\":0.1},\"params_files\":[],\"metrics\":{\"acc\":0.9},\"series\":null,\"seed\":3,"
	"\"datasets\":[{\"name\":\"d\",\"path\":\"d\",\"kind\":\"blob\",\"id\":\"5c73e7e3dcbb0395e841f27363849a18\","
	"\"files\":1,\"bytes\":2,\"source\":null}],\"models\":[],\"artifacts\":[],\"env\":{},"
	"\"logs\":{\"stdout\":null,\"stderr\":null},\"resources\":null,\"notes\":[\"n\"]}";

static json_t *rec(void)
{
	json_error_t je;
	json_t *r = json_loads(good, 0, &je);
	cr_assert(r, "%s", je.text);
	return r;
}

/* Set FIELD (top level, or "source.X", "datasets.0.X") to JSON (NULL: delete it); expect refusal naming WANT. */
static void refused(const char *field, const char *json, const char *want)
{
	json_t *r = rec(), *at = r;
	char buf[128], *dot, *key = buf;
	snprintf(buf, sizeof(buf), "%s", field);
	while ((dot = strchr(key, '.'))) {
		*dot = 0;
		at = json_is_array(at) ? json_array_get(at, (size_t)atoi(key)) : json_object_get(at, key);
		key = dot + 1;
	}
	if (json)
		json_object_set_new(at, key, json_loads(json, JSON_DECODE_ANY, NULL));
	else
		json_object_del(at, key);
	cr_assert_eq(xtrk_record_check(r), XTRK_ECORRUPT, "%s=%s accepted", field, json ? json : "(absent)");
	cr_assert(strstr(xtrk_error_last(), want), "%s=%s: '%s' does not name '%s'", field, json ? json : "(absent)",
		xtrk_error_last(), want);
	json_decref(r);
}

Test(record, a_record_as_written_is_accepted)
{
	json_t *r = rec();
	cr_assert_eq(xtrk_record_check(r), 0, "%s", xtrk_error_last());
	/* a bundle's summary adds id and tags */
	json_object_set_new(r, "id", json_string("93a576e15c77811aff745d5a3bcea9b6"));
	json_object_set_new(r, "tags", json_pack("[s]", "best"));
	json_object_set_new(r, "parent", json_string("93a576e15c77811aff745d5a3bcea9b6"));
	cr_assert_eq(xtrk_record_check(r), 0, "%s", xtrk_error_last());
	json_decref(r);
}

Test(record, started_and_ended)
{
	refused("started", NULL, "'started' is missing");
	refused("started", "5", "'started'");
	refused("started", "null", "'started'");
	refused("started", "\"yesterday\"", "'started'");
	refused("started", "\"2026-13-01T00:00:00Z\"", "'started'");
	refused("started", "\"2026-01-01T00:00:00\"", "'started'");
	refused("started", "\"2026-01-01T00:00:00.Z\"", "'started'");
	refused("started", "\"2026-01-01T00:00:00Zjunk\"", "'started'");
	refused("started", "[\"2026-01-01T00:00:00Z\"]", "'started'");
	refused("ended", "1.5", "'ended'");
	refused("ended", "\"2026-01-01 00:00:00Z\"", "'ended'");
}

Test(record, status_parent_and_ids)
{
	refused("status", NULL, "'status' is missing");
	refused("status", "\"pwned\"", "'status'");
	refused("status", "true", "'status'");
	refused("parent", "\"../../etc\"", "'parent'");
	refused("parent", "\"93A576E15C77811AFF745D5A3BCEA9B6\"", "'parent'");
	refused("parent", "\"93a576e15c77\"", "'parent'");
	refused("parent", "42", "'parent'");
	refused("id", "\"x\"", "'id'");
	refused("series", "\"zz\"", "'series'");
	refused("logs", "\"x\"", "'logs'");
	refused("format", "\"1\"", "'format'");
}

Test(record, shapes_of_values)
{
	refused("params", "[1,2]", "'params'");
	refused("params", "\"lr=1\"", "'params'");
	refused("metrics", "[]", "'metrics'");
	refused("message", "{}", "'message'");
	refused("author", "7", "'author'");
	refused("exit_code", "\"0\"", "'exit_code'");
	refused("seed", "1.5", "'seed'");
	refused("duration_s", "\"1\"", "'duration_s'");
	refused("notes", "\"n\"", "'notes'");
	refused("notes", "[1]", "'notes'");
	refused("command", "\"rm -rf\"", "'command'");
	refused("command", "{\"argv\":\"x\"}", "'command'");
	refused("env", "[]", "'env'");
	refused("error", "1", "'error'");
	refused("tags", "[\"a b\"]", "'tags'");
}

Test(record, experiment_and_source)
{
	refused("experiment", NULL, "'experiment'");
	refused("experiment", "\"../x\"", "'experiment'");
	refused("experiment", "3", "'experiment'");
	refused("source", "[]", "'source'");
	refused("source.commit", "\"abc\"", "'source.commit'");
	refused("source.branch", "1", "'source.branch'");
	refused("source.dirty", "\"no\"", "'source.dirty'");
	refused("source.untracked", "\"x\"", "'source.untracked'");
	refused("source.patch", "\"../p\"", "'source.patch'");
}

Test(record, data_entries)
{
	refused("datasets", "{}", "'datasets'");
	refused("datasets.0.kind", "\"run\"", "'datasets[0]'");
	refused("datasets.0.kind", NULL, "'datasets[0]'");
	refused("datasets.0.id", "\"nope\"", "'datasets[0]'");
	refused("datasets.0.id", NULL, "'datasets[0]'");
	refused("datasets.0.path", "\"../../x\"", "'datasets[0]'");
	refused("datasets.0.path", "\"/abs\"", "'datasets[0]'");
	refused("datasets.0.name", "1", "'datasets[0]'");
}

Test(record, timestamps)
{
	cr_assert(xtrk_record_timestamp_valid("2026-01-01T00:00:00Z"));
	cr_assert(xtrk_record_timestamp_valid("2026-12-31T23:59:60.5Z"));
	cr_assert(!xtrk_record_timestamp_valid(""));
	cr_assert(!xtrk_record_timestamp_valid(NULL));
	cr_assert(!xtrk_record_timestamp_valid("2026-01-01T24:00:00Z"));
	cr_assert(!xtrk_record_timestamp_valid("2026-01-00T00:00:00Z"));
	cr_assert(!xtrk_record_timestamp_valid("+2026-01-01T00:00:00Z"));
}

/* The visitor: every object a record names, once, in record order, with its role, type, size and label. */
struct seen {
	char line[16][160];
	int n;
};

static int collect(const xtrk_record_object *o, void *payload)
{
	struct seen *s = payload;
	cr_assert_lt(s->n, 16);
	snprintf(s->line[s->n++], sizeof(s->line[0]), "%d %s %s %d %lld %s %s", (int)o->role,
		xtrk_otype_name(o->type), o->hex ? o->hex : "-", o->is_data,
		o->bytes == XTRK_RECORD_SIZE_UNKNOWN ? -1LL : (long long)o->bytes, o->group ? o->group : "-", o->what);
	return o->type == XTRK_OBJ_TREE;
}

Test(record, every_object_a_run_names_is_visited)
{
	static const char *const text =
		"{\"experiment\":\"exp\",\"series\":\"11111111111111111111111111111111\","
		"\"logs\":{\"stdout\":\"22222222222222222222222222222222\",\"stderr\":null},"
		"\"params_files\":[{\"path\":\"p.yaml\",\"id\":\"33333333333333333333333333333333\"}],"
		"\"source\":{\"patch\":\"44444444444444444444444444444444\","
		"\"scripts\":[{\"path\":\"/s.py\",\"id\":\"55555555555555555555555555555555\",\"bytes\":7}],"
		"\"untracked_content\":{\"id\":\"66666666666666666666666666666666\"}},"
		"\"datasets\":[{\"name\":\"d\",\"kind\":\"tree\",\"id\":\"77777777777777777777777777777777\"}],"
		"\"models\":[{\"name\":\"m\",\"kind\":\"blob\",\"id\":\"88888888888888888888888888888888\",\"bytes\":9}],"
		"\"artifacts\":[{\"name\":\"a\",\"kind\":\"blob\"}]}";
	static const char *const want[] = {
		"0 run - 0 -1 - run",
		"1 blob 44444444444444444444444444444444 0 -1 - source patch",
		"2 blob 11111111111111111111111111111111 0 -1 - metric series",
		"3 blob 22222222222222222222222222222222 0 -1 - stdout log",
		"5 blob 33333333333333333333333333333333 0 -1 - params file",
		"6 blob 55555555555555555555555555555555 0 7 - script from outside the repository",
		"7 tree 66666666666666666666666666666666 0 -1 - untracked source files",
		"8 tree 77777777777777777777777777777777 1 -1 datasets dataset 'd'",
		"8 blob 88888888888888888888888888888888 1 9 models model 'm'",
		"8 blob - 1 -1 artifacts artifact 'a'",
	};
	json_t *r = json_loads(text, 0, NULL);
	struct seen s = { .n = 0 };
	xtrk_record_visitor v = { collect, NULL, &s };
	xtrk_oid run;
	cr_assert(r);
	cr_assert_eq(xtrk_oid_parse(&run, "99999999999999999999999999999999"), 0);
	cr_assert_eq(xtrk_record_foreach_object(r, &run, &v), 0);
	cr_assert_eq(s.n, (int)(sizeof(want) / sizeof(*want)));
	for (int i = 0; i < s.n; i++)
		cr_assert_str_eq(s.line[i], want[i]);
	json_decref(r);
}

static int stop_at_series(const xtrk_record_object *o, void *payload)
{
	(*(int *)payload)++;
	return o->role == XTRK_RECORD_SERIES ? XTRK_ECORRUPT : 0;
}

Test(record, a_visitor_error_stops_the_walk)
{
	json_t *r = rec();
	int calls = 0;
	xtrk_record_visitor v = { stop_at_series, NULL, &calls };
	json_object_set_new(r, "series", json_string("11111111111111111111111111111111"));
	cr_assert_eq(xtrk_record_foreach_object(r, NULL, &v), XTRK_ECORRUPT);
	cr_assert_eq(calls, 1);
	json_decref(r);
}

Test(record, the_view_and_the_groups)
{
	json_t *r = rec();
	xtrk_record_view v;
	xtrk_record_view_get(&v, r);
	cr_assert_str_eq(v.experiment, "exp");
	cr_assert_str_eq(v.status, "succeeded");
	cr_assert_str_eq(v.started, "2026-01-01T00:00:00.123456Z");
	cr_assert_str_eq(v.commit, "0123456789abcdef0123456789abcdef01234567");
	cr_assert_null(v.parent);
	cr_assert_null(v.patch);
	cr_assert_null(v.untracked);
	cr_assert_null(v.series);
	cr_assert_eq(json_array_size(v.groups[0]), 1);
	cr_assert_str_eq(xtrk_record_groups[0], "datasets");
	cr_assert_str_eq(xtrk_record_groups[1], "models");
	cr_assert_str_eq(xtrk_record_groups[2], "artifacts");
	cr_assert_str_eq(xtrk_record_str(json_array_get(v.groups[0], 0), XTRK_REC_NAME), "d");
	cr_assert_null(xtrk_record_str(r, "params"));
	json_decref(r);
}
