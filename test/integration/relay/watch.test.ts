// palisade.v1 Watch over real gRPC: server-side filters, cursors and resume,
// refusals; grpc.health.v1; throttling and collapse seen by a client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, Client, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { EventKind, WatchClient, type WatchEvent, type WatchRequest } from '../../../proto/gen/palisade/v1/watch.js';
import { Log, type Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { Enforcer, OWN_CONNECTION, startRelay, until, Watcher, watchersReady } from './support.js';
import { fakeIdentity } from './fake-identity.js';

const OFF = { enabled: false, collapseWindowMs: 0 };

function watch(port: number, req: Partial<WatchRequest>): { got: WatchEvent[]; status?: ServiceError; ended: boolean; close(): void; pause(): void; resume(): void } {
  const c = new WatchClient(`127.0.0.1:${port}`, credentials.createInsecure(), OWN_CONNECTION);
  const full: WatchRequest = { kinds: [], namespaces: [], podSelector: '', operations: [], severities: [], minSeverity: 0, policyNames: [], actions: [], hostNames: [], resumeAfter: '', fromOldest: false, ...req };
  const call = c.events(full);
  const out = { got: [] as WatchEvent[], status: undefined as ServiceError | undefined, ended: false, close: () => { call.cancel(); c.close(); }, pause: () => { call.pause(); }, resume: () => { call.resume(); } };
  call.on('data', (e: WatchEvent) => out.got.push(e));
  call.on('error', (e: ServiceError) => { out.status = e; out.ended = true; });
  call.on('end', () => { out.ended = true; });
  return out;
}

const alertOf = (e: WatchEvent): Alert => {
  if (e.event?.$case !== 'alert') throw new Error('not an alert');
  return e.event.value;
};

test('server-side filters: namespace, label selector, operation, severity, policy, action, kind', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, kubernetes: { mode: 'in-cluster' } }, { identity: fakeIdentity() });
  const p = addrs.logStreamPort;
  const w = {
    ns1: watch(p, { namespaces: ['ns-1'] }),
    app0: watch(p, { podSelector: 'app in (app0),node!=4' }),
    net: watch(p, { operations: ['Network'] }),
    sev: watch(p, { minSeverity: 5 }),
    pol: watch(p, { policyNames: ['block-net'], actions: ['Block'] }),
    logs: watch(p, { kinds: [EventKind.EVENT_KIND_LOG] }),
    all: watch(p, {}),
  };
  await watchersReady(relay, 7);
  const enforcers = [0, 1, 2, 3, 4].map((n) => new Enforcer(`127.0.0.1:${addrs.ingestPort}`, `node-${n}`).open());
  for (const e of enforcers) {
    e.hello();
    e.alerts(1, 4, (s) => (s === 4 ? { Operation: 'Network', PolicyName: 'block-net', Action: 'Block', Severity: '8' } : {}));
    e.batch(5, 5, [{ seq: 5n, event: { $case: 'log', value: Log.create({ ContainerID: `ctr-${e.nodeId}`, HostName: e.nodeId, Type: 'ContainerLog', Operation: 'Process', Resource: '/bin/sh' }) } }]);
  }
  for (const e of enforcers) await until(() => e.acked() === 5n, 'acks');
  // each watcher is its own stream: wait for every one, not only for the unfiltered one
  const expected = { ns1: 10, app0: 10, net: 5, sev: 5, pol: 5, logs: 5, all: 25 } as const;
  await until(() => (Object.keys(expected) as Array<keyof typeof expected>).every((k) => w[k].got.length >= expected[k]), 'every watcher has its alerts and logs');
  await new Promise((r) => setTimeout(r, 100)); // an unexpected extra event would arrive right behind
  const alerts = (x: { got: WatchEvent[] }): Alert[] => x.got.filter((e) => e.event?.$case === 'alert').map(alertOf);
  assert.deepEqual(new Set(alerts(w.ns1).map((a) => a.HostName)), new Set(['node-1', 'node-4']));
  assert.equal(w.ns1.got.length, 10, 'ns-1: alerts and logs of node-1 and node-4');
  assert.equal(w.app0.got.length, 10);
  assert.equal(w.all.got.length, 25);
  assert.deepEqual([...new Set(w.app0.got.map((e) => (e.event?.$case === 'message' ? '' : e.event!.value.HostName)))].sort(), ['node-0', 'node-2']);
  assert.equal(w.net.got.length, 5);
  assert.ok(alerts(w.net).every((a) => a.Operation === 'Network'));
  assert.equal(w.sev.got.length, 5);
  assert.equal(w.pol.got.length, 5);
  assert.deepEqual(new Set(w.logs.got.map((e) => e.event?.$case)), new Set(['log']));
  assert.equal(w.logs.got.length, 5);
  for (const e of w.all.got) {
    assert.ok(e.id && e.id.nodeId.startsWith('node-') && e.id.bootId === 'boot-1' && e.id.seq >= 1n);
    assert.equal(e.enriched, true);
    assert.equal(e.count, 1);
    assert.notEqual(e.cursor, '');
  }
  for (const x of Object.values(w)) x.close();
  for (const e of enforcers) e.close();
  await relay.stop(2000);
});

test('resume with a cursor: no gap, no repeat; an unknown cursor is OUT_OF_RANGE; a bad selector INVALID_ARGUMENT', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF });
  const p = addrs.logStreamPort;
  const first = watch(p, {});
  await watchersReady(relay, 1);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  e.alerts(1, 10);
  await until(() => first.got.length === 10, '10 events');
  const cursor = first.got[3]!.cursor;
  first.close();
  e.alerts(11, 15); // published while the client is away
  await until(() => e.acked() === 15n, 'ack 15');
  const resumed = watch(p, { resumeAfter: cursor });
  await until(() => resumed.got.length === 11, 'events 5..15');
  assert.deepEqual(resumed.got.map((x) => Number(x.id!.seq)), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  e.alerts(16, 16);
  await until(() => resumed.got.length === 12, 'then live');
  const oldest = watch(p, { fromOldest: true });
  await until(() => oldest.got.length === 16, 'from oldest');

  const gone = watch(p, { resumeAfter: 'abc:1' });
  await until(() => gone.ended, 'refused');
  assert.equal(gone.status?.code, Status.OUT_OF_RANGE);
  const bad = watch(p, { podSelector: 'app in (x' });
  await until(() => bad.ended, 'refused');
  assert.equal(bad.status?.code, Status.INVALID_ARGUMENT);
  assert.match(bad.status!.details, /pod_selector term 1/);
  for (const x of [resumed, oldest]) x.close();
  e.close();
  await relay.stop(2000);
});

test('grpc.health.v1 answers SERVING; feeder HealthCheck echoes the nonce', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF });
  const c = new Client(`127.0.0.1:${addrs.logStreamPort}`, credentials.createInsecure(), OWN_CONNECTION);
  const check = (service: string): Promise<Buffer> => new Promise((resolve, reject) => {
    const req = Buffer.from([0x0a, service.length, ...Buffer.from(service)]);
    c.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, service === '' ? Buffer.alloc(0) : req, new Metadata(), (err, r) => (err ? reject(err) : resolve(r!)));
  });
  assert.deepEqual([...(await check(''))], [0x08, 0x01]); // status: SERVING
  assert.deepEqual([...(await check('feeder.LogService'))], [0x08, 0x01]);
  c.close();
  await relay.stop(2000);
});

test('throttling and collapse as a karmor client sees them', async () => {
  const { relay, addrs } = await startRelay({ throttle: { enabled: true, maxAlertsPerSec: 5, throttleSec: 30, collapseWindowMs: 60_000 } });
  const w = new Watcher<Alert>(`127.0.0.1:${addrs.logStreamPort}`, 'watchAlerts', 'all');
  await watchersReady(relay, 1);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  // 50 distinct Block alerts of one rule, then 10 repeats of one operation of another rule
  e.alerts(1, 50, () => ({ PolicyName: 'block-exec', Action: 'Block', Operation: 'Process' }));
  e.alerts(51, 60, () => ({ PolicyName: 'audit-shadow', Resource: '/etc/shadow' }));
  await until(() => e.acked() === 60n, 'ack 60');
  await until(() => w.got.length >= 7, 'first alerts');
  await relay.stop(3000); // stop releases the collapsed repeats and the throttle summary, then ends the stream
  await until(() => w.ended, 'stream ended');
  const passedBlock = w.got.filter((a) => a.PolicyName === 'block-exec' && a.Type === 'MatchedPolicy');
  const notices = w.got.filter((a) => a.Operation === 'AlertThreshold');
  assert.equal(passedBlock.length, 5);
  assert.equal(notices.length, 2, 'threshold notice and summary');
  assert.equal(notices[0]!.Type, 'SystemEvent');
  assert.equal(notices[0]!.MaxAlertsPerSec, 5);
  assert.equal(notices[0]!.DroppingAlertsInterval, 30);
  assert.equal(notices[1]!.Data, 'DroppedAlertsCount=45 DroppedBlockAlertsCount=45', 'every Block delivered or counted');
  const shadow = w.got.filter((a) => a.PolicyName === 'audit-shadow');
  assert.equal(shadow.length, 2, 'first occurrence, then one collapsed alert');
  assert.equal(shadow[1]!.Message, 'repeated 9 times within 60000 ms');
  assert.equal(w.status, undefined, 'ended with OK');
  e.close();
  w.close();
});

test('a palisade.v1 client that falls behind is told in-band: a Dropped message and dropped_before', async () => {
  const { relay, addrs } = await startRelay({ throttle: OFF, logStream: { clientQueueSize: 100, replayBuffer: 1000 } });
  const slow = watch(addrs.logStreamPort, {});
  slow.pause();
  await watchersReady(relay, 1);
  const e = new Enforcer(`127.0.0.1:${addrs.ingestPort}`, 'node-1').open();
  e.hello();
  const N = 1000;
  for (let first = 1; first <= N; first += 100) {
    e.alerts(first, first + 99, () => ({ Data: 'x'.repeat(400) }));
    await until(() => e.acked() >= BigInt(first + 99), 'ack');
  }
  slow.resume();
  const notices = (): WatchEvent[] => slow.got.filter((x) => x.event?.$case === 'message' && x.event.value.Type === 'Dropped');
  const real = (): WatchEvent[] => slow.got.filter((x) => x.event?.$case === 'alert');
  const announced = (): number => notices().reduce((n, x) => n + Number(x.droppedBefore), 0);
  await until(() => real().length + announced() === N, 'delivered + announced = published');
  assert.ok(notices().length >= 1);
  const i = slow.got.indexOf(notices()[0]!);
  assert.equal(slow.got[i + 1]!.droppedBefore, notices()[0]!.droppedBefore, 'the next event carries dropped_before');
  assert.equal(new Set(real().map((x) => x.id!.seq)).size, real().length);
  slow.close();
  e.close();
  await relay.stop(2000);
});
