/* Unit tests for the store's namespaces, projects and members: uniqueness
 * within a namespace, case-insensitive paths, the creator's Owner
 * membership, cascades, visibility rules, expiry and pagination. */
#include <time.h>

#include "store_test.h"
#include "util/clock.h"

static void day_offset(int days, char out[11])
{
	char iso[40];

	clock_iso_from_unix((time_t)(clock_unix() + (int64_t)days * 86400), iso, sizeof(iso));
	memcpy(out, iso, 10);
	out[10] = '\0';
}

STORE_TEST(namespaces, create_lookup_and_nesting)
{
	int64_t alice = mk_user(st, "alice");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	struct store_namespace *n = NULL;
	int64_t id = 0, sub = 0;

	cr_assert_eq(store_namespace_get(st, ns, &n), 0);
	cr_assert_str_eq(n->name, "alice");
	cr_assert_str_eq(n->path, "alice");
	cr_assert_str_eq(n->full_path, "alice");
	cr_assert_str_eq(n->kind, "user");
	cr_assert_eq(n->owner_id, alice);
	cr_assert_eq(n->parent_id, 0);
	store_namespace_free(n);

	cr_assert_eq(store_namespace_get_by_path(st, "ALICE", &n), 0);
	cr_assert_eq(n->id, ns);
	store_namespace_free(n);
	n = NULL;

	cr_assert_eq(store_namespace_create(st, "x", "Alice", "group", alice, &id), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Path has already been taken");

	/* a nested group creates its missing parents */
	cr_assert_eq(store_namespace_create(st, "Backend Team", "eng/backend", "group", alice,
					    &sub), 0, "%s", error_msg());
	cr_assert_eq(store_namespace_get(st, sub, &n), 0);
	cr_assert_str_eq(n->name, "Backend Team");
	cr_assert_str_eq(n->path, "backend");
	cr_assert_str_eq(n->full_path, "eng/backend");
	cr_assert_str_eq(n->kind, "group");
	id = n->parent_id;
	cr_assert_gt(id, 0);
	store_namespace_free(n);
	cr_assert_eq(store_namespace_get_by_path(st, "eng", &n), 0);
	cr_assert_eq(n->id, id);
	cr_assert_str_eq(n->kind, "group");
	store_namespace_free(n);
	n = NULL;

	cr_assert_eq(store_namespace_create(st, NULL, "alice/sub", "group", alice, &id),
		     SO_EINVALID);
	cr_assert_eq(store_namespace_create(st, NULL, "a//b", "group", alice, &id), SO_EINVALID);
	cr_assert_eq(store_namespace_create(st, NULL, "/a", "group", alice, &id), SO_EINVALID);
	cr_assert_eq(store_namespace_create(st, NULL, "x/y", "user", alice, &id), SO_EINVALID);
	cr_assert_eq(store_namespace_create(st, NULL, "z", "club", alice, &id), SO_EINVALID);
	cr_assert_eq(store_namespace_get_by_path(st, "nope", &n), SO_ENOTFOUND);
	cr_assert_null(n);
	cr_assert_eq(store_namespace_get(st, 9999, &n), SO_ENOTFOUND);
}

STORE_TEST(projects, create_owner_membership_and_lookup)
{
	int64_t alice = mk_user(st, "alice");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	struct store_project_new in = { .name = "Demo", .path = "demo", .namespace_id = ns,
					.description = "a demo", .visibility = STORE_VIS_INTERNAL,
					.creator_id = alice };
	struct store_project *p = NULL;
	struct store_member *m = NULL;
	int64_t id = 0, other = 0, owners = 0;
	int level = 0;

	cr_assert_eq(store_project_create(st, &in, &id), 0, "%s", error_msg());
	cr_assert_eq(store_project_get(st, id, &p), 0);
	cr_assert_str_eq(p->name, "Demo");
	cr_assert_str_eq(p->path, "demo");
	cr_assert_str_eq(p->path_with_namespace, "alice/demo");
	cr_assert_str_eq(p->description, "a demo");
	cr_assert_null(p->default_branch);
	cr_assert_eq(p->visibility, STORE_VIS_INTERNAL);
	cr_assert_eq(p->namespace_id, ns);
	cr_assert_eq(p->creator_id, alice);
	cr_assert_not_null(p->created_at);
	cr_assert_str_eq(p->last_activity_at, p->created_at);
	store_project_free(p);

	cr_assert_eq(store_member_access_level(st, id, alice, &level), 0);
	cr_assert_eq(level, 50);
	cr_assert_eq(store_member_get(st, id, alice, &m), 0);
	cr_assert_eq(m->access_level, 50);
	cr_assert_eq(m->created_by, alice);
	cr_assert_str_eq(m->user->username, "alice");
	store_member_free(m);
	cr_assert_eq(store_member_count_owners(st, id, &owners), 0);
	cr_assert_eq(owners, 1);

	cr_assert_eq(store_project_get_by_path(st, "ALICE/Demo", &p), 0);
	cr_assert_eq(p->id, id);
	store_project_free(p);
	p = NULL;
	cr_assert_eq(store_project_get_by_path(st, "alice/other", &p), SO_ENOTFOUND);
	cr_assert_eq(store_project_get_by_path(st, "alice", &p), SO_ENOTFOUND);
	cr_assert_eq(store_project_get_by_path(st, "bob/demo", &p), SO_ENOTFOUND);
	cr_assert_null(p);

	in.name = "Another";
	in.path = "DEMO";
	cr_assert_eq(store_project_create(st, &in, &other), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Path has already been taken");
	in.name = "Demo";
	in.path = "demo2";
	cr_assert_eq(store_project_create(st, &in, &other), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Name has already been taken");
	in.path = "a/b";
	cr_assert_eq(store_project_create(st, &in, &other), SO_EINVALID);
	in.path = "demo2";
	in.name = "Demo 2";
	in.namespace_id = 9999;
	cr_assert_eq(store_project_create(st, &in, &other), SO_ENOTFOUND);
	in.namespace_id = ns;
	in.visibility = (enum store_visibility)15;
	cr_assert_eq(store_project_create(st, &in, &other), SO_EINVALID);
	in.visibility = STORE_VIS_PUBLIC;
	in.creator_id = 9999;
	cr_assert_eq(store_project_create(st, &in, &other), SO_ENOTFOUND);
	/* the failed creation left nothing behind */
	cr_assert_eq(store_project_get_by_path(st, "alice/demo2", &p), SO_ENOTFOUND);
	in.creator_id = alice;
	cr_assert_eq(store_project_create(st, &in, &other), 0);
	cr_assert_neq(other, id);

	/* same path in another namespace is fine */
	in.namespace_id = mk_namespace(st, "team", "group", alice);
	in.path = "demo";
	in.name = "Demo";
	cr_assert_eq(store_project_create(st, &in, &other), 0);
	cr_assert_eq(store_project_get_by_path(st, "Team/DEMO", &p), 0);
	cr_assert_eq(p->id, other);
	cr_assert_str_eq(p->path_with_namespace, "team/demo");
	store_project_free(p);
}

STORE_TEST(projects, setters_and_delete_cascade)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	int64_t id = mk_project(st, ns, alice, "app", STORE_VIS_PRIVATE);
	struct store_project *p = NULL;
	struct store_member *m = NULL;
	int64_t owners = 9;
	int level = 9;

	cr_assert_eq(store_project_set_default_branch(st, id, "main"), 0);
	cr_assert_eq(store_project_get(st, id, &p), 0);
	cr_assert_str_eq(p->default_branch, "main");
	store_project_free(p);
	usleep(2000);
	cr_assert_eq(store_project_touch_activity(st, id), 0);
	cr_assert_eq(store_project_get(st, id, &p), 0);
	cr_assert_str_gt(p->last_activity_at, p->created_at);
	store_project_free(p);

	cr_assert_eq(store_member_add(st, id, bob, 30, NULL, alice), 0);
	cr_assert_eq(store_project_delete(st, id), 0);
	cr_assert_eq(store_project_get(st, id, &p), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "project not found");
	cr_assert_eq(store_member_get(st, id, bob, &m), SO_ENOTFOUND);
	cr_assert_eq(store_member_access_level(st, id, alice, &level), 0);
	cr_assert_eq(level, 0);
	cr_assert_eq(store_member_count_owners(st, id, &owners), 0);
	cr_assert_eq(owners, 0);
	cr_assert_eq(store_project_delete(st, id), SO_ENOTFOUND);
	cr_assert_eq(store_project_set_default_branch(st, id, "x"), SO_ENOTFOUND);
	cr_assert_eq(store_project_touch_activity(st, id), SO_ENOTFOUND);
	/* the path is free again */
	cr_assert_gt(mk_project(st, ns, alice, "app", STORE_VIS_PRIVATE), id);
}

static size_t ids_of(struct store_project **list, int64_t *out)
{
	size_t n;

	for (n = 0; list[n]; n++)
		out[n] = list[n]->id;
	return n;
}

STORE_TEST(projects, visibility_rules)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob"), root = mk_user(st, "root");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	int64_t a_priv = mk_project(st, ns, alice, "private", STORE_VIS_PRIVATE);
	int64_t a_int = mk_project(st, ns, alice, "internal", STORE_VIS_INTERNAL);
	int64_t a_pub = mk_project(st, ns, alice, "public", STORE_VIS_PUBLIC);
	int64_t a_priv2 = mk_project(st, ns, alice, "secret", STORE_VIS_PRIVATE);
	struct store_project **list = NULL;
	struct store_page page = { 1, 20 };
	int64_t ids[8], total = 0;
	size_t n;

	/* anonymous: public only */
	cr_assert_eq(store_project_list_visible(st, 0, false, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 1);
	cr_assert_eq(ids[0], a_pub);
	cr_assert_eq(total, 1);
	store_project_list_free(list);
	/* anonymous cannot claim admin */
	cr_assert_eq(store_project_list_visible(st, 0, true, &page, &list, &total), 0);
	cr_assert_eq(total, 1);
	store_project_list_free(list);

	/* signed in, no membership: internal + public, newest first */
	cr_assert_eq(store_project_list_visible(st, bob, false, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[0], a_pub);
	cr_assert_eq(ids[1], a_int);
	cr_assert_eq(total, 2);
	store_project_list_free(list);

	/* a membership adds that private project */
	cr_assert_eq(store_member_add(st, a_priv, bob, 20, NULL, alice), 0);
	cr_assert_eq(store_project_list_visible(st, bob, false, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 3);
	cr_assert_eq(ids[0], a_pub);
	cr_assert_eq(ids[1], a_int);
	cr_assert_eq(ids[2], a_priv);
	store_project_list_free(list);

	/* the owner sees everything of theirs */
	cr_assert_eq(store_project_list_visible(st, alice, false, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 4);
	cr_assert_eq(ids[0], a_priv2);
	cr_assert_eq(ids[3], a_priv);
	store_project_list_free(list);

	/* admins see everything, and pages split the list */
	page.per_page = 3;
	cr_assert_eq(store_project_list_visible(st, root, true, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 3);
	cr_assert_eq(total, 4);
	cr_assert_eq(ids[0], a_priv2);
	store_project_list_free(list);
	page.page = 2;
	cr_assert_eq(store_project_list_visible(st, root, true, &page, &list, &total), 0);
	n = ids_of(list, ids);
	cr_assert_eq(n, 1);
	cr_assert_eq(ids[0], a_priv);
	cr_assert_eq(total, 4);
	store_project_list_free(list);
	/* without the admin flag, root is an ordinary user */
	page.page = 1;
	cr_assert_eq(store_project_list_visible(st, root, false, &page, &list, &total), 0);
	cr_assert_eq(total, 2);
	store_project_list_free(list);
}

STORE_TEST(members, crud_list_and_owner_count)
{
	int64_t alice = mk_user(st, "alice");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	int64_t pid = mk_project(st, ns, alice, "app", STORE_VIS_PRIVATE);
	struct store_member *m = NULL, **list = NULL;
	struct store_page page = { 1, 2 };
	int64_t users[5], total = 0, owners = 0;
	char name[16];
	int level = 0;
	size_t n;

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		users[i] = mk_user(st, name);
	}
	cr_assert_eq(store_member_add(st, pid, users[0], 30, "2099-12-31", alice), 0);
	cr_assert_eq(store_member_add(st, pid, users[1], 40, NULL, 0), 0);
	cr_assert_eq(store_member_add(st, pid, users[2], 10, "", alice), 0);
	cr_assert_eq(store_member_add(st, pid, users[0], 20, NULL, alice), SO_EEXISTS);
	cr_assert_str_eq(error_msg(), "Member already exists");
	cr_assert_eq(store_member_add(st, pid, users[3], 35, NULL, alice), SO_EINVALID);
	cr_assert_eq(store_member_add(st, pid, users[3], 30, "31-12-2099", alice), SO_EINVALID);
	cr_assert_eq(store_member_add(st, pid, 9999, 30, NULL, alice), SO_ENOTFOUND);
	cr_assert_eq(store_member_add(st, 9999, users[3], 30, NULL, alice), SO_ENOTFOUND);

	cr_assert_eq(store_member_get(st, pid, users[0], &m), 0);
	cr_assert_eq(m->project_id, pid);
	cr_assert_eq(m->user_id, users[0]);
	cr_assert_eq(m->access_level, 30);
	cr_assert_str_eq(m->expires_at, "2099-12-31");
	cr_assert_eq(m->created_by, alice);
	cr_assert_not_null(m->created_at);
	cr_assert_str_eq(m->user->username, "m0");
	cr_assert_str_eq(m->user->email, "m0@example.com");
	store_member_free(m);
	cr_assert_eq(store_member_get(st, pid, users[1], &m), 0);
	cr_assert_eq(m->created_by, 0);
	cr_assert_null(m->expires_at);
	store_member_free(m);
	cr_assert_eq(store_member_get(st, pid, users[2], &m), 0);
	cr_assert_null(m->expires_at); /* "" means no expiry */
	store_member_free(m);
	m = NULL;
	cr_assert_eq(store_member_get(st, pid, users[4], &m), SO_ENOTFOUND);
	cr_assert_null(m);

	/* ordered by user id, paginated; alice (lowest id) first */
	cr_assert_eq(store_member_list(st, pid, &page, &list, &total), 0);
	cr_assert_eq(total, 4);
	cr_assert_eq(list[0]->user_id, alice);
	cr_assert_eq(list[1]->user_id, users[0]);
	cr_assert_null(list[2]);
	store_member_list_free(list);
	page.page = 2;
	cr_assert_eq(store_member_list(st, pid, &page, &list, &total), 0);
	cr_assert_eq(list[0]->user_id, users[1]);
	cr_assert_eq(list[1]->user_id, users[2]);
	cr_assert_str_eq(list[1]->user->username, "m2");
	for (n = 0; list[n]; n++)
		;
	cr_assert_eq(n, 2);
	store_member_list_free(list);

	cr_assert_eq(store_member_update(st, pid, users[1], 50, NULL), 0);
	cr_assert_eq(store_member_access_level(st, pid, users[1], &level), 0);
	cr_assert_eq(level, 50);
	cr_assert_eq(store_member_count_owners(st, pid, &owners), 0);
	cr_assert_eq(owners, 2);
	cr_assert_eq(store_member_update(st, pid, users[4], 30, NULL), SO_ENOTFOUND);
	cr_assert_eq(store_member_update(st, pid, users[1], 60, NULL), SO_EINVALID);

	cr_assert_eq(store_member_remove(st, pid, users[1]), 0);
	cr_assert_eq(store_member_access_level(st, pid, users[1], &level), 0);
	cr_assert_eq(level, 0);
	cr_assert_eq(store_member_count_owners(st, pid, &owners), 0);
	cr_assert_eq(owners, 1);
	cr_assert_eq(store_member_remove(st, pid, users[1]), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "member not found");
}

STORE_TEST(members, expired_membership_counts_as_none)
{
	int64_t alice = mk_user(st, "alice"), bob = mk_user(st, "bob");
	int64_t ns = mk_namespace(st, "alice", "user", alice);
	int64_t pid = mk_project(st, ns, alice, "app", STORE_VIS_PRIVATE);
	struct store_project **list = NULL;
	char yesterday[11], today[11], tomorrow[11];
	int64_t total = -1, owners = 0;
	int level = -1;

	day_offset(-1, yesterday);
	day_offset(0, today);
	day_offset(1, tomorrow);
	cr_assert_eq(store_member_add(st, pid, bob, 30, yesterday, alice), 0);
	cr_assert_eq(store_member_access_level(st, pid, bob, &level), 0);
	cr_assert_eq(level, 0);
	cr_assert_eq(store_project_list_visible(st, bob, false, NULL, &list, &total), 0);
	cr_assert_eq(total, 0);
	cr_assert_null(list[0]);
	store_project_list_free(list);

	/* valid through its expiry day */
	cr_assert_eq(store_member_update(st, pid, bob, 30, today), 0);
	cr_assert_eq(store_member_access_level(st, pid, bob, &level), 0);
	cr_assert_eq(level, 30);
	cr_assert_eq(store_member_update(st, pid, bob, 40, tomorrow), 0);
	cr_assert_eq(store_member_access_level(st, pid, bob, &level), 0);
	cr_assert_eq(level, 40);
	cr_assert_eq(store_project_list_visible(st, bob, false, NULL, &list, &total), 0);
	cr_assert_eq(total, 1);
	cr_assert_eq(list[0]->id, pid);
	store_project_list_free(list);

	/* an expired owner is not counted */
	cr_assert_eq(store_member_update(st, pid, bob, 50, yesterday), 0);
	cr_assert_eq(store_member_count_owners(st, pid, &owners), 0);
	cr_assert_eq(owners, 1);
	cr_assert_eq(store_member_update(st, pid, bob, 50, NULL), 0);
	cr_assert_eq(store_member_count_owners(st, pid, &owners), 0);
	cr_assert_eq(owners, 2);
}
