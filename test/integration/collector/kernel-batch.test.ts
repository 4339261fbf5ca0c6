// Per-CPU kernel batches (pal_config.batch_bytes, the collector's kernelBatchBytes): a burst of
// opens reaches the ring as a few ring records holding many records each, every record is
// delivered once and in its task's order, the task's exit comes after its last open (a process
// record flushes the batch first), the kernel and native counts agree record for record, and
// with batches off each record is its own ring record. A record whose task keeps computing
// without a syscall is delivered while it computes, and the timer tick sends batches (checked
// by its own counter: without the tick program it stays 0 and a record would wait for its task
// to switch out or exit; checked by detaching it).
// The tester runs alone in a fresh cgroup v2 group, the only one monitored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { cgroup2Root, cgroupIdOf } from '../../../collector/containers.js';
import type { CollectorEvent, FileEvent } from '../../../collector/events.js';
import { buildProg, record, startGatedTester, type Recorder } from './harness.js';

const N = 3000;
const PATH = '/nonexistent-palisade-kbatch/x';

describe('collector: kernel batches', () => {
  let rec: Recorder | undefined;
  let cgDir = '';
  let cgId = 0n;

  before(() => {
    const root = cgroup2Root();
    assert.ok(root, 'a cgroup2 mount');
    cgDir = join(root, `palisade-test-kbatch-${process.pid}`);
    mkdirSync(cgDir, { recursive: true });
    const id = cgroupIdOf(`/${cgDir.split('/').pop()}`);
    assert.ok(id !== undefined);
    cgId = id;
  });
  after(async () => {
    await rec?.close();
    try { rmdirSync(cgDir); } catch (err) { process.stderr.write(`cleanup ${cgDir}: ${String(err)}\n`); }
  });

  for (const kernelBatchBytes of [8192, 0]) {
    it(`a burst with kernelBatchBytes ${kernelBatchBytes}: every record once, in order, exit last; ring records ${kernelBatchBytes ? 'hold many' : 'hold one'}`, async () => {
      rec = await record({ classes: ['file', 'process'], cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false, kernelBatchBytes });
      const t = await startGatedTester(cgDir, ['burst', String(N), PATH]);
      await t.waitKey('done');
      await t.exited;
      await rec.waitFor('the tester exits', (e) => e.kind === 'exit' && e.pid === t.pid);
      for (let i = 0; i < 100; i++) {
        const s = rec.collector.stats();
        if (s.native.ringRecords === s.kernel.emitted && s.decoder.records === s.native.ringRecords) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = await rec.collector.close();
      const mine = rec.events.filter((e) => e.pid === t.pid);
      const opens = mine.filter((e): e is FileEvent => e.kind === 'file' && e.path === PATH);
      assert.equal(opens.length, N, `${opens.length} of ${N} opens delivered`);
      for (let i = 1; i < opens.length; i++) {
        assert.ok((opens[i] as FileEvent).bootNs >= (opens[i - 1] as FileEvent).bootNs, `open ${i} delivered out of order`);
      }
      const exitAt = mine.findIndex((e: CollectorEvent) => e.kind === 'exit');
      assert.equal(exitAt, mine.length - 1, 'the exit is the last record of the task');
      assert.equal(st.kernel.dropped, 0);
      assert.equal(st.native.ringRecords, st.kernel.emitted, 'the kernel and the drain count the same records');
      assert.equal(st.decoder.records, st.native.ringRecords);
      if (kernelBatchBytes) {
        assert.ok(st.native.ringFrames * 8 < st.native.ringRecords,
          `${st.native.ringRecords} records came in ${st.native.ringFrames} ring records: not batched`);
      } else {
        assert.equal(st.native.ringFrames, st.native.ringRecords, 'one record per ring record');
      }
      rec = undefined;
    });
  }

  it('a record of a task that computes without syscalls arrives while it computes', async () => {
    rec = await record({ classes: ['file'], cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false, kernelBatchBytes: 8192 });
    const path = `/nonexistent-palisade-kbatch/spin-${process.pid}`;
    // the tester enters the cgroup before it starts: a shell moves itself, then execs it
    const SPIN_MS = 2000;
    // (no pipe to this process: a write to it could wake this process on the tester's CPU, and
    // the switch would send the batch)
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(cgDir, 'cgroup.procs')} && exec "$0" spin "$1" ${SPIN_MS}`, buildProg('tester'), path],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = once(child, 'exit');
    const started = performance.now();
    const ev = await rec.waitFor('the spinning tester\'s open', (e) => e.kind === 'file' && e.path === path, SPIN_MS + 5000);
    const arrivedMs = performance.now() - started;
    const stillRunning = child.exitCode === null;
    await exited;
    await rec.collector.close();
    rec = undefined;
    assert.equal(ev.pid, child.pid);
    assert.ok(stillRunning && arrivedMs < SPIN_MS / 2,
      `the open arrived after ${arrivedMs.toFixed(0)} ms, ${stillRunning ? 'while' : 'after'} the tester computed for ${SPIN_MS} ms`);
  });

  it('the timer tick sends batches: opens 20 ms apart with computing in between', async () => {
    // a switch of the computing task also sends its batch (counted apart), but rarely within
    // the ~4 ms until the next tick, so most of the 40 opens go with a tick
    rec = await record({ classes: ['file'], cgroups: { mode: 'only', ids: [cgId] }, seedProcesses: false, kernelBatchBytes: 8192 });
    const path = `/nonexistent-palisade-kbatch/ticks-${process.pid}`;
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(cgDir, 'cgroup.procs')} && exec "$0" spin "$1" 20 40`, buildProg('tester'), path],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    await once(child, 'exit');
    await rec.waitFor('the last open', () => rec?.events.filter((e) => e.kind === 'file' && e.path === path).length === 40);
    const st = await rec.collector.close();
    rec = undefined;
    const { tick, switch: sw } = st.kernel.batchFlushes;
    assert.ok(tick >= 5, `${tick} batches sent by the tick, ${sw} on a switch, for 40 opens 20 ms apart`);
  });
});
