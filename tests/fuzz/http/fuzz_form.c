/* libFuzzer target: form_parse (urlencoded bodies and query strings).
 * Checks that a successful parse respects the caps and yields C strings
 * no longer than the input. */
#include "http/form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;

	if (form_parse(&f, (const char *)data, size) == 0) {
		if (f.n > FORM_MAX_FIELDS)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			if (strlen(f.fields[i].name) > FORM_MAX_KEY ||
			    strlen(f.fields[i].value) > size || !*f.fields[i].name)
				abort();
			if (form_get(&f, f.fields[i].name) == NULL)
				abort();
		}
		form_dispose(&f);
	} else if (f.n != 0 || f.fields != NULL) {
		abort();
	}
	return 0;
}
