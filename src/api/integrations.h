/*
 * integrations.h: the project integrations API for the one integration
 * slashops has, Mattermost slash commands:
 * GET, PUT, DELETE /api/v4/projects/:id/integrations/mattermost-slash-commands
 * (and the legacy /services/ prefix).
 *
 * Design: as GitLab, every call needs Maintainer (or an admin); the token
 * Mattermost generated is stored only as auth_token_hash() and never
 * returned. slashops adds the team the integration serves (team_id,
 * team_domain) to the JSON, and PUT accepts team_id to change or (with
 * "") clear it. Changing the token clears the recorded team unless the
 * same request sets one. The trigger endpoint (chatops/trigger.c) reads
 * the same row.
 */
#ifndef SO_API_INTEGRATIONS_H
#define SO_API_INTEGRATIONS_H

#include "http/server.h"

/* The integration's kind in the store and in the trigger URL. */
#define API_MATTERMOST_SLASH_COMMANDS "mattermost_slash_commands"
/* Its slug in the integrations API. */
#define API_MATTERMOST_SLASH_COMMANDS_SLUG "mattermost-slash-commands"

int api_integration_get(struct http_request *req, void *app);
int api_integration_put(struct http_request *req, void *app);
int api_integration_delete(struct http_request *req, void *app);

#endif
