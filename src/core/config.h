/*
 * config.h: the server's configuration: defaults, a YAML file, environment
 * overrides and command-line flags, applied in that order (later wins).
 *
 * Design: struct config is plain data with every field set to its default
 * by config_init(). config_load_file() reads a YAML file with libfyaml and
 * rejects unknown keys and wrong types with "FILE:LINE:COL: message" (as
 * h2o reports configuration errors). config_apply_env() reads SLASHOPS_*
 * variables. Flags are applied by the CLI (cli/serve.c) by assigning
 * fields, then config_finish() derives dependent values (external_url from
 * the listen address, paths under data_dir) and validates the whole.
 * docs/CONFIGURATION.md lists every key; keep the two in step.
 *
 * Ownership: the struct owns its strings; config_dispose() frees them.
 */
#ifndef SO_CORE_CONFIG_H
#define SO_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	/* server: */
	char *listen_addr;          /* server.listen: "127.0.0.1:8080" is split into addr+port */
	uint16_t listen_port;
	char *external_url;         /* server.external_url; default http://<listen> */
	unsigned max_connections;   /* server.max_connections: 512 */
	unsigned connection_timeout_s; /* server.connection_timeout: 60 */
	size_t max_body_bytes;      /* server.max_body_bytes: 1 MiB (JSON/form bodies) */
	size_t max_header_bytes;    /* server.max_header_bytes: 16 KiB */
	double drain_timeout_s;     /* server.drain_timeout: 10 */
	unsigned server_threads;    /* server.threads: 0 = one per CPU (the pool has at least 2) */
	/* storage: */
	char *data_dir;             /* data_dir: "./data" */
	char *store_url;            /* store.url: default "sqlite:<data_dir>/slashops.db" */
	char *repos_dir;            /* derived: <data_dir>/repositories */
	/* git: */
	char *git_http_backend;     /* git.http_backend: found via `git --exec-path` */
	uint64_t max_push_bytes;    /* git.max_push_bytes: 2 GiB (streamed, never buffered) */
	/* auth: */
	unsigned session_ttl_s;     /* auth.session_ttl: 7 days */
	/* log: */
	char *log_level;            /* log.level: "info" */
	/* chat.rate_limit: slash commands a minute (0: no limit) and burst sizes */
	unsigned chat_rate_per_user;              /* per_user: 20 (one chat user) */
	unsigned chat_rate_per_user_burst;        /* per_user_burst: 10 */
	unsigned chat_rate_per_integration;       /* per_integration: 600 (one project's integration) */
	unsigned chat_rate_per_integration_burst; /* per_integration_burst: 100 */
	/* chat.link_ttl: how long a "connect your account" link works, 600 s
	 * as GitLab. Hidden (tests shorten it to check expiry). */
	unsigned chat_link_ttl_s;
	/* chat.delivery: the reply delivery worker (pipeline/delivery.h,
	 * docs/DELIVERY.md). */
	unsigned chat_delivery_concurrency;       /* concurrency: 16 POSTs at once */
	unsigned chat_delivery_max_attempts;      /* max_attempts: 100 */
	double chat_delivery_backoff_base_s;      /* backoff_base: 1 s (doubles per retry) */
	double chat_delivery_backoff_max_s;       /* backoff_max: 60 s */
	double chat_delivery_timeout_s;           /* timeout: 10 s per POST */
	size_t chat_delivery_max_response_bytes;  /* max_response_bytes: 64 KiB read of an answer */
	unsigned chat_delivery_url_lifetime_s;    /* response_url_lifetime: 1800 s (Mattermost's) */
	unsigned chat_delivery_url_uses;          /* response_url_uses: 5 (Mattermost's) */
	/* chat.slack_response_url_prefixes: a response_url starting with one
	 * of these gets Slack's reply layout (GitLab's Slack responder); any
	 * other gets Mattermost's. NULL-terminated, owned; default
	 * https://hooks.slack.com/ and https://hooks.slack-gov.com/. An empty
	 * list (`[]`) treats every URL as Mattermost. */
	char **chat_slack_prefixes;
	/* jobs: the built-in executor (exec/executor.h, pipeline/pipeline.h) */
	unsigned jobs_concurrency;       /* concurrency: 4 jobs at once */
	unsigned jobs_nice;              /* nice: 10 (0 = the server's own priority) */
	char *jobs_builds_dir;           /* builds_dir: "<data_dir>.builds" (outside the
	                                    0700 data dir, so a job user can enter it) */
	char *jobs_run_as;               /* run_as: NULL = the executor's default */
	unsigned jobs_default_timeout_s; /* default_timeout: 3600 s */
	uint64_t jobs_trace_limit;       /* trace_limit: 100 MiB */
};

void config_init(struct config *cfg);
/* SO_EINVALID with "FILE:LINE:COL: message" in error_msg(). */
int config_load_file(struct config *cfg, const char *path);
/* Same, from bytes in memory (name is used in messages). For fuzzing. */
int config_load_bytes(struct config *cfg, const char *name, const char *data, size_t len);
int config_apply_env(struct config *cfg);
/* Parses "host:port", "[::1]:port" or ":port" into listen_addr/port. */
int config_set_listen(struct config *cfg, const char *value);
int config_finish(struct config *cfg);
/* The value parsers behind the file's sizes and durations, for flags:
 * "1048576", "512KiB", "1MiB", "2GiB" (KiB/MiB/GiB/TiB and a bare K/M/G/T
 * are powers of 1024, KB/MB/GB/TB of 1000, case-insensitive) and "60",
 * "10s", "5m", "1.5h", "7d", "250ms" (a bare number is seconds). */
int config_parse_size(const char *s, uint64_t *out);
int config_parse_duration(const char *s, double *out);
void config_dispose(struct config *cfg); /* accepts NULL */

#endif
