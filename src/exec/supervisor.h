/*
 * exec/supervisor.h: the job supervisor as a separate program (internal to
 * src/exec/). The executor starts it with posix_spawn() (vfork-like, no
 * copy of the server's pages) as "<self> exec-supervisor ..."; every
 * binary that links the executor answers that command before main() (an
 * ELF constructor in supervisor.c), so the server and the test programs
 * alike can be their own supervisor. What the supervisor does is described
 * in executor.c's header comment and docs/EXECUTOR.md.
 */
#ifndef SO_EXEC_SUPERVISOR_H
#define SO_EXEC_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

/* What one step runs. Everything is borrowed. */
struct exec_sv_plan {
	const char *bash;
	char *const *argv;           /* bash's argv, NULL-terminated */
	char *const *envp;           /* bash's environment, NULL-terminated */
	const char *cwd;
	bool drop;                   /* switch to uid/gid/groups */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
	int devnull, out_w, ctl;     /* become 0, 1 and 2, 3 in the supervisor */
};

/* Starts "<self> exec-supervisor ..." with an empty environment (the
 * job's variables travel in argv, so none of them can reach the dynamic
 * loader of the supervisor), descriptors 0-3 as in the plan and no other.
 * Returns 0 and *pid, or an errno value. */
int exec_supervisor_spawn(const char *self, const struct exec_sv_plan *c, pid_t *pid);

/* The supervisor program: argv as built by exec_supervisor_spawn(). Never
 * returns. */
__attribute__((noreturn)) void exec_supervisor_main(int argc, char **argv);

#endif
