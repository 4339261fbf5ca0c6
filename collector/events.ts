// The typed events the collector yields. Every event carries the process header decoded
// from the kernel record plus enrichment from user space: `exe` (process table) and
// `container` (cgroup resolution; undefined for host processes).
import type { EventClass } from './layout.js';

export type ContainerRuntime = 'libpod' | 'docker' | 'containerd' | 'crio';

export type ContainerRef = {
  readonly id: string;
  readonly runtime: ContainerRuntime;
  readonly podUid?: string;
};

export type EventBase = {
  readonly class: EventClass;
  /** CLOCK_BOOTTIME of the event, ns */
  readonly bootNs: bigint;
  /** wall clock, ms since the epoch (boot time + bootNs) */
  readonly timestamp: number;
  readonly pid: number;
  readonly tid: number;
  readonly ppid: number;
  /** pid, tid and ppid as seen inside the task's own pid namespace (ppid 0: outside) */
  readonly nsPid: number;
  readonly nsTid: number;
  readonly nsPpid: number;
  readonly uid: number;
  readonly gid: number;
  readonly cgroupId: bigint;
  readonly mntNs: number;
  readonly pidNs: number;
  /** process start (CLOCK_BOOTTIME ns): (pid, startNs) identifies a process */
  readonly startNs: bigint;
  readonly comm: string;
  /** syscall result: >= 0 success, < 0 is -errno (exit: raw exit status) */
  readonly ret: number;
  /** syscall number (x86_64), or -1 for scheduler events */
  readonly syscall: number;
  /** a path, argv or address hit its bound in the kernel */
  readonly truncated: boolean;
  /** absolute path of the process's executable (process table; '' when unknown) */
  exe: string;
  container: ContainerRef | undefined;
};

export type ExecEvent = EventBase & {
  readonly kind: 'exec';
  /** the path as given to execve */
  readonly filename: string;
  /** absolute path: resolved by the kernel on success, joined with the cwd on failure */
  readonly path: string;
  readonly argv: readonly string[];
  readonly exeInode: number;
};

export type ForkEvent = EventBase & {
  readonly kind: 'fork';
  readonly parentPid: number;
  readonly parentTid: number;
  /** clone flags of the parent's clone/clone3/fork/vfork call (clone3: exit signal in the low
   * byte, like clone(2)); `syscall` names the call. 0 (syscall -1) for forks the kernel makes
   * itself (kernel threads, user-mode helpers, io_uring workers). Always set by the decoder
   * (optional only for hand-built events). */
  readonly cloneFlags?: number;
};

export type ExitEvent = EventBase & {
  readonly kind: 'exit';
  readonly exitCode: number;
  readonly signal: number;
};

export type FileOp = 'open' | 'unlink' | 'rmdir' | 'rename' | 'chmod' | 'chown';

export type FileEvent = EventBase & {
  readonly kind: 'file';
  readonly op: FileOp;
  /** absolute, lexically normalised */
  readonly path: string;
  /** rename target */
  readonly path2?: string;
  readonly fd: number;
  readonly flags: number;
  readonly mode: number;
  readonly ownerUid?: number;
  readonly ownerGid?: number;
};

export type NetOp = 'socket' | 'connect' | 'accept' | 'bind' | 'listen';

export type SockAddr = { readonly address: string; readonly port: number };

export type NetEvent = EventBase & {
  readonly kind: 'network';
  readonly op: NetOp;
  readonly family: 'inet' | 'inet6' | 'unix' | `af${number}`;
  readonly sockType: number;
  readonly protocol: number;
  readonly fd: number;
  /** listen backlog, accept4 flags */
  readonly arg: number;
  readonly local?: SockAddr;
  readonly remote?: SockAddr;
  readonly unixPath?: string;
};

export type SyscallEvent = EventBase & {
  readonly kind: 'syscall';
  readonly args: readonly bigint[];
};

/** A capability check of the process (capability:cap_capable; commoncap's verdict):
 * ret 0 when the capability was held, -1 (-EPERM) when not. `syscall` is the syscall the
 * task was serving, -1 when unknown (not in a syscall, a 32-bit syscall, or the
 * raw_tracepoint build). */
export type CapabilityEvent = EventBase & {
  readonly kind: 'capability';
  /** CAP_* number */
  readonly cap: number;
  /** 'CAP_NET_RAW'; 'CAP_<n>' for a number this table does not know */
  readonly capName: string;
  /** inode of the user namespace the capability was checked against */
  readonly targetUserns: number;
  /** inode of the credentials' own user namespace */
  readonly capableUserns: number;
  /** checked against the credentials' own user namespace */
  readonly ownUserns: boolean;
  /** the task's objective credentials were checked while the kernel overrode its subjective ones */
  readonly realCred: boolean;
  /** equal checks (same process, cap, result, target) suppressed in the kernel on this CPU just before this one */
  readonly suppressed: number;
};

export type CollectorEvent = ExecEvent | ForkEvent | ExitEvent | FileEvent | NetEvent | SyscallEvent | CapabilityEvent;
