// relay/ingest/batch-scan.ts against the generated decoder: for well-formed, odd and
// corrupted IngestRequests, the scan accepts exactly what IngestRequest.decode accepts,
// reads the same header and entry seqs, and decodeScanned returns the decoder's batch (and, for the fast path, whether its strings were exact).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Alert, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Batch, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { decodeScanned, scanIngestRequest, type ScannedRequest } from '../../../relay/ingest/batch-scan.js';
import { seededRandom } from '../../support/prng.js';

function batchBytes(b: Partial<Batch>): Buffer {
  return Buffer.from(IngestRequest.encode({ kind: { $case: 'batch', value: { nodeId: 'n1', bootId: 'b1', firstSeq: 0n, lastSeq: 0n, entries: [], ...b } } }).finish());
}
const alert = (s: number): Entry['event'] => ({ $case: 'alert', value: Alert.create({ Resource: `/etc/${s}`, ContainerID: 'c'.repeat(64), PID: s }) });

/** What the decoder makes of `raw`, in the scan's terms; 'refused' when it throws. */
function viaDecoder(raw: Buffer): string {
  let r: IngestRequest;
  try {
    r = IngestRequest.decode(raw);
  } catch {
    return 'refused';
  }
  const k = r.kind;
  if (k?.$case === 'hello') return `hello ${JSON.stringify(k.value)}`;
  if (k?.$case !== 'batch') return 'empty';
  const b = k.value;
  return `batch ${b.nodeId}|${b.bootId}|${b.firstSeq}|${b.lastSeq}|${b.entries.map((e) => `${e.seq}${e.event ? '+' : '-'}`).join(',')}`;
}
function viaScan(raw: Buffer): string {
  let r: ScannedRequest;
  try {
    r = scanIngestRequest(raw);
  } catch {
    return 'refused';
  }
  if (r.kind === 'hello') return `hello ${JSON.stringify(r.hello)}`;
  if (r.kind === 'empty') return 'empty';
  const b = r.batch;
  return `batch ${b.nodeId}|${b.bootId}|${b.firstSeq}|${b.lastSeq}|${[...b.seqs].map((s, i) => `${s}${b.hasEvent[i] ? '+' : '-'}`).join(',')}`;
}

test('an ordinary batch is scanned without decoding, and decodeScanned returns what the decoder returns', () => {
  const entries: Entry[] = [1, 2, 4].map((s) => ({ seq: BigInt(s), event: alert(s) }));
  entries.push({ seq: 5n, event: { $case: 'message', value: Message.create({ Message: 'hi' }) } });
  entries.push({ seq: 6n, event: undefined });
  const raw = batchBytes({ nodeId: 'node-ä', bootId: 'boot', firstSeq: 1n, lastSeq: 6n, entries });
  const r = scanIngestRequest(raw);
  assert.equal(r.kind, 'batch');
  if (r.kind !== 'batch') return;
  assert.equal(r.batch.decoded, undefined, 'the fast path, not the fallback');
  assert.equal(r.batch.nodeId, 'node-ä');
  assert.equal(r.batch.firstSeq, 1n);
  assert.equal(r.batch.lastSeq, 6n);
  assert.deepEqual([...r.batch.seqs], [1n, 2n, 4n, 5n, 6n]);
  assert.deepEqual([...r.batch.hasEvent], [1, 1, 1, 1, 0]);
  assert.equal(r.batch.raw, raw);
  const want = IngestRequest.decode(raw).kind?.value as Batch;
  assert.deepEqual(decodeScanned(r.batch).batch, want);
});

test('seqs up to 2^64-1 are read exactly (no Number on the way)', () => {
  const seqs = [1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
  const raw = batchBytes({ firstSeq: 2n ** 64n - 2n, lastSeq: 2n ** 64n - 1n, entries: seqs.map((s) => ({ seq: s, event: alert(1) })) });
  const r = scanIngestRequest(raw);
  assert.ok(r.kind === 'batch' && r.batch.decoded === undefined);
  assert.deepEqual([...r.batch.seqs], seqs);
  assert.equal(r.batch.firstSeq, 2n ** 64n - 2n);
  assert.equal(r.batch.lastSeq, 2n ** 64n - 1n);
});

test('hello, empty requests and encodings the scan does not follow agree with the decoder', () => {
  const cases: Array<[string, Buffer]> = [
    ['hello', Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: 'n', nodeName: 'h', bootId: 'b', agentVersion: '1', capabilities: ['x'], clusterName: 'c' } } }).finish())],
    ['empty', Buffer.alloc(0)],
    ['unknown top-level field', Buffer.from(new BinaryWriter().uint32((9 << 3) | 0).uint64(5n).finish())],
  ];
  // a batch field with the wrong wire type (skipped by the decoder as unknown)
  cases.push(['node_id as a varint', Buffer.concat([Buffer.from([0x12, 0x02, 0x08, 0x01])])]);
  // batch followed by hello: the oneof's last field wins
  const hello = Buffer.from(IngestRequest.encode({ kind: { $case: 'hello', value: { nodeId: 'n', nodeName: '', bootId: 'b', agentVersion: '', capabilities: [], clusterName: '' } } }).finish());
  const batch = batchBytes({ firstSeq: 1n, lastSeq: 1n, entries: [{ seq: 1n, event: alert(1) }] });
  cases.push(['batch then hello', Buffer.concat([batch, hello])], ['hello then batch', Buffer.concat([hello, batch])]);
  cases.push(['two batches', Buffer.concat([batch, batchBytes({ nodeId: 'n2', firstSeq: 2n, lastSeq: 2n, entries: [{ seq: 2n, event: alert(2) }] })])]);
  // an entry whose seq is repeated (the last wins) and whose event is given twice
  const entry = new BinaryWriter().uint32(8).uint64(7n).uint32(8).uint64(9n).uint32(18).bytes(Alert.encode(Alert.create({ PID: 1 })).finish()).uint32(34).bytes(Message.encode(Message.create({ Message: 'm' })).finish()).finish();
  const odd = new BinaryWriter().uint32(10).string('n').uint32(10).string('n-last').uint32(42).bytes(entry).finish();
  cases.push(['repeated scalars', Buffer.from(new BinaryWriter().uint32(18).bytes(odd).finish())]);
  // a group tag inside an entry
  const grp = new BinaryWriter().uint32(8).uint64(3n).uint32((7 << 3) | 3).uint32((7 << 3) | 4).finish();
  cases.push(['group in entry', Buffer.from(new BinaryWriter().uint32(18).bytes(new BinaryWriter().uint32(42).bytes(grp).finish()).finish())]);
  for (const [name, raw] of cases) assert.equal(viaScan(raw), viaDecoder(raw), name);
});

test('random and corrupted requests: what the decoder accepts scans to the same values; what it refuses, the scan or decodeScanned refuses', () => {
  const rnd = seededRandom(0x5ca9);
  let refused = 0;
  let bodyOnly = 0;
  let fast = 0;
  for (let round = 0; round < 3000; round++) {
    const n = Math.floor(rnd() * 6);
    const first = 1 + Math.floor(rnd() * 1000);
    const entries: Entry[] = Array.from({ length: n }, (_, i) => ({ seq: BigInt(first + i * (1 + Math.floor(rnd() * 3))), event: rnd() < 0.9 ? alert(i) : undefined }));
    const good = batchBytes({ nodeId: `n${round}`, bootId: 'b', firstSeq: BigInt(first), lastSeq: BigInt(first + 3 * n), entries });
    const raw = Buffer.from(good);
    const edits = Math.floor(rnd() * 4);
    for (let e = 0; e < edits && raw.length > 0; e++) {
      const at = Math.floor(rnd() * raw.length);
      const what = rnd();
      if (what < 0.5) raw[at] = Math.floor(rnd() * 256);
      else if (what < 0.75) raw[at] = (raw[at] as number) ^ 0x80;
      else raw[at] = (raw[at] as number) ^ (1 << Math.floor(rnd() * 3));
    }
    const cut = rnd() < 0.2 ? raw.subarray(0, Math.floor(rnd() * raw.length)) : raw;
    const want = viaDecoder(cut);
    const got = viaScan(cut);
    const where = `round ${round}: ${cut.toString('hex')}`;
    if (want !== 'refused') {
      // accepted: the same values, and the later decode returns the decoder's batch
      assert.equal(got, want, where);
      const r = scanIngestRequest(cut);
      if (r.kind === 'batch') {
        if (r.batch.decoded === undefined) fast++;
        assert.deepEqual(decodeScanned(r.batch).batch, IngestRequest.decode(cut).kind?.value, where);
      }
      continue;
    }
    refused++;
    if (got === 'refused') continue; // the envelope was bad
    // only an event body was bad: the scan cannot see it, decodeScanned must
    const r = scanIngestRequest(cut);
    assert.equal(r.kind, 'batch', where);
    if (r.kind === 'batch') assert.throws(() => decodeScanned(r.batch), where);
    bodyOnly++;
  }
  assert.ok(refused > 200, `corruptions refused: ${refused}`);
  assert.ok(bodyOnly > 20, `refusals found only by decodeScanned: ${bodyOnly}`);
  assert.ok(fast > 1000, `batches on the fast path: ${fast}`);
});

test('decodeScanned refuses bytes that decode to other seqs than the scan read', () => {
  const raw = batchBytes({ firstSeq: 1n, lastSeq: 2n, entries: [{ seq: 1n, event: alert(1) }, { seq: 2n, event: alert(2) }] });
  const r = scanIngestRequest(raw);
  assert.ok(r.kind === 'batch');
  const forged = { ...r.batch, seqs: new BigUint64Array([1n, 3n]) };
  assert.throws(() => decodeScanned(forged), /entries\[1\]/);
  const otherNode = { ...r.batch, nodeId: 'other' };
  assert.throws(() => decodeScanned(otherNode), /header differs/);
});
