/*
 * presenters.c: the reply texts; see presenters.h.
 *
 * Texts are assembled in capped-free struct buf (their inputs are bounded
 * by the caller and the reply builders cut every string to the post
 * limit). Multi-line texts keep GitLab's line breaks, including the
 * trailing newline of its heredocs.
 */
#include "chat/presenters.h"

#include "chat/reply.h"
#include "util/buf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define COLOR_OPEN "#38ae67"
#define COLOR_CLOSED "#d22852"

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* ---- access ---- */

json_t *chat_present_authorize(const char *connect_url)
{
	json_t *r;
	char *t;

	if (!connect_url)
		return chat_reply_ephemeral(
			":sweat_smile: Couldn't identify you, nor can I authorize you!");
	t = xasprintf(":wave: Hi there! Before I do anything for you, please "
		      "[connect your slashops account](%s).",
		      connect_url);
	r = chat_reply_ephemeral(t);
	free(t);
	return r;
}

json_t *chat_present_access_denied(const char *project_url)
{
	char *t = xasprintf("You are not allowed to perform the given chatops command. Most\n"
			    "likely you do not have access to the slashops project for this chatops\n"
			    "integration.\n"
			    "\n"
			    "The slashops project for this chatops integration can be found at\n"
			    "%s.\n",
			    nz(project_url));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

json_t *chat_present_generic_access_denied(void)
{
	return chat_reply_ephemeral("You are not allowed to perform the given chatops command.");
}

json_t *chat_present_deactivated(const char *instance_url)
{
	char *t = xasprintf("You are not allowed to perform the given ChatOps command. Most likely\n"
			    "your %s account needs to be reactivated.\n"
			    "\n"
			    "Please log back in from a web browser to reactivate your account at %s\n",
			    nz(instance_url), nz(instance_url));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

json_t *chat_present_not_found(void)
{
	return chat_reply_ephemeral(
		"404 not found! slashops couldn't find what you were looking for! :boom:");
}

json_t *chat_present_error(const char *message)
{
	return chat_reply_ephemeral(nz(message));
}

json_t *chat_present_errors(const char *const *messages, size_t n)
{
	struct buf b = BUF_INIT(0);
	json_t *r;

	buf_puts(&b, "The action was not successful, because:");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "\n- %s", nz(messages[i]));
	r = chat_reply_ephemeral(buf_cstr(&b));
	buf_dispose(&b);
	return r;
}

/* ---- help ---- */

static void help_footer(struct buf *b, const char *project_url, const char *docs_url)
{
	if (project_url)
		buf_printf(b,
			   "*Project*\n"
			   "\n"
			   "The slashops project for this chatops integration can be found at\n"
			   "%s.\n"
			   "\n",
			   project_url);
	buf_printf(b,
		   "*Documentation*\n"
		   "\n"
		   "For more information about slashops chatops, refer to its\n"
		   "documentation: %s.\n",
		   nz(docs_url));
}

char *chat_help_text(const char *trigger, unsigned available, const char *text,
		     const char *project_url, const char *docs_url)
{
	struct buf b = BUF_INIT(0);
	bool first = true;

	trigger = nz(trigger);
	available &= CHAT_CMD_ALL;
	if (!available) {
		buf_puts(&b, "This chatops integration does not have any commands that can be\n"
			     "executed.\n"
			     "\n");
		help_footer(&b, project_url, docs_url);
		buf_putc(&b, '\n');
		return buf_detach(&b);
	}
	if (!text || strncmp(text, "help", 4) != 0)
		buf_puts(&b, "The specified command is not valid.\n\n");
	buf_puts(&b, "*Available commands*\n"
		     "\n"
		     "The following commands are available for this chatops integration:\n"
		     "\n");
	for (int k = CHAT_CMD_HELP + 1; k < CHAT_CMD__COUNT; k++) {
		if (!(available & CHAT_CMD_BIT(k)))
			continue;
		buf_printf(&b, "%s%s %s", first ? "" : "\n", trigger,
			   chat_command_help_message((enum chat_command_kind)k));
		first = false;
	}
	buf_printf(&b,
		   "\n"
		   "\n"
		   "If available, the `run` command is used for running slashops CI jobs\n"
		   "defined in this project's `.gitlab-ci.yml` file. For example, if a\n"
		   "job called \"help\" is defined you can run it like so:\n"
		   "\n"
		   "`%s run help`\n"
		   "\n"
		   "\n",
		   trigger);
	help_footer(&b, project_url, docs_url);
	buf_putc(&b, '\n');
	return buf_detach(&b);
}

json_t *chat_present_help(const char *trigger, unsigned available, const char *text,
			  const char *project_url, const char *docs_url)
{
	char *t = chat_help_text(trigger, available, text, project_url, docs_url);
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

/* ---- slashops' own ---- */

json_t *chat_present_unavailable(enum chat_command_kind kind)
{
	char *t = xasprintf("The `%s` command is not available on this slashops server yet.",
			    chat_command_name(kind));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

json_t *chat_present_rate_limited(unsigned retry_after_seconds)
{
	unsigned n = retry_after_seconds ? retry_after_seconds : 1;
	char *t = xasprintf("You are sending commands too quickly. Try again in %u second%s.", n,
			    n == 1 ? "" : "s");
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

json_t *chat_present_wrong_team(const char *project_url)
{
	char *t = xasprintf("This chatops integration does not serve your team, so it cannot run "
			    "commands for you.\n"
			    "\n"
			    "The slashops project for this chatops integration can be found at\n"
			    "%s.\n",
			    nz(project_url));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

json_t *chat_present_too_long(void)
{
	char *t = xasprintf("The command is too long: at most %d bytes can be handled.",
			    CHAT_COMMAND_MAX);
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

/* ---- run ---- */

json_t *chat_present_run_scheduled(int64_t job_id, const char *job_url)
{
	char *t = xasprintf("Your ChatOps job [#%" PRId64 "](%s) has been created!", job_id,
			    nz(job_url));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

char *chat_ruby_inspect(const char *s)
{
	struct buf b = BUF_INIT(0);
	const unsigned char *p = (const unsigned char *)nz(s);

	buf_putc(&b, '"');
	for (size_t i = 0; p[i];) {
		unsigned char c = p[i];
		const char *esc = NULL;

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		case '\r': esc = "\\r"; break;
		case '\f': esc = "\\f"; break;
		case '\v': esc = "\\v"; break;
		case '\b': esc = "\\b"; break;
		case '\a': esc = "\\a"; break;
		case 0x1b: esc = "\\e"; break;
		case '#':
			if (p[i + 1] == '{' || p[i + 1] == '$' || p[i + 1] == '@')
				esc = "\\#";
			break;
		default: break;
		}
		if (esc) {
			buf_puts(&b, esc);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(&b, "\\u%04X", c);
			i++;
		} else if (c < 0x80) {
			buf_putc(&b, (char)c);
			i++;
		} else {
			/* a valid UTF-8 sequence is shown as is, a bad byte as \xHH */
			size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1, m;
			char *chk;
			bool ok;

			for (m = 1; m < k && p[i + m]; m++)
				;
			chk = chat_utf8_scrub((const char *)p + i, m);
			ok = m == k && strlen(chk) == k && memcmp(chk, p + i, k) == 0;
			free(chk);
			if (ok) {
				buf_append(&b, p + i, k);
				i += k;
			} else {
				buf_printf(&b, "\\x%02X", c);
				i++;
			}
		}
	}
	buf_putc(&b, '"');
	return buf_detach(&b);
}

json_t *chat_present_run_failed_to_schedule(const char *job_name)
{
	char *q = chat_ruby_inspect(job_name);
	char *t = xasprintf("The command could not be scheduled. Make sure that your project has a "
			    ".gitlab-ci.yml that defines a job with the name %s",
			    q);
	json_t *r = chat_reply_ephemeral(t);

	free(q);
	free(t);
	return r;
}

json_t *chat_present_run_unsupported(void)
{
	return chat_reply_ephemeral(
		"Sorry, this chat service is currently not supported by slashops ChatOps.");
}

/* A response_url post: in_channel, no "status" (GitLab's responder). */
static json_t *responder_post(void)
{
	json_t *r = chat_reply_in_channel(NULL);

	json_object_del(r, "status");
	return r;
}

/* Removes SGR colour codes \e[...m (only those, as GitLab). */
static char *strip_sgr(const char *s, size_t n)
{
	struct buf b = BUF_INIT(0);
	size_t i = 0, start = 0;

	while (i < n) {
		size_t j;

		if (s[i] != 0x1b || i + 1 >= n || s[i + 1] != '[') {
			i++;
			continue;
		}
		for (j = i + 2; j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'); j++)
			;
		if (j < n && s[j] == 'm') {
			buf_append(&b, s + start, i - start);
			i = start = j + 1;
		} else {
			i++;
		}
	}
	buf_append(&b, s + start, n - start);
	return buf_detach(&b);
}

json_t *chat_present_job_succeeded(const struct chat_job_result *r)
{
	json_t *post = responder_post();
	char *text = xasprintf("ChatOps job started by [%s](%s) completed successfully",
			       nz(r->user_full_name), nz(r->user_url));
	char *id = xasprintf("[#%" PRId64 "](%s)", r->job_id, nz(r->job_url));
	char *out = r->output_len > CHAT_JOB_OUTPUT_MAX
			    ? xstrdup("The output is too large to be sent back directly!")
			    : strip_sgr(r->output ? r->output : "", r->output ? r->output_len : 0);
	char *block = xasprintf("```shell\n%s\n```", out);
	struct chat_attachment_field fields[] = {
		{ "ID", id, true, false },
		{ "Name", nz(r->job_name), true, false },
		{ "Output", block, false, true },
	};
	struct chat_attachment a = {
		.color = "#00c100", .text = text, .fields = fields, .n_fields = 3,
		.raw = true,
	};

	chat_reply_add_attachment(post, &a);
	free(text);
	free(id);
	free(out);
	free(block);
	return post;
}

json_t *chat_present_job_failed(const struct chat_job_result *r)
{
	json_t *post = responder_post();
	char *text = xasprintf("ChatOps job started by [%s](%s) failed!", nz(r->user_full_name),
			       nz(r->user_url));
	char *id = xasprintf("[#%" PRId64 "](%s)", r->job_id, nz(r->job_url));
	struct chat_attachment_field fields[] = {
		{ "ID", id, true, false },
		{ "Name", nz(r->job_name), true, false },
	};
	struct chat_attachment a = {
		.color = "#e40303", .text = text, .fields = fields, .n_fields = 2, .raw = true,
	};

	chat_reply_add_attachment(post, &a);
	free(text);
	free(id);
	return post;
}

/* ---- deploy ---- */

json_t *chat_present_deploy_started(const char *from, const char *to, const char *job_url)
{
	char *t = xasprintf("Deployment started from %s to %s. [Follow its progress](%s).",
			    nz(from), nz(to), nz(job_url));
	json_t *r = chat_reply_in_channel(t);

	free(t);
	return r;
}

json_t *chat_present_deploy_no_action(void)
{
	return chat_reply_ephemeral("Couldn't find a deployment manual action.");
}

json_t *chat_present_deploy_failed(const char *message)
{
	char *t = xasprintf("Couldn't start the deployment: %s", nz(message));
	json_t *r = chat_reply_ephemeral(t);

	free(t);
	return r;
}

/* ---- issues ---- */

static char *issue_ref(const struct chat_issue *i)
{
	return i->reference ? xstrdup(i->reference) : xasprintf("#%" PRId64, i->iid);
}

static const char *none(const char *s)
{
	return s && *s ? s : "_None_";
}

/* GitLab's response_message: the issue card. */
static void issue_card(json_t *reply, const struct chat_issue *i, const struct chat_person *author,
		       const char *title_link, const char *fallback, const char *pretext,
		       const char *text, const struct chat_attachment_field *fields,
		       size_t n_fields, bool open)
{
	char *ref = issue_ref(i);
	char *title = xasprintf("%s \u00b7 %s", nz(i->title), ref);
	struct chat_attachment_field def[] = {
		{ "Assignee", none(i->assignee), true, false },
		{ "Milestone", none(i->milestone), true, false },
		{ "Labels", none(i->labels), true, false },
	};
	struct chat_attachment a = {
		.title = title,
		.title_link = title_link,
		.author_name = nz(author->name),
		.author_icon = author->avatar_url,
		.fallback = fallback,
		.pretext = pretext,
		.text = text,
		.color = open ? COLOR_OPEN : COLOR_CLOSED,
		.fields = fields ? fields : def,
		.n_fields = fields ? n_fields : 3,
		.mrkdwn_in = CHAT_MRKDWN_TITLE | CHAT_MRKDWN_PRETEXT | CHAT_MRKDWN_FIELDS,
	};

	chat_reply_add_attachment(reply, &a);
	free(ref);
	free(title);
}

static json_t *reply_for(const struct chat_issue *i)
{
	return i->confidential ? chat_reply_ephemeral(NULL) : chat_reply_in_channel(NULL);
}

json_t *chat_present_issue_show(const struct chat_issue *issue, const char *project_full_name)
{
	json_t *r = reply_for(issue);
	char *ref = issue_ref(issue);
	char *fallback = xasprintf("Issue %s: %s", ref, nz(issue->title));
	char *pretext = xasprintf("Issue *%s* from %s", ref, nz(project_full_name));
	struct buf t = BUF_INIT(0);

	buf_printf(&t, "**%s**", issue->open ? "Open" : "Closed");
	if (issue->upvotes || issue->downvotes || issue->notes) {
		buf_puts(&t, " \u00b7 ");
		if (issue->upvotes)
			buf_printf(&t, ":+1: %" PRId64 " ", issue->upvotes);
		if (issue->downvotes)
			buf_printf(&t, ":-1: %" PRId64 " ", issue->downvotes);
		if (issue->notes)
			buf_printf(&t, ":speech_balloon: %" PRId64, issue->notes);
	}
	issue_card(r, issue, &issue->author, issue->url, fallback, pretext, buf_cstr(&t), NULL, 0,
		   issue->open);
	buf_dispose(&t);
	free(ref);
	free(fallback);
	free(pretext);
	return r;
}

json_t *chat_present_issue_new(const struct chat_issue *issue, const struct chat_person *user,
			       const char *project_full_name, const char *project_url)
{
	char *ref = issue_ref(issue);
	char *t = xasprintf("I created an issue on [@%s](%s)'s behalf: *[%s](%s)* in [%s](%s)",
			    nz(user->username), nz(user->url), ref, nz(issue->url),
			    nz(project_full_name), nz(project_url));
	json_t *r = chat_reply_in_channel(t);

	free(ref);
	free(t);
	return r;
}

json_t *chat_present_issue_search(const struct chat_issue *issues, size_t n)
{
	json_t *r;
	char *header;

	if (n == 0)
		return chat_present_not_found();
	if (n > 5)
		n = 5;
	if (n == 5)
		header = xstrdup("Here are the first 5 issues I found:");
	else if (n == 1)
		header = xstrdup("Here is the only issue I found:");
	else
		header = xasprintf("Here are the %zu issues I found:", n);
	r = chat_reply_ephemeral(header);
	for (size_t k = 0; k < n; k++) {
		const struct chat_issue *i = &issues[k];
		char *ref = issue_ref(i);
		char *fallback = xasprintf("%s %s", ref, nz(i->title));
		char *text = xasprintf("[%s](%s) \u00b7 %s (%s)", ref, nz(i->url), nz(i->title),
				       i->open ? "Open" : "Closed");
		struct chat_attachment a = {
			.color = i->open ? COLOR_OPEN : COLOR_CLOSED,
			.fallback = fallback,
			.text = text,
			.mrkdwn_in = CHAT_MRKDWN_TEXT,
		};

		chat_reply_add_attachment(r, &a);
		free(ref);
		free(fallback);
		free(text);
	}
	free(header);
	return r;
}

json_t *chat_present_issue_move(const struct chat_issue *old_issue,
				const struct chat_issue *new_issue)
{
	json_t *r = chat_reply_in_channel(NULL);
	char *oref = issue_ref(old_issue), *nref = issue_ref(new_issue);
	char *fallback = xasprintf("Issue %s: %s", nref, nz(new_issue->title));
	char *pretext = xasprintf("Moved issue *[%s](%s)* to *[%s](%s)*", oref,
				  nz(old_issue->url), nref, nz(new_issue->url));

	issue_card(r, new_issue, &new_issue->author, new_issue->url, fallback, pretext, "", NULL, 0,
		   new_issue->open);
	free(oref);
	free(nref);
	free(fallback);
	free(pretext);
	return r;
}

json_t *chat_present_issue_close(const struct chat_issue *issue, const struct chat_person *user,
				 const char *project_full_name, const char *project_url)
{
	json_t *r = reply_for(issue);
	char *ref = issue_ref(issue);
	char *fallback = xasprintf("Closed issue %s: %s", ref, nz(issue->title));
	char *pretext = xasprintf("I closed an issue on [@%s](%s)'s behalf: *%s* in [%s](%s)",
				  nz(user->username), nz(user->url), ref, nz(project_full_name),
				  nz(project_url));

	issue_card(r, issue, &issue->author, issue->url, fallback, pretext, "", NULL, 0,
		   issue->open);
	free(ref);
	free(fallback);
	free(pretext);
	return r;
}

json_t *chat_present_issue_already_closed(const struct chat_issue *issue)
{
	char *ref = issue_ref(issue);
	char *t = xasprintf("Issue %s is already closed.", ref);
	json_t *r = chat_reply_ephemeral(t);

	free(ref);
	free(t);
	return r;
}

json_t *chat_present_issue_comment(const struct chat_issue *issue, int64_t note_id,
				   const char *note, const struct chat_person *user,
				   const char *project_full_name, const char *project_url)
{
	json_t *r = chat_reply_ephemeral(NULL);
	char *ref = issue_ref(issue);
	char *link = xasprintf("%s#note_%" PRId64, nz(issue->url), note_id);
	char *fallback = xasprintf("New comment on %s: %s", ref, nz(issue->title));
	char *pretext = xasprintf("I commented on an issue on [@%s](%s)'s behalf: *%s* in [%s](%s)",
				  nz(user->username), nz(user->url), ref, nz(project_full_name),
				  nz(project_url));
	struct chat_attachment_field f[] = { { "Comment", nz(note), false, false } };

	issue_card(r, issue, user, link, fallback, pretext, "", f, 1, true);
	free(ref);
	free(link);
	free(fallback);
	free(pretext);
	return r;
}

/* ---- linking ---- */

const char *chat_integration_name(const char *team_id, const char *user_id)
{
	if (team_id && user_id && team_id[0] == 'T' && (user_id[0] == 'U' || user_id[0] == 'W'))
		return "slashops for Slack app";
	return "Mattermost slash commands";
}

char *chat_text_requesting_access(const char *integration_name)
{
	return xasprintf("An application called %s is requesting access to your slashops account",
			 nz(integration_name));
}

char *chat_text_authorized(const char *chat_name)
{
	return xasprintf("Authorized %s", nz(chat_name));
}

char *chat_text_denied(const char *chat_name)
{
	return xasprintf("Denied authorization of chat nickname %s.", nz(chat_name));
}

char *chat_text_deleted(const char *chat_name)
{
	return xasprintf("Deleted chat nickname: %s!", nz(chat_name));
}

char *chat_text_delete_failed(const char *chat_name)
{
	return xasprintf("Could not delete account nickname %s.", nz(chat_name));
}
