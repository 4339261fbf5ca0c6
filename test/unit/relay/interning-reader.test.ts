// relay/ingest/interning-reader.ts: decoding through the cache gives exactly what the
// generated decoder gives (hits, misses, slot collisions, invalid UTF-8, long and empty
// strings, truncated input), and repeated strings come back as the same cached strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { InterningReader, StringCache } from '../../../relay/ingest/interning-reader.js';
import { seededRandom } from '../../support/prng.js';

test('decoding through the cache equals the plain decode, for random and repeated strings', () => {
  const rnd = seededRandom(0x1e7e);
  const pool = ['', 'a', 'kube-system', 'c'.repeat(64), 'ü-non-ascii-ß', 'x'.repeat(96), 'y'.repeat(97), 'z'.repeat(300)];
  const pick = (): string => (rnd() < 0.7 ? pool[Math.floor(rnd() * pool.length)] as string : Math.floor(rnd() * 1e9).toString(36).repeat(1 + Math.floor(rnd() * 12)));
  const cache = new StringCache();
  for (let i = 0; i < 3000; i++) {
    const a = Alert.create({ HostName: pick(), ContainerID: pick(), PolicyName: pick(), Resource: pick(), Data: pick(), Source: pick(), PID: i });
    const bytes = Alert.encode(a).finish();
    assert.deepEqual(Alert.decode(new InterningReader(bytes, cache)), Alert.decode(bytes), `alert ${i}`);
  }
  assert.ok(cache.hits > 5000, `hits ${cache.hits}`);
  assert.ok(cache.misses > 1000, `misses ${cache.misses}`);
});

test('a hit returns the cached string; same-length strings that share a slot never mix', () => {
  const cache = new StringCache();
  const first = Alert.decode(new InterningReader(Alert.encode(Alert.create({ ContainerID: 'c'.repeat(64) })).finish(), cache));
  const again = Alert.decode(new InterningReader(Alert.encode(Alert.create({ ContainerID: 'c'.repeat(64) })).finish(), cache));
  assert.equal(again.ContainerID, first.ContainerID);
  assert.equal(cache.hits, 1);
  // many distinct 8-byte strings: more than the slots, so slots are reused
  for (let i = 0; i < 20_000; i++) {
    const s = i.toString(16).padStart(8, '0');
    assert.equal(Alert.decode(new InterningReader(Alert.encode(Alert.create({ PolicyName: s })).finish(), cache)).PolicyName, s);
  }
});

test('long strings that differ only outside the hashed bytes share a slot and still never mix', () => {
  const cache = new StringCache();
  // 40 bytes: the slot hashes bytes 0-7, 16-23 and 32-39; these differ only in bytes 10-13 and 26-29
  const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
  const base = '/opt/vendor/x86_64-linux/libexample.so.1'; // 40 bytes
  const values = Array.from({ length: 50 }, (_, i) => base.slice(0, 10) + hex4(i) + base.slice(14, 26) + hex4(i * 7) + base.slice(30));
  assert.ok(values.every((v) => v.length === 40));
  for (let round = 0; round < 4; round++) {
    for (const v of values) {
      const got = Alert.decode(new InterningReader(Alert.encode(Alert.create({ ProcessName: v, Resource: v })).finish(), cache));
      assert.equal(got.ProcessName, v);
      assert.equal(got.Resource, v);
    }
  }
  assert.ok(cache.misses >= 4 * 50, `they share one slot, so every change of value misses: ${cache.misses}`);
});

test('invalid UTF-8 and truncated input behave as in the plain decoder', () => {
  const cache = new StringCache();
  // field 2 (HostName... any string field) with invalid UTF-8 bytes, twice (miss then hit)
  const bad = Buffer.from([0x12, 0x04, 0xff, 0xfe, 0x41, 0xc3]);
  for (let k = 0; k < 2; k++) assert.deepEqual(Alert.decode(new InterningReader(bad, cache)), Alert.decode(bad));
  const cut = Buffer.from([0x12, 0x08, 0x41, 0x42]); // length 8, 2 bytes present
  assert.throws(() => Alert.decode(cut));
  assert.throws(() => Alert.decode(new InterningReader(cut, cache)));
});
