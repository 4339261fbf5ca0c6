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
// The hot path allocates nothing for exact and directory rules (first-segment substrings only for
// pattern rules); decisions are cached per rule.
// Fast path (derived once per matcher, never part of the tables): for a process/file class with
// no fromSource rules, each exact path whose decision cannot depend on the operation (no
// readOnly/ownerOnly entry among the rules that match that path) maps straight to its Decision,
// computed by the general path below; when the class has nothing but exact rules, a path that is
// no exact key gets one precomputed Decision. So an exact-table decision is one Map lookup.
// With directory rules (and no pattern rule), a path that is no exact key takes the Decision
// precomputed for where the trie walk (trie-index.ts) stops: the walk and one array read.
// `createMatcher(t, { fastPaths: false })` turns this off; the tests compare both on random tables.
// Decisions are shared objects: callers must not mutate them.
import { globMatches } from './glob.js';
import {
  ACTION_ALLOW as T_ACTION_ALLOW, ACTION_AUDIT as T_ACTION_AUDIT, ACTION_BLOCK as T_ACTION_BLOCK,
  FLAG_OWNER_ONLY as T_FLAG_OWNER_ONLY, FLAG_READ_ONLY as T_FLAG_READ_ONLY,
  type DirNode, type Entry, type KeyClassTable, type KeyTable, type PathClassTable, type PathTable, type TableSet,
} from './tables.js';
import type { Action, Decision, Operation, Posture } from './types.js';
import {
  firstSegment, flat, hasDirRules, NODE_DIRECT as T_NODE_DIRECT, NODE_RECURSIVE as T_NODE_RECURSIVE, tableIndex, walkTrie, type TableIndex,
} from './trie-index.js';

export interface Matcher {
  readonly tables: TableSet;
  decide(op: Operation): Decision;
}

export type MatcherOptions = {
  /** derive the per-path fast path (default true); false runs every decision through the general path */
  readonly fastPaths?: boolean;
};

/**
 * Fast path of one process/file class (only for classes without fromSource rules, whose
 * decisions then depend on the path, `write` and `owner` only).
 */
type ClassFast = {
  /** every exact path of the class: its Decision when no operation field but the path matters, else GENERAL */
  readonly exact: ReadonlyMap<string, Decision>;
  /** the Decision of every path that is no exact key, when the class has no directory or pattern rule */
  readonly miss: Decision | undefined;
  /**
   * when the class has directory rules but no pattern rule: the trie index and, per walkTrie
   * result (node * 2 + direct), the Decision of a path that is no exact key, or GENERAL
   */
  readonly walk: { readonly idx: TableIndex; readonly decisions: readonly Decision[] } | undefined;
};
/** marker in ClassFast.exact: this path's decision can depend on write/owner */
const GENERAL: Decision = { matched: false, action: 'Allow', tags: [] };

const PASS: Decision = { matched: false, action: 'Allow', tags: [] };
const NO_ENTRY = -1;
const RANK_EXACT = 1 << 28; // above any directory rank (paths are at most 4096 characters); a small integer for V8
const RANK_DIR = 1 << 10;
const RANK_PATTERN = 1;
const ACTIONS: readonly Action[] = ['Allow', 'Audit', 'Block'];
// Module-local copies of the table constants: under tsx an imported binding is a getter call on
// every use, measurable in the per-entry loop below.
const ACTION_ALLOW = T_ACTION_ALLOW;
const ACTION_AUDIT = T_ACTION_AUDIT;
const ACTION_BLOCK = T_ACTION_BLOCK;
const FLAG_READ_ONLY = T_FLAG_READ_ONLY;
const FLAG_OWNER_ONLY = T_FLAG_OWNER_ONLY;
const NODE_RECURSIVE = T_NODE_RECURSIVE;
const NODE_DIRECT = T_NODE_DIRECT;

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

function matchPath(s: Scratch, t: PathTable, path: string, skipExact: boolean): void {
  if (!skipExact && t.exact.size > 0) {
    const exact = t.exact.get(path);
    if (exact !== undefined) consider(s, exact, RANK_EXACT);
  }
  const dirs = t.dirs;
  if (dirs.length > 1 || (dirs[0] !== undefined && (dirs[0].recursive.length > 0 || dirs[0].direct.length > 0))) {
    const idx = tableIndex(t);
    considerStop(s, t, idx, walkTrie(idx, path));
  }
  matchPatterns(s, t, path);
}

/** The directory rules that apply where walkTrie stopped (`stop`): node's direct rules for +1, and the recursive rules of node and its ancestors. */
function considerStop(s: Scratch, t: PathTable, idx: TableIndex, stop: number): void {
  const dirs = t.dirs;
  let node = stop >> 1;
  const flags = idx.nodeFlags;
  const depth = idx.nodeDepth;
  if ((stop & 1) !== 0) consider(s, (dirs[node] as DirNode).direct, RANK_DIR + (depth[node] as number) * 2 + 1);
  // ranks differ per depth, so the order of these calls does not change the outcome
  const parent = idx.nodeParent;
  while (node >= 0) {
    if (((flags[node] as number) & NODE_RECURSIVE) !== 0) consider(s, (dirs[node] as DirNode).recursive, RANK_DIR + (depth[node] as number) * 2);
    node = parent[node] as number;
  }
}

function matchPatterns(s: Scratch, t: PathTable, path: string): void {
  const patterns = t.patterns;
  if (patterns.length === 0) return;
  const idx = tableIndex(t);
  if (idx.anySegment.length > 0) tryPatterns(s, patterns, idx.anySegment, path);
  if (idx.bySegment.size > 0) {
    const seg = firstSegment(path, false);
    const list = seg === undefined ? undefined : idx.bySegment.get(seg);
    if (list !== undefined) tryPatterns(s, patterns, list, path);
  }
}

function tryPatterns(s: Scratch, patterns: PathTable['patterns'], list: readonly number[], path: string): void {
  for (let i = 0; i < list.length; i++) {
    const p = patterns[list[i] as number] as PathTable['patterns'][number];
    if (globMatches(p.glob, path)) consider(s, p.entries, RANK_PATTERN);
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

export function createMatcher(tables: TableSet, opts: MatcherOptions = {}): Matcher {
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

  /**
   * Step 1: the source's table first; the generic table for enforcement only if the source gave
   * none. `skipExact`: the caller knows `path` is no exact key of `cls.any`.
   */
  const resolvePath = (cls: PathClassTable, source: string | undefined, path: string, pst: Posture, skipExact: boolean): Decision => {
    reset();
    if (source !== undefined && cls.bySource.size > 0) {
      const st = cls.bySource.get(source);
      if (st !== undefined) matchPath(s, st, path, false);
    }
    if (s.enf === NO_ENTRY) {
      const auditFromSource = s.audit;
      const rank = s.auditRank;
      matchPath(s, cls.any, path, skipExact);
      if (auditFromSource !== NO_ENTRY) { s.audit = auditFromSource; s.auditRank = rank; }
    } else if (s.audit === NO_ENTRY) {
      const enf = s.enf; const act = s.enfAct; const rank = s.enfRank;
      matchPath(s, cls.any, path, skipExact); // generic Audit rules still apply
      s.enf = enf; s.enfAct = act; s.enfRank = rank;
    }
    return finish(cls.allowAll, cls.allowSources, source, pst);
  };

  /**
   * The fast path of a class (see the header), computed with the general path itself: a path's
   * Decision is kept when every combination of write and owner gives the same Decision object.
   */
  const deriveFast = (cls: PathClassTable, isFile: boolean, pst: Posture): ClassFast | undefined => {
    if (opts.fastPaths === false || cls.bySource.size > 0) return undefined;
    // write and owner are read only for entries with readOnly/ownerOnly: without any, one
    // combination stands for all
    const t0 = cls.any;
    const flagged = (l: readonly Entry[]): boolean => l.some((e) => (e & 3) !== 0);
    const anyFlags = [...t0.exact.values()].some(flagged) || t0.dirs.some((n) => flagged(n.direct) || flagged(n.recursive))
      || t0.patterns.some((p) => flagged(p.entries));
    const writes = isFile && anyFlags ? [false, true] : [false];
    const owners = anyFlags ? [undefined, true, false] : [undefined];
    const independent = cls.allowSources.size === 0; // else a source can turn least-permissive mode on
    const exact = new Map<string, Decision>();
    for (const path of cls.any.exact.keys()) {
      let d: Decision | undefined;
      for (const w of writes) {
        for (const o of owners) {
          s.write = w; s.owner = o;
          const x = resolvePath(cls, undefined, path, pst, false);
          if (d === undefined) d = x; else if (d !== x) d = GENERAL;
        }
      }
      // a decision that consulted no rule falls to step 5, which reads the source's allow set
      exact.set(flat(path), d === undefined || (!independent && s.enf === NO_ENTRY) ? GENERAL : d);
    }
    const t = cls.any;
    const dirRules = hasDirRules(t);
    let miss: Decision | undefined;
    if (t.patterns.length === 0 && !dirRules && independent) { reset(); miss = finish(cls.allowAll, cls.allowSources, undefined, pst); }
    let walk: ClassFast['walk'];
    if (t.patterns.length === 0 && dirRules && independent) {
      // per walk result, what resolvePath does after walkTrie for a path that is no exact key
      // (no source table, no pattern in this class): the rules where the walk stopped, then step 5
      const idx = tableIndex(t);
      const decisions: Decision[] = [];
      for (let stop = 0; stop < t.dirs.length * 2; stop++) {
        if ((stop & 1) !== 0 && ((idx.nodeFlags[stop >> 1] as number) & NODE_DIRECT) === 0) { decisions[stop] = GENERAL; continue; }
        let d: Decision | undefined;
        for (const w of writes) {
          for (const o of owners) {
            s.write = w; s.owner = o;
            reset();
            considerStop(s, t, idx, stop);
            const x = finish(cls.allowAll, cls.allowSources, undefined, pst);
            if (d === undefined) d = x; else if (d !== x) d = GENERAL;
          }
        }
        decisions[stop] = d ?? GENERAL;
      }
      walk = { idx, decisions };
    }
    return { exact, miss, walk };
  };
  const fastProcess = deriveFast(tables.process, false, tables.posture.file);
  const fastFile = deriveFast(tables.file, true, tables.posture.file);

  const decidePath = (cls: PathClassTable, fast: ClassFast | undefined, op: Extract<Operation, { class: 'process' | 'file' }>): Decision => {
    const path = op.path;
    let skipExact = false;
    if (fast !== undefined) {
      const d = fast.exact.size > 0 ? fast.exact.get(path) : undefined;
      if (d === undefined) {
        if (fast.miss !== undefined) return fast.miss;
        const walk = fast.walk;
        if (walk !== undefined) {
          const w = walk.decisions[walkTrie(walk.idx, path)] as Decision;
          if (w !== GENERAL) return w;
        }
        skipExact = true;
      } else if (d !== GENERAL) return d;
    }
    s.write = op.class === 'file' && op.write === true;
    s.owner = op.owner;
    return resolvePath(cls, op.source, path, tables.posture.file, skipExact);
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
          return decidePath(tables.process, fastProcess, op);
        case 'file':
          return decidePath(tables.file, fastFile, op);
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
