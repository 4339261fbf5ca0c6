// Options of openCollector(): typed, with defaults and validation.
import { CLASS, CGROUP_MODE, EVENT_CLASSES, type EventClass } from './layout.js';

export type CgroupFilter = {
  /** 'all' (default), 'only' the listed cgroups, or every cgroup 'except' them */
  readonly mode: keyof typeof CGROUP_MODE;
  readonly ids: readonly bigint[];
};

/** Namespace filter (kernel side): a task passes when its mount namespace or its own pid
 * namespace is in the set ('only'), or neither is ('except'). Inode numbers as in
 * /proc/<pid>/ns/mnt -> mnt:[4026531841]. Exact inodes: a namespace created inside a listed one
 * is a different namespace (use cgroups to follow a container whatever it unshares). */
export type NamespaceFilter = {
  readonly mode: 'all' | 'only' | 'except';
  readonly mnt?: readonly number[];
  readonly pid?: readonly number[];
};

/** how the syscall programs attach: tp_btf (direct loads, cheaper), raw_tracepoint (probe reads;
 * for kernels that refuse tp_btf), or auto (tp_btf, falling back to raw_tracepoint) */
export type AttachMode = 'auto' | 'tp_btf' | 'raw_tracepoint';
export const ATTACH_MODES: readonly AttachMode[] = ['auto', 'tp_btf', 'raw_tracepoint'];
/** environment variable that sets the default attachMode (an explicit option wins) */
export const ATTACH_ENV = 'PALISADE_COLLECTOR_ATTACH';
/** how batches reach JS: 'ring' (default; zero copy: the drain thread reads only record headers
 * and lends JS read-only views of the ring itself, released in ring order; the decoder checks
 * every record; no string hints; JS-held ranges are ring space the kernel cannot use, so a slow
 * consumer makes the kernel drop (counted) sooner than with 'copy') or 'copy' (the drain thread
 * checks each record and copies it into a pooled batch with string hints for the decoder; the
 * pool, up to maxQueuedBatches x batchBytes, buffers beyond the ring). Measured in
 * collector/README.md: ring drains ~3x faster and costs less CPU per event. */
export type Delivery = 'copy' | 'ring';
export const DELIVERIES: readonly Delivery[] = ['copy', 'ring'];
/** environment variable that sets the default delivery (an explicit option wins) */
export const DELIVERY_ENV = 'PALISADE_COLLECTOR_DELIVERY';
/** environment variable that sets the default kernelBatchBytes (an explicit option wins) */
export const KERNEL_BATCH_ENV = 'PALISADE_COLLECTOR_KERNEL_BATCH';
/** the largest per-CPU kernel batch (KBATCH_MAX in bpf/palisade.bpf.c) */
export const KERNEL_BATCH_MAX = 8192;
/** at most this many namespaces in the kernel set (the pal_ns map's size) */
export const MAX_NAMESPACES = 4096;

export type CollectorConfig = {
  /** ring buffer size in bytes: a power of two, at least 4096 (default 8 MiB) */
  readonly ringBytes: number;
  /** bytes per batch handed to JS (default 256 KiB, at least 64 KiB) */
  readonly batchBytes: number;
  /** longest time a record waits in the ring before delivery, ms (default 20) */
  readonly pollMs: number;
  /** batches in flight between the drain thread and JS (a reused pool: batches with 'copy' delivery, range
   * descriptors with 'ring'); when JS holds them all, the drain thread waits and records wait in the kernel ring,
   * whose overflow is counted in kernel.dropped (default 64) */
  readonly maxQueuedBatches: number;
  /** the kernel wakes the drain thread early once this much data is pending (default ringBytes/8) */
  readonly wakeupBytes: number;
  /** per-CPU kernel batches: up to this many bytes of file, network, syscall and capability records
   * go to the ring as one ring record (one ring write per batch, not per record). A record waits
   * in its batch at most until its task switches out, a process event, or the next timer tick.
   * Costs every context switch on the machine a BPF program run while on. Default
   * $PALISADE_COLLECTOR_KERNEL_BATCH, else 0 (off: one ring record per record); at most 8192; not used when wakeupBytes is 0. See collector/README.md
   * (Kernel batches) for what it saves and costs here */
  readonly kernelBatchBytes: number;
  readonly classes: readonly EventClass[];
  readonly cgroups: CgroupFilter;
  /** combined with the cgroup filter: an event must pass both (default all) */
  readonly namespaces: NamespaceFilter;
  /** default: $PALISADE_COLLECTOR_ATTACH, else 'auto' */
  readonly attachMode: AttachMode;
  /** default: $PALISADE_COLLECTOR_DELIVERY, else 'ring' */
  readonly delivery: Delivery;
  /** never report this process (default true) */
  readonly excludeSelf: boolean;
  /** syscall numbers reported as raw 'syscall' events when the 'syscall' class is on */
  readonly syscalls: readonly number[];
  /** events buffered for the async iterator; beyond it new events are dropped and counted (default 65536) */
  readonly iteratorQueue: number;
  /** seed the process table from /proc (default true) */
  readonly seedProcesses: boolean;
  /** path of palisade.bpf.o (default: bpf/build/palisade.bpf.o) */
  readonly objectPath?: string;
  /** path of the raw_tracepoint build (default: objectPath with -raw.bpf.o) */
  readonly rawObjectPath?: string;
};

export function defaultConfig(): CollectorConfig {
  return {
    ringBytes: 8 << 20,
    batchBytes: 256 << 10,
    pollMs: 20,
    maxQueuedBatches: 64,
    wakeupBytes: 1 << 20,
    kernelBatchBytes: process.env[KERNEL_BATCH_ENV] === undefined ? 0 : Number(process.env[KERNEL_BATCH_ENV]),
    classes: ['process', 'file', 'network'],
    cgroups: { mode: 'all', ids: [] },
    namespaces: { mode: 'all' },
    attachMode: (process.env[ATTACH_ENV] ?? 'auto') as AttachMode,
    delivery: (process.env[DELIVERY_ENV] ?? 'ring') as Delivery,
    excludeSelf: true,
    syscalls: [],
    iteratorQueue: 65536,
    seedProcesses: true,
  };
}

export type ConfigResult = { ok: true; value: CollectorConfig } | { ok: false; error: string };

export function validate(partial: Partial<CollectorConfig>): ConfigResult {
  const d = defaultConfig();
  const c: CollectorConfig = {
    ...d,
    ...partial,
    wakeupBytes: partial.wakeupBytes ?? Math.min(d.wakeupBytes, Math.max(4096, Math.floor((partial.ringBytes ?? d.ringBytes) / 8))),
  };
  const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!isPow2(c.ringBytes) || c.ringBytes < 4096 || c.ringBytes > 1 << 30) return { ok: false, error: `ringBytes: ${c.ringBytes} must be a power of two between 4096 and 1 GiB` };
  if (!Number.isInteger(c.batchBytes) || c.batchBytes < 65536 || c.batchBytes > 64 << 20) return { ok: false, error: `batchBytes: ${c.batchBytes} must be an integer between 65536 and 64 MiB` };
  if (!Number.isInteger(c.pollMs) || c.pollMs < 1 || c.pollMs > 10_000) return { ok: false, error: `pollMs: ${c.pollMs} must be 1..10000` };
  if (!Number.isInteger(c.maxQueuedBatches) || c.maxQueuedBatches < 1 || c.maxQueuedBatches > 100_000) return { ok: false, error: `maxQueuedBatches: ${c.maxQueuedBatches} must be 1..100000` };
  if (!Number.isInteger(c.wakeupBytes) || c.wakeupBytes < 0) return { ok: false, error: `wakeupBytes: ${c.wakeupBytes} must be a non-negative integer` };
  if (!Number.isInteger(c.kernelBatchBytes) || c.kernelBatchBytes < 0 || c.kernelBatchBytes > KERNEL_BATCH_MAX) {
    const from = partial.kernelBatchBytes === undefined ? ` (from $${KERNEL_BATCH_ENV}='${process.env[KERNEL_BATCH_ENV]}')` : '';
    return { ok: false, error: `kernelBatchBytes: ${c.kernelBatchBytes} must be an integer between 0 and ${KERNEL_BATCH_MAX}${from}` };
  }
  // a batch must fit the ring many times over: the environment's default is capped to it, an
  // explicit option that does not fit is refused
  const batchCap = Math.floor(c.ringBytes / 8);
  if (c.kernelBatchBytes > batchCap && partial.kernelBatchBytes !== undefined) {
    return { ok: false, error: `kernelBatchBytes: ${c.kernelBatchBytes} must be at most ringBytes/8 (${batchCap})` };
  }
  for (const k of c.classes) if (!EVENT_CLASSES.includes(k)) return { ok: false, error: `classes: unknown event class '${k}' (one of ${EVENT_CLASSES.join(', ')})` };
  if (!(c.cgroups.mode in CGROUP_MODE)) return { ok: false, error: `cgroups.mode: '${c.cgroups.mode}' must be all, only or except` };
  const ns = validateNamespaces(c.namespaces);
  if (ns) return { ok: false, error: ns };
  if (!ATTACH_MODES.includes(c.attachMode)) {
    return { ok: false, error: `attachMode: '${String(c.attachMode)}' must be ${ATTACH_MODES.join(', ')}${partial.attachMode === undefined ? ` (from $${ATTACH_ENV})` : ''}` };
  }
  if (!DELIVERIES.includes(c.delivery)) {
    return { ok: false, error: `delivery: '${String(c.delivery)}' must be ${DELIVERIES.join(' or ')}${partial.delivery === undefined ? ` (from $${DELIVERY_ENV})` : ''}` };
  }
  for (const n of c.syscalls) if (!Number.isInteger(n) || n < 0 || n >= 512) return { ok: false, error: `syscalls: ${n} must be a syscall number 0..511` };
  if (!Number.isInteger(c.iteratorQueue) || c.iteratorQueue < 1) return { ok: false, error: `iteratorQueue: ${c.iteratorQueue} must be a positive integer` };
  return { ok: true, value: c.kernelBatchBytes > batchCap ? { ...c, kernelBatchBytes: batchCap } : c };
}

/** A namespace inode number: a positive 32-bit integer. */
export function isNamespaceInode(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 0xffffffff;
}

function validateNamespaces(f: NamespaceFilter): string | undefined {
  if (!['all', 'only', 'except'].includes(f.mode)) return `namespaces.mode: '${String(f.mode)}' must be all, only or except`;
  let total = 0;
  for (const kind of ['mnt', 'pid'] as const) {
    const list = f[kind] ?? [];
    if (!Array.isArray(list)) return `namespaces.${kind}: must be an array of namespace inode numbers`;
    for (let i = 0; i < list.length; i++) {
      if (!isNamespaceInode(list[i])) return `namespaces.${kind}[${i}]: '${String(list[i])}' is not a namespace inode number (an integer 1..4294967295, as in /proc/<pid>/ns/${kind} -> ${kind}:[N])`;
    }
    total += list.length;
  }
  if (total > MAX_NAMESPACES) return `namespaces: ${total} entries, at most ${MAX_NAMESPACES}`;
  return undefined;
}

export function classMask(classes: readonly EventClass[]): number {
  return classes.reduce((m, k) => m | CLASS[k], 0);
}
