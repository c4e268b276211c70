/* Unit tests for auth/request.c: API tokens from headers and query, and
 * git's HTTP basic auth with passwords and tokens. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"
#include "fake_http.h"
#include "helpers.h"
#include "util/buf.h"
#include "util/error.h"

static struct app *app;
static int64_t alice, bob;
static char *alice_token, *bob_token;

static void setup(void)
{
	app = test_app_open();
	alice = test_user(app, "alice", "alice:password", false);
	bob = test_user(app, "bob", "bob-password", false);
	cr_assert_eq(auth_token_create(app, alice, "ci", "read_repository", NULL, &alice_token,
				       NULL), 0);
	cr_assert_eq(auth_token_create(app, bob, "ci", "api", NULL, &bob_token, NULL), 0);
}

static void teardown(void)
{
	free(alice_token);
	free(bob_token);
	test_app_close(app);
}

TestSuite(request, .init = setup, .fini = teardown);

/* Runs auth_request_api on a request with one header; returns the result
 * and the user id (0 anonymous). */
static int api_with(const char *header, const char *value, int64_t *user)
{
	struct http_request r;
	struct auth_identity id;
	int err;

	fake_init(&r);
	if (header)
		fake_header(&r, header, value);
	err = auth_request_api(app, &r, &id);
	*user = id.user ? id.user->id : 0;
	if (id.user)
		cr_assert_eq(id.via, AUTH_TOKEN);
	auth_identity_dispose(&id);
	fake_dispose(&r);
	return err;
}

Test(request, api_token_sources)
{
	struct http_request r;
	struct auth_identity id;
	char *bearer = xasprintf("Bearer %s", bob_token);
	char *lower = xasprintf("bearer %s", bob_token);
	int64_t user;

	cr_assert_eq(api_with(NULL, NULL, &user), 0);
	cr_assert_eq(user, 0);
	cr_assert_eq(api_with("PRIVATE-TOKEN", bob_token, &user), 0);
	cr_assert_eq(user, bob);
	cr_assert_eq(api_with("Private-Token", alice_token, &user), 0);
	cr_assert_eq(user, alice);
	cr_assert_eq(api_with("Authorization", bearer, &user), 0);
	cr_assert_eq(user, bob);
	cr_assert_eq(api_with("Authorization", lower, &user), 0);
	cr_assert_eq(user, bob);
	cr_assert_eq(api_with("PRIVATE-TOKEN", "glpat-wrongwrongwrongwron", &user), SO_EAUTH);
	cr_assert_eq(user, 0);
	cr_assert_eq(api_with("PRIVATE-TOKEN", "", &user), SO_EAUTH);
	cr_assert_eq(api_with("Authorization", "Bearer nope", &user), SO_EAUTH);
	/* other schemes are not API credentials */
	cr_assert_eq(api_with("Authorization", "Basic Zm9vOmJhcg==", &user), 0);
	cr_assert_eq(user, 0);

	/* the deprecated query parameter */
	fake_init(&r);
	fake_query(&r, "private_token", bob_token);
	cr_assert_eq(auth_request_api(app, &r, &id), 0);
	cr_assert_eq(id.user->id, bob);
	cr_assert_str_eq(id.scopes, "api");
	auth_identity_dispose(&id);
	fake_dispose(&r);
	free(bearer);
	free(lower);
}

static int basic_with(const char *user, const char *secret, struct auth_identity *id)
{
	struct http_request r;
	char *plain = xasprintf("%s:%s", user, secret);
	char b64[1024], *header;
	int err;

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)plain, strlen(plain),
			  sodium_base64_VARIANT_ORIGINAL);
	header = xasprintf("Basic %s", b64);
	fake_init(&r);
	fake_header(&r, "Authorization", header);
	err = auth_request_basic(app, &r, id);
	fake_dispose(&r);
	free(header);
	free(plain);
	return err;
}

Test(request, basic_password_and_token)
{
	struct auth_identity id;

	/* password with a ':' inside: split at the first one */
	cr_assert_eq(basic_with("alice", "alice:password", &id), 0, "%s", error_msg());
	cr_assert_eq(id.user->id, alice);
	cr_assert_eq(id.via, AUTH_BASIC);
	cr_assert_null(id.scopes);
	auth_identity_dispose(&id);

	/* a token works with any username */
	cr_assert_eq(basic_with("whoever", alice_token, &id), 0, "%s", error_msg());
	cr_assert_eq(id.user->id, alice);
	cr_assert_eq(id.via, AUTH_TOKEN);
	cr_assert_str_eq(id.scopes, "read_repository");
	auth_identity_dispose(&id);
	cr_assert_eq(basic_with("bob", bob_token, &id), 0);
	cr_assert_eq(id.user->id, bob);
	auth_identity_dispose(&id);

	cr_assert_eq(basic_with("alice", "wrong-password", &id), SO_EAUTH);
	cr_assert_null(id.user);
	cr_assert_str_eq(error_msg(), "HTTP Basic: Access denied");
	cr_assert_eq(basic_with("nobody", "alice:password", &id), SO_EAUTH);
	cr_assert_eq(basic_with("alice", "glpat-wrongwrongwrongwron", &id), SO_EAUTH);
	cr_assert_eq(basic_with("alice", "", &id), SO_EAUTH);

	cr_assert_eq(store_user_set_state(app->store, alice, STORE_USER_BLOCKED), 0);
	cr_assert_eq(basic_with("alice", "alice:password", &id), SO_EAUTH);
	cr_assert_eq(basic_with("alice", alice_token, &id), SO_EAUTH);
	cr_assert_null(id.user);
}

static int basic_raw(const char *header)
{
	struct http_request r;
	struct auth_identity id;
	int err;

	fake_init(&r);
	if (header)
		fake_header(&r, "Authorization", header);
	err = auth_request_basic(app, &r, &id);
	cr_assert_null(id.user);
	auth_identity_dispose(&id);
	fake_dispose(&r);
	return err;
}

Test(request, basic_malformed)
{
	struct buf big = BUF_INIT(0);

	cr_assert_eq(basic_raw(NULL), 0);
	cr_assert_eq(basic_raw("Bearer abc"), 0);
	cr_assert_eq(basic_raw("Basic"), 0);
	cr_assert_eq(basic_raw("Basic "), SO_EAUTH);
	cr_assert_eq(basic_raw("Basic !!!!"), SO_EAUTH);
	cr_assert_eq(basic_raw("Basic YWxpY2U="), SO_EAUTH);       /* "alice", no colon */
	cr_assert_eq(basic_raw("Basic YWxpY2UAOng="), SO_EAUTH);   /* "alice\0:x" */
	buf_puts(&big, "Basic ");
	for (int i = 0; i < 1000; i++)
		buf_puts(&big, "QUFB");
	cr_assert_eq(basic_raw(buf_cstr(&big)), SO_EAUTH);
	buf_dispose(&big);
}
