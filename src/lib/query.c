/* The query language: a recursive-descent parser into a small tree, evaluated against the run index. */
#include "config.h"
#include <ctype.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/query.h"

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_RE, OP_CONTAINS };
enum kind { N_OR, N_AND, N_NOT, N_CMP, N_TRUTH, N_FIELD, N_LIT };

struct node {
	enum kind kind;
	enum op op;
	struct node *a, *b;
	/* N_FIELD */
	char *field;
	xtrk_index_key *key;
	/* N_LIT */
	xtrk_value lit;
	char *text;
	/* N_CMP with OP_RE: the compiled pattern, and where it was written (for messages) */
	pcre2_code *re;
	size_t re_column;
};

struct xtrk_query {
	struct node *root;
	pcre2_match_context *mctx;   /* the bounds on each regular-expression match */
	pcre2_match_data *md;
	double re_seconds;           /* spent matching regular expressions so far */
	int failed;                  /* a match went over a bound: every later call fails too */
};

/* ---- tokens ---- */

enum tok { T_END, T_LP, T_RP, T_OP, T_AND, T_OR, T_NOT, T_FIELD, T_STR, T_NUM, T_TRUE, T_FALSE, T_NULL };

struct lexer {
	const char *src, *p;
	enum tok t;
	enum op op;
	const char *start; /* where the current token begins */
	char *text;        /* FIELD and STR */
	double num;
	size_t *column;
	int failed;
	int depth;         /* open parentheses and 'not's */
	size_t terms;      /* operands read so far */
};

static int fail(struct lexer *lx, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct lexer *lx, const char *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (lx->failed)
		return XTRK_EINVALID;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lx->failed = 1;
	*lx->column = (size_t)(at - lx->src) + 1;
	return xtrk_error_set(XTRK_EINVALID, "column %zu: %s", *lx->column, msg);
}

static int field_char(char c)
{
	return c == '.' || c == '[' || xtrk_field_plain_char(c);
}

static int next(struct lexer *lx)
{
	const char *p = lx->p;
	free(lx->text);
	lx->text = NULL;
	while (isspace((unsigned char)*p))
		p++;
	lx->start = p;
	if (!*p) {
		lx->t = T_END;
	} else if (*p == '(' || *p == ')') {
		lx->t = *p == '(' ? T_LP : T_RP;
		p++;
	} else if (!strncmp(p, "==", 2) || !strncmp(p, "!=", 2) || !strncmp(p, "<=", 2) || !strncmp(p, ">=", 2)) {
		lx->t = T_OP;
		lx->op = p[0] == '=' ? OP_EQ : p[0] == '!' ? OP_NE : p[0] == '<' ? OP_LE : OP_GE;
		p += 2;
	} else if (*p == '<' || *p == '>' || *p == '~') {
		lx->t = T_OP;
		lx->op = *p == '<' ? OP_LT : *p == '>' ? OP_GT : OP_RE;
		p++;
	} else if (*p == '=') {
		return fail(lx, p, "'=' is not an operator; compare with '=='");
	} else if (*p == '"' || *p == '\'') {
		char q = *p++;
		xtrk_buf s = XTRK_BUF_INIT;
		for (; *p && *p != q; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				xtrk_buf_putc(&s, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
			} else {
				xtrk_buf_putc(&s, *p);
			}
		}
		if (*p != q) {
			xtrk_buf_dispose(&s);
			return fail(lx, lx->start, "the string has no closing %c", q);
		}
		p++;
		lx->t = T_STR;
		lx->text = s.ptr ? xtrk_buf_detach(&s) : strdup("");
	} else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') &&
							 (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
		char *end;
		lx->num = strtod(p, &end);
		if (end == p || field_char(*end))
			return fail(lx, p, "'%.*s' is not a number", (int)strcspn(p, " \t()"), p);
		lx->t = T_NUM;
		p = end;
	} else if (isalpha((unsigned char)*p) || *p == '_' || *p == '[') {
		const char *s = p;
		xtrk_buf canon = XTRK_BUF_INIT;
		p += xtrk_field_span(p);
		if (p[-1] == '.')
			return fail(lx, p - 1, "a field name cannot end with '.'");
		if (xtrk_field_canon(&canon, s, (size_t)(p - s)) < 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "%s", xtrk_error_last());
			xtrk_error_clear();
			return fail(lx, s, "%s", msg);
		}
		lx->text = xtrk_buf_detach(&canon);
		if (!strcasecmp(lx->text, "and"))
			lx->t = T_AND;
		else if (!strcasecmp(lx->text, "or"))
			lx->t = T_OR;
		else if (!strcasecmp(lx->text, "not"))
			lx->t = T_NOT;
		else if (!strcasecmp(lx->text, "contains"))
			lx->t = T_OP, lx->op = OP_CONTAINS;
		else if (!strcmp(lx->text, "true"))
			lx->t = T_TRUE;
		else if (!strcmp(lx->text, "false"))
			lx->t = T_FALSE;
		else if (!strcmp(lx->text, "null"))
			lx->t = T_NULL;
		else
			lx->t = T_FIELD;
	} else {
		return fail(lx, p, "unexpected '%c'", *p);
	}
	lx->p = p;
	return 0;
}

/* ---- parsing ---- */

static struct node *node_new(enum kind k)
{
	struct node *n = calloc(1, sizeof(*n));
	if (n)
		n->kind = k;
	return n;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->field);
	free(n->text);
	xtrk_index_key_free(n->key);
	pcre2_code_free(n->re);
	free(n);
}

static int parse_or(struct lexer *lx, struct node **out);

static const char *tok_text(struct lexer *lx)
{
	static __thread char buf[64];
	if (lx->t == T_END)
		return "the end";
	snprintf(buf, sizeof(buf), "'%.*s'", (int)(lx->p - lx->start > 40 ? 40 : lx->p - lx->start), lx->start);
	return buf;
}

static int parse_operand(struct lexer *lx, struct node **out)
{
	struct node *n;
	int err;
	if (++lx->terms > XTRK_QUERY_MAX_TERMS)
		return fail(lx, lx->start, "more than %d fields and values in one expression", XTRK_QUERY_MAX_TERMS);
	switch (lx->t) {
	case T_FIELD:
		if (!(n = node_new(N_FIELD)))
			return xtrk_error_oom();
		n->field = lx->text;
		lx->text = NULL;
		break;
	case T_STR: case T_NUM: case T_TRUE: case T_FALSE: case T_NULL:
		if (!(n = node_new(N_LIT)))
			return xtrk_error_oom();
		if (lx->t == T_STR) {
			n->text = lx->text;
			lx->text = NULL;
			n->lit.type = XTRK_VAL_STR;
			n->lit.str = n->text;
			n->lit.len = strlen(n->text);
		} else if (lx->t == T_NUM) {
			n->lit.type = XTRK_VAL_NUM;
			n->lit.num = lx->num;
		} else if (lx->t == T_NULL) {
			n->lit.type = XTRK_VAL_NULL;
		} else {
			n->lit.type = XTRK_VAL_BOOL;
			n->lit.num = lx->t == T_TRUE;
		}
		break;
	default:
		return fail(lx, lx->start, "expected a field, a string or a number, found %s", tok_text(lx));
	}
	*out = n;
	if ((err = next(lx)) < 0) {
		node_free(n);
		*out = NULL;
	}
	return err;
}

/*
 * A regular expression, compiled by PCRE2 with bounds: at most XTRK_QUERY_MAX_PATTERN bytes of
 * pattern, and (at match time) a bounded amount of backtracking, recursion depth and memory per
 * value.  Bytes, not characters; '.' matches a newline and '$' only the very end, as POSIX regexec
 * does on a whole string.
 */
static int compile_re(struct lexer *lx, struct node *n, const char *at)
{
	pcre2_compile_context *cctx;
	int code;
	PCRE2_SIZE offset;
	size_t len = strlen(n->b->text);

	if (len > XTRK_QUERY_MAX_PATTERN)
		return fail(lx, at, "the regular expression is %zu bytes long, over the limit of %d", len,
			XTRK_QUERY_MAX_PATTERN);
	if (!(cctx = pcre2_compile_context_create(NULL)))
		return xtrk_error_oom();
	pcre2_set_max_pattern_length(cctx, XTRK_QUERY_MAX_PATTERN);
	pcre2_set_parens_nest_limit(cctx, XTRK_QUERY_MAX_DEPTH);
	n->re = pcre2_compile((PCRE2_SPTR)n->b->text, len, PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY |
		PCRE2_NO_AUTO_CAPTURE | PCRE2_NEVER_BACKSLASH_C, &code, &offset, cctx);
	pcre2_compile_context_free(cctx);
	if (!n->re) {
		PCRE2_UCHAR why[200];
		if (code == PCRE2_ERROR_NOMEMORY)
			return xtrk_error_oom();
		pcre2_get_error_message(code, why, sizeof(why));
		return fail(lx, at, "bad regular expression: %s (at byte %zu of it)", (const char *)why, (size_t)offset);
	}
	n->re_column = (size_t)(at - lx->src) + 1;
	return 0;
}

static int parse_primary(struct lexer *lx, struct node **out)
{
	struct node *left = NULL, *right = NULL, *n;
	const char *op_at, *right_at = NULL;
	enum op op;
	int err;

	*out = NULL;
	if (lx->t == T_LP) {
		const char *open = lx->start;
		if (++lx->depth > XTRK_QUERY_MAX_DEPTH)
			return fail(lx, open, "parentheses and 'not' nested more than %d deep", XTRK_QUERY_MAX_DEPTH);
		if ((err = next(lx)) < 0 || (err = parse_or(lx, out)) < 0)
			return err;
		lx->depth--;
		if (lx->t != T_RP) {
			node_free(*out);
			*out = NULL;
			return fail(lx, lx->start, "expected ')' to close the '(' at column %zu, found %s",
				(size_t)(open - lx->src) + 1, tok_text(lx));
		}
		return next(lx);
	}
	if ((err = parse_operand(lx, &left)) < 0)
		return err;
	if (lx->t != T_OP) {
		if (left->kind == N_LIT) {
			node_free(left);
			return fail(lx, lx->start, "expected an operator (== != < <= > >= ~ contains), found %s", tok_text(lx));
		}
		if (!(n = node_new(N_TRUTH))) {
			node_free(left);
			return xtrk_error_oom();
		}
		n->a = left;
		*out = n;
		return 0;
	}
	op = lx->op;
	op_at = lx->start;
	{
		int oplen = (int)(lx->p - lx->start);
		if ((err = next(lx)) == 0 && (lx->t < T_FIELD || lx->t > T_NULL))
			err = fail(lx, lx->start, "expected a value after '%.*s', found %s", oplen, op_at, tok_text(lx));
		right_at = lx->start;
	}
	if (err < 0 || (err = parse_operand(lx, &right)) < 0) {
		node_free(left);
		return err;
	}
	if (!(n = node_new(N_CMP))) {
		node_free(left);
		node_free(right);
		return xtrk_error_oom();
	}
	n->op = op;
	n->a = left;
	n->b = right;
	if (op == OP_RE) {
		if (right->kind != N_LIT || right->lit.type != XTRK_VAL_STR) {
			node_free(n);
			return fail(lx, op_at, "'~' takes a regular expression in quotes on its right");
		}
		if ((err = compile_re(lx, n, right_at)) < 0) {
			node_free(n);
			return err;
		}
	}
	*out = n;
	return 0;
}

static int parse_not(struct lexer *lx, struct node **out)
{
	struct node *n;
	int err;
	if (lx->t != T_NOT)
		return parse_primary(lx, out);
	if (++lx->depth > XTRK_QUERY_MAX_DEPTH)
		return fail(lx, lx->start, "parentheses and 'not' nested more than %d deep", XTRK_QUERY_MAX_DEPTH);
	if ((err = next(lx)) < 0)
		return err;
	if (!(n = node_new(N_NOT)))
		return xtrk_error_oom();
	if ((err = parse_not(lx, &n->a)) < 0) {
		node_free(n);
		return err;
	}
	lx->depth--;
	*out = n;
	return 0;
}

static int parse_binary(struct lexer *lx, struct node **out, enum tok t, enum kind k,
	int (*sub)(struct lexer *, struct node **))
{
	int err = sub(lx, out);
	while (err == 0 && lx->t == t) {
		struct node *n = node_new(k);
		if (!n)
			return xtrk_error_oom();
		n->a = *out;
		*out = n;
		if ((err = next(lx)) == 0)
			err = sub(lx, &n->b);
	}
	return err;
}

static int parse_and(struct lexer *lx, struct node **out)
{
	return parse_binary(lx, out, T_AND, N_AND, parse_not);
}

static int parse_or(struct lexer *lx, struct node **out)
{
	return parse_binary(lx, out, T_OR, N_OR, parse_and);
}

int xtrk_query_parse(xtrk_query **out, const char *expr, size_t *column)
{
	struct lexer lx;
	xtrk_query *q = calloc(1, sizeof(*q));
	size_t col = 0;
	int err;

	*out = NULL;
	if (!column)
		column = &col;
	*column = 0;
	if (!q)
		return xtrk_error_oom();
	memset(&lx, 0, sizeof(lx));
	lx.src = lx.p = expr;
	lx.column = column;
	if ((err = next(&lx)) == 0 && lx.t == T_END)
		err = fail(&lx, lx.start, "the expression is empty");
	if (err == 0)
		err = parse_or(&lx, &q->root);
	if (err == 0 && lx.t != T_END)
		err = fail(&lx, lx.start, "expected 'and', 'or' or the end, found %s", tok_text(&lx));
	free(lx.text);
	if (err == 0 && (!(q->mctx = pcre2_match_context_create(NULL)) ||
			!(q->md = pcre2_match_data_create(1, NULL))))
		err = xtrk_error_oom();
	if (err < 0) {
		xtrk_query_free(q);
		return err;
	}
	pcre2_set_match_limit(q->mctx, XTRK_QUERY_MATCH_LIMIT);
	pcre2_set_depth_limit(q->mctx, XTRK_QUERY_MATCH_LIMIT / 10);
	pcre2_set_heap_limit(q->mctx, XTRK_QUERY_HEAP_KIB);
	*out = q;
	return 0;
}

void xtrk_query_free(xtrk_query *q)
{
	if (!q)
		return;
	node_free(q->root);
	pcre2_match_context_free(q->mctx);
	pcre2_match_data_free(q->md);
	free(q);
}

static int bind_node(struct node *n, xtrk_index *ix)
{
	int err = 0;
	if (!n)
		return 0;
	if (n->kind == N_FIELD && !n->key)
		err = xtrk_index_key_new(&n->key, ix, n->field);
	if (err == 0)
		err = bind_node(n->a, ix);
	if (err == 0)
		err = bind_node(n->b, ix);
	return err;
}

int xtrk_query_bind(xtrk_query *q, xtrk_index *ix)
{
	return bind_node(q->root, ix);
}

static int each_field(const struct node *n, int (*cb)(const char *, const xtrk_index_key *, void *), void *payload)
{
	int err = 0;
	if (!n)
		return 0;
	if (n->kind == N_FIELD)
		err = cb(n->field, n->key, payload);
	if (err == 0)
		err = each_field(n->a, cb, payload);
	if (err == 0)
		err = each_field(n->b, cb, payload);
	return err;
}

int xtrk_query_each_field(const xtrk_query *q, int (*cb)(const char *field, const xtrk_index_key *key, void *payload),
	void *payload)
{
	return each_field(q->root, cb, payload);
}

/* ---- evaluation ---- */

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int str_eq(const xtrk_value *a, const xtrk_value *b)
{
	const xtrk_value *full = a->len >= b->len ? a : b, *part = a->len >= b->len ? b : a;
	if (a->len == b->len && !memcmp(a->str, b->str, a->len))
		return 1;
	/* An object or commit ID matches a prefix of at least 4 hex digits, in either case. */
	return (full->len == 32 || full->len == 40) && part->len >= 4 && all_hex(full->str, full->len) &&
		all_hex(part->str, part->len) && !strncasecmp(full->str, part->str, part->len);
}

static int same(const xtrk_value *a, const xtrk_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case XTRK_VAL_NUM: case XTRK_VAL_BOOL: return a->num == b->num;
	case XTRK_VAL_STR: return str_eq(a, b);
	case XTRK_VAL_NULL: return 1;
	default: return 0;
	}
}

int xtrk_value_cmp(const xtrk_value *a, const xtrk_value *b)
{
	if (a->type != b->type)
		return (a->type > b->type) - (a->type < b->type);
	if (a->type == XTRK_VAL_STR) {
		size_t n = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->str, b->str, n);
		return c ? c : (a->len > b->len) - (a->len < b->len);
	}
	return (a->num > b->num) - (a->num < b->num);
}

static void operand(xtrk_value *out, const struct node *n, const xtrk_index *ix, size_t i)
{
	if (n->kind == N_LIT)
		*out = n->lit;
	else if (!xtrk_index_get(out, ix, i, n->key))
		out->type = XTRK_VAL_NONE;
}

struct holds {
	const xtrk_value *want;
	int found;
};

static int holds_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	struct holds *h = payload;
	(void)key;
	(void)klen;
	if (same(v, h->want)) {
		h->found = 1;
		return 1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 or 0; XTRK_EINVALID when the match goes over a bound (one value's work, or the query's time). */
static int match_re(xtrk_query *q, const struct node *n, const xtrk_value *v)
{
	char num[XTRK_DOUBLE_BUFSZ];
	const char *s;
	size_t len;
	double t0;
	int rc;

	if (v->type == XTRK_VAL_NUM) {
		len = xtrk_double_format(num, v->num); /* the text log and show print */
		s = num;
	} else if (v->type == XTRK_VAL_STR) {
		s = v->str;
		len = v->len;
	} else {
		return 0;
	}
	t0 = now();
	rc = pcre2_match(n->re, (PCRE2_SPTR)s, len, 0, 0, q->md, q->mctx);
	q->re_seconds += now() - t0;
	if (rc >= 0)
		rc = 1;
	else if (rc == PCRE2_ERROR_NOMATCH)
		rc = 0;
	else if (rc == PCRE2_ERROR_NOMEMORY)
		return xtrk_error_oom();
	else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
		return xtrk_error_set(XTRK_EINVALID, "column %zu: the regular expression needs too much work on a "
			"%zu-byte value (it backtracks without bound, as (a+)+ does); simplify it", n->re_column, len);
	else {
		PCRE2_UCHAR why[200];
		pcre2_get_error_message(rc, why, sizeof(why));
		return xtrk_error_set(XTRK_EINVALID, "column %zu: the regular expression failed: %s", n->re_column,
			(const char *)why);
	}
	if (q->re_seconds > XTRK_QUERY_MAX_SECONDS)
		return xtrk_error_set(XTRK_EINVALID, "column %zu: the regular expressions took more than %d s in all; "
			"simplify them or narrow the runs", n->re_column, XTRK_QUERY_MAX_SECONDS);
	return rc;
}

/* 1, 0, or < 0 on an error (a regular expression over its bounds). */
static int eval(xtrk_query *q, const struct node *n, const xtrk_index *ix, size_t i)
{
	xtrk_value a, b;
	int r;
	switch (n->kind) {
	case N_OR: return (r = eval(q, n->a, ix, i)) != 0 ? r : eval(q, n->b, ix, i);
	case N_AND: return (r = eval(q, n->a, ix, i)) <= 0 ? r : eval(q, n->b, ix, i);
	case N_NOT: return (r = eval(q, n->a, ix, i)) < 0 ? r : !r;
	case N_TRUTH:
		operand(&a, n->a, ix, i);
		return (a.type == XTRK_VAL_BOOL || a.type == XTRK_VAL_NUM) ? a.num != 0 : a.type == XTRK_VAL_STR && a.len;
	case N_CMP:
		break;
	default:
		return 0;
	}
	operand(&b, n->b, ix, i);
	if (n->op == OP_CONTAINS) {
		struct holds h = { &b, 0 };
		if (b.type == XTRK_VAL_NONE)
			return 0;
		if (n->a->kind == N_FIELD) {
			operand(&a, n->a, ix, i);
			if (a.type == XTRK_VAL_STR && b.type == XTRK_VAL_STR)
				return b.len <= a.len && memmem(a.str, a.len, b.str, b.len) != NULL;
			xtrk_index_each_below(ix, i, n->a->key, holds_cb, &h);
		}
		return h.found;
	}
	operand(&a, n->a, ix, i);
	if (a.type == XTRK_VAL_NONE || b.type == XTRK_VAL_NONE)
		return 0;
	switch (n->op) {
	case OP_EQ: return same(&a, &b);
	case OP_NE: return a.type == b.type && !same(&a, &b);
	case OP_RE: return match_re(q, n, &a);
	default:
		break;
	}
	if (a.type != b.type || (a.type != XTRK_VAL_NUM && a.type != XTRK_VAL_STR))
		return 0;
	{
		int c = xtrk_value_cmp(&a, &b);
		switch (n->op) {
		case OP_LT: return c < 0;
		case OP_LE: return c <= 0;
		case OP_GT: return c > 0;
		case OP_GE: return c >= 0;
		default: return 0;
		}
	}
}

int xtrk_query_match(xtrk_query *q, const xtrk_index *ix, size_t i)
{
	int r;
	if (q->failed)
		return XTRK_EINVALID;
	if ((r = eval(q, q->root, ix, i)) < 0)
		q->failed = 1;
	return r;
}

int xtrk_query_run_matches(xtrk_repo *repo, const xtrk_oid *run, const char *expr, const char *what)
{
	xtrk_query *q = NULL;
	xtrk_index *ix = NULL;
	size_t col;
	int rc = 0;
	if (xtrk_query_parse(&q, expr, &col) < 0) {
		rc = xtrk_error_set(XTRK_EINVALID, "%s: %s", what, xtrk_error_last());
		goto done;
	}
	if ((rc = xtrk_index_open(&ix, repo, NULL)) < 0 || (rc = xtrk_query_bind(q, ix)) < 0)
		goto done;
	for (size_t i = 0; i < xtrk_index_count(ix); i++)
		if (!xtrk_oid_cmp(xtrk_index_run(ix, i), run)) {
			rc = xtrk_query_match(q, ix, i);
			goto done;
		}
	rc = 0;
done:
	xtrk_query_free(q);
	xtrk_index_free(ix);
	return rc;
}
