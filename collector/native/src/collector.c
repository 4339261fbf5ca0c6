/* Collector core: libbpf object lifecycle and the drain thread (see collector.h).
 *
 * Invariants: memory is bounded by one batch under construction plus what the deliver
 * callback queues (bounded by the caller); every record read from the ring is counted as
 * delivered, dropped (consumer full / allocation failure) or bad — never lost silently.
 * The drain thread wakes on ring data (the BPF side forces a wake-up past a watermark),
 * on the stop eventfd, or every poll_ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "collector.h"
#include "record.h"

static const char *const ATTACH[] = { "on_exec", "on_fork", "on_exit", "on_sys_exit" };
#define N_ATTACH (sizeof(ATTACH) / sizeof(ATTACH[0]))

struct pal_collector {
	struct bpf_object *obj;
	struct bpf_link *links[N_ATTACH];
	struct ring_buffer *rb;
	int config_fd, cgroups_fd, counters_fd, syscalls_fd;
	int stop_fd, epoll_fd;
	uint32_t batch_bytes, poll_ms;
	pthread_t thread;
	int running;
	int stop;
	pal_deliver_fn deliver;
	void *ctx;
	struct pal_batch *cur;
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

static struct pal_batch *batch_new(struct pal_collector *c)
{
	struct pal_batch *b = malloc(sizeof(*b) + c->batch_bytes);
	if (!b)
		return NULL;
	b->used = 0;
	b->cap = c->batch_bytes;
	b->records = 0;
	return b;
}

static void flush(struct pal_collector *c)
{
	struct pal_batch *b = c->cur;
	unsigned bucket = 0;
	uint32_t n;

	if (!b || b->records == 0)
		return;
	c->cur = NULL;
	n = b->records;
	while (bucket + 1 < PAL_HIST_BUCKETS && (1u << (bucket + 1)) <= n)
		bucket++;
	{
		size_t used = b->used;
		if (c->deliver(c->ctx, b) == 0) {
			add(&c->st.delivered_records, n);
			add(&c->st.delivered_bytes, used);
			add(&c->st.delivered_batches, 1);
			add(&c->st.batch_hist[bucket], 1);
		} else {
			add(&c->st.dropped_records, n);
			add(&c->st.dropped_bytes, used);
			add(&c->st.dropped_batches, 1);
			free(b);
		}
	}
}

/* libbpf ring_buffer callback: copy one record into the current batch */
static int on_record(void *ctx, void *data, size_t size)
{
	struct pal_collector *c = ctx;
	struct pal_batch *b;
	uint32_t len = (uint32_t)size;

	/* single writer (this thread): a relaxed load+store, no locked read-modify-write */
	bump(&c->st.ring_records, 1);
	bump(&c->st.ring_bytes, size);
	if (pal_record_check(data, size) != PAL_OK) {
		bump(&c->st.bad_records, 1);
		return 0;
	}
	if (c->cur && c->cur->used + 4 + size > c->cur->cap)
		flush(c);
	if (!c->cur) {
		c->cur = batch_new(c);
		if (!c->cur) {
			add(&c->st.alloc_failures, 1);
			add(&c->st.dropped_records, 1);
			add(&c->st.dropped_bytes, size);
			return 0;
		}
	}
	b = c->cur;
	memcpy(b->data + b->used, &len, 4);
	memcpy(b->data + b->used + 4, data, size);
	b->used += 4 + size;
	b->records++;
	return 0;
}

static void *drain_main(void *arg)
{
	struct pal_collector *c = arg;
	struct epoll_event evs[2];

	for (;;) {
		int n = epoll_wait(c->epoll_fd, evs, 2, (int)c->poll_ms);
		if (n < 0 && errno != EINTR)
			break;
		ring_buffer__consume(c->rb);
		flush(c);
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
			break;
	}
	/* last drain: what the kernel wrote before stop is delivered */
	ring_buffer__consume(c->rb);
	flush(c);
	return NULL;
}

static int fail(const char **op, int *no, const char *what, int err)
{
	*op = what;
	*no = err < 0 ? -err : (err ? err : EINVAL);
	return -1;
}

struct pal_collector *pal_open(const struct pal_options *o, const char **err_op, int *err_no)
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
	c->stop_fd = c->epoll_fd = -1;
	c->batch_bytes = o->batch_bytes < 65536 ? 65536 : o->batch_bytes;
	c->poll_ms = o->poll_ms ? o->poll_ms : 20;

	c->obj = bpf_object__open_file(o->object_path, NULL);
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
	if ((err = bpf_object__load(c->obj))) {
		fail(err_op, err_no, "bpf_object__load", err);
		goto err;
	}
	c->config_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_config_map");
	c->cgroups_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_cgroups");
	c->counters_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_counters");
	c->syscalls_fd = bpf_object__find_map_fd_by_name(c->obj, "pal_syscalls");
	if (c->config_fd < 0 || c->cgroups_fd < 0 || c->counters_fd < 0 || c->syscalls_fd < 0) {
		fail(err_op, err_no, "find maps", ENOENT);
		goto err;
	}
	if (bpf_map_update_elem(c->config_fd, &zero, &o->config, BPF_ANY)) {
		fail(err_op, err_no, "write config map", -errno);
		goto err;
	}
	c->rb = ring_buffer__new(bpf_map__fd(m), on_record, c, NULL);
	if (!c->rb) {
		fail(err_op, err_no, "ring_buffer__new", -errno);
		goto err;
	}
	for (i = 0; i < N_ATTACH; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(c->obj, ATTACH[i]);
		if (!p) {
			fail(err_op, err_no, ATTACH[i], ENOENT);
			goto err;
		}
		c->links[i] = bpf_program__attach(p);
		if (!c->links[i]) {
			fail(err_op, err_no, "bpf_program__attach", -errno);
			goto err;
		}
	}
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->stop_fd < 0 || c->epoll_fd < 0) {
		fail(err_op, err_no, "eventfd/epoll_create1", -errno);
		goto err;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.u32 = 0;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(c->rb), &ev)) {
			fail(err_op, err_no, "epoll_ctl ring", -errno);
			goto err;
		}
		ev.data.u32 = 1;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->stop_fd, &ev)) {
			fail(err_op, err_no, "epoll_ctl stop", -errno);
			goto err;
		}
	}
	return c;
err:
	pal_close(c);
	return NULL;
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

void pal_stop(struct pal_collector *c)
{
	uint64_t one = 1;

	if (!c || !c->running)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	if (write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* the thread still sees `stop` within poll_ms */
	}
	pthread_join(c->thread, NULL);
	c->running = 0;
}

void pal_close(struct pal_collector *c)
{
	size_t i;

	if (!c)
		return;
	pal_stop(c);
	for (i = 0; i < N_ATTACH; i++)
		bpf_link__destroy(c->links[i]);
	ring_buffer__free(c->rb);
	bpf_object__close(c->obj);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->epoll_fd >= 0)
		close(c->epoll_fd);
	free(c->cur);
	free(c);
}

int pal_set_config(struct pal_collector *c, const struct pal_config *cfg)
{
	uint32_t zero = 0;
	return bpf_map_update_elem(c->config_fd, &zero, cfg, BPF_ANY) ? -errno : 0;
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
