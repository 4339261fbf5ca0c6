/* Record validation (see record.h). Reads integers with memcpy: records in a batch are
 * not aligned. */
#include <string.h>
#include "record.h"
#include "palisade_event.h"

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* sum of string lengths must fit exactly in what follows the fixed body */
static enum pal_check strings_fit(size_t len, size_t fixed, size_t total, int exact)
{
	if (len < fixed)
		return PAL_BAD_SHORT;
	if (exact ? fixed + total != len : fixed + total > len)
		return PAL_BAD_STRINGS;
	return PAL_OK;
}

enum pal_check pal_record_check(const uint8_t *p, size_t len)
{
	const size_t H = sizeof(struct pal_hdr);
	uint16_t kind, size;

	if (!p || len < H)
		return PAL_BAD_SHORT;
	kind = rd16(p + offsetof(struct pal_hdr, kind));
	size = rd16(p + offsetof(struct pal_hdr, size));
	if (size != len || len > PAL_RECORD_MAX)
		return PAL_BAD_SIZE;
	if (rd16(p + offsetof(struct pal_hdr, abi)) != PAL_ABI_VERSION)
		return PAL_BAD_ABI;
	switch (kind) {
	case PAL_KIND_EXEC: {
		const uint8_t *b = p + H;
		size_t fl, el, al;
		if (len < H + sizeof(struct pal_exec))
			return PAL_BAD_SHORT;
		fl = rd16(b + offsetof(struct pal_exec, filename_len));
		el = rd16(b + offsetof(struct pal_exec, exe_len));
		al = rd16(b + offsetof(struct pal_exec, args_len));
		if (fl > PAL_PATH_MAX || el > PAL_PATH_MAX || al > PAL_ARGS_MAX)
			return PAL_BAD_STRINGS;
		return strings_fit(len, H + sizeof(struct pal_exec), fl + el + al, 1);
	}
	case PAL_KIND_FORK:
		return strings_fit(len, H + sizeof(struct pal_fork), 0, 1);
	case PAL_KIND_EXIT:
		return strings_fit(len, H + sizeof(struct pal_exit), 0, 1);
	case PAL_KIND_FILE: {
		const uint8_t *b = p + H;
		size_t l1, l2;
		if (len < H + sizeof(struct pal_file))
			return PAL_BAD_SHORT;
		{
			uint16_t op = rd16(b + offsetof(struct pal_file, op));
			if (op < PAL_FILE_OPEN || op > PAL_FILE_CHOWN)
				return PAL_BAD_KIND;
		}
		l1 = rd16(b + offsetof(struct pal_file, path_len));
		l2 = rd16(b + offsetof(struct pal_file, path2_len));
		if (l1 > PAL_PATH_MAX || l2 > PAL_PATH_MAX)
			return PAL_BAD_STRINGS;
		return strings_fit(len, H + sizeof(struct pal_file), l1 + l2, 1);
	}
	case PAL_KIND_NET: {
		size_t ul;
		if (len < H + sizeof(struct pal_net))
			return PAL_BAD_SHORT;
		{
			uint16_t op = rd16(p + H + offsetof(struct pal_net, op));
			if (op < PAL_NET_SOCKET || op > PAL_NET_LISTEN)
				return PAL_BAD_KIND;
		}
		ul = rd16(p + H + offsetof(struct pal_net, unix_len));
		if (ul > PAL_UNIX_MAX)
			return PAL_BAD_STRINGS;
		return strings_fit(len, H + sizeof(struct pal_net), ul, 1);
	}
	case PAL_KIND_SYSCALL:
		return strings_fit(len, H + sizeof(struct pal_syscall), 0, 1);
	case PAL_KIND_CAP:
		return strings_fit(len, H + sizeof(struct pal_cap), 0, 1);
	default:
		return PAL_BAD_KIND;
	}
}

/* Strings of 16 bytes or more are scanned 16 at a time (SSE2, baseline on x86_64): one
 * bit per byte for '/', for '/' or '.', and for bytes >= 0x80. Shorter ones byte by byte. */
static void scan_bytes(const uint8_t *p, size_t n, int *high, int *pair)
{
	size_t i;
	for (i = 0; i < n; i++) {
		*high |= p[i] >= 0x80;
		if (i + 1 < n && p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '.'))
			*pair = 1;
	}
}

#ifdef __SSE2__
#include <emmintrin.h>

static void scan_wide(const uint8_t *p, size_t n, int *high, int *pair)
{
	const __m128i SL = _mm_set1_epi8('/'), DOT = _mm_set1_epi8('.');
	unsigned hi = 0, pairs = 0, prev = 0;
	size_t i;

	for (i = 0;; i += 16) {
		__m128i v;
		unsigned s, nx;
		int tail = i + 16 > n;
		if (tail)
			i = n - 16; /* the last 16 bytes, overlapping: pairs reaching into the tail lie inside */
		v = _mm_loadu_si128((const __m128i *)(p + i));
		s = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, SL));
		nx = s | (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, DOT));
		hi |= (unsigned)_mm_movemask_epi8(v);
		/* byte j is '/' and byte j+1 is '/' or '.': in the chunk, or across chunks */
		pairs |= (s & (nx >> 1)) | (tail ? 0 : (prev >> 15) & nx & 1);
		prev = s;
		if (tail || i + 16 == n)
			break;
	}
	*high |= hi != 0;
	*pair |= pairs != 0;
}
#endif

uint32_t pal_record_flags(const uint8_t *p, size_t len)
{
	const size_t H = sizeof(struct pal_hdr);
	size_t body, at;
	int high = 0, pair = 0;

	switch (rd16(p + offsetof(struct pal_hdr, kind))) {
	case PAL_KIND_EXEC: body = sizeof(struct pal_exec); break;
	case PAL_KIND_FILE: body = sizeof(struct pal_file); break;
	case PAL_KIND_NET: body = sizeof(struct pal_net); break;
	default: body = len - H; break; /* no strings */
	}
	at = H + body;
	{
		const uint8_t *c = p + offsetof(struct pal_hdr, comm);
		size_t k;
		uint8_t acc = 0;
		for (k = 0; k < PAL_COMM_LEN; k++)
			acc |= c[k];
		high = acc >= 0x80;
	}
#ifdef __SSE2__
	if (len - at >= 16)
		scan_wide(p + at, len - at, &high, &pair);
	else
#endif
		scan_bytes(p + at, len - at, &high, &pair);
	return (high ? 0 : PAL_FRAME_ASCII) | (pair ? 0 : PAL_FRAME_CANON);
}

uint32_t pal_record_same(const uint8_t *prev, size_t prev_len, const uint8_t *p, size_t len)
{
	const size_t H = sizeof(struct pal_hdr), F = sizeof(struct pal_file);
	const size_t lens = H + offsetof(struct pal_file, path_len);

	if (len != prev_len || len < H + F || rd16(p) != PAL_KIND_FILE || rd16(prev) != PAL_KIND_FILE)
		return 0;
	if (rd16(p + offsetof(struct pal_hdr, flags)) != rd16(prev + offsetof(struct pal_hdr, flags)))
		return 0;
	/* path_len and path2_len are adjacent */
	if (rd32(p + lens) != rd32(prev + lens))
		return 0;
	/* checked records: the strings fill the rest exactly */
	return memcmp(p + H + F, prev + H + F, len - H - F) == 0 ? PAL_FRAME_SAME : 0;
}

size_t pal_inner_len(const uint8_t *p, size_t len, size_t off)
{
	size_t size;

	if (!p || off > len || len - off < sizeof(struct pal_hdr))
		return 0;
	size = rd16(p + off + offsetof(struct pal_hdr, size));
	if (size < sizeof(struct pal_hdr) || size > len - off)
		return 0;
	return size;
}

size_t pal_batch_check(const uint8_t *p, size_t len, size_t *bad)
{
	size_t off = 0, good = 0, nbad = 0;

	while (p && off < len) {
		uint32_t flen;
		if (len - off < 4) {
			nbad++;
			break;
		}
		flen = rd32(p + off) & PAL_FRAME_LEN_MASK;
		off += 4;
		if (flen > len - off) {
			nbad++;
			break;
		}
		if (pal_record_check(p + off, flen) == PAL_OK)
			good++;
		else
			nbad++;
		off += flen;
	}
	if (bad)
		*bad = nbad;
	return good;
}

size_t pal_ring_batch_check(const uint8_t *p, size_t len, size_t *bad)
{
	size_t off = 0, good = 0, nbad = 0;

	while (p && off < len) {
		uint32_t w, flen;
		if (len - off < 8) {
			nbad++;
			break;
		}
		w = rd32(p + off);
		flen = w & ~(PAL_RING_BUSY | PAL_RING_DISCARD);
		off += 8;
		if ((w & PAL_RING_BUSY) || flen > len - off) {
			nbad++;
			break;
		}
		if (!(w & PAL_RING_DISCARD)) {
			size_t in = 0;
			do { /* at least one record: an empty frame is one bad record */
				size_t ilen = pal_inner_len(p + off, flen, in);
				if (!ilen) {
					nbad++;
					break;
				}
				if (pal_record_check(p + off + in, ilen) == PAL_OK)
					good++;
				else
					nbad++;
				in += PAL_INNER_STEP(ilen);
			} while (in < flen);
		}
		/* the padding to 8 bytes (may run past the end: the walk then stops) */
		off += ((size_t)flen + 7) & ~(size_t)7;
	}
	if (bad)
		*bad = nbad;
	return good;
}
