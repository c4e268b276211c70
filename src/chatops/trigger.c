/*
 * trigger.c: the slash-command endpoint (decode, authenticate the
 * integration, bind the team, rate-limit, find the chat account) and the
 * command table it dispatches to; see trigger.h for the order of checks.
 *
 * Design: one request is one walk down trigger() with a struct trig that
 * owns everything looked up on the way; every exit goes through one
 * cleanup. Answers before the token is verified are GitLab's API errors
 * (400/404); after it, always a 200 CommandResponse. The rate limiters
 * live for the process: they are created from the configuration on the
 * first request (an atomic flag, then a mutex), since struct app has no
 * slot for them. Binding the team on the first valid request takes a
 * process-wide mutex and re-reads the integration, so two first requests
 * from different teams cannot both be let through.
 */
#include "chatops/trigger.h"
#include "chatops/ratelimit.h"
#include "chatops/run.h"

#include "api/api.h"
#include "auth/auth.h"
#include "chat/presenters.h"
#include "chat/reply.h"
#include "core/app.h"
#include "http/form.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/tls.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the command table ---- */

static json_t *run_help(struct chatops_ctx *ctx, const struct chat_command *cmd);

/* In chat_command_kind order. GitLab's permissions: run and deploy need
 * Developer (create_pipeline, create_deployment); issue new and comment
 * Guest (create_issue, create_note); issue close Reporter or the author
 * (update_issue; slashops has no issues yet, so Reporter); issue move
 * Reporter (admin_issue); show, search, incident and help anyone who can
 * read the project. */
static const struct chatops_command_def commands[CHAT_CMD__COUNT] = {
	[CHAT_CMD_HELP] = { .kind = CHAT_CMD_HELP, .min_access = AUTH_ACCESS_NONE, .effectful = false, .run = run_help },
	[CHAT_CMD_ISSUE_SHOW] = { .kind = CHAT_CMD_ISSUE_SHOW, .min_access = AUTH_ACCESS_NONE, .effectful = false, .run = NULL },
	[CHAT_CMD_ISSUE_NEW] = { .kind = CHAT_CMD_ISSUE_NEW, .min_access = AUTH_ACCESS_GUEST, .effectful = true, .run = NULL },
	[CHAT_CMD_ISSUE_SEARCH] = { .kind = CHAT_CMD_ISSUE_SEARCH, .min_access = AUTH_ACCESS_NONE, .effectful = false, .run = NULL },
	[CHAT_CMD_ISSUE_MOVE] = { .kind = CHAT_CMD_ISSUE_MOVE, .min_access = AUTH_ACCESS_REPORTER, .effectful = true, .run = NULL },
	[CHAT_CMD_ISSUE_CLOSE] = { .kind = CHAT_CMD_ISSUE_CLOSE, .min_access = AUTH_ACCESS_REPORTER, .effectful = true, .run = NULL },
	[CHAT_CMD_ISSUE_COMMENT] = { .kind = CHAT_CMD_ISSUE_COMMENT, .min_access = AUTH_ACCESS_GUEST, .effectful = true, .run = NULL },
	[CHAT_CMD_DEPLOY] = { .kind = CHAT_CMD_DEPLOY, .min_access = AUTH_ACCESS_DEVELOPER, .effectful = true, .run = NULL },
	[CHAT_CMD_RUN] = { .kind = CHAT_CMD_RUN, .min_access = AUTH_ACCESS_DEVELOPER, .effectful = true, .run = chatops_run, .claims_in_handler = true },
	[CHAT_CMD_INCIDENT_DECLARE] = { .kind = CHAT_CMD_INCIDENT_DECLARE, .min_access = AUTH_ACCESS_NONE, .effectful = true, .run = NULL },
};

const struct chatops_command_def *chatops_command_def(enum chat_command_kind kind)
{
	if ((int)kind < 0 || kind >= CHAT_CMD__COUNT)
		kind = CHAT_CMD_HELP;
	return &commands[kind];
}

unsigned chatops_available_commands(void)
{
	return CHAT_CMD_ALL;
}

bool chatops_permitted(const struct chatops_command_def *def, int access_level, bool can_read)
{
	if (!can_read)
		return false;
	if (def->min_access <= AUTH_ACCESS_GUEST)
		return true; /* Guest-level rights: a reader of a public project has them */
	return access_level >= def->min_access;
}

static json_t *run_help(struct chatops_ctx *ctx, const struct chat_command *cmd)
{
	char *docs = xasprintf("%s%s", ctx->external_url, CHAT_DOCS_PATH);
	json_t *r = chat_present_help(ctx->req->command, chatops_available_commands(),
				      ctx->req->text, ctx->project_url, docs);

	(void)cmd;
	free(docs);
	return r;
}

/* The help reply is a pure function of the request's trigger word and
 * text, the project's URL and the server's URL. Each HTTP thread keeps
 * the last one it rendered (key and dumped body), so a channel asking for
 * help again costs a comparison instead of building and dumping the
 * JSON. The cache is per thread (no lock) and freed when the thread
 * ends. */
struct help_cache {
	struct buf key;
	char *body;
};

static void help_cache_free(void *p)
{
	struct help_cache *c = p;

	if (!c)
		return;
	buf_dispose(&c->key);
	free(c->body);
	free(c);
}

static struct tls_slot help_cache_slot = TLS_SLOT_INIT(help_cache_free, sizeof(struct help_cache));

/* Appends each of parts (NULL as "") with its NUL: an unambiguous key. */
static void cache_key(struct buf *key, const char *const *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_append(key, parts[i] ? parts[i] : "", (parts[i] ? strlen(parts[i]) : 0) + 1);
}

/* The dumped help reply for ctx; borrowed, valid until this thread's next
 * call. NULL when the presenter failed. */
static const char *help_body(struct chatops_ctx *ctx, const struct chat_command *cmd)
{
	struct help_cache *c;
	struct buf key = BUF_INIT(0);
	const char *parts[] = { ctx->req->command, ctx->req->text, ctx->project_url,
				ctx->external_url };
	json_t *reply;

	if (!(c = tls_slot_get(&help_cache_slot)))
		return NULL;
	cache_key(&key, parts, sizeof(parts) / sizeof(parts[0]));
	if (c->body && key.len == c->key.len && memcmp(key.data, c->key.data, key.len) == 0) {
		buf_dispose(&key);
		return c->body;
	}
	free(c->body);
	c->body = NULL;
	buf_dispose(&c->key);
	c->key = key;
	if (!(reply = run_help(ctx, cmd)))
		return NULL;
	c->body = chat_reply_dump(reply);
	json_decref(reply);
	return c->body;
}

/* ---- process-wide state ---- */

static atomic_bool state_ready;
static pthread_mutex_t state_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t bind_mu = PTHREAD_MUTEX_INITIALIZER;
static struct chatops_ratelimit *rl_users, *rl_integrations;

static void state_init(const struct app *app)
{
	if (atomic_load_explicit(&state_ready, memory_order_acquire))
		return;
	pthread_mutex_lock(&state_mu);
	if (!atomic_load_explicit(&state_ready, memory_order_relaxed)) {
		rl_users = chatops_ratelimit_new(app->cfg.chat_rate_per_user,
						 app->cfg.chat_rate_per_user_burst,
						 CHATOPS_RL_MAX_USERS);
		rl_integrations = chatops_ratelimit_new(app->cfg.chat_rate_per_integration,
							app->cfg.chat_rate_per_integration_burst,
							CHATOPS_RL_MAX_INTEGRATIONS);
		atomic_store_explicit(&state_ready, true, memory_order_release);
	}
	pthread_mutex_unlock(&state_mu);
}

/* ---- one request ---- */

struct trig {
	struct app *app;
	struct http_request *hreq;
	struct form body, query;
	struct chat_request req;
	struct store_project *project;
	struct store_integration *integration;
	struct store_chat_name *chat_name;
	struct store_user *user;
	int account_err;  /* the chat name and user lookup's result */
	int access_level; /* read with them when access_err is 0 */
	int access_err;
	/* true: project, integration, chat_name and user belong to this
	 * thread's context cache (never freed here); integration_own is then
	 * a replacement integration this request owns (bind_team). */
	bool borrowed;
	struct store_integration *integration_own;
	struct chat_command cmd;
	char *project_url;
	const char *command_name; /* for the log */
	const char *outcome;      /* for the log */
	double t0;
};

static const char *get_field(const void *ctx, const char *name)
{
	const struct trig *t = ctx;
	const char *v = form_get(&t->body, name);

	return v ? v : form_get(&t->query, name);
}

/* The command's fields ride on the HTTP layer's line for this request,
 * renamed "chat command": one line per command. */
static void log_request(const struct trig *t, unsigned status)
{
	struct log_field f[6];
	size_t n = 0;

	(void)status; /* the HTTP line carries the status */
	if (t->project)
		f[n++] = LOG_INT("project_id", t->project->id);
	if (t->integration)
		f[n++] = LOG_INT("integration_id", t->integration->id);
	f[n++] = LOG_STR("command", t->command_name);
	f[n++] = LOG_STR("outcome", t->outcome ? t->outcome : "error");
	f[n++] = LOG_INT("text_bytes", t->req.text ? strlen(t->req.text) : 0);
	f[n++] = LOG_NUM("handler_ms", clock_mono_ms() - t->t0);
	http_request_log_as(t->hreq, "chat command", log_format_fields(f, n));
}

/* GitLab's API errors, before the integration is known to be genuine. */
static int respond_error(struct trig *t, unsigned status, const char *key, const char *msg,
			 const char *outcome)
{
	t->outcome = outcome;
	log_request(t, status);
	return http_respond_json(t->hreq, status, json_pack("{s:s}", key, msg));
}

static int respond_not_found(struct trig *t)
{
	return respond_error(t, 404, "message", "404 Integration Not Found", "not_found");
}

/* A 200 CommandResponse. reply is stolen. */
static int respond_reply(struct trig *t, json_t *reply, const char *outcome)
{
	char *body = chat_reply_dump(reply);
	int rc;

	json_decref(reply);
	t->outcome = outcome;
	log_request(t, 200);
	rc = http_respond(t->hreq, 200, "application/json", body, strlen(body));
	free(body);
	return rc;
}

/* The reply when something inside failed; the details go to the log. */
static int respond_internal(struct trig *t)
{
	log_error("chat command: %s", error_msg());
	return respond_reply(t,
			     chat_present_error("slashops could not handle this command right now. "
						"Please try again later."),
			     "error");
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* :id (a number or a full path) to a project; SO_ENOTFOUND when none. */
static int find_project(struct trig *t, const char *id)
{
	if (!id || !*id || strlen(id) > 2048)
		return error_set(SO_ENOTFOUND, "project not found");
	if (all_digits(id))
		return strlen(id) > 18 ? error_set(SO_ENOTFOUND, "project not found")
				       : store_project_get(t->app->store, strtoll(id, NULL, 10),
							   &t->project);
	return store_project_get_by_path(t->app->store, id, &t->project);
}

static bool present(const char *s)
{
	return s && *s;
}

/* Reads what a command needs in one store read batch (one snapshot, one
 * lock round): the project and its integration, and, when the request
 * names a team and a user, the linked chat name, its user and the user's
 * membership. Returns the project/integration lookup's result; the
 * account's is in t->account_err (SO_ENOTFOUND when not linked) and the
 * membership's in t->access_err. Reading the account before the token is
 * checked changes nothing but the order of reads: nothing is written and
 * nothing of it is answered before the checks. */
static int load_store(struct trig *t, const char *id)
{
	int err;

	t->account_err = SO_ENOTFOUND;
	t->access_err = SO_ENOTFOUND;
	(void)store_read_begin(t->app->store); /* unbatched reads if it fails */
	if ((err = find_project(t, id)) < 0 ||
	    (err = store_integration_get(t->app->store, t->project->id, CHATOPS_KIND,
					 &t->integration)) < 0)
		goto done;
	if (!present(t->req.team_id) || !present(t->req.user_id))
		goto done;
	t->account_err = store_chat_name_find(t->app->store, t->req.team_id, t->req.user_id,
					      &t->chat_name);
	if (t->account_err == 0 &&
	    (t->account_err = store_user_get(t->app->store, t->chat_name->user_id, &t->user)) < 0) {
		store_chat_name_free(t->chat_name);
		t->chat_name = NULL;
	}
	if (t->account_err == 0 && !t->user->is_admin)
		t->access_err = store_member_access_level(t->app->store, t->project->id,
							  t->user->id, &t->access_level);
done:
	store_read_end(t->app->store);
	return err;
}

/* What load_store() read, kept per HTTP thread for the next command from
 * the same chat user on the same project: it is reused while the store's
 * generation is unchanged (no write by this process since: a block,
 * a revoke, a new token, a membership change all bump it) and for at most
 * CTX_CACHE_TTL_MS (writes by another process, an admin CLI, are seen
 * within that). One entry per thread, no lock; freed when the thread
 * ends. */
#define CTX_CACHE_TTL_MS 1000.0

struct ctx_cache {
	struct buf key; /* id, team_id, user_id, each NUL-terminated */
	bool valid;
	uint64_t gen;
	double at_ms;
	int err, account_err, access_err, access_level;
	struct store_project *project;
	struct store_integration *integration;
	struct store_chat_name *chat_name;
	struct store_user *user;
};

static void ctx_cache_clear(struct ctx_cache *c)
{
	store_project_free(c->project);
	store_integration_free(c->integration);
	store_chat_name_free(c->chat_name);
	store_user_free(c->user);
	c->project = NULL;
	c->integration = NULL;
	c->chat_name = NULL;
	c->user = NULL;
	c->valid = false;
}

static void ctx_cache_free(void *p)
{
	struct ctx_cache *c = p;

	if (!c)
		return;
	ctx_cache_clear(c);
	buf_dispose(&c->key);
	free(c);
}

static struct tls_slot ctx_cache_slot = TLS_SLOT_INIT(ctx_cache_free, sizeof(struct ctx_cache));

/* load_store(), or this thread's cached copy of its last result for the
 * same project, team and user (see struct ctx_cache). On a hit, and after
 * a miss that could be cached, t borrows the objects from the cache. */
static int load(struct trig *t, const char *id)
{
	uint64_t gen = store_generation(t->app->store); /* read before the store */
	struct ctx_cache *c = gen ? tls_slot_get(&ctx_cache_slot) : NULL;
	struct buf key = BUF_INIT(0);
	const char *parts[] = { id, t->req.team_id, t->req.user_id };
	double now = clock_mono_ms();
	int err;

	if (!c)
		return load_store(t, id);
	cache_key(&key, parts, sizeof(parts) / sizeof(parts[0]));
	if (c->valid && c->gen == gen && now - c->at_ms < CTX_CACHE_TTL_MS &&
	    key.len == c->key.len && memcmp(key.data, c->key.data, key.len) == 0) {
		buf_dispose(&key);
		goto borrow;
	}
	ctx_cache_clear(c);
	buf_dispose(&c->key);
	c->key = key;
	err = load_store(t, id);
	if (err < 0 && err != SO_ENOTFOUND)
		return err; /* a store failure is not remembered */
	if ((t->account_err < 0 && t->account_err != SO_ENOTFOUND) ||
	    (t->access_err < 0 && t->access_err != SO_ENOTFOUND))
		return err;
	c->err = err;
	c->account_err = t->account_err;
	c->access_err = t->access_err;
	c->access_level = t->access_level;
	c->project = t->project;
	c->integration = t->integration;
	c->chat_name = t->chat_name;
	c->user = t->user;
	c->gen = gen;
	c->at_ms = now;
	c->valid = true;
borrow:
	t->project = c->project;
	t->integration = c->integration;
	t->chat_name = c->chat_name;
	t->user = c->user;
	t->account_err = c->account_err;
	t->access_err = c->access_err;
	t->access_level = c->access_level;
	t->borrowed = true;
	return c->err;
}

/* Does the request's token match the integration's? Constant time in the
 * token (both sides are fixed-length keyed hashes). */
static bool token_matches(struct trig *t)
{
	char *hash = auth_token_hash(t->app, t->req.token);
	const char *want = t->integration->token_hash;
	bool ok = hash && want && strlen(hash) == strlen(want) &&
		  sodium_memcmp(hash, want, strlen(want)) == 0;

	if (hash)
		sodium_memzero(hash, strlen(hash));
	free(hash);
	return ok;
}

/* Records the request's team when the integration has none yet. Returns
 * 0, or an error; afterwards t->integration->team_id is the bound team
 * (NULL only when the request named no team). */
static int bind_team(struct trig *t)
{
	struct store_integration *fresh = NULL;
	int err = 0;

	if (t->integration->team_id || !present(t->req.team_id))
		return 0;
	pthread_mutex_lock(&bind_mu);
	if ((err = store_integration_get(t->app->store, t->project->id, CHATOPS_KIND, &fresh)) < 0)
		goto done;
	if (!fresh->team_id) {
		if ((err = store_integration_set_team(t->app->store, fresh->id, t->req.team_id,
						      present(t->req.team_domain)
							      ? t->req.team_domain
							      : NULL)) < 0)
			goto done;
		store_integration_free(fresh);
		fresh = NULL;
		if ((err = store_integration_get(t->app->store, t->project->id, CHATOPS_KIND,
						 &fresh)) < 0)
			goto done;
		log_event(LOG_INFO, "chat integration bound to a team",
			  json_pack("{s:I,s:I,s:s}", "project_id", (json_int_t)t->project->id,
				    "integration_id", (json_int_t)fresh->id, "team_id",
				    fresh->team_id ? fresh->team_id : ""));
	}
	if (t->borrowed) { /* the cache keeps its copy; this request owns fresh */
		store_integration_free(t->integration_own);
		t->integration_own = fresh;
	} else {
		store_integration_free(t->integration);
	}
	t->integration = fresh;
	fresh = NULL;
done:
	pthread_mutex_unlock(&bind_mu);
	store_integration_free(fresh);
	return err;
}

/* The connect-your-account reply for an unlinked chat user. */
static int reply_unlinked(struct trig *t)
{
	struct store_chat_link link = { 0 };
	char *token = NULL, *url = NULL;
	int64_t now = clock_unix();
	int rc;

	if (!chat_request_identifies_user(&t->req))
		return respond_reply(t, chat_present_authorize(NULL), "unidentified");
	token = auth_random_token(CHATOPS_LINK_TOKEN_LEN);
	link.token_hash = auth_token_hash(t->app, token);
	link.project_id = t->project->id;
	link.integration_kind = CHATOPS_KIND;
	link.team_id = t->req.team_id;
	link.team_domain = t->req.team_domain;
	link.chat_id = t->req.user_id;
	link.chat_name = t->req.user_name;
	link.expires_at = now + (t->app->cfg.chat_link_ttl_s ? t->app->cfg.chat_link_ttl_s
						      : CHATOPS_LINK_TTL_S);
	(void)store_chat_link_purge_expired(t->app->store, now);
	if (store_chat_link_create(t->app->store, &link) < 0) {
		rc = respond_internal(t);
		goto done;
	}
	url = xasprintf("%s%s?token=%s", t->app->cfg.external_url, CHATOPS_LINK_PATH, token);
	rc = respond_reply(t, chat_present_authorize(url), "unlinked");
done:
	if (token)
		sodium_memzero(token, strlen(token));
	free(token);
	free(link.token_hash);
	free(url);
	return rc;
}

/* The user's role in the project and whether they can read it: the rule
 * of auth_project_access() (admins are Owner; public projects, and
 * internal ones for any active user, are readable), applied to the
 * project already in hand instead of reading it again: a command costs
 * one store query less. t->user is active here. */
static int project_access(struct trig *t, int *level, bool *can_read)
{
	int err = 0;

	*level = AUTH_ACCESS_NONE;
	if (t->user->is_admin)
		*level = AUTH_ACCESS_OWNER;
	else if (t->access_err == 0)
		*level = t->access_level;
	else if ((err = store_member_access_level(t->app->store, t->project->id, t->user->id,
						  level)) < 0)
		return err;
	*can_read = *level >= AUTH_ACCESS_GUEST || t->project->visibility == STORE_VIS_PUBLIC ||
		    t->project->visibility == STORE_VIS_INTERNAL;
	return 0;
}

/* Records that the chat name was used; the store writes at most once an
 * hour, and when the last use read with the chat name is that recent
 * there is nothing to ask it. */
static void touch_chat_name(struct trig *t)
{
	char recent[40];

	clock_iso_from_unix((time_t)(clock_unix() - 3600), recent, sizeof(recent));
	if (t->chat_name->last_used_at && strcmp(t->chat_name->last_used_at, recent) >= 0)
		return;
	if (store_chat_name_touch(t->app->store, t->chat_name->id) < 0)
		log_warn("chat command: last use not recorded: %s", error_msg());
}

/* Claims the request's trigger_id for CHATOPS_DEDUPE_WINDOW_S (see
 * store_chat_trigger_claim: *first, or the first request's kept reply). */
static int claim(const struct chatops_ctx *ctx, bool *first, char **previous)
{
	return store_chat_trigger_claim(ctx->app->store, ctx->integration->id,
					ctx->req->trigger_id, clock_unix(),
					CHATOPS_DEDUPE_WINDOW_S, first, previous);
}

/* A repeat of a command already handled: the first request's reply as
 * it was sent, or, while the first is still running, a note saying so. */
static int respond_duplicate(struct trig *t, const char *previous)
{
	if (!previous)
		return respond_reply(t, chat_reply_ephemeral("This command is already being handled."),
				     "in_progress");
	t->outcome = "duplicate";
	log_request(t, 200);
	return http_respond(t->hreq, 200, "application/json", previous, strlen(previous));
}

/* Runs the parsed command for the linked user t->user. */
static int dispatch(struct trig *t)
{
	const struct chatops_command_def *def;
	struct chatops_ctx ctx = { 0 };
	char *previous = NULL, *dumped;
	bool claimed = false, first = true;
	json_t *reply;
	int err, rc;

	err = chat_command_parse(t->req.text, strlen(t->req.text), &t->cmd);
	if (err == SO_ETOOBIG)
		return respond_reply(t, chat_present_too_long(), "too_long");
	chat_command_restrict(&t->cmd, chatops_available_commands());
	def = chatops_command_def(t->cmd.kind);
	t->command_name = chat_command_name(t->cmd.kind);

	ctx.app = t->app;
	ctx.req = &t->req;
	ctx.project = t->project;
	ctx.integration = t->integration;
	ctx.user = t->user;
	ctx.chat_name = t->chat_name;
	ctx.project_url = t->project_url;
	ctx.external_url = t->app->cfg.external_url;
	if ((err = project_access(t, &ctx.access_level, &ctx.can_read)) < 0)
		return respond_internal(t);
	if (!chatops_permitted(def, ctx.access_level, ctx.can_read))
		return respond_reply(t, chat_present_access_denied(t->project_url), "denied");

	if (def->effectful && present(t->req.trigger_id) && def->claims_in_handler) {
		ctx.dedupe = true;
	} else if (def->effectful && present(t->req.trigger_id)) {
		if (claim(&ctx, &first, &previous) < 0)
			return respond_internal(t);
		if (!first) {
			rc = respond_duplicate(t, previous);
			free(previous);
			return rc;
		}
		claimed = true;
	}

	if (t->cmd.kind == CHAT_CMD_HELP && def->run == run_help && !claimed) {
		const char *body = help_body(&ctx, &t->cmd);

		if (!body)
			return respond_internal(t);
		t->outcome = "help";
		log_request(t, 200);
		return http_respond(t->hreq, 200, "application/json", body, strlen(body));
	}
	reply = def->run ? def->run(&ctx, &t->cmd) : chat_present_unavailable(t->cmd.kind);
	if (ctx.duplicate) {
		json_decref(reply);
		rc = respond_duplicate(t, ctx.previous);
		goto done;
	}
	if (ctx.kept && reply) { /* the handler kept it for repeats: send those bytes */
		json_decref(reply);
		t->outcome = "ok";
		log_request(t, 200);
		rc = http_respond(t->hreq, 200, "application/json", ctx.kept, strlen(ctx.kept));
		goto done;
	}
	if (!reply) {
		if (claimed)
			(void)store_chat_trigger_set_reply(
				t->app->store, t->integration->id, t->req.trigger_id,
				"{\"response_type\":\"ephemeral\",\"status\":200,\"text\":"
				"\"slashops could not handle this command. Please try again "
				"later.\"}");
		rc = respond_internal(t);
		goto done;
	}
	dumped = chat_reply_dump(reply);
	json_decref(reply);
	if (claimed && store_chat_trigger_set_reply(t->app->store, t->integration->id,
						    t->req.trigger_id, dumped) < 0)
		log_warn("chat command: the reply could not be kept for duplicates: %s",
			 error_msg());
	t->outcome = !def->run ? "unavailable" : t->cmd.kind == CHAT_CMD_HELP ? "help" : "ok";
	log_request(t, 200);
	rc = http_respond(t->hreq, 200, "application/json", dumped, strlen(dumped));
	free(dumped);
done:
	free(ctx.previous);
	free(ctx.kept);
	return rc;
}

int chatops_claim_and_keep(struct chatops_ctx *ctx, json_t *reply)
{
	bool first = false;
	char *previous = NULL, *dumped;
	int err;

	if (!ctx->dedupe)
		return 0;
	if ((err = claim(ctx, &first, &previous)) < 0)
		return err;
	if (!first) {
		free(ctx->previous);
		ctx->previous = previous;
		ctx->duplicate = true;
		return error_set(SO_EEXISTS, "this command was already handled");
	}
	dumped = chat_reply_dump(reply);
	if ((err = store_chat_trigger_set_reply(ctx->app->store, ctx->integration->id,
						ctx->req->trigger_id, dumped)) < 0) {
		free(dumped);
		return err;
	}
	free(ctx->kept);
	ctx->kept = dumped;
	return 0;
}

int chatops_trigger(struct http_request *hreq, void *appp)
{
	struct trig t = { 0 };
	const char *body, *method = http_request_method(hreq);
	const char *qs = http_request_query_string(hreq);
	size_t len = 0;
	unsigned retry = 0;
	char key[CHATOPS_RL_MAX_KEY];
	int err, rc;

	t.app = appp;
	t.hreq = hreq;
	t.t0 = clock_mono_ms();
	state_init(t.app);

	/* 1. the fields */
	body = http_request_body(hreq, &len);
	if ((err = form_parse(&t.query, qs ? qs : "", qs ? strlen(qs) : 0)) < 0 ||
	    (method && strcmp(method, "GET") != 0 && len > 0 &&
	     (err = form_parse(&t.body, body, len)) < 0)) {
		rc = respond_error(&t, 400, "error", error_msg(), "bad_request");
		goto done;
	}
	err = chat_request_parse(get_field, &t, http_request_header(hreq, "Authorization"),
				 &t.req);
	if (err == SO_EINVALID) { /* token field and header disagree: a wrong token */
		rc = respond_not_found(&t);
		goto done;
	}
	if (err < 0) {
		rc = respond_error(&t, 400, "error", error_msg(), "bad_request");
		goto done;
	}

	/* 2. the integration */
	if (!present(t.req.token)) {
		rc = respond_error(&t, 400, "error", "token is missing", "no_token");
		goto done;
	}
	err = load(&t, http_request_param(hreq, "id"));
	if (err == SO_ENOTFOUND) {
		rc = respond_not_found(&t);
		goto done;
	}
	if (err < 0) {
		log_error("chat command: %s", error_msg());
		rc = respond_error(&t, 500, "message", "500 Internal Server Error", "error");
		goto done;
	}
	if (!t.integration->active || !t.integration->token_hash || !token_matches(&t)) {
		rc = respond_not_found(&t);
		goto done;
	}
	t.project_url = api_web_url(t.app, t.project->path_with_namespace);

	/* 4. the team */
	if ((err = bind_team(&t)) < 0) {
		rc = respond_internal(&t);
		goto done;
	}
	if (t.integration->team_id &&
	    (!present(t.req.team_id) || strcmp(t.integration->team_id, t.req.team_id) != 0)) {
		rc = respond_reply(&t, chat_present_wrong_team(t.project_url), "wrong_team");
		goto done;
	}

	/* 5. rate limits */
	snprintf(key, sizeof(key), "%lld", (long long)t.integration->id);
	if (!chatops_ratelimit_take(rl_integrations, key, clock_mono_ms() / 1000.0, &retry)) {
		rc = respond_reply(&t, chat_present_rate_limited(retry), "rate_limited");
		goto done;
	}
	if (present(t.req.user_id)) {
		snprintf(key, sizeof(key), "%s\n%s", t.req.team_id ? t.req.team_id : "",
			 t.req.user_id);
		if (!chatops_ratelimit_take(rl_users, key, clock_mono_ms() / 1000.0, &retry)) {
			rc = respond_reply(&t, chat_present_rate_limited(retry), "rate_limited");
			goto done;
		}
	}

	/* 6. the chat account (read by load()) */
	err = t.account_err;
	if (err == SO_ENOTFOUND) {
		rc = reply_unlinked(&t);
		goto done;
	}
	if (err < 0) {
		rc = respond_internal(&t);
		goto done;
	}
	if (t.user->state == STORE_USER_BLOCKED) {
		rc = respond_reply(&t, chat_present_access_denied(t.project_url), "blocked");
		goto done;
	}
	if (t.user->state == STORE_USER_DEACTIVATED) {
		rc = respond_reply(&t, chat_present_deactivated(t.app->cfg.external_url),
				   "deactivated");
		goto done;
	}
	touch_chat_name(&t);

	/* 7. the command */
	rc = dispatch(&t);
done:
	chat_command_dispose(&t.cmd);
	if (!t.borrowed) {
		store_user_free(t.user);
		store_chat_name_free(t.chat_name);
		store_integration_free(t.integration);
		store_project_free(t.project);
	}
	store_integration_free(t.integration_own);
	free(t.project_url);
	chat_request_dispose(&t.req);
	form_dispose(&t.body);
	form_dispose(&t.query);
	return rc < 0 ? rc : 0;
}
