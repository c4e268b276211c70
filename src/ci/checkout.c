/*
 * ci/checkout.c: a .gitlab-ci.yml in a plain checkout on disk, for the
 * commands that work without a server (`slashops lint`, `slashops ci
 * plan`); see checkout.h. Files are read with size caps; paths that climb
 * out of the root ("../") are refused; listing skips .git and stops at
 * CHECKOUT_MAX_LISTED files.
 */
#include "ci/checkout.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ci/config.h"
#include "ci/vars.h"
#include "util/buf.h"
#include "util/error.h"

#define CHECKOUT_MAX_FILE (4u << 20)
#define CHECKOUT_MAX_LISTED 100000

struct ci_checkout {
	char *root;  /* the repository root directory */
	char *rel;   /* the configuration file, relative to root */
	char *path;  /* the configuration file as given */
	char *data;  /* its bytes; NULL after a load (read again if needed) */
	size_t len;
	const struct ci_varlist *vars; /* NULL: the process environment */
};

static int read_path(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(CHECKOUT_MAX_FILE);
	char chunk[65536];
	size_t n;
	int err = 0;

	if (!f)
		return error_set(errno == ENOENT ? SO_ENOTFOUND : SO_EFAIL,
			"cannot open %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((err = buf_append(&b, chunk, n)) < 0) {
			error_set(SO_ETOOBIG, "%s is larger than %u bytes", path,
				CHECKOUT_MAX_FILE);
			break;
		}
	}
	if (err == 0 && ferror(f))
		err = error_set(SO_EFAIL, "cannot read %s", path);
	fclose(f);
	if (err < 0) {
		buf_dispose(&b);
		return err;
	}
	*len = b.len;
	*data = buf_detach(&b);
	return 0;
}

static int repo_read(void *cls, const char *path, char **data, size_t *len)
{
	struct ci_checkout *r = cls;
	char *full;
	struct stat st;
	int err;

	if (strstr(path, "..") && (strncmp(path, "../", 3) == 0 ||
	    strstr(path, "/../")))
		return SO_ENOTFOUND;
	full = xasprintf("%s/%s", r->root, path);
	if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(full);
		return SO_ENOTFOUND;
	}
	err = read_path(full, data, len);
	free(full);
	return err;
}

struct listing {
	char **v;
	size_t n;
};

static void walk(const char *root, const char *rel, struct listing *l,
	int depth)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d || depth > 32) {
		if (d)
			closedir(d);
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL && l->n < CHECKOUT_MAX_LISTED) {
		char *r, *full;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, ".git") == 0)
			continue;
		r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		full = xasprintf("%s/%s", root, r);
		if (lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				walk(root, r, l, depth + 1);
			} else if (S_ISREG(st.st_mode)) {
				l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
				l->v[l->n++] = r;
				r = NULL;
			}
		}
		free(full);
		free(r);
	}
	closedir(d);
	free(dir);
}

int ci_checkout_list_files(void *cls, char ***out, size_t *n)
{
	struct ci_checkout *r = cls;
	struct listing l = { 0 };

	walk(r->root, "", &l, 0);
	*out = l.v;
	*n = l.n;
	return 0;
}

static const char *var_lookup(void *cls, const char *name)
{
	const struct ci_checkout *co = cls;

	return co->vars ? ci_varlist_get(co->vars, name) : getenv(name);
}

/* The repository root for a file and the file's path relative to it. */
static void find_root(const char *path, char **root, char **rel)
{
	char *abs = realpath(path, NULL);
	char *dir, *slash;

	if (!abs) {
		*root = xstrdup(".");
		*rel = xstrdup(path);
		return;
	}
	dir = xstrdup(abs);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (char *cur = xstrdup(dir);; ) {
		char *git = xasprintf("%s/.git", *cur ? cur : "");
		struct stat st;
		bool found = stat(git, &st) == 0;

		free(git);
		if (found) {
			*root = xstrdup(*cur ? cur : "/");
			*rel = xstrdup(abs + strlen(cur) + 1);
			free(cur);
			break;
		}
		slash = strrchr(cur, '/');
		if (!slash) {
			free(cur);
			*root = xstrdup(*dir ? dir : "/");
			*rel = xstrdup(abs + strlen(dir) + 1);
			break;
		}
		*slash = '\0';
	}
	free(dir);
	free(abs);
}


int ci_checkout_open(struct ci_checkout **out, const char *path)
{
	struct ci_checkout *co = xcalloc(1, sizeof(*co));
	int err;

	if ((err = read_path(path, &co->data, &co->len)) < 0) {
		free(co);
		return err;
	}
	find_root(path, &co->root, &co->rel);
	co->path = xstrdup(path);
	*out = co;
	return 0;
}

int ci_checkout_load(struct ci_checkout *co, struct ci_config **out, struct ci_diags *diags)
{
	struct ci_load_options opts = { 0 };
	int err;

	opts.read_file = repo_read;
	opts.list_files = ci_checkout_list_files;
	opts.lookup_var = var_lookup;
	opts.cls = co;
	if (!co->data && (err = read_path(co->path, &co->data, &co->len)) < 0)
		return err;
	err = ci_config_load(out, co->rel, co->data, co->len, &opts, diags);
	/* the model holds copies: don't keep megabytes of text while a
	 * large plan is built (a second load reads the file again) */
	free(co->data);
	co->data = NULL;
	co->len = 0;
	return err;
}

void ci_checkout_set_vars(struct ci_checkout *co, const struct ci_varlist *vars)
{
	co->vars = vars;
}

const char *ci_checkout_root(const struct ci_checkout *co)
{
	return co->root;
}

void ci_checkout_free(struct ci_checkout *co)
{
	if (!co)
		return;
	free(co->root);
	free(co->rel);
	free(co->path);
	free(co->data);
	free(co);
}
