/*
 * access.c: a user's access level in a project, GitLab's way.
 *
 * Design: administrators are Owner everywhere. Anyone else has the level
 * of their membership (store_member_access_level; expired memberships
 * count as none). Seeing a project (can_read) needs Guest or more, or a
 * public project, or an internal project and a signed-in user. Only
 * active users count as signed in. What a level permits (pull needs
 * Reporter, push needs Developer, ...) is decided by the callers.
 */
#include "auth/auth.h"
#include "core/app.h"
#include "store/store.h"
#include "util/error.h"

int auth_project_access(struct app *app, const struct store_user *user, int64_t project_id,
			int *level_out, bool *can_read_out)
{
	struct store_project *p = NULL;
	bool signed_in = user && user->state == STORE_USER_ACTIVE;
	int level = AUTH_ACCESS_NONE, err;

	*level_out = AUTH_ACCESS_NONE;
	*can_read_out = false;
	if ((err = store_project_get(app->store, project_id, &p)) < 0)
		goto done;
	if (signed_in && user->is_admin)
		level = AUTH_ACCESS_OWNER;
	else if (signed_in && (err = store_member_access_level(app->store, project_id, user->id,
								&level)) < 0)
		goto done;
	*level_out = level;
	*can_read_out = level >= AUTH_ACCESS_GUEST || p->visibility == STORE_VIS_PUBLIC ||
			(p->visibility == STORE_VIS_INTERNAL && signed_in);
	err = 0;
done:
	store_project_free(p);
	return err;
}
