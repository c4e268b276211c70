/* Unit tests for opening the store: URL forms, schema migrations applied
 * exactly once, data surviving a reopen, the integrity check, and many
 * threads reading and writing one store at once. */
#include <pthread.h>

#include "store_test.h"

Test(open, url_forms)
{
	struct tmpdb t;
	struct store *st = (struct store *)1;
	struct store_user *u = NULL;
	char url[200];
	int v = 0;

	cr_assert_eq(store_open(&st, "postgres://db/slashops"), SO_EINVALID);
	cr_assert_null(st);
	cr_assert_str_eq(error_msg(), "PostgreSQL support is not built in");
	cr_assert_eq(store_open(&st, "postgresql://u@db/x"), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "PostgreSQL support is not built in");
	cr_assert_eq(store_open(&st, "mysql://db/x"), SO_EINVALID);
	cr_assert_eq(store_open(&st, ""), SO_EINVALID);
	cr_assert_eq(store_open(&st, NULL), SO_EINVALID);
	cr_assert_eq(store_open(&st, "sqlite:"), SO_EINVALID);
	cr_assert_eq(store_open(&st, "sqlite:/nonexistent-dir-xyz/sub/db"), SO_EFAIL);
	cr_assert_null(st);

	tmpdb_init(&t);
	/* a bare path */
	cr_assert_eq(store_open(&st, t.path), 0, "%s", error_msg());
	mk_user(st, "bare");
	store_close(st);
	/* sqlite:///abs/path is the same file */
	snprintf(url, sizeof(url), "sqlite://%s", t.path);
	cr_assert_eq(store_open(&st, url), 0, "%s", error_msg());
	cr_assert_eq(store_user_get_by_login(st, "bare", &u), 0);
	cr_assert_str_eq(u->username, "bare");
	store_user_free(u);
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	store_close(st);
	tmpdb_remove(&t);

	cr_assert_eq(store_open(&st, "sqlite::memory:"), 0);
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	store_close(st);
}

Test(open, two_memory_stores_are_separate)
{
	struct store *a = NULL, *b = NULL;
	int64_t n = 0;

	cr_assert_eq(store_open(&a, "sqlite::memory:"), 0);
	cr_assert_eq(store_open(&b, "sqlite::memory:"), 0);
	mk_user(a, "only-in-a");
	cr_assert_eq(store_user_count(b, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_user_count(a, &n), 0);
	cr_assert_eq(n, 1);
	store_close(a);
	store_close(b);
}

Test(open, migrations_apply_once_and_data_survives_reopen)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct store_user *u = NULL;
	struct store_project *p = NULL;
	int64_t uid, pid, n = 0;
	int v = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	uid = mk_user(st, "keeper");
	pid = mk_project(st, mk_namespace(st, "keeper", "user", uid), uid, "kept",
			 STORE_VIS_PUBLIC);
	store_close(st);

	for (int round = 0; round < 3; round++) {
		cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
		cr_assert_eq(store_schema_version(st, &v), 0);
		cr_assert_eq(v, STORE_TEST_SCHEMA);
		cr_assert_eq(store_check(st), 0, "%s", error_msg());
		cr_assert_eq(store_user_get(st, uid, &u), 0);
		cr_assert_str_eq(u->username, "keeper");
		store_user_free(u);
		cr_assert_eq(store_project_get_by_path(st, "keeper/kept", &p), 0);
		cr_assert_eq(p->id, pid);
		store_project_free(p);
		cr_assert_eq(store_user_count(st, &n), 0);
		cr_assert_eq(n, 1);
		store_close(st);
	}
	tmpdb_remove(&t);
}

Test(open, refuses_a_file_that_is_not_a_database)
{
	struct tmpdb t;
	struct store *st = NULL;
	FILE *f;

	tmpdb_init(&t);
	f = fopen(t.path, "w");
	cr_assert_not_null(f);
	fputs("this is not an SQLite database, just some text that is long enough. "
	      "this is not an SQLite database, just some text that is long enough.\n", f);
	fclose(f);
	cr_assert_lt(store_open(&st, t.url), 0);
	cr_assert_null(st);
	cr_assert_neq(error_msg()[0], '\0');
	tmpdb_remove(&t);
}

/* ---- concurrency ---- */

#define THREADS 8
#define ROUNDS 30

struct worker {
	struct store *st;
	int index;
	int failures;
	char failure[256];
};

static void fail(struct worker *w, const char *what)
{
	if (!w->failures++)
		snprintf(w->failure, sizeof(w->failure), "%s: %s", what, error_msg());
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct store_user_new in = { 0 };
	struct store_token_new tok = { 0 };
	struct store_user *u = NULL;
	struct store_project **list = NULL;
	char name[64], email[96], hash[64];
	int64_t id, tid, n;
	int level;

	for (int i = 0; i < ROUNDS; i++) {
		snprintf(name, sizeof(name), "t%d-u%d", w->index, i);
		snprintf(email, sizeof(email), "%s@example.com", name);
		snprintf(hash, sizeof(hash), "hash-%d-%d", w->index, i);
		in.username = name;
		in.email = email;
		in.name = name;
		if (store_user_create(w->st, &in, &id) < 0) {
			fail(w, "create");
			continue;
		}
		if (store_user_get(w->st, id, &u) < 0 || strcmp(u->username, name) != 0)
			fail(w, "get");
		store_user_free(u);
		u = NULL;
		if (store_user_get_by_login(w->st, email, &u) < 0 || u->id != id)
			fail(w, "login");
		store_user_free(u);
		u = NULL;
		tok.user_id = id;
		tok.name = "t";
		tok.scopes = "api";
		tok.token_hash = hash;
		if (store_token_create(w->st, &tok, &tid) < 0 || store_token_touch(w->st, tid) < 0)
			fail(w, "token");
		if (store_user_touch_activity(w->st, id) < 0)
			fail(w, "activity");
		if (store_project_list_visible(w->st, id, false, NULL, &list, &n) < 0)
			fail(w, "list");
		store_project_list_free(list);
		list = NULL;
		if (store_member_access_level(w->st, 1, id, &level) < 0)
			fail(w, "level");
		if (store_user_count(w->st, &n) < 0 || n < i + 1)
			fail(w, "count");
	}
	return NULL;
}

static void run_threads(struct store *st, int64_t before)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	int64_t n = 0;

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = st;
		w[i].index = i;
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].failures, 0, "thread %d: %d failures, first %s", i,
			     w[i].failures, w[i].failure);
	}
	cr_assert_eq(store_user_count(st, &n), 0);
	cr_assert_eq(n, before + THREADS * ROUNDS);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());
}

Test(concurrency, threads_on_a_file, .timeout = 120)
{
	struct tmpdb t;
	struct store *st = NULL;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	mk_project(st, mk_namespace(st, "owner", "user", mk_user(st, "owner")),
		   1, "p", STORE_VIS_PUBLIC);
	run_threads(st, 1);
	store_close(st);
	tmpdb_remove(&t);
}

Test(concurrency, threads_on_memory, .timeout = 120)
{
	struct store *st = NULL;

	cr_assert_eq(store_open(&st, "sqlite::memory:"), 0);
	run_threads(st, 0);
	store_close(st);
}

Test(concurrency, two_stores_on_one_file, .timeout = 120)
{
	struct tmpdb t;
	struct store *a = NULL, *b = NULL;
	pthread_t th[2];
	struct worker w[2];
	int64_t n = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&a, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_open(&b, t.url), 0, "%s", error_msg());
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = i ? b : a;
		w[i].index = i;
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].failures, 0, "store %d: %s", i, w[i].failure);
	}
	cr_assert_eq(store_user_count(a, &n), 0);
	cr_assert_eq(n, 2 * ROUNDS);
	store_close(a);
	store_close(b);
	tmpdb_remove(&t);
}
