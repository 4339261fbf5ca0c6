// The compact hub's off-heap store (relay/hub/arena-store.ts) against a plain model:
// random event sizes, ring sizes and byte bounds, with the arena wrapping, skipping a
// lap's short tail and growing. After every publish the retained entries must be a
// contiguous run ending at the head, each with exactly its own encoding and id fields,
// within the ring size and the byte bound (one entry alone may exceed it: the newest
// always stays); a live reader must get every event once or see it counted as dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Alert } from '../../../proto/gen/feeder/kubearmor.js';
import { createHub, type HubEntry } from '../../../relay/hub/hub.js';
import { createCounters } from '../../../relay/metrics/counters.js';
import type { RelayEvent } from '../../../relay/event.js';
import { alertEvent } from './helpers.js';
import { seededRandom } from '../../support/prng.js';

/** Deterministic PRNG, so a failure can be replayed from its seed. */
const rng = seededRandom;

const encodedSize = (ev: RelayEvent): number => Alert.encode(ev.body.value as Alert).finish().length;

test('random sizes, ring sizes and byte bounds: retained entries are intact, bounded and contiguous', () => {
  for (let trial = 0; trial < 40; trial++) {
    const r = rng(1000 + trial);
    const ringSize = 3 + Math.floor(r() * 120);
    const maxBytes = 300 + Math.floor(r() * 30_000);
    const hub = createHub({ ringSize, clientQueueSize: ringSize, counters: createCounters(), compact: true, maxBytes });
    const reader = hub.subscribe(() => true, { kind: 'live' });
    assert.ok(reader.ok);
    const published: RelayEvent[] = [];
    let got = 0;
    let dropped = 0;
    for (let i = 1; i <= 600; i++) {
      const big = r() < 0.02;
      const dataLen = big ? maxBytes + Math.floor(r() * 1000) : Math.floor(r() * Math.min(3000, maxBytes / 3));
      const ev = alertEvent(i, { Data: 'd'.repeat(dataLen), ContainerID: `c${i % 7}` }, `node-${i % 3}`);
      ev.count = 1 + (i % 4);
      ev.enriched = i % 5 !== 0;
      published.push(ev);
      hub.publish([ev]);
      // a live reader that reads every few publishes
      if (r() < 0.3) {
        for (let k = 0; k < 10_000; k++) {
          const e: HubEntry | undefined = reader.sub.next();
          if (!e) break;
          assert.equal(Number(e.ev.seq), Number(published[e.cursor - 1]?.seq), `trial ${trial}: reader got cursor ${e.cursor} with the wrong event`);
          got++;
        }
        dropped += reader.sub.takeDropped();
      }
      const all = hub.subscribe(() => true, { kind: 'oldest' });
      assert.ok(all.ok);
      const kept: HubEntry[] = [];
      for (let k = 0; k < ringSize + 1; k++) {
        const e = all.sub.next();
        if (!e) break;
        kept.push(e);
      }
      all.sub.unsubscribe();
      const where = `trial ${trial} (ring ${ringSize}, bound ${maxBytes}) after ${i}`;
      assert.ok(kept.length >= 1 && kept.length <= ringSize, `${where}: ${kept.length} kept`);
      assert.equal(kept.at(-1)?.cursor, i, `${where}: the newest is kept`);
      let bytes = 0;
      for (const [j, e] of kept.entries()) {
        assert.equal(e.cursor, i - kept.length + 1 + j, `${where}: contiguous cursors`);
        const want = published[e.cursor - 1] as RelayEvent;
        assert.deepEqual(e.feederBytes, Buffer.from(Alert.encode(want.body.value as Alert).finish()), `${where}: bytes of cursor ${e.cursor}`);
        assert.equal(e.kind, 'alert');
        assert.equal(e.ev.nodeId, want.nodeId);
        assert.equal(e.ev.seq, want.seq);
        assert.equal(e.ev.count, want.count);
        assert.equal(e.ev.enriched, want.enriched);
        bytes += encodedSize(want);
      }
      if (kept.length > 1) assert.ok(bytes <= maxBytes, `${where}: ${bytes} bytes kept over the bound`);
    }
    for (let k = 0; k < 10_000; k++) {
      if (!reader.sub.next()) break;
      got++;
    }
    dropped += reader.sub.takeDropped();
    assert.equal(got + dropped, published.length, `trial ${trial}: every event read once or counted as dropped`);
  }
});

test('the arena grows to the bound instead of evicting: a ring of small events keeps them all', () => {
  const counters = createCounters();
  const hub = createHub({ ringSize: 5000, clientQueueSize: 5000, counters, compact: true, maxBytes: 64 * 1024 * 1024 });
  assert.equal(counters.get('palisade_relay_hub_arena_bytes'), 1024 * 1024, 'the arena starts at 1 MiB');
  const evs = Array.from({ length: 5000 }, (_, i) => alertEvent(i + 1, { Data: 'x'.repeat(400 + (i % 300)) }));
  hub.publish(evs);
  const all = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(all.ok);
  let n = 0;
  for (let e = all.sub.next(); e; e = all.sub.next()) {
    assert.equal(Number(e.ev.seq), n + 1);
    assert.deepEqual(e.feederBytes, Buffer.from(Alert.encode(evs[n]?.body.value as Alert).finish()), `bytes of cursor ${e.cursor} after the arena grew`);
    n++;
  }
  assert.equal(n, 5000, 'nothing was evicted: about 3.5 MB of events fit once the 1 MiB arena grew');
});

test('the arena grows by half, so it stays within ~1.5x of what the ring holds', () => {
  // ~2.1 MiB of entries: doubling would make the arena 4 MiB (1 -> 2 -> 4); growing by half,
  // 2.25 MiB (1 -> 1.5 -> 2.25)
  const counters = createCounters();
  const hub = createHub({ ringSize: 10_000, clientQueueSize: 10_000, counters, compact: true, maxBytes: 64 * 1024 * 1024 });
  let held = 0;
  for (let i = 0; held < 2.1 * 1024 * 1024; i++) {
    const ev = alertEvent(i + 1, { Data: 'y'.repeat(300 + (i % 500)) });
    hub.publish([ev]);
    held += encodedSize(ev);
  }
  const arena = counters.get('palisade_relay_hub_arena_bytes');
  assert.ok(arena >= held && arena <= 1.5 * held, `arena ${arena} bytes for ${held} bytes of entries`);
});

test('entries read through the hub keep watch bytes and labels per entry', () => {
  const hub = createHub({ ringSize: 4, clientQueueSize: 4, counters: createCounters(), compact: true, maxBytes: 1 << 20 });
  hub.publish([alertEvent(1), alertEvent(2)]);
  const a = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(a.ok);
  const e1 = a.sub.next() as HubEntry;
  e1.watchBytes = Buffer.from('w1');
  e1.labels = new Map([['k', 'v']]);
  const b = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(b.ok);
  const again = b.sub.next() as HubEntry;
  assert.notEqual(again, e1, 'a fresh view per read');
  assert.deepEqual(again.watchBytes, Buffer.from('w1'));
  assert.deepEqual(again.labels, new Map([['k', 'v']]));
  assert.equal(again.ev, e1.ev, 'the rebuilt event is kept with the slot');
  const second = b.sub.next() as HubEntry;
  assert.equal(second.watchBytes, undefined);
  // the slot is reused by cursor 5: its caches are cleared
  hub.publish([alertEvent(3), alertEvent(4), alertEvent(5)]);
  const c = hub.subscribe(() => true, { kind: 'oldest' });
  assert.ok(c.ok);
  const seen = [];
  for (let e = c.sub.next(); e; e = c.sub.next()) seen.push([e.cursor, e.watchBytes]);
  assert.deepEqual(seen, [[2, undefined], [3, undefined], [4, undefined], [5, undefined]]);
});
