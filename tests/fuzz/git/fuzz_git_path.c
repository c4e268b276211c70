/* fuzz_git_path: git_http_parse_path() on arbitrary NUL-terminated paths.
 * A match must name a project path made only of GitLab path characters
 * and '/', and a tail that is a suffix of the input. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "git/http_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1), *project = NULL;
	const char *rest = NULL;
	enum git_http_endpoint ep;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	ep = git_http_parse_path(path, &project, &rest);
	if (ep == GIT_HTTP_NONE) {
		assert(!project && !rest);
	} else {
		assert(project && rest && rest > path && rest <= path + strlen(path));
		assert(strspn(project, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_-./") == strlen(project));
		assert(strchr(project, '/') && project[0] != '.' && !strstr(project, "//"));
		assert(!strstr(project, "/."));
	}
	free(project);
	free(path);
	return 0;
}
