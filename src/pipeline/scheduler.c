/*
 * scheduler.c: the scheduler thread and the executor callbacks.
 *
 * Design: one thread wakes on pipeline_sched_wake() and at least once a
 * second, and makes one pass over the store: delayed jobs whose time has
 * come become pending; created jobs whose earlier stages are all done
 * become pending / manual / scheduled / skipped by their when: (GitLab's
 * on_success, on_failure, always); pending jobs not yet handed to the
 * pool are submitted. The set of submitted ids lives in memory only: after
 * a restart every pending job is submitted again, which is right because
 * the pool of the old process is gone. Executor callbacks move the job
 * RUNNING (on_start) and to its final status (on_done) with compare-and-
 * set transitions, then queue the chat reply and wake the thread so the
 * next stage can start.
 */
#include "pipeline/internal.h"

#include "core/app.h"
#include "exec/executor.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASS_LIMIT 1000

void pipeline_sched_wake(struct pipeline_service *s)
{
	pthread_mutex_lock(&s->mu);
	s->wake = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- the submitted set (under mu) ---- */

static bool submitted_has(struct pipeline_service *s, int64_t id)
{
	for (size_t i = 0; i < s->n_submitted; i++)
		if (s->submitted[i] == id)
			return true;
	return false;
}

static void submitted_add(struct pipeline_service *s, int64_t id)
{
	if (s->n_submitted == s->cap_submitted) {
		s->cap_submitted = s->cap_submitted ? s->cap_submitted * 2 : 64;
		s->submitted = xrealloc(s->submitted, s->cap_submitted * sizeof(int64_t));
	}
	s->submitted[s->n_submitted++] = id;
}

static void submitted_remove(struct pipeline_service *s, int64_t id)
{
	for (size_t i = 0; i < s->n_submitted; i++)
		if (s->submitted[i] == id) {
			s->submitted[i] = s->submitted[--s->n_submitted];
			return;
		}
}

/* ---- submitting ---- */

static void fail_job(struct pipeline_service *s, int64_t id, const char *why)
{
	log_warn("pipeline: job %lld cannot run: %s", (long long)id, why);
	(void)pipeline_job_finish(s, id, STORE_CI_PENDING, STORE_CI_FAILED, -1,
				  "runner_system_failure", -1);
}

static void submit(struct pipeline_service *s, const struct store_job *j)
{
	struct pipeline_spec sp = { 0 };
	struct store_pipeline *pl = NULL;
	struct store_project *p = NULL;
	struct exec_var *vars = NULL;
	char *trace = NULL, *purl = NULL, *jurl = NULL, *pid = NULL, *jid = NULL, *iid = NULL;
	size_t nv = 0;
	int err;

	if (pipeline_spec_from_json(j->spec_json, &sp) < 0 ||
	    store_pipeline_get(s->app->store, j->pipeline_id, &pl) < 0 ||
	    store_project_get(s->app->store, j->project_id, &p) < 0) {
		fail_job(s, j->id, error_msg());
		goto done;
	}
	/* The persisted layer first (GitLab's order), then the frozen list. */
	pid = xasprintf("%lld", (long long)pl->id);
	jid = xasprintf("%lld", (long long)j->id);
	iid = xasprintf("%lld", (long long)pl->iid);
	purl = xasprintf("%s/%s/-/pipelines/%lld", s->app->cfg.external_url,
			 p->path_with_namespace, (long long)pl->id);
	jurl = xasprintf("%s/%s/-/jobs/%lld", s->app->cfg.external_url, p->path_with_namespace,
			 (long long)j->id);
	vars = xcalloc(sp.n_vars + 4, sizeof(*vars));
	vars[nv++] = (struct exec_var){ "CI_PIPELINE_ID", pid, false };
	vars[nv++] = (struct exec_var){ "CI_PIPELINE_URL", purl, false };
	vars[nv++] = (struct exec_var){ "CI_JOB_ID", jid, false };
	vars[nv++] = (struct exec_var){ "CI_JOB_URL", jurl, false };
	for (size_t i = 0; i < sp.n_vars; i++) {
		const char *v = sp.vars[i].value;

		if (strcmp(sp.vars[i].key, "CI_PIPELINE_IID") == 0)
			v = iid; /* planned before the pipeline had its iid */
		vars[nv++] = (struct exec_var){ sp.vars[i].key, v, sp.vars[i].masked };
	}
	trace = pipeline_trace_path(s->app, j->id);
	struct exec_job_spec es = {
		.job_id = j->id,
		.job_name = sp.name,
		.repos_dir = s->app->cfg.repos_dir,
		.project_id = j->project_id,
		.sha = sp.sha,
		.ref = sp.ref,
		.before_script = (const char *const *)sp.before_script,
		.script = (const char *const *)sp.script,
		.after_script = (const char *const *)sp.after_script,
		.vars = vars,
		.n_vars = nv,
		.timeout_s = sp.timeout_s ? sp.timeout_s : s->app->cfg.jobs_default_timeout_s,
		.trace_path = trace,
	};
	pthread_mutex_lock(&s->mu);
	submitted_add(s, j->id);
	pthread_mutex_unlock(&s->mu);
	if ((err = exec_pool_submit(s->pool, &es)) < 0) {
		pthread_mutex_lock(&s->mu);
		submitted_remove(s, j->id);
		pthread_mutex_unlock(&s->mu);
		if (err == SO_EBUSY || err == SO_ECONFLICT)
			goto done; /* the queue is full, or we are stopping: later */
		fail_job(s, j->id, error_msg());
	}
done:
	pipeline_spec_dispose(&sp);
	store_pipeline_free(pl);
	store_project_free(p);
	free(vars);
	free(trace);
	free(purl);
	free(jurl);
	free(pid);
	free(jid);
	free(iid);
}

/* ---- stages ---- */

static bool is_final(enum store_ci_status st)
{
	return st == STORE_CI_SUCCESS || st == STORE_CI_FAILED || st == STORE_CI_CANCELED ||
	       st == STORE_CI_SKIPPED;
}

/* Moves the created jobs of the pipeline's earliest waiting stage on, when
 * every earlier job is done. Returns true when something changed. */
static bool advance_pipeline(struct pipeline_service *s, int64_t pipeline_id)
{
	struct store_job **jobs = NULL;
	int stage = -1;
	bool blocked = false, failed = false, changed = false;

	if (store_job_list_for_pipeline(s->app->store, pipeline_id, &jobs) < 0)
		return false;
	for (size_t i = 0; jobs[i]; i++)
		if (jobs[i]->status == STORE_CI_CREATED &&
		    (stage < 0 || jobs[i]->stage_idx < stage))
			stage = jobs[i]->stage_idx;
	for (size_t i = 0; stage >= 0 && jobs[i]; i++) {
		const struct store_job *j = jobs[i];

		if (j->stage_idx >= stage)
			continue;
		if (j->status == STORE_CI_MANUAL && j->allow_failure)
			continue; /* an optional manual job does not block */
		if (!is_final(j->status))
			blocked = true;
		if ((j->status == STORE_CI_FAILED || j->status == STORE_CI_CANCELED) &&
		    !j->allow_failure)
			failed = true;
	}
	for (size_t i = 0; stage >= 0 && !blocked && jobs[i]; i++) {
		const struct store_job *j = jobs[i];
		enum store_ci_status to;
		const char *w = j->when ? j->when : "on_success";

		if (j->status != STORE_CI_CREATED || j->stage_idx != stage)
			continue;
		if (strcmp(w, "always") == 0)
			to = STORE_CI_PENDING;
		else if (strcmp(w, "on_failure") == 0)
			to = failed ? STORE_CI_PENDING : STORE_CI_SKIPPED;
		else if (strcmp(w, "manual") == 0)
			to = failed ? STORE_CI_SKIPPED : STORE_CI_MANUAL;
		else if (strcmp(w, "delayed") == 0)
			to = failed ? STORE_CI_SKIPPED : STORE_CI_SCHEDULED;
		else
			to = failed ? STORE_CI_SKIPPED : STORE_CI_PENDING;
		if (store_job_transition(s->app->store, j->id, STORE_CI_CREATED, to, -1, NULL, 0) ==
		    0)
			changed = true;
	}
	store_job_list_free(jobs);
	return changed;
}

void pipeline_sched_pass(struct pipeline_service *s)
{
	struct store_job **list = NULL;
	int64_t now = (int64_t)time(NULL);
	bool again = true;

	/* delayed jobs whose time has come */
	if (store_job_list_by_status(s->app->store, STORE_CI_SCHEDULED, PASS_LIMIT, &list) == 0) {
		for (size_t i = 0; list[i]; i++) {
			struct pipeline_spec sp;

			if (pipeline_spec_from_json(list[i]->spec_json, &sp) < 0)
				continue;
			if (sp.run_at <= now)
				(void)store_job_transition(s->app->store, list[i]->id,
							   STORE_CI_SCHEDULED, STORE_CI_PENDING, -1,
							   NULL, 0);
			pipeline_spec_dispose(&sp);
		}
		store_job_list_free(list);
		list = NULL;
	}
	/* created jobs: stage by stage */
	for (int round = 0; again && round < 64; round++) {
		again = false;
		if (store_job_list_by_status(s->app->store, STORE_CI_CREATED, PASS_LIMIT, &list) < 0)
			break;
		for (size_t i = 0; list[i]; i++) {
			bool seen = false;

			for (size_t k = 0; k < i && !seen; k++)
				seen = list[k]->pipeline_id == list[i]->pipeline_id;
			if (!seen && advance_pipeline(s, list[i]->pipeline_id))
				again = true;
		}
		store_job_list_free(list);
		list = NULL;
	}
	/* pending jobs not in the pool yet */
	if (store_job_list_by_status(s->app->store, STORE_CI_PENDING, PASS_LIMIT, &list) == 0) {
		for (size_t i = 0; list[i]; i++) {
			bool have;

			pthread_mutex_lock(&s->mu);
			have = submitted_has(s, list[i]->id) || s->stopping;
			pthread_mutex_unlock(&s->mu);
			if (!have)
				submit(s, list[i]);
		}
		store_job_list_free(list);
	}
}

void *pipeline_sched_main(void *arg)
{
	struct pipeline_service *s = arg;

	for (;;) {
		struct timespec ts;

		pthread_mutex_lock(&s->mu);
		if (!s->wake && !s->stopping) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
		s->wake = false;
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		pthread_mutex_unlock(&s->mu);
		pipeline_sched_pass(s);
	}
	return NULL;
}

/* ---- executor callbacks ---- */

void pipeline_sched_on_start(void *cls, int64_t job_id)
{
	struct pipeline_service *s = cls;
	int err = store_job_transition(s->app->store, job_id, STORE_CI_PENDING, STORE_CI_RUNNING, -1,
				       NULL, 0);

	if (err < 0) {
		/* canceled (or gone) while it waited in the queue */
		log_info("pipeline: job %lld is no longer pending; stopping it", (long long)job_id);
		(void)exec_pool_cancel(s->pool, job_id);
	}
}

void pipeline_sched_on_done(void *cls, int64_t job_id, const struct exec_result *r)
{
	struct pipeline_service *s = cls;
	enum store_ci_status to;
	const char *reason = r->failure_reason;
	bool stopping;
	int err;

	pthread_mutex_lock(&s->mu);
	submitted_remove(s, job_id);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->mu);
	switch (r->status) {
	case EXEC_SUCCESS: to = STORE_CI_SUCCESS; reason = NULL; break;
	case EXEC_CANCELED: to = STORE_CI_CANCELED; reason = NULL; break;
	case EXEC_TIMED_OUT: to = STORE_CI_FAILED; reason = "job_execution_timeout"; break;
	default: to = STORE_CI_FAILED; if (!reason) reason = "script_failure"; break;
	}
	/* the end and the chat reply: one commit */
	err = pipeline_job_finish(s, job_id, STORE_CI_RUNNING, to, r->exit_code, reason,
				  (int64_t)r->trace_bytes);
	if (err == SO_ECONFLICT && r->status == EXEC_CANCELED && stopping) {
		/* never started: it stays pending for the next process */
		return;
	}
	if (err == SO_ECONFLICT && r->status != EXEC_CANCELED && r->duration_ms == 0)
		/* failed before it started (system failure) */
		err = pipeline_job_finish(s, job_id, STORE_CI_PENDING, to, r->exit_code, reason,
					  (int64_t)r->trace_bytes);
	if (err == 0)
		log_info("pipeline: job %lld %s%s%s", (long long)job_id, store_ci_status_name(to),
			 reason ? ": " : "", reason ? reason : "");
	pipeline_sched_wake(s);
}
