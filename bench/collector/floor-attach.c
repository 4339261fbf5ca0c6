/* Attach helper for bench/collector/floor.ts.
 *   floor-attach <object> <prog[,prog...]> [classes cgroup_mode cgroup_id wakeup_bytes]
 * Loads the object, writes the palisade config (when given and the object has the
 * palisade maps; agent_tgid is this process), attaches only the named programs, prints
 * "attached", then drains the object's `events` ring (if any) until a line or EOF arrives
 * on stdin: whenever the kernel wakes it, else every 20 ms (records written with
 * BPF_RB_NO_WAKEUP and no watermark are thus drained in batches). Environment:
 * FLOOR_RING_BYTES (ring size, default 64 MiB), FLOOR_BATCH_BYTES (palisade kernel
 * batches, default 0). Then it prints key=value lines: records, and for every attached
 * program and every program of the object that ran, run_cnt_<name> and run_ns_<name>
 * (kernel BPF stats; zero unless kernel.bpf_stats_enabled=1), and the palisade counters.
 * Invariant: it never attaches a program that was not named. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "palisade_event.h"

static long records;

static int on_rec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	records++;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *ev;
	struct ring_buffer *rb = NULL;
	char names[512], *tok, *save = NULL;
	char line[64];
	const char *ring_env;
	int is_palisade;

	if (argc != 3 && argc != 7) {
		fprintf(stderr, "usage: floor-attach <object> <prog[,prog...]> [classes cgroup_mode cgroup_id wakeup_bytes]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ev = bpf_object__find_map_by_name(obj, "events");
	ring_env = getenv("FLOOR_RING_BYTES");
	if (ev && bpf_map__set_max_entries(ev, ring_env ? (unsigned)atoi(ring_env) : 64u << 20)) {
		fprintf(stderr, "cannot set the ring size (FLOOR_RING_BYTES=%s): %s\n", ring_env ? ring_env : "unset", strerror(errno));
		return 1;
	}
	is_palisade = bpf_object__find_map_by_name(obj, "pal_config_map") != NULL;
	/* floor objects: load only what is named, so that a program type this kernel refuses
	 * fails only its own run; palisade (it has a config map): load everything (tail-call
	 * targets) */
	snprintf(names, sizeof(names), ",%s,", argv[2]);
	bpf_object__for_each_program(p, obj) {
		char key[160];
		snprintf(key, sizeof(key), ",%s,", bpf_program__name(p));
		if (!is_palisade && !strstr(names, key))
			bpf_program__set_autoload(p, false);
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (argc == 7) {
		struct pal_config cfg = { 0 };
		unsigned long long id = strtoull(argv[5], NULL, 10);
		unsigned char one = 1;
		unsigned zero = 0;
		cfg.classes = atoi(argv[3]);
		cfg.cgroup_mode = atoi(argv[4]);
		cfg.wakeup_bytes = atoi(argv[6]);
		cfg.batch_bytes = getenv("FLOOR_BATCH_BYTES") ? atoi(getenv("FLOOR_BATCH_BYTES")) : 0;
		cfg.agent_tgid = getpid();
		if (id && bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "pal_cgroups"), &id, &one, BPF_ANY)) {
			fprintf(stderr, "cgroup map: %s\n", strerror(errno));
			return 1;
		}
		if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "pal_config_map"), &zero, &cfg, BPF_ANY)) {
			fprintf(stderr, "config map: %s\n", strerror(errno));
			return 1;
		}
	}
	if (ev)
		rb = ring_buffer__new(bpf_map__fd(ev), on_rec, NULL, NULL);
	for (tok = strtok_r(argv[2], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		p = bpf_object__find_program_by_name(obj, tok);
		if (!p || !bpf_program__attach(p)) {
			fprintf(stderr, "attach %s: %s\n", tok, p ? strerror(errno) : "no such program");
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pf = { .fd = 0, .events = POLLIN };
		int n;
		if (rb) {
			/* poll consumes only after a wake-up; consume drains on the timeout too */
			ring_buffer__poll(rb, 20);
			ring_buffer__consume(rb);
		}
		n = poll(&pf, 1, rb ? 0 : 20);
		if (n > 0)
			break;
	}
	if (!fgets(line, sizeof(line), stdin)) {
		/* EOF: stop as well */
	}
	if (rb)
		ring_buffer__consume(rb);
	printf("records=%ld\n", records);
	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);
		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.run_cnt)
			continue;
		printf("run_cnt_%s=%llu\nrun_ns_%s=%llu\n", bpf_program__name(p), (unsigned long long)info.run_cnt,
		       bpf_program__name(p), (unsigned long long)info.run_time_ns);
	}
	{
		int fd = bpf_object__find_map_fd_by_name(obj, "pal_counters");
		int ncpu = libbpf_num_possible_cpus(), i;
		unsigned k;
		unsigned long long *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
		const char *cn[PAL_CNT_MAX] = { "emitted", "dropped", "filtered", "unused" };
		for (k = 0; fd >= 0 && v && k < 3; k++) {
			unsigned long long sum = 0;
			if (bpf_map_lookup_elem(fd, &k, v))
				break;
			for (i = 0; i < ncpu; i++)
				sum += v[i];
			printf("%s=%llu\n", cn[k], sum);
		}
		free(v);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
