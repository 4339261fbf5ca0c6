// relay/ingest/lazy-request.ts against the generated IngestRequest.decode: on random
// requests (hello, batches of alerts/logs/messages with nested Owner/ExecEvent) both give
// the same IngestRequest once the lazy bodies are read; on truncated and bit-flipped
// bytes the lazy decoder refuses exactly the inputs the generated one refuses, and a
// body it accepted always decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert, Log, Message } from '../../../proto/gen/feeder/kubearmor.js';
import { IngestRequest, type Entry } from '../../../proto/gen/palisade/v1/ingest.js';
import { decodeIngestRequestLazy, hasEvent, LazyEntry } from '../../../relay/ingest/lazy-request.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomRequest(r: () => number): IngestRequest {
  const s = (): string => ['', 'a', 'pod-1', 'é日本', 'x'.repeat(200)][Math.floor(r() * 5)] as string;
  if (r() < 0.1) {
    return { kind: { $case: 'hello', value: { nodeId: s(), nodeName: s(), bootId: s(), agentVersion: s(), capabilities: [s(), s()], clusterName: s() } } };
  }
  const entries: Entry[] = [];
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const k = r();
    const owner = r() < 0.5 ? { Ref: s(), Name: s(), Namespace: s() } : undefined;
    const exec = r() < 0.5 ? { ExecID: s(), ExecutableName: s() } : undefined;
    const event: Entry['event'] = k < 0.6
      ? { $case: 'alert', value: Alert.create({ Timestamp: BigInt(Math.floor(r() * 2e9)), PodName: s(), Resource: s(), PID: Math.floor(r() * 70000) - 100, ATags: [s()], Owner: owner, ExecEvent: exec }) }
      : k < 0.9 ? { $case: 'log', value: Log.create({ Resource: s(), HostPID: Math.floor(r() * 1000), Owner: owner, ExecEvent: exec }) }
        : k < 0.97 ? { $case: 'message', value: Message.create({ Message: s(), Level: s() }) } : undefined;
    entries.push({ seq: BigInt(1 + i + Math.floor(r() * 3)), event });
  }
  return { kind: { $case: 'batch', value: { nodeId: s(), bootId: s(), firstSeq: BigInt(Math.floor(r() * 1e6)), lastSeq: BigInt(Math.floor(r() * 1e6)), entries } } };
}

/** Reads every lazy body, so the result compares with a fully decoded request. */
function materialise(req: IngestRequest): unknown {
  if (req.kind?.$case !== 'batch') return req;
  const b = req.kind.value;
  return { kind: { $case: 'batch', value: { ...b, entries: b.entries.map((e) => ({ seq: e.seq, event: e.event })) } } };
}

const outcome = (f: () => unknown): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
};

test('random requests decode to the same IngestRequest; bodies stay encoded until read', () => {
  const r = rng(42);
  for (let i = 0; i < 3000; i++) {
    const req = randomRequest(r);
    const bytes = IngestRequest.encode(req).finish();
    const lazy = decodeIngestRequestLazy(bytes);
    if (lazy.kind?.$case === 'batch') {
      for (const e of lazy.kind.value.entries) {
        assert.ok(e instanceof LazyEntry);
        assert.equal(hasEvent(e), e.event !== undefined, 'hasEvent agrees with the decoded body');
      }
    }
    assert.deepEqual(materialise(lazy), materialise(IngestRequest.decode(bytes)), `request ${i}`);
  }
});

test('corrupted bytes: refused exactly when IngestRequest.decode refuses, and accepted bodies decode', () => {
  const r = rng(7);
  let refused = 0;
  for (let i = 0; i < 4000; i++) {
    const bytes = Buffer.from(IngestRequest.encode(randomRequest(r)).finish());
    if (bytes.length === 0) continue;
    const bad = Buffer.from(bytes);
    const how = r();
    let input: Buffer = bad;
    if (how < 0.4) input = bad.subarray(0, Math.floor(r() * bad.length));
    else {
      const flips = 1 + Math.floor(r() * 3);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(r() * bad.length);
        bad[at] = (bad[at] as number) ^ (1 << Math.floor(r() * 8));
      }
    }
    const want = outcome(() => materialise(IngestRequest.decode(input)));
    const got = outcome(() => materialise(decodeIngestRequestLazy(input)));
    if (!want.ok) refused++;
    assert.equal(got.ok, want.ok, `input ${i} (${input.toString('hex').slice(0, 120)}): generated ${want.ok ? 'accepts' : 'refuses'}, lazy ${got.ok ? 'accepts' : 'refuses'}`);
    if (got.ok && want.ok) assert.deepEqual(got.value, want.value, `input ${i}`);
  }
  assert.ok(refused > 500, `the corruptions must exercise refusals (${refused})`);
});

test('a malformed nested Owner inside an alert body is refused at once', () => {
  const owner = Buffer.from([0x0a, 0x05, 0x61]); // Podowner.Ref claims 5 bytes, has 1
  const alert = Buffer.concat([Buffer.from([0xfa, 0x01, owner.length]), owner]); // Alert.Owner (31)
  const entry = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, alert.length]), alert]);
  const batch = Buffer.concat([Buffer.from([0x12, 0x01, 0x62, 0x18, 0x01, 0x20, 0x01, 0x2a, entry.length]), entry]);
  const req = Buffer.concat([Buffer.from([0x12, batch.length]), batch]);
  assert.throws(() => IngestRequest.decode(req));
  assert.throws(() => decodeIngestRequestLazy(req));
});
