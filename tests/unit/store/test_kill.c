/*
 * The kill -9 durability test: a store write that returned 0 must survive
 * the process being killed at any moment.
 *
 * Design: each round forks a child that opens the store on a file and
 * loops creating users and tokens; after every call that returned 0 it
 * writes a record {user id, token id} to a pipe (one write(2) of 16 bytes,
 * atomic on a pipe). The parent reads those acknowledgements, SIGKILLs the
 * child after a random 5-100 ms (so the kill lands during opening,
 * migrations, a transaction or an fsync), then drains the pipe. Twenty
 * rounds run on the same database file, each child recovering whatever the
 * previous one left. Finally the parent opens the store, runs the integrity
 * check and looks up every acknowledged user and token. If the store
 * acknowledged a write before it was durable (or a torn write corrupted
 * the file), an id is missing or the check fails.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_test.h"
#include "util/clock.h"

#define KILL_ROUNDS 20

struct ack {
	int64_t user_id;
	int64_t token_id; /* 0: only the user was acknowledged */
};

static void write_ack(int fd, int64_t user_id, int64_t token_id)
{
	struct ack a = { user_id, token_id };
	ssize_t n;

	do
		n = write(fd, &a, sizeof(a));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(a))
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
		write_ack(fd, uid, 0);
		tok.user_id = uid;
		tok.name = "kill";
		tok.scopes = "api";
		tok.token_hash = hash;
		if (store_token_create(st, &tok, &tid) < 0)
			_exit(3);
		write_ack(fd, uid, tid);
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

Test(durability, kill_9_loses_no_acknowledged_write, .timeout = 600)
{
	struct tmpdb t;
	struct acks acks = { 0 };
	struct store *st = NULL;
	unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
	size_t users = 0, tokens = 0, killed_rounds = 0;
	int64_t count = 0;

	tmpdb_init(&t);
	srand(seed);
	cr_log_info("kill -9 test: seed %u, database %s", seed, t.path);
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int fds[2], status = 0;
		double delay = 5 + rand() % 96;
		pid_t pid;

		cr_assert_eq(pipe(fds), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			writer(t.url, round, fds[1]);
			_exit(0);
		}
		close(fds[1]);
		pump(&acks, fds[0], clock_mono_ms() + delay);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		/* acknowledgements written before the kill are still in the pipe */
		pump(&acks, fds[0], -1);
		close(fds[0]);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "round %d: the writer stopped by itself (status %d): a store call failed",
			  round, status);
		cr_assert_eq(acks.part_len, 0, "a torn acknowledgement");
		killed_rounds++;
	}

	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_check(st), 0, "integrity: %s", error_msg());
	for (size_t i = 0; i < acks.n; i++) {
		struct store_user *u = NULL;
		struct store_token **list = NULL;
		bool found = false;

		cr_assert_eq(store_user_get(st, acks.v[i].user_id, &u), 0,
			     "acknowledged user %lld is missing (seed %u)",
			     (long long)acks.v[i].user_id, seed);
		cr_assert_eq(strncmp(u->username, "k", 1), 0);
		store_user_free(u);
		if (!acks.v[i].token_id) {
			users++;
			continue;
		}
		cr_assert_eq(store_token_list_for_user(st, acks.v[i].user_id, &list), 0);
		for (size_t j = 0; list[j]; j++)
			found |= list[j]->id == acks.v[i].token_id;
		store_token_list_free(list);
		cr_assert(found, "acknowledged token %lld is missing (seed %u)",
			  (long long)acks.v[i].token_id, seed);
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
