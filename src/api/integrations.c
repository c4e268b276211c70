/*
 * integrations.c: GET, PUT, DELETE of the Mattermost slash commands
 * integration of a project; see integrations.h.
 *
 * Design: the JSON is GitLab's integration entity (id, title, slug,
 * timestamps, active, the event flags an integration row carries, and
 * "properties" without the secret token, which GitLab never returns), plus
 * slashops' team_id/team_domain. A project that has never had the
 * integration answers 404 "404 Integration Not Found"; DELETE removes the
 * row (GitLab keeps an inactive one), so a later GET is 404 too.
 */
#include "api/integrations.h"
#include "api/api.h"

#include "auth/auth.h"
#include "core/app.h"
#include "store/store.h"
#include "util/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const struct api_param put_params[] = {
	{ "token", API_PARAM_STRING, false, 256 },
	{ "active", API_PARAM_BOOL, false, 0 },
	{ "team_id", API_PARAM_STRING, false, 128 },
	{ "team_domain", API_PARAM_STRING, false, 256 },
	{ "use_inherited_settings", API_PARAM_BOOL, false, 0 },
};

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *integration_json(const struct store_integration *in)
{
	json_t *j = json_pack("{s:I,s:s,s:s,s:o,s:o,s:b}", "id", (json_int_t)in->id, "title",
			      "Mattermost slash commands", "slug",
			      API_MATTERMOST_SLASH_COMMANDS_SLUG, "created_at",
			      str_or_null(in->created_at), "updated_at",
			      str_or_null(in->updated_at), "active", in->active);
	/* The event flags of an integration row, at GitLab's column defaults;
	 * a slash-command integration sends no events. */
	static const struct {
		const char *name;
		bool on;
	} flags[] = {
		{ "commit_events", true },	    { "push_events", true },
		{ "issues_events", true },	    { "incident_events", false },
		{ "alert_events", true },	    { "confidential_issues_events", true },
		{ "merge_requests_events", true }, { "tag_push_events", true },
		{ "deployment_events", false },   { "note_events", true },
		{ "confidential_note_events", true }, { "pipeline_events", true },
		{ "wiki_page_events", true },	    { "job_events", true },
		{ "comment_on_event_enabled", true }, { "inherited", false },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		json_object_set_new(j, flags[i].name, json_boolean(flags[i].on));
	json_object_set_new(j, "properties", json_object());
	json_object_set_new(j, "team_id", str_or_null(in->team_id));
	json_object_set_new(j, "team_domain", str_or_null(in->team_domain));
	return j;
}

/* The project, for a Maintainer (or admin) only: 404 when the caller
 * cannot see it, 403 when they can but are not a Maintainer. */
static int find_project(struct api_req *r, struct store_project **out)
{
	int level = 0, rc;

	if ((rc = api_find_project(r, http_request_param(r->req, "id"), out, &level)) != 0)
		return rc;
	if (level < AUTH_ACCESS_MAINTAINER && !api_is_admin(r))
		return api_reply_message(r, 403, "403 Forbidden");
	return 0;
}

static int reply_integration(struct api_req *r, int64_t project_id)
{
	struct store_integration *in = NULL;
	int rc = store_integration_get(r->app->store, project_id, API_MATTERMOST_SLASH_COMMANDS,
				       &in);

	if (rc < 0)
		rc = api_reply_error(r, rc, "Integration");
	else
		rc = http_respond_json(r->req, 200, integration_json(in));
	store_integration_free(in);
	return rc;
}

int api_integration_get(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_READ, NULL, 0)) != 0 ||
	    (rc = find_project(&r, &p)) != 0)
		goto done;
	rc = reply_integration(&r, p->id);
done:
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* A chat team id: 1..128 printable ASCII characters, no spaces. */
static bool valid_team_id(const char *s)
{
	for (const char *c = s; *c; c++)
		if (*c <= ' ' || *c > '~')
			return false;
	return *s != '\0';
}

int api_integration_put(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_integration *old = NULL;
	const char *token, *team_id, *team_domain;
	char *hash = NULL;
	bool token_changed = false;
	int64_t id = 0;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, API_SPEC(put_params))) != 0 ||
	    (rc = find_project(&r, &p)) != 0)
		goto done;
	token = api_params_str(r.params, "token");
	team_id = api_params_str(r.params, "team_id");
	team_domain = api_params_str(r.params, "team_domain");
	rc = store_integration_get(r.app->store, p->id, API_MATTERMOST_SLASH_COMMANDS, &old);
	if (rc < 0 && rc != SO_ENOTFOUND) {
		rc = api_reply_error(&r, rc, NULL);
		goto done;
	}
	if ((!token || !*token) && (!old || !old->token_hash)) {
		rc = api_reply_param_error(&r, "token is missing");
		goto done;
	}
	if (team_id && *team_id && !valid_team_id(team_id)) {
		rc = api_reply_param_error(&r, "team_id is invalid");
		goto done;
	}
	if (token && *token) {
		hash = auth_token_hash(r.app, token);
		token_changed = !old || !old->token_hash || strlen(old->token_hash) != strlen(hash) ||
				sodium_memcmp(old->token_hash, hash, strlen(hash)) != 0;
	}
	if ((rc = store_integration_upsert(r.app->store, p->id, API_MATTERMOST_SLASH_COMMANDS,
					   hash, api_params_bool(r.params, "active", true),
					   token_changed && !team_id, &id)) < 0) {
		rc = api_reply_error(&r, rc, NULL);
		goto done;
	}
	if (team_id &&
	    (rc = store_integration_set_team(r.app->store, id, *team_id ? team_id : NULL,
					     *team_id && team_domain && *team_domain ? team_domain
										     : NULL)) < 0) {
		rc = api_reply_error(&r, rc, NULL);
		goto done;
	}
	rc = reply_integration(&r, p->id);
done:
	free(hash);
	store_integration_free(old);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_integration_delete(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0 ||
	    (rc = find_project(&r, &p)) != 0)
		goto done;
	rc = store_integration_delete(r.app->store, p->id, API_MATTERMOST_SLASH_COMMANDS);
	if (rc < 0)
		rc = api_reply_error(&r, rc, "Integration");
	else
		rc = http_respond(req, 204, "text/plain", "", 0);
done:
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}
