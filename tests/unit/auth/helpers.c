/*
 * helpers.c: see helpers.h. Each app gets its own database file under
 * /tmp, removed again by test_app_close().
 */
#include "helpers.h"
#include "auth/auth.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct test_app {
	struct app app;
	char path[64];
};

struct app *test_app_open(void)
{
	struct test_app *t = xcalloc(1, sizeof(*t));
	unsigned char key[32];
	char hex[65], *url;
	int fd;

	cr_assert_eq(auth_init(), 0);
	log_init(LOG_WARN, 2);
	snprintf(t->path, sizeof(t->path), "/tmp/so-auth-test-XXXXXX");
	fd = mkstemp(t->path);
	cr_assert(fd >= 0);
	close(fd);
	unlink(t->path);
	url = xasprintf("sqlite:%s", t->path);
	cr_assert_eq(store_open(&t->app.store, url), 0, "store_open: %s", error_msg());
	free(url);
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	t->app.secret_key = xstrdup(hex);
	return &t->app;
}

void test_app_close(struct app *app)
{
	struct test_app *t = (struct test_app *)app;
	char *p;

	if (!app)
		return;
	store_close(app->store);
	free(app->secret_key);
	free(app->cfg.external_url);
	unlink(t->path);
	p = xasprintf("%s-wal", t->path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", t->path);
	unlink(p);
	free(p);
	free(t);
}

int64_t test_user(struct app *app, const char *username, const char *password, bool admin)
{
	char *hash = NULL, *email = xasprintf("%s@example.com", username);
	struct store_user_new in;
	int64_t id = 0, ns = 0;

	cr_assert_eq(auth_password_hash(password, &hash), 0, "%s", error_msg());
	in = (struct store_user_new){ username, email, username, hash, admin };
	cr_assert_eq(store_user_create(app->store, &in, &id), 0, "%s", error_msg());
	cr_assert_eq(store_namespace_create(app->store, username, username, "user", id, &ns), 0,
		     "%s", error_msg());
	free(hash);
	free(email);
	return id;
}

int64_t test_project(struct app *app, int64_t owner, const char *owner_name, const char *path,
		     enum store_visibility vis)
{
	struct store_namespace *ns = NULL;
	struct store_project_new in;
	int64_t id = 0;

	cr_assert_eq(store_namespace_get_by_path(app->store, owner_name, &ns), 0, "%s", error_msg());
	in = (struct store_project_new){
		.name = path, .path = path, .namespace_id = ns->id, .visibility = vis,
		.creator_id = owner,
	};
	cr_assert_eq(store_project_create(app->store, &in, &id), 0, "%s", error_msg());
	store_namespace_free(ns);
	return id;
}
