// Typed loader for the N-API addon (collector/native/src/addon.c) and the BPF objects.
// Finds both relative to the repository root whether running from sources (tsx) or dist/.
// Env overrides: PALISADE_NATIVE_ADDON (the .node file), PALISADE_BPF_DIR (bpf/build).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NativeConfig = {
  readonly classes: number;
  readonly agentTgid: number;
  readonly cgroupMode: number;
  readonly wakeupBytes: number;
  /** PAL_NS_ALL 0 / ONLY 1 / EXCEPT 2 (the set: setNamespace) */
  readonly nsMode?: number;
  /** per-CPU kernel batch bytes (pal_config.batch_bytes; 0 or absent: none) */
  readonly kernelBatchBytes?: number;
};

export type NativeOpenOptions = NativeConfig & {
  /** the object with tp_btf syscall programs (bpf/build/palisade.bpf.o) */
  readonly objectPath: string;
  /** the raw_tracepoint build of the same programs (default: objectPath with -raw.bpf.o) */
  readonly rawObjectPath?: string;
  /** 0 auto (tp_btf, raw_tracepoint when tp_btf fails), 1 tp_btf only, 2 raw_tracepoint only */
  readonly attachMode?: number;
  /** 0 copy (checked records copied into pooled batches, frames [u32 len | hints][record]),
   * 1 ring (zero copy: read-only views of the ring in ring layout, unchecked, released in order) */
  readonly delivery?: number;
  readonly ringBytes: number;
  readonly batchBytes: number;
  readonly pollMs: number;
  readonly maxQueuedBatches: number;
};

export type NativeStats = {
  readonly ringRecords: number;
  /** ring records read (a kernel batch is one ring record holding several records) */
  readonly ringFrames: number;
  readonly ringBytes: number;
  readonly badRecords: number;
  readonly deliveredRecords: number;
  readonly deliveredBytes: number;
  readonly deliveredBatches: number;
  readonly droppedRecords: number;
  readonly droppedBytes: number;
  readonly droppedBatches: number;
  readonly allocFailures: number;
  /** times the drain thread waited for JS to give a batch back (records waited in the ring) */
  readonly poolWaits: number;
  /** batches allocated in the pool (at most maxQueuedBatches) */
  readonly poolBatches: number;
  /** batches whose ArrayBuffer JS transferred away: left the pool, never reused */
  readonly poolForgotten: number;
  readonly batchHistogram: readonly number[];
  readonly kernel: {
    readonly emitted: readonly number[]; readonly dropped: readonly number[]; readonly filtered: readonly number[];
    /** capability checks not reported: repeats within the kernel's window (per CPU) */
    readonly capSuppressed: readonly number[];
    /** kernel batches sent by the timer tick / when their task switched out (per CPU) */
    readonly flushTick: readonly number[];
    readonly flushSwitch: readonly number[];
  };
  /** why capability events are unavailable ('' when the capability program is attached) */
  readonly capabilityError: string;
  /** how the syscall programs are attached */
  readonly attachMode: 'tp_btf' | 'raw_tracepoint';
  /** why tp_btf was not used after an automatic fallback ('' otherwise) */
  readonly attachFallback: string;
  /** how batches are delivered (open's `delivery`) */
  readonly delivery: 'copy' | 'ring';
};

export type ProbeResult = {
  readonly programs: Readonly<Record<string, { readonly load: string; readonly attach: string }>>;
  readonly fanotify: { readonly init: string; readonly permissionMark: string };
};

declare const handleBrand: unique symbol;
export type NativeHandle = { readonly [handleBrand]: true };

export interface NativeAddon {
  /** onBatch's Buffer is lent for the call only: it is detached (empty) once onBatch returns.
   * With delivery 1 (ring) it is read-only memory: writing to it crashes the process. */
  open(options: NativeOpenOptions, onBatch: (batch: Buffer, records: number) => void, onClosed: () => void): NativeHandle;
  close(handle: NativeHandle): void;
  stats(handle: NativeHandle): NativeStats;
  setConfig(handle: NativeHandle, config: NativeConfig): void;
  setCgroup(handle: NativeHandle, id: bigint, present: boolean): void;
  setSyscall(handle: NativeHandle, nr: number, on: boolean): void;
  /** kind 1: mount namespace, 2: pid namespace (inode numbers) */
  setNamespace(handle: NativeHandle, kind: 1 | 2, inode: number, present: boolean): void;
  batchCheck(batch: Buffer): { readonly good: number; readonly bad: number };
  /** the same over a batch in ring layout (ring delivery) */
  ringBatchCheck(batch: Buffer): { readonly good: number; readonly bad: number };
  layout(): Readonly<Record<string, number>>;
  probe(objectPath?: string): ProbeResult;
  bootTimeNs(): bigint;
}

/** The repository root: the nearest ancestor holding bpf/Makefile. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'bpf', 'Makefile')) && existsSync(join(dir, 'collector'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('palisade: cannot find the repository root (bpf/Makefile) above ' + fileURLToPath(import.meta.url));
}

export function bpfObjectPath(name: string): string {
  const dir = process.env.PALISADE_BPF_DIR ?? join(repoRoot(), 'bpf', 'build');
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`palisade: BPF object ${path} is missing; run 'make build-bpf'`);
  return path;
}

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = process.env.PALISADE_NATIVE_ADDON
    ?? join(repoRoot(), 'collector', 'native', 'build', 'Release', 'palisade_collector.node');
  if (!existsSync(path)) throw new Error(`palisade: native addon ${path} is missing; run 'make build-native'`);
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeAddon;
  return cached;
}
