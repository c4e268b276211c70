/*
 * utf8.h: UTF-8 validation, one sequence at a time.
 *
 * Design: the well-formed byte sequences of Unicode 15 table 3-7 (no
 * overlongs, no surrogates, nothing past U+10FFFF), and for an invalid
 * sequence the length of its "maximal subpart", so that a caller that
 * replaces each invalid subpart with U+FFFD does what the W3C/WHATWG
 * decoders (and Ruby's String#scrub, which GitLab uses) do. Used by the
 * log writer, the chat reply formatter and the trace reader.
 */
#ifndef SO_UTIL_UTF8_H
#define SO_UTIL_UTF8_H

#include <stddef.h>

/* The length (1-4) of the well-formed sequence at p[0..n), n >= 1; or 0
 * when p begins with an invalid one, and then *bad (never NULL) is the
 * length of its maximal invalid subpart (>= 1). A sequence cut short by n
 * is invalid. */
size_t utf8_seq_len(const unsigned char *p, size_t n, size_t *bad);

#endif
