// Decisions over a compiled TableSet, with KubeArmor's semantics (docs/policy.md):
//  1. Rules with fromSource for the operation's source are consulted before rules without.
//  2. Within a table the most specific target wins: exact path > deeper directory > shallower
//     directory > pattern; at equal specificity Block beats Allow.
//  3. readOnly / ownerOnly: an operation that satisfies the condition passes a Block or Audit
//     rule and is allowed by an Allow rule; one that violates it is blocked (audited for Audit).
//  4. Audit rules never weaken a Block; they turn an otherwise silent pass or Allow into Audit.
//  5. Least-permissive mode: when an Allow rule exists for the class (for every source, or for
//     this source via fromSource) and no rule decides, the default posture decides
//     (Type and PolicyName `DefaultPosture`). Process operations use the file posture.
// The hot path allocates only directory-segment substrings; decisions are cached per rule.
// Decisions are shared objects: callers must not mutate them.
import { globMatches } from './glob.js';
import {
  ACTION_ALLOW, ACTION_AUDIT, ACTION_BLOCK, FLAG_OWNER_ONLY, FLAG_READ_ONLY,
  type Entry, type KeyClassTable, type KeyTable, type PathClassTable, type PathTable, type TableSet,
} from './tables.js';
import type { Action, Decision, Operation, Posture } from './types.js';

export interface Matcher {
  readonly tables: TableSet;
  decide(op: Operation): Decision;
}

const PASS: Decision = { matched: false, action: 'Allow', tags: [] };
const NO_ENTRY = -1;
const RANK_EXACT = 1 << 28; // above any directory rank (paths are at most 4096 characters); a small integer for V8
const RANK_DIR = 1 << 10;
const RANK_PATTERN = 1;
const ACTIONS: readonly Action[] = ['Allow', 'Audit', 'Block'];

/** Mutable scratch of one decision (decisions are synchronous, so one per matcher suffices). */
type Scratch = { enf: number; enfAct: number; enfRank: number; audit: number; auditRank: number; write: boolean; owner: boolean | undefined };

function consider(s: Scratch, entries: readonly Entry[], rank: number): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    const action = (e >>> 2) & 3;
    const flags = e & 3;
    const violated = ((flags & FLAG_READ_ONLY) !== 0 && s.write) || ((flags & FLAG_OWNER_ONLY) !== 0 && s.owner === false);
    if (action === ACTION_AUDIT) {
      if (flags !== 0 && !violated) continue;
      if (rank > s.auditRank) { s.audit = e; s.auditRank = rank; }
      continue;
    }
    let eff = action;
    if (action === ACTION_ALLOW && violated) eff = ACTION_BLOCK;
    else if (action === ACTION_BLOCK && flags !== 0 && !violated) continue;
    if (rank > s.enfRank || (rank === s.enfRank && eff === ACTION_BLOCK && s.enfAct !== ACTION_BLOCK)) {
      s.enf = e; s.enfAct = eff; s.enfRank = rank;
    }
  }
}

/**
 * Accelerators derived once per PathTable (never part of the tables): single-child trie nodes
 * compare the segment in place instead of allocating it, and patterns are indexed by the first
 * segment of their literal prefix.
 */
type TableIndex = {
  /** per trie node: the name of its only child ('' when it has none or several) and that child */
  readonly singleName: readonly string[];
  readonly singleChild: Int32Array;
  /** patterns whose literal prefix has a complete first segment, by that segment */
  readonly bySegment: Map<string, number[]>;
  /** the other patterns, tried for every path */
  readonly anySegment: readonly number[];
};
const tableIndexes = new WeakMap<PathTable, TableIndex>();
let lastTable: PathTable | undefined;
let lastIndex: TableIndex | undefined;

function tableIndex(t: PathTable): TableIndex {
  if (t === lastTable && lastIndex !== undefined) return lastIndex;
  let idx = tableIndexes.get(t);
  if (idx === undefined) {
    const bySegment = new Map<string, number[]>();
    const anySegment: number[] = [];
    t.patterns.forEach((p, i) => {
      const seg = firstSegment(p.glob.prefix, true);
      if (seg === undefined) anySegment.push(i);
      else { const l = bySegment.get(seg); if (l) l.push(i); else bySegment.set(seg, [i]); }
    });
    const singleName: string[] = new Array<string>(t.dirs.length).fill('');
    const singleChild = new Int32Array(t.dirs.length).fill(-1);
    t.dirs.forEach((node, i) => {
      if (node.children.size !== 1) return;
      for (const [name, child] of node.children) { singleName[i] = name; singleChild[i] = child; }
    });
    idx = { singleName, singleChild, bySegment, anySegment };
    tableIndexes.set(t, idx);
  }
  lastTable = t;
  lastIndex = idx;
  return idx;
}

/** `/etc/x` -> `etc`; with `complete`, undefined unless the segment is followed by '/'. */
function firstSegment(p: string, complete: boolean): string | undefined {
  if (p.charCodeAt(0) !== 47) return undefined;
  const slash = p.indexOf('/', 1);
  if (slash < 0) return complete ? undefined : p.slice(1);
  return p.slice(1, slash);
}

// The directory walk uses one substring and one Map probe per level: measured faster here than
// hashing the characters in JS (V8 hashes the substring natively).
function matchPath(s: Scratch, t: PathTable, path: string): void {
  if (t.exact.size > 0) {
    const exact = t.exact.get(path);
    if (exact !== undefined) consider(s, exact, RANK_EXACT);
  }
  const dirs = t.dirs;
  let node = dirs[0];
  if (node !== undefined && (dirs.length > 1 || node.recursive.length > 0 || node.direct.length > 0)) {
    const idx = tableIndex(t);
    let nodeId = 0;
    let depth = 0;
    if (node.recursive.length > 0) consider(s, node.recursive, RANK_DIR);
    let start = 1;
    for (;;) {
      const slash = path.indexOf('/', start);
      if (slash < 0) {
        if (node.direct.length > 0) consider(s, node.direct, RANK_DIR + depth * 2 + 1);
        break;
      }
      let child: number | undefined;
      const only = idx.singleName[nodeId] as string;
      if (only !== '') {
        if (only.length !== slash - start || !path.startsWith(only, start)) break;
        child = idx.singleChild[nodeId] as number;
      } else {
        if (node.children.size === 0) break;
        child = node.children.get(path.substring(start, slash));
        if (child === undefined) break;
      }
      nodeId = child;
      const next = dirs[child];
      if (next === undefined) break;
      node = next;
      depth++;
      if (node.recursive.length > 0) consider(s, node.recursive, RANK_DIR + depth * 2);
      start = slash + 1;
    }
  }
  const patterns = t.patterns;
  if (patterns.length === 0) return;
  const idx = tableIndex(t);
  const tryAll = (list: readonly number[]): void => {
    for (let i = 0; i < list.length; i++) {
      const p = patterns[list[i] as number] as PathTable['patterns'][number];
      if (globMatches(p.glob, path)) consider(s, p.entries, RANK_PATTERN);
    }
  };
  if (idx.anySegment.length > 0) tryAll(idx.anySegment);
  if (idx.bySegment.size > 0) {
    const seg = firstSegment(path, false);
    const list = seg === undefined ? undefined : idx.bySegment.get(seg);
    if (list !== undefined) tryAll(list);
  }
}

function matchKey(s: Scratch, t: KeyTable, key: string, wildcard: boolean): void {
  const hit = t.get(key);
  if (hit !== undefined) consider(s, hit, 2);
  if (wildcard) {
    const all = t.get('all');
    if (all !== undefined) consider(s, all, 1);
  }
}

export function createMatcher(tables: TableSet): Matcher {
  const cache: (Decision | undefined)[] = new Array(tables.rules.length * 3);
  const posture = new Map<string, Decision>();
  const s: Scratch = { enf: NO_ENTRY, enfAct: 0, enfRank: -1, audit: NO_ENTRY, auditRank: -1, write: false, owner: undefined };

  const ruleDecision = (e: Entry, act: number): Decision => {
    const rule = e >>> 4;
    const k = rule * 3 + act;
    let d = cache[k];
    if (d === undefined) {
      const m = tables.rules[rule];
      if (m === undefined) return PASS;
      // two fixed literal shapes (no spread, no freeze): keeps these objects in fast mode
      d = m.message !== ''
        ? { matched: true, action: ACTIONS[act] as Action, type: m.type, policyName: m.policyName, severity: m.severity, tags: m.tags, message: m.message }
        : { matched: true, action: ACTIONS[act] as Action, type: m.type, policyName: m.policyName, severity: m.severity, tags: m.tags };
      cache[k] = d;
    }
    return d;
  };
  const postureDecision = (p: Posture): Decision => {
    let d = posture.get(p);
    if (d === undefined) {
      d = { matched: true, action: p === 'block' ? 'Block' : 'Audit', type: 'DefaultPosture', policyName: 'DefaultPosture', tags: [] };
      posture.set(p, d);
    }
    return d;
  };

  const reset = (): void => { s.enf = NO_ENTRY; s.enfAct = 0; s.enfRank = -1; s.audit = NO_ENTRY; s.auditRank = -1; };

  /** Steps 3-5 once the tables of the class have been consulted. */
  const finish = (allowAll: boolean, allowSources: ReadonlySet<string>, source: string | undefined, pst: Posture): Decision => {
    if (s.enf !== NO_ENTRY) {
      if (s.enfAct === ACTION_BLOCK) return ruleDecision(s.enf, ACTION_BLOCK);
      if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
      return ruleDecision(s.enf, ACTION_ALLOW);
    }
    if (allowAll || (source !== undefined && allowSources.has(source))) {
      if (pst === 'block') return postureDecision('block');
      if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
      return postureDecision('audit');
    }
    if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
    return PASS;
  };

  /** Step 1: the source's table first; the generic table for enforcement only if the source gave none. */
  const resolvePath = (cls: PathClassTable, source: string | undefined, path: string, pst: Posture): Decision => {
    reset();
    if (source !== undefined && cls.bySource.size > 0) {
      const st = cls.bySource.get(source);
      if (st !== undefined) matchPath(s, st, path);
    }
    if (s.enf === NO_ENTRY) {
      const auditFromSource = s.audit;
      const rank = s.auditRank;
      matchPath(s, cls.any, path);
      if (auditFromSource !== NO_ENTRY) { s.audit = auditFromSource; s.auditRank = rank; }
    } else if (s.audit === NO_ENTRY) {
      const enf = s.enf; const act = s.enfAct; const rank = s.enfRank;
      matchPath(s, cls.any, path); // generic Audit rules still apply
      s.enf = enf; s.enfAct = act; s.enfRank = rank;
    }
    return finish(cls.allowAll, cls.allowSources, source, pst);
  };

  const resolveKey = (cls: KeyClassTable, source: string | undefined, key: string, wildcard: boolean, pst: Posture): Decision => {
    reset();
    if (source !== undefined && cls.bySource.size > 0) {
      const st = cls.bySource.get(source);
      if (st !== undefined) matchKey(s, st, key, wildcard);
    }
    if (s.enf === NO_ENTRY) {
      const auditFromSource = s.audit;
      const rank = s.auditRank;
      matchKey(s, cls.any, key, wildcard);
      if (auditFromSource !== NO_ENTRY) { s.audit = auditFromSource; s.auditRank = rank; }
    } else if (s.audit === NO_ENTRY) {
      const enf = s.enf; const act = s.enfAct; const rank = s.enfRank;
      matchKey(s, cls.any, key, wildcard);
      s.enf = enf; s.enfAct = act; s.enfRank = rank;
    }
    return finish(cls.allowAll, cls.allowSources, source, pst);
  };

  const decideSyscall = (op: Extract<Operation, { class: 'syscalls' }>): Decision => {
    let best: Entry = NO_ENTRY;
    let bestRank = -1;
    for (const r of tables.syscalls) {
      if (!r.syscalls.has(op.syscall)) continue;
      let rank = 0;
      if (r.path !== undefined || r.dir !== undefined) {
        const p = op.path;
        if (p === undefined) continue;
        if (r.path !== undefined && p !== r.path) continue;
        if (r.dir !== undefined && !(p.startsWith(r.dir) && (r.recursive || p.indexOf('/', r.dir.length) < 0))) continue;
        rank = 2;
      }
      if (r.fromSource.length > 0) {
        const src = op.source;
        if (src === undefined) continue;
        const ok = r.fromSource.some((m) => ('path' in m ? m.path === src
          : src.startsWith(m.dir) && (m.recursive || src.indexOf('/', m.dir.length) < 0)));
        if (!ok) continue;
        rank += 1;
      }
      if (rank > bestRank) { best = r.entry; bestRank = rank; }
    }
    return best === NO_ENTRY ? PASS : ruleDecision(best, ACTION_AUDIT);
  };

  return {
    tables,
    decide(op: Operation): Decision {
      switch (op.class) {
        case 'process':
        case 'file': {
          s.write = op.class === 'file' && op.write === true;
          s.owner = op.owner;
          return resolvePath(op.class === 'process' ? tables.process : tables.file, op.source, op.path, tables.posture.file);
        }
        case 'network': {
          s.write = false; s.owner = undefined;
          const proto = op.protocol.toLowerCase();
          return resolveKey(tables.network, op.source, proto, true, tables.posture.network);
        }
        case 'capabilities': {
          s.write = false; s.owner = undefined;
          let cap = op.capability.toLowerCase();
          if (cap.startsWith('cap_')) cap = cap.slice(4);
          return resolveKey(tables.capabilities, op.source, cap, false, tables.posture.capabilities);
        }
        case 'syscalls':
          return decideSyscall(op);
        default:
          return PASS;
      }
    },
  };
}
