/*
 * pipeline.c: the pipeline service's life cycle and its requests: create a
 * chat pipeline, play, cancel (pipeline.h has the contract).
 *
 * Design: creation reads the default branch's head commit (and its
 * message, author and date for the CI_COMMIT_* variables), loads its
 * .gitlab-ci.yml with the repository callbacks (repo_source.c), plans the
 * one chat job (ci_plan_build with only_job), freezes each planned job as
 * a spec (spec.c) without ids, and writes pipeline and jobs in one store
 * transaction. The ids (CI_JOB_ID, CI_PIPELINE_ID...) are added when the
 * job is submitted (scheduler.c). Everything else happens on the
 * scheduler thread, woken here.
 */
#include "pipeline/internal.h"

#include "ci/config.h"
#include "ci/plan.h"
#include "ci/vars.h"
#include "core/app.h"
#include "exec/executor.h"
#include "git/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/tls.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CI_FILE ".gitlab-ci.yml"
#define CI_FILE_MAX (4u * 1024 * 1024)

char *pipeline_trace_path(const struct app *app, int64_t job_id)
{
	return xasprintf("%s/traces/%lld.log", app->cfg.data_dir, (long long)job_id);
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

/* ---- life cycle ---- */

static void recover(struct pipeline_service *s)
{
	int64_t *ids = NULL;
	size_t n = 0;

	if (store_job_fail_running(s->app->store, "runner_system_failure", &ids, &n) < 0) {
		log_warn("pipeline: cannot fail the jobs left running: %s", error_msg());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		log_info("pipeline: job %lld was running when the server stopped; failed",
			 (long long)ids[i]);
		pipeline_notify_job(s, ids[i]);
	}
	free(ids);
}

int pipeline_service_start(struct pipeline_service **out, struct app *app, struct delivery *d)
{
	struct pipeline_service *s = xcalloc(1, sizeof(*s));
	struct exec_pool_options o = { 0 };
	int err;

	*out = NULL;
	s->app = app;
	s->delivery = d;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->builds_dir = absolute(app->cfg.jobs_builds_dir ? app->cfg.jobs_builds_dir
							   : "slashops.builds");
	s->traces_dir = xasprintf("%s/traces", app->cfg.data_dir);
	if (mkdir(s->traces_dir, 0700) < 0 && errno != EEXIST) {
		err = error_set(SO_EFAIL, "cannot create %s: %s", s->traces_dir, strerror(errno));
		goto fail;
	}
	o.max_concurrent = app->cfg.jobs_concurrency ? app->cfg.jobs_concurrency : 4;
	o.nice = app->cfg.jobs_nice;
	o.max_queued = 100000;
	o.builds_dir = s->builds_dir;
	o.run_as = app->cfg.jobs_run_as;
	o.trace_limit = app->cfg.jobs_trace_limit;
	o.on_start = pipeline_sched_on_start;
	o.on_done = pipeline_sched_on_done;
	o.cls = s;
	if ((err = exec_pool_start(&s->pool, &o)) < 0)
		goto fail;
	recover(s);
	if (pthread_create(&s->thread, NULL, pipeline_sched_main, s) != 0) {
		err = error_set(SO_EFAIL, "cannot start the scheduler thread");
		goto fail;
	}
	s->thread_started = true;
	*out = s;
	return 0;
fail:
	pipeline_service_stop(s);
	return err;
}

static void cfg_cache_drop_mine(void);

void pipeline_service_stop(struct pipeline_service *s)
{
	if (!s)
		return;
	cfg_cache_drop_mine(); /* the HTTP threads, which keep theirs, are gone by now */
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	/* Cancels every job; on_done records them canceled. */
	exec_pool_stop(s->pool);
	/* Leave no empty builds dir behind (it is beside the data dir, so a
	 * removed data dir would otherwise leave it). Fails when not empty. */
	if (s->builds_dir)
		(void)rmdir(s->builds_dir);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->submitted);
	free(s->builds_dir);
	free(s->traces_dir);
	free(s);
}

/* ---- creating a chat pipeline ---- */

static char **strv_copy(const struct ci_strv *v)
{
	char **out = xcalloc(v->n + 1, sizeof(char *));

	for (size_t i = 0; i < v->n; i++)
		out[i] = xstrdup(v->v[i]);
	return out;
}

static int list_files_ctx(void *cls, char ***out, size_t *n)
{
	return pipeline_repo_list_files(cls, out, n);
}

/* ---- the loaded CI file, kept per thread ----
 *
 * Loading .gitlab-ci.yml (libfyaml, anchors, extends, !reference) is a
 * quarter of a `run` command's own time. When the load asked the
 * repository nothing (no include: of any kind: no callback was called),
 * the result depends only on the file's bytes, so each thread keeps the
 * last such result, keyed by project and commit sha, for the next command
 * on the same commit. ci_plan_build() takes the config read-only. Files
 * over CFG_CACHE_MAX_BYTES are not kept (a huge config would stay
 * resident per thread). */
#define CFG_CACHE_MAX_BYTES (64 * 1024)

struct cfg_cache {
	int64_t project_id;
	char *sha;
	struct ci_config *cfg;
};

static void cfg_cache_free(void *p)
{
	struct cfg_cache *c = p;

	if (!c)
		return;
	ci_config_free(c->cfg);
	free(c->sha);
	free(c);
}

static struct tls_slot cfg_cache_slot = TLS_SLOT_INIT(cfg_cache_free, sizeof(struct cfg_cache));

/* Frees the calling thread's cached config (other threads' go with them). */
static void cfg_cache_drop_mine(void)
{
	tls_slot_drop(&cfg_cache_slot);
}

/* This thread's cached config for (project, sha), borrowed; NULL if none. */
static const struct ci_config *cfg_cache_find(int64_t project_id, const char *sha)
{
	struct cfg_cache *c;

	c = tls_slot_get(&cfg_cache_slot);
	if (c && c->cfg && c->project_id == project_id && c->sha && strcmp(c->sha, sha) == 0)
		return c->cfg;
	return NULL;
}

/* Keeps cfg (taken) for (project, sha); returns it borrowed, or NULL when
 * it could not be kept (then the caller still owns it). */
static const struct ci_config *cfg_cache_put(int64_t project_id, const char *sha,
					     struct ci_config *cfg)
{
	struct cfg_cache *c;

	if (!(c = tls_slot_get(&cfg_cache_slot)))
		return NULL;
	ci_config_free(c->cfg);
	free(c->sha);
	c->project_id = project_id;
	c->sha = xstrdup(sha);
	c->cfg = cfg;
	return cfg;
}

/* The loader's callbacks, noting that the repository was asked. */
static int touch_read_file(void *cls, const char *path, char **data, size_t *len)
{
	((struct pipeline_repo_source *)cls)->touched = true;
	return pipeline_repo_read_file(cls, path, data, len);
}

static int touch_read_project_file(void *cls, const char *project, const char *ref,
				   const char *path, char **data, size_t *len)
{
	((struct pipeline_repo_source *)cls)->touched = true;
	return pipeline_repo_read_project_file(cls, project, ref, path, data, len);
}

static int touch_list_files(void *cls, char ***out, size_t *n)
{
	((struct pipeline_repo_source *)cls)->touched = true;
	return pipeline_repo_list_files(cls, out, n);
}

static const char *touch_lookup_var(void *cls, const char *name)
{
	((struct pipeline_repo_source *)cls)->touched = true;
	return pipeline_repo_lookup_var(cls, name);
}

/* Freezes planned job j into spec JSON. */
static int freeze_job(struct pipeline_service *s, const struct ci_plan *plan,
		      const struct ci_plan_job *j, char **json_out)
{
	struct pipeline_spec sp = { 0 };
	struct ci_varlist vl;
	int err;

	*json_out = NULL;
	if ((err = ci_plan_job_variables(plan, j, &vl)) < 0)
		return err;
	sp.name = xstrdup(j->name);
	sp.stage = xstrdup(j->stage);
	sp.sha = xstrdup(plan->sha);
	sp.ref = xstrdup(plan->ref);
	sp.when = xstrdup(ci_when_name(j->when) ? ci_when_name(j->when) : "on_success");
	sp.before_script = strv_copy(&j->src->before_script);
	sp.script = strv_copy(&j->src->script);
	sp.after_script = strv_copy(&j->src->after_script);
	sp.vars = xcalloc(vl.n + 1, sizeof(*sp.vars));
	for (size_t i = 0; i < vl.n; i++) {
		sp.vars[i].key = xstrdup(vl.v[i].key);
		sp.vars[i].value = xstrdup(vl.v[i].value ? vl.v[i].value : "");
		sp.vars[i].masked = vl.v[i].masked;
	}
	sp.n_vars = vl.n;
	sp.timeout_s = j->src->timeout_seconds > 0 ? (unsigned)j->src->timeout_seconds
						   : s->app->cfg.jobs_default_timeout_s;
	sp.allow_failure = j->allow_failure;
	if (j->when == CI_WHEN_DELAYED) {
		int64_t secs = 0;

		if ((err = pipeline_parse_duration(j->start_in, &secs)) < 0)
			goto done;
		sp.run_at = (int64_t)time(NULL) + secs;
	}
	*json_out = pipeline_spec_to_json(&sp);
	err = 0;
done:
	ci_varlist_dispose(&vl);
	pipeline_spec_dispose(&sp);
	return err;
}

static enum store_ci_status initial_status(const struct ci_plan *plan, const struct ci_plan_job *j)
{
	bool first_stage = j->stage_idx == plan->jobs[0].stage_idx;

	if (!first_stage)
		return STORE_CI_CREATED;
	switch (j->when) {
	case CI_WHEN_MANUAL: return STORE_CI_MANUAL;
	case CI_WHEN_ON_SUCCESS:
	case CI_WHEN_ALWAYS:
	case CI_WHEN_UNSET: return STORE_CI_PENDING;
	default: return STORE_CI_CREATED; /* delayed, on_failure: the scheduler decides */
	}
}

int pipeline_create_chat(struct pipeline_service *s, const struct pipeline_chat_request *in,
			 struct pipeline_created *out)
{
	struct app *app = s->app;
	const struct store_project *p = in->project;
	const struct store_user *u = in->user;
	struct store_project *p_read = NULL;
	struct store_user *u_read = NULL;
	struct store_namespace *ns = NULL;
	struct ci_config *cfg = NULL; /* owned when the thread's cache did not take it */
	const struct ci_config *config = NULL;
	struct ci_plan *plan = NULL;
	struct ci_diags diags;
	struct ci_varlist incvars = CI_VARLIST_INIT;
	struct gitrepo_commit commit = { 0 };
	struct store_job_new *jobs = NULL;
	char **specs = NULL;
	int64_t *ids = NULL;
	size_t njobs = 0;
	char *sha = NULL, *data = NULL, *project_url = NULL;
	size_t len = 0;
	int err, e;

	memset(out, 0, sizeof(*out));
	ci_diags_init(&diags);
	if ((!p && (err = store_project_get(app->store, in->project_id, &p_read)) < 0) ||
	    (!u && (err = store_user_get(app->store, in->user_id, &u_read)) < 0))
		goto done;
	if (!p)
		p = p_read;
	if (!u)
		u = u_read;
	/* The head commit, its CI file and what the CI_COMMIT_* variables
	 * need, from one open of the repository. */
	if (!p->default_branch) {
		err = error_set(SO_ENOTFOUND, "the repository is empty");
		goto done;
	}
	err = gitrepo_branch_file(app->cfg.repos_dir, p->id, p->default_branch, CI_FILE,
				  CI_FILE_MAX, &commit, &data, &len);
	if (err == SO_ENOTFOUND && !commit.sha) {
		err = error_set(SO_ENOTFOUND, "the repository is empty");
		goto done;
	}
	if (err < 0) {
		if (err == SO_ENOTFOUND)
			error_set(SO_ENOTFOUND, "Missing CI config file");
		goto done;
	}
	sha = commit.sha;
	commit.sha = NULL;
	struct pipeline_repo_source src = {
		.app = app, .repos_dir = app->cfg.repos_dir, .project_id = p->id, .sha = sha,
		.user = u, .max_bytes = CI_FILE_MAX,
	};
	if (store_namespace_get(app->store, p->namespace_id, &ns) < 0)
		ns = NULL;
	project_url = xasprintf("%s/%s", app->cfg.external_url, p->path_with_namespace);
	struct ci_pipeline_context ctx = {
		.source = "chat",
		.ref = p->default_branch,
		.sha = sha,
		.default_branch = p->default_branch,
		.commit_message = commit.message,
		.commit_timestamp = commit.timestamp,
		.commit_author = commit.author,
		.project = {
			.id = (long)p->id,
			.path = p->path,
			.path_with_namespace = p->path_with_namespace,
			.namespace = ns ? ns->full_path : "",
			.namespace_id = (long)p->namespace_id,
			.name = p->name,
			.description = p->description,
			.url = project_url,
			.visibility = p->visibility == STORE_VIS_PUBLIC     ? "public"
				      : p->visibility == STORE_VIS_INTERNAL ? "internal"
									    : "private",
		},
		.server_url = app->cfg.external_url,
		.user = { (long)u->id, u->username, u->name, u->email },
		.chat = { in->arguments ? in->arguments : "", in->channel_id, in->chat_user_id },
		.has_diff = false,
		.list_files = list_files_ctx,
		.cls = &src,
	};
	/* include:rules and include paths see the pipeline's variables. */
	ci_vars_predefined_pipeline(&incvars, &ctx, NULL);
	ci_vars_user(&incvars, &ctx);
	ci_vars_pipeline(&incvars, &ctx);
	src.vars = &incvars;
	struct ci_load_options lo = {
		.read_file = touch_read_file,
		.read_project_file = touch_read_project_file,
		.list_files = touch_list_files,
		.lookup_var = touch_lookup_var,
		.cls = &src,
	};
	if (!(config = cfg_cache_find(p->id, sha))) {
		if ((err = ci_config_load(&cfg, CI_FILE, data, len, &lo, &diags)) < 0)
			goto done;
		config = cfg;
		if (!src.touched && len <= CFG_CACHE_MAX_BYTES && cfg_cache_put(p->id, sha, cfg))
			cfg = NULL; /* the cache owns it now */
	}
	if ((err = ci_plan_build(config, &ctx, in->job_name, &plan)) < 0)
		goto done;
	if (plan->status != CI_PLAN_CREATED || plan->n_jobs == 0) {
		err = plan->status == CI_PLAN_CONFIG_ERROR
			      ? error_set(SO_EINVALID, "%s", plan->message ? plan->message : "invalid")
			      : error_set(SO_ENOTFOUND, "%s",
					  plan->message ? plan->message : "no job created");
		goto done;
	}
	njobs = plan->n_jobs;
	jobs = xcalloc(njobs, sizeof(*jobs));
	specs = xcalloc(njobs, sizeof(char *));
	ids = xcalloc(njobs, sizeof(*ids));
	for (size_t i = 0; i < njobs; i++) {
		const struct ci_plan_job *j = &plan->jobs[i];

		if ((err = freeze_job(s, plan, j, &specs[i])) < 0)
			goto done;
		jobs[i] = (struct store_job_new){
			.name = j->name, .stage = j->stage, .stage_idx = (int)j->stage_idx,
			.status = initial_status(plan, j),
			.when = ci_when_name(j->when) ? ci_when_name(j->when) : "on_success",
			.allow_failure = j->allow_failure, .spec_json = specs[i],
		};
	}
	struct store_pipeline_new pn = {
		.project_id = p->id, .source = "chat", .ref = p->default_branch, .sha = sha,
		.user_id = u->id, .name = plan->name, .chat_name_id = in->chat_name_id,
		.chat_response_url = in->response_url, .chat_integration_id = in->integration_id,
	};
	/* One write transaction: the pipeline, its jobs and what the caller
	 * writes with them (in_transaction). */
	if ((err = store_write_begin(app->store, true)) < 0)
		goto done;
	err = store_pipeline_create(app->store, &pn, jobs, njobs, &out->pipeline_id, ids);
	if (err >= 0) {
		out->job_id = ids[0];
		if (in->in_transaction)
			err = in->in_transaction(in->cls, out);
	}
	if ((e = store_write_end(app->store, err >= 0)) < 0 && err >= 0)
		err = e;
	if (err < 0) {
		memset(out, 0, sizeof(*out));
		goto done;
	}
	log_info("pipeline: chat pipeline %lld (job %lld \"%s\") created in project %lld",
		 (long long)out->pipeline_id, (long long)out->job_id, plan->jobs[0].name,
		 (long long)p->id);
	pipeline_sched_wake(s);
	err = 0;
done:
	for (size_t i = 0; specs && i < njobs; i++)
		free(specs[i]);
	free(specs);
	free(jobs);
	free(ids);
	ci_plan_free(plan);
	ci_config_free(cfg);
	ci_diags_free(&diags);
	ci_varlist_dispose(&incvars);
	gitrepo_commit_dispose(&commit);
	store_namespace_free(ns);
	store_project_free(p_read);
	store_user_free(u_read);
	free(project_url);
	free(sha);
	free(data);
	return err;
}

/* ---- play and cancel ---- */

int pipeline_job_play(struct pipeline_service *s, int64_t job_id, int64_t user_id)
{
	int err = store_job_transition(s->app->store, job_id, STORE_CI_MANUAL, STORE_CI_PENDING, -1,
				       NULL, user_id);

	if (err == SO_ECONFLICT)
		return error_set(SO_ECONFLICT, "Unplayable Job");
	if (err == 0)
		pipeline_sched_wake(s);
	return err;
}

int pipeline_job_cancel(struct pipeline_service *s, int64_t job_id)
{
	static const enum store_ci_status waiting[] = { STORE_CI_PENDING, STORE_CI_CREATED,
							STORE_CI_MANUAL, STORE_CI_SCHEDULED };
	struct store_job *j = NULL;
	int err;

	for (int attempt = 0; attempt < 4; attempt++) {
		store_job_free(j);
		j = NULL;
		if ((err = store_job_get(s->app->store, job_id, &j)) < 0)
			goto done;
		if (j->status == STORE_CI_RUNNING) {
			/* on_done records it canceled. */
			err = exec_pool_cancel(s->pool, job_id);
			if (err == SO_ENOTFOUND)
				continue; /* it is finishing right now: look again */
			goto done;
		}
		bool is_waiting = false;

		for (size_t i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++)
			is_waiting |= j->status == waiting[i];
		if (!is_waiting) {
			err = error_set(SO_ECONFLICT, "Job is not cancelable");
			goto done;
		}
		/* canceled, and its chat reply queued, in one commit */
		err = pipeline_job_finish(s, job_id, j->status, STORE_CI_CANCELED, -1, NULL, -1);
		if (err == SO_ECONFLICT)
			continue; /* it moved (started?): look again */
		if (err < 0)
			goto done;
		/* A pending job may be queued in the pool: take it out (its
		 * on_done then finds the job already canceled). */
		if (j->status == STORE_CI_PENDING)
			(void)exec_pool_cancel(s->pool, job_id);
		pipeline_sched_wake(s);
		goto done;
	}
	err = error_set(SO_ECONFLICT, "Job is not cancelable");
done:
	store_job_free(j);
	return err;
}
