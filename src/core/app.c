/*
 * app.c: opens and closes the application context (see app.h).
 *
 * The data directory holds everything slashops keeps:
 *   <data_dir>/slashops.db      the SQLite store (unless store.url says otherwise)
 *   <data_dir>/secret.key       32 random bytes (hex) keying token and session hashes
 *   <data_dir>/repositories/    one bare git repository per project
 *   <data_dir>/tmp/             spill files (e.g. large git responses)
 * It is created mode 0700, and the key 0600, so job processes running as
 * another user cannot read them (issue 5).
 */
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_BYTES 32

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int err = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err = error_set(SO_EFAIL, "cannot create %s: %s", p, strerror(errno));
			goto done;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		err = error_set(SO_EFAIL, "cannot create %s: %s", p, strerror(errno));
done:
	free(p);
	return err;
}

/* Reads <data_dir>/secret.key, creating it (O_EXCL, 0600) on first start. */
static int load_secret(const char *data_dir, char **out)
{
	char *path = xasprintf("%s/secret.key", data_dir);
	unsigned char raw[SECRET_BYTES];
	char hex[SECRET_BYTES * 2 + 2];
	ssize_t n;
	int fd = -1, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		sodium_memzero(raw, sizeof(raw));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			size_t len = strlen(hex);
			if (write(fd, hex, len) != (ssize_t)len || fsync(fd) < 0) {
				err = error_set(SO_EFAIL, "cannot write %s: %s", path, strerror(errno));
				goto done;
			}
			close(fd);
		}
		/* Either we wrote it, or another process won the race: read it. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		err = error_set(SO_EFAIL, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	n = read(fd, hex, sizeof(hex) - 1);
	if (n < SECRET_BYTES * 2) {
		err = error_set(SO_EFAIL, "%s is damaged (expected %d hex characters)", path,
				SECRET_BYTES * 2);
		goto done;
	}
	hex[SECRET_BYTES * 2] = '\0';
	*out = xstrdup(hex);
done:
	if (fd >= 0)
		close(fd);
	sodium_memzero(hex, sizeof(hex));
	free(path);
	return err;
}

int app_open(struct app **out, struct config *cfg)
{
	struct app *app = xcalloc(1, sizeof(*app));
	char *tmp = NULL;
	int err;

	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	tmp = xasprintf("%s/tmp", app->cfg.data_dir);
	if (sodium_init() < 0) {
		err = error_set(SO_EFAIL, "libsodium failed to initialise");
		goto fail;
	}
	if ((err = mkdir_p(app->cfg.data_dir, 0700)) < 0 ||
	    (err = mkdir_p(app->cfg.repos_dir, 0700)) < 0 ||
	    (err = mkdir_p(tmp, 0700)) < 0 ||
	    (err = load_secret(app->cfg.data_dir, &app->secret_key)) < 0 ||
	    (err = store_open(&app->store, app->cfg.store_url)) < 0)
		goto fail;
	chmod(app->cfg.data_dir, 0700);
	free(tmp);
	*out = app;
	return 0;
fail:
	free(tmp);
	app_close(app);
	return err;
}

void app_close(struct app *app)
{
	if (!app)
		return;
	store_close(app->store);
	if (app->secret_key) {
		sodium_memzero(app->secret_key, strlen(app->secret_key));
		free(app->secret_key);
	}
	config_dispose(&app->cfg);
	free(app);
}
