// The floor of the per-syscall overhead on this machine: the openat loop bare, with
// do-nothing sys_exit/sys_enter programs (bench/collector/floor.bpf.c), with the issue's own
// calibration programs (bench/collector/mincap.bpf.c: the least a capture can do), with the
// real programs (bpf/build/palisade.bpf.o) filtering the event out in the kernel and
// capturing it (drained by a C loop), and with the real programs stopped after each stage
// of a captured openat (palisade.bpf.c built with -DPAL_BENCH_STAGE=N), all interleaved in
// one run.
// Usage: flock /tmp/palisade-bench.lock node --import tsx bench/collector/floor.ts [--rounds 7] [--opens 300000]
//          [--compare <other palisade.bpf.o> | --compare-rev <git revision>]
//          (adds that object's filtered/captured runs; --compare-rev builds bpf/palisade.bpf.c
//          of that revision with the current headers)
// Writes bench/results/collector-floor.json. Needs root, clang, libbpf.
// Invariants: timing rounds run with kernel.bpf_stats_enabled=0 (stats add two clock
// reads per program run); BPF ns per run come from a separate pass with stats on. A bare
// run sits between every two attached runs and each attached run's ratio is taken against
// the mean of the bare runs right before and after it (the machine's speed drifts).
// Each run gives two figures: the whole loop's ns per call (wall), and the 10th percentile
// of its chunks of 1000 calls ("fast"; loadgen.c). This host's speed swings by up to 2x for
// seconds at a time (other guests), often for a whole run: the "best" figures take each
// config's fastest run (its lowest fast figure over the rounds) against the fastest bare run.
// They are what a call costs outside those swings, and compare programs with each other.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { benchArgs, integerOption } from '../bench-args.js';
import { fileURLToPath } from 'node:url';
import { cgroup2Root, cgroupIdOf } from '../../collector/containers.js';
import { runGated } from './gated-run.js';
import { buildBpfObject } from './bpf-build.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const values = benchArgs(import.meta.url, { options: { rounds: { type: 'string' }, opens: { type: 'string' }, compare: { type: 'string' }, 'compare-rev': { type: 'string' } } });
const ROUNDS = integerOption('rounds', values.rounds, 7, 1, 1000);
const OPENS = integerOption('opens', values.opens, 300_000, 1000, 100_000_000);
const tmp = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', 'bench-collector-floor');
mkdirSync(tmp, { recursive: true });

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}
const loadgen = join(tmp, 'loadgen');
run('cc', ['-O2', '-Wall', '-o', loadgen, join(root, 'bench/collector/loadgen.c')]);
const attach = join(tmp, 'floor-attach');
run('cc', ['-O2', '-Wall', '-I', join(root, 'bpf/include'), '-o', attach, join(root, 'bench/collector/floor-attach.c'), '-lbpf']);
run('make', ['-s', '-C', join(root, 'bpf')]);
const floorObj = buildBpfObject(root, join(root, 'bench/collector/floor.bpf.c'), join(tmp, 'floor.bpf.o'));
const minObj = buildBpfObject(root, join(root, 'bench/collector/mincap.bpf.c'), join(tmp, 'mincap.bpf.o'));
const palObj = join(root, 'bpf/build/palisade.bpf.o');
const palSrc = join(root, 'bpf/palisade.bpf.c');
const stageObj = (n: number): string => buildBpfObject(root, palSrc, join(tmp, `palisade-stage${n}.bpf.o`), [`-DPAL_BENCH_STAGE=${n}`]);
const noClockObj = buildBpfObject(root, palSrc, join(tmp, 'palisade-noclock.bpf.o'), ['-DPAL_BENCH_NO_CLOCK']);
let compareObj = values.compare;
const compareRev = values['compare-rev'];
if (compareRev) {
  const src = join(tmp, `palisade-${compareRev}.bpf.c`);
  const git = spawnSync('git', ['-C', root, 'show', `${compareRev}:bpf/palisade.bpf.c`], { encoding: 'utf8' });
  if (git.status !== 0) throw new Error(`git show ${compareRev}: ${git.stderr}`);
  writeFileSync(src, git.stdout);
  compareObj = buildBpfObject(root, src, join(tmp, `palisade-${compareRev}.bpf.o`));
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const kv = (s: string): Record<string, number> => Object.fromEntries(s.split('\n').filter((l) => l.includes('=')).map((l) => { const [k, v] = l.split('='); return [k, Number(v)]; }));

const cgRoot = cgroup2Root();
if (!cgRoot) throw new Error('no cgroup2 mount');
const cgRel = `/palisade-floor-${process.pid}`;
const emptyRel = `/palisade-floor-empty-${process.pid}`;
for (const rel of [cgRel, emptyRel]) mkdirSync(join(cgRoot, rel), { recursive: true });
const cgId = cgroupIdOf(cgRel, cgRoot) as bigint;
const emptyId = cgroupIdOf(emptyRel, cgRoot) as bigint;
process.on('exit', () => {
  for (const rel of [cgRel, emptyRel]) {
    try { rmdirSync(join(cgRoot, rel)); } catch { /* a process is still inside */ }
  }
});

interface Loop { wall: number; cpu: number; fast: number }
/** the openat loop inside the bench cgroup; wall and CPU ns per call, and the 10th
 * percentile of its 1000-call chunks */
async function openLoop(): Promise<Loop> {
  const r = await runGated(loadgen, ['wait', 'open', String(OPENS)], join(cgRoot as string, cgRel, 'cgroup.procs'));
  return { wall: r.ns_per_op ?? NaN, cpu: r.cpu_ns_per_op ?? NaN, fast: r.p10_ns_per_op ?? NaN };
}

/** records: every call of the loop must reach the consumer (checked, warned about) */
interface Config { name: string; what: string; obj: string; progs: string; args: string[]; records?: boolean }
const PAL_PROGS = 'on_exec,on_fork,on_exit,on_sys_exit';
// palisade config for floor-attach: file class, cgroup filter 'only' (the loop's cgroup, or
// an empty one so that the openat is filtered out in the kernel), 1 MiB wake-up watermark
const CAPTURE_ARGS = ['2', '1', String(cgId), String(1 << 20)];
const FILTER_ARGS = ['2', '1', String(emptyId), String(1 << 20)];
const configs: Config[] = [
  { name: 'exitEmpty', what: 'raw_tracepoint/sys_exit returning 0', obj: floorObj, progs: 'f_exit_empty', args: [] },
  { name: 'exitNr', what: 'raw_tracepoint/sys_exit reading regs->orig_ax (bpf_probe_read_kernel) and comparing it', obj: floorObj, progs: 'f_exit_nr', args: [] },
  { name: 'exitNrBtf', what: 'tp_btf/sys_exit reading regs->orig_ax directly and comparing it', obj: floorObj, progs: 'f_exit_nr_btf', args: [] },
  { name: 'enterEmpty', what: 'raw_tracepoint/sys_enter returning 0', obj: floorObj, progs: 'f_enter_empty', args: [] },
  { name: 'enterId', what: 'raw_tracepoint/sys_enter comparing the syscall id it is passed (the issue: 1.08x on its machine)', obj: floorObj, progs: 'f_enter_id', args: [] },
  { name: 'tpOpenatEmpty', what: 'tp/syscalls/sys_enter_openat returning 0 (the issue: 1.21x on its machine)', obj: minObj, progs: 'm_tp_openat_empty', args: [] },
  { name: 'minCapture', what: 'tp_btf/sys_exit, openat only: a 256-byte path read into a ring record, BPF_RB_NO_WAKEUP, drained every 20 ms (the issue: 1.36x on its machine); no time, pid or filter', obj: minObj, progs: 'm_capture', args: [], records: true },
  { name: 'minCaptureTime', what: 'minCapture plus bpf_ktime_get_boot_ns() (every event needs its time)', obj: minObj, progs: 'm_capture_time', args: [], records: true },
  { name: 'minCaptureWake', what: 'minCapture with BPF_RB_FORCE_WAKEUP: every submit wakes the consumer (the issue: 3.5x on its machine)', obj: minObj, progs: 'm_capture_wake', args: [], records: true },
  { name: 'palisadeFiltered', what: 'palisade.bpf.o, file class, cgroup filter = an empty cgroup (the openat is filtered out in the kernel)', obj: palObj, progs: PAL_PROGS, args: FILTER_ARGS },
  { name: 'palisadeStage1', what: 'palisade.bpf.c stopped once the filter passed (-DPAL_BENCH_STAGE=1)', obj: stageObj(1), progs: PAL_PROGS, args: CAPTURE_ARGS },
  { name: 'palisadeStage2', what: 'palisade.bpf.c stopped after the record header (stage 2)', obj: stageObj(2), progs: PAL_PROGS, args: CAPTURE_ARGS },
  { name: 'palisadeStage3', what: 'palisade.bpf.c stopped after the path read (stage 3)', obj: stageObj(3), progs: PAL_PROGS, args: CAPTURE_ARGS },
  { name: 'palisadeStage4', what: 'palisade.bpf.c: everything but the ring output (stage 4)', obj: stageObj(4), progs: PAL_PROGS, args: CAPTURE_ARGS },
  { name: 'palisadeNoClock', what: 'palisade.bpf.c capturing every openat without the clock read (-DPAL_BENCH_NO_CLOCK)', obj: noClockObj, progs: PAL_PROGS, args: CAPTURE_ARGS, records: true },
  { name: 'palisadeCaptured', what: 'palisade.bpf.o, file class, cgroup filter = the loop\'s cgroup; every openat captured, C drain in batches (1 MiB wake-up watermark)', obj: palObj, progs: PAL_PROGS, args: CAPTURE_ARGS, records: true },
];
if (compareObj) {
  const label = compareRev ? `bpf/palisade.bpf.c at ${compareRev}` : compareObj;
  configs.push({ name: 'compareFiltered', what: `${label}, as palisadeFiltered`, obj: compareObj, progs: PAL_PROGS, args: FILTER_ARGS });
  configs.push({ name: 'compareCaptured', what: `${label}, as palisadeCaptured`, obj: compareObj, progs: PAL_PROGS, args: CAPTURE_ARGS, records: true });
}

// a config this kernel refuses (e.g. no tp_btf) is reported as unavailable, not measured
const unavailable: Record<string, string> = {};
for (const c of [...configs]) {
  const r = spawnSync(attach, [c.obj, c.progs, ...c.args], { input: 'stop\n', encoding: 'utf8' });
  if (r.status !== 0) {
    unavailable[c.name] = (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ');
    configs.splice(configs.indexOf(c), 1);
    process.stderr.write(`  ${c.name}: unavailable: ${unavailable[c.name]}\n`);
  }
}

/** attaches a config, runs the loop, detaches; returns ns per call and the loader's output */
async function attached(c: Config): Promise<{ ns: Loop; out: Record<string, number> }> {
  const child = spawn(attach, [c.obj, c.progs, ...c.args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  for (let k = 0; k < 200 && !out.includes('attached'); k++) await new Promise((r) => setTimeout(r, 50));
  if (!out.includes('attached')) { child.kill(); throw new Error(`${c.name}: not attached`); }
  const ns = await openLoop();
  child.stdin.write('stop\n');
  const code = await exited;
  if (code !== 0) throw new Error(`${c.name}: floor-attach exited ${code}`);
  return { ns, out: kv(out) };
}

const sysctl = (v: number): void => { spawnSync('sysctl', ['-qw', `kernel.bpf_stats_enabled=${v}`]); };
process.stderr.write(`collector floor: ${ROUNDS} rounds x ${OPENS} opens, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
sysctl(0);
await openLoop(); // warm-up
const ns: Record<string, number[]> = { bare: [] };
const ratio: Record<string, number[]> = {};
const cpu: Record<string, number[]> = { bare: [] };
const cpuRatio: Record<string, number[]> = {};
const fast: Record<string, number[]> = { bare: [] };
const fastRatio: Record<string, number[]> = {};
for (const c of configs) { ns[c.name] = []; ratio[c.name] = []; cpu[c.name] = []; cpuRatio[c.name] = []; fast[c.name] = []; fastRatio[c.name] = []; }
const bareFastRuns: number[] = []; // every bare run's fast figure (for the best-of figures)
const captured: number[] = [];
const missing: Record<string, number> = {};
for (let r = 0; r < ROUNDS; r++) {
  // a bare run between every two attached runs; each attached run is compared with the
  // mean of the bare runs right before and after it; the order rotates every round
  const order = configs.map((_, i) => configs[(i + r) % configs.length] as Config);
  const bares: Loop[] = [await openLoop()];
  const got: Record<string, Loop> = {};
  for (const c of order) {
    const a = await attached(c);
    got[c.name] = a.ns;
    if (c.name === 'palisadeCaptured') captured.push(a.out.records ?? 0);
    if (c.records && (a.out.records ?? 0) < OPENS) {
      missing[c.name] = (missing[c.name] ?? 0) + OPENS - (a.out.records ?? 0);
      process.stderr.write(`  ${c.name}: ${a.out.records} records for ${OPENS} opens${a.out.dropped === undefined ? '' : ` (dropped ${a.out.dropped})`}\n`);
    }
    bares.push(await openLoop());
  }
  const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
  const bare = mean(bares.map((b) => b.wall)), bareCpu = mean(bares.map((b) => b.cpu)), bareFast = mean(bares.map((b) => b.fast));
  ns.bare?.push(bare); cpu.bare?.push(bareCpu); fast.bare?.push(bareFast);
  bareFastRuns.push(...bares.map((b) => b.fast));
  order.forEach((c, i) => {
    const g = got[c.name] ?? { wall: NaN, cpu: NaN, fast: NaN };
    const b0 = bares[i] as Loop, b1 = bares[i + 1] as Loop;
    ns[c.name]?.push(g.wall); ratio[c.name]?.push(g.wall / ((b0.wall + b1.wall) / 2));
    cpu[c.name]?.push(g.cpu); cpuRatio[c.name]?.push(g.cpu / ((b0.cpu + b1.cpu) / 2));
    fast[c.name]?.push(g.fast); fastRatio[c.name]?.push(g.fast / ((b0.fast + b1.fast) / 2));
  });
  process.stderr.write(`  round ${r}: bare ${bare.toFixed(0)} ns (fast ${bareFast.toFixed(0)}), ${configs.map((c) => `${c.name} ${(got[c.name]?.wall ?? NaN).toFixed(0)} (${(got[c.name]?.fast ?? NaN).toFixed(0)})`).join(', ')}\n`);
}

// BPF run time per program run, from a separate pass with kernel stats on; the primitives
// (floor.bpf.c p_*) are measured only here: each one's cost is its run time minus that of
// f_exit_nr_btf (the same program without the primitive)
const PRIMITIVES = ['p_task_btf', 'p_pid_tgid', 'p_cgroup_id', 'p_cgroup_direct', 'p_ktime', 'p_hash_miss', 'p_probe_read'];
process.stderr.write('bpf stats pass\n');
const bpfNs: Record<string, number> = {};
const primitiveNs: Record<string, number> = {};
sysctl(1);
try {
  const perRun = async (c: Config): Promise<number> => {
    const a = await attached(c);
    const prog = c.progs.split(',').at(-1) as string;
    const cnt = a.out[`run_cnt_${prog}`] ?? 0;
    return cnt ? (a.out[`run_ns_${prog}`] ?? 0) / cnt : NaN;
  };
  for (const c of configs) bpfNs[c.name] = await perRun(c);
  for (const p of PRIMITIVES) {
    try {
      primitiveNs[p] = await perRun({ name: p, what: p, obj: floorObj, progs: p, args: [] });
    } catch (e) {
      unavailable[p] = String(e);
    }
  }
} finally {
  sysctl(0);
}

const results = {
  area: 'collector-floor',
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', kernel: release(), loadAverageAtEnd: loadavg() },
  workload: 'openat(AT_FDCWD, missing path) loop (bench/collector/loadgen.c), median ns per call over rounds, wall clock and the loop process\'s own CPU time (cpu*: not inflated while other processes hold the CPU); ratio = median over rounds of (attached run / mean of the bare runs right before and after it); fast* = the same from each run\'s 10th-percentile 1000-call chunk (what a call costs outside the host\'s slow spells)',
  rounds: ROUNDS, opensPerRound: OPENS,
  bareNs: median(ns.bare ?? []), bareCpuNs: median(cpu.bare ?? []), bareFastNs: median(fast.bare ?? []), bareBestNs: Math.min(...bareFastRuns),
  configs: Object.fromEntries(configs.map((c) => [c.name, {
    what: c.what, medianNs: median(ns[c.name] ?? []), ratio: median(ratio[c.name] ?? []),
    overheadNs: median(ns[c.name] ?? []) - median(ns.bare ?? []),
    cpuMedianNs: median(cpu[c.name] ?? []), cpuRatio: median(cpuRatio[c.name] ?? []),
    cpuOverheadNs: median(cpu[c.name] ?? []) - median(cpu.bare ?? []),
    fastNs: median(fast[c.name] ?? []), fastRatio: median(fastRatio[c.name] ?? []),
    fastOverheadNs: median(fast[c.name] ?? []) - median(fast.bare ?? []),
    bestNs: Math.min(...(fast[c.name] ?? [])), bestRatio: Math.min(...(fast[c.name] ?? [])) / Math.min(...bareFastRuns),
    bestOverheadNs: Math.min(...(fast[c.name] ?? [])) - Math.min(...bareFastRuns), bpfNsPerRun: bpfNs[c.name],
  }])),
  recordsMissing: missing,
  bpfStatsNote: 'bpfNsPerRun includes the two clock reads of kernel.bpf_stats_enabled themselves (about what exitEmpty shows); compare programs with each other, not with zero',
  unavailable,
  primitivesBpfNsPerRun: primitiveNs,
  primitivesCostNs: Object.fromEntries(PRIMITIVES.map((p) => [p, (primitiveNs[p] ?? NaN) - (bpfNs.exitNrBtf ?? NaN)])),
  capturedRecordsPerRound: captured,
  perRound: { ns, ratio, cpu, cpuRatio, fast, fastRatio },
  bareFastRuns,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/collector-floor.json'), JSON.stringify(results, null, 2) + '\n');
const rows = [['', 'wall ns', 'ratio', 'cpu ns', 'ratio', 'fast ns', 'ratio', 'best ns', 'ratio', 'bpf ns/run'], ['bare', results.bareNs.toFixed(0), '1.00x', results.bareCpuNs.toFixed(0), '1.00x', results.bareFastNs.toFixed(0), '1.00x', results.bareBestNs.toFixed(0), '1.00x', '']].concat(configs.map((c) => {
  const x = results.configs[c.name] as { medianNs: number; ratio: number; cpuMedianNs: number; cpuRatio: number; fastNs: number; fastRatio: number; bestNs: number; bestRatio: number; bpfNsPerRun: number };
  return [c.name, x.medianNs.toFixed(0), `${x.ratio.toFixed(2)}x`, x.cpuMedianNs.toFixed(0), `${x.cpuRatio.toFixed(2)}x`, x.fastNs.toFixed(0), `${x.fastRatio.toFixed(2)}x`, x.bestNs.toFixed(0), `${x.bestRatio.toFixed(2)}x`, x.bpfNsPerRun.toFixed(0)];
}));
for (const p of PRIMITIVES) rows.push([p, '', '', '', '', '', '', '', '', `+${((primitiveNs[p] ?? NaN) - (bpfNs.exitNrBtf ?? NaN)).toFixed(0)}`]);
for (const row of rows) process.stdout.write(`${row[0]?.padEnd(18)} ${row.slice(1).map((x) => x.padStart(10)).join('')}\n`);
