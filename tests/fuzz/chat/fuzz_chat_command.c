/*
 * fuzz_chat_command: the command grammar on arbitrary bytes, then the
 * replies that echo what it captured (job names through Ruby inspect and
 * UTF-8 scrubbing). Checks the grammar's invariants and the reply limit.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/command.h"
#include "chat/presenters.h"
#include "chat/reply.h"

static int is_ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_command c;
	json_t *r = NULL;
	char *s;

	if (chat_command_parse((const char *)data, size, &c) < 0) {
		assert(c.kind == CHAT_CMD_HELP && !c.job);
		return 0;
	}
	assert(c.help_requested == (size >= 4 && memcmp(data, "help", 4) == 0));
	switch (c.kind) {
	case CHAT_CMD_RUN:
		assert(c.job && *c.job);
		for (const char *p = c.job; *p; p++)
			assert(!is_ws((unsigned char)*p));
		assert(!c.arguments || *c.arguments);
		r = chat_present_run_failed_to_schedule(c.job);
		break;
	case CHAT_CMD_DEPLOY:
		assert(c.from && *c.from && c.to && *c.to);
		r = chat_present_deploy_started(c.from, c.to, "https://ops.example/-/jobs/1");
		break;
	case CHAT_CMD_ISSUE_NEW:
		assert(c.title && !strchr(c.title, '\n') && c.description);
		r = chat_present_unavailable(c.kind);
		break;
	case CHAT_CMD_ISSUE_MOVE:
		assert(c.project_path && *c.project_path && c.iid >= 0);
		break;
	case CHAT_CMD_HELP:
		r = chat_present_help("/ops", CHAT_CMD_ALL, c.help_requested ? "help" : "", NULL,
				      "https://d");
		break;
	default:
		break;
	}
	chat_command_restrict(&c, CHAT_CMD_BIT(CHAT_CMD_RUN));
	assert(c.kind == CHAT_CMD_HELP || c.kind == CHAT_CMD_RUN);
	if (r) {
		s = chat_reply_dump(r);
		assert(strlen(s) <= CHAT_REPLY_MAX_BYTES);
		free(s);
		json_decref(r);
	}
	chat_command_dispose(&c);
	return 0;
}
