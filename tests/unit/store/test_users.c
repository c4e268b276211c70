/* Unit tests for the store's users, tokens and sessions: CRUD, GitLab's
 * uniqueness messages, case-insensitive lookups, pagination and cascades,
 * each against a SQLite file and an in-memory database. */
#include <time.h>

#include "store_test.h"
#include "util/clock.h"

STORE_TEST(users, create_get_and_login_lookup)
{
	struct store_user_new in = { .username = "Alice", .email = "alice@example.com",
				     .name = "Alice A.", .password_hash = "$argon2id$x",
				     .is_admin = true };
	struct store_user *u = NULL;
	int64_t id = 0, n = 0;

	cr_assert_eq(store_user_create(st, &in, &id), 0, "%s", error_msg());
	cr_assert_eq(store_user_get(st, id, &u), 0);
	cr_assert_eq(u->id, id);
	cr_assert_str_eq(u->username, "Alice");
	cr_assert_str_eq(u->email, "alice@example.com");
	cr_assert_str_eq(u->name, "Alice A.");
	cr_assert_str_eq(u->password_hash, "$argon2id$x");
	cr_assert(u->is_admin);
	cr_assert_eq(u->state, STORE_USER_ACTIVE);
	cr_assert_null(u->last_activity_on);
	/* "2026-11-22T02:24:00.123Z" */
	cr_assert_eq(strlen(u->created_at), 24, "%s", u->created_at);
	cr_assert_eq(u->created_at[10], 'T');
	cr_assert_eq(u->created_at[23], 'Z');
	store_user_free(u);
	u = NULL;

	cr_assert_eq(store_user_get_by_login(st, "aLiCe", &u), 0);
	cr_assert_eq(u->id, id);
	store_user_free(u);
	u = NULL;
	cr_assert_eq(store_user_get_by_login(st, "ALICE@example.com", &u), 0);
	cr_assert_eq(u->id, id);
	store_user_free(u);
	u = NULL;

	cr_assert_eq(store_user_get_by_login(st, "nobody", &u), SO_ENOTFOUND);
	cr_assert_null(u);
	cr_assert_str_eq(error_msg(), "user not found");
	cr_assert_eq(store_user_get(st, id + 100, &u), SO_ENOTFOUND);
	cr_assert_eq(store_user_get(st, 0, &u), SO_ENOTFOUND);
	cr_assert_eq(store_user_count(st, &n), 0);
	cr_assert_eq(n, 1);
}

STORE_TEST(users, uniqueness_messages)
{
	struct store_user_new in = { .username = "bob", .email = "bob@example.com",
				     .name = "Bob" };
	int64_t id = 0, n = 0;

	cr_assert_eq(store_user_create(st, &in, &id), 0);
	in.username = "BOB";
	in.email = "other@example.com";
	cr_assert_eq(store_user_create(st, &in, &id), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Username has already been taken");
	in.username = "robert";
	in.email = "Bob@Example.com";
	cr_assert_eq(store_user_create(st, &in, &id), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Email has already been taken");
	in.email = "robert@example.com";
	cr_assert_eq(store_user_create(st, &in, &id), 0);
	in.username = "";
	cr_assert_eq(store_user_create(st, &in, &id), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Username can't be blank");
	in.username = "carol";
	in.email = NULL;
	cr_assert_eq(store_user_create(st, &in, &id), SO_EINVALID);
	cr_assert_eq(store_user_count(st, &n), 0);
	cr_assert_eq(n, 2);
}

STORE_TEST(users, list_paginates_with_total)
{
	struct store_user **list = NULL;
	struct store_page page = { 1, 10 };
	int64_t ids[25], total = 0;
	char name[32];
	size_t n;

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "user%02d", i);
		ids[i] = mk_user(st, name);
	}
	cr_assert_eq(store_user_list(st, &page, &list, &total), 0);
	cr_assert_eq(total, 25);
	for (n = 0; list[n]; n++)
		cr_assert_eq(list[n]->id, ids[n]);
	cr_assert_eq(n, 10);
	store_user_list_free(list);

	page.page = 3;
	cr_assert_eq(store_user_list(st, &page, &list, &total), 0);
	for (n = 0; list[n]; n++)
		cr_assert_eq(list[n]->id, ids[20 + n]);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(list[0]->username, "user20");
	store_user_list_free(list);

	page.page = 4;
	cr_assert_eq(store_user_list(st, &page, &list, &total), 0);
	cr_assert_not_null(list);
	cr_assert_null(list[0]);
	cr_assert_eq(total, 25);
	store_user_list_free(list);

	/* invalid values are clamped: page 1, default per_page 20 */
	page.page = -3;
	page.per_page = 0;
	cr_assert_eq(store_user_list(st, &page, &list, &total), 0);
	for (n = 0; list[n]; n++)
		;
	cr_assert_eq(n, 20);
	cr_assert_eq(list[0]->id, ids[0]);
	store_user_list_free(list);

	page.page = 1;
	page.per_page = 100000;
	cr_assert_eq(store_user_list(st, &page, &list, NULL), 0);
	for (n = 0; list[n]; n++)
		;
	cr_assert_eq(n, 25);
	store_user_list_free(list);
}

Test(users, per_page_is_capped_at_100)
{
	struct store *st = NULL;
	struct store_user **list = NULL;
	struct store_page page = { 1, 500 };
	char name[32];
	int64_t total = 0;
	size_t n;

	cr_assert_eq(store_open(&st, "sqlite::memory:"), 0);
	for (int i = 0; i < 130; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		mk_user(st, name);
	}
	cr_assert_eq(store_user_list(st, &page, &list, &total), 0);
	for (n = 0; list[n]; n++)
		;
	cr_assert_eq(n, 100);
	cr_assert_eq(total, 130);
	store_user_list_free(list);
	store_close(st);
}

STORE_TEST(users, setters_and_activity)
{
	struct store_user *u = NULL;
	int64_t id = mk_user(st, "dave");
	char now[40];

	cr_assert_eq(store_user_set_state(st, id, STORE_USER_BLOCKED), 0);
	cr_assert_eq(store_user_set_password(st, id, "$argon2id$new"), 0);
	cr_assert_eq(store_user_set_admin(st, id, true), 0);
	cr_assert_eq(store_user_touch_activity(st, id), 0);
	cr_assert_eq(store_user_touch_activity(st, id), 0);
	cr_assert_eq(store_user_get(st, id, &u), 0);
	cr_assert_eq(u->state, STORE_USER_BLOCKED);
	cr_assert_str_eq(u->password_hash, "$argon2id$new");
	cr_assert(u->is_admin);
	clock_now_iso(now, sizeof(now));
	now[10] = '\0';
	cr_assert_str_eq(u->last_activity_on, now);
	store_user_free(u);

	cr_assert_eq(store_user_set_admin(st, id, false), 0);
	cr_assert_eq(store_user_set_state(st, id, STORE_USER_DEACTIVATED), 0);
	cr_assert_eq(store_user_get(st, id, &u), 0);
	cr_assert_not(u->is_admin);
	cr_assert_eq(u->state, STORE_USER_DEACTIVATED);
	store_user_free(u);

	cr_assert_eq(store_user_set_state(st, id, (enum store_user_state)7), SO_EINVALID);
	cr_assert_eq(store_user_set_state(st, id + 1, STORE_USER_ACTIVE), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user not found");
	cr_assert_eq(store_user_set_password(st, id + 1, "x"), SO_ENOTFOUND);
	cr_assert_eq(store_user_set_admin(st, id + 1, true), SO_ENOTFOUND);
	cr_assert_eq(store_user_touch_activity(st, id + 1), SO_ENOTFOUND);
}

STORE_TEST(tokens, create_lookup_list_revoke_touch)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob");
	struct store_token_new in = { .user_id = alice, .name = "ci", .scopes = "api read_api",
				      .token_hash = "aa11", .expires_at = "2099-01-31" };
	struct store_token *t = NULL, **list = NULL;
	int64_t t1 = 0, t2 = 0, t3 = 0;
	char *first_use;

	cr_assert_eq(store_token_create(st, &in, &t1), 0, "%s", error_msg());
	in.name = "second";
	in.token_hash = "bb22";
	in.expires_at = NULL;
	cr_assert_eq(store_token_create(st, &in, &t2), 0);
	in.user_id = bob;
	in.token_hash = "cc33";
	cr_assert_eq(store_token_create(st, &in, &t3), 0);

	cr_assert_eq(store_token_get_by_hash(st, "aa11", &t), 0);
	cr_assert_eq(t->id, t1);
	cr_assert_eq(t->user_id, alice);
	cr_assert_str_eq(t->name, "ci");
	cr_assert_str_eq(t->scopes, "api read_api");
	cr_assert_str_eq(t->token_hash, "aa11");
	cr_assert_str_eq(t->expires_at, "2099-01-31");
	cr_assert_not(t->revoked);
	cr_assert_null(t->last_used_at);
	cr_assert_not_null(t->created_at);
	store_token_free(t);

	cr_assert_eq(store_token_list_for_user(st, alice, &list), 0);
	cr_assert_eq(list[0]->id, t1);
	cr_assert_eq(list[1]->id, t2);
	cr_assert_null(list[1]->expires_at);
	cr_assert_null(list[2]);
	store_token_list_free(list);
	cr_assert_eq(store_token_list_for_user(st, 9999, &list), 0);
	cr_assert_null(list[0]);
	store_token_list_free(list);

	/* revoked tokens are still returned, flagged */
	cr_assert_eq(store_token_revoke(st, t2), 0);
	cr_assert_eq(store_token_get_by_hash(st, "bb22", &t), 0);
	cr_assert(t->revoked);
	store_token_free(t);

	cr_assert_eq(store_token_touch(st, t1), 0);
	cr_assert_eq(store_token_get_by_hash(st, "aa11", &t), 0);
	cr_assert_not_null(t->last_used_at);
	first_use = strdup(t->last_used_at);
	store_token_free(t);
	usleep(5000);
	/* within the minute: no new write */
	cr_assert_eq(store_token_touch(st, t1), 0);
	cr_assert_eq(store_token_get_by_hash(st, "aa11", &t), 0);
	cr_assert_str_eq(t->last_used_at, first_use);
	store_token_free(t);
	free(first_use);

	cr_assert_eq(store_token_get_by_hash(st, "nope", &t), SO_ENOTFOUND);
	cr_assert_null(t);
	cr_assert_eq(store_token_revoke(st, 999), SO_ENOTFOUND);
	cr_assert_eq(store_token_touch(st, 999), SO_ENOTFOUND);

	in.token_hash = "aa11";
	cr_assert_eq(store_token_create(st, &in, &t3), SO_EEXISTS);
	in.token_hash = "dd44";
	in.user_id = 4242;
	cr_assert_eq(store_token_create(st, &in, &t3), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user not found");
	in.user_id = alice;
	in.expires_at = "tomorrow";
	cr_assert_eq(store_token_create(st, &in, &t3), SO_EINVALID);
	in.expires_at = "2030-13-01";
	cr_assert_eq(store_token_create(st, &in, &t3), SO_EINVALID);
	in.expires_at = NULL;
	in.name = " ";
	cr_assert_eq(store_token_create(st, &in, &t3), SO_EINVALID);
}

STORE_TEST(sessions, lifecycle)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob");
	int64_t now = clock_unix();
	struct store_session *s = NULL;

	cr_assert_eq(store_session_create(st, "h1", alice, "csrf1", now + 3600), 0);
	cr_assert_eq(store_session_create(st, "h2", alice, "csrf2", now + 3600), 0);
	cr_assert_eq(store_session_create(st, "h3", bob, "csrf3", now - 1), 0);
	cr_assert_eq(store_session_create(st, "h4", bob, "csrf4", now + 3600), 0);
	cr_assert_eq(store_session_create(st, "h1", bob, "x", now + 3600), SO_EEXISTS);
	cr_assert_eq(store_session_create(st, "h9", 999, "x", now + 3600), SO_ENOTFOUND);

	cr_assert_eq(store_session_get(st, "h1", &s), 0);
	cr_assert_str_eq(s->id_hash, "h1");
	cr_assert_eq(s->user_id, alice);
	cr_assert_str_eq(s->csrf_token, "csrf1");
	cr_assert_eq(s->expires_at, now + 3600);
	cr_assert_not_null(s->created_at);
	store_session_free(s);
	s = NULL;

	/* expired */
	cr_assert_eq(store_session_get(st, "h3", &s), SO_ENOTFOUND);
	cr_assert_null(s);
	cr_assert_eq(store_session_purge_expired(st, now), 0);
	cr_assert_eq(store_session_get(st, "h4", &s), 0);
	store_session_free(s);

	cr_assert_eq(store_session_delete(st, "h1"), 0);
	cr_assert_eq(store_session_get(st, "h1", &s), SO_ENOTFOUND);
	cr_assert_eq(store_session_delete(st, "h1"), 0); /* idempotent */
	cr_assert_eq(store_session_get(st, "h2", &s), 0);
	store_session_free(s);
	cr_assert_eq(store_session_delete_for_user(st, alice), 0);
	cr_assert_eq(store_session_get(st, "h2", &s), SO_ENOTFOUND);
	cr_assert_eq(store_session_get(st, "h4", &s), 0);
	store_session_free(s);
}

STORE_TEST(users, delete_cascades)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob");
	int64_t ns_alice = mk_namespace(st, "alice", "user", alice);
	int64_t ns_bob = mk_namespace(st, "bob", "user", bob);
	int64_t grp = mk_namespace(st, "team", "group", alice);
	int64_t p_alice = mk_project(st, ns_alice, alice, "mine", STORE_VIS_PRIVATE);
	int64_t p_bob = mk_project(st, ns_bob, bob, "bobs", STORE_VIS_PRIVATE);
	int64_t p_team = mk_project(st, grp, alice, "shared", STORE_VIS_PRIVATE);
	struct store_token_new tok = { .user_id = alice, .name = "t", .scopes = "api",
				       .token_hash = "hash-a" };
	struct store_token *t = NULL;
	struct store_session *s = NULL;
	struct store_project *p = NULL;
	struct store_namespace *ns = NULL;
	int64_t id, owners = 0;
	int level = -1;

	cr_assert_eq(store_token_create(st, &tok, &id), 0);
	cr_assert_eq(store_session_create(st, "sess-a", alice, "c", clock_unix() + 60), 0);
	cr_assert_eq(store_member_add(st, p_bob, alice, 30, NULL, bob), 0);
	cr_assert_eq(store_member_add(st, p_team, bob, 50, NULL, alice), 0);

	cr_assert_eq(store_user_delete(st, alice), 0);
	cr_assert_eq(store_user_get(st, alice, &(struct store_user *){ NULL }), SO_ENOTFOUND);
	cr_assert_eq(store_token_get_by_hash(st, "hash-a", &t), SO_ENOTFOUND);
	cr_assert_eq(store_session_get(st, "sess-a", &s), SO_ENOTFOUND);
	cr_assert_eq(store_member_access_level(st, p_bob, alice, &level), 0);
	cr_assert_eq(level, 0);
	/* personal namespace and its project are gone */
	cr_assert_eq(store_namespace_get(st, ns_alice, &ns), SO_ENOTFOUND);
	cr_assert_eq(store_project_get(st, p_alice, &p), SO_ENOTFOUND);
	/* the group and its project stay; the creator is now unknown */
	cr_assert_eq(store_namespace_get(st, grp, &ns), 0);
	cr_assert_eq(ns->owner_id, 0);
	store_namespace_free(ns);
	cr_assert_eq(store_project_get(st, p_team, &p), 0);
	cr_assert_eq(p->creator_id, 0);
	store_project_free(p);
	cr_assert_eq(store_member_count_owners(st, p_team, &owners), 0);
	cr_assert_eq(owners, 1);
	cr_assert_eq(store_project_get(st, p_bob, &p), 0);
	store_project_free(p);
	cr_assert_eq(store_user_delete(st, alice), SO_ENOTFOUND);
}

Test(free, all_accept_null)
{
	store_user_free(NULL);
	store_user_list_free(NULL);
	store_token_free(NULL);
	store_token_list_free(NULL);
	store_session_free(NULL);
	store_namespace_free(NULL);
	store_project_free(NULL);
	store_project_list_free(NULL);
	store_member_free(NULL);
	store_member_list_free(NULL);
	store_close(NULL);
	cr_assert(true);
}
