import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createThrottle } from '../../../relay/throttle/throttle.js';
import { createCollapser } from '../../../relay/throttle/collapse.js';
import { createRelayEventFactory, type RelayEvent } from '../../../relay/event.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import { alertEvent, alertOf, logEvent } from './helpers.js';

function setup(max = 3, sec = 10) {
  let t = 1_000_000;
  const counters = createCounters();
  const th = createThrottle({ enabled: true, maxAlertsPerSec: max, throttleSec: sec }, () => t, createRelayEventFactory('relay-boot'), counters);
  return { th, counters, advance: (ms: number) => { t += ms; } };
}

test('over the limit: one AlertThreshold notice, then drops, then a summary with the count', () => {
  const { th, counters, advance } = setup(3, 10);
  const out: RelayEvent[] = [];
  for (let i = 1; i <= 10; i++) th.push(alertEvent(i, { Action: i % 2 === 0 ? 'Block' : 'Audit', PolicyName: 'p' }), out);
  // per (container, policy, action): Audit and Block keys each allow 3, the 4th trips
  const passed = out.filter((e) => alertOf(e).Type === 'MatchedPolicy');
  const notices = out.filter((e) => alertOf(e).Operation === 'AlertThreshold');
  assert.equal(passed.length, 6);
  assert.equal(notices.length, 2);
  const n = alertOf(notices[0]!);
  assert.equal(n.Type, 'SystemEvent');
  assert.equal(n.MaxAlertsPerSec, 3);
  assert.equal(n.DroppingAlertsInterval, 10);
  assert.equal(n.ContainerID, 'c1');
  assert.equal(notices[0]!.nodeId, 'relay');
  assert.equal(counters.total('palisade_relay_throttled_alerts_total'), 4);
  // still throttled after a second
  advance(1500);
  const out2: RelayEvent[] = [];
  th.push(alertEvent(11, { Action: 'Block', PolicyName: 'p' }), out2);
  assert.equal(out2.length, 0);
  // interval over: tick emits the summaries
  advance(10_000);
  const out3: RelayEvent[] = [];
  th.tick(out3);
  const summaries = out3.map(alertOf);
  assert.equal(summaries.length, 2);
  const block = summaries.find((a) => a.Action === 'Block')!;
  assert.equal(block.Data, 'DroppedAlertsCount=3 DroppedBlockAlertsCount=3');
  const audit = summaries.find((a) => a.Action === 'Audit')!;
  assert.equal(audit.Data, 'DroppedAlertsCount=2 DroppedBlockAlertsCount=0');
  assert.equal(th.keys, 0);
});

test('one noisy rule does not hide another rule on the same container', () => {
  const { th } = setup(2, 30);
  const out: RelayEvent[] = [];
  for (let i = 1; i <= 50; i++) th.push(alertEvent(i, { PolicyName: 'noisy' }), out);
  th.push(alertEvent(51, { PolicyName: 'quiet' }), out);
  assert.ok(out.some((e) => alertOf(e).PolicyName === 'quiet' && alertOf(e).Type === 'MatchedPolicy'));
});

test('the window resets every second; logs and relay alerts are never throttled', () => {
  const { th, advance } = setup(2, 30);
  const out: RelayEvent[] = [];
  for (let s = 0; s < 5; s++) {
    th.push(alertEvent(s * 2 + 1), out);
    th.push(alertEvent(s * 2 + 2), out);
    advance(1000);
  }
  assert.equal(out.length, 10);
  for (let i = 0; i < 10; i++) th.push(logEvent(100 + i), out);
  assert.equal(out.length, 20);
});

test('shutdown flushes pending summaries', () => {
  const { th } = setup(1, 30);
  const out: RelayEvent[] = [];
  th.push(alertEvent(1), out);
  th.push(alertEvent(2), out);
  th.push(alertEvent(3), out);
  const flushed: RelayEvent[] = [];
  th.tick(flushed, true);
  assert.equal(flushed.length, 1);
  assert.equal(alertOf(flushed[0]!).Data, 'DroppedAlertsCount=2 DroppedBlockAlertsCount=0');
});

test('collapse: first passes at once, repeats become one alert with a count', () => {
  let t = 0;
  const c = createCollapser(1000, () => t);
  const out: RelayEvent[] = [];
  for (let i = 1; i <= 5; i++) c.push(alertEvent(i, { Resource: '/etc/shadow', PID: i }), out);
  c.push(alertEvent(6, { Resource: '/etc/passwd' }), out);
  c.push(logEvent(7), out);
  assert.deepEqual(out.map((e) => Number(e.seq)), [1, 6, 7]);
  assert.equal(c.held, 1);
  t = 500;
  c.tick(out);
  assert.equal(out.length, 3, 'window still open');
  t = 1000;
  c.tick(out);
  assert.equal(out.length, 4);
  const agg = out[3]!;
  assert.equal(agg.count, 4);
  assert.equal(Number(agg.seq), 5, 'the aggregate is the latest occurrence');
  assert.equal(alertOf(agg).Message, 'repeated 4 times within 1000 ms');
  // a new occurrence after the window passes at once
  c.push(alertEvent(8, { Resource: '/etc/shadow' }), out);
  assert.equal(Number(out[4]!.seq), 8);
});

test('collapse disabled with window 0; forced tick releases everything', () => {
  const c0 = createCollapser(0, () => 0);
  const out: RelayEvent[] = [];
  for (let i = 1; i <= 3; i++) c0.push(alertEvent(i, { Resource: '/x' }), out);
  assert.equal(out.length, 3);
  const c = createCollapser(1000, () => 0);
  const out2: RelayEvent[] = [];
  for (let i = 1; i <= 3; i++) c.push(alertEvent(i, { Resource: '/x' }), out2);
  c.tick(out2, true);
  assert.deepEqual(out2.map((e) => e.count), [1, 2]);
});
