// The benchmark scripts' command lines (bench/bench-args.ts): --help prints the script's
// own usage header and exits 0 before any measuring starts; an unknown option or a bad
// number exits 2 with a message naming the option, not a stack trace. Runs the real
// scripts; each parses its options before it builds, attaches or spawns anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPTS = [
  'bench/collector/run.ts', 'bench/collector/floor.ts', 'bench/collector/ab-kbatch.ts', 'bench/collector/cap-overhead.ts',
  'bench/policy/run.ts', 'bench/relay/run.ts', 'bench/relay-spool/run.ts',
];

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const script of SCRIPTS) {
  test(`${script} --help prints its usage and exits 0`, () => {
    const r = run(script, ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage/);
    assert.ok(!r.stdout.includes('//'), 'comment slashes are stripped');
  });
  test(`${script} names an unknown option and exits 2`, () => {
    const r = run(script, ['--no-such-option']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--no-such-option/);
    assert.match(r.stderr, /Usage/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('bench/collector/run.ts names a bad number and an unknown section', () => {
  const bad = run('bench/collector/run.ts', ['--runs', 'many']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--runs: "many" is not an integer in 1\.\.1000/);
  const fraction = run('bench/collector/floor.ts', ['--rounds', '2.5']);
  assert.equal(fraction.status, 2, fraction.stderr);
  assert.match(fraction.stderr, /--rounds: "2\.5" is not an integer/);
  const section = run('bench/collector/run.ts', ['--only', 'overhead,drainage']);
  assert.equal(section.status, 2, section.stderr);
  assert.match(section.stderr, /--only: unknown section "drainage"/);
});

test('bench/relay/run.ts names a value that is not one of its choices', () => {
  for (const [opt, value] of [['--spool', 'maybe'], ['--only', 'overload'], ['--client-impl', 'rust'], ['--kubernetes', 'incluster']] as const) {
    const r = run('bench/relay/run.ts', [opt, value]);
    assert.equal(r.status, 2, `${opt} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${opt}: "${value}" is not one of`));
  }
});
