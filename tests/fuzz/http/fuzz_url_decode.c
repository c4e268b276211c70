/* libFuzzer target: http_url_decode, http_url_encode and the router's
 * matching of raw paths. A decoded string must round-trip through the
 * encoder; matching must never read past the path. */
#include "http/router.h"
#include "http/server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
	return 0;
}

static const struct http_route routes[] = {
	{ "GET", "/api/v4/projects/:id/members/:user_id", h, 0 },
	{ "POST", "/:ns/:repo.git/git-receive-pack", h, HTTP_ROUTE_STREAM },
	{ NULL, "/files/*path", h, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *enc, *back = NULL, *path;
	struct router_match m = { 0 };
	size_t idx;

	if (http_url_decode((const char *)data, size, size & 1, size, &out) == 0) {
		if (strlen(out) > size)
			abort();
		enc = http_url_encode(out);
		if (http_url_decode(enc, strlen(enc), false, SIZE_MAX, &back) != 0 ||
		    strcmp(back, out) != 0)
			abort();
		free(enc);
		free(back);
		free(out);
	} else if (out) {
		abort();
	}
	path = malloc(size + 2);
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';
	if (router_find(routes, 3, 0, "GET", path, &m, &idx) == 1 && idx > 2)
		abort();
	router_match_clear(&m);
	free(router_allowed(routes, 3, path));
	free(path);
	return 0;
}
