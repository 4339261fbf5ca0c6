// The compiled rule tables of one workload: the contract between the compiler, the TypeScript
// matcher and the native fanotify responder (see README.md for the layout). Plain data only:
// Maps, arrays and numbers, never closures. A TableSet is immutable once built; a policy change
// builds a new one and `TableStore.swap` replaces the reference in one step, so a reader that took
// `current()` sees one consistent set for its whole decision.
import type { CompiledGlob } from './glob.js';
import type { AlertType, OpClass, Posture, SourceMatch } from './types.js';

/** Action codes inside entries. */
export const ACTION_ALLOW = 0;
export const ACTION_AUDIT = 1;
export const ACTION_BLOCK = 2;
export const FLAG_READ_ONLY = 1;
export const FLAG_OWNER_ONLY = 2;

/**
 * A rule reference packed in one unsigned 32-bit integer:
 * bits 0-1 flags (FLAG_*), bits 2-3 action (ACTION_*), bits 4-31 index into TableSet.rules.
 */
export type Entry = number;
export const packEntry = (rule: number, action: number, flags: number): Entry => ((rule << 4) | (action << 2) | flags) >>> 0;
export const entryRule = (e: Entry): number => e >>> 4;
export const entryAction = (e: Entry): number => (e >>> 2) & 3;
export const entryFlags = (e: Entry): number => e & 3;

/** One directory of the prefix trie; node 0 is '/'. */
export type DirNode = {
  readonly children: ReadonlyMap<string, number>;
  /** rules of `dir` without `recursive`: files directly inside this directory */
  readonly direct: readonly Entry[];
  /** rules of `dir` with `recursive: true`: everything below this directory */
  readonly recursive: readonly Entry[];
};

export type PathTable = {
  readonly exact: ReadonlyMap<string, readonly Entry[]>;
  readonly dirs: readonly DirNode[];
  readonly patterns: readonly { readonly glob: CompiledGlob; readonly entries: readonly Entry[] }[];
};

/** Table of a keyed class (network protocol, capability name). Key 'all' matches every protocol. */
export type KeyTable = ReadonlyMap<string, readonly Entry[]>;

type PerSource<T> = {
  /** rules without fromSource */
  readonly any: T;
  /** rules with fromSource, per source executable path */
  readonly bySource: ReadonlyMap<string, T>;
  /** least-permissive mode for every source: an Allow rule without fromSource exists */
  readonly allowAll: boolean;
  /** least-permissive mode for these sources only: Allow rules with fromSource */
  readonly allowSources: ReadonlySet<string>;
};

export type PathClassTable = PerSource<PathTable>;
export type KeyClassTable = PerSource<KeyTable>;

export type SyscallRule = {
  readonly syscalls: ReadonlySet<string>;
  readonly path?: string;
  readonly dir?: string;
  readonly recursive: boolean;
  readonly fromSource: readonly SourceMatch[];
  readonly entry: Entry;
};

export type RuleMeta = {
  readonly policyName: string;
  readonly type: AlertType;
  readonly class: OpClass;
  readonly action: 'Allow' | 'Audit' | 'Block';
  readonly severity: number;
  readonly tags: readonly string[];
  readonly message: string;
  readonly where: string;
};

export type TableSet = {
  readonly version: number;
  readonly workload: string;
  readonly rules: readonly RuleMeta[];
  /** resolved default posture; process operations use `file` */
  readonly posture: { readonly file: Posture; readonly network: Posture; readonly capabilities: Posture };
  readonly process: PathClassTable;
  readonly file: PathClassTable;
  readonly network: KeyClassTable;
  readonly capabilities: KeyClassTable;
  readonly syscalls: readonly SyscallRule[];
};

export interface TableStore {
  current(): TableSet | undefined;
  /** Installs `next` and returns the set it replaced. */
  swap(next: TableSet): TableSet | undefined;
}

export function createTableStore(initial?: TableSet): TableStore {
  let cur = initial;
  return {
    current: () => cur,
    swap(next) {
      const prev = cur;
      cur = next;
      return prev;
    },
  };
}

/** JSON form for native consumers and `palisade policy compile --json`: Maps become objects, Sets arrays. */
export function tablesToJSON(t: TableSet): unknown {
  const conv = (v: unknown): unknown => {
    if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), conv(x)]));
    if (v instanceof Set) return [...v].map(conv);
    if (Array.isArray(v)) return v.map(conv);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x)]));
    return v;
  };
  return conv(t);
}
