/*
 * ci.c: `slashops lint` and `slashops ci plan`, the CI processor on a
 * plain checkout without a server (src/ci/checkout.h reads it).
 *
 *   slashops lint [FILE]
 *       "OK", or one "FILE:LINE:COL: message" line per error; exit 1 on
 *       errors. FILE defaults to ./.gitlab-ci.yml.
 *   slashops ci plan [--source S] [--ref R] [--sha SHA] [--job NAME]
 *                    [--var KEY=VALUE]... [--chat-input TEXT]
 *                    [--chat-channel ID] [--chat-user-id ID]
 *                    [--project PATH] [--default-branch B] [--tag]
 *                    [--no-variables] [FILE]
 *       The pipeline GitLab would create, as JSON on stdout (streamed one
 *       job at a time). A pipeline that would not be created still
 *       prints its plan, with "status" and GitLab's "message"; the exit
 *       status is 0 for any plan and 1 for configuration errors.
 *
 * Defaults for plan: source "push", the checkout's current branch and
 * HEAD commit when it is a git repository (else "main" and zeros),
 * project path "local/<directory name>".
 */
#include "cli/cli.h"
#include "ci/checkout.h"
#include "ci/config.h"
#include "ci/lint.h"
#include "ci/plan.h"
#include "ci/vars.h"
#include "git/repo.h"
#include "util/buf.h"
#include "util/error.h"

#include <getopt.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG ".gitlab-ci.yml"

int cli_lint(int argc, char **argv)
{
	struct buf report = BUF_INIT(0);
	const char *path = DEFAULT_CONFIG;
	int err;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "-") != 0)) {
		fputs("usage: slashops lint [FILE]\n", argc == 2 && strcmp(argv[1], "--help") == 0
							  ? stdout : stderr);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	if (argc == 2)
		path = argv[1];
	err = ci_lint(path, &report);
	fputs(buf_cstr(&report), err == 0 ? stdout : stderr);
	buf_dispose(&report);
	return err == 0 ? 0 : 1;
}

/* The checkout's current branch and HEAD sha, when it is a git
 * repository. Outputs are malloc'd or left NULL. */
static void git_head(const char *root, char **branch, char **sha)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	const git_oid *oid;

	if (gitrepo_init() < 0) /* libgit2 set up the cheap way (see git/repo.c) */
		return;
	if (git_repository_open_ext(&repo, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		goto done;
	if (git_repository_head(&head, repo) < 0)
		goto done;
	if (git_reference_is_branch(head))
		*branch = xstrdup(git_reference_shorthand(head));
	if ((oid = git_reference_target(head)) != NULL) {
		git_oid_tostr(hex, sizeof(hex), oid);
		*sha = xstrdup(hex);
	}
done:
	git_reference_free(head);
	git_repository_free(repo);
	gitrepo_shutdown();
}

static void plan_usage(FILE *f)
{
	fputs("usage: slashops ci plan [--source S] [--ref R] [--sha SHA] [--job NAME]\n"
	      "                        [--var KEY=VALUE]... [--chat-input TEXT]\n"
	      "                        [--chat-channel ID] [--chat-user-id ID]\n"
	      "                        [--project PATH] [--default-branch B] [--tag]\n"
	      "                        [--no-variables] [FILE]\n",
	      f);
}

static int cli_ci_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "ref", required_argument, NULL, 'r' },
		{ "sha", required_argument, NULL, 'S' },
		{ "job", required_argument, NULL, 'j' },
		{ "var", required_argument, NULL, 'v' },
		{ "chat-input", required_argument, NULL, 'i' },
		{ "chat-channel", required_argument, NULL, 'c' },
		{ "chat-user-id", required_argument, NULL, 'u' },
		{ "project", required_argument, NULL, 'p' },
		{ "default-branch", required_argument, NULL, 'd' },
		{ "tag", no_argument, NULL, 't' },
		{ "no-variables", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ci_pipeline_context ctx;
	struct ci_varlist vars = CI_VARLIST_INIT, incvars = CI_VARLIST_INIT;
	struct ci_checkout *co = NULL;
	struct ci_config *cfg = NULL;
	struct ci_plan *plan = NULL;
	struct ci_diags diags;
	struct buf report = BUF_INIT(0);
	const char *path = DEFAULT_CONFIG, *job = NULL, *project = NULL;
	char *head_branch = NULL, *head_sha = NULL, *proj_path = NULL, *ns = NULL, *url = NULL;
	char *slash;
	unsigned flags = 0;
	int c, status = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.source = "push";
	ci_diags_init(&diags);
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:r:S:j:v:i:c:u:p:d:tnh", opts, NULL)) != -1) {
		switch (c) {
		case 's': ctx.source = optarg; break;
		case 'r': ctx.ref = optarg; break;
		case 'S': ctx.sha = optarg; break;
		case 'j': job = optarg; break;
		case 'v': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg) {
				fprintf(stderr, "slashops: --var wants KEY=VALUE, got \"%s\"\n", optarg);
				status = 2;
				goto done;
			}
			*eq = '\0';
			ci_varlist_add(&vars, optarg, eq + 1, false);
			*eq = '=';
			break;
		}
		case 'i': ctx.chat.input = optarg; break;
		case 'c': ctx.chat.channel = optarg; break;
		case 'u': ctx.chat.user_id = optarg; break;
		case 'p': project = optarg; break;
		case 'd': ctx.default_branch = optarg; break;
		case 't': ctx.tag = true; break;
		case 'n': flags |= CI_PLAN_JSON_NO_VARIABLES; break;
		case 'h': plan_usage(stdout); status = 0; goto done;
		default: plan_usage(stderr); status = 2; goto done;
		}
	}
	if (argc - optind > 1) {
		plan_usage(stderr);
		status = 2;
		goto done;
	}
	if (optind < argc)
		path = argv[optind];
	if (job && strcmp(ctx.source, "chat") != 0) {
		fputs("slashops: --job keeps one job of a chat pipeline; use it with --source chat\n",
		      stderr);
		status = 2;
		goto done;
	}

	if (ci_checkout_open(&co, path) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	git_head(ci_checkout_root(co), &head_branch, &head_sha);
	if (!ctx.ref)
		ctx.ref = head_branch ? head_branch : "main";
	if (!ctx.sha)
		ctx.sha = head_sha;
	if (!ctx.default_branch)
		ctx.default_branch = head_branch ? head_branch : "main";

	if (project) {
		proj_path = xstrdup(project);
	} else {
		const char *root = ci_checkout_root(co);
		const char *base = strrchr(root, '/');

		proj_path = xasprintf("local/%s", base && base[1] ? base + 1 : "project");
	}
	slash = strrchr(proj_path, '/');
	ns = slash ? xstrndup(proj_path, (size_t)(slash - proj_path)) : xstrdup("");
	url = xasprintf("http://localhost/%s", proj_path);
	ctx.project.id = 1;
	ctx.project.path = slash ? slash + 1 : proj_path;
	ctx.project.path_with_namespace = proj_path;
	ctx.project.namespace = ns;
	ctx.project.name = ctx.project.path;
	ctx.project.url = url;
	ctx.server_url = "http://localhost";
	ctx.variables = &vars;
	ctx.list_files = ci_checkout_list_files;
	ctx.cls = co;
	if (strcmp(ctx.source, "chat") == 0 && !ctx.chat.channel)
		ctx.chat.channel = "";

	/* include:rules see the pipeline's variables, as on the server. */
	ci_vars_predefined_pipeline(&incvars, &ctx, NULL);
	ci_vars_user(&incvars, &ctx);
	ci_vars_pipeline(&incvars, &ctx);
	ci_checkout_set_vars(co, &incvars);
	if (ci_checkout_load(co, &cfg, &diags) < 0) {
		ci_diags_format(&diags, &report);
		fputs(buf_cstr(&report), stderr);
		goto done;
	}
	if (ci_plan_build(cfg, &ctx, job, &plan) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	if (ci_plan_write_json(plan, stdout, flags) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "slashops: cannot write the plan\n");
		goto done;
	}
	status = 0;
done:
	ci_plan_free(plan);
	ci_config_free(cfg);
	ci_checkout_free(co);
	ci_diags_free(&diags);
	ci_varlist_dispose(&vars);
	ci_varlist_dispose(&incvars);
	buf_dispose(&report);
	free(head_branch);
	free(head_sha);
	free(proj_path);
	free(ns);
	free(url);
	return status;
}

int cli_ci(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "plan") == 0)
		return cli_ci_plan(argc - 1, argv + 1);
	fputs("usage: slashops ci plan [options] [FILE]   (see slashops ci plan --help)\n",
	      argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
