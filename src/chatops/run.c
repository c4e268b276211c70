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

json_t *chatops_run(struct chatops_ctx *ctx, const struct chat_command *cmd)
{
	struct pipeline_created created;
	json_t *reply;
	char *url;
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
	};
	err = pipeline_create_chat(ctx->app->pipelines, &in, &created);
	if (err == SO_ENOTFOUND || err == SO_EINVALID) {
		log_info("chatops: run in project %lld not scheduled: %s",
			 (long long)ctx->project->id, error_msg());
		return chat_present_run_failed_to_schedule(cmd->job ? cmd->job : "");
	}
	if (err < 0)
		return NULL;
	if (pipeline_chat_url_is_slack(&ctx->app->cfg, ctx->req->response_url))
		return chat_reply_in_channel("");
	url = xasprintf("%s/-/jobs/%lld", ctx->project_url, (long long)created.job_id);
	reply = chat_present_run_scheduled(created.job_id, url);
	free(url);
	return reply;
}
