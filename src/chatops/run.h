/*
 * run.h: the `run <job> [arguments]` slash command (GitLab's
 * Gitlab::SlashCommands::Run): creates a one-job chat pipeline and answers
 * at once; the job's result reaches chat later through the outbox.
 */
#ifndef SO_CHATOPS_RUN_H
#define SO_CHATOPS_RUN_H

#include "chatops/trigger.h"

/* The command table's handler for CHAT_CMD_RUN. Returns a new reference. */
json_t *chatops_run(struct chatops_ctx *ctx, const struct chat_command *cmd);

#endif
