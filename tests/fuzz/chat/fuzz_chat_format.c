/*
 * fuzz_chat_format: the link formatter and the reply builders on
 * arbitrary bytes. The output must be valid UTF-8, never longer than its
 * input plus the scrubbing growth, and every reply must stay in its limits.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out, *again, *limited, *s;
	struct chat_attachment a = { 0 };
	json_t *r;

	memcpy(in, data, size);
	in[size] = '\0'; /* the formatter takes C strings: stop at a NUL */
	out = chat_link_format(in);
	again = chat_utf8_scrub(out, strlen(out));
	assert(strcmp(out, again) == 0);
	assert(strlen(out) <= 3 * strlen(in));
	limited = chat_text_limit(out, 64);
	assert(chat_utf8_runes(limited) <= 64);
	r = chat_reply_in_channel(in);
	a.title = in;
	a.pretext = in;
	a.text = in;
	a.fallback = in;
	chat_reply_add_attachment(r, &a);
	s = chat_reply_dump(r);
	assert(strlen(s) <= CHAT_REPLY_MAX_BYTES);
	assert(chat_utf8_runes(json_string_value(json_object_get(r, "text"))) <=
	       CHAT_TEXT_MAX_RUNES);
	free(s);
	json_decref(r);
	free(in);
	free(out);
	free(again);
	free(limited);
	return 0;
}
