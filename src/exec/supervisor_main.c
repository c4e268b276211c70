/*
 * exec/supervisor_main.c: main() of slashops-exec-supervisor, the job
 * supervisor as a program of its own that links only libc, so that
 * starting it costs the dynamic loader almost nothing (the slashops binary
 * itself pulls in libgit2, curl, SQLite...). The executor prefers it when
 * it sits beside the running binary (executor.c, supervisor_default()).
 * The work is done by supervisor.c, whose constructor takes over before
 * main() when the arguments are the executor's; main() only refuses
 * anything else.
 */
#include "exec/supervisor.h"

int main(int argc, char **argv)
{
	exec_supervisor_main(argc, argv);
}
