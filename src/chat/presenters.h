/*
 * presenters.h: every reply slashops gives to a slash command, and the
 * texts of chat-account linking, worded as GitLab words them with
 * "slashops" where GitLab names itself.
 *
 * Design: one function per reply; each takes the plain values it shows
 * (URLs, names, numbers) and returns a chat_reply_* object (reply.h), so
 * link formatting, UTF-8 scrubbing and the size limits always apply. No
 * store, no HTTP: the caller looks things up and passes them in. Where
 * GitLab writes Markdown links and lets its formatter turn them into
 * <url|text>, so do these. Replies are ephemeral unless noted.
 *
 * Ownership: strings and structs passed in are borrowed; returned json_t
 * are new references (json_decref); returned char * are freed by the
 * caller.
 */
#ifndef SO_CHAT_PRESENTERS_H
#define SO_CHAT_PRESENTERS_H

#include "chat/command.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The documentation path slashops serves its ChatOps docs at, relative to
 * the external URL; the help reply links <external_url>CHAT_DOCS_PATH. */
#define CHAT_DOCS_PATH "/help/chatops"

/* ---- access (GitLab presenters/access.rb) ---- */

/* connect_url NULL: ":sweat_smile: Couldn't identify you, nor can I
 * authorize you!"; otherwise the ":wave: Hi there!..." connect link. */
json_t *chat_present_authorize(const char *connect_url);
/* The user may not run the command on this project (role too low,
 * blocked): names the project URL. */
json_t *chat_present_access_denied(const char *project_url);
json_t *chat_present_generic_access_denied(void);
/* The linked account is deactivated; instance_url is the external URL. */
json_t *chat_present_deactivated(const char *instance_url);
json_t *chat_present_not_found(void);
/* GitLab's Error presenter: the message as is. */
json_t *chat_present_error(const char *message);
/* "The action was not successful, because:\n- a\n- b". */
json_t *chat_present_errors(const char *const *messages, size_t n);

/* ---- help (GitLab presenters/help.rb) ---- */

/* The help reply. trigger: the request's `command` field ("/ops");
 * available: CHAT_CMD_BIT set of the commands to list, in GitLab's order;
 * text: the command text (decides "The specified command is not valid."
 * unless it starts with "help"); project_url: NULL leaves the *Project*
 * block out; docs_url: the documentation link. */
json_t *chat_present_help(const char *trigger, unsigned available, const char *text,
			  const char *project_url, const char *docs_url);
/* The same text, for tests and logs. Caller frees. */
char *chat_help_text(const char *trigger, unsigned available, const char *text,
		     const char *project_url, const char *docs_url);

/* ---- slashops' own replies ---- */

/* "The `issue new` command is not available on this slashops server yet." */
json_t *chat_present_unavailable(enum chat_command_kind kind);
/* Rate limit hit: "You are sending commands too quickly. Try again in N
 * second(s)." (N at least 1). */
json_t *chat_present_rate_limited(unsigned retry_after_seconds);
/* The request's team is not the team the integration serves. */
json_t *chat_present_wrong_team(const char *project_url);
/* The command text exceeds CHAT_COMMAND_MAX. */
json_t *chat_present_too_long(void);

/* ---- run (GitLab presenters/run.rb, chat/responder/mattermost.rb) ---- */

/* "Your ChatOps job <job_url|#N> has been created!" (ephemeral, as
 * GitLab's Mattermost responder ends up sending it). */
json_t *chat_present_run_scheduled(int64_t job_id, const char *job_url);
/* The job could not be created: names the job Ruby-inspect-quoted. */
json_t *chat_present_run_failed_to_schedule(const char *job_name);
json_t *chat_present_run_unsupported(void);

/* What a finished ChatOps job posts to the response_url (in_channel, no
 * "status", plain Markdown links, GitLab's Mattermost responder). */
#define CHAT_JOB_OUTPUT_MAX 3584 /* bytes of output shown, as GitLab */
struct chat_job_result {
	const char *user_full_name, *user_url; /* who ran it */
	int64_t job_id;
	const char *job_url, *job_name;
	const char *output; /* succeeded only: the chat_reply section */
	size_t output_len;
};
json_t *chat_present_job_succeeded(const struct chat_job_result *r);
json_t *chat_present_job_failed(const struct chat_job_result *r);

/* ---- deploy (GitLab presenters/deploy.rb) ---- */

/* in_channel "Deployment started from <from> to <to>. <job_url|Follow its progress>." */
json_t *chat_present_deploy_started(const char *from, const char *to, const char *job_url);
json_t *chat_present_deploy_no_action(void);
json_t *chat_present_deploy_failed(const char *message);

/* ---- issues (GitLab presenters/issue_*.rb) ---- */

struct chat_person {
	const char *username;   /* without '@' */
	const char *name;       /* display name */
	const char *url;        /* profile URL */
	const char *avatar_url; /* may be NULL */
};

struct chat_issue {
	int64_t iid;
	const char *reference; /* "#12" or "group/proj#12"; NULL means "#<iid>" */
	const char *title, *url;
	bool open, confidential;
	int64_t upvotes, downvotes, notes;
	const char *assignee, *milestone, *labels; /* NULL shows "_None_" */
	struct chat_person author;
};

/* in_channel, or ephemeral when the issue is confidential. */
json_t *chat_present_issue_show(const struct chat_issue *issue, const char *project_full_name);
/* in_channel "I created an issue on <user|@u>'s behalf: *<url|#12>* in <project>". */
json_t *chat_present_issue_new(const struct chat_issue *issue, const struct chat_person *user,
			       const char *project_full_name, const char *project_url);
/* n == 0 answers not found; at most 5 are shown. */
json_t *chat_present_issue_search(const struct chat_issue *issues, size_t n);
/* in_channel card of the new issue. */
json_t *chat_present_issue_move(const struct chat_issue *old_issue,
				const struct chat_issue *new_issue);
/* in_channel (ephemeral when confidential) card after closing. */
json_t *chat_present_issue_close(const struct chat_issue *issue, const struct chat_person *user,
				 const char *project_full_name, const char *project_url);
json_t *chat_present_issue_already_closed(const struct chat_issue *issue);
/* ephemeral card of the new comment (note_id anchors the link). */
json_t *chat_present_issue_comment(const struct chat_issue *issue, int64_t note_id,
				   const char *note, const struct chat_person *user,
				   const char *project_full_name, const char *project_url);

/* ---- chat account linking (GitLab profiles/chat_names) ---- */

/* The application name shown on the authorize page: "slashops for Slack
 * app" when team_id starts with 'T' and user_id with 'U' or 'W' (Slack's
 * ids), otherwise "Mattermost slash commands". Borrowed constant. */
const char *chat_integration_name(const char *team_id, const char *user_id);
/* "An application called <name> is requesting access to your slashops account". */
char *chat_text_requesting_access(const char *integration_name);
char *chat_text_authorized(const char *chat_name);   /* "Authorized <name>" */
char *chat_text_denied(const char *chat_name);       /* "Denied authorization of chat nickname <name>." */
char *chat_text_deleted(const char *chat_name);      /* "Deleted chat nickname: <name>!" */
char *chat_text_delete_failed(const char *chat_name);/* "Could not delete account nickname <name>." */
#define CHAT_TEXT_AUTHORIZE_FAILED "Could not authorize integration account nickname. Try again!"
#define CHAT_TEXT_NO_CHAT_NAMES "You don't have any active chat names."

/* Ruby's String#inspect of s ("\"deploy\"", with \" \\ \n \t... escaped),
 * as GitLab shows a job name. Caller frees. */
char *chat_ruby_inspect(const char *s);

#endif
