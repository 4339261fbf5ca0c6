// Capability records (PAL_KIND_CAP) in the decoder: a known record decodes to the right
// values; truncated, oversized and corrupted ones never throw, are counted, and the TS
// decoder agrees with the native record checker on every random batch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch, newDecodeCounters } from '../../../collector/decode.js';
import type { CollectorEvent } from '../../../collector/events.js';
import { ABI_VERSION, CAP, HDR, KIND } from '../../../collector/layout.js';
import { loadNative } from '../../../collector/native/index.js';
import { batch, fileRecord } from './encode.js';

const ctx = { bootEpochMs: 1_000_000 };

function capRecord(cap: number, ret: number, o: { flags?: number; suppressed?: number; syscall?: number; pid?: number } = {}): Buffer {
  const size = HDR.size + CAP.size;
  const buf = Buffer.alloc(size);
  buf.writeUInt16LE(KIND.cap, HDR.kind);
  buf.writeUInt16LE(size, HDR.recSize);
  buf.writeUInt16LE(ABI_VERSION, HDR.abi);
  buf.writeBigUInt64LE(5_000_000n, HDR.tsNs);
  buf.writeBigUInt64LE(99n, HDR.cgroupId);
  buf.writeUInt32LE(o.pid ?? 4242, HDR.pid);
  buf.writeUInt32LE(o.pid ?? 4242, HDR.tid);
  buf.writeUInt32LE(65534, HDR.uid);
  buf.writeInt32LE(ret, HDR.ret);
  buf.writeUInt32LE(o.syscall ?? 41, HDR.syscall);
  buf.write('capcheck', HDR.comm, 15, 'latin1');
  const b = HDR.size;
  buf.writeUInt32LE(cap, b + CAP.cap);
  buf.writeUInt32LE(o.flags ?? 1, b + CAP.flags);
  buf.writeUInt32LE(4026531837, b + CAP.targetUserns);
  buf.writeUInt32LE(4026531838, b + CAP.capableUserns);
  buf.writeUInt32LE(o.suppressed ?? 0, b + CAP.suppressed);
  return buf;
}

function decodeAll(buf: Buffer): { events: CollectorEvent[]; counters: ReturnType<typeof newDecodeCounters> } {
  const counters = newDecodeCounters();
  const events: CollectorEvent[] = [];
  decodeBatch(buf, ctx, counters, (ev) => events.push(ev));
  return { events, counters };
}

describe('collector decoder: capability records', () => {
  it('decodes the fields', () => {
    const { events, counters } = decodeAll(batch([capRecord(13, -1, { flags: 3, suppressed: 7 }), capRecord(99, 0, { flags: 0, syscall: 0xffffffff })]));
    assert.equal(counters.records, 2);
    const [a, b] = events;
    assert.ok(a?.kind === 'capability' && b?.kind === 'capability');
    assert.equal(a.class, 'capability');
    assert.equal(a.cap, 13);
    assert.equal(a.capName, 'CAP_NET_RAW');
    assert.equal(a.ret, -1);
    assert.equal(a.uid, 65534);
    assert.equal(a.pid, 4242);
    assert.equal(a.syscall, 41);
    assert.equal(a.comm, 'capcheck');
    assert.equal(a.targetUserns, 4026531837);
    assert.equal(a.capableUserns, 4026531838);
    assert.equal(a.ownUserns, true);
    assert.equal(a.realCred, true);
    assert.equal(a.suppressed, 7);
    assert.equal(a.timestamp, 1_000_000 + 5);
    assert.equal(b.capName, 'CAP_99', 'an unknown number is named by its number');
    assert.equal(b.ownUserns, false);
    assert.equal(b.realCred, false);
    assert.equal(b.syscall, -1);
  });

  it('counts short and long capability records and keeps decoding', () => {
    const good = capRecord(21, 0);
    const short = capRecord(21, 0).subarray(0, HDR.size + CAP.size - 4);
    short.writeUInt16LE(short.length, HDR.recSize);
    const long = Buffer.concat([capRecord(21, 0), Buffer.alloc(8)]);
    long.writeUInt16LE(long.length, HDR.recSize);
    const buf = batch([short, good, long, good]);
    const { events, counters } = decodeAll(buf);
    assert.equal(events.length, 2);
    assert.equal(counters.bad.short, 1);
    assert.equal(counters.bad.strings, 1);
    assert.deepEqual(loadNative().batchCheck(buf), { good: 2, bad: 2 });
  });

  it('never throws on random batches with capability records and agrees with the native checker', () => {
    const native = loadNative();
    let s = 99991;
    const rnd = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
    const templates = [capRecord(13, 0), capRecord(21, -1, { suppressed: 3 }), fileRecord('/etc/passwd')];
    let good = 0, bad = 0;
    for (let i = 0; i < 2000; i++) {
      const parts: Buffer[] = [];
      const n = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < n; k++) {
        const t = Buffer.from(templates[Math.floor(rnd() * templates.length)] as Buffer);
        const mode = Math.floor(rnd() * 4);
        if (mode === 1) t[Math.floor(rnd() * t.length)] = Math.floor(rnd() * 256);
        if (mode === 2) { parts.push(t.subarray(0, Math.floor(rnd() * t.length))); continue; }
        if (mode === 3) { const r = Buffer.alloc(Math.floor(rnd() * 200)); for (let j = 0; j < r.length; j++) r[j] = Math.floor(rnd() * 256); parts.push(r); continue; }
        parts.push(t);
      }
      let buf = batch(parts);
      if (rnd() < 0.1) buf = buf.subarray(0, Math.floor(rnd() * buf.length));
      const { events, counters } = decodeAll(buf);
      const badTs = Object.values(counters.bad).reduce((a, b) => a + b, 0);
      const nat = native.batchCheck(buf);
      assert.equal(events.length, nat.good, `batch ${i}: TS ${events.length} good, native ${nat.good}`);
      assert.equal(badTs, nat.bad, `batch ${i}: bad counts differ`);
      good += events.filter((e) => e.kind === 'capability').length;
      bad += badTs;
    }
    assert.ok(good > 500 && bad > 500, `exercised (${good} capability records decoded, ${bad} bad)`);
  });
});
