/*
 * ci/include.h: `include:` composition and `spec:inputs` interpolation.
 *
 * Design: follows Gitlab::Ci::Config::External::Processor. Each file's
 * `include:` entries are expanded in order (strings, `local` with globs,
 * `project`+`file`, `rules`, `inputs`); every included file is loaded,
 * interpolated with its inputs, has its own includes processed
 * recursively, and is deep-merged into an initially empty map; the
 * including file is then deep-merged on top (its keys win). At most 150
 * files are included in total (GitLab's limit; also what stops include
 * cycles). `remote`, `template` and `component` need the network or
 * GitLab's bundled templates and are refused with an error that says so.
 * Include rules use ci/expr.h for `if`, the repository file list for
 * `exists`, and treat `changes` as true (no diff when composing).
 */
#ifndef SO_CI_INCLUDE_H
#define SO_CI_INCLUDE_H

#include <stdbool.h>

#include "ci/config.h"
#include "ci/yaml.h"

#define CI_MAX_INCLUDES 150

/* Processes the includes of *root (a file's root map, replaced by the
 * composed map on success). file is that file's path. */
int ci_include_process(struct ci_yctx *ctx, const struct ci_load_options *opts,
	const char *file, struct ci_node **root);

/* Interpolates $[[ inputs.NAME ]] in root (keys and string values) from
 * header's spec:inputs (may be NULL: then any given input is an error and
 * nothing is interpolated) and the given inputs (a map or NULL). at is the
 * node errors are reported at when no better position exists. */
int ci_inputs_apply(struct ci_yctx *ctx, const struct ci_load_options *opts,
	const struct ci_node *header, const struct ci_node *given,
	struct ci_node *root, const struct ci_node *at);

/* fnmatch as GitLab uses it for rules:changes/exists and include rules
 * (FNM_PATHNAME|FNM_DOTMATCH|FNM_EXTGLOB-like): `*` and `?` stop at '/',
 * `**` followed by '/' matches any number of directories, `**` elsewhere
 * matches anything, `[...]` classes and `{a,b}` alternatives. */
bool ci_glob_match(const char *pattern, const char *path);

/* include:local wildcards as GitLab's repository search does them: a
 * double star matches anything including '/', a single star anything but
 * '/'. So "configs/" + "**.yml" is every .yml below configs/, "configs/"
 * + "**" + "/" + "*.yml" only those in subfolders, and "configs/" +
 * "*.yml" only those directly in configs/. */
bool ci_glob_match_include(const char *pattern, const char *path);

#endif
