/*
 * ci_api.h: the Pipelines and Jobs API (GitLab's GET .../pipelines,
 * .../pipelines/:id, .../pipelines/:id/jobs, .../jobs, .../jobs/:id,
 * .../jobs/:id/trace, POST .../jobs/:id/play and .../cancel), and the
 * presenters the web job pages share.
 *
 * Design: the presenters turn store rows into GitLab's JSON field names
 * (pipelines.c); the handlers (pipelines.c, jobs.c) follow api.h's three
 * steps. Reading CI data is GitLab's read_build: anyone who can see a
 * public or internal project, Reporter and up on a private one. Playing
 * and canceling is update_build: Developer and up. Traces are streamed
 * from <data_dir>/traces/<job id>.log as they are now, also while the job
 * still writes them; they are never read whole into memory.
 *
 * Ownership: presenters return new JSON references (caller owns); the
 * store rows and the project are borrowed.
 */
#ifndef SO_API_CI_API_H
#define SO_API_CI_API_H

#include <stdbool.h>

#include <jansson.h>

#include "http/server.h"

struct app;
struct store_job;
struct store_pipeline;
struct store_project;

/* True when a caller with access level `level` on p may read its
 * pipelines, jobs and traces (can_read: they can see the project). */
bool api_ci_can_read(const struct store_project *p, int level, bool can_read);

/* GitLab's pipeline JSON (id, iid, project_id, sha, ref, status, source,
 * created_at, updated_at, web_url, ..., user). */
json_t *api_pipeline_json(struct app *app, const struct store_pipeline *pl,
			  const struct store_project *p);
/* The short form GitLab nests in a job ("pipeline": {...}) and lists. */
json_t *api_pipeline_basic_json(struct app *app, const struct store_pipeline *pl,
				const struct store_project *p);
/* GitLab's job JSON. pl may be NULL (then "pipeline" is null and the
 * ref/sha come out null). */
json_t *api_job_json(struct app *app, const struct store_job *j,
		     const struct store_pipeline *pl, const struct store_project *p);
/* Seconds a job has run: its stored duration when finished, now minus
 * started_at while running, 0 before it started. */
double api_job_duration(const struct store_job *j);

struct api_req;
/* Resolves ":id" for a CI endpoint and checks the caller's right:
 * reading (write false: read_build) or playing/canceling (write true:
 * update_build). Answers 404 for an invisible project, 403 {"message":
 * "403 Forbidden"} for a visible one without the right, and returns
 * API_ANSWERED then. */
int api_ci_project(struct api_req *r, bool write, struct store_project **out);

/* ---- handlers ---- */
int api_pipelines_list(struct http_request *req, void *app);
int api_pipelines_get(struct http_request *req, void *app);
int api_pipeline_jobs(struct http_request *req, void *app);
int api_jobs_list(struct http_request *req, void *app);
int api_jobs_get(struct http_request *req, void *app);
int api_jobs_trace(struct http_request *req, void *app);
int api_jobs_play(struct http_request *req, void *app);
int api_jobs_cancel(struct http_request *req, void *app);

#endif
