/* Unit tests for store batches. Read batches (store_read_begin/end): the
 * reads of a batch share one snapshot, writes inside a batch are refused,
 * batches do not nest, and ending without a batch does nothing. Write
 * batches (store_write_begin/end): the writes commit together or not at
 * all, a failing call undoes only itself, reads inside see the batch's
 * writes, other connections see nothing before the end, and the
 * generation moves at the end. */
#include <pthread.h>

#include "store_test.h"

static void make_user(struct store *st, const char *name, int64_t *id)
{
	char email[64];
	struct store_user_new in = { .username = name, .email = email, .name = name,
				     .password_hash = "$argon2id$x" };

	snprintf(email, sizeof(email), "%s@example.com", name);
	cr_assert_eq(store_user_create(st, &in, id), 0, "%s", error_msg());
}

struct writer {
	struct store *st;
	int64_t id;
	int err;
};

static void *write_user(void *arg)
{
	struct writer *w = arg;
	struct store_user_new in = { .username = "late", .email = "late@example.com",
				     .name = "Late", .password_hash = "$argon2id$x" };

	w->err = store_user_create(w->st, &in, &w->id);
	return NULL;
}

Test(batch, reads_share_one_snapshot_on_a_file)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct store_user *u = NULL;
	struct writer w = { 0 };
	pthread_t th;
	int64_t id = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	make_user(st, "early", &id);
	w.st = st;

	cr_assert_eq(store_read_begin(st), 0, "%s", error_msg());
	cr_assert_eq(store_user_get(st, id, &u), 0); /* the snapshot starts here */
	store_user_free(u);
	u = NULL;
	/* Another thread writes (its own connection) while the batch is open. */
	cr_assert_eq(pthread_create(&th, NULL, write_user, &w), 0);
	pthread_join(th, NULL);
	cr_assert_eq(w.err, 0, "the writer is not blocked by a reader: %d", w.err);
	cr_assert_eq(store_user_get_by_login(st, "late", &u), SO_ENOTFOUND,
		     "a batch does not see a commit made after it began");
	store_read_end(st);
	cr_assert_eq(store_user_get_by_login(st, "late", &u), 0, "%s", error_msg());
	cr_assert_eq(u->id, w.id);
	store_user_free(u);
	store_close(st);
	tmpdb_remove(&t);
}

STORE_TEST(batch, writes_are_refused_and_batches_do_not_nest)
{
	int64_t id = 0, other = 0;
	struct store_user *u = NULL;

	make_user(st, "alice", &id);
	cr_assert_eq(store_read_begin(st), 0, "%s", error_msg());
	cr_assert_lt(store_read_begin(st), 0, "nested batch refused");
	cr_assert_lt(store_user_set_state(st, id, STORE_USER_BLOCKED), 0,
		     "a write inside a batch is refused");
	cr_assert_eq(store_user_get(st, id, &u), 0, "the batch still reads: %s", error_msg());
	cr_assert_eq(u->state, STORE_USER_ACTIVE);
	store_user_free(u);
	u = NULL;
	store_read_end(st);
	store_read_end(st); /* no batch: nothing happens */
	cr_assert_eq(store_user_set_state(st, id, STORE_USER_BLOCKED), 0, "%s", error_msg());
	make_user(st, "bob", &other);
	cr_assert_eq(store_user_get(st, id, &u), 0);
	cr_assert_eq(u->state, STORE_USER_BLOCKED);
	store_user_free(u);
}

/* store_generation: stable without writes; changed by a write of this
 * store handle, and by a write through another handle on the same file
 * (what an admin CLI next to the server is). */
Test(batch, generation_follows_writes_here_and_elsewhere)
{
	struct tmpdb t;
	struct store *st = NULL, *other = NULL;
	struct store_user *u = NULL;
	int64_t id = 0;
	uint64_t g0, g1, g2;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_open(&other, t.url), 0, "%s", error_msg());
	make_user(st, "gen", &id);
	g0 = store_generation(st);
	cr_assert_neq(g0, 0);
	cr_assert_eq(store_user_get(st, id, &u), 0);
	store_user_free(u);
	cr_assert_eq(store_generation(st), g0, "a read changes nothing");
	cr_assert_eq(store_user_set_state(st, id, STORE_USER_BLOCKED), 0);
	g1 = store_generation(st);
	cr_assert_neq(g1, g0, "a write of this handle");
	cr_assert_eq(store_user_set_state(other, id, STORE_USER_ACTIVE), 0);
	g2 = store_generation(st);
	cr_assert_neq(g2, g1, "a write through another handle on the file");
	store_close(other);
	store_close(st);
	tmpdb_remove(&t);
}

STORE_TEST(batch, generation_is_counted_in_memory_too)
{
	int64_t id = 0;
	uint64_t g;

	g = store_generation(st);
	cr_assert_neq(g, 0);
	make_user(st, "mem", &id);
	cr_assert_neq(store_generation(st), g);
}

/* ---- write batches ---- */

static int64_t user_id_of(struct store *st, const char *login)
{
	struct store_user *u = NULL;
	int64_t id;

	if (store_user_get_by_login(st, login, &u) < 0)
		return 0;
	id = u->id;
	store_user_free(u);
	return id;
}

STORE_TEST(wbatch, writes_commit_together_or_not_at_all)
{
	int64_t a = 0, b = 0, dup = 0;
	struct store_user *u = NULL;
	struct store_user_new again = { .username = "one", .email = "x@example.com",
					.name = "x", .password_hash = "$argon2id$x" };

	/* committed: both writes, and reads inside see them */
	cr_assert_eq(store_write_begin(st, true), 0, "%s", error_msg());
	make_user(st, "one", &a);
	make_user(st, "two", &b);
	cr_assert_eq(user_id_of(st, "two"), b, "a read inside sees the batch's writes");
	/* a failing call undoes only itself */
	cr_assert_eq(store_user_create(st, &again, &dup), SO_EEXISTS);
	cr_assert_eq(store_user_set_state(st, a, STORE_USER_BLOCKED), 0, "%s", error_msg());
	cr_assert_eq(store_write_end(st, true), 0, "%s", error_msg());
	cr_assert_eq(user_id_of(st, "one"), a);
	cr_assert_eq(user_id_of(st, "two"), b);
	cr_assert_eq(user_id_of(st, "x"), 0);
	cr_assert_eq(store_user_get(st, a, &u), 0);
	cr_assert_eq(u->state, STORE_USER_BLOCKED);
	store_user_free(u);

	/* rolled back: nothing stays, a lazy (bookkeeping) write included */
	cr_assert_eq(store_write_begin(st, false), 0, "%s", error_msg());
	make_user(st, "three", &dup);
	cr_assert_eq(store_user_set_state(st, a, STORE_USER_ACTIVE), 0);
	cr_assert_eq(store_write_end(st, false), 0, "%s", error_msg());
	cr_assert_eq(user_id_of(st, "three"), 0, "rolled back");
	cr_assert_eq(store_user_get(st, a, &u), 0);
	cr_assert_eq(u->state, STORE_USER_BLOCKED, "rolled back");
	store_user_free(u);

	/* after the batch, writes commit alone again */
	make_user(st, "four", &dup);
	cr_assert_eq(user_id_of(st, "four"), dup);
}

STORE_TEST(wbatch, batches_do_not_nest)
{
	cr_assert_lt(store_write_end(st, true), 0, "no batch to end");
	cr_assert_eq(store_write_begin(st, true), 0, "%s", error_msg());
	cr_assert_lt(store_write_begin(st, true), 0, "nested write batch refused");
	cr_assert_lt(store_read_begin(st), 0, "a read batch inside refused");
	cr_assert_eq(store_write_end(st, true), 0, "%s", error_msg());
	cr_assert_eq(store_read_begin(st), 0, "%s", error_msg());
	cr_assert_lt(store_write_begin(st, true), 0, "a write batch inside a read batch refused");
	store_read_end(st);
}

struct reader {
	struct store *st;
	int64_t seen;
};

static void *read_two(void *arg)
{
	struct reader *r = arg;

	r->seen = user_id_of(r->st, "two");
	return NULL;
}

/* Another connection sees nothing of an open batch; the generation moves
 * when it ends. */
Test(wbatch, others_see_the_batch_only_when_it_ends)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct reader r = { 0 };
	pthread_t th;
	int64_t a = 0, b = 0;
	uint64_t g;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	make_user(st, "zero", &a);
	g = store_generation(st);
	cr_assert_eq(store_write_begin(st, true), 0, "%s", error_msg());
	make_user(st, "two", &b);
	r.st = st;
	cr_assert_eq(pthread_create(&th, NULL, read_two, &r), 0);
	pthread_join(th, NULL);
	cr_assert_eq(r.seen, 0, "an open batch is invisible to other connections");
	cr_assert_eq(store_write_end(st, true), 0, "%s", error_msg());
	cr_assert_neq(store_generation(st), g, "the generation moves at the end");
	cr_assert_eq(pthread_create(&th, NULL, read_two, &r), 0);
	pthread_join(th, NULL);
	cr_assert_eq(r.seen, b);
	store_close(st);
	tmpdb_remove(&t);
}
