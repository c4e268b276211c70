/*
 * slash_request.c: picking and capping the slash-command request fields;
 * see slash_request.h. A table maps each field to its slot and cap.
 */
#include "chat/slash_request.h"

#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	size_t offset;
	size_t max;
} fields[] = {
	{ "team_id", offsetof(struct chat_request, team_id), CHAT_REQ_MAX_ID },
	{ "team_domain", offsetof(struct chat_request, team_domain), CHAT_REQ_MAX_NAME },
	{ "channel_id", offsetof(struct chat_request, channel_id), CHAT_REQ_MAX_ID },
	{ "channel_name", offsetof(struct chat_request, channel_name), CHAT_REQ_MAX_NAME },
	{ "user_id", offsetof(struct chat_request, user_id), CHAT_REQ_MAX_ID },
	{ "user_name", offsetof(struct chat_request, user_name), CHAT_REQ_MAX_NAME },
	{ "command", offsetof(struct chat_request, command), CHAT_REQ_MAX_COMMAND },
	{ "text", offsetof(struct chat_request, text), CHAT_REQ_MAX_TEXT },
	{ "response_url", offsetof(struct chat_request, response_url), CHAT_REQ_MAX_URL },
	{ "trigger_id", offsetof(struct chat_request, trigger_id), CHAT_REQ_MAX_TRIGGER_ID },
	{ "root_id", offsetof(struct chat_request, root_id), CHAT_REQ_MAX_ID },
};

static char **slot(struct chat_request *r, size_t offset)
{
	return (char **)((char *)r + offset);
}

/* The token of "Token <t>" (scheme case-insensitive, surrounding blanks
 * ignored), as a pointer into h and its length; false for other schemes. */
static bool header_token(const char *h, const char **tok, size_t *len)
{
	size_t n;

	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "token", 5) != 0 || (h[5] != ' ' && h[5] != '\t'))
		return false;
	h += 5;
	while (*h == ' ' || *h == '\t')
		h++;
	n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0)
		return false;
	*tok = h;
	*len = n;
	return true;
}

int chat_request_parse(chat_field_getter get, const void *ctx, const char *authorization,
		       struct chat_request *out)
{
	const char *field_token = get(ctx, "token"), *htok = NULL;
	size_t hlen = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = get(ctx, fields[i].name);

		if (!v)
			continue;
		if (strlen(v) > fields[i].max) {
			err = error_set(SO_ETOOBIG, "the %s field is too long (at most %zu bytes)",
					fields[i].name, fields[i].max);
			goto done;
		}
		*slot(out, fields[i].offset) = xstrdup(v);
	}
	if (!out->text)
		out->text = xstrdup("");
	if (field_token && strlen(field_token) > CHAT_REQ_MAX_TOKEN) {
		err = error_set(SO_ETOOBIG, "the token field is too long (at most %d bytes)",
				CHAT_REQ_MAX_TOKEN);
		goto done;
	}
	if (authorization && strlen(authorization) > CHAT_REQ_MAX_AUTHORIZATION) {
		err = error_set(SO_ETOOBIG, "the Authorization header is too long (at most %d bytes)",
				CHAT_REQ_MAX_AUTHORIZATION);
		goto done;
	}
	if (authorization && header_token(authorization, &htok, &hlen) &&
	    hlen > CHAT_REQ_MAX_TOKEN) {
		err = error_set(SO_ETOOBIG, "the Authorization token is too long (at most %d bytes)",
				CHAT_REQ_MAX_TOKEN);
		goto done;
	}
	if (field_token && *field_token && htok &&
	    (strlen(field_token) != hlen || memcmp(field_token, htok, hlen) != 0)) {
		err = error_set(SO_EINVALID,
				"the token field and the Authorization header disagree");
		goto done;
	}
	if (field_token && *field_token)
		out->token = xstrdup(field_token);
	else if (htok)
		out->token = xstrndup(htok, hlen);
	else if (field_token)
		out->token = xstrdup(field_token);
done:
	if (err < 0)
		chat_request_dispose(out);
	return err;
}

struct field_array {
	const struct chat_request_field *f;
	size_t n;
};

static const char *array_get(const void *ctx, const char *name)
{
	const struct field_array *a = ctx;

	for (size_t i = 0; i < a->n; i++)
		if (a->f[i].name && strcmp(a->f[i].name, name) == 0)
			return a->f[i].value ? a->f[i].value : "";
	return NULL;
}

int chat_request_parse_fields(const struct chat_request_field *f, size_t n,
			      const char *authorization, struct chat_request *out)
{
	struct field_array a = { f, n };

	return chat_request_parse(array_get, &a, authorization, out);
}

void chat_request_dispose(struct chat_request *r)
{
	if (!r)
		return;
	free(r->token);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(*slot(r, fields[i].offset));
	memset(r, 0, sizeof(*r));
}

/* Rails' present?: not empty and not only whitespace. */
static bool present(const char *s)
{
	if (!s)
		return false;
	for (; *s; s++)
		if (!(*s == ' ' || (*s >= '\t' && *s <= '\r')))
			return true;
	return false;
}

bool chat_request_identifies_user(const struct chat_request *r)
{
	return r && present(r->team_id) && present(r->team_domain) && present(r->user_id) &&
	       present(r->user_name);
}
