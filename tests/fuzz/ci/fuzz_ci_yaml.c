/*
 * tests/fuzz/ci/fuzz_ci_yaml.c: libFuzzer target for the .gitlab-ci.yml
 * loader: arbitrary bytes through ci_config_load() (YAML, anchors and
 * merge keys, !reference, extends, inputs, validation, parallel
 * expansion), with no includes and a small copy budget so alias bombs end
 * quickly. Any input must give a config or diagnostics: never a crash, a
 * hang or a leak. When it loads, the JSON dump is produced too.
 */
#include <stddef.h>
#include <stdint.h>

#include "ci/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libfyaml 0.7.12 leaks a scanner buffer on some inputs (a long
 * single-quoted key of escaped quotes) inside the library itself. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libfyaml.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ci_load_options o = { 0 };
	struct ci_config *cfg = NULL;
	struct ci_diags d;

	if (size > 65536)
		return 0;
	o.no_includes = true;
	o.max_nodes = 20000;
	ci_diags_init(&d);
	if (ci_config_load(&cfg, ".gitlab-ci.yml", (const char *)data, size, &o,
	    &d) == 0) {
		json_t *j = ci_config_to_json(cfg);

		json_decref(j);
	}
	ci_config_free(cfg);
	ci_diags_free(&d);
	return 0;
}
