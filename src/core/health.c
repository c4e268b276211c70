/*
 * health.c: /-/health, /-/liveness and /-/readiness; see health.h.
 * Readiness asks the store for its schema version, which needs a working
 * connection, without the cost of an integrity check.
 */
#include "core/health.h"
#include "core/app.h"
#include "http/server.h"
#include "store/store.h"

static int health(struct http_request *req, void *app)
{
	static const char ok[] = "slashops OK";

	(void)app;
	return http_respond(req, 200, "text/plain; charset=utf-8", ok, sizeof(ok) - 1);
}

static int liveness(struct http_request *req, void *app)
{
	(void)app;
	return http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int readiness(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	int version = 0;
	int ok = store_schema_version(app->store, &version) == 0;

	return http_respond_json(req, ok ? 200 : 503,
				 json_pack("{s:s, s:{s:s, s:i}}", "status", ok ? "ok" : "failed",
					   "checks", "store", ok ? "ok" : "failed",
					   "schema_version", version));
}

const struct http_route health_routes[] = {
	{ "GET", "/-/health", health, 0 },
	{ "GET", "/-/liveness", liveness, 0 },
	{ "GET", "/-/readiness", readiness, 0 },
};
const size_t health_routes_count = sizeof(health_routes) / sizeof(health_routes[0]);
