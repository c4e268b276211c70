/*
 * project.c: the project pages at GitLab's URLs, /<namespace>/<project>
 * and /<namespace>/<project>/-/<page>. A project's web_url (in API
 * replies and chat replies) points here.
 *
 * Design: namespaces nest ("group/sub/project"), so no fixed route
 * pattern can match these URLs. This handler is registered last, as a GET
 * catch-all after the git route: it splits the decoded path at "/-/" into
 * the project's full path and the sub-page, finds the project, checks
 * that the visitor may read it, and renders the page. Visibility follows
 * GitLab: a project that is missing or that the visitor cannot read goes
 * back to the router (HTTP_NEXT) for its 404 when the visitor is signed
 * in, and asks an anonymous visitor to sign in first, in both cases alike,
 * so a private project's existence is never confirmed.
 *
 * Sub-pages are a table (project_pages) that later parts extend.
 */
#include "web/html.h"
#include "web/web.h"
#include "web/jobs.h"
#include "auth/auth.h"
#include "core/app.h"
#include "core/validate.h"
#include "git/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define PROJECT_PAGE_MAX (256u << 10)
#define PROJECT_PATH_MAX 2048

static const char *visibility_name(enum store_visibility v)
{
	switch (v) {
	case STORE_VIS_PUBLIC: return "Public";
	case STORE_VIS_INTERNAL: return "Internal";
	default: return "Private";
	}
}

static const char *role_name(int level)
{
	switch (level) {
	case AUTH_ACCESS_OWNER: return "Owner";
	case AUTH_ACCESS_MAINTAINER: return "Maintainer";
	case AUTH_ACCESS_DEVELOPER: return "Developer";
	case AUTH_ACCESS_REPORTER: return "Reporter";
	case AUTH_ACCESS_GUEST: return "Guest";
	default: return NULL;
	}
}

/* The overview: what the project is and how to get its code. */
static int render_overview(struct app *app, struct http_request *req,
			   const struct auth_identity *id, const struct store_project *p, int level)
{
	struct buf body = BUF_INIT(PROJECT_PAGE_MAX);
	const char *base = app->cfg.external_url ? app->cfg.external_url : "";
	char *clone = xasprintf("%s/%s.git", base, p->path_with_namespace);
	const char *role = role_name(level);
	bool empty = true;
	int err;

	if (gitrepo_is_empty(app->cfg.repos_dir, p->id, &empty) < 0)
		empty = true;
	err = html_printf(&body,
		"<section class=\"card\">\n<h1>%s</h1>\n"
		"<p class=\"muted\">%s &middot; %s project",
		p->name, p->path_with_namespace, visibility_name(p->visibility));
	if (err == 0 && role)
		err = html_printf(&body, " &middot; you are %s", role);
	if (err == 0)
		err = buf_puts(&body, "</p>\n");
	if (err == 0 && p->description && *p->description)
		err = html_printf(&body, "<p>%s</p>\n", p->description);
	if (err == 0)
		err = html_printf(&body,
			"<dl class=\"facts\">\n"
			"<dt>Clone with HTTP</dt><dd><code>%s</code></dd>\n"
			"<dt>Default branch</dt><dd>%s</dd>\n"
			"</dl>\n</section>\n",
			clone, p->default_branch ? p->default_branch : "(none yet: the first pushed branch)");
	if (err == 0 && empty)
		err = html_printf(&body,
			"<section class=\"card\">\n<h2>The repository is empty</h2>\n"
			"<p>Push an existing repository:</p>\n"
			"<pre>git remote add origin %s\ngit push -u origin --all</pre>\n"
			"<p class=\"muted\">Sign in to git with your username and password, "
			"or any username and a personal access token.</p>\n</section>\n",
			clone);
	if (err == 0 && level >= AUTH_ACCESS_MAINTAINER)
		err = html_printf(&body,
			"<section class=\"card\">\n<h2>Settings</h2>\n"
			"<p><a href=\"/-/projects/%lld/settings/integrations/mattermost_slash_commands\">"
			"Mattermost slash commands</a></p>\n</section>\n",
			(long long)p->id);
	if (err == 0)
		err = web_render_page(req, 200, p->name, buf_cstr(&body), id);
	free(clone);
	buf_dispose(&body);
	return err;
}

/* Sub-pages under /<project>/-/; later parts add rows. */
struct project_page {
	const char *prefix; /* "" is the overview */
	int (*render)(struct app *app, struct http_request *req, const struct auth_identity *id,
		      const struct store_project *p, int level, const char *rest);
};

static int overview(struct app *app, struct http_request *req, const struct auth_identity *id,
		    const struct store_project *p, int level, const char *rest)
{
	(void)rest;
	if (strcmp(http_request_method(req), "GET") != 0)
		return HTTP_NEXT;
	return render_overview(app, req, id, p, level);
}

static const struct project_page project_pages[] = {
	{ "", overview },
	{ "jobs", web_project_jobs },           /* jobs.h (issue 5) */
	{ "pipelines", web_project_pipelines },
};

static int project_dispatch(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project *p = NULL;
	const char *raw = http_request_path(req), *sub = NULL, *mark;
	char *path = NULL, *full = NULL, *slash;
	bool bad_ns;
	const struct project_page *page = NULL;
	bool can_read = false;
	int level = 0, err;
	size_t len;

	memset(&id, 0, sizeof(id));
	if (!raw || raw[0] != '/' || strlen(raw) > PROJECT_PATH_MAX ||
	    http_url_decode(raw + 1, strlen(raw + 1), false, PROJECT_PATH_MAX, &path) < 0)
		return HTTP_NEXT;
	mark = strstr(path, "/-/");
	len = mark ? (size_t)(mark - path) : strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	full = xstrndup(path, len);
	sub = mark ? mark + 3 : "";
	/* Only what could name a project goes on: "ns[/sub...]/project",
	 * every segment valid by GitLab's naming rules (so git client URLs
	 * like /ns/p.git/config, and assets, fall through to the 404). */
	slash = strrchr(full, '/');
	if (!slash || validate_path(slash + 1, VALIDATE_PATH_PROJECT) != NULL) {
		err = HTTP_NEXT;
		goto done;
	}
	*slash = '\0';
	bad_ns = validate_namespace_path(full) != NULL;
	*slash = '/';
	if (bad_ns) {
		err = HTTP_NEXT;
		goto done;
	}
	if ((err = auth_request_session(app, req, &id)) < 0 && err != SO_EAUTH)
		goto done;
	err = store_project_get_by_path(app->store, full, &p);
	if (err < 0 && err != SO_ENOTFOUND)
		goto done;
	if (p && (err = auth_project_access(app, id.user, p->id, &level, &can_read)) < 0)
		goto done;
	if (!p || !can_read) {
		if (!id.user) {
			/* Anonymous: sign in first, whether or not it exists. */
			auth_identity_dispose(&id);
			err = web_require_session(app, req, &id);
			err = err > 0 ? 0 : err;
		} else {
			err = HTTP_NEXT;
		}
		goto done;
	}
	for (size_t i = 0; i < sizeof(project_pages) / sizeof(project_pages[0]); i++) {
		size_t n = strlen(project_pages[i].prefix);

		if ((n == 0 && *sub == '\0') ||
		    (n > 0 && strncmp(sub, project_pages[i].prefix, n) == 0)) {
			page = &project_pages[i];
			break;
		}
	}
	if (!page) {
		err = HTTP_NEXT;
		goto done;
	}
	err = page->render(app, req, &id, p, level, sub + strlen(page->prefix));
done:
	auth_identity_dispose(&id);
	store_project_free(p);
	free(full);
	free(path);
	return err;
}

const struct http_route web_project_routes[] = {
	{ "GET", "/*path", project_dispatch, 0 },
	{ "POST", "/*path", project_dispatch, 0 }, /* the pages' forms (jobs.c) */
};
const size_t web_project_routes_count =
	sizeof(web_project_routes) / sizeof(web_project_routes[0]);
