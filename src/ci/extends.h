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

#include "ci/yaml.h"

#define CI_MAX_EXTENDS_DEPTH 10

int ci_extends_resolve(struct ci_yctx *ctx, struct ci_node *root);
int ci_references_resolve(struct ci_yctx *ctx, struct ci_node *root);

#endif
