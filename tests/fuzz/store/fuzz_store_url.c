/*
 * fuzz_store_url.c: libFuzzer target for the store URL parser
 * (store_url_parse in store/store.c). It touches no file: it only splits a
 * URL into backend + target. Checks: no crash or leak, and on success a
 * non-empty target with no NUL cut and a known backend.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct store_backend *be = NULL;
	char *url = xstrndup((const char *)data, size);
	char *target = NULL;

	if (store_url_parse(url, &be, &target) == 0) {
		if (!be || !target || !*target || strlen(target) > strlen(url) ||
		    be != &store_sqlite_backend)
			abort();
	} else if (be || target) {
		abort();
	}
	free(target);
	free(url);
	return 0;
}
