/*
 * ci/checkout.h: load a .gitlab-ci.yml from a plain checkout on disk,
 * without a server. The repository root is the nearest ancestor directory
 * of the file that contains `.git` (else the file's own directory); local
 * includes are read from there, with globs over the files under it (.git
 * excluded). include:project, remote, template and component are errors
 * (there is no server to ask). Variables for include rules and paths are
 * the ones given with ci_checkout_set_vars() (`ci plan`: the pipeline's
 * predefined and pipeline variables), else the process environment
 * (`lint`, so CI_* can be set by hand).
 *
 * Ownership: ci_checkout_open() returns an object the caller frees with
 * ci_checkout_free() (accepts NULL); configs from ci_checkout_load() are
 * the caller's (ci_config_free).
 */
#ifndef SO_CI_CHECKOUT_H
#define SO_CI_CHECKOUT_H

#include <stddef.h>

struct ci_checkout;
struct ci_config;
struct ci_diags;
struct ci_varlist;

/* Reads the file at path (4 MiB cap) and finds its repository root.
 * SO_ENOTFOUND / SO_ETOOBIG / SO_EFAIL with a message. */
int ci_checkout_open(struct ci_checkout **out, const char *path);
/* Loads and validates the configuration (see ci_config_load). */
int ci_checkout_load(struct ci_checkout *co, struct ci_config **out, struct ci_diags *diags);
/* Lists the checkout's files (relative paths); cls is the checkout. Fits
 * ci_list_files_fn and ci_ctx_list_files_fn. Caller frees all. */
int ci_checkout_list_files(void *cls, char ***out, size_t *n);
/* The variables include:rules and include paths see (borrowed; must
 * outlive the load). Without it, the process environment (for lint). */
void ci_checkout_set_vars(struct ci_checkout *co, const struct ci_varlist *vars);
const char *ci_checkout_root(const struct ci_checkout *co);
void ci_checkout_free(struct ci_checkout *co);

#endif
