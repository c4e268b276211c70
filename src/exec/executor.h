/*
 * exec/executor.h: the built-in job executor, a pool that runs CI jobs
 * the way GitLab Runner's shell executor does (bash), on this machine.
 *
 * Model (git's run-command.h run_processes_parallel, reduced): the caller
 * submits job specs; at most max_concurrent jobs run at once, the others
 * wait in a FIFO queue; each job ends with exactly one on_done() call
 * (success, failed, canceled or timed out). Nothing else is reported: the
 * trace file is the job's only other output.
 *
 * One job, in a pool worker thread (docs/EXECUTOR.md has the details):
 *   1. opens trace_path and writes the runner's header and the
 *      prepare_executor / prepare_script sections;
 *   2. get_sources: a fresh clone (libgit2, objects copied, never
 *      hard-linked) of <repos_dir>/<project_id>.git into
 *      <builds_dir>/<job_id>, the commit checked out as a detached HEAD;
 *   3. step_script: before_script + script in one `bash` with errexit and
 *      pipefail, each command echoed in green as "$ cmd";
 *   4. after_script (when given): a new bash, CI_JOB_STATUS set, bounded by
 *      its own timeout, its failure only a warning;
 *   5. cleanup_file_variables, then "Job succeeded" or "ERROR: Job failed:
 *      <reason>", and the checkout is removed.
 * Each bash runs under a small supervisor process (the server's own binary
 * started with posix_spawn as "exec-supervisor", so the server is never
 * forked and never copies its pages) which is a child subreaper:
 * when the script ends, times out or is canceled, every process the job
 * left behind (background jobs, double-forked daemons, setsid) is killed
 * and reaped before the step counts as finished. If the server dies, the
 * supervisor sees its control socket close and kills the job.
 *
 * Isolation: the job's environment is built from scratch (a few defaults,
 * the spec's variables, then the executor's CI_* variables); variables
 * reach bash only as environment entries, never as script text. stdin is
 * /dev/null, all other descriptors are closed, the job is its own process
 * group. When the server runs as root, jobs run as an unprivileged user
 * (run_as) and the checkout is theirs; the server's own files stay
 * unreadable to them as long as their directories are not world-readable.
 *
 * Threads: every function here may be called from any thread, except that
 * exec_pool_stop() must not be called from a callback. Callbacks run in a
 * pool worker thread (or, for a queued job that is canceled, in the thread
 * calling exec_pool_cancel / exec_pool_stop), never with a pool lock held,
 * so they may call exec_pool_submit / exec_pool_cancel.
 */
#ifndef SO_EXEC_EXECUTOR_H
#define SO_EXEC_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum exec_status {
	EXEC_SUCCESS = 0,
	EXEC_FAILED,      /* script failed, or a system failure (failure_reason) */
	EXEC_CANCELED,    /* exec_pool_cancel / exec_pool_stop */
	EXEC_TIMED_OUT,   /* the job ran longer than its timeout */
};

/* How a job ended. Passed to on_done(); every pointer is borrowed and
 * valid only during the callback. */
struct exec_result {
	enum exec_status status;
	/* Exit status of the step_script shell; -1 when it did not run to an
	 * exit (not started, killed by a signal, canceled, timed out). */
	int exit_code;
	/* GitLab's failure_reason: NULL on success and cancel, else
	 * "script_failure", "job_execution_timeout" or
	 * "runner_system_failure". */
	const char *failure_reason;
	/* The text after "Job failed: " in the trace ("exit status 3",
	 * "canceled", "execution took longer than 1h0m0s seconds", or the
	 * system failure's message); NULL on success. */
	const char *message;
	uint64_t trace_bytes;     /* size of the trace file written */
	bool trace_truncated;     /* the output went past trace_limit */
	double duration_ms;       /* from on_start to the end (0 if never run) */
	double checkout_ms;       /* of that: the checkout (0 if not reached) */
	double script_ms;         /* of that: the step_script step (0 if not run) */
};

/* One CI/CD variable. key must be a non-empty name without '=' (SO_EINVALID
 * otherwise); value may hold any bytes except NUL (newlines, quotes, $(),
 * backticks reach the job unchanged). "KEY=VALUE" must fit in
 * EXEC_VAR_MAX bytes, Linux's limit for one environment string
 * (SO_ETOOBIG otherwise). Masked values are replaced by "[MASKED]" in the
 * job's output. */
#define EXEC_VAR_MAX 131072
struct exec_var {
	const char *key;
	const char *value;
	bool masked;
};

/* A job to run. Everything is borrowed for the duration of
 * exec_pool_submit(), which copies what it keeps. */
struct exec_job_spec {
	int64_t job_id;            /* > 0; unique among queued/running jobs */
	const char *job_name;      /* for logs; may be NULL */
	const char *repos_dir;     /* the bare repository is */
	int64_t project_id;        /*   <repos_dir>/<project_id>.git */
	const char *sha;           /* the commit, 40 hex digits */
	const char *ref;           /* shown in the trace; may be NULL */
	/* NULL-terminated command lists (YAML script lines, flattened). script
	 * needs at least one command; the others may be NULL or empty. */
	const char *const *before_script;
	const char *const *script;
	const char *const *after_script;
	/* Variables in precedence order (a later item of the same key wins),
	 * e.g. ci_plan_job_variables()'s list. May be NULL when n_vars is 0. */
	const struct exec_var *vars;
	size_t n_vars;
	unsigned timeout_s;        /* whole job; 0 = 3600 */
	const char *trace_path;    /* created or truncated, mode 0640 */
};

struct exec_pool_options {
	unsigned max_concurrent;   /* jobs running at once; 0 = 1 */
	/* Niceness (0-19) of the executor's threads, and so of everything
	 * they start (checkouts, supervisors, the job's processes): jobs
	 * yield the CPUs to the HTTP threads. 0 leaves the priority alone. */
	unsigned nice;
	size_t max_queued;         /* submit fails SO_EBUSY past it; 0 = 1000 */
	/* Root of the checkouts (<builds_dir>/<job_id>, and a private
	 * <builds_dir>/<job_id>.tmp for the scripts and HOME); created 0755 if
	 * missing. Must be absolute. At start, entries named like these (left
	 * by a server that was killed) are removed; keep nothing else there
	 * with such names. When the server runs as root, every
	 * directory above it must be traversable by run_as. */
	const char *builds_dir;
	/* When the server runs as root: the user jobs run as. NULL means
	 * "slashops-job", and, if that user does not exist, "nobody" (with a
	 * warning in the log). A user given explicitly must exist. Ignored
	 * (jobs run as the server's user) when not root. */
	const char *run_as;
	const char *bash_path;     /* NULL = "/bin/bash" */
	const char *runner_name;   /* trace "  on <name>"; NULL = host name */
	const char *version;       /* "Running with slashops <version>";
	                              NULL = the build's version */
	uint64_t trace_limit;      /* bytes of trace; 0 = 100 MiB. Past it the
	                              runner's "Job's log exceeded limit"
	                              message is written, the job continues
	                              and its further output is discarded */
	unsigned kill_grace_ms;    /* SIGTERM -> SIGKILL delay; 0 = 5000 */
	unsigned after_script_timeout_s; /* 0 = 300 (GitLab Runner's 5 min) */
	bool keep_builds;          /* keep <builds_dir>/<job_id> after the job */
	/* The program started as "<it> exec-supervisor ..." for each step: a
	 * binary linking this executor (supervisor.c answers that command
	 * before main()). NULL = slashops-exec-supervisor in the directory of
	 * this process's binary (/proc/self/exe, resolved at start; it links
	 * only libc, so it starts faster), else that binary itself. */
	const char *supervisor_path;
	/* Called when a job leaves the queue and starts (may be NULL). */
	void (*on_start)(void *cls, int64_t job_id);
	/* Called exactly once per accepted job, when it has ended and every
	 * process of it has been reaped. Required. */
	void (*on_done)(void *cls, int64_t job_id, const struct exec_result *r);
	void *cls;
};

struct exec_pool;

/* Starts the worker threads. Options are copied. SO_EINVALID for bad
 * options, SO_ENOTFOUND when an explicit run_as user does not exist,
 * SO_EFAIL when builds_dir cannot be created or the kernel lacks what
 * the supervisor needs (/proc/<pid>/task/<tid>/children). *out is the
 * caller's, released with exec_pool_stop(). */
int exec_pool_start(struct exec_pool **out, const struct exec_pool_options *o);

/* Queues a job (it starts at once when a slot is free). Copies the spec.
 * SO_EINVALID for a bad spec, SO_ETOOBIG for a variable over
 * EXEC_VAR_MAX, SO_EEXISTS when job_id is queued or
 * running, SO_EBUSY when the queue is full, SO_ECONFLICT while stopping.
 * After 0, on_done() will be called exactly once for this job. */
int exec_pool_submit(struct exec_pool *p, const struct exec_job_spec *spec);

/* Cancels a job. Queued: removed, and on_done(EXEC_CANCELED) is called
 * before this returns. Running: the script's processes get SIGTERM, then
 * SIGKILL after kill_grace_ms; after_script still runs (CI_JOB_STATUS=
 * canceled) unless the job is canceled a second time, which kills that
 * too. Returns at once; on_done() follows from the worker.
 * SO_ENOTFOUND when the job is neither queued nor running. */
int exec_pool_cancel(struct exec_pool *p, int64_t job_id);

size_t exec_pool_running(struct exec_pool *p);  /* jobs running now */
size_t exec_pool_queued(struct exec_pool *p);   /* jobs waiting */

/* Cancels every job (queued ones are reported canceled at once, running
 * ones are killed without after_script), waits for the workers, frees the
 * pool. Accepts NULL. */
void exec_pool_stop(struct exec_pool *p);

/* The trace's final line for a result, as the runner writes it
 * ("\033[32;1mJob succeeded\033[0;m\n" ...). Caller frees. */
char *exec_result_final_line(const struct exec_result *r);

/* "1h0m0s": a duration in Go's time.Duration format, as the runner prints
 * its timeout. out needs 32 bytes. */
void exec_go_duration(unsigned seconds, char *out, size_t size);

#endif
