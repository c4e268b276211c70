/*
 * spill.c: the memory-then-file FIFO (see spill.h).
 *
 * Design: the memory part grows by doubling up to mem_max, so a small CGI
 * answer costs a small allocation. Once mem is full every further byte is
 * appended to the file with pwrite at file_len and read back with pread
 * at file_pos; the file is created on first need in tmp_dir, already
 * unlinked, so a crash leaves nothing behind.
 */
#include "git/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"

void spill_init(struct spill *s, const char *tmp_dir, size_t mem_max)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->mem_max = mem_max ? mem_max : SPILL_MEM_MAX;
	s->tmp_dir = xstrdup(tmp_dir ? tmp_dir : "/tmp");
}

static int open_tmp(struct spill *s)
{
	char *tmpl;
	int fd;

	fd = open(s->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		tmpl = xasprintf("%s/spill-XXXXXX", s->tmp_dir);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
		free(tmpl);
	}
	if (fd < 0)
		return error_set(SO_EFAIL, "cannot create a temporary file in %s: %s", s->tmp_dir,
				 strerror(errno));
	s->fd = fd;
	return 0;
}

int spill_write(struct spill *s, const void *p, size_t n)
{
	const char *src = p;
	int err;

	if (s->mem_len < s->mem_max && n > 0) {
		size_t take = s->mem_max - s->mem_len < n ? s->mem_max - s->mem_len : n;

		if (s->mem_len + take > s->mem_cap) {
			size_t cap = s->mem_cap ? s->mem_cap : 4096;

			while (cap < s->mem_len + take)
				cap *= 2;
			if (cap > s->mem_max)
				cap = s->mem_max;
			s->mem = xrealloc(s->mem, cap);
			s->mem_cap = cap;
		}
		memcpy(s->mem + s->mem_len, src, take);
		s->mem_len += take;
		src += take;
		n -= take;
	}
	if (n == 0)
		return 0;
	if (s->fd < 0 && (err = open_tmp(s)) < 0)
		return err;
	while (n > 0) {
		ssize_t w = pwrite(s->fd, src, n, (off_t)s->file_len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return error_set(SO_EFAIL, "cannot write a temporary file: %s",
					 w < 0 ? strerror(errno) : "short write");
		s->file_len += (uint64_t)w;
		src += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t spill_read(struct spill *s, void *buf, size_t max)
{
	if (s->mem_pos < s->mem_len) {
		size_t n = s->mem_len - s->mem_pos < max ? s->mem_len - s->mem_pos : max;

		memcpy(buf, s->mem + s->mem_pos, n);
		s->mem_pos += n;
		return (ssize_t)n;
	}
	if (s->fd >= 0 && s->file_pos < s->file_len) {
		uint64_t left = s->file_len - s->file_pos;
		size_t want = left < max ? (size_t)left : max;
		ssize_t r;

		do
			r = pread(s->fd, buf, want, (off_t)s->file_pos);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			error_set(SO_EFAIL, "cannot read a temporary file: %s",
				  r < 0 ? strerror(errno) : "unexpected end");
			return -1;
		}
		s->file_pos += (uint64_t)r;
		return r;
	}
	return 0;
}

uint64_t spill_pending(const struct spill *s)
{
	return (uint64_t)(s->mem_len - s->mem_pos) + (s->file_len - s->file_pos);
}

void spill_dispose(struct spill *s)
{
	if (!s)
		return;
	free(s->mem);
	if (s->fd >= 0)
		close(s->fd);
	free(s->tmp_dir);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
