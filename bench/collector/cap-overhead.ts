// Cost of capability events (capability:cap_capable) on a workload that makes one
// capability check per call. Interleaved per run: bare (no collector), class off (the
// program attached, the class bit off: it returns at once), on + filtered (class on, the
// workload outside the monitored cgroup), on + suppressed (class on, monitored: the first
// check per second per CPU is reported, the rest counted as repeats). Ratios per run against
// the mean of the bare runs just before and after; medians over --runs after one warm-up.
// Usage (root): flock /tmp/palisade-bench.lock node --import tsx bench/collector/cap-overhead.ts [--runs 5] [--ops 300000] [--mode setuid|rawsock]
// Also the program's own ns per run from BPF statistics (separate passes, medians).
// Writes bench/results/collector-cap.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, integerOption } from '../bench-args.js';
import { openCollector, type CollectorConfig } from '../../collector/index.js';
import { cgroup2Root, cgroupIdOf } from '../../collector/containers.js';
import { runGated } from './gated-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const values = benchArgs(import.meta.url, { options: { runs: { type: 'string' }, ops: { type: 'string' }, mode: { type: 'string' } } });
const RUNS = integerOption('runs', values.runs, 5, 1, 1000);
const OPS = integerOption('ops', values.ops, 300_000, 1000, 100_000_000);
const MODE = values.mode ?? 'setuid';
const tmp = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', 'bench-collector');
mkdirSync(tmp, { recursive: true });
const gen = join(tmp, 'capgen');
{
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', gen, join(root, 'bench/collector/capgen.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc capgen: ${r.stderr}`);
}
const cgRoot = cgroup2Root();
if (!cgRoot) throw new Error('no cgroup2 mount');
const rels = [`/palisade-capbench-${process.pid}`, `/palisade-capbench-empty-${process.pid}`];
for (const rel of rels) mkdirSync(join(cgRoot, rel), { recursive: true });
const [cgId, emptyId] = rels.map((rel) => cgroupIdOf(rel, cgRoot) as bigint) as [bigint, bigint];
process.on('exit', () => { for (const rel of rels) { try { rmdirSync(join(cgRoot, rel)); } catch { /* busy or gone */ } } });

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

async function one(): Promise<number> {
  const kv = await runGated(gen, [MODE, String(OPS)], join(cgRoot as string, rels[0] as string, 'cgroup.procs'));
  if (kv.fails !== 0) throw new Error(`capgen ${MODE}: ${kv.fails} calls failed (run as root)`);
  return kv.ns_per_op ?? NaN;
}

async function withCollector(opts: Partial<CollectorConfig>): Promise<{ ns: number; delivered: number; suppressed: number; filtered: number }> {
  const c = await openCollector({ ...opts, seedProcesses: false });
  if (c.stats().capability.error) throw new Error(`capability program not attached: ${c.stats().capability.error}`);
  let delivered = 0;
  c.onEvent((ev) => { if (ev.kind === 'capability') delivered++; });
  const ns = await one();
  const st = await c.close();
  return { ns, delivered, suppressed: st.capability.suppressed, filtered: st.kernel.filtered };
}

process.stderr.write(`capability bench: ${RUNS} runs x ${OPS} ${MODE} calls, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
await one(); // warm-up
const perRun: Record<string, number[]> = { bare: [], off: [], filtered: [], suppressed: [], rOff: [], rFiltered: [], rSuppressed: [] };
const counts = { delivered: 0, suppressed: 0 };
for (let i = 0; i < RUNS; i++) {
  const b0 = await one();
  const off = await withCollector({ classes: ['process'], cgroups: { mode: 'only', ids: [cgId] } });
  const filtered = await withCollector({ classes: ['capability'], cgroups: { mode: 'only', ids: [emptyId] } });
  const sup = await withCollector({ classes: ['capability'], cgroups: { mode: 'only', ids: [cgId] } });
  const b1 = await one();
  const bare = (b0 + b1) / 2;
  counts.delivered += sup.delivered; counts.suppressed += sup.suppressed;
  perRun.bare?.push(bare); perRun.off?.push(off.ns); perRun.filtered?.push(filtered.ns); perRun.suppressed?.push(sup.ns);
  perRun.rOff?.push(off.ns / bare); perRun.rFiltered?.push(filtered.ns / bare); perRun.rSuppressed?.push(sup.ns / bare);
  process.stderr.write(`  run ${i}: bare ${bare.toFixed(0)} ns, class off ${off.ns.toFixed(0)}, on+filtered ${filtered.ns.toFixed(0)}, on+suppressed ${sup.ns.toFixed(0)} (${sup.delivered} reported, ${sup.suppressed} suppressed)\n`);
}
// The program's own cost per check, from BPF run-time statistics (one pass per mode with
// kernel.bpf_stats_enabled=1, which adds two clock reads per run): less exposed to machine
// load than the loop times above, which include the sys_exit dispatcher (attached in every
// collector mode) and noise.
const bpfNs: Record<string, number> = {};
const sysExitNs: Record<string, number> = {};
spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);
const passes: Record<string, { cap: number[]; se: number[] }> = {};
for (let i = 0; i < RUNS; i++) {
  for (const [key, opts] of [
    ['classOff', { classes: ['process'], cgroups: { mode: 'only', ids: [cgId] } }],
    ['classOnFilteredByCgroup', { classes: ['capability'], cgroups: { mode: 'only', ids: [emptyId] } }],
    ['classOnSuppressedRepeats', { classes: ['capability'], cgroups: { mode: 'only', ids: [cgId] } }],
  ] as const) {
    const c = await openCollector({ ...(opts as Partial<CollectorConfig>), seedProcesses: false });
    await one();
    const r = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
    const progs = JSON.parse(r.stdout) as Array<{ name: string; id: number; run_time_ns?: number; run_cnt?: number }>;
    const nsOf = (name: string): number => {
      const p = progs.filter((x) => x.name === name).sort((x, y) => y.id - x.id)[0];
      return p?.run_cnt ? (p.run_time_ns ?? 0) / p.run_cnt : NaN;
    };
    const pass = (passes[key] ??= { cap: [], se: [] });
    pass.cap.push(nsOf('on_cap'));
    pass.se.push(nsOf('on_sys_exit'));
    await c.close();
  }
}
for (const [key, p] of Object.entries(passes)) {
  bpfNs[key] = median(p.cap);
  sysExitNs[key] = median(p.se);
  process.stderr.write(`  ${key}: on_cap ${p.cap.map((x) => x.toFixed(0)).join(' ')} ns per run; same passes, reference on_sys_exit (setuid is not one of its syscalls: early return) ${p.se.map((x) => x.toFixed(0)).join(' ')}\n`);
}
spawnSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=0']);
const med = (k: string): number => median(perRun[k] ?? []);
const result = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, kernel: release(), loadavg: loadavg() },
  workload: `${MODE} loop (${MODE === 'setuid' ? 'setuid(0) as root: one CAP_SETUID check per call' : 'raw ICMP socket + close: one CAP_NET_RAW check per call'}) in a cgroup, ns per call; ratios per run against the mean of the bare runs around it`,
  runs: RUNS, opsPerRun: OPS,
  bareNs: med('bare'),
  classOff: { ns: med('off'), ratio: med('rOff'), onCapBpfNsPerRun: bpfNs.classOff },
  classOnFilteredByCgroup: { ns: med('filtered'), ratio: med('rFiltered'), onCapBpfNsPerRun: bpfNs.classOnFilteredByCgroup },
  classOnSuppressedRepeats: {
    ns: med('suppressed'), ratio: med('rSuppressed'), onCapBpfNsPerRun: bpfNs.classOnSuppressedRepeats,
    reportedTotal: counts.delivered, suppressedTotal: counts.suppressed,
  },
  /** same passes: the sys_exit dispatcher's ns per run (for setuid, not one of its syscalls:
   * it returns after the number check), a reference for an early-returning program */
  referenceOnSysExitBpfNsPerRun: sysExitNs,
  perRun,
};
process.stdout.write(JSON.stringify({ ...result, perRun: undefined }, null, 2) + '\n');
writeFileSync(join(root, 'bench/results/collector-cap.json'), JSON.stringify(result, null, 2) + '\n');
