/* Unit tests for auth/access.c: access levels and visibility for admins,
 * members and non-members in private, internal and public projects. */
#include <criterion/criterion.h>

#include "auth/auth.h"
#include "helpers.h"
#include "util/error.h"

struct expect {
	int level;
	bool can_read;
};

static void check(struct app *app, const struct store_user *u, int64_t project, struct expect e,
		  const char *what)
{
	int level = -1;
	bool can_read = !e.can_read;

	cr_assert_eq(auth_project_access(app, u, project, &level, &can_read), 0, "%s: %s", what,
		     error_msg());
	cr_assert_eq(level, e.level, "%s: level %d, expected %d", what, level, e.level);
	cr_assert_eq(can_read, e.can_read, "%s: can_read %d", what, can_read);
}

Test(access, levels_by_role_and_visibility)
{
	struct app *app = test_app_open();
	int64_t owner = test_user(app, "owner", "owner-password", false);
	int64_t admin_id = test_user(app, "admin", "admin-password", true);
	int64_t dev_id = test_user(app, "dev", "dev-password", false);
	int64_t stranger_id = test_user(app, "stranger", "stranger-password", false);
	int64_t priv = test_project(app, owner, "owner", "priv", STORE_VIS_PRIVATE);
	int64_t internal = test_project(app, owner, "owner", "internal", STORE_VIS_INTERNAL);
	int64_t pub = test_project(app, owner, "owner", "pub", STORE_VIS_PUBLIC);
	struct store_user *own = NULL, *admin = NULL, *dev = NULL, *stranger = NULL;
	int level;
	bool can_read;

	cr_assert_eq(store_user_get(app->store, owner, &own), 0);
	cr_assert_eq(store_user_get(app->store, admin_id, &admin), 0);
	cr_assert_eq(store_user_get(app->store, dev_id, &dev), 0);
	cr_assert_eq(store_user_get(app->store, stranger_id, &stranger), 0);
	for (int64_t p = priv; p <= pub; p++)
		cr_assert_eq(store_member_add(app->store, p, dev_id, AUTH_ACCESS_DEVELOPER, NULL,
					      owner), 0, "%s", error_msg());

	check(app, own, priv, (struct expect){ 50, true }, "creator/private");
	check(app, admin, priv, (struct expect){ 50, true }, "admin/private");
	check(app, admin, pub, (struct expect){ 50, true }, "admin/public");
	check(app, dev, priv, (struct expect){ 30, true }, "developer/private");
	check(app, dev, internal, (struct expect){ 30, true }, "developer/internal");
	check(app, stranger, priv, (struct expect){ 0, false }, "non-member/private");
	check(app, stranger, internal, (struct expect){ 0, true }, "non-member/internal");
	check(app, stranger, pub, (struct expect){ 0, true }, "non-member/public");
	check(app, NULL, priv, (struct expect){ 0, false }, "anonymous/private");
	check(app, NULL, internal, (struct expect){ 0, false }, "anonymous/internal");
	check(app, NULL, pub, (struct expect){ 0, true }, "anonymous/public");

	/* a guest member sees a private project with Guest level */
	cr_assert_eq(store_member_add(app->store, priv, stranger_id, AUTH_ACCESS_GUEST, NULL,
				      owner), 0);
	check(app, stranger, priv, (struct expect){ 10, true }, "guest/private");

	/* a blocked user counts as nobody, even an admin */
	admin->state = STORE_USER_BLOCKED;
	check(app, admin, priv, (struct expect){ 0, false }, "blocked admin/private");
	check(app, admin, internal, (struct expect){ 0, false }, "blocked admin/internal");

	cr_assert_eq(auth_project_access(app, own, 999999, &level, &can_read), SO_ENOTFOUND);
	cr_assert_eq(level, 0);
	cr_assert_not(can_read);

	store_user_free(own);
	store_user_free(admin);
	store_user_free(dev);
	store_user_free(stranger);
	test_app_close(app);
}
