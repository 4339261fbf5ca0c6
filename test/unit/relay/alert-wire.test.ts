// Forwarded alert bytes (RelayEvent.wire, serve/alert-encode.ts encodeAlertWireView):
// for random alerts sent in real ingest batches, scanned, decoded, filled and then
// enriched, the forwarded bytes decode to exactly the alert the relay holds; they are
// refused (the alert is re-encoded) exactly when appending cannot express it; an alert
// with invalid UTF-8 is re-encoded, and a batch with an entry of two event fields
// forwards nothing. Both of ingest's ways are taken: entry by entry (alerts read in
// place where wire-alert.ts accepts them) and the whole request by the generated decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Alert, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { IDENTITY_OWNER, identityBits, type AlertWire, type RelayEvent } from '../../../relay/event.js';
import { batchEvents } from '../../../relay/ingest/batch-events.js';
import { scanIngestRequest, type ScannedBatch } from '../../../relay/ingest/batch-scan.js';
import { WireAlert } from '../../../relay/ingest/wire-alert.js';
import { makeFiller } from '../../../relay/ingest/fill.js';
import { encodeAlertWireView } from '../../../relay/serve/alert-encode.js';
import { encodeEventTransient } from '../../../relay/serve/encode.js';
import { seededRandom } from '../../support/prng.js';

const next = seededRandom(2026);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
const pieces = ['a', 'é', '日本', '😀', 'x'.repeat(42), 'z'.repeat(200), '/etc/passwd', 'Block'];
const asciiPieces = pieces.filter((p) => Buffer.byteLength(p) === p.length);
/** ASCII only while set: batches of such alerts take ingest's in-place path (wire-alert.ts). */
let asciiOnly = false;
const str = (): string => (next() < 0.3 ? '' : Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(asciiOnly ? asciiPieces : pieces)).join(''));
const IDENTITY = ['NamespaceName', 'PodName', 'Labels', 'ContainerName', 'ContainerImage'] as const;

function randomAlert(): Alert {
  const a = Alert.create();
  const rec = a as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string') rec[k] = (IDENTITY as readonly string[]).includes(k) && next() < 0.7 ? '' : str();
    else if (typeof v === 'number') rec[k] = pick([0, 1, -1, 128, 2147483647, -2147483648]);
  }
  a.Timestamp = pick(asciiOnly ? [0n, 1_700_000_000n] : [0n, 1_700_000_000n, -5n]);
  a.ATags = Array.from({ length: Math.floor(next() * 3) }, str);
  if (next() < 0.15) a.Owner = { Ref: str(), Name: str(), Namespace: str() };
  if (next() < 0.5) a.ExecEvent = { ExecID: str(), ExecutableName: str() };
  return a;
}

/** What enrichment may do: set the identity fields (some to ''), and an Owner. */
function enrichRandomly(a: Alert): void {
  if (next() < 0.2) return; // host event or no lookup
  for (const k of IDENTITY) if (next() < 0.9) a[k] = next() < 0.1 ? '' : `${k}-${pick(['1', '2', 'é'])}`;
  if (next() < 0.5) a.Owner = { Ref: 'Deployment', Name: pick(['d1', '']), Namespace: pick(['ns', 'é']) };
}

/** What WireAlert reads itself: ASCII strings and a Timestamp in [0, 2^49). */
function readableInPlace(a: Alert): boolean {
  const json = JSON.stringify(Alert.toJSON(a));
  return a.Timestamp >= 0n && a.Timestamp < 2n ** 49n && Buffer.byteLength(json) === json.length;
}

function scanned(raw: Buffer): ScannedBatch {
  const r = scanIngestRequest(raw);
  assert.equal(r.kind, 'batch');
  if (r.kind !== 'batch') throw new Error('not a batch');
  return r.batch;
}

/** Ingest's decode step (ingest-server.ts decode): every entry fresh, filled, with the wires. */
function ingest(raw: Buffer): RelayEvent[] {
  const b = scanned(raw);
  return batchEvents(b, new Uint8Array(b.seqs.length).fill(1), makeFiller('node-1', 'cluster-1', 1_764_000_000_000), 0n);
}

test('forwarded alert bytes decode to the filled and enriched alert, and are refused exactly when appending cannot express it', () => {
  let forwarded = 0;
  let refused = 0;
  let inPlace = 0;
  for (let round = 0; round < 600; round++) {
    // every other round: ASCII alerts only, so that most of those batches are read in place
    asciiOnly = round % 2 === 1;
    const entries: Entry[] = Array.from({ length: 1 + Math.floor(next() * 5) }, (_, i) => ({
      seq: BigInt(i + 1),
      event: next() < (asciiOnly ? 0.95 : 0.85) ? { $case: 'alert', value: randomAlert() } : { $case: 'message', value: Message.create({ Message: str() }) },
    }));
    const raw = Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'n', bootId: 'b', firstSeq: 1n, lastSeq: BigInt(entries.length), entries } } }).finish());
    const events = ingest(raw);
    events.forEach((e, i) => {
      const sent = entries[i]?.event;
      const expected = sent?.$case === 'alert' && readableInPlace(sent.value);
      assert.equal(e.body.value instanceof WireAlert, expected, `round ${round}, entry ${i}: read in place exactly when an alert is ASCII with a small Timestamp`);
      if (expected) inPlace++;
    });
    for (const ev of events) {
      if (ev.body.$case !== 'alert') {
        assert.equal(ev.wire, undefined);
        continue;
      }
      const w = ev.wire as AlertWire;
      assert.ok(w !== undefined, 'an alert of a valid UTF-8 batch gets its bytes');
      const a = ev.body.value;
      enrichRandomly(a);
      const bytes = encodeAlertWireView(a, w);
      const expressible = (w.identity & IDENTITY_OWNER) === 0 && (w.identity & ~identityBits(a)) === 0;
      assert.equal(bytes !== undefined, expressible, `round ${round}: identity bits ${w.identity} -> ${identityBits(a)}`);
      if (bytes === undefined) {
        refused++;
        continue;
      }
      forwarded++;
      const want = Alert.fromPartial(a); // a plain Alert of the same fields (a may be a WireAlert)
      assert.deepEqual(Alert.decode(bytes), want, `round ${round}`);
      // the hub's entry point takes the same path
      assert.deepEqual(Alert.decode(encodeEventTransient(ev)), want);
    }
  }
  asciiOnly = false;
  assert.ok(forwarded > 800 && refused > 40 && inPlace > 300, `forwarded ${forwarded}, refused ${refused}, alerts read in place ${inPlace}`);
});

test('an edited alert without its wire is re-encoded; with a stale wire the edit would be lost', () => {
  const a = Alert.create({ ContainerID: 'c1', PolicyName: 'p', Message: 'm' });
  const raw = Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'n', bootId: 'b', firstSeq: 1n, lastSeq: 1n, entries: [{ seq: 1n, event: { $case: 'alert', value: a } }] } } }).finish());
  const [ev] = ingest(raw) as [RelayEvent];
  assert.ok(ev.wire);
  const alert = ev.body.value as Alert;
  alert.Message = 'm (repeated 3 times)';
  // what collapse.ts and the enricher's markUnknown guard against by clearing the wire
  assert.equal(Alert.decode(encodeEventTransient(ev)).Message, 'm');
  ev.wire = undefined;
  assert.equal(Alert.decode(encodeEventTransient(ev)).Message, 'm (repeated 3 times)');
});

/** IngestRequest{batch{node, boot, 1, n, entries}} written by hand, each entry's event fields given as [field, bytes]. */
function handBatch(entries: (readonly [number, Uint8Array])[][]): Buffer {
  const b = new BinaryWriter().uint32(10).string('n').uint32(18).string('b').uint32(24).uint64(1n).uint32(32).uint64(BigInt(entries.length));
  entries.forEach((fields, i) => {
    const e = new BinaryWriter().uint32(8).uint64(BigInt(i + 1));
    for (const [f, bytes] of fields) e.uint32((f << 3) | 2).bytes(bytes);
    b.uint32(42).bytes(e.finish());
  });
  return Buffer.from(new BinaryWriter().uint32(18).bytes(b.finish()).finish());
}

test('invalid UTF-8 in one alert: that alert is re-encoded, the others of its batch are forwarded as received', () => {
  const good = Alert.encode(Alert.create({ PolicyName: 'p', ContainerID: 'c1' })).finish();
  // PolicyName (field 13) with the bytes ff fe: the decoder reads U+FFFD U+FFFD, so the
  // received bytes are not what the relay decoded
  const bad = Uint8Array.from([106, 2, 0xff, 0xfe]);
  const evs = ingest(handBatch([[[2, good]], [[2, bad]]]));
  assert.equal(evs.length, 2);
  assert.deepEqual(evs.map((e) => e.wire === undefined), [false, true]);
  assert.equal((evs[1]?.body.value as Alert).PolicyName, '\ufffd\ufffd');
  assert.equal(Alert.decode(encodeEventTransient(evs[1] as RelayEvent)).PolicyName, '\ufffd\ufffd', 'valid UTF-8 on the way out');
  assert.ok(ingest(handBatch([[[2, good]], [[2, good]]])).every((e) => e.wire !== undefined), 'the same batch without the bad bytes is forwarded');
  // an entry with two event fields sends the whole batch to the generated decoder, which
  // forwards nothing of a batch with a bad string
  const msg = Message.encode(Message.create({ Message: 'x' })).finish();
  assert.ok(ingest(handBatch([[[2, good]], [[2, bad]], [[4, msg], [2, good]]])).every((e) => e.wire === undefined));
});

test('an entry with two event fields forwards nothing (the decoder keeps the last)', () => {
  const first = Alert.encode(Alert.create({ PolicyName: 'first' })).finish();
  const second = Alert.encode(Alert.create({ PolicyName: 'second' })).finish();
  const msg = Message.encode(Message.create({ Message: 'x' })).finish();
  const evs = ingest(handBatch([[[2, first], [2, second]], [[4, msg], [2, second]], [[2, first]]]));
  assert.deepEqual(evs.map((e) => [e.body.$case, e.wire === undefined]), [['alert', true], ['alert', true], ['alert', false]]);
  assert.equal((evs[0]?.body.value as Alert).PolicyName, 'second');
});
