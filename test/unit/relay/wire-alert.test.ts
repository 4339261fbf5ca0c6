// relay/ingest/wire-alert.ts: an alert read in place has every field Alert.decode gives
// for the same bytes; it accepts only bytes Alert.decode accepts (ASCII strings, the
// ordinary encoding) and decodes its lazy fields only when one of them is used.
// Random alerts: ASCII strings only (non-ASCII ones are refused, tested below).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { StringCache } from '../../../relay/ingest/interning-reader.js';
import type { RelayEvent } from '../../../relay/event.js';
import { EAGER_FIELDS, LAZY_FIELDS, readWireAlert, type WireAlert } from '../../../relay/ingest/wire-alert.js';
import { createCollapser } from '../../../relay/throttle/collapse.js';
import { seededRandom } from '../../support/prng.js';
import { randomAlert as randomAlertOf } from '../../support/random-alert.js';

const next = seededRandom(2026);
const rnd = (n: number): number => Math.floor(next() * n);
const ALERTS = {
  pieces: ['a', 'Audit', 'Block', '/usr/bin/cat', 'x'.repeat(95), 'y'.repeat(96), 'z'.repeat(97), 'w'.repeat(300), '0123456789abcdef'.repeat(4)],
  timestamps: [0n, 1n, 1_700_000_000n, 2n ** 49n - 1n], // what the walk reads itself (larger ones go to the decoder)
};
const randomAlert = (): Alert => randomAlertOf(next, ALERTS);

const fieldsOf = (a: Alert): Record<string, unknown> => Object.fromEntries(Object.keys(Alert.create()).map((k) => [k, (a as unknown as Record<string, unknown>)[k]]));

/** Reads `bytes` placed at an offset inside a larger buffer (as in an ingest request). */
function read(bytes: Uint8Array, cache = new StringCache()): WireAlert | undefined {
  const raw = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), bytes, Buffer.from([0xff])]);
  return readWireAlert(raw, 3, 3 + bytes.length, cache);
}

test('every Alert field is either eager or lazy', () => {
  const all = [...EAGER_FIELDS, ...LAZY_FIELDS].sort();
  assert.deepEqual(all, Object.keys(Alert.create()).sort());
  assert.equal(new Set(all).size, all.length);
});

test('an alert read in place equals Alert.decode of its bytes, field by field, and re-encodes to the same bytes', () => {
  const cache = new StringCache(); // shared, as in ingest: hits must return the right strings
  for (let i = 0; i < 3000; i++) {
    const bytes = Alert.encode(randomAlert()).finish();
    const want = Alert.decode(bytes);
    const got = read(bytes, cache);
    assert.ok(got !== undefined, `alert ${i} refused`);
    for (const f of EAGER_FIELDS) assert.deepEqual(got[f], want[f], `alert ${i}: ${f}`);
    assert.equal(got.lazyDecoded, false, 'reading the eager fields decodes nothing else');
    assert.deepEqual(fieldsOf(got), fieldsOf(want), `alert ${i}`);
    assert.equal(got.lazyDecoded, true);
    assert.deepEqual(Buffer.from(Alert.encode(got).finish()), Buffer.from(Alert.encode(want).finish()));
  }
  assert.ok(cache.hits > 0 && cache.misses > 0);
});

test('a field given twice keeps its last value; unknown fields are skipped', () => {
  const w = new BinaryWriter();
  w.uint32(58).string('first-container');
  w.uint32(250).fork().uint32(10).string('ReplicaSet').uint32(18).string('a').join();
  w.uint32((999 << 3) | WireType.Varint).uint64(12345n);
  w.uint32((1000 << 3) | WireType.LengthDelimited).bytes(new Uint8Array([0xff, 0xfe])); // not a string: any bytes
  w.uint32((1001 << 3) | WireType.Bit64).fixed64(7n);
  w.uint32((1002 << 3) | WireType.Bit32).fixed32(7);
  w.uint32(58).string('second-container');
  w.uint32(250).fork().uint32(18).string('b').join();
  w.uint32(8).int64(5n).uint32(8).int64(1_700_000_000n);
  w.uint32(162).string('/etc/passwd');
  const bytes = w.finish();
  const want = Alert.decode(bytes);
  const got = read(bytes);
  assert.ok(got);
  assert.equal(got.ContainerID, 'second-container');
  assert.deepEqual(got.Owner, { Ref: '', Name: 'b', Namespace: '' });
  assert.equal(got.Timestamp, 1_700_000_000n);
  assert.deepEqual(fieldsOf(got), fieldsOf(want));
});

test('bytes outside the ordinary ASCII encoding are refused (the generated decoder takes them)', () => {
  const one = (fn: (w: BinaryWriter) => void): Uint8Array => {
    const w = new BinaryWriter();
    fn(w);
    return w.finish();
  };
  const refused: Array<[string, Uint8Array]> = [
    ['non-ASCII lazy string', Alert.encode(Alert.create({ Resource: '/tmp/é' })).finish()],
    ['non-ASCII eager string', Alert.encode(Alert.create({ ContainerID: '日本' })).finish()],
    ['non-ASCII Owner', Alert.encode(Alert.create({ Owner: { Ref: 'ü', Name: '', Namespace: '' } })).finish()],
    ['non-ASCII ExecEvent', Alert.encode(Alert.create({ ExecEvent: { ExecID: '', ExecutableName: '😀' } })).finish()],
    ['non-ASCII ATags', Alert.encode(Alert.create({ ATags: ['ok', 'ñ'] })).finish()],
    ['invalid UTF-8', one((w) => w.uint32(162).bytes(new Uint8Array([0x2f, 0xc3])))],
    ['known string field as a varint', one((w) => w.uint32((7 << 3) | WireType.Varint).uint32(3))],
    ['int32 field as a string', one((w) => w.uint32((9 << 3) | WireType.LengthDelimited).string('x'))],
    ['Timestamp beyond 49 bits', Alert.encode(Alert.create({ Timestamp: 2n ** 49n })).finish()],
    ['negative Timestamp', Alert.encode(Alert.create({ Timestamp: -1n })).finish()],
    ['field 0', new Uint8Array([0x00, 0x01])],
    ['a group', new Uint8Array([(1000 << 3 | WireType.StartGroup) & 0x7f | 0x80, 1000 >> 4, 0x00])],
    ['wire type 7', new Uint8Array([(5 << 3) | 7])],
    ['truncated string', new Uint8Array([58, 10, 0x61, 0x62])],
    ['truncated varint', new Uint8Array([72, 0x80])],
    ['varint of 11 bytes', new Uint8Array([72, ...Array<number>(10).fill(0x80), 0x01])],
  ];
  for (const [what, bytes] of refused) assert.equal(read(bytes), undefined, what);
});

test('whatever it accepts, Alert.decode accepts with the same fields (mutated bytes)', () => {
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 4000; i++) {
    const bytes = Buffer.from(Alert.encode(randomAlert()).finish());
    if (bytes.length === 0) continue;
    const m = Buffer.from(bytes);
    for (let k = 1 + rnd(3); k > 0; k--) m[rnd(m.length)] = rnd(256);
    const cut = rnd(4) === 0 ? m.subarray(0, rnd(m.length)) : m;
    const got = read(cut);
    if (got === undefined) { refused++; continue; }
    accepted++;
    let want: Alert;
    try {
      want = Alert.decode(cut);
    } catch (e) {
      assert.fail(`accepted bytes Alert.decode refuses (${(e as Error).message}): ${cut.toString('hex')}`);
    }
    assert.deepEqual(fieldsOf(got), fieldsOf(want), cut.toString('hex'));
  }
  assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
});

test('fields set on the alert stay set: eager ones as own fields, lazy ones once decoded', () => {
  const bytes = Alert.encode(Alert.create({ ContainerID: 'c1', Resource: '/etc/shadow', ATags: ['a'] })).finish();
  const a = read(bytes);
  assert.ok(a);
  a.NamespaceName = 'ns';
  a.Owner = { Ref: 'Deployment', Name: 'd', Namespace: 'ns' };
  assert.equal(a.lazyDecoded, false);
  a.ATags.push('b');
  a.Tags = 'a,b';
  assert.equal(a.lazyDecoded, true);
  const back = Alert.decode(Alert.encode(a).finish());
  assert.deepEqual(back, Alert.create({
    ContainerID: 'c1', Resource: '/etc/shadow', ATags: ['a', 'b'], Tags: 'a,b', NamespaceName: 'ns',
    Owner: { Ref: 'Deployment', Name: 'd', Namespace: 'ns' },
  }));
});

test('detach() keeps every field and lets the received bytes go', () => {
  const want = randomAlert();
  const raw = Buffer.from(Alert.encode(want).finish());
  const a = readWireAlert(raw, 0, raw.length, new StringCache());
  assert.ok(a);
  a.detach();
  raw.fill(0xaa); // were the alert still reading these bytes, its lazy fields would change or fail to decode
  assert.deepEqual(fieldsOf(a), fieldsOf(Alert.decode(Alert.encode(want).finish())));
});

test('collapse holds a repeat without its ingest request: the released alert does not read those bytes', () => {
  const c = createCollapser(1000, () => 0);
  const bytes = Alert.encode(Alert.create({ ContainerID: 'c1', PolicyName: 'p', Action: 'Block', Operation: 'File', Resource: '/etc/shadow', Data: 'd' })).finish();
  const event = (raw: Buffer, seq: bigint): RelayEvent => {
    const a = readWireAlert(raw, 0, raw.length, new StringCache());
    assert.ok(a);
    return { nodeId: 'n', bootId: 'b', seq, body: { $case: 'alert', value: a }, enriched: true, count: 1, receivedAt: 0n };
  };
  const first = event(Buffer.from(bytes), 1n);
  const out: RelayEvent[] = [];
  c.push(first, out);
  assert.equal((first.body.value as WireAlert).lazyDecoded, false, 'the collapse key reads eager fields only');
  const repeatRaw = Buffer.from(bytes);
  const repeat = event(repeatRaw, 2n);
  c.push(repeat, out);
  repeatRaw.fill(0xaa);
  c.tick(out, true);
  assert.equal(out.length, 2);
  const released = out[1]?.body.value as Alert;
  assert.equal(released.Data, 'd');
  assert.equal(released.Resource, '/etc/shadow');
  assert.match(released.Message, /repeated 1 times/);
});
