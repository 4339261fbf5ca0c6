// Child process of bench/collector/run.ts: a collector alone in its process (default
// options), so its CPU and RSS are measured without the runner. Runs from sources (tsx) or
// compiled. Protocol on stdin/stdout (one line each): prints "ready"; on "start" resets the
// CPU clock; on "report" prints a JSON line {events, cpuPercent, rssMaxMiB, rssStartMiB,
// heapUsedMiB, externalMiB, lost} and exits.
import { createInterface } from 'node:readline';
import { openCollector } from '../../collector/index.js';

const MiB = 1 << 20;
const cg = BigInt(process.argv[2] ?? '0');
const c = await openCollector({ classes: ['process', 'file', 'network'], cgroups: { mode: 'only', ids: [cg] } });
let events = 0;
c.onEvent(() => { events++; });
let cpu0 = process.cpuUsage();
let t0 = performance.now();
let rssMax = 0;
let rssStart = 0;
const sampler = setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage.rss()); }, 100);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'start') { cpu0 = process.cpuUsage(); t0 = performance.now(); events = 0; rssStart = rssMax = process.memoryUsage.rss(); }
  if (line === 'report') {
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const mem = process.memoryUsage();
    rssMax = Math.max(rssMax, mem.rss);
    const st = await c.close();
    process.stdout.write(JSON.stringify({
      events, cpuPercent: ((cpu.user + cpu.system) / 1e6 / wall) * 100, rssMaxMiB: rssMax / MiB, rssStartMiB: rssStart / MiB,
      heapUsedMiB: mem.heapUsed / MiB, externalMiB: mem.external / MiB, lost: st.lost,
    }) + '\n', () => process.exit(0)); // stdin would keep the process alive
    break;
  }
}
