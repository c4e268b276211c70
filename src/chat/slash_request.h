/*
 * slash_request.h: the fields of a Mattermost (or Slack) slash-command
 * request, taken from its decoded form fields and headers.
 *
 * Design: the HTTP layer decodes the body (POST) or query (GET) with
 * form_parse (http/form.h); this module only picks the fields GitLab's
 * trigger reads, plus trigger_id and root_id, and enforces a size cap per
 * field (SO_ETOOBIG names the field), since a single request may not hold
 * megabytes in a team id. Fields are read through a getter so that the
 * caller's struct form needs no copying (chat comes before http in the
 * build order, so it cannot name struct form itself):
 *
 *     static const char *get(const void *f, const char *name)
 *     { return form_get(f, name); }
 *     err = chat_request_parse(get, &form, authorization, &req);
 *
 * The token comes from the `token` field or from an `Authorization: Token
 * <t>` header (Mattermost sends both, equal); when both are present and
 * differ the request is refused (SO_EINVALID), so no check can look at one
 * while another looks at the other. Other Authorization schemes (an
 * outgoing OAuth connection's Bearer) are ignored. Missing fields are
 * NULL, except text, which is "" (Mattermost always sends it; GitLab
 * would fail on a missing one). The token is a secret: never log it.
 *
 * Ownership: struct chat_request owns its strings;
 * chat_request_dispose() frees them.
 */
#ifndef SO_CHAT_SLASH_REQUEST_H
#define SO_CHAT_SLASH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Per-field caps, in bytes of the decoded value. */
#define CHAT_REQ_MAX_TOKEN 256
#define CHAT_REQ_MAX_ID 128          /* team_id, channel_id, user_id, root_id */
#define CHAT_REQ_MAX_NAME 256        /* team_domain, channel_name, user_name */
#define CHAT_REQ_MAX_COMMAND 256     /* "/" + a trigger of at most 128 bytes */
#define CHAT_REQ_MAX_TEXT 65536      /* 16383 runes of UTF-8 fit */
#define CHAT_REQ_MAX_URL 2048        /* response_url */
#define CHAT_REQ_MAX_TRIGGER_ID 1024
#define CHAT_REQ_MAX_AUTHORIZATION 1024

struct chat_request {
	char *token;        /* secret; NULL when neither field nor header has one */
	char *team_id, *team_domain;
	char *channel_id, *channel_name;
	char *user_id, *user_name;
	char *command;      /* the trigger with its slash, e.g. "/ops" */
	char *text;         /* never NULL */
	char *response_url;
	char *trigger_id;
	char *root_id;
};

/* Returns the first value of the form field name, or NULL. */
typedef const char *(*chat_field_getter)(const void *ctx, const char *name);

/* Reads the request from get(ctx, ...) and the Authorization header value
 * (NULL when absent) into *out, which is overwritten. Errors: SO_ETOOBIG
 * (a field over its cap), SO_EINVALID (token field and header differ);
 * *out is then empty. */
int chat_request_parse(chat_field_getter get, const void *ctx, const char *authorization,
		       struct chat_request *out);

/* The same from a plain array of n name/value pairs (first one wins). */
struct chat_request_field {
	const char *name;
	const char *value;
};
int chat_request_parse_fields(const struct chat_request_field *fields, size_t n,
			      const char *authorization, struct chat_request *out);

void chat_request_dispose(struct chat_request *r); /* accepts NULL; leaves *r empty */

/* GitLab's AuthorizeUserService condition: team_id, team_domain, user_id
 * and user_name all present and non-empty. Otherwise the reply is "Couldn't
 * identify you, nor can I authorize you!". */
bool chat_request_identifies_user(const struct chat_request *r);

#endif
