/*
 * cli.h: the slashops subcommands. main.c picks one from argv[1] and
 * calls it with the remaining arguments (argv[0] is the subcommand name).
 * Each returns the process exit status: 0 success, 1 failure, 2 usage.
 */
#ifndef SO_CLI_CLI_H
#define SO_CLI_CLI_H

struct config;

int cli_serve(int argc, char **argv);
int cli_admin(int argc, char **argv);
int cli_lint(int argc, char **argv);
int cli_ci(int argc, char **argv);
/* `dev receiver`: a response_url stand-in for the demo (receiver.c). */
int cli_dev(int argc, char **argv);

/* Shared by the subcommands that open a data directory: applies the
 * common options (--config, --data-dir) and environment, then finishes
 * the configuration. Prints the error and returns non-zero on failure. */
int cli_load_config(struct config *cfg, const char *config_path, const char *data_dir);

#endif
