// Failures surface as typed errors: errno name in `code`, the number in `errno`, the step
// in `syscall`; bad options name the option.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCollector } from '../../../collector/index.js';
import { TMP } from './harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('collector errors', () => {
  it('a missing BPF object is ENOENT from bpf_object__open_file', async () => {
    await assert.rejects(openCollector({ objectPath: join(TMP, 'no-such-object.bpf.o') }), (err: Error & { code?: string; errno?: number; syscall?: string }) => {
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.errno, 2);
      assert.equal(err.syscall, 'bpf_object__open_file');
      assert.match(err.message, /No such file or directory/);
      return true;
    });
  });

  it('a ring size that is not a power of two is refused before loading, naming the option', async () => {
    await assert.rejects(openCollector({ ringBytes: 5000 }), /ringBytes: 5000 must be a power of two/);
  });

  it('a kernel batch size out of range is refused, naming the option and the range', async () => {
    await assert.rejects(openCollector({ kernelBatchBytes: 9000 }), /kernelBatchBytes: 9000 must be an integer between 0 and 8192/);
    await assert.rejects(openCollector({ kernelBatchBytes: 1.5 }), /kernelBatchBytes: 1.5 must be an integer between 0 and 8192/);
    await assert.rejects(openCollector({ ringBytes: 16384, kernelBatchBytes: 4096 }), /kernelBatchBytes: 4096 must be at most ringBytes\/8 \(2048\)/);
  });

  it('$PALISADE_COLLECTOR_KERNEL_BATCH sets the default; a bad value is refused, naming the variable', () => {
    const run = (value: string, ringBytes = 8 << 20): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', '-e',
      `import('./collector/index.js').then((m) => m.openCollector({ classes: [], seedProcesses: false, ringBytes: ${ringBytes} })).then(async (c) => { console.log('kb=' + c.stats().kernelBatchBytes); await c.close(); }, (e) => { console.error(e.message); process.exit(3); })`],
    { cwd: root, env: { ...process.env, PALISADE_COLLECTOR_KERNEL_BATCH: value }, encoding: 'utf8', timeout: 60_000 });
    const good = run('4096');
    assert.equal(good.status, 0, String(good.stderr));
    assert.match(String(good.stdout), /kb=4096/);
    const capped = run('8192', 16384); // the default from the environment is capped to ringBytes/8
    assert.equal(capped.status, 0, String(capped.stderr));
    assert.match(String(capped.stdout), /kb=2048/);
    const bad = run('lots');
    assert.equal(bad.status, 3, String(bad.stderr));
    assert.match(String(bad.stderr), /kernelBatchBytes: NaN must be an integer between 0 and 8192 \(from \$PALISADE_COLLECTOR_KERNEL_BATCH='lots'\)/);
  });

  it('an unknown event class is refused', async () => {
    await assert.rejects(openCollector({ classes: ['disk' as 'file'] }), /classes: unknown event class 'disk'/);
  });
});
