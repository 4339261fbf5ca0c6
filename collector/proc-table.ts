// The process table: pid -> executable, argv, parent and start time. Seeded from /proc at
// start, then maintained from fork (child inherits the parent's exe and argv), exec
// (replaces them with the kernel-resolved path and argv) and exit (removed).
// Invariants: at most `maxEntries` entries (the oldest are evicted and counted); a pid the
// table does not know is looked up in /proc once (lazily) and remembered; lookups never
// throw. Events that were dropped in the kernel can leave the table stale until the next
// event of that pid: the exec event, not the table, is authoritative for exec.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { CollectorEvent } from './events.js';

export type ProcessInfo = {
  readonly pid: number;
  ppid: number;
  exe: string;
  argv: readonly string[];
  /** CLOCK_BOOTTIME ns; from /proc at 10 ms (clock tick) precision when seeded */
  startNs: bigint;
  comm: string;
};

export interface ProcessTable {
  get(pid: number): ProcessInfo | undefined;
  /** pid's ancestors, nearest first, at most `max` (default 64) */
  ancestors(pid: number, max?: number): ProcessInfo[];
  /** applies a process event; returns the entry for the event's pid (before removal on exit) */
  observe(ev: CollectorEvent): ProcessInfo | undefined;
  readonly size: number;
  readonly evicted: number;
  readonly procLookups: number;
}

const CLK_TCK_NS = 10_000_000n; // USER_HZ 100 on Linux x86_64

export function readProc(pid: number, procRoot = '/proc'): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ppid = Number(fields[1]);
    const start = BigInt(fields[19] ?? '0') * CLK_TCK_NS;
    let exe = '';
    try {
      exe = readlinkSync(`${procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
    } catch {
      exe = ''; // kernel threads and exited processes have no exe
    }
    let argv: string[] = [];
    try {
      const raw = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8');
      argv = raw.length ? raw.replace(/\0$/, '').split('\0') : [];
    } catch {
      argv = [];
    }
    return { pid, ppid, exe, argv, startNs: start, comm };
  } catch {
    return undefined; // the process is gone
  }
}

export function createProcessTable(options: { maxEntries?: number; seed?: boolean; procRoot?: string } = {}): ProcessTable {
  const max = options.maxEntries ?? 200_000;
  const procRoot = options.procRoot ?? '/proc';
  const table = new Map<number, ProcessInfo>();
  // pids /proc did not know (exited): not looked up again until a fork/exec names them
  const missing = new Set<number>();
  let evicted = 0;
  let procLookups = 0;

  const put = (p: ProcessInfo): ProcessInfo => {
    missing.delete(p.pid);
    table.delete(p.pid);
    table.set(p.pid, p);
    while (table.size > max) {
      const oldest = table.keys().next().value;
      if (oldest === undefined) break;
      table.delete(oldest);
      evicted++;
    }
    return p;
  };

  if (options.seed !== false) {
    for (const name of readdirSync(procRoot)) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const p = readProc(pid, procRoot);
      if (p) put(p);
    }
  }

  const lookup = (pid: number): ProcessInfo | undefined => {
    const hit = table.get(pid);
    if (hit) return hit;
    if (missing.has(pid)) return undefined;
    procLookups++;
    const p = readProc(pid, procRoot);
    if (p) return put(p);
    if (missing.size >= 65_536) missing.clear();
    missing.add(pid);
    return undefined;
  };

  return {
    get: lookup,
    ancestors(pid, maxDepth = 64) {
      const out: ProcessInfo[] = [];
      let cur = table.get(pid);
      const seen = new Set<number>([pid]);
      while (cur && out.length < maxDepth && cur.ppid > 0 && !seen.has(cur.ppid)) {
        seen.add(cur.ppid);
        const parent = lookup(cur.ppid);
        if (!parent) break;
        out.push(parent);
        cur = parent;
      }
      return out;
    },
    observe(ev) {
      switch (ev.kind) {
        case 'fork': {
          const parent = table.get(ev.parentPid) ?? lookup(ev.ppid);
          return put({
            pid: ev.pid, ppid: ev.ppid, exe: parent?.exe ?? '', argv: parent?.argv ?? [],
            startNs: ev.startNs, comm: ev.comm,
          });
        }
        case 'exec': {
          if (ev.ret < 0) return lookup(ev.pid);
          const prev = table.get(ev.pid);
          return put({ pid: ev.pid, ppid: ev.ppid, exe: ev.path, argv: ev.argv, startNs: ev.startNs || (prev?.startNs ?? 0n), comm: ev.comm });
        }
        case 'exit': {
          const p = table.get(ev.pid);
          table.delete(ev.pid);
          return p;
        }
        default:
          return lookup(ev.pid);
      }
    },
    get size() { return table.size; },
    get evicted() { return evicted; },
    get procLookups() { return procLookups; },
  };
}
