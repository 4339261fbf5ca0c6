// The hand-off queue between an agent's streams and the pipeline, against a sink
// whose behaviour each test controls (the pipeline's submit() contract: resolves
// once handed over, rejects when it cannot take the batch).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import type { RelayEvent } from '../../../relay/event.js';
import { backoffDelay } from '../../../relay/upstream/backoff.js';
import { createEventStamper } from '../../../relay/upstream/convert.js';
import { createHandoff, type HandoffOptions } from '../../../relay/upstream/handoff.js';

const stamper = createEventStamper({ nodeId: 'n', clusterName: 'c', hostName: 'h' });
const ev = (i: number): RelayEvent => stamper.alert(Alert.create({ Resource: `/r/${i}` }));

type Log = { paused: number; resumed: number; delivered: number; dropped: Record<string, number>; retries: number };

function options(sink: HandoffOptions['sink'], over: Partial<HandoffOptions> = {}): { o: HandoffOptions; log: Log } {
  const log: Log = { paused: 0, resumed: 0, delivered: 0, dropped: {}, retries: 0 };
  const o: HandoffOptions = {
    sink, maxBatch: 4, maxPending: 8, retries: 2, backoffInitialMs: 1, backoffMaxMs: 2,
    onPause: () => { log.paused++; },
    onResume: () => { log.resumed++; },
    onDelivered: (n) => { log.delivered += n; },
    onDropped: (reason, n) => { log.dropped[reason] = (log.dropped[reason] ?? 0) + n; },
    onRetry: () => { log.retries++; },
    log: pino({ level: 'silent' }),
    ...over,
  };
  return { o, log };
}

const never = new AbortController().signal;

describe('relay/upstream hand-off', () => {
  it('hands events over in order, in batches of at most maxBatch', async () => {
    const batches: string[][] = [];
    const { o, log } = options({ submit: async (b) => { batches.push(b.map((e) => (e.body.value as Alert).Resource)); } });
    const h = createHandoff(o);
    for (let i = 0; i < 7; i++) h.push(ev(i));
    await h.drain(never);
    assert.ok(batches.every((b) => b.length <= 4));
    assert.deepEqual(batches.flat(), Array.from({ length: 7 }, (_, i) => `/r/${i}`));
    assert.equal(log.delivered, 7);
    assert.deepEqual(log.dropped, {});
  });

  it('pauses the streams at maxPending while the pipeline is slow, and resumes at half', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const { o, log } = options({ submit: () => gate });
    const h = createHandoff(o);
    for (let i = 0; i < 12; i++) h.push(ev(i));
    assert.equal(log.paused, 1);
    assert.equal(h.paused, true);
    release();
    await h.drain(never);
    assert.equal(log.resumed, 1);
    assert.equal(h.paused, false);
    assert.equal(log.delivered, 12);
  });

  it('retries a failed hand-off, then drops the batch and counts it (handoff_failed)', async () => {
    let calls = 0;
    const { o, log } = options({ submit: async () => { calls++; if (calls <= 3) throw new Error('redis down'); } }, { maxBatch: 10 });
    const h = createHandoff(o);
    for (let i = 0; i < 3; i++) h.push(ev(i));
    await h.drain(never);
    assert.equal(calls, 3); // first try + 2 retries, all failed
    assert.equal(log.retries, 2);
    assert.deepEqual(log.dropped, { handoff_failed: 3 });
    h.push(ev(99));
    // after drain the queue is closed: a late event is counted, not queued
    assert.deepEqual(log.dropped, { handoff_failed: 3, shutdown: 1 });
  });

  it('a hand-off that recovers within the retries loses nothing', async () => {
    let calls = 0;
    const { o, log } = options({ submit: async () => { calls++; if (calls === 1) throw new Error('blip'); } }, { maxBatch: 10 });
    const h = createHandoff(o);
    h.push(ev(1));
    await h.drain(never);
    assert.equal(log.delivered, 1);
    assert.equal(log.retries, 1);
    assert.deepEqual(log.dropped, {});
  });

  it('drain() stops at its deadline and counts what is left as dropped (shutdown)', async () => {
    const { o, log } = options({ submit: () => new Promise<void>(() => undefined) }, { maxBatch: 2 });
    const h = createHandoff(o);
    for (let i = 0; i < 5; i++) h.push(ev(i));
    const ac = new AbortController();
    const drained = h.drain(ac.signal);
    setTimeout(() => ac.abort(), 20);
    await drained;
    // 2 are inside the stuck submit (neither delivered nor dropped), 3 never left the queue
    assert.deepEqual(log.dropped, { shutdown: 3 });
    assert.equal(h.pending, 0);
  });
});

describe('relay/upstream back-off and stamping', () => {
  it('doubles from initial, stays within [d/2, d], never exceeds max', () => {
    assert.equal(backoffDelay(0, 100, 1000, () => 0), 50);
    assert.equal(backoffDelay(0, 100, 1000, () => 1), 100);
    assert.equal(backoffDelay(3, 100, 1000, () => 1), 800);
    assert.equal(backoffDelay(4, 100, 1000, () => 1), 1000);
    assert.equal(backoffDelay(1e9, 100, 1000, () => 0.999), 1000);
    assert.ok(backoffDelay(0, 1, 1, () => 0) >= 1);
  });

  it('stamps events with nodeId, one bootId, seq from 1; fills only empty ClusterName/HostName', () => {
    const s = createEventStamper({ nodeId: '10.0.0.1:32767', clusterName: 'relay-cluster', hostName: 'node-1' });
    const a = s.alert(Alert.create({ Resource: '/x' }));
    const b = s.alert(Alert.create({ ClusterName: 'theirs', HostName: 'agent-host' }));
    const m = s.message({ Timestamp: 1n, UpdatedTime: '', ClusterName: '', HostName: '', HostIP: '', Type: 'Info', Level: 'Info', Message: 'hi' });
    assert.deepEqual([a.seq, b.seq, m.seq], [1n, 2n, 3n]);
    assert.equal(new Set([a.bootId, b.bootId, m.bootId]).size, 1);
    assert.equal(a.nodeId, '10.0.0.1:32767');
    assert.deepEqual([a.body.value.ClusterName, a.body.value.HostName], ['relay-cluster', 'node-1']);
    assert.deepEqual([b.body.value.ClusterName, b.body.value.HostName], ['theirs', 'agent-host']);
    assert.equal(m.body.$case, 'message');
    assert.equal(a.enriched && a.count === 1, true);
    assert.notEqual(createEventStamper({ nodeId: 'n', clusterName: '', hostName: '' }).bootId, s.bootId);
  });
});
