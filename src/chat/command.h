/*
 * command.h: the chat slash-command grammar (what follows the trigger word,
 * e.g. the "issue show 12" of "/ops issue show 12").
 *
 * Design: GitLab's grammar (lib/gitlab/slash_commands/ in GitLab) reproduced
 * exactly, as an ordered list of matchers where the first match wins:
 * issue show, issue new|create, issue search, issue move, issue close,
 * issue comment, deploy, run, incident declare. Anything else is the help
 * fallback. Matching is case-sensitive and nothing is trimmed first, so a
 * leading space falls through to help. "Whitespace" is Ruby's \s: the six
 * ASCII bytes space, \t, \n, \v, \f, \r.
 *
 * Each of GitLab's regexes is implemented as a hand-written scanner that
 * returns the same captures the regex engine would (including the effect
 * of backtracking where it matters, e.g. "run foo  " gives the arguments
 * " "), so parsing is linear in the input: no regex engine, no
 * backtracking, nothing a crafted text can slow down. The text is bytes:
 * invalid UTF-8 is carried through unchanged (all separators are ASCII);
 * only NUL bytes are refused, because every capture is a C string.
 *
 * Ownership: the strings in struct chat_command are owned by it and freed
 * by chat_command_dispose().
 */
#ifndef SO_CHAT_COMMAND_H
#define SO_CHAT_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest command text accepted, in bytes (SO_ETOOBIG beyond). */
#define CHAT_COMMAND_MAX 16384

/* In GitLab's order (the order of the help list). */
enum chat_command_kind {
	CHAT_CMD_HELP = 0,         /* the fallback: nothing else matched */
	CHAT_CMD_ISSUE_SHOW,       /* iid */
	CHAT_CMD_ISSUE_NEW,        /* title, description */
	CHAT_CMD_ISSUE_SEARCH,     /* query */
	CHAT_CMD_ISSUE_MOVE,       /* iid, project_path */
	CHAT_CMD_ISSUE_CLOSE,      /* iid */
	CHAT_CMD_ISSUE_COMMENT,    /* iid, note */
	CHAT_CMD_DEPLOY,           /* from, to */
	CHAT_CMD_RUN,              /* job, arguments (NULL when none) */
	CHAT_CMD_INCIDENT_DECLARE, /* no arguments */
	CHAT_CMD__COUNT
};

/* A bit per command kind, for sets of available commands. */
#define CHAT_CMD_BIT(kind) (1u << (kind))
/* Every command but help. */
#define CHAT_CMD_ALL (((1u << CHAT_CMD__COUNT) - 1u) & ~CHAT_CMD_BIT(CHAT_CMD_HELP))

struct chat_command {
	enum chat_command_kind kind;
	/* Issue number; digits beyond int64 saturate to INT64_MAX (which no
	 * issue has, so the lookup answers not found). 0 when unused. */
	int64_t iid;
	char *title;        /* issue new: the rest of the first line, as is */
	char *description;  /* issue new: after the newlines, rstripped; "" if none */
	char *query;        /* issue search: the rest of the first line */
	char *project_path; /* issue move: the target project's full path */
	char *note;         /* issue comment: the body, stripped; may be "" */
	char *from, *to;    /* deploy: environments, stripped, never blank */
	char *job;          /* run: the job name */
	char *arguments;    /* run: the raw rest (may span lines); NULL if none */
	/* The text starts with "help" (byte-exact; "Help" does not count).
	 * Set whatever the kind; the help reply uses it. */
	bool help_requested;
};

/* Parses text (len bytes, need not be NUL-terminated) into *out, which is
 * overwritten (not disposed first). Text that matches no command is
 * CHAT_CMD_HELP, not an error. Errors: SO_ETOOBIG past CHAT_COMMAND_MAX,
 * SO_EINVALID for a NUL byte; *out is then an empty CHAT_CMD_HELP. */
int chat_command_parse(const char *text, size_t len, struct chat_command *out);

/* Frees the strings and leaves *c an empty CHAT_CMD_HELP. Accepts NULL. */
void chat_command_dispose(struct chat_command *c);

/* GitLab only matches the commands available on the project (e.g. no
 * issue commands when issues are off), so an unavailable command falls
 * through to help. Applies that: when c's kind is not in available (a set
 * of CHAT_CMD_BIT), c becomes CHAT_CMD_HELP (help_requested kept). */
void chat_command_restrict(struct chat_command *c, unsigned available);

/* The command's name as typed ("issue show", "run"); "help" for help. */
const char *chat_command_name(enum chat_command_kind kind);

/* The command's help line after the trigger, as GitLab words it
 * ("issue show <id>"); "help" for help. */
const char *chat_command_help_message(enum chat_command_kind kind);

#endif
