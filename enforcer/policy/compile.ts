// Compiles the policies that select one workload into a TableSet (tables.ts). Cost is linear
// in the number of rules; globs are compiled once here, never at decision time. Rules of the
// same policy and target keep their order; entries are stored as packed integers.
import { compileGlob, type CompiledGlob } from './glob.js';
import { policySelects, resolvePosture, workloadKey, DEFAULT_GLOBAL_POSTURE } from './select.js';
import {
  ACTION_ALLOW, ACTION_AUDIT, ACTION_BLOCK, FLAG_OWNER_ONLY, FLAG_READ_ONLY, packEntry,
  type DirNode, type Entry, type KeyClassTable, type PathClassTable, type PathTable, type RuleMeta, type SyscallRule, type TableSet,
} from './tables.js';
import type { GlobalPosture, Policy, Rule, Workload } from './types.js';

type MutDir = { children: Map<string, number>; direct: Entry[]; recursive: Entry[] };
type MutPathTable = { exact: Map<string, Entry[]>; dirs: MutDir[]; patterns: Map<string, { glob: CompiledGlob; entries: Entry[] }> };

const newPathTable = (): MutPathTable => ({ exact: new Map(), dirs: [{ children: new Map(), direct: [], recursive: [] }], patterns: new Map() });

/**
 * A sequential copy of a string from the YAML parser, which hands out slices of the whole source:
 * looking such a key up reads through to the source (a cache miss per comparison) and keeps it
 * alive as long as the tables live.
 */
const own = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

function push<K>(m: Map<K, Entry[]>, k: K, e: Entry): void {
  const l = m.get(k);
  if (l) l.push(e); else m.set(k, [e]);
}

function dirNode(t: MutPathTable, dir: string): MutDir {
  let idx = 0;
  for (const seg of dir.split('/')) {
    if (seg === '') continue;
    const node = t.dirs[idx] as MutDir;
    let next = node.children.get(seg);
    if (next === undefined) {
      next = t.dirs.length;
      t.dirs.push({ children: new Map(), direct: [], recursive: [] });
      node.children.set(own(seg), next);
    }
    idx = next;
  }
  return t.dirs[idx] as MutDir;
}

const ACTION_CODE = { Allow: ACTION_ALLOW, Audit: ACTION_AUDIT, Block: ACTION_BLOCK } as const;

/** Block entries sort before Allow before Audit so the first hit of a list is the strongest. */
const byStrength = (a: Entry, b: Entry): number => {
  const rank = (e: Entry): number => [1, 2, 0][(e >>> 2) & 3] as number;
  return rank(a) - rank(b) || a - b;
};

type Builder<T> = { any: T; bySource: Map<string, T>; allowAll: boolean; allowSources: Set<string> };

function builder<T>(make: () => T): Builder<T> & { make: () => T } {
  return { any: make(), bySource: new Map(), allowAll: false, allowSources: new Set(), make };
}

function tablesFor<T>(b: Builder<T> & { make: () => T }, r: Rule): T[] {
  if (r.fromSource.length === 0) {
    if (r.action === 'Allow') b.allowAll = true;
    return [b.any];
  }
  const out: T[] = [];
  for (const s of r.fromSource) {
    if (!('path' in s)) continue;
    if (r.action === 'Allow') b.allowSources.add(s.path);
    let t = b.bySource.get(s.path);
    if (!t) { t = b.make(); b.bySource.set(s.path, t); }
    out.push(t);
  }
  return out;
}

function freezePath(t: MutPathTable): PathTable {
  for (const l of t.exact.values()) l.sort(byStrength);
  for (const d of t.dirs) { d.direct.sort(byStrength); d.recursive.sort(byStrength); }
  return { exact: t.exact, dirs: t.dirs as DirNode[], patterns: [...t.patterns.values()] };
}

function freezeKeys(t: Map<string, Entry[]>): Map<string, Entry[]> {
  for (const l of t.values()) l.sort(byStrength);
  return t;
}

export type CompileOptions = { readonly globalPosture?: GlobalPosture; readonly version?: number };

export function compileTables(policies: readonly Policy[], workload: Workload, opts: CompileOptions = {}): TableSet {
  const rules: RuleMeta[] = [];
  const proc = builder(newPathTable);
  const file = builder(newPathTable);
  const net = builder(() => new Map<string, Entry[]>());
  const caps = builder(() => new Map<string, Entry[]>());
  const syscalls: SyscallRule[] = [];

  for (const p of policies) {
    if (!policySelects(p, workload)) continue;
    const type = p.kind === 'KubeArmorHostPolicy' ? 'MatchedHostPolicy' : 'MatchedPolicy';
    for (const r of p.rules) {
      const idx = rules.length;
      rules.push({ policyName: r.policyName, type, class: r.class, action: r.action, severity: r.severity, tags: r.tags, message: r.message, where: r.where });
      const flags = (r.readOnly ? FLAG_READ_ONLY : 0) | (r.ownerOnly ? FLAG_OWNER_ONLY : 0);
      const entry = packEntry(idx, ACTION_CODE[r.action], flags);
      const t = r.target;
      if (r.class === 'process' || r.class === 'file') {
        for (const table of tablesFor(r.class === 'process' ? proc : file, r)) {
          if (t.type === 'path') push(table.exact, own(t.path), entry);
          else if (t.type === 'dir') {
            const node = dirNode(table, t.dir);
            (t.recursive ? node.recursive : node.direct).push(entry);
          } else if (t.type === 'pattern') {
            const g = compileGlob(t.pattern);
            if (!g.ok) continue; // validated earlier; a policy built in code with a bad glob is skipped
            const slot = table.patterns.get(t.pattern);
            if (slot) slot.entries.push(entry); else table.patterns.set(t.pattern, { glob: g.glob, entries: [entry] });
          }
        }
      } else if (r.class === 'network' && t.type === 'protocol') {
        for (const table of tablesFor(net, r)) push(table, t.protocol, entry);
      } else if (r.class === 'capabilities' && t.type === 'capability') {
        for (const table of tablesFor(caps, r)) push(table, t.capability, entry);
      } else if (r.class === 'syscalls' && t.type === 'syscall') {
        syscalls.push({
          syscalls: new Set(t.syscalls), recursive: t.recursive, fromSource: r.fromSource, entry,
          ...(t.path !== undefined ? { path: t.path } : {}), ...(t.dir !== undefined ? { dir: t.dir } : {}),
        });
      }
    }
  }
  const pathClass = (b: Builder<MutPathTable>): PathClassTable => ({
    any: freezePath(b.any),
    bySource: new Map([...b.bySource].map(([k, v]) => [k, freezePath(v)])),
    allowAll: b.allowAll,
    allowSources: b.allowSources,
  });
  const keyClass = (b: Builder<Map<string, Entry[]>>): KeyClassTable => ({
    any: freezeKeys(b.any),
    bySource: new Map([...b.bySource].map(([k, v]) => [k, freezeKeys(v)])),
    allowAll: b.allowAll,
    allowSources: b.allowSources,
  });
  return {
    version: opts.version ?? 1,
    workload: workloadKey(workload),
    rules,
    posture: resolvePosture(workload, opts.globalPosture ?? DEFAULT_GLOBAL_POSTURE),
    process: pathClass(proc),
    file: pathClass(file),
    network: keyClass(net),
    capabilities: keyClass(caps),
    syscalls,
  };
}
