// relay/v8-tuning.ts: `palisade relay` turns V8's allocation-site pretenuring off at
// start-up. Checked on V8 itself: a child process applies the tuning, then makes objects
// at one literal site and keeps each in a ring of 300k long enough to survive its
// young-generation GCs, under --trace-pretenuring-statistics. V8 decides to pretenure
// only at a scavenge of a full-size young generation, so the child runs with a 1 MiB
// semi-space to reach that at once. With the tuning no site is decided "tenure"; with
// PALISADE_V8_PRETENURING=on (V8's default kept) the same work tenures sites.
// It also fixes the old generation's growth factor at 2: a child keeps ~60 MB live and
// churns until a mark-compact, and under --trace-incremental-marking the next marking
// starts at a limit of about twice what that mark-compact left (V8 adds the young
// generation's capacity, ~16 MB); V8's own factor gives 1.1-4 times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const WORK = [
  "import('./relay/v8-tuning.js').then(({ applyRelayV8Tuning }) => {",
  '  const flags = applyRelayV8Tuning();',
  '  const ring = new Array(300000);',
  '  const make = (i) => ({ a: i, b: i + 1 });',
  '  for (let i = 0; i < 6000000; i++) ring[i % ring.length] = make(i);',
  "  console.log('flags ' + JSON.stringify(flags) + ' kept ' + ring.length);",
  '});',
].join('\n');

/** Runs `work` in a child with these V8 flags; the tuning's variables are unset unless `env` sets them. Returns stdout. */
function child(v8Flags: readonly string[], work: string, env: Record<string, string>): string {
  const e: Record<string, string | undefined> = { ...process.env };
  delete e['PALISADE_V8_PRETENURING'];
  delete e['PALISADE_V8_HEAP_GROWING'];
  const r = spawnSync(process.execPath, [...v8Flags, '--import', 'tsx', '-e', work], { cwd: root, env: { ...e, ...env }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
const flagsLine = (stdout: string): string => stdout.split('\n').filter((l) => l.startsWith('flags')).join('\n');

function run(env: Record<string, string>): { tenured: number; out: string } {
  const stdout = child(['--trace-pretenuring-statistics', '--max-semi-space-size=1'], WORK, env);
  return { tenured: (stdout.match(/=> tenure/g) ?? []).length, out: flagsLine(stdout) };
}

test('the relay tuning turns allocation-site pretenuring off', () => {
  const r = run({});
  assert.match(r.out, /flags \["--no-allocation-site-pretenuring","--heap-growing-percent=100"\] kept 300000/);
  assert.equal(r.tenured, 0, 'no allocation site may be pretenured once the tuning is applied');
});

test('PALISADE_V8_PRETENURING=on keeps V8 default (the same work then tenures sites)', () => {
  const r = run({ PALISADE_V8_PRETENURING: 'on', PALISADE_V8_HEAP_GROWING: 'default' });
  assert.match(r.out, /flags \[\] kept 300000/);
  assert.ok(r.tenured > 0, 'the workload must make V8 pretenure, or the first test proves nothing');
});

const GROWTH_WORK = [
  "import('./relay/v8-tuning.js').then(({ applyRelayV8Tuning }) => {",
  '  const flags = applyRelayV8Tuning();',
  '  const live = [];',
  "  for (let i = 0; i < 1200000; i++) live.push({ a: i, b: 'x' + i, c: [i] });",
  '  const ring = new Array(200000);',
  '  for (let i = 0; i < 8000000; i++) ring[i % ring.length] = { a: i, b: i + 1 };',
  "  console.log('flags ' + JSON.stringify(flags) + ' kept ' + (live.length + ring.length));",
  '});',
].join('\n');

/** [size after a mark-compact, limit at which the next incremental marking started] in MB, from V8's trace. */
function growthSteps(env: Record<string, string>): { steps: Array<[number, number]>; out: string } {
  const stdout = child(['--trace-gc', '--trace-incremental-marking'], GROWTH_WORK, env);
  const steps: Array<[number, number]> = [];
  let after: number | undefined;
  for (const line of stdout.split('\n')) {
    const mc = /Mark-Compact [0-9.]+ \([0-9.]+\) -> ([0-9.]+) \(/.exec(line);
    if (mc) after = Number(mc[1]);
    const start = /Start \([^)]*\): \(size\/limit\/slack\) v8: (\d+)MB \/ (\d+)MB/.exec(line);
    if (start && after !== undefined) {
      steps.push([after, Number(start[2])]);
      after = undefined;
    }
  }
  return { steps, out: flagsLine(stdout) };
}

test('the relay tuning fixes the old generation growth factor at 2', () => {
  const r = growthSteps({});
  assert.match(r.out, /"--heap-growing-percent=100"\] kept 1400000/);
  const big = r.steps.filter(([after]) => after >= 40);
  assert.ok(big.length > 0, `no mark-compact left 40 MB or more: ${JSON.stringify(r.steps)}`);
  for (const [after, limit] of big) {
    const ratio = limit / after;
    assert.ok(ratio >= 1.9 && ratio <= 2.6, `after a mark-compact left ${after} MB the next limit was ${limit} MB (x${ratio.toFixed(2)}), not about twice`);
  }
});

test('PALISADE_V8_HEAP_GROWING=default leaves the factor to V8', () => {
  const r = growthSteps({ PALISADE_V8_HEAP_GROWING: 'default' });
  assert.match(r.out, /flags \["--no-allocation-site-pretenuring"\] kept 1400000/);
});
