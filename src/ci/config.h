/*
 * ci/config.h: the validated model of a .gitlab-ci.yml, as GitLab sees it
 * after composition (include, extends, !reference, .pre/.post, default:,
 * parallel expansion), and the loader that builds it.
 *
 * Design: ci_config_load() takes the bytes of the main file plus callbacks
 * for everything outside it (local/project includes, repository file
 * listing, variables for include rules) and either returns a complete
 * struct ci_config or fills a list of diagnostics, each with file, line and
 * column. The steps follow Gitlab::Ci::Config#build_config: YAML load
 * (ci/yaml.c), include (ci/include.c), extends (ci/extends.c), !reference,
 * stage injection, then validation into these structs (ci/config.c).
 *
 * The model is "resolved but not evaluated": defaults are applied to jobs
 * (respecting inherit:default), parallel jobs are expanded into one job
 * per instance named as GitLab names them ("test 1/3", "test: [ruby, 2.7]")
 * and needs/dependencies on the base name are rewritten to every instance.
 * Nothing that depends on a pipeline (rules, only/except, workflow,
 * variable precedence and expansion) is evaluated here; that is ci/plan.c.
 * Global variables are NOT copied into jobs: a job keeps only its own
 * variables plus its inherit:variables setting.
 *
 * Stability: other modules (ci/plan.c) read these structs; fields are only
 * ever added, never renamed or removed.
 *
 * Ownership: everything reachable from a struct ci_config belongs to it and
 * is released by ci_config_free(). Strings are NUL-terminated UTF-8. A
 * struct ci_pos's file pointer is owned by the config (interned paths).
 */
#ifndef SO_CI_CONFIG_H
#define SO_CI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct buf;

/* Source position of a value: 1-based line and column. file is the path
 * relative to the repository root (as given to ci_config_load or as
 * included); borrowed from the config. */
struct ci_pos {
	const char *file;
	unsigned line;
	unsigned col;
};

/* Tri-state for optional booleans. */
enum ci_tri {
	CI_TRI_UNSET = -1,
	CI_TRI_FALSE = 0,
	CI_TRI_TRUE = 1,
};

enum ci_when {
	CI_WHEN_UNSET = 0,   /* not given (job default on_success) */
	CI_WHEN_ON_SUCCESS,
	CI_WHEN_ON_FAILURE,
	CI_WHEN_ALWAYS,
	CI_WHEN_MANUAL,
	CI_WHEN_DELAYED,
	CI_WHEN_NEVER,       /* only in rules / workflow:rules */
};

/* "on_success", ... ; NULL for CI_WHEN_UNSET. */
const char *ci_when_name(enum ci_when w);

/* A list of owned strings. */
struct ci_strv {
	char **v;
	size_t n;
};

/* A list of integers (exit codes). */
struct ci_intv {
	int *v;
	size_t n;
};

/* One YAML variable, in definition order. value is never NULL (a null
 * value becomes ""); numbers and booleans are their YAML text. */
struct ci_var {
	char *key;
	char *value;
	bool expand;          /* false for `expand: false` (sent as raw) */
	char *description;    /* NULL unless the {value, description} form */
	struct ci_strv options; /* `options:` of the hash form, may be empty */
	struct ci_pos pos;
};

struct ci_vars {
	struct ci_var *v;
	size_t n;
};

/* One `needs:` entry. Cross-pipeline (`pipeline:`) and cross-project
 * (`project:`) needs are kept with ignored = true and must be skipped by
 * planning (they name jobs of other pipelines). */
struct ci_need {
	char *job;
	bool optional;        /* default false */
	bool artifacts;       /* default true */
	char *pipeline;       /* NULL unless given */
	char *project;        /* NULL unless given */
	char *ref;            /* NULL unless given */
	bool ignored;
	struct ci_pos pos;
};

struct ci_needs {
	struct ci_need *v;
	size_t n;
	bool specified;       /* true for `needs: []` too */
};

/* rules:changes / only:changes. */
struct ci_changes {
	bool specified;
	struct ci_strv paths;
	char *compare_to;     /* NULL unless given */
};

/* rules:exists. */
struct ci_exists {
	bool specified;
	struct ci_strv paths;
	char *project;        /* NULL unless given */
	char *ref;            /* NULL unless given */
};

/* One rule (job rules, workflow:rules, include rules). */
struct ci_rule {
	char *if_expr;        /* NULL when the rule has no `if:` */
	struct ci_pos if_pos;
	struct ci_changes changes;
	struct ci_exists exists;
	enum ci_when when;    /* CI_WHEN_UNSET when not given */
	char *start_in;       /* NULL unless given */
	enum ci_tri allow_failure;
	struct ci_vars variables;
	struct ci_needs needs; /* needs.specified when the rule has needs: */
	enum ci_tri interruptible;
	struct ci_pos pos;
};

struct ci_rules {
	struct ci_rule *v;
	size_t n;
	bool specified;
};

/* only: / except:. The array form fills refs. */
struct ci_policy {
	bool specified;
	struct ci_strv refs;
	struct ci_strv variables;   /* expressions */
	struct ci_changes changes;
	char *kubernetes;           /* "active" or NULL */
	struct ci_pos pos;
};

struct ci_environment {
	bool specified;
	char *name;
	char *url;             /* NULL unless given */
	char *action;          /* NULL unless given ("start" by default) */
	char *deployment_tier; /* NULL unless given */
	char *on_stop;         /* NULL unless given */
	char *auto_stop_in;    /* NULL unless given */
	json_t *kubernetes;    /* NULL unless given; owned */
	struct ci_pos pos;
};

struct ci_allow_failure {
	bool specified;       /* given by the job (else see ci_job_allow_failure) */
	bool value;           /* true also when exit_codes are given */
	struct ci_intv exit_codes;
};

struct ci_retry {
	bool specified;
	int max;              /* 0..2 */
	struct ci_strv when;  /* failure reasons or "always"; empty = always */
	struct ci_intv exit_codes;
};

enum ci_inherit_mode {
	CI_INHERIT_ALL = 0,   /* default: true */
	CI_INHERIT_NONE,      /* false */
	CI_INHERIT_LIST,      /* only the listed keys / variable names */
};

struct ci_inherit {
	enum ci_inherit_mode default_mode;
	struct ci_strv default_keys;
	enum ci_inherit_mode variables_mode;
	struct ci_strv variables_keys;
};

/* parallel: a job expanded from `parallel: N` or `parallel: matrix:`
 * has total > 0 and index in 1..total (CI_NODE_INDEX/CI_NODE_TOTAL). For
 * matrix jobs matrix_vars holds the combination's variables (they act as
 * job variables, ahead of the job's own `variables:` in the list). */
struct ci_parallel {
	int total;            /* 0 when the job is not parallel */
	int index;
	bool matrix;
	struct ci_vars matrix_vars;
};

struct ci_job {
	char *name;           /* final name ("test 1/2", "build: [a, b]") */
	char *base_name;      /* the name in the YAML (== name unless parallel) */
	struct ci_pos pos;    /* position of the job's key */
	char *stage;          /* never NULL: "test" by default */
	size_t stage_index;   /* index into ci_config.stages */
	bool bridge;          /* a trigger: job (no script) */

	struct ci_strv script;        /* flattened */
	struct ci_strv before_script; /* after default: inheritance */
	struct ci_strv after_script;  /* after default: inheritance */
	bool has_before_script;
	bool has_after_script;

	enum ci_when when;    /* CI_WHEN_UNSET when not given */
	char *start_in;       /* NULL unless given */
	struct ci_allow_failure allow_failure;
	struct ci_rules rules;
	struct ci_policy only;
	struct ci_policy except;
	struct ci_needs needs;
	struct ci_strv dependencies;
	bool dependencies_specified;
	struct ci_environment environment;
	char *timeout;        /* NULL unless given (or inherited) */
	long timeout_seconds; /* parsed timeout, 0 when none */
	struct ci_retry retry;
	char *resource_group; /* NULL unless given */
	enum ci_tri interruptible;
	struct ci_strv tags;
	struct ci_vars variables; /* the job's own, in order */
	char *coverage;       /* NULL unless given */
	struct ci_inherit inherit;
	struct ci_parallel parallel;
	struct ci_strv extends;   /* as written, for information */

	/* Kept as JSON (owned), NULL when absent: */
	json_t *artifacts;
	json_t *image;
	json_t *services;
	json_t *cache;
	json_t *trigger;
	json_t *release;
	json_t *secrets;
	json_t *id_tokens;
	json_t *hooks;
	json_t *pages;
	json_t *environment_json;
};

struct ci_workflow {
	bool specified;
	char *name;           /* NULL unless given */
	struct ci_rules rules;
	json_t *auto_cancel;  /* kept, unused; NULL when absent */
};

struct ci_config {
	char **stages;        /* ".pre" first, ".post" last */
	size_t n_stages;
	struct ci_vars variables; /* global variables */
	struct ci_workflow workflow;
	json_t *default_json; /* the default: entry after composition, or NULL */
	struct ci_job **jobs; /* visible jobs (no hidden ones), in file order */
	size_t n_jobs;
	void *priv;           /* job index and interned strings */
};

/* ---------- diagnostics ---------- */

enum ci_severity {
	CI_DIAG_ERROR = 0,
	CI_DIAG_WARNING = 1,
};

struct ci_diag {
	enum ci_severity severity;
	char *file;           /* owned; "" when unknown */
	unsigned line;        /* 0 when unknown */
	unsigned col;
	char *message;        /* owned */
};

struct ci_diags {
	struct ci_diag *v;
	size_t n;
	size_t n_errors;
};

void ci_diags_init(struct ci_diags *d);
void ci_diags_free(struct ci_diags *d);    /* accepts NULL; leaves d empty */
/* Appends "FILE:LINE:COL: message" lines (warnings prefixed "warning: "). */
int ci_diags_format(const struct ci_diags *d, struct buf *out);

/* ---------- loading ---------- */

/* Reads a file of the same repository and commit. path is relative to the
 * repository root, without a leading '/'. On success *data is a malloc'd
 * buffer (caller frees) of *len bytes. Return SO_ENOTFOUND when the file
 * does not exist, another negative SO_E* code on failure. */
typedef int (*ci_read_file_fn)(void *cls, const char *path, char **data,
	size_t *len);

/* Reads `file` of project `project` at `ref` (NULL = default branch) for
 * include:project. Same contract as ci_read_file_fn; SO_ENOTFOUND or
 * SO_EDENIED gives GitLab's "Project `x` not found or access denied!". */
typedef int (*ci_read_project_file_fn)(void *cls, const char *project,
	const char *ref, const char *file, char **data, size_t *len);

/* Lists every file path of the repository (relative, no leading '/'),
 * for include:local globs and include rules:exists. *out is a malloc'd
 * array of malloc'd strings (caller frees all). */
typedef int (*ci_list_files_fn)(void *cls, char ***out, size_t *n);

/* Value of a variable for include paths and include:rules:if; NULL when
 * undefined. The returned string is borrowed (valid during the load). */
typedef const char *(*ci_lookup_var_fn)(void *cls, const char *name);

struct ci_load_options {
	ci_read_file_fn read_file;                 /* NULL: local includes fail */
	ci_read_project_file_fn read_project_file; /* NULL: include:project fails */
	ci_list_files_fn list_files;               /* NULL: globs match nothing */
	ci_lookup_var_fn lookup_var;               /* NULL: all undefined */
	void *cls;                                 /* passed to every callback */
	size_t max_bytes;     /* cap per file; 0 = 4 MiB */
	size_t max_nodes;     /* cap on values copied by aliases, extends,
	                       * !reference and default:; 0 = 1,000,000 */
	bool no_includes;     /* any include: is an error (fuzzing) */
	/* include:remote/template/component/artifact (and include:project
	 * when read_project_file is NULL) become warnings and are skipped
	 * instead of errors (for tests and a lenient lint; the result is NOT
	 * what GitLab would run). Default false. */
	bool skip_refused_includes;
};

/* Loads and validates a configuration. path names the main file (for
 * diagnostics, e.g. ".gitlab-ci.yml"); data/len are its bytes (borrowed).
 * opts may be NULL. On success *out is the config (caller frees with
 * ci_config_free) and diags may hold warnings. On failure returns
 * SO_EINVALID (config errors, all in diags, the first one also in
 * error_msg()) or SO_ETOOBIG, and *out is NULL. diags may be NULL. */
int ci_config_load(struct ci_config **out, const char *path, const char *data,
	size_t len, const struct ci_load_options *opts, struct ci_diags *diags);

void ci_config_free(struct ci_config *cfg);   /* accepts NULL */

/* Job by final name (hash lookup); NULL when absent. Borrowed. */
const struct ci_job *ci_config_job(const struct ci_config *cfg,
	const char *name);

/* Stage index by name; -1 when not a stage. */
long ci_config_stage_index(const struct ci_config *cfg, const char *name);

/* The job's allow_failure when no rule overrides it: the job's value when
 * given, else true for `when: manual`, else false. */
bool ci_job_allow_failure(const struct ci_job *job);

/* A JSON dump of the whole model (for golden tests and debugging).
 * Caller owns the reference. */
json_t *ci_config_to_json(const struct ci_config *cfg);

/* Parses a GitLab duration ("1h 30m", "30 minutes", "3600", "1 day");
 * returns seconds, or -1 when it is not a duration. */
long ci_duration_parse(const char *s);

#endif
