// The native addon's batch delivery (collector/native/src/addon.c, collector.c): batches
// come from a bounded pool, are lent to onBatch and detached when it returns; a consumer
// slower than the kernel makes the drain thread wait (records stay in the ring) instead of
// dropping. The frame hints (ASCII, canonical path) must not change what the decoder yields:
// a plain path and a non-ASCII path with "//" and "/./" both decode exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { decodeBatch, newDecodeCounters } from '../../../collector/decode.js';
import { bpfObjectPath, loadNative } from '../../../collector/native/index.js';
import { buildProg, enterTestCgroup, type TestCgroup } from './harness.js';

const N = 3000;
const PLAIN = '/nonexistent-palisade-lend/plain-file';
const ODD = '/nonexistent-palisade-lend/é//x/./y';
const ODD_NORMAL = '/nonexistent-palisade-lend/é/x/y';
const POOL = 2;

async function burst(tester: string, n: number, path: string): Promise<void> {
  const child = spawn(tester, ['burst', String(n), path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => { ready = r; });
  lines.on('line', (l) => { if (l === 'ready=1') ready(); });
  const exited = once(child, 'exit');
  await Promise.race([isReady, exited]);
  child.stdin.write('go\n');
  const [code] = await exited as [number | null];
  assert.equal(code, 0, 'tester burst exited 0');
}

describe('collector: batches lent to JS', () => {
  let cg: TestCgroup | undefined;
  before(() => { cg = enterTestCgroup('batches'); });
  after(() => { cg?.leave(); });

  it('detaches every batch after onBatch, keeps the pool bounded, and loses nothing when JS is slow', async () => {
    const id = (cg as TestCgroup).id;
    const tester = buildProg('tester');
    const native = loadNative();
    const held: Buffer[] = [];
    const lengthsInCall: number[] = [];
    const counters = newDecodeCounters();
    const paths = new Map<string, number>();
    let records = 0;
    let closed: () => void = () => undefined;
    const done = new Promise<void>((r) => { closed = r; });
    const h = native.open({
      objectPath: bpfObjectPath('palisade.bpf.o'), ringBytes: 8 << 20, batchBytes: 65536, pollMs: 5,
      maxQueuedBatches: POOL, classes: 2, agentTgid: process.pid, cgroupMode: 1, wakeupBytes: 1 << 20,
    }, (buf, n) => {
      held.push(buf);
      lengthsInCall.push(buf.length);
      records += n;
      decodeBatch(buf, { bootEpochMs: 0 }, counters, (ev) => {
        if (ev.kind === 'file') paths.set(ev.path, (paths.get(ev.path) ?? 0) + 1);
      });
      // a slow consumer: the drain thread must wait for this batch, not drop the next ones
      const until = Date.now() + 2;
      while (Date.now() < until) { /* busy */ }
    }, closed);
    try {
      native.setCgroup(h, id, true);
      await burst(tester, N, PLAIN);
      await burst(tester, N, ODD);
      const burstSeen = (): number => (paths.get(PLAIN) ?? 0) + (paths.get(ODD_NORMAL) ?? 0);
      for (let i = 0; i < 400 && burstSeen() < 2 * N; i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      const st = native.stats(h);
      native.close(h);
      await done;
      const dropped = st.kernel.dropped.reduce((a, b) => a + b, 0);
      assert.equal(dropped, 0, 'the 8 MiB ring held the burst');
      assert.equal(st.droppedRecords, 0, 'nothing dropped in user space');
      assert.ok(st.poolBatches <= POOL, `pool bounded: ${st.poolBatches} batches allocated`);
    }
    // (the tester's own start-up opens, e.g. the dynamic loader's, come too)
    assert.equal(paths.get(PLAIN), N, 'every open of the plain path was delivered, decoded as is');
    assert.equal(paths.get(ODD_NORMAL), N, 'every open of the non-ASCII path with // and /./, decoded and normalised');
    assert.equal(counters.records, records, 'every delivered record decoded');
    assert.equal(Object.values(counters.bad).reduce((a, b) => a + b, 0), 0, 'no bad record');
    assert.ok(lengthsInCall.every((l) => l > 0), 'each batch had data during the call');
    assert.ok(held.every((b) => b.length === 0), 'each batch Buffer is detached once onBatch returned');
  });
});
