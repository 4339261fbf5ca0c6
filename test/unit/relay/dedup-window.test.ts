import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDedupWindow } from '../../../relay/ingest/dedup-window.js';
import { createTokenBucket } from '../../../relay/ingest/token-bucket.js';

test('contiguous commits advance the ack; duplicates are recognised', () => {
  const d = createDedupWindow({ window: 1000 });
  assert.equal(d.acked('n', 'b'), 0n);
  assert.equal(d.commit('n', 'b', 1n, 10n), 10n);
  assert.equal(d.isDuplicate('n', 'b', 5n), true);
  assert.equal(d.isDuplicate('n', 'b', 11n), false);
  assert.equal(d.isDuplicate('n', 'other-boot', 5n), false);
  assert.equal(d.commit('n', 'b', 5n, 20n), 20n);
  assert.equal(d.commit('n', 'b', 1n, 3n), 20n, 'acks never go backwards');
});

test('out-of-order ranges wait for the gap, then the ack jumps', () => {
  const d = createDedupWindow({ window: 1000 });
  d.commit('n', 'b', 1n, 10n);
  assert.equal(d.commit('n', 'b', 21n, 30n), 10n);
  assert.equal(d.commit('n', 'b', 41n, 50n), 10n);
  assert.equal(d.isDuplicate('n', 'b', 25n), true);
  assert.equal(d.isDuplicate('n', 'b', 35n), false);
  assert.equal(d.commit('n', 'b', 31n, 40n), 10n);
  assert.equal(d.isDuplicate('n', 'b', 35n), true);
  assert.equal(d.commit('n', 'b', 11n, 20n), 50n);
});

test('the window and the range count bound what is tracked', () => {
  const d = createDedupWindow({ window: 100, maxRanges: 2 });
  d.commit('n', 'b', 1n, 10n);
  assert.deepEqual(d.admit('n', 'b', 11n, 110n), { ok: true });
  assert.deepEqual(d.admit('n', 'b', 11n, 111n), { ok: false, reason: 'too_far_ahead' });
  d.commit('n', 'b', 20n, 20n);
  d.commit('n', 'b', 30n, 30n);
  assert.deepEqual(d.admit('n', 'b', 40n, 40n), { ok: false, reason: 'too_fragmented' });
  assert.deepEqual(d.admit('n', 'b', 11n, 19n), { ok: true }, 'filling from the ack is always admitted');
});

test('least recently used spaces are evicted and counted', () => {
  let evicted = 0;
  const d = createDedupWindow({ window: 100, maxSpaces: 2, onEvict: () => { evicted++; } });
  d.commit('a', '1', 1n, 1n);
  d.commit('b', '1', 1n, 1n);
  d.commit('a', '1', 2n, 2n);
  d.commit('c', '1', 1n, 1n);
  assert.equal(evicted, 1);
  assert.equal(d.size, 2);
  assert.equal(d.acked('a', '1'), 2n);
  assert.equal(d.acked('b', '1'), 0n);
});

test('token bucket refills with the clock and refuses what can never fit', () => {
  let t = 0;
  const b = createTokenBucket(10, 10, () => t);
  assert.deepEqual(b.take(10), { ok: true });
  assert.deepEqual(b.take(1), { ok: false, waitMs: 100, never: false });
  t = 500;
  assert.deepEqual(b.take(5), { ok: true });
  assert.deepEqual(b.take(11), { ok: false, waitMs: 0, never: true });
});
