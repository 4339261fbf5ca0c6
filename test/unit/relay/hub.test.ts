import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHub } from '../../../relay/hub/hub.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { alertEvent, alertOf } from './helpers.js';

const drain = (next: () => unknown): unknown[] => {
  const out: unknown[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const e = next();
    if (e === undefined) return out;
    out.push(e);
  }
  throw new Error('drain did not end');
};

test('every subscriber sees every matching event once, in order', () => {
  const hub = createHub({ ringSize: 100, clientQueueSize: 50, counters: createCounters() });
  const all = hub.subscribe(() => true, { kind: 'live' });
  const odd = hub.subscribe((e) => Number(e.ev.seq) % 2 === 1, { kind: 'live' });
  assert.ok(all.ok && odd.ok);
  hub.publish([1, 2, 3, 4, 5].map((i) => alertEvent(i)));
  assert.deepEqual(drain(() => all.sub.next()).map((e) => Number((e as { ev: { seq: bigint } }).ev.seq)), [1, 2, 3, 4, 5]);
  assert.deepEqual(drain(() => odd.sub.next()).map((e) => Number((e as { ev: { seq: bigint } }).ev.seq)), [1, 3, 5]);
  assert.equal(all.sub.next(), undefined);
});

test('a slow subscriber drops its oldest, counted, and others are unaffected', () => {
  const counters = createCounters();
  const hub = createHub({ ringSize: 1000, clientQueueSize: 10, counters });
  const slow = hub.subscribe(() => true, { kind: 'live' });
  const fast = hub.subscribe(() => true, { kind: 'live' }, 1000);
  assert.ok(slow.ok && fast.ok);
  for (let i = 1; i <= 25; i++) hub.publish([alertEvent(i)]);
  const got = drain(() => slow.sub.next()) as Array<{ ev: { seq: bigint } }>;
  assert.deepEqual(got.map((e) => Number(e.ev.seq)), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  assert.equal(slow.sub.takeDropped(), 15);
  assert.equal(slow.sub.takeDropped(), 0);
  assert.equal(counters.get('palisade_relay_client_dropped_events_total', { reason: 'queue_full' }), 15);
  assert.equal(drain(() => fast.sub.next()).length, 25);
});

test('drops count only events the subscriber wanted, also past the ring', () => {
  const hub = createHub({ ringSize: 20, clientQueueSize: 5, counters: createCounters() });
  const even = hub.subscribe((e) => Number(e.ev.seq) % 2 === 0, { kind: 'live' });
  assert.ok(even.ok);
  for (let i = 1; i <= 20; i++) hub.publish([alertEvent(i)]);
  assert.equal(drain(() => even.sub.next()).length, 3); // the last 5 entries, 16..20: 16, 18, 20
  assert.equal(even.sub.takeDropped(), 7); // 2..14
  for (let i = 21; i <= 60; i++) hub.publish([alertEvent(i)]);
  drain(() => even.sub.next());
  // 21..55 skipped: 20 overwritten entries counted in full (21..40), 41..55 by filter (7 even)
  assert.equal(even.sub.takeDropped(), 20 + 7);
});

test('cursor resume: after a cursor, from oldest, out of range', () => {
  const hub = createHub({ ringSize: 10, clientQueueSize: 10, counters: createCounters() });
  const live = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(live.ok);
  hub.publish([1, 2, 3].map((i) => alertEvent(i)));
  const first = live.sub.next()!;
  const cursor = hub.cursorOf(first);
  const resumed = hub.subscribe(() => true, { kind: 'after', cursor });
  assert.ok(resumed.ok);
  assert.deepEqual((drain(() => resumed.sub.next()) as Array<{ ev: { seq: bigint } }>).map((e) => Number(e.ev.seq)), [2, 3]);
  const oldest = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(oldest.ok);
  assert.equal(drain(() => oldest.sub.next()).length, 3);
  for (let i = 4; i <= 30; i++) hub.publish([alertEvent(i)]);
  assert.deepEqual(hub.subscribe(() => true, { kind: 'after', cursor }), { ok: false, reason: 'out_of_range' });
  assert.deepEqual(hub.subscribe(() => true, { kind: 'after', cursor: 'feed:1' }), { ok: false, reason: 'out_of_range' });
  assert.equal(alertOf(first.ev).Resource, '/etc/f1');
});

test('publish wakes waiting subscribers; close ends them', async () => {
  const hub = createHub({ ringSize: 10, clientQueueSize: 10, counters: createCounters() });
  const s = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(s.ok);
  let wakes = 0;
  s.sub.onWake(() => { wakes++; });
  assert.equal(s.sub.next(), undefined);
  hub.publish([alertEvent(1)]);
  await new Promise((r) => setImmediate(r));
  assert.equal(wakes, 1);
  hub.close();
  assert.equal(s.sub.closed, true);
  assert.equal(wakes, 2);
  assert.deepEqual(hub.subscribe(() => true, { kind: 'live' }), { ok: false, reason: 'closed' });
});

test('minWakeIntervalMs: publishes closer together than the interval wake a waiting subscriber once', async () => {
  const hub = createHub({ ringSize: 100, clientQueueSize: 100, counters: createCounters(), minWakeIntervalMs: 1000 });
  const s = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(s.ok);
  const wakes: number[] = [];
  s.sub.onWake(() => {
    wakes.push(drain(() => s.sub.next()).length);
  });
  assert.equal(s.sub.next(), undefined); // waiting
  hub.publish([alertEvent(1)]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(wakes, [1], 'the first publish wakes on the next turn');
  // three more publishes well inside the interval: one wake-up, after the interval, with all three
  hub.publish([alertEvent(2)]);
  hub.publish([alertEvent(3)]);
  await new Promise((r) => setImmediate(r));
  hub.publish([alertEvent(4)]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(wakes, [1], 'not woken again inside the interval');
  for (let i = 0; i < 300 && wakes.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(wakes, [1, 3]);
  hub.close();
});
