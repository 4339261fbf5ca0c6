// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The calibration of the per-syscall goals, rebuilt so that bench/collector/floor.ts
 * can measure it in the same run as Palisade's programs: "a tp/syscalls/sys_enter_openat
 * program that returns at once costs 1.21x; ... capturing each open (256-byte path) into the
 * ring buffer costs 3.5x when every submit wakes the consumer, and 1.36x with
 * BPF_RB_NO_WAKEUP and a consumer that drains in batches" (measured on another machine).
 *
 *  m_tp_openat_empty   tp/syscalls/sys_enter_openat, returns at once.
 *  m_capture           tp_btf/sys_exit (Palisade's attach point), openat only: reserves a
 *                      record of a 256-byte path in the ring, reads the path into it
 *                      (bpf_probe_read_user_str), submits with BPF_RB_NO_WAKEUP. Nothing
 *                      else: no time, no pid, no filter — the least a capture can do.
 *  m_capture_time      the same plus bpf_ktime_get_boot_ns() into the record: the issue
 *                      asks for a time on every event, and this is what Palisade reads.
 *  m_capture_wake      m_capture with BPF_RB_FORCE_WAKEUP: every submit wakes the consumer.
 * Invariant: each program is attached alone (floor-attach.c loads only what it is asked
 * for); the consumer drains `events` every 20 ms, so with NO_WAKEUP it drains in batches. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_OPENAT 257
#define PATH_BYTES 256

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* floor-attach sets the size */
} events SEC(".maps");

struct min_record {
	__u64 time_ns;
	__s32 len;
	__u32 _pad;
	char path[PATH_BYTES];
};

SEC("tp/syscalls/sys_enter_openat")
int m_tp_openat_empty(void *ctx)
{
	return 0;
}

static __always_inline int capture(__u64 *ctx, int with_time, __u64 flags)
{
	struct pt_regs *regs = (void *)ctx[0];
	struct min_record *r;

	if (regs->orig_ax != NR_OPENAT)
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r)
		return 0;
	r->time_ns = with_time ? bpf_ktime_get_boot_ns() : 0;
	r->len = bpf_probe_read_user_str(r->path, sizeof(r->path), (const void *)regs->si);
	bpf_ringbuf_submit(r, flags);
	return 0;
}

SEC("tp_btf/sys_exit")
int m_capture(__u64 *ctx)
{
	return capture(ctx, 0, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sys_exit")
int m_capture_time(__u64 *ctx)
{
	return capture(ctx, 1, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sys_exit")
int m_capture_wake(__u64 *ctx)
{
	return capture(ctx, 0, BPF_RB_FORCE_WAKEUP);
}
