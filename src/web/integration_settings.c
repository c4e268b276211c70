/*
 * integration_settings.c: a project's "Mattermost slash commands" settings
 * page (routes in chat_pages.h): whether the integration is active,
 * whether a token is set (never the token), the chat team it serves, and
 * the values to paste into Mattermost's "Add Slash Command" form.
 *
 * Design:
 *  - GitLab's page lives at /<namespace>/<project>/-/settings/...; groups
 *    nest, so the router's fixed-shape patterns cannot match that. The page
 *    is at /-/projects/:id/settings/integrations/mattermost_slash_commands
 *    instead, :id being the project's number or URL-encoded full path, as
 *    in the API. The dashboard links to it.
 *  - Maintainer (40) or above, or an administrator. Anyone else, and any
 *    project they cannot see, gets the same 404 page, so nobody learns what
 *    exists.
 *  - The token Mattermost generated is stored as auth_token_hash(token)
 *    through store_integration_upsert(); the form's token field is a
 *    password input that is never filled in. A blank token keeps the
 *    current one; a new one clears the bound team, as the API does. Active
 *    without any token is refused ("Token can't be blank", GitLab's
 *    validation).
 *  - The bound team (recorded by the trigger from the first valid request)
 *    can be changed or cleared here; clearing lets the next valid request
 *    record its team again.
 *  - The suggested values follow GitLab's help panel (reference §3.4) with
 *    slashops' names, fitted to Mattermost's limits (display name 64
 *    bytes, description 128 bytes, trigger words 1-128 bytes without a
 *    leading '/' or a space and not a built-in command). Each value is a
 *    read-only input so it can be selected and copied; there is no script
 *    (the page CSP forbids scripts).
 *  - Results are shown after a redirect with the flash cookie (flash.h).
 */
#include "web/chat_pages.h"
#include "web/flash.h"
#include "web/html.h"
#include "web/web.h"
#include "auth/auth.h"
#include "core/app.h"
#include "http/form.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define SETTINGS_PAGE_MAX (1u << 20)
#define MM_KIND "mattermost_slash_commands"
#define MM_TITLE "Mattermost slash commands"
#define SETTINGS_SUFFIX "/settings/integrations/" MM_KIND
#define TOKEN_FIELD_MAX 1024     /* bytes of a submitted token */
#define TEAM_ID_MAX 64
#define TEAM_DOMAIN_MAX 255
#define NAMESPACE_DEPTH_MAX 20   /* parents walked for the full name */

/* ---- pure helpers ---- */

/* Mattermost's built-in slash commands (its docs' list plus a few
 * server-dependent ones); a custom command cannot take their triggers. */
static const char *const mm_builtins[] = {
	"away", "offline", "online", "dnd", "code", "collapse", "expand", "echo", "header",
	"invite", "purpose", "rename", "help", "invite_people", "kick", "remove", "join", "open",
	"leave", "mute", "logout", "me", "msg", "groupmsg", "search", "settings", "shortcuts",
	"shrug", "status", "marketplace", "exportlink", "share-channel", "mobile-logs",
};

bool web_mm_trigger_ok(const char *word)
{
	size_t n = word ? strlen(word) : 0, i;

	if (n == 0 || n > WEB_MM_TRIGGER_MAX || word[0] == '/' || strchr(word, ' '))
		return false;
	for (i = 0; i < sizeof(mm_builtins) / sizeof(mm_builtins[0]); i++)
		if (strcasecmp(word, mm_builtins[i]) == 0)
			return false;
	return true;
}

char *web_mm_fit(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), cut;

	if (n <= max)
		return xstrdup((const char *)p);
	if (max < 3)
		return xstrdup("");
	cut = max - 3;
	while (cut > 0 && (p[cut] & 0xc0) == 0x80) /* back to a character start */
		cut--;
	return xasprintf("%.*s...", (int)cut, (const char *)p);
}

long long web_parse_id(const char *s)
{
	long long v = 0;
	size_t i;

	if (!s || !*s || s[0] == '0' || strlen(s) > 18)
		return 0;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* ---- request plumbing ---- */

/* The decoded project segment of "/-/projects/<id>/settings/...". The
 * router matched the shape; NULL when it does not decode. Caller frees. */
static char *project_ref_of(const char *path)
{
	static const char prefix[] = "/-/projects/";
	char *out = NULL;
	size_t n;

	if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	path += sizeof(prefix) - 1;
	n = strcspn(path, "/");
	if (n == 0 || http_url_decode(path, n, false, 1024, &out) < 0) {
		error_clear();
		return NULL;
	}
	return out;
}

/* The common start of every handler: a session, the project (number or
 * full path) and Maintainer access. Returns 0 to go on; 1 when it has
 * answered (sign-in redirect or 404); negative on failure. */
static int settings_start(struct app *app, struct http_request *req, struct auth_identity *id,
			  struct store_project **project)
{
	char *ref = NULL;
	long long pid;
	int level = 0, err;
	bool can_read = false;

	*project = NULL;
	if ((err = web_require_session(app, req, id)) != 0)
		return err;
	ref = project_ref_of(http_request_path(req));
	if (!ref) {
		err = SO_ENOTFOUND;
	} else if ((pid = web_parse_id(ref)) > 0) {
		err = store_project_get(app->store, pid, project);
	} else {
		err = store_project_get_by_path(app->store, ref, project);
	}
	free(ref);
	if (err == 0)
		err = auth_project_access(app, id->user, (*project)->id, &level, &can_read);
	if (err == 0 && level < AUTH_ACCESS_MAINTAINER)
		err = SO_ENOTFOUND;
	if (err == SO_ENOTFOUND) {
		error_clear();
		store_project_free(*project);
		*project = NULL;
		err = web_render_not_found(req, id);
		return err < 0 ? err : 1;
	}
	return err;
}

/* Like settings_start, for POSTs: also a readable form with a valid
 * authenticity_token (422 otherwise). */
static int settings_post_start(struct app *app, struct http_request *req,
			       struct auth_identity *id, struct store_project **project,
			       struct form *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = settings_start(app, req, id, project)) != 0)
		return err;
	if (form_parse_request(req, f) < 0 || !auth_csrf_valid(id, form_get(f, "authenticity_token"))) {
		error_clear();
		err = web_render_rejected(req, id);
		return err < 0 ? err : 1;
	}
	return 0;
}

static char *settings_path(const struct store_project *p)
{
	return xasprintf("/-/projects/%lld" SETTINGS_SUFFIX, (long long)p->id);
}

static int back_with_flash(struct app *app, struct http_request *req,
			   const struct store_project *p, enum web_flash_kind kind, const char *text)
{
	char *to = settings_path(p);
	int err = web_flash_set(app, req, kind, text);

	if (err == 0)
		err = http_redirect(req, 302, to);
	free(to);
	return err;
}

/* GitLab's full_name: the names of the namespaces down to the project,
 * joined with " / ". Caller frees. */
static char *project_full_name(struct app *app, const struct store_project *p)
{
	struct buf b = BUF_INIT(16u << 10);
	const char *names[NAMESPACE_DEPTH_MAX];
	struct store_namespace *chain[NAMESPACE_DEPTH_MAX];
	int64_t ns_id = p->namespace_id;
	size_t depth = 0, i;
	char *out;

	while (ns_id > 0 && depth < NAMESPACE_DEPTH_MAX &&
	       store_namespace_get(app->store, ns_id, &chain[depth]) == 0) {
		names[depth] = chain[depth]->name && *chain[depth]->name ? chain[depth]->name
									  : chain[depth]->path;
		ns_id = chain[depth]->parent_id;
		depth++;
	}
	error_clear();
	for (i = depth; i > 0; i--)
		(void)buf_printf(&b, "%s / ", names[i - 1]);
	(void)buf_puts(&b, p->name ? p->name : p->path);
	for (i = 0; i < depth; i++)
		store_namespace_free(chain[i]);
	out = buf_detach(&b);
	buf_dispose(&b);
	return out;
}

/* One row of the values table: a label and a read-only input to copy. */
static int value_row(struct buf *out, const char *key, const char *label, const char *value,
		     const char *note)
{
	int err = html_printf(out,
		"<tr><th scope=\"row\"><label for=\"mm_%s\">%s</label></th><td>"
		"<input type=\"text\" class=\"copy\" id=\"mm_%s\" value=\"%s\" readonly>",
		key, label, key, value);

	if (err == 0 && note)
		err = html_printf(out, "<div class=\"muted hint\">%s</div>", note);
	return err < 0 ? err : buf_puts(out, "</td></tr>\n");
}

/* The values to paste into Mattermost's "Add Slash Command" form. */
static int values_html(struct app *app, struct buf *out, const struct store_project *p)
{
	const char *base = app->cfg.external_url ? app->cfg.external_url : "";
	size_t baselen = strlen(base);
	char *full_name = project_full_name(app, p);
	char *title = xasprintf(HTML_PRODUCT " / %s", full_name);
	char *desc = xasprintf("Perform common operations on " HTML_PRODUCT " project: %s",
			       full_name);
	char *title_fit = web_mm_fit(title, WEB_MM_DISPLAY_NAME_MAX);
	char *desc_fit = web_mm_fit(desc, WEB_MM_DESCRIPTION_MAX);
	char *url, *lower_path = NULL, *lower_full = NULL;
	const char *words[3];
	size_t i, nwords = 0;
	int err;

	while (baselen > 0 && base[baselen - 1] == '/')
		baselen--;
	url = xasprintf("%.*s/api/v4/projects/%lld/integrations/" MM_KIND "/trigger",
			(int)baselen, base, (long long)p->id);
	/* Mattermost lower-cases triggers; suggest them as it will store them. */
	lower_path = xstrdup(p->path);
	lower_full = xstrdup(p->path_with_namespace);
	for (i = 0; lower_path && lower_path[i]; i++)
		if (lower_path[i] >= 'A' && lower_path[i] <= 'Z')
			lower_path[i] = (char)(lower_path[i] - 'A' + 'a');
	for (i = 0; lower_full && lower_full[i]; i++)
		if (lower_full[i] >= 'A' && lower_full[i] <= 'Z')
			lower_full[i] = (char)(lower_full[i] - 'A' + 'a');
	words[nwords++] = "ops";
	if (web_mm_trigger_ok(lower_path) && strcmp(lower_path, "ops") != 0)
		words[nwords++] = lower_path;
	if (web_mm_trigger_ok(lower_full) && strcmp(lower_full, lower_path) != 0)
		words[nwords++] = lower_full;

	err = buf_puts(out,
		"<section class=\"card\">\n<h2>Add the slash command in Mattermost</h2>\n"
		"<ol class=\"steps\">\n"
		"<li>In Mattermost, an administrator enables custom slash commands: "
		"<strong>System Console &gt; Integrations &gt; Integration Management &gt; "
		"Enable Custom Slash Commands</strong>.</li>\n"
		"<li>In the team that will use it, open <strong>Integrations &gt; Slash Commands "
		"&gt; Add Slash Command</strong> and fill in the values below.</li>\n"
		"<li>Save it. Mattermost shows the command's <strong>Token</strong>: paste it into "
		"the <strong>Token</strong> field on this page.</li>\n"
		"<li>Tick <strong>Active</strong> and <strong>Save changes</strong>. Then type "
		"<code>/ops help</code> (with your trigger word) in any channel of the team.</li>\n"
		"</ol>\n"
		"<table class=\"projects values\">\n<tbody>\n");
	if (err == 0)
		err = value_row(out, "display_name", "Title", title_fit,
				"Mattermost calls it Title or Display name (at most 64 bytes).");
	if (err == 0)
		err = value_row(out, "description", "Description", desc_fit, NULL);
	for (i = 0; err == 0 && i < nwords; i++) {
		char key[16];

		snprintf(key, sizeof(key), "trigger_%zu", i + 1);
		err = value_row(out, key, i == 0 ? "Command trigger word" : "or", words[i],
				i + 1 == nwords ? "Fill in the word that works best for your team: "
				"1 to 128 characters, no leading slash, no spaces, not a built-in "
				"command such as /help." : NULL);
	}
	if (err == 0)
		err = value_row(out, "url", "Request URL", url, NULL);
	if (err == 0)
		err = value_row(out, "method", "Request method", "POST", NULL);
	if (err == 0)
		err = value_row(out, "username", "Response username", HTML_PRODUCT, NULL);
	if (err == 0)
		err = value_row(out, "autocomplete", "Autocomplete", "Yes",
				"Tick \"Show this command in the autocomplete list\".");
	if (err == 0)
		err = value_row(out, "autocomplete_hint", "Autocomplete hint", "[help]", NULL);
	if (err == 0)
		err = value_row(out, "autocomplete_description", "Autocomplete description",
				desc, NULL);
	if (err == 0)
		err = buf_puts(out, "</tbody>\n</table>\n</section>\n");
	free(lower_path);
	free(lower_full);
	free(url);
	free(title_fit);
	free(desc_fit);
	free(title);
	free(desc);
	free(full_name);
	return err;
}

int web_mm_settings(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project *p = NULL;
	struct store_integration *in = NULL;
	struct buf body = BUF_INIT(SETTINGS_PAGE_MAX);
	enum web_flash_kind kind;
	char *flash = NULL, *action = NULL;
	const char *csrf;
	bool active;
	int err;

	memset(&id, 0, sizeof(id));
	if ((err = settings_start(app, req, &id, &p)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	csrf = id.csrf_token ? id.csrf_token : "";
	err = store_integration_get(app->store, p->id, MM_KIND, &in);
	if (err == SO_ENOTFOUND) {
		error_clear();
		err = 0;
	}
	if (err < 0 || (err = web_flash_take(app, req, &kind, &flash)) < 0 ||
	    (err = web_flash_html(&body, kind, flash)) < 0)
		goto done;
	action = settings_path(p);
	active = in ? in->active : true;
	err = html_printf(&body,
		"<section class=\"card\">\n<h1>" MM_TITLE "</h1>\n"
		"<p class=\"muted\">Perform common tasks with slash commands in <strong>%s</strong>.</p>\n"
		"<table class=\"projects details\">\n<tbody>\n"
		"<tr><th scope=\"row\">Status</th><td class=\"status\">%s</td></tr>\n"
		"<tr><th scope=\"row\">Token</th><td class=\"token-state\">%s</td></tr>\n",
		p->path_with_namespace,
		!in ? "Not configured" : in->active ? "Active" : "Inactive",
		in && in->token_hash ? "Set (hidden)" : "Not set");
	if (err == 0 && in && in->team_id)
		err = html_printf(&body,
			"<tr><th scope=\"row\">Chat team</th><td class=\"team\">%s "
			"<span class=\"muted\">(%s)</span></td></tr>\n",
			in->team_domain ? in->team_domain : "-", in->team_id);
	else if (err == 0)
		err = buf_puts(&body,
			"<tr><th scope=\"row\">Chat team</th><td class=\"team\">Not bound yet: "
			"the first command with a valid token records its team, and commands "
			"from any other team are refused.</td></tr>\n");
	if (err == 0)
		err = html_printf(&body,
			"</tbody>\n</table>\n"
			"<form class=\"form settings\" method=\"post\" action=\"%s\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
			"<label class=\"check\"><input type=\"checkbox\" name=\"active\" value=\"1\"%s> "
			"Active</label>\n"
			"<label for=\"mm_token\">Token</label>\n"
			"<input type=\"password\" id=\"mm_token\" name=\"token\" autocomplete=\"off\" "
			"placeholder=\"%s\">\n"
			"<p class=\"muted hint\">The token Mattermost shows after you add the slash "
			"command. slashops keeps only a keyed hash of it.</p>\n"
			"<button type=\"submit\" class=\"btn\">Save changes</button>\n"
			"</form>\n</section>\n",
			action, csrf, active ? " checked" : "",
			in && in->token_hash ? "Leave blank to keep the current token"
					     : "Paste the token from Mattermost");
	if (err == 0 && in)
		err = html_printf(&body,
			"<section class=\"card\">\n<h2>Chat team</h2>\n"
			"<p class=\"muted\">Commands are accepted only from the team the integration "
			"serves. Clear it to let the next valid command record its team, or set it "
			"here (Mattermost team ID, 26 characters).</p>\n"
			"<form class=\"form team\" method=\"post\" action=\"%s/team\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
			"<label for=\"mm_team_id\">Team ID</label>\n"
			"<input type=\"text\" id=\"mm_team_id\" name=\"team_id\" value=\"%s\">\n"
			"<label for=\"mm_team_domain\">Team name</label>\n"
			"<input type=\"text\" id=\"mm_team_domain\" name=\"team_domain\" value=\"%s\">\n"
			"<button type=\"submit\" class=\"btn\">Change team</button>\n"
			"</form>\n"
			"<form class=\"inline\" method=\"post\" action=\"%s/team\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
			"<input type=\"hidden\" name=\"clear\" value=\"1\">\n"
			"<button type=\"submit\" class=\"btn btn-secondary\">Clear team</button>\n"
			"</form>\n</section>\n"
			"<section class=\"card\">\n<h2>Remove</h2>\n"
			"<p class=\"muted\">Removes the token and the team; slash commands stop "
			"working until it is set up again.</p>\n"
			"<form class=\"inline\" method=\"post\" action=\"%s/delete\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
			"<button type=\"submit\" class=\"btn btn-danger\">Remove integration</button>\n"
			"</form>\n</section>\n",
			action, csrf, in->team_id ? in->team_id : "",
			in->team_domain ? in->team_domain : "", action, csrf, action, csrf);
	if (err == 0)
		err = values_html(app, &body, p);
	if (err == 0)
		err = web_render_page(req, 200, MM_TITLE, buf_cstr(&body), &id);
done:
	free(action);
	free(flash);
	store_integration_free(in);
	store_project_free(p);
	buf_dispose(&body);
	auth_identity_dispose(&id);
	return err;
}

int web_mm_settings_save(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project *p = NULL;
	struct store_integration *in = NULL;
	struct form f;
	const char *token;
	char *hash = NULL;
	bool active;
	int64_t in_id = 0;
	int err;

	memset(&id, 0, sizeof(id));
	if ((err = settings_post_start(app, req, &id, &p, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	token = form_get(&f, "token");
	active = form_get(&f, "active") != NULL;
	if ((err = store_integration_get(app->store, p->id, MM_KIND, &in)) == SO_ENOTFOUND) {
		error_clear();
		err = 0;
	}
	if (err < 0)
		goto done;
	if (token && *token) {
		if (strlen(token) > TOKEN_FIELD_MAX || strpbrk(token, " \t\r\n")) {
			err = back_with_flash(app, req, p, WEB_FLASH_ALERT,
					      "Token is invalid: paste the token Mattermost shows, "
					      "without spaces.");
			goto done;
		}
		if (!(hash = auth_token_hash(app, token))) {
			err = error_set(SO_EFAIL, "cannot hash the token");
			goto done;
		}
	} else if (active && !(in && in->token_hash)) {
		err = back_with_flash(app, req, p, WEB_FLASH_ALERT, "Token can't be blank");
		goto done;
	}
	/* A new token means a new command in Mattermost, perhaps in another
	 * team: as the API does, it clears the bound team. */
	if ((err = store_integration_upsert(app->store, p->id, MM_KIND, hash, active, hash != NULL,
					    &in_id)) < 0)
		goto done;
	err = back_with_flash(app, req, p, WEB_FLASH_NOTICE,
			      active ? MM_TITLE " settings saved and active."
				     : MM_TITLE " settings saved, but not active.");
done:
	free(hash);
	store_integration_free(in);
	store_project_free(p);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}

/* A team id as Mattermost (26 of [a-z0-9]) or Slack ("T...") makes them:
 * letters, digits, '_' and '-', 1..TEAM_ID_MAX bytes. */
static bool team_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > TEAM_ID_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool team_domain_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n > TEAM_DOMAIN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int web_mm_settings_team(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project *p = NULL;
	struct store_integration *in = NULL;
	struct form f;
	const char *team_id, *domain;
	int err;

	memset(&id, 0, sizeof(id));
	if ((err = settings_post_start(app, req, &id, &p, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	if ((err = store_integration_get(app->store, p->id, MM_KIND, &in)) == SO_ENOTFOUND) {
		error_clear();
		err = back_with_flash(app, req, p, WEB_FLASH_ALERT,
				      "Set up the integration before choosing its team.");
		goto done;
	}
	if (err < 0)
		goto done;
	team_id = form_get(&f, "team_id");
	domain = form_get(&f, "team_domain");
	if (form_get(&f, "clear") || !team_id || !*team_id) {
		if ((err = store_integration_set_team(app->store, in->id, NULL, NULL)) == 0)
			err = back_with_flash(app, req, p, WEB_FLASH_NOTICE,
					      "Chat team cleared: the next valid command records "
					      "its team.");
		goto done;
	}
	if (!team_id_ok(team_id) || !team_domain_ok(domain)) {
		err = back_with_flash(app, req, p, WEB_FLASH_ALERT,
				      "Team ID is invalid: use the team's ID as Mattermost "
				      "shows it (letters and digits).");
		goto done;
	}
	if ((err = store_integration_set_team(app->store, in->id, team_id,
					      domain && *domain ? domain : NULL)) == 0)
		err = back_with_flash(app, req, p, WEB_FLASH_NOTICE, "Chat team saved.");
done:
	store_integration_free(in);
	store_project_free(p);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}

int web_mm_settings_delete(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_project *p = NULL;
	struct form f;
	int err;

	memset(&id, 0, sizeof(id));
	if ((err = settings_post_start(app, req, &id, &p, &f)) != 0) {
		if (err > 0)
			err = 0;
		goto done;
	}
	err = store_integration_delete(app->store, p->id, MM_KIND);
	if (err == SO_ENOTFOUND) {
		error_clear();
		err = 0;
	}
	if (err == 0)
		err = back_with_flash(app, req, p, WEB_FLASH_NOTICE, MM_TITLE " removed.");
done:
	store_project_free(p);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}
