// A log-stream client that opens a stream and never reads is cut off once HTTP/2
// flow control has kept its stream blocked for logStream.stallTimeoutMs: the client
// sees RESOURCE_EXHAUSTED (RST_STREAM ENHANCE_YOUR_CALM), the relay counts it in
// palisade_relay_watch_stalled_cut_total and releases the stream, and a healthy
// client on the same relay receives every event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { Enforcer, startRelay, until, Watcher, watchersReady } from './support.js';

const OFF = { enabled: false, collapseWindowMs: 0 };

test('a client that never reads is cut off with RESOURCE_EXHAUSTED after the stall timeout; a healthy client gets everything', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, logStream: { clientQueueSize: 5000, replayBuffer: 5000, stallTimeoutMs: 1000 } });
  const ls = `127.0.0.1:${addrs.logStreamPort}`;
  const stalled = new Watcher<Alert>(ls, 'watchAlerts', 'all');
  stalled.call.pause(); // never reads: its HTTP/2 window is never replenished
  const good = new Watcher<Alert>(ls, 'watchAlerts', 'all');
  await watchersReady(relay, 2);
  assert.equal(relay.counters.total('palisade_relay_watch_fallback_streams_total'), 0, 'log streams use the direct http2 path');
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  // ~600 bytes per alert: 4,000 alerts are far more than the client's window plus what the relay buffers
  const N = 4000;
  for (let first = 1; first <= N; first += 200) {
    e.alerts(first, first + 199, () => ({ Data: 'x'.repeat(500) }));
    await until(() => e.acked() >= BigInt(first + 199), `ack ${first + 199}`);
  }
  await until(() => good.got.length >= N, 'healthy client has every event', 800);
  await until(() => relay.counters.get('palisade_relay_watch_stalled_cut_total', { rpc: 'alert' }) === 1, 'the stalled stream is cut off', 800);
  await until(() => relay.activeWatchStreams === 1, 'the cut stream is released');
  // the client learns why once it looks: what it had buffered, then RESOURCE_EXHAUSTED
  stalled.call.resume();
  await until(() => stalled.ended, 'the stalled client sees its stream end');
  assert.equal(stalled.status?.code, Status.RESOURCE_EXHAUSTED, `status ${String(stalled.status?.code)} ${stalled.status?.details ?? ''}`);
  assert.ok(stalled.got.length < N, 'the stalled client did not get everything');

  assert.equal(good.got.length, N);
  assert.equal(new Set(good.got.map((a) => a.Resource)).size, N, 'no duplicates');
  assert.ok(good.got.every((a) => a.Operation === 'File'), 'no drop notice for the healthy client');
  assert.equal(good.status, undefined);
  assert.equal(relay.counters.total('palisade_relay_watch_stalled_cut_total'), 1, 'only the stalled client was cut');
  // the healthy stream stays open and keeps receiving
  e.alerts(N + 1, N + 10);
  await until(() => good.got.length === N + 10, 'healthy client still served');
  stalled.close();
  good.close();
  e.close();
  await relay.stop(3000);
});
