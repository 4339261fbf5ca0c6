// Decoder tests: known records decode to the right values; random, truncated and
// oversized records never throw, are counted as bad, and the records after them still decode.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch, formatIPv6, newDecodeCounters } from '../../../collector/decode.js';
import type { CollectorEvent } from '../../../collector/events.js';
import { loadNative } from '../../../collector/native/index.js';
import { batch, connectRecord, execRecord, fileRecord } from './encode.js';

const ctx = { bootEpochMs: 1_000_000 };

function decodeAll(buf: Buffer): { events: CollectorEvent[]; counters: ReturnType<typeof newDecodeCounters> } {
  const counters = newDecodeCounters();
  const events: CollectorEvent[] = [];
  decodeBatch(buf, ctx, counters, (ev) => events.push(ev));
  return { events, counters };
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

describe('collector decoder', () => {
  it('decodes exec, file and network records', () => {
    const { events, counters } = decodeAll(batch([
      execRecord('/bin/true', '/usr/bin/true', ['/bin/true', 'a b', ''], { pid: 7, comm: 'true' }),
      fileRecord('/tmp/x/../y/./z', { flags: 4, ret: 3 }),
      connectRecord([127, 0, 0, 1], 8080, { ret: -111 }),
    ]));
    assert.equal(counters.records, 3);
    const [ex, fl, net] = events;
    assert.ok(ex?.kind === 'exec');
    assert.equal(ex.pid, 7);
    assert.equal(ex.comm, 'true');
    assert.equal(ex.filename, '/bin/true');
    assert.equal(ex.path, '/usr/bin/true');
    assert.deepEqual(ex.argv, ['/bin/true', 'a b', '']);
    assert.equal(ex.timestamp, 1_000_000 + 123456789 / 1e6);
    assert.ok(fl?.kind === 'file');
    assert.equal(fl.path, '/tmp/y/z', 'relative joins are normalised');
    assert.equal(fl.op, 'open');
    assert.equal(fl.ret, 3);
    assert.ok(net?.kind === 'network');
    assert.deepEqual(net.remote, { address: '127.0.0.1', port: 8080 });
    assert.equal(net.ret, -111);
  });

  it('reuses the previous frame\'s paths only when the native side flagged the record', () => {
    const SAME = 0x20000000;
    const a = fileRecord('/etc/one'), b = fileRecord('/etc/two'), ex = execRecord('/bin/true', '/usr/bin/true', ['true']);
    const paths = (buf: Buffer): unknown[] => decodeAll(buf).events.map((e) => (e.kind === 'file' ? e.path : e.kind));
    // the flag is trusted (the native side compared the bytes): a flagged record gets the previous paths
    assert.deepEqual(paths(batch([a, b], [0, SAME])), ['/etc/one', '/etc/one']);
    // ... but never from before the batch, across a non-file frame, or across a bad frame
    assert.deepEqual(paths(batch([b], [SAME])), ['/etc/two']);
    assert.deepEqual(paths(batch([a, ex, b], [0, 0, SAME])), ['/etc/one', 'exec', '/etc/two']);
    assert.deepEqual(paths(batch([a, a.subarray(0, 50), b], [0, 0, SAME])), ['/etc/one', '/etc/two']);
  });

  it('formats IPv6 addresses', () => {
    const a = new Uint8Array(16); a[15] = 1;
    assert.equal(formatIPv6(a), '::1');
    const m = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2]);
    assert.equal(formatIPv6(m), '::ffff:10.0.0.2');
    const g = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 5]);
    assert.equal(formatIPv6(g), '2001:db8::1:0:0:5');
  });

  it('counts truncated, oversized and unknown records and keeps decoding after them', () => {
    const good = fileRecord('/etc/passwd');
    const truncated = fileRecord('/etc/shadow').subarray(0, 100);
    const oversized = fileRecord('/etc/group');
    oversized.writeUInt16LE(9000, 96 + 2); // path_len past the record
    const wrongSize = fileRecord('/etc/hosts');
    wrongSize.writeUInt16LE(17000, 2);
    const unknownKind = fileRecord('/etc/x');
    unknownKind.writeUInt16LE(99, 0);
    const badAbi = fileRecord('/etc/y');
    badAbi.writeUInt16LE(7, 4);
    const { events, counters } = decodeAll(batch([truncated, good, oversized, good, wrongSize, unknownKind, badAbi, good]));
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.kind === 'file' && e.path === '/etc/passwd'));
    assert.deepEqual(counters.bad, { short: 0, size: 2, abi: 1, kind: 1, strings: 1, frame: 0 });
  });

  it('stops at a frame running past the batch and counts it', () => {
    const b = batch([fileRecord('/a'), fileRecord('/b')]);
    const cut = b.subarray(0, b.length - 5);
    const { events, counters } = decodeAll(cut);
    assert.equal(events.length, 1);
    assert.equal(counters.bad.frame, 1);
  });

  it('never throws on random batches and agrees with the native checker', () => {
    const native = loadNative();
    const rnd = seeded(12345);
    const templates = [fileRecord('/usr/lib/x'), execRecord('/bin/sh', '/usr/bin/dash', ['sh', '-c', 'x']), connectRecord([10, 0, 0, 1], 53)];
    let totalGood = 0, totalBad = 0;
    for (let i = 0; i < 3000; i++) {
      const parts: Buffer[] = [];
      const n = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < n; k++) {
        const t = Buffer.from(templates[Math.floor(rnd() * templates.length)] as Buffer);
        const mode = Math.floor(rnd() * 4);
        if (mode === 1) t[Math.floor(rnd() * t.length)] = Math.floor(rnd() * 256); // corrupt one byte
        if (mode === 2) { parts.push(t.subarray(0, Math.floor(rnd() * t.length))); continue; } // truncated
        if (mode === 3) { const r = Buffer.alloc(Math.floor(rnd() * 300)); for (let j = 0; j < r.length; j++) r[j] = Math.floor(rnd() * 256); parts.push(r); continue; }
        parts.push(t);
      }
      let buf = batch(parts);
      if (rnd() < 0.1) buf = buf.subarray(0, Math.floor(rnd() * buf.length)); // cut framing
      const { events, counters } = decodeAll(buf);
      const badTs = Object.values(counters.bad).reduce((a, b) => a + b, 0);
      const nat = native.batchCheck(buf);
      assert.equal(events.length, nat.good, `batch ${i}: TS decoded ${events.length}, native checker ${nat.good}`);
      assert.equal(badTs, nat.bad, `batch ${i}: bad counts differ`);
      totalGood += events.length;
      totalBad += badTs;
    }
    assert.ok(totalGood > 1000 && totalBad > 1000);
  });
});
