/*
 * fuzz_store_ci.c: libFuzzer target for the store's CI parsers and rules
 * (store/store.c): store_ci_status_parse (the API's ?status= value),
 * store_iso_ms (timestamps), and the composite status and duration rules
 * fed with job sets built from the input. Checks: no crash or leak; a
 * parsed status names itself back; a composite verdict is a valid status;
 * the union of intervals is never negative nor longer than their sum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct store_ci_composite comp = { 0 };
	struct store_ci_interval iv[64];
	enum store_ci_status s = STORE_CI_CREATED;
	size_t n = 0;
	int64_t ms = 0, sum = 0;
	double u;

	/* text parsers */
	if (store_ci_status_parse(text, &s) == 0 &&
	    strcmp(store_ci_status_name(s), text) != 0)
		abort();
	(void)store_iso_ms(text, &ms);

	/* each byte: a job (status = low 4 bits mod 9, allow_failure = bit 4) */
	for (size_t i = 0; i < size; i++) {
		enum store_ci_status js = (enum store_ci_status)((data[i] & 0x0f) % 9);

		store_ci_composite_add(&comp, js, (data[i] & 0x10) != 0);
		if (store_ci_transition_allowed(js, (enum store_ci_status)(data[i] >> 5)) &&
		    store_ci_status_finished(js))
			abort(); /* a finished job never moves */
	}
	if (store_ci_composite_status(&comp, &s)) {
		if (size == 0 || (unsigned)s > STORE_CI_SCHEDULED)
			abort();
	} else if (size > 0) {
		abort();
	}

	/* pairs of bytes: intervals */
	for (size_t i = 0; i + 1 < size && n < 64; i += 2, n++) {
		iv[n].start = (int64_t)data[i] * 100;
		iv[n].end = iv[n].start + (int64_t)data[i + 1] * 10;
		sum += iv[n].end - iv[n].start;
	}
	u = store_ci_union_seconds(iv, n);
	if (u < 0 || u * 1000.0 > (double)sum + 0.5)
		abort();
	free(text);
	return 0;
}
