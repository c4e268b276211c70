/*
 * store_test.h: helpers shared by the store unit tests: a scratch
 * database in a fresh mkdtemp() directory, and STORE_TEST(), which defines
 * one test body and runs it twice, against a real SQLite file and against
 * "sqlite::memory:".
 */
#ifndef SO_TESTS_STORE_TEST_H
#define SO_TESTS_STORE_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/error.h"

/* The schema version the current code migrates to (sqlite.c). */
#define STORE_TEST_SCHEMA 3

struct tmpdb {
	char dir[64];
	char path[128];
	char url[160];
};

static inline void tmpdb_init(struct tmpdb *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/so-store-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/slashops.db", t->dir);
	snprintf(t->url, sizeof(t->url), "sqlite:%s", t->path);
}

static inline void tmpdb_remove(struct tmpdb *t)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

#define STORE_TEST(suite, name)                                                   \
	static void name##_body(struct store *st);                               \
	Test(suite, name##_file)                                                  \
	{                                                                         \
		struct tmpdb t;                                                   \
		struct store *st = NULL;                                          \
		tmpdb_init(&t);                                                   \
		cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());       \
		name##_body(st);                                                  \
		cr_assert_eq(store_check(st), 0, "%s", error_msg());              \
		store_close(st);                                                  \
		tmpdb_remove(&t);                                                 \
	}                                                                         \
	Test(suite, name##_memory)                                                \
	{                                                                         \
		struct store *st = NULL;                                          \
		cr_assert_eq(store_open(&st, "sqlite::memory:"), 0, "%s", error_msg()); \
		name##_body(st);                                                  \
		cr_assert_eq(store_check(st), 0, "%s", error_msg());              \
		store_close(st);                                                  \
	}                                                                         \
	static void name##_body(struct store *st)

/* Creates a user "name" <name@example.com> and returns its id. */
static inline int64_t mk_user(struct store *st, const char *name)
{
	char email[128];
	struct store_user_new in = { 0 };
	int64_t id = 0;

	snprintf(email, sizeof(email), "%s@example.com", name);
	in.username = name;
	in.email = email;
	in.name = name;
	in.password_hash = "$argon2id$fake";
	cr_assert_eq(store_user_create(st, &in, &id), 0, "%s", error_msg());
	cr_assert_gt(id, 0);
	return id;
}

/* Creates the user's namespace and a project in it; returns the project id. */
static inline int64_t mk_project(struct store *st, int64_t ns, int64_t creator, const char *path,
				 enum store_visibility vis)
{
	struct store_project_new in = { 0 };
	int64_t id = 0;

	in.name = path;
	in.path = path;
	in.namespace_id = ns;
	in.visibility = vis;
	in.creator_id = creator;
	cr_assert_eq(store_project_create(st, &in, &id), 0, "%s", error_msg());
	cr_assert_gt(id, 0);
	return id;
}

static inline int64_t mk_namespace(struct store *st, const char *full_path, const char *kind,
				   int64_t owner)
{
	int64_t id = 0;

	cr_assert_eq(store_namespace_create(st, NULL, full_path, kind, owner, &id), 0, "%s",
		     error_msg());
	cr_assert_gt(id, 0);
	return id;
}

#endif
