// palisade.v1 Ingest semantics over real gRPC: acks after hand-off, dedup on
// retransmit after a reconnect, declared gaps, per-batch errors, rate limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestErrorCode } from '../../../proto/gen/palisade/v1/ingest.js';
import { Enforcer, alertFor, startRelay, until, Watcher, watchersReady } from './support.js';
import { fakeIdentity } from './fake-identity.js';

const OFF = { enabled: false, collapseWindowMs: 0 };

test('an ack comes only after the batch was handed to the hub', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let lookups = 0;
  const { relay, addrs } = await startRelay({ throttle: OFF, kubernetes: { mode: 'in-cluster' } }, { identity: fakeIdentity(gate, () => { lookups++; }) });
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-3').open();
  e.hello();
  await until(() => e.acked() === 0n, 'hello answered with acked 0');
  e.alerts(1, 5);
  await until(() => lookups > 0, 'enrichment started');
  // the batch is held in enrichment: nothing published, nothing acked
  assert.equal(relay.hub.head, 0);
  assert.equal(e.acked(), 0n);
  const headAtAck: number[] = [];
  const origPush = e.responses.push.bind(e.responses);
  e.responses.push = (...r) => { headAtAck.push(relay.hub.head); return origPush(...r); };
  release();
  await until(() => e.acked() === 5n, 'ack 5');
  assert.equal(headAtAck.at(-1), 5, 'all five events were in the hub when the ack was sent');
  e.close();
  await relay.stop(2000);
});

test('retransmit after reconnect is deduplicated; hello tells where to resume', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF });
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
  await watchersReady(relay, 1);
  const target = `127.0.0.1:${addrs.ingestPort}`;
  const e1 = new Enforcer(target, 'node-7').open();
  e1.hello();
  e1.alerts(1, 10);
  await until(() => e1.acked() === 10n, 'ack 10');
  e1.close();
  const e2 = new Enforcer(target, 'node-7').open();
  e2.hello();
  await until(() => e2.responses.length > 0, 'hello response');
  assert.equal(e2.responses[0]!.ackedSeq, 10n, 'resume after 10');
  e2.alerts(5, 15); // an enforcer that resends more than it must
  await until(() => e2.acked() === 15n, 'ack 15');
  await until(() => w.got.length >= 15, '15 alerts');
  assert.deepEqual(w.got.map((a) => a.Resource), Array.from({ length: 15 }, (_, i) => `/etc/file-node-7-${i + 1}`));
  assert.equal(relay.counters.total('palisade_relay_ingest_duplicate_events_total'), 6);
  // a new boot id is a new sequence space; an old one keeps its own ack
  const e3 = new Enforcer(target, 'node-7', 'boot-2').open();
  e3.hello();
  e3.alerts(1, 3);
  await until(() => e3.acked('boot-2') === 3n, 'boot-2 ack 3');
  e3.batch(16, 16, [{ seq: 16n, event: { $case: 'alert', value: alertFor('node-7', 16) } }], 'node-7', 'boot-1');
  await until(() => e3.acked('boot-1') === 16n, 'spooled boot-1 event acked');
  await until(() => w.got.length >= 19, '19 alerts');
  assert.equal(w.got.length, 19);
  e2.close();
  e3.close();
  w.close();
  await relay.stop(2000);
});

test('gaps the sender declares are acked past and counted; bad batches get errors, the stream stays open', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF });
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  const entry = (s: number) => ({ seq: BigInt(s), event: { $case: 'alert' as const, value: alertFor('node-1', s) } });
  e.batch(1, 10, [1, 2, 3, 4, 5, 8, 9, 10].map(entry));
  await until(() => e.acked() === 10n, 'ack past the gap');
  assert.equal(relay.counters.total('palisade_relay_ingest_sender_lost_events_total'), 2);
  e.batch(11, 12, [entry(11), entry(12)], 'node-other');
  e.batch(13, 12, []);
  e.batch(13, 14, [entry(14), entry(13)]);
  e.batch(13, 13, [entry(20)]);
  await until(() => e.responses.filter((r) => r.error).length === 4, 'four errors');
  const errs = e.responses.filter((r) => r.error).map((r) => [r.error!.code, r.error!.retryable, r.error!.message]);
  assert.deepEqual(errs.map((x) => x[0]), [
    IngestErrorCode.INGEST_ERROR_CODE_NODE_MISMATCH,
    IngestErrorCode.INGEST_ERROR_CODE_INVALID_BATCH,
    IngestErrorCode.INGEST_ERROR_CODE_INVALID_BATCH,
    IngestErrorCode.INGEST_ERROR_CODE_INVALID_BATCH,
  ]);
  assert.ok(errs.every((x) => x[1] === false));
  assert.match(String(errs[2]![2]), /entries\[1\]\.seq 13 not increasing/);
  assert.equal(relay.counters.get('palisade_relay_ingest_rejected_total', { reason: 'invalid_batch' }), 3);
  e.batch(11, 12, [entry(11), entry(12)]);
  await until(() => e.acked() === 12n, 'still serving after errors');
  assert.equal(e.ended, false);
  e.close();
  await relay.stop(2000);
});

test('over the rate: retryable error with pause_ms; ignoring it gets the stream cut off', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, ingest: { maxEventsPerSec: 10 } });
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  e.alerts(1, 10);
  e.alerts(11, 20);
  await until(() => e.responses.some((r) => r.error), 'rate error');
  const r = e.responses.find((x) => x.error)!;
  assert.equal(r.error!.code, IngestErrorCode.INGEST_ERROR_CODE_UNAVAILABLE);
  assert.equal(r.error!.retryable, true);
  assert.ok((r.flow?.pauseMs ?? 0) > 0, 'pause_ms set');
  assert.equal(e.acked(), 10n);
  e.alerts(21, 31); // larger than one second's worth: never fits
  await until(() => e.responses.some((x) => x.error?.code === IngestErrorCode.INGEST_ERROR_CODE_TOO_LARGE), 'too large');
  // keeps pushing through the pause: each batch needs a full second of tokens, so nearly all are refused
  for (let i = 0; i < 60; i++) e.alerts(11, 20);
  await until(() => e.ended, 'cut off');
  assert.equal(e.status?.code, 8 /* RESOURCE_EXHAUSTED */);
  assert.equal(relay.counters.get('palisade_relay_ingest_cutoff_total', { reason: 'rate' }), 1);
  e.close();
  await relay.stop(2000);
});
