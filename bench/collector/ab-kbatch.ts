// A/B of per-CPU kernel batches on the openat loop: interleaved pairs (batches on, off, and
// the other order in the next pair) of a ring-delivery collector monitoring the loop's cgroup;
// prints per pair the loop ns (stats off) and, with --bpf-stats, BPF ns per sys_exit.
// Usage: node --import tsx bench/collector/ab-kbatch.ts [--pairs 8] [--opens 300000] [--bpf-stats]
// Writes bench/results/collector-kbatch.json (with --bpf-stats: collector-kbatch-bpf.json).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import { join } from 'node:path';
import { benchArgs, integerOption } from '../bench-args.js';
import { fileURLToPath } from 'node:url';
import { openCollector } from '../../collector/index.js';
import { cgroup2Root, cgroupIdOf } from '../../collector/containers.js';
import { runGated } from './gated-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const values = benchArgs(import.meta.url, { options: { pairs: { type: 'string' }, opens: { type: 'string' }, 'bpf-stats': { type: 'boolean' } } });
const PAIRS = integerOption('pairs', values.pairs, 8, 1, 1000), OPENS = integerOption('opens', values.opens, 300_000, 1000, 100_000_000);
const tmp = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', 'bench-collector');
mkdirSync(tmp, { recursive: true });
const loadgen = join(tmp, 'loadgen-ab');
const pingpong = join(tmp, 'pingpong');
for (const [out, src] of [[loadgen, 'loadgen.c'], [pingpong, 'pingpong.c']]) {
  const b = spawnSync('cc', ['-O2', '-o', out, join(root, 'bench/collector', src as string)], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(b.stderr);
}
const cgRoot = cgroup2Root() as string;
const cgRel = `/palisade-ab-${process.pid}`;
mkdirSync(join(cgRoot, cgRel), { recursive: true });
const cgId = cgroupIdOf(cgRel, cgRoot) as bigint;
process.on('exit', () => { try { rmdirSync(join(cgRoot, cgRel)); } catch { /* busy */ } });
const median = (xs: number[]): number => { const s = [...xs].sort((a, c) => a - c); return s[Math.floor(s.length / 2)] ?? NaN; };

async function loop(): Promise<number> {
  return (await runGated(loadgen, ['wait', 'open', String(OPENS)], join(cgRoot, cgRel, 'cgroup.procs'))).ns_per_op ?? NaN;
}
function progNs(name: string): { ns: number; cnt: number } {
  const r = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  const ps = JSON.parse(r.stdout) as Array<{ name: string; id: number; run_time_ns?: number; run_cnt?: number }>;
  const p = ps.filter((x) => x.name === name).sort((x, y) => y.id - x.id)[0];
  return { ns: p?.run_cnt ? (p.run_time_ns ?? 0) / p.run_cnt : NaN, cnt: p?.run_cnt ?? 0 };
}
const sysExit = (): { ns: number; cnt: number } => progNs('on_sys_exit');
async function arm(kb: number): Promise<{ loop: number; bpf: number; delivered: number; cpuNsPerEvent: number }> {
  const c = await openCollector({ classes: ['file'], ringBytes: 64 << 20, cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false, delivery: 'ring', kernelBatchBytes: kb });
  let delivered = 0;
  c.onEvent(() => { delivered++; });
  if (values['bpf-stats']) spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);
  const u0 = process.cpuUsage();
  const ns = await loop();
  const bpf = values['bpf-stats'] ? sysExit().ns : NaN;
  if (values['bpf-stats']) spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=0']);
  await c.close();
  const u = process.cpuUsage(u0); // this process, every thread (drain, decode), and the loop's spawn
  return { loop: ns, bpf, delivered, cpuNsPerEvent: (u.user + u.system) * 1000 / Math.max(1, delivered) };
}
await loop();
const on: number[] = [], off: number[] = [], ratio: number[] = [], bon: number[] = [], boff: number[] = [], con: number[] = [], coff: number[] = [];
for (let i = 0; i < PAIRS; i++) {
  const first = i % 2 === 0 ? 8192 : 0;
  const a = await arm(first), c = await arm(8192 - first);
  const [x, y] = first ? [a, c] : [c, a];
  on.push(x.loop); off.push(y.loop); ratio.push(x.loop / y.loop); bon.push(x.bpf); boff.push(y.bpf);
  con.push(x.cpuNsPerEvent); coff.push(y.cpuNsPerEvent);
  process.stderr.write(`pair ${i}: batches on ${x.loop.toFixed(0)} ns (bpf ${x.bpf.toFixed(0)}, delivered ${x.delivered}), off ${y.loop.toFixed(0)} ns (bpf ${y.bpf.toFixed(0)}, delivered ${y.delivered}), on/off ${(x.loop / y.loop).toFixed(3)}; collector CPU per event on ${x.cpuNsPerEvent.toFixed(0)} ns, off ${y.cpuNsPerEvent.toFixed(0)} ns\n`);
}
// the flush programs' own cost, with BPF stats on: a context-switch load (pipe ping-pong) and
// the openat loop, with kernel batches on
let flushCost: Record<string, number> | undefined;
if (values['bpf-stats']) {
  const c = await openCollector({ classes: ['file'], ringBytes: 64 << 20, cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false, delivery: 'ring', kernelBatchBytes: 8192 });
  spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);
  const pp = spawnSync(pingpong, ['50000'], { encoding: 'utf8' });
  const sw = progNs('on_sched_switch'), tk = progNs('on_tick');
  spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=0']);
  await c.close();
  flushCost = { schedSwitchNs: sw.ns, schedSwitchRuns: sw.cnt, tickNs: tk.ns, tickRuns: tk.cnt, pingpongNsPerRoundTrip: Number(/ns_per_round_trip=([\d.]+)/.exec(pp.stdout)?.[1]) };
  process.stderr.write(`flush programs: on_sched_switch ${sw.ns.toFixed(0)} ns x ${sw.cnt}, on_tick ${tk.ns.toFixed(0)} ns x ${tk.cnt} (pipe ping-pong ${flushCost.pingpongNsPerRoundTrip} ns per round trip)\n`);
}
const result = {
  bench: 'collector kernel batches A/B', finished: new Date().toISOString(), kernel: release(), loadAtEnd: loadavg(),
  method: `openat loop of a missing path (${OPENS} calls) with a ring-delivery collector monitoring its cgroup, kernelBatchBytes 8192 vs 0, interleaved pairs (order alternating); median ns per call${values['bpf-stats'] ? '; BPF ns per sys_exit with kernel.bpf_stats_enabled=1 during the loop' : ' with BPF stats off'}`,
  pairs: PAIRS, onNs: median(on), offNs: median(off), ratioOnOff: median(ratio),
  collectorCpuNsPerEventOn: median(con), collectorCpuNsPerEventOff: median(coff),
  bpfNsOn: values['bpf-stats'] ? median(bon) : undefined, bpfNsOff: values['bpf-stats'] ? median(boff) : undefined,
  flushCost,
  perPair: { on, off, ratio, cpuOn: con, cpuOff: coff, ...(values['bpf-stats'] ? { bpfOn: bon, bpfOff: boff } : {}) },
};
console.log(JSON.stringify(result, null, 2));
const outDir = join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, values['bpf-stats'] ? 'collector-kbatch-bpf.json' : 'collector-kbatch.json'), JSON.stringify(result, null, 2) + '\n');
