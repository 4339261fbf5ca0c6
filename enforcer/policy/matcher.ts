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
// `createMatcher(t, { fastPaths: false })` turns this off; the tests compare both on random tables.
// Decisions are shared objects: callers must not mutate them.
import { globMatches } from './glob.js';
import {
  ACTION_ALLOW as T_ACTION_ALLOW, ACTION_AUDIT as T_ACTION_AUDIT, ACTION_BLOCK as T_ACTION_BLOCK,
  FLAG_OWNER_ONLY as T_FLAG_OWNER_ONLY, FLAG_READ_ONLY as T_FLAG_READ_ONLY,
  type DirNode, type Entry, type KeyClassTable, type KeyTable, type PathClassTable, type PathTable, type TableSet,
} from './tables.js';
import type { Action, Decision, Operation, Posture } from './types.js';

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
 * Accelerators derived once per PathTable (never part of the tables, whose format is fixed for
 * the native responder): the trie's edges in one open-addressed hash table probed in place (no
 * segment substring, no per-node Map), per-node flags and depth, and patterns indexed by the
 * first segment of their literal prefix.
 */
type TableIndex = {
  /** per trie node: NODE_* bits */
  readonly nodeFlags: Uint8Array;
  /** per trie node: its depth (root 0) and its parent (-1 for the root) */
  readonly nodeDepth: Int32Array;
  readonly nodeParent: Int32Array;
  /**
   * every edge of the trie, four int32 per slot: child id (-1 empty), parent id, segmentHash of
   * (parent, name), name length | child's NODE_* flags << 28 (the flags come with the edge, no
   * second array read per level); linear probing. A hit whose parent, hash and length agree is
   * confirmed character by character against the child's name in `names` at nameOffset[child].
   */
  readonly slots: Int32Array;
  readonly slotMask: number;
  /** all edge names concatenated (one flat string; compared in place, no substring) */
  readonly names: string;
  readonly nameOffset: Int32Array;
  /** per trie node: its directory with a trailing '/' ('/' for the root) */
  readonly dirPath: readonly string[];
  /** patterns whose literal prefix has a complete first segment, by that segment */
  readonly bySegment: Map<string, number[]>;
  /** the other patterns, tried for every path */
  readonly anySegment: readonly number[];
};
const NODE_RECURSIVE = 1;
const NODE_DIRECT = 2;
const NODE_CHILDREN = 4;
const LEN_MASK = 0x0fffffff;
const tableIndexes = new WeakMap<PathTable, TableIndex>();
let lastTable: PathTable | undefined;
let lastIndex: TableIndex | undefined;

function tableIndex(t: PathTable): TableIndex {
  if (t === lastTable && lastIndex !== undefined) return lastIndex;
  let idx = tableIndexes.get(t);
  if (idx === undefined) {
    idx = buildIndex(t);
    tableIndexes.set(t, idx);
  }
  lastTable = t;
  lastIndex = idx;
  return idx;
}

function buildIndex(t: PathTable): TableIndex {
  const bySegment = new Map<string, number[]>();
  const anySegment: number[] = [];
  t.patterns.forEach((p, i) => {
    const seg = firstSegment(p.glob.prefix, true);
    if (seg === undefined) anySegment.push(i);
    else { const l = bySegment.get(seg); if (l) l.push(i); else bySegment.set(seg, [i]); }
  });
  const count = t.dirs.length;
  const nodeFlags = new Uint8Array(count);
  t.dirs.forEach((node, i) => {
    nodeFlags[i] = (node.recursive.length > 0 ? NODE_RECURSIVE : 0) | (node.direct.length > 0 ? NODE_DIRECT : 0)
      | (node.children.size > 0 ? NODE_CHILDREN : 0);
  });
  const nodeDepth = new Int32Array(count);
  const nodeParent = new Int32Array(count).fill(-1);
  const nameOffset = new Int32Array(count);
  const parts: string[] = [];
  let offset = 0;
  let size = 8;
  while (size < count * 2) size *= 2;
  const slots = new Int32Array(size * 4).fill(-1);
  const slotMask = size - 1;
  // children always have higher ids than their parent (compile.ts appends them), so depths are
  // known when a node's children are visited
  const dirPath: string[] = new Array<string>(count).fill('/');
  t.dirs.forEach((node, parent) => {
    for (const [name, child] of node.children) {
      dirPath[child] = `${dirPath[parent] as string}${name}/`;
      nodeParent[child] = parent;
      nodeDepth[child] = (nodeDepth[parent] as number) + 1;
      nameOffset[child] = offset;
      parts.push(name);
      offset += name.length;
      const h = segmentHash(parent, name, 0, name.length);
      let slot = h & slotMask;
      while (slots[slot * 4] !== -1) slot = (slot + 1) & slotMask;
      if (name.length > LEN_MASK) throw new Error(`directory name of ${name.length} characters`); // cannot pass validation
      slots.set([child, parent, h, name.length | ((nodeFlags[child] as number) << 28)], slot * 4);
    }
  });
  // flat strings: a concatenation (rope) would be flattened on first use, or walked per character
  return {
    nodeFlags, nodeDepth, nodeParent, slots, slotMask, names: flat(parts.join('')), nameOffset, dirPath: dirPath.map(flat), bySegment, anySegment,
  };
}

/** FNV-1a over the parent id and the characters of s[start, end) (UTF-16 code units), folded. */
function segmentHash(parent: number, str: string, start: number, end: number): number {
  let h = Math.imul(0x811c9dc5 ^ parent, 0x01000193);
  for (let i = start; i < end; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}

/** `/etc/x` -> `etc`; with `complete`, undefined unless the segment is followed by '/'. */
function firstSegment(p: string, complete: boolean): string | undefined {
  if (p.charCodeAt(0) !== 47) return undefined;
  const slash = p.indexOf('/', 1);
  if (slash < 0) return complete ? undefined : p.slice(1);
  return p.slice(1, slash);
}

const hasDirRules = (t: PathTable): boolean => t.dirs.some((n) => n.recursive.length > 0 || n.direct.length > 0);

/**
 * A sequential copy of `s`: template literals and `join` may give ropes or slices of a larger
 * string (YAML values are slices of the whole source), which a comparison would read through an
 * extra object; the copy is one contiguous object (and lets the source be collected).
 */
const flat = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

/**
 * Walks the directory trie along `path` and returns where it stopped: `node * 2 + 1` when the
 * rest of the path is a file directly inside `node` and `node` has direct (non-recursive) rules,
 * else `node * 2`. The rules that apply are then node's `direct` (for +1) and the `recursive`
 * rules of node and its ancestors. Each segment is hashed in place while scanning for its '/'
 * and probed in the edge table: no substring, no Map, no allocation (measured 1.2-1.4x faster
 * than a substring and Map probe per level, whose hashes are never cached).
 * Edges are followed on (parent, hash, length) alone; one comparison of the node's whole
 * directory with the start of `path` then confirms every step at once. Should a hash collision
 * have led elsewhere, the walk is redone comparing each segment (walkTrieExact).
 * A segment without a matching (parent, hash, length) has no child of that name, so an early
 * stop needs no confirmation beyond the node it stopped at.
 */
function walkTrie(idx: TableIndex, path: string): number {
  const flags = idx.nodeFlags;
  const slots = idx.slots;
  const mask = idx.slotMask;
  const n = path.length;
  let node = 0;
  let f = flags[0] as number;
  let start = 1;
  let result: number;
  for (;;) {
    if ((f & NODE_CHILDREN) === 0) {
      // a leaf: only "is the rest one file name" matters, and only if the node has direct rules
      result = (f & NODE_DIRECT) !== 0 && path.indexOf('/', start) < 0 ? node * 2 + 1 : node * 2;
      break;
    }
    let h = Math.imul(0x811c9dc5 ^ node, 0x01000193);
    let slash = start;
    for (; slash < n; slash++) {
      const ch = path.charCodeAt(slash);
      if (ch === 47) break;
      h = Math.imul(h ^ ch, 0x01000193);
    }
    if (slash >= n) { result = (f & NODE_DIRECT) !== 0 ? node * 2 + 1 : node * 2; break; }
    h ^= h >>> 15;
    const len = slash - start;
    let slot = h & mask;
    let child = -1;
    for (;;) {
      const b = slot * 4;
      const c = slots[b] as number;
      if (c === -1) break;
      if (slots[b + 2] === h && slots[b + 1] === node) {
        const lf = slots[b + 3] as number;
        if ((lf & LEN_MASK) === len) { child = c; f = lf >>> 28; break; }
      }
      slot = (slot + 1) & mask;
    }
    if (child === -1) { result = node * 2; break; }
    node = child;
    start = slash + 1;
  }
  // lastIndexOf(d, 0) only tries position 0; measured 1.5-3x faster here than startsWith
  return node === 0 || path.lastIndexOf(idx.dirPath[node] as string, 0) === 0 ? result : walkTrieExact(idx, path);
}

/** walkTrie comparing every segment with the edge's name (after a hash collision). */
function walkTrieExact(idx: TableIndex, path: string): number {
  const flags = idx.nodeFlags;
  const slots = idx.slots;
  const mask = idx.slotMask;
  const names = idx.names;
  const offsets = idx.nameOffset;
  const n = path.length;
  let node = 0;
  let f = flags[0] as number;
  let start = 1;
  for (;;) {
    // segmentHash(node, path, start, slash), fused with the search for the next '/'
    let h = Math.imul(0x811c9dc5 ^ node, 0x01000193);
    let slash = start;
    for (; slash < n; slash++) {
      const ch = path.charCodeAt(slash);
      if (ch === 47) break;
      h = Math.imul(h ^ ch, 0x01000193);
    }
    if (slash >= n) return (f & NODE_DIRECT) !== 0 ? node * 2 + 1 : node * 2;
    if ((f & NODE_CHILDREN) === 0) return node * 2;
    h ^= h >>> 15;
    const len = slash - start;
    let slot = h & mask;
    let child = -1;
    for (;;) {
      const b = slot * 4;
      const c = slots[b] as number;
      if (c === -1) break;
      if (slots[b + 2] === h && slots[b + 1] === node && ((slots[b + 3] as number) & LEN_MASK) === len) {
        const off = offsets[c] as number;
        let k = 0;
        while (k < len && names.charCodeAt(off + k) === path.charCodeAt(start + k)) k++;
        if (k === len) { child = c; break; }
      }
      slot = (slot + 1) & mask;
    }
    if (child === -1) return node * 2;
    node = child;
    f = flags[child] as number;
    start = slash + 1;
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
