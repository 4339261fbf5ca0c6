/* Collector core: libbpf object lifecycle and the drain thread (see collector.h).
 *
 * Invariants: memory is bounded by the batch pool (pool_batches x batch_bytes); every
 * record read from the ring is counted as delivered, dropped (consumer refused the batch at
 * close, allocation failure) or bad — never lost silently. Records are checked
 * (pal_record_check) before they are copied into a batch, so JS only sees checked records.
 * The drain thread wakes on ring data (the BPF side forces a wake-up past a watermark),
 * on the stop eventfd, or every poll_ms.
 *
 * The ring is read directly (mmap of the map, as libbpf does, without its per-record
 * callback and per-record consumer_pos store): the consumer position is published once per
 * pass and before the thread may wait for a batch, so the kernel gets space back early.
 * Each record is checked where it lies in the ring — committed records are read-only to
 * user space and the kernel does not touch them until the consumer position passes them,
 * so the bytes copied are the bytes checked — or, when it wraps around the end of the
 * data area, in its batch copy. A bad record is not kept.
 *
 * Ring delivery (PAL_DELIVERY_RING, see collector.h): the drain thread reads one word per
 * record (its ring header), keeps its own scan position ahead of the consumer position and
 * hands out ranges of the ring; the consumer position is published by ring_release() only,
 * under pool_mu, for the longest prefix of in-flight ranges that were released (ranges are
 * queued in ring order before delivery). Ring space that is in no delivered range (records
 * longer than PAL_RECORD_MAX, records dropped for want of a descriptor at stop) is added to
 * the last queued range's release position, or published at once when none is queued. The
 * data area is mapped once plus ring_extra bytes (its first pages again, as the kernel maps
 * them twice) so that a range's last record may wrap; no range has a record starting past
 * the end of the data area. Memory stays bounded: it is the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "collector.h"
#include "record.h"

/* attached by name (the same names in the tp_btf and the raw_tracepoint object) */
static const char *const ATTACH[] = { "on_exec", "on_fork", "on_exit", "on_sys_exit", "on_sched_switch",
				       "on_tick" };
#define N_ATTACH (sizeof(ATTACH) / sizeof(ATTACH[0]))
#define ATTACH_SYS_EXIT 3
#define ATTACH_FLUSH 4 /* from here: the kernel batch flushes, attached only with batches on */

struct pal_collector {
	struct bpf_object *obj;
	struct bpf_link *links[N_ATTACH];
	struct bpf_link *cap_link;  /* on_cap (capability checks): optional, see cap_prepare() */
	char cap_error[160];        /* why capability events are unavailable, or "" */
	/* the ring: consumer page (rw), producer page + data mapped twice (ro) */
	int ring_fd;
	size_t page;
	size_t ring_size;
	void *cons_map, *prod_map;
	unsigned long *consumer_pos, *producer_pos;
	const uint8_t *data;
	size_t ring_extra;          /* data area bytes mapped past its end (ring delivery) */
	uint8_t wrap[PAL_RECORD_MAX]; /* copy delivery: a ring record that wraps, made contiguous */
	uint32_t delivery;          /* PAL_DELIVERY_* */
	int keep_map;               /* ring delivery: JS kept a range: never unmap the ring */
	unsigned long scan;         /* ring delivery: drain thread's position (ahead of consumer_pos) */
	unsigned long scan_pub;     /* the same, for ring_release() on the JS thread */
	uint32_t wake_bytes;        /* ring delivery: wake the drain thread on release past this */
	int sleeping;               /* the drain thread is in epoll_wait */
	int wake_fd;
	struct pal_batch *q_head, *q_tail; /* ring delivery: ranges in flight, in ring order */
	int config_fd, cgroups_fd, counters_fd, syscalls_fd, ns_fd;
	int attach_mode;            /* PAL_ATTACH_TP_BTF or PAL_ATTACH_RAW */
	int batching;               /* kernel batches on: the flush programs are attached */
	char fallback[512];         /* why tp_btf was not used (automatic fallback), or "" */
	int stop_fd, epoll_fd;
	uint32_t batch_bytes, poll_ms, pool_max;
	pthread_t thread;
	int running;
	int stop;
	pal_deliver_fn deliver;
	void *ctx;
	struct pal_batch *cur;
	/* batch pool */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct pal_batch *pool_free;
	uint32_t pool_allocated;
	struct pal_user_stats st;
};

/* libbpf's messages (verifier logs) from the last failing call, for error reports */
static char last_log[8192];
static size_t last_log_len;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	pthread_mutex_lock(&log_mu);
	if (last_log_len + n >= sizeof(last_log)) {
		/* keep the tail: verifier errors come last */
		size_t keep = sizeof(last_log) / 2;
		memmove(last_log, last_log + last_log_len - keep, keep);
		last_log_len = keep;
	}
	memcpy(last_log + last_log_len, line, n);
	last_log_len += n;
	last_log[last_log_len] = 0;
	pthread_mutex_unlock(&log_mu);
	return 0;
}

const char *pal_last_log(void)
{
	return last_log;
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* for counters only the drain thread writes */
static void bump(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static void hist_add(struct pal_collector *c, uint32_t n)
{
	unsigned bucket = 0;
	while (bucket + 1 < PAL_HIST_BUCKETS && (1u << (bucket + 1)) <= n)
		bucket++;
	add(&c->st.batch_hist[bucket], 1);
}

/* A batch from the pool: a free one, else a new one while fewer than pool_max exist,
 * else wait until the consumer gives one back. NULL when stopping with none free, or when
 * allocation fails (counted). Drain thread only. */
static struct pal_batch *pool_get(struct pal_collector *c)
{
	struct pal_batch *b = NULL;

	pthread_mutex_lock(&c->pool_mu);
	for (;;) {
		if (c->pool_free) {
			b = c->pool_free;
			c->pool_free = b->next;
			break;
		}
		if (c->pool_allocated < c->pool_max) {
			/* ring delivery: a descriptor of a ring range, no data of its own */
			size_t cap = c->delivery == PAL_DELIVERY_RING ? 0 : c->batch_bytes;
			b = malloc(sizeof(*b) + cap);
			if (!b) {
				add(&c->st.alloc_failures, 1);
				break;
			}
			c->pool_allocated++;
			add(&c->st.pool_batches, 1);
			b->cap = cap;
			break;
		}
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
			break;
		add(&c->st.pool_waits, 1);
		pthread_cond_wait(&c->pool_cv, &c->pool_mu);
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (b) {
		b->next = NULL;
		b->ptr = b->data;
		b->used = 0;
		b->last = SIZE_MAX;
		b->records = 0;
		b->done = 0;
	}
	return b;
}

/* Ring delivery: `b` is released (consumed, refused or discarded). Publishes the consumer
 * position of the longest released prefix of the in-flight queue and returns those
 * descriptors to the pool. When the queue empties while the drain thread sleeps with
 * wake_bytes or more not yet scanned (the kernel's wake-up watermark counts from the consumer
 * position, which lagged), wakes it. Any thread. */
static void ring_release(struct pal_collector *c, struct pal_batch *b)
{
	int wake = 0;

	pthread_mutex_lock(&c->pool_mu);
	b->done = 1;
	while (c->q_head && c->q_head->done) {
		struct pal_batch *x = c->q_head;
		c->q_head = x->next;
		if (!c->q_head)
			c->q_tail = NULL;
		__atomic_store_n(c->consumer_pos, x->end_pos, __ATOMIC_RELEASE);
		x->next = c->pool_free;
		c->pool_free = x;
		pthread_cond_signal(&c->pool_cv);
	}
	if (!c->q_head && __atomic_load_n(&c->sleeping, __ATOMIC_ACQUIRE)) {
		unsigned long prod = __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE);
		unsigned long scan = __atomic_load_n(&c->scan_pub, __ATOMIC_ACQUIRE);
		uint32_t w = __atomic_load_n(&c->wake_bytes, __ATOMIC_RELAXED);
		wake = prod > scan && prod - scan >= (w ? w : 1);
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (wake) {
		uint64_t one = 1;
		if (write(c->wake_fd, &one, sizeof(one)) < 0) {
			/* the drain thread still wakes within poll_ms */
		}
	}
}

/* Ring delivery: ring space up to `end` that no range will cover is given back with the last
 * queued range, or now when none is queued. Drain thread, with no range being filled. */
static void ring_skip(struct pal_collector *c, unsigned long end)
{
	pthread_mutex_lock(&c->pool_mu);
	if (c->q_tail)
		c->q_tail->end_pos = end;
	else
		__atomic_store_n(c->consumer_pos, end, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->pool_mu);
}

void pal_batch_release(struct pal_collector *c, struct pal_batch *b)
{
	if (c->delivery == PAL_DELIVERY_RING) {
		ring_release(c, b);
		return;
	}
	pthread_mutex_lock(&c->pool_mu);
	b->next = c->pool_free;
	c->pool_free = b;
	pthread_cond_signal(&c->pool_cv);
	pthread_mutex_unlock(&c->pool_mu);
}

void pal_batch_forget(struct pal_collector *c, struct pal_batch *b)
{
	if (c->delivery == PAL_DELIVERY_RING) {
		/* the range must be given back (else the ring stalls); JS may still hold a view of
		 * it (contents overwritten from now on), so the mapping stays until the process ends */
		__atomic_store_n(&c->keep_map, 1, __ATOMIC_RELAXED);
		add(&c->st.pool_forgotten, 1);
		ring_release(c, b);
		return;
	}
	pthread_mutex_lock(&c->pool_mu);
	c->pool_allocated--;
	add(&c->st.pool_forgotten, 1);
	pthread_cond_signal(&c->pool_cv);
	pthread_mutex_unlock(&c->pool_mu);
}

/* Hands a batch of n records (used bytes) to JS and counts it as delivered or dropped.
 * Returns 0 when delivered; otherwise the caller still owns the batch and releases it. */
static int deliver_counted(struct pal_collector *c, struct pal_batch *b, uint32_t n, size_t used)
{
	if (c->deliver(c->ctx, b) == 0) {
		add(&c->st.delivered_records, n);
		add(&c->st.delivered_bytes, used);
		add(&c->st.delivered_batches, 1);
		hist_add(c, n);
		return 0;
	}
	add(&c->st.dropped_records, n);
	add(&c->st.dropped_bytes, used);
	add(&c->st.dropped_batches, 1);
	return -1;
}

/* Ring delivery: queues the range being filled (in ring order, before the consumer can
 * release it) and delivers it; a range of discarded records only is released at once. */
static void flush_ring(struct pal_collector *c)
{
	struct pal_batch *b = c->cur;
	uint32_t n;
	size_t used;

	if (!b)
		return;
	c->cur = NULL;
	n = b->records;
	used = b->used;
	b->end_pos = b->start + used;
	b->done = 0;
	b->next = NULL;
	pthread_mutex_lock(&c->pool_mu);
	if (c->q_tail)
		c->q_tail->next = b;
	else
		c->q_head = b;
	c->q_tail = b;
	pthread_mutex_unlock(&c->pool_mu);
	if (n == 0)
		ring_release(c, b);
	else if (deliver_counted(c, b, n, used) != 0)
		ring_release(c, b);
}

static void flush(struct pal_collector *c)
{
	struct pal_batch *b = c->cur;
	uint32_t n;
	size_t used;

	if (c->delivery == PAL_DELIVERY_RING) {
		flush_ring(c);
		return;
	}
	if (!b || b->records == 0)
		return;
	c->cur = NULL;
	n = b->records;
	used = b->used;
	if (deliver_counted(c, b, n, used) != 0)
		pal_batch_release(c, b);
}

/* One pass over what the kernel committed: check each record, copy the good ones into
 * batches, publish the consumer position. Returns when the ring is empty or the next
 * record is still being written. */
/* Copy delivery: checks one record (hints computed on the way) and copies it into the current
 * batch as a frame. `cons` is the position of its ring record: published before waiting for a
 * batch (the records before it are copied). Returns 0, or -1 when no batch can be had
 * (stopping): the caller counts it as dropped. */
static int copy_record(struct pal_collector *c, const uint8_t *rec, uint32_t rlen, unsigned long cons,
		       uint64_t *bad)
{
	struct pal_batch *b = c->cur;
	uint8_t *d;
	uint32_t frame;

	if (b && b->used + 4 + rlen > b->cap) {
		flush(c);
		b = NULL;
	}
	if (!b) {
		__atomic_store_n(c->consumer_pos, cons, __ATOMIC_RELEASE);
		b = c->cur = pool_get(c);
		if (!b)
			return -1;
	}
	/* check (and compute the frame hints) before copying: the reads bring the record into
	 * the cache for the copy, and nothing reads back what was just written */
	if (pal_record_check(rec, rlen) != PAL_OK) {
		(*bad)++;
		return 0;
	}
	d = b->data + b->used;
	frame = rlen | pal_record_flags(rec, rlen);
	/* the previous frame's copy is in the cache: a FILE record naming the same path(s) lets
	 * the decoder reuse its strings */
	if (b->last != SIZE_MAX)
		frame |= pal_record_same(b->data + b->last, b->used - 4 - b->last, rec, rlen);
	memcpy(d + 4, rec, rlen);
	memcpy(d, &frame, 4);
	b->last = b->used + 4;
	b->used += 4 + rlen;
	b->records++;
	return 0;
}

static void drain_ring(struct pal_collector *c)
{
	const size_t mask = c->ring_size - 1;
	unsigned long cons = __atomic_load_n(c->consumer_pos, __ATOMIC_RELAXED);
	unsigned long prod;
	uint64_t recs = 0, frames = 0, bytes = 0, bad = 0;

	for (;;) {
		prod = __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE);
		if (cons >= prod)
			break;
		while (cons < prod) {
			const uint8_t *h = c->data + (cons & mask);
			uint32_t l = __atomic_load_n((const uint32_t *)h, __ATOMIC_ACQUIRE);
			uint32_t rlen;

			/* the ring is cold: ask for the lines of the records ~4 ahead (768 B at ~200 B
			 * per open record) while this one is checked and copied; a prefetch of bytes
			 * not yet written, or past the end, is harmless. Raw drain A/B, 12 interleaved
			 * pairs: median 11.6 vs 8.0 M/s, faster in 9 of 12 */
			__builtin_prefetch(c->data + ((cons + 768) & mask));
			__builtin_prefetch(c->data + ((cons + 832) & mask));

			if (l & BPF_RINGBUF_BUSY_BIT)
				goto out; /* not committed yet: the next pass (or wake-up) takes it */
			rlen = l & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			if (!(l & BPF_RINGBUF_DISCARD_BIT)) {
				bytes += rlen;
				frames++;
				if (rlen > PAL_RECORD_MAX) {
					recs++;
					bad++; /* pal_record_check would refuse it: not worth a copy */
				} else {
					size_t at = (cons + BPF_RINGBUF_HDR_SZ) & mask;
					const uint8_t *rr = c->data + at;
					size_t in = 0;
					if (at + rlen > c->ring_size) {
						/* the ring record wraps (the data area is mapped once): walk a
						 * copy of it */
						size_t first = c->ring_size - at;
						memcpy(c->wrap, rr, first);
						memcpy(c->wrap + first, c->data, rlen - first);
						rr = c->wrap;
					}
					/* one record, or a kernel batch of them (pal_inner_len) */
					do {
						size_t ilen = pal_inner_len(rr, rlen, in);
						recs++;
						if (!ilen) {
							bad++;
							break;
						}
						if (copy_record(c, rr + in, (uint32_t)ilen, cons, &bad) < 0) {
							add(&c->st.dropped_records, 1);
							add(&c->st.dropped_bytes, ilen);
						}
						in += PAL_INNER_STEP(ilen);
					} while (in < rlen);
				}
			}
			cons += (rlen + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
		}
		__atomic_store_n(c->consumer_pos, cons, __ATOMIC_RELEASE);
	}
out:
	__atomic_store_n(c->consumer_pos, cons, __ATOMIC_RELEASE);
	/* single writer (this thread): a relaxed load+store, no locked read-modify-write */
	bump(&c->st.ring_records, recs);
	bump(&c->st.ring_frames, frames);
	bump(&c->st.ring_bytes, bytes);
	bump(&c->st.bad_records, bad);
}

/* Ring delivery: the records in one ring record (a kernel batch holds several), counted from
 * their headers; a rest that cannot be walked counts as one (the decoder counts it bad). The
 * ring record is contiguous: the data area is mapped with ring_extra bytes past its end. */
static uint32_t inner_count(const uint8_t *rr, uint32_t rlen)
{
	size_t in = 0;
	uint32_t n = 0;

	do {
		size_t ilen = pal_inner_len(rr, rlen, in);
		n++;
		if (!ilen)
			break;
		in += PAL_INNER_STEP(ilen);
	} while (in < rlen);
	return n;
}

/* Ring delivery: one pass over what the kernel committed, reading only each record's ring
 * header word: consecutive records become ranges (at most batch_bytes, no record starting
 * past the end of the data area). Returns when the ring is empty or the next record is
 * still being written. */
static void drain_ring_view(struct pal_collector *c)
{
	const size_t mask = c->ring_size - 1;
	unsigned long pos = c->scan;
	unsigned long prod;
	uint64_t recs = 0, frames = 0, bytes = 0, bad = 0, dropped = 0, dropped_bytes = 0;
	unsigned long pf = pos & ~63ul;

	for (;;) {
		prod = __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE);
		if (pos >= prod)
			break;
		while (pos < prod) {
			uint32_t l = __atomic_load_n((const uint32_t *)(c->data + (pos & mask)), __ATOMIC_ACQUIRE);
			uint32_t rlen, n;
			unsigned long step;
			int discard;
			struct pal_batch *b;

			if (l & BPF_RINGBUF_BUSY_BIT)
				goto out; /* not committed yet: the next pass (or wake-up) takes it */
			/* the walk is a chain of dependent loads (a record's length gives the next
			 * header) through a cold ring: ask for every line up to one page ahead, each
			 * once (raw drain, 600k records, 3 interleaved pairs: 26-38 vs 26-28 M/s
			 * without), but not past what the kernel committed: a line the producer has yet
			 * to write would be pulled into this CPU's cache and cost the producer a miss */
			while (pf < pos + 4096 && pf < prod) {
				__builtin_prefetch(c->data + (pf & mask));
				pf += 64;
			}
			discard = (l & BPF_RINGBUF_DISCARD_BIT) != 0;
			rlen = l & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			step = (rlen + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
			n = 0;
			if (!discard) {
				/* without kernel batches (the default) a ring record is one record: the
				 * walk would read every record's header on this thread for nothing */
				n = !c->batching || rlen > PAL_RECORD_MAX ? 1
					: inner_count(c->data + ((pos + BPF_RINGBUF_HDR_SZ) & mask), rlen);
				recs += n;
				frames++;
				bytes += rlen;
			}
			if (rlen > PAL_RECORD_MAX) {
				/* no program writes such a record; it could outrun ring_extra: not delivered */
				bad += n;
				flush_ring(c);
				ring_skip(c, pos + step);
			} else {
				b = c->cur;
				if (b && (pos + step - b->start > c->batch_bytes ||
					  (b->start & mask) + (pos - b->start) >= c->ring_size)) {
					flush_ring(c);
					b = NULL;
				}
				if (!b && (b = c->cur = pool_get(c))) {
					b->start = pos;
					b->ptr = c->data + (pos & mask);
				}
				if (b) {
					b->used = pos + step - b->start;
					b->records += n;
				} else if (!discard) {
					dropped += n; /* stopping with every descriptor in flight */
					dropped_bytes += rlen;
					ring_skip(c, pos + step);
				} else {
					ring_skip(c, pos + step);
				}
			}
			pos += step;
		}
	}
out:
	c->scan = pos;
	__atomic_store_n(&c->scan_pub, pos, __ATOMIC_RELEASE);
	bump(&c->st.ring_records, recs);
	bump(&c->st.ring_frames, frames);
	bump(&c->st.ring_bytes, bytes);
	bump(&c->st.bad_records, bad);
	if (dropped) {
		add(&c->st.dropped_records, dropped);
		add(&c->st.dropped_bytes, dropped_bytes);
	}
}

static void drain(struct pal_collector *c)
{
	if (c->delivery == PAL_DELIVERY_RING)
		drain_ring_view(c);
	else
		drain_ring(c);
}

static void *drain_main(void *arg)
{
	struct pal_collector *c = arg;
	struct epoll_event evs[3];

	c->scan = c->scan_pub = __atomic_load_n(c->consumer_pos, __ATOMIC_ACQUIRE);
	for (;;) {
		int n, i;
		__atomic_store_n(&c->sleeping, 1, __ATOMIC_RELEASE);
		n = epoll_wait(c->epoll_fd, evs, 3, (int)c->poll_ms);
		__atomic_store_n(&c->sleeping, 0, __ATOMIC_RELEASE);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == 2) {
				uint64_t v;
				if (read(c->wake_fd, &v, sizeof(v)) < 0) {
					/* EAGAIN: another read took it */
				}
			}
		}
		drain(c);
		flush(c);
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
			break;
	}
	/* last drain: what the kernel wrote before stop is delivered (or counted as dropped
	 * when the consumer still holds every batch) */
	drain(c);
	flush(c);
	return NULL;
}

static int fail(const char **op, int *no, const char *what, int err)
{
	*op = what;
	*no = err < 0 ? -err : (err ? err : EINVAL);
	return -1;
}

/* Capability checks (program on_cap, capability:cap_capable) are optional: that tracepoint
 * exists since Linux 6.14, and the other events must not depend on it. A tp_btf program
 * whose tracepoint the kernel lacks fails to load (and would fail the whole object), so it
 * is not loaded then; a raw_tracepoint one loads and fails to attach. Either way the
 * collector runs without capability events and says why (pal_cap_error). */
static void cap_prepare(struct pal_collector *c, int mode)
{
	struct bpf_program *p = bpf_object__find_program_by_name(c->obj, "on_cap");

	if (!p) {
		snprintf(c->cap_error, sizeof(c->cap_error), "the BPF object has no on_cap program");
		return;
	}
	if (mode == PAL_ATTACH_TP_BTF && libbpf_find_vmlinux_btf_id("cap_capable", BPF_TRACE_RAW_TP) < 0) {
		bpf_program__set_autoload(p, false);
		snprintf(c->cap_error, sizeof(c->cap_error), "the kernel has no capability:cap_capable tracepoint (Linux 6.14+)");
	}
}

static void cap_attach(struct pal_collector *c)
{
	struct bpf_program *p = bpf_object__find_program_by_name(c->obj, "on_cap");

	if (!p || !bpf_program__autoload(p))
		return;
	c->cap_link = bpf_program__attach(p);
	if (!c->cap_link)
		snprintf(c->cap_error, sizeof(c->cap_error), "attach capability:cap_capable: %s", strerror(errno));
}

const char *pal_cap_error(struct pal_collector *c)
{
	return c->cap_error;
}

static struct pal_collector *open_mode(const struct pal_options *o, int mode, const char **err_op,
				       int *err_no)
{
	struct pal_collector *c;
	struct bpf_map *m;
	uint32_t zero = 0;
	int err;
	size_t i;

	libbpf_set_print(print_fn);
	pthread_mutex_lock(&log_mu);
	last_log_len = 0;
	last_log[0] = 0;
	pthread_mutex_unlock(&log_mu);

	c = calloc(1, sizeof(*c));
	if (!c) {
		fail(err_op, err_no, "calloc", ENOMEM);
		return NULL;
	}
	c->stop_fd = c->epoll_fd = c->ring_fd = c->wake_fd = -1;
	c->delivery = o->delivery == PAL_DELIVERY_RING ? PAL_DELIVERY_RING : PAL_DELIVERY_COPY;
	c->wake_bytes = o->config.wakeup_bytes;
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_cond_init(&c->pool_cv, NULL);
	c->pool_max = o->pool_batches < 2 ? 2 : o->pool_batches;
	c->batch_bytes = o->batch_bytes < 65536 ? 65536 : o->batch_bytes;
	c->poll_ms = o->poll_ms ? o->poll_ms : 20;

	/* the tp_btf build or the raw_tracepoint build of the same programs */
	c->obj = bpf_object__open_file(mode == PAL_ATTACH_RAW ? o->raw_object_path : o->object_path, NULL);
	if (!c->obj) {
		fail(err_op, err_no, "bpf_object__open_file", -errno);
		goto err;
	}
	m = bpf_object__find_map_by_name(c->obj, "events");
	if (!m) {
		fail(err_op, err_no, "find map events", ENOENT);
		goto err;
	}
	if ((err = bpf_map__set_max_entries(m, o->ring_bytes))) {
		fail(err_op, err_no, "set ring size", err);
		goto err;
	}
	c->attach_mode = mode;
	cap_prepare(c, mode);
	if ((err = bpf_object__load(c->obj))) {
		fail(err_op, err_no, "bpf_object__load", err);
		goto err;
	}
	/* loading parsed the kernel's BTF (megabytes, freed again): give that heap back */
	malloc_trim(0);
	c->config_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_config_map");
	c->cgroups_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_cgroups");
	c->counters_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_counters");
	c->syscalls_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_syscalls");
	c->ns_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_ns");
	if (c->config_fd < 0 || c->cgroups_fd < 0 || c->counters_fd < 0 || c->syscalls_fd < 0 ||
	    c->ns_fd < 0) {
		fail(err_op, err_no, "find maps", ENOENT);
		goto err;
	}
	/* kernel batches need their flush programs (sched_switch, tick), which cost every context
	 * switch on the machine: attached only when batches are on */
	c->batching = o->config.batch_bytes > 0 && o->config.wakeup_bytes > 0;
	if (bpf_map_update_elem(c->config_fd, &zero, &o->config, BPF_ANY)) {
		fail(err_op, err_no, "write config map", -errno);
		goto err;
	}
	c->ring_fd = bpf_map__fd(m);
	{
		/* the size the kernel created (libbpf may round what was asked for) */
		struct bpf_map_info info;
		__u32 ilen = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(c->ring_fd, &info, &ilen)) {
			fail(err_op, err_no, "ring map info", -errno);
			goto err;
		}
		c->ring_size = info.max_entries;
	}
	c->page = (size_t)sysconf(_SC_PAGESIZE);
	if (c->ring_size < c->page || (c->ring_size & (c->ring_size - 1))) {
		fail(err_op, err_no, "ring size", EINVAL);
		goto err;
	}
	c->cons_map = mmap(NULL, c->page, PROT_READ | PROT_WRITE, MAP_SHARED, c->ring_fd, 0);
	if (c->cons_map == MAP_FAILED) {
		c->cons_map = NULL;
		fail(err_op, err_no, "mmap ring consumer page", -errno);
		goto err;
	}
	/* the data area once (libbpf maps it twice so that a wrapping record reads
	 * contiguously; the drain copies such a record in two parts instead): every page of
	 * the mapping is resident from the start, so this halves the ring's share of RSS.
	 * Ring delivery maps one maximal record more (the kernel maps the data pages twice
	 * back to back): a range's last record may wrap */
	if (c->delivery == PAL_DELIVERY_RING) {
		size_t max_step = (PAL_RECORD_MAX + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
		c->ring_extra = (max_step + c->page - 1) & ~(c->page - 1);
		if (c->ring_extra > c->ring_size)
			c->ring_extra = c->ring_size; /* no record is longer than the ring */
	}
	c->prod_map = mmap(NULL, c->page + c->ring_size + c->ring_extra, PROT_READ, MAP_SHARED, c->ring_fd, (off_t)c->page);
	if (c->prod_map == MAP_FAILED) {
		c->prod_map = NULL;
		fail(err_op, err_no, "mmap ring data", -errno);
		goto err;
	}
	c->consumer_pos = c->cons_map;
	c->producer_pos = c->prod_map;
	c->data = (const uint8_t *)c->prod_map + c->page;
	for (i = 0; i < N_ATTACH; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(c->obj, ATTACH[i]);
		if (i >= ATTACH_FLUSH && !c->batching)
			continue;
		if (!p) {
			fail(err_op, err_no, ATTACH[i], ENOENT);
			goto err;
		}
		c->links[i] = bpf_program__attach(p);
		if (!c->links[i]) {
			fail(err_op, err_no, i == ATTACH_SYS_EXIT ? "attach sys_exit dispatcher" : "bpf_program__attach", -errno);
			goto err;
		}
	}
	cap_attach(c);
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->stop_fd < 0 || c->wake_fd < 0 || c->epoll_fd < 0) {
		fail(err_op, err_no, "eventfd/epoll_create1", -errno);
		goto err;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.u32 = 0;
		/* the ring polls readable while the consumer position is behind the producer's:
		 * in ring delivery it stays behind while JS holds ranges, so level-triggered epoll
		 * would spin; edge-triggered reports the kernel's wake-ups only */
		if (c->delivery == PAL_DELIVERY_RING)
			ev.events |= EPOLLET;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->ring_fd, &ev)) {
			fail(err_op, err_no, "epoll_ctl ring", -errno);
			goto err;
		}
		ev.data.u32 = 1;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->stop_fd, &ev)) {
			fail(err_op, err_no, "epoll_ctl stop", -errno);
			goto err;
		}
		ev.data.u32 = 2;
		ev.events = EPOLLIN;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->wake_fd, &ev)) {
			fail(err_op, err_no, "epoll_ctl wake", -errno);
			goto err;
		}
	}
	return c;
err:
	pal_close(c);
	return NULL;
}

/* PAL_ATTACH_AUTO: the tp_btf object first; when that fails anywhere (load: the kernel
 * refuses the program type or a BTF access; attach), everything is undone and the
 * raw_tracepoint object is loaded instead. The reason is kept for stats (the caller logs it). */
struct pal_collector *pal_open(const struct pal_options *o, const char **err_op, int *err_no)
{
	struct pal_collector *c;
	char reason[512];

	if (o->attach_mode == PAL_ATTACH_TP_BTF || o->attach_mode == PAL_ATTACH_RAW)
		return open_mode(o, (int)o->attach_mode, err_op, err_no);
	c = open_mode(o, PAL_ATTACH_TP_BTF, err_op, err_no);
	if (c)
		return c;
	snprintf(reason, sizeof(reason), "tp_btf: %s failed: %s", *err_op, strerror(*err_no));
	c = open_mode(o, PAL_ATTACH_RAW, err_op, err_no);
	if (c)
		snprintf(c->fallback, sizeof(c->fallback), "%s", reason);
	return c;
}

int pal_delivery(struct pal_collector *c)
{
	return (int)c->delivery;
}

int pal_attach_mode(struct pal_collector *c, const char **fallback_reason)
{
	if (fallback_reason)
		*fallback_reason = c->fallback;
	return c->attach_mode;
}

int pal_ns_set(struct pal_collector *c, uint32_t kind, uint32_t inum, int present)
{
	uint64_t key = PAL_NS_KEY(kind, inum);
	uint8_t one = 1;

	if (kind != PAL_NS_MNT && kind != PAL_NS_PID)
		return -EINVAL;
	if (present)
		return bpf_map_update_elem(c->ns_fd, &key, &one, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(c->ns_fd, &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int pal_start(struct pal_collector *c, pal_deliver_fn deliver, void *ctx)
{
	int err;

	if (c->running)
		return -EALREADY;
	c->deliver = deliver;
	c->ctx = ctx;
	err = pthread_create(&c->thread, NULL, drain_main, c);
	if (err)
		return -err;
	c->running = 1;
	return 0;
}

/* Kernel batches at stop: new records go to the ring alone from now on, and what the batches
 * hold is sent by the next tick or switch of each CPU (an idle CPU's batch went out when it
 * switched to idle), before the drain thread's last pass: wait for three ticks (HZ=250). */
static void kb_stop(struct pal_collector *c)
{
	uint32_t zero = 0;
	struct pal_config v;

	if (!c->batching || bpf_map_lookup_elem(c->config_fd, &zero, &v))
		return;
	v.batch_bytes = 0;
	if (bpf_map_update_elem(c->config_fd, &zero, &v, BPF_ANY))
		return;
	usleep(12000);
}

/* Records still in a kernel batch after the last drain (none, unless a CPU neither ticked nor
 * switched during kb_stop's wait): counted as dropped, never lost uncounted. */
static void kb_count_left(struct pal_collector *c)
{
	const struct bpf_map *m = bpf_object__find_map_by_name(c->obj, "kbatch_map");
	int ncpu = libbpf_num_possible_cpus(), cpu;
	size_t vsz;
	uint32_t zero = 0;
	uint8_t *vals;

	if (!c->batching || !m || ncpu <= 0)
		return;
	vsz = (bpf_map__value_size(m) + 7) & ~(size_t)7;
	vals = calloc((size_t)ncpu, vsz);
	if (!vals)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(m), &zero, vals)) {
		for (cpu = 0; cpu < ncpu; cpu++) {
			uint32_t used, n;
			memcpy(&used, vals + (size_t)cpu * vsz, 4);
			memcpy(&n, vals + (size_t)cpu * vsz + 4, 4);
			if (used && n) {
				add(&c->st.dropped_records, n);
				add(&c->st.dropped_bytes, used);
			}
		}
	}
	free(vals);
}

void pal_stop(struct pal_collector *c)
{
	uint64_t one = 1;

	if (!c || !c->running)
		return;
	kb_stop(c);
	pthread_mutex_lock(&c->pool_mu);
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->pool_cv); /* a drain thread waiting for a batch */
	pthread_mutex_unlock(&c->pool_mu);
	if (write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* the thread still sees `stop` within poll_ms */
	}
	pthread_join(c->thread, NULL);
	c->running = 0;
	kb_count_left(c);
}

void pal_close(struct pal_collector *c)
{
	size_t i;

	if (!c)
		return;
	pal_stop(c);
	for (i = 0; i < N_ATTACH; i++)
		bpf_link__destroy(c->links[i]);
	bpf_link__destroy(c->cap_link);
	if (c->cons_map)
		munmap(c->cons_map, c->page);
	if (c->prod_map && !c->keep_map)
		munmap(c->prod_map, c->page + c->ring_size + c->ring_extra);
	bpf_object__close(c->obj);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->epoll_fd >= 0)
		close(c->epoll_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	free(c->cur);
	/* ring delivery: every range was released by now (see below); none is left in flight */
	while (c->q_head) {
		struct pal_batch *b = c->q_head;
		c->q_head = b->next;
		free(b);
	}
	/* every delivered batch was given back by now (the addon closes after the last one) */
	while (c->pool_free) {
		struct pal_batch *b = c->pool_free;
		c->pool_free = b->next;
		free(b);
	}
	pthread_mutex_destroy(&c->pool_mu);
	pthread_cond_destroy(&c->pool_cv);
	free(c);
}

int pal_set_config(struct pal_collector *c, const struct pal_config *cfg)
{
	uint32_t zero = 0;
	struct pal_config v = *cfg;
	if (!c->batching)
		v.batch_bytes = 0; /* no flush programs: a batch could wait for its task's exit */
	__atomic_store_n(&c->wake_bytes, v.wakeup_bytes, __ATOMIC_RELAXED);
	return bpf_map_update_elem(c->config_fd, &zero, &v, BPF_ANY) ? -errno : 0;
}

int pal_cgroup_set(struct pal_collector *c, uint64_t id, int present)
{
	uint8_t one = 1;
	if (present)
		return bpf_map_update_elem(c->cgroups_fd, &id, &one, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(c->cgroups_fd, &id) && errno != ENOENT)
		return -errno;
	return 0;
}

int pal_syscall_set(struct pal_collector *c, uint32_t nr, int on)
{
	uint8_t v = on ? 1 : 0;
	if (nr >= 512)
		return -EINVAL;
	return bpf_map_update_elem(c->syscalls_fd, &nr, &v, BPF_ANY) ? -errno : 0;
}

int pal_kernel_counters(struct pal_collector *c, uint64_t *out, int max_cpus)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	uint32_t k;
	int cpu;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (ncpu > max_cpus)
		return -ERANGE;
	vals = calloc(ncpu, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < PAL_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(c->counters_fd, &k, vals)) {
			int e = -errno;
			free(vals);
			return e;
		}
		for (cpu = 0; cpu < ncpu; cpu++)
			out[cpu * PAL_CNT_MAX + k] = vals[cpu];
	}
	free(vals);
	return ncpu;
}

void pal_user_stats(struct pal_collector *c, struct pal_user_stats *out)
{
	uint64_t *src = (uint64_t *)&c->st, *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void pal_count_discarded(struct pal_collector *c, uint32_t records, size_t bytes)
{
	/* accepted by deliver() but never reached JS: move from delivered to dropped */
	__atomic_fetch_sub(&c->st.delivered_records, records, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&c->st.delivered_bytes, bytes, __ATOMIC_RELAXED);
	add(&c->st.dropped_records, records);
	add(&c->st.dropped_bytes, bytes);
}
