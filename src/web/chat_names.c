/*
 * chat_names.c: linking chat accounts to slashops users, GitLab's
 * /-/profile/chat_names pages (routes in chat_pages.h).
 *
 * Design:
 *  - The trigger endpoint gives an unlinked chat user a link with a random
 *    token; the store keeps only auth_token_hash(token) with what the chat
 *    request said (team, chat user, project) and an expiry. Opening the
 *    link needs a session (web_require_session sends the visitor through
 *    sign-in and back, query string included). A missing, unknown, expired
 *    or used token is a 404, as in GitLab.
 *  - Authorize and Deny are POST forms carrying the session's
 *    authenticity_token and the link token. Both consume the link with
 *    store_chat_link_consume(), an atomic delete: of two concurrent clicks
 *    exactly one proceeds, the other gets 404. So the link is single-use
 *    whatever the outcome (GitLab deletes its Redis key in every case too).
 *  - Outcomes are shown on the list page through the flash cookie
 *    (flash.h), in GitLab's words (chat/presenters.h). Deny names the chat
 *    user (GitLab's message renders an empty name: its stored keys have no
 *    user_name).
 *  - Revoking deletes only the signed-in user's own row
 *    (store_chat_name_delete checks the owner); someone else's id is a
 *    404, as Rails' scoped find gives.
 *  - Every value shown comes from a chat request or the store and goes
 *    through html_printf's escaping.
 */
#include "web/chat_pages.h"
#include "web/flash.h"
#include "web/html.h"
#include "web/web.h"
#include "auth/auth.h"
#include "chat/presenters.h"
#include "core/app.h"
#include "http/form.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <string.h>
#include <strings.h>

#define CHAT_PAGE_MAX (1u << 20)
#define LINK_TOKEN_MAX 256 /* bytes; real tokens are 64 */

int web_render_not_found(struct http_request *req, const struct auth_identity *id)
{
	return web_render_page(req, 404, "Not found",
		"<section class=\"card\">\n<h1>404: Page not found</h1>\n"
		"<p>The page could not be found, or you don't have permission to view it. "
		"A link to connect a chat account works once and for ten minutes.</p>\n"
		"<p><a href=\"/\">Go to the dashboard</a></p>\n</section>\n", id);
}

/* The link of token (NULL or over-long: not found). */
static int find_link(struct app *app, const char *token, bool consume,
		     struct store_chat_link **out)
{
	char *hash;
	int err;

	*out = NULL;
	if (!token || !*token || strlen(token) > LINK_TOKEN_MAX)
		return error_set(SO_ENOTFOUND, "404 Not Found");
	hash = auth_token_hash(app, token);
	if (!hash)
		return error_set(SO_EFAIL, "cannot hash the link token");
	if (consume)
		err = store_chat_link_consume(app->store, hash, clock_unix(), out);
	else
		err = store_chat_link_get(app->store, hash, clock_unix(), out);
	free(hash);
	return err;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int web_chat_name_new(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_chat_link *link = NULL;
	struct store_project *project = NULL;
	struct buf body = BUF_INIT(CHAT_PAGE_MAX);
	const char *token = http_request_query(req, "token");
	const char *integration;
	char *asking = NULL;
	int err;

	if ((err = web_require_session(app, req, &id)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	err = find_link(app, token, false, &link);
	if (err == 0)
		err = store_project_get(app->store, link->project_id, &project);
	if (err == SO_ENOTFOUND) {
		err = web_render_not_found(req, &id);
		goto done;
	}
	if (err < 0)
		goto done;
	integration = chat_integration_name(link->team_id, link->chat_id);
	asking = chat_text_requesting_access(integration);
	err = html_printf(&body,
		"<section class=\"card authorize\">\n"
		"<h1>Authorization required</h1>\n"
		"<p class=\"lead\">%s.</p>\n"
		"<table class=\"projects details\">\n<tbody>\n"
		"<tr><th scope=\"row\">Integration</th><td><strong>%s</strong></td></tr>\n"
		"<tr><th scope=\"row\">Chat team</th><td>%s <span class=\"muted\">(%s)</span></td></tr>\n"
		"<tr><th scope=\"row\">Chat user</th><td>%s <span class=\"muted\">(%s)</span></td></tr>\n"
		"<tr><th scope=\"row\">Project</th><td>%s</td></tr>\n"
		"<tr><th scope=\"row\">Your account</th><td>@%s</td></tr>\n"
		"</tbody>\n</table>\n"
		"<p>If you authorize, slash commands that %s sends from this chat account act "
		"as you, with your permissions, in every slashops project connected to the "
		"team. You can revoke this at any time on the "
		"<a href=\"/-/profile/chat_names\">Chat accounts</a> page.</p>\n"
		"<div class=\"actions\">\n"
		"<form method=\"post\" action=\"/-/profile/chat_names\">\n"
		"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
		"<input type=\"hidden\" name=\"token\" value=\"%s\">\n"
		"<button type=\"submit\" class=\"btn\" name=\"commit\" value=\"authorize\">"
		"Authorize %s</button>\n</form>\n"
		"<form method=\"post\" action=\"/-/profile/chat_names/deny\">\n"
		"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
		"<input type=\"hidden\" name=\"token\" value=\"%s\">\n"
		"<button type=\"submit\" class=\"btn btn-secondary\" name=\"commit\" value=\"deny\">"
		"Deny</button>\n</form>\n"
		"</div>\n</section>\n",
		asking, integration, or_dash(link->team_domain), or_dash(link->team_id),
		or_dash(link->chat_name), or_dash(link->chat_id), project->path_with_namespace,
		id.user->username, integration, id.csrf_token ? id.csrf_token : "", token,
		integration, id.csrf_token ? id.csrf_token : "", token);
	if (err == 0)
		err = web_render_page(req, 200, "Authorize chat account", buf_cstr(&body), &id);
done:
	free(asking);
	store_project_free(project);
	store_chat_link_free(link);
	buf_dispose(&body);
	auth_identity_dispose(&id);
	return err;
}

/* The common start of every POST: a session (anonymous visitors are sent
 * to sign in), a readable form and a valid authenticity_token. Returns 0
 * to go on, 1 when it has answered, negative on failure. */
static int post_start(struct app *app, struct http_request *req, struct auth_identity *id,
		      struct form *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = web_require_session(app, req, id)) != 0)
		return err;
	if (form_parse_request(req, f) < 0 || !auth_csrf_valid(id, form_get(f, "authenticity_token"))) {
		error_clear();
		err = web_render_rejected(req, id);
		return err < 0 ? err : 1;
	}
	return 0;
}

static int redirect_with_flash(struct app *app, struct http_request *req, const char *to,
			       enum web_flash_kind kind, const char *text)
{
	int err = web_flash_set(app, req, kind, text);

	return err < 0 ? err : http_redirect(req, 302, to);
}

int web_chat_name_create(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct form f;
	struct store_chat_link *link = NULL;
	char *text = NULL;
	int64_t cn_id = 0;
	int err;

	if ((err = post_start(app, req, &id, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	err = find_link(app, form_get(&f, "token"), true, &link);
	if (err == SO_ENOTFOUND) {
		err = web_render_not_found(req, &id);
		goto done;
	}
	if (err < 0)
		goto done;
	err = store_chat_name_create(app->store, id.user->id, link->team_id, link->team_domain,
				     link->chat_id, link->chat_name, &cn_id);
	if (err == SO_EEXISTS || err == SO_EINVALID) {
		error_clear();
		err = redirect_with_flash(app, req, "/-/profile/chat_names", WEB_FLASH_ALERT,
					  CHAT_TEXT_AUTHORIZE_FAILED);
		goto done;
	}
	if (err < 0)
		goto done;
	text = chat_text_authorized(link->chat_name && *link->chat_name ? link->chat_name
									 : link->chat_id);
	err = redirect_with_flash(app, req, "/-/profile/chat_names", WEB_FLASH_NOTICE, text);
done:
	free(text);
	store_chat_link_free(link);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}

int web_chat_name_deny(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct form f;
	struct store_chat_link *link = NULL;
	char *text = NULL;
	int err;

	if ((err = post_start(app, req, &id, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	err = find_link(app, form_get(&f, "token"), true, &link);
	if (err == SO_ENOTFOUND) {
		err = web_render_not_found(req, &id);
		goto done;
	}
	if (err < 0)
		goto done;
	text = chat_text_denied(link->chat_name && *link->chat_name ? link->chat_name
								    : link->chat_id);
	err = redirect_with_flash(app, req, "/-/profile/chat_names", WEB_FLASH_NOTICE, text);
done:
	free(text);
	store_chat_link_free(link);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}

int web_chat_names(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_chat_name **list = NULL;
	struct buf body = BUF_INIT(CHAT_PAGE_MAX);
	enum web_flash_kind kind;
	char *flash = NULL;
	size_t i;
	int err;

	if ((err = web_require_session(app, req, &id)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	if ((err = web_flash_take(app, req, &kind, &flash)) < 0 ||
	    (err = store_chat_name_list_for_user(app->store, id.user->id, &list)) < 0 ||
	    (err = web_flash_html(&body, kind, flash)) < 0)
		goto done;
	err = buf_puts(&body,
		"<section class=\"card\">\n<h1>Chat accounts</h1>\n"
		"<p class=\"muted\">Chat accounts you linked to slashops. Slash commands from "
		"them run as you. Revoke a link you no longer use.</p>\n");
	if (err == 0 && (!list || !list[0]))
		err = html_printf(&body, "<p class=\"empty\">%s</p>\n", CHAT_TEXT_NO_CHAT_NAMES);
	if (err == 0 && list && list[0])
		err = buf_puts(&body, "<table class=\"projects chat-names\">\n<thead><tr>"
				      "<th>Team</th><th>Chat name</th><th>Last used</th>"
				      "<th>Created</th><th></th></tr></thead>\n<tbody>\n");
	for (i = 0; err == 0 && list && list[i]; i++) {
		struct store_chat_name *cn = list[i];

		err = html_printf(&body,
			"<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>"
			"<form method=\"post\" action=\"/-/profile/chat_names/%lld/delete\">"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">"
			"<button type=\"submit\" class=\"btn btn-danger\">Revoke</button>"
			"</form></td></tr>\n",
			or_dash(cn->team_domain), or_dash(cn->chat_name),
			cn->last_used_at && *cn->last_used_at ? cn->last_used_at : "Never",
			or_dash(cn->created_at), (long long)cn->id,
			id.csrf_token ? id.csrf_token : "");
	}
	if (err == 0 && list && list[0])
		err = buf_puts(&body, "</tbody>\n</table>\n");
	if (err == 0)
		err = buf_puts(&body, "</section>\n");
	if (err == 0)
		err = web_render_page(req, 200, "Chat accounts", buf_cstr(&body), &id);
done:
	free(flash);
	store_chat_name_list_free(list);
	buf_dispose(&body);
	auth_identity_dispose(&id);
	return err;
}

/* The number in "/-/profile/chat_names/<id>/delete" (the router matched
 * the shape already); 0 when it is not a plain positive number. */
static long long chat_name_id_of(const char *path)
{
	static const char prefix[] = "/-/profile/chat_names/";
	char seg[24];
	size_t n;

	if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	path += sizeof(prefix) - 1;
	n = strcspn(path, "/");
	if (n == 0 || n >= sizeof(seg))
		return 0;
	memcpy(seg, path, n);
	seg[n] = '\0';
	return web_parse_id(seg);
}

int web_chat_name_delete(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct form f;
	struct store_chat_name **list = NULL;
	const char *name = NULL;
	char *text = NULL;
	long long cn_id = chat_name_id_of(http_request_path(req));
	size_t i;
	int err;

	if ((err = post_start(app, req, &id, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	if ((err = store_chat_name_list_for_user(app->store, id.user->id, &list)) < 0)
		goto done;
	for (i = 0; list && list[i]; i++)
		if (list[i]->id == cn_id)
			name = list[i]->chat_name && *list[i]->chat_name ? list[i]->chat_name
									 : list[i]->chat_id;
	if (!name) { /* not one of this user's: as if it did not exist */
		err = web_render_not_found(req, &id);
		goto done;
	}
	err = store_chat_name_delete(app->store, cn_id, id.user->id);
	if (err == SO_ENOTFOUND) { /* revoked meanwhile */
		error_clear();
		text = chat_text_delete_failed(name);
		err = redirect_with_flash(app, req, "/-/profile/chat_names", WEB_FLASH_ALERT, text);
		goto done;
	}
	if (err < 0)
		goto done;
	text = chat_text_deleted(name);
	err = redirect_with_flash(app, req, "/-/profile/chat_names", WEB_FLASH_NOTICE, text);
done:
	free(text);
	store_chat_name_list_free(list);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}
