/*
 * ci/extends.c: extends: and !reference resolution (see extends.h).
 */
#include "ci/extends.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

/* ---------- extends ---------- */

struct ext {
	struct ci_yctx *ctx;
	struct ci_node *root;
	unsigned char *state;   /* 0 new, 1 resolving, 2 done */
	unsigned *height;
};

/* deep_merge! of src into dst, moving src's values (src is emptied). */
static void merge_steal(struct ci_node *dst, struct ci_node *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct ci_kv *s = &src->kv[i];
		struct ci_node *d = ci_map_get(dst, s->key);

		if (d && d->type == CI_N_MAP && s->val->type == CI_N_MAP) {
			merge_steal(d, s->val);
			ci_node_free(s->val);
		} else {
			ci_map_set(dst, s->key, s->klen, s->line, s->col, s->val);
		}
		free(s->key);
	}
	src->n = 0;
	if (src->idx) {
		ci_hmap_clear(src->idx);
		free(src->idx);
		src->idx = NULL;
	}
}

static int resolve(struct ext *x, size_t i, size_t depth, size_t top)
{
	struct ci_kv *kv = &x->root->kv[i];
	struct ci_node *job = kv->val, *ex, *merged;
	size_t n_parents;
	unsigned h = 0;
	int err;

	if (x->state[i] == 2 && depth + x->height[i] <= CI_MAX_EXTENDS_DEPTH)
		return 0;
	if (depth > CI_MAX_EXTENDS_DEPTH || (x->state[i] == 2)) {
		/* too deep already: stop before recursing further */
		const struct ci_kv *t = &x->root->kv[top];

		return ci_diag_add(x->ctx->diags, CI_DIAG_ERROR, t->val->file,
			t->line, t->col, "%s: nesting too deep in `extends`", t->key);
	}
	if (x->state[i] == 1)
		return ci_diag_add(x->ctx->diags, CI_DIAG_ERROR, job->file, kv->line,
			kv->col, "%s: circular dependency detected in `extends`",
			kv->key);
	if (job->type != CI_N_MAP || !(ex = ci_map_get(job, "extends"))) {
		x->state[i] = 2;
		return 0;
	}
	if (ex->type == CI_N_STR) {
		n_parents = 1;
	} else if (ex->type == CI_N_SEQ) {
		n_parents = ex->n;
		for (size_t k = 0; k < ex->n; k++) {
			if (ex->items[k]->type != CI_N_STR)
				return ci_diag_at(x->ctx, ex, "jobs:%s extends should be an "
					"array of strings or a string", kv->key);
		}
	} else {
		return ci_diag_at(x->ctx, ex, "jobs:%s extends should be an array "
			"of strings or a string", kv->key);
	}
	x->state[i] = 1;
	for (size_t k = 0; k < n_parents; k++) {
		const struct ci_node *pn = ex->type == CI_N_STR ? ex : ex->items[k];
		const struct ci_kv *pkv = ci_map_kv(x->root, pn->str);
		size_t j;

		if (!pkv)
			return ci_diag_at(x->ctx, pn, "%s: unknown keys in `extends` "
				"(%s)", kv->key, pn->str);
		if (pkv->val->type != CI_N_MAP)
			return ci_diag_at(x->ctx, pn, "%s: invalid base hashes in "
				"`extends` (%s)", kv->key, pn->str);
		j = (size_t)(pkv - x->root->kv);
		if ((err = resolve(x, j, depth + 1, top)) < 0)
			return err;
		if (x->height[j] + 1 > h)
			h = x->height[j] + 1;
	}
	if (depth + h > CI_MAX_EXTENDS_DEPTH) {
		/* named after the entry whose chain is too long */
		const struct ci_kv *t = &x->root->kv[top];

		return ci_diag_add(x->ctx->diags, CI_DIAG_ERROR, t->val->file,
			t->line, t->col, "%s: nesting too deep in `extends`", t->key);
	}
	/* The parents may have been replaced while resolving; look again. */
	merged = ci_node_new(CI_N_MAP, job->file, job->line, job->col);
	for (size_t k = 0; k < n_parents; k++) {
		const struct ci_node *pn = ex->type == CI_N_STR ? ex : ex->items[k];

		if ((err = ci_node_merge(x->ctx, merged,
		    ci_map_get(x->root, pn->str))) < 0) {
			ci_node_free(merged);
			return err;
		}
	}
	merge_steal(merged, job);
	ci_node_free(job);
	kv->val = merged;
	x->state[i] = 2;
	x->height[i] = h;
	return 0;
}

int ci_extends_resolve(struct ci_yctx *ctx, struct ci_node *root)
{
	struct ext x = { 0 };
	int err = 0;

	x.ctx = ctx;
	x.root = root;
	x.state = xcalloc(root->n + 1, 1);
	x.height = xcalloc(root->n + 1, sizeof(unsigned));
	for (size_t i = 0; i < root->n && err == 0; i++)
		err = resolve(&x, i, 0, i);
	free(x.state);
	free(x.height);
	return err;
}

/* ---------- !reference ---------- */

#define MAX_REF_DEPTH 100

struct refs {
	struct ci_yctx *ctx;
	struct ci_node *root;
	struct ext *x;          /* lazy extends of top-level entries, or NULL */
	const struct ci_node *stack[MAX_REF_DEPTH];
	size_t depth;
};

static char *ref_text(const struct ci_node *ref)
{
	struct buf b = BUF_INIT(0);

	buf_puts(&b, "!reference [");
	for (size_t i = 0; i < ref->n; i++) {
		json_t *s = json_string(ci_node_text(ref->items[i]));
		char *j = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;

		buf_printf(&b, "%s%s", i ? ", " : "", j ? j : "\"\"");
		free(j);
		json_decref(s);
	}
	buf_putc(&b, ']');
	return buf_detach(&b);
}

static bool same_path(const struct ci_node *a, const struct ci_node *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(ci_node_text(a->items[i]), ci_node_text(b->items[i])))
			return false;
	}
	return true;
}

static int resolve_tree(struct refs *r, struct ci_node *n);

/* Resolves the REF in *slot in place. */
static int resolve_slot(struct refs *r, struct ci_node **slot)
{
	struct ci_node *ref = *slot, **t, *copy;
	char *txt;
	int err = 0;

	for (size_t i = 0; i < r->depth; i++) {
		if (same_path(r->stack[i], ref)) {
			txt = ref_text(ref);
			err = ci_diag_at(r->ctx, ref, "%s is part of a circular chain",
				txt);
			free(txt);
			return err;
		}
	}
	if (r->depth == MAX_REF_DEPTH) {
		txt = ref_text(ref);
		err = ci_diag_at(r->ctx, ref, "%s is nested too deeply", txt);
		free(txt);
		return err;
	}
	r->stack[r->depth++] = ref;
	t = NULL;
	{
		struct ci_node *cur = r->root;

		for (size_t i = 0; i < ref->n; i++) {
			long k;
			const struct ci_kv *kv;

			if (i == 0 && r->x) {
				/* the entry must be extended before it is looked into */
				kv = ci_map_kv(cur, ci_node_text(ref->items[0]));
				if (kv && (err = resolve(r->x, (size_t)(kv - cur->kv),
				    0, (size_t)(kv - cur->kv))) < 0)
					goto done;
			}
			if (cur->type == CI_N_SEQ && ref->items[i]->type == CI_N_INT) {
				/* Ruby's Array#dig with an integer index */
				char *end;
				long idx = strtol(ref->items[i]->str, &end, 10);

				if (*end || idx < -(long)cur->n || idx >= (long)cur->n)
					break;
				t = &cur->items[idx < 0 ? (long)cur->n + idx : idx];
			} else if (cur->type == CI_N_MAP) {
				kv = ci_map_kv(cur, ci_node_text(ref->items[i]));
				if (!kv)
					break;
				k = kv - cur->kv;
				t = &cur->kv[k].val;
			} else {
				break;
			}
			if ((*t)->type == CI_N_REF &&
			    (err = resolve_slot(r, t)) < 0)
				goto done;
			cur = *t;
			if (i + 1 < ref->n)
				t = NULL;
		}
	}
	if (!t) {
		txt = ref_text(ref);
		err = ci_diag_at(r->ctx, ref, "%s could not be found", txt);
		free(txt);
		goto done;
	}
	if ((err = resolve_tree(r, *t)) < 0 ||
	    (err = ci_node_copy(r->ctx, *t, &copy)) < 0)
		goto done;
	r->depth--;
	ci_node_free(ref);
	*slot = copy;
	return 0;
done:
	r->depth--;
	return err;
}

static int resolve_tree(struct refs *r, struct ci_node *n)
{
	int err;

	for (size_t i = 0; i < n->n; i++) {
		struct ci_node **slot = n->type == CI_N_MAP ? &n->kv[i].val :
			&n->items[i];

		if (n->type == CI_N_REF)
			return 0;
		if ((*slot)->type == CI_N_REF) {
			if ((err = resolve_slot(r, slot)) < 0)
				return err;
		} else if ((*slot)->type == CI_N_MAP || (*slot)->type == CI_N_SEQ) {
			if ((err = resolve_tree(r, *slot)) < 0)
				return err;
		}
	}
	return 0;
}

int ci_references_resolve(struct ci_yctx *ctx, struct ci_node *root)
{
	struct refs r = { 0 };

	r.ctx = ctx;
	r.root = root;
	return resolve_tree(&r, root);
}

/* ---------- lazy composition, entry by entry ---------- */

struct ci_compose {
	struct ext x;
	struct refs r;
	unsigned char *done;    /* entry fully composed */
};

int ci_compose_begin(struct ci_yctx *ctx, struct ci_node *root,
	struct ci_compose **out)
{
	struct ci_compose *c = xcalloc(1, sizeof(*c));

	c->x.ctx = ctx;
	c->x.root = root;
	c->x.state = xcalloc(root->n + 1, 1);
	c->x.height = xcalloc(root->n + 1, sizeof(unsigned));
	c->r.ctx = ctx;
	c->r.root = root;
	c->r.x = &c->x;
	c->done = xcalloc(root->n + 1, 1);
	*out = c;
	return 0;
}

int ci_compose_entry(struct ci_compose *c, size_t i)
{
	struct ci_node **slot = &c->r.root->kv[i].val;
	int err;

	if (c->done[i])
		return 0;
	c->done[i] = 1;
	if ((err = resolve(&c->x, i, 0, i)) < 0)
		return err;
	if ((*slot)->type == CI_N_REF)
		return resolve_slot(&c->r, slot);
	if ((*slot)->type == CI_N_MAP || (*slot)->type == CI_N_SEQ)
		return resolve_tree(&c->r, *slot);
	return 0;
}

int ci_compose_rest(struct ci_compose *c)
{
	int err = 0;

	for (size_t i = 0; i < c->r.root->n && err == 0; i++)
		err = ci_compose_entry(c, i);
	return err;
}

void ci_compose_end(struct ci_compose *c)
{
	if (!c)
		return;
	free(c->x.state);
	free(c->x.height);
	free(c->done);
	free(c);
}

static void pin(struct ci_hmap *pins, const char *s, size_t len)
{
	char *k;

	if (ci_hmap_get(pins, s, len))
		return;
	k = xstrndup(s, len);
	ci_hmap_put(pins, k, len, k);
}

static void pin_scan(const struct ci_node *n, bool top, struct ci_hmap *pins)
{
	if (n->type == CI_N_REF) {
		if (n->n && n->items[0]->str)
			pin(pins, n->items[0]->str, n->items[0]->len);
		return;
	}
	if (n->type == CI_N_MAP && !top) {
		const struct ci_node *ex = ci_map_get(n, "extends");

		if (ex && ex->type == CI_N_STR)
			pin(pins, ex->str, ex->len);
		for (size_t i = 0; ex && ex->type == CI_N_SEQ && i < ex->n; i++) {
			if (ex->items[i]->type == CI_N_STR)
				pin(pins, ex->items[i]->str, ex->items[i]->len);
		}
	}
	for (size_t i = 0; i < n->n; i++)
		pin_scan(n->type == CI_N_MAP ? n->kv[i].val : n->items[i], false,
			pins);
}

void ci_compose_pins(const struct ci_node *root, struct ci_hmap *pins)
{
	pin_scan(root, true, pins);
}

void ci_compose_pins_free(struct ci_hmap *pins)
{
	if (!pins)
		return;
	for (size_t i = 0; i < pins->cap; i++)
		free(pins->slots[i].value);
	ci_hmap_clear(pins);
}
