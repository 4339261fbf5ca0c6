// The hub: one in-memory ring of published events, shared by every log-stream
// client. Each client is a cursor into the ring plus a filter — its "queue" is the
// matching events between its cursor and the head.
//
// Queue semantics per client:
//   capacity  `clientQueueSize` ring entries behind the head (and never more than
//             the ring holds);
//   overflow  drop_oldest: a client that falls further behind skips forward to
//             head - capacity; the skipped events that match its filter are counted
//             in its `dropped` (reported to the client in-band, once, by the
//             server) and in palisade_relay_client_dropped_events_total{reason="queue_full"};
//   shutdown  close() wakes every client with end-of-stream; what is still queued is
//             delivered by the server until its shutdown deadline.
// Publishing is O(1) per event and never waits for any client: a stalled client
// costs nothing but its cursor. Waking: waiting subscribers are woken on the next
// turn of the event loop after a publish, but not more often than every
// `minWakeIntervalMs`: publishes closer together than that are delivered together by
// one wake-up (one write per client instead of one per ingest batch), so at high rates
// a client waits at most that long more, and at low rates not at all. The ring doubles as the replay buffer for
// palisade.v1 Watch cursors ("<epoch>:<n>"; a cursor from another epoch, or older
// than the oldest retained event, is out of range).
//
// Compact entries (`compact: true`, the relay without scale-out): the ring keeps each
// event's feeder encoding (made once at publish; what feeder clients are sent anyway)
// and its id fields off the JS heap, in an ArenaStore (arena-store.ts: one byte arena
// plus typed arrays per ring slot), not the decoded message nor any object per entry.
// The decoded body (tens of objects and strings per alert) dies young, and nothing the
// ring holds is promoted to the old generation (the relay's GC cost and latency tail at
// 20k events/s). Reading an entry makes a short-lived view; `ev` is rebuilt from the
// bytes on first use (palisade.v1 Watch clients, tenancy filters) and kept with the
// slot; `kind` answers the per-kind stream filter without rebuilding. Without
// `compact`, `ev` is the published object itself (scale-out keys stream ids by that
// object).
// Byte bound (`maxBytes`, compact entries only): the ring also holds at most
// maxBytes of encoded entries (ENTRY_OVERHEAD: the per-entry bookkeeping is
// preallocated per ring slot, outside the bound); publishing past it evicts the
// oldest entries, exactly like ring overwrites (clients behind them skip forward,
// counted; cursors before them are out of range). The newest entry always stays.
import { randomBytes } from 'node:crypto';
import { dropIngestBytes, type EventBody, type RelayEvent } from '../event.js';
import type { Counters } from '../metrics/counters.js';
import { encodeEventTransient } from '../serve/encode.js';
import { ArenaStore } from './arena-store.js';

export type HubEntry = {
  readonly cursor: number;
  readonly ev: RelayEvent;
  /** The body's kind, when the entry knows it without `ev` (compact entries). */
  readonly kind?: EventBody['$case'];
  /** Encodings shared by every client (filled lazily by the servers). */
  feederBytes?: Buffer;
  watchBytes?: Buffer;
  labels?: ReadonlyMap<string, string>;
};

/** The body's kind without rebuilding a compact entry's event. */
export const kindOf = (e: HubEntry): EventBody['$case'] => e.kind ?? e.ev.body.$case;

export type StartAt = { readonly kind: 'live' } | { readonly kind: 'oldest' } | { readonly kind: 'after'; readonly cursor: string };

export type SubscribeResult = { ok: true; sub: Subscription } | { ok: false; reason: 'out_of_range' | 'closed' };

export interface Subscription {
  /** Next matching entry, or undefined when caught up. */
  next(): HubEntry | undefined;
  /** Matching events skipped since the last call (queue overflow); resets to 0. */
  takeDropped(): number;
  /** Called (once per wake-up) when new entries arrive after next() returned undefined, and at close. */
  onWake(fn: () => void): void;
  readonly closed: boolean;
  unsubscribe(): void;
}

export interface Hub {
  publish(events: readonly RelayEvent[]): void;
  subscribe(filter: (e: HubEntry) => boolean, start: StartAt, queueSize?: number): SubscribeResult;
  cursorOf(e: HubEntry): string;
  readonly head: number;
  readonly subscribers: number;
  close(): void;
}

export type HubOptions = {
  readonly ringSize: number;
  readonly clientQueueSize: number;
  readonly counters: Counters;
  /** Keep entries encoded (see the header); default false. */
  readonly compact?: boolean;
  /** Byte bound of the ring with compact entries (see the header); 0 or absent: none. */
  readonly maxBytes?: number;
  /** Least time between two wake-ups of waiting subscribers (see the header); 0 or absent: every publish. */
  readonly minWakeIntervalMs?: number;
};

/** Bytes of the byte bound a compact entry takes besides its encoding: none (its bookkeeping is preallocated per ring slot). */
export const ENTRY_OVERHEAD = 0;
/** The arena's size without a byte bound (it grows only as far as the ring's entries need). */
const UNBOUNDED_ARENA_BYTES = 2 ** 31;

export function createHub(opts: HubOptions): Hub {
  const size = Math.max(opts.ringSize, opts.clientQueueSize, 1);
  const compact = opts.compact === true;
  const ring: Array<HubEntry | undefined> = compact ? [] : new Array<HubEntry | undefined>(size);
  // palisade_relay_hub_arena_bytes: the off-heap arena's size now (it grows with what the ring holds)
  const arenaGauge = (bytes: number): void => opts.counters.set('palisade_relay_hub_arena_bytes', {}, bytes);
  const store = compact ? new ArenaStore(size, opts.maxBytes !== undefined && opts.maxBytes > 0 ? opts.maxBytes : UNBOUNDED_ARENA_BYTES, arenaGauge) : undefined;
  if (store) arenaGauge(store.arenaBytes);
  /** The entry under cursor c if the ring still holds it (compact: a fresh view). */
  const entryAt = (c: number): HubEntry | undefined => {
    if (store) return store.entry(c);
    const e = ring[c % size];
    return e && e.cursor === c ? e : undefined;
  };
  const epoch = randomBytes(6).toString('hex');
  let head = 0; // cursor of the newest entry; cursors start at 1
  let closed = false;
  const subs = new Set<Sub>();
  let wakeScheduled = false;
  let evicted = 0; // cursors <= evicted were dropped by the byte bound
  /** Cursor of the oldest retained entry (may be head + 1 when there is none). */
  const first = (): number => Math.max(head - size + 1, evicted + 1, 1);

  class Sub implements Subscription {
    pos: number; // cursor of the next entry to read
    dropped = 0;
    waiting = false;
    wake: (() => void) | undefined;
    closed = false;
    constructor(readonly filter: (e: HubEntry) => boolean, start: number, readonly cap: number) {
      this.pos = start;
    }
    next(): HubEntry | undefined {
      const oldest = first();
      const oldestAllowed = Math.max(head - this.cap + 1, oldest);
      if (this.pos < oldestAllowed) {
        let skipped = 0;
        for (let c = Math.max(this.pos, oldest); c < oldestAllowed; c++) {
          const e = entryAt(c);
          if (e && this.filter(e)) skipped++;
        }
        // entries already overwritten or evicted before we could look at them: count them all
        skipped += Math.max(0, oldest - this.pos);
        this.pos = oldestAllowed;
        if (skipped > 0) {
          this.dropped += skipped;
          opts.counters.inc('palisade_relay_client_dropped_events_total', { reason: 'queue_full' }, skipped);
        }
      }
      while (this.pos <= head) {
        const e = entryAt(this.pos) as HubEntry;
        this.pos++;
        if (this.filter(e)) return e;
      }
      this.waiting = true;
      return undefined;
    }
    takeDropped(): number {
      const d = this.dropped;
      this.dropped = 0;
      return d;
    }
    onWake(fn: () => void): void {
      this.wake = fn;
    }
    unsubscribe(): void {
      this.closed = true;
      subs.delete(this);
    }
  }

  const minWakeMs = opts.minWakeIntervalMs ?? 0;
  let lastWake = -Infinity;
  function wakeAll(): void {
    wakeScheduled = false;
    if (minWakeMs > 0) lastWake = performance.now();
    for (const s of subs) {
      if (s.waiting && (s.pos <= head || closed)) {
        s.waiting = false;
        s.wake?.();
      }
    }
  }

  return {
    publish(events) {
      if (closed) return;
      for (const ev of events) {
        head++;
        if (!store) {
          // this ring keeps the event itself and encodes its body when a client asks:
          // drop the view of the ingest request, which would otherwise live as long
          dropIngestBytes(ev);
          ring[head % size] = { cursor: head, ev };
          continue;
        }
        // evicts the oldest past the byte bound, never the newest
        const gone = store.put(head, ev, encodeEventTransient(ev), first()); // copied into the arena at once
        if (gone > evicted) evicted = gone;
      }
      if (!wakeScheduled && subs.size > 0) {
        wakeScheduled = true;
        const wait = minWakeMs > 0 ? lastWake + minWakeMs - performance.now() : 0;
        if (wait >= 1) setTimeout(wakeAll, wait);
        else setImmediate(wakeAll);
      }
    },
    subscribe(filter, start, queueSize = opts.clientQueueSize) {
      if (closed) return { ok: false, reason: 'closed' };
      let pos = head + 1;
      if (start.kind === 'oldest') pos = first();
      else if (start.kind === 'after') {
        const m = /^([0-9a-f]+):(\d+)$/.exec(start.cursor);
        const n = m ? Number(m[2]) : NaN;
        if (!m || m[1] !== epoch || !Number.isSafeInteger(n) || n > head || n + 1 < first()) {
          return { ok: false, reason: 'out_of_range' };
        }
        pos = n + 1;
      }
      const s = new Sub(filter, pos, Math.min(queueSize, size));
      subs.add(s);
      return { ok: true, sub: s };
    },
    cursorOf: (e) => `${epoch}:${e.cursor}`,
    get head() {
      return head;
    },
    get subscribers() {
      return subs.size;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const s of subs) {
        s.closed = true;
        s.waiting = false;
        s.wake?.();
      }
    },
  };
}
