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
// The hot path allocates nothing but path-segment substrings: decisions are cached per rule.
import { globMatches } from './glob.js';
import {
  ACTION_ALLOW, ACTION_AUDIT, ACTION_BLOCK, FLAG_OWNER_ONLY, FLAG_READ_ONLY,
  type Entry, type KeyTable, type PathClassTable, type PathTable, type TableSet,
} from './tables.js';
import type { Action, Decision, Operation, Posture } from './types.js';

export interface Matcher {
  readonly tables: TableSet;
  decide(op: Operation): Decision;
}

const PASS: Decision = Object.freeze({ matched: false, action: 'Allow', tags: Object.freeze([]) as readonly string[] });
const NO_ENTRY = -1;
const RANK_EXACT = 1 << 30;
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

function matchPath(s: Scratch, t: PathTable, path: string): void {
  const exact = t.exact.get(path);
  if (exact !== undefined) consider(s, exact, RANK_EXACT);
  const dirs = t.dirs;
  let node = dirs[0];
  if (node !== undefined && (dirs.length > 1 || node.recursive.length > 0 || node.direct.length > 0)) {
    let depth = 0;
    if (node.recursive.length > 0) consider(s, node.recursive, RANK_DIR);
    let start = 1;
    for (;;) {
      const slash = path.indexOf('/', start);
      if (slash < 0) {
        if (node.direct.length > 0) consider(s, node.direct, RANK_DIR + depth * 2 + 1);
        break;
      }
      if (node.children.size === 0) break;
      const child = node.children.get(path.substring(start, slash));
      if (child === undefined) break;
      node = dirs[child];
      if (node === undefined) break;
      depth++;
      if (node.recursive.length > 0) consider(s, node.recursive, RANK_DIR + depth * 2);
      start = slash + 1;
    }
  }
  for (const p of t.patterns) if (globMatches(p.glob, path)) consider(s, p.entries, RANK_PATTERN);
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
      d = Object.freeze({
        matched: true, action: ACTIONS[act] as Action, type: m.type, policyName: m.policyName,
        severity: m.severity, tags: m.tags, ...(m.message !== '' ? { message: m.message } : {}),
      });
      cache[k] = d;
    }
    return d;
  };
  const postureDecision = (p: Posture): Decision => {
    let d = posture.get(p);
    if (d === undefined) {
      d = Object.freeze({ matched: true, action: p === 'block' ? 'Block' : 'Audit', type: 'DefaultPosture', policyName: 'DefaultPosture', tags: Object.freeze([]) as readonly string[] });
      posture.set(p, d);
    }
    return d;
  };

  /** Steps 1 (source first) and 4-5 for one class whose tables are T. */
  function resolve<T>(cls: { any: T; bySource: ReadonlyMap<string, T>; allowAll: boolean; allowSources: ReadonlySet<string> },
    source: string | undefined, run: (t: T) => void, pst: Posture): Decision {
    s.enf = NO_ENTRY; s.enfAct = 0; s.enfRank = -1; s.audit = NO_ENTRY; s.auditRank = -1;
    if (source !== undefined && cls.bySource.size > 0) {
      const st = cls.bySource.get(source);
      if (st !== undefined) run(st);
    }
    if (s.enf === NO_ENTRY) {
      const auditFromSource = s.audit;
      run(cls.any);
      if (auditFromSource !== NO_ENTRY) s.audit = auditFromSource;
    } else if (s.audit === NO_ENTRY) {
      // the source decided enforcement; generic Audit rules still apply
      const enf = s.enf; const act = s.enfAct; const rank = s.enfRank;
      run(cls.any);
      s.enf = enf; s.enfAct = act; s.enfRank = rank;
    }
    if (s.enf !== NO_ENTRY) {
      if (s.enfAct === ACTION_BLOCK) return ruleDecision(s.enf, ACTION_BLOCK);
      if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
      return ruleDecision(s.enf, ACTION_ALLOW);
    }
    if (cls.allowAll || (source !== undefined && cls.allowSources.has(source))) {
      if (pst === 'block') return postureDecision('block');
      if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
      return postureDecision('audit');
    }
    if (s.audit !== NO_ENTRY) return ruleDecision(s.audit, ACTION_AUDIT);
    return PASS;
  }

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
          const cls: PathClassTable = op.class === 'process' ? tables.process : tables.file;
          const path = op.path;
          return resolve(cls, op.source, (t) => matchPath(s, t, path), tables.posture.file);
        }
        case 'network': {
          s.write = false; s.owner = undefined;
          const proto = op.protocol.toLowerCase();
          return resolve(tables.network, op.source, (t) => matchKey(s, t, proto, true), tables.posture.network);
        }
        case 'capabilities': {
          s.write = false; s.owner = undefined;
          let cap = op.capability.toLowerCase();
          if (cap.startsWith('cap_')) cap = cap.slice(4);
          return resolve(tables.capabilities, op.source, (t) => matchKey(s, t, cap, false), tables.posture.capabilities);
        }
        case 'syscalls':
          return decideSyscall(op);
        default:
          return PASS;
      }
    },
  };
}
