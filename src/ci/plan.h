/*
 * ci/plan.h: the pipeline GitLab would create for a loaded configuration
 * and a pipeline context (source, ref, variables, chat command).
 *
 * Design: ci_plan_build() runs GitLab's pipeline-creation chain on the
 * validated model: RemoveUnwantedChatJobs (for chat with a job name, after
 * the whole file was validated by the loader), EvaluateWorkflowRules,
 * Seed (rules / only / except per job, then needs against the jobs that
 * are left), Populate (stages; a pipeline with only .pre/.post jobs is
 * not created). The result is a struct ci_plan: created or not, GitLab's
 * reason when not, and the stages and jobs with their final when,
 * allow_failure, needs, environment and variables.
 *
 * Memory: a plan borrows from the struct ci_config it was built from (job
 * scripts, JSON blobs, names), so the config must outlive the plan. The
 * variables shared by all jobs are stored once; a job's full list is
 * assembled on demand (ci_plan_job_variables), so 10,000 jobs plan in a
 * few MB. Nothing here is quadratic: jobs and needs are hashed by name,
 * expressions are compiled once per distinct statement, regexes once per
 * literal.
 */
#ifndef SO_CI_PLAN_H
#define SO_CI_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "ci/config.h"
#include "ci/vars.h"

/* GitLab's texts. */
#define CI_PLAN_MSG_WORKFLOW "Pipeline filtered out by workflow rules."
#define CI_PLAN_MSG_RULES "Pipeline will not run for the selected trigger. " \
	"The rules configuration prevented any jobs from being added to the " \
	"pipeline."
#define CI_PLAN_MSG_NO_JOBS "No stages / jobs for this pipeline."

/* Why no pipeline (or a failed one) is created. */
enum ci_plan_status {
	CI_PLAN_CREATED = 0,
	CI_PLAN_FILTERED_BY_WORKFLOW, /* workflow:rules: not persisted */
	CI_PLAN_FILTERED_BY_RULES,    /* no job left, or only .pre/.post */
	CI_PLAN_CONFIG_ERROR,         /* e.g. a need on an absent job;
	                                 GitLab saves a failed pipeline */
};

/* Finer detail for CI_PLAN_FILTERED_BY_RULES. */
enum ci_plan_empty {
	CI_PLAN_EMPTY_NONE = 0,
	CI_PLAN_EMPTY_JOB_MISSING,    /* chat: no job of that name */
	CI_PLAN_EMPTY_EXCLUDED,       /* rules / only / except removed all */
	CI_PLAN_EMPTY_EDGE_ONLY,      /* only .pre / .post jobs left */
};

struct ci_plan_need {
	const char *job;      /* borrowed from the config */
	bool artifacts;
	bool optional;
};

struct ci_plan_job {
	const struct ci_job *src;  /* borrowed: scripts, image, artifacts... */
	const char *name;          /* borrowed (src->name) */
	const char *stage;         /* borrowed */
	size_t stage_idx;          /* index into ci_plan.stages */
	long id;                   /* CI_JOB_ID when the context gave ids */
	enum ci_when when;         /* final: on_success, on_failure, always,
	                              manual or delayed */
	const char *start_in;      /* borrowed, delayed only */
	bool allow_failure;
	const struct ci_intv *exit_codes; /* borrowed; NULL unless
	                              allow_failure: exit_codes applies */
	struct ci_plan_need *needs; /* owned array */
	size_t n_needs;
	bool needs_specified;      /* DAG job (needs: given, even []) */
	enum ci_tri interruptible;
	char *environment;         /* expanded name, NULL without environment */
	char *environment_url;     /* expanded, NULL unless given */
	char *environment_slug;
	const char *environment_action; /* "start" by default */
	const char *environment_tier;
	char **tags;               /* expanded; owned */
	size_t n_tags;
	char *resource_group;      /* expanded; NULL unless given */
	/* The job's own part of its variable list (job predefined and YAML
	 * incl. rules:variables); see ci_plan_job_variables. */
	struct ci_varlist head;    /* CI_JOB_ID/URL, CI_JOB_NAME, ... */
	struct ci_varlist yaml;    /* global (inherited) + job + rules vars */
	struct ci_varlist tail;    /* CI_ENVIRONMENT_SLUG/URL (persisted env) */
};

struct ci_plan {
	enum ci_plan_status status;
	enum ci_plan_empty empty;
	char *message;             /* GitLab's message when not created */
	char *chat_reply;          /* for chat: GitLab's "could not be
	                              scheduled" reply when not created */
	char *name;                /* workflow:name (expanded), NULL if none */
	const char *source;        /* borrowed from the context */
	const char *ref;
	const char *sha;

	const char **stages;       /* stages that have jobs, in order */
	size_t n_stages;
	struct ci_plan_job *jobs;  /* in stage order, then file order */
	size_t n_jobs;

	/* Shared variable layers (see ci_plan_job_variables). */
	struct ci_varlist persisted;   /* CI_PIPELINE_ID/URL */
	struct ci_varlist predefined;  /* project + pipeline predefined */
	struct ci_varlist post;        /* GITLAB_USER_*, pipeline vars, CHAT_* */
	struct ci_varlist globals;     /* global YAML variables after
	                                  workflow:rules; the jobs' yaml lists
	                                  borrow their strings */
	void *priv;
};

/* Plans the pipeline. only_job: for chat, the command's job name (every
 * other job is dropped first); NULL keeps all jobs. Returns 0 with *out
 * set (caller frees with ci_plan_free) also when no pipeline would be
 * created: check (*out)->status and message. Returns SO_EINVALID only for
 * errors GitLab reports while seeding that are not pipeline outcomes
 * (a variable reference cycle), with the message in error_msg(). */
int ci_plan_build(const struct ci_config *cfg,
	const struct ci_pipeline_context *ctx, const char *only_job,
	struct ci_plan **out);

void ci_plan_free(struct ci_plan *p);   /* accepts NULL */

/* The ordered, expanded variable list job j receives (GitLab's runner
 * payload order: persisted, job predefined, project and pipeline
 * predefined, YAML, user, pipeline variables), one item per key. *out is
 * initialized here; caller disposes. SO_EINVALID on a reference cycle. */
int ci_plan_job_variables(const struct ci_plan *p,
	const struct ci_plan_job *j, struct ci_varlist *out);

/* The plan as JSON for `slashops ci plan` (caller owns the reference):
 * {"status", "message", "stages", "jobs": [{name, stage, stage_idx, when,
 * start_in, allow_failure, exit_codes, needs, environment, timeout,
 * retry, tags, resource_group, interruptible, script..., variables}]}.
 * Masked variable values are replaced by "[MASKED]". */
json_t *ci_plan_to_json(const struct ci_plan *p);

/* Flags for ci_plan_write_json. */
#define CI_PLAN_JSON_NO_VARIABLES 1u  /* leave out each job's "variables" */

/* Writes the same JSON (compact) to f one job at a time, so memory stays
 * bounded for huge plans. Returns 0 or SO_EFAIL on a write error. */
int ci_plan_write_json(const struct ci_plan *p, FILE *f, unsigned flags);

#endif
