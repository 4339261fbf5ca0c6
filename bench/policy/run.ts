// Policy engine benchmark: 1,000 policies, 10,000 paths, one core (this thread).
// Measures parse+validate and compile time for the 1,000 policies, then decisions per second
// and per-decision latency (p50, p99) of the matcher for exact-path, directory-prefix, mixed and
// pattern rule sets, each against a plain Set.has over the same paths in the same process.
// Each rule set runs in its own child process (same node flags as this one, no extra V8 flag), so
// the JIT and heap of one set never colour another. The parent prints a table and writes
// bench/results/policy.json (machine, load, date, figures, ratios, the timers' own cost).
// Usage: node --import tsx bench/policy/run.ts [--runs 5] [--rounds 20] [--passes 5] [--modes exact,prefix]
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchArgs, integerOption } from '../bench-args.js';
import { compileTables } from '../../enforcer/policy/compile.js';
import { loadPolicySource } from '../../enforcer/policy/load.js';
import { createMatcher } from '../../enforcer/policy/matcher.js';
import type { Operation, Workload } from '../../enforcer/policy/types.js';

const values = benchArgs(import.meta.url, {
  options: {
    runs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '20' },
    passes: { type: 'string', default: '5' },
    modes: { type: 'string', default: 'exact,prefix,mixed,pattern' },
    child: { type: 'string' },
  },
});
const RUNS = integerOption('runs', values.runs, 5, 1, 1000);
const ROUNDS = integerOption('rounds', values.rounds, 20, 1, 100_000);
const PASSES = integerOption('passes', values.passes, 5, 1, 1000);
const POLICIES = 1000;
const PATHS = 10_000;
const MODES = ['exact', 'prefix', 'mixed', 'pattern'] as const;
type Mode = (typeof MODES)[number];

let seed = 12345;
const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const int = (n: number): number => Math.floor(rand() * n);
const WORDS = ['etc', 'usr', 'lib', 'bin', 'var', 'opt', 'app', 'data', 'conf', 'cache', 'log', 'run', 'srv', 'home', 'share', 'local'];
const word = (): string => `${WORDS[int(WORDS.length)]}${int(50)}`;
const randomPath = (depth: number): string => `/${Array.from({ length: depth }, word).join('/')}`;

/** 1,000 policies for one workload: per policy 5 exact paths and/or 2 directories (or 1 glob). */
function buildPolicies(mode: Mode): { yaml: string; exact: string[]; dirs: string[]; globs: string[]; globHits: string[] } {
  const docs: string[] = [];
  const globHits: string[] = [];
  const globs: string[] = [];
  const exact: string[] = [];
  const dirs: string[] = [];
  for (let i = 0; i < POLICIES; i++) {
    const lines = [
      'apiVersion: security.kubearmor.com/v1', 'kind: KubeArmorPolicy',
      `metadata: { name: bench-${i}, namespace: default }`, 'spec:', '  selector: { matchLabels: { app: bench } }',
      '  file:',
    ];
    if (mode === 'exact' || mode === 'mixed') {
      lines.push('    matchPaths:');
      for (let j = 0; j < 5; j++) { const p = randomPath(3 + int(4)); exact.push(p); lines.push(`    - path: ${p}`); }
    }
    if (mode === 'prefix' || mode === 'mixed') {
      lines.push('    matchDirectories:');
      for (let j = 0; j < 2; j++) { const d = `${randomPath(2 + int(3))}/`; dirs.push(d); lines.push(`    - { dir: ${d}, recursive: ${j === 0} }`); }
    }
    if (mode === 'pattern') {
      const [a, b] = [word(), word()];
      globs.push(`/${a}/*/${b}/**`);
      lines.push('    matchPatterns:', `    - pattern: /${a}/*/${b}/**`);
      globHits.push(`/${a}/${word()}/${b}/${word()}`);
    }
    lines.push(`  action: ${i % 10 === 0 ? 'Audit' : 'Block'}`);
    docs.push(lines.join('\n'));
  }
  return { yaml: `${docs.join('\n---\n')}\n`, exact, dirs, globs, globHits };
}

/** 10,000 paths: about half hit a rule (exact path or below a directory), the rest miss. */
function buildPaths(exact: string[], dirs: string[], globHits: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < PATHS; i++) {
    const r = rand();
    if (r < 0.5 && globHits.length > 0) out.push(globHits[int(globHits.length)] as string);
    else if (r < 0.25 && exact.length > 0) out.push(exact[int(exact.length)] as string);
    else if (r < 0.5 && dirs.length > 0) out.push(`${dirs[int(dirs.length)]}${word()}${rand() < 0.5 ? `/${word()}` : ''}`);
    else out.push(randomPath(3 + int(4)));
  }
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

type Latency = { p50ns: number; p90ns: number; p99ns: number; p999ns: number };
const latency = (samples: Float64Array): Latency => {
  const s = samples.slice().sort();
  const at = (p: number): number => Math.round(percentile(s, p) * 10) / 10; // performance.now() differences carry float noise
  return { p50ns: at(0.5), p90ns: at(0.9), p99ns: at(0.99), p999ns: at(0.999) };
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// ---- timers -----------------------------------------------------------------------------
// Per-call latency needs a clock read before and after each call. Candidates in Node 20:
// process.hrtime.bigint() (allocates a BigInt per read), performance.now() (a double; a heap
// number when the call is not inlined) and process.hrtime() (allocates a [s, ns] array). Each is
// measured here as an empty pair, and the one with the lower p99 times the calls. Latencies are
// reported as measured, timer included; the timer's own figures sit beside them.
type TimerName = 'hrtime.bigint' | 'performance.now' | 'hrtime';
type TimerFigures = Latency & { scavengesPerMillionPairs: number };

function timerPairs(name: TimerName, out: Float64Array): void {
  const n = out.length;
  if (name === 'hrtime.bigint') {
    for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); out[i] = Number(process.hrtime.bigint() - t0); }
  } else if (name === 'performance.now') {
    for (let i = 0; i < n; i++) { const t0 = performance.now(); out[i] = (performance.now() - t0) * 1e6; }
  } else {
    for (let i = 0; i < n; i++) { const a = process.hrtime(); const b = process.hrtime(); out[i] = (b[0] - a[0]) * 1e9 + (b[1] - a[1]); }
  }
}

async function measureTimers(): Promise<Record<TimerName, TimerFigures>> {
  let scavenges = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  });
  obs.observe({ entryTypes: ['gc'] });
  const out = {} as Record<TimerName, TimerFigures>;
  const buf = new Float64Array(500_000);
  for (const name of ['hrtime.bigint', 'performance.now', 'hrtime'] as const) {
    timerPairs(name, buf); // warm-up
    await new Promise((r) => setImmediate(r));
    scavenges = 0;
    timerPairs(name, buf);
    await new Promise((r) => setImmediate(r)); // gc entries are delivered asynchronously
    out[name] = { ...latency(buf), scavengesPerMillionPairs: (scavenges * 1e6) / buf.length };
  }
  obs.disconnect();
  return out;
}

// ---- one rule set (child process) ---------------------------------------------------------
type Throughput = { perSec: number; perCpuSec: number };

/**
 * Engine and reference are measured interleaved (A, B, A, B, ...) so that load from other
 * processes on this shared machine hits both alike. Throughput: median over RUNS of ROUNDS
 * passes over all paths (wall clock and this process's CPU time).
 */
function throughput(a: (i: number) => boolean, b: (i: number) => boolean, n: number): [Throughput, Throughput] {
  let sink = 0;
  for (let w = 0; w < 10; w++) for (let i = 0; i < n; i++) { if (a(i)) sink++; if (b(i)) sink++; }
  const rates: [number[], number[]] = [[], []];
  const cpuRates: [number[], number[]] = [[], []];
  for (let r = 0; r < RUNS; r++) {
    for (const [j, fn] of [[0, a], [1, b]] as const) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let k = 0; k < ROUNDS; k++) for (let i = 0; i < n; i++) if (fn(i)) sink++;
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      rates[j].push((ROUNDS * n) / (ms / 1e3));
      cpuRates[j].push((ROUNDS * n) / ((cpu.user + cpu.system) / 1e6));
    }
  }
  if (sink === -1) process.stdout.write('');
  return [0, 1].map((j) => ({ perSec: median(rates[j as 0 | 1]), perCpuSec: median(cpuRates[j as 0 | 1]) })) as [Throughput, Throughput];
}

/**
 * Per-call latency over PASSES rounds; each round is one pass over all paths for the engine,
 * then one for the reference, then one of empty timer pairs, each call timed alone. Rounds
 * alternate the three so that they sample the same stretch of machine time (as the throughput
 * runs do), while a pass does not evict the others' data between two calls. `fresh`: each call
 * gets a path string decoded from bytes just before the clock starts (as from a kernel buffer:
 * its hash is not cached yet), and the engine a new Operation; otherwise the prepared strings
 * and Operations are reused.
 */
function latencies(timer: TimerName, engine: (op: Operation) => boolean, ref: (path: string) => boolean, ops: readonly Operation[], bytes: readonly Buffer[], fresh: boolean): [Latency, Latency, Latency] {
  const n = ops.length;
  const lat = [new Float64Array(n * PASSES), new Float64Array(n * PASSES), new Float64Array(n * PASSES)] as const;
  let sink = 0;
  const perf = timer === 'performance.now';
  const src = (i: number): Buffer => bytes[i] as Buffer;
  for (let k = 0; k < PASSES; k++) {
    const base = k * n;
    // engine
    for (let i = 0; i < n; i++) {
      const op: Operation = fresh ? { class: 'file', path: src(i).toString('latin1'), source: '/usr/bin/cat' } : ops[i] as Operation;
      if (perf) {
        const t0 = performance.now();
        if (engine(op)) sink++;
        lat[0][base + i] = (performance.now() - t0) * 1e6;
      } else {
        const t0 = process.hrtime.bigint();
        if (engine(op)) sink++;
        lat[0][base + i] = Number(process.hrtime.bigint() - t0);
      }
    }
    // reference
    for (let i = 0; i < n; i++) {
      const p = fresh ? src(i).toString('latin1') : (ops[i] as { path: string }).path;
      if (perf) {
        const t0 = performance.now();
        if (ref(p)) sink++;
        lat[1][base + i] = (performance.now() - t0) * 1e6;
      } else {
        const t0 = process.hrtime.bigint();
        if (ref(p)) sink++;
        lat[1][base + i] = Number(process.hrtime.bigint() - t0);
      }
    }
    // the timer alone
    for (let i = 0; i < n; i++) {
      if (perf) {
        const t0 = performance.now();
        lat[2][base + i] = (performance.now() - t0) * 1e6;
      } else {
        const t0 = process.hrtime.bigint();
        lat[2][base + i] = Number(process.hrtime.bigint() - t0);
      }
    }
  }
  if (sink === -1) process.stdout.write('');
  return [latency(lat[0]), latency(lat[1]), latency(lat[2])];
}

async function runChild(mode: Mode): Promise<Record<string, unknown>> {
  // the same data as a single run over all modes in order: generate every earlier mode too
  let data: ReturnType<typeof buildPolicies> | undefined;
  let paths: string[] = [];
  for (const m of MODES) {
    const d = buildPolicies(m);
    const p = buildPaths(d.exact, d.dirs, d.globHits);
    if (m === mode) { data = d; paths = p; break; }
  }
  if (data === undefined) throw new Error(`unknown mode ${mode}`);
  const loadavgStart = loadavg();
  const timers = await measureTimers();
  const timer: TimerName = timers['performance.now'].p99ns <= timers['hrtime.bigint'].p99ns ? 'performance.now' : 'hrtime.bigint';

  const workload: Workload = { kind: 'container', namespace: 'default', labels: { app: 'bench' } };
  const t0 = performance.now();
  const loaded = loadPolicySource(data.yaml, `bench-${mode}.yaml`);
  const tLoad = performance.now() - t0;
  if (loaded.issues.length > 0 || loaded.policies.length !== POLICIES) throw new Error(`bench policies invalid: ${loaded.issues.length} issues`);
  const compileMs: number[] = [];
  let tables = compileTables(loaded.policies, workload);
  for (let r = 0; r < RUNS; r++) {
    const c0 = performance.now();
    tables = compileTables(loaded.policies, workload, { version: r + 2 });
    compileMs.push(performance.now() - c0);
  }
  const m0 = performance.now();
  const matcher = createMatcher(tables);
  const matcherMs = performance.now() - m0;
  // paths reach the engine decoded from kernel buffers, i.e. as flat strings; concatenated
  // (rope) strings would measure V8's string flattening instead of the engine
  const bytes = paths.map((p) => Buffer.from(p, 'latin1'));
  const flatPaths = bytes.map((b) => b.toString('latin1'));
  const ops: Operation[] = flatPaths.map((path) => ({ class: 'file', path, source: '/usr/bin/cat' }));
  let decided = 0;
  for (const op of ops) if (matcher.decide(op).action !== 'Allow') decided++;
  // the reference: one Set.has of the path in a Set of every rule's target string (exact paths,
  // directories, patterns), same loop, same process
  // (sequential copies: the generator's template literals are ropes, which a lookup would read
  // through an extra object; the engine's tables hold sequential copies too)
  const ref = new Set<string>([...data.exact, ...data.dirs, ...data.globs].map((x) => JSON.parse(JSON.stringify(x)) as string));
  const [engine, baseline] = throughput(
    (i) => matcher.decide(ops[i] as Operation).matched,
    (i) => ref.has(flatPaths[i] as string),
    ops.length,
  );
  const decide = (op: Operation): boolean => matcher.decide(op).matched;
  const has = (p: string): boolean => ref.has(p);
  const [lat, refLat, timerLat] = latencies(timer, decide, has, ops, bytes, false);
  const [latFresh, refLatFresh, timerLatFresh] = latencies(timer, decide, has, ops, bytes, true);
  return {
    mode, policies: POLICIES, rules: tables.rules.length, paths: PATHS, decidedShare: decided / PATHS,
    loadAndValidateMs: tLoad, compileMsMedian: median(compileMs), createMatcherMs: matcherMs,
    decisionsPerSec: engine.perSec, decisionsPerCpuSec: engine.perCpuSec,
    p50ns: lat.p50ns, p99ns: lat.p99ns, latency: lat, latencyFreshPath: latFresh,
    setHasPerSec: baseline.perSec, setHasPerCpuSec: baseline.perCpuSec, setHasP50ns: refLat.p50ns, setHasP99ns: refLat.p99ns,
    setHasLatency: refLat, setHasLatencyFreshPath: refLatFresh,
    ratioToSetHas: engine.perSec / baseline.perSec,
    timer, timerPairLatency: timerLat, timerPairLatencyFreshPass: timerLatFresh, timers,
    loadavgStart, loadavgEnd: loadavg(),
  };
}

if (values.child !== undefined) {
  const r = await runChild(values.child as Mode);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const results: Record<string, unknown>[] = [];
  const rows: string[][] = [];
  const self = fileURLToPath(import.meta.url);
  for (const mode of (values.modes ?? '').split(',') as Mode[]) {
    process.stderr.write(`${mode}...\n`);
    const c = spawnSync(process.execPath, [...process.execArgv, self, '--child', mode, '--runs', String(RUNS), '--rounds', String(ROUNDS), '--passes', String(PASSES)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (c.status !== 0) throw new Error(`bench child ${mode} failed (${c.status}): ${c.stderr}`);
    const e = JSON.parse(c.stdout.trim().split('\n').pop() as string) as Record<string, number> & { latencyFreshPath: Latency; timerPairLatency: Latency; timer: string; loadavgStart: number[] };
    results.push(e);
    rows.push([
      mode, String(e.rules), `${(e.decidedShare * 100).toFixed(0)}%`, e.loadAndValidateMs.toFixed(0), e.compileMsMedian.toFixed(1),
      (e.decisionsPerSec / 1e6).toFixed(2), (e.decisionsPerCpuSec / 1e6).toFixed(2), String(Math.round(e.p50ns)), String(Math.round(e.p99ns)),
      String(Math.round(e.latencyFreshPath.p99ns)), (e.setHasPerSec / 1e6).toFixed(2), String(Math.round(e.setHasP50ns)), String(Math.round(e.setHasP99ns)),
      `${Math.round(e.timerPairLatency.p50ns)}/${Math.round(e.timerPairLatency.p99ns)}`, e.ratioToSetHas.toFixed(2), (e.loadavgStart[0] as number).toFixed(1),
    ]);
  }
  const head = ['rules', 'count', 'decided', 'load ms', 'compile ms', 'M dec/s', 'M dec/cpu-s', 'p50 ns', 'p99 ns', 'p99 fresh', 'Set.has M/s', 'Set p50', 'Set p99', 'timer p50/p99', 'ratio', 'load'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  process.stdout.write(`${fmt(head)}\n${rows.map(fmt).join('\n')}\n`);
  process.stdout.write(`latencies include the timer (an empty timer pair: 'timer p50/p99', same rounds); 'p99 fresh': path decoded from bytes per call. Load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version, loadavg: loadavg() },
    method: `${POLICIES} policies, ${PATHS} paths; each rule set in its own child process (node ${process.execArgv.join(' ')}, no V8 or GC flags), one thread; `
      + `throughput (wall and per CPU-second of the process) = median of ${RUNS} runs of ${ROUNDS} passes after warm-up, engine and reference interleaved per run; `
      + `latency = per-call timing, ${PASSES} rounds of one pass over all paths each for the engine, the reference and an empty timer pair (${PASSES * PATHS} samples each); `
      + 'p50/p99 are of per-call samples and include the timer (its own pair latency is reported beside, never subtracted); '
      + 'timer = performance.now() or process.hrtime.bigint(), whichever had the lower empty-pair p99 in that process (timers: all three candidates); '
      + 'latencyFreshPath: the path string is decoded from bytes just before each timed call (hash not yet cached, as for a path read from a kernel buffer); '
      + 'reference = Set.has of the path in a Set of every rule target string (exact paths, directories, patterns; sequential strings), same process, same loops',
    goal: { decisionsPerSec: 2_000_000, p99ns: 2000, appliesTo: ['exact', 'prefix'] },
    results,
  };
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/policy.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write('wrote bench/results/policy.json\n');
}
