/*
 * fuzz_pipeline_spec.c: pipeline_spec_from_json() on arbitrary bytes must
 * either refuse or give a spec that writes back and reads again to the
 * same JSON; pipeline_parse_duration() on the same bytes must not crash
 * and never give a negative duration.
 */
#include "pipeline/internal.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct pipeline_spec a, b;
	int64_t secs;

	if (pipeline_spec_from_json(s, &a) == 0) {
		char *j1 = pipeline_spec_to_json(&a);

		if (pipeline_spec_from_json(j1, &b) != 0)
			abort();
		char *j2 = pipeline_spec_to_json(&b);

		if (strcmp(j1, j2) != 0)
			abort();
		free(j1);
		free(j2);
		pipeline_spec_dispose(&a);
		pipeline_spec_dispose(&b);
	}
	if (pipeline_parse_duration(s, &secs) == 0 && secs < 0)
		abort();
	free(s);
	return 0;
}
