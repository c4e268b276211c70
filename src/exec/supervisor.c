/*
 * exec/supervisor.c: the job supervisor, a program of its own (see
 * supervisor.h, executor.c and docs/EXECUTOR.md).
 *
 * Design:
 * - Starting it. exec_supervisor_spawn() runs in a worker thread of the
 *   (big, multithreaded) server. It uses posix_spawn(), which glibc
 *   implements with clone(CLONE_VM | CLONE_VFORK): nothing of the server's
 *   memory is copied, and the server's threads never take copy-on-write
 *   faults afterwards (they did when the supervisor was a fork()). The
 *   program is the server's own binary (/proc/self/exe, resolved when the
 *   pool starts), argv[1] "exec-supervisor", argv[2] a protocol tag. The
 *   environment is empty: the job's variables, bash's argv, the directory
 *   and the user travel in argv, so a job variable such as LD_PRELOAD
 *   never reaches the loader of a process that may run as root. Signal
 *   dispositions and the mask are reset; descriptors are 0 /dev/null, 1
 *   and 2 the trace pipe, 3 the control socket, nothing else.
 * - Entering it. An ELF constructor (glibc passes argc/argv to it) looks
 *   for "exec-supervisor <tag>" and runs exec_supervisor_main(), before
 *   main(): any binary that links the executor (slashops, the unit tests
 *   of exec and pipeline) can supervise its own jobs.
 * - Running it. The supervisor is a child subreaper and its own process
 *   group; it forks bash into a new process group (dropping to the job
 *   user, clean signals, exec), then waits on a pidfd of bash and on the
 *   control socket ('T' = SIGTERM everything, 'K' = SIGKILL everything,
 *   EOF = the server is gone: SIGKILL). When bash has ended it kills
 *   whatever is left: the bash process group and, repeatedly, every child
 *   listed in /proc/self/task/<pid>/children, reaping until it has no
 *   child. Then it sends bash's wait status on the control socket and
 *   exits. The trace pipe therefore reaches EOF only when every process of
 *   the step is gone.
 */
#include "exec/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SV_COMMAND "exec-supervisor"
#define SV_TAG "v1"            /* argv layout version */
#define SV_FIXED 10            /* argv items before bash's argv */

#define ANSI_BOLD_RED "\033[31;1m"
#define ANSI_RESET "\033[0;m"

/* ------------------------------------------------------------------ */
/* The server's side                                                   */

/* A descriptor above 3, so that the dup2() actions cannot overwrite a
 * source before it is used. *tmp receives a descriptor to close after
 * the spawn, or -1. */
static int high_fd(int fd, int *tmp)
{
	*tmp = -1;
	if (fd > 3)
		return fd;
	*tmp = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	return *tmp;
}

int exec_supervisor_spawn(const char *self, const struct exec_sv_plan *c, pid_t *pid)
{
	char drop[2] = { c->drop ? '1' : '0', 0 }, uid[24], gid[24], nargs[24];
	char *groups = NULL, **argv = NULL, *empty_env[] = { NULL };
	size_t na = 0, ne = 0, k = 0, glen = 0;
	int tmp[3] = { -1, -1, -1 }, in, out, ctl, err = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	bool fa_ok = false, at_ok = false;

	while (c->argv[na])
		na++;
	while (c->envp[ne])
		ne++;
	snprintf(uid, sizeof(uid), "%lu", (unsigned long)c->uid);
	snprintf(gid, sizeof(gid), "%lu", (unsigned long)c->gid);
	snprintf(nargs, sizeof(nargs), "%zu", na);
	groups = malloc((size_t)(c->n_groups > 0 ? c->n_groups : 0) * 24 + 1);
	argv = calloc(SV_FIXED + na + ne + 1, sizeof(*argv));
	if (!groups || !argv) {
		err = ENOMEM;
		goto cleanup;
	}
	groups[0] = '\0';
	for (int i = 0; i < c->n_groups; i++)
		glen += (size_t)sprintf(groups + glen, "%s%lu", i ? "," : "",
					(unsigned long)c->groups[i]);
	argv[k++] = (char *)self;
	argv[k++] = (char *)SV_COMMAND;
	argv[k++] = (char *)SV_TAG;
	argv[k++] = (char *)c->bash;
	argv[k++] = (char *)c->cwd;
	argv[k++] = drop;
	argv[k++] = uid;
	argv[k++] = gid;
	argv[k++] = groups;
	argv[k++] = nargs;
	for (size_t i = 0; i < na; i++)
		argv[k++] = c->argv[i];
	for (size_t i = 0; i < ne; i++)
		argv[k++] = c->envp[i];
	argv[k] = NULL;

	in = high_fd(c->devnull, &tmp[0]);
	out = high_fd(c->out_w, &tmp[1]);
	ctl = high_fd(c->ctl, &tmp[2]);
	if (in < 0 || out < 0 || ctl < 0) {
		err = errno;
		goto cleanup;
	}
	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		goto cleanup;
	fa_ok = true;
	if ((err = posix_spawn_file_actions_adddup2(&fa, in, 0)) != 0 ||
	    (err = posix_spawn_file_actions_adddup2(&fa, out, 1)) != 0 ||
	    (err = posix_spawn_file_actions_adddup2(&fa, out, 2)) != 0 ||
	    (err = posix_spawn_file_actions_adddup2(&fa, ctl, 3)) != 0 ||
	    (err = posix_spawn_file_actions_addclosefrom_np(&fa, 4)) != 0)
		goto cleanup;
	if ((err = posix_spawnattr_init(&at)) != 0)
		goto cleanup;
	at_ok = true;
	sigfillset(&all);
	sigemptyset(&none);
	if ((err = posix_spawnattr_setsigdefault(&at, &all)) != 0 ||
	    (err = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETSIGMASK)) != 0)
		goto cleanup;
	err = posix_spawn(pid, self, &fa, &at, argv, empty_env);
cleanup:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 3; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	free(groups);
	free(argv);
	return err;
}

/* ------------------------------------------------------------------ */
/* The supervisor's side                                               */

struct sv {
	const char *bash, *cwd;
	char **argv, **envp;
	bool drop;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int n_groups;
};

static void say(const char *s)
{
	ssize_t r = write(2, s, strlen(s));

	(void)r;
}

static void close_from(int lowfd)
{
	if (close_range((unsigned)lowfd, ~0U, 0) < 0)
		for (int fd = lowfd; fd < 65536; fd++)
			close(fd);
}

/* The job's shell, in the supervisor's child: system calls only. */
static __attribute__((noreturn)) void run_shell(const struct sv *c)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);   /* SIGPIPE is ignored in the supervisor */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_from(3);                     /* the control socket */
	if (setpgid(0, 0) < 0)
		_exit(126);
	if (c->drop && (setgroups((size_t)c->n_groups, c->groups) < 0 ||
			setgid(c->gid) < 0 || setuid(c->uid) < 0)) {
		say(ANSI_BOLD_RED "ERROR: cannot switch to the job user" ANSI_RESET "\n");
		_exit(126);
	}
	/* after setuid, which clears it: the supervisor is gone, die */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (chdir(c->cwd) < 0) {
		say(ANSI_BOLD_RED "ERROR: cannot enter the project directory" ANSI_RESET "\n");
		_exit(126);
	}
	umask(022);
	execve(c->bash, c->argv, c->envp);
	say(ANSI_BOLD_RED "ERROR: cannot start bash" ANSI_RESET "\n");
	_exit(127);
}

/* Sends sig to the process group of bash (while bash is unreaped, so its
 * id cannot have been reused) and to every child of the supervisor and
 * their process groups. Returns the number of children seen. */
static int signal_all(int sig, pid_t bash_group)
{
	char path[64], buf[4096];
	int fd, seen = 0;
	ssize_t k;
	long cur = -1;

	if (bash_group > 0)
		kill(-bash_group, sig);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((k = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < k; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur > 0) {   /* a number is complete at its space */
				kill((pid_t)cur, sig);
				kill((pid_t)-cur, sig);
				seen++;
				cur = -1;
			}
		}
	}
	close(fd);
	return seen;
}

static __attribute__((noreturn)) void supervise(const struct sv *c)
{
	int st = -1, pidfd, e;
	bool ctl_open = true, done = false;
	pid_t bash, r;
	struct sigaction sa;

	/* Descriptors: 0 /dev/null, 1 and 2 the trace pipe, 3 control. */
	close_from(4);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;   /* SIG_IGN here would make waitpid() fail */
	sigaction(SIGCHLD, &sa, NULL);
	setpgid(0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	bash = fork();
	if (bash == 0)
		run_shell(c);
	if (bash < 0) {
		say(ANSI_BOLD_RED "ERROR: cannot fork" ANSI_RESET "\n");
		goto report;
	}
	setpgid(bash, bash);   /* also done by the child: no race either way */
	pidfd = (int)syscall(SYS_pidfd_open, bash, 0);
	while (!done) {
		struct pollfd p[2] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = ctl_open ? 3 : -1, .events = POLLIN },
		};
		char cmd;

		e = poll(p, 2, pidfd >= 0 ? -1 : 20);
		if (e < 0 && errno != EINTR)
			break;
		if (e > 0 && p[1].revents) {
			ssize_t k = read(3, &cmd, 1);

			if (k <= 0 && !(k < 0 && errno == EINTR)) {
				ctl_open = false;      /* the server is gone */
				signal_all(SIGKILL, bash);
			} else if (k == 1) {
				signal_all(cmd == 'K' ? SIGKILL : SIGTERM, bash);
			}
		}
		if (pidfd < 0 || (e > 0 && p[0].revents)) {
			r = waitpid(bash, &st, pidfd >= 0 ? 0 : WNOHANG);
			if (r == bash || (r < 0 && errno != EINTR))
				done = true;
		}
	}
	/* Whatever the job left behind: kill and reap until no child is left
	 * (orphans of the job are reparented here, the subreaper). */
	for (;;) {
		int x;

		signal_all(SIGKILL, 0);
		r = waitpid(-1, &x, __WALL);
		if (r < 0 && errno == ECHILD)
			break;
	}
report:
	if (ctl_open)
		send(3, &st, sizeof(st), MSG_NOSIGNAL);
	_exit(0);
}

static bool parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && end != s && !*end;
}

void exec_supervisor_main(int argc, char **argv)
{
	struct sv c = { 0 };
	unsigned long v, na;
	char *g;

	if (argc < SV_FIXED || strcmp(argv[1], SV_COMMAND) || strcmp(argv[2], SV_TAG) ||
	    !parse_ulong(argv[9], &na) || na > (unsigned long)(argc - SV_FIXED)) {
		say("slashops exec-supervisor: started by the executor only\n");
		_exit(126);
	}
	c.bash = argv[3];
	c.cwd = argv[4];
	c.drop = argv[5][0] == '1';
	if (!parse_ulong(argv[6], &v))
		_exit(126);
	c.uid = (uid_t)v;
	if (!parse_ulong(argv[7], &v))
		_exit(126);
	c.gid = (gid_t)v;
	c.groups = calloc(strlen(argv[8]) / 2 + 2, sizeof(gid_t));
	if (!c.groups)
		_exit(126);
	for (g = argv[8]; *g; ) {
		char *end;

		c.groups[c.n_groups++] = (gid_t)strtoul(g, &end, 10);
		if (end == g)
			_exit(126);
		g = *end == ',' ? end + 1 : end;
	}
	/* bash's argv and environment: consecutive runs of our argv, each
	 * given its NULL terminator in a copy of the pointers. */
	c.argv = calloc(na + 1, sizeof(char *));
	c.envp = calloc((size_t)argc - SV_FIXED - na + 1, sizeof(char *));
	if (!c.argv || !c.envp)
		_exit(126);
	memcpy(c.argv, argv + SV_FIXED, na * sizeof(char *));
	memcpy(c.envp, argv + SV_FIXED + na, ((size_t)argc - SV_FIXED - na) * sizeof(char *));
	supervise(&c);
}

/* Before main(): "<binary> exec-supervisor <tag> ..." is the supervisor,
 * whatever the binary (glibc passes argc, argv, envp to constructors). */
__attribute__((constructor)) static void sv_enter(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc > 2 && argv && !strcmp(argv[1], SV_COMMAND) && !strcmp(argv[2], SV_TAG))
		exec_supervisor_main(argc, argv);
}
