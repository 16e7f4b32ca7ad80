/* The CI gate (xtrk/gate.h): rules in, verdicts out. */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xtrk/errors.h"
#include "xtrk/gate.h"
#include "xtrk/params.h"
#include "xtrk/profile.h"
#include "xtrk/query.h"
#include "xtrk/record.h"
#include "xtrk/revision.h"
#include "xtrk/run.h"
#include "xtrk/stages.h"

/* ---------------------------------------------------------- baseline ---- */

/* The run of `experiment` currently in `stage`, the one moved there last; 0 when none is. */
static int stage_base(xtrk_oid *out, xtrk_repo *repo, const char *experiment, const char *stage)
{
	json_t *all = NULL, *v;
	const char *hex;
	char best_time[40] = "";
	int err, found = 0;

	if ((err = xtrk_stage_name_check(stage)) < 0)
		return err;
	if ((err = xtrk_stages_all(&all, repo)) < 0)
		return err;
	json_object_foreach(all, hex, v) {
		xtrk_oid id;
		json_t *rec = NULL;
		xtrk_stage_rec *recs = NULL;
		size_t n = 0;
		const char *exp;
		if (!json_is_string(v) || strcmp(json_string_value(v), stage) || xtrk_oid_parse(&id, hex) < 0)
			continue;
		if (xtrk_run_read(&rec, repo, &id) < 0) { /* a removed or unreadable run is no baseline */
			xtrk_error_clear();
			continue;
		}
		exp = xtrk_record_str(rec, XTRK_REC_EXPERIMENT);
		if (exp && experiment && !strcmp(exp, experiment) && xtrk_stages_list(&recs, &n, repo, &id, 1) == 0) {
			for (size_t i = n; i-- > 0;)
				if (recs[i].kind == XTRK_STAGE_MOVE) {
					/* Later move wins; equal times: the larger ID, so the choice is stable. */
					int c = strcmp(recs[i].time, best_time);
					if (!found || c > 0 || (c == 0 && xtrk_oid_cmp(&id, out) > 0)) {
						*out = id;
						snprintf(best_time, sizeof(best_time), "%s", recs[i].time);
						found = 1;
					}
					break;
				}
			xtrk_stages_free(recs, n);
		}
		xtrk_error_clear();
		json_decref(rec);
	}
	json_decref(all);
	return found;
}

int xtrk_gate_base(xtrk_oid *out, xtrk_repo *repo, const json_t *rec, const char *against)
{
	xtrk_buf conf = XTRK_BUF_INIT;
	const char *exp = xtrk_record_str(rec, XTRK_REC_EXPERIMENT);
	int err;

	if (!against) {
		if (xtrk_repo_config_string(&conf, repo, "gate.against") < 0) {
			xtrk_error_clear();
			xtrk_buf_dispose(&conf);
			return 0;
		}
		against = conf.ptr ? conf.ptr : "";
	}
	if (!*against) {
		err = xtrk_error_set(XTRK_EINVALID, "an empty baseline names no run");
		goto done;
	}
	if (!strncmp(against, "stage:", 6)) {
		if ((err = stage_base(out, repo, exp, against + 6)) == 0)
			err = xtrk_error_set(XTRK_ENOTFOUND, "no run of experiment '%s' is in stage '%s': there is no baseline",
				exp ? exp : "", against + 6);
		goto done;
	}
	if ((err = xtrk_run_resolve(out, repo, against)) == 0) {
		err = 1;
		goto done;
	}
	if (err != XTRK_ENOTFOUND)
		goto done;
	xtrk_error_clear();
	if (xtrk_stage_name_check(against) < 0) {
		xtrk_error_clear();
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' names no run: there is no baseline", against);
		goto done;
	}
	if ((err = stage_base(out, repo, exp, against)) == 0)
		err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' names no run, and no run of experiment '%s' is in stage '%s': "
			"there is no baseline", against, exp ? exp : "", against);
done:
	xtrk_buf_dispose(&conf);
	return err;
}

/* ------------------------------------------------------------ rules ---- */

struct gate {
	xtrk_repo *repo;
	json_t *rules;      /* [{rule, kind, ok, message}] */
	int failed;
	json_t *metrics;    /* the run's, flattened */
	json_t *bmetrics;   /* the baseline's, flattened; NULL without one */
	json_t *thresholds; /* [[kind, key, value]] in config order */
	json_t *regress;    /* [[key, value]] */
	json_t *order;      /* key -> "min" | "max" */
	json_t *require;    /* [expr] */
	char *params;       /* gate.params; NULL when unset */
	int err;            /* the first bad entry's error... */
	char errmsg[512];   /* ...and message, set again once the walk is over */
};

static int verdict(struct gate *g, const char *kind, const char *rule, int ok, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int verdict(struct gate *g, const char *kind, const char *rule, int ok, const char *fmt, ...)
{
	xtrk_buf msg = XTRK_BUF_INIT;
	va_list ap;
	json_t *v;
	va_start(ap, fmt);
	xtrk_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	v = xtrk_buf_oom(&msg) ? NULL
		: json_pack("{s:s, s:s, s:b, s:s}", "rule", rule, "kind", kind, "ok", ok, "message", msg.ptr ? msg.ptr : "");
	xtrk_buf_dispose(&msg);
	if (!v || json_array_append_new(g->rules, v) < 0)
		return xtrk_error_oom();
	g->failed += !ok;
	return 0;
}

/* A metric by name, case-insensitively ("metrics." before it allowed). */
static json_t *metric_get(json_t *metrics, const char *name)
{
	const char *k;
	json_t *v, *found = NULL;
	if (!strncasecmp(name, "metrics.", 8))
		name += 8;
	json_object_foreach(metrics, k, v)
		if (!strcasecmp(k, name))
			found = v;
	return json_is_number(found) ? found : NULL;
}

static int parse_limit(double *out, const char *value)
{
	char *end;
	if (!value)
		return -1;
	errno = 0;
	*out = strtod(value, &end);
	return end == value || *end || !isfinite(*out) ? -1 : 0;
}

/* Remember the first bad entry; the walk over the config goes on (its own error would hide this one). */
static int bad_entry(struct gate *g, int err)
{
	if (!g->err) {
		g->err = err;
		snprintf(g->errmsg, sizeof(g->errmsg), "%s", xtrk_error_last());
	}
	xtrk_error_clear();
	return 0;
}

static int collect(const char *name, const char *value, void *payload)
{
	struct gate *g = payload;
	const char *key = name + 5; /* past "gate." */
	json_t *e;

	if (!strncmp(key, "min.", 4) || !strncmp(key, "max.", 4)) {
		e = json_pack("[s%, s, s]", key, (size_t)3, key + 4, value ? value : "");
		if (!e || json_array_append_new(g->thresholds, e) < 0)
			return bad_entry(g, xtrk_error_oom());
	} else if (!strncmp(key, "regress.", 8)) {
		e = json_pack("[s, s]", key + 8, value ? value : "");
		if (!e || json_array_append_new(g->regress, e) < 0)
			return bad_entry(g, xtrk_error_oom());
	} else if (!strncmp(key, "order.", 6)) {
		const char *m = key + 6;
		if (!strncasecmp(m, "metrics.", 8))
			m += 8;
		if (!value || (strcmp(value, "min") && strcmp(value, "max")))
			return bad_entry(g, xtrk_error_set(XTRK_EINVALID, "%s = '%s' in .xtrk/config: give max (higher is better) or "
				"min (lower is better)", name, value ? value : ""));
		if (json_object_set_new(g->order, m, json_string(value)) < 0)
			return bad_entry(g, xtrk_error_oom());
	} else if (!strcmp(key, "require")) {
		if (!value || !*value)
			return bad_entry(g, xtrk_error_set(XTRK_EINVALID, "gate.require in .xtrk/config has no expression"));
		if (json_array_append_new(g->require, json_string(value)) < 0)
			return bad_entry(g, xtrk_error_oom());
	} else if (!strcmp(key, "params")) {
		free(g->params);
		if (!(g->params = strdup(value ? value : "")))
			return bad_entry(g, xtrk_error_oom());
	} else if (strcmp(key, "leakage") && strcmp(key, "drift") && strcmp(key, "against")) {
		return bad_entry(g, xtrk_error_set(XTRK_EINVALID, "unknown key %s in .xtrk/config (the gate's keys: min.METRIC, "
			"max.METRIC, regress.METRIC, order.METRIC, params, require, leakage, drift, against)", name));
	}
	return 0;
}

static int threshold_rules(struct gate *g)
{
	json_t *t;
	size_t i;
	int err;
	json_array_foreach(g->thresholds, i, t) {
		const char *kind = json_string_value(json_array_get(t, 0)), *key = json_string_value(json_array_get(t, 1));
		const char *value = json_string_value(json_array_get(t, 2));
		int min = !strncmp(kind, "min", 3);
		char rule[300];
		double limit;
		json_t *found;
		if (!strncasecmp(key, "metrics.", 8))
			key += 8;
		snprintf(rule, sizeof(rule), "%s %s %s", key, min ? ">=" : "<=", value);
		found = metric_get(g->metrics, key);
		if (parse_limit(&limit, value) < 0)
			err = verdict(g, kind, rule, 0, "the limit '%s' is not a number", value);
		else if (!found)
			err = verdict(g, kind, rule, 0, "the run has no metric '%s'", key);
		else if (min ? json_number_value(found) >= limit : json_number_value(found) <= limit)
			err = verdict(g, kind, rule, 1, "%s = %.15g", key, json_number_value(found));
		else
			err = verdict(g, kind, rule, 0, "%s = %.15g, %s %s", key, json_number_value(found), min ? "below" : "above",
				value);
		if (err < 0)
			return err;
	}
	return 0;
}

/* 1 when higher is better for metric `key`, 0 when lower is. */
static int higher_is_better(struct gate *g, const char *key)
{
	static const char *const lower[] = { "loss", "err", "mse", "mae", "perplexity", "latency", "time", "duration",
		NULL };
	const char *k;
	json_t *v;
	json_object_foreach(g->order, k, v)
		if (!strcasecmp(k, key))
			return !strcmp(json_string_value(v), "max");
	for (size_t i = json_array_size(g->thresholds); i-- > 0;) {
		const char *tk = json_string_value(json_array_get(json_array_get(g->thresholds, i), 1));
		if (tk && !strncasecmp(tk, "metrics.", 8))
			tk += 8;
		if (tk && !strcasecmp(tk, key))
			return !strncmp(json_string_value(json_array_get(json_array_get(g->thresholds, i), 0)), "min", 3);
	}
	for (int i = 0; lower[i]; i++)
		if (strcasestr(key, lower[i]))
			return 0;
	return 1;
}

static int regress_rules(struct gate *g)
{
	json_t *t;
	size_t i;
	int err;
	json_array_foreach(g->regress, i, t) {
		const char *key = json_string_value(json_array_get(t, 0)), *value = json_string_value(json_array_get(t, 1));
		size_t vlen = strlen(value);
		int relative = vlen && value[vlen - 1] == '%', up;
		char rule[300], num[64];
		double allowed, cur, base, worse;
		json_t *a, *b;
		if (!strncasecmp(key, "metrics.", 8))
			key += 8;
		up = higher_is_better(g, key);
		snprintf(rule, sizeof(rule), "%s regresses at most %s", key, value);
		snprintf(num, sizeof(num), "%.*s", (int)(relative ? vlen - 1 : vlen), value);
		a = metric_get(g->metrics, key);
		b = g->bmetrics ? metric_get(g->bmetrics, key) : NULL;
		if (parse_limit(&allowed, num) < 0 || allowed < 0) {
			err = verdict(g, "regress", rule, 0, "the allowance '%s' is not a number >= 0 (nor a percentage)", value);
		} else if (!g->bmetrics) {
			err = verdict(g, "regress", rule, 0, "no baseline to compare with (--against, or gate.against)");
		} else if (!a || !b) {
			err = verdict(g, "regress", rule, 0, "the %s has no metric '%s'", !a ? "run" : "baseline", key);
		} else {
			cur = json_number_value(a);
			base = json_number_value(b);
			if (relative)
				allowed = fabs(base) * allowed / 100;
			worse = up ? base - cur : cur - base;
			err = verdict(g, "regress", rule, worse <= allowed + 1e-12 * fabs(base),
				"%s = %.15g, baseline %.15g (%s is better): %.6g %s, %.6g allowed", key, cur, base,
				up ? "higher" : "lower", fabs(worse), worse > 0 ? "worse" : "better or equal", allowed);
		}
		if (err < 0)
			return err;
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int params_rule(struct gate *g, json_t *rec, json_t *brec)
{
	json_t *a = NULL, *b = NULL, *v;
	xtrk_buf changed = XTRK_BUF_INIT, allowed = XTRK_BUF_INIT;
	const char **keys = NULL, *k;
	char rule[300];
	size_t n = 0;
	int err = 0, bad = 0;

	snprintf(rule, sizeof(rule), "params may change: %s", *g->params ? g->params : "none");
	if (!brec)
		return verdict(g, "params", rule, 0, "no baseline to compare with (--against, or gate.against)");
	a = xtrk_json_flatten(json_object_get(rec, XTRK_REC_PARAMS));
	b = xtrk_json_flatten(json_object_get(brec, XTRK_REC_PARAMS));
	if (!a || !b || !(keys = malloc((json_object_size(a) + json_object_size(b) + 1) * sizeof(*keys)))) {
		err = xtrk_error_oom();
		goto done;
	}
	/* Every param either side has, in key order, so that the message reads the same every time. */
	json_object_foreach(a, k, v)
		keys[n++] = k;
	json_object_foreach(b, k, v)
		if (!json_object_get(a, k))
			keys[n++] = k;
	qsort(keys, n, sizeof(*keys), str_cmp);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
		if (x && y && json_equal(x, y))
			continue;
		if (xtrk_leakage_name_match(g->params, keys[i])) {
			xtrk_buf_printf(&allowed, "%s%s", allowed.size ? ", " : "", keys[i]);
			continue;
		}
		bad++;
		xtrk_buf_printf(&changed, "%s%s (%s)", changed.size ? ", " : "", keys[i],
			!y ? "added" : !x ? "removed" : "changed");
	}
	if (xtrk_buf_oom(&changed) || xtrk_buf_oom(&allowed)) {
		err = xtrk_error_oom();
		goto done;
	}
	if (bad)
		err = verdict(g, "params", rule, 0, "%d param%s changed that may not: %s", bad, bad == 1 ? "" : "s",
			changed.ptr);
	else if (allowed.size)
		err = verdict(g, "params", rule, 1, "changed, as allowed: %s", allowed.ptr);
	else
		err = verdict(g, "params", rule, 1, "no param changed");
done:
	free(keys);
	json_decref(a);
	json_decref(b);
	xtrk_buf_dispose(&changed);
	xtrk_buf_dispose(&allowed);
	return err;
}

static int require_rules(struct gate *g, const xtrk_oid *run)
{
	json_t *e;
	size_t i;
	int err;
	json_array_foreach(g->require, i, e) {
		const char *expr = json_string_value(e);
		char rule[600];
		int m = xtrk_query_run_matches(g->repo, run, expr, "gate.require in .xtrk/config");
		if (m < 0)
			return m;
		snprintf(rule, sizeof(rule), "require %s", expr);
		if ((err = verdict(g, "require", rule, m, m ? "the run matches" : "the run does not match")) < 0)
			return err;
	}
	return 0;
}

static int leakage_rule(struct gate *g, json_t *profiles)
{
	xtrk_leakage_names names;
	json_t *leaks = NULL, *v;
	long long shared = 0;
	size_t i;
	int err;
	xtrk_leakage_names_load(&names, g->repo);
	if ((err = xtrk_profile_leakage(&leaks, profiles, &names)) < 0)
		return err;
	json_array_foreach(leaks, i, v)
		shared += (long long)json_integer_value(json_object_get(v, "shared"));
	if (shared)
		err = verdict(g, "leakage", "no leakage", 0, "%lld rows shared between training and evaluation data", shared);
	else
		err = verdict(g, "leakage", "no leakage", 1, "%zu training/evaluation pairs share no rows",
			json_array_size(leaks));
	json_decref(leaks);
	return err;
}

/* Each dataset the run and the baseline both have (by name): no column over the [drift] limits. */
static int drift_rules(struct gate *g, json_t *profiles, json_t *bprofiles)
{
	xtrk_drift_limits lim;
	json_t *e, *b;
	size_t i, k;
	int err;
	if ((err = xtrk_drift_limits_load(&lim, g->repo)) < 0)
		return err;
	json_array_foreach(profiles, i, e) {
		const char *en = json_string_value(json_object_get(e, "name"));
		json_array_foreach(bprofiles, k, b) {
			const char *bn = json_string_value(json_object_get(b, "name"));
			xtrk_buf why = XTRK_BUF_INIT;
			json_t *d = NULL, *c, *f;
			size_t x, y;
			long long over;
			char rule[300];
			if (!bn || !en || strcmp(bn, en))
				continue;
			if ((err = xtrk_profile_drift(&d, json_object_get(b, "profile"), json_object_get(e, "profile"), &lim)) < 0)
				return err;
			over = (long long)json_integer_value(json_object_get(d, "over"));
			json_array_foreach(json_object_get(d, "columns"), x, c) {
				if (!json_array_size(json_object_get(c, "over")))
					continue;
				xtrk_buf_printf(&why, "%s%s (", why.size ? ", " : ": ", json_string_value(json_object_get(c, "name")));
				json_array_foreach(json_object_get(c, "over"), y, f)
					xtrk_buf_printf(&why, "%s%s", y ? ", " : "", json_string_value(f));
				xtrk_buf_putc(&why, ')');
			}
			json_array_foreach(json_object_get(d, "missing_columns"), x, c)
				xtrk_buf_printf(&why, "%s%s (dropped)", why.size ? ", " : ": ", json_string_value(c));
			snprintf(rule, sizeof(rule), "no drift in %s", en);
			err = xtrk_buf_oom(&why) ? xtrk_error_oom()
				: verdict(g, "drift", rule, !over, "%lld column%s over the [drift] limits%s", over, over == 1 ? "" : "s",
					why.size ? why.ptr : "");
			xtrk_buf_dispose(&why);
			json_decref(d);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

int xtrk_gate_check(json_t **out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *base)
{
	struct gate g;
	json_t *rec = NULL, *brec = NULL, *profiles = NULL, *bprofiles = NULL;
	char hex[XTRK_OID_HEXSZ + 1], bhex[XTRK_OID_HEXSZ + 1];
	int err, on;

	*out = NULL;
	memset(&g, 0, sizeof(g));
	g.repo = repo;
	if (!(g.rules = json_array()) || !(g.thresholds = json_array()) || !(g.regress = json_array()) ||
	    !(g.order = json_object()) || !(g.require = json_array())) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_repo_config_foreach(repo, "^gate\\.", collect, &g)) < 0)
		goto done;
	if (g.err < 0) {
		err = xtrk_error_set(g.err, "%s", g.errmsg);
		goto done;
	}
	if ((err = xtrk_run_read(&rec, repo, run)) < 0 || (base && (err = xtrk_run_read(&brec, repo, base)) < 0))
		goto done;
	if (!(g.metrics = xtrk_json_flatten(json_object_get(rec, XTRK_REC_METRICS))) ||
	    (brec && !(g.bmetrics = xtrk_json_flatten(json_object_get(brec, XTRK_REC_METRICS))))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = threshold_rules(&g)) < 0 || (err = regress_rules(&g)) < 0 ||
	    (g.params && (err = params_rule(&g, rec, brec)) < 0) || (err = require_rules(&g, run)) < 0)
		goto done;
	if ((err = xtrk_profile_run(&profiles, repo, rec)) < 0 || (err = xtrk_repo_config_bool(&on, repo, "gate.leakage", 1)) < 0)
		goto done;
	if (on && (err = leakage_rule(&g, profiles)) < 0)
		goto done;
	if ((err = xtrk_repo_config_bool(&on, repo, "gate.drift", 1)) < 0)
		goto done;
	if (on && brec && ((err = xtrk_profile_run(&bprofiles, repo, brec)) < 0 ||
		(err = drift_rules(&g, profiles, bprofiles)) < 0))
		goto done;
	snprintf(hex, sizeof(hex), "%s", xtrk_oid_tostr(run));
	if (base)
		snprintf(bhex, sizeof(bhex), "%s", xtrk_oid_tostr(base));
	if (!(*out = json_pack("{s:s, s:s?, s:b, s:i, s:O}", "run", hex, "base", base ? bhex : NULL, "ok", !g.failed,
		"failed", g.failed, "rules", g.rules)))
		err = xtrk_error_oom();
done:
	json_decref(g.rules);
	json_decref(g.metrics);
	json_decref(g.bmetrics);
	json_decref(g.thresholds);
	json_decref(g.regress);
	json_decref(g.order);
	json_decref(g.require);
	free(g.params);
	json_decref(rec);
	json_decref(brec);
	json_decref(profiles);
	json_decref(bprofiles);
	return err;
}
