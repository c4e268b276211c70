/*
 * ci/lint.h: `slashops lint [FILE]` without a server: load a
 * .gitlab-ci.yml from a plain checkout and report "OK" or the errors.
 *
 * Design: the file is read through ci/checkout.h (repository root, local
 * includes, globs, environment variables for include rules); this module
 * only formats the result.
 */
#ifndef SO_CI_LINT_H
#define SO_CI_LINT_H

struct buf;

/* Lints the file at path. Appends to out_report either "OK\n" (maybe after
 * "FILE:LINE:COL: warning: ..." lines) or one "FILE:LINE:COL: message"
 * line per error. Returns 0 when the configuration is valid, SO_EINVALID
 * when it has errors, SO_ENOTFOUND/SO_EFAIL when the file cannot be read
 * (message in error_msg() and in the report). */
int ci_lint(const char *path, struct buf *out_report);

#endif
