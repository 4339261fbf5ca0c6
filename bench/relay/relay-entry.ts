// `palisade relay` for the benchmark, compiled (bench/relay/tsconfig.json) so the
// relay runs as plain JS without tsx: the same run() that cli/main.ts dispatches to
// for `palisade relay`, without compiling every other command.
// Diagnostics for the bench (not part of the relay): event-loop delay
// (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and GC pauses (PerformanceObserver
// 'gc'). SIGUSR2 prints one JSON line {"bench":{...}} with the figures since the last
// SIGUSR2 and resets them, so run.ts reads exactly its measured window.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { run } from '../../cli/commands/relay.js';
import { SPOOL_SYNC_CHANNEL, SPOOL_WRITE_CHANNEL, type SpoolSyncMessage, type SpoolWriteMessage } from '../../relay/spool/spool.js';

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
let gcMs = 0;
let gcMaxMs = 0;
let gcMajor = 0;
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcCount++;
    if (e.duration > gcMaxMs) gcMaxMs = e.duration;
    const kind = ((e as unknown as { detail?: { kind?: number } }).detail)?.kind;
    if (kind === 4 /* NODE_PERFORMANCE_GC_MAJOR */) gcMajor++;
    if (TRACE && e.duration > 5) gcs.push([slotNow(), Math.round(e.duration), kind ?? 0]);
  }
}).observe({ entryTypes: ['gc'] });
// BENCH_TRACE=1: event-loop stalls over 20 ms and GC pauses over 5 ms, stamped with the
// 100 ms slot of the monotonic clock (as the clients' latency trace), printed on stderr at
// each SIGUSR2 ("relaytrace stalls [[slot, ms]...] gc [[slot, ms, kind]...]").
const TRACE = process.env['BENCH_TRACE'] === '1';
const stalls: Array<[number, number]> = [];
const gcs: Array<[number, number, number]> = [];
const slotNow = (): number => Math.floor(Number(process.hrtime.bigint()) / 1e8) % 10000;
if (TRACE) {
  let last = process.hrtime.bigint();
  setInterval(() => {
    const now = process.hrtime.bigint();
    const lateMs = Number(now - last) / 1e6 - 5;
    if (lateMs > 20) stalls.push([slotNow(), Math.round(lateMs)]);
    last = now;
  }, 5).unref();
}
/** Milliseconds of each message on a spool channel; take() returns them sorted and starts afresh. */
function spoolTimes(name: string): { take(): number[] } {
  let ms: number[] = [];
  subscribe(name, (m) => {
    if (ms.length < 1_000_000) ms.push((m as SpoolSyncMessage | SpoolWriteMessage).seconds * 1000);
  });
  return { take: () => { const t = ms.sort((a, b) => a - b); ms = []; return t; } };
}
// peaks of V8's heap and of off-heap memory between two SIGUSR2 (sampled every 250 ms): what
// the RSS peak is made of
let heapTotalPeak = 0;
let externalPeak = 0;
setInterval(() => {
  const m = process.memoryUsage();
  heapTotalPeak = Math.max(heapTotalPeak, m.heapTotal);
  externalPeak = Math.max(externalPeak, m.external);
}, 250).unref();
// the spool's syncs (each fdatasync's time) and group writes (each pwritev's time in the thread pool, issue to completion)
const spoolSyncs = spoolTimes(SPOOL_SYNC_CHANNEL);
const spoolWrites = spoolTimes(SPOOL_WRITE_CHANNEL);
const pct = (sorted: readonly number[], q: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number;

process.on('SIGUSR2', () => {
  const sw = spoolSyncs.take();
  const ww = spoolWrites.take();
  if (TRACE) {
    process.stderr.write(`relaytrace stalls ${JSON.stringify(stalls)} gc ${JSON.stringify(gcs)}\n`);
    stalls.length = 0;
    gcs.length = 0;
  }
  const ms = (ns: number): number => ns / 1e6;
  const heap = process.memoryUsage();
  process.stdout.write(JSON.stringify({ bench: {
    eldP50ms: ms(eld.percentile(50)), eldP99ms: ms(eld.percentile(99)), eldMaxms: ms(eld.max),
    gcMs, gcMaxMs, gcCount, gcMajor, spoolSyncs: sw.length, spoolSyncP50ms: pct(sw, 0.5), spoolSyncP99ms: pct(sw, 0.99), spoolSyncMaxms: sw.length === 0 ? 0 : sw[sw.length - 1] as number, spoolWrites: ww.length, spoolWriteP99ms: pct(ww, 0.99), spoolWriteMaxms: ww.length === 0 ? 0 : ww[ww.length - 1] as number, spoolWriteSumms: ww.reduce((a, b) => a + b, 0), heapUsedMiB: heap.heapUsed / 2 ** 20, heapTotalMiB: heap.heapTotal / 2 ** 20, externalMiB: heap.external / 2 ** 20, arrayBuffersMiB: heap.arrayBuffers / 2 ** 20,
    heapTotalPeakMiB: heapTotalPeak / 2 ** 20, externalPeakMiB: externalPeak / 2 ** 20,
  } }) + '\n');
  eld.reset();
  heapTotalPeak = 0;
  externalPeak = 0;
  gcMs = 0;
  gcMaxMs = 0;
  gcMajor = 0;
  gcCount = 0;
});

process.exitCode = await run(process.argv.slice(2));
