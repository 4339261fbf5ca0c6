// openCollector(): kernel events, decoded, enriched with the executable (process table)
// and the container (cgroup resolution), delivered to listeners and async iterators.
// Start-up order: validate -> seed process table -> load+attach (all classes off; tp_btf,
// or the raw_tracepoint build when tp_btf fails or is not wanted: logged, in stats().attach)
// -> cgroup, namespace and syscall maps -> classes on. close() runs the reverse: stop the drain thread
// (a last drain), deliver what is queued, free the BPF object, end iterators. Idempotent.
// Drops: kernel ring full (per CPU), drain->JS queue full (native), iterator queue full
// (drop newest), bad records (native check in copy delivery, decoder in ring delivery): all
// counted in stats(); `lost` is their sum. Delivery (config.delivery, stats().delivery): 'copy'
// batches are decoded by decodeBatch, 'ring' views of the ring by decodeRingBatch.
import { EventEmitter } from 'node:events';
import { CGROUP_MODE, type EventClass } from './layout.js';
import { pino, type Logger } from 'pino';
import { classMask, validate, type CgroupFilter, type CollectorConfig, type NamespaceFilter } from './config.js';
import { decodeBatch, decodeRingBatch, newDecodeCounters, type DecodeCounters } from './decode.js';
import type { CollectorEvent } from './events.js';
import { bpfObjectPath, loadNative, type NativeHandle, type NativeStats } from './native/index.js';
import { createProcessTable, type ProcessTable } from './proc-table.js';
import { createContainerResolver, type ContainerResolver } from './containers.js';

export type { CollectorEvent } from './events.js';
export type { CollectorConfig, NamespaceFilter, AttachMode, Delivery } from './config.js';

export type CollectorStats = {
  readonly kernel: {
    readonly emitted: number;
    readonly dropped: number;
    readonly filtered: number;
    readonly perCpu: { readonly emitted: readonly number[]; readonly dropped: readonly number[]; readonly filtered: readonly number[] };
    /** kernel batches (kernelBatchBytes) sent by the timer tick and when their task switched out;
     * the others went when full or before a process record */
    readonly batchFlushes: { readonly tick: number; readonly switch: number };
  };
  readonly native: Omit<NativeStats, 'kernel' | 'attachMode' | 'attachFallback' | 'capabilityError' | 'delivery'>;
  /** how batches reach JS: 'copy' (checked in native code, copied) or 'ring' (views of the ring, checked by the decoder) */
  readonly delivery: 'copy' | 'ring';
  /** per-CPU kernel batch bytes in use (0: off) */
  readonly kernelBatchBytes: number;
  readonly decoder: { readonly records: number; readonly bad: DecodeCounters['bad']; readonly badTotal: number };
  readonly events: { readonly delivered: number; readonly iteratorDropped: number; readonly listenerErrors: number };
  readonly processes: { readonly size: number; readonly evicted: number; readonly procLookups: number };
  /** how the syscall programs are attached; `fallback` says why tp_btf was not used ('' when it was, or when raw_tracepoint was asked for) */
  readonly attach: { readonly mode: 'tp_btf' | 'raw_tracepoint'; readonly fallback: string };
  /** capability events: whether the program is attached (else `error` says why) and the checks
   * not reported because they repeated one reported within the kernel's window (not a loss) */
  readonly capability: { readonly available: boolean; readonly error: string; readonly suppressed: number };
  /** kernel.dropped + native.droppedRecords + native.badRecords + decoder.badTotal + events.iteratorDropped */
  readonly lost: number;
};

export type FilterUpdate = {
  readonly classes?: readonly EventClass[];
  readonly cgroups?: CgroupFilter;
  readonly namespaces?: NamespaceFilter;
};

const NS_MODE = { all: 0, only: 1, except: 2 } as const;
const NS_KIND = { mnt: 1, pid: 2 } as const;

export type OpenOptions = Partial<CollectorConfig> & {
  /** logger for start-up notes (the attach fallback); default pino at info */
  readonly log?: Logger;
};

export interface Collector {
  /** every event from now on, until close(); buffered up to config.iteratorQueue */
  events(): AsyncIterableIterator<CollectorEvent>;
  [Symbol.asyncIterator](): AsyncIterableIterator<CollectorEvent>;
  /** synchronous delivery, no buffering; returns an unsubscribe function */
  onEvent(listener: (ev: CollectorEvent) => void): () => void;
  setFilter(update: FilterUpdate): void;
  stats(): CollectorStats;
  readonly config: CollectorConfig;
  readonly processes: ProcessTable;
  readonly containers: ContainerResolver;
  /** stops collection; resolves with the final stats once queued batches were delivered */
  close(): Promise<CollectorStats>;
}

const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);

type IterState = { queue: CollectorEvent[]; head: number; wake: (() => void) | undefined; done: boolean };

export async function openCollector(openOptions: OpenOptions = {}): Promise<Collector> {
  const { log: givenLog, ...options } = openOptions;
  const v = validate(options);
  if (!v.ok) throw new Error(`palisade collector: ${v.error}`);
  let config = v.value;
  const native = loadNative();
  const objectPath = config.objectPath ?? bpfObjectPath('palisade.bpf.o');
  const processes = createProcessTable({ seed: config.seedProcesses });
  const containers = createContainerResolver();
  const bootEpochMs = Date.now() - Number(native.bootTimeNs()) / 1e6;
  const counters = newDecodeCounters();
  const listeners = new Set<(ev: CollectorEvent) => void>();
  // the per-event loop walks a plain array, rebuilt when a listener comes or goes
  let listenerList: Array<(ev: CollectorEvent) => void> = [];
  const iters = new Set<IterState>();
  const closedEmitter = new EventEmitter();
  let delivered = 0, iteratorDropped = 0, listenerErrors = 0;
  let closed = false;
  let finalNative: NativeStats | undefined;
  const agentTgid = config.excludeSelf ? process.pid : 0;

  // consecutive events mostly come from the same cgroup: remember the last resolution once it
  // is settled (a container or a known host cgroup); an id the resolver cannot place yet (a
  // new container's first events) is asked again, since it retries after rescanMs — else a
  // run of events from one new cgroup would stay unresolved for good
  let lastCg = -1n;
  let lastSettled = false;
  let lastRef: CollectorEvent['container'];
  const dispatch = (ev: CollectorEvent): void => {
    const info = processes.observe(ev);
    ev.exe = ev.kind === 'exec' && ev.ret >= 0 ? ev.path : info?.exe ?? '';
    if (ev.cgroupId !== lastCg || !lastSettled) {
      lastRef = containers.resolve(ev.cgroupId, ev.pid);
      lastSettled = containers.settled(ev.cgroupId);
      lastCg = ev.cgroupId;
    }
    ev.container = lastRef;
    delivered++;
    for (let i = 0; i < listenerList.length; i++) {
      try {
        (listenerList[i] as (ev: CollectorEvent) => void)(ev);
      } catch {
        listenerErrors++; // a failing listener must not stop collection; counted in stats
      }
    }
    if (iters.size === 0) return;
    for (const it of iters) {
      if (it.queue.length - it.head >= config.iteratorQueue) { iteratorDropped++; continue; }
      it.queue.push(ev);
      const w = it.wake;
      if (w) { it.wake = undefined; w(); }
    }
  };
  const ctx = { bootEpochMs };
  const decode = config.delivery === 'ring' ? decodeRingBatch : decodeBatch;
  const onBatch = (buf: Buffer): void => { decode(buf, ctx, counters, dispatch); };
  const closedPromise = new Promise<void>((resolve) => closedEmitter.once('closed', resolve));

  const handle: NativeHandle = native.open({
    objectPath,
    ...(config.rawObjectPath !== undefined ? { rawObjectPath: config.rawObjectPath } : {}),
    attachMode: { auto: 0, tp_btf: 1, raw_tracepoint: 2 }[config.attachMode],
    delivery: config.delivery === 'ring' ? 1 : 0,
    ringBytes: config.ringBytes,
    batchBytes: config.batchBytes,
    pollMs: config.pollMs,
    maxQueuedBatches: config.maxQueuedBatches,
    classes: 0, // nothing until the filter maps are written
    agentTgid,
    cgroupMode: CGROUP_MODE[config.cgroups.mode],
    wakeupBytes: config.wakeupBytes,
    kernelBatchBytes: config.kernelBatchBytes,
  }, onBatch, () => closedEmitter.emit('closed'));

  let cgroupIds = new Set<bigint>();
  // namespace set entries as `${kind}:${inode}`
  let nsKeys = new Set<string>();
  const applyFilter = (): void => {
    const want = new Set(config.cgroups.ids);
    for (const id of cgroupIds) if (!want.has(id)) native.setCgroup(handle, id, false);
    for (const id of want) if (!cgroupIds.has(id)) native.setCgroup(handle, id, true);
    cgroupIds = want;
    const wantNs = new Set<string>();
    for (const kind of ['mnt', 'pid'] as const) for (const ino of config.namespaces[kind] ?? []) wantNs.add(`${kind}:${ino}`);
    const setNs = (key: string, present: boolean): void => {
      const [kind, ino] = key.split(':') as ['mnt' | 'pid', string];
      native.setNamespace(handle, NS_KIND[kind], Number(ino), present);
    };
    for (const k of nsKeys) if (!wantNs.has(k)) setNs(k, false);
    for (const k of wantNs) if (!nsKeys.has(k)) setNs(k, true);
    nsKeys = wantNs;
    // the config map last: a newly set mode never applies to a half-written set
    native.setConfig(handle, {
      classes: classMask(config.classes), agentTgid, cgroupMode: CGROUP_MODE[config.cgroups.mode], wakeupBytes: config.wakeupBytes,
      nsMode: NS_MODE[config.namespaces.mode], kernelBatchBytes: config.kernelBatchBytes,
    });
  };
  try {
    for (const nr of config.syscalls) native.setSyscall(handle, nr, true);
    applyFilter();
  } catch (err) {
    native.close(handle);
    throw err;
  }

  {
    const first = native.stats(handle);
    if (first.attachFallback) {
      const log = givenLog ?? pino({ level: 'info' }).child({ component: 'collector' });
      log.warn({ attachMode: first.attachMode, reason: first.attachFallback }, 'syscall programs attached as raw_tracepoint: tp_btf failed');
    }
    if (first.capabilityError && config.classes.includes('capability')) {
      const log = givenLog ?? pino({ level: 'info' }).child({ component: 'collector' });
      log.warn({ reason: first.capabilityError }, 'capability events are not available');
    }
  }

  const stats = (): CollectorStats => {
    const n = finalNative ?? native.stats(handle);
    const { kernel, attachMode, attachFallback, capabilityError, delivery: nativeDelivery, ...rest } = n;
    const badTotal = sum(Object.values(counters.bad));
    return {
      kernel: {
        emitted: sum(kernel.emitted), dropped: sum(kernel.dropped), filtered: sum(kernel.filtered), perCpu: kernel,
        batchFlushes: { tick: sum(kernel.flushTick), switch: sum(kernel.flushSwitch) },
      },
      native: rest,
      decoder: { records: counters.records, bad: { ...counters.bad }, badTotal },
      events: { delivered, iteratorDropped, listenerErrors },
      processes: { size: processes.size, evicted: processes.evicted, procLookups: processes.procLookups },
      attach: { mode: attachMode, fallback: attachFallback },
      capability: { available: capabilityError === '', error: capabilityError, suppressed: sum(kernel.capSuppressed) },
      delivery: nativeDelivery,
      kernelBatchBytes: config.wakeupBytes ? config.kernelBatchBytes : 0,
      lost: sum(kernel.dropped) + rest.droppedRecords + rest.badRecords + badTotal + iteratorDropped,
    };
  };

  const makeIterator = (): AsyncIterableIterator<CollectorEvent> => {
    const st: IterState = { queue: [], head: 0, wake: undefined, done: closed };
    iters.add(st);
    const finish = (): IteratorResult<CollectorEvent> => { iters.delete(st); st.done = true; return { done: true, value: undefined }; };
    const it: AsyncIterableIterator<CollectorEvent> = {
      async next() {
        for (;;) {
          if (st.head < st.queue.length) {
            const ev = st.queue[st.head++] as CollectorEvent;
            if (st.head > 4096 && st.head * 2 > st.queue.length) { st.queue = st.queue.slice(st.head); st.head = 0; }
            return { done: false, value: ev };
          }
          if (st.done) return finish();
          await new Promise<void>((resolve) => { st.wake = resolve; });
        }
      },
      async return() { return finish(); },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  };

  const collector: Collector = {
    get config() { return config; },
    processes,
    containers,
    events: makeIterator,
    [Symbol.asyncIterator]: makeIterator,
    onEvent(listener) {
      listeners.add(listener);
      listenerList = [...listeners];
      return () => { listeners.delete(listener); listenerList = [...listeners]; };
    },
    setFilter(update) {
      if (closed) throw new Error('palisade collector: setFilter after close');
      const next = validate({ ...config, ...update });
      if (!next.ok) throw new Error(`palisade collector: ${next.error}`);
      config = next.value;
      applyFilter();
    },
    stats,
    async close() {
      if (!closed) {
        closed = true;
        native.close(handle); // joins the drain thread after its last drain
        const snap = native.stats(handle);
        await closedPromise; // queued batches delivered, BPF object freed
        finalNative = snap;
        for (const it of iters) {
          it.done = true;
          const w = it.wake;
          if (w) { it.wake = undefined; w(); }
        }
      }
      return stats();
    },
  };
  return collector;
}
