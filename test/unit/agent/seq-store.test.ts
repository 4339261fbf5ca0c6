import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSeqStore } from '../../../enforcer/agent/seq-store.js';
import { createOutbox } from '../../../enforcer/agent/outbox.js';
import { Log } from '../../../proto/gen/feeder/kubearmor.js';

const TMP = join(process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test', `agent-seq-${process.pid}`);

test('seq store: blocks per boot, settle on clean stop, new boot restarts at 1, unwritable is reported', () => {
  rmSync(TMP, { recursive: true, force: true });
  try {
    const a = createSeqStore({ dir: TMP, nodeId: 'node/1', bootId: 'b1', block: 100n });
    assert.equal(a.start, 1n);
    assert.equal(a.reserved, 100n);
    assert.equal(a.persistent, true);
    assert.deepEqual(JSON.parse(readFileSync(join(TMP, 'seq-node_1.json'), 'utf8')), { bootId: 'b1', reserved: '100' });
    assert.equal(a.reserve(150n), 249n);
    // a crash now: the next run starts after the whole reservation
    const b = createSeqStore({ dir: TMP, nodeId: 'node/1', bootId: 'b1', block: 100n });
    assert.equal(b.start, 250n);
    b.settle(260n); // clean stop after using 250..260
    const c = createSeqStore({ dir: TMP, nodeId: 'node/1', bootId: 'b1', block: 100n });
    assert.equal(c.start, 261n);
    c.settle(0n); // nothing used: the start stays
    assert.equal(createSeqStore({ dir: TMP, nodeId: 'node/1', bootId: 'b1', block: 100n }).start, 261n);
    assert.equal(createSeqStore({ dir: TMP, nodeId: 'node/1', bootId: 'b2', block: 100n }).start, 1n, 'another boot');
    mkdirSync(TMP, { recursive: true });
    writeFileSync(join(TMP, 'file'), 'x');
    const d = createSeqStore({ dir: join(TMP, 'file'), nodeId: 'n', bootId: 'b1', block: 10n });
    assert.equal(d.persistent, false);
    assert.match(d.error, /seq-n\.json/);
    assert.equal(d.reserve(15n), 24n, 'still counts in memory');
  } finally {
    rmSync(TMP, { recursive: true, force: true });
  }
});

test('outbox with a store: continues after the previous run, reserves ahead, shifts past a relay that is further', () => {
  rmSync(TMP, { recursive: true, force: true });
  try {
    const first = createSeqStore({ dir: TMP, nodeId: 'n', bootId: 'b', block: 4n });
    first.settle(5n);
    const seqs = createSeqStore({ dir: TMP, nodeId: 'n', bootId: 'b', block: 4n });
    const o = createOutbox({ nodeId: 'n', bootId: 'b', capacity: 100, maxBatchEntries: 100, maxSpan: 1000 }, { seqs });
    const log = { $case: 'log' as const, value: Log.create({ Resource: 'x' }) };
    for (let i = 0; i < 6; i++) o.push(log);
    assert.equal(seqs.reserved, 13n, 'reserved ahead in blocks while pushing 6..11');
    o.onHello(5n); // the relay acked the previous run's 1..5
    const b = o.nextBatch();
    assert.equal(b?.firstSeq, 6n);
    assert.deepEqual(b?.entries.map((e) => e.seq), [6n, 7n, 8n, 9n, 10n, 11n]);

    const o2 = createOutbox({ nodeId: 'n', bootId: 'b', capacity: 100, maxBatchEntries: 100, maxSpan: 1000 }, { seqs: createSeqStore({ dir: TMP, nodeId: 'n', bootId: 'b', block: 4n }) });
    o2.push(log);
    o2.onHello(20n); // a relay further than our store (the store was lost): shift past it
    assert.equal(o2.nextBatch()?.firstSeq, 21n);
  } finally {
    rmSync(TMP, { recursive: true, force: true });
  }
});
