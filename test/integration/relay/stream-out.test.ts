// The log-stream output path (relay/serve/h2-out.ts): on the grpc-js version we run,
// a server-streaming call's http2 stream must be found (the direct, batched path);
// this test fails when a grpc-js upgrade moves it, instead of the relay silently
// falling back to per-message writes. Both paths must give a grpc-js client the
// same messages, in order, and status OK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, type ClientReadableStream, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { Alert, LogServiceClient } from '../../../proto/gen/feeder/kubearmor.js';
import { rawLogService } from '../../../relay/serve/log-service.js';
import { statusCounter } from '../../../relay/serve/status-counter.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { grpcOut, http2StreamOf, streamOut, type StreamOut } from '../../../relay/serve/h2-out.js';
import { OWN_CONNECTION, until } from './support.js';

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
