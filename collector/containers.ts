// Container resolution: cgroup v2 id -> container id, from the cgroup path naming of
// libpod (podman), docker, containerd/CRI and cri-o, with both the systemd and the
// cgroupfs drivers. Host processes resolve to undefined.
// Invariants: results are cached per cgroup id (bounded, oldest evicted); an unknown id is
// looked up through /proc/<pid>/cgroup (checked by the directory's inode number = cgroup id)
// and, failing that, by a bounded scan of the cgroup2 tree at most once per `rescanMs`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRef } from './events.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses a cgroup path (as in /proc/<pid>/cgroup, "0::<path>"). */
export function parseCgroupPath(path: string): ContainerRef | undefined {
  const parts = path.split('/').filter((p) => p.length > 0);
  let podUid: string | undefined;
  for (const p of parts) {
    const m = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(\.slice)?$/.exec(p);
    if (m && m[1]) podUid = m[1].replace(/_/g, '-');
  }
  const kube = parts.some((p) => p.startsWith('kubepods'));
  for (let i = parts.length - 1; i >= 0; i--) {
    const name = (parts[i] ?? '').replace(/\.scope$/, '');
    if (/-conmon-/.test(name)) return undefined; // conmon runs on the host side of a container
    let m: RegExpExecArray | null;
    if ((m = /^libpod-([0-9a-f]{64})$/.exec(name))) return { id: m[1] as string, runtime: 'libpod' };
    if ((m = /^docker-([0-9a-f]{64})$/.exec(name))) return withPod({ id: m[1] as string, runtime: 'docker' }, podUid);
    if ((m = /^cri-containerd-([0-9a-f]{64})$/.exec(name))) return withPod({ id: m[1] as string, runtime: 'containerd' }, podUid);
    if ((m = /^crio-([0-9a-f]{64})$/.exec(name))) return withPod({ id: m[1] as string, runtime: 'crio' }, podUid);
    if (HEX64.test(name)) {
      const parent = parts[i - 1] ?? '';
      if (parent === 'docker') return { id: name, runtime: 'docker' };
      if (kube) return withPod({ id: name, runtime: 'containerd' }, podUid);
      if (parent === 'libpod_parent' || parent.startsWith('libpod')) return { id: name, runtime: 'libpod' };
      if (parent === 'default' || parent === 'k8s.io' || parent === 'moby') return { id: name, runtime: parent === 'moby' ? 'docker' : 'containerd' };
    }
  }
  return undefined;
}

function withPod(ref: ContainerRef, podUid: string | undefined): ContainerRef {
  return podUid ? { ...ref, podUid } : ref;
}

/** The cgroup2 mount point from /proc/self/mountinfo ('/sys/fs/cgroup' on pure v2 hosts). */
export function cgroup2Root(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0 || !line.slice(sep + 3).startsWith('cgroup2 ')) continue;
      return line.split(' ')[4];
    }
  } catch {
    return undefined; // no /proc: no cgroup resolution
  }
  return undefined;
}

/** The cgroup v2 id of a cgroup path relative to the cgroup2 root (the directory's inode). */
export function cgroupIdOf(relPath: string, root = cgroup2Root()): bigint | undefined {
  if (!root) return undefined;
  try {
    return statSync(join(root, relPath), { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

export interface ContainerResolver {
  resolve(cgroupId: bigint, pid: number): ContainerRef | undefined;
  /** the answer for this id is final (a container, or a known host cgroup), not "unknown yet" */
  settled(cgroupId: bigint): boolean;
  /** cgroup path (relative to the cgroup2 root) of an id, when known */
  pathOf(cgroupId: bigint): string | undefined;
  /** cgroup ids whose path names this container id (prefix of at least 12 chars accepted) */
  cgroupsOf(containerId: string): bigint[];
  readonly size: number;
}

export function createContainerResolver(options: { root?: string; maxEntries?: number; rescanMs?: number; maxScan?: number } = {}): ContainerResolver {
  const root = options.root ?? cgroup2Root();
  const max = options.maxEntries ?? 20_000;
  const rescanMs = options.rescanMs ?? 1000;
  const maxScan = options.maxScan ?? 50_000;
  const paths = new Map<bigint, string>();
  const refs = new Map<bigint, ContainerRef | undefined>();
  // ids neither /proc nor the last scan knew: retried only after the next scan is allowed
  const unknownUntil = new Map<bigint, number>();
  let lastScan = 0;

  const remember = (id: bigint, path: string): void => {
    paths.set(id, path);
    while (paths.size > max) {
      const k = paths.keys().next().value;
      if (k === undefined) break;
      paths.delete(k);
      refs.delete(k);
    }
  };

  const scan = (force = false): void => {
    if (!root) return;
    const now = Date.now();
    if (!force && now - lastScan < rescanMs) return;
    lastScan = now;
    const stack: Array<[string, number]> = [['/', 0]];
    let seen = 0;
    while (stack.length > 0 && seen < maxScan) {
      const [rel, depth] = stack.pop() as [string, number];
      seen++;
      const id = cgroupIdOf(rel, root);
      if (id !== undefined) remember(id, rel);
      if (depth >= 12) continue;
      let entries: string[];
      try {
        entries = readdirSync(join(root, rel), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        continue; // removed while scanning
      }
      for (const e of entries) stack.push([rel === '/' ? `/${e}` : `${rel}/${e}`, depth + 1]);
    }
  };

  const viaProc = (cgroupId: bigint, pid: number): string | undefined => {
    try {
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
      if (!line) return undefined;
      const rel = line.slice(3);
      return cgroupIdOf(rel, root) === cgroupId ? rel : undefined;
    } catch {
      return undefined; // process gone
    }
  };

  const pathOf = (cgroupId: bigint, pid = 0): string | undefined => {
    let p = paths.get(cgroupId);
    if (p === undefined && pid > 0) {
      p = viaProc(cgroupId, pid);
      if (p !== undefined) remember(cgroupId, p);
    }
    if (p === undefined) {
      scan();
      p = paths.get(cgroupId);
    }
    return p;
  };

  return {
    resolve(cgroupId, pid) {
      if (refs.has(cgroupId)) return refs.get(cgroupId);
      const until = unknownUntil.get(cgroupId);
      if (until !== undefined && Date.now() < until) return undefined;
      const p = pathOf(cgroupId, pid);
      if (p === undefined) {
        // unknown for now (the cgroup is gone or not yet scanned): retried after rescanMs
        if (unknownUntil.size >= 10_000) unknownUntil.clear();
        unknownUntil.set(cgroupId, Date.now() + rescanMs);
        return undefined;
      }
      unknownUntil.delete(cgroupId);
      const ref = parseCgroupPath(p);
      refs.set(cgroupId, ref);
      return ref;
    },
    settled: (id) => refs.has(id),
    pathOf: (id) => pathOf(id),
    cgroupsOf(containerId) {
      if (containerId.length < 12) return [];
      scan(true);
      const out: bigint[] = [];
      for (const [id, p] of paths) {
        const ref = parseCgroupPath(p);
        if (ref && ref.id.startsWith(containerId)) out.push(id);
      }
      return out;
    },
    get size() { return paths.size; },
  };
}
