// The log-stream output path (relay/serve/h2-out.ts): on the grpc-js version we run,
// a server-streaming call's http2 stream must be found (the direct, batched path);
// this test fails when a grpc-js upgrade moves it, instead of the relay silently
// falling back to per-message writes. Both paths must give a grpc-js client the
// same messages, in order, and status OK; through the relay, a client deadline and
// a cancel end busy direct streams properly and release them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, status as Status, type ClientReadableStream, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { Alert, LogServiceClient } from '../../../proto/gen/feeder/kubearmor.js';
import { rawLogService } from '../../../relay/serve/log-service.js';
import { statusCounter } from '../../../relay/serve/status-counter.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { grpcOut, http2StreamOf, streamOut, type StreamOut } from '../../../relay/serve/h2-out.js';
import { Enforcer, OWN_CONNECTION, startRelay, until, Watcher, watchersReady } from './support.js';

const alert = (i: number): Buffer => Buffer.from(Alert.encode(Alert.create({ Type: 'MatchedPolicy', Operation: 'File', Resource: `/etc/f-${i}`, Data: 'é'.repeat(i % 7) })).finish());

async function serve(pick: (call: ServerWritableStream<unknown, Buffer>) => StreamOut, seen: { direct?: boolean; found?: boolean }): Promise<{ server: Server; port: number }> {
  const counters = createCounters();
  const server = new Server({ interceptors: [statusCounter(counters)] });
  const watchAlerts = (call: ServerWritableStream<unknown, Buffer>): void => {
    seen.found = http2StreamOf(call) !== undefined;
    const out = pick(call);
    seen.direct = out.direct;
    // 1,000 messages in uneven batches, one of them empty
    let i = 0;
    for (const size of [1, 0, 7, 500, 492]) {
      const batch: Buffer[] = [];
      for (let k = 0; k < size; k++) batch.push(alert(i++));
      out.writeBatch(batch);
    }
    out.end();
  };
  server.addService(rawLogService, { healthCheck: () => undefined, watchAlerts, watchLogs: watchAlerts, watchMessages: watchAlerts });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { server, port };
}

async function receive(port: number): Promise<{ got: Alert[]; error: ServiceError | undefined }> {
  const client = new LogServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), OWN_CONNECTION);
  const call: ClientReadableStream<Alert> = client.watchAlerts({ Filter: 'all' });
  const got: Alert[] = [];
  let error: ServiceError | undefined;
  let ended = false;
  call.on('data', (a: Alert) => got.push(a));
  call.on('error', (e: ServiceError) => { error = e; ended = true; });
  call.on('end', () => { ended = true; });
  await until(() => ended, 'stream end');
  client.close();
  return { got, error };
}

for (const [name, pick, direct] of [['direct http2 framing', streamOut, true], ['grpc-js fallback', grpcOut, false]] as const) {
  test(`${name}: every message in order, then status OK`, async () => {
    const seen: { direct?: boolean; found?: boolean } = {};
    const { server, port } = await serve(pick, seen);
    const { got, error } = await receive(port);
    assert.equal(error, undefined);
    assert.equal(seen.found, true, 'the http2 stream under a grpc-js server call was not found: grpc-js internals changed (see relay/serve/h2-out.ts)');
    assert.equal(seen.direct, direct);
    assert.equal(got.length, 1000);
    got.forEach((a, i) => {
      assert.equal(a.Resource, `/etc/f-${i}`);
      assert.equal(a.Data, 'é'.repeat(i % 7));
    });
    server.forceShutdown();
  });
}

test('through the relay: a client deadline ends a busy direct stream with DEADLINE_EXCEEDED, a cancel releases it, the relay keeps serving', async () => {
  const { relay, addrs } = await startRelay({ throttle: { enabled: false, collapseWindowMs: 0 } });
  const ls = `127.0.0.1:${addrs.logStreamPort}`;
  const client = new LogServiceClient(ls, credentials.createInsecure(), OWN_CONNECTION);
  const timed = client.watchAlerts({ Filter: 'all' }, { deadline: Date.now() + 1500 });
  let timedStatus: ServiceError | undefined;
  let timedGot = 0;
  timed.on('data', () => timedGot++);
  timed.on('error', (e: ServiceError) => { timedStatus = e; });
  const cancelled = new Watcher<Alert>(ls, 'watchAlerts', 'all');
  const good = new Watcher<Alert>(ls, 'watchAlerts', 'all');
  await watchersReady(relay, 3);
  assert.equal(relay.counters.total('palisade_relay_watch_fallback_streams_total'), 0);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  let seq = 0;
  // keep events flowing while the deadline passes, so it expires mid-stream
  for (let i = 0; i < 400 && timedStatus === undefined; i++) {
    e.alerts(seq + 1, seq + 20);
    seq += 20;
    await until(() => e.acked() === BigInt(seq), `ack ${seq}`);
    if (i === 5) cancelled.call.cancel();
  }
  assert.equal(timedStatus?.code, Status.DEADLINE_EXCEEDED, `status ${String(timedStatus?.code)}`);
  assert.ok(timedGot > 0, 'the timed client received events before its deadline');
  await until(() => relay.activeWatchStreams === 1, 'the expired and the cancelled streams are released');
  e.alerts(seq + 1, seq + 5);
  seq += 5;
  await until(() => good.got.length === seq, 'the healthy client has every event');
  assert.equal(new Set(good.got.map((a) => a.Resource)).size, seq);
  client.close();
  cancelled.close();
  good.close();
  e.close();
  await relay.stop(3000);
});
