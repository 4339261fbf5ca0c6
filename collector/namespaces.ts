// Namespace inode numbers of processes, for the collector's namespace filter: the number in
// /proc/<pid>/ns/<kind> -> '<kind>:[N]' is the inode the kernel reports as hdr.mnt_ns/pid_ns.
// pid 'self' reads this process. Returns undefined when the process is gone or unreadable.
import { readlinkSync } from 'node:fs';

export type NamespaceKind = 'mnt' | 'pid';

export function namespaceInode(pid: number | 'self', kind: NamespaceKind): number | undefined {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
  const m = /^[a-z_]+:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Parses a user-given namespace: a decimal inode number or the link text 'mnt:[N]'. */
export function parseNamespaceInode(text: string, kind: NamespaceKind): number | undefined {
  const m = new RegExp(`^(?:${kind}:\\[)?(\\d{1,10})\\]?$`).exec(text.trim());
  if (!m) return undefined;
  if (text.includes('[') !== text.includes(']')) return undefined;
  const n = Number(m[1]);
  return Number.isInteger(n) && n > 0 && n <= 0xffffffff ? n : undefined;
}
