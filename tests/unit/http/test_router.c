/* Unit tests for http/router: pattern matching, parameters, methods. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "util/error.h"

static int h(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
	return 0;
}

static const struct http_route routes[] = {
	{ "GET", "/-/health", h, 0 },
	{ "GET", "/api/v4/projects/:id", h, 0 },
	{ "PUT", "/api/v4/projects/:id", h, 0 },
	{ "DELETE", "/api/v4/projects/:id/members/:user_id", h, 0 },
	{ "POST", "/api/v4/projects/:id/members", h, 0 },
	{ "GET", "/api/v4/projects/:id/members", h, 0 },
	{ "POST", "/:ns/:repo.git/git-receive-pack", h, HTTP_ROUTE_STREAM },
	{ NULL, "/files/*path", h, 0 },
	{ "GET", "/*rest", h, 0 },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

Test(router, literal_and_params)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/-/health", "/-/health", &m), 1);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(router_match_path("/-/health", "/-/health/", &m), 0);
	cr_assert_eq(router_match_path("/-/health", "/-/healthz", &m), 0);
	cr_assert_eq(router_match_path("/api/v4/projects/:id/members/:user_id",
				       "/api/v4/projects/42/members/7", &m), 1);
	cr_assert_str_eq(router_match_get(&m, "id"), "42");
	cr_assert_str_eq(router_match_get(&m, "user_id"), "7");
	cr_assert_null(router_match_get(&m, "user"));
	router_match_clear(&m);
	cr_assert_eq(m.n, 0);
}

Test(router, encoded_ids_are_decoded)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects/group%2Fsub%2Fproj",
				       &m), 1);
	cr_assert_str_eq(router_match_get(&m, "id"), "group/sub/proj");
	/* '+' is not a space in a path */
	cr_assert_eq(router_match_path("/u/:name", "/u/a+b%20c", &m), 1);
	cr_assert_str_eq(router_match_get(&m, "name"), "a+b c");
	router_match_clear(&m);
}

Test(router, bad_escapes_in_params_are_invalid)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects/a%zz", &m),
		     SO_EINVALID);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects/a%00b", &m),
		     SO_EINVALID);
	/* a bad escape in a path that does not match is just no match */
	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/users/a%zz", &m), 0);
}

Test(router, params_need_a_non_empty_segment)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects/", &m), 0);
	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects", &m), 0);
	cr_assert_eq(router_match_path("/api/v4/projects/:id", "/api/v4/projects/1/x", &m), 0);
}

Test(router, param_with_literal_suffix)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/:ns/:repo.git/info/refs", "/grp/my%20app.git/info/refs",
				       &m), 1);
	cr_assert_str_eq(router_match_get(&m, "ns"), "grp");
	cr_assert_str_eq(router_match_get(&m, "repo"), "my app");
	cr_assert_eq(router_match_path("/:ns/:repo.git/info/refs", "/grp/app/info/refs", &m), 0);
	cr_assert_eq(router_match_path("/:ns/:repo.git/info/refs", "/grp/.git/info/refs", &m), 0);
	router_match_clear(&m);
}

Test(router, rest_parameter)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/files/*path", "/files/a/b%20c/d", &m), 1);
	cr_assert_str_eq(router_match_get(&m, "path"), "a/b c/d");
	cr_assert_eq(router_match_path("/files/*path", "/files/", &m), 1);
	cr_assert_str_eq(router_match_get(&m, "path"), "");
	cr_assert_eq(router_match_path("/files/*path", "/files", &m), 0);
	cr_assert_eq(router_match_path("/*rest", "/", &m), 1);
	cr_assert_str_eq(router_match_get(&m, "rest"), "");
	cr_assert_eq(router_match_path("/files/*path", "/files/%zz", &m), SO_EINVALID);
	router_match_clear(&m);
}

Test(router, root_pattern)
{
	struct router_match m = { 0 };

	cr_assert_eq(router_match_path("/", "/", &m), 1);
	cr_assert_eq(router_match_path("/", "/x", &m), 0);
	cr_assert_eq(router_match_path("/", "", &m), 0);
	cr_assert_eq(router_match_path("/x", "x", &m), 0);
}

Test(router, methods)
{
	cr_assert(router_method_matches("GET", "GET"));
	cr_assert(router_method_matches("GET", "HEAD"));
	cr_assert(router_method_matches(NULL, "PATCH"));
	cr_assert_not(router_method_matches("POST", "GET"));
	cr_assert_not(router_method_matches("HEAD", "GET"));
}

Test(router, find_first_match_and_next)
{
	struct router_match m = { 0 };
	size_t idx = 99;

	cr_assert_eq(router_find(routes, NROUTES, 0, "PUT", "/api/v4/projects/a%2Fb", &m, &idx), 1);
	cr_assert_eq(idx, 2);
	cr_assert_str_eq(router_match_get(&m, "id"), "a/b");
	cr_assert_eq(router_find(routes, NROUTES, 0, "GET", "/api/v4/projects/5", &m, &idx), 1);
	cr_assert_eq(idx, 1);
	/* HTTP_NEXT: the search goes on after the route that passed */
	cr_assert_eq(router_find(routes, NROUTES, idx + 1, "GET", "/api/v4/projects/5", &m, &idx), 1);
	cr_assert_eq(idx, 8);
	cr_assert_str_eq(router_match_get(&m, "rest"), "api/v4/projects/5");
	cr_assert_eq(router_find(routes, NROUTES, idx + 1, "GET", "/api/v4/projects/5", &m, &idx), 0);
	cr_assert_eq(m.n, 0);
	/* any-method route */
	cr_assert_eq(router_find(routes, NROUTES, 0, "MKCOL", "/files/x", &m, &idx), 1);
	cr_assert_eq(idx, 7);
	/* HEAD finds the GET route */
	cr_assert_eq(router_find(routes, NROUTES, 0, "HEAD", "/-/health", &m, &idx), 1);
	cr_assert_eq(idx, 0);
	router_match_clear(&m);
}

Test(router, method_mismatch_gives_allow_list)
{
	struct router_match m = { 0 };
	size_t idx;
	char *allow;

	cr_assert_eq(router_find(routes, NROUTES, 0, "PATCH", "/api/v4/projects/5/members", &m,
				 &idx), 0);
	/* without the catch-all routes (the last two) */
	allow = router_allowed(routes, 7, "/api/v4/projects/5/members");
	cr_assert_str_eq(allow, "POST, GET, HEAD");
	free(allow);
	allow = router_allowed(routes, 7, "/api/v4/projects/5/members/9");
	cr_assert_str_eq(allow, "DELETE");
	free(allow);
	cr_assert_null(router_allowed(routes, 7, "/nothing/here"));
	/* with them: the catch-all GET adds itself once */
	allow = router_allowed(routes, NROUTES, "/api/v4/projects/5/members/9");
	cr_assert_str_eq(allow, "DELETE, GET, HEAD");
	free(allow);
	/* an any-method route means no 405 */
	cr_assert_null(router_allowed(routes, NROUTES, "/files/a"));
}
