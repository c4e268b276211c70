/*
 * routes.c: the chatops route table (see routes.h) and the documentation
 * page.
 *
 * Design: docs/CHAT.md is compiled into the binary (embed_text.py makes
 * chat_docs.h at build time), so the page the help reply links to is
 * always the one that matches the running server, with no file to find at
 * run time.
 */
#include "chatops/routes.h"
#include "chatops/trigger.h"

#include "chat_docs.h"

#define TRIGGER(prefix) "/api/v4/projects/:id/" prefix "/" CHATOPS_KIND "/trigger"

const struct http_route chatops_routes[] = {
	{ "POST", TRIGGER("integrations"), chatops_trigger, 0 },
	{ "GET", TRIGGER("integrations"), chatops_trigger, 0 },
	{ "POST", TRIGGER("services"), chatops_trigger, 0 },
	{ "GET", TRIGGER("services"), chatops_trigger, 0 },
	{ "GET", "/help/chatops", chatops_docs, 0 },
};
const size_t chatops_routes_count = sizeof(chatops_routes) / sizeof(chatops_routes[0]);

int chatops_docs(struct http_request *req, void *app)
{
	(void)app;
	return http_respond(req, 200, "text/markdown; charset=utf-8", chatops_docs_md,
			    sizeof(chatops_docs_md));
}
