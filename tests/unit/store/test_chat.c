/* Unit tests for the store's chat tables (schema migration 2, issue 3):
 * integrations (upsert keeping the token hash, the served team), chat names
 * (one link per chat account, owner-only delete, hourly touch), chat link
 * requests (expiry, single use, exactly one winner among concurrent
 * consumers), slash command deduplication (window, stored reply, purge),
 * the cascades from projects and users, and the upgrade of a database
 * written at schema version 1. */
#include <pthread.h>
#include <time.h>

#include "store/store_backend.h"
#include "store_test.h"
#include "util/clock.h"

#define KIND "mattermost_slash_commands"

/* A user "name" with a personal namespace and a private project "p". */
static int64_t mk_owner_project(struct store *st, const char *name, int64_t *out_user)
{
	int64_t uid = mk_user(st, name);
	int64_t pid = mk_project(st, mk_namespace(st, name, "user", uid), uid, "p",
				 STORE_VIS_PRIVATE);

	if (out_user)
		*out_user = uid;
	return pid;
}

static struct store_chat_link link_in(const char *hash, int64_t project_id, int64_t expires_at)
{
	struct store_chat_link l = { 0 };

	l.token_hash = (char *)hash;
	l.project_id = project_id;
	l.integration_kind = (char *)KIND;
	l.team_id = (char *)"team1";
	l.team_domain = (char *)"acme";
	l.chat_id = (char *)"mmuser1";
	l.chat_name = (char *)"alice.mm";
	l.expires_at = expires_at;
	return l;
}

/* ---- integrations ---- */

STORE_TEST(integrations, upsert_get_team_and_delete)
{
	int64_t pid = mk_owner_project(st, "alice", NULL);
	struct store_integration *in = NULL;
	int64_t id = 0, id2 = 0, other = 0;

	cr_assert_eq(store_integration_get(st, pid, KIND, &in), SO_ENOTFOUND);
	cr_assert_null(in);

	cr_assert_eq(store_integration_upsert(st, pid, KIND, "hash-1", true, false, &id), 0, "%s",
		     error_msg());
	cr_assert_gt(id, 0);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0, "%s", error_msg());
	cr_assert_eq(in->id, id);
	cr_assert_eq(in->project_id, pid);
	cr_assert_str_eq(in->kind, KIND);
	cr_assert_str_eq(in->token_hash, "hash-1");
	cr_assert(in->active);
	cr_assert_null(in->team_id);
	cr_assert_null(in->team_domain);
	cr_assert_not_null(in->created_at);
	cr_assert_eq(strlen(in->created_at), 24);
	cr_assert_str_eq(in->created_at, in->updated_at);
	store_integration_free(in);
	in = NULL;

	/* the first valid request records its team */
	cr_assert_eq(store_integration_set_team(st, id, "team1", "acme"), 0, "%s", error_msg());
	/* NULL token keeps the hash; same row; deactivating keeps the team */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, NULL, false, false, &id2), 0);
	cr_assert_eq(id2, id);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_str_eq(in->token_hash, "hash-1");
	cr_assert_not(in->active);
	cr_assert_str_eq(in->team_id, "team1");
	cr_assert_str_eq(in->team_domain, "acme");
	store_integration_free(in);
	in = NULL;

	/* an empty token from a form also keeps it */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, "", true, false, &id2), 0);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_str_eq(in->token_hash, "hash-1");
	cr_assert(in->active);
	store_integration_free(in);
	in = NULL;

	/* a new token without clear_team keeps the team */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, "hash-2", true, false, &id2), 0);
	cr_assert_eq(id2, id);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_str_eq(in->token_hash, "hash-2");
	cr_assert_str_eq(in->team_id, "team1");
	store_integration_free(in);
	in = NULL;

	/* clear_team clears both team fields */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, "hash-3", true, true, NULL), 0);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_str_eq(in->token_hash, "hash-3");
	cr_assert_null(in->team_id);
	cr_assert_null(in->team_domain);
	store_integration_free(in);
	in = NULL;

	/* set_team with a NULL (or blank) team clears, domain optional */
	cr_assert_eq(store_integration_set_team(st, id, "team2", NULL), 0);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_str_eq(in->team_id, "team2");
	cr_assert_null(in->team_domain);
	store_integration_free(in);
	in = NULL;
	cr_assert_eq(store_integration_set_team(st, id, NULL, "ignored"), 0);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_null(in->team_id);
	cr_assert_null(in->team_domain);
	store_integration_free(in);
	in = NULL;

	/* another kind in the same project is another row */
	cr_assert_eq(store_integration_upsert(st, pid, "other_kind", NULL, true, false, &other), 0);
	cr_assert_neq(other, id);
	cr_assert_eq(store_integration_get(st, pid, "other_kind", &in), 0);
	cr_assert_null(in->token_hash);
	store_integration_free(in);
	in = NULL;

	/* argument checks */
	cr_assert_eq(store_integration_upsert(st, pid, " ", "h", true, false, &id2), SO_EINVALID);
	cr_assert_eq(id2, 0);
	cr_assert_eq(store_integration_upsert(st, 0, KIND, "h", true, false, NULL), SO_ENOTFOUND);
	cr_assert_eq(store_integration_upsert(st, 9999, KIND, "h", true, false, NULL),
		     SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "project not found");
	cr_assert_eq(store_integration_get(st, pid, "", &in), SO_ENOTFOUND);
	cr_assert_eq(store_integration_set_team(st, 0, "t", NULL), SO_ENOTFOUND);
	cr_assert_eq(store_integration_set_team(st, 9999, "t", NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "integration not found");

	/* delete */
	cr_assert_eq(store_integration_delete(st, pid, KIND), 0, "%s", error_msg());
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), SO_ENOTFOUND);
	cr_assert_eq(store_integration_delete(st, pid, KIND), SO_ENOTFOUND);
	cr_assert_eq(store_integration_delete(st, 0, KIND), SO_ENOTFOUND);
	cr_assert_eq(store_integration_get(st, pid, "other_kind", &in), 0);
	store_integration_free(in);
	/* re-enabling creates a fresh row, without the old token */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, NULL, true, false, &id2), 0);
	cr_assert_neq(id2, id);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_null(in->token_hash);
	store_integration_free(in);
}

/* ---- chat names ---- */

STORE_TEST(chat_names, create_find_list_delete)
{
	int64_t alice = mk_user(st, "alice");
	int64_t bob = mk_user(st, "bob");
	struct store_chat_name *cn = NULL;
	struct store_chat_name **list = NULL;
	int64_t a1 = 0, a2 = 0, b1 = 0, id = 0;

	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), SO_ENOTFOUND);
	cr_assert_null(cn);
	cr_assert_eq(store_chat_name_create(st, alice, "team1", "acme", "mm-a", "alice.mm", &a1),
		     0, "%s", error_msg());
	cr_assert_gt(a1, 0);
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	cr_assert_eq(cn->id, a1);
	cr_assert_eq(cn->user_id, alice);
	cr_assert_str_eq(cn->team_id, "team1");
	cr_assert_str_eq(cn->team_domain, "acme");
	cr_assert_str_eq(cn->chat_id, "mm-a");
	cr_assert_str_eq(cn->chat_name, "alice.mm");
	cr_assert_null(cn->last_used_at);
	cr_assert_not_null(cn->created_at);
	store_chat_name_free(cn);
	cn = NULL;

	/* the same chat account cannot be linked twice, to anyone */
	cr_assert_eq(store_chat_name_create(st, bob, "team1", "acme", "mm-a", "x", &id),
		     SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "This chat account is already linked");
	cr_assert_eq(id, 0);
	cr_assert_eq(store_chat_name_create(st, alice, "team1", NULL, "mm-a", NULL, NULL),
		     SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "This chat account is already linked");
	/* ids are case-sensitive */
	cr_assert_eq(store_chat_name_find(st, "TEAM1", "mm-a", &cn), SO_ENOTFOUND);

	/* the same chat user id in another team is another account */
	cr_assert_eq(store_chat_name_create(st, alice, "team2", NULL, "mm-a", NULL, &a2), 0);
	cr_assert_eq(store_chat_name_create(st, bob, "team1", "acme", "mm-b", "bob.mm", &b1), 0);
	cr_assert_eq(store_chat_name_find(st, "team2", "mm-a", &cn), 0);
	cr_assert_eq(cn->id, a2);
	cr_assert_null(cn->team_domain);
	cr_assert_null(cn->chat_name);
	store_chat_name_free(cn);
	cn = NULL;

	cr_assert_eq(store_chat_name_list_for_user(st, alice, &list), 0);
	cr_assert_not_null(list[0]);
	cr_assert_not_null(list[1]);
	cr_assert_null(list[2]);
	cr_assert_eq(list[0]->id, a1);
	cr_assert_eq(list[1]->id, a2);
	store_chat_name_list_free(list);
	cr_assert_eq(store_chat_name_list_for_user(st, 9999, &list), 0);
	cr_assert_null(list[0]);
	store_chat_name_list_free(list);

	/* only the owner deletes */
	cr_assert_eq(store_chat_name_delete(st, a1, bob), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	store_chat_name_free(cn);
	cn = NULL;
	cr_assert_eq(store_chat_name_delete(st, a1, alice), 0, "%s", error_msg());
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_delete(st, a1, alice), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_delete(st, 0, alice), SO_ENOTFOUND);
	/* once revoked, the account may be linked again (here to bob) */
	cr_assert_eq(store_chat_name_create(st, bob, "team1", "acme", "mm-a", "alice.mm", &id), 0);
	cr_assert_gt(id, b1);
	cr_assert_eq(store_chat_name_list_for_user(st, alice, &list), 0);
	cr_assert_eq(list[0]->id, a2);
	cr_assert_null(list[1]);
	store_chat_name_list_free(list);

	/* argument checks */
	cr_assert_eq(store_chat_name_create(st, alice, " ", NULL, "x", NULL, NULL), SO_EINVALID);
	cr_assert_eq(store_chat_name_create(st, alice, "t", NULL, "", NULL, NULL), SO_EINVALID);
	cr_assert_eq(store_chat_name_create(st, alice, "t", NULL, NULL, NULL, NULL), SO_EINVALID);
	cr_assert_eq(store_chat_name_create(st, 0, "t", NULL, "x", NULL, NULL), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_create(st, 9999, "t", NULL, "x", NULL, NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user not found");
	cr_assert_eq(store_chat_name_find(st, NULL, "x", &cn), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_find(st, "t", "", &cn), SO_ENOTFOUND);
}

STORE_TEST(chat_names, touch_writes_at_most_hourly)
{
	int64_t alice = mk_user(st, "alice");
	struct store_chat_name *cn = NULL;
	char *first = NULL;
	int64_t id = 0;
	struct timespec pause = { 0, 30 * 1000 * 1000 };

	cr_assert_eq(store_chat_name_create(st, alice, "team1", NULL, "mm-a", "a", &id), 0);
	cr_assert_eq(store_chat_name_touch(st, id), 0, "%s", error_msg());
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	cr_assert_not_null(cn->last_used_at);
	cr_assert_eq(strlen(cn->last_used_at), 24);
	first = strdup(cn->last_used_at);
	store_chat_name_free(cn);
	cn = NULL;

	/* milliseconds later: the stored time stays the first one */
	nanosleep(&pause, NULL);
	cr_assert_eq(store_chat_name_touch(st, id), 0);
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	cr_assert_str_eq(cn->last_used_at, first);
	store_chat_name_free(cn);
	free(first);

	cr_assert_eq(store_chat_name_touch(st, 9999), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_touch(st, 0), SO_ENOTFOUND);
}

/* ---- chat link requests ---- */

STORE_TEST(chat_links, create_get_expire_consume)
{
	int64_t pid = mk_owner_project(st, "alice", NULL);
	int64_t now = 1700000000;
	struct store_chat_link in = link_in("lh-1", pid, now + 600);
	struct store_chat_link *l = NULL;

	cr_assert_eq(store_chat_link_create(st, &in), 0, "%s", error_msg());
	cr_assert_eq(store_chat_link_create(st, &in), SO_EEXISTS);

	cr_assert_eq(store_chat_link_get(st, "lh-1", now, &l), 0, "%s", error_msg());
	cr_assert_str_eq(l->token_hash, "lh-1");
	cr_assert_eq(l->project_id, pid);
	cr_assert_str_eq(l->integration_kind, KIND);
	cr_assert_str_eq(l->team_id, "team1");
	cr_assert_str_eq(l->team_domain, "acme");
	cr_assert_str_eq(l->chat_id, "mmuser1");
	cr_assert_str_eq(l->chat_name, "alice.mm");
	cr_assert_eq(l->expires_at, now + 600);
	store_chat_link_free(l);
	l = NULL;

	/* valid up to the second before expires_at */
	cr_assert_eq(store_chat_link_get(st, "lh-1", now + 599, &l), 0);
	store_chat_link_free(l);
	l = NULL;
	cr_assert_eq(store_chat_link_get(st, "lh-1", now + 600, &l), SO_ENOTFOUND);
	cr_assert_null(l);
	cr_assert_eq(store_chat_link_get(st, "nope", now, &l), SO_ENOTFOUND);
	cr_assert_eq(store_chat_link_get(st, "", now, &l), SO_ENOTFOUND);

	/* single use */
	cr_assert_eq(store_chat_link_consume(st, "lh-1", now + 1, &l), 0, "%s", error_msg());
	cr_assert_not_null(l);
	cr_assert_str_eq(l->token_hash, "lh-1");
	cr_assert_str_eq(l->chat_id, "mmuser1");
	cr_assert_eq(l->project_id, pid);
	store_chat_link_free(l);
	l = NULL;
	cr_assert_eq(store_chat_link_consume(st, "lh-1", now + 1, &l), SO_ENOTFOUND);
	cr_assert_null(l);
	cr_assert_eq(store_chat_link_get(st, "lh-1", now, &l), SO_ENOTFOUND);

	/* consuming without wanting the row (Deny) */
	in = link_in("lh-2", pid, now + 600);
	in.team_domain = NULL;
	in.chat_name = (char *)" ";
	cr_assert_eq(store_chat_link_create(st, &in), 0);
	cr_assert_eq(store_chat_link_get(st, "lh-2", now, &l), 0);
	cr_assert_null(l->team_domain);
	cr_assert_null(l->chat_name);
	store_chat_link_free(l);
	l = NULL;
	cr_assert_eq(store_chat_link_consume(st, "lh-2", now, NULL), 0);
	cr_assert_eq(store_chat_link_consume(st, "lh-2", now, NULL), SO_ENOTFOUND);

	/* an expired link cannot be consumed, and is gone afterwards */
	in = link_in("lh-3", pid, now + 10);
	cr_assert_eq(store_chat_link_create(st, &in), 0);
	cr_assert_eq(store_chat_link_consume(st, "lh-3", now + 10, &l), SO_ENOTFOUND);
	cr_assert_null(l);
	cr_assert_eq(store_chat_link_get(st, "lh-3", now, &l), SO_ENOTFOUND);

	/* argument checks */
	in = link_in("lh-4", pid, now + 10);
	in.token_hash = (char *)"";
	cr_assert_eq(store_chat_link_create(st, &in), SO_EINVALID);
	in = link_in("lh-4", pid, now + 10);
	in.team_id = NULL;
	cr_assert_eq(store_chat_link_create(st, &in), SO_EINVALID);
	in = link_in("lh-4", pid, now + 10);
	in.chat_id = (char *)" ";
	cr_assert_eq(store_chat_link_create(st, &in), SO_EINVALID);
	in = link_in("lh-4", pid, now + 10);
	in.integration_kind = NULL;
	cr_assert_eq(store_chat_link_create(st, &in), SO_EINVALID);
	in = link_in("lh-4", pid, 0);
	cr_assert_eq(store_chat_link_create(st, &in), SO_EINVALID);
	in = link_in("lh-4", 9999, now + 10);
	cr_assert_eq(store_chat_link_create(st, &in), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "project not found");
	cr_assert_eq(store_chat_link_consume(st, NULL, now, NULL), SO_ENOTFOUND);
}

STORE_TEST(chat_links, purge_expired)
{
	int64_t pid = mk_owner_project(st, "alice", NULL);
	int64_t now = 1700000000;
	struct store_chat_link in;
	struct store_chat_link *l = NULL;

	in = link_in("old", pid, now - 1);
	cr_assert_eq(store_chat_link_create(st, &in), 0);
	in = link_in("edge", pid, now);
	cr_assert_eq(store_chat_link_create(st, &in), 0);
	in = link_in("fresh", pid, now + 1);
	cr_assert_eq(store_chat_link_create(st, &in), 0);
	cr_assert_eq(store_chat_link_purge_expired(st, now), 0, "%s", error_msg());
	/* looked up "in the past" so only the purge can hide them */
	cr_assert_eq(store_chat_link_get(st, "old", now - 100, &l), SO_ENOTFOUND);
	cr_assert_eq(store_chat_link_get(st, "edge", now - 100, &l), SO_ENOTFOUND);
	cr_assert_eq(store_chat_link_get(st, "fresh", now - 100, &l), 0);
	store_chat_link_free(l);
}

/* ---- concurrency: single use, single first claim ---- */

#define RACERS 8
#define RACE_ROUNDS 25

struct racer {
	struct store *st;
	pthread_barrier_t *start;
	const char *key;
	int64_t integration_id;
	int result;
	bool got_row;
	bool first;
	char failure[160];
};

static void *consume_racer(void *arg)
{
	struct racer *r = arg;
	struct store_chat_link *l = NULL;

	pthread_barrier_wait(r->start);
	r->result = store_chat_link_consume(r->st, r->key, 1700000000, &l);
	r->got_row = l != NULL;
	if (r->result < 0)
		snprintf(r->failure, sizeof(r->failure), "%s", error_msg());
	store_chat_link_free(l);
	return NULL;
}

static void *claim_racer(void *arg)
{
	struct racer *r = arg;
	char *prev = NULL;

	pthread_barrier_wait(r->start);
	r->result = store_chat_trigger_claim(r->st, r->integration_id, r->key, 1700000000, 300,
					     &r->first, &prev);
	if (r->result < 0)
		snprintf(r->failure, sizeof(r->failure), "%s", error_msg());
	free(prev);
	return NULL;
}

/* Runs RACERS threads of fn on key, released together; returns how many
 * won (consume: returned 0; claim: first). Others must lose cleanly. */
static int race(struct store *st, void *(*fn)(void *), const char *key, int64_t integration_id,
		bool claim)
{
	pthread_t th[RACERS];
	struct racer r[RACERS];
	pthread_barrier_t start;
	int winners = 0;

	pthread_barrier_init(&start, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].st = st;
		r[i].start = &start;
		r[i].key = key;
		r[i].integration_id = integration_id;
		cr_assert_eq(pthread_create(&th[i], NULL, fn, &r[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < RACERS; i++) {
		if (claim) {
			cr_assert_eq(r[i].result, 0, "racer %d: %s", i, r[i].failure);
			winners += r[i].first;
		} else if (r[i].result == 0) {
			cr_assert(r[i].got_row);
			winners++;
		} else {
			cr_assert_eq(r[i].result, SO_ENOTFOUND, "racer %d: %s", i, r[i].failure);
			cr_assert_not(r[i].got_row);
		}
	}
	return winners;
}

static void race_rounds(struct store *st)
{
	int64_t pid = mk_owner_project(st, "alice", NULL);
	int64_t iid = 0;
	char key[32];

	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h", true, false, &iid), 0);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct store_chat_link in;

		snprintf(key, sizeof(key), "race-%d", round);
		in = link_in(key, pid, 1700000600);
		cr_assert_eq(store_chat_link_create(st, &in), 0, "%s", error_msg());
		cr_assert_eq(race(st, consume_racer, key, 0, false), 1, "round %d", round);
		cr_assert_eq(race(st, claim_racer, key, iid, true), 1, "round %d", round);
	}
}

Test(chat_links, single_use_under_concurrency_file, .timeout = 120)
{
	struct tmpdb t;
	struct store *st = NULL;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	race_rounds(st);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());
	store_close(st);
	tmpdb_remove(&t);
}

Test(chat_links, single_use_under_concurrency_memory, .timeout = 120)
{
	struct store *st = NULL;

	cr_assert_eq(store_open(&st, "sqlite::memory:"), 0);
	race_rounds(st);
	store_close(st);
}

Test(chat_links, single_use_across_two_stores, .timeout = 120)
{
	struct tmpdb t;
	struct store *a = NULL, *b = NULL;
	struct store_chat_link in;
	int64_t pid;
	int ra, rb;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&a, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_open(&b, t.url), 0, "%s", error_msg());
	pid = mk_owner_project(a, "alice", NULL);
	in = link_in("shared", pid, 1700000600);
	cr_assert_eq(store_chat_link_create(a, &in), 0);
	ra = store_chat_link_consume(b, "shared", 1700000000, NULL);
	rb = store_chat_link_consume(a, "shared", 1700000000, NULL);
	cr_assert_eq(ra, 0);
	cr_assert_eq(rb, SO_ENOTFOUND);
	store_close(a);
	store_close(b);
	tmpdb_remove(&t);
}

/* ---- slash command deduplication ---- */

STORE_TEST(chat_triggers, claim_window_reply_and_purge)
{
	int64_t pid = mk_owner_project(st, "alice", NULL);
	int64_t pid2 = mk_owner_project(st, "bob", NULL);
	int64_t iid = 0, iid2 = 0;
	int64_t t0 = 1700000000, win = 300;
	bool first = true;
	char *prev = (char *)"sentinel";

	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h1", true, false, &iid), 0);
	cr_assert_eq(store_integration_upsert(st, pid2, KIND, "h2", true, false, &iid2), 0);

	cr_assert_eq(store_chat_trigger_claim(st, iid, "trig-1", t0, win, &first, &prev), 0, "%s",
		     error_msg());
	cr_assert(first);
	cr_assert_null(prev);

	/* a repeat while the first is still running: no reply yet */
	cr_assert_eq(store_chat_trigger_claim(st, iid, "trig-1", t0 + 1, win, &first, &prev), 0);
	cr_assert_not(first);
	cr_assert_null(prev);

	cr_assert_eq(store_chat_trigger_set_reply(st, iid, "trig-1",
						  "{\"response_type\":\"ephemeral\",\"text\":\"hi\"}"),
		     0, "%s", error_msg());
	cr_assert_eq(store_chat_trigger_claim(st, iid, "trig-1", t0 + win, win, &first, &prev), 0);
	cr_assert_not(first);
	cr_assert_str_eq(prev, "{\"response_type\":\"ephemeral\",\"text\":\"hi\"}");
	free(prev);
	prev = NULL;

	/* the same trigger_id for another integration is another claim */
	cr_assert_eq(store_chat_trigger_claim(st, iid2, "trig-1", t0 + 2, win, &first, &prev), 0);
	cr_assert(first);
	cr_assert_null(prev);

	/* past the window the old row is purged and the claim is first again */
	cr_assert_eq(store_chat_trigger_claim(st, iid, "trig-1", t0 + win + 1, win, &first, &prev),
		     0);
	cr_assert(first);
	cr_assert_null(prev);
	/* ... and the reply went with it */
	cr_assert_eq(store_chat_trigger_claim(st, iid, "trig-1", t0 + win + 2, win, &first, &prev),
		     0);
	cr_assert_not(first);
	cr_assert_null(prev);

	/* the purge is global: iid2's row from t0 + 2 is gone too */
	cr_assert_eq(store_chat_trigger_claim(st, iid2, "trig-2", t0 + win + 3, win, &first,
					      &prev), 0);
	cr_assert(first);
	cr_assert_eq(store_chat_trigger_claim(st, iid2, "trig-1", t0 + win + 3, win, &first,
					      &prev), 0);
	cr_assert(first);

	/* window 0: only a claim in the very same second repeats */
	cr_assert_eq(store_chat_trigger_claim(st, iid, "w0", t0 + 1000, 0, &first, &prev), 0);
	cr_assert(first);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "w0", t0 + 1000, 0, &first, &prev), 0);
	cr_assert_not(first);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "w0", t0 + 1001, 0, &first, &prev), 0);
	cr_assert(first);
	/* a huge window does not overflow (UBSan) and keeps everything */
	cr_assert_eq(store_chat_trigger_claim(st, iid, "w0", INT64_MIN + 5, INT64_MAX, &first,
					      &prev), 0);
	cr_assert_not(first);

	/* argument checks */
	first = true;
	cr_assert_eq(store_chat_trigger_claim(st, iid, "", t0, win, &first, &prev), SO_EINVALID);
	cr_assert_not(first);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "x", t0, -1, &first, &prev), SO_EINVALID);
	cr_assert_eq(store_chat_trigger_claim(st, 0, "x", t0, win, &first, &prev), SO_ENOTFOUND);
	cr_assert_eq(store_chat_trigger_claim(st, 9999, "x", t0, win, &first, &prev),
		     SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "integration not found");
	cr_assert_eq(store_chat_trigger_set_reply(st, iid, "never-claimed", "{}"), SO_ENOTFOUND);
	cr_assert_eq(store_chat_trigger_set_reply(st, iid, "w0", NULL), SO_EINVALID);
	cr_assert_eq(store_chat_trigger_set_reply(st, 0, "w0", "{}"), SO_ENOTFOUND);
}

/* ---- cascades ---- */

STORE_TEST(chat_cascades, project_delete_takes_integrations_links_triggers)
{
	int64_t alice = 0;
	int64_t pid = mk_owner_project(st, "alice", &alice);
	int64_t keep = mk_project(st, mk_namespace(st, "grp", "group", alice), alice, "keep",
				  STORE_VIS_PRIVATE);
	int64_t iid = 0, kid = 0, cid = 0;
	struct store_integration *in = NULL;
	struct store_chat_link *l = NULL;
	struct store_chat_link li;
	struct store_chat_name *cn = NULL;
	bool first = false;
	char *prev = NULL;

	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h1", true, false, &iid), 0);
	cr_assert_eq(store_integration_upsert(st, keep, KIND, "h2", true, false, &kid), 0);
	li = link_in("gone", pid, 1700000600);
	cr_assert_eq(store_chat_link_create(st, &li), 0);
	li = link_in("kept", keep, 1700000600);
	cr_assert_eq(store_chat_link_create(st, &li), 0);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "t", 1700000000, 300, &first, &prev), 0);
	cr_assert_eq(store_chat_trigger_set_reply(st, iid, "t", "{}"), 0);
	cr_assert_eq(store_chat_trigger_claim(st, kid, "t", 1700000000, 300, &first, &prev), 0);
	cr_assert_eq(store_chat_name_create(st, alice, "team1", NULL, "mm-a", NULL, &cid), 0);

	cr_assert_eq(store_project_delete(st, pid), 0, "%s", error_msg());
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), SO_ENOTFOUND);
	cr_assert_eq(store_chat_link_get(st, "gone", 1700000000, &l), SO_ENOTFOUND);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "t", 1700000000, 300, &first, &prev),
		     SO_ENOTFOUND);
	cr_assert_eq(store_chat_trigger_set_reply(st, iid, "t", "{}"), SO_ENOTFOUND);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());

	/* the other project's rows and the user's chat name stay */
	cr_assert_eq(store_integration_get(st, keep, KIND, &in), 0);
	cr_assert_eq(in->id, kid);
	store_integration_free(in);
	cr_assert_eq(store_chat_link_get(st, "kept", 1700000000, &l), 0);
	store_chat_link_free(l);
	cr_assert_eq(store_chat_trigger_claim(st, kid, "t", 1700000001, 300, &first, &prev), 0);
	cr_assert_not(first);
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	store_chat_name_free(cn);
}

STORE_TEST(chat_cascades, user_delete_takes_chat_names_and_personal_projects)
{
	int64_t alice = 0, bob = mk_user(st, "bob");
	int64_t pid = mk_owner_project(st, "alice", &alice);
	int64_t iid = 0, bid = 0, id = 0;
	struct store_integration *in = NULL;
	struct store_chat_link *l = NULL;
	struct store_chat_link li;
	struct store_chat_name *cn = NULL;
	bool first = false;
	char *prev = NULL;

	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h1", true, false, &iid), 0);
	li = link_in("lk", pid, 1700000600);
	cr_assert_eq(store_chat_link_create(st, &li), 0);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "t", 1700000000, 300, &first, &prev), 0);
	cr_assert_eq(store_chat_name_create(st, alice, "team1", NULL, "mm-a", NULL, NULL), 0);
	cr_assert_eq(store_chat_name_create(st, alice, "team2", NULL, "mm-a", NULL, NULL), 0);
	cr_assert_eq(store_chat_name_create(st, bob, "team1", NULL, "mm-b", NULL, &bid), 0);

	cr_assert_eq(store_user_delete(st, alice), 0, "%s", error_msg());
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), SO_ENOTFOUND);
	cr_assert_eq(store_chat_name_find(st, "team2", "mm-a", &cn), SO_ENOTFOUND);
	/* personal namespace -> project -> integration, link, triggers */
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), SO_ENOTFOUND);
	cr_assert_eq(store_chat_link_get(st, "lk", 1700000000, &l), SO_ENOTFOUND);
	cr_assert_eq(store_chat_trigger_claim(st, iid, "t", 1700000000, 300, &first, &prev),
		     SO_ENOTFOUND);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());

	/* bob's link stays; alice's chat account is free to link again */
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-b", &cn), 0);
	cr_assert_eq(cn->id, bid);
	store_chat_name_free(cn);
	cr_assert_eq(store_chat_name_create(st, bob, "team1", NULL, "mm-a", NULL, &id), 0);
}

/* ---- schema upgrade ---- */

Test(chat_upgrade, database_from_version_1_upgrades_to_current)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct store_user *u = NULL;
	struct store_project *p = NULL;
	struct store_chat_name *cn = NULL;
	struct store_integration *in = NULL;
	int64_t uid, pid, iid = 0, cid = 0;
	int v = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open_version(&st, t.url, 0), SO_EINVALID);
	cr_assert_null(st);

	/* what slashops at schema 1 left behind */
	cr_assert_eq(store_open_version(&st, t.url, 1), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, 1);
	uid = mk_user(st, "old");
	pid = mk_project(st, mk_namespace(st, "old", "user", uid), uid, "proj", STORE_VIS_PUBLIC);
	/* the chat tables do not exist yet */
	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h", true, false, &iid), SO_EFAIL);
	store_close(st);

	/* the current binary upgrades it, keeping the data */
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());
	cr_assert_eq(store_user_get(st, uid, &u), 0);
	cr_assert_str_eq(u->username, "old");
	store_user_free(u);
	cr_assert_eq(store_project_get_by_path(st, "old/proj", &p), 0);
	cr_assert_eq(p->id, pid);
	store_project_free(p);
	cr_assert_eq(store_integration_upsert(st, pid, KIND, "h", true, false, &iid), 0, "%s",
		     error_msg());
	cr_assert_eq(store_chat_name_create(st, uid, "team1", NULL, "mm-a", "old", &cid), 0);
	store_close(st);

	/* reopening applies nothing more and keeps the new rows */
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	cr_assert_eq(store_integration_get(st, pid, KIND, &in), 0);
	cr_assert_eq(in->id, iid);
	cr_assert_str_eq(in->token_hash, "h");
	store_integration_free(in);
	cr_assert_eq(store_chat_name_find(st, "team1", "mm-a", &cn), 0);
	cr_assert_eq(cn->id, cid);
	store_chat_name_free(cn);
	store_close(st);

	/* a binary that only knows schema 1 refuses the upgraded file */
	cr_assert_eq(store_open_version(&st, t.url, 1), SO_EFAIL);
	cr_assert_null(st);
	cr_assert(strstr(error_msg(), "newer") != NULL, "%s", error_msg());
	tmpdb_remove(&t);
}

Test(chat_free, all_accept_null)
{
	store_integration_free(NULL);
	store_chat_name_free(NULL);
	store_chat_name_list_free(NULL);
	store_chat_link_free(NULL);
	cr_assert(true);
}
