// Two replicas built from the relay's own ingest server and feeder.LogService, with
// the scale-out pipeline (relay/scaleout/pipeline.ts) and the real test Redis:
// events ingested at A reach log clients on A and on B exactly once, in order;
// an enforcer that reconnects to B and retransmits (as the ingest protocol tells it)
// what A already published gets its batches acked, and the retransmits are dropped
// as duplicates (counted), not delivered twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import type { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { defaultConfig } from '../../../relay/config.js';
import { createRelayEventFactory } from '../../../relay/event.js';
import { createEnricher } from '../../../relay/enrich/enricher.js';
import { createHub } from '../../../relay/hub/hub.js';
import { createDedupWindow } from '../../../relay/ingest/dedup-window.js';
import { createIngestServer } from '../../../relay/ingest/ingest-server.js';
import { createCounters, type Counters } from '../../../relay/metrics/counters.js';
import { createLogService, rawLogService } from '../../../relay/serve/log-service.js';
import { createCollapser } from '../../../relay/throttle/collapse.js';
import { defaultScaleOutConfig } from '../../../relay/scaleout/config.js';
import { connectScaleOut, type ScaleOut } from '../../../relay/scaleout/index.js';
import { createScaleOutPipeline } from '../../../relay/scaleout/pipeline.js';
import { Enforcer, until, Watcher } from '../relay/support.js';

const URL = 'redis://127.0.0.1:16379';
const prefix = `palisade:test:${randomUUID().slice(0, 8)}:`;

type Replica = { so: ScaleOut; counters: Counters; server: Server; address: string; watchers: () => number };

async function replica(name: string): Promise<Replica> {
  const counters = createCounters();
  const factory = createRelayEventFactory(`boot-${name}`);
  const localHub = createHub({ ringSize: 10_000, clientQueueSize: 10_000, counters });
  const r = await connectScaleOut({ ...defaultScaleOutConfig(), url: URL, streamKey: `${prefix}events`, keyPrefix: prefix, readBlockMs: 200, replicaName: name }, {
    localHub, counters, factory, throttle: { enabled: true, maxAlertsPerSec: 1000, throttleSec: 1 },
  });
  if (!r.ok) throw new Error(`${r.error} (start it: bash test/infra/services.sh start redis)`);
  const so = r.value as ScaleOut;
  so.start();
  const pipeline = createScaleOutPipeline({
    enricher: createEnricher(undefined, 0, counters), collapser: createCollapser(1000, Date.now),
    throttle: so.throttle, stream: so.stream, acks: so.acks, counters, now: Date.now,
  });
  const ingest = createIngestServer({ config: defaultConfig().ingest, clusterName: 'c', dedup: createDedupWindow({ window: 65_536 }), pipeline, counters, log: pino({ level: 'silent' }) });
  let watchers = 0;
  const log = createLogService({
    hub: so.hub, counters, clusterName: 'c', hostName: name,
    admit: () => { watchers++; return undefined; }, release: () => { watchers--; }, namespacesOf: () => undefined,
  });
  const server = new Server();
  server.addService(ingest.service, ingest.implementation);
  server.addService(rawLogService, log);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { so, counters, server, address: `127.0.0.1:${port}`, watchers: () => watchers };
}

describe('two relay replicas: ingest at one, clients on both', { timeout: 120_000 }, () => {
  let A: Replica;
  let B: Replica;
  const closers: Array<() => void> = [];

  before(async () => {
    A = await replica('A');
    B = await replica('B');
  });
  after(async () => {
    for (const c of closers) c();
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

  it('every client on either replica gets every event once; retransmits to the other replica are deduplicated', async () => {
    const onA = new Watcher<Alert>(A.address, 'watchAlerts', 'all');
    const onB = new Watcher<Alert>(B.address, 'watchAlerts', 'all');
    closers.push(() => onA.close(), () => onB.close());
    await until(() => A.watchers() === 1 && B.watchers() === 1, 'one watcher per replica');

    const first = new Enforcer(A.address, 'node-x').open();
    closers.push(() => first.close());
    first.hello();
    first.alerts(1, 50);
    first.alerts(51, 100);
    await until(() => first.acked() === 100n, 'A acks 1..100');
    first.close(); // the connection drops; the enforcer goes to B

    // As the ingest protocol says: resend everything after the ack in B's hello
    // response. B's own dedup window knows nothing of node-x (its relay does not
    // preload the shared ack marks yet), so it answers 0 and 1..100 come again.
    const second = new Enforcer(B.address, 'node-x').open();
    closers.push(() => second.close());
    second.hello();
    await until(() => second.responses.length >= 1, 'hello response from B');
    const from = Number(second.acked()) + 1;
    assert.equal(from, 1);
    for (let s = from; s <= 150; s += 50) second.alerts(s, s + 49);
    await until(() => second.acked() === 150n, 'B acks up to 150');
    await until(() => onA.got.length >= 150 && onB.got.length >= 150, '150 alerts on both clients');
    const want = Array.from({ length: 150 }, (_, i) => `/etc/file-node-x-${i + 1}`);
    assert.deepEqual(onA.got.map((a) => a.Resource), want);
    assert.deepEqual(onB.got.map((a) => a.Resource), want);
    assert.equal(B.counters.get('palisade_relay_scaleout_duplicate_events_total'), 100, 'what A had published is not published again');
    assert.equal(A.counters.get('palisade_relay_scaleout_appended_events_total') + B.counters.get('palisade_relay_scaleout_appended_events_total'), 150);
    // one more event proves nothing extra was queued behind the 150
    second.alerts(151, 151);
    await until(() => onA.got.length >= 151 && onB.got.length >= 151, 'the 151st alert');
    assert.equal(onA.got.length, 151);
    assert.equal(onB.got.length, 151);
  });
});
