/*
 * The kill -9 durability tests: a store write that returned 0 must survive
 * the process being killed at any moment.
 *
 * Design: each round forks a child that opens the store on a file and
 * loops over writes; after every call that returned 0 it writes a record
 * {kind, a, b} to a pipe (one write(2) of 24 bytes, atomic on a pipe). The
 * parent reads those acknowledgements, SIGKILLs the child after a random
 * 5-100 ms (so the kill lands during opening, migrations, a transaction or
 * an fsync), then drains the pipe. Twenty rounds run on the same database
 * file, each child recovering whatever the previous one left. Finally the
 * parent opens the store, runs the integrity check and looks up every
 * acknowledged row. If the store acknowledged a write before it was
 * durable (or a torn write corrupted the file), a row is missing or the
 * check fails.
 *
 * The first test creates users and tokens. The second drives the issue 5
 * tables: it creates one-job pipelines, moves each job pending -> running
 * -> success and enqueues a chat reply between the two, then checks every
 * acknowledged pipeline, transition and outbox row, and that
 * store_job_fail_running cleans up the jobs the kills left running.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_test.h"
#include "util/clock.h"

#define KILL_ROUNDS 20

enum ack_kind {
	ACK_USER = 1,     /* a: user id, b: token id (0: only the user) */
	ACK_PIPELINE,     /* a: pipeline id, b: its job id */
	ACK_RUNNING,      /* a: job id moved pending -> running */
	ACK_OUTBOX,       /* a: outbox id, b: its job id */
	ACK_SUCCESS,      /* a: job id moved running -> success */
};

struct ack {
	int64_t kind;
	int64_t a;
	int64_t b;
};

static void write_ack(int fd, enum ack_kind kind, int64_t a, int64_t b)
{
	struct ack x = { kind, a, b };
	ssize_t n;

	do
		n = write(fd, &x, sizeof(x));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(x))
		_exit(4);
}

/* The child: never returns. */
static void writer(const char *url, int round, int fd)
{
	struct store *st = NULL;
	struct store_user_new in = { 0 };
	struct store_token_new tok = { 0 };
	char name[64], email[96], hash[64];
	int64_t uid, tid;

	if (store_open(&st, url) < 0)
		_exit(2);
	for (int i = 0;; i++) {
		snprintf(name, sizeof(name), "k%d-%d", round, i);
		snprintf(email, sizeof(email), "%s@example.com", name);
		snprintf(hash, sizeof(hash), "h%d-%d", round, i);
		in.username = name;
		in.email = email;
		in.name = name;
		if (store_user_create(st, &in, &uid) < 0)
			_exit(3);
		write_ack(fd, ACK_USER, uid, 0);
		tok.user_id = uid;
		tok.name = "kill";
		tok.scopes = "api";
		tok.token_hash = hash;
		if (store_token_create(st, &tok, &tid) < 0)
			_exit(3);
		write_ack(fd, ACK_USER, uid, tid);
	}
}

struct acks {
	struct ack *v;
	size_t n, cap;
	unsigned char part[sizeof(struct ack)];
	size_t part_len;
};

static void take_bytes(struct acks *a, const unsigned char *p, size_t len)
{
	while (len > 0) {
		size_t k = sizeof(a->part) - a->part_len;

		if (k > len)
			k = len;
		memcpy(a->part + a->part_len, p, k);
		a->part_len += k;
		p += k;
		len -= k;
		if (a->part_len == sizeof(a->part)) {
			if (a->n == a->cap) {
				a->cap = a->cap ? a->cap * 2 : 256;
				a->v = realloc(a->v, a->cap * sizeof(*a->v));
				cr_assert_not_null(a->v);
			}
			memcpy(&a->v[a->n++], a->part, sizeof(a->part));
			a->part_len = 0;
		}
	}
}

/* Reads from fd until the deadline (or EOF when deadline_ms < 0). */
static void pump(struct acks *a, int fd, double deadline_ms)
{
	unsigned char buf[4096];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int wait_ms, r;

	for (;;) {
		if (deadline_ms >= 0) {
			wait_ms = (int)(deadline_ms - clock_mono_ms());
			if (wait_ms <= 0)
				return;
		} else {
			wait_ms = 10000;
		}
		r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		cr_assert_geq(r, 0);
		if (r == 0) {
			cr_assert_geq(deadline_ms, 0, "no EOF from a dead child");
			return;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_geq(n, 0);
		if (n == 0)
			return;
		take_bytes(a, buf, (size_t)n);
	}
}

/* Runs KILL_ROUNDS rounds of fork, write (child), SIGKILL after a random
 * 5..max_delay_ms delay, collecting every acknowledgement into acks. */
static void kill_rounds(const struct tmpdb *t, struct acks *acks,
			void (*child)(const char *url, int round, int fd), int max_delay_ms)
{
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int fds[2], status = 0;
		double delay = 5 + rand() % (max_delay_ms - 4);
		pid_t pid;

		cr_assert_eq(pipe(fds), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child(t->url, round, fds[1]);
			_exit(0);
		}
		close(fds[1]);
		pump(acks, fds[0], clock_mono_ms() + delay);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		/* acknowledgements written before the kill are still in the pipe */
		pump(acks, fds[0], -1);
		close(fds[0]);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "round %d: the writer stopped by itself (status %d): a store call failed",
			  round, status);
		cr_assert_eq(acks->part_len, 0, "a torn acknowledgement");
	}
}

Test(durability, kill_9_loses_no_acknowledged_write, .timeout = 600)
{
	struct tmpdb t;
	struct acks acks = { 0 };
	struct store *st = NULL;
	unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
	size_t users = 0, tokens = 0, killed_rounds = KILL_ROUNDS;
	int64_t count = 0;

	tmpdb_init(&t);
	srand(seed);
	cr_log_info("kill -9 test: seed %u, database %s", seed, t.path);
	kill_rounds(&t, &acks, writer, 100);

	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_check(st), 0, "integrity: %s", error_msg());
	for (size_t i = 0; i < acks.n; i++) {
		struct store_user *u = NULL;
		struct store_token **list = NULL;
		bool found = false;

		cr_assert_eq(acks.v[i].kind, ACK_USER);

		cr_assert_eq(store_user_get(st, acks.v[i].a, &u), 0,
			     "acknowledged user %lld is missing (seed %u)",
			     (long long)acks.v[i].a, seed);
		cr_assert_eq(strncmp(u->username, "k", 1), 0);
		store_user_free(u);
		if (!acks.v[i].b) {
			users++;
			continue;
		}
		cr_assert_eq(store_token_list_for_user(st, acks.v[i].a, &list), 0);
		for (size_t j = 0; list[j]; j++)
			found |= list[j]->id == acks.v[i].b;
		store_token_list_free(list);
		cr_assert(found, "acknowledged token %lld is missing (seed %u)",
			  (long long)acks.v[i].b, seed);
		tokens++;
	}
	cr_assert_eq(store_user_count(st, &count), 0);
	cr_assert_geq(count, (int64_t)users);
	/* the test means something only if writes were acknowledged */
	cr_assert_gt(users, 10, "only %zu writes acknowledged", users);
	cr_assert_gt(tokens, 10);
	cr_log_info("kill -9 test: %zu rounds, %zu users and %zu tokens acknowledged, all present",
		    killed_rounds, users, tokens);
	store_close(st);
	free(acks.v);
	tmpdb_remove(&t);
}

/* The project the CI test's children write to (created before the
 * rounds, inherited through fork). */
static int64_t ci_project, ci_user;

/* The child of the CI test: pipelines, job transitions and outbox rows
 * until it is killed. Never returns. */
static void ci_writer(const char *url, int round, int fd)
{
	struct store *st = NULL;
	struct store_pipeline_new in = { 0 };
	struct store_job_new job = { 0 };
	struct store_outbox_new o = { 0 };
	char reply_url[96], payload[64];
	int64_t project = ci_project, pid, jid, oid;

	if (store_open(&st, url) < 0)
		_exit(2);
	in.project_id = project;
	in.source = "chat";
	in.ref = "main";
	in.sha = "abc";
	in.user_id = ci_user;
	job.name = "hello-world";
	job.stage = "chatops";
	job.status = STORE_CI_PENDING;
	o.kind = "mattermost_response";
	o.url = reply_url;
	o.payload = payload;
	o.project_id = project;
	for (int i = 0;; i++) {
		if (store_pipeline_create(st, &in, &job, 1, &pid, &jid) < 0)
			_exit(3);
		write_ack(fd, ACK_PIPELINE, pid, jid);
		if (store_job_transition(st, jid, STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL, 0) < 0)
			_exit(3);
		write_ack(fd, ACK_RUNNING, jid, 0);
		snprintf(reply_url, sizeof(reply_url), "http://mm.example/r/%d/%d", round, i);
		snprintf(payload, sizeof(payload), "{\"text\":\"%lld\"}", (long long)jid);
		o.job_id = jid;
		if (store_outbox_enqueue(st, &o, &oid) < 0)
			_exit(3);
		write_ack(fd, ACK_OUTBOX, oid, jid);
		if (store_job_transition(st, jid, STORE_CI_RUNNING, STORE_CI_SUCCESS, 0, NULL, 0) < 0)
			_exit(3);
		write_ack(fd, ACK_SUCCESS, jid, 0);
	}
}

Test(durability, kill_9_loses_no_acknowledged_ci_write, .timeout = 600)
{
	struct tmpdb t;
	struct acks acks = { 0 };
	struct store *st = NULL;
	struct store_job **running = NULL;
	unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 9);
	size_t counts[ACK_SUCCESS + 1] = { 0 }, n_failed = 0;
	int64_t *failed = NULL;

	tmpdb_init(&t);
	srand(seed);
	cr_log_info("kill -9 CI test: seed %u, database %s", seed, t.path);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	ci_user = mk_user(st, "ci");
	ci_project = mk_project(st, mk_namespace(st, "ci", "user", ci_user), ci_user, "app",
				STORE_VIS_PRIVATE);
	store_close(st);
	st = NULL;
	/* four fsyncing writes per loop: give each child a little longer */
	kill_rounds(&t, &acks, ci_writer, 200);

	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_check(st), 0, "integrity: %s", error_msg());
	for (size_t i = 0; i < acks.n; i++) {
		const struct ack *a = &acks.v[i];
		struct store_pipeline *p = NULL;
		struct store_job *j = NULL;
		struct store_outbox **list = NULL;
		bool found = false;
		char want[64];

		cr_assert(a->kind >= ACK_PIPELINE && a->kind <= ACK_SUCCESS);
		counts[a->kind]++;
		switch (a->kind) {
		case ACK_PIPELINE:
			cr_assert_eq(store_pipeline_get(st, a->a, &p), 0,
				     "acknowledged pipeline %lld is missing (seed %u)",
				     (long long)a->a, seed);
			cr_assert_eq(store_job_get(st, a->b, &j), 0,
				     "acknowledged job %lld is missing (seed %u)", (long long)a->b,
				     seed);
			cr_assert_eq(j->pipeline_id, p->id);
			break;
		case ACK_RUNNING:
			cr_assert_eq(store_job_get(st, a->a, &j), 0);
			cr_assert(j->status == STORE_CI_RUNNING || j->status == STORE_CI_SUCCESS,
				  "job %lld acknowledged running is %s (seed %u)", (long long)a->a,
				  store_ci_status_name(j->status), seed);
			cr_assert_not_null(j->started_at);
			break;
		case ACK_OUTBOX:
			cr_assert_eq(store_outbox_list_for_job(st, a->b, &list), 0);
			snprintf(want, sizeof(want), "{\"text\":\"%lld\"}", (long long)a->b);
			for (size_t k = 0; list[k]; k++) {
				if (list[k]->id == a->a) {
					found = true;
					cr_assert_str_eq(list[k]->payload, want);
					cr_assert_eq(list[k]->state, STORE_OUTBOX_PENDING);
				}
			}
			store_outbox_list_free(list);
			cr_assert(found, "acknowledged reply %lld is missing (seed %u)",
				  (long long)a->a, seed);
			break;
		case ACK_SUCCESS:
			cr_assert_eq(store_job_get(st, a->a, &j), 0);
			cr_assert_eq(j->status, STORE_CI_SUCCESS,
				     "job %lld acknowledged successful is %s (seed %u)",
				     (long long)a->a, store_ci_status_name(j->status), seed);
			cr_assert_eq(store_pipeline_get(st, j->pipeline_id, &p), 0);
			cr_assert_eq(p->status, STORE_CI_SUCCESS, "the pipeline in the same commit");
			break;
		}
		store_pipeline_free(p);
		store_job_free(j);
	}
	cr_assert_gt(counts[ACK_SUCCESS], 10, "only %zu jobs acknowledged successful",
		     counts[ACK_SUCCESS]);
	cr_assert_gt(counts[ACK_OUTBOX], 10);

	/* start-up after the crash: whatever the kills left running fails */
	cr_assert_eq(store_job_fail_running(st, "runner_system_failure", &failed, &n_failed), 0,
		     "%s", error_msg());
	for (size_t i = 0; i < n_failed; i++) {
		struct store_job *j = NULL;

		cr_assert_eq(store_job_get(st, failed[i], &j), 0);
		cr_assert_eq(j->status, STORE_CI_FAILED);
		cr_assert_str_eq(j->failure_reason, "runner_system_failure");
		store_job_free(j);
	}
	cr_assert_eq(store_job_list_by_status(st, STORE_CI_RUNNING, 100, &running), 0);
	cr_assert_null(running[0], "a job is still running after fail_running");
	store_job_list_free(running);
	cr_assert_eq(store_check(st), 0, "integrity: %s", error_msg());
	cr_log_info("kill -9 CI test: %zu pipelines, %zu running, %zu replies, %zu successes "
		    "acknowledged and present; %zu left running were failed",
		    counts[ACK_PIPELINE], counts[ACK_RUNNING], counts[ACK_OUTBOX],
		    counts[ACK_SUCCESS], n_failed);
	free(failed);
	store_close(st);
	free(acks.v);
	tmpdb_remove(&t);
}
