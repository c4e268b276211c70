/*
 * chat_pages.h: the web pages of issue 3 (Mattermost slash commands):
 * linking a chat account to the signed-in user (GitLab's
 * /-/profile/chat_names) and a project's integration settings, plus the
 * pure helpers behind the settings page's "values to paste into
 * Mattermost". Internal to src/web/ (web.c's route table and unit tests).
 *
 * Routes (all pages need a session; every POST carries the session's
 * authenticity_token, 422 otherwise):
 *   GET  /-/profile/chat_names/new?token=T   authorize page (404: bad token)
 *   POST /-/profile/chat_names               Authorize (token)
 *   POST /-/profile/chat_names/deny          Deny (token); GitLab uses
 *        DELETE through Rails' _method override; forms can only POST.
 *   GET  /-/profile/chat_names               the user's linked chat accounts
 *   POST /-/profile/chat_names/:id/delete    revoke one (GitLab: DELETE)
 *   GET  /-/projects/:id/settings/integrations/mattermost_slash_commands
 *   POST the same                            save token / active
 *   POST the same + "/team"                  set or clear the bound team
 *   POST the same + "/delete"                remove the integration
 * :id of a project is its number or its URL-encoded full path
 * ("group%2Fsub%2Fdemo"), as in the API.
 */
#ifndef SO_WEB_CHAT_PAGES_H
#define SO_WEB_CHAT_PAGES_H

#include <stdbool.h>
#include <stddef.h>

struct auth_identity;
struct http_request;

int web_chat_name_new(struct http_request *req, void *app);      /* GET  .../chat_names/new */
int web_chat_name_create(struct http_request *req, void *app);   /* POST .../chat_names */
int web_chat_name_deny(struct http_request *req, void *app);     /* POST .../chat_names/deny */
int web_chat_names(struct http_request *req, void *app);         /* GET  .../chat_names */
int web_chat_name_delete(struct http_request *req, void *app);   /* POST .../chat_names/:id/delete */

int web_mm_settings(struct http_request *req, void *app);        /* GET  settings page */
int web_mm_settings_save(struct http_request *req, void *app);   /* POST settings page */
int web_mm_settings_team(struct http_request *req, void *app);   /* POST .../team */
int web_mm_settings_delete(struct http_request *req, void *app); /* POST .../delete */

/* Answers the 404 page (status 404); id may be NULL. */
int web_render_not_found(struct http_request *req, const struct auth_identity *id);

/* ---- pure helpers of the settings page ---- */

/* Mattermost's limits on the "Add Slash Command" form (model/command.go). */
#define WEB_MM_TRIGGER_MAX 128      /* bytes */
#define WEB_MM_DISPLAY_NAME_MAX 64  /* bytes */
#define WEB_MM_DESCRIPTION_MAX 128  /* bytes */

/* True when Mattermost would accept word as a custom command's trigger:
 * 1..128 bytes, no leading '/', no space, and not one of Mattermost's
 * built-in commands (compared case-insensitively, as Mattermost
 * lower-cases triggers). */
bool web_mm_trigger_ok(const char *word);
/* s cut to at most max bytes at a UTF-8 character boundary, with "..."
 * at the end when it was cut. Caller frees. */
char *web_mm_fit(const char *s, size_t max);
/* The numeric project id of a path segment that is all digits (no sign,
 * no leading zero, fits int64); 0 otherwise. */
long long web_parse_id(const char *s);

#endif
