/*
 * ci/expr.c: GitLab's CI/CD variable expressions (`rules:if` & co).
 *
 * Design, following lib/gitlab/ci/pipeline/expression/ step by step:
 *
 * Lexer. At each position, after skipping ASCII whitespace, the lexemes are
 * tried in GitLab's order: `(`, `)`, variable `$\w+`, string `"..."` or
 * `'...'` (shortest, no escapes, no newline inside), pattern
 * `/([^/]|\\/)+[^\\]/[ismU]*` (matched with PCRE2 so that backtracking picks
 * the same end as Ruby does), `null`, `==`, `=~`, `!=`, `!~`, `&&`, `||`.
 * Nothing matching is "Unknown lexeme found!"; GitLab's loop stops after
 * 100 scans, so a statement may hold at most 99 tokens ("Too many tokens!").
 * `${VAR}` is not a lexeme, exactly as in GitLab.
 *
 * Parser. GitLab's shunting-yard, unchanged: an operator pops operators of
 * equal or tighter precedence (comparisons 10, && 11, || 12), `)` pops up
 * to its `(`, leftovers are appended; the RPN is folded with an operand
 * stack and an operator missing an operand, a stray `(`, or more than one
 * result is an error. This accepts what GitLab accepts, quirks included
 * (e.g. `$A $B ==`). Tree depth is bounded by the token cap.
 *
 * Values and evaluation (Ruby semantics): nil, true, false, string, regex.
 * `==`/`!=` compare type and content. `&&`/`||` use Ruby truthiness (only
 * nil and false are falsy, "" is truthy) and return an operand. `=~` is
 * false (and `!~` true) when the right value is nil/false; a string right
 * value is converted to a regex when it has the /re/flags form and the
 * regex is valid, otherwise GitLab falls back to String#scan, i.e. a
 * substring test of the left text inside that string. The left value is
 * converted with to_s (nil -> ""). The statement is true when the final
 * value is present? (not nil/false, not a blank string; blank = only
 * Unicode white space).
 *
 * Regexes: GitLab uses RE2 (Gitlab::UntrustedRegexp). Here PCRE2 with UTF,
 * invalid-UTF tolerance, DOLLAR_ENDONLY (RE2's `$` is end of text unless
 * (?m)), flags i/m/s/U mapped to the same PCRE2 options, and a match limit
 * (RE2 is linear; PCRE2 hitting the limit counts as "no match"). Features
 * RE2 refuses are refused here too where cheap to detect: backreferences,
 * lookaround, atomic/conditional/recursive groups, possessive quantifiers,
 * \G \K \Z \R \X \g \k escapes, counted repetition above 1000. Remaining
 * differences: PCRE2's \v \h classes, Unicode class details, and RE2's
 * octal escapes; none of them occurs in real configs we know of.
 */
#include "ci/expr.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

#define INVALID_MSG "invalid expression syntax"
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000

/* ---------- regexes ---------- */

struct ci_re {
	pcre2_code *code;
	char *source;        /* body as written (after \/ -> /), for == */
	char flags[8];
};

static _Thread_local char last_reason[128];

static void set_reason(const char *r)
{
	snprintf(last_reason, sizeof(last_reason), "%s", r);
}

const char *ci_expr_last_reason(void)
{
	return last_reason;
}

static void re_free(struct ci_re *re)
{
	if (!re)
		return;
	pcre2_code_free(re->code);
	free(re->source);
	free(re);
}

/* Rejects constructs RE2 does not support (see the file comment). Returns
 * true when the body is acceptable. */
static bool re2_compatible(const char *p, size_t n)
{
	bool in_class = false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 >= n)
				return false;
			char e = p[++i];
			if (e == 'Q') { /* literal up to \E */
				const char *end = NULL;
				for (size_t j = i + 1; j + 1 < n; j++)
					if (p[j] == '\\' && p[j + 1] == 'E') {
						end = p + j;
						break;
					}
				if (!end)
					return true;
				i = (size_t)(end - p) + 1;
				continue;
			}
			if (!in_class && e >= '1' && e <= '9' &&
			    !(i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7'))
				return false;   /* backreference */
			if (strchr("GKZRXgkN", e))
				return false;
			continue;
		}
		if (in_class) {
			if (c == ']')
				in_class = false;
			continue;
		}
		if (c == '[') {
			in_class = true;
			/* a leading ] or ^] is literal */
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;
			continue;
		}
		if (c == '(' && i + 1 < n && p[i + 1] == '?') {
			size_t j = i + 2;
			if (j >= n)
				return false;
			if (p[j] == ':' )
				continue;
			if (p[j] == 'P' && j + 1 < n && p[j + 1] == '<')
				continue;
			if (p[j] == '<' && j + 1 < n && p[j + 1] != '=' &&
			    p[j + 1] != '!')
				continue;   /* (?<name>...) */
			/* flags group: [imsU-]+ followed by ) or : */
			size_t k = j;
			while (k < n && p[k] && strchr("imsU-", p[k]))
				k++;
			if (k > j && k < n && (p[k] == ')' || p[k] == ':'))
				continue;
			return false;
		}
		if ((c == '*' || c == '+' || c == '?' || c == '}') &&
		    i + 1 < n && p[i + 1] == '+')
			return false;       /* possessive */
		if (c == '{') {
			/* {n}, {n,}, {n,m}: RE2 caps counts at 1000 */
			long v = 0;
			for (size_t j = i + 1; j < n &&
			    ((p[j] >= '0' && p[j] <= '9') || p[j] == ','); j++) {
				v = p[j] == ',' ? 0 : v * 10 + (p[j] - '0');
				if (v > 1000)
					return false;
			}
		}
	}
	return true;
}

/* Compiles body with Ruby/RE2 flags. NULL when invalid. */
static struct ci_re *re_compile(const char *body, size_t len, const char *flags,
	size_t nflags)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
		PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C;
	int errcode;
	PCRE2_SIZE erroff;
	struct ci_re *re;

	if (!re2_compatible(body, len))
		return NULL;
	for (size_t i = 0; i < nflags; i++) {
		switch (flags[i]) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'U': opts |= PCRE2_UNGREEDY; break;
		default: return NULL;
		}
	}
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)body, len, opts, &errcode,
		&erroff, NULL);
	if (!code)
		return NULL;
	re = xcalloc(1, sizeof(*re));
	re->code = code;
	re->source = xstrndup(body, len);
	snprintf(re->flags, sizeof(re->flags), "%.*s",
		(int)(nflags < 7 ? nflags : 7), flags);
	return re;
}

/* Unanchored search; a PCRE2 failure (match limit) counts as no match. */
static bool re_search(const struct ci_re *re, const char *text, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	int rc;

	pcre2_set_match_limit(mc, MATCH_LIMIT);
	pcre2_set_depth_limit(mc, DEPTH_LIMIT);
	rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, 0, 0, md, mc);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* Gitlab::UntrustedRegexp::RubySyntax: %r{^/(?<regexp>.*)/(?<flags>[ismU]*)$}
 * with Ruby's line anchors and `.` not crossing newlines: the first line
 * that starts with '/' and ends with '/' + flags; the body runs to the
 * last such '/'. Returns false when no line has that shape. */
static bool ruby_syntax_split(const char *s, size_t n, const char **body,
	size_t *blen, const char **flags, size_t *flen)
{
	size_t ls = 0;
	while (ls <= n) {
		size_t le = ls;
		while (le < n && s[le] != '\n')
			le++;
		if (le > ls && s[ls] == '/') {
			/* rightmost '/' (index > ls) whose tail is all flags */
			for (size_t k = le; k > ls + 1; k--) {
				size_t slash = k - 1;
				if (s[slash] != '/')
					continue;
				bool ok = true;
				for (size_t f = slash + 1; f < le; f++)
					if (!s[f] || !strchr("ismU", s[f])) {
						ok = false;
						break;
					}
				if (!ok)
					continue;
				*body = s + ls + 1;
				*blen = slash - ls - 1;
				*flags = s + slash + 1;
				*flen = le - slash - 1;
				return true;
			}
		}
		if (le >= n)
			break;
		ls = le + 1;
	}
	return false;
}

/* Lexeme::Pattern.new: replaces "\/" by "/", then RubySyntax.fabricate!. */
static struct ci_re *pattern_build(const char *s, size_t n)
{
	char *t = xmalloc(n + 1);
	size_t m = 0;
	const char *body, *flags;
	size_t blen, flen;
	struct ci_re *re = NULL;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '/') {
			t[m++] = '/';
			i++;
		} else {
			t[m++] = s[i];
		}
	}
	t[m] = 0;
	if (ruby_syntax_split(t, m, &body, &blen, &flags, &flen))
		re = re_compile(body, blen, flags, flen);
	free(t);
	return re;
}

int ci_expr_regex_search(const char *pattern, const char *text)
{
	const char *body, *flags;
	size_t blen, flen;
	struct ci_re *re;
	int r;

	if (!ruby_syntax_split(pattern, strlen(pattern), &body, &blen, &flags,
	    &flen) || !(re = re_compile(body, blen, flags, flen)))
		return error_set(SO_EINVALID, "invalid regular expression");
	r = re_search(re, text, strlen(text)) ? 1 : 0;
	re_free(re);
	return r;
}

struct ci_regex {
	struct ci_re *re;
};

int ci_regex_compile(const char *pattern, struct ci_regex **out)
{
	const char *body, *flags;
	size_t blen, flen;
	struct ci_re *re;

	*out = NULL;
	if (!ruby_syntax_split(pattern, strlen(pattern), &body, &blen, &flags,
	    &flen) || !(re = re_compile(body, blen, flags, flen)))
		return error_set(SO_EINVALID, "invalid regular expression");
	*out = xmalloc(sizeof(**out));
	(*out)->re = re;
	return 0;
}

bool ci_regex_search(const struct ci_regex *r, const char *text)
{
	return re_search(r->re, text, strlen(text));
}

void ci_regex_free(struct ci_regex *r)
{
	if (!r)
		return;
	re_free(r->re);
	free(r);
}

/* The lexeme regex of Lexeme::Pattern, compiled once. */
static pcre2_code *pattern_lexeme;
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_lexeme_init(void)
{
	int errcode;
	PCRE2_SIZE erroff;
	pattern_lexeme = pcre2_compile(
		(PCRE2_SPTR)"/(?:[^/]|\\\\/)+[^\\\\]/[ismU]*",
		PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED, &errcode, &erroff, NULL);
}

/* Length of the pattern lexeme at s[0..n), or 0. */
static size_t scan_pattern(const char *s, size_t n)
{
	pcre2_match_data *md;
	pcre2_match_context *mc;
	size_t len = 0;

	pthread_once(&pattern_once, pattern_lexeme_init);
	if (!pattern_lexeme || n == 0 || s[0] != '/')
		return 0;
	md = pcre2_match_data_create(1, NULL);
	mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, 10 * MATCH_LIMIT);
	if (pcre2_match(pattern_lexeme, (PCRE2_SPTR)s, n, 0, 0, md, mc) >= 0)
		len = pcre2_get_ovector_pointer(md)[1];
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	return len;
}

/* ---------- tokens and nodes ---------- */

enum tok {
	T_POPEN, T_PCLOSE, T_VAR, T_STR, T_PAT, T_NULL,
	T_EQ, T_MATCH, T_NE, T_NMATCH, T_AND, T_OR,
};

struct token {
	enum tok type;
	const char *s;   /* into the statement */
	size_t n;
};

static int precedence(enum tok t)
{
	switch (t) {
	case T_EQ: case T_MATCH: case T_NE: case T_NMATCH: return 10;
	case T_AND: return 11;
	case T_OR: return 12;
	case T_PCLOSE: return 900;
	case T_POPEN: return 901;
	default: return 0;
	}
}

static bool is_operator(enum tok t)
{
	return t >= T_EQ;
}

struct node {
	enum tok type;
	char *str;             /* T_VAR name, T_STR value (owned) */
	struct ci_re *re;      /* T_PAT (owned) */
	int left, right;       /* operator operands (node indexes) */
	/* =~ / !~ run-time regex cache (variable holding /re/) */
	char *dyn_src;
	struct ci_re *dyn_re;
	bool dyn_valid;
};

struct ci_expr {
	struct node *nodes;
	size_t n;
	int root;
};

void ci_expr_free(struct ci_expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->nodes[i].str);
		re_free(e->nodes[i].re);
		free(e->nodes[i].dyn_src);
		re_free(e->nodes[i].dyn_re);
	}
	free(e->nodes);
	free(e);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
		c == '\r';
}

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/* Scans one token at s[0..n). Returns false for an unknown lexeme. */
static bool scan_token(const char *s, size_t n, struct token *t)
{
	t->s = s;
	if (s[0] == '(') { t->type = T_POPEN; t->n = 1; return true; }
	if (s[0] == ')') { t->type = T_PCLOSE; t->n = 1; return true; }
	if (s[0] == '$' && n > 1 && is_word(s[1])) {
		size_t i = 1;
		while (i < n && is_word(s[i]))
			i++;
		t->type = T_VAR;
		t->n = i;
		return true;
	}
	if (s[0] == '"' || s[0] == '\'') {
		for (size_t i = 1; i < n && s[i] != '\n'; i++)
			if (s[i] == s[0]) {
				t->type = T_STR;
				t->n = i + 1;
				return true;
			}
	}
	size_t pl = scan_pattern(s, n);
	if (pl) {
		t->type = T_PAT;
		t->n = pl;
		return true;
	}
	static const struct { const char *text; enum tok type; } fixed[] = {
		{ "null", T_NULL }, { "==", T_EQ }, { "=~", T_MATCH },
		{ "!=", T_NE }, { "!~", T_NMATCH }, { "&&", T_AND },
		{ "||", T_OR },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		size_t l = strlen(fixed[i].text);
		if (n >= l && memcmp(s, fixed[i].text, l) == 0) {
			t->type = fixed[i].type;
			t->n = l;
			return true;
		}
	}
	return false;
}

static int invalid(const char *reason)
{
	set_reason(reason);
	return error_set(SO_EINVALID, INVALID_MSG);
}

int ci_expr_compile(const char *expr, struct ci_expr **out)
{
	struct token toks[CI_EXPR_MAX_TOKENS];
	size_t ntok = 0, len, pos = 0;
	struct token rpn[CI_EXPR_MAX_TOKENS];
	size_t nrpn = 0;
	struct token ops[CI_EXPR_MAX_TOKENS];
	size_t nops = 0;
	int stack[CI_EXPR_MAX_TOKENS];
	size_t nstack = 0;
	struct ci_expr *e = NULL;
	int err = 0;

	*out = NULL;
	last_reason[0] = 0;
	if (!expr)
		return invalid("no statement");
	len = strlen(expr);
	if (len > CI_EXPR_MAX_LEN)
		return invalid("statement too long");

	/* Lexer: GitLab scans at most MAX_TOKENS times; reaching the end is
	 * only noticed at the start of a scan, so 99 tokens is the maximum. */
	for (size_t it = 0;; it++) {
		if (it == CI_EXPR_MAX_TOKENS)
			return invalid("Too many tokens!");
		while (pos < len && is_space(expr[pos]))
			pos++;
		if (pos >= len)
			break;
		if (!scan_token(expr + pos, len - pos, &toks[ntok]))
			return invalid("Unknown lexeme found!");
		pos += toks[ntok].n;
		ntok++;
	}
	if (ntok == 0)
		return invalid("Empty statement");

	/* Shunting-yard, as Expression::Parser#tokens_rpn. */
	for (size_t i = 0; i < ntok; i++) {
		struct token *t = &toks[i];
		if (!is_operator(t->type) && t->type != T_POPEN &&
		    t->type != T_PCLOSE) {
			rpn[nrpn++] = *t;
		} else if (is_operator(t->type)) {
			while (nops && precedence(t->type) >=
			    precedence(ops[nops - 1].type))
				rpn[nrpn++] = ops[--nops];
			ops[nops++] = *t;
		} else if (t->type == T_POPEN) {
			ops[nops++] = *t;
		} else {
			while (nops && precedence(T_PCLOSE) >=
			    precedence(ops[nops - 1].type))
				rpn[nrpn++] = ops[--nops];
			if (!nops)
				return invalid("Unmatched parenthesis");
			if (ops[nops - 1].type == T_POPEN)
				nops--;
		}
	}
	while (nops)
		rpn[nrpn++] = ops[--nops];

	/* Tree, as Expression::Parser#tree. */
	e = xcalloc(1, sizeof(*e));
	e->nodes = xcalloc(nrpn ? nrpn : 1, sizeof(*e->nodes));
	for (size_t i = 0; i < nrpn; i++) {
		struct token *t = &rpn[i];
		struct node *nd = &e->nodes[e->n];
		nd->type = t->type;
		nd->left = nd->right = -1;
		switch (t->type) {
		case T_VAR:
			nd->str = xstrndup(t->s + 1, t->n - 1);
			break;
		case T_STR:
			nd->str = xstrndup(t->s + 1, t->n - 2);
			break;
		case T_PAT:
			nd->re = pattern_build(t->s, t->n);
			if (!nd->re) {
				e->n++;
				err = invalid("Invalid regular expression!");
				goto done;
			}
			break;
		case T_NULL:
			break;
		case T_POPEN:
			err = invalid("Unprocessable token found in parse tree: parenthesis_open");
			goto done;
		case T_PCLOSE:
			err = invalid("Unprocessable token found in parse tree");
			goto done;
		default: /* operators */
			nd->right = nstack ? stack[--nstack] : -1;
			nd->left = nstack ? stack[--nstack] : -1;
			if (nd->left < 0 || nd->right < 0) {
				e->n++;
				err = invalid(nd->left < 0 ? "Invalid left operand" :
					"Invalid right operand");
				goto done;
			}
			break;
		}
		stack[nstack++] = (int)e->n;
		e->n++;
	}
	if (nstack > 1) {
		err = invalid("Unreachable nodes in parse tree");
		goto done;
	}
	if (nstack < 1) {
		err = invalid("Empty parse tree");
		goto done;
	}
	e->root = stack[0];
	*out = e;
	e = NULL;
done:
	ci_expr_free(e);
	return err;
}

/* ---------- evaluation ---------- */

enum vtype { V_NIL, V_FALSE, V_TRUE, V_STR, V_RE };

struct val {
	enum vtype t;
	const char *s;            /* V_STR */
	const struct ci_re *re;   /* V_RE */
};

struct run {
	const struct ci_expr *e;
	ci_var_lookup_fn lookup;
	void *cls;
};

static bool truthy(const struct val *v)
{
	return v->t != V_NIL && v->t != V_FALSE;
}

/* Ruby's [[:space:]] for UTF-8 text. Returns bytes consumed, 0 if the
 * character at s is not white space. */
static size_t space_len(const unsigned char *s)
{
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;
	if (s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
		return 2;
	if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)
		return 3;
	if (s[0] == 0xE2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 ||
	     s[2] == 0xAF))
		return 3;
	if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
		return 3;
	if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

static bool present(const struct val *v)
{
	if (v->t == V_NIL || v->t == V_FALSE)
		return false;
	if (v->t != V_STR)
		return true;
	const unsigned char *p = (const unsigned char *)v->s;
	while (*p) {
		size_t l = space_len(p);
		if (!l)
			return true;
		p += l;
	}
	return false;
}

static const char *to_s(const struct val *v)
{
	switch (v->t) {
	case V_NIL: return "";
	case V_TRUE: return "true";
	case V_FALSE: return "false";
	case V_STR: return v->s;
	case V_RE: return v->re->source;
	}
	return "";
}

static bool equal(const struct val *a, const struct val *b)
{
	if (a->t != b->t)
		return false;
	if (a->t == V_STR)
		return strcmp(a->s, b->s) == 0;
	if (a->t == V_RE)
		return strcmp(a->re->source, b->re->source) == 0 &&
			strcmp(a->re->flags, b->re->flags) == 0;
	return true;
}

static struct val eval(const struct run *r, int idx);

/* Lexeme::Matches#evaluate; the result for =~ (negated by the caller). */
static bool matches(struct node *nd, const struct val *text,
	const struct val *rvp)
{
	struct val rv = *rvp;
	const char *t = to_s(text);

	if (rv.t == V_RE)
		return re_search(rv.re, t, strlen(t));
	if (rv.t == V_TRUE)
		return false; /* GitLab raises (NoMethodError); treat as false */
	/* A string: a regex when it has the /re/flags form and compiles. */
	if (!nd->dyn_src || strcmp(nd->dyn_src, rv.s) != 0) {
		free(nd->dyn_src);
		re_free(nd->dyn_re);
		nd->dyn_src = xstrdup(rv.s);
		nd->dyn_re = pattern_build(rv.s, strlen(rv.s));
		nd->dyn_valid = nd->dyn_re != NULL;
	}
	if (nd->dyn_valid)
		return re_search(nd->dyn_re, t, strlen(t));
	/* String#scan(text).present?: text occurs in the string. */
	return strstr(rv.s, t) != NULL;
}

static struct val eval(const struct run *r, int idx)
{
	/* The node array is owned by the expression; the run-time regex
	 * cache of =~ nodes is its only mutable part. */
	struct node *nd = &((struct ci_expr *)r->e)->nodes[idx];
	struct val v = { V_NIL, NULL, NULL }, a, b;

	switch (nd->type) {
	case T_VAR:
		v.s = r->lookup ? r->lookup(r->cls, nd->str) : NULL;
		v.t = v.s ? V_STR : V_NIL;
		return v;
	case T_STR:
		v.t = V_STR;
		v.s = nd->str;
		return v;
	case T_PAT:
		v.t = V_RE;
		v.re = nd->re;
		return v;
	case T_NULL:
		return v;
	case T_EQ:
	case T_NE:
		a = eval(r, nd->left);
		b = eval(r, nd->right);
		v.t = (equal(&a, &b) == (nd->type == T_EQ)) ? V_TRUE : V_FALSE;
		return v;
	case T_MATCH:
	case T_NMATCH:
		a = eval(r, nd->left);
		b = eval(r, nd->right);
		/* nil/false on the right: =~ is false, !~ is true */
		if (!truthy(&b))
			v.t = nd->type == T_MATCH ? V_FALSE : V_TRUE;
		else
			v.t = (matches(nd, &a, &b) == (nd->type == T_MATCH)) ?
				V_TRUE : V_FALSE;
		return v;
	case T_AND:
		a = eval(r, nd->left);
		return truthy(&a) ? eval(r, nd->right) : a;
	case T_OR:
		a = eval(r, nd->left);
		return truthy(&a) ? a : eval(r, nd->right);
	default:
		return v;
	}
}

void ci_expr_run(const struct ci_expr *e, ci_var_lookup_fn lookup, void *cls,
	bool *out)
{
	struct run r = { e, lookup, cls };
	struct val v = eval(&r, e->root);
	*out = present(&v);
}

int ci_expr_inspect(const char *expr, ci_var_lookup_fn lookup, void *cls,
	char **out)
{
	struct ci_expr *e;
	struct val v;
	int err;

	*out = NULL;
	if ((err = ci_expr_compile(expr, &e)) < 0)
		return err;
	struct run r = { e, lookup, cls };
	v = eval(&r, e->root);
	switch (v.t) {
	case V_NIL: *out = xstrdup("nil"); break;
	case V_TRUE: *out = xstrdup("true"); break;
	case V_FALSE: *out = xstrdup("false"); break;
	case V_STR: *out = xasprintf("\"%s\"", v.s); break;
	case V_RE: *out = xasprintf("/%s/%s", v.re->source, v.re->flags); break;
	}
	ci_expr_free(e);
	return 0;
}

int ci_expr_eval(const char *expr, ci_var_lookup_fn lookup, void *cls,
	bool *out)
{
	struct ci_expr *e;
	int err;

	*out = false;
	if ((err = ci_expr_compile(expr, &e)) < 0)
		return err;
	ci_expr_run(e, lookup, cls, out);
	ci_expr_free(e);
	return 0;
}

int ci_expr_validate(const char *expr)
{
	bool b;
	return ci_expr_eval(expr, NULL, NULL, &b);
}
