/* Fuzz harness for the native record checker (src/record.c), built with
 * -fsanitize=address,undefined by test/unit/collector/asan.test.ts. Every buffer is a
 * separate heap allocation of exactly its length, so any read past it is reported by ASan.
 * Also compares pal_record_flags (the frame's ASCII / canonical-path hints) with a byte-by-
 * byte reference on valid records with random strings, and pal_record_same (the "same paths as
 * the frame before" hint) with a byte-by-byte reference on pairs of valid records.
 * Ring-layout batches (ring delivery, pal_ring_batch_check): valid records between random,
 * discarded, busy and truncated frames, and random bytes, with the verdicts counted against
 * what was built.
 * Prints "good=<n> bad=<n>" for the whole run; exits non-zero on a wrong verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palisade_event.h"
#include <stddef.h>
#include "record.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

/* a valid FILE record with a path of `plen` bytes */
static size_t make_file(uint8_t *buf, size_t plen)
{
	struct pal_hdr h = { .kind = PAL_KIND_FILE, .abi = PAL_ABI_VERSION };
	struct pal_file f = { .op = PAL_FILE_OPEN, .path_len = (uint16_t)plen };
	size_t n = sizeof(h) + sizeof(f) + plen;
	h.size = (uint16_t)n;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &f, sizeof(f));
	memset(buf + sizeof(h) + sizeof(f), 'a', plen);
	return n;
}

static size_t make_exec(uint8_t *buf, size_t fl, size_t el, size_t al)
{
	struct pal_hdr h = { .kind = PAL_KIND_EXEC, .abi = PAL_ABI_VERSION };
	struct pal_exec e = { .filename_len = (uint16_t)fl, .exe_len = (uint16_t)el, .args_len = (uint16_t)al };
	size_t n = sizeof(h) + sizeof(e) + fl + el + al;
	h.size = (uint16_t)n;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &e, sizeof(e));
	memset(buf + sizeof(h) + sizeof(e), 'b', fl + el + al);
	return n;
}

static int check_exact(const uint8_t *src, size_t len, enum pal_check want, const char *what)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum pal_check got;
	memcpy(copy, src, len);
	got = pal_record_check(copy, len);
	free(copy);
	if ((want == PAL_OK) != (got == PAL_OK)) {
		fprintf(stderr, "%s: len %zu: got %d want %s\n", what, len, got, want == PAL_OK ? "ok" : "bad");
		return 1;
	}
	return 0;
}

/* byte-by-byte reference of pal_record_flags */
static uint32_t flags_ref(const uint8_t *p, size_t len, size_t strings_at)
{
	int ascii = 1, canon = 1;
	size_t i;
	for (i = 0; i < PAL_COMM_LEN; i++)
		ascii &= p[offsetof(struct pal_hdr, comm) + i] < 0x80;
	for (i = strings_at; i < len; i++) {
		ascii &= p[i] < 0x80;
		if (i + 1 < len && p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '.'))
			canon = 0;
	}
	return (ascii ? PAL_FRAME_ASCII : 0) | (canon ? PAL_FRAME_CANON : 0);
}

/* a valid FILE or EXEC record whose strings (and comm) are random over a small alphabet
 * rich in '/', '.' and non-ASCII bytes; checks the flags against the reference */
static int check_flags(uint8_t *buf)
{
	static const uint8_t alpha[] = { '/', '/', '.', 'a', 'b', 0xc3, 0xa9, 0 };
	int exec = rnd() % 2;
	size_t n, body, k;
	uint32_t got, want;

	if (exec)
		n = make_exec(buf, rnd() % 40, rnd() % 40, rnd() % 40);
	else
		n = make_file(buf, rnd() % 100);
	body = sizeof(struct pal_hdr) + (exec ? sizeof(struct pal_exec) : sizeof(struct pal_file));
	for (k = body; k < n; k++)
		buf[k] = alpha[rnd() % (rnd() % 4 ? 5 : sizeof(alpha))];
	for (k = 0; k < PAL_COMM_LEN; k++)
		buf[offsetof(struct pal_hdr, comm) + k] = rnd() % 16 ? 'c' : alpha[rnd() % sizeof(alpha)];
	if (pal_record_check(buf, n) != PAL_OK) {
		fprintf(stderr, "flags: generated record is not valid\n");
		return 1;
	}
	got = pal_record_flags(buf, n);
	want = flags_ref(buf, n, body);
	if (got != want) {
		fprintf(stderr, "flags: len %zu: got %#x want %#x\n", n, got, want);
		return 1;
	}
	return 0;
}

/* byte-by-byte reference of pal_record_same */
static uint32_t same_ref(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	const struct pal_hdr *ha = (const void *)a, *hb = (const void *)b;
	const struct pal_file *fa = (const void *)(a + sizeof(*ha)), *fb = (const void *)(b + sizeof(*hb));
	size_t i;
	if (alen != blen || ha->kind != PAL_KIND_FILE || hb->kind != PAL_KIND_FILE || ha->flags != hb->flags ||
	    fa->path_len != fb->path_len || fa->path2_len != fb->path2_len)
		return 0;
	for (i = sizeof(*ha) + sizeof(*fa); i < alen; i++)
		if (a[i] != b[i])
			return 0;
	return PAL_FRAME_SAME;
}

/* two valid records, each in an exact-size heap buffer: FILE records with short random paths
 * over a tiny alphabet (often equal), sometimes a different kind, split or header flags */
static int check_same(void)
{
	static uint8_t a[512], b[512];
	size_t alen, blen, k;
	uint8_t *ca, *cb;
	uint32_t got, want;
	int fails = 0;

	alen = make_file(a, rnd() % 4);
	blen = rnd() % 8 ? make_file(b, rnd() % 4) : make_exec(b, 1, 1, 1);
	for (k = sizeof(struct pal_hdr) + sizeof(struct pal_file); k < alen; k++)
		a[k] = "ab"[rnd() % 2];
	if (((struct pal_hdr *)b)->kind == PAL_KIND_FILE) {
		struct pal_file *f = (void *)(b + sizeof(struct pal_hdr));
		for (k = sizeof(struct pal_hdr) + sizeof(struct pal_file); k < blen; k++)
			b[k] = "ab"[rnd() % 2];
		if (rnd() % 8 == 0 && f->path_len > 0) {
			f->path_len--; /* same bytes, split into path and path2 differently */
			f->path2_len++;
		}
		if (rnd() % 8 == 0)
			((struct pal_hdr *)b)->flags = PAL_F_RELATIVE;
	}
	ca = malloc(alen);
	cb = malloc(blen);
	memcpy(ca, a, alen);
	memcpy(cb, b, blen);
	if (pal_record_check(ca, alen) != PAL_OK || pal_record_check(cb, blen) != PAL_OK) {
		fprintf(stderr, "same: generated record is not valid\n");
		fails++;
	} else {
		got = pal_record_same(ca, alen, cb, blen);
		want = same_ref(ca, alen, cb, blen);
		if (got != want) {
			fprintf(stderr, "same: lens %zu %zu: got %#x want %#x\n", alen, blen, got, want);
			fails++;
		}
	}
	free(ca);
	free(cb);
	return fails;
}

/* a ring-layout batch of 1..6 frames in an exact-size heap buffer: valid FILE records,
 * kernel batches of them, corrupted ones, discarded ones; sometimes a busy frame, a cut tail or
 * random bytes. Checks
 * the good count against the valid, non-discarded frames before the first busy/cut one. */
static int check_ring(void)
{
	static uint8_t buf[8 * (PAL_RECORD_MAX + 16)];
	size_t off = 0, nb = 0, got, want = 0, len;
	int stopped = 0, frames = 1 + rnd() % 6, k, exact = 1;
	uint8_t *copy;

	for (k = 0; k < frames; k++) {
		uint32_t w;
		size_t n = make_file(buf + off + 8, rnd() % 300);
		int kind = rnd() % 8;
		if (kind == 3) {
			/* a kernel batch: 2..4 records at 8-byte aligned offsets, the last maybe unpadded */
			int m = 2 + rnd() % 3, j;
			for (j = 1; j < m; j++) {
				n = (n + 7) & ~(size_t)7;
				n += make_file(buf + off + 8 + n, rnd() % 300);
			}
			if (rnd() % 2)
				n = (n + 7) & ~(size_t)7;
			if (!stopped)
				want += m;
			kind = -1;
		}
		w = (uint32_t)n;
		if (kind == -1) {
			/* counted above */
		} else if (kind == 0) {
			w |= PAL_RING_DISCARD;
		} else if (kind == 1) {
			buf[off + 8 + rnd() % n] ^= (uint8_t)(1 + rnd() % 255); /* maybe bad */
			exact = 0;
		} else if (kind == 2 && rnd() % 4 == 0) {
			w |= PAL_RING_BUSY;
			stopped = 1;
		} else if (!stopped) {
			want++;
		}
		memcpy(buf + off, &w, 4);
		memcpy(buf + off + 4, &k, 4);
		off += 8 + ((n + 7) & ~(size_t)7);
	}
	len = off;
	if (rnd() % 8 == 0) {
		len = rnd() % (off + 1); /* cut anywhere */
		exact = 0;
	}
	if (rnd() % 16 == 0) {
		size_t i;
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd(); /* random bytes */
		exact = 0;
	}
	copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	got = pal_ring_batch_check(copy, len, &nb);
	free(copy);
	if (exact && got != want) {
		fprintf(stderr, "ring: %zu good, %zu expected (%d frames)\n", got, want, frames);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t rec[PAL_RECORD_MAX + 64];
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	long i, good = 0, bad = 0;
	int fails = 0;

	for (i = 0; i < iters; i++) {
		size_t n, cut;
		uint8_t *batch;
		size_t blen, nb = 0;
		switch (rnd() % 7) {
		case 6:
			fails += check_flags(rec);
			fails += check_same();
			fails += check_ring();
			break;
		case 0: /* valid file record */
			n = make_file(rec, rnd() % 300);
			fails += check_exact(rec, n, PAL_OK, "valid file");
			good++;
			break;
		case 1: /* truncated record */
			n = make_exec(rec, rnd() % 100, rnd() % 100, rnd() % 100);
			cut = rnd() % n;
			fails += check_exact(rec, cut, PAL_BAD_SIZE, "truncated exec");
			bad++;
			break;
		case 2: /* string lengths larger than the record */
			n = make_file(rec, 10);
			((struct pal_file *)(rec + sizeof(struct pal_hdr)))->path_len = 10 + 1 + rnd() % 60000;
			fails += check_exact(rec, n, PAL_BAD_STRINGS, "oversized path_len");
			bad++;
			break;
		case 3: /* oversized record claiming more than the max */
			n = make_file(rec, 20);
			((struct pal_hdr *)rec)->size = (uint16_t)(PAL_RECORD_MAX + 1 + rnd() % 1000);
			fails += check_exact(rec, n, PAL_BAD_SIZE, "oversized size");
			bad++;
			break;
		case 4: { /* random bytes */
			size_t len = rnd() % 400;
			uint8_t *r = malloc(len ? len : 1);
			size_t k;
			for (k = 0; k < len; k++)
				r[k] = (uint8_t)rnd();
			pal_record_check(r, len);
			free(r);
			break;
		}
		default: /* random batch framing */
			blen = rnd() % 2000;
			batch = malloc(blen ? blen : 1);
			for (cut = 0; cut < blen; cut++)
				batch[cut] = (uint8_t)rnd();
			if (blen >= 4 + 200 && rnd() % 2) {
				uint32_t fl = (uint32_t)make_file(batch + 4, 50);
				memcpy(batch, &fl, 4);
			}
			pal_batch_check(batch, blen, &nb);
			free(batch);
			break;
		}
	}
	printf("good=%ld bad=%ld fails=%d\n", good, bad, fails);
	return fails ? 1 : 0;
}
