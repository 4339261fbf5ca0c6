// Names KubeArmor prints in Log.Data / Log.Result / Log.Resource: x86_64 syscall names
// (SYS_OPENAT), open(2) flag names, socket domains, types and protocols, and errno texts
// (glibc's strerror wording). Pure lookup tables; an unknown value is printed as its
// number (KubeArmor does the same), never dropped.

const SYSCALL_NAMES: Readonly<Record<number, string>> = {
  2: 'SYS_OPEN', 41: 'SYS_SOCKET', 42: 'SYS_CONNECT', 43: 'SYS_ACCEPT', 49: 'SYS_BIND', 50: 'SYS_LISTEN',
  59: 'SYS_EXECVE', 82: 'SYS_RENAME', 84: 'SYS_RMDIR', 85: 'SYS_CREAT', 87: 'SYS_UNLINK', 90: 'SYS_CHMOD',
  91: 'SYS_FCHMOD', 92: 'SYS_CHOWN', 93: 'SYS_FCHOWN', 94: 'SYS_LCHOWN', 257: 'SYS_OPENAT', 260: 'SYS_FCHOWNAT',
  263: 'SYS_UNLINKAT', 264: 'SYS_RENAMEAT', 268: 'SYS_FCHMODAT', 288: 'SYS_ACCEPT4', 316: 'SYS_RENAMEAT2',
  322: 'SYS_EXECVEAT', 437: 'SYS_OPENAT2', 452: 'SYS_FCHMODAT2',
};

/** "SYS_OPENAT" for 257; "SYS_<n>" for a number without a name here. */
export function syscallName(nr: number): string {
  return SYSCALL_NAMES[nr] ?? `SYS_${nr}`;
}

const ERRNO_TEXT: Readonly<Record<number, string>> = {
  1: 'Operation not permitted', 2: 'No such file or directory', 3: 'No such process', 4: 'Interrupted system call',
  5: 'Input/output error', 6: 'No such device or address', 7: 'Argument list too long', 8: 'Exec format error',
  9: 'Bad file descriptor', 11: 'Resource temporarily unavailable', 12: 'Cannot allocate memory', 13: 'Permission denied',
  14: 'Bad address', 16: 'Device or resource busy', 17: 'File exists', 18: 'Invalid cross-device link',
  19: 'No such device', 20: 'Not a directory', 21: 'Is a directory', 22: 'Invalid argument',
  23: 'Too many open files in system', 24: 'Too many open files', 26: 'Text file busy', 27: 'File too large',
  28: 'No space left on device', 30: 'Read-only file system', 31: 'Too many links', 36: 'File name too long',
  38: 'Function not implemented', 39: 'Directory not empty', 40: 'Too many levels of symbolic links',
  88: 'Socket operation on non-socket', 93: 'Protocol not supported', 95: 'Operation not supported',
  97: 'Address family not supported by protocol', 98: 'Address already in use', 99: 'Cannot assign requested address',
  100: 'Network is down', 101: 'Network is unreachable', 103: 'Software caused connection abort',
  104: 'Connection reset by peer', 106: 'Transport endpoint is already connected', 110: 'Connection timed out',
  111: 'Connection refused', 113: 'No route to host', 114: 'Operation already in progress', 115: 'Operation now in progress',
  122: 'Disk quota exceeded',
};

/** KubeArmor's Result: "Passed" for ret >= 0, else the errno text ("Unknown (-n)" when not in the table). */
export function resultText(ret: number): string {
  if (ret >= 0) return 'Passed';
  return ERRNO_TEXT[-ret] ?? `Unknown (${ret})`;
}

// open(2) flags, x86_64 octal values. O_SYNC includes O_DSYNC and O_TMPFILE includes
// O_DIRECTORY, so they are tested as whole masks before their parts.
const OPEN_FLAGS: readonly (readonly [number, string])[] = [
  [0o100, 'O_CREAT'], [0o200, 'O_EXCL'], [0o400, 'O_NOCTTY'], [0o1000, 'O_TRUNC'], [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'], [0o4010000, 'O_SYNC'], [0o10000, 'O_DSYNC'], [0o20000, 'O_ASYNC'], [0o40000, 'O_DIRECT'],
  [0o100000, 'O_LARGEFILE'], [0o20200000, 'O_TMPFILE'], [0o200000, 'O_DIRECTORY'], [0o400000, 'O_NOFOLLOW'],
  [0o1000000, 'O_NOATIME'], [0o2000000, 'O_CLOEXEC'], [0o10000000, 'O_PATH'],
];

/** "O_RDONLY", "O_WRONLY|O_CREAT|O_TRUNC"...; unnamed bits are appended in octal. */
export function openFlagsText(flags: number): string {
  const acc = flags & 3;
  const out = [acc === 0 ? 'O_RDONLY' : acc === 1 ? 'O_WRONLY' : acc === 2 ? 'O_RDWR' : 'O_ACCMODE'];
  let rest = flags & ~3;
  for (const [mask, name] of OPEN_FLAGS) {
    if ((rest & mask) === mask) { out.push(name); rest &= ~mask; }
  }
  if (rest !== 0) out.push(`0${(rest >>> 0).toString(8)}`);
  return out.join('|');
}

/** Whether an open with these flags can modify the file (readOnly rules). */
export function openWrites(flags: number): boolean {
  return (flags & 3) !== 0 || (flags & 0o1000) !== 0;
}

const SOCK_TYPES: Readonly<Record<number, string>> = {
  1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 4: 'SOCK_RDM', 5: 'SOCK_SEQPACKET', 6: 'SOCK_DCCP', 10: 'SOCK_PACKET',
};

/** "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC" as KubeArmor prints the socket type argument. */
export function sockTypeText(type: number): string {
  const out = [SOCK_TYPES[type & 0xf] ?? String(type & 0xf)];
  if ((type & 0o4000) !== 0) out.push('SOCK_NONBLOCK');
  if ((type & 0o2000000) !== 0) out.push('SOCK_CLOEXEC');
  return out.join('|');
}

const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 136: 'UDPLite' };

export function protocolText(proto: number): string {
  return PROTOCOLS[proto] ?? String(proto);
}

/** "AF_INET" for the collector's family names. */
export function familyText(family: string): string {
  if (family === 'inet') return 'AF_INET';
  if (family === 'inet6') return 'AF_INET6';
  if (family === 'unix') return 'AF_UNIX';
  return family.startsWith('af') ? family.slice(2) : family;
}

/**
 * The matchProtocols key of a socket: tcp, udp, icmp, icmpv6, raw (inet and inet6 only),
 * from the socket type and protocol as the kernel saw them; undefined for other families.
 */
export function policyProtocol(family: string, sockType: number, protocol: number): string | undefined {
  if (family !== 'inet' && family !== 'inet6') return undefined;
  const t = sockType & 0xf;
  if (protocol === 1) return 'icmp';
  if (protocol === 58) return 'icmpv6';
  if (t === 1) return protocol === 132 ? 'sctp' : 'tcp';
  if (t === 2) return 'udp';
  if (t === 3) return 'raw';
  if (t === 5) return protocol === 132 ? 'sctp' : 'seqpacket';
  return undefined;
}
