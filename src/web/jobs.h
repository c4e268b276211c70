/*
 * jobs.h: the project CI pages (jobs.c): the sub-pages project.c's
 * project_pages table routes to, and the assets the job page loads.
 *
 * Design: see jobs.c. The page functions get the project the visitor can
 * see and their access level; they return HTTP_NEXT for a page that does
 * not exist (the router's 404).
 *
 * Ownership: everything passed in is borrowed.
 */
#ifndef SO_WEB_JOBS_H
#define SO_WEB_JOBS_H

#include "http/server.h"

struct app;
struct auth_identity;
struct store_project;

/* /<project>/-/jobs[/<id>[/trace.json|/play|/cancel]]; rest is what follows
 * "jobs". */
int web_project_jobs(struct app *app, struct http_request *req, const struct auth_identity *id,
		     const struct store_project *p, int level, const char *rest);
/* /<project>/-/pipelines[/<id>]. */
int web_project_pipelines(struct app *app, struct http_request *req,
			  const struct auth_identity *id, const struct store_project *p, int level,
			  const char *rest);
/* GET /assets/job.css (the trace colours and the CI page styles) and
 * /assets/job.js (live log updates). */
int web_assets_job_css(struct http_request *req, void *app);
int web_assets_job_js(struct http_request *req, void *app);

#endif
