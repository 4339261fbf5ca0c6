// Runs the native record checker's fuzz harness built with AddressSanitizer and UBSan:
// random, truncated and oversized records and batches, each in an exact-size heap buffer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', 'collector');

describe('native record checker under AddressSanitizer', () => {
  it('survives random, truncated and oversized records without an out-of-bounds read', () => {
    mkdirSync(tmp, { recursive: true });
    const bin = join(tmp, 'fuzz-record-asan');
    const cc = spawnSync('cc', [
      '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g', '-O1',
      '-I', join(root, 'bpf/include'), '-I', join(root, 'collector/native/src'),
      '-o', bin, join(root, 'collector/native/test/fuzz-record.c'), join(root, 'collector/native/src/record.c'),
    ], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
    const run = spawnSync(bin, ['200000'], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0' } });
    assert.doesNotMatch(run.stderr, /AddressSanitizer|runtime error/, run.stderr);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const m = /good=(\d+) bad=(\d+) fails=0/.exec(run.stdout);
    assert.ok(m, run.stdout);
    assert.ok(Number(m[1]) > 1000 && Number(m[2]) > 1000, 'both verdicts were exercised');
  });
});
