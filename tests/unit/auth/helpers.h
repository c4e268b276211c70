/*
 * helpers.h: a real store on a temporary file and a hand-made struct app
 * (zeroed config, the store, a random hex secret key) for auth and web
 * unit tests, plus user and project shortcuts.
 */
#ifndef SO_TESTS_AUTH_HELPERS_H
#define SO_TESTS_AUTH_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"
#include "store/store.h"

struct app *test_app_open(void);
void test_app_close(struct app *app);
/* Creates an active user (and its namespace) with password, returns its id. */
int64_t test_user(struct app *app, const char *username, const char *password, bool admin);
/* Creates a project in user owner's namespace; owner becomes Owner. */
int64_t test_project(struct app *app, int64_t owner, const char *owner_name, const char *path,
		     enum store_visibility vis);

#endif
