// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The floor of a sys_exit hook on this kernel: programs that do (almost) nothing, measured
 * by bench/collector/floor.ts against the bare openat loop and against the real programs
 * (bpf/palisade.bpf.c). Each program is attached alone by floor-attach.c.
 *
 *  f_exit_empty   raw_tracepoint/sys_exit, returns at once: the cost of turning on the
 *                 syscall-tracepoint slow path plus one BPF program run.
 *  f_exit_nr      raw_tracepoint/sys_exit, reads regs->orig_ax (one bpf_probe_read_kernel,
 *                 the only way from a raw tracepoint) and compares it: the cheapest
 *                 possible filter on the syscall number at exit.
 *  f_exit_nr_btf  tp_btf/sys_exit, the same read as a direct (BTF) load.
 *  f_enter_empty  raw_tracepoint/sys_enter, returns at once (for the figures in DESIGN.md).
 *  f_enter_id     raw_tracepoint/sys_enter, compares the id the tracepoint passes in args[1].
 * Primitives (tp_btf/sys_exit, each does one thing on every syscall exit; their BPF run
 * time minus f_exit_nr_btf's is the cost of that one thing here):
 *  p_task_btf bpf_get_current_task_btf() + a direct load of tgid; p_pid_tgid
 *  bpf_get_current_pid_tgid(); p_cgroup_id bpf_get_current_cgroup_id(); p_cgroup_direct
 *  the same id by direct loads (task->cgroups->dfl_cgrp->kn->id); p_ktime
 *  bpf_ktime_get_boot_ns(); p_hash_miss a lookup of an absent key in a hash map;
 *  p_probe_read one 8-byte bpf_probe_read_kernel.
 * Invariant: none of them writes anything anywhere; `hits` only counts matches of an
 * impossible syscall number so that the compiler keeps the read. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NEVER_NR 0xfffffu

__u64 hits = 0;

SEC("raw_tracepoint/sys_exit")
int f_exit_empty(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int f_exit_nr(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	__u32 nr = BPF_CORE_READ(regs, orig_ax);

	if (nr == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int f_exit_nr_btf(__u64 *ctx)
{
	struct pt_regs *regs = (void *)ctx[0];
	__u32 nr = regs->orig_ax;

	if (nr == NEVER_NR)
		hits++;
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int f_enter_empty(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int f_enter_id(struct bpf_raw_tracepoint_args *ctx)
{
	if ((__u32)ctx->args[1] == NEVER_NR)
		hits++;
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} p_hash SEC(".maps");

SEC("tp_btf/sys_exit")
int p_task_btf(__u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if ((__u32)t->tgid == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_pid_tgid(__u64 *ctx)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_cgroup_id(__u64 *ctx)
{
	if (bpf_get_current_cgroup_id() == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_cgroup_direct(__u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (t->cgroups->dfl_cgrp->kn->id == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_ktime(__u64 *ctx)
{
	if (bpf_ktime_get_boot_ns() == NEVER_NR)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_hash_miss(__u64 *ctx)
{
	__u64 k = NEVER_NR;

	if (bpf_map_lookup_elem(&p_hash, &k))
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int p_probe_read(__u64 *ctx)
{
	struct pt_regs *regs = (void *)ctx[0];
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &regs->orig_ax);
	if (v == NEVER_NR)
		hits++;
	return 0;
}
