// Unit tests for relay/scaleout's entry codec and id order (no Redis needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { compareIds, decodeEntry, encodeArgs, isStreamId } from '../../../relay/scaleout/codec.js';
import type { RelayEvent } from '../../../relay/event.js';

const fieldsOf = (ev: RelayEvent, x: number): Buffer[] => {
  const [n, b, s, k, e, c, p] = encodeArgs(ev);
  const kv: Array<[string, string | Buffer | undefined]> = [['x', String(x)], ['n', n], ['b', b], ['s', s], ['k', k], ['e', e], ['c', c], ['p', p]];
  return kv.flatMap(([key, v]) => [Buffer.from(key), Buffer.isBuffer(v) ? v : Buffer.from(String(v))]);
};

test('codec: alerts, logs and messages round-trip with id, count, enrichment and 64-bit seq', () => {
  const events: RelayEvent[] = [
    { nodeId: 'node-ü', bootId: 'b1', seq: 18_446_744_073_709_551_615n, enriched: false, count: 7, receivedAt: 0n, body: { $case: 'alert', value: Alert.create({ PolicyName: 'p', Timestamp: 5n, NamespaceName: 'ns' }) } },
    { nodeId: 'n', bootId: 'b', seq: 2n, enriched: true, count: 1, receivedAt: 0n, body: { $case: 'log', value: Log.create({ Operation: 'Process', HostPID: 42 }) } },
    { nodeId: 'relay', bootId: 'r', seq: 3n, enriched: true, count: 1, receivedAt: 0n, body: { $case: 'message', value: Message.create({ Message: 'hi', Level: 'Warn' }) } },
  ];
  events.forEach((ev, i) => {
    const d = decodeEntry([Buffer.from(`10-${i}`), fieldsOf(ev, i + 1)], 9n);
    assert.ok(d);
    assert.equal(d.id, `10-${i}`);
    assert.equal(d.x, i + 1);
    assert.equal(d.ev.nodeId, ev.nodeId);
    assert.equal(d.ev.seq, ev.seq);
    assert.equal(d.ev.count, ev.count);
    assert.equal(d.ev.enriched, ev.enriched);
    assert.equal(d.ev.receivedAt, 9n);
    assert.deepEqual(d.ev.body, ev.body);
  });
});

test('codec: malformed entries decode to undefined, never throw', () => {
  const good = fieldsOf({ nodeId: 'n', bootId: 'b', seq: 1n, enriched: true, count: 1, receivedAt: 0n, body: { $case: 'alert', value: Alert.create({}) } }, 1);
  const replace = (key: string, v: string | Buffer): Buffer[] => good.map((b, i) => (i % 2 === 1 && good[i - 1]?.toString() === key ? (Buffer.isBuffer(v) ? v : Buffer.from(v)) : b));
  assert.equal(decodeEntry('nope', 0n), undefined);
  assert.equal(decodeEntry([Buffer.from('1-0')], 0n), undefined);
  assert.equal(decodeEntry([Buffer.from('1-0'), replace('k', 'z')], 0n), undefined);
  assert.equal(decodeEntry([Buffer.from('1-0'), replace('s', '-1')], 0n), undefined);
  assert.equal(decodeEntry([Buffer.from('1-0'), replace('x', 'abc')], 0n), undefined);
  assert.equal(decodeEntry([Buffer.from('1-0'), replace('p', Buffer.from([0xff, 0xff, 0xff]))], 0n), undefined);
});

test('stream ids: numeric order, not string order', () => {
  assert.equal(compareIds('9-0', '10-0'), -1);
  assert.equal(compareIds('10-2', '10-10'), -1);
  assert.equal(compareIds('10-10', '10-10'), 0);
  assert.equal(compareIds('1795995982972-1', '1795995982972-0'), 1);
  assert.equal(isStreamId('1795995982972-0'), true);
  assert.equal(isStreamId('abc:12'), false);
  assert.equal(isStreamId('1-'), false);
});
