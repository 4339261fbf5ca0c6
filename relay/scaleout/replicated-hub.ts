// A Hub (relay/hub/hub.ts) for a replica in a Redis scale-out: the local hub holds
// what this replica's stream reader delivered (every replica's events, in stream
// order); cursors are Redis Stream ids, valid on every replica.
//
// Resume with no gap: subscribe(filter, {kind:'after', cursor}) pages through the
// stream after the cursor (XRANGE, `pageSize` entries per page, fetched only when
// the client has consumed the previous page: a slow client costs no memory). Before
// each page it (re)subscribes to the local hub live; when a page comes back empty it
// switches to that live subscription, skipping entries with ids <= the last one
// replayed. Every id > cursor is therefore delivered exactly once: ids appended
// after the empty page reach the local hub after the live subscription began.
// A cursor must be checked first (checkCursor: trimmed → tell the client,
// OUT_OF_RANGE); an unchecked or unknown cursor is `out_of_range`. If trimming
// overtakes a replay, the lost entries are counted exactly (stream positions) and
// reported through takeDropped() — an upper bound for this client, since its
// filter cannot be applied to entries that are gone.
// A Redis error during replay is retried (3 tries, backoff); then the subscription
// closes (the stream ends) and palisade_relay_scaleout_errors_total{op="replay"} counts it.
import type { Hub, HubEntry, StartAt, SubscribeResult, Subscription } from '../hub/hub.js';
import type { Counters } from '../metrics/counters.js';
import { compareIds, type StreamEntry } from './codec.js';
import type { CursorCheck, EventStream } from './event-stream.js';

export interface ReplicatedHub extends Hub {
  /** Must precede subscribe() with {kind:'after'}: ok, 'trimmed' (events after it are gone) or 'unknown'. */
  checkCursor(cursor: string): Promise<CursorCheck>;
}

const MAX_CHECKED = 10_000;

export function createReplicatedHub(local: Hub, stream: EventStream, counters: Counters, pageSize = 1_000): ReplicatedHub {
  const checked = new Map<string, number>(); // cursor -> its stream position, until subscribe() uses it

  class ReplaySub implements Subscription {
    private buf: StreamEntry[] = [];
    private replaying = true;
    private fetching = false;
    private failed = false;
    private dropped = 0;
    private wake: (() => void) | undefined;
    constructor(private live: Subscription, private readonly filter: (e: HubEntry) => boolean, private lastId: string, private lastX: number, private readonly oldest: boolean, private readonly queueSize: number | undefined) {}

    get closed(): boolean {
      return this.failed || this.live.closed;
    }

    next(): HubEntry | undefined {
      while (this.replaying) {
        const e = this.buf.shift();
        if (e) {
          const h: HubEntry = { cursor: 0, ev: e.ev };
          if (this.filter(h)) return h;
          continue;
        }
        if (!this.fetching && !this.failed) void this.fetch();
        return undefined;
      }
      for (let h = this.live.next(); h !== undefined; h = this.live.next()) {
        const id = stream.idOf(h.ev);
        if (id === undefined || compareIds(id, this.lastId) > 0) return h;
      }
      return undefined;
    }

    private async fetch(): Promise<void> {
      this.fetching = true;
      // A fresh live subscription before every page: when a page comes back empty,
      // the live one began before it was read, so nothing falls between them; and
      // the live queue only ever holds what arrived during one page fetch.
      const l = local.subscribe(this.filter, { kind: 'live' }, this.queueSize);
      this.live.unsubscribe();
      if (!l.ok) {
        this.fetching = false;
        this.failed = true;
        this.wake?.();
        return;
      }
      this.live = l.sub;
      if (this.wake) this.live.onWake(this.wake);
      let page: StreamEntry[] | undefined;
      for (let attempt = 0; attempt < 3 && page === undefined && !this.live.closed; attempt++) {
        try {
          page = await stream.range(this.lastId, pageSize);
        } catch {
          counters.inc('palisade_relay_scaleout_errors_total', { op: 'replay' });
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
      this.fetching = false;
      if (page === undefined) {
        this.failed = true;
        this.live.unsubscribe();
      } else if (page.length === 0) {
        this.replaying = false;
      } else {
        const first = page[0] as StreamEntry;
        if (this.oldest) this.lastX = first.x - 1;
        if (first.x > this.lastX + 1) {
          const lost = first.x - this.lastX - 1;
          this.dropped += lost;
          counters.inc('palisade_relay_scaleout_resume_lost_events_total', {}, lost);
        }
        const tail = page[page.length - 1] as StreamEntry;
        this.lastId = tail.id;
        this.lastX = tail.x;
        this.buf = page;
        counters.inc('palisade_relay_scaleout_replayed_events_total', {}, page.length);
      }
      this.wake?.();
    }

    takeDropped(): number {
      const d = this.dropped + this.live.takeDropped();
      this.dropped = 0;
      return d;
    }

    onWake(fn: () => void): void {
      this.wake = fn;
      this.live.onWake(fn);
    }

    unsubscribe(): void {
      this.live.unsubscribe();
    }
  }

  function subscribe(filter: (e: HubEntry) => boolean, start: StartAt, queueSize?: number): SubscribeResult {
    if (start.kind === 'live') return local.subscribe(filter, start, queueSize);
    let after = '0-0';
    let x = 0;
    if (start.kind === 'after') {
      const cx = checked.get(start.cursor);
      if (cx === undefined) return { ok: false, reason: 'out_of_range' };
      checked.delete(start.cursor);
      after = start.cursor;
      x = cx;
    }
    const live = local.subscribe(filter, { kind: 'live' }, queueSize);
    if (!live.ok) return live;
    return { ok: true, sub: new ReplaySub(live.sub, filter, after, x, start.kind === 'oldest', queueSize) };
  }

  return {
    publish: (events) => local.publish(events),
    subscribe,
    cursorOf: (e) => stream.idOf(e.ev) ?? local.cursorOf(e),
    get head() {
      return local.head;
    },
    get subscribers() {
      return local.subscribers;
    },
    close: () => local.close(),
    async checkCursor(cursor) {
      const r = await stream.checkCursor(cursor);
      if (r.ok) {
        if (checked.size >= MAX_CHECKED) checked.delete(checked.keys().next().value as string);
        checked.set(cursor, r.x);
      }
      return r;
    },
  };
}
