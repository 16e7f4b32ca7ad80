/* Retention rules from [retain] in .xtrk/config (see xtrk/retain.h). */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <git2.h>

#include "fileutil.h"
#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/retain.h"

#define NUM_MAX 1000000000L   /* last, best */
#define DAYS_MAX 100000L      /* failedDays */

/* One section's rules.  `set` says which keys the section names ("off" included). */
enum { K_LAST = 1, K_BEST = 2, K_METRIC = 4, K_ORDER = 8, K_FAILED = 16, K_TAGGED = 32, K_NOTED = 64, K_STAGED = 128 };

struct rules {
	unsigned set;
	long last;          /* 0: off */
	long best;          /* 0: off */
	char *metric;       /* the field, canonical ("metrics.acc"), or NULL */
	int order_max;      /* -1: unset, 1: max, 0: min */
	long failed_days;   /* -1: off */
	int tagged, noted, staged;
};

struct section {
	char *exp;          /* NULL: [retain] */
	struct rules r;
};

struct config {
	struct section *s;  /* s[0] is [retain] */
	size_t n;
	int any;            /* some rule set */
	int err;
};

static void rules_init(struct rules *r)
{
	memset(r, 0, sizeof(*r));
	r->order_max = -1;
	r->failed_days = -1;
	r->tagged = r->noted = r->staged = 1;
}

static int parse_count(long *out, const char *key, const char *v, long min, long max)
{
	char *end;
	long n;
	if (!v || !*v)
		return xtrk_error_set(XTRK_EINVALID, "%s in .xtrk/config has no value (give a number, or off)", key);
	if (!strcasecmp(v, "off")) {
		*out = -1;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || end == v || v[0] == '+' || v[0] == '-' || n < min || n > max)
		return xtrk_error_set(XTRK_EINVALID, "%s = '%s' in .xtrk/config: give a whole number from %ld to %ld, or off",
			key, v, min, max);
	*out = n;
	return 0;
}

static int set_key(struct rules *r, const char *full, const char *key, const char *v)
{
	long n;
	int b, err = 0;
	if (!strcmp(key, "last") || !strcmp(key, "best")) {
		if ((err = parse_count(&n, full, v, 1, NUM_MAX)) < 0)
			return err;
		*(key[0] == 'l' ? &r->last : &r->best) = n < 0 ? 0 : n;
		r->set |= key[0] == 'l' ? K_LAST : K_BEST;
	} else if (!strcmp(key, "faileddays")) {
		if ((err = parse_count(&n, full, v, 0, DAYS_MAX)) < 0)
			return err;
		r->failed_days = n;
		r->set |= K_FAILED;
	} else if (!strcmp(key, "metric")) {
		xtrk_buf name = XTRK_BUF_INIT, canon = XTRK_BUF_INIT;
		if (!v || !*v)
			return xtrk_error_set(XTRK_EINVALID, "%s in .xtrk/config has no value (give a metric's name)", full);
		xtrk_buf_printf(&name, "metrics.%s", v);
		if (xtrk_buf_oom(&name))
			err = xtrk_error_oom();
		else if (xtrk_field_canon(&canon, name.ptr, name.size) < 0)
			err = xtrk_error_set(XTRK_EINVALID, "%s = '%s' in .xtrk/config is not a metric's name: %s", full, v,
				xtrk_error_last());
		if (!err) {
			free(r->metric);
			if (!(r->metric = xtrk_buf_detach(&canon)))
				err = xtrk_error_oom();
		}
		xtrk_buf_dispose(&name);
		xtrk_buf_dispose(&canon);
		r->set |= K_METRIC;
	} else if (!strcmp(key, "order")) {
		if (!v || (strcmp(v, "max") && strcmp(v, "min")))
			return xtrk_error_set(XTRK_EINVALID, "%s = '%s' in .xtrk/config: give max (higher is better) or min",
				full, v ? v : "");
		r->order_max = v[1] == 'a';
		r->set |= K_ORDER;
	} else if (!strcmp(key, "tagged") || !strcmp(key, "noted") || !strcmp(key, "staged")) {
		if (!v)
			b = 1; /* a key alone is true, as in git */
		else if (git_config_parse_bool(&b, v) < 0)
			return xtrk_error_set(XTRK_EINVALID, "%s = '%s' in .xtrk/config is not a boolean (use true or false)",
				full, v);
		*(key[0] == 't' ? &r->tagged : key[0] == 'n' ? &r->noted : &r->staged) = b;
		r->set |= key[0] == 't' ? K_TAGGED : key[0] == 'n' ? K_NOTED : K_STAGED;
	} else {
		return xtrk_error_set(XTRK_EINVALID, "unknown key %s in .xtrk/config (retention keys: last, best, metric, "
			"order, failedDays, tagged, noted, staged)", full);
	}
	return err;
}

static int on_entry(const char *name, const char *value, void *payload)
{
	struct config *c = payload;
	const char *rest = name + strlen("retain."), *dot = strrchr(rest, '.');
	struct section *s = NULL;
	xtrk_buf exp = XTRK_BUF_INIT;

	if (dot) {
		xtrk_buf_put(&exp, rest, (size_t)(dot - rest));
		if (xtrk_buf_oom(&exp)) {
			c->err = xtrk_error_oom();
			return 1;
		}
		if (!xtrk_ref_name_valid(exp.ptr)) {
			c->err = xtrk_error_set(XTRK_EINVALID, "[retain \"%s\"] in .xtrk/config: '%s' is not an experiment name",
				exp.ptr, exp.ptr);
			xtrk_buf_dispose(&exp);
			return 1;
		}
		for (size_t i = 1; i < c->n && !s; i++)
			if (!strcmp(c->s[i].exp, exp.ptr))
				s = &c->s[i];
		if (!s) {
			struct section *ns = realloc(c->s, (c->n + 1) * sizeof(*ns));
			if (!ns) {
				xtrk_buf_dispose(&exp);
				c->err = xtrk_error_oom();
				return 1;
			}
			c->s = ns;
			s = &c->s[c->n++];
			rules_init(&s->r);
			s->exp = xtrk_buf_detach(&exp);
		}
		rest = dot + 1;
	} else {
		s = &c->s[0];
	}
	xtrk_buf_dispose(&exp);
	if ((c->err = set_key(&s->r, name, rest, value)) < 0)
		return 1;
	c->any = 1;
	return 0;
}

/* The rules for one experiment: [retain], then what [retain "EXP"] sets. */
static void effective(struct rules *out, const struct config *c, const char *exp)
{
	const struct rules *o = NULL;
	*out = c->s[0].r;
	for (size_t i = 1; exp && i < c->n && !o; i++)
		if (!strcmp(c->s[i].exp, exp))
			o = &c->s[i].r;
	if (!o)
		return;
	if (o->set & K_LAST) out->last = o->last;
	if (o->set & K_BEST) out->best = o->best;
	if (o->set & K_METRIC) out->metric = o->metric;
	if (o->set & K_ORDER) out->order_max = o->order_max;
	if (o->set & K_FAILED) out->failed_days = o->failed_days;
	if (o->set & K_TAGGED) out->tagged = o->tagged;
	if (o->set & K_NOTED) out->noted = o->noted;
	if (o->set & K_STAGED) out->staged = o->staged;
}

static int check_best(const struct rules *r, const char *exp)
{
	const char *sec = exp ? "retain \"" : "retain", *q = exp ? "\"" : "";
	if (r->best && !r->metric)
		return xtrk_error_set(XTRK_EINVALID, "[%s%s%s] in .xtrk/config: best = %ld needs metric = NAME and order = max|min",
			sec, exp ? exp : "", q, r->best);
	if (r->best && r->order_max < 0)
		return xtrk_error_set(XTRK_EINVALID, "[%s%s%s] in .xtrk/config: best = %ld needs order = max or order = min",
			sec, exp ? exp : "", q, r->best);
	return 0;
}

static void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->s[i].exp);
		free(c->s[i].r.metric);
	}
	free(c->s);
}

static int config_read(struct config *c, xtrk_repo *repo)
{
	int err;
	memset(c, 0, sizeof(*c));
	if (!(c->s = calloc(1, sizeof(*c->s))))
		return xtrk_error_oom();
	c->n = 1;
	rules_init(&c->s[0].r);
	if ((err = xtrk_repo_config_foreach(repo, "^retain\\.", on_entry, c)) < 0 && !c->err)
		return err;
	if (c->err)
		return c->err;
	for (size_t i = 0; i < c->n; i++) {
		struct rules r;
		effective(&r, c, c->s[i].exp);
		if ((err = check_best(&r, c->s[i].exp)) < 0)
			return err;
	}
	return 0;
}

int xtrk_retain_config_check(xtrk_repo *repo)
{
	struct config c;
	int err = config_read(&c, repo);
	config_free(&c);
	return err;
}

/* ---- judging the runs ---- */

struct judged {
	size_t pos;         /* 0: the newest of its experiment */
	long rank;          /* by the metric, 0 the best; -1: lacks it (or no best rule) */
	int candidate, kept;
};

struct ctx {
	xtrk_index *ix;
	const struct config *cfg;
	int64_t now;
	xtrk_index_key *notes_key, *status_key, *ended_key, *started_key, *stage_key;
};

/*
 * Keep rules.  Each says whether it keeps entry `i` of the index, and when it
 * does not, why (into `why`).  A rule that is off for the experiment returns -1.
 */
struct keep_rule {
	const char *name;
	int (*keeps)(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why);
};

static const char *ordinal(size_t n, char buf[32])
{
	const char *suf = (n % 100) / 10 == 1 ? "th" : n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
	snprintf(buf, 32, "%zu%s", n, suf);
	return buf;
}

static int keep_last(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why)
{
	char o[32];
	(void)c;
	(void)i;
	if (!r->last)
		return -1;
	if (j->pos < (size_t)r->last)
		return 1;
	xtrk_buf_printf(why, "last: not one of the last %ld (it is the %s newest)", r->last, ordinal(j->pos + 1, o));
	return 0;
}

static int keep_best(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why)
{
	char o[32];
	(void)c;
	(void)i;
	if (!r->best)
		return -1;
	if (j->rank >= 0 && j->rank < r->best)
		return 1;
	if (j->rank < 0)
		xtrk_buf_printf(why, "best: it has no number %s", r->metric);
	else
		xtrk_buf_printf(why, "best: %s by %s (%s), not one of the best %ld", ordinal((size_t)j->rank + 1, o),
			r->metric, r->order_max ? "max" : "min", r->best);
	return 0;
}

static int keep_tagged(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why)
{
	json_t *tags;
	size_t n;
	(void)j;
	if (!r->tagged)
		return -1;
	tags = xtrk_index_tags(c->ix, i);
	n = json_array_size(tags);
	json_decref(tags);
	if (n)
		return 1;
	xtrk_buf_puts(why, "tagged: no tag names it");
	return 0;
}

static int keep_noted(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why)
{
	xtrk_value v;
	(void)j;
	if (!r->noted)
		return -1;
	/* "notes.0": the record's first note, else the first appended one (the index sees both). */
	if (xtrk_index_get(&v, c->ix, i, c->notes_key) == 1)
		return 1;
	xtrk_buf_puts(why, "noted: it has no notes");
	return 0;
}

/* Staged runs: a run in a stage (xtrk stage), whatever the stage, is kept. */
static int run_staged(struct ctx *c, size_t i)
{
	xtrk_value v;
	return xtrk_index_get(&v, c->ix, i, c->stage_key) == 1 && v.type == XTRK_VAL_STR;
}

static int keep_staged(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, xtrk_buf *why)
{
	(void)j;
	if (!r->staged)
		return -1;
	if (run_staged(c, i))
		return 1;
	xtrk_buf_puts(why, "staged: no stage holds it");
	return 0;
}

static const struct keep_rule keep_rules[] = {
	{ "last", keep_last },
	{ "best", keep_best },
	{ "tagged", keep_tagged },
	{ "noted", keep_noted },
	{ "staged", keep_staged },
};

/* A time from the record (RFC 3339 UTC, as xtrk writes it) as unix seconds; 0 when there is none. */
static int record_time(int64_t *out, struct ctx *c, size_t i)
{
	xtrk_value v;
	char buf[64];
	struct tm tm;
	const char *end;
	if (xtrk_index_get(&v, c->ix, i, c->ended_key) != 1 || v.type != XTRK_VAL_STR) {
		if (xtrk_index_get(&v, c->ix, i, c->started_key) != 1 || v.type != XTRK_VAL_STR)
			return 0;
	}
	if (v.len >= sizeof(buf))
		return 0;
	memcpy(buf, v.str, v.len);
	buf[v.len] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (!(end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z"))
		return 0;
	*out = (int64_t)timegm(&tm);
	return 1;
}

/* Candidate rules: why entry `i` may go (into `why`, one sentence per line); 1 when some rule says so. */
static int candidate(struct ctx *c, size_t i, const struct rules *r, const struct judged *j, const char *exp,
	char ***reasons, size_t *n)
{
	xtrk_buf b = XTRK_BUF_INIT;
	int found = 0;
	char o[32];
	for (int rule = 0; rule < 2; rule++) {
		xtrk_buf_clear(&b);
		if (rule == 0 && r->last && j->pos >= (size_t)r->last) {
			xtrk_buf_printf(&b, "last: beyond the last %ld runs of '%s' (it is the %s newest)", r->last, exp,
				ordinal(j->pos + 1, o));
		} else if (rule == 1 && r->failed_days >= 0) {
			xtrk_value v;
			int64_t t;
			if (xtrk_index_get(&v, c->ix, i, c->status_key) != 1 || v.type != XTRK_VAL_STR || v.len != 6 ||
			    memcmp(v.str, "failed", 6) || !record_time(&t, c, i) || c->now - t < (int64_t)r->failed_days * 86400)
				continue;
			xtrk_buf_printf(&b, "failedDays: failed %lld days ago (failedDays = %ld)",
				(long long)((c->now - t) / 86400), r->failed_days);
		} else {
			continue;
		}
		{
			char **nr = xtrk_buf_oom(&b) ? NULL : realloc(*reasons, (*n + 1) * sizeof(*nr));
			if (!nr) {
				xtrk_buf_dispose(&b);
				return xtrk_error_oom();
			}
			*reasons = nr;
			nr[(*n)++] = xtrk_buf_detach(&b);
			found = 1;
		}
	}
	xtrk_buf_dispose(&b);
	return found;
}

static void item_dispose(xtrk_retain_item *it)
{
	for (size_t k = 0; k < it->nreasons; k++)
		free(it->reasons[k]);
	for (size_t k = 0; k < it->nnot_kept; k++)
		free(it->not_kept[k]);
	free(it->reasons);
	free(it->not_kept);
}

void xtrk_retain_plan_dispose(xtrk_retain_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++)
		item_dispose(&plan->items[i]);
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}

/* Entries sorted by experiment, then newest first (the index's order), to group experiments. */
struct ent {
	const char *exp;
	size_t i;
};
static int by_exp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->exp, y->exp);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Values to rank, best first: `v` is negated for order = max, so lower is always better. */
struct scored {
	size_t i;
	double v;
};
static int by_value(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i); /* a tie: the newer first */
}

/* The entries of one run (a run may be listed in several experiments), grouped. */
struct per_run {
	xtrk_oid id;
	size_t i;
};
static int by_oid(const void *a, const void *b)
{
	const struct per_run *x = a, *y = b;
	int c = xtrk_oid_cmp(&x->id, &y->id);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int push_str(char ***arr, size_t *n, char *s)
{
	char **na;
	if (!s || !(na = realloc(*arr, (*n + 1) * sizeof(*na)))) {
		free(s);
		return xtrk_error_oom();
	}
	*arr = na;
	na[(*n)++] = s;
	return 0;
}

/* Judge the runs of one experiment (entries ents[0..n), newest first) by its rules. */
static int judge_experiment(struct ctx *c, const struct ent *ents, size_t n, struct judged *j,
	xtrk_retain_item *items, struct scored *sc)
{
	const char *exp = ents[0].exp;
	struct rules r;
	xtrk_index_key *mk = NULL;
	xtrk_buf why = XTRK_BUF_INIT;
	size_t ns = 0;
	int err = 0;

	effective(&r, c->cfg, exp);
	if (r.best && (err = xtrk_index_key_new(&mk, c->ix, r.metric)) < 0)
		return err;
	for (size_t k = 0; k < n; k++) {
		xtrk_value v;
		size_t i = ents[k].i;
		j[i].pos = k;
		j[i].rank = -1;
		/* A run lacking the metric, or holding something other than a number there, is never "best". */
		if (mk && xtrk_index_get(&v, c->ix, i, mk) == 1 && v.type == XTRK_VAL_NUM) {
			sc[ns].i = i;
			sc[ns++].v = r.order_max ? -v.num : v.num;
		}
	}
	xtrk_index_key_free(mk);
	xtrk_sort(sc, ns, sizeof(*sc), by_value);
	for (size_t k = 0; k < ns; k++)
		j[sc[k].i].rank = (long)k;
	for (size_t k = 0; k < n && !err; k++) {
		size_t i = ents[k].i;
		xtrk_retain_item *it = &items[i];
		it->run = *xtrk_index_run(c->ix, i);
		snprintf(it->experiment, sizeof(it->experiment), "%s", exp);
		if ((err = candidate(c, i, &r, &j[i], exp, &it->reasons, &it->nreasons)) < 0)
			break;
		j[i].candidate = err;
		err = 0;
		for (size_t kr = 0; kr < sizeof(keep_rules) / sizeof(*keep_rules) && !j[i].kept && !err; kr++) {
			int kept;
			xtrk_buf_clear(&why);
			kept = keep_rules[kr].keeps(c, i, &r, &j[i], &why);
			if (kept == 1)
				j[i].kept = 1;
			else if (kept == 0 && j[i].candidate)
				err = push_str(&it->not_kept, &it->nnot_kept, xtrk_buf_detach(&why));
		}
	}
	xtrk_buf_dispose(&why);
	return err;
}

int xtrk_retain_plan_make(xtrk_retain_plan *out, xtrk_repo *repo, int64_t now)
{
	struct config cfg;
	struct ctx c;
	struct judged *j = NULL;
	struct ent *ents = NULL;
	struct scored *sc = NULL;
	struct per_run *runs = NULL;
	size_t n = 0, *next = NULL;
	unsigned char *chosen = NULL;
	xtrk_retain_item *items = NULL; /* per index entry */
	int err;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if ((err = config_read(&cfg, repo)) < 0)
		goto done;
	out->configured = cfg.any;
	c.cfg = &cfg;
	c.now = now;
	if ((err = xtrk_index_open(&c.ix, repo, NULL)) < 0)
		goto done;
	if ((err = xtrk_index_key_new(&c.stage_key, c.ix, "stage")) < 0 ||
	    (err = xtrk_index_key_new(&c.notes_key, c.ix, "notes.0")) < 0 ||
	    (err = xtrk_index_key_new(&c.status_key, c.ix, "status")) < 0 ||
	    (err = xtrk_index_key_new(&c.ended_key, c.ix, "ended")) < 0 ||
	    (err = xtrk_index_key_new(&c.started_key, c.ix, "started")) < 0)
		goto done;
	n = xtrk_index_count(c.ix);
	if (!(j = calloc(n + 1, sizeof(*j))) || !(ents = calloc(n + 1, sizeof(*ents))) ||
	    !(sc = calloc(n + 1, sizeof(*sc))) || !(runs = calloc(n + 1, sizeof(*runs))) ||
	    !(items = calloc(n + 1, sizeof(*items))) || !(next = calloc(n + 1, sizeof(*next))) ||
	    !(chosen = calloc(n + 1, 1)) || !(out->items = calloc(n + 1, sizeof(*out->items)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		ents[i].exp = xtrk_index_experiment(c.ix, i);
		ents[i].i = i;
	}
	xtrk_sort(ents, n, sizeof(*ents), by_exp);
	for (size_t g = 0, end; g < n; g = end) {
		for (end = g + 1; end < n && !strcmp(ents[end].exp, ents[g].exp); end++)
			;
		if ((err = judge_experiment(&c, ents + g, end - g, j, items, sc)) < 0)
			goto done;
	}

	/* A run goes when it is a candidate in some experiment and kept in none. */
	for (size_t i = 0; i < n; i++) {
		runs[i].id = *xtrk_index_run(c.ix, i);
		runs[i].i = i;
	}
	xtrk_sort(runs, n, sizeof(*runs), by_oid);
	for (size_t a = 0, b; a < n; a = b) {
		int cand = 0, kept = 0;
		size_t first = SIZE_MAX, prev = SIZE_MAX;
		for (b = a; b < n && !xtrk_oid_cmp(&runs[a].id, &runs[b].id); b++) {
			size_t i = runs[b].i;
			cand |= j[i].candidate;
			kept |= j[i].kept;
			next[i] = SIZE_MAX;
			if (!j[i].candidate)
				continue;
			if (prev == SIZE_MAX)
				first = i;
			else
				next[prev] = i;
			prev = i;
		}
		out->runs++;
		if (cand && kept)
			out->kept_by_rule++;
		else if (cand)
			chosen[first] = 1;
	}
	/* Newest first; each run once, with the reasons of all its experiments. */
	for (size_t i = 0; i < n; i++) {
		xtrk_retain_item *dst;
		if (!chosen[i])
			continue;
		dst = &out->items[out->n++];
		*dst = items[i];
		memset(&items[i], 0, sizeof(items[i]));
		for (size_t k = next[i]; k != SIZE_MAX; k = next[k]) {
			for (size_t m = 0; m < items[k].nreasons; m++) {
				err = push_str(&dst->reasons, &dst->nreasons, items[k].reasons[m]);
				items[k].reasons[m] = NULL;
				if (err < 0)
					goto done;
			}
			for (size_t m = 0; m < items[k].nnot_kept; m++) {
				err = push_str(&dst->not_kept, &dst->nnot_kept, items[k].not_kept[m]);
				items[k].not_kept[m] = NULL;
				if (err < 0)
					goto done;
			}
		}
	}
done:
	for (size_t i = 0; items && i < n; i++)
		item_dispose(&items[i]);
	free(items);
	free(chosen);
	free(next);
	free(runs);
	free(sc);
	free(ents);
	free(j);
	xtrk_index_key_free(c.notes_key);
	xtrk_index_key_free(c.stage_key);
	xtrk_index_key_free(c.status_key);
	xtrk_index_key_free(c.ended_key);
	xtrk_index_key_free(c.started_key);
	xtrk_index_free(c.ix);
	config_free(&cfg);
	if (err < 0)
		xtrk_retain_plan_dispose(out);
	return err;
}

int xtrk_retain_apply(size_t *removed, xtrk_repo *repo, const xtrk_retain_plan *plan,
	void (*done)(const xtrk_retain_item *item, void *payload), void *payload)
{
	size_t count = 0;
	int err = 0;
	for (size_t i = 0; i < plan->n; i++) {
		size_t moved;
		if ((err = xtrk_run_remove(repo, &plan->items[i].run, &moved)) == XTRK_ENOTFOUND) {
			xtrk_error_clear();
			err = 0;
			continue; /* removed meanwhile */
		}
		if (err < 0)
			break;
		count++;
		if (done)
			done(&plan->items[i], payload);
	}
	if (removed)
		*removed = count;
	return err;
}
