// Namespace inode numbers of processes, for the collector's namespace filter: the number in
// /proc/<pid>/ns/<kind> -> '<kind>:[N]' is the inode the kernel reports as hdr.mnt_ns/pid_ns.
// pid 'self' reads this process. Returns undefined when the process is gone or unreadable.
// containerMountNamespaces() maps a container id (prefix) to its processes' mount namespaces,
// so that `palisade trace --container` can filter in the kernel.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { parseCgroupPath } from './containers.js';

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

/** The mount namespaces of the running processes of the containers whose id starts with
 * `idPrefix` (cgroup path naming as in containers.ts), from a bounded scan of /proc
 * (at most `maxProcs` processes). `containers`: the full ids matched. */
export function containerMountNamespaces(idPrefix: string, maxProcs = 100_000): { readonly containers: readonly string[]; readonly mnt: readonly number[] } {
  const ids = new Set<string>();
  const mnt = new Set<number>();
  let names: string[];
  try { names = readdirSync('/proc'); } catch { names = []; }
  let seen = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    if (++seen > maxProcs) break;
    let cg: string;
    try { cg = readFileSync(`/proc/${name}/cgroup`, 'utf8'); } catch { continue; } // exited meanwhile
    const line = cg.split('\n').find((l) => l.startsWith('0::'));
    const ref = line ? parseCgroupPath(line.slice(3)) : undefined;
    if (!ref || !ref.id.startsWith(idPrefix)) continue;
    const ino = namespaceInode(Number(name), 'mnt');
    if (ino === undefined) continue;
    ids.add(ref.id);
    mnt.add(ino);
  }
  return { containers: [...ids], mnt: [...mnt] };
}
