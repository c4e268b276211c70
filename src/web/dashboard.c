/*
 * dashboard.c: GET /, the signed-in home page: who you are and the
 * projects you can see, each with its clone URL.
 *
 * Design: anonymous visitors are sent to sign in (web_require_session).
 * The list is the store's visible-project query (membership, internal and
 * public projects; all for admins), first 100, newest first; clone URLs
 * are <external_url>/<path_with_namespace>.git as the API reports them.
 * Projects the user maintains link to their Mattermost slash commands
 * settings; the welcome card links to the user's chat accounts.
 */
#include "web/html.h"
#include "web/pages.h"
#include "web/web.h"
#include "auth/auth.h"
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <string.h>

#define DASHBOARD_MAX (1u << 20)

static const char *visibility_name(enum store_visibility v)
{
	switch (v) {
	case STORE_VIS_PUBLIC: return "Public";
	case STORE_VIS_INTERNAL: return "Internal";
	default: return "Private";
	}
}

int web_dashboard(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project **list = NULL;
	struct store_page page = { 1, 100 };
	struct buf body = BUF_INIT(DASHBOARD_MAX);
	const char *base = app->cfg.external_url ? app->cfg.external_url : "";
	size_t baselen = strlen(base), i;
	int64_t total = 0;
	int err;

	while (baselen > 0 && base[baselen - 1] == '/')
		baselen--;
	if ((err = web_require_session(app, req, &id)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	if ((err = store_project_list_visible(app->store, id.user->id, id.user->is_admin, &page,
					      &list, &total)) < 0)
		goto done;
	err = html_printf(&body,
		"<section class=\"card\">\n<h1>Welcome, %s</h1>\n"
		"<p class=\"muted\">Signed in as @%s. "
		"<a href=\"/-/profile/chat_names\">Chat accounts</a></p>\n</section>\n"
		"<section class=\"card\">\n<h1>Projects</h1>\n",
		id.user->name && *id.user->name ? id.user->name : id.user->username,
		id.user->username);
	if (err == 0 && (!list || !list[0]))
		err = buf_puts(&body, "<p class=\"muted\">You have no projects yet.</p>\n");
	if (err == 0 && list && list[0])
		err = buf_puts(&body, "<table class=\"projects\">\n<thead><tr><th>Project</th>"
				      "<th>Visibility</th><th>Clone with HTTP</th><th>Integrations</th>"
				      "</tr></thead>\n"
				      "<tbody>\n");
	for (i = 0; err == 0 && list && list[i]; i++) {
		struct store_project *p = list[i];
		char *clone = xasprintf("%.*s/%s.git", (int)baselen, base, p->path_with_namespace);
		int level = 0;
		bool can_read = false;

		if (auth_project_access(app, id.user, p->id, &level, &can_read) < 0)
			level = 0;
		err = html_printf(&body,
			"<tr><td><strong>%s</strong><br><span class=\"muted\">%s</span></td>"
			"<td>%s</td><td><code>%s</code></td><td>",
			p->path_with_namespace, p->description ? p->description : "",
			visibility_name(p->visibility), clone);
		if (err == 0 && level >= AUTH_ACCESS_MAINTAINER)
			err = html_printf(&body, "<a href=\"/-/projects/%lld/settings/integrations/"
					  "mattermost_slash_commands\">Mattermost slash commands</a>",
					  (long long)p->id);
		if (err == 0)
			err = buf_puts(&body, "</td></tr>\n");
		free(clone);
	}
	if (err == 0 && list && list[0])
		err = buf_puts(&body, "</tbody>\n</table>\n");
	if (err == 0 && total > 100)
		err = html_printf(&body, "<p class=\"muted\">Showing 100 of %lld projects.</p>\n",
				  (long long)total);
	if (err == 0)
		err = buf_puts(&body, "</section>\n");
	if (err == 0)
		err = web_render_page(req, 200, "Dashboard", buf_cstr(&body), &id);
done:
	store_project_list_free(list);
	buf_dispose(&body);
	auth_identity_dispose(&id);
	return err;
}
