/*
 * validate.h: GitLab's naming rules for what the API creates: usernames,
 * group and project paths, project names, e-mail addresses, branch names,
 * dates, and the path GitLab derives from a project name.
 *
 * Design: pure functions of their input (no store, no I/O) so they are
 * unit-tested and fuzzed directly. Each check returns NULL when the value
 * is acceptable, or the reason as GitLab words it for the field ("can
 * contain only letters, digits, ..."), ready to be put under the field's
 * name in a {"message": {"path": [reason]}} reply. Rules (GitLab's path
 * rules, slightly stricter where noted in docs/API.md):
 *  - a path segment is 1..255 bytes of letters, digits, '_', '-' and '.',
 *    starts with a letter, digit or '_', and does not end in ".git" or
 *    ".atom"; usernames and group paths also do not end in '.';
 *  - usernames and top-level group paths are not one of the top-level
 *    routes GitLab reserves ("api", "users", "-", "assets", ...); project
 *    paths are not one of the project routes it reserves ("blob", "tree",
 *    "raw", ...).
 *
 * Ownership: returned reasons are static strings.
 */
#ifndef SO_CORE_VALIDATE_H
#define SO_CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATE_PATH_MAX_LEN 255
#define VALIDATE_NAMESPACE_MAX_DEPTH 20 /* GitLab's limit on subgroup nesting */

enum validate_path_kind {
	VALIDATE_PATH_USER,      /* a username (also the user's namespace path) */
	VALIDATE_PATH_GROUP_TOP, /* a top-level group */
	VALIDATE_PATH_GROUP_SUB, /* a subgroup segment */
	VALIDATE_PATH_PROJECT,   /* a project path */
};

const char *validate_path(const char *s, enum validate_path_kind kind);
/* Only the reserved-name part of the rule above. */
bool validate_path_reserved(const char *s, enum validate_path_kind kind);
/* A namespace full path "a/b/c": each segment checked (the first as a
 * top-level group, the others as subgroups), at most
 * VALIDATE_NAMESPACE_MAX_DEPTH segments. */
const char *validate_namespace_path(const char *full_path);
const char *validate_project_name(const char *name);
const char *validate_user_name(const char *name);
const char *validate_email(const char *email);
/* git check-ref-format rules for a branch name. */
const char *validate_branch(const char *branch);
/* A calendar date "YYYY-MM-DD" (not a check against today). */
bool validate_date(const char *s);

/* GitLab's path for a project created with only a name: lowercased, every
 * run of characters other than letters, digits, '_' and '-' becomes one
 * '-', and leading/trailing '-' , '_' and '.' are trimmed ("My Project!" ->
 * "my-project"). May return "" (the caller then reports the path as
 * invalid). Caller frees. */
char *validate_path_from_name(const char *name);

#endif
