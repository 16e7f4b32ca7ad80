/* Lineage: runs and data joined by IDs, walked up and down from a target. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xtrk/errors.h"
#include "xtrk/lineage.h"
#include "xtrk/run.h"
#include "xtrk/snapshot.h"
#include "xtrk/tree.h"
#include "xtrk/record.h"


/* One use of a data object by a run. */
struct use {
	size_t run;        /* index in the index */
	int output;        /* 0: a dataset (input), 1: a model or artifact (output) */
	char *group, *name, *path;
	char id[33];
};

struct graph {
	xtrk_index *ix;
	struct use *uses;
	size_t n, a;
	json_t *nodes;   /* id -> node */
	json_t *edges;   /* array */
	json_t *edgeset; /* "from>to>name" -> true */
	json_t *seen;    /* "up:id" / "down:id" -> true */
};

struct collect {
	int group;
	json_t *byname; /* name -> {id, path} */
};

/* A group's field "models[model.pt].id": the entry's name, and its id or path (names as xtrk/index.h writes them). */
static int collect_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	struct collect *c = payload;
	size_t glen = strlen(xtrk_record_groups[c->group]), used, used2;
	xtrk_buf name = XTRK_BUF_INIT, field = XTRK_BUF_INIT;
	json_t *e;

	if (v->type == XTRK_VAL_STR && klen > glen &&
	    xtrk_field_next(&name, &used, key + glen, klen - glen, 0) == 0 &&
	    xtrk_field_next(&field, &used2, key + glen + used, klen - glen - used, 0) == 0 &&
	    glen + used + used2 == klen && (!strcmp(field.ptr, "id") || !strcmp(field.ptr, "path"))) {
		if (!(e = json_object_get(c->byname, name.ptr)))
			json_object_set_new(c->byname, name.ptr, e = json_object());
		json_object_set_new(e, field.ptr, json_stringn(v->str, v->len));
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&name);
	xtrk_buf_dispose(&field);
	return 0;
}

static int add_use(struct graph *g, size_t run, int gi, const char *name, json_t *e)
{
	const char *id = json_string_value(json_object_get(e, "id"));
	const char *path = json_string_value(json_object_get(e, "path"));
	struct use *u;
	if (!id || strlen(id) != 32)
		return 0;
	if (g->n == g->a) {
		size_t na = g->a ? g->a * 2 : 256;
		struct use *nu = realloc(g->uses, na * sizeof(*nu));
		if (!nu)
			return xtrk_error_oom();
		g->uses = nu;
		g->a = na;
	}
	u = &g->uses[g->n];
	memset(u, 0, sizeof(*u));
	u->run = run;
	u->output = gi > 0;
	u->group = strdup(xtrk_record_groups[gi]);
	u->name = strdup(name);
	u->path = strdup(path ? path : "");
	memcpy(u->id, id, 33);
	g->n++;
	return u->group && u->name && u->path ? 0 : xtrk_error_oom();
}

static int collect_uses(struct graph *g)
{
	xtrk_index_key *keys[3] = { NULL, NULL, NULL };
	int err = 0;
	for (int gi = 0; gi < XTRK_RECORD_NGROUPS && err == 0; gi++)
		err = xtrk_index_key_new(&keys[gi], g->ix, xtrk_record_groups[gi]);
	for (size_t i = 0; i < xtrk_index_count(g->ix) && err == 0; i++) {
		for (int gi = 0; gi < XTRK_RECORD_NGROUPS && err == 0; gi++) {
			struct collect c = { gi, json_object() };
			const char *name;
			json_t *e;
			xtrk_index_each_below(g->ix, i, keys[gi], collect_cb, &c);
			json_object_foreach(c.byname, name, e)
				if ((err = add_use(g, i, gi, name, e)) < 0)
					break;
			json_decref(c.byname);
		}
	}
	for (int gi = 0; gi < XTRK_RECORD_NGROUPS; gi++)
		xtrk_index_key_free(keys[gi]);
	return err;
}

static const char *run_hex(struct graph *g, size_t run)
{
	return xtrk_oid_tostr(xtrk_index_run(g->ix, run));
}

static void node_run(struct graph *g, size_t run)
{
	const char *id = run_hex(g, run);
	xtrk_index_key *k = NULL;
	xtrk_value v;
	json_t *n;
	if (json_object_get(g->nodes, id))
		return;
	n = json_pack("{s:s, s:s, s:s}", "id", id, "kind", "run", "experiment", xtrk_index_experiment(g->ix, run));
	if (xtrk_index_key_new(&k, g->ix, "message") == 0 && xtrk_index_get(&v, g->ix, run, k) && v.type == XTRK_VAL_STR)
		json_object_set_new(n, "message", json_stringn(v.str, v.len));
	xtrk_index_key_free(k);
	json_object_set_new(n, "label", json_sprintf("run %.12s (%s)", id, xtrk_index_experiment(g->ix, run)));
	json_object_set_new(g->nodes, id, n);
}

static void node_data(struct graph *g, const struct use *u)
{
	json_t *n;
	if (json_object_get(g->nodes, u->id))
		return;
	n = json_pack("{s:s, s:s, s:s, s:s}", "id", u->id, "kind", "data", "path", u->path, "name", u->name);
	json_object_set_new(n, "label", json_sprintf("%s %.12s", *u->path ? u->path : u->name, u->id));
	json_object_set_new(g->nodes, u->id, n);
}

static void edge(struct graph *g, const struct use *u)
{
	const char *run = run_hex(g, u->run);
	const char *from = u->output ? run : u->id, *to = u->output ? u->id : run;
	char key[200];
	snprintf(key, sizeof(key), "%s>%s>%.100s", from, to, u->name);
	if (json_object_get(g->edgeset, key))
		return;
	json_object_set_new(g->edgeset, key, json_true());
	node_run(g, u->run);
	node_data(g, u);
	json_array_append_new(g->edges, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "from", from, "to", to, "role",
		u->output ? "output" : "input", "group", u->group, "name", u->name, "path", u->path));
}

static int first_time(struct graph *g, const char *dir, const char *id)
{
	char key[64];
	snprintf(key, sizeof(key), "%s:%s", dir, id);
	if (json_object_get(g->seen, key))
		return 0;
	json_object_set_new(g->seen, key, json_true());
	return 1;
}

/*
 * The walk, depth first, with its own stack rather than the C stack (a chain of many runs must not
 * overflow it).  Upstream, a run leads to its inputs and a data ID to the runs that made it;
 * downstream, a run leads to its outputs and a data ID to the runs that used it.  Each node is
 * entered once per direction, so a cycle ends.
 */
struct frame {
	int is_run;
	size_t run;     /* is_run */
	const char *id; /* !is_run: a data ID */
	size_t next;    /* the next use to look at */
};

/* Whether use `u` leads on from frame `f`, walking upstream (`up`) or downstream. */
static int leads(const struct frame *f, const struct use *u, int up)
{
	if (f->is_run)
		return u->run == f->run && u->output == !up;
	return u->output == up && !strcmp(u->id, f->id);
}

static int walk(struct graph *g, int up, int is_run, size_t run, const char *id)
{
	struct frame *st = NULL, *f;
	size_t n = 0, a = 0;
	const char *dir = up ? "up" : "down";
	int err = 0;

	if (!first_time(g, dir, is_run ? run_hex(g, run) : id))
		return 0;
	for (;;) {
		if (is_run || id) { /* enter a node: push its frame */
			if (n == a) {
				size_t na = a ? a * 2 : 64;
				struct frame *p = realloc(st, na * sizeof(*p));
				if (!p) {
					err = xtrk_error_oom();
					break;
				}
				st = p;
				a = na;
			}
			if (is_run)
				node_run(g, run);
			st[n++] = (struct frame){ is_run, run, id, 0 };
			is_run = 0;
			id = NULL;
		}
		if (!n)
			break;
		f = &st[n - 1];
		while (f->next < g->n && !leads(f, &g->uses[f->next], up))
			f->next++;
		if (f->next == g->n) {
			n--;
			continue;
		}
		{
			const struct use *u = &g->uses[f->next++];
			edge(g, u);
			if (f->is_run ? first_time(g, dir, u->id) : first_time(g, dir, run_hex(g, u->run))) {
				is_run = !f->is_run;
				run = u->run;
				id = f->is_run ? u->id : NULL;
			}
		}
	}
	free(st);
	return err;
}

static void up_run(struct graph *g, size_t run) { walk(g, 1, 1, run, NULL); }
static void up_data(struct graph *g, const char *id) { walk(g, 1, 0, 0, id); }
static void down_run(struct graph *g, size_t run) { walk(g, 0, 1, run, NULL); }
static void down_data(struct graph *g, const char *id) { walk(g, 0, 0, 0, id); }

/* A data ID, or a unique prefix of one, among the uses. */
static int find_data(struct graph *g, const char *hex, char out[33])
{
	size_t len = strlen(hex);
	const char *found = NULL;
	if (len < 4 || !xtrk_oid_is_hex(hex, len) || len > 32)
		return 0;
	for (size_t i = 0; i < g->n; i++) {
		if (strncasecmp(g->uses[i].id, hex, len))
			continue;
		if (found && strcmp(found, g->uses[i].id))
			return xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' is the start of more than one data ID (%s, %s)", hex, found,
				g->uses[i].id);
		found = g->uses[i].id;
	}
	if (!found)
		return 0;
	memcpy(out, found, 33);
	return 1;
}

/* A path in the workspace, hashed as it is now (nothing is written). */
static int hash_path(xtrk_repo *repo, const char *path, char out[33])
{
	xtrk_buf rel = XTRK_BUF_INIT;
	xtrk_txn *dry = NULL;
	xtrk_snapshot snap;
	xtrk_snapshot_options so = XTRK_SNAPSHOT_OPTIONS_INIT;
	int err;
	so.quiet = 1;
	if ((err = xtrk_repo_relpath(&rel, repo, path)) == 0 && (err = xtrk_txn_new_dry(&dry, xtrk_repo_odb(repo))) == 0 &&
	    (err = xtrk_snapshot_path(&snap, repo, dry, rel.ptr, &so)) == 0)
		xtrk_oid_fmt(out, &snap.id);
	xtrk_txn_free(dry);
	xtrk_buf_dispose(&rel);
	return err;
}

int xtrk_lineage(json_t **out, xtrk_repo *repo, xtrk_index *ix, const char *target, int dirs)
{
	struct graph g;
	xtrk_oid rid;
	char data[33];
	int err, found;
	size_t run = (size_t)-1;
	json_t *nodes;
	const char *k;
	json_t *v;

	memset(&g, 0, sizeof(g));
	g.ix = ix;
	g.nodes = json_object();
	g.edges = json_array();
	g.edgeset = json_object();
	g.seen = json_object();
	*out = NULL;
	if ((err = collect_uses(&g)) < 0)
		goto done;
	/* A run first, then a data ID, then a path. */
	if (xtrk_run_resolve(&rid, repo, target) == 0) {
		for (size_t i = 0; i < xtrk_index_count(ix); i++)
			if (!xtrk_oid_cmp(xtrk_index_run(ix, i), &rid))
				run = i;
	}
	xtrk_error_clear();
	if (run != (size_t)-1) {
		if (dirs & XTRK_LINEAGE_UP)
			up_run(&g, run);
		if (dirs & XTRK_LINEAGE_DOWN)
			down_run(&g, run);
		node_run(&g, run);
		xtrk_oid_fmt(data, &rid);
		*out = json_pack("{s:{s:s, s:s}}", "target", "kind", "run", "id", data);
	} else {
		if ((found = find_data(&g, target, data)) < 0) {
			err = found;
			goto done;
		}
		if (!found && access(target, F_OK) == 0) {
			if ((err = hash_path(repo, target, data)) < 0)
				goto done;
			found = 1;
		}
		if (!found) {
			err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' is not a run, a data or model ID that a run records, or a "
				"path in the workspace", target);
			goto done;
		}
		if (dirs & XTRK_LINEAGE_UP)
			up_data(&g, data);
		if (dirs & XTRK_LINEAGE_DOWN)
			down_data(&g, data);
		if (!json_object_get(g.nodes, data))
			json_object_set_new(g.nodes, data, json_pack("{s:s, s:s, s:s}", "id", data, "kind", "data", "label",
				target));
		*out = json_pack("{s:{s:s, s:s}}", "target", "kind", "data", "id", data);
	}
	nodes = json_array();
	json_object_foreach(g.nodes, k, v)
		json_array_append(nodes, v);
	json_object_set_new(*out, "nodes", nodes);
	json_object_set(*out, "edges", g.edges);
done:
	for (size_t i = 0; i < g.n; i++) {
		free(g.uses[i].group);
		free(g.uses[i].name);
		free(g.uses[i].path);
	}
	free(g.uses);
	json_decref(g.nodes);
	json_decref(g.edges);
	json_decref(g.edgeset);
	json_decref(g.seen);
	return err;
}
