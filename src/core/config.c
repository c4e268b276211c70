/*
 * config.c: defaults, the YAML file, environment overrides and the final
 * derivation/validation of struct config; see config.h.
 *
 * Design: the file is read whole (capped at CONFIG_MAX_FILE) and parsed by
 * libfyaml into a document tree; its diagnostics are collected rather than
 * printed (a diag object with an output function that drops everything),
 * so a syntax error becomes "FILE:LINE:COL: message" like every other
 * configuration error, and libfyaml writes nothing to stderr. The tree is
 * walked against a static table of known keys (section, name, kind, range);
 * anything not in the table is an error at the key's position. Positions
 * come from the scalar tokens of keys and values (a collection reports its
 * first scalar, or the key it belongs to when empty).
 *
 * Ownership: struct config owns every string; setters free the previous
 * value. A load that fails may have applied the keys before the bad one.
 */
#include "core/config.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <libfyaml.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_MAX_FILE (1024 * 1024)

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define TIB (GIB * 1024)
#define DAY_S (24 * 3600)

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_addr = xstrdup("127.0.0.1");
	cfg->listen_port = 8080;
	cfg->max_connections = 512;
	cfg->connection_timeout_s = 60;
	cfg->max_body_bytes = 1 * MIB;
	cfg->max_header_bytes = 16 * KIB;
	cfg->drain_timeout_s = 10;
	cfg->data_dir = xstrdup("./data");
	cfg->max_push_bytes = 2 * GIB;
	cfg->session_ttl_s = 7 * DAY_S;
	cfg->log_level = xstrdup("info");
	cfg->chat_rate_per_user = 20;
	cfg->chat_rate_per_user_burst = 10;
	cfg->chat_rate_per_integration = 600;
	cfg->chat_rate_per_integration_burst = 100;
	cfg->chat_link_ttl_s = 600;
	cfg->chat_delivery_concurrency = 16;
	cfg->chat_delivery_max_attempts = 100;
	cfg->chat_delivery_backoff_base_s = 1;
	cfg->chat_delivery_backoff_max_s = 60;
	cfg->chat_delivery_timeout_s = 10;
	cfg->chat_delivery_max_response_bytes = 64 * KIB;
	cfg->chat_delivery_url_lifetime_s = 1800;
	cfg->chat_delivery_url_uses = 5;
	cfg->chat_slack_prefixes = xcalloc(3, sizeof(char *));
	cfg->chat_slack_prefixes[0] = xstrdup("https://hooks.slack.com/");
	cfg->chat_slack_prefixes[1] = xstrdup("https://hooks.slack-gov.com/");
	cfg->jobs_concurrency = 4;
	cfg->jobs_nice = 10;
	cfg->jobs_default_timeout_s = 3600;
	cfg->jobs_trace_limit = 100 * MIB;
}

void config_dispose(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->listen_addr);
	free(cfg->external_url);
	free(cfg->data_dir);
	free(cfg->store_url);
	free(cfg->repos_dir);
	free(cfg->git_http_backend);
	free(cfg->log_level);
	free(cfg->jobs_builds_dir);
	free(cfg->jobs_run_as);
	for (size_t i = 0; cfg->chat_slack_prefixes && cfg->chat_slack_prefixes[i]; i++)
		free(cfg->chat_slack_prefixes[i]);
	free(cfg->chat_slack_prefixes);
	memset(cfg, 0, sizeof(*cfg));
}

static void set_str(char **field, const char *value)
{
	char *copy = xstrdup(value);

	free(*field);
	*field = copy;
}

/* ------------------------------------------------------ value parsers */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Digits with an optional fraction; no sign, exponent, hex or locale. */
static int parse_number(const char **sp, double *out, bool *integral)
{
	const char *s = *sp;
	double v = 0, scale = 1;
	int digits = 0;

	*integral = true;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (*s == '.' && isdigit((unsigned char)s[1])) {
		*integral = false;
		s++;
		while (isdigit((unsigned char)*s)) {
			scale /= 10;
			v += (*s++ - '0') * scale;
			digits++;
		}
	}
	if (digits == 0 || digits > 18)
		return SO_EINVALID;
	*out = v;
	*sp = s;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{ "", 1 },	   { "b", 1 },		{ "k", KIB },	     { "kib", KIB },
		{ "kb", 1000 },	   { "m", MIB },	{ "mib", MIB },	     { "mb", 1000000 },
		{ "g", GIB },	   { "gib", GIB },	{ "gb", 1000000000 }, { "t", TIB },
		{ "tib", TIB },	   { "tb", 1000000000000 },
	};
	const char *p = s;
	uint64_t v = 0;
	int digits = 0;

	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return error_set(SO_EINVALID, "size \"%s\" is too large", s);
		v = v * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (digits == 0)
		return error_set(SO_EINVALID, "invalid size \"%s\"", s);
	p = skip_space(p);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].unit) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return error_set(SO_EINVALID, "size \"%s\" is too large", s);
		*out = v * units[i].mult;
		return 0;
	}
	return error_set(SO_EINVALID, "invalid size unit in \"%s\"", s);
}

int config_parse_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "", 1 }, { "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", DAY_S },
	};
	const char *p = s;
	double v;
	bool integral;

	if (parse_number(&p, &v, &integral) < 0)
		return error_set(SO_EINVALID, "invalid duration \"%s\"", s);
	p = skip_space(p);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			*out = v * units[i].mult;
			return 0;
		}
	}
	return error_set(SO_EINVALID, "invalid duration unit in \"%s\"", s);
}

static int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return SO_EINVALID;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - 9) / 10)
			return SO_EINVALID;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int config_set_listen(struct config *cfg, const char *value)
{
	const char *colon, *host_start, *host_end;
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	uint64_t port;
	size_t hlen;

	if (!value || !*value)
		return error_set(SO_EINVALID, "listen address is empty");
	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (!close || close[1] != ':')
			return error_set(SO_EINVALID,
					 "invalid listen address \"%s\" (expected [IPv6]:PORT)", value);
		host_start = value + 1;
		host_end = close;
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon)
			return error_set(SO_EINVALID,
					 "invalid listen address \"%s\" (expected HOST:PORT, "
					 "[IPv6]:PORT or :PORT)",
					 value);
		host_start = value;
		host_end = colon;
		if (memchr(host_start, ':', (size_t)(host_end - host_start)))
			return error_set(SO_EINVALID,
					 "invalid listen address \"%s\" (write IPv6 addresses in "
					 "brackets: [::1]:8080)",
					 value);
	}
	if (parse_uint(colon + 1, &port) < 0 || strlen(colon + 1) > 5 || port > 65535)
		return error_set(SO_EINVALID, "invalid port in listen address \"%s\"", value);
	hlen = (size_t)(host_end - host_start);
	if (hlen >= sizeof(host))
		return error_set(SO_EINVALID, "invalid host in listen address \"%s\"", value);
	memcpy(host, host_start, hlen);
	host[hlen] = '\0';
	if (value[0] == '[') {
		if (inet_pton(AF_INET6, host, addr) != 1)
			return error_set(SO_EINVALID, "\"%s\" is not an IPv6 address", host);
	} else if (hlen == 0) {
		strcpy(host, "0.0.0.0");
	} else if (strcmp(host, "localhost") == 0) {
		strcpy(host, "127.0.0.1");
	} else if (inet_pton(AF_INET, host, addr) != 1) {
		return error_set(SO_EINVALID,
				 "\"%s\" is not an IP address (listen takes a numeric address)",
				 host);
	}
	set_str(&cfg->listen_addr, host);
	cfg->listen_port = (uint16_t)port;
	return 0;
}

static bool url_ok(const char *url)
{
	const char *rest;

	if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else
		return false;
	if (!*rest || *rest == '/')
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 127 || *p == '?' || *p == '#')
			return false;
	return true;
}

/* ------------------------------------------------------------ the file */

enum key_kind {
	KEY_STRING,   /* non-empty string */
	KEY_LISTEN,   /* server.listen */
	KEY_URL,      /* http(s) URL */
	KEY_COUNT,    /* plain integer */
	KEY_SIZE,     /* bytes: integer or "512KiB" */
	KEY_DURATION, /* seconds: integer or "10s", "5m", "7d" */
	KEY_LEVEL,    /* log level */
	KEY_URL_LIST, /* a list of http(s) URL prefixes (may be empty) */
};

enum key_target {
	T_LISTEN, T_EXTERNAL_URL, T_MAX_CONNECTIONS, T_CONNECTION_TIMEOUT, T_MAX_BODY,
	T_MAX_HEADER, T_DRAIN_TIMEOUT, T_SERVER_THREADS, T_DATA_DIR, T_STORE_URL, T_HTTP_BACKEND, T_MAX_PUSH,
	T_SESSION_TTL, T_LOG_LEVEL, T_CHAT_RATE_USER, T_CHAT_RATE_USER_BURST,
	T_CHAT_RATE_INTEGRATION, T_CHAT_RATE_INTEGRATION_BURST, T_CHAT_LINK_TTL,
	T_DELIVERY_CONCURRENCY, T_DELIVERY_MAX_ATTEMPTS, T_DELIVERY_BACKOFF_BASE,
	T_DELIVERY_BACKOFF_MAX, T_DELIVERY_TIMEOUT, T_DELIVERY_MAX_RESPONSE, T_DELIVERY_URL_LIFETIME,
	T_DELIVERY_URL_USES, T_CHAT_SLACK_PREFIXES,
	T_JOBS_CONCURRENCY, T_JOBS_BUILDS_DIR, T_JOBS_RUN_AS, T_JOBS_DEFAULT_TIMEOUT,
	T_JOBS_TRACE_LIMIT, T_JOBS_NICE,
};

struct key_def {
	const char *section; /* NULL for top-level keys */
	const char *name;
	enum key_kind kind;
	enum key_target target;
	double min, max;     /* for numbers */
};

static const struct key_def keys[] = {
	{ "server", "listen", KEY_LISTEN, T_LISTEN, 0, 0 },
	{ "server", "external_url", KEY_URL, T_EXTERNAL_URL, 0, 0 },
	{ "server", "max_connections", KEY_COUNT, T_MAX_CONNECTIONS, 1, 100000 },
	{ "server", "connection_timeout", KEY_DURATION, T_CONNECTION_TIMEOUT, 1, DAY_S },
	{ "server", "max_body_bytes", KEY_SIZE, T_MAX_BODY, 1024, (double)GIB },
	{ "server", "max_header_bytes", KEY_SIZE, T_MAX_HEADER, 4096, (double)MIB },
	{ "server", "drain_timeout", KEY_DURATION, T_DRAIN_TIMEOUT, 0, 3600 },
	{ "server", "threads", KEY_COUNT, T_SERVER_THREADS, 0, 256 },
	{ NULL, "data_dir", KEY_STRING, T_DATA_DIR, 0, 0 },
	{ "store", "url", KEY_STRING, T_STORE_URL, 0, 0 },
	{ "git", "http_backend", KEY_STRING, T_HTTP_BACKEND, 0, 0 },
	{ "git", "max_push_bytes", KEY_SIZE, T_MAX_PUSH, 1024, (double)(1024 * GIB) },
	{ "auth", "session_ttl", KEY_DURATION, T_SESSION_TTL, 60, 3650.0 * DAY_S },
	{ "log", "level", KEY_LEVEL, T_LOG_LEVEL, 0, 0 },
	{ "chat.rate_limit", "per_user", KEY_COUNT, T_CHAT_RATE_USER, 0, 1000000 },
	{ "chat.rate_limit", "per_user_burst", KEY_COUNT, T_CHAT_RATE_USER_BURST, 1, 1000000 },
	{ "chat.rate_limit", "per_integration", KEY_COUNT, T_CHAT_RATE_INTEGRATION, 0, 1000000 },
	{ "chat.rate_limit", "per_integration_burst", KEY_COUNT, T_CHAT_RATE_INTEGRATION_BURST, 1,
	  1000000 },
	{ "chat", "link_ttl", KEY_DURATION, T_CHAT_LINK_TTL, 1, 3600 },
	{ "chat.delivery", "concurrency", KEY_COUNT, T_DELIVERY_CONCURRENCY, 1, 1024 },
	{ "chat.delivery", "max_attempts", KEY_COUNT, T_DELIVERY_MAX_ATTEMPTS, 1, 100000 },
	{ "chat.delivery", "backoff_base", KEY_DURATION, T_DELIVERY_BACKOFF_BASE, 0.001, 3600 },
	{ "chat.delivery", "backoff_max", KEY_DURATION, T_DELIVERY_BACKOFF_MAX, 0.001, DAY_S },
	{ "chat.delivery", "timeout", KEY_DURATION, T_DELIVERY_TIMEOUT, 0.1, 600 },
	{ "chat.delivery", "max_response_bytes", KEY_SIZE, T_DELIVERY_MAX_RESPONSE, 1024,
	  (double)(16 * MIB) },
	{ "chat.delivery", "response_url_lifetime", KEY_DURATION, T_DELIVERY_URL_LIFETIME, 1,
	  DAY_S },
	{ "chat.delivery", "response_url_uses", KEY_COUNT, T_DELIVERY_URL_USES, 1, 1000 },
	{ "chat", "slack_response_url_prefixes", KEY_URL_LIST, T_CHAT_SLACK_PREFIXES, 0, 32 },
	{ "jobs", "concurrency", KEY_COUNT, T_JOBS_CONCURRENCY, 1, 1024 },
	{ "jobs", "builds_dir", KEY_STRING, T_JOBS_BUILDS_DIR, 0, 0 },
	{ "jobs", "run_as", KEY_STRING, T_JOBS_RUN_AS, 0, 0 },
	{ "jobs", "default_timeout", KEY_DURATION, T_JOBS_DEFAULT_TIMEOUT, 1, 30.0 * DAY_S },
	{ "jobs", "trace_limit", KEY_SIZE, T_JOBS_TRACE_LIMIT, 1024, (double)(16 * GIB) },
	{ "jobs", "nice", KEY_COUNT, T_JOBS_NICE, 0, 19 },
};

/* Sections, by their full dotted path: "chat.rate_limit" is the mapping
 * "rate_limit" inside "chat". */
static const char *const sections[] = { "server", "store", "git", "auth", "log", "chat",
					"chat.rate_limit", "chat.delivery", "jobs" };

struct loader {
	struct config *cfg;
	const char *name; /* file name for messages */
};

static void mark_of(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = NULL;

	if (!n)
		return;
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR:
		t = fy_node_get_scalar_token(n);
		break;
	case FYNT_SEQUENCE: {
		void *it = NULL;

		mark_of(fy_node_sequence_iterate(n, &it), line, col);
		return;
	}
	case FYNT_MAPPING: {
		void *it = NULL;
		struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

		if (p)
			mark_of(fy_node_pair_key(p), line, col);
		return;
	}
	}
	if (t) {
		const struct fy_mark *m = fy_token_start_mark(t);

		if (m) {
			enum fy_node_style st = fy_node_get_style(n);

			/* the token of a quoted scalar starts inside the quotes,
			 * that of an alias after the '*' */
			*line = m->line + 1;
			*col = m->column + 1 -
			       (st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED ||
					st == FYNS_ALIAS ? 1 : 0);
			if (*col < 1)
				*col = 1;
		}
	}
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct loader *ld, struct fy_node *n, struct fy_node *fallback,
		   const char *fmt, ...)
{
	char msg[512];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mark_of(n, &line, &col);
	if (line == 0)
		mark_of(fallback, &line, &col);
	if (line == 0)
		return error_set(SO_EINVALID, "%s: %s", ld->name, msg);
	return error_set(SO_EINVALID, "%s:%d:%d: %s", ld->name, line, col, msg);
}

static bool is_null(struct fy_node *v)
{
	const char *s;
	size_t len;

	if (!v)
		return true;
	if (fy_node_get_type(v) != FYNT_SCALAR || fy_node_get_style(v) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar(v, &len);
	return !s || len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
			     memcmp(s, "NULL", 4) == 0));
}

/* The scalar text of v as a new C string, or an error at v. */
static int scalar_text(struct loader *ld, const char *what, struct fy_node *v, struct fy_node *key,
		       char **out)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (is_null(v))
		return fail_at(ld, v, key, "%s: value is missing", what);
	if (fy_node_get_type(v) != FYNT_SCALAR)
		return fail_at(ld, v, key, "%s: expected a single value, not a %s", what,
			       fy_node_get_type(v) == FYNT_MAPPING ? "mapping" : "list");
	if (fy_node_get_style(v) == FYNS_ALIAS)
		return fail_at(ld, v, key, "%s: aliases are not supported", what);
	s = fy_node_get_scalar(v, &len);
	if (!s)
		return fail_at(ld, v, key, "%s: unreadable value", what);
	if (memchr(s, '\0', len))
		return fail_at(ld, v, key, "%s: value contains a NUL byte", what);
	*out = xstrndup(s, len);
	return 0;
}

static int range_check(struct loader *ld, const struct key_def *k, const char *what,
		       struct fy_node *v, double value, const char *unit)
{
	if (value < k->min || value > k->max) {
		char lo[32], hi[32];

		/* Whole bounds print as integers; fractional ones (0.001 s) as
		 * they are. */
		snprintf(lo, sizeof(lo), k->min == floor(k->min) ? "%.0f" : "%g", k->min);
		snprintf(hi, sizeof(hi), k->max == floor(k->max) ? "%.0f" : "%g", k->max);
		if (strcmp(unit, "bytes") == 0)
			return fail_at(ld, v, NULL, "%s must be between %s and %s bytes", what, lo,
				       hi);
		return fail_at(ld, v, NULL, "%s must be between %s and %s%s", what, lo, hi, unit);
	}
	return 0;
}

/* A KEY_URL_LIST: a YAML list (possibly empty) of at most k->max http(s)
 * URLs, each at most 512 bytes. Replaces the list only when all are good. */
static int apply_url_list(struct loader *ld, const struct key_def *k, const char *what,
			  struct fy_node *key, struct fy_node *v, char ***field)
{
	char **list = NULL;
	size_t n = 0;
	void *it = NULL;
	struct fy_node *item;
	int err = 0;

	if (fy_node_get_type(v) != FYNT_SEQUENCE) {
		err = fail_at(ld, v, key, "%s: expected a list of URLs", what);
		goto done;
	}
	if ((size_t)fy_node_sequence_item_count(v) > (size_t)k->max) {
		err = fail_at(ld, v, key, "%s: at most %.0f URLs", what, k->max);
		goto done;
	}
	list = xcalloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(char *));
	while ((item = fy_node_sequence_iterate(v, &it))) {
		char *text = NULL;

		if ((err = scalar_text(ld, what, item, key, &text)) < 0)
			goto done;
		list[n++] = text;
		if (!url_ok(text) || strlen(text) > 512) {
			err = fail_at(ld, item, key, "%s: each entry must be an http:// or https:// URL",
				      what);
			goto done;
		}
	}
	for (size_t i = 0; *field && (*field)[i]; i++)
		free((*field)[i]);
	free(*field);
	*field = list;
	list = NULL;
done:
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
	return err;
}

static int apply_key(struct loader *ld, const struct key_def *k, struct fy_node *key,
		     struct fy_node *v)
{
	struct config *cfg = ld->cfg;
	char what[64], *text = NULL;
	uint64_t u = 0;
	double d = 0;
	int err;

	snprintf(what, sizeof(what), "%s%s%s", k->section ? k->section : "",
		 k->section ? "." : "", k->name);
	if (k->kind == KEY_URL_LIST)
		return apply_url_list(ld, k, what, key, v, &cfg->chat_slack_prefixes);
	if ((err = scalar_text(ld, what, v, key, &text)) < 0)
		goto done;
	switch (k->kind) {
	case KEY_STRING:
		if (!*text) {
			err = fail_at(ld, v, key, "%s must not be empty", what);
			goto done;
		}
		break;
	case KEY_LISTEN:
		if ((err = config_set_listen(cfg, text)) < 0) {
			char *msg = xstrdup(error_msg());

			err = fail_at(ld, v, key, "%s: %s", what, msg);
			free(msg);
		}
		goto done;
	case KEY_URL:
		if (!url_ok(text)) {
			err = fail_at(ld, v, key, "%s must be an http:// or https:// URL", what);
			goto done;
		}
		break;
	case KEY_COUNT:
		if (fy_node_get_style(v) != FYNS_PLAIN || parse_uint(text, &u) < 0) {
			err = fail_at(ld, v, key, "%s: expected a whole number", what);
			goto done;
		}
		if ((err = range_check(ld, k, what, v, (double)u, "")) < 0)
			goto done;
		break;
	case KEY_SIZE:
		if (config_parse_size(text, &u) < 0) {
			err = fail_at(ld, v, key,
				      "%s: expected a size in bytes such as 1048576, 512KiB or 1MiB",
				      what);
			goto done;
		}
		if ((err = range_check(ld, k, what, v, (double)u, "bytes")) < 0)
			goto done;
		break;
	case KEY_DURATION:
		if (config_parse_duration(text, &d) < 0) {
			err = fail_at(ld, v, key,
				      "%s: expected a duration such as 60 (seconds), 10s, 5m or 7d",
				      what);
			goto done;
		}
		if ((err = range_check(ld, k, what, v, d, " seconds")) < 0)
			goto done;
		if (k->target != T_DRAIN_TIMEOUT && k->target != T_DELIVERY_BACKOFF_BASE &&
		    k->target != T_DELIVERY_BACKOFF_MAX && k->target != T_DELIVERY_TIMEOUT &&
		    d != floor(d)) {
			err = fail_at(ld, v, key, "%s must be a whole number of seconds", what);
			goto done;
		}
		break;
	case KEY_LEVEL:
		if (log_level_parse(text) < 0) {
			err = fail_at(ld, v, key, "%s must be one of debug, info, warn, error", what);
			goto done;
		}
		break;
	case KEY_URL_LIST: break; /* applied above */
	}
	switch (k->target) {
	case T_LISTEN: break; /* applied above */
	case T_EXTERNAL_URL: set_str(&cfg->external_url, text); break;
	case T_MAX_CONNECTIONS: cfg->max_connections = (unsigned)u; break;
	case T_SERVER_THREADS: cfg->server_threads = (unsigned)u; break;
	case T_CONNECTION_TIMEOUT: cfg->connection_timeout_s = (unsigned)d; break;
	case T_MAX_BODY: cfg->max_body_bytes = (size_t)u; break;
	case T_MAX_HEADER: cfg->max_header_bytes = (size_t)u; break;
	case T_DRAIN_TIMEOUT: cfg->drain_timeout_s = d; break;
	case T_DATA_DIR: set_str(&cfg->data_dir, text); break;
	case T_STORE_URL: set_str(&cfg->store_url, text); break;
	case T_HTTP_BACKEND: set_str(&cfg->git_http_backend, text); break;
	case T_MAX_PUSH: cfg->max_push_bytes = u; break;
	case T_SESSION_TTL: cfg->session_ttl_s = (unsigned)d; break;
	case T_LOG_LEVEL: set_str(&cfg->log_level, text); break;
	case T_CHAT_RATE_USER: cfg->chat_rate_per_user = (unsigned)u; break;
	case T_CHAT_RATE_USER_BURST: cfg->chat_rate_per_user_burst = (unsigned)u; break;
	case T_CHAT_RATE_INTEGRATION: cfg->chat_rate_per_integration = (unsigned)u; break;
	case T_CHAT_RATE_INTEGRATION_BURST: cfg->chat_rate_per_integration_burst = (unsigned)u; break;
	case T_CHAT_LINK_TTL: cfg->chat_link_ttl_s = (unsigned)d; break;
	case T_DELIVERY_CONCURRENCY: cfg->chat_delivery_concurrency = (unsigned)u; break;
	case T_DELIVERY_MAX_ATTEMPTS: cfg->chat_delivery_max_attempts = (unsigned)u; break;
	case T_DELIVERY_BACKOFF_BASE: cfg->chat_delivery_backoff_base_s = d; break;
	case T_DELIVERY_BACKOFF_MAX: cfg->chat_delivery_backoff_max_s = d; break;
	case T_DELIVERY_TIMEOUT: cfg->chat_delivery_timeout_s = d; break;
	case T_DELIVERY_MAX_RESPONSE: cfg->chat_delivery_max_response_bytes = (size_t)u; break;
	case T_DELIVERY_URL_LIFETIME: cfg->chat_delivery_url_lifetime_s = (unsigned)d; break;
	case T_DELIVERY_URL_USES: cfg->chat_delivery_url_uses = (unsigned)u; break;
	case T_CHAT_SLACK_PREFIXES: break; /* applied above */
	case T_JOBS_CONCURRENCY: cfg->jobs_concurrency = (unsigned)u; break;
	case T_JOBS_NICE: cfg->jobs_nice = (unsigned)u; break;
	case T_JOBS_BUILDS_DIR: set_str(&cfg->jobs_builds_dir, text); break;
	case T_JOBS_RUN_AS: set_str(&cfg->jobs_run_as, text); break;
	case T_JOBS_DEFAULT_TIMEOUT: cfg->jobs_default_timeout_s = (unsigned)d; break;
	case T_JOBS_TRACE_LIMIT: cfg->jobs_trace_limit = u; break;
	}
	err = 0;
done:
	free(text);
	return err;
}

/* Copies the key's text into out, or fails at the key when it is not a
 * short plain string. */
static int key_name(struct loader *ld, struct fy_node *key, char *out, size_t size)
{
	const char *s;
	size_t len;

	if (!key || fy_node_get_type(key) != FYNT_SCALAR || fy_node_get_style(key) == FYNS_ALIAS)
		return fail_at(ld, key, NULL, "keys must be plain names");
	s = fy_node_get_scalar(key, &len);
	if (!s || len == 0 || len >= size || memchr(s, '\0', len))
		return fail_at(ld, key, NULL, "invalid key");
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static void printable(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++)
		out[n++] = (unsigned char)*in < ' ' || *in == '"' || *in == '\\' ? '?' : *in;
	out[n] = '\0';
}

static int load_mapping(struct loader *ld, struct fy_node *map, const char *section)
{
	struct fy_node_pair *p;
	void *it = NULL;
	char name[128], shown[128], full[256];
	int err;

	while ((p = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *key = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const struct key_def *k = NULL;
		bool is_section = false;

		if ((err = key_name(ld, key, name, sizeof(name))) < 0)
			return err;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !k; i++)
			if (((!section && !keys[i].section) ||
			     (section && keys[i].section && strcmp(section, keys[i].section) == 0)) &&
			    strcmp(keys[i].name, name) == 0)
				k = &keys[i];
		snprintf(full, sizeof(full), "%s%s%s", section ? section : "", section ? "." : "",
			 name);
		for (size_t i = 0; !strchr(name, '.') && i < sizeof(sections) / sizeof(sections[0]);
		     i++)
			is_section |= strcmp(sections[i], full) == 0;
		if (k) {
			if ((err = apply_key(ld, k, key, v)) < 0)
				return err;
		} else if (is_section) {
			if (is_null(v))
				continue; /* "server:" with every key commented out */
			if (fy_node_get_type(v) != FYNT_MAPPING)
				return fail_at(ld, v, key, "\"%s\" must be a mapping of keys", name);
			if ((err = load_mapping(ld, v, full)) < 0)
				return err;
		} else {
			printable(name, shown, sizeof(shown));
			if (section)
				return fail_at(ld, key, NULL, "unknown key \"%s\" under \"%s\"", shown,
					       section);
			return fail_at(ld, key, NULL, "unknown key \"%s\"", shown);
		}
	}
	return 0;
}

/* Whether position i of the text lies inside a quoted scalar on its line.
 * A quote opens a scalar only where one can start (after a blank, '[',
 * '{' or ','), so an apostrophe inside a word does not count. */
static bool in_quotes(const unsigned char *s, size_t i)
{
	size_t start = i;
	char q = 0;

	while (start > 0 && s[start - 1] != '\n')
		start--;
	for (size_t k = start; k < i; k++) {
		if (q == '"' && s[k] == '\\') {
			k++;
		} else if (q && s[k] == (unsigned char)q) {
			if (q == '\'' && k + 1 < i && s[k + 1] == '\'')
				k++;
			else
				q = 0;
		} else if (!q && (s[k] == '"' || s[k] == '\'') &&
			   (k == start || s[k - 1] == ' ' || s[k - 1] == '[' || s[k - 1] == '{' ||
			    s[k - 1] == ',')) {
			q = (char)s[k];
		} else if (!q && s[k] == '#' && (k == start || s[k - 1] == ' ')) {
			return true; /* a comment: nothing to check */
		}
	}
	return q != 0;
}

/* Screens the text before libfyaml sees it. YAML text must be Unicode, so
 * invalid UTF-8 and control characters are refused with a clear message;
 * so are YAML features a configuration never needs and on which libfyaml
 * 0.7.12 (Debian's) loops forever or crashes, as fuzzing found: tab
 * characters (YAML forbids them for indentation anyway), directives ('%'
 * at the start of a line) and complex keys ('?' followed by a blank).
 * The '?' check is lexical and may refuse a '?' + blank inside a plain
 * scalar; quoting the value avoids that. */
static int check_text(const char *name, const unsigned char *s, size_t len)
{
	int line = 1, col = 1;
	size_t i = 0;

	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		i = 3; /* byte order mark */
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if (c == '\t')
				return error_set(SO_EINVALID,
						 "%s:%d:%d: tab character (indent with spaces; write "
						 "\"\\t\" inside a double-quoted string)",
						 name, line, col);
			if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f)
				return error_set(SO_EINVALID, "%s:%d:%d: control character 0x%02x",
						 name, line, col, c);
			if (c == '%' && col == 1)
				return error_set(SO_EINVALID, "%s:%d:%d: YAML directives are not "
						 "supported", name, line, col);
			if (c == '?' && !in_quotes(s, i) &&
			    (i + 1 == len || s[i + 1] == ' ' || s[i + 1] == '\n' || s[i + 1] == '\r'))
				return error_set(SO_EINVALID, "%s:%d:%d: complex keys (\"? \") are not "
						 "supported", name, line, col);
			if (c == '\n') {
				line++;
				col = 0;
			}
			i++;
			col++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (len - i < n)
			goto bad;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n;
		col++;
	}
	return 0;
bad:
	return error_set(SO_EINVALID, "%s:%d:%d: invalid UTF-8", name, line, col);
}

static void drop_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

int config_load_bytes(struct config *cfg, const char *name, const char *data, size_t len)
{
	struct loader ld = { cfg, name ? name : "config" };
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_parser *parser = NULL;
	struct fy_document *doc = NULL, *extra = NULL;
	struct fy_node *root;
	struct fy_diag_error *de;
	void *it = NULL;
	int err = 0;

	if (len == 0)
		return 0;
	if ((err = check_text(ld.name, (const unsigned char *)data, len)) < 0)
		return err;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = drop_output;
	dcfg.colorize = false;
	dcfg.level = FYET_ERROR;
	diag = fy_diag_create(&dcfg);
	if (!diag) {
		err = error_set(SO_EFAIL, "%s: cannot set up the YAML parser", ld.name);
		goto done;
	}
	fy_diag_set_collect_errors(diag, true);
	{
		struct fy_parse_cfg pcfg = {
			.flags = FYPCF_QUIET | FYPCF_DEFAULT_DOC,
			.diag = diag,
		};

		parser = fy_parser_create(&pcfg);
	}
	if (!parser || fy_parser_set_string(parser, data, len) != 0) {
		err = error_set(SO_EFAIL, "%s: cannot set up the YAML parser", ld.name);
		goto done;
	}
	doc = fy_parse_load_document(parser);
	if (doc && !fy_parser_get_stream_error(parser)) {
		extra = fy_parse_load_document(parser);
		if (extra) {
			err = fail_at(&ld, fy_document_root(extra), NULL,
				      "only one YAML document is allowed");
			goto done;
		}
	}
	if ((de = fy_diag_errors_iterate(diag, &it))) {
		char msg[256];

		printable(de->msg ? de->msg : "syntax error", msg, sizeof(msg));
		err = error_set(SO_EINVALID, "%s:%d:%d: %s", ld.name, de->line, de->column, msg);
		goto done;
	}
	if (!doc || fy_parser_get_stream_error(parser)) {
		if (fy_parser_get_stream_error(parser))
			err = error_set(SO_EINVALID, "%s: invalid YAML", ld.name);
		goto done; /* no document at all: only comments or blank lines */
	}
	root = fy_document_root(doc);
	if (is_null(root))
		goto done;
	if (fy_node_get_type(root) != FYNT_MAPPING) {
		err = fail_at(&ld, root, NULL, "the configuration must be a mapping of keys");
		goto done;
	}
	err = load_mapping(&ld, root, NULL);
done:
	fy_document_destroy(extra);
	fy_document_destroy(doc);
	fy_parser_destroy(parser);
	fy_diag_destroy(diag);
	return err;
}

int config_load_file(struct config *cfg, const char *path)
{
	struct buf b = BUF_INIT(CONFIG_MAX_FILE);
	char chunk[8192];
	FILE *f = fopen(path, "rb");
	size_t n;
	int err = 0;

	if (!f)
		return error_set(SO_EINVALID, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) < 0) {
			err = error_set(SO_ETOOBIG, "%s: the file is larger than %d bytes", path,
					CONFIG_MAX_FILE);
			goto done;
		}
	}
	if (ferror(f)) {
		err = error_set(SO_EINVALID, "%s: %s", path, strerror(errno));
		goto done;
	}
	err = config_load_bytes(cfg, path, b.data ? b.data : "", b.len);
done:
	fclose(f);
	buf_dispose(&b);
	return err;
}

/* ---------------------------------------------------- env and finishing */

int config_apply_env(struct config *cfg)
{
	const char *v;

	if ((v = getenv("SLASHOPS_LISTEN")) && *v && config_set_listen(cfg, v) < 0) {
		char *msg = xstrdup(error_msg());
		int err = error_set(SO_EINVALID, "SLASHOPS_LISTEN: %s", msg);

		free(msg);
		return err;
	}
	if ((v = getenv("SLASHOPS_DATA_DIR")) && *v)
		set_str(&cfg->data_dir, v);
	if ((v = getenv("SLASHOPS_EXTERNAL_URL")) && *v) {
		if (!url_ok(v))
			return error_set(SO_EINVALID,
					 "SLASHOPS_EXTERNAL_URL must be an http:// or https:// URL");
		set_str(&cfg->external_url, v);
	}
	if ((v = getenv("SLASHOPS_STORE_URL")) && *v)
		set_str(&cfg->store_url, v);
	if ((v = getenv("SLASHOPS_LOG_LEVEL")) && *v) {
		if (log_level_parse(v) < 0)
			return error_set(SO_EINVALID,
					 "SLASHOPS_LOG_LEVEL must be one of debug, info, warn, error");
		set_str(&cfg->log_level, v);
	}
	return 0;
}

static int find_http_backend(struct config *cfg)
{
	char line[4096];
	FILE *p = popen("git --exec-path 2>/dev/null", "r");
	size_t len;
	int status;

	if (!p)
		return error_set(SO_EINVALID, "cannot run git to find git-http-backend: %s",
				 strerror(errno));
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	status = pclose(p);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	if (status != 0 || len == 0)
		return error_set(SO_EINVALID,
				 "git was not found (git --exec-path failed); install git or set "
				 "git.http_backend");
	cfg->git_http_backend = xasprintf("%s/git-http-backend", line);
	return 0;
}

static void strip_trailing_slashes(char *s)
{
	size_t len = strlen(s);

	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
}

int config_finish(struct config *cfg)
{
	int err;

	if (!cfg->data_dir || !*cfg->data_dir)
		return error_set(SO_EINVALID, "data_dir must not be empty");
	strip_trailing_slashes(cfg->data_dir);
	if (!cfg->listen_addr || !*cfg->listen_addr)
		return error_set(SO_EINVALID, "server.listen must not be empty");
	if (!cfg->external_url) {
		bool v6 = strchr(cfg->listen_addr, ':') != NULL;

		cfg->external_url = xasprintf("http://%s%s%s:%u", v6 ? "[" : "", cfg->listen_addr,
					      v6 ? "]" : "", (unsigned)cfg->listen_port);
	}
	if (!url_ok(cfg->external_url))
		return error_set(SO_EINVALID,
				 "external URL \"%s\" must be an http:// or https:// URL",
				 cfg->external_url);
	strip_trailing_slashes(cfg->external_url);
	if (!cfg->store_url)
		cfg->store_url = xasprintf("sqlite:%s/slashops.db", cfg->data_dir);
	free(cfg->repos_dir);
	cfg->repos_dir = xasprintf("%s/repositories", cfg->data_dir);
	if (!cfg->jobs_builds_dir) {
		/* Beside the data dir, never inside it: the data dir is 0700 and an
		 * unprivileged job user must be able to enter its checkout. */
		char *dd = xstrdup(cfg->data_dir);
		size_t n = strlen(dd);

		while (n > 1 && dd[n - 1] == '/')
			dd[--n] = '\0';
		cfg->jobs_builds_dir = xasprintf("%s.builds", dd);
		free(dd);
	}
	if (!cfg->log_level || log_level_parse(cfg->log_level) < 0)
		return error_set(SO_EINVALID, "log level \"%s\" must be one of debug, info, warn, error",
				 cfg->log_level ? cfg->log_level : "");
	if (cfg->max_connections == 0 || cfg->connection_timeout_s == 0 ||
	    cfg->max_body_bytes == 0 || cfg->max_header_bytes == 0)
		return error_set(SO_EINVALID, "server limits must be positive");
	if (cfg->chat_delivery_backoff_max_s < cfg->chat_delivery_backoff_base_s)
		return error_set(SO_EINVALID,
				 "chat.delivery.backoff_max must not be less than backoff_base");
	if (!cfg->git_http_backend && (err = find_http_backend(cfg)) < 0)
		return err;
	if (access(cfg->git_http_backend, X_OK) != 0)
		return error_set(SO_EINVALID, "git.http_backend \"%s\" is not an executable file",
				 cfg->git_http_backend);
	return 0;
}
