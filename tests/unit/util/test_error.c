/* Unit tests for util/error: the message is kept beside the code. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "util/error.h"

Test(error, set_returns_code_and_keeps_message)
{
	cr_assert_eq(error_set(SO_ENOTFOUND, "user %s not found", "bob"), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user bob not found");
	cr_assert_eq(error_code(), SO_ENOTFOUND);
	error_clear();
	cr_assert_str_eq(error_msg(), "");
	cr_assert_eq(error_code(), SO_OK);
}

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)(strcmp(error_msg(), "") == 0 ? "clean" : "dirty");
}

Test(error, is_thread_local)
{
	pthread_t t;
	void *res;

	error_set(SO_EFAIL, "mine");
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, &res);
	cr_assert_str_eq((char *)res, "clean");
	cr_assert_str_eq(error_msg(), "mine");
}

Test(error, long_messages_are_truncated_safely)
{
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	error_set(SO_EINVALID, "%s", big);
	cr_assert_lt(strlen(error_msg()), sizeof(big));
	cr_assert_eq(error_name(SO_EINVALID)[0], 'i');
}
