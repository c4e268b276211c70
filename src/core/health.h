/*
 * health.h: the operational endpoints, GitLab-style: GET /-/health
 * (process is up: "slashops OK"), GET /-/liveness and GET /-/readiness
 * (the store answers) as JSON, for load balancers and the test harness.
 */
#ifndef SO_CORE_HEALTH_H
#define SO_CORE_HEALTH_H

#include <stddef.h>

#include "http/server.h"

extern const struct http_route health_routes[];
extern const size_t health_routes_count;

#endif
