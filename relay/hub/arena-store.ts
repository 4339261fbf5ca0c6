// Compact hub storage off the JS heap: the ring's entries as feeder encodings in one
// byte arena, their id fields in typed arrays indexed by ring slot.
//
// Why: at 20k events/s the ring (50,000 entries by default) holds every event for
// seconds. As JS objects (an entry, a Buffer, two BigInts each) they all survive the
// young generation, are promoted, and make V8 run a mark-compact over ~60 MB every
// 1-2 s; the concurrent marking then competes with the relay for the same 2 cores and
// the pauses showed up as the tail of the end-to-end latency (bench/relay, BENCH_TRACE).
// Here an entry costs no heap object at all while it waits: `entry(cursor)` makes a
// small short-lived view object for each read, which dies young.
//
// Arena: `bytes` is used as a circular log addressed by a virtual position that only
// grows (`vpos`). An entry is written contiguously at vstart % bytes.length (when it
// would straddle the end, the rest of that lap is skipped). An entry is intact while
// vstart >= vend - bytes.length, vend being the end of the newest entry; put() reports
// the newest cursor whose bytes it overwrote (`evictedThrough`), and the hub treats
// every cursor up to it as gone (like the byte bound it replaces). The arena starts
// at 1 MiB and grows by half (copying the retained entries) instead of evicting while
// it is smaller than `maxBytes`, so memory follows what the ring really holds: doubling
// left it up to twice that, all of it touched as the ring laps (bench/relay at overload,
// 2026-12-01: ~25 MiB of entries, a 32 MiB arena when doubling, 25.8 MiB now). An entry
// larger than `maxBytes` is kept as its own Buffer and counts as a full arena (the
// newest entry always stays; the next put evicts it).
//
// Views: `feederBytes` of a view is a subarray of the arena, valid until the hub
// publishes again past the byte bound. Every reader copies it at once (the stream
// pump frames each batch into a new buffer before returning to the event loop; the
// grpc-js fallback frames each message into a new buffer in write()).
// Ring slots: slot = cursor % ringSize; the slot's `cursor` field tells whether it
// still holds that cursor.
import { Alert, Log, Message } from '../../proto/gen/feeder/kubearmor.js';
import type { EventBody, RelayEvent } from '../event.js';

const KINDS: ReadonlyArray<EventBody['$case']> = ['alert', 'log', 'message'];
const KIND_CODE: Readonly<Record<EventBody['$case'], number>> = { alert: 0, log: 1, message: 2 };
const FIRST_ARENA_BYTES = 1024 * 1024;
/** Each growth makes the arena this much larger (rounded up to ARENA_STEP_BYTES). */
const ARENA_GROWTH = 1.5;
const ARENA_STEP_BYTES = 64 * 1024;
/** Interned (node id, boot id) pairs before the table is rebuilt from live slots. */
const MAX_IDS = 1 << 16;

/** What a hub reader sees of one stored entry (see HubEntry in hub.ts). */
export type StoredEntry = {
  readonly cursor: number;
  readonly kind: EventBody['$case'];
  readonly ev: RelayEvent;
  feederBytes: Buffer;
  watchBytes?: Buffer;
  labels?: ReadonlyMap<string, string>;
};

function decodeBody(kind: EventBody['$case'], b: Uint8Array): EventBody {
  switch (kind) {
    case 'alert': return { $case: 'alert', value: Alert.decode(b) };
    case 'log': return { $case: 'log', value: Log.decode(b) };
    case 'message': return { $case: 'message', value: Message.decode(b) };
  }
}

export class ArenaStore {
  private bytes: Buffer;
  private vpos = 0;
  private readonly cursorAt: Float64Array;
  private readonly vstart: Float64Array;
  private readonly len: Uint32Array;
  private readonly kind: Uint8Array;
  private readonly enriched: Uint8Array;
  private readonly count: Float64Array;
  private readonly seq: BigUint64Array;
  private readonly receivedAt: BigInt64Array;
  private readonly idIx: Uint32Array;
  /** Entries larger than maxBytes, and the lazily filled per-entry caches (rarely used: palisade.v1 Watch, tenancy). */
  private readonly big: Array<Buffer | undefined>;
  private readonly watch: Array<Buffer | undefined>;
  private readonly labels: Array<ReadonlyMap<string, string> | undefined>;
  private readonly rebuilt: Array<RelayEvent | undefined>;
  private ids = new Map<string, number>();
  private nodeIds: string[] = [];
  private bootIds: string[] = [];

  /** onGrow: told the arena's new size after each growth (a gauge). */
  constructor(private readonly slots: number, private readonly maxBytes: number, private readonly onGrow?: (bytes: number) => void) {
    this.bytes = Buffer.allocUnsafeSlow(Math.min(FIRST_ARENA_BYTES, maxBytes));
    this.cursorAt = new Float64Array(slots);
    this.vstart = new Float64Array(slots);
    this.len = new Uint32Array(slots);
    this.kind = new Uint8Array(slots);
    this.enriched = new Uint8Array(slots);
    this.count = new Float64Array(slots);
    this.seq = new BigUint64Array(slots);
    this.receivedAt = new BigInt64Array(slots);
    this.idIx = new Uint32Array(slots);
    this.big = new Array<Buffer | undefined>(slots);
    this.watch = new Array<Buffer | undefined>(slots);
    this.labels = new Array<ReadonlyMap<string, string> | undefined>(slots);
    this.rebuilt = new Array<RelayEvent | undefined>(slots);
  }

  /** Bytes the arena holds now (it grows up to maxBytes). */
  get arenaBytes(): number {
    return this.bytes.length;
  }

  /**
   * Stores `ev` (encoded as `encoded`, copied here) under `cursor`, the newest. `oldest`
   * is the oldest cursor still retained by the hub. Returns the newest cursor whose bytes
   * were overwritten (every cursor up to it is gone), or 0.
   */
  put(cursor: number, ev: RelayEvent, encoded: Uint8Array, oldest: number): number {
    const s = cursor % this.slots;
    this.cursorAt[s] = cursor;
    this.kind[s] = KIND_CODE[ev.body.$case];
    this.enriched[s] = ev.enriched ? 1 : 0;
    this.count[s] = ev.count;
    this.seq[s] = BigInt.asUintN(64, ev.seq);
    this.receivedAt[s] = BigInt.asIntN(64, ev.receivedAt);
    this.idIx[s] = this.internId(ev.nodeId, ev.bootId, oldest, cursor);
    this.watch[s] = undefined;
    this.labels[s] = undefined;
    this.rebuilt[s] = undefined;
    const n = encoded.length;
    if (n > this.maxBytes) {
      // kept on its own; it takes the whole byte bound, so every older entry goes
      this.big[s] = Buffer.from(encoded);
      this.len[s] = n;
      this.vstart[s] = this.vpos;
      this.vpos += this.bytes.length;
      return cursor - 1;
    }
    this.big[s] = undefined;
    let vend = this.fit(n, oldest, cursor);
    while (this.overwrites > 0 && this.bytes.length < this.maxBytes) {
      this.grow(oldest, cursor);
      vend = this.fit(n, oldest, cursor);
    }
    this.vpos = vend;
    const at = vend - n;
    this.vstart[s] = at;
    this.len[s] = n;
    this.bytes.set(encoded, at % this.bytes.length);
    return this.overwrites;
  }

  /** Newest cursor the last fit() would overwrite, or 0. */
  private overwrites = 0;

  /**
   * Where n bytes would end (virtual), skipping a lap's tail that is too short, and
   * (in `overwrites`) the newest retained cursor whose bytes that write would overwrite.
   */
  private fit(n: number, oldest: number, cursor: number): number {
    const size = this.bytes.length;
    let v = this.vpos;
    const phys = v % size;
    if (phys + n > size) v += size - phys;
    const vend = v + n;
    this.overwrites = 0;
    for (let c = oldest; c < cursor; c++) {
      if ((this.vstart[c % this.slots] as number) >= vend - size) break;
      this.overwrites = c;
    }
    return vend;
  }

  /** Grows the arena by ARENA_GROWTH (up to maxBytes), copying the retained entries oldest first. */
  private grow(oldest: number, cursor: number): void {
    const larger = Math.ceil(this.bytes.length * ARENA_GROWTH / ARENA_STEP_BYTES) * ARENA_STEP_BYTES;
    const next = Buffer.allocUnsafeSlow(Math.min(larger, this.maxBytes));
    let v = 0;
    for (let c = oldest; c < cursor; c++) {
      const s = c % this.slots;
      if (this.cursorAt[s] !== c) continue;
      const n = this.len[s] as number;
      if (this.big[s] === undefined) {
        const from = (this.vstart[s] as number) % this.bytes.length;
        this.bytes.copy(next, v, from, from + n);
        this.vstart[s] = v;
        v += n;
      } else this.vstart[s] = v;
    }
    this.bytes = next;
    this.vpos = v;
    this.onGrow?.(next.length);
  }

  /** The last pair interned (a batch's events share theirs). */
  private lastNodeId = '';
  private lastBootId = '';
  private lastIx = -1;

  private internId(nodeId: string, bootId: string, oldest: number, cursor: number): number {
    if (this.lastIx >= 0 && nodeId === this.lastNodeId && bootId === this.lastBootId) return this.lastIx;
    const ix = this.internIdOnce(nodeId, bootId, oldest, cursor);
    this.lastNodeId = nodeId;
    this.lastBootId = bootId;
    this.lastIx = ix;
    return ix;
  }

  private internIdOnce(nodeId: string, bootId: string, oldest: number, cursor: number): number {
    const key = `${nodeId}\n${bootId}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    if (this.nodeIds.length >= MAX_IDS) this.rebuildIds(oldest, cursor);
    const ix = this.nodeIds.length;
    this.ids.set(key, ix);
    this.nodeIds.push(nodeId);
    this.bootIds.push(bootId);
    return ix;
  }

  /** Keeps only the id pairs that retained entries use (many nodes rebooting over a long run). */
  private rebuildIds(oldest: number, cursor: number): void {
    const nodeIds: string[] = [];
    const bootIds: string[] = [];
    const ids = new Map<string, number>();
    for (let c = oldest; c < cursor; c++) {
      const s = c % this.slots;
      if (this.cursorAt[s] !== c) continue;
      const old = this.idIx[s] as number;
      const key = `${this.nodeIds[old] as string}\n${this.bootIds[old] as string}`;
      let ix = ids.get(key);
      if (ix === undefined) {
        ix = nodeIds.length;
        ids.set(key, ix);
        nodeIds.push(this.nodeIds[old] as string);
        bootIds.push(this.bootIds[old] as string);
      }
      this.idIx[s] = ix;
    }
    this.ids = ids;
    this.nodeIds = nodeIds;
    this.bootIds = bootIds;
  }

  /** A view of the entry under `cursor`, or undefined when its slot holds another. */
  entry(cursor: number): StoredEntry | undefined {
    const s = cursor % this.slots;
    return this.cursorAt[s] === cursor ? new ArenaView(this, s, cursor) : undefined;
  }

  /** Encoded size of the entry under `cursor` (0 when gone). */
  sizeOf(cursor: number): number {
    const s = cursor % this.slots;
    return this.cursorAt[s] === cursor ? (this.len[s] as number) : 0;
  }

  kindAt(s: number): EventBody['$case'] {
    return KINDS[this.kind[s] as number] as EventBody['$case'];
  }

  bytesAt(s: number): Buffer {
    const big = this.big[s];
    if (big !== undefined) return big;
    const from = (this.vstart[s] as number) % this.bytes.length;
    return this.bytes.subarray(from, from + (this.len[s] as number));
  }

  eventAt(s: number): RelayEvent {
    let ev = this.rebuilt[s];
    if (ev === undefined) {
      const ix = this.idIx[s] as number;
      ev = {
        nodeId: this.nodeIds[ix] as string, bootId: this.bootIds[ix] as string, seq: this.seq[s] as bigint,
        body: decodeBody(this.kindAt(s), this.bytesAt(s)), enriched: this.enriched[s] === 1,
        count: this.count[s] as number, receivedAt: this.receivedAt[s] as bigint,
      };
      this.rebuilt[s] = ev;
    }
    return ev;
  }

  watchAt(s: number): Buffer | undefined {
    return this.watch[s];
  }

  setWatchAt(s: number, b: Buffer | undefined): void {
    this.watch[s] = b;
  }

  labelsAt(s: number): ReadonlyMap<string, string> | undefined {
    return this.labels[s];
  }

  setLabelsAt(s: number, l: ReadonlyMap<string, string> | undefined): void {
    this.labels[s] = l;
  }
}

/** A short-lived view of one stored entry (made per read; see the header). */
class ArenaView implements StoredEntry {
  private view: Buffer | undefined = undefined;
  constructor(private readonly store: ArenaStore, private readonly slot: number, readonly cursor: number) {}
  get kind(): EventBody['$case'] {
    return this.store.kindAt(this.slot);
  }
  get ev(): RelayEvent {
    return this.store.eventAt(this.slot);
  }
  get feederBytes(): Buffer {
    if (this.view === undefined) this.view = this.store.bytesAt(this.slot);
    return this.view;
  }
  set feederBytes(_b: Buffer) {
    // the stored encoding is the feeder encoding; nothing to replace
  }
  get watchBytes(): Buffer | undefined {
    return this.store.watchAt(this.slot);
  }
  set watchBytes(b: Buffer | undefined) {
    this.store.setWatchAt(this.slot, b);
  }
  get labels(): ReadonlyMap<string, string> | undefined {
    return this.store.labelsAt(this.slot);
  }
  set labels(l: ReadonlyMap<string, string> | undefined) {
    this.store.setLabelsAt(this.slot, l);
  }
}
