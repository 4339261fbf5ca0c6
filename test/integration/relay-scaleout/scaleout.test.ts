// Two relay replicas (A and B, in this process) joined by the real test Redis
// (test/infra/redis, 127.0.0.1:16379): the shared event stream, cursor resume
// across replicas through the relay's own palisade.v1 Watch service over gRPC,
// trimmed cursors, shared throttle state and shared ack marks.
// Keys are unique per run and deleted afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Metadata, Server, ServerCredentials, credentials, status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { WatchClient, WatchRequest, type WatchEvent } from '../../../proto/gen/palisade/v1/watch.js';
import { createRelayEventFactory, type RelayEvent } from '../../../relay/event.js';
import { createHub } from '../../../relay/hub/hub.js';
import { createDedupWindow } from '../../../relay/ingest/dedup-window.js';
import { createCounters, type Counters } from '../../../relay/metrics/counters.js';
import { createWatchService, rawWatchService } from '../../../relay/serve/watch-service.js';
import { defaultScaleOutConfig, type ScaleOutConfig } from '../../../relay/scaleout/config.js';
import { connectScaleOut, type ScaleOut } from '../../../relay/scaleout/index.js';
import { preload } from '../../../relay/scaleout/shared-acks.js';
import { withStreamCursors } from '../../../relay/scaleout/watch-resume.js';
import { accessConfigFromDocument } from '../../../relay/access/config.js';
import { createAccess, type Access } from '../../../relay/access/access.js';
import { createAccessHooks } from '../../../relay/access/hooks.js';

const URL = 'redis://127.0.0.1:16379';
const run = randomUUID().slice(0, 8);
const prefix = `palisade:test:${run}:`;

type Replica = { name: string; so: ScaleOut; counters: Counters; port: number; server: Server };

async function replica(name: string, over: Partial<ScaleOutConfig> = {}, access?: Access): Promise<Replica> {
  const counters = createCounters();
  const localHub = createHub({ ringSize: 10_000, clientQueueSize: 10_000, counters });
  const cfg: ScaleOutConfig = { ...defaultScaleOutConfig(), url: URL, streamKey: `${prefix}events`, keyPrefix: prefix, readBlockMs: 200, readCount: 100, replicaName: name, ...over };
  const r = await connectScaleOut(cfg, {
    localHub, counters, factory: createRelayEventFactory(`boot-${name}`),
    throttle: { enabled: true, maxAlertsPerSec: 5, throttleSec: 1, windowMs: 60_000 },
  });
  if (!r.ok) throw new Error(`${r.error} (start it: bash test/infra/services.sh start redis)`);
  const so = r.value as ScaleOut;
  so.start();
  const hooks = access ? createAccessHooks(access) : undefined;
  const deps = { hub: so.hub, counters, clusterName: 'test', hostName: name, admit: hooks?.admit ?? (() => undefined), release: () => undefined, namespacesOf: hooks?.namespacesOf ?? (() => undefined) };
  const server = new Server();
  const early = hooks ? (call: Parameters<typeof hooks.authorization>[0]) => { const a = hooks.authorization(call); return a.ok ? undefined : a.error; } : undefined;
  server.addService(rawWatchService, withStreamCursors(createWatchService(deps), so.hub, counters, early));
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { name, so, counters, port, server };
}

let seq = 0n;
const alert = (policy: string, container = 'c1', namespace = 'ns'): RelayEvent => ({
  nodeId: 'node-1', bootId: 'boot-1', seq: ++seq, enriched: true, count: 1, receivedAt: 0n,
  body: { $case: 'alert', value: Alert.create({ PolicyName: policy, ContainerID: container, NamespaceName: namespace, Action: 'Block', Operation: 'File', Timestamp: 1n }) },
});

const policyOf = (e: WatchEvent): string => (e.event?.$case === 'alert' ? e.event.value.PolicyName : `(${e.event?.$case})`);

/** Reads until `n` events or an error; 20 s safety stop. */
function read(stream: ClientReadableStream<WatchEvent>, n: number): Promise<{ items: WatchEvent[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const items: WatchEvent[] = [];
    const done = (error?: ServiceError): void => {
      clearTimeout(timer);
      stream.cancel();
      resolve(error ? { items, error } : { items });
    };
    const timer = setTimeout(() => done({ code: Status.DEADLINE_EXCEEDED, details: `safety stop after ${items.length} events` } as ServiceError), 20_000);
    stream.on('data', (e: WatchEvent) => {
      items.push(e);
      if (items.length >= n) done();
    });
    stream.on('error', (e: ServiceError) => {
      if (e.code !== Status.CANCELLED) done(e);
    });
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('relay scale-out over Redis', { timeout: 120_000 }, () => {
  let A: Replica;
  let B: Replica;
  const clients: WatchClient[] = [];
  const client = (r: Replica): WatchClient => {
    const c = new WatchClient(`127.0.0.1:${r.port}`, credentials.createInsecure());
    clients.push(c);
    return c;
  };

  before(async () => {
    A = await replica('A');
    B = await replica('B');
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const r of [A, B]) {
      if (!r) continue;
      r.server.forceShutdown();
      await r.so.stop();
    }
    const redis = new Redis(URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('a client on B sees the events published at A, in order, with stream-id cursors', async () => {
    const s = read(client(B).events(WatchRequest.fromPartial({})), 50);
    await until('B subscriber', () => B.so.hub.subscribers >= 1);
    const evs = Array.from({ length: 50 }, (_, i) => alert(`p-${i}`));
    await A.so.stream.append(evs);
    const r = await s;
    assert.equal(r.error, undefined, r.error?.details);
    assert.deepEqual(r.items.map(policyOf), evs.map((e) => (e.body.value as Alert).PolicyName));
    assert.deepEqual(r.items.map((e) => e.id?.seq), evs.map((e) => e.seq));
    for (const e of r.items) assert.match(e.cursor, /^\d+-\d+$/);
    assert.equal(r.items[49]?.cursor, A.so.stream.idOf(evs[49] as RelayEvent), 'the cursor B hands out is the id A appended');
    assert.ok(A.counters.get('palisade_relay_scaleout_read_events_total') >= 50, 'A read its own events back too');
  });

  it('a client that reconnects (to the other replica) with its cursor misses nothing and gets nothing twice', async () => {
    await until('earlier subscriptions released', () => A.so.hub.subscribers === 0 && B.so.hub.subscribers === 0);
    const first = read(client(B).events(WatchRequest.fromPartial({})), 30);
    await until('B subscriber', () => B.so.hub.subscribers >= 1);
    const batch1 = Array.from({ length: 60 }, (_, i) => alert(`r1-${i}`));
    await A.so.stream.append(batch1);
    const got1 = await first;
    assert.equal(got1.error, undefined, got1.error?.details);
    const cursor = (got1.items[29] as WatchEvent).cursor;
    await until('B subscription released', () => B.so.hub.subscribers === 0);
    // while disconnected: more events, from both replicas (more than one replay page of 100)
    const batch2 = Array.from({ length: 150 }, (_, i) => alert(`r2-${i}`));
    await B.so.stream.append(batch2.slice(0, 75));
    await A.so.stream.append(batch2.slice(75));
    const second = read(client(A).events(WatchRequest.fromPartial({ resumeAfter: cursor })), 30 + 150 + 20);
    const batch3 = Array.from({ length: 20 }, (_, i) => alert(`r3-${i}`));
    await until('A subscriber', () => A.so.hub.subscribers >= 1);
    await B.so.stream.append(batch3); // live events while the replay may still run
    const got2 = await second;
    assert.equal(got2.error, undefined, got2.error?.details);
    const want = [...batch1.slice(30), ...batch2, ...batch3].map((e) => (e.body.value as Alert).PolicyName);
    assert.deepEqual(got2.items.map(policyOf), want);
    assert.ok(A.counters.get('palisade_relay_scaleout_replayed_events_total') >= 180);
    assert.equal(A.counters.total('palisade_relay_scaleout_resume_lost_events_total'), 0);
  });

  it('an unknown cursor, or one whose successors were trimmed, is OUT_OF_RANGE', async () => {
    const unknown = await read(client(B).events(WatchRequest.fromPartial({ resumeAfter: '1-0' })), 1);
    assert.equal(unknown.error?.code, Status.OUT_OF_RANGE);
    assert.match(unknown.error?.details ?? '', /not a known event id/);
    // a small, separate stream: trimming drops whole nodes of 100 entries
    const small = await replica('T', { streamKey: `${prefix}small`, streamMaxLen: 10 });
    try {
      const evs = Array.from({ length: 400 }, (_, i) => alert(`t-${i}`));
      await small.so.stream.append(evs);
      const redis = small.so.redis;
      const len = await redis.xlen(`${prefix}small`);
      assert.ok(len < 400, `stream trimmed (length ${len})`);
      assert.equal(small.counters.get('palisade_relay_scaleout_trimmed_events_total'), 400 - len, 'every trimmed entry counted');
      // the replica's reader was overtaken by the trimming: what it lost is counted exactly
      const seen = (): number => small.counters.get('palisade_relay_scaleout_read_events_total') + small.counters.get('palisade_relay_scaleout_reader_lost_events_total');
      await until('the reader to account for all 400 entries', () => seen() >= 400);
      assert.equal(seen(), 400);
      assert.ok(small.counters.get('palisade_relay_scaleout_reader_lost_events_total') > 0);
      const old = small.so.stream.idOf(evs[0] as RelayEvent) as string;
      const trimmed = await read(new WatchClient(`127.0.0.1:${small.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: old })), 1);
      assert.equal(trimmed.error?.code, Status.OUT_OF_RANGE);
      assert.match(trimmed.error?.details ?? '', /trimmed/);
      assert.equal(small.counters.get('palisade_relay_watch_refused_total', { reason: 'cursor_trimmed' }), 1);
      const recent = small.so.stream.idOf(evs[398] as RelayEvent) as string;
      const ok = await read(new WatchClient(`127.0.0.1:${small.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: recent })), 1);
      assert.equal(ok.error, undefined, ok.error?.details);
      assert.equal(policyOf(ok.items[0] as WatchEvent), 't-399');
    } finally {
      small.server.forceShutdown();
      await small.so.stop();
    }
  });

  it('from_oldest replays the retained stream, then goes live', async () => {
    const o = await replica('O', { streamKey: `${prefix}oldest` });
    try {
      const before = Array.from({ length: 5 }, (_, i) => alert(`o-${i}`));
      await o.so.stream.append(before);
      const s = read(new WatchClient(`127.0.0.1:${o.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ fromOldest: true })), 8);
      await until('O subscriber', () => o.so.hub.subscribers >= 1);
      const later = Array.from({ length: 3 }, (_, i) => alert(`o-live-${i}`));
      await o.so.stream.append(later);
      const r = await s;
      assert.equal(r.error, undefined, r.error?.details);
      assert.deepEqual(r.items.map(policyOf), [...before, ...later].map((e) => (e.body.value as Alert).PolicyName));
    } finally {
      o.server.forceShutdown();
      await o.so.stop();
    }
  });

  it('a tenant resuming by cursor on another replica gets only its namespaces, replay and live', async () => {
    const TOKEN = 'tenant-a-token-0123456789';
    const doc = accessConfigFromDocument({ tenants: [{ name: 'a', namespaces: ['ns-a'], tokens: [TOKEN] }] }, 'test');
    assert.ok(doc.ok);
    const t1 = await replica('T1', { streamKey: `${prefix}tenant` }, createAccess(doc.value));
    const t2 = await replica('T2', { streamKey: `${prefix}tenant` }, createAccess(doc.value));
    const md = new Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    try {
      const mixed = (tag: string, n: number): RelayEvent[] => Array.from({ length: n }, (_, i) => alert(`${tag}-${i}`, 'c1', i % 2 === 0 ? 'ns-a' : 'ns-b'));
      const first = read(new WatchClient(`127.0.0.1:${t1.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({}), md), 2);
      await until('T1 subscriber', () => t1.so.hub.subscribers >= 1);
      await t1.so.stream.append(mixed('one', 4)); // ns-a: one-0, one-2
      const got1 = await first;
      assert.deepEqual(got1.items.map(policyOf), ['one-0', 'one-2']);
      const cursor = (got1.items[1] as WatchEvent).cursor;
      await t1.so.stream.append(mixed('two', 6)); // while away: ns-a two-0, two-2, two-4
      const denied = await read(new WatchClient(`127.0.0.1:${t2.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: cursor, namespaces: ['ns-b'] }), md), 1);
      assert.equal(denied.error?.code, Status.PERMISSION_DENIED);
      const second = read(new WatchClient(`127.0.0.1:${t2.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: cursor }), md), 5);
      await until('T2 subscriber', () => t2.so.hub.subscribers >= 1);
      await t2.so.stream.append(mixed('three', 4)); // live: three-0, three-2
      const got2 = await second;
      assert.equal(got2.error, undefined, got2.error?.details);
      assert.deepEqual(got2.items.map(policyOf), ['two-0', 'two-2', 'two-4', 'three-0', 'three-2']);
      const anon = await read(new WatchClient(`127.0.0.1:${t2.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: cursor })), 1);
      assert.equal(anon.error?.code, Status.UNAUTHENTICATED);
      const anonUnknown = await read(new WatchClient(`127.0.0.1:${t2.port}`, credentials.createInsecure()).events(WatchRequest.fromPartial({ resumeAfter: '1-0' })), 1);
      assert.equal(anonUnknown.error?.code, Status.UNAUTHENTICATED, 'no cursor lookup before authentication');
    } finally {
      for (const t of [t1, t2]) {
        t.server.forceShutdown();
        await t.so.stop();
      }
    }
  });

  it('an unreachable Redis fails start-up with an error naming redis.url (password hidden)', async () => {
    const counters = createCounters();
    const r = await connectScaleOut({ ...defaultScaleOutConfig(), url: 'redis://user:secret@127.0.0.1:1' }, {
      localHub: createHub({ ringSize: 10, clientQueueSize: 10, counters }), counters, factory: createRelayEventFactory('x'),
      throttle: { enabled: true, maxAlertsPerSec: 1, throttleSec: 1 }, connectTimeoutMs: 2_000,
    });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.error, /^redis\.url redis:\/\/\*\*\*@127\.0\.0\.1:1: cannot connect \(.*ECONNREFUSED/);
      assert.doesNotMatch(r.error, /secret/);
    }
    const off = await connectScaleOut({ ...defaultScaleOutConfig(), url: '' }, {
      localHub: createHub({ ringSize: 10, clientQueueSize: 10, counters }), counters, factory: createRelayEventFactory('x'),
      throttle: { enabled: true, maxAlertsPerSec: 1, throttleSec: 1 },
    });
    assert.deepEqual(off, { ok: true, value: undefined });
  });

  it('throttle counts are shared: A and B together pass maxAlertsPerSec, one notice, one summary', async () => {
    const key = `shared-${run}`;
    const outA = await A.so.throttle.apply(Array.from({ length: 4 }, () => alert('noisy', key)), Date.now());
    const outB = await B.so.throttle.apply(Array.from({ length: 4 }, () => alert('noisy', key)), Date.now());
    const passed = [...outA, ...outB].filter((e) => e.nodeId !== 'relay');
    const notices = [...outA, ...outB].filter((e) => e.nodeId === 'relay');
    assert.equal(passed.length, 5, 'max 5 alerts per window across both replicas');
    assert.equal(outA.length, 4);
    assert.equal(notices.length, 1);
    assert.match((notices[0]?.body.value as Alert).Message, /Alert threshold reached .* more than 5 alerts\/s/);
    assert.equal(A.counters.total('palisade_relay_throttled_alerts_total') + B.counters.total('palisade_relay_throttled_alerts_total'), 3);
    // another key is not affected
    const other = await A.so.throttle.apply([alert('quiet', key)], Date.now());
    assert.equal(other.length, 1);
    assert.equal(other[0]?.nodeId, 'node-1');
    // after throttleSec (1 s) exactly one replica reports the 3 dropped alerts
    const summaries: RelayEvent[] = [];
    await until('a throttle summary', async () => {
      summaries.push(...(await A.so.throttle.tick(Date.now())), ...(await B.so.throttle.tick(Date.now())));
      return summaries.length > 0;
    });
    summaries.push(...(await A.so.throttle.tick(Date.now())), ...(await B.so.throttle.tick(Date.now())));
    assert.equal(summaries.length, 1);
    assert.match((summaries[0]?.body.value as Alert).Data, /DroppedAlertsCount=3 DroppedBlockAlertsCount=3/);
    assert.equal(A.so.throttle.tracked + B.so.throttle.tracked, 0);
  });

  it('ack marks are shared: B resumes where A committed; marks never go down (64-bit exact)', async () => {
    const node = `node-${run}`;
    assert.equal(await A.so.acks.commit(node, 'boot', 100n), 100n);
    assert.equal(await A.so.acks.commit(node, 'boot', 40n), 100n);
    const dedupB = createDedupWindow({ window: 1024 });
    assert.equal(await preload(dedupB, B.so.acks, node, 'boot'), 100n);
    assert.equal(dedupB.isDuplicate(node, 'boot', 99n), true);
    assert.equal(dedupB.isDuplicate(node, 'boot', 101n), false);
    const big = 18_446_744_073_709_551_000n;
    assert.equal(await B.so.acks.commit(node, 'boot2', big), big);
    assert.equal(await A.so.acks.commit(node, 'boot2', 9_999_999_999_999_999_999n), big);
    assert.equal(await A.so.acks.acked(node, 'boot2'), big);
    assert.equal(await A.so.acks.acked(node, 'never'), 0n);
  });
});
