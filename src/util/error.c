/*
 * error.c: thread-local "last error" storage; see error.h for the
 * convention. The message is formatted into a fixed per-thread buffer so
 * that setting an error never allocates and never fails.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

#define ERROR_MSG_MAX 512

static _Thread_local char last_msg[ERROR_MSG_MAX];
static _Thread_local int last_code;

int error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

const char *error_msg(void)
{
	return last_msg;
}

int error_code(void)
{
	return last_code;
}

void error_clear(void)
{
	last_msg[0] = '\0';
	last_code = SO_OK;
}

const char *error_name(int code)
{
	switch (code) {
	case SO_OK: return "ok";
	case SO_ENOTFOUND: return "not found";
	case SO_EEXISTS: return "already exists";
	case SO_EINVALID: return "invalid";
	case SO_EDENIED: return "denied";
	case SO_ETOOBIG: return "too big";
	case SO_EBUSY: return "busy";
	case SO_EAUTH: return "unauthenticated";
	case SO_ECONFLICT: return "conflict";
	default: return "error";
	}
}
