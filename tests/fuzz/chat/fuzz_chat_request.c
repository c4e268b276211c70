/*
 * fuzz_chat_request: a slash-command request as Mattermost sends it. The
 * input's first line is the Authorization header value, the rest the
 * form body; decoded with form_parse, then read by chat_request_parse.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/slash_request.h"
#include "http/form.h"

static const char *get(const void *ctx, const char *name)
{
	return form_get(ctx, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t hl = nl ? (size_t)(nl - (const char *)data) : 0;
	char *auth = NULL;
	struct form f;
	struct chat_request r;

	if (nl) {
		auth = malloc(hl + 1);
		memcpy(auth, data, hl);
		auth[hl] = '\0';
		if (memchr(auth, '\0', hl)) {
			free(auth);
			return 0;
		}
		data += hl + 1;
		size -= hl + 1;
	}
	if (form_parse(&f, (const char *)data, size) == 0) {
		if (chat_request_parse(get, &f, auth, &r) == 0) {
			assert(r.text);
			assert(strlen(r.text) <= CHAT_REQ_MAX_TEXT);
			assert(!r.token || strlen(r.token) <= CHAT_REQ_MAX_TOKEN);
			assert(!r.team_id || strlen(r.team_id) <= CHAT_REQ_MAX_ID);
			(void)chat_request_identifies_user(&r);
			chat_request_dispose(&r);
		} else {
			assert(!r.text && !r.token);
		}
		form_dispose(&f);
	}
	free(auth);
	return 0;
}
