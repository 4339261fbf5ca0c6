// Helpers for the collector's kernel tests: build the C tester, open a collector and wait
// for events matching a predicate (bounded in time; the wait is not the assertion).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCollector, type Collector, type CollectorEvent } from '../../../collector/index.js';
import type { CollectorConfig } from '../../../collector/config.js';
import { cgroup2Root, cgroupIdOf } from '../../../collector/containers.js';

export const TMP = process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test';
const here = fileURLToPath(new URL('.', import.meta.url));

/** Compiles progs/<name>.c into $PALISADE_TEST_TMP/collector/<name> when newer. */
export function buildProg(name: string): string {
  const src = join(here, 'progs', `${name}.c`);
  const outDir = join(TMP, 'collector');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  let fresh: boolean;
  try { fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs; } catch { fresh = false; }
  if (!fresh) {
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc ${src}: ${r.stderr}`);
  }
  return out;
}

export function keyValues(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export type Recorder = {
  readonly collector: Collector;
  readonly events: CollectorEvent[];
  /** resolves with the first recorded event matching, or rejects naming `what` after timeoutMs */
  waitFor<T extends CollectorEvent>(what: string, pred: (ev: CollectorEvent) => ev is T, timeoutMs?: number): Promise<T>;
  waitFor(what: string, pred: (ev: CollectorEvent) => boolean, timeoutMs?: number): Promise<CollectorEvent>;
  close(): Promise<void>;
};

export async function record(options: Partial<CollectorConfig> = {}): Promise<Recorder> {
  const collector = await openCollector({ pollMs: 5, ...options });
  // the suites run again with PALISADE_COLLECTOR_ATTACH=raw_tracepoint (raw-attach.test.ts):
  // make sure the mode asked for is the mode in use
  const asked = options.attachMode ?? process.env.PALISADE_COLLECTOR_ATTACH;
  if ((asked === 'tp_btf' || asked === 'raw_tracepoint') && collector.stats().attach.mode !== asked) {
    await collector.close();
    throw new Error(`collector attached as ${collector.stats().attach.mode}, not ${asked}`);
  }
  // ... and again with PALISADE_COLLECTOR_DELIVERY=ring (ring-delivery.test.ts)
  const delivery = options.delivery ?? process.env.PALISADE_COLLECTOR_DELIVERY;
  if ((delivery === 'copy' || delivery === 'ring') && collector.stats().delivery !== delivery) {
    await collector.close();
    throw new Error(`collector delivers by ${collector.stats().delivery}, not ${delivery}`);
  }
  const events: CollectorEvent[] = [];
  const waiters = new Set<{ pred: (ev: CollectorEvent) => boolean; resolve: (ev: CollectorEvent) => void }>();
  collector.onEvent((ev) => {
    if (events.length < 500_000) events.push(ev);
    for (const w of waiters) if (w.pred(ev)) { waiters.delete(w); w.resolve(ev); }
  });
  const waitFor = (what: string, pred: (ev: CollectorEvent) => boolean, timeoutMs = 15_000): Promise<CollectorEvent> => {
    const hit = events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (ev: CollectorEvent) => { clearTimeout(t); resolve(ev); } };
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no event matched: ${what} (${events.length} events recorded)`));
      }, timeoutMs);
      waiters.add(w);
    });
  };
  return {
    collector, events, waitFor: waitFor as Recorder['waitFor'],
    async close() { await collector.close(); },
  };
}

export type TestCgroup = { readonly id: bigint; readonly dir: string; leave(): void };

/** Moves this test process (and so every child it spawns) into a fresh cgroup v2 group, so
 * the collector can monitor only the test's own processes: other load on the machine
 * cannot crowd the ring. leave() moves back and removes the group. */
export function enterTestCgroup(name: string): TestCgroup {
  const root = cgroup2Root();
  if (!root) throw new Error('no cgroup2 mount: run scripts/mount-kernel-fs.sh or the images setup');
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  const original = line ? line.slice(3) : '/';
  const rel = `/palisade-test-${name}-${process.pid}`;
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
  const id = cgroupIdOf(rel, root);
  if (id === undefined) throw new Error(`cannot stat ${dir}`);
  return {
    id, dir,
    leave() {
      writeFileSync(join(root, original, 'cgroup.procs'), String(process.pid));
      try { rmdirSync(dir); } catch (err) { process.stderr.write(`leave ${dir}: ${String(err)}\n`); }
    },
  };
}

/** The lines a child prints on stdout. waitFor(match, what) resolves once a printed line matches
 * (before or after the call) and rejects, naming `what`, if the child exits first. */
function watchLines(child: ChildProcess, exited: Promise<unknown>, onLine: (line: string) => void = () => undefined): (match: (line: string) => boolean, what: string) => Promise<void> {
  const printed: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: () => void }>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    printed.push(line);
    onLine(line);
    for (const w of waiters) if (w.match(line)) { waiters.delete(w); w.resolve(); }
  });
  return (match, what) => printed.some(match) ? Promise.resolve()
    : Promise.race([
      new Promise<void>((resolve) => waiters.add({ match, resolve })),
      exited.then(() => { if (!printed.some(match)) throw new Error(`${what}: exited before printing it`); }),
    ]);
}

export type GatedTester = {
  readonly pid: number;
  /** key=value lines printed so far */
  readonly kv: Record<string, string>;
  /** resolves once the tester printed `key`; rejects if it exits first */
  waitKey(key: string): Promise<void>;
  readonly exited: Promise<unknown>;
};

/** Starts the C tester with a gated mode (burst, bursts: it prints ready=1, then waits for a
 * line on stdin), moves it into the cgroup directory `cgDir` and lets it go. */
export async function startGatedTester(cgDir: string, args: string[]): Promise<GatedTester> {
  const child = spawn(buildProg('tester'), args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const kv: Record<string, string> = {};
  const waitFor = watchLines(child, exited, (line) => {
    const [k, v] = line.split('=');
    if (k !== undefined && v !== undefined) kv[k] = v;
  });
  const waitKey = (key: string): Promise<void> => waitFor((line) => line.startsWith(`${key}=`), `tester ${key}`);
  await waitKey('ready');
  writeFileSync(join(cgDir, 'cgroup.procs'), String(child.pid));
  child.stdin.write('go\n');
  return { pid: child.pid as number, kv, waitKey, exited };
}

export type BurstsTester = {
  /** the pid of the process started (with a prefix such as `unshare --fork`, not the tester's) */
  readonly pid: number;
  /** n x openat(dir/tag); resolves once the tester printed done=tag, rejects if it exits first */
  run(tag: string): Promise<void>;
  /** closes the tester's stdin and asserts that it exits 0 */
  end(): Promise<void>;
};

/** Starts `tester bursts n dir` (under `prefix`, e.g. unshare -m); resolves once it is ready
 * (rejects if it exits first). Killed after 120 s at the latest. */
export async function startBurstsTester(n: number, dir: string, prefix: string[] = []): Promise<BurstsTester> {
  const argv = [...prefix, buildProg('tester'), 'bursts', String(n), dir];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(timer));
  const waitFor = watchLines(child, exited);
  const waitLine = (line: string): Promise<void> => waitFor((l) => l === line, `${argv.join(' ')} (${line})`);
  await waitLine('ready=1');
  return {
    pid: child.pid as number,
    run(tag) {
      const done = waitLine(`done=${tag}`);
      child.stdin.write(`${tag}\n`);
      return done;
    },
    async end() {
      child.stdin.end();
      const [code] = await exited as [number | null];
      assert.equal(code, 0, `${argv.join(' ')} exit code`);
    },
  };
}
