/*
 * receiver.c: `slashops dev receiver [--listen HOST:PORT]`, a tiny stand-in
 * for Mattermost's response_url endpoint (/hooks/...), for the demo
 * (scripts/run.sh) and for trying commands by hand without a Mattermost.
 *
 * Design: one buffered route, POST "/" plus a catch-all path, on the ordinary HTTP server
 * (http/server.h, body capped at 1 MiB as Mattermost reads at most that).
 * Each post is printed to stdout as one readable block: the time, the
 * path, and for a Mattermost CommandResponse (JSON) its response_type,
 * text and each attachment's color, text and fields (title and value;
 * values are printed raw, so a job's `ls -la` output reads as in a
 * terminal). A body that is not JSON is printed as is. stdout is flushed
 * after each block (the demo pipes it through a prefixing filter). Every
 * post is answered 200 `{}`. Headers are never printed (no secrets: the
 * posts a ChatOps server makes carry none, but a caller's could). The
 * server's own request log goes to stderr only at --log-level debug.
 * SIGINT/SIGTERM stop it cleanly (sigwait on the main thread).
 */
#include "cli/cli.h"
#include "http/server.h"
#include "util/log.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define RECEIVER_MAX_BODY (1024 * 1024)

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Prints s with every line indented by ind (s may lack a final newline). */
static void print_indented(FILE *f, const char *ind, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		fprintf(f, "%s%.*s\n", ind, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void print_response(FILE *f, json_t *root)
{
	json_t *atts = json_object_get(root, "attachments");
	const char *s;
	size_t i, j;
	json_t *a, *fl;

	if ((s = jstr(root, "response_type")))
		fprintf(f, "  response_type: %s\n", s);
	if ((s = jstr(root, "text"))) {
		fputs("  text:\n", f);
		print_indented(f, "    ", s);
	}
	if (!json_is_array(atts))
		return;
	json_array_foreach(atts, i, a) {
		json_t *fields = json_object_get(a, "fields");

		fprintf(f, "  attachment %zu:%s%s\n", i + 1, jstr(a, "color") ? " color " : "",
			jstr(a, "color") ? jstr(a, "color") : "");
		if ((s = jstr(a, "text"))) {
			fputs("    text:\n", f);
			print_indented(f, "      ", s);
		}
		if (!json_is_array(fields))
			continue;
		json_array_foreach(fields, j, fl) {
			const char *title = jstr(fl, "title"), *value = jstr(fl, "value");

			if (!value)
				value = "";
			/* Multi-line values (a job's output) raw, below the title,
			 * so they read as in a terminal. */
			if (strchr(value, '\n')) {
				fprintf(f, "    %s:\n", title ? title : "(field)");
				print_indented(f, "", value);
			} else {
				fprintf(f, "    %s: %s\n", title ? title : "(field)", value);
			}
		}
	}
}

static int on_post(struct http_request *req, void *unused)
{
	size_t len = 0;
	const char *body = http_request_body(req, &len);
	json_t *root = json_loadb(body, len, 0, NULL);
	char when[32];
	struct timespec ts;
	struct tm tm;

	(void)unused;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	pthread_mutex_lock(&print_lock);
	printf("--- %s.%03ld POST %s (%zu bytes)\n", when, ts.tv_nsec / 1000000,
	       http_request_path(req), len);
	if (json_is_object(root))
		print_response(stdout, root);
	else
		print_indented(stdout, "  ", body);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
	json_decref(root);
	return http_respond(req, 200, "application/json", "{}", 2);
}

static const struct http_route receiver_routes[] = {
	{ "POST", "/*path", on_post, 0 },
};

static void receiver_usage(FILE *f)
{
	fputs("usage: slashops dev receiver [--listen HOST:PORT] [--log-level LEVEL]\n"
	      "  prints what is posted to it (a stand-in for a Mattermost response_url);\n"
	      "  default --listen 127.0.0.1:8081\n",
	      f);
}

/* "HOST:PORT" (IPv6 as "[::1]:PORT") into host (caller frees) and port. */
static int split_listen(const char *s, char **host, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;
	size_t hl;

	if (!colon || colon == s)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	*host = strndup(s, hl);
	*port = (uint16_t)p;
	return *host ? 0 : -1;
}

static int receiver_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_server_options hopts;
	struct http_server *srv = NULL;
	const char *listen = "127.0.0.1:8081", *level_name = "warn";
	char *host = NULL;
	uint16_t port = 0;
	sigset_t sigs;
	int c, sig = 0, level, status = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "l:L:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'L': level_name = optarg; break;
		case 'h': receiver_usage(stdout); return 0;
		default: receiver_usage(stderr); return 2;
		}
	}
	if (optind != argc || split_listen(listen, &host, &port) < 0 ||
	    (level = log_level_parse(level_name)) < 0) {
		receiver_usage(stderr);
		goto done;
	}
	log_init((enum log_level)level, 2);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&hopts, 0, sizeof(hopts));
	hopts.listen_addr = host;
	hopts.port = port;
	hopts.max_body_bytes = RECEIVER_MAX_BODY;
	hopts.max_header_bytes = 16 * 1024;
	hopts.max_connections = 64;
	hopts.connection_timeout_s = 30;
	hopts.drain_timeout_s = 2;
	hopts.threads = 2;
	status = 1;
	if (http_server_start(&srv, &hopts, receiver_routes,
			      sizeof(receiver_routes) / sizeof(receiver_routes[0]), NULL) < 0) {
		fprintf(stderr, "slashops dev receiver: cannot listen on %s\n", listen);
		goto done;
	}
	printf("receiver listening on http://%s%s%s:%u/ (posts are printed here)\n",
	       strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	       (unsigned)http_server_port(srv));
	fflush(stdout);
	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	status = 0;
done:
	http_server_stop(srv);
	free(host);
	return status;
}

int cli_dev(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "receiver") == 0)
		return receiver_main(argc - 1, argv + 1);
	fputs("usage: slashops dev receiver [--listen HOST:PORT]\n", stderr);
	return 2;
}
