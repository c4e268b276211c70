/*
 * run.c: the `run` command. Builds a pipeline_chat_request from the
 * trigger's context and asks the pipeline service for the chat pipeline.
 *
 * Design: the reply is immediate and ephemeral: "Your ChatOps job <url|#N>
 * has been created!" (GitLab's Mattermost responder), or, when the
 * response_url is Slack's (pipeline_chat_url_is_slack), GitLab's Slack
 * acknowledgement {"response_type":"in_channel","status":200,"text":""},
 * which shows the user's command in the channel without noise; or GitLab's "could not be scheduled" naming the job
 * when no job would run (missing job, rules/only/except, no CI file, empty
 * repository, configuration error; the reason goes to the log only, as
 * GitLab shows none). The chat text reaches the job only as the
 * CHAT_INPUT variable, never as script text.
 *
 * Deduplication: the acknowledgement is made inside the pipeline's write
 * transaction (pipeline_chat_request.in_transaction), where the
 * trigger_id is claimed and the reply kept (chatops_claim_and_keep): the
 * job, the claim and the kept reply are one commit. A repeat rolls its
 * pipeline back and gets the first reply from dispatch. A `run` that
 * creates nothing claims and keeps its "could not be scheduled" in one
 * bookkeeping commit, so a repeat gets that answer too.
 */
#include "chatops/run.h"

#include "chat/presenters.h"
#include "chat/reply.h"
#include "core/app.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <stdlib.h>

/* The acknowledgement for a created job. */
static json_t *scheduled(struct chatops_ctx *ctx, int64_t job_id)
{
	json_t *reply;
	char *url;

	if (pipeline_chat_url_is_slack(&ctx->app->cfg, ctx->req->response_url))
		return chat_reply_in_channel("");
	url = xasprintf("%s/-/jobs/%lld", ctx->project_url, (long long)job_id);
	reply = chat_present_run_scheduled(job_id, url);
	free(url);
	return reply;
}

struct run_tx {
	struct chatops_ctx *ctx;
	json_t *reply; /* owned */
};

/* Inside the pipeline's write transaction: the acknowledgement, the
 * trigger_id's claim and the reply kept for repeats commit with the job. */
static int keep_reply(void *cls, const struct pipeline_created *created)
{
	struct run_tx *rt = cls;

	json_decref(rt->reply);
	rt->reply = scheduled(rt->ctx, created->job_id);
	return chatops_claim_and_keep(rt->ctx, rt->reply);
}

json_t *chatops_run(struct chatops_ctx *ctx, const struct chat_command *cmd)
{
	struct pipeline_created created;
	struct run_tx rt = { .ctx = ctx };
	int err;

	if (!ctx->app->pipelines)
		return chat_present_unavailable(CHAT_CMD_RUN);
	struct pipeline_chat_request in = {
		.project_id = ctx->project->id,
		.user_id = ctx->user->id,
		.chat_name_id = ctx->chat_name ? ctx->chat_name->id : 0,
		.integration_id = ctx->integration ? ctx->integration->id : 0,
		.job_name = cmd->job,
		.arguments = cmd->arguments,
		.channel_id = ctx->req->channel_id,
		.chat_user_id = ctx->req->user_id,
		.response_url = ctx->req->response_url,
		.project = ctx->project,
		.user = ctx->user,
		.in_transaction = keep_reply,
		.cls = &rt,
	};
	err = pipeline_create_chat(ctx->app->pipelines, &in, &created);
	if (ctx->duplicate) {
		json_decref(rt.reply);
		return json_null(); /* dispatch sends the first request's reply */
	}
	if (err == SO_ENOTFOUND || err == SO_EINVALID) {
		log_info("chatops: run in project %lld not scheduled: %s",
			 (long long)ctx->project->id, error_msg());
		json_decref(rt.reply);
		rt.reply = chat_present_run_failed_to_schedule(cmd->job ? cmd->job : "");
		/* Nothing was created; the claim and the kept reply still make
		 * a repeat get this answer. Bookkeeping: one NORMAL commit. */
		if (ctx->dedupe && store_write_begin(ctx->app->store, false) == 0) {
			err = chatops_claim_and_keep(ctx, rt.reply);
			if (store_write_end(ctx->app->store, err >= 0) < 0 || err < 0)
				log_warn("chat command: the reply could not be kept for repeats: %s",
					 error_msg());
		}
		if (ctx->duplicate) {
			json_decref(rt.reply);
			return json_null();
		}
		return rt.reply;
	}
	if (err < 0) {
		json_decref(rt.reply);
		return NULL;
	}
	return rt.reply;
}
