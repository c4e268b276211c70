/*
 * ci/lint.c: the `slashops lint` logic (see lint.h): load through
 * ci/checkout.c and report.
 */
#include "ci/lint.h"

#include "ci/checkout.h"
#include "ci/config.h"
#include "util/buf.h"
#include "util/error.h"

int ci_lint(const char *path, struct buf *out_report)
{
	struct ci_checkout *co = NULL;
	struct ci_config *cfg = NULL;
	struct ci_diags diags;
	int err;

	ci_diags_init(&diags);
	if ((err = ci_checkout_open(&co, path)) < 0) {
		buf_printf(out_report, "%s\n", error_msg());
		goto done;
	}
	err = ci_checkout_load(co, &cfg, &diags);
	ci_diags_format(&diags, out_report);
	if (err == 0)
		buf_puts(out_report, "OK\n");
done:
	ci_config_free(cfg);
	ci_diags_free(&diags);
	ci_checkout_free(co);
	return err;
}
