/*
 * serve.c: `slashops serve`, the server process.
 *
 * Start-up order: configuration (defaults < file < environment < flags),
 * logging, libraries, the application context (data directory, secret
 * key, store with migrations), the chat reply delivery worker (it sends
 * replies left pending by the last run at once), then the HTTP server
 * with the route table assembled from the parts. Signals: SIGTERM and SIGINT are blocked in
 * every thread and taken synchronously by the main thread with
 * sigwait(), so no handler runs in a random thread; then the HTTP server
 * drains in-flight requests and everything is closed in reverse order.
 * SIGPIPE is ignored (a client hanging up is an error return, not death).
 *
 * The route table, in match order: health, web pages, chatops (the slash
 * command trigger and its docs page), the REST API, the git catch-all (it
 * passes non-git paths on with HTTP_NEXT), then the project pages' GET
 * catch-all (/<namespace>/<project>[/-/...]).
 */
#include "cli/cli.h"
#include "api/api.h"
#include "auth/auth.h"
#include "pipeline/delivery.h"
#include "pipeline/pipeline.h"
#include "chatops/routes.h"
#include "core/app.h"
#include "core/config.h"
#include "core/health.h"
#include "git/repo.h"
#include "git/smart_http.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "web/web.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct http_route git_routes[] = {
	{ NULL, "/*path", git_http_handler, HTTP_ROUTE_STREAM },
};

/* Concatenates the parts' route tables. Caller frees. */
static struct http_route *build_routes(size_t *n)
{
	const struct {
		const struct http_route *routes;
		size_t count;
	} parts[] = {
		{ health_routes, health_routes_count },
		{ web_routes, web_routes_count },
		{ chatops_routes, chatops_routes_count },
		{ api_routes, api_routes_count },
		{ git_routes, sizeof(git_routes) / sizeof(git_routes[0]) },
		{ web_project_routes, web_project_routes_count },
	};
	size_t total = 0, k = 0;
	struct http_route *all;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += parts[i].count;
	all = xcalloc(total, sizeof(*all));
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (size_t j = 0; j < parts[i].count; j++)
			all[k++] = parts[i].routes[j];
	*n = total;
	return all;
}

static void serve_usage(FILE *f)
{
	fputs("usage: slashops serve [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]\n"
	      "                      [--external-url URL]\n"
	      "Environment: SLASHOPS_CONFIG, SLASHOPS_LISTEN, SLASHOPS_DATA_DIR,\n"
	      "SLASHOPS_EXTERNAL_URL, SLASHOPS_STORE_URL, SLASHOPS_LOG_LEVEL.\n",
	      f);
}

int cli_load_config(struct config *cfg, const char *config_path, const char *data_dir)
{
	if (!config_path)
		config_path = getenv("SLASHOPS_CONFIG");
	if (config_path && config_load_file(cfg, config_path) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		return 1;
	}
	if (config_apply_env(cfg) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		return 1;
	}
	if (data_dir) {
		free(cfg->data_dir);
		cfg->data_dir = xstrdup(data_dir);
	}
	return 0;
}

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "external-url", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *listen = NULL, *data_dir = NULL, *external_url = NULL;
	struct config cfg;
	struct app *app = NULL;
	struct http_server *srv = NULL;
	struct delivery_options dopts;
	struct http_route *routes = NULL;
	struct http_server_options hopts;
	size_t nroutes = 0;
	bool derive_url;
	char *old_url = NULL;
	sigset_t sigs;
	int c, sig, status = 1, level;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:l:d:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'l': listen = optarg; break;
		case 'd': data_dir = optarg; break;
		case 'u': external_url = optarg; break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		serve_usage(stderr);
		return 2;
	}

	config_init(&cfg);
	if (cli_load_config(&cfg, config_path, data_dir) != 0)
		goto done;
	if (listen && config_set_listen(&cfg, listen) < 0) {
		fprintf(stderr, "slashops: --listen: %s\n", error_msg());
		goto done;
	}
	if (external_url) {
		free(cfg.external_url);
		cfg.external_url = xstrdup(external_url);
	}
	derive_url = cfg.external_url == NULL;
	if (config_finish(&cfg) < 0) {
		fprintf(stderr, "slashops: %s\n", error_msg());
		goto done;
	}
	level = log_level_parse(cfg.log_level);
	log_init(level < 0 ? LOG_INFO : (enum log_level)level, 2);

	/* Block the signals before any thread exists, so all inherit it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* libgit2 is initialised on first use (git/repo.c), not here: its
	 * set-up touches megabytes of library pages few servers need. */
	if (auth_init() < 0) {
		log_error("cannot initialise libraries: %s", error_msg());
		goto done;
	}
	if (app_open(&app, &cfg) < 0) {
		log_error("cannot open data directory: %s", error_msg());
		goto done;
	}
	/* The reply worker starts before the HTTP server, so replies left
	 * pending by the last run go out at once. */
	delivery_options_from_config(&dopts, &app->cfg);
	if (delivery_start(&app->delivery, app, &dopts) < 0) {
		log_error("cannot start reply delivery: %s", error_msg());
		goto done;
	}

	routes = build_routes(&nroutes);
	memset(&hopts, 0, sizeof(hopts));
	hopts.listen_addr = app->cfg.listen_addr;
	hopts.port = app->cfg.listen_port;
	hopts.max_body_bytes = app->cfg.max_body_bytes;
	hopts.max_header_bytes = app->cfg.max_header_bytes;
	hopts.max_connections = app->cfg.max_connections;
	hopts.connection_timeout_s = app->cfg.connection_timeout_s;
	hopts.drain_timeout_s = app->cfg.drain_timeout_s;
	hopts.threads = app->cfg.server_threads;
	if (http_server_start(&srv, &hopts, routes, nroutes, app) < 0) {
		log_error("cannot listen on %s:%u: %s", app->cfg.listen_addr,
			  (unsigned)app->cfg.listen_port, error_msg());
		goto done;
	}
	if (derive_url && app->cfg.listen_port == 0) {
		/* Port 0 picked a free port: the derived URL must carry it. The
		 * old string stays alive until exit, in case a request that
		 * arrived before this line is still reading it. */
		const char *a = app->cfg.listen_addr;
		bool v6 = strchr(a, ':') != NULL;
		old_url = app->cfg.external_url;
		app->cfg.external_url = xasprintf("http://%s%s%s:%u", v6 ? "[" : "", a,
						  v6 ? "]" : "", (unsigned)http_server_port(srv));
	}
	/* Jobs start after the external URL is final (job URLs, replies). A
	 * `run` arriving before this line answers that it is unavailable. */
	if (pipeline_service_start(&app->pipelines, app, app->delivery) < 0) {
		log_error("cannot start the job scheduler: %s", error_msg());
		goto done;
	}
	log_event(LOG_INFO, "listening",
		  json_pack("{s:s, s:i, s:s, s:s, s:i}", "addr", app->cfg.listen_addr, "port",
			    (int)http_server_port(srv), "url", app->cfg.external_url, "data_dir",
			    app->cfg.data_dir, "threads", (int)http_server_threads(srv)));

	for (;;) {
		if (sigwait(&sigs, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
			break;
	}
	log_event(LOG_INFO, "stopping", json_pack("{s:s}", "signal", sig == SIGTERM ? "TERM" : "INT"));
	http_server_stop(srv);
	srv = NULL;
	log_info("stopped");
	status = 0;
done:
	http_server_stop(srv);
	if (app) {
		pipeline_service_stop(app->pipelines);
		app->pipelines = NULL;
		delivery_stop(app->delivery);
		app->delivery = NULL;
	}
	free(routes);
	app_close(app);
	config_dispose(&cfg);
	free(old_url);
	gitrepo_shutdown();
	return status;
}
