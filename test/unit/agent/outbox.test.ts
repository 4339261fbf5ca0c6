import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from '../../../proto/gen/feeder/kubearmor.js';
import { createOutbox, type EntryBody } from '../../../enforcer/agent/outbox.js';

const log = (r: string): EntryBody => ({ $case: 'log', value: Log.create({ Resource: r }) });
const res = (e: { event?: EntryBody | undefined }): string => (e.event?.$case === 'log' ? e.event.value.Resource : `<${e.event?.$case}>`);
const mk = (capacity = 100, maxBatchEntries = 10, maxSpan = 1000) => createOutbox({ nodeId: 'n1', bootId: 'b1', capacity, maxBatchEntries, maxSpan });

test('seqs from 1, batches cover contiguous ranges, acks free entries, rewind resends', () => {
  const o = mk();
  for (let i = 1; i <= 25; i++) assert.equal(o.push(log(`r${i}`)), BigInt(i));
  assert.equal(o.nextBatch(), undefined, 'nothing is sent before the hello');
  o.onHello(0n);
  const b1 = o.nextBatch();
  assert.ok(b1);
  assert.equal(b1.nodeId, 'n1');
  assert.equal(b1.bootId, 'b1');
  assert.equal(b1.firstSeq, 1n);
  assert.equal(b1.lastSeq, 10n);
  assert.deepEqual(b1.entries.map((e) => e.seq), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
  const b2 = o.nextBatch();
  assert.equal(b2?.firstSeq, 11n);
  assert.equal(b2?.lastSeq, 20n);
  o.ack(10n);
  assert.equal(o.pending, 15);
  o.rewind(); // e.g. a retryable error: resend from 11
  assert.equal(o.nextBatch()?.firstSeq, 11n);
  const b3 = o.nextBatch();
  assert.equal(b3?.firstSeq, 21n);
  assert.equal(b3?.lastSeq, 25n);
  assert.equal(o.nextBatch(), undefined);
  o.ack(25n);
  assert.equal(o.pending, 0);
  assert.equal(o.stats().acked, 25);
  assert.equal(o.stats().ackedSeq, 25n);
});

test('drop_oldest: overflow is counted, leaves gaps in the batch range and is reported as a Message', () => {
  const o = mk(3);
  for (let i = 1; i <= 5; i++) o.push(log(`r${i}`));
  assert.deepEqual(o.stats().dropped, { overflow: 2, rejected: 0 });
  assert.equal(o.pending, 3);
  o.onHello(0n);
  const b = o.nextBatch();
  assert.equal(b?.firstSeq, 1n, 'the range starts after the last ack, so seqs 1-2 are declared lost');
  assert.equal(b?.lastSeq, 5n);
  assert.deepEqual(b?.entries.map(res), ['r3', 'r4', 'r5']);
  o.ack(5n);
  assert.equal(o.pending, 0);
  assert.equal(o.reportDrops(Date.now(), 'node-a'), true);
  assert.equal(o.reportDrops(Date.now(), 'node-a'), false, 'one notice per batch of drops');
  assert.equal(o.stats().dropped.overflow, 2);
  const n = o.nextBatch();
  assert.equal(n?.firstSeq, 6n);
  assert.equal(n?.entries.length, 1);
  const m = n?.entries[0]?.event;
  assert.equal(m?.$case, 'message');
  if (m?.$case === 'message') {
    assert.equal(m.value.Type, 'Dropped');
    assert.equal(m.value.Level, 'Warn');
    assert.match(m.value.Message, /dropped 2 events/);
    assert.equal(m.value.HostName, 'node-a');
  }
});

test('first hello with a relay ahead of us (agent restart): the space is shifted, no seq reused', () => {
  const o = mk();
  o.push(log('a'));
  o.push(log('b'));
  o.onHello(41n);
  const b = o.nextBatch();
  assert.equal(b?.firstSeq, 42n);
  assert.deepEqual(b?.entries.map((e) => e.seq), [42n, 43n]);
  assert.equal(o.push(log('c')), 44n);
});

test('relay forgot (restart): gap-only bridge within maxSpan, then the unacked entries', () => {
  const o = mk(100, 10, 8);
  for (let i = 1; i <= 30; i++) o.push(log(`r${i}`));
  o.onHello(0n);
  o.nextBatch(); o.nextBatch(); o.nextBatch();
  o.ack(20n); // relay #1 acked 1..20, 21..30 unacked
  o.onHello(0n); // relay #2 knows nothing
  assert.equal(o.stats().bridged, 20n);
  const ranges: string[] = [];
  for (let i = 0; i < 10; i++) {
    const b = o.nextBatch();
    if (!b) break;
    ranges.push(`${b.firstSeq}-${b.lastSeq}:${b.entries.length}`);
    o.ack(b.lastSeq);
  }
  assert.deepEqual(ranges, ['1-8:0', '9-16:0', '17-24:4', '25-30:6']);
  assert.equal(o.pending, 0);
});

test('window: a batch never reaches past relayAcked + maxSpan', () => {
  const o = mk(100, 100, 5);
  for (let i = 1; i <= 12; i++) o.push(log(`r${i}`));
  o.onHello(0n);
  assert.equal(o.nextBatch()?.lastSeq, 5n);
  assert.equal(o.nextBatch(), undefined, 'window full until an ack');
  o.ack(3n);
  const b = o.nextBatch();
  assert.equal(b?.firstSeq, 6n);
  assert.equal(b?.lastSeq, 8n);
});

test('reject: entries of a refused batch are dropped, counted, and their range resent as a gap', () => {
  const o = mk();
  for (let i = 1; i <= 6; i++) o.push(log(`r${i}`));
  o.onHello(0n);
  o.nextBatch(3);
  assert.equal(o.reject(1n, 3n), 3);
  assert.deepEqual(o.stats().dropped, { overflow: 0, rejected: 3 });
  const b = o.nextBatch();
  assert.equal(b?.firstSeq, 1n);
  assert.deepEqual(b?.entries.map(res), ['r4', 'r5', 'r6']);
});

test('a notice pushed into a full outbox displaces the oldest entry and that drop is reported next', () => {
  const o = mk(2);
  for (let i = 1; i <= 3; i++) o.push(log(`r${i}`));
  assert.equal(o.reportDrops(0, 'n'), true);
  assert.equal(o.stats().dropped.overflow, 2);
  assert.equal(o.reportDrops(0, 'n'), true);
  assert.equal(o.stats().dropNotices, 2);
  assert.equal(o.pending, 2);
});
