/*
 * pipelines.c: the Pipelines API (GET /projects/:id/pipelines,
 * .../pipelines/:pipeline_id, .../pipelines/:pipeline_id/jobs) and the CI
 * presenters and permission check shared with jobs.c and the web pages.
 *
 * Design: presenters build GitLab's field names from the store rows; a
 * running job's duration is computed from its start, as GitLab shows it.
 * List filters (scope, status, ref, sha, source) are applied in memory to
 * the project's pipelines, newest first, scanning at most LIST_SCAN_MAX of
 * them; without filters the store pages directly. See ci_api.h.
 */
#include "api/ci_api.h"
#include "api/api.h"

#include "auth/auth.h"
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_SCAN_MAX 10000

/* ---- permissions ---- */

bool api_ci_can_read(const struct store_project *p, int level, bool can_read)
{
	if (!can_read)
		return false;
	return p->visibility != STORE_VIS_PRIVATE || level >= AUTH_ACCESS_REPORTER;
}

int api_ci_project(struct api_req *r, bool write, struct store_project **out)
{
	struct store_project *p = NULL;
	int level = 0, rc;

	*out = NULL;
	if ((rc = api_find_project(r, http_request_param(r->req, "id"), &p, &level)) != 0)
		return rc;
	if (!api_ci_can_read(p, level, true) || (write && level < AUTH_ACCESS_DEVELOPER)) {
		store_project_free(p);
		return api_reply_message(r, 403, "403 Forbidden");
	}
	*out = p;
	return 0;
}

/* ---- presenters ---- */

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *seconds_or_null(const char *from, const char *to)
{
	time_t a, b;

	if (!from || !to || clock_parse_iso(from, &a) < 0 || clock_parse_iso(to, &b) < 0)
		return json_null();
	return json_real(b >= a ? (double)(b - a) : 0.0);
}

static json_t *user_or_null(struct app *app, int64_t user_id)
{
	struct store_user *u = NULL;
	json_t *j;

	if (user_id <= 0 || store_user_get(app->store, user_id, &u) < 0)
		return json_null();
	j = api_user_json(app, u, API_USER_BASIC);
	store_user_free(u);
	return j;
}

static char *project_url(struct app *app, const struct store_project *p, const char *what,
			 int64_t id)
{
	char *path = xasprintf("%s/-/%s/%lld", p->path_with_namespace, what, (long long)id);
	char *url = api_web_url(app, path);

	free(path);
	return url;
}

json_t *api_pipeline_basic_json(struct app *app, const struct store_pipeline *pl,
				const struct store_project *p)
{
	char *web = project_url(app, p, "pipelines", pl->id);
	json_t *j = json_pack("{s:I,s:I,s:I,s:o,s:o,s:s,s:o,s:o,s:o,s:o}",
			      "id", (json_int_t)pl->id, "iid", (json_int_t)pl->iid,
			      "project_id", (json_int_t)pl->project_id, "sha", str_or_null(pl->sha),
			      "ref", str_or_null(pl->ref), "status", store_ci_status_name(pl->status),
			      "source", str_or_null(pl->source), "created_at",
			      str_or_null(pl->created_at), "updated_at", str_or_null(pl->updated_at),
			      "web_url", str_or_null(web));

	free(web);
	return j;
}

json_t *api_pipeline_json(struct app *app, const struct store_pipeline *pl,
			  const struct store_project *p)
{
	json_t *j = api_pipeline_basic_json(app, pl, p);
	bool finished = pl->finished_at != NULL;

	json_object_set_new(j, "before_sha", json_string("0000000000000000000000000000000000000000"));
	json_object_set_new(j, "tag", json_false());
	json_object_set_new(j, "yaml_errors", json_null());
	json_object_set_new(j, "user", user_or_null(app, pl->user_id));
	json_object_set_new(j, "started_at", str_or_null(pl->started_at));
	json_object_set_new(j, "finished_at", str_or_null(pl->finished_at));
	json_object_set_new(j, "committed_at", json_null());
	json_object_set_new(j, "duration", finished ? json_integer((json_int_t)pl->duration)
						    : json_null());
	json_object_set_new(j, "queued_duration", seconds_or_null(pl->created_at, pl->started_at));
	json_object_set_new(j, "coverage", json_null());
	json_object_set_new(j, "name", str_or_null(pl->name));
	json_object_set_new(j, "detailed_status",
			    json_pack("{s:s,s:s}", "group", store_ci_status_name(pl->status),
				      "text", store_ci_status_name(pl->status)));
	return j;
}

double api_job_duration(const struct store_job *j)
{
	time_t start, now;

	if (j->finished_at)
		return j->duration;
	if (j->status == STORE_CI_RUNNING && j->started_at &&
	    clock_parse_iso(j->started_at, &start) == 0) {
		now = (time_t)clock_unix();
		return now > start ? (double)(now - start) : 0.0;
	}
	return 0.0;
}

json_t *api_job_json(struct app *app, const struct store_job *j, const struct store_pipeline *pl,
		     const struct store_project *p)
{
	char *web = project_url(app, p, "jobs", j->id);
	const char *sha = pl ? pl->sha : NULL;
	char short_id[9] = "";
	json_t *o;

	if (sha)
		snprintf(short_id, sizeof(short_id), "%.8s", sha);
	o = json_pack("{s:I,s:s,s:o,s:o,s:o,s:b,s:n,s:b,s:o,s:o,s:o,s:n}",
		      "id", (json_int_t)j->id, "status", store_ci_status_name(j->status),
		      "stage", str_or_null(j->stage), "name", str_or_null(j->name),
		      "ref", str_or_null(pl ? pl->ref : NULL), "tag", 0, "coverage",
		      "allow_failure", j->allow_failure, "created_at", str_or_null(j->created_at),
		      "started_at", str_or_null(j->started_at), "finished_at",
		      str_or_null(j->finished_at), "erased_at");
	json_object_set_new(o, "duration", j->started_at ? json_real(api_job_duration(j))
							 : json_null());
	json_object_set_new(o, "queued_duration", seconds_or_null(j->queued_at, j->started_at));
	json_object_set_new(o, "user", user_or_null(app, j->user_id));
	json_object_set_new(o, "commit",
			    sha ? json_pack("{s:s,s:s}", "id", sha, "short_id", short_id)
				: json_null());
	json_object_set_new(o, "pipeline", pl ? api_pipeline_basic_json(app, pl, p) : json_null());
	json_object_set_new(o, "web_url", str_or_null(web));
	json_object_set_new(o, "project", json_pack("{s:b}", "ci_job_token_scope_enabled", 0));
	json_object_set_new(o, "artifacts", json_array());
	json_object_set_new(o, "runner", json_null());
	json_object_set_new(o, "runner_manager", json_null());
	json_object_set_new(o, "artifacts_expire_at", json_null());
	json_object_set_new(o, "archived", json_false());
	json_object_set_new(o, "tag_list", json_array());
	if (j->status == STORE_CI_FAILED)
		json_object_set_new(o, "failure_reason",
				    json_string(j->failure_reason ? j->failure_reason
								  : "unknown_failure"));
	free(web);
	return o;
}

/* ---- GET /projects/:id/pipelines ---- */

static const struct api_param list_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
	{ "scope", API_PARAM_STRING, false, 32 },
	{ "status", API_PARAM_STRING, false, 32 },
	{ "ref", API_PARAM_STRING, false, 1024 },
	{ "sha", API_PARAM_STRING, false, 64 },
	{ "source", API_PARAM_STRING, false, 64 },
	{ "order_by", API_PARAM_STRING, false, 32 },
	{ "sort", API_PARAM_STRING, false, 8 },
};

static bool is_finished(enum store_ci_status s)
{
	return s == STORE_CI_SUCCESS || s == STORE_CI_FAILED || s == STORE_CI_CANCELED ||
	       s == STORE_CI_SKIPPED;
}

struct pl_filter {
	const char *scope, *ref, *sha, *source;
	bool has_status;
	enum store_ci_status status;
};

static bool pl_matches(const struct pl_filter *f, const struct store_pipeline *pl)
{
	if (f->has_status && pl->status != f->status)
		return false;
	if (f->ref && (!pl->ref || strcmp(f->ref, pl->ref) != 0))
		return false;
	if (f->sha && (!pl->sha || strcmp(f->sha, pl->sha) != 0))
		return false;
	if (f->source && (!pl->source || strcmp(f->source, pl->source) != 0))
		return false;
	if (f->scope) {
		if (!strcmp(f->scope, "running"))
			return pl->status == STORE_CI_RUNNING;
		if (!strcmp(f->scope, "pending"))
			return pl->status == STORE_CI_PENDING;
		if (!strcmp(f->scope, "finished"))
			return is_finished(pl->status);
		if (!strcmp(f->scope, "tags"))
			return false; /* no tag pipelines yet */
	}
	return true;
}

int api_pipelines_list(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_pipeline **list = NULL, **batch = NULL;
	struct store_page pg, scan = { 1, 100 };
	struct pl_filter f;
	struct api_req r;
	json_t *arr = NULL;
	int64_t total = 0, seen = 0, batch_total = 0;
	const char *status;
	int rc;

	memset(&f, 0, sizeof(f));
	if ((rc = api_begin(&r, req, app, API_ANON_READ, API_SPEC(list_params))) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0)
		goto done;
	api_page(&r, &pg);
	f.scope = api_params_str(r.params, "scope");
	f.ref = api_params_str(r.params, "ref");
	f.sha = api_params_str(r.params, "sha");
	f.source = api_params_str(r.params, "source");
	status = api_params_str(r.params, "status");
	if (f.scope && strcmp(f.scope, "running") && strcmp(f.scope, "pending") &&
	    strcmp(f.scope, "finished") && strcmp(f.scope, "branches") &&
	    strcmp(f.scope, "tags")) {
		rc = api_reply_param_error(&r, "scope does not have a valid value");
		goto done;
	}
	if (status && store_ci_status_parse(status, &f.status) < 0) {
		rc = api_reply_param_error(&r, "status does not have a valid value");
		goto done;
	}
	f.has_status = status != NULL;
	arr = json_array();
	if (!f.scope && !f.ref && !f.sha && !f.source && !f.has_status) {
		if ((rc = store_pipeline_list(r.app->store, p->id, &pg, &list, &total)) < 0) {
			rc = api_reply_error(&r, rc, "Pipeline");
			goto done;
		}
		for (size_t i = 0; list[i]; i++)
			json_array_append_new(arr, api_pipeline_json(r.app, list[i], p));
	} else {
		int64_t first = (pg.page - 1) * pg.per_page;

		do {
			if ((rc = store_pipeline_list(r.app->store, p->id, &scan, &batch,
						      &batch_total)) < 0) {
				rc = api_reply_error(&r, rc, "Pipeline");
				goto done;
			}
			for (size_t i = 0; batch[i]; i++, seen++) {
				if (!pl_matches(&f, batch[i]))
					continue;
				if (total >= first && total < first + pg.per_page)
					json_array_append_new(arr,
							      api_pipeline_json(r.app, batch[i], p));
				total++;
			}
			store_pipeline_list_free(batch);
			batch = NULL;
			scan.page++;
		} while (seen < batch_total && seen < LIST_SCAN_MAX &&
			 (scan.page - 1) * scan.per_page < batch_total);
	}
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
	arr = NULL;
done:
	json_decref(arr);
	store_pipeline_list_free(list);
	store_pipeline_list_free(batch);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* The pipeline :pipeline_id of project p, or an answered 404. */
static int find_pipeline(struct api_req *r, const struct store_project *p,
			 struct store_pipeline **out)
{
	int64_t id;
	int rc;

	*out = NULL;
	if ((rc = api_path_id(r, "pipeline_id", "Pipeline", &id)) != 0)
		return rc;
	rc = store_pipeline_get(r->app->store, id, out);
	if (rc == 0 && (*out)->project_id != p->id) {
		store_pipeline_free(*out);
		*out = NULL;
		rc = SO_ENOTFOUND;
	}
	if (rc == SO_ENOTFOUND)
		return api_reply_message(r, 404, "404 Pipeline Not Found");
	return rc < 0 ? api_reply_error(r, rc, "Pipeline") : 0;
}

int api_pipelines_get(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_pipeline *pl = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, NULL, 0)) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0 || (rc = find_pipeline(&r, p, &pl)) != 0)
		goto done;
	rc = http_respond_json(req, 200, api_pipeline_json(r.app, pl, p));
done:
	store_pipeline_free(pl);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

static const struct api_param pl_jobs_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
	{ "scope", API_PARAM_STRING, false, 32 },
	{ "scope[]", API_PARAM_STRING, false, 32 },
	{ "include_retried", API_PARAM_BOOL, false, 0 },
};

int api_pipeline_jobs(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_pipeline *pl = NULL;
	struct store_job **jobs = NULL;
	struct store_page pg;
	struct api_req r;
	json_t *arr = NULL;
	const char *scope;
	enum store_ci_status want = STORE_CI_CREATED;
	int64_t total = 0, first;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, API_SPEC(pl_jobs_params))) != 0 ||
	    (rc = api_ci_project(&r, false, &p)) != 0 || (rc = find_pipeline(&r, p, &pl)) != 0)
		goto done;
	api_page(&r, &pg);
	scope = api_params_str(r.params, "scope[]");
	if (!scope)
		scope = api_params_str(r.params, "scope");
	if (scope && store_ci_status_parse(scope, &want) < 0) {
		rc = api_reply_param_error(&r, "scope does not have a valid value");
		goto done;
	}
	if ((rc = store_job_list_for_pipeline(r.app->store, pl->id, &jobs)) < 0) {
		rc = api_reply_error(&r, rc, "Job");
		goto done;
	}
	arr = json_array();
	first = (pg.page - 1) * pg.per_page;
	for (size_t i = 0; jobs[i]; i++) {
		if (scope && jobs[i]->status != want)
			continue;
		if (total >= first && total < first + pg.per_page)
			json_array_append_new(arr, api_job_json(r.app, jobs[i], pl, p));
		total++;
	}
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
	arr = NULL;
done:
	json_decref(arr);
	store_job_list_free(jobs);
	store_pipeline_free(pl);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}
