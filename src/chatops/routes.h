/*
 * routes.h: the chatops part's routes, which src/cli/serve.c puts before
 * the REST API's: the slash-command trigger (POST and GET, under both
 * /integrations/ and the legacy /services/ prefix) and the ChatOps
 * documentation page the help reply links to.
 */
#ifndef SO_CHATOPS_ROUTES_H
#define SO_CHATOPS_ROUTES_H

#include <stddef.h>

#include "http/server.h"

extern const struct http_route chatops_routes[];
extern const size_t chatops_routes_count;

#endif
