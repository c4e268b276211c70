/*
 * router.c: pattern matching for the route table; see router.h. Patterns
 * are walked segment by segment beside the raw path, recording where each
 * parameter lies; only a full structural match decodes the captures.
 */
#include "http/router.h"
#include "util/buf.h"
#include "util/error.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct capture {
	const char *name;
	size_t name_len;
	const char *raw;
	size_t raw_len;
};

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Structural match; fills caps (at most ROUTER_MAX_PARAMS). */
static bool match_structure(const char *p, const char *s, struct capture *caps, size_t *ncaps)
{
	*ncaps = 0;
	if (*p != '/' || *s != '/')
		return false;
	p++;
	s++;
	for (;;) {
		const char *pe = strchrnul(p, '/');
		const char *se = strchrnul(s, '/');

		if (*p == '*') {
			assert(*pe == '\0' && *ncaps < ROUTER_MAX_PARAMS);
			caps[*ncaps] = (struct capture){ p + 1, (size_t)(pe - p - 1), s, strlen(s) };
			(*ncaps)++;
			return true;
		}
		if (*p == ':') {
			const char *ne = p + 1;
			size_t seg = (size_t)(se - s), suffix;

			while (ne < pe && is_name_char(*ne))
				ne++;
			suffix = (size_t)(pe - ne);
			if (seg <= suffix || memcmp(se - suffix, ne, suffix) != 0)
				return false;
			assert(*ncaps < ROUTER_MAX_PARAMS);
			caps[*ncaps] = (struct capture){ p + 1, (size_t)(ne - p - 1), s, seg - suffix };
			(*ncaps)++;
		} else if (pe - p != se - s || memcmp(p, s, (size_t)(pe - p)) != 0) {
			return false;
		}
		if (*pe == '\0' || *se == '\0')
			return *pe == '\0' && *se == '\0';
		p = pe + 1;
		s = se + 1;
	}
}

int router_match_path(const char *pattern, const char *path, struct router_match *m)
{
	struct capture caps[ROUTER_MAX_PARAMS];
	size_t ncaps;
	int err;

	router_match_clear(m);
	if (!match_structure(pattern, path, caps, &ncaps))
		return 0;
	for (size_t i = 0; i < ncaps; i++) {
		struct router_param *rp = &m->params[m->n];

		if ((err = http_url_decode(caps[i].raw, caps[i].raw_len, false, SIZE_MAX,
					   &rp->value)) < 0) {
			router_match_clear(m);
			return err;
		}
		rp->name = caps[i].name;
		rp->name_len = caps[i].name_len;
		m->n++;
	}
	return 1;
}

bool router_method_matches(const char *route_method, const char *method)
{
	if (!route_method)
		return true;
	if (!method)
		return false;
	return strcmp(route_method, method) == 0 ||
	       (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

int router_find(const struct http_route *routes, size_t nroutes, size_t start,
		const char *method, const char *path, struct router_match *m, size_t *index)
{
	int rc;

	router_match_clear(m);
	for (size_t i = start; i < nroutes; i++) {
		if (!router_method_matches(routes[i].method, method))
			continue;
		rc = router_match_path(routes[i].pattern, path, m);
		if (rc != 0) {
			*index = i;
			return rc;
		}
	}
	return 0;
}

char *router_allowed(const struct http_route *routes, size_t nroutes, const char *path)
{
	struct capture caps[ROUTER_MAX_PARAMS];
	struct buf b = BUF_INIT(0);
	size_t ncaps;
	bool any = false, get = false, head = false;

	for (size_t i = 0; i < nroutes; i++) {
		const char *meth = routes[i].method;
		bool seen = false;

		if (!match_structure(routes[i].pattern, path, caps, &ncaps))
			continue;
		if (!meth) {
			buf_dispose(&b);
			return NULL;
		}
		/* skip methods already listed */
		for (size_t j = 0; j < i && !seen; j++)
			seen = routes[j].method && strcmp(routes[j].method, meth) == 0 &&
			       match_structure(routes[j].pattern, path, caps, &ncaps);
		if (seen)
			continue;
		if (any)
			buf_puts(&b, ", ");
		buf_puts(&b, meth);
		any = true;
		get |= strcmp(meth, "GET") == 0;
		head |= strcmp(meth, "HEAD") == 0;
	}
	if (get && !head)
		buf_puts(&b, ", HEAD");
	if (!any) {
		buf_dispose(&b);
		return NULL;
	}
	return buf_detach(&b);
}

const char *router_match_get(const struct router_match *m, const char *name)
{
	size_t len;

	if (!m || !name)
		return NULL;
	len = strlen(name);
	for (size_t i = 0; i < m->n; i++)
		if (m->params[i].name_len == len && memcmp(m->params[i].name, name, len) == 0)
			return m->params[i].value;
	return NULL;
}

void router_match_clear(struct router_match *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->params[i].value);
	m->n = 0;
}
