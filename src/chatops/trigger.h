/*
 * trigger.h: the Mattermost slash-command endpoint and the dispatch of a
 * parsed command to its handler.
 *
 * Design: chatops_trigger() answers
 * POST|GET /api/v4/projects/:id/{integrations,services}/mattermost_slash_commands/trigger
 * the way GitLab's integration trigger does, in this order:
 *   1. decode the form (POST body, or the query string; a POST's query
 *      string fills in fields its body lacks) into a chat_request;
 *   2. no token: 400 {"error":"token is missing"}; unknown project,
 *      missing or inactive integration, or a token that does not match:
 *      404 {"message":"404 Integration Not Found"}, byte for byte the same,
 *      so a caller learns nothing about which it was. The token is hashed
 *      (auth_token_hash) and compared with the stored hash in constant time;
 *   3. from here every answer is 200 application/json, a Mattermost
 *      CommandResponse (chat/reply.h);
 *   4. team binding: the first request with a valid token records its
 *      team; a request from any other team is refused (wrong_team) and
 *      nothing else happens. This closes GitLab's CVE-2023-5356 (a
 *      command token of one team acting as a user linked in another);
 *   5. rate limits, per integration and per chat user (ratelimit.h);
 *   6. the chat account: unlinked -> a single-use 10-minute connect link
 *      (or "Couldn't identify you" without team/user fields); linked to a
 *      blocked user -> access denied; deactivated -> the deactivated text;
 *   7. parse the text (chat/command.h), keep only the available commands,
 *      check that the user can read the project and has the command's
 *      minimum role (GitLab's permission table), then run the command's
 *      handler from the table below. Commands with effects claim the
 *      request's trigger_id (store_chat_trigger_claim): a repeat within
 *      CHATOPS_DEDUPE_WINDOW_S gets the first reply and never runs again.
 *      Dispatch claims before the handler runs, except for `run`, whose
 *      handler claims inside the transaction that creates the pipeline
 *      (claim, pipeline and kept reply: one commit, one fsync).
 * One log line per request: project and integration ids, command, outcome,
 * text length, duration. Never the token, never the text.
 *
 * Adding a command (issue 5 adds `run`): give its entry in trigger.c's
 * command table a handler; a NULL handler answers honestly that the
 * command is not available on this server.
 *
 * Ownership: struct chatops_ctx only borrows; handlers return a new
 * json_t reference (a reply from chat/presenters.h).
 */
#ifndef SO_CHATOPS_TRIGGER_H
#define SO_CHATOPS_TRIGGER_H

#include "api/integrations.h"
#include "chat/command.h"
#include "chat/slash_request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct app;
struct http_request;
struct store_chat_name;
struct store_integration;
struct store_project;
struct store_user;

/* The integration's kind in the store, and its name in URLs. */
#define CHATOPS_KIND API_MATTERMOST_SLASH_COMMANDS
/* How long a trigger_id is remembered (seconds). */
#define CHATOPS_DEDUPE_WINDOW_S 300
/* How long a connect link is valid (seconds), as GitLab. */
#define CHATOPS_LINK_TTL_S 600
/* Random characters in a connect link token (GitLab: 50). */
#define CHATOPS_LINK_TOKEN_LEN 64
/* The path of the connect page; the token follows "?token=". */
#define CHATOPS_LINK_PATH "/-/profile/chat_names/new"
/* Buckets the rate limiters keep at most. */
#define CHATOPS_RL_MAX_USERS 10000
#define CHATOPS_RL_MAX_INTEGRATIONS 1000

/* What a command handler sees. All borrowed, valid during the call. */
struct chatops_ctx {
	struct app *app;
	const struct chat_request *req;
	const struct store_project *project;
	const struct store_integration *integration;
	const struct store_user *user;           /* the linked, active user */
	const struct store_chat_name *chat_name;
	int access_level;                        /* AUTH_ACCESS_* in the project */
	bool can_read;
	const char *project_url;                 /* <external_url>/<full path> */
	const char *external_url;
	/* Deduplication by a handler that claims the trigger_id itself, in
	 * its own write transaction (def->claims_in_handler; see
	 * chatops_claim_and_keep). Set and read by dispatch and that call. */
	bool dedupe;        /* there is a trigger_id to claim */
	bool duplicate;     /* a repeat: answer with previous, run nothing */
	char *previous;     /* the first request's reply, or NULL while in progress; owned */
	char *kept;         /* the reply kept for repeats, sent as is; owned */
};

/* A handler returns the reply (new reference); NULL means an internal
 * error (the message is in error_msg(); the user gets a generic reply). */
typedef json_t *(*chatops_command_fn)(struct chatops_ctx *ctx, const struct chat_command *cmd);

struct chatops_command_def {
	enum chat_command_kind kind;
	int min_access;         /* AUTH_ACCESS_*; NONE or GUEST: anyone who can read */
	bool effectful;         /* claims the trigger_id: never runs twice */
	/* The handler claims it itself (chatops_claim_and_keep) in the
	 * transaction of its effect; otherwise dispatch claims before the
	 * handler runs. */
	bool claims_in_handler;
	chatops_command_fn run; /* NULL: "not available on this slashops server yet" */
};

/* For a handler with claims_in_handler, inside the write transaction
 * that makes its effect (store_write_begin): claims the request's
 * trigger_id and keeps reply (borrowed) for repeats, so that the effect,
 * the claim and the reply commit together. A repeat sets ctx->duplicate
 * and returns SO_EEXISTS: the handler undoes its effect and returns any
 * reply (dispatch sends the first one). 0 without a trigger_id. */
int chatops_claim_and_keep(struct chatops_ctx *ctx, json_t *reply);

/* The table entry for kind (never NULL for a valid kind). */
const struct chatops_command_def *chatops_command_def(enum chat_command_kind kind);
/* The CHAT_CMD_BIT set of commands offered on a project (GitLab's
 * available?: issues and CI are always on in slashops, so all of them). */
unsigned chatops_available_commands(void);
/* May a user with this level (and read access) run the command? */
bool chatops_permitted(const struct chatops_command_def *def, int access_level, bool can_read);

/* The route handlers. */
int chatops_trigger(struct http_request *req, void *app);
/* GET /help/chatops: docs/CHAT.md, embedded at build time, as text/markdown. */
int chatops_docs(struct http_request *req, void *app);

#endif
