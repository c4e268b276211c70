/*
 * ci.c: `slashops lint` and `slashops ci plan`, the CI processor on a
 * plain checkout without a server. (Wired to src/ci/ once it lands.)
 */
#include "cli/cli.h"

#include <stdio.h>

int cli_lint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("slashops: lint is not available in this build yet\n", stderr);
	return 1;
}

int cli_ci(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("slashops: ci plan is not available in this build yet\n", stderr);
	return 1;
}
