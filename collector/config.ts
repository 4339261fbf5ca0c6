// Options of openCollector(): typed, with defaults and validation.
import { CLASS, CGROUP_MODE, EVENT_CLASSES, type EventClass } from './layout.js';

export type CgroupFilter = {
  /** 'all' (default), 'only' the listed cgroups, or every cgroup 'except' them */
  readonly mode: keyof typeof CGROUP_MODE;
  readonly ids: readonly bigint[];
};

export type CollectorConfig = {
  /** ring buffer size in bytes: a power of two, at least 4096 (default 8 MiB) */
  readonly ringBytes: number;
  /** bytes per batch handed to JS (default 256 KiB, at least 64 KiB) */
  readonly batchBytes: number;
  /** longest time a record waits in the ring before delivery, ms (default 20) */
  readonly pollMs: number;
  /** batches in flight between the drain thread and JS (a reused pool); when JS holds them all, the drain thread
   * waits and records wait in the kernel ring, whose overflow is counted in kernel.dropped (default 64) */
  readonly maxQueuedBatches: number;
  /** the kernel wakes the drain thread early once this much data is pending (default ringBytes/8) */
  readonly wakeupBytes: number;
  readonly classes: readonly EventClass[];
  readonly cgroups: CgroupFilter;
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
};

export function defaultConfig(): CollectorConfig {
  return {
    ringBytes: 8 << 20,
    batchBytes: 256 << 10,
    pollMs: 20,
    maxQueuedBatches: 64,
    wakeupBytes: 1 << 20,
    classes: ['process', 'file', 'network'],
    cgroups: { mode: 'all', ids: [] },
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
  for (const k of c.classes) if (!EVENT_CLASSES.includes(k)) return { ok: false, error: `classes: unknown event class '${k}' (one of ${EVENT_CLASSES.join(', ')})` };
  if (!(c.cgroups.mode in CGROUP_MODE)) return { ok: false, error: `cgroups.mode: '${c.cgroups.mode}' must be all, only or except` };
  for (const n of c.syscalls) if (!Number.isInteger(n) || n < 0 || n >= 512) return { ok: false, error: `syscalls: ${n} must be a syscall number 0..511` };
  if (!Number.isInteger(c.iteratorQueue) || c.iteratorQueue < 1) return { ok: false, error: `iteratorQueue: ${c.iteratorQueue} must be a positive integer` };
  return { ok: true, value: c };
}

export function classMask(classes: readonly EventClass[]): number {
  return classes.reduce((m, k) => m | CLASS[k], 0);
}
