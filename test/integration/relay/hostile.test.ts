// Hostile input against a running relay: oversized and malformed messages, 1,000
// idle streams, clients that open streams and never read, too many streams, a
// stream that never says hello. Each gets its gRPC status or is cut off, is counted,
// the relay keeps serving, and a healthy enforcer/client pair is unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { LogServiceClient, type Alert, type ReplyMessage } from '../../../proto/gen/feeder/kubearmor.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestErrorCode, IngestRequest, IngestResponse } from '../../../proto/gen/palisade/v1/ingest.js';
import { alertFor, Enforcer, OWN_CONNECTION, startRelay, until, Watcher, watchersReady } from './support.js';

const OFF = { enabled: false, collapseWindowMs: 0 };

/** Opens a raw Ingest stream that writes the given bytes as one gRPC message. */
function rawIngest(address: string, bytes: Buffer): Promise<ServiceError | undefined> {
  const c = new Client(address, credentials.createInsecure(), OWN_CONNECTION);
  const call = c.makeBidiStreamRequest('/palisade.v1.Ingest/Stream', (b: Buffer) => b, (b: Buffer) => b, new Metadata());
  return new Promise((resolve) => {
    call.on('data', () => undefined);
    call.on('error', (e: ServiceError) => { resolve(e); c.close(); });
    call.on('end', () => { resolve(undefined); c.close(); });
    call.write(bytes);
  });
}

test('oversized and malformed messages: RESOURCE_EXHAUSTED and INTERNAL, counted; the relay keeps serving', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, ingest: { maxMessageBytes: 64 * 1024 } });
  const target = `127.0.0.1:${addrs.ingestPort}`;
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
  await watchersReady(relay, 1);

  const big = Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: 'x'.repeat(100 * 1024), nodeName: '', bootId: 'b', agentVersion: '', capabilities: [], clusterName: '' } } }).finish());
  const e1 = await rawIngest(target, big);
  assert.equal(e1?.code, Status.RESOURCE_EXHAUSTED);
  assert.equal(relay.counters.get('palisade_relay_grpc_status_total', { method: '/palisade.v1.Ingest/Stream', code: 'RESOURCE_EXHAUSTED' }), 1);

  const e2 = await rawIngest(target, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  assert.equal(e2?.code, Status.INTERNAL);
  assert.equal(relay.counters.get('palisade_relay_ingest_rejected_total', { reason: 'malformed' }), 1);
  assert.equal(relay.counters.get('palisade_relay_grpc_status_total', { method: '/palisade.v1.Ingest/Stream', code: 'INTERNAL' }), 1);

  // a batch before the hello
  const e = new Enforcer(target, 'node-1').open();
  e.alerts(1, 1);
  await until(() => e.ended, 'hello required');
  assert.equal(e.status?.code, Status.INVALID_ARGUMENT);
  assert.equal(e.responses[0]?.error?.code, IngestErrorCode.INGEST_ERROR_CODE_HELLO_REQUIRED);

  // a bad feeder filter
  const bad = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'everything');
  await until(() => bad.ended, 'bad filter refused');
  assert.equal(bad.status?.code, Status.INVALID_ARGUMENT);

  const ok = new Enforcer(target, 'node-ok').open();
  ok.hello();
  ok.alerts(1, 20);
  await until(() => w.got.length === 20, 'healthy traffic delivered');
  assert.ok(w.got.every((a) => a.HostName === 'node-ok'));
  ok.close();
  w.close();
  await relay.stop(2000);
});

/** Opens a raw Ingest stream, writes the messages in order and collects the responses until the stream ends. */
function rawIngestMany(address: string, messages: readonly Buffer[]): Promise<{ error?: ServiceError; responses: IngestResponse[] }> {
  const c = new Client(address, credentials.createInsecure(), OWN_CONNECTION);
  const call = c.makeBidiStreamRequest('/palisade.v1.Ingest/Stream', (b: Buffer) => b, (b: Buffer) => IngestResponse.decode(b), new Metadata());
  const responses: IngestResponse[] = [];
  return new Promise((resolve) => {
    call.on('data', (r: IngestResponse) => responses.push(r));
    call.on('error', (e: ServiceError) => { resolve({ error: e, responses }); c.close(); });
    call.on('end', () => { resolve({ responses }); c.close(); });
    for (const m of messages) call.write(m);
  });
}

for (const spool of [false, true]) {
  test(`a batch whose envelope is sound but an event body is not: INTERNAL, counted, not acked, nothing delivered (spool ${spool ? 'on' : 'off'})`, async () => {
    const dir = spool ? mkdtempSync(join(process.env['PALISADE_TEST_TMP'] ?? tmpdir(), 'relay-hostile-spool-')) : '';
    const { relay, addrs } = await startRelay({ throttle: OFF, ...(spool ? { spool: { enabled: true, dir } } : {}) });
    try {
      const target = `127.0.0.1:${addrs.ingestPort}`;
      const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
      await watchersReady(relay, 1);
      const hello = Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: 'bad-body', nodeName: 'bad-body', bootId: 'b', agentVersion: '', capabilities: [], clusterName: '' } } }).finish());
      const good = Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'bad-body', bootId: 'b', firstSeq: 1n, lastSeq: 2n, entries: [1, 2].map((s) => ({ seq: BigInt(s), event: { $case: 'alert' as const, value: alertFor('bad-body', s) } })) } } }).finish());
      // batch 3..3 whose one alert is 3 bytes: a length-delimited field (13) claiming 127 bytes
      const entry = Buffer.from([0x08, 0x03, 0x12, 0x03, 0x6a, 0x7f, 0x41]);
      const batchBody = Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from('bad-body'), Buffer.from([0x12, 1]), Buffer.from('b'), Buffer.from([0x18, 3, 0x20, 3, 0x2a, entry.length]), entry]);
      const bad = Buffer.concat([Buffer.from([0x12, batchBody.length]), batchBody]);
      assert.throws(() => IngestRequest.decode(bad), 'the generated decoder refuses these bytes');
      // a sound batch after the bad one, on the same stream: the stream has failed by the time it would be handed off
      const after = Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'bad-body', bootId: 'b', firstSeq: 4n, lastSeq: 4n, entries: [{ seq: 4n, event: { $case: 'alert' as const, value: alertFor('bad-body', 4) } }] } } }).finish());
      const r = await rawIngestMany(target, [hello, good, bad, after]);
      assert.equal(r.error?.code, Status.INTERNAL, `stream status: ${r.error?.details ?? 'none'}`);
      assert.equal(relay.counters.get('palisade_relay_ingest_rejected_total', { reason: 'malformed' }), 1);
      // with the spool both records were written (the bad one is found only when decoded, after
      // its write; replay skips it as undecodable)
      // (the batch after it may have been written too, while the bad one was decoded)
      if (spool) assert.ok([2, 3].includes(relay.counters.get('palisade_relay_spool_records_total')), 'the good and the bad batch written');
      const acked = r.responses.map((x) => Number(x.ackedSeq));
      assert.ok(Math.max(...acked) === 2, `the good batch acked (2), the bad one (3) never: ${JSON.stringify(acked)}`);
      await until(() => w.got.length >= 2, 'the good batch delivered');
      await new Promise((res) => setTimeout(res, 100));
      assert.deepEqual(w.got.map((a) => a.Resource), [alertFor('bad-body', 1).Resource, alertFor('bad-body', 2).Resource], 'nothing of the bad batch, nor of the one after it, delivered');

      // the relay keeps serving
      const ok = new Enforcer(target, 'node-ok').open();
      ok.hello();
      ok.alerts(1, 5);
      await until(() => w.got.length === 7, 'healthy traffic delivered after the bad batch');
      ok.close();
      w.close();
    } finally {
      await relay.stop();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('1,000 idle ingest streams are cut off (no hello), 1,000 idle watch streams are harmless, too many streams are refused', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, ingest: { helloTimeoutMs: 4000, maxStreams: 1000 }, logStream: { maxClients: 1100 } });
  const target = `127.0.0.1:${addrs.ingestPort}`;
  const idle = Array.from({ length: 10 }, (_, i) => new Enforcer(target, `idle-${i}`)); // 10 connections
  const streams = idle.flatMap((en) => Array.from({ length: 100 }, () => {
    const call = en.client.stream();
    const s = { status: undefined as ServiceError | undefined };
    call.on('data', () => undefined);
    call.on('error', (err: ServiceError) => { s.status = err; });
    return s;
  }));
  await until(() => relay.activeIngestStreams === 1000, '1000 ingest streams open');
  // one more is refused while they are open
  const extra = new Enforcer(target, 'extra').open();
  await until(() => extra.ended, 'stream 1001 refused');
  assert.equal(extra.status?.code, Status.RESOURCE_EXHAUSTED);
  assert.equal(relay.counters.get('palisade_relay_ingest_cutoff_total', { reason: 'max_streams' }), 1);

  // 1,000 idle log-stream clients (10 connections x 100 streams)
  const lsClients = Array.from({ length: 10 }, () => new LogServiceClient(`127.0.0.1:${addrs.logStreamPort}`, credentials.createInsecure(), OWN_CONNECTION));
  const watchStreams = lsClients.flatMap((c) => Array.from({ length: 100 }, () => {
    const call = c.watchAlerts({ Filter: 'all' });
    const got: Alert[] = [];
    call.on('data', (a: Alert) => got.push(a));
    call.on('error', () => undefined);
    return { call, got };
  }));
  await watchersReady(relay, 1000);

  await until(() => streams.every((s) => s.status !== undefined), 'idle ingest streams cut off', 800);
  assert.ok(streams.every((s) => s.status!.code === Status.DEADLINE_EXCEEDED));
  assert.equal(relay.counters.get('palisade_relay_ingest_cutoff_total', { reason: 'no_hello' }), 1000);
  assert.equal(relay.activeIngestStreams, 0);

  // the relay still serves: a healthy node reaches every one of the 1,000 watchers
  const ok = new Enforcer(target, 'node-ok').open();
  ok.hello();
  ok.alerts(1, 5);
  await until(() => ok.acked() === 5n, 'healthy ack');
  await until(() => watchStreams.every((w) => w.got.length === 5), 'every idle watcher got the 5 alerts', 800);
  const h = await new Promise<ReplyMessage>((resolve, reject) => lsClients[0]!.healthCheck({ nonce: 42 }, (err, r) => (err ? reject(err) : resolve(r))));
  assert.equal(h.Retval, 42);
  for (const w of watchStreams) w.call.cancel();
  for (const c of lsClients) c.close();
  for (const en of idle) en.close();
  ok.close();
  extra.close();
  await relay.stop(3000);
});

test('clients that open streams and never read lose only their own events; healthy clients and ingest are unaffected', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, logStream: { clientQueueSize: 200, replayBuffer: 2000 } });
  const ls = `127.0.0.1:${addrs.logStreamPort}`;
  const stalled = Array.from({ length: 50 }, () => {
    const w = new Watcher<Alert>(ls, 'watchAlerts', 'all');
    w.call.pause();
    return w;
  });
  const good = new Watcher<Alert>(ls, 'watchAlerts', 'all');
  await watchersReady(relay, 51);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  const N = 2000;
  for (let first = 1; first <= N; first += 100) {
    e.alerts(first, first + 99, () => ({ Data: 'x'.repeat(500) }));
    await until(() => e.acked() >= BigInt(first + 99), `ack ${first + 99}`);
    await until(() => good.got.length >= first + 99, `good client at ${first + 99}`);
  }
  assert.equal(good.got.length, N);
  assert.equal(new Set(good.got.map((a) => a.Resource)).size, N);
  assert.ok(good.got.every((a) => a.Operation === 'File'), 'no drop notice for the healthy client');
  assert.equal(relay.hub.head, N);
  // a stalled client that reads again learns how many it lost: delivered + announced = published
  const w = stalled[0]!;
  w.call.resume();
  const announced = (): number => w.got.filter((a) => a.Operation === 'Dropped').reduce((n, a) => n + Number(/DroppedEvents=(\d+)/.exec(a.Data)![1]), 0);
  const real = (): number => w.got.filter((a) => a.Operation === 'File').length;
  await until(() => real() + announced() === N, 'stalled client accounts for every event');
  assert.ok(announced() > 0);
  assert.ok(relay.counters.get('palisade_relay_client_dropped_events_total', { reason: 'queue_full' }) >= announced());
  for (const s2 of stalled) s2.close();
  good.close();
  e.close();
  await relay.stop(3000);
});
