// Loss accounting with a tiny ring: a burst far larger than the ring makes the kernel drop,
// and every generated event is either delivered or counted as dropped — exactly; also with
// kernel batches (a batch the ring cannot take counts every record in it).
// The generator runs alone in a fresh cgroup v2 group that is the only one monitored, with
// only the file class on, so every record the kernel handles for this collector is one of
// the generator's opens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root, cgroupIdOf } from '../../../collector/containers.js';
import type { FileEvent } from '../../../collector/events.js';
import { record, startGatedTester, type Recorder } from './harness.js';

const N = 20_000;
const PATH = '/nonexistent-palisade-burst/x';

describe('collector: loss accounting', () => {
  let rec: Recorder | undefined;
  let cgDir = '';

  before(() => {
    const root = cgroup2Root();
    assert.ok(root, 'a cgroup2 mount');
    cgDir = join(root, `palisade-test-burst-${process.pid}`);
    mkdirSync(cgDir, { recursive: true });
  });
  after(async () => {
    await rec?.close();
    try { rmdirSync(cgDir); } catch (err) { process.stderr.write(`cleanup ${cgDir}: ${String(err)}\n`); }
  });

  for (const kernelBatchBytes of [0, 512]) it(`delivered + dropped = generated, with drops in a tiny ring (kernelBatchBytes ${kernelBatchBytes})`, async () => {
    const cgId = cgroupIdOf(`/${cgDir.split('/').pop()}`);
    assert.ok(cgId !== undefined);
    rec = await record({
      ringBytes: 8192, pollMs: 200, wakeupBytes: 1 << 30, classes: ['file'], kernelBatchBytes,
      cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false,
    });
    const child = await startGatedTester(cgDir, ['burst', String(N), PATH]);
    await child.waitKey('done');
    await child.exited;
    assert.equal(Number(child.kv.done), N);

    // wait (bounded) until the drain thread has read everything the kernel wrote
    for (let i = 0; i < 200; i++) {
      const s = rec.collector.stats();
      if (s.native.ringRecords === s.kernel.emitted && s.decoder.records + s.native.droppedRecords + s.native.badRecords === s.native.ringRecords) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const final = await rec.collector.close();
    const delivered = rec.events.filter((e): e is FileEvent => e.kind === 'file' && e.path === PATH && e.pid === child.pid).length;
    const others = rec.events.length - delivered;
    assert.equal(others, 0, 'only the generator was monitored');
    assert.ok(final.kernel.dropped > 0, `the tiny ring dropped (emitted ${final.kernel.emitted})`);
    assert.equal(final.kernel.emitted + final.kernel.dropped, N, 'every open reached the ring or the drop counter');
    assert.equal(delivered + final.kernel.dropped + final.native.droppedRecords + final.native.badRecords, N,
      `delivered ${delivered} + kernel drops ${final.kernel.dropped} + user drops ${final.native.droppedRecords}`);
    assert.equal(final.lost, final.kernel.dropped + final.native.droppedRecords);
    rec = undefined;
  });
});
