// Byte offsets of the records defined in bpf/include/palisade_event.h (PAL_ABI_VERSION 1).
// test/unit/collector/layout.test.ts checks every value against offsetof() from the C
// header (through the addon's layout()), so a change on one side fails the tests.
export const ABI_VERSION = 1;
export const RECORD_MAX = 16384;
export const PATH_MAX = 4096;
export const ARGS_MAX = 4096;
export const UNIX_MAX = 108;

export const HDR = {
  size: 96,
  kind: 0, recSize: 2, abi: 4, flags: 6,
  tsNs: 8, cgroupId: 16, startNs: 24,
  pid: 32, tid: 36, ppid: 40, nsPid: 44, nsTid: 48, nsPpid: 52,
  uid: 56, gid: 60, mntNs: 64, pidNs: 68, ret: 72, syscall: 76, comm: 80, commLen: 16,
} as const;

export const EXEC = { size: 16, filenameLen: 0, exeLen: 2, argsLen: 4, argc: 6, exeIno: 8 } as const;
export const FORK = { size: 16, parentPid: 0, parentTid: 4, cloneFlags: 8 } as const;
export const EXIT = { size: 8, exitCode: 0 } as const;
export const FILE = {
  size: 32, op: 0, pathLen: 2, path2Len: 4, fd: 8, flags: 12, mode: 16, uid: 20, gid: 24,
} as const;
export const NET = {
  size: 56, op: 0, family: 2, type: 4, protocol: 6, fd: 8, arg: 12, lport: 16, rport: 18,
  unixLen: 20, laddr: 24, raddr: 40,
} as const;
export const SYSCALL = { size: 48 } as const;
export const CAP = { size: 24, cap: 0, flags: 4, targetUserns: 8, capableUserns: 12, suppressed: 16 } as const;
/** struct pal_cap flags */
export const CAP_FLAG = { ownUserns: 1, realCred: 2 } as const;

export const KIND = { exec: 1, fork: 2, exit: 3, file: 4, net: 5, syscall: 6, cap: 7 } as const;

export const FLAG = { truncated: 1, relative: 4, dirfdUnresolved: 8 } as const;

export const CLASS = { process: 1, file: 2, network: 4, syscall: 8, capability: 16 } as const;
export type EventClass = keyof typeof CLASS;
export const EVENT_CLASSES: readonly EventClass[] = ['process', 'file', 'network', 'syscall', 'capability'];

export const CGROUP_MODE = { all: 0, only: 1, except: 2 } as const;

export const FILE_OPS = ['', 'open', 'unlink', 'rmdir', 'rename', 'chmod', 'chown'] as const;
export const NET_OPS = ['', 'socket', 'connect', 'accept', 'bind', 'listen'] as const;
