/*
 * ci/extends.h: `extends:` and `!reference` resolution on the composed
 * tree (after include:, before validation), in GitLab's order.
 *
 * Design: extends (Gitlab::Ci::Config::Extendable) resolves every
 * top-level hash with `extends:`: parents in list order are deep-merged
 * into an empty hash, then the entry itself on top (maps merge, anything
 * else, arrays included, is replaced). Each entry is resolved once and
 * memoized together with the height of its extends chain, so the whole
 * pass is linear in the size of the configuration; chains deeper than 10
 * levels, cycles, unknown and non-hash parents are GitLab's errors.
 * !reference (Config::Yaml::Tags::Resolver) then replaces every tag by a
 * copy of the value at its path in the extended configuration, resolving
 * references inside that value first; a path already being resolved is a
 * circular chain.
 */
#ifndef SO_CI_EXTENDS_H
#define SO_CI_EXTENDS_H

#include "ci/hmap.h"
#include "ci/yaml.h"

#define CI_MAX_EXTENDS_DEPTH 10

/* Whole-tree passes, in GitLab's order (extends, then !reference). */
int ci_extends_resolve(struct ci_yctx *ctx, struct ci_node *root);
int ci_references_resolve(struct ci_yctx *ctx, struct ci_node *root);

/* The same, entry by entry, so that a caller can turn each job into its
 * model and free its tree before the next one is expanded (memory stays
 * proportional to the input, not to the expanded configuration).
 * ci_compose_entry(i) resolves extends of top-level entry i and then the
 * !reference tags inside it; an entry looked into by a reference is
 * extended first, so the result equals the whole-tree passes. root's
 * entries must not be added, removed or reordered in between (values may
 * be replaced). ci_compose_rest() composes every entry not done yet. */
struct ci_compose;
int ci_compose_begin(struct ci_yctx *ctx, struct ci_node *root,
	struct ci_compose **out);
int ci_compose_entry(struct ci_compose *c, size_t i);
int ci_compose_rest(struct ci_compose *c);
void ci_compose_end(struct ci_compose *c);   /* accepts NULL */

/* Adds to pins every top-level name that a !reference or an extends: may
 * look into: such entries must be kept until the composition ends. The
 * keys are owned by the map: release it with ci_compose_pins_free(). */
void ci_compose_pins(const struct ci_node *root, struct ci_hmap *pins);
void ci_compose_pins_free(struct ci_hmap *pins);

#endif
