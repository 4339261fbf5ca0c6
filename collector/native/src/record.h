/* Record validation shared by the drain thread (record.c) and the ASan fuzz harness
 * (collector/native/test/fuzz-record.c). Pure functions: no allocation, no global state,
 * every read bounds-checked against the length given. Safe on any thread. */
#ifndef PALISADE_RECORD_H
#define PALISADE_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum pal_check {
	PAL_OK = 0,
	PAL_BAD_SHORT = 1,     /* shorter than the header or the kind's fixed body */
	PAL_BAD_SIZE = 2,      /* hdr.size differs from the record length or exceeds the max */
	PAL_BAD_KIND = 3,      /* unknown kind */
	PAL_BAD_ABI = 4,       /* hdr.abi != PAL_ABI_VERSION */
	PAL_BAD_STRINGS = 5,   /* string lengths overflow the record or their bound */
	PAL_BAD_FRAME = 6,     /* batch framing: a frame length runs past the batch */
};

/* Batch frame header: [u32 len | flags][record]. PAL_FRAME_ASCII: every string byte of
 * the record (comm and the strings after the fixed body) is below 0x80, so the decoder may
 * build its strings as one-byte strings without UTF-8 decoding. PAL_FRAME_CANON: no "/."
 * and no "//" anywhere in the strings, so a path needs no lexical normalisation (unless the
 * kernel joined a relative path). PAL_FRAME_SAME: a FILE record whose path strings (and
 * header flags) equal those of the record in the frame just before it in the same batch, so
 * the decoder may reuse the strings it built for that one. All are hints: a clear bit only
 * costs the slow path. */
#define PAL_FRAME_ASCII 0x80000000u
#define PAL_FRAME_CANON 0x40000000u
#define PAL_FRAME_SAME 0x20000000u
#define PAL_FRAME_LEN_MASK 0x1fffffffu

/* Checks one record of `len` bytes. */
enum pal_check pal_record_check(const uint8_t *p, size_t len);

/* For a record that passed pal_record_check: its PAL_FRAME_ASCII | PAL_FRAME_CANON bits. */
uint32_t pal_record_flags(const uint8_t *p, size_t len);

/* For two records that passed pal_record_check, `prev` the one framed just before `p`:
 * PAL_FRAME_SAME when both are FILE records with equal header flags, equal path lengths and
 * equal path bytes, else 0. */
uint32_t pal_record_same(const uint8_t *prev, size_t prev_len, const uint8_t *p, size_t len);

/* A ring record holds one record or a kernel batch of records, each at an 8-byte aligned
 * offset (palisade_event.h). The length of the record at `off` of the ring record p[0, len):
 * its hdr.size when that is at least a header and fits in what is left, else 0 (the rest of
 * the ring record cannot be walked: one bad record). The next record is at
 * off + PAL_INNER_STEP(length); the walk ends at len. */
size_t pal_inner_len(const uint8_t *p, size_t len, size_t off);
#define PAL_INNER_STEP(n) (((size_t)(n) + 7) & ~(size_t)7)

/* Walks a batch ([u32 len][record] ...); calls pal_record_check on each frame.
 * The frame length is masked with PAL_FRAME_LEN_MASK. Returns the number of good records; *bad gets the number of bad ones. A frame whose
 * length runs past the batch ends the walk (counted once as bad). */
size_t pal_batch_check(const uint8_t *p, size_t len, size_t *bad);

/* Walks a batch in ring layout (ring delivery): frames [u32 len | BUSY | DISCARD][u32 pg_off]
 * [ring record of len bytes][pad to 8 bytes]; the last frame's padding may be cut. A discarded
 * frame is skipped (neither good nor bad); each record of each other frame (pal_inner_len) is
 * checked with pal_record_check, and a rest that cannot be walked (or an empty frame) counts
 * one bad record.
 * A frame with the busy bit, or whose length runs past the batch, ends the walk (counted
 * once as bad), as does a tail shorter than a ring header. Returns the number of good records;
 * *bad gets the number of bad ones. */
#define PAL_RING_BUSY 0x80000000u
#define PAL_RING_DISCARD 0x40000000u
size_t pal_ring_batch_check(const uint8_t *p, size_t len, size_t *bad);

#endif
