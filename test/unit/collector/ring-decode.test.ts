// Decoder of ring-delivery batches (collector/decode.ts decodeRingBatch): views of the kernel
// ring in ring layout, checked only here. Known records decode as in copy delivery; discarded
// records are skipped; a busy bit or a length past the batch ends it (counted 'frame'); bad
// records are counted and decoding goes on; a file record's paths are reused from the previous
// record only when its bytes, lengths and header flags are equal; a ring record holding a kernel
// batch (several records at 8-byte aligned offsets) decodes every record in it, and a record
// that cannot be walked ends that ring record only; random batches (kernel batches among them)
// never throw and agree with the native checker (pal_ring_batch_check, also fuzzed under ASan).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch, decodeRingBatch, newDecodeCounters } from '../../../collector/decode.js';
import type { CollectorEvent } from '../../../collector/events.js';
import { loadNative } from '../../../collector/native/index.js';
import { batch, connectRecord, execRecord, fileRecord, kernelBatch, ringBatch } from './encode.js';

const ctx = { bootEpochMs: 1_000_000 };
const BUSY = 0x80000000, DISCARD = 0x40000000;

function decodeRing(buf: Buffer): { events: CollectorEvent[]; counters: ReturnType<typeof newDecodeCounters> } {
  const counters = newDecodeCounters();
  const events: CollectorEvent[] = [];
  decodeRingBatch(buf, ctx, counters, (ev) => events.push(ev));
  return { events, counters };
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const paths = (events: CollectorEvent[]): unknown[] => events.map((e) => (e.kind === 'file' ? e.path : e.kind));

describe('collector decoder, ring delivery', () => {
  it('decodes the same events as copy delivery', () => {
    const recs = [
      execRecord('/bin/true', '/usr/bin/true', ['/bin/true', 'a b', ''], { pid: 7, comm: 'true' }),
      fileRecord('/tmp/x/../y/./z', { flags: 4, ret: 3 }),
      fileRecord('/tmp/é//x', { ret: -2 }),
      connectRecord([127, 0, 0, 1], 8080, { ret: -111 }),
    ];
    const ring = decodeRing(ringBatch(recs));
    const copy: CollectorEvent[] = [];
    decodeBatch(batch(recs), ctx, newDecodeCounters(), (ev) => copy.push(ev));
    assert.equal(ring.counters.records, 4);
    assert.deepEqual(ring.events, copy);
    assert.deepEqual(paths(ring.events), ['exec', '/tmp/y/z', '/tmp/é/x', 'network']);
  });

  it('skips discarded records without counting them, and stops at a busy one', () => {
    const a = fileRecord('/etc/a'), b = fileRecord('/etc/b'), c = fileRecord('/etc/c');
    const skipped = decodeRing(ringBatch([a, b, c], [0, DISCARD, 0]));
    assert.deepEqual(paths(skipped.events), ['/etc/a', '/etc/c']);
    assert.equal(Object.values(skipped.counters.bad).reduce((x, y) => x + y, 0), 0);
    const busy = decodeRing(ringBatch([a, b, c], [0, BUSY, 0]));
    assert.deepEqual(paths(busy.events), ['/etc/a']);
    assert.equal(busy.counters.bad.frame, 1);
  });

  it('counts bad records and keeps decoding; stops at a length past the batch', () => {
    const good = fileRecord('/etc/passwd');
    const wrongSize = fileRecord('/etc/hosts');
    wrongSize.writeUInt16LE(17000, 2);
    const badAbi = fileRecord('/etc/y');
    badAbi.writeUInt16LE(7, 4);
    const oversized = fileRecord('/etc/group');
    oversized.writeUInt16LE(9000, 96 + 2);
    const { events, counters } = decodeRing(ringBatch([good, wrongSize, good, badAbi, oversized, good]));
    assert.equal(events.length, 3);
    assert.deepEqual(counters.bad, { short: 0, size: 1, abi: 1, kind: 0, strings: 1, frame: 0 });
    const whole = ringBatch([good, good]);
    const cut = decodeRing(whole.subarray(0, whole.length - 16));
    assert.equal(cut.events.length, 1);
    assert.equal(cut.counters.bad.frame, 1);
    // a tail shorter than a ring header
    const tail = decodeRing(Buffer.concat([ringBatch([good]), Buffer.alloc(5)]));
    assert.equal(tail.events.length, 1);
    assert.equal(tail.counters.bad.frame, 1);
  });

  it('decodes every record of a kernel batch, padded or not, as copy delivery does', () => {
    const recs = [fileRecord('/etc/a'), connectRecord([127, 0, 0, 1], 80), fileRecord('/etc/bb/c', { ret: 3 }), fileRecord('/x')];
    assert.ok(recs.some((r) => r.length % 8 !== 0), 'some record needs padding');
    const ex = execRecord('/bin/true', '/usr/bin/true', ['true']);
    const buf = ringBatch([kernelBatch(recs), ex, kernelBatch(recs.slice(0, 3), true)]);
    const copy: CollectorEvent[] = [];
    decodeBatch(batch([...recs, ex, ...recs.slice(0, 3)]), ctx, newDecodeCounters(), (ev) => copy.push(ev));
    const ring = decodeRing(buf);
    assert.equal(ring.counters.records, 8);
    assert.deepEqual(ring.events, copy);
    assert.equal(Object.values(ring.counters.bad).reduce((x, y) => x + y, 0), 0);
    const nat = loadNative().ringBatchCheck(buf);
    assert.deepEqual(nat, { good: 8, bad: 0 });
  });

  it('a kernel batch record that cannot be walked ends its ring record only, counted once', () => {
    const a = fileRecord('/etc/a'), b = fileRecord('/etc/b');
    const long = fileRecord('/etc/c');
    long.writeUInt16LE(4000, 2); // hdr.size past the ring record
    const tiny = fileRecord('/etc/d');
    tiny.writeUInt16LE(8, 2); // hdr.size shorter than a header
    for (const [bad, reason] of [[long, 'size'], [tiny, 'size']] as const) {
      const buf = ringBatch([kernelBatch([a, bad, b]), kernelBatch([b])]);
      const got = decodeRing(buf);
      assert.deepEqual(paths(got.events), ['/etc/a', '/etc/b']);
      assert.equal(got.counters.bad[reason], 1);
      assert.equal(Object.values(got.counters.bad).reduce((x, y) => x + y, 0), 1);
      assert.deepEqual(loadNative().ringBatchCheck(buf), { good: 2, bad: 1 });
    }
    // a rest shorter than a header after the last record, and an empty ring record: one bad each
    const rest = decodeRing(ringBatch([Buffer.concat([kernelBatch([a]), Buffer.alloc(16)]), Buffer.alloc(0), b]));
    assert.deepEqual(paths(rest.events), ['/etc/a', '/etc/b']);
    assert.equal(rest.counters.bad.short, 2);
  });

  it('reuses the previous record\'s paths only for equal bytes, lengths and header flags', () => {
    const one = fileRecord('/etc/one'), two = fileRecord('/etc/two'), owe = fileRecord('/etc/owe');
    const rel = fileRecord('/etc/one', { flags: 4 });
    const ex = execRecord('/bin/true', '/usr/bin/true', ['true']);
    const got = decodeRing(ringBatch([one, one, two, owe, one, rel, ex, one, fileRecord('/etc/one/')]));
    assert.deepEqual(paths(got.events), ['/etc/one', '/etc/one', '/etc/two', '/etc/owe', '/etc/one', '/etc/one', 'exec', '/etc/one', '/etc/one/']);
    // equal strings for equal bytes (reused or not), and a rename's second path too
    const mv = fileRecord('/a/b', {}, 4);
    mv.writeUInt16LE(2, 96 + 2); mv.writeUInt16LE(2, 96 + 4); // path '/a', path2 '/b'
    const mv2 = fileRecord('/a/c', {}, 4);
    mv2.writeUInt16LE(2, 96 + 2); mv2.writeUInt16LE(2, 96 + 4);
    const r = decodeRing(ringBatch([mv, mv, mv2])).events.map((e) => (e.kind === 'file' ? [e.path, e.path2] : []));
    assert.deepEqual(r, [['/a', '/b'], ['/a', '/b'], ['/a', '/c']]);
  });

  it('never throws on random ring batches and agrees with the native checker', () => {
    const native = loadNative();
    const rnd = seeded(4242);
    const templates = [fileRecord('/usr/lib/x'), execRecord('/bin/sh', '/usr/bin/dash', ['sh', '-c', 'x']), connectRecord([10, 0, 0, 1], 53)];
    let totalGood = 0, totalBad = 0, discarded = 0;
    for (let i = 0; i < 3000; i++) {
      const parts: Buffer[] = [];
      const bits: number[] = [];
      const n = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < n; k++) {
        const t = Buffer.from(templates[Math.floor(rnd() * templates.length)] as Buffer);
        const mode = Math.floor(rnd() * 6);
        bits.push(rnd() < 0.1 ? DISCARD : rnd() < 0.02 ? BUSY : 0);
        if (bits[k] === DISCARD) discarded++;
        if (mode === 1) t[Math.floor(rnd() * t.length)] = Math.floor(rnd() * 256); // corrupt one byte
        if (mode === 2) { parts.push(t.subarray(0, Math.floor(rnd() * t.length))); continue; } // truncated
        if (mode === 3) { const r = Buffer.alloc(Math.floor(rnd() * 300)); for (let j = 0; j < r.length; j++) r[j] = Math.floor(rnd() * 256); parts.push(r); continue; }
        if (mode === 4) { // a kernel batch of 2-4 records, one byte of it maybe corrupted
          const kb = kernelBatch([t, ...Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => templates[Math.floor(rnd() * templates.length)] as Buffer)], rnd() < 0.5);
          if (rnd() < 0.5) kb[Math.floor(rnd() * kb.length)] = Math.floor(rnd() * 256);
          parts.push(kb);
          continue;
        }
        parts.push(t);
      }
      let buf = ringBatch(parts, bits);
      if (rnd() < 0.1) buf = buf.subarray(0, Math.floor(rnd() * buf.length)); // cut the framing
      if (rnd() < 0.05 && buf.length >= 4) buf.writeUInt32LE(Math.floor(rnd() * 0x100000000), 0); // a random length word
      const { events, counters } = decodeRing(buf);
      const badTs = Object.values(counters.bad).reduce((a, b) => a + b, 0);
      const nat = native.ringBatchCheck(buf);
      assert.equal(events.length, nat.good, `batch ${i}: TS decoded ${events.length}, native checker ${nat.good}`);
      assert.equal(badTs, nat.bad, `batch ${i}: bad counts differ`);
      totalGood += events.length;
      totalBad += badTs;
    }
    assert.ok(totalGood > 1000 && totalBad > 1000 && discarded > 100, `${totalGood} good, ${totalBad} bad, ${discarded} discarded`);
  });
});
