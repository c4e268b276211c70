/*
 * ci/yaml.h: the generic YAML tree the CI processor composes on, and its
 * loader (libfyaml event API).
 *
 * Design: GitLab loads YAML with Ruby's Psych (YAML 1.1 scalars: yes/no/
 * on/off are booleans; `<<` merge keys; duplicate keys keep the last value
 * at the first key's place). We build our own small tree from libfyaml
 * parser events rather than keeping libfyaml's document, because every
 * later step (include merge, extends deep merge, !reference) rewrites the
 * tree and needs positions on every node. Aliases are resolved at load
 * time by copying the anchored value (anchors are per file, as in GitLab);
 * every node created by a copy counts against ctx->max_nodes, so an
 * exponential "billion laughs" input stops with an error instead of
 * exhausting memory. `!reference [..]` sequences become CI_N_REF nodes,
 * resolved later (ci/extends.c). Maps keep insertion order and get a hash
 * index once they have 32 keys, so a 10,000-job top level is looked up in
 * O(1).
 *
 * Ownership: a node owns its children; ci_node_free() frees a subtree.
 * node->file is interned in the ctx (borrowed).
 */
#ifndef SO_CI_YAML_H
#define SO_CI_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ci/config.h"
#include "ci/hmap.h"

enum ci_ntype {
	CI_N_NULL = 0,
	CI_N_BOOL,
	CI_N_INT,
	CI_N_FLOAT,
	CI_N_STR,
	CI_N_SEQ,
	CI_N_MAP,
	CI_N_REF,   /* !reference [items...]; items are the path nodes */
};

struct ci_node;

struct ci_kv {
	char *key;          /* owned, NUL-terminated */
	struct ci_node *val;/* owned, never NULL */
	uint32_t klen;
	uint32_t line, col; /* position of the key */
	uint32_t merged;    /* loader: set by a << merge, not written here */
};

/* 56 bytes: a 10,000-job configuration holds a few hundred thousand. */
struct ci_node {
	uint8_t type;       /* enum ci_ntype */
	bool b;             /* CI_N_BOOL value; for CI_N_STR: plain scalar */
	uint32_t line, col;
	uint32_t len;       /* scalars: bytes of str */
	uint32_t n, cap;    /* SEQ/REF items or MAP entries */
	const char *file;   /* interned (ctx); borrowed */
	char *str;          /* scalars: the text (NULL for CI_N_NULL) */
	union {
		struct ci_node **items; /* SEQ / REF */
		struct ci_kv *kv;       /* MAP */
	};
	struct ci_hmap *idx;    /* MAP index (n >= 32), keys borrowed from kv */
};

/* The state shared by every step of one ci_config_load(). */
struct ci_yctx {
	struct ci_diags *diags;  /* borrowed, never NULL */
	size_t nodes;            /* nodes created by copies so far */
	size_t max_nodes;
	size_t max_bytes;
	char **files;            /* interned file names (owned) */
	size_t n_files;
	struct ci_hmap file_idx;
};

void ci_yctx_init(struct ci_yctx *ctx, struct ci_diags *diags,
	size_t max_nodes, size_t max_bytes);
/* Frees the interned names (the nodes referring to them must be gone, or
 * their names moved to a config with ci_yctx_steal_files). */
void ci_yctx_dispose(struct ci_yctx *ctx);
const char *ci_yctx_intern(struct ci_yctx *ctx, const char *file);

/* Adds a diagnostic (file may be NULL). Returns SO_EINVALID for errors
 * (so `return ci_diag_error(...)` reads naturally), 0 for warnings. */
int ci_diag_add(struct ci_diags *d, enum ci_severity sev, const char *file,
	unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
int ci_diag_at(struct ci_yctx *ctx, const struct ci_node *n,
	const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Loads one file. On success *out is the config document's root (a map;
 * an empty file gives an empty map) and *header the `spec:` header
 * document's root when the file has one (else NULL); both caller frees.
 * Errors (YAML syntax, non-map root, budget) go to ctx->diags with the
 * file and position, and the return is SO_EINVALID or SO_ETOOBIG. */
int ci_yaml_load(struct ci_yctx *ctx, const char *file, const char *data,
	size_t len, struct ci_node **out, struct ci_node **header);

struct ci_node *ci_node_new(enum ci_ntype type, const char *file,
	unsigned line, unsigned col);
void ci_node_free(struct ci_node *n);   /* accepts NULL */
/* Deep copy, counted against ctx->max_nodes; SO_ETOOBIG (with a
 * diagnostic at the source node) when over budget. */
int ci_node_copy(struct ci_yctx *ctx, const struct ci_node *src,
	struct ci_node **out);
size_t ci_node_count(const struct ci_node *n);

/* Map access. */
struct ci_node *ci_map_get(const struct ci_node *map, const char *key);
const struct ci_kv *ci_map_kv(const struct ci_node *map, const char *key);
/* Sets key to val (stolen); an existing key keeps its place and its old
 * value is freed. Returns true when the key already existed. */
bool ci_map_set(struct ci_node *map, const char *key, size_t klen,
	unsigned line, unsigned col, struct ci_node *val);
/* Removes key and returns its value (caller frees), or NULL. */
struct ci_node *ci_map_take(struct ci_node *map, const char *key);
void ci_seq_push(struct ci_node *seq, struct ci_node *item);

/* Rails Hash#deep_merge!: maps merge recursively, anything else in src
 * replaces (a copy of src's value goes into dst). */
int ci_node_merge(struct ci_yctx *ctx, struct ci_node *dst,
	const struct ci_node *src);

/* True for scalars (null, bool, int, float, string). */
bool ci_node_is_scalar(const struct ci_node *n);
/* The value of a scalar as GitLab turns it into a string: "" for null,
 * "true"/"false" for booleans, the YAML text otherwise. Borrowed. */
const char *ci_node_text(const struct ci_node *n);
/* "string", "hash", "array", "boolean", ... for messages. */
const char *ci_ntype_name(enum ci_ntype t);

/* The node as JSON (REF nodes as {"!reference": [...]}). New reference. */
json_t *ci_node_to_json(const struct ci_node *n);

#endif
