/* The collector core without N-API: load/attach the BPF object, drain the ring buffer on
 * one thread into batches, hand each full batch to a deliver callback.
 *
 * Threads: pal_open/pal_start/pal_stop/pal_close/pal_stats/pal_set_* run on the caller's
 * (JS main) thread; the drain thread only runs drain_main() in collector.c and calls
 * `deliver` from it; pal_batch_release() may run on any thread. Counters shared between
 * threads are updated with __atomic builtins; the batch pool is guarded by a mutex.
 *
 * Batches come from a bounded pool (pool_batches, allocated lazily, reused LIFO so the
 * same few stay hot and resident). When every batch is with the consumer, the drain
 * thread waits for one to come back and records wait in the kernel ring (whose overflow
 * the kernel counts): memory is bounded by pool_batches x batch_bytes.
 *
 * Two delivery modes (pal_options.delivery):
 *  - PAL_DELIVERY_COPY: each checked record is copied into a pooled batch; batch format (what
 *    JS receives): frames [u32 len | flags, little-endian][record of len bytes], records as
 *    defined in bpf/include/palisade_event.h, flags (string hints) as defined in record.h.
 *    The consumer position advances as soon as records are copied.
 *  - PAL_DELIVERY_RING: zero copy. The drain thread walks only the ring's record headers,
 *    ahead of the consumer position, and a batch is a view of a ring range [start, start+used)
 *    in ring layout: [u32 len | BUSY | DISCARD][u32 pg_off][record][pad to 8] ... (the data
 *    area is mapped once plus one maximal record past its end, so a range whose last record
 *    wraps reads contiguously; a batch never has a record starting past the end). Records are
 *    not checked (the consumer does it); discarded ones are in the range and must be skipped.
 *    The ring's consumer position advances only when the batches before and at a range were
 *    released, in ring order (batches are released in order; a refused or discarded one is
 *    released too), so the kernel never overwrites a range the consumer may read. The pool
 *    then holds descriptors only; memory is the ring. Ranges are read-only memory.
 */
#ifndef PALISADE_COLLECTOR_H
#define PALISADE_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "palisade_event.h"

struct pal_batch {
	struct pal_batch *next;    /* pool free list; ring mode: the in-flight queue */
	const uint8_t *ptr;        /* what the consumer reads: data (copy) or the ring range */
	size_t used;               /* bytes at ptr */
	size_t cap;
	unsigned long start;       /* ring mode: ring position of the range */
	unsigned long end_pos;     /* ring mode: consumer position to publish once released */
	int done;                  /* ring mode: released, waiting for the batches before it */
	size_t last;               /* offset of the last frame's record, or SIZE_MAX (none yet) */
	uint32_t records;
	uint8_t data[];
};

/* Returns 0 when the batch was taken (the callee gives it back with pal_batch_release()
 * once the consumer is done with it), -1 when the consumer refuses it (closing): the
 * caller counts the drop and takes the batch back. */
typedef int (*pal_deliver_fn)(void *ctx, struct pal_batch *b);

/* how the syscall programs attach (pal_options.attach_mode) */
#define PAL_ATTACH_AUTO 0     /* tp_btf; raw_tracepoint when tp_btf fails to load or attach */
#define PAL_ATTACH_TP_BTF 1   /* tp_btf only */
#define PAL_ATTACH_RAW 2      /* raw_tracepoint only */

/* how batches reach the consumer (pal_options.delivery) */
#define PAL_DELIVERY_COPY 0   /* checked records copied into pooled batches (frame hints) */
#define PAL_DELIVERY_RING 1   /* views of the ring in ring layout, no copy, no native check */

struct pal_options {
	uint32_t delivery;         /* PAL_DELIVERY_* */
	const char *object_path;   /* bpf/build/palisade.bpf.o (tp_btf syscall programs) */
	const char *raw_object_path; /* bpf/build/palisade-raw.bpf.o (raw_tracepoint ones) */
	uint32_t attach_mode;      /* PAL_ATTACH_* */
	uint32_t ring_bytes;       /* power of two, >= page size */
	uint32_t batch_bytes;      /* bytes per batch handed to JS */
	uint32_t poll_ms;          /* max time a record waits before delivery */
	uint32_t pool_batches;     /* batches in flight at most (filling + queued + with JS) */
	struct pal_config config;  /* initial filter */
};

#define PAL_HIST_BUCKETS 24

struct pal_user_stats {
	uint64_t ring_records;     /* records read from the ring (a kernel batch counts its records) */
	uint64_t ring_frames;      /* ring records read: single records and kernel batches */
	uint64_t ring_bytes;
	uint64_t bad_records;      /* failed pal_record_check (copy) or longer than PAL_RECORD_MAX
				    * (both modes): skipped */
	uint64_t delivered_records;/* handed to the deliver callback and accepted */
	uint64_t delivered_bytes;
	uint64_t delivered_batches;
	uint64_t dropped_records;  /* deliver() refused: consumer queue full */
	uint64_t dropped_bytes;
	uint64_t dropped_batches;
	uint64_t alloc_failures;   /* batch allocation failed: records dropped, counted above */
	uint64_t pool_waits;       /* the drain thread waited for the consumer to return a batch */
	uint64_t pool_batches;     /* batches allocated in the pool so far */
	uint64_t pool_forgotten;   /* batches JS kept (transferred ArrayBuffer): never reused */
	uint64_t batch_hist[PAL_HIST_BUCKETS]; /* records per delivered batch, log2 buckets */
};

struct pal_collector;

/* Opens, loads and attaches. On failure returns NULL with *err_op naming the step and
 * *err_no the positive errno; *log gets libbpf's last messages (static buffer). */
struct pal_collector *pal_open(const struct pal_options *o, const char **err_op, int *err_no);
int pal_start(struct pal_collector *c, pal_deliver_fn deliver, void *ctx);
/* Stops the drain thread after a last drain; idempotent. */
void pal_stop(struct pal_collector *c);
void pal_close(struct pal_collector *c);
int pal_set_config(struct pal_collector *c, const struct pal_config *cfg);
int pal_cgroup_set(struct pal_collector *c, uint64_t id, int present);
int pal_syscall_set(struct pal_collector *c, uint32_t nr, int on);
/* namespace filter set: kind PAL_NS_MNT or PAL_NS_PID, inode number */
int pal_ns_set(struct pal_collector *c, uint32_t kind, uint32_t inum, int present);
/* PAL_DELIVERY_COPY or PAL_DELIVERY_RING */
int pal_delivery(struct pal_collector *c);
/* the mode in use (PAL_ATTACH_TP_BTF or PAL_ATTACH_RAW) and, after an automatic fallback,
 * why tp_btf was not used ("" otherwise; static storage owned by the collector) */
int pal_attach_mode(struct pal_collector *c, const char **fallback_reason);
/* why capability events (on_cap) are unavailable, or "" when they are attached */
const char *pal_cap_error(struct pal_collector *c);
/* per-CPU kernel counters: out[cpu * PAL_CNT_MAX + counter]; returns the CPU count or -errno */
int pal_kernel_counters(struct pal_collector *c, uint64_t *out, int max_cpus);
void pal_user_stats(struct pal_collector *c, struct pal_user_stats *out);
/* the consumer side of delivery reports batches it had to discard (e.g. on teardown) */
void pal_count_discarded(struct pal_collector *c, uint32_t records, size_t bytes);
/* gives a delivered batch back to the pool (any thread) */
void pal_batch_release(struct pal_collector *c, struct pal_batch *b);
/* the consumer cannot give this batch back: it leaves the pool (never freed: something
 * may still read it) and a new one may be allocated in its place */
void pal_batch_forget(struct pal_collector *c, struct pal_batch *b);
const char *pal_last_log(void);

#endif
