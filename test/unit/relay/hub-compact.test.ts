// Compact hub entries (relay without scale-out): the ring keeps the feeder encoding
// and id fields; `ev` is rebuilt from the bytes and must equal what was published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { createHub, ENTRY_OVERHEAD, kindOf, type HubEntry } from '../../../relay/hub/hub.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import type { RelayEvent } from '../../../relay/event.js';
import { alertEvent, logEvent } from './helpers.js';

const take = (next: () => HubEntry | undefined): HubEntry[] => {
  const out: HubEntry[] = [];
  for (let i = 0; i < 1000; i++) {
    const e = next();
    if (e === undefined) return out;
    out.push(e);
  }
  throw new Error('did not end');
};

test('compact entries carry the feeder bytes and rebuild the published event', () => {
  const hub = createHub({ ringSize: 10, clientQueueSize: 10, counters: createCounters(), compact: true });
  const s = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(s.ok);
  const msg: RelayEvent = { nodeId: 'relay', bootId: 'b', seq: 9n, enriched: true, count: 1, receivedAt: 5n, body: { $case: 'message', value: Message.create({ Type: 'Dropped', Message: 'ünïcode' }) } };
  const published: RelayEvent[] = [
    { ...alertEvent(1, { NamespaceName: 'ns', Labels: 'a=b', Owner: { Ref: 'Deployment', Name: 'd', Namespace: 'ns' }, Timestamp: 1700000000n, PID: -3, ATags: ['x', 'y'] }), enriched: false, count: 7 },
    logEvent(2, { Data: 'd' }),
    msg,
  ];
  hub.publish(published);
  const got = take(() => s.sub.next());
  assert.deepEqual(got.map(kindOf), ['alert', 'log', 'message']);
  const [a, l, m] = got as [HubEntry, HubEntry, HubEntry];
  assert.deepEqual(a.feederBytes, Buffer.from(Alert.encode((published[0] as RelayEvent).body.value as Alert).finish()));
  assert.deepEqual(l.feederBytes, Buffer.from(Log.encode((published[1] as RelayEvent).body.value as Log).finish()));
  assert.deepEqual(m.feederBytes, Buffer.from(Message.encode(msg.body.value as Message).finish()));
  for (let i = 0; i < 3; i++) assert.deepEqual((got[i] as HubEntry).ev, published[i]);
  assert.equal(a.ev, a.ev, 'the rebuilt event is kept (one object per entry)');
});

test('without compact, entries hold the published object itself', () => {
  const hub = createHub({ ringSize: 10, clientQueueSize: 10, counters: createCounters() });
  const s = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(s.ok);
  const ev = alertEvent(1);
  hub.publish([ev]);
  assert.equal(s.sub.next()?.ev, ev);
});

test('the byte bound evicts the oldest entries: slow clients skip them (counted), old cursors are out of range', () => {
  const counters = createCounters();
  const evs = Array.from({ length: 10 }, (_, i) => alertEvent(i + 1, { Resource: '/etc/same-length' }));
  const one = Alert.encode((evs[0] as RelayEvent).body.value as Alert).finish().length + ENTRY_OVERHEAD;
  const hub = createHub({ ringSize: 100, clientQueueSize: 100, counters, compact: true, maxBytes: 3 * one });
  const slow = hub.subscribe(() => true, { kind: 'live' });
  assert.ok(slow.ok);
  hub.publish(evs.slice(0, 1));
  const first = slow.sub.next() as HubEntry;
  const firstCursor = hub.cursorOf(first);
  hub.publish(evs.slice(1));
  const got = take(() => slow.sub.next());
  assert.deepEqual(got.map((e) => Number(e.ev.seq)), [8, 9, 10], 'three entries fit the byte bound');
  assert.equal(slow.sub.takeDropped(), 6, 'events 2..7 were evicted before the client read them');
  assert.equal(counters.get('palisade_relay_client_dropped_events_total', { reason: 'queue_full' }), 6);
  assert.deepEqual(hub.subscribe(() => true, { kind: 'after', cursor: firstCursor }), { ok: false, reason: 'out_of_range' });
  const oldest = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(oldest.ok);
  assert.deepEqual(take(() => oldest.sub.next()).map((e) => Number(e.ev.seq)), [8, 9, 10]);
  // one event bigger than the bound stays (the newest always does)
  hub.publish([alertEvent(11, { Data: 'x'.repeat(10 * one) })]);
  assert.deepEqual(take(() => oldest.sub.next()).map((e) => Number(e.ev.seq)), [11]);
});
