// relay/serve/passthrough.ts: decodeIngestRequest gives what IngestRequest.decode
// gives, and an alert received through it is sent as its received bytes plus the
// fields changed since, which must decode to exactly the edited Alert — for random
// alerts (every field, non-ASCII, negative int32, nested messages) and random edits
// (the relay's own: stamping, enrichment, tags, collapse's Message; and any other
// field), including the edits that force a full encode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { encodeBody } from '../../../relay/serve/encode.js';
import { decodeIngestRequest, encodeReceivedAlert } from '../../../relay/serve/passthrough.js';

let seed = 4242;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const pieces = ['', 'a', 'é', '日本', '😀', 'x'.repeat(42), 'y'.repeat(43), 'z'.repeat(200)];
const s = (): string => (rnd(3) === 0 ? '' : Array.from({ length: 1 + rnd(3) }, () => pieces[rnd(pieces.length)]).join(''));
const i32 = (): number => [0, 1, -1, 127, 128, 2147483647, -2147483648, rnd(100000) - 50000][rnd(8)] as number;
type Fields = Record<string, unknown>;

function randomAlert(): Alert {
  const a = Alert.create();
  const rec = a as unknown as Fields;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string') rec[k] = s();
    else if (typeof v === 'number') rec[k] = i32();
  }
  a.Timestamp = [0n, 1n, 1_700_000_000n, -5n][rnd(4)] as bigint;
  a.ATags = Array.from({ length: rnd(3) }, s);
  if (rnd(2) === 0) a.Owner = { Ref: s(), Name: s(), Namespace: s() };
  if (rnd(2) === 0) a.ExecEvent = { ExecID: s(), ExecutableName: s() };
  return a;
}

function batchBytes(entries: Entry[]): Buffer {
  return Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'n', bootId: 'b', firstSeq: 1n, lastSeq: BigInt(entries.length), entries } } }).finish());
}

const nonEmpty = (): string => `v${rnd(1000)}é`;
/** Edits as the relay makes them (ingest stamping, enrichment, markUnknown, collapse) and on any other field. */
const edits: Array<(a: Alert) => void> = [
  (a) => { a.ClusterName = nonEmpty(); },
  (a) => { a.HostName = nonEmpty(); a.Timestamp = 1_800_000_000n; a.UpdatedTime = nonEmpty(); },
  (a) => { a.NamespaceName = nonEmpty(); a.PodName = nonEmpty(); a.Labels = 'a=b,c=d'; a.ContainerName = nonEmpty(); a.ContainerImage = 'img:1'; },
  (a) => { a.Owner = { Ref: 'Deployment', Name: nonEmpty(), Namespace: nonEmpty() }; },
  (a) => { a.ATags.push('palisade:identity-unknown'); a.Tags = a.Tags === '' ? 'palisade:identity-unknown' : `${a.Tags},palisade:identity-unknown`; },
  (a) => { a.Message = `${a.Message} (repeated 3 times within 1000 ms)`; },
  (a) => { a.PID = i32() || 7; a.HostPPID = -3; a.MaxAlertsPerSec = 10; },
  (a) => { a.Severity = ''; }, // back to default: full encode
  (a) => { a.ATags = []; }, // tags removed: full encode
  (a) => { a.ExecEvent = { ExecID: nonEmpty(), ExecutableName: '' }; },
  () => undefined,
];

test('decodeIngestRequest decodes exactly as IngestRequest.decode', () => {
  for (let i = 0; i < 300; i++) {
    const entries: Entry[] = Array.from({ length: 1 + rnd(5) }, (_, j) => {
      const k = rnd(4);
      const event: Entry['event'] = k === 0 ? { $case: 'log', value: Log.create({ Resource: s(), PID: i32() }) }
        : k === 1 ? { $case: 'message', value: Message.create({ Message: s() }) } : { $case: 'alert', value: randomAlert() };
      return { seq: BigInt(j + 1), event };
    });
    const b = batchBytes(entries);
    assert.deepEqual(decodeIngestRequest(b), IngestRequest.decode(b));
  }
  const hello = Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: 'n', nodeName: 'n', bootId: 'b', agentVersion: '', capabilities: [], clusterName: '' } } }).finish());
  assert.deepEqual(decodeIngestRequest(hello), IngestRequest.decode(hello));
  assert.throws(() => decodeIngestRequest(Buffer.from([0x12, 0x05, 0x01])));
});

test('a received alert is sent as its bytes plus its changed fields, decoding to the edited alert', () => {
  let passed = 0;
  let fallbacks = 0;
  for (let i = 0; i < 3000; i++) {
    const sent = Array.from({ length: 1 + rnd(4) }, randomAlert);
    const req = decodeIngestRequest(batchBytes(sent.map((a, j) => ({ seq: BigInt(j + 1), event: { $case: 'alert', value: a } }))));
    assert.ok(req.kind?.$case === 'batch');
    for (const e of req.kind.value.entries) {
      assert.ok(e.event?.$case === 'alert');
      const a = e.event.value;
      const original = Buffer.from(Alert.encode(a).finish());
      for (let n = rnd(3); n > 0; n--) (edits[rnd(edits.length)] as (a: Alert) => void)(a);
      const got = encodeBody({ $case: 'alert', value: a });
      assert.deepEqual(Alert.decode(got), a, `alert ${i}`);
      const direct = encodeReceivedAlert(a);
      if (direct) {
        passed++;
        assert.ok(direct.subarray(0, original.length).equals(original), 'starts with the received bytes');
      } else fallbacks++;
    }
  }
  // both paths were exercised
  assert.ok(passed > 1000, `pass-through used ${passed} times`);
  assert.ok(fallbacks > 100, `fallback used ${fallbacks} times`);
});

test('an entry with two alert fields (the decoder keeps one) and alerts from elsewhere are encoded whole', () => {
  const a1 = Buffer.from(Alert.encode(Alert.create({ PolicyName: 'p1', Resource: '/a' })).finish());
  const a2 = Buffer.from(Alert.encode(Alert.create({ Resource: '/b' })).finish());
  const entry = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, a1.length]), a1, Buffer.from([0x12, a2.length]), a2]);
  const batch = Buffer.concat([Buffer.from([0x0a, 1]), Buffer.from('n'), Buffer.from([0x12, 1]), Buffer.from('b'), Buffer.from([0x18, 1, 0x20, 1, 0x2a, entry.length]), entry]);
  const bytes = Buffer.concat([Buffer.from([0x12, batch.length]), batch]);
  const req = decodeIngestRequest(bytes);
  assert.deepEqual(req, IngestRequest.decode(bytes));
  assert.ok(req.kind?.$case === 'batch');
  const ev = req.kind.value.entries[0]?.event;
  assert.ok(ev?.$case === 'alert');
  assert.equal(ev.value.Resource, '/b');
  assert.equal(encodeReceivedAlert(ev.value), undefined);
  assert.deepEqual(Alert.decode(encodeBody({ $case: 'alert', value: ev.value })), ev.value);
  assert.equal(encodeReceivedAlert(Alert.create({ PolicyName: 'x' })), undefined);
});
