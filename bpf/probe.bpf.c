// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One do-nothing program per attach type: `palisade probe` loads (and where safe attaches)
 * each one alone to report what this kernel allows. Never used for collection. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_rb SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int p_raw_tracepoint(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_enter_openat")
int p_tracepoint(void *ctx) { return 0; }

SEC("tp_btf/sys_exit")
int BPF_PROG(p_tp_btf, struct pt_regs *regs, long ret) { return 0; }

SEC("kprobe/do_sys_openat2")
int p_kprobe(void *ctx) { return 0; }

SEC("fentry/do_sys_openat2")
int BPF_PROG(p_fentry) { return 0; }

SEC("lsm/file_open")
int BPF_PROG(p_lsm, struct file *file) { return 0; }

SEC("cgroup/sock_create")
int p_cgroup_sock(struct bpf_sock *ctx) { return 1; }

SEC("cgroup/connect4")
int p_cgroup_connect4(struct bpf_sock_addr *ctx) { return 1; }

SEC("raw_tracepoint/sys_enter")
int p_ringbuf(void *ctx)
{
	bpf_ringbuf_output(&probe_rb, &ctx, sizeof(ctx), BPF_RB_NO_WAKEUP);
	return 0;
}
