/*
 * Unit tests for pipelines, jobs and the reply outbox (migration 3, issue
 * 5): creation and per-project iids (never reused), lists and pages, the
 * compare-and-set job transitions with their timestamps, GitLab's
 * composite pipeline status (a table on the pure rules, and end to end
 * through the store), racing transitions from 8 threads, failing running
 * jobs at start-up, the outbox (due order, backoff, counts, single
 * delivery), cascades, status names, NULL-safe frees, and the upgrade of
 * a schema 2 database.
 */
#include <pthread.h>
#include <time.h>

#include "store/store_backend.h"
#include "store_test.h"
#include "util/clock.h"

struct ci_fixture {
	int64_t user;
	int64_t project;
};

static struct ci_fixture mk_ci(struct store *st, const char *name)
{
	struct ci_fixture f;

	f.user = mk_user(st, name);
	f.project = mk_project(st, mk_namespace(st, name, "user", f.user), f.user, "app",
			       STORE_VIS_PRIVATE);
	return f;
}

static struct store_job_new job_new(const char *name, int stage_idx, enum store_ci_status s,
				    bool allow_failure)
{
	struct store_job_new j = { 0 };

	j.name = name;
	j.stage = stage_idx == 0 ? "build" : stage_idx == 1 ? "test" : "deploy";
	j.stage_idx = stage_idx;
	j.status = s;
	j.allow_failure = allow_failure;
	return j;
}

/* A pipeline of n jobs; ids (may be NULL) receives the job ids. */
static int64_t mk_pipeline(struct store *st, const struct ci_fixture *f,
			   const struct store_job_new *jobs, size_t n, int64_t *ids)
{
	struct store_pipeline_new in = { 0 };
	int64_t id = 0;

	in.project_id = f->project;
	in.source = "chat";
	in.ref = "main";
	in.sha = "0123456789abcdef0123456789abcdef01234567";
	in.user_id = f->user;
	cr_assert_eq(store_pipeline_create(st, &in, jobs, n, &id, ids), 0, "%s", error_msg());
	cr_assert_gt(id, 0);
	return id;
}

/* A pipeline with one job in status s; returns the job id. */
static int64_t mk_one(struct store *st, const struct ci_fixture *f, enum store_ci_status s,
		      int64_t *pipeline_id)
{
	struct store_job_new j = job_new("only", 0, s, false);
	int64_t jid = 0, pid;

	pid = mk_pipeline(st, f, &j, 1, &jid);
	if (pipeline_id)
		*pipeline_id = pid;
	return jid;
}

static enum store_ci_status pipeline_status(struct store *st, int64_t id)
{
	struct store_pipeline *p = NULL;
	enum store_ci_status s;

	cr_assert_eq(store_pipeline_get(st, id, &p), 0, "%s", error_msg());
	s = p->status;
	store_pipeline_free(p);
	return s;
}

static enum store_ci_status job_status(struct store *st, int64_t id)
{
	struct store_job *j = NULL;
	enum store_ci_status s;

	cr_assert_eq(store_job_get(st, id, &j), 0, "%s", error_msg());
	s = j->status;
	store_job_free(j);
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- status names ---- */

Test(ci_status, names_round_trip)
{
	static const char *const names[] = { "created", "pending", "running", "success", "failed",
					     "canceled", "skipped", "manual", "scheduled" };
	enum store_ci_status s;

	for (int i = 0; i <= STORE_CI_SCHEDULED; i++) {
		cr_assert_str_eq(store_ci_status_name((enum store_ci_status)i), names[i]);
		cr_assert_eq(store_ci_status_parse(names[i], &s), 0);
		cr_assert_eq(s, (enum store_ci_status)i);
	}
	cr_assert_str_eq(store_ci_status_name((enum store_ci_status)42), "unknown");
	cr_assert_eq(store_ci_status_parse("Running", &s), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "status does not have a valid value");
	cr_assert_eq(store_ci_status_parse("", &s), SO_EINVALID);
	cr_assert_eq(store_ci_status_parse(NULL, &s), SO_EINVALID);
	cr_assert_eq(store_ci_status_parse("cancelled", &s), SO_EINVALID);
}

Test(ci_status, transition_table)
{
	static const struct {
		enum store_ci_status from, to;
		bool ok;
	} cases[] = {
		{ STORE_CI_CREATED, STORE_CI_PENDING, true },
		{ STORE_CI_MANUAL, STORE_CI_PENDING, true },    /* play */
		{ STORE_CI_SCHEDULED, STORE_CI_PENDING, true },
		{ STORE_CI_RUNNING, STORE_CI_PENDING, true },   /* re-queue */
		{ STORE_CI_PENDING, STORE_CI_RUNNING, true },
		{ STORE_CI_RUNNING, STORE_CI_SUCCESS, true },
		{ STORE_CI_RUNNING, STORE_CI_FAILED, true },
		{ STORE_CI_PENDING, STORE_CI_FAILED, true },
		{ STORE_CI_RUNNING, STORE_CI_CANCELED, true },
		{ STORE_CI_MANUAL, STORE_CI_CANCELED, true },
		{ STORE_CI_CREATED, STORE_CI_SKIPPED, true },
		{ STORE_CI_CREATED, STORE_CI_MANUAL, true },
		{ STORE_CI_CREATED, STORE_CI_SCHEDULED, true },
		{ STORE_CI_CREATED, STORE_CI_RUNNING, false },
		{ STORE_CI_PENDING, STORE_CI_SUCCESS, false },
		{ STORE_CI_MANUAL, STORE_CI_RUNNING, false },
		{ STORE_CI_SUCCESS, STORE_CI_RUNNING, false },
		{ STORE_CI_SUCCESS, STORE_CI_PENDING, false },
		{ STORE_CI_FAILED, STORE_CI_CANCELED, false },
		{ STORE_CI_CANCELED, STORE_CI_PENDING, false },
		{ STORE_CI_SKIPPED, STORE_CI_PENDING, false },
		{ STORE_CI_RUNNING, STORE_CI_RUNNING, false },
		{ STORE_CI_PENDING, STORE_CI_CREATED, false },
		{ STORE_CI_RUNNING, STORE_CI_SKIPPED, false },
		{ STORE_CI_RUNNING, (enum store_ci_status)99, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(store_ci_transition_allowed(cases[i].from, cases[i].to), cases[i].ok,
			     "%s -> %s", store_ci_status_name(cases[i].from),
			     store_ci_status_name(cases[i].to));
}

/* GitLab's composite status (Gitlab::Ci::Status::Composite), one row per
 * set of jobs. Letters: C created, P pending, R running, S success, F
 * failed, X canceled, K skipped, M manual, D scheduled (delayed); a
 * lower-case letter is a job with allow_failure. */
Test(ci_status, composite_table)
{
	static const struct {
		const char *jobs;
		enum store_ci_status want;
	} cases[] = {
		{ "S", STORE_CI_SUCCESS },
		{ "SS", STORE_CI_SUCCESS },
		{ "SK", STORE_CI_SUCCESS },
		{ "K", STORE_CI_SKIPPED },
		{ "KK", STORE_CI_SKIPPED },
		{ "m", STORE_CI_SKIPPED },      /* only a non-blocking manual job */
		{ "Km", STORE_CI_SKIPPED },
		{ "Sm", STORE_CI_SUCCESS },
		{ "Sf", STORE_CI_SUCCESS },     /* passed with warnings */
		{ "f", STORE_CI_SUCCESS },
		{ "Sx", STORE_CI_SUCCESS },
		{ "SF", STORE_CI_FAILED },
		{ "F", STORE_CI_FAILED },
		{ "FX", STORE_CI_FAILED },
		{ "FK", STORE_CI_FAILED },
		{ "X", STORE_CI_CANCELED },
		{ "SX", STORE_CI_CANCELED },
		{ "XK", STORE_CI_CANCELED },
		{ "C", STORE_CI_CREATED },
		{ "CC", STORE_CI_CREATED },
		{ "Cm", STORE_CI_CREATED },
		{ "P", STORE_CI_PENDING },
		{ "PC", STORE_CI_PENDING },
		{ "PK", STORE_CI_PENDING },
		{ "Pm", STORE_CI_PENDING },
		{ "R", STORE_CI_RUNNING },
		{ "RP", STORE_CI_RUNNING },
		{ "RS", STORE_CI_RUNNING },
		{ "RF", STORE_CI_RUNNING },
		{ "PS", STORE_CI_RUNNING },     /* an earlier stage passed */
		{ "SC", STORE_CI_RUNNING },     /* a later stage still to start */
		{ "FC", STORE_CI_RUNNING },
		{ "M", STORE_CI_MANUAL },       /* a blocking manual job */
		{ "SM", STORE_CI_MANUAL },
		{ "SMC", STORE_CI_MANUAL },
		{ "FM", STORE_CI_MANUAL },
		{ "RM", STORE_CI_RUNNING },
		{ "D", STORE_CI_SCHEDULED },
		{ "SD", STORE_CI_SCHEDULED },
		{ "MD", STORE_CI_MANUAL },
	};
	static const char letters[] = "CPRSFXKMD";
	struct store_ci_composite none = { 0 };
	enum store_ci_status got = STORE_CI_PENDING;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_ci_composite c = { 0 };

		for (const char *p = cases[i].jobs; *p; p++) {
			char up = (char)(*p >= 'a' ? *p - 32 : *p);
			const char *at = strchr(letters, up);

			cr_assert_not_null(at);
			store_ci_composite_add(&c, (enum store_ci_status)(at - letters), *p >= 'a');
		}
		cr_assert(store_ci_composite_status(&c, &got));
		cr_assert_eq(got, cases[i].want, "%s: got %s, want %s", cases[i].jobs,
			     store_ci_status_name(got), store_ci_status_name(cases[i].want));
	}
	/* no jobs: no verdict, the pipeline keeps its status */
	got = STORE_CI_PENDING;
	cr_assert_not(store_ci_composite_status(&none, &got));
	cr_assert_eq(got, STORE_CI_PENDING);
}

Test(ci_status, union_of_job_intervals)
{
	struct store_ci_interval a[] = { { 5000, 9000 }, { 0, 2000 }, { 1000, 3000 } };
	struct store_ci_interval b[] = { { 0, 10000 }, { 2000, 3000 } };
	struct store_ci_interval c[] = { { 0, 1500 }, { 1500, 2500 } };
	int64_t ms = 0;

	/* [0,3000] + [5000,9000]: the gap (a manual job waiting) is not counted */
	cr_assert_float_eq(store_ci_union_seconds(a, 3), 7.0, 1e-9);
	cr_assert_float_eq(store_ci_union_seconds(b, 2), 10.0, 1e-9);
	cr_assert_float_eq(store_ci_union_seconds(c, 2), 2.5, 1e-9);
	cr_assert_float_eq(store_ci_union_seconds(NULL, 0), 0.0, 1e-9);

	cr_assert_eq(store_iso_ms("1970-01-01T00:00:01.234Z", &ms), 0);
	cr_assert_eq(ms, 1234);
	cr_assert_eq(store_iso_ms("2026-11-22T02:24:00.5Z", &ms), 0);
	cr_assert_eq(ms % 1000, 500);
	cr_assert_eq(store_iso_ms("2026-11-22T02:24:00Z", &ms), 0);
	cr_assert_eq(ms % 1000, 0);
	cr_assert_eq(store_iso_ms("2026-11-22", &ms), SO_EINVALID);
	cr_assert_eq(store_iso_ms(NULL, &ms), SO_EINVALID);
}

/* ---- pipelines ---- */

STORE_TEST(ci_pipelines, create_get_and_list_jobs)
{
	struct ci_fixture f = mk_ci(st, "alice");
	struct store_job_new jobs[3];
	struct store_pipeline_new in = { 0 };
	struct store_pipeline *p = NULL;
	struct store_job **list = NULL;
	struct store_job *j = NULL;
	int64_t ids[3] = { 0 }, cn = 0, integ = 0, id = 0;

	cr_assert_eq(store_chat_name_create(st, f.user, "T1", "team", "U1", "alice", &cn), 0);
	cr_assert_eq(store_integration_upsert(st, f.project, "mattermost_slash_commands", "h",
					      true, false, &integ), 0);
	/* given out of stage order: lists come back by stage then id */
	jobs[0] = job_new("deploy", 2, STORE_CI_MANUAL, true);
	jobs[0].when = "manual";
	jobs[1] = job_new("compile", 0, STORE_CI_PENDING, false);
	jobs[1].spec_json = "{\"script\":[\"make\"]}";
	jobs[2] = job_new("unit", 1, STORE_CI_CREATED, false);
	in.project_id = f.project;
	in.source = "chat";
	in.ref = "main";
	in.sha = "abc123";
	in.user_id = f.user;
	in.name = "ChatOps run";
	in.chat_name_id = cn;
	in.chat_response_url = "http://mm.example/hooks/r1";
	in.chat_integration_id = integ;
	cr_assert_eq(store_pipeline_create(st, &in, jobs, 3, &id, ids), 0, "%s", error_msg());
	cr_assert(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1]);

	cr_assert_eq(store_pipeline_get(st, id, &p), 0);
	cr_assert_eq(p->id, id);
	cr_assert_eq(p->project_id, f.project);
	cr_assert_eq(p->iid, 1);
	cr_assert_str_eq(p->source, "chat");
	cr_assert_str_eq(p->ref, "main");
	cr_assert_str_eq(p->sha, "abc123");
	cr_assert_eq(p->status, STORE_CI_PENDING, "%s", store_ci_status_name(p->status));
	cr_assert_eq(p->user_id, f.user);
	cr_assert_str_eq(p->name, "ChatOps run");
	cr_assert_not_null(p->created_at);
	cr_assert_not_null(p->updated_at);
	cr_assert_null(p->started_at);
	cr_assert_null(p->finished_at);
	cr_assert_float_eq(p->duration, 0.0, 1e-9);
	cr_assert_eq(p->chat_name_id, cn);
	cr_assert_str_eq(p->chat_response_url, "http://mm.example/hooks/r1");
	cr_assert_eq(p->chat_integration_id, integ);
	store_pipeline_free(p);

	cr_assert_eq(store_job_list_for_pipeline(st, id, &list), 0);
	cr_assert_not_null(list[0]);
	cr_assert_str_eq(list[0]->name, "compile");
	cr_assert_str_eq(list[1]->name, "unit");
	cr_assert_str_eq(list[2]->name, "deploy");
	cr_assert_null(list[3]);
	cr_assert_eq(list[0]->id, ids[1]);
	cr_assert_eq(list[0]->status, STORE_CI_PENDING);
	cr_assert_not_null(list[0]->queued_at);
	cr_assert_str_eq(list[0]->spec_json, "{\"script\":[\"make\"]}");
	cr_assert_str_eq(list[0]->when, "on_success");
	cr_assert_null(list[1]->queued_at);
	cr_assert_str_eq(list[1]->spec_json, "{}");
	cr_assert_str_eq(list[2]->when, "manual");
	cr_assert(list[2]->allow_failure);
	cr_assert_eq(list[2]->status, STORE_CI_MANUAL);
	store_job_list_free(list);

	cr_assert_eq(store_job_get(st, ids[2], &j), 0);
	cr_assert_eq(j->pipeline_id, id);
	cr_assert_eq(j->project_id, f.project);
	cr_assert_str_eq(j->stage, "test");
	cr_assert_eq(j->stage_idx, 1);
	cr_assert_eq(j->user_id, f.user);
	cr_assert_eq(j->exit_code, -1);
	cr_assert_null(j->failure_reason);
	cr_assert_null(j->started_at);
	cr_assert_null(j->finished_at);
	cr_assert_eq(j->trace_bytes, 0);
	cr_assert_not_null(j->created_at);
	store_job_free(j);

	cr_assert_eq(store_pipeline_get(st, id + 100, &p), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "pipeline not found");
	cr_assert_eq(store_pipeline_get(st, 0, &p), SO_ENOTFOUND);
	cr_assert_eq(store_job_get(st, ids[2] + 100, &j), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "job not found");
	cr_assert_null(j);
	/* an unknown pipeline has no jobs */
	cr_assert_eq(store_job_list_for_pipeline(st, id + 100, &list), 0);
	cr_assert_null(list[0]);
	store_job_list_free(list);
}

STORE_TEST(ci_pipelines, refuses_bad_input_and_consumes_no_iid)
{
	struct ci_fixture f = mk_ci(st, "bob");
	struct store_job_new ok = job_new("a", 0, STORE_CI_PENDING, false);
	struct store_job_new bad = ok;
	struct store_pipeline_new in = { 0 };
	struct store_pipeline *p = NULL;
	int64_t id = 7;

	in.project_id = f.project;
	in.source = "push";
	in.ref = "main";
	in.sha = "abc";
	in.user_id = f.user;

	in.source = " ";
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Source can't be blank");
	cr_assert_eq(id, 0);
	in.source = "push";
	in.ref = NULL;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Ref can't be blank");
	in.ref = "main";
	in.sha = "";
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Sha can't be blank");
	in.sha = "abc";
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 0, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "No stages / jobs for this pipeline.");
	cr_assert_eq(store_pipeline_create(st, &in, NULL, 1, &id, NULL), SO_EINVALID);
	bad.name = "";
	cr_assert_eq(store_pipeline_create(st, &in, &bad, 1, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Name can't be blank");
	bad = ok;
	bad.stage = NULL;
	cr_assert_eq(store_pipeline_create(st, &in, &bad, 1, &id, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Stage can't be blank");
	bad = ok;
	bad.status = STORE_CI_RUNNING;
	cr_assert_eq(store_pipeline_create(st, &in, &bad, 1, &id, NULL), SO_EINVALID);
	bad.status = STORE_CI_SUCCESS;
	cr_assert_eq(store_pipeline_create(st, &in, &bad, 1, &id, NULL), SO_EINVALID);
	bad = ok;
	bad.stage_idx = -1;
	cr_assert_eq(store_pipeline_create(st, &in, &bad, 1, &id, NULL), SO_EINVALID);

	/* missing references, checked inside the write transaction */
	in.project_id = f.project + 100;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "project not found");
	in.project_id = 0;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_ENOTFOUND);
	in.project_id = f.project;
	in.user_id = f.user + 100;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user not found");
	in.user_id = f.user;
	in.chat_name_id = 4242;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "chat name not found");
	in.chat_name_id = 0;
	in.chat_integration_id = 4242;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "integration not found");
	in.chat_integration_id = 0;

	/* nothing above consumed an iid; user_id 0 is "no user" */
	in.user_id = 0;
	cr_assert_eq(store_pipeline_create(st, &in, &ok, 1, &id, NULL), 0, "%s", error_msg());
	cr_assert_eq(store_pipeline_get(st, id, &p), 0);
	cr_assert_eq(p->iid, 1);
	cr_assert_eq(p->user_id, 0);
	cr_assert_null(p->name);
	cr_assert_null(p->chat_response_url);
	cr_assert_eq(p->chat_name_id, 0);
	store_pipeline_free(p);
}

STORE_TEST(ci_pipelines, iid_per_project_never_reused)
{
	struct ci_fixture a = mk_ci(st, "carol");
	struct ci_fixture b = mk_ci(st, "dave");
	struct store_pipeline *p = NULL;
	struct store_pipeline **list = NULL;
	struct store_outbox **out = NULL;
	struct store_outbox_new o = { 0 };
	struct store_page page = { 1, 2 };
	int64_t pa[4], pb, jobs_a[4], total = 0, oid = 0;

	for (int i = 0; i < 3; i++)
		jobs_a[i] = mk_one(st, &a, STORE_CI_PENDING, &pa[i]);
	jobs_a[3] = 0;
	pb = mk_pipeline(st, &b, &(struct store_job_new){ .name = "x", .stage = "s",
				  .status = STORE_CI_CREATED }, 1, NULL);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(store_pipeline_get(st, pa[i], &p), 0);
		cr_assert_eq(p->iid, i + 1);
		store_pipeline_free(p);
	}
	cr_assert_eq(store_pipeline_get(st, pb, &p), 0);
	cr_assert_eq(p->iid, 1, "iids count per project");
	store_pipeline_free(p);

	/* deleting the newest pipeline does not give its iid back */
	cr_assert_eq(store_pipeline_delete(st, pa[2]), 0, "%s", error_msg());
	cr_assert_eq(store_pipeline_delete(st, pa[2]), SO_ENOTFOUND);
	cr_assert_eq(store_job_get(st, jobs_a[2], &(struct store_job *){ NULL }), SO_ENOTFOUND,
		     "the pipeline's jobs went with it");
	jobs_a[3] = mk_one(st, &a, STORE_CI_PENDING, &pa[3]);
	cr_assert_eq(store_pipeline_get(st, pa[3], &p), 0);
	cr_assert_eq(p->iid, 4);
	store_pipeline_free(p);

	/* newest first, paged, with the total */
	cr_assert_eq(store_pipeline_list(st, a.project, &page, &list, &total), 0);
	cr_assert_eq(total, 3);
	cr_assert_eq(list[0]->id, pa[3]);
	cr_assert_eq(list[1]->id, pa[1]);
	cr_assert_null(list[2]);
	store_pipeline_list_free(list);
	page.page = 2;
	cr_assert_eq(store_pipeline_list(st, a.project, &page, &list, &total), 0);
	cr_assert_eq(list[0]->id, pa[0]);
	cr_assert_null(list[1]);
	store_pipeline_list_free(list);
	cr_assert_eq(store_pipeline_list(st, a.project, NULL, &list, NULL), 0);
	cr_assert_eq(list[0]->iid, 4);
	store_pipeline_list_free(list);

	/* a reply about a job of project a */
	o.kind = "mattermost_response";
	o.url = "http://mm.example/r";
	o.payload = "{\"text\":\"done\"}";
	o.job_id = jobs_a[0];
	o.project_id = a.project;
	cr_assert_eq(store_outbox_enqueue(st, &o, &oid), 0, "%s", error_msg());

	/* deleting the project takes its pipelines and jobs, not its replies */
	cr_assert_eq(store_project_delete(st, a.project), 0);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		cr_assert_eq(store_pipeline_get(st, pa[i], &p), SO_ENOTFOUND);
		cr_assert_eq(store_job_get(st, jobs_a[i], &(struct store_job *){ NULL }),
			     SO_ENOTFOUND);
	}
	cr_assert_eq(store_pipeline_list(st, a.project, NULL, &list, &total), 0);
	cr_assert_eq(total, 0);
	cr_assert_null(list[0]);
	store_pipeline_list_free(list);
	cr_assert_eq(store_outbox_list_for_job(st, jobs_a[0], &out), 0);
	cr_assert_not_null(out[0]);
	cr_assert_eq(out[0]->id, oid);
	cr_assert_eq(out[0]->project_id, a.project);
	store_outbox_list_free(out);
	/* the other project is untouched */
	cr_assert_eq(pipeline_status(st, pb), STORE_CI_CREATED);
}

STORE_TEST(ci_pipelines, references_cleared_not_cascaded)
{
	struct ci_fixture f = mk_ci(st, "erin");
	int64_t other = mk_user(st, "frank");
	struct store_job_new j = job_new("j", 0, STORE_CI_MANUAL, false);
	struct store_pipeline_new in = { 0 };
	struct store_pipeline *p = NULL;
	struct store_job *job = NULL;
	int64_t cn = 0, integ = 0, id = 0, jid = 0;

	cr_assert_eq(store_member_add(st, f.project, other, 30, NULL, f.user), 0);
	cr_assert_eq(store_chat_name_create(st, other, "T", NULL, "U", NULL, &cn), 0);
	cr_assert_eq(store_integration_upsert(st, f.project, "mattermost_slash_commands", "h",
					      true, false, &integ), 0);
	in.project_id = f.project;
	in.source = "chat";
	in.ref = "main";
	in.sha = "abc";
	in.user_id = other;
	in.chat_name_id = cn;
	in.chat_integration_id = integ;
	cr_assert_eq(store_pipeline_create(st, &in, &j, 1, &id, &jid), 0, "%s", error_msg());

	cr_assert_eq(store_integration_delete(st, f.project, "mattermost_slash_commands"), 0);
	cr_assert_eq(store_chat_name_delete(st, cn, other), 0);
	cr_assert_eq(store_user_delete(st, other), 0);
	cr_assert_eq(store_pipeline_get(st, id, &p), 0, "the pipeline stays");
	cr_assert_eq(p->user_id, 0);
	cr_assert_eq(p->chat_name_id, 0);
	cr_assert_eq(p->chat_integration_id, 0);
	store_pipeline_free(p);
	cr_assert_eq(store_job_get(st, jid, &job), 0);
	cr_assert_eq(job->user_id, 0);
	store_job_free(job);
}

/* ---- job transitions ---- */

STORE_TEST(ci_jobs, lifecycle_timestamps_and_pipeline_status)
{
	struct ci_fixture f = mk_ci(st, "gina");
	struct store_job *j = NULL;
	struct store_pipeline *p = NULL;
	int64_t pid = 0, jid = mk_one(st, &f, STORE_CI_PENDING, &pid);
	int64_t a, b;

	cr_assert_eq(pipeline_status(st, pid), STORE_CI_PENDING);
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL, 0),
		     0, "%s", error_msg());
	cr_assert_eq(store_job_get(st, jid, &j), 0);
	cr_assert_eq(j->status, STORE_CI_RUNNING);
	cr_assert_not_null(j->queued_at);
	cr_assert_not_null(j->started_at);
	cr_assert_null(j->finished_at);
	cr_assert_eq(j->exit_code, -1, "not finished yet");
	store_job_free(j);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_RUNNING);
	cr_assert_not_null(p->started_at);
	cr_assert_null(p->finished_at);
	store_pipeline_free(p);

	sleep_ms(30);
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_RUNNING, STORE_CI_SUCCESS, 0, NULL, 0),
		     0, "%s", error_msg());
	cr_assert_eq(store_job_get(st, jid, &j), 0);
	cr_assert_eq(j->status, STORE_CI_SUCCESS);
	cr_assert_eq(j->exit_code, 0);
	cr_assert_null(j->failure_reason);
	cr_assert_not_null(j->finished_at);
	cr_assert_eq(store_iso_ms(j->started_at, &a), 0);
	cr_assert_eq(store_iso_ms(j->finished_at, &b), 0);
	cr_assert_geq(b - a, 30);
	cr_assert_float_eq(j->duration, (double)(b - a) / 1000.0, 1e-6);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_SUCCESS);
	cr_assert_str_eq(p->started_at, j->started_at);
	cr_assert_str_eq(p->finished_at, j->finished_at);
	cr_assert_float_eq(p->duration, j->duration, 1e-6);
	store_pipeline_free(p);
	store_job_free(j);

	/* a finished job never moves again */
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_SUCCESS, STORE_CI_RUNNING, 0, NULL, 0),
		     SO_EINVALID);
	cr_assert_str_eq(error_msg(), "a job cannot go from success to running");
	/* compare-and-set: the job is no longer running */
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_RUNNING, STORE_CI_CANCELED, -1, NULL,
					  0), SO_ECONFLICT);
	cr_assert_str_eq(error_msg(), "job is not running (it is success)");
	cr_assert_eq(job_status(st, jid), STORE_CI_SUCCESS);
	cr_assert_eq(store_job_transition(st, jid + 100, STORE_CI_RUNNING, STORE_CI_CANCELED, -1,
					  NULL, 0), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "job not found");
	cr_assert_eq(store_job_transition(st, 0, STORE_CI_RUNNING, STORE_CI_CANCELED, -1, NULL, 0),
		     SO_ENOTFOUND);
	cr_assert_eq(store_job_transition(st, jid, (enum store_ci_status)77, STORE_CI_CANCELED, -1,
					  NULL, 0), SO_EINVALID);
}

STORE_TEST(ci_jobs, failure_manual_play_and_cancel)
{
	struct ci_fixture f = mk_ci(st, "hank");
	int64_t player = mk_user(st, "ivy");
	struct store_job_new jobs[2];
	struct store_job *j = NULL;
	struct store_pipeline *p = NULL;
	int64_t ids[2], pid, jid;

	/* a failing job: exit code and GitLab's failure reason are kept */
	jid = mk_one(st, &f, STORE_CI_PENDING, &pid);
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_PENDING, STORE_CI_RUNNING, 5,
					  "ignored", 0), 0);
	cr_assert_eq(store_job_get(st, jid, &j), 0);
	cr_assert_eq(j->exit_code, -1, "exit codes are only recorded when finishing");
	cr_assert_null(j->failure_reason);
	store_job_free(j);
	cr_assert_eq(store_job_transition(st, jid, STORE_CI_RUNNING, STORE_CI_FAILED, 3,
					  "script_failure", 0), 0);
	cr_assert_eq(store_job_get(st, jid, &j), 0);
	cr_assert_eq(j->exit_code, 3);
	cr_assert_str_eq(j->failure_reason, "script_failure");
	store_job_free(j);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_FAILED);

	/* allow_failure: the pipeline passes (with warnings) */
	jobs[0] = job_new("may-fail", 0, STORE_CI_PENDING, true);
	jobs[1] = job_new("must-pass", 0, STORE_CI_PENDING, false);
	pid = mk_pipeline(st, &f, jobs, 2, ids);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_RUNNING);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_RUNNING, STORE_CI_FAILED, 1,
					  "script_failure", 0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_PENDING, "only must-pass is left, pending");
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_RUNNING, STORE_CI_SUCCESS, 0, NULL,
					  0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_SUCCESS);

	/* when: manual (allow_failure, GitLab's default): the pipeline is
	 * "skipped" while the job waits, then follows the job once played */
	jobs[0] = job_new("deploy", 0, STORE_CI_MANUAL, true);
	jobs[0].when = "manual";
	pid = mk_pipeline(st, &f, jobs, 1, ids);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_SKIPPED);
	cr_assert_not_null(p->finished_at, "a skipped pipeline is finished");
	store_pipeline_free(p);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_MANUAL, STORE_CI_PENDING, 0, NULL,
					  player + 100), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "user not found");
	cr_assert_eq(job_status(st, ids[0]), STORE_CI_MANUAL, "nothing changed");
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_MANUAL, STORE_CI_PENDING, 0, NULL,
					  player), 0, "%s", error_msg());
	cr_assert_eq(store_job_get(st, ids[0], &j), 0);
	cr_assert_eq(j->status, STORE_CI_PENDING);
	cr_assert_eq(j->user_id, player, "play replaces the job's user");
	cr_assert_not_null(j->queued_at);
	store_job_free(j);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_PENDING);
	cr_assert_null(p->finished_at, "no longer finished");
	cr_assert_eq(p->user_id, f.user, "the pipeline keeps who started it");
	store_pipeline_free(p);

	/* a blocking manual job (allow_failure false) shows as manual */
	jobs[0] = job_new("gate", 0, STORE_CI_MANUAL, false);
	pid = mk_pipeline(st, &f, jobs, 1, ids);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_MANUAL);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_MANUAL, STORE_CI_CANCELED, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_get(st, ids[0], &j), 0);
	cr_assert_not_null(j->finished_at);
	cr_assert_null(j->started_at);
	cr_assert_float_eq(j->duration, 0.0, 1e-9, "never started: duration 0");
	store_job_free(j);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_CANCELED);
	cr_assert_float_eq(p->duration, 0.0, 1e-9);
	store_pipeline_free(p);

	/* a second stage: running until it starts, skipped after a failure */
	jobs[0] = job_new("build", 0, STORE_CI_PENDING, false);
	jobs[1] = job_new("test", 1, STORE_CI_CREATED, false);
	pid = mk_pipeline(st, &f, jobs, 2, ids);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_PENDING);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_RUNNING, STORE_CI_FAILED, 2,
					  "script_failure", 0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_RUNNING, "test is still created");
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_CREATED, STORE_CI_SKIPPED, 0, NULL,
					  0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_FAILED);

	/* refresh on demand recomputes the same thing */
	cr_assert_eq(store_pipeline_refresh_status(st, pid), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_FAILED);
	cr_assert_eq(store_pipeline_refresh_status(st, pid + 100), SO_ENOTFOUND);
	cr_assert_eq(store_pipeline_refresh_status(st, 0), SO_ENOTFOUND);
}

STORE_TEST(ci_jobs, pipeline_duration_counts_only_running_time)
{
	struct ci_fixture f = mk_ci(st, "jack");
	struct store_job_new jobs[2];
	struct store_pipeline *p = NULL;
	struct store_job *a = NULL, *b = NULL;
	int64_t ids[2], pid, a0, a1, b0, b1;

	jobs[0] = job_new("first", 0, STORE_CI_PENDING, false);
	jobs[1] = job_new("second", 1, STORE_CI_MANUAL, false);
	pid = mk_pipeline(st, &f, jobs, 2, ids);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	sleep_ms(20);
	cr_assert_eq(store_job_transition(st, ids[0], STORE_CI_RUNNING, STORE_CI_SUCCESS, 0, NULL,
					  0), 0);
	cr_assert_eq(pipeline_status(st, pid), STORE_CI_MANUAL);
	sleep_ms(150); /* waiting for someone to play: not counted */
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_MANUAL, STORE_CI_PENDING, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	sleep_ms(20);
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_RUNNING, STORE_CI_SUCCESS, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_get(st, ids[0], &a), 0);
	cr_assert_eq(store_job_get(st, ids[1], &b), 0);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->status, STORE_CI_SUCCESS);
	cr_assert_eq(store_iso_ms(a->started_at, &a0), 0);
	cr_assert_eq(store_iso_ms(a->finished_at, &a1), 0);
	cr_assert_eq(store_iso_ms(b->started_at, &b0), 0);
	cr_assert_eq(store_iso_ms(b->finished_at, &b1), 0);
	cr_assert_str_eq(p->started_at, a->started_at);
	cr_assert_str_eq(p->finished_at, b->finished_at);
	cr_assert_float_eq(p->duration, (double)(a1 - a0 + b1 - b0) / 1000.0, 1e-6);
	cr_assert_lt(p->duration, (double)(b1 - a0) / 1000.0, "the wait is not counted");
	store_pipeline_free(p);
	store_job_free(a);
	store_job_free(b);
}

STORE_TEST(ci_jobs, lists_by_project_and_status_and_trace_bytes)
{
	struct ci_fixture f = mk_ci(st, "kate");
	struct ci_fixture g = mk_ci(st, "liam");
	struct store_job **list = NULL;
	struct store_job *j = NULL;
	struct store_page page = { 1, 3 };
	int64_t ids[5], other, total = 0;

	for (int i = 0; i < 5; i++)
		ids[i] = mk_one(st, &f, STORE_CI_PENDING, NULL);
	other = mk_one(st, &g, STORE_CI_PENDING, NULL);
	cr_assert_eq(store_job_transition(st, ids[1], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);

	cr_assert_eq(store_job_list_for_project(st, f.project, &page, &list, &total), 0);
	cr_assert_eq(total, 5);
	cr_assert_eq(list[0]->id, ids[4], "newest first");
	cr_assert_eq(list[2]->id, ids[2]);
	cr_assert_null(list[3]);
	store_job_list_free(list);

	/* across projects, oldest first, at most limit */
	cr_assert_eq(store_job_list_by_status(st, STORE_CI_PENDING, 100, &list), 0);
	cr_assert_eq(list[0]->id, ids[0]);
	cr_assert_eq(list[1]->id, ids[2]);
	cr_assert_eq(list[4]->id, other);
	cr_assert_null(list[5]);
	store_job_list_free(list);
	cr_assert_eq(store_job_list_by_status(st, STORE_CI_PENDING, 2, &list), 0);
	cr_assert_eq(list[1]->id, ids[2]);
	cr_assert_null(list[2]);
	store_job_list_free(list);
	cr_assert_eq(store_job_list_by_status(st, STORE_CI_PENDING, 0, &list), 0);
	cr_assert_null(list[0]);
	store_job_list_free(list);
	cr_assert_eq(store_job_list_by_status(st, STORE_CI_RUNNING, SIZE_MAX, &list), 0);
	cr_assert_eq(list[0]->id, ids[1]);
	cr_assert_null(list[1]);
	store_job_list_free(list);
	cr_assert_eq(store_job_list_by_status(st, (enum store_ci_status)-1, 5, &list),
		     SO_EINVALID);

	cr_assert_eq(store_job_set_trace_bytes(st, ids[1], 123456789012LL), 0);
	cr_assert_eq(store_job_get(st, ids[1], &j), 0);
	cr_assert_eq(j->trace_bytes, 123456789012LL);
	store_job_free(j);
	cr_assert_eq(store_job_set_trace_bytes(st, ids[1], -1), SO_EINVALID);
	cr_assert_eq(store_job_set_trace_bytes(st, other + 100, 1), SO_ENOTFOUND);
}

STORE_TEST(ci_jobs, fail_running_marks_failed_and_refreshes_pipelines)
{
	struct ci_fixture f = mk_ci(st, "mona");
	struct store_job_new two[2] = { job_new("a", 0, STORE_CI_PENDING, false),
					job_new("b", 0, STORE_CI_PENDING, false) };
	struct store_job *j = NULL;
	struct store_pipeline *p = NULL;
	int64_t p1, p2, p3, j1, j2[2], j3, *ids = (int64_t *)1;
	size_t n = 99;

	j1 = mk_one(st, &f, STORE_CI_PENDING, &p1);
	p2 = mk_pipeline(st, &f, two, 2, j2);
	j3 = mk_one(st, &f, STORE_CI_PENDING, &p3);
	cr_assert_eq(store_job_transition(st, j1, STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL, 0),
		     0);
	cr_assert_eq(store_job_transition(st, j2[0], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);
	cr_assert_eq(store_job_transition(st, j2[1], STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL,
					  0), 0);

	cr_assert_eq(store_job_fail_running(st, "runner_system_failure", &ids, &n), 0, "%s",
		     error_msg());
	cr_assert_eq(n, 3);
	cr_assert_eq(ids[0], j1);
	cr_assert_eq(ids[1], j2[0]);
	cr_assert_eq(ids[2], j2[1]);
	free(ids);
	cr_assert_eq(store_job_get(st, j2[1], &j), 0);
	cr_assert_eq(j->status, STORE_CI_FAILED);
	cr_assert_str_eq(j->failure_reason, "runner_system_failure");
	cr_assert_eq(j->exit_code, -1);
	cr_assert_not_null(j->finished_at);
	cr_assert_geq(j->duration, 0.0);
	store_job_free(j);
	cr_assert_eq(pipeline_status(st, p1), STORE_CI_FAILED);
	cr_assert_eq(store_pipeline_get(st, p2, &p), 0);
	cr_assert_eq(p->status, STORE_CI_FAILED);
	cr_assert_not_null(p->finished_at);
	store_pipeline_free(p);
	cr_assert_eq(job_status(st, j3), STORE_CI_PENDING, "pending jobs are left alone");
	cr_assert_eq(pipeline_status(st, p3), STORE_CI_PENDING);

	/* nothing left to fail */
	ids = (int64_t *)1;
	cr_assert_eq(store_job_fail_running(st, NULL, &ids, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(ids);
	/* the outputs are optional; a blank reason becomes unknown_failure */
	cr_assert_eq(store_job_transition(st, j3, STORE_CI_PENDING, STORE_CI_RUNNING, 0, NULL, 0),
		     0);
	cr_assert_eq(store_job_fail_running(st, " ", NULL, NULL), 0);
	cr_assert_eq(store_job_get(st, j3, &j), 0);
	cr_assert_eq(j->status, STORE_CI_FAILED);
	cr_assert_str_eq(j->failure_reason, "unknown_failure");
	store_job_free(j);
}

/* ---- 8 threads racing on one running job ---- */

#define RACE_THREADS 8
#define RACE_JOBS 12

struct race {
	struct store *st;
	int64_t job;
	pthread_barrier_t *barrier;
	int index;
	int result;
	char msg[128];
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	enum store_ci_status to = r->index % 2 ? STORE_CI_CANCELED : STORE_CI_SUCCESS;

	pthread_barrier_wait(r->barrier);
	r->result = store_job_transition(r->st, r->job, STORE_CI_RUNNING, to, 0, NULL, 0);
	snprintf(r->msg, sizeof(r->msg), "%s", error_msg());
	return NULL;
}

Test(ci_race, cancel_and_success_exactly_one_wins, .timeout = 120)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct ci_fixture f;
	pthread_barrier_t barrier;
	int wins_cancel = 0, wins_success = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	f = mk_ci(st, "race");
	cr_assert_eq(pthread_barrier_init(&barrier, NULL, RACE_THREADS), 0);
	for (int round = 0; round < RACE_JOBS; round++) {
		pthread_t th[RACE_THREADS];
		struct race r[RACE_THREADS];
		int64_t pid = 0, jid = mk_one(st, &f, STORE_CI_PENDING, &pid);
		int winner = -1;

		cr_assert_eq(store_job_transition(st, jid, STORE_CI_PENDING, STORE_CI_RUNNING, 0,
						  NULL, 0), 0);
		for (int i = 0; i < RACE_THREADS; i++) {
			r[i] = (struct race){ .st = st, .job = jid, .barrier = &barrier, .index = i };
			cr_assert_eq(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
		}
		for (int i = 0; i < RACE_THREADS; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < RACE_THREADS; i++) {
			if (r[i].result == 0) {
				cr_assert_eq(winner, -1, "round %d: two transitions won", round);
				winner = i;
			} else {
				cr_assert_eq(r[i].result, SO_ECONFLICT, "round %d: %s", round,
					     r[i].msg);
				cr_assert(strncmp(r[i].msg, "job is not running", 18) == 0, "%s",
					  r[i].msg);
			}
		}
		cr_assert_neq(winner, -1, "round %d: nobody won", round);
		if (winner % 2) {
			wins_cancel++;
			cr_assert_eq(job_status(st, jid), STORE_CI_CANCELED);
			cr_assert_eq(pipeline_status(st, pid), STORE_CI_CANCELED);
		} else {
			wins_success++;
			cr_assert_eq(job_status(st, jid), STORE_CI_SUCCESS);
			cr_assert_eq(pipeline_status(st, pid), STORE_CI_SUCCESS);
		}
	}
	cr_log_info("race: cancel won %d, success won %d", wins_cancel, wins_success);
	pthread_barrier_destroy(&barrier);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());
	store_close(st);
	tmpdb_remove(&t);
}

/* ---- the outbox ---- */

static int64_t enqueue(struct store *st, const char *url, int64_t job, int64_t not_before)
{
	struct store_outbox_new o = { 0 };
	int64_t id = 0;

	o.kind = "mattermost_response";
	o.url = url;
	o.payload = "{\"response_type\":\"in_channel\",\"text\":\"ok\"}";
	o.job_id = job;
	o.not_before = not_before;
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), 0, "%s", error_msg());
	cr_assert_gt(id, 0);
	return id;
}

STORE_TEST(ci_outbox, due_order_backoff_and_delivery)
{
	struct store_outbox **due = NULL;
	int64_t base = 1800000000, next = -1, count = -1;
	int64_t a, b, c, d;

	cr_assert_eq(store_outbox_next_due(st, &next), 0);
	cr_assert_eq(next, 0, "no pending rows");
	a = enqueue(st, "http://mm/r/1", 0, base + 10);
	b = enqueue(st, "http://mm/r/1", 0, base);
	c = enqueue(st, "http://mm/r/2", 0, base);
	d = enqueue(st, "http://mm/r/3", 0, base + 100);

	cr_assert_eq(store_outbox_next_due(st, &next), 0);
	cr_assert_eq(next, base);
	cr_assert_eq(store_outbox_due(st, base - 1, 10, &due), 0);
	cr_assert_null(due[0], "nothing due yet");
	store_outbox_list_free(due);
	/* longest waiting first: by next_attempt_at, then id */
	cr_assert_eq(store_outbox_due(st, base + 10, 10, &due), 0);
	cr_assert_eq(due[0]->id, b);
	cr_assert_eq(due[1]->id, c);
	cr_assert_eq(due[2]->id, a);
	cr_assert_null(due[3]);
	cr_assert_str_eq(due[0]->kind, "mattermost_response");
	cr_assert_str_eq(due[0]->url, "http://mm/r/1");
	cr_assert_str_eq(due[0]->payload, "{\"response_type\":\"in_channel\",\"text\":\"ok\"}");
	cr_assert_eq(due[0]->state, STORE_OUTBOX_PENDING);
	cr_assert_eq(due[0]->attempts, 0);
	cr_assert_eq(due[0]->next_attempt_at, base);
	cr_assert_eq(due[0]->expires_at, 0);
	cr_assert_eq(due[0]->job_id, 0);
	cr_assert_null(due[0]->last_error);
	cr_assert_null(due[0]->delivered_at);
	cr_assert_not_null(due[0]->created_at);
	store_outbox_list_free(due);
	cr_assert_eq(store_outbox_due(st, base + 1000, 2, &due), 0);
	cr_assert_eq(due[1]->id, c);
	cr_assert_null(due[2], "at most limit");
	store_outbox_list_free(due);
	cr_assert_eq(store_outbox_due(st, base + 1000, 0, &due), 0);
	cr_assert_null(due[0]);
	store_outbox_list_free(due);

	/* a refused post: back off */
	cr_assert_eq(store_outbox_mark_retry(st, b, base + 60, "HTTP 503"), 0, "%s", error_msg());
	cr_assert_eq(store_outbox_mark_retry(st, b, base + 180, "connection refused"), 0);
	cr_assert_eq(store_outbox_due(st, base + 10, 10, &due), 0);
	cr_assert_eq(due[0]->id, c);
	cr_assert_eq(due[1]->id, a);
	cr_assert_null(due[2], "b waits for its retry time");
	store_outbox_list_free(due);
	cr_assert_eq(store_outbox_due(st, base + 180, 10, &due), 0);
	cr_assert_eq(due[3]->id, b, "after d (base + 100)");
	cr_assert_eq(due[3]->attempts, 2);
	cr_assert_eq(due[3]->next_attempt_at, base + 180);
	cr_assert_str_eq(due[3]->last_error, "connection refused");
	store_outbox_list_free(due);

	/* delivered once: a second mark is a conflict, and it is no longer due */
	cr_assert_eq(store_outbox_mark_delivered(st, b), 0);
	cr_assert_eq(store_outbox_mark_delivered(st, b), SO_ECONFLICT);
	cr_assert_str_eq(error_msg(), "reply is already delivered");
	cr_assert_eq(store_outbox_mark_retry(st, b, base, "x"), SO_ECONFLICT);
	cr_assert_eq(store_outbox_mark_delivered(st, a), 0);
	cr_assert_eq(store_outbox_count_delivered_to(st, "http://mm/r/1", &count), 0);
	cr_assert_eq(count, 2);
	cr_assert_eq(store_outbox_count_delivered_to(st, "http://mm/r/2", &count), 0);
	cr_assert_eq(count, 0, "pending rows do not count");
	cr_assert_eq(store_outbox_count_delivered_to(st, "", &count), 0);
	cr_assert_eq(count, 0);

	/* giving up */
	cr_assert_eq(store_outbox_mark_failed(st, c, "response_url expired"), 0);
	cr_assert_eq(store_outbox_mark_failed(st, c, NULL), SO_ECONFLICT);
	cr_assert_str_eq(error_msg(), "reply has already failed");
	cr_assert_eq(store_outbox_mark_delivered(st, c), SO_ECONFLICT);
	cr_assert_eq(store_outbox_count_delivered_to(st, "http://mm/r/2", &count), 0);
	cr_assert_eq(count, 0);
	cr_assert_eq(store_outbox_next_due(st, &next), 0);
	cr_assert_eq(next, base + 100, "only d is pending");
	cr_assert_eq(store_outbox_mark_delivered(st, d + 100), SO_ENOTFOUND);
	cr_assert_str_eq(error_msg(), "reply not found");
	cr_assert_eq(store_outbox_mark_failed(st, 0, NULL), SO_ENOTFOUND);
	cr_assert_eq(store_outbox_mark_retry(st, d, -5, NULL), SO_EINVALID);
}

STORE_TEST(ci_outbox, enqueue_checks_and_list_for_job)
{
	struct ci_fixture f = mk_ci(st, "nina");
	struct store_outbox_new o = { 0 };
	struct store_outbox **list = NULL;
	int64_t jid = mk_one(st, &f, STORE_CI_PENDING, NULL);
	int64_t before, after, id = 5, first, second;
	char *big;

	o.kind = "mattermost_response";
	o.url = "http://mm/hooks/x";
	o.payload = "{}";
	o.job_id = jid;
	o.project_id = f.project;
	o.expires_at = 1900000000;
	before = clock_unix();
	cr_assert_eq(store_outbox_enqueue(st, &o, &first), 0, "%s", error_msg());
	after = clock_unix();
	second = enqueue(st, "http://mm/hooks/y", jid, 0);
	enqueue(st, "http://mm/hooks/z", jid + 1, 0);

	cr_assert_eq(store_outbox_list_for_job(st, jid, &list), 0);
	cr_assert_eq(list[0]->id, first);
	cr_assert_eq(list[1]->id, second);
	cr_assert_null(list[2]);
	cr_assert_eq(list[0]->job_id, jid);
	cr_assert_eq(list[0]->project_id, f.project);
	cr_assert_eq(list[0]->expires_at, 1900000000);
	cr_assert(list[0]->next_attempt_at >= before && list[0]->next_attempt_at <= after,
		  "not_before 0 means now");
	store_outbox_list_free(list);
	cr_assert_eq(store_outbox_list_for_job(st, 0, &list), 0);
	cr_assert_null(list[0]);
	store_outbox_list_free(list);

	o.kind = "";
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_EINVALID);
	cr_assert_eq(id, 0);
	o.kind = "webhook";
	o.url = NULL;
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_EINVALID);
	o.url = "http://x";
	o.payload = " ";
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_EINVALID);
	o.payload = "{}";
	o.expires_at = -1;
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_EINVALID);
	o.expires_at = 0;
	big = malloc(1024 * 1024 + 2);
	cr_assert_not_null(big);
	memset(big, 'a', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	o.payload = big;
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_ETOOBIG);
	o.payload = "{}";
	big[4097] = '\0';
	o.url = big;
	cr_assert_eq(store_outbox_enqueue(st, &o, &id), SO_ETOOBIG);
	free(big);
}

/* ---- upgrade and frees ---- */

Test(ci_upgrade, database_from_version_2_keeps_data)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct store_user *u = NULL;
	struct store_integration *in = NULL;
	struct store_chat_name *cn = NULL;
	struct store_pipeline *p = NULL;
	struct store_pipeline_new pn = { 0 };
	struct store_job_new j = job_new("hello-world", 0, STORE_CI_PENDING, false);
	struct ci_fixture f;
	int64_t integ = 0, cid = 0, pid = 0, jid = 0;
	int v = 0;

	tmpdb_init(&t);
	cr_assert_eq(store_open_version(&st, t.url, 2), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, 2);
	f = mk_ci(st, "old");
	cr_assert_eq(store_integration_upsert(st, f.project, "mattermost_slash_commands", "h",
					      true, false, &integ), 0);
	cr_assert_eq(store_chat_name_create(st, f.user, "T", "team", "U", "old", &cid), 0);
	store_close(st);

	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	cr_assert_eq(store_check(st), 0, "%s", error_msg());
	cr_assert_eq(store_user_get(st, f.user, &u), 0);
	cr_assert_str_eq(u->username, "old");
	store_user_free(u);
	cr_assert_eq(store_integration_get(st, f.project, "mattermost_slash_commands", &in), 0);
	cr_assert_eq(in->id, integ);
	store_integration_free(in);
	cr_assert_eq(store_chat_name_find(st, "T", "U", &cn), 0);
	cr_assert_eq(cn->id, cid);
	store_chat_name_free(cn);
	/* the new tables work with the old rows */
	pn.project_id = f.project;
	pn.source = "chat";
	pn.ref = "main";
	pn.sha = "abc";
	pn.user_id = f.user;
	pn.chat_name_id = cid;
	pn.chat_integration_id = integ;
	pn.chat_response_url = "http://mm/r";
	cr_assert_eq(store_pipeline_create(st, &pn, &j, 1, &pid, &jid), 0, "%s", error_msg());
	enqueue(st, "http://mm/r", jid, 0);
	store_close(st);

	/* reopening applies nothing more and keeps the new rows */
	cr_assert_eq(store_open(&st, t.url), 0, "%s", error_msg());
	cr_assert_eq(store_schema_version(st, &v), 0);
	cr_assert_eq(v, STORE_TEST_SCHEMA);
	cr_assert_eq(store_pipeline_get(st, pid, &p), 0);
	cr_assert_eq(p->iid, 1);
	cr_assert_eq(p->chat_name_id, cid);
	store_pipeline_free(p);
	cr_assert_eq(job_status(st, jid), STORE_CI_PENDING);
	store_close(st);

	/* an older binary refuses the upgraded file */
	cr_assert_eq(store_open_version(&st, t.url, 2), SO_EFAIL);
	cr_assert_null(st);
	tmpdb_remove(&t);
}

Test(ci_free, all_accept_null)
{
	store_pipeline_free(NULL);
	store_pipeline_list_free(NULL);
	store_job_free(NULL);
	store_job_list_free(NULL);
	store_outbox_free(NULL);
	store_outbox_list_free(NULL);
	cr_assert(true);
}
