/* The one record format shared by the BPF programs (bpf/palisade.bpf.c), the native
 * addon's record checker (collector/native/src/record.c) and the decoder tests.
 * collector/decode.ts mirrors these offsets; test/unit/collector/layout.test.ts compares
 * them with offsetof() values printed by a C program built from this header.
 *
 * Invariants:
 *  - every record starts with struct pal_hdr; hdr.size is the record's length in bytes
 *    (header + fixed body + strings) and is never larger than PAL_RECORD_MAX;
 *  - a ring record holds one or more records back to back, each at an 8-byte aligned offset
 *    from the start of the ring record (the next starts at the previous one's hdr.size
 *    rounded up to 8); the ring record's length ends at the last record's end or padding,
 *    and is never larger than PAL_RECORD_MAX;
 *  - strings follow the fixed body in the order the body's *_len fields are declared,
 *    without NUL terminators; each length is <= its PAL_*_MAX bound;
 *  - all integers are little-endian host order (x86_64); ports are host order;
 *    IPv4 addresses sit in the first 4 bytes of the 16-byte address fields, network order.
 *  - PAL_ABI_VERSION changes whenever a layout below changes.
 */
#ifndef PALISADE_EVENT_H
#define PALISADE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PAL_ABI_VERSION 1

/* record kinds (hdr.kind) */
enum pal_kind {
	PAL_KIND_EXEC = 1,    /* sched_process_exec, or a failed execve/execveat (ret < 0) */
	PAL_KIND_FORK = 2,    /* a new process (not a thread); header describes the child */
	PAL_KIND_EXIT = 3,    /* the last thread of a process exited */
	PAL_KIND_FILE = 4,    /* struct pal_file, op = enum pal_file_op */
	PAL_KIND_NET = 5,     /* struct pal_net, op = enum pal_net_op */
	PAL_KIND_SYSCALL = 6, /* struct pal_syscall: any syscall id enabled in the syscall map */
	PAL_KIND_CAP = 7,     /* struct pal_cap: a capability check (capability:cap_capable) */
	PAL_KIND_MAX = 8,
};

/* event classes (bits in pal_config.classes) */
#define PAL_CLASS_PROCESS (1u << 0)
#define PAL_CLASS_FILE (1u << 1)
#define PAL_CLASS_NET (1u << 2)
#define PAL_CLASS_SYSCALL (1u << 3)
#define PAL_CLASS_CAP (1u << 4)     /* capability checks ('capability') */
#define PAL_CLASS_ALL 0x1fu

/* hdr.flags */
#define PAL_F_TRUNCATED (1u << 0) /* a string hit its bound (path depth or length, argv) */
#define PAL_F_THREAD (1u << 1)    /* FORK: unused; reserved */
#define PAL_F_RELATIVE (1u << 2)  /* FILE/EXEC: the user gave a relative path; it was joined */
#define PAL_F_DIRFD_UNRESOLVED (1u << 3) /* relative to a dirfd the kernel could not resolve */
#define PAL_F_COMPAT (1u << 4)    /* an ia32 (32-bit compat) syscall; hdr.syscall is the x86-64
				   * number of the same call, the arguments were read in ia32 order */
#define PAL_F_SOCKETCALL (1u << 5) /* ia32 socketcall(2): the call's arguments came from user memory */
#define PAL_F_UID16 (1u << 6)     /* ia32 16-bit chown/fchown/lchown (uid/gid 0xffff reported as -1) */

#define PAL_COMM_LEN 16
#define PAL_PATH_MAX 4096   /* one path string, bytes */
#define PAL_ARGS_MAX 4096   /* argv block, NUL-separated */
#define PAL_UNIX_MAX 108    /* sun_path */
#define PAL_RECORD_MAX 16384

struct pal_hdr {
	__u16 kind;
	__u16 size;        /* whole record, bytes */
	__u16 abi;         /* PAL_ABI_VERSION */
	__u16 flags;       /* PAL_F_* */
	__u64 ts_ns;       /* CLOCK_BOOTTIME */
	__u64 cgroup_id;   /* cgroup v2 id (inode number of the cgroup directory) */
	__u64 start_ns;    /* process (group leader) start, CLOCK_BOOTTIME: (pid, start_ns) is unique */
	__u32 pid;         /* host tgid */
	__u32 tid;         /* host tid */
	__u32 ppid;        /* host tgid of the real parent */
	__u32 ns_pid;      /* tgid in the task's own pid namespace */
	__u32 ns_tid;
	__u32 ns_ppid;     /* parent's tgid in the task's pid namespace; 0 when outside it */
	__u32 uid;
	__u32 gid;
	__u32 mnt_ns;      /* mount namespace inode number */
	__u32 pid_ns;      /* pid namespace inode number */
	__s32 ret;         /* result: >= 0 success, -errno failure; EXIT: raw exit_code */
	__u32 syscall;     /* syscall number that produced the record, or 0xffffffff */
	char comm[PAL_COMM_LEN];
};

/* PAL_KIND_EXEC: strings filename (as executed), exe (absolute), args (NUL-separated) */
struct pal_exec {
	__u16 filename_len;
	__u16 exe_len;
	__u16 args_len;
	__u16 argc;
	__u64 exe_ino;     /* inode number of the executable (0 for failed execs) */
};

/* PAL_KIND_FORK */
struct pal_fork {
	__u32 parent_pid;  /* tgid of the task that called fork/clone */
	__u32 parent_tid;
	__u64 clone_flags; /* 0: not available from the tracepoint */
};

/* PAL_KIND_EXIT */
struct pal_exit {
	__u32 exit_code;   /* as wait(2) encodes it: (code << 8) | signal */
	__u32 _pad;
};

enum pal_file_op {
	PAL_FILE_OPEN = 1,   /* open, openat, openat2, creat */
	PAL_FILE_UNLINK = 2, /* unlink, unlinkat without AT_REMOVEDIR */
	PAL_FILE_RMDIR = 3,  /* rmdir, unlinkat with AT_REMOVEDIR */
	PAL_FILE_RENAME = 4, /* rename, renameat, renameat2: path -> path2 */
	PAL_FILE_CHMOD = 5,  /* chmod, fchmod, fchmodat, fchmodat2 */
	PAL_FILE_CHOWN = 6,  /* chown, fchown, lchown, fchownat */
};

/* PAL_KIND_FILE: strings path (absolute), path2 (RENAME target, absolute) */
struct pal_file {
	__u16 op;
	__u16 path_len;
	__u16 path2_len;
	__u16 _pad;
	__s32 fd;          /* dirfd (AT_FDCWD = -100) or the fd of fchmod/fchown */
	__u32 flags;       /* open flags, unlinkat/renameat2/fchownat flags */
	__u32 mode;        /* open/chmod mode */
	__u32 uid;         /* CHOWN */
	__u32 gid;         /* CHOWN */
	__u32 _pad2;
};

enum pal_net_op {
	PAL_NET_SOCKET = 1,
	PAL_NET_CONNECT = 2,
	PAL_NET_ACCEPT = 3,  /* accept, accept4: fd = listening socket, ret = new fd */
	PAL_NET_BIND = 4,
	PAL_NET_LISTEN = 5,
};

/* PAL_KIND_NET: strings unix path (sun_path of the address given, or of the socket) */
struct pal_net {
	__u16 op;
	__u16 family;      /* AF_INET 2, AF_INET6 10, AF_UNIX 1 */
	__u16 type;        /* SOCK_STREAM 1, SOCK_DGRAM 2 ...; socket(): as requested */
	__u16 protocol;
	__s32 fd;
	__u32 arg;         /* listen backlog, accept4 flags */
	__u16 lport;       /* local port, host order */
	__u16 rport;       /* remote port, host order */
	__u16 unix_len;
	__u16 _pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

/* PAL_KIND_SYSCALL: raw syscall with its six argument registers */
struct pal_syscall {
	__u64 args[6];
};

/* PAL_KIND_CAP: one capability check of the current task, from the capability:cap_capable
 * tracepoint (commoncap's verdict: hdr.ret is 0 when the capability is held, -EPERM (-1)
 * when not; another LSM may still deny afterwards, which this record does not see).
 * hdr.syscall: the syscall the task is serving (0xffffffff when not in a syscall, in a
 * 32-bit syscall, or in the raw_tracepoint build). Repeats are suppressed in the kernel: a
 * check equal to one reported on the same CPU less than PAL_CAP_DEDUP_NS ago (same process,
 * cap, result and target namespace) is not reported but counted in PAL_CNT_CAP_SUPPRESSED
 * and in `suppressed` of the next record reported for that same check on that CPU. */
struct pal_cap {
	__u32 cap;            /* CAP_* number (linux/capability.h) */
	__u32 flags;          /* PAL_CAP_F_* */
	__u32 target_userns;  /* inode of the user namespace the capability was checked against */
	__u32 capable_userns; /* inode of the tracepoint's capable_ns: the credentials' own user namespace */
	__u32 suppressed;     /* repeats of this check not reported just before it (see above) */
	__u32 _pad;
};

#define PAL_CAP_F_OWN_USERNS (1u << 0) /* checked against the credentials' own user namespace */
#define PAL_CAP_F_REAL_CRED (1u << 1)  /* the task's objective credentials (real_cred), which differ
					* from its subjective ones (the kernel is overriding them) */
#define PAL_CAP_DEDUP_NS 1000000000ull /* repeat suppression window (1 s) */

/* pal_config.cgroup_mode */
#define PAL_CGROUP_ALL 0     /* every cgroup */
#define PAL_CGROUP_ONLY 1    /* only cgroups in the cgroups map */
#define PAL_CGROUP_EXCEPT 2  /* every cgroup except those in the map */

/* pal_config.ns_mode: same values as the cgroup modes; the set is the pal_ns map, keyed by
 * PAL_NS_KEY(kind, inode). An event passes when its task's mount namespace or its pid namespace
 * (the task's own, as in hdr.mnt_ns / hdr.pid_ns) is listed ('only'), or neither is ('except'). */
#define PAL_NS_ALL 0
#define PAL_NS_ONLY 1
#define PAL_NS_EXCEPT 2
#define PAL_NS_MNT 1
#define PAL_NS_PID 2
#define PAL_NS_KEY(kind, inum) (((__u64)(kind) << 32) | (__u32)(inum))

/* the single entry of the config array map; an event must pass every filter */
struct pal_config {
	__u32 classes;       /* PAL_CLASS_* bits */
	__u32 agent_tgid;    /* never report this process (0: none) */
	__u32 cgroup_mode;   /* PAL_CGROUP_* */
	__u32 wakeup_bytes;  /* force a consumer wake-up when this much data is pending (0: always) */
	__u32 ns_mode;       /* PAL_NS_ALL / _ONLY / _EXCEPT */
	__u32 batch_bytes;   /* per-CPU kernel batches of up to this many bytes (capped at 8192;
			      * 0: one record per ring record; ignored when wakeup_bytes is 0) */
};

/* index of the per-CPU counters array map */
enum pal_counter {
	PAL_CNT_EMITTED = 0,   /* records written to the ring (a batch counts its records) */
	PAL_CNT_DROPPED = 1,   /* ring full: bpf_ringbuf_output failed (every record of the batch) */
	PAL_CNT_FILTERED = 2,  /* matched a hook but filtered out in the kernel */
	PAL_CNT_CAP_SUPPRESSED = 3, /* capability checks not reported: repeats (see struct pal_cap) */
	PAL_CNT_FLUSH_TICK = 4,     /* kernel batches sent by the timer tick */
	PAL_CNT_FLUSH_SWITCH = 5,   /* kernel batches sent when their task switched out */
	PAL_CNT_MAX = 6,
};

#endif
