/*
 * admin.c: `slashops admin`, bootstrap and recovery commands that work on
 * the data directory directly (no running server needed; SQLite in WAL
 * mode lets them run beside one).
 *
 *   admin user create NAME [--admin] [--email E] [--name N] [--password-stdin]
 *   admin user list
 *   admin user block|unblock|deactivate|activate NAME
 *   admin user password NAME [--password-stdin]
 *   admin token create USER --name NAME [--scope S]... [--expires-at YYYY-MM-DD]
 *   admin token list USER
 *   admin token revoke ID
 *   admin integration set PROJECT --token-stdin [--inactive]
 *   admin chat link USER --team-id T --team-domain D --chat-id U --chat-name N
 *
 * Every subcommand also takes --config FILE and --data-dir DIR. A password
 * is read from stdin with --password-stdin, or generated and printed once.
 * A token is printed once; only its hash is stored.
 *
 * `integration set` and `chat link` are for bootstrap and recovery (the
 * demo in scripts/run.sh, a benchmark, a locked-out admin): they do what
 * the integrations API (PUT .../integrations/mattermost-slash-commands)
 * and the browser's "connect your chat account" flow do, without a
 * running server. The integration token is read from stdin and stored
 * only as auth_token_hash(); a changed token clears the recorded team, as
 * the API does.
 */
#include "cli/cli.h"
#include "api/integrations.h"
#include "auth/auth.h"
#include "core/accounts.h"
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin_opts {
	const char *config_path;
	const char *data_dir;
	const char *email;
	const char *name;
	const char *expires_at;
	const char *team_id;
	const char *team_domain;
	const char *chat_id;
	const char *chat_name;
	struct buf scopes;
	bool admin;
	bool password_stdin;
	bool token_stdin;
	bool inactive;
};

static void admin_usage(FILE *f)
{
	fputs("usage: slashops admin user create NAME [--admin] [--email E] [--name N] [--password-stdin]\n"
	      "       slashops admin user list\n"
	      "       slashops admin user block|unblock|deactivate|activate NAME\n"
	      "       slashops admin user password NAME [--password-stdin]\n"
	      "       slashops admin token create USER --name NAME [--scope S]... [--expires-at DATE]\n"
	      "       slashops admin token list USER\n"
	      "       slashops admin token revoke ID\n"
	      "       slashops admin integration set PROJECT --token-stdin [--inactive]\n"
	      "       slashops admin chat link USER --team-id T --team-domain D --chat-id U --chat-name N\n"
	      "options for all: --config FILE, --data-dir DIR\n",
	      f);
}

/* Reads one line from stdin (without the newline), at most 1 KiB. */
static char *read_password_line(void)
{
	char line[1024];
	size_t n;

	if (!fgets(line, sizeof(line), stdin))
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return xstrdup(line);
}

static int open_app(const struct admin_opts *o, struct app **out)
{
	struct config cfg;
	int status;

	config_init(&cfg);
	if ((status = cli_load_config(&cfg, o->config_path, o->data_dir)) != 0)
		goto fail;
	if (config_finish(&cfg) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto fail;
	}
	if (auth_init() < 0 || app_open(out, &cfg) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto fail;
	}
	return 0;
fail:
	config_dispose(&cfg);
	return 1;
}

static int find_user(struct app *app, const char *login, struct store_user **out)
{
	if (store_user_get_by_login(app->store, login, out) < 0) {
		fprintf(stderr, "slashops: user \"%s\" not found\n", login);
		return 1;
	}
	return 0;
}

static int user_create(struct app *app, const struct admin_opts *o, const char *username)
{
	struct accounts_user_new in;
	char *password = NULL, *email = NULL;
	bool generated = false;
	int64_t id = 0;
	int status = 1;

	if (o->password_stdin) {
		if (!(password = read_password_line())) {
			fprintf(stderr, "slashops: no password on stdin\n");
			goto done;
		}
	} else {
		password = auth_password_generate();
		generated = true;
	}
	email = o->email ? xstrdup(o->email) : xasprintf("%s@localhost", username);
	memset(&in, 0, sizeof(in));
	in.username = username;
	in.email = email;
	in.name = o->name ? o->name : username;
	in.password = password;
	in.is_admin = o->admin;
	if (accounts_user_create(app, &in, &id) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	printf("created user %s (id %lld%s)\n", username, (long long)id, o->admin ? ", admin" : "");
	if (generated)
		printf("password (shown once): %s\n", password);
	status = 0;
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(email);
	return status;
}

static int user_list(struct app *app)
{
	static const char *const states[] = { "active", "blocked", "deactivated" };
	struct store_page page = { 1, 100 };
	struct store_user **users = NULL;
	int64_t total = 0;

	printf("%-6s %-20s %-30s %-12s %s\n", "ID", "USERNAME", "EMAIL", "STATE", "ADMIN");
	do {
		if (store_user_list(app->store, &page, &users, &total) < 0) {
			fprintf(stderr, "slashops: %s\n", error_msg());
			return 1;
		}
		for (size_t i = 0; users[i]; i++)
			printf("%-6lld %-20s %-30s %-12s %s\n", (long long)users[i]->id,
			       users[i]->username, users[i]->email,
			       states[users[i]->state % 3], users[i]->is_admin ? "yes" : "no");
		store_user_list_free(users);
		users = NULL;
		page.page++;
	} while ((page.page - 1) * page.per_page < total);
	return 0;
}

static int user_set_state(struct app *app, const char *login, enum store_user_state state)
{
	struct store_user *u = NULL;
	int status = 1;

	if (find_user(app, login, &u) != 0)
		return 1;
	if (store_user_set_state(app->store, u->id, state) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	/* A blocked or deactivated user's web sessions end now. */
	if (state != STORE_USER_ACTIVE)
		store_session_delete_for_user(app->store, u->id);
	printf("user %s is now %s\n", u->username,
	       state == STORE_USER_ACTIVE ? "active" :
	       state == STORE_USER_BLOCKED ? "blocked" : "deactivated");
	status = 0;
done:
	store_user_free(u);
	return status;
}

static int user_password(struct app *app, const struct admin_opts *o, const char *login)
{
	struct store_user *u = NULL;
	char *password = NULL, *hash = NULL;
	bool generated = false;
	int status = 1;

	if (find_user(app, login, &u) != 0)
		return 1;
	if (o->password_stdin)
		password = read_password_line();
	else {
		password = auth_password_generate();
		generated = true;
	}
	if (!password) {
		fprintf(stderr, "slashops: no password on stdin\n");
		goto done;
	}
	if (auth_password_hash(password, &hash) < 0 ||
	    store_user_set_password(app->store, u->id, hash) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	store_session_delete_for_user(app->store, u->id);
	printf("password of %s changed\n", u->username);
	if (generated)
		printf("password (shown once): %s\n", password);
	status = 0;
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(hash);
	store_user_free(u);
	return status;
}

static int token_create(struct app *app, const struct admin_opts *o, const char *login)
{
	struct store_user *u = NULL;
	char *token = NULL;
	int64_t id = 0;
	int status = 1;

	if (!o->name) {
		fprintf(stderr, "slashops: token create needs --name\n");
		return 2;
	}
	if (find_user(app, login, &u) != 0)
		return 1;
	if (auth_token_create(app, u->id, o->name, o->scopes.len ? buf_cstr(&o->scopes) : "api",
			      o->expires_at, &token, &id) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	printf("token %lld for %s (shown once): %s\n", (long long)id, u->username, token);
	status = 0;
done:
	free(token);
	store_user_free(u);
	return status;
}

static int token_list(struct app *app, const char *login)
{
	struct store_user *u = NULL;
	struct store_token **tokens = NULL;
	int status = 1;

	if (find_user(app, login, &u) != 0)
		return 1;
	if (store_token_list_for_user(app->store, u->id, &tokens) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	printf("%-6s %-20s %-40s %-12s %s\n", "ID", "NAME", "SCOPES", "EXPIRES", "STATE");
	for (size_t i = 0; tokens[i]; i++)
		printf("%-6lld %-20s %-40s %-12s %s\n", (long long)tokens[i]->id, tokens[i]->name,
		       tokens[i]->scopes, tokens[i]->expires_at ? tokens[i]->expires_at : "never",
		       tokens[i]->revoked ? "revoked" : "active");
	status = 0;
done:
	store_token_list_free(tokens);
	store_user_free(u);
	return status;
}

static int token_revoke(struct app *app, const char *id_text)
{
	char *end;
	long long id = strtoll(id_text, &end, 10);

	if (*id_text == '\0' || *end != '\0' || id <= 0) {
		fprintf(stderr, "slashops: token id must be a number\n");
		return 2;
	}
	if (store_token_revoke(app->store, id) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		return 1;
	}
	printf("token %lld revoked\n", id);
	return 0;
}

static int find_project(struct app *app, const char *ref, struct store_project **out)
{
	char *end;
	long long id = strtoll(ref, &end, 10);
	int rc;

	if (*ref && *end == '\0' && id > 0)
		rc = store_project_get(app->store, id, out);
	else
		rc = store_project_get_by_path(app->store, ref, out);
	if (rc < 0) {
		fprintf(stderr, "slashops: project \"%s\" not found\n", ref);
		return 1;
	}
	return 0;
}

/* The Mattermost slash commands integration of a project: token (from
 * stdin) and active, as PUT .../integrations/mattermost-slash-commands. */
static int integration_set(struct app *app, const struct admin_opts *o, const char *ref)
{
	struct store_project *p = NULL;
	struct store_integration *old = NULL;
	char *token = NULL, *hash = NULL;
	bool changed;
	int64_t id = 0;
	int rc, status = 1;

	if (!o->token_stdin) {
		fprintf(stderr, "slashops: integration set needs --token-stdin\n");
		return 2;
	}
	if (find_project(app, ref, &p) != 0)
		return 1;
	if (!(token = read_password_line()) || !*token) {
		fprintf(stderr, "slashops: no token on stdin\n");
		goto done;
	}
	rc = store_integration_get(app->store, p->id, API_MATTERMOST_SLASH_COMMANDS, &old);
	if (rc < 0 && rc != SO_ENOTFOUND) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	hash = auth_token_hash(app, token);
	changed = !old || !old->token_hash || strlen(old->token_hash) != strlen(hash) ||
		  sodium_memcmp(old->token_hash, hash, strlen(hash)) != 0;
	if (store_integration_upsert(app->store, p->id, API_MATTERMOST_SLASH_COMMANDS, hash,
				     !o->inactive, changed, &id) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	printf("Mattermost slash commands integration of %s set (%s)\n", p->path_with_namespace,
	       o->inactive ? "inactive" : "active");
	status = 0;
done:
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	free(hash);
	store_integration_free(old);
	store_project_free(p);
	return status;
}

/* Links a chat account to a user, as the browser's authorize step does. */
static int chat_link(struct app *app, const struct admin_opts *o, const char *login)
{
	struct store_user *u = NULL;
	int64_t id = 0;
	int status = 1;

	if (!o->team_id || !o->team_domain || !o->chat_id || !o->chat_name ||
	    !*o->team_id || !*o->chat_id) {
		fprintf(stderr, "slashops: chat link needs --team-id, --team-domain, --chat-id "
				"and --chat-name\n");
		return 2;
	}
	if (find_user(app, login, &u) != 0)
		return 1;
	if (store_chat_name_create(app->store, u->id, o->team_id, o->team_domain, o->chat_id,
				   o->chat_name, &id) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	printf("chat account %s (%s in team %s) linked to %s\n", o->chat_name, o->chat_id,
	       o->team_domain, u->username);
	status = 0;
done:
	store_user_free(u);
	return status;
}

int cli_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "admin", no_argument, NULL, 'A' },
		{ "email", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "scope", required_argument, NULL, 's' },
		{ "expires-at", required_argument, NULL, 'x' },
		{ "token-stdin", no_argument, NULL, 'T' },
		{ "inactive", no_argument, NULL, 'I' },
		{ "team-id", required_argument, NULL, 1 },
		{ "team-domain", required_argument, NULL, 2 },
		{ "chat-id", required_argument, NULL, 3 },
		{ "chat-name", required_argument, NULL, 4 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin_opts o;
	struct app *app = NULL;
	const char *what, *verb, *arg;
	int c, status = 2;

	memset(&o, 0, sizeof(o));
	buf_init(&o.scopes, 1024);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:Ae:n:ps:x:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config_path = optarg; break;
		case 'd': o.data_dir = optarg; break;
		case 'A': o.admin = true; break;
		case 'e': o.email = optarg; break;
		case 'n': o.name = optarg; break;
		case 'p': o.password_stdin = true; break;
		case 's':
			if (o.scopes.len)
				buf_putc(&o.scopes, ' ');
			buf_puts(&o.scopes, optarg);
			break;
		case 'x': o.expires_at = optarg; break;
		case 'T': o.token_stdin = true; break;
		case 'I': o.inactive = true; break;
		case 1: o.team_id = optarg; break;
		case 2: o.team_domain = optarg; break;
		case 3: o.chat_id = optarg; break;
		case 4: o.chat_name = optarg; break;
		case 'h': admin_usage(stdout); status = 0; goto done;
		default: admin_usage(stderr); goto done;
		}
	}
	if (argc - optind < 2) {
		admin_usage(stderr);
		goto done;
	}
	what = argv[optind];
	verb = argv[optind + 1];
	arg = argc - optind >= 3 ? argv[optind + 2] : NULL;
	if (strcmp(what, "user") == 0 && strcmp(verb, "list") == 0)
		arg = "";
	if (!arg || argc - optind > 3) {
		admin_usage(stderr);
		goto done;
	}
	if (open_app(&o, &app) != 0) {
		status = 1;
		goto done;
	}
	if (strcmp(what, "user") == 0) {
		if (strcmp(verb, "create") == 0)
			status = user_create(app, &o, arg);
		else if (strcmp(verb, "list") == 0)
			status = user_list(app);
		else if (strcmp(verb, "block") == 0)
			status = user_set_state(app, arg, STORE_USER_BLOCKED);
		else if (strcmp(verb, "unblock") == 0 || strcmp(verb, "activate") == 0)
			status = user_set_state(app, arg, STORE_USER_ACTIVE);
		else if (strcmp(verb, "deactivate") == 0)
			status = user_set_state(app, arg, STORE_USER_DEACTIVATED);
		else if (strcmp(verb, "password") == 0)
			status = user_password(app, &o, arg);
		else
			admin_usage(stderr);
	} else if (strcmp(what, "token") == 0) {
		if (strcmp(verb, "create") == 0)
			status = token_create(app, &o, arg);
		else if (strcmp(verb, "list") == 0)
			status = token_list(app, arg);
		else if (strcmp(verb, "revoke") == 0)
			status = token_revoke(app, arg);
		else
			admin_usage(stderr);
	} else if (strcmp(what, "integration") == 0 && strcmp(verb, "set") == 0) {
		status = integration_set(app, &o, arg);
	} else if (strcmp(what, "chat") == 0 && strcmp(verb, "link") == 0) {
		status = chat_link(app, &o, arg);
	} else {
		admin_usage(stderr);
	}
done:
	app_close(app);
	buf_dispose(&o.scopes);
	return status;
}
