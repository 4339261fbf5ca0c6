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
	default:
		return PAL_BAD_KIND;
	}
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int pal_record_ascii(const uint8_t *p, size_t len)
{
	const size_t H = sizeof(struct pal_hdr);
	const uint64_t HI = 0x8080808080808080ull;
	uint64_t acc;
	size_t body, i;

	switch (rd16(p + offsetof(struct pal_hdr, kind))) {
	case PAL_KIND_EXEC: body = sizeof(struct pal_exec); break;
	case PAL_KIND_FILE: body = sizeof(struct pal_file); break;
	case PAL_KIND_NET: body = sizeof(struct pal_net); break;
	default: body = len - H; break; /* no strings */
	}
	acc = rd64(p + offsetof(struct pal_hdr, comm)) | rd64(p + offsetof(struct pal_hdr, comm) + 8);
	for (i = H + body; i + 8 <= len; i += 8)
		acc |= rd64(p + i);
	for (; i < len; i++)
		acc |= p[i];
	return (acc & HI) == 0;
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
