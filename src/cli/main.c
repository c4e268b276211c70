/*
 * main.c: the slashops binary's entry point. It only dispatches to a
 * subcommand (cli.h); everything else lives in the parts under src/.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#ifndef SLASHOPS_VERSION
#define SLASHOPS_VERSION "dev"
#endif

static void usage(FILE *f)
{
	fputs("usage: slashops <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve                 run the server (see --help)\n"
	      "  admin user ...        create, list, block or reset accounts\n"
	      "  admin token ...       create, list or revoke personal access tokens\n"
	      "  admin integration ... set a project's Mattermost command token\n"
	      "  admin chat link ...   link a chat account to a user (bootstrap)\n"
	      "  lint [FILE]           check a .gitlab-ci.yml\n"
	      "  ci plan [options]     print the pipeline a .gitlab-ci.yml gives, as JSON\n"
	      "  dev receiver          print what is posted to it (a response_url stand-in)\n"
	      "  version               print the version\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cli_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "admin") == 0)
		return cli_admin(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cli_lint(argc - 1, argv + 1);
	if (strcmp(argv[1], "ci") == 0)
		return cli_ci(argc - 1, argv + 1);
	if (strcmp(argv[1], "dev") == 0)
		return cli_dev(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("slashops %s\n", SLASHOPS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "slashops: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
