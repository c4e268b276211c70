/*
 * error.h: the error convention every module follows.
 *
 * Design: a fallible function returns int: 0 on success, a negative
 * SO_E* code on failure. The human-readable message is kept beside the
 * code, in a thread-local slot set by error_set() and read by
 * error_msg(), as libgit2 does with git_error_last(). A caller that
 * handles an error (turns it into an HTTP status, a chat reply) reads the
 * message once; a caller that propagates it returns the code unchanged and
 * leaves the message alone. Messages say what is wrong without redundant
 * prefixes ("project path has already been taken", not "failed: ...") and
 * never contain a secret.
 *
 * Specific codes exist for the expected failures callers branch on; every
 * unexpected failure is SO_EFAIL. Programming errors are assert()s.
 */
#ifndef SO_UTIL_ERROR_H
#define SO_UTIL_ERROR_H

enum so_error_code {
	SO_OK = 0,
	SO_EFAIL = -1,     /* unexpected or internal failure */
	SO_ENOTFOUND = -2, /* the thing asked for does not exist (or is hidden) */
	SO_EEXISTS = -3,   /* a unique name or key is already taken */
	SO_EINVALID = -4,  /* the input is malformed or breaks a rule */
	SO_EDENIED = -5,   /* authenticated, but not allowed */
	SO_ETOOBIG = -6,   /* an input exceeded its size cap */
	SO_EBUSY = -7,     /* temporarily unavailable; try again */
	SO_EAUTH = -8,     /* not authenticated (missing or wrong credentials) */
	SO_ECONFLICT = -9, /* the state does not allow it (e.g. last owner) */
};

/* Records the message for this thread and returns code, so that
 * `return error_set(SO_EINVALID, "name is missing");` reads naturally. */
int error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last message set on this thread; "" when none. Valid until the next
 * error_set() or error_clear() on the same thread. Never NULL. */
const char *error_msg(void);

/* The code recorded with the last message (SO_OK when none). */
int error_code(void);

void error_clear(void);

/* A short stable name for a code ("not found"), for logs. */
const char *error_name(int code);

#endif
