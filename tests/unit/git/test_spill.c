/* Unit tests for git/spill: bytes come back in order, memory stays capped
 * and the overflow goes to an (unlinked) temporary file. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "git/spill.h"

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

Test(spill, fifo_across_memory_and_file)
{
	char dir[] = "/tmp/spill-test-XXXXXX";
	struct spill s;
	unsigned char in[10000], out[10000];
	size_t got = 0;
	ssize_t r;

	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	spill_init(&s, dir, 1000);
	for (size_t off = 0; off < sizeof(in); off += 333) {
		size_t n = sizeof(in) - off < 333 ? sizeof(in) - off : 333;

		cr_assert_eq(spill_write(&s, in + off, n), 0);
	}
	cr_assert_eq(s.mem_len, 1000);
	cr_assert_leq(s.mem_cap, 1000);
	cr_assert_geq(s.fd, 0);
	cr_assert_eq(s.file_len, sizeof(in) - 1000);
	cr_assert_eq(spill_pending(&s), sizeof(in));
	cr_assert_eq(count_entries(dir), 0, "the temporary file must be unlinked");
	while ((r = spill_read(&s, out + got, 777)) > 0)
		got += (size_t)r;
	cr_assert_eq(r, 0);
	cr_assert_eq(got, sizeof(in));
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	cr_assert_eq(spill_pending(&s), 0);
	spill_dispose(&s);
	spill_dispose(NULL);
	rmdir(dir);
}

Test(spill, small_data_stays_in_memory)
{
	struct spill s;
	char out[16];

	spill_init(&s, "/nonexistent-dir", 0);
	cr_assert_eq(spill_write(&s, "hello", 5), 0);
	cr_assert_eq(s.fd, -1);
	cr_assert_eq(spill_read(&s, out, 3), 3);
	cr_assert_eq(spill_read(&s, out + 3, sizeof(out) - 3), 2);
	cr_assert_eq(memcmp(out, "hello", 5), 0);
	cr_assert_eq(spill_read(&s, out, sizeof(out)), 0);
	spill_dispose(&s);
}

Test(spill, file_error_is_reported)
{
	struct spill s;

	spill_init(&s, "/nonexistent-dir", 4);
	cr_assert_eq(spill_write(&s, "abcd", 4), 0);
	cr_assert_lt(spill_write(&s, "e", 1), 0);
	spill_dispose(&s);
}
