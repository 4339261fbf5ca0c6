// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Palisade's event programs (CO-RE; raw tracepoints and BTF-enabled raw tracepoints
 * (tp_btf): this kernel refuses fentry and LSM programs and has no kprobes, but loads and
 * attaches tp_btf programs, checked on 6.18.44-fc).
 *
 *  - raw_tracepoint/sched_process_exec, sched_process_fork, sched_process_exit: process life.
 *  - tp_btf/sys_exit: one dispatcher for every syscall exit (a BTF-enabled raw tracepoint:
 *    the same hook as raw_tracepoint/sys_exit, but pt_regs and the current task are read
 *    with direct loads instead of helper calls, which cost 30-70 ns each on these VMs). It
 *    reads the syscall number from regs->orig_ax, drops what is not wanted (event class,
 *    the agent's own process, cgroup filter through a per-CPU membership cache, namespace
 *    filter through a per-CPU per-task cache) with one helper call (the current task),
 *    fills the record header and runs the handler (open inline, the others through tail
 *    calls). Arguments are read from the saved user registers at exit: the kernel does not
 *    modify them while serving the syscalls handled here (a successful execve replaces
 *    them, so exec is reported from sched_process_exec and only failed execs from here).
 *    Reading user strings at exit also means the pages were just touched by the syscall
 *    itself and are resident.
 *  - raw_tracepoint/sys_exit (palisade-raw.bpf.o, built from this file with
 *    -DPAL_RAW_SYSCALLS): the same dispatcher and handlers for a plain raw tracepoint
 *    (registers and task fields through CO-RE probe reads), for kernels that refuse tp_btf.
 *    The loader loads one object or the other.
 *  - 32-bit (ia32) syscalls: a compat task (TS_COMPAT in thread_info.status: an ia32
 *    process, or int 0x80 from 64-bit code) reaches sys_exit with ia32 numbers and its
 *    arguments in bx, cx, dx, si, di, bp. The dispatcher reads the status only for numbers
 *    that are ours in the ia32 or the x86-64 table, maps the numbers of every call reported here to
 *    their x86-64 numbers (hdr.syscall) and flags the record PAL_F_COMPAT; socketcall(2)'s
 *    socket/bind/connect/listen/accept/accept4 are decoded from its argument array in user
 *    memory (PAL_F_SOCKETCALL). Other compat syscalls are not reported (the `syscall` class
 *    lists x86-64 numbers).
 *
 * Cost (tp_btf build): every helper call costs 30-170 ns on these VMs (SRSO safe-RET and
 * retpolines make each kernel call and return expensive), so the hot paths read kernel memory
 * with direct loads wherever the verifier allows it: the current task's fields, the header's
 * slow path, the namespace filter's miss path, the dentry walk, fd tables and sockets (kernel
 * pointers obtained as numbers are cast to their BTF type with bpf_rdonly_cast, see KCAST).
 * A captured absolute-path open makes 4-5 helper calls (current task, clock, path, ring
 * output, and a ring query once per wakeup_bytes/16 bytes per CPU). The raw build keeps CO-RE
 * probe reads (kernels that refuse tp_btf may also lack bpf_rdonly_cast).
 *
 * Invariants: every record goes into the one ring buffer `events` through emit(), which
 * counts it as emitted or dropped (per CPU, atomically) — nothing is lost uncounted once a
 * hook decided to report. Records are assembled in a per-CPU scratch buffer. The cgroup and
 * namespace membership caches are invalidated by every bpf(2) syscall exit (see cg_cache).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_HALF 4096      /* dentry walk writes backwards into path[0, PATH_HALF) */
#define PATH_DEPTH 48       /* max path components (and mount crossings) walked */
#define ARGV_MAX_N 32       /* failed exec: argv entries read */
#define ARG_MAX_LEN 512     /* failed exec: bytes per argv entry */
#define AT_FDCWD_ -100
#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define AF_UNIX_ 1
#define AF_INET_ 2
#define AF_INET6_ 10
#define AT_REMOVEDIR_ 0x200
#define TS_COMPAT_ 0x0002 /* arch/x86/include/asm/thread_info.h: 32-bit syscall active */
#define PF_KTHREAD_ 0x00200000 /* include/linux/sched.h */

/* Cost breakdown for bench/collector/floor.ts, which builds this file with
 * -DPAL_BENCH_STAGE=N to time a captured openat up to stage N and no further: 1 = the filter
 * passed, 2 = the header filled, 3 = the path read, 4 = everything but the ring output; and
 * with -DPAL_BENCH_NO_CLOCK, every stage but the clock read (time 0). Neither is ever
 * defined for the objects Palisade loads (bpf/Makefile). */
#ifdef PAL_BENCH_STAGE
#define BENCH_STAGE(n, ...) do { if (PAL_BENCH_STAGE == (n)) return __VA_ARGS__; } while (0)
#else
#define BENCH_STAGE(n, ...) do { } while (0)
#endif
#ifdef PAL_BENCH_NO_CLOCK
#define boot_ns() 0
#else
#define boot_ns() bpf_ktime_get_boot_ns()
#endif

/* An offset into the record masked in a way the compiler cannot drop: the verifier then
 * knows it is < PAL_RECORD_MAX (clang otherwise removes a mask it can prove redundant and
 * the verifier, which checked a copy of the register, rejects the access). */
static __always_inline __u64 evoff(__u64 v)
{
	asm volatile("%[v] &= 0x3fff" : [v] "+r"(v));
	return v;
}
#define EVOFF(x) evoff(x)
static __always_inline __u64 mask127(__u64 v)
{
	asm volatile("%[v] &= 0x7f" : [v] "+r"(v));
	return v;
}
_Static_assert(PAL_RECORD_MAX == 0x4000, "evoff mask");

struct scratch {
	char ev[PAL_RECORD_MAX];
	char path[PATH_HALF * 2];
};

/* Kernel batches: emit() appends a record (padded to 8 bytes) to its CPU's batch and the
 * batch goes to the ring as one ring record, so bpf_ringbuf_output (~170 ns here) and the
 * emitted counter are paid once per batch instead of once per record. See emit() for when a
 * batch is flushed. */
#define KBATCH_MAX 8192     /* the largest batch; pal_config.batch_bytes is capped to it */
#define KBATCH_REC_MAX 2048 /* a record this long or longer goes to the ring alone */
#define KBATCH_BLOCK 64     /* emit() copies records into the batch in blocks of this size */
struct kbatch {
	__u32 used;        /* bytes in buf */
	__u32 n;           /* records in buf */
	__u32 busy;        /* emit() is appending on this CPU: a flush from the tick waits */
	__u32 flush_asked; /* the tick found the batch busy: emit() flushes when done */
	__u32 wake_since;  /* bytes written to the ring from this CPU since the last ring query */
	__u32 wake_above;  /* consecutive queries on this CPU that found the watermark reached */
	char buf[KBATCH_MAX + KBATCH_REC_MAX + KBATCH_BLOCK];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the loader sets the configured size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_config);
} pal_config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kbatch);
} kbatch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} pal_cgroups SEC(".maps");

/* namespace filter set: PAL_NS_KEY(PAL_NS_MNT or PAL_NS_PID, inode) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} pal_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pal_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u8);
} pal_syscalls SEC(".maps");

enum handler_id {
	H_OPEN, H_UNLINK, H_RENAME, H_CHMOD, H_CHOWN, H_EXECFAIL,
	H_SOCKET, H_CONNECT, H_ACCEPT, H_BIND, H_LISTEN, H_SYSCALL, H_MAX,
};

/* Per-CPU cache of pal_cgroups membership, so that the common case (the same few cgroups
 * running on a CPU) costs no hash-map call (a map lookup call costs ~60 ns on this VM).
 * Entries are valid only while cg_gen is unchanged. cg_gen is bumped at the exit of every
 * bpf(2) syscall (any process), and user space changes pal_cgroups only through bpf(2): once the agent's map update returns, every CPU sees the new generation
 * and misses. An event racing a filter change may be judged by either state (as it could
 * be without the cache). cg_gen is read before the map lookup, so an entry filled from a
 * lookup that raced an update carries the old generation and is never used. */
#define CG_SLOTS 32
#define NR_BPF 321
struct cg_slot {
	__u64 cgid;
	__u32 gen;
	__u32 hit;
};
struct cg_cache {
	struct cg_slot slot[CG_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_cache);
} cg_cache_map SEC(".maps");

volatile __u32 cg_gen = 0;

static __always_inline int cgroup_listed(__u64 cgid)
{
	__u32 zero = 0, gen = cg_gen;
	struct cg_cache *cc = bpf_map_lookup_elem(&cg_cache_map, &zero);
	struct cg_slot *sl;
	int hit;

	if (!cc)
		return bpf_map_lookup_elem(&pal_cgroups, &cgid) != 0;
	sl = &cc->slot[cgid & (CG_SLOTS - 1)];
	if (sl->cgid == cgid && sl->gen == gen)
		return sl->hit;
	hit = bpf_map_lookup_elem(&pal_cgroups, &cgid) != 0;
	sl->cgid = cgid;
	sl->gen = gen;
	sl->hit = hit;
	return hit;
}

/* Per-CPU cache of namespace-set membership per task: the verdict depends only on the
 * task's mount namespace (nsproxy) and its own pid namespace (fixed for a task's life), so
 * an entry is valid while the task pointer, its tid, its nsproxy pointer and cg_gen (see
 * above: bumped after every bpf(2) call, so a filter change is seen at once) are unchanged.
 * A miss costs about 8 probe reads and up to 2 hash lookups. */
#define NS_SLOTS 32
struct ns_slot {
	__u64 task;
	__u64 nsproxy;
	__u32 tid;
	__u32 gen;
	__u32 hit;
	__u32 _pad;
};
struct ns_cache {
	struct ns_slot slot[NS_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ns_cache);
} ns_cache_map SEC(".maps");

static __always_inline int ns_inums_listed(__u32 mnt, __u32 pidns)
{
	__u64 k = PAL_NS_KEY(PAL_NS_MNT, mnt);

	if (bpf_map_lookup_elem(&pal_ns, &k))
		return 1;
	k = PAL_NS_KEY(PAL_NS_PID, pidns);
	return bpf_map_lookup_elem(&pal_ns, &k) != 0;
}

/* numbers[lvl] of a struct pid (tp_btf: `p` is a BTF pointer): its nr, its namespace (as a
 * number, for comparisons) and that namespace's inode. The verifier allows only constant
 * offsets into a BTF object, so the usual levels (0: host, 1: a container, 2-3: nested) are
 * direct loads; deeper ones take probe reads. barrier_var() in each branch keeps clang from
 * merging the branches into one load through a selected pointer, which the verifier refuses. */
#define UPID_BTF(k)                                                                    \
	case k: {                                                                      \
		struct pid_namespace *kns = p->numbers[k].ns;                          \
		__u32 knr = p->numbers[k].nr, ki = inum ? kns->ns.inum : 0;            \
		barrier_var(knr);                                                      \
		barrier_var(kns);                                                      \
		barrier_var(ki);                                                       \
		*nr = knr;                                                             \
		*ns = (__u64)kns;                                                      \
		if (inum)                                                              \
			*inum = ki;                                                    \
		return;                                                                \
	}
static __always_inline void upid_btf(struct pid *p, unsigned int lvl, __u32 *nr, __u64 *ns,
				     __u32 *inum)
{
	struct pid_namespace *pns = 0;
	__u32 pnr = 0, pi = 0;

	switch (lvl) {
	UPID_BTF(0)
	UPID_BTF(1)
	UPID_BTF(2)
	UPID_BTF(3)
	}
	bpf_core_read(&pnr, sizeof(pnr), &p->numbers[lvl & 31].nr);
	bpf_core_read(&pns, sizeof(pns), &p->numbers[lvl & 31].ns);
	if (inum)
		pi = BPF_CORE_READ(pns, ns.inum);
	barrier_var(pnr);
	barrier_var(pns);
	barrier_var(pi);
	*nr = pnr;
	*ns = (__u64)pns;
	if (inum)
		*inum = pi;
}

/* the task's own pid namespace: that of its pid at the pid's level */
static __always_inline __u32 task_pidns_inum(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level & 31]);
	return BPF_CORE_READ(up.ns, ns.inum);
}

/* Is the current task `t` in the namespace set? On a miss, tp_btf (`raw` = 0: `t` is a BTF
 * pointer) reads the namespaces with direct loads, the raw build with CO-RE probe reads. */
static __always_inline int ns_task_listed(struct task_struct *t, __u32 tid, __u64 nsproxy,
					  const int raw)
{
	__u32 zero = 0, gen = cg_gen;
	struct ns_cache *nc = bpf_map_lookup_elem(&ns_cache_map, &zero);
	struct ns_slot *sl;
	__u32 mnt, pidns;
	int hit;

	if (nc) {
		sl = &nc->slot[tid & (NS_SLOTS - 1)];
		if (sl->task == (__u64)t && sl->tid == tid && sl->nsproxy == nsproxy && sl->gen == gen)
			return sl->hit;
	}
	if (raw) {
		mnt = BPF_CORE_READ((struct nsproxy *)nsproxy, mnt_ns, ns.inum);
		pidns = task_pidns_inum(t);
	} else {
		struct pid *p = t->thread_pid;
		__u32 nr = 0;
		__u64 ns = 0;
		mnt = t->nsproxy->mnt_ns->ns.inum;
		pidns = 0;
		upid_btf(p, p->level, &nr, &ns, &pidns);
	}
	hit = ns_inums_listed(mnt, pidns);
	if (nc) {
		sl->task = (__u64)t;
		sl->tid = tid;
		sl->nsproxy = nsproxy;
		sl->gen = gen;
		sl->hit = hit;
	}
	return hit;
}

/* the namespace filter on a filled header (process-life events: not a hot path) */
static __always_inline int ns_pass_hdr(const struct pal_config *c, const struct pal_hdr *h)
{
	int hit;

	if (c->ns_mode == PAL_NS_ALL)
		return 1;
	hit = ns_inums_listed(h->mnt_ns, h->pid_ns);
	return c->ns_mode == PAL_NS_ONLY ? hit : !hit;
}

static __always_inline void count_n(__u32 idx, __u32 n)
{
	__u64 *v = bpf_map_lookup_elem(&pal_counters, &idx);
	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void count(__u32 idx)
{
	count_n(idx, 1);
}

/* The filter: returns the config when the event should be reported. */
static __always_inline struct pal_config *wanted(__u32 class, __u64 cgid, __u32 tgid)
{
	__u32 zero = 0;
	struct pal_config *c = bpf_map_lookup_elem(&pal_config_map, &zero);
	if (!c || !(c->classes & class))
		return 0;
	if (tgid == c->agent_tgid)
		goto filtered;
	if (c->cgroup_mode != PAL_CGROUP_ALL) {
		__u8 *hit = bpf_map_lookup_elem(&pal_cgroups, &cgid);
		if (c->cgroup_mode == PAL_CGROUP_ONLY && !hit)
			goto filtered;
		if (c->cgroup_mode == PAL_CGROUP_EXCEPT && hit)
			goto filtered;
	}
	return c;
filtered:
	count(PAL_CNT_FILTERED);
	return 0;
}

static __always_inline struct pal_config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&pal_config_map, &zero);
}

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline struct kbatch *get_kbatch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&kbatch_map, &zero);
}

/* Wake-up policy. Ring records are written with BPF_RB_NO_WAKEUP; the consumer drains every
 * pollMs and is woken early when the pending data reaches the watermark (wakeup_bytes; 0:
 * every record wakes it). Asking the ring how much is pending is a helper call (~30 ns here),
 * so each CPU asks only once per wakeup_bytes/16 bytes it wrote (WAKE_SAMPLES per watermark):
 * a query that finds the watermark reached forces a wake-up if the previous query on this CPU
 * did not (the crossing), and again every WAKE_SAMPLES queries while it stays reached (a
 * consumer that drained and went back to sleep in between is woken at the latest after
 * another wakeup_bytes from this CPU; before that, its poll timeout catches it). Forcing a
 * wake-up on every record while above the watermark cost ~2.5 us per record here. */
#define WAKE_SAMPLES 16

/* Writes one ring record (`nrec` records: one, or a batch) and counts them all as emitted or
 * all as dropped. */
static __always_inline void ring_out(const struct pal_config *c, struct kbatch *b, void *data,
				     __u64 size, __u32 nrec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!c || c->wakeup_bytes == 0) {
		flags = BPF_RB_FORCE_WAKEUP;
	} else {
		__u32 w = c->wakeup_bytes, since = b->wake_since + size + 8;

		if (since < w / WAKE_SAMPLES) {
			b->wake_since = since;
		} else {
			__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

			b->wake_since = 0;
			if (avail + size + 8 >= w) {
				if (b->wake_above % WAKE_SAMPLES == 0)
					flags = BPF_RB_FORCE_WAKEUP;
				b->wake_above++;
			} else {
				b->wake_above = 0;
			}
		}
	}
	BENCH_STAGE(4);
	if (bpf_ringbuf_output(&events, data, size, flags))
		count_n(PAL_CNT_DROPPED, nrec);
	else
		count_n(PAL_CNT_EMITTED, nrec);
}

/* Sends this CPU's batch, if it holds anything, as one ring record. */
static __always_inline void kb_flush(const struct pal_config *c, struct kbatch *b)
{
	__u64 used = b->used;

	asm volatile("%[v] &= 0x3fff" : [v] "+r"(used));
	if (used == 0 || used > sizeof(b->buf))
		return;
	ring_out(c, b, b->buf, used, b->n);
	b->used = 0;
	b->n = 0;
}

/* Reports the record assembled in s->ev (size bytes).
 * Batching (pal_config.batch_bytes > 0): file, network, syscall and capability records are
 * appended to this CPU's batch, each at an 8-byte aligned offset (hdr.size stays the record's
 * own length); a ring record then holds one or more records back to back. The batch goes to
 * the ring when the next record does not fit, before any process record (exec, fork, exit:
 * those always go alone, so they keep their order against every other record), when the task
 * switches out (on_sched_switch: a task's records are in the batch of the CPU it runs on, and
 * it cannot run elsewhere before switching out, so its own records stay in order) and on every
 * timer tick (on_tick; 4 ms at HZ=250): a record waits at most one tick. Records of unrelated
 * tasks can swap by at most that. A batch that fails to fit in the ring counts all its records
 * as dropped. An append is not reentrant: a tick interrupting it only asks for the flush, and
 * a record emitted by a program nested in it (an interrupt) goes to the ring alone. */
static __always_inline void emit(struct scratch *s, __u32 size)
{
	struct pal_config *c = get_config();
	struct kbatch *b = get_kbatch();
	struct pal_hdr *h = (void *)s->ev;
	__u32 cap, asize;
	__u64 u, n;

	if (size < sizeof(struct pal_hdr) || size >= PAL_RECORD_MAX || !b)
		return;
	size = evoff(size); /* unchanged (< PAL_RECORD_MAX); tells the verifier so */
	h->size = size;
	cap = c && c->wakeup_bytes ? c->batch_bytes : 0; /* every record wakes: none waits */
	if (cap > KBATCH_MAX)
		cap = KBATCH_MAX;
	asize = (size + 7) & ~7u;
	if (b->busy || asize > cap || size >= KBATCH_REC_MAX || h->kind <= PAL_KIND_EXIT) {
		if (!b->busy)
			kb_flush(c, b);
		ring_out(c, b, s->ev, size, 1);
		return;
	}
	b->busy = 1;
	if (b->used + asize > cap)
		kb_flush(c, b);
	u = b->used;
	asm volatile("%[v] &= 0x1fff" : [v] "+r"(u)); /* < KBATCH_MAX: used + asize <= cap */
	/* copied in 64-byte blocks by the program itself (a bpf_probe_read_kernel call costs
	 * more than the copy); the last block may copy up to 63 bytes past the record, into the
	 * batch's slack, which the next record overwrites or the flush leaves out */
	for (n = 0; n < KBATCH_REC_MAX; n += KBATCH_BLOCK) {
		if (n >= size)
			break;
		__builtin_memcpy(&b->buf[u + n], &s->ev[n], KBATCH_BLOCK);
	}
	b->used = u + asize;
	b->n++;
	b->busy = 0;
	if (b->flush_asked) {
		b->flush_asked = 0;
		kb_flush(c, b);
	}
}

/* The batch flushes that do not come from emit() itself. Neither runs inside an emit() on
 * its CPU except the tick (an interrupt), which then leaves the flush to it. */
static __always_inline int kb_flush_here(__u32 counter)
{
	struct kbatch *b = get_kbatch();

	if (!b || b->used == 0)
		return 0;
	if (b->busy) {
		b->flush_asked = 1;
		return 0;
	}
	kb_flush(get_config(), b);
	count(counter);
	return 0;
}

SEC("raw_tracepoint/sched_switch")
int on_sched_switch(void *ctx)
{
	return kb_flush_here(PAL_CNT_FLUSH_SWITCH);
}

SEC("raw_tracepoint/local_timer_entry")
int on_tick(void *ctx)
{
	return kb_flush_here(PAL_CNT_FLUSH_TICK);
}

/* tgid of a task's group leader as seen from its own pid namespace */
static __always_inline __u32 leader_ns_pid(struct task_struct *t, unsigned int *level_out,
					   struct pid_namespace **ns_out)
{
	struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	if (level_out)
		*level_out = level;
	if (ns_out)
		*ns_out = up.ns;
	return up.nr;
}

static __always_inline __u32 ns_tid_of(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	return up.nr;
}

/* the parent's tgid at the child's pid-namespace level, 0 when the parent is outside it */
static __always_inline __u32 parent_ns_pid(struct task_struct *parent, unsigned int level,
					   struct pid_namespace *ns)
{
	struct pid *p = BPF_CORE_READ(parent, group_leader, thread_pid);
	unsigned int plevel = BPF_CORE_READ(p, level);
	struct upid up = {};

	if (plevel < level || level > 31)
		return 0;
	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	return up.ns == ns ? up.nr : 0;
}

/* Per-CPU cache of the header fields that take pointer chasing (about 16 reads) for the
 * last task seen on this CPU. Valid only while the task, its tid, its real_parent and its
 * nsproxy pointers are unchanged: then ppid, the namespace pids and inodes and the start
 * time cannot have changed either (a task's own pid namespace never changes; setns and
 * unshare replace nsproxy; reparenting replaces real_parent). exec refreshes it (de_thread
 * can change the leader). Checking costs 2 reads instead of 16. */
struct hdr_cache {
	__u64 task;
	__u64 parent;
	__u64 nsproxy;
	__u64 start_ns;
	__u32 tid;
	__u32 ppid;
	__u32 ns_pid;
	__u32 ns_tid;
	__u32 ns_ppid;
	__u32 mnt_ns;
	__u32 pid_ns;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hdr_cache);
} hdr_cache_map SEC(".maps");

/* stores the per-task header fields just filled, for hdr_from_cache() (hc may be null) */
static __always_inline void hdr_to_cache(struct hdr_cache *hc, const struct pal_hdr *h, const void *t,
					 const void *parent, const void *nsproxy)
{
	if (!hc)
		return;
	hc->task = (__u64)t;
	hc->tid = h->tid;
	hc->parent = (__u64)parent;
	hc->nsproxy = (__u64)nsproxy;
	hc->start_ns = h->start_ns;
	hc->ppid = h->ppid;
	hc->ns_pid = h->ns_pid;
	hc->ns_tid = h->ns_tid;
	hc->ns_ppid = h->ns_ppid;
	hc->mnt_ns = h->mnt_ns;
	hc->pid_ns = h->pid_ns;
}

/* the fields of fill_hdr() that take pointer chasing; refreshes the cache entry hc */
static __always_inline void fill_hdr_slow(struct pal_hdr *h, struct task_struct *t,
					  struct task_struct *parent, void *nsproxy,
					  struct hdr_cache *hc)
{
	struct pid_namespace *pidns = 0;
	unsigned int level = 0;

	h->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	h->ppid = BPF_CORE_READ(parent, tgid);
	h->ns_pid = leader_ns_pid(t, &level, &pidns);
	h->ns_tid = ns_tid_of(t);
	h->ns_ppid = parent_ns_pid(parent, level, pidns);
	h->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	h->pid_ns = BPF_CORE_READ(pidns, ns.inum);
	hdr_to_cache(hc, h, t, parent, nsproxy);
}

/* Fills the per-task part of the header from this CPU's cache when the cache holds the same
 * task (and thread, parent and namespaces); exec always refills it. Returns 1 on a hit. */
static __always_inline int hdr_from_cache(struct pal_hdr *h, const struct hdr_cache *hc, const void *t,
					  const void *parent, const void *nsproxy, __u16 kind)
{
	if (!hc || kind == PAL_KIND_EXEC || hc->task != (__u64)t || hc->tid != h->tid ||
	    hc->parent != (__u64)parent || hc->nsproxy != (__u64)nsproxy)
		return 0;
	h->start_ns = hc->start_ns;
	h->ppid = hc->ppid;
	h->ns_pid = hc->ns_pid;
	h->ns_tid = hc->ns_tid;
	h->ns_ppid = hc->ns_ppid;
	h->mnt_ns = hc->mnt_ns;
	h->pid_ns = hc->pid_ns;
	return 1;
}

/* The header for the raw tracepoints (process life). parent and nsproxy are t->real_parent
 * and t->nsproxy, read by the caller (nsproxy is unused when !is_current). The syscall path
 * uses fill_hdr_task() instead. */
static __always_inline void fill_hdr(struct pal_hdr *h, struct task_struct *t, int is_current,
				     __u16 kind, __u32 syscall_nr, struct task_struct *parent,
				     void *nsproxy)
{
	struct hdr_cache *hc = 0;

	h->kind = kind;
	h->abi = PAL_ABI_VERSION;
	h->flags = 0;
	h->size = 0;
	h->ts_ns = boot_ns();
	if (is_current) {
		__u64 ug = bpf_get_current_uid_gid();
		__u64 pt = bpf_get_current_pid_tgid();
		h->cgroup_id = bpf_get_current_cgroup_id();
		h->uid = (__u32)ug;
		h->gid = ug >> 32;
		h->pid = pt >> 32;
		h->tid = (__u32)pt;
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	} else {
		h->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
		h->uid = BPF_CORE_READ(t, cred, uid.val);
		h->gid = BPF_CORE_READ(t, cred, gid.val);
		h->pid = BPF_CORE_READ(t, tgid);
		h->tid = BPF_CORE_READ(t, pid);
		BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
	}
	h->ret = 0;
	h->syscall = syscall_nr;
	if (is_current) {
		__u32 zero = 0;
		hc = bpf_map_lookup_elem(&hdr_cache_map, &zero);
		if (hdr_from_cache(h, hc, t, parent, nsproxy, kind))
			return;
	}
	fill_hdr_slow(h, t, parent, nsproxy, hc);
}

/* fill_hdr_slow() for the tp_btf dispatcher: the same fields by direct loads (a few ns each)
 * instead of ~16 probe reads (~60 ns each on this VM), so that a task switch on a CPU (a miss
 * of the per-CPU cache) stays cheap. A fault in a load reads 0, as a failed probe read did. */
static __always_inline void fill_hdr_slow_btf(struct pal_hdr *h, struct task_struct *t,
					      struct task_struct *parent, struct nsproxy *nsproxy,
					      struct hdr_cache *hc)
{
	struct task_struct *leader = t->group_leader;
	struct pid *lp = leader->thread_pid, *tp = t->thread_pid, *pp;
	unsigned int level = lp->level;
	__u64 pidns = 0, pns = 0;
	__u32 nr = 0, pnr = 0, inum = 0;

	h->start_ns = leader->start_boottime;
	h->ppid = parent->tgid;
	upid_btf(lp, level, &nr, &pidns, &inum);
	h->ns_pid = nr;
	h->pid_ns = inum;
	upid_btf(tp, tp->level, &nr, &pns, 0);
	h->ns_tid = nr;
	pp = parent->group_leader->thread_pid;
	h->ns_ppid = 0;
	if (pp->level >= level && level <= 31) {
		upid_btf(pp, level, &pnr, &pns, 0);
		if (pns == pidns)
			h->ns_ppid = pnr;
	}
	h->mnt_ns = nsproxy->mnt_ns->ns.inum;
	hdr_to_cache(hc, h, t, parent, nsproxy);
}

/* The syscall dispatcher's header fill for the current task `t` (a BTF pointer from
 * bpf_get_current_task_btf()): the same fields as fill_hdr(t, is_current = 1), read with
 * direct loads instead of helper calls (30-60 ns each on this VM); only the clock is a
 * helper call. A cache miss takes fill_hdr_slow_btf() (direct loads too). */
static __always_inline void fill_hdr_task(struct pal_hdr *h, struct task_struct *t, __u16 kind,
					  __u32 syscall_nr, __u64 cgroup_id)
{
	const struct cred *cr = t->cred;
	struct task_struct *parent = t->real_parent;
	struct nsproxy *nsproxy = t->nsproxy;
	struct hdr_cache *hc;
	__u32 zero = 0;

	h->kind = kind;
	h->abi = PAL_ABI_VERSION;
	h->flags = 0;
	h->size = 0;
	h->ts_ns = boot_ns();
	h->cgroup_id = cgroup_id;
	h->uid = cr->uid.val;
	h->gid = cr->gid.val;
	h->pid = t->tgid;
	h->tid = t->pid;
	/* comm is NUL-terminated and zero-padded by the kernel (strscpy_pad) */
	*(__u64 *)&h->comm[0] = *(__u64 *)&t->comm[0];
	*(__u64 *)&h->comm[8] = *(__u64 *)&t->comm[8];
	h->ret = 0;
	h->syscall = syscall_nr;
	hc = bpf_map_lookup_elem(&hdr_cache_map, &zero);
	if (hdr_from_cache(h, hc, t, parent, nsproxy, kind))
		return;
	fill_hdr_slow_btf(h, t, parent, nsproxy, hc);
}

struct walk_ctx {
	struct dentry *d;
	struct vfsmount *vm;
	struct mount *m;
	struct dentry *root_d;
	struct vfsmount *root_m;
	__u32 off;
	__u16 flags;
	__u16 done;
};

#ifndef PAL_RAW_SYSCALLS
/* tp_btf build: kernel pointers from probe reads are cast to BTF types (bpf_rdonly_cast, a
 * kfunc the verifier turns into a plain move; Linux 6.2+, which tp_btf objects need here
 * anyway) so that their fields are read with direct loads (faulting loads read 0) instead of
 * one probe read each (~60 ns on this VM). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KCAST(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))
#endif

/* one step of the dentry walk (a bpf_loop callback: verified once, not per iteration) */
static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct scratch *s = get_scratch();
	struct dentry *mnt_root, *parent, *d = w->d;
	struct vfsmount *vm = w->vm;
	struct mount *m = w->m;
	const unsigned char *name;
	__u32 len, off = w->off;

	if (!s || off > PATH_HALF)
		return 1;
	if (d == w->root_d && vm == w->root_m)
		goto done;
#ifdef PAL_RAW_SYSCALLS
	mnt_root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
#else
	mnt_root = vm->mnt_root;
	parent = d->d_parent;
#endif
	if (d == mnt_root || d == parent) {
#ifdef PAL_RAW_SYSCALLS
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (m == mp || !mp)
			goto done; /* the top of this mount tree */
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		w->vm = &mp->mnt;
#else
		struct mount *mp = m->mnt_parent;
		if (m == mp || !mp)
			goto done; /* the top of this mount tree */
		w->d = m->mnt_mountpoint;
		w->m = mp;
		w->vm = KCAST(struct vfsmount, &mp->mnt);
#endif
		return 0;
	}
#ifdef PAL_RAW_SYSCALLS
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
#else
	len = d->d_name.len;
	name = d->d_name.name;
#endif
	if (len > 255)
		len = 255;
	if (len + 1 > off) {
		w->flags |= PAL_F_TRUNCATED;
		goto done;
	}
	off -= len + 1;
	bpf_probe_read_kernel(&s->path[(off + 1) & (PATH_HALF - 1)], len & 255, name);
	s->path[off & (PATH_HALF - 1)] = '/';
	w->off = off;
	w->d = parent;
	return 0;
done:
	w->done = 1;
	return 1;
}

/* Writes the path of (dentry, vfsmount) as "/a/b/c" into s->path ending at PATH_HALF and
 * returns its start offset; returns PATH_HALF when the path is the root itself. Stops at
 * the task's root (chroot, container rootfs), so paths are as the task sees them. */
static __always_inline __u32 walk_path(struct scratch *s, struct dentry *d, struct vfsmount *vm,
				       __u16 *flags)
{
	struct task_struct *task = (void *)bpf_get_current_task();
#ifdef PAL_RAW_SYSCALLS
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct walk_ctx w = {
		.d = d,
		.vm = vm,
		.m = container_of(vm, struct mount, mnt),
		.root_d = BPF_CORE_READ(fs, root.dentry),
		.root_m = BPF_CORE_READ(fs, root.mnt),
		.off = PATH_HALF,
	};
#else
	struct fs_struct *fsb = KCAST(struct task_struct, task)->fs;
	struct walk_ctx w = {
		.d = KCAST(struct dentry, d),
		.vm = KCAST(struct vfsmount, vm),
		.m = KCAST(struct mount, (__u64)vm - bpf_core_field_offset(struct mount, mnt)),
		.root_d = fsb->root.dentry,
		.root_m = fsb->root.mnt,
		.off = PATH_HALF,
	};
#endif

	bpf_loop(PATH_DEPTH, walk_step, &w, 0);
	if (!w.done)
		w.flags |= PAL_F_TRUNCATED;
	*flags |= w.flags;
	return w.off > PATH_HALF ? PATH_HALF : w.off;
}

/* Copies s->path[start, end) into the record at pos; returns the new pos. */
static __always_inline __u32 put_path(struct scratch *s, __u32 pos, __u32 start, __u32 end,
				      __u16 *len_out, __u16 *flags)
{
	__u32 len;

	if (start >= end) {
		/* the root: "/" */
		if (pos < PAL_RECORD_MAX - 1)
			s->ev[EVOFF(pos)] = '/';
		*len_out = 1;
		return pos + 1;
	}
	len = end - start;
	if (len > PAL_PATH_MAX - 1) {
		len = PAL_PATH_MAX - 1;
		*flags |= PAL_F_TRUNCATED;
	}
	if (pos > PAL_RECORD_MAX - PAL_PATH_MAX)
		return pos;
	bpf_probe_read_kernel(&s->ev[EVOFF(pos)], len & (PAL_PATH_MAX - 1), &s->path[start & (2 * PATH_HALF - 1)]);
	*len_out = len;
	return pos + len;
}

static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct fdtable *fdt;
	struct file **arr;
	struct file *f = 0;

	if (fd < 0)
		return 0;
#ifdef PAL_RAW_SYSCALLS
	fdt = BPF_CORE_READ(t, files, fdt);
	if ((unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	arr = BPF_CORE_READ(fdt, fd);
#else
	fdt = KCAST(struct task_struct, t)->files->fdt;
	if ((unsigned int)fd >= fdt->max_fds)
		return 0;
	arr = fdt->fd; /* a pointer to pointers: a number to the verifier, read below */
#endif
	bpf_core_read(&f, sizeof(f), &arr[fd]);
	return f;
}

/* Appends the absolute form of user path `upath` (relative to dirfd) at pos and returns the
 * bytes written. An empty user path means the dirfd itself (AT_EMPTY_PATH). `have` > 0: the
 * caller already read the path (`have` bytes with its NUL) into the record at pos; it is
 * copied from there (a kernel copy) instead of read from user memory again. A global
 * function: the verifier checks it once with unknown arguments instead of once per caller
 * state, which keeps the handlers far below the complexity limit. Flags go into the header. */
__noinline int g_user_path(struct scratch *s, __u32 pos, int dirfd, __u64 upath, int have)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct pal_hdr *h;
	__u16 len = 0;
	__u32 start, end, npos;
	long n;

	if (!s)
		return 0;
	h = (void *)s->ev;
	if (have > 0 && have <= PATH_HALF - 1 && pos < PAL_RECORD_MAX) {
		__u64 hv = have;
		asm volatile("%[v] &= 0xfff" : [v] "+r"(hv)); /* unchanged; bounds it for the verifier */
		if (bpf_probe_read_kernel(&s->path[PATH_HALF + 1], hv, &s->ev[EVOFF(pos)]))
			return 0;
		n = hv;
	} else {
		n = bpf_probe_read_user_str(&s->path[PATH_HALF + 1], PATH_HALF - 1, (const void *)upath);
	}
	if (n <= 0)
		return 0;
	end = PATH_HALF + n; /* exclusive; drops the NUL */
	if (s->path[PATH_HALF + 1] == '/') {
		npos = put_path(s, pos, PATH_HALF + 1, end, &len, &h->flags);
		return len;
	}
	h->flags |= PAL_F_RELATIVE;
	if (dirfd == AT_FDCWD_) {
#ifdef PAL_RAW_SYSCALLS
		struct fs_struct *fs = BPF_CORE_READ(t, fs);
		start = walk_path(s, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), &h->flags);
#else
		struct fs_struct *fs = KCAST(struct task_struct, t)->fs;
		start = walk_path(s, fs->pwd.dentry, fs->pwd.mnt, &h->flags);
#endif
	} else {
		struct file *f = fd_file(t, dirfd);
		if (!f) {
			h->flags |= PAL_F_DIRFD_UNRESOLVED;
			npos = put_path(s, pos, PATH_HALF + 1, end, &len, &h->flags);
			return len;
		}
		start = walk_path(s, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), &h->flags);
	}
	if (n == 1) { /* empty path: the directory itself */
		npos = put_path(s, pos, start, PATH_HALF, &len, &h->flags);
		return len;
	}
	s->path[PATH_HALF] = '/';
	npos = put_path(s, pos, start, end, &len, &h->flags);
	(void)npos;
	return len;
}

/* Appends the absolute path of an open file at pos; returns the bytes written. */
__noinline int g_file_path(struct scratch *s, __u32 pos, __u64 file)
{
	struct file *f = (void *)file;
	struct pal_hdr *h;
	__u16 len = 0;
	__u32 start;

	if (!s || !f)
		return 0;
	h = (void *)s->ev;
	start = walk_path(s, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), &h->flags);
	put_path(s, pos, start, PATH_HALF, &len, &h->flags);
	return len;
}

/* Appends the absolute form of user path `upath` at pos. The path is read straight into the
 * record (one helper call); an absolute one is done. A relative or empty one is joined by
 * g_user_path(), which copies what was read (a record already too long for a direct read:
 * g_user_path() reads it). */
static __always_inline __u32 put_user_path(struct scratch *s, __u32 pos, int dirfd,
					   const char *upath, __u16 *len_out, __u16 *flags)
{
	int n;

	if (pos <= PAL_RECORD_MAX - PAL_PATH_MAX) {
		__u32 at = EVOFF(pos);
		n = bpf_probe_read_user_str(&s->ev[at], PAL_PATH_MAX, upath);
		if (n <= 0) {
			*len_out = 0;
			return pos;
		}
		if (s->ev[at] == '/') {
			if (n == PAL_PATH_MAX)
				*flags |= PAL_F_TRUNCATED;
			*len_out = n - 1; /* without the NUL */
			return pos + n - 1;
		}
		n = g_user_path(s, pos, dirfd, (__u64)upath, n); /* relative: joined, not read again */
	} else {
		n = g_user_path(s, pos, dirfd, (__u64)upath, 0);
	}

	if (n < 0 || n > PAL_PATH_MAX)
		n = 0;
	*len_out = n;
	return pos + n;
}

/* put_user_path() without the direct read: keeps `pos` unknown to the verifier, which the
 * failed-exec handler needs (its argv loop is verified once per distinct pos otherwise) */
static __always_inline __u32 put_user_path_slow(struct scratch *s, __u32 pos, int dirfd,
						const char *upath, __u16 *len_out, __u16 *flags)
{
	int n;

	n = g_user_path(s, pos, dirfd, (__u64)upath, 0);
	if (n < 0 || n > PAL_PATH_MAX)
		n = 0;
	*len_out = n;
	return pos + n;
}

static __always_inline __u32 put_file_path(struct scratch *s, __u32 pos, struct file *f,
					   __u16 *len_out, __u16 *flags)
{
	int n = g_file_path(s, pos, (__u64)f);

	if (n < 0 || n > PAL_PATH_MAX)
		n = 0;
	*len_out = n;
	return pos + n;
}

/* ---------------------------------------------------------------- process life */

SEC("raw_tracepoint/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (void *)ctx->args[0];
	struct linux_binprm *bprm = (void *)ctx->args[2];
	struct scratch *s;
	struct pal_hdr *h;
	struct pal_exec *e;
	struct file *f;
	__u32 pos;
	long n;
	unsigned long as, ae, alen;
	struct pal_config *c;

	c = wanted(PAL_CLASS_PROCESS, bpf_get_current_cgroup_id(), bpf_get_current_pid_tgid() >> 32);
	if (!c)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	h = (void *)s->ev;
	e = (void *)(s->ev + sizeof(*h));
	fill_hdr(h, t, 1, PAL_KIND_EXEC, 0xffffffff, BPF_CORE_READ(t, real_parent), BPF_CORE_READ(t, nsproxy));
	if (!ns_pass_hdr(c, h)) {
		count(PAL_CNT_FILTERED);
		return 0;
	}
	pos = sizeof(*h) + sizeof(*e);

	n = bpf_probe_read_kernel_str(&s->ev[EVOFF(pos)], PAL_PATH_MAX, BPF_CORE_READ(bprm, filename));
	e->filename_len = n > 0 ? n - 1 : 0;
	pos += e->filename_len;

	f = BPF_CORE_READ(bprm, file);
	e->exe_ino = BPF_CORE_READ(f, f_inode, i_ino);
	if (pos > PAL_PATH_MAX + 512)
		return 0;
	pos = put_file_path(s, pos, f, &e->exe_len, &h->flags);

	as = BPF_CORE_READ(t, mm, arg_start);
	ae = BPF_CORE_READ(t, mm, arg_end);
	alen = ae > as ? ae - as : 0;
	if (alen > PAL_ARGS_MAX - 1) {
		alen = PAL_ARGS_MAX - 1;
		h->flags |= PAL_F_TRUNCATED;
	}
	e->args_len = 0;
	if (pos <= PAL_RECORD_MAX - PAL_ARGS_MAX && alen > 0 &&
	    bpf_probe_read_user(&s->ev[EVOFF(pos)], alen & (PAL_ARGS_MAX - 1), (void *)as) == 0) {
		e->args_len = alen;
		pos += alen;
	}
	e->argc = BPF_CORE_READ(bprm, argc);
	emit(s, pos);
	return 0;
}

/* The clone flags of the fork being reported. sched_process_fork fires in the parent (the
 * current task) while it serves its clone/clone3/fork/vfork syscall, whose arguments are still
 * in its saved user registers (bpf_task_pt_regs): clone's flags argument (ia32: ebx), clone3's
 * clone_args.flags read from user memory with clone_args.exit_signal in the low byte (as
 * clone(2) encodes it), SIGCHLD for fork, CLONE_VM|CLONE_VFORK|SIGCHLD for vfork; hdr.syscall
 * gets the call's x86-64 number. A fork the kernel makes on its own (kernel threads, user-mode
 * helpers, io_uring workers) has flags 0 and syscall 0xffffffff. */
static __always_inline void fork_clone_flags(struct pal_hdr *h, struct pal_fork *fk)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 nr, a0, flags = 0;
	__u32 compat, n64 = 0xffffffff;

	fk->clone_flags = 0;
	if (BPF_CORE_READ(cur, flags) & PF_KTHREAD_)
		return;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	compat = BPF_CORE_READ(cur, thread_info.status) & TS_COMPAT_;
	nr = BPF_CORE_READ(regs, orig_ax);
	a0 = compat ? (__u32)BPF_CORE_READ(regs, bx) : BPF_CORE_READ(regs, di);
	if (compat) {
		switch (nr) {
		case 120: n64 = 56; break;   /* clone */
		case 2: n64 = 57; break;     /* fork */
		case 190: n64 = 58; break;   /* vfork */
		case 435: n64 = 435; break;  /* clone3 */
		}
	} else if (nr == 56 || nr == 57 || nr == 58 || nr == 435) {
		n64 = nr;
	}
	switch (n64) {
	case 56:
		flags = compat ? (__u32)a0 : a0;
		break;
	case 57:
		flags = 17; /* SIGCHLD */
		break;
	case 58:
		flags = 0x00004000 | 0x00000100 | 17; /* CLONE_VFORK | CLONE_VM | SIGCHLD */
		break;
	case 435: {
		__u64 ca[5] = {}; /* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal */
		bpf_probe_read_user(ca, sizeof(ca), (const void *)a0);
		flags = ca[0] | (ca[4] & 0xff);
		break;
	}
	default:
		return;
	}
	fk->clone_flags = flags;
	h->syscall = n64;
}

SEC("raw_tracepoint/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	struct scratch *s;
	struct pal_fork *fk;
	struct pal_config *c;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a new thread, not a process */
	c = wanted(PAL_CLASS_PROCESS, bpf_get_current_cgroup_id(), bpf_get_current_pid_tgid() >> 32);
	if (!c)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	fill_hdr((void *)s->ev, child, 0, PAL_KIND_FORK, 0xffffffff, BPF_CORE_READ(child, real_parent), 0);
	if (!ns_pass_hdr(c, (void *)s->ev)) { /* the child's namespaces, as reported */
		count(PAL_CNT_FILTERED);
		return 0;
	}
	fk = (void *)(s->ev + sizeof(struct pal_hdr));
	fk->parent_pid = BPF_CORE_READ(parent, tgid);
	fk->parent_tid = BPF_CORE_READ(parent, pid);
	fork_clone_flags((void *)s->ev, fk);
	emit(s, sizeof(struct pal_hdr) + sizeof(*fk));
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (void *)ctx->args[0];
	struct scratch *s;
	struct pal_exit *x;
	struct pal_hdr *h;
	struct pal_config *c;

	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0; /* other threads of the process still run */
	c = wanted(PAL_CLASS_PROCESS, bpf_get_current_cgroup_id(), bpf_get_current_pid_tgid() >> 32);
	if (!c)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	h = (void *)s->ev;
	fill_hdr(h, t, 1, PAL_KIND_EXIT, 0xffffffff, BPF_CORE_READ(t, real_parent), BPF_CORE_READ(t, nsproxy));
	if (!ns_pass_hdr(c, h)) {
		count(PAL_CNT_FILTERED);
		return 0;
	}
	x = (void *)(s->ev + sizeof(*h));
	x->exit_code = BPF_CORE_READ(t, exit_code);
	x->_pad = 0;
	h->ret = x->exit_code;
	emit(s, sizeof(*h) + sizeof(*x));
	return 0;
}

/* ---------------------------------------------------------------- syscall handlers */
/* The handlers h_* carry the dispatcher's section only so that they have its program type
 * and attach target (a tail call requires both); they are reached only through the
 * `handlers` program array and must never be attached themselves: loaders attach by name
 * (on_exec, on_fork, on_exit, on_sys_exit), never with a skeleton's attach-all. */


struct sys_ctx {
	struct scratch *s;
	struct pal_hdr *h;
	__u64 a[6];      /* the syscall's arguments in order (ia32: zero-extended) */
	long ret;
	__u32 nr;        /* x86-64 syscall number (an ia32 number is mapped to it) */
	__u32 compat;    /* an ia32 syscall: user pointers and argv entries are 32-bit */
};

/* The dispatcher has already written the record header into the scratch buffer (with
 * hdr.syscall = the x86-64 number and the PAL_F_COMPAT/SOCKETCALL/UID16 flags) before the
 * tail call; a handler reads its arguments here and adds its body. `raw`: registers come
 * through one probe read (raw_tracepoint) instead of direct loads (tp_btf, where
 * ctx->args[0] is a typed struct pt_regs pointer). */
static __always_inline int sys_begin(struct bpf_raw_tracepoint_args *ctx, struct sys_ctx *c,
				     const int raw)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	__u16 flags;

	c->ret = (long)ctx->args[1];
	c->s = get_scratch();
	if (!c->s)
		return -1;
	c->h = (void *)c->s->ev;
	c->nr = c->h->syscall;
	flags = c->h->flags;
	c->compat = flags & PAL_F_COMPAT;
	if (raw) {
		struct pt_regs r = {};
		bpf_probe_read_kernel(&r, sizeof(r), regs);
		if (c->compat) {
			c->a[0] = (__u32)r.bx; c->a[1] = (__u32)r.cx; c->a[2] = (__u32)r.dx;
			c->a[3] = (__u32)r.si; c->a[4] = (__u32)r.di; c->a[5] = (__u32)r.bp;
		} else {
			c->a[0] = r.di; c->a[1] = r.si; c->a[2] = r.dx;
			c->a[3] = r.r10; c->a[4] = r.r8; c->a[5] = r.r9;
		}
	} else if (c->compat) {
		c->a[0] = (__u32)regs->bx; c->a[1] = (__u32)regs->cx; c->a[2] = (__u32)regs->dx;
		c->a[3] = (__u32)regs->si; c->a[4] = (__u32)regs->di; c->a[5] = (__u32)regs->bp;
	} else {
		c->a[0] = regs->di; c->a[1] = regs->si; c->a[2] = regs->dx;
		c->a[3] = regs->r10; c->a[4] = regs->r8; c->a[5] = regs->r9;
	}
	if (flags & PAL_F_SOCKETCALL) {
		/* socketcall(call, args): the call's arguments are an array of 32-bit values in
		 * user memory, read at exit like every user pointer here (as many as the kernel
		 * copied for this call) */
		__u32 v[4] = {};
		const void *up = (const void *)c->a[1];
		if (c->nr == 288)
			bpf_probe_read_user(v, 16, up);
		else if (c->nr == 50)
			bpf_probe_read_user(v, 8, up);
		else
			bpf_probe_read_user(v, 12, up);
		c->a[0] = v[0]; c->a[1] = v[1]; c->a[2] = v[2]; c->a[3] = v[3];
		c->a[4] = 0; c->a[5] = 0;
	}
	return 0;
}

static __always_inline int do_open(struct sys_ctx *c)
{
	struct pal_file *fl;
	const char *up;
	__u32 pos;
	int dfd = AT_FDCWD_;

	fl = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(fl, 0, sizeof(*fl));
	fl->op = PAL_FILE_OPEN;
	switch (c->nr) {
	case 2: /* open(path, flags, mode) */
		up = (void *)c->a[0];
		fl->flags = c->a[1];
		fl->mode = c->a[2];
		break;
	case 85: /* creat(path, mode) */
		up = (void *)c->a[0];
		fl->flags = 01 | 0100 | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
		fl->mode = c->a[1];
		break;
	case 437: { /* openat2(dfd, path, how, size) */
		struct open_how how = {};
		dfd = c->a[0];
		up = (void *)c->a[1];
		bpf_probe_read_user(&how, sizeof(how), (void *)c->a[2]);
		fl->flags = how.flags;
		fl->mode = how.mode;
		break;
	}
	default: /* openat(dfd, path, flags, mode) */
		dfd = c->a[0];
		up = (void *)c->a[1];
		fl->flags = c->a[2];
		fl->mode = c->a[3];
	}
	fl->fd = dfd;
	pos = sizeof(struct pal_hdr) + sizeof(*fl);
	pos = put_user_path(c->s, pos, dfd, up, &fl->path_len, &c->h->flags);
	BENCH_STAGE(3, 0);
	emit(c->s, pos);
	return 0;
}

static __always_inline int do_unlink(struct sys_ctx *c)
{
	struct pal_file *fl;
	const char *up;
	int dfd = AT_FDCWD_;

	fl = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(fl, 0, sizeof(*fl));
	if (c->nr == 263) { /* unlinkat(dfd, path, flags) */
		dfd = c->a[0];
		up = (void *)c->a[1];
		fl->flags = c->a[2];
		fl->op = (fl->flags & AT_REMOVEDIR_) ? PAL_FILE_RMDIR : PAL_FILE_UNLINK;
	} else {
		up = (void *)c->a[0];
		fl->op = c->nr == 84 ? PAL_FILE_RMDIR : PAL_FILE_UNLINK;
	}
	fl->fd = dfd;
	emit(c->s, put_user_path(c->s, sizeof(struct pal_hdr) + sizeof(*fl), dfd, up,
				 &fl->path_len, &c->h->flags));
	return 0;
}

static __always_inline int do_rename(struct sys_ctx *c)
{
	struct pal_file *fl;
	const char *old, *new;
	int odfd = AT_FDCWD_, ndfd = AT_FDCWD_;
	__u32 pos;

	fl = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(fl, 0, sizeof(*fl));
	fl->op = PAL_FILE_RENAME;
	if (c->nr == 82) { /* rename(old, new) */
		old = (void *)c->a[0];
		new = (void *)c->a[1];
	} else { /* renameat(odfd, old, ndfd, new), renameat2(..., flags) */
		odfd = c->a[0];
		old = (void *)c->a[1];
		ndfd = c->a[2];
		new = (void *)c->a[3];
		if (c->nr == 316)
			fl->flags = c->a[4];
	}
	fl->fd = odfd;
	pos = sizeof(struct pal_hdr) + sizeof(*fl);
	pos = put_user_path(c->s, pos, odfd, old, &fl->path_len, &c->h->flags);
	if (pos > PAL_RECORD_MAX - PAL_PATH_MAX)
		return 0;
	pos = put_user_path(c->s, pos, ndfd, new, &fl->path2_len, &c->h->flags);
	emit(c->s, pos);
	return 0;
}

static __always_inline int do_chmod(struct sys_ctx *c)
{
	struct pal_file *fl;
	__u32 pos;

	fl = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(fl, 0, sizeof(*fl));
	pos = sizeof(struct pal_hdr) + sizeof(*fl);
	fl->op = PAL_FILE_CHMOD;
	if (c->nr == 91) { /* fchmod(fd, mode) */
		fl->fd = c->a[0];
		fl->mode = c->a[1];
		pos = put_file_path(c->s, pos, fd_file((void *)bpf_get_current_task(), fl->fd),
				    &fl->path_len, &c->h->flags);
	} else if (c->nr == 90) { /* chmod(path, mode) */
		fl->fd = AT_FDCWD_;
		fl->mode = c->a[1];
		pos = put_user_path(c->s, pos, AT_FDCWD_, (void *)c->a[0], &fl->path_len, &c->h->flags);
	} else { /* fchmodat(dfd, path, mode), fchmodat2(dfd, path, mode, flags) */
		fl->fd = c->a[0];
		fl->mode = c->a[2];
		if (c->nr == 452)
			fl->flags = c->a[3];
		pos = put_user_path(c->s, pos, fl->fd, (void *)c->a[1], &fl->path_len, &c->h->flags);
	}
	emit(c->s, pos);
	return 0;
}

/* a uid/gid argument: the ia32 16-bit calls take 16-bit ids, where 0xffff means -1 */
static __always_inline __u32 chown_id(struct sys_ctx *c, __u64 v)
{
	if (c->h->flags & PAL_F_UID16)
		return (__u16)v == 0xffff ? 0xffffffffu : (__u16)v;
	return (__u32)v;
}

static __always_inline int do_chown(struct sys_ctx *c)
{
	struct pal_file *fl;
	__u32 pos;

	fl = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(fl, 0, sizeof(*fl));
	pos = sizeof(struct pal_hdr) + sizeof(*fl);
	fl->op = PAL_FILE_CHOWN;
	if (c->nr == 93) { /* fchown(fd, uid, gid) */
		fl->fd = c->a[0];
		fl->uid = chown_id(c, c->a[1]);
		fl->gid = chown_id(c, c->a[2]);
		pos = put_file_path(c->s, pos, fd_file((void *)bpf_get_current_task(), fl->fd),
				    &fl->path_len, &c->h->flags);
	} else if (c->nr == 260) { /* fchownat(dfd, path, uid, gid, flags) */
		fl->fd = c->a[0];
		fl->uid = c->a[2];
		fl->gid = c->a[3];
		fl->flags = c->a[4];
		pos = put_user_path(c->s, pos, fl->fd, (void *)c->a[1], &fl->path_len, &c->h->flags);
	} else { /* chown, lchown(path, uid, gid) */
		fl->fd = AT_FDCWD_;
		fl->uid = chown_id(c, c->a[1]);
		fl->gid = chown_id(c, c->a[2]);
		pos = put_user_path(c->s, pos, AT_FDCWD_, (void *)c->a[0], &fl->path_len, &c->h->flags);
	}
	emit(c->s, pos);
	return 0;
}

struct argv_ctx {
	const void *argv;
	__u32 pos;
	__u32 start;
	__u16 argc;
	__u16 flags;
	__u32 compat;    /* argv holds 32-bit pointers */
};

static long argv_step(__u32 i, void *arg)
{
	struct argv_ctx *ac = arg;
	struct scratch *s = get_scratch();
	__u64 p = 0;
	__u32 pos = ac->pos;
	long n, err;

	if (!s)
		return 1;
	if (ac->compat)
		err = bpf_probe_read_user(&p, 4, ac->argv + (i & 63) * 4);
	else
		err = bpf_probe_read_user(&p, 8, ac->argv + (i & 63) * 8);
	if (err || !p)
		return 1;
	if (pos < ac->start || pos - ac->start > PAL_ARGS_MAX - ARG_MAX_LEN ||
	    pos > PAL_RECORD_MAX - ARG_MAX_LEN) {
		ac->flags |= PAL_F_TRUNCATED;
		return 1;
	}
	n = bpf_probe_read_user_str(&s->ev[EVOFF(pos)], ARG_MAX_LEN, (const void *)p);
	if (n <= 0)
		return 1;
	ac->pos = pos + n; /* keeps the NUL: args are NUL-separated like /proc/<pid>/cmdline */
	ac->argc++;
	return 0;
}

static __always_inline int do_execfail(struct sys_ctx *c)
{
	struct pal_exec *e;
	const char *up;
	const void *argv;
	int dfd = AT_FDCWD_;
	__u32 pos, args_start;
	long n;

	e = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__builtin_memset(e, 0, sizeof(*e));
	if (c->nr == 322) { /* execveat(dfd, path, argv, envp, flags) */
		dfd = c->a[0];
		up = (void *)c->a[1];
		argv = (void *)c->a[2];
	} else {
		up = (void *)c->a[0];
		argv = (void *)c->a[1];
	}
	pos = sizeof(struct pal_hdr) + sizeof(*e);
	n = bpf_probe_read_user_str(&c->s->ev[EVOFF(pos)], PAL_PATH_MAX, up);
	e->filename_len = n > 0 ? n - 1 : 0;
	pos += e->filename_len;
	if (pos > PAL_PATH_MAX + 512)
		return 0;
	pos = put_user_path_slow(c->s, pos, dfd, up, &e->exe_len, &c->h->flags);
	args_start = pos;
	{
		struct argv_ctx ac = { .argv = argv, .pos = pos, .start = pos, .compat = c->compat };
		bpf_loop(ARGV_MAX_N, argv_step, &ac, 0);
		pos = ac.pos;
		e->argc = ac.argc;
		c->h->flags |= ac.flags;
	}
	e->args_len = pos - args_start;
	emit(c->s, pos);
	return 0;
}

static __always_inline int do_socket(struct sys_ctx *c)
{
	struct pal_net *nt = (void *)(c->s->ev + sizeof(struct pal_hdr));

	__builtin_memset(nt, 0, sizeof(*nt));
	nt->op = PAL_NET_SOCKET;
	nt->family = c->a[0];
	nt->type = c->a[1] & 0xf; /* without SOCK_NONBLOCK/SOCK_CLOEXEC */
	nt->protocol = c->a[2];
	nt->fd = c->ret;
	emit(c->s, sizeof(struct pal_hdr) + sizeof(*nt));
	return 0;
}

/* Local (and, when remote != 0, peer) address of the socket behind fd. */
#ifdef PAL_RAW_SYSCALLS
static __always_inline void sock_addrs(struct pal_net *nt, int fd, int remote)
{
	struct file *f = fd_file((void *)bpf_get_current_task(), fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!f)
		return;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT_) != S_IFSOCK_)
		return;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (!nt->family)
		nt->family = family;
	nt->type = BPF_CORE_READ(sk, sk_type);
	nt->protocol = BPF_CORE_READ(sk, sk_protocol);
	nt->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET_) {
		bpf_core_read(nt->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		if (remote) {
			bpf_core_read(nt->raddr, 4, &sk->__sk_common.skc_daddr);
			nt->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		}
	} else if (family == AF_INET6_) {
		bpf_core_read(nt->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		if (remote) {
			bpf_core_read(nt->raddr, 16, &sk->__sk_common.skc_v6_daddr);
			nt->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		}
	}
}

#else
/* the same by direct loads (tp_btf build: see KCAST) */
static __always_inline void sock_addrs(struct pal_net *nt, int fd, int remote)
{
	struct file *f = fd_file((void *)bpf_get_current_task(), fd);
	struct file *fb;
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!f)
		return;
	fb = KCAST(struct file, f);
	if ((fb->f_inode->i_mode & S_IFMT_) != S_IFSOCK_)
		return;
	sock = KCAST(struct socket, fb->private_data);
	sk = sock->sk;
	if (!sk)
		return;
	family = sk->__sk_common.skc_family;
	if (!nt->family)
		nt->family = family;
	nt->type = sk->sk_type;
	nt->protocol = sk->sk_protocol;
	nt->lport = sk->__sk_common.skc_num;
	if (family == AF_INET_) {
		*(__u32 *)nt->laddr = sk->__sk_common.skc_rcv_saddr;
		if (remote) {
			*(__u32 *)nt->raddr = sk->__sk_common.skc_daddr;
			nt->rport = __builtin_bswap16(sk->__sk_common.skc_dport);
		}
	} else if (family == AF_INET6_) {
		__u32 *la = (__u32 *)nt->laddr, *ra = (__u32 *)nt->raddr;
		la[0] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[0];
		la[1] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[1];
		la[2] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[2];
		la[3] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[3];
		if (remote) {
			ra[0] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[0];
			ra[1] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[1];
			ra[2] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2];
			ra[3] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3];
			nt->rport = __builtin_bswap16(sk->__sk_common.skc_dport);
		}
	}
}
#endif

/* Reads a user sockaddr into the address given by the caller; returns the new pos. */
static __always_inline __u32 user_sockaddr(struct scratch *s, __u32 pos, struct pal_net *nt,
					   const void *uaddr, __u32 alen, int is_local)
{
	__u16 family = 0;
	__u8 *addr = is_local ? nt->laddr : nt->raddr;
	__u16 port = 0;

	if (!uaddr || alen < 2 || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return pos;
	nt->family = family;
	if (family == AF_INET_ && alen >= 8) {
		bpf_probe_read_user(&port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 4, uaddr + 4);
	} else if (family == AF_INET6_ && alen >= 24) {
		bpf_probe_read_user(&port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 16, uaddr + 8);
	} else if (family == AF_UNIX_ && alen > 2) {
		__u32 n = alen - 2;
		if (n > PAL_UNIX_MAX)
			n = PAL_UNIX_MAX;
		if (pos > PAL_RECORD_MAX - 128)
			return pos;
		n = mask127(n);
		if (bpf_probe_read_user(&s->ev[EVOFF(pos)], n, uaddr + 2) == 0) {
			/* a pathname address ends at its NUL; abstract ones start with NUL */
			nt->unix_len = n;
			pos += n;
		}
		return pos;
	}
	if (is_local)
		nt->lport = __builtin_bswap16(port);
	else
		nt->rport = __builtin_bswap16(port);
	return pos;
}

/* connect(fd, addr, len) and bind(fd, addr, len): the caller's sockaddr is the remote
 * address for connect and the local one for bind. */
static __always_inline int do_sockaddr_call(struct sys_ctx *c, __u16 op, int local)
{
	struct pal_net *nt = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__u32 pos;

	__builtin_memset(nt, 0, sizeof(*nt));
	nt->op = op;
	nt->fd = c->a[0];
	sock_addrs(nt, nt->fd, 0);
	pos = user_sockaddr(c->s, sizeof(struct pal_hdr) + sizeof(*nt), nt, (void *)c->a[1],
			    c->a[2], local);
	emit(c->s, pos);
	return 0;
}

static __always_inline int do_connect(struct sys_ctx *c)
{
	return do_sockaddr_call(c, PAL_NET_CONNECT, 0);
}

static __always_inline int do_bind(struct sys_ctx *c)
{
	return do_sockaddr_call(c, PAL_NET_BIND, 1);
}

static __always_inline int do_listen(struct sys_ctx *c)
{
	struct pal_net *nt = (void *)(c->s->ev + sizeof(struct pal_hdr));

	__builtin_memset(nt, 0, sizeof(*nt));
	nt->op = PAL_NET_LISTEN;
	nt->fd = c->a[0];
	nt->arg = c->a[1];
	sock_addrs(nt, nt->fd, 0);
	emit(c->s, sizeof(struct pal_hdr) + sizeof(*nt));
	return 0;
}

/* The bound address of the peer of unix socket `fd` (the connecting socket, for an accepted
 * connection) as the record's unix path string at pos; returns the new pos. Nothing when the
 * peer is unbound. An abstract address starts with NUL (as from connect/bind). */
static __always_inline __u32 unix_peer_path(struct scratch *s, __u32 pos, struct pal_net *nt, int fd)
{
	struct file *f = fd_file((void *)bpf_get_current_task(), fd);
	struct unix_sock *us, *peer;
	struct unix_address *ua;
	int len;
	__u32 n;

	if (!f || pos > PAL_RECORD_MAX - 128)
		return pos;
	{
		struct socket *sock = BPF_CORE_READ(f, private_data);
		us = (void *)BPF_CORE_READ(sock, sk);
	}
	peer = (void *)BPF_CORE_READ(us, peer);
	ua = BPF_CORE_READ(peer, addr);
	if (!ua)
		return pos;
	len = BPF_CORE_READ(ua, len); /* includes sun_family */
	if (len <= 2)
		return pos;
	n = len - 2;
	if (n > PAL_UNIX_MAX)
		n = PAL_UNIX_MAX;
	n = mask127(n);
	/* name[0].sun_path: sun_path follows the 2-byte sun_family (uapi) */
	if (bpf_probe_read_kernel(&s->ev[EVOFF(pos)], n,
				  (const char *)ua + bpf_core_field_offset(struct unix_address, name) + 2) == 0) {
		nt->unix_len = n;
		pos += n;
	}
	return pos;
}

static __always_inline int do_accept(struct sys_ctx *c)
{
	struct pal_net *nt = (void *)(c->s->ev + sizeof(struct pal_hdr));
	__u32 pos = sizeof(struct pal_hdr) + sizeof(*nt);

	__builtin_memset(nt, 0, sizeof(*nt));
	nt->op = PAL_NET_ACCEPT;
	nt->fd = c->a[0];
	if (c->nr == 288)
		nt->arg = c->a[3];
	if (c->ret >= 0) {
		sock_addrs(nt, c->ret, 1); /* the new connection: local and peer */
		if (nt->family == AF_UNIX_)
			pos = unix_peer_path(c->s, pos, nt, c->ret);
	} else {
		sock_addrs(nt, nt->fd, 0); /* the listener */
	}
	emit(c->s, pos);
	return 0;
}

static __always_inline int do_syscall(struct sys_ctx *c)
{
	struct pal_syscall *sc = (void *)(c->s->ev + sizeof(struct pal_hdr));

	sc->args[0] = c->a[0];
	sc->args[1] = c->a[1];
	sc->args[2] = c->a[2];
	sc->args[3] = c->a[3];
	sc->args[4] = c->a[4];
	sc->args[5] = c->a[5];
	emit(c->s, sizeof(struct pal_hdr) + sizeof(*sc));
	return 0;
}

/* This file builds two objects (bpf/Makefile): palisade.bpf.o with tp_btf syscall programs
 * and palisade-raw.bpf.o (-DPAL_RAW_SYSCALLS) with raw_tracepoint ones, for kernels that
 * refuse tp_btf. Same program and map names in both; the loader picks the object. */
#ifdef PAL_RAW_SYSCALLS
#define SYS_SEC "raw_tracepoint/sys_exit"
#define SYS_RAW 1
#else
#define SYS_SEC "tp_btf/sys_exit"
#define SYS_RAW 0
#endif

/* h_<name> around do_<name>() */
#define SYS_HANDLER(name)                                                          \
	SEC(SYS_SEC)                                                               \
	int h_##name(struct bpf_raw_tracepoint_args *ctx)                          \
	{                                                                          \
		struct sys_ctx c;                                                  \
		if (sys_begin(ctx, &c, SYS_RAW))                                   \
			return 0;                                                  \
		return do_##name(&c);                                              \
	}

SYS_HANDLER(open)
SYS_HANDLER(unlink)
SYS_HANDLER(rename)
SYS_HANDLER(chmod)
SYS_HANDLER(chown)
SYS_HANDLER(execfail)
SYS_HANDLER(socket)
SYS_HANDLER(connect)
SYS_HANDLER(accept)
SYS_HANDLER(bind)
SYS_HANDLER(listen)
SYS_HANDLER(syscall)

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, H_MAX);
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct bpf_raw_tracepoint_args *));
} handlers SEC(".maps") = {
	.values = {
		[H_OPEN] = (void *)&h_open,
		[H_UNLINK] = (void *)&h_unlink,
		[H_RENAME] = (void *)&h_rename,
		[H_CHMOD] = (void *)&h_chmod,
		[H_CHOWN] = (void *)&h_chown,
		[H_EXECFAIL] = (void *)&h_execfail,
		[H_SOCKET] = (void *)&h_socket,
		[H_CONNECT] = (void *)&h_connect,
		[H_ACCEPT] = (void *)&h_accept,
		[H_BIND] = (void *)&h_bind,
		[H_LISTEN] = (void *)&h_listen,
		[H_SYSCALL] = (void *)&h_syscall,
	},
};

/* What a syscall number means: handler, class, record kind, the x86-64 number reported and
 * extra header flags. route64() for x86-64 numbers, route32() for ia32 ones. */
struct route {
	__u32 h;
	__u32 class;
	__u32 nr;
	__u16 kind;
	__u16 xflags;
};

#define R_FILE(H) do { r->h = (H); r->class = PAL_CLASS_FILE; r->kind = PAL_KIND_FILE; } while (0)
#define R_NET(H) do { r->h = (H); r->class = PAL_CLASS_NET; r->kind = PAL_KIND_NET; } while (0)

/* returns 0 when the number is not one of ours (the caller then considers the raw
 * `syscall` class); *ret_nonneg_exec tells a successful exec, which sched_process_exec reports */
static __always_inline int route64(__u32 nr, struct route *r)
{
	r->nr = nr; /* r->xflags: left as the caller set them (route32: PAL_F_COMPAT ...) */
	switch (nr) {
	case 2: case 85: case 257: case 437: R_FILE(H_OPEN); return 1;
	case 84: case 87: case 263: R_FILE(H_UNLINK); return 1;
	case 82: case 264: case 316: R_FILE(H_RENAME); return 1;
	case 90: case 91: case 268: case 452: R_FILE(H_CHMOD); return 1;
	case 92: case 93: case 94: case 260: R_FILE(H_CHOWN); return 1;
	case 59: case 322:
		r->h = H_EXECFAIL; r->class = PAL_CLASS_PROCESS; r->kind = PAL_KIND_EXEC; return 1;
	case 41: R_NET(H_SOCKET); return 1;
	case 42: R_NET(H_CONNECT); return 1;
	case 43: case 288: R_NET(H_ACCEPT); return 1;
	case 49: R_NET(H_BIND); return 1;
	case 50: R_NET(H_LISTEN); return 1;
	}
	return 0;
}

/* ia32 numbers (arch/x86/entry/syscalls/syscall_32.tbl) of the calls above, and socketcall
 * (102) by its call number `call` (SYS_SOCKET 1, BIND 2, CONNECT 3, LISTEN 4, ACCEPT 5,
 * ACCEPT4 18). Returns 0 for anything else: not reported. */
static __always_inline int route32(__u32 nr, __u32 call, struct route *r)
{
	__u32 n64;

	r->xflags = PAL_F_COMPAT;
	switch (nr) {
	case 5: n64 = 2; break;        /* open */
	case 8: n64 = 85; break;       /* creat */
	case 295: n64 = 257; break;    /* openat */
	case 437: n64 = 437; break;    /* openat2 */
	case 10: n64 = 87; break;      /* unlink */
	case 40: n64 = 84; break;      /* rmdir */
	case 301: n64 = 263; break;    /* unlinkat */
	case 38: n64 = 82; break;      /* rename */
	case 302: n64 = 264; break;    /* renameat */
	case 353: n64 = 316; break;    /* renameat2 */
	case 15: n64 = 90; break;      /* chmod */
	case 94: n64 = 91; break;      /* fchmod */
	case 306: n64 = 268; break;    /* fchmodat */
	case 452: n64 = 452; break;    /* fchmodat2 */
	case 182: n64 = 92; r->xflags |= PAL_F_UID16; break; /* chown (16-bit ids) */
	case 212: n64 = 92; break;     /* chown32 */
	case 95: n64 = 93; r->xflags |= PAL_F_UID16; break;  /* fchown (16-bit ids) */
	case 207: n64 = 93; break;     /* fchown32 */
	case 16: n64 = 94; r->xflags |= PAL_F_UID16; break;  /* lchown (16-bit ids) */
	case 198: n64 = 94; break;     /* lchown32 */
	case 298: n64 = 260; break;    /* fchownat */
	case 11: n64 = 59; break;      /* execve */
	case 358: n64 = 322; break;    /* execveat */
	case 359: n64 = 41; break;     /* socket */
	case 362: n64 = 42; break;     /* connect */
	case 364: n64 = 288; break;    /* accept4 */
	case 361: n64 = 49; break;     /* bind */
	case 363: n64 = 50; break;     /* listen */
	case 102:                      /* socketcall */
		r->xflags |= PAL_F_SOCKETCALL;
		switch (call) {
		case 1: n64 = 41; break;
		case 2: n64 = 49; break;
		case 3: n64 = 42; break;
		case 4: n64 = 50; break;
		case 5: n64 = 43; break;
		case 18: n64 = 288; break;
		default: return 0;
		}
		break;
	default:
		return 0;
	}
	return route64(n64, r);
}

/* Numbers that are one of ours in the ia32 table or in the x86-64 table (and 357, ia32
 * bpf): only for these does the dispatcher read the task's TS_COMPAT status first. Both
 * tables matter: a compat task's ia32 readlink is 85, which is creat in the x86-64 table. */
static __always_inline int maybe_ours(__u32 nr)
{
	switch (nr) {
	/* ia32 */
	case 5: case 8: case 10: case 11: case 15: case 16: case 38: case 40: case 94: case 95:
	case 102: case 182: case 198: case 207: case 212: case 295: case 298: case 301:
	case 302: case 306: case 353: case 357: case 358: case 359: case 361: case 362:
	case 363: case 364: case 437: case 452:
	/* x86-64 (94, 437, 452 above) */
	case 2: case 85: case 257: case 84: case 87: case 263: case 82: case 264: case 316:
	case 90: case 91: case 268: case 92: case 93: case 260: case 59: case 322: case 41:
	case 42: case 43: case 288: case 49: case 50:
		return 1;
	}
	return 0;
}

static __always_inline __u32 task_compat(const int raw)
{
	if (raw) {
		struct task_struct *tr = (void *)bpf_get_current_task();
		return BPF_CORE_READ(tr, thread_info.status) & TS_COMPAT_;
	}
	return bpf_get_current_task_btf()->thread_info.status & TS_COMPAT_;
}

/* The dispatcher. Cheapest rejects first: the syscall number (a load and a compare tree;
 * for the ~55 numbers that are ours in the ia32 or x86-64 table, also the task's TS_COMPAT
 * status),
 * the config (an array lookup the verifier inlines), the agent's pid, cgroup membership
 * (the per-CPU cache, the hash map only on a miss) only when a cgroup filter is on, and
 * namespace membership (per-CPU per-task cache) only when a namespace filter is on. In the
 * tp_btf build no helper call happens before the reject of a number that is not ours. Each tail call has a constant index, so the
 * JIT emits a direct jump instead of a retpolined indirect one. */
static __always_inline int dispatch(struct bpf_raw_tracepoint_args *ctx, const int raw)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct route r = {};
	__u32 nr, zero = 0, compat = 0, tgid, tid;
	struct pal_config *c;
	struct scratch *s;
	struct pal_hdr *hd;
	__u64 cgid, task, nsproxy, parent;
	struct task_struct *bt = 0; /* tp_btf: the current task, fetched once (a helper call) */

	nr = raw ? BPF_CORE_READ(regs, orig_ax) : regs->orig_ax;
	if (maybe_ours(nr)) {
		if (raw) {
			compat = task_compat(1);
		} else {
			bt = bpf_get_current_task_btf();
			compat = bt->thread_info.status & TS_COMPAT_;
		}
	}
	if (compat) {
		__u32 call = 0;
		if (nr == 357)
			__sync_fetch_and_add(&cg_gen, 1); /* ia32 bpf(2): maps may have changed */
		if (nr == 102)
			call = raw ? (__u32)BPF_CORE_READ(regs, bx) : (__u32)regs->bx;
		if (!route32(nr, call, &r))
			return 0;
	} else if (!route64(nr, &r)) {
		if (nr == NR_BPF)
			__sync_fetch_and_add(&cg_gen, 1); /* maps may have changed: see cg_cache */
		r.h = H_SYSCALL; r.class = PAL_CLASS_SYSCALL; r.kind = PAL_KIND_SYSCALL; r.nr = nr;
	}
	if (r.h == H_EXECFAIL && ret >= 0)
		return 0; /* reported by sched_process_exec */
	c = bpf_map_lookup_elem(&pal_config_map, &zero);
	if (!c || !(c->classes & r.class))
		return 0;
	if (r.h == H_SYSCALL) {
		__u8 *on;
		if (nr >= 512)
			return 0;
		on = bpf_map_lookup_elem(&pal_syscalls, &nr);
		if (!on || !*on)
			return 0;
		if (task_compat(raw))
			return 0; /* an ia32 number: the syscalls map lists x86-64 ones */
	}
	if (raw) {
		struct task_struct *tr = (void *)bpf_get_current_task();
		__u64 pt = bpf_get_current_pid_tgid();
		tgid = pt >> 32;
		tid = (__u32)pt;
		task = (__u64)tr;
		if (tgid == c->agent_tgid)
			goto filtered;
		cgid = bpf_get_current_cgroup_id();
		nsproxy = 0; /* probe reads: only once the cgroup filter passed (below) */
		parent = 0;
	} else {
		struct task_struct *t = bt ? bt : bpf_get_current_task_btf();
		bt = t;
		tgid = t->tgid;
		tid = t->pid;
		task = (__u64)t;
		if (tgid == c->agent_tgid)
			goto filtered;
		cgid = t->cgroups->dfl_cgrp->kn->id;
		nsproxy = (__u64)t->nsproxy;
		parent = 0;
	}
	if (c->cgroup_mode != PAL_CGROUP_ALL) {
		int hit = cgroup_listed(cgid);
		if (c->cgroup_mode == PAL_CGROUP_ONLY ? !hit : hit)
			goto filtered;
	}
	if (raw)
		nsproxy = (__u64)BPF_CORE_READ((struct task_struct *)task, nsproxy);
	if (c->ns_mode != PAL_NS_ALL) {
		int hit = ns_task_listed(raw ? (void *)task : bt, tid, nsproxy, raw);
		if (c->ns_mode == PAL_NS_ONLY ? !hit : hit)
			goto filtered;
	}
	BENCH_STAGE(1, 0);
	s = get_scratch();
	if (!s)
		return 0;
	hd = (void *)s->ev;
	if (raw) {
		parent = (__u64)BPF_CORE_READ((struct task_struct *)task, real_parent);
		fill_hdr(hd, (void *)task, 1, r.kind, r.nr, (void *)parent, (void *)nsproxy);
	}
	else
		fill_hdr_task(hd, bt, r.kind, r.nr, cgid);
	hd->ret = ret;
	hd->flags |= r.xflags;
	switch (r.h) {
	case H_OPEN: { /* the hottest handler: inline, no tail call */
		struct sys_ctx sc;
		BENCH_STAGE(2, 0);
		if (sys_begin(ctx, &sc, raw))
			return 0;
		return do_open(&sc);
	}
	case H_UNLINK: bpf_tail_call(ctx, &handlers, H_UNLINK); break;
	case H_RENAME: bpf_tail_call(ctx, &handlers, H_RENAME); break;
	case H_CHMOD: bpf_tail_call(ctx, &handlers, H_CHMOD); break;
	case H_CHOWN: bpf_tail_call(ctx, &handlers, H_CHOWN); break;
	case H_EXECFAIL: bpf_tail_call(ctx, &handlers, H_EXECFAIL); break;
	case H_SOCKET: bpf_tail_call(ctx, &handlers, H_SOCKET); break;
	case H_CONNECT: bpf_tail_call(ctx, &handlers, H_CONNECT); break;
	case H_ACCEPT: bpf_tail_call(ctx, &handlers, H_ACCEPT); break;
	case H_BIND: bpf_tail_call(ctx, &handlers, H_BIND); break;
	case H_LISTEN: bpf_tail_call(ctx, &handlers, H_LISTEN); break;
	default: bpf_tail_call(ctx, &handlers, H_SYSCALL);
	}
	return 0;
filtered:
	count(PAL_CNT_FILTERED);
	return 0;
}

SEC(SYS_SEC)
int on_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return dispatch(ctx, SYS_RAW);
}

/* ---------------------------------------------------------------- capability checks */
/* capability:cap_capable (the tracepoint at the end of commoncap's cap_capable(), on this
 * kernel since 6.14) fires on every capability check, which is very often: the overcommit
 * heuristic alone checks CAP_SYS_ADMIN on every private writable mapping. So:
 *  - the class bit is tested first, with no helper call before it (a lookup in an array map
 *    is inlined by the verifier): with the class off nothing else runs;
 *  - only checks of the current task's own credentials (subjective, or objective with
 *    PAL_CAP_F_REAL_CRED) are reported: a check of another task's credentials, or of the
 *    credentials a file was opened with, describes someone else (counted as filtered);
 *  - then the agent's pid, the cgroup and the namespace filters, as for syscalls;
 *  - then repeats are suppressed per CPU: CAP_SLOTS slots indexed by a hash of (tgid, cap,
 *    ret) remember the last report of a (tgid, cap, ret, target userns) check; an equal
 *    check less than PAL_CAP_DEDUP_NS after it is counted (PAL_CNT_CAP_SUPPRESSED, and
 *    the slot's count, carried in `suppressed` of the next report of that check on this
 *    CPU) instead of reported. When another check takes the slot, that carried count is
 *    lost from the records (never from the counter).
 * Not possible here: the tracepoint does not carry the check's options, so a CAP_OPT_NOAUDIT
 * probe (a check the kernel itself does not audit, made only to choose a behaviour, like
 * the overcommit one) looks like any other; and it reports commoncap's verdict only (an
 * LSM that denies a capability afterwards is not seen). */
#define CAP_SLOTS 16
#define ENOSYS_ 38
#define PF_KTHREAD_ 0x00200000

struct cap_slot {
	__u64 ts;
	__u32 tgid;
	__u32 cap;
	__s32 ret;
	__u32 userns;
	__u32 suppressed;
	__u32 _pad;
};
struct cap_dedup {
	struct cap_slot slot[CAP_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cap_dedup);
} cap_dedup_map SEC(".maps");

/* 1 when the check repeats one reported on this CPU within the window (counted); else
 * records this one in its slot and returns 0 with *carried = the slot's suppressed count */
static __always_inline int cap_repeat(__u32 tgid, __u32 cap, __s32 ret, __u32 userns, __u32 *carried)
{
	__u32 zero = 0;
	struct cap_dedup *dd = bpf_map_lookup_elem(&cap_dedup_map, &zero);
	struct cap_slot *sl;
	__u64 now;

	*carried = 0;
	if (!dd)
		return 0;
	now = bpf_ktime_get_boot_ns();
	sl = &dd->slot[(tgid ^ (cap << 5) ^ ((__u32)ret << 11)) & (CAP_SLOTS - 1)];
	if (sl->tgid == tgid && sl->cap == cap && sl->ret == ret && sl->userns == userns) {
		if (now - sl->ts < PAL_CAP_DEDUP_NS) {
			sl->suppressed++;
			count(PAL_CNT_CAP_SUPPRESSED);
			return 1;
		}
		*carried = sl->suppressed;
	}
	sl->ts = now;
	sl->tgid = tgid;
	sl->cap = cap;
	sl->ret = ret;
	sl->userns = userns;
	sl->suppressed = 0;
	return 0;
}

static __always_inline int cap_event(__u64 cred, __u64 target_ns, __u64 capable_ns, int cap, int ret,
				     const int raw)
{
	__u32 zero = 0, tgid, tid, tns, cns, flags = 0, nr = 0xffffffff, carried;
	struct pal_config *c = bpf_map_lookup_elem(&pal_config_map, &zero);
	__u64 task, nsproxy, cgid, own_ns, parent = 0;
	struct scratch *s;
	struct pal_hdr *h;
	struct pal_cap *pc;

	if (!c || !(c->classes & PAL_CLASS_CAP))
		return 0;
	if (raw) {
		struct task_struct *t = (void *)bpf_get_current_task();
		__u64 cr = (__u64)BPF_CORE_READ(t, cred), rc = (__u64)BPF_CORE_READ(t, real_cred);
		__u64 pt;
		if (cred != cr && cred != rc)
			goto filtered;
		if (cred != cr)
			flags |= PAL_CAP_F_REAL_CRED;
		pt = bpf_get_current_pid_tgid();
		tgid = pt >> 32;
		tid = (__u32)pt;
		task = (__u64)t;
		if (tgid == c->agent_tgid)
			goto filtered;
		cgid = bpf_get_current_cgroup_id();
		nsproxy = (__u64)BPF_CORE_READ(t, nsproxy);
		parent = (__u64)BPF_CORE_READ(t, real_parent);
		tns = BPF_CORE_READ((struct user_namespace *)target_ns, ns.inum);
		cns = BPF_CORE_READ((struct user_namespace *)capable_ns, ns.inum);
		own_ns = (__u64)BPF_CORE_READ((struct cred *)cred, user_ns);
	} else {
		struct task_struct *t = bpf_get_current_task_btf();
		if (cred != (__u64)t->cred && cred != (__u64)t->real_cred)
			goto filtered;
		if (cred != (__u64)t->cred)
			flags |= PAL_CAP_F_REAL_CRED;
		tgid = t->tgid;
		tid = t->pid;
		task = (__u64)t;
		if (tgid == c->agent_tgid)
			goto filtered;
		cgid = t->cgroups->dfl_cgrp->kn->id;
		nsproxy = (__u64)t->nsproxy;
		tns = ((struct user_namespace *)target_ns)->ns.inum;
		cns = ((struct user_namespace *)capable_ns)->ns.inum;
		own_ns = (__u64)((struct cred *)cred)->user_ns;
	}
	if (c->cgroup_mode != PAL_CGROUP_ALL) {
		int hit = cgroup_listed(cgid);
		if (c->cgroup_mode == PAL_CGROUP_ONLY ? !hit : hit)
			goto filtered;
	}
	if (c->ns_mode != PAL_NS_ALL) {
		int hit = ns_task_listed(raw ? (void *)task : bpf_get_current_task_btf(), tid, nsproxy, raw);
		if (c->ns_mode == PAL_NS_ONLY ? !hit : hit)
			goto filtered;
	}
	if (cap_repeat(tgid, cap, ret, tns, &carried))
		return 0;
	if (own_ns == target_ns)
		flags |= PAL_CAP_F_OWN_USERNS;
	s = get_scratch();
	if (!s)
		return 0;
	h = (void *)s->ev;
	if (raw) {
		fill_hdr(h, (void *)task, 1, PAL_KIND_CAP, nr, (void *)parent, (void *)nsproxy);
	} else {
		struct task_struct *t = bpf_get_current_task_btf();
		/* the syscall being served: entry code stores -ENOSYS in regs->ax until the call
		 * returns; an exception frame holds the user's ax instead (not a syscall) */
		if (!(t->flags & PF_KTHREAD_) && !(t->thread_info.status & TS_COMPAT_)) {
			struct pt_regs *regs = (void *)bpf_task_pt_regs(t);
			if (regs && regs->ax == (unsigned long)-ENOSYS_ && regs->orig_ax < 1024)
				nr = regs->orig_ax;
		}
		fill_hdr_task(h, t, PAL_KIND_CAP, nr, cgid);
	}
	h->ret = ret;
	pc = (void *)(s->ev + sizeof(*h));
	pc->cap = cap;
	pc->flags = flags;
	pc->target_userns = tns;
	pc->capable_userns = cns;
	pc->suppressed = carried;
	pc->_pad = 0;
	emit(s, sizeof(*h) + sizeof(*pc));
	return 0;
filtered:
	count(PAL_CNT_FILTERED);
	return 0;
}

/* attached by name (on_cap) like the other programs; the same name in both builds */
#ifdef PAL_RAW_SYSCALLS
SEC("raw_tracepoint/cap_capable")
#else
SEC("tp_btf/cap_capable")
#endif
int on_cap(struct bpf_raw_tracepoint_args *ctx)
{
	/* (cred, target_ns, capable_ns, cap, ret) */
	return cap_event(ctx->args[0], ctx->args[1], ctx->args[2], (int)ctx->args[3], (int)ctx->args[4], SYS_RAW);
}
