/* Unit tests for exec/executor: a real bare repository filled with the git
 * CLI, real bash jobs, and checks on what is observable from outside: the
 * trace file's bytes, the result, the processes left on the machine
 * (scanning /proc), the test process's memory, the files a job could or
 * could not touch. When the tests run as root, jobs run as "nobody". */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/executor.h"
#include "git/repo.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

static char root[64];
static char *repos, *builds, *traces, *outdir;
static char sha1[41], sha2[41];
static char mark[64];

/* ---- helpers ---- */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	struct buf b = BUF_INIT(0);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	cr_assert_eq(system(buf_cstr(&b)), 0, "command failed: %s", buf_cstr(&b));
	buf_dispose(&b);
}

static void capture(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");

	cr_assert_not_null(f);
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	pclose(f);
	out[strcspn(out, "\n")] = '\0';
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(0);
	char chunk[65536];
	size_t n;

	if (!f)
		return xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_detach(&b);
}

static char *trace_path(int64_t id)
{
	return xasprintf("%s/%lld.log", traces, (long long)id);
}

static char *trace_of(int64_t id)
{
	char *p = trace_path(id), *t = slurp(p, NULL);

	free(p);
	return t;
}

/* Asserts the patterns occur in t in this order (NULL-terminated). */
static void assert_in_order(const char *t, ...)
{
	va_list ap;
	const char *pat, *at = t;

	va_start(ap, t);
	while ((pat = va_arg(ap, const char *))) {
		const char *f = strstr(at, pat);

		cr_assert_not_null(f, "missing (in order): [%s]\ntrace:\n%s", pat, t);
		at = f + strlen(pat);
	}
	va_end(ap);
}

static bool ends_with(const char *t, const char *suffix)
{
	size_t a = strlen(t), b = strlen(suffix);

	return a >= b && !memcmp(t + a - b, suffix, b);
}

/* Processes whose command line contains the marker. */
static int count_marked(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[4096];
		int fd;
		ssize_t k;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		for (ssize_t i = 0; i < k; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[k] = '\0';
		if (strstr(buf, mark))
			n++;
	}
	closedir(d);
	return n;
}

/* Children of this (test) process, over all its threads: zombies count. */
static int count_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], *c;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		c = slurp(path, NULL);
		for (char *s = c; *s; s++)
			if (*s == ' ')
				n++;
		free(c);
	}
	closedir(d);
	return n;
}

static long rss_kb(void)
{
	char *s = slurp("/proc/self/status", NULL), *p = strstr(s, "VmRSS:");
	long v = p ? strtol(p + 6, NULL, 10) : -1;

	free(s);
	return v;
}

/* ---- results from the callbacks ---- */

#define MAX_JOBS 32

struct rec {
	bool started, done;
	struct exec_result r;
	char message[512];
	char reason[64];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct rec recs[MAX_JOBS];
static int64_t start_order[MAX_JOBS];
static int n_started;

static void on_start(void *cls, int64_t id)
{
	(void)cls;
	cr_assert(id > 0 && id < MAX_JOBS);
	pthread_mutex_lock(&mu);
	recs[id].started = true;
	start_order[n_started++] = id;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_done(void *cls, int64_t id, const struct exec_result *r)
{
	(void)cls;
	cr_assert(id > 0 && id < MAX_JOBS);
	pthread_mutex_lock(&mu);
	cr_assert(!recs[id].done, "job %lld reported twice", (long long)id);
	recs[id].done = true;
	recs[id].r = *r;
	snprintf(recs[id].message, sizeof(recs[id].message), "%s", r->message ? r->message : "");
	snprintf(recs[id].reason, sizeof(recs[id].reason), "%s",
		 r->failure_reason ? r->failure_reason : "");
	recs[id].r.message = NULL;
	recs[id].r.failure_reason = NULL;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static struct rec *wait_done(int64_t id, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&mu);
	while (!recs[id].done)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&mu);
	cr_assert(recs[id].done, "job %lld did not finish in %d s", (long long)id, seconds);
	return &recs[id];
}

static void wait_started(int64_t id)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (!recs[id].started)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&mu);
	cr_assert(recs[id].started);
}

/* Waits until the job's trace contains s. */
static void wait_trace(int64_t id, const char *s)
{
	for (int i = 0; i < 3000; i++) {
		char *t = trace_of(id);
		bool found = strstr(t, s) != NULL;

		free(t);
		if (found)
			return;
		usleep(10000);
	}
	cr_assert_fail("trace of job %lld never showed [%s]", (long long)id, s);
}

/* ---- fixture ---- */

static struct exec_pool *pool;

static void setup(void)
{
	strcpy(root, "/tmp/exec-test-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	cr_assert_eq(chmod(root, 0755), 0);  /* the job user must reach builds */
	repos = xasprintf("%s/repos", root);
	builds = xasprintf("%s/builds", root);
	traces = xasprintf("%s/traces", root);
	outdir = xasprintf("%s/out", root);
	cr_assert_eq(mkdir(repos, 0700), 0);
	cr_assert_eq(mkdir(traces, 0700), 0);
	cr_assert_eq(mkdir(outdir, 0777), 0);
	cr_assert_eq(chmod(outdir, 0777), 0);
	snprintf(mark, sizeof(mark), "exec-marker-%d-%ld", getpid(), random() % 1000000);
	setenv("HOME", root, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	setenv("EXEC_TEST_LEAK", "leaked", 1);
	cr_assert_eq(gitrepo_init(), 0);
	cr_assert_eq(gitrepo_create(repos, 1, NULL), 0, "%s", error_msg());
	/* main: first commit a.txt=v1, second a.txt=v2 and b.txt */
	run("cd '%s' && git init -q -b main work && cd work && printf 'v1\\n' > a.txt && "
	    "git add . && git commit -qm first && printf 'v2\\n' > a.txt && "
	    "printf 'b\\n' > b.txt && git add . && git commit -qm second && "
	    "git push -q 'file://%s/1.git' main 2>/dev/null", root, repos);
	{
		char *c1 = xasprintf("git -C '%s/work' rev-parse HEAD~1", root);
		char *c2 = xasprintf("git -C '%s/work' rev-parse HEAD", root);

		capture(c1, sha1, sizeof(sha1));
		capture(c2, sha2, sizeof(sha2));
		free(c1);
		free(c2);
	}
	cr_assert_eq(strlen(sha1), 40);
	memset(recs, 0, sizeof(recs));
	n_started = 0;
	pool = NULL;
}

static void teardown(void)
{
	exec_pool_stop(pool);
	pool = NULL;
	run("rm -rf '%s'", root);
	free(repos);
	free(builds);
	free(traces);
	free(outdir);
	gitrepo_shutdown();
}

static void start_pool(unsigned max, uint64_t trace_limit)
{
	struct exec_pool_options o = {
		.max_concurrent = max,
		.builds_dir = builds,
		.run_as = geteuid() == 0 ? "nobody" : NULL,
		.runner_name = "test-box",
		.version = "9.9.9",
		.trace_limit = trace_limit,
		.kill_grace_ms = 300,
		.on_start = on_start,
		.on_done = on_done,
	};

	cr_assert_eq(exec_pool_start(&pool, &o), 0, "%s", error_msg());
}

static struct exec_job_spec spec(int64_t id, const char *const *script)
{
	static char *paths[MAX_JOBS];

	free(paths[id]);
	paths[id] = trace_path(id);
	return (struct exec_job_spec){
		.job_id = id, .job_name = "test", .repos_dir = repos, .project_id = 1,
		.sha = sha2, .ref = "main", .script = script, .trace_path = paths[id],
	};
}

static void submit(const struct exec_job_spec *s)
{
	cr_assert_eq(exec_pool_submit(pool, s), 0, "%s", error_msg());
}

TestSuite(exec, .init = setup, .fini = teardown, .timeout = 240);

/* ---- tests ---- */

Test(exec, go_duration)
{
	char d[32];

	exec_go_duration(1, d, sizeof(d));
	cr_assert_str_eq(d, "1s");
	exec_go_duration(90, d, sizeof(d));
	cr_assert_str_eq(d, "1m30s");
	exec_go_duration(3600, d, sizeof(d));
	cr_assert_str_eq(d, "1h0m0s");
}

Test(exec, hello_world)
{
	const char *script[] = { "echo \"Hello World\"", NULL };
	struct exec_job_spec s = spec(1, script);
	struct rec *r;
	char *t, *dir;
	struct stat st;

	start_pool(1, 0);
	submit(&s);
	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s\n%s", r->message, t);
	cr_assert_eq(r->r.exit_code, 0);
	cr_assert_str_eq(r->reason, "");
	assert_in_order(t,
		"\033[0KRunning with slashops 9.9.9\033[0;m\n",
		"\033[0K  on test-box\033[0;m\n",
		"section_start:", ":prepare_executor\r\033[0K\033[0K\033[36;1mPreparing the \"shell\" executor\033[0;m\033[0;m\n",
		"\033[0KUsing Shell (bash) executor...\033[0;m\n",
		"section_end:", ":prepare_executor\r\033[0K",
		":prepare_script\r\033[0K", "Running on test-box...\n",
		":get_sources\r\033[0K", "Getting source from Git repository",
		"Checking out ", " as detached HEAD (ref is main)...",
		":step_script\r\033[0K", "Executing \"step_script\" stage of the job script",
		"\033[32;1m$ echo \"Hello World\"",
		"\033[0;m\nHello World\n",
		"section_end:", ":step_script\r\033[0K",
		"section_start:", ":cleanup_file_variables\r\033[0K",
		"section_end:", ":cleanup_file_variables\r\033[0K",
		NULL);
	cr_assert(ends_with(t, "\r\033[0K\033[32;1mJob succeeded\033[0;m\n"), "%s", t);
	cr_assert_null(strstr(t, "after_script"));
	cr_assert_eq((uint64_t)strlen(t), r->r.trace_bytes);
	/* the private directory is gone before the result is reported, the
	 * checkout right after it */
	dir = xasprintf("%s/1.tmp", builds);
	cr_assert_neq(stat(dir, &st), 0);
	free(dir);
	dir = xasprintf("%s/1", builds);
	for (int i = 0; i < 500 && stat(dir, &st) == 0; i++)
		usleep(10000);
	cr_assert_neq(stat(dir, &st), 0, "the checkout is removed after the job");
	free(dir);
	cr_assert_eq(count_children(), 0);
	free(t);
}

Test(exec, errexit_pipefail_and_shell_state)
{
	const char *s1[] = { "echo one", "exit 3", "echo never-printed", NULL };
	const char *s2[] = { "false | true", "echo after-pipe", NULL };
	const char *before[] = { "export XVAR=from-before", "cd /", NULL };
	const char *s3[] = { "echo \"x=$XVAR pwd=$(pwd)\"", "echo a\necho b", NULL };
	struct exec_job_spec j1 = spec(1, s1), j2 = spec(2, s2), j3 = spec(3, s3);
	struct rec *r;
	char *t;

	j3.before_script = before;
	start_pool(1, 0);
	submit(&j1);
	submit(&j2);
	submit(&j3);

	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_FAILED);
	cr_assert_eq(r->r.exit_code, 3);
	cr_assert_str_eq(r->reason, "script_failure");
	cr_assert_str_eq(r->message, "exit status 3");
	assert_in_order(t, "$ echo one", "\none\n", "$ exit 3", NULL);
	cr_assert_null(strstr(t, "never-printed"), "%s", t);
	cr_assert(ends_with(t, "\033[31;1mERROR: Job failed: exit status 3\033[0;m\n"), "%s", t);
	free(t);

	r = wait_done(2, 60);
	t = trace_of(2);
	cr_assert_eq(r->r.status, EXEC_FAILED, "%s", t);
	cr_assert_eq(r->r.exit_code, 1);
	cr_assert_null(strstr(t, "after-pipe"), "%s", t);
	free(t);

	r = wait_done(3, 60);
	t = trace_of(3);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", t);
	assert_in_order(t, "$ export XVAR=from-before", "$ cd /", "\nx=from-before pwd=/\n",
			"\033[32;1m$ echo a # collapsed multi-line command\033[0;m\na\nb\n",
			NULL);
	free(t);
}

Test(exec, after_script_new_shell_and_status)
{
	const char *s1[] = { "export FOO=bar", "echo \"in-script status=$CI_JOB_STATUS\"",
			     "false", NULL };
	const char *a1[] = {
		"echo \"after status=$CI_JOB_STATUS foo=[${FOO:-}] "
		"dir-ok=$([ \"$(pwd)\" = \"$CI_PROJECT_DIR\" ] && echo yes)\"",
		"exit 7", NULL };
	const char *s2[] = { "true", NULL };
	const char *a2[] = { "echo \"after status=$CI_JOB_STATUS\"", "false", NULL };
	struct exec_job_spec j1 = spec(1, s1), j2 = spec(2, s2);
	struct rec *r;
	char *t;

	j1.after_script = a1;
	j2.after_script = a2;
	start_pool(2, 0);
	submit(&j1);
	submit(&j2);

	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_FAILED, "%s", t);
	cr_assert_eq(r->r.exit_code, 1);
	assert_in_order(t, "\nin-script status=running\n",
		":step_script\r\033[0K",   /* end of step_script */
		"section_start:", ":after_script\r\033[0K\033[0K\033[36;1mRunning after_script\033[0;m\033[0;m\n",
		"\033[32;1mRunning after script...\033[0;m\n",
		"\nafter status=failed foo=[] dir-ok=yes\n",
		"\033[0;33mWARNING: after_script failed, but job will continue unaffected: exit status 7\033[0;m\n",
		"section_end:", ":after_script\r\033[0K",
		":cleanup_file_variables", NULL);
	cr_assert(ends_with(t, "ERROR: Job failed: exit status 1\033[0;m\n"), "%s", t);
	free(t);

	r = wait_done(2, 60);
	t = trace_of(2);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", t);
	assert_in_order(t, "\nafter status=success\n", "WARNING: after_script failed", NULL);
	cr_assert(ends_with(t, "Job succeeded\033[0;m\n"), "%s", t);
	free(t);
}

static char *hex(const char *s)
{
	struct buf b = BUF_INIT(0);

	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		buf_printf(&b, "%02x", *c);
	return buf_detach(&b);
}

Test(exec, variables_arrive_byte_exact_and_never_run)
{
	char *pwned = xasprintf("/tmp/pwned-%s", mark), *input, *want, *line, *t;
	const char *script[] = {
		"echo \"HEX:$(printf '%s' \"$CHAT_INPUT\" | od -An -tx1 -v | tr -d ' \\n')\"",
		"echo \"dup=$DUP leak=[${EXEC_TEST_LEAK:-}] builds=$CI_BUILDS_DIR project=$CI_PROJECT_DIR\"",
		"echo \"token is $SECRET_TOKEN\"",
		"for i in $(seq 1 20000); do printf 'xx%s' \"$SECRET_TOKEN\"; done; echo",
		NULL };
	struct exec_var vars[] = {
		{ "CHAT_INPUT", NULL, false },
		{ "DUP", "first", false },
		{ "DUP", "second", false },
		{ "SECRET_TOKEN", "s3cr3t-v4lue-9876", true },
	};
	struct exec_var bad[] = { { "A=B", "x", false } };
	struct exec_job_spec s = spec(1, script);
	struct stat st;
	struct rec *r;
	size_t n_masked = 0;

	input = xasprintf("it's \"quoted\" $(touch %s) `touch %s-b` ${HOME} $HOME \\ \\n\n"
			  "second line\ttab ünïcödé ✓ 🚀 '; touch %s-c #\n\n", pwned, pwned, pwned);
	vars[0].value = input;
	s.vars = vars;
	s.n_vars = 4;
	start_pool(1, 0);
	submit(&s);
	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", t);
	want = hex(input);
	line = xasprintf("\nHEX:%s\n", want);
	cr_assert_not_null(strstr(t, line), "want %s\n%s", want, t);
	cr_assert_neq(stat(pwned, &st), 0, "the input was executed");
	free(line);
	line = xasprintf("%s-b", pwned);
	cr_assert_neq(stat(line, &st), 0, "the input was executed");
	free(line);
	line = xasprintf("%s-c", pwned);
	cr_assert_neq(stat(line, &st), 0, "the input was executed");
	free(line);
	line = xasprintf("\ndup=second leak=[] builds=%s project=%s/1\n", builds, builds);
	cr_assert_not_null(strstr(t, line), "%s", t);
	free(line);
	/* masked: also across the 64 KiB read boundaries */
	cr_assert_not_null(strstr(t, "\ntoken is [MASKED]\n"));
	cr_assert_null(strstr(t, "s3cr3t-v4lue-9876"));
	for (const char *p = t; (p = strstr(p, "xx[MASKED]")); p++)
		n_masked++;
	cr_assert_eq(n_masked, 20000);

	s = spec(2, script);
	s.vars = bad;
	s.n_vars = 1;
	cr_assert_eq(exec_pool_submit(pool, &s), SO_EINVALID);
	{
		char *big = xmalloc(EXEC_VAR_MAX);

		memset(big, 'x', EXEC_VAR_MAX - 1);
		big[EXEC_VAR_MAX - 1] = '\0';
		bad[0] = (struct exec_var){ "BIG", big, false };
		cr_assert_eq(exec_pool_submit(pool, &s), SO_ETOOBIG);
		big[EXEC_VAR_MAX - 6] = '\0';   /* "BIG=" + value + NUL fits */
		cr_assert_eq(exec_pool_submit(pool, &s), 0, "%s", error_msg());
		cr_assert_eq(wait_done(2, 60)->r.status, EXEC_SUCCESS, "%s", recs[2].message);
		free(big);
	}
	s = spec(3, script);
	s.sha = "main";
	cr_assert_eq(exec_pool_submit(pool, &s), SO_EINVALID);
	free(t);
	free(want);
	free(input);
	free(pwned);
}

static char *mark_var;

static const char *marked_script[] = {
	"(exec -a \"$MARK\" sleep 1000) &",
	"setsid bash -c 'exec -a \"$MARK\" sleep 1000' &",
	"( setsid bash -c '(exec -a \"$MARK\" sleep 1000) &' & )",
	"bash -c 'trap \"\" TERM; exec -a \"$MARK\" sleep 1000' &",
	"echo all-started",
	"(exec -a \"$MARK\" sleep 1000)",
	NULL };

static struct exec_var mark_vars[1];

static struct exec_job_spec marked_spec(int64_t id)
{
	struct exec_job_spec s = spec(id, marked_script);

	mark_vars[0] = (struct exec_var){ "MARK", mark, false };
	s.vars = mark_vars;
	s.n_vars = 1;
	return s;
}

Test(exec, timeout_kills_the_whole_tree)
{
	struct exec_job_spec s = marked_spec(1);
	double t0 = clock_mono_ms();
	struct rec *r;
	char *t;

	(void)mark_var;
	s.timeout_s = 2;
	start_pool(1, 0);
	submit(&s);
	wait_trace(1, "\nall-started\n");
	usleep(200000);
	cr_assert_geq(count_marked(), 5, "the job's processes should be running");
	r = wait_done(1, 30);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_TIMED_OUT, "%s", t);
	cr_assert_str_eq(r->reason, "job_execution_timeout");
	cr_assert_str_eq(r->message, "execution took longer than 2s seconds");
	cr_assert(ends_with(t, "\033[31;1mERROR: Job failed: execution took longer than 2s seconds"
			    "\033[0;m\n"), "%s", t);
	cr_assert_lt(clock_mono_ms() - t0, 10000);
	cr_assert_eq(count_marked(), 0, "processes of the job survived");
	cr_assert_eq(count_children(), 0, "a zombie or a child is left");
	free(t);
}

Test(exec, background_processes_die_when_the_script_ends)
{
	const char *script[] = {
		"(exec -a \"$MARK\" sleep 1000) &",
		"( setsid bash -c '(exec -a \"$MARK\" sleep 1000) &' & )",
		"echo done-here", NULL };
	struct exec_job_spec s = spec(1, script);
	double t0 = clock_mono_ms();
	struct rec *r;

	mark_vars[0] = (struct exec_var){ "MARK", mark, false };
	s.vars = mark_vars;
	s.n_vars = 1;
	start_pool(1, 0);
	submit(&s);
	r = wait_done(1, 30);
	cr_assert_eq(r->r.status, EXEC_SUCCESS);
	cr_assert_lt(clock_mono_ms() - t0, 5000);
	cr_assert_eq(count_marked(), 0);
	cr_assert_eq(count_children(), 0);
}

Test(exec, cancel_running_runs_after_script)
{
	struct exec_job_spec s = marked_spec(1);
	const char *after[] = { "echo \"after status=$CI_JOB_STATUS\"", NULL };
	struct rec *r;
	char *t;

	s.after_script = after;
	start_pool(1, 0);
	submit(&s);
	wait_trace(1, "\nall-started\n");
	cr_assert_eq(exec_pool_running(pool), 1);
	cr_assert_eq(exec_pool_cancel(pool, 1), 0);
	r = wait_done(1, 30);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_CANCELED, "%s", t);
	cr_assert_eq(r->r.exit_code, -1);
	cr_assert_str_eq(r->message, "canceled");
	cr_assert_str_eq(r->reason, "");
	assert_in_order(t, ":step_script\r\033[0K", "\nafter status=canceled\n", NULL);
	cr_assert(ends_with(t, "\033[31;1mERROR: Job failed: canceled\033[0;m\n"), "%s", t);
	cr_assert_eq(count_marked(), 0);
	cr_assert_eq(count_children(), 0);
	cr_assert_eq(exec_pool_running(pool), 0);
	cr_assert_eq(exec_pool_cancel(pool, 1), SO_ENOTFOUND);
	free(t);
}

Test(exec, cancel_queued)
{
	struct exec_job_spec a = marked_spec(1);
	char *cmd = xasprintf("touch '%s/b-ran'", outdir), *flag = xasprintf("%s/b-ran", outdir);
	const char *bs[] = { cmd, NULL };
	struct exec_job_spec b = spec(2, bs);
	struct stat st;

	start_pool(1, 0);
	submit(&a);
	wait_started(1);
	submit(&b);
	cr_assert_eq(exec_pool_queued(pool), 1);
	cr_assert_eq(exec_pool_submit(pool, &b), SO_EEXISTS);
	cr_assert_eq(exec_pool_cancel(pool, 2), 0);
	/* reported before exec_pool_cancel returned */
	cr_assert(recs[2].done);
	cr_assert_eq(recs[2].r.status, EXEC_CANCELED);
	cr_assert(!recs[2].started);
	cr_assert_eq(exec_pool_queued(pool), 0);
	cr_assert_eq(exec_pool_cancel(pool, 1), 0);
	cr_assert_eq(wait_done(1, 30)->r.status, EXEC_CANCELED);
	cr_assert_neq(stat(flag, &st), 0, "the canceled job ran");
	cr_assert_eq(exec_pool_cancel(pool, 99), SO_ENOTFOUND);
	free(cmd);
	free(flag);
}

Test(exec, concurrency_limit_and_fifo)
{
	char *run_dir = xasprintf("%s/running", outdir), *counts = xasprintf("%s/counts", outdir);
	const char *script[] = {
		"d=\"$OUT/running\"; : > \"$d/$CI_JOB_ID\"",
		"ls \"$d\" | wc -l >> \"$OUT/counts\"",
		"sleep 0.6",
		"ls \"$d\" | wc -l >> \"$OUT/counts\"",
		"rm \"$d/$CI_JOB_ID\"", NULL };
	struct exec_var vars[4][2];
	char ids[4][8];
	size_t max_running = 0;
	int max_count = 0;
	char *c, *line;

	cr_assert_eq(mkdir(run_dir, 0777), 0);
	cr_assert_eq(chmod(run_dir, 0777), 0);
	start_pool(2, 0);
	for (int i = 0; i < 4; i++) {
		struct exec_job_spec s = spec(i + 1, script);

		snprintf(ids[i], sizeof(ids[i]), "%d", i + 1);
		vars[i][0] = (struct exec_var){ "OUT", outdir, false };
		vars[i][1] = (struct exec_var){ "CI_JOB_ID", ids[i], false };
		s.vars = vars[i];
		s.n_vars = 2;
		submit(&s);
	}
	for (;;) {
		size_t n = exec_pool_running(pool);
		bool all = true;

		if (n > max_running)
			max_running = n;
		pthread_mutex_lock(&mu);
		for (int i = 1; i <= 4; i++)
			all = all && recs[i].done;
		pthread_mutex_unlock(&mu);
		if (all)
			break;
		usleep(5000);
	}
	for (int i = 1; i <= 4; i++)
		cr_assert_eq(recs[i].r.status, EXEC_SUCCESS, "job %d: %s", i, recs[i].message);
	cr_assert_eq(max_running, 2);
	c = slurp(counts, NULL);
	for (char *s = strtok_r(c, "\n", &line); s; s = strtok_r(NULL, "\n", &line))
		if (atoi(s) > max_count)
			max_count = atoi(s);
	cr_assert_eq(max_count, 2, "at most 2 jobs at once, and 2 did run together");
	cr_assert_eq(n_started, 4);
	/* FIFO with two slots: 1 and 2 start first, then 3 and 4. (Which of
	 * 3 and 4 reports first is a race between two worker threads.) */
	cr_assert((start_order[0] == 1 && start_order[1] == 2) ||
		  (start_order[0] == 2 && start_order[1] == 1), "FIFO: 1 and 2 first");
	cr_assert((start_order[2] == 3 && start_order[3] == 4) ||
		  (start_order[2] == 4 && start_order[3] == 3), "FIFO: then 3 and 4");
	free(c);
	free(run_dir);
	free(counts);
}

Test(exec, huge_output_streams_with_flat_memory)
{
	const char *script[] = { "set +o pipefail; yes | head -c 200000000", NULL };
	struct exec_job_spec s = spec(1, script);
	long before, peak;
	struct stat st;
	struct rec *r;
	char *path = trace_path(1);

	start_pool(1, 300u * 1024 * 1024);
	before = rss_kb();
	peak = before;
	submit(&s);
	while (!recs[1].done) {
		long now = rss_kb();

		if (now > peak)
			peak = now;
		usleep(10000);
	}
	r = wait_done(1, 5);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", r->message);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 200000000);
	cr_assert_eq((uint64_t)st.st_size, r->r.trace_bytes);
	cr_assert(!r->r.trace_truncated);
	cr_assert_lt(peak - before, 20 * 1024, "RSS grew by %ld kB", peak - before);
	free(path);
}

Test(exec, trace_limit)
{
	const char *script[] = { "set +o pipefail; yes | head -c 5000000", "echo after-limit",
				 NULL };
	struct exec_job_spec s = spec(1, script);
	struct rec *r;
	size_t len;
	char *path = trace_path(1), *t;

	start_pool(1, 1024 * 1024);
	submit(&s);
	r = wait_done(1, 60);
	t = slurp(path, &len);
	cr_assert_eq(r->r.status, EXEC_SUCCESS);
	cr_assert(r->r.trace_truncated);
	cr_assert_not_null(strstr(t, "\n\033[33;1mJob's log exceeded limit of 1048576 bytes.\n"
				  "Job execution will continue but no more output will be "
				  "collected.\033[0;m\n"));
	cr_assert_null(strstr(t, "\nafter-limit"));
	cr_assert(ends_with(t, "Job succeeded\033[0;m\n"));
	cr_assert_lt(len, 1024 * 1024 + 1024);
	free(t);
	free(path);
}

Test(exec, checkout_is_the_commit_not_the_branch)
{
	const char *script[] = { "cat a.txt", "test ! -e b.txt && echo no-b-here",
				 "echo \"head=$(git rev-parse HEAD)\"",
				 "echo \"dir=$CI_PROJECT_DIR pwd=$(pwd)\"",
				 "git fsck --no-dangling --no-progress && echo fsck-ok",
				 "git symbolic-ref -q HEAD || echo detached",
				 "test -z \"$(git status --porcelain)\" && echo clean",
				 "echo \"loose=$(find .git/objects -path '*/[0-9a-f][0-9a-f]/*' | wc -l)\"",
				 NULL };
	struct exec_job_spec s = spec(1, script), bad = spec(2, script);
	struct rec *r;
	char *t, *want;

	s.sha = sha1;
	bad.sha = "0123456789012345678901234567890123456789";
	start_pool(1, 0);
	submit(&s);
	submit(&bad);
	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", t);
	want = xasprintf("\nv1\n");
	assert_in_order(t, want, "\nno-b-here\n", NULL);
	free(want);
	want = xasprintf("\nhead=%s\n", sha1);
	cr_assert_not_null(strstr(t, want), "%s", t);
	free(want);
	want = xasprintf("\ndir=%s/1 pwd=%s/1\n", builds, builds);
	cr_assert_not_null(strstr(t, want), "%s", t);
	free(want);
	/* the pushed loose objects arrive as one pack, complete */
	cr_assert_not_null(strstr(t, "\nfsck-ok\n"), "%s", t);
	/* a detached HEAD, and an index that matches the files */
	cr_assert_not_null(strstr(t, "\ndetached\n"), "%s", t);
	cr_assert_not_null(strstr(t, "\nclean\n"), "%s", t);
	cr_assert_not_null(strstr(t, "\nloose=0\n"), "%s", t);
	free(t);

	r = wait_done(2, 60);
	t = trace_of(2);
	cr_assert_eq(r->r.status, EXEC_FAILED);
	cr_assert_str_eq(r->reason, "runner_system_failure");
	cr_assert(ends_with(t, "\033[31;1mERROR: Job failed (system failure): commit "
			    "0123456789012345678901234567890123456789 not found in the "
			    "repository\033[0;m\n"), "%s", t);
	cr_assert_null(strstr(t, "step_script"));
	free(t);
}

Test(exec, stop_cancels_everything)
{
	struct exec_job_spec a = marked_spec(1), b = marked_spec(2);
	const char *after[] = { "echo after-ran", NULL };
	double t0;
	char *t;

	a.after_script = after;
	start_pool(1, 0);
	submit(&a);
	submit(&b);
	wait_trace(1, "\nall-started\n");
	t0 = clock_mono_ms();
	exec_pool_stop(pool);
	pool = NULL;
	cr_assert_lt(clock_mono_ms() - t0, 3000);
	cr_assert(recs[1].done && recs[2].done);
	cr_assert_eq(recs[1].r.status, EXEC_CANCELED);
	cr_assert_eq(recs[2].r.status, EXEC_CANCELED);
	cr_assert(!recs[2].started);
	t = trace_of(1);
	cr_assert_null(strstr(t, "after-ran"));
	free(t);
	cr_assert_eq(count_marked(), 0);
	cr_assert_eq(count_children(), 0);
}

Test(exec, unprivileged_user)
{
	char *secret_dir = xasprintf("%s/data", root), *secret, *t, *want;
	struct exec_var vars[1];
	const char *script[] = {
		"id -u",
		"if cat \"$SECRET\"; then echo READ-OK; else echo READ-DENIED; fi",
		"echo \"whoami=$(id -un)\"",
		"touch \"$CI_PROJECT_DIR/new-file\" && echo can-write-checkout",
		NULL };
	struct exec_pool_options o = { .builds_dir = "/tmp", .run_as = "no-such-user-xyz",
				       .on_done = on_done };
	struct exec_job_spec s = spec(1, script);
	struct exec_pool *p2 = NULL;
	struct passwd *pw;
	struct rec *r;
	int fd;

	if (geteuid() != 0) {
		cr_skip_test("not running as root: jobs run as the server's user");
		return;
	}
	cr_assert_eq(exec_pool_start(&p2, &o), SO_ENOTFOUND);
	cr_assert_null(p2);
	pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	cr_assert_eq(mkdir(secret_dir, 0700), 0);
	secret = xasprintf("%s/secret.db", secret_dir);
	fd = open(secret, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "top-secret\n", 11), 11);
	close(fd);
	vars[0] = (struct exec_var){ "SECRET", secret, false };
	s.vars = vars;
	s.n_vars = 1;
	start_pool(1, 0);
	submit(&s);
	r = wait_done(1, 60);
	t = trace_of(1);
	cr_assert_eq(r->r.status, EXEC_SUCCESS, "%s", t);
	want = xasprintf("\n%u\n", (unsigned)pw->pw_uid);
	assert_in_order(t, "$ id -u", want, NULL);
	cr_assert_neq(pw->pw_uid, 0);
	cr_assert_not_null(strstr(t, "\nREAD-DENIED\n"), "%s", t);
	cr_assert_null(strstr(t, "top-secret"));
	cr_assert_null(strstr(t, "\nREAD-OK"));
	cr_assert_not_null(strstr(t, "\nwhoami=nobody\n"));
	cr_assert_not_null(strstr(t, "\ncan-write-checkout\n"));
	free(want);
	free(t);
	free(secret);
	free(secret_dir);
}

static void ignore_done(void *cls, int64_t id, const struct exec_result *r)
{
	(void)cls;
	(void)id;
	(void)r;
}

/* The server is killed with SIGKILL while a job runs: the supervisor sees
 * its control socket close and kills the job; nothing survives. */
Test(exec, server_killed_takes_the_job_down)
{
	struct exec_job_spec s = marked_spec(1);
	pid_t server;
	int st;

	server = fork();
	cr_assert_geq(server, 0);
	if (server == 0) {
		struct exec_pool_options o = {
			.builds_dir = builds, .run_as = geteuid() == 0 ? "nobody" : NULL,
			.kill_grace_ms = 300, .on_done = ignore_done,
		};
		struct exec_pool *p = NULL;

		if (exec_pool_start(&p, &o) < 0 || exec_pool_submit(p, &s) < 0)
			_exit(2);
		for (;;)
			pause();
	}
	wait_trace(1, "\nall-started\n");
	usleep(200000);
	cr_assert_geq(count_marked(), 5);
	cr_assert_eq(kill(server, SIGKILL), 0);
	cr_assert_eq(waitpid(server, &st, 0), server);
	for (int i = 0; i < 500 && count_marked() > 0; i++)
		usleep(10000);
	cr_assert_eq(count_marked(), 0, "the job outlived the server");
	/* the next start removes the killed job's checkout, nothing else */
	{
		char *dir = xasprintf("%s/1", builds), *other = xasprintf("%s/keep-me", builds);
		struct stat sb;

		cr_assert_eq(stat(dir, &sb), 0);
		cr_assert_eq(mkdir(other, 0700), 0);
		start_pool(1, 0);
		cr_assert_neq(stat(dir, &sb), 0);
		cr_assert_eq(stat(other, &sb), 0);
		free(dir);
		free(other);
	}
}
