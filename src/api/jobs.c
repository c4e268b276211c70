/*
 * jobs.c: the Jobs API: GET /projects/:id/jobs, .../jobs/:job_id,
 * .../jobs/:job_id/trace, POST .../jobs/:job_id/play and .../cancel.
 *
 * Design: the trace is streamed from its file with http_respond_stream in
 * small reads, up to the size the file had when the request came (a
 * running job's trace grows; the client gets what exists now and asks
 * again). A job without a trace file answers 200 with an empty body, as
 * GitLab does for a job that has not written anything. Play and cancel go
 * through the pipeline service (pipeline/pipeline.h), which owns every
 * status change; without a service (a CLI context) they answer 503.
 * Status filters (scope / scope[]) are applied in memory to the project's
 * jobs, newest first, scanning at most LIST_SCAN_MAX of them.
 */
#include "api/ci_api.h"
#include "api/api.h"

#include "core/app.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_SCAN_MAX 10000
#define SCOPES_MAX 9

static const struct api_param list_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
	{ "scope", API_PARAM_STRING, false, 256 },
	{ "scope[]", API_PARAM_STRING, false, 32 },
};

/* "a,b" or one name: the statuses to keep. false on an unknown name. */
static bool parse_scopes(const char *s, bool want[SCOPES_MAX + 1], bool *any)
{
	char name[33];

	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		enum store_ci_status st;

		if (n == 0 || n >= sizeof(name))
			return false;
		memcpy(name, s, n);
		name[n] = '\0';
		if (store_ci_status_parse(name, &st) < 0 || (int)st > SCOPES_MAX)
			return false;
		want[st] = true;
		*any = true;
		s = comma ? comma + 1 : NULL;
	}
	return true;
}

/* A job's pipeline, kept while consecutive jobs share it. */
static const struct store_pipeline *pipeline_for(struct app *app, struct store_pipeline **cache,
						 int64_t id)
{
	if (*cache && (*cache)->id == id)
		return *cache;
	store_pipeline_free(*cache);
	*cache = NULL;
	if (store_pipeline_get(app->store, id, cache) < 0)
		*cache = NULL;
	return *cache;
}

int api_jobs_list(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_job **list = NULL;
	struct store_pipeline *plc = NULL;
	struct store_page pg, scan = { 1, 100 };
	bool want[SCOPES_MAX + 1] = { false }, any = false;
	struct api_req r;
	json_t *arr = NULL;
	int64_t total = 0, seen = 0, batch_total = 0, first;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, API_SPEC(list_params))) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0)
		goto done;
	api_page(&r, &pg);
	if (!parse_scopes(api_params_str(r.params, "scope"), want, &any) ||
	    !parse_scopes(api_params_str(r.params, "scope[]"), want, &any)) {
		rc = api_reply_param_error(&r, "scope does not have a valid value");
		goto done;
	}
	arr = json_array();
	if (!any) {
		if ((rc = store_job_list_for_project(r.app->store, p->id, &pg, &list, &total)) < 0) {
			rc = api_reply_error(&r, rc, "Job");
			goto done;
		}
		for (size_t i = 0; list[i]; i++)
			json_array_append_new(arr, api_job_json(r.app, list[i],
								pipeline_for(r.app, &plc,
									     list[i]->pipeline_id),
								p));
	} else {
		first = (pg.page - 1) * pg.per_page;
		do {
			if ((rc = store_job_list_for_project(r.app->store, p->id, &scan, &list,
							     &batch_total)) < 0) {
				rc = api_reply_error(&r, rc, "Job");
				goto done;
			}
			for (size_t i = 0; list[i]; i++, seen++) {
				if ((int)list[i]->status > SCOPES_MAX || !want[list[i]->status])
					continue;
				if (total >= first && total < first + pg.per_page)
					json_array_append_new(
						arr, api_job_json(r.app, list[i],
								  pipeline_for(r.app, &plc,
									       list[i]->pipeline_id),
								  p));
				total++;
			}
			store_job_list_free(list);
			list = NULL;
			scan.page++;
		} while (seen < batch_total && seen < LIST_SCAN_MAX &&
			 (scan.page - 1) * scan.per_page < batch_total);
	}
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
	arr = NULL;
done:
	json_decref(arr);
	store_job_list_free(list);
	store_pipeline_free(plc);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* The job :job_id of project p, or an answered 404. */
static int find_job(struct api_req *r, const struct store_project *p, struct store_job **out)
{
	int64_t id;
	int rc;

	*out = NULL;
	if ((rc = api_path_id(r, "job_id", "Job", &id)) != 0)
		return rc;
	rc = store_job_get(r->app->store, id, out);
	if (rc == 0 && (*out)->project_id != p->id) {
		store_job_free(*out);
		*out = NULL;
		rc = SO_ENOTFOUND;
	}
	if (rc == SO_ENOTFOUND)
		return api_reply_message(r, 404, "404 Job Not Found");
	return rc < 0 ? api_reply_error(r, rc, "Job") : 0;
}

/* Answers with the job's JSON (re-read from the store). */
static int reply_job(struct api_req *r, unsigned status, const struct store_project *p,
		     int64_t job_id)
{
	struct store_job *j = NULL;
	struct store_pipeline *pl = NULL;
	int rc;

	if ((rc = store_job_get(r->app->store, job_id, &j)) < 0)
		return api_reply_error(r, rc, "Job");
	if (store_pipeline_get(r->app->store, j->pipeline_id, &pl) < 0)
		pl = NULL;
	rc = http_respond_json(r->req, status, api_job_json(r->app, j, pl, p));
	store_pipeline_free(pl);
	store_job_free(j);
	return rc < 0 ? rc : API_ANSWERED;
}

int api_jobs_get(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_job *j = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, NULL, 0)) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0 || (rc = find_job(&r, p, &j)) != 0)
		goto done;
	rc = reply_job(&r, 200, p, j->id);
done:
	store_job_free(j);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* ---- the trace, streamed ---- */

struct trace_stream {
	int fd;
	off_t left; /* bytes still to send (the size at the request) */
};

static ssize_t trace_read(void *cls, char *buf, size_t max)
{
	struct trace_stream *t = cls;
	ssize_t n;

	if (t->fd < 0 || t->left <= 0)
		return 0;
	if ((off_t)max > t->left)
		max = (size_t)t->left;
	do
		n = read(t->fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	t->left -= n;
	return n;
}

static void trace_close(void *cls)
{
	struct trace_stream *t = cls;

	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

int api_jobs_trace(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_job *j = NULL;
	struct trace_stream *t = NULL;
	struct api_req r;
	struct stat sb;
	char *path = NULL;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, NULL, 0)) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0 || (rc = find_job(&r, p, &j)) != 0)
		goto done;
	path = pipeline_trace_path(r.app, j->id);
	t = xcalloc(1, sizeof(*t));
	t->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (t->fd >= 0 && fstat(t->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		t->left = sb.st_size;
	rc = http_respond_stream(req, 200, "text/plain; charset=utf-8", trace_read, t, trace_close);
	t = NULL; /* the stream owns it now */
done:
	trace_close(t);
	free(path);
	store_job_free(j);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* ---- play and cancel ---- */

int api_jobs_play(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_job *j = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0 ||
	    (rc = api_ci_project(&r, true, &p)) != 0 || (rc = find_job(&r, p, &j)) != 0)
		goto done;
	if (j->status != STORE_CI_MANUAL) {
		rc = api_reply_message(&r, 400, "400 Bad request - Unplayable Job");
		goto done;
	}
	if (!r.app->pipelines) {
		rc = api_reply_message(&r, 503, "503 Service Unavailable");
		goto done;
	}
	rc = pipeline_job_play(r.app->pipelines, j->id, api_user_id(&r));
	if (rc == SO_ECONFLICT)
		rc = api_reply_message(&r, 400, "400 Bad request - Unplayable Job");
	else if (rc < 0)
		rc = api_reply_error(&r, rc, "Job");
	else
		rc = reply_job(&r, 200, p, j->id);
done:
	store_job_free(j);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_jobs_cancel(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_job *j = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0 ||
	    (rc = api_ci_project(&r, true, &p)) != 0 || (rc = find_job(&r, p, &j)) != 0)
		goto done;
	if (!r.app->pipelines) {
		rc = api_reply_message(&r, 503, "503 Service Unavailable");
		goto done;
	}
	/* GitLab answers 201 with the job as it is when it cannot be
	 * canceled any more (already finished). */
	rc = pipeline_job_cancel(r.app->pipelines, j->id);
	if (rc < 0 && rc != SO_ECONFLICT)
		rc = api_reply_error(&r, rc, "Job");
	else
		rc = reply_job(&r, 201, p, j->id);
done:
	store_job_free(j);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}
