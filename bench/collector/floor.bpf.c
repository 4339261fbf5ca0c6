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
