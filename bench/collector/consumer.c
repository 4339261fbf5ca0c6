/* Minimal pure-C libbpf consumer of bpf/build/palisade.bpf.o: the reference the JS
 * collector is compared with. Same programs, same ring, same config map and wake-up
 * policy; its callback only counts records (and touches the header).
 *   consumer <object> <ring_bytes> <poll_ms> <wakeup_bytes> <classes> <expect_records> <batch_bytes> [cgroup_id]
 * Prints "attached" once attached, then waits for a line on stdin, then drains until
 * expect_records were read (or 60 s passed) and prints records, first-to-last drain time
 * and the kernel counters. With cgroup_id, only that cgroup is monitored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "palisade_event.h"

static long records, bytes;
static double first_ns, last_ns;
static unsigned long long kinds;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* one ring record: one record, or a kernel batch of records at 8-byte aligned offsets */
static int on_rec(void *ctx, void *data, size_t size)
{
	size_t off = 0;
	if (!records)
		first_ns = now_ns();
	while (size - off >= sizeof(struct pal_hdr)) {
		const struct pal_hdr *h = (const void *)((const char *)data + off);
		if (h->size < sizeof(struct pal_hdr) || h->size > size - off)
			break;
		records++;
		bytes += h->size;
		kinds += h->kind;
		off += (h->size + 7u) & ~7u;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *names[] = { "on_exec", "on_fork", "on_exit", "on_sys_exit", "on_sched_switch", "on_tick" };
	struct bpf_object *obj;
	struct ring_buffer *rb;
	struct pal_config cfg = { 0 };
	unsigned zero = 0;
	long expect;
	double deadline;
	char line[16];
	int i, ncpu;

	if (argc < 8) {
		fprintf(stderr, "usage: consumer <object> <ring_bytes> <poll_ms> <wakeup_bytes> <classes> <expect> <batch_bytes> [cgroup_id]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), atoi(argv[2])) ||
	    bpf_object__load(obj)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 1;
	}
	cfg.classes = atoi(argv[5]);
	cfg.wakeup_bytes = atoi(argv[4]);
	cfg.agent_tgid = getpid();
	cfg.batch_bytes = atoi(argv[7]);
	if (argc > 8) {
		unsigned long long id = strtoull(argv[8], NULL, 10);
		unsigned char one = 1;
		cfg.cgroup_mode = PAL_CGROUP_ONLY;
		bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "pal_cgroups"), &id, &one, BPF_ANY);
	}
	bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "pal_config_map"), &zero, &cfg, BPF_ANY);
	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"), on_rec, NULL, NULL);
	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!bpf_program__attach(bpf_object__find_program_by_name(obj, names[i]))) {
			fprintf(stderr, "attach %s: %s\n", names[i], strerror(errno));
			return 1;
		}
	printf("attached\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	expect = atol(argv[6]);
	deadline = now_ns() + 60e9;
	while (records < expect && now_ns() < deadline) {
		/* with BPF_RB_NO_WAKEUP epoll may never fire: consume after every timeout too */
		ring_buffer__poll(rb, atoi(argv[3]));
		ring_buffer__consume(rb);
		if (records)
			last_ns = now_ns();
	}
	{
		unsigned long long emitted = 0, dropped = 0;
		unsigned long long *v;
		int fd = bpf_object__find_map_fd_by_name(obj, "pal_counters");
		unsigned k;
		ncpu = libbpf_num_possible_cpus();
		v = calloc(ncpu, sizeof(*v));
		for (k = 0; k < 2; k++) {
			bpf_map_lookup_elem(fd, &k, v);
			for (i = 0; i < ncpu; i++)
				*(k ? &dropped : &emitted) += v[i];
		}
		printf("records=%ld\nbytes=%ld\ndrain_ns=%.0f\nemitted=%llu\ndropped=%llu\n", records, bytes,
		       last_ns - first_ns, emitted, dropped);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
