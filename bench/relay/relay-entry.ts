// `palisade relay` for the benchmark, compiled (bench/relay/tsconfig.json) so the
// relay runs as plain JS without tsx: the same run() that cli/main.ts dispatches to
// for `palisade relay`, without compiling every other command.
// Diagnostics for the bench (not part of the relay): event-loop delay
// (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and GC pauses (PerformanceObserver
// 'gc'). SIGUSR2 prints one JSON line {"bench":{...}} with the figures since the last
// SIGUSR2 and resets them, so run.ts reads exactly its measured window.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { run } from '../../cli/commands/relay.js';

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
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  const ms = (ns: number): number => ns / 1e6;
  const heap = process.memoryUsage();
  process.stdout.write(JSON.stringify({ bench: {
    eldP50ms: ms(eld.percentile(50)), eldP99ms: ms(eld.percentile(99)), eldMaxms: ms(eld.max),
    gcMs, gcMaxMs, gcCount, gcMajor, heapUsedMiB: heap.heapUsed / 2 ** 20, heapTotalMiB: heap.heapTotal / 2 ** 20, externalMiB: heap.external / 2 ** 20, arrayBuffersMiB: heap.arrayBuffers / 2 ** 20,
  } }) + '\n');
  eld.reset();
  gcMs = 0;
  gcMaxMs = 0;
  gcMajor = 0;
  gcCount = 0;
});

process.exitCode = await run(process.argv.slice(2));
