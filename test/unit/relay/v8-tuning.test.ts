// relay/v8-tuning.ts: `palisade relay` turns V8's allocation-site pretenuring off at
// start-up. Checked on V8 itself: a child process applies the tuning, then makes objects
// at one literal site and keeps each in a ring of 300k long enough to survive its
// young-generation GCs, under --trace-pretenuring-statistics. V8 decides to pretenure
// only at a scavenge of a full-size young generation, so the child runs with a 1 MiB
// semi-space to reach that at once. With the tuning no site is decided "tenure"; with
// PALISADE_V8_PRETENURING=on (V8's default kept) the same work tenures sites.
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

function run(env: Record<string, string>): { tenured: number; out: string } {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  if (env['PALISADE_V8_PRETENURING'] === undefined) delete e['PALISADE_V8_PRETENURING'];
  const r = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '--max-semi-space-size=1', '--import', 'tsx', '-e', WORK], { cwd: root, env: e, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return { tenured: (r.stdout.match(/=> tenure/g) ?? []).length, out: r.stdout.split('\n').filter((l) => l.startsWith('flags')).join('\n') };
}

test('the relay tuning turns allocation-site pretenuring off', () => {
  const r = run({});
  assert.match(r.out, /flags \["--no-allocation-site-pretenuring"\] kept 300000/);
  assert.equal(r.tenured, 0, 'no allocation site may be pretenured once the tuning is applied');
});

test('PALISADE_V8_PRETENURING=on keeps V8 default (the same work then tenures sites)', () => {
  const r = run({ PALISADE_V8_PRETENURING: 'on' });
  assert.match(r.out, /flags \[\] kept 300000/);
  assert.ok(r.tenured > 0, 'the workload must make V8 pretenure, or the first test proves nothing');
});
