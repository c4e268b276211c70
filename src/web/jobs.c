/*
 * jobs.c: the CI pages of a project: /<project>/-/jobs (list),
 * /<project>/-/jobs/<id> (a job and its log), .../jobs/<id>/trace.json
 * (the log's next HTML fragment, for live updates), POST
 * .../jobs/<id>/play and .../cancel, /<project>/-/pipelines (list) and
 * /<project>/-/pipelines/<id> (its jobs). project.c's project_pages table
 * routes here after it has found the project and checked that the
 * visitor can see it.
 *
 * Design: reading CI data is GitLab's read_build (anyone who sees a
 * public or internal project, Reporter and up on a private one); playing
 * and canceling is update_build (Developer and up), through POST forms
 * with the session's authenticity_token, answered with a redirect back to
 * the job. The log is rendered server-side by exec/trace_html.h from the
 * trace file (pread, never read whole), capped at JOB_TRACE_FIRST bytes
 * of HTML with a link to the raw log. While the job has not finished the
 * page loads /assets/job.js (the only script: the page's CSP allows
 * script-src 'self'), which polls trace.json with the renderer's
 * checkpoint token and re-renders the log as it grows; see job.js. A chat
 * job's page also says what became of its chat reply (from the outbox),
 * so a reply that could not be delivered (its response_url expired) is
 * explained where the result is kept.
 */
#include "web/jobs.h"
#include "web/html.h"
#include "web/web.h"

#include "auth/auth.h"
#include "core/app.h"
#include "exec/trace_html.h"
#include "http/form.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_js.h" /* generated from assets/job.js: web_job_js[] */

#define JOB_PAGE_MAX (2u << 20)
#define JOB_TRACE_FIRST (512u << 10)   /* HTML of the log in the page */
#define JOB_TRACE_STEP (256u << 10)    /* HTML per trace.json answer */
#define JOB_STATE_MAX 4096             /* a checkpoint token from the client */
#define JOB_LIST_MAX 100

#define JOB_CSP "default-src 'none'; script-src 'self'; connect-src 'self'; " \
	"style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; " \
	"base-uri 'none'"

/* ---- small helpers ---- */

static bool can_read_build(const struct store_project *p, int level)
{
	return p->visibility != STORE_VIS_PRIVATE || level >= AUTH_ACCESS_REPORTER;
}

static bool ci_finished(enum store_ci_status s)
{
	return s == STORE_CI_SUCCESS || s == STORE_CI_FAILED || s == STORE_CI_CANCELED ||
	       s == STORE_CI_SKIPPED;
}

/* The word GitLab's badges show. */
static const char *status_text(enum store_ci_status s)
{
	return s == STORE_CI_SUCCESS ? "passed" : store_ci_status_name(s);
}

/* Parses a positive decimal id at *s, advancing past it. */
static bool parse_id(const char **s, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return v > 0;
}

static void format_duration(double secs, char *out, size_t size)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s >= 3600)
		snprintf(out, size, "%ldh %ldm %lds", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(out, size, "%ldm %lds", s / 60, s % 60);
	else
		snprintf(out, size, "%lds", s);
}

static double job_seconds(const struct store_job *j)
{
	time_t start;
	int64_t now;

	if (j->finished_at)
		return j->duration;
	if (j->status == STORE_CI_RUNNING && j->started_at &&
	    clock_parse_iso(j->started_at, &start) == 0) {
		now = clock_unix();
		return now > (int64_t)start ? (double)(now - (int64_t)start) : 0;
	}
	return 0;
}

static char *trace_path(struct app *app, int64_t job_id)
{
#ifdef SO_WEB_HAVE_PIPELINE
	return pipeline_trace_path(app, job_id);
#else
	return xasprintf("%s/traces/%lld.log", app->cfg.data_dir ? app->cfg.data_dir : ".",
			 (long long)job_id);
#endif
}

static int not_found(struct http_request *req)
{
	(void)req;
	return HTTP_NEXT;
}

/* The job id in rest ("/<id>...") of project p; the job, or SO_ENOTFOUND. */
static int load_job(struct app *app, const struct store_project *p, int64_t id,
		    struct store_job **out)
{
	int err = store_job_get(app->store, id, out);

	if (err == 0 && (*out)->project_id != p->id) {
		store_job_free(*out);
		*out = NULL;
		err = SO_ENOTFOUND;
	}
	return err;
}

static void status_badge(struct buf *b, enum store_ci_status s, bool with_id)
{
	html_printf(b, "<span class=\"ci-status ci-%s\"", store_ci_status_name(s));
	if (with_id)
		buf_puts(b, " id=\"job-status\"");
	html_printf(b, ">%s</span>", status_text(s));
}

/* ---- the job page ---- */

static void action_form(struct buf *b, const struct store_project *p, int64_t job_id,
			const char *action, const char *label, const struct auth_identity *id)
{
	html_printf(b, "<form method=\"post\" action=\"/%s/-/jobs/%lld/%s\" class=\"inline\">"
		       "<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">"
		       "<button type=\"submit\" class=\"btn\" id=\"job-%s\">%s</button></form>\n",
		    p->path_with_namespace, (long long)job_id, action,
		    id->csrf_token ? id->csrf_token : "", action, label);
}

/* The fate of a chat job's replies (its outbox rows): delivered, waiting,
 * or not delivered and why (an expired response_url, refused, out of
 * attempts). The result itself is this page: a reply that could not be
 * sent is not lost to the user. */
static void chat_reply_meta(struct app *app, struct buf *b, int64_t job_id)
{
	struct store_outbox **rows = NULL;

	if (store_outbox_list_for_job(app->store, job_id, &rows) < 0 || !rows)
		return;
	for (size_t i = 0; rows[i]; i++) {
		const struct store_outbox *o = rows[i];

		buf_puts(b, "<dt>Chat reply</dt><dd class=\"chat-reply\">");
		if (o->state == STORE_OUTBOX_DELIVERED)
			buf_puts(b, "delivered");
		else if (o->state == STORE_OUTBOX_FAILED)
			html_printf(b, "not delivered: %s. The result is kept on this page.",
				    o->last_error ? o->last_error : "given up");
		else if (o->attempts > 0)
			html_printf(b, "waiting to be sent (%d attempts failed; last error: %s)",
				    o->attempts, o->last_error ? o->last_error : "unknown");
		else
			buf_puts(b, "waiting to be sent");
		buf_puts(b, "</dd>");
	}
	store_outbox_list_free(rows);
}

static int render_job(struct app *app, struct http_request *req, const struct auth_identity *id,
		      const struct store_project *p, int level, const struct store_job *j)
{
	struct buf body = BUF_INIT(JOB_PAGE_MAX), html = BUF_INIT(0), token = BUF_INIT(0);
	struct store_pipeline *pl = NULL;
	struct store_user *u = NULL;
	bool finished = ci_finished(j->status), more = false;
	char *path = trace_path(app, j->id), dur[64];
	int fd = -1, err;

	if (store_pipeline_get(app->store, j->pipeline_id, &pl) < 0)
		pl = NULL;
	if (j->user_id > 0 && store_user_get(app->store, j->user_id, &u) < 0)
		u = NULL;
	html_printf(&body, "<link rel=\"stylesheet\" href=\"/assets/job.css\">\n"
			   "<section class=\"card job-page\">\n<p class=\"crumbs\">"
			   "<a href=\"/%s\">%s</a> / <a href=\"/%s/-/jobs\">Jobs</a></p>\n<h1>",
		    p->path_with_namespace, p->name, p->path_with_namespace);
	status_badge(&body, j->status, true);
	html_printf(&body, " %s <span class=\"job-id\">#%lld</span></h1>\n<dl class=\"job-meta\">"
			   "<dt>Stage</dt><dd>%s</dd>",
		    j->name, (long long)j->id, j->stage);
	if (pl)
		html_printf(&body, "<dt>Pipeline</dt><dd><a href=\"/%s/-/pipelines/%lld\">#%lld</a>"
				   " (%s, <code>%s</code>, %s)</dd>",
			    p->path_with_namespace, (long long)pl->id, (long long)pl->id,
			    pl->source ? pl->source : "", pl->ref ? pl->ref : "",
			    pl->sha ? pl->sha : "");
	format_duration(job_seconds(j), dur, sizeof(dur));
	if (j->started_at)
		html_printf(&body, "<dt>Duration</dt><dd>%s</dd>", dur);
	if (u)
		html_printf(&body, "<dt>Triggered by</dt><dd>%s (@%s)</dd>", u->name, u->username);
	if (j->status == STORE_CI_FAILED && j->failure_reason)
		html_printf(&body, "<dt>Failure reason</dt><dd>%s</dd>", j->failure_reason);
	if (pl && pl->source && strcmp(pl->source, "chat") == 0)
		chat_reply_meta(app, &body, j->id);
	buf_puts(&body, "</dl>\n<div class=\"job-actions\">\n");
	if (level >= AUTH_ACCESS_DEVELOPER && id->user) {
		if (j->status == STORE_CI_MANUAL)
			action_form(&body, p, j->id, "play", "Play", id);
		if (j->status == STORE_CI_PENDING || j->status == STORE_CI_RUNNING ||
		    j->status == STORE_CI_CREATED || j->status == STORE_CI_SCHEDULED)
			action_form(&body, p, j->id, "cancel", "Cancel", id);
	}
	html_printf(&body, "<a class=\"btn\" href=\"/api/v4/projects/%lld/jobs/%lld/trace\">"
			   "Show complete raw</a>\n</div>\n</section>\n",
		    (long long)p->id, (long long)j->id);

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 &&
	    (err = trace_html_render_fd(fd, NULL, JOB_TRACE_FIRST, finished, &html, &token,
					&more)) < 0) {
		buf_reset(&html);
		more = false;
	}
	html_printf(&body, "<div class=\"trace\" id=\"trace\" data-status=\"%s\""
			   " data-complete=\"%s\"",
		    store_ci_status_name(j->status), finished ? "true" : "false");
	if (!finished)
		html_printf(&body, " data-trace-url=\"/%s/-/jobs/%lld/trace.json\"",
			    p->path_with_namespace, (long long)j->id);
	buf_puts(&body, ">");
	buf_append(&body, html.data, html.len);
	buf_puts(&body, "</div>\n");
	buf_puts(&body, more ? "<p class=\"trace-notice\" id=\"trace-notice\">"
			     : "<p class=\"trace-notice\" id=\"trace-notice\" hidden>");
	html_printf(&body, "The log is too long to show here: <a href=\"/api/v4/projects/%lld/"
			   "jobs/%lld/trace\">show the complete raw log</a>.</p>\n",
		    (long long)p->id, (long long)j->id);
	if (fd < 0 && finished)
		buf_puts(&body, "<p class=\"trace-empty\">This job has no log.</p>\n");
	if (!finished)
		buf_puts(&body, "<script src=\"/assets/job.js\" defer></script>\n");
	err = web_render_page_csp(req, 200, j->name, buf_cstr(&body), id, JOB_CSP);
	if (fd >= 0)
		close(fd);
	free(path);
	store_user_free(u);
	store_pipeline_free(pl);
	buf_dispose(&html);
	buf_dispose(&token);
	buf_dispose(&body);
	return err;
}

/* GET .../jobs/<id>/trace.json?state=TOKEN */
static int render_trace_json(struct app *app, struct http_request *req,
			     const struct store_job *j)
{
	struct buf html = BUF_INIT(0), token = BUF_INIT(0);
	const char *state = http_request_query(req, "state");
	bool finished = ci_finished(j->status), more = false;
	char *path = trace_path(app, j->id);
	int fd = -1, err = 0;
	json_t *o;

	if (state && strlen(state) > JOB_STATE_MAX) {
		err = http_respond_error(req, 400, "400 Bad request - state");
		goto done;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		err = trace_html_render_fd(fd, state, JOB_TRACE_STEP, finished, &html, &token,
					   &more);
		if (err == SO_EINVALID) {
			err = http_respond_error(req, 400, "400 Bad request - state");
			goto done;
		}
		if (err < 0)
			goto done;
	} else if (state) {
		buf_puts(&token, state);
	}
	o = json_pack("{s:s%,s:s,s:b,s:b,s:s,s:s}", "html", html.data ? html.data : "", html.len,
		      "state", buf_cstr(&token), "complete", finished && !more, "more", more,
		      "status", store_ci_status_name(j->status), "status_text",
		      status_text(j->status));
	http_add_header(req, "Cache-Control", "no-store");
	err = http_respond_json(req, 200, o);
done:
	if (fd >= 0)
		close(fd);
	free(path);
	buf_dispose(&html);
	buf_dispose(&token);
	return err;
}

/* POST .../jobs/<id>/play|cancel */
static int job_action(struct app *app, struct http_request *req, const struct auth_identity *id,
		      const struct store_project *p, int level, const struct store_job *j,
		      bool play)
{
	struct form f = { 0 };
	char *back = NULL;
	int err;

	if (!id->user || level < AUTH_ACCESS_DEVELOPER) {
		err = not_found(req);
		goto done;
	}
	if (form_parse_request(req, &f) < 0 ||
	    !auth_csrf_valid(id, form_get(&f, "authenticity_token"))) {
		err = web_render_rejected(req, id);
		goto done;
	}
	if (!app->pipelines) {
		err = web_render_page(req, 503, "Unavailable",
				      "<section class=\"card\"><h1>Jobs are not running on this "
				      "server right now.</h1></section>\n", id);
		goto done;
	}
#ifdef SO_WEB_HAVE_PIPELINE
	err = play ? pipeline_job_play(app->pipelines, j->id, id->user->id)
		   : pipeline_job_cancel(app->pipelines, j->id);
#else
	(void)play;
	err = SO_EFAIL;
	error_set(SO_EFAIL, "the pipeline service is not built");
#endif
	if (err < 0 && err != SO_ECONFLICT)
		goto done;
	back = xasprintf("/%s/-/jobs/%lld", p->path_with_namespace, (long long)j->id);
	err = http_redirect(req, 302, back);
done:
	form_dispose(&f);
	free(back);
	return err;
}

/* ---- lists ---- */

static void job_row(struct buf *b, const struct store_project *p, const struct store_job *j)
{
	char dur[64];

	format_duration(job_seconds(j), dur, sizeof(dur));
	buf_puts(b, "<tr><td>");
	status_badge(b, j->status, false);
	html_printf(b, "</td><td><a href=\"/%s/-/jobs/%lld\">#%lld</a></td><td>%s</td>"
		       "<td>%s</td><td><a href=\"/%s/-/pipelines/%lld\">#%lld</a></td><td>%s</td>"
		       "<td>%s</td></tr>\n",
		    p->path_with_namespace, (long long)j->id, (long long)j->id, j->name, j->stage,
		    p->path_with_namespace, (long long)j->pipeline_id, (long long)j->pipeline_id,
		    j->started_at ? dur : "", j->created_at ? j->created_at : "");
}

static const char job_table_head[] =
	"<table class=\"ci-table\"><thead><tr><th>Status</th><th>Job</th><th>Name</th>"
	"<th>Stage</th><th>Pipeline</th><th>Duration</th><th>Created</th></tr></thead><tbody>\n";

static int render_jobs_list(struct app *app, struct http_request *req,
			    const struct auth_identity *id, const struct store_project *p)
{
	struct buf body = BUF_INIT(JOB_PAGE_MAX);
	struct store_job **list = NULL;
	struct store_page pg = { 1, JOB_LIST_MAX };
	int64_t total = 0;
	int err;

	if ((err = store_job_list_for_project(app->store, p->id, &pg, &list, &total)) < 0)
		goto done;
	html_printf(&body, "<link rel=\"stylesheet\" href=\"/assets/job.css\">\n"
			   "<section class=\"card\"><p class=\"crumbs\"><a href=\"/%s\">%s</a></p>"
			   "<h1>Jobs</h1>\n",
		    p->path_with_namespace, p->name);
	if (!list[0])
		buf_puts(&body, "<p>No jobs yet.</p>\n");
	else {
		buf_puts(&body, job_table_head);
		for (size_t i = 0; list[i]; i++)
			job_row(&body, p, list[i]);
		buf_puts(&body, "</tbody></table>\n");
	}
	buf_puts(&body, "</section>\n");
	err = web_render_page(req, 200, "Jobs", buf_cstr(&body), id);
done:
	store_job_list_free(list);
	buf_dispose(&body);
	return err;
}

static int render_pipelines_list(struct app *app, struct http_request *req,
				 const struct auth_identity *id, const struct store_project *p)
{
	struct buf body = BUF_INIT(JOB_PAGE_MAX);
	struct store_pipeline **list = NULL;
	struct store_page pg = { 1, JOB_LIST_MAX };
	int64_t total = 0;
	int err;

	if ((err = store_pipeline_list(app->store, p->id, &pg, &list, &total)) < 0)
		goto done;
	html_printf(&body, "<link rel=\"stylesheet\" href=\"/assets/job.css\">\n"
			   "<section class=\"card\"><p class=\"crumbs\"><a href=\"/%s\">%s</a></p>"
			   "<h1>Pipelines</h1>\n",
		    p->path_with_namespace, p->name);
	if (!list[0])
		buf_puts(&body, "<p>No pipelines yet.</p>\n");
	else {
		buf_puts(&body, "<table class=\"ci-table\"><thead><tr><th>Status</th>"
				"<th>Pipeline</th><th>Source</th><th>Ref</th><th>Commit</th>"
				"<th>Created</th></tr></thead><tbody>\n");
		for (size_t i = 0; list[i]; i++) {
			buf_puts(&body, "<tr><td>");
			status_badge(&body, list[i]->status, false);
			html_printf(&body, "</td><td><a href=\"/%s/-/pipelines/%lld\">#%lld</a> "
					   "(#%lld in project)</td><td>%s</td><td>%s</td>"
					   "<td><code>%s</code></td><td>%s</td></tr>\n",
				    p->path_with_namespace, (long long)list[i]->id,
				    (long long)list[i]->id, (long long)list[i]->iid,
				    list[i]->source ? list[i]->source : "",
				    list[i]->ref ? list[i]->ref : "",
				    list[i]->sha ? list[i]->sha : "",
				    list[i]->created_at ? list[i]->created_at : "");
		}
		buf_puts(&body, "</tbody></table>\n");
	}
	buf_puts(&body, "</section>\n");
	err = web_render_page(req, 200, "Pipelines", buf_cstr(&body), id);
done:
	store_pipeline_list_free(list);
	buf_dispose(&body);
	return err;
}

static int render_pipeline(struct app *app, struct http_request *req,
			   const struct auth_identity *id, const struct store_project *p,
			   int64_t pipeline_id)
{
	struct buf body = BUF_INIT(JOB_PAGE_MAX);
	struct store_pipeline *pl = NULL;
	struct store_job **jobs = NULL;
	char title[64];
	int err;

	err = store_pipeline_get(app->store, pipeline_id, &pl);
	if (err == SO_ENOTFOUND || (err == 0 && pl->project_id != p->id)) {
		err = not_found(req);
		goto done;
	}
	if (err < 0 || (err = store_job_list_for_pipeline(app->store, pl->id, &jobs)) < 0)
		goto done;
	html_printf(&body, "<link rel=\"stylesheet\" href=\"/assets/job.css\">\n"
			   "<section class=\"card\"><p class=\"crumbs\"><a href=\"/%s\">%s</a> / "
			   "<a href=\"/%s/-/pipelines\">Pipelines</a></p><h1>",
		    p->path_with_namespace, p->name, p->path_with_namespace);
	status_badge(&body, pl->status, false);
	html_printf(&body, " Pipeline #%lld</h1>\n<p>Source %s on <code>%s</code> at "
			   "<code>%s</code>, created %s</p>\n",
		    (long long)pl->id, pl->source ? pl->source : "", pl->ref ? pl->ref : "",
		    pl->sha ? pl->sha : "", pl->created_at ? pl->created_at : "");
	buf_puts(&body, job_table_head);
	for (size_t i = 0; jobs[i]; i++)
		job_row(&body, p, jobs[i]);
	buf_puts(&body, "</tbody></table>\n</section>\n");
	snprintf(title, sizeof(title), "Pipeline #%lld", (long long)pl->id);
	err = web_render_page(req, 200, title, buf_cstr(&body), id);
done:
	store_job_list_free(jobs);
	store_pipeline_free(pl);
	buf_dispose(&body);
	return err;
}

/* ---- entry points (project_pages) ---- */

int web_project_jobs(struct app *app, struct http_request *req, const struct auth_identity *id,
		     const struct store_project *p, int level, const char *rest)
{
	bool post = strcmp(http_request_method(req), "POST") == 0;
	struct store_job *j = NULL;
	const char *s = rest;
	int64_t job_id;
	int err;

	if (!can_read_build(p, level))
		return not_found(req);
	if (*s == '\0' || !strcmp(s, "/"))
		return post ? not_found(req) : render_jobs_list(app, req, id, p);
	if (*s++ != '/' || !parse_id(&s, &job_id))
		return not_found(req);
	err = load_job(app, p, job_id, &j);
	if (err == SO_ENOTFOUND)
		return not_found(req);
	if (err < 0)
		return err;
	if (!post && (*s == '\0' || !strcmp(s, "/")))
		err = render_job(app, req, id, p, level, j);
	else if (!post && !strcmp(s, "/trace.json"))
		err = render_trace_json(app, req, j);
	else if (post && !strcmp(s, "/play"))
		err = job_action(app, req, id, p, level, j, true);
	else if (post && !strcmp(s, "/cancel"))
		err = job_action(app, req, id, p, level, j, false);
	else
		err = not_found(req);
	store_job_free(j);
	return err;
}

int web_project_pipelines(struct app *app, struct http_request *req,
			  const struct auth_identity *id, const struct store_project *p, int level,
			  const char *rest)
{
	const char *s = rest;
	int64_t pid;

	if (strcmp(http_request_method(req), "GET") != 0 || !can_read_build(p, level))
		return not_found(req);
	if (*s == '\0' || !strcmp(s, "/"))
		return render_pipelines_list(app, req, id, p);
	if (*s++ != '/' || !parse_id(&s, &pid) || (*s && strcmp(s, "/")))
		return not_found(req);
	return render_pipeline(app, req, id, p, pid);
}

/* ---- assets ---- */

static const char job_css[] =
	".job-page h1{display:flex;align-items:center;gap:10px}\n"
	".job-id{color:#737278;font-weight:normal}\n"
	".job-meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}\n"
	".job-meta dt{color:#737278}.job-meta dd{margin:0}\n"
	".job-actions{display:flex;gap:8px;margin-top:12px}\n"
	"form.inline{display:inline;margin:0}\n"
	".crumbs{margin:0 0 8px;color:#737278}\n"
	".ci-status{display:inline-block;border-radius:12px;padding:1px 10px;font-size:13px;"
	"font-weight:600;border:1px solid #bfbfc3;color:#535158;background:#fff}\n"
	".ci-success{color:#108548;border-color:#108548}\n"
	".ci-failed{color:#dd2b0e;border-color:#dd2b0e}\n"
	".ci-running{color:#1f75cb;border-color:#1f75cb}\n"
	".ci-pending,.ci-manual,.ci-scheduled{color:#ab6100;border-color:#ab6100}\n"
	".ci-table{width:100%;border-collapse:collapse}\n"
	".ci-table td,.ci-table th{text-align:left;padding:6px 8px;border-bottom:1px solid #dcdcde}\n"
	"#trace{margin-top:16px;min-height:3em}\n"
	".trace-notice{margin-top:8px}\n";

int web_assets_job_css(struct http_request *req, void *app)
{
	struct buf b = BUF_INIT(0);
	int err;

	(void)app;
	buf_puts(&b, trace_html_css());
	buf_append(&b, job_css, sizeof(job_css) - 1);
	if ((err = http_add_header(req, "Cache-Control", "public, max-age=3600")) == 0)
		err = http_respond(req, 200, "text/css; charset=utf-8", b.data, b.len);
	buf_dispose(&b);
	return err;
}

int web_assets_job_js(struct http_request *req, void *app)
{
	int err;

	(void)app;
	if ((err = http_add_header(req, "Cache-Control", "public, max-age=3600")) < 0)
		return err;
	return http_respond(req, 200, "text/javascript; charset=utf-8", web_job_js,
			    sizeof(web_job_js));
}
